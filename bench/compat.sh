#!/usr/bin/env bash
# compat.sh VERSION... -- the broker compatibility table: ctest's scenarios
# on real brokers of each Kafka release (deploy/local/kafka.sh KAFKA_VERSION,
# jars from Maven Central, fetched once), one run each, in $B (a configured
# build; default build). Which scenarios: $SETS, ctest regular expressions
# over the test names (default: the two single-broker chains, kafka_ and
# kafka_b_, 29 scenarios with the registry ones on 2026-12-07; add '^kafka3_'
# for the secured three-broker cluster and its broker failures, about 10
# minutes more). Prints one markdown row per
# version (passed, failed, the failed names, wall time) and keeps ctest's
# output in $B/compat-VERSION.log. Exits non-zero when a scenario failed.
#
# The fixtures' ports and state directories are ctest's own (tests/CMakeLists
# .txt), so nothing else of the suite may run meanwhile. The share-group
# scenario pins its broker to 4.4.0 (KIP-932 needs 4.2), so it is not here.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
# shellcheck source=bench/lib.sh
source bench/lib.sh
[ $# -ge 1 ] || { echo "usage: bench/compat.sh VERSION..." >&2; exit 2; }
[ -f "$B/CTestTestfile.cmake" ] || { echo "compat.sh: $B is not a configured build" >&2; exit 2; }
sets=${SETS:-'^kafka_ ^kafka_b_'}
read -ra patterns <<<"$sets"
regex=$(printf '%s|' "${patterns[@]}")
regex="(${regex%|})"
status=0
echo "| Kafka | scenarios passed | failed | which failed | wall (s) |"
echo "|---|---:|---:|---|---:|"
for v in "$@"; do
  KAFKA_VERSION=$v deploy/local/kafka.sh lib >/dev/null || { echo "| $v | - | - | jars not fetched | - |"; status=1; continue; }
  log=$PWD/$B/compat-$v.log
  t0=$(date +%s)
  # Skips count as failures here: on a broker every scenario can run.
  (cd "$B" && KAFKA_VERSION=$v ctest -R "$regex" -j2 --timeout 900 --output-on-failure >"$log" 2>&1)
  wall=$(( $(date +%s) - t0 ))
  # The scenarios' result lines, the brokers' start and stop (fixtures) aside.
  results=$(grep -E '^ *[0-9]+/[0-9]+ Test +#[0-9]+: ' "$log" | grep -vE 'Test +#[0-9]+: [^ ]+_(start|stop) ')
  passed=$(grep -c ' Passed' <<<"$results")
  failed=$(grep -vc ' Passed' <<<"$results")
  which=$(grep -v ' Passed' <<<"$results" | sed -E 's/.*Test +#[0-9]+: ([^ ]+).*/\1/' | paste -sd, -)
  grep -qE 'Test +#[0-9]+: [^ ]+_start .*Passed' "$log" || { which="broker did not start; $which"; failed=$((failed + 1)); }
  [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ] || status=1
  echo "| $v | $passed | $failed | ${which:--} | $wall |"
done
exit $status
