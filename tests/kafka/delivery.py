"""delivery.py -- delivery and dead letters: every dead-letter class beside
good traffic, SIGKILL chaos in both delivery modes, SIGTERM committing
exactly what was produced, dhatu-producer's inputs and its SIGINT flush,
and poison articles (a record over the output's limit) in both modes."""
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
import urllib.request

from harness import *  # noqa: F401,F403 (the shared harness: names used throughout)


def avro_article_bytes(fp_hex, body):
    return b"\xc3\x01" + bytes.fromhex(fp_hex)[::-1] + body


def dead_letter():
    tin, tout, tdlq = topics(parts=2)
    good = os.path.join(WORK, "good.jsonl")
    articles(40, good)
    produce(tin, good)
    bad = {
        "undecodable": [b"this is not an article", b"{\"id\": \"x\", \"text\": "],
        "invalid-article": [b"{\"text\": \"no id\"}", b"{\"id\": \"no-text\"}", b"{\"id\": 5, \"text\": 7}",
                            b"{\"id\": \"\", \"text\": \"empty id\"}"],
        "schema-registry": [b"\x00\x00\x00\x00\x07\x02\x06abc"],
        "wrong-schema": [avro_article_bytes("0123456789abcdef", b"\x02x")],
        "too-large": [json.dumps({"id": "big", "text": "word " * 3000}).encode()],
    }
    # A corrupt datum with our own fingerprint: a string length beyond the end.
    fp = [l.split()[1] for l in open(os.path.join(ROOT, "tests", "data", "avro_fingerprints.txt"))
          if l.startswith("schemas/avro/article.avsc")][0]
    bad["undecodable"].append(avro_article_bytes(fp, b"\x7f\x01"))
    files = []
    for cls, values in bad.items():
        for i, v in enumerate(values):
            path = os.path.join(WORK, "bad-%s-%d.bin" % (cls, i))
            open(path, "wb").write(v)
            files.append((cls, v, path))
    # kcat sends each file as one message, byte for byte.
    for cls, v, path in files:
        subprocess.run(["kcat", "-b", BROKERS, "-P", "-t", tin, "-p", "0", "-k", "key-" + os.path.basename(path),
                        path], check=True, timeout=60)
    more = os.path.join(WORK, "more.jsonl")
    with open(more, "w") as f:
        for a in open(good):
            a = json.loads(a)
            a["id"] += "-after"
            f.write(json.dumps(a) + "\n")
    produce(tin, more)
    p = consumer(tin, tout, tdlq, "g-" + TAG, "--exit-idle", "3000", "-s", "engine.max_article_bytes=10000")
    wait_all([p], 120)
    recs = dump(tout)
    if len(recs) != 80 or len({r["id"] for r in recs}) != 80:
        fail("expected 80 good records, got %d" % len(recs))
    dl = dump(tdlq, "--raw")
    raw_in = {m["key"]: m for m in dump(tin, "--raw")}
    if len(dl) != len(files):
        fail("expected %d dead letters, got %d" % (len(files), len(dl)))
    for cls, v, path in files:
        key = "key-" + os.path.basename(path)
        m = [d for d in dl if d["key"] == key]
        if len(m) != 1:
            fail("dead letter for %s: %d found" % (key, len(m)))
        h = m[0]["headers"]
        src = raw_in[key]
        if h.get("dhatu.error.class") != cls:
            fail("%s: class %r, expected %r (%s)" % (key, h.get("dhatu.error.class"), cls, h))
        if (h["dhatu.original.topic"], int(h["dhatu.original.partition"]), int(h["dhatu.original.offset"])) != \
                (tin, src["partition"], src["offset"]):
            fail("%s: headers do not name the original message: %s" % (key, h))
        if m[0]["value"] != src["value"] or not h.get("dhatu.error.message"):
            fail("%s: value not kept or no message" % key)
    log("%d good records; %d dead letters, each with its class, message, origin and original value"
        % (len(recs), len(dl)))
    for d in dl:
        log("  %-16s %s" % (d["headers"]["dhatu.error.class"], d["headers"]["dhatu.error.message"][:90]))


def chaos(eos):
    n = 6000
    tin, tout, tdlq = topics()
    path = articles(n, os.path.join(WORK, "chaos.jsonl"))
    # A killed member stays in the group until its session times out: the
    # broker's minimum (6 s) keeps the test short.
    extra = ["-s", "batch.max_articles=64", "-s", "batch.linger_ms=5",
             "-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=1000"]
    if eos:
        extra += ["--exactly-once", "-s", "delivery.transaction_interval_ms=200",
                  "-s", "delivery.transaction_timeout_ms=15000"]
    prod = produce_streaming(tin, path, 800)
    rng = random.Random(int(os.environ.get("DHATU_CHAOS_SEED", os.getpid())))
    group = "g-" + TAG

    def start(slot):
        # Static membership: a restarted member takes its partitions back at
        # once instead of waiting for the killed one's session to expire (in
        # exactly-once mode it also keeps its transactional id, which fences
        # and aborts the killed predecessor). At-least-once keeps one dynamic
        # member, so both kinds are killed.
        static = eos or slot < 2
        ex = extra + (["-s", "kafka.group_instance_id=slot%d" % slot] if static else [])
        return consumer(tin, tout, tdlq, group, *ex, name="slot%d" % slot)

    def consumed_so_far(p):
        """The victim's dhatu_articles_consumed_total, from its /metrics (its
        port is in its log), or None when it is not listening yet."""
        import re
        import urllib.request
        ports = re.findall(r"\[%d\] INFO \[consumer:[^\]]*\]: metrics and probes on http://[0-9.]+:(\d+)/" % p.pid, open(p.logname).read())
        if not ports:
            return None
        try:
            body = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % ports[-1], timeout=2).read().decode()
        except OSError:
            return None
        m = re.search(r"^dhatu_articles_consumed_total\{[^}]*\} (\d+)", body, re.M)
        return int(m.group(1)) if m else None

    slots = [start(i) for i in range(3)]
    kills = busy_kills = 0
    # 9 s of kills, longer (up to 40 s) until two hit a member at work: a
    # kill of the dynamic member restarts a rebalance that waits for its
    # session to expire, so an unlucky run had no member consume for 9 s.
    t0 = time.monotonic()
    while time.monotonic() < t0 + 9 or (busy_kills < 2 and time.monotonic() < t0 + 40):
        time.sleep(rng.uniform(0.3, 1.2))
        # Prefer a member that is processing: a kill matters most there.
        counts = [consumed_so_far(p) for p in slots]
        busy = [k for k in range(3) if counts[k]]
        i = rng.choice(busy) if busy and rng.random() < 0.8 else rng.randrange(3)
        seen = counts[i]
        slots[i].send_signal(signal.SIGKILL)
        slots[i].wait()
        kills += 1
        busy_kills += bool(seen)
        slots[i] = start(i)
    if prod.wait(120) != 0:
        fail("producer failed")
    for p in slots:     # a last kill of every member, then drain to the end
        p.send_signal(signal.SIGKILL)
        p.wait()
    kills += 3
    # Drain with fresh members once the killed ones have left the group, and
    # again while the group's committed offsets are short of the end.
    for attempt in range(3):
        if not eos:
            wait_group_empty(group, tin)
        final = []
        for i in range(3):
            ex = extra + (["-s", "kafka.group_instance_id=slot%d" % i] if eos else [])
            final.append(consumer(tin, tout, tdlq, group, "--exit-idle", "5000", *ex, name="final%d" % i))
        wait_all(final, 240)
        lag = group_describe(group, tin)[1]
        log("drain %d: group lag %s" % (attempt + 1, lag))
        if lag == 0:
            break
    if lag != 0:
        fail("the group's committed offsets never reached the end (lag %s)" % lag)
    recs = dump(tout, "--committed") if eos else dump(tout)
    ids = [r["id"] for r in recs]
    dups = len(ids) - len(set(ids))
    missing = n - len(set(ids))
    log("%s: %d articles, %d SIGKILLs (%d of members that had consumed articles), %d records, %d lost, %d duplicates"
        % ("exactly-once" if eos else "at-least-once", n, kills, busy_kills, len(recs), missing, dups))
    check_records(recs, tin, path, exact=eos)
    if busy_kills == 0:
        fail("no kill hit a member while it was processing: the scenario tested nothing")


def sigterm():
    """SIGTERM mid-stream: the consumer commits exactly what it produced."""
    n = 8000
    tin, tout, tdlq = topics()
    path = articles(n, os.path.join(WORK, "st.jsonl"))
    # Articles arrive while the consumer runs, so the SIGTERM lands mid-stream.
    prod = produce_streaming(tin, path, 2000)
    group = "g-" + TAG
    a = consumer(tin, tout, tdlq, group, "-s", "batch.max_articles=32", name="a")
    # Mid-stream: once records come out, with most of the stream still to come.
    wait_records(tout, 1, 60)
    a.send_signal(signal.SIGTERM)
    wait_all([a], 60)
    first = dump(tout)
    committed = group_describe(group, tin)[2]
    log("after SIGTERM: %d records produced, committed offsets sum to %d" % (len(first), committed))
    if committed != len(first):
        fail("committed %d != produced %d" % (committed, len(first)))
    if not 0 < len(first) < n:
        fail("the SIGTERM did not land mid-stream (%d of %d records)" % (len(first), n))
    if prod.wait(120) != 0:
        fail("producer failed")
    b = consumer(tin, tout, tdlq, group, "--exit-idle", "3000", name="b")
    wait_all([b], 120)
    recs = dump(tout)
    ids = [r["id"] for r in recs]
    if len(ids) != n or len(set(ids)) != n:
        fail("after restart: %d records, %d distinct, expected %d" % (len(ids), len(set(ids)), n))
    log("restart finished the rest: %d records, no duplicates" % len(recs))


def frozen_eos():
    """An exactly-once member frozen (SIGSTOP, as a long GC pause or a
    suspended VM) past its transaction timeout but inside its session: the
    coordinator aborts the open transaction and bumps the producer's epoch,
    so librdkafka declares the producer fenced, a fatal error. The member
    must replace its producer, go back to the committed offsets and finish
    with exit 0, every article with exactly one committed record (txn.c,
    txn_recover). Before the replacement it exited 3."""
    n = 6000
    tin, tout, tdlq = topics()
    path = articles(n, os.path.join(WORK, "fz.jsonl"))
    prod = produce_streaming(tin, path, 300)        # 20 s of input: transactions are open all along
    group = "g-" + TAG
    # Transaction timeout 6 s (the broker's sweep for timed-out transactions
    # runs every 10 s, so 16 s at most), session 40 s: the 20 s freeze
    # outlives the first, never the second. (3 s was too short for the
    # catch-up after the rewind on two busy cores: a second fence.)
    a = consumer(tin, tout, tdlq, group, "--exactly-once", "--exit-idle", "4000", "-s", "batch.max_articles=32",
                 "-s", "delivery.transaction_timeout_ms=6000", "-X", "session.timeout.ms=40000", name="a")
    wait_records(tout, 200, 90)
    a.send_signal(signal.SIGSTOP)
    time.sleep(20)
    a.send_signal(signal.SIGCONT)
    wait_log(a, "producer replaced", 60)
    if prod.wait(120) != 0:
        fail("producer failed")
    wait_all([a], 180)
    summary = wait_log(a, "clean exit", 5)
    m = re.search(r"(\d+) producer replacements?", summary)
    if not m or int(m.group(1)) < 1:
        fail("the summary counts no producer replacement: %s" % summary)
    recs = dump(tout, "--committed")
    check_records(recs, tin, path, exact=True)
    log("frozen 20 s past its 6 s transaction timeout: %s producer replacement(s), exit 0, %d records, "
        "one per article" % (m.group(1), len(recs)))


def producer_inputs():
    """dhatu-producer: CSV with a header (quoted fields across lines), JSON
    Lines with bad lines, both wire formats; bad lines are reported with
    their line number and skipped; the exit status says so."""
    tin = topic("in-" + TAG, 2)
    csv = os.path.join(WORK, "a.csv")
    with open(csv, "w") as f:
        f.write('url,id,text,title,published\n')
        f.write('https://e.org/1,c1,"It is possible, they said.\nA second line.",T1,2024-05-01T12:00:00Z\n')
        f.write('https://e.org/2,,missing id,T2,\n')
        f.write('https://e.org/3,c3,"He said ""no"".",,1714564800000\n')
        f.write('https://e.org/4,c4,bad time,,yesterday\n')
    r = produce(tin, csv, check=False)
    if r.returncode != 1:
        fail("CSV with bad rows: exit %d, expected 1: %s" % (r.returncode, r.stderr))
    for want in ("a.csv:4: offset", "missing id", "a.csv:6: offset", "RFC 3339"):
        if want not in r.stderr:
            fail("CSV error report lacks %r: %s" % (want, r.stderr))
    jl = os.path.join(WORK, "a.jsonl")
    with open(jl, "w") as f:
        f.write('{"id": "j1", "text": "fine", "lang": "en"}\n')
        f.write('{"id": "j2", "text": \n')
        f.write('\n')
        f.write('{"id": 3, "text": "integer id", "source": "s"}\n')
    r = produce(tin, jl, "-f", "json", check=False)
    if r.returncode != 1 or "a.jsonl:2: offset 43: invalid JSON" not in r.stderr:
        fail("JSON Lines bad line: exit %d: %s" % (r.returncode, r.stderr))
    r = produce("no-such-topic-" + TAG, jl, check=False)
    if r.returncode != 2 or "no-such-topic" not in r.stderr:
        fail("unknown topic: exit %d: %s" % (r.returncode, r.stderr))
    msgs = {m["key"]: m for m in dump(tin, "--raw")}
    if sorted(msgs) != ["3", "c1", "c3", "j1"]:
        fail("produced keys %s" % sorted(msgs))
    if not msgs["c1"]["value"].startswith("hex:c301") or not msgs["j1"]["value"].startswith("{"):
        fail("wire formats: Avro single-object by default, JSON with -f json")
    tout, tdlq = topic("out-" + TAG, 1), topic("dlq-" + TAG, 1)
    p = consumer(tin, tout, tdlq, "g-" + TAG, "--exit-idle", "2000", "--format", "json")
    wait_all([p], 60)
    out = {r["id"]: r for r in dump(tout)}
    if sorted(out) != ["3", "c1", "c3", "j1"] or out["c1"]["positive"][1] < 1:
        fail("records from CSV and JSON input: %s" % sorted(out))
    log("CSV and JSON Lines: 4 articles produced in both wire formats, 3 bad lines reported "
        "with file:line: offset, exit statuses 1 and 2 as documented")


def poison(eos):
    """One article whose record the producer cannot send (an id of 520,000
    characters: key and value of the record repeat it, over 1 MB) among the
    sample, and a dead-letter topic that accepts only 4 KiB: the good
    articles get records, the poison gets a reference-only dead letter, an
    undecodable message a whole one, every member exits 0 and the committed
    offsets reach the end of the input."""
    tin, tout = topic("in-" + TAG, 2), topic("out-" + TAG, 2)
    tdlq = topic("dlq-" + TAG, 1, "--config", "max.message.bytes=4096")
    produce(tin, SAMPLE, "-f", "json")
    big = os.path.join(WORK, "poison.json")
    with open(big, "w") as f:
        f.write(json.dumps({"id": "p" * 520000, "text": "a poison pill: its record cannot be produced"}))
    bad = os.path.join(WORK, "bad.txt")
    with open(bad, "w") as f:
        f.write("not an article")
    for path, key in ((big, "poison"), (bad, "bad")):
        subprocess.run(["kcat", "-b", BROKERS, "-P", "-t", tin, "-p", "1", "-k", key, path], check=True, timeout=60)
    mode = ["--exactly-once"] if eos else []
    procs = [consumer(tin, tout, tdlq, "g-" + TAG, "--exit-idle", "4000", *mode, name="c%d" % i) for i in range(2)]
    wait_all(procs, 180)
    recs = dump(tout, *(["--committed"] if eos else []))
    check_records(recs, tin, SAMPLE)
    dl = {d["key"] or d["headers"].get("dhatu.original.offset"): d for d in dump(tdlq, "--raw")}
    raw_in = {m["key"]: m for m in dump(tin, "--raw")}
    if len(dl) != 2:
        fail("expected 2 dead letters, got %d: %s" % (len(dl), [d["headers"] for d in dl.values()]))
    p = dl.get(str(raw_in["poison"]["offset"]))
    if not p or p["headers"].get("dhatu.error.class") != "record-too-large" or p["value"] is not None or \
            p["key"] is not None or "dhatu.value.dropped" not in p["headers"] or \
            p["headers"].get("dhatu.original.length") != str(len(raw_in["poison"]["value"])):
        fail("poison: expected a reference-only dead letter of class record-too-large: %s" %
             (p["headers"] if p else sorted(dl)))
    b = dl.get("bad")
    if not b or b["headers"].get("dhatu.error.class") != "undecodable" or b["value"] != "not an article":
        fail("undecodable message: expected a whole dead letter: %s" % (b and b["headers"]))
    # dhatu-dump without --raw on the dead-letter topic: each dead letter as
    # its headers and value (never an empty line), and a warning naming --raw.
    r = subprocess.run([DUMP, "-b", BROKERS, *client("admin"), "-t", tdlq], capture_output=True, text=True,
                       timeout=180)
    lines = r.stdout.splitlines()
    if r.returncode != 0 or len(lines) != 2 or any(not l.strip() for l in lines) or "--raw" not in r.stderr or \
            sorted(json.loads(l)["headers"].get("dhatu.error.class") for l in lines) != ["record-too-large",
                                                                                         "undecodable"]:
        fail("dhatu-dump of a dead-letter topic without --raw: exit %d, %r, stderr %r"
             % (r.returncode, lines, r.stderr[-500:]))
    active, lag, _ = group_describe("g-" + TAG, tin)
    if lag != 0:
        fail("committed offsets do not reach the end of the input: lag %s" % lag)
    log("%s: %d records, the poison as a reference-only dead letter (%s), the undecodable message whole, "
        "all members exit 0, lag 0" % ("exactly-once" if eos else "at-least-once", len(recs),
                                       p["headers"]["dhatu.error.message"][:80]))


def producer_interrupt():
    """dhatu-producer stopped by SIGINT mid-input: it stops reading, waits
    for the acknowledgements of what it produced, says so, and exits 130;
    the topic holds exactly the articles it reported acknowledged."""
    tin = topic("int-" + TAG, 2)
    path = os.path.join(WORK, "interrupt.jsonl")
    articles(3000, path)
    p = subprocess.Popen([PRODUCER, "-q", "-b", BROKERS, "-t", tin, "--rate", "400", path],
                         stderr=subprocess.PIPE, text=True)
    CHILDREN.append(p)
    time.sleep(3)
    p.send_signal(signal.SIGINT)
    try:
        _, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        fail("dhatu-producer did not exit within 60 s of SIGINT")
    m = re.search(r"interrupted: (\d+) articles read, (\d+) produced to \S+, (\d+) acknowledged, 0 failed, "
                  r"(\d+) not acknowledged", err)
    if p.returncode != 130 or not m:
        fail("SIGINT: exit %d (expected 130), stderr: %s" % (p.returncode, err))
    produced, acked, unacked = int(m.group(2)), int(m.group(3)), int(m.group(4))
    if not 0 < produced < 3000 or acked != produced or unacked != 0:
        fail("SIGINT: %d produced, %d acknowledged, %d not: %s" % (produced, acked, unacked, err))
    keys = [msg["key"] for msg in dump(tin, "--raw")]
    if len(keys) != acked or len(set(keys)) != acked:
        fail("SIGINT: the topic holds %d messages (%d distinct), the producer reported %d acknowledged"
             % (len(keys), len(set(keys)), acked))
    # dhatu-dump reports a write error and fails, rather than losing the output silently.
    with open("/dev/full", "w") as full:
        r = subprocess.run([DUMP, "-b", BROKERS, "-t", tin, "--raw"], stdout=full, stderr=subprocess.PIPE, text=True,
                           timeout=120)
    if r.returncode == 0 or "cannot write to stdout" not in r.stderr:
        fail("dhatu-dump > /dev/full: exit %d: %s" % (r.returncode, r.stderr))
    log("SIGINT after 3 s: %d of 3000 articles produced, all acknowledged and in the topic, exit 130; "
        "dhatu-dump > /dev/full fails with the cause" % acked)


TRACE_RE = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")


def trace():
    """W3C trace context through the member (trace.generate=1): an article's
    traceparent and tracestate headers reach its record unchanged, and its
    dead letter too; an invalid traceparent, or none, gets a new valid one
    and no tracestate."""
    tin, tout, tdlq = topics(2)
    src = [json.loads(l) for l in open(SAMPLE)][:3]
    parents = ["00-%032x-%016x-01" % (0xabc0 + i, 0x1230 + i) for i in range(4)]
    cases = [(a["id"], json.dumps(a), parents[i], "vendor%d=x%d" % (i, i)) for i, a in enumerate(src)]
    cases.append(("invalid", json.dumps(dict(src[0], id="invalid")), "00-not-a-trace", "vendor=y"))
    cases.append(("none", json.dumps(dict(src[0], id="none")), None, None))
    cases.append(("bad", "not an article", parents[3], "vendor3=z"))
    for key, value, parent, state in cases:
        path = os.path.join(WORK, "m-%s.txt" % key)
        with open(path, "w") as f:
            f.write(value)
        hdrs = []
        if parent:
            hdrs += ["-H", "traceparent=" + parent]
        if state:
            hdrs += ["-H", "tracestate=" + state]
        subprocess.run(["kcat", "-b", BROKERS, "-P", "-t", tin, "-k", key, *hdrs, path], check=True, timeout=60)
    p = consumer(tin, tout, tdlq, "g-" + TAG, "-s", "trace.generate=1", "--exit-idle", "3000")
    wait_all([p], 120)
    out = {m["key"]: m["headers"] for m in dump(tout, "--raw")}
    dlq = {m["key"]: m["headers"] for m in dump(tdlq, "--raw")}
    for key, _, parent, state in cases[:3]:
        h = out.get(key)
        if not h or h.get("traceparent") != parent or h.get("tracestate") != state:
            fail("record of %s: headers %r, expected traceparent %s and tracestate %s" % (key, h, parent, state))
    for key in ("invalid", "none"):
        h = out.get(key) or {}
        if not TRACE_RE.match(h.get("traceparent") or "") or "tracestate" in h:
            fail("record of %s: expected a new valid traceparent and no tracestate, got %r" % (key, h))
    if out["invalid"]["traceparent"] == out["none"]["traceparent"]:
        fail("two articles got the same generated traceparent")
    h = dlq.get("bad") or {}
    if h.get("traceparent") != parents[3] or h.get("tracestate") != "vendor3=z" or "dhatu.error.class" not in h:
        fail("dead letter: headers %r, expected traceparent %s and tracestate vendor3=z" % (h, parents[3]))
    log("trace context: 3 records carry their article's traceparent and tracestate, 2 got new ones, the dead "
        "letter carries its article's")
