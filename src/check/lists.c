/* SPDX-License-Identifier: MIT */
/* lists.c -- lists.conf: the block lists `trapline check` asks
 *
 * INI, one section per list. Its own small reader rather than inih's:
 * every error must name its file and line (Debian's libinih is built
 * without line numbers for handlers), lines run past inih's 200 bytes
 * (meanings, TXT-like text), and the parser must do no I/O so the fuzzer
 * and the unit tests call it directly.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check.h"
#include "tl_limits.h"
#include "utf8.h"
#include "trapline/alloc.h"
#include "trapline/err.h"

/* The longest zone: a 64-byte IPv6 nibble prefix + the zone must fit in
 * a 255-byte name (RFC 1035 2.3.4). */
#define ZONE_MAX 180
#define NAME_MAX_ 63
#define RESOLVER_MAX 64

struct parser {
	const char *path;
	unsigned line;
	char *err;
	size_t errsize;
	struct check_lists *out;
	struct check_list *cur; /* the section being read, or NULL */
	uint32_t seen;          /* keys given in cur (bits) */
};

enum {
	K_ZONE = 1u << 0,
	K_FAMILY = 1u << 1,
	K_TIMEOUT = 1u << 2,
	K_RETRIES = 1u << 3,
	K_TXT = 1u << 4,
	K_TEST = 1u << 5,
	K_DEFAULT = 1u << 6,
	K_RESOLVER = 1u << 7,
	K_SETS = 1u << 8,
	K_DECODE = 1u << 9,
};

__attribute__((format(printf, 3, 4))) static int fail(struct parser *p,
						       int rc,
						       const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!p->errsize)
		return rc;
	n = snprintf(p->err, p->errsize, "%s:%u: ", p->path, p->line);
	if (n >= 0 && (size_t)n < p->errsize) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errsize - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static char *dup_n(const char *s, size_t n)
{
	char *d = tl_calloc(1, n + 1);

	if (d)
		memcpy(d, s, n);
	return d;
}

static void list_free(struct check_list *l)
{
	uint32_t i;

	for (i = 0; i < l->ncodes; i++)
		tl_free(l->codes[i].meaning);
	tl_free(l->codes);
	tl_free(l->name);
	tl_free(l->zone);
	tl_free(l->resolver);
	tl_free(l->sets);
	memset(l, 0, sizeof(*l));
}

void check_lists_free(struct check_lists *l)
{
	uint32_t i;

	if (!l)
		return;
	for (i = 0; i < l->n; i++)
		list_free(&l->v[i]);
	tl_free(l->v);
	l->v = NULL;
	l->n = 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.';
}

/* Valid UTF-8 without control characters: values reach the operator's
 * terminal and the CSV and JSON output. */
static bool is_text(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;

	while (p < end) {
		size_t k = tl_utf8_len(p, end);

		if (k == 0 || (*p < 0x20 && *p != '\t') || *p == 0x7f)
			return false;
		p += k;
	}
	return true;
}

/* A DNS zone: letters, digits, '-', '_' in labels of 1..63, no leading or
 * trailing dot (one trailing dot is dropped by the caller). */
static bool is_zone(const char *s, size_t n)
{
	size_t i, label = 0;

	if (n == 0 || n > ZONE_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)c) && c != '-' && c != '_')
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0;
}

/* An IPv4 answer "A.B.C.D" (the strict parser: no leading zeros). */
static int parse_v4(const char *s, size_t n, uint32_t *a)
{
	struct tl_ip ip;

	if (tl_ip_parse(s, n, &ip) < 0 || ip.family != 4)
		return TL_ESYNTAX;
	*a = tl_ip_v4(&ip);
	return 0;
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") ||
	    !strcasecmp(v, "on") || !strcmp(v, "1"))
		*out = true;
	else if (!strcasecmp(v, "no") || !strcasecmp(v, "false") ||
		 !strcasecmp(v, "off") || !strcmp(v, "0"))
		*out = false;
	else
		return TL_ESYNTAX;
	return 0;
}

static int parse_uint(const char *v, unsigned max, unsigned *out)
{
	unsigned long n = 0;
	const char *p = v;

	if (!isdigit((unsigned char)*p))
		return TL_ESYNTAX;
	for (; isdigit((unsigned char)*p); p++) {
		n = n * 10 + (unsigned long)(*p - '0');
		if (n > max)
			return TL_ERANGE;
	}
	if (*p)
		return TL_ESYNTAX;
	*out = (unsigned)n;
	return 0;
}

/* "500ms", "2s", "1.5s", or a bare number of milliseconds. */
static int parse_timeout(const char *v, unsigned *ms)
{
	unsigned long whole = 0, frac = 0, scale = 1;
	const char *p = v;

	if (!isdigit((unsigned char)*p))
		return TL_ESYNTAX;
	for (; isdigit((unsigned char)*p); p++) {
		whole = whole * 10 + (unsigned long)(*p - '0');
		if (whole > TL_CHECK_TIMEOUT_MS_MAX)
			return TL_ERANGE;
	}
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p); p++) {
			if (scale < 1000) {
				frac = frac * 10 + (unsigned long)(*p - '0');
				scale *= 10;
			}
		}
		if (strcmp(p, "s") != 0)
			return TL_ESYNTAX;
	}
	if (*p == '\0' || !strcmp(p, "ms")) {
		if (scale != 1)
			return TL_ESYNTAX;
	} else if (!strcmp(p, "s")) {
		whole = whole * 1000 + frac * 1000 / scale;
	} else {
		return TL_ESYNTAX;
	}
	if (whole == 0 || whole > TL_CHECK_TIMEOUT_MS_MAX)
		return TL_ERANGE;
	*ms = (unsigned)whole;
	return 0;
}

int check_resolver_parse(const char *s, char *out, size_t size)
{
	const char *host = s, *end, *colon = NULL;
	size_t hlen, n = strlen(s);
	unsigned port = 53;
	struct tl_ip ip;
	char buf[TL_IP_STRLEN];
	int w;

	if (n == 0 || n > RESOLVER_MAX)
		return TL_ESYNTAX;
	if (s[0] == '[') {
		end = strchr(s, ']');
		if (!end)
			return TL_ESYNTAX;
		host = s + 1;
		hlen = (size_t)(end - host);
		if (end[1] == ':')
			colon = end + 1;
		else if (end[1])
			return TL_ESYNTAX;
	} else {
		colon = strchr(s, ':');
		if (colon && strchr(colon + 1, ':'))
			colon = NULL; /* a bare IPv6 address */
		hlen = colon ? (size_t)(colon - s) : n;
	}
	if (tl_ip_parse(host, hlen, &ip) < 0)
		return TL_ESYNTAX;
	if (colon && (parse_uint(colon + 1, 65535, &port) < 0 || port == 0))
		return TL_ESYNTAX;
	tl_ip_format(&ip, buf);
	if (ip.family == 6)
		w = snprintf(out, size, "[%s]:%u", buf, port);
	else
		w = snprintf(out, size, "%s:%u", buf, port);
	return w < 0 || (size_t)w >= size ? TL_ESYNTAX : 0;
}

static int end_section(struct parser *p)
{
	struct check_list *l = p->cur;

	if (!l)
		return 0;
	p->cur = NULL;
	if (!l->zone) {
		p->line = l->line;
		return fail(p, TL_EMISSING, "[%s]: no zone", l->name);
	}
	return 0;
}

static int start_section(struct parser *p, const char *s, size_t n)
{
	struct check_list *v, *l;
	uint32_t i;
	int rc;

	rc = end_section(p);
	if (rc < 0)
		return rc;
	if (n == 0 || n > NAME_MAX_)
		return fail(p, TL_ESYNTAX, "bad section name");
	for (i = 0; i < n; i++)
		if (!is_name_char(s[i]))
			return fail(p, TL_ESYNTAX, "bad section name: "
				    "letters, digits, '-', '_' and '.' only");
	if (n == 3 && !strncasecmp(s, "all", 3))
		return fail(p, TL_ESYNTAX, "'all' is reserved for --lists");
	for (i = 0; i < p->out->n; i++)
		if (strlen(p->out->v[i].name) == n &&
		    !strncasecmp(p->out->v[i].name, s, n))
			return fail(p, TL_EDUP, "[%.*s] given twice (line %u)",
				    (int)n, s, p->out->v[i].line);
	if (p->out->n >= TL_LISTS_MAX)
		return fail(p, TL_ELIMIT, "more than %u lists", TL_LISTS_MAX);
	v = tl_reallocarray(p->out->v, p->out->n + 1, sizeof(*v));
	if (!v)
		return fail(p, TL_ENOMEM, "out of memory");
	p->out->v = v;
	l = &v[p->out->n];
	memset(l, 0, sizeof(*l));
	l->name = dup_n(s, n);
	if (!l->name)
		return fail(p, TL_ENOMEM, "out of memory");
	p->out->n++;
	l->families = CHECK_FAM4;
	l->timeout_ms = TL_CHECK_TIMEOUT_MS_DEFAULT;
	l->retries = TL_CHECK_RETRIES_DEFAULT;
	l->test = true;
	l->dflt = true;
	l->line = p->line;
	p->cur = l;
	p->seen = 0;
	return 0;
}

static int add_code(struct parser *p, const char *addr, bool error,
		    const char *meaning)
{
	struct check_list *l = p->cur;
	struct check_code *c;
	uint32_t a, i;

	if (parse_v4(addr, strlen(addr), &a) < 0)
		return fail(p, TL_ESYNTAX, "'%s': not an IPv4 address",
			    addr);
	if ((a >> 24) != 127)
		return fail(p, TL_ESYNTAX, "%s: answers are in 127.0.0.0/8 "
			    "(RFC 5782 2.1)", addr);
	for (i = 0; i < l->ncodes; i++)
		if (l->codes[i].a == a)
			return fail(p, TL_EDUP, "%s given twice", addr);
	if (l->ncodes >= TL_LISTS_CODES_MAX)
		return fail(p, TL_ELIMIT, "more than %u codes",
			    TL_LISTS_CODES_MAX);
	if (strlen(meaning) > TL_LISTS_MEANING_MAX)
		return fail(p, TL_ETOOLONG, "meaning longer than %u bytes",
			    TL_LISTS_MEANING_MAX);
	c = tl_reallocarray(l->codes, l->ncodes + 1, sizeof(*c));
	if (!c)
		return fail(p, TL_ENOMEM, "out of memory");
	l->codes = c;
	c = &c[l->ncodes];
	c->a = a;
	c->error = error;
	c->meaning = dup_n(meaning, strlen(meaning));
	if (!c->meaning)
		return fail(p, TL_ENOMEM, "out of memory");
	l->ncodes++;
	return 0;
}

static int once(struct parser *p, const char *key, uint32_t bit)
{
	if (p->seen & bit)
		return fail(p, TL_EDUP, "%s given twice", key);
	p->seen |= bit;
	return 0;
}

static int set_key(struct parser *p, char *key, char *val)
{
	struct check_list *l = p->cur;
	char res[RESOLVER_MAX + 8];
	size_t n = strlen(val);
	char *w, *save = NULL;
	int rc;

	if (!l)
		return fail(p, TL_ESYNTAX, "'%s' before any [list] section",
			    key);
	if (!is_text(val, n))
		return fail(p, TL_ESYNTAX, "control characters or bad UTF-8 "
			    "in the value");
	if (!strncasecmp(key, "code.", 5))
		return add_code(p, key + 5, false, val);
	if (!strncasecmp(key, "error.", 6))
		return add_code(p, key + 6, true, val);
	if (!strcasecmp(key, "zone")) {
		if ((rc = once(p, key, K_ZONE)) < 0)
			return rc;
		if (n > 1 && val[n - 1] == '.')
			val[--n] = '\0';
		if (!is_zone(val, n))
			return fail(p, TL_ESYNTAX, "'%s': not a DNS zone "
				    "(labels of 1-63 letters, digits, '-'; "
				    "at most %u bytes)", val, ZONE_MAX);
		l->zone = dup_n(val, n);
		return l->zone ? 0 : fail(p, TL_ENOMEM, "out of memory");
	}
	if (!strcasecmp(key, "family")) {
		if ((rc = once(p, key, K_FAMILY)) < 0)
			return rc;
		l->families = 0;
		for (w = strtok_r(val, " \t,", &save); w;
		     w = strtok_r(NULL, " \t,", &save)) {
			if (!strcasecmp(w, "ipv4") || !strcmp(w, "4"))
				l->families |= CHECK_FAM4;
			else if (!strcasecmp(w, "ipv6") || !strcmp(w, "6"))
				l->families |= CHECK_FAM6;
			else
				return fail(p, TL_ESYNTAX, "family '%s': "
					    "ipv4, ipv6 or both", w);
		}
		if (!l->families)
			return fail(p, TL_ESYNTAX, "family: ipv4, ipv6 or both");
		return 0;
	}
	if (!strcasecmp(key, "timeout")) {
		if ((rc = once(p, key, K_TIMEOUT)) < 0)
			return rc;
		if (parse_timeout(val, &l->timeout_ms) < 0)
			return fail(p, TL_ESYNTAX, "timeout '%s': 1ms to %us "
				    "(e.g. 500ms, 2s)", val,
				    TL_CHECK_TIMEOUT_MS_MAX / 1000);
		return 0;
	}
	if (!strcasecmp(key, "retries")) {
		if ((rc = once(p, key, K_RETRIES)) < 0)
			return rc;
		if (parse_uint(val, TL_CHECK_RETRIES_MAX, &l->retries) < 0)
			return fail(p, TL_ESYNTAX, "retries '%s': 0 to %u",
				    val, TL_CHECK_RETRIES_MAX);
		return 0;
	}
	if (!strcasecmp(key, "txt") || !strcasecmp(key, "test") ||
	    !strcasecmp(key, "default")) {
		bool *b = !strcasecmp(key, "txt")    ? &l->txt
			  : !strcasecmp(key, "test") ? &l->test
						     : &l->dflt;
		uint32_t bit = b == &l->txt ? K_TXT
			       : b == &l->test ? K_TEST : K_DEFAULT;

		if ((rc = once(p, key, bit)) < 0)
			return rc;
		if (parse_bool(val, b) < 0)
			return fail(p, TL_ESYNTAX, "%s '%s': yes or no", key,
				    val);
		return 0;
	}
	if (!strcasecmp(key, "resolver")) {
		if ((rc = once(p, key, K_RESOLVER)) < 0)
			return rc;
		if (check_resolver_parse(val, res, sizeof(res)) < 0)
			return fail(p, TL_ESYNTAX, "resolver '%s': ADDR, "
				    "ADDR:PORT or [IPV6]:PORT", val);
		l->resolver = dup_n(res, strlen(res));
		return l->resolver ? 0 : fail(p, TL_ENOMEM, "out of memory");
	}
	if (!strcasecmp(key, "sets")) {
		if ((rc = once(p, key, K_SETS)) < 0)
			return rc;
		for (w = val; *w; w++) {
			if (*w == ',' || *w == '\t')
				*w = ' ';
			else if (*w != ' ' && !is_name_char(*w))
				return fail(p, TL_ESYNTAX, "sets: names of "
					    "letters, digits, '-', '_', '.'");
		}
		l->sets = dup_n(val, n);
		return l->sets ? 0 : fail(p, TL_ENOMEM, "out of memory");
	}
	if (!strcasecmp(key, "decode")) {
		if ((rc = once(p, key, K_DECODE)) < 0)
			return rc;
		if (!strcasecmp(val, "codes"))
			l->decode = CHECK_DECODE_CODES;
		else if (!strcasecmp(val, "hist"))
			l->decode = CHECK_DECODE_HIST;
		else
			return fail(p, TL_ESYNTAX, "decode '%s': codes or hist",
				    val);
		return 0;
	}
	return fail(p, TL_ESYNTAX, "unknown key '%s'", key);
}

/* One line, without its newline; @s is a writable copy. */
static int parse_line(struct parser *p, char *s, size_t n)
{
	char *key, *val, *eq, *c;
	size_t i;

	while (n && (is_space(s[n - 1]) || s[n - 1] == '\r'))
		s[--n] = '\0';
	while (n && is_space(*s)) {
		s++;
		n--;
	}
	if (n == 0 || *s == ';' || *s == '#')
		return 0;
	if (memchr(s, '\0', n))
		return fail(p, TL_ESYNTAX, "NUL byte");
	if (*s == '[') {
		if (s[n - 1] != ']')
			return fail(p, TL_ESYNTAX, "'[' without ']'");
		return start_section(p, s + 1, n - 2);
	}
	eq = strchr(s, '=');
	if (!eq)
		return fail(p, TL_ESYNTAX, "neither [section] nor key = value");
	*eq = '\0';
	key = s;
	val = eq + 1;
	for (i = strlen(key); i && is_space(key[i - 1]); i--)
		key[i - 1] = '\0';
	if (!*key)
		return fail(p, TL_ESYNTAX, "no key before '='");
	for (c = key; *c; c++)
		if (!is_name_char(*c))
			return fail(p, TL_ESYNTAX, "bad key");
	while (is_space(*val))
		val++;
	/* An inline comment starts at " ;" or " #" (as in inih). */
	for (c = val; *c; c++) {
		if ((*c == ';' || *c == '#') && c > val && is_space(c[-1])) {
			*c = '\0';
			break;
		}
	}
	for (i = strlen(val); i && is_space(val[i - 1]); i--)
		val[i - 1] = '\0';
	return set_key(p, key, val);
}

int check_lists_parse(const char *text, size_t len, const char *path,
		      struct check_lists *out, char *err, size_t errsize)
{
	struct parser p = {path ? path : "(lists)", 0, err, errsize, out,
			   NULL, 0};
	char line[TL_LISTS_LINE_MAX + 1];
	const char *s = text, *end = text + len, *nl;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (errsize)
		err[0] = '\0';
	if (len > TL_LISTS_FILE_MAX) {
		rc = fail(&p, TL_ETOOLONG, "larger than %u bytes",
			  TL_LISTS_FILE_MAX);
		goto out;
	}
	while (s < end) {
		size_t n;

		p.line++;
		nl = memchr(s, '\n', (size_t)(end - s));
		n = (size_t)((nl ? nl : end) - s);
		if (n > TL_LISTS_LINE_MAX) {
			rc = fail(&p, TL_ETOOLONG, "line longer than %u bytes",
				  TL_LISTS_LINE_MAX);
			goto out;
		}
		memcpy(line, s, n);
		line[n] = '\0';
		rc = parse_line(&p, line, n);
		if (rc < 0)
			goto out;
		s = nl ? nl + 1 : end;
	}
	rc = end_section(&p);
out:
	if (rc < 0)
		check_lists_free(out);
	return rc;
}

int check_lists_load(const char *path, struct check_lists *out, char *err,
		     size_t errsize)
{
	FILE *f = fopen(path, "rb");
	char *text;
	size_t n;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!f) {
		rc = errno == ENOENT ? TL_ENOENT : -errno;
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		return rc;
	}
	text = tl_calloc(1, TL_LISTS_FILE_MAX + 1);
	if (!text) {
		fclose(f);
		snprintf(err, errsize, "%s: out of memory", path);
		return TL_ENOMEM;
	}
	n = fread(text, 1, TL_LISTS_FILE_MAX + 1, f);
	if (ferror(f)) {
		snprintf(err, errsize, "%s: read error", path);
		rc = TL_EIO;
	} else {
		rc = check_lists_parse(text, n, path, out, err, errsize);
	}
	fclose(f);
	tl_free(text);
	return rc;
}

const struct check_code *check_list_code(const struct check_list *l,
					 uint32_t a)
{
	uint32_t i;

	for (i = 0; i < l->ncodes; i++)
		if (l->codes[i].a == a)
			return &l->codes[i];
	return NULL;
}

const char *check_list_meaning(const struct check_list *l, uint32_t a,
			       char *buf, size_t size)
{
	static const char *const kinds[] = {"spam", "dictionary", "auth",
					    "malware", "persistent"};
	const struct check_code *c = check_list_code(l, a);
	unsigned y = a >> 16 & 255, d = a >> 8 & 255, k = a & 255, i;
	size_t o;
	int w;

	if (c)
		return c->meaning;
	if (l->decode != CHECK_DECODE_HIST || (a >> 24) != 127)
		return "listed (code not in lists.conf)";
	/* DESIGN.md: Y whole years between first and last seen, D days
	 * since last seen (both at most 255), K a bitmask of kinds. */
	w = snprintf(buf, size, "seen over %s%u year%s, last %s%u day%s ago:",
		     y == 255 ? ">= " : "", y, y == 1 ? "" : "s",
		     d == 255 ? ">= " : "", d, d == 1 ? "" : "s");
	o = w < 0 ? 0 : (size_t)w < size ? (size_t)w : size - 1;
	for (i = 0; i < 5; i++) {
		if (!(k & 1u << i))
			continue;
		w = snprintf(buf + o, size - o, " %s", kinds[i]);
		o = w < 0 ? o : o + (size_t)w < size ? o + (size_t)w : size - 1;
	}
	if (!(k & 31) && o + 1 < size)
		snprintf(buf + o, size - o, " no kind");
	return buf;
}

bool check_is_error(const struct check_list *l, uint32_t a)
{
	const struct check_code *c = check_list_code(l, a);

	if (c)
		return c->error;
	return (a >> 8) == 0x7fffffu || (a >> 24) != 127;
}

static bool in_words(const char *words, const char *w, size_t n)
{
	const char *s = words;

	while (s && *s) {
		size_t k;

		while (*s == ' ')
			s++;
		k = strcspn(s, " ");
		if (k == n && k && !strncasecmp(s, w, n))
			return true;
		s += k;
	}
	return false;
}

int check_lists_select(const struct check_lists *l, const char *spec,
		       bool *sel, char *err, size_t errsize)
{
	const char *s = spec;
	uint32_t i;
	int count = 0;

	for (i = 0; i < l->n; i++)
		sel[i] = !spec && l->v[i].dflt;
	while (s && *s) {
		size_t n;
		bool hit = false;

		s += strspn(s, " ,\t");
		n = strcspn(s, " ,\t");
		if (!n)
			break;
		for (i = 0; i < l->n; i++) {
			if ((n == 3 && !strncasecmp(s, "all", 3)) ||
			    (strlen(l->v[i].name) == n &&
			     !strncasecmp(l->v[i].name, s, n)) ||
			    in_words(l->v[i].sets, s, n)) {
				sel[i] = true;
				hit = true;
			}
		}
		if (!hit && !(n == 3 && !strncasecmp(s, "all", 3))) {
			snprintf(err, errsize, "--lists: no list or set '%.*s'",
				 (int)(n > 64 ? 64 : n), s);
			return TL_ESYNTAX;
		}
		s += n;
	}
	for (i = 0; i < l->n; i++)
		count += sel[i];
	return count;
}

int check_qname(const struct tl_ip *ip, const char *zone, char *out,
		size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, zl = strlen(zone);
	int i;

	if (ip->family == 4) {
		int w = snprintf(out, size, "%u.%u.%u.%u.%s", ip->a[3],
				 ip->a[2], ip->a[1], ip->a[0], zone);

		return w < 0 || (size_t)w >= size ? TL_ETOOLONG : w;
	}
	if (size < 64 + zl + 1)
		return TL_ETOOLONG;
	for (i = 15; i >= 0; i--) {
		out[o++] = hex[ip->a[i] & 15];
		out[o++] = '.';
		out[o++] = hex[ip->a[i] >> 4];
		out[o++] = '.';
	}
	memcpy(out + o, zone, zl + 1);
	return (int)(o + zl);
}
