/* SPDX-License-Identifier: MIT */
/* dict.c -- counting a client's unknown recipients: dictionary attacks
 *
 * A table of clients, open-addressed on the address, grown by doubling up
 * to TL_DICT_CLIENTS_MAX. When it is full, clients whose window has lapsed
 * go first; if that frees too little, the half seen longest ago go.
 */
#include <stdlib.h>
#include <string.h>

#include "limits.h"
#include "mail.h"
#include "trapline/alloc.h"
#include "trapline/err.h"

struct client {
	struct tl_ip ip;
	bool used;
	bool fired;             /* the threshold was reached in this window */
	uint8_t nr;             /* recipient hashes held */
	uint32_t distinct;      /* distinct recipients in this window */
	int64_t start, last;    /* window start, last reject (unix s) */
	uint32_t r[TL_DICT_RCPTS_MAX]; /* hashes of recipients seen */
};

struct mail_dict {
	unsigned threshold, window;
	struct client *t;
	size_t cap, n; /* slots (a power of two), used */
};

int mail_dict_new(unsigned threshold, unsigned window_s,
		  struct mail_dict **out)
{
	struct mail_dict *d = tl_calloc(1, sizeof(*d));

	if (!d)
		return TL_ENOMEM;
	d->threshold = threshold ? threshold : 1;
	d->window = window_s ? window_s : 1;
	d->cap = 1024;
	d->t = tl_calloc(d->cap, sizeof(*d->t));
	if (!d->t) {
		tl_free(d);
		return TL_ENOMEM;
	}
	*out = d;
	return 0;
}

void mail_dict_free(struct mail_dict *d)
{
	if (!d)
		return;
	tl_free(d->t);
	tl_free(d);
}

size_t mail_dict_clients(const struct mail_dict *d)
{
	return d->n;
}

static uint64_t ip_hash(const struct tl_ip *ip)
{
	uint64_t h = 14695981039346656037ULL ^ ip->family;
	size_t i;

	for (i = 0; i < tl_ip_size(ip); i++) {
		h ^= ip->a[i];
		h *= 1099511628211ULL;
	}
	return h ^ (h >> 29);
}

static uint32_t rcpt_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 'A' && c <= 'Z')
			c += 32;
		h ^= c;
		h *= 16777619u;
	}
	return h;
}

static bool same_ip(const struct tl_ip *a, const struct tl_ip *b)
{
	return a->family == b->family &&
	       memcmp(a->a, b->a, tl_ip_size(a)) == 0;
}

static struct client *slot(struct client *t, size_t cap,
			   const struct tl_ip *ip)
{
	size_t i = (size_t)ip_hash(ip) & (cap - 1);

	while (t[i].used && !same_ip(&t[i].ip, ip))
		i = (i + 1) & (cap - 1);
	return &t[i];
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Rebuild into @cap slots, keeping clients seen at or after @keep_from
 * whose window has not lapsed by @now. */
static int rebuild(struct mail_dict *d, size_t cap, int64_t now,
		   int64_t keep_from)
{
	struct client *t = tl_calloc(cap, sizeof(*t));
	size_t i;

	if (!t)
		return TL_ENOMEM;
	d->n = 0;
	for (i = 0; i < d->cap; i++) {
		struct client *c = &d->t[i];

		if (!c->used || c->last < keep_from ||
		    now - c->start > (int64_t)d->window)
			continue;
		*slot(t, cap, &c->ip) = *c;
		d->n++;
	}
	tl_free(d->t);
	d->t = t;
	d->cap = cap;
	return 0;
}

/* Make room for one more client. */
static int make_room(struct mail_dict *d, int64_t now)
{
	int64_t *last, median;
	size_t i, n = 0;
	int rc;

	if ((d->n + 1) * 4 <= d->cap * 3)
		return 0;
	if (d->cap < TL_DICT_CLIENTS_MAX)
		return rebuild(d, d->cap * 2, now, INT64_MIN);
	rc = rebuild(d, d->cap, now, INT64_MIN);
	if (rc < 0 || (d->n + 1) * 2 <= d->cap)
		return rc;
	/* Still full of live clients: forget the half seen longest ago. */
	last = tl_calloc(d->n, sizeof(*last));
	if (!last)
		return TL_ENOMEM;
	for (i = 0; i < d->cap; i++)
		if (d->t[i].used)
			last[n++] = d->t[i].last;
	qsort(last, n, sizeof(*last), cmp_i64);
	median = last[n / 2];
	tl_free(last);
	return rebuild(d, d->cap, now, median + 1);
}

uint32_t mail_dict_note(struct mail_dict *d, const struct tl_ip *ip,
			const char *rcpt, size_t len, int64_t now)
{
	uint32_t h = rcpt_hash(rcpt, len);
	struct client *c = slot(d->t, d->cap, ip);
	unsigned i;

	if (!c->used) {
		if (make_room(d, now) < 0)
			return 0;
		c = slot(d->t, d->cap, ip);
		memset(c, 0, sizeof(*c));
		c->used = true;
		c->ip = *ip;
		c->start = now;
		d->n++;
	}
	if (now - c->start > (int64_t)d->window) {
		/* The window lapsed: a new one starts here. */
		c->start = now;
		c->distinct = 0;
		c->nr = 0;
		c->fired = false;
	}
	c->last = now;
	for (i = 0; i < c->nr; i++)
		if (c->r[i] == h)
			return 0; /* seen in this window */
	if (c->nr < TL_DICT_RCPTS_MAX)
		c->r[c->nr++] = h;
	c->distinct++;
	if (c->fired)
		return 1;
	if (c->distinct >= d->threshold) {
		c->fired = true;
		return c->distinct;
	}
	return 0;
}
