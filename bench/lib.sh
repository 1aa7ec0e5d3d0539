# lib.sh -- what the benchmarks share; sourced by bench/*.sh after they cd
# to the repository root.
#
#   B             the build directory, one name for every benchmark: $B,
#                 else $DHATU_BENCH_BUILD (its older name), else build
#   K             deploy/local/kafka.sh
#   bench_on_exit CMD   runs CMD (a string for eval) when the script exits,
#                 however it exits; the last registered runs first
#   bench_broker NAME PORT   a broker of the benchmark's own: KAFKA_PORT=PORT,
#                 its state under $B/bench-NAME; sets $brokers; wiped on exit.
#                 kafka.sh refuses a port another program holds.
#   bench_feed TOPIC FORMAT FILE...   the files into TOPIC with dhatu-producer
# shellcheck shell=bash
B=${B:-${DHATU_BENCH_BUILD:-build}}
K=deploy/local/kafka.sh
bench_cleanups=()
bench_run_cleanups() {
  local c
  for c in "${bench_cleanups[@]}"; do eval "$c" || true; done
}
trap bench_run_cleanups EXIT
bench_on_exit() { bench_cleanups=("$1" "${bench_cleanups[@]}"); }
bench_broker() {
  export KAFKA_PORT=$2 KAFKA_STATE_DIR=$PWD/$B/bench-$1
  bench_on_exit '"$K" wipe'
  brokers=$("$K" start | tail -n 1)
}
bench_feed() {
  local t=$1 f=$2
  shift 2
  "$B/producer/dhatu-producer" -q -b "$brokers" -t "$t" -f "$f" "$@"
}
