#!/usr/bin/env bash
# check_lsan_opencl.sh PROBE SUPPRESSIONS -- LeakSanitizer, under our
# suppressions, still reports an OpenCL buffer that we never release
# (tests/lsan_opencl_probe.c), and reports nothing when it is released.
set -u
probe=$1 supp=$2
export ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0 LSAN_OPTIONS=suppressions=$supp:print_suppressions=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$probe" >"$out" 2>&1; rc=$?
[ "$rc" = 77 ] && { cat "$out"; exit 77; }
if [ "$rc" != 0 ]; then cat "$out"; echo "FAIL the clean run (buffer released) failed: exit $rc"; exit 1; fi
echo "ok   buffer released: no leak reported"
"$probe" leak >"$out" 2>&1; rc=$?
if [ "$rc" = 0 ] || ! grep -q "LeakSanitizer: detected memory leaks" "$out" || ! grep -q "lsan_opencl_probe.c" "$out"; then
  cat "$out"
  echo "FAIL an unreleased OpenCL buffer of ours was not reported (exit $rc): the suppressions hide our leaks"
  exit 1
fi
echo "ok   buffer never released: LeakSanitizer reports it ($(grep -c 'leak of' "$out") leak records)"
