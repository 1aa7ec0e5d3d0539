#!/usr/bin/env bash
# pipeline.sh [CORPUS] -- end-to-end benchmark of dhatu-consumer on a local
# broker (its own: port 29092, state under build/bench-kafka, wiped after).
# Pre-loads an 8-partition topic with the corpus (Avro, via dhatu-producer),
# then drains it, one consumer at a time, with a fresh group and output topic:
#   (a) --passthrough: decode, encode a minimal record, produce, commit (no engine)
#   (b) dhatu-consumer, model lexicon and seed, on each backend of
#       DHATU_BENCH_BACKENDS (default "cpu"; e.g. "cpu opencl")
# Rates are first article to last acknowledgement (group join and idle exit
# excluded), as the consumer's summary line prints them. Draining a backlog
# is also the lag-recovery rate. Prints one line per run; run it twice and
# compare ratios within one run (shared, noisy machines).
# FORMAT=json: JSON articles in and JSON records out (default avro).
# DHATU_BENCH_BASELINE=PATH also runs another dhatu-consumer binary (an older
# build) in each round, alternating with this one, for A/B comparisons.
# DHATU_BENCH_SWEEP="1024 4096 16384" also runs the lexicon model on each
# backend at each batch.max_articles (batch.max_bytes 2 KiB per article), with
# batch.max_in_flight batches in flight: the batch-size sweep of bench/gpu.sh.
# B (or DHATU_BENCH_BUILD): the build directory (default build; bench/lib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=${1:-../shared/corpora/arxiv_abstracts_en.jsonl}
. bench/lib.sh
bench_broker kafka 29092
tin=bench-in-$$
"$K" topic "$tin" 8
# Four copies of the corpus: a backlog long enough to time (same ids: keys repeat).
bench_feed "$tin" "${FORMAT:-avro}" "$CORPUS" "$CORPUS" "$CORPUS" "$CORPUS" || true
echo "corpus 4 x $CORPUS: 4 x $(wc -l <"$CORPUS") lines, $(du -m "$CORPUS" | cut -f1) MB; machine $(nproc) cores, $(uname -r)"
run() {  # name, consumer args... (the binary: $bin)
  local name=$1; shift
  local tout=bench-out-$name-$$
  "$K" topic "$tout" 8
  local line
  line=$("${bin:-$B/consumer/dhatu-consumer}" -q -b "$brokers" -t "$tin" -o "$tout" -d bench-dlq-$$ -g "bench-$name-$$" \
         --exit-idle 2000 -s http.port=0 --format "${FORMAT:-avro}" "$@" 2>&1 | grep -E "(clean exit|UNCLEAN exit|FAILED): " | tail -n 1)
  echo "$name: $(sed -E 's/.*((clean|UNCLEAN) exit|FAILED): /\1: /' <<<"$line")"
  "$K" delete-topic "$tout"
}
"$K" topic bench-dlq-$$ 1
for round in 1 2; do
  run "passthrough-r$round" -B cpu --passthrough
  if [ -n "${DHATU_BENCH_BASELINE:-}" ]; then
    bin=$DHATU_BENCH_BASELINE run "baseline-passthrough-r$round" -B cpu --passthrough
  fi
  for backend in ${DHATU_BENCH_BACKENDS:-cpu}; do
    run "lexicon-$backend-r$round" -B "$backend" -m lexicon
    if [ -n "${DHATU_BENCH_BASELINE:-}" ]; then
      bin=$DHATU_BENCH_BASELINE run "baseline-lexicon-$backend-r$round" -B "$backend" -m lexicon
    fi
    run "seed-$backend-r$round" -B "$backend" -m seed
    if [ -n "${DHATU_BENCH_BASELINE:-}" ]; then
      bin=$DHATU_BENCH_BASELINE run "baseline-seed-$backend-r$round" -B "$backend" -m seed
    fi
    for n in ${DHATU_BENCH_SWEEP:-}; do
      run "lexicon-$backend-batch$n-r$round" -B "$backend" -m lexicon -s batch.max_articles="$n" \
        -s batch.max_bytes=$((n * 2048))
    done
  done
done
