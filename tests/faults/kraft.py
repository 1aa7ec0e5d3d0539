"""kraft.py -- the fault harness's Kafka: three KRaft brokers, each its own
controller too, each in its own namespace; where a group's or a
transaction's coordinator is."""
import base64
import json
import os
import subprocess
import time
import uuid

from util import Failed

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Member session timeout: short, so a paused member is taken for dead within
# the short schedule; a pause lasts longer than it.
SESSION_MS = 10000

class Brokers:
    def __init__(self, net, work, lib, heap):
        self.net, self.work, self.lib, self.heap = net, work, lib, heap
        self.names = ["b1", "b2", "b3"]
        self.procs = {}
        # A base64url id may begin with "-": it goes as --cluster-id=ID, or
        # kafka-storage would take it for an option (1 run in 64 failed).
        self.cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")

    def ip(self, i):
        return self.net.nodes[self.names[i]]

    def bootstrap(self):
        return ",".join("%s:9092" % self.ip(i) for i in range(3))

    def java(self, i, *argv):
        d = os.path.join(self.work, self.names[i])
        return ["java", "-Xms" + self.heap, "-Xmx" + self.heap, "-XX:+UseG1GC", "-cp", self.lib + "/*",
                "-Dlog4j2.configurationFile=" + os.path.join(ROOT, "deploy", "local", "log4j2.xml"),
                "-Dkafka.logs.dir=" + d, *argv]

    def configure(self):
        voters = ",".join("%d@%s:9093" % (i + 1, self.ip(i)) for i in range(3))
        fmts = []
        for i in range(3):
            d = os.path.join(self.work, self.names[i])
            os.makedirs(os.path.join(d, "data"), exist_ok=True)
            with open(os.path.join(d, "server.properties"), "w") as f:
                f.write("""process.roles=broker,controller
node.id=%d
controller.quorum.voters=%s
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://%s:9092,CONTROLLER://%s:9093
advertised.listeners=PLAINTEXT://%s:9092
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=%s/data
# The harness makes its topics by producing to them (no admin JVM per topic):
# eight partitions, three replicas, two in sync to acknowledge.
auto.create.topics.enable=true
num.partitions=8
default.replication.factor=3
min.insync.replicas=2
offsets.topic.replication.factor=3
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
transaction.state.log.num.partitions=8
# Timed-out transactions (a killed member's) aborted within 2 s, not 10.
transaction.abort.timed.out.transaction.cleanup.interval.ms=2000
share.coordinator.state.topic.replication.factor=3
share.coordinator.state.topic.min.isr=2
group.initial.rebalance.delay.ms=0
# KIP-848 members: the session as short as the classic members' (-X
# session.timeout.ms), so a paused member is fenced within the schedule.
group.consumer.min.session.timeout.ms=%d
group.consumer.session.timeout.ms=%d
group.consumer.min.heartbeat.interval.ms=1000
group.consumer.heartbeat.interval.ms=2000
unclean.leader.election.enable=false
""" % (i + 1, voters, self.ip(i), self.ip(i), self.ip(i), d, SESSION_MS, SESSION_MS))
            fmts.append(subprocess.Popen(self.java(i, "kafka.tools.StorageTool", "format",
                                                   "--cluster-id=" + self.cluster_id,
                                                   "-c", os.path.join(d, "server.properties")),
                                         stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "format.log"), "w")))
        for i, p in enumerate(fmts):
            if p.wait(120) != 0:
                raise Failed("formatting broker %d failed; see %s/format.log" % (i + 1,
                                                                                 os.path.join(self.work, self.names[i])))

    def start(self, i):
        d = os.path.join(self.work, self.names[i])
        out = open(os.path.join(d, "broker.log"), "a")
        self.procs[i] = subprocess.Popen(self.net.exec_argv(self.names[i], self.java(
            i, "kafka.Kafka", os.path.join(d, "server.properties"))), stdout=out, stderr=subprocess.STDOUT)

    def answers(self, i):
        r = subprocess.run(["kcat", "-b", "%s:9092" % self.ip(i), "-L", "-m", "3"], capture_output=True,
                           timeout=20)
        return r.returncode == 0

    def wait_answers(self, idx, timeout):
        end = time.monotonic() + timeout
        left = set(idx)
        while left:
            for i in sorted(left):
                if self.procs[i].poll() is not None:
                    raise Failed("broker %d exited (%d) during start-up; see %s/broker.log" % (
                        i + 1, self.procs[i].returncode, os.path.join(self.work, self.names[i])))
                if self.answers(i):
                    left.discard(i)
            if left and time.monotonic() > end:
                raise Failed("brokers %s did not answer within %ds" % (sorted(i + 1 for i in left), timeout))
            if left:
                time.sleep(1)

    def create_topics(self, names, timeout=60):
        """Topics made by asking for their metadata (auto.create.topics.enable:
        kcat's metadata request allows it), until all of them have leaders."""
        end = time.monotonic() + timeout
        for t in names:
            while self.leader_of(t, 7) is None:
                if time.monotonic() > end:
                    raise Failed("topic %s was not created within %ds" % (t, timeout))
                time.sleep(0.5)

    def leader_of(self, topic, partition):
        """The broker index (0-2) leading topic's partition, from metadata
        (None when unknown)."""
        r = subprocess.run(["kcat", "-b", self.bootstrap(), "-L", "-J", "-t", topic, "-m", "5"],
                           capture_output=True, text=True, timeout=20)
        if r.returncode != 0:
            return None
        try:
            md = json.loads(r.stdout)
            for t in md["topics"]:
                for p in t.get("partitions", []):
                    if p["partition"] == partition and p.get("leader", -1) > 0:
                        return p["leader"] - 1
        except (ValueError, KeyError):
            pass
        return None


def java_hash(s):
    """Java's String.hashCode(): over UTF-16 code units, 32-bit signed."""
    b = s.encode("utf-16-be")
    h = 0
    for i in range(0, len(b), 2):
        h = (31 * h + (b[i] << 8 | b[i + 1])) & 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h


def coordinator_partition(key, nparts=8):
    """Kafka's partition of a group or transactional id in its internal
    topic: Utils.abs(key.hashCode()) % partitions."""
    h = java_hash(key)
    return (0 if h == -(1 << 31) else abs(h)) % nparts
