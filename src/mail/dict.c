/* SPDX-License-Identifier: MIT */
/* dict.c -- counting a client's unknown recipients: dictionary attacks
 *
 * A table of clients, chained in TL_DICT_CLIENTS_MAX buckets keyed by a
 * secret seed (so an attacker cannot choose addresses that all collide),
 * growing by doubling up to TL_DICT_CLIENTS_MAX clients; when full, the
 * client seen longest ago (an LRU list) makes room. Each client keeps a
 * few recipient hashes in its slot and, past those, an array allocated
 * once per slot and reused; past TL_DICT_RCPTS_MAX every reject counts.
 */
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "tl_limits.h"
#include "mail.h"
#include "trapline/alloc.h"
#include "trapline/err.h"

/* Hashes kept in the client's own slot (count). */
#define INLINE_RCPTS 8
/* Hash chains (a power of two). */
#define BUCKETS TL_DICT_CLIENTS_MAX
/* The table grows from this many slots (count), doubling. */
#define CLIENTS_INITIAL 256

_Static_assert((BUCKETS & (BUCKETS - 1)) == 0, "BUCKETS: a power of two");
_Static_assert(TL_DICT_RCPTS_MAX > INLINE_RCPTS, "TL_DICT_RCPTS_MAX");

struct client {
	struct tl_ip ip;
	uint32_t next;             /* hash chain, slot + 1, 0 = end */
	uint32_t newer, older;     /* LRU list, slot + 1, 0 = none */
	int64_t start;             /* unix s: window start */
	uint32_t distinct;         /* distinct recipients in the window */
	uint16_t nhash;            /* hashes stored: small, then big */
	bool fired;                /* the threshold event was sent */
	uint64_t small[INLINE_RCPTS];
	uint64_t *big; /* TL_DICT_RCPTS_MAX - INLINE_RCPTS, owned, or NULL */
};

struct mail_dict {
	unsigned threshold, window; /* count, s */
	uint64_t seed;              /* keys the client hash */
	struct client *cl;          /* ncl of cap slots used, owned */
	uint32_t ncl, cap;
	uint32_t *bucket;           /* BUCKETS chain heads, slot + 1, owned */
	uint32_t newest, oldest;    /* LRU ends, slot + 1 */
};

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static uint32_t ip_bucket(const struct mail_dict *d, const struct tl_ip *ip)
{
	uint64_t w0, w1;

	memcpy(&w0, ip->a, 8);
	memcpy(&w1, ip->a + 8, 8);
	return (uint32_t)(mix64(mix64(d->seed ^ w0 ^ ip->family) ^ w1) &
			  (BUCKETS - 1));
}

/* FNV-1a over the address, case-folded (domains are case-insensitive;
 * the trap and Postfix both fold local parts for lookups too). */
static uint64_t rcpt_hash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 'A' && c <= 'Z')
			c += 32;
		h ^= c;
		h *= 0x100000001b3ULL;
	}
	return mix64(h);
}

int mail_dict_new(unsigned threshold, unsigned window_s,
		  struct mail_dict **out)
{
	struct mail_dict *d;

	*out = NULL;
	if (threshold == 0)
		return TL_EINVAL;
	d = tl_calloc(1, sizeof(*d));
	if (!d)
		return TL_ENOMEM;
	d->bucket = tl_calloc(BUCKETS, sizeof(*d->bucket));
	if (!d->bucket) {
		tl_free(d);
		return TL_ENOMEM;
	}
	d->threshold = threshold;
	d->window = window_s;
	/* A secret seed keeps a log's author from chaining every address
	 * into one bucket; without one, the table still works. */
	if (getentropy(&d->seed, sizeof(d->seed)) != 0)
		d->seed = 0x9e3779b97f4a7c15ULL;
	*out = d;
	return 0;
}

void mail_dict_free(struct mail_dict *d)
{
	uint32_t i;

	if (!d)
		return;
	for (i = 0; i < d->cap; i++)
		tl_free(d->cl[i].big);
	tl_free(d->cl);
	tl_free(d->bucket);
	tl_free(d);
}

size_t mail_dict_clients(const struct mail_dict *d)
{
	return d->ncl;
}

static struct client *slot(struct mail_dict *d, uint32_t i)
{
	return &d->cl[i - 1];
}

static void lru_unlink(struct mail_dict *d, uint32_t i)
{
	struct client *c = slot(d, i);

	if (c->newer)
		slot(d, c->newer)->older = c->older;
	else
		d->newest = c->older;
	if (c->older)
		slot(d, c->older)->newer = c->newer;
	else
		d->oldest = c->newer;
	c->newer = c->older = 0;
}

static void lru_push(struct mail_dict *d, uint32_t i)
{
	struct client *c = slot(d, i);

	c->newer = 0;
	c->older = d->newest;
	if (d->newest)
		slot(d, d->newest)->newer = i;
	d->newest = i;
	if (!d->oldest)
		d->oldest = i;
}

static void chain_remove(struct mail_dict *d, uint32_t i)
{
	uint32_t *pp = &d->bucket[ip_bucket(d, &slot(d, i)->ip)];

	while (*pp && *pp != i)
		pp = &slot(d, *pp)->next;
	if (*pp)
		*pp = slot(d, i)->next;
}

/* A free slot: a new one while the table may grow, else the stalest. */
static uint32_t take_slot(struct mail_dict *d)
{
	struct client *ncl;
	uint32_t ncap, i;

	if (d->ncl == d->cap && d->cap < TL_DICT_CLIENTS_MAX) {
		ncap = d->cap ? d->cap * 2 : CLIENTS_INITIAL;
		if (ncap > TL_DICT_CLIENTS_MAX)
			ncap = TL_DICT_CLIENTS_MAX;
		ncl = tl_reallocarray(d->cl, ncap, sizeof(*ncl));
		if (ncl) {
			memset(ncl + d->cap, 0, (ncap - d->cap) * sizeof(*ncl));
			d->cl = ncl;
			d->cap = ncap;
		}
	}
	if (d->ncl < d->cap)
		return ++d->ncl;
	if (!d->oldest)
		return 0; /* no table at all: out of memory */
	i = d->oldest;
	chain_remove(d, i);
	lru_unlink(d, i);
	return i;
}

static struct client *client_get(struct mail_dict *d, const struct tl_ip *ip,
				 int64_t t)
{
	uint32_t b = ip_bucket(d, ip), i;
	struct client *c;

	for (i = d->bucket[b]; i; i = c->next) {
		c = slot(d, i);
		if (c->ip.family == ip->family &&
		    memcmp(c->ip.a, ip->a, sizeof(ip->a)) == 0) {
			lru_unlink(d, i);
			lru_push(d, i);
			return c;
		}
	}
	i = take_slot(d);
	if (!i)
		return NULL;
	c = slot(d, i);
	c->ip = *ip;
	c->start = t;
	c->distinct = 0;
	c->nhash = 0;
	c->fired = false;
	c->next = d->bucket[b];
	d->bucket[b] = i;
	lru_push(d, i);
	return c;
}

/* Remember @h; false when it was already known. */
static bool add_rcpt(struct client *c, uint64_t h)
{
	unsigned i, n = c->nhash;

	for (i = 0; i < n && i < INLINE_RCPTS; i++)
		if (c->small[i] == h)
			return false;
	for (i = INLINE_RCPTS; i < n; i++)
		if (c->big[i - INLINE_RCPTS] == h)
			return false;
	if (n < INLINE_RCPTS) {
		c->small[c->nhash++] = h;
	} else if (n < TL_DICT_RCPTS_MAX) {
		if (!c->big)
			c->big = tl_calloc(TL_DICT_RCPTS_MAX - INLINE_RCPTS,
					   sizeof(*c->big));
		/* Without the array, as past the cap: counted, not kept. */
		if (c->big)
			c->big[c->nhash++ - INLINE_RCPTS] = h;
	}
	return true;
}

uint32_t mail_dict_note(struct mail_dict *d, const struct tl_ip *ip,
			const char *rcpt, size_t len, int64_t now)
{
	struct client *c = client_get(d, ip, now);

	if (!c)
		return 0;
	if (now > c->start + (int64_t)d->window) {
		/* The window lapsed: a new one starts here. */
		c->start = now;
		c->distinct = 0;
		c->nhash = 0;
		c->fired = false;
	}
	if (!add_rcpt(c, rcpt_hash(rcpt, len)))
		return 0;
	if (c->distinct < UINT32_MAX)
		c->distinct++;
	if (c->fired)
		return 1;
	if (c->distinct < d->threshold)
		return 0;
	c->fired = true;
	return c->distinct;
}
