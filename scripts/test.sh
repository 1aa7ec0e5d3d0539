#!/usr/bin/env bash
# test.sh -- every test on a fresh machine: installs dependencies, builds with
# warnings as errors and runs ctest, then builds with AddressSanitizer and
# UndefinedBehaviorSanitizer and runs ctest again (corpus conformance capped
# at 2000 articles per corpus there, since the oracle is slow under ASan; the
# broker-failure scenarios, label cluster-failure, the container image,
# label image, and the cloud definitions, label clouds, run in the release
# build only),
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
if [ "${1:-}" = --quick ]; then
  [ -f build/CMakeCache.txt ] || scripts/deps.sh
  scripts/build.sh build -DDHATU_WERROR=ON
  start=$(date +%s)
  (cd build && ctest -j"$jobs" -L quick --output-on-failure --timeout 300)
  echo "test.sh --quick: $(( $(date +%s) - start )) s"
  exit 0
fi
scripts/deps.sh

t0=$(date +%s)
phase() { echo "== $1 (at $(( $(date +%s) - t0 )) s)"; }
phase "release build (-Werror)"
scripts/build.sh build -DDHATU_WERROR=ON
(cd build && ctest -j"$jobs" --output-on-failure --timeout 1500)

phase "sanitizer build (ASan + UBSan, -Werror)"
scripts/build.sh build-asan -DDHATU_WERROR=ON -DDHATU_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
supp="$PWD/tests/lsan.supp" # third-party leaks only (PoCL's in-process LLVM), see the file
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  LSAN_OPTIONS=suppressions="$supp":print_suppressions=0 \
  DHATU_CONFORMANCE_LIMIT=2000 CK_TIMEOUT_MULTIPLIER=10 ctest -j"$jobs" --output-on-failure --timeout 3000 \
  -LE "cluster-failure|image|clouds") # broker kills and restarts, the container image, the cloud
                                      # definitions: no C code of their own, a minute or more each

phase "fuzzing (libFuzzer under ASan + UBSan, ${DHATU_FUZZ_SECONDS:-30} s per harness, $jobs at a time)"
cc=$(command -v clang-15 || command -v clang || true)
[ -n "$cc" ] || { echo "no clang for the fuzz harnesses (scripts/deps.sh installs clang-15)" >&2; exit 1; }
CC=$cc cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DDHATU_SANITIZE=ON -DDHATU_FUZZ=ON \
  -DDHATU_WITH_OPENCL=OFF -DDHATU_WITH_CUDA=OFF >/dev/null
cmake --build build-fuzz -j"$jobs" --target fuzz >/dev/null
# One harness per core: each is single-threaded.
ASAN_SYMBOLIZER_PATH=$(command -v llvm-symbolizer || true) tests/fuzz/run.sh build-fuzz "${DHATU_FUZZ_SECONDS:-30}" "$jobs"
phase "done"
