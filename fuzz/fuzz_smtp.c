/* SPDX-License-Identifier: MIT */
/* fuzz_smtp.c -- command lines, XCLIENT and the DATA reader
 *
 * 1. smtp_parse_command on the first SMTP_CMD_LINE_MAX bytes: strings
 *    NUL-terminated in bounds, pointers inside the line, domain lower
 *    case, verb and result in range; an accepted MAIL/RCPT path written
 *    back canonically parses to the same path.
 * 2. xclient_parse on the same bytes: same checks on what it fills.
 * 3. The DATA reader over the whole input, all at once, in two pieces at
 *    a cut chosen by the first byte, and one byte at a time, must agree
 *    with each other and with a naive line-by-line model of RFC 5321
 *    4.5.2 written here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "fuzz_smtp: check failed: %s (line %d)\n", \
				#cond, __LINE__);                            \
			abort();                                             \
		}                                                            \
	} while (0)

static bool in_line(const char *p, size_t n, const char *line, size_t len)
{
	return p >= line && p <= line + len && n <= (size_t)(line + len - p);
}

static bool has_upper(const char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			return true;
	return false;
}

/* A local part that must be quoted to be sent back. */
static bool needs_quotes(const char *s)
{
	const char *atext = "!#$%&'*+-/=?^_`{|}~";
	bool dot_ok = false;

	if (!*s)
		return true;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '.') {
			if (!dot_ok)
				return true;
			dot_ok = false;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c >= 0x80 || strchr(atext, c)))
			return true;
		dot_ok = true;
	}
	return !dot_ok;
}

/* Write the path back as a client would, and parse it again. */
static void round_trip(const struct smtp_cmd *c)
{
	char line[SMTP_CMD_LINE_MAX + 1];
	const char *s;
	struct smtp_cmd again;
	size_t n;

	n = (size_t)snprintf(line, sizeof(line), "%s:<",
			     c->verb == SMTP_MAIL ? "MAIL FROM" : "RCPT TO");
	if (!c->path.null) {
		if (needs_quotes(c->path.local)) {
			line[n++] = '"';
			for (s = c->path.local; *s; s++) {
				if (*s == '"' || *s == '\\')
					line[n++] = '\\';
				line[n++] = *s;
			}
			line[n++] = '"';
		} else {
			n += (size_t)snprintf(line + n, sizeof(line) - n, "%s",
					      c->path.local);
		}
		if (c->path.domain[0])
			n += (size_t)snprintf(line + n, sizeof(line) - n,
					      "@%s", c->path.domain);
	}
	line[n++] = '>';
	CHECK(n <= SMTP_CMD_LINE_MAX);
	CHECK(smtp_parse_command(line, n, &again) == SMTP_OK);
	CHECK(again.verb == c->verb);
	CHECK(again.path.null == c->path.null);
	CHECK(strcmp(again.path.local, c->path.local) == 0);
	CHECK(strcmp(again.path.domain, c->path.domain) == 0);
}

static void check_command(const char *line, size_t len)
{
	struct smtp_cmd c;
	enum smtp_perr r = smtp_parse_command(line, len, &c);

	CHECK(r >= SMTP_OK && r <= SMTP_E_SENDER);
	CHECK(c.verb >= SMTP_UNKNOWN && c.verb <= SMTP_BDAT);
	CHECK(smtp_parse_command(line, len, &c) == r);
	CHECK(smtp_perr_reply(r) != NULL);
	CHECK(c.arg != NULL);
	CHECK(in_line(c.arg, c.arglen, line, len) ||
	      (c.arglen == 0 && c.arg[0] == '\0'));
	CHECK(memchr(c.path.local, '\0', sizeof(c.path.local)));
	CHECK(memchr(c.path.domain, '\0', sizeof(c.path.domain)));
	CHECK(memchr(c.auth_mech, '\0', sizeof(c.auth_mech)));
	if (r != SMTP_OK)
		return;
	CHECK(c.verb != SMTP_UNKNOWN);
	CHECK(!has_upper(c.path.domain));
	if (c.auth_initial)
		CHECK(in_line(c.auth_initial, c.auth_initial_len, line, len));
	if (c.verb == SMTP_AUTH) {
		CHECK(c.auth_mech[0] != '\0');
		CHECK(!strpbrk(c.auth_mech, "abcdefghijklmnopqrstuvwxyz"));
	}
	if (c.verb == SMTP_MAIL || c.verb == SMTP_RCPT) {
		CHECK(!c.path.null || c.verb == SMTP_MAIL);
		CHECK(c.path.null || c.path.domain[0] ||
		      strcasecmp(c.path.local, "postmaster") == 0);
		round_trip(&c);
	}
}

static void check_xclient(const char *arg, size_t len)
{
	struct xclient_info x;

	if (xclient_parse(arg, len, &x) != 0)
		return;
	CHECK(memchr(x.helo, '\0', sizeof(x.helo)));
	CHECK(memchr(x.name, '\0', sizeof(x.name)));
	if (x.has_addr) {
		static const uint8_t zero[12];

		CHECK(x.addr.family == 4 || x.addr.family == 6);
		if (x.addr.family == 4)
			CHECK(memcmp(x.addr.a + 4, zero, 12) == 0);
	}
}

/* The model: the input cut into lines at LF; a line "." (CRLF or LF)
 * ends the message; a leading dot is dropped; a line (as sent, its
 * terminator included) over SMTP_TEXT_LINE_MAX is long. */
struct model {
	size_t consumed, len;
	uint64_t size;
	bool done, bare_lf, long_line, nul;
};

static void model_run(const char *in, size_t n, char *buf, size_t cap,
		      struct model *m)
{
	size_t pos = 0;

	memset(m, 0, sizeof(*m));
	while (pos < n) {
		const char *nl = memchr(in + pos, '\n', n - pos);
		size_t end = nl ? (size_t)(nl - in) + 1 : n, i;
		size_t start = pos, stop = end;

		if (end - pos > SMTP_TEXT_LINE_MAX)
			m->long_line = true;
		if (nl && (size_t)(nl - in) > pos && nl[-1] != '\r')
			m->bare_lf = true;
		if (nl && (size_t)(nl - in) == pos)
			m->bare_lf = true;
		if (nl && in[pos] == '.' &&
		    (end - pos == 2 || (end - pos == 3 && in[pos + 1] == '\r'))) {
			m->done = true;
			m->consumed = end;
			return;
		}
		if (in[pos] == '.')
			start++;
		/* An unended ".\r" holds its CR back: it may be the end. */
		if (!nl && end - pos == 2 && in[pos] == '.' &&
		    in[pos + 1] == '\r')
			stop--;
		for (i = start; i < stop; i++) {
			if (in[i] == '\0')
				m->nul = true;
			if (m->len < cap)
				buf[m->len++] = in[i];
			m->size++;
		}
		pos = end;
	}
	m->consumed = n;
}

struct reader {
	struct smtp_data d;
	size_t consumed;
	bool done;
};

static void same(const struct reader *a, const struct reader *b)
{
	CHECK(a->consumed == b->consumed && a->done == b->done);
	CHECK(a->d.len == b->d.len && a->d.size == b->d.size);
	CHECK(a->d.state == b->d.state && a->d.line_len == b->d.line_len);
	CHECK(a->d.bare_lf == b->d.bare_lf);
	CHECK(a->d.long_line == b->d.long_line && a->d.nul == b->d.nul);
	CHECK(memcmp(a->d.buf, b->d.buf, a->d.len) == 0);
}

#define DATA_CAP 512

static void check_data(const char *in, size_t n, size_t cut)
{
	static char b1[DATA_CAP], b2[DATA_CAP], b3[DATA_CAP], bm[DATA_CAP];
	struct reader one, two, bytes;
	struct model m;
	size_t got;

	smtp_data_begin(&one.d, b1, DATA_CAP);
	one.consumed = smtp_data_feed(&one.d, in, n, &one.done);
	CHECK(one.consumed <= n);
	CHECK(one.done || one.consumed == n);
	CHECK(one.d.len <= DATA_CAP && one.d.len <= one.d.size);

	smtp_data_begin(&two.d, b2, DATA_CAP);
	two.consumed = smtp_data_feed(&two.d, in, cut, &two.done);
	CHECK(two.done || two.consumed == cut);
	if (!two.done)
		two.consumed += smtp_data_feed(&two.d, in + cut, n - cut,
					       &two.done);
	same(&one, &two);

	smtp_data_begin(&bytes.d, b3, DATA_CAP);
	bytes.done = false;
	for (bytes.consumed = 0; bytes.consumed < n && !bytes.done;) {
		got = smtp_data_feed(&bytes.d, in + bytes.consumed, 1,
				     &bytes.done);
		CHECK(got == 1);
		bytes.consumed++;
	}
	same(&one, &bytes);

	model_run(in, n, bm, DATA_CAP, &m);
	CHECK(m.done == one.done && m.consumed == one.consumed);
	CHECK(m.len == one.d.len && m.size == one.d.size);
	CHECK(m.bare_lf == one.d.bare_lf && m.nul == one.d.nul);
	CHECK(m.long_line == one.d.long_line);
	CHECK(memcmp(bm, b1, m.len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	size_t n = size < SMTP_CMD_LINE_MAX ? size : SMTP_CMD_LINE_MAX;

	check_command(in, n);
	check_xclient(in, n);
	check_data(in, size,
		   size > 1 ? ((size_t)data[0] << 8 | data[1]) % (size + 1) : 0);
	return 0;
}
