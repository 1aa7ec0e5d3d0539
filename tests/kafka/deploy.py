"""deploy.py -- the container image run as consumers against the broker,
and the Kubernetes pod of deploy/k8s/overlays/cpu run exactly as rendered,
over mutual TLS; both check that nothing was written to the image's root."""
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


IMAGE = os.environ.get("DHATU_TEST_IMAGE", "")
BUILDAH_ENV = dict(os.environ, STORAGE_DRIVER=os.environ.get("STORAGE_DRIVER", "vfs"),
                   BUILDAH_ISOLATION=os.environ.get("BUILDAH_ISOLATION", "chroot"))
CONTAINERS = []


def _remove_containers():
    for cid in CONTAINERS:
        subprocess.run(["buildah", "rm", cid], capture_output=True, env=BUILDAH_ENV)


CLEANUPS.append(_remove_containers)
# Paths buildah itself creates in a container's root for a run (mount
# targets, resolver files): not writes by the program.
RUNTIME_PATHS = ("etc/hosts", "etc/resolv.conf", "etc/hostname", "run/", "dev/", "proc/", "sys/", "etc/dhatu/")


def buildah(*args, check=True):
    r = subprocess.run(["buildah", *args], capture_output=True, text=True, env=BUILDAH_ENV, timeout=300)
    if check and r.returncode != 0:
        fail("buildah %s: %s" % (" ".join(args[:2]), r.stderr.strip()))
    return r.stdout.strip()


def image_container(name):
    """A working container of the image, its root mounted on the host so
    that the test can see what a run wrote there (nothing, for a program
    meant for a read-only root filesystem)."""
    if not IMAGE:
        fail("DHATU_TEST_IMAGE is not set (deploy/image/build.sh prints the tag)")
    if subprocess.run(["buildah", "inspect", "--type", "image", IMAGE], capture_output=True,
                      env=BUILDAH_ENV).returncode != 0:
        if os.geteuid() != 0:
            log("SKIP: no image %s and buildah needs root to build it (tests/image_build.sh)" % IMAGE)
            sys.exit(77)
        fail("no image %s (ctest's image_build makes it: deploy/image/build.sh)" % IMAGE)
    cid = buildah("from", "--quiet", "--pull-never", "--name", "%s-%s" % (name, TAG), IMAGE)
    CONTAINERS.append(cid)
    root = buildah("mount", cid)
    marker = os.path.join(WORK, "before-%s" % name)
    open(marker, "w").close()
    time.sleep(1.1)  # mtimes of later writes differ from the marker's
    return cid, root, marker


def image_consumer(cid, args, name, volumes=(), user=None, env=None):
    """dhatu-consumer inside the image (buildah run: chroot isolation, host
    network), with bind mounts (host, path-in-container) read-only."""
    logf = open(os.path.join(WORK, "%s.log" % name), "a")
    cmd = ["buildah", "run", "--network", "host"]
    for host, inside in volumes:
        cmd += ["-v", "%s:%s:ro" % (host, inside)]
    if user:
        cmd += ["--user", user]
    for k, v in (env or {}).items():
        cmd += ["--env", "%s=%s" % (k, v)]
    p = subprocess.Popen(cmd + [cid, "--", "/usr/local/bin/dhatu-consumer", *args], stdout=logf,
                         stderr=subprocess.STDOUT, env=BUILDAH_ENV)
    p.logname = logf.name
    CHILDREN.append(p)
    return p


def root_unchanged(root, marker):
    """Files of the container's root written since the marker: none allowed
    but what buildah made for the run itself."""
    r = subprocess.run(["find", root, "-xdev", "-newer", marker, "-not", "-type", "d"], capture_output=True,
                       text=True)
    written = [f[len(root):].lstrip("/") for f in r.stdout.split()]
    written = [f for f in written if not f.startswith(RUNTIME_PATHS)]
    if written:
        fail("the consumer wrote to the image's root filesystem: %s" % written[:10])


def image_scenario():
    """Two members run inside the built image, as its unprivileged user:
    records equal dhatu-vectorize's, lineage names the image's consumer, and
    nothing was written to the image's root filesystem (so a read-only root,
    as Kubernetes runs it, works)."""
    tin, tout, tdlq = topics()
    produce(tin, SAMPLE)
    procs, roots = [], []
    for i in range(2):
        cid, root, marker = image_container("c%d" % i)
        roots.append((root, marker))
        procs.append(image_consumer(cid, ["-b", BROKERS, "-t", tin, "-o", tout, "-d", tdlq, "-g", "g-" + TAG,
                                          "-B", "cpu", "-s", "engine.threads=1", "-s", "http.port=0",
                                          "--exit-idle", "4000"], "c%d" % i))
    wait_all(procs, 180)
    recs = dump(tout)
    check_records(recs, tin, SAMPLE)
    for root, marker in roots:
        root_unchanged(root, marker)
    user = buildah("inspect", "--type", "image", "--format", "{{.OCIv1.Config.User}}", IMAGE)
    log("image %s (user %s): 2 members, %d records equal to dhatu-vectorize; root filesystem untouched"
        % (IMAGE, user, len(recs)))


def k8s_rendered():
    """The pod of deploy/k8s/overlays/cpu, run as rendered: the image the
    Deployment names, its user and group, the ConfigMap's file at its
    mountPath, the Secrets' files under Strimzi's key names at theirs (here
    the local mutual-TLS cluster's consumer certificate and CA), the args
    with $(POD_NAME) expanded. Two things differ, and only by flags appended
    to those args: -b (the in-cluster bootstrap name cannot resolve here)
    and http.port=0 (host networking shares the port space). The topics and
    group are the configuration's own; the ACLs are Strimzi's KafkaUser's."""
    if SECURITY != "ssl":
        fail("k8s-rendered needs the mutual-TLS cluster (DHATU_TEST_SECURITY=ssl)")
    pod_dir = os.path.join(WORK, "pod")
    # The renderer's npm packages (k8s_manifests may not have installed them yet).
    subprocess.run([os.path.join(ROOT, "deploy", "k8s", "test", "npm.sh")], check=True, timeout=600)
    r = subprocess.run(["node", os.path.join(ROOT, "deploy", "k8s", "test", "pod.mjs"), "overlays/cpu", pod_dir],
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        fail("pod.mjs: %s" % r.stderr)
    pod = json.loads(r.stdout)
    global IMAGE
    IMAGE = pod["image"]
    conf = open(os.path.join(pod_dir, "config", "dhatu-consumer.conf")).read()
    group = re.search(r'group_id = "([^"]+)"', conf).group(1)
    tin = re.search(r'input = \["([^"]+)"\]', conf).group(1)
    tout = re.search(r'output = "([^"]+)"', conf).group(1)
    tdlq = re.search(r'dead_letter = "([^"]+)"', conf).group(1)
    # Fresh topics of the configuration's names (a rerun on the same cluster
    # starts from nothing).
    for t in (tin, tout, tdlq):
        subprocess.run([KAFKA_SH, "delete-topic", t], env=KENV, capture_output=True)
    for t in (tin, tout, tdlq):
        spec = pod["topics"][t]
        topic(t, spec["partitions"], *[x for k, v in spec["config"].items() for x in ("--config", "%s=%s" % (k, v))])
    subprocess.run([KAFKA_SH, "grant", tin, tout, tdlq, group], check=True, env=KENV)
    # The Secrets as Kubernetes would mount them (Strimzi's key names),
    # readable by the pod's group as fsGroup and defaultMode 0440 make them.
    tls = os.path.join(KENV["KAFKA_STATE_DIR"], "tls")
    files = {"dhatu-consumer": {"user.crt": "dhatu-consumer.pem", "user.key": "dhatu-consumer.key"},
             "dhatu-kafka-cluster-ca-cert": {"ca.crt": "ca.pem"}}
    volumes = []
    for m in pod["mounts"]:
        if "configMap" in m:
            src = m["dir"]
        else:
            src = os.path.join(WORK, "secret-" + m["secret"])
            os.makedirs(src, exist_ok=True)
            for k, f in files[m["secret"]].items():
                if m["items"] and k not in [i["key"] for i in m["items"]]:
                    continue
                dst = os.path.join(src, k)
                with open(os.path.join(tls, f), "rb") as a, open(dst, "wb") as b:
                    b.write(a.read())
                os.chown(dst, 0, pod["group"])
                os.chmod(dst, 0o440)
        os.chmod(src, 0o755)
        volumes.append((src, m["path"]))
    os.chmod(os.path.join(pod_dir, "config", "dhatu-consumer.conf"), 0o444)
    produce(tin, SAMPLE)
    cid, root, marker = image_container("pod")
    p = image_consumer(cid, pod["args"] + ["-b", BROKERS, "-s", "http.port=0", "--exit-idle", "5000"], "pod",
                       volumes=volumes, user="%d:%d" % (pod["user"], pod["group"]), env=pod["env"])
    wait_all([p], 180)
    recs = dump(tout)
    check_records(recs, tin, SAMPLE)
    root_unchanged(root, marker)
    log("pod of overlays/cpu (%s, uid %d, mutual TLS as dhatu-consumer, group %s): %d records equal to "
        "dhatu-vectorize; root filesystem untouched" % (IMAGE, pod["user"], group, len(recs)))
