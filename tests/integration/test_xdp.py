"""trapline dns with [dns] xdp: UDP queries taken off the interface by
AF_XDP must be answered exactly as the UDP sockets answer them, and
nothing else on the interface may notice the program.

Each test runs in a network namespace of its own (unshare -n), on its
loopback interface, so the machine's own loopback never carries the
program. Replies built by the server, not by the kernel, carry no route
of their own, and on loopback the kernel takes them only with
route_localnet and accept_local set: the namespace sets both (a real
interface needs neither).
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import BIN, logfile
from freeport import free_port
from test_dns import EVENTS

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not all(shutil.which(p) for p in
                                 ("dig", "unshare", "nsenter", "ip")),
    reason="needs root, dig, unshare, nsenter and ip (scripts/install-deps)")


# What a mail server, a resolver and an operator ask: (name, type, dig
# options), each over IPv4 and IPv6.
QUERIES = [
    ("160.69.2.81.bl.test", "A", ()),
    ("160.69.2.81.bl.test", "TXT", ()),
    ("161.69.2.81.bl.test", "A", ()),
    ("2.0.0.127.bl.test", "A", ()),
    ("2.0.0.127.bl.test", "TXT", ()),
    ("1.2.3.4.bl.test", "A", ()),
    ("69.2.81.bl.test", "A", ()),
    ("bl.test", "SOA", ()),
    ("bl.test", "NS", ()),
    ("BL.Test", "SOA", ("+noedns",)),
    ("160.69.2.81.hist.bl.test", "TXT", ()),
    ("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.f.7.c.0.2.0.a.2.bl.test",
     "A", ()),
    ("example.org", "A", ()),
    ("160.69.2.81.bl.test", "A", ("+bufsize=4096",)),
    ("160.69.2.81.bl.test", "A", ("+noedns",)),
    ("version.bind", "TXT", ("-c", "CH")),
]


class Netns:
    """A network namespace held open by a sleeping process; commands run
    in it through nsenter."""

    def __init__(self):
        self.holder = subprocess.Popen(["unshare", "-n", "sleep", "600"])
        path = "/proc/%d/ns/net" % self.holder.pid
        self.pre = ["nsenter", "--net=" + path]
        # Until unshare has made it, the holder is in ours: wait, or the
        # set-up below would change the machine's own loopback.
        end = time.time() + 10
        while os.readlink(path) == os.readlink("/proc/self/ns/net"):
            assert self.holder.poll() is None and time.time() < end, \
                "no namespace"
            time.sleep(0.01)
        assert self.run("ip", "link", "set", "lo", "up").returncode == 0
        # ::1 comes a moment after the link.
        end = time.time() + 10
        while self.run(sys.executable, "-c", "import socket; socket.socket("
                       "socket.AF_INET6).bind(('::1', 0))").returncode:
            assert time.time() < end, "no ::1 in the namespace"
            time.sleep(0.05)
        for conf in ("all", "lo"):
            for key in ("route_localnet", "accept_local"):
                self.run("sysctl", "-qw", "net.ipv4.conf.%s.%s=1" % (conf, key))

    def run(self, *cmd, **kw):
        kw.setdefault("capture_output", True)
        kw.setdefault("timeout", 60)
        return subprocess.run([*self.pre, *cmd], **kw)

    def popen(self, *cmd, **kw):
        return subprocess.Popen([*self.pre, *cmd], **kw)

    def udp_in(self, v6):
        """Datagrams the namespace's UDP sockets took in (IPv4 or IPv6)."""
        if v6:
            text = self.run("cat", "/proc/net/snmp6").stdout.decode()
            return int(re.search(r"Udp6InDatagrams\s+(\d+)", text).group(1))
        text = self.run("cat", "/proc/net/snmp").stdout.decode().splitlines()
        rows = [l.split() for l in text if l.startswith("Udp:")]
        return int(rows[1][rows[0].index("InDatagrams")])

    def close(self):
        self.holder.kill()
        self.holder.wait()


@pytest.fixture
def ns():
    n = Netns()
    probe = n.run(sys.executable, "-c",
                  "import socket; socket.socket(44, socket.SOCK_RAW)")
    if probe.returncode:
        n.close()
        pytest.skip("no AF_XDP sockets in this kernel")
    yield n
    n.close()


class Server:
    def __init__(self, ns, tl, tmp_path, name, xdp,
                 hosts=("127.0.0.1", "[::1]")):
        self.ns = ns
        self.port = free_port()
        cfg = tmp_path / (name + ".conf")
        cfg.write_text("[dns]\nzone = bl.test\nworkers = 1\n%s" %
                       ("xdp = lo\n" if xdp else ""))
        self.log = logfile(tmp_path / (name + ".log"))
        self.p = ns.popen(BIN, "dns", "--data", tl.data, "--config", str(cfg),
                          "--listen", " ".join("%s:%d" % (h, self.port)
                                               for h in hosts),
                          env=tl.env, stderr=self.log)

    def text(self):
        self.log.seek(0)
        return self.log.read()

    def wait_ready(self):
        end = time.time() + 30
        while "listening on port" not in self.text():
            assert self.p.poll() is None and time.time() < end, self.text()
            time.sleep(0.05)
        return self

    def dig(self, name, qtype, *opts, at="127.0.0.1", tcp=False):
        p = self.ns.run("dig", "@" + at, "-p", str(self.port), "+time=2",
                        "+tries=1", *(["+tcp"] if tcp else []), *opts, name,
                        qtype)
        return p.stdout.decode()

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        return self.p.wait(timeout=20)


def answer(text):
    """dig's output without what differs from one query to the next."""
    keep = []
    for l in text.splitlines():
        if l.startswith((";; Query time", ";; SERVER", ";; WHEN", ";; MSG SIZE",
                         "; <<>>", ";; global options")):
            continue
        keep.append(re.sub(r"id: \d+", "id: N", l))
    return "\n".join(keep)


def answers(text):
    return text.count(";; ->>HEADER<<-")


def start_pair(ns, tl, tmp_path):
    tl.ingest(EVENTS)
    x = Server(ns, tl, tmp_path, "xdp", True).wait_ready()
    s = Server(ns, tl, tmp_path, "sock", False).wait_ready()
    return x, s


def test_xdp_answers_exactly_as_the_sockets(ns, tl, tmp_path):
    """Every query form, over IPv4 and IPv6: the XDP server's answer is
    the socket server's, byte for byte as dig prints it; and the queries
    never went through the kernel's UDP stack (its datagram counters
    count only the answers dig took in)."""
    x, s = start_pair(ns, tl, tmp_path)
    assert "taken by AF_XDP, 1 queue" in x.text()
    seen = 0
    for at in ("127.0.0.1", "::1"):
        for name, qtype, opts in QUERIES:
            before = ns.udp_in(at == "::1")
            a = x.dig(name, qtype, *opts, at=at)
            # A datagram into a UDP socket for each answer dig took in
            # (it asks again after REFUSED). Without XDP the server's
            # socket takes each query first: two.
            assert ns.udp_in(at == "::1") - before == answers(a), (at, name, a)
            before = ns.udp_in(at == "::1")
            b = s.dig(name, qtype, *opts, at=at)
            assert ns.udp_in(at == "::1") - before == 2 * answers(b), (at, name)
            assert "status:" in a, (at, name, qtype, a, x.text())
            assert answer(a) == answer(b), (at, name, qtype)
            seen += 1
    assert seen == 2 * len(QUERIES)
    assert x.stop() == 0 and s.stop() == 0


def test_xdp_leaves_the_rest_to_the_stack(ns, tl, tmp_path):
    """TCP to the XDP server, UDP to another server on the same
    interface, and UDP to the XDP server's port at an address it does not
    listen on all go through the stack as before."""
    x, s = start_pair(ns, tl, tmp_path)
    assert "127.0.0.2" in x.dig("160.69.2.81.bl.test", "A", tcp=True)
    assert "127.0.0.2" in s.dig("160.69.2.81.bl.test", "A")
    # 127.0.0.2 is the loopback's too, but not a listen address: the
    # program leaves it to the stack, where no socket has that port.
    out = x.dig("160.69.2.81.bl.test", "A", at="127.0.0.2")
    assert "status:" not in out, out
    assert x.stop() == 0 and s.stop() == 0


def test_xdp_wildcard_is_the_interface_s_addresses(ns, tl, tmp_path):
    """Listening on 0.0.0.0 and [::], the program takes queries for the
    interface's own addresses (lo's 127.0.0.1 and ::1) and nothing else:
    127.0.0.2, routed to lo but not an address of it, reaches the
    wildcard socket through the stack."""
    tl.ingest(EVENTS)
    w = Server(ns, tl, tmp_path, "w", True, hosts=("0.0.0.0", "[::]"))
    w.wait_ready()
    before = ns.udp_in(False)
    a = w.dig("160.69.2.81.bl.test", "A")
    assert ns.udp_in(False) - before == answers(a) == 1, a
    before = ns.udp_in(True)
    a6 = w.dig("160.69.2.81.bl.test", "A", at="::1")
    assert ns.udp_in(True) - before == answers(a6) == 1, a6
    # 127.0.0.2: the query goes into the wildcard socket, through the
    # stack. (dig takes no answer to it: a UDP socket bound to 0.0.0.0
    # answers from 127.0.0.1 here, an older matter than XDP.)
    before = ns.udp_in(False)
    w.dig("160.69.2.81.bl.test", "A", at="127.0.0.2")
    assert ns.udp_in(False) - before >= 1
    assert w.p.poll() is None
    assert "127.0.0.2" in w.dig("160.69.2.81.bl.test", "A")
    assert w.stop() == 0


def test_xdp_hostile_datagrams_never_stop_it(ns, tl, tmp_path):
    """Garbage of every length to the XDP port, over IPv4 and IPv6: the
    server answers a real query after it, and answers no garbage with
    anything but a DNS error."""
    x, s = start_pair(ns, tl, tmp_path)
    script = r"""
import os, random, socket, sys
port = int(sys.argv[1])
rnd = random.Random(7)
for fam, at in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    u = socket.socket(fam, socket.SOCK_DGRAM)
    for n in list(range(0, 40)) + [rnd.randrange(40, 1700) for _ in range(300)]:
        u.sendto(bytes(rnd.randrange(256) for _ in range(n)), (at, port))
    u.settimeout(0.5)
    got = 0
    try:
        while True:
            m = u.recv(4096)
            assert len(m) >= 12 and m[2] & 0x80, m
            got += 1
    except socket.timeout:
        pass
    print(got)
"""
    p = ns.run(sys.executable, "-c", script, str(x.port))
    assert p.returncode == 0, p.stderr.decode()
    assert x.p.poll() is None, x.text()
    assert "127.0.0.2" in x.dig("160.69.2.81.bl.test", "A")
    assert "127.0.0.2" in x.dig("160.69.2.81.bl.test", "A", at="::1")
    assert x.stop() == 0 and s.stop() == 0


def test_xdp_program_goes_with_the_process(ns, tl, tmp_path):
    """The program is held by a BPF link: killed with SIGKILL, the server
    leaves no program on the interface (which would swallow queries for
    a socket nobody reads), and the next one attaches. A second server
    asking for the same interface meanwhile is refused, clearly."""
    tl.ingest(EVENTS)
    a = Server(ns, tl, tmp_path, "a", True).wait_ready()
    assert "xdp" in ns.run("ip", "link", "show", "lo").stdout.decode()
    b = Server(ns, tl, tmp_path, "b", True)
    assert b.p.wait(timeout=30) != 0
    assert "has an XDP program" in b.text(), b.text()
    a.p.kill()
    a.p.wait()
    assert "xdp" not in ns.run("ip", "link", "show", "lo").stdout.decode()
    c = Server(ns, tl, tmp_path, "c", True).wait_ready()
    assert "127.0.0.2" in c.dig("160.69.2.81.bl.test", "A")
    assert c.stop() == 0
    assert "xdp" not in ns.run("ip", "link", "show", "lo").stdout.decode()


def test_xdp_on_a_missing_interface_is_refused(tl, tmp_path):
    """A name that is no interface: a clear error, and no server."""
    tl.ingest(EVENTS)
    cfg = tmp_path / "dns.conf"
    cfg.write_text("[dns]\nzone = bl.test\nxdp = nosuch0\n")
    p = subprocess.run([BIN, "dns", "--data", tl.data, "--config", str(cfg),
                        "--listen", "127.0.0.1:%d" % free_port()],
                       env=tl.env, capture_output=True, timeout=60)
    assert p.returncode != 0
    assert "xdp: no interface 'nosuch0'" in p.stderr.decode()
