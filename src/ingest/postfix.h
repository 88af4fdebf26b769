/* SPDX-License-Identifier: MIT */
/* postfix.h -- Postfix mail log lines into events
 *
 * Two layers: postfix_parse_line() is pure and classifies one log line;
 * struct postfix_state follows clients across lines (dictionary attacks
 * are many lines) and turns what it sees into events.
 */
#ifndef TRAPLINE_INGEST_POSTFIX_H
#define TRAPLINE_INGEST_POSTFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parse.h"
#include "trapline/event.h"
#include "trapline/ip.h"

/* What a log line is, for us. */
enum postfix_what {
	POSTFIX_OTHER = 0,    /* not a Postfix log line we can read */
	POSTFIX_IGNORED,      /* a Postfix line with nothing for us */
	POSTFIX_UNKNOWN_RCPT, /* RCPT rejected: no such user */
	POSTFIX_AUTH_FAIL,    /* SASL authentication failed */
	POSTFIX_TELL,         /* postscreen protocol violation (@tag) */
};

struct postfix_line {
	enum postfix_what what;
	/* The line's time: local civil time as written (year -1 when the
	 * line has none), plus the UTC offset when the line states one. */
	int year, mon, mday, hour, min, sec; /* mon 1..12 */
	bool has_offset;
	int offset;                /* seconds east of UTC */
	struct tl_ip ip;           /* the client */
	char rcpt[256];            /* UNKNOWN_RCPT: the address, lower case */
	char helo[256];            /* helo=<...> when logged, else "" */
	char from[256];            /* envelope sender domain, else "" */
	char tag[TL_EVENT_TAGLEN]; /* TELL: pregreet, bare-newline,
				    * non-smtp, pipelining */
};

/*
 * Classify one log line (@len bytes, no newline needed) in any of the
 * forms Postfix logs take: syslog "Mon DD HH:MM:SS host postfix/..." (no
 * year), RFC 3339 "2026-11-27T04:29:17.123+00:00 host ...", and
 * Postfix's own maillog_file (the syslog form with the day zero-padded).
 * Never reads past @len; a trailing CR/LF is ignored; the result is
 * POSTFIX_OTHER for anything it does not recognise. On OTHER and IGNORED
 * the address and strings are cleared; control bytes in logged fields
 * become '?'. A SASL failure for "Connection lost to authentication
 * server" is the server's fault and is IGNORED.
 */
void postfix_parse_line(const char *line, size_t len, struct postfix_line *out);

struct postfix_opts {
	unsigned dict_threshold; /* distinct unknown recipients (>= 1) ... */
	unsigned dict_window;    /* ... within this many seconds */
	int64_t now;             /* unix s: to infer missing years; 0 = the
				  * clock, read for each line that needs it */
	const char *sensor;      /* sensor name for events (copied, at most
				  * TL_SENSOR_MAX bytes), or NULL */
	/* Local civil time to UTC; NULL = the process's time zone (mktime).
	 * Called with min = sec = 0 once per civil hour and cached; a
	 * negative result means no such time. */
	int64_t (*to_utc)(int year, int mon, int mday, int hour, int min,
			  int sec);
};

/* Counters, for the operator's summary. */
struct postfix_counts {
	uint64_t other;        /* lines not understood */
	uint64_t ignored;      /* Postfix lines with nothing for us */
	uint64_t unknown_rcpt; /* unknown-recipient rejects */
	uint64_t auth_fail;    /* failed SASL logins */
	uint64_t tells;        /* postscreen violations */
	uint64_t dict_events;  /* dictionary events written */
};

struct postfix_state;

/* Returns 0, TL_EINVAL (threshold 0 or over TL_EVENT_COUNT_MAX, sensor
 * too long) or TL_ENOMEM. A state is used by one thread at a time. */
int postfix_state_new(const struct postfix_opts *o, struct postfix_state **out);
void postfix_state_free(struct postfix_state *st);
const struct postfix_counts *postfix_state_counts(const struct postfix_state *st);

/*
 * Feed one line. Returns INGEST_EVENT with @ev filled (an auth event, a
 * tell, or a dictionary event: once a client passes dict_threshold
 * distinct unknown recipients within dict_window, an event counting them
 * all, then one event a further distinct recipient until the window
 * lapses), else INGEST_SKIP. A line is never INGEST_BAD: what is not
 * understood is counted (a line whose time falls outside the event range
 * counts as "other"); @err, when not NULL, is cleared. Memory is bounded:
 * at most TL_POSTFIX_CLIENTS_MAX clients are followed (the least recently
 * seen dropped); allocation happens only as the table grows and once
 * per table slot whose client passes 8 distinct recipients.
 */
enum ingest_line postfix_feed(struct postfix_state *st, const char *line,
			      size_t len, struct tl_event *ev,
			      struct ingest_err *err);

#endif
