/* SPDX-License-Identifier: MIT */
/* smtp_data.c -- the DATA reader: unstuffing, end of message, the tells
 *
 * A state machine over lines, so that a message split at any byte gives
 * the same result as one read whole. Inside a line the bytes are moved in
 * runs found with memchr, so the cost per byte is a copy, not a branch.
 */
#include <string.h>

#include "smtp.h"

enum {
	D_BOL = 0, /* at the start of a line */
	D_LINE,    /* inside a line, the last byte not CR */
	D_LINE_CR, /* inside a line, the last byte CR */
	D_DOT,     /* a line began with '.', which is dropped */
	D_DOT_CR,  /* ... then CR, held back: ".\r\n" ends the message */
	D_DONE,    /* the end was found */
};

void smtp_data_begin(struct smtp_data *d, char *buf, size_t cap)
{
	memset(d, 0, sizeof(*d));
	d->buf = buf;
	d->cap = cap;
	d->state = D_BOL;
}

/* Keep what fits, count everything. */
static void emit(struct smtp_data *d, const char *s, size_t n)
{
	size_t room = d->cap - d->len;

	if (n < room)
		room = n;
	if (room) {
		memcpy(d->buf + d->len, s, room);
		d->len += room;
	}
	d->size += n;
}

/* Count raw octets of the current line, the terminator included
 * (RFC 5321 4.5.3.1.6); saturates past the limit. */
static void count_line(struct smtp_data *d, size_t n)
{
	if (d->line_len > SMTP_TEXT_LINE_MAX ||
	    n > SMTP_TEXT_LINE_MAX - d->line_len) {
		d->long_line = true;
		d->line_len = SMTP_TEXT_LINE_MAX + 1;
	} else {
		d->line_len += n;
	}
}

/* A LF ends the current line, which is part of the message. */
static void end_line(struct smtp_data *d, bool after_cr)
{
	if (!after_cr)
		d->bare_lf = true;
	count_line(d, 1);
	emit(d, "\n", 1);
	d->state = D_BOL;
	d->line_len = 0;
}

/*
 * Reads @len untrusted bytes of a message. Checks nothing it could refuse:
 * every byte is message or terminator. Guarantees: at most @cap bytes are
 * written to buf; the bytes after the terminating line are not consumed.
 * RFC 5321 4.5.2: a line starting with '.' loses it; "." alone ends the
 * message, whether its line and the one before end in CRLF or a bare LF.
 */
size_t smtp_data_feed(struct smtp_data *d, const char *in, size_t len,
		      bool *done)
{
	size_t i = 0;

	while (i < len && d->state != D_DONE) {
		unsigned char b = (unsigned char)in[i];
		const char *nl;
		size_t run;

		switch (d->state) {
		case D_BOL:
			if (b == '.') {
				count_line(d, 1);
				d->state = D_DOT;
				i++;
				continue;
			}
			d->state = D_LINE;
			break;
		case D_DOT:
			if (b == '\n') {
				d->bare_lf = true;
				d->state = D_DONE;
				i++;
				continue;
			}
			if (b == '\r') {
				count_line(d, 1);
				d->state = D_DOT_CR;
				i++;
				continue;
			}
			d->state = D_LINE;
			break;
		case D_DOT_CR:
			if (b == '\n') {
				d->state = D_DONE;
				i++;
				continue;
			}
			/* ".\rX": the CR was content; X continues the line. */
			emit(d, "\r", 1);
			d->state = D_LINE_CR;
			break;
		default:
			break;
		}

		/* D_LINE or D_LINE_CR at in[i]: take the run up to the LF. */
		nl = memchr(in + i, '\n', len - i);
		run = nl ? (size_t)(nl - (in + i)) : len - i;
		if (run) {
			if (!d->nul && memchr(in + i, '\0', run))
				d->nul = true;
			count_line(d, run);
			emit(d, in + i, run);
			d->state = in[i + run - 1] == '\r' ? D_LINE_CR : D_LINE;
			i += run;
		}
		if (nl) {
			end_line(d, d->state == D_LINE_CR);
			i++;
		}
	}
	*done = d->state == D_DONE;
	return i;
}
