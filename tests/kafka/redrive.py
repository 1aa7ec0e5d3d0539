"""redrive.py -- dead letters put back with dhatu-redrive once their cause
is fixed: selected by class and id, listed by a dry run, refused when only
a reference was kept or when re-driven too often, and every article ends
with exactly one record."""
import json
import os
import subprocess

from harness import *  # noqa: F401,F403 (the shared harness: names used throughout)

REDRIVE = os.path.join(BUILD, "tools", "dhatu-redrive")
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def redrive(tdlq, *args, expect=0):
    r = subprocess.run([REDRIVE, "-b", BROKERS, *client("admin"), "-t", tdlq, *args], capture_output=True,
                       text=True, timeout=180)
    if r.returncode != expect:
        fail("dhatu-redrive %s: exit %d (expected %d): %s" % (" ".join(args), r.returncode, expect, r.stderr[-2000:]))
    return [json.loads(l) for l in r.stdout.splitlines()], r.stderr


def by_action(lines):
    out = {}
    for l in lines:
        out.setdefault(l["action"], []).append(l)
    return out


def redrive_scenario():
    """500 articles of the sample, 20 whose text is over a member's
    engine.max_article_bytes (4096) and one so large that its dead letter
    does not fit the dead-letter topic (12,000 bytes): 500 records, 20 whole
    dead letters of class too-large carrying the articles' own headers, one
    reference-only. A dry run lists the 20 and sends nothing; --id picks
    one. Re-driven before the cause is fixed, the 20 fail again and their
    new dead letters carry dhatu.redrive.count 1; re-driven with
    --max-redrives 1 once the limit is raised, the first 20 go back (count
    1), the second 20 and the reference-only one are refused (exit 3), and
    every article then has exactly one record: the 500 unchanged, the 20
    new, no other dead letter."""
    tin, tout = topic("in-" + TAG, 2), topic("out-" + TAG, 2)
    tdlq = topic("dlq-" + TAG, 1, "--config", "max.message.bytes=12000")
    produce(tin, SAMPLE)
    big = os.path.join(WORK, "big.tsv")
    filler = "Long texts are not refused by the model but by the operator's limit. "
    with open(big, "w") as f:
        for i in range(20):
            f.write("big-%d\t%s\n" % (i, json.dumps({"id": "big-%d" % i, "text": filler * 80})))
    huge = os.path.join(WORK, "huge.json")
    with open(huge, "w") as f:
        f.write(json.dumps({"id": "huge", "text": filler * 250}))
    headers = ["-H", "x-origin=lab", "-H", "traceparent=" + TRACEPARENT]
    with open(big) as f:     # one message per line, "key<TAB>value"
        subprocess.run(["kcat", "-b", BROKERS, "-P", "-t", tin, "-K", "\t", *headers], stdin=f, check=True,
                       timeout=60)
    subprocess.run(["kcat", "-b", BROKERS, "-P", "-t", tin, "-k", "huge", *headers, huge], check=True, timeout=60)
    small = ["-s", "engine.max_article_bytes=4096", "--exit-idle", "3000"]
    wait_all([consumer(tin, tout, tdlq, "g-" + TAG, *small, name="first")], 120)
    first = {r["id"]: r for r in dump(tout)}
    dl = dump(tdlq, "--raw")
    whole = [d for d in dl if d["value"] is not None]
    if len(first) != 500 or len(whole) != 20 or len(dl) != 21:
        fail("first run: %d records, %d dead letters (%d whole); expected 500, 21 (20)" % (len(first), len(dl),
                                                                                          len(whole)))
    h = whole[0]["headers"]
    if h.get("dhatu.error.class") != "too-large" or h.get("x-origin") != "lab" or \
            h.get("traceparent") != TRACEPARENT:
        fail("a whole dead letter lacks its article's headers or its class: %s" % h)
    # A dry run: the 20 would go back to their partitions; the reference-only
    # one is refused (its value was not kept); nothing is produced.
    n_in = len(dump(tin, "--raw"))
    lines, err = redrive(tdlq, "--reason", "too-large", "--dry-run", expect=3)
    acts = by_action(lines)
    if len(acts.get("would-send", [])) != 20 or [l["reason"] for l in acts.get("refused", [])] != ["reference-only"] \
            or len(dump(tin, "--raw")) != n_in or "reference-only" not in err:
        fail("dry run: %s; stderr %s" % ({k: len(v) for k, v in acts.items()}, err[-800:]))
    lines, _ = redrive(tdlq, "--id", "big-7", "--dry-run")
    if [l["key"] for l in lines] != ["big-7"] or lines[0]["to"] != tin:
        fail("--id big-7 --dry-run listed %s" % lines)
    if redrive(tdlq, "--reason", "undecodable")[0]:
        fail("--reason undecodable selected dead letters of another class")
    # Re-driven before the cause is fixed: dead letters again, counted.
    lines, _ = redrive(tdlq, "--reason", "too-large", expect=3)
    sent = by_action(lines).get("sent", [])
    if len(sent) != 20:
        fail("first re-drive: %d sent, expected 20: %s" % (len(sent), lines[:3]))
    back = [m for m in dump(tin, "--raw") if "dhatu.redrive.count" in m["headers"]]
    part = {m["key"]: m["partition"] for m in dump(tin, "--raw") if "dhatu.redrive.count" not in m["headers"]}
    if len(back) != 20 or any(m["headers"].get("x-origin") != "lab" or m["headers"]["dhatu.redrive.count"] != "1"
                              or m["headers"].get("traceparent") != TRACEPARENT or
                              any(k.startswith("dhatu.error.") or k.startswith("dhatu.original.") for k in m["headers"])
                              or m["partition"] != part[m["key"]] for m in back):
        fail("re-driven articles: wrong headers or partitions: %s" % [(m["partition"], m["headers"]) for m in back[:2]])
    wait_all([consumer(tin, tout, tdlq, "g-" + TAG, *small, name="second")], 120)
    dl = dump(tdlq, "--raw")
    again = [d for d in dl if d["headers"].get("dhatu.redrive.count") == "1"]
    if len(dl) != 41 or len(again) != 20 or len(dump(tout)) != 500:
        fail("re-driven with the cause still there: %d dead letters (%d counted once), %d records; expected 41, "
             "20, 500" % (len(dl), len(again), len(dump(tout))))
    # The cause fixed (a larger limit); the limit of one re-drive refuses the
    # articles already re-driven once, so each article goes back once.
    lines, err = redrive(tdlq, "--reason", "too-large", "--max-redrives", "1", expect=3)
    acts = by_action(lines)
    reasons = sorted(l["reason"] for l in acts.get("refused", []))
    if len(acts.get("sent", [])) != 20 or reasons != ["redrive-limit"] * 20 + ["reference-only"]:
        fail("second re-drive: %s, refused %s" % ({k: len(v) for k, v in acts.items()}, reasons[:3]))
    wait_all([consumer(tin, tout, tdlq, "g-" + TAG, "-s", "engine.max_article_bytes=65536", "--exit-idle", "3000",
                       name="fixed")], 120)
    recs = dump(tout)
    ids = [r["id"] for r in recs]
    want = sorted(list(first) + ["big-%d" % i for i in range(20)])
    if sorted(ids) != want:
        fail("after the fix: %d records (%d distinct), expected %d: one per article" % (len(ids), len(set(ids)),
                                                                                        len(want)))
    changed = [r["id"] for r in recs if r["id"] in first and r != first[r["id"]]]
    if changed or len(dump(tdlq, "--raw")) != 41:
        fail("after the fix: %d records of the first run changed, %d dead letters (expected 41)"
             % (len(changed), len(dump(tdlq, "--raw"))))
    _, lag, _ = group_describe("g-" + TAG, tin)
    if lag != 0:
        fail("committed offsets do not reach the end of the input: lag %s" % lag)
    log("redrive: 500 records, 20 dead letters too-large with their headers and 1 reference-only; dry run listed "
        "20 and sent nothing; re-driven with the cause in place they failed again with dhatu.redrive.count 1; "
        "once fixed, 20 re-driven, 21 refused (20 at the limit, 1 reference-only), 520 records, one per article, "
        "the first 500 unchanged, lag 0")
