"""group.py -- consumer groups and rebalancing: groups of 1-3 members
(one record per article, equal to dhatu-vectorize's), batches vectorized in
parts, another engine backend, a member joining and one leaving (both
delivery modes, both group protocols), a static member killed inside its
revoke (orphaned partitions), a member paused by backpressure across a
rebalance, and an idle member that must not leave while the group has work."""
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


def group_scenario(k):
    tin, tout, tdlq = topics()
    produce(tin, SAMPLE)
    procs = [consumer(tin, tout, tdlq, "g-" + TAG, "--exit-idle", "4000", name="c%d" % i) for i in range(k)]
    wait_all(procs, 120)
    recs = dump(tout)
    check_records(recs, tin, SAMPLE)
    log("%d consumers: %d records, one per article, equal to dhatu-vectorize, lineage exact" % (k, len(recs)))


def batch_parts():
    """Batches whose text outgrows the engine batch (batch.max_bytes 1 KiB,
    engine.max_article_bytes 2 KiB: most batches close over 1 KiB of
    messages, and two articles often hold more text than 2 KiB): the engine
    thread vectorizes and encodes the first part itself while the encoder
    is idle. Every record equals dhatu-vectorize's, and each input
    partition's records come out in input order."""
    tin, tout, tdlq = topics()
    produce(tin, SAMPLE)
    extra = ["-s", "batch.max_bytes=1024", "-s", "engine.max_article_bytes=2048", "-s", "batch.max_articles=64",
             "--exit-idle", "4000"]
    procs = [consumer(tin, tout, tdlq, "g-" + TAG, "-v", *extra, name="c%d" % i) for i in range(2)]
    wait_all(procs, 120)
    parts = sum(open(p.logname).read().count("batch text full") for p in procs)
    if not parts:
        fail("no batch outgrew the engine batch: the scenario tested nothing")
    recs = dump(tout)
    last = {}
    for r in recs:
        lin = r["lineage"]
        if lin["offset"] <= last.get(lin["partition"], -1):
            fail("input partition %d: offset %d after %d" % (lin["partition"], lin["offset"], last[lin["partition"]]))
        last[lin["partition"]] = lin["offset"]
    check_records(recs, tin, SAMPLE)
    log("%d batches split in parts: %d records, one per article, equal to dhatu-vectorize, in input order"
        % (parts, len(recs)))


def backend_scenario(backend):
    """Two members whose engine runs on another backend (opencl: PoCL in CI):
    records equal dhatu-vectorize's on cpu, lineage names the backend."""
    tin, tout, tdlq = topics()
    produce(tin, SAMPLE)
    # PoCL's kernel cache is not safe for processes that build the same
    # program at once (pocl/pocl#430, #1480): a cache of its own per member.
    procs = [consumer(tin, tout, tdlq, "g-" + TAG, "-s", "engine.backend=" + backend, "--exit-idle", "4000",
                      name="c%d" % i, env={"POCL_CACHE_DIR": os.path.join(WORK, "pocl-c%d" % i)})
             for i in range(2)]
    wait_all(procs, 180)
    recs = dump(tout)
    check_records(recs, tin, SAMPLE, backend=backend)
    log("2 consumers on %s: %d records, one per article, equal to the cpu backend's" % (backend, len(recs)))


def join_leave(*extra):
    """A member joins and another leaves (SIGTERM) while articles flow
    (extra: the members' options, e.g. KIP-848's group protocol, or
    exactly-once: then the committed records are counted). The steps are
    ordered on the members' log lines, not on sleeps: b joins once a holds
    every partition; a leaves once b holds some; c joins once b holds a's.
    The group's protocol is asserted from the log (COOPERATIVE for
    cooperative-sticky and KIP-848, EAGER for range): under an incremental
    protocol a gives up only what moves to b, under eager it revokes all."""
    n = 4000
    parts = 8
    tin, tout, tdlq = topics(parts)
    path = articles(n, os.path.join(WORK, "jl.jsonl"))
    prod = produce_streaming(tin, path, 800)
    group = "g-" + TAG
    assignor = os.environ.get("DHATU_TEST_ASSIGNOR", "cooperative-sticky")
    want = "EAGER" if assignor in ("range", "roundrobin") and "kafka.group_protocol=consumer" not in extra \
        else "COOPERATIVE"
    assigned = r"assigned (\d+) partition\(s\) \((\w+)\)"
    revoked = r"revoked (\d+) partition\(s\) \((\w+)\)"
    a = consumer(tin, tout, tdlq, group, "-s", "batch.max_articles=64", *extra, name="a")
    first = wait_log_count(a, assigned, 1, 60)[0]
    if first.group(2) != want:
        fail("member a: %s rebalance protocol, expected %s (assignor %s)" % (first.group(2), want, assignor))
    if int(first.group(1)) != parts:
        fail("member a alone was assigned %s of %d partitions" % (first.group(1), parts))
    b = consumer(tin, tout, tdlq, group, "-s", "batch.max_articles=64", *extra, name="b")
    got_b, end = None, time.monotonic() + 60
    while got_b is None:    # the first assignment may be empty (eager, or the first cooperative round)
        got_b = next((m for m in log_lines(b, assigned) if int(m.group(1)) > 0), None)
        if got_b is None:
            if time.monotonic() > end or b.poll() is not None:
                fail("member b joined but was never given a partition:\n" + open(b.logname).read()[-2000:])
            time.sleep(0.2)
    gave = [int(m.group(1)) for m in log_lines(a, revoked)]
    if not gave:
        fail("member b holds %s partitions but a never revoked any" % got_b.group(1))
    if want == "COOPERATIVE" and gave[0] >= parts:
        fail("incremental protocol, yet a revoked all %d partitions when b joined (revoked %s)" % (parts, gave))
    if want == "EAGER" and gave[0] != parts:
        fail("eager protocol, yet a revoked %d of %d partitions when b joined" % (gave[0], parts))
    log("b joined: a revoked %s, b was assigned %s (%s)" % (gave, got_b.group(1), got_b.group(2)))
    before = len(log_lines(b, assigned))
    a.send_signal(signal.SIGTERM)
    wait_all([a], 60)
    # a's partitions move to b: b is assigned again after a left.
    wait_log_count(b, assigned, before + 1, 60)
    held = sum(int(m.group(1)) for m in log_lines(b, assigned)) - sum(int(m.group(1)) for m in log_lines(b, revoked))
    if want == "COOPERATIVE" and held != parts:
        fail("after a left, b holds %d of %d partitions" % (held, parts))
    log("a left: b holds %s partitions" % (held if want == "COOPERATIVE" else "all"))
    c = consumer(tin, tout, tdlq, group, "-s", "batch.max_articles=64", "--exit-idle", "4000", *extra, name="c")
    if prod.wait(120) != 0:
        fail("producer failed")
    wait_all([c], 120)
    b.send_signal(signal.SIGTERM)
    wait_all([b], 60)
    recs = dump(tout, "--committed") if "--exactly-once" in extra else dump(tout)
    dups = check_records(recs, tin, path, exact=False)
    log("join and leave: %d articles, %d records, 0 lost, %d duplicates" % (n, len(recs), dups))
    if dups:
        fail("a graceful leave (SIGTERM, commit on revoke) must not cause duplicates: %d" % dups)


def orphan():
    """A member killed between the two rounds of a cooperative rebalance,
    then restarted under its static id (orphans.h): the partitions it gave
    up in the first round belong to nobody, and the static rejoin of a
    stable group changes nothing. The orphan watch must find them and have
    the group assign them; the drain then loses nothing.

    Deterministic: the killed member is not the group's leader (a leader's
    static rejoin does start a rebalance): the leader is a first member that
    subscribes to another topic. The member's revoke callback is held open
    by its flush: a producer quota of 1000 bytes/s on its client id, lifted
    once it is killed."""
    n = 2000
    tin, tout, tdlq = topics(4)
    tother = topic("other-" + TAG, 1)
    path = articles(n, os.path.join(WORK, "orphan.jsonl"))
    produce(tin, path)
    group = "g-" + TAG
    watch = ["-s", "kafka.orphan_check_ms=1000", "-s", "kafka.orphan_grace_ms=5000",
             "-s", "lifecycle.shutdown_deadline_ms=60000", "-s", "batch.max_articles=64",
             "-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=1000"]
    leader = consumer(tother, tout, tdlq, group, *watch, name="leader")
    wait_log(leader, "assigned 1 partition(s)", 60)
    slow = "slow-" + TAG
    kafka("quota", slow + "-producer", "1000")
    a = consumer(tin, tout, tdlq, group, "-s", "kafka.group_instance_id=a", "-s", "kafka.client_id=" + slow, *watch,
                 name="a")
    wait_log(a, "assigned 4 partition(s)", 60)
    time.sleep(3)                               # a consumes; its records wait for their acknowledgement
    b = consumer(tin, tout, tdlq, group, "-s", "kafka.group_instance_id=b", *watch, name="b")
    wait_log(a, "revoked", 60)                  # first round: a gives partitions up, its flush waits
    a.send_signal(signal.SIGKILL)
    a.wait()
    kafka("quota", slow + "-producer", "none")
    a = consumer(tin, tout, tdlq, group, "-s", "kafka.group_instance_id=a", *watch, name="a2")
    line = wait_log(a, "assigned", 60)
    log("restarted member:", line.strip().split(": ", 1)[-1])
    # The watch of a or b finds the unowned partitions and nudges.
    end = time.monotonic() + 90
    while time.monotonic() < end:
        logs = open(a.logname).read() + open(b.logname).read()
        if "joining a nudge member" in logs:
            break
        time.sleep(0.5)
    else:
        fail("no member found the unowned partitions within 90 s:\n%s" % open(b.logname).read()[-3000:])
    log("orphan watch:", [l.split(": ", 1)[-1] for l in logs.splitlines() if "owned by no member" in l][:1])
    # Committed offsets of the 4 partitions add up to n once all is done (a
    # partition nobody ever committed is not in the group's lag at all).
    end = time.monotonic() + 120
    while group_describe(group, tin)[2] != n:
        if time.monotonic() > end:
            fail("the group committed %d of %d offsets after 120 s" % (group_describe(group, tin)[2], n))
        time.sleep(2)
    for p in (a, b, leader):
        p.send_signal(signal.SIGTERM)
    wait_all([a, b, leader], 90)
    recs = dump(tout)
    dups = check_records(recs, tin, path, exact=False)
    log("orphaned partitions assigned again: %d articles, %d records, 0 lost, %d duplicates" % (n, len(recs), dups))


def paused_rebalance():
    """librdkafka keeps a partition paused by the application through its
    revoke and its next assignment. A member paused by backpressure (a slow
    output: a producer quota on its client id) gives two of its four
    partitions to a joining member, resumes once the output is fast again,
    drains its other two, and gets the two back when the other member
    leaves, with new articles on them. It must resume them: before it did,
    it never consumed them again and never went idle."""
    n, more = 2000, 40
    tin, tout, tdlq = topics(4)
    path = articles(n + more, os.path.join(WORK, "pr.jsonl"))
    lines = open(path).readlines()
    first, second = os.path.join(WORK, "pr1.jsonl"), os.path.join(WORK, "pr2.jsonl")
    open(first, "w").writelines(lines[:n])
    open(second, "w").writelines(lines[n:])
    produce(tin, first)
    group, slow = "g-" + TAG, "slow-" + TAG
    # About one record a second: once full, the member stays paused. Once
    # the quota is gone it drains its two partitions, then waits for the
    # other two: its idle exit (20 s) must outlast b's leaving, which takes
    # several seconds under ASan.
    kafka("quota", slow + "-producer", "1000")
    a = consumer(tin, tout, tdlq, group, "-s", "kafka.client_id=" + slow, "-s", "batch.max_unacked=64",
                 "-s", "batch.max_articles=8", "-s", "lifecycle.shutdown_deadline_ms=3000", "--exit-idle", "20000",
                 name="a")
    wait_log(a, "assigned 4 partition", 60)
    port = int(re.search(r"probes on http://[^:]+:(\d+)/", wait_log(a, "probes on", 10)).group(1))

    def wait_paused(want, timeout):
        end = time.monotonic() + timeout
        while (metric(port, "dhatu_paused_partitions") > 0) != want:
            if time.monotonic() > end:
                fail("member a %s within %d s" % ("never paused" if want else "never resumed", timeout))
            time.sleep(0.2)
    wait_paused(True, 30)
    b = consumer(tin, tout, tdlq, group, name="b")
    wait_log(a, "revoked 2 partition", 60)
    # Cooperative: b gets them in a second round; it must hold them before
    # it leaves, or the group is still rebalancing when it does.
    wait_log(b, "assigned 2 partition", 60)
    kafka("quota", slow + "-producer", "none")
    wait_paused(False, 90)      # resumed the two it kept; the two it gave away stay paused in librdkafka
    b.send_signal(signal.SIGTERM)
    wait_all([b], 60)
    wait_log(a, "assigned 2 partition", 30)
    produce(tin, second)
    wait_all([a], 120)
    recs = dump(tout)
    dups = check_records(recs, tin, path, exact=False)
    log("a paused member through a cooperative revoke and re-assignment: %d articles, %d records, 0 lost, "
        "%d duplicates" % (n + more, len(recs), dups))


def idle_group():
    """A member whose own partitions are drained does not leave while the
    group still has work: here the other member is frozen (SIGSTOP) holding
    half of the partitions, unconsumed. Leaving then would be exit 0 with
    work left, and the last member gone. The idle member stays, gets the
    partitions once the frozen one's session times out, drains them, and
    only then leaves."""
    n = 2000
    tin, tout, tdlq = topics(4)
    path = articles(n, os.path.join(WORK, "ig.jsonl"))
    group = "g-" + TAG
    a = consumer(tin, tout, tdlq, group, "--exit-idle", "3000", name="a")
    wait_log(a, "assigned 4 partition", 60)
    b = consumer(tin, tout, tdlq, group, "-X", "session.timeout.ms=15000", name="b")
    wait_log(b, "assigned 2 partition", 60)
    b.send_signal(signal.SIGSTOP)
    produce(tin, path)
    log("member b frozen with 2 partitions; %d articles produced" % n)
    wait_all([a], 120)
    b.kill()
    b.wait()
    recs = dump(tout)
    dups = check_records(recs, tin, path, exact=False)
    if "not ours, committed at" not in open(a.logname).read():
        fail("member a never waited for the partitions it did not own; log %s" % a.logname)
    log("a drained member stayed while the frozen member held work: %d articles, %d records, 0 lost, "
        "%d duplicates" % (n, len(recs), dups))
