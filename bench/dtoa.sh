#!/usr/bin/env bash
# dtoa.sh [COUNT] [EXACT] -- the long run of the shortest round-trip double
# test (tests/test_dtoa.c): COUNT random doubles of each kind (bit patterns,
# weights, integers; default 100 million each, 300 million in all) read back
# through strtod, the first EXACT of each (default 2 million) also equal to
# the exact search; then the speed of dtoa_json against snprintf("%.17g")
# (bench/dtoa_speed.c, 10 million doubles of each kind).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
start=$(date +%s)
DHATU_DTOA_COUNT=${1:-100000000} DHATU_DTOA_EXACT=${2:-2000000} CK_FORK=no "$B/tests/test_dtoa"  # no fork: no time limit
echo "took $(( $(date +%s) - start )) s on $(nproc) cores, $(uname -r), $(date -u +%F)"
"$B/bench/dhatu-dtoa-speed"
