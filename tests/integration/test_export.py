"""trapline export: the listed set, loaded by the software it is made for.

rbldnsd loads the rbldnsd export as ZONE:combined:FILE and must give the
A and TXT answers `show` implies; named-checkzone accepts the BIND zone;
ipset restore and nft -f load theirs (in a network namespace of their
own); CSV and JSON say the same as `show`.
"""
import csv
import io
import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from conftest import BIN, ev, lines
from freeport import free_port

EVENTS = lines(
    ev("2026-11-26T10:00:00Z", "81.2.69.160"),
    ev("2026-11-25T10:00:00Z", "81.2.69.160", "auth"),
    ev("2026-11-26T10:00:00Z", "81.2.69.170", "malware"),
    ev("2026-11-26T10:00:00Z", "2a02:c7f::1", "dictionary"),
    ev("2026-10-01T10:00:00Z", "81.2.69.161"),          # lapsed
    ev("2026-11-26T10:00:00Z", "10.0.0.1"),              # never listed
)
LISTED = {"81.2.69.160": ["127.0.0.2", "127.0.0.4"],
          "81.2.69.170": ["127.0.0.5"],
          "2a02:c7f::1": ["127.0.0.3"]}


def reverse(ip):
    if ":" in ip:
        import ipaddress
        h = ipaddress.ip_address(ip).exploded.replace(":", "")
        return ".".join(reversed(h))
    return ".".join(reversed(ip.split(".")))


def dig(port, name, qtype):
    p = subprocess.run(["dig", "+short", "+time=2", "+tries=2", "@127.0.0.1",
                        "-p", str(port), name, qtype], capture_output=True,
                       timeout=30)
    return sorted(l for l in p.stdout.decode().splitlines() if l)


@pytest.fixture
def listed(tl):
    tl.ingest(EVENTS)
    return tl


def start_rbldnsd(tmp_path, out):
    os.chmod(tmp_path, 0o755)
    port = free_port()
    p = subprocess.Popen(["rbldnsd", "-n", "-f", "-q", "-b", "127.0.0.1/%d" % port,
                          "-w", str(tmp_path), "bl.test:combined:" + out.name],
                         stderr=subprocess.PIPE)
    end = time.time() + 10
    while time.time() < end and not dig(port, "2.0.0.127.bl.test", "A"):
        time.sleep(0.1)
    return p, port


def test_rbldnsd_serves_the_export_as_trapline_lists(listed, tmp_path):
    if not shutil.which("rbldnsd") or not shutil.which("dig"):
        pytest.skip("rbldnsd or dig missing")
    out = tmp_path / "bl.rbl"
    listed.run("export", "--format", "rbldnsd", "--zone", "bl.test",
               "--output", str(out), check=0)
    p, port = start_rbldnsd(tmp_path, out)
    try:
        for ip, codes in LISTED.items():
            name = reverse(ip) + ".bl.test"
            assert dig(port, name, "A") == codes, ip
            txt = dig(port, name, "TXT")
            assert len(txt) == 1 and ip in txt[0] and "source since" in txt[0]
        for ip in ("81.2.69.161", "10.0.0.1", "81.2.69.199"):
            assert dig(port, reverse(ip) + ".bl.test", "A") == [], ip
        # RFC 5782 test points
        assert dig(port, "2.0.0.127.bl.test", "A") == ["127.0.0.2"]
        assert dig(port, "1.0.0.127.bl.test", "A") == []
        assert dig(port, reverse("::ffff:7f00:2") + ".bl.test", "A") == ["127.0.0.2"]
        soa = dig(port, "bl.test", "SOA")
        assert soa and soa[0].startswith("localhost. hostmaster.example.org.")
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=10)



# Sampled addresses: exact entries, inside the ranges (an exact entry in
# one among them), in the allowlisted hole, around the edges.
RANGE_SAMPLE = ["81.2.69.160", "81.2.69.170", "81.2.69.5", "81.2.68.255",
                "192.0.2.0", "192.0.2.77", "192.0.2.130", "192.0.2.144",
                "192.0.2.255", "192.0.3.0", "203.0.113.100", "203.0.113.128",
                "2001:db8:aa::1", "2001:db8:ab::", "2a02:c7f::1"]


def test_rbldnsd_answers_the_ranges_as_trapline_does(listed, tmp_path):
    if not shutil.which("rbldnsd") or not shutil.which("dig"):
        pytest.skip("rbldnsd or dig missing")
    for r in ("81.2.69.0/24", "192.0.2.0/24", "203.0.113.64/26",
              "2001:db8:aa::/48"):
        listed.run("list", "add", r, "--reason", "x", check=0)
    listed.run("list", "allow", "192.0.2.128/28", "--reason", "hole", check=0)
    out = tmp_path / "bl.rbl"
    listed.run("export", "--format", "rbldnsd", "--zone", "bl.test",
               "--output", str(out), check=0)
    assert "192.0.2.144/28 :10:" in out.read_text()
    conf = tmp_path / "dns.conf"
    conf.write_text("[dns]\nzone = bl.test\n")
    tport = free_port()
    t = subprocess.Popen([BIN, "dns", "--data",
                          listed.data, "--config", str(conf), "--listen",
                          "127.0.0.1:%d" % tport], env=listed.env,
                         stderr=subprocess.DEVNULL)
    p, port = start_rbldnsd(tmp_path, out)
    try:
        end = time.time() + 10
        while time.time() < end and not dig(tport, "2.0.0.127.bl.test", "A"):
            time.sleep(0.1)
        for ip in RANGE_SAMPLE:
            name = reverse(ip) + ".bl.test"
            for qt in ("A", "TXT"):
                assert dig(port, name, qt) == dig(tport, name, qt), (ip, qt)
        txt = dig(tport, reverse("192.0.2.144") + ".bl.test", "TXT")
        assert "192.0.2.144/28" in txt[0]
        assert dig(port, reverse("192.0.2.130") + ".bl.test", "A") == []
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=10)
        t.send_signal(signal.SIGTERM)
        t.wait(timeout=10)


def test_bind_zone_loads(listed, tmp_path):
    if not shutil.which("named-checkzone"):
        pytest.skip("named-checkzone missing")
    out = tmp_path / "bl.zone"
    listed.run("export", "--format", "bind", "--zone", "bl.test", "--output",
               str(out), check=0)
    r = subprocess.run(["named-checkzone", "bl.test", str(out)], capture_output=True)
    assert r.returncode == 0, r.stdout
    text = out.read_text()
    assert "160.69.2.81 IN A 127.0.0.4" in text
    assert "161.69.2.81" not in text


def in_netns(script):
    r = subprocess.run(["unshare", "-n", "sh", "-c", script], capture_output=True)
    if r.returncode != 0 and b"unshare" in r.stderr:
        pytest.skip("cannot make a network namespace here")
    return r


def test_ipset_and_nft_load(listed, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root")
    for fmt, tool in (("ipset", "ipset"), ("nft", "nft")):
        if not shutil.which(tool):
            pytest.skip(tool + " missing")
        out = tmp_path / ("bl." + fmt)
        listed.run("export", "--format", fmt, "--output", str(out), check=0)
        if fmt == "ipset":
            r = in_netns("ipset restore < %s && ipset list trapline4 && "
                         "ipset list trapline6" % out)
        else:
            r = in_netns("nft -f %s && nft list table inet trapline" % out)
        assert r.returncode == 0, r.stderr
        text = r.stdout.decode()
        assert "81.2.69.160" in text and "81.2.69.170" in text
        assert "2a02:c7f::1" in text
        assert "81.2.69.161" not in text and "10.0.0.1" not in text


def test_csv_and_json_agree_with_show(listed):
    rows = list(csv.DictReader(io.StringIO(
        listed.run("export", "--format", "csv", check=0).stdout.decode())))
    got = {r["ip"]: sorted(r["codes"].split()) for r in rows}
    assert got == LISTED
    objs = json.loads(listed.run("export", "--format", "json", check=0).stdout)
    assert {o["ip"]: o["codes"] for o in objs} == LISTED
    for o in objs:
        shown = listed.show(o["ip"])
        assert shown["listed"] and sorted(shown["codes"]) == o["codes"]
        assert o["first_seen"] == shown["first_seen"]
        assert o["last_seen"] == shown["last_seen"]
