#!/usr/bin/env python3
"""span.py -- reads records (dhatu-dump's JSON lines) on stdin and prints
"N FIRST LAST": how many, and the earliest and latest lineage.processed_at
(epoch ms). The span is a group's window seen from its output, whatever
each member's own clock of its run says: members that joined at different
times share one wall clock here (bench/scaling.sh, bench/share.sh)."""
import json
import sys

n, first, last = 0, None, None
for line in sys.stdin:
    t = json.loads(line)["lineage"]["processed_at"]
    n += 1
    first = t if first is None or t < first else first
    last = t if last is None or t > last else last
print(n, first if first is not None else 0, last if last is not None else 0)
