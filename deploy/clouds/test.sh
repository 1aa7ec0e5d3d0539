#!/usr/bin/env bash
# test.sh -- the cloud cluster definitions, checked as far as this machine can
# (ctest clouds; no cloud account is reachable):
#   AWS:  `cdk synth` offline, then assertions on the synthesized
#         CloudFormation (aws/test/stack.test.mjs);
#   GKE, AKS: shellcheck, and their printed plans hold the pools the
#         Kubernetes components expect (sizes, spot, GPU taints, encryption).
#         They are not run: gcloud and az need an account.
set -euo pipefail
cd "$(dirname "$0")"
fail() { echo "FAIL $*"; exit 1; }

if command -v shellcheck >/dev/null; then
  # (Not `shellcheck && echo ok`: set -e does not stop on the left of &&.)
  shellcheck gke/cluster.sh aks/cluster.sh test.sh || fail "shellcheck: gke/cluster.sh aks/cluster.sh test.sh (above)"
  echo "ok   shellcheck: gke/cluster.sh aks/cluster.sh test.sh"
else
  fail "shellcheck not found (scripts/deps.sh installs it)"
fi
has() { # has PLAN NAME PATTERN...: every pattern is in the plan
  local plan=$1 name=$2 p; shift 2
  for p in "$@"; do grep -qE -- "$p" <<<"$plan" || fail "$name: the plan lacks $p"; done
  echo "ok   $name"
}
gke=$(gke/cluster.sh)
has "$gke" "gke: cpu pool 2-20, secrets under Cloud KMS, workload identity, network policy" \
  "clusters create dhatu .*--total-min-nodes 2 --total-max-nodes 20" "--database-encryption-key projects/" \
  "--workload-pool" "--enable-dataplane-v2"
has "$gke" "gke: spot pool 0-20 tainted as components/spot tolerates" \
  "node-pools create cpu-spot .*--spot .*--total-min-nodes 0 --total-max-nodes 20 .*cloud.google.com/gke-spot=true:NoSchedule"
has "$gke" "gke: GPU pool 1-8 labelled for components/gpu" \
  "node-pools create gpu .*--accelerator type=nvidia-l4.*--total-min-nodes 1 --total-max-nodes 8 .*nvidia.com/gpu.present=true"
aks=$(aks/cluster.sh)
has "$aks" "aks: cpu pool 2-20, secrets under Key Vault KMS, workload identity, KEDA add-on" \
  "aks create .*--enable-cluster-autoscaler --min-count 2 --max-count 20" "--enable-azure-keyvault-kms" \
  "--enable-workload-identity" "--enable-keda" "--network-dataplane cilium"
has "$aks" "aks: spot pool 0-20 tainted as components/spot tolerates" \
  "nodepool add .*--name spot --priority Spot .*--min-count 0 --max-count 20 .*kubernetes.azure.com/scalesetpriority=spot:NoSchedule"
has "$aks" "aks: GPU pool 1-8 tainted and labelled for components/gpu" \
  "nodepool add .*--name gpu .*--min-count 1 --max-count 8 .*nvidia.com/gpu.present=true .*nvidia.com/gpu=present:NoSchedule"

cd aws
if ! cmp -s package-lock.json node_modules/.dhatu-installed 2>/dev/null; then
  npm ci --silent --no-audit --no-fund >/dev/null
  cp package-lock.json node_modules/.dhatu-installed
fi
rm -rf cdk.out
CDK_DISABLE_CLI_TELEMETRY=true npx --no-install cdk synth --no-notices --no-version-reporting --quiet \
  >cdk.out.log 2>&1 || { cat cdk.out.log; fail "aws: cdk synth"; }
[ -s cdk.out/DhatuEks.template.json ] || fail "aws: cdk synth wrote no template"
echo "ok   aws: cdk synth (offline) -> cdk.out/DhatuEks.template.json ($(wc -c <cdk.out/DhatuEks.template.json) bytes)"
if out=$(node --test test/ 2>&1); then
  echo "ok   aws: assertions on the synthesized CloudFormation ($(grep -E '^# pass' <<<"$out" | cut -c3-) of $(grep -E '^# tests' <<<"$out" | cut -c9-))"
else
  grep -A20 "^not ok" <<<"$out"
  fail "aws: assertions"
fi
