/* SPDX-License-Identifier: MIT */
/* test_sim.c -- the simulator: determinism, order, addresses, truth */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim.h"
#include "trapline/alloc.h"
#include "trapline/day.h"
#include "trapline/err.h"
#include "trapline/event.h"
#include "trapline/geo.h"

/* One GeoIP handle for the whole run; NULL when the database is absent,
 * and then the tests that need countries skip. */
static struct tl_geo *geo;

static int group_setup(void **state)
{
	(void)state;
	if (tl_geo_open(NULL, &geo) < 0) {
		tl_geo_close(geo);
		geo = NULL;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	tl_geo_close(geo);
	return 0;
}

static void small_config(struct sim_config *cfg)
{
	sim_config_defaults(cfg);
	cfg->years = 3;
	cfg->end = tl_day_from_civil(2020, 6, 30);
	cfg->bots = 3000;
	cfg->spewers = 20;
	cfg->ipv6 = 0.05;
}

/* Everything one run produced, as lines, plus its truth. */
struct run {
	char *text;    /* NDJSON lines, owned */
	size_t len, cap;
	char *truth;   /* truth lines, owned */
	size_t tlen, tcap;
	struct sim_truth *t; /* truth records, owned */
	size_t nt, capt;
	struct sim_stats st;
};

static void append(char **buf, size_t *len, size_t *cap, const char *s,
		   size_t n)
{
	if (*len + n + 1 > *cap) {
		*cap = (*len + n + 1) * 2;
		*buf = realloc(*buf, *cap);
		assert_non_null(*buf);
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
}

static void run_sim(const struct sim_config *cfg, struct tl_geo *g,
		    bool keep_text, struct run *r)
{
	char line[TL_EVENT_NDJSON_MAX];
	const struct sim_event *ev;
	const struct sim_truth *t;
	struct sim *s;
	size_t n, i;
	int rc;

	memset(r, 0, sizeof(*r));
	assert_int_equal(sim_new(cfg, g, &s), 0);
	while ((rc = sim_step(s)) == 1) {
		n = sim_events(s, &ev);
		for (i = 0; keep_text && i < n; i++)
			append(&r->text, &r->len, &r->cap, line,
			       sim_format_ndjson(&ev[i], line));
		n = sim_retired(s, &t);
		for (i = 0; i < n; i++) {
			if (keep_text)
				append(&r->truth, &r->tlen, &r->tcap, line,
				       sim_format_truth(&t[i], line));
			if (r->nt == r->capt) {
				r->capt = r->capt ? r->capt * 2 : 1024;
				r->t = realloc(r->t, r->capt * sizeof(*r->t));
				assert_non_null(r->t);
			}
			r->t[r->nt++] = t[i];
		}
	}
	assert_int_equal(rc, 0);
	/* Past the end it stays over. */
	assert_int_equal(sim_step(s), 0);
	sim_get_stats(s, &r->st);
	sim_free(s);
}

static void free_run(struct run *r)
{
	free(r->text);
	free(r->truth);
	free(r->t);
}

static void test_same_seed_same_stream(void **state)
{
	struct sim_config cfg;
	struct run a, b, c;

	(void)state;
	small_config(&cfg);
	run_sim(&cfg, geo, true, &a);
	run_sim(&cfg, geo, true, &b);
	assert_true(a.len > 0);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.text, b.text, a.len);
	assert_int_equal(a.tlen, b.tlen);
	assert_memory_equal(a.truth, b.truth, a.tlen);

	cfg.seed = 2;
	run_sim(&cfg, geo, true, &c);
	assert_true(a.len != c.len || memcmp(a.text, c.text, a.len) != 0);
	free_run(&a);
	free_run(&b);
	free_run(&c);
}

static void test_time_order(void **state)
{
	struct sim_config cfg;
	const struct sim_event *ev;
	struct sim *s;
	int64_t prev = INT64_MIN;
	tl_day first = 0, d;
	size_t n, i, days = 0, total = 0;

	(void)state;
	small_config(&cfg);
	assert_int_equal(sim_new(&cfg, geo, &s), 0);
	while (sim_step(s) == 1) {
		d = sim_day(s);
		if (days++ == 0)
			first = d;
		assert_int_equal(d, first + (tl_day)days - 1);
		n = sim_events(s, &ev);
		for (i = 0; i < n; i++) {
			assert_true(ev[i].time >= prev);
			assert_int_equal(tl_day_from_time(ev[i].time), d);
			assert_true(ev[i].count >= 1);
			assert_true(ev[i].kind < TL_KIND_COUNT);
			prev = ev[i].time;
		}
		total += n;
	}
	/* 3 years of 365 days plus the leap-year allowance, ending on the
	 * configured day. */
	assert_int_equal(days, 3 * 365);
	assert_int_equal(first + (tl_day)days - 1, cfg.end);
	assert_true(total > 10000);
	sim_free(s);
}

/* An independent list of space no sender may have (RFC 6890 and co.). */
static const char *const reserved[] = {
	"0.0.0.0/8",      "10.0.0.0/8",      "100.64.0.0/10",
	"127.0.0.0/8",    "169.254.0.0/16",  "172.16.0.0/12",
	"192.0.0.0/24",   "192.0.2.0/24",    "192.88.99.0/24",
	"192.168.0.0/16", "198.18.0.0/15",   "198.51.100.0/24",
	"203.0.113.0/24", "224.0.0.0/3",     "::/3",
	"4000::/2",       "8000::/1",        "2001::/23",
	"2001:db8::/32",  "2002::/16",       "3fff::/20",
};

static void check_addresses(struct tl_geo *g)
{
	struct tl_prefix p[sizeof(reserved) / sizeof(reserved[0])];
	const struct sim_event *ev;
	struct sim_config cfg;
	struct sim *s;
	size_t n, i, k, v6 = 0, total = 0;

	for (k = 0; k < sizeof(p) / sizeof(p[0]); k++)
		assert_int_equal(tl_prefix_parse(reserved[k],
						 strlen(reserved[k]), true,
						 &p[k]),
				 0);
	small_config(&cfg);
	cfg.ipv6 = 0.3;
	assert_int_equal(sim_new(&cfg, g, &s), 0);
	while (sim_step(s) == 1) {
		n = sim_events(s, &ev);
		for (i = 0; i < n; i++) {
			for (k = 0; k < sizeof(p) / sizeof(p[0]); k++) {
				if (tl_prefix_contains(&p[k], &ev[i].ip)) {
					char buf[TL_IP_STRLEN];

					tl_ip_format(&ev[i].ip, buf);
					fail_msg("%s is in %s", buf,
						 reserved[k]);
				}
			}
			v6 += ev[i].ip.family == 6;
			total++;
		}
	}
	/* A 30% IPv6 population sends some of the traffic. */
	assert_true(v6 > total / 20);
	sim_free(s);
}

static void test_no_reserved_addresses(void **state)
{
	(void)state;
	check_addresses(geo); /* NULL when absent: the fallback again */
}

static void test_no_reserved_addresses_fallback(void **state)
{
	struct sim_config cfg;
	struct sim_stats st;
	struct sim *s;

	(void)state;
	check_addresses(NULL);
	small_config(&cfg);
	assert_int_equal(sim_new(&cfg, NULL, &s), 0);
	sim_get_stats(s, &st);
	assert_false(st.geo_v4);
	assert_false(st.geo_v6);
	sim_free(s);
}

static int cmp_truth_ip(const void *a, const void *b)
{
	return tl_ip_cmp(&((const struct sim_truth *)a)->ip,
			 &((const struct sim_truth *)b)->ip);
}

static const struct sim_truth *find_truth(const struct run *r,
					  const struct tl_ip *ip)
{
	struct sim_truth key;

	memset(&key, 0, sizeof(key));
	key.ip = *ip;
	return bsearch(&key, r->t, r->nt, sizeof(*r->t), cmp_truth_ip);
}

/* Every sender has one truth line whose days match its events, and every
 * truth line has events. */
static void test_truth_covers_every_ip(void **state)
{
	struct sim_config cfg;
	const struct sim_event *ev;
	struct sim *s;
	struct run r;
	uint8_t *seen;
	tl_day *first, *last;
	size_t n, i, k;

	(void)state;
	small_config(&cfg);
	run_sim(&cfg, geo, false, &r);
	qsort(r.t, r.nt, sizeof(*r.t), cmp_truth_ip);
	for (k = 1; k < r.nt; k++)
		assert_true(tl_ip_cmp(&r.t[k - 1].ip, &r.t[k].ip) < 0);
	assert_int_equal(r.nt, cfg.bots + cfg.spewers);
	assert_int_equal(r.st.ips, r.nt);

	seen = calloc(r.nt, 1);
	first = calloc(r.nt, sizeof(*first));
	last = calloc(r.nt, sizeof(*last));
	assert_non_null(seen);
	assert_non_null(first);
	assert_non_null(last);
	assert_int_equal(sim_new(&cfg, geo, &s), 0);
	while (sim_step(s) == 1) {
		n = sim_events(s, &ev);
		for (i = 0; i < n; i++) {
			const struct sim_truth *t = find_truth(&r, &ev[i].ip);
			tl_day d = tl_day_from_time(ev[i].time);

			assert_non_null(t);
			k = (size_t)(t - r.t);
			if (!seen[k])
				first[k] = d;
			seen[k] = 1;
			last[k] = d;
			if (t->cls == SIM_DICTIONARY)
				assert_true(ev[i].kind == TL_KIND_DICTIONARY);
			if (t->cls == SIM_AUTH)
				assert_true(ev[i].kind == TL_KIND_AUTH);
			if (t->cls == SIM_SPEWER && ev[i].kind == TL_KIND_SPAM)
				assert_true(ev[i].count >= 2);
		}
	}
	for (k = 0; k < r.nt; k++) {
		assert_true(seen[k]);
		assert_int_equal(first[k], r.t[k].first);
		assert_int_equal(last[k], r.t[k].last);
		assert_true(r.t[k].cls < SIM_CLASSES);
		if (geo)
			assert_int_equal(strlen(r.t[k].cc), 2);
	}
	sim_free(s);
	free(seen);
	free(first);
	free(last);
	free_run(&r);
}

static void test_class_mix(void **state)
{
	struct sim_config cfg;
	struct run r;
	size_t k, short_lived = 0, churn = 0, gb = 0, v6 = 0;
	uint64_t bots;

	(void)state;
	small_config(&cfg);
	cfg.bots = 20000;
	cfg.spewers = 100;
	run_sim(&cfg, geo, false, &r);
	bots = cfg.bots;
	assert_int_equal(r.st.cls[SIM_SPEWER], cfg.spewers);
	assert_int_equal(r.st.cls[SIM_BOT] + r.st.cls[SIM_DICTIONARY] +
				 r.st.cls[SIM_AUTH] + r.st.cls[SIM_MALWARE],
			 bots);
	/* 88%, 4%, 5% and 3%, give or take the draw. */
	assert_in_range(r.st.cls[SIM_BOT], bots * 85 / 100, bots * 91 / 100);
	assert_in_range(r.st.cls[SIM_DICTIONARY], bots * 25 / 1000,
			bots * 55 / 1000);
	assert_in_range(r.st.cls[SIM_AUTH], bots * 35 / 1000,
			bots * 65 / 1000);
	assert_in_range(r.st.cls[SIM_MALWARE], bots * 15 / 1000,
			bots * 45 / 1000);
	assert_in_range(r.st.ips_v6, r.st.ips * 3 / 100, r.st.ips * 7 / 100);
	for (k = 0; k < r.nt; k++) {
		v6 += r.t[k].ip.family == 6;
		if (r.t[k].cls == SIM_SPEWER)
			continue;
		churn++;
		/* Most churning hosts are seen for days, not years. */
		short_lived += r.t[k].last - r.t[k].first < 5;
		gb += strcmp(r.t[k].cc, "GB") == 0;
	}
	assert_int_equal(v6, r.st.ips_v6);
	assert_true(short_lived > churn * 7 / 10);
	if (geo) /* about 3% British */
		assert_in_range(gb, churn / 100, churn * 6 / 100);
	free_run(&r);
}

/* A spewer in GB spans the whole period: top --by longevity has an answer. */
static void test_british_veteran(void **state)
{
	struct sim_config cfg;
	struct run r;
	size_t k, full = 0, spewers = 0, long_ones = 0;
	tl_day start;

	(void)state;
	if (!geo)
		skip();
	sim_config_defaults(&cfg);
	cfg.end = tl_day_from_civil(2026, 11, 27);
	cfg.bots = 1000;
	run_sim(&cfg, geo, false, &r);
	start = cfg.end - (20 * 365 + 5) + 1;
	for (k = 0; k < r.nt; k++) {
		if (r.t[k].cls != SIM_SPEWER)
			continue;
		spewers++;
		if (r.t[k].last - r.t[k].first >= 5 * 365)
			long_ones++;
		if (strcmp(r.t[k].cc, "GB") == 0 && r.t[k].first == start &&
		    r.t[k].last == cfg.end)
			full++;
	}
	assert_int_equal(spewers, 300);
	assert_int_equal(full, 1);
	assert_true(long_ones > 30);
	free_run(&r);
}

/* The fast writer and tl_event_format_ndjson agree byte for byte, and
 * the lines are JSON with the fields DESIGN.md names. */
static void test_ndjson_matches_event_writer(void **state)
{
	char fast[TL_EVENT_NDJSON_MAX], ref[TL_EVENT_NDJSON_MAX];
	char csv[SIM_LINE_MAX], ip[TL_IP_STRLEN];
	const struct sim_event *ev;
	struct sim_config cfg;
	struct tl_event te;
	struct sim *s;
	size_t n, i, nf, nr, checked = 0, tagged = 0, v6 = 0;
	json_t *j;

	(void)state;
	small_config(&cfg);
	cfg.ipv6 = 0.2;
	assert_int_equal(sim_new(&cfg, geo, &s), 0);
	while (sim_step(s) == 1) {
		n = sim_events(s, &ev);
		for (i = 0; i < n; i++) {
			nf = sim_format_ndjson(&ev[i], fast);
			sim_event_to_tl(&ev[i], &te);
			nr = tl_event_format_ndjson(&te, ref);
			assert_int_equal(nf, nr);
			assert_string_equal(fast, ref);
			tagged += ev[i].tags != 0;
			v6 += ev[i].ip.family == 6;
			if (checked++ % 97)
				continue;
			j = json_loads(fast, JSON_DISABLE_EOF_CHECK, NULL);
			assert_non_null(j);
			assert_true(json_is_string(json_object_get(j, "time")));
			assert_true(json_is_string(json_object_get(j, "ip")));
			assert_true(json_is_string(json_object_get(j, "kind")));
			assert_true(
				json_is_integer(json_object_get(j, "count")));
			json_decref(j);

			tl_ip_format(&ev[i].ip, ip);
			sim_format_csv(&ev[i], csv);
			assert_memory_equal(csv, fast + 9, 20); /* the time */
			assert_non_null(strstr(csv, ip));
			assert_int_equal(csv[strlen(csv) - 1], '\n');
		}
	}
	assert_true(tagged > 0);
	assert_true(v6 > 0);
	sim_free(s);
}

static void test_bad_config(void **state)
{
	struct sim_config cfg;
	struct sim *s = (struct sim *)&cfg;

	(void)state;
	small_config(&cfg);
	cfg.years = 0;
	assert_int_equal(sim_new(&cfg, NULL, &s), TL_EINVAL);
	assert_null(s);
	cfg.years = SIM_YEARS_MAX + 1;
	assert_int_equal(sim_new(&cfg, NULL, &s), TL_EINVAL);
	small_config(&cfg);
	cfg.ipv6 = 1.5;
	assert_int_equal(sim_new(&cfg, NULL, &s), TL_EINVAL);
	small_config(&cfg);
	cfg.bots = SIM_BOTS_MAX + 1;
	assert_int_equal(sim_new(&cfg, NULL, &s), TL_EINVAL);
	small_config(&cfg);
	cfg.end = tl_day_from_civil(1972, 1, 1);
	assert_int_equal(sim_new(&cfg, NULL, &s), TL_ERANGE);
}

/* Zero of everything is a valid, empty stream. */
static void test_empty_population(void **state)
{
	struct sim_config cfg;
	struct run r;

	(void)state;
	small_config(&cfg);
	cfg.bots = 0;
	cfg.spewers = 0;
	run_sim(&cfg, NULL, true, &r);
	assert_int_equal(r.len, 0);
	assert_int_equal(r.nt, 0);
	assert_int_equal(r.st.events, 0);
	free_run(&r);
}

/* Every allocation can fail; each failure is reported, nothing leaks
 * (LeakSanitizer watches). */
static void test_allocation_failure(void **state)
{
	struct sim_config cfg;
	struct sim *s;
	unsigned long nth;
	int rc, failures = 0;

	(void)state;
	small_config(&cfg);
	cfg.bots = 200;
	cfg.spewers = 3;
	for (nth = 1; nth < 1000; nth++) {
		tl_alloc_fail_after(nth);
		rc = sim_new(&cfg, NULL, &s);
		if (rc == 0) {
			while ((rc = sim_step(s)) == 1)
				;
			sim_free(s);
		}
		tl_alloc_fail_after(0);
		if (rc == 0)
			break;
		assert_int_equal(rc, TL_ENOMEM);
		failures++;
	}
	assert_true(failures > 5);
	assert_true(nth < 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_seed_same_stream),
		cmocka_unit_test(test_time_order),
		cmocka_unit_test(test_no_reserved_addresses),
		cmocka_unit_test(test_no_reserved_addresses_fallback),
		cmocka_unit_test(test_truth_covers_every_ip),
		cmocka_unit_test(test_class_mix),
		cmocka_unit_test(test_british_veteran),
		cmocka_unit_test(test_ndjson_matches_event_writer),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_empty_population),
		cmocka_unit_test(test_allocation_failure),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
