/* SPDX-License-Identifier: MIT */
/* ingest.c -- read lines, parse, append to the store, commit in groups */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ingest.h"
#include "limits.h"
#include "trapline/alloc.h"
#include "trapline/day.h"
#include "trapline/err.h"
#include "trapline/log.h"

#define READ_CHUNK (4u << 20) /* bytes per read(2) */

static const struct ingest_format formats[] = {
	{"ndjson", ingest_ndjson_parse},
	{"csv", ingest_csv_parse},
};

const struct ingest_format *ingest_format_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
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

static void report_bad(const char *name, uint64_t line, uint64_t nbad,
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

/* A group commit: durable on return; applied in the background unless
 * @last, when this waits for the history to have it all. */
static int commit(struct tl_store *s, const char *name, uint64_t line,
		  const struct ingest_opts *o, struct ingest_stats *st,
		  bool last)
{
	uint64_t n = tl_store_pending(s);
	int rc = last ? tl_store_commit(s) : tl_store_commit_async(s);

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

/* Where a stream is: its name and the number of the line being read. */
struct pos {
	const char *name;
	uint64_t line;
};

/* One line without its newline. Returns 1 to stop (strict), <0 on error. */
static int one_line(struct tl_store *s, const char *p, size_t len,
		    struct pos *at, const struct ingest_opts *o,
		    struct ingest_stats *st, uint64_t every, int64_t not_after)
{
	struct ingest_err err;
	struct tl_event ev;
	int rc;

	st->lines++;
	at->line++;
	if (len > TL_LINE_MAX) {
		err.code = TL_ETOOLONG;
		err.field = NULL;
		goto bad;
	}
	switch (o->format->parse(p, len, &ev, &err)) {
	case INGEST_SKIP:
		return 0;
	case INGEST_BAD:
		goto bad;
	case INGEST_EVENT:
		break;
	}
	if (ev.time > not_after) {
		err.code = TL_EFUTURE;
		err.field = "time";
		goto bad;
	}
	rc = tl_store_append(s, &ev);
	if (rc < 0)
		return rc;
	st->events++;
	if (tl_store_pending(s) >= every)
		return commit(s, at->name, at->line, o, st, false);
	return 0;
bad:
	st->bad++;
	report_bad(at->name, at->line, st->bad, &err);
	return o->strict ? 1 : 0;
}

int ingest_stream(struct tl_store *s, int fd, const char *name,
		  const struct ingest_opts *o, struct ingest_stats *st)
{
	uint64_t every = o->commit_every ? o->commit_every : TL_COMMIT_EVENTS;
	size_t cap = READ_CHUNK + TL_LINE_MAX + 1, have = 0, start;
	bool skipping = false; /* inside an over-long line */
	struct pos at = {name, 0};
	/* Now: the end of $TRAPLINE_NOW's day when set, else the clock. */
	int64_t now = getenv("TRAPLINE_NOW")
			      ? ((int64_t)tl_day_today() + 1) * 86400 - 1
			      : (int64_t)time(NULL);
	int64_t not_after = o->not_after ? o->not_after
					 : now + TL_FUTURE_SLACK;
	char *buf = tl_calloc(1, cap);
	ssize_t n;
	int rc = 0;

	if (!buf)
		return TL_ENOMEM;
	for (;;) {
		char *nl;

		n = read(fd, buf + have, cap - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			log_error("ingest", "%s: %s", name, strerror(errno));
			break;
		}
		if (n == 0) {
			/* The last line may lack its newline. */
			if (have && !skipping)
				rc = one_line(s, buf, have, &at, o, st, every,
					      not_after);
			break;
		}
		have += (size_t)n;
		start = 0;
		while ((nl = memchr(buf + start, '\n', have - start)) != NULL) {
			size_t len = (size_t)(nl - (buf + start));

			if (skipping) {
				skipping = false;
			} else {
				rc = one_line(s, buf + start, len, &at, o, st,
					      every, not_after);
				if (rc != 0)
					goto out;
			}
			start += len + 1;
		}
		memmove(buf, buf + start, have - start);
		have -= start;
		if (have > TL_LINE_MAX && !skipping) {
			/* Report it once as too long; drop it to its end. */
			rc = one_line(s, buf, have, &at, o, st, every,
				      not_after);
			if (rc != 0)
				goto out;
			skipping = true;
		}
		if (skipping)
			have = 0;
	}
out:
	if (rc >= 0) {
		int crc = commit(s, name, at.line, o, st, true);

		if (crc < 0)
			rc = crc;
	}
	tl_free(buf);
	return rc;
}
