#!/usr/bin/env bash
# kafka.sh -- a single-node Apache Kafka (KRaft mode) on this machine, for the
# run command, the tests and anyone trying the project by hand.
#
#   kafka.sh start            fetch the jars (Maven, once), format the storage
#                             (once), start the broker, wait until it answers,
#                             create the default topics; the last line printed
#                             is the bootstrap address. Reuses a running broker.
#   kafka.sh stop             stop it cleanly (SIGTERM, then SIGKILL after 30 s)
#   kafka.sh status           exit 0 and print the address if it answers
#   kafka.sh topic NAME [PARTITIONS [--config k=v...]]   create a topic if it does not exist
#   kafka.sh delete-topic NAME        delete a topic
#   kafka.sh groups ARGS...   kafka-consumer-groups (e.g. --describe --group G)
#   kafka.sh wipe             stop, then delete the data directory
#
# Environment: KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (KAFKA_PORT+1),
# KAFKA_STATE_DIR (deploy/local/.kafka; one directory per broker, so tests
# can run their own broker beside a user's), KAFKA_HEAP (512m).
# Needs: java (17+), mvn (first start only), kcat (readiness probe).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
port=${KAFKA_PORT:-9092}
cport=${KAFKA_CONTROLLER_PORT:-$((port + 1))}
state=${KAFKA_STATE_DIR:-$here/.kafka}
lib=$here/target/lib
bootstrap=127.0.0.1:$port
pidfile=$state/broker.pid
log=$state/broker.log

die() { echo "kafka.sh: $*" >&2; exit 1; }

jars() {
  [ -f "$lib/.complete" ] && return 0
  command -v mvn >/dev/null || die "mvn not found (scripts/deps.sh installs it)"
  echo "kafka.sh: fetching the broker from Maven Central (once)" >&2
  (cd "$here" && mvn -q -B package) >&2 || die "mvn package failed"
  touch "$lib/.complete"
}

# The admin tools (storage format, topics, groups) log beside, not into, the broker's log.
kjava() { java -Xmx256m -cp "$lib/*" -Dlog4j2.configurationFile="$here/log4j2.xml" \
  -Dkafka.logs.dir="$state/tools" "$@"; }

# Answers: a metadata request succeeds (kcat exits non-zero when it cannot get one).
answers() { kcat -b "$bootstrap" -L -m 3 >/dev/null 2>&1; }

# The broker of this state directory (its command line names its config).
broker_pid() { pgrep -f "kafka.Kafka $state/server.properties" | head -n 1; }
running() {
  local pid; pid=$(broker_pid)
  [ -n "$pid" ] && echo "$pid" >"$pidfile"
  [ -n "$pid" ]
}

write_config() {
  mkdir -p "$state/data"
  cat >"$state/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$state/data
num.partitions=1
# Topics are created on purpose (kafka.sh topic), so a typo fails loudly.
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=8
# A single local broker: no reason to wait for more members before the
# first rebalance, and tests join and leave groups often.
group.initial.rebalance.delay.ms=0
log.retention.hours=24
EOF
}

start() {
  if running && answers; then echo "$bootstrap"; return 0; fi
  running && die "a broker (pid $(broker_pid)) is running but does not answer on $bootstrap; see $log"
  jars
  write_config
  if [ ! -f "$state/data/meta.properties" ]; then
    local id; id=$(kjava kafka.tools.StorageTool random-uuid)
    kjava kafka.tools.StorageTool format -t "$id" -c "$state/server.properties" --standalone >/dev/null ||
      die "formatting the storage failed"
  fi
  # setsid: the broker outlives this script and the terminal that started it.
  KAFKA_HEAP=${KAFKA_HEAP:-512m}
  setsid java -Xms"$KAFKA_HEAP" -Xmx"$KAFKA_HEAP" -XX:+UseG1GC -cp "$lib/*" \
    -Dlog4j2.configurationFile="$here/log4j2.xml" -Dkafka.logs.dir="$state" \
    kafka.Kafka "$state/server.properties" >>"$log" 2>&1 </dev/null &
  local i
  for i in $(seq 1 120); do
    answers && break
    running || die "the broker exited during start-up; see $log"
    sleep 0.5
  done
  answers || die "the broker did not answer on $bootstrap within 60 s; see $log"
  topic "${DHATU_INPUT_TOPIC:-articles}" 8
  topic "${DHATU_OUTPUT_TOPIC:-dhatu-records}" 8
  topic "${DHATU_DLQ_TOPIC:-dhatu-dlq}" 1
  echo "$bootstrap"
}

topic() {
  local name=$1 parts=${2:-1}
  shift; shift || true   # the rest: TopicCommand options, e.g. --config max.message.bytes=2000
  answers || die "no broker answers on $bootstrap (kafka.sh start)"
  local try out
  for try in 1 2 3; do
    out=$(kjava org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" --create \
      --if-not-exists --topic "$name" --partitions "$parts" --replication-factor 1 "$@" 2>&1) && return 0
    sleep 1
  done
  echo "$out" >&2
  die "creating topic $name failed"
}

stop() {
  running || { rm -f "$pidfile"; return 0; }
  local pid; pid=$(broker_pid)
  kill -TERM "$pid" 2>/dev/null || true
  local i
  for i in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "kafka.sh: broker did not stop in 30 s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

case "${1:-}" in
  start)  start ;;
  stop)   stop ;;
  status) if running && answers; then echo "$bootstrap"; else echo "kafka.sh: not running" >&2; exit 1; fi ;;
  topic)  shift; [ $# -ge 1 ] || die "usage: kafka.sh topic NAME [PARTITIONS [--config key=value...]]"; topic "$@" ;;
  delete-topic) shift; answers || die "no broker answers on $bootstrap"
          kjava org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" --delete --if-exists --topic "$1" >/dev/null ;;
  groups) shift; running || die "no broker running"
          kjava org.apache.kafka.tools.consumer.group.ConsumerGroupCommand --bootstrap-server "$bootstrap" "$@" ;;
  wipe)   stop; rm -rf "$state" ;;
  *)      sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
