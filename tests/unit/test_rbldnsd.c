/* SPDX-License-Identifier: MIT */
/* test_rbldnsd.c -- rbldnsd-syntax datasets: grammar, semantics, and the
 * differential fixtures recorded from the real rbldnsd
 *
 * The fixtures (tests/unit/rbldnsd/NAME.TYPE.data + .expect) are made by
 * tests/unit/rbldnsd/gen.py, which serves each dataset with rbldnsd and
 * records its A and TXT answers. They are found next to this source file
 * (its path is compiled in as __FILE__), or in $RBL_FIXTURE_DIR.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "trapline/alloc.h"
#include "trapline/err.h"
#include "trapline/ip.h"
#include "dns/rbldnsd.h"

static struct rbl_data *load(const char *text, enum rbl_type type)
{
	struct rbl_data *d = NULL;
	char why[256];

	assert_int_equal(rbl_data_parse(text, strlen(text), type, &d, why,
					sizeof(why)), 0);
	assert_non_null(d);
	return d;
}

static struct tl_ip ip(const char *s)
{
	struct tl_ip a;

	assert_int_equal(tl_ip_parse(s, strlen(s), &a), 0);
	return a;
}

/* "A/TXT" of the first value, TXT expanded; "-" when not listed. */
static const char *ask(const struct rbl_data *d, const char *addr)
{
	static char out[600];
	struct rbl_hit hit;
	struct tl_ip a = ip(addr);
	char txt[300];

	if (!rbl_lookup(d, &a, &hit))
		return "-";
	rbl_txt_expand(d, hit.txt, &a, txt, sizeof(txt));
	snprintf(out, sizeof(out), "%u.%u.%u.%u/%s", hit.a >> 24,
		 (hit.a >> 16) & 255, (hit.a >> 8) & 255, hit.a & 255, txt);
	return out;
}

static void test_ip4set_forms(void **state)
{
	/* rbldnsd(8): every way to write 127.0.0.0/24 and
	 * 127.16.0.0-127.31.255.255 (but "127-127.0.0", which the manual
	 * lists, rbldnsd 1.0 itself refuses: see below) */
	static const char *const v24[] = {
		"127.0.0.0/24", "127.0.0", "127/24",
		"127.0.0.0-127.0.0.255", "127.0.0.0-255",
	};
	static const char *const v12[] = {
		"127.16.0.0-127.31.255.255", "127.16.0-127.31.255",
		"127.16-127.31", "127.16-31", "127.16.0.0/12", "127.16.0/12",
		"127.16/12",
	};
	struct rbl_data *d;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v24) / sizeof(v24[0]); i++) {
		d = load(v24[i], RBL_IP4SET);
		assert_string_equal(ask(d, "127.0.0.0"), "127.0.0.2/");
		assert_string_equal(ask(d, "127.0.0.255"), "127.0.0.2/");
		assert_string_equal(ask(d, "127.0.1.0"), "-");
		assert_string_equal(ask(d, "126.255.255.255"), "-");
		assert_int_equal(rbl_data_bad_lines(d), 0);
		rbl_data_free(d);
	}
	for (i = 0; i < sizeof(v12) / sizeof(v12[0]); i++) {
		d = load(v12[i], RBL_IP4SET);
		assert_string_equal(ask(d, "127.16.0.0"), "127.0.0.2/");
		assert_string_equal(ask(d, "127.31.255.255"), "127.0.0.2/");
		assert_string_equal(ask(d, "127.32.0.0"), "-");
		assert_string_equal(ask(d, "127.15.255.255"), "-");
		/* 16 /16 entries, whatever the spelling */
		assert_int_equal(rbl_data_entries(d), 16);
		rbl_data_free(d);
	}
	d = load("127-127.0.0", RBL_IP4SET);
	assert_int_equal(rbl_data_bad_lines(d), 1);
	assert_int_equal(rbl_data_entries(d), 0);
	rbl_data_free(d);
	/* a ragged range: 252 + 1 /24 + 7 = 260 entries */
	d = load("1.2.3.4-1.2.5.6", RBL_IP4SET);
	assert_int_equal(rbl_data_entries(d), 252 + 1 + 7);
	assert_string_equal(ask(d, "1.2.3.3"), "-");
	assert_string_equal(ask(d, "1.2.3.4"), "127.0.0.2/");
	assert_string_equal(ask(d, "1.2.4.77"), "127.0.0.2/");
	assert_string_equal(ask(d, "1.2.5.6"), "127.0.0.2/");
	assert_string_equal(ask(d, "1.2.5.7"), "-");
	rbl_data_free(d);
}

static void test_ip4set_bad_lines(void **state)
{
	static const char text[] =
		"10\n"                 /* 1: a bare number */
		"1.2.3.4.5\n"          /* 2 */
		"256.1.1.1\n"          /* 3 */
		"1.2.3.4/24\n"         /* 4: host bits */
		"1.2.3.4/33\n"         /* 5 */
		"0/0\n"                /* 6: ip4set refuses /0 */
		"1.2.3.4 :0:x\n"       /* 7: A of 0 */
		"1.2.3.4 :2 x\n"       /* 8 */
		"1.2.3.5-1.2.3.4\n"    /* 9: backwards */
		"1.2-1.2.3.4\n"        /* 10 */
		"1.2.3.6\r\n"          /* 11: CR is not a blank to rbldnsd */
		"$DATASET ip4set x @\n" /* 12 */
		"$FOO bar\n"           /* 13 */
		"9.9.9.9\n";
	struct rbl_data *d = NULL;
	char why[128];

	(void)state;
	assert_int_equal(rbl_data_parse(text, sizeof(text) - 1, RBL_IP4SET,
					&d, why, sizeof(why)), 0);
	assert_string_equal(why, "line 1: invalid address");
	assert_int_equal(rbl_data_bad_lines(d), 13);
	assert_string_equal(rbl_data_warning(d, 3),
			    "line 4: invalid range (non-zero host part)");
	assert_string_equal(rbl_data_warning(d, 6), "line 7: invalid A RR");
	assert_string_equal(rbl_data_warning(d, 7),
			    "line 8: unrecognized value for an entry");
	assert_string_equal(rbl_data_warning(d, 9),
			    "line 10: invalid address");
	assert_null(rbl_data_warning(d, 10)); /* RBL_WARN_KEEP */
	assert_int_equal(rbl_data_entries(d), 1);
	assert_string_equal(ask(d, "9.9.9.9"), "127.0.0.2/");
	assert_string_equal(ask(d, "1.2.3.4"), "-");
	rbl_data_free(d);
}

static void test_values(void **state)
{
	/* rbldnsd(8) "Resulting A values and TXT templates" */
	struct rbl_data *d = load(":127.0.0.2:IP address $ is listed\n"
				  "127.0.0.4\n"
				  "127.0.0.5 :5\n"
				  "127.0.0.6 :6:\n"
				  "127.0.0.7 IP address $ running an open relay\n"
				  "127.0.0.8:127.1.2.3:no blank before\n"
				  "127.0.0.9 :1.2:short A\n"
				  "127.0.0.10 # a comment, so the default\n"
				  ":3\n"
				  "127.0.0.11\n",
				  RBL_IP4SET);
	struct rbl_hit hit;
	struct tl_ip a = ip("127.0.0.6");

	(void)state;
	assert_string_equal(ask(d, "127.0.0.4"),
			    "127.0.0.2/IP address 127.0.0.4 is listed");
	assert_string_equal(ask(d, "127.0.0.5"),
			    "127.0.0.5/IP address 127.0.0.5 is listed");
	assert_string_equal(ask(d, "127.0.0.6"), "127.0.0.6/");
	assert_true(rbl_lookup(d, &a, &hit));
	assert_null(hit.txt);
	assert_int_equal(hit.len, 32);
	assert_string_equal(ask(d, "127.0.0.7"),
			    "127.0.0.2/IP address 127.0.0.7 running an open "
			    "relay");
	assert_string_equal(ask(d, "127.0.0.8"), "127.1.2.3/no blank before");
	assert_string_equal(ask(d, "127.0.0.9"), "1.0.0.2/short A");
	assert_string_equal(ask(d, "127.0.0.10"),
			    "127.0.0.2/IP address 127.0.0.10 is listed");
	/* ":3" alone: A 127.0.0.3 and the built-in (empty) TXT */
	assert_string_equal(ask(d, "127.0.0.11"), "127.0.0.3/");
	rbl_data_free(d);
}

static void test_ip4set_classes(void **state)
{
	/* the most specific class wins, even when it is a wider class's
	 * exclusion; in one class an exclusion beats a listing */
	struct rbl_data *d = load("10/8 :8:eight\n"
				  "10.1 :16:sixteen\n"
				  "!10.1.2\n"
				  "10.1.2.3 :32:thirty-two\n"
				  "10.2.0.0/16 :5:\n"
				  "!10.2.0.0/16\n"
				  "10.3.3.3 :1:one\n"
				  "10.3.3.3 :2:two\n"
				  "10.3.3.3 :1:one\n",
				  RBL_IP4SET);
	struct rbl_hit hit;
	struct tl_ip a = ip("10.3.3.3");
	const char *txt;
	uint32_t va;

	(void)state;
	assert_string_equal(ask(d, "10.9.9.9"), "127.0.0.8/eight");
	assert_string_equal(ask(d, "10.1.9.9"), "127.0.0.16/sixteen");
	assert_string_equal(ask(d, "10.1.2.2"), "-");
	assert_string_equal(ask(d, "10.1.2.3"), "127.0.0.32/thirty-two");
	assert_string_equal(ask(d, "10.2.7.7"), "-");
	assert_true(rbl_lookup(d, &a, &hit));
	assert_int_equal(hit.count, 2); /* duplicates merged */
	assert_true(rbl_hit_get(d, &hit, 1, &va, &txt));
	assert_int_equal(va ^ hit.a, 0x7f000001u ^ 0x7f000002u);
	assert_false(rbl_hit_get(d, &hit, 2, &va, &txt));
	rbl_data_free(d);
}

static void test_ip4trie(void **state)
{
	struct rbl_data *d = load("0/0 :9:all\n"
				  "10.0.1.0/24 :3:\n"
				  "10.0.1.128/25 :4:upper\n"
				  "!10.0.1.129\n"
				  "10.0.1.128/25 :5:dup\n"
				  "10.1 :6:short\n"
				  "10.2.3 :7:\n"
				  "10 :1:\n"
				  "10.0.0.0-10.0.0.5\n",
				  RBL_IP4TRIE);

	(void)state;
	assert_string_equal(ask(d, "1.1.1.1"), "127.0.0.9/all");
	assert_string_equal(ask(d, "10.0.1.1"), "127.0.0.3/");
	assert_string_equal(ask(d, "10.0.1.130"), "127.0.0.4/upper");
	assert_string_equal(ask(d, "10.0.1.129"), "-");
	assert_string_equal(ask(d, "10.1.200.1"), "127.0.0.6/short");
	assert_string_equal(ask(d, "10.2.3.200"), "127.0.0.7/");
	/* "10" (bare number) and ranges are not CIDR: bad lines; the
	 * duplicate /25 is a warning */
	assert_int_equal(rbl_data_bad_lines(d), 3);
	assert_int_equal(rbl_data_entries(d), 6);
	rbl_data_free(d);
}

static void test_ip6trie(void **state)
{
	struct rbl_data *d = load(":127.0.1.2: Listed, see http://x/?$\n"
				  "2001:21ab:c000/36\n"
				  "2001:21ab:def7:4242 :127.0.1.3: smells\n"
				  "2605:6001:42::/52\n"
				  "::1\t\t# localhost\n"
				  "!2605:6001:42::bead\n"
				  "::ffff:a00:0/120 :4:mapped $\n"
				  "2001\n",
				  RBL_IP6TRIE);
	struct tl_ip a = ip("2001:21ab:c000::1");
	char buf[16];

	(void)state;
	assert_string_equal(ask(d, "2001:21ab:cfff::1"),
			    "127.0.1.2/Listed, see http://x/?2001:21ab:cfff::1");
	assert_string_equal(ask(d, "2001:21ab:def7:4242:1:2:3:4"),
			    "127.0.1.3/smells");
	assert_string_equal(ask(d, "2001:21ab:d000::"), "-");
	assert_string_equal(ask(d, "::1"),
			    "127.0.1.2/Listed, see http://x/?::1");
	assert_string_equal(ask(d, "2605:6001:42::bead"), "-");
	assert_string_equal(ask(d, "2605:6001:42::beae"),
			    "127.0.1.2/Listed, see http://x/?2605:6001:42::beae");
	/* a v4-mapped query is a family-4 tl_ip; rbldnsd's text for it */
	assert_string_equal(ask(d, "10.0.0.7"),
			    "127.0.0.4/mapped ::ffff:a00:7");
	assert_int_equal(rbl_data_bad_lines(d), 1);
	/* bounded: 15 bytes and a NUL */
	assert_int_equal(rbl_txt_expand(d, "abc $ def", &a, buf, sizeof(buf)),
			 15);
	assert_string_equal(buf, "abc 2001:21ab:c");
	rbl_data_free(d);
}

static void test_specials(void **state)
{
	struct rbl_data *d = load("$TTL 1h\n"
				  "#$SOA 0 ns.example.org. hm.example.org. 7 "
				  "1h 15m 2d 1h\n"
				  "$SOA 5 other. x. 1 1 1 1 1\n"
				  ":$NS 3600 ns1.example.org -ns2.example.org "
				  "ns3.example.org\n"
				  ";$1 one\n"
				  "$= [$=]\n"
				  "$TIMESTAMP 2020:01:01\n"
				  "$MAXRANGE4 /24\n"
				  "10.0.0.0/23\n"
				  "10.0.0.0/24 $1 $\n",
				  RBL_IP4SET);
	const struct rbl_soa *soa = rbl_data_soa(d);
	const struct rbl_ns *ns = rbl_data_ns(d);

	(void)state;
	assert_int_equal(rbl_data_ttl(d), 3600);
	assert_true(soa->valid);
	assert_int_equal(soa->ttl, 3600); /* 0: the $TTL */
	assert_string_equal(soa->origin, "ns.example.org.");
	assert_string_equal(soa->person, "hm.example.org.");
	assert_int_equal(soa->serial, 7);
	assert_int_equal(soa->refresh, 3600);
	assert_int_equal(soa->retry, 900);
	assert_int_equal(soa->expire, 172800);
	assert_int_equal(soa->minttl, 3600);
	assert_int_equal(ns->count, 2);
	assert_int_equal(ns->ttl, 3600);
	assert_string_equal(ns->name[1], "ns3.example.org");
	assert_string_equal(rbl_data_subst(d, 1), "one");
	assert_string_equal(rbl_data_subst(d, 10), "[$=]");
	assert_null(rbl_data_subst(d, 2));
	/* the /23 is past $MAXRANGE4 */
	assert_int_equal(rbl_data_bad_lines(d), 1);
	assert_string_equal(ask(d, "10.0.1.1"), "-");
	/* $= takes the entry's text as written: no second expansion */
	assert_string_equal(ask(d, "10.0.0.1"), "127.0.0.2/[$1 $]");
	rbl_data_free(d);
}

static void test_txt_expand(void **state)
{
	struct rbl_data *d = load("$2 two\n1.2.3.4\n", RBL_IP4SET);
	struct tl_ip a = ip("1.2.3.4");
	char big[400], tmpl[300];
	int i;

	(void)state;
	assert_int_equal(rbl_txt_expand(d, "$$ $2 $3 $= $", &a, big,
					sizeof(big)),
			 strlen("$ two $3 $$ $2 $3 $= $ 1.2.3.4"));
	assert_string_equal(big, "$ two $3 $$ $2 $3 $= $ 1.2.3.4");
	assert_int_equal(rbl_txt_expand(d, NULL, &a, big, sizeof(big)), 0);
	assert_int_equal(rbl_txt_expand(d, "", &a, big, sizeof(big)), 0);
	assert_int_equal(rbl_txt_expand(d, "x", &a, big, 0), 0);
	assert_int_equal(rbl_txt_expand(d, "xyz", &a, big, 1), 0);
	assert_string_equal(big, "");
	/* never more than rbldnsd's 254 bytes: 100 x "1.2.3.4 " */
	for (i = 0; i < 100; i++)
		memcpy(tmpl + 2 * i, "$ ", 2);
	tmpl[200] = '\0';
	assert_int_equal(rbl_txt_expand(d, tmpl, &a, big, sizeof(big)),
			 254);
	rbl_data_free(d);
}

static void test_alloc_failure(void **state)
{
	static const char text[] = ":2:x $\n10/8\n1.2.3.4-1.2.9.9 y\n!1.2.3.7\n"
				   "$SOA 0 a. b. 1 1 1 1 1\n";
	struct rbl_data *d;
	unsigned long n;
	char why[64];
	int err;

	(void)state;
	for (n = 1; n < 200; n++) {
		tl_alloc_fail_after(n);
		d = NULL;
		err = rbl_data_parse(text, sizeof(text) - 1, RBL_IP4SET, &d,
				     why, sizeof(why));
		tl_alloc_fail_after(0);
		if (err == 0) {
			assert_string_equal(ask(d, "1.2.3.8"), "127.0.0.2/y");
			rbl_data_free(d);
			break;
		}
		assert_int_equal(err, TL_ENOMEM);
		assert_null(d);
	}
	assert_true(n > 3 && n < 200);
}

static void test_long_line_and_nul(void **state)
{
	size_t n = RBL_LINE_MAX + 100;
	char *text = malloc(n + 20);
	struct rbl_data *d;

	(void)state;
	assert_non_null(text);
	memcpy(text, "1.2.3.4 ", 8);
	memset(text + 8, 'a', n - 8);
	memcpy(text + n, "\n5.6.7.8\0x\n9.9.9.9", 18);
	d = NULL;
	assert_int_equal(rbl_data_parse(text, n + 18, RBL_IP4SET, &d, NULL, 0),
			 0);
	assert_string_equal(ask(d, "5.6.7.8"), "127.0.0.2/");
	assert_string_equal(ask(d, "9.9.9.9"), "127.0.0.2/");
	/* the long line is cut, then its TXT is cut at 255 */
	assert_int_equal(rbl_data_bad_lines(d), 2);
	rbl_data_free(d);
	free(text);
}

/* A million /32s: load time and bytes per entry. */
static void test_million(void **state)
{
	const size_t count = 1000000;
	char *text = malloc(count * 16), *p = text;
	struct rbl_data *d = NULL;
	struct timespec t0, t1;
	struct rbl_hit hit;
	struct tl_ip a;
	double secs, per;
	size_t i;

	(void)state;
	assert_non_null(text);
	for (i = 0; i < count; i++) {
		uint32_t x = (uint32_t)(i * 2654435761u) | 0x01000000u;

		p += sprintf(p, "%u.%u.%u.%u\n", x >> 24, (x >> 16) & 255,
			     (x >> 8) & 255, x & 255);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(rbl_data_parse(text, (size_t)(p - text), RBL_IP4SET,
					&d, NULL, 0), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	per = (double)rbl_data_bytes(d) / (double)rbl_data_entries(d);
	print_message("1M /32 ip4set: %zu entries, %.2f s, %.2f bytes/entry\n",
		      rbl_data_entries(d), secs, per);
	assert_int_equal(rbl_data_entries(d), count);
	assert_true(per < 8.1);
	tl_ip_from_v4(&a, (uint32_t)(12345u * 2654435761u) | 0x01000000u);
	assert_true(rbl_lookup(d, &a, &hit));
	rbl_data_free(d);
	free(text);
}

/* ---- the differential fixtures ---- */

static char fixture_dir[4096];

static void find_fixtures(void)
{
	const char *env = getenv("RBL_FIXTURE_DIR"), *slash;

	if (env) {
		snprintf(fixture_dir, sizeof(fixture_dir), "%s", env);
		return;
	}
	slash = strrchr(__FILE__, '/');
	snprintf(fixture_dir, sizeof(fixture_dir), "%.*s/rbldnsd",
		 slash ? (int)(slash - __FILE__) : 1, slash ? __FILE__ : ".");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Our answer in the .expect format: sorted, de-duplicated A and TXT. */
static void our_answer(const struct rbl_data *d, const struct tl_ip *a,
		       char *out, size_t size)
{
	struct rbl_hit hit;
	uint32_t as[64], va;
	char txts[64][300], *tp[64];
	const char *txt;
	unsigned i, na = 0, nt = 0;
	size_t k = 0, j;

	if (!rbl_lookup(d, a, &hit)) {
		snprintf(out, size, "-\t-");
		return;
	}
	for (i = 0; i < hit.count && i < 64; i++) {
		assert_true(rbl_hit_get(d, &hit, i, &va, &txt));
		as[na++] = va;
		if (rbl_txt_expand(d, txt, a, txts[nt], sizeof(txts[nt])))
			tp[nt] = txts[nt], nt++;
	}
	qsort(as, na, sizeof(as[0]), cmp_u32);
	qsort(tp, nt, sizeof(tp[0]), cmp_str);
	for (i = 0; i < na; i++) {
		if (i && as[i] == as[i - 1])
			continue;
		k += (size_t)snprintf(out + k, size - k, "%s%u.%u.%u.%u",
				      k ? "," : "", as[i] >> 24,
				      (as[i] >> 16) & 255, (as[i] >> 8) & 255,
				      as[i] & 255);
	}
	k += (size_t)snprintf(out + k, size - k, "\t");
	if (!nt)
		snprintf(out + k, size - k, "-");
	for (i = 0; i < nt; i++) {
		if (i && strcmp(tp[i], tp[i - 1]) == 0)
			continue;
		if (i)
			out[k++] = ',';
		for (j = 0; tp[i][j] && k + 3 < size; j++)
			k += (size_t)snprintf(out + k, size - k, "%02x",
					      (unsigned char)tp[i][j]);
		out[k] = '\0';
	}
}

static size_t check_fixture(const char *name, size_t *queries)
{
	char path[4600], line[8192], mine[8192], *tab;
	struct rbl_data *d = NULL;
	enum rbl_type type;
	size_t bad = 0, n;
	struct tl_ip a;
	char why[256];
	FILE *f;

	if (strstr(name, ".ip4set."))
		type = RBL_IP4SET;
	else if (strstr(name, ".ip4trie."))
		type = RBL_IP4TRIE;
	else
		type = RBL_IP6TRIE;
	snprintf(path, sizeof(path), "%s/%s", fixture_dir, name);
	assert_int_equal(rbl_data_load(path, type, &d, why, sizeof(why)), 0);
	n = strlen(path);
	memcpy(path + n - 5, ".expect", 8);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		tab = strchr(line, '\t');
		assert_non_null(tab);
		*tab = '\0';
		assert_int_equal(tl_ip_parse(line, strlen(line), &a), 0);
		our_answer(d, &a, mine, sizeof(mine));
		(*queries)++;
		if (strcmp(mine, tab + 1) != 0) {
			if (bad++ < 5)
				print_error("%s: %s: rbldnsd \"%s\", ours "
					    "\"%s\"\n", name, line, tab + 1,
					    mine);
		}
	}
	fclose(f);
	rbl_data_free(d);
	return bad;
}

static void test_differential(void **state)
{
	size_t bad = 0, files = 0, queries = 0, n;
	struct dirent *de;
	DIR *dir;

	(void)state;
	find_fixtures();
	dir = opendir(fixture_dir);
	if (!dir)
		fail_msg("no fixtures at %s", fixture_dir);
	while ((de = readdir(dir))) {
		n = strlen(de->d_name);
		if (n < 6 || strcmp(de->d_name + n - 5, ".data") != 0)
			continue;
		bad += check_fixture(de->d_name, &queries);
		files++;
	}
	closedir(dir);
	print_message("differential: %zu datasets, %zu addresses, %zu "
		      "differ\n", files, queries, bad);
	assert_true(files >= 20);
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ip4set_forms),
		cmocka_unit_test(test_ip4set_bad_lines),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_ip4set_classes),
		cmocka_unit_test(test_ip4trie),
		cmocka_unit_test(test_ip6trie),
		cmocka_unit_test(test_specials),
		cmocka_unit_test(test_txt_expand),
		cmocka_unit_test(test_alloc_failure),
		cmocka_unit_test(test_long_line_and_nul),
		cmocka_unit_test(test_million),
		cmocka_unit_test(test_differential),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
