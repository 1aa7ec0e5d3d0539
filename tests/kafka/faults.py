"""faults.py -- broker faults: an outage under idle exactly-once members, the
partition leader killed, the output's Write ACL removed mid-stream, a
rolling restart of three brokers and the whole cluster down."""
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


def outage():
    """--exit-idle must not take a broker outage for idleness: two
    exactly-once members drain 3,000 articles and wait (exit after 20 s
    idle); the broker stops for 25 s; when it is back, 3,000 more arrive.
    Counting the outage as idle, they would leave as soon as the broker is
    back; they must stay, consume them, then exit 0 with lag 0. (20 s leaves
    the second producer room for a slow start: a restarted broker answers
    "coordinator load in progress" for a while.)"""
    tin, tout, tdlq = topics(4)
    first = articles(3000, os.path.join(WORK, "outage1.jsonl"))
    produce(tin, first)
    procs = [consumer(tin, tout, tdlq, "g-" + TAG, "--exit-idle", "20000", "--exactly-once", name="c%d" % i)
             for i in range(2)]
    # The group settled first (each member holds 2 of the 4 partitions; under
    # cooperative-sticky the second one gets its 2 in a second round): this
    # test is about idleness. An outage in the middle of a rebalance is
    # cluster-down's case (in CI under ASan, one such run here left both
    # members without a rejoin for 5 minutes: a finding, bench/results.md).
    end = time.monotonic() + 60
    while not any("assigned 2 partition" in open(p.logname).read() for p in procs):
        if time.monotonic() > end:
            fail("the group did not settle within 60 s")
        time.sleep(0.2)
    time.sleep(4)
    subprocess.run([KAFKA_SH, "stop"], check=True, env=KENV, timeout=120)
    time.sleep(25)
    src = [json.loads(l) for l in open(first)]
    second = os.path.join(WORK, "outage2.jsonl")
    with open(second, "w") as f:
        for a in src:
            f.write(json.dumps(dict(a, id=a["id"] + "-after")) + "\n")
    subprocess.run([KAFKA_SH, "start"], check=True, env=KENV, timeout=300, stdout=subprocess.DEVNULL)
    # As soon as the broker answers: the new articles arrive within seconds,
    # inside the 20 s a member must see the brokers confirm idleness.
    prod = produce_streaming(tin, second, 100000)
    if prod.wait(120) != 0:
        fail("the second producer failed")
    wait_all(procs, 300)
    recs = dump(tout, "--committed")
    ids = {r["id"] for r in recs}
    if len(ids) != 6000:
        fail("after the outage: %d distinct records of 6000 (members exited during the outage?)" % len(ids))
    # Exactly once: one committed record per input message (its partition
    # and offset, from the lineage), none twice.
    inputs = [(r["lineage"]["partition"], r["lineage"]["offset"]) for r in recs]
    dups = len(inputs) - len(set(inputs))
    if dups or len(recs) != 6000:
        fail("exactly-once across the outage: %d committed records for 6000 articles, %d input messages with more "
             "than one" % (len(recs), dups))
    _, lag, _ = group_describe("g-" + TAG, tin)
    if lag != 0:
        fail("after the outage: lag %s" % lag)
    log("broker stopped for 25 s under 2 idle exactly-once members: they stayed, consumed the 3000 articles "
        "that came after it, and exited 0 with lag 0 (%d committed records, 0 duplicates)" % len(recs))


def watchdog_exit(p):
    """Did p end by the transactional watchdog (exit 3 and its line: a
    librdkafka call that outlived its own timeout, librdkafka#5456)? Our
    librdkafka build carries the fix (scripts/patches, test_rdkafka), so this
    is the backstop for a hang we do not know of, and the member is
    restarted as an orchestrator would."""
    return p.poll() == 3 and "after its own timeout (librdkafka#" in open(p.logname).read()


def leader_loss():
    """kill -9 the broker that leads most input partitions while two groups
    of two members each, one at-least-once and one exactly-once, process
    the same stream; bring it back 15 s later: nothing lost in either, and
    no duplicate among the exactly-once group's committed records. No member
    exits but by --exit-idle with status 0: an exit of the transactional
    watchdog fails the scenario (nothing restarts a member here), since
    nothing in a leader loss forces one. (Both modes under one fault: one
    cluster start and one kill instead of two, the same proof.)"""
    if KENV["KAFKA_BROKERS"] != "3":
        fail("leader-loss needs the three-broker cluster")
    n = 4000
    tin, tout, tdlq = topics()
    # The exactly-once group's own output and dead-letter topics.
    eos_t = ("out-eos-" + TAG, "dlq-eos-" + TAG)
    for name, parts in zip(eos_t, (8, 1)):
        topic(name, parts)
    if SECURITY:
        subprocess.run([KAFKA_SH, "grant", tin, *eos_t, "g-eos-" + TAG], check=True, env=KENV)
    path = articles(n, os.path.join(WORK, "stream.jsonl"))
    common = ["--exit-idle", "8000", "-s", "batch.max_articles=64", "-s", "batch.linger_ms=5"]
    prod = produce_streaming(tin, path, 250)
    groups = {
        "at-least-once": [consumer(tin, tout, tdlq, "g-" + TAG, *common, name="alo%d" % i) for i in range(2)],
        "exactly-once": [consumer(tin, *eos_t, "g-eos-" + TAG, *common, "--exactly-once", "-s",
                                  "delivery.transaction_interval_ms=200", name="eos%d" % i) for i in range(2)]}
    procs = [p for g in groups.values() for p in g]
    time.sleep(4)
    r = subprocess.run([KAFKA_SH, "leader", tin], capture_output=True, text=True, env=KENV, timeout=120)
    victim = r.stdout.strip()
    if not victim.isdigit():
        fail("no leader found for %s: %s" % (tin, r.stderr))
    subprocess.run([KAFKA_SH, "broker", victim, "kill"], check=True, env=KENV)
    log("killed broker %s (leader of most partitions of %s)" % (victim, tin))
    time.sleep(15)
    subprocess.run([KAFKA_SH, "broker", victim, "start"], check=True, env=KENV, timeout=180)
    log("broker %s back" % victim)
    if prod.wait(240) != 0:
        fail("producer failed")
    end = time.monotonic() + 300
    while not all(p.poll() == 0 for p in procs):
        for p in procs:
            if p.poll() in (None, 0):
                continue
            fail("member %s exited %d%s during a leader loss, where nothing forces an exit; log %s:\n%s"
                 % (os.path.basename(p.logname), p.returncode, " (the transactional watchdog)" if watchdog_exit(p)
                    else "", p.logname, open(p.logname).read()[-3000:]))
        if time.monotonic() > end:
            fail("members still running 300 s after the stream; logs %s" % ", ".join(p.logname for p in procs))
        time.sleep(0.5)
    for mode, out in (("at-least-once", tout), ("exactly-once", eos_t[0])):
        eos = mode == "exactly-once"
        recs = dump(out, "--committed") if eos else dump(out)
        ids = [r["id"] for r in recs]
        log("%s: %d articles, leader killed mid-stream, %d records, %d lost, %d duplicates, no member exit"
            % (mode, n, len(recs), n - len(set(ids)), len(ids) - len(set(ids))))
        check_records(recs, tin, path, exact=eos)


# cluster-down: the member exits allowed in all (two members, one each
# for the outage itself, and one for a restart that meets the recovery).
MAX_DOWN_RESTARTS = 3


def cluster_failures(kind):
    """Two members (exactly-once) process a stream while the cluster is
    restarted broker by broker (rolling), or stopped whole for 20 s (down).
    Rolling: two at-least-once members of another group read the same
    stream, and no member of either exits, by the transactional watchdog or
    otherwise: one broker at a time down forces nothing (zero restarts
    asserted); every article has a record in each group's output.
    Down: longer than the brokers can hide, a member may stop with exit 3
    (fatal, documented: nothing uncommitted is lost, a restart redoes it); it
    is restarted as an orchestrator would, at most MAX_DOWN_RESTARTS times in
    all, and each restart is reported. Never exit 0 with work left. Both:
    nothing lost, no committed record duplicated."""
    if KENV["KAFKA_BROKERS"] != "3":
        fail("%s needs the three-broker cluster" % kind)
    n = 3000
    tin, tout, tdlq = topics()
    path = articles(n, os.path.join(WORK, "stream.jsonl"))
    # The stream outlasts the failure (a rolling restart took 125 s in CI on
    # 2 cores, hence 25 articles/s there: 120 s), and a member that exits 0
    # while it runs is a bug. Once the stream has ended, an idle exit 30 s
    # later is what --exit-idle asks for, whatever the brokers are doing.
    prod = produce_streaming(tin, path, 25 if kind == "rolling" else 50)
    # The idle check asks the brokers every second; a 20 s outage plus the
    # brokers' recovery must not look like idleness.
    procs = [consumer(tin, tout, tdlq, "g-" + TAG, "--exit-idle", "30000", "--exactly-once",
                      "-s", "batch.max_articles=64", "-s", "delivery.transaction_interval_ms=200", name="c%d" % i)
             for i in range(2)]
    restarted = 0
    # Rolling: the at-least-once group, its own output and dead letters.
    alo, alo_t = [], ("out-alo-" + TAG, "dlq-alo-" + TAG)
    if kind == "rolling":
        for name, parts in zip(alo_t, (8, 1)):
            topic(name, parts)
        if SECURITY:
            subprocess.run([KAFKA_SH, "grant", tin, *alo_t, "g-alo-" + TAG], check=True, env=KENV)
        alo = [consumer(tin, *alo_t, "g-alo-" + TAG, "--exit-idle", "30000", "-s", "batch.max_articles=64",
                        name="alo%d" % i) for i in range(2)]

    def restart_failed(streaming):
        nonlocal restarted
        for i, p in enumerate(alo):
            rc = p.poll()
            if rc is not None and (rc != 0 or streaming):
                fail("at-least-once member alo%d exited %d during the %s%s; log %s:\n%s"
                     % (i, rc, kind, ", with the stream still running" if streaming else "", p.logname,
                        open(p.logname).read()[-3000:]))
        for i, p in enumerate(procs):
            rc = p.poll()
            if rc is None or (rc == 0 and not streaming):
                continue
            if rc != 3 or kind == "rolling":
                fail("member c%d exited %d%s during the %s%s; log %s:\n%s"
                     % (i, rc, " (the transactional watchdog)" if watchdog_exit(p) else "", kind,
                        ", with the stream still running" if streaming else "", p.logname,
                        open(p.logname).read()[-3000:]))
            if restarted >= MAX_DOWN_RESTARTS:
                fail("more than %d member exits after the cluster was down; last log %s:\n%s"
                     % (MAX_DOWN_RESTARTS, p.logname, open(p.logname).read()[-3000:]))
            log("member c%d stopped with exit 3%s (%s); restarting it"
                % (i, ", the transactional watchdog" if watchdog_exit(p) else "", p.logname))
            procs[i] = consumer(tin, tout, tdlq, "g-" + TAG, "--exit-idle", "30000", "--exactly-once",
                                "-s", "batch.max_articles=64", "-s", "delivery.transaction_interval_ms=200",
                                name="c%d-restart%d" % (i, restarted))
            restarted += 1

    def kafka_sh(*args, timeout):
        """kafka.sh ARGS, watching the members twice a second meanwhile: an
        exit is judged against whether the stream was running when it came."""
        k = subprocess.Popen([KAFKA_SH, *args], env=KENV, stdout=subprocess.DEVNULL)
        end = time.monotonic() + timeout
        while k.poll() is None:
            restart_failed(prod.poll() is None)
            if time.monotonic() > end:
                k.kill()
                fail("kafka.sh %s: still running after %d s" % (" ".join(args), timeout))
            time.sleep(0.5)
        if k.returncode:
            fail("kafka.sh %s: exit %d" % (" ".join(args), k.returncode))

    time.sleep(5)
    if kind == "rolling":
        for b in ("1", "2", "3"):
            kafka_sh("broker", b, "stop", timeout=120)
            kafka_sh("broker", b, "start", timeout=180)
            log("broker %s restarted%s" % (b, "" if prod.poll() is None else " (the stream had ended)"))
    else:
        # Not watched: a member restarted while no broker answers would
        # stop at its start-up check, which is not what this tests.
        subprocess.run([KAFKA_SH, "stop"], check=True, env=KENV, timeout=120)
        log("all brokers stopped")
        time.sleep(20)
        subprocess.run([KAFKA_SH, "start"], check=True, env=KENV, timeout=300, stdout=subprocess.DEVNULL)
        log("all brokers back")
    restart_failed(prod.poll() is None)
    r = prod.wait(300)
    if r != 0:
        # The producer may give up on a batch while no broker answers:
        # whatever it did not get acknowledged is produced again.
        log("producer exit %d: producing the input again (duplicates in the input are allowed)" % r)
        produce(tin, path)
    # Until every member has exited 0: an exit 3 (the watchdog ended a
    # member stuck in librdkafka after the outage, docs/DELIVERY.md) can
    # come at any time, and the member is restarted, as an orchestrator
    # would.
    end = time.monotonic() + 300
    while True:
        restart_failed(False)
        if all(p.poll() == 0 for p in procs + alo):
            break
        if time.monotonic() > end:
            fail("members still running 300 s after the stream; logs %s" % ", ".join(p.logname for p in procs))
        time.sleep(0.5)
    recs = dump(tout, "--committed")
    ids = [r["id"] for r in recs]
    # Exactly-once is per input message: one committed record per input
    # offset. The same article twice in the input (the producer gave up on
    # a batch in the outage and sent it again) is not a duplicate of ours.
    inputs = [(r["lineage"]["partition"], r["lineage"]["offset"]) for r in recs]
    dups = len(inputs) - len(set(inputs))
    missing = n - len(set(ids))
    log("%s: %d articles, %d committed records, %d lost, %d duplicates (%d more records of articles the "
        "producer sent twice), %d member exit(s) (exit 3, restarted)"
        % (kind, n, len(recs), missing, dups, len(ids) - len(set(ids)) - dups, restarted))
    if missing:
        fail("%d articles lost" % missing)
    if dups:
        fail("exactly-once: %d input messages have more than one committed record" % dups)
    if alo:
        recs = dump(alo_t[0])
        ids = [r["id"] for r in recs]
        log("%s, at-least-once group: %d articles, %d records, %d lost, %d duplicates, no member exit"
            % (kind, n, len(recs), n - len(set(ids)), len(ids) - len(set(ids))))
        check_records(recs, tin, path, exact=False)


def acl_revoke():
    """The consumer's Write on the output topic is removed mid-stream: it
    stops with exit 3 and commits nothing past what was acknowledged; with
    the ACL back, a restarted member finishes: every article has a record."""
    if not SECURITY:
        fail("acl-revoke needs DHATU_TEST_SECURITY")
    n = 3000
    tin, tout, tdlq = topics()
    path = articles(n, os.path.join(WORK, "stream.jsonl"))
    # 30 s of stream: the revoke (a JVM tool, a few seconds) lands mid-stream.
    prod = produce_streaming(tin, path, 100)
    a = consumer(tin, tout, tdlq, "g-" + TAG, "-s", "batch.max_articles=64", name="a")
    time.sleep(4)
    subprocess.run([KAFKA_SH, "deny-write", tout], check=True, env=KENV, timeout=120)
    log("Write on %s removed" % tout)
    wait_all([a], 120, expect=3)
    before = len(set(r["id"] for r in dump(tout)))
    committed = group_describe("g-" + TAG, tin)[2]
    log("member a exited 3; %d records before the revoke, committed offsets sum to %d" % (before, committed))
    if committed > before:
        fail("committed %d offsets but only %d records exist" % (committed, before))
    subprocess.run([KAFKA_SH, "grant", tin, tout, tdlq, "g-" + TAG], check=True, env=KENV, timeout=120)
    if prod.wait(120) != 0:
        fail("producer failed")
    b = consumer(tin, tout, tdlq, "g-" + TAG, "--exit-idle", "4000", name="b")
    wait_all([b], 180)
    recs = dump(tout)
    dups = check_records(recs, tin, path, exact=False)
    log("ACL revoked mid-stream and restored: %d articles, %d records, 0 lost, %d duplicates" % (n, len(recs), dups))
