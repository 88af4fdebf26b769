/* SPDX-License-Identifier: MIT */
/* history.h -- one IP's record: what it did and on which days */
#ifndef TRAPLINE_HISTORY_H
#define TRAPLINE_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trapline/day.h"
#include "trapline/event.h"

/* A stretch of consecutive active days. */
struct tl_run {
	tl_day start; /* first active day */
	uint32_t len; /* days, >= 1 */
};

struct tl_tagcount {
	uint16_t id;    /* store-wide tag id (tl_store_tag_name) */
	uint64_t count; /* events carrying the tag */
};

struct tl_daycount {
	tl_day day;     /* an active day */
	uint64_t count; /* events that day */
};

#define TL_HISTORY_TAGS 32  /* = TL_HISTORY_TAGS_MAX */
#define TL_HISTORY_RECENT 35 /* = TL_RECENT_DAYS */

/*
 * The decoded record. Runs are sorted, disjoint and never adjacent (two
 * runs always have at least one quiet day between them). @recent holds the
 * per-day counts of active days within TL_RECENT_DAYS of @last, sorted.
 */
struct tl_history {
	tl_day first, last;           /* first and last active day */
	int64_t first_time, last_time; /* seconds: earliest and latest event */
	uint32_t active_days;         /* days with at least one event */
	uint64_t count[TL_KIND_COUNT]; /* events per kind */
	uint64_t tags_dropped;        /* tag counts past TL_HISTORY_TAGS */
	uint32_t ntags;
	struct tl_tagcount tags[TL_HISTORY_TAGS];
	uint32_t nrecent;
	struct tl_daycount recent[TL_HISTORY_RECENT];
	uint32_t nruns, runs_cap; /* used and allocated entries of runs */
	struct tl_run *runs;      /* owned (tl_history_free) */
};

void tl_history_init(struct tl_history *h);
void tl_history_free(struct tl_history *h);
bool tl_history_is_empty(const struct tl_history *h);

/*
 * Add @count events of @kind at @time with the given tag ids. Events may
 * come in any time order. Returns 0 or TL_ENOMEM / TL_ELIMIT (too many
 * runs); on error @h is unchanged.
 */
int tl_history_add(struct tl_history *h, int64_t time, enum tl_kind kind,
		   uint64_t count, const uint16_t *tag_ids, unsigned ntags);

/* Mark @day active; the run-set merge (exposed for tests). */
int tl_history_add_day(struct tl_history *h, tl_day day);

/*
 * The record's bytes: version 1, varints. Returns the length written, or
 * TL_ETOOLONG when @size is too small (tl_history_encoded_max says enough).
 */
int tl_history_encode(const struct tl_history *h, uint8_t *buf, size_t size);
size_t tl_history_encoded_max(const struct tl_history *h);

/*
 * Decode a record read from the store. Reads @len untrusted bytes: checks
 * the version, every varint, every count against the remaining input, and
 * the run invariants; never reads past @len. With @head_only, runs are not
 * decoded (nruns is 0) but everything else is. Returns 0, TL_EVERSION or
 * TL_ECORRUPT; on error @h is empty.
 */
int tl_history_decode(struct tl_history *h, const uint8_t *buf, size_t len,
		      bool head_only);

/*
 * Only first/last (days and times), active_days and the per-kind counts,
 * for scans over millions of records; tags, recent days and runs are left
 * empty and the rest of the record is not checked.
 */
int tl_history_decode_summary(struct tl_history *h, const uint8_t *buf,
			      size_t len);

/*
 * The last `trapline check --record` of an IP: on @day it was listed on
 * @listed of the @of lists asked. Kept beside the history (store database
 * "checks"), not in its record: a check is not activity.
 */
struct tl_check_record {
	tl_day day;      /* the day of the check */
	uint32_t listed; /* lists that listed it */
	uint32_t of;     /* healthy lists asked, >= listed */
};

#define TL_CHECK_RECORD_MAX 16 /* bytes tl_check_record_encode may write */

/* Version 1: the version byte, then varints day, listed, of. Returns the
 * length written (at most TL_CHECK_RECORD_MAX) or TL_ETOOLONG. */
int tl_check_record_encode(const struct tl_check_record *c, uint8_t *buf,
			   size_t size);
/* Reads @len untrusted bytes: the version, each varint, the day's range,
 * listed <= of <= 65535, no trailing bytes. Returns 0, TL_EVERSION or
 * TL_ECORRUPT. */
int tl_check_record_decode(struct tl_check_record *c, const uint8_t *buf,
			   size_t len);

/* Derived figures. */
struct tl_hiatus {
	tl_day from, to; /* first and last quiet day */
	uint32_t days;
};

struct tl_history_stats {
	uint32_t span_days;   /* last - first + 1 */
	uint32_t active_days;
	uint32_t active_weeks; /* weeks (Monday-based) with an active day */
	uint32_t span_weeks;   /* weeks from first's to last's, inclusive */
	double steadiness;     /* active_weeks / span_weeks, 0..1 */
	uint32_t hiatuses;     /* gaps of at least hiatus_days */
	uint32_t longest_gap;  /* days */
	struct tl_run current; /* the run that ends on last */
};

void tl_history_stats(const struct tl_history *h, unsigned hiatus_days,
		      struct tl_history_stats *st);
/* Hiatus periods, oldest first: fills at most @max, returns the total. */
unsigned tl_history_hiatuses(const struct tl_history *h, unsigned hiatus_days,
			     struct tl_hiatus *out, unsigned max);
/* Events on days >= @since (exact while @since > last - TL_RECENT_DAYS). */
uint64_t tl_history_volume_since(const struct tl_history *h, tl_day since);
uint64_t tl_history_total(const struct tl_history *h);

#endif
