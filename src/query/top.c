/* SPDX-License-Identifier: MIT */
/* top.c -- rankings: a bounded heap over an ordered walk of the history */
#include <inttypes.h>
#include <string.h>

#include "tl_limits.h"
#include "query.h"
#include "trapline/alloc.h"
#include "trapline/err.h"
#include "trapline/log.h"

/* A candidate and its sort key; bigger keys rank higher. */
struct cand {
	double a, b;  /* primary and secondary score */
	int64_t c;    /* tertiary */
	struct tl_ip ip;
	uint64_t volume;
};

/* >0 when x ranks above y. Equal scores: the lower address first. */
static int cand_cmp(const struct cand *x, const struct cand *y)
{
	if (x->a != y->a)
		return x->a > y->a ? 1 : -1;
	if (x->b != y->b)
		return x->b > y->b ? 1 : -1;
	if (x->c != y->c)
		return x->c > y->c ? 1 : -1;
	return -tl_ip_cmp(&x->ip, &y->ip);
}

/* A min-heap of the best @cap candidates: the root is the worst kept. */
struct heap {
	struct cand *v;
	unsigned n, cap;
	uint64_t bad; /* records that did not decode */
};

static void heap_push(struct heap *hp, const struct cand *c)
{
	unsigned i, p, l, r, m;
	struct cand t;

	if (hp->n < hp->cap) {
		i = hp->n++;
		hp->v[i] = *c;
		while (i > 0) {
			p = (i - 1) / 2;
			if (cand_cmp(&hp->v[p], &hp->v[i]) <= 0)
				break;
			t = hp->v[p];
			hp->v[p] = hp->v[i];
			hp->v[i] = t;
			i = p;
		}
		return;
	}
	if (cand_cmp(c, &hp->v[0]) <= 0)
		return;
	hp->v[0] = *c;
	i = 0;
	for (;;) {
		l = 2 * i + 1;
		r = l + 1;
		m = i;
		if (l < hp->n && cand_cmp(&hp->v[l], &hp->v[m]) < 0)
			m = l;
		if (r < hp->n && cand_cmp(&hp->v[r], &hp->v[m]) < 0)
			m = r;
		if (m == i)
			break;
		t = hp->v[m];
		hp->v[m] = hp->v[i];
		hp->v[i] = t;
		i = m;
	}
}

static int cand_desc(const void *x, const void *y)
{
	return cand_cmp(y, x);
}

/* Score one record; false when the filters leave it out. */
static bool score(const struct top_query *q, bool windowed,
		  const struct tl_history *h, struct cand *c)
{
	struct tl_history_stats st;
	uint64_t vol;

	if (q->kind >= 0 && h->count[q->kind] == 0)
		return false;
	if (q->has_since && h->last < q->since)
		return false;
	if (q->has_until && h->first > q->until)
		return false;
	if (q->kind >= 0)
		vol = h->count[q->kind];
	else if (windowed)
		vol = tl_history_volume_since(h, q->since);
	else
		vol = tl_history_total(h);
	if (windowed && q->by == TOP_VOLUME && vol == 0)
		return false;
	c->volume = vol;
	switch (q->by) {
	case TOP_LONGEVITY:
		c->a = (double)(h->last - h->first);
		c->b = h->active_days;
		c->c = h->last_time;
		break;
	case TOP_VOLUME:
		c->a = (double)vol;
		c->b = h->active_days;
		c->c = h->last_time;
		break;
	case TOP_RECENT:
		c->a = (double)h->last_time;
		c->b = (double)vol;
		c->c = 0;
		break;
	case TOP_STEADINESS:
		tl_history_stats(h, 30, &st);
		c->a = st.steadiness;
		c->b = st.span_days;
		c->c = h->active_days;
		break;
	}
	return true;
}

/* As little of the record as the ranking needs: steadiness the runs, a
 * volume window the recent days, everything else the summary. */
static int decode(const struct top_query *q, bool windowed,
		  struct tl_history *h, const uint8_t *val, size_t len)
{
	if (q->by == TOP_STEADINESS)
		return tl_history_decode(h, val, len, false);
	if (windowed)
		return tl_history_decode(h, val, len, true);
	return tl_history_decode_summary(h, val, len);
}

static void ip_increment(struct tl_ip *ip, bool *wrapped)
{
	int i;

	for (i = (int)tl_ip_size(ip) - 1; i >= 0; i--)
		if (++ip->a[i] != 0)
			break;
	*wrapped = i < 0;
}

static int scan_family(struct tl_store *s, struct tl_geo *geo,
		       const struct top_query *q, bool windowed, uint8_t family,
		       struct heap *hp)
{
	struct tl_store_iter *it;
	struct tl_prefix all = {{family, {0}}, 0};
	const struct tl_prefix *range = q->has_network ? &q->network : &all;
	struct tl_ip hi, ip, blk_last, next;
	struct tl_history h;
	const uint8_t *val;
	size_t len;
	bool blk_valid = false, blk_match = false, wrapped;
	char cc[3];
	struct cand c;
	int rc;

	tl_prefix_last(range, &hi);
	rc = tl_store_iter_open(s, family, &it);
	if (rc < 0)
		return rc;
	tl_history_init(&h);
	rc = tl_store_iter_seek(it, &range->ip);
	while (rc == 1) {
		tl_store_iter_get(it, &ip, &val, &len);
		if (q->has_network && tl_ip_cmp(&ip, &hi) > 0)
			break;
		if (q->country[0]) {
			if (!blk_valid || tl_ip_cmp(&ip, &blk_last) > 0) {
				tl_geo_country(geo, &ip, cc, &blk_last);
				blk_valid = true;
				blk_match = strcmp(cc, q->country) == 0;
			}
			if (!blk_match) {
				next = blk_last;
				ip_increment(&next, &wrapped);
				if (wrapped)
					break;
				rc = tl_store_iter_seek(it, &next);
				continue;
			}
		}
		if (decode(q, windowed, &h, val, len) < 0) {
			/* Checked like any stored record: counted, logged
			 * once, left out of the ranking. */
			if (hp->bad++ == 0) {
				char buf[TL_IP_STRLEN];

				tl_ip_format(&ip, buf);
				log_warn("top", "record of %s is unreadable; "
					 "left out", buf);
			}
		} else if (score(q, windowed, &h, &c)) {
			c.ip = ip;
			heap_push(hp, &c);
		}
		rc = tl_store_iter_next(it);
	}
	tl_history_free(&h);
	tl_store_iter_close(it);
	return rc < 0 ? rc : 0;
}

int top_run(struct tl_store *s, struct tl_geo *geo, const struct top_query *q,
	    struct top_row **rows, unsigned *nrows, bool *windowed)
{
	struct heap hp = {NULL, 0, q->limit, 0};
	struct top_row *out = NULL;
	unsigned i;
	int rc = 0;

	*rows = NULL;
	*nrows = 0;
	*windowed = q->by == TOP_VOLUME && q->kind < 0 && q->has_since &&
		    q->since > q->latest - TL_RECENT_DAYS;
	if (q->limit == 0 || q->limit > TL_TOP_LIMIT_MAX)
		return TL_ERANGE;
	hp.v = tl_calloc(q->limit, sizeof(*hp.v));
	if (!hp.v)
		return TL_ENOMEM;
	if (!q->has_network || q->network.ip.family == 4)
		rc = scan_family(s, geo, q, *windowed, 4, &hp);
	if (rc == 0 && (!q->has_network || q->network.ip.family == 6))
		rc = scan_family(s, geo, q, *windowed, 6, &hp);
	if (rc < 0)
		goto out;
	if (hp.bad > 1)
		log_warn("top", "%" PRIu64 " unreadable records left out",
			 hp.bad);
	qsort(hp.v, hp.n, sizeof(*hp.v), cand_desc);
	out = tl_calloc(hp.n, sizeof(*out));
	if (!out) {
		rc = TL_ENOMEM;
		goto out;
	}
	for (i = 0; i < hp.n; i++) {
		out[i].ip = hp.v[i].ip;
		out[i].volume = hp.v[i].volume;
		rc = tl_store_get(s, &out[i].ip, &out[i].h);
		if (rc < 0) {
			top_rows_free(out, i);
			out = NULL;
			goto out;
		}
	}
	*rows = out;
	*nrows = hp.n;
out:
	tl_free(hp.v);
	return rc;
}

void top_rows_free(struct top_row *rows, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		tl_history_free(&rows[i].h);
	tl_free(rows);
}
