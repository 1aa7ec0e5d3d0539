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
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
