#!/usr/bin/env bash
# run.sh BUILD_DIR SECONDS [JOBS] -- runs every libFuzzer harness for SECONDS
# each, JOBS harnesses at a time (default 1), under ASan and UBSan with leak
# detection, from its seed corpus (tests/fuzz/corpus/NAME, copied: new inputs
# go to BUILD_DIR/fuzz-corpus). A crash, leak or UBSan report fails the run;
# its input is saved under BUILD_DIR/fuzz-artifacts/ and belongs, once fixed,
# in the seed corpus. Prints executions, coverage and CPU seconds per target
# and "fuzz: N passed, M failed". FUZZ_TARGETS="a b" runs only those.
set -u
B=$1 S=${2:-30} J=${3:-1}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$B/fuzz-artifacts"

# one harness; its verdict line goes to $B/fuzz-NAME.result
fuzz_one() {
  local t=$1 work=$B/fuzz-corpus/$1 dict=() rc cpu
  mkdir -p "$work"
  [ "$t" = article ] && dict=(-dict="$here/json.dict")
  [ "$t" = engine ] && dict=(-dict="$here/engine.dict")
  # Avro C keeps a few process-lifetime allocations (its schema and class
  # caches): the suppressions name only avro's own functions.
  cpu=$( { TIMEFORMAT='%U %S'; time ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    LSAN_OPTIONS=suppressions="$here/lsan-fuzz.supp":print_suppressions=0 \
    "$B/tests/fuzz/fuzz_$t" -max_total_time="$S" -timeout=20 -rss_limit_mb=2048 -max_len=65536 \
    -artifact_prefix="$B/fuzz-artifacts/$t-" -print_final_stats=1 "${dict[@]}" "$work" "$here/corpus/$t" \
    >"$B/fuzz-$t.log" 2>&1; echo "rc=$?" >"$B/fuzz-$t.rc"; } 2>&1 | awk '{printf "%.0f", $1 + $2}')
  rc=$(sed 's/rc=//' "$B/fuzz-$t.rc")
  local execs cov
  execs=$(grep -m1 'stat::number_of_executed_units' "$B/fuzz-$t.log" | awk '{print $2}')
  cov=$(grep -E '^#[0-9]+.*cov:' "$B/fuzz-$t.log" | tail -1 | sed -E 's/.*cov: ([0-9]+).*/\1/')
  if [ "$rc" -eq 0 ]; then
    echo "fuzz_$t: ${execs:-?} executions in $S s ($cpu CPU s), coverage ${cov:-?} edges, no finding" >"$B/fuzz-$t.result"
  else
    { echo "FAIL: fuzz_$t (exit $rc); log $B/fuzz-$t.log:"
      grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$B/fuzz-$t.log" | head -8; } >"$B/fuzz-$t.result"
  fi
}

# FUZZ_TARGETS picks harnesses (default all), e.g. "article csv".
read -r -a targets <<<"${FUZZ_TARGETS:-article csv config engine lexicon http}"
running=0
for t in "${targets[@]}"; do
  rm -f "$B/fuzz-$t.result"
  fuzz_one "$t" &
  running=$((running + 1))
  if [ $running -ge "$J" ]; then wait -n; running=$((running - 1)); fi
done
wait
pass=0 fail=0
for t in "${targets[@]}"; do
  if [ -f "$B/fuzz-$t.result" ]; then cat "$B/fuzz-$t.result"; else echo "FAIL: fuzz_$t gave no result"; fi
  if grep -q '^fuzz_' "$B/fuzz-$t.result" 2>/dev/null; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
done
echo "fuzz: $pass passed, $fail failed"
[ $fail -eq 0 ]
