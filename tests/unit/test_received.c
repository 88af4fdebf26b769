/* SPDX-License-Identifier: MIT */
/* test_received.c -- one Received field: the forms MTAs write, dates, and
 * input that must not crash or read out of bounds */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/mail.h"
#include "trapline/err.h"

/* Fri, 27 Nov 2026 04:29:17 +0000 */
#define T0 INT64_C(1795753757)

/* Parse @v from an exact-size heap copy, so ASan sees any over-read. */
static int parse(const char *v, size_t n, struct mail_hop *hop)
{
	char *copy = malloc(n ? n : 1);
	int rc;

	assert_non_null(copy);
	memcpy(copy, v, n);
	rc = mail_received_parse(copy, n, hop);
	free(copy);
	return rc;
}

static void assert_hop(const char *v, const char *ip, const char *helo,
		       const char *rdns, const char *by, int64_t time)
{
	struct mail_hop hop;
	char buf[TL_IP_STRLEN];

	assert_int_equal(parse(v, strlen(v), &hop), 0);
	if (ip) {
		assert_true(hop.has_ip);
		tl_ip_format(&hop.ip, buf);
		assert_string_equal(buf, ip);
	} else {
		assert_false(hop.has_ip);
	}
	assert_string_equal(hop.helo, helo);
	assert_string_equal(hop.rdns, rdns);
	assert_string_equal(hop.by, by);
	assert_int_equal(hop.time, time);
}

static int64_t date_of(const char *date)
{
	char v[512];
	struct mail_hop hop;

	snprintf(v, sizeof(v), "from a (b [192.0.2.1]) by mx; %s", date);
	assert_int_equal(parse(v, strlen(v), &hop), 0);
	return hop.time;
}

static void test_postfix(void **state)
{
	(void)state;
	assert_hop("from helo.example (rdns.example [192.0.2.1]) by "
		   "mx.example.org (Postfix) with ESMTP id ABC123 for <x@y>; "
		   "Fri, 27 Nov 2026 04:29:17 +0000 (UTC)",
		   "192.0.2.1", "helo.example", "rdns.example",
		   "mx.example.org", T0);
	assert_hop("from bot (unknown [192.0.2.1]) by mx.example.org "
		   "(Postfix) with SMTP id 4Xy; Fri, 27 Nov 2026 04:29:17 "
		   "+0000 (UTC)",
		   "192.0.2.1", "bot", "unknown", "mx.example.org", T0);
	/* TLS comments between the TCP-info and "by" hold "with". */
	assert_hop("from mail.example.net (mail.example.net [198.51.100.7])\r\n"
		   "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 "
		   "(256/256 bits)\r\n\t key-exchange X25519 server-signature "
		   "RSA-PSS (2048 bits))\r\n\t(No client certificate requested)"
		   "\r\n\tby mx.example.org (Postfix) with ESMTPS id 4Xy\r\n"
		   "\tfor <trap@example.org>; Fri, 27 Nov 2026 04:29:17 +0000 "
		   "(UTC)",
		   "198.51.100.7", "mail.example.net", "mail.example.net",
		   "mx.example.org", T0);
	/* HELO with an address literal: the TCP-info wins. */
	assert_hop("from [10.1.1.1] (unknown [192.0.2.1]) by mx", "192.0.2.1",
		   "[10.1.1.1]", "unknown", "mx", -1);
}

static void test_ipv6(void **state)
{
	(void)state;
	assert_hop("from bot (unknown [IPv6:2001:DB8::1]) by mx.example.org "
		   "(Postfix); Fri, 27 Nov 2026 04:29:17 +0000",
		   "2001:db8::1", "bot", "unknown", "mx.example.org", T0);
	assert_hop("from x ([IPv6:2001:db8::1]:25 helo=y) by mx with esmtp "
		   "(Exim 4.96)",
		   "2001:db8::1", "y", "x", "mx", -1);
	assert_hop("from HELO (2603:10a6:208:1::12) by EX1.example.com "
		   "(2603:10a6:208:2::34) with Microsoft SMTP Server",
		   "2603:10a6:208:1::12", "helo", "", "ex1.example.com", -1);
	/* IPv4-mapped is one host whichever way it is written. */
	assert_hop("from x (y [IPv6:::ffff:192.0.2.9]) by mx", "192.0.2.9",
		   "x", "y", "mx", -1);
}

static void test_sendmail(void **state)
{
	(void)state;
	assert_hop("from helo (rdns [192.0.2.1]) (may be forged) by host "
		   "(8.15.2/8.15.2) with ESMTP id 0ARAT9Xx; "
		   "Fri, 27 Nov 2026 04:29:17 -0500",
		   "192.0.2.1", "helo", "rdns", "host", T0 + 5 * 3600);
	assert_hop("from helo (rdns [192.0.2.1] (may be forged)) by host "
		   "(8.15.2/8.15.2)",
		   "192.0.2.1", "helo", "rdns", "host", -1);
	/* Ident: user@rdns. */
	assert_hop("from helo (joe@rdns.example [192.0.2.1]) by host",
		   "192.0.2.1", "helo", "rdns.example", "host", -1);
	/* No reverse name: the from word is the HELO, never the rdns. */
	assert_hop("from mx2.example.org ([192.0.2.1]) by host (8.15.2)",
		   "192.0.2.1", "mx2.example.org", "", "host", -1);
	/* No HELO at all. */
	assert_hop("(from rdns.example [192.0.2.1]) by host (8.15.2/8.15.2) "
		   "id x; Fri, 27 Nov 2026 04:29:17 +0000",
		   "192.0.2.1", "", "rdns.example", "host", T0);
	assert_hop("(from root@localhost) by host (8.15.2/8.15.2/Submit) id "
		   "0AR; Fri, 27 Nov 2026 04:29:17 +0000",
		   NULL, "", "", "host", T0);
}

static void test_exim(void **state)
{
	(void)state;
	assert_hop("from rdns.example ([192.0.2.1] helo=HELO) by mx with "
		   "esmtp (Exim 4.96) (envelope-from <a@b>) id 1abc-000 for "
		   "x@y; Fri, 27 Nov 2026 04:29:17 +0100",
		   "192.0.2.1", "helo", "rdns.example", "mx", T0 - 3600);
	assert_hop("from [192.0.2.1] (helo=HELO) by mx with esmtp "
		   "(Exim 4.96) (envelope-from <a@b>) id 1abc-000; "
		   "Fri, 27 Nov 2026 04:29:17 +0000",
		   "192.0.2.1", "helo", "", "mx", T0);
	assert_hop("from [192.0.2.1] (port=54321 helo=bot) by mx with esmtp "
		   "(Exim 4.96)",
		   "192.0.2.1", "bot", "", "mx", -1);
	/* No helo=: it was the verified name. */
	assert_hop("from mail.example.net ([192.0.2.1]) by mx with esmtps "
		   "(Exim 4.96)",
		   "192.0.2.1", "mail.example.net", "mail.example.net", "mx",
		   -1);
	assert_hop("from mail.example.net ([192.0.2.1]:4711) by mx",
		   "192.0.2.1", "mail.example.net", "mail.example.net", "mx",
		   -1);
	/* Local: no address. */
	assert_hop("from joe by mx.example.org with local (Exim 4.96) "
		   "(envelope-from <joe@example.org>) id 1abc; "
		   "Fri, 27 Nov 2026 04:29:17 +0000",
		   NULL, "joe", "", "mx.example.org", T0);
}

static void test_qmail(void **state)
{
	static const char qmail_local[] =
		"(qmail 1234 invoked by uid 89); 27 Nov 2026 04:29:17 -0000";
	struct mail_hop hop;

	(void)state;
	assert_hop("from unknown (HELO bot.example) (192.0.2.1) by "
		   "mx.example with SMTP; 27 Nov 2026 04:29:17 -0000",
		   "192.0.2.1", "bot.example", "unknown", "mx.example", T0);
	assert_hop("from host.example (HELO bot.example) (joe@192.0.2.1) by "
		   "mx.example with SMTP; 27 Nov 2026 04:29:17 -0000",
		   "192.0.2.1", "bot.example", "host.example", "mx.example",
		   T0);
	assert_hop("from unknown (HELO x) ([192.0.2.1]) by mx.example",
		   "192.0.2.1", "x", "", "mx.example", -1);
	/* Local injection: neither clause. */
	assert_int_equal(parse(qmail_local, strlen(qmail_local), &hop),
			 TL_ESYNTAX);
}

static void test_microsoft(void **state)
{
	(void)state;
	assert_hop("from HELO (192.0.2.1) by MX.example.com (10.0.0.1) with "
		   "Microsoft SMTP Server id 14.3.123.3; Fri, 27 Nov 2026 "
		   "04:29:17 +0000",
		   "192.0.2.1", "helo", "", "mx.example.com", T0);
	assert_hop("from EUR05.outbound.protection.outlook.com "
		   "(mail-vi1eur05on2080.outbound.protection.outlook.com. "
		   "[40.107.21.80]) by mx.example.org (Postfix)",
		   "40.107.21.80", "eur05.outbound.protection.outlook.com",
		   "mail-vi1eur05on2080.outbound.protection.outlook.com",
		   "mx.example.org", -1);
}

static void test_local(void **state)
{
	(void)state;
	assert_hop("by host with LMTP id x; Fri, 27 Nov 2026 04:29:17 +0000",
		   NULL, "", "", "host", T0);
	assert_hop("from localhost (localhost [127.0.0.1]) by mx.example.org "
		   "(Postfix) with ESMTP id 1; Fri, 27 Nov 2026 04:29:17 "
		   "+0000",
		   "127.0.0.1", "localhost", "localhost", "mx.example.org",
		   T0);
	assert_hop("by mx (Postfix, from userid 1000) id X; Fri, 27 Nov 2026 "
		   "04:29:17 +0000",
		   NULL, "", "", "mx", T0);
	assert_hop("by mx.example.org (Postfix, from userid 0)\n\tid 4Xy; "
		   "Fri, 27 Nov 2026 04:29:17 +0000 (UTC)",
		   NULL, "", "", "mx.example.org", T0);
}

/* What a sender controls (its HELO) cannot move the client address. */
static void test_forgery(void **state)
{
	(void)state;
	assert_hop("from a(10.0.0.1) (rdns [192.0.2.1]) by mx", "192.0.2.1",
		   "a", "rdns", "mx", -1);
	assert_hop("from by (x [192.0.2.1]) by mx", "192.0.2.1", "by", "x",
		   "mx", -1);
	assert_hop("from from (x [192.0.2.1]) by by", "192.0.2.1", "from",
		   "x", "by", -1);
	/* The client address in the by clause is not the client's. */
	assert_hop("from HELO by MX (10.0.0.1)", NULL, "helo", "", "mx", -1);
	/* A Postfix HELO may hold spaces and parentheses: what it imitates
	 * comes before the real TCP-info, and the last "by" is the real. */
	assert_hop("from x (unknown [10.0.0.1]) (unknown [45.67.89.10]) by mx",
		   "45.67.89.10", "x", "unknown", "mx", -1);
	assert_hop("from a by b (c [10.0.0.1]) (unknown [45.67.89.10]) by mx "
		   "(Postfix); Fri, 27 Nov 2026 04:29:17 +0000",
		   "45.67.89.10", "a", "unknown", "mx", T0);
	assert_hop("from x( (unknown [45.67.89.10]) by mx (Postfix); Fri, 27 "
		   "Nov 2026 04:29:17 +0000",
		   "45.67.89.10", "x", "unknown", "mx", T0);
	assert_hop("from (((((((((( (unknown [45.67.89.10]) by mx; Fri, 27 "
		   "Nov 2026 04:29:17 +0000",
		   "45.67.89.10", "", "unknown", "mx", T0);
	assert_hop("from \"x (unknown [45.67.89.10]) by mx; Fri, 27 Nov 2026 "
		   "04:29:17 +0000",
		   "45.67.89.10", "", "unknown", "mx", T0);
	assert_hop("from <x (unknown [45.67.89.10]) by mx; Fri, 27 Nov 2026 "
		   "04:29:17 +0000",
		   "45.67.89.10", "", "unknown", "mx", T0);
	/* A quoted recipient may hold '>', ';' and "by". */
	assert_hop("from x (unknown [45.67.89.10]) by mx (Postfix) for "
		   "<\"a> (z [10.0.0.1]) by y;\"@trap.example>; Fri, 27 Nov "
		   "2026 04:29:17 +0000",
		   "45.67.89.10", "x", "unknown", "mx", T0);
	/* Case is folded. */
	assert_hop("FROM Bot.Example (RDNS.Example. [192.0.2.1]) BY MX.Org.",
		   "192.0.2.1", "bot.example", "rdns.example", "mx.org", -1);
}

static void test_dates(void **state)
{
	(void)state;
	assert_int_equal(date_of("Fri, 27 Nov 2026 04:29:17 +0000"), T0);
	assert_int_equal(date_of("27 Nov 2026 04:29:17 +0000"), T0);
	assert_int_equal(date_of("Fri, 27 Nov 2026 04:29:17 -0500"),
			 T0 + 5 * 3600);
	assert_int_equal(date_of("Fri, 27 Nov 2026 04:29:17 +0530"),
			 T0 - 5 * 3600 - 30 * 60);
	assert_int_equal(date_of("Fri, 27 Nov 2026 04:29:17 EST"),
			 T0 + 5 * 3600);
	assert_int_equal(date_of("Fri, 27 Nov 2026 04:29:17 EDT"),
			 T0 + 4 * 3600);
	assert_int_equal(date_of("Fri, 27 Nov 2026 04:29:17 CST"),
			 T0 + 6 * 3600);
	assert_int_equal(date_of("Fri, 27 Nov 2026 04:29:17 pdt"),
			 T0 + 7 * 3600);
	assert_int_equal(date_of("Fri, 27 Nov 2026 04:29:17 MST"),
			 T0 + 7 * 3600);
	assert_int_equal(date_of("Fri, 27 Nov 2026 04:29:17 GMT"), T0);
	assert_int_equal(date_of("Fri, 27 Nov 2026 04:29:17 UT"), T0);
	assert_int_equal(date_of("Fri, 27 Nov 2026 04:29:17 Z"), T0);
	/* Military letters other than Z are -0000 (RFC 5322 4.3). */
	assert_int_equal(date_of("Fri, 27 Nov 2026 04:29:17 A"), T0);
	assert_int_equal(date_of("Fri, 27 Nov 2026 04:29:17 UTC"), T0);
	assert_int_equal(date_of("Fri, 27 Nov 2026 04:29:17"), T0);
	assert_int_equal(date_of("Fri, 27 Nov 2026 04:29 +0000"), T0 - 17);
	assert_int_equal(date_of("Fri, 27 Nov 26 04:29:17 +0000"), T0);
	assert_int_equal(date_of("Sat, 27 Nov 99 04:29:17 +0000"),
			 INT64_C(943676957));
	assert_int_equal(date_of("Fri, 27 Nov 126 04:29:17 +0000"), T0);
	assert_int_equal(date_of("Friday, 27 November 2026 04:29:17 +0000"),
			 T0);
	assert_int_equal(date_of("Fri , 27 Nov 2026 4:29:17 +0000"), T0);
	assert_int_equal(date_of("(x) Fri,(y) 27 (z) Nov 2026 04 : 29 : 17 "
				 "+0000 (UTC)"),
			 T0);
	assert_int_equal(date_of("Fri, 27 Nov 2026\r\n 04:29:17 +0000"), T0);
	assert_int_equal(date_of("Fri Nov 27 04:29:17 2026"), T0);
	assert_int_equal(date_of("Thu, 29 Feb 2024 23:59:60 +0000"),
			 INT64_C(1709251200));
	assert_int_equal(date_of("Thu, 01 Jan 1970 00:00:00 +0000"), 0);
	assert_int_equal(date_of("Tue, 01 Dec 2026 04:29:17 +0000"),
			 T0 + 4 * 86400);
	assert_int_equal(date_of("Wed, 27 Nov 2026 04:29:17 +0000"), T0);
	assert_int_equal(date_of("Tue, 31 Dec 2199 23:59:59 +0000"),
			 INT64_C(7258118399));

	assert_int_equal(date_of(""), -1);
	assert_int_equal(date_of("yesterday"), -1);
	assert_int_equal(date_of("Fri, 31 Feb 2026 04:29:17 +0000"), -1);
	assert_int_equal(date_of("Fri, 29 Feb 2026 04:29:17 +0000"), -1);
	assert_int_equal(date_of("Fri, 32 Nov 2026 04:29:17 +0000"), -1);
	assert_int_equal(date_of("Fri, 0 Nov 2026 04:29:17 +0000"), -1);
	assert_int_equal(date_of("Fri, 27 Nox 2026 04:29:17 +0000"), -1);
	assert_int_equal(date_of("Fri, 27 Nov 2026 24:29:17 +0000"), -1);
	assert_int_equal(date_of("Fri, 27 Nov 2026 04:60:17 +0000"), -1);
	assert_int_equal(date_of("Fri, 27 Nov 2026 04:29:61 +0000"), -1);
	assert_int_equal(date_of("Fri, 27 Nov 2026 04:29:17 +00"), -1);
	assert_int_equal(date_of("Fri, 27 Nov 2026 04:29:17 +0061"), -1);
	assert_int_equal(date_of("Fri, 27 Nov 20266 04:29:17 +0000"), -1);
	assert_int_equal(date_of("Fri, 27 Nov 2 04:29:17 +0000"), -1);
	assert_int_equal(date_of("Wed, 31 Dec 1969 23:59:59 +0000"), -1);
	assert_int_equal(date_of("Thu, 01 Jan 1970 00:59:59 +0100"), -1);
	assert_int_equal(date_of("Wed, 01 Jan 2200 00:00:00 +0000"), -1);
	assert_int_equal(date_of("Fri, 27 Nov 2026"), -1);
}

/* The date follows the last ';' outside comments, strings and paths. */
static void test_last_semicolon(void **state)
{
	(void)state;
	assert_hop("from x (y [192.0.2.1]) by mx id a; b; Fri, 27 Nov 2026 "
		   "04:29:17 +0000",
		   "192.0.2.1", "x", "y", "mx", T0);
	assert_hop("from x (y [192.0.2.1]) by mx for <a;b@c>; Fri, 27 Nov "
		   "2026 04:29:17 +0000 (a;b)",
		   "192.0.2.1", "x", "y", "mx", T0);
	assert_hop("from x (y; [192.0.2.1]) by mx for \"a;b\"@c; 27 Nov 2026 "
		   "04:29:17 +0000",
		   NULL, "x", "", "mx", T0);
	assert_hop("from x (y [192.0.2.1]) by mx; Fri, 27 Nov 2026 04:29:17 "
		   "+0000;",
		   "192.0.2.1", "x", "y", "mx", -1);
}

static void test_folded(void **state)
{
	(void)state;
	assert_hop("from helo.example (rdns.example\r\n\t[192.0.2.1])\r\n"
		   "\tby mx.example.org (Postfix) with ESMTP id ABC123\r\n"
		   "\tfor <x@y>; Fri, 27 Nov 2026 04:29:17 +0000 (UTC)",
		   "192.0.2.1", "helo.example", "rdns.example",
		   "mx.example.org", T0);
	assert_hop(" from helo.example\n (rdns.example [192.0.2.1])\n by\n "
		   "mx.example.org;\n Fri,\n 27 Nov 2026\n 04:29:17\n +0000\n",
		   "192.0.2.1", "helo.example", "rdns.example",
		   "mx.example.org", T0);
}

static void test_garbage(void **state)
{
	static const char *const bad[] = {
		"", " ", "garbage", ";", ";;;;", "(((((", ")))))", "<<<<",
		"\"", "with ESMTP id x; Fri, 27 Nov 2026 04:29:17 +0000",
		"(comment only)", "id x for <y>", "\\", "(\\",
	};
	struct mail_hop hop;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i], strlen(bad[i]), &hop),
				 TL_ESYNTAX);
	}
	assert_int_equal(parse("\0from\0x", 7, &hop), 0);
	assert_false(hop.has_ip);
	assert_string_equal(hop.helo, "x");
	/* An unclosed '(' is a stray byte, not a comment to the end. */
	assert_hop("from x (y [192.0.2.1] by mx; Fri, 27 Nov 2026 04:29:17 "
		   "+0000",
		   NULL, "x", "", "mx", T0);
	assert_hop("from x (y [192.0.2.1]) by mx; Fri, 27 Nov 2026 04:29:17 "
		   "+0000 (UTC",
		   "192.0.2.1", "x", "y", "mx", T0);
	assert_hop("from x (y [192.0.2.1]) by mx; Fri, 27 Nov (2026 04:29:17 "
		   "+0000",
		   "192.0.2.1", "x", "y", "mx", -1);
	/* Not addresses. */
	assert_hop("from x (y [192.0.2.256]) by mx", NULL, "x", "", "mx", -1);
	assert_hop("from x (y [fe80::1%eth0]) by mx", NULL, "x", "", "mx", -1);
	assert_hop("from x (y [192.0.2.1) by mx", NULL, "x", "", "mx", -1);
	assert_hop("from x (y []) by mx", NULL, "x", "", "mx", -1);
	assert_hop("from x (y [IPv6:]) by mx", NULL, "x", "", "mx", -1);
}

static void test_huge(void **state)
{
	size_t n = 1u << 20, i;
	char *v = malloc(n);
	struct mail_hop hop;
	static const char head[] = "from ";
	static const char clause[] = "from a (b [192.0.2.1]) by c (d) with e ";

	(void)state;
	assert_non_null(v);
	/* A HELO of a megabyte: cut at MAIL_NAME_MAX. */
	memcpy(v, head, sizeof(head) - 1);
	memset(v + 5, 'A', n - 5);
	assert_int_equal(mail_received_parse(v, n, &hop), 0);
	assert_int_equal(strlen(hop.helo), MAIL_NAME_MAX);
	assert_int_equal(hop.helo[0], 'a');
	/* Deep nesting costs a counter, not a stack. */
	memset(v, '(', n);
	assert_int_equal(mail_received_parse(v, n, &hop), TL_ESYNTAX);
	for (i = 0; i < n; i++)
		v[i] = "()"[i % 2];
	assert_int_equal(mail_received_parse(v, n, &hop), TL_ESYNTAX);
	memset(v, ';', n);
	assert_int_equal(mail_received_parse(v, n, &hop), TL_ESYNTAX);
	/* Many clauses: the first from and by stand. */
	for (i = 0; i + sizeof(clause) - 1 <= n; i += sizeof(clause) - 1)
		memcpy(v + i, clause, sizeof(clause) - 1);
	assert_int_equal(mail_received_parse(v, i, &hop), 0);
	assert_true(hop.has_ip);
	assert_string_equal(hop.by, "c");
	free(v);
}

/* Every prefix of a valid field parses without a fault (ASan checks the
 * reads: each prefix is its own exact-size allocation). */
static void test_truncated(void **state)
{
	static const char *const full[] = {
		("from helo.example (rdns.example [IPv6:2001:db8::1]) (using "
		 "TLSv1.3 (x)) by mx.example.org (Postfix) with ESMTP id ABC "
		 "for <x@y>; Fri, 27 Nov 2026 04:29:17 +0000 (UTC)"),
		("from rdns.example ([192.0.2.1]:25 helo=HELO) by mx with esmtp "
		 "(Exim 4.96) (envelope-from <a@b>) id 1abc for x@y; 27 Nov 26 "
		 "04:29 EST"),
		("from unknown (HELO \\(bot\\)) (joe@192.0.2.1) by mx with "
		 "SMTP; Fri Nov 27 04:29:17 2026"),
	};
	struct mail_hop hop;
	size_t i, k, n;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(full) / sizeof(full[0]); i++) {
		n = strlen(full[i]);
		for (k = 0; k <= n; k++) {
			rc = parse(full[i], k, &hop);
			assert_true(rc == 0 || rc == TL_ESYNTAX);
			assert_true(strlen(hop.helo) <= MAIL_NAME_MAX);
			assert_true(strlen(hop.rdns) <= MAIL_NAME_MAX);
			assert_true(strlen(hop.by) <= MAIL_NAME_MAX);
			/* A cut zone is an unknown one: -0000. */
			assert_true(hop.time == -1 || hop.time == T0 ||
				    hop.time == T0 - 17 ||
				    hop.time == T0 - 17 + 5 * 3600);
		}
		assert_int_equal(rc, 0);
		assert_true(hop.has_ip);
		assert_true(hop.time >= 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_postfix),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_sendmail),
		cmocka_unit_test(test_exim),
		cmocka_unit_test(test_qmail),
		cmocka_unit_test(test_microsoft),
		cmocka_unit_test(test_local),
		cmocka_unit_test(test_forgery),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_last_semicolon),
		cmocka_unit_test(test_folded),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_huge),
		cmocka_unit_test(test_truncated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
