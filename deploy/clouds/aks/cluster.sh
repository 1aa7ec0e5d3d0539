#!/usr/bin/env bash
# aks/cluster.sh -- an AKS cluster for dhatu-stream (deploy/k8s), as az commands.
#
#   deploy/clouds/aks/cluster.sh            print the commands (the default)
#   deploy/clouds/aks/cluster.sh --apply    run them (az and helm, logged in)
#
# NOT RUN HERE: no Azure subscription is reachable from where this project is
# built. The script is linted (shellcheck) and its printed plan is checked by
# deploy/clouds/test.sh; the commands were reviewed against the az reference.
#
# Pools, matching what deploy/k8s/components expect of the nodes:
#   system/"cpu"   2-20 nodes (cluster autoscaler)
#   "spot"         Spot priority, 0-20; AKS taints and labels Spot nodes
#                  kubernetes.azure.com/scalesetpriority=spot (components/spot
#                  tolerates it); eviction deletes the VM
#   "gpu"          NVIDIA T4, 1-8, tainted nvidia.com/gpu=present:NoSchedule,
#                  labelled nvidia.com/gpu.present=true
# Secrets are encrypted with a Key Vault key (KMS plugin); the OIDC issuer
# and workload identity are on (AKS's IAM roles for service accounts);
# Cilium enforces the NetworkPolicy of deploy/k8s/base; KEDA is AKS's add-on.
# Spot VMs get 30 s of notice on Azure: docs/DEPLOY.md.
set -euo pipefail
RG=${RG:-dhatu}
LOCATION=${LOCATION:-westeurope}
CLUSTER=${CLUSTER:-dhatu}
KEY_ID=${KEY_ID:-https://dhatu-kv.vault.azure.net/keys/aks-secrets/0000000000000000}
apply=0
[ "${1:-}" = --apply ] && apply=1
run() {
  if [ "$apply" = 1 ]; then "$@"; else printf '%q ' "$@"; printf '\n'; fi
}

run az group create --name "$RG" --location "$LOCATION"
run az aks create --resource-group "$RG" --name "$CLUSTER" --location "$LOCATION" \
  --tier standard --generate-ssh-keys \
  --network-plugin azure --network-plugin-mode overlay --network-dataplane cilium \
  --enable-oidc-issuer --enable-workload-identity --enable-keda \
  --enable-azure-keyvault-kms --azure-keyvault-kms-key-id "$KEY_ID" \
  --nodepool-name cpu --node-vm-size Standard_D4s_v5 --node-count 2 \
  --enable-cluster-autoscaler --min-count 2 --max-count 20 \
  --nodepool-labels dhatu.io/pool=cpu

run az aks nodepool add --resource-group "$RG" --cluster-name "$CLUSTER" --name spot \
  --priority Spot --eviction-policy Delete --spot-max-price -1 \
  --node-vm-size Standard_D4s_v5 --node-count 0 \
  --enable-cluster-autoscaler --min-count 0 --max-count 20 \
  --labels dhatu.io/pool=spot \
  --node-taints kubernetes.azure.com/scalesetpriority=spot:NoSchedule

run az aks nodepool add --resource-group "$RG" --cluster-name "$CLUSTER" --name gpu \
  --node-vm-size Standard_NC4as_T4_v3 --node-count 1 \
  --enable-cluster-autoscaler --min-count 1 --max-count 8 \
  --labels dhatu.io/pool=gpu nvidia.com/gpu.present=true \
  --node-taints nvidia.com/gpu=present:NoSchedule

run az aks get-credentials --resource-group "$RG" --name "$CLUSTER"
# NVIDIA's device plugin (nvidia.com/gpu) and Strimzi from their charts.
run helm upgrade --install nvdp nvidia-device-plugin --repo https://nvidia.github.io/k8s-device-plugin \
  --namespace kube-system --version 0.17.0 \
  --set-json 'tolerations=[{"key":"nvidia.com/gpu","operator":"Exists","effect":"NoSchedule"}]' \
  --set-json 'nodeSelector={"nvidia.com/gpu.present":"true"}'
run helm upgrade --install strimzi strimzi-kafka-operator --repo https://strimzi.io/charts/ \
  --namespace kafka --create-namespace --version 0.45.0
