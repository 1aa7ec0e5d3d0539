#!/usr/bin/env bash
# gke/cluster.sh -- a GKE cluster for dhatu-stream (deploy/k8s), as gcloud commands.
#
#   deploy/clouds/gke/cluster.sh            print the commands (the default)
#   deploy/clouds/gke/cluster.sh --apply    run them (gcloud and helm, logged in)
#
# NOT RUN HERE: no Google Cloud account is reachable from where this project is
# built. The script is linted (shellcheck) and its printed plan is checked by
# deploy/clouds/test.sh; the commands were reviewed against the gcloud reference.
# Deployment Manager is retired; these are the supported CLI calls.
#
# Pools, matching what deploy/k8s/components expect of the nodes:
#   default-pool   2-20 nodes (cluster autoscaler, region-wide totals)
#   "cpu-spot"     Spot VMs, 0-20, tainted cloud.google.com/gke-spot=true:NoSchedule
#                  (GKE labels Spot nodes so; the taint keeps other pods off)
#   "gpu"          NVIDIA L4, 1-8, driver installed by GKE; GKE taints GPU nodes
#                  nvidia.com/gpu=present:NoSchedule, we add nvidia.com/gpu.present=true
# Secrets are encrypted with a Cloud KMS key (application-layer encryption);
# Workload Identity is on (GKE's IAM roles for service accounts); Dataplane
# V2 enforces the NetworkPolicy of deploy/k8s/base. Spot VMs get 30 s of
# notice on GKE, not 120: docs/DEPLOY.md says how to shorten the shutdown.
set -euo pipefail
PROJECT=${PROJECT:-my-project}
REGION=${REGION:-europe-west4}
CLUSTER=${CLUSTER:-dhatu}
KMS_KEY=${KMS_KEY:-projects/$PROJECT/locations/$REGION/keyRings/dhatu/cryptoKeys/gke-secrets}
apply=0
[ "${1:-}" = --apply ] && apply=1
run() {
  if [ "$apply" = 1 ]; then "$@"; else printf '%q ' "$@"; printf '\n'; fi
}

run gcloud container clusters create "$CLUSTER" \
  --project "$PROJECT" --region "$REGION" --release-channel regular \
  --enable-ip-alias --enable-dataplane-v2 --enable-shielded-nodes \
  --workload-pool "$PROJECT.svc.id.goog" \
  --database-encryption-key "$KMS_KEY" \
  --logging SYSTEM,WORKLOAD --monitoring SYSTEM \
  --machine-type c3-standard-4 --num-nodes 1 \
  --enable-autoscaling --total-min-nodes 2 --total-max-nodes 20 \
  --node-labels dhatu.io/pool=cpu

run gcloud container node-pools create cpu-spot \
  --project "$PROJECT" --region "$REGION" --cluster "$CLUSTER" \
  --spot --machine-type c3-standard-4 --num-nodes 0 \
  --enable-autoscaling --total-min-nodes 0 --total-max-nodes 20 \
  --node-labels dhatu.io/pool=spot \
  --node-taints cloud.google.com/gke-spot=true:NoSchedule

run gcloud container node-pools create gpu \
  --project "$PROJECT" --region "$REGION" --cluster "$CLUSTER" \
  --machine-type g2-standard-8 --accelerator type=nvidia-l4,count=1,gpu-driver-version=default \
  --num-nodes 1 --enable-autoscaling --total-min-nodes 1 --total-max-nodes 8 \
  --node-labels dhatu.io/pool=gpu,nvidia.com/gpu.present=true

run gcloud container clusters get-credentials "$CLUSTER" --project "$PROJECT" --region "$REGION"
# KEDA and Strimzi from their charts (GKE has no add-on for either).
run helm upgrade --install keda keda --repo https://kedacore.github.io/charts \
  --namespace keda --create-namespace --version 2.16.1
run helm upgrade --install strimzi strimzi-kafka-operator --repo https://strimzi.io/charts/ \
  --namespace kafka --create-namespace --version 0.45.0
