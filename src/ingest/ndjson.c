/* SPDX-License-Identifier: MIT */
/* ndjson.c -- one JSON event object per line, parsed without allocation
 *
 * jansson builds a tree of allocated values: 5 us a line here, too slow for
 * the 300,000 events/s ingest target. This parser checks the full JSON
 * grammar in one pass and copies only the members an event needs. The
 * fuzz target checks it against jansson: whatever it accepts, jansson
 * accepts with the same values.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "tl_limits.h"
#include "parse.h"
#include "trapline/day.h"
#include "trapline/err.h"
#include "utf8.h"

struct cur {
	const char *p, *end;
	int err;            /* sticky: first error wins */
	const char *field; /* member being read, for the error */
};

static void fail(struct cur *c, int err)
{
	if (c->err == 0)
		c->err = err;
	c->p = c->end;
}

static void skip_ws(struct cur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' ||
				 *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static bool read_hex4(struct cur *c, unsigned *out)
{
	unsigned v = 0;
	int i, h;

	if (c->end - c->p < 4)
		return false;
	for (i = 0; i < 4; i++) {
		h = hexval(c->p[i]);
		if (h < 0)
			return false;
		v = v << 4 | (unsigned)h;
	}
	c->p += 4;
	*out = v;
	return true;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * A string (the opening quote already read). Decoded into @buf when given,
 * which must hold @size bytes; a longer value sets TL_ETOOLONG (after the
 * grammar check, so a grammar error wins). Returns the decoded length.
 * A decoded NUL (\u0000) is refused: no field of ours may hold one.
 */
static size_t read_string_t(struct cur *c, char *buf, size_t size,
			    bool *trunc)
{
	size_t n = 0, k;
	bool toolong = false;
	char tmp[4];
	unsigned cp, lo;

	while (c->p < c->end) {
		unsigned char ch = (unsigned char)*c->p;
		const char *src, *run = c->p;

		/* Fast path: a stretch of plain ASCII is copied at once. */
		while (c->p < c->end && (unsigned char)*c->p >= 0x20 &&
		       (unsigned char)*c->p < 0x80 && *c->p != '"' &&
		       *c->p != '\\')
			c->p++;
		if (c->p > run) {
			k = (size_t)(c->p - run);
			src = run;
			goto copy;
		}
		if (ch == '"') {
			c->p++;
			if (toolong && trunc)
				*trunc = true;
			else if (toolong)
				fail(c, TL_ETOOLONG);
			if (buf)
				buf[toolong ? 0 : n] = '\0';
			return n;
		}
		if (ch < 0x20)
			break;
		if (ch == '\\') {
			if (c->end - c->p < 2)
				break;
			c->p += 2;
			switch (c->p[-1]) {
			case '"':
			case '\\':
			case '/':
				cp = (unsigned char)c->p[-1];
				break;
			case 'b':
				cp = '\b';
				break;
			case 'f':
				cp = '\f';
				break;
			case 'n':
				cp = '\n';
				break;
			case 'r':
				cp = '\r';
				break;
			case 't':
				cp = '\t';
				break;
			case 'u':
				if (!read_hex4(c, &cp))
					goto bad;
				if (cp >= 0xdc00 && cp <= 0xdfff)
					goto bad;
				if (cp >= 0xd800 && cp <= 0xdbff) {
					if (c->end - c->p < 6 || c->p[0] != '\\' ||
					    c->p[1] != 'u')
						goto bad;
					c->p += 2;
					if (!read_hex4(c, &lo) || lo < 0xdc00 ||
					    lo > 0xdfff)
						goto bad;
					cp = 0x10000 + ((cp - 0xd800) << 10) +
					     (lo - 0xdc00);
				}
				if (cp == 0)
					goto bad;
				break;
			default:
				goto bad;
			}
			k = put_utf8(tmp, cp);
			src = tmp;
		} else {
			k = tl_utf8_len((const unsigned char *)c->p,
				     (const unsigned char *)c->end);
			if (k == 0)
				goto bad;
			src = c->p;
			c->p += k;
		}
copy:
		if (buf && !toolong) {
			if (n + k >= size)
				toolong = true;
			else
				memcpy(buf + n, src, k);
		}
		n += k;
	}
bad:
	fail(c, TL_ESYNTAX);
	return 0;
}

static size_t read_string(struct cur *c, char *buf, size_t size)
{
	return read_string_t(c, buf, size, NULL);
}

/* A number's text, checked against RFC 8259 6. Sets *@integer when it has
 * no fraction or exponent. */
static void read_number(struct cur *c, const char **start, size_t *len,
			bool *integer)
{
	const char *s = c->p;

	*integer = true;
	if (c->p < c->end && *c->p == '-')
		c->p++;
	if (c->p < c->end && *c->p == '0') {
		c->p++;
	} else if (c->p < c->end && *c->p >= '1' && *c->p <= '9') {
		while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
			c->p++;
	} else {
		fail(c, TL_ESYNTAX);
		return;
	}
	if (c->p < c->end && *c->p == '.') {
		*integer = false;
		c->p++;
		if (c->p >= c->end || *c->p < '0' || *c->p > '9') {
			fail(c, TL_ESYNTAX);
			return;
		}
		while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
			c->p++;
	}
	if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
		*integer = false;
		c->p++;
		if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
			c->p++;
		if (c->p >= c->end || *c->p < '0' || *c->p > '9') {
			fail(c, TL_ESYNTAX);
			return;
		}
		while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
			c->p++;
	}
	*start = s;
	*len = (size_t)(c->p - s);
}

static bool read_literal(struct cur *c, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0) {
		fail(c, TL_ESYNTAX);
		return false;
	}
	c->p += n;
	return true;
}

static void skip_value(struct cur *c, int depth);

static void skip_container(struct cur *c, int depth, char close)
{
	bool first = true;

	if (depth >= TL_JSON_DEPTH_MAX) {
		fail(c, TL_ELIMIT);
		return;
	}
	c->p++;
	for (;;) {
		skip_ws(c);
		if (c->p >= c->end) {
			fail(c, TL_ESYNTAX);
			return;
		}
		if (*c->p == close && first) {
			c->p++;
			return;
		}
		if (close == '}') {
			if (*c->p != '"') {
				fail(c, TL_ESYNTAX);
				return;
			}
			c->p++;
			read_string(c, NULL, 0);
			skip_ws(c);
			if (c->p >= c->end || *c->p != ':') {
				fail(c, TL_ESYNTAX);
				return;
			}
			c->p++;
		}
		skip_value(c, depth + 1);
		if (c->err)
			return;
		skip_ws(c);
		if (c->p < c->end && *c->p == ',') {
			c->p++;
			first = false;
			continue;
		}
		if (c->p < c->end && *c->p == close) {
			c->p++;
			return;
		}
		fail(c, TL_ESYNTAX);
		return;
	}
}

static void skip_value(struct cur *c, int depth)
{
	const char *s;
	size_t n;
	bool integer;

	skip_ws(c);
	if (c->p >= c->end) {
		fail(c, TL_ESYNTAX);
		return;
	}
	switch (*c->p) {
	case '"':
		c->p++;
		read_string(c, NULL, 0);
		return;
	case '{':
		skip_container(c, depth, '}');
		return;
	case '[':
		skip_container(c, depth, ']');
		return;
	case 't':
		read_literal(c, "true");
		return;
	case 'f':
		read_literal(c, "false");
		return;
	case 'n':
		read_literal(c, "null");
		return;
	default:
		read_number(c, &s, &n, &integer);
		return;
	}
}

/* Member handlers: the cursor is at the value. */

static bool at_null(struct cur *c)
{
	if (c->p < c->end && *c->p == 'n') {
		read_literal(c, "null");
		return true;
	}
	return false;
}

static bool want_string(struct cur *c, char *buf, size_t size, size_t *len)
{
	if (c->p >= c->end || *c->p != '"') {
		skip_value(c, 1);
		fail(c, TL_ETYPE);
		return false;
	}
	c->p++;
	*len = read_string(c, buf, size);
	return c->err == 0;
}

/* A non-negative integer no larger than @max. */
static bool want_uint(struct cur *c, uint64_t max, uint64_t *out)
{
	const char *s;
	size_t n, i;
	bool integer;
	uint64_t v = 0;

	if (c->p >= c->end || !(*c->p == '-' || (*c->p >= '0' && *c->p <= '9'))) {
		skip_value(c, 1);
		fail(c, TL_ETYPE);
		return false;
	}
	read_number(c, &s, &n, &integer);
	if (c->err)
		return false;
	if (!integer || s[0] == '-') {
		fail(c, TL_ECOUNT);
		return false;
	}
	for (i = 0; i < n; i++) {
		uint64_t d = (uint64_t)(s[i] - '0');

		if (v > (max - d) / 10) {
			fail(c, TL_ECOUNT);
			return false;
		}
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static void member_time(struct cur *c, struct tl_event *ev)
{
	char buf[48];
	const char *s;
	size_t n;
	bool integer;

	if (c->p < c->end && *c->p == '"') {
		if (!want_string(c, buf, sizeof(buf), &n))
			return;
		if (tl_time_parse(buf, n, &ev->time) < 0)
			fail(c, TL_ETIME);
		return;
	}
	if (c->p < c->end && (*c->p == '-' || (*c->p >= '0' && *c->p <= '9'))) {
		read_number(c, &s, &n, &integer);
		if (c->err)
			return;
		/* Unix seconds; a fraction is dropped, an exponent refused. */
		if (!integer) {
			const char *dot = memchr(s, '.', n);

			if (!dot || memchr(s, 'e', n) || memchr(s, 'E', n)) {
				fail(c, TL_ETIME);
				return;
			}
			n = (size_t)(dot - s);
		}
		if (tl_time_parse(s, n, &ev->time) < 0)
			fail(c, TL_ETIME);
		return;
	}
	skip_value(c, 1);
	fail(c, TL_ETYPE);
}

static void member_tags(struct cur *c, struct tl_event *ev)
{
	char buf[TL_TAG_LEN_MAX + 1];
	size_t n;
	int rc;

	if (c->p >= c->end || *c->p != '[') {
		skip_value(c, 1);
		fail(c, TL_ETYPE);
		return;
	}
	c->p++;
	skip_ws(c);
	if (c->p < c->end && *c->p == ']') {
		c->p++;
		return;
	}
	for (;;) {
		skip_ws(c);
		if (!want_string(c, buf, sizeof(buf), &n)) {
			if (c->err == TL_ETOOLONG)
				c->err = TL_ETAG;
			return;
		}
		rc = tl_event_add_tag(ev, buf, n);
		if (rc < 0) {
			fail(c, rc);
			return;
		}
		skip_ws(c);
		if (c->p < c->end && *c->p == ',') {
			c->p++;
			continue;
		}
		if (c->p < c->end && *c->p == ']') {
			c->p++;
			return;
		}
		fail(c, TL_ESYNTAX);
		return;
	}
}

enum member {
	M_TIME,
	M_IP,
	M_KIND,
	M_COUNT,
	M_SENSOR,
	M_TAGS,
	M_HELO,
	M_FROM,
	M_RCPTS,
	M_SIZE,
	M_COUNT_OF,
};

static const char *const member_names[M_COUNT_OF] = {
	"time", "ip", "kind", "count", "sensor",
	"tags", "helo", "from", "rcpts", "size",
};
static const unsigned char member_lens[M_COUNT_OF] = {4, 2, 4, 5, 6,
						      4, 4, 4, 5, 4};

static void member_value(struct cur *c, enum member m, struct tl_event *ev)
{
	char buf[64];
	uint64_t v;
	size_t n;
	int rc;

	switch (m) {
	case M_TIME:
		member_time(c, ev);
		return;
	case M_IP:
		if (!want_string(c, buf, sizeof(buf), &n)) {
			if (c->err == TL_ETOOLONG)
				c->err = TL_EIP;
			return;
		}
		rc = tl_ip_parse(buf, n, &ev->ip);
		if (rc < 0)
			fail(c, rc == TL_ETOOLONG ? TL_EIP : rc);
		return;
	case M_KIND: {
		enum tl_kind k;

		if (!want_string(c, buf, sizeof(buf), &n)) {
			if (c->err == TL_ETOOLONG)
				c->err = TL_EKIND;
			return;
		}
		if (tl_kind_parse(buf, n, &k) < 0)
			fail(c, TL_EKIND);
		else
			ev->kind = (uint8_t)k;
		return;
	}
	case M_COUNT:
		if (want_uint(c, TL_EVENT_COUNT_MAX, &v)) {
			if (v == 0)
				fail(c, TL_ECOUNT);
			else
				ev->count = (uint32_t)v;
		}
		return;
	case M_SENSOR:
		want_string(c, ev->sensor, sizeof(ev->sensor), &n);
		return;
	case M_TAGS:
		member_tags(c, ev);
		return;
	case M_HELO:
		want_string(c, ev->helo, sizeof(ev->helo), &n);
		return;
	case M_FROM:
		want_string(c, ev->from, sizeof(ev->from), &n);
		return;
	case M_RCPTS:
		if (want_uint(c, UINT32_MAX, &v))
			ev->rcpts = (uint32_t)v;
		return;
	case M_SIZE:
		if (want_uint(c, INT64_MAX, &v))
			ev->size = v;
		return;
	case M_COUNT_OF:
		break;
	}
}

enum ingest_line ingest_ndjson_parse(const char *line, size_t len,
				     struct tl_event *ev,
				     struct ingest_err *err)
{
	struct cur c = {line, line + len, 0, NULL};
	unsigned seen = 0, given = 0; /* present with a value; named at all */
	char key[16];
	size_t klen;
	bool first = true, trunc;
	int m;

	tl_event_init(ev);
	err->code = 0;
	err->field = NULL;
	skip_ws(&c);
	if (c.p == c.end)
		return INGEST_SKIP;
	if (*c.p != '{') {
		fail(&c, TL_ESYNTAX);
		goto out;
	}
	c.p++;
	for (;;) {
		skip_ws(&c);
		if (c.p < c.end && *c.p == '}' && first) {
			c.p++;
			break;
		}
		if (c.p >= c.end || *c.p != '"') {
			fail(&c, TL_ESYNTAX);
			goto out;
		}
		c.p++;
		trunc = false;
		klen = read_string_t(&c, key, sizeof(key), &trunc);
		if (trunc)
			klen = sizeof(key); /* a long name is not one of ours */
		if (c.err)
			goto out;
		skip_ws(&c);
		if (c.p >= c.end || *c.p != ':') {
			fail(&c, TL_ESYNTAX);
			goto out;
		}
		c.p++;
		skip_ws(&c);
		for (m = 0; m < M_COUNT_OF; m++)
			if (member_lens[m] == klen &&
			    memcmp(member_names[m], key, klen) == 0)
				break;
		if (m == M_COUNT_OF) {
			skip_value(&c, 1);
		} else {
			c.field = member_names[m];
			if (given & (1u << m)) {
				fail(&c, TL_EDUP);
				goto out;
			}
			given |= 1u << m;
			if (!at_null(&c)) {
				seen |= 1u << m;
				member_value(&c, (enum member)m, ev);
			}
			if (c.err)
				goto out;
			c.field = NULL;
		}
		if (c.err)
			goto out;
		skip_ws(&c);
		if (c.p < c.end && *c.p == ',') {
			c.p++;
			first = false;
			continue;
		}
		if (c.p < c.end && *c.p == '}') {
			c.p++;
			break;
		}
		fail(&c, TL_ESYNTAX);
		goto out;
	}
	skip_ws(&c);
	if (c.p != c.end) {
		fail(&c, TL_ESYNTAX);
		goto out;
	}
	if (!(seen & (1u << M_TIME))) {
		c.field = "time";
		fail(&c, TL_EMISSING);
	} else if (!(seen & (1u << M_IP))) {
		c.field = "ip";
		fail(&c, TL_EMISSING);
	}
out:
	if (c.err) {
		err->code = c.err;
		err->field = c.field;
		return INGEST_BAD;
	}
	return INGEST_EVENT;
}
