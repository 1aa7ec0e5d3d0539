#!/usr/bin/env python3
"""netfault.py -- faults on a seeded schedule over network namespaces, and a
checker that proves what survives them.

Three Kafka brokers (KRaft, each its own controller too), every dhatu-consumer
member and a client (the feeding producer and this checker) each run in a
network namespace of their own, joined by veth pairs to a bridge that lives in
one more namespace. Every address (10.231.0.0/24) exists only inside the
namespaces made here, none on the host, so nothing else on the machine can be
cut by mistake; ports inside a namespace are its own (9092 for every broker).
The harness tears all of it down whatever happens (finally, SIGTERM, ^C): it
kills every process left in its namespaces and deletes them.

Four pipelines read one input topic at once, one group each: at-least-once and
exactly-once, each on the classic protocol (cooperative-sticky) and on KIP-848
(group.protocol=consumer), two members per group. Faults are drawn from a
schedule made from --seed (printed first, so a failure replays), several at a
time (at most one broker affected at once, so two of three replicas always
remain):
  member-kill       kill -9 a member; restarted a few seconds later
  member-pause      SIGSTOP a member past its session timeout, then SIGCONT: the
                    zombie must be fenced (no duplicate in exactly-once, no
                    committed offset moved backwards)
  member-isolate    every packet between a member and every broker dropped
  broker-kill       kill -9 a broker; restarted after a while
  broker-pause      SIGSTOP a broker, then SIGCONT
  broker-cut-members  one broker cut off from every member (iptables DROP in,
                    out or both ways)
  broker-cut-brokers  one broker cut off from the two others (in, out, both)
  coordinator-cut   the broker that coordinates a group (the leader of its
                    __consumer_offsets partition) cut off from the members
  txn-coordinator-cut  the transaction coordinator of an exactly-once member
                    (the leader of its __transaction_state partition) likewise
  rolling-restart   every broker stopped (SIGTERM) and started in turn
A member that exits is restarted after 2 s, as an orchestrator would; every
exit is counted by cause (our kill -9, exit status, signal).

After the schedule every fault is healed, the producer finishes, and the
checker proves, per pipeline: every input offset has a record or a dead letter
(at least once); exactly one committed record per input offset, read
read_committed (exactly once); the group's lag back to 0 within --lag-bound;
no member that held partitions with work waiting went without progress longer
than --stall-bound (measured from its /metrics; the time a member is itself
stopped, killed or isolated is its fault, not a stall); no committed offset
ever moved backwards (sampled every few seconds with dhatu-dump --group);
no member exit that no fault forced. It prints a table (faults by kind, exits
by cause, lost, duplicates, longest stall) and with --table appends it to a
file. Every log stays in --work.

Needs root (ip netns, iptables), java, kcat and the project's build. Python's
standard library only. Beside it: net.py (the namespaces and DROP rules),
kraft.py (the brokers, and where a coordinator is), checker.py (the proof and
the table), util.py (clock, log, commands).
"""
import argparse
import collections
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

from checker import check, report
from kraft import ROOT, SESSION_MS, Brokers, coordinator_partition
from net import Net
from util import Failed, log, now, run

ALL_PIPELINES = ["alo-classic", "alo-consumer", "eos-classic", "eos-consumer"]
KINDS = ["member-kill", "member-pause", "member-isolate", "broker-kill", "broker-pause", "broker-cut-members",
         "broker-cut-brokers", "coordinator-cut", "txn-coordinator-cut", "rolling-restart"]
# dhatu-consumer's default delivery.transaction_timeout_ms, which the
# harness keeps.
TXN_TIMEOUT_S = 60
BROKER_KINDS = {"broker-kill", "broker-pause", "broker-cut-members", "broker-cut-brokers", "coordinator-cut",
                "txn-coordinator-cut", "rolling-restart"}

# ---------------------------------------------------------------------------
# Members: dhatu-consumer processes, one namespace each, restarted when they
# exit, their /metrics read for progress.

class Member:
    def __init__(self, name, pipeline, group, tout, tdlq):
        self.name, self.pipeline, self.group, self.tout, self.tdlq = name, pipeline, group, tout, tdlq
        self.proc = None
        self.log = None
        self.restart_at = None        # when an exited member starts again
        self.faulted = 0              # faults holding it (stopped, killed, isolated)
        self.killed_by_us = False
        self.acked = None
        self.progress_at = now()
        self.longest_stall = 0.0
        self.starts = 0


class Harness:
    def __init__(self, a):
        self.a = a
        self.rng = random.Random(a.seed)
        self.tag = "df%d" % (os.getpid() % 100000)
        self.work = os.path.abspath(a.work)
        # The folder of an earlier run (its marker) is emptied; any other
        # folder must be empty: the harness never deletes what it did not make.
        marker = os.path.join(self.work, ".netfault")
        if os.path.isdir(self.work) and os.listdir(self.work):
            if not os.path.exists(marker):
                raise SystemExit("netfault.py: %s is not empty and not an earlier run's folder" % self.work)
            shutil.rmtree(self.work)
        os.makedirs(self.work, exist_ok=True)
        open(marker, "w").close()
        self.consumer = os.path.join(a.build, "consumer", "dhatu-consumer")
        self.producer = os.path.join(a.build, "producer", "dhatu-producer")
        self.dump_bin = os.path.join(a.build, "tools", "dhatu-dump")
        self.pipelines = [tuple(p.split("-")) for p in a.pipelines.split(",")]
        self.members = []
        self.tin = "in"
        self.active = []              # faults in progress
        self.done = []                # faults healed
        self.exits = collections.Counter()
        self.unforced = []
        self.txn_exits = 0            # exit 3 forced by broker faults longer than a transaction
        self.committed = {}           # group -> {partition: offset}
        self.regressions = []
        self.offset_samples = 0
        self.offset_failures = 0
        self.net = Net(self.tag)
        self.feeder = None

    # -- helpers --------------------------------------------------------
    def dump(self, topic, *extra, timeout=240):
        r = subprocess.run([self.dump_bin, "-b", self.brokers.bootstrap(), "-t", topic, *extra],
                           capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise Failed("dhatu-dump %s %s: %s" % (topic, " ".join(extra), r.stderr.strip()[-2000:]))
        return [json.loads(l) for l in r.stdout.splitlines() if l.strip()]

    def dump_committed(self, topic, timeout=100):
        """The committed records of topic, once no transaction is open on it:
        a member killed inside one leaves it open until its timeout (60 s),
        and read_committed shows nothing past it until then (dhatu-dump
        --committed exits 3 while that is so)."""
        end = time.monotonic() + timeout
        while True:
            r = subprocess.run([self.dump_bin, "-b", self.brokers.bootstrap(), "-t", topic, "--committed"],
                               capture_output=True, text=True, timeout=240)
            if r.returncode == 0:
                return [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
            if r.returncode != 3 or time.monotonic() > end:
                raise Failed("dhatu-dump %s --committed (exit %d): %s" % (topic, r.returncode,
                                                                          r.stderr.strip()[-2000:]))
            time.sleep(2)

    def group_offsets(self, group):
        return {o["partition"]: o for o in self.dump(self.tin, "--group", group, "--timeout-ms", "5000",
                                                     timeout=30)}

    # -- members --------------------------------------------------------
    def start_member(self, m):
        mode, proto = m.pipeline
        argv = [self.consumer, "-b", self.brokers.bootstrap(), "-t", self.tin, "-o", m.tout, "-d", m.tdlq,
                "-g", m.group, "-B", "cpu", "-s", "engine.threads=1", "-s", "http.port=8080",
                "-s", "http.stats_interval_ms=1000", "-s", "kafka.client_id=" + m.name,
                "-s", "kafka.group_protocol=" + proto]
        if proto == "classic":
            argv += ["-s", "kafka.assignor=cooperative-sticky", "-X", "session.timeout.ms=%d" % SESSION_MS,
                     "-X", "heartbeat.interval.ms=2000"]
        if mode == "eos":
            # The transaction timeout stays the default (60 s), longer than
            # any single fault here. (At 20 s, a 14 s cut of an output
            # partition's leader outlasted a transaction begun before it: the
            # coordinator aborted it and the member, fenced, exited 3.)
            argv += ["--exactly-once", "-s", "delivery.transaction_interval_ms=500"]
        m.log = open(os.path.join(self.work, m.name + ".log"), "a")
        m.log.write("=== start %d at %.1fs\n" % (m.starts + 1, now()))
        m.log.flush()
        m.proc = subprocess.Popen(self.net.exec_argv(m.name, argv), stdout=m.log, stderr=subprocess.STDOUT)
        m.starts += 1
        m.killed_by_us = False
        m.restart_at = None
        m.acked = None
        m.progress_at = now()

    def reap(self):
        for m in self.members:
            if m.proc is None or m.proc.poll() is None:
                if m.proc is None and m.restart_at is not None and now() >= m.restart_at:
                    self.start_member(m)
                continue
            rc = m.proc.returncode
            covered = self.broker_fault_seconds(TXN_TIMEOUT_S * 1.5)
            forced = m.killed_by_us
            if m.killed_by_us:
                cause = "kill -9 (fault)"
            elif rc < 0:
                cause = "signal %s" % signal.Signals(-rc).name
            elif rc == 3 and m.pipeline[0] == "eos" and covered >= TXN_TIMEOUT_S:
                # Forced: brokers it needs (coordinators, partition leaders)
                # were faulted, one after another, for longer in all than a
                # transaction may last; the coordinator aborted it and the
                # member, fenced, ended (DELIVERY.md). Allowed, counted.
                cause = "exit 3 (a transaction outlived its timeout under broker faults)"
                forced = True
                self.txn_exits += 1
                log("member %s ended (exit 3) after %.0f s of broker faults in the last %.0f s" % (
                    m.name, covered, TXN_TIMEOUT_S * 1.5))
            else:
                cause = "exit %d" % rc
            self.exits[cause] += 1
            if not forced:
                tail = open(m.log.name, errors="replace").read()[-3000:]
                self.unforced.append((m.name, cause, round(now(), 1)))
                log("member %s ended (%s) with no fault forcing it; log %s ends:\n%s" % (m.name, cause, m.log.name,
                                                                                          tail))
            m.proc = None
            m.log.close()
            if m.restart_at is None:
                m.restart_at = now() + 2.0

    def broker_fault_seconds(self, window):
        """Seconds of the last window during which some broker fault was on
        (the union of their intervals)."""
        t1 = now()
        spans = sorted((max(f["started"], t1 - window), f.get("healed", t1)) for f in self.done + self.active
                       if f["kind"] in BROKER_KINDS and f.get("healed", t1) > t1 - window)
        total, end = 0.0, t1 - window
        for a, b in spans:
            a = max(a, end)
            if b > a:
                total += b - a
                end = b
        return total

    def metrics(self, m):
        try:
            with urllib.request.urlopen("http://%s:8080/metrics" % self.net.nodes[m.name], timeout=1) as r:
                text = r.read().decode()
        except (OSError, ValueError):
            return None
        val = collections.defaultdict(float)
        for line in text.splitlines():
            mo = re.match(r"(dhatu_[a-z_]+)(\{[^}]*\})? ([-0-9.e+]+)$", line)
            if mo and mo.group(1) in ("dhatu_assigned_partitions", "dhatu_records_acknowledged_total",
                                      "dhatu_consumer_lag", "dhatu_dead_letters_total"):
                val[mo.group(1)] += float(mo.group(3))
        return val

    def watch_progress(self):
        """Progress of each member: its acknowledged records grew, or it had
        nothing to do (no partition, or lag 0). A member under a fault of
        its own is not stalled; its clock starts again when it heals."""
        for m in self.members:
            if m.proc is None or m.faulted:
                m.progress_at = now()
                continue
            v = self.metrics(m)
            if v is None:
                continue
            acked = v["dhatu_records_acknowledged_total"] + v["dhatu_dead_letters_total"]
            idle = v["dhatu_assigned_partitions"] == 0 or v["dhatu_consumer_lag"] <= 0
            if idle or (m.acked is not None and acked > m.acked):
                m.progress_at = now()
            m.acked = acked
            m.longest_stall = max(m.longest_stall, now() - m.progress_at)

    def watch_offsets(self):
        """A committed offset never moves backwards."""
        for g in sorted({m.group for m in self.members}):
            try:
                offs = self.group_offsets(g)
            except (Failed, subprocess.TimeoutExpired, OSError):
                self.offset_failures += 1
                continue
            self.offset_samples += 1
            seen = self.committed.setdefault(g, {})
            for p, o in offs.items():
                c = o["committed"]
                if c is None and p not in seen:
                    continue
                # A commit that disappears (None after an offset) is a move
                # backwards too: the next owner starts over.
                if p in seen and (c is None or c < seen[p]):
                    self.regressions.append((g, p, seen[p], c, round(now(), 1)))
                    log("REGRESSION: group %s partition %d committed %s after %d" % (g, p, c, seen[p]))
                    if c is None:
                        continue
                seen[p] = max(c, seen.get(p, c))

    # -- faults ---------------------------------------------------------
    def schedule(self):
        """The whole schedule from the seed: (start, kind, duration, knobs)."""
        kinds = self.a.kinds.split(",") if self.a.kinds else KINDS
        out = []
        t = 8.0
        while t < self.a.duration:
            kind = self.rng.choice(kinds)
            dur = {"member-kill": self.rng.uniform(1, 5), "member-pause": self.rng.uniform(SESSION_MS / 1000 + 2,
                                                                                           SESSION_MS / 1000 + 10),
                   "member-isolate": self.rng.uniform(5, 20), "broker-kill": self.rng.uniform(5, 15),
                   "broker-pause": self.rng.uniform(4, 12), "rolling-restart": 0}.get(kind,
                                                                                     self.rng.uniform(5, 20))
            out.append({"at": round(t, 1), "kind": kind, "dur": round(dur, 1),
                        "dir": self.rng.choice(["in", "out", "both"]), "pick": self.rng.random()})
            t += self.rng.uniform(self.a.gap / 2, self.a.gap * 1.5)
        return out

    def pick(self, seq, r):
        return seq[min(int(r * len(seq)), len(seq) - 1)]

    def broker_busy(self):
        return any(f["kind"] in BROKER_KINDS for f in self.active)

    def begin(self, f):
        """Starts fault f; False when it cannot start now (skipped, counted)."""
        kind, ms = f["kind"], self.members
        if len(self.active) >= self.a.concurrent or (kind in BROKER_KINDS and self.broker_busy()):
            return False
        live = [m for m in ms if m.proc is not None and not m.faulted]
        if kind.startswith("member"):
            if not live:
                return False
            m = f["member"] = self.pick(live, f["pick"])
            m.faulted += 1
            if kind == "member-kill":
                m.killed_by_us = True
                m.proc.kill()
                m.restart_at = now() + f["dur"]
            elif kind == "member-pause":
                os.kill(m.proc.pid, signal.SIGSTOP)
            else:
                for b in range(3):
                    self.net.drop(m.name, self.brokers.ip(b), "both")
            f["target"] = m.name
        elif kind in ("broker-kill", "broker-pause"):
            b = f["broker"] = int(f["pick"] * 3) % 3
            if kind == "broker-kill":
                self.brokers.procs[b].kill()
                self.brokers.procs[b].wait()
            else:
                os.kill(self.brokers.procs[b].pid, signal.SIGSTOP)
            f["target"] = "b%d" % (b + 1)
        elif kind in ("broker-cut-members", "coordinator-cut", "txn-coordinator-cut", "broker-cut-brokers"):
            if kind == "coordinator-cut":
                g = self.pick(sorted({m.group for m in ms}), f["pick"])
                b = self.brokers.leader_of("__consumer_offsets", coordinator_partition(g))
                f["why"] = "coordinator of " + g
            elif kind == "txn-coordinator-cut":
                eos = [m for m in live if m.pipeline[0] == "eos"]
                if not eos:
                    return False
                m = self.pick(eos, f["pick"])
                tid = "dhatu-%s-%s-%d" % (m.group, os.uname().nodename, m.proc.pid)
                b = self.brokers.leader_of("__transaction_state", coordinator_partition(tid))
                f["why"] = "transaction coordinator of " + m.name
            else:
                b = int(f["pick"] * 3) % 3
            if b is None:
                return False
            f["broker"] = b
            peers = ([self.brokers.ip(x) for x in range(3) if x != b] if kind == "broker-cut-brokers"
                     else [self.net.nodes[m.name] for m in ms])
            f["peers"] = peers
            for ip in peers:
                self.net.drop(self.brokers.names[b], ip, f["dir"])
            f["target"] = "b%d %s" % (b + 1, f["dir"])
        elif kind == "rolling-restart":
            f["target"] = "b1..b3"
            f["step"] = 0
        f["started"] = now()
        self.active.append(f)
        log("fault %-20s %-24s for %.1fs%s" % (kind, f.get("target", ""), f["dur"],
                                                " (%s)" % f["why"] if "why" in f else ""))
        return True

    def end(self, f):
        kind = f["kind"]
        if kind.startswith("member"):
            m = f["member"]
            if kind == "member-pause" and m.proc is not None:
                os.kill(m.proc.pid, signal.SIGCONT)
            elif kind == "member-isolate":
                for b in range(3):
                    self.net.drop(m.name, self.brokers.ip(b), "both", add=False)
            m.faulted -= 1
            m.progress_at = now()
        elif kind == "broker-kill":
            self.brokers.start(f["broker"])
        elif kind == "broker-pause":
            os.kill(self.brokers.procs[f["broker"]].pid, signal.SIGCONT)
        elif "peers" in f:
            for ip in f["peers"]:
                self.net.drop(self.brokers.names[f["broker"]], ip, f["dir"], add=False)
        f["healed"] = now()
        self.active.remove(f)
        self.done.append(f)

    def step_rolling(self, f):
        """One broker at a time: SIGTERM, wait for its exit, start it, wait
        until it answers. Advanced from the main loop so the rest goes on."""
        b = f["step"] // 2
        if b == 3:
            f["dur"] = now() - f["started"]
            self.end(f)
            return
        p = self.brokers.procs[b]
        if f["step"] % 2 == 0:
            if "term" not in f:
                p.terminate()
                f["term"] = now()
            if p.poll() is not None or now() - f["term"] > 60:
                if p.poll() is None:
                    p.kill()
                    p.wait()
                self.brokers.start(b)
                f["step"] += 1
                f.pop("term")
        elif self.brokers.answers(b):
            f["step"] += 1

    # -- the run --------------------------------------------------------
    def articles(self, n, path):
        src = [json.loads(l) for l in open(os.path.join(ROOT, "data", "arxiv_sample_500.jsonl"))]
        with open(path, "w") as f:
            for i in range(n):
                a = dict(src[i % len(src)])
                a["id"] = "%s#%d" % (a["id"], i // len(src))
                f.write(json.dumps(a) + "\n")

    def run(self):
        a = self.a
        log("seed %d (replay: %s --build %s --work DIR --seed %d --duration %d --gap %s --concurrent %d%s)" % (
            a.seed, os.path.relpath(__file__, ROOT), a.build, a.seed, a.duration, a.gap, a.concurrent,
            " --kinds " + a.kinds if a.kinds else ""))
        sched = self.schedule()
        log("%d faults scheduled over %ds" % (len(sched), a.duration))
        lib = run(os.path.join(ROOT, "deploy", "local", "kafka.sh"), "lib", timeout=900).stdout.strip()
        names = ["b1", "b2", "b3", "client"]
        for mode, proto in self.pipelines:
            for k in range(a.members):
                names.append("%s-%s%d" % (mode, "848" if proto == "consumer" else "cls", k + 1))
        self.net.create(names)
        self.net.enter("client")
        self.brokers = Brokers(self.net, self.work, lib, a.heap)
        self.brokers.configure()
        for i in range(3):
            self.brokers.start(i)
        self.brokers.wait_answers(range(3), 240)
        log("brokers answer at %s" % self.brokers.bootstrap())

        self.brokers.create_topics([self.tin] + ["%s-%s-%s" % (k, m, p) for m, p in self.pipelines
                                                 for k in ("out", "dlq")])
        n = int(a.rate * (a.duration + 10))
        path = os.path.join(self.work, "articles.jsonl")
        self.articles(n, path)
        self.feeder = subprocess.Popen([self.producer, "-q", "-b", self.brokers.bootstrap(), "-t", self.tin,
                                        "--rate", str(a.rate), path],
                                       stdout=subprocess.DEVNULL,
                                       stderr=open(os.path.join(self.work, "producer.log"), "w"))
        names = iter(names[4:])
        for mode, proto in self.pipelines:
            suffix = "%s-%s" % (mode, proto)
            for k in range(a.members):
                m = Member(next(names), (mode, proto), "g-" + suffix, "out-" + suffix, "dlq-" + suffix)
                self.members.append(m)
                self.start_member(m)
        log("%d members in %d groups; %d articles at %d/s" % (len(self.members), len(self.pipelines), n, a.rate))

        t_start = now()
        skipped = collections.Counter()
        last_watch = 0.0
        while sched or self.active:
            t = now() - t_start
            # A fault whose slot or target is busy waits (later ones wait
            # behind it, so the order is the seed's); one that cannot start
            # within 30 s of the schedule's end is dropped, and counted.
            while sched and sched[0]["at"] <= t:
                if self.begin(sched[0]):
                    sched.pop(0)
                elif t > a.duration + 30:
                    skipped[sched.pop(0)["kind"]] += 1
                else:
                    break
            for f in list(self.active):
                if f["kind"] == "rolling-restart":
                    self.step_rolling(f)
                elif now() - f["started"] >= f["dur"] or (not sched and t > a.duration + 60):
                    self.end(f)
            self.reap()
            if now() - last_watch >= 3:
                last_watch = now()
                self.watch_progress()
                self.watch_offsets()
            time.sleep(0.5)
        log("faults over and healed: %d run, %d dropped (their slot or target stayed busy: %s)" % (
            len(self.done), sum(skipped.values()), dict(skipped) or "none"))

        # The stream ends; every group must reach lag 0.
        try:
            rc = self.feeder.wait(max(10, a.duration + 120 - (now() - t_start)))
        except subprocess.TimeoutExpired:
            raise Failed("the producer did not finish; see producer.log")
        if rc != 0:
            raise Failed("the producer exited %d; see %s/producer.log" % (rc, self.work))
        # From here nothing is faulted and nothing more arrives: the bound
        # on the way back to lag 0 counts from this moment.
        quiet = now()
        drained_at = {}
        end = quiet + a.lag_bound
        while len(drained_at) < len(self.pipelines) and now() < end:
            self.reap()
            self.watch_progress()
            self.watch_offsets()
            for g in sorted({m.group for m in self.members}):
                if g in drained_at:
                    continue
                try:
                    offs = self.group_offsets(g)
                except (Failed, subprocess.TimeoutExpired, OSError):
                    continue
                if all(o["committed"] == o["end"] for o in offs.values()):
                    drained_at[g] = now() - quiet
            time.sleep(1)
        for m in self.members:
            if m.proc is not None:
                m.proc.send_signal(signal.SIGTERM)
        for m in self.members:
            if m.proc is not None:
                try:
                    m.proc.wait(60)
                except subprocess.TimeoutExpired:
                    m.proc.kill()
                    self.unforced.append((m.name, "no exit within 60 s of SIGTERM", round(now(), 1)))
                if m.proc.returncode not in (0, None, -9):
                    self.unforced.append((m.name, "exit %d after SIGTERM" % m.proc.returncode, round(now(), 1)))
        return check(self, n, drained_at)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", required=True, help="the build folder (dhatu-consumer, -producer, -dump)")
    ap.add_argument("--seed", type=int, default=None, help="the schedule's seed (default: from the clock)")
    ap.add_argument("--duration", type=int, default=150, help="seconds of faults")
    ap.add_argument("--gap", type=float, default=8.0, help="mean seconds between fault starts")
    ap.add_argument("--concurrent", type=int, default=2, help="faults at a time, at most")
    ap.add_argument("--kinds", default="", help="comma list of fault kinds (default: all but rolling-restart)")
    ap.add_argument("--pipelines", default=",".join(ALL_PIPELINES),
                    help="comma list of MODE-PROTOCOL groups (default: all four)")
    ap.add_argument("--members", type=int, default=2, help="members per group")
    ap.add_argument("--rate", type=int, default=100, help="articles per second fed")
    ap.add_argument("--heap", default="384m", help="each broker's Java heap")
    ap.add_argument("--lag-bound", type=int, default=180, help="seconds after the end for lag 0")
    ap.add_argument("--stall-bound", type=int, default=120, help="seconds a member may go without progress")
    ap.add_argument("--work", required=True, help="folder for logs and state (kept)")
    ap.add_argument("--table", help="append the result table to this file")
    a = ap.parse_args()
    if set(a.pipelines.split(",")) - set(ALL_PIPELINES):
        ap.error("--pipelines: each of %s" % ", ".join(ALL_PIPELINES))
    if a.seed is None:
        a.seed = int(time.time() * 1000) % 1000000007
    if a.kinds:
        bad = set(a.kinds.split(",")) - set(KINDS)
        if bad:
            ap.error("unknown fault kinds: %s" % ", ".join(sorted(bad)))
    elif a.duration < 600:
        # A rolling restart of three brokers takes minutes on two cores: the
        # soak draws it, a short schedule leaves it to the rolling-restart
        # scenario.
        a.kinds = ",".join(k for k in KINDS if k != "rolling-restart")
    if os.geteuid() != 0 or not shutil.which("iptables"):
        print("netfault.py: needs root and iptables (scripts/deps.sh installs it); skipped", file=sys.stderr)
        return 77
    h = Harness(a)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        rows, problems = h.run()
    except Failed as e:
        log("FAIL (seed %d): %s; logs in %s" % (a.seed, e, h.work))
        return 1
    finally:
        if h.feeder is not None and h.feeder.poll() is None:
            h.feeder.kill()
        h.net.teardown()
    report(h, rows, problems)
    for p in problems:
        log("FAIL (seed %d): %s" % (a.seed, p))
    if problems:
        log("logs in %s" % h.work)
        return 1
    log("PASS (seed %d)" % a.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
