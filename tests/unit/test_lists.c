/* SPDX-License-Identifier: MIT */
/* test_lists.c -- lists.conf parsing, selection, query names */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "check/check.h"
#include "trapline/alloc.h"
#include "trapline/err.h"

static int parse(const char *text, struct check_lists *l, char *err,
		 size_t errsize)
{
	return check_lists_parse(text, strlen(text), "lists.conf", l, err,
				 errsize);
}

static void test_parse_full(void **state)
{
	static const char text[] =
		"; comment\n"
		"# another\n"
		"[zen]\n"
		"zone = zen.spamhaus.org.   ; trailing dot dropped\n"
		"family = ipv4 ipv6\n"
		"code.127.0.0.2 = SBL: spam source\n"
		"code.127.0.0.4=XBL: exploited host\n"
		"code.127.0.0.5 = caf\xc3\xa9: UTF-8 is fine\n"
		"error.127.255.255.254 = query refused: public resolver\n"
		"timeout = 1.5s\n"
		"retries = 3\n"
		"txt = yes\n"
		"sets = spamhaus, public\n"
		"\n"
		"  [local]  \r\n"
		"zone = bl.test\r\n"
		"resolver = 127.0.0.1:5353\n"
		"default = no\n"
		"test = off\n"
		"timeout = 250ms\n"
		"[v6]\n"
		"zone=v6.test\n"
		"family = 6\n"
		"resolver = ::1\n";
	struct check_lists l;
	char err[256];
	const struct check_list *z;

	(void)state;
	assert_int_equal(parse(text, &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 3);
	z = &l.v[0];
	assert_string_equal(z->name, "zen");
	assert_string_equal(z->zone, "zen.spamhaus.org");
	assert_int_equal(z->families, CHECK_FAM4 | CHECK_FAM6);
	assert_int_equal(z->ncodes, 4);
	assert_string_equal(check_list_code(z, 0x7f000002)->meaning,
			    "SBL: spam source");
	assert_string_equal(check_list_code(z, 0x7f000004)->meaning,
			    "XBL: exploited host");
	assert_true(check_list_code(z, 0x7ffffffe)->error);
	assert_null(check_list_code(z, 0x7f000003));
	assert_int_equal(z->timeout_ms, 1500);
	assert_int_equal(z->retries, 3);
	assert_true(z->txt && z->test && z->dflt);
	assert_null(z->resolver);
	assert_string_equal(z->sets, "spamhaus  public");
	assert_int_equal(z->line, 3);
	z = &l.v[1];
	assert_string_equal(z->zone, "bl.test");
	assert_string_equal(z->resolver, "127.0.0.1:5353");
	assert_false(z->dflt);
	assert_false(z->test);
	assert_false(z->txt);
	assert_int_equal(z->families, CHECK_FAM4);
	assert_int_equal(z->timeout_ms, 250);
	assert_int_equal(z->retries, 1);
	z = &l.v[2];
	assert_int_equal(z->families, CHECK_FAM6);
	assert_string_equal(z->resolver, "[::1]:53");
	check_lists_free(&l);
}

/* Each bad file is refused with its file and line. */
static void test_parse_errors(void **state)
{
	static const struct {
		const char *text;
		int rc;
		const char *where; /* "lists.conf:N:" */
		const char *what;
	} cases[] = {
		{"zone = a.test\n", TL_ESYNTAX, ":1:", "before any"},
		{"[a]\nzone = a.test\nzone = b.test\n", TL_EDUP, ":3:", "twice"},
		{"[a]\nzone = a.test\n[A]\nzone = b.test\n", TL_EDUP, ":3:",
		 "twice"},
		{"[a]\nfamily = ipv4\n", TL_EMISSING, ":1:", "no zone"},
		{"[a]\nzone = a.test\n[b]\n", TL_EMISSING, ":3:", "no zone"},
		{"[a]\nzone = a..test\n", TL_ESYNTAX, ":2:", "not a DNS zone"},
		{"[a]\nzone = a test\n", TL_ESYNTAX, ":2:", "not a DNS zone"},
		{"[a]\nzone = a.test\ncode.127.0.0.256 = x\n", TL_ESYNTAX,
		 ":3:", "not an IPv4"},
		{"[a]\nzone = a.test\ncode.10.0.0.2 = x\n", TL_ESYNTAX, ":3:",
		 "127.0.0.0/8"},
		{"[a]\nzone = a.test\ncode.127.0.0.2 = x\nerror.127.0.0.2 = y\n",
		 TL_EDUP, ":4:", "twice"},
		{"[a]\nzone = a.test\nfamily = ipv5\n", TL_ESYNTAX, ":3:",
		 "family"},
		{"[a]\nzone = a.test\ntimeout = 0\n", TL_ESYNTAX, ":3:",
		 "timeout"},
		{"[a]\nzone = a.test\ntimeout = 2h\n", TL_ESYNTAX, ":3:",
		 "timeout"},
		{"[a]\nzone = a.test\nretries = 11\n", TL_ESYNTAX, ":3:",
		 "retries"},
		{"[a]\nzone = a.test\ntxt = maybe\n", TL_ESYNTAX, ":3:", "yes"},
		{"[a]\nzone = a.test\nresolver = 1.2.3.4:99999\n", TL_ESYNTAX,
		 ":3:", "resolver"},
		{"[a]\nzone = a.test\nresolver = example.org\n", TL_ESYNTAX,
		 ":3:", "resolver"},
		{"[a]\nzone = a.test\ncolour = red\n", TL_ESYNTAX, ":3:",
		 "unknown key"},
		{"[a b]\nzone = a.test\n", TL_ESYNTAX, ":1:", "section"},
		{"[all]\nzone = a.test\n", TL_ESYNTAX, ":1:", "reserved"},
		{"[a\nzone = a.test\n", TL_ESYNTAX, ":1:", "without"},
		{"[a]\njust words\n", TL_ESYNTAX, ":2:", "key = value"},
		{"[a]\nzone = a.test\ncode.127.0.0.2 = bell\a\n", TL_ESYNTAX,
		 ":3:", "control"},
		{"[a]\nzone = a.test\nsets = a/b\n", TL_ESYNTAX, ":3:", "sets"},
		{"[a]\nzone = a.test\ncode.127.0.0.2 = caf\xe9\n", TL_ESYNTAX,
		 ":3:", "UTF-8"},
	};
	struct check_lists l;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = parse(cases[i].text, &l, err, sizeof(err));

		if (rc != cases[i].rc || !strstr(err, cases[i].where) ||
		    !strstr(err, cases[i].what) ||
		    strncmp(err, "lists.conf:", 11) != 0)
			fail_msg("case %zu: rc %d, '%s'", i, rc, err);
		assert_int_equal(l.n, 0);
		assert_null(l.v);
	}
}

static void test_limits(void **state)
{
	static char text[TL_LISTS_LINE_MAX * 2 + 64];
	struct check_lists l;
	char err[256];
	size_t n;
	unsigned i;

	(void)state;
	/* a line over the limit */
	n = (size_t)snprintf(text, sizeof(text), "[a]\nzone = a.test\n"
			     "code.127.0.0.2 = ");
	memset(text + n, 'x', TL_LISTS_LINE_MAX);
	text[n + TL_LISTS_LINE_MAX] = '\0';
	assert_int_equal(parse(text, &l, err, sizeof(err)), TL_ETOOLONG);
	assert_non_null(strstr(err, ":3:"));
	/* a meaning over its limit */
	text[n + TL_LISTS_MEANING_MAX + 1] = '\0';
	assert_int_equal(parse(text, &l, err, sizeof(err)), TL_ETOOLONG);
	text[n + TL_LISTS_MEANING_MAX] = '\0';
	assert_int_equal(parse(text, &l, err, sizeof(err)), 0);
	check_lists_free(&l);
	/* too many codes */
	{
		static char big[TL_LISTS_CODES_MAX * 40 + 64];
		size_t o = (size_t)snprintf(big, sizeof(big),
					    "[a]\nzone = a.test\n");

		for (i = 0; i <= TL_LISTS_CODES_MAX; i++)
			o += (size_t)snprintf(big + o, sizeof(big) - o,
					      "code.127.0.%u.%u = x\n",
					      i / 256, i % 256);
		assert_int_equal(parse(big, &l, err, sizeof(err)),
				 TL_ELIMIT);
	}
	/* no error buffer: still refused, nothing written */
	assert_int_equal(check_lists_parse("x", 1, NULL, &l, NULL, 0),
			 TL_ESYNTAX);
	/* NUL bytes inside a line */
	assert_int_equal(check_lists_parse("[a]\nzone = a\0b\n", 15, NULL, &l,
					   err, sizeof(err)),
			 TL_ESYNTAX);
	/* an empty file is no lists, and that is not an error */
	assert_int_equal(parse("", &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 0);
}

static void test_alloc_failure(void **state)
{
	static const char text[] = "[a]\nzone = a.test\ncode.127.0.0.2 = x\n"
				   "sets = s\nresolver = 127.0.0.1\n[b]\n"
				   "zone = b.test\n";
	struct check_lists l;
	char err[256];
	unsigned long nth;
	int rc;

	(void)state;
	for (nth = 1; nth < 40; nth++) {
		tl_alloc_fail_after(nth);
		rc = parse(text, &l, err, sizeof(err));
		tl_alloc_fail_after(0);
		if (rc == 0) {
			assert_int_equal(l.n, 2);
			check_lists_free(&l);
			break;
		}
		assert_int_equal(rc, TL_ENOMEM);
		assert_int_equal(l.n, 0);
	}
	assert_true(nth < 40);
}

static void test_errors_and_select(void **state)
{
	static const char text[] =
		"[zen]\nzone = zen.test\nsets = spamhaus public\n"
		"error.127.0.0.99 = refused\ncode.127.0.0.2 = listed\n"
		"[cop]\nzone = cop.test\nsets = public\n"
		"[mine]\nzone = mine.test\ndefault = no\n";
	struct check_lists l;
	bool sel[3];
	char err[128];

	(void)state;
	assert_int_equal(parse(text, &l, err, sizeof(err)), 0);
	/* error answers */
	assert_true(check_is_error(&l.v[0], 0x7f000063));
	assert_false(check_is_error(&l.v[0], 0x7f000002));
	assert_true(check_is_error(&l.v[0], 0x7ffffffe));  /* 127.255.255.x */
	assert_true(check_is_error(&l.v[1], 0x7fffff00));
	assert_true(check_is_error(&l.v[1], 0xc0000201));  /* outside 127/8 */
	assert_false(check_is_error(&l.v[1], 0x7f000005)); /* unknown code */
	/* selection */
	assert_int_equal(check_lists_select(&l, NULL, sel, err, sizeof(err)),
			 2);
	assert_true(sel[0] && sel[1] && !sel[2]);
	assert_int_equal(check_lists_select(&l, "mine", sel, err, sizeof(err)),
			 1);
	assert_true(!sel[0] && !sel[1] && sel[2]);
	assert_int_equal(check_lists_select(&l, "spamhaus,MINE", sel, err,
					    sizeof(err)),
			 2);
	assert_true(sel[0] && !sel[1] && sel[2]);
	assert_int_equal(check_lists_select(&l, "public", sel, err,
					    sizeof(err)),
			 2);
	assert_int_equal(check_lists_select(&l, "all", sel, err, sizeof(err)),
			 3);
	assert_int_equal(check_lists_select(&l, "zen, nope", sel, err,
					    sizeof(err)),
			 TL_ESYNTAX);
	assert_non_null(strstr(err, "'nope'"));
	/* "publ" is not "public" */
	assert_int_equal(check_lists_select(&l, "publ", sel, err, sizeof(err)),
			 TL_ESYNTAX);
	check_lists_free(&l);
}

static void test_meaning(void **state)
{
	static const char text[] = "[h]\nzone = hist.test\ndecode = hist\n"
				   "code.127.0.0.9 = nine\n"
				   "[c]\nzone = c.test\ndecode = codes\n";
	struct check_lists l;
	char err[128], buf[128];

	(void)state;
	assert_int_equal(parse(text, &l, err, sizeof(err)), 0);
	assert_int_equal(l.v[0].decode, CHECK_DECODE_HIST);
	assert_string_equal(check_list_meaning(&l.v[0], 0x7f0c0105, buf,
					       sizeof(buf)),
			    "seen over 12 years, last 1 day ago: spam auth");
	assert_string_equal(check_list_meaning(&l.v[0], 0x7f01ff13, buf,
					       sizeof(buf)),
			    "seen over 1 year, last >= 255 days ago: spam "
			    "dictionary persistent");
	assert_string_equal(check_list_meaning(&l.v[0], 0x7f000000, buf,
					       sizeof(buf)),
			    "seen over 0 years, last 0 days ago: no kind");
	/* a code in the table wins; a tiny buffer is cut, not overrun */
	assert_string_equal(check_list_meaning(&l.v[0], 0x7f000009, buf,
					       sizeof(buf)),
			    "nine");
	assert_string_equal(check_list_meaning(&l.v[0], 0x7f0c011f, buf, 12),
			    "seen over 1");
	assert_string_equal(check_list_meaning(&l.v[1], 0x7f0c0105, buf,
					       sizeof(buf)),
			    "listed (code not in lists.conf)");
	check_lists_free(&l);
	assert_int_equal(parse("[a]\nzone = a\ndecode = bits\n", &l, err,
			       sizeof(err)),
			 TL_ESYNTAX);
}

static void test_resolver(void **state)
{
	char out[80];

	(void)state;
	assert_int_equal(check_resolver_parse("127.0.0.1", out, sizeof(out)),
			 0);
	assert_string_equal(out, "127.0.0.1:53");
	assert_int_equal(check_resolver_parse("127.0.0.1:5353", out,
					      sizeof(out)),
			 0);
	assert_string_equal(out, "127.0.0.1:5353");
	assert_int_equal(check_resolver_parse("[::1]:5353", out, sizeof(out)),
			 0);
	assert_string_equal(out, "[::1]:5353");
	assert_int_equal(check_resolver_parse("2001:DB8::1", out, sizeof(out)),
			 0);
	assert_string_equal(out, "[2001:db8::1]:53");
	assert_int_equal(check_resolver_parse("[::1]", out, sizeof(out)), 0);
	assert_int_equal(check_resolver_parse("1.2.3.4:0", out, sizeof(out)),
			 TL_ESYNTAX);
	assert_int_equal(check_resolver_parse("1.2.3.4:", out, sizeof(out)),
			 TL_ESYNTAX);
	assert_int_equal(check_resolver_parse("[::1]x", out, sizeof(out)),
			 TL_ESYNTAX);
	assert_int_equal(check_resolver_parse("", out, sizeof(out)),
			 TL_ESYNTAX);
	assert_int_equal(check_resolver_parse("1.2.3.4", out, 5), TL_ESYNTAX);
}

static void test_qname(void **state)
{
	struct tl_ip ip;
	char out[256];

	(void)state;
	/* RFC 5782 2.1 and 2.4 examples */
	assert_int_equal(tl_ip_parse("192.0.2.99", 10, &ip), 0);
	assert_int_equal(check_qname(&ip, "bad.example.com", out, sizeof(out)),
			 26);
	assert_string_equal(out, "99.2.0.192.bad.example.com");
	assert_int_equal(tl_ip_parse("2001:db8:1:2:3:4:567:89ab", 25, &ip), 0);
	assert_true(check_qname(&ip, "ugly.example.com", out, sizeof(out)) > 0);
	assert_string_equal(out, "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1."
				 "0.0.0.8.b.d.0.1.0.0.2.ugly.example.com");
	assert_int_equal(check_qname(&ip, "ugly.example.com", out, 70),
			 TL_ETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_full),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_alloc_failure),
		cmocka_unit_test(test_errors_and_select),
		cmocka_unit_test(test_meaning),
		cmocka_unit_test(test_resolver),
		cmocka_unit_test(test_qname),
	};

	return cmocka_run_group_tests_name("lists", tests, NULL, NULL);
}
