#!/usr/bin/env bash
# scaling.sh [COUNT] -- which resource limits dhatu-consumer: one consumer
# with 1 and 2 engine threads (engine.threads, the cpu backend's workers),
# then 1, 2 and 4 consumers of one group, each draining the same backlog of
# COUNT articles (default 400,000: arXiv abstracts with distinct ids) from 8
# partitions, with a fresh group and output topic, on one broker of its own
# (port 29692, state under build/bench-scaling, wiped after) on the same
# cores. Prints per configuration: the group's rate (COUNT over the group's
# window: the first to the last processed_at of its records, bench/span.py;
# the longest member's own window is printed beside it), and the CPU each
# side used in that run as cores: its CPU seconds (consumers: user + system
# of every member, start to exit; the broker: from before the members start
# to after they exit) over the window. Both include a little outside the
# window (start-up, joining, the idle exit), so they lean high.
# FORMAT=json|avro (default json); MODEL (default seed); ROUNDS (default 2);
# CONFIGS (default "1x1 1x2 2 4": consumers x engine threads, or a number of
# consumers). The members' logs stay in build/bench-scaling-logs.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
COUNT=${1:-400000}
FORMAT=${FORMAT:-json}
MODEL=${MODEL:-seed}
CORPUS=${CORPUS:-../shared/corpora/arxiv_abstracts_en.jsonl}
work=$PWD/$B/bench-scaling-work
logs=$PWD/$B/bench-scaling-logs     # members' logs, kept
rm -rf "$logs"
mkdir -p "$work" "$logs"
bench_on_exit 'rm -rf "$work"'
bench_broker scaling "${SCALING_KAFKA_PORT:-29692}"
bench/distinct.py "$CORPUS" "$COUNT" >"$work/in.jsonl"
tin=scaling-in-$$
"$K" topic "$tin" 8
bench_feed "$tin" "$FORMAT" "$work/in.jsonl"
"$K" topic scaling-dlq-$$ 1
bpid=$("$K" broker 1 pid)
broker_cpu() { awk '{print ($14 + $15) / 100}' "/proc/$bpid/stat"; }
echo "$COUNT articles ($FORMAT, model $MODEL), $(nproc) cores, $(uname -r), $(date -u +%F)"

run() {  # name, members, consumer args...
  local name=$1 members=$2; shift 2
  local tout=scaling-out-$name-$$ pids=() i b0 b1 t0 t1 cpu=0 window=0 total=0
  "$K" topic "$tout" 8
  b0=$(broker_cpu)
  t0=$(date +%s.%N)
  for ((i = 1; i <= members; i++)); do
    /usr/bin/time -f "TIME %U %S %M" "$B/consumer/dhatu-consumer" -q -b "$brokers" -t "$tin" -o "$tout" \
      -d scaling-dlq-$$ -g "scaling-$name-$$" --exit-idle 3000 -s http.port=-1 --format "$FORMAT" -B cpu \
      -m "$MODEL" "$@" >"$logs/$name-$i.log" 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || echo "$name: a member failed"; done
  t1=$(date +%s.%N)
  b1=$(broker_cpu)
  for ((i = 1; i <= members; i++)); do
    local line u s w n
    line=$(grep -E '(clean exit|UNCLEAN exit|FAILED): ' "$logs/$name-$i.log" | tail -n 1)
    read -r _ u s _ < <(grep '^TIME ' "$logs/$name-$i.log" | tail -n 1)
    cpu=$(echo "$cpu + $u + $s" | bc -l)
    n=$(sed -E 's/.*: ([0-9]+) articles consumed.*/\1/' <<<"$line")
    total=$((total + n))
    w=$(sed -nE 's/.*last acknowledgement ([0-9.]+) s.*/\1/p' <<<"$line")
    [ -n "$w" ] && window=$(echo "if ($w > $window) $w else $window" | bc -l)
    grep -q 'clean exit' <<<"$line" || echo "  member $i: $line"
  done
  local wall n first last span
  wall=$(echo "$t1 - $t0" | bc -l)
  # The group's window from its output: the first and last processed_at
  # of its records (members joined at different times: the longest
  # member's own window would leave out when the others ran).
  read -r n first last < <("$B/tools/dhatu-dump" -b "$brokers" -t "$tout" --timeout-ms 5000 2>/dev/null | bench/span.py)
  span=$(echo "($last - $first) / 1000" | bc -l)
  [ "$n" = "$COUNT" ] || echo "  $name: $n records in $tout, not $COUNT"
  printf '%-28s %8.0f articles/s  consumers %4.2f cores  broker %4.2f cores  %5.1f us CPU/article  (%d articles, group window %.2f s, longest member %.2f s, wall %.1f s)\n' \
    "$name:" "$(echo "$COUNT / $span" | bc -l)" "$(echo "$cpu / $span" | bc -l)" \
    "$(echo "($b1 - $b0) / $span" | bc -l)" "$(echo "$cpu * 1000000 / $COUNT" | bc -l)" "$total" "$span" "$window" "$wall"
  "$K" delete-topic "$tout"
}
for round in $(seq 1 "${ROUNDS:-2}"); do
  for config in ${CONFIGS:-1x1 1x2 2 4}; do
    case $config in
      1x1) run "1-consumer-1-thread-r$round" 1 -s engine.threads=1 ;;
      1x2) run "1-consumer-2-threads-r$round" 1 -s engine.threads=2 ;;
      *)   run "$config-consumers-r$round" "$config" ;;
    esac
  done
done
