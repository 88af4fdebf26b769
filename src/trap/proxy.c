/* SPDX-License-Identifier: MIT */
/* proxy.c -- the PROXY protocol header (HAProxy proxy-protocol.txt, v1, v2)
 *
 * The header arrives before anything else and may arrive in pieces, so
 * the parser is told "need more", "bad" or "done" at every byte: a prefix
 * of a valid header needs more; bytes that no valid header starts with
 * are refused at once, so a client that is not a load balancer is found
 * out on its first read.
 */
#include <string.h>

#include "smtp.h"

/* proxy-protocol.txt 2.1: a v1 line is at most 107 bytes with its CRLF.
 * 2.2: a v2 header is 16 bytes and a block of at most 520 (216 for the
 * largest address pair, plus TLVs as HAProxy bounds them); past that it
 * is an attack, and the caller's buffer is sized for it. */
#define PROXY_V1_MAX 107
#define PROXY_V2_HDR 16
#define PROXY_V2_MAX 536

enum { NEED = 0, BAD = -1, DONE = 1 };

/* Cursor over untrusted bytes: p never passes end. */
struct pcur {
	const uint8_t *p, *end;
};

/* Step over the literal @s; NEED if the bytes end while matching it. */
static int lit(struct pcur *c, const char *s)
{
	for (; *s; s++, c->p++) {
		if (c->p == c->end)
			return NEED;
		if (*c->p != (uint8_t)*s)
			return BAD;
	}
	return DONE;
}

static bool is_digit(uint8_t b)
{
	return b >= '0' && b <= '9';
}

static bool is_hex(uint8_t b)
{
	return is_digit(b) || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F');
}

/* A dotted quad up to the space: four decimal octets, no leading zeros
 * (as tl_ip_parse takes them), every prefix checked as it comes. */
static int text_v4(struct pcur *c, struct tl_ip *ip)
{
	unsigned v = 0, digits = 0, dots = 0;
	uint32_t addr = 0;

	for (;; c->p++) {
		if (c->p == c->end)
			return NEED;
		if (*c->p == ' ')
			break;
		if (is_digit(*c->p)) {
			if (digits == 1 && v == 0)
				return BAD;
			v = v * 10 + (unsigned)(*c->p - '0');
			if (++digits > 3 || v > 255)
				return BAD;
		} else if (*c->p == '.' && digits > 0 && dots < 3) {
			addr = addr << 8 | v;
			dots++;
			digits = 0;
			v = 0;
		} else {
			return BAD;
		}
	}
	if (dots != 3 || digits == 0)
		return BAD;
	tl_ip_from_v4(ip, addr << 8 | v);
	return DONE;
}

/* An IPv6 address up to the space. The prefix check is the cheap part of
 * RFC 4291 2.2 (characters, group width, one "::", length); the grammar
 * is settled by tl_ip_parse once the address is whole. A v4-mapped
 * address folds to IPv4 there, as everywhere in trapline. */
static int text_v6(struct pcur *c, struct tl_ip *ip)
{
	const uint8_t *s = c->p;
	unsigned hex = 0;
	bool dbl = false;
	uint8_t prev = 0;

	for (;; c->p++) {
		if (c->p == c->end)
			return NEED;
		if (*c->p == ' ')
			break;
		if (c->p - s >= TL_IP_STRLEN - 1)
			return BAD;
		if (is_hex(*c->p)) {
			if (++hex > 4)
				return BAD;
		} else if (*c->p == ':') {
			if (prev == ':') {
				if (dbl)
					return BAD;
				dbl = true;
			}
			hex = 0;
		} else if (*c->p == '.') {
			hex = 0;
		} else {
			return BAD;
		}
		prev = *c->p;
	}
	if (!memchr(s, ':', (size_t)(c->p - s)) ||
	    tl_ip_parse((const char *)s, (size_t)(c->p - s), ip) != 0)
		return BAD;
	return DONE;
}

/* A port up to @term: 0..65535, no leading zeros. */
static int text_port(struct pcur *c, uint8_t term, uint16_t *port)
{
	unsigned v = 0, digits = 0;

	for (;; c->p++) {
		if (c->p == c->end)
			return NEED;
		if (*c->p == term)
			break;
		if (!is_digit(*c->p) || (digits == 1 && v == 0))
			return BAD;
		v = v * 10 + (unsigned)(*c->p - '0');
		if (++digits > 5 || v > 65535)
			return BAD;
	}
	if (digits == 0)
		return BAD;
	*port = (uint16_t)v;
	return DONE;
}

#define TRY(expr)                                                            \
	do {                                                                 \
		int r_ = (expr);                                             \
		if (r_ != DONE)                                              \
			return r_;                                           \
	} while (0)

/* proxy-protocol.txt 2.1:
 * "PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n" or "PROXY UNKNOWN[ ...]\r\n". */
static int v1_line(struct pcur *c, struct proxy_info *out)
{
	int (*addr)(struct pcur *, struct tl_ip *);

	TRY(lit(c, "PROXY "));
	if (c->p == c->end)
		return NEED;
	if (*c->p == 'U') {
		TRY(lit(c, "UNKNOWN"));
		out->local = true;
		if (c->p == c->end)
			return NEED;
		if (*c->p != ' ' && *c->p != '\r')
			return BAD;
		/* Whatever follows UNKNOWN is ignored, up to the CRLF. */
		for (; c->p < c->end; c->p++) {
			if (*c->p == '\n')
				return BAD;
			if (*c->p == '\r')
				break;
		}
		return lit(c, "\r\n");
	}
	TRY(lit(c, "TCP"));
	if (c->p == c->end)
		return NEED;
	if (*c->p == '4')
		addr = text_v4;
	else if (*c->p == '6')
		addr = text_v6;
	else
		return BAD;
	c->p++;
	TRY(lit(c, " "));
	TRY(addr(c, &out->src));
	TRY(lit(c, " "));
	TRY(addr(c, &out->dst));
	TRY(lit(c, " "));
	TRY(text_port(c, ' ', &out->src_port));
	TRY(lit(c, " "));
	TRY(text_port(c, '\r', &out->dst_port));
	return lit(c, "\r\n");
}

static int parse_v1(const uint8_t *buf, size_t len, struct proxy_info *out)
{
	struct pcur c = {buf, buf + (len < PROXY_V1_MAX ? len : PROXY_V1_MAX)};
	int r = v1_line(&c, out);

	if (r == DONE)
		return (int)(c.p - buf);
	if (r == NEED && len < PROXY_V1_MAX)
		return 0;
	return -1; /* bad, or no CRLF within 107 bytes */
}

static const uint8_t v2_sig[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
				   0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};

/* Addresses in network order: v4 as is; v6 folded when v4-mapped, by the
 * rule of ip.h. */
static void bin_v4(struct tl_ip *ip, const uint8_t *a)
{
	memset(ip, 0, sizeof(*ip));
	ip->family = 4;
	memcpy(ip->a, a, 4);
}

static void bin_v6(struct tl_ip *ip, const uint8_t *a)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0,
					   0, 0, 0, 0, 0xff, 0xff};

	if (memcmp(a, mapped, sizeof(mapped)) == 0) {
		bin_v4(ip, a + 12);
		return;
	}
	memset(ip, 0, sizeof(*ip));
	ip->family = 6;
	memcpy(ip->a, a, 16);
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* proxy-protocol.txt 2.2: signature, version/command, family/protocol,
 * block length, addresses, TLVs. Only TCP over IPv4/IPv6 is taken with
 * PROXY; UNSPEC keeps the peer; LOCAL ignores the block entirely. */
static int parse_v2(const uint8_t *buf, size_t len, struct proxy_info *out)
{
	size_t n = len < sizeof(v2_sig) ? len : sizeof(v2_sig);
	size_t total, addrs = 0, p;
	uint8_t cmd, fam;

	if (memcmp(buf, v2_sig, n) != 0)
		return -1;
	if (len <= 12)
		return 0;
	cmd = buf[12];
	if (cmd != 0x20 && cmd != 0x21)
		return -1; /* version 2; LOCAL or PROXY */
	if (len <= 13)
		return 0;
	fam = buf[13];
	if (cmd == 0x21) {
		if (fam == 0x11)
			addrs = 12;
		else if (fam == 0x21)
			addrs = 36;
		else if (fam != 0x00)
			return -1; /* UDP, UNIX: not for SMTP */
	}
	if (len < PROXY_V2_HDR)
		return 0;
	total = PROXY_V2_HDR + be16(buf + 14);
	if (total > PROXY_V2_MAX || total - PROXY_V2_HDR < addrs)
		return -1;
	if (len < total)
		return 0;

	if (cmd == 0x20 || fam == 0x00) {
		out->local = true;
		return (int)total;
	}
	/* TLVs: type, 16-bit length, value; they must tile the rest. */
	for (p = PROXY_V2_HDR + addrs; p < total; p += 3 + be16(buf + p + 1))
		if (total - p < 3 || total - p - 3 < be16(buf + p + 1))
			return -1;
	p = PROXY_V2_HDR;
	if (fam == 0x11) {
		bin_v4(&out->src, buf + p);
		bin_v4(&out->dst, buf + p + 4);
		p += 8;
	} else {
		bin_v6(&out->src, buf + p);
		bin_v6(&out->dst, buf + p + 16);
		p += 32;
	}
	out->src_port = be16(buf + p);
	out->dst_port = be16(buf + p + 2);
	return (int)total;
}

/*
 * Reads up to @len untrusted bytes of a PROXY header; never looks past
 * PROXY_V1_MAX (v1) or the declared length bounded by PROXY_V2_MAX (v2).
 * Checks the whole grammar, each byte as soon as it is there. Guarantees:
 * on n > 0, @out holds the header's addresses (family 4 or 6, v4-mapped
 * folded) or local; 0 only for a proper prefix of a valid header.
 */
int proxy_parse(const uint8_t *buf, size_t len, struct proxy_info *out)
{
	int r = -1;

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return 0;
	if (buf[0] == 'P')
		r = parse_v1(buf, len, out);
	else if (buf[0] == v2_sig[0])
		r = parse_v2(buf, len, out);
	if (r <= 0)
		memset(out, 0, sizeof(*out));
	return r;
}
