"""trapline check against block lists served on loopback.

Test zones are served by trapline's own DNS server ([dns] dataset, rbldnsd
syntax) and, when installed, by Debian's rbldnsd; among them a dead list
gone wildcard, a list that answers 127.255.255.254 (Spamhaus' "refused"),
a list that goes bad mid-run, IPv6 lists, and a "server" that never
answers (a UDP socket nobody reads).
"""
import csv
import io
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import time

import pytest

from conftest import BIN, ev, lines, logfile
from freeport import loopback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

ZONES = {
    # good lists
    "one.test:ip4set": ":127.0.0.2:Listed by one, see $\n127.0.0.2\n"
                       "192.0.2.1\n192.0.2.8/30 :127.0.0.3:a range\n",
    "two.test:ip4set": ":127.0.0.2\n127.0.0.2\n192.0.2.1 :127.0.0.4\n198.51.100.9\n"
                       "192.0.2.99 :127.0.0.2:caf\xe9 \x01 na\xefve \xc3\xa9t\xc3\xa9\n",
    # a dead list whose zone went wildcard: lists everything
    "wild.test:ip4set": ":127.0.0.2:Wildcard\n0.0.0.0/1\n128.0.0.0/1\n",
    # a list refusing every query (a public resolver, say)
    "refuse.test:ip4set": ":127.255.255.254:refused\n0.0.0.0/1\n128.0.0.0/1\n",
    # passes its test points, then answers an error code for one address
    "flaky.test:ip4set": "127.0.0.2\n192.0.2.77\n203.0.113.66 :127.255.255.255:quota\n",
    # IPv6, with the IPv6 test point (RFC 5782 5)
    "six.test:ip6trie": ":127.0.0.2:v6 listed\n::ffff:7f00:2\n2001:db8:1::/48\n",
}

LISTS = """
[one]
zone = one.test
txt = yes
sets = good
code.127.0.0.2 = ONE: listed
code.127.0.0.3 = ONE: range
[two]
zone = two.test
sets = good
code.127.0.0.2 = TWO: spam
code.127.0.0.4 = TWO: exploited
[wild]
zone = wild.test
sets = bad
[refuse]
zone = refuse.test
sets = bad
error.127.255.255.254 = refused: public resolver
[flaky]
zone = flaky.test
[six]
zone = six.test
family = ipv6
sets = good
code.127.0.0.2 = SIX: listed
[ours]
zone = bl.test
family = ipv4 ipv6
code.127.0.0.2 = spam
code.127.0.0.3 = dictionary
code.127.0.0.4 = auth
[silent]
zone = silent.test
sets = bad
resolver = 127.0.0.1:{silent}
timeout = 150ms
retries = 1
"""

EVENTS = lines(
    ev("2026-11-26T10:00:00Z", "81.2.69.160"),
    ev("2026-11-26T10:00:00Z", "2a02:c7f::1", "dictionary"),
)


def wait_port(log, proc, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        log.seek(0)
        m = re.search(r"listening on port (\d+)", log.read())
        if m:
            return int(m.group(1))
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    log.seek(0)
    raise AssertionError(log.read())


class Lists:
    def __init__(self, tl, tmp_path):
        self.tl = tl
        self.tmp = tmp_path
        tl.ingest(EVENTS)
        os.chmod(tmp_path, 0o755)
        body = "[dns]\nzone = bl.test\nworkers = 1\n"
        for n, (key, text) in enumerate(ZONES.items()):
            zone, kind = key.split(":")
            f = tmp_path / ("zone%d.%s" % (n, kind))
            f.write_bytes(text.encode("latin-1") if "\xe9 " in text
                          else text.encode())
            body += "dataset = %s:%s:%s\n" % (zone, kind, f)
        cfg = tmp_path / "dns.conf"
        cfg.write_text(body)
        self.log = logfile(tmp_path / "dns.log")
        self.dns = subprocess.Popen([BIN, "dns", "--data", tl.data, "--config", str(cfg),
                                     "--listen", loopback()], env=tl.env, stderr=self.log)
        self.port = wait_port(self.log, self.dns)
        # A server that never answers.
        self.silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.silent.bind(("127.0.0.1", 0))
        self.conf = tmp_path / "lists.conf"
        self.conf.write_text(LISTS.replace("{silent}", str(self.silent.getsockname()[1])))

    def run(self, *args, conf=None, timeout=60, input=None):
        cmd = [BIN, "check", "--lists-conf", str(conf or self.conf),
               "--resolver", "127.0.0.1:%d" % self.port, *args]
        return subprocess.run(cmd, capture_output=True, env=self.tl.env, timeout=timeout,
                              input=input)

    def json(self, *args, **kw):
        p = self.run("--json", *args, **kw)
        return p, json.loads(p.stdout)

    def close(self):
        self.silent.close()
        if self.dns.poll() is None:
            self.dns.send_signal(signal.SIGTERM)
            self.dns.wait(timeout=20)


@pytest.fixture
def lists(tl, tmp_path):
    ls = Lists(tl, tmp_path)
    yield ls
    ls.close()


def by_list(obj):
    return {x["list"]: x for x in obj["listed"]}


def test_listed_decoded_and_unhealthy_lists_not_counted(lists):
    p, out = lists.json("192.0.2.1", "192.0.2.200")
    assert p.returncode == 1, p.stderr
    assert [o["ip"] for o in out] == ["192.0.2.1", "192.0.2.200"]
    a, b = out
    listed = by_list(a)
    assert sorted(listed) == ["one", "two"]
    assert listed["one"]["zone"] == "one.test"
    assert listed["one"]["codes"] == ["127.0.0.2"]
    assert listed["one"]["meanings"] == ["ONE: listed"]
    assert listed["one"]["sublists"] == ["ONE"]
    assert listed["one"]["txt"] == "Listed by one, see 192.0.2.1"
    assert listed["two"]["codes"] == ["127.0.0.4"]
    assert listed["two"]["meanings"] == ["TWO: exploited"]
    assert listed["two"]["txt"] is None          # txt not asked for
    # healthy IPv4 lists: one, two, ours; flaky goes bad only later (and
    # then is not counted for anyone)
    unhealthy = {u["list"]: u["reason"] for u in a["unhealthy"]}
    assert "127.0.0.1" in unhealthy["wild"] and "wildcard" in unhealthy["wild"]
    assert "127.255.255.254" in unhealthy["refuse"]
    assert "public resolver" in unhealthy["refuse"]
    assert "timeout" in unhealthy["silent"]
    assert "six" not in unhealthy                # IPv6 only: not for this IP
    assert "flaky" not in unhealthy
    assert a["asked"] == 4                       # one, two, flaky, ours
    assert b["listed"] == [] and b["asked"] == 4
    assert b["errors"] == [] and a["errors"] == []
    err = p.stderr.decode()
    assert "wild (wild.test) not counted" in err


def test_txt_from_the_network_is_made_safe(lists):
    # latin-1 bytes and a control byte in a TXT answer: '?' in their place,
    # valid UTF-8 kept, and the JSON stays valid
    conf = lists.tmp / "txt.conf"
    conf.write_text("[two]\nzone = two.test\ntxt = yes\n")
    p, out = lists.json("192.0.2.99", conf=conf)
    assert p.returncode == 1, p.stderr
    assert by_list(out[0])["two"]["txt"] == "caf? ? na?ve \u00e9t\u00e9"


def test_trapline_hist_zone_in_words(lists, tmp_path):
    # trapline's own history zone: 127.Y.D.K put in words
    conf = tmp_path / "hist.conf"
    conf.write_text("[hist]\nzone = hist.bl.test\nfamily = ipv4 ipv6\ntest = no\n"
                    "decode = hist\n")
    p, out = lists.json("81.2.69.160", "2a02:c7f::1", "10.0.0.1", conf=conf)
    assert p.returncode == 1, p.stderr
    assert by_list(out[0])["hist"]["codes"] == ["127.0.1.1"]
    assert by_list(out[0])["hist"]["meanings"] == ["seen over 0 years, last 1 day ago: spam"]
    assert by_list(out[0])["hist"]["sublists"] == [None]
    assert by_list(out[1])["hist"]["meanings"] == [
        "seen over 0 years, last 1 day ago: dictionary"]
    assert out[2]["listed"] == []


def test_not_listed_exits_0(lists):
    p, out = lists.json("10.0.0.1")
    assert p.returncode == 0, p.stderr
    assert out[0]["listed"] == []


def test_a_list_that_answers_an_error_code_mid_run_is_not_counted(lists):
    p, out = lists.json("192.0.2.77", "203.0.113.66")
    assert p.returncode == 0
    for o in out:
        assert "flaky" not in by_list(o)
        reasons = {u["list"]: u["reason"] for u in o["unhealthy"]}
        assert "127.255.255.255" in reasons["flaky"]
        assert o["asked"] == 3


def test_ipv6_nibble_queries_and_families(lists):
    p, out = lists.json("2001:db8:1::77", "2a02:c7f::1", "2001:db8:3::1")
    assert p.returncode == 1, p.stderr
    a, b, c = out
    assert sorted(by_list(a)) == ["six"]
    assert by_list(a)["six"]["meanings"] == ["SIX: listed"]
    assert sorted(by_list(b)) == ["ours"]
    assert by_list(b)["ours"]["codes"] == ["127.0.0.3"]
    assert c["listed"] == []
    # IPv6 addresses are asked of the lists that take IPv6 only
    assert a["asked"] == 2
    assert {u["list"] for u in a["unhealthy"]} == set()


def test_cidr_expanded_and_bounded(lists):
    p, out = lists.json("192.0.2.8/30")
    assert p.returncode == 1
    assert [o["ip"] for o in out] == ["192.0.2.8", "192.0.2.9", "192.0.2.10", "192.0.2.11"]
    assert all(by_list(o)["one"]["codes"] == ["127.0.0.3"] for o in out)
    p, out = lists.json("198.51.100.0/16")
    assert p.returncode == 1
    assert len(out) == 65536 and out[-1]["ip"] == "198.51.255.255"
    assert [o["ip"] for o in out if o["listed"]] == ["198.51.100.9"]
    p = lists.run("10.0.0.0/15")
    assert p.returncode == 2 and b"wider than a /16" in p.stderr
    p = lists.run("2001:db8::/111")
    assert p.returncode == 2
    p, out = lists.json("2001:db8:1::/126")
    assert len(out) == 4 and all(by_list(o)["six"] for o in out)
    p = lists.run("not-an-ip")
    assert p.returncode == 2


def test_file_with_bad_lines(lists, tmp_path):
    f = tmp_path / "ips.txt"
    f.write_text("# addresses\n10.0.0.1\n\n999.1.1.1\n  10.0.0.2   # trailing\n"
                 "10.0.0.0/8\nfe80::1%eth0\n")
    p, out = lists.json("--file", str(f))
    assert p.returncode == 65, p.stderr
    assert [o["ip"] for o in out] == ["10.0.0.1", "10.0.0.2"]
    err = p.stderr.decode()
    assert "ips.txt:4: '999.1.1.1'" in err
    assert "ips.txt:6: '10.0.0.0/8': range wider than a /16" in err
    assert "ips.txt:7:" in err
    # listed wins over bad lines: the yes is still a yes
    f.write_text("bogus\n192.0.2.1\n")
    p = lists.run("--file", str(f))
    assert p.returncode == 1
    # stdin
    p = lists.run("--json", "--file", "-", input=b"192.0.2.1\n")
    assert p.returncode == 1 and json.loads(p.stdout)[0]["ip"] == "192.0.2.1"
    p = lists.run("--file", str(tmp_path / "missing"))
    assert p.returncode == 66


def test_table_and_csv(lists):
    p = lists.run("192.0.2.1", "10.0.0.1")
    assert p.returncode == 1
    out = p.stdout.decode()
    assert re.search(r"^not counted: wild \(wild\.test\): .*wildcard", out, re.M)
    assert re.search(r"^192\.0\.2\.1\s+listed on 2 of 4 lists$", out, re.M)
    assert re.search(r"^  one\s+127\.0\.0\.2\s+ONE: listed$", out, re.M)
    assert re.search(r"^\s+TXT\s+Listed by one, see 192\.0\.2\.1$", out, re.M)
    assert re.search(r"^10\.0\.0\.1\s+not listed \(4 lists\)$", out, re.M)
    p = lists.run("--csv", "192.0.2.1", "10.0.0.1")
    rows = list(csv.DictReader(io.StringIO(p.stdout.decode())))
    assert [(r["ip"], r["list"]) for r in rows] == [
        ("192.0.2.1", "one"), ("192.0.2.1", "two"), ("10.0.0.1", "")]
    assert rows[0]["txt"] == "Listed by one, see 192.0.2.1"
    assert rows[0]["asked"] == "4" and rows[1]["meanings"] == "TWO: exploited"
    assert lists.run("--csv", "--json", "10.0.0.1").returncode == 2


def test_lists_selection(lists):
    p, out = lists.json("--lists", "one", "192.0.2.1")
    assert out[0]["asked"] == 1 and sorted(by_list(out[0])) == ["one"]
    p, out = lists.json("--lists", "good,ours", "192.0.2.1")
    assert out[0]["asked"] == 3
    p = lists.run("--lists", "nosuch", "192.0.2.1")
    assert p.returncode == 2 and b"'nosuch'" in p.stderr


def test_no_healthy_list_exits_69(lists):
    t0 = time.time()
    p, out = lists.json("--lists", "bad", "192.0.2.1")
    assert p.returncode == 69, p.stderr
    assert out[0]["asked"] == 0 and out[0]["listed"] == []
    assert {u["list"] for u in out[0]["unhealthy"]} == {"wild", "refuse", "silent"}
    # the silent list costs its timeout and one retry (150 + 300 ms)
    assert time.time() - t0 < 10


def test_a_list_trusted_untested_that_never_answers(lists, tmp_path):
    # test = no: the silent list is trusted, then fails every lookup, and
    # is reported unhealthy for it
    conf = tmp_path / "silent.conf"
    conf.write_text("[one]\nzone = one.test\n[silent]\nzone = silent.test\ntest = no\n"
                    "timeout = 100ms\nretries = 0\nresolver = 127.0.0.1:%d\n"
                    % lists.silent.getsockname()[1])
    p, out = lists.json("10.0.0.1", "10.0.0.2", conf=conf)
    assert p.returncode == 0, p.stderr
    for o in out:
        assert o["asked"] == 1
        assert o["unhealthy"] == [{"list": "silent",
                                   "reason": "no answer to any of 2 lookups"}]
        assert o["errors"] == []
    p, out = lists.json("10.0.0.1", "--lists", "silent", conf=conf)
    assert p.returncode == 69


class LossyDns:
    """A tiny DNS server for zone lossy.test that drops the first query for
    every address (not the test points), then answers: listed (127.0.0.2)
    when the first octet is odd."""

    def __init__(self):
        import threading
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.seen = set()
        self.dropped = 0
        self.stop = False
        self.t = threading.Thread(target=self.serve, daemon=True)
        self.t.start()

    def serve(self):
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                q, peer = self.sock.recvfrom(512)
            except socket.timeout:
                continue
            i, labels = 12, []
            while q[i]:
                labels.append(q[i + 1:i + 1 + q[i]].decode())
                i += 1 + q[i]
            question = q[12:i + 5]
            name = ".".join(labels).lower()
            ip = labels[:4][::-1]
            if not name.startswith(("2.0.0.127.", "1.0.0.127.")):
                if name not in self.seen:
                    self.seen.add(name)
                    self.dropped += 1
                    continue
            listed = name.startswith("2.0.0.127.") or (
                not name.startswith("1.0.0.127.") and int(ip[0]) % 2 == 1)
            flags = 0x8580 if listed else 0x8583
            head = q[:2] + struct.pack(">HHHHH", flags, 1, 1 if listed else 0, 0, 0)
            ans = b""
            if listed:
                ans = struct.pack(">HHHIH", 0xC00C, 1, 1, 60, 4) + bytes([127, 0, 0, 2])
            self.sock.sendto(head + question + ans, peer)

    def close(self):
        self.stop = True
        self.t.join()
        self.sock.close()


def test_lost_queries_are_asked_again_before_the_timeout(lists, tmp_path):
    # Every first query for an address is lost. With a 5 s timeout and no
    # retries, c-ares alone would give up on all of them; the hedged second
    # query (after 8 round trips, at least 50 ms) gets every answer.
    srv = LossyDns()
    try:
        conf = tmp_path / "lossy.conf"
        conf.write_text("[lossy]\nzone = lossy.test\ntimeout = 5s\nretries = 0\n"
                        "resolver = 127.0.0.1:%d\n" % srv.port)
        ips = ["%d.0.2.%d" % (a, b) for a in (11, 12) for b in range(1, 51)]
        t0 = time.time()
        p, out = lists.json(*ips, conf=conf)
        took = time.time() - t0
        assert p.returncode == 1, p.stderr
        assert srv.dropped == 100
        assert all(o["errors"] == [] and o["asked"] == 1 for o in out)
        assert [o["ip"] for o in out if o["listed"]] == ips[:50]
        assert took < 4, took
    finally:
        srv.close()


def test_rbldnsd_list_with_its_own_resolver(lists, tmp_path):
    if not shutil.which("rbldnsd"):
        pytest.skip("rbldnsd missing")
    (tmp_path / "r.ip4set").write_text(":127.0.0.2:rbldnsd says $\n127.0.0.2\n192.0.2.1\n")
    (tmp_path / "r.ip6").write_text(":127.0.0.5:v6 via rbldnsd\n2001:db8:1::/48\n")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    r = subprocess.Popen(["rbldnsd", "-n", "-f", "-q", "-b", "127.0.0.1/%d" % port,
                          "-w", str(tmp_path), "r.test:ip4set:r.ip4set",
                          "r.test:ip6trie:r.ip6"], stderr=subprocess.DEVNULL)
    try:
        conf = tmp_path / "r.conf"
        conf.write_text("[r]\nzone = r.test\nfamily = ipv4 ipv6\ntxt = yes\n"
                        "resolver = 127.0.0.1:%d\ncode.127.0.0.2 = R: listed\n"
                        "code.127.0.0.5 = R: six\n[one]\nzone = one.test\n" % port)
        end = time.time() + 10
        while True:
            p, out = lists.json("192.0.2.1", "2001:db8:1::1", conf=conf)
            if out[0]["listed"] or time.time() > end:
                break
            time.sleep(0.2)
        assert p.returncode == 1, p.stderr
        assert by_list(out[0])["r"]["txt"] == "rbldnsd says 192.0.2.1"
        assert sorted(by_list(out[0])) == ["one", "r"]
        assert by_list(out[1])["r"]["codes"] == ["127.0.0.5"]
        assert out[1]["asked"] == 1
    finally:
        r.terminate()
        r.wait()


def test_lists_conf_errors_name_file_and_line(lists, tmp_path):
    bad = tmp_path / "bad.conf"
    bad.write_text("[a]\nzone = a.test\ncode.127.0.0.2 = x\nfamliy = ipv4\n")
    p = lists.run("10.0.0.1", conf=bad)
    assert p.returncode == 65
    assert ("%s:4: unknown key 'famliy'" % bad).encode() in p.stderr
    p = lists.run("10.0.0.1", conf=tmp_path / "none.conf")
    assert p.returncode == 66


def test_shipped_lists_conf_loads(lists):
    # Every section of etc/lists.conf parses; asked of a server that knows
    # none of those zones, each is reported unhealthy by name and the
    # command says the lists could not be asked.
    conf = os.path.join(ROOT, "etc", "lists.conf")
    p, out = lists.json("--lists", "all", "192.0.2.1", conf=conf)
    assert p.returncode == 69, p.stderr
    names = {u["list"] for u in out[0]["unhealthy"]}
    assert {"zen", "spamcop", "psbl", "barracuda", "uceprotect1", "mailspike",
            "dronebl", "trapline"} <= names


def test_record_and_show(lists):
    tl = lists.tl
    p = subprocess.run([BIN, "check", "--data", tl.data, "--record", "--lists-conf",
                        str(lists.conf), "--resolver", "127.0.0.1:%d" % lists.port,
                        "192.0.2.1", "81.2.69.160", "10.0.0.1"],
                       capture_output=True, env=tl.env, timeout=60)
    # the DNS server holds no writer lock: the store is free
    assert p.returncode == 1, p.stderr
    s = tl.show("192.0.2.1")
    assert s["checked"] == {"day": "2026-11-27", "listed": 2, "of": 4}
    assert tl.show("81.2.69.160")["checked"] == {"day": "2026-11-27", "listed": 1, "of": 4}
    assert tl.show("10.0.0.1")["checked"]["listed"] == 0
    assert tl.show("10.0.0.9")["checked"] is None
    text = tl.run("show", "81.2.69.160", check=0).stdout.decode()
    assert "last check   2026-11-27: listed on 1 of 4 block lists" in text


def test_record_with_the_store_busy_exits_75(lists):
    # A writer (an ingest reading a pipe) holds the store: --record says
    # so before asking anything.
    tl = lists.tl
    w = subprocess.Popen([BIN, "ingest", "--data", tl.data, "-"], stdin=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, env=tl.env)
    try:
        time.sleep(0.5)
        p = subprocess.run([BIN, "check", "--data", tl.data, "--record", "--lists-conf",
                            str(lists.conf), "--resolver", "127.0.0.1:%d" % lists.port,
                            "192.0.2.1"], capture_output=True, env=tl.env, timeout=60)
        assert p.returncode == 75, p.stderr
        assert b"another writer" in p.stderr
        assert p.stdout == b""
    finally:
        w.stdin.close()
        w.wait(timeout=30)
    assert tl.show("192.0.2.1")["checked"] is None
