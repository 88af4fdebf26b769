/* SPDX-License-Identifier: MIT */
/* iptable.c -- per-country address tables and draws without repeats */
#include <string.h>

#include "sim/sim_int.h"
#include "trapline/alloc.h"
#include "trapline/err.h"

/*
 * Space no simulated sender may use: RFC 6890 special-purpose blocks,
 * private (RFC 1918), shared (RFC 6598), loopback, link local,
 * documentation (RFC 5737) and everything from 224/3 (multicast,
 * reserved, broadcast). Sorted, disjoint.
 */
static const struct {
	uint32_t first, last;
} v4_reserved[] = {
	{0x00000000, 0x00ffffff}, /* 0/8 "this network" */
	{0x0a000000, 0x0affffff}, /* 10/8 */
	{0x64400000, 0x647fffff}, /* 100.64/10 */
	{0x7f000000, 0x7fffffff}, /* 127/8 */
	{0xa9fe0000, 0xa9feffff}, /* 169.254/16 */
	{0xac100000, 0xac1fffff}, /* 172.16/12 */
	{0xc0000000, 0xc00000ff}, /* 192.0.0/24 IETF assignments */
	{0xc0000200, 0xc00002ff}, /* 192.0.2/24 TEST-NET-1 */
	{0xc0586300, 0xc05863ff}, /* 192.88.99/24 6to4 relay anycast */
	{0xc0a80000, 0xc0a8ffff}, /* 192.168/16 */
	{0xc6120000, 0xc613ffff}, /* 198.18/15 benchmarking */
	{0xc6336400, 0xc63364ff}, /* 198.51.100/24 TEST-NET-2 */
	{0xcb007100, 0xcb0071ff}, /* 203.0.113/24 TEST-NET-3 */
	{0xe0000000, 0xffffffff}, /* 224/3 */
};

/*
 * IPv6: only global unicast 2000::/3 is used, without the RFC 6890 blocks
 * in it (2001::/23 with Teredo, 2001:db8::/32 and 3fff::/20 documentation,
 * 2002::/16 6to4, whose GeoIP data is IPv4 in disguise). In /64 units.
 */
#define V6_FIRST 0x2000000000000000ULL
#define V6_LAST 0x3fffffffffffffffULL
static const struct {
	uint64_t first, last;
} v6_reserved[] = {
	{0x2001000000000000ULL, 0x200101ffffffffffULL}, /* 2001::/23 */
	{0x20010db800000000ULL, 0x20010db8ffffffffULL}, /* 2001:db8::/32 */
	{0x2002000000000000ULL, 0x2002ffffffffffffULL}, /* 2002::/16 */
	{0x3fff000000000000ULL, 0x3fff0fffffffffffULL}, /* 3fff::/20 */
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Lookups one table walk may take (count). Debian's databases need about
 * 350000 (IPv4) and 310000 (IPv6); a database without IPv6 data answers
 * in /128 or /32 blocks, which would take billions. */
#define WALK_LOOKUPS_MAX 4000000

/* A growable array of ranges tagged with a country, in walk order. */
struct walk {
	struct {
		uint64_t first, last;
		int c;
	} *r;
	size_t n, cap;
};

static int walk_add(struct walk *w, int c, uint64_t first, uint64_t last)
{
	if (w->n && w->r[w->n - 1].c == c && w->r[w->n - 1].last + 1 == first) {
		w->r[w->n - 1].last = last;
		return 0;
	}
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 4096;
		void *p = tl_reallocarray(w->r, cap, sizeof(*w->r));

		if (!p)
			return TL_ENOMEM;
		w->r = p;
		w->cap = cap;
	}
	w->r[w->n].first = first;
	w->r[w->n].last = last;
	w->r[w->n].c = c;
	w->n++;
	return 0;
}

static int code_slot(const char *cc)
{
	if (cc[0] < 'A' || cc[0] > 'Z' || cc[1] < 'A' || cc[1] > 'Z')
		return -1;
	return (cc[0] - 'A') * 26 + (cc[1] - 'A');
}

/* The country entry for @cc, created on first sight; -1 on ENOMEM. */
static int country(struct sim_iptab *t, const char *cc)
{
	int slot = code_slot(cc);
	struct sim_country *p;

	if (slot >= 0 && t->index[slot] >= 0)
		return t->index[slot];
	p = tl_reallocarray(t->c, t->nc + 1, sizeof(*t->c));
	if (!p)
		return -1;
	t->c = p;
	p = &t->c[t->nc];
	memset(p, 0, sizeof(*p));
	if (slot >= 0)
		memcpy(p->cc, cc, 3);
	if (slot >= 0)
		t->index[slot] = (int16_t)t->nc;
	return (int)t->nc++;
}

/* Walk GeoIP over the public IPv4 space, one lookup per block. */
static int walk_v4(struct sim_iptab *t, struct tl_geo *geo, struct walk *w)
{
	uint64_t v = 0, last;
	size_t ri = 0;
	struct tl_ip ip, end;
	char cc[3];
	unsigned long budget = WALK_LOOKUPS_MAX;
	int c;

	while (v <= 0xffffffffULL) {
		while (ri < NELEM(v4_reserved) && v4_reserved[ri].last < v)
			ri++;
		if (ri < NELEM(v4_reserved) && v4_reserved[ri].first <= v) {
			v = (uint64_t)v4_reserved[ri].last + 1;
			continue;
		}
		if (budget-- == 0)
			return TL_ELIMIT;
		tl_ip_from_v4(&ip, (uint32_t)v);
		tl_geo_country(geo, &ip, cc, &end);
		last = end.family == 4 ? tl_ip_v4(&end) : v;
		if (last < v) /* never trust a lookup to make progress */
			last = v;
		if (ri < NELEM(v4_reserved) && v4_reserved[ri].first <= last)
			last = v4_reserved[ri].first - 1;
		if (cc[0]) {
			c = country(t, cc);
			if (c < 0 || walk_add(w, c, v, last) < 0)
				return TL_ENOMEM;
		}
		v = last + 1;
	}
	return 0;
}

/* The same over 2000::/3, keeping whole /64s only. */
static int walk_v6(struct sim_iptab *t, struct tl_geo *geo, struct walk *w)
{
	uint64_t hi = V6_FIRST, lo = 0, hl, ll, f, l;
	size_t ri = 0;
	struct tl_ip ip, end;
	char cc[3];
	unsigned long budget = WALK_LOOKUPS_MAX;
	int c, i;

	for (;;) {
		while (ri < NELEM(v6_reserved) && v6_reserved[ri].last < hi)
			ri++;
		if (ri < NELEM(v6_reserved) && v6_reserved[ri].first <= hi) {
			hi = v6_reserved[ri].last + 1;
			lo = 0;
			continue;
		}
		if (budget-- == 0)
			return TL_ELIMIT;
		memset(&ip, 0, sizeof(ip));
		ip.family = 6;
		for (i = 0; i < 8; i++) {
			ip.a[i] = (uint8_t)(hi >> (56 - 8 * i));
			ip.a[8 + i] = (uint8_t)(lo >> (56 - 8 * i));
		}
		tl_geo_country(geo, &ip, cc, &end);
		hl = ll = 0;
		for (i = 0; end.family == 6 && i < 8; i++) {
			hl = hl << 8 | end.a[i];
			ll = ll << 8 | end.a[8 + i];
		}
		if (hl < hi || (hl == hi && ll < lo)) {
			hl = hi;
			ll = lo;
		}
		if (ri < NELEM(v6_reserved) && v6_reserved[ri].first <= hl) {
			hl = v6_reserved[ri].first - 1;
			ll = UINT64_MAX;
		}
		if (hl > V6_LAST) {
			hl = V6_LAST;
			ll = UINT64_MAX;
		}
		f = lo == 0 ? hi : hi + 1;
		l = ll == UINT64_MAX ? hl : hl - 1;
		if (cc[0] && f <= l) {
			c = country(t, cc);
			if (c < 0 || walk_add(w, c, f, l) < 0)
				return TL_ENOMEM;
		}
		if (hl == V6_LAST && ll == UINT64_MAX)
			return 0;
		if (ll == UINT64_MAX) {
			hi = hl + 1;
			lo = 0;
		} else {
			hi = hl;
			lo = ll + 1;
		}
	}
}

/* Fallback pools: all public space, as ranges of the country @c. */
static int fallback_v4(struct walk *w, int c)
{
	uint64_t v = 0;
	size_t i;
	int rc;

	for (i = 0; i < NELEM(v4_reserved); i++) {
		if (v < v4_reserved[i].first) {
			rc = walk_add(w, c, v, v4_reserved[i].first - 1);
			if (rc < 0)
				return rc;
		}
		v = (uint64_t)v4_reserved[i].last + 1;
	}
	return 0;
}

static int fallback_v6(struct walk *w, int c)
{
	uint64_t v = V6_FIRST;
	size_t i;
	int rc;

	for (i = 0; i < NELEM(v6_reserved); i++) {
		if (v < v6_reserved[i].first) {
			rc = walk_add(w, c, v, v6_reserved[i].first - 1);
			if (rc < 0)
				return rc;
		}
		v = v6_reserved[i].last + 1;
	}
	return walk_add(w, c, v, V6_LAST);
}

/*
 * Copy the walked ranges into per-country slices (a counting sort by
 * country, stable, so each slice stays in address order).
 */
static int group(struct sim_iptab *t, const struct walk *w, bool v6)
{
	uint32_t *pos;
	size_t i;
	unsigned k;
	uint32_t off = 0;

	pos = tl_calloc(t->nc, sizeof(*pos));
	if (!pos)
		return TL_ENOMEM;
	if (v6)
		t->v6 = tl_calloc(w->n, sizeof(*t->v6));
	else
		t->v4 = tl_calloc(w->n, sizeof(*t->v4));
	if (v6 ? !t->v6 : !t->v4) {
		tl_free(pos);
		return TL_ENOMEM;
	}
	for (i = 0; i < w->n; i++) {
		if (v6)
			t->c[w->r[i].c].v6_n++;
		else
			t->c[w->r[i].c].v4_n++;
	}
	for (k = 0; k < t->nc; k++) {
		if (v6)
			t->c[k].v6_off = off;
		else
			t->c[k].v4_off = off;
		pos[k] = off;
		off += v6 ? t->c[k].v6_n : t->c[k].v4_n;
	}
	for (i = 0; i < w->n; i++) {
		struct sim_country *c = &t->c[w->r[i].c];
		uint32_t j = pos[w->r[i].c]++;

		if (v6) {
			t->v6[j].first = w->r[i].first;
			t->v6[j].last = w->r[i].last;
		} else {
			t->v4[j].first = (uint32_t)w->r[i].first;
			t->v4[j].last = (uint32_t)w->r[i].last;
			t->v4[j].before = c->v4_size;
			c->v4_size += w->r[i].last - w->r[i].first + 1;
		}
	}
	tl_free(pos);
	return 0;
}

int sim_iptab_build(struct sim_iptab *t, struct tl_geo *geo, uint64_t key)
{
	struct walk w4 = {0}, w6 = {0};
	uint64_t sum = 0;
	unsigned k, bits;
	int rc = TL_ENOMEM, c;

	memset(t, 0, sizeof(*t));
	memset(t->index, 0xff, sizeof(t->index));
	t->key = key;
	t->fallback_v6 = -1;
	if (geo) {
		/* Past the budget, the database has no data of that family. */
		rc = walk_v4(t, geo, &w4);
		if (rc == TL_ELIMIT)
			w4.n = 0;
		else if (rc < 0)
			goto out;
		rc = walk_v6(t, geo, &w6);
		if (rc == TL_ELIMIT)
			w6.n = 0;
		else if (rc < 0)
			goto out;
	}
	t->geo_v4 = w4.n > 0;
	t->geo_v6 = w6.n > 0;
	rc = TL_ENOMEM;
	if (!t->geo_v4 || !t->geo_v6) {
		/* The unknown-country pool: "" has no index slot. */
		c = country(t, "");
		if (c < 0)
			goto out;
		if (!t->geo_v4 && fallback_v4(&w4, c) < 0)
			goto out;
		if (!t->geo_v6) {
			if (fallback_v6(&w6, c) < 0)
				goto out;
			t->fallback_v6 = c;
		}
	}
	if (group(t, &w4, false) < 0 || group(t, &w6, true) < 0)
		goto out;
	t->v4_cum = tl_calloc(t->nc, sizeof(*t->v4_cum));
	if (!t->v4_cum)
		goto out;
	for (k = 0; k < t->nc; k++) {
		struct sim_country *p = &t->c[k];

		sum += p->v4_size;
		t->v4_cum[k] = sum;
		for (bits = 0; bits < 64 && (p->v4_size - 1) >> bits; bits++)
			;
		p->half = bits / 2 + 1;
		p->key = sim_mix64(key ^ ((uint64_t)k << 32 | 0x5eed));
	}
	rc = 0;
out:
	tl_free(w4.r);
	tl_free(w6.r);
	if (rc < 0)
		sim_iptab_free(t);
	return rc;
}

void sim_iptab_free(struct sim_iptab *t)
{
	tl_free(t->c);
	tl_free(t->v4);
	tl_free(t->v6);
	tl_free(t->v4_cum);
	memset(t, 0, sizeof(*t));
}

int sim_iptab_find(const struct sim_iptab *t, const char *cc)
{
	int slot = code_slot(cc), c;

	if (slot < 0 || (c = t->index[slot]) < 0 || t->c[c].v4_size == 0)
		return -1;
	return c;
}

int sim_iptab_any(const struct sim_iptab *t, struct sim_rng *r)
{
	uint64_t total = t->v4_cum[t->nc - 1];
	uint64_t x = ((sim_rng_next(r) >> 32) * total) >> 32;
	unsigned lo = 0, hi = t->nc - 1;

	/* The first country whose running total passes x. */
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;

		if (t->v4_cum[mid] > x)
			hi = mid;
		else
			lo = mid + 1;
	}
	return (int)lo;
}

/*
 * A keyed Feistel permutation of [0, 4^half), walked in cycles until it
 * lands below @n: a bijection of [0, n), so the i-th draw of a country
 * is never the same address as the j-th.
 */
static uint64_t permute(uint64_t x, uint64_t n, unsigned half, uint64_t key)
{
	uint64_t mask = (1ULL << half) - 1, l, r, f;
	int round;

	do {
		l = x >> half;
		r = x & mask;
		for (round = 0; round < 4; round++) {
			f = sim_mix64(r ^ key ^ (uint64_t)round << 58) & mask;
			f ^= l;
			l = r;
			r = f;
		}
		x = l << half | r;
	} while (x >= n);
	return x;
}

static void draw_v4(struct sim_iptab *t, struct sim_country *c,
		    struct tl_ip *out)
{
	uint64_t i = permute(c->v4_used++, c->v4_size, c->half, c->key);
	const struct sim_v4range *r = t->v4 + c->v4_off;
	uint32_t lo = 0, hi = c->v4_n - 1;

	/* The last range starting at or before i. */
	while (lo < hi) {
		uint32_t mid = (lo + hi + 1) / 2;

		if (r[mid].before <= i)
			lo = mid;
		else
			hi = mid - 1;
	}
	tl_ip_from_v4(out, r[lo].first + (uint32_t)(i - r[lo].before));
}

static void draw_v6(struct sim_iptab *t, struct sim_rng *rng,
		    const struct sim_country *c, struct tl_ip *out)
{
	const struct sim_v6range *r;
	uint64_t span, hi, lo;
	int i;

	r = t->v6 + c->v6_off + sim_rng_below(rng, c->v6_n);
	span = r->last - r->first;
	hi = r->first + (span == UINT64_MAX ? sim_rng_next(rng)
					    : sim_rng_next(rng) % (span + 1));
	/* A bijection of the counter: interface ids never repeat. */
	do
		lo = sim_mix64(t->v6_ctr++ ^ t->key);
	while (lo == 0);
	memset(out, 0, sizeof(*out));
	out->family = 6;
	for (i = 0; i < 8; i++) {
		out->a[i] = (uint8_t)(hi >> (56 - 8 * i));
		out->a[8 + i] = (uint8_t)(lo >> (56 - 8 * i));
	}
}

int sim_iptab_draw(struct sim_iptab *t, struct sim_rng *r, int *c, bool v6,
		   struct tl_ip *out)
{
	int tries;

	if (v6) {
		if (t->c[*c].v6_n) {
			draw_v6(t, r, &t->c[*c], out);
			return 0;
		}
		if (t->fallback_v6 >= 0) {
			*c = t->fallback_v6;
			draw_v6(t, r, &t->c[*c], out);
			return 0;
		}
	}
	for (tries = 0; tries < 64; tries++) {
		if (t->c[*c].v4_used < t->c[*c].v4_size) {
			draw_v4(t, &t->c[*c], out);
			return 0;
		}
		*c = sim_iptab_any(t, r);
	}
	return TL_ELIMIT;
}
