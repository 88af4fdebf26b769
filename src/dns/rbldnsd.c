/* SPDX-License-Identifier: MIT */
/* rbldnsd.c -- rbldnsd-syntax ip4set / ip4trie / ip6trie data and lookups
 *
 * Layout: entries live in one sorted array per prefix length ("level"):
 * 8 bytes an IPv4 entry (key, value index), 24 an IPv6 one. ip4set uses
 * the levels 32/24/16/8 only, which is exactly rbldnsd's four classes; a
 * trie uses any length. A lookup tries the levels present, longest first,
 * with a binary search in each, so "most specific wins" holds for both.
 * Values (A, TXT) are interned: a million entries sharing a default cost
 * one value. Value index 0 is the exclusion, so in ip4set's (key, value)
 * order it sorts first and wins inside its class, as in rbldnsd, where
 * the NULL value pointer sorts first.
 *
 * The address grammars below are written to accept exactly what rbldnsd's
 * ip4parse.c and ip6addr.c accept (including "1.2.3.4:2" and octets with
 * leading zeros), because an operator's file must load the same way.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "trapline/alloc.h"
#include "trapline/err.h"
#include "rbldnsd.h"

#define EXCL 0u              /* value index of an exclusion */
#define DEF_A 0x7f000002u    /* rbldnsd's A when nothing says otherwise */
#define SUBST_BASE 10        /* index of $= among the variables */
#define NSUBST 11

struct e4 {
	uint32_t key; /* network, host order, host bits zero */
	uint32_t v;   /* value index; EXCL for an exclusion */
};

struct e6 {
	uint64_t hi, lo; /* network, host bits zero */
	uint32_t v;      /* value index */
};

struct value {
	uint32_t a;   /* host order */
	uint32_t off; /* TXT offset in pool (NUL-terminated), 0 = none */
};

struct level {
	void *e;     /* struct e4[] or struct e6[], sorted */
	size_t n;    /* entries */
	size_t cap;  /* allocated (while loading) */
};

struct rbl_data {
	enum rbl_type type;
	unsigned nlev;           /* levels present */
	uint8_t lev[129];        /* their lengths, longest first */
	struct level level[129]; /* by prefix length */
	struct value *val;       /* values; [0] is the exclusion */
	size_t nval, capval;
	char *pool;              /* TXT and variable strings; [0] = "" */
	size_t npool, cappool;
	size_t entries;
	uint32_t ttl;            /* $TTL, seconds, 0 = none */
	struct rbl_soa soa;
	struct rbl_ns ns;
	uint32_t subst[NSUBST];  /* pool offsets, 0 = unset */
	size_t bad;              /* lines skipped or warned about */
	char warn[RBL_WARN_KEEP][RBL_WARN_LEN];
};

/* Load-time state, freed when the load ends. */
struct loader {
	struct rbl_data *d;
	unsigned lineno;
	uint32_t def;        /* current default value index */
	uint32_t maxrange;   /* $MAXRANGE4, addresses; 0 = none */
	uint32_t *hash;      /* value interning: open addressing */
	size_t hashcap;      /* slots, a power of two */
	int err;             /* sticky fatal error */
};

/* ------------------------------------------------------------------ */
/* small helpers */

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_comment(char c)
{
	return c == '#' || c == ';';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static const char *skip_space(const char *s)
{
	while (is_space(*s))
		s++;
	return s;
}

static uint32_t mask4(unsigned bits)
{
	return bits ? 0xffffffffu << (32 - bits) : 0;
}

static void warn(struct loader *ld, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void warn(struct loader *ld, const char *fmt, ...)
{
	struct rbl_data *d = ld->d;
	va_list ap;
	int n;

	if (d->bad < RBL_WARN_KEEP) {
		n = ld->lineno ? snprintf(d->warn[d->bad], RBL_WARN_LEN,
					  "line %u: ", ld->lineno)
			       : 0;
		if (n > 0 && n < RBL_WARN_LEN) {
			va_start(ap, fmt);
			vsnprintf(d->warn[d->bad] + n, RBL_WARN_LEN - (size_t)n,
				  fmt, ap);
			va_end(ap);
		}
	}
	d->bad++;
}

static void fail(struct loader *ld, int err)
{
	if (!ld->err)
		ld->err = err;
}

/* ------------------------------------------------------------------ */
/* values and strings */

static uint32_t pool_add(struct loader *ld, const char *s, size_t len)
{
	struct rbl_data *d = ld->d;
	size_t need = d->npool + len + 1, cap;
	char *p;

	if (need > UINT32_MAX) {
		fail(ld, TL_ELIMIT);
		return 0;
	}
	if (need > d->cappool) {
		cap = d->cappool ? d->cappool : 256;
		while (cap < need)
			cap *= 2;
		p = tl_reallocarray(d->pool, cap, 1);
		if (!p) {
			fail(ld, TL_ENOMEM);
			return 0;
		}
		d->pool = p;
		d->cappool = cap;
	}
	memcpy(d->pool + d->npool, s, len);
	d->pool[d->npool + len] = '\0';
	d->npool = need;
	return (uint32_t)(need - len - 1);
}

static uint64_t hash_value(uint32_t a, const char *txt, size_t len)
{
	uint64_t h = 1469598103934665603ull ^ a;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)txt[i]) * 1099511628211ull;
	return h ^ (h >> 29);
}

static bool value_is(const struct rbl_data *d, uint32_t i, uint32_t a,
		     const char *txt, size_t len)
{
	const char *t = d->pool + d->val[i].off;

	return d->val[i].a == a && strlen(t) == len &&
	       memcmp(t, txt, len) == 0;
}

static int hash_grow(struct loader *ld)
{
	struct rbl_data *d = ld->d;
	size_t cap = ld->hashcap ? ld->hashcap * 2 : 64, i, j;
	uint32_t *h = tl_calloc(cap, sizeof(*h));

	if (!h)
		return TL_ENOMEM;
	for (i = 1; i < d->nval; i++) {
		const char *t = d->pool + d->val[i].off;

		j = hash_value(d->val[i].a, t, strlen(t)) & (cap - 1);
		while (h[j])
			j = (j + 1) & (cap - 1);
		h[j] = (uint32_t)i;
	}
	tl_free(ld->hash);
	ld->hash = h;
	ld->hashcap = cap;
	return 0;
}

/* The index of value (a, txt), added if new; 0 with ld->err on failure. */
static uint32_t intern(struct loader *ld, uint32_t a, const char *txt,
		       size_t len)
{
	struct rbl_data *d = ld->d;
	struct value *nv;
	size_t j;
	int err;

	if ((d->nval + 1) * 2 > ld->hashcap) {
		err = hash_grow(ld);
		if (err) {
			fail(ld, err);
			return 0;
		}
	}
	j = hash_value(a, txt, len) & (ld->hashcap - 1);
	while (ld->hash[j]) {
		if (value_is(d, ld->hash[j], a, txt, len))
			return ld->hash[j];
		j = (j + 1) & (ld->hashcap - 1);
	}
	if (d->nval == d->capval) {
		nv = tl_reallocarray(d->val, d->capval * 2, sizeof(*nv));
		if (!nv) {
			fail(ld, TL_ENOMEM);
			return 0;
		}
		d->val = nv;
		d->capval *= 2;
	}
	d->val[d->nval].a = a;
	d->val[d->nval].off = len ? pool_add(ld, txt, len) : 0;
	if (ld->err)
		return 0;
	ld->hash[j] = (uint32_t)d->nval;
	return (uint32_t)d->nval++;
}

/* ------------------------------------------------------------------ */
/* rbldnsd's IPv4 grammar (ip4parse.c) */

/* "a", "a.b", "a.b.c" or "a.b.c.d", left-aligned into *a. Returns the
 * bits given (8, 16, 24, 32) or -1; *end is where parsing stopped. */
static int ip4_prefix(const char *s, uint32_t *a, const char **end)
{
	unsigned bits = 0, o;

	*a = 0;
	for (;;) {
		if (!is_digit(*s)) {
			*end = s;
			return -1;
		}
		o = (unsigned)(*s++ - '0');
		while (is_digit(*s)) {
			o = o * 10 + (unsigned)(*s++ - '0');
			if (o > 255) {
				*end = s;
				return -1;
			}
		}
		bits += 8;
		*a |= o << (32 - bits);
		if (bits == 32 || *s != '.')
			break;
		s++;
	}
	*end = s;
	return (int)bits;
}

/* "/n", n <= 32, after the slash. */
static int ip4_mbits(const char *s, const char **end)
{
	unsigned bits;

	if (!is_digit(*s)) {
		*end = s;
		return -1;
	}
	bits = (unsigned)(*s++ - '0');
	while (is_digit(*s)) {
		bits = bits * 10 + (unsigned)(*s++ - '0');
		if (bits > 32) {
			*end = s;
			return -1;
		}
	}
	*end = s;
	return (int)bits;
}

/* ip4set's range: prefix, prefix/n or prefix-prefix (a one-octet end is
 * a suffix: 127.0.0.1-5). Returns bits (32 for a dash range) or -1;
 * [*a, *b] inclusive, *a possibly with host bits. */
static int ip4_range(const char *s, uint32_t *a, uint32_t *b,
		     const char **end)
{
	int bits = ip4_prefix(s, a, &s), bbits;

	if (bits < 0) {
		*end = s;
		return -1;
	}
	if (*s == '-') {
		bbits = ip4_prefix(s + 1, b, &s);
		*end = s;
		if (bbits < 0)
			return -1;
		if (bbits == 8) {
			*b = (*b >> (bits - 8)) | (*a & mask4((unsigned)bits - 8));
			bbits = bits;
		} else if (bbits != bits) {
			return -1;
		}
		*b |= ~mask4((unsigned)bbits);
		return *a > *b ? -1 : 32;
	}
	if (*s == '/') {
		bits = ip4_mbits(s + 1, &s);
		if (bits < 0) {
			*end = s;
			return -1;
		}
	} else if (bits == 8) {
		*end = s;
		return -1; /* a bare number: rbldnsd wants 10/8 */
	}
	*b = *a | ~mask4((unsigned)bits);
	*end = s;
	return bits;
}

/* The tries' CIDR: prefix or prefix/n, not a bare number. */
static int ip4_cidr(const char *s, uint32_t *a, const char **end)
{
	int bits = ip4_prefix(s, a, &s);

	if (bits < 0) {
		*end = s;
		return -1;
	}
	if (*s == '/')
		return ip4_mbits(s + 1, end);
	*end = s;
	return bits == 8 ? -1 : bits;
}

/* ------------------------------------------------------------------ */
/* rbldnsd's IPv6 grammar (ip6addr.c): 16-bit groups, one "::" */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int ip6_prefix(const char *s, uint8_t ap[16], const char **end)
{
	unsigned bytes = 0, v, nz;
	int zstart = -1, ret = -1, h;
	const char *ss;

	memset(ap, 0, 16);
	if (s[0] == ':' && s[1] == ':') {
		zstart = 0;
		s += 2;
	}
	for (;;) {
		v = 0;
		ss = s;
		while ((h = hexval(*s)) >= 0) {
			v = (v << 4) + (unsigned)h;
			if (v > 0xffff)
				break;
			s++;
		}
		if (ss == s || v > 0xffff)
			break;
		ap[bytes++] = (uint8_t)(v >> 8);
		ap[bytes++] = (uint8_t)v;
		if (*s != ':' || bytes + 2 > 16) {
			ret = (int)bytes * 8;
			break;
		}
		s++;
		if (zstart < 0 && *s == ':') {
			zstart = (int)bytes;
			s++;
		}
	}
	if (zstart >= 0) {
		nz = 16 - bytes;
		if (nz == 0) {
			ret = -1;
		} else {
			memmove(ap + zstart + nz, ap + zstart,
				bytes - (unsigned)zstart);
			memset(ap + zstart, 0, nz);
			ret = 128;
		}
	}
	*end = s;
	return ret;
}

static int ip6_cidr(const char *s, uint8_t ap[16], const char **end)
{
	int bits = ip6_prefix(s, ap, &s);

	if (bits >= 0 && *s == '/') {
		s++;
		if (!is_digit(*s)) {
			bits = -1;
		} else {
			bits = *s++ - '0';
			while (is_digit(*s)) {
				bits = bits * 10 + (*s++ - '0');
				if (bits > 128) {
					bits = -1;
					break;
				}
			}
		}
	} else if (bits == 16) {
		bits = -1; /* a bare group */
	}
	*end = s;
	return bits;
}

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static void mask6(uint64_t *hi, uint64_t *lo, unsigned bits)
{
	if (bits == 0) {
		*hi = *lo = 0;
	} else if (bits < 64) {
		*hi &= ~0ull << (64 - bits);
		*lo = 0;
	} else if (bits == 64) {
		*lo = 0;
	} else if (bits < 128) {
		*lo &= ~0ull << (128 - bits);
	}
}

/* ------------------------------------------------------------------ */
/* values: rbldnsd's parse_a_txt */

/*
 * Parse a value at @s (after the address and blanks, non-empty). With
 * @def (a value index) for what is omitted. Returns the value index, or
 * 0 after a warning (or with ld->err).
 */
static uint32_t parse_value(struct loader *ld, const char *s, uint32_t def)
{
	const struct rbl_data *d = ld->d;
	uint32_t a;
	const char *txt;
	size_t len;
	int bits;

	if (*s == ':') {
		bits = ip4_prefix(s + 1, &a, &s);
		switch (bits) {
		case 8:
			a = (a >> 24) | 0x7f000000u;
			break;
		case 16:
			a = (a & 0xff000000u) | ((a >> 16) & 255);
			break;
		case 24:
			a = (a & 0xffff0000u) | ((a >> 8) & 255);
			break;
		}
		/* rbldnsd tests the value before adding 127.0.0 */
		if (bits <= 0 || (a & (bits == 8 ? 0xffu : ~0u)) == 0) {
			warn(ld, "invalid A RR");
			return 0;
		}
		s = skip_space(s);
		if (*s == ':') {
			s = skip_space(s + 1);
		} else if (*s) {
			warn(ld, "unrecognized value for an entry");
			return 0;
		} else {
			/* A only: the TXT of the default, copied out of
			 * the pool that interning may move */
			char dtxt[RBL_TXT_MAX + 1];

			len = strlen(d->pool + d->val[def].off);
			memcpy(dtxt, d->pool + d->val[def].off, len);
			return intern(ld, a, dtxt, len);
		}
	} else {
		a = d->val[def].a;
	}
	txt = s;
	len = strlen(txt);
	if (len > RBL_TXT_MAX) {
		warn(ld, "TXT RR truncated to %d bytes", RBL_TXT_MAX);
		len = RBL_TXT_MAX;
	}
	return intern(ld, a, txt, len);
}

/* ------------------------------------------------------------------ */
/* entries */

static int level_grow(struct level *l, size_t add, size_t size)
{
	size_t cap;
	void *p;

	if (l->n + add <= l->cap)
		return 0;
	cap = l->cap ? l->cap : 64;
	while (cap < l->n + add)
		cap *= 2;
	p = tl_reallocarray(l->e, cap, size);
	if (!p)
		return TL_ENOMEM;
	l->e = p;
	l->cap = cap;
	return 0;
}

/* @count entries at @len from @key, @step apart (ip4set's pieces). */
static void add4(struct loader *ld, unsigned len, uint32_t key,
		 uint32_t count, uint32_t step, uint32_t v)
{
	struct rbl_data *d = ld->d;
	struct level *l = &d->level[len];
	struct e4 *e;
	int err;

	if (ld->err || count == 0)
		return;
	if (d->entries + count > RBL_ENTRIES_MAX) {
		fail(ld, TL_ELIMIT);
		return;
	}
	err = level_grow(l, count, sizeof(struct e4));
	if (err) {
		fail(ld, err);
		return;
	}
	e = (struct e4 *)l->e + l->n;
	l->n += count;
	d->entries += count;
	while (count--) {
		e->key = key;
		e->v = v;
		e++;
		key += step;
	}
}

static void add6(struct loader *ld, unsigned len, uint64_t hi, uint64_t lo,
		 uint32_t v)
{
	struct rbl_data *d = ld->d;
	struct level *l = &d->level[len];
	struct e6 *e;
	int err;

	if (ld->err)
		return;
	if (d->entries + 1 > RBL_ENTRIES_MAX) {
		fail(ld, TL_ELIMIT);
		return;
	}
	err = level_grow(l, 1, sizeof(struct e6));
	if (err) {
		fail(ld, err);
		return;
	}
	e = (struct e6 *)l->e + l->n++;
	e->hi = hi;
	e->lo = lo;
	e->v = v;
	d->entries++;
}

/*
 * Cut [a, b] into /32, /24, /16 and /8 pieces, as rbldnsd's ip4set does:
 * octet by octet from the low end, the ragged edges at the finer class,
 * whole blocks passed up to the next.
 */
static void set_expand(struct loader *ld, uint32_t a, uint32_t b, uint32_t v)
{
	unsigned l, sh;

	for (l = 0; l < 3; l++) {
		sh = 8 * l;
		if ((a | 255u) >= b) {
			if (b - a == 255u)
				add4(ld, 24 - sh, a << sh, 1, 0, v);
			else
				add4(ld, 32 - sh, a << sh, b - a + 1,
				     1u << sh, v);
			return;
		}
		if (a & 255u) {
			add4(ld, 32 - sh, a << sh, 256u - (a & 255u),
			     1u << sh, v);
			a = (a >> 8) + 1;
		} else {
			a >>= 8;
		}
		if ((b & 255u) != 255u) {
			add4(ld, 32 - sh, (b & ~255u) << sh, (b & 255u) + 1,
			     1u << sh, v);
			b = (b >> 8) - 1;
		} else {
			b >>= 8;
		}
	}
	add4(ld, 8, a << 24, b - a + 1, 1u << 24, v);
}

/* The value for an entry line's tail @s (just past the address). */
static bool entry_value(struct loader *ld, const char *s, bool excl,
			uint32_t *v)
{
	s = skip_space(s);
	if (excl)
		*v = EXCL;
	else if (!*s || is_comment(*s))
		*v = ld->def;
	else if (!(*v = parse_value(ld, s, ld->def)))
		return false;
	return true;
}

static bool tail_ok(const char *s)
{
	return !*s || is_space(*s) || is_comment(*s) || *s == ':';
}

static void default_line(struct loader *ld, const char *s)
{
	/* rbldnsd parses a default against its built-in one, not the
	 * previous default */
	uint32_t v = parse_value(ld, s, 1);

	if (v)
		ld->def = v;
}

static void line_ip4(struct loader *ld, const char *s)
{
	uint32_t a, b, v;
	bool excl = false;
	int bits;

	if (*s == ':') {
		default_line(ld, s);
		return;
	}
	if (*s == '!') {
		excl = true;
		s = skip_space(s + 1);
	}
	if (ld->d->type == RBL_IP4SET) {
		bits = ip4_range(s, &a, &b, &s);
		if (bits <= 0 || !tail_ok(s)) {
			warn(ld, "invalid address");
			return;
		}
	} else {
		bits = ip4_cidr(s, &a, &s);
		if (bits < 0 || !tail_ok(s)) {
			warn(ld, "invalid address");
			return;
		}
		b = a | ~mask4((unsigned)bits);
	}
	if (a & ~mask4((unsigned)bits)) {
		warn(ld, "invalid range (non-zero host part)");
		return;
	}
	if (ld->maxrange && ld->maxrange <= b - a) {
		warn(ld, "too large range (%u) ignored (%u max)", b - a + 1,
		     ld->maxrange);
		return;
	}
	if (!entry_value(ld, s, excl, &v))
		return;
	if (ld->d->type == RBL_IP4SET)
		set_expand(ld, a, b, v);
	else
		add4(ld, (unsigned)bits, a, 1, 0, v);
}

static void line_ip6(struct loader *ld, const char *s)
{
	uint8_t addr[16];
	uint64_t hi, lo, mhi, mlo;
	uint32_t v;
	bool excl = false;
	int bits;

	/* "::1" is an address, not a default */
	if (*s == ':' && s[1] != ':') {
		default_line(ld, s);
		return;
	}
	if (*s == '!') {
		excl = true;
		s = skip_space(s + 1);
	}
	bits = ip6_cidr(s, addr, &s);
	if (bits < 0 || !tail_ok(s)) {
		warn(ld, "invalid address");
		return;
	}
	mhi = hi = be64(addr);
	mlo = lo = be64(addr + 8);
	mask6(&mhi, &mlo, (unsigned)bits);
	if (mhi != hi || mlo != lo) {
		warn(ld, "invalid range (non-zero host part)");
		return;
	}
	if (!entry_value(ld, s, excl, &v))
		return;
	add6(ld, (unsigned)bits, hi, lo, v);
}

/* ------------------------------------------------------------------ */
/* special lines ($SOA, $NS, ...), rbldnsd's ds_special */

/* @line starts with @word (any case) and a blank: the rest, else NULL. */
static const char *first_word(const char *line, const char *word)
{
	while (*word) {
		char c = *line;

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != *word)
			return NULL;
		line++;
		word++;
	}
	return is_space(*line) ? skip_space(line) : NULL;
}

/* A decimal uint32 then end or blanks. */
static const char *parse_u32(const char *s, uint32_t *out)
{
	uint64_t n = 0;

	if (!is_digit(*s))
		return NULL;
	while (is_digit(*s)) {
		n = n * 10 + (uint64_t)(*s++ - '0');
		if (n > UINT32_MAX)
			return NULL;
	}
	if (*s) {
		if (!is_space(*s))
			return NULL;
		s = skip_space(s);
	}
	*out = (uint32_t)n;
	return s;
}

/* A time: number with an optional unit s/m/h/d/w, then end, ':' or
 * blanks (rbldnsd's parse_time). */
static const char *parse_time(const char *s, uint32_t *out)
{
	uint64_t n = 0, m = 1;

	if (!is_digit(*s))
		return NULL;
	while (is_digit(*s)) {
		n = n * 10 + (uint64_t)(*s++ - '0');
		if (n > UINT32_MAX)
			return NULL;
	}
	switch (*s) {
	case 'w': case 'W': m = 7 * 24 * 3600; break;
	case 'd': case 'D': m = 24 * 3600; break;
	case 'h': case 'H': m = 3600; break;
	case 'm': case 'M': m = 60; break;
	case 's': case 'S': break;
	default: m = 0; break;
	}
	if (m) {
		s++;
		n *= m;
		if (n > UINT32_MAX)
			return NULL;
	}
	if (*s && *s != ':') {
		if (!is_space(*s))
			return NULL;
		s = skip_space(s);
	}
	*out = (uint32_t)n;
	return s;
}

/* A domain name word: labels of 1..63 bytes, 255 bytes on the wire. */
static const char *parse_name(const char *s, char out[RBL_NAME_MAX])
{
	size_t n = 0, label = 0, wire = 1;

	while (s[n] && !is_space(s[n])) {
		if (s[n] == '.') {
			/* "." alone is the root; no empty labels else */
			if (label == 0 &&
			    !(n == 0 && (!s[1] || is_space(s[1]))))
				return NULL;
			label = 0;
		} else if (++label > 63) {
			return NULL;
		} else if (label == 1) {
			wire++;
		}
		wire++;
		n++;
	}
	if (n == 0 || wire > 255 || n >= RBL_NAME_MAX)
		return NULL;
	memcpy(out, s, n);
	out[n] = '\0';
	return skip_space(s + n);
}

static bool special_soa(struct loader *ld, const char *w)
{
	struct rbl_soa soa;

	if (ld->d->soa.valid)
		return true; /* only the first counts */
	memset(&soa, 0, sizeof(soa));
	if (!(w = parse_time(w, &soa.ttl)) ||
	    !(w = parse_name(w, soa.origin)) ||
	    !(w = parse_name(w, soa.person)) ||
	    !(w = parse_u32(w, &soa.serial)) ||
	    !(w = parse_time(w, &soa.refresh)) ||
	    !(w = parse_time(w, &soa.retry)) ||
	    !(w = parse_time(w, &soa.expire)) ||
	    !(w = parse_time(w, &soa.minttl)) || *w)
		return false;
	if (soa.ttl == 0)
		soa.ttl = ld->d->ttl;
	soa.valid = true;
	ld->d->soa = soa;
	return true;
}

static bool special_ns(struct loader *ld, const char *w)
{
	struct rbl_ns *ns = &ld->d->ns;
	char name[RBL_NAME_MAX];
	uint32_t ttl;

	/* the first $NS that named a server wins; like rbldnsd, a line
	 * that goes bad half way keeps the names before the fault */
	if (ns->count)
		return true;
	if (!(w = parse_time(w, &ttl)))
		return false;
	do {
		if (*w == '-') {
			while (*w && !is_space(*w))
				w++;
			w = skip_space(w);
			continue;
		}
		if (!(w = parse_name(w, name)))
			return false;
		if (ns->count < RBL_NS_MAX)
			memcpy(ns->name[ns->count++], name, sizeof(name));
	} while (*w);
	ns->ttl = ttl ? ttl : ld->d->ttl;
	return true;
}

static bool special(struct loader *ld, const char *line)
{
	struct rbl_data *d = ld->d;
	const char *w;
	uint32_t n;
	unsigned i;
	bool cidr;

	if ((w = first_word(line, "soa")))
		return special_soa(ld, w);
	if ((w = first_word(line, "ns")) || (w = first_word(line, "nameserver")))
		return special_ns(ld, w);
	if ((w = first_word(line, "ttl"))) {
		if (!(w = parse_time(w, &n)) || *w)
			return false;
		d->ttl = n;
		return true;
	}
	if ((w = first_word(line, "maxrange4"))) {
		cidr = *w == '/';
		if (!(w = parse_u32(w + cidr, &n)) || *w || !n)
			return false;
		if (cidr) {
			if (n > 32)
				return false;
			n = ~mask4(n) + 1;
		}
		/* may shrink, never grow */
		if (ld->maxrange && n > ld->maxrange)
			warn(ld, "ignoring attempt to increase $MAXRANGE4 "
				 "from %u to %u", ld->maxrange, n);
		else
			ld->maxrange = n;
		return true;
	}
	if (((line[0] >= '0' && line[0] <= '9') || line[0] == '=') &&
	    is_space(line[1])) {
		i = line[0] == '=' ? SUBST_BASE : (unsigned)(line[0] - '0');
		w = skip_space(line + 2);
		if (!*w)
			return false;
		if (!d->subst[i]) /* the first one counts */
			d->subst[i] = pool_add(ld, w, strlen(w));
		return true;
	}
	if (first_word(line, "timestamp"))
		return true; /* accepted, not enforced: see the report */
	return false;
}

/* ------------------------------------------------------------------ */
/* lines */

static void do_line(struct loader *ld, char *line, size_t len)
{
	char *end;

	line[len] = '\0';
	len = strlen(line); /* a NUL ends the line, as in rbldnsd */
	end = line + len;
	while (is_space(*line))
		line++;
	while (end > line && is_space(end[-1]))
		*--end = '\0';
	if (line[0] == '$' ||
	    ((is_comment(line[0]) || line[0] == ':') && line[1] == '$')) {
		const char *w = line + (line[0] == '$' ? 1 : 2);

		if (first_word(w, "dataset"))
			warn(ld, "$DATASET is only valid in a combined "
				 "dataset (not supported)");
		else if (!special(ld, w) && !ld->err)
			warn(ld, "invalid or unrecognized special entry");
		return;
	}
	if (!line[0] || is_comment(line[0]))
		return;
	if (ld->d->type == RBL_IP6TRIE)
		line_ip6(ld, line);
	else
		line_ip4(ld, line);
}

/* ------------------------------------------------------------------ */
/* finishing: sort, drop duplicates, shrink */

static int cmp_e4_kv(const void *x, const void *y)
{
	const struct e4 *a = x, *b = y;

	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	return (a->v > b->v) - (a->v < b->v);
}

static int cmp_e4_k(const void *x, const void *y)
{
	const struct e4 *a = x, *b = y;

	return (a->key > b->key) - (a->key < b->key);
}

static int cmp_e6_k(const void *x, const void *y)
{
	const struct e6 *a = x, *b = y;

	if (a->hi != b->hi)
		return a->hi < b->hi ? -1 : 1;
	return (a->lo > b->lo) - (a->lo < b->lo);
}

/* Stable merge sort (tries keep the first of duplicate prefixes). */
static void msort(char *base, size_t n, size_t size,
		  int (*cmp)(const void *, const void *), char *tmp)
{
	size_t h = n / 2, i = 0, j = h, k = 0;

	if (n < 2)
		return;
	msort(base, h, size, cmp, tmp);
	msort(base + h * size, n - h, size, cmp, tmp);
	if (cmp(base + (h - 1) * size, base + h * size) <= 0)
		return;
	while (i < h && j < n) {
		if (cmp(base + j * size, base + i * size) < 0)
			memcpy(tmp + k++ * size, base + j++ * size, size);
		else
			memcpy(tmp + k++ * size, base + i++ * size, size);
	}
	while (i < h)
		memcpy(tmp + k++ * size, base + i++ * size, size);
	while (j < n)
		memcpy(tmp + k++ * size, base + j++ * size, size);
	memcpy(base, tmp, n * size);
}

static int finish_level(struct loader *ld, unsigned len)
{
	struct rbl_data *d = ld->d;
	struct level *l = &d->level[len];
	bool v6 = d->type == RBL_IP6TRIE, set = d->type == RBL_IP4SET;
	size_t size = v6 ? sizeof(struct e6) : sizeof(struct e4), i, k;
	int (*cmp)(const void *, const void *);
	char *tmp, *e = l->e;
	void *p;

	if (!l->n)
		return 0;
	tmp = tl_calloc(l->n, size);
	if (!tmp)
		return TL_ENOMEM;
	cmp = v6 ? cmp_e6_k : set ? cmp_e4_kv : cmp_e4_k;
	msort(e, l->n, size, cmp, tmp);
	tl_free(tmp);
	/* ip4set: drop equal (key, value) pairs; tries: keep the first
	 * value a prefix was given, as rbldnsd's btrie does */
	for (i = 1, k = 0; i < l->n; i++) {
		if (cmp(e + i * size, e + k * size) == 0) {
			if (!set) {
				ld->lineno = 0;
				warn(ld, "duplicated entry for a /%u", len);
			}
			continue;
		}
		if (++k != i)
			memcpy(e + k * size, e + i * size, size);
	}
	d->entries -= l->n - (k + 1);
	l->n = k + 1;
	p = tl_reallocarray(l->e, l->n, size);
	if (p)
		l->e = p;
	l->cap = l->n;
	return 0;
}

static int finish(struct loader *ld)
{
	struct rbl_data *d = ld->d;
	unsigned len = d->type == RBL_IP6TRIE ? 128 : 32;
	void *p;
	int err;

	d->nlev = 0;
	for (;; len--) {
		err = finish_level(ld, len);
		if (err)
			return err;
		if (d->level[len].n)
			d->lev[d->nlev++] = (uint8_t)len;
		if (len == 0)
			break;
	}
	p = tl_reallocarray(d->val, d->nval, sizeof(*d->val));
	if (p) {
		d->val = p;
		d->capval = d->nval;
	}
	p = tl_reallocarray(d->pool, d->npool, 1);
	if (p) {
		d->pool = p;
		d->cappool = d->npool;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* the API */

void rbl_data_free(struct rbl_data *d)
{
	unsigned i;

	if (!d)
		return;
	for (i = 0; i < 129; i++)
		tl_free(d->level[i].e);
	tl_free(d->val);
	tl_free(d->pool);
	tl_free(d);
}

static void set_why(char *why, size_t whylen, const char *msg)
{
	if (whylen)
		snprintf(why, whylen, "%s", msg);
}

/*
 * Reads @len untrusted bytes. Checks: every line against rbldnsd's
 * grammar (bad ones skipped and counted), entry count against
 * RBL_ENTRIES_MAX, line length against RBL_LINE_MAX (cut). Guarantees:
 * on 0, a sorted, deduplicated, immutable dataset.
 */
int rbl_data_parse(const char *text, size_t len, enum rbl_type type,
		   struct rbl_data **out, char *why, size_t whylen)
{
	struct loader ld;
	struct rbl_data *d;
	char *line = NULL;
	const char *p = text, *end = text + len, *nl;
	size_t n;
	int err;

	*out = NULL;
	set_why(why, whylen, "");
	if (type != RBL_IP4SET && type != RBL_IP4TRIE && type != RBL_IP6TRIE) {
		set_why(why, whylen, "unknown dataset type");
		return TL_EINVAL;
	}
	memset(&ld, 0, sizeof(ld));
	d = tl_calloc(1, sizeof(*d));
	line = tl_calloc(1, RBL_LINE_MAX + 1);
	if (!d || !line) {
		err = TL_ENOMEM;
		goto out_free;
	}
	d->type = type;
	ld.d = d;
	d->val = tl_calloc(16, sizeof(*d->val));
	if (!d->val) {
		err = TL_ENOMEM;
		goto out_free;
	}
	d->capval = 16;
	d->nval = 1; /* [0] is the exclusion */
	pool_add(&ld, "", 0); /* offset 0 is "" */
	ld.def = intern(&ld, DEF_A, "", 0);
	while (!ld.err && p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = (size_t)((nl ? nl : end) - p);
		ld.lineno++;
		if (n > RBL_LINE_MAX) {
			warn(&ld, "long line (truncated)");
			n = RBL_LINE_MAX;
		}
		memcpy(line, p, n);
		do_line(&ld, line, n);
		p = nl ? nl + 1 : end;
	}
	err = ld.err;
	if (!err)
		err = finish(&ld);
	if (err)
		goto out_free;
	if (d->bad)
		set_why(why, whylen, d->warn[0]);
	tl_free(ld.hash);
	tl_free(line);
	*out = d;
	return 0;

out_free:
	if (err == TL_ELIMIT)
		snprintf(why, whylen, "line %u: more than %u entries", ld.lineno,
			 RBL_ENTRIES_MAX);
	else if (whylen)
		snprintf(why, whylen, "line %u: %s", ld.lineno,
			 tl_strerror(err));
	tl_free(ld.hash);
	tl_free(line);
	rbl_data_free(d);
	return err;
}

int rbl_data_load(const char *path, enum rbl_type type,
		  struct rbl_data **out, char *why, size_t whylen)
{
	FILE *f;
	char *buf = NULL, *nb;
	size_t n = 0, cap = 0, got;
	int err;

	*out = NULL;
	f = fopen(path, "rb");
	if (!f) {
		err = -errno;
		snprintf(why, whylen, "%s: %s", path, strerror(-err));
		return err;
	}
	for (;;) {
		if (cap - n < 65536) {
			cap = cap ? cap * 2 : 1u << 20;
			if (cap > RBL_FILE_MAX + 65536) {
				snprintf(why, whylen, "%s: file too large",
					 path);
				err = TL_ETOOLONG;
				goto out_close;
			}
			nb = tl_reallocarray(buf, cap, 1);
			if (!nb) {
				snprintf(why, whylen, "%s: out of memory", path);
				err = TL_ENOMEM;
				goto out_close;
			}
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		snprintf(why, whylen, "%s: read error", path);
		err = TL_EIO;
		goto out_close;
	}
	err = rbl_data_parse(buf, n, type, out, why, whylen);
out_close:
	fclose(f);
	tl_free(buf);
	return err;
}

static const struct e4 *find4(const struct e4 *e, size_t n, uint32_t key)
{
	size_t lo = 0, hi = n, m;

	while (lo < hi) {
		m = lo + (hi - lo) / 2;
		if (e[m].key < key)
			lo = m + 1;
		else
			hi = m;
	}
	return lo < n && e[lo].key == key ? e + lo : NULL;
}

static const struct e6 *find6(const struct e6 *e, size_t n, uint64_t hi,
			      uint64_t lo)
{
	size_t a = 0, b = n, m;

	while (a < b) {
		m = a + (b - a) / 2;
		if (e[m].hi < hi || (e[m].hi == hi && e[m].lo < lo))
			a = m + 1;
		else
			b = m;
	}
	return a < n && e[a].hi == hi && e[a].lo == lo ? e + a : NULL;
}

static void fill_hit(const struct rbl_data *d, uint32_t v, struct rbl_hit *hit)
{
	hit->a = d->val[v].a;
	hit->txt = d->val[v].off ? d->pool + d->val[v].off : NULL;
}

bool rbl_lookup(const struct rbl_data *d, const struct tl_ip *ip,
		struct rbl_hit *hit)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					   0xff, 0xff};
	uint8_t a6[16];
	uint64_t hi, lo, mhi, mlo;
	uint32_t q;
	unsigned i, len;

	memset(hit, 0, sizeof(*hit));
	if (d->type == RBL_IP6TRIE) {
		if (ip->family == 4) {
			memcpy(a6, mapped, 12);
			memcpy(a6 + 12, ip->a, 4);
		} else {
			memcpy(a6, ip->a, 16);
		}
		hi = be64(a6);
		lo = be64(a6 + 8);
		for (i = 0; i < d->nlev; i++) {
			const struct e6 *e;

			len = d->lev[i];
			mhi = hi;
			mlo = lo;
			mask6(&mhi, &mlo, len);
			e = find6(d->level[len].e, d->level[len].n, mhi, mlo);
			if (!e)
				continue;
			if (e->v == EXCL)
				return false;
			fill_hit(d, e->v, hit);
			hit->count = 1;
			hit->len = (uint8_t)len;
			hit->run_ = NULL;
			return true;
		}
		return false;
	}
	if (ip->family != 4)
		return false;
	q = tl_ip_v4(ip);
	for (i = 0; i < d->nlev; i++) {
		const struct e4 *e, *t;

		len = d->lev[i];
		e = find4(d->level[len].e, d->level[len].n, q & mask4(len));
		if (!e)
			continue;
		if (e->v == EXCL)
			return false;
		t = (const struct e4 *)d->level[len].e + d->level[len].n;
		fill_hit(d, e->v, hit);
		hit->len = (uint8_t)len;
		hit->run_ = e;
		for (hit->count = 1; e + hit->count < t &&
				     e[hit->count].key == e->key;)
			hit->count++;
		return true;
	}
	return false;
}

bool rbl_hit_get(const struct rbl_data *d, const struct rbl_hit *hit,
		 unsigned i, uint32_t *a, const char **txt)
{
	const struct e4 *e = hit->run_;
	uint32_t v;

	if (i >= hit->count)
		return false;
	if (i == 0 || !e) {
		*a = hit->a;
		*txt = hit->txt;
		return i == 0;
	}
	v = e[i].v;
	*a = d->val[v].a;
	*txt = d->val[v].off ? d->pool + d->val[v].off : NULL;
	return true;
}

/* rbldnsd's ip6atos: lower-case groups, the first longest run of two or
 * more zero groups as "::", never a dotted tail. */
static size_t format6(const uint8_t a[16], char *buf)
{
	unsigned w[8], i, best = 0, bestn = 0, n;
	size_t k = 0;

	for (i = 0; i < 8; i++)
		w[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
	for (i = 0; i < 8; i++) {
		for (n = 0; i + n < 8 && w[i + n] == 0; n++)
			;
		if (n > 1 && n > bestn) {
			bestn = n;
			best = i;
		}
	}
	for (i = 0; i < 8; i++) {
		if (bestn && i == best) {
			k += (size_t)sprintf(buf + k, i == 0 ? "::" : ":");
			i += bestn - 1;
			continue;
		}
		k += (size_t)sprintf(buf + k, "%x%s", w[i],
				     i < 7 ? ":" : "");
	}
	buf[k] = '\0';
	return k;
}

static size_t put(char *buf, size_t k, size_t lim, const char *s, size_t n)
{
	if (n > lim - k)
		n = lim - k;
	memcpy(buf + k, s, n);
	return k + n;
}

size_t rbl_txt_expand(const struct rbl_data *d, const char *txt,
		      const struct tl_ip *ip, char *buf, size_t size)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					   0xff, 0xff};
	char addr[48];
	const char *t = txt ? txt : "", *sx, *s, *si;
	size_t lim, k = 0, sl;
	uint8_t a6[16];

	if (!size)
		return 0;
	lim = size - 1 < RBL_TXT_OUT_MAX ? size - 1 : RBL_TXT_OUT_MAX;
	if (d->type == RBL_IP6TRIE) {
		if (ip->family == 4) {
			memcpy(a6, mapped, 12);
			memcpy(a6 + 12, ip->a, 4);
		} else {
			memcpy(a6, ip->a, 16);
		}
		format6(a6, addr);
	} else {
		snprintf(addr, sizeof(addr), "%u.%u.%u.%u", ip->a[0], ip->a[1],
			 ip->a[2], ip->a[3]);
	}
	if (t[0] == '=') {
		sx = ++t;
	} else if (d->subst[SUBST_BASE]) {
		sx = *t ? t : addr;
		t = d->pool + d->subst[SUBST_BASE];
	} else {
		sx = t;
	}
	while (k < lim) {
		s = strchr(t, '$');
		if (!s)
			s = t + strlen(t);
		k = put(buf, k, lim, t, (size_t)(s - t));
		if (!*s++)
			break;
		if (*s == '$') {
			si = s++;
			sl = 1;
		} else if (*s >= '0' && *s <= '9') {
			if (d->subst[*s - '0']) {
				si = d->pool + d->subst[*s - '0'];
				sl = strlen(si);
			} else {
				si = s - 1;
				sl = 2;
			}
			s++;
		} else if (*s == '=') {
			si = sx;
			sl = strlen(si);
			s++;
		} else {
			si = addr;
			sl = strlen(si);
		}
		k = put(buf, k, lim, si, sl);
		t = s;
	}
	buf[k] = '\0';
	return k;
}

enum rbl_type rbl_data_type(const struct rbl_data *d)
{
	return d->type;
}

const struct rbl_soa *rbl_data_soa(const struct rbl_data *d)
{
	return &d->soa;
}

const struct rbl_ns *rbl_data_ns(const struct rbl_data *d)
{
	return &d->ns;
}

uint32_t rbl_data_ttl(const struct rbl_data *d)
{
	return d->ttl;
}

const char *rbl_data_subst(const struct rbl_data *d, unsigned n)
{
	if (n >= NSUBST || !d->subst[n])
		return NULL;
	return d->pool + d->subst[n];
}

size_t rbl_data_entries(const struct rbl_data *d)
{
	return d->entries;
}

size_t rbl_data_bytes(const struct rbl_data *d)
{
	size_t b = sizeof(*d) + d->capval * sizeof(*d->val) + d->cappool;
	size_t size = d->type == RBL_IP6TRIE ? sizeof(struct e6)
					     : sizeof(struct e4);
	unsigned i;

	for (i = 0; i < 129; i++)
		b += d->level[i].cap * size;
	return b;
}

size_t rbl_data_bad_lines(const struct rbl_data *d)
{
	return d->bad;
}

const char *rbl_data_warning(const struct rbl_data *d, size_t i)
{
	return i < d->bad && i < RBL_WARN_KEEP ? d->warn[i] : NULL;
}
