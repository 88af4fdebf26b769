/* SPDX-License-Identifier: MIT */
/* ip.c -- address and prefix parsing and RFC 5952 formatting */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "trapline/err.h"
#include "trapline/ip.h"

static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static void set_v6(struct tl_ip *ip, const uint8_t a[16])
{
	memset(ip, 0, sizeof(*ip));
	if (memcmp(a, v4mapped, 12) == 0) {
		ip->family = 4;
		memcpy(ip->a, a + 12, 4);
	} else {
		ip->family = 6;
		memcpy(ip->a, a, 16);
	}
}

/*
 * Reads @len untrusted bytes. Checks: length bound, no NUL, no zone id,
 * then defers the grammar to inet_pton(3), whose IPv4 form rejects leading
 * zeros and whose IPv6 form is RFC 4291 2.2 (including the dotted tail).
 * Guarantees: on 0, @out is a normalised address.
 */
int tl_ip_parse(const char *s, size_t len, struct tl_ip *out)
{
	char buf[TL_IP_STRLEN];
	uint8_t a[16];
	bool colon = false;
	size_t i;

	if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		s++;
		len -= 2;
	}
	if (len == 0)
		return TL_EIP;
	if (len >= sizeof(buf))
		return TL_ETOOLONG;
	for (i = 0; i < len; i++) {
		if (s[i] == '%')
			return TL_EZONEID;
		if (s[i] == ':')
			colon = true;
		else if (s[i] == '\0')
			return TL_EIP;
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (colon) {
		if (inet_pton(AF_INET6, buf, a) != 1)
			return TL_EIP;
		set_v6(out, a);
		return 0;
	}
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, out->a) != 1)
		return TL_EIP;
	out->family = 4;
	return 0;
}

static void mask_bits(uint8_t *a, size_t size, unsigned len)
{
	size_t i;

	for (i = 0; i < size; i++) {
		unsigned bit = (unsigned)i * 8;

		if (bit >= len)
			a[i] = 0;
		else if (len - bit < 8)
			a[i] &= (uint8_t)(0xff00 >> (len - bit));
	}
}

int tl_prefix_parse(const char *s, size_t len, bool strict,
		    struct tl_prefix *out)
{
	const char *slash = memchr(s, '/', len);
	unsigned plen = 0, max;
	struct tl_ip orig;
	size_t alen, i;
	bool mapped = false;
	int rc;

	alen = slash ? (size_t)(slash - s) : len;
	/* Note whether the text was v4-mapped IPv6: its length counts 128. */
	if (memchr(s, ':', alen))
		mapped = true;
	rc = tl_ip_parse(s, alen, &out->ip);
	if (rc < 0)
		return rc;
	max = out->ip.family == 4 ? 32 : 128;
	if (out->ip.family == 4 && mapped && slash)
		max = 128;
	if (!slash) {
		out->len = (uint8_t)(out->ip.family == 4 ? 32 : 128);
		return 0;
	}
	if (len - alen < 2 || len - alen > 4)
		return TL_ESYNTAX;
	for (i = alen + 1; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return TL_ESYNTAX;
		plen = plen * 10 + (unsigned)(s[i] - '0');
	}
	if (len - alen > 2 && s[alen + 1] == '0')
		return TL_ESYNTAX; /* "/024" */
	if (plen > max)
		return TL_ERANGE;
	if (max == 128 && out->ip.family == 4) {
		if (plen < 96)
			return TL_ERANGE; /* a mapped prefix shorter than /96 */
		plen -= 96;
	}
	out->len = (uint8_t)plen;
	orig = out->ip;
	mask_bits(out->ip.a, tl_ip_size(&out->ip), plen);
	if (strict && memcmp(orig.a, out->ip.a, 16) != 0)
		return TL_EHOSTBITS;
	return 0;
}

/* RFC 5952: lower case, no leading zeros, "::" for the longest run of two
 * or more zero groups (the first on a tie), dotted tail for ::ffff:0:0/96. */
size_t tl_ip_format(const struct tl_ip *ip, char *buf)
{
	uint16_t g[8];
	int best = -1, bestlen = 0, cur = -1, curlen = 0, i;
	size_t n = 0;

	if (ip->family == 4)
		return (size_t)sprintf(buf, "%u.%u.%u.%u", ip->a[0], ip->a[1],
				       ip->a[2], ip->a[3]);
	for (i = 0; i < 8; i++) {
		g[i] = (uint16_t)(ip->a[2 * i] << 8 | ip->a[2 * i + 1]);
		if (g[i] == 0) {
			if (cur < 0) {
				cur = i;
				curlen = 0;
			}
			if (++curlen > bestlen) {
				best = cur;
				bestlen = curlen;
			}
		} else {
			cur = -1;
		}
	}
	if (bestlen < 2)
		best = -1;
	for (i = 0; i < 8; i++) {
		if (i == best) {
			buf[n++] = ':';
			if (i == 0)
				buf[n++] = ':';
			i += bestlen - 1;
			continue;
		}
		n += (size_t)sprintf(buf + n, "%x", g[i]);
		if (i < 7)
			buf[n++] = ':';
	}
	buf[n] = '\0';
	return n;
}

size_t tl_prefix_format(const struct tl_prefix *p, char *buf)
{
	size_t n = tl_ip_format(&p->ip, buf);

	return n + (size_t)sprintf(buf + n, "/%u", p->len);
}

int tl_ip_cmp(const struct tl_ip *a, const struct tl_ip *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->a, b->a, tl_ip_size(a));
}

bool tl_prefix_contains(const struct tl_prefix *p, const struct tl_ip *ip)
{
	unsigned whole = p->len / 8, rest = p->len % 8, i;

	if (p->ip.family != ip->family)
		return false;
	/* Byte by byte: most addresses differ from a prefix in the first
	 * (the policy asks this for every address in the store). */
	for (i = 0; i < whole; i++)
		if (ip->a[i] != p->ip.a[i])
			return false;
	return !rest ||
	       !((ip->a[whole] ^ p->ip.a[whole]) & (uint8_t)(0xff00u >> rest));
}

void tl_prefix_last(const struct tl_prefix *p, struct tl_ip *last)
{
	size_t size = tl_ip_size(&p->ip), i;

	*last = p->ip;
	for (i = 0; i < size; i++) {
		unsigned bit = (unsigned)i * 8;

		if (bit >= p->len)
			last->a[i] = 0xff;
		else if (p->len - bit < 8)
			last->a[i] |= (uint8_t)(0xff >> (p->len - bit));
	}
}

void tl_ip_from_v4(struct tl_ip *ip, uint32_t v)
{
	memset(ip, 0, sizeof(*ip));
	ip->family = 4;
	ip->a[0] = (uint8_t)(v >> 24);
	ip->a[1] = (uint8_t)(v >> 16);
	ip->a[2] = (uint8_t)(v >> 8);
	ip->a[3] = (uint8_t)v;
}

uint32_t tl_ip_v4(const struct tl_ip *ip)
{
	return (uint32_t)ip->a[0] << 24 | (uint32_t)ip->a[1] << 16 |
	       (uint32_t)ip->a[2] << 8 | ip->a[3];
}
