"""security.py -- the pipeline on a secured cluster (SASL/SCRAM or mutual
TLS, least-privilege ACLs), over OAUTHBEARER, and the refusals at start
(wrong password, untrusted CA, missing certificate, missing ACLs)."""
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
from group import group_scenario


def secure_pipeline():
    """Two members over the secured cluster, each with the consumer
    principal's client file and nothing more than its ACLs: records equal
    dhatu-vectorize's, one per article."""
    if not SECURITY:
        fail("secure-pipeline needs DHATU_TEST_SECURITY")
    group_scenario(2)
    log("over %s on %s broker(s)" % (SECURITY, KENV["KAFKA_BROKERS"]))


def secure_oauth():
    """The pipeline with SASL/OAUTHBEARER (sasl.oauthbearer.method=oidc):
    producer, two members and the dump get tokens from the cluster's OpenID
    Connect endpoint; the brokers verify them and apply the principals'
    ACLs. Records equal dhatu-vectorize's. Then a wrong client secret (the
    endpoint answers 401) stops the consumer at start with exit 1."""
    if SECURITY != "sasl_ssl":
        fail("secure-oauth needs DHATU_TEST_SECURITY=sasl_ssl")
    group_scenario(2)
    log("over SASL/OAUTHBEARER (OIDC client credentials) on %s broker(s)" % KENV["KAFKA_BROKERS"])
    tin, tout, tdlq = topics()
    props = open(client("dhatu-consumer")[1]).read()
    f = os.path.join(WORK, "wrong-secret.properties")
    open(f, "w").write(re.sub(r"sasl.oauthbearer.client.secret=.*", "sasl.oauthbearer.client.secret=not-the-secret-x7q", props))
    t = time.monotonic()
    r = subprocess.run([CONSUMER, "-b", BROKERS, "-F", f, "-t", tin, "-o", tout, "-d", tdlq, "-g", "g-" + TAG,
                        "-B", "cpu", "-s", "http.port=0"], capture_output=True, text=True, timeout=60)
    took = time.monotonic() - t
    out = r.stderr + r.stdout
    if r.returncode != 1 or took > 20 or "not-the-secret-x7q" in out:
        fail("wrong client secret: exit %d after %.1f s (expected 1 in seconds, secret not printed):\n%s"
             % (r.returncode, took, out[-2000:]))
    log("wrong client secret: exit 1 in %.1f s: %s" % (took, out.strip().splitlines()[-1][:200]))


def secure_refusals():
    """What a secured cluster refuses stops a program at start, exit 1, with
    a message naming the cause, in seconds rather than after a timeout."""
    if not SECURITY:
        fail("secure-refusals needs DHATU_TEST_SECURITY")
    tin, tout, tdlq = topics()
    props = open(client("dhatu-consumer")[1]).read()
    cases = []
    if "sasl.password=" in props:
        cases.append(("wrong password", re.sub(r"sasl.password=.*", "sasl.password=wrong", props), "authentication"))
    # A CA that did not sign the brokers' certificates.
    other_ca = os.path.join(WORK, "other-ca.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=other",
                    "-keyout", os.path.join(WORK, "other-ca.key"), "-out", other_ca], check=True,
                   capture_output=True)
    cases.append(("untrusted certificate", re.sub(r"ssl.ca.location=.*", "ssl.ca.location=" + other_ca, props),
                  "authentication"))
    if "ssl.certificate.location=" in props:  # mutual TLS: no client certificate at all
        cases.append(("no client certificate", re.sub(r"ssl\.(certificate|key)\.location=.*\n", "", props),
                      "authentication"))
    for what, text, expect in cases:
        f = os.path.join(WORK, what.replace(" ", "-") + ".properties")
        open(f, "w").write(text)
        for prog, args in (("dhatu-consumer", [CONSUMER, "-b", BROKERS, "-F", f, "-t", tin, "-o", tout, "-d", tdlq,
                                                 "-g", "g-" + TAG, "-B", "cpu", "-s", "http.port=0"]),
                           ("dhatu-producer", [PRODUCER, "-q", "-b", BROKERS, "-F", f, "-t", tin, SAMPLE])):
            t = time.monotonic()
            r = subprocess.run(args, capture_output=True, text=True, timeout=60)
            took = time.monotonic() - t
            want = 1 if prog == "dhatu-consumer" else 2
            if r.returncode != want or expect not in r.stderr + r.stdout or took > 12:
                fail("%s, %s: exit %d after %.1f s (expected %d, '%s', in seconds):\n%s"
                     % (prog, what, r.returncode, took, want, expect, (r.stderr + r.stdout)[-1500:]))
            if "sasl.password=wrong" in r.stderr + r.stdout:
                fail("the password was printed")
            log("%s, %s: exit %d in %.1f s: %s" % (prog, what, r.returncode, took,
                                                         (r.stderr + r.stdout).strip().splitlines()[-1][:200]))
    # No ACL: a group and an input topic this principal was not granted.
    bare = topic("bare-" + TAG, 1)
    r = subprocess.run([CONSUMER, "-b", BROKERS, *client("dhatu-consumer"), "-t", bare, "-o", tout, "-d", tdlq,
                        "-g", "g-" + TAG, "-B", "cpu", "-s", "http.port=0"], capture_output=True, text=True, timeout=60)
    if r.returncode != 1 or "not authorized" not in r.stderr + r.stdout:
        fail("input topic without an ACL: exit %d:\n%s" % (r.returncode, (r.stderr + r.stdout)[-1500:]))
    log("input topic without an ACL: exit 1: %s" % (r.stderr + r.stdout).strip().splitlines()[-1][:200])
    r = subprocess.run([CONSUMER, "-b", BROKERS, *client("dhatu-consumer"), "-t", tin, "-o", tout, "-d", tdlq,
                        "-g", "not-granted-" + TAG, "-B", "cpu", "-s", "http.port=0"], capture_output=True, text=True,
                       timeout=60)
    if r.returncode != 1 or "not authorized" not in (r.stderr + r.stdout).lower():
        fail("group without an ACL: exit %d:\n%s" % (r.returncode, (r.stderr + r.stdout)[-1500:]))
    log("group without an ACL: exit 1: %s" % (r.stderr + r.stdout).strip().splitlines()[-1][:200])
