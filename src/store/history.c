/* SPDX-License-Identifier: MIT */
/* history.c -- the per-IP record: run-set of active days, counters, codec */
#include <string.h>

#include "tl_limits.h"
#include "trapline/alloc.h"
#include "trapline/err.h"
#include "trapline/history.h"
#include "varint.h"

_Static_assert(TL_HISTORY_TAGS == TL_HISTORY_TAGS_MAX, "tags");
_Static_assert(TL_HISTORY_RECENT == TL_RECENT_DAYS, "recent days");

#define RECORD_VERSION 1

void tl_history_init(struct tl_history *h)
{
	memset(h, 0, sizeof(*h));
}

void tl_history_free(struct tl_history *h)
{
	tl_free(h->runs);
	tl_history_init(h);
}

bool tl_history_is_empty(const struct tl_history *h)
{
	return h->active_days == 0;
}

static tl_day run_end(const struct tl_run *r)
{
	return r->start + (tl_day)r->len - 1;
}

/* Index of the last run starting on or before @day, or -1. */
static long find_run(const struct tl_history *h, tl_day day)
{
	long lo = 0, hi = (long)h->nruns - 1, ans = -1;

	while (lo <= hi) {
		long mid = lo + (hi - lo) / 2;

		if (h->runs[mid].start <= day) {
			ans = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	return ans;
}

int tl_history_add_day(struct tl_history *h, tl_day day)
{
	long i = find_run(h, day);
	struct tl_run *r;
	bool joins_prev, joins_next;

	if (i >= 0 && day <= run_end(&h->runs[i]))
		return 0; /* already active */
	joins_prev = i >= 0 && run_end(&h->runs[i]) + 1 == day;
	joins_next = (size_t)(i + 1) < h->nruns && h->runs[i + 1].start == day + 1;
	if (joins_prev && joins_next) {
		h->runs[i].len += 1 + h->runs[i + 1].len;
		memmove(&h->runs[i + 1], &h->runs[i + 2],
			(h->nruns - (size_t)i - 2) * sizeof(*h->runs));
		h->nruns--;
	} else if (joins_prev) {
		h->runs[i].len++;
	} else if (joins_next) {
		h->runs[i + 1].start = day;
		h->runs[i + 1].len++;
	} else {
		if (h->nruns >= TL_RUNS_MAX)
			return TL_ELIMIT;
		if (h->nruns == h->runs_cap) {
			uint32_t cap = h->runs_cap ? h->runs_cap * 2 : 4;

			r = tl_reallocarray(h->runs, cap, sizeof(*r));
			if (!r)
				return TL_ENOMEM;
			h->runs = r;
			h->runs_cap = cap;
		}
		memmove(&h->runs[i + 2], &h->runs[i + 1],
			(h->nruns - (size_t)(i + 1)) * sizeof(*h->runs));
		h->runs[i + 1].start = day;
		h->runs[i + 1].len = 1;
		h->nruns++;
	}
	h->active_days++;
	return 0;
}

static void add_tag(struct tl_history *h, uint16_t id, uint64_t count)
{
	uint32_t i;

	for (i = 0; i < h->ntags; i++) {
		if (h->tags[i].id == id) {
			h->tags[i].count += count;
			return;
		}
	}
	if (h->ntags == TL_HISTORY_TAGS) {
		h->tags_dropped += count;
		return;
	}
	h->tags[h->ntags].id = id;
	h->tags[h->ntags].count = count;
	h->ntags++;
}

/* Keep per-day counts for days within TL_RECENT_DAYS of h->last. */
static void add_recent(struct tl_history *h, tl_day day, uint64_t count)
{
	tl_day floor = h->last - (TL_RECENT_DAYS - 1);
	uint32_t i, keep = 0;

	for (i = 0; i < h->nrecent; i++)
		if (h->recent[i].day >= floor)
			h->recent[keep++] = h->recent[i];
	h->nrecent = keep;
	if (day < floor)
		return;
	for (i = 0; i < h->nrecent && h->recent[i].day < day; i++)
		;
	if (i < h->nrecent && h->recent[i].day == day) {
		h->recent[i].count += count;
		return;
	}
	/* Days in the window are distinct, so there is always room. */
	memmove(&h->recent[i + 1], &h->recent[i],
		(h->nrecent - i) * sizeof(*h->recent));
	h->recent[i].day = day;
	h->recent[i].count = count;
	h->nrecent++;
}

int tl_history_add(struct tl_history *h, int64_t time, enum tl_kind kind,
		   uint64_t count, const uint16_t *tag_ids, unsigned ntags)
{
	tl_day day = tl_day_from_time(time);
	bool empty = tl_history_is_empty(h);
	unsigned i;
	int rc;

	if ((unsigned)kind >= TL_KIND_COUNT || day < TL_DAY_MIN ||
	    day > TL_DAY_MAX)
		return TL_EINVAL;
	rc = tl_history_add_day(h, day);
	if (rc < 0)
		return rc;
	if (empty || time < h->first_time)
		h->first_time = time;
	if (empty || time > h->last_time)
		h->last_time = time;
	h->first = h->runs[0].start;
	h->last = run_end(&h->runs[h->nruns - 1]);
	h->count[kind] += count;
	for (i = 0; i < ntags; i++)
		add_tag(h, tag_ids[i], count);
	add_recent(h, day, count);
	return 0;
}

size_t tl_history_encoded_max(const struct tl_history *h)
{
	return 1 + VARINT_MAX * (6 + TL_KIND_COUNT) + 1 +
	       (size_t)h->ntags * 2 * VARINT_MAX +
	       (size_t)h->nrecent * 2 * VARINT_MAX +
	       (size_t)h->nruns * 2 * VARINT_MAX + 4 * VARINT_MAX;
}

int tl_history_encode(const struct tl_history *h, uint8_t *buf, size_t size)
{
	uint8_t *p = buf;
	tl_day prev;
	uint32_t i;
	uint8_t mask = 0;

	if (size < tl_history_encoded_max(h))
		return TL_ETOOLONG;
	*p++ = RECORD_VERSION;
	p += varint_put(p, (uint64_t)h->first);
	p += varint_put(p, (uint64_t)(h->last - h->first));
	p += varint_put(p, h->active_days);
	p += varint_put(p, (uint64_t)(h->first_time - (int64_t)h->first * 86400));
	p += varint_put(p, (uint64_t)(h->last_time - (int64_t)h->last * 86400));
	for (i = 0; i < TL_KIND_COUNT; i++)
		if (h->count[i])
			mask |= (uint8_t)(1u << i);
	*p++ = mask;
	for (i = 0; i < TL_KIND_COUNT; i++)
		if (h->count[i])
			p += varint_put(p, h->count[i]);
	p += varint_put(p, h->tags_dropped);
	p += varint_put(p, h->ntags);
	for (i = 0; i < h->ntags; i++) {
		p += varint_put(p, h->tags[i].id);
		p += varint_put(p, h->tags[i].count);
	}
	p += varint_put(p, h->nrecent);
	for (i = 0; i < h->nrecent; i++) {
		p += varint_put(p, (uint64_t)(h->last - h->recent[i].day));
		p += varint_put(p, h->recent[i].count);
	}
	/* Runs last, so a head-only decode stops early. */
	p += varint_put(p, h->nruns);
	prev = h->first;
	for (i = 0; i < h->nruns; i++) {
		p += varint_put(p, (uint64_t)(h->runs[i].start - prev));
		p += varint_put(p, h->runs[i].len - 1);
		prev = run_end(&h->runs[i]) + 1;
	}
	return (int)(p - buf);
}

enum depth { SUMMARY, HEAD, FULL };

/* Empty @h without clearing its arrays: decoding sets every count first. */
static void reset(struct tl_history *h)
{
	unsigned k;

	tl_free(h->runs);
	h->runs = NULL;
	h->nruns = h->runs_cap = 0;
	h->first = h->last = 0;
	h->first_time = h->last_time = 0;
	h->active_days = 0;
	for (k = 0; k < TL_KIND_COUNT; k++)
		h->count[k] = 0;
	h->tags_dropped = 0;
	h->ntags = h->nrecent = 0;
}

static int decode(struct tl_history *h, const uint8_t *buf, size_t len,
		  enum depth depth)
{
	struct rd r = {buf, buf + len, false};
	uint64_t v, n, sum = 0;
	tl_day prev;
	uint32_t i;
	uint8_t mask;

	reset(h);
	if (len < 1)
		return TL_ECORRUPT;
	if (rd_u8(&r) != RECORD_VERSION)
		return TL_EVERSION;
	v = rd_varint(&r);
	if (v > TL_DAY_MAX)
		goto corrupt;
	h->first = (tl_day)v;
	v = rd_varint(&r);
	if (v > (uint64_t)(TL_DAY_MAX - h->first))
		goto corrupt;
	h->last = h->first + (tl_day)v;
	v = rd_varint(&r);
	if (v == 0 || v > (uint64_t)(h->last - h->first) + 1)
		goto corrupt;
	h->active_days = (uint32_t)v;
	v = rd_varint(&r);
	if (v >= 86400)
		goto corrupt;
	h->first_time = (int64_t)h->first * 86400 + (int64_t)v;
	v = rd_varint(&r);
	if (v >= 86400)
		goto corrupt;
	h->last_time = (int64_t)h->last * 86400 + (int64_t)v;
	mask = rd_u8(&r);
	if (mask == 0 || mask >> TL_KIND_COUNT)
		goto corrupt; /* an active day has at least one event */
	for (i = 0; i < TL_KIND_COUNT; i++) {
		if (!(mask & (1u << i)))
			continue;
		h->count[i] = rd_varint(&r);
		if (h->count[i] == 0)
			goto corrupt; /* the mask says which kinds have events */
	}
	if (depth == SUMMARY) {
		if (r.err)
			goto corrupt;
		return 0;
	}
	h->tags_dropped = rd_varint(&r);
	n = rd_varint(&r);
	if (n > TL_HISTORY_TAGS)
		goto corrupt;
	h->ntags = (uint32_t)n;
	for (i = 0; i < h->ntags; i++) {
		v = rd_varint(&r);
		if (v > UINT16_MAX)
			goto corrupt;
		h->tags[i].id = (uint16_t)v;
		h->tags[i].count = rd_varint(&r);
	}
	n = rd_varint(&r);
	if (n > TL_HISTORY_RECENT)
		goto corrupt;
	h->nrecent = (uint32_t)n;
	for (i = 0; i < h->nrecent; i++) {
		v = rd_varint(&r);
		if (v >= TL_RECENT_DAYS)
			goto corrupt;
		h->recent[i].day = h->last - (tl_day)v;
		if (i && h->recent[i].day <= h->recent[i - 1].day)
			goto corrupt;
		h->recent[i].count = rd_varint(&r);
	}
	n = rd_varint(&r);
	if (r.err)
		goto corrupt;
	/* Each run takes at least two bytes: bound by input, not by n. */
	if (n == 0 || n > TL_RUNS_MAX || n > (uint64_t)(r.end - r.p) / 2)
		goto corrupt;
	if (depth == HEAD)
		return 0;
	h->runs = tl_reallocarray(NULL, n, sizeof(*h->runs));
	if (!h->runs) {
		tl_history_init(h);
		return TL_ENOMEM;
	}
	h->runs_cap = (uint32_t)n;
	prev = h->first;
	for (i = 0; i < n; i++) {
		uint64_t gap = rd_varint(&r), l = rd_varint(&r);

		if (r.err || (i == 0 && gap != 0) || (i > 0 && gap == 0) ||
		    prev > h->last || gap > (uint64_t)(h->last - prev) ||
		    l > (uint64_t)(h->last - prev) - gap)
			goto corrupt;
		h->runs[i].start = prev + (tl_day)gap;
		h->runs[i].len = (uint32_t)l + 1;
		prev = run_end(&h->runs[i]) + 1;
		sum += l + 1;
	}
	h->nruns = (uint32_t)n;
	if (r.p != r.end || prev != h->last + 1 || sum != h->active_days)
		goto corrupt;
	return 0;
corrupt:
	tl_history_free(h);
	return TL_ECORRUPT;
}

int tl_history_decode(struct tl_history *h, const uint8_t *buf, size_t len,
		      bool head_only)
{
	return decode(h, buf, len, head_only ? HEAD : FULL);
}

int tl_history_decode_summary(struct tl_history *h, const uint8_t *buf,
			      size_t len)
{
	return decode(h, buf, len, SUMMARY);
}

uint64_t tl_history_total(const struct tl_history *h)
{
	uint64_t t = 0;
	unsigned k;

	for (k = 0; k < TL_KIND_COUNT; k++)
		t += h->count[k];
	return t;
}

uint64_t tl_history_volume_since(const struct tl_history *h, tl_day since)
{
	uint64_t t = 0;
	uint32_t i;

	for (i = 0; i < h->nrecent; i++)
		if (h->recent[i].day >= since)
			t += h->recent[i].count;
	return t;
}

void tl_history_stats(const struct tl_history *h, unsigned hiatus_days,
		      struct tl_history_stats *st)
{
	int32_t lastweek = INT32_MIN, w1, w2;
	uint32_t i, gap;

	memset(st, 0, sizeof(*st));
	if (tl_history_is_empty(h))
		return;
	st->span_days = (uint32_t)(h->last - h->first) + 1;
	st->active_days = h->active_days;
	st->span_weeks =
		(uint32_t)(tl_day_week(h->last) - tl_day_week(h->first)) + 1;
	for (i = 0; i < h->nruns; i++) {
		w1 = tl_day_week(h->runs[i].start);
		w2 = tl_day_week(run_end(&h->runs[i]));
		if (w1 == lastweek)
			w1++;
		if (w2 >= w1)
			st->active_weeks += (uint32_t)(w2 - w1) + 1;
		lastweek = w2;
		if (i > 0) {
			gap = (uint32_t)(h->runs[i].start -
					 run_end(&h->runs[i - 1]) - 1);
			if (gap > st->longest_gap)
				st->longest_gap = gap;
			if (gap >= hiatus_days)
				st->hiatuses++;
		}
	}
	st->steadiness = (double)st->active_weeks / st->span_weeks;
	if (h->nruns)
		st->current = h->runs[h->nruns - 1];
}

unsigned tl_history_hiatuses(const struct tl_history *h, unsigned hiatus_days,
			     struct tl_hiatus *out, unsigned max)
{
	unsigned n = 0;
	uint32_t i, gap;

	for (i = 1; i < h->nruns; i++) {
		gap = (uint32_t)(h->runs[i].start - run_end(&h->runs[i - 1]) - 1);
		if (gap < hiatus_days)
			continue;
		if (n < max) {
			out[n].from = run_end(&h->runs[i - 1]) + 1;
			out[n].to = h->runs[i].start - 1;
			out[n].days = gap;
		}
		n++;
	}
	return n;
}

#define CHECK_RECORD_VERSION 1

int tl_check_record_encode(const struct tl_check_record *c, uint8_t *buf,
			   size_t size)
{
	uint8_t *p = buf;

	if (size < TL_CHECK_RECORD_MAX || c->day < 0)
		return TL_ETOOLONG;
	*p++ = CHECK_RECORD_VERSION;
	p += varint_put(p, (uint64_t)c->day);
	p += varint_put(p, c->listed);
	p += varint_put(p, c->of);
	return (int)(p - buf);
}

int tl_check_record_decode(struct tl_check_record *c, const uint8_t *buf,
			   size_t len)
{
	struct rd r = {buf, buf + len, false};
	uint64_t day, listed, of;

	memset(c, 0, sizeof(*c));
	if (len < 1)
		return TL_ECORRUPT;
	if (rd_u8(&r) != CHECK_RECORD_VERSION)
		return TL_EVERSION;
	day = rd_varint(&r);
	listed = rd_varint(&r);
	of = rd_varint(&r);
	if (r.err || r.p != r.end || day > TL_DAY_MAX || of > 65535 ||
	    listed > of)
		return TL_ECORRUPT;
	c->day = (tl_day)day;
	c->listed = (uint32_t)listed;
	c->of = (uint32_t)of;
	return 0;
}
