#!/usr/bin/env bash
# memory.sh [COPIES] -- peak memory of dhatu-consumer draining a backlog of a
# million articles (the arXiv corpus COPIES times, default 20: 1,000,000
# articles, keys repeat) from an 8-partition topic with 2 consumers, as the
# README's tour runs them, once per configuration: our defaults, and our
# defaults with librdkafka's own queue sizes put back (-X), to show what the
# bounds cost. Its own broker (port 29192, state under build/bench-memory,
# wiped after). Prints each consumer's summary: rate and peak RSS.
# FORMAT=json feeds JSON articles (default avro); MEMBERS sets the number
# of consumers (default 2); EXTRA adds consumer arguments to every run
# (e.g. EXTRA="-m seed"); CONFIGS picks the runs (defaults, prefetch32,
# prefetch48, prefetch64, arena2: glibc's malloc held to 2 arenas,
# producer32: a 32 MiB producer queue, prefetch48-producer32,
# librdkafka-queues; default the first and the last).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
CORPUS=${CORPUS:-../shared/corpora/arxiv_abstracts_en.jsonl}
copies=${1:-20}
bench_broker memory 29192
tin=mem-in-$$
"$K" topic "$tin" 8
files=()
for ((i = 0; i < copies; i++)); do files+=("$CORPUS"); done
t0=$(date +%s.%N)
bench_feed "$tin" "${FORMAT:-avro}" "${files[@]}"
echo "produced $((copies * $(wc -l <"$CORPUS"))) articles in $(echo "$(date +%s.%N) - $t0" | bc) s; $(nproc) cores, $(uname -r), $(date -u +%F)"
"$K" topic mem-dlq-$$ 1
nrun=0
run() {  # name, extra consumer args...
  local name=$1; shift
  nrun=$((nrun + 1))   # a configuration may run twice: a fresh group each time
  local tout=mem-out-$name-$$-$nrun
  "$K" topic "$tout" 8
  local pids=() i m=${MEMBERS:-2}
  for ((i = 1; i <= m; i++)); do
    # shellcheck disable=SC2086 # EXTRA is a list of arguments
    "$B/consumer/dhatu-consumer" ${EXTRA:-} -q -b "$brokers" -t "$tin" -o "$tout" -d mem-dlq-$$ -g "mem-$name-$$-$nrun" \
      -B cpu --exit-idle 3000 -s http.port=-1 "$@" 2>"$B/bench-memory-$name-$i.log" &
    pids+=($!)
  done
  for ((i = 1; i <= m; i++)); do wait "${pids[$((i - 1))]}" || echo "$name: consumer $i failed"; done
  for ((i = 1; i <= m; i++)); do
    echo "$name consumer $i: $(grep -E '(clean exit|UNCLEAN exit|FAILED): ' "$B/bench-memory-$name-$i.log" |
      sed -E 's/.*((clean|UNCLEAN) exit|FAILED): /\1: /')"
  done
  "$K" delete-topic "$tout"
}
for config in ${CONFIGS:-defaults librdkafka-queues}; do
  case $config in
    defaults) run defaults ;;
    prefetch32) run prefetch32 -X queued.max.messages.kbytes=32768 ;;
    prefetch48) run prefetch48 -X queued.max.messages.kbytes=49152 ;;
    arena2) (export MALLOC_ARENA_MAX=2; run arena2) ;;
    producer32) run producer32 -X queue.buffering.max.kbytes=32768 ;;
    prefetch48-producer32) run prefetch48-producer32 -X queued.max.messages.kbytes=49152 \
        -X queue.buffering.max.kbytes=32768 ;;
    prefetch64) run prefetch64 -X queued.max.messages.kbytes=65536 ;;
    librdkafka-queues) run librdkafka-queues -X queued.min.messages=100000 -X queued.max.messages.kbytes=65536 \
        -X queue.buffering.max.messages=100000 -X queue.buffering.max.kbytes=1048576 ;;
    *) echo "unknown configuration $config" >&2; exit 2 ;;
  esac
done
