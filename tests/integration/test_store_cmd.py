"""trapline store info|verify|compact."""
import json
import os
import subprocess

from conftest import ev, lines


def fill(tl, n=30000):
    # Many small transactions leave pages on LMDB's free list.
    for part in range(6):
        tl.ingest(lines(*[ev(1600000000 + part * 86400 + i, "198.51.%d.%d" % (i % 200, part + 1),
                            tags=["pharma"] if i % 3 == 0 else [])
                          for i in range(n // 6)]), "--commit-every", "500", check=0)


def info(tl):
    return json.loads(tl.run("store", "info", "--json", check=0).stdout)


def test_info_counts(tl):
    tl.ingest(lines(ev(1600000000, "198.51.100.1"), ev(1600000000, "198.51.100.1"),
                    ev(1600000000, "2001:db8::1", count=5)), check=0)
    o = info(tl)
    assert o["ips_v4"] == 1 and o["ips_v6"] == 1
    assert o["events"] == 3
    assert o["latest"] == "2020-09-13"
    assert o["map_used"] > 0 and 0 <= o["map_free"] < o["map_used"]
    out = tl.run("store", "info", check=0).stdout.decode()
    assert out.startswith("IPs          2 (IPv4 1, IPv6 1)\n")


def test_compact_keeps_every_answer_and_shrinks(tl):
    fill(tl)
    before = info(tl)
    top = tl.run("top", "--json", "--limit", "1000", check=0).stdout
    assert before["map_free"] > 0
    p = tl.run("store", "compact", "--json", check=0)
    after = json.loads(p.stdout)
    assert after["map_used"] < before["map_used"]
    assert after["events"] == before["events"]
    assert after["ips_v4"] == before["ips_v4"]
    assert tl.run("top", "--json", "--limit", "1000", check=0).stdout == top
    data = os.path.join(tl.data, "history", "data.mdb")
    assert os.path.getsize(data) == after["map_used"]
    assert not os.path.exists(os.path.join(tl.data, "history.compact"))
    # The store goes on taking events, tags included.
    tl.ingest(lines(ev(1700000000, "198.51.0.1", tags=["pharma", "phish"])), check=0)
    o = tl.show("198.51.0.1")
    assert o["tags"]["phish"] == 1 and o["tags"]["pharma"] >= 1
    assert tl.run("store", "verify", check=0)


def put_raw(tl, tmp_path, db, key_hex, value_hex):
    """Write one raw record into sub-database @db of the store with LMDB's
    own mdb_load, past trapline's checks (to damage one)."""
    dump = tmp_path / "raw.txt"
    dump.write_text("VERSION=3\nformat=bytevalue\ndatabase=%s\ntype=btree\n"
                    "HEADER=END\n %s\n %s\nDATA=END\n" % (db, key_hex, value_hex))
    subprocess.run(["mdb_load", "-f", str(dump), "-s", db,
                    os.path.join(tl.data, "history")], check=True)


def test_verify_finds_a_damaged_record(tl, tmp_path):
    tl.ingest(lines(ev(1600000000, "198.51.100.1"), ev(1600000000, "198.51.100.2")), check=0)
    p = tl.run("store", "verify", check=0)
    assert b"2 records read, 0 unreadable" in p.stderr
    put_raw(tl, tmp_path, "v4", "c6336401", "0100")
    p = tl.run("store", "verify")
    assert p.returncode == 65
    assert b"record of 198.51.100.1: data corrupt" in p.stderr
    assert b"2 records read, 1 unreadable" in p.stderr


def test_verify_reads_the_check_records_too(tl, tmp_path):
    """`check --record` results are records of the store: verify decodes
    them as well, and names a damaged one."""
    tl.ingest(lines(ev(1600000000, "198.51.100.1"), ev(1600000000, "198.51.100.2")), check=0)
    put_raw(tl, tmp_path, "checks", "c6336402", "ff00")
    p = tl.run("store", "verify")
    assert p.returncode == 65
    assert b"check record of 198.51.100.2: " in p.stderr
    assert b"3 records read, 1 unreadable" in p.stderr


def test_store_usage(tl):
    assert tl.run("store").returncode == 2
    assert tl.run("store", "defrag").returncode == 2
    assert tl.run("store", "info").returncode == 66
