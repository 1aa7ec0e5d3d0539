#!/usr/bin/env bash
# registry.sh [CORPUS] -- the cost of the Confluent registry framing against
# Avro single-object encoding, end to end, on one broker and one Apicurio
# registry of its own (ports 29392 and 29500, state under $B, wiped after).
# Two input topics hold the same articles (four copies of the corpus): one
# single-object (dhatu-producer -f avro), one registry-framed (-f avro-registry).
# Each round drains both with a fresh group: avro in and out, then
# registry-framed in and avro-registry out (writer schema looked up, record
# schema registered, every record framed). Rates are first article to last
# acknowledgement, from the consumer's summary, which also counts registry
# requests: one lookup and one registration per run, whatever the volume.
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=${1:-../shared/corpora/arxiv_abstracts_en.jsonl}
. bench/lib.sh
export REGISTRY_PORT=29500 REGISTRY_STATE_DIR=$PWD/$B/bench-registry
bench_broker registry-kafka 29392
bench_on_exit 'deploy/local/registry.sh wipe'
url=$(deploy/local/registry.sh start | tail -n 1)
"$K" topic bench-so 8
"$K" topic bench-cf 8
"$K" topic bench-dlq 1
P="$B/producer/dhatu-producer"
"$P" -q -b "$brokers" -t bench-so -f avro "$CORPUS" "$CORPUS" "$CORPUS" "$CORPUS" || true
"$P" -q -b "$brokers" -t bench-cf -f avro-registry --registry "$url" "$CORPUS" "$CORPUS" "$CORPUS" "$CORPUS" || true
echo "corpus 4 x $CORPUS: 4 x $(wc -l <"$CORPUS") lines, $(du -m "$CORPUS" | cut -f1) MB; machine $(nproc) cores, $(uname -r)"
run() {  # name, input topic, consumer args...
  local name=$1 tin=$2; shift 2
  local tout=bench-out-$name
  "$K" topic "$tout" 8
  local line
  line=$("$B/consumer/dhatu-consumer" -q -b "$brokers" -t "$tin" -o "$tout" -d bench-dlq -g "bench-$name" -B cpu \
         --exit-idle 2000 -s http.port=0 "$@" 2>&1 | grep -E "(clean exit|UNCLEAN exit|FAILED): " | tail -n 1)
  echo "$name: $(sed -E 's/.*((clean|UNCLEAN) exit|FAILED): /\1: /' <<<"$line")"
  "$K" delete-topic "$tout"
}
for round in 1 2 3; do
  run "single-object-r$round" bench-so --format avro
  run "registry-r$round" bench-cf -s registry.url="$url" --format avro-registry
done
