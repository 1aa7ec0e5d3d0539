"""replay.py -- history re-vectorized with a new lexicon: --start-at puts a
group with no committed offsets at the first offset at or after a time
(Kafka's offsets for times), and a group with commits goes on from them."""
import datetime
import json
import os
import re
import subprocess
import time

from harness import *  # noqa: F401,F403 (the shared harness: names used throughout)


def rfc3339(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def start_at():
    """Articles A, then a time T, then articles B. A new group started at T
    with a new lexicon (!version 2) writes records of B only, into a new
    topic, with model lexicon-2, while the records of the first run (every
    article, lexicon-1) stay in theirs. Restarted with an earlier time, the
    group goes on from its commits (nothing again). A time past the end
    starts at the end (nothing)."""
    tin, tout, tdlq = topics(2)
    src = [json.loads(l) for l in open(SAMPLE)]
    a, b = os.path.join(WORK, "a.jsonl"), os.path.join(WORK, "b.jsonl")
    with open(a, "w") as f:
        for x in src[:300]:
            f.write(json.dumps(x) + "\n")
    with open(b, "w") as f:
        for x in src[300:]:
            f.write(json.dumps(x) + "\n")
    produce(tin, a)
    time.sleep(1.5)
    t = int(time.time() * 1000)
    time.sleep(1.5)
    produce(tin, b)
    # The first run: every article, the built-in lexicon (lexicon-1).
    wait_all([consumer(tin, tout, tdlq, "g-" + TAG, "--exit-idle", "3000", name="first")], 120)
    first = dump(tout)
    if len(first) != 500 or {r["model"] for r in first} != {"lexicon-1"}:
        fail("first run: %d records, models %s" % (len(first), {r["model"] for r in first}))
    # A window of message timestamps (records inherit their article's):
    # dhatu-dump --since t gives the records of the articles after t, --until
    # t those before.
    after = sorted(r["id"] for r in dump(tout, "--since", rfc3339(t)))
    before = sorted(r["id"] for r in dump(tout, "--until", str(t)))
    if after != sorted(x["id"] for x in src[300:]) or before != sorted(x["id"] for x in src[:300]):
        fail("dhatu-dump --since/--until %d: %d and %d records, expected 200 and 300" % (t, len(after), len(before)))
    # The replay: a new lexicon, a new topic, a new group from time t.
    lex = os.path.join(WORK, "lexicon-2.txt")
    with open(os.path.join(ROOT, "data", "lexicon.txt")) as f, open(lex, "w") as g:
        g.write(f.read().replace("!version 1\n", "!version 2\n"))
    tout2 = topic("out2-" + TAG, 2)
    if SECURITY:
        subprocess.run([KAFKA_SH, "grant", tin, tout2, tdlq, "g2-" + TAG], check=True, env=KENV)
    replay = ["-s", "engine.lexicon=" + lex, "--exit-idle", "3000"]
    p = consumer(tin, tout2, tdlq, "g2-" + TAG, "--start-at", rfc3339(t), *replay, name="replay")
    wait_all([p], 120)
    second = dump(tout2)
    ids = sorted(r["id"] for r in second)
    want = sorted(x["id"] for x in src[300:])
    if ids != want:
        fail("replay from %s: %d records, expected the %d articles after it" % (rfc3339(t), len(ids), len(want)))
    if {r["model"] for r in second} != {"lexicon-2"}:
        fail("replay: models %s, expected lexicon-2" % {r["model"] for r in second})
    wait_log(p, "start_at", 5)
    # The two versions compared as a researcher would (dhatu-report --compare
    # over the two topics' records): the 200 articles of the replay are in
    # both, each counted once; the page names both models.
    fa, fb = os.path.join(WORK, "lexicon-1.jsonl"), os.path.join(WORK, "lexicon-2.jsonl")
    for path, recs in ((fa, first), (fb, second)):
        with open(path, "w") as f:
            for r in recs:
                f.write(json.dumps(r) + "\n")
    page = os.path.join(WORK, "compare.html")
    r = subprocess.run([REPORT, "--compare", "-o", page, "--articles", SAMPLE, fa, fb], capture_output=True,
                       text=True, timeout=60)
    text = open(page, encoding="utf-8").read() if r.returncode == 0 else ""
    joined = re.search(r'<span id="joined">(\d+)</span>', text)
    if r.returncode or not joined or int(joined.group(1)) != len(second) or "lexicon-1" not in text or \
            "lexicon-2" not in text:
        fail("dhatu-report --compare of the two topics: exit %d, %s articles in both (expected %d): %s"
             % (r.returncode, joined.group(1) if joined else "no", len(second), r.stderr.strip()))
    changed = re.search(r'<span id="changed">(\d+)</span>', text).group(1)
    # The same comparison straight from the two topics (dhatu-report -t runs
    # dhatu-dump), the first one windowed at t: the same page numbers.
    page2 = os.path.join(WORK, "compare-topics.html")
    r = subprocess.run([REPORT, "--compare", "-o", page2, "--articles", SAMPLE, "-b", BROKERS, *client("admin"),
                        "-t", tout, "-t", tout2, "--since", rfc3339(t)], capture_output=True, text=True, timeout=120)
    text2 = open(page2, encoding="utf-8").read() if r.returncode == 0 else ""
    j2 = re.search(r'<span id="joined">(\d+)</span>', text2)
    c2 = re.search(r'<span id="changed">(\d+)</span>', text2)
    if r.returncode or not j2 or not c2 or (j2.group(1), c2.group(1)) != (joined.group(1), changed):
        fail("dhatu-report --compare -t %s -t %s --since: exit %d, joined %s changed %s (from files: %s, %s): %s"
             % (tout, tout2, r.returncode, j2 and j2.group(1), c2 and c2.group(1), joined.group(1), changed,
                r.stderr.strip()[-500:]))
    # Restarted with an earlier time: its commits win, nothing is redone.
    p = consumer(tin, tout2, tdlq, "g2-" + TAG, "--start-at", "0", *replay, name="again")
    wait_all([p], 120)
    if len(dump(tout2)) != len(second):
        fail("a group with commits started again from --start-at instead of its commits")
    # A time past the end: the end.
    tout3 = topic("out3-" + TAG, 2)
    if SECURITY:
        subprocess.run([KAFKA_SH, "grant", tin, tout3, tdlq, "g3-" + TAG], check=True, env=KENV)
    p = consumer(tin, tout3, tdlq, "g3-" + TAG, "--start-at", str(t + 86400000), "--exit-idle", "3000",
                 name="future")
    wait_all([p], 120)
    if dump(tout3):
        fail("--start-at a day ahead produced records")
    log("replay: 500 records of lexicon-1 kept; from %s, lexicon-2 records of the %d articles after it only "
        "(dhatu-report --compare: %d in both, %s changed their dominant dhatu; dhatu-dump --since/--until split "
        "the first topic at the same time); restarted, the group kept its commits; a time past the end read "
        "nothing; dhatu-report -t over the two topics gave the same comparison" % (rfc3339(t), len(second), len(second),
                                                                           changed))
