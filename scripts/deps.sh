#!/usr/bin/env bash
# deps.sh -- installs what the build and tests need, from Debian packages,
# skipping what is present (idempotent; apt-get runs only when something is
# missing). Run as root or with sudo available.
set -euo pipefail
PKGS=(
  build-essential   # gcc, make
  cmake             # the build
  pkg-config        # finds jansson and check
  libssl-dev        # libcrypto: SHA-256 of the seed model
  libjansson-dev    # JSON Lines input and JSON records
  check             # unit test framework
  librdkafka-dev    # Kafka client (used when 2.6.1 or newer; else scripts/rdkafka.sh builds one)
  libsasl2-dev      # librdkafka 2.15.1 build: SASL (GSSAPI; PLAIN, SCRAM and OAUTHBEARER are built in)
  libzstd-dev       # ... zstd compression
  liblz4-dev        # ... lz4 compression
  libcurl4-openssl-dev # ... OAUTHBEARER/OIDC token requests
  zlib1g-dev        # ... gzip compression
  patch             # ... scripts/patches/librdkafka-*.patch
  openssl           # deploy/local/kafka.sh: the throwaway CA and certificates
  libavro-dev       # Avro C: article and record encoding
  libconfig-dev     # dhatu-consumer's configuration file
  libcsv-dev        # CSV input of dhatu-producer
  libmicrohttpd-dev # dhatu-consumer's /metrics, /health, /ready
  prometheus        # promtool checks and the real-Prometheus test (no service is started)
  kcat              # the local broker's readiness probe; raw messages in tests
  python3           # integration-test driver (standard library only)
  ocl-icd-opencl-dev # OpenCL ICD loader: the opencl backend finds any vendor's driver through it
  opencl-c-headers  # CL/cl.h
  pocl-opencl-icd   # PoCL: OpenCL on the CPU, so the opencl backend runs in CI without a GPU
  clinfo            # lists OpenCL platforms (bench/gpu.sh, diagnosis)
  buildah           # deploy/image/build.sh: the container image without a daemon
  debootstrap       # ... its Debian base, made locally (no image registry is reachable)
  shellcheck        # lints the shell scripts, deploy/clouds among them
  curl              # deploy/local/registry.sh: the readiness probe of the schema registry
  iproute2          # tests/faults: network namespaces, veth pairs and a bridge (ip netns)
  iptables          # tests/faults: links cut with DROP rules inside those namespaces
  chromium          # tests/report_test.py renders dhatu-report's page headless, as a person sees it
  gdb               # tests/kafka/harness.py: the stacks of a member still running when a scenario fails
)
# CUDA: nvcc at /usr/local/cuda (NVIDIA's installer) or on PATH is used as is.
# Elsewhere Debian's nvidia-cuda-toolkit (non-free) is installed when apt can
# see it; without either the CUDA backend is simply not built (CMake says so).
if ! command -v nvcc >/dev/null 2>&1 && [ ! -x /usr/local/cuda/bin/nvcc ] &&
   apt-cache policy nvidia-cuda-toolkit 2>/dev/null | grep -q 'Candidate: [0-9]'; then
  PKGS+=(nvidia-cuda-toolkit)
fi
# Fuzzing (tests/fuzz): clang with its libFuzzer runtime. Debian bookworm's
# clang-15 ships the runtime (libclang-common-15-dev); another clang that
# already has it is used as is.
if ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 &&
   apt-cache policy clang-15 2>/dev/null | grep -q 'Candidate: [0-9]'; then
  PKGS+=(clang-15)
fi
# The local Kafka broker runs on a JVM and is fetched by Maven
# (deploy/local/kafka.sh): install them only when the machine has none, since
# a JDK may come from elsewhere (Temurin, SDKMAN).
command -v java >/dev/null 2>&1 || PKGS+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || PKGS+=(maven)
# npm fetches the librdkafka 2.15.1 source (scripts/rdkafka.sh).
command -v npm >/dev/null 2>&1 || PKGS+=(npm)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "deps.sh: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# A librdkafka of 2.6.1 or newer (built once into .deps/ when the system's is older).
"$(dirname "$0")/rdkafka.sh" >/dev/null
