#!/usr/bin/env bash
# producer_cli.sh BUILD_DIR -- dhatu-producer's configuration rules, no
# broker needed: the user's -X wins over the defaults (bootstrap.servers
# here), the properties that guarantee delivery cannot be overridden, and
# errors say which property and why.
set -u
P="$1/producer/dhatu-producer"
fails=0 passes=0
expect() {  # expect STATUS PATTERN -- ARGS...
  local want=$1 pat=$2; shift 3
  local out; out=$(echo '{"id":"a","text":"b"}' | timeout 60 "$P" -q "$@" 2>&1); local rc=$?
  if [ "$rc" != "$want" ] || ! grep -q -- "$pat" <<<"$out"; then
    echo "FAIL: dhatu-producer $* -> status $rc (want $want), output:"; echo "$out" | tail -5; fails=$((fails+1))
  else
    echo "ok: $* -> $rc: $(grep -m1 -- "$pat" <<<"$out")"; passes=$((passes+1))
  fi
}
fast=(-X socket.connection.setup.timeout.ms=1000 -X topic.metadata.refresh.interval.ms=1000 --startup-timeout 3000)
expect 2 "refused: acks must stay all" -- -X acks=1
expect 2 "refused: enable.idempotence must stay true" -- -X enable.idempotence=false
expect 2 "No such configuration property" -- -X no.such.property=1
expect 2 "startup-timeout: milliseconds" -- --startup-timeout 5s
# The same value as the guarded default is accepted; -X bootstrap.servers wins over the default.
expect 2 "cannot reach the brokers 127.0.0.1:1" -- -X acks=all -X bootstrap.servers=127.0.0.1:1 "${fast[@]}"
# ... and over -b too (applied after it, as in kcat).
expect 2 "cannot reach the brokers 127.0.0.1:2" -- -b 127.0.0.1:1 -X bootstrap.servers=127.0.0.1:2 "${fast[@]}"
echo "producer_cli: $passes passed, $fails failed"
[ $fails -eq 0 ]
