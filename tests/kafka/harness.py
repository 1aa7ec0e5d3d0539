"""harness.py -- what every real-broker scenario shares: the programs and
the broker of the ctest fixture, topics and ACLs, producing, consumer
processes and their logs, reading a topic back, and the record checks.

The broker comes from the ctest fixture (tests/kafka/broker.sh); its address
is in DHATU_TEST_BROKERS. With DHATU_TEST_SECURITY (ssl or sasl_ssl) and
DHATU_TEST_NBROKERS, the fixture is a secured cluster: every program gets its
principal's client properties (-F) and every scenario's topics and group get
their least-privilege ACLs (kafka.sh grant). Each scenario makes its own
topics and consumer group (names carry the scenario and the process id).
Imported by pipeline_test.py (which reads BUILD_DIR and SCENARIO from its
command line) and by the scenario modules. Python's standard library only.
"""
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.abspath(sys.argv[1])
SCENARIO = sys.argv[2]
BROKERS = os.environ.get("DHATU_TEST_BROKERS", "127.0.0.1:19092")
KAFKA_SH = os.path.join(ROOT, "deploy", "local", "kafka.sh")
PRODUCER = os.path.join(BUILD, "producer", "dhatu-producer")
CONSUMER = os.path.join(BUILD, "consumer", "dhatu-consumer")
DUMP = os.path.join(BUILD, "tools", "dhatu-dump")
REPORT = os.path.join(BUILD, "tools", "dhatu-report")
VECTORIZE = os.path.join(BUILD, "vectorize", "dhatu-vectorize")
SAMPLE = os.path.join(ROOT, "data", "arxiv_sample_500.jsonl")
TAG = "%s-%d" % (SCENARIO, os.getpid())
WORK = os.path.join(BUILD, "tests", "kafka-work", TAG)
os.makedirs(WORK, exist_ok=True)
KENV = dict(os.environ, KAFKA_PORT=BROKERS.split(",")[0].rsplit(":", 1)[1])
if os.environ.get("DHATU_TEST_KAFKA_DIR"):
    KENV["KAFKA_STATE_DIR"] = os.environ["DHATU_TEST_KAFKA_DIR"]
SECURITY = os.environ.get("DHATU_TEST_SECURITY", "")
KENV["KAFKA_SECURITY"] = SECURITY or "plaintext"
KENV["KAFKA_BROKERS"] = os.environ.get("DHATU_TEST_NBROKERS", "1")

T0 = time.monotonic()


# secure-oauth: every program authenticates with SASL/OAUTHBEARER, its token
# from the cluster's OpenID Connect endpoint (deploy/local/oidc.py).
CLIENT_KIND = ".oauth" if SCENARIO in ("secure-oauth",) else ""


def client(name):
    """-F FILE of a principal on a secured cluster (nothing on plaintext)."""
    if not SECURITY:
        return []
    return ["-F", os.path.join(KENV["KAFKA_STATE_DIR"], "clients", name + CLIENT_KIND + ".properties")]
CHILDREN = []
# A scenario stopped by SIGTERM (ctest's timeout, a user's Ctrl-C on a
# parent) still kills what it started: the dispatcher's finally runs.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
# Callables run at the end of every scenario, pass or fail (deploy.py
# removes its containers).
CLEANUPS = []
# DHATU_TEST_ASSIGNOR overrides the consumer's default assignor (to show the
# librdkafka 2.0.2 cooperative-sticky problem, docs/DELIVERY.md "Rebalancing").
ASSIGNOR = ["-s", "kafka.assignor=" + os.environ["DHATU_TEST_ASSIGNOR"]] if os.environ.get("DHATU_TEST_ASSIGNOR") else []


def log(*a):
    print("[%s %.1fs]" % (SCENARIO, time.monotonic() - T0), *a, flush=True)


def fail(msg):
    log("FAIL:", msg)
    for p in CHILDREN:
        if p.poll() is None:
            stacks(p)
            p.kill()
    sys.exit(1)


def stacks(p):
    """Where a member still running at a failure is: every thread's stack
    (gdb, as root), written beside its log before it is killed. A member
    that sat silent without rejoining (cluster-down, 2026-12-07) left only
    its log; this says where its polling thread was."""
    logname = getattr(p, "logname", None)
    if not logname or not shutil.which("gdb"):
        return
    try:
        r = subprocess.run(["gdb", "-batch", "-p", str(p.pid), "-ex", "thread apply all bt 16"],
                           capture_output=True, text=True, timeout=60)
        with open(logname + ".stacks", "w") as f:
            f.write(r.stdout + r.stderr)
        log("stacks of pid %d (still running): %s.stacks" % (p.pid, logname))
    except (subprocess.SubprocessError, OSError) as e:
        log("no stacks of pid %d: %s" % (p.pid, e))


def topic(name, parts, *config):
    """A topic; config: TopicCommand options such as --config max.message.bytes=4096."""
    subprocess.run([KAFKA_SH, "topic", name, str(parts), *config], check=True, env=KENV)
    return name


def topics(parts=8, group=None):
    """The input, output and dead-letter topics of one scenario, created side
    by side (each is a JVM tool that takes seconds to start)."""
    t = ("in-" + TAG, "out-" + TAG, "dlq-" + TAG)
    made = [subprocess.Popen([KAFKA_SH, "topic", name, str(n)], env=KENV) for name, n in zip(t, (parts, 8, 1))]
    for name, p in zip(t, made):
        if p.wait(timeout=300) != 0:
            fail("creating topic %s failed (exit %d)" % (name, p.returncode))
    if SECURITY:
        subprocess.run([KAFKA_SH, "grant", *t, group or "g-" + TAG], check=True, env=KENV)
    return t


def produce(tin, path, *extra, check=True):
    r = subprocess.run([PRODUCER, "-q", "-b", BROKERS, *client("dhatu-producer"), "-t", tin, *extra, path],
                       capture_output=True, text=True, timeout=300)
    if check and r.returncode != 0:
        fail("dhatu-producer exit %d: %s" % (r.returncode, r.stderr))
    return r


def produce_streaming(tin, path, rate):
    """dhatu-producer in the background at rate articles/s: articles arrive
    while the consumers run."""
    p = subprocess.Popen([PRODUCER, "-q", "-b", BROKERS, *client("dhatu-producer"), "-t", tin, "--rate", str(rate),
                          path])
    CHILDREN.append(p)
    return p


def consumer(tin, tout, tdlq, group, *extra, name="c", env=None):
    logf = open(os.path.join(WORK, "%s.log" % name), "a")
    p = subprocess.Popen([CONSUMER, "-b", BROKERS, *client("dhatu-consumer"), "-t", tin, "-o", tout, "-d", tdlq,
                          "-g", group,
                          "-B", "cpu", "-s", "engine.threads=1", "-s", "http.port=0", *ASSIGNOR, *extra],
                         stdout=logf, stderr=subprocess.STDOUT, env=dict(os.environ, **(env or {})))
    p.logname = logf.name
    CHILDREN.append(p)
    return p


def wait_all(procs, timeout, expect=0):
    end = time.monotonic() + timeout
    for p in procs:
        try:
            rc = p.wait(max(1, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            fail("consumer %d did not exit within %ds; log %s:\n%s" % (p.pid, timeout, p.logname,
                                                                     open(p.logname).read()[-4000:]))
        if expect is not None and rc != expect:
            fail("consumer exit %d (expected %d); log %s:\n%s" % (rc, expect, p.logname, open(p.logname).read()[-3000:]))


def group_describe(group, tin):
    """(active members?, total lag over tin's partitions or None if any
    partition has no committed offset, sum of committed offsets) from
    kafka-consumer-groups."""
    r = subprocess.run([KAFKA_SH, "groups", "--describe", "--group", group], capture_output=True, text=True,
                       env=KENV, timeout=120)
    empty = "has no active members" in r.stdout + r.stderr
    lag, parts, committed = 0, 0, 0
    for line in r.stdout.splitlines():
        f = line.split()
        if len(f) >= 6 and f[1] == tin:
            parts += 1
            lag = None if lag is None or not f[5].isdigit() else lag + int(f[5])
            committed += int(f[3]) if f[3].isdigit() else 0
    return not empty, (lag if parts else None), committed


def wait_group_empty(group, tin, timeout=60):
    """Killed members stay in the group until their session times out; a
    drain started before that leaves their partitions to nobody."""
    end = time.monotonic() + timeout
    while group_describe(group, tin)[0]:
        if time.monotonic() > end:
            fail("group %s still has members after %ds" % (group, timeout))
        time.sleep(1)


def dump(t, *extra):
    # --committed exits 3 while an open transaction (a member's that died
    # inside it) hides the end of a partition: wait for it to end (its
    # transaction timeout, 60 s by default, and the broker's abort sweep).
    end = time.monotonic() + 120
    while True:
        r = subprocess.run([DUMP, "-b", BROKERS, *client("admin"), "-t", t, *extra], capture_output=True, text=True,
                           timeout=180)
        if r.returncode != 3 or time.monotonic() > end:
            break
        time.sleep(2)
    if r.returncode != 0:
        fail("dhatu-dump %s: %s" % (t, r.stderr))
    return [json.loads(l) for l in r.stdout.splitlines() if l.strip()]


def wait_records(t, at_least, timeout):
    """Waits until topic t holds at least at_least records (read with
    dhatu-dump, at most twice a second): a condition to act on, where a
    fixed sleep would guess how fast a loaded machine is."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        n = len(dump(t))
        if n >= at_least:
            return n
        time.sleep(0.5)
    fail("%s: fewer than %d records after %ds" % (t, at_least, timeout))


def articles(n, path):
    """n articles: the shipped sample, repeated with distinct ids."""
    src = [json.loads(l) for l in open(SAMPLE)]
    with open(path, "w") as f:
        for i in range(n):
            a = dict(src[i % len(src)])
            a["id"] = "%s#%d" % (a["id"], i // len(src))
            f.write(json.dumps(a) + "\n")
    return path


def vectorized(path):
    r = subprocess.run([VECTORIZE, "-q", path], capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        fail("dhatu-vectorize: %s" % r.stderr)
    return {json.loads(l)["id"]: json.loads(l) for l in r.stdout.splitlines()}


def same_record(a, b, tol):
    """Equal records; floats within tol relative (0: exactly). A GPU's log()
    may differ from the host's in the last bit, which the shortest
    round-trip JSON of a double shows."""
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and abs(a - b) <= tol * max(1.0, abs(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(same_record(a[k], b[k], tol) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_record(x, y, tol) for x, y in zip(a, b))
    return a == b and type(a) == type(b)


def article_meta(path):
    """id -> (lang, source) of a JSON Lines article file; None for a file
    that is not JSON Lines (CSV)."""
    meta = {}
    try:
        for line in open(path, encoding="utf-8"):
            if line.strip():
                a = json.loads(line)
                meta[str(a["id"])] = (a.get("lang"), a.get("source"))
    except (ValueError, KeyError):
        return None
    return meta


def check_records(records, tin, path, exact=True, backend="cpu", dead=()):
    """Every article has a record equal to dhatu-vectorize's, whose lineage
    names the input message that carried the article, and which carries the
    article's lang and source (null when it has none); an article whose id
    is in dead (its dead letter checked by the caller) may have none."""
    expect = vectorized(path)
    meta = article_meta(path)
    # Where each article is in the input: a producer that gave up on a batch
    # in a broker failure and sent it again put some articles there twice,
    # and either copy may be the one a record came from.
    raw = {}
    for m in dump(tin, "--raw"):
        raw.setdefault(m["key"], set()).add((m["partition"], m["offset"]))
    seen = {}
    for r in records:
        lin = r.pop("lineage")
        if list(r)[-2:] != ["lang", "source"]:
            fail("record of %r has no lang and source after its lineage: keys %s" % (r.get("id"), list(r)))
        lang, source = r.pop("lang"), r.pop("source")
        if meta is not None and r["id"] in meta and (lang, source) != meta[r["id"]]:
            fail("record of %r: lang %r, source %r; the article has %r" % (r["id"], lang, source, meta[r["id"]]))
        if r["id"] not in expect:
            fail("record for unknown id %r" % r["id"])
        if not same_record(r, expect[r["id"]], 0.0 if backend == "cpu" else 1e-12):
            fail("record differs from dhatu-vectorize for %r:\n%s\n%s" % (r["id"], r, expect[r["id"]]))
        src = raw.get(r["id"], set())
        if lin["topic"] != tin or (lin["partition"], lin["offset"]) not in src:
            fail("lineage %r does not match the input, where the article is at %s" % (lin, sorted(src)))
        if lin["backend"] != backend or not lin["processor"].startswith("dhatu-consumer ") or lin["timestamp"] is None:
            fail("lineage fields: %r" % lin)
        seen[r["id"]] = seen.get(r["id"], 0) + 1
    missing = set(expect) - set(seen) - set(dead)
    dups = sum(c - 1 for c in seen.values())
    if missing:
        fail("%d articles have no record (e.g. %s)" % (len(missing), sorted(missing)[:3]))
    if exact and dups:
        fail("%d duplicate records" % dups)
    return dups




def kafka(*args):
    subprocess.run([KAFKA_SH, *args], check=True, env=KENV)


def wait_log(p, text, timeout):
    """The first line of p's log holding text, waiting up to timeout s."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for line in open(p.logname):
            if text in line:
                return line
        if p.poll() is not None:
            break
        time.sleep(0.2)
    fail("%r not in the log of %d within %ds:\n%s" % (text, p.pid, timeout, open(p.logname).read()[-3000:]))


def log_lines(p, pattern):
    """The matches of regular expression pattern in p's log, in order."""
    return [m for m in (re.search(pattern, line) for line in open(p.logname)) if m]


def wait_log_count(p, pattern, count, timeout):
    """Waits until p's log holds count lines matching pattern; returns the
    matches. Fails (with the log's end) at the timeout or if p exits first."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = log_lines(p, pattern)
        if len(found) >= count:
            return found
        if p.poll() is not None:
            break
        time.sleep(0.2)
    fail("fewer than %d lines matching %r in the log of %d within %ds:\n%s"
         % (count, pattern, p.pid, timeout, open(p.logname).read()[-3000:]))


def metric(port, name):
    """The value of an unlabelled sample on a member's /metrics."""
    body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5).read().decode()
    m = re.search(r"^%s (\S+)$" % re.escape(name), body, re.M)
    return float(m.group(1)) if m else -1
