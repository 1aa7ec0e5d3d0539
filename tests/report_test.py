#!/usr/bin/env python3
"""report_test.py BUILD_DIR -- dhatu-report as a person sees it.

Records of the shipped sample (dhatu-vectorize, lexicon model) with articles
given lang, source and publication times over three days (so that every
chart has something to draw): the page is self-contained (no script, no URL
to fetch), every number it prints equals this test's own recomputation from
the records, and each chart, rendered alone by headless Chromium, is a
non-empty picture. --compare against the same articles' seed records: where
each article's dominant dhātu went, and the counts, as recomputed. Bad input
lines are reported as FILE:LINE and exit 1.
Python's standard library only; PNGs are decoded here."""
import html
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

BUILD = os.path.abspath(sys.argv[1])
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(ROOT, "data", "arxiv_sample_500.jsonl")
REPORT = os.path.join(BUILD, "tools", "dhatu-report")
VECTORIZE = os.path.join(BUILD, "vectorize", "dhatu-vectorize")
DHATUS = ["RELATE", "MODAL", "EXIST", "EVAL", "COMM", "CAUSE", "ITER", "DECIDE", "FEEL"]
COLS = DHATUS + ["none"]
failures = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failures.append(what)


def png_pixels(path):
    """(width, height, rows of RGB(A) bytes) of a PNG, 8-bit RGB or RGBA."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, w = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and ctype in (2, 6), "PNG depth %d colour type %d" % (depth, ctype)
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, rows, prev, stride = zlib.decompress(idat), [], bytearray(w * bpp), w * bpp
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b, c = prev[x], prev[x - bpp] if x >= bpp else 0
            if f == 1: line[x] = (line[x] + a) & 255
            elif f == 2: line[x] = (line[x] + b) & 255
            elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return w, h, bpp, rows


def inked(path):
    """Pixels that are not near-white: what a person would see."""
    w, h, bpp, rows = png_pixels(path)
    return sum(1 for r in rows for x in range(0, w * bpp, bpp) if min(r[x], r[x + 1], r[x + 2]) < 200)


def screenshot(page, png, width, height):
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--screenshot=" + png, "--window-size=%d,%d" % (width, height), "file://" + page],
                   check=True, capture_output=True, timeout=120)


def rendered_alone(work, name, style, svg, w, h):
    """One chart on a page of its own, in Chromium: its inked pixels."""
    one = os.path.join(work, name + ".html")
    with open(one, "w", encoding="utf-8") as f:
        f.write('<!doctype html><html><head><meta charset="utf-8">%s</head><body style="margin:0">%s'
                "</body></html>" % (style, svg))
    png = os.path.join(work, name + ".png")
    screenshot(one, png, int(w) + 20, int(h) + 20)
    return inked(png)


def main():
    if not shutil.which("chromium"):
        print("report_test: chromium not found (scripts/deps.sh installs it)")
        sys.exit(1)
    work = tempfile.mkdtemp(prefix="dhatu-report-")
    try:
        arts = [json.loads(l) for l in open(SAMPLE)]
        langs, sources = ["en", "fr", "de"], ["arxiv", "wire", "blog", "a <b>&\"forum'"]
        for i, a in enumerate(arts):       # lang, source and time, for the charts that group by them
            a["lang"], a["source"] = langs[i % 3], sources[(i // 3) % 4]
            a["published"] = 1764547200000 + i * 3 * 86400000 // len(arts)   # 2025-12-01, over 3 days
        apath = os.path.join(work, "articles.jsonl")
        with open(apath, "w") as f:
            for a in arts:
                f.write(json.dumps(a) + "\n")
        rpath = os.path.join(work, "records.jsonl")
        with open(rpath, "w") as f:
            subprocess.run([VECTORIZE, "-q", "-m", "lexicon", apath], stdout=f, check=True, timeout=120)
        recs = [json.loads(l) for l in open(rpath)]
        page = os.path.join(work, "report.html")
        r = subprocess.run([REPORT, "-o", page, "--articles", apath, "--title", "arXiv sample", rpath],
                           capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, "dhatu-report exit 0 (%d: %s)" % (r.returncode, r.stderr.strip()))
        text = open(page, encoding="utf-8").read()
        check(not re.search(r"<script|https?:|url\(|@import|<link|<img|<iframe|src=", text, re.I),
              "the page fetches nothing: no script, link, image or URL")
        check("<b>" not in text and "a &lt;b&gt;&amp;&quot;forum&#39;" in text, "markup in a source is text")

        # The numbers, recomputed.
        n = len(recs)
        dom = {c: 0 for c in COLS}
        wsum = {d: 0.0 for d in DHATUS}
        pol = {d: {"positive": 0, "negative": 0, "none": 0} for d in DHATUS}
        for x in recs:
            dom[x["dominant"] or "none"] += 1
            for i, d in enumerate(DHATUS):
                wsum[d] += x["weights"][i]
                pol[d][x["polarity"][i]] += 1
        table = re.search(r'<table class="data" id="dominant-table">(.*?)</table>', text, re.S).group(1)
        rows = {m.group(1): m.group(2) for m in re.finditer(r'<tr data-dhatu="([A-Za-z]+)">(.*?)</tr>', table)}
        ok = len(rows) == len(COLS)
        for c in COLS:
            cells = re.findall(r"<td[^>]*>([^<]*)</td>", rows.get(c, ""))
            ok &= int(cells[1]) == dom[c] and abs(float(cells[2]) - dom[c] / n) < 1e-4
            if c != "none":
                ok &= abs(float(cells[3]) - wsum[c] / n) < 1e-6
                ok &= [int(v) for v in cells[4:7]] == [pol[c]["positive"], pol[c]["negative"], pol[c]["none"]]
        check(ok, "dominant counts and shares, mean weights and polarity counts equal the recomputation (%d records)"
              % n)
        summary = re.search(r'<p id="summary">(\d+) records', text)
        check(summary and int(summary.group(1)) == n, "the summary counts every record")

        by_id = {a["id"]: a for a in arts}
        for key in ("lang", "source"):
            want = {}
            for x in recs:
                g = want.setdefault(by_id[x["id"]][key], {c: 0 for c in COLS})
                g[x["dominant"] or "none"] += 1
            t = re.search(r'<table class="data" id="%s-table">(.*?)</table>' % key, text, re.S).group(1)
            got = {}
            for m in re.finditer(r'<tr><td class="name">([^<]*)</td><td class="n">(\d+)</td>(.*?)</tr>', t):
                got[html.unescape(m.group(1))] = {d: int(v) for d, v in
                                                  re.findall(r'data-dhatu="([A-Za-z]+)">(\d+)<', m.group(3))}
            check(got == want, "dominant dhātu by %s equals the recomputation (%d groups)" % (key, len(want)))

        t = re.search(r'<table class="data" id="time-table" data-first="(\d+)" data-width="(\d+)">(.*?)</table>',
                      text, re.S)
        first, width = int(t.group(1)), int(t.group(2))
        want = {}
        for x in recs:
            b = (by_id[x["id"]]["published"] - first) // width
            want.setdefault(b, {c: 0 for c in COLS})[x["dominant"] or "none"] += 1
        got = {int(m.group(1)): {d: int(v) for d, v in re.findall(r'data-dhatu="([A-Za-z]+)">(\d+)<', m.group(3))}
               for m in re.finditer(r'<tr><td class="name">(\d+)</td><td class="n">(\d+)</td>(.*?)</tr>', t.group(3))}
        check(got == want, "dominant dhātu over time equals the recomputation (%d buckets of %d ms)"
              % (len(want), width))

        top = re.search(r'<table class="data" id="top-table">(.*?)</table>', text, re.S).group(1)
        ok = True
        for i, d in enumerate(DHATUS):
            best = sorted(((-x["weights"][i], x["id"]) for x in recs if x["weights"][i] > 0))[:5]
            got = re.findall(r'<tr data-dhatu="%s"><td class="name">%s</td><td class="w">([0-9.]+)</td>'
                             r'<td class="id">([^<]*)</td>' % (d, d), top)
            ok &= [(round(-w, 6), i2) for w, i2 in best] == [(float(w), html.unescape(i2)) for w, i2 in got]
        check(ok, "the articles that express each dhātu most are the records' top weights")

        # As a person sees it: each chart alone, and the whole page.
        style = re.search(r"<style>.*?</style>", text, re.S).group(0)
        charts = re.findall(r'(<svg id="([a-z]+)" class="chart" viewBox="0 0 (\d+) (\d+)".*?</svg>)', text, re.S)
        check(len(charts) == 6, "six charts (dominant, weight, polarity, lang, source, time): %s"
              % [c[1] for c in charts])
        for svg, name, w, h in charts:
            ink = rendered_alone(work, "chart-" + name, style, svg, w, h)
            check(ink > 500, "chart %s renders: %d inked pixels in Chromium's screenshot" % (name, ink))
        png = os.path.join(work, "report.png")
        screenshot(page, png, 1100, 1800)
        check(inked(png) > 20000, "the page renders")

        # --compare: the same articles under the seed model (B) against the lexicon (A).
        spath = os.path.join(work, "seed.jsonl")
        with open(spath, "w") as f:
            subprocess.run([VECTORIZE, "-q", "-m", "seed", apath], stdout=f, check=True, timeout=120)
        seed = [json.loads(l) for l in open(spath)]
        cpage = os.path.join(work, "compare.html")
        r = subprocess.run([REPORT, "--compare", "-o", cpage, "--articles", apath, rpath, spath],
                           capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, "dhatu-report --compare exit 0 (%d: %s)" % (r.returncode, r.stderr.strip()))
        ctext = open(cpage, encoding="utf-8").read()
        check(not re.search(r"<script|https?:|url\(|@import|<link|<img|<iframe|src=", ctext, re.I),
              "the comparison fetches nothing")
        da = {x["id"]: x["dominant"] or "none" for x in recs}
        db = {x["id"]: x["dominant"] or "none" for x in seed}
        moves = {}
        for i in da:
            if i in db:
                moves[(da[i], db[i])] = moves.get((da[i], db[i]), 0) + 1
        changed = sum(v for (a, b), v in moves.items() if a != b)
        got = {}
        for m in re.finditer(r'<tr data-from="([A-Za-z]+)">(.*?)</tr>', ctext):
            for to, v in re.findall(r'data-to="([A-Za-z]+)">(\d+)<', m.group(2)):
                if int(v):
                    got[(m.group(1), to)] = int(v)
        check(got == moves, "where each article's dominant dhātu went equals the recomputation (%d moves)"
              % len(moves))
        check(re.search(r'<span id="changed">(\d+)</span>', ctext).group(1) == str(changed) and
              re.search(r'<span id="joined">(\d+)</span>', ctext).group(1) == str(len(da)),
              "%d of %d articles changed their dominant dhātu, as the page says" % (changed, len(da)))
        ok = True
        for m in re.finditer(r'<tr data-dhatu="([A-Za-z]+)"><td class="name">[A-Za-z]+</td>(.*?)</tr>', ctext):
            cells = re.findall(r"<td>([^<]*)</td>", m.group(2))
            want_a = sum(1 for v in da.values() if v == m.group(1))
            want_b = sum(1 for v in db.values() if v == m.group(1))
            ok &= int(cells[0]) == want_a and int(cells[2]) == want_b
            ok &= abs(float(cells[4]) - 100 * (want_b - want_a) / n) < 0.01
        check(ok, "per-dhātu counts and differences of A and B equal the recomputation")
        ccharts = re.findall(r'(<svg id="([a-z]+)" class="chart" viewBox="0 0 (\d+) (\d+)".*?</svg>)', ctext, re.S)
        check(len(ccharts) == 2, "two comparison charts (dominant, weight)")
        for svg, name, w, h in ccharts:
            ink = rendered_alone(work, "cmp-" + name, style, svg, w, h)
            check(ink > 500, "comparison chart %s renders: %d inked pixels" % (name, ink))

        # Bad lines: reported with file and line, skipped, exit 1.
        bad = os.path.join(work, "bad.jsonl")
        with open(bad, "w") as f:
            f.write(open(rpath).readline() + "not json\n" + '{"id":"x","weights":[2,0,0,0,0,0,0,0,0]}\n')
        r = subprocess.run([REPORT, "-o", os.path.join(work, "bad.html"), bad], capture_output=True, text=True,
                           timeout=60)
        check(r.returncode == 1 and "bad.jsonl:2: offset" in r.stderr and "bad.jsonl:3: offset" in r.stderr,
              "bad lines reported as FILE:LINE and skipped, exit 1 (%d: %s)" % (r.returncode, r.stderr.strip()))
        r = subprocess.run([REPORT, os.path.join(work, "missing.jsonl")], capture_output=True, text=True, timeout=60)
        check(r.returncode == 2 and "cannot open" in r.stderr, "a missing file: exit 2 with the reason")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("report_test: %d failed" % len(failures) if failures else "report_test: all passed")
    sys.exit(1 if failures else 0)


main()
