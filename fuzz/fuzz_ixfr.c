/* SPDX-License-Identifier: MIT */
/* fuzz_ixfr.c -- the IXFR journal reader (ixfr_journal_scan), the
 * transfer query parser and the TSIG check over arbitrary bytes
 *
 * The zone tag is taken from the input, so the fuzzer gets past the file
 * header. What the scan accepts must read back record by record inside
 * the bodies it reported, the counts exact; a record written again from
 * what was read must be the same bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trapline/alloc.h"
#include "trapline/err.h"
#include "xfr_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "fuzz_ixfr: check failed: %s (line "   \
				"%d)\n", #cond, __LINE__);                   \
			abort();                                             \
		}                                                            \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ixfr_scan s;
	struct xfr_query q;
	uint32_t tag = 0;
	size_t i;

	(void)xfr_query_parse(data, size, &q);
	{
		static struct xfr_tsig_keys ks;
		struct xfr_tsig t;
		enum xfr_tsig_res r;

		if (!ks.n && xfr_tsig_keys_parse("other.key:hmac-sha256:b3RoZXI="
						 " xfr.key:hmac-sha256:c2VjcmV0"
						 " sha1.key:hmac-sha1:c2VjcmV0"
						 " sha512.key:hmac-sha512:"
						 "c2VjcmV0",
						 &ks) != 0)
			abort();
		/* seed04 is signed with the second key at time 1000,
		 * seed05 with the third (SHA-1), seed06 with the fourth
		 * (SHA-512), by an independent implementation. */
		r = xfr_tsig_verify(&ks, data, size, 1000, &t);
		if (r == XFR_TSIG_OK || r == XFR_TSIG_BADTIME)
			CHECK(t.mac_len >= 10 &&
			      t.mac_len <= XFR_TSIG_MAC_MAX && t.key != NULL);
		/* The error answer, made in a copy of the request. */
		if (r != XFR_TSIG_NONE && r != XFR_TSIG_OK && size <= 4096) {
			static uint8_t a[4096 + 512];
			size_t n = size;

			memcpy(a, data, size);
			if (xfr_tsig_error(r, &t, a, &n, sizeof(a), 1000) == 0)
				CHECK(n <= sizeof(a));
		}
	}
	if (size >= 12)
		tag = (uint32_t)data[8] << 24 | (uint32_t)data[9] << 16 |
		      (uint32_t)data[10] << 8 | data[11];
	if (ixfr_journal_scan(data, size, tag, &s) != 0)
		return 0;
	CHECK(s.good_len <= size);
	CHECK(s.cut == (s.good_len < size));
	for (i = 0; i < s.n; i++) {
		const struct ixfr_rec *r = &s.recs[i];
		uint64_t k, used = 0;

		CHECK(r->off + r->body_len <= s.good_len);
		CHECK(dns_serial_gt(r->to, r->from));
		for (k = 0; k < r->ndel + r->nadd; k++) {
			uint8_t again[1 + DNS_NAME_MAX + 8 + XFR_RDATA_MAX];
			struct ixfr_rr rr;
			size_t u = ixfr_rr_read(data + r->off + used,
						r->body_len - used, &rr);

			CHECK(u >= IXFR_RR_MIN);
			CHECK(ixfr_rr_write(again, sizeof(again), &rr) == u);
			CHECK(memcmp(again, data + r->off + used, u) == 0);
			used += u;
		}
		CHECK(used == r->body_len);
	}
	tl_free(s.recs);
	return 0;
}
