/* SPDX-License-Identifier: MIT */
/* ingest.h -- importers: input streams of records into the store */
#ifndef TRAPLINE_INGEST_H
#define TRAPLINE_INGEST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "parse.h"
#include "trapline/store.h"

/*
 * A line-based input format. Importers for other sources (mail logs,
 * mailboxes) add an entry here with their own parser; a parser is pure
 * and sees one line at a time, any state it needs lives in @state.
 */
struct ingest_format {
	const char *name;
	enum ingest_line (*parse)(const char *line, size_t len,
				  struct tl_event *ev, struct ingest_err *err);
};

/* The format called @name, or NULL. */
const struct ingest_format *ingest_format_find(const char *name);
/* The format a file name suggests (".csv"), else NDJSON. */
const struct ingest_format *ingest_format_guess(const char *path);

struct ingest_opts {
	const struct ingest_format *format;
	bool strict;          /* stop at the first bad record */
	FILE *progress;       /* after each commit "durable N NAME:LINE", or NULL */
	uint64_t commit_every; /* events per group commit; 0 = default */
	int64_t not_after;     /* refuse events later than this (unix s);
				  0 = now + TL_FUTURE_SLACK */
};

struct ingest_stats {
	uint64_t lines;  /* lines read */
	uint64_t events; /* events stored (durable once ingest_stream returns) */
	uint64_t bad;    /* records refused */
	uint64_t durable; /* events made durable so far, all streams */
};

/*
 * Read records from @fd (named @name in messages) into @s. A bad record is
 * reported on stderr with its line number and reason (the first
 * TL_INGEST_REPORT_MAX in full) and skipped; with opts->strict reading
 * stops there. Every event read before a return of 0 is durable.
 * Returns 0, 1 when stopped by --strict, or a negative error (I/O, store).
 */
int ingest_stream(struct tl_store *s, int fd, const char *name,
		  const struct ingest_opts *opts, struct ingest_stats *st);

#endif
