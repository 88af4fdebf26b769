/* SPDX-License-Identifier: MIT */
/* rules.c -- content rules: "TAG WHERE REGEX" lines compiled for matching
 *
 * Rules of the same tag and place are compiled into one alternation, so a
 * message costs one regexec per (tag, place) rather than one per rule, and
 * a tag the event already carries is not matched again. The compiled set
 * is never written after mail_rules_parse returns: glibc's regexec on a
 * shared regex_t is thread safe, so one set serves every thread.
 */
#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tl_limits.h"
#include "mail.h"
#include "rules_int.h"
#include "trapline/alloc.h"
#include "trapline/err.h"
#include "trapline/log.h"

extern const char mail_rules_default[];
extern const size_t mail_rules_default_len;

/*
 * Local bounds (not in core/limits.h because they only shape the parser;
 * the owner of limits.h may move them there):
 * RULE_LINE_MAX: one rule line (bytes); a rule is a tag, a word and a
 *   pattern, and a longer line is a mistake or an attack.
 * RULE_COST_MAX: a pattern's size once glibc expands its bounded repeats
 *   (nodes, estimated): regcomp unrolls "x{1,100}" into 100 copies, so
 *   "((a{1,100}){1,100}){1,100}" is a million nodes and hundreds of MiB
 *   from a 30-byte line, and compiling is quadratic in nodes ("x{1,4000}"
 *   takes 0.7 s). 512 is far above any sensible rule. This bounds memory
 *   and compile time, not match time: nested repeats of "." such as
 *   "(.{0,16}){0,16}" make glibc's regexec slow (0.2 s on 170 bytes), so
 *   rules are trusted configuration, to be written plainly.
 * RULE_REPEAT_MAX: one repeat bound (count), POSIX's RE_DUP_MAX.
 * RULE_NEST_MAX: parenthesis depth in a pattern (levels).
 * GROUP_COST_MAX: estimated size of one combined alternation (nodes); past
 *   it, a tag's rules are split over several regexes.
 * RULES_FILE_MAX: a rules file (bytes): 1024 lines of 1 KiB.
 */
#define RULE_LINE_MAX 1024
#define RULE_COST_MAX 512
#define RULE_REPEAT_MAX 255
#define RULE_NEST_MAX 32
#define GROUP_COST_MAX 4096
#define RULES_FILE_MAX (TL_RULES_MAX * RULE_LINE_MAX)

/* One compiled alternation: every rule of one tag and place (or a share
 * of them, or one back-reference rule). */
/*
 * glibc's regexec costs 5-50 ns a byte on alternations (more with
 * "(^|[^a-z])" in front), hundreds of microseconds for one 5 KB body. So
 * each pattern is read once for the literals a match must contain (one of
 * them, in lower case): a text holding none of them is not handed to
 * regexec at all, and when the longest match is bounded, only windows of
 * that size around the literals are (REG_STARTEND, which keeps the bytes
 * before a window visible to "^" and "[^a-z]").
 * LIT_MAX: literals per group (count); past it, no prefilter.
 * LIT_LEN: bytes kept of a literal: any part of a required literal is
 *   required too, and 16 bytes are rare enough.
 * WIN_MAX: windows per text (count); past it, one regexec on the whole.
 * WIN_SPAN_MAX: a longest match past this (bytes) is not windowed.
 * ANA_DEPTH_MAX: group nesting analysed (levels); deeper, no prefilter.
 */
#define LIT_MAX 32
#define LIT_LEN 16
#define WIN_MAX 64
#define WIN_SPAN_MAX 1024
#define ANA_DEPTH_MAX 8
#define UNBOUNDED SIZE_MAX

/* Literals one of which every match contains, or none known. */
struct lits {
	bool none;                     /* nothing known to be required */
	unsigned n;                    /* entries used in s */
	char s[LIT_MAX][LIT_LEN + 1]; /* lower case, NUL-ended */
};

struct rule_group {
	regex_t re;                /* REG_EXTENDED|REG_ICASE|REG_NOSUB */
	char tag[TL_EVENT_TAGLEN]; /* lower case, NUL-ended */
	size_t taglen;             /* bytes */
	unsigned where;            /* MAIL_WHERE_* mask */
	struct lits lits;          /* the prefilter */
	size_t maxlen;             /* longest match (bytes) */
	bool nowin;                /* "$", \b and kin, or long: no windows */
};

/* One literal of one group, chained by the hash of its first two bytes:
 * one pass over a text finds the groups worth a regexec. */
#define LIT_HASH 4096
#define LIT_END 0xffffffffu
struct lit_ref {
	const char *s; /* into its group's lits */
	uint32_t len;  /* bytes, >= 2 */
	uint32_t group;
	uint32_t next; /* next in the hash chain, or LIT_END */
};

struct mail_rules {
	struct rule_group *groups; /* owned, ngroups used */
	size_t ngroups;
	unsigned where;            /* union of the groups' places */
	struct lit_ref *refs;      /* owned, nrefs used */
	size_t nrefs;
	uint32_t head[LIT_HASH];   /* first ref per hash, or LIT_END */
};

static unsigned bigram(unsigned char a, unsigned char b)
{
	return (a ^ (unsigned)b << 4 ^ (unsigned)b >> 4) & (LIT_HASH - 1);
}

static void set_why(char *why, size_t whylen, unsigned line, const char *fmt,
		    ...) __attribute__((format(printf, 4, 5)));

static void set_why(char *why, size_t whylen, unsigned line, const char *fmt,
		    ...)
{
	char msg[200];
	va_list ap;

	if (!why || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(why, whylen, "line %u: %s", line, msg);
}

/*
 * Estimate the nodes regcomp builds for @p (@n bytes): each atom is one,
 * a bounded repeat multiplies the atom or group before it (quantified or
 * not) by its upper bound (or its lower bound plus one when open), "+"
 * doubles it (glibc copies it). Alternatives add up.
 * Returns false when the estimate passes RULE_COST_MAX or the nesting
 * RULE_NEST_MAX; the sums are checked after every step, so they stay far
 * from overflow. Unbalanced parentheses are left to regcomp to refuse.
 */
static bool pattern_cost_ok(const char *p, size_t n, size_t *cost)
{
	size_t sum[RULE_NEST_MAX + 1], last = 0;
	unsigned depth = 0;
	size_t i;

	sum[0] = 0;
	for (i = 0; i < n; i++) {
		char c = p[i];

		if (c == '(') {
			if (depth == RULE_NEST_MAX)
				return false;
			sum[++depth] = 0;
			last = 0;
			continue;
		}
		if (c == ')' && depth > 0) {
			last = sum[depth--] + 1;
			sum[depth] += last;
		} else if (c == '{' && last > 0) {
			unsigned long lo = 0, hi = 0;
			bool comma = false, open = false;
			size_t j = i + 1;

			while (j < n && p[j] >= '0' && p[j] <= '9' && lo < 100000)
				lo = lo * 10 + (unsigned long)(p[j++] - '0');
			if (j < n && p[j] == ',') {
				comma = true;
				j++;
				open = !(j < n && p[j] >= '0' && p[j] <= '9');
				while (j < n && p[j] >= '0' && p[j] <= '9' &&
				       hi < 100000)
					hi = hi * 10 + (unsigned long)(p[j++] - '0');
			}
			if (j >= n || p[j] != '}') {
				last = 1; /* a literal brace */
				sum[depth] += 1;
			} else {
				unsigned long times =
					!comma ? lo : open ? lo + 1 : hi;

				if (times < 1)
					times = 1;
				if (times > RULE_REPEAT_MAX)
					return false;
				sum[depth] += last * (times - 1);
				last *= times;
				i = j;
			}
		} else if (c == '[') {
			size_t j = i + 1;

			/* A bracket expression is one atom: "]" first is a
			 * member, and "[:alpha:]" and kin hold a "]". */
			if (j < n && p[j] == '^')
				j++;
			if (j < n && p[j] == ']')
				j++;
			while (j < n && p[j] != ']') {
				if (p[j] == '[' && j + 1 < n &&
				    (p[j + 1] == ':' || p[j + 1] == '.' ||
				     p[j + 1] == '=')) {
					char end = p[j + 1];

					j += 2;
					while (j + 1 < n &&
					       !(p[j] == end && p[j + 1] == ']'))
						j++;
					j += 2;
					continue;
				}
				j++;
			}
			i = j < n ? j : n;
			last = 1;
			sum[depth] += 1;
		} else if ((c == '*' || c == '?') && last > 0) {
			/* Repeats the unit before it without copying it. */
		} else if (c == '+' && last > 0) {
			/* glibc builds "x+" as "xx*": a copy, so "x++++"
			 * doubles each time. */
			sum[depth] += last;
			last *= 2;
		} else {
			if (c == '\\')
				i++;
			last = 1;
			sum[depth] += 1;
		}
		if (sum[depth] > RULE_COST_MAX || last > RULE_COST_MAX)
			return false;
	}
	while (depth > 0) {
		sum[depth - 1] += sum[depth];
		depth--;
	}
	*cost = sum[0] + 1;
	return *cost <= RULE_COST_MAX;
}

/* glibc's ERE takes "\1" as a back-reference: such a pattern keeps its own
 * regex, since wrapping it in an alternation would renumber its groups. */
static bool has_backref(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i++) {
		if (p[i] != '\\')
			continue;
		if (p[i + 1] >= '1' && p[i + 1] <= '9')
			return true;
		i++;
	}
	return false;
}

static bool is_tag_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* One parsed line, before grouping. */
struct rule {
	char tag[TL_EVENT_TAGLEN]; /* lower case */
	unsigned where;            /* MAIL_WHERE_* mask */
	const char *re;            /* into the rules text */
	size_t relen;              /* bytes */
	size_t cost;               /* pattern_cost_ok's estimate */
	bool alone;                /* back-references: never combined */
	unsigned line;             /* for messages */
	struct lits lits;          /* literal_scan's findings */
	size_t maxlen;             /* longest match (bytes), or UNBOUNDED */
	bool nowin;                /* windows would change what matches */
};

/* ---- the literal prefilter --------------------------------------------- */

struct ana {
	const char *p; /* the pattern */
	size_t n, i;   /* its length, the read position */
	unsigned depth;
	bool nowin;  /* "$", \b, \<, \>, \B, \`, \': context at a window's end */
	bool giveup; /* too deep to analyse */
};

struct info {
	struct lits l;
	size_t maxlen; /* bytes, or UNBOUNDED */
};

static size_t sat_add(size_t a, size_t b)
{
	return (a == UNBOUNDED || b == UNBOUNDED || a + b < a) ? UNBOUNDED
								: a + b;
}

static size_t sat_mul(size_t a, size_t b)
{
	if (a == 0 || b == 0)
		return 0;
	if (a == UNBOUNDED || b == UNBOUNDED || a > UNBOUNDED / b)
		return UNBOUNDED;
	return a * b;
}

static size_t lit_min(const struct lits *l)
{
	size_t m = LIT_LEN + 1, i;

	for (i = 0; i < l->n; i++)
		if (strlen(l->s[i]) < m)
			m = strlen(l->s[i]);
	return m;
}

/* Is @a a better prefilter than @b: longer shortest literal, then fewer. */
static bool better(const struct lits *a, const struct lits *b)
{
	size_t ma, mb;

	if (a->none || a->n == 0)
		return false;
	if (b->none || b->n == 0)
		return true;
	ma = lit_min(a);
	mb = lit_min(b);
	return ma != mb ? ma > mb : a->n < b->n;
}

static void ana_alt(struct ana *a, struct info *out);

/* After an atom: its quantifiers (stacked ones too). *@opt is set when
 * the atom may be absent; returns the repeat bound (or UNBOUNDED). */
static size_t quantifiers(struct ana *a, bool *opt)
{
	size_t times = 1;

	*opt = false;
	while (a->i < a->n) {
		char c = a->p[a->i];

		if (c == '*' || c == '?') {
			*opt = true;
			if (c == '*')
				times = UNBOUNDED;
			a->i++;
		} else if (c == '+') {
			times = UNBOUNDED;
			a->i++;
		} else if (c == '{') {
			size_t j = a->i + 1, lo = 0, hi;
			bool comma = false, open = false;

			while (j < a->n && a->p[j] >= '0' && a->p[j] <= '9' &&
			       lo < 100000)
				lo = lo * 10 + (size_t)(a->p[j++] - '0');
			hi = lo;
			if (j < a->n && a->p[j] == ',') {
				comma = true;
				j++;
				open = !(j < a->n && a->p[j] >= '0' &&
					 a->p[j] <= '9');
				hi = 0;
				while (j < a->n && a->p[j] >= '0' &&
				       a->p[j] <= '9' && hi < 100000)
					hi = hi * 10 + (size_t)(a->p[j++] - '0');
			}
			if (j >= a->n || a->p[j] != '}' || j == a->i + 1)
				break; /* not an interval: an atom */
			if (lo == 0)
				*opt = true;
			times = sat_mul(times, comma && open ? UNBOUNDED : hi);
			a->i = j + 1;
		} else {
			break;
		}
	}
	return times;
}

/*
 * One branch: a run of literal bytes is a candidate, and so is a group
 * that must match; the best candidate is the branch's prefilter. Anything
 * not understood ends a run and adds no literal, so what is kept is
 * always required: the prefilter may let a text through needlessly, but
 * never holds one back that would match.
 */
static void ana_seq(struct ana *a, struct info *out)
{
	struct lits best = {.none = true}, run = {.n = 1};
	size_t rl = 0, maxlen = 0;
	struct info sub;

	while (a->i < a->n && a->p[a->i] != '|' && a->p[a->i] != ')') {
		char c = a->p[a->i++];
		int lit = -1;
		size_t amax = 1, times;
		bool group = false, opt;

		switch (c) {
		case '(':
			if (a->depth >= ANA_DEPTH_MAX) {
				a->giveup = true;
				return;
			}
			a->depth++;
			ana_alt(a, &sub);
			a->depth--;
			if (a->i < a->n && a->p[a->i] == ')')
				a->i++;
			group = true;
			amax = sub.maxlen;
			break;
		case '[': {
			size_t j = a->i;

			if (j < a->n && a->p[j] == '^')
				j++;
			if (j < a->n && a->p[j] == ']')
				j++;
			while (j < a->n && a->p[j] != ']') {
				if (a->p[j] == '[' && j + 1 < a->n &&
				    (a->p[j + 1] == ':' || a->p[j + 1] == '.' ||
				     a->p[j + 1] == '=')) {
					char end = a->p[j + 1];

					j += 2;
					while (j + 1 < a->n &&
					       !(a->p[j] == end && a->p[j + 1] == ']'))
						j++;
					j += 2;
					continue;
				}
				j++;
			}
			a->i = j < a->n ? j + 1 : a->n;
			break;
		}
		case '^':
			amax = 0;
			break;
		case '$':
			amax = 0;
			a->nowin = true;
			break;
		case '\\':
			if (a->i >= a->n)
				break;
			c = a->p[a->i++];
			if (c >= '1' && c <= '9') {
				amax = UNBOUNDED;
			} else if (strchr("bB<>`'", c)) {
				amax = 0;
				a->nowin = true;
			} else if (!((c >= 'a' && c <= 'z') ||
				     (c >= 'A' && c <= 'Z') ||
				     (c >= '0' && c <= '9'))) {
				lit = (unsigned char)c;
			}
			break;
		case '.':
		case '*':
		case '+':
		case '?':
		case '{':
		case '}':
			break;
		default:
			lit = (unsigned char)c;
		}
		times = quantifiers(a, &opt);
		maxlen = sat_add(maxlen, sat_mul(amax, times));
		if (lit >= 0 && !opt) {
			if (rl < LIT_LEN)
				run.s[0][rl++] = (char)((lit >= 'A' && lit <= 'Z')
							? lit - 'A' + 'a' : lit);
			if (times == 1)
				continue;
		}
		/* The run ends here. */
		if (rl) {
			run.s[0][rl] = '\0';
			if (better(&run, &best))
				best = run;
			rl = 0;
		}
		if (group && !opt && better(&sub.l, &best))
			best = sub.l;
	}
	if (rl) {
		run.s[0][rl] = '\0';
		if (better(&run, &best))
			best = run;
	}
	out->l = best;
	out->maxlen = maxlen;
}

/* Alternatives: every branch's literals, or none if one branch has none. */
static void ana_alt(struct ana *a, struct info *out)
{
	struct info br;
	unsigned k;

	out->l.none = false;
	out->l.n = 0;
	out->maxlen = 0;
	for (;;) {
		ana_seq(a, &br);
		if (a->giveup)
			return;
		if (br.maxlen > out->maxlen)
			out->maxlen = br.maxlen;
		if (br.l.none || out->l.none || out->l.n + br.l.n > LIT_MAX) {
			out->l.none = true;
			out->l.n = 0;
		} else {
			for (k = 0; k < br.l.n; k++)
				memcpy(out->l.s[out->l.n++], br.l.s[k],
				       sizeof(br.l.s[k]));
		}
		if (a->i < a->n && a->p[a->i] == '|') {
			a->i++;
			continue;
		}
		return;
	}
}

/* Fill @r's prefilter from its pattern. */
static void literal_scan(struct rule *r)
{
	struct ana a = {.p = r->re, .n = r->relen};
	struct info in;

	ana_alt(&a, &in);
	if (a.giveup || a.i != a.n) {
		/* Too deep, or a ')' glibc takes as a literal: no filter. */
		r->lits.none = true;
		r->lits.n = 0;
		r->maxlen = UNBOUNDED;
		r->nowin = true;
		return;
	}
	r->lits = in.l;
	r->maxlen = in.maxlen;
	r->nowin = a.nowin || in.maxlen > WIN_SPAN_MAX;
}

/* Parse one line (@p, @n bytes, no line end) into @r. Returns 1 for a
 * rule, 0 for a blank or comment line, TL_ESYNTAX with @why filled. */
static int parse_line(const char *p, size_t n, unsigned line, struct rule *r,
		      char *why, size_t whylen)
{
	static const struct {
		const char *name;
		unsigned mask;
	} places[] = {
		{"subject", MAIL_WHERE_SUBJECT},
		{"from", MAIL_WHERE_FROM},
		{"body", MAIL_WHERE_BODY},
		{"any", MAIL_WHERE_SUBJECT | MAIL_WHERE_FROM | MAIL_WHERE_BODY},
	};
	size_t i = 0, t, w, wlen, k;
	char pat[RULE_LINE_MAX + 1];
	regex_t re;
	int rc;

	if (memchr(p, '\0', n)) {
		set_why(why, whylen, line, "NUL byte");
		return TL_ESYNTAX;
	}
	while (i < n && is_space(p[i]))
		i++;
	if (i == n || p[i] == '#')
		return 0;
	if (n > RULE_LINE_MAX) {
		set_why(why, whylen, line, "longer than %d bytes",
			RULE_LINE_MAX);
		return TL_ESYNTAX;
	}
	/* TAG */
	t = i;
	while (i < n && !is_space(p[i]))
		i++;
	if (i - t > TL_TAG_LEN_MAX) {
		set_why(why, whylen, line, "tag longer than %d bytes",
			TL_TAG_LEN_MAX);
		return TL_ESYNTAX;
	}
	for (k = t; k < i; k++) {
		if (!is_tag_char(p[k])) {
			set_why(why, whylen, line,
				"bad tag: use 1-32 of [a-z0-9_.-]");
			return TL_ESYNTAX;
		}
		r->tag[k - t] = (char)((p[k] >= 'A' && p[k] <= 'Z')
					       ? p[k] - 'A' + 'a'
					       : p[k]);
	}
	r->tag[i - t] = '\0';
	/* WHERE */
	while (i < n && is_space(p[i]))
		i++;
	w = i;
	while (i < n && !is_space(p[i]))
		i++;
	wlen = i - w;
	if (wlen == 0) {
		set_why(why, whylen, line, "missing WHERE and REGEX");
		return TL_ESYNTAX;
	}
	r->where = 0;
	for (k = 0; k < sizeof(places) / sizeof(places[0]); k++)
		if (strlen(places[k].name) == wlen &&
		    strncasecmp(places[k].name, p + w, wlen) == 0)
			r->where = places[k].mask;
	if (!r->where) {
		set_why(why, whylen, line, "WHERE must be subject, from, body "
			"or any");
		return TL_ESYNTAX;
	}
	/* REGEX: the rest of the line, trailing blanks dropped. */
	while (i < n && is_space(p[i]))
		i++;
	while (n > i && is_space(p[n - 1]))
		n--;
	if (i == n) {
		set_why(why, whylen, line, "missing REGEX");
		return TL_ESYNTAX;
	}
	r->re = p + i;
	r->relen = n - i;
	r->line = line;
	r->alone = has_backref(r->re, r->relen);
	if (!pattern_cost_ok(r->re, r->relen, &r->cost)) {
		set_why(why, whylen, line, "REGEX too large once its repeats "
			"are expanded");
		return TL_ESYNTAX;
	}
	/* Compile it alone once, so an error names its line. */
	memcpy(pat, r->re, r->relen);
	pat[r->relen] = '\0';
	rc = regcomp(&re, pat, REG_EXTENDED | REG_ICASE | REG_NOSUB);
	if (rc != 0) {
		char msg[128];

		regerror(rc, &re, msg, sizeof(msg));
		set_why(why, whylen, line, "bad REGEX: %s", msg);
		return TL_ESYNTAX;
	}
	regfree(&re);
	literal_scan(r);
	return 1;
}

/* Compile rules @r[from..to) (same tag and place) into @g, combined as
 * "(a)|(b)|...". Returns 0, TL_ENOMEM, or TL_ESYNTAX when the combination
 * does not compile (the caller then compiles them one by one). */
static int compile_group(const struct rule *r, size_t from, size_t to,
			 struct rule_group *g)
{
	size_t len = 0, i, o = 0;
	char *pat;
	int rc;

	for (i = from; i < to; i++)
		len += r[i].relen + 3;
	pat = tl_reallocarray(NULL, len + 1, 1);
	if (!pat)
		return TL_ENOMEM;
	for (i = from; i < to; i++) {
		if (to - from > 1)
			pat[o++] = '(';
		memcpy(pat + o, r[i].re, r[i].relen);
		o += r[i].relen;
		if (to - from > 1)
			pat[o++] = ')';
		if (i + 1 < to)
			pat[o++] = '|';
	}
	pat[o] = '\0';
	rc = regcomp(&g->re, pat, REG_EXTENDED | REG_ICASE | REG_NOSUB);
	tl_free(pat);
	if (rc == REG_ESPACE)
		return TL_ENOMEM;
	if (rc != 0)
		return TL_ESYNTAX;
	memcpy(g->tag, r[from].tag, sizeof(g->tag));
	g->taglen = strlen(g->tag);
	g->where = r[from].where;
	g->lits.none = false;
	g->lits.n = 0;
	g->maxlen = 0;
	g->nowin = false;
	for (i = from; i < to; i++) {
		const struct lits *l = &r[i].lits;

		if (l->none || l->n == 0 || g->lits.none ||
		    g->lits.n + l->n > LIT_MAX) {
			g->lits.none = true;
			g->lits.n = 0;
		} else {
			memcpy(g->lits.s[g->lits.n], l->s,
			       l->n * sizeof(l->s[0]));
			g->lits.n += l->n;
		}
		if (r[i].maxlen > g->maxlen)
			g->maxlen = r[i].maxlen;
		g->nowin |= r[i].nowin;
	}
	return 0;
}

void mail_rules_free(struct mail_rules *rs)
{
	size_t i;

	if (!rs)
		return;
	for (i = 0; i < rs->ngroups; i++)
		regfree(&rs->groups[i].re);
	tl_free(rs->groups);
	tl_free(rs->refs);
	tl_free(rs);
}

/* Stable order by (tag, where), line order kept within: insertion sort on
 * an index, as there are at most TL_RULES_MAX rules and this runs once. */
static void sort_rules(struct rule *r, size_t n)
{
	size_t i, j;

	for (i = 1; i < n; i++) {
		struct rule tmp = r[i];

		for (j = i; j > 0; j--) {
			int c = strcmp(r[j - 1].tag, tmp.tag);

			if (c < 0 || (c == 0 && r[j - 1].where <= tmp.where))
				break;
			r[j] = r[j - 1];
		}
		r[j] = tmp;
	}
}

/* Chain every group's literals by bigram; a group with a one-byte
 * literal gets no prefilter (it is matched on every text). */
static int index_literals(struct mail_rules *rs)
{
	size_t i, n = 0;
	unsigned k;

	for (k = 0; k < LIT_HASH; k++)
		rs->head[k] = LIT_END;
	for (i = 0; i < rs->ngroups; i++) {
		struct lits *l = &rs->groups[i].lits;

		for (k = 0; k < l->n; k++)
			if (strlen(l->s[k]) < 2)
				l->none = true;
		if (l->none)
			l->n = 0;
		n += l->n;
	}
	rs->refs = tl_calloc(n ? n : 1, sizeof(*rs->refs));
	if (!rs->refs)
		return TL_ENOMEM;
	for (i = 0; i < rs->ngroups; i++) {
		const struct lits *l = &rs->groups[i].lits;

		for (k = 0; k < l->n; k++) {
			struct lit_ref *r = &rs->refs[rs->nrefs];
			unsigned h = bigram((unsigned char)l->s[k][0],
					    (unsigned char)l->s[k][1]);

			r->s = l->s[k];
			r->len = (uint32_t)strlen(l->s[k]);
			r->group = (uint32_t)i;
			r->next = rs->head[h];
			rs->head[h] = (uint32_t)rs->nrefs++;
		}
	}
	return 0;
}

static int build(struct rule *r, size_t n, struct mail_rules *rs)
{
	size_t i = 0, j, k, cost;
	int rc;

	sort_rules(r, n);
	/* At most one group per rule. */
	rs->groups = tl_calloc(n ? n : 1, sizeof(*rs->groups));
	if (!rs->groups)
		return TL_ENOMEM;
	while (i < n) {
		/* Take rules of the same tag and place while the combined
		 * size stays bounded; a back-reference rule stands alone. */
		j = i + 1;
		cost = r[i].cost;
		while (!r[i].alone && j < n && !r[j].alone &&
		       r[j].where == r[i].where &&
		       strcmp(r[j].tag, r[i].tag) == 0 &&
		       cost + r[j].cost <= GROUP_COST_MAX) {
			cost += r[j].cost;
			j++;
		}
		rc = compile_group(r, i, j, &rs->groups[rs->ngroups]);
		if (rc == TL_ESYNTAX) {
			/* Each compiled alone already: keep them apart. */
			for (k = i; k < j; k++) {
				rc = compile_group(r, k, k + 1,
						   &rs->groups[rs->ngroups]);
				if (rc)
					return rc == TL_ESYNTAX ? TL_ENOMEM
								: rc;
				rs->where |= rs->groups[rs->ngroups++].where;
			}
		} else if (rc) {
			return rc;
		} else {
			rs->where |= rs->groups[rs->ngroups++].where;
		}
		i = j;
	}
	return index_literals(rs);
}

/*
 * Reads @text (@len bytes, any bytes) within bounds; every line is
 * checked (length, NUL, tag, place, pattern cost, regcomp) before any
 * regex is combined, so the first fault is reported with its line.
 */
int mail_rules_parse(const char *text, size_t len, struct mail_rules **out,
		     char *why, size_t whylen)
{
	struct mail_rules *rs = NULL;
	struct rule *r = NULL;
	size_t n = 0, cap = 0;
	const char *p = text, *end = text + len;
	unsigned line = 0;
	int rc = 0;

	*out = NULL;
	if (why && whylen)
		why[0] = '\0';
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		size_t ll = (size_t)(eol - p);
		struct rule one;

		line++;
		if (ll && p[ll - 1] == '\r')
			ll--;
		rc = parse_line(p, ll, line, &one, why, whylen);
		if (rc < 0)
			goto out_free;
		if (rc == 1) {
			if (n == TL_RULES_MAX) {
				set_why(why, whylen, line, "more than %d rules",
					TL_RULES_MAX);
				rc = TL_ESYNTAX;
				goto out_free;
			}
			if (n == cap) {
				size_t nc = cap ? cap * 2 : 16;
				struct rule *nr =
					tl_reallocarray(r, nc, sizeof(*r));

				if (!nr) {
					rc = TL_ENOMEM;
					goto out_free;
				}
				r = nr;
				cap = nc;
			}
			r[n++] = one;
		}
		p = nl ? nl + 1 : end;
	}
	rs = tl_calloc(1, sizeof(*rs));
	if (!rs) {
		rc = TL_ENOMEM;
		goto out_free;
	}
	rc = build(r, n, rs);
	if (rc) {
		mail_rules_free(rs);
		goto out_free;
	}
	*out = rs;
	rc = 0;
out_free:
	tl_free(r);
	return rc;
}

int mail_rules_load(const char *path, struct mail_rules **out)
{
	char why[256];
	char *text = NULL;
	size_t len = 0, cap = 0, got;
	FILE *f;
	int rc;

	*out = NULL;
	if (!path || !*path) {
		rc = mail_rules_parse(mail_rules_default, mail_rules_default_len,
				      out, why, sizeof(why));
		if (rc)
			log_error("rules", "(built-in): %s",
				  rc == TL_ESYNTAX ? why : tl_strerror(rc));
		return rc;
	}
	f = fopen(path, "r");
	if (!f) {
		rc = errno == ENOENT ? TL_ENOENT : -errno;
		log_error("rules", "%s: %s", path, strerror(errno));
		return rc;
	}
	for (;;) {
		if (len == cap) {
			char *nt;

			if (cap >= RULES_FILE_MAX) {
				log_error("rules", "%s: larger than %u bytes",
					  path, (unsigned)RULES_FILE_MAX);
				rc = TL_ETOOLONG;
				goto out_close;
			}
			cap = cap ? cap * 2 : 4096;
			nt = tl_reallocarray(text, cap, 1);
			if (!nt) {
				rc = TL_ENOMEM;
				log_error("rules", "%s: %s", path,
					  tl_strerror(rc));
				goto out_close;
			}
			text = nt;
		}
		got = fread(text + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		rc = TL_EIO;
		log_error("rules", "%s: read error", path);
		goto out_close;
	}
	rc = mail_rules_parse(text ? text : "", len, out, why, sizeof(why));
	if (rc)
		log_error("rules", "%s: %s", path,
			  rc == TL_ESYNTAX ? why : tl_strerror(rc));
out_close:
	fclose(f);
	tl_free(text);
	return rc;
}

unsigned mail_rules_where(const struct mail_rules *rs)
{
	return rs ? rs->where : 0;
}

static bool has_tag(const struct tl_event *ev, const char *tag)
{
	unsigned i;

	for (i = 0; i < ev->ntags && i < TL_EVENT_TAGS; i++)
		if (strcmp(ev->tags[i], tag) == 0)
			return true;
	return false;
}

struct window {
	size_t a, b; /* bytes [a, b) of the text */
};

/* Does @g match @t (@n bytes, NUL-ended, ASCII lower case)? */
static bool group_match(const struct rule_group *g, const char *t, size_t n)
{
	struct window w[WIN_MAX], tmp;
	unsigned nw = 0, k, j;
	regmatch_t m;

	if (g->lits.none || g->lits.n == 0)
		return regexec(&g->re, t, 0, NULL, 0) == 0;
	for (k = 0; k < g->lits.n; k++) {
		const char *lit = g->lits.s[k], *p = t, *hit;
		size_t ll = strlen(lit);

		while ((hit = memmem(p, (size_t)(t + n - p), lit, ll))) {
			size_t off = (size_t)(hit - t);

			if (g->nowin || nw == WIN_MAX)
				return regexec(&g->re, t, 0, NULL, 0) == 0;
			w[nw].a = off > g->maxlen ? off - g->maxlen : 0;
			w[nw].b = off + ll + g->maxlen < n ? off + ll + g->maxlen
							   : n;
			nw++;
			p = hit + 1;
		}
	}
	/* In order of start, overlapping windows merged. */
	for (k = 1; k < nw; k++) {
		tmp = w[k];
		for (j = k; j > 0 && w[j - 1].a > tmp.a; j--)
			w[j] = w[j - 1];
		w[j] = tmp;
	}
	for (k = 0; k < nw; k = j) {
		m.rm_so = (regoff_t)w[k].a;
		m.rm_eo = (regoff_t)w[k].b;
		for (j = k + 1; j < nw && w[j].a <= (size_t)m.rm_eo; j++)
			if ((size_t)m.rm_eo < w[j].b)
				m.rm_eo = (regoff_t)w[j].b;
		if (regexec(&g->re, t, 1, &m, REG_STARTEND) == 0)
			return true;
	}
	return false;
}

/* One pass over @t (@n bytes): mark in @hit the groups one of whose
 * literals it holds. */
static void scan_literals(const struct mail_rules *rs, const char *t,
			  size_t n, uint8_t *hit)
{
	size_t i;

	for (i = 0; i + 1 < n; i++) {
		uint32_t r = rs->head[bigram((unsigned char)t[i],
					     (unsigned char)t[i + 1])];

		for (; r != LIT_END; r = rs->refs[r].next) {
			const struct lit_ref *l = &rs->refs[r];

			if (l->s[0] == t[i] && l->s[1] == t[i + 1] &&
			    l->len <= n - i && memcmp(t + i, l->s, l->len) == 0)
				hit[l->group / 8] |= (uint8_t)(1u << (l->group % 8));
		}
	}
}

void mail_rules_match(const struct mail_rules *rs, const char *subject,
		      const char *from, const char *body, struct tl_event *ev)
{
	const char *text[3] = {subject, from, body};
	uint8_t hit[3][(TL_RULES_MAX + 7) / 8];
	size_t len[3], i;
	unsigned k;

	if (!rs || !ev)
		return;
	memset(hit, 0, sizeof(hit));
	for (k = 0; k < 3; k++) {
		len[k] = text[k] ? strlen(text[k]) : 0;
		if (text[k] && (rs->where & (1u << k)))
			scan_literals(rs, text[k], len[k], hit[k]);
	}
	for (i = 0; i < rs->ngroups; i++) {
		const struct rule_group *g = &rs->groups[i];

		if (has_tag(ev, g->tag))
			continue;
		for (k = 0; k < 3; k++) {
			if (!(g->where & (1u << k)) || !text[k])
				continue;
			if (!g->lits.none && !(hit[k][i / 8] & (1u << (i % 8))))
				continue; /* none of its literals: no match */
			if (group_match(g, text[k], len[k])) {
				/* A full tag list is not an error. */
				(void)tl_event_add_tag(ev, g->tag, g->taglen);
				break;
			}
		}
	}
}
