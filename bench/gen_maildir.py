#!/usr/bin/env python3
"""gen_maildir.py -- a seeded, synthetic spam-trap maildir.

usage: bench/gen_maildir.py [--seed S] [--end YYYY-MM-DDTHH:MM:SS]
                            [--days D] [--own-relay IP] DIR COUNT

Writes COUNT messages into DIR/new (and creates DIR/cur and DIR/tmp), as a
trap mailbox behind Postfix would hold them. The same arguments give the
same files (names and bytes).

Each message:
- a Received chain, newest first: with --own-relay, a hop added by the
  mailbox server for the relay (client = that address, which trapline's
  [ingest] own_relays must name); then the hop the MX added for the
  sender (a public unicast address, IPv6 for about 5%); then 0-2 hops the
  sender forged (any addresses, private ones too);
- Return-Path, Delivered-To, Date, From, To, Subject, Message-ID;
- 1-20 KB (log-uniform), plain text, some multipart/alternative with
  HTML, some quoted-printable;
- about 10% pharma words and 5% phishing phrases (etc/rules.conf),
  about 5% a base64 attachment: a Windows executable (.exe, "MZ") or a
  .zip holding one;
- about 3% bounces: null Return-Path, From MAILER-DAEMON,
  multipart/report (RFC 3464), which the importer skips.

Delivery times fall in the --days (default 7) before --end (default
2026-11-27T00:00:00, the benchmark's TRAPLINE_NOW), in UTC, increasing
with the file names' sequence numbers.
"""
import argparse
import base64
import calendar
import datetime
import io
import ipaddress
import os
import random
import time
import zipfile

WORDS = ("the of and to in is you that it he was for on are as with his they at "
         "be this have from or one had by word but not what all were we when your "
         "can said there use an each which she do how their if will up other about "
         "out many then them these so some her would make like him into time has "
         "look two more write go see number no way could people my than first water "
         "been call who oil its now find long down day did get come made may part "
         "offer price order today free special limited deal customer service").split()
PHARMA = ["Buy viagra online, no prescription needed.",
          "Cheap cialis and levitra from our online pharmacy.",
          "Best prices on viagra - online pharmacy, fast shipping."]
PHARMA_SUBJ = ["Cheap pills", "Your pharmacy order", "RX discount 80% off",
               "V1agra? No: viagra pills"]
PHISH = ["Please verify your account within 24 hours or it will be suspended.",
         "We noticed unusual activity. Confirm your password here: http://{d}/login",
         "Your invoice is ready. Update your billing details to avoid interruption."]
PHISH_SUBJ = ["Verify your account", "Action required: confirm your mailbox password",
              "Your account has been suspended", "Unlock your account"]
SUBJECTS = ["Hello", "Re: meeting", "Quick question", "Business proposal",
            "Invitation", "Your order #{n}", "Newsletter", "Important notice",
            "Partnership", "Re: Re: hi"]
NAMES = ["Anna", "Ben", "Chloe", "Dmitri", "Elena", "Farid", "Grace", "Hiro",
         "Ines", "Jonas", "Kemal", "Lucia", "Marco", "Nadia", "Omar", "Priya"]
DOMAINS = ["example.com", "example.net", "mail.example.org", "shop.example.com",
           "news.example.net", "promo.example.com"]
TRAP = "trap@trap.example.org"
MX = "mx1.trap.example.org"
STORE = "store.trap.example.org"
DOC6 = ipaddress.IPv6Network("2001:db8::/32")


def public_v4(rng):
    while True:
        a = ipaddress.IPv4Address(rng.getrandbits(32))
        if a.is_global and not a.is_multicast:
            return str(a)


def public_v6(rng):
    while True:
        a = ipaddress.IPv6Address(((0x2000 | rng.getrandbits(12)) << 112)
                                  | (rng.getrandbits(48) << 64) | rng.getrandbits(16))
        if a.is_global and a not in DOC6:
            return str(a)


def rfc2822(t):
    return time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(t))


def bracket(ip):
    return "[IPv6:%s]" % ip if ":" in ip else "[%s]" % ip


class Gen:
    def __init__(self, seed, end, days, own_relay):
        self.rng = random.Random(seed)
        self.end = end
        self.start = end - days * 86400
        self.own_relay = own_relay
        # Senders repeat: a pool of spewing addresses, heavy-tailed.
        self.pool = [public_v6(self.rng) if self.rng.random() < 0.05
                     else public_v4(self.rng) for _ in range(20000)]

    def qid(self):
        return "%010X" % self.rng.getrandbits(40)

    def sender_ip(self):
        rng = self.rng
        if rng.random() < 0.3:
            return self.pool[int(rng.paretovariate(1.0)) % len(self.pool)]
        return rng.choice(self.pool)

    def text(self, size):
        rng = self.rng
        out, n = [], 0
        while n < size:
            line = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(8, 14)))
            line = line[0].upper() + line[1:] + "."
            out.append(line)
            n += len(line) + 1
        return out

    def received(self, t, ip, helo):
        rng = self.rng
        hops = []
        if self.own_relay:
            hops.append("Received: from %s (%s [%s])\n\tby %s (Postfix) with ESMTPS id %s\n"
                        "\tfor <%s>; %s" % (MX, MX, self.own_relay, STORE, self.qid(), TRAP,
                                            rfc2822(t)))
            t -= rng.randrange(1, 5)
        name = "unknown" if rng.random() < 0.5 else "host-%s.example-isp.net" % ip.replace(
            ".", "-").replace(":", "-")
        hops.append("Received: from %s (%s %s)\n\tby %s (Postfix) with %s id %s\n"
                    "\tfor <%s>; %s" % (helo, name, bracket(ip), MX,
                                        rng.choice(["ESMTP", "SMTP", "ESMTPS"]),
                                        self.qid(), TRAP, rfc2822(t)))
        for _ in range(rng.choice([0, 0, 1, 2])):  # forged by the sender
            t -= rng.randrange(30, 4000)
            fake = rng.choice([public_v4(rng), "10.%d.%d.%d" % (
                rng.randrange(256), rng.randrange(256), rng.randrange(1, 255)),
                "192.168.%d.%d" % (rng.randrange(256), rng.randrange(1, 255))])
            hops.append("Received: from %s ([%s])\n\tby %s with SMTP id %x;\n\t%s" % (
                rng.choice(["User", "localhost", "mail.%s" % rng.choice(DOMAINS)]), fake,
                "smtp%d.%s" % (rng.randrange(1, 9), rng.choice(DOMAINS)),
                rng.getrandbits(48), rfc2822(t)))
        return hops

    def attachment(self, boundary):
        rng = self.rng
        exe = (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 44
               + b"\x80\x00\x00\x00This program cannot be run in DOS mode.\r\r\n$"
               + rng.randbytes(rng.randrange(2000, 9000)))
        name = rng.choice(["invoice", "document", "scan_0042", "payment", "DHL_label"])
        if rng.random() < 0.5:
            data, fname, ctype = exe, name + ".exe", "application/x-msdownload"
        else:
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
                z.writestr(zipfile.ZipInfo(name + ".exe", (2026, 11, 1, 0, 0, 0)), exe)
            data, fname, ctype = buf.getvalue(), name + ".zip", "application/zip"
        b64 = base64.encodebytes(data).decode().rstrip("\n")
        return ("--%s\nContent-Type: %s; name=\"%s\"\nContent-Transfer-Encoding: base64\n"
                "Content-Disposition: attachment; filename=\"%s\"\n\n%s\n" % (
                    boundary, ctype, fname, fname, b64))

    def message(self, t, n):
        rng = self.rng
        ip = self.sender_ip()
        helo = rng.choice(["User", "localhost", "mail.%s" % rng.choice(DOMAINS),
                           "WIN-%X" % rng.getrandbits(32)])
        size = int(1024 * 20 ** rng.random())  # 1-20 KB, log-uniform
        k = rng.random()
        if k < 0.03:
            return self.bounce(t, ip, helo, size)
        sender = "%s@%s" % (rng.choice(NAMES).lower(), rng.choice(DOMAINS))
        subject = rng.choice(SUBJECTS).format(n=rng.randrange(10000, 99999))
        lead = []
        if k < 0.13:
            subject = rng.choice(PHARMA_SUBJ)
            lead = [rng.choice(PHARMA)]
        elif k < 0.18:
            subject = rng.choice(PHISH_SUBJ)
            lead = [rng.choice(PHISH).format(d=rng.choice(DOMAINS))]
        attach = rng.random() < 0.05
        head = ["Return-Path: <%s>" % sender, "X-Original-To: " + TRAP,
                "Delivered-To: " + TRAP] + self.received(t, ip, helo) + [
            "Date: " + rfc2822(t - rng.randrange(5, 600)),
            "From: \"%s\" <%s>" % (rng.choice(NAMES), sender),
            "To: <%s>" % TRAP, "Subject: " + subject,
            "Message-ID: <%x.%d@%s>" % (rng.getrandbits(64), n, rng.choice(DOMAINS))]
        alt = not attach and rng.random() < 0.25
        b = "=_b%x" % rng.getrandbits(48)
        att = self.attachment(b) if attach else ""
        # the headers take about 600 bytes; HTML repeats the text
        budget = max(200, size - 600 - len(att))
        body = "\n".join(lead + self.text(budget // 2 if alt else budget))
        if attach or alt:
            head += ["MIME-Version: 1.0",
                     "Content-Type: multipart/%s; boundary=\"%s\"" % (
                         "mixed" if attach else "alternative", b)]
            parts = ["This is a multi-part message in MIME format.\n",
                     "--%s\nContent-Type: text/plain; charset=utf-8\n"
                     "Content-Transfer-Encoding: 8bit\n\n%s\n" % (b, body)]
            if attach:
                parts.append(att)
            else:
                html = "<html><body>%s</body></html>" % "".join(
                    "<p>%s</p>" % p for p in body.split("\n"))
                parts.append("--%s\nContent-Type: text/html; charset=utf-8\n"
                             "Content-Transfer-Encoding: quoted-printable\n\n%s\n" % (
                                 b, qp(html)))
            parts.append("--%s--\n" % b)
            text = "\n".join(head) + "\n\n" + "\n".join(parts)
        else:
            head += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=us-ascii"]
            text = "\n".join(head) + "\n\n" + body + "\n"
        return text

    def bounce(self, t, ip, helo, size):
        rng = self.rng
        b = "%X.%d/%s" % (rng.getrandbits(40), int(t), "bounce.example.net")
        orig = "Message-ID: <%x@trap.example.org>\nSubject: %s\n" % (
            rng.getrandbits(64), rng.choice(PHARMA_SUBJ))
        head = ["Return-Path: <>", "X-Original-To: " + TRAP, "Delivered-To: " + TRAP
                ] + self.received(t, ip, helo) + [
            "Date: " + rfc2822(t), "From: MAILER-DAEMON@bounce.example.net "
            "(Mail Delivery System)", "Subject: Undelivered Mail Returned to Sender",
            "To: " + TRAP, "Auto-Submitted: auto-replied", "MIME-Version: 1.0",
            "Content-Type: multipart/report; report-type=delivery-status;\n"
            "\tboundary=\"%s\"" % b,
            "Message-Id: <%x@bounce.example.net>" % rng.getrandbits(64)]
        parts = ["This is a MIME-encapsulated message.\n",
                 "--%s\nContent-Description: Notification\nContent-Type: text/plain; "
                 "charset=us-ascii\n\nThis is the mail system at host bounce.example.net.\n\n"
                 "I'm sorry to have to inform you that your message could not\nbe delivered "
                 "to one or more recipients.\n\n<nobody@example.com>: host "
                 "mx.example.com said: 550 5.1.1 User unknown\n" % b,
                 "--%s\nContent-Description: Delivery report\nContent-Type: "
                 "message/delivery-status\n\nReporting-MTA: dns; bounce.example.net\n\n"
                 "Final-Recipient: rfc822; nobody@example.com\nAction: failed\n"
                 "Status: 5.1.1\n" % b,
                 "--%s\nContent-Description: Undelivered Message Headers\nContent-Type: "
                 "text/rfc822-headers\n\n%s" % (b, orig),
                 "--%s--\n" % b]
        return "\n".join(head) + "\n\n" + "\n".join(parts)

    def run(self, d, count):
        for sub in ("new", "cur", "tmp"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        step = (self.end - self.start) / max(count, 1)
        for n in range(count):
            t = int(self.start + n * step + self.rng.random() * step)
            text = self.message(t, n)
            name = "%d.M%06dP%dQ%d.trap1" % (t, self.rng.randrange(1000000), 4242, n + 1)
            with open(os.path.join(d, "new", name), "w") as f:
                f.write(text)


def qp(s):
    """Quoted-printable (RFC 2045 6.7): soft line breaks at 76 columns."""
    out, line = [], ""
    for ch in s:
        enc = "=%02X" % ord(ch) if ch == "=" or ord(ch) > 126 else ch
        if len(line) + len(enc) > 75:
            out.append(line + "=")
            line = ""
        line += enc
    out.append(line)
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir")
    ap.add_argument("count", type=int)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--end", default="2026-11-27T00:00:00", help="UTC")
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--own-relay", help="address of our relay (adds a top hop)")
    a = ap.parse_args()
    if a.own_relay:
        ipaddress.ip_address(a.own_relay)
    end = calendar.timegm(datetime.datetime.strptime(
        a.end, "%Y-%m-%dT%H:%M:%S").timetuple())
    Gen(a.seed, end, a.days, a.own_relay).run(a.dir, a.count)


if __name__ == "__main__":
    main()
