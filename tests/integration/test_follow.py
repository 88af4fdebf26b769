"""--follow and serve: growing files, rotation, restarts, watched maildirs."""
import json
import os
import signal
import subprocess
import time

from conftest import BIN, ev, lines

IP = "81.2.69.160"


def spam(tl, ip=IP):
    p = tl.run("show", "--json", ip)
    if p.returncode != 0:
        return 0
    return json.loads(p.stdout)["events"]["spam"]


def wait_for(fn, want, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        got = fn()
        if got == want:
            return got
        time.sleep(0.1)
    return fn()


def day(n):
    return ev("2026-11-%02dT10:00:00Z" % n, IP)


def start(tl, *args):
    return subprocess.Popen([BIN, *args[:1], "--data", tl.data, *args[1:]],
                            env=tl.env, stderr=subprocess.PIPE)


def stop(p):
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=20)
    return p.returncode, err.decode(errors="replace")


def append(path, *evs):
    with open(path, "a") as f:
        f.write(lines(*evs))


def test_follow_takes_new_lines_rotation_and_truncation(tl, tmp_path):
    log = tmp_path / "events.log"
    append(log, day(1))
    p = start(tl, "ingest", "--follow", str(log))
    try:
        assert wait_for(lambda: spam(tl), 1) == 1
        append(log, day(2), day(3))
        assert wait_for(lambda: spam(tl), 3) == 3
        # Rotation by rename: the old file still gets a last line after
        # the rename (as a daemon writes until it reopens), then the new.
        os.rename(log, tmp_path / "events.log.1")
        append(tmp_path / "events.log.1", day(4))
        append(log, day(5))
        assert wait_for(lambda: spam(tl), 5) == 5
        # copytruncate: cut to nothing and written again to the same size.
        with open(log, "w") as f:
            f.write(lines(day(6)))
        assert wait_for(lambda: spam(tl), 6) == 6
    finally:
        rc, err = stop(p)
    assert rc == 0, err
    assert "rotated" in err and "truncated" in err


def test_follow_restart_goes_on_where_it_stopped(tl, tmp_path):
    log = tmp_path / "events.log"
    append(log, day(1), day(2))
    p = start(tl, "ingest", "--follow", str(log))
    assert wait_for(lambda: spam(tl), 2) == 2
    rc, err = stop(p)
    assert rc == 0, err
    append(log, day(3))
    p = start(tl, "ingest", "--follow", str(log))
    assert wait_for(lambda: spam(tl), 3) == 3
    rc, err = stop(p)
    assert rc == 0, err
    assert "going on from byte" in err
    # Nothing was taken twice.
    assert spam(tl) == 3
    # The same path, another file (rotated while we were down): read whole.
    os.rename(log, tmp_path / "old")
    append(log, day(4))
    p = start(tl, "ingest", "--follow", str(log))
    assert wait_for(lambda: spam(tl), 4) == 4
    rc, err = stop(p)
    assert rc == 0, err


def test_follow_waits_for_a_missing_file(tl, tmp_path):
    log = tmp_path / "later.log"
    p = start(tl, "ingest", "--follow", str(log))
    try:
        time.sleep(0.5)
        append(log, day(1))
        assert wait_for(lambda: spam(tl), 1) == 1
    finally:
        rc, err = stop(p)
    assert rc == 0, err
    assert "waiting for it" in err


def test_follow_bad_lines_are_reported_and_skipped(tl, tmp_path):
    log = tmp_path / "events.log"
    append(log, day(1), "not json", day(2))
    p = start(tl, "ingest", "--follow", str(log))
    assert wait_for(lambda: spam(tl), 2) == 2
    rc, err = stop(p)
    assert rc == 65
    assert "events.log:2" in err


def test_follow_refuses_stdin(tl):
    p = tl.run("ingest", "--follow", "-")
    assert p.returncode == 2
    assert b"stdin" in p.stderr


def write_config(tmp_path, **keys):
    cfg = tmp_path / "trapline.conf"
    # No trap: these tests are about the passive sensors.
    body = "[trap]\nlisten =\n[dns]\nlisten =\n[ingest]\n" + "".join("%s = %s\n" % kv for kv in keys.items())
    cfg.write_text(body)
    return str(cfg)


def test_serve_without_sources_says_so(tl, tmp_path):
    cfg = write_config(tmp_path)
    p = tl.run("serve", "--config", cfg)
    assert p.returncode == 2
    assert b"nothing to serve" in p.stderr


def test_serve_follows_logs_and_reloads_on_hup(tl, tmp_path):
    log = tmp_path / "a.log"
    other = tmp_path / "b.log"
    append(log, day(1))
    append(other, ev("2026-11-02T10:00:00Z", "81.2.69.161"))
    # The config names a Postfix log that is not there yet.
    cfg = write_config(tmp_path, postfix_log=str(tmp_path / "mail.log"))
    p = start(tl, "serve", "--config", cfg)
    try:
        time.sleep(0.5)
        assert p.poll() is None
        p.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        assert p.poll() is None
    finally:
        rc, err = stop(p)
    assert rc == 0, err
    assert "reloading" in err and "stopping" in err
