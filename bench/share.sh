#!/usr/bin/env bash
# share.sh [COUNT] -- members of a share group (kafka.group_type=share,
# KIP-932) against the same members in an ordinary consumer group, on a
# 2-partition topic, where a consumer group can keep at most 2 members
# busy (issue 29). One Kafka 4.4.0 broker of its own (port 29892, state
# under $B/bench-share, wiped after) on the same cores. For each of MEMBERS
# (default "1 2 4 8") and each group type, alternating which goes first:
# the members start, join (8 s: a share member gets its partitions on a
# heartbeat, 5 s apart by default), then dhatu-producer writes COUNT
# articles (default 400,000 arXiv abstracts with distinct ids) as fast as
# it can, on the same 2 cores. Prints per configuration: the group's rate
# (COUNT over the group's window: the first to the last processed_at of its
# records, bench/span.py; members exit after 15 s without an article), how
# many members got work and the articles each, CPU per article (user +
# system of every member, start to exit, over COUNT), records delivered
# more than once. BACKLOG=1: the articles are produced first and the
# members started together on the backlog (the producer then takes no CPU
# from them; a member that joins late gets less). FORMAT (default json),
# MODEL (default seed), ROUNDS (default 2), ARGS (more consumer options).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
COUNT=${1:-400000}
FORMAT=${FORMAT:-json}
MODEL=${MODEL:-seed}
CORPUS=${CORPUS:-../shared/corpora/arxiv_abstracts_en.jsonl}
work=$PWD/$B/bench-share-work
logs=$PWD/$B/bench-share-logs     # members' logs, kept
rm -rf "$logs"
mkdir -p "$work" "$logs"
bench_on_exit 'rm -rf "$work"'
export KAFKA_VERSION=${KAFKA_VERSION:-4.4.0}
bench_broker share "${SHARE_KAFKA_PORT:-29892}"
bench/distinct.py "$CORPUS" "$COUNT" >"$work/in.jsonl"
"$K" topic share-dlq-$$ 1
if [ "${BACKLOG:-0}" = 0 ]; then how="the producer runs beside the members"; else how="a backlog produced first"; fi
echo "$COUNT articles ($FORMAT, model $MODEL) on 2 partitions, Kafka $KAFKA_VERSION, $(nproc) cores," \
     "$(uname -r), $(date -u +%F); $how"

run() {  # name members type round
  local name=$1 members=$2 type=$3 round=$4
  local tin=share-in-$name-$$ tout=share-out-$name-$$ pids=() i cpu=0 window=0 total=0 busy=0 spread= again=0
  "$K" topic "$tin" 2
  "$K" topic "$tout" 2
  [ "${BACKLOG:-0}" = 0 ] || bench_feed "$tin" "$FORMAT" "$work/in.jsonl"
  for ((i = 1; i <= members; i++)); do
    # shellcheck disable=SC2086
    /usr/bin/time -f "TIME %U %S %M" "$B/consumer/dhatu-consumer" -b "$brokers" -t "$tin" -o "$tout" \
      -d share-dlq-$$ -g "share-$name-$$" --exit-idle 15000 -s http.port=-1 -s kafka.group_type="$type" \
      --format "$FORMAT" -B cpu -m "$MODEL" ${ARGS:-} >"$logs/$name-$i.log" 2>&1 &
    pids+=($!)
  done
  if [ "${BACKLOG:-0}" = 0 ]; then sleep 8; bench_feed "$tin" "$FORMAT" "$work/in.jsonl"; fi
  for p in "${pids[@]}"; do wait "$p" || echo "$name: a member failed"; done
  for ((i = 1; i <= members; i++)); do
    local line u s w n a
    line=$(grep -E '(clean exit|UNCLEAN exit|FAILED): ' "$logs/$name-$i.log" | tail -n 1)
    read -r _ u s _ < <(grep '^TIME ' "$logs/$name-$i.log" | tail -n 1)
    cpu=$(echo "$cpu + $u + $s" | bc -l)
    n=$(sed -nE 's/.*: ([0-9]+) articles consumed.*/\1/p' <<<"$line")
    n=${n:-0}
    total=$((total + n))
    [ "$n" -gt 0 ] && busy=$((busy + 1))
    spread+="${spread:+ }$n"
    w=$(sed -nE 's/.*last acknowledgement ([0-9.]+) s.*/\1/p' <<<"$line")
    [ -n "$w" ] && window=$(echo "if ($w > $window) $w else $window" | bc -l)
    a=$(sed -nE 's/.*share group: ([0-9]+) records? delivered more than once.*/\1/p' "$logs/$name-$i.log" | tail -n 1)
    again=$((again + ${a:-0}))
    grep -q 'clean exit' <<<"$line" || echo "  member $i: $line"
  done
  local n first last span
  read -r n first last < <("$B/tools/dhatu-dump" -b "$brokers" -t "$tout" --timeout-ms 5000 2>/dev/null | bench/span.py)
  span=$(echo "($last - $first) / 1000" | bc -l)
  [ "$n" != 0 ] || { echo "$name: no record (logs in $logs)"; span=1e9; }
  [ "$n" -ge "$COUNT" ] || echo "  $name: $n records in $tout, fewer than $COUNT"
  printf '%-24s %8.0f articles/s  %d of %d members busy (%s)  %5.1f us CPU/article  redelivered %d  (%d consumed, group window %.2f s, longest member %.2f s)\n' \
    "$name:" "$(echo "$COUNT / $span" | bc -l)" "$busy" "$members" "$spread" "$(echo "$cpu * 1000000 / $COUNT" | bc -l)" \
    "$again" "$total" "$span" "$window"
  "$K" delete-topic "$tin"
  "$K" delete-topic "$tout"
}
for round in $(seq 1 "${ROUNDS:-2}"); do
  for n in ${MEMBERS:-1 2 4 8}; do
    if [ $((round % 2)) -eq 1 ]; then order="share consumer"; else order="consumer share"; fi
    for type in $order; do run "$type-$n-r$round" "$n" "$type" "$round"; done
  done
done
