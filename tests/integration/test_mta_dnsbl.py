"""trapline dns as the block list of real mail software (issue 4).

Mail software does not ask trapline directly: it asks a local resolver,
here unbound with a stub zone for bl.test pointing at trapline on a
loopback port (QNAME minimisation on, strictly, so every empty
non-terminal of the reversed address is asked and must be NOERROR/NODATA).
Through it:

- SpamAssassin's check_rbl/check_rbl_sub rules fire for a message relayed
  by a listed address, with the sub-rule of its code, and not for an
  address never seen or whose listing has lapsed;
- Postfix's postscreen (postscreen_dnsbl_sites, enforce) rejects a client
  connecting from a listed address with 550 and lets an unlisted one
  deliver; its dnsblog uses /etc/resolv.conf, port 53, so that test runs
  in namespaces of its own (mta_dnsbl.py).

Each test then stops trapline and restarts unbound (an empty cache): the
same lookup no longer lists, the rule no longer fires, the client is no
longer rejected. trapline is what answers.

The addresses the SpamAssassin test uses are public (81.2.69.0/24): SA
never looks up private or loopback relays. postscreen's clients connect
from 127.0.0.0/8 inside the namespace, so the tests' [policy] never_list
leaves out 127.0.0.0/8, which the default never lists.
"""
import os
import shutil
import tempfile

import pytest

from conftest import ev, lines
from mta_dnsbl import (SpamAssassin, TraplineDns, Unbound, answers,
                       netns_missing, rev, run_in_namespaces, status,
                       write_trapline_conf, ZONE)

pytestmark = pytest.mark.skipif(
    not (shutil.which("dig") and (shutil.which("unbound")
                                  or os.path.exists("/usr/sbin/unbound"))),
    reason="dig or unbound missing (scripts/install-deps)")

SPAM = "81.2.69.160"        # spam, yesterday: listed 127.0.0.2
AUTH = "81.2.69.162"        # password guessing: listed 127.0.0.4
LAPSED = "81.2.69.161"      # spam, but quiet for 57 days: not listed
NEVER = "81.2.69.170"       # never seen
LOCAL_SPAM = "127.0.0.55"   # spam, from loopback (postscreen's client)
LOCAL_CLEAN = "127.0.0.66"  # never seen
TEST_POINT = "127.0.0.2"    # RFC 5782: always listed

EVENTS = lines(
    ev("2026-11-26T10:00:00Z", SPAM),
    ev("2026-11-25T10:00:00Z", AUTH, "auth"),
    ev("2026-10-01T10:00:00Z", LAPSED),
    ev("2026-11-26T10:00:00Z", LOCAL_SPAM),
)


@pytest.fixture
def lab(tl, tmp_path):
    """The store, trapline dns and unbound in front of it (host namespace,
    loopback only); both stopped at the end."""
    tl.ingest(EVENTS)
    conf = write_trapline_conf(tmp_path / "trapline.conf")

    class Lab:
        pass
    lab = Lab()
    lab.tl, lab.conf = tl, conf
    lab.dns = TraplineDns(tl, conf, tmp_path / "dns.log")
    lab.unbound = None
    try:
        lab.unbound = Unbound(tmp_path / "unbound", lab.dns.port)
        lab.unbound.start()
        yield lab
    finally:
        if lab.unbound:
            lab.unbound.stop()
        lab.dns.kill()


def test_unbound_resolves_the_zone_through_trapline(lab):
    ub = lab.unbound
    assert answers(ub.dig(rev(SPAM))) == ["127.0.0.2"]
    assert answers(ub.dig(rev(AUTH))) == ["127.0.0.4"]
    txt = answers(ub.dig(rev(SPAM), "TXT"), "TXT")
    assert len(txt) == 1 and SPAM in txt[0], txt
    assert answers(ub.dig(rev(LOCAL_SPAM))) == ["127.0.0.2"]
    assert answers(ub.dig(rev(TEST_POINT))) == ["127.0.0.2"]
    for ip in (LAPSED, NEVER, LOCAL_CLEAN, "127.0.0.1"):
        assert status(ub.dig(rev(ip))) == "NXDOMAIN", ip
    # An empty non-terminal, as a minimising resolver walks down to it.
    out = ub.dig("69.2.81." + ZONE)
    assert status(out) == "NOERROR" and answers(out) == []
    # Outside the zone: this resolver asks nobody.
    assert status(ub.dig("example.com")) == "REFUSED"

    assert lab.dns.stop() == 0
    bl = lab.dns.stats()["bl"]
    # 10 names asked; minimisation asked the labels above them too (the
    # first lookup alone: 127, 0.127, 0.0.127, then the name).
    assert bl["total"] >= 10 + 3, bl
    assert bl["refused"] == 0 and bl["errors"] == 0, bl

    # trapline gone, cache emptied: the listed name no longer resolves
    # (unbound keeps trying a silent server for long: a short wait).
    ub.restart()
    out = ub.dig(rev(SPAM), wait=3, tries=1)
    assert status(out) in (None, "SERVFAIL") and answers(out) == [], out


def test_spamassassin_scores_a_listed_relay(lab, tmp_path):
    if not shutil.which("spamassassin"):
        pytest.skip("spamassassin missing (scripts/install-deps)")
    sa = SpamAssassin(tmp_path / "sa", lab.unbound.port)
    hits, out = sa.check(SPAM)
    assert hits == ["RCVD_IN_TRAPLINE", "RCVD_IN_TRAPLINE_SPAM"], out
    assert "X-Spam-Status: Yes, score=6.0" in out
    assert "Relay is listed in bl.test (trapline)" in out   # the -t report
    hits, out = sa.check(AUTH)
    assert hits == ["RCVD_IN_TRAPLINE", "RCVD_IN_TRAPLINE_AUTH"], out
    for ip in (LAPSED, NEVER):
        hits, out = sa.check(ip)
        assert hits == [], (ip, out)
        assert "X-Spam-Status: No, score=0.0" in out

    # trapline stopped, unbound's cache emptied: the same message passes
    # (SpamAssassin waits 5 s for an answer that does not come).
    assert lab.dns.stop() == 0
    lab.unbound.restart()
    sa = SpamAssassin(tmp_path / "sa-short", lab.unbound.port, timeout=5)
    hits, out = sa.check(SPAM)
    assert hits == [], out


@pytest.fixture
def pfroot():
    # Postfix's users must reach it (pytest's base directory is 0700), and
    # its socket paths must stay short: not under tmp_path.
    root = tempfile.mkdtemp(prefix="trapline-postfix-")
    os.chmod(root, 0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def test_postscreen_rejects_a_listed_client(tl, tmp_path, pfroot):
    why = netns_missing()
    if why:
        pytest.skip(why)
    tl.ingest(EVENTS)
    conf = write_trapline_conf(tmp_path / "trapline.conf")
    clients = [LOCAL_SPAM, TEST_POINT, LOCAL_CLEAN]
    r = run_in_namespaces("postscreen", {
        "data": tl.data, "config": conf, "env": tl.env, "work": str(tmp_path),
        "pfroot": pfroot, "clients": clients, "again": LOCAL_SPAM})
    log = r["maillog"]
    (tmp_path / "maillog").write_text(log)            # kept for a look
    # The system resolver (resolv.conf -> unbound:53 -> trapline) lists them.
    for ip in (LOCAL_SPAM, TEST_POINT):
        assert answers(r["resolv_dig"][ip]) == ["127.0.0.2"], r["resolv_dig"][ip]
    assert status(r["resolv_dig"][LOCAL_CLEAN]) == "NXDOMAIN"

    for ip in (LOCAL_SPAM, TEST_POINT):
        s = r["sessions"][ip]
        reject = ("550 5.7.1 Service unavailable; client [%s] blocked using %s"
                  % (ip, ZONE))
        assert s["rc"] == 24 and reject in s["out"], (ip, s["out"], log)
        assert "DNSBL rank 3 for [%s]" % ip in log, log
        assert "NOQUEUE: reject: RCPT from [%s]" % ip in log, log
    s = r["sessions"][LOCAL_CLEAN]
    assert s["rc"] == 0 and "250 2.0.0 Ok: queued" in s["out"], (s["out"], log)
    assert "PASS NEW [%s]" % LOCAL_CLEAN in log
    assert "DNSBL rank" not in "".join(
        ln for ln in log.splitlines() if "[%s]" % LOCAL_CLEAN in ln)

    # trapline stopped, unbound restarted: the listed client gets through.
    assert r["dns_exit"] == 0
    assert answers(r["after_stop_dig"]) == [], r["after_stop_dig"]
    s = r["after_stop"]
    assert s["rc"] == 0 and "250 2.0.0 Ok: queued" in s["out"], (s["out"], log)
    assert "PASS NEW [%s]" % LOCAL_SPAM in log
