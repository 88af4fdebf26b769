"""kill -9 at random points: nothing acknowledged is lost, nothing doubled.

Line i of the input is one spam event for IP number i % NIPS. ingest
--progress prints "durable N" after each group commit: those N lines are
acknowledged. After a crash (and a crash during the recovery that follows),
the store must hold exactly the first P lines for some P >= N: each IP's
count equals the number of lines among the first P that name it.
"""
import os
import random
import signal
import subprocess
import time

from conftest import BIN, ev, lines

NIPS = 16
NLINES = 120000


def ip(j):
    return "198.51.100.%d" % (j + 1)


def make_input(path):
    with open(path, "w") as f:
        for i in range(NLINES):
            f.write(ev(1500000000 + i * 60, ip(i % NIPS)) + "\n")


def counts(tl):
    return [tl.show(ip(j))["events"]["spam"] for j in range(NIPS)]


def expected(p):
    return [p // NIPS + (1 if j < p % NIPS else 0) for j in range(NIPS)]


def run_and_kill(tl, path, delay):
    proc = subprocess.Popen([BIN, "ingest", "--data", tl.data, "--progress",
                             "--commit-every", "3000", "--quiet", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=tl.env)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    out, _ = proc.communicate()
    acked = 0
    for line in out.decode().splitlines():
        if line.startswith("durable "):
            acked = int(line.split()[1])
    return acked, proc.returncode


def recover(tl, kill_after=None):
    """Open the store as a writer (an empty ingest), which replays the journal."""
    proc = subprocess.Popen([BIN, "ingest", "--data", tl.data, "--quiet", "-"],
                            stdin=subprocess.PIPE, stderr=subprocess.PIPE, env=tl.env)
    if kill_after is not None:
        time.sleep(kill_after)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(b"")
        return
    _, err = proc.communicate(b"", timeout=120)
    assert proc.returncode == 0, err


def test_sigkill_during_ingest_loses_and_doubles_nothing(tl, tmp_path):
    path = tmp_path / "in.ndjson"
    make_input(path)
    # How long a full run takes here, so kills land all through it.
    t0 = time.monotonic()
    subprocess.run([BIN, "ingest", "--data", str(tmp_path / "timing"), "--quiet", str(path)],
                   check=True, env=tl.env)
    full = time.monotonic() - t0
    rng = random.Random(int(os.environ.get("TRAPLINE_CRASH_SEED", "5782")))
    killed_mid_run = 0
    for trial in range(6):
        tl.data = str(tmp_path / ("store%d" % trial))
        acked, rc = run_and_kill(tl, path, rng.uniform(0.05, full))
        if rc == -signal.SIGKILL and acked < NLINES:
            killed_mid_run += 1
        if trial % 2:
            recover(tl, kill_after=rng.uniform(0.0, 0.2))
        recover(tl)
        got = counts(tl)
        p = sum(got)
        assert p >= acked, (trial, acked, got)
        assert got == expected(p), (trial, acked, got)
        # A later run on the same store adds exactly the whole file again.
        if trial == 0:
            subprocess.run([BIN, "ingest", "--data", tl.data, "--quiet", str(path)],
                           check=True, env=tl.env)
            assert counts(tl) == [a + b for a, b in zip(expected(p), expected(NLINES))]
    assert killed_mid_run >= 1


def test_torn_journal_tail_is_cut(tl, tmp_path):
    """A frame half-written at the end of the journal is not applied."""
    tl.ingest(lines(ev(1600000000, ip(0))), check=0)
    jdir = os.path.join(tl.data, "journal")
    seg = sorted(os.listdir(jdir))[-1]
    with open(os.path.join(jdir, seg), "ab") as f:
        f.write(b"TLPF\x40\x00\x00\x00garbage")
    recover(tl)
    assert counts(tl)[0] == 1
    tl.ingest(lines(ev(1600000000, ip(0))), check=0)
    assert counts(tl)[0] == 2


def test_damage_inside_the_journal_is_refused_not_cut(tl, tmp_path):
    """A bad frame with whole frames after it is damage, not a crash: the
    store refuses to open rather than drop acknowledged events."""
    text = "".join(lines(ev(1600000000 + i, ip(i % NIPS))) for i in range(30000))
    jdir = os.path.join(tl.data, "journal")
    # Frames written but not applied: a writer killed after its fsync.
    proc = subprocess.Popen([BIN, "ingest", "--data", tl.data, "--progress",
                             "--commit-every", "10000", "-"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=tl.env)
    proc.stdin.write(text.encode())
    proc.stdin.close()
    proc.wait(timeout=60)
    seg = os.path.join(jdir, sorted(os.listdir(jdir))[-1])
    size = os.path.getsize(seg)
    # Damage a byte in the first frame of the segment, then make the store
    # replay it by clearing the history's applied position: simplest is a
    # new store directory holding only this journal.
    fresh = tmp_path / "replay"
    os.makedirs(fresh / "journal")
    data = bytearray(open(seg, "rb").read())
    data[100] ^= 0xFF
    (fresh / "journal" / os.path.basename(seg)).write_bytes(bytes(data))
    tl.data = str(fresh)
    p = tl.ingest(b"", check=65)
    assert b"corrupt at offset" in p.stderr
    assert os.path.getsize(fresh / "journal" / os.path.basename(seg)) == size
