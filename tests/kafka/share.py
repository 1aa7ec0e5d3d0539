"""share.py -- members in a share group (KIP-932, kafka.group_type=share) on
a Kafka 4.4 broker (fixture kafka44): more busy members than partitions,
every article a record, a member killed -9 mid-batch whose records come
back to another member once their lock expires, exactly-once refused."""
import json
import os
import re
import signal
import subprocess
import time
import urllib.request

from harness import *  # noqa: F401,F403 (the shared harness: names used throughout)

SHARE = ["-s", "kafka.group_type=share"]


def consumed(p):
    """Articles a member consumed, from its summary line."""
    m = re.search(r"(\d+) articles consumed", open(p.logname).read())
    return int(m.group(1)) if m else -1


def backlog(port):
    """dhatu_share_backlog_records of a member, per partition (None: no answer yet)."""
    body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5).read().decode()
    found = re.findall(r'^dhatu_share_backlog_records\{[^}]*partition="(\d+)"\} (\S+)$', body, re.M)
    return {int(p): float(v) for p, v in found} or None


def metrics_port(p, end):
    """The port a member serves /metrics on, from its log (None by end)."""
    while time.monotonic() < end:
        ports = re.findall(r"metrics and probes on http://[0-9.]+:(\d+)/", open(p.logname).read())
        if ports:
            return int(ports[0])
        time.sleep(0.05)
    return None


def wait_held(port, end):
    """Polls dhatu_share_oldest_held_seconds until the member holds records
    (a batch between poll and acknowledgement) or end; returns its value."""
    held = 0.0
    while held <= 0 and time.monotonic() < end:
        try:
            held = metric(port, "dhatu_share_oldest_held_seconds")
        except OSError:
            held = 0.0
        if held <= 0:
            time.sleep(0.005)
    return held


def share_scenario():
    """6 members of one share group on a 2-partition topic of 3,000 articles
    (batches of 100), fed 9 s after they start (past their 8 s exit idle
    time, which counts only once a member is given a partition): all wait,
    more than 2 of them get work, every article has a
    record (duplicates counted: at least once allows them). Then, on a new
    group, a member killed -9 while it holds records: the records it held
    come back after the acquisition lock (30 s) to the other member, whose
    share.max_deliveries is 1, so each comes to it as a poison record would
    after one crash: one dead letter of class redelivery-limit with its
    delivery count (2); every other article has a record; SIGTERM ends that
    member with 0. Then SIGTERM to a member while it holds records: it
    finishes and accepts them, so the other member goes on at once, with no
    record delivered twice. Exactly-once is refused at start."""
    # Refused before anything runs: transactions do not cover share acks.
    r = subprocess.run([CONSUMER, "-b", BROKERS, "-t", "x", "-o", "y", "-d", "z", *SHARE, "--exactly-once"],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 1 or "refused in a share group" not in r.stderr:
        fail("exactly-once in a share group: exit %d, %s" % (r.returncode, r.stderr[-400:]))
    tin, tout, tdlq = topic("in-" + TAG, 2), topic("out-" + TAG, 2), topic("dlq-" + TAG, 1)
    path = articles(3000, os.path.join(WORK, "articles.jsonl"))
    # The members first, then the articles as a stream (300/s for 10 s; the
    # broker assigns partitions to joining members on their heartbeats):
    # a backlog produced before would be drained by the first two members
    # to join before the others are in the group.
    members = [consumer(tin, tout, tdlq, "share-" + TAG, *SHARE, "-s", "batch.max_articles=100", "--exit-idle",
                        "8000", name="m%d" % i) for i in range(6)]
    for p in members:
        wait_log(p, "EXPERIMENTAL", 60)
    # Nothing to do for longer than their exit idle time (8 s) before the
    # first article: joining takes a heartbeat or two, and a member must
    # not count the time before it was given a partition as idle (CI,
    # 2026-12-07: all six exited before their first record, on a loaded
    # machine, when the clock ran from the start).
    time.sleep(9)
    if any(p.poll() is not None for p in members):
        fail("share group: members exited idle before any article was produced (exits %s)"
             % [p.poll() for p in members])
    feed = produce_streaming(tin, path, 300)
    if feed.wait(120) != 0:
        fail("dhatu-producer exit %d" % feed.returncode)
    wait_all(members, 240)
    spread = sorted((consumed(p) for p in members), reverse=True)
    recs = dump(tout)
    dups = check_records(recs, tin, path, exact=False)
    busy = sum(1 for n in spread if n > 0)
    if busy <= 2:
        fail("share group: %d of 6 members got work on 2 partitions (spread %s): no better than a consumer group"
             % (busy, spread))
    if dump(tdlq, "--raw"):
        fail("share group: dead letters where none was expected")
    log("share group, 6 members, 2 partitions, 3,000 articles: %d members got work (articles each: %s); every "
        "article has a record, %d duplicates" % (busy, spread, dups))

    # A member killed -9 while it holds records: they come back to the group
    # once their acquisition lock expires, and the other member does them.
    tout2 = topic("out2-" + TAG, 2)
    # A backlog the first member cannot drain between two looks at the
    # output (it would then hold nothing when killed): 100,000 articles, the
    # kill at its first record.
    path2 = articles(100000, os.path.join(WORK, "articles2.jsonl"))
    tin2 = topic("in2-" + TAG, 2)
    produce(tin2, path2)
    slow = ["-s", "batch.max_articles=5000", "-m", "lexicon", "-s", "share.backlog_interval_ms=300"]
    a = consumer(tin2, tout2, tdlq, "share2-" + TAG, *SHARE, *slow, name="killed")
    # Killed while it holds records: its gauge of the oldest record held
    # (dhatu_share_oldest_held_seconds) above 0 means a batch is between
    # poll and acknowledgement (large batches of the lexicon model last
    # tens of milliseconds; the scrape-to-kill gap is about one).
    end = time.monotonic() + 120
    port = metrics_port(a, end)
    if port is None:
        fail("the first member never listened for /metrics: %s" % open(a.logname).read()[-1500:])
    # Its backlog first (the member's view: the partitions' ends past what
    # it was given), answered every 300 ms: most of the 100,000 articles.
    seen = None
    while not seen and time.monotonic() < end:
        try:
            seen = backlog(port)
        except OSError:
            seen = None
        time.sleep(0.02)
    if not seen or not 0 < sum(seen.values()) < 100000:
        fail("the first member's backlog: %s, not between 0 and 100,000 records" % seen)
    held = wait_held(port, end)
    a.send_signal(signal.SIGKILL)
    if held <= 0:
        fail("the first member never held a record within 120 s")
    first = len(dump(tout2))
    a.wait(30)
    killed_at = time.monotonic()
    # The survivor gets the dead member's share only once the broker has
    # removed it (group.share.session.timeout.ms, 45 s by default) and its
    # locks expired (30 s): wait for the condition, every article a
    # record, not for an idle time that a slow machine outlasts. Then
    # SIGTERM: it finishes what it holds and exits 0.
    tdlq2 = topic("dlq2-" + TAG, 1)
    b = consumer(tin2, tout2, tdlq2, "share2-" + TAG, *SHARE, *slow, "-s", "share.max_deliveries=1", name="survivor")
    want = {json.loads(l)["id"] for l in open(path2)}
    end = time.monotonic() + 240

    def done():
        return {r["id"] for r in dump(tout2)} | {m["key"] for m in dump(tdlq2, "--raw")}

    port_b = metrics_port(b, time.monotonic() + 60)

    def given_again():
        try:
            return metric(port_b, "dhatu_share_redelivered_total") if port_b else -1
        except OSError:
            return -1
    # Done: every article has a record or a dead letter, and what the
    # killed member held came back (its records may have been produced
    # before the kill, never accepted: the condition on the output alone
    # can hold before the locks expire).
    while len(done() & want) < len(want) or given_again() <= 0:
        if time.monotonic() > end or b.poll() is not None:
            fail("share group: %d of %d articles have a record or a dead letter, %.0f records given again, %.0f s "
                 "after the kill (survivor %s)"
                 % (len(done() & want), len(want), given_again(), time.monotonic() - killed_at,
                    "running" if b.poll() is None else "exited %d" % b.returncode))
        time.sleep(3)
    done_at = time.monotonic()
    # Every article has a record: the survivor's view of the backlog falls
    # to 0 in each partition (it was given the last records of both).
    left, end = None, time.monotonic() + 30
    while time.monotonic() < end:
        left = backlog(port_b)
        if left and len(left) == 2 and sum(left.values()) == 0:
            break
        time.sleep(0.1)
    else:
        fail("the survivor's backlog after every article had a record: %s, not 0 in both partitions" % left)
    b.send_signal(signal.SIGTERM)
    wait_all([b], 120)
    recs2 = dump(tout2)
    m = re.search(r"share group: (\d+) records? delivered more than once", open(b.logname).read())
    again = int(m.group(1)) if m else 0
    if again == 0:
        fail("the survivor was given no record a second time: the killed member held none, so the test proved "
             "nothing (its summary: %s)" % (m.group(0) if m else "no share line"))
    # Each record given again went past share.max_deliveries=1: one dead
    # letter each, class redelivery-limit, its delivery count in a header.
    dls = dump(tdlq2, "--raw")
    keys = [d["key"] for d in dls]
    bad = [d["headers"] for d in dls if d["headers"].get("dhatu.error.class") != "redelivery-limit"
           or d["headers"].get("dhatu.delivery.count") != "2"]
    if len(dls) != again or len(set(keys)) != len(keys) or bad or not set(keys) <= want:
        fail("redelivered records: %d given again, %d dead letters (%d distinct); wrong class or count: %s"
             % (again, len(dls), len(set(keys)), bad[:2]))
    dups2 = check_records(recs2, tin2, path2, exact=False, dead=keys)
    log("share group, a member killed -9 while it held records (%d records in the output after the kill): the other "
        "member got %d of its records again (delivery count 2), each past its share.max_deliveries of 1 and so one "
        "dead letter (redelivery-limit, dhatu.delivery.count 2); every one of 100,000 articles had a record or that "
        "dead letter %.0f s after the kill, %d duplicate records (produced by the killed member, never acknowledged); "
        "SIGTERM: exit 0; the backlog the first member reported: %s records, the survivor's at the end: 0"
        % (first, again, done_at - killed_at, dups2, int(sum(seen.values()))))

    # SIGTERM while a member holds records: it finishes its batch and
    # accepts it before it leaves, so nothing stays locked and no record is
    # delivered twice: a record left locked would come back to the other
    # member after the 30 s lock, or a released one at once, either way
    # with delivery count 2 (its "delivered more than once" count) and a
    # second record in the output (check_records, exact). That is the
    # proof; the time the other member takes to finish is reported, not
    # bounded by the lock: on CI's loaded machine the rest of the 100,000
    # articles once took it 25-34 s (2026-12-07).
    tin3, tout3 = topic("in3-" + TAG, 2), topic("out3-" + TAG, 2)
    a3 = consumer(tin3, tout3, tdlq, "share3-" + TAG, *SHARE, *slow, name="stopped")
    b3 = consumer(tin3, tout3, tdlq, "share3-" + TAG, *SHARE, *slow, name="stays")
    end = time.monotonic() + 120
    port3 = metrics_port(a3, end)
    for p in (a3, b3):
        wait_log(p, "EXPERIMENTAL", 60)
    # Both in the group before the articles come (20,000/s for 5 s), so
    # that the stopped member holds records when the signal lands and the
    # other one has work left after it.
    feed3 = produce_streaming(tin3, path2, 20000)
    if wait_held(port3, end) <= 0:
        fail("the member to stop never held a record within 120 s")
    a3.send_signal(signal.SIGTERM)
    if a3.wait(60) != 0:
        fail("SIGTERM while holding records: exit %d" % a3.returncode)
    stopped_at = time.monotonic()
    while len({r["id"] for r in dump(tout3)} & want) < len(want):
        if time.monotonic() - stopped_at > 180 or b3.poll() is not None:
            fail("after SIGTERM to a member that held records, %d of %d articles had a record %.0f s later (the other "
                 "member %s)" % (len({r["id"] for r in dump(tout3)} & want), len(want), time.monotonic() - stopped_at,
                                 "running" if b3.poll() is None else "exited %d" % b3.returncode))
        time.sleep(0.5)
    took = time.monotonic() - stopped_at
    if feed3.wait(60) != 0:
        fail("dhatu-producer exit %d" % feed3.returncode)
    b3.send_signal(signal.SIGTERM)
    wait_all([b3], 120)
    for p in (a3, b3):
        m = re.search(r"share group: (\d+) records? delivered more than once", open(p.logname).read())
        if not m or int(m.group(1)) > 0:
            fail("%s was given a record twice after a SIGTERM: %s" % (p.logname, open(p.logname).read()[-600:]))
    if consumed(a3) <= 0:
        fail("the stopped member consumed nothing: the test proved nothing")
    check_records(dump(tout3), tin3, path2, exact=True)
    log("share group, SIGTERM to a member holding records: exit 0 after %d articles; the other member had every one of "
        "100,000 articles done %.1f s later, each exactly once, none delivered twice (nothing left locked or released)"
        % (consumed(a3), took))
