#!/usr/bin/env python3
"""check_layers.py BUILD_DIR -- the consumer's modules form layers, not a
circle: every call or function reference between two of its files runs
down the order below, and none runs back up.

The graph is the compiler's, not a guess from the source: for each object
file of dhatu-consumer, `nm` lists the functions it defines (T) and the
ones it calls or takes the address of (U); an arrow A -> B is a symbol that
A uses and B defines. Static inline helpers (common/clock.h) are no arrow.
Prints every arrow with the symbols behind it, then any arrow that runs up
and any circle, and exits 1 if there is one. docs/TESTING.md and README.md
("Architecture") describe the layers.
"""
import glob
import os
import subprocess
import sys

# Top to bottom. A module may use any module below it, never one above.
LAYERS = [
    "main",       # the command line
    "member",     # start, summary, cleanup: composes the others, wires callbacks
    "rebalance",  # the rebalance callback (runs inside the loop's poll)
    "loop",       # the polling loop, flow control, shutdown
    "share",      # the share-group loop (KIP-932): poll batches, acknowledge
    "txn",        # exactly-once transactions
    "exporter",   # /metrics, /health, /ready, the statistics
    "orphans",    # the orphan watch's thread (its own nudge member)
    "stage",      # the engine and encoder threads
    "deliver",    # produce, dead letters, delivery reports, offsets
    "client",     # librdkafka handles and the cluster check
    "outcome",    # exit statuses, the first fatal one, dead-letter classes
    "trace",      # W3C trace context carried from an article to its outputs
    "content",    # what the records say, as metrics (content_* families)
    "backlog",    # a share group's backlog as one member sees it (ListOffsets)
    "watchdog", "http", "metrics", "track", "config",   # no Kafka handle; no arrow among them
]
MAX_UP = 0


def symbols(obj):
    out = subprocess.run(["nm", obj], capture_output=True, text=True, check=True).stdout
    defined, used = set(), set()
    for line in out.splitlines():
        f = line.split()
        if len(f) == 3 and f[1] == "T":
            defined.add(f[2])
        elif len(f) == 2 and f[0] == "U":
            used.add(f[1])
    return defined, used


def main():
    build = sys.argv[1]
    objs = {}
    for d in ("dhatu-consumer.dir", "dhatu_member.dir", "dhatu_consumer_core.dir"):
        for o in glob.glob(os.path.join(build, "consumer", "CMakeFiles", d, "*.c.o")):
            objs[os.path.basename(o)[:-4]] = o
    missing = [m for m in LAYERS if m not in objs]
    extra = [m for m in objs if m not in LAYERS]
    if missing or extra:
        print("check_layers: modules not built: %s; modules missing from LAYERS: %s" % (missing, extra))
        return 1
    syms = {m: symbols(o) for m, o in objs.items()}
    owner = {s: m for m, (d, _) in syms.items() for s in d}
    arrows = {}
    for m, (_, used) in syms.items():
        for s in used:
            if s in owner and owner[s] != m:
                arrows.setdefault((m, owner[s]), []).append(s)
    rank = {m: i for i, m in enumerate(LAYERS)}
    up = []
    for (a, b), ss in sorted(arrows.items(), key=lambda x: (rank[x[0][0]], rank[x[0][1]])):
        bad = rank[b] < rank[a]
        print("%s %-9s -> %-9s %s" % ("UP" if bad else "  ", a, b, " ".join(sorted(ss))))
        if bad:
            up.append((a, b))
    # Circles (strongly connected components of more than one module).
    index, low, stack, on, comps, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for (a, b) in arrows:
            if a != v:
                continue
            if b not in index:
                visit(b)
                low[v] = min(low[v], low[b])
            elif b in on:
                low[v] = min(low[v], index[b])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(comp)

    for v in LAYERS:
        if v not in index:
            visit(v)
    print("check_layers: %d modules, %d arrows, %d running up (at most %d), %d circles%s"
          % (len(LAYERS), len(arrows), len(up), MAX_UP, len(comps),
             "".join("; circle: " + " ".join(sorted(c)) for c in comps)))
    return 1 if comps or len(up) > MAX_UP else 0


if __name__ == "__main__":
    sys.exit(main())
