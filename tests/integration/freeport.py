"""A free loopback port for a server under test, outside the kernel's
ephemeral range.

Why not port 0 (or a port the kernel picked): a server on a port from the
ephemeral range can have that same port handed to a client. dig sets
SO_REUSEPORT on its UDP socket, and for two sockets of one user Linux then
lets the automatic bind of the client take a port the server holds. When
it takes the very port it asks, dig receives its own query and reads it as
the answer: NOERROR with no records, once in about 28,000 queries (seen in
test_xfr). No automatic bind lands outside the range.

Run as a script, it prints one port (bench/dnslib.sh uses it).
"""
import random
import socket
import sys

RANGE_FILE = "/proc/sys/net/ipv4/ip_local_port_range"


def _candidates():
    """The ports to pick from: below the ephemeral range, else above it."""
    try:
        with open(RANGE_FILE) as f:
            low, high = (int(x) for x in f.read().split()[:2])
    except (OSError, ValueError):
        low, high = 32768, 60999
    if low - 10000 >= 1000:
        return range(10000, low)
    if 65535 - high >= 1000:
        return range(high + 1, 65536)
    return range(1024, max(low, 1024))  # may be empty: see free_port


def _family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _free_on(port, host):
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(_family(host), kind) as s:
            try:
                s.bind((host, port))
            except OSError:
                return False
    return True


def free_port(*hosts):
    """A port free right now for both UDP and TCP on each of @hosts
    (default 127.0.0.1). A race with another program binding it after is
    accepted: nothing else here binds in this range."""
    hosts = hosts or ("127.0.0.1",)
    ports = _candidates()
    if not ports:
        # The ephemeral range takes (nearly) every port: one the kernel
        # picks, as before, with the rare collision above.
        with socket.socket(_family(hosts[0]), socket.SOCK_DGRAM) as s:
            s.bind((hosts[0], 0))
            return s.getsockname()[1]
    for _ in range(200):
        port = random.choice(ports)
        if all(_free_on(port, h) for h in hosts):
            return port
    raise RuntimeError("no free port in %s" % ports)


def loopback(host="127.0.0.1"):
    """A listen address (for --listen or a config's listen) on a free
    port: HOST:PORT, IPv6 in brackets."""
    port = free_port(host)
    return ("[%s]:%d" if ":" in host else "%s:%d") % (host, port)


if __name__ == "__main__":
    print(free_port(*sys.argv[1:]))
