/* SPDX-License-Identifier: MIT */
/* fuzz_postfix.c -- postfix_parse_line and postfix_feed: no crash, sane
 * results, valid events
 *
 * The whole input is one line for the parser, whose result must keep its
 * invariants; then it is split on '\n' and fed through a state with a low
 * dictionary threshold, and every event must pass tl_event_check and
 * every line must be counted exactly once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/postfix.h"
#include "trapline/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr,                                      \
				"fuzz_postfix: check failed: %s (line %d)\n", \
				#cond, __LINE__);                            \
			abort();                                             \
		}                                                            \
	} while (0)

static void check_line(const struct postfix_line *l)
{
	static const char *const tags[] = {"pregreet", "bare-newline",
					   "non-smtp", "pipelining"};
	size_t i;
	int known = 0;

	CHECK(l->what >= POSTFIX_OTHER && l->what <= POSTFIX_TELL);
	CHECK(memchr(l->rcpt, '\0', sizeof(l->rcpt)));
	CHECK(memchr(l->helo, '\0', sizeof(l->helo)));
	CHECK(memchr(l->from, '\0', sizeof(l->from)));
	CHECK(memchr(l->tag, '\0', sizeof(l->tag)));
	if (l->what == POSTFIX_OTHER || l->what == POSTFIX_IGNORED) {
		CHECK(l->ip.family == 0);
		CHECK(l->rcpt[0] == '\0' && l->tag[0] == '\0');
		CHECK(l->helo[0] == '\0' && l->from[0] == '\0');
	}
	if (l->what == POSTFIX_OTHER)
		return;
	CHECK(l->mon >= 1 && l->mon <= 12);
	CHECK(l->mday >= 1 && l->mday <= 31);
	CHECK(l->hour >= 0 && l->hour <= 23);
	CHECK(l->min >= 0 && l->min <= 59);
	CHECK(l->sec >= 0 && l->sec <= 60);
	CHECK(l->year == -1 || (l->year >= 0 && l->year <= 9999));
	CHECK(l->has_offset || l->offset == 0);
	CHECK(l->offset > -86400 && l->offset < 86400);
	CHECK(!l->has_offset || l->year >= 0);
	if (l->what == POSTFIX_IGNORED)
		return;
	CHECK(l->ip.family == 4 || l->ip.family == 6);
	if (l->ip.family == 4)
		for (i = 4; i < sizeof(l->ip.a); i++)
			CHECK(l->ip.a[i] == 0);
	for (i = 0; l->helo[i]; i++)
		CHECK((unsigned char)l->helo[i] >= 0x20 && l->helo[i] != 0x7f);
	if (l->what == POSTFIX_UNKNOWN_RCPT) {
		CHECK(l->rcpt[0] != '\0');
		for (i = 0; l->rcpt[i]; i++)
			CHECK(l->rcpt[i] < 'A' || l->rcpt[i] > 'Z');
		for (i = 0; l->from[i]; i++)
			CHECK(l->from[i] < 'A' || l->from[i] > 'Z');
	} else {
		CHECK(l->rcpt[0] == '\0' && l->helo[0] == '\0' &&
		      l->from[0] == '\0');
	}
	if (l->what == POSTFIX_TELL) {
		for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
			known |= strcmp(l->tag, tags[i]) == 0;
		CHECK(known);
	} else {
		CHECK(l->tag[0] == '\0');
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *e = s + size, *q;
	struct postfix_opts o = {
		.dict_threshold = 2,
		.dict_window = 300,
		.now = 1795755600, /* 2026-11-27 05:00 UTC */
		.sensor = "fuzz",
	};
	struct postfix_state *st;
	const struct postfix_counts *c;
	struct postfix_line l;
	struct ingest_err err;
	struct tl_event ev;
	enum ingest_line r;
	uint64_t lines = 0;

	postfix_parse_line(s, size, &l);
	check_line(&l);

	if (postfix_state_new(&o, &st) != 0)
		return 0;
	for (; s <= e; s = q + 1) {
		q = memchr(s, '\n', (size_t)(e - s));
		if (!q)
			q = e;
		r = postfix_feed(st, s, (size_t)(q - s), &ev, &err);
		lines++;
		CHECK(err.code == 0);
		CHECK(r == INGEST_EVENT || r == INGEST_SKIP);
		if (r == INGEST_EVENT) {
			CHECK(tl_event_check(&ev) == 0);
			CHECK(ev.count >= 1);
			CHECK(strcmp(ev.sensor, "fuzz") == 0);
			CHECK(ev.kind == TL_KIND_DICTIONARY ? ev.ntags == 0
							    : ev.count == 1);
			CHECK(ev.kind == TL_KIND_SPAM ? ev.ntags == 1
						      : ev.ntags == 0);
		}
	}
	c = postfix_state_counts(st);
	CHECK(c->other + c->ignored + c->unknown_rcpt + c->auth_fail +
		      c->tells ==
	      lines);
	CHECK(c->dict_events <= c->unknown_rcpt);
	postfix_state_free(st);
	return 0;
}
