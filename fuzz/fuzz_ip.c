/* SPDX-License-Identifier: MIT */
/* fuzz_ip.c -- tl_ip_parse and tl_prefix_parse, checked against inet_pton
 *
 * On NUL-free input without '%' or brackets, tl_ip_parse accepts exactly
 * what inet_pton(3) accepts (as AF_INET, or AF_INET6 when there is a
 * colon) and yields the same bytes; the formatted address re-parses to
 * the same one, and where glibc's inet_ntop does not choose a dotted form,
 * both agree on the RFC 5952 text. Prefixes: strict and lax agree, the
 * text round-trips, and the prefix contains its first and last address.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trapline/err.h"
#include "trapline/ip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "fuzz_ip: check failed: %s (line %d)\n", \
				#cond, __LINE__);                            \
			abort();                                             \
		}                                                            \
	} while (0)

static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static void check_format(const struct tl_ip *ip)
{
	char buf[TL_IP_STRLEN], sys[INET6_ADDRSTRLEN];
	struct tl_ip back;
	size_t n = tl_ip_format(ip, buf);
	size_t i;

	CHECK(n == strlen(buf) && n < TL_IP_STRLEN);
	CHECK(tl_ip_parse(buf, n, &back) == 0);
	CHECK(back.family == ip->family);
	CHECK(memcmp(back.a, ip->a, sizeof(ip->a)) == 0);
	for (i = 0; i < n; i++)
		CHECK(!(buf[i] >= 'A' && buf[i] <= 'Z'));
	if (ip->family == 4) {
		CHECK(inet_ntop(AF_INET, ip->a, sys, sizeof(sys)));
		CHECK(strcmp(sys, buf) == 0);
		return;
	}
	/* glibc prints ::a.b.c.d and ::ffff:a.b.c.d dotted: skip those. */
	for (i = 0; i < 10 && ip->a[i] == 0; i++)
		;
	if (i == 10)
		return;
	CHECK(inet_ntop(AF_INET6, ip->a, sys, sizeof(sys)));
	CHECK(strcmp(sys, buf) == 0);
}

static void check_pton(const char *s, size_t len, int rc,
		       const struct tl_ip *ip)
{
	char buf[128];
	uint8_t a[16];
	bool colon = memchr(s, ':', len) != NULL;
	int sys;

	if (len >= sizeof(buf) || memchr(s, '\0', len) ||
	    memchr(s, '%', len) || memchr(s, '[', len) || memchr(s, ']', len))
		return;
	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(a, 0, sizeof(a));
	sys = inet_pton(colon ? AF_INET6 : AF_INET, buf, a);
	if (rc == TL_ETOOLONG) {
		CHECK(len >= TL_IP_STRLEN);
		return;
	}
	CHECK((rc == 0) == (sys == 1));
	if (rc != 0)
		return;
	if (!colon) {
		CHECK(ip->family == 4 && memcmp(ip->a, a, 4) == 0);
	} else if (memcmp(a, mapped, 12) == 0) {
		CHECK(ip->family == 4 && memcmp(ip->a, a + 12, 4) == 0);
	} else {
		CHECK(ip->family == 6 && memcmp(ip->a, a, 16) == 0);
	}
}

static void check_prefix(const char *s, size_t len)
{
	struct tl_prefix strict, lax, back;
	struct tl_ip last;
	char buf[TL_PREFIX_STRLEN];
	int rs = tl_prefix_parse(s, len, true, &strict);
	int rl = tl_prefix_parse(s, len, false, &lax);
	size_t n;

	if (rs == TL_EHOSTBITS) {
		CHECK(rl == 0);
	} else {
		CHECK(rs == rl);
		if (rs < 0)
			return;
	}
	CHECK(lax.ip.family == 4 || lax.ip.family == 6);
	CHECK(lax.len <= (lax.ip.family == 4 ? 32 : 128));
	CHECK(strict.len == lax.len && tl_ip_cmp(&strict.ip, &lax.ip) == 0);
	CHECK(tl_prefix_contains(&lax, &lax.ip));
	tl_prefix_last(&lax, &last);
	CHECK(tl_prefix_contains(&lax, &last));
	CHECK(tl_ip_cmp(&lax.ip, &last) <= 0);
	n = tl_prefix_format(&lax, buf);
	CHECK(n == strlen(buf) && n < TL_PREFIX_STRLEN);
	CHECK(tl_prefix_parse(buf, n, true, &back) == 0);
	CHECK(back.len == lax.len && tl_ip_cmp(&back.ip, &lax.ip) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct tl_ip ip;
	int rc;

	rc = tl_ip_parse(s, size, &ip);
	CHECK(rc == 0 || rc == TL_EIP || rc == TL_EZONEID ||
	      rc == TL_ETOOLONG);
	if (rc == 0) {
		CHECK(ip.family == 4 || ip.family == 6);
		if (ip.family == 4) {
			static const uint8_t zero[12];

			CHECK(memcmp(ip.a + 4, zero, 12) == 0);
		} else {
			CHECK(memcmp(ip.a, mapped, 12) != 0);
		}
		check_format(&ip);
	}
	check_pton(s, size, rc, &ip);
	check_prefix(s, size);
	return 0;
}
