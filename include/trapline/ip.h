/* SPDX-License-Identifier: MIT */
/* ip.h -- IPv4/IPv6 addresses and CIDR prefixes */
#ifndef TRAPLINE_IP_H
#define TRAPLINE_IP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * An address. IPv4 lives in a[0..3] with family 4 and a[4..15] zero;
 * IPv4-mapped IPv6 (::ffff:a.b.c.d) is always turned into family 4, so one
 * host has one key whichever way it was written.
 */
struct tl_ip {
	uint8_t family; /* 4 or 6 */
	uint8_t a[16];  /* network byte order */
};

struct tl_prefix {
	struct tl_ip ip; /* host bits are zero */
	uint8_t len;     /* 0..32 (v4) or 0..128 (v6) */
};

/* Longest text tl_ip_format/tl_prefix_format write, with the NUL. */
#define TL_IP_STRLEN 46
#define TL_PREFIX_STRLEN 50

/*
 * Parse an address from @len bytes at @s (no NUL needed). Accepts dotted
 * quad IPv4 (no leading zeros: "010" is octal to some tools) and every RFC
 * 4291 2.2 IPv6 form, with surrounding [brackets] allowed for IPv6.
 * Returns 0, TL_EZONEID for "fe80::1%eth0", TL_ETOOLONG or TL_EIP.
 */
int tl_ip_parse(const char *s, size_t len, struct tl_ip *out);

/*
 * Parse "ADDR/LEN" (or a bare ADDR, taken as a host prefix). With @strict,
 * host bits past LEN give TL_EHOSTBITS (and @out still holds the masked
 * prefix, for "did you mean" messages); without, they are cleared.
 * ::ffff:a.b.c.d/LEN with LEN >= 96 becomes the IPv4 prefix /LEN-96.
 */
int tl_prefix_parse(const char *s, size_t len, bool strict,
		    struct tl_prefix *out);

/* RFC 5952 text into @buf (TL_IP_STRLEN bytes). Returns the length. */
size_t tl_ip_format(const struct tl_ip *ip, char *buf);
size_t tl_prefix_format(const struct tl_prefix *p, char *buf);

/* memcmp order within a family; IPv4 sorts before IPv6. */
int tl_ip_cmp(const struct tl_ip *a, const struct tl_ip *b);
bool tl_prefix_contains(const struct tl_prefix *p, const struct tl_ip *ip);
/* The last address a prefix covers. */
void tl_prefix_last(const struct tl_prefix *p, struct tl_ip *last);
/* Bytes of the address proper: 4 or 16. */
static inline size_t tl_ip_size(const struct tl_ip *ip)
{
	return ip->family == 4 ? 4 : 16;
}
/* Build a v4 address from a host-order 32-bit number, and back. */
void tl_ip_from_v4(struct tl_ip *ip, uint32_t host_order);
uint32_t tl_ip_v4(const struct tl_ip *ip);

#endif
