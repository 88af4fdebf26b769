/* SPDX-License-Identifier: MIT */
/* fuzz_history.c -- tl_history_decode on arbitrary bytes
 *
 * A record that decodes must satisfy the documented invariants (sorted,
 * disjoint, non-adjacent runs that add up to active_days and span first
 * to last; recent days sorted inside the window), re-encode to bytes that
 * decode and re-encode identically, decode head-only to the same head,
 * and take one more event without breaking any of that.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trapline/err.h"
#include "trapline/history.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "fuzz_history: check failed: %s (line " \
				"%d)\n", #cond, __LINE__);                   \
			abort();                                             \
		}                                                            \
	} while (0)

static void check_invariants(const struct tl_history *h)
{
	uint64_t sum = 0;
	uint32_t i;

	CHECK(h->nruns >= 1);
	CHECK(h->runs[0].start == h->first);
	CHECK(h->first <= h->last);
	CHECK(h->ntags <= TL_HISTORY_TAGS);
	CHECK(h->nrecent <= TL_HISTORY_RECENT);
	for (i = 0; i < h->nruns; i++) {
		CHECK(h->runs[i].len >= 1);
		if (i)
			CHECK(h->runs[i].start >
			      h->runs[i - 1].start +
				      (tl_day)h->runs[i - 1].len);
		sum += h->runs[i].len;
	}
	CHECK(h->runs[h->nruns - 1].start +
		      (tl_day)h->runs[h->nruns - 1].len - 1 ==
	      h->last);
	CHECK(sum == h->active_days);
	for (i = 0; i < h->nrecent; i++) {
		CHECK(h->recent[i].day <= h->last);
		CHECK(h->recent[i].day > h->last - TL_HISTORY_RECENT);
		if (i)
			CHECK(h->recent[i].day > h->recent[i - 1].day);
	}
	CHECK(tl_day_from_time(h->first_time) == h->first);
	CHECK(tl_day_from_time(h->last_time) == h->last);
}

/* Encode @h into a new buffer; returns its length. */
static size_t encode(const struct tl_history *h, uint8_t **out)
{
	size_t max = tl_history_encoded_max(h);
	uint8_t *buf = malloc(max);
	int n;

	CHECK(buf);
	n = tl_history_encode(h, buf, max);
	CHECK(n > 0 && (size_t)n <= max);
	*out = buf;
	return (size_t)n;
}

static void check_same_head(const struct tl_history *a,
			    const struct tl_history *b)
{
	CHECK(a->first == b->first && a->last == b->last);
	CHECK(a->first_time == b->first_time && a->last_time == b->last_time);
	CHECK(a->active_days == b->active_days);
	CHECK(memcmp(a->count, b->count, sizeof(a->count)) == 0);
	CHECK(a->tags_dropped == b->tags_dropped && a->ntags == b->ntags);
	CHECK(memcmp(a->tags, b->tags, a->ntags * sizeof(a->tags[0])) == 0);
	CHECK(a->nrecent == b->nrecent);
	CHECK(memcmp(a->recent, b->recent,
		     a->nrecent * sizeof(a->recent[0])) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tl_history h, h2, head;
	struct tl_history_stats st;
	struct tl_hiatus hi[4];
	uint8_t *b1, *b2;
	size_t n1, n2;
	uint16_t tag = 7;
	int rc;

	tl_history_init(&h);
	tl_history_init(&h2);
	tl_history_init(&head);
	rc = tl_history_decode(&h, data, size, false);
	if (rc < 0) {
		CHECK(rc == TL_ECORRUPT || rc == TL_EVERSION);
		CHECK(tl_history_is_empty(&h) && h.nruns == 0);
		return 0;
	}
	check_invariants(&h);
	CHECK(tl_history_decode(&head, data, size, true) == 0);
	CHECK(head.nruns == 0);
	check_same_head(&h, &head);

	tl_history_stats(&h, 30, &st);
	CHECK(st.active_days == h.active_days);
	CHECK(st.span_days == (uint32_t)(h.last - h.first) + 1);
	CHECK(st.active_weeks <= st.span_weeks);
	CHECK(st.steadiness >= 0.0 && st.steadiness <= 1.0);
	CHECK(tl_history_hiatuses(&h, 30, hi, 4) == st.hiatuses);

	n1 = encode(&h, &b1);
	CHECK(tl_history_decode(&h2, b1, n1, false) == 0);
	check_same_head(&h, &h2);
	CHECK(h2.nruns == h.nruns);
	CHECK(memcmp(h2.runs, h.runs, h.nruns * sizeof(h.runs[0])) == 0);
	n2 = encode(&h2, &b2);
	CHECK(n1 == n2 && memcmp(b1, b2, n1) == 0);
	free(b2);

	/* One more event, on a day the input chose. */
	if (size >= 2) {
		int64_t day = (int64_t)h.first +
			      (data[size - 1] | data[size - 2] << 8) % 800 - 400;

		rc = tl_history_add(&h, day * 86400 + 3600, TL_KIND_AUTH, 2,
				    &tag, 1);
		if (day < 0 || day > 84005) {
			CHECK(rc == TL_EINVAL);
		} else {
			CHECK(rc == 0);
			check_invariants(&h);
			n2 = encode(&h, &b2);
			CHECK(tl_history_decode(&h2, b2, n2, false) == 0);
			check_same_head(&h, &h2);
			free(b2);
		}
	}
	free(b1);
	tl_history_free(&h);
	tl_history_free(&h2);
	tl_history_free(&head);
	return 0;
}
