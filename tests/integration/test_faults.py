"""Fault tests: a full disk loses nothing that was acknowledged.

The store lives on a small tmpfs (mounted here as root; skipped where
mounting is not allowed). Filling it makes ingest fail with a clear error
and exit 74; every event acknowledged before is kept; once there is room
again, the next writer applies what the journal holds and nothing is
doubled.
"""
import os
import subprocess

import pytest

from conftest import BIN, ev, lines


def ip(j):
    return "198.51.100.%d" % (j + 1)


def spam(tl, j):
    return tl.show(ip(j))["events"]["spam"]


def test_full_disk_loses_nothing_acknowledged(tl, small_disk):
    tl.data = str(small_disk / "store")
    tl.ingest(lines(*[ev(1600000000 + i, ip(i % 4)) for i in range(400)]), check=0)
    before = [spam(tl, j) for j in range(4)]
    assert before == [100, 100, 100, 100]
    # Far more than 6 MB of journal: the disk fills part way.
    helo = "x" * 250
    big = "".join(lines(ev(1600000000 + i, ip(i % 4), helo=helo)) for i in range(60000))
    p = subprocess.run([BIN, "ingest", "--data", tl.data, "--progress",
                        "--commit-every", "1000", "-"],
                       input=big.encode(), capture_output=True, env=tl.env, timeout=120)
    assert p.returncode == 74, p.stderr
    assert b"No space left on device" in p.stderr
    acked = 0
    for line in p.stdout.decode().splitlines():
        acked = int(line.split()[1])
    # Room again: the next writer replays the journal; exactly once.
    subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
    tl.ingest(b"", check=0)
    got = [spam(tl, j) - 100 for j in range(4)]
    total = sum(got)
    assert total >= acked
    assert got == [total // 4 + (1 if j < total % 4 else 0) for j in range(4)]
    # And the store takes new events as before.
    tl.ingest(lines(ev(1600000000, ip(0))), check=0)
    assert spam(tl, 0) == 100 + got[0] + 1
