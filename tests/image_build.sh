#!/usr/bin/env bash
# image_build.sh -- ctest fixture "image": builds the container image with
# deploy/image/build.sh (buildah, as root). Skips (77) where buildah cannot
# run: not root, or no buildah/debootstrap (scripts/deps.sh installs them).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(id -u)" -ne 0 ]; then echo "image_build: skipped: buildah's chroot isolation needs root"; exit 77; fi
for t in buildah debootstrap; do
  command -v $t >/dev/null || { echo "image_build: skipped: $t not found (scripts/deps.sh installs it)"; exit 77; }
done
exec "$root/deploy/image/build.sh"
