#!/usr/bin/env python3
"""interop.py WRITE_RECORDS BUILD_DIR -- Java's Apache Avro reads our records.

write_records writes 2,000 records as our codec writes them (schema version 2,
every fifth one in version 1, as members wrote them before 2026-12-07) and
how our own reader reads each back; Decode.java reads the same bytes with
BinaryMessageDecoder (version 2, version 1 added). Every record must be read
by Java with every field equal (doubles equal as doubles), version-1 records
with lang and source null, and a decoder of version 1 alone must refuse a
version-2 record. The classpath is tests/registry/pom.xml's (Apache Avro),
resolved once per build with Maven."""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
writer, build = sys.argv[1], sys.argv[2]


def same(a, b, path):
    if isinstance(a, float) or isinstance(b, float):
        if float(a) != float(b) or (float(a) == 0 and str(float(a)) != str(float(b))):
            sys.exit("FAIL %s: Java %r, ours %r" % (path, a, b))
    elif isinstance(a, dict) and isinstance(b, dict):
        if list(a) != list(b):
            sys.exit("FAIL %s: keys %s (Java) against %s (ours)" % (path, list(a), list(b)))
        for k in a:
            same(a[k], b[k], path + "." + k)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            sys.exit("FAIL %s: %d items against %d" % (path, len(a), len(b)))
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, "%s[%d]" % (path, i))
    elif a != b:
        sys.exit("FAIL %s: Java %r, ours %r" % (path, a, b))


work = tempfile.mkdtemp(prefix="avro-java-")
hexf, ours = os.path.join(work, "records.hex"), os.path.join(work, "records.jsonl")
subprocess.run([writer, hexf, ours], check=True, timeout=60)
cp_file = os.path.join(build, "tests", "registry-client.classpath")
if not os.path.exists(cp_file):
    r = subprocess.run(["mvn", "-q", "-B", "dependency:build-classpath", "-Dmdep.outputFile=" + cp_file],
                       cwd=os.path.join(ROOT, "tests", "registry"), capture_output=True, text=True, timeout=600)
    if r.returncode:
        sys.exit("FAIL mvn dependency:build-classpath: %s" % (r.stdout + r.stderr)[-2000:])
avsc = os.path.join(ROOT, "schemas", "avro")
r = subprocess.run(["java", "-cp", open(cp_file).read().strip(), os.path.join(HERE, "Decode.java"),
                    os.path.join(avsc, "record.avsc"), os.path.join(avsc, "record-1.avsc"), hexf],
                   capture_output=True, text=True, timeout=300)
sys.stderr.write(r.stderr)
if r.returncode:
    sys.exit("FAIL Decode.java exit %d" % r.returncode)
# "-0" is a double (negative zero), not the integer 0.
num = dict(parse_int=lambda s: -0.0 if s == "-0" else int(s))
java = [json.loads(l, **num) for l in r.stdout.splitlines()]
mine = [json.loads(l, **num) for l in open(ours)]
if len(java) != len(mine) or len(mine) != 2000:
    sys.exit("FAIL Java read %d records, ours %d (2000 written)" % (len(java), len(mine)))
v1 = with_lang = 0
for i, (a, b) in enumerate(zip(java, mine)):
    same(a, b, "record %d" % i)
    if i % 5 == 4:
        v1 += 1
        if a["lang"] is not None or a["source"] is not None:
            sys.exit("FAIL record %d (version 1): lang %r, source %r" % (i, a["lang"], a["source"]))
    elif a["lang"] is not None:
        with_lang += 1
if not with_lang:
    sys.exit("FAIL no record with a lang: the test would not see one lost")
print("ok: Java's BinaryMessageDecoder read all %d records equal to ours (%d of version 1, lang and source null; "
      "%d of version 2 with a lang); version 1 alone refused version 2" % (len(java), v1, with_lang))
