/* SPDX-License-Identifier: MIT */
/* ingest.c -- read lines, parse, append to the store, commit in groups */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ingest.h"
#include "ingest_int.h"
#include "tl_limits.h"
#include "trapline/alloc.h"
#include "trapline/day.h"
#include "trapline/err.h"
#include "trapline/log.h"

#define READ_CHUNK (4u << 20) /* bytes per read(2) */

static const struct ingest_format formats[] = {
	{.name = "ndjson", .parse = ingest_ndjson_parse},
	{.name = "csv", .parse = ingest_csv_parse},
	{.name = "postfix", .open = ingest_postfix_open,
	 .feed = ingest_postfix_feed, .report = ingest_postfix_report,
	 .close = ingest_postfix_close},
	{.name = "mbox", .open = ingest_mbox_open, .feed = ingest_mbox_feed,
	 .flush = ingest_mbox_flush, .report = ingest_mbox_report,
	 .close = ingest_mbox_close},
	{.name = "maildir", .is_dir = true},
};

#define NFORMATS (sizeof(formats) / sizeof(formats[0]))

const struct ingest_format *ingest_format_find(const char *name)
{
	size_t i;

	for (i = 0; i < NFORMATS; i++)
		if (strcmp(formats[i].name, name) == 0)
			return &formats[i];
	return NULL;
}

const struct ingest_format *ingest_format_guess(const char *path)
{
	size_t n = strlen(path);

	if (n > 4 && strcmp(path + n - 4, ".csv") == 0)
		return ingest_format_find("csv");
	return ingest_format_find("ndjson");
}

const char *ingest_format_names(void)
{
	return "ndjson, csv, postfix, mbox, maildir";
}

int64_t ingest_now(void)
{
	if (getenv("TRAPLINE_NOW"))
		return ((int64_t)tl_day_today() + 1) * 86400 - 1;
	return (int64_t)time(NULL);
}

void ingest_report_bad(const char *name, uint64_t line, uint64_t nbad,
		       const struct ingest_err *err)
{
	if (nbad > TL_INGEST_REPORT_MAX)
		return;
	if (err->field)
		log_warn("ingest", "%s:%" PRIu64 ": field \"%s\": %s; skipped",
			 name, line, err->field, tl_strerror(err->code));
	else
		log_warn("ingest", "%s:%" PRIu64 ": %s; skipped", name, line,
			 tl_strerror(err->code));
	if (nbad == TL_INGEST_REPORT_MAX)
		log_warn("ingest", "%s: further bad records are counted, not "
			 "shown", name);
}

int ingest_commit(struct tl_store *s, const char *name, uint64_t line,
		  const struct ingest_opts *o, struct ingest_stats *st,
		  bool wait)
{
	uint64_t n;
	int rc;

	if (o->flush) {
		n = st->events - st->durable;
		rc = o->flush(o->sink);
	} else {
		n = tl_store_pending(s);
		rc = wait ? tl_store_commit(s) : tl_store_commit_async(s);
	}
	if (rc < 0)
		return rc;
	st->durable += n;
	if (o->progress && n) {
		fprintf(o->progress, "durable %" PRIu64 " %s:%" PRIu64 "\n",
			st->durable, name, line);
		fflush(o->progress);
	}
	return 0;
}

int ingest_event(struct tl_store *s, const char *name, uint64_t line,
		 struct tl_event *ev, const struct ingest_opts *o,
		 struct ingest_stats *st, int64_t not_after)
{
	struct ingest_err err;
	int rc;

	if (ev->time > not_after) {
		err.code = TL_EFUTURE;
		err.field = "time";
		st->bad++;
		ingest_report_bad(name, line, st->bad, &err);
		return o->strict ? 1 : 0;
	}
	rc = o->submit ? o->submit(o->sink, ev) : tl_store_append(s, ev);
	if (rc < 0)
		return rc;
	st->events++;
	if (st->events - st->durable >= (o->commit_every ? o->commit_every
							  : TL_COMMIT_EVENTS))
		return ingest_commit(s, name, line, o, st, false);
	return 0;
}

struct ingest_reader {
	struct tl_store *s;
	const char *name;
	const struct ingest_opts *o;
	struct ingest_stats *st;
	void *state;        /* the format's, or NULL */
	int64_t not_after;  /* unix s */
	uint64_t line;      /* lines taken from the current file */
	char *buf;          /* READ_CHUNK + TL_LINE_MAX + 1 bytes */
	size_t cap, have;   /* bytes allocated, held */
	bool skipping;      /* inside an over-long line */
};

int ingest_reader_new(struct tl_store *s, const char *name,
		      const struct ingest_opts *o, struct ingest_stats *st,
		      struct ingest_reader **out)
{
	struct ingest_reader *r = tl_calloc(1, sizeof(*r));
	int rc;

	if (!r)
		return TL_ENOMEM;
	r->s = s;
	r->name = name;
	r->o = o;
	r->st = st;
	r->not_after = o->not_after ? o->not_after
				    : ingest_now() + TL_FUTURE_SLACK;
	r->cap = READ_CHUNK + TL_LINE_MAX + 1;
	r->buf = tl_calloc(1, r->cap);
	if (!r->buf) {
		tl_free(r);
		return TL_ENOMEM;
	}
	if (o->format->open) {
		rc = o->format->open(o, &r->state);
		if (rc < 0) {
			tl_free(r->buf);
			tl_free(r);
			return rc;
		}
	}
	*out = r;
	return 0;
}

/* Store what the parser made of a record. Returns 1 to stop (strict). */
static int take(struct ingest_reader *r, enum ingest_line what,
		struct tl_event *ev, const struct ingest_err *err)
{
	switch (what) {
	case INGEST_SKIP:
		return 0;
	case INGEST_BAD:
		r->st->bad++;
		ingest_report_bad(r->name, r->line, r->st->bad, err);
		return r->o->strict ? 1 : 0;
	case INGEST_EVENT:
		break;
	}
	return ingest_event(r->s, r->name, r->line, ev, r->o, r->st,
			    r->not_after);
}

/* One line without its newline. Returns 1 to stop (strict), <0 on error. */
static int one_line(struct ingest_reader *r, const char *p, size_t len)
{
	const struct ingest_format *f = r->o->format;
	struct ingest_err err = {0, NULL};
	struct tl_event ev;
	enum ingest_line what;

	r->st->lines++;
	r->line++;
	if (len > TL_LINE_MAX) {
		err.code = TL_ETOOLONG;
		return take(r, INGEST_BAD, &ev, &err);
	}
	if (f->feed)
		what = f->feed(r->state, p, len, &ev, &err);
	else
		what = f->parse(p, len, &ev, &err);
	return take(r, what, &ev, &err);
}

ssize_t ingest_reader_read(struct ingest_reader *r, int fd, bool *stop)
{
	size_t start = 0;
	ssize_t n;
	char *nl;
	int rc;

	*stop = false;
	do
		n = read(fd, r->buf + r->have, r->cap - r->have);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		rc = -errno;
		log_error("ingest", "%s: %s", r->name, strerror(errno));
		return rc;
	}
	r->have += (size_t)n;
	while ((nl = memchr(r->buf + start, '\n', r->have - start)) != NULL) {
		size_t len = (size_t)(nl - (r->buf + start));

		if (r->skipping) {
			r->skipping = false;
		} else {
			rc = one_line(r, r->buf + start, len);
			if (rc != 0) {
				*stop = rc == 1;
				r->have = 0;
				return rc < 0 ? rc : n;
			}
		}
		start += len + 1;
	}
	memmove(r->buf, r->buf + start, r->have - start);
	r->have -= start;
	if (r->have > TL_LINE_MAX && !r->skipping) {
		/* Report it once as too long; drop it to its end. */
		rc = one_line(r, r->buf, r->have);
		if (rc != 0) {
			*stop = rc == 1;
			r->have = 0;
			return rc < 0 ? rc : n;
		}
		r->skipping = true;
	}
	if (r->skipping)
		r->have = 0;
	return n;
}

int ingest_reader_eof(struct ingest_reader *r)
{
	int rc = 0;

	/* The last line may lack its newline. */
	if (r->have && !r->skipping)
		rc = one_line(r, r->buf, r->have);
	r->have = 0;
	r->skipping = false;
	return rc;
}

int ingest_reader_flush(struct ingest_reader *r)
{
	struct ingest_err err = {0, NULL};
	struct tl_event ev;

	if (!r->o->format->flush)
		return 0;
	return take(r, r->o->format->flush(r->state, &ev, &err), &ev, &err);
}

int ingest_reader_commit(struct ingest_reader *r, bool wait)
{
	return ingest_commit(r->s, r->name, r->line, r->o, r->st, wait);
}

uint64_t ingest_reader_line(const struct ingest_reader *r)
{
	return r->line;
}

void ingest_reader_restart(struct ingest_reader *r)
{
	r->line = 0;
}

size_t ingest_reader_pending(const struct ingest_reader *r)
{
	return r->skipping ? 0 : r->have;
}

void ingest_reader_free(struct ingest_reader *r)
{
	if (!r)
		return;
	if (r->state) {
		if (r->o->format->report)
			r->o->format->report(r->state, r->name);
		r->o->format->close(r->state);
	}
	tl_free(r->buf);
	tl_free(r);
}

int ingest_stream(struct tl_store *s, int fd, const char *name,
		  const struct ingest_opts *o, struct ingest_stats *st)
{
	struct ingest_reader *r;
	bool stop = false;
	ssize_t n;
	int rc;

	rc = ingest_reader_new(s, name, o, st, &r);
	if (rc < 0)
		return rc;
	do
		n = ingest_reader_read(r, fd, &stop);
	while (n > 0 && !stop);
	rc = n < 0 ? (int)n : stop ? 1 : 0;
	if (rc == 0)
		rc = ingest_reader_eof(r);
	if (rc == 0)
		rc = ingest_reader_flush(r);
	if (rc >= 0) {
		int crc = ingest_reader_commit(r, true);

		if (crc < 0)
			rc = crc;
	}
	ingest_reader_free(r);
	return rc;
}
