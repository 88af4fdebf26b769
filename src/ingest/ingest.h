/* SPDX-License-Identifier: MIT */
/* ingest.h -- importers: input streams of records into the store */
#ifndef TRAPLINE_INGEST_H
#define TRAPLINE_INGEST_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "mail/mail.h"
#include "parse.h"
#include "trapline/config.h"
#include "trapline/store.h"

struct ingest_opts;

/*
 * An input format. A line format sees one line at a time: a stateless one
 * sets @parse; one that follows something across lines (a client's
 * recipients, a message in an mbox) sets @open, @feed and the rest, and
 * keeps what it needs in its state. A directory format (maildir) sets
 * @is_dir and is read by ingest_maildir().
 */
struct ingest_format {
	const char *name;
	bool is_dir;
	enum ingest_line (*parse)(const char *line, size_t len,
				  struct tl_event *ev, struct ingest_err *err);
	int (*open)(const struct ingest_opts *o, void **state);
	enum ingest_line (*feed)(void *state, const char *line, size_t len,
				 struct tl_event *ev, struct ingest_err *err);
	/* A record still open when the input pauses or ends (the last
	 * message of an mbox); INGEST_SKIP when none. May be NULL. */
	enum ingest_line (*flush)(void *state, struct tl_event *ev,
				  struct ingest_err *err);
	/* Log what the format passed over and why (for @name). May be NULL. */
	void (*report)(void *state, const char *name);
	void (*close)(void *state);
};

/* The format called @name, or NULL. */
const struct ingest_format *ingest_format_find(const char *name);
/* The format a file name suggests (".csv"), else NDJSON. */
const struct ingest_format *ingest_format_guess(const char *path);
/* "ndjson, csv, ..." for messages. */
const char *ingest_format_names(void);

struct ingest_opts {
	const struct ingest_format *format;
	bool strict;          /* stop at the first bad record */
	FILE *progress;       /* after each commit "durable N NAME:LINE", or NULL */
	uint64_t commit_every; /* events per group commit; 0 = default */
	int64_t not_after;     /* refuse events later than this (unix s);
				  0 = now + TL_FUTURE_SLACK */
	/* For the sensor formats (postfix, mbox, maildir); all may be NULL. */
	const struct tl_config *cfg;      /* thresholds */
	const struct mail_rules *rules;   /* content tags */
	const struct mail_relays *relays; /* [ingest] own_relays */
	const struct mail_av *av;         /* ClamAV ([content] clamav) */
	const char *sensor;               /* events' sensor name */
	/* Where events go: NULL = the store passed in (this thread is its
	 * writer). Else @submit takes each event and @flush returns once all
	 * submitted are durable (`serve`: the trap's committer owns the
	 * store). */
	int (*submit)(void *ctx, const struct tl_event *ev);
	int (*flush)(void *ctx);
	void *sink;
};

struct ingest_stats {
	uint64_t lines;  /* lines (or messages) read */
	uint64_t events; /* events stored (durable once ingest_stream returns) */
	uint64_t bad;    /* records refused */
	uint64_t durable; /* events made durable so far, all streams */
};

/* Now, for "not in the future" checks: the end of $TRAPLINE_NOW's day
 * when set, else the clock (unix s). */
int64_t ingest_now(void);

/*
 * A line reader: bytes in, records out to the store, in group commits.
 * ingest_stream() is one over a whole file; --follow and `serve` keep one
 * per followed file. Not thread-safe; one store writer.
 */
struct ingest_reader;

int ingest_reader_new(struct tl_store *s, const char *name,
		      const struct ingest_opts *o, struct ingest_stats *st,
		      struct ingest_reader **out);
/*
 * One read(2) from @fd; takes every complete line. Returns the bytes read
 * (0 at end of file), or a negative error (I/O, store). *@stop is set
 * when --strict stopped at a bad record.
 */
ssize_t ingest_reader_read(struct ingest_reader *r, int fd, bool *stop);
/* The input ended (or its file was rotated): a last line without its
 * newline is taken as a line, and line numbers restart for the next
 * file. Returns 0, 1 (strict stop) or a negative error. */
int ingest_reader_eof(struct ingest_reader *r);
/* The input is quiet: the format's open record, if any, is taken. */
int ingest_reader_flush(struct ingest_reader *r);
/* Make what was appended durable (@wait: and applied to the history). */
int ingest_reader_commit(struct ingest_reader *r, bool wait);
/* Lines taken so far from the current file. */
uint64_t ingest_reader_line(const struct ingest_reader *r);
/* The format's report, then free. Does not commit. */
void ingest_reader_free(struct ingest_reader *r);

/*
 * Read records from @fd (named @name in messages) into @s. A bad record is
 * reported on stderr with its line number and reason (the first
 * TL_INGEST_REPORT_MAX in full) and skipped; with opts->strict reading
 * stops there. Every event read before a return of 0 is durable.
 * Returns 0, 1 when stopped by --strict, or a negative error (I/O, store).
 */
int ingest_stream(struct tl_store *s, int fd, const char *name,
		  const struct ingest_opts *o, struct ingest_stats *st);

/*
 * A maildir (Maildir/new and Maildir/cur): one event per message, as
 * mail_message_event() makes it. With @take_new, only new/ is read and
 * each message, once its event is durable, is moved to cur/ marked seen
 * (":2,S"), as a mail reader would; `serve` watches trap maildirs so.
 * Skips are counted by reason and reported. Returns 0 or a negative error
 * (TL_ENOENT: not a maildir).
 */
int ingest_maildir(struct tl_store *s, const char *dir,
		   const struct ingest_opts *o, struct ingest_stats *st,
		   bool take_new);

/*
 * Following growing files (--follow, `serve`): each file is read to its
 * end, then watched; a file replaced by rename (rotation) is read to its
 * end and the new one from its start; a truncated one from its start.
 * Where a file was left is kept in DATA/follow/ once durable, so a
 * restart goes on from there (when it is still the same file).
 */
struct ingest_follow;

int ingest_follow_open(struct tl_store *s, const char *data,
		       const char *path, const struct ingest_opts *o,
		       struct ingest_stats *st, struct ingest_follow **out);
/* Read what arrived; rotate or restart as needed. Returns 0 or a negative
 * error. */
int ingest_follow_poll(struct ingest_follow *f);
/* Commit, remember the position, report, close. */
int ingest_follow_close(struct ingest_follow *f);

/*
 * Run followed files and watched maildirs until *@stop: poll each every
 * TL_FOLLOW_POLL_MS. @maildirs are read with take_new. Returns 0, or the
 * first error that stopped a source for good (the others go on).
 */
int ingest_follow_run(struct ingest_follow **files, unsigned nfiles,
		      struct tl_store *s, char *const *maildirs,
		      unsigned nmaildirs, const struct ingest_opts *o,
		      struct ingest_stats *st, volatile sig_atomic_t *stop);

#endif
