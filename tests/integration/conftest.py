"""Shared fixtures: the binary under test, fresh stores, a runner."""
import json
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("TRAPLINE_BIN", os.path.join(ROOT, "build", "trapline"))
# Fixed "today" so listings and windows do not depend on the calendar.
NOW = "2026-11-27"


class Trapline:
    def __init__(self, data):
        self.data = str(data)
        self.env = dict(os.environ, TRAPLINE_NOW=NOW)
        self.env.pop("TRAPLINE_DATA", None)
        self.env.pop("TRAPLINE_CONFIG", None)

    def run(self, *args, input=None, check=None, data=True, timeout=120):
        cmd = [BIN, *args]
        if data and args and args[0] not in ("simulate",):
            cmd[2:2] = ["--data", self.data]
        p = subprocess.run(cmd, input=input, capture_output=True, env=self.env,
                           timeout=timeout)
        if check is not None:
            assert p.returncode == check, (cmd, p.returncode, p.stderr.decode(errors="replace"))
        return p

    def ingest(self, text, *args, check=0):
        if isinstance(text, str):
            text = text.encode()
        return self.run("ingest", *args, "-", input=text, check=check)

    def show(self, ip):
        p = self.run("show", "--json", ip, check=0)
        return json.loads(p.stdout)

    def top(self, *args):
        p = self.run("top", "--json", *args, check=0)
        return json.loads(p.stdout)


@pytest.fixture
def tl(tmp_path):
    return Trapline(tmp_path / "store")


def logfile(path):
    """A fresh log file for a server's stderr, opened for appending: the
    server's writes go to the end whatever offset the test's reads leave
    (the two share one file description; with "w+", a read that seeks to
    0 while the server writes made it overwrite the start)."""
    open(path, "w").close()
    return open(path, "a+")


def ev(time, ip, kind=None, count=None, **extra):
    o = {"time": time, "ip": ip}
    if kind:
        o["kind"] = kind
    if count is not None:
        o["count"] = count
    o.update(extra)
    return json.dumps(o)


def lines(*events):
    return "\n".join(events) + "\n"


@pytest.fixture
def small_disk(tmp_path):
    """A small tmpfs (mounted here as root), to fill the disk under a store."""
    import subprocess
    mnt = tmp_path / "disk"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mnt)],
                       capture_output=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs here: " + r.stderr.decode().strip())
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)
