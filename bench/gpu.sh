#!/usr/bin/env bash
# bench/gpu.sh -- the GPU backends' checks and benchmarks in one run: the
# script to run on a machine with a GPU (the device tool), whose output is
# committed to bench/results.md. It also runs where OpenCL is PoCL on the CPU.
#   1. builds (Release, without the Kafka programs, which a GPU box need not have);
#   2. runs the CUDA and OpenCL conformance suites and GPU tests (ctest);
#   3. measures the ceiling: host-to-device bandwidth over pinned memory and
#      device memory bandwidth (dhatu-gpu-ceiling, CUDA only);
#   4. benchmarks every backend that runs here side by side, per model, on
#      the real corpora and on seed-like short texts, with device times
#      (--profile: copies and kernels, i.e. without transfers), and a batch
#      size sweep;
#   5. where the Kafka programs built (librdkafka and the others carried or
#      installed) and a broker can start (java, deploy/local/target/kafka-*/lib
#      carried), dhatu-consumer on the GPU backend against cpu, draining a
#      backlog from a broker on this machine, with a batch-size sweep
#      (bench/pipeline.sh, at most 240 s); else it says why not.
# usage: bench/gpu.sh [CORPORA_DIR]   (default ../shared/corpora; on a device
# machine, where ../shared does not travel, a carried copy of the corpora).
# A machine that cannot fetch packages can be given Debian build dependencies
# as .deb files in .gpu-debs/ (bench/gpu-debs.sh fetches them here; they are
# unpacked under /tmp/gpu-root first).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
C=${1:-../shared/corpora}
if [ -d .gpu-debs ]; then
  # Build dependencies carried as .deb files (bench/gpu-debs.sh), unpacked
  # aside rather than over the machine's own files, and found from there.
  R=/tmp/gpu-root
  for f in .gpu-debs/*.deb; do dpkg -x "$f" "$R"; done
  L=$R/usr/lib/x86_64-linux-gnu
  export PATH=$R/usr/bin:$PATH LD_LIBRARY_PATH=$L${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  export PKG_CONFIG_PATH=$L/pkgconfig:$R/usr/share/pkgconfig PKG_CONFIG_SYSROOT_DIR=$R
  export CMAKE_PREFIX_PATH=$R/usr OPENSSL_ROOT_DIR=$R/usr CPATH=$R/usr/include${CPATH:+:$CPATH}
fi
echo "# bench/gpu.sh $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores"
command -v nvidia-smi >/dev/null && nvidia-smi -L
command -v clinfo >/dev/null && clinfo -l
# With the Kafka programs where their libraries are here (step 5), else without.
if cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DDHATU_WITH_KAFKA=ON >/dev/null 2>&1; then kafka=1
else kafka=0; rm -rf build-gpu; cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DDHATU_WITH_KAFKA=OFF >/dev/null || exit 2; fi
cmake --build build-gpu -j"$(nproc)" >/dev/null || exit 2
V=build-gpu/vectorize/dhatu-vectorize
"$V" --version

echo "## tests: conformance and GPU suites (skips say why)"
(cd build-gpu && ctest --output-on-failure -R 'conformance_|gpu_|^engine$|^cli$' 2>&1 | grep -v '^ *Start')

echo "## ceiling"
if [ -x build-gpu/bench/dhatu-gpu-ceiling ]; then build-gpu/bench/dhatu-gpu-ceiling; else echo "no CUDA build: no ceiling tool"; fi

backends=cpu gpus=
for b in cuda opencl; do
  if "$V" -q -B "$b" data/arxiv_sample_500.jsonl >/dev/null 2>&1; then backends+=",$b"; gpus+="${gpus:+,}$b"; fi
done
echo "## backends that run here: $backends"

for f in arxiv_abstracts_en bbc_news_en cligs_fiction19_fr; do
  [ -f "$C/$f.jsonl" ] || { echo "## $f: skipped ($C/$f.jsonl not found)"; continue; }
  echo "## $f.jsonl: every backend, both models (device lines: copy-in, kernels, copy-out)"
  "$V" --bench --profile --rounds 3 -m lexicon,seed -B "$backends" "$C/$f.jsonl" 2>&1
done
echo "## seed-like short texts (--synthetic 200000)"
"$V" --bench --profile --rounds 3 --synthetic 200000 -m seed,lexicon -B "$backends" 2>&1

if [ -n "$gpus" ] && [ -f "$C/arxiv_abstracts_en.jsonl" ]; then
  echo "## batch size sweep, lexicon, arxiv_abstracts_en (articles per batch; batch bytes 2 KiB per article)"
  for n in 256 1024 4096 16384 50000; do
    echo "### $n articles per batch"
    "$V" --bench --profile --rounds 3 -n "$n" --batch-bytes $((n * 2048)) -m lexicon -B "cpu,$gpus" \
      "$C/arxiv_abstracts_en.jsonl" 2>&1
  done
fi

echo "## the consumer on the GPU against cpu (bench/pipeline.sh: a broker on this machine, 4 x arxiv_abstracts_en)"
first=${gpus%%,*}
why=
[ -n "$first" ] || why="no GPU backend runs here"
[ -z "$why" ] && [ "$kafka" = 1 ] && [ -x build-gpu/consumer/dhatu-consumer ] || why=${why:-"the Kafka programs did not build here (librdkafka >= 2.6.1 and the other -dev libraries)"}
[ -z "$why" ] && ! command -v java >/dev/null && why="no java for the broker"
[ -z "$why" ] && ! ls -d deploy/local/target/kafka-*/lib >/dev/null 2>&1 && ! command -v mvn >/dev/null && why="no broker jars (carry deploy/local/target/kafka-*/lib)"
[ -z "$why" ] && [ ! -f "$C/arxiv_abstracts_en.jsonl" ] && why="$C/arxiv_abstracts_en.jsonl not found"
if [ -n "$why" ]; then
  echo "skipped: $why"
else
  DHATU_BENCH_BUILD=build-gpu DHATU_BENCH_BACKENDS="cpu $first" DHATU_BENCH_SWEEP="1024 4096 16384" \
    timeout 240 bench/pipeline.sh "$C/arxiv_abstracts_en.jsonl" 2>&1
fi
