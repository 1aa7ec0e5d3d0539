#!/usr/bin/env bash
# rdkafka.sh -- a current librdkafka for the build, when the system has none.
#
# Debian's librdkafka (2.0.2) predates three fixes the product relies on:
# the cooperative-sticky commit bug (librdkafka#4059), the SCRAM final
# message that Kafka 4 rejects (fixed in 2.6.1), and KIP-848
# (group.protocol=consumer). When pkg-config finds no system librdkafka of
# 2.6.1 or newer, this script builds 2.15.1 once into .deps/librdkafka (a
# project-local prefix, ignored by git) from the complete source that
# Confluent's own npm package @confluentinc/kafka-javascript@1.10.1 ships
# under deps/librdkafka (BSD-2-Clause), linked against Debian's OpenSSL,
# Cyrus SASL, zlib, zstd, lz4 and libcurl. 2.15.1 rather than node-rdkafka's
# 2.12.0: the KIP-848 fixes (a member past max.poll.interval.ms rejoins,
# #5541/#5488), the consume_batch_queue position fix of 2.13.2, and the
# share consumer preview (KIP-932).
# The package is fetched with `npm pack` and its sha512 is checked against
# the integrity the registry published; the tarball is cached under
# ~/.cache/dhatu-stream so a fresh clone rebuilds without downloading.
#
# The local build carries the patches in scripts/patches/librdkafka-*.patch
# (each says which upstream issue it fixes and why it is ours until a release
# has the fix); a system librdkafka is used as it is, without them.
#
# Idempotent: prints the prefix in use (empty for the system library) and
# exits 0 when there is nothing to do. CMake looks for the same prefix
# (CMakeLists.txt), so the order system >= 2.6.1, then local, is the same.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
version=2.15.1
version_hex=0x020f01ff
pkg=@confluentinc/kafka-javascript@1.10.1
pkgfile=confluentinc-kafka-javascript-1.10.1.tgz # what npm pack names it
integrity=sha512-KVePUBn21EqCVP9mfxzEuM3SYJHHEF7X+iiC2e43QQgDSyEaksInmCGooT3w5q+cNAdkSCrK71j0ICfqoSqZLw==
prefix=$root/.deps/librdkafka
cache=${XDG_CACHE_HOME:-$HOME/.cache}/dhatu-stream
tarball=$cache/$pkgfile

fetch_only=0
[ "${1:-}" = --fetch-only ] && fetch_only=1 # only fetch and check the package (deploy/image/build.sh)
if [ $fetch_only = 0 ] && [ "${DHATU_RDKAFKA:-}" != local ] && pkg-config --atleast-version=2.6.1 rdkafka 2>/dev/null; then
  exit 0 # a system librdkafka that is new enough
fi
# The marker names the patches' digest, so a changed patch rebuilds.
patches=$(find "$root/scripts/patches" -name 'librdkafka-*.patch' 2>/dev/null | LC_ALL=C sort)
stamp=$version-$(cat /dev/null $patches | openssl dgst -sha256 -r | cut -c1-12)
if [ $fetch_only = 0 ] && [ -f "$prefix/.complete-$stamp" ]; then echo "$prefix"; exit 0; fi

die() { echo "rdkafka.sh: $*" >&2; exit 1; }

# Fetch once and check the registry's integrity value (base64 of the sha512).
check() { [ "sha512-$(openssl dgst -sha512 -binary "$1" | base64 -w0)" = "$integrity" ]; }
if [ ! -f "$tarball" ] || ! check "$tarball"; then
  command -v npm >/dev/null || die "npm not found (scripts/deps.sh installs it)"
  mkdir -p "$cache"
  echo "rdkafka.sh: fetching $pkg (librdkafka $version source) from npm" >&2
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$pkg" >/dev/null) || die "npm pack $pkg failed"
  check "$tmp/$pkgfile" || die "$pkg: sha512 differs from the published integrity"
  mv "$tmp/$pkgfile" "$tarball"
  rm -rf "$tmp"
fi

if [ $fetch_only = 1 ]; then echo "$tarball"; exit 0; fi

src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
tar -xzf "$tarball" -C "$src" package/deps/librdkafka
cd "$src/package/deps/librdkafka"
grep -q "define RD_KAFKA_VERSION $version_hex" src/rdkafka.h || die "the package does not hold librdkafka $version"
for p in $patches; do
  command -v patch >/dev/null || die "patch not found (scripts/deps.sh installs it)"
  patch -p1 --quiet --forward <"$p" || die "$(basename "$p") does not apply to librdkafka $version"
done
echo "rdkafka.sh: building librdkafka $version${patches:+ with $(echo "$patches" | wc -l) patch(es)} into $prefix (about a minute)" >&2
rm -rf "$prefix"
# Only Debian's libraries: no --install-deps (which would download more).
./configure --prefix="$prefix" --enable-ssl --enable-gssapi --enable-zstd --enable-lz4-ext \
  --enable-zlib --enable-curl --disable-debug-symbols >"$src/configure.log" 2>&1 ||
  { tail -30 "$src/configure.log" >&2; die "configure failed"; }
make -j"$(nproc)" libs >"$src/make.log" 2>&1 || { tail -30 "$src/make.log" >&2; die "make failed"; }
make install-subdirs DESTDIR= >"$src/install.log" 2>&1 ||
  { tail -30 "$src/install.log" >&2; die "make install failed"; }
# A static archive would be linked in preference by nothing here; keeping
# only the shared library makes the RPATH the one way it is found.
rm -f "$prefix"/lib/librdkafka*.a "$prefix"/lib/pkgconfig/rdkafka*-static.pc
touch "$prefix/.complete-$stamp"
echo "$prefix"
