/* SPDX-License-Identifier: MIT */
/* header.c -- walking the header section of a message (RFC 5322 2.2) */
#include <string.h>
#include <strings.h>

#include "mail.h"

/* Length of the line at @p, without its end (LF or CRLF); *@next is the
 * start of the line after it (or @end). */
static size_t line_at(const char *p, const char *end, const char **next)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	size_t len;

	if (!nl) {
		*next = end;
		return (size_t)(end - p);
	}
	*next = nl + 1;
	len = (size_t)(nl - p);
	if (len && p[len - 1] == '\r')
		len--;
	return len;
}

void mail_hdr_begin(struct mail_hdr_iter *it, const char *msg, size_t len)
{
	it->p = msg;
	it->end = msg + len;
	it->done = len == 0;
}

/* A field name is printable US-ASCII but ':' (RFC 5322 3.6.8); a line with
 * none before its colon is not a field. Returns the name length, or 0. */
static size_t field_name(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == ':')
			return i;
		if (c <= 32 || c >= 127)
			return 0;
	}
	return 0;
}

/*
 * Reads untrusted bytes in [it->p, it->end) only. A line that is neither a
 * field nor a continuation ends the header section (and is left to the
 * body), as does an empty line.
 */
bool mail_hdr_next(struct mail_hdr_iter *it, const char **name, size_t *nlen,
		   const char **value, size_t *vlen)
{
	const char *next, *vend;
	size_t len, n;

	while (!it->done) {
		len = line_at(it->p, it->end, &next);
		if (len == 0) {
			it->done = true;
			return false;
		}
		n = field_name(it->p, len);
		if (n == 0) {
			if (it->p[0] == ' ' || it->p[0] == '\t') {
				/* A stray continuation with no field: skip. */
				it->p = next;
				it->done = it->p >= it->end;
				continue;
			}
			it->done = true;
			return false;
		}
		*name = it->p;
		*nlen = n;
		*value = it->p + n + 1;
		vend = it->p + len;
		it->p = next;
		/* Continuation lines start with WSP. */
		while (it->p < it->end && (*it->p == ' ' || *it->p == '\t')) {
			len = line_at(it->p, it->end, &next);
			vend = it->p + len;
			it->p = next;
		}
		*vlen = (size_t)(vend - *value);
		it->done = it->p >= it->end;
		return true;
	}
	return false;
}

size_t mail_body_offset(const char *msg, size_t len)
{
	struct mail_hdr_iter it;
	const char *n, *v;
	size_t nl, vl, o;

	mail_hdr_begin(&it, msg, len);
	while (mail_hdr_next(&it, &n, &nl, &v, &vl))
		;
	o = (size_t)(it.p - msg);
	/* Step over the blank line that ended the header, if it is there. */
	if (o < len && msg[o] == '\r' && o + 1 < len && msg[o + 1] == '\n')
		return o + 2;
	if (o < len && msg[o] == '\n')
		return o + 1;
	return o;
}

size_t mail_unfold(const char *v, size_t vlen, char *out, size_t cap)
{
	size_t i, o = 0;
	bool space = false;

	if (cap == 0)
		return 0;
	for (i = 0; i < vlen && o + 1 < cap; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			space = o > 0;
			continue;
		}
		if (c < 32 || c == 127)
			continue;
		if (space) {
			out[o++] = ' ';
			space = false;
			if (o + 1 >= cap)
				break;
		}
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return o;
}

bool mail_hdr_is(const char *name, size_t nlen, const char *want)
{
	return strlen(want) == nlen && strncasecmp(name, want, nlen) == 0;
}
