"""addrs.py -- random public IPv4 addresses for the benchmark scripts
(dns.sh, xfr.sh, check.sh): never in the special-purpose ranges that
trapline never lists (0/8, 10/8, 127/8, 224/3, 169.254/16, 192.168/16,
172.16/12, 100.64/10), so every one generated can be listed."""


def public(rnd):
    """A random public address from @rnd (random.Random), as an int."""
    while True:
        a = rnd.randrange(1 << 32)
        o = a >> 24
        if o in (0, 10, 127) or o >= 224 or (a >> 16) in (0xa9fe, 0xc0a8) \
           or (a >> 20) == 0xac1 or (a >> 22) == (100 << 2 | 1):
            continue
        return a


def dotted(a):
    return "%d.%d.%d.%d" % (a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255)
