/* SPDX-License-Identifier: MIT */
/* postfix.c -- Postfix mail log lines: classify, follow clients, events
 *
 * The parser reads the few lines that say something about a client
 * (unknown-recipient rejects, SASL failures, postscreen violations) and
 * waves the rest through as fast as it can: most of a mail log is
 * connect/disconnect and queue manager noise, so the program name is
 * looked at first and the message only for smtpd and postscreen.
 *
 * The line forms (Postfix 3.7 source and output, confirmed on Debian 12):
 *
 *   syslog      "Nov  7 04:29:17 host postfix/smtpd[123]: msg"
 *   maillog_file "Nov 07 04:29:17 host postfix/smtpd[123]: msg"
 *               (msg_logger.c: strftime "%b %d %H:%M:%S ", zero-padded)
 *   RFC 3339    "2026-11-27T04:29:17.123456+01:00 host postfix/...: msg"
 *               (rsyslog high precision; journalctl -o short-iso writes
 *               "+0100" without the colon)
 *
 *   smtpd   "NOQUEUE: reject: RCPT from NAME[ADDR]: 550 5.1.1 <RCPT>:
 *           Recipient address rejected: REASON; from=<S> to=<R>
 *           proto=ESMTP helo=<H>"   (smtpd_check.c, one line)
 *   smtpd   "warning: NAME[ADDR]: SASL MECH authentication failed: WHY[,
 *           sasl_username=U]"       (smtpd_sasl_glue.c)
 *   postscreen "PREGREET N after S from [ADDR]:PORT: TEXT",
 *           "BARE NEWLINE from [ADDR]:PORT after CMD",
 *           "NON-SMTP COMMAND from [ADDR]:PORT after CMD: TEXT",
 *           "COMMAND PIPELINING from [ADDR]:PORT after CMD: TEXT"
 *
 * NAME[ADDR] may carry ":PORT" (smtpd_client_port_logging = yes).
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tl_limits.h"
#include "mail/mail.h"
#include "postfix.h"
#include "trapline/alloc.h"
#include "trapline/day.h"
#include "trapline/err.h"

/* ---- the line parser ------------------------------------------------- */

#define LIT(s) (s), (sizeof(s) - 1)

static bool has_prefix(const char *p, const char *e, const char *s, size_t n)
{
	return (size_t)(e - p) >= n && memcmp(p, s, n) == 0;
}

/* Exactly @n digits at @p (within @e) as a number, or -1. */
static int digits(const char *p, const char *e, size_t n)
{
	int v = 0;
	size_t i;

	if ((size_t)(e - p) < n)
		return -1;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* "HH:MM:SS" with an optional ".fraction"; advances *@pp. */
static bool parse_hms(const char **pp, const char *e, struct postfix_line *o)
{
	const char *p = *pp;

	if (e - p < 8 || p[2] != ':' || p[5] != ':')
		return false;
	o->hour = digits(p, e, 2);
	o->min = digits(p + 3, e, 2);
	o->sec = digits(p + 6, e, 2);
	if (o->hour < 0 || o->hour > 23 || o->min < 0 || o->min > 59 ||
	    o->sec < 0 || o->sec > 60)
		return false;
	p += 8;
	if (p < e && *p == '.') {
		p++;
		if (p >= e || *p < '0' || *p > '9')
			return false;
		while (p < e && *p >= '0' && *p <= '9')
			p++;
	}
	*pp = p;
	return true;
}

/* "Nov 27 04:29:17" (day "07", " 7" or "7"), no year. */
static bool parse_bsd_stamp(const char **pp, const char *e,
			    struct postfix_line *o)
{
	const char *p = *pp;

	if (e - p < 15 || p[3] != ' ')
		return false;
	o->mon = tl_month_parse(p, (size_t)(e - p), false);
	if (o->mon == 0)
		return false;
	p += 4;
	if (*p == ' ')
		p++;
	if (p < e && *p >= '0' && *p <= '9') {
		o->mday = *p++ - '0';
		if (p < e && *p >= '0' && *p <= '9')
			o->mday = o->mday * 10 + (*p++ - '0');
	} else {
		return false;
	}
	if (o->mday < 1 || o->mday > 31 || p >= e || *p++ != ' ')
		return false;
	o->year = -1;
	*pp = p;
	return parse_hms(pp, e, o);
}

/* "2026-11-27T04:29:17[.frac][Z|+hh:mm|+hhmm]" (RFC 3339 section 5.6). */
static bool parse_iso_stamp(const char **pp, const char *e,
			    struct postfix_line *o)
{
	const char *p = *pp;
	int oh, om, sign;

	if (e - p < 19 || p[4] != '-' || p[7] != '-' ||
	    (p[10] != 'T' && p[10] != 't' && p[10] != ' '))
		return false;
	o->year = digits(p, e, 4);
	o->mon = digits(p + 5, e, 2);
	o->mday = digits(p + 8, e, 2);
	if (o->year < 0 || o->mon < 1 || o->mon > 12 || o->mday < 1 ||
	    o->mday > (int)tl_month_days(o->year, (unsigned)o->mon))
		return false;
	p += 11;
	if (!parse_hms(&p, e, o))
		return false;
	if (p < e && (*p == 'Z' || *p == 'z')) {
		o->has_offset = true;
		o->offset = 0;
		p++;
	} else if (p < e && (*p == '+' || *p == '-')) {
		sign = *p++ == '-' ? -1 : 1;
		oh = digits(p, e, 2);
		p += 2;
		if (oh < 0 || oh > 23)
			return false;
		if (p < e && *p == ':')
			p++;
		om = digits(p, e, 2);
		p += 2;
		if (om < 0 || om > 59)
			return false;
		o->has_offset = true;
		o->offset = sign * (oh * 3600 + om * 60);
	}
	*pp = p;
	return true;
}

/* Postfix programs that never say anything about a client we use. */
static bool is_postfix_program(const char *s, size_t n)
{
	static const char *const names[] = {
		"anvil",     "bounce",     "cleanup",   "discard",
		"dnsblog",   "error",      "flush",     "lmtp",
		"local",     "master",     "nqmgr",     "oqmgr",
		"pickup",    "pipe",       "postlogd",  "proxymap",
		"qmgr",      "qmqpd",      "scache",    "showq",
		"smtp",      "spawn",      "tlsmgr",    "tlsproxy",
		"trivial-rewrite",         "verify",    "virtual",
		"postdrop",  "postqueue",  "sendmail",  "postsuper",
		"postfix-script",          "postmap",   "postalias",
		"postconf",  "postlog",    "postmulti", "postkick",
		"postcat",   "postfix",
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == n && memcmp(names[i], s, n) == 0)
			return true;
	return false;
}

/*
 * Copy @n bytes into @dst of @cap bytes, truncating, NUL-ended. Control
 * characters (Postfix escapes them; a NUL would cut the field short
 * unseen) become '?'.
 */
static void copy_str(char *dst, size_t cap, const char *s, size_t n,
		     bool lower)
{
	size_t i;

	if (n > cap - 1)
		n = cap - 1;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (lower && c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		else if ((unsigned char)c < 0x20 || c == 0x7f)
			c = '?';
		dst[i] = c;
	}
	dst[n] = '\0';
}

/* The address in "[ADDR]" at @p (just past '['); @p ends past ']'. */
static bool bracket_ip(const char **pp, const char *e, struct tl_ip *ip)
{
	const char *p = *pp, *q;

	q = memchr(p, ']', (size_t)(e - p));
	if (!q || tl_ip_parse(p, (size_t)(q - p), ip) != 0)
		return false;
	*pp = q + 1;
	return true;
}

/* An optional ":PORT" after a client address. */
static void skip_port(const char **pp, const char *e)
{
	const char *p = *pp;

	if (p + 1 < e && *p == ':' && p[1] >= '0' && p[1] <= '9') {
		p++;
		while (p < e && *p >= '0' && *p <= '9')
			p++;
		*pp = p;
	}
}

/* smtpd's "NAME[ADDR][:PORT]: " with NAME a host name or "unknown". */
static bool smtpd_client(const char **pp, const char *e, struct tl_ip *ip)
{
	const char *p = *pp, *q;

	q = memchr(p, '[', (size_t)(e - p));
	if (!q || memchr(p, ' ', (size_t)(q - p)))
		return false;
	p = q + 1;
	if (!bracket_ip(&p, e, ip))
		return false;
	skip_port(&p, e);
	if (!has_prefix(p, e, LIT(": ")))
		return false;
	*pp = p + 2;
	return true;
}

/* Case-insensitive search for lower-case @n in @s. */
static bool contains_ci(const char *s, size_t len, const char *n, size_t nl)
{
	size_t i, j;

	for (i = 0; i + nl <= len; i++) {
		for (j = 0; j < nl; j++) {
			char c = s[i + j];

			if (c >= 'A' && c <= 'Z')
				c = (char)(c - 'A' + 'a');
			if (c != n[j])
				break;
		}
		if (j == nl)
			return true;
	}
	return false;
}

/*
 * "warning: NAME[ADDR]: SASL MECH authentication failed: WHY". A lost
 * connection to the SASL server is the server's fault, not the client's,
 * and is not counted.
 */
static enum postfix_what smtpd_sasl(const char *p, const char *e,
				    struct postfix_line *o)
{
	const char *q;

	if (!smtpd_client(&p, e, &o->ip) || !has_prefix(p, e, LIT("SASL ")))
		return POSTFIX_IGNORED;
	p += 5;
	q = p;
	while (q < e && *q != ' ')
		q++;
	if (q == p || !has_prefix(q, e, LIT(" authentication failed")))
		return POSTFIX_IGNORED;
	q += sizeof(" authentication failed") - 1;
	if (has_prefix(q, e, LIT(": Connection lost to authentication server")))
		return POSTFIX_IGNORED;
	return POSTFIX_AUTH_FAIL;
}

/* Is a "Recipient address rejected: " reason "no such user"? */
static bool is_unknown_user(const char *p, const char *e)
{
	if (has_prefix(p, e, LIT("User unknown")))
		return true;
	if (has_prefix(p, e, LIT("undeliverable address: ")))
		return contains_ci(p, (size_t)(e - p), LIT("unknown user")) ||
		       contains_ci(p, (size_t)(e - p), LIT("user unknown"));
	return false;
}

/*
 * The tail "; from=<S> to=<R> proto=P helo=<H>": the sender's domain
 * and the HELO name. A field cut short (a truncated line) is left empty.
 */
static void reject_tail(const char *p, const char *e, struct postfix_line *o)
{
	const char *s, *q, *at;

	s = p;
	if (has_prefix(s, e, LIT("; from=<"))) {
		s += 8;
		q = memmem(s, (size_t)(e - s), LIT("> to=<"));
		if (!q)
			q = memmem(s, (size_t)(e - s), LIT("> proto="));
		if (q) {
			for (at = q; at > s && at[-1] != '@'; at--)
				;
			if (at > s)
				copy_str(o->from, sizeof(o->from), at,
					 (size_t)(q - at), true);
			s = q + 1;
		}
	}
	/* helo=<...> is the last field: its value runs to the final '>'. */
	q = memmem(s, (size_t)(e - s), LIT(" helo=<"));
	if (q && e[-1] == '>') {
		q += 7;
		if (q <= e - 1)
			copy_str(o->helo, sizeof(o->helo), q,
				 (size_t)(e - 1 - q), false);
	}
}

/*
 * "ID: reject: RCPT from NAME[ADDR]: 550 5.1.1 <RCPT>: Recipient address
 * rejected: User unknown ...; from=<S> to=<R> proto=P helo=<H>". The
 * recipient is the one in the reply text: it is delimited by text
 * Postfix writes, while to=<R> follows the sender, which the client
 * chose.
 */
static enum postfix_what smtpd_reject(const char *p, const char *e,
				      struct postfix_line *o)
{
	static const char rej[] = ">: Recipient address rejected: ";
	const char *r, *reason, *end;

	if (!smtpd_client(&p, e, &o->ip))
		return POSTFIX_IGNORED;
	/* "550 5.1.1 <": a reply code, an optional enhanced code. */
	if (digits(p, e, 3) < 0 || !has_prefix(p + 3, e, LIT(" ")))
		return POSTFIX_IGNORED;
	p += 4;
	if (p < e && *p >= '0' && *p <= '9') {
		while (p < e && *p != ' ' && *p != '<')
			p++;
		if (p < e && *p == ' ')
			p++;
	}
	if (p >= e || *p != '<')
		return POSTFIX_IGNORED;
	p++;
	r = memmem(p, (size_t)(e - p), rej, sizeof(rej) - 1);
	if (!r || r == p)
		return POSTFIX_IGNORED;
	reason = r + sizeof(rej) - 1;
	end = memmem(reason, (size_t)(e - reason), LIT("; from=<"));
	if (!end)
		end = e;
	if (!is_unknown_user(reason, end))
		return POSTFIX_IGNORED;
	copy_str(o->rcpt, sizeof(o->rcpt), p, (size_t)(r - p), true);
	reject_tail(end, e, o);
	return POSTFIX_UNKNOWN_RCPT;
}

static enum postfix_what smtpd_line(const char *p, const char *e,
				    struct postfix_line *o)
{
	const char *q;

	if (has_prefix(p, e, LIT("warning: ")))
		return smtpd_sasl(p + 9, e, o);
	/* "NOQUEUE: reject: RCPT from " or "QUEUEID: reject: RCPT from " */
	for (q = p; q < e && ((*q >= 'A' && *q <= 'Z') ||
			      (*q >= 'a' && *q <= 'z') ||
			      (*q >= '0' && *q <= '9'));
	     q++)
		;
	if (q == p || !has_prefix(q, e, LIT(": reject: RCPT from ")))
		return POSTFIX_IGNORED;
	return smtpd_reject(q + sizeof(": reject: RCPT from ") - 1, e, o);
}

static enum postfix_what postscreen_line(const char *p, const char *e,
					 struct postfix_line *o)
{
	static const struct {
		const char *text; /* the message's start */
		size_t len;
		const char *tag;
	} tells[] = {
		{LIT("BARE NEWLINE from ["), "bare-newline"},
		{LIT("NON-SMTP COMMAND from ["), "non-smtp"},
		{LIT("COMMAND PIPELINING from ["), "pipelining"},
	};
	const char *tag = NULL, *q;
	size_t i;

	if (has_prefix(p, e, LIT("PREGREET "))) {
		/* "PREGREET 11 after 0.07 from [ADDR]:PORT: ..." */
		q = memmem(p, (size_t)(e - p), LIT(" from ["));
		if (!q)
			return POSTFIX_IGNORED;
		p = q + 7;
		tag = "pregreet";
	} else {
		for (i = 0; i < sizeof(tells) / sizeof(tells[0]); i++)
			if (has_prefix(p, e, tells[i].text, tells[i].len)) {
				p += tells[i].len;
				tag = tells[i].tag;
				break;
			}
		if (!tag)
			return POSTFIX_IGNORED;
	}
	if (!bracket_ip(&p, e, &o->ip))
		return POSTFIX_IGNORED;
	copy_str(o->tag, sizeof(o->tag), tag, strlen(tag), false);
	return POSTFIX_TELL;
}

/*
 * Reads @len untrusted bytes; never past them. Checks the time stamp
 * fields' ranges (an RFC 3339 date exists; a syslog day is 1..31, since
 * its year is not known yet), the program name, and every address with
 * tl_ip_parse. Guarantees: every string in @out is NUL-terminated and
 * within its array; a result other than OTHER/IGNORED has a valid @ip;
 * TELL has one of the four tags.
 */
void postfix_parse_line(const char *line, size_t len, struct postfix_line *out)
{
	const char *p = line, *e = line + len, *prog, *pend, *last, *q;
	bool slash = false;
	enum postfix_what w;

	memset(out, 0, sizeof(*out));
	out->what = POSTFIX_OTHER;
	while (e > p && (e[-1] == '\n' || e[-1] == '\r'))
		e--;

	if (e - p < 16) /* "Nov 27 04:29:17 " */
		return;
	if (p[4] == '-' ? !parse_iso_stamp(&p, e, out)
			: !parse_bsd_stamp(&p, e, out))
		return;
	/* " host prog[pid]: " */
	if (p >= e || *p++ != ' ')
		return;
	q = memchr(p, ' ', (size_t)(e - p));
	if (!q || q == p)
		return;
	prog = q + 1;
	last = prog;
	for (p = prog; p < e && *p != '[' && *p != ':' && *p != ' '; p++)
		if (*p == '/') {
			slash = true;
			last = p + 1;
		}
	pend = p;
	if (p < e && *p == '[') {
		for (p++; p < e && *p >= '0' && *p <= '9'; p++)
			;
		if (p >= e || *p++ != ']')
			return;
	}
	if (pend == prog || last == pend || !has_prefix(p, e, LIT(": ")))
		return;
	p += 2;

	if (slash && pend - last == 5 && memcmp(last, "smtpd", 5) == 0)
		w = smtpd_line(p, e, out);
	else if (slash && pend - last == 10 &&
		 memcmp(last, "postscreen", 10) == 0)
		w = postscreen_line(p, e, out);
	else if ((slash && (has_prefix(prog, pend, LIT("postfix")) ||
			    is_postfix_program(last, (size_t)(pend - last)))) ||
		 (pend - prog == 7 && memcmp(prog, "postfix", 7) == 0))
		w = POSTFIX_IGNORED;
	else
		w = POSTFIX_OTHER;
	if (w == POSTFIX_IGNORED || w == POSTFIX_OTHER) {
		/* Whatever a helper filled in before it gave up. */
		memset(&out->ip, 0, sizeof(out->ip));
		out->rcpt[0] = out->helo[0] = out->from[0] = out->tag[0] = '\0';
	}
	out->what = w;
}

/* ---- following clients ----------------------------------------------- */

/* Local-time conversions remembered, one per civil hour (a power of 2). */
#define TIME_CACHE 64

struct hour_base {
	int64_t key;  /* civil (year, month, day, hour), -1 = empty */
	int64_t base; /* unix s of that hour's start */
};

struct postfix_state {
	unsigned threshold, window; /* opts: count, s */
	int64_t now;                /* opts: unix s, 0 = the clock */
	int64_t (*to_utc)(int, int, int, int, int, int);
	char sensor[TL_SENSOR_MAX + 1];
	struct postfix_counts counts;
	struct mail_dict *dict; /* dictionary attacks, owned */
	struct hour_base hours[TIME_CACHE];
};

int postfix_state_new(const struct postfix_opts *o, struct postfix_state **out)
{
	struct postfix_state *st;
	size_t i;

	*out = NULL;
	if (o->dict_threshold == 0 || o->dict_threshold > TL_EVENT_COUNT_MAX ||
	    (o->sensor && strlen(o->sensor) > TL_SENSOR_MAX))
		return TL_EINVAL;
	st = tl_calloc(1, sizeof(*st));
	if (!st)
		return TL_ENOMEM;
	if (mail_dict_new(o->dict_threshold, o->dict_window, &st->dict) < 0) {
		tl_free(st);
		return TL_ENOMEM;
	}
	st->threshold = o->dict_threshold;
	st->window = o->dict_window;
	st->now = o->now;
	st->to_utc = o->to_utc;
	if (o->sensor)
		strcpy(st->sensor, o->sensor);
	for (i = 0; i < TIME_CACHE; i++)
		st->hours[i].key = -1;
	*out = st;
	return 0;
}

void postfix_state_free(struct postfix_state *st)
{
	if (!st)
		return;
	mail_dict_free(st->dict);
	tl_free(st);
}

const struct postfix_counts *postfix_state_counts(const struct postfix_state *st)
{
	return &st->counts;
}

/* ---- time ---- */

static int64_t local_base(struct postfix_state *st, int y, int mon, int mday,
			  int hour)
{
	int64_t key = (((int64_t)y * 13 + mon) * 32 + mday) * 24 + hour;
	/* Consecutive hours take consecutive slots. */
	struct hour_base *h = &st->hours[(uint64_t)key & (TIME_CACHE - 1)];
	struct tm tm;

	if (h->key == key)
		return h->base;
	h->key = key;
	if (st->to_utc) {
		h->base = st->to_utc(y, mon, mday, hour, 0, 0);
	} else {
		memset(&tm, 0, sizeof(tm));
		tm.tm_year = y - 1900;
		tm.tm_mon = mon - 1;
		tm.tm_mday = mday;
		tm.tm_hour = hour;
		tm.tm_isdst = -1;
		h->base = (int64_t)mktime(&tm);
	}
	/* -1 is mktime's error; no hour since 1970 starts before it. */
	if (h->base < 0)
		h->base = -1;
	return h->base;
}

/* The line's time in @y (a year with that date), or false. */
static bool civil_to_unix(struct postfix_state *st,
			  const struct postfix_line *l, int y, int64_t *t)
{
	if (y < 1970 || y > 2199 ||
	    l->mday > (int)tl_month_days(y, (unsigned)l->mon))
		return false;
	if (l->has_offset)
		*t = (int64_t)tl_day_from_civil(y, (unsigned)l->mon,
						(unsigned)l->mday) * 86400 +
		     l->hour * 3600 + l->min * 60 + l->sec - l->offset;
	else if ((*t = local_base(st, y, l->mon, l->mday, l->hour)) < 0)
		return false;
	else
		*t += l->min * 60 + l->sec;
	return true;
}

/*
 * Unix seconds for a parsed line. A syslog line has no year: it is the
 * latest of the years around now's that does not put the line more than
 * a day in the future (a December log read in January is last year's; a
 * line just past New Year local time is next year's while UTC lags).
 */
static bool line_time(struct postfix_state *st, const struct postfix_line *l,
		      int64_t *t)
{
	int64_t now, y;
	unsigned m, d;

	if (l->year >= 0) {
		if (!civil_to_unix(st, l, l->year, t))
			return false;
	} else {
		now = st->now ? st->now : (int64_t)time(NULL);
		tl_day_to_civil(tl_day_from_time(now), &y, &m, &d);
		if (y < 1970 || y > 2199)
			return false;
		if (!(l->mon == 1 && civil_to_unix(st, l, (int)y + 1, t) &&
		      *t <= now + 86400) &&
		    !(civil_to_unix(st, l, (int)y, t) && *t <= now + 86400) &&
		    !civil_to_unix(st, l, (int)y - 1, t))
			return false;
	}
	return *t >= (int64_t)TL_DAY_MIN * 86400 &&
	       *t < ((int64_t)TL_DAY_MAX + 1) * 86400;
}

/* Reads untrusted bytes through postfix_parse_line only. */
enum ingest_line postfix_feed(struct postfix_state *st, const char *line,
			      size_t len, struct tl_event *ev,
			      struct ingest_err *err)
{
	struct postfix_line l;
	uint32_t n;
	int64_t t;

	if (err) {
		err->code = 0;
		err->field = NULL;
	}
	postfix_parse_line(line, len, &l);
	if (l.what == POSTFIX_OTHER) {
		st->counts.other++;
		return INGEST_SKIP;
	}
	if (l.what == POSTFIX_IGNORED) {
		st->counts.ignored++;
		return INGEST_SKIP;
	}
	if (!line_time(st, &l, &t)) {
		st->counts.other++;
		return INGEST_SKIP;
	}

	tl_event_init(ev);
	ev->time = t;
	ev->ip = l.ip;
	memcpy(ev->sensor, st->sensor, sizeof(ev->sensor));
	switch (l.what) {
	case POSTFIX_UNKNOWN_RCPT:
		st->counts.unknown_rcpt++;
		n = mail_dict_note(st->dict, &l.ip, l.rcpt, strlen(l.rcpt), t);
		if (!n)
			return INGEST_SKIP;
		st->counts.dict_events++;
		ev->kind = TL_KIND_DICTIONARY;
		ev->count = n;
		ev->rcpts = n;
		memcpy(ev->helo, l.helo, sizeof(ev->helo));
		memcpy(ev->from, l.from, sizeof(ev->from));
		return INGEST_EVENT;
	case POSTFIX_AUTH_FAIL:
		st->counts.auth_fail++;
		ev->kind = TL_KIND_AUTH;
		return INGEST_EVENT;
	default: /* POSTFIX_TELL */
		st->counts.tells++;
		ev->kind = TL_KIND_SPAM;
		(void)tl_event_add_tag(ev, l.tag, strlen(l.tag));
		return INGEST_EVENT;
	}
}
