#!/usr/bin/env bash
# check_links.sh BUILD_DIR -- dhatu-producer and dhatu-dump read and write
# records but never run the engine: no engine symbol (dhatu_engine_*,
# dhatu_batch_*, backends, libcrypto's SHA-256) may be linked into them.
set -u
B=$1
fails=0
for prog in producer/dhatu-producer tools/dhatu-dump; do
  syms=$(nm "$B/$prog" | grep -E ' [TtDdBb] (dhatu_engine_|dhatu_batch_|dhatu_backend|dhatu_pool_|dhatu_lexicon|SHA256)' | head -5)
  if [ -n "$syms" ]; then
    echo "FAIL: $prog links the engine: $syms"; fails=$((fails + 1))
  else
    echo "ok: $prog has no engine symbol ($(nm "$B/$prog" | grep -c ' [Tt] dhatu_name$') dhatu_name from dhatu_record)"
  fi
done
# The check itself can fail: the consumer does link the engine.
if ! nm "$B/consumer/dhatu-consumer" | grep -q ' T dhatu_engine_vectorize'; then
  echo "FAIL: the check finds no engine symbol even in dhatu-consumer"; fails=$((fails + 1))
fi
echo "link boundaries: $((2 - fails)) passed, $fails failed"
[ $fails -eq 0 ]
