"""trapline dns with real clients: dig over UDP and TCP, raw packets.

The server compiles its snapshot from the store at start; each test
starts it on a free loopback port and asks what mail servers and
resolvers ask (RFC 5782), plus what they should never get wrong.
"""
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

import pytest

from conftest import BIN, ev, lines, logfile
from freeport import loopback

pytestmark = pytest.mark.skipif(not shutil.which("dig"), reason="dig missing")

EVENTS = lines(
    ev("2026-11-26T10:00:00Z", "81.2.69.160"),
    ev("2026-11-25T10:00:00Z", "81.2.69.160", "auth"),
    ev("2026-11-26T10:00:00Z", "2a02:c7f::1", "dictionary"),
    ev("2016-10-01T10:00:00Z", "81.2.69.161"),
    ev("2026-10-01T10:00:00Z", "81.2.69.161"),
)


class Dns:
    def __init__(self, tl, tmp_path, txt=None, extra=""):
        cfg = tmp_path / "dns.conf"
        body = "[dns]\nzone = bl.test\nworkers = 2\n" + extra
        if txt:
            body += "txt = %s\n" % txt
        cfg.write_text(body)
        self.log = logfile(tmp_path / "dns.log")
        self.p = subprocess.Popen([BIN, "dns", "--data", tl.data, "--config",
                                   str(cfg), "--listen", loopback()],
                                  env=tl.env, stderr=self.log)
        end = time.time() + 30
        self.port = None
        while not self.port and time.time() < end:
            self.log.seek(0)
            m = re.search(r"listening on port (\d+)", self.log.read())
            self.port = m and int(m.group(1))
            if self.p.poll() is not None:
                break
            time.sleep(0.05)
        assert self.port, self.text()

    def text(self):
        self.log.seek(0)
        return self.log.read()

    def dig(self, name, qtype="A", *opts):
        p = subprocess.run(["dig", "@127.0.0.1", "-p", str(self.port),
                            "+time=2", "+tries=1", *opts, name, qtype],
                           capture_output=True, timeout=20)
        return p.stdout.decode()

    def short(self, name, qtype="A", *opts):
        return sorted(l for l in self.dig(name, qtype, "+short", *opts).splitlines() if l)

    def status(self, name, qtype="A", *opts):
        m = re.search(r"status: (\w+)", self.dig(name, qtype, *opts))
        return m and m.group(1)

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        return self.p.wait(timeout=20)


@pytest.fixture
def dns(tl, tmp_path):
    tl.ingest(EVENTS)
    servers = []

    def start(**kw):
        d = Dns(tl, tmp_path, **kw)
        servers.append(d)
        return d
    yield start
    for d in servers:
        if d.p.poll() is None:
            d.p.kill()
            d.p.wait()


def test_listed_addresses_and_test_points(dns):
    d = dns()
    assert d.short("160.69.2.81.bl.test") == ["127.0.0.2", "127.0.0.4"]
    txt = d.short("160.69.2.81.bl.test", "TXT")
    assert txt == ['"Listed: spam, auth source since 2026-11-25, last seen '
                   '2026-11-26; see https://example.org/ip/81.2.69.160"']
    v6 = ".".join(reversed("2a020c7f000000000000000000000001")) + ".bl.test"
    assert d.short(v6) == ["127.0.0.3"]
    # RFC 5782 5: 127.0.0.2 listed, 127.0.0.1 not; the IPv6 forms too.
    assert d.short("2.0.0.127.bl.test") == ["127.0.0.2"]
    assert d.status("1.0.0.127.bl.test") == "NXDOMAIN"
    v6tp = ".".join(reversed("00000000000000000000ffff7f000002")) + ".bl.test"
    assert d.short(v6tp) == ["127.0.0.2"]
    assert d.stop() == 0


def test_negative_answers_carry_the_soa(dns):
    d = dns()
    out = d.dig("161.69.2.81.bl.test")                  # lapsed listing
    assert "status: NXDOMAIN" in out
    assert re.search(r"AUTHORITY SECTION:\nbl\.test\.\s+\d+\s+IN\s+SOA", out)
    assert d.status("x.bl.test") == "NXDOMAIN"           # not an address
    # An empty non-terminal exists (QNAME minimisation, RFC 9156).
    out = d.dig("69.2.81.bl.test")
    assert "status: NOERROR" in out and "ANSWER: 0" in out
    assert d.status("160.69.2.81.bl.test", "AAAA") == "NOERROR"
    assert d.stop() == 0


def test_apex_outside_and_chaos(dns):
    d = dns()
    soa = d.short("bl.test", "SOA")
    assert soa and soa[0].startswith("localhost. hostmaster.example.org.")
    assert d.short("bl.test", "NS") == ["localhost."]
    assert d.status("example.com") == "REFUSED"
    assert d.status("version.bind", "TXT", "-c", "CH") == "REFUSED"
    assert d.status("bl.test", "AXFR", "+tcp") in (None, "REFUSED")
    assert d.stop() == 0


def chaos(d, name):
    """(status, answers) of a CHAOS TXT query (dig takes the name, type
    and class by flag here: its positional parsing mixes them up)."""
    out = subprocess.run(["dig", "@127.0.0.1", "-p", str(d.port), "+time=2",
                          "+tries=1", "-c", "CH", "-t", "TXT", "-q", name],
                         capture_output=True, timeout=20).stdout.decode()
    status = re.search(r"status: (\w+)", out).group(1)
    txt = re.findall(r'\sCH\s+TXT\s+(".*")', out)
    return status, txt


def test_chaos_answers_only_when_configured(dns):
    d = dns()
    assert chaos(d, "version.bind") == ("REFUSED", [])
    assert d.stop() == 0
    d = dns(extra="version = trapline test\n")
    assert chaos(d, "version.bind") == ("NOERROR", ['"trapline test"'])
    assert chaos(d, "VERSION.Server") == ("NOERROR", ['"trapline test"'])
    assert chaos(d, "id.server") == ("REFUSED", [])
    assert d.status("version.bind", "A", "-c", "CH") == "REFUSED"
    assert d.short("2.0.0.127.bl.test") == ["127.0.0.2"]
    assert d.stop() == 0
    d = dns(extra="identity = ns1.example.org\n")
    assert chaos(d, "id.server") == ("NOERROR", ['"ns1.example.org"'])
    assert chaos(d, "hostname.bind") == ("NOERROR", ['"ns1.example.org"'])
    assert chaos(d, "version.bind") == ("REFUSED", [])
    assert d.stop() == 0


def test_case_tcp_edns_and_hist(dns):
    d = dns()
    out = d.dig("160.69.2.81.BL.Test")
    assert "160.69.2.81.BL.Test." in out                 # echoed as asked
    assert d.short("160.69.2.81.bl.test", "A", "+tcp") == ["127.0.0.2", "127.0.0.4"]
    out = d.dig("160.69.2.81.bl.test", "A", "+edns=0", "+bufsize=1232")
    assert "; EDNS: version: 0" in out
    out = d.dig("160.69.2.81.bl.test", "A", "+edns=1", "+noednsnegotiation")
    assert "status: BADVERS" in out
    # hist: 127.Y.D.K: ten years, 57 days since, spam only.
    assert d.short("161.69.2.81.hist.bl.test") == ["127.10.57.1"]
    assert d.short("160.69.2.81.hist.bl.test") == ["127.0.1.5"]
    assert d.status("1.2.3.4.hist.bl.test") == "NXDOMAIN"
    assert d.stop() == 0


def test_truncation_over_udp_and_tcp_fallback(dns):
    d = dns(txt="listed " * 90 + "%k $")
    out = d.dig("160.69.2.81.bl.test", "TXT", "+noedns", "+ignore")
    assert re.search(r"flags:[^;]*\btc\b", out)
    full = d.dig("160.69.2.81.bl.test", "TXT", "+noedns")  # dig retries TCP
    # The TXT comes whole over TCP, in 255-byte character-strings.
    assert "(TCP)" in full
    # (one "listed" may straddle two 255-byte character-strings)
    assert full.count("listed") >= 89 and "81.2.69.160" in full
    assert d.stop() == 0


def query(port, pkt):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1)
    s.sendto(pkt, ("127.0.0.1", port))
    try:
        return s.recv(4096)
    except socket.timeout:
        return None
    finally:
        s.close()


def name(n):
    return b"".join(bytes([len(l)]) + l.encode() for l in n.split(".")) + b"\0"


def test_malformed_packets_never_stop_it(dns):
    d = dns()
    hdr = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
    q = hdr + name("160.69.2.81.bl.test") + struct.pack(">HH", 1, 1)
    assert query(d.port, q)[3] & 15 == 0                  # NOERROR
    # A response (QR set) gets nothing back: no loops.
    assert query(d.port, bytes([0x12, 0x34, 0x81, 0x00]) + q[4:]) is None
    assert query(d.port, b"\x00" * 5) is None             # a runt
    bad = [
        struct.pack(">HHHHHH", 1, 0x0100, 2, 0, 0, 0) + q[12:] + q[12:],  # QDCOUNT 2
        hdr + b"\x40" + b"a" * 64 + b"\0" + b"\0\1\0\1",                 # label 64
        hdr + b"\xc0\x0c" + b"\0\1\0\1",                                  # pointer
        q + b"garbage",                                                   # trailing
        hdr + name("160.69.2.81.bl.test"),                                # no type
    ]
    for b in bad:
        r = query(d.port, b)
        assert r is not None and r[3] & 15 == 1, b       # FORMERR
    for i in range(2000):                                 # noise
        query(d.port, os.urandom(i % 300)) if i % 50 == 0 else None
    assert d.short("160.69.2.81.bl.test") == ["127.0.0.2", "127.0.0.4"]
    assert d.p.poll() is None
    assert d.stop() == 0


PORT_RACE = r"""
import socket, subprocess, sys, time
bin_, data, conf = sys.argv[1:4]
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
with open("/proc/sys/net/ipv4/ip_local_port_range", "w") as f:
    f.write("40000 40001")
# A TCP connection holds one of the two ephemeral ports for TCP only.
srv = socket.socket()
srv.bind(("127.0.0.1", 40002))
srv.listen()
cli = socket.create_connection(("127.0.0.1", 40002))
acc = srv.accept()[0]
held = cli.getsockname()[1]
ok = 0
for i in range(8):
    p = subprocess.Popen([bin_, "dns", "--data", data, "--config", conf,
                          "--listen", "127.0.0.1:0"],
                         stderr=subprocess.PIPE, text=True)
    line = ""
    while "listening on port" not in line:
        line = p.stderr.readline()
        if not line:
            break
    if "listening on port" in line:
        assert int(line.split("listening on port ")[1].split()[0]) != held
        ok += 1
    p.terminate()
    p.wait()
print(ok)
"""


def test_port_zero_finds_a_port_free_for_udp_and_tcp(tl, tmp_path):
    """--listen ADDR:0 takes a port free for both UDP and TCP, even when
    the one the kernel offers for UDP is held by a TCP connection (as
    CI once met: "listen: Address already in use"). In a network
    namespace with two ephemeral ports, one held for TCP."""
    if not shutil.which("unshare") or not shutil.which("ip"):
        pytest.skip("unshare or ip missing (scripts/install-deps)")
    tl.ingest(lines(ev("2026-11-26T10:00:00Z", "81.2.69.160")))
    conf = tmp_path / "dns.conf"
    conf.write_text("[dns]\nzone = bl.test\nworkers = 2\n")
    p = subprocess.run(["unshare", "--net", sys.executable, "-c", PORT_RACE,
                        BIN, tl.data, str(conf)], capture_output=True,
                       text=True, timeout=120, env=tl.env)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split()[-1] == "8", p.stdout + p.stderr


def test_stats_and_reload(dns, tl):
    d = dns()
    d.short("160.69.2.81.bl.test")
    d.status("1.2.3.4.bl.test")
    d.p.send_signal(signal.SIGUSR1)
    time.sleep(0.5)
    out = tl.run("dns", "--stats", check=0).stdout.decode()
    bl = [l for l in out.splitlines() if l.startswith("bl ")][0].split()
    assert int(bl[1]) >= 2 and int(bl[2]) >= 1 and int(bl[3]) >= 1
    # New data, SIGHUP: a new snapshot is built and served.
    tl.run("ingest", "-", input=lines(ev("2026-11-26T10:00:00Z", "81.2.69.170",
                                         "malware")).encode(), check=0)
    assert d.status("170.69.2.81.bl.test") == "NXDOMAIN"
    d.p.send_signal(signal.SIGHUP)
    end = time.time() + 20
    while time.time() < end and d.short("170.69.2.81.bl.test") != ["127.0.0.5"]:
        time.sleep(0.1)
    assert d.short("170.69.2.81.bl.test") == ["127.0.0.5"]
    assert d.stop() == 0


def test_snapshot_dir_holds_the_snapshot(dns, tl, tmp_path):
    """[dns] snapshot_dir (a tmpfs in production): the snapshot is built
    and rebuilt there, nothing under DATA/snapshot, and export uses it."""
    snaps = tmp_path / "snaps"
    d = dns(extra="snapshot_dir = %s\n" % snaps)
    assert d.short("160.69.2.81.bl.test") == ["127.0.0.2", "127.0.0.4"]
    first = os.stat(snaps / "bl.snap").st_mtime_ns
    assert not os.path.exists(os.path.join(tl.data, "snapshot", "bl.snap"))
    tl.run("ingest", "-", input=lines(ev("2026-11-26T10:00:00Z", "81.2.69.170",
                                         "malware")).encode(), check=0)
    d.p.send_signal(signal.SIGHUP)
    end = time.time() + 20
    while time.time() < end and d.short("170.69.2.81.bl.test") != ["127.0.0.5"]:
        time.sleep(0.1)
    assert d.short("170.69.2.81.bl.test") == ["127.0.0.5"]
    assert os.stat(snaps / "bl.snap").st_mtime_ns > first
    assert d.stop() == 0
    # Gone (a tmpfs after a reboot): built again at start.
    os.unlink(snaps / "bl.snap")
    d = dns(extra="snapshot_dir = %s\n" % snaps)
    assert d.short("170.69.2.81.bl.test") == ["127.0.0.5"]
    assert os.path.exists(snaps / "bl.snap")
    assert d.stop() == 0
    assert not os.path.exists(os.path.join(tl.data, "snapshot", "bl.snap"))


def test_a_damaged_snapshot_is_refused(dns, tl, tmp_path):
    d = dns()
    assert d.stop() == 0
    snap = os.path.join(tl.data, "snapshot", "bl.snap")
    with open(snap, "r+b") as f:
        f.seek(100)
        f.write(b"\xff\xff\xff\xff")
    # Started on the damaged file: refused, said so, then built anew.
    d = dns()
    end = time.time() + 20
    while time.time() < end and d.short("160.69.2.81.bl.test") != ["127.0.0.2", "127.0.0.4"]:
        time.sleep(0.1)
    assert "refused: body checksum" in d.text()
    assert d.short("160.69.2.81.bl.test") == ["127.0.0.2", "127.0.0.4"]
    assert d.stop() == 0


def test_serve_runs_trap_and_dns_together(tl, tmp_path):
    import smtplib
    cfg = tmp_path / "serve.conf"
    cfg.write_text("[trap]\nlisten = 127.0.0.1:0\ndomains = trap.example.org\n"
                   "tls = no\n[dns]\nlisten = %s\nzone = bl.test\n" % loopback())
    log = logfile(tmp_path / "serve.log")
    p = subprocess.Popen([BIN, "serve", "--data", tl.data, "--config", str(cfg)],
                         env=tl.env, stderr=log)
    try:
        ports = {}
        end = time.time() + 30
        while len(ports) < 2 and time.time() < end:
            log.seek(0)
            text = log.read()
            for what, port in re.findall(r"(trap|dns): listening on port (\d+)", text):
                ports[what] = int(port)
            time.sleep(0.05)
        assert len(ports) == 2, text
        s = smtplib.SMTP("127.0.0.1", ports["trap"], timeout=20)
        s.ehlo("x")
        s.docmd("XCLIENT", "ADDR=81.2.69.180")
        s.ehlo("x")
        s.sendmail("a@b.example", ["t@trap.example.org"], "Subject: x\r\n\r\nhi\r\n")
        s.quit()
        p.send_signal(signal.SIGHUP)     # compile a snapshot now
        d = Dns.__new__(Dns)
        d.port = ports["dns"]
        end = time.time() + 20
        while time.time() < end and d.short("180.69.2.81.bl.test") != ["127.0.0.2"]:
            time.sleep(0.2)
        assert d.short("180.69.2.81.bl.test") == ["127.0.0.2"]
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=30) == 0


DATASET = """:127.0.0.2:Listed by the operator, see http://example.org/$
192.0.2.0/24
!192.0.2.5
198.51.100.7 :127.0.0.4:Password guessing from $
10.1.0.0/16
"""


def test_rbldnsd_syntax_zone_answers_as_rbldnsd(tl, tmp_path):
    if not shutil.which("rbldnsd"):
        pytest.skip("rbldnsd missing")
    tl.ingest(EVENTS)
    data = tmp_path / "extra.ip4set"
    data.write_text(DATASET)
    os.chmod(tmp_path, 0o755)
    cfg = tmp_path / "dns.conf"
    cfg.write_text("[dns]\nzone = bl.test\ndataset = extra.test:ip4set:%s\n" % data)
    log = logfile(tmp_path / "dns.log")
    p = subprocess.Popen([BIN, "dns", "--data", tl.data, "--config", str(cfg),
                          "--listen", loopback()], env=tl.env, stderr=log)
    rport = None
    r = None
    try:
        d = Dns.__new__(Dns)
        end = time.time() + 20
        d.port = None
        while not d.port and time.time() < end:
            log.seek(0)
            m = re.search(r"listening on port (\d+)", log.read())
            d.port = m and int(m.group(1))
            time.sleep(0.05)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        rport = s.getsockname()[1]
        s.close()
        r = subprocess.Popen(["rbldnsd", "-n", "-f", "-q", "-b", "127.0.0.1/%d" % rport,
                              "-w", str(tmp_path), "extra.test:ip4set:extra.ip4set"],
                             stderr=subprocess.DEVNULL)
        rb = Dns.__new__(Dns)
        rb.port = rport
        end = time.time() + 10
        while time.time() < end and not rb.short("1.2.0.192.extra.test"):
            time.sleep(0.1)
        for ip in ("192.0.2.1", "192.0.2.5", "198.51.100.7", "10.1.2.3",
                   "10.2.0.1", "203.0.113.9"):
            name = ".".join(reversed(ip.split("."))) + ".extra.test"
            for qtype in ("A", "TXT"):
                assert d.short(name, qtype) == rb.short(name, qtype), (ip, qtype)
        # And the bl zone beside it as before.
        assert d.short("160.69.2.81.bl.test") == ["127.0.0.2", "127.0.0.4"]
    finally:
        if r:
            r.terminate()
            r.wait()
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=20) == 0


def wait_for(what, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        if what():
            return True
        time.sleep(0.2)
    return what()


@pytest.mark.parametrize("command", ["dns", "serve"])
def test_dataset_files_are_loaded_again_when_they_change(tl, tmp_path, command):
    """An operator replacing rbldnsd edits the files and expects the
    server to follow, as rbldnsd does, without a restart; a file that
    cannot be read leaves the data in use."""
    tl.ingest(EVENTS)
    data = tmp_path / "extra.ip4set"
    data.write_text(":127.0.0.2:first\n192.0.2.1\n")
    cfg = tmp_path / "dns.conf"
    cfg.write_text("[trap]\nlisten =\n[dns]\nlisten = %s\nzone = bl.test\n"
                   "dataset = extra.test:ip4set:%s\n" % (loopback(), data))
    log = logfile(tmp_path / "dns.log")
    p = subprocess.Popen([BIN, command, "--data", tl.data, "--config", str(cfg)],
                         env=tl.env, stderr=log)

    def text():
        log.seek(0)
        return log.read()
    try:
        d = Dns.__new__(Dns)
        d.port = None
        assert wait_for(lambda: re.search(r"listening on port (\d+)", text())), text()
        d.port = int(re.search(r"listening on port (\d+)", text()).group(1))
        assert wait_for(lambda: d.short("1.2.0.192.extra.test") == ["127.0.0.2"])
        assert d.status("2.2.0.192.extra.test") == "NXDOMAIN"
        # Replaced by rename, as careful tools write files.
        new = tmp_path / "extra.new"
        new.write_text(":127.0.0.3:second\n192.0.2.2\n")
        os.rename(new, data)
        assert wait_for(lambda: d.short("2.2.0.192.extra.test") == ["127.0.0.3"]), text()
        assert d.status("1.2.0.192.extra.test") == "NXDOMAIN"
        # Gone: still answering from what was loaded, and saying so.
        os.unlink(data)
        assert wait_for(lambda: "still answering from the ones in use" in text()), text()
        assert d.short("2.2.0.192.extra.test") == ["127.0.0.3"]
        # Back, written in place; SIGHUP loads it at once.
        data.write_text(":127.0.0.4:third\n192.0.2.4\n")
        p.send_signal(signal.SIGHUP)
        assert wait_for(lambda: d.short("4.2.0.192.extra.test") == ["127.0.0.4"]), text()
        # The block list zone is served beside it throughout.
        assert d.short("2.0.0.127.bl.test") == ["127.0.0.2"]
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=30) == 0
