"""trapline ingest --format postfix|mbox|maildir on what a real Postfix wrote.

Each test drives a private Postfix on loopback (postfix_server.py) with
swaks or a raw socket, checks that Postfix logged or delivered what the
test means to feed trapline, then runs trapline on Postfix's own log file,
maildir or mbox. Client addresses are ordinary public unicast addresses
claimed through XCLIENT (smtpd) or the HAProxy protocol (postscreen): the
mailbox importers skip private, reserved and documentation addresses
(RFC 6890). Nothing leaves the machine: Postfix listens on 127.0.0.1, does
no DNS and delivers only into its own directory.
"""
import os
import signal
import subprocess


from conftest import BIN
from postfix_server import (HOSTNAME, SASL_PASSWORD, SASL_USER, TRAP_DOMAIN,
                            postfix_server, today_utc, wait_for)  # noqa: F401

NO_EVENTS = {"spam": 0, "dictionary": 0, "auth": 0, "malware": 0}


def events(**kinds):
    return dict(NO_EVENTS, **kinds)


def unknown_rcpts(srv, client, users, domain=HOSTNAME):
    """One SMTP session from @client naming each of @users at @domain;
    Postfix rejects them all at RCPT."""
    to = ",".join(f"{u}@{domain}" for u in users)
    p = srv.swaks("--quit-after", "RCPT", to=to, client=client)
    # swaks: 24 = every recipient refused
    assert p.returncode == 24, p.stdout.decode(errors="replace")


def reject_pattern(client, table):
    return (r"postfix/smtpd\[\d+\]: NOQUEUE: reject: RCPT from "
            r"[^ ]*\[" + client.replace(".", r"\.") + r"\]: 550 5\.1\.1 <[^>]+>: "
            r"Recipient address rejected: User unknown in " + table)


def listening_sockets(pid):
    """(local address, port) of the TCP sockets @pid listens on."""
    inodes = set()
    fd_dir = f"/proc/{pid}/fd"
    for fd in os.listdir(fd_dir):
        try:
            link = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    out = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            next(f)
            for row in f:
                col = row.split()
                if col[3] == "0A" and col[9] in inodes:  # 0A = LISTEN
                    addr, port = col[1].split(":")
                    out.append((addr, int(port, 16)))
    return out


def test_private_postfix_listens_on_loopback_only(postfix_server):
    srv = postfix_server
    socks = listening_sockets(srv.master_pid())
    # 0100007F = 127.0.0.1 in /proc/net/tcp's little-endian hex
    assert sorted(socks) == sorted([("0100007F", srv.smtp_port),
                                    ("0100007F", srv.ps_port)])


def test_dictionary_attack_from_postfix_log(postfix_server, tmp_path):
    srv = postfix_server
    a, b = "81.2.69.160", "81.2.69.161"
    # A: 8 unknown local users in one session, 2 unknown virtual users and
    # one local user again (not distinct) in another: 10 distinct.
    unknown_rcpts(srv, a, [f"user{i}" for i in range(1, 9)])
    unknown_rcpts(srv, a, ["nobody1", "nobody2"], TRAP_DOMAIN)
    unknown_rcpts(srv, a, ["user3"])
    # B: 3 unknowns, under the threshold of 5.
    unknown_rcpts(srv, b, ["alpha", "beta", "gamma"])
    # A known recipient is not a reject.
    p = srv.swaks("--quit-after", "RCPT", to=f"postmaster@{HOSTNAME}",
                  client=b)
    assert p.returncode == 0, p.stdout.decode(errors="replace")

    srv.wait_log(reject_pattern(a, "local recipient table"), 9)
    srv.wait_log(reject_pattern(a, "virtual mailbox table"), 2)
    srv.wait_log(reject_pattern(b, "local recipient table"), 3)
    srv.wait_log(r"disconnect from unknown\[81\.2\.69\.161\]", 2)

    tl = srv.trapline(tmp_path / "store")
    tl.run("ingest", "--format", "postfix", srv.maillog, check=0)
    o = tl.show(a)
    # threshold 5: an event of 5 at the fifth distinct recipient, then one
    # a further distinct recipient; the repeated user3 adds nothing.
    assert o["events"] == events(dictionary=10)
    assert o["first_seen"] == today_utc()
    o = tl.show(b)
    assert o["events"] == NO_EVENTS
    assert o["seen"] is False


def test_failed_sasl_logins_from_postfix_log(postfix_server, tmp_path):
    srv = postfix_server
    c = "81.2.69.162"
    tries = [("PLAIN", SASL_USER, "wrong"), ("PLAIN", SASL_USER, "wrong2"),
             ("LOGIN", SASL_USER, "wrong"), ("LOGIN", SASL_USER, "Wrong!"),
             ("LOGIN", "mallory", "guess")]
    for mech, user, password in tries:
        p = srv.swaks("--auth", mech, "--auth-user", user, "--auth-password",
                      password, "--quit-after", "AUTH",
                      to=f"trap@{TRAP_DOMAIN}", client=c)
        assert p.returncode == 28, p.stdout.decode(errors="replace")  # auth failed
    # One good login is not an attack.
    p = srv.swaks("--auth", "PLAIN", "--auth-user", SASL_USER,
                  "--auth-password", SASL_PASSWORD, "--quit-after", "AUTH",
                  to=f"trap@{TRAP_DOMAIN}", client=c)
    assert p.returncode == 0, p.stdout.decode(errors="replace")

    failed = srv.wait_log(r"postfix/smtpd\[\d+\]: warning: unknown\[81\.2\.69\.162\]: "
                          r"SASL (PLAIN|LOGIN) authentication failed: ", len(tries))
    assert len(failed) == len(tries)
    assert sum("SASL PLAIN" in ln for ln in failed) == 2
    srv.wait_log(r"disconnect from unknown\[81\.2\.69\.162\] .*auth=1 ")

    tl = srv.trapline(tmp_path / "store")
    tl.run("ingest", "--format", "postfix", srv.maillog, check=0)
    assert tl.show(c)["events"] == events(auth=len(tries))


# (client, what it does, whether before the greeting, what postscreen logs,
#  the tag trapline gives it)
POSTSCREEN_CASES = [
    ("81.2.69.170", b"EHLO pregreet.example.net\r\n", True,
     r"PREGREET \d+ after [\d.]+ from \[81\.2\.69\.170\]:\d+: EHLO", "pregreet"),
    ("81.2.69.171", b"GET / HTTP/1.0\r\n", False,
     r"NON-SMTP COMMAND from \[81\.2\.69\.171\]:\d+ after CONNECT: GET / HTTP/1\.0",
     "non-smtp"),
    ("81.2.69.172", b"EHLO bare.example.net\n", False,
     r"BARE NEWLINE from \[81\.2\.69\.172\]:\d+ after EHLO", "bare-newline"),
    ("81.2.69.173", b"EHLO pipe.example.net\r\nMAIL FROM:<a@example.net>\r\n"
     b"RCPT TO:<trap@trap.example.org>\r\n", False,
     r"COMMAND PIPELINING from \[81\.2\.69\.173\]:\d+ after EHLO: MAIL FROM:",
     "pipelining"),
]


def test_postscreen_violations_from_postfix_log(postfix_server, tmp_path):
    srv = postfix_server
    for n, (client, data, early, _, _) in enumerate(POSTSCREEN_CASES):
        reply = srv.postscreen(client, data, before_greeting=early,
                               client_port=40001 + n)
        assert reply.startswith(b"220-"), reply
    # A client that keeps to the protocol.
    polite = "81.2.69.174"
    reply = srv.postscreen(polite, b"EHLO polite.example.net\r\n",
                           client_port=40010)
    assert b"250 " in reply, reply
    for client, _, _, pattern, _ in POSTSCREEN_CASES:
        srv.wait_log(r"postfix/postscreen\[\d+\]: " + pattern)
        srv.wait_log(r"postfix/postscreen\[\d+\]: DISCONNECT \[" +
                     client.replace(".", r"\.") + r"\]")
    srv.wait_log(r"postfix/postscreen\[\d+\]: DISCONNECT \[81\.2\.69\.174\]")
    said = [ln for ln in srv.log().splitlines() if "[81.2.69.174]" in ln]
    assert not [ln for ln in said for k in ("PREGREET", "NON-SMTP", "BARE NEWLINE",
                                            "PIPELINING") if k in ln], said

    tl = srv.trapline(tmp_path / "store")
    tl.run("ingest", "--format", "postfix", srv.maillog, check=0)
    for client, _, _, _, tag in POSTSCREEN_CASES:
        o = tl.show(client)
        assert (client, o["events"], o["tags"]) == (client, events(spam=1), {tag: 1})
    # postscreen's own "550 5.5.1 Protocol error" reject is no unknown user.
    assert tl.show("81.2.69.173")["events"]["dictionary"] == 0
    assert tl.show(polite)["events"] == NO_EVENTS


def executable(path):
    """A file that looks like a Windows PE executable (MZ header)."""
    with open(path, "wb") as f:
        f.write(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
                + b"\x00" * 44 + b"\x80\x00\x00\x00"
                + b"This program cannot be run in DOS mode.\r\r\n$"
                + bytes(range(256)))
    return path


def test_trap_maildir_and_mbox_from_postfix_delivery(postfix_server, tmp_path):
    srv = postfix_server
    d, e, v6, bounce = "81.2.69.163", "81.2.69.164", "2a02:c7f::1", "81.2.69.165"
    forged = "81.2.69.200"
    trap, mbox = f"trap@{TRAP_DOMAIN}", f"mbox@{TRAP_DOMAIN}"

    def send(*args, **kw):
        p = srv.swaks(*args, **kw)
        assert p.returncode == 0, p.stdout.decode(errors="replace")

    # D -> maildir: pharma, under a forged Received hop the spammer added.
    send("--header", "Subject: Cheap pills, 80% off",
         "--add-header", f"Received: from [{forged}] (helo=relay.example.com) "
         "by relay.example.com with SMTP; Thu, 26 Nov 2026 23:01:02 +0000",
         "--body", "Buy viagra and cialis from our online pharmacy, "
         "no prescription needed.", to=trap, client=d,
         client_name="dsl-81-2-69-163.example.net")
    # E -> mbox: an executable attachment.
    send("--header", "Subject: Invoice 2026-1127", "--body",
         "Please see the attached invoice.", "--attach-name", "invoice.exe",
         "--attach", "@" + executable(str(tmp_path / "invoice.exe")),
         to=mbox, client=e)
    # IPv6 -> mbox: phish.
    send("--header", "Subject: Your mailbox will be suspended", "--body",
         "Dear user, please verify your account within 24 hours.",
         to=mbox, client=v6, client_name="mail.example.net")
    # Bounces (null sender) to both, with words that would otherwise tag.
    for rcpt in (trap, mbox):
        send("--from", "<>", "--header", "Subject: Undelivered Mail Returned to Sender",
             "--header", "From: MAILER-DAEMON@bounce.example.net (Mail Delivery System)",
             "--body", "This is the mail system at host bounce.example.net.\n"
             "I'm sorry to have to inform you that your message about viagra "
             "could not be delivered.", to=rcpt, client=bounce)

    msgs = srv.wait_maildir(2)
    srv.wait_mbox(3)
    srv.wait_queue_empty()
    srv.wait_log(r"postfix/virtual\[\d+\]: \w+: to=<trap@trap\.example\.org>, "
                 r"relay=virtual, .*status=sent \(delivered to maildir\)", 2)
    srv.wait_log(r"postfix/virtual\[\d+\]: \w+: to=<mbox@trap\.example\.org>, "
                 r"relay=virtual, .*status=sent \(delivered to mailbox\)", 3)
    texts = [open(m, errors="replace").read() for m in msgs]
    assert any(f"Received: from client.example.net (dsl-81-2-69-163.example.net [{d}])"
               in t for t in texts)
    assert any("Return-Path: <>" in t for t in texts)
    box = open(srv.mbox, errors="replace").read()
    assert f"(unknown [{e}])" in box and f"[IPv6:{v6}]" in box
    assert "From MAILER-DAEMON " in box

    tl = srv.trapline(tmp_path / "store")
    tl.run("ingest", "--format", "maildir", srv.maildir, check=0)
    o = tl.show(d)
    assert (o["events"], o["tags"]) == (events(spam=1), {"pharma": 1})
    assert o["first_seen"] == today_utc()
    assert tl.show(forged)["seen"] is False
    assert tl.show(bounce)["seen"] is False

    tl.run("ingest", "--format", "mbox", srv.mbox, check=0)
    assert tl.show(e)["events"] == events(malware=1)
    o = tl.show(v6)
    assert (o["events"], o["tags"]) == (events(spam=1), {"phish": 1})
    assert tl.show(bounce)["seen"] is False


def file_is_open(pid, path):
    """Whether process @pid holds @path open (the follower is ready)."""
    real = os.path.realpath(path)
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == real:
                return True
        except OSError:
            pass
    return False


def test_follow_postfix_log_across_rotation(postfix_server, tmp_path):
    srv = postfix_server
    f, g = "81.2.69.180", "81.2.69.181"
    tl = srv.trapline(tmp_path / "store")
    # Create the store first so `show` can poll it from the start.
    tl.ingest("")
    # Output to a file, not a pipe nobody reads while it runs.
    errf = tmp_path / "follower.stderr"
    follower = subprocess.Popen(
        [BIN, "ingest", "--data", tl.data, "--format", "postfix", "--follow",
         srv.maillog], env=tl.env, stdout=subprocess.DEVNULL,
        stderr=open(errf, "wb"))

    def said():
        return errf.read_text(errors="replace")
    try:
        wait_for(lambda: file_is_open(follower.pid, srv.maillog)
                 or follower.poll() is not None, 30, "the follower to open the log")
        assert follower.poll() is None, said()

        def dictionary(ip, want):
            def ok():
                return tl.show(ip)["events"]["dictionary"] == want
            wait_for(ok, 30, f"{ip} to reach {want} dictionary events",
                     interval=0.5)

        unknown_rcpts(srv, f, [f"f{i}" for i in range(6)])
        srv.wait_log(reject_pattern(f, "local recipient table"), 6)
        dictionary(f, 6)

        srv.rotate_log()
        unknown_rcpts(srv, g, [f"g{i}" for i in range(6)])
        unknown_rcpts(srv, f, ["f6", "f7"])  # same attack, same window
        srv.wait_log(reject_pattern(g, "local recipient table"), 6)
        rotated = open(srv.maillog + ".1").read()
        assert "81.2.69.181" not in rotated
        dictionary(g, 6)
        dictionary(f, 8)
        assert follower.poll() is None, said()
        follower.send_signal(signal.SIGTERM)
        follower.wait(timeout=30)
        assert follower.returncode == 0, said()
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()
    # Once stopped, nothing was lost or counted twice.
    assert tl.show(f)["events"] == events(dictionary=8)
    assert tl.show(g)["events"] == events(dictionary=6)
