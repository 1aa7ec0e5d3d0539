"""monitoring.py -- a real Prometheus scraping two live members: every
dashboard expression and every metric the rules use returns data."""
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
import urllib.request

from harness import *  # noqa: F401,F403 (the shared harness: names used throughout)


def prometheus():
    """A real Prometheus scrapes two live consumers during a pipeline run;
    every expression of the dashboards returns data, every metric the alert
    rules use exists, the rules load, and /metrics passes promtool."""
    import re
    import shutil
    import urllib.parse
    import urllib.request
    tin, tout, tdlq = topics()
    path = articles(6000, os.path.join(WORK, "prom.jsonl"))
    prod = produce_streaming(tin, path, 300)
    group = "g-" + TAG
    # The second member on the opencl backend where it runs (PoCL here), so
    # that the GPU series (device memory, busy time) are scraped too.
    probe = subprocess.run([VECTORIZE, "-B", "opencl", SAMPLE], capture_output=True, timeout=300,
                           env=dict(os.environ, POCL_CACHE_DIR=os.path.join(WORK, "pocl-probe")))
    gpu = probe.returncode == 0
    cons = [consumer(tin, tout, tdlq, group, "-s", "http.stats_interval_ms=1000", "--exit-idle", "30000",
                     *(["-s", "engine.backend=opencl"] if gpu and i == 1 else []), name="m%d" % i,
                     env={"POCL_CACHE_DIR": os.path.join(WORK, "pocl-m%d" % i)}) for i in range(2)]
    ports = []
    for c in cons:
        for _ in range(100):
            m = re.search(r"http://[0-9.]+:(\d+)/metrics", open(c.logname).read())
            if m:
                ports.append(int(m.group(1)))
                break
            time.sleep(0.1)
    if len(ports) != 2:
        fail("consumers did not report their metrics port")
    grafana = os.path.join(ROOT, "grafana")
    pdir = os.path.join(WORK, "prom")
    os.makedirs(pdir, exist_ok=True)
    shutil.copy(os.path.join(grafana, "prometheus", "rules.yml"), pdir)
    with open(os.path.join(pdir, "prometheus.yml"), "w") as f:
        f.write("global: {scrape_interval: 1s, evaluation_interval: 1s}\nrule_files: [rules.yml]\n"
                "scrape_configs:\n  - job_name: dhatu-consumer\n    static_configs:\n"
                "      - targets: [%s]\n" % ", ".join('"127.0.0.1:%d"' % p for p in ports))
    promport = int(os.environ.get("DHATU_TEST_PROM_PORT", "19090"))
    plog = open(os.path.join(pdir, "prometheus.log"), "w")
    prom = subprocess.Popen(["prometheus", "--config.file=" + os.path.join(pdir, "prometheus.yml"),
                             "--storage.tsdb.path=" + os.path.join(pdir, "data"),
                             "--web.listen-address=127.0.0.1:%d" % promport], stdout=plog, stderr=subprocess.STDOUT)
    CHILDREN.append(prom)

    def api(q):
        url = "http://127.0.0.1:%d/api/v1/query?query=%s" % (promport, urllib.parse.quote(q))
        return json.load(urllib.request.urlopen(url, timeout=10))

    time.sleep(15)           # scrapes every second while articles flow
    raw = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % ports[0], timeout=5).read()
    r = subprocess.run(["promtool", "check", "metrics"], input=raw, capture_output=True)
    if r.returncode != 0:
        fail("promtool check metrics: %s" % (r.stdout + r.stderr).decode())
    dash = json.load(open(os.path.join(grafana, "dashboards", "dhatu-overview.json")))
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]     # rows have none
    empty, excused = [], []
    for e in exprs:
        q = e.replace("$group", ".*").replace("$topic", ".*")
        res = api(q)
        if res["status"] != "success" or not res["data"]["result"]:
            # Orphan-watch series exist at 0; the GPU ones only on a GPU backend.
            (excused if not gpu and "dhatu_device_" in q else empty).append(q)
    rules = [l.split("expr:", 1)[1].strip() for l in open(os.path.join(grafana, "prometheus", "rules.yml"))
             if l.strip().startswith("expr:")]
    names = sorted({n for e in rules for n in re.findall(r"\b(dhatu_[a-z_]+|process_[a-z_]+|up)\b", e)})
    for e in rules:
        if api(e)["status"] != "success":
            fail("rule expression does not evaluate: %s" % e)
    for n in names:
        if not api(n)["data"]["result"]:
            empty.append(n)
    loaded = json.load(urllib.request.urlopen("http://127.0.0.1:%d/api/v1/rules" % promport, timeout=10))
    health = [r["health"] for g in loaded["data"]["groups"] for r in g["rules"]]
    prom.terminate()
    prom.wait(30)
    for c in cons:
        c.send_signal(signal.SIGTERM)
    wait_all(cons, 60)
    prod.wait(60)
    if empty:
        fail("%d of %d expressions returned no data: %s" % (len(empty), len(exprs) + len(names), empty))
    if len(health) != len(rules) or any(h != "ok" for h in health):
        fail("rules loaded: %s" % health)
    log("Prometheus scraped 2 consumers (%s): %d dashboard expressions and %d metrics used by %d alert rules "
        "all returned data%s; rules healthy; /metrics passes promtool check metrics"
        % ("cpu and opencl" if gpu else "cpu; no opencl here", len(exprs), len(names), len(rules),
           "" if not excused else " (but %d GPU expressions: no GPU backend runs here)" % len(excused)))
