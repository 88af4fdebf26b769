/* SPDX-License-Identifier: MIT */
/* postfix_fmt.c -- the "postfix" ingest format over struct postfix_state */
#include <inttypes.h>

#include "ingest_int.h"
#include "postfix.h"
#include "trapline/log.h"

int ingest_postfix_open(const struct ingest_opts *o, void **state)
{
	struct postfix_opts po = {
		.dict_threshold = o->cfg ? o->cfg->dict_threshold : 5,
		.dict_window = o->cfg ? o->cfg->dict_window : 3600,
		.now = ingest_now(),
		.sensor = o->sensor,
	};
	struct postfix_state *st;
	int rc = postfix_state_new(&po, &st);

	if (rc < 0)
		return rc;
	*state = st;
	return 0;
}

enum ingest_line ingest_postfix_feed(void *state, const char *line, size_t len,
				     struct tl_event *ev,
				     struct ingest_err *err)
{
	return postfix_feed(state, line, len, ev, err);
}

void ingest_postfix_report(void *state, const char *name)
{
	const struct postfix_counts *c = postfix_state_counts(state);

	log_info("ingest", "%s: postfix: %" PRIu64 " unknown-recipient "
		 "rejects (%" PRIu64 " dictionary events), %" PRIu64
		 " failed logins, %" PRIu64 " postscreen tells; %" PRIu64
		 " other Postfix lines, %" PRIu64 " lines not understood",
		 name, c->unknown_rcpt, c->dict_events, c->auth_fail, c->tells,
		 c->ignored, c->other);
}

void ingest_postfix_close(void *state)
{
	postfix_state_free(state);
}
