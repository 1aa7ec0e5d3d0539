#!/usr/bin/env bash
# scale.sh -- a million real articles through the production-like cluster.
#
#   bench/scale.sh [ARTICLES] [CONSUMER_COUNTS] [MODES] [SECURITIES]
#   defaults:       1000000   "1 2 4"           "alo eos" "sasl_ssl plaintext"
#
# For each security (its own three-broker cluster, replication factor 3,
# min.insync.replicas 2, started by deploy/local/kafka.sh on ports 39092..
# with its state under build/bench-scale, wiped after): the arXiv corpus
# repeated with distinct ids up to ARTICLES is produced into an 8-partition
# input topic (Avro, lz4, acks=all), then drained by 1, 2 and 4 consumers in
# a fresh group per run (at-least-once and exactly-once), each leaving when
# idle. Per run it prints the consumers' wall time from start to the last
# exit (group join and the idle wait included, the idle wait subtracted),
# articles/s, MB/s of input, the end-to-end latency quantiles from the
# consumers' /metrics (produce timestamp of the input to acknowledgement of
# the record), the peak RSS of each consumer, lost and duplicate ids.
# FAULTS=1: in each run, 8 s after the consumers start, kill -9 consumer 1
# and broker 2; 15 s later start both again (the consumer with the same
# arguments). The lost and duplicate counts then say what the failures cost.
# Run on an otherwise idle machine; compare ratios within one run.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
COUNTS=${2:-"1 2 4"}
MODES=${3:-"alo eos"}
SECURITIES=${4:-"sasl_ssl plaintext"}
. bench/lib.sh
CORPUS=${DHATU_SCALE_CORPUS:-../shared/corpora/arxiv_abstracts_en.jsonl}
work=$PWD/$B/bench-scale
mkdir -p "$work"
input=$work/articles-$N.jsonl
if [ ! -s "$input" ]; then
  python3 - "$CORPUS" "$N" >"$input" <<'EOF'
import json, sys
src = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
n = int(sys.argv[2])
for i in range(n):
    a = dict(src[i % len(src)])
    a["id"] = "%s~%d" % (a["id"], i // len(src))
    print(json.dumps(a, ensure_ascii=False))
EOF
fi
mb=$(du -m "$input" | cut -f1)
echo "# scale.sh: $N articles ($mb MB JSON), $(nproc) cores, $(uname -r), $(date -u +%FT%TZ)"
echo "# brokers: 3 KRaft, RF 3, min.insync.replicas 2; consumers: lexicon on cpu, 1 engine thread each"

idle=5000
for sec in $SECURITIES; do
  export KAFKA_BROKERS=3 KAFKA_SECURITY=$sec KAFKA_PORT=39092 KAFKA_STATE_DIR=$work/kafka-$sec KAFKA_HEAP=768m
  K=deploy/local/kafka.sh
  "$K" wipe
  brokers=$("$K" start | tail -n 1)
  trap '"$K" wipe' EXIT
  F() { [ "$sec" = plaintext ] || echo "-F $KAFKA_STATE_DIR/clients/$1.properties"; }
  tin=scale-in
  "$K" topic "$tin" 8
  # The producer's Write on the input (the per-run grants below add the rest).
  [ "$sec" = plaintext ] || "$K" grant "$tin" scale-out-none scale-dlq-none scale-none
  t0=$(date +%s.%N)
  # shellcheck disable=SC2046
  "$B/producer/dhatu-producer" -q -b "$brokers" $(F dhatu-producer) -t "$tin" "$input"
  t1=$(date +%s.%N)
  echo "[$sec] produce: $N articles in $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}') s"
  for mode in $MODES; do
    for k in $COUNTS; do
      run=$sec-$mode-$k
      tout=scale-out-$mode-$k tdlq=scale-dlq-$mode-$k group=scale-$mode-$k
      "$K" topic "$tout" 8; "$K" topic "$tdlq" 1
      [ "$sec" = plaintext ] || "$K" grant "$tin" "$tout" "$tdlq" "$group"
      ex=(); [ "$mode" = eos ] && ex=(--exactly-once)
      pids=()
      s0=$(date +%s.%N)
      member() {  # i [log suffix]: starts consumer i in the background
        # shellcheck disable=SC2046
        /usr/bin/time -f "%M" -o "$work/$run-$1$2.rss" "$B/consumer/dhatu-consumer" -q -b "$brokers" \
          $(F dhatu-consumer) -t "$tin" -o "$tout" -d "$tdlq" -g "$group" -B cpu -m lexicon -s engine.threads=1 \
          -s http.port=$((39200 + $1)) -s http.stats_interval_ms=0 --exit-idle "$idle" "${ex[@]}" \
          >"$work/$run-$1$2.log" 2>&1 &
      }
      for i in $(seq 1 "$k"); do
        member "$i" ""
        pids+=($!)
      done
      if [ "${FAULTS:-0}" = 1 ]; then
        sleep 8
        # /usr/bin/time's child is the consumer: kill it, not time.
        pkill -KILL -P "${pids[0]}" || true
        "$K" broker 2 kill
        echo "[$sec] $mode x$k: consumer 1 and broker 2 killed (kill -9) at 8 s"
        wait "${pids[0]}" || true
        sleep 15
        "$K" broker 2 start
        member 1 "-restarted"
        pids[0]=$!
        echo "[$sec] $mode x$k: broker 2 and consumer 1 started again"
      fi
      # The latency histogram, read from each member just before it leaves.
      sleep 3
      lat=""
      while :; do
        alive=0
        for i in $(seq 1 "$k"); do
          if kill -0 "${pids[$((i - 1))]}" 2>/dev/null; then
            alive=1
            m=$(curl -s --max-time 1 "http://127.0.0.1:$((39200 + i))/metrics" || true)
            [ -n "$m" ] && echo "$m" | grep '^dhatu_end_to_end_seconds_bucket' >"$work/$run-$i.lat" || true
          fi
        done
        [ $alive = 1 ] || break
        sleep 1
      done
      st=0; for p in "${pids[@]}"; do wait "$p" || st=$?; done
      s1=$(date +%s.%N)
      secs=$(awk -v a="$s0" -v b="$s1" -v i="$idle" 'BEGIN {printf "%.3f", b - a - i / 1000}')
      rss=$(for i in $(seq 1 "$k"); do
        f=$work/$run-$i.rss; [ -s "$work/$run-$i-restarted.rss" ] && f=$work/$run-$i-restarted.rss
        printf '%s ' "$(( $(tail -n 1 "$f") / 1024 ))"; done)
      lat=$(cat "$work/$run"-*.lat 2>/dev/null | python3 -c '
import sys, re, collections
b = collections.Counter()
for l in sys.stdin:
    m = re.search(r"le=\"([^\"]+)\"\} (\d+)", l)
    if m: b[float("inf") if m.group(1) == "+Inf" else float(m.group(1))] += int(m.group(2))
les = sorted(b); tot = b[les[-1]] if les else 0
def q(p):
    for le in les:
        if b[le] >= p * tot: return "%gs" % le if le != float("inf") else "+Inf"
    return "?"
print("p50<=%s p99<=%s p999<=%s" % (q(.5), q(.99), q(.999)) if tot else "no data")')
      dumpf=$work/$run.out
      # shellcheck disable=SC2046
      "$B/tools/dhatu-dump" -b "$brokers" $(F admin) -t "$tout" $([ "$mode" = eos ] && echo --committed) \
        --timeout-ms 60000 | python3 -c '
import sys, json
ids = [json.loads(l)["id"] for l in sys.stdin if l.strip()]
n = int(sys.argv[1]); u = len(set(ids))
print("%d records, %d lost, %d duplicates" % (len(ids), n - u, len(ids) - u))' "$N" >"$dumpf"
      printf '[%s] %s x%d: exit %s, %.1f s, %.0f articles/s, %.1f MB/s, latency %s, RSS MiB %s, %s\n' \
        "$sec" "$mode" "$k" "$st" "$secs" "$(awk -v n="$N" -v s="$secs" 'BEGIN {print n / s}')" \
        "$(awk -v m="$mb" -v s="$secs" 'BEGIN {print m / s}')" \
        "$lat" "$rss" "$(cat "$dumpf")"
      "$K" delete-topic "$tout"
    done
  done
  "$K" wipe
  trap - EXIT
done
