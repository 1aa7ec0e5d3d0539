#!/usr/bin/env bash
# build.sh -- builds the dhatu-stream image with buildah, no Docker daemon.
#
#   deploy/image/build.sh [--gpu]     build localhost/dhatu-stream:VERSION (or -cuda)
#                                     and export it to out/image/*.oci.tar
#
# --gpu: the CUDA variant. No CUDA image can be pulled here, so the build
# stage borrows this machine's toolkit (/usr/local/cuda, mounted read-only
# into the build's RUN steps) to compile the CUDA backend. The runtime
# stage needs nothing of CUDA's: the backend links cudart statically, and
# libcuda.so.1 comes from the node's driver, which the NVIDIA Container
# Toolkit mounts into the container (NVIDIA_VISIBLE_DEVICES and
# NVIDIA_DRIVER_CAPABILITIES, set in the image, ask it to).
#
# No image registry is reachable from the machines we build on, so the base
# is made here: `debootstrap --variant=minbase bookworm` into a folder,
# committed once as localhost/dhatu-base:bookworm (kept in buildah's storage;
# the next build reuses it). The Containerfile names that base, so the same
# file builds from Docker Hub's debian:bookworm-slim with --build-arg
# BASE=debian:bookworm-slim wherever a registry is reachable.
#
# Build context: the tracked files (git ls-files, so no build folders or
# local state leak in) plus the @confluentinc/kafka-javascript package that scripts/rdkafka.sh
# cached, so the build stage needs neither npm nor a second download; its
# sha512 is checked again inside.
#
# buildah runs as root with chroot isolation, host networking and the vfs
# storage driver: the only combination that works without a daemon, user
# namespaces or overlayfs in our CI sandboxes. Override with the usual
# BUILDAH_ISOLATION / STORAGE_DRIVER variables.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
variant=cpu
[ "${1:-}" = --gpu ] && variant=cuda
export BUILDAH_ISOLATION=${BUILDAH_ISOLATION:-chroot}
export STORAGE_DRIVER=${STORAGE_DRIVER:-vfs}
base=localhost/dhatu-base:bookworm
version=$(sed -n 's/^project(dhatu_stream VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
source=$(git remote get-url origin 2>/dev/null || echo unknown)
tag=localhost/dhatu-stream:$version
[ $variant = cuda ] && tag=$tag-cuda
out=$root/out/image
mkdir -p "$out"
die() { echo "build.sh: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "buildah's chroot isolation needs root (run with sudo)"
for t in buildah debootstrap git; do command -v $t >/dev/null || die "$t not found (scripts/deps.sh installs it)"; done
t0=$(date +%s)

# 1. The base: Debian bookworm minbase, made once.
if ! buildah inspect --type image "$base" >/dev/null 2>&1; then
  echo "build.sh: making $base with debootstrap (once; a few minutes)" >&2
  rootfs=$(mktemp -d /var/tmp/dhatu-base.XXXXXX)
  trap 'rm -rf "$rootfs"' EXIT
  mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$out/debootstrap.log" 2>&1 ||
    { tail -20 "$out/debootstrap.log" >&2; die "debootstrap failed"; }
  # As Docker's debian images do: no apt caches or docs kept, the security
  # suite enabled so apt-get upgrade in a stage gets fixes.
  cat >"$rootfs/etc/apt/sources.list" <<SRC
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
SRC
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  c=$(buildah from scratch)
  buildah copy --quiet "$c" "$rootfs" / >/dev/null
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --cmd /bin/bash "$c"
  buildah commit --quiet --rm "$c" "$base" >/dev/null
  rm -rf "$rootfs"
  trap - EXIT
fi

# 2. The context: tracked files plus the cached librdkafka source.
ctx=$(mktemp -d /var/tmp/dhatu-ctx.XXXXXX)
trap 'rm -rf "$ctx"' EXIT
git ls-files -z | xargs -0 cp --parents -t "$ctx"
cache=${XDG_CACHE_HOME:-$HOME/.cache}/dhatu-stream
# (rdkafka.sh --fetch-only fetches and checks it once, and prints its path.)
pkgtgz=$(DHATU_RDKAFKA=local scripts/rdkafka.sh --fetch-only)
mkdir -p "$ctx/.cache/dhatu-stream"
cp "$pkgtgz" "$ctx/.cache/dhatu-stream/"

# 3. The image.
echo "build.sh: building $tag ($variant) from $base" >&2
gpu_args=()
if [ $variant = cuda ]; then
  cuda=${CUDA_HOME:-/usr/local/cuda}
  [ -x "$cuda/bin/nvcc" ] || die "--gpu: no CUDA toolkit at $cuda (set CUDA_HOME)"
  gpu_args=(--volume "$cuda:/usr/local/cuda:ro" --build-arg NVIDIA_VISIBLE_DEVICES=all)
fi
buildah bud --quiet --layers=false --network host "${gpu_args[@]}" \
  --build-arg BASE="$base" --build-arg VARIANT="$variant" \
  --build-arg VERSION="$version" --build-arg REVISION="$revision" --build-arg SOURCE="$source" \
  --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  -f deploy/image/Containerfile -t "$tag" "$ctx" >"$out/build-$variant.log" 2>&1 ||
  { tail -40 "$out/build-$variant.log" >&2; die "buildah bud failed (log: $out/build-$variant.log)"; }
archive=$out/dhatu-stream-$version-$variant.oci.tar
rm -f "$archive"
buildah push --quiet "$tag" "oci-archive:$archive:$tag" >/dev/null
t1=$(date +%s)
echo "build.sh: built in $((t1 - t0)) s; image $tag, $(du -h "$archive" | cut -f1) as an OCI archive ($archive)" >&2
echo "$tag"
