#!/usr/bin/env bash
# kafka.sh -- Apache Kafka (KRaft) on this machine: one broker (the default)
# or a replicated cluster of three, plaintext or secured, for the run
# command, the tests and anyone trying the project by hand.
#
#   kafka.sh start            fetch the jars (Maven, once), make the certificates
#                             and users (secured, once), format the storage (once),
#                             start the brokers, wait until they answer, create the
#                             default topics and grant their ACLs; the last line
#                             printed is the bootstrap list. Reuses running brokers.
#   kafka.sh stop             stop them cleanly (SIGTERM, then SIGKILL after 30 s)
#   kafka.sh status           exit 0 and print the bootstrap list if all answer
#   kafka.sh topic NAME [PARTITIONS [--config k=v...]]   create a topic if it does not exist
#   kafka.sh delete-topic NAME        delete a topic
#   kafka.sh grant IN OUT DLQ GROUP   ACLs of one pipeline (secured): the consumer may
#                             read IN, join GROUP, write OUT and DLQ and use the
#                             transactional ids "dhatu-GROUP-*"; the producer may write IN
#   kafka.sh deny-write TOPIC         removes the consumer's write ACL on TOPIC (tests)
#   kafka.sh groups ARGS...   kafka-consumer-groups (e.g. --describe --group G)
#   kafka.sh quota CLIENT_ID BYTES|none   a producer byte-rate quota on a client id
#                             (tests: a slow output cluster), or none to remove it
#   kafka.sh broker N start|stop|kill|pid   one broker of the cluster (tests)
#   kafka.sh leader TOPIC     the broker id that leads most partitions of TOPIC
#   kafka.sh wipe             stop, then delete the state directory
#   kafka.sh lib              fetch the jars of KAFKA_VERSION (once) and print their
#                             folder (tests/faults runs its brokers from it)
#
# Environment: KAFKA_BROKERS (1 or 3), KAFKA_SECURITY (plaintext, ssl: mutual
# TLS, sasl_ssl: SASL/PLAIN, SASL/SCRAM-SHA-512 and SASL/OAUTHBEARER over TLS,
# the tokens from a local OpenID Connect endpoint, oidc.py, on port
# KAFKA_PORT+3*KAFKA_BROKERS, clients/NAME.oauth.properties), KAFKA_PORT
# (9092; broker i listens on KAFKA_PORT+3(i-1), its controller on the next
# port, its inter-broker listener on the one after), KAFKA_STATE_DIR
# (deploy/local/.kafka; tests use their own), KAFKA_HEAP (512m, per broker).
# Secured, the state directory holds tls/ (a throwaway CA, one certificate per
# broker and per principal) and clients/NAME.properties, the librdkafka
# properties of each principal (admin, dhatu-consumer, dhatu-producer) for
# the programs' -F option; nothing secret leaves the state directory.
# Needs: java (17+), mvn (first start only), kcat (readiness probe), openssl.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
port=${KAFKA_PORT:-9092}
nbrokers=${KAFKA_BROKERS:-1}
security=${KAFKA_SECURITY:-plaintext}
state=${KAFKA_STATE_DIR:-$here/.kafka}
# The broker's release, from Maven Central: the default is the newest one the
# suite passes on (bench/results.md has the compatibility table: 4.4.0 since
# 2026-12-07, 4.1.1 before); 3.9.x and 4.x releases start the same way. Each
# version has its jars of its own.
version=${KAFKA_VERSION:-4.4.0}
lib=$here/target/kafka-$version/lib

die() { echo "kafka.sh: $*" >&2; exit 1; }
case "$nbrokers" in 1|3) ;; *) die "KAFKA_BROKERS must be 1 or 3" ;; esac
case "$security" in plaintext|ssl|sasl_ssl) ;; *) die "KAFKA_SECURITY must be plaintext, ssl or sasl_ssl" ;; esac
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "KAFKA_VERSION must be a release such as 4.4.0"
major=${version%%.*}
# The settings a state directory was made with are its own: a later call
# with other ones would otherwise talk to the cluster in the wrong way.
if [ -f "$state/cluster.env" ]; then
  # shellcheck disable=SC1091
  . "$state/cluster.env"
  case "${1:-}" in
    stop|wipe)
      # Stopping needs the settings it was made with, whatever the caller's
      # (after the default release changed, wipe must still work).
      nbrokers=$made_brokers security=$made_security port=$made_port version=${made_version:-4.1.1}
      lib=$here/target/kafka-$version/lib major=${version%%.*} ;;
    *)
      [ "$nbrokers" = "$made_brokers" ] && [ "$security" = "$made_security" ] && [ "$port" = "$made_port" ] &&
        [ "$version" = "${made_version:-4.1.1}" ] ||
        die "$state was made with KAFKA_BROKERS=$made_brokers KAFKA_SECURITY=$made_security KAFKA_PORT=$made_port KAFKA_VERSION=${made_version:-4.1.1} (kafka.sh wipe to start over)" ;;
  esac
fi

cport() { echo $((port + 3 * ($1 - 1) + 1)); }
bport() { echo $((port + 3 * ($1 - 1))); }
iport() { echo $((port + 3 * ($1 - 1) + 2)); }
bdir() { if [ "$nbrokers" = 1 ]; then echo "$state"; else echo "$state/b$1"; fi; }
bootstrap=$(for i in $(seq 1 "$nbrokers"); do printf '%s127.0.0.1:%s' "$([ "$i" = 1 ] || echo ,)" "$(bport "$i")"; done)
rf=$([ "$nbrokers" = 3 ] && echo 3 || echo 1)
minisr=$([ "$nbrokers" = 3 ] && echo 2 || echo 1)
proto=$(echo "$security" | tr a-z A-Z)
# sasl_ssl: the local OpenID Connect token endpoint (oidc.py) for SASL/OAUTHBEARER.
idp_port=$((port + 3 * nbrokers))
idp="$state/oidc"

jars() {
  [ -f "$lib/.complete" ] && return 0
  command -v mvn >/dev/null || die "mvn not found (scripts/deps.sh installs it)"
  # Two clusters started at once (the tests' fixtures) fetch into one place.
  mkdir -p "$here/target"
  exec 9>"$here/target/.fetch.lock"
  flock 9
  if [ ! -f "$lib/.complete" ]; then
    echo "kafka.sh: fetching Kafka $version from Maven Central (once)" >&2
    (cd "$here" && mvn -q -B package -Dkafka.version="$version" -Dkafka.lib="$lib") >&2 ||
      die "mvn package failed (is Kafka $version on Maven Central?)"
    touch "$lib/.complete"
  fi
  flock -u 9
}

# The admin tools (storage format, topics, groups, ACLs) log beside, not into, the broker's log.
# They are short-lived JVMs whose start is most of their time (2 s for an ACL over SASL/TLS on
# two cores, about 5 s when the tests load the machine), so: the C1 compiler only and the
# serial collector, as for any command-line JVM, and a class-data archive per tool (AppCDS,
# written by its first run beside the jars, then mapped by every run): 2.1 s -> 0.8 s for
# kafka-acls. JVM warnings (a stale archive, say) go to stderr: stdout is the tool's answer.
kjava() {
  local archive="$lib/../cds-$1-$(java_id).jsa" cds
  if [ -f "$archive" ]; then
    cds=(-XX:SharedArchiveFile="$archive")
  else
    cds=(-XX:ArchiveClassesAtExit="$archive.$$.$BASHPID")
  fi
  local rc=0
  java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:CICompilerCount=1 "${cds[@]}" \
    -Xlog:disable -Xlog:all=warning,cds*=off:stderr -cp "$lib/*" -Dlog4j2.configurationFile="$here/log4j2.xml" \
    -Dkafka.logs.dir="$state/tools" "$@" || rc=$?
  # Whoever finishes first publishes its archive (a rename: readers see a whole file or none).
  if [ ! -f "$archive" ] && [ -f "$archive.$$.$BASHPID" ]; then mv -f "$archive.$$.$BASHPID" "$archive"; fi
  rm -f "$archive.$$.$BASHPID"
  return "$rc"
}
# The archive is only valid for the JVM that wrote it.
java_id() { readlink -f "$(command -v java)" | md5sum | cut -c1-8; }
# kafka-configs' class: kafka.admin.ConfigCommand until Kafka 4.1, then in
# the tools module (4.4.0 has only org.apache.kafka.tools.ConfigCommand). A
# jar's central directory names its classes uncompressed: grep finds them.
config_command() {
  if grep -qa "org/apache/kafka/tools/ConfigCommand.class" "$lib"/kafka-tools-*.jar 2>/dev/null; then
    echo org.apache.kafka.tools.ConfigCommand
  else
    echo kafka.admin.ConfigCommand
  fi
}
# Admin client options: secured, the admin principal's Java properties.
admin_opts() { [ "$security" = plaintext ] || echo "--command-config $state/clients/admin.java.properties"; }

# Answers: a metadata request to broker i succeeds (kcat exits non-zero when
# it cannot get one); secured, as the admin principal.
kcat_sec() { [ "$security" = plaintext ] || echo "-F $state/clients/admin.properties"; }
answers_one() {
  # shellcheck disable=SC2046
  kcat $(kcat_sec) -b "127.0.0.1:$(bport "$1")" -L -m 3 >/dev/null 2>&1
}
answers() { local i; for i in $(seq 1 "$nbrokers"); do answers_one "$i" || return 1; done; }

# The broker of a state directory (its command line names its config).
broker_pid() { pgrep -f "kafka.Kafka $(bdir "$1")/server.properties" | head -n 1 || true; }
running_one() { [ -n "$(broker_pid "$1")" ]; }
running_any() { local i; for i in $(seq 1 "$nbrokers"); do running_one "$i" && return 0; done; return 1; }

secret() { # a password per principal, made once
  local f="$state/tls/$1.password"
  [ -f "$f" ] || (umask 077; openssl rand -hex 16 >"$f")
  cat "$f"
}

# A throwaway CA; a certificate per broker (SAN localhost and 127.0.0.1:
# librdkafka verifies host names) and per client principal (mutual TLS).
# Kafka reads PEM key stores directly, so no keytool step is needed.
make_tls() {
  local t="$state/tls" n
  [ -f "$t/.complete" ] && return 0
  command -v openssl >/dev/null || die "openssl not found (scripts/deps.sh installs it)"
  mkdir -p "$t" && chmod 700 "$t"
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=dhatu-local-ca" \
    -keyout "$t/ca.key" -out "$t/ca.pem" 2>/dev/null || die "openssl: the CA"
  for n in broker admin dhatu-consumer dhatu-producer; do
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$n" -keyout "$t/$n.key.tmp" -out "$t/$n.csr" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' >"$t/$n.ext"
    openssl x509 -req -in "$t/$n.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" -CAcreateserial -days 30 \
      -extfile "$t/$n.ext" -out "$t/$n.pem" 2>/dev/null || die "openssl: the certificate of $n"
    # PKCS#8, unencrypted: what both Kafka's PEM store and librdkafka read.
    openssl pkcs8 -topk8 -nocrypt -in "$t/$n.key.tmp" -out "$t/$n.key"
    cat "$t/$n.key" "$t/$n.pem" >"$t/$n.keystore.pem"
    rm -f "$t/$n.key.tmp" "$t/$n.csr" "$t/$n.ext"
    secret "$n" >/dev/null
  done
  touch "$t/.complete"
}

# sasl_ssl: a signing key and its key set for the brokers (oidc.py init), and
# each principal's OAuth client secret for the token endpoint.
make_oidc() {
  [ -f "$idp/jwks.json" ] || python3 "$here/oidc.py" init "$idp" || die "oidc.py init failed"
  local n
  (umask 077; for n in admin dhatu-consumer dhatu-producer; do echo "$n $(secret "$n-oauth")"; done >"$idp/clients")
}

idp_pid() { pgrep -f "oidc.py serve $idp " | head -n 1 || true; }
start_idp() {
  [ -n "$(idp_pid)" ] && return 0
  setsid python3 "$here/oidc.py" serve "$idp" "$idp_port" >>"$idp/server.log" 2>&1 </dev/null &
  local k pid=$!
  for k in $(seq 1 40); do
    kill -0 "$pid" 2>/dev/null || die "the token endpoint (oidc.py) exited; see $idp/server.log"
    listening "$idp_port" && return 0
    sleep 0.25
  done
  die "the token endpoint (oidc.py) did not listen on 127.0.0.1:$idp_port; see $idp/server.log"
}
stop_idp() { local pid; pid=$(idp_pid); [ -z "$pid" ] || kill -TERM "$pid" 2>/dev/null || true; }

# clients/NAME.properties (librdkafka, for -F) and NAME.java.properties (the admin tools).
write_clients() {
  local c="$state/clients" t="$state/tls" n pw
  mkdir -p "$c" && chmod 700 "$c"
  for n in admin dhatu-consumer dhatu-producer; do
    pw=$(secret "$n")
    {
      echo "# $n on the local cluster ($security), made by deploy/local/kafka.sh"
      echo "security.protocol=$security"
      echo "ssl.ca.location=$t/ca.pem"
      if [ "$security" = ssl ]; then
        echo "ssl.certificate.location=$t/$n.pem"
        echo "ssl.key.location=$t/$n.key"
      else
        # The admin uses PLAIN: the tests' kcat probe may be an older
        # librdkafka, whose SCRAM Kafka 4 rejects (librdkafka < 2.6.1).
        [ "$n" = admin ] && echo "sasl.mechanism=PLAIN" || echo "sasl.mechanism=SCRAM-SHA-512"
        echo "sasl.username=$n"
        echo "sasl.password=$pw"
      fi
    } >"$c/$n.properties"
    # The same principal through SASL/OAUTHBEARER: librdkafka fetches a
    # token from the local OpenID Connect endpoint (client credentials).
    [ "$security" = sasl_ssl ] && {
      echo "# $n on the local cluster (sasl_ssl, OAUTHBEARER/OIDC), made by deploy/local/kafka.sh"
      echo "security.protocol=sasl_ssl"
      echo "ssl.ca.location=$t/ca.pem"
      echo "sasl.mechanism=OAUTHBEARER"
      echo "sasl.oauthbearer.method=oidc"
      echo "sasl.oauthbearer.client.id=$n"
      echo "sasl.oauthbearer.client.secret=$(secret "$n-oauth")"
      echo "sasl.oauthbearer.token.endpoint.url=http://127.0.0.1:$idp_port/token"
      echo "sasl.oauthbearer.scope=kafka"
    } >"$c/$n.oauth.properties"
    {
      echo "security.protocol=$proto"
      echo "ssl.truststore.type=PEM"
      echo "ssl.truststore.location=$t/ca.pem"
      if [ "$security" = ssl ]; then
        echo "ssl.keystore.type=PEM"
        echo "ssl.keystore.location=$t/$n.keystore.pem"
      else
        echo "sasl.mechanism=PLAIN"
        echo "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"$n\" password=\"$pw\";"
      fi
    } >"$c/$n.java.properties"
  done
  chmod 600 "$c"/*
}

write_config() {
  local i=$1 d; d=$(bdir "$i")
  mkdir -p "$d/data"
  local voters="" k
  for k in $(seq 1 "$nbrokers"); do voters="$voters${voters:+,}$k@127.0.0.1:$(cport "$k")"; done
  {
    echo "process.roles=broker,controller"
    echo "node.id=$i"
    if [ "$nbrokers" = 1 ]; then
      echo "controller.quorum.bootstrap.servers=127.0.0.1:$(cport 1)"
    else
      echo "controller.quorum.voters=$voters"
    fi
    echo "controller.listener.names=CONTROLLER"
    echo "log.dirs=$d/data"
    if [ "$security" = plaintext ]; then
      echo "listeners=PLAINTEXT://127.0.0.1:$(bport "$i"),CONTROLLER://127.0.0.1:$(cport "$i")"
      echo "advertised.listeners=PLAINTEXT://127.0.0.1:$(bport "$i")"
      echo "inter.broker.listener.name=PLAINTEXT"
      echo "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
    else
      local t="$state/tls"
      # Clients on EXTERNAL; brokers and controllers talk over mutual TLS
      # as User:broker, the one super user besides the admin.
      echo "listeners=EXTERNAL://127.0.0.1:$(bport "$i"),INTERNAL://127.0.0.1:$(iport "$i"),CONTROLLER://127.0.0.1:$(cport "$i")"
      echo "advertised.listeners=EXTERNAL://127.0.0.1:$(bport "$i"),INTERNAL://127.0.0.1:$(iport "$i")"
      echo "inter.broker.listener.name=INTERNAL"
      echo "listener.security.protocol.map=EXTERNAL:$proto,INTERNAL:SSL,CONTROLLER:SSL"
      echo "ssl.keystore.type=PEM"
      echo "ssl.keystore.location=$t/broker.keystore.pem"
      echo "ssl.truststore.type=PEM"
      echo "ssl.truststore.location=$t/ca.pem"
      echo "ssl.client.auth=required"
      echo "ssl.principal.mapping.rules=RULE:^CN=([^,]+)\$/\$1/,DEFAULT"
      if [ "$security" = sasl_ssl ]; then
        echo "listener.name.external.ssl.client.auth=none"
        echo "listener.name.external.sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-512,OAUTHBEARER"
        # OAUTHBEARER: tokens of the local OpenID Connect endpoint, verified
        # against its key set (a file; Kafka 4 reads only allowed files: the
        # broker's -Dorg.apache.kafka.sasl.oauthbearer.allowed.files).
        echo "listener.name.external.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;"
        echo "listener.name.external.oauthbearer.sasl.server.callback.handler.class=org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler"
        echo "sasl.oauthbearer.jwks.endpoint.url=file://$idp/jwks.json"
        echo "sasl.oauthbearer.expected.audience=dhatu-stream"
        echo "sasl.oauthbearer.expected.issuer=dhatu-local-idp"
        local users="" n
        for n in admin dhatu-consumer dhatu-producer; do users="$users user_$n=\"$(secret "$n")\""; done
        echo "listener.name.external.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required$users;"
        echo "listener.name.external.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;"
      fi
      echo "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer"
      echo "super.users=User:broker;User:admin"
      echo "allow.everyone.if.no.acl.found=false"
    fi
    cat <<EOF
num.partitions=1
# Topics are created on purpose (kafka.sh topic), so a typo fails loudly.
auto.create.topics.enable=false
default.replication.factor=$rf
min.insync.replicas=$minisr
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$minisr
transaction.state.log.num.partitions=8
EOF
    # Share groups (KIP-932, Kafka 4.1+): their state topic follows the
    # cluster size too, or it is never created on one broker (replication
    # factor 3) and share consumers silently receive nothing.
    [ "$major" -lt 4 ] || cat <<EOF
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$minisr
EOF
    cat <<EOF
# Local: no reason to wait for more members before the first rebalance,
# and tests join and leave groups often.
group.initial.rebalance.delay.ms=0
log.retention.hours=24
EOF
  } >"$d/server.properties"
}

format() {
  local i=$1 d; d=$(bdir "$i")
  [ -f "$d/data/meta.properties" ] && return 0
  local args=(-t "$(cat "$state/cluster.id")" -c "$d/server.properties")
  [ "$nbrokers" = 1 ] && args+=(--standalone)
  if [ "$security" = sasl_ssl ]; then
    local n
    for n in admin dhatu-consumer dhatu-producer; do
      args+=(--add-scram "SCRAM-SHA-512=[name=$n,password=$(secret "$n")]")
    done
  fi
  kjava kafka.tools.StorageTool format "${args[@]}" >/dev/null || die "formatting the storage of broker $i failed"
}

start_one() {
  local i=$1 d; d=$(bdir "$i")
  running_one "$i" && return 0
  # setsid: the broker outlives this script and the terminal that started it.
  setsid java -Xms"${KAFKA_HEAP:-512m}" -Xmx"${KAFKA_HEAP:-512m}" -XX:+UseG1GC -cp "$lib/*" \
    -Dlog4j2.configurationFile="$here/log4j2.xml" -Dkafka.logs.dir="$d" \
    -Dorg.apache.kafka.sasl.oauthbearer.allowed.files="$idp/jwks.json" \
    -Dorg.apache.kafka.sasl.oauthbearer.allowed.urls="file://$idp/jwks.json" \
    kafka.Kafka "$d/server.properties" >>"$d/broker.log" 2>&1 </dev/null &
}

wait_answers() {
  local i k
  for k in $(seq 1 240); do
    answers && return 0
    for i in $(seq 1 "$nbrokers"); do
      running_one "$i" || die "broker $i exited during start-up; see $(bdir "$i")/broker.log"
    done
    sleep 0.5
  done
  die "the brokers did not answer on $bootstrap within 120 s; see $(bdir 1)/broker.log"
}

# Every port this cluster will listen on must be free: a port someone else
# holds (another suite's broker, a token endpoint left running) would
# otherwise be answered by the wrong server, and fail later with a
# misleading error (a refused login, a missing topic).
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
ports_free() {
  local i p
  for i in $(seq 1 "$nbrokers"); do
    for p in "$(bport "$i")" "$(cport "$i")" "$(iport "$i")"; do
      ! listening "$p" || die "port $p is taken by another program (ss -ltnp shows which); set KAFKA_PORT to another range"
    done
  done
  if [ "$security" = sasl_ssl ] && [ -z "$(idp_pid)" ] && listening "$idp_port"; then
    die "port $idp_port (the token endpoint) is taken by another program (ss -ltnp shows which)"
  fi
}

start() {
  if running_any && answers; then
    if [ "$security" = sasl_ssl ] && [ -f "$idp/clients" ]; then start_idp; fi
    echo "$bootstrap"; return 0
  fi
  running_any || ports_free
  jars
  mkdir -p "$state"
  [ -f "$state/cluster.env" ] ||
    printf 'made_brokers=%s\nmade_security=%s\nmade_port=%s\nmade_version=%s\n' "$nbrokers" "$security" "$port" \
      "$version" >"$state/cluster.env"
  [ -f "$state/cluster.id" ] || kjava kafka.tools.StorageTool random-uuid >"$state/cluster.id"
  if [ "$security" != plaintext ]; then make_tls; [ "$security" != sasl_ssl ] || make_oidc; write_clients; fi
  [ "$security" != sasl_ssl ] || start_idp
  local i
  # Each step below is a JVM tool that spends seconds starting: the
  # brokers' storage is formatted, and the topics created, side by side.
  for i in $(seq 1 "$nbrokers"); do write_config "$i"; done
  local jobs=()
  for i in $(seq 1 "$nbrokers"); do format "$i" & jobs+=($!); done
  wait_all "formatting the brokers' storage" "${jobs[@]}"
  for i in $(seq 1 "$nbrokers"); do start_one "$i"; done
  wait_answers
  jobs=()
  topic "${DHATU_INPUT_TOPIC:-articles}" 8 & jobs+=($!)
  topic "${DHATU_OUTPUT_TOPIC:-dhatu-records}" 8 & jobs+=($!)
  topic "${DHATU_DLQ_TOPIC:-dhatu-dlq}" 1 & jobs+=($!)
  wait_all "creating the topics" "${jobs[@]}"
  [ "$security" = plaintext ] || grant "${DHATU_INPUT_TOPIC:-articles}" "${DHATU_OUTPUT_TOPIC:-dhatu-records}" \
    "${DHATU_DLQ_TOPIC:-dhatu-dlq}" "${DHATU_GROUP:-dhatu}"
  echo "$bootstrap"
}

topic() {
  local name=$1 parts=${2:-1}
  shift; shift || true   # the rest: TopicCommand options, e.g. --config max.message.bytes=2000
  local try out
  for try in 1 2 3; do
    # shellcheck disable=SC2046
    out=$(kjava org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" $(admin_opts) --create \
      --if-not-exists --topic "$name" --partitions "$parts" --replication-factor "$rf" "$@" 2>&1) && return 0
    sleep 1
  done
  echo "$out" >&2
  die "creating topic $name failed"
}

acl() { # ACL ARGS...: kafka-acls as the admin
  # shellcheck disable=SC2046
  kjava org.apache.kafka.tools.AclCommand --bootstrap-server "$bootstrap" $(admin_opts) "$@" >/dev/null ||
    die "kafka-acls $* failed"
}

grant() {
  [ "$security" != plaintext ] || die "grant: the cluster is plaintext (no authorizer)"
  local in=$1 out=$2 dlq=$3 group=$4 c=User:dhatu-consumer
  # Side by side: five JVM tools, independent of each other.
  local jobs=()
  acl --add --allow-principal "$c" --operation Read --operation Describe --topic "$in" & jobs+=($!)
  acl --add --allow-principal "$c" --operation Read --group "$group" & jobs+=($!)
  # Describe-configs: the consumer reads max.message.bytes of what it writes.
  acl --add --allow-principal "$c" --operation Write --operation Describe --operation DescribeConfigs \
    --topic "$out" --topic "$dlq" & jobs+=($!)
  acl --add --allow-principal "$c" --operation Write --operation Describe \
    --transactional-id "dhatu-$group-" --resource-pattern-type prefixed & jobs+=($!)
  acl --add --allow-principal User:dhatu-producer --operation Write --operation Describe --topic "$in" & jobs+=($!)
  wait_all "granting the ACLs" "${jobs[@]}"
}

# wait_all WHAT PID...: waits for those background jobs (not the brokers or
# the token endpoint, which outlive this script); dies naming WHAT if any
# failed (each has said why on stderr).
wait_all() {
  local what=$1 pid bad=0
  shift
  for pid in "$@"; do wait "$pid" || bad=1; done
  [ "$bad" = 0 ] || die "$what failed"
}

stop_one() {
  local i=$1 pid; pid=$(broker_pid "$i")
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  local k
  for k in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "kafka.sh: broker $i did not stop in 30 s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
}

# All at once: the last of three controllers stopped alone would wait for a
# quorum that is gone, and be killed after 30 s.
stop() {
  local i pids="" pid k
  stop_idp
  for i in $(seq 1 "$nbrokers"); do pid=$(broker_pid "$i"); [ -z "$pid" ] || pids="$pids $pid"; done
  [ -n "$pids" ] || return 0
  # shellcheck disable=SC2086
  kill -TERM $pids 2>/dev/null || true
  for k in $(seq 1 60); do
    local alive=""
    for pid in $pids; do kill -0 "$pid" 2>/dev/null && alive="$alive $pid"; done
    [ -n "$alive" ] || return 0
    sleep 0.5
  done
  echo "kafka.sh: brokers$alive did not stop in 30 s; killing them" >&2
  # shellcheck disable=SC2086
  kill -KILL $alive 2>/dev/null || true
}

leader() { # the broker id leading most partitions of a topic
  # shellcheck disable=SC2046
  kjava org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" $(admin_opts) --describe --topic "$1" |
    sed -n 's/.*Leader: \([0-9-]*\).*/\1/p' | sort | uniq -c | sort -rn | awk 'NR==1 {print $2}'
}

case "${1:-}" in
  start)  start ;;
  stop)   stop ;;
  status) if running_any && answers; then echo "$bootstrap"; else echo "kafka.sh: not running" >&2; exit 1; fi ;;
  topic)  shift; [ $# -ge 1 ] || die "usage: kafka.sh topic NAME [PARTITIONS [--config key=value...]]"; topic "$@" ;;
  delete-topic) shift
          # shellcheck disable=SC2046
          kjava org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" $(admin_opts) --delete --if-exists --topic "$1" >/dev/null ;;
  grant)  shift; [ $# -eq 4 ] || die "usage: kafka.sh grant INPUT OUTPUT DLQ GROUP"; grant "$@" ;;
  deny-write) shift; [ $# -eq 1 ] || die "usage: kafka.sh deny-write TOPIC"
          acl --remove --force --allow-principal User:dhatu-consumer --operation Write --topic "$1" ;;
  quota)  shift; [ $# -eq 2 ] || die "usage: kafka.sh quota CLIENT_ID BYTES|none"
          if [ "$2" = none ]; then op=(--delete-config producer_byte_rate); else op=(--add-config "producer_byte_rate=$2"); fi
          # shellcheck disable=SC2046
          kjava "$(config_command)" --bootstrap-server "$bootstrap" $(admin_opts) --alter --entity-type clients \
            --entity-name "$1" "${op[@]}" >/dev/null ;;
  groups) shift; running_any || die "no broker running"
          # shellcheck disable=SC2046
          kjava org.apache.kafka.tools.consumer.group.ConsumerGroupCommand --bootstrap-server "$bootstrap" $(admin_opts) "$@" ;;
  broker) [ $# -eq 3 ] && [ "$2" -ge 1 ] && [ "$2" -le "$nbrokers" ] || die "usage: kafka.sh broker N start|stop|kill|pid"
          case "$3" in
            start) start_one "$2"; for k in $(seq 1 240); do answers_one "$2" && break; sleep 0.5; done
                   answers_one "$2" || die "broker $2 did not answer within 120 s" ;;
            stop)  stop_one "$2" ;;
            kill)  pid=$(broker_pid "$2"); [ -z "$pid" ] || kill -KILL "$pid" ;;
            pid)   broker_pid "$2" ;;
            *)     die "usage: kafka.sh broker N start|stop|kill|pid" ;;
          esac ;;
  leader) shift; [ $# -eq 1 ] || die "usage: kafka.sh leader TOPIC"; leader "$1" ;;
  wipe)   stop; rm -rf "$state" ;;
  lib)    jars; echo "$lib" ;;
  *)      sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
