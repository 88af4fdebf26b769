/* SPDX-License-Identifier: MIT */
/* fuzz_xdp.c -- the frames of [dns] xdp: dns_frame_query, then the reply
 *
 * Any input is a frame off the wire (an exact-size copy, so ASan sees a
 * read past the end). A frame taken as a query must have its message
 * inside it, after headers of the size of its family. Its reply, with
 * the message copied back as the answer, must be taken again as a query
 * with that message's length, the other way round (addresses and ports
 * swapped), and an IPv4 reply's header must sum to all ones.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr,                                        \
				"fuzz_xdp: check failed: %s (line %d)\n",      \
				#cond, __LINE__);                              \
			abort();                                               \
		}                                                              \
	} while (0)

static unsigned sum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_frame q, back;
	uint8_t *f, *r;
	size_t rl;

	if (size > 1 << 16)
		return 0;
	f = malloc(size ? size : 1);
	if (!f)
		return 0;
	memcpy(f, data, size);
	if (!dns_frame_query(f, size, &q)) {
		free(f);
		return 0;
	}
	CHECK(q.off == (q.v6 ? 62u : 42u));
	CHECK(q.off + q.len <= size);
	r = malloc(q.off + q.len + 1);
	CHECK(r);
	memcpy(r + q.off, f + q.off, q.len);
	rl = dns_frame_reply(f, &q, r, q.len);
	CHECK(rl == q.off + q.len);
	CHECK(memcmp(r + q.off, f + q.off, q.len) == 0);
	if (!q.v6) {
		CHECK(sum(r + 14, 20) == 0xffff);
		CHECK(memcmp(r + 26, f + 30, 4) == 0 &&
		      memcmp(r + 30, f + 26, 4) == 0);
	} else {
		CHECK(memcmp(r + 22, f + 38, 16) == 0 &&
		      memcmp(r + 38, f + 22, 16) == 0);
	}
	CHECK(memcmp(r + q.off - 8, f + q.off - 6, 2) == 0 &&
	      memcmp(r + q.off - 6, f + q.off - 8, 2) == 0);
	/* The reply parses as a query the other way, unless the query went
	 * to port 0 (the reply's source then; never answered in use). */
	if (f[q.off - 6] | f[q.off - 5]) {
		CHECK(dns_frame_query(r, rl, &back));
		CHECK(back.v6 == q.v6 && back.off == q.off &&
		      back.len == q.len);
	}
	free(r);
	free(f);
	return 0;
}
