"""trapline ingest: formats, bad input, exit codes, locking."""
import json
import os
import subprocess
import threading
import time

from conftest import BIN, ev, lines


def test_ndjson_from_stdin_is_stored(tl):
    p = tl.ingest(lines(
        ev("2020-01-01T10:00:00Z", "81.2.69.142", "spam", 3, tags=["pharma"], sensor="t1"),
        ev(1577880000, "81.2.69.142", "auth"),
        ev("2020-01-05T00:00:00+02:00", "2a02:c7f::1", "malware"),
    ))
    assert b"3 events stored" in p.stderr
    o = tl.show("81.2.69.142")
    assert o["events"] == {"spam": 3, "dictionary": 0, "auth": 1, "malware": 0}
    assert o["tags"] == {"pharma": 3}
    assert o["first_seen"] == "2020-01-01"
    # +02:00 moves the event to the day before in UTC.
    assert tl.show("2a02:c7f::1")["first_seen"] == "2020-01-04"


def test_csv_file_and_header(tl, tmp_path):
    f = tmp_path / "events.csv"
    f.write_text("time,ip,kind,count\n"
                 "2021-06-01T00:00:00Z,192.0.2.7,dictionary,40\r\n"
                 "\"2021-06-02T00:00:00Z\",192.0.2.7,,\n"
                 "1622764800,192.0.2.7\n")
    tl.run("ingest", str(f), check=0)
    o = tl.show("192.0.2.7")
    assert o["events"]["dictionary"] == 40
    assert o["events"]["spam"] == 2
    assert o["active_days"] == 3


def test_format_flag_overrides_the_name(tl, tmp_path):
    f = tmp_path / "events.txt"
    f.write_text("2021-06-01T00:00:00Z,198.51.100.1,spam,2\n")
    tl.run("ingest", "--format", "csv", str(f), check=0)
    assert tl.show("198.51.100.1")["events"]["spam"] == 2


def test_several_files_in_one_run(tl, tmp_path):
    a, b = tmp_path / "a.ndjson", tmp_path / "b.ndjson"
    a.write_text(lines(ev("2022-01-01T00:00:00Z", "203.0.113.9")))
    b.write_text(lines(ev("2022-01-03T00:00:00Z", "203.0.113.9")))
    tl.run("ingest", str(a), str(b), check=0)
    assert tl.show("203.0.113.9")["active_days"] == 2


def test_bad_records_are_skipped_reported_and_exit_65(tl):
    text = lines(
        ev("2020-01-01T00:00:00Z", "198.51.100.5"),
        '{"time": "2020-01-01T00:00:00Z", "ip": "300.1.1.1"}',
        '{"ip": "198.51.100.5"}',
        'this is not json',
        ev("2020-01-01T00:00:00Z", "198.51.100.5", "nonsense"),
        ev("2020-01-01T00:00:00Z", "fe80::1%eth0"),
        ev("2020-01-01T00:00:00Z", "198.51.100.5", count=0),
        '{"time": "2020-01-01T00:00:00Z", "ip": "198.51.100.5", "ip": "198.51.100.6"}',
        ev("2020-01-02T00:00:00Z", "198.51.100.5", "auth"),
    )
    p = tl.ingest(text, check=65)
    err = p.stderr.decode()
    assert ':2: field "ip": not an IP address' in err
    assert ':3: field "time": required field missing' in err
    assert ":4: syntax error" in err
    assert ':5: field "kind": unknown kind' in err
    assert ':6: field "ip": IPv6 zone ids are not allowed' in err
    assert ':7: field "count"' in err
    assert ':8: field "ip": duplicate field' in err
    assert "2 events stored, 7 bad records skipped" in err
    o = tl.show("198.51.100.5")
    assert o["events"]["spam"] == 1 and o["events"]["auth"] == 1


def test_strict_stops_at_first_bad_record_keeping_earlier_ones(tl):
    text = lines(
        ev("2020-01-01T00:00:00Z", "198.51.100.5"),
        "garbage",
        ev("2020-01-02T00:00:00Z", "198.51.100.5"),
    )
    p = tl.ingest(text, "--strict", check=65)
    assert b":2: syntax error" in p.stderr
    assert tl.show("198.51.100.5")["events"]["spam"] == 1


def test_overlong_line_and_binary_garbage_lose_nothing_else(tl):
    junk = bytes(range(256)) * 50
    big = b'{"time": 1600000000, "ip": "198.51.100.9", "helo": "' + b"a" * 200000 + b'"}'
    good = lines(ev(1600000000, "198.51.100.8")).encode()
    p = tl.ingest(good + junk + b"\n" + big + b"\n" + good, check=65)
    assert b"too long" in p.stderr
    assert tl.show("198.51.100.8")["events"]["spam"] == 2
    assert tl.show("198.51.100.9")["seen"] is False


def test_last_line_without_newline_counts(tl):
    tl.ingest(ev(1600000000, "198.51.100.1"), check=0)
    assert tl.show("198.51.100.1")["events"]["spam"] == 1


def test_empty_input_is_fine(tl):
    tl.ingest(b"", check=0)
    tl.ingest(b"\n\n  \n", check=0)


def test_usage_errors(tl, tmp_path):
    assert tl.run("ingest", "--format", "xml", "-").returncode == 2
    assert tl.run("ingest", "--commit-every", "0", "-").returncode == 2
    assert tl.run("ingest", str(tmp_path / "missing.ndjson")).returncode == 66


def test_v4_mapped_addresses_are_ipv4(tl):
    tl.ingest(lines(ev(1600000000, "::ffff:81.2.69.142"), ev(1600000000, "81.2.69.142")), check=0)
    o = tl.show("81.2.69.142")
    assert o["events"]["spam"] == 2
    assert tl.show("::ffff:81.2.69.142")["ip"] == "81.2.69.142"


def test_second_writer_waits_for_the_first(tl):
    """Two ingests at once: the lock serialises them; nothing is lost."""
    n = 50000
    text = "".join(lines(ev(1600000000 + i, "198.51.100.%d" % (i % 50))) for i in range(n)).encode()
    procs = [subprocess.Popen([BIN, "ingest", "--data", tl.data, "--commit-every", "1000", "-"],
                              stdin=subprocess.PIPE, stderr=subprocess.PIPE, env=tl.env)
             for _ in range(2)]
    # Feed both at once: either may take the lock first.
    threads = [threading.Thread(target=p.communicate, args=(text, 120)) for p in procs]
    for t in threads:
        t.start()
    for t, p in zip(threads, procs):
        t.join()
        assert p.returncode == 0
    total = sum(tl.show("198.51.100.%d" % i)["events"]["spam"] for i in range(50))
    assert total == 2 * n


def test_progress_reports_durable_positions(tl):
    text = "".join(lines(ev(1600000000 + i, "198.51.100.1")) for i in range(2500))
    p = tl.ingest(text, "--progress", "--commit-every", "1000", check=0)
    out = p.stdout.decode().split("\n")
    assert out[0] == "durable 1000 (stdin):1000"
    assert out[1] == "durable 2000 (stdin):2000"
    assert out[2] == "durable 2500 (stdin):2500"


def test_config_file_sets_the_store(tmp_path):
    store = tmp_path / "from-config"
    conf = tmp_path / "t.conf"
    conf.write_text("[store]\ndata = %s\n" % store)
    env = dict(os.environ)
    env.pop("TRAPLINE_DATA", None)
    p = subprocess.run([BIN, "ingest", "--config", str(conf), "-"],
                       input=lines(ev(1600000000, "198.51.100.1")).encode(),
                       capture_output=True, env=env)
    assert p.returncode == 0, p.stderr
    assert (store / "history").is_dir()
    bad = tmp_path / "bad.conf"
    bad.write_text("[store]\ndatta = x\n")
    p = subprocess.run([BIN, "ingest", "--config", str(bad), "-"], input=b"",
                       capture_output=True, env=env)
    assert p.returncode == 2
    assert b"unknown key [store] datta" in p.stderr


def test_line_numbers_are_per_file(tl, tmp_path):
    a, b = tmp_path / "a.ndjson", tmp_path / "b.ndjson"
    a.write_text(lines(ev(1600000000, "198.51.100.1"), ev(1600000000, "198.51.100.1")))
    b.write_text(lines(ev(1600000000, "198.51.100.1"), "BAD"))
    p = tl.run("ingest", str(a), str(b), check=65)
    assert (str(b) + ":2: syntax error").encode() in p.stderr


def test_journal_is_pruned_while_a_stream_stays_open(tl):
    """A long-running ingest (tail -f | trapline ingest -) must not keep
    every journal segment: applied ones go while it runs."""
    helo = "h" * 250
    chunk = "".join(lines(ev(1600000000 + i, "198.51.100.%d" % (i % 200), helo=helo))
                    for i in range(20000)).encode()
    proc = subprocess.Popen([BIN, "ingest", "--data", tl.data, "--progress",
                             "--commit-every", "5000", "--quiet", "-"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=tl.env)
    jdir = os.path.join(tl.data, "journal")
    sent, pruned = 0, False
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            proc.stdin.write(chunk)
            proc.stdin.flush()
            sent += 20000
            # Wait until this chunk is acknowledged.
            while True:
                line = proc.stdout.readline().decode()
                assert line, "ingest ended early"
                if int(line.split()[1]) >= sent:
                    break
            segs = sorted(os.listdir(jdir))
            if sent > 400000 and segs[0] != "0000000000000001.tlj":
                pruned = True
                break
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
    assert pruned, os.listdir(jdir)
    assert proc.returncode == 0
    total = sum(tl.show("198.51.100.%d" % i)["events"]["spam"] for i in range(200))
    assert total == sent


def test_events_from_the_future_are_refused(tl):
    """A sensor with a broken clock must not keep an address listed for
    years: more than a day past now is a bad record."""
    p = tl.ingest(lines(ev("2026-11-28T12:00:00Z", "198.51.100.1"),   # within a day
                        ev("2026-12-01T00:00:00Z", "198.51.100.1"),   # days ahead
                        ev("2150-01-01T00:00:00Z", "198.51.100.1")), check=65)
    assert p.stderr.count(b'field "time": time is more than a day in the future') == 2
    o = tl.show("198.51.100.1")
    assert o["events"]["spam"] == 1 and o["last_seen"] == "2026-11-28"
