/* SPDX-License-Identifier: MIT */
/* mbox.c -- the "mbox" format: messages between From_ lines, one event each
 *
 * An mbox (RFC 4155) is messages, each after a "From SENDER DATE" line;
 * MTAs quote body lines that start with "From " (">From "), and Postfix's
 * local and virtual delivery end each message with an empty line. A From_
 * line is taken as a separator at the start of the file or after an empty
 * line, so an unquoted "From " inside a paragraph does not split a message.
 */
#include <inttypes.h>
#include <string.h>

#include "ingest_int.h"
#include "tl_limits.h"
#include "trapline/alloc.h"
#include "trapline/day.h"
#include "trapline/err.h"
#include "trapline/log.h"

struct mbox {
	struct mail_opts mo;
	char *msg;         /* the message being read, at most TL_MESSAGE_MAX */
	size_t len, cap;   /* bytes held, allocated */
	uint64_t size;     /* its whole size (bytes) */
	bool open;         /* a message has started */
	bool prev_blank;   /* the line before was empty */
	bool warned;       /* "not an mbox" reported */
	int64_t from_time; /* the From_ line's date, -1 */
	uint64_t taken, skips[MAIL_SKIP_COUNT];
};

int ingest_mbox_open(const struct ingest_opts *o, void **state)
{
	struct mbox *m = tl_calloc(1, sizeof(*m));

	if (!m)
		return TL_ENOMEM;
	m->mo.relays = o->relays;
	m->mo.rules = o->rules;
	m->mo.sensor = o->sensor;
	m->mo.av = o->av;
	m->mo.fallback_time = -1;
	m->prev_blank = true;
	*state = m;
	return 0;
}

static bool digits(const char *s, size_t n, int *out)
{
	size_t i;
	int v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/*
 * The date of a From_ line, "... Www Mmm dd hh:mm:ss yyyy" (asctime, as
 * Postfix writes it; taken as UTC: it is only a fallback for messages
 * whose Received chain has no date). Reads @len bytes. -1 if none.
 */
static int64_t from_line_time(const char *s, size_t len)
{
	const char *p;
	int mon, day, h, mi, sec, y;

	/* "Mmm dd hh:mm:ss yyyy" is 20 bytes at the end ("Mmm  d" too). */
	while (len && (s[len - 1] == '\r' || s[len - 1] == ' '))
		len--;
	if (len < 20)
		return -1;
	p = s + len - 20;
	mon = tl_month_parse(p, 3, false);
	if (!mon || p[3] != ' ' || p[6] != ' ' || p[9] != ':' ||
	    p[12] != ':' || p[15] != ' ')
		return -1;
	if (p[4] == ' ' ? !digits(p + 5, 1, &day) : !digits(p + 4, 2, &day))
		return -1;
	if (!digits(p + 7, 2, &h) || !digits(p + 10, 2, &mi) ||
	    !digits(p + 13, 2, &sec) || !digits(p + 16, 4, &y))
		return -1;
	if (day < 1 || day > (int)tl_month_days(y, (unsigned)mon) || h > 23 ||
	    mi > 59 || sec > 60 || y < 1970)
		return -1;
	return (int64_t)tl_day_from_civil(y, (unsigned)mon, (unsigned)day) *
		       86400 + h * 3600 + mi * 60 + sec;
}

/* The message held is complete: make its event. */
static enum ingest_line finish(struct mbox *m, struct tl_event *ev)
{
	enum mail_skip why;

	if (!m->open)
		return INGEST_SKIP;
	m->open = false;
	m->mo.fallback_time = m->from_time;
	why = mail_message_event(m->msg, m->len, &m->mo, ev);
	m->len = 0;
	if (why != MAIL_TAKEN) {
		m->skips[why]++;
		return INGEST_SKIP;
	}
	ev->size = m->size;
	m->taken++;
	return INGEST_EVENT;
}

static int append(struct mbox *m, const char *line, size_t len)
{
	size_t need;

	m->size += len + 1;
	if (m->len >= TL_MESSAGE_MAX)
		return 0; /* counted, not kept */
	if (len > TL_MESSAGE_MAX - m->len)
		len = TL_MESSAGE_MAX - m->len;
	need = m->len + len + 1;
	if (need > m->cap) {
		size_t cap = m->cap ? m->cap : 65536;
		char *p;

		while (cap < need)
			cap *= 2;
		if (cap > TL_MESSAGE_MAX + 1)
			cap = TL_MESSAGE_MAX + 1;
		p = tl_reallocarray(m->msg, cap, 1);
		if (!p)
			return TL_ENOMEM;
		m->msg = p;
		m->cap = cap;
	}
	memcpy(m->msg + m->len, line, len);
	m->len += len;
	m->msg[m->len++] = '\n';
	return 0;
}

enum ingest_line ingest_mbox_feed(void *state, const char *line, size_t len,
				  struct tl_event *ev, struct ingest_err *err)
{
	struct mbox *m = state;
	enum ingest_line r = INGEST_SKIP;
	bool blank = len == 0 || (len == 1 && line[0] == '\r');

	if (len >= 5 && memcmp(line, "From ", 5) == 0 && m->prev_blank) {
		r = finish(m, ev);
		m->open = true;
		m->size = 0;
		m->from_time = from_line_time(line, len);
		m->prev_blank = false;
		return r;
	}
	m->prev_blank = blank;
	if (!m->open) {
		if (blank || m->warned)
			return INGEST_SKIP;
		m->warned = true;
		err->code = TL_ESYNTAX;
		err->field = "From_ line (not an mbox?)";
		return INGEST_BAD;
	}
	if (append(m, line, len) < 0) {
		err->code = TL_ENOMEM;
		err->field = NULL;
		return INGEST_BAD;
	}
	return INGEST_SKIP;
}

enum ingest_line ingest_mbox_flush(void *state, struct tl_event *ev,
				   struct ingest_err *err)
{
	struct mbox *m = state;

	(void)err;
	m->prev_blank = true;
	return finish(m, ev);
}

void ingest_mail_report(const char *name, uint64_t taken,
			const uint64_t skips[MAIL_SKIP_COUNT])
{
	char buf[256];
	size_t o = 0;
	int i, n;

	buf[0] = '\0';
	for (i = 1; i < MAIL_SKIP_COUNT; i++) {
		if (!skips[i])
			continue;
		n = snprintf(buf + o, sizeof(buf) - o, "%s%" PRIu64 " %s",
			     o ? ", " : "", skips[i],
			     mail_skip_name((enum mail_skip)i));
		if (n < 0 || (size_t)n >= sizeof(buf) - o)
			break;
		o += (size_t)n;
	}
	log_info("ingest", "%s: %" PRIu64 " messages taken; skipped: %s", name,
		 taken, o ? buf : "none");
}

void ingest_mbox_report(void *state, const char *name)
{
	struct mbox *m = state;

	ingest_mail_report(name, m->taken, m->skips);
}

void ingest_mbox_close(void *state)
{
	struct mbox *m = state;

	tl_free(m->msg);
	tl_free(m);
}
