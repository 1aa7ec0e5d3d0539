#!/usr/bin/env bash
# check.sh BUILD_DIR -- the Kubernetes manifests, checked offline (ctest k8s_manifests):
#   1. the monitoring objects are what generate.mjs makes from grafana/ (no drift);
#   2. every kustomization renders; every object passes its schema; policies
#      hold, with the consumer reading each rendered configuration (check.mjs);
#   3. no object has a field its schema lacks (tsc over typed literals);
#   4. dockerfilelint passes on deploy/image/Containerfile (its .dockerfilelintrc).
# The npm packages are installed from package-lock.json (npm.sh: npm ci, once, under a lock).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: check.sh BUILD_DIR}" && pwd)
command -v kubectl >/dev/null || { echo "check.sh: kubectl not found (needed for kubectl kustomize)"; exit 77; }
command -v node >/dev/null || { echo "check.sh: node not found (scripts/deps.sh installs npm)"; exit 1; }
cd "$here"
./npm.sh
work=$build/tests/k8s-work
rm -rf "$work" && mkdir -p "$work/generated"
node generate.mjs "$work/generated"
for f in prometheusrule.yaml grafana-dashboard.yaml; do
  if ! diff -u "../components/monitoring/$f" "$work/generated/$f" >/dev/null; then
    echo "FAIL components/monitoring/$f differs from grafana/: run node deploy/k8s/test/generate.mjs"
    exit 1
  fi
done
echo "ok   components/monitoring: generated from grafana/ and current"
node check.mjs "$build/consumer/dhatu-consumer" "$work"
# (Not `tsc && echo ok`: under set -e a failure on the left of && does not
# stop the script, so a field outside its schema would pass unseen.)
if ! node_modules/.bin/tsc -p "$work"; then
  echo "FAIL a rendered object has a field outside its schema (tsc, above)"
  exit 1
fi
echo "ok   every rendered object: no field outside its schema (tsc)"
# ... and the check can fail: the base with one field misspelt must not pass.
mkdir -p "$work/broken-tsc"
sed 's/"automountServiceAccountToken": false/"automountServiceAccountTokn": false/' "$work/base.ts" >"$work/broken-tsc/base.ts"
grep -q automountServiceAccountTokn "$work/broken-tsc/base.ts" || { echo "FAIL the tsc self-test found no field to break"; exit 1; }
node -e 'const fs = require("fs"), [from, to, file] = process.argv.slice(1);
  const c = JSON.parse(fs.readFileSync(from)); c.files = [file]; fs.writeFileSync(to, JSON.stringify(c));' \
  "$work/tsconfig.json" "$work/broken-tsc/tsconfig.json" "$work/broken-tsc/base.ts"
if out=$(node_modules/.bin/tsc -p "$work/broken-tsc" 2>&1) || ! grep -q "automountServiceAccountTokn" <<<"$out"; then
  echo "$out"
  echo "FAIL tsc accepted a misspelt field (automountServiceAccountTokn): the schema check proves nothing"
  exit 1
fi
echo "ok   tsc refuses a misspelt field (automountServiceAccountTokn), as a self-test"
# dockerfilelint exits 0 even when it reports issues: its summary line decides.
out=$(node_modules/.bin/dockerfilelint -c ../../image ../../image/Containerfile 2>&1) || true
if ! grep -q "Issues: None found" <<<"$out"; then
  echo "$out"
  echo "FAIL deploy/image/Containerfile: dockerfilelint"
  exit 1
fi
echo "ok   deploy/image/Containerfile: dockerfilelint, no issue"
