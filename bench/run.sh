#!/usr/bin/env bash
# bench/run.sh -- the engine benchmarks of bench/results.md, side by side in
# one run (this machine is shared and noisy: compare ratios within a run).
# usage: bench/run.sh [CORPORA_DIR]   (default ../shared/corpora)
set -euo pipefail
cd "$(dirname "$0")/.."
C=${1:-../shared/corpora}
. bench/lib.sh
scripts/build.sh "$B" >/dev/null
V=$B/vectorize/dhatu-vectorize
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(uname -m), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), commit $(git rev-parse --short HEAD)"
echo "## seed-like short texts (--synthetic 200000), cpu backend"
for j in 1 0; do "$V" --bench --synthetic 200000 --rounds 5 -j "$j" -m seed,lexicon -B cpu; done
echo "## seed-like short texts (--synthetic 20000), cpu-ref oracle vs cpu, one thread"
"$V" --bench --synthetic 20000 --rounds 2 -j 1 -m seed,lexicon -B cpu-ref,cpu
for f in bbc_news_en arxiv_abstracts_en cligs_fiction19_fr nasty; do
  [ -f "$C/$f.jsonl" ] || { echo "## $f: skipped ($C/$f.jsonl not found)"; continue; }
  echo "## $f.jsonl, cpu backend"
  for j in 1 0; do "$V" --bench --rounds 3 -j "$j" -m lexicon,seed -B cpu "$C/$f.jsonl" 2>&1; done
done
