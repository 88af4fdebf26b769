"""trapline list: operator listings and the allowlist, end to end.

Entries made with `trapline list` must reach every place that says who is
listed: the DNS answers (a running server is told to reload), `show`,
`top` and every export format, loaded by the software it is made for.
"""
import csv
import io
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import time
import zlib

import pytest

from conftest import BIN, ev, lines, logfile
from freeport import loopback
from test_export import in_netns, reverse as rev, start_rbldnsd

EVENTS = lines(
    ev("2026-11-26T10:00:00Z", "81.2.69.160"),          # listed: spam
    ev("2026-11-26T10:00:00Z", "81.2.69.170", "auth"),  # listed, then allowed
    ev("2026-11-26T10:00:00Z", "81.2.70.9"),            # listed, in the /24
    ev("2026-10-01T10:00:00Z", "81.2.70.20"),           # lapsed, in the /24
)


class Dns:
    """trapline dns on a free loopback port."""

    def __init__(self, tl, tmp_path, cmd="dns"):
        cfg = tmp_path / "dns.conf"
        cfg.write_text("[dns]\nzone = bl.test\nworkers = 2\nrefresh = 3600\n"
                       "listen = %s\n[trap]\nlisten =\n" % loopback())
        self.log = logfile(tmp_path / (cmd + ".log"))
        args = [BIN, cmd, "--data", tl.data, "--config", str(cfg)]
        if cmd == "dns":
            args += ["--listen", loopback()]
        self.p = subprocess.Popen(args, env=tl.env, stderr=self.log)
        end = time.time() + 30
        self.port = None
        while not self.port and time.time() < end:
            m = re.search(r"listening on port (\d+)", self.text())
            self.port = m and int(m.group(1))
            if self.p.poll() is not None:
                break
            time.sleep(0.05)
        assert self.port, self.text()
        self.pidfile = os.path.join(tl.data, cmd + ".pid")
        end = time.time() + 10
        while not os.path.exists(self.pidfile) and time.time() < end:
            time.sleep(0.05)

    def text(self):
        self.log.seek(0)
        return self.log.read()

    def a(self, ip):
        p = subprocess.run(["dig", "+short", "+time=2", "+tries=2", "@127.0.0.1",
                            "-p", str(self.port), rev(ip) + ".bl.test", "A"],
                           capture_output=True, timeout=30)
        return sorted(l for l in p.stdout.decode().splitlines() if l)

    def wait_for(self, ip, want, timeout=15):
        end = time.time() + timeout
        got = None
        while time.time() < end:
            got = self.a(ip)
            if got == want:
                return got
            time.sleep(0.1)
        return got

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        return self.p.wait(timeout=20)


needs_dig = pytest.mark.skipif(not shutil.which("dig"), reason="dig missing")


@pytest.fixture
def store(tl):
    tl.ingest(EVENTS)
    return tl


@pytest.fixture
def listed(store):
    """The store with an operator /24, an IPv6 /48, an allowlisted address
    the history lists, and an allowlisted hole in the /24."""
    store.run("list", "add", "81.2.70.0/24", "--reason", "spamming hoster", check=0)
    store.run("list", "add", "2001:db8::/48", "--reason", "v6 hoster", check=0)
    store.run("list", "allow", "81.2.69.170", "--reason", "partner relay", check=0)
    store.run("list", "allow", "81.2.70.128/25", "--reason", "the hoster's clean half",
              check=0)
    return store


def entries(tl):
    return json.loads(tl.run("list", "--json", check=0).stdout)


def test_add_allow_del_and_show(listed):
    got = {(e["kind"], e["prefix"]): e for e in entries(listed)}
    assert set(got) == {("list", "81.2.70.0/24"), ("list", "2001:db8::/48"),
                        ("allow", "81.2.69.170/32"), ("allow", "81.2.70.128/25")}
    e = got[("list", "81.2.70.0/24")]
    assert e["reason"] == "spamming hoster" and e["code"] == "127.0.0.10"
    assert e["by"] and e["added"].endswith("Z") and e["expires"] is None
    assert e["active"] is True
    # the same prefix again replaces the entry
    listed.run("list", "add", "81.2.70.0/24", "--reason", "still spamming",
               "--expires", "30", check=0)
    got = {(e["kind"], e["prefix"]): e for e in entries(listed)}
    assert len(got) == 4
    assert got[("list", "81.2.70.0/24")]["reason"] == "still spamming"
    assert got[("list", "81.2.70.0/24")]["expires"] == "2026-12-27"
    # text form
    text = listed.run("list", check=0).stdout.decode()
    assert "81.2.70.0/24" in text and "still spamming" in text
    # del takes the operator listing; --allow the allowlist entry
    p = listed.run("list", "del", "2001:db8::/48", "--reason", "cleaned up", check=0)
    assert b"cleaned up" in p.stdout
    listed.run("list", "del", "--allow", "81.2.69.170", check=0)
    got = {(e["kind"], e["prefix"]) for e in entries(listed)}
    assert got == {("list", "81.2.70.0/24"), ("allow", "81.2.70.128/25")}
    # an operator listing is not an allowlist entry
    listed.run("list", "del", "--allow", "81.2.70.0/24", check=65)


def test_bad_input(store):
    def rc(*args):
        return store.run("list", *args).returncode
    assert rc("add", "81.2.70.1/24", "--reason", "x") == 65     # host bits
    p = store.run("list", "add", "81.2.70.1/24", "--reason", "x")
    assert b"81.2.70.0/24" in p.stderr                        # did you mean
    assert rc("add", "81.2.70.300", "--reason", "x") == 65      # not an address
    assert rc("add", "81.2.70.0/33", "--reason", "x") == 65
    assert rc("add", "fe80::1%eth0", "--reason", "x") == 65
    assert rc("add", "81.2.70.0/24") == 2                       # no reason
    assert rc("allow", "81.2.70.0/24") == 2
    assert rc("add", "81.2.70.0/24", "--reason", "x" * 201) == 65
    assert rc("add", "81.2.70.0/24", "--reason", "a\tb") == 65
    assert rc("add", "81.2.70.0/24", "--reason", "a\nb") == 65
    assert rc("add", "81.2.70.0/24", "--reason", "") == 65
    assert rc("add", "81.2.70.0/24", "--reason", b"\xff\xfe") == 65
    assert rc("add", "81.2.70.0/24", "--reason", "x", "--expires", "2020-01-01") == 65
    assert rc("add", "81.2.70.0/24", "--reason", "x", "--expires", "soon") == 65
    assert rc("add", "81.2.70.0/24", "--reason", "x", "--expires", "0") == 65
    assert rc("frobnicate", "81.2.70.0/24") == 2
    assert rc("add") == 2
    assert rc("add", "1.2.3.4", "5.6.7.8", "--reason", "x") == 2
    assert rc("show", "--reason", "x") == 2
    assert rc("del", "81.2.70.0/24", "--expires", "3") == 2
    assert rc("add", "--allow", "81.2.70.0/24", "--reason", "x") == 2
    assert rc("del", "81.2.70.0/24") == 65                      # no such entry
    assert rc("add", "0.0.0.0/0", "--reason", "x") == 65        # too wide
    assert rc("allow", "64.0.0.0/2", "--reason", "x") == 65
    assert rc("add", "2000::/3", "--reason", "x") == 65
    assert rc("del", "81.2.70.0/24", "--force") == 2
    assert entries(store) == []                                 # nothing kept
    assert rc("add", "2000::/3", "--reason", "all of it", "--force") == 0
    assert rc("del", "2000::/3") == 0
    # a reason may be UTF-8
    assert rc("add", "81.2.70.0/24", "--reason", "Spam aus dem Rechenzentrum \u00fc") == 0


def test_damaged_list_is_refused_not_ignored(listed):
    with open(os.path.join(listed.data, "operator.list"), "a") as f:
        f.write("list\tnot-a-prefix\t1\t-\tx\ty\n")
    p = listed.run("show", "81.2.70.5")
    assert p.returncode == 65 and b"line" in p.stderr
    assert listed.run("export", "--format", "csv").returncode == 65
    assert listed.run("list", "add", "1.2.3.4", "--reason", "x").returncode == 65


def test_show_and_top_say_why(listed):
    s = listed.show("81.2.70.5")                 # never seen, in the /24
    assert s["listed"] and s["codes"] == ["127.0.0.10"]
    assert s["operator"]["reason"] == "spamming hoster"
    assert s["operator"]["prefix"] == "81.2.70.0/24"
    assert s["operator"]["since"].startswith("20") and s["allowlisted"] is None
    assert "spamming hoster" in s["why"]
    s = listed.show("81.2.70.9")                 # history and operator
    assert s["listed"] and s["codes"] == ["127.0.0.2", "127.0.0.10"]
    s = listed.show("81.2.70.20")                # lapsed; operator only
    assert s["listed"] and s["codes"] == ["127.0.0.10"]
    s = listed.show("81.2.69.170")               # history lists; allowed
    assert not s["listed"] and s["codes"] == []
    assert s["allowlisted"]["reason"] == "partner relay"
    assert "partner relay" in s["why"]
    s = listed.show("81.2.70.200")               # hole in the /24
    assert not s["listed"] and s["allowlisted"]["prefix"] == "81.2.70.128/25"
    s = listed.show("2001:db8::1:2")
    assert s["listed"] and s["operator"]["reason"] == "v6 hoster"
    text = listed.run("show", "81.2.70.5", check=0).stdout.decode()
    assert "never seen" in text and "127.0.0.10" in text and "spamming hoster" in text
    top = {r["ip"]: r for r in listed.top("--limit", "10")}
    assert top["81.2.69.170"]["listed"] is False
    assert top["81.2.70.20"]["codes"] == ["127.0.0.10"]


@needs_dig
def test_dns_answers_ranges_and_allowlist(listed, tmp_path):
    listed.run("list", "add", "127.0.0.0/8", "--reason", "never the test point",
               check=0)
    d = Dns(listed, tmp_path)
    try:
        assert d.a("81.2.70.5") == ["127.0.0.10"]            # range only
        assert d.a("81.2.70.9") == ["127.0.0.10", "127.0.0.2"]
        assert d.a("81.2.70.200") == []                     # allowlisted hole
        assert d.a("81.2.69.170") == []                     # history, allowed
        assert d.a("81.2.69.160") == ["127.0.0.2"]          # untouched
        assert d.a("2001:db8:0:ffff::1") == ["127.0.0.10"]
        assert d.a("2001:db8:1::1") == []
        assert d.a("127.0.0.1") == []                       # RFC 5782
        assert d.a("127.0.0.5") == ["127.0.0.10"]
    finally:
        assert d.stop() == 0


@needs_dig
def test_running_server_reloads_on_change(store, tmp_path):
    d = Dns(store, tmp_path)
    try:
        assert os.path.exists(d.pidfile)
        assert int(open(d.pidfile).read()) == d.p.pid
        assert d.a("81.2.70.5") == []
        p = store.run("list", "add", "81.2.70.0/24", "--reason", "x", check=0)
        assert b"pid %d" % d.p.pid in p.stderr
        assert d.wait_for("81.2.70.5", ["127.0.0.10"]) == ["127.0.0.10"]
        store.run("list", "allow", "81.2.69.160", "--reason", "y", check=0)
        assert d.wait_for("81.2.69.160", []) == []
        store.run("list", "del", "81.2.70.0/24", check=0)
        assert d.wait_for("81.2.70.5", []) == []
        assert d.a("81.2.70.9") == ["127.0.0.2"]
    finally:
        assert d.stop() == 0
    assert not os.path.exists(d.pidfile)
    # a stale pid file (no process holds its lock) is left alone
    with open(d.pidfile, "w") as f:
        f.write("1\n")
    p = store.run("list", "add", "81.2.70.0/24", "--reason", "x", check=0)
    assert b"no running trapline" in p.stderr


@needs_dig
def test_serve_reloads_on_change(store, tmp_path):
    d = Dns(store, tmp_path, cmd="serve")
    try:
        assert d.wait_for("81.2.69.160", ["127.0.0.2"]) == ["127.0.0.2"]
        store.run("list", "add", "2001:db8::/32", "--reason", "x", check=0)
        assert d.wait_for("2001:db8::1", ["127.0.0.10"]) == ["127.0.0.10"]
    finally:
        assert d.stop() == 0
    assert not os.path.exists(d.pidfile)


def v1_snapshot():
    """A version 1 snapshot as the previous trapline wrote it: a 72-byte
    header, one listed IPv4 address."""
    body = struct.pack("<II", 0x51024501, 1)
    hdr = b"TLSNAP\0\1" + struct.pack("<IIqiI", 1, 5, 1795700000, 20784, 0)
    hdr += struct.pack("<QQQQ", 1, 0, 0, 0)
    hdr += struct.pack("<I", zlib.crc32(body))
    hdr += struct.pack("<I", zlib.crc32(hdr))
    assert len(hdr) == 72
    return hdr + body


@needs_dig
def test_v1_snapshot_on_disk_is_rebuilt(listed, tmp_path):
    snapdir = os.path.join(listed.data, "snapshot")
    os.makedirs(snapdir, exist_ok=True)
    with open(os.path.join(snapdir, "bl.snap"), "wb") as f:
        f.write(v1_snapshot())
    d = Dns(listed, tmp_path)
    try:
        assert d.wait_for("81.2.70.5", ["127.0.0.10"]) == ["127.0.0.10"]
        assert d.a("81.2.69.160") == ["127.0.0.2"]
        assert d.a("81.2.69.1") == []          # the v1 file's address
        assert "version 1" in d.text()
    finally:
        assert d.stop() == 0


def test_csv_and_json_have_the_ranges(listed):
    rows = list(csv.DictReader(io.StringIO(
        listed.run("export", "--format", "csv", check=0).stdout.decode())))
    by = {r["ip"]: r for r in rows}
    assert by["81.2.70.0/25"]["codes"] == "127.0.0.10"
    assert by["81.2.70.0/25"]["range"] == "81.2.70.0-81.2.70.127"
    assert by["2001:db8::/48"]["kinds"] == "operator"
    assert "81.2.70.128/25" not in by and "81.2.69.170" not in by
    assert sorted(by["81.2.70.9"]["codes"].split()) == ["127.0.0.10", "127.0.0.2"]
    assert by["81.2.70.9"]["range"] == ""
    objs = {o["ip"]: o for o in json.loads(
        listed.run("export", "--format", "json", check=0).stdout)}
    assert objs["81.2.70.0/25"]["range"] == "81.2.70.0-81.2.70.127"
    assert "range" not in objs["81.2.69.160"]


def test_rbldnsd_serves_the_ranges(listed, tmp_path):
    if not shutil.which("rbldnsd") or not shutil.which("dig"):
        pytest.skip("rbldnsd or dig missing")
    out = tmp_path / "bl.rbl"
    listed.run("export", "--format", "rbldnsd", "--zone", "bl.test",
               "--output", str(out), check=0)
    p, port = start_rbldnsd(tmp_path, out)

    def a(ip):
        r = subprocess.run(["dig", "+short", "+time=2", "+tries=2", "@127.0.0.1",
                            "-p", str(port), rev(ip) + ".bl.test", "A"],
                           capture_output=True, timeout=30)
        return sorted(l for l in r.stdout.decode().splitlines() if l)
    try:
        assert a("81.2.70.5") == ["127.0.0.10"]
        assert a("81.2.70.9") == ["127.0.0.10", "127.0.0.2"]
        assert a("81.2.70.200") == []
        assert a("81.2.69.170") == []
        assert a("2001:db8:0:ffff::1") == ["127.0.0.10"]
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=10)


def test_bind_zone_has_the_names(listed, tmp_path):
    listed.run("list", "add", "10.0.0.0/8", "--reason", "a wildcard", check=0)
    out = tmp_path / "bl.zone"
    listed.run("export", "--format", "bind", "--zone", "bl.test", "--output",
               str(out), check=0)
    text = out.read_text()
    # the /8 and the /48 as wildcards; the /25 left by the hole (/25 is
    # no octet boundary) as the names of its addresses
    assert "*.10 IN A 127.0.0.10" in text
    assert '*.10 IN TXT "' in text and "10.0.0.0/8" in text
    assert "*.0.0.0.0.8.b.d.0.1.0.0.2 IN A 127.0.0.10" in text
    assert "5.70.2.81 IN A 127.0.0.10" in text
    assert "81.2.70.0/25" in text
    assert "127.70.2.81 IN A 127.0.0.10" in text
    assert "128.70.2.81" not in text and "170.69.2.81" not in text
    # the exact entry inside the range is written once
    names = text.splitlines()
    assert names.count("9.70.2.81 IN A 127.0.0.10") == 1
    assert names.count("9.70.2.81 IN A 127.0.0.2") == 1
    assert "0.0.10 IN" not in text
    if shutil.which("named-checkzone"):
        r = subprocess.run(["named-checkzone", "bl.test", str(out)], capture_output=True)
        assert r.returncode == 0, r.stdout


def test_ipset_and_nft_load_the_ranges(listed, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root")
    for fmt, tool in (("ipset", "ipset"), ("nft", "nft")):
        if not shutil.which(tool):
            pytest.skip(tool + " missing")
        out = tmp_path / ("bl." + fmt)
        listed.run("export", "--format", fmt, "--output", str(out), check=0)
        if fmt == "ipset":
            r = in_netns("ipset restore < %s && ipset list trapline4net && "
                         "ipset list trapline6net && ipset test trapline4net "
                         "81.2.70.5 && ! ipset test trapline4net 81.2.70.200" % out)
        else:
            r = in_netns("nft -f %s && nft list table inet trapline" % out)
        assert r.returncode == 0, r.stderr
        text = r.stdout.decode()
        assert "81.2.70.0" in text and "2001:db8::" in text
        assert "81.2.70.128" not in text
