#!/usr/bin/env python3
"""check_dashboards.py GRAFANA_DIR -- the dashboards are ready for file
provisioning: valid JSON, a datasource variable and no hard-coded data source
UID, group and topic template variables, unique panel ids, every target with
an expression. (That the expressions return data is the kafka_prometheus
test, on a real Prometheus.)"""
import glob, json, os, sys

d = sys.argv[1]
files = glob.glob(os.path.join(d, "dashboards", "*.json"))
bad = []
for f in files:
    dash = json.load(open(f))
    names = [v["name"] for v in dash["templating"]["list"]]
    for need in ("datasource", "group", "topic"):
        if need not in names:
            bad.append("%s: no $%s variable" % (f, need))
    ids = [p["id"] for p in dash["panels"]]
    if len(ids) != len(set(ids)):
        bad.append("%s: duplicate panel ids" % f)
    for p in dash["panels"]:
        for t in [p] + p.get("targets", []):
            uid = (t.get("datasource") or {}).get("uid")
            if uid is not None and uid != "${datasource}":
                bad.append("%s: panel %r hard-codes data source %r" % (f, p["title"], uid))
        if p.get("type") == "row":     # a row only groups the panels below it
            continue
        if not p.get("targets") or not all(t.get("expr") for t in p["targets"]):
            bad.append("%s: panel %r has a target without an expression" % (f, p["title"]))
prov = os.path.join(d, "provisioning", "dashboards", "dhatu.yml")
if not files or not os.path.exists(prov):
    bad.append("no dashboards or no provisioning file")
for b in bad:
    print("FAIL:", b)
print("%d dashboard(s), %d problem(s)" % (len(files), len(bad)))
sys.exit(1 if bad else 0)
