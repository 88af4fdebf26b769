/* SPDX-License-Identifier: MIT */
/* parse.h -- event record parsers (pure: no I/O, no global state) */
#ifndef TRAPLINE_INGEST_PARSE_H
#define TRAPLINE_INGEST_PARSE_H

#include <stddef.h>

#include "trapline/event.h"

/* Why a record was refused: the error code and the field it concerns. */
struct ingest_err {
	int code;          /* enum tl_err */
	const char *field; /* static field name, or NULL for the record */
};

/* What a parser made of one line. */
enum ingest_line {
	INGEST_EVENT = 0, /* @ev holds an event */
	INGEST_SKIP = 1,  /* blank line or header: nothing to do */
	INGEST_BAD = 2,   /* refused; @err says why */
};

/*
 * One NDJSON event line (DESIGN.md): a JSON object with "time" and "ip"
 * required, "kind" (spam), "count" (1), "sensor", "tags", "helo", "from",
 * "rcpts", "size" optional; unknown members are skipped (and may repeat),
 * null means absent.
 *
 * Reads @len untrusted bytes. Checks the whole line against the JSON
 * grammar (RFC 8259: UTF-8, escapes, surrogate pairs, nesting at most
 * TL_JSON_DEPTH_MAX) and each known member's type and range; a member given
 * twice is refused. Never reads past @len; @line need not be NUL-ended.
 */
enum ingest_line ingest_ndjson_parse(const char *line, size_t len,
				     struct tl_event *ev,
				     struct ingest_err *err);

/*
 * One CSV line: time,ip[,kind[,count]] (RFC 4180 quoting allowed, CRLF
 * allowed). A first field of "time" is a header and is skipped. Same
 * guarantees as above.
 */
enum ingest_line ingest_csv_parse(const char *line, size_t len,
				  struct tl_event *ev, struct ingest_err *err);

#endif
