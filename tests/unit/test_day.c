/* SPDX-License-Identifier: MIT */
/* test_day.c -- civil dates, day numbers, weeks and event times */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl_limits.h"
#include "trapline/day.h"
#include "trapline/err.h"

static void test_leap_years(void **state)
{
	(void)state;
	assert_false(tl_year_is_leap(1900));
	assert_true(tl_year_is_leap(2000));
	assert_true(tl_year_is_leap(2024));
	assert_false(tl_year_is_leap(2100));
	assert_false(tl_year_is_leap(2023));
	assert_true(tl_year_is_leap(1600));
	assert_true(tl_year_is_leap(1972));
	assert_false(tl_year_is_leap(1970));
}

static void test_month_days(void **state)
{
	static const unsigned plain[12] = {31, 28, 31, 30, 31, 30,
					   31, 31, 30, 31, 30, 31};
	unsigned m;

	(void)state;
	for (m = 1; m <= 12; m++) {
		assert_int_equal(tl_month_days(2023, m), plain[m - 1]);
		assert_int_equal(tl_month_days(2024, m),
				 m == 2 ? 29 : plain[m - 1]);
	}
	assert_int_equal(tl_month_days(1900, 2), 28);
	assert_int_equal(tl_month_days(2000, 2), 29);
	assert_int_equal(tl_month_days(2100, 2), 28);
	assert_int_equal(tl_month_days(2024, 0), 0);
	assert_int_equal(tl_month_days(2024, 13), 0);
}

/* Every day from 1970-01-01 to 2199-12-31: consecutive day numbers, back
 * to the same date, and the same through text. */
static void test_civil_roundtrip(void **state)
{
	char buf[TL_DAY_STRLEN], want[TL_DAY_STRLEN + 8];
	tl_day expect = 0, parsed;
	int64_t y, yy;
	unsigned m, d, mm, dd;

	(void)state;
	for (y = 1970; y <= 2199; y++) {
		for (m = 1; m <= 12; m++) {
			for (d = 1; d <= tl_month_days(y, m); d++) {
				tl_day day = tl_day_from_civil(y, m, d);

				if (day != expect)
					fail_msg("%d-%u-%u is day %d, want %d",
						 (int)y, m, d, day, expect);
				tl_day_to_civil(day, &yy, &mm, &dd);
				assert_int_equal(yy, y);
				assert_int_equal(mm, m);
				assert_int_equal(dd, d);
				assert_int_equal(tl_day_format(day, buf), 10);
				snprintf(want, sizeof(want), "%04d-%02u-%02u",
					 (int)y, m, d);
				assert_string_equal(buf, want);
				assert_int_equal(tl_day_parse(buf, 10, &parsed),
						 0);
				assert_int_equal(parsed, day);
				expect++;
			}
		}
	}
	assert_int_equal(expect - 1, TL_DAY_MAX);
	assert_int_equal(tl_day_from_civil(2000, 1, 1), 10957);
	assert_int_equal(tl_day_from_civil(2004, 3, 1), 12478);
	/* before the epoch */
	assert_int_equal(tl_day_from_civil(1969, 12, 31), -1);
	tl_day_to_civil(-1, &y, &m, &d);
	assert_true(y == 1969 && m == 12 && d == 31);
}

static int day_parse(const char *s, tl_day *out)
{
	return tl_day_parse(s, strlen(s), out);
}

static void test_feb29(void **state)
{
	int64_t t;
	tl_day d;

	(void)state;
	assert_int_equal(day_parse("2024-02-29", &d), 0);
	assert_int_equal(d, tl_day_from_civil(2024, 3, 1) - 1);
	assert_int_equal(day_parse("2000-02-29", &d), 0);
	assert_int_equal(day_parse("2023-02-29", &d), TL_ERANGE);
	assert_int_equal(day_parse("1900-02-29", &d), TL_ERANGE);
	assert_int_equal(day_parse("2100-02-29", &d), TL_ERANGE);
	assert_int_equal(tl_time_parse("2024-02-29T00:00:00Z", 20, &t), 0);
	assert_int_equal(tl_time_parse("2023-02-29T00:00:00Z", 20, &t),
			 TL_ETIME);
	assert_int_equal(tl_time_parse("2100-02-29", 10, &t), TL_ETIME);
}

static void test_day_parse_rejects(void **state)
{
	static const char *const bad[] = {
		"2024-1-01", "2024/01/01", "2024-13-01", "2024-00-10",
		"2024-01-32", "2024-04-31", "2024-01-00", "20240101", "",
		"2024-01-01x", "2024-01-1", "x024-01-01", "2024-0a-01",
		"-024-01-01", " 2024-01-01",
	};
	tl_day d;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (day_parse(bad[i], &d) == 0)
			fail_msg("accepted \"%s\"", bad[i]);
	assert_int_equal(day_parse("2024-13-01", &d), TL_ERANGE);
	assert_int_equal(day_parse("2024/01/01", &d), TL_ESYNTAX);
}

static int tparse(const char *s, int64_t *t)
{
	return tl_time_parse(s, strlen(s), t);
}

static int64_t at(int64_t y, unsigned m, unsigned d, int hh, int mi, int ss)
{
	return (int64_t)tl_day_from_civil(y, m, d) * 86400 + hh * 3600 +
	       mi * 60 + ss;
}

static void test_time_parse_forms(void **state)
{
	static const struct {
		const char *text;
		int64_t y;
		unsigned m, d;
		int hh, mi, ss;
	} forms[] = {
		{"2004-03-01T12:00:00Z", 2004, 3, 1, 12, 0, 0},
		{"2004-03-01t12:00:00z", 2004, 3, 1, 12, 0, 0},
		{"2004-03-01 12:00:00Z", 2004, 3, 1, 12, 0, 0},
		{"2004-03-01T12:00:00.123Z", 2004, 3, 1, 12, 0, 0},
		{"2004-03-01T12:00:00.999999999Z", 2004, 3, 1, 12, 0, 0},
		{"2004-03-01T12:00:00+02:00", 2004, 3, 1, 10, 0, 0},
		{"2004-03-01T12:00:00-05:30", 2004, 3, 1, 17, 30, 0},
		{"2004-03-01T12:00:00.5+01:00", 2004, 3, 1, 11, 0, 0},
		{"2004-03-01T00:30:00+01:00", 2004, 2, 29, 23, 30, 0},
		{"2004-03-01T23:59:59+00:00", 2004, 3, 1, 23, 59, 59},
		{"2004-03-01", 2004, 3, 1, 0, 0, 0},
		{"1970-01-01T00:00:00Z", 1970, 1, 1, 0, 0, 0},
		{"1970-01-01", 1970, 1, 1, 0, 0, 0},
		{"2199-12-31T23:59:59Z", 2199, 12, 31, 23, 59, 59},
		{"2016-12-31T23:59:60Z", 2017, 1, 1, 0, 0, 0},
	};
	int64_t t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		if (tparse(forms[i].text, &t) != 0)
			fail_msg("refused \"%s\"", forms[i].text);
		assert_int_equal(t, at(forms[i].y, forms[i].m, forms[i].d,
				       forms[i].hh, forms[i].mi, forms[i].ss));
	}
	assert_int_equal(tparse("1700000000", &t), 0);
	assert_int_equal(t, 1700000000);
	assert_int_equal(tparse("0", &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(tparse("1078142400", &t), 0);
	assert_int_equal(t, at(2004, 3, 1, 12, 0, 0));
	/* the length bounds the text: no NUL needed */
	assert_int_equal(tl_time_parse("2004-03-01T12:00:00Zjunk", 20, &t), 0);
	assert_int_equal(t, at(2004, 3, 1, 12, 0, 0));
	assert_int_equal(tl_time_parse("17000000009", 10, &t), 0);
	assert_int_equal(t, 1700000000);
}

static void test_time_parse_rejects(void **state)
{
	static const char *const bad[] = {
		"2004-03-01T12:00:00",      /* no zone */
		"2004-03-01T12:00:00.5",    /* no zone */
		"2004-13-01T12:00:00Z",     "2004-02-30T12:00:00Z",
		"2004-00-10", "2004-03-32",
		"1969-12-31T23:59:59Z",     "1969-12-31",
		"2200-01-01T00:00:00Z",     "2200-01-01",
		"1970-01-01T00:30:00+01:00", /* before 1970 in UTC */
		"2199-12-31T23:30:00-01:00", /* 2200 in UTC */
		"99999999999", "7258118400", /* 2200-01-01 in seconds */
		"-1", "12a", "", " 1", "1 ", "1e9", "0x10",
		"2004-03-01T12:00Z", "2004-03-01T24:00:00Z",
		"2004-03-01T12:60:00Z", "2004-03-01T12:00:61Z",
		"2004-03-01T12:00:00.Z", "2004-03-01T12:00:00.1234567890Z",
		"2004-03-01T12:00:00+24:00", "2004-03-01T12:00:00+01:60",
		"2004-03-01T12:00:00+0100", "2004-03-01T12:00:00+01",
		"2004-03-01T12:00:00ZZ", "2004-03-01X12:00:00Z",
		"2004-03-01T", "2004-03-01T1:00:00Z", "2004-3-01T12:00:00Z",
		"2004-03-01T12:00:00 Z", "2004-03-01T12:00:00UTC",
		"99999999999999999999999999999",
	};
	int64_t t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = tparse(bad[i], &t);

		if (rc == 0)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(rc, TL_ETIME);
	}
	assert_int_equal(tparse("7258118399", &t), 0);
	assert_int_equal(t, at(2199, 12, 31, 23, 59, 59));
}

static void test_day_from_time_floor(void **state)
{
	(void)state;
	assert_int_equal(tl_day_from_time(0), 0);
	assert_int_equal(tl_day_from_time(86399), 0);
	assert_int_equal(tl_day_from_time(86400), 1);
	assert_int_equal(tl_day_from_time(-1), -1);
	assert_int_equal(tl_day_from_time(-86399), -1);
	assert_int_equal(tl_day_from_time(-86400), -1);
	assert_int_equal(tl_day_from_time(-86401), -2);
	assert_int_equal(tl_day_from_time(at(2004, 3, 1, 23, 59, 59)),
			 tl_day_from_civil(2004, 3, 1));
}

static void test_week_monday(void **state)
{
	tl_day monday = tl_day_from_civil(2024, 1, 1); /* a Monday */
	tl_day d;

	(void)state;
	assert_int_equal(tl_day_week(0), 0);  /* Thursday 1970-01-01 */
	assert_int_equal(tl_day_week(3), 0);  /* Sunday 1970-01-04 */
	assert_int_equal(tl_day_week(4), 1);  /* Monday 1970-01-05 */
	assert_int_equal(tl_day_week(-3), 0); /* Monday 1969-12-29 */
	assert_int_equal(tl_day_week(-4), -1);
	assert_int_equal(tl_day_week(-10), -1);
	assert_int_equal(tl_day_week(-11), -2);
	/* The week number grows by one exactly on each Monday. */
	for (d = -800; d < TL_DAY_MAX; d++) {
		int64_t rel = (int64_t)(d + 1) - monday;
		bool is_monday = ((rel % 7) + 7) % 7 == 0;

		assert_int_equal(tl_day_week(d + 1),
				 tl_day_week(d) + (is_monday ? 1 : 0));
	}
}

static void test_parse_relative(void **state)
{
	static const char *const bad[] = {
		"d", "x7d", "-7d", "7dd", "", "7 d", "1234567d", "7D",
		"yesterday", "2024-02-30",
	};
	tl_day today = tl_day_from_civil(2024, 6, 15), d;
	size_t i;

	(void)state;
	assert_int_equal(tl_day_parse_relative("today", today, &d), 0);
	assert_int_equal(d, today);
	assert_int_equal(tl_day_parse_relative("0d", today, &d), 0);
	assert_int_equal(d, today);
	assert_int_equal(tl_day_parse_relative("7d", today, &d), 0);
	assert_int_equal(d, today - 7);
	assert_int_equal(tl_day_parse_relative("365d", today, &d), 0);
	assert_int_equal(d, today - 365);
	assert_int_equal(tl_day_parse_relative("2004-03-01", today, &d), 0);
	assert_int_equal(d, tl_day_from_civil(2004, 3, 1));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (tl_day_parse_relative(bad[i], today, &d) == 0)
			fail_msg("accepted \"%s\"", bad[i]);
}

static void test_day_format_and_today(void **state)
{
	char buf[TL_DAY_STRLEN];

	(void)state;
	tl_day_format(0, buf);
	assert_string_equal(buf, "1970-01-01");
	tl_day_format(TL_DAY_MAX, buf);
	assert_string_equal(buf, "2199-12-31");
	tl_day_format(tl_day_from_civil(2024, 2, 29), buf);
	assert_string_equal(buf, "2024-02-29");

	assert_int_equal(setenv("TRAPLINE_NOW", "2004-03-01", 1), 0);
	assert_int_equal(tl_day_today(), tl_day_from_civil(2004, 3, 1));
	assert_int_equal(setenv("TRAPLINE_NOW", "2024-12-31", 1), 0);
	assert_int_equal(tl_day_today(), tl_day_from_civil(2024, 12, 31));
	unsetenv("TRAPLINE_NOW");
	assert_true(tl_day_today() > tl_day_from_civil(2024, 1, 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_leap_years),
		cmocka_unit_test(test_month_days),
		cmocka_unit_test(test_civil_roundtrip),
		cmocka_unit_test(test_feb29),
		cmocka_unit_test(test_day_parse_rejects),
		cmocka_unit_test(test_time_parse_forms),
		cmocka_unit_test(test_time_parse_rejects),
		cmocka_unit_test(test_day_from_time_floor),
		cmocka_unit_test(test_week_monday),
		cmocka_unit_test(test_parse_relative),
		cmocka_unit_test(test_day_format_and_today),
	};

	return cmocka_run_group_tests_name("day", tests, NULL, NULL);
}
