#!/usr/bin/env python3
"""distinct.py CORPUS COUNT -- COUNT articles of a JSON Lines corpus on
stdout, the corpus repeated as often as needed, with distinct ids (copy k of
article X is "X-ck"), for benchmarks that compare records by id."""
import json
import sys

lines = open(sys.argv[1]).read().splitlines()
for i in range(int(sys.argv[2])):
    a = json.loads(lines[i % len(lines)])
    a["id"] = "%s-c%d" % (a["id"], i // len(lines))
    print(json.dumps(a, ensure_ascii=False))
