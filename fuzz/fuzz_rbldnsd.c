/* SPDX-License-Identifier: MIT */
/* fuzz_rbldnsd.c -- rbl_data_parse on arbitrary text, then lookups
 *
 * The first byte picks the dataset type (ip4set, ip4trie, ip6trie), the
 * rest is the dataset text. A parse either fails with ENOMEM / ELIMIT or
 * yields data whose lookups of addresses taken from the input and around
 * it never crash, whose every value can be read back, and whose TXT
 * expansion stays inside the buffer it is given (checked with a canary).
 * Memory is bounded by the input: each line adds at most ~1,800 entries
 * (an ip4set range), and RBL_ENTRIES_MAX caps the total.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trapline/err.h"
#include "trapline/ip.h"
#include "rbldnsd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "fuzz_rbldnsd: check failed: %s "    \
					"(line %d)\n", #cond, __LINE__);     \
			abort();                                             \
		}                                                            \
	} while (0)

static void probe(const struct rbl_data *d, const struct tl_ip *ip)
{
	struct rbl_hit hit;
	char buf[RBL_TXT_OUT_MAX + 2 + 1];
	const char *txt;
	uint32_t a;
	unsigned i;
	size_t n, small;

	if (!rbl_lookup(d, ip, &hit))
		return;
	CHECK(hit.count >= 1);
	for (i = 0; i < hit.count; i++) {
		CHECK(rbl_hit_get(d, &hit, i, &a, &txt));
		CHECK(!txt || strlen(txt) <= RBL_TXT_MAX);
		buf[sizeof(buf) - 1] = 'Z';
		n = rbl_txt_expand(d, txt, ip, buf, sizeof(buf) - 1);
		CHECK(n <= RBL_TXT_OUT_MAX && strlen(buf) == n);
		CHECK(buf[sizeof(buf) - 1] == 'Z');
		small = (size_t)(a & 7);
		buf[small] = 'Z';
		n = rbl_txt_expand(d, txt, ip, buf, small);
		CHECK(buf[small] == 'Z');
		CHECK(small == 0 || n < small);
	}
	CHECK(!rbl_hit_get(d, &hit, hit.count, &a, &txt));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum rbl_type types[] = {RBL_IP4SET, RBL_IP4TRIE,
					      RBL_IP6TRIE};
	struct rbl_data *d = NULL;
	struct tl_ip ip;
	char why[128];
	size_t i, j;
	int err;

	if (size < 1)
		return 0;
	err = rbl_data_parse((const char *)data + 1, size - 1,
			     types[data[0] % 3], &d, why, sizeof(why));
	if (err) {
		CHECK(err == TL_ENOMEM || err == TL_ELIMIT);
		CHECK(d == NULL);
		return 0;
	}
	CHECK(d != NULL);
	CHECK(rbl_data_bytes(d) >= rbl_data_entries(d) * 8);
	for (i = 0; i < rbl_data_bad_lines(d) && i < RBL_WARN_KEEP; i++)
		CHECK(rbl_data_warning(d, i) != NULL);
	/* addresses made of the input's bytes, at every offset */
	for (i = 1; i + 16 <= size && i < 64 * 16; i += 16) {
		memset(&ip, 0, sizeof(ip));
		ip.family = 6;
		memcpy(ip.a, data + i, 16);
		probe(d, &ip);
		memset(&ip, 0, sizeof(ip));
		ip.family = 4;
		memcpy(ip.a, data + i, 4);
		probe(d, &ip);
	}
	/* and a sweep of the usual test ranges */
	for (j = 0; j < 256; j++) {
		tl_ip_from_v4(&ip, 0x0a000000u | (uint32_t)(j * 0x010101u));
		probe(d, &ip);
		tl_ip_from_v4(&ip, 0x01020300u | (uint32_t)j);
		probe(d, &ip);
		memset(&ip, 0, sizeof(ip));
		ip.family = 6;
		ip.a[0] = 0x20;
		ip.a[1] = 0x01;
		ip.a[15] = (uint8_t)j;
		probe(d, &ip);
	}
	rbl_data_free(d);
	return 0;
}
