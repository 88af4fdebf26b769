/* SPDX-License-Identifier: MIT */
/* test_ip.c -- addresses and prefixes: RFC 4291 input, RFC 5952 output */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "trapline/err.h"
#include "trapline/ip.h"

static int parse(const char *s, struct tl_ip *ip)
{
	return tl_ip_parse(s, strlen(s), ip);
}

/* The 16 bytes inet_pton gives for a v6 text, as the reference. */
static void pton6(const char *s, uint8_t a[16])
{
	assert_int_equal(inet_pton(AF_INET6, s, a), 1);
}

static void assert_v4(const char *s, uint8_t a, uint8_t b, uint8_t c,
		      uint8_t d)
{
	static const uint8_t zero[12];
	struct tl_ip ip;

	assert_int_equal(parse(s, &ip), 0);
	assert_int_equal(ip.family, 4);
	assert_int_equal(ip.a[0], a);
	assert_int_equal(ip.a[1], b);
	assert_int_equal(ip.a[2], c);
	assert_int_equal(ip.a[3], d);
	assert_memory_equal(ip.a + 4, zero, 12);
}

static void test_parse_v4(void **state)
{
	(void)state;
	assert_v4("192.0.2.1", 192, 0, 2, 1);
	assert_v4("0.0.0.0", 0, 0, 0, 0);
	assert_v4("255.255.255.255", 255, 255, 255, 255);
	assert_v4("10.0.0.100", 10, 0, 0, 100);
}

static void test_parse_v4_rejects(void **state)
{
	static const char *const bad[] = {
		"01.2.3.4", "1.2.3.04", "1.02.3.4", "1.2.3.00", "1.2.3",
		"1.2.3.4.5", "256.1.1.1", "1.2.3.256", "1.2.3.4 ", " 1.2.3.4",
		"1..2.3", "a.b.c.d", "1.2.3.4/32", "0x1.2.3.4", "1.2.3.-4",
		"1.2.3.", ".1.2.3", "1,2,3,4", "", "1", "4294967295",
	};
	struct tl_ip ip;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], &ip) == 0)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(parse(bad[i], &ip), TL_EIP);
	}
}

/* Every RFC 4291 2.2 form, against inet_pton's bytes. */
static void test_parse_v6_forms(void **state)
{
	static const struct {
		const char *text, *ref;
	} forms[] = {
		{"2001:0db8:0000:0000:0000:ff00:0042:8329",
		 "2001:db8::ff00:42:8329"},
		{"2001:db8:0:0:0:ff00:42:8329", "2001:db8::ff00:42:8329"},
		{"2001:db8::ff00:42:8329", "2001:db8:0:0:0:ff00:42:8329"},
		{"::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"},
		{"1::", "1:0:0:0:0:0:0:0"},
		{"1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"},
		{"1::8", "1:0:0:0:0:0:0:8"},
		{"1:2::7:8", "1:2:0:0:0:0:7:8"},
		{"1:2:3:4:5:6::8", "1:2:3:4:5:6:0:8"},
		{"::", "0:0:0:0:0:0:0:0"},
		{"::1", "0:0:0:0:0:0:0:1"},
		{"2001:DB8::ABCD", "2001:db8::abcd"},
		{"FE80::1", "fe80::1"},
		{"0001:0002::000f", "1:2::f"},
		{"64:ff9b::1.2.3.4", "64:ff9b::102:304"},
		{"64:FF9B::192.0.2.33", "64:ff9b::c000:221"},
		{"::1.2.3.4", "::102:304"},
		{"1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"},
		{"[2001:db8::1]", "2001:db8::1"},
		{"[::]", "::"},
	};
	struct tl_ip ip;
	uint8_t ref[16];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		if (parse(forms[i].text, &ip) != 0)
			fail_msg("refused \"%s\"", forms[i].text);
		pton6(forms[i].ref, ref);
		assert_int_equal(ip.family, 6);
		assert_memory_equal(ip.a, ref, 16);
	}
}

/* v4-mapped IPv6 is the IPv4 host, whichever way it is written. */
static void test_parse_v4_mapped(void **state)
{
	(void)state;
	assert_v4("::ffff:1.2.3.4", 1, 2, 3, 4);
	assert_v4("::FFFF:1.2.3.4", 1, 2, 3, 4);
	assert_v4("::ffff:102:304", 1, 2, 3, 4);
	assert_v4("0:0:0:0:0:ffff:192.0.2.1", 192, 0, 2, 1);
	assert_v4("0000:0000:0000:0000:0000:ffff:255.255.255.255", 255, 255,
		  255, 255);
	assert_v4("[::ffff:127.0.0.2]", 127, 0, 0, 2);
}

static void test_parse_v6_rejects(void **state)
{
	static const char *const bad[] = {
		"1:2:3:4:5:6:7:8:9", "1::2::3", ":1:2:3:4:5:6:7",
		"1:2:3:4:5:6:7:", "12345::", "g::1", ":::", "1:2:3:4:5:6:7::8",
		"::ffff:1.2.3.04", "::1.2.3", "1.2.3.4::", "::1 ", " ::1",
		"[::1", "::1]", "[]", "[", "]", "[[::1]]", "1:2:3:4:5:6:7",
		"::ffff:256.1.1.1", "2001:db8::/32", ":", "::x",
	};
	struct tl_ip ip;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], &ip) == 0)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(parse(bad[i], &ip), TL_EIP);
	}
}

static void test_parse_zone_id(void **state)
{
	struct tl_ip ip;

	(void)state;
	assert_int_equal(parse("fe80::1%eth0", &ip), TL_EZONEID);
	assert_int_equal(parse("fe80::1%1", &ip), TL_EZONEID);
	assert_int_equal(parse("[fe80::1%eth0]", &ip), TL_EZONEID);
	assert_int_equal(parse("fe80::1%25eth0", &ip), TL_EZONEID);
}

static void test_parse_nul_and_length(void **state)
{
	static const char longest[] = "0000:0000:0000:0000:0000:ffff:255.255."
				      "255.255";
	char big[300];
	struct tl_ip ip;

	(void)state;
	/* An embedded NUL ends nothing: the whole length is the address. */
	assert_int_equal(tl_ip_parse("::1\0", 4, &ip), TL_EIP);
	assert_int_equal(tl_ip_parse("1.2.3.4\0", 8, &ip), TL_EIP);
	assert_int_equal(tl_ip_parse("1.2\0.3.4", 8, &ip), TL_EIP);
	/* No NUL needed: the length bounds the text. */
	assert_int_equal(tl_ip_parse("1.2.3.4garbage", 7, &ip), 0);
	assert_int_equal(ip.family, 4);
	assert_int_equal(tl_ip_parse("::1junk", 3, &ip), 0);
	assert_int_equal(tl_ip_parse("", 0, &ip), TL_EIP);

	assert_int_equal(strlen(longest), TL_IP_STRLEN - 1);
	assert_int_equal(parse(longest, &ip), 0);
	memset(big, '1', sizeof(big));
	assert_int_equal(tl_ip_parse(big, sizeof(big), &ip), TL_ETOOLONG);
	memcpy(big, "0000:0000:0000:0000:0000:0000:0000:0000:0000", 44);
	assert_int_not_equal(tl_ip_parse(big, 48, &ip), 0);
}

static const char *fmt(const char *in, char *buf)
{
	struct tl_ip ip;
	size_t n;

	if (parse(in, &ip) != 0)
		fail_msg("refused \"%s\"", in);
	n = tl_ip_format(&ip, buf);
	assert_int_equal(n, strlen(buf));
	return buf;
}

static void test_format_rfc5952(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"},
		/* 4.2.3: the first of two equal runs */
		{"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},
		/* 4.2.3: the longest run */
		{"2001:0:0:1:0:0:0:1", "2001:0:0:1::1"},
		{"0:0:1:0:0:0:1:0", "0:0:1::1:0"},
		/* 4.2.2: one zero group is not compressed */
		{"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},
		{"1:0:1:0:1:0:1:0", "1:0:1:0:1:0:1:0"},
		{"0:1:2:3:4:5:6:7", "0:1:2:3:4:5:6:7"},
		{"1:2:3:4:5:6:7:0", "1:2:3:4:5:6:7:0"},
		/* 4.3: lower case; 4.1: no leading zeros */
		{"2001:DB8::A:BCDE", "2001:db8::a:bcde"},
		{"0001:0020:0300:4000::", "1:20:300:4000::"},
		{"::", "::"},
		{"::1", "::1"},
		{"1::", "1::"},
		{"1:0:0:0:0:0:0:0", "1::"},
		{"0:0:0:0:0:0:0:1", "::1"},
		{"1:0:0:2:0:0:0:0", "1:0:0:2::"},
		{"0:0:0:0:1:0:0:0", "::1:0:0:0"},
		{"fe80:0:0:0:0:0:0:1", "fe80::1"},
		{"64:ff9b::1.2.3.4", "64:ff9b::102:304"},
		{"::ffff:1.2.3.4", "1.2.3.4"},
		{"192.0.2.1", "192.0.2.1"},
		{"0.0.0.0", "0.0.0.0"},
	};
	char buf[TL_IP_STRLEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(fmt(cases[i].in, buf), cases[i].out);
}

/* Every pattern of zero groups: format, check against glibc's RFC 5952
 * inet_ntop where it does not pick a dotted form, and parse back. */
static void test_format_roundtrip(void **state)
{
	char buf[TL_IP_STRLEN], sys[INET6_ADDRSTRLEN];
	struct tl_ip ip, back;
	unsigned mask, g, round;
	size_t i;

	(void)state;
	srand(4291);
	for (round = 0; round < 4; round++) {
		for (mask = 0; mask < 256; mask++) {
			memset(&ip, 0, sizeof(ip));
			ip.family = 6;
			for (g = 0; g < 8; g++) {
				unsigned v = mask & (1u << g)
						     ? 0
						     : 1 + (unsigned)rand() % 0xffff;

				if (round == 1 && v)
					v = 0xabcd;
				ip.a[2 * g] = (uint8_t)(v >> 8);
				ip.a[2 * g + 1] = (uint8_t)v;
			}
			if (memcmp(ip.a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) ==
			    0)
				continue;
			tl_ip_format(&ip, buf);
			for (i = 0; buf[i]; i++)
				assert_false(buf[i] >= 'A' && buf[i] <= 'Z');
			/* at most one "::" */
			if (strstr(buf, "::"))
				assert_null(strstr(strstr(buf, "::") + 1, "::"));
			assert_int_equal(parse(buf, &back), 0);
			assert_int_equal(back.family, 6);
			assert_memory_equal(back.a, ip.a, 16);
			for (i = 0; i < 10 && ip.a[i] == 0; i++)
				;
			if (i < 10) {
				assert_non_null(inet_ntop(AF_INET6, ip.a, sys,
							  sizeof(sys)));
				assert_string_equal(buf, sys);
			}
		}
	}
	for (round = 0; round < 1000; round++) {
		tl_ip_from_v4(&ip, (uint32_t)rand() * 2654435761u);
		tl_ip_format(&ip, buf);
		assert_int_equal(parse(buf, &back), 0);
		assert_int_equal(tl_ip_cmp(&ip, &back), 0);
		assert_non_null(inet_ntop(AF_INET, ip.a, sys, sizeof(sys)));
		assert_string_equal(buf, sys);
	}
}

static int pfx(const char *s, bool strict, struct tl_prefix *p)
{
	return tl_prefix_parse(s, strlen(s), strict, p);
}

static const char *pfx_str(const struct tl_prefix *p, char *buf)
{
	tl_prefix_format(p, buf);
	return buf;
}

static void test_prefix_parse(void **state)
{
	static const struct {
		const char *in, *out;
	} good[] = {
		{"192.0.2.0/24", "192.0.2.0/24"},
		{"10.0.0.0/8", "10.0.0.0/8"},
		{"0.0.0.0/0", "0.0.0.0/0"},
		{"1.2.3.4/32", "1.2.3.4/32"},
		{"1.2.3.4", "1.2.3.4/32"},
		{"192.0.2.0/23", "192.0.2.0/23"},
		{"2001:db8::/32", "2001:db8::/32"},
		{"2001:DB8:0:0::/64", "2001:db8::/64"},
		{"::/0", "::/0"},
		{"::1/128", "::1/128"},
		{"::1", "::1/128"},
		{"fe80::/10", "fe80::/10"},
		{"[2001:db8::]/48", "2001:db8::/48"},
	};
	static const char *const bad[] = {
		"1.2.3.0/33", "::/129", "1.2.3.0/", "1.2.3.0/x", "1.2.3.0/024",
		"::/00", "/24", "1.2.3.0/24/1", "1.2.3.0/-1", "1.2.3.0/ 24",
		"1.2.3.0/1000", "1.2.3.0/2 ", "foo/8", "", "1.2.3.0//24",
		"fe80::%eth0/64",
	};
	char buf[TL_PREFIX_STRLEN];
	struct tl_prefix p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (pfx(good[i].in, true, &p) != 0)
			fail_msg("refused \"%s\"", good[i].in);
		assert_string_equal(pfx_str(&p, buf), good[i].out);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (pfx(bad[i], true, &p) == 0 || pfx(bad[i], false, &p) == 0)
			fail_msg("accepted \"%s\"", bad[i]);
	assert_int_equal(pfx("fe80::%eth0/64", true, &p), TL_EZONEID);
}

static void test_prefix_hostbits(void **state)
{
	static const struct {
		const char *in, *masked;
	} cases[] = {
		{"192.0.2.1/24", "192.0.2.0/24"},
		{"10.1.0.0/15", "10.0.0.0/15"},
		{"10.1.2.3/0", "0.0.0.0/0"},
		{"192.0.3.0/23", "192.0.2.0/23"},
		{"2001:db8::1/32", "2001:db8::/32"},
		{"2001:db8:8000::/33", "2001:db8:8000::/33"},
		{"2001:db8:c000::/33", "2001:db8:8000::/33"},
		{"::1/127", "::/127"},
	};
	char buf[TL_PREFIX_STRLEN];
	struct tl_prefix p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = pfx(cases[i].in, true, &p);

		if (strcmp(cases[i].in, cases[i].masked) == 0) {
			assert_int_equal(rc, 0);
		} else {
			assert_int_equal(rc, TL_EHOSTBITS);
			/* strict still says what was meant */
			assert_string_equal(pfx_str(&p, buf), cases[i].masked);
		}
		assert_int_equal(pfx(cases[i].in, false, &p), 0);
		assert_string_equal(pfx_str(&p, buf), cases[i].masked);
	}
}

static void test_prefix_mapped(void **state)
{
	char buf[TL_PREFIX_STRLEN];
	struct tl_prefix p;

	(void)state;
	assert_int_equal(pfx("::ffff:1.2.3.0/120", true, &p), 0);
	assert_int_equal(p.ip.family, 4);
	assert_string_equal(pfx_str(&p, buf), "1.2.3.0/24");
	assert_int_equal(pfx("::ffff:0.0.0.0/96", true, &p), 0);
	assert_string_equal(pfx_str(&p, buf), "0.0.0.0/0");
	assert_int_equal(pfx("::ffff:1.2.3.4/128", true, &p), 0);
	assert_string_equal(pfx_str(&p, buf), "1.2.3.4/32");
	assert_int_equal(pfx("::FFFF:10.0.0.0/104", true, &p), 0);
	assert_string_equal(pfx_str(&p, buf), "10.0.0.0/8");
	assert_int_equal(pfx("::ffff:1.2.3.4/120", true, &p), TL_EHOSTBITS);
	assert_string_equal(pfx_str(&p, buf), "1.2.3.0/24");
	assert_int_equal(pfx("::ffff:1.2.3.4/120", false, &p), 0);
	assert_string_equal(pfx_str(&p, buf), "1.2.3.0/24");
	/* Shorter than /96 covers more than the mapped block. */
	assert_int_not_equal(pfx("::ffff:1.2.3.0/95", false, &p), 0);
	assert_int_not_equal(pfx("::ffff:1.2.3.0/24", false, &p), 0);
	assert_int_not_equal(pfx("::ffff:1.2.3.0/129", false, &p), 0);
}

/*
 * The same mapped prefixes written in hex: the length of any IPv6 text
 * counts 128 bits, whether the tail is dotted or not.
 */
static void test_prefix_mapped_hex(void **state)
{
	char buf[TL_PREFIX_STRLEN];
	struct tl_prefix p;

	(void)state;
	/* ::ffff:102:300/24 is the IPv6 prefix ::/24, not 1.2.3.0/24 */
	assert_int_not_equal(pfx("::ffff:102:300/24", false, &p), 0);
	assert_int_equal(pfx("::ffff:102:300/120", true, &p), 0);
	assert_string_equal(pfx_str(&p, buf), "1.2.3.0/24");
}

static struct tl_ip ip_of(const char *s)
{
	struct tl_ip ip;

	if (parse(s, &ip) != 0)
		fail_msg("refused \"%s\"", s);
	return ip;
}

static bool contains(const char *prefix, const char *ip)
{
	struct tl_prefix p;
	struct tl_ip a = ip_of(ip);

	assert_int_equal(pfx(prefix, true, &p), 0);
	return tl_prefix_contains(&p, &a);
}

static void test_prefix_contains(void **state)
{
	(void)state;
	assert_true(contains("192.0.2.0/24", "192.0.2.0"));
	assert_true(contains("192.0.2.0/24", "192.0.2.255"));
	assert_false(contains("192.0.2.0/24", "192.0.3.0"));
	assert_false(contains("192.0.2.0/24", "192.0.1.255"));
	assert_true(contains("192.0.2.0/23", "192.0.3.7"));
	assert_false(contains("192.0.2.0/23", "192.0.4.0"));
	assert_true(contains("10.0.0.0/8", "10.255.255.255"));
	assert_true(contains("172.16.0.0/12", "172.31.0.1"));
	assert_false(contains("172.16.0.0/12", "172.32.0.1"));
	assert_true(contains("0.0.0.0/0", "203.0.113.9"));
	assert_false(contains("0.0.0.0/0", "2001:db8::1"));
	assert_true(contains("::/0", "2001:db8::1"));
	assert_false(contains("::/0", "1.2.3.4"));
	assert_true(contains("10.0.0.0/8", "::ffff:10.1.2.3"));
	assert_true(contains("2001:db8::/32", "2001:db8:ffff::1"));
	assert_false(contains("2001:db8::/32", "2001:db9::"));
	assert_true(contains("fe80::/10", "febf::1"));
	assert_false(contains("fe80::/10", "fec0::1"));
	assert_true(contains("::/127", "::1"));
	assert_false(contains("::/127", "::2"));
	assert_true(contains("1.2.3.4/32", "1.2.3.4"));
	assert_false(contains("1.2.3.4/32", "1.2.3.5"));
}

static void test_prefix_last(void **state)
{
	static const struct {
		const char *prefix, *last;
	} cases[] = {
		{"192.0.2.0/24", "192.0.2.255"},
		{"192.0.2.0/23", "192.0.3.255"},
		{"10.0.0.0/8", "10.255.255.255"},
		{"172.16.0.0/12", "172.31.255.255"},
		{"1.2.3.4/32", "1.2.3.4"},
		{"0.0.0.0/0", "255.255.255.255"},
		{"2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"},
		{"fe80::/10", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
		{"::/127", "::1"},
		{"::1/128", "::1"},
		{"::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
	};
	char buf[TL_IP_STRLEN];
	struct tl_prefix p;
	struct tl_ip last;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(pfx(cases[i].prefix, true, &p), 0);
		tl_prefix_last(&p, &last);
		tl_ip_format(&last, buf);
		assert_string_equal(buf, cases[i].last);
		assert_true(tl_prefix_contains(&p, &last));
	}
}

static void test_ip_cmp_and_v4(void **state)
{
	struct tl_ip a = ip_of("1.2.3.4"), b = ip_of("1.2.3.5");
	struct tl_ip c = ip_of("255.255.255.255"), d = ip_of("::");
	struct tl_ip e = ip_of("::1"), ip;
	char buf[TL_IP_STRLEN];

	(void)state;
	assert_true(tl_ip_cmp(&a, &b) < 0);
	assert_true(tl_ip_cmp(&b, &a) > 0);
	assert_int_equal(tl_ip_cmp(&a, &a), 0);
	assert_true(tl_ip_cmp(&c, &d) < 0); /* v4 sorts before v6 */
	assert_true(tl_ip_cmp(&d, &e) < 0);
	assert_int_equal(tl_ip_size(&a), 4);
	assert_int_equal(tl_ip_size(&e), 16);

	tl_ip_from_v4(&ip, 0xc0000201u);
	tl_ip_format(&ip, buf);
	assert_string_equal(buf, "192.0.2.1");
	assert_int_equal(tl_ip_cmp(&ip, &(struct tl_ip){0}) > 0, 1);
	assert_int_equal(tl_ip_v4(&ip), 0xc0000201u);
	assert_int_equal(tl_ip_v4(&c), 0xffffffffu);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_v4),
		cmocka_unit_test(test_parse_v4_rejects),
		cmocka_unit_test(test_parse_v6_forms),
		cmocka_unit_test(test_parse_v4_mapped),
		cmocka_unit_test(test_parse_v6_rejects),
		cmocka_unit_test(test_parse_zone_id),
		cmocka_unit_test(test_parse_nul_and_length),
		cmocka_unit_test(test_format_rfc5952),
		cmocka_unit_test(test_format_roundtrip),
		cmocka_unit_test(test_prefix_parse),
		cmocka_unit_test(test_prefix_hostbits),
		cmocka_unit_test(test_prefix_mapped),
		cmocka_unit_test(test_prefix_mapped_hex),
		cmocka_unit_test(test_prefix_contains),
		cmocka_unit_test(test_prefix_last),
		cmocka_unit_test(test_ip_cmp_and_v4),
	};

	return cmocka_run_group_tests_name("ip", tests, NULL, NULL);
}
