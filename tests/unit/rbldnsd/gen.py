#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""gen.py -- differential fixtures for src/dns/rbldnsd.c from the real rbldnsd

Generates random datasets (ip4set, ip4trie, ip6trie) with overlapping
entries, exclusions, ranges in every short form, values, defaults,
substitution variables, comments and bad lines; serves them all with the
real rbldnsd on a random loopback port; asks it A and TXT for addresses
in, around and outside the entries; writes, per dataset:

  NAME.TYPE.data     the dataset text
  NAME.TYPE.expect   one line per address:
                     ADDR <TAB> A,A... <TAB> hex(TXT),hex(TXT)...
                     ("-" for none; both lists sorted and de-duplicated,
                     since DNS answer order carries no meaning)

tests/unit/test_rbldnsd.c loads each .data with our library and asserts
the same answers. Needs: apt-get install rbldnsd (Debian 12:
1.0~20210120). rbldnsd refuses to run as root, so it is started with
-u nobody (when run as root) and the files are made world-readable.

  gen.py [--out DIR] [--seed N] [--sets N] [--queries N]

Defaults write the committed fixtures next to this script. For a bigger
run: gen.py --out /tmp/rbl --sets 300 --queries 2000, then
RBL_FIXTURE_DIR=/tmp/rbl build/tests/unit/test_rbldnsd.
"""
import argparse
import ipaddress
import os
import random
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


# ---------------------------------------------------------------- datasets

def rtxt(r):
    pool = [
        "Listed $", "see http://bl.example/q?$", "spam source",
        "100%% $$ dollars $$$", "$1 / $", "$2 ($0)", "=raw $ no base",
        "$= wrapped", "x" * r.randint(250, 300), "dollar at end $",
        "tab\tinside", "quote \" and 'single'", "semi ; and # hash",
        "$9 unset var", "a:b:c colons",
    ]
    return r.choice(pool)


def rvalue(r):
    k = r.randrange(12)
    if k < 4:
        return ""
    if k == 4:
        return " :%d:%s" % (r.randint(1, 12), rtxt(r))
    if k == 5:
        return " :127.0.0.%d" % r.randint(1, 20)
    if k == 6:
        return " :%d:" % r.randint(1, 12)
    if k == 7:
        return " " + rtxt(r)
    if k == 8:
        return "\t# comment"
    if k == 9:
        return " ; comment"
    if k == 10:
        return ":%d:%s" % (r.randint(1, 9), rtxt(r))  # no blank before
    return " :127.%d.%d.%d:%s" % (r.randint(0, 1), r.randint(0, 3),
                                  r.randint(1, 9), rtxt(r))


def rdefault(r):
    k = r.randrange(4)
    if k == 0:
        return ":%d:%s" % (r.randint(2, 9), rtxt(r))
    if k == 1:
        return ":127.0.0.%d" % r.randint(2, 9)
    if k == 2:
        return ":%d:" % r.randint(2, 9)
    return ":127.0.1.%d:Default $" % r.randint(2, 9)


SPECIALS = [
    "$TTL 300", "$TTL 1h", "$SOA 0 ns.example.org. hm.example.org. 0 1h 1h 2d 1h",
    "$NS 3600 ns1.example.org ns2.example.org", "#$1 http://one.example",
    "$2 two", "$0 zero", ":$TTL 60", ";$3 three",
]
BAD4 = ["garbage", "1.2.3.4.5", "300.1.1.1", "10.0.0.0/33", "10",
        "10.0.0.1 :0:x", "10.0.0.1 :2 x", "10.0.0.1-10.0.0.0",
        "10.0.0.1/24", "$UNKNOWN x", "$DATASET ip4set x", "1.2-1.2.3.4",
        "10.0.0.1\r", "!", "10.0.0.1:", "10.0.0.1,", "$TTL", "0/0"]


def v4(n):
    return str(ipaddress.IPv4Address(n))


def gen_ip4(r, trie):
    """Entries over 10.0.0.0/14 so that they overlap."""
    lines, spans = [], []
    base = 0x0A000000
    for _ in range(r.randint(20, 70)):
        k = r.randrange(20)
        if k == 0:
            lines.append(rdefault(r))
            continue
        if k == 1:
            lines.append(r.choice(SPECIALS))
            continue
        if k == 2:
            lines.append(r.choice(BAD4))
            continue
        if k == 3:
            lines.append(r.choice(["# just a comment", "; another", "",
                                   "   ", "\t# indented"]))
            continue
        if k == 4 and r.random() < 0.15:
            lines.append("$= base [$=] for $")
            continue
        if k == 5 and r.random() < 0.1:
            lines.append("$MAXRANGE4 /%d" % r.randint(20, 26))
            continue
        excl = "!" if r.random() < 0.25 else ""
        a = base + r.randrange(1 << 18)
        f = r.randrange(9)
        if f == 0:
            text, lo, hi = v4(a), a, a
        elif f == 1:
            a &= 0xffffff00
            o = v4(a).split(".")
            text, lo, hi = ".".join(o[:3]), a, a | 0xff
        elif f == 2:
            a &= 0xffff0000
            o = v4(a).split(".")
            text, lo, hi = ".".join(o[:2]), a, a | 0xffff
        elif f == 3 and r.random() < 0.3:
            text, lo, hi = "10/8", 0x0A000000, 0x0AFFFFFF
        elif f in (3, 4, 5) or trie:
            n = r.randint(12, 32) if not trie else r.randint(0, 32)
            if trie and n < 8 and r.random() < 0.8:
                n = r.randint(12, 32)
            m = (0xffffffff << (32 - n)) & 0xffffffff if n else 0
            a &= m
            text = "%s/%d" % (v4(a), n)
            lo, hi = a, a | (~m & 0xffffffff)
            if trie and r.random() < 0.2:
                # the short prefix forms: 10.1 is a /16 in a trie
                o = v4(a).split(".")
                if n == 16 and a & 0xffff == 0:
                    text = ".".join(o[:2])
                elif n == 24 and a & 0xff == 0:
                    text = ".".join(o[:3])
        elif f == 6:
            b = a + r.randint(0, 700)
            text, lo, hi = "%s-%s" % (v4(a), v4(b)), a, b
        elif f == 7:
            a &= 0xffffff00
            x, y = sorted(r.sample(range(256), 2))
            text = "%s-%d" % (v4(a + x), y)
            lo, hi = a + x, a + y
        else:
            a &= 0xffff0000
            o = v4(a).split(".")
            y = r.randint(int(o[1]), min(255, int(o[1]) + 3))
            text = "%s.%s-%d" % (o[0], o[1], y)
            lo, hi = a, (int(o[0]) << 24 | y << 16 | 0xffff)
        ws = r.choice(["", "", " ", "\t", "  "])
        lines.append(ws + excl + text + ("" if excl and r.random() < 0.5
                                         else rvalue(r)))
        spans.append((lo, hi))
        if r.random() < 0.1:   # a duplicate, maybe with another value
            lines.append(excl + text + rvalue(r))
    return lines, spans


def v6(n):
    return str(ipaddress.IPv6Address(n))


def gen_ip6(r):
    lines, spans = [], []
    base = 0x20010db8 << 96
    for _ in range(r.randint(20, 60)):
        k = r.randrange(16)
        if k == 0:
            lines.append(rdefault(r))
            continue
        if k == 1:
            lines.append(r.choice(SPECIALS))
            continue
        if k == 2:
            lines.append(r.choice(["2001", "2001:db8::/129", "::1::2",
                                   "2001:db8:0:1::1/64", "g::1",
                                   "1:2:3:4:5:6:7:8:9", "2001:db8:::1",
                                   "12345::", "1:2:3:4:5:6:7:8::"]))
            continue
        excl = "!" if r.random() < 0.25 else ""
        if r.random() < 0.1:
            a = (0xffff << 32) | (0x0A000000 + r.randrange(1 << 16))
        else:
            a = base + (r.randrange(4) << 80) + (r.randrange(1 << 20) << 44) \
                + r.randrange(1 << 16)
        n = r.choice([128, 128, 64, 48, 56, 60, 96, 112, 120, 127, 32,
                      r.randint(0, 128)])
        m = ((1 << 128) - 1) ^ ((1 << (128 - n)) - 1) if n else 0
        a &= m
        f = r.randrange(4)
        if f == 0 and n % 16 == 0 and 32 <= n < 128 and \
                a & ((1 << (128 - n)) - 1) == 0:
            # rbldnsd's group prefix: 2001:db8:1 is a /48
            groups = ["%x" % ((a >> (112 - 16 * i)) & 0xffff)
                      for i in range(n // 16)]
            text = ":".join(groups)
        elif f == 1:
            text = v6(a) if n == 128 else "%s/%d" % (v6(a), n)
        elif f == 2:
            full = ":".join("%x" % ((a >> (112 - 16 * i)) & 0xffff)
                            for i in range(8))
            text = full if n == 128 else "%s/%d" % (full, n)
        else:
            text = "%s/%d" % (v6(a), n)
        lines.append(excl + text + rvalue(r))
        spans.append((a, a | ((1 << (128 - n)) - 1)))
    return lines, spans


def queries(r, spans, count, six):
    top = (1 << 128) - 1 if six else 0xffffffff
    qs = set()
    for lo, hi in spans:
        for x in (lo, hi, lo - 1, hi + 1):
            if 0 <= x <= top:
                qs.add(x)
    spans = spans or [(0x0A000000, 0x0A03FFFF)]
    while len(qs) < count:
        lo, hi = r.choice(spans)
        if r.random() < 0.8:
            qs.add(r.randint(lo, hi))
        elif six:
            qs.add((0x20010db8 << 96) + r.randrange(1 << 96))
        else:
            qs.add(0x0A000000 + r.randrange(1 << 18))
    qs = sorted(qs)
    r.shuffle(qs)
    return qs[:count]


# ---------------------------------------------------------------- DNS

def qname(addr, six, zone):
    if six:
        nib = "%032x" % addr
        labels = list(reversed(nib))
    else:
        labels = list(reversed(v4(addr).split(".")))
    return labels + zone.split(".")


def build_query(qid, labels, qtype):
    # EDNS0 (RFC 6891) with a 4096-byte payload: without it rbldnsd
    # quietly leaves out the RRs that do not fit in 512 bytes
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 1)
    for lab in labels:
        q += bytes([len(lab)]) + lab.encode()
    q += b"\0" + struct.pack(">HH", qtype, 1)
    return q + b"\0" + struct.pack(">HHIH", 41, 4096, 0, 0)


def skip_name(m, i):
    while True:
        n = m[i]
        if n == 0:
            return i + 1
        if n & 0xC0 == 0xC0:
            return i + 2
        i += 1 + n


def parse_answer(m):
    qid, flags, qd, an, _, _ = struct.unpack(">HHHHHH", m[:12])
    i = 12
    for _ in range(qd):
        i = skip_name(m, i) + 4
    rrs = []
    for _ in range(an):
        i = skip_name(m, i)
        t, _, _, rdl = struct.unpack(">HHIH", m[i:i + 10])
        i += 10
        rrs.append((t, m[i:i + rdl]))
        i += rdl
    if flags & 0x0200:
        raise RuntimeError("truncated answer: results would be partial")
    return qid, flags & 15, rrs


def ask(sock, port, labels, qtype, qid):
    q = build_query(qid, labels, qtype)
    for _ in range(5):
        sock.sendto(q, ("127.0.0.1", port))
        try:
            while True:
                m, _ = sock.recvfrom(4096)
                rid, rcode, rrs = parse_answer(m)
                if rid == qid:
                    return rcode, rrs
        except socket.timeout:
            continue
    raise RuntimeError("no answer from rbldnsd")


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=HERE)
    ap.add_argument("--seed", type=int, default=20240501)
    ap.add_argument("--sets", type=int, default=8,
                    help="random datasets per type")
    ap.add_argument("--queries", type=int, default=250)
    args = ap.parse_args()
    r = random.Random(args.seed)

    sets = []  # (name, type, lines, spans)
    for t in ("ip4set", "ip4trie", "ip6trie"):
        for i in range(args.sets):
            if t == "ip6trie":
                lines, spans = gen_ip6(r)
            else:
                lines, spans = gen_ip4(r, t == "ip4trie")
            sets.append(("r%03d" % i, t, lines, spans))
    for name in sorted(os.listdir(HERE)):   # hand-written edge cases
        if name.startswith("edge") and name.endswith(".in"):
            base, t, _ = name.split(".")
            with open(os.path.join(HERE, name)) as f:
                lines = f.read().split("\n")
            sets.append((base, t, lines, []))

    work = tempfile.mkdtemp(prefix="rbl-gen-")
    os.chmod(work, 0o755)
    specs = []
    for k, (name, t, lines, _) in enumerate(sets):
        fn = "%s.%s.data" % (name, t)
        with open(os.path.join(work, fn), "w") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(os.path.join(work, fn), 0o644)
        specs.append("z%d.test:%s:%s" % (k, t, fn))

    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(0.5)
    cmd = ["rbldnsd", "-n", "-q", "-b", "127.0.0.1/%d" % port, "-w", work]
    if os.geteuid() == 0:
        cmd += ["-u", "nobody"]
    proc = subprocess.Popen(cmd + specs, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        os.makedirs(args.out, exist_ok=True)
        qid = 1
        total = 0
        for k, (name, t, lines, spans) in enumerate(sets):
            six = t == "ip6trie"
            qs = queries(r, spans, args.queries, six)
            if name.startswith("edge"):
                qs = edge_queries(lines, six)
            out = []
            for addr in qs:
                labels = qname(addr, six, "z%d.test" % k)
                a_set, t_set = set(), set()
                for qtype in (1, 16):
                    qid = qid % 65535 + 1
                    rcode, rrs = ask(sock, port, labels, qtype, qid)
                    for rt, rd in rrs:
                        if rt == 1:
                            a_set.add(socket.inet_ntoa(rd))
                        elif rt == 16:
                            t_set.add(rd[1:1 + rd[0]].hex())
                text = v6(addr) if six else v4(addr)
                out.append("%s\t%s\t%s" % (
                    text,
                    ",".join(sorted(a_set, key=socket.inet_aton)) or "-",
                    ",".join(sorted(t_set)) or "-"))
                total += 1
            with open(os.path.join(work, "%s.%s.data" % (name, t))) as f:
                data = f.read()
            with open(os.path.join(args.out, "%s.%s.data" % (name, t)),
                      "w") as f:
                f.write(data)
            with open(os.path.join(args.out, "%s.%s.expect" % (name, t)),
                      "w") as f:
                f.write("\n".join(out) + "\n")
        print("%d datasets, %d addresses (A and TXT each) -> %s" %
              (len(sets), total, args.out))
    finally:
        proc.terminate()
        proc.wait()
    return 0


def edge_queries(lines, six):
    """Every address written in an edge file, and its neighbours."""
    qs = set()
    for ln in lines:
        if ln.startswith("#?"):
            for w in ln[2:].split():
                n = int(ipaddress.ip_address(w))
                qs.update(x for x in (n - 1, n, n + 1) if x >= 0)
    return sorted(qs)


if __name__ == "__main__":
    sys.exit(main())
