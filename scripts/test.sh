#!/usr/bin/env bash
# test.sh -- every test on a fresh machine: installs dependencies, builds with
# warnings as errors and runs ctest, then builds with AddressSanitizer and
# UndefinedBehaviorSanitizer and runs ctest again (corpus conformance capped
# at 2000 articles per corpus there, since the oracle is slow under ASan; the
# broker-failure scenarios, label cluster-failure, the container image,
# label image, the cloud definitions, label clouds, the clusters with TLS or
# SASL and a few scenarios labelled release-only run in the release build
# only),
# then builds the libFuzzer harnesses with clang and runs each for
# DHATU_FUZZ_SECONDS (default 30) under ASan and UBSan.
#
# test.sh --quick: the fast tier for the edit-test loop, on a built tree
# (build/): an incremental build with -Werror, then the tests labelled
# "quick" (tests/CMakeLists.txt says which: unit suites, built-in
# conformance, command-line and monitoring checks, one real-broker
# scenario). About three minutes on two cores; no sanitizer, no fuzzing.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
# A skipped test proves nothing, so a skip fails the run unless its test is
# on this list, each with the reason it may not run on a CI machine:
#   *cuda*      the CUDA backend is compiled (nvcc is there) but this machine
#               has no NVIDIA GPU: "no usable CUDA device" (bench/gpu.sh runs
#               them on a device machine)
# Nothing else: a missing corpus, kubectl, buildah, PoCL or our librdkafka
# build is a broken machine, not a reason to pass.
SKIP_ALLOWED='cuda'
# ctest_checked DIR ARGS...: ctest in DIR, then fails if a test skipped
# outside SKIP_ALLOWED (ctest lists them as "NN - NAME (Skipped)").
ctest_checked() {
  local dir=$1 log rc=0
  shift
  log=$(mktemp)
  (cd "$dir" && ctest "$@") 2>&1 | tee "$log" || rc=$?
  local bad
  bad=$(sed -nE 's/^[[:space:]]*[0-9]+ - ([^ ]+) \(Skipped\)$/\1/p' "$log" | grep -vE "$SKIP_ALLOWED" || true)
  rm -f "$log"
  if [ -n "$bad" ]; then
    echo "test.sh: these tests skipped, and only $SKIP_ALLOWED may (see SKIP_ALLOWED): ${bad//$'\n'/ }" >&2
    return 1
  fi
  return "$rc"
}

# seed_costs DIR: ctest starts the longest tests first once it knows their
# times (DIR/Testing/Temporary/CTestCostData.txt, which every run rewrites);
# a fresh tree knows none and ran them in declaration order, so the fault
# harness (3 minutes) started last and ran alone while a core idled. A fresh
# tree gets the times of a clean-clone CI run (tests/ctest-costs.txt).
seed_costs() {
  local f=$1/Testing/Temporary/CTestCostData.txt
  [ -f "$f" ] || { mkdir -p "$(dirname "$f")" && cp tests/ctest-costs.txt "$f"; }
}

if [ "${1:-}" = --quick ]; then
  [ -f build/CMakeCache.txt ] || scripts/deps.sh
  scripts/build.sh build -DDHATU_WERROR=ON
  start=$(date +%s)
  ctest_checked build -j"$jobs" -L quick --output-on-failure --timeout 300
  echo "test.sh --quick: $(( $(date +%s) - start )) s"
  exit 0
fi
scripts/deps.sh

t0=$(date +%s)
phase() { echo "== $1 (at $(( $(date +%s) - t0 )) s)"; }
phase "release build (-Werror)"
scripts/build.sh build -DDHATU_WERROR=ON
seed_costs build
ctest_checked build -j"$jobs" --output-on-failure --timeout 1500

phase "sanitizer build (ASan + UBSan, -Werror)"
scripts/build.sh build-asan -DDHATU_WERROR=ON -DDHATU_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
seed_costs build-asan
supp="$PWD/tests/lsan.supp" # third-party leaks only (PoCL's in-process LLVM), see the file
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  LSAN_OPTIONS=suppressions="$supp":print_suppressions=0 \
  DHATU_CONFORMANCE_LIMIT=2000 CK_TIMEOUT_MULTIPLIER=10 ctest_checked build-asan -j"$jobs" --output-on-failure \
  --timeout 3000 -LE "cluster-failure|image|clouds|tls-cluster|release-only" # broker kills and restarts
  # (the fault harness among them), the container image, the cloud definitions (no C code of their own, a
  # minute or more each), the mutual-TLS cluster and the scenarios labelled release-only (tests/CMakeLists.txt
  # says why each: the same code of ours as a scenario kept here)

phase "fuzzing (libFuzzer under ASan + UBSan, ${DHATU_FUZZ_SECONDS:-30} s per harness, $jobs at a time)"
cc=$(command -v clang-15 || command -v clang || true)
[ -n "$cc" ] || { echo "no clang for the fuzz harnesses (scripts/deps.sh installs clang-15)" >&2; exit 1; }
CC=$cc cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DDHATU_SANITIZE=ON -DDHATU_FUZZ=ON \
  -DDHATU_WITH_OPENCL=OFF -DDHATU_WITH_CUDA=OFF >/dev/null
cmake --build build-fuzz -j"$jobs" --target fuzz >/dev/null
# One harness per core: each is single-threaded.
ASAN_SYMBOLIZER_PATH=$(command -v llvm-symbolizer || true) tests/fuzz/run.sh build-fuzz "${DHATU_FUZZ_SECONDS:-30}" "$jobs"
phase "done"
