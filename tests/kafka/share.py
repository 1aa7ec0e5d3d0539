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

from harness import *  # noqa: F401,F403 (the shared harness: names used throughout)

SHARE = ["-s", "kafka.group_type=share"]


def consumed(p):
    """Articles a member consumed, from its summary line."""
    m = re.search(r"(\d+) articles consumed", open(p.logname).read())
    return int(m.group(1)) if m else -1


def share_scenario():
    """6 members of one share group on a 2-partition topic of 3,000 articles
    (batches of 100): more than 2 of them get work, every article has a
    record (duplicates counted: at least once allows them). Then, on a new
    group, a member killed -9 while it holds records: the records it held
    come back after the acquisition lock (30 s) to the other member, and
    every article still has a record; SIGTERM ends that member with 0. Exactly-once is refused at start."""
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
    slow = ["-s", "batch.max_articles=5000", "-m", "lexicon"]
    a = consumer(tin2, tout2, tdlq, "share2-" + TAG, *SHARE, *slow, name="killed")
    # Killed while it holds records: its gauge of the oldest record held
    # (dhatu_share_oldest_held_seconds) above 0 means a batch is between
    # poll and acknowledgement (large batches of the lexicon model last
    # tens of milliseconds; the scrape-to-kill gap is about one).
    port, end = None, time.monotonic() + 120
    while port is None and time.monotonic() < end:
        ports = re.findall(r"metrics and probes on http://[0-9.]+:(\d+)/", open(a.logname).read())
        port = int(ports[0]) if ports else None
        time.sleep(0.05)
    if port is None:
        fail("the first member never listened for /metrics: %s" % open(a.logname).read()[-1500:])
    held = 0.0
    while held <= 0 and time.monotonic() < end:
        try:
            held = metric(port, "dhatu_share_oldest_held_seconds")
        except OSError:
            held = 0.0
        if held <= 0:
            time.sleep(0.005)
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
    b = consumer(tin2, tout2, tdlq, "share2-" + TAG, *SHARE, *slow, name="survivor")
    want = {json.loads(l)["id"] for l in open(path2)}
    end = time.monotonic() + 240
    while len({r["id"] for r in dump(tout2)} & want) < len(want):
        if time.monotonic() > end or b.poll() is not None:
            fail("share group: %d of %d articles have a record %.0f s after the kill (survivor %s)"
                 % (len({r["id"] for r in dump(tout2)} & want), len(want), time.monotonic() - killed_at,
                    "running" if b.poll() is None else "exited %d" % b.returncode))
        time.sleep(3)
    done_at = time.monotonic()
    b.send_signal(signal.SIGTERM)
    wait_all([b], 120)
    recs2 = dump(tout2)
    dups2 = check_records(recs2, tin2, path2, exact=False)
    m = re.search(r"share group: (\d+) records? delivered more than once", open(b.logname).read())
    again = int(m.group(1)) if m else 0
    if again == 0:
        fail("the survivor was given no record a second time: the killed member held none, so the test proved "
             "nothing (its summary: %s)" % (m.group(0) if m else "no share line"))
    log("share group, a member killed -9 while it held records (%d records in the output after the kill): the other "
        "member got %d of its records again (delivery count 2); every one of 100,000 articles had a record %.0f s "
        "after the kill, %d duplicates (records the killed member produced but never acknowledged to the group); "
        "SIGTERM: exit 0" % (first, again, done_at - killed_at, dups2))
