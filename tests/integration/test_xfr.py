"""Zone transfers: trapline dns as the primary of standard secondaries.

dig asks for AXFR and IXFR; Knot and NSD run as secondaries on loopback
(in the foreground, as root without chroot, their state in a temporary
directory), transfer the zone, are told of a new snapshot by NOTIFY, fetch
it by IXFR, and must answer exactly as trapline does.
"""
import base64
import hashlib
import hmac
import os
import random
import re
import shutil
import signal
import socket
import struct
import sys
import subprocess
import threading
import time

import pytest

from conftest import BIN, ev, lines
from freeport import free_port, loopback

pytestmark = pytest.mark.skipif(not shutil.which("dig"), reason="dig missing")

EVENTS = lines(
    ev("2026-11-26T10:00:00Z", "81.2.69.160"),
    ev("2026-11-25T10:00:00Z", "81.2.69.160", "auth"),
    ev("2026-11-26T10:00:00Z", "2a02:c7f::1", "dictionary"),
    ev("2026-11-26T10:00:00Z", "81.2.69.162"),
    ev("2026-11-26T10:00:00Z", "5.45.62.7", "malware"),
)
MORE = lines(
    ev("2026-11-26T11:00:00Z", "81.2.69.170", "malware"),
    ev("2026-11-26T11:00:00Z", "81.2.69.162", "auth"),
    ev("2026-11-26T11:00:00Z", "2a02:c7f::2"),
)
ZONE = "bl.test"


def rev4(ip):
    return ".".join(reversed(ip.split("."))) + "." + ZONE


def rev6(hex32):
    return ".".join(reversed(hex32)) + "." + ZONE


class Primary:
    def __init__(self, tl, tmp_path, notify="", allow="127.0.0.1 ::1",
                 extra=""):
        cfg = tmp_path / "dns.conf"
        body = "[dns]\nzone = %s\nworkers = 2\nrefresh = 1h\n" % ZONE
        if allow:
            body += "allow_transfer = %s\n" % allow
        if notify:
            body += "notify = %s\n" % notify
        cfg.write_text(body + extra)
        self.tl, self.cfg = tl, cfg
        self.logpath = tmp_path / "dns.log"
        self.start()

    def start(self):
        self.log = open(self.logpath, "a+")
        self.mark = self.log.tell()
        self.p = subprocess.Popen([BIN, "dns", "--data", self.tl.data,
                                   "--config", str(self.cfg), "--listen",
                                   loopback()],
                                  env=self.tl.env, stderr=self.log)
        self.port = None
        self.wait_log(r"listening on port (\d+)")
        m = re.findall(r"listening on port (\d+)", self.text())
        self.port = int(m[-1])

    def text(self, since_start=True):
        self.log.flush()
        with open(self.logpath) as f:
            f.seek(self.mark if since_start else 0)
            return f.read()

    def wait_log(self, pattern, timeout=30, count=1):
        end = time.time() + timeout
        while time.time() < end:
            if len(re.findall(pattern, self.text())) >= count:
                return
            assert self.p.poll() is None, self.text()
            time.sleep(0.05)
        raise AssertionError("no %r in the log:\n%s" % (pattern, self.text()))

    def dig(self, *args, port=None):
        p = subprocess.run(["dig", "@127.0.0.1", "-p", str(port or self.port),
                            "+time=3", "+tries=2", *args],
                           capture_output=True, timeout=60)
        return p.stdout.decode()

    def signed_dig(self, key, *args):
        """dig with TSIG key @key (NAME:ALGORITHM:BASE64, as tsig_key
        has it), which dig also checks the answer's MACs with."""
        name, alg, secret = key.split(":")
        return self.dig("-y", "%s:%s:%s" % (alg, name, secret), *args)

    def serial(self, port=None):
        m = re.match(r"\S+ \S+ (\d+) ", self.dig(ZONE, "SOA", "+short",
                                               port=port))
        return m and int(m.group(1))

    def reload(self):
        """Have the server build and serve a new snapshot (its serial is
        the time: a second later at least)."""
        old = self.serial()
        n = len(re.findall(r"serving snapshot serial", self.text()))
        time.sleep(1.1)
        self.p.send_signal(signal.SIGHUP)
        self.wait_log(r"serving snapshot serial", count=n + 1)
        new = self.serial()
        assert new > old
        return old, new

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        rc = self.p.wait(timeout=30)
        self.log.close()
        return rc


def records(dig_out):
    """The records of dig output (AXFR or +noall +answer): (name, ttl,
    type, rdata) with the names lower-cased."""
    out = []
    for l in dig_out.splitlines():
        if not l or l.startswith(";"):
            continue
        f = l.split(None, 4)
        if len(f) == 5 and f[2] == "IN":
            out.append((f[0].lower(), int(f[1]), f[3], f[4]))
    return out


def answer(d, name, qtype, port=None):
    """rcode, the sorted answer records and the SOA in the authority
    section of one query (NSD adds NS there to positive answers, trapline
    does not: both fine)."""
    out = d.dig(name, qtype, "+noall", "+answer", "+comments", port=port)
    auth = d.dig(name, qtype, "+noall", "+authority", port=port)
    m = re.search(r"status: (\w+)", out)
    return ((m and m.group(1)), sorted(records(out)),
            sorted(r for r in records(auth) if r[2] == "SOA"))


@pytest.fixture
def primary(tl, tmp_path):
    tl.ingest(EVENTS)
    started = []

    def start(**kw):
        d = Primary(tl, tmp_path, **kw)
        started.append(d)
        return d
    yield start
    for d in started:
        if d.p.poll() is None:
            d.p.kill()
            d.p.wait()


# ---- dig against the primary ----------------------------------------------

def test_axfr_is_what_the_server_answers(primary):
    d = primary()
    out = d.dig(ZONE, "AXFR")
    rr = records(out)
    assert rr[0][2] == "SOA" and rr[-1][2] == "SOA" and rr[0] == rr[-1]
    assert sum(1 for r in rr if r[2] == "SOA") == 2
    assert ("bl.test.", 300, "NS", "localhost.") in rr
    owners = {r[0] for r in rr if r[2] in ("A", "TXT")}
    want = {rev4(ip) + "." for ip in ("81.2.69.160", "81.2.69.162",
                                      "5.45.62.7", "127.0.0.2")}
    want.add(rev6("2a020c7f000000000000000000000001") + ".")
    want.add(rev6("00000000000000000000ffff7f000002") + ".")
    assert owners == want
    # Every name's records are the answers to A and TXT queries.
    for name in owners:
        for t in ("A", "TXT"):
            st, ans, _ = answer(d, name, t)
            assert st == "NOERROR"
            assert ans == sorted(r for r in rr if r[0] == name and r[2] == t)
    assert d.stop() == 0


def test_acl_refuses_other_sources(primary):
    d = primary()
    out = d.dig("-b", "127.0.0.2", ZONE, "AXFR")
    assert "Transfer failed" in out
    assert not [r for r in records(out) if r[2] == "SOA"]
    d.wait_log(r"AXFR from 127\.0\.0\.2 refused: not in \[dns\] allow_transfer")
    assert d.stop() == 0


def test_refusals_are_logged_at_a_bounded_rate(primary):
    d = primary()
    q = axfr_query(ZONE)
    for _ in range(40):
        s = socket.create_connection(("127.0.0.1", d.port), timeout=5,
                                     source_address=("127.0.0.2", 0))
        s.sendall(struct.pack(">H", len(q)) + q)
        assert len(s.recv(2)) == 2
        s.close()
    time.sleep(1.1)
    assert "Transfer failed" in d.dig("-b", "127.0.0.2", ZONE, "AXFR")
    d.wait_log(r"\d+ more refused transfers not logged")
    n = len(re.findall(r"AXFR from 127\.0\.0\.2 refused", d.text()))
    assert 10 <= n <= 31
    assert d.stop() == 0


def test_no_acl_no_transfer(primary):
    d = primary(allow="")
    assert "Transfer failed" in d.dig(ZONE, "AXFR")
    assert d.stop() == 0


def test_tsig_required_when_a_key_is_set(primary):
    d = primary(extra="tsig_key = %s\n" % KEY)
    name, alg, secret = KEY.split(":")
    out = d.signed_dig(KEY, ZONE, "AXFR")
    rr = records(out)
    assert rr[0][2] == "SOA" and rr[-1][2] == "SOA"
    assert out.count("TSIG") >= 1 and "Transfer failed" not in out
    assert "Transfer failed" in d.dig(ZONE, "AXFR")
    d.wait_log(r"AXFR from 127\.0\.0\.1 refused: not signed")
    other = base64.b64encode(b"x" * 32).decode()
    out = d.signed_dig(":".join((name, alg, other)), ZONE, "AXFR")
    assert not [r for r in records(out) if r[2] == "SOA"]
    d.wait_log(r"AXFR from 127\.0\.0\.1 refused: TSIG MAC does not check")
    # A signed SOA query is answered signed, as secondaries check it.
    out = d.signed_dig(KEY, ZONE, "SOA")
    assert "TSIG PSEUDOSECTION" in out and "status: NOERROR" in out
    assert d.stop() == 0


def test_tsig_one_key_per_secondary(primary):
    """With several keys, in each algorithm a key may have, a transfer
    signed with any of them is served and signed with that one (dig checks
    the answer's MACs with its key, in its algorithm); a key not listed,
    or a listed key's name in another algorithm, gets BADKEY."""
    keys = [KEY2, KEY] + ["k%d.key:%s:%s" % (i, alg, base64.b64encode(
        bytes(range(i, i + 20 + 4 * i))).decode())
        for i, alg in enumerate(ALGS)]
    d = primary(extra="tsig_key = %s\n" % ", ".join(keys))
    for key in keys:
        name, alg, _ = key.split(":")
        out = d.signed_dig(key, ZONE, "AXFR")
        rr = records(out)
        assert rr and rr[0][2] == "SOA" and rr[-1][2] == "SOA", out
        assert "Transfer failed" not in out and "verify" not in out, out
        d.wait_log(r"AXFR to 127\.0\.0\.1 done: .*TSIG key %s\." %
                   re.escape(name))
        out = d.signed_dig(key, ZONE, "SOA")
        assert "TSIG PSEUDOSECTION" in out and "status: NOERROR" in out
        assert re.search(r"^%s\.\s+0\s+ANY\s+TSIG\s+%s\.\s" %
                         (re.escape(name), alg), out, re.M | re.I), out
    out = d.signed_dig("third.key:hmac-sha256:" + KEY.split(":")[2], ZONE,
                       "AXFR")
    assert not [r for r in records(out) if r[2] == "SOA"]
    d.wait_log(r"AXFR from 127\.0\.0\.1 refused: TSIG with another key "
               r".*, key third\.key\.")
    out = d.signed_dig(KEY.replace("hmac-sha256", "hmac-sha512"), ZONE, "SOA")
    assert "status: NOTAUTH" in out and "BADKEY" in out, out
    assert d.stop() == 0


def test_tsig_keys_and_notify_key_checked_at_start(tl, tmp_path):
    """Two keys of one name, or a NOTIFY target naming a key not listed:
    the server does not start, and says why, before it spends seconds
    building a first snapshot."""
    tl.ingest(EVENTS)
    cfg = tmp_path / "bad.conf"
    for extra, why in (
            ("tsig_key = %s %s\n" % (KEY, KEY2.replace("sec2.key", "XFR.key")),
             b"has the name of an earlier one"),
            ("tsig_key = %s\nnotify = 127.0.0.1:53/sec2.key\n" % KEY,
             b"no key of that name")):
        cfg.write_text("[dns]\nzone = %s\nallow_transfer = 127.0.0.1\n%s"
                       % (ZONE, extra))
        p = tl.run("dns", "--config", str(cfg), "--listen", "127.0.0.1:0",
                   timeout=30)
        assert p.returncode == 2, p.stderr  # EXIT_USAGE: bad configuration
        assert why in p.stderr, p.stderr
        assert b"snapshot built" not in p.stderr, p.stderr


def wire(name):
    return b"".join(bytes([len(l)]) + l.encode()
                    for l in name.rstrip(".").split(".")) + b"\0"


def tsig_vars(key, when, error=0, other=b""):
    return (wire(key) + struct.pack(">HI", 255, 0) + wire("hmac-sha256")
            + struct.pack(">HIHHH", when >> 32, when & 0xFFFFFFFF, 300,
                          error, len(other)) + other)


def signed_soa_query(key, secret, when, qid=4321):
    """An SOA query signed as RFC 8945 4 says (HMAC-SHA256) at @when,
    built here, not by dig, so that its time can be off; and its MAC."""
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0) + wire(ZONE) + \
        struct.pack(">HH", 6, 1)
    mac = hmac.new(secret, q + tsig_vars(key, when), hashlib.sha256).digest()
    rdata = (wire("hmac-sha256")
             + struct.pack(">HIHH", when >> 32, when & 0xFFFFFFFF, 300, 32)
             + mac + struct.pack(">HHH", qid, 0, 0))
    rr = wire(key) + struct.pack(">HHIH", 250, 255, 0, len(rdata)) + rdata
    return q[:10] + b"\0\1" + q[12:] + rr, mac


def test_tsig_errors_say_which(primary):
    """RFC 8945 5.3.2 and 5.2.3: a request signed out of time gets NOTAUTH
    with TSIG error BADTIME, signed, our time in its other data; one with
    another key gets BADKEY, unsigned (dig shows these too)."""
    d = primary(extra="tsig_key = %s\n" % KEY)
    name, _, b64 = KEY.split(":")
    secret = base64.b64decode(b64)
    now = int(time.time())
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    for skew, want in ((0, 0), (3600, 18), (-3600, 18)):
        q, qmac = signed_soa_query(name, secret, now + skew)
        s.sendto(q, ("127.0.0.1", d.port))
        m = s.recv(4096)
        assert m[3] & 0xF == (9 if want else 0)
        arcount = struct.unpack(">H", m[10:12])[0]
        p = skip_name(m, 12) + 4
        for _ in range(struct.unpack(">HH", m[6:10])[0] +
                       struct.unpack(">H", m[8:10])[0] + arcount - 1):
            p = skip_name(m, p)
            p += 10 + struct.unpack(">H", m[p + 8:p + 10])[0]
        tsig_at = p
        p = skip_name(m, p)
        assert struct.unpack(">H", m[p:p + 2])[0] == 250
        p = skip_name(m, p + 10)
        hi, lo, fudge, macsize = struct.unpack(">HIHH", m[p:p + 10])
        mac = m[p + 10:p + 10 + macsize]
        p += 10 + macsize
        _, error, olen = struct.unpack(">HHH", m[p:p + 6])
        other = m[p + 6:p + 6 + olen]
        assert error == want and macsize == 32
        if want:
            assert (hi << 32 | lo) == now + skew   # the request's time
            assert abs(int.from_bytes(other, "big") - now) < 30
        # The answer's MAC, worked out here: the request's MAC, the
        # answer without its TSIG, the TSIG's variables.
        body = m[:10] + struct.pack(">H", arcount - 1) + m[12:tsig_at]
        vars_ = tsig_vars(name, hi << 32 | lo, error, other)
        assert mac == hmac.new(secret, struct.pack(">H", 32) + qmac + body
                               + vars_, hashlib.sha256).digest()
    out = d.signed_dig("other.key:hmac-sha256:" + b64, ZONE, "SOA")
    assert "status: NOTAUTH" in out and "BADKEY" in out
    out = d.signed_dig("%s:hmac-sha256:%s" % (
        name, base64.b64encode(b"y" * 32).decode()), ZONE, "AXFR")
    assert "BADSIG" in out and "Transfer failed" in out
    d.wait_log(r"AXFR from 127\.0\.0\.1 refused: TSIG MAC does not check "
               r"\(BADSIG\)")
    assert d.stop() == 0


def test_foreign_zones_are_refused(primary):
    d = primary()
    assert "Transfer failed" in d.dig("example.com", "AXFR")
    d.wait_log(r"not a zone served here")
    assert d.stop() == 0


def test_hist_axfr_is_what_the_server_answers(primary):
    d = primary()
    hz = "hist." + ZONE
    rr = records(d.dig(hz, "AXFR"))
    assert rr[0][2] == "SOA" and rr[-1][2] == "SOA" and rr[0] == rr[-1]
    assert rr[0][0] == hz + "."
    assert ("hist.bl.test.", 300, "NS", "localhost.") in rr
    owners = {r[0] for r in rr if r[2] in ("A", "TXT")}
    want = {rev4(ip).replace(ZONE, hz) + "."
            for ip in ("81.2.69.160", "81.2.69.162", "5.45.62.7")}
    want.add(rev6("2a020c7f000000000000000000000001").replace(ZONE, hz) + ".")
    assert owners == want                  # no test points in hist
    for name in owners:
        for t in ("A", "TXT"):
            st, ans, _ = answer(d, name, t)
            assert st == "NOERROR"
            assert ans == sorted(r for r in rr if r[0] == name and r[2] == t)
            assert len(ans) == 1
    # IXFR of hist: the whole zone, SOA first and last.
    s0 = d.serial()
    ix = records(d.dig(hz, "IXFR=%d" % (s0 - 1)))
    assert ix[0][2] == "SOA" and ix[-1][2] == "SOA"
    assert {r[0] for r in ix if r[2] in ("A", "TXT")} == owners
    d.wait_log(r"IXFR of hist from 127\.0\.0\.1: serial \d+, 4 names")
    assert d.stop() == 0


def test_ixfr_udp_current_unknown_and_incremental(primary):
    d = primary()
    s0 = d.serial()
    # Over UDP: the SOA alone (RFC 1995 2).
    out = d.dig(ZONE, "IXFR=%d" % (s0 - 1000), "+notcp")
    rr = records(out)
    assert [r[2] for r in rr] == ["SOA"] and "(UDP)" in out
    # Current serial: the SOA alone, over TCP too.
    rr = records(d.dig(ZONE, "IXFR=%d" % s0))
    assert [r[2] for r in rr] == ["SOA"]
    # Unknown serial: the whole zone, as AXFR.
    full = records(d.dig(ZONE, "AXFR"))
    assert records(d.dig(ZONE, "IXFR=%d" % (s0 - 1000))) == full
    d.tl.ingest(MORE)
    old, new = d.reload()
    rr = records(d.dig(ZONE, "IXFR=%d" % old))
    soas = [int(r[3].split()[2]) for r in rr if r[2] == "SOA"]
    assert soas == [new, old, new, new]
    i_old, i_new = [i for i, r in enumerate(rr) if r[2] == "SOA"][1:3]
    dels, adds = rr[i_old + 1:i_new], rr[i_new + 1:-1]
    n162 = rev4("81.2.69.162") + "."
    n170 = rev4("81.2.69.170") + "."
    # 81.2.69.162 gained auth: its old TXT goes, a new A and TXT come.
    assert [(r[0], r[2]) for r in dels] == [(n162, "TXT")]
    assert (n162, 300, "A", "127.0.0.4") in adds
    assert (n170, 300, "A", "127.0.0.5") in adds
    assert (rev6("2a020c7f000000000000000000000002") + ".", 300, "A",
            "127.0.0.2") in adds
    d.wait_log(r"IXFR to 127\.0\.0\.1 done")
    # The journal survives a restart: still incremental.
    assert d.stop() == 0
    d.start()
    rr2 = records(d.dig(ZONE, "IXFR=%d" % old))
    assert rr2 == rr
    d.wait_log(r"IXFR from 127\.0\.0\.1: serial %d to %d, 1 changes" % (old, new))
    assert d.stop() == 0


def test_ixfr_chains_serials_and_keeps_only_ixfr_keep(primary):
    d = primary(extra="ixfr_keep = 2\n")
    s0 = d.serial()
    d.tl.ingest(lines(ev("2026-11-26T11:00:00Z", "81.2.69.171", "malware")))
    _, s1 = d.reload()
    d.tl.ingest(lines(ev("2026-11-26T11:00:00Z", "81.2.69.172", "auth")))
    _, s2 = d.reload()
    rr = records(d.dig(ZONE, "IXFR=%d" % s0))
    soas = [int(r[3].split()[2]) for r in rr if r[2] == "SOA"]
    # Two differences chained (RFC 1995 4): s0 -> s1, s1 -> s2.
    assert soas == [s2, s0, s1, s1, s2, s2]
    owners = [r[0] for r in rr if r[2] == "A"]
    assert owners == [rev4("81.2.69.171") + ".", rev4("81.2.69.172") + "."]
    d.wait_log(r"IXFR from 127\.0\.0\.1: serial %d to %d, 2 changes" % (s0, s2))
    # A third change pushes the first out (ixfr_keep = 2): s0 gets the
    # whole zone, s1 still the difference.
    d.tl.ingest(lines(ev("2026-11-26T11:00:00Z", "81.2.69.173", "spam")))
    _, s3 = d.reload()
    assert records(d.dig(ZONE, "IXFR=%d" % s0)) == records(d.dig(ZONE, "AXFR"))
    soas = [int(r[3].split()[2]) for r in records(d.dig(ZONE, "IXFR=%d" % s1))
            if r[2] == "SOA"]
    assert soas == [s3, s1, s2, s2, s3, s3]
    assert d.stop() == 0


def test_damaged_journal_falls_back_to_axfr(primary):
    d = primary()
    d.tl.ingest(MORE)
    old, new = d.reload()
    assert d.stop() == 0
    path = os.path.join(d.tl.data, "dns", "ixfr", ZONE + ".ixfr")
    b = bytearray(open(path, "rb").read())
    b[len(b) - 5] ^= 0x55                    # inside the last record's body
    open(path, "wb").write(bytes(b))
    d.start()
    d.wait_log(r"damaged \(body checksum.*refused")
    rr = records(d.dig(ZONE, "IXFR=%d" % old))
    assert rr == records(d.dig(ZONE, "AXFR"))
    d.wait_log(r"IXFR from 127\.0\.0\.1: serial %d not in the journal" % old)
    assert d.stop() == 0


# ---- secondaries ------------------------------------------------------------

class Secondary:
    def __init__(self, kind, tmp_path, port, primary_port, key=None,
                 zone=ZONE):
        self.kind, self.port = kind, port
        kname, kalg, ksecret = key.split(":") if key else (None,) * 3
        self.dir = tmp_path / (kind + ("" if zone == ZONE else "-" + zone))
        self.dir.mkdir()
        self.logpath = self.dir / "log"
        if kind == "knot":
            (self.dir / "db").mkdir()
            (self.dir / "zones").mkdir()
            keyconf = f"""
key:
  - id: {kname}
    algorithm: {kalg}
    secret: {ksecret}
""" if key else ""
            keyref = f"\n    key: {kname}" if key else ""
            (self.dir / "knot.conf").write_text(keyconf + f"""
server:
    rundir: "{self.dir}"
    user: root:root
    listen: 127.0.0.1@{port}
log:
  - target: stderr
    any: info
database:
    storage: "{self.dir}/db"
remote:
  - id: primary
    address: 127.0.0.1@{primary_port}{keyref}
acl:
  - id: from_primary
    address: 127.0.0.1{keyref}
    action: notify
  - id: dump
    address: 127.0.0.1
    action: transfer
template:
  - id: default
    storage: "{self.dir}/zones"
    zonefile-sync: -1
    zonefile-load: none
    journal-content: changes
zone:
  - domain: {zone}
    master: primary
    acl: [from_primary, dump]
""")
            cmd = ["knotd", "-c", str(self.dir / "knot.conf")]
        else:
            keyconf = f"""
key:
    name: "{kname}"
    algorithm: {kalg}
    secret: "{ksecret}"
""" if key else ""
            (self.dir / "nsd.conf").write_text(keyconf + f"""
server:
    port: {port}
    ip-address: 127.0.0.1
    zonesdir: "{self.dir}"
    xfrdfile: "{self.dir}/xfrd.state"
    zonelistfile: "{self.dir}/zone.list"
    pidfile: "{self.dir}/nsd.pid"
    database: ""
    username: ""
    chroot: ""
    verbosity: 2
    xfrd-reload-timeout: 0
remote-control:
    control-enable: no
zone:
    name: {zone}
    zonefile: "{zone}.zone"
    request-xfr: 127.0.0.1@{primary_port} {kname or "NOKEY"}
    allow-notify: 127.0.0.1 {kname or "NOKEY"}
""")
            cmd = ["nsd", "-d", "-c", str(self.dir / "nsd.conf")]
        self.log = open(self.logpath, "w")
        self.p = subprocess.Popen(cmd, stdout=self.log, stderr=self.log)

    def text(self):
        return self.logpath.read_text()

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()


def wait_serial(d, sec, serial, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        if d.serial(port=sec.port) == serial:
            return
        assert sec.p.poll() is None, sec.text()
        time.sleep(0.1)
    raise AssertionError("%s stuck at serial %s, want %s:\n%s\n%s" % (
        sec.kind, d.serial(port=sec.port), serial, sec.text(), d.text()))


QUESTIONS = [
    (rev4("81.2.69.160"), "A"), (rev4("81.2.69.160"), "TXT"),
    (rev4("81.2.69.160"), "AAAA"),                     # NODATA
    (rev4("81.2.69.162"), "A"), (rev4("81.2.69.162"), "TXT"),
    (rev4("81.2.69.170"), "A"), (rev4("81.2.69.170"), "TXT"),
    (rev4("5.45.62.7"), "A"),
    (rev6("2a020c7f000000000000000000000001"), "A"),
    (rev6("2a020c7f000000000000000000000001"), "TXT"),
    (rev6("2a020c7f000000000000000000000002"), "A"),
    (rev4("81.2.69.99"), "A"),                         # not listed
    (rev4("192.0.2.1"), "TXT"),                        # not listed
    ("69.2.81." + ZONE, "A"),                          # empty non-terminal
    ("2.81." + ZONE, "TXT"),                           # empty non-terminal
    (rev4("127.0.0.2"), "A"), (rev4("127.0.0.2"), "TXT"),  # test points
    (rev6("00000000000000000000ffff7f000002"), "A"),
    (rev4("127.0.0.1"), "A"),                          # the negative one
    (ZONE, "SOA"), (ZONE, "NS"), (ZONE, "A"),
    ("x." + ZONE, "A"),
]


def same_answers(d, sec, questions=None):
    """The secondary answers each question as the primary does. A
    secondary that already has the serial may still be switching to a
    second copy of it (NSD, when a NOTIFY crossed its first transfer,
    transfers again and, once in about a hundred runs, answered one query
    in between from a copy without the TXT): a difference must be gone
    within 5 s, and a lasting one fails with both sides' data."""
    for name, t in questions or QUESTIONS:
        want = answer(d, name, t)
        got = answer(d, name, t, port=sec.port)
        end = time.time() + 5
        while got != want and time.time() < end:
            sys.stderr.write("%s: %s %s: %r, primary %r; asking again\n"
                             % (sec.kind, name, t, got, want))
            time.sleep(0.2)
            got = answer(d, name, t, port=sec.port)
        # The primary asked again (raw) beside the secondary's answer:
        # whether a difference was the primary's one answer or lasts.
        assert got == want, (sec.kind, name, t,
                             "primary now:", d.dig(name, t, "+comments"),
                             d.dig(name, t, port=sec.port),
                             d.dig(ZONE, "AXFR", port=sec.port),
                             d.dig(ZONE, "AXFR"), sec.text())


KEY = "xfr.key:hmac-sha256:" + base64.b64encode(bytes(range(32))).decode()
KEY2 = "sec2.key:hmac-sha256:" + base64.b64encode(bytes(range(5, 37))).decode()
# The HMACs a key may have (RFC 8945 6).
ALGS = ("hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384",
        "hmac-sha512")


@pytest.mark.parametrize("kind,alg", [
    ("knot", None), ("nsd", None), ("knot", "hmac-sha256"),
    ("nsd", "hmac-sha256"), ("knot", "hmac-sha512"), ("nsd", "hmac-sha1")])
def test_secondary_transfers_and_follows_by_ixfr(primary, tmp_path, kind,
                                                 alg):
    if not shutil.which("knotd" if kind == "knot" else "nsd"):
        pytest.skip(kind + " missing (scripts/install-deps)")
    sport = free_port()
    # With TSIG: two keys, the secondary's the second (in @alg), which
    # its NOTIFY must be signed with (it refuses another).
    key = alg and KEY2.replace("hmac-sha256", alg)
    d = primary(notify="127.0.0.1:%d%s" % (sport, "/sec2.key" if alg else ""),
                extra="tsig_key = %s %s\n" % (KEY, key) if key else "")
    s0 = d.serial()
    sec = Secondary(kind, tmp_path, sport, d.port, key=key)
    try:
        wait_serial(d, sec, s0)
        assert "AXFR to 127.0.0.1 done" in d.text()
        same_answers(d, sec)
        # New data: NOTIFY, and the secondary comes for the difference.
        d.tl.ingest(MORE)
        old, new = d.reload()
        wait_serial(d, sec, new)
        d.wait_log(r"NOTIFY of serial %d to 127\.0\.0\.1:%d: answered "
                   r"\(rcode 0\)" % (new, sport))
        d.wait_log(r"IXFR from 127\.0\.0\.1: serial %d to %d, 1 changes" %
                   (old, new))
        d.wait_log(r"IXFR to 127\.0\.0\.1 done")
        if kind == "knot":
            assert "IXFR, incoming" in sec.text()
            assert "fallback to AXFR" not in sec.text()
        same_answers(d, sec)
    finally:
        sec.stop()
    assert d.stop() == 0


# ---- a big transfer does not hold the server up -----------------------------

def axfr_query(zone, qid=4242):
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0)
    for l in zone.split("."):
        q += bytes([len(l)]) + l.encode()
    return q + b"\0" + struct.pack(">HH", 252, 1)


def skip_name(m, p):
    while True:
        l = m[p]
        if l & 0xC0 == 0xC0:
            return p + 2
        p += 1 + l
        if l == 0:
            return p


def read_axfr(sock, slow=0.0):
    """Read an AXFR stream: (records, serials of the SOAs)."""
    f = sock.makefile("rb")
    n, soas = 0, []
    while True:
        h = f.read(2)
        assert len(h) == 2, "connection closed mid-transfer"
        m = f.read(struct.unpack(">H", h)[0])
        assert m[3] & 0xF == 0, "rcode %d" % (m[3] & 0xF)
        qd, an = struct.unpack(">HH", m[4:8])
        p = 12
        for _ in range(qd):
            p = skip_name(m, p) + 4
        for _ in range(an):
            p = skip_name(m, p)
            t, _, _, rdl = struct.unpack(">HHIH", m[p:p + 10])
            p += 10
            if t == 6:
                soas.append(struct.unpack(">I", m[p + rdl - 20:p + rdl - 16])[0])
            p += rdl
            n += 1
        if slow:
            time.sleep(slow)
        if len(soas) == 2:
            return n, soas


def test_udp_answers_while_a_big_axfr_streams(tl, tmp_path):
    rnd = random.Random(7)
    ips = set()
    while len(ips) < 60000:
        ips.add("%d.%d.%d.%d" % (rnd.randrange(11, 100), rnd.randrange(256),
                                 rnd.randrange(256), rnd.randrange(1, 255)))
    tl.ingest("".join('{"time":"2026-11-26T12:00:00Z","ip":"%s"}\n' % ip
                      for ip in sorted(ips)))
    d = Primary(tl, tmp_path)
    try:
        s0 = d.serial()
        sock = socket.create_connection(("127.0.0.1", d.port), timeout=30)
        q = axfr_query(ZONE)
        sock.sendall(struct.pack(">H", len(q)) + q)
        result = {}

        def reader():
            result["axfr"] = read_axfr(sock, slow=0.01)
        th = threading.Thread(target=reader)
        th.start()
        # Meanwhile: UDP answers come at once, and a reload goes through.
        worst = 0.0
        for ip in sorted(ips)[:40]:
            t0 = time.time()
            assert d.dig(rev4(ip), "A", "+short", "+tries=1").strip() == "127.0.0.2"
            worst = max(worst, time.time() - t0)
        tl.ingest(MORE)
        old, new = d.reload()
        assert th.is_alive(), "the transfer ended too soon to show anything"
        th.join(timeout=120)
        n, soas = result["axfr"]
        # The transfer kept the snapshot it started with.
        assert soas == [s0, s0] and old == s0
        listed = int(re.search(r"serving snapshot serial \d+: (\d+) IPv4",
                               d.text()).group(1))
        assert listed > 50000
        assert n == 2 + 1 + 4 + 2 * listed
        assert worst < 1.0
        sock.close()
    finally:
        d.stop()


# ---- operator ranges: wildcards in AXFR and IXFR ---------------------------

RANGES = ["192.0.2.0/24", "198.51.100.0/22", "203.0.113.64/26",
          "81.2.0.0/16", "2001:db8:aa::/48"]
HOLE = "192.0.2.128/28"          # allowlisted inside the /24
RANGE_ADDRS = [
    "192.0.2.0", "192.0.2.77", "192.0.2.127", "192.0.2.255",    # the /24
    "192.0.2.128", "192.0.2.130", "192.0.2.143",                # the hole
    "192.0.2.144", "192.0.2.160",                               # past it
    "192.0.1.255", "192.0.3.0",                                 # outside
    "198.51.100.0", "198.51.101.7", "198.51.103.255",           # the /22
    "198.51.99.255", "198.51.104.0",
    "203.0.113.64", "203.0.113.100", "203.0.113.127",           # the /26
    "203.0.113.63", "203.0.113.128",
    "81.2.69.160", "81.2.69.162", "81.2.69.99", "81.2.70.5",    # exact in
    "81.2.255.255", "81.3.0.0", "81.1.255.255",                 # a /16
]
RANGE_ADDRS6 = ["20010db800aa00000000000000000001",
                "20010db800aaffffffffffffffffffff",
                "20010db800ab00000000000000000000",
                "20010db800a9ffffffffffffffffffff"]


def range_questions():
    q = []
    for ip in RANGE_ADDRS:
        q += [(rev4(ip), "A"), (rev4(ip), "TXT")]
    for h in RANGE_ADDRS6:
        q += [(rev6(h), "A"), (rev6(h), "TXT")]
    return q


@pytest.mark.parametrize("kind", ["knot", "nsd"])
def test_secondary_answers_the_operator_ranges(primary, tl, tmp_path, kind):
    if not shutil.which("knotd" if kind == "knot" else "nsd"):
        pytest.skip(kind + " missing (scripts/install-deps)")
    for r in RANGES:
        tl.run("list", "add", r, "--reason", "test range", check=0)
    tl.run("list", "allow", HOLE, "--reason", "hole", check=0)
    sport = free_port()
    d = primary(notify="127.0.0.1:%d" % sport, extra="txt = listed: $ %f\n")
    s0 = d.serial()
    # The primary: a range address names its block.
    rc, recs, _ = answer(d, rev4("198.51.101.7"), "TXT")
    assert rc == "NOERROR" and '"listed: 198.51.100.0/22 ' in recs[0][3]
    rc, recs, _ = answer(d, rev4("192.0.2.144"), "TXT")
    assert '"listed: 192.0.2.144/28 ' in recs[0][3]
    assert answer(d, rev4("192.0.2.130"), "A")[0] == "NXDOMAIN"
    rc, recs, _ = answer(d, rev4("81.2.69.160"), "TXT")
    assert '"listed: 81.2.69.160 ' in recs[0][3]        # exact: itself
    axfr = records(d.dig(ZONE, "AXFR"))
    names = {r[0] for r in axfr}
    # the /24 less the hole: /25, /28, /27, /26: names of addresses
    assert "0.2.0.192." + ZONE + "." in names
    assert "130.2.0.192." + ZONE + "." not in names
    assert "*.2.0.192." + ZONE + "." not in names
    assert "*.101.51.198." + ZONE + "." in names
    assert "100.113.0.203." + ZONE + "." in names
    assert "*.69.2.81." + ZONE + "." in names           # node under *.2.81
    sec = Secondary(kind, tmp_path, sport, d.port)
    try:
        wait_serial(d, sec, s0)
        same_answers(d, sec, range_questions())
        # One range goes: NOTIFY, IXFR, NXDOMAIN at the secondary too.
        time.sleep(1.1)
        n = len(re.findall(r"serving snapshot serial", d.text()))
        tl.run("list", "del", "198.51.100.0/22", check=0)
        d.wait_log(r"serving snapshot serial", count=n + 1)
        new = d.serial()
        assert new > s0
        wait_serial(d, sec, new)
        d.wait_log(r"IXFR from 127\.0\.0\.1: serial %d to %d, 1 changes" %
                   (s0, new))
        d.wait_log(r"IXFR to 127\.0\.0\.1 done")
        if kind == "knot":
            assert "fallback to AXFR" not in sec.text()
        assert answer(d, rev4("198.51.101.7"), "A",
                      port=sec.port)[0] == "NXDOMAIN"
        same_answers(d, sec, range_questions())
    finally:
        sec.stop()
    assert d.stop() == 0


@pytest.mark.parametrize("kind", ["knot", "nsd"])
def test_secondary_transfers_hist(primary, tmp_path, kind):
    if not shutil.which("knotd" if kind == "knot" else "nsd"):
        pytest.skip(kind + " missing (scripts/install-deps)")
    hz = "hist." + ZONE
    d = primary()
    m = re.match(r"\S+ \S+ (\d+) ", d.dig(hz, "SOA", "+short"))
    s0 = int(m.group(1))
    sec = Secondary(kind, tmp_path, free_port(), d.port, zone=hz)
    try:
        end = time.time() + 30
        while time.time() < end:
            m = re.match(r"\S+ \S+ (\d+) ", d.dig(hz, "SOA", "+short",
                                                 port=sec.port))
            if m and int(m.group(1)) == s0:
                break
            assert sec.p.poll() is None, sec.text()
            time.sleep(0.1)
        else:
            raise AssertionError(sec.text() + d.text())
        names = [rev4(ip) for ip in ("81.2.69.160", "81.2.69.162",
                                     "5.45.62.7", "81.2.69.99")]
        names.append(rev6("2a020c7f000000000000000000000001"))
        for name in names:
            for t in ("A", "TXT"):
                name_h = name.replace(ZONE, hz)
                assert answer(d, name_h, t, port=sec.port) == \
                    answer(d, name_h, t), (kind, name_h, t)
        d.wait_log(r"AXFR of hist to 127\.0\.0\.1 done")
    finally:
        sec.stop()
    assert d.stop() == 0
