/* SPDX-License-Identifier: MIT */
/* test_history.c -- run-set merging, counters, the record codec, stats */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "tl_limits.h"
#include "trapline/err.h"
#include "trapline/history.h"

#define D0 12478 /* 2004-03-01, a Monday */

/* Runs must be sorted, disjoint, never adjacent, and add up. */
static void check_runs(const struct tl_history *h)
{
	uint64_t sum = 0;
	uint32_t i;

	for (i = 0; i < h->nruns; i++) {
		assert_true(h->runs[i].len >= 1);
		if (i)
			assert_true(h->runs[i].start >
				    h->runs[i - 1].start +
					    (tl_day)h->runs[i - 1].len);
		sum += h->runs[i].len;
	}
	assert_int_equal(sum, h->active_days);
}

/* The run-set as a string of active days in [lo, hi] ("#" active). */
static void assert_days(const struct tl_history *h, tl_day lo,
			const char *want)
{
	size_t n = strlen(want), i;
	char *got = calloc(1, n + 1);
	uint32_t r;

	assert_non_null(got);
	memset(got, '.', n);
	for (r = 0; r < h->nruns; r++) {
		tl_day d;

		for (d = h->runs[r].start;
		     d < h->runs[r].start + (tl_day)h->runs[r].len; d++) {
			assert_true(d >= lo && d < lo + (tl_day)n);
			got[d - lo] = '#';
		}
	}
	for (i = 0; i < n; i++)
		if (got[i] != want[i])
			fail_msg("runs %s, want %s", got, want);
	free(got);
	check_runs(h);
}

static void add_days(struct tl_history *h, const int *days, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		assert_int_equal(tl_history_add_day(h, D0 + days[i]), 0);
}

static void test_runs_merge(void **state)
{
	struct tl_history h;

	(void)state;
	tl_history_init(&h);
	assert_true(tl_history_is_empty(&h));
	add_days(&h, (int[]){5}, 1);
	assert_days(&h, D0, ".....#....");
	add_days(&h, (int[]){6}, 1); /* extend after */
	assert_days(&h, D0, ".....##...");
	add_days(&h, (int[]){4}, 1); /* extend before */
	assert_days(&h, D0, "....###...");
	add_days(&h, (int[]){0}, 1); /* new run before */
	assert_days(&h, D0, "#...###...");
	add_days(&h, (int[]){9}, 1); /* new run after */
	assert_days(&h, D0, "#...###..#");
	assert_int_equal(h.nruns, 3);
	add_days(&h, (int[]){8}, 1); /* extend before the last */
	assert_days(&h, D0, "#...###.##");
	add_days(&h, (int[]){7}, 1); /* joins two runs */
	assert_days(&h, D0, "#...######");
	assert_int_equal(h.nruns, 2);
	add_days(&h, (int[]){2}, 1); /* a run between two */
	assert_days(&h, D0, "#.#.######");
	add_days(&h, (int[]){1}, 1);
	add_days(&h, (int[]){3}, 1);
	assert_days(&h, D0, "##########");
	assert_int_equal(h.nruns, 1);
	assert_int_equal(h.active_days, 10);
	/* duplicates change nothing */
	add_days(&h, (int[]){0, 5, 9, 9, 0}, 5);
	assert_days(&h, D0, "##########");
	assert_int_equal(h.active_days, 10);
	tl_history_free(&h);
	assert_null(h.runs);
}

/* The same set of days in many orders gives the same runs. */
static void test_runs_any_order(void **state)
{
	static const char pattern[] = "##.###..#.####...#.#.##########..#";
	int days[64];
	size_t n = 0, i, round;
	struct tl_history h;

	(void)state;
	for (i = 0; pattern[i]; i++)
		if (pattern[i] == '#')
			days[n++] = (int)i;
	srand(1234);
	for (round = 0; round < 200; round++) {
		tl_history_init(&h);
		if (round == 1) { /* descending */
			for (i = 0; i < n; i++)
				assert_int_equal(
					tl_history_add_day(&h, D0 + days[n - 1 - i]),
					0);
		} else {
			for (i = 0; i < n; i++) { /* shuffled, with repeats */
				size_t j = round ? (size_t)rand() % n : i;
				int t = days[i];

				days[i] = days[j];
				days[j] = t;
			}
			add_days(&h, days, n);
			add_days(&h, days, n / 2);
		}
		assert_days(&h, D0, pattern);
		tl_history_free(&h);
	}
}

static int64_t noon(tl_day d)
{
	return (int64_t)d * 86400 + 43200;
}

static void test_add_counts(void **state)
{
	struct tl_history h;
	uint16_t tags[2] = {3, 9};

	(void)state;
	tl_history_init(&h);
	assert_int_equal(tl_history_add(&h, noon(D0 + 10), TL_KIND_SPAM, 5,
					tags, 2),
			 0);
	assert_int_equal(tl_history_add(&h, noon(D0) + 100, TL_KIND_AUTH, 2,
					tags + 1, 1),
			 0);
	assert_int_equal(tl_history_add(&h, noon(D0 + 20) - 7,
					TL_KIND_MALWARE, 1, NULL, 0),
			 0);
	assert_int_equal(tl_history_add(&h, noon(D0 + 10), TL_KIND_SPAM, 1,
					NULL, 0),
			 0);
	assert_int_equal(h.first, D0);
	assert_int_equal(h.last, D0 + 20);
	assert_int_equal(h.first_time, noon(D0) + 100);
	assert_int_equal(h.last_time, noon(D0 + 20) - 7);
	assert_int_equal(h.active_days, 3);
	assert_int_equal(h.count[TL_KIND_SPAM], 6);
	assert_int_equal(h.count[TL_KIND_DICTIONARY], 0);
	assert_int_equal(h.count[TL_KIND_AUTH], 2);
	assert_int_equal(h.count[TL_KIND_MALWARE], 1);
	assert_int_equal(tl_history_total(&h), 9);
	assert_int_equal(h.ntags, 2);
	assert_int_equal(h.tags[0].id, 3);
	assert_int_equal(h.tags[0].count, 5);
	assert_int_equal(h.tags[1].id, 9);
	assert_int_equal(h.tags[1].count, 7);
	/* out of range: refused, history unchanged */
	assert_int_equal(tl_history_add(&h, -1, TL_KIND_SPAM, 1, NULL, 0),
			 TL_EINVAL);
	assert_int_equal(tl_history_add(&h, (int64_t)(TL_DAY_MAX + 1) * 86400,
					TL_KIND_SPAM, 1, NULL, 0),
			 TL_EINVAL);
	assert_int_equal(tl_history_add(&h, noon(D0), (enum tl_kind)4, 1,
					NULL, 0),
			 TL_EINVAL);
	assert_int_equal(tl_history_total(&h), 9);
	assert_int_equal(h.active_days, 3);
	tl_history_free(&h);
}

static void test_tag_cap(void **state)
{
	struct tl_history h;
	uint16_t id;

	(void)state;
	tl_history_init(&h);
	for (id = 0; id < TL_HISTORY_TAGS; id++)
		assert_int_equal(tl_history_add(&h, noon(D0), TL_KIND_SPAM, 2,
						&id, 1),
				 0);
	assert_int_equal(h.ntags, TL_HISTORY_TAGS);
	assert_int_equal(h.tags_dropped, 0);
	id = 1000;
	assert_int_equal(tl_history_add(&h, noon(D0), TL_KIND_SPAM, 3, &id, 1),
			 0);
	id = 1001;
	assert_int_equal(tl_history_add(&h, noon(D0), TL_KIND_SPAM, 4, &id, 1),
			 0);
	assert_int_equal(h.ntags, TL_HISTORY_TAGS);
	assert_int_equal(h.tags_dropped, 7);
	/* a tag already kept still counts */
	id = 5;
	assert_int_equal(tl_history_add(&h, noon(D0), TL_KIND_SPAM, 10, &id, 1),
			 0);
	assert_int_equal(h.tags[5].count, 12);
	assert_int_equal(h.tags_dropped, 7);
	tl_history_free(&h);
}

static void test_recent_window(void **state)
{
	struct tl_history h;
	tl_day d;
	uint32_t i;

	(void)state;
	tl_history_init(&h);
	/* 100 days, day i has i + 1 events */
	for (d = 0; d < 100; d++)
		assert_int_equal(tl_history_add(&h, noon(D0 + d), TL_KIND_SPAM,
						(uint64_t)d + 1, NULL, 0),
				 0);
	assert_int_equal(h.nrecent, TL_RECENT_DAYS);
	for (i = 0; i < h.nrecent; i++) {
		assert_int_equal(h.recent[i].day,
				 D0 + 100 - TL_RECENT_DAYS + (tl_day)i);
		assert_int_equal(h.recent[i].count,
				 100 - TL_RECENT_DAYS + i + 1);
	}
	/* the last 7 days: 94 + 95 + ... + 100 */
	assert_int_equal(tl_history_volume_since(&h, D0 + 93), 679);
	assert_int_equal(tl_history_volume_since(&h, D0 + 99), 100);
	assert_int_equal(tl_history_volume_since(&h, D0 + 100), 0);
	/* an old event does not enter the window; a recent one adds */
	assert_int_equal(tl_history_add(&h, noon(D0), TL_KIND_SPAM, 1000, NULL,
					0),
			 0);
	assert_int_equal(tl_history_volume_since(&h, D0 + 93), 679);
	assert_int_equal(tl_history_add(&h, noon(D0 + 95), TL_KIND_AUTH, 1000,
					NULL, 0),
			 0);
	assert_int_equal(tl_history_volume_since(&h, D0 + 93), 1679);
	/* a jump forward drops what left the window */
	assert_int_equal(tl_history_add(&h, noon(D0 + 120), TL_KIND_SPAM, 1,
					NULL, 0),
			 0);
	assert_int_equal(h.last, D0 + 120);
	for (i = 0; i < h.nrecent; i++)
		assert_true(h.recent[i].day > D0 + 120 - TL_RECENT_DAYS);
	assert_int_equal(tl_history_volume_since(&h, D0 + 95),
			 (96 + 1000) + 97 + 98 + 99 + 100 + 1);
	assert_int_equal(h.count[TL_KIND_SPAM], 5050 + 1000 + 1);
	tl_history_free(&h);
}

/* A history with activity on the given days (0-based from @base). */
static void build(struct tl_history *h, tl_day base, const char *pattern)
{
	size_t i;

	tl_history_init(h);
	for (i = 0; pattern[i]; i++)
		if (pattern[i] == '#')
			assert_int_equal(tl_history_add(h, noon(base + (tl_day)i),
							(enum tl_kind)(i % 4),
							i + 1, NULL, 0),
					 0);
}

static uint8_t *encode(const struct tl_history *h, int *len)
{
	size_t max = tl_history_encoded_max(h);
	uint8_t *buf = malloc(max);

	assert_non_null(buf);
	*len = tl_history_encode(h, buf, max);
	assert_true(*len > 0 && (size_t)*len <= max);
	return buf;
}

static void assert_same(const struct tl_history *a, const struct tl_history *b,
			bool runs)
{
	assert_int_equal(a->first, b->first);
	assert_int_equal(a->last, b->last);
	assert_int_equal(a->first_time, b->first_time);
	assert_int_equal(a->last_time, b->last_time);
	assert_int_equal(a->active_days, b->active_days);
	assert_memory_equal(a->count, b->count, sizeof(a->count));
	assert_int_equal(a->tags_dropped, b->tags_dropped);
	assert_int_equal(a->ntags, b->ntags);
	if (a->ntags)
		assert_memory_equal(a->tags, b->tags,
				    a->ntags * sizeof(a->tags[0]));
	assert_int_equal(a->nrecent, b->nrecent);
	if (a->nrecent)
		assert_memory_equal(a->recent, b->recent,
				    a->nrecent * sizeof(a->recent[0]));
	if (runs) {
		assert_int_equal(a->nruns, b->nruns);
		assert_memory_equal(a->runs, b->runs,
				    a->nruns * sizeof(a->runs[0]));
	}
}

static void test_codec_roundtrip(void **state)
{
	static const char *const patterns[] = {
		"#", "##", "#.#", "###....###..#", "#.#.#.#.#.#.#.#.#.#.#.#.#",
		"####################################################",
	};
	struct tl_history h, back;
	uint16_t tags[3] = {0, 700, 65535};
	uint8_t *buf;
	size_t p;
	int len;

	(void)state;
	for (p = 0; p < sizeof(patterns) / sizeof(patterns[0]); p++) {
		build(&h, D0, patterns[p]);
		assert_int_equal(tl_history_add(&h, noon(D0) - 43200,
						TL_KIND_SPAM, 1, tags, 3),
				 0);
		h.tags_dropped = 12345678901ull;
		buf = encode(&h, &len);
		tl_history_init(&back);
		assert_int_equal(tl_history_decode(&back, buf, (size_t)len,
						   false),
				 0);
		assert_same(&h, &back, true);
		tl_history_free(&back);
		assert_int_equal(tl_history_decode(&back, buf, (size_t)len,
						   true),
				 0);
		assert_same(&h, &back, false);
		assert_int_equal(back.nruns, 0);
		tl_history_free(&back);
		/* a buffer one byte short of the bound is refused */
		assert_int_equal(tl_history_encode(&h, buf,
						   tl_history_encoded_max(&h) -
							   1),
				 TL_ETOOLONG);
		free(buf);
		tl_history_free(&h);
	}
	/* the extremes of the day range */
	tl_history_init(&h);
	assert_int_equal(tl_history_add(&h, 0, TL_KIND_SPAM, 1, NULL, 0), 0);
	assert_int_equal(tl_history_add(&h, (int64_t)TL_DAY_MAX * 86400 + 86399,
					TL_KIND_MALWARE, 1000000000, NULL, 0),
			 0);
	buf = encode(&h, &len);
	tl_history_init(&back);
	assert_int_equal(tl_history_decode(&back, buf, (size_t)len, false), 0);
	assert_same(&h, &back, true);
	tl_history_free(&back);
	tl_history_free(&h);
	free(buf);
}

static void test_decode_corrupt(void **state)
{
	struct tl_history h, back;
	uint8_t *buf, *copy;
	size_t i;
	unsigned bit;
	int len, rc;

	(void)state;
	build(&h, D0, "##.###..#.##########...#.....#");
	{
		uint16_t tags[2] = {1, 2};

		assert_int_equal(tl_history_add(&h, noon(D0), TL_KIND_SPAM, 1,
						tags, 2),
				 0);
	}
	buf = encode(&h, &len);
	tl_history_init(&back);

	/* every truncation, into a buffer of exactly that size */
	for (i = 0; i < (size_t)len; i++) {
		copy = malloc(i ? i : 1);
		assert_non_null(copy);
		memcpy(copy, buf, i);
		rc = tl_history_decode(&back, copy, i, false);
		assert_true(rc == TL_ECORRUPT || rc == TL_EVERSION);
		assert_true(tl_history_is_empty(&back));
		assert_int_equal(back.nruns, 0);
		free(copy);
	}
	/* trailing bytes */
	copy = malloc((size_t)len + 1);
	assert_non_null(copy);
	memcpy(copy, buf, (size_t)len);
	copy[len] = 0;
	assert_int_equal(tl_history_decode(&back, copy, (size_t)len + 1, false),
			 TL_ECORRUPT);
	free(copy);
	/* versions */
	copy = malloc((size_t)len);
	assert_non_null(copy);
	memcpy(copy, buf, (size_t)len);
	copy[0] = 2;
	assert_int_equal(tl_history_decode(&back, copy, (size_t)len, false),
			 TL_EVERSION);
	copy[0] = 0;
	assert_int_equal(tl_history_decode(&back, copy, (size_t)len, false),
			 TL_EVERSION);
	/* every single-byte change: an error, or a valid history */
	for (i = 0; i < (size_t)len; i++) {
		for (bit = 0; bit < 256; bit++) {
			memcpy(copy, buf, (size_t)len);
			copy[i] = (uint8_t)bit;
			rc = tl_history_decode(&back, copy, (size_t)len, false);
			if (rc < 0) {
				assert_true(rc == TL_ECORRUPT ||
					    rc == TL_EVERSION);
				assert_true(tl_history_is_empty(&back));
				continue;
			}
			assert_true(back.nruns >= 1);
			assert_int_equal(back.runs[0].start, back.first);
			assert_int_equal(back.runs[back.nruns - 1].start +
						 (tl_day)back.runs[back.nruns - 1]
							 .len -
						 1,
					 back.last);
			check_runs(&back);
		}
	}
	free(copy);
	tl_history_free(&back);
	free(buf);
	tl_history_free(&h);
	/* empty input */
	assert_int_equal(tl_history_decode(&back, (const uint8_t *)"", 0, false),
			 TL_ECORRUPT);
}

/*
 * A record whose runs go past its last day: refused, and without
 * arithmetic overflow on the way (this is run under UBSan).
 */
static void test_decode_run_past_last(void **state)
{
	static const uint8_t rec[] = {
		1,    /* version */
		0,    /* first: day 0 */
		0,    /* last - first */
		1,    /* active days */
		0, 0, /* first_time, last_time seconds */
		0,    /* kinds mask */
		0,    /* tags dropped */
		0,    /* ntags */
		0,    /* nrecent */
		2,    /* nruns */
		0, 0, /* run 1: day 0, one day */
		0xff, 0xff, 0xff, 0xff, 0x07, /* run 2: gap 2^31 - 1 */
		0,
	};
	struct tl_history h;

	(void)state;
	tl_history_init(&h);
	assert_int_equal(tl_history_decode(&h, rec, sizeof(rec), false),
			 TL_ECORRUPT);
	assert_true(tl_history_is_empty(&h));
}

/* Twenty years of daily activity with three hiatuses: a few bytes. */
static void test_compact(void **state)
{
	struct tl_history h, back;
	tl_day start = tl_day_from_civil(2004, 3, 1), d;
	tl_day end = tl_day_from_civil(2024, 2, 29);
	uint8_t *buf;
	int len;

	(void)state;
	tl_history_init(&h);
	for (d = start; d <= end; d++) {
		if ((d >= start + 1000 && d < start + 1090) ||
		    (d >= start + 3000 && d < start + 3045) ||
		    (d >= start + 6000 && d < start + 6200))
			continue;
		assert_int_equal(tl_history_add_day(&h, d), 0);
	}
	h.first = start;
	h.last = end;
	h.first_time = (int64_t)start * 86400 + 3600;
	h.last_time = (int64_t)end * 86400 + 7200;
	h.count[TL_KIND_SPAM] = 123456789;
	assert_int_equal(h.nruns, 4);
	buf = encode(&h, &len);
	if (len >= 64)
		fail_msg("20 years in %d bytes", len);
	tl_history_init(&back);
	assert_int_equal(tl_history_decode(&back, buf, (size_t)len, false), 0);
	assert_same(&h, &back, true);
	tl_history_free(&back);
	free(buf);
	tl_history_free(&h);

	/* the same through tl_history_add: the per-day window of the last
	 * TL_RECENT_DAYS costs at most 3 bytes a day on top */
	tl_history_init(&h);
	for (d = start; d <= end; d++) {
		if ((d >= start + 1000 && d < start + 1090) ||
		    (d >= start + 3000 && d < start + 3045) ||
		    (d >= start + 6000 && d < start + 6200))
			continue;
		assert_int_equal(tl_history_add(&h, noon(d), TL_KIND_SPAM, 50,
						NULL, 0),
				 0);
	}
	buf = encode(&h, &len);
	if (len >= 64 + 3 * TL_RECENT_DAYS)
		fail_msg("20 years in %d bytes", len);
	free(buf);
	tl_history_free(&h);
}

static void test_stats(void **state)
{
	struct tl_history_stats st;
	struct tl_hiatus hi[8];
	struct tl_history h;
	char pattern[400];
	size_t i;

	(void)state;
	/* Monday D0: two full weeks, a 40-day gap, one day, a 10-day gap,
	 * three days */
	memset(pattern, 0, sizeof(pattern));
	memset(pattern, '#', 14);
	memset(pattern + 14, '.', 40);
	pattern[54] = '#';
	memset(pattern + 55, '.', 10);
	memset(pattern + 65, '#', 3);
	build(&h, D0, pattern);
	tl_history_stats(&h, 30, &st);
	assert_int_equal(st.span_days, 68);
	assert_int_equal(st.active_days, 18);
	/* days 0-13: weeks 0,1; day 54: week 7; days 65-67: weeks 9 */
	assert_int_equal(st.span_weeks, 10);
	assert_int_equal(st.active_weeks, 4);
	assert_true(st.steadiness > 0.39 && st.steadiness < 0.41);
	assert_int_equal(st.hiatuses, 1);
	assert_int_equal(st.longest_gap, 40);
	assert_int_equal(st.current.start, D0 + 65);
	assert_int_equal(st.current.len, 3);
	assert_int_equal(tl_history_hiatuses(&h, 30, hi, 8), 1);
	assert_int_equal(hi[0].from, D0 + 14);
	assert_int_equal(hi[0].to, D0 + 53);
	assert_int_equal(hi[0].days, 40);
	/* a smaller threshold counts the 10-day gap too; exactly 10 counts */
	tl_history_stats(&h, 10, &st);
	assert_int_equal(st.hiatuses, 2);
	tl_history_stats(&h, 11, &st);
	assert_int_equal(st.hiatuses, 1);
	assert_int_equal(tl_history_hiatuses(&h, 10, hi, 1), 2);
	assert_int_equal(hi[0].days, 40);
	assert_int_equal(tl_history_hiatuses(&h, 10, hi, 8), 2);
	assert_int_equal(hi[1].from, D0 + 55);
	assert_int_equal(hi[1].to, D0 + 64);
	assert_int_equal(hi[1].days, 10);
	tl_history_free(&h);

	/* a Sunday and the next Monday are two weeks; Mon..Sun is one */
	build(&h, D0 + 6, "##");
	tl_history_stats(&h, 30, &st);
	assert_int_equal(st.span_weeks, 2);
	assert_int_equal(st.active_weeks, 2);
	assert_true(st.steadiness == 1.0);
	tl_history_free(&h);
	build(&h, D0, "#.....#");
	tl_history_stats(&h, 30, &st);
	assert_int_equal(st.span_weeks, 1);
	assert_int_equal(st.active_weeks, 1);
	assert_int_equal(st.longest_gap, 5);
	assert_int_equal(st.hiatuses, 0);
	tl_history_free(&h);

	/* one day a week for a year: every week active */
	for (i = 0; i < 364; i++)
		pattern[i] = i % 7 == 3 ? '#' : '.';
	pattern[364] = '\0';
	build(&h, D0, pattern);
	tl_history_stats(&h, 30, &st);
	assert_int_equal(st.active_weeks, 52);
	assert_int_equal(st.span_weeks, 52);
	assert_true(st.steadiness == 1.0);
	assert_int_equal(st.hiatuses, 0);
	assert_int_equal(st.current.len, 1);
	tl_history_free(&h);

	/* empty */
	tl_history_init(&h);
	tl_history_stats(&h, 30, &st);
	assert_int_equal(st.span_days, 0);
	assert_int_equal(st.active_days, 0);
	assert_int_equal(tl_history_hiatuses(&h, 30, hi, 8), 0);
}

/* The `check --record` record beside the history: round trip, and
 * every malformed form refused. */
static void test_check_record_codec(void **state)
{
	struct tl_check_record c = {20784, 3, 14}, d;
	uint8_t buf[TL_CHECK_RECORD_MAX], bad[TL_CHECK_RECORD_MAX];
	int n, i;

	(void)state;
	n = tl_check_record_encode(&c, buf, sizeof(buf));
	assert_true(n > 3 && n <= TL_CHECK_RECORD_MAX);
	assert_int_equal(tl_check_record_decode(&d, buf, (size_t)n), 0);
	assert_int_equal(d.day, 20784);
	assert_int_equal(d.listed, 3);
	assert_int_equal(d.of, 14);
	assert_int_equal(tl_check_record_encode(&c, buf, 4), TL_ETOOLONG);
	/* every truncation */
	for (i = 0; i < n; i++)
		assert_int_not_equal(tl_check_record_decode(&d, buf, (size_t)i),
				     0);
	/* trailing byte */
	memcpy(bad, buf, (size_t)n);
	bad[n] = 0;
	assert_int_equal(tl_check_record_decode(&d, bad, (size_t)n + 1),
			 TL_ECORRUPT);
	/* unknown version */
	bad[0] = 2;
	assert_int_equal(tl_check_record_decode(&d, bad, (size_t)n),
			 TL_EVERSION);
	/* listed > of */
	c.listed = 15;
	n = tl_check_record_encode(&c, buf, sizeof(buf));
	assert_int_equal(tl_check_record_decode(&d, buf, (size_t)n),
			 TL_ECORRUPT);
	/* zero of zero is a record (an address no list answered for) */
	c.listed = c.of = 0;
	n = tl_check_record_encode(&c, buf, sizeof(buf));
	assert_int_equal(tl_check_record_decode(&d, buf, (size_t)n), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runs_merge),
		cmocka_unit_test(test_runs_any_order),
		cmocka_unit_test(test_add_counts),
		cmocka_unit_test(test_tag_cap),
		cmocka_unit_test(test_recent_window),
		cmocka_unit_test(test_codec_roundtrip),
		cmocka_unit_test(test_decode_corrupt),
		cmocka_unit_test(test_decode_run_past_last),
		cmocka_unit_test(test_compact),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_check_record_codec),
	};

	return cmocka_run_group_tests_name("history", tests, NULL, NULL);
}
