#!/usr/bin/env bash
# npm.sh -- the npm packages of the Kubernetes checks, installed from
# package-lock.json (npm ci) once, under a lock: k8s_manifests (check.sh) and
# the rendered-pod scenario (tests/kafka/deploy.py) may start together, and
# npm ci replaces node_modules while it runs.
set -euo pipefail
cd "$(dirname "$0")"
exec 9>.npm.lock
flock 9
if ! cmp -s package-lock.json node_modules/.dhatu-installed 2>/dev/null; then
  npm ci --silent --no-audit --no-fund >/dev/null
  cp package-lock.json node_modules/.dhatu-installed
fi
