/* SPDX-License-Identifier: MIT */
/* ingest_int.h -- shared inside src/ingest: the formats and the commit path */
#ifndef TRAPLINE_INGEST_INT_H
#define TRAPLINE_INGEST_INT_H

#include "ingest.h"

/* Log a refused record (the first TL_INGEST_REPORT_MAX in full). */
void ingest_report_bad(const char *name, uint64_t line, uint64_t nbad,
		       const struct ingest_err *err);
/* A group commit ("durable N NAME:LINE" to o->progress). */
int ingest_commit(struct tl_store *s, const char *name, uint64_t line,
		  const struct ingest_opts *o, struct ingest_stats *st,
		  bool wait);
/* Store one event unless it is too far in the future (then it is a bad
 * record); commits every o->commit_every. Returns 0, 1 (strict stop) or a
 * negative error. */
int ingest_event(struct tl_store *s, const char *name, uint64_t line,
		 struct tl_event *ev, const struct ingest_opts *o,
		 struct ingest_stats *st, int64_t not_after);
/* Line numbers start again (a rotated file's successor). */
void ingest_reader_restart(struct ingest_reader *r);
/* Bytes read but not yet taken (a line still without its newline). */
size_t ingest_reader_pending(const struct ingest_reader *r);

/* Format "postfix" (postfix_fmt.c): struct postfix_state over the reader. */
int ingest_postfix_open(const struct ingest_opts *o, void **state);
enum ingest_line ingest_postfix_feed(void *state, const char *line, size_t len,
				     struct tl_event *ev,
				     struct ingest_err *err);
void ingest_postfix_report(void *state, const char *name);
void ingest_postfix_close(void *state);

/* Format "mbox" (mbox.c): messages between From_ lines. */
int ingest_mbox_open(const struct ingest_opts *o, void **state);
enum ingest_line ingest_mbox_feed(void *state, const char *line, size_t len,
				  struct tl_event *ev, struct ingest_err *err);
enum ingest_line ingest_mbox_flush(void *state, struct tl_event *ev,
				   struct ingest_err *err);
void ingest_mbox_report(void *state, const char *name);
void ingest_mbox_close(void *state);

/* Mailbox skips by reason, for both mbox and maildir ("N bounce, ..."). */
void ingest_mail_report(const char *name, uint64_t taken,
			const uint64_t skips[MAIL_SKIP_COUNT]);

#endif
