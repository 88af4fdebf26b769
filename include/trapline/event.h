/* SPDX-License-Identifier: MIT */
/* event.h -- the one way data comes in: an event about one IP */
#ifndef TRAPLINE_EVENT_H
#define TRAPLINE_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "trapline/ip.h"

/* Kinds a sensor can report. "persistent" and "operator" are listing
 * codes (policy), not events. The numbers are stored: never reorder. */
enum tl_kind {
	TL_KIND_SPAM = 0,
	TL_KIND_DICTIONARY = 1,
	TL_KIND_AUTH = 2,
	TL_KIND_MALWARE = 3,
	TL_KIND_COUNT
};

#define TL_EVENT_TAGS 8    /* = TL_EVENT_TAGS_MAX */
#define TL_EVENT_TAGLEN 33 /* TL_TAG_LEN_MAX + NUL */
#define TL_EVENT_STRLEN 256

struct tl_event {
	int64_t time;    /* unix seconds, UTC */
	struct tl_ip ip; /* the sender */
	uint8_t kind;    /* enum tl_kind */
	uint8_t ntags;   /* entries used in tags */
	uint32_t count;  /* events this record stands for, >= 1 */
	uint32_t rcpts;  /* recipients, 0 = unknown */
	uint64_t size;   /* message bytes, 0 = unknown */
	char tags[TL_EVENT_TAGS][TL_EVENT_TAGLEN]; /* lower case */
	char sensor[64];                          /* "" = unknown */
	char helo[TL_EVENT_STRLEN];               /* "" = unknown */
	char from[TL_EVENT_STRLEN];               /* envelope sender domain */
};

const char *tl_kind_name(enum tl_kind kind);
/* Returns 0 and sets @out, or TL_EKIND. Case-insensitive. */
int tl_kind_parse(const char *s, size_t len, enum tl_kind *out);

/* Zero an event and set the defaults: spam, count 1. */
void tl_event_init(struct tl_event *ev);

/*
 * Check a tag (1..32 of [A-Za-z0-9_.-]) and append it lower-cased; a tag
 * already present is not added twice. TL_ETAG or TL_ELIMIT on error.
 */
int tl_event_add_tag(struct tl_event *ev, const char *s, size_t len);

/*
 * Check an event built by a sensor before it is stored: time in range,
 * family 4 or 6, a known kind, count 1..TL_EVENT_COUNT_MAX, well-formed
 * tags, strings NUL-terminated. Returns 0 or the TL_E* of the first fault.
 */
int tl_event_check(const struct tl_event *ev);

/* Largest line tl_event_format_ndjson writes, with newline and NUL. */
#define TL_EVENT_NDJSON_MAX 8192
/*
 * Write @ev as one NDJSON line (DESIGN.md field names, ISO 8601 time,
 * newline-terminated) into @buf of TL_EVENT_NDJSON_MAX bytes. Fields left
 * at their defaults (empty strings, zero rcpts/size, no tags) are omitted.
 * Returns the length, without the NUL.
 */
size_t tl_event_format_ndjson(const struct tl_event *ev, char *buf);

#endif
