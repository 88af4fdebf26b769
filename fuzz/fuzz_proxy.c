/* SPDX-License-Identifier: MIT */
/* fuzz_proxy.c -- proxy_parse: bounded, and consistent over prefixes
 *
 * The answers for the prefixes of one input, shortest first, must read
 * 0...0 then either n (from the n-byte prefix on, always n, with the same
 * result) or -1 (from some prefix on, always -1): more bytes never turn a
 * refused header into a valid one, and a header's length does not depend
 * on what follows it. A 0 is only given while fewer than 536 bytes are
 * there; an accepted header is one of the families trapline knows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "fuzz_proxy: check failed: %s (line %d)\n", \
				#cond, __LINE__);                            \
			abort();                                             \
		}                                                            \
	} while (0)

/* Longest v2 header (proxy.c), past which no answer may wait. */
#define HDR_MAX 536

static void check_info(const struct proxy_info *p)
{
	static const uint8_t zero[16];

	if (p->local) {
		CHECK(p->src.family == 0 && p->dst.family == 0);
		CHECK(p->src_port == 0 && p->dst_port == 0);
		return;
	}
	CHECK(p->src.family == 4 || p->src.family == 6);
	CHECK(p->dst.family == 4 || p->dst.family == 6);
	if (p->src.family == 4)
		CHECK(memcmp(p->src.a + 4, zero, 12) == 0);
	if (p->dst.family == 4)
		CHECK(memcmp(p->dst.a + 4, zero, 12) == 0);
}

static bool same_info(const struct proxy_info *a, const struct proxy_info *b)
{
	return a->local == b->local && a->src.family == b->src.family &&
	       a->dst.family == b->dst.family &&
	       memcmp(a->src.a, b->src.a, 16) == 0 &&
	       memcmp(a->dst.a, b->dst.a, 16) == 0 &&
	       a->src_port == b->src_port && a->dst_port == b->dst_port;
}

/* An accepted v1 line agrees with tl_ip_parse and canonical ports. */
static void check_v1(const uint8_t *data, int r, const struct proxy_info *p)
{
	const char *tok[6], *s = (const char *)data, *end = s + r - 2;
	size_t len[6], i;
	const uint16_t *ports[2] = {&p->src_port, &p->dst_port};
	const struct tl_ip *ips[2] = {&p->src, &p->dst};
	char num[8];
	struct tl_ip ip;

	CHECK(r >= 15 && memcmp(end, "\r\n", 2) == 0);
	if (p->local) {
		CHECK(memcmp(s, "PROXY UNKNOWN", 13) == 0);
		return;
	}
	for (i = 0; i < 6; i++) {
		const char *sp = memchr(s, ' ', (size_t)(end - s));

		tok[i] = s;
		len[i] = sp ? (size_t)(sp - s) : (size_t)(end - s);
		CHECK(i == 5 ? sp == NULL : sp != NULL);
		s += len[i] + 1;
	}
	CHECK(len[1] == 4 && memcmp(tok[1], "TCP", 3) == 0);
	for (i = 0; i < 2; i++) {
		CHECK(tl_ip_parse(tok[2 + i], len[2 + i], &ip) == 0);
		CHECK(tl_ip_cmp(&ip, ips[i]) == 0);
		CHECK((tok[1][3] == '6') ==
		      (memchr(tok[2 + i], ':', len[2 + i]) != NULL));
		snprintf(num, sizeof(num), "%u", *ports[i]);
		CHECK(strlen(num) == len[4 + i]);
		CHECK(memcmp(num, tok[4 + i], len[4 + i]) == 0);
	}
}

/* Parse a private copy of exactly @len bytes, so ASan sees any overread. */
static int parse_exact(const uint8_t *data, size_t len, struct proxy_info *out)
{
	uint8_t *copy = malloc(len ? len : 1);
	int r;

	CHECK(copy != NULL);
	memcpy(copy, data, len);
	r = proxy_parse(copy, len, out);
	free(copy);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct proxy_info none;
	struct proxy_info full, part;
	int r, rk;
	size_t k, last;

	r = parse_exact(data, size, &full);
	CHECK(r >= -1 && r <= HDR_MAX);
	CHECK((size_t)(r > 0 ? r : 0) <= size);
	if (r == 0)
		CHECK(size < HDR_MAX);
	if (r > 0) {
		check_info(&full);
		if (data[0] == 'P')
			check_v1(data, r, &full);
	} else {
		CHECK(same_info(&full, &none));
	}

	/* Every prefix up to where the answer must be settled. */
	last = size < HDR_MAX + 1 ? size : HDR_MAX + 1;
	for (k = 0; k <= last; k++) {
		rk = parse_exact(data, k, &part);
		if (r > 0) {
			if (k < (size_t)r) {
				CHECK(rk == 0);
			} else {
				CHECK(rk == r);
				CHECK(same_info(&part, &full));
			}
		} else if (r == 0) {
			CHECK(rk == 0);
		} else if (rk == -1) {
			/* once refused, refused for every longer prefix */
			for (; k <= last; k++)
				CHECK(parse_exact(data, k, &part) == -1);
			break;
		} else {
			CHECK(rk == 0);
		}
	}
	return 0;
}
