/* SPDX-License-Identifier: MIT */
/* day.h -- calendar days and times in UTC */
#ifndef TRAPLINE_DAY_H
#define TRAPLINE_DAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Days since 1970-01-01 (day 0), proleptic Gregorian, UTC. */
typedef int32_t tl_day;

/* "YYYY-MM-DD" with the NUL. */
#define TL_DAY_STRLEN 11

bool tl_year_is_leap(int64_t y);
/* Days in month @m (1..12) of year @y. */
unsigned tl_month_days(int64_t y, unsigned m);
/* The day number of a civil date; the date must be valid. */
tl_day tl_day_from_civil(int64_t y, unsigned m, unsigned d);
void tl_day_to_civil(tl_day day, int64_t *y, unsigned *m, unsigned *d);
/* Floor division: -1 s is day -1, not day 0. */
tl_day tl_day_from_time(int64_t unix_seconds);
/* Week number: weeks start on Monday; day 0 (a Thursday) is in week 0. */
int32_t tl_day_week(tl_day day);

/* "YYYY-MM-DD"; checks the date exists. Returns 0 or TL_ESYNTAX/TL_ERANGE. */
int tl_day_parse(const char *s, size_t len, tl_day *out);
size_t tl_day_format(tl_day day, char buf[TL_DAY_STRLEN]);

/*
 * An event time: unix seconds ("1700000000") or ISO 8601 / RFC 3339
 * ("2004-03-01T12:00:00Z", fraction and +hh:mm offset allowed, space for T
 * allowed, a bare date is midnight). Must fall in 1970..2199 (TL_ETIME).
 */
int tl_time_parse(const char *s, size_t len, int64_t *out);

/* Today in UTC, or the date in $TRAPLINE_NOW (YYYY-MM-DD) when set, so
 * tests and demos are reproducible. */
tl_day tl_day_today(void);

/* An English month abbreviation ("Jan".."Dec") at @s (at least @n >= 3
 * bytes; only the first 3 are read), exactly as written or, with @icase,
 * in any case. Returns 1..12, or 0 when it is none. */
int tl_month_parse(const char *s, size_t n, bool icase);

/*
 * A day given to a command: "YYYY-MM-DD", "today", or "Nd" (N days before
 * @today). Returns 0 or TL_ESYNTAX.
 */
int tl_day_parse_relative(const char *s, tl_day today, tl_day *out);

#endif
