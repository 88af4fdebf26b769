/* SPDX-License-Identifier: MIT */
/* day.c -- civil dates, day numbers and event times in UTC */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "tl_limits.h"
#include "trapline/day.h"
#include "trapline/err.h"

bool tl_year_is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned tl_month_days(int64_t y, unsigned m)
{
	static const unsigned char days[] = {31, 28, 31, 30, 31, 30,
					     31, 31, 30, 31, 30, 31};

	if (m == 2 && tl_year_is_leap(y))
		return 29;
	return m >= 1 && m <= 12 ? days[m - 1] : 0;
}

/* The era arithmetic of H. Hinnant's days_from_civil: 400-year eras of
 * 146097 days, years starting in March so the leap day comes last. */
tl_day tl_day_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (tl_day)(era * 146097 + doe - 719468);
}

void tl_day_to_civil(tl_day day, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t z = (int64_t)day + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;

	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

tl_day tl_day_from_time(int64_t t)
{
	int64_t q = t / 86400;

	if (t % 86400 < 0)
		q--;
	return (tl_day)q;
}

int32_t tl_day_week(tl_day day)
{
	/* 1970-01-01 was a Thursday: shift so weeks start on Monday. */
	int64_t x = (int64_t)day + 3;

	return (int32_t)(x >= 0 ? x / 7 : (x - 6) / 7);
}

static int digits(const char *s, size_t n, unsigned *out)
{
	unsigned v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return TL_ESYNTAX;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return 0;
}

static int parse_date(const char *s, size_t len, tl_day *out)
{
	unsigned y, m, d;

	if (len != 10 || s[4] != '-' || s[7] != '-')
		return TL_ESYNTAX;
	if (digits(s, 4, &y) || digits(s + 5, 2, &m) || digits(s + 8, 2, &d))
		return TL_ESYNTAX;
	if (m < 1 || m > 12 || d < 1 || d > tl_month_days(y, m))
		return TL_ERANGE;
	*out = tl_day_from_civil(y, m, d);
	return 0;
}

int tl_day_parse(const char *s, size_t len, tl_day *out)
{
	return parse_date(s, len, out);
}

size_t tl_day_format(tl_day day, char buf[TL_DAY_STRLEN])
{
	int64_t y;
	unsigned m, d;

	tl_day_to_civil(day, &y, &m, &d);
	if (y < 0 || y > 9999) {
		memcpy(buf, "0000-00-00", 11);
		return 10;
	}
	buf[0] = (char)('0' + y / 1000);
	buf[1] = (char)('0' + y / 100 % 10);
	buf[2] = (char)('0' + y / 10 % 10);
	buf[3] = (char)('0' + y % 10);
	buf[4] = '-';
	buf[5] = (char)('0' + m / 10);
	buf[6] = (char)('0' + m % 10);
	buf[7] = '-';
	buf[8] = (char)('0' + d / 10);
	buf[9] = (char)('0' + d % 10);
	buf[10] = '\0';
	return 10;
}

static bool time_in_range(int64_t t)
{
	return t >= (int64_t)TL_DAY_MIN * 86400 &&
	       t < ((int64_t)TL_DAY_MAX + 1) * 86400;
}

/*
 * Reads untrusted text. Checks every character against the grammar and
 * the result against TL_DAY range; never reads past @len.
 */
int tl_time_parse(const char *s, size_t len, int64_t *out)
{
	unsigned hh = 0, mi = 0, ss = 0, oh, om;
	int64_t t, off = 0;
	size_t i;
	tl_day day;

	if (len == 0 || len > 40)
		return TL_ETIME;
	if (len < 10 || s[4] != '-') {
		/* Unix seconds. */
		t = 0;
		for (i = 0; i < len; i++) {
			if (s[i] < '0' || s[i] > '9')
				return TL_ETIME;
			t = t * 10 + (s[i] - '0');
			if (t > ((int64_t)TL_DAY_MAX + 1) * 86400)
				return TL_ETIME;
		}
		if (!time_in_range(t))
			return TL_ETIME;
		*out = t;
		return 0;
	}
	if (parse_date(s, 10, &day) < 0)
		return TL_ETIME;
	i = 10;
	if (i < len) {
		if (s[i] != 'T' && s[i] != 't' && s[i] != ' ')
			return TL_ETIME;
		if (len - i < 9 || s[i + 3] != ':' || s[i + 6] != ':')
			return TL_ETIME;
		if (digits(s + i + 1, 2, &hh) || digits(s + i + 4, 2, &mi) ||
		    digits(s + i + 7, 2, &ss))
			return TL_ETIME;
		/* 60 allows a leap second, counted as the next second. */
		if (hh > 23 || mi > 59 || ss > 60)
			return TL_ETIME;
		i += 9;
		if (i < len && s[i] == '.') {
			size_t f = ++i;

			while (i < len && s[i] >= '0' && s[i] <= '9')
				i++;
			if (i == f || i - f > 9)
				return TL_ETIME;
		}
		if (i == len)
			return TL_ETIME; /* a time must say its zone */
		if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == len) {
			off = 0;
		} else if ((s[i] == '+' || s[i] == '-') && len - i == 6 &&
			   s[i + 3] == ':') {
			if (digits(s + i + 1, 2, &oh) ||
			    digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
				return TL_ETIME;
			off = (int64_t)(oh * 3600 + om * 60);
			if (s[i] == '-')
				off = -off;
		} else {
			return TL_ETIME;
		}
	}
	t = (int64_t)day * 86400 + hh * 3600 + mi * 60 + ss - off;
	if (!time_in_range(t))
		return TL_ETIME;
	*out = t;
	return 0;
}

tl_day tl_day_today(void)
{
	const char *now = getenv("TRAPLINE_NOW");
	tl_day d;

	if (now && tl_day_parse(now, strlen(now), &d) == 0)
		return d;
	return tl_day_from_time((int64_t)time(NULL));
}

int tl_day_parse_relative(const char *s, tl_day today, tl_day *out)
{
	size_t len = strlen(s);
	unsigned n = 0;
	size_t i;

	if (strcmp(s, "today") == 0) {
		*out = today;
		return 0;
	}
	if (len >= 2 && len <= 6 && s[len - 1] == 'd') {
		for (i = 0; i + 1 < len; i++) {
			if (s[i] < '0' || s[i] > '9')
				return TL_ESYNTAX;
			n = n * 10 + (unsigned)(s[i] - '0');
		}
		*out = today - (tl_day)n;
		return 0;
	}
	return tl_day_parse(s, len, out);
}

int tl_month_parse(const char *s, size_t n, bool icase)
{
	static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	int m;

	if (n < 3)
		return 0;
	for (m = 0; m < 12; m++)
		if ((icase ? strncasecmp(s, names + 3 * m, 3)
			   : memcmp(s, names + 3 * m, 3)) == 0)
			return m + 1;
	return 0;
}
