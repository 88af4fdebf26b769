"""Trap mailboxes: mbox and maildir, own relays, skips, and serve's watch."""
import json
import os
import signal
import subprocess
import time

from conftest import BIN

EDGE = "Fri, 20 Nov 2026 10:00:00 +0000"


def msg(client, *, relay=None, forged=None, ret="<bot@spam.example>",
        subject="hello", body="hi there\n", v6=False):
    hdr = []
    if relay:
        # The backup MX handed it to the primary: the top hop is internal.
        hdr.append("Received: from mx2.example.org (mx2.example.org [%s])\n"
                   "\tby mx1.example.org (Postfix) with ESMTP id A1; %s\n" % (relay, EDGE))
    addr = "IPv6:%s" % client if v6 else client
    hdr.append("Received: from bot.example (unknown [%s])\n"
               "\tby %s (Postfix) with ESMTP id B2; %s\n"
               % (addr, "mx2.example.org" if relay else "mx1.example.org", EDGE))
    if forged:
        hdr.append("Received: from x ([%s]) by innocent.example; %s\n" % (forged, EDGE))
    return ("Return-Path: %s\n%sFrom: bot@spam.example\nSubject: %s\n\n%s"
            % (ret, "".join(hdr), subject, body))


def write_maildir(root, messages):
    for sub in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    for i, m in enumerate(messages):
        with open(os.path.join(root, "new", "1764000000.M%d.host" % i), "w") as f:
            f.write(m)


def mbox(messages):
    return "".join("From MAILER-DAEMON Fri Nov 20 10:00:00 2026\n%s\n" % m
                   for m in messages)


def config(tmp_path, **sections):
    cfg = tmp_path / "t.conf"
    cfg.write_text("".join("[%s]\n%s" % (s, "".join("%s = %s\n" % kv for kv in keys.items()))
                           for s, keys in sections.items()))
    return str(cfg)


def seen(tl, ip):
    return tl.show(ip)["events"]


def test_maildir_sender_is_the_edge_client_not_a_forged_hop(tl, tmp_path):
    md = tmp_path / "Maildir"
    write_maildir(md, [msg("81.2.69.160", forged="8.8.8.8", subject="cheap viagra"),
                       msg("2a02:c7f::1", v6=True),
                       msg("81.2.69.161", ret="<>"),            # a bounce
                       msg("10.1.2.3"),                          # no public hop
                       "not a message at all\n"])
    p = tl.run("ingest", "--format", "maildir", str(md), check=0)
    err = p.stderr.decode()
    assert "2 messages taken" in err
    assert "1 bounce" in err and "1 no_chain" in err
    got = tl.show("81.2.69.160")
    assert got["events"]["spam"] == 1 and got["tags"] == {"pharma": 1}
    assert seen(tl, "2a02:c7f::1")["spam"] == 1
    assert tl.show("8.8.8.8")["events"]["spam"] == 0
    assert seen(tl, "81.2.69.161")["spam"] == 0
    # One-shot reading moves nothing.
    assert len(os.listdir(md / "new")) == 5


def test_own_relays_by_address_and_by_name(tl, tmp_path):
    m = mbox([msg("81.2.69.162", relay="81.2.69.1")])
    # Without own_relays the backup MX itself is the sender.
    tl.run("ingest", "--format", "mbox", "-", input=m.encode(), check=0)
    assert seen(tl, "81.2.69.1")["spam"] == 1
    for relays in ("81.2.69.1", "81.2.69.0/30", "mx2.example.org"):
        cfg = config(tmp_path, ingest={"own_relays": relays})
        before = seen(tl, "81.2.69.162")["spam"]
        tl.run("ingest", "--config", cfg, "--format", "mbox", "-",
               input=m.encode(), check=0)
        assert seen(tl, "81.2.69.162")["spam"] == before + 1, relays
    assert seen(tl, "81.2.69.1")["spam"] == 1


def test_mbox_from_lines_and_malware(tl, tmp_path):
    exe = ("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
           "--b\nContent-Type: text/plain\n\nsee attached\n--b\n"
           "Content-Type: application/octet-stream; name=a.exe\n"
           "Content-Transfer-Encoding: base64\n\nTVqQAAMAAAAEAAAA\n--b--\n")
    m1 = msg("81.2.69.163")
    m2 = msg("81.2.69.164", body="From the start of a line, unquoted\n")
    m3 = msg("81.2.69.165").replace("Subject: hello\n", "Subject: x\n" + exe.split("\n\n")[0] + "\n", 1)
    m3 = m3.split("\n\n")[0] + "\n\n" + exe.split("\n\n", 1)[1]
    tl.run("ingest", "--format", "mbox", "-", input=mbox([m1, m2, m3]).encode(), check=0)
    assert seen(tl, "81.2.69.163")["spam"] == 1
    assert seen(tl, "81.2.69.164")["spam"] == 1
    assert seen(tl, "81.2.69.165")["malware"] == 1


def test_not_an_mbox_is_reported(tl):
    p = tl.run("ingest", "--format", "mbox", "-", input=b"hello\nworld\n")
    assert p.returncode == 65
    assert b"not an mbox" in p.stderr


def test_serve_watches_a_maildir_and_takes_each_message_once(tl, tmp_path):
    md = tmp_path / "Trap"
    write_maildir(md, [msg("81.2.69.166")])
    cfg = config(tmp_path, trap={"listen": ""}, dns={"listen": ""},
                 ingest={"maildir": str(md)})
    p = subprocess.Popen([BIN, "serve", "--data", tl.data, "--config", cfg],
                         env=tl.env, stderr=subprocess.PIPE)
    try:
        end = time.time() + 20
        while time.time() < end and os.listdir(md / "new"):
            time.sleep(0.1)
        assert os.listdir(md / "new") == []
        assert [n.endswith(":2,S") for n in os.listdir(md / "cur")] == [True]
        # A new delivery, written as MTAs do: tmp/ then a rename into new/.
        with open(md / "tmp" / "x", "w") as f:
            f.write(msg("81.2.69.166"))
        os.rename(md / "tmp" / "x", md / "new" / "1764000001.M9.host")
        end = time.time() + 20
        while time.time() < end and os.listdir(md / "new"):
            time.sleep(0.1)
        assert len(os.listdir(md / "cur")) == 2
    finally:
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=20)
    assert p.returncode == 0, err
    assert seen(tl, "81.2.69.166")["spam"] == 2


def test_clamav_in_the_mailbox_importers(tl, tmp_path):
    import base64
    import hashlib
    payload = b"trapline clamav test payload, harmless\n"
    db = tmp_path / "test.hdb"
    db.write_text("%s:%d:Trapline.Test.Payload\n" % (hashlib.md5(payload).hexdigest(),
                                                     len(payload)))
    att = ("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
           "--b\nContent-Type: text/plain\n\nhi\n--b\n"
           "Content-Type: text/plain; name=n.txt\n"
           "Content-Disposition: attachment; filename=n.txt\n"
           "Content-Transfer-Encoding: base64\n\n%s\n--b--\n"
           % base64.b64encode(payload).decode())
    m = msg("81.2.69.167")
    head, _ = m.split("\n\n", 1)
    md = tmp_path / "Maildir"
    write_maildir(md, [head.replace("Subject: hello", "Subject: x") + "\n" + att])
    cfg = config(tmp_path, content={"clamav": str(db)})
    p = tl.run("ingest", "--config", cfg, "--format", "maildir", str(md))
    if b"built without libclamav" in p.stderr:
        import pytest
        pytest.skip("built without libclamav")
    assert p.returncode == 0, p.stderr
    assert seen(tl, "81.2.69.167")["malware"] == 1
