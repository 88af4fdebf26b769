/* SPDX-License-Identifier: MIT */
/* test_oplist.c -- operator listings, the allowlist, interval algebra */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/oplist.h"
#include "trapline/config.h"
#include "trapline/err.h"
#include "trapline/policy.h"

static struct tl_ip ip_of(const char *s)
{
	struct tl_ip ip;

	if (tl_ip_parse(s, strlen(s), &ip) != 0)
		fail_msg("bad ip %s", s);
	return ip;
}

static struct tl_iv iv(unsigned lo, unsigned hi, tl_day day)
{
	struct tl_iv v = {lo, hi, day};

	return v;
}

static struct tl_op_entry entry(uint8_t kind, const char *pfx,
				const char *reason)
{
	struct tl_op_entry e;

	memset(&e, 0, sizeof(e));
	e.kind = kind;
	if (tl_prefix_parse(pfx, strlen(pfx), true, &e.pfx) != 0)
		fail_msg("bad prefix %s", pfx);
	e.added = (int64_t)tl_day_from_civil(2026, 11, 1) * 86400;
	e.expires = TL_OPLIST_NO_EXPIRY;
	strcpy(e.who, "alice");
	strcpy(e.reason, reason);
	return e;
}

/* ---- intervals ----------------------------------------------------------- */

static void test_union_merges_overlaps_and_neighbours(void **state)
{
	struct tl_iv v[] = {
		iv(50, 60, 5), iv(10, 20, 3), iv(15, 30, 1), iv(31, 40, 7),
		iv(100, 100, 2), iv(42, 45, 9), iv(12, 13, 0),
	};
	size_t n;

	(void)state;
	n = tl_iv_union(v, sizeof(v) / sizeof(v[0]));
	assert_int_equal(n, 4);
	/* 10..40: overlapping 10-20/15-30/12-13 and adjacent 31-40 */
	assert_true(v[0].lo == 10 && v[0].hi == 40);
	assert_int_equal(v[0].day, 0); /* the earliest day of its parts */
	assert_true(v[1].lo == 42 && v[1].hi == 45); /* 41 is a gap */
	assert_true(v[2].lo == 50 && v[2].hi == 60);
	assert_true(v[3].lo == 100 && v[3].hi == 100);
	assert_int_equal(tl_iv_union(v, 0), 0);
}

static void test_union_at_the_top_of_the_space(void **state)
{
	tl_u128 top = ~(tl_u128)0;
	struct tl_iv v[2];

	(void)state;
	v[0].lo = top - 10;
	v[0].hi = top;
	v[0].day = 1;
	v[1].lo = top - 3;
	v[1].hi = top;
	v[1].day = 1;
	assert_int_equal(tl_iv_union(v, 2), 1);
	assert_true(v[0].lo == top - 10 && v[0].hi == top);
}

static void test_subtract(void **state)
{
	struct tl_iv a[] = {iv(0, 255, 1), iv(300, 400, 2), iv(500, 500, 3)};
	struct tl_iv b[] = {iv(0, 0, 0), iv(10, 19, 0), iv(255, 310, 0),
			    iv(390, 600, 0)};
	struct tl_iv out[8];
	size_t n;

	(void)state;
	n = tl_iv_subtract(a, 3, b, 4, out);
	assert_int_equal(n, 3);
	assert_true(out[0].lo == 1 && out[0].hi == 9 && out[0].day == 1);
	assert_true(out[1].lo == 20 && out[1].hi == 254);
	assert_true(out[2].lo == 311 && out[2].hi == 389 && out[2].day == 2);
	/* nothing to take away; everything taken away */
	n = tl_iv_subtract(a, 3, NULL, 0, out);
	assert_int_equal(n, 3);
	b[0] = iv(0, 1000, 0);
	assert_int_equal(tl_iv_subtract(a, 3, b, 1, out), 0);
	/* a hole in the middle splits one in two */
	b[0] = iv(100, 100, 0);
	n = tl_iv_subtract(a, 1, b, 1, out);
	assert_int_equal(n, 2);
	assert_true(out[0].hi == 99 && out[1].lo == 101 && out[1].hi == 255);
}

static void test_find_and_cidr(void **state)
{
	struct tl_iv v[] = {iv(10, 20, 0), iv(30, 30, 0), iv(40, 50, 0)};
	tl_u128 top = ~(tl_u128)0;

	(void)state;
	assert_int_equal(tl_iv_find(v, 3, 9), -1);
	assert_int_equal(tl_iv_find(v, 3, 10), 0);
	assert_int_equal(tl_iv_find(v, 3, 20), 0);
	assert_int_equal(tl_iv_find(v, 3, 21), -1);
	assert_int_equal(tl_iv_find(v, 3, 30), 1);
	assert_int_equal(tl_iv_find(v, 3, 45), 2);
	assert_int_equal(tl_iv_find(v, 3, 51), -1);
	assert_int_equal(tl_iv_find(v, 0, 5), -1);
	/* 203.0.113.0-203.0.113.6 = /30 + /31 + /32 */
	assert_int_equal(tl_iv_cidr(0xcb007100, 0xcb007106, 32), 30);
	assert_int_equal(tl_iv_cidr(0xcb007104, 0xcb007106, 32), 31);
	assert_int_equal(tl_iv_cidr(0xcb007106, 0xcb007106, 32), 32);
	assert_int_equal(tl_iv_cidr(0, 0xffffffff, 32), 0);
	assert_int_equal(tl_iv_cidr(1, 0xffffffff, 32), 32);
	assert_int_equal(tl_iv_cidr(0, top, 128), 0);
	assert_int_equal(tl_iv_cidr(0, top >> 1, 128), 1);
	assert_int_equal(tl_iv_cidr(top, top, 128), 128);
}

/* ---- the file ------------------------------------------------------------ */

static void test_parse_and_format_round_trip(void **state)
{
	static const char text[] =
		"# a comment\n"
		"\n"
		"list\t203.0.113.0/24\t1795700000\t-\talice\tspamming hoster\n"
		"allow\t203.0.113.7/32\t1795700000\t2027-01-01\tbob@x\tpartner "
		"relay \xc3\xa9\r\n"
		"list\t2001:db8::/48\t1795700001\t-\talice\tv6 hoster";
	struct tl_oplist l, m;
	unsigned line = 0;
	char *out;
	size_t len;

	(void)state;
	tl_oplist_init(&l);
	tl_oplist_init(&m);
	assert_int_equal(tl_oplist_parse(text, strlen(text), &l, &line), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.e[0].kind, TL_OP_LIST);
	assert_int_equal(l.e[0].pfx.len, 24);
	assert_int_equal(l.e[1].kind, TL_OP_ALLOW);
	assert_int_equal(l.e[1].expires, tl_day_from_civil(2027, 1, 1));
	assert_string_equal(l.e[1].who, "bob@x");
	assert_string_equal(l.e[1].reason, "partner relay \xc3\xa9");
	assert_int_equal(l.e[2].pfx.ip.family, 6);
	assert_int_equal(tl_oplist_format(&l, &out, &len), 0);
	assert_int_equal(tl_oplist_parse(out, len, &m, &line), 0);
	assert_int_equal(m.n, 3);
	assert_memory_equal(l.e, m.e, 3 * sizeof(*l.e));
	free(out);
	tl_oplist_free(&l);
	tl_oplist_free(&m);
}

static void test_hostile_lines_are_refused(void **state)
{
	static const char *const bad[] = {
		"deny\t1.2.3.4\t1\t-\ta\tr\n",            /* kind */
		"list\t1.2.3.4/24\t1\t-\ta\tr\n",         /* host bits */
		"list\t1.2.3.4/33\t1\t-\ta\tr\n",         /* length */
		"list\tfoo\t1\t-\ta\tr\n",                /* address */
		"list\t1.2.3.4\t-1\t-\ta\tr\n",           /* time */
		"list\t1.2.3.4\t1\t2026-02-30\ta\tr\n",   /* date */
		"list\t1.2.3.4\t1\t-\ta b\tr\n",          /* user */
		"list\t1.2.3.4\t1\t-\ta\t\n",             /* empty reason */
		"list\t1.2.3.4\t1\t-\ta\tr\x01x\n",       /* control */
		"list\t1.2.3.4\t1\t-\ta\tr\tx\n",         /* tab in reason */
		"list\t1.2.3.4\t1\t-\ta\t\xff\xfe\n",     /* not UTF-8 */
		"list\t1.2.3.4\t1\t-\ta\n",               /* short */
		"list\t1.2.3.4\t1\t-\ta\tr\nlist\t1.2.3.4/32\t2\t-\tb\ts\n",
	};
	struct tl_oplist l;
	unsigned line, i;
	char longr[TL_OPLIST_REASON_MAX + 64];

	(void)state;
	tl_oplist_init(&l);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		line = 0;
		assert_int_equal(
			tl_oplist_parse(bad[i], strlen(bad[i]), &l, &line),
			TL_ECORRUPT);
		assert_true(line >= 1);
		assert_int_equal(l.n, 0);
	}
	/* the duplicate is on line 2 */
	tl_oplist_parse(bad[12], strlen(bad[12]), &l, &line);
	assert_int_equal(line, 2);
	/* a reason over the limit */
	memset(longr, 'x', sizeof(longr));
	memcpy(longr, "list\t1.2.3.4\t1\t-\ta\t", 19);
	longr[sizeof(longr) - 1] = '\0';
	assert_int_equal(tl_oplist_parse(longr, strlen(longr), &l, &line),
			 TL_ECORRUPT);
	/* a NUL inside a field */
	assert_int_equal(tl_oplist_parse("list\t1.2.3.4\t1\t-\ta\tr\0x", 23,
					 &l, &line),
			 TL_ECORRUPT);
	assert_true(tl_oplist_reason_ok("ok reason"));
	assert_false(tl_oplist_reason_ok(" lead"));
	assert_false(tl_oplist_reason_ok("trail "));
	assert_false(tl_oplist_reason_ok("c1 \xc2\x85 control"));
	assert_false(tl_oplist_who_ok(""));
	assert_false(tl_oplist_who_ok("a/b"));
}

static void test_put_del_prune_and_limit(void **state)
{
	struct tl_oplist l;
	struct tl_op_entry e = entry(TL_OP_LIST, "192.0.2.0/24", "first");
	unsigned i;

	(void)state;
	tl_oplist_init(&l);
	assert_int_equal(tl_oplist_put(&l, &e), 0);
	strcpy(e.reason, "second");
	assert_int_equal(tl_oplist_put(&l, &e), 0); /* replaces */
	assert_int_equal(l.n, 1);
	assert_string_equal(l.e[0].reason, "second");
	e.kind = TL_OP_ALLOW; /* same prefix, other kind: a second entry */
	assert_int_equal(tl_oplist_put(&l, &e), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(tl_oplist_del(&l, TL_OP_LIST, &e.pfx), 0);
	assert_int_equal(tl_oplist_del(&l, TL_OP_LIST, &e.pfx), TL_ENOENT);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.e[0].kind, TL_OP_ALLOW);
	l.e[0].expires = 100;
	assert_int_equal(tl_oplist_prune(&l, 99), 0);
	assert_int_equal(tl_oplist_prune(&l, 100), 1);
	assert_int_equal(l.n, 0);
	/* A file of more entries than the limit is refused. */
	{
		size_t cap = (size_t)(TL_OPLIST_MAX + 2) * 32, o = 0;
		char *text = malloc(cap);
		unsigned line = 0;

		assert_non_null(text);
		for (i = 0; i <= TL_OPLIST_MAX; i++)
			o += (size_t)snprintf(text + o, cap - o,
					      "list\t10.%u.%u.0/24\t1\t-\ta\tr\n",
					      i >> 8 & 255, i & 255);
		/* the first 65536 differ; entry 65537 repeats 10.0.0.0 */
		assert_int_equal(tl_oplist_parse(text, o, &l, &line),
				 TL_ELIMIT);
		assert_int_equal(line, TL_OPLIST_MAX + 1);
		/* and exactly the limit, with a duplicate at the end
		 * found by sorting */
		o = 0;
		for (i = 0; i < TL_OPLIST_MAX; i++)
			o += (size_t)snprintf(text + o, cap - o,
					      "list\t10.%u.%u.0/24\t1\t-\ta\tr\n",
					      (i == TL_OPLIST_MAX - 1 ? 7 : i) >>
						      8 & 255,
					      (i == TL_OPLIST_MAX - 1 ? 7 : i) &
						      255);
		assert_int_equal(tl_oplist_parse(text, o, &l, &line),
				 TL_ECORRUPT);
		assert_int_equal(line, TL_OPLIST_MAX);
		free(text);
	}
	tl_oplist_free(&l);
}

static void test_save_and_load(void **state)
{
	char dir[] = "/tmp/test_oplist_XXXXXX", cmd[64], path[128];
	struct tl_oplist l, m;
	struct tl_op_entry e = entry(TL_OP_LIST, "2001:db8::/48", "v6");
	FILE *f;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	tl_oplist_init(&l);
	tl_oplist_init(&m);
	assert_int_equal(tl_oplist_load(dir, &m), 0); /* none: empty */
	assert_int_equal(m.n, 0);
	assert_int_equal(tl_oplist_lock(dir, &fd), 0);
	assert_int_equal(tl_oplist_put(&l, &e), 0);
	assert_int_equal(tl_oplist_save(dir, &l), 0);
	tl_oplist_unlock(fd);
	assert_int_equal(tl_oplist_load(dir, &m), 0);
	assert_int_equal(m.n, 1);
	assert_memory_equal(&m.e[0], &e, sizeof(e));
	/* A damaged file is refused whole. */
	snprintf(path, sizeof(path), "%s/%s", dir, TL_OPLIST_FILE);
	f = fopen(path, "a");
	fputs("list\tnonsense\n", f);
	fclose(f);
	assert_int_equal(tl_oplist_load(dir, &m), TL_ECORRUPT);
	assert_int_equal(m.n, 0);
	tl_oplist_free(&l);
	tl_oplist_free(&m);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* ---- compiled, and the policy -------------------------------------------- */

static void test_compile_cuts_allowlist_and_test_point(void **state)
{
	struct tl_oplist l;
	struct tl_op_entry e;
	struct tl_ip a;
	tl_day today = tl_day_from_civil(2026, 11, 27), day;

	(void)state;
	tl_oplist_init(&l);
	e = entry(TL_OP_LIST, "203.0.113.0/24", "hoster");
	tl_oplist_put(&l, &e);
	e = entry(TL_OP_LIST, "203.0.113.128/25", "overlap");
	e.added += 86400 * 3;
	tl_oplist_put(&l, &e);
	e = entry(TL_OP_ALLOW, "203.0.113.7", "partner");
	tl_oplist_put(&l, &e);
	e = entry(TL_OP_LIST, "127.0.0.0/8", "loopback, by mistake");
	tl_oplist_put(&l, &e);
	e = entry(TL_OP_LIST, "198.51.100.0/24", "expired");
	e.expires = today;
	tl_oplist_put(&l, &e);
	e = entry(TL_OP_LIST, "2001:db8::/48", "v6");
	tl_oplist_put(&l, &e);
	e = entry(TL_OP_ALLOW, "2001:db8:0:1::/64", "v6 friend");
	tl_oplist_put(&l, &e);
	assert_int_equal(tl_oplist_compile(&l, today), 0);
	/* 127/8 minus 127.0.0.1; 203.0.113/24 minus .7 */
	assert_int_equal(l.nop[0], 4);
	assert_int_equal(l.nallow[0], 1);
	assert_int_equal(l.nop[1], 2);
	a = ip_of("203.0.113.6");
	assert_true(tl_oplist_listed(&l, &a, &day));
	assert_int_equal(day, tl_day_from_civil(2026, 11, 1));
	a = ip_of("203.0.113.200"); /* merged: the earliest day */
	assert_true(tl_oplist_listed(&l, &a, &day));
	assert_int_equal(day, tl_day_from_civil(2026, 11, 1));
	a = ip_of("203.0.113.7");
	assert_false(tl_oplist_listed(&l, &a, NULL));
	assert_true(tl_oplist_allowed(&l, &a));
	a = ip_of("127.0.0.1");
	assert_false(tl_oplist_listed(&l, &a, NULL));
	a = ip_of("127.0.0.2");
	assert_true(tl_oplist_listed(&l, &a, NULL));
	a = ip_of("198.51.100.1"); /* expired today */
	assert_false(tl_oplist_listed(&l, &a, NULL));
	a = ip_of("2001:db8::1");
	assert_true(tl_oplist_listed(&l, &a, NULL));
	a = ip_of("2001:db8:0:1::5");
	assert_false(tl_oplist_listed(&l, &a, NULL));
	assert_true(tl_oplist_allowed(&l, &a));
	a = ip_of("2001:db8:0:2::");
	assert_true(tl_oplist_listed(&l, &a, NULL));
	/* the most specific entry explains */
	a = ip_of("203.0.113.200");
	assert_string_equal(
		tl_oplist_match(&l, TL_OP_LIST, &a, today)->reason, "overlap");
	a = ip_of("203.0.113.1");
	assert_string_equal(
		tl_oplist_match(&l, TL_OP_LIST, &a, today)->reason, "hoster");
	tl_oplist_free(&l);
}

static void test_policy_applies_the_list(void **state)
{
	struct tl_config cfg;
	struct tl_policy pol;
	struct tl_oplist l;
	struct tl_op_entry e;
	struct tl_history h;
	struct tl_listing li;
	struct tl_ip a;
	tl_day today = tl_day_from_civil(2026, 11, 27);

	(void)state;
	tl_config_defaults(&cfg);
	tl_policy_from_config(&pol, &cfg);
	tl_oplist_init(&l);
	e = entry(TL_OP_LIST, "81.2.69.0/24", "hoster");
	tl_oplist_put(&l, &e);
	e = entry(TL_OP_ALLOW, "81.2.69.7", "partner");
	tl_oplist_put(&l, &e);
	e = entry(TL_OP_LIST, "10.9.0.0/16", "never-list overridden");
	tl_oplist_put(&l, &e);
	assert_int_equal(tl_oplist_compile(&l, today), 0);
	pol.ops = &l;
	/* a history that lists */
	tl_history_init(&h);
	assert_int_equal(tl_history_add(&h, (int64_t)(today - 1) * 86400 + 60,
					TL_KIND_SPAM, 3, NULL, 0),
			 0);
	a = ip_of("81.2.69.5");
	tl_policy_decide(&pol, &a, &h, today, &li);
	assert_true(li.listed);
	assert_int_equal(li.ncodes, 2);
	assert_int_equal(li.codes[0], TL_CODE_SPAM);
	assert_int_equal(li.codes[1], TL_CODE_OPERATOR);
	assert_non_null(li.op);
	assert_null(li.allow);
	assert_non_null(strstr(li.why, "hoster"));
	/* allowlisted: history and operator listing both overruled */
	a = ip_of("81.2.69.7");
	tl_policy_decide(&pol, &a, &h, today, &li);
	assert_false(li.listed);
	assert_int_equal(li.ncodes, 0);
	assert_non_null(li.allow);
	assert_non_null(strstr(li.why, "partner"));
	/* never seen, operator-listed */
	tl_history_free(&h);
	tl_history_init(&h);
	a = ip_of("81.2.69.9");
	tl_policy_decide(&pol, &a, &h, today, &li);
	assert_true(li.listed);
	assert_int_equal(li.ncodes, 1);
	assert_int_equal(li.codes[0], TL_CODE_OPERATOR);
	/* the operator overrides the never-list */
	a = ip_of("10.9.1.1");
	tl_policy_decide(&pol, &a, &h, today, &li);
	assert_true(li.listed);
	/* outside everything: as before */
	a = ip_of("81.2.70.1");
	tl_policy_decide(&pol, &a, &h, today, &li);
	assert_false(li.listed);
	assert_string_equal(li.why, "never seen");
	tl_oplist_free(&l);
	tl_config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_union_merges_overlaps_and_neighbours),
		cmocka_unit_test(test_union_at_the_top_of_the_space),
		cmocka_unit_test(test_subtract),
		cmocka_unit_test(test_find_and_cidr),
		cmocka_unit_test(test_parse_and_format_round_trip),
		cmocka_unit_test(test_hostile_lines_are_refused),
		cmocka_unit_test(test_put_del_prune_and_limit),
		cmocka_unit_test(test_save_and_load),
		cmocka_unit_test(test_compile_cuts_allowlist_and_test_point),
		cmocka_unit_test(test_policy_applies_the_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
