"""trapline simulate: the synthetic stream, its options and its truth file."""
import csv
import io
import ipaddress
import json
import os
import subprocess
from datetime import date

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("TRAPLINE_BIN", os.path.join(ROOT, "build", "trapline"))

SMALL = ["--years", "3", "--bots", "2000", "--spewers", "20", "--end", "2020-06-30"]
CLASSES = {"bot", "spewer", "dictionary", "auth", "malware"}
KINDS = {"spam", "dictionary", "auth", "malware"}


def sim(*args, check=0, env=None):
    e = dict(os.environ, TRAPLINE_NOW="2026-11-27")
    e.pop("TRAPLINE_GEOIP_DIR", None)
    if env:
        e.update(env)
    p = subprocess.run([BIN, "simulate", *args], capture_output=True, env=e,
                       timeout=300)
    if check is not None:
        assert p.returncode == check, (args, p.returncode, p.stderr.decode(errors="replace"))
    return p


def summary(p):
    """The counts of the last stderr line: simulate: N events, M IPs (...)."""
    line = p.stderr.decode().strip().splitlines()[-1]
    assert line.startswith("simulate: "), line
    head, _, rest = line[len("simulate: "):].partition(" (")
    events, ips = head.split(", ")
    counts = {"events": int(events.split()[0]), "ips": int(ips.split()[0])}
    for part in rest.rstrip(")").replace(";", ",").split(", "):
        name, n = part.rsplit(" ", 1)
        counts[name] = int(n)
    return counts


def read_truth(path):
    with open(path, newline="") as f:
        text = f.read()
    assert text.startswith("ip,class,country,first_day,last_day\n")
    return list(csv.DictReader(io.StringIO(text)))


def test_ndjson_parses_and_is_in_time_order(tmp_path):
    p = sim(*SMALL)
    lines = p.stdout.decode().splitlines()
    assert len(lines) > 10000
    prev = ""
    for line in lines:
        o = json.loads(line)
        # ISO 8601 UTC, so string order is time order.
        assert len(o["time"]) == 20 and o["time"].endswith("Z")
        assert o["time"] >= prev
        prev = o["time"]
        ip = ipaddress.ip_address(o["ip"])
        assert ip.is_global, o["ip"]
        assert o["kind"] in KINDS
        assert isinstance(o["count"], int) and o["count"] >= 1
        assert o.get("sensor") in (None, "trap1", "trap2", "trap3", "trap4")
        for t in o.get("tags", []):
            assert t in ("pharma", "phish")
    first, last = json.loads(lines[0]), json.loads(lines[-1])
    assert first["time"] >= "2017-07-01"
    assert last["time"] < "2020-07-01"
    c = summary(p)
    assert c["events"] == len(lines)
    assert c["ips"] == 2020
    assert c["spewers"] == 20
    assert c["bots"] + c["dictionary"] + c["auth"] + c["malware"] == 2000


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    a = sim(*SMALL, "--seed", "7").stdout
    b = sim(*SMALL, "--seed", "7", "--out", str(tmp_path / "b.ndjson")).stdout
    assert b == b""
    assert (tmp_path / "b.ndjson").read_bytes() == a
    c = sim(*SMALL, "--seed", "8").stdout
    assert a != c
    # The truth file is as repeatable as the stream.
    sim(*SMALL, "--truth", str(tmp_path / "t1.csv"))
    sim(*SMALL, "--truth", str(tmp_path / "t2.csv"))
    assert (tmp_path / "t1.csv").read_bytes() == (tmp_path / "t2.csv").read_bytes()


def test_truth_file_covers_every_ip(tmp_path):
    truth = tmp_path / "truth.csv"
    p = sim(*SMALL, "--truth", str(truth))
    rows = read_truth(truth)
    by_ip = {}
    for r in rows:
        assert r["ip"] not in by_ip, r["ip"]
        assert r["class"] in CLASSES
        assert r["country"] == "" or len(r["country"]) == 2
        assert "2017-07-01" <= r["first_day"] <= r["last_day"] <= "2020-06-30"
        by_ip[r["ip"]] = r
    assert len(rows) == 2020
    assert sum(r["class"] == "spewer" for r in rows) == 20
    days = {}
    for line in p.stdout.decode().splitlines():
        o = json.loads(line)
        assert o["ip"] in by_ip, o["ip"]
        d = o["time"][:10]
        lo, hi = days.get(o["ip"], (d, d))
        days[o["ip"]] = (min(lo, d), max(hi, d))
        cls = by_ip[o["ip"]]["class"]
        if cls in ("dictionary", "auth"):
            assert o["kind"] == cls
    assert set(days) == set(by_ip)
    for ip, (lo, hi) in days.items():
        assert (by_ip[ip]["first_day"], by_ip[ip]["last_day"]) == (lo, hi)


def test_csv_format(tmp_path):
    p = sim(*SMALL, "--format", "csv")
    lines = p.stdout.decode().splitlines()
    assert lines[0] == "time,ip,kind,count"
    nd = sim(*SMALL).stdout.decode().splitlines()
    assert len(lines) == len(nd) + 1
    for line, j in zip(lines[1:], nd):
        t, ip, kind, count = line.split(",")
        o = json.loads(j)
        assert (t, ip, kind, int(count)) == (o["time"], o["ip"], o["kind"], o["count"])


def test_ipv6_share_and_no_reserved_space():
    p = sim("--years", "2", "--bots", "3000", "--spewers", "10", "--ipv6", "0.5",
            "--end", "2021-01-31", "--format", "csv")
    ips = {line.split(",")[1] for line in p.stdout.decode().splitlines()[1:]}
    v6 = [ip for ip in ips if ":" in ip]
    assert 0.35 < len(v6) / len(ips) < 0.65
    for ip in ips:
        assert ipaddress.ip_address(ip).is_global, ip
    none = sim("--years", "1", "--bots", "500", "--spewers", "2", "--ipv6", "0",
               "--format", "csv")
    assert b":" not in b"".join(l.split(b",")[1] for l in none.stdout.splitlines()[1:])


def test_without_geoip_falls_back_and_says_so(tmp_path):
    p = sim(*SMALL, "--truth", str(tmp_path / "t.csv"),
            env={"TRAPLINE_GEOIP_DIR": str(tmp_path / "nowhere")})
    assert b"no GeoIP data" in p.stderr
    rows = read_truth(tmp_path / "t.csv")
    assert len(rows) == 2020
    assert all(r["country"] == "" for r in rows)
    for line in p.stdout.decode().splitlines():
        assert ipaddress.ip_address(json.loads(line)["ip"]).is_global


def test_end_defaults_to_today_and_accepts_relative_days():
    p = sim("--years", "1", "--bots", "100", "--spewers", "2", "--format", "csv")
    lines = p.stdout.decode().splitlines()
    assert lines[1] >= "2025-11-27"
    assert lines[-1] < "2026-11-28"
    p = sim("--years", "1", "--bots", "100", "--spewers", "2", "--format", "csv",
            "--end", "10d")
    assert p.stdout.decode().splitlines()[-1] < "2026-11-18"


def test_reader_quitting_is_a_normal_stop():
    p = subprocess.Popen([BIN, "simulate", "--bots", "100000"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    p.stdout.read(4096)
    p.stdout.close()
    err = p.stderr.read()
    assert p.wait(timeout=120) == 0
    assert err == b"" or b"error" not in err


def test_write_error_is_reported(tmp_path):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    p = sim("--years", "1", "--bots", "1000", "--out", "/dev/full", check=70)
    assert b"No space left" in p.stderr
    p = sim("--years", "1", "--bots", "10", "--out", str(tmp_path / "no" / "such"), check=70)


def test_missing_geo_database_is_66(tmp_path):
    p = sim("--geo", str(tmp_path / "none.mmdb"), "--years", "1", "--bots", "10", check=66)
    assert p.stdout == b""


@pytest.mark.parametrize("args", [
    ["--years", "0"],
    ["--years", "101"],
    ["--years", "x"],
    ["--bots", "-1"],
    ["--bots", "100000001"],
    ["--spewers", "1.5"],
    ["--ipv6", "1.5"],
    ["--ipv6", "nan"],
    ["--seed", "18446744073709551616"],
    ["--end", "2020-02-30"],
    ["--end", "1975-01-01"],
    ["--end", "2300-01-01"],
    ["--format", "xml"],
    ["--no-such-option"],
    ["stray-argument"],
    ["--bots"],
])
def test_bad_arguments_exit_2(args):
    p = sim(*args, check=2)
    assert p.stdout == b""
    assert b"usage:" in p.stderr


def test_help():
    p = sim("--help")
    out = p.stdout.decode()
    assert out.startswith("usage: trapline simulate")
    for opt in ("--seed", "--years", "--end", "--bots", "--spewers", "--ipv6",
                "--format", "--truth", "--out"):
        assert opt in out
    # The common options are accepted (and ignored).
    sim("--data", "/nonexistent", "--config", "/nonexistent.ini", "--years", "1",
        "--bots", "10", "--spewers", "1")


def test_defaults_size_and_british_veteran(tmp_path):
    """Defaults: a few million events; the longest GB spewer spans 20 years."""
    truth = tmp_path / "truth.csv"
    p = sim("--out", os.devnull, "--truth", str(truth))
    c = summary(p)
    assert 2_000_000 <= c["events"] <= 6_000_000
    assert c["ips"] == 200_300 and c["spewers"] == 300
    rows = read_truth(truth)
    gb = [r for r in rows if r["class"] == "spewer" and r["country"] == "GB"]
    if not gb:
        pytest.skip("no GeoIP database")
    span = lambda r: (date.fromisoformat(r["last_day"]) - date.fromisoformat(r["first_day"])).days
    gb.sort(key=span, reverse=True)
    # One clear winner, from the first day to the last ...
    assert (gb[0]["first_day"], gb[0]["last_day"]) == ("2006-11-28", "2026-11-27")
    assert span(gb[0]) > span(gb[1])
    # ... and other veterans close behind.
    assert span(gb[1]) > 19 * 365
