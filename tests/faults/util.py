"""util.py -- what the fault harness's modules share: its clock and log, its
error, and running a command."""
import subprocess
import time

T0 = time.monotonic()


def now():
    """Seconds since the harness started."""
    return time.monotonic() - T0


def log(*a):
    print("[faults %6.1fs]" % now(), *a, flush=True)


class Failed(Exception):
    """The run cannot go on (a broker that will not start, a tool that
    fails); the harness tears down and exits 1."""


def run(*cmd, check=True, timeout=60):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise Failed("%s: exit %d: %s" % (" ".join(cmd), r.returncode, r.stderr.strip()))
    return r
