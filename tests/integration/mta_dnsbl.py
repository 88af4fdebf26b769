"""trapline dns as the block list of real mail software, for
test_mta_dnsbl.py: a local resolver (unbound) that stubs the zone to
trapline, SpamAssassin asking that resolver, and Postfix's postscreen
asking it through the system resolver.

postscreen's dnsblog asks the resolvers of /etc/resolv.conf, on port 53:
that part runs in namespaces of its own (`unshare --mount --net --pid`),
where loopback is the only network, /etc/resolv.conf is bind-mounted to say
"nameserver 127.0.0.1", unbound listens on 127.0.0.1:53, and every address
of 127.0.0.0/8 is a local address a client can connect from. This file is
also the program run in there (`python3 mta_dnsbl.py postscreen ARGS`): it
starts everything, drives the clients and prints what it saw as JSON; the
test judges. When it ends, however it ends, the kernel kills every process
of the PID namespace and drops the mount and the network namespace.

Nothing reaches beyond loopback: unbound refuses every name outside the
block list zone (no root hints are ever used), sends only from 127.0.0.1,
and the namespace has no other interface.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from conftest import BIN, Trapline  # noqa: E402
from freeport import free_port  # noqa: E402
from postfix_server import (HOSTNAME, TRAP_DOMAIN, PostfixServer,  # noqa: E402
                            postfix_missing, wait_for)

ZONE = "bl.test"
UNBOUND = shutil.which("unbound") or "/usr/sbin/unbound"

# trapline's config: the zone, and a never-list without 127.0.0.0/8, so
# that a loopback client (postscreen's test) can be listed from the store.
TRAPLINE_CONF = """\
[dns]
zone = {zone}
workers = 2
[policy]
never_list = 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16
"""


def rev(ip):
    """The name a DNSBL client asks for @ip (IPv4) in @ZONE."""
    return ".".join(reversed(ip.split("."))) + "." + ZONE


def dig(server, port, name, qtype="A", *opts, wait=5, tries=2):
    """dig's full answer (text) from @server:@port; @tries of @wait seconds."""
    p = subprocess.run(["dig", "@" + server, "-p", str(port), "+time=%d" % wait,
                        "+tries=%d" % tries, *opts, name, qtype],
                       capture_output=True, timeout=wait * tries + 60)
    return p.stdout.decode(errors="replace")


def status(text):
    m = re.search(r"status: (\w+)", text)
    return m and m.group(1)


def answers(text, qtype="A"):
    """The data of the @qtype records in the answer section of dig's text."""
    sect = text.split("ANSWER SECTION:\n", 1)
    if len(sect) < 2:
        return []
    out = []
    for ln in sect[1].split("\n\n", 1)[0].splitlines():
        col = ln.split(None, 4)
        if len(col) == 5 and col[3] == qtype:
            out.append(col[4])
    return sorted(out)


def write_trapline_conf(path):
    with open(path, "w") as f:
        f.write(TRAPLINE_CONF.format(zone=ZONE))
    return str(path)


class TraplineDns:
    """`trapline dns` on 127.0.0.1:@port (default: a free one; the port
    is read back from its log)."""

    def __init__(self, tl, config, log_path, port=None):
        self.tl = tl
        self.config = config
        self.log_path = str(log_path)
        self.log = open(self.log_path, "a+")
        self.p = subprocess.Popen(
            [BIN, "dns", "--data", tl.data, "--config", config,
             "--listen", "127.0.0.1:%d" % (port or free_port())],
            env=tl.env, stderr=self.log)

        def port_in_log():
            if self.p.poll() is not None:
                raise RuntimeError("trapline dns exited: " + self.text())
            m = re.findall(r"listening on port (\d+)", self.text())
            return m and int(m[-1])
        try:
            self.port = wait_for(port_in_log, 60, "trapline dns to listen")
        except BaseException:
            self.kill()
            raise

    def text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self):
        """SIGTERM and wait; its exit status."""
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        try:
            return self.p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            raise

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()

    def stats(self):
        """{zone: {total, listed, nxdomain, errors, refused}} as the server
        last wrote them (at exit, so stop() first)."""
        out = self.tl.run("dns", "--stats", check=0).stdout.decode()
        rows = [ln.split() for ln in out.splitlines()]
        head = rows[0][1:]
        return {r[0]: dict(zip(head, map(int, r[1:]))) for r in rows[1:] if r}


UNBOUND_CONF = """\
# A local resolver whose only zone is trapline's block list.
server:
    interface: 127.0.0.1
    port: {port}
    outgoing-interface: 127.0.0.1
    do-ip6: no
    access-control: 127.0.0.0/8 allow
    num-threads: 1
    username: ""
    chroot: ""
    directory: "{dir}"
    pidfile: ""
    use-syslog: no
    logfile: ""
    verbosity: 1
    # trapline on loopback is a server unbound may ask.
    do-not-query-localhost: no
    # RFC 9156 (the default, and here without falling back to full names:
    # an empty non-terminal answered NXDOMAIN would fail the lookup).
    qname-minimisation: yes
    qname-minimisation-strict: yes
    # Nothing but the block list: every other name is refused here, so no
    # root hints are used and nothing is asked of the internet.
    local-zone: "." refuse
    local-zone: "test." nodefault
    local-zone: "{zone}." transparent
    # The zone is not signed: no DNSSEC validation for it.
    domain-insecure: "{zone}."
stub-zone:
    name: "{zone}."
    stub-addr: 127.0.0.1@{stub_port}
remote-control:
    control-enable: no
"""


class Unbound:
    """unbound in the foreground on 127.0.0.1:@port, stubbing @ZONE to
    trapline on 127.0.0.1:@stub_port."""

    def __init__(self, workdir, stub_port, port=None):
        self.dir = str(workdir)
        os.makedirs(self.dir, exist_ok=True)
        self.port = port or free_port()
        self.conf = os.path.join(self.dir, "unbound.conf")
        self.log_path = os.path.join(self.dir, "unbound.log")
        with open(self.conf, "w") as f:
            f.write(UNBOUND_CONF.format(port=self.port, dir=self.dir,
                                        zone=ZONE, stub_port=stub_port))
        self.p = None

    def start(self):
        chk = subprocess.run(["unbound-checkconf", self.conf],
                             capture_output=True, timeout=60)
        assert chk.returncode == 0, chk.stdout + chk.stderr
        log = open(self.log_path, "a")
        self.p = subprocess.Popen([UNBOUND, "-d", "-c", self.conf],
                                  stdout=log, stderr=log)
        log.close()

        def answering():
            if self.p.poll() is not None:
                raise RuntimeError("unbound exited:\n" + self.text())
            # A name outside the zone: refused by unbound itself.
            return status(dig("127.0.0.1", self.port, "example.com")) == "REFUSED"
        wait_for(answering, 60, "unbound to answer")
        return self

    def text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def stop(self):
        if self.p and self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()

    def restart(self):
        """A new process, same port: an empty cache."""
        self.stop()
        return self.start()

    def dig(self, name, qtype="A", *opts, **kw):
        return dig("127.0.0.1", self.port, name, qtype, *opts, **kw)


# -- SpamAssassin ------------------------------------------------------

SA_PRE = """\
loadplugin Mail::SpamAssassin::Plugin::Check
loadplugin Mail::SpamAssassin::Plugin::DNSEval
"""

# Only our rules (no stock rule set): the DNS block list and its codes.
SA_CF = """\
dns_available yes
dns_server 127.0.0.1:{port}
skip_rbl_checks 0
rbl_timeout {timeout}
# Our MX: the hop it received is the first untrusted one, the relay looked up.
trusted_networks {mx}
internal_networks {mx}
use_bayes 0
util_rb_tld net org test
required_score 5.0
report_safe 0
clear_headers
add_header all Status _YESNO_, score=_SCORE_ required=_REQD_ tests=_TESTS_
clear_report_template
report _SUMMARY_

header   RCVD_IN_TRAPLINE      eval:check_rbl('trapline', '{zone}.')
describe RCVD_IN_TRAPLINE      Relay is listed in {zone} (trapline)
tflags   RCVD_IN_TRAPLINE      net
score    RCVD_IN_TRAPLINE      5.0

header   RCVD_IN_TRAPLINE_SPAM eval:check_rbl_sub('trapline', '127.0.0.2')
describe RCVD_IN_TRAPLINE_SPAM Relay sent mail to trapline's spam traps
tflags   RCVD_IN_TRAPLINE_SPAM net
score    RCVD_IN_TRAPLINE_SPAM 1.0

header   RCVD_IN_TRAPLINE_AUTH eval:check_rbl_sub('trapline', '127.0.0.4')
describe RCVD_IN_TRAPLINE_AUTH Relay guessed passwords at trapline's traps
tflags   RCVD_IN_TRAPLINE_AUTH net
score    RCVD_IN_TRAPLINE_AUTH 1.0
"""

# The MX (10.0.0.25, mx.trapline.test) received it from @client and passed
# it on to the mail store.
MX_ADDR = "10.0.0.25"
MESSAGE = """\
Received: from {host} ({host} [{mx}])
\tby store.trapline.test (Postfix) with ESMTP id 4XyZ1A2B3D
\tfor <trap@{trap}>; Fri, 27 Nov 2026 08:00:01 +0000 (UTC)
Received: from client.example.net (client.example.net [{client}])
\tby {host} (Postfix) with ESMTP id 4XyZ1A2B3C
\tfor <trap@{trap}>; Fri, 27 Nov 2026 08:00:00 +0000 (UTC)
From: sender@example.net
To: trap@{trap}
Subject: cheap watches
Date: Fri, 27 Nov 2026 07:59:59 +0000
Message-ID: <{client}.1@example.net>

Hello.
"""


class SpamAssassin:
    """`spamassassin` with a config of its own (nothing from /etc or the
    stock rules) asking the resolver at 127.0.0.1:@dns_port, waiting at
    most @timeout seconds for the block list's answers."""

    def __init__(self, workdir, dns_port, timeout=30):
        self.dir = str(workdir)
        self.cf = os.path.join(self.dir, "cf")
        self.site = os.path.join(self.dir, "site")
        self.home = os.path.join(self.dir, "home")
        for d in (self.cf, self.site, self.home):
            os.makedirs(d, exist_ok=True)
        self.prefs = os.path.join(self.dir, "user_prefs")
        for name, text in ((os.path.join(self.cf, "trapline.pre"), SA_PRE),
                           (os.path.join(self.cf, "trapline.cf"),
                            SA_CF.format(port=dns_port, zone=ZONE,
                                         timeout=timeout, mx=MX_ADDR)),
                           (self.prefs, "")):
            with open(name, "w") as f:
                f.write(text)

    def check(self, client):
        """Run `spamassassin -t` on a message that @client sent to our MX
        (which passed it on); returns (names of the rules that hit, the whole output)."""
        msg = MESSAGE.format(client=client, host=HOSTNAME, trap=TRAP_DOMAIN,
                             mx=MX_ADDR)
        env = dict(os.environ, HOME=self.home, LANG="C")
        p = subprocess.run(
            ["spamassassin", "-t", "--configpath", self.cf,
             "--siteconfigpath", self.site, "--prefspath", self.prefs],
            input=msg.encode(), capture_output=True, env=env, timeout=180)
        out = p.stdout.decode(errors="replace")
        assert p.returncode == 0, (p.returncode, out, p.stderr.decode(errors="replace"))
        head = out.split("\n\n", 1)[0].replace("\n\t", " ").replace("\n ", " ")
        m = re.search(r"^X-Spam-Status: .*tests=(.*)$", head, re.M)
        assert m, out
        tests = (t.strip() for t in m.group(1).split(" autolearn=")[0].split(","))
        return sorted(t for t in tests if t not in ("", "none")), out


# -- postscreen, in namespaces of its own --------------------------------

POSTSCREEN_DNSBL = {
    "postscreen_dnsbl_sites": ZONE + "*3",
    "postscreen_dnsbl_threshold": "2",
    "postscreen_dnsbl_action": "enforce",
    # Results must come within the greeting wait: generous, for slow
    # (sanitised) builds; every first connection waits this long.
    "postscreen_greet_wait": "5s",
    "postscreen_greet_action": "ignore",
    # No deep protocol tests: they would make a clean client come back.
    "postscreen_pipelining_enable": "no",
    "postscreen_non_smtp_command_enable": "no",
    "postscreen_bare_newline_enable": "no",
}


def netns_missing():
    """Why the namespace test cannot run here, or None."""
    why = postfix_missing()
    if why:
        return why
    for prog in ("unshare", "ip", "mount", "swaks", "dig", UNBOUND):
        if not shutil.which(prog):
            return f"{prog} is not installed (scripts/install-deps)"
    p = subprocess.run(["unshare", "--mount", "--net", "--pid", "--fork",
                        "--kill-child", "--mount-proc", "true"],
                       capture_output=True, timeout=60)
    if p.returncode != 0:
        return "cannot make namespaces here: " + p.stderr.decode(errors="replace").strip()
    return None


def run_in_namespaces(what, args, timeout=600):
    """Run this file as `what` in new mount, network and PID namespaces;
    returns its JSON result. Killing unshare (on a timeout too) kills the
    namespace's first process, and with it every other one."""
    cmd = ["unshare", "--mount", "--net", "--pid", "--fork", "--kill-child",
           "--mount-proc", "--propagation", "private",
           sys.executable, os.path.abspath(__file__), what, json.dumps(args)]
    p = subprocess.run(cmd, capture_output=True, timeout=timeout)
    err = p.stderr.decode(errors="replace")
    assert p.returncode == 0, f"{what} in namespaces: exit {p.returncode}\n{err}"
    return json.loads(p.stdout.decode().strip().splitlines()[-1])


def swaks(client, port, timeout=120):
    """One SMTP session from @client (a local address) to 127.0.0.1:@port."""
    p = subprocess.run(
        ["swaks", "--server", "127.0.0.1", "--port", str(port),
         "--local-interface", client, "--helo", "client.example.net",
         "--from", "sender@example.net", "--to", "trap@" + TRAP_DOMAIN,
         "--timeout", "60"], capture_output=True, timeout=timeout)
    return {"rc": p.returncode, "out": p.stdout.decode(errors="replace")}


# What the program run in the namespaces started, for its logs on failure.
STARTED = {}


def postscreen_lab(a):
    """Inside the namespaces: loopback up, resolv.conf pointed at unbound on
    127.0.0.1:53, trapline dns, Postfix with postscreen on 127.0.0.1:25;
    SMTP sessions from each of a["clients"]; then trapline stopped, unbound
    restarted (an empty cache) and a["again"] tried once more."""
    res = {}
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    work = a["work"]
    resolv = os.path.join(work, "resolv.conf")
    with open(resolv, "w") as f:
        f.write("nameserver 127.0.0.1\noptions timeout:5 attempts:2\n")
    subprocess.run(["mount", "--bind", resolv, "/etc/resolv.conf"], check=True)

    tl = Trapline(a["data"])
    tl.env = a["env"]
    dns = STARTED["trapline dns"] = TraplineDns(tl, a["config"],
                                                os.path.join(work, "dns.log"))
    ub = STARTED["unbound"] = Unbound(os.path.join(work, "unbound"), dns.port,
                                      port=53)
    ub.start()
    pf = STARTED["postfix"] = PostfixServer(a["pfroot"], ps_port=25,
                                            ps_proxy=False,
                                            main_cf=POSTSCREEN_DNSBL)
    pf.start()
    # What any program on this host gets through /etc/resolv.conf.
    res["resolv_dig"] = {ip: subprocess.run(
        ["dig", "+time=5", "+tries=2", rev(ip), "A"], capture_output=True,
        timeout=60).stdout.decode() for ip in a["clients"]}
    res["sessions"] = {ip: swaks(ip, 25) for ip in a["clients"]}
    # postscreen logs asynchronously (postlogd): wait for each verdict.
    verdict = (r"postscreen\[\d+\]: (PASS NEW|PASS OLD|"
               r"NOQUEUE: reject: RCPT from) \[%s\]")
    for ip in a["clients"]:
        pf.wait_log(verdict % re.escape(ip), timeout=60)
    res["dns_exit"] = dns.stop()
    ub.restart()
    res["after_stop"] = swaks(a["again"], 25)
    pf.wait_log(verdict % re.escape(a["again"]), timeout=60,
                count=2 if a["again"] in a["clients"] else 1)
    res["after_stop_dig"] = dig("127.0.0.1", 53, rev(a["again"]), wait=3, tries=1)
    res["maillog"] = pf.log()
    res["unbound_log"] = ub.text()
    pf.stop()
    ub.stop()
    return res


def main():
    what, args = sys.argv[1], json.loads(sys.argv[2])
    try:
        res = {"postscreen": postscreen_lab}[what](args)
    except BaseException:  # pytest.fail raises a BaseException too
        traceback.print_exc()
        for name, what in STARTED.items():
            text = what.log() if name == "postfix" else what.text()
            sys.stderr.write(f"\n--- {name}'s log ---\n{text}")
        sys.exit(1)
    sys.stdout.write(json.dumps(res) + "\n")


if __name__ == "__main__":
    main()
