#!/usr/bin/env bash
# fuzz.sh [SECONDS [JOBS]] -- the long fuzzing run: every harness for SECONDS
# (default 900: 15 CPU-minutes each), JOBS at a time (default: the cores),
# its corpus kept between runs under
# build-fuzz/fuzz-corpus. Prints executions and coverage per harness for
# bench/results.md; a finding's input goes to build-fuzz/fuzz-artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
cc=$(command -v clang-15 || command -v clang)
CC=$cc cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DDHATU_SANITIZE=ON -DDHATU_FUZZ=ON \
  -DDHATU_WITH_OPENCL=OFF -DDHATU_WITH_CUDA=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz >/dev/null
echo "$(nproc) cores, $(uname -r), $(date -u +%F)"
ASAN_SYMBOLIZER_PATH=$(command -v llvm-symbolizer || true) tests/fuzz/run.sh build-fuzz "${1:-900}" "${2:-$(nproc)}"
