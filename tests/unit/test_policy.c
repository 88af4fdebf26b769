/* SPDX-License-Identifier: MIT */
/* test_policy.c -- listing decisions: expiry, never-list, codes */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "trapline/err.h"
#include "trapline/policy.h"

#define D0 12478 /* 2004-03-01, a Monday */

static struct tl_config cfg;
static struct tl_policy pol;

static int setup(void **state)
{
	(void)state;
	if (tl_config_defaults(&cfg) != 0)
		return -1;
	tl_policy_from_config(&pol, &cfg);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tl_config_free(&cfg);
	return 0;
}

static struct tl_ip ip_of(const char *s)
{
	struct tl_ip ip;

	if (tl_ip_parse(s, strlen(s), &ip) != 0)
		fail_msg("bad ip %s", s);
	return ip;
}

static void add(struct tl_history *h, tl_day d, enum tl_kind kind)
{
	assert_int_equal(tl_history_add(h, (int64_t)d * 86400 + 3600, kind, 1,
					NULL, 0),
			 0);
}

static void decide(const char *ip, const struct tl_history *h, tl_day today,
		   struct tl_listing *out)
{
	struct tl_ip a = ip_of(ip);

	memset(out, 0x5a, sizeof(*out));
	tl_policy_decide(&pol, &a, h, today, out);
	assert_non_null(memchr(out->why, '\0', sizeof(out->why)));
	assert_true(strlen(out->why) > 0);
	assert_true(out->ncodes <= TL_LISTING_CODES);
	if (!out->listed)
		assert_int_equal(out->ncodes, 0);
}

static void test_from_config(void **state)
{
	(void)state;
	assert_int_equal(pol.expire_days, cfg.expire_days);
	assert_int_equal(pol.hiatus_days, cfg.hiatus_days);
	assert_int_equal(pol.persistent_days, cfg.persistent_days);
	assert_true(pol.persistent_steadiness == cfg.persistent_steadiness);
	assert_ptr_equal(pol.never, cfg.never_list);
	assert_int_equal(pol.nnever, cfg.never_list_len);
}

static void test_expiry(void **state)
{
	struct tl_history h;
	struct tl_listing l;

	(void)state;
	tl_history_init(&h);
	add(&h, D0, TL_KIND_SPAM);
	decide("198.51.99.1", &h, D0, &l);
	assert_true(l.listed);
	assert_int_equal(l.ncodes, 1);
	assert_int_equal(l.codes[0], TL_CODE_SPAM);
	decide("198.51.99.1", &h, D0 + pol.expire_days, &l);
	assert_true(l.listed);
	decide("198.51.99.1", &h, D0 + pol.expire_days + 1, &l);
	assert_false(l.listed);
	assert_non_null(strstr(l.why, "quiet"));
	decide("198.51.99.1", &h, D0 + 1000, &l);
	assert_false(l.listed);
	/* new activity lists it again: now a repeat offender, whose
	 * listing lasts repeat_expire_days */
	add(&h, D0 + 1000, TL_KIND_SPAM);
	decide("198.51.99.1", &h, D0 + 1000, &l);
	assert_true(l.listed);
	assert_non_null(strstr(l.why, "repeat offender"));
	decide("198.51.99.1", &h, D0 + 1000 + pol.repeat_expire_days, &l);
	assert_true(l.listed);
	decide("198.51.99.1", &h, D0 + 1001 + pol.repeat_expire_days, &l);
	assert_false(l.listed);
	assert_non_null(strstr(l.why, "repeat offender"));
	/* shorter expiries */
	pol.expire_days = 0;
	pol.repeat_expire_days = 0;
	decide("198.51.99.1", &h, D0 + 1000, &l);
	assert_true(l.listed);
	decide("198.51.99.1", &h, D0 + 1001, &l);
	assert_false(l.listed);
	pol.expire_days = cfg.expire_days;
	pol.repeat_expire_days = cfg.repeat_expire_days;
	tl_history_free(&h);

	/* a gap no longer than expire_days is no repeat */
	tl_history_init(&h);
	add(&h, D0, TL_KIND_SPAM);
	add(&h, D0 + 1 + pol.expire_days, TL_KIND_SPAM);
	assert_false(tl_policy_is_repeat(&pol, &h));
	decide("198.51.99.1", &h, D0 + 2 + 2 * pol.expire_days, &l);
	assert_false(l.listed);
	add(&h, D0 + 3 + 3 * pol.expire_days, TL_KIND_SPAM);
	assert_true(tl_policy_is_repeat(&pol, &h));
	tl_history_free(&h);

	/* never seen */
	tl_history_init(&h);
	decide("198.51.99.1", &h, D0, &l);
	assert_false(l.listed);
}

static void test_never_list(void **state)
{
	static const char *const never[] = {
		"10.1.2.3", "192.168.0.1", "127.0.0.2", "172.16.0.1",
		"192.0.2.1", "::1", "fe80::1", "2001:db8::5", "fd00::1",
		"::ffff:10.0.0.1",
	};
	struct tl_history h;
	struct tl_listing l;
	struct tl_ip a;
	size_t i;

	(void)state;
	tl_history_init(&h);
	add(&h, D0, TL_KIND_SPAM);
	add(&h, D0, TL_KIND_MALWARE);
	for (i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
		a = ip_of(never[i]);
		assert_true(tl_policy_is_never(&pol, &a));
		decide(never[i], &h, D0, &l);
		if (l.listed)
			fail_msg("%s listed", never[i]);
		assert_int_equal(l.ncodes, 0);
	}
	a = ip_of("8.8.8.8");
	assert_false(tl_policy_is_never(&pol, &a));
	decide("8.8.8.8", &h, D0, &l);
	assert_true(l.listed);
	a = ip_of("2a00:1450::1");
	assert_false(tl_policy_is_never(&pol, &a));

	/* an operator's own list */
	{
		struct tl_config c2;

		assert_int_equal(tl_config_defaults(&c2), 0);
		assert_int_equal(tl_config_load_string(&c2, "[policy]\n"
							    "never_list = "
							    "8.8.8.0/24\n"),
				 0);
		tl_policy_from_config(&pol, &c2);
		a = ip_of("8.8.8.8");
		assert_true(tl_policy_is_never(&pol, &a));
		decide("8.8.8.8", &h, D0, &l);
		assert_false(l.listed);
		decide("10.1.2.3", &h, D0, &l); /* the defaults are replaced */
		assert_true(l.listed);
		tl_config_free(&c2);
		tl_policy_from_config(&pol, &cfg);
	}
	tl_history_free(&h);
}

static void test_codes_per_kind(void **state)
{
	struct tl_history h;
	struct tl_listing l;

	(void)state;
	tl_history_init(&h);
	add(&h, D0, TL_KIND_AUTH);
	decide("203.0.114.1", &h, D0, &l);
	assert_true(l.listed);
	assert_int_equal(l.ncodes, 1);
	assert_int_equal(l.codes[0], TL_CODE_AUTH);
	add(&h, D0, TL_KIND_SPAM);
	decide("203.0.114.1", &h, D0, &l);
	assert_int_equal(l.ncodes, 2);
	assert_int_equal(l.codes[0], TL_CODE_SPAM);
	assert_int_equal(l.codes[1], TL_CODE_AUTH);
	add(&h, D0, TL_KIND_MALWARE);
	add(&h, D0, TL_KIND_DICTIONARY);
	decide("2a00:1450::1", &h, D0, &l);
	assert_int_equal(l.ncodes, 4);
	assert_int_equal(l.codes[0], TL_CODE_SPAM);
	assert_int_equal(l.codes[1], TL_CODE_DICTIONARY);
	assert_int_equal(l.codes[2], TL_CODE_AUTH);
	assert_int_equal(l.codes[3], TL_CODE_MALWARE);
	tl_history_free(&h);

	assert_string_equal(tl_code_name(TL_CODE_SPAM), "127.0.0.2");
	assert_string_equal(tl_code_name(TL_CODE_DICTIONARY), "127.0.0.3");
	assert_string_equal(tl_code_name(TL_CODE_AUTH), "127.0.0.4");
	assert_string_equal(tl_code_name(TL_CODE_MALWARE), "127.0.0.5");
	assert_string_equal(tl_code_name(TL_CODE_PERSISTENT), "127.0.0.6");
	assert_string_equal(tl_code_name(TL_CODE_OPERATOR), "127.0.0.10");
	assert_non_null(tl_code_name(0));
	assert_non_null(tl_code_name(255));
}

static void test_persistent(void **state)
{
	struct tl_history h;
	struct tl_listing l;
	tl_day d;

	(void)state;
	/* two years, every day */
	tl_history_init(&h);
	for (d = 0; d < 730; d++)
		add(&h, D0 + d, TL_KIND_SPAM);
	decide("203.0.114.2", &h, D0 + 729, &l);
	assert_true(l.listed);
	assert_int_equal(l.ncodes, 2);
	assert_int_equal(l.codes[0], TL_CODE_SPAM);
	assert_int_equal(l.codes[1], TL_CODE_PERSISTENT);
	assert_non_null(strstr(l.why, "persistent"));
	/* quiet: a persistent address stays listed longer */
	decide("203.0.114.2", &h, D0 + 729 + pol.persistent_expire_days, &l);
	assert_true(l.listed);
	assert_non_null(strstr(l.why, "persistent address"));
	/* lapsed: no code at all */
	decide("203.0.114.2", &h, D0 + 730 + pol.persistent_expire_days, &l);
	assert_false(l.listed);
	assert_int_equal(l.ncodes, 0);
	/* the period comes from the policy */
	pol.persistent_expire_days = 3;
	decide("203.0.114.2", &h, D0 + 729 + 3 + 1, &l);
	assert_true(l.listed == (3 + 1 <= pol.expire_days));
	pol.persistent_expire_days = cfg.persistent_expire_days;
	tl_history_free(&h);

	/* two years, one day a month: long but not steady */
	tl_history_init(&h);
	for (d = 0; d < 730; d += 30)
		add(&h, D0 + d, TL_KIND_SPAM);
	decide("203.0.114.3", &h, D0 + 720, &l);
	assert_true(l.listed);
	assert_int_equal(l.ncodes, 1);
	tl_history_free(&h);

	/* steady, but half a year */
	tl_history_init(&h);
	for (d = 0; d < 180; d++)
		add(&h, D0 + d, TL_KIND_AUTH);
	decide("203.0.114.4", &h, D0 + 179, &l);
	assert_true(l.listed);
	assert_int_equal(l.ncodes, 1);
	assert_int_equal(l.codes[0], TL_CODE_AUTH);
	/* the thresholds come from the policy */
	pol.persistent_days = 150;
	decide("203.0.114.4", &h, D0 + 179, &l);
	assert_int_equal(l.ncodes, 2);
	assert_int_equal(l.codes[1], TL_CODE_PERSISTENT);
	pol.persistent_days = cfg.persistent_days;
	tl_history_free(&h);

	/* one day a week for a year and a half: every week active */
	tl_history_init(&h);
	for (d = 0; d < 550; d += 7)
		add(&h, D0 + d, TL_KIND_SPAM);
	decide("203.0.114.5", &h, D0 + 546, &l);
	assert_int_equal(l.ncodes, 2);
	assert_int_equal(l.codes[1], TL_CODE_PERSISTENT);
	tl_history_free(&h);
}

/*
 * A record read from the store can say "active" with no events counted
 * (tl_history_decode accepts an empty kind mask). Deciding on it must not
 * read outside the listing, and a listing must carry at least one code.
 */
static void test_no_counts(void **state)
{
	static const uint8_t rec[] = {
		1,    /* version */
		0xbe, 0x61, /* first: day 12478 */
		0,    /* last - first */
		1,    /* active days */
		0, 0, /* first_time, last_time seconds */
		0,    /* kinds mask: nothing counted */
		0, 0, 0, /* tags dropped, ntags, nrecent */
		1, 0, 0, /* one run of one day */
	};
	struct tl_history h;
	struct tl_listing l;

	(void)state;
	tl_history_init(&h);
	/* An active day without a single event is not a record: refused. */
	assert_int_equal(tl_history_decode(&h, rec, sizeof(rec), false),
			 TL_ECORRUPT);
	/* Built in memory all the same, it is never listed without codes. */
	assert_int_equal(tl_history_add_day(&h, D0), 0);
	h.first = h.last = D0;
	decide("203.0.114.9", &h, D0, &l);
	assert_false(l.listed);
	assert_int_equal(l.ncodes, 0);
	tl_history_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_from_config),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_never_list),
		cmocka_unit_test(test_codes_per_kind),
		cmocka_unit_test(test_persistent),
		cmocka_unit_test(test_no_counts),
	};

	return cmocka_run_group_tests_name("policy", tests, setup, teardown);
}
