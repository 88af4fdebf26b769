/* SPDX-License-Identifier: MIT */
/* xdp_frame.c -- the Ethernet, IP and UDP headers of queries taken off
 * the interface by AF_XDP, and of their replies (xdp.h)
 *
 * Everything here is hostile input: the XDP program only looked at the
 * headers, and a frame's lengths are checked again against each other
 * and against the frame, and an IPv4 header's checksum with them. Frames
 * the stack would not answer with a unicast reply (group MACs,
 * broadcast, multicast, unspecified addresses) are not taken; the
 * program passes them on already, and this is the second look. UDP
 * checksums of queries are not checked: on loopback the field holds
 * only a partial sum (the kernel never fills it in there), and a query
 * damaged in its name is answered for that name, as any DNS message
 * damaged in transit without a checksum would be.
 */
#include <string.h>

#include "xdp.h"

#define ETH_HLEN 14
#define IP4_HLEN 20
#define IP6_HLEN 40
#define UDP_HLEN 8
#define IP_UDP 17
#define REPLY_TTL 64

static unsigned get16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* The ones' complement sum of @n bytes at @p, added to @s (RFC 1071). */
static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += get16(p + i);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static unsigned fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return ~s & 0xffff;
}

/* An IPv4 address no query comes from or goes to as unicast: 0.0.0.0/8,
 * multicast and the limited broadcast (224.0.0.0 and up). */
static bool v4_odd(const uint8_t *a)
{
	return a[0] == 0 || a[0] >= 224;
}

/* The same for IPv6: the unspecified address and multicast (ff00::/8). */
static bool v6_odd(const uint8_t *a)
{
	static const uint8_t zero[16];

	return a[0] == 0xff || memcmp(a, zero, 16) == 0;
}

bool dns_frame_query(const uint8_t *f, size_t len, struct dns_frame *q)
{
	const uint8_t *ip = f + ETH_HLEN, *udp;
	size_t ulen;

	/* Not to a group MAC (broadcast, multicast), nor from one: the
	 * stack never answers those with a unicast reply either. */
	if (len < ETH_HLEN || (f[0] & 1) || (f[6] & 1))
		return false;
	switch (get16(f + 12)) {
	case 0x0800:
		if (len < ETH_HLEN + IP4_HLEN + UDP_HLEN || ip[0] != 0x45 ||
		    ip[9] != IP_UDP || (get16(ip + 6) & 0x3fff) ||
		    v4_odd(ip + 12) || v4_odd(ip + 16) ||
		    fold(sum16(ip, IP4_HLEN, 0)) != 0)
			return false;
		/* The IP length may be shorter than the frame (Ethernet
		 * pads to 60 bytes), never longer. */
		if (get16(ip + 2) < IP4_HLEN + UDP_HLEN ||
		    get16(ip + 2) > len - ETH_HLEN)
			return false;
		udp = ip + IP4_HLEN;
		ulen = get16(ip + 2) - IP4_HLEN;
		q->v6 = false;
		break;
	case 0x86dd:
		if (len < ETH_HLEN + IP6_HLEN + UDP_HLEN ||
		    (ip[0] >> 4) != 6 || ip[6] != IP_UDP ||
		    v6_odd(ip + 8) || v6_odd(ip + 24))
			return false;
		if (get16(ip + 4) < UDP_HLEN ||
		    get16(ip + 4) > len - ETH_HLEN - IP6_HLEN)
			return false;
		udp = ip + IP6_HLEN;
		ulen = get16(ip + 4);
		q->v6 = true;
		break;
	default:
		return false;
	}
	/* UDP's length must be the IP payload's; port 0 cannot be
	 * answered. */
	if (get16(udp + 4) != ulen || get16(udp) == 0)
		return false;
	q->off = (size_t)(udp + UDP_HLEN - f);
	q->len = ulen - UDP_HLEN;
	return true;
}

size_t dns_frame_reply(const uint8_t *f, const struct dns_frame *q,
		       uint8_t *r, size_t dlen)
{
	uint8_t *ip = r + ETH_HLEN, *udp = r + q->off - UDP_HLEN;
	const uint8_t *qip = f + ETH_HLEN, *qudp = f + q->off - UDP_HLEN;
	size_t ulen = UDP_HLEN + dlen;

	memcpy(r, f + 6, 6); /* Ethernet: to whoever sent it */
	memcpy(r + 6, f, 6);
	memcpy(r + 12, f + 12, 2);
	put16(udp, get16(qudp + 2));
	put16(udp + 2, get16(qudp));
	put16(udp + 4, (unsigned)ulen);
	put16(udp + 6, 0);
	if (!q->v6) {
		ip[0] = 0x45;
		ip[1] = 0;
		put16(ip + 2, (unsigned)(IP4_HLEN + ulen));
		put16(ip + 4, 0);      /* no ID: DF set (RFC 6864) */
		put16(ip + 6, 0x4000);
		ip[8] = REPLY_TTL;
		ip[9] = IP_UDP;
		put16(ip + 10, 0);
		memcpy(ip + 12, qip + 16, 4);
		memcpy(ip + 16, qip + 12, 4);
		put16(ip + 10, fold(sum16(ip, IP4_HLEN, 0)));
		/* UDP checksum 0: none, which IPv4 allows. */
	} else {
		uint32_t s;
		unsigned c;

		put16(ip, 0x6000); /* version 6, no traffic class or flow */
		put16(ip + 2, 0);
		put16(ip + 4, (unsigned)ulen);
		ip[6] = IP_UDP;
		ip[7] = REPLY_TTL;
		memcpy(ip + 8, qip + 24, 16);
		memcpy(ip + 24, qip + 8, 16);
		/* Required over IPv6 (RFC 8200 8.1): the pseudo-header,
		 * then the datagram. */
		s = sum16(ip + 8, 32, 0) + (uint32_t)ulen + IP_UDP;
		s = sum16(udp, ulen, s);
		c = fold(s);
		put16(udp + 6, c ? c : 0xffff);
	}
	return q->off + dlen;
}
