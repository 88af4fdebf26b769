/* SPDX-License-Identifier: MIT */
/* test_query.c -- countries, rankings and reports over a real store */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "query/query.h"
#include "trapline/err.h"

#define DAY 86400
#define T2020 1577836800 /* 2020-01-01T00:00:00Z */

struct fix {
	char dir[64];
	struct tl_store *s;
	struct tl_geo *geo;
	struct tl_config cfg;
	struct tl_policy pol;
};

static void ip_of(const char *text, struct tl_ip *ip)
{
	assert_int_equal(tl_ip_parse(text, strlen(text), ip), 0);
}

static void add(struct tl_store *s, const char *ip, int64_t t, int kind,
		uint32_t count)
{
	struct tl_event ev;

	tl_event_init(&ev);
	ip_of(ip, &ev.ip);
	ev.time = t;
	ev.kind = (uint8_t)kind;
	ev.count = count;
	assert_int_equal(tl_store_append(s, &ev), 0);
}

/* Known answers of Debian's GeoIP.dat: GB, US and AU addresses. */
static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct tl_store_opts o = {1ull << 30, false};
	int d;

	strcpy(f->dir, "/tmp/test_query_XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	if (tl_store_open(f->dir, TL_STORE_WRITE, &o, &f->s) < 0)
		return -1;
	/* GB: five years, daily. */
	for (d = 0; d < 5 * 365; d++)
		add(f->s, "81.2.69.142", T2020 - 5 * 365 * DAY + d * DAY, 0, 1);
	/* GB: one loud day, this week. */
	add(f->s, "212.58.244.20", T2020 - 2 * DAY, 0, 900);
	/* US: two years, weekly, with dictionary attacks. */
	for (d = 0; d < 2 * 365; d += 7)
		add(f->s, "8.8.8.8", T2020 - 2 * 365 * DAY + d * DAY, 1, 3);
	/* AU, IPv6 GB, and the zero address first in key order. */
	add(f->s, "1.1.1.1", T2020 - 100 * DAY, 2, 1);
	add(f->s, "0.0.0.0", T2020 - 100 * DAY, 2, 1);
	add(f->s, "2a02:c7f::1", T2020 - 10 * DAY, 3, 1);
	if (tl_store_commit(f->s) < 0)
		return -1;
	tl_geo_open(NULL, &f->geo);
	tl_config_defaults(&f->cfg);
	tl_policy_from_config(&f->pol, &f->cfg);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	char cmd[128];

	tl_store_close(f->s);
	tl_geo_close(f->geo);
	tl_config_free(&f->cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	free(f);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_geo_countries_and_blocks(void **state)
{
	struct fix *f = *state;
	struct tl_ip ip, last;
	char cc[3];

	ip_of("81.2.69.142", &ip);
	tl_geo_country(f->geo, &ip, cc, &last);
	assert_string_equal(cc, "GB");
	/* The block holds the address and every one up to its end. */
	assert_true(tl_ip_cmp(&last, &ip) >= 0);
	tl_geo_country(f->geo, &last, cc, NULL);
	assert_string_equal(cc, "GB");
	ip_of("8.8.8.8", &ip);
	tl_geo_country(f->geo, &ip, cc, NULL);
	assert_string_equal(cc, "US");
	ip_of("2a02:c7f::1", &ip);
	tl_geo_country(f->geo, &ip, cc, NULL);
	assert_string_equal(cc, "GB");
	ip_of("10.1.2.3", &ip);
	tl_geo_country(f->geo, &ip, cc, NULL);
	assert_string_equal(cc, "");
	/* libGeoIP's netmask is stale for the zero address: the block we
	 * report must not run past it, or a country walk would skip all. */
	ip_of("0.0.0.0", &ip);
	tl_geo_country(f->geo, &ip, cc, &last);
	assert_int_equal(tl_ip_cmp(&last, &ip), 0);
	/* No database: unknown, never a crash. */
	tl_geo_country(NULL, &ip, cc, &last);
	assert_string_equal(cc, "");
}

static void test_geo_missing_database(void **state)
{
	struct tl_geo *g = NULL;

	(void)state;
	assert_int_not_equal(tl_geo_open("/nonexistent.mmdb", &g), 0);
	tl_geo_close(g);
	setenv("TRAPLINE_GEOIP_DIR", "/nonexistent", 1);
	assert_int_equal(tl_geo_open(NULL, &g), TL_ENOENT);
	tl_geo_close(g);
	unsetenv("TRAPLINE_GEOIP_DIR");
}

static unsigned run(struct fix *f, struct top_query *q, struct top_row **rows)
{
	unsigned n;
	bool windowed;

	assert_int_equal(top_run(f->s, f->geo, q, rows, &n, &windowed), 0);
	return n;
}

static void test_top_longevity_country(void **state)
{
	struct fix *f = *state;
	struct top_query q = {.by = TOP_LONGEVITY, .kind = -1, .limit = 10};
	struct top_row *rows;
	char buf[TL_IP_STRLEN];
	unsigned n;

	q.latest = tl_day_from_time(T2020);
	memcpy(q.country, "GB", 3);
	n = run(f, &q, &rows);
	assert_int_equal(n, 3);
	tl_ip_format(&rows[0].ip, buf);
	assert_string_equal(buf, "81.2.69.142");
	assert_int_equal(rows[0].h.active_days, 5 * 365);
	/* Equal one-day spans: the later last-seen ranks higher. */
	tl_ip_format(&rows[1].ip, buf);
	assert_string_equal(buf, "212.58.244.20");
	tl_ip_format(&rows[2].ip, buf);
	assert_string_equal(buf, "2a02:c7f::1");
	top_rows_free(rows, n);
}

static void test_top_volume_window_and_kind(void **state)
{
	struct fix *f = *state;
	struct top_query q = {.by = TOP_VOLUME, .kind = -1, .limit = 2};
	struct top_row *rows;
	char buf[TL_IP_STRLEN];
	unsigned n;
	bool windowed;

	q.latest = tl_day_from_time(T2020);
	q.has_since = true;
	q.since = q.latest - 7;
	assert_int_equal(top_run(f->s, f->geo, &q, &rows, &n, &windowed), 0);
	assert_true(windowed);
	assert_int_equal(n, 2);
	tl_ip_format(&rows[0].ip, buf);
	assert_string_equal(buf, "212.58.244.20");
	assert_int_equal(rows[0].volume, 900);
	assert_int_equal(rows[1].volume, 7); /* the daily one: 7 days */
	top_rows_free(rows, n);

	q.has_since = false;
	q.kind = 1;
	n = run(f, &q, &rows);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].volume, 3 * 105);
	top_rows_free(rows, n);
}

static void test_top_network_and_limits(void **state)
{
	struct fix *f = *state;
	struct top_query q = {.by = TOP_RECENT, .kind = -1, .limit = 10};
	struct top_row *rows;
	unsigned n;
	bool windowed;

	assert_int_equal(tl_prefix_parse("8.0.0.0/8", 9, true, &q.network), 0);
	q.has_network = true;
	n = run(f, &q, &rows);
	assert_int_equal(n, 1);
	top_rows_free(rows, n);
	assert_int_equal(tl_prefix_parse("2000::/3", 8, true, &q.network), 0);
	n = run(f, &q, &rows);
	assert_int_equal(n, 1);
	top_rows_free(rows, n);
	q.limit = 0;
	assert_int_equal(top_run(f->s, f->geo, &q, &rows, &n, &windowed),
			 TL_ERANGE);
}

static void test_report_json(void **state)
{
	struct fix *f = *state;
	struct report_ctx ctx = {f->s, f->geo, &f->pol, 0};
	struct tl_history h;
	struct tl_ip ip;
	json_t *o;

	ctx.today = tl_day_from_time(T2020);
	ip_of("81.2.69.142", &ip);
	assert_int_equal(tl_store_get(f->s, &ip, &h), 0);
	o = report_json(&ctx, &ip, &h);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "country")),
			    "GB");
	assert_int_equal(json_integer_value(json_object_get(o, "span_days")),
			 5 * 365);
	assert_true(json_is_true(json_object_get(o, "listed")));
	/* Five steady years: spam and persistent. */
	assert_int_equal(json_array_size(json_object_get(o, "codes")), 2);
	assert_string_equal(json_string_value(json_array_get(
				    json_object_get(o, "codes"), 1)),
			    "127.0.0.6");
	json_decref(o);
	tl_history_free(&h);

	tl_history_init(&h);
	ip_of("192.0.2.1", &ip);
	o = report_json(&ctx, &ip, &h);
	assert_true(json_is_false(json_object_get(o, "seen")));
	assert_true(json_is_null(json_object_get(o, "first_seen")));
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_geo_countries_and_blocks),
		cmocka_unit_test(test_geo_missing_database),
		cmocka_unit_test(test_top_longevity_country),
		cmocka_unit_test(test_top_volume_window_and_kind),
		cmocka_unit_test(test_top_network_and_limits),
		cmocka_unit_test(test_report_json),
	};

	return cmocka_run_group_tests_name("query", tests, setup, teardown);
}
