#!/usr/bin/env bash
# run.sh -- the main job on a fresh machine: installs dependencies, builds,
# starts the local Kafka broker (deploy/local/kafka.sh; reused if running),
# creates this run's input (8 partitions), output and dead-letter topics,
# feeds the shipped sample corpus with dhatu-producer, drains it with two
# dhatu-consumer processes in one group, prints a few records and a summary,
# and stops what it started (topics included).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh build >/dev/null
B=build
K=deploy/local/kafka.sh
SAMPLE=data/arxiv_sample_500.jsonl
run=run-$(date +%s)
tin=$run-articles tout=$run-records tdlq=$run-dlq
logs=$(mktemp -d)
started=0
"$K" status >/dev/null 2>&1 || started=1
cleanup() {
  for t in "$tin" "$tout" "$tdlq"; do "$K" delete-topic "$t" 2>/dev/null || true; done
  [ $started = 1 ] && "$K" stop
  rm -rf "$logs"
}
echo "== starting Kafka (deploy/local/kafka.sh)"
brokers=$("$K" start | tail -n 1)
trap cleanup EXIT
"$K" topic "$tin" 8
"$K" topic "$tout" 8
"$K" topic "$tdlq" 1
echo "== broker $brokers; topics $tin (8 partitions), $tout, $tdlq"
echo "== dhatu-producer $SAMPLE -> $tin"
"$B/producer/dhatu-producer" -b "$brokers" -t "$tin" "$SAMPLE"
echo "== two dhatu-consumer processes in group $run (model lexicon, backend auto), until drained"
for i in 1 2; do
  "$B/consumer/dhatu-consumer" -b "$brokers" -t "$tin" -o "$tout" -d "$tdlq" -g "$run" \
    --exit-idle 3000 -s http.port=0 >"$logs/c$i.log" 2>&1 &
  pids[$i]=$!
done
status=0
for i in 1 2; do wait "${pids[$i]}" || status=$?; done
for i in 1 2; do grep -E "\]: (backend|assigned|clean exit|UNCLEAN|FAILED)" "$logs/c$i.log" | sed "s/^/  consumer $i: /"; done
[ $status = 0 ] || { echo "a consumer failed (status $status)"; cat "$logs"/*.log; exit 1; }
"$B/tools/dhatu-dump" -b "$brokers" -t "$tout" >"$logs/records.jsonl"
echo "== first 3 of the records on $tout"
head -n 3 "$logs/records.jsonl"
ndl=$("$B/tools/dhatu-dump" -b "$brokers" -t "$tdlq" --raw | wc -l)
python3 - "$logs/records.jsonl" "$ndl" "$logs" <<'PY'
import json, re, sys, glob
recs = [json.loads(l) for l in open(sys.argv[1])]
ids = {r["id"] for r in recs}
per = []
for f in sorted(glob.glob(sys.argv[3] + "/c*.log")):
    t = open(f).read()
    m = re.search(r"(\d+) articles consumed", t)
    b = re.search(r"last acknowledgement ([\d.]+) s: (\d+) articles/s, ([\d.]+) MB/s", t)
    per.append("%s articles%s" % (m.group(1) if m else "?",
               " at %s articles/s (%s MB/s)" % (b.group(2), b.group(3)) if b else ""))
print("== summary: %d records for %d distinct articles, %s dead-lettered, backend %s; "
      "consumers: %s (first article to last acknowledgement)"
      % (len(recs), len(ids), sys.argv[2], ",".join(sorted({r["lineage"]["backend"] for r in recs})),
         "; ".join(per)))
PY
