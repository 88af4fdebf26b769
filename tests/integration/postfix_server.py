"""A private Postfix on loopback, for tests that need what Postfix really logs
and really delivers.

The `postfix_server` fixture builds a throw-away Postfix instance (its own
config, queue and data directories, its own log file written by postlogd)
and starts it with `postfix -c DIR start`:

- smtpd on 127.0.0.1:<free port>; XCLIENT is allowed from 127.0.0.0/8, so a
  test makes Postfix log any client address (`swaks --xclient-addr`);
- postscreen on 127.0.0.1:<another port>, all its tests on, behind the
  HAProxy v1 protocol so a raw socket can claim any client address too;
- a local domain (mx.trapline.test) whose recipient table holds only
  postmaster, so other local users are "User unknown in local recipient
  table";
- the virtual domain trap.example.org: trap@ goes to a maildir, mbox@ to an
  mbox file, every other user is "User unknown in virtual mailbox table";
- Cyrus SASL (sasldb, PLAIN and LOGIN) with one user, alice/secret;
- no DNS at all and no way out: every lookup is off, the DNSBL list is
  empty and all non-local mail goes to the error transport.

It needs root (Postfix's master runs as root) and the packages postfix,
swaks and sasl2-bin; otherwise the tests that use it are skipped.
Set TRAPLINE_KEEP_POSTFIX=1 to keep the instance's directory after the
test (its path is printed).
"""
import datetime
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import Trapline
from freeport import free_port

HOSTNAME = "mx.trapline.test"
TRAP_DOMAIN = "trap.example.org"
SASL_USER = "alice"
SASL_PASSWORD = "secret"
POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"
POSTLOG = shutil.which("postlog") or "/usr/sbin/postlog"
# Delivery user for the virtual domain: unprivileged, and at or above
# Postfix's virtual_minimum_uid (100).
VMAIL_USER = "nobody"


def today_utc():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")


def is_alive(pid):
    """Whether @pid runs. The master is daemonised: when no init reaps it,
    it lingers as a zombie after exiting, which kill(pid, 0) still sees."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def wait_for(pred, timeout=30, what="condition", interval=0.1):
    """Poll @pred until it returns something truthy; fail after @timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


MAIN_CF = """\
# main.cf -- a private Postfix for trapline's integration tests
compatibility_level = 3.6
config_directory = {cfg}
queue_directory = {queue}
data_directory = {data}
myhostname = {host}
mydomain = trapline.test
myorigin = $myhostname
mydestination = $myhostname, localhost
mynetworks = 127.0.0.0/8
inet_interfaces = loopback-only
# all: with ipv4 alone, XCLIENT refuses IPv6 client addresses.
inet_protocols = all
smtpd_banner = $myhostname ESMTP
biff = no
append_dot_mydomain = no

# The log is a file we read: postlogd (the postlog service) writes it.
maillog_file = {maillog}
maillog_file_prefixes = {root}

# No DNS, no network beyond loopback, nothing relayed.
smtp_dns_support_level = disabled
lmtp_dns_support_level = disabled
disable_dns_lookups = yes
smtpd_peername_lookup = no
relayhost =
default_transport = error:no mail leaves this test instance
relay_transport = error:no mail leaves this test instance
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
notify_classes =

# Local users: only postmaster exists; the rest are "User unknown in local
# recipient table". No aliases (no /etc/aliases lookups). (Setting
# local_transport to error would make smtpd reject every local user with
# the error text instead.)
alias_maps =
alias_database =
local_recipient_maps = texthash:{cfg}/local_users

# The trap domain: mailboxes owned by an unprivileged user.
virtual_mailbox_domains = {trap}
virtual_mailbox_maps = texthash:{cfg}/vmailbox
virtual_mailbox_base = {vmail}
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}

# XCLIENT from loopback, so a test can be any client.
smtpd_authorized_xclient_hosts = 127.0.0.0/8
# Rejects come fast: no tarpit after errors.
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 100
smtpd_hard_error_limit = 200

# SASL: Cyrus with a private sasldb.
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
cyrus_sasl_config_path = {cfg}/sasl
smtpd_sasl_local_domain = $myhostname
smtpd_sasl_security_options = noanonymous
smtpd_tls_auth_only = no
broken_sasl_auth_clients = no

# postscreen: every test on, no DNSBL, no access list.
postscreen_access_list =
postscreen_dnsbl_sites =
postscreen_greet_action = enforce
postscreen_greet_wait = 1s
postscreen_bare_newline_enable = yes
postscreen_bare_newline_action = ignore
postscreen_non_smtp_command_enable = yes
postscreen_pipelining_enable = yes
"""

# Every service unchrooted ("n" in the fifth column): the chroot jail would
# need copies of the SASL config and libraries.
MASTER_CF = """\
# master.cf -- a private Postfix for trapline's integration tests
127.0.0.1:{smtp_port} inet n - n - - smtpd
127.0.0.1:{ps_port} inet n - n - 1 postscreen{ps_opts}
smtpd     pass  -       -       n       -       -       smtpd
dnsblog   unix  -       -       n       -       0       dnsblog
tlsproxy  unix  -       -       n       -       0       tlsproxy
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

SMTPD_CONF = """\
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: {sasldb}
"""


class PostfixServer:
    """One private Postfix instance. Paths are absolute strings.

    @ps_port: postscreen's port (default: a free one); @ps_proxy: whether
    postscreen expects the HAProxy protocol (else the client is whoever
    connects); @main_cf: parameters (name -> value) that replace or add to
    those of MAIN_CF."""

    def __init__(self, root, *, ps_port=None, ps_proxy=True, main_cf=None):
        self.root = root
        self.cfg = os.path.join(root, "etc")
        self.queue = os.path.join(root, "spool")
        self.data = os.path.join(root, "lib")
        self.vmail = os.path.join(root, "vmail")
        self.maillog = os.path.join(root, "log", "maillog")
        self.maildir = os.path.join(self.vmail, "trap")  # trap@ (Maildir)
        self.mbox = os.path.join(self.vmail, "mbox")     # mbox@ (mbox)
        self.smtp_port = free_port()
        self.ps_port = ps_port or free_port()
        while self.ps_port == self.smtp_port:
            self.ps_port = free_port()
        self.ps_proxy = ps_proxy
        self.main_cf = main_cf or {}
        self.env = dict(os.environ, TZ="UTC", LANG="C", MAIL_CONFIG=self.cfg)
        self.started = False

    # -- setup ---------------------------------------------------------

    def write_config(self):
        pw = pwd.getpwnam(VMAIL_USER)
        pf = pwd.getpwnam("postfix")
        for d in (self.cfg, self.queue, self.data, self.vmail,
                  os.path.dirname(self.maillog), os.path.join(self.cfg, "sasl")):
            os.makedirs(d, exist_ok=True)
        # Postfix wants the queue owned by root and the data directory by
        # its mail_owner; the delivery user writes the mailboxes.
        os.chown(self.data, pf.pw_uid, pf.pw_gid)
        os.chmod(self.data, 0o700)
        os.chown(self.vmail, pw.pw_uid, pw.pw_gid)
        os.chmod(self.vmail, 0o755)
        vals = dict(cfg=self.cfg, queue=self.queue, data=self.data,
                    host=HOSTNAME, maillog=self.maillog, root=self.root,
                    trap=TRAP_DOMAIN, vmail=self.vmail, uid=pw.pw_uid,
                    gid=pw.pw_gid, smtp_port=self.smtp_port,
                    ps_port=self.ps_port,
                    ps_opts=("\n  -o postscreen_upstream_proxy_protocol=haproxy"
                             if self.ps_proxy else ""))
        main = MAIN_CF.format(**vals)
        for name, value in self.main_cf.items():
            line = f"{name} = {value}"
            main, n = re.subn(r"(?m)^%s =.*$" % re.escape(name),
                              lambda m, line=line: line, main)
            if not n:
                main += line + "\n"
        self._write("main.cf", main)
        self._write("master.cf", MASTER_CF.format(**vals))
        self._write("local_users", "postmaster@%s x\npostmaster x\n" % HOSTNAME)
        self._write("vmailbox",
                    f"trap@{TRAP_DOMAIN} trap/\n"   # trailing / = Maildir
                    f"mbox@{TRAP_DOMAIN} mbox\n")
        sasldb = os.path.join(self.cfg, "sasl", "sasldb2")
        self._write("sasl/smtpd.conf", SMTPD_CONF.format(sasldb=sasldb))
        subprocess.run(["saslpasswd2", "-c", "-p", "-f", sasldb, "-u", HOSTNAME,
                        SASL_USER], input=SASL_PASSWORD.encode(), check=True,
                       capture_output=True)
        # smtpd runs as the postfix user and must read the sasldb.
        os.chown(sasldb, 0, pf.pw_gid)
        os.chmod(sasldb, 0o640)

    def _write(self, name, text):
        with open(os.path.join(self.cfg, name), "w") as f:
            f.write(text)

    def postfix(self, *args, check=True, timeout=60):
        p = subprocess.run([POSTFIX, "-c", self.cfg, *args], env=self.env,
                           capture_output=True, timeout=timeout)
        if check and p.returncode != 0:
            raise RuntimeError("postfix %s: exit %d\n%s%s" % (
                " ".join(args), p.returncode, p.stdout.decode(errors="replace"),
                p.stderr.decode(errors="replace")))
        return p

    def master_pid(self):
        """The running master's pid, or None."""
        try:
            with open(os.path.join(self.queue, "pid", "master.pid")) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            return None
        return pid if is_alive(pid) else None

    def start(self):
        self.write_config()
        # `check` also creates the queue's subdirectories and sets their
        # owners (postfix-script create-missing).
        self.postfix("check")
        self.postfix("start")
        self.started = True
        wait_for(lambda: self.is_listening(self.smtp_port)
                 and self.is_listening(self.ps_port), 30, "Postfix to listen")
        wait_for(lambda: "daemon started" in self.log(), 30,
                 "Postfix's first log line in " + self.maillog)

    def stop(self):
        if not self.started:
            return
        pid = self.master_pid()
        self.postfix("stop", check=False)
        deadline = time.monotonic() + 15
        while pid and is_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if pid and is_alive(pid):
            try:  # master did not go: kill it; its children follow it
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        self.started = False

    @staticmethod
    def is_listening(port):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return False

    # -- driving it ----------------------------------------------------

    def swaks(self, *args, to, client=None, client_name=None,
              helo="client.example.net", sender="sender@example.net",
              port=None, timeout=60):
        """Run swaks against the smtpd port; @client is an address to claim
        with XCLIENT (IPv6 as "2a02:c7f::1"), @client_name its host name
        (else Postfix logs "unknown[ADDR]"). Returns the CompletedProcess
        (swaks exits non-zero when Postfix rejects: callers check)."""
        cmd = ["swaks", "--server", "127.0.0.1", "--port",
               str(port or self.smtp_port), "--helo", helo, "--to", to,
               "--from", sender, "--timeout", "20"]
        if client:
            addr = "IPV6:" + client if ":" in client else client
            cmd += ["--xclient-addr", addr]
            if client_name:
                cmd += ["--xclient-name", client_name]
        cmd += list(args)
        return subprocess.run(cmd, capture_output=True, timeout=timeout,
                              env=self.env)

    def postscreen(self, client, send, *, before_greeting=False,
                   client_port=40000, timeout=15):
        """One raw session with postscreen, as @client (HAProxy v1 header:
        postscreen has no XCLIENT). Sends @send (bytes) either at once
        (@before_greeting: a PREGREET) or after the full 220 greeting, reads
        postscreen's reply, says QUIT and returns all postscreen said."""
        with socket.create_connection(("127.0.0.1", self.ps_port),
                                      timeout=timeout) as s:
            s.sendall(b"PROXY TCP4 %s 127.0.0.1 %d %d\r\n" % (
                client.encode(), client_port, self.ps_port))
            if before_greeting:
                s.sendall(send)
            # postscreen sends "220-" at once and the final "220 " after
            # postscreen_greet_wait; a pregreeter gets its EHLO reply.
            got = self._read_reply(s, b"")
            if not before_greeting:
                s.sendall(send)
                got = self._read_reply(s, got)
            try:
                s.sendall(b"QUIT\r\n")
                got = self._read_reply(s, got)
            except OSError:
                pass  # postscreen hung up (non-SMTP: 521 and close)
        return got

    @staticmethod
    def _read_reply(s, got, timeout=15):
        """Read until the data after @got ends with a final reply line
        ("NNN text", no dash), EOF or @timeout."""
        mark = len(got)
        final = re.compile(rb"(^|\n)\d{3} [^\n]*\n$")
        deadline = time.monotonic() + timeout
        while not final.search(got[mark:]) and time.monotonic() < deadline:
            try:
                chunk = s.recv(4096)
            except OSError:
                break
            if not chunk:
                break
            got += chunk
        return got

    def log(self):
        try:
            with open(self.maillog, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_log(self, pattern, count=1, timeout=30, path=None):
        """Wait until @count lines of the log match the regex @pattern;
        return the matching lines."""
        rx = re.compile(pattern)

        def match():
            text = self.log() if path is None else open(path, errors="replace").read()
            found = [ln for ln in text.splitlines() if rx.search(ln)]
            return found if len(found) >= count else None
        return wait_for(match, timeout, f"{count} log line(s) matching {pattern!r}")

    def maildir_messages(self):
        out = []
        for sub in ("new", "cur"):
            d = os.path.join(self.maildir, sub)
            if os.path.isdir(d):
                out += [os.path.join(d, n) for n in sorted(os.listdir(d))]
        return out

    def wait_maildir(self, count, timeout=30):
        return wait_for(lambda: len(self.maildir_messages()) >= count
                        and self.maildir_messages(), timeout,
                        f"{count} message(s) in {self.maildir}")

    def mbox_count(self):
        try:
            with open(self.mbox, "rb") as f:
                return sum(1 for ln in f if ln.startswith(b"From "))
        except FileNotFoundError:
            return 0

    def wait_mbox(self, count, timeout=30):
        wait_for(lambda: self.mbox_count() >= count, timeout,
                 f"{count} message(s) in {self.mbox}")

    def wait_queue_empty(self, timeout=30):
        """Wait until nothing is left in the queue (all delivered)."""
        def empty():
            for d in ("incoming", "active", "deferred", "maildrop"):
                for _, _, files in os.walk(os.path.join(self.queue, d)):
                    if files:
                        return False
            return True
        wait_for(empty, timeout, "Postfix's queue to empty")

    def rotate_log(self, suffix=".1"):
        """Rotate the log by rename, as logrotate would, and reload Postfix
        so that postlogd reopens it. The new file appears with the next
        line logged, and the old postlogd may still write a line or two
        into the renamed file before it exits: log markers with postlog(1)
        until one lands in the new file."""
        os.rename(self.maillog, self.maillog + suffix)
        self.postfix("reload")
        deadline = time.monotonic() + 30
        n = 0
        while time.monotonic() < deadline:
            n += 1
            marker = f"log rotated, marker {n}"
            subprocess.run([POSTLOG, "-c", self.cfg, "-t", "postfix/trapline-test",
                            marker], env=self.env, check=True,
                           capture_output=True, timeout=30)
            until = time.monotonic() + 2
            while time.monotonic() < until:
                if marker in self.log():
                    return
                time.sleep(0.05)
        pytest.fail("postlogd did not reopen " + self.maillog)

    def trapline(self, data):
        """A Trapline runner for ingesting this instance's output: Postfix
        writes the real clock, so "now" is today (UTC) rather than the
        suite's fixed date."""
        t = Trapline(data)
        t.env["TRAPLINE_NOW"] = today_utc()
        t.env["TZ"] = "UTC"
        return t


def postfix_missing():
    """Why the Postfix tests cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root: Postfix's master runs as root"
    for prog in ("postfix", "swaks", "saslpasswd2"):
        if not shutil.which(prog) and not os.path.exists("/usr/sbin/" + prog):
            return f"{prog} is not installed (scripts/install-deps)"
    try:
        pwd.getpwnam("postfix")
        pwd.getpwnam(VMAIL_USER)
    except KeyError as e:
        return f"no such user: {e}"
    return None


@pytest.fixture
def postfix_server():
    why = postfix_missing()
    if why:
        pytest.skip(why)
    # Not under tmp_path: pytest's base directory is mode 0700, and the
    # postfix and nobody users must reach the queue and the mailboxes; and
    # Unix socket paths under it would come close to the 108-byte limit.
    root = tempfile.mkdtemp(prefix="trapline-postfix-")
    os.chmod(root, 0o755)
    srv = PostfixServer(root)
    try:
        srv.start()
        yield srv
    finally:
        srv.stop()
        if os.environ.get("TRAPLINE_KEEP_POSTFIX"):
            print(f"\nPostfix instance kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
