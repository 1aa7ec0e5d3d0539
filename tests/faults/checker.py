"""checker.py -- what the fault harness proves once every fault is healed and
the last article produced, from what the topics hold and what the harness
recorded on the way (exits, stalls, committed offsets), and the table it
prints."""
import collections
import json
import os
import time

from util import Failed

def check(h, n, drained_at):
    raw = h.dump(h.tin, "--raw")
    inputs = {(r["partition"], r["offset"]): r["key"] for r in raw}
    problems = []
    rows = []
    if len(inputs) < n:
        problems.append("the input topic holds %d messages of %d produced" % (len(inputs), n))
    for mode, proto in h.pipelines:
        suffix = "%s-%s" % (mode, proto)
        g = "g-" + suffix
        recs = h.dump_committed("out-" + suffix) if mode == "eos" else h.dump("out-" + suffix)
        try:
            dls = h.dump("dlq-" + suffix, "--raw", "--timeout-ms", "5000")
        except Failed:
            dls = []              # never created: no dead letter
        with open(os.path.join(h.work, "out-%s.jsonl" % suffix), "w") as f:
            for r in recs:
                f.write(json.dumps(r) + "\n")
        count = collections.Counter()
        copies = collections.defaultdict(list)
        stray = 0
        for r in recs:
            lin = r.get("lineage") or {}
            k = (lin.get("partition"), lin.get("offset"))
            if k not in inputs or inputs[k] != r.get("id"):
                stray += 1
            count[k] += 1
            copies[k].append({x: lin.get(x) for x in ("processed_at", "processor", "timestamp")})
        dead = set()
        for d in dls:
            h = d.get("headers", {})
            dead.add((int(h.get("dhatu.original.partition", -1)), int(h.get("dhatu.original.offset", -1))))
        lost = [k for k in inputs if k not in count and k not in dead]
        dups = sum(c - 1 for c in count.values() if c > 1)
        stall = max((m.longest_stall for m in h.members if m.group == g), default=0)
        rows.append({"pipeline": "%s %s" % ({"alo": "at-least-once", "eos": "exactly-once"}[mode],
                                           "classic" if proto == "classic" else "KIP-848"),
                     "inputs": len(inputs), "records": len(recs), "dead": len(dls), "lost": len(lost),
                     "dups": dups, "stray": stray, "stall": round(stall, 1),
                     "drained": round(drained_at[g], 1) if g in drained_at else None})
        if lost:
            problems.append("%s: %d input offsets have no record (e.g. %s)" % (g, len(lost), sorted(lost)[:3]))
        if stray:
            problems.append("%s: %d records name no input offset or another article" % (g, stray))
        if mode == "eos" and dups:
            ex = sorted(k for k, c in count.items() if c > 1)
            problems.append("%s: %d duplicate committed records in exactly-once, at %d input offsets from "
                            "%s to %s; e.g. %s: %s" % (g, dups, len(ex), ex[0], ex[-1], ex[0], copies[ex[0]]))
        if g not in drained_at:
            problems.append("%s: lag not back to 0 within %ds of the last fault and article" % (g, h.a.lag_bound))
        if stall > h.a.stall_bound:
            problems.append("%s: a member went %.0fs without progress (bound %ds)" % (g, stall,
                                                                                       h.a.stall_bound))
    if h.regressions:
        problems.append("committed offsets moved backwards: %s" % h.regressions[:5])
    # Forced exits are allowed, but bounded: one, and one more per ten
    # minutes of faults.
    allowed = 1 + h.a.duration // 600
    if h.txn_exits > allowed:
        problems.append("%d members ended by a transaction outliving its timeout (at most %d for %d s of faults)"
                        % (h.txn_exits, allowed, h.a.duration))
    if h.unforced:
        problems.append("member exits no fault forced: %s" % h.unforced)
    if h.offset_samples == 0:
        problems.append("committed offsets were never read")
    return rows, problems

def report(h, rows, problems):
    kinds = collections.Counter(f["kind"] for f in h.done)
    lines = ["", "faults harness, seed %d, %ds of faults, %s, Kafka %s, %s" % (
        h.a.seed, h.a.duration, time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        os.environ.get("KAFKA_VERSION", "(kafka.sh default)"), "PASS" if not problems else "FAIL"), "",
        "| fault | count |", "|---|---:|"]
    lines += ["| %s | %d |" % (k, n) for k, n in kinds.most_common()]
    lines += ["| **all** | **%d** |" % sum(kinds.values()), "", "| member exits by cause | count |", "|---|---:|"]
    lines += ["| %s | %d |" % (c, k) for c, k in sorted(h.exits.items())] or ["| (none) | 0 |"]
    lines += ["", "| pipeline | inputs | records | dead letters | lost | duplicates | longest stall (s) | "
              "lag 0 after quiet (s) |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append("| %s | %d | %d | %d | %d | %d | %.1f | %s |" % (
            r["pipeline"], r["inputs"], r["records"], r["dead"], r["lost"], r["dups"], r["stall"],
            "-" if r["drained"] is None else "%.1f" % r["drained"]))
    lines += ["", "committed offsets sampled %d times (%d reads failed during faults), %d moved backwards" % (
        h.offset_samples, h.offset_failures, len(h.regressions))]
    text = "\n".join(lines) + "\n"
    print(text, flush=True)
    with open(os.path.join(h.work, "faults.json"), "w") as f:
        json.dump({"seed": h.a.seed, "rows": rows, "problems": problems, "exits": dict(h.exits),
                   "faults": [{k: v for k, v in f.items() if k not in ("member",)} for f in h.done]},
                  f, indent=1, default=str)
    if h.a.table:
        with open(h.a.table, "a") as f:
            f.write(text)
