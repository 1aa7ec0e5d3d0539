#!/usr/bin/env bash
# faults.sh [MINUTES] -- the fault harness as a soak: MINUTES (default 30)
# of faults drawn from a new seed, every kind, rolling restarts of the three
# brokers among them (tests/faults/netfault.py; ctest's `faults` runs a short,
# fixed schedule of it). A fault starts every 12 s on average, two at a time
# at most: 30 minutes draw about 150. Its table is appended to
# $B/faults-soak.md (copy a run into bench/results.md); every log stays in
# $B/faults-soak-SEED/. Exits non-zero when the checker found a problem.
# Needs root and iptables (scripts/deps.sh). SEED=N replays a schedule.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh
minutes=${1:-30}
seed=${SEED:-$(( $(date +%s) % 1000000007 ))}
[ -x "$B/consumer/dhatu-consumer" ] || { echo "faults.sh: build first (scripts/build.sh $B)" >&2; exit 2; }
exec python3 tests/faults/netfault.py --build "$B" --seed "$seed" --duration $((minutes * 60)) --gap 12 \
  --concurrent 2 --kinds member-kill,member-pause,member-isolate,broker-kill,broker-pause,broker-cut-members,broker-cut-brokers,coordinator-cut,txn-coordinator-cut,rolling-restart \
  --rate 100 --lag-bound 300 --work "$B/faults-soak-$seed" --table "$B/faults-soak.md"
