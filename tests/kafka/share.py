"""share.py -- members in a share group (KIP-932, kafka.group_type=share) on
a Kafka 4.4 broker (fixture kafka44): more busy members than partitions,
every article a record, a member killed -9 mid-batch whose records come
back to another member once their lock expires, exactly-once refused."""
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
    group, a member killed -9 while it holds a batch: the records it held
    come back after the acquisition lock (30 s) to the other member, and
    every article still has a record. Exactly-once is refused at start."""
    # Refused before anything runs: transactions do not cover share acks.
    r = subprocess.run([CONSUMER, "-b", BROKERS, "-t", "x", "-o", "y", "-d", "z", *SHARE, "--exactly-once"],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 1 or "refused in a share group" not in r.stderr:
        fail("exactly-once in a share group: exit %d, %s" % (r.returncode, r.stderr[-400:]))
    tin, tout, tdlq = topic("in-" + TAG, 2), topic("out-" + TAG, 2), topic("dlq-" + TAG, 1)
    path = articles(3000, os.path.join(WORK, "articles.jsonl"))
    produce(tin, path)
    members = [consumer(tin, tout, tdlq, "share-" + TAG, *SHARE, "-s", "batch.max_articles=100", "--exit-idle",
                        "8000", name="m%d" % i) for i in range(6)]
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
    path2 = articles(30000, os.path.join(WORK, "articles2.jsonl"))
    tin2 = topic("in2-" + TAG, 2)
    produce(tin2, path2)
    slow = ["-s", "batch.max_articles=500", "-m", "lexicon"]
    a = consumer(tin2, tout2, tdlq, "share2-" + TAG, *SHARE, *slow, name="killed")
    wait_records(tout2, 2000, 120)
    a.send_signal(signal.SIGKILL)
    a.wait(30)
    killed_at = time.monotonic()
    b = consumer(tin2, tout2, tdlq, "share2-" + TAG, *SHARE, *slow, "--exit-idle", "45000", name="survivor")
    wait_all([b], 300)
    recs2 = dump(tout2)
    dups2 = check_records(recs2, tin2, path2, exact=False)
    m = re.search(r"share group: (\d+) records? delivered more than once", open(b.logname).read())
    again = int(m.group(1)) if m else 0
    if again == 0:
        fail("the survivor was given no record a second time: the killed member held none, so the test proved "
             "nothing (its summary: %s)" % (m.group(0) if m else "no share line"))
    log("share group, a member killed -9 mid-batch after 2,000 records: the other member got %d of its records "
        "again (delivery count 2) and finished %.0f s later; every one of 30,000 articles has a record, %d "
        "duplicates (records the killed member produced but never acknowledged to the group)"
        % (again, time.monotonic() - killed_at, dups2))
