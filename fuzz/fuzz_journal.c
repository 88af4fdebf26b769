/* SPDX-License-Identifier: MIT */
/* fuzz_journal.c -- journal_event_decode over arbitrary frame payloads
 *
 * Decodes events until the input ends or is refused, as the store's apply
 * step does. Each event decoded must be a sane event, and encoding it
 * again must decode to the same event.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"
#include "trapline/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "fuzz_journal: check failed: %s (line " \
				"%d)\n", #cond, __LINE__);                   \
			abort();                                             \
		}                                                            \
	} while (0)

static void check_same(const struct tl_event *a, const struct tl_event *b)
{
	unsigned i;

	CHECK(a->time == b->time);
	CHECK(a->ip.family == b->ip.family);
	CHECK(memcmp(a->ip.a, b->ip.a, sizeof(a->ip.a)) == 0);
	CHECK(a->kind == b->kind && a->count == b->count);
	CHECK(a->rcpts == b->rcpts && a->size == b->size);
	CHECK(a->ntags == b->ntags);
	for (i = 0; i < a->ntags; i++)
		CHECK(strcmp(a->tags[i], b->tags[i]) == 0);
	CHECK(strcmp(a->sensor, b->sensor) == 0);
	CHECK(strcmp(a->helo, b->helo) == 0);
	CHECK(strcmp(a->from, b->from) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rd r = {data, data + size, false}, r2;
	struct tl_event ev, ev2;
	uint8_t buf[JOURNAL_EVENT_MAX];
	const uint8_t *before;
	size_t n;
	static const uint8_t zero[12];

	while (r.p < r.end) {
		before = r.p;
		journal_event_decode(&r, &ev);
		CHECK(r.p >= before && r.p <= r.end);
		if (r.err) {
			CHECK(r.p == r.end);
			break;
		}
		CHECK(r.p > before);
		CHECK(ev.ip.family == 4 || ev.ip.family == 6);
		if (ev.ip.family == 4)
			CHECK(memcmp(ev.ip.a + 4, zero, 12) == 0);
		CHECK(ev.kind < TL_KIND_COUNT);
		CHECK(ev.count >= 1 && ev.count <= 1000000000u);
		CHECK(ev.time >= 0);
		CHECK(ev.ntags <= TL_EVENT_TAGS);
		n = journal_event_encode(&ev, buf);
		CHECK(n <= JOURNAL_EVENT_MAX);
		r2.p = buf;
		r2.end = buf + n;
		r2.err = false;
		journal_event_decode(&r2, &ev2);
		CHECK(!r2.err && r2.p == r2.end);
		check_same(&ev, &ev2);
	}
	return 0;
}
