#!/usr/bin/env bash
# run.sh -- the main job on a fresh machine: installs dependencies, builds,
# and vectorizes the shipped sample corpus (data/arxiv_sample_500.jsonl),
# printing a few records and a throughput summary.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh build >/dev/null
V=build/vectorize/dhatu-vectorize
SAMPLE=data/arxiv_sample_500.jsonl
out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "== dhatu-vectorize $SAMPLE (model lexicon, backend cpu): first 3 of the records"
"$V" "$SAMPLE" >"$out"
head -n 3 "$out"
echo "== $(wc -l <"$out") records written"
echo "== throughput on the sample (engine only, both models)"
"$V" --bench --rounds 5 -m seed,lexicon -B cpu "$SAMPLE" | grep -v '^{'
