#!/usr/bin/env bash
# run.sh BUILD_DIR SECONDS -- runs every libFuzzer harness for SECONDS each,
# under ASan and UBSan with leak detection, from its seed corpus
# (tests/fuzz/corpus/NAME, copied: new inputs go to BUILD_DIR/fuzz-corpus).
# A crash, leak or UBSan report fails the run; its input is saved under
# BUILD_DIR/fuzz-artifacts/ and belongs, once fixed, in the seed corpus.
# Prints executions and coverage per target and "fuzz: N passed, M failed".
set -u
B=$1 S=${2:-30}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$B/fuzz-artifacts"
pass=0 fail=0
for t in article csv config engine lexicon http; do
  work=$B/fuzz-corpus/$t
  mkdir -p "$work"
  dict=()
  [ "$t" = article ] && dict=(-dict="$here/json.dict")
  # Avro C keeps a few process-lifetime allocations (its schema and class
  # caches): the suppressions name only avro's own functions.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  LSAN_OPTIONS=suppressions="$here/lsan-fuzz.supp":print_suppressions=0 \
    "$B/tests/fuzz/fuzz_$t" -max_total_time="$S" -timeout=20 -rss_limit_mb=2048 -max_len=65536 \
    -artifact_prefix="$B/fuzz-artifacts/$t-" -print_final_stats=1 "${dict[@]}" "$work" "$here/corpus/$t" \
    >"$B/fuzz-$t.log" 2>&1
  rc=$?
  execs=$(grep -m1 'stat::number_of_executed_units' "$B/fuzz-$t.log" | awk '{print $2}')
  cov=$(grep -E '^#[0-9]+.*cov:' "$B/fuzz-$t.log" | tail -1 | sed -E 's/.*cov: ([0-9]+).*/\1/')
  if [ $rc -eq 0 ]; then
    echo "fuzz_$t: ${execs:-?} executions in $S s, coverage ${cov:-?} edges, no finding"; pass=$((pass + 1))
  else
    echo "FAIL: fuzz_$t (exit $rc); log $B/fuzz-$t.log:"; grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$B/fuzz-$t.log" | head -8
    fail=$((fail + 1))
  fi
done
echo "fuzz: $pass passed, $fail failed"
[ $fail -eq 0 ]
