#!/usr/bin/env python3
"""records_equal.py A B [TOL] -- two JSON Lines record files hold the same
records in the same order: every key, string and integer equal, floats
within TOL relative (above 1; absolute below), default 1e-12. Records are
written in the shortest form that reads back as the same double, so a
backend whose log() differs from the host's in the last bit (OpenCL allows
a few ulp) shows there; the engine's contract between backends is 1e-6."""
import json
import sys

tol = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-12
a = open(sys.argv[1]).read().splitlines()
b = open(sys.argv[2]).read().splitlines()
if len(a) != len(b):
    sys.exit("%d records against %d" % (len(a), len(b)))
worst = 0.0


def same(x, y, path):
    global worst
    if isinstance(x, float) or isinstance(y, float):
        if not isinstance(x, (int, float)) or not isinstance(y, (int, float)):
            sys.exit("%s: %r against %r" % (path, x, y))
        d = abs(x - y) / max(1.0, abs(y))
        worst = max(worst, d)
        if d > tol:
            sys.exit("%s: %r against %r" % (path, x, y))
    elif isinstance(x, dict) and isinstance(y, dict):
        if list(x) != list(y):
            sys.exit("%s: keys %s against %s" % (path, list(x), list(y)))
        for k in x:
            same(x[k], y[k], path + "." + k)
    elif isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
        for i, (u, v) in enumerate(zip(x, y)):
            same(u, v, "%s[%d]" % (path, i))
    elif x != y or type(x) != type(y):
        sys.exit("%s: %r against %r" % (path, x, y))


for n, (la, lb) in enumerate(zip(a, b), 1):
    same(json.loads(la), json.loads(lb), "record %d" % n)
print("%d records equal (worst relative difference %.3g)" % (len(a), worst))
