#!/usr/bin/env bash
# peer.sh [COUNT] -- dhatu-consumer against a Kafka Streams 4.4.0 application
# doing the same work (bench/peers/kafka-streams/Peer.java: the seed model's
# record of every article), on one broker of its own (port 29592, state under
# build/bench-peer, wiped after), with the same input: COUNT articles
# (default 2,400,000, long enough for a steady warm JVM; arXiv abstracts
# repeated with distinct ids) in 8 partitions, for each format of FORMATS
# (default "json avro"). Each round runs both, alternating who goes first,
# with fresh groups and output topics. Prints per run: articles/s (whole:
# first article to last acknowledgement, or to the Streams close; warm: the
# same without Streams' first 10 s: a C program has no JIT to warm), CPU
# seconds per article, cores busy (CPU seconds over that window), peak RSS,
# the broker's CPU seconds; then per round the ratios ours/peer, whole-run
# and against Streams warm. After round 1 of each format, every record of
# both outputs is compared by input (partition, offset) (those at offsets
# below 25,000 in their partition), all fields but lineage.processed_at,
# processor and backend, doubles to 1e-15 relative; the script exits 1 when
# they disagree (or a side fails), after the other runs.
# JSON runs the peer in two styles (Jackson streaming by hand, and
# ObjectMapper data binding; JSON_STYLES) and gives the ratio against each;
# the faster warm is the one to quote. Each round then runs our member once
# more with the lexicon model (LEXICON=0: not), to show what the real model
# costs beside the seed model (the peer computes seed only).
# ROUNDS (default 2); MODEL for our side (default seed); ARGS: more consumer
# options (e.g. "-s engine.threads=2").
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
COUNT=${1:-2400000}
FORMATS=${FORMATS:-${FORMAT:-json avro}}
disagree=0
CORPUS=${CORPUS:-../shared/corpora/arxiv_abstracts_en.jsonl}
work=$PWD/$B/bench-peer-work
mkdir -p "$work"

# The peer's classpath (Maven) and class files.
peer=bench/peers/kafka-streams
(cd "$peer" && mvn -q -B -Dstyle.color=never dependency:build-classpath -Dmdep.outputFile="$work/cp.txt")
javac -nowarn -d "$work/classes" -cp "$(cat "$work/cp.txt")" "$peer/Peer.java"

bench_on_exit 'rm -rf "$work"'
bench_broker peer "${PEER_KAFKA_PORT:-29592}"
bench/distinct.py "$CORPUS" "$COUNT" >"$work/in.jsonl"
bpid=$("$K" broker 1 pid)
broker_cpu() { awk '{print ($14 + $15) / 100}' "/proc/$bpid/stat"; }
echo "$COUNT articles ($FORMATS), $(nproc) cores, $(uname -r), $(date -u +%F); broker pid $bpid;" \
     "$(java -version 2>&1 | head -n 1); $(grep -o 'kafka-streams-[0-9.]*jar' "$work/cp.txt" | head -n 1)"

# run NAME OUT_TOPIC CMD... : prints "NAME: rate, cpu/article, rss, broker cpu"
# and leaves the rate in $rate.
run() {
  local name=$1 tout=$2; shift 2
  local b0 b1 line log=$work/${1//[\/ ]/-}.log
  b0=$(broker_cpu)
  /usr/bin/time -f "TIME %U %S %M" "$@" >"$log" 2>&1 || { echo "$name: exit $? (log below)"; disagree=1; }
  b1=$(broker_cpu)
  read -r _ u s m < <(grep '^TIME ' "$log" | tail -n 1)
  if grep -q '^peer: ' "$log"; then
    line=$(grep '^peer: ' "$log")
    rate=$(sed -E 's/.*cold ([0-9]+)\/s.*/\1/' <<<"$line")
    warm=$(sed -E 's/.*warm ([0-9]+\/s|n\/a[^,]*).*/\1/' <<<"$line")
  else
    line=$(grep -E '(clean exit|UNCLEAN exit|FAILED): ' "$log" | tail -n 1)
    rate=$(sed -E 's/.*last acknowledgement [0-9.]+ s: ([0-9]+) articles\/s.*/\1/' <<<"$line")
    warm=-
  fi
  warm_rate=${warm%/s}
  # cores busy: CPU seconds over the whole-run window (COUNT / rate)
  printf '%-28s whole %7s/s  warm %-9s  %5.1f us CPU/article  %4.2f cores  peak RSS %4d MiB  broker %5.1f CPU s (%4.2f cores)\n' \
    "$name:" "$rate" "$warm" "$(echo "($u + $s) * 1000000 / $COUNT" | bc -l)" \
    "$(echo "($u + $s) * $rate / $COUNT" | bc -l)" $((m / 1024)) "$(echo "$b1 - $b0" | bc -l)" \
    "$(echo "($b1 - $b0) * $rate / $COUNT" | bc -l)"
  grep -qE '^peer: [0-9]+ records, 0 failed|clean exit' <<<"$line" || { echo "  $line"; tail -n 5 "$log"; }
}

ours() {  # round [model]
  local model=${2:-${MODEL:-seed}} tout=peer-ours-$1-$$
  [ -z "${2:-}" ] || tout=peer-ours-$2-$1-$$
  "$K" topic "$tout" 8
  # shellcheck disable=SC2086
  run "dhatu-consumer${2:+/$2} r$1" "$tout" "$B/consumer/dhatu-consumer" -q -b "$brokers" -t "$tin" -o "$tout" \
    -d peer-dlq-$$ -g "$tout" --exit-idle 2000 -s http.port=-1 --format "$FORMAT" -B cpu -m "$model" ${ARGS:-}
  [ -n "${2:-}" ] || ours_rate=$rate
  [ -z "${2:-}" ] || "$K" delete-topic "$tout"
}
streams() {  # round style
  local tout=peer-streams-$2-$1-$$
  "$K" topic "$tout" 8
  run "kafka-streams/$2 r$1" "$tout" java -Xms1g -Xmx1g -Dstyle="$2" -cp "$work/classes:$(cat "$work/cp.txt")" \
    -Djava.io.tmpdir="$work" Peer "$brokers" "$tin" "$tout" "peer-streams-$2-$1-$$" "$FORMAT" "$COUNT" schemas/avro
  peer_rate[$2]=$rate
  peer_warm[$2]=$warm_rate
}
"$K" topic peer-dlq-$$ 1
for FORMAT in $FORMATS; do
tin=peer-in-$FORMAT-$$
"$K" topic "$tin" 8
bench_feed "$tin" "$FORMAT" "$work/in.jsonl"
echo "== $FORMAT: $COUNT articles in $tin"
# The peer's styles: JSON both ways a Streams user writes it (the faster
# one is the peer), Avro through Apache Avro's generic records.
if [ "$FORMAT" = json ]; then read -ra styles <<<"${JSON_STYLES:-streaming databind}"; else styles=(generic); fi
for round in $(seq 1 "${ROUNDS:-2}"); do
  declare -A peer_rate=() peer_warm=()
  if [ $((round % 2)) -eq 1 ]; then
    ours "$round"; for st in "${styles[@]}"; do streams "$round" "$st"; done
  else
    for ((i = ${#styles[@]} - 1; i >= 0; i--)); do streams "$round" "${styles[i]}"; done; ours "$round"
  fi
  # what the real model costs, on the same input (the peer computes seed only)
  [ "${LEXICON:-1}" = 0 ] || ours "$round" lexicon
  best=
  for st in "${styles[@]}"; do
    if [[ "${peer_warm[$st]}" =~ ^[0-9]+$ ]]; then w=$(echo "scale=2; $ours_rate / ${peer_warm[$st]}" | bc -l); else w=n/a; fi
    echo "round $round ($FORMAT): dhatu-consumer / kafka-streams/$st = $(echo "scale=2; $ours_rate / ${peer_rate[$st]}" | bc -l)" \
         "whole-run, $w against Streams warm"
    if [ -z "$best" ] || [ "${peer_warm[$st]:-0}" -gt "${peer_warm[$best]:-0}" ] 2>/dev/null; then best=$st; fi
  done
  [ "${#styles[@]}" -gt 1 ] && echo "round $round ($FORMAT): the faster peer warm is kafka-streams/$best"
  if [ "$round" = 1 ]; then
    "$B/tools/dhatu-dump" -b "$brokers" -t "peer-ours-1-$$" --timeout-ms 5000 >"$work/ours.jsonl" 2>/dev/null || true
    for st in "${styles[@]}"; do
    "$B/tools/dhatu-dump" -b "$brokers" -t "peer-streams-$st-1-$$" --timeout-ms 5000 >"$work/streams.jsonl" 2>/dev/null || true
    echo -n "kafka-streams/$st: "
    if python3 - "$work/ours.jsonl" "$work/streams.jsonl" "$COUNT" <<'EOF'
import json, sys
LIMIT = 25000
def load(path):
    out, total = {}, 0
    for line in open(path):
        total += 1
        r = json.loads(line)
        if r["lineage"]["offset"] < LIMIT:
            out[(r["lineage"]["partition"], r["lineage"]["offset"])] = r
    return out, total
(a, na), (b, nb), n = load(sys.argv[1]), load(sys.argv[2]), int(sys.argv[3])
worst, bad = 0.0, []
def same(x, y, path):
    global worst
    if isinstance(x, float) or isinstance(y, float):
        d = abs(x - y) / max(abs(y), 1e-300) if y else abs(x)
        worst = max(worst, d)
        return d <= 1e-15
    if isinstance(x, dict):
        return list(x) == list(y) and all(same(x[k], y[k], path + "." + k) for k in x
                                          if k not in ("processed_at", "processor", "backend"))
    if isinstance(x, list):
        return len(x) == len(y) and all(same(u, v, path) for u, v in zip(x, y))
    return x == y
for k in a:
    if k in b and not same(a[k], b[k], ""):
        bad.append(k)
print("records: %d of ours, %d of the peer's; compared (offsets below %d): %d and %d, %d in both; %d differ; "
      "worst relative difference %.2g" % (na, nb, LIMIT, len(a), len(b), len(set(a) & set(b)), len(bad), worst))
for k in bad[:3]:
    print("  differ at", k, "\n   ours: ", json.dumps(a[k])[:400], "\n   peer: ", json.dumps(b[k])[:400])
if na != n or nb != n or set(a) != set(b) or bad:
    print("RECORDS DISAGREE")
    sys.exit(1)
EOF
    then :; else disagree=1; fi
    done
  fi
  "$K" delete-topic "peer-ours-$round-$$"
  for st in "${styles[@]}"; do "$K" delete-topic "peer-streams-$st-$round-$$"; done
done
"$K" delete-topic "$tin"
done
[ "$disagree" = 0 ] || { echo "peer.sh: FAILED (a side failed or the records disagree)"; exit 1; }
