#!/usr/bin/env python3
"""gen_maillog.py -- a seeded, synthetic Postfix log of a busy MX.

usage: bench/gen_maillog.py [--seed S] [--start YYYY-MM-DDTHH:MM:SS]
                            [--rate LINES_PER_S] [--host NAME]
                            [--zero-pad] [-o FILE] LINES

Writes exactly LINES lines in syslog format ("Nov 20 04:39:23 mx1
postfix/smtpd[1234]: ..."), times in UTC increasing from --start (default
2026-11-20T00:00:00) at about --rate lines a second (default 20: five
million lines span about three days). The same arguments give the same
bytes.

The traffic, with sessions interleaved as on a real server:
- postscreen CONNECT / PASS OLD / PASS NEW in front of most sessions, and
  PREGREET, HANGUP, BARE NEWLINE, NON-SMTP COMMAND, COMMAND PIPELINING from
  bots;
- deliveries: smtpd connect / client= / cleanup message-id / qmgr from= /
  local, virtual or smtp status=sent (or deferred) / qmgr removed /
  disconnect with the command counters;
- NOQUEUE rejects at RCPT: "User unknown in local recipient table" or "in
  virtual mailbox table" (a few percent of the lines: typos from ordinary
  senders, and a few hundred dictionary attackers hammering tens to
  hundreds of recipients), plus RBL-style and relay-denied rejects;
- failed SASL PLAIN/LOGIN logins from password guessers, with the Cyrus
  "Password verification failed" line that names no client;
- noise: lost connections, TLS, anvil statistics, warnings.

Client addresses are public unicast (IPv4, and some IPv6): no private,
reserved or documentation ranges. The line format follows what Postfix 3.7
writes (see tests/integration/test_postfix_real.py). Syslog pads the day
with a space ("Nov  3"); Postfix's own maillog_file pads it with a zero
("Nov 03"): --zero-pad.
"""
import argparse
import calendar
import datetime
import heapq
import ipaddress
import random
import sys
import time

FIRST = ("james mary john patricia robert jennifer michael linda william "
         "elizabeth david barbara richard susan joseph jessica thomas sarah "
         "charles karen info sales admin support office billing hr jobs "
         "contact marketing webmaster postmaster abuse noc help service").split()
LAST = ("smith johnson williams brown jones garcia miller davis rodriguez "
        "martinez hernandez lopez gonzalez wilson anderson thomas taylor "
        "moore jackson martin lee perez thompson white harris").split()
DOMAINS_LOCAL = ["example.org", "mail.example.org"]      # mydestination
DOMAINS_VIRTUAL = ["example.com", "example.net", "shop.example.com"]
SENDER_DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "mail.ru",
                  "web.de", "orange.fr", "qq.com", "163.com", "btinternet.com",
                  "bigpond.com", "shaw.ca", "comcast.net", "libero.it"]
RELAYS = ["gmail-smtp-in.l.google.com", "mx1.hotmail.com", "mx.yandex.ru",
          "mail.protonmail.ch", "mx00.ionos.de"]
HELOS_BOT = ["User", "localhost", "ylmf-pc", "WIN-3U8D2RKC0SL", "[127.0.0.1]",
             "mail", "smtp", "test"]


def public_v4(rng):
    while True:
        a = ipaddress.IPv4Address(rng.getrandbits(32))
        if a.is_global and not a.is_multicast:
            return str(a)


def public_v6(rng):
    # in 2000::/4, a /64 and a small interface id; is_global drops the
    # special blocks (2001::/23, ...), and the documentation one goes too
    while True:
        a = ipaddress.IPv6Address(((0x2000 | rng.getrandbits(12)) << 112)
                                  | (rng.getrandbits(48) << 64)
                                  | rng.getrandbits(16))
        if a.is_global and a not in DOC6:
            return str(a)


DOC6 = ipaddress.IPv6Network("2001:db8::/32")


def rdns(rng, ip):
    if rng.random() < 0.45:
        return "unknown"
    if ":" in ip:
        return "mail%d.example-isp.net" % rng.randrange(1, 99)
    return "%s.dyn.example-isp.net" % ip.replace(".", "-")


class Gen:
    def __init__(self, seed, start, rate, host, zero_pad):
        self.rng = random.Random(seed)
        self.t0 = start
        self.rate = rate
        self.host = host
        self.dayfmt = "%s %02d" if zero_pad else "%s %2d"
        self.heap = []
        self.seq = 0
        self.stamp_cache = (None, None)
        rng = self.rng
        self.pids = {n: rng.randrange(1000, 60000) for n in
                     ("postscreen", "qmgr", "anvil", "tlsmgr")}
        self.smtpd_pids = [rng.randrange(1000, 60000) for _ in range(40)]
        self.other_pids = [rng.randrange(1000, 60000) for _ in range(20)]
        # Address pools: ordinary senders, bots, dictionary attackers and
        # password guessers (the last two keep coming back).
        self.senders = [self.addr() for _ in range(50000)]
        self.bots = [self.addr() for _ in range(100000)]
        self.dict_attackers = [self.addr() for _ in range(300)]
        self.guessers = [self.addr() for _ in range(200)]
        self.users = ["%s.%s" % (f, l) for f in FIRST[:20] for l in LAST[:10]] + FIRST[20:]

    def addr(self):
        return public_v6(self.rng) if self.rng.random() < 0.05 else public_v4(self.rng)

    def queue_id(self):
        return "%010X" % self.rng.getrandbits(40)

    def stamp(self, t):
        s = int(t)
        if self.stamp_cache[0] != s:
            tm = time.gmtime(s)
            self.stamp_cache = (s, "%s %02d:%02d:%02d" % (
                self.dayfmt % (calendar.month_abbr[tm.tm_mon], tm.tm_mday),
                tm.tm_hour, tm.tm_min, tm.tm_sec))
        return self.stamp_cache[1]

    def push(self, t, prog, pid, text):
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, prog, pid, text))

    # -- sessions: each pushes its lines at t and after -----------------

    def postscreen(self, t, ip, port, verdict):
        ps = self.pids["postscreen"]
        cli = "[%s]:%d" % (ip, port)
        self.push(t, "postscreen", ps, "CONNECT from %s to [192.0.2.25]:25" % cli)
        if verdict == "old":
            self.push(t, "postscreen", ps, "PASS OLD " + cli)
        elif verdict == "new":
            self.push(t + 6.0, "postscreen", ps, "PASS NEW " + cli)
        return t + (6.0 if verdict == "new" else 0.01)

    def smtpd_open(self, t, ip, name):
        pid = self.rng.choice(self.smtpd_pids)
        self.push(t, "smtpd", pid, "connect from %s[%s]" % (name, ip))
        return pid

    def delivery(self, t):
        rng = self.rng
        ip = rng.choice(self.senders)
        name = rdns(rng, ip)
        port = rng.randrange(1024, 65536)
        t = self.postscreen(t, ip, port, "old" if rng.random() < 0.8 else "new")
        pid = self.smtpd_open(t, ip, name)
        client = "%s[%s]" % (name, ip)
        tls = rng.random() < 0.6
        if tls:
            self.push(t + 0.2, "smtpd", pid, "Anonymous TLS connection established "
                      "from %s: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 "
                      "(256/256 bits)" % client)
        qid = self.queue_id()
        self.push(t + 0.4, "smtpd", pid, "%s: client=%s" % (qid, client))
        cl = rng.choice(self.other_pids)
        self.push(t + 0.5, "cleanup", cl, "%s: message-id=<%d.%x@%s>" % (
            qid, int(t), rng.getrandbits(32), rng.choice(SENDER_DOMAINS)))
        sender = "%s@%s" % (rng.choice(FIRST), rng.choice(SENDER_DOMAINS))
        nrcpt = 1 if rng.random() < 0.85 else rng.randrange(2, 5)
        size = int(rng.lognormvariate(9, 1.1)) + 400
        qm = self.pids["qmgr"]
        self.push(t + 0.55, "qmgr", qm, "%s: from=<%s>, size=%d, nrcpt=%d (queue active)"
                  % (qid, sender, size, nrcpt))
        self.push(t + 0.6, "smtpd", pid, "disconnect from %s ehlo=1%s mail=1 rcpt=%d "
                  "data=1 quit=1 commands=%d" % (client, " starttls=1" if tls else "",
                                                  nrcpt, 5 + tls + nrcpt - 1))
        dt = t + 0.6
        for _ in range(nrcpt):
            dt += rng.random() * 0.3
            d = rng.random()
            if d < 0.5:
                rcpt = "%s@%s" % (rng.choice(self.users), rng.choice(DOMAINS_LOCAL))
                self.push(dt, "local", rng.choice(self.other_pids),
                          "%s: to=<%s>, relay=local, delay=%.2f, delays=%.2f/0/0/%.2f, "
                          "dsn=2.0.0, status=sent (delivered to mailbox)" % (
                              qid, rcpt, dt - t, 0.5, dt - t - 0.5))
            elif d < 0.92:
                rcpt = "%s@%s" % (rng.choice(self.users), rng.choice(DOMAINS_VIRTUAL))
                self.push(dt, "virtual", rng.choice(self.other_pids),
                          "%s: to=<%s>, relay=virtual, delay=%.2f, delays=%.2f/0/0/%.2f, "
                          "dsn=2.0.0, status=sent (delivered to maildir)" % (
                              qid, rcpt, dt - t, 0.5, dt - t - 0.5))
            else:
                relay = rng.choice(RELAYS)
                rcpt = "%s@%s" % (rng.choice(FIRST), rng.choice(SENDER_DOMAINS))
                ok = rng.random() < 0.9
                self.push(dt, "smtp", rng.choice(self.other_pids),
                          "%s: to=<%s>, orig_to=<%s@%s>, relay=%s[%s]:25, delay=%.1f, "
                          "delays=0.5/0/0.3/0.4, dsn=%s, status=%s" % (
                              qid, rcpt, rng.choice(self.users), DOMAINS_LOCAL[0], relay,
                              public_v4(rng), dt - t + 0.7,
                              "2.0.0" if ok else "4.7.0",
                              "sent (250 2.0.0 OK  %d - gsmtp)" % int(dt) if ok else
                              "deferred (host %s said: 421 4.7.0 Try again later)" % relay))
        if dt - t < 50:
            self.push(dt + 0.01, "qmgr", qm, "%s: removed" % qid)

    def unknown_rcpts(self, t, ip, count, hammer):
        """A session rejecting @count unknown recipients (NOQUEUE)."""
        rng = self.rng
        name = rdns(rng, ip)
        port = rng.randrange(1024, 65536)
        t = self.postscreen(t, ip, port, "old" if rng.random() < 0.7 else "new")
        pid = self.smtpd_open(t, ip, name)
        helo = rng.choice(HELOS_BOT) if hammer else name if name != "unknown" else \
            "mail.%s" % rng.choice(SENDER_DOMAINS)
        sender = "%s@%s" % (rng.choice(FIRST), rng.choice(SENDER_DOMAINS))
        for i in range(count):
            if rng.random() < 0.7:
                dom, table = rng.choice(DOMAINS_LOCAL), "local recipient table"
            else:
                dom, table = rng.choice(DOMAINS_VIRTUAL), "virtual mailbox table"
            user = ("%s%d" % (rng.choice(FIRST), rng.randrange(100)) if hammer
                    else rng.choice(self.users) + "x")
            rcpt = "%s@%s" % (user, dom)
            self.push(t + 0.3 + i * 0.05, "smtpd", pid,
                      "NOQUEUE: reject: RCPT from %s[%s]: 550 5.1.1 <%s>: Recipient "
                      "address rejected: User unknown in %s; from=<%s> to=<%s> "
                      "proto=ESMTP helo=<%s>" % (name, ip, rcpt, table, sender, rcpt, helo))
        self.push(t + 0.4 + count * 0.05, "smtpd", pid,
                  "disconnect from %s[%s] ehlo=1 mail=1 rcpt=0/%d quit=1 commands=3/%d"
                  % (name, ip, count, count + 3))

    def other_reject(self, t):
        rng = self.rng
        ip = rng.choice(self.bots)
        name = rdns(rng, ip)
        pid = self.smtpd_open(t, ip, name)
        rcpt = "%s@%s" % (rng.choice(FIRST), rng.choice(SENDER_DOMAINS))
        if rng.random() < 0.5:
            text = ("NOQUEUE: reject: RCPT from %s[%s]: 454 4.7.1 <%s>: Relay access "
                    "denied; from=<%s@%s> to=<%s> proto=ESMTP helo=<%s>" % (
                        name, ip, rcpt, rng.choice(FIRST), rng.choice(SENDER_DOMAINS),
                        rcpt, rng.choice(HELOS_BOT)))
        else:
            rcpt = "%s@%s" % (rng.choice(self.users), rng.choice(DOMAINS_LOCAL))
            text = ("NOQUEUE: reject: RCPT from %s[%s]: 450 4.7.1 Client host rejected: "
                    "cannot find your hostname, [%s]; from=<%s@%s> to=<%s> proto=ESMTP "
                    "helo=<%s>" % (name, ip, ip, rng.choice(FIRST),
                                   rng.choice(SENDER_DOMAINS), rcpt, rng.choice(HELOS_BOT)))
        self.push(t + 0.3, "smtpd", pid, text)
        self.push(t + 0.4, "smtpd", pid, "disconnect from %s[%s] ehlo=1 mail=1 "
                  "rcpt=0/1 quit=1 commands=3/4" % (name, ip))

    def sasl_guesses(self, t):
        rng = self.rng
        ip = rng.choice(self.guessers)
        name = rdns(rng, ip)
        pid = self.smtpd_open(t, ip, name)
        n = rng.randrange(1, 4)
        for i in range(n):
            mech = "LOGIN" if rng.random() < 0.7 else "PLAIN"
            tt = t + 0.5 + i * 1.5
            if rng.random() < 0.6:
                self.push(tt, "smtpd", pid, "warning: SASL authentication failure: "
                          "Password verification failed")
            user = "%s@%s" % (rng.choice(FIRST), rng.choice(DOMAINS_LOCAL))
            reason = ("authentication failure, sasl_username=%s" % user
                      if mech == "PLAIN" or rng.random() < 0.7 else "UGFzc3dvcmQ6")
            self.push(tt + 0.01, "smtpd", pid, "warning: %s[%s]: SASL %s authentication "
                      "failed: %s" % (name, ip, mech, reason))
        self.push(t + 0.6 + n * 1.5, "smtpd", pid, "disconnect from %s[%s] ehlo=1 "
                  "auth=0/%d quit=1 commands=2/%d" % (name, ip, n, n + 2))

    def tell(self, t):
        rng = self.rng
        ip = rng.choice(self.bots)
        port = rng.randrange(1024, 65536)
        ps = self.pids["postscreen"]
        cli = "[%s]:%d" % (ip, port)
        self.push(t, "postscreen", ps, "CONNECT from %s to [192.0.2.25]:25" % cli)
        k = rng.random()
        if k < 0.45:
            helo = rng.choice(HELOS_BOT)
            text = "PREGREET %d after %.2f from %s: EHLO %s\\r\\n" % (
                len(helo) + 7, rng.random() * 3, cli, helo)
        elif k < 0.7:
            text = "HANGUP after %.1f from %s in tests before SMTP handshake" % (
                rng.random() * 5, cli)
        elif k < 0.8:
            text = "BARE NEWLINE from %s after EHLO %s" % (cli, rng.choice(HELOS_BOT))
        elif k < 0.9:
            text = "NON-SMTP COMMAND from %s after CONNECT: %s" % (
                cli, rng.choice(["GET / HTTP/1.0", "GET / HTTP/1.1",
                                 "CONNECT 93.184.216.34:25 HTTP/1.0", "\\x16\\x03\\x01"]))
        else:
            text = ("COMMAND PIPELINING from %s after EHLO: MAIL FROM:<%s@%s>\\r\\n"
                    % (cli, rng.choice(FIRST), rng.choice(SENDER_DOMAINS)))
        self.push(t + 1.0, "postscreen", ps, text)
        if rng.random() < 0.3:
            self.push(t + 1.2, "postscreen", ps, "NOQUEUE: reject: RCPT from %s: 550 5.5.1 "
                      "Protocol error; from=<%s@%s>, to=<%s@%s>, proto=ESMTP, helo=<%s>" % (
                          cli, rng.choice(FIRST), rng.choice(SENDER_DOMAINS),
                          rng.choice(self.users), DOMAINS_LOCAL[0], rng.choice(HELOS_BOT)))
        self.push(t + 1.3, "postscreen", ps, "DISCONNECT " + cli)

    def noise(self, t):
        rng = self.rng
        ip = rng.choice(self.bots)
        name = rdns(rng, ip)
        k = rng.random()
        if k < 0.5:
            pid = self.smtpd_open(t, ip, name)
            self.push(t + 2.0, "smtpd", pid, "lost connection after %s from %s[%s]" % (
                rng.choice(["EHLO", "CONNECT", "AUTH", "RCPT", "STARTTLS"]), name, ip))
            self.push(t + 2.0, "smtpd", pid, "disconnect from %s[%s] ehlo=1 commands=1" %
                      (name, ip))
        elif k < 0.7:
            pid = rng.choice(self.smtpd_pids)
            self.push(t, "smtpd", pid, "warning: hostname %s does not resolve to address %s"
                      % (name if name != "unknown" else "host.example-isp.net", ip))
        elif k < 0.85:
            self.push(t, "anvil", self.pids["anvil"], "statistics: max connection rate "
                      "%d/60s for (smtp:%s) at %s" % (rng.randrange(1, 30), ip, self.stamp(t)))
        else:
            pid = rng.choice(self.smtpd_pids)
            self.push(t, "smtpd", pid, "improper command pipelining after EHLO from "
                      "%s[%s]: QUIT\\r\\n" % (name, ip))

    def session(self, t):
        k = self.rng.random()
        if k < 0.53:
            self.delivery(t)
        elif k < 0.56:  # a typo now and then
            self.unknown_rcpts(t, self.rng.choice(self.senders), 1, False)
        elif k < 0.565:  # hammering
            n = int(self.rng.paretovariate(1.2) * 8)
            self.unknown_rcpts(t, self.rng.choice(self.dict_attackers), min(n, 400), True)
        elif k < 0.63:
            self.sasl_guesses(t)
        elif k < 0.80:
            self.tell(t)
        elif k < 0.87:
            self.other_reject(t)
        else:
            self.noise(t)

    def run(self, lines, out):
        rng = self.rng
        t = float(self.t0)
        # a session averages about 6.8 lines (measured on this mix)
        gap = 6.8 / self.rate
        buf = []
        written = 0
        host = self.host
        while written < lines:
            self.session(t)
            t += rng.expovariate(1.0 / gap)
            heap = self.heap
            while heap and heap[0][0] <= t and written < lines:
                lt, _, prog, pid, text = heapq.heappop(heap)
                buf.append("%s %s postfix/%s[%d]: %s\n" % (self.stamp(lt), host, prog,
                                                            pid, text))
                written += 1
                if len(buf) >= 8192:
                    out.write("".join(buf))
                    buf.clear()
        out.write("".join(buf))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("lines", type=int)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--start", default="2026-11-20T00:00:00",
                    help="UTC time of the first line")
    ap.add_argument("--rate", type=float, default=20.0, help="lines per second")
    ap.add_argument("--host", default="mx1")
    ap.add_argument("--zero-pad", action="store_true",
                    help='"Nov 03" as Postfix\'s maillog_file writes, not "Nov  3"')
    ap.add_argument("-o", "--output", help="file (default: stdout)")
    a = ap.parse_args()
    start = calendar.timegm(datetime.datetime.strptime(
        a.start, "%Y-%m-%dT%H:%M:%S").timetuple())
    out = open(a.output, "w") if a.output else sys.stdout
    Gen(a.seed, start, a.rate, a.host, a.zero_pad).run(a.lines, out)
    out.close()


if __name__ == "__main__":
    main()
