"""The SMTP trap with real clients: swaks, smtplib, smtp-source, raw sockets.

Each test starts `trapline trap` on a free loopback port (it binds port 0
and says which port in its log) and checks what landed in the store. Tests
send "from" many addresses over loopback with XCLIENT, which the trap
takes from trusted_proxies (loopback by default).
"""
import base64
import json
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import threading
import time

import pytest

from conftest import BIN, Trapline, logfile

TRAP_DOMAIN = "trap.example.org"


class Trap:
    def __init__(self, tl, tmp_path, extra="", **keys):
        self.tl = tl
        self.cfg = tmp_path / "trap.conf"
        trap = {"domains": TRAP_DOMAIN, "hostname": "mx.trap.test",
                "workers": "2"}
        trap.update({k: str(v) for k, v in keys.items() if not k.startswith("dict_")})
        body = "[trap]\n" + "".join("%s = %s\n" % kv for kv in trap.items())
        body += "[dictionary]\nthreshold = %s\n" % keys.get("dict_threshold", 3)
        self.cfg.write_text(body + extra)
        self.err = logfile(tmp_path / "trap.log")
        self.p = subprocess.Popen([BIN, "trap", "--data", tl.data, "--config",
                                   str(self.cfg), "--listen", "127.0.0.1:0"],
                                  env=tl.env, stderr=self.err)
        self.port = self._port()

    def _port(self):
        end = time.time() + 20
        while time.time() < end:
            self.err.seek(0)
            m = re.search(r"listening on port (\d+)", self.err.read())
            if m:
                return int(m.group(1))
            if self.p.poll() is not None:
                break
            time.sleep(0.05)
        self.err.seek(0)
        raise AssertionError("trap did not start: " + self.err.read())

    def log(self):
        self.err.seek(0)
        return self.err.read()

    def stop(self, sig=signal.SIGTERM):
        if self.p.poll() is None:
            self.p.send_signal(sig)
        rc = self.p.wait(timeout=30)
        return rc

    def smtp(self, client=None, helo="bot.example"):
        s = smtplib.SMTP("127.0.0.1", self.port, timeout=20)
        s.ehlo(helo)
        if client:
            code, msg = s.docmd("XCLIENT", "ADDR=%s" % client)
            assert code == 220, (code, msg)
            s.ehlo(helo)
        return s


@pytest.fixture
def trap(tl, tmp_path):
    traps = []

    def start(extra="", **keys):
        t = Trap(tl, tmp_path, extra, **keys)
        traps.append(t)
        return t
    yield start
    for t in traps:
        if t.p.poll() is None:
            t.p.kill()
            t.p.wait()


def events(tl, ip, timeout=15):
    """The events of @ip once they show (the trap applies in the background)."""
    end = time.time() + timeout
    got = None
    while time.time() < end:
        p = tl.run("show", "--json", ip)
        if p.returncode == 0:
            got = json.loads(p.stdout)
            if got.get("seen", True) and sum(got["events"].values()):
                return got
        time.sleep(0.1)
    return got


def wait_total(tl, ip, kind, want, timeout=20):
    end = time.time() + timeout
    n = None
    while time.time() < end:
        got = events(tl, ip, timeout=1)
        n = got["events"][kind] if got else None
        if n == want:
            return n
        time.sleep(0.1)
    return n


MSG = ("From: a@sender.example\r\nTo: t@%s\r\nSubject: hello\r\n\r\n"
       "just some words\r\n" % TRAP_DOMAIN)


def test_smtplib_message_is_recorded_with_its_envelope(tl, trap):
    t = trap()
    s = t.smtp("81.2.69.160", helo="spammer.example")
    s.sendmail("x@Sender.Example", ["a@%s" % TRAP_DOMAIN, "b@%s" % TRAP_DOMAIN],
               MSG.replace("hello", "cheap viagra"))
    s.quit()
    got = events(tl, "81.2.69.160")
    assert got["events"]["spam"] == 1
    assert got["tags"].get("pharma") == 1, got
    t.stop()


def test_swaks_plain_tls_auth_and_pipelining(tl, trap, tmp_path):
    if not shutil.which("swaks"):
        pytest.skip("swaks is not installed")
    t = trap()

    def swaks(*args):
        return subprocess.run(["swaks", "--server", "127.0.0.1", "--port",
                               str(t.port), "--to", "t@" + TRAP_DOMAIN,
                               "--from", "s@sender.example", "--helo",
                               "swaks.example", *args],
                              capture_output=True, timeout=60)

    r = swaks("--xclient-addr", "81.2.69.161")
    assert r.returncode == 0, r.stdout
    r = swaks("--xclient-addr", "81.2.69.162", "--tls")
    assert r.returncode == 0, r.stdout
    assert b"TLS started" in r.stdout
    r = swaks("--xclient-addr", "81.2.69.163", "--pipeline")
    assert r.returncode == 0, r.stdout
    # AUTH always fails, and is recorded as password guessing.
    r = swaks("--xclient-addr", "81.2.69.164", "--auth", "LOGIN",
              "--auth-user", "admin", "--auth-password", "123456")
    assert r.returncode != 0
    assert b"535 5.7.8" in r.stdout
    r = swaks("--xclient-addr", "81.2.69.164", "--tls", "--auth", "PLAIN",
              "--auth-user", "admin", "--auth-password", "hunter2")
    assert b"535 5.7.8" in r.stdout
    for ip in ("81.2.69.161", "81.2.69.162", "81.2.69.163"):
        assert events(tl, ip)["events"]["spam"] == 1, ip
    assert wait_total(tl, "81.2.69.164", "auth", 2) == 2
    t.stop()


def test_dictionary_attack_and_unknown_users(tl, trap, tmp_path):
    addrs = tmp_path / "traps.txt"
    addrs.write_text("alice@closed.example\n")
    t = trap(addresses=str(addrs), domains="%s closed.example" % TRAP_DOMAIN)
    s = t.smtp("81.2.69.165")
    s.mail("a@b.example")
    assert s.rcpt("alice@closed.example")[0] == 250
    for u in ("bob", "carol", "dave", "erin"):
        code, msg = s.rcpt("%s@closed.example" % u)
        assert code == 550, msg
    assert s.rcpt("x@not-ours.example")[0] == 554
    s.quit()
    # threshold 3: bob, carol, dave make one event counting 3, erin one more
    assert wait_total(tl, "81.2.69.165", "dictionary", 4) == 4
    t.stop()


def test_malware_attachment(tl, trap):
    t = trap()
    exe = base64.b64encode(b"MZ" + b"\x90" * 200).decode()
    msg = ("From: a@b.example\r\nSubject: invoice\r\nMIME-Version: 1.0\r\n"
           "Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\n"
           "Content-Type: text/plain\r\n\r\nsee attached\r\n--XX\r\n"
           "Content-Type: application/octet-stream; name=invoice.exe\r\n"
           "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n--XX--\r\n" % exe)
    s = t.smtp("81.2.69.166")
    s.sendmail("a@b.example", ["t@" + TRAP_DOMAIN], msg)
    s.quit()
    assert events(tl, "81.2.69.166")["events"]["malware"] == 1
    t.stop()


def test_smtp_source_load_every_message_durable(tl, trap):
    src = shutil.which("smtp-source") or "/usr/sbin/smtp-source"
    if not os.path.exists(src):
        pytest.skip("smtp-source is not installed")
    t = trap()
    r = subprocess.run([src, "-s", "16", "-m", "400", "-l", "2048", "-f",
                        "a@b.example", "-t", "t@" + TRAP_DOMAIN,
                        "127.0.0.1:%d" % t.port], capture_output=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    # smtp-source connects from 127.0.0.1: recorded (never listed).
    assert wait_total(tl, "127.0.0.1", "spam", 400) == 400
    assert t.stop() == 0


def raw(t):
    s = socket.create_connection(("127.0.0.1", t.port), timeout=10)
    s.recv(1024)
    return s


def normal_client_works(t, ip):
    s = t.smtp(ip)
    s.sendmail("a@b.example", ["t@" + TRAP_DOMAIN], MSG)
    s.quit()


def test_hostile_clients_never_stop_service(tl, trap):
    t = trap(max_errors=5, idle_timeout="2s", max_per_ip=1000,
             max_sessions=1000)
    # Half-open and stalled connections.
    stalled = [socket.create_connection(("127.0.0.1", t.port)) for _ in range(50)]
    # Binary garbage and overlong lines.
    g = raw(t)
    g.sendall(bytes(range(256)) * 40 + b"\r\n" + b"A" * 100000 + b"\r\n")
    # A million RCPTs, pipelined, never reading: the server stops reading
    # it and finally closes it.
    flood = raw(t)
    flood.setblocking(False)
    line = b"RCPT TO:<x@trap.example.org>\r\n"
    sent = 0
    start = time.time()
    try:
        while sent < 1000000 and time.time() - start < 5:
            try:
                sent += flood.send(line * 1000) // len(line)
            except BlockingIOError:
                time.sleep(0.01)
    except (BrokenPipeError, ConnectionResetError):
        pass
    # A client that never reads its replies.
    deaf = raw(t)
    deaf.setblocking(False)
    try:
        for _ in range(2000):
            deaf.send(b"NOOP\r\n" * 100)
    except (BlockingIOError, BrokenPipeError, ConnectionResetError):
        pass
    # Through all of it, a normal client is served.
    normal_client_works(t, "81.2.69.167")
    assert events(tl, "81.2.69.167")["events"]["spam"] == 1
    # The idle ones are closed by the idle timeout.
    time.sleep(3)
    for s in stalled[:5]:
        s.settimeout(5)
        assert s.recv(1024).startswith(b"220")
        data = s.recv(1024)
        assert data == b"" or b"421" in data
    for s in stalled + [g, flood, deaf]:
        s.close()
    normal_client_works(t, "81.2.69.168")
    assert t.p.poll() is None
    assert t.stop() == 0


def test_per_address_limit(tl, trap):
    # Loopback is a trusted proxy by default, and proxies are not counted.
    t = trap(max_per_ip=2, trusted_proxies="192.0.2.1")
    a, b = raw(t), raw(t)
    c = socket.create_connection(("127.0.0.1", t.port), timeout=10)
    assert c.recv(1024).startswith(b"421 4.7.0")
    for s in (a, b, c):
        s.close()
    t.stop()


def test_proxy_protocol_from_a_trusted_proxy(tl, trap):
    t = trap()
    s = socket.create_connection(("127.0.0.1", t.port), timeout=10)
    s.sendall(b"PROXY TCP4 81.2.69.169 127.0.0.1 40000 25\r\n")
    f = s.makefile("rb")
    assert f.readline().startswith(b"220")
    for cmd in (b"EHLO p.example", b"MAIL FROM:<a@b.example>",
                b"RCPT TO:<t@trap.example.org>", b"DATA"):
        s.sendall(cmd + b"\r\n")
        line = f.readline()
        while line[3:4] == b"-":
            line = f.readline()
        assert line[:1] in (b"2", b"3"), line
    s.sendall(b"Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n")
    assert f.readline().startswith(b"250 2.0.0")
    s.close()
    assert events(tl, "81.2.69.169")["events"]["spam"] == 1
    t.stop()


def test_acknowledged_messages_survive_kill_9(tl, trap):
    t = trap()
    s = t.smtp("81.2.69.170")
    for _ in range(20):
        s.sendmail("a@b.example", ["t@" + TRAP_DOMAIN], MSG)
    t.p.kill()
    t.p.wait()
    # The next writer replays the journal: every 250 is there.
    tl.ingest(b"", check=0)
    assert tl.show("81.2.69.170")["events"]["spam"] == 20


def test_full_disk_gets_451_never_250(tl, trap, small_disk):
    tl.data = str(small_disk / "store")
    t = trap(tls="no")
    # Fill the disk, leaving the store no room to grow its journal.
    with open(small_disk / "filler", "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    s = t.smtp("81.2.69.171")
    codes = []
    big = MSG + ("x" * 900 + "\r\n") * 200
    for _ in range(40):
        try:
            s.sendmail("a@b.example", ["t@" + TRAP_DOMAIN], big)
            codes.append(250)
        except smtplib.SMTPDataError as e:
            codes.append(e.smtp_code)
    s.quit()
    assert 451 in codes
    acked = codes.count(250)
    os.unlink(small_disk / "filler")
    t.stop()
    tl.ingest(b"", check=0)
    got = tl.show("81.2.69.171")["events"]["spam"]
    # Everything acknowledged is there (a 451'd message may be too: it
    # was written but not confirmed, and the client will retry it).
    assert got >= acked


def test_retention_and_tarpit(tl, trap, tmp_path):
    tl.ingest(json.dumps({"time": "2026-11-26T10:00:00Z", "ip": "81.2.69.172"}) + "\n")
    keep = tmp_path / "evidence"
    t = trap(retain_dir=str(keep), retain_per_day=2, tarpit_delay=400)
    s = t.smtp("81.2.69.173")
    for _ in range(4):
        s.sendmail("a@b.example", ["t@" + TRAP_DOMAIN], MSG)
    s.quit()
    assert len(os.listdir(keep / "new")) == 2
    # A listed client's replies are held back.
    s = t.smtp()
    start = time.time()
    s.docmd("XCLIENT", "ADDR=81.2.69.172")
    s.noop()
    s.noop()
    assert time.time() - start >= 0.8
    s.quit()
    t.stop()


def test_sighup_reloads_trap_addresses(tl, trap, tmp_path):
    addrs = tmp_path / "traps.txt"
    addrs.write_text("alice@closed.example\n")
    t = trap(addresses=str(addrs))
    s = t.smtp("81.2.69.174")
    s.mail("a@b.example")
    assert s.rcpt("bob@closed.example")[0] == 550
    s.quit()
    addrs.write_text("alice@closed.example\nbob@closed.example\n")
    t.p.send_signal(signal.SIGHUP)
    end = time.time() + 10
    while "reloaded" not in t.log() and time.time() < end:
        time.sleep(0.05)
    s = t.smtp("81.2.69.174")
    s.mail("a@b.example")
    assert s.rcpt("bob@closed.example")[0] == 250
    s.quit()
    assert t.stop() == 0


def test_drops_privileges(tl, trap, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root")
    # The store must be reachable by nobody: pytest's tmp dirs are 0700.
    import tempfile
    base = tempfile.mkdtemp(prefix="trapline-priv-")
    os.chmod(base, 0o755)
    tl.data = os.path.join(base, "store")
    t = trap(user="nobody")
    with open("/proc/%d/status" % t.p.pid) as f:
        uids = [l for l in f if l.startswith("Uid:")][0].split()[1:]
    assert all(u == str(65534) for u in uids), uids
    # And it still records.
    normal_client_works(t, "81.2.69.175")
    assert events(tl, "81.2.69.175")["events"]["spam"] == 1
    assert t.stop() == 0
    shutil.rmtree(base)


def test_ipv6_listener(tl, tmp_path):
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        socket.create_server(("::1", 0), family=socket.AF_INET6).close()
    except OSError:
        pytest.skip("no ::1 here")
    cfg = tmp_path / "v6.conf"
    cfg.write_text("[trap]\ndomains = %s\ntls = no\n" % TRAP_DOMAIN)
    err = logfile(tmp_path / "v6.log")
    p = subprocess.Popen([BIN, "trap", "--data", tl.data, "--config", str(cfg),
                          "--listen", "[::1]:0"], env=tl.env, stderr=err)
    try:
        port = None
        end = time.time() + 20
        while not port and time.time() < end:
            err.seek(0)
            m = re.search(r"listening on port (\d+)", err.read())
            port = m and int(m.group(1))
            time.sleep(0.05)
        s = smtplib.SMTP("::1", port, timeout=20)
        s.sendmail("a@b.example", ["t@" + TRAP_DOMAIN], MSG)
        s.quit()
        assert events(tl, "::1")["events"]["spam"] == 1
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=30) == 0


def clamav_db(tmp_path, payload):
    """A ClamAV database of one custom signature: the MD5 of @payload
    (the .hdb format), so the test needs no downloaded signatures."""
    import hashlib
    db = tmp_path / "test.hdb"
    db.write_text("%s:%d:Trapline.Test.Payload\n" % (hashlib.md5(payload).hexdigest(),
                                                     len(payload)))
    return db


PAYLOAD = b"trapline clamav test payload, harmless\n"


def attach_msg(payload):
    b64 = base64.b64encode(payload).decode()
    return ("From: a@b.example\r\nSubject: your file\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\n"
            "Content-Type: text/plain\r\n\r\nsee attached\r\n--XX\r\n"
            "Content-Type: text/plain; name=notes.txt\r\n"
            "Content-Disposition: attachment; filename=notes.txt\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n--XX--\r\n" % b64)


def test_clamav_signature_marks_malware(tl, trap, tmp_path):
    db = clamav_db(tmp_path, PAYLOAD)
    t = trap(tls="no", extra="[content]\nclamav = %s\n" % db)
    if "built without libclamav" in t.log():
        pytest.skip("built without libclamav")
    s = t.smtp("81.2.69.190")
    s.sendmail("a@b.example", ["t@" + TRAP_DOMAIN], attach_msg(PAYLOAD))
    s.sendmail("a@b.example", ["t@" + TRAP_DOMAIN], attach_msg(b"something else\n"))
    s.quit()
    assert wait_total(tl, "81.2.69.190", "malware", 1) == 1
    # The signature's attachment is malware; the other one plain spam.
    assert tl.show("81.2.69.190")["events"]["spam"] == 1
    assert "1 signatures from" in t.log()
    assert t.stop() == 0
