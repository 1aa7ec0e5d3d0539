#!/usr/bin/env bash
# bench/gpu-debs.sh -- downloads, here, the Debian packages that bench/gpu.sh
# needs to build on a device machine that cannot fetch anything (the device
# tool's GPU machines: nothing outside them can be reached). The .deb files
# land in .gpu-debs/ (git-ignored); carry that folder with the run, and
# bench/gpu.sh unpacks them under /tmp/gpu-root (not over the machine's own
# files) and points the build there. Not yet tried on a device machine: if
# its image lacks something else, add it to the list.
set -euo pipefail
cd "$(dirname "$0")/.."
PKGS=(
  pkg-config libpkgconf3 pkgconf pkgconf-bin   # finds jansson and check
  libssl-dev libssl3                           # OpenSSL headers and libcrypto
  libjansson-dev libjansson4                   # JSON Lines input
  check libsubunit-dev libsubunit0             # the C test suites
  ocl-icd-opencl-dev ocl-icd-libopencl1 opencl-c-headers opencl-clhpp-headers clinfo  # OpenCL loader
)
mkdir -p .gpu-debs
(cd .gpu-debs && apt-get download "${PKGS[@]}")
du -sh .gpu-debs
