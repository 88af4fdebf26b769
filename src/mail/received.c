/* SPDX-License-Identifier: MIT */
/* received.c -- one Received field: who handed the message over, and when
 *
 * The grammar is RFC 5321 4.4 (Time-stamp-line) as MTAs really write it:
 * clauses "from", "by", "via", "with", "id", "for" of words and comments,
 * then ';' and an RFC 5322 3.3 date. What the receiver learned about the
 * client (its address and name, the TCP-info) sits in comments after the
 * from word, in a different shape for each MTA; see from_fill().
 */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "tl_limits.h"
#include "mail.h"
#include "trapline/day.h"
#include "trapline/err.h"

/* ---- tokens ------------------------------------------------------------ */

enum tok_type {
	T_END,
	T_WORD,    /* an atom, a domain, an address literal ("[ip]:port") */
	T_COMMENT, /* s/n: the text inside the outer parentheses */
	T_ANGLE,   /* <path> */
	T_QUOTED,  /* "string" */
	T_SEMI,
	T_OTHER /* a stray ')' or '>' */
};

struct tok {
	enum tok_type type;
	const char *s; /* the token's text (a comment's: inside the parens) */
	size_t n;
};

/* How many unterminated comments a cursor steps over as a stray '('
 * before it lets one run to the end (each costs a scan to the end). */
#define REOPEN_MAX 16

struct cur {
	const char *p, *end;
	unsigned reopen;   /* stray '(' left, from REOPEN_MAX down */
	bool no_quote;     /* a '"' found no closing one: later ones are stray */
	bool no_angle;     /* a '<' found no '>': later ones are stray */
};

static void cur_init(struct cur *c, const char *p, const char *end)
{
	c->p = p;
	c->end = end;
	c->reopen = REOPEN_MAX;
	c->no_quote = false;
	c->no_angle = false;
}

static void stray(struct cur *c, struct tok *t, const char *p)
{
	t->type = T_OTHER;
	t->s = p;
	t->n = 1;
	c->p = p + 1;
}

/* Separators: WSP, line breaks, and any other control byte (NUL too). */
static bool is_sep(unsigned char c)
{
	return c <= ' ' || c == 127;
}

static bool ends_word(unsigned char c)
{
	return is_sep(c) || c == '(' || c == ')' || c == '<' || c == '>' ||
	       c == ';' || c == '"';
}

/* Step over a quoted pair's backslash without leaving [p, end). */
static const char *skip_pair(const char *p, const char *end)
{
	return p + 1 < end ? p + 2 : end;
}

/*
 * The next token in [c->p, c->end). Comments nest (RFC 5322 3.2.2) and
 * honour quoted pairs; a path may hold a quoted local part. An opening
 * '(', '"' or '<' that is never closed is a stray byte, not the start of
 * something that swallows the rest: a HELO of "x(" must not hide the
 * TCP-info the receiver wrote after it. Stray quotes and angles cost one
 * failed scan each kind (none can close later); stray parentheses up to
 * REOPEN_MAX scans, after which one runs to the end, so the cost stays
 * linear. Reads nothing outside the range.
 */
static void next_tok(struct cur *c, struct tok *t)
{
	const char *p = c->p, *end = c->end, *start;
	size_t depth;

	while (p < end && is_sep((unsigned char)*p))
		p++;
	if (p == end) {
		t->type = T_END;
		t->s = p;
		t->n = 0;
		c->p = p;
		return;
	}
	switch (*p) {
	case '(':
		start = ++p;
		depth = 1;
		while (p < end) {
			if (*p == '\\') {
				p = skip_pair(p, end);
				continue;
			}
			if (*p == '(')
				depth++;
			else if (*p == ')' && --depth == 0)
				break;
			p++;
		}
		if (p == end && c->reopen > 0) {
			c->reopen--;
			stray(c, t, start - 1);
			return;
		}
		t->type = T_COMMENT;
		t->s = start;
		t->n = (size_t)(p - start);
		c->p = p < end ? p + 1 : end;
		return;
	case '"':
		if (c->no_quote) {
			stray(c, t, p);
			return;
		}
		start = ++p;
		while (p < end && *p != '"')
			p = *p == '\\' ? skip_pair(p, end) : p + 1;
		if (p == end) {
			c->no_quote = true;
			stray(c, t, start - 1);
			return;
		}
		t->type = T_QUOTED;
		t->s = start;
		t->n = (size_t)(p - start);
		c->p = p < end ? p + 1 : end;
		return;
	case '<':
		if (c->no_angle) {
			stray(c, t, p);
			return;
		}
		start = ++p;
		/* RFC 5321 4.1.2: a quoted local part may hold '>'. */
		while (p < end && *p != '>') {
			if (*p == '"') {
				for (p++; p < end && *p != '"';)
					p = *p == '\\' ? skip_pair(p, end) : p + 1;
				if (p == end)
					break;
			}
			p++;
		}
		if (p >= end) {
			c->no_angle = true;
			stray(c, t, start - 1);
			return;
		}
		t->type = T_ANGLE;
		t->s = start;
		t->n = (size_t)(p - start);
		c->p = p + 1;
		return;
	case ';':
		t->type = T_SEMI;
		t->s = p;
		t->n = 1;
		c->p = p + 1;
		return;
	case ')':
	case '>':
		stray(c, t, p);
		return;
	}
	start = p;
	while (p < end && !ends_word((unsigned char)*p))
		p++;
	t->type = T_WORD;
	t->s = start;
	t->n = (size_t)(p - start);
	c->p = p;
}

static bool word_is(const struct tok *t, const char *w)
{
	return t->type == T_WORD && strlen(w) == t->n &&
	       strncasecmp(t->s, w, t->n) == 0;
}

static bool has_prefix_ci(const char *s, size_t n, const char *pre)
{
	size_t k = strlen(pre);

	return n >= k && strncasecmp(s, pre, k) == 0;
}

/* ---- names and addresses ----------------------------------------------- */

/* Copy a name lower-cased, cut at MAIL_NAME_MAX bytes, control bytes
 * dropped; with @strip_dot, one trailing root dot goes ("mx.example."). */
static void copy_name(char *dst, const char *s, size_t n, bool strip_dot)
{
	size_t i, o = 0;

	if (strip_dot && n > 1 && s[n - 1] == '.')
		n--;
	for (i = 0; i < n && o < MAIL_NAME_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < ' ' || c == 127)
			continue;
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		dst[o++] = (char)c;
	}
	dst[o] = '\0';
}

/* After the last '@' ("user@host" from an ident lookup), or all of it. */
static void after_at(const char **s, size_t *n)
{
	size_t i;

	for (i = *n; i > 0; i--) {
		if ((*s)[i - 1] == '@') {
			*s += i;
			*n -= i;
			return;
		}
	}
}

/*
 * An address literal "[192.0.2.1]", "[IPv6:2001:db8::1]", "[ip]:port"
 * (Exim). Returns true and fills @ip; *@port tells whether ":port" followed.
 */
static bool parse_literal(const char *s, size_t n, struct tl_ip *ip,
			  bool *port)
{
	const char *close;

	if (n < 2 || s[0] != '[')
		return false;
	close = memchr(s, ']', n);
	if (!close)
		return false;
	*port = close + 1 < s + n && close[1] == ':';
	n = (size_t)(close - s) - 1;
	s++;
	if (has_prefix_ci(s, n, "IPv6:")) {
		s += 5;
		n -= 5;
	}
	return tl_ip_parse(s, n, ip) == 0;
}

/* A bare address, as qmail and Microsoft write it: "(192.0.2.1)",
 * "(user@192.0.2.1)", "(2001:db8::1)". */
static bool parse_bare(const char *s, size_t n, struct tl_ip *ip)
{
	after_at(&s, &n);
	if (has_prefix_ci(s, n, "IPv6:")) {
		s += 5;
		n -= 5;
	}
	return n > 0 && tl_ip_parse(s, n, ip) == 0;
}

/* ---- the from clause --------------------------------------------------- */

/* How sure we are where a client address came from: a bracketed literal
 * in a comment is what MTAs write for the connection; a bare address in a
 * comment (qmail, Microsoft) next; the from word itself (Exim "from [ip]")
 * last. Among literals the last one wins: Postfix and Sendmail write the
 * client's HELO first, so whatever a HELO imitates comes before the real
 * TCP-info, never after it. */
enum ip_src { IP_NONE, IP_BARE, IP_LITERAL };

struct from_info {
	struct tok word;   /* the word after "from" (type T_END when none) */
	enum ip_src src;
	struct tl_ip ip;
	bool lead_literal; /* the address opened its comment: "([ip] ...)" */
	bool port;         /* "[ip]:port": only Exim writes that */
	const char *rdns;  /* "(NAME [ip])": the receiver's name for it */
	size_t rdns_n;
	const char *helo; /* "helo=X" (Exim) or "(HELO X)" (qmail) */
	size_t helo_n;
	bool helo_qmail;
	bool exim; /* the field names Exim: "helo=", ":port", "(Exim 4.x)" */
};

/*
 * Look at one comment of the from clause for TCP-info:
 *   Postfix, Sendmail  (RDNS [ip])  (unknown [IPv6:...])  (user@RDNS [ip])
 *   Exim               ([ip] helo=X)  ([ip]:port helo=X ident=y)
 *                      (port=N helo=X)
 *   qmail              (HELO X) (ip)  (user@ip)
 *   Microsoft          (ip)
 * Sendmail without a HELO writes "(from RDNS [ip])" with no from clause;
 * @skip_from drops that leading word. Nested comments ("(may be
 * forged)") are passed over.
 */
static void from_comment(const char *s, size_t n, bool skip_from,
			 struct from_info *fi)
{
	struct cur c;
	struct tok t, first = {T_END, s, 0};
	struct tl_ip ip;
	bool port, want_helo = false;
	unsigned i = 0;

	cur_init(&c, s, s + n);
	for (next_tok(&c, &t); t.type != T_END; next_tok(&c, &t)) {
		if (t.type == T_COMMENT)
			continue;
		if (i == 0 && skip_from && word_is(&t, "from")) {
			skip_from = false;
			continue;
		}
		if (t.type != T_WORD) {
			i++;
			continue;
		}
		if (want_helo) {
			want_helo = false;
			if (!fi->helo) {
				fi->helo = t.s;
				fi->helo_n = t.n;
				fi->helo_qmail = true;
			}
		} else if (has_prefix_ci(t.s, t.n, "helo=")) {
			fi->exim = true;
			if (!fi->helo && t.n > 5) {
				fi->helo = t.s + 5;
				fi->helo_n = t.n - 5;
			}
		} else if (i == 0 &&
			   (word_is(&t, "helo") || word_is(&t, "ehlo"))) {
			want_helo = true;
		} else if (t.s[0] == '[' && parse_literal(t.s, t.n, &ip, &port)) {
			if (port)
				fi->exim = true;
			if (i <= 1) {
				fi->src = IP_LITERAL;
				fi->ip = ip;
				fi->lead_literal = i == 0;
				fi->rdns = NULL;
				fi->rdns_n = 0;
				if (i == 1 && first.type == T_WORD) {
					fi->rdns = first.s;
					fi->rdns_n = first.n;
					after_at(&fi->rdns, &fi->rdns_n);
				}
			}
		}
		if (i == 0)
			first = t;
		i++;
	}
	/* A comment that is one bare address. */
	if (i == 1 && first.type == T_WORD && fi->src < IP_BARE &&
	    first.s[0] != '[' && parse_bare(first.s, first.n, &ip)) {
		fi->src = IP_BARE;
		fi->ip = ip;
		fi->rdns = NULL;
		fi->rdns_n = 0;
	}
}

/* Decide helo, rdns and the address from what the from clause held. */
static void from_fill(const struct from_info *fi, struct mail_hop *hop)
{
	const struct tok *w = &fi->word;
	bool word_literal = w->type == T_WORD && w->n && w->s[0] == '[';
	struct tl_ip ip;
	bool port;

	if (fi->src != IP_NONE) {
		hop->has_ip = true;
		hop->ip = fi->ip;
	} else if (w->type == T_WORD &&
		   (word_literal ? parse_literal(w->s, w->n, &ip, &port)
				 : parse_bare(w->s, w->n, &ip))) {
		/* Exim "from [ip] (helo=X)", or a bare "from ip". */
		hop->has_ip = true;
		hop->ip = ip;
	}

	if (fi->helo)
		copy_name(hop->helo, fi->helo, fi->helo_n, false);
	else if (w->type == T_WORD)
		copy_name(hop->helo, w->s, w->n, false);

	if (fi->src == IP_LITERAL && fi->rdns) {
		copy_name(hop->rdns, fi->rdns, fi->rdns_n, true);
	} else if (w->type == T_WORD && !word_literal &&
		   ((fi->src == IP_LITERAL && fi->lead_literal && fi->exim) ||
		    (fi->src == IP_BARE && fi->helo_qmail))) {
		/* Exim and qmail put the receiver's name for the client in
		 * the from word; Sendmail's "from HELO ([ip])" does not. */
		copy_name(hop->rdns, w->s, w->n, true);
	}
}

/* ---- dates (RFC 5322 3.3) ---------------------------------------------- */

/* Skip CFWS: whitespace and (nested) comments. */
static void skip_cfws(struct cur *c)
{
	size_t depth = 0;

	while (c->p < c->end) {
		unsigned char ch = (unsigned char)*c->p;

		if (depth == 0 && ch == '(') {
			depth = 1;
		} else if (depth) {
			if (ch == '\\') {
				c->p = skip_pair(c->p, c->end);
				continue;
			}
			if (ch == '(')
				depth++;
			else if (ch == ')')
				depth--;
		} else if (!is_sep(ch)) {
			return;
		}
		c->p++;
	}
}

/* Up to @max digits; returns how many were read (0: none). */
static unsigned read_num(struct cur *c, unsigned max, unsigned *out)
{
	unsigned n = 0, v = 0;

	while (c->p < c->end && n < max && *c->p >= '0' && *c->p <= '9') {
		v = v * 10 + (unsigned)(*c->p - '0');
		c->p++;
		n++;
	}
	*out = v;
	return n;
}

static size_t read_alpha(struct cur *c, const char **s)
{
	const char *p = c->p;

	while (c->p < c->end && ((*c->p >= 'a' && *c->p <= 'z') ||
				 (*c->p >= 'A' && *c->p <= 'Z')))
		c->p++;
	*s = p;
	return (size_t)(c->p - p);
}

static bool read_char(struct cur *c, char ch)
{
	skip_cfws(c);
	if (c->p < c->end && *c->p == ch) {
		c->p++;
		return true;
	}
	return false;
}

static bool is_weekday(const char *s, size_t n)
{
	static const char names[] = "montuewedthufrisatsun";
	unsigned i;

	if (n < 3)
		return false;
	for (i = 0; i < 7; i++)
		if (strncasecmp(s, names + 3 * i, 3) == 0)
			return true;
	return false;
}

/*
 * A zone: "+hhmm"/"-hhmm", or obs-zone (RFC 5322 4.3): UT, GMT, Z, the
 * US zones, military letters; those and any other alphabetic zone mean
 * -0000 ("no information"), as do missing zones. Seconds east of UTC.
 */
static int read_zone(struct cur *c, int *east)
{
	static const struct {
		const char *name;
		int hours;
	} us[] = {
		{"EST", -5}, {"EDT", -4}, {"CST", -6}, {"CDT", -5},
		{"MST", -7}, {"MDT", -6}, {"PST", -8}, {"PDT", -7},
	};
	const char *s;
	unsigned v, i;
	size_t n;
	int sign = 1;

	*east = 0;
	skip_cfws(c);
	if (c->p == c->end)
		return 0;
	if (*c->p == '+' || *c->p == '-') {
		sign = *c->p == '-' ? -1 : 1;
		c->p++;
		if (read_num(c, 4, &v) != 4 || v % 100 >= 60)
			return TL_ESYNTAX;
		*east = sign * (int)((v / 100) * 3600 + (v % 100) * 60);
		return 0;
	}
	n = read_alpha(c, &s);
	for (i = 0; i < sizeof(us) / sizeof(us[0]); i++)
		if (n == 3 && strncasecmp(s, us[i].name, 3) == 0)
			*east = us[i].hours * 3600;
	return 0;
}

/* Seconds since the epoch of an RFC 5322 date-time in [s, s + n), or -1
 * when it does not parse or lies outside the events' day range. Also
 * takes the asctime order ("Fri Nov 27 04:29:17 2026") some MTAs write. */
static int64_t parse_date(const char *s, size_t n)
{
	struct cur c = {s, s + n, 0, false, false};
	unsigned day = 0, mon = 0, year = 0, hh = 0, mm = 0, ss = 0, ylen = 0;
	const char *w;
	size_t wn;
	int64_t y, t;
	bool asc = false;
	int east;

	skip_cfws(&c);
	wn = read_alpha(&c, &w);
	if (wn) {
		if (!is_weekday(w, wn))
			return -1;
		read_char(&c, ',');
		skip_cfws(&c);
		wn = read_alpha(&c, &w);
		if (wn) {
			asc = true;
			mon = (unsigned)tl_month_parse(w, wn, true);
		}
	}
	skip_cfws(&c);
	if (read_num(&c, 2, &day) == 0)
		return -1;
	if (!asc) {
		skip_cfws(&c);
		wn = read_alpha(&c, &w);
		mon = (unsigned)tl_month_parse(w, wn, true);
		skip_cfws(&c);
		ylen = read_num(&c, 5, &year);
		if (ylen < 2 || ylen > 4)
			return -1;
	}
	if (mon == 0)
		return -1;
	skip_cfws(&c);
	if (read_num(&c, 2, &hh) == 0 || !read_char(&c, ':'))
		return -1;
	skip_cfws(&c);
	if (read_num(&c, 2, &mm) != 2)
		return -1;
	if (read_char(&c, ':')) {
		skip_cfws(&c);
		if (read_num(&c, 2, &ss) != 2)
			return -1;
	}
	if (asc) {
		skip_cfws(&c);
		ylen = read_num(&c, 5, &year);
		if (ylen != 4)
			return -1;
	}
	if (read_zone(&c, &east) < 0)
		return -1;
	/* RFC 5322 4.3: two digits are 1950..2049, three are 1900+. */
	y = year;
	if (ylen == 2)
		y += year < 50 ? 2000 : 1900;
	else if (ylen == 3)
		y += 1900;
	if (y < 1969 || y > 2200 || day < 1 || day > tl_month_days(y, mon) ||
	    hh > 23 || mm > 59 || ss > 60)
		return -1;
	t = (int64_t)tl_day_from_civil(y, mon, day) * 86400 + hh * 3600 +
	    mm * 60 + ss - east;
	if (t < (int64_t)TL_DAY_MIN * 86400 ||
	    t >= ((int64_t)TL_DAY_MAX + 1) * 86400)
		return -1;
	return t;
}

/* ---- the field --------------------------------------------------------- */

enum clause { C_NONE, C_FROM, C_BY, C_OTHER };

/*
 * Reads [v, v + vlen) only, in three linear passes: one finds the last ';'
 * outside comments and strings (the date follows it), one the last "by"
 * before it, one reads the clauses. Any byte sequence is safe; names are
 * bounded by copy_name. Keywords count only at the top level. The by
 * clause is the last one, so a HELO holding " by " does not end the from
 * clause early; the word after "from" or "by" is always the domain.
 */
int mail_received_parse(const char *v, size_t vlen, struct mail_hop *hop)
{
	struct cur c;
	struct from_info fi;
	struct tok t;
	const char *semi = NULL, *last_by = NULL;
	enum clause cl = C_NONE;
	bool from_seen = false, by_seen = false, want_from = false,
	     want_by = false, after_by = false;

	memset(hop, 0, sizeof(*hop));
	memset(&fi, 0, sizeof(fi));
	fi.word.type = T_END;
	hop->time = -1;

	cur_init(&c, v, v + vlen);
	for (next_tok(&c, &t); t.type != T_END; next_tok(&c, &t))
		if (t.type == T_SEMI)
			semi = t.s;
	if (semi)
		hop->time = parse_date(semi + 1, (size_t)(v + vlen - semi - 1));

	cur_init(&c, v, semi ? semi : v + vlen);
	for (next_tok(&c, &t); t.type != T_END; next_tok(&c, &t)) {
		/* In "by by" the second is the receiver's name. */
		if (word_is(&t, "by") && !after_by) {
			last_by = t.s;
			after_by = true;
		} else {
			after_by = false;
		}
	}

	cur_init(&c, v, semi ? semi : v + vlen);
	for (next_tok(&c, &t); t.type != T_END; next_tok(&c, &t)) {
		if (want_from) {
			want_from = false;
			if (t.type == T_WORD) {
				fi.word = t;
				continue;
			}
		}
		if (want_by) {
			want_by = false;
			if (t.type == T_WORD) {
				copy_name(hop->by, t.s, t.n, true);
				continue;
			}
		}
		if (t.type == T_WORD) {
			if (word_is(&t, "from")) {
				cl = from_seen ? C_OTHER : C_FROM;
				want_from = !from_seen;
				from_seen = true;
			} else if (t.s == last_by) {
				cl = C_BY;
				want_by = true;
				by_seen = true;
			} else if (word_is(&t, "via") || word_is(&t, "with") ||
				   word_is(&t, "id") || word_is(&t, "for")) {
				cl = C_OTHER;
			}
			continue;
		}
		if (t.type != T_COMMENT)
			continue;
		if (has_prefix_ci(t.s, t.n, "Exim ")) {
			fi.exim = true;
		} else if (cl == C_FROM) {
			from_comment(t.s, t.n, false, &fi);
		} else if (cl == C_NONE && !from_seen && !by_seen &&
			   has_prefix_ci(t.s, t.n, "from") && t.n > 4 &&
			   is_sep((unsigned char)t.s[4])) {
			/* Sendmail without HELO: "(from RDNS [ip]) by". */
			from_seen = true;
			from_comment(t.s, t.n, true, &fi);
		}
	}
	if (!from_seen && !by_seen)
		return TL_ESYNTAX;
	from_fill(&fi, hop);
	return 0;
}
