"""net.py -- the fault harness's network: network namespaces joined by veth
pairs to a bridge in a namespace of its own, addresses that exist only
inside them (SUBNET), DROP rules, and a teardown that leaves nothing."""
import collections
import ctypes
import os
import signal
import time

from util import run

SUBNET = "10.231.0."
CLONE_NEWNET = 0x40000000

libc = ctypes.CDLL(None, use_errno=True)


def setns(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns " + path)
    finally:
        os.close(fd)




class Net:
    """Namespaces named TAG-NAME; node NAME at SUBNET+host. The harness
    itself enters the client's namespace (enter()) and leaves it for the
    teardown (leave())."""

    def __init__(self, tag):
        self.tag = tag
        self.hub = tag + "-hub"
        self.nodes = collections.OrderedDict()   # name -> ip
        self.made = []
        self.home = os.open("/proc/self/ns/net", os.O_RDONLY)

    def ns(self, name):
        return "%s-%s" % (self.tag, name)

    def create(self, names):
        run("ip", "netns", "add", self.hub)
        self.made.append(self.hub)
        run("ip", "-n", self.hub, "link", "add", "br0", "type", "bridge")
        run("ip", "-n", self.hub, "link", "set", "br0", "up")
        for host, name in enumerate(names, start=1):
            ns = self.ns(name)
            run("ip", "netns", "add", ns)
            self.made.append(ns)
            # Interface names: at most 15 bytes, unique on the host while
            # both ends are created there.
            a, b = "%se%d" % (self.tag, host), "%sb%d" % (self.tag, host)
            run("ip", "link", "add", a, "type", "veth", "peer", "name", b)
            run("ip", "link", "set", a, "netns", ns)
            run("ip", "link", "set", b, "netns", self.hub)
            run("ip", "-n", self.hub, "link", "set", b, "master", "br0", "up")
            run("ip", "-n", ns, "addr", "add", "%s%d/24" % (SUBNET, host), "dev", a)
            run("ip", "-n", ns, "link", "set", a, "up")
            run("ip", "-n", ns, "link", "set", "lo", "up")
            self.nodes[name] = "%s%d" % (SUBNET, host)

    def exec_argv(self, name, argv):
        return ["ip", "netns", "exec", self.ns(name), *argv]

    def enter(self, name):
        setns("/run/netns/" + self.ns(name))

    def leave(self):
        if libc.setns(self.home, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns home")

    def drop(self, name, peer_ip, direction, add=True):
        """DROP in NAME's namespace: 'in' what comes from peer_ip, 'out' what
        goes to it, 'both'. add=False removes the same rule once."""
        op = "-I" if add else "-D"
        rules = []
        if direction in ("in", "both"):
            rules.append(["INPUT", "-s", peer_ip])
        if direction in ("out", "both"):
            rules.append(["OUTPUT", "-d", peer_ip])
        for chain, flag, ip in rules:
            run("ip", "netns", "exec", self.ns(name), "iptables", "-w", op, chain, flag, ip, "-j", "DROP")

    def teardown(self):
        # Nothing may interrupt it (a second SIGTERM, ^C): what it leaves
        # would stay on the machine.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            self.leave()
        except OSError:
            pass
        for ns in reversed(self.made):
            r = run("ip", "netns", "pids", ns, check=False)
            for pid in r.stdout.split():
                try:
                    os.kill(int(pid), signal.SIGCONT)
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
        time.sleep(0.5)
        for ns in reversed(self.made):
            run("ip", "netns", "del", ns, check=False)
        self.made = []
