#!/usr/bin/env bash
# vectorize.sh [CORPUS] -- dhatu-vectorize end to end (read JSON Lines, run
# the engine, write JSON records to a file, as users run it: /dev/null
# would skip the page cache) against its own engine
# (--bench on the same articles), both models, on a real corpus and on
# 200,000 generated short texts; two runs each, the ratio within each run.
# The target (issue 15) is end to end >= 0.5 of the engine.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
V=$B/vectorize/dhatu-vectorize
CORPUS=${1:-../shared/corpora/arxiv_abstracts_en.jsonl}
short=$(mktemp --suffix=.jsonl)
out=$(mktemp -p "$B" --suffix=.records.jsonl)
bench_on_exit 'rm -f "$short" "$out"'
python3 - "$short" <<'PY'
import json, sys
t = ["The quantum computational framework demonstrates significant algorithmic efficiency.",
     "Neural network architectures can model complex relationships between linguistic features.",
     "Distributed systems must handle network partitions while preserving data consistency.",
     "The proposed method evaluates semantic similarity through a sequence of iterative steps.",
     "Researchers observed that the measured effect depends on the initial conditions chosen.",
     "Statistical inference requires careful assessment of uncertainty in sampled populations.",
     "The algorithm selects an optimal strategy by comparing the expected cost of each option.",
     "Language models convey information by predicting the next token in a written message.",
     "Experimental results suggest a causal relation between memory access and performance.",
     "Recursive decomposition repeats the same operation until every subproblem is resolved."]
with open(sys.argv[1], "w") as f:
    for i in range(200000):
        f.write(json.dumps({"id": "s%06d" % i, "text": "Article %06d: %s Context %d, Domain %d." % (i, t[i % 10], i % 100, i % 20)}) + "\n")
PY
echo "machine: $(nproc) cores, $(uname -r); $(date -u +%F)"
for input in "$CORPUS" "$short"; do
  name=$(basename "$input"); [ "$input" = "$short" ] && name="short texts (200,000)"
  for model in lexicon seed; do
    for run in 1 2; do
      engine=$("$V" --bench --rounds 3 -m "$model" "$input" | grep '"bench":"dhatu-vectorize"' |
               sed -E 's/.*"articles_per_s":([0-9.]+).*/\1/')
      rm -f "$out"
      line=$("$V" -m "$model" "$input" 2>&1 >"$out" | tail -n 1)
      e2e=$(sed -E 's/.* ([0-9]+) articles\/s.*/\1/' <<<"$line")
      awk -v n="$name" -v m="$model" -v r="$run" -v e="$engine" -v x="$e2e" \
        'BEGIN { printf "%-28s %-8s run %d: engine %9.0f articles/s, end to end %9.0f articles/s, ratio %.2f\n", n, m, r, e, x, x / e }'
    done
  done
done
