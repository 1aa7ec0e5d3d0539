#!/usr/bin/env bash
# consumer_cli.sh BUILD_DIR -- dhatu-consumer's start-up contract, no broker
# needed: unusable configuration fails fast with exit status 1 and a clear
# message; --print-config shows the effective configuration, secrets masked.
set -u
C="$1/consumer/dhatu-consumer"
fails=0
expect() {  # expect STATUS PATTERN -- ARGS...
  local want=$1 pat=$2; shift 3
  local out; out=$(timeout 60 "$C" "$@" 2>&1); local rc=$?
  if [ "$rc" != "$want" ] || ! grep -q -- "$pat" <<<"$out"; then
    echo "FAIL: dhatu-consumer $* -> status $rc (want $want), output:"; echo "$out" | tail -5; fails=$((fails+1))
  else
    echo "ok: $* -> $rc: $(grep -m1 -- "$pat" <<<"$out")"
  fi
}
conf=$(mktemp); trap 'rm -f "$conf"' EXIT
printf 'engine = {\n  backend = "cpu";\n  modle = "seed";\n};\n' >"$conf"
expect 1 ":3: unknown setting engine.modle" -- -c "$conf"
expect 1 "kafka.brokers" -- -b "no-port-here"
expect 1 "unknown setting" -- -s batch.size=3
expect 1 "No such configuration property" -- -X not.a.property=1 -b 127.0.0.1:1
# A backend that cannot start here (no 16th OpenCL platform anywhere, or not built).
expect 1 "opencl: .*platform 15 requested\|opencl' is not built" -- -B opencl -s engine.platform=15 -b 127.0.0.1:1
expect 1 "engine.device_type" -- -s engine.device_type=tpu
expect 1 "topics.input lists a twice" -- -t a,a
expect 1 "records and dead letters must not share a topic" -- -o same -d same
expect 1 "cannot reach the brokers" -- -B cpu -b 127.0.0.1:1 -X socket.connection.setup.timeout.ms=1000 -X topic.metadata.refresh.interval.ms=1000 -s kafka.startup_timeout_ms=3000
# The user's -X wins over our defaults, except where the delivery guarantee rests on ours.
expect 1 "refused: enable.auto.offset.store must stay false" -- -X enable.auto.offset.store=true -b 127.0.0.1:1
expect 1 "refused: isolation.level must stay read_committed" -- -X isolation.level=read_uncommitted -b 127.0.0.1:1
expect 1 "refused: enable.auto.commit must stay false" -- --exactly-once -X enable.auto.commit=true -b 127.0.0.1:1
expect 1 "refused: enable.idempotence must stay true" -- -X enable.idempotence=false -b 127.0.0.1:1
expect 1 "refused: acks must stay all" -- -X acks=1 -b 127.0.0.1:1
expect 1 "cannot reach the brokers 127.0.0.1:2" -- -B cpu -b 127.0.0.1:1 -X bootstrap.servers=127.0.0.1:2 -X socket.connection.setup.timeout.ms=1000 -X topic.metadata.refresh.interval.ms=1000 -s kafka.startup_timeout_ms=3000
expect 0 'sasl.password=\*\*\*\*\*\*\*\*' -- --print-config -X sasl.password=hunter2
out=$("$C" --print-config -X sasl.password=hunter2 2>&1)
if grep -q hunter2 <<<"$out"; then echo "FAIL: a secret was printed"; fails=$((fails+1)); fi
expect 0 "assignor = \"cooperative-sticky\"" -- --print-config
expect 0 "Exit status" -- --help
expect 0 "| \`batch.max_articles\` | \`1024\` |" -- --help-config
expect 0 "dhatu_dead_letters_total" -- --help-metrics
root=$(cd "$(dirname "$0")/../.." && pwd)
expect 0 'group_id = "dhatu"' -- -c "$root/deploy/local/dhatu-consumer.conf" --print-config
# The shipped example lists every setting (it is the reference users read).
if ! diff <("$C" --print-config | grep -E '^[a-z]|^  [a-z_]+ =' | sed 's/ = .*//') \
          <(grep -E '^[a-z]|^  [a-z_]+ =' "$root/deploy/local/dhatu-consumer.conf" | sed 's/ = .*//') >/dev/null; then
  echo "FAIL: deploy/local/dhatu-consumer.conf does not list every setting"; fails=$((fails+1))
else
  echo "ok: the example configuration lists every setting"
fi
[ $fails -eq 0 ] && echo "consumer_cli: all passed" || { echo "consumer_cli: $fails failed"; exit 1; }
