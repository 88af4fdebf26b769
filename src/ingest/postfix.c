/* SPDX-License-Identifier: MIT */
/* postfix.c -- Postfix log lines (stub: replaced by the parser) */
#include <stdlib.h>
#include <string.h>

#include "postfix.h"
#include "trapline/err.h"

struct postfix_state {
	struct postfix_counts counts;
};

void postfix_parse_line(const char *line, size_t len, struct postfix_line *out)
{
	(void)line;
	(void)len;
	memset(out, 0, sizeof(*out));
	out->what = POSTFIX_OTHER;
}

int postfix_state_new(const struct postfix_opts *o, struct postfix_state **out)
{
	(void)o;
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : TL_ENOMEM;
}

void postfix_state_free(struct postfix_state *st)
{
	free(st);
}

const struct postfix_counts *postfix_state_counts(const struct postfix_state *st)
{
	return &st->counts;
}

enum ingest_line postfix_feed(struct postfix_state *st, const char *line,
			      size_t len, struct tl_event *ev,
			      struct ingest_err *err)
{
	(void)line;
	(void)len;
	(void)ev;
	(void)err;
	st->counts.other++;
	return INGEST_SKIP;
}
