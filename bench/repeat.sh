#!/usr/bin/env bash
# repeat.sh RUNS SCENARIO... -- scenarios of the secured three-broker cluster
# run RUNS times in a row on one cluster (issue 27: "no member exits where
# nothing forces it", 10 consecutive runs each of rolling-restart and
# leader-loss). Starts the kafka3 fixture once, then runs each scenario of
# the list in turn, RUNS rounds, through ctest with the fixtures excluded
# (so the cluster is the same one throughout, as an operator's would be),
# in $B (a configured build; default build). Prints one markdown row per
# run (scenario, round, result, seconds, the scenario's own summary lines:
# records, lost, duplicates, exits) and the count passed per scenario;
# keeps ctest's whole output in $B/repeat-SCENARIO-ROUND.log and, the
# harness's way, the members' logs of a failed run. Stops the cluster it
# started. Exits 1 when a run failed.
#
# Every run is a failure-injection scenario of 1-4 minutes; nothing else of
# the suite may use the kafka3 fixture meanwhile (its ports and state
# directory are ctest's, tests/CMakeLists.txt).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
# shellcheck source=bench/lib.sh
source bench/lib.sh
[ $# -ge 2 ] || { echo "usage: bench/repeat.sh RUNS SCENARIO... (e.g. 10 rolling-restart leader-loss)" >&2; exit 2; }
runs=$1
shift
[ -f "$B/CTestTestfile.cmake" ] || { echo "repeat.sh: $B is not a configured build" >&2; exit 2; }
cd "$B" || exit 2
bench_on_exit "(cd '$PWD' && ctest -R '^kafka3_stop\$' >/dev/null 2>&1)"
ctest -R '^kafka3_start$' --output-on-failure >repeat-start.log 2>&1 || { echo "repeat.sh: the cluster did not start (repeat-start.log)" >&2; exit 1; }
status=0
declare -A passed
echo "| scenario | run | result | seconds | what the scenario reported |"
echo "|---|---:|---|---:|---|"
for ((r = 1; r <= runs; r++)); do
  for s in "$@"; do
    log=repeat-$s-$r.log
    t0=$(date +%s)
    if ctest -R "^kafka3_$s\$" -FA '.*' -V --timeout 900 >"$log" 2>&1 && grep -q '100% tests passed' "$log"; then
      result=pass
      passed[$s]=$(( ${passed[$s]:-0} + 1 ))
    else
      result=FAIL
      status=1
    fi
    # The scenario's own lines ("[leader-loss 80.1s] exactly-once: ...").
    said=$(grep -oE "\[$s [0-9.]+s\] [^|]*" "$log" | sed -E 's/^\[[^]]*\] //' | grep -vE '^(killed|broker|all brokers)' |
           paste -sd';' - | cut -c1-600)
    echo "| $s | $r | $result | $(( $(date +%s) - t0 )) | ${said:--} |"
  done
done
for s in "$@"; do echo "$s: ${passed[$s]:-0} of $runs passed"; done
exit $status
