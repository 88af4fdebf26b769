/* SPDX-License-Identifier: MIT */
/* test_message.c -- trap mailbox messages as events: the edge hop, own
 * relays, forged fields, bounces, dates, and the special address ranges */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl_limits.h"
#include "mail/mail.h"
#include "trapline/err.h"

/* Fri, 27 Nov 2026 04:29:17 +0000 */
#define T0 INT64_C(1795753757)

/* A bot sends straight to the trap MX; amavis re-injects over localhost;
 * the bot forged two older fields below the edge. */
static const char direct[] =
	"Return-Path: <Spam@Sender.Example>\n"
	"X-Original-To: trap@trap.example.org\n"
	"Delivered-To: trap@trap.example.org\n"
	"Received: from localhost (localhost [127.0.0.1])\n"
	"\tby mx.trap.example.org (Postfix) with ESMTP id 4Xz1\n"
	"\tfor <trap@trap.example.org>; Fri, 27 Nov 2026 04:29:21 +0000 (UTC)\n"
	"Received: from bot.example (unknown [45.67.89.10])\n"
	"\tby mx.trap.example.org (Postfix) with ESMTP id 4Xy0\n"
	"\tfor <trap@trap.example.org>; Fri, 27 Nov 2026 04:29:17 +0000 (UTC)\n"
	"Received: from forged.example (forged.example [81.2.69.142])\n"
	"\tby mail.bank.example (Postfix); Mon, 1 Jan 2024 00:00:00 +0000\n"
	"Received: from [10.9.9.9] by mail.bank.example; Mon, 1 Jan 2024\n"
	"\t00:00:00 +0000\n"
	"From: \"Your Bank\" <service@bank.example>\n"
	"To: trap@trap.example.org\n"
	"Subject: Account notice\n"
	"Date: Mon, 1 Jan 2024 00:00:00 +0000\n"
	"\n"
	"Click here.\n";

/* The operator's edge is mx2 (81.2.69.142), which relays to mx1. */
static const char chain[] =
	"Return-Path: <x@sender.example>\n"
	"Received: from mx2.example.org (mx2.example.org [81.2.69.142])\n"
	"\tby mx1.example.org (Postfix) with ESMTPS id 1;\n"
	"\tFri, 27 Nov 2026 04:29:22 +0000 (UTC)\n"
	"Received: from helo.bot.example (unknown [45.67.89.10])\n"
	"\tby mx2.example.org (Postfix) with ESMTP id 2;\n"
	"\tFri, 27 Nov 2026 04:29:17 +0000 (UTC)\n"
	"Received: from mx2.example.org (mx2.example.org [81.2.69.142])\n"
	"\tby forged.example; Fri, 27 Nov 2026 04:00:00 +0000\n"
	"Subject: hi\n"
	"\n"
	"body\n";

/* LF to CRLF, in an exact-size heap buffer so ASan sees over-reads. */
static char *crlf(const char *lf, size_t *len)
{
	size_t n = strlen(lf), extra = 0, i, o = 0;
	char *out;

	for (i = 0; i < n; i++)
		extra += lf[i] == '\n';
	out = malloc(n + extra);
	assert_non_null(out);
	for (i = 0; i < n; i++) {
		if (lf[i] == '\n')
			out[o++] = '\r';
		out[o++] = lf[i];
	}
	*len = o;
	return out;
}

static char *copy(const char *s, size_t *len)
{
	size_t n = strlen(s);
	char *out = malloc(n ? n : 1);

	assert_non_null(out);
	memcpy(out, s, n);
	*len = n;
	return out;
}

/* Run @msg with LF and with CRLF line ends; both must agree. Returns the
 * result, and the event of the LF run in @ev. */
static enum mail_skip run(const char *msg, const struct mail_opts *o,
			  struct tl_event *ev)
{
	struct tl_event ev2;
	enum mail_skip a, b;
	size_t n1, n2;
	char *m1 = copy(msg, &n1), *m2 = crlf(msg, &n2);

	a = mail_message_event(m1, n1, o, ev);
	b = mail_message_event(m2, n2, o, &ev2);
	assert_int_equal(a, b);
	if (a == MAIL_TAKEN) {
		assert_int_equal(tl_event_check(ev), 0);
		assert_int_equal(tl_event_check(&ev2), 0);
		assert_int_equal(ev->time, ev2.time);
		assert_int_equal(tl_ip_cmp(&ev->ip, &ev2.ip), 0);
		assert_string_equal(ev->helo, ev2.helo);
		assert_string_equal(ev->from, ev2.from);
		assert_int_equal(ev->size, n1);
		assert_int_equal(ev2.size, n2);
	}
	free(m1);
	free(m2);
	return a;
}

static void assert_ip(const struct tl_ip *ip, const char *want)
{
	char buf[TL_IP_STRLEN];

	tl_ip_format(ip, buf);
	assert_string_equal(buf, want);
}

static struct mail_opts opts(const struct mail_relays *r)
{
	struct mail_opts o = {r, NULL, -1, "trap1"};

	return o;
}

static void relays(const char *text, struct mail_relays *r)
{
	const char *bad = NULL;

	assert_int_equal(mail_relays_parse(text, r, &bad), 0);
	assert_null(bad);
}

static void test_direct(void **state)
{
	struct mail_opts o = opts(NULL);
	struct tl_event ev;

	(void)state;
	assert_int_equal(run(direct, &o, &ev), MAIL_TAKEN);
	/* The edge's client, not the forged hops below nor localhost. */
	assert_ip(&ev.ip, "45.67.89.10");
	assert_int_equal(ev.time, T0);
	assert_string_equal(ev.helo, "bot.example");
	assert_string_equal(ev.from, "sender.example");
	assert_string_equal(ev.sensor, "trap1");
	assert_int_equal(ev.kind, TL_KIND_SPAM);
	assert_int_equal(ev.count, 1);
	assert_int_equal(ev.rcpts, 1);
	assert_int_equal(ev.size, strlen(direct));
}

static void test_relay_by_ip(void **state)
{
	struct mail_relays r;
	struct mail_opts o;
	struct tl_event ev;

	(void)state;
	/* Without the relay configured, mx2 itself is the sender. */
	o = opts(NULL);
	assert_int_equal(run(chain, &o, &ev), MAIL_TAKEN);
	assert_ip(&ev.ip, "81.2.69.142");
	assert_int_equal(ev.time, T0 + 5);
	assert_string_equal(ev.helo, "mx2.example.org");

	relays("192.0.2.10 81.2.69.142", &r);
	o = opts(&r);
	assert_int_equal(run(chain, &o, &ev), MAIL_TAKEN);
	assert_ip(&ev.ip, "45.67.89.10");
	assert_int_equal(ev.time, T0);
	assert_string_equal(ev.helo, "helo.bot.example");
	assert_string_equal(ev.from, "sender.example");
	mail_relays_free(&r);
}

static void test_relay_by_cidr(void **state)
{
	struct mail_relays r;
	struct mail_opts o;
	struct tl_event ev;

	(void)state;
	relays("2001:db8::/32, 81.2.69.0/24", &r);
	o = opts(&r);
	assert_int_equal(run(chain, &o, &ev), MAIL_TAKEN);
	assert_ip(&ev.ip, "45.67.89.10");
	mail_relays_free(&r);

	/* A prefix that does not hold the relay changes nothing. */
	relays("81.2.70.0/24", &r);
	o = opts(&r);
	assert_int_equal(run(chain, &o, &ev), MAIL_TAKEN);
	assert_ip(&ev.ip, "81.2.69.142");
	mail_relays_free(&r);
}

static void test_relay_by_name(void **state)
{
	static const char helo_only[] =
		"Received: from mx2.example.org (unknown [81.2.69.142])\n"
		"\tby mx1.example.org; Fri, 27 Nov 2026 04:29:22 +0000\n"
		"Received: from bot (unknown [45.67.89.10]) by mx2.example.org;\n"
		"\tFri, 27 Nov 2026 04:29:17 +0000\n"
		"\n";
	struct mail_relays r;
	struct mail_opts o;
	struct tl_event ev;

	(void)state;
	relays("MX2.Example.ORG.", &r);
	assert_int_equal(r.nnames, 1);
	assert_string_equal(r.names[0], "mx2.example.org");
	o = opts(&r);
	assert_int_equal(run(chain, &o, &ev), MAIL_TAKEN);
	assert_ip(&ev.ip, "45.67.89.10");
	/* The HELO is the client's claim: it does not make a relay. */
	assert_int_equal(run(helo_only, &o, &ev), MAIL_TAKEN);
	assert_ip(&ev.ip, "81.2.69.142");
	mail_relays_free(&r);
}

/* A bot's forged fields below the edge name a "relay" and a public
 * address; none of it is read. */
static void test_forged_below(void **state)
{
	static const char msg[] =
		"Received: from x (unknown [45.67.89.10]) by mx.example.org;\n"
		"\tFri, 27 Nov 2026 04:29:17 +0000\n"
		"Received: from mx2.example.org (mx2.example.org [81.2.69.142])"
		" by x; Fri, 27 Nov 2026 04:29:16 +0000\n"
		"Received: from y (y [8.8.8.8]) by z; Fri, 27 Nov 2026 04:29:15"
		" +0000\n"
		"\n";
	struct mail_relays r;
	struct mail_opts o;
	struct tl_event ev;

	(void)state;
	relays("mx2.example.org 81.2.69.142", &r);
	o = opts(&r);
	assert_int_equal(run(msg, &o, &ev), MAIL_TAKEN);
	assert_ip(&ev.ip, "45.67.89.10");
	assert_int_equal(ev.time, T0);
	assert_string_equal(ev.helo, "x");
	mail_relays_free(&r);
}

/* A bot HELOs as the operator's relay, in the shape of TCP-info, to
 * have its own hop skipped and an innocent address below blamed. */
static void test_framing(void **state)
{
	static const char msg[] =
		"Received: from x (mx2.example.org [81.2.69.142]) by y\n"
		"\t(unknown [45.67.89.10])\n"
		"\tby mx.example.org (Postfix) with ESMTP id 1 for\n"
		"\t<\"a> (mx2.example.org [81.2.69.142]) by\"@trap.example>;\n"
		"\tFri, 27 Nov 2026 04:29:17 +0000 (UTC)\n"
		"Received: from innocent (innocent.example [8.8.8.8]) by z;\n"
		"\tFri, 27 Nov 2026 04:29:16 +0000\n"
		"\n";
	struct mail_relays r;
	struct mail_opts o;
	struct tl_event ev;

	(void)state;
	relays("mx2.example.org 81.2.69.142", &r);
	o = opts(&r);
	assert_int_equal(run(msg, &o, &ev), MAIL_TAKEN);
	assert_ip(&ev.ip, "45.67.89.10");
	assert_int_equal(ev.time, T0);
	mail_relays_free(&r);
}

static void test_internal_hops(void **state)
{
	static const char msg[] =
		"Received: by mail.example.org (Postfix, from userid 0)\n"
		"\tid 1; Fri, 27 Nov 2026 04:29:40 +0000\n"
		"Received: from mail.example.org by mail.example.org with LMTP "
		"id 2; Fri, 27 Nov 2026 04:29:30 +0000\n"
		"Received: from localhost (localhost [127.0.0.1]) by mx;\n"
		"\tFri, 27 Nov 2026 04:29:25 +0000\n"
		"Received: from gw (gw [10.1.2.3]) by mx; Fri, 27 Nov 2026 "
		"04:29:20 +0000\n"
		"Received: from cgnat (x [100.64.1.1]) by gw; Fri, 27 Nov 2026 "
		"04:29:19 +0000\n"
		"Received: from ll (x [IPv6:fe80::1]) by gw; Fri, 27 Nov 2026 "
		"04:29:18 +0000\n"
		"Received: from Bot (x [IPv6:2a00:1450:4001:80B::200E]) by gw;\n"
		"\tFri, 27 Nov 2026 04:29:17 +0000\n"
		"\n";
	struct mail_opts o = opts(NULL);
	struct tl_event ev;

	(void)state;
	assert_int_equal(run(msg, &o, &ev), MAIL_TAKEN);
	assert_int_equal(ev.ip.family, 6);
	assert_ip(&ev.ip, "2a00:1450:4001:80b::200e");
	assert_int_equal(ev.time, T0);
	assert_string_equal(ev.helo, "bot");
	assert_string_equal(ev.from, "");
}

static void test_ipv6_exim(void **state)
{
	static const char msg[] =
		"Received: from mail.example.net ([IPv6:2a00:1450:4001::5]:4711 "
		"helo=Spam.Example)\n\tby mx.example.org with esmtp (Exim 4.96)\n"
		"\t(envelope-from <a@b.example>) id 1abc-000\n"
		"\tfor trap@example.org; Fri, 27 Nov 2026 05:29:17 +0100\n"
		"Return-Path: <a@B.Example>\n"
		"\n";
	struct mail_opts o = opts(NULL);
	struct tl_event ev;

	(void)state;
	assert_int_equal(run(msg, &o, &ev), MAIL_TAKEN);
	assert_ip(&ev.ip, "2a00:1450:4001::5");
	assert_string_equal(ev.helo, "spam.example");
	assert_int_equal(ev.time, T0);
	assert_string_equal(ev.from, "b.example");
}

static void test_bounces(void **state)
{
	static const char *const bounces[] = {
		("Return-Path: <>\nReceived: from x (x [45.67.89.10]) by mx; "
		 "Fri, 27 Nov 2026 04:29:17 +0000\n\n"),
		("Return-Path: < >\nReceived: from x (x [45.67.89.10]) by mx; "
		 "Fri, 27 Nov 2026 04:29:17 +0000\n\n"),
		("Return-Path: <MAILER-DAEMON@mx.example>\nReceived: from x (x "
		 "[45.67.89.10]) by mx; Fri, 27 Nov 2026 04:29:17 +0000\n\n"),
		("Received: from x (x [45.67.89.10]) by mx; Fri, 27 Nov 2026 "
		 "04:29:17 +0000\nFrom: Mail Delivery System\n"
		 " <Mailer-Daemon@mx.example>\n\n"),
		("Received: from x (x [45.67.89.10]) by mx; Fri, 27 Nov 2026 "
		 "04:29:17 +0000\nFrom: MAILER-DAEMON (Mail Delivery System)\n\n"),
		("Received: from x (x [45.67.89.10]) by mx; Fri, 27 Nov 2026 "
		 "04:29:17 +0000\nMIME-Version: 1.0\nContent-Type: "
		 "multipart/report;\n\treport-type=delivery-status;\n"
		 "\tboundary=\"b1\"\n\n--b1\n"),
		("Received: from x (x [45.67.89.10]) by mx; Fri, 27 Nov 2026 "
		 "04:29:17 +0000\nContent-Type: Multipart/Report; "
		 "Report-Type=\"Delivery-Status\"; boundary=b\n\n"),
	};
	static const char *const not_bounces[] = {
		("Return-Path: <daemon@mx.example>\nReceived: from x (x "
		 "[45.67.89.10]) by mx; Fri, 27 Nov 2026 04:29:17 +0000\n\n"),
		("Received: from x (x [45.67.89.10]) by mx; Fri, 27 Nov 2026 "
		 "04:29:17 +0000\nFrom: mailer-daemon-fan@example.net\n\n"),
		("Received: from x (x [45.67.89.10]) by mx; Fri, 27 Nov 2026 "
		 "04:29:17 +0000\nContent-Type: multipart/report; "
		 "report-type=disposition-notification; boundary=b\n\n"),
		("Received: from x (x [45.67.89.10]) by mx; Fri, 27 Nov 2026 "
		 "04:29:17 +0000\nContent-Type: multipart/mixed; "
		 "boundary=\"delivery-status\"\n\n"),
		/* Only the top Return-Path counts. */
		("Return-Path: <a@b.example>\nReceived: from x (x "
		 "[45.67.89.10]) by mx; Fri, 27 Nov 2026 04:29:17 +0000\n"
		 "Return-Path: <>\n\n"),
	};
	struct mail_opts o = opts(NULL);
	struct tl_event ev;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bounces) / sizeof(bounces[0]); i++)
		assert_int_equal(run(bounces[i], &o, &ev), MAIL_SKIP_BOUNCE);
	for (i = 0; i < sizeof(not_bounces) / sizeof(not_bounces[0]); i++) {
		assert_int_equal(run(not_bounces[i], &o, &ev), MAIL_TAKEN);
		assert_ip(&ev.ip, "45.67.89.10");
	}
}

static void test_no_chain(void **state)
{
	static const char *const msgs[] = {
		"Subject: no trace fields\n\nbody\n",
		("Received: from a (a [10.0.0.1]) by b; Fri, 27 Nov 2026 "
		 "04:29:17 +0000\nReceived: from c (c [192.168.1.1]) by a; Fri, "
		 "27 Nov 2026 04:29:16 +0000\nReceived: by c with LMTP\n\n"),
		("Received: from a (a [203.0.113.5]) by b\nReceived: from c "
		 "(c [IPv6:2001:db8::1]) by a\n\n"),
		"Received: garbage\nReceived: (qmail 1 invoked by uid 2)\n\n",
		"Received: from a (a [81.2.69.142]) by b\n\n",
	};
	struct mail_relays r;
	struct mail_opts o;
	struct tl_event ev;
	size_t i;

	(void)state;
	relays("81.2.69.142", &r);
	o = opts(&r);
	for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++)
		assert_int_equal(run(msgs[i], &o, &ev), MAIL_SKIP_NO_CHAIN);
	mail_relays_free(&r);
}

static void test_no_header(void **state)
{
	struct mail_opts o = opts(NULL);
	struct tl_event ev;

	(void)state;
	assert_int_equal(mail_message_event("", 0, &o, &ev),
			 MAIL_SKIP_NO_HEADER);
	assert_int_equal(run("\nReceived: from a (a [45.67.89.10]) by b\n",
			     &o, &ev),
			 MAIL_SKIP_NO_HEADER);
	assert_int_equal(run("just some text\nReceived: from a (a "
			     "[45.67.89.10]) by b\n",
			     &o, &ev),
			 MAIL_SKIP_NO_HEADER);
	assert_int_equal(run("From sender@example.org Fri Nov 27 04:29:17 "
			     "2026\nReceived: x\n",
			     &o, &ev),
			 MAIL_SKIP_NO_HEADER);
}

static void test_date_fallback(void **state)
{
	/* The edge field has no date: take the nearest one above it. */
	static const char above[] =
		"Received: by mx with LMTP; Fri, 27 Nov 2026 04:29:30 +0000\n"
		"Received: from a (a [127.0.0.1]) by mx; Fri, 27 Nov 2026 "
		"04:29:20 +0000\n"
		"Received: from bot (unknown [45.67.89.10]) by mx\n"
		"Received: from x (x [8.8.8.8]) by y; Fri, 27 Nov 2026 04:00:00 "
		"+0000\n\n";
	static const char none[] =
		"Received: by mx with LMTP\n"
		"Received: from bot (unknown [45.67.89.10]) by mx; garbage\n"
		"Received: from x (x [8.8.8.8]) by y; Fri, 27 Nov 2026 04:00:00 "
		"+0000\n\n";
	struct mail_opts o = opts(NULL);
	struct tl_event ev;

	(void)state;
	assert_int_equal(run(above, &o, &ev), MAIL_TAKEN);
	assert_int_equal(ev.time, T0 + 3);
	o.fallback_time = T0 - 100;
	assert_int_equal(run(above, &o, &ev), MAIL_TAKEN);
	assert_int_equal(ev.time, T0 + 3);

	/* None above and none below is read: the fallback, else skip. */
	assert_int_equal(run(none, &o, &ev), MAIL_TAKEN);
	assert_int_equal(ev.time, T0 - 100);
	assert_ip(&ev.ip, "45.67.89.10");
	o.fallback_time = -1;
	assert_int_equal(run(none, &o, &ev), MAIL_SKIP_NO_TIME);
	o.fallback_time = ((int64_t)TL_DAY_MAX + 1) * 86400;
	assert_int_equal(run(none, &o, &ev), MAIL_SKIP_NO_TIME);
}

/* At most TL_RECEIVED_MAX fields are looked at. */
static void test_received_max(void **state)
{
	static const char inner[] = "Received: from a (a [10.0.0.1]) by b\n";
	static const char edge[] = "Received: from c (c [45.67.89.10]) by "
				   "b; Fri, 27 Nov 2026 04:29:17 +0000\n\n";
	struct mail_opts o = opts(NULL);
	struct tl_event ev;
	size_t cap = (TL_RECEIVED_MAX + 1) * sizeof(inner) + sizeof(edge);
	char *msg = malloc(cap);
	unsigned i;

	(void)state;
	assert_non_null(msg);
	msg[0] = '\0';
	for (i = 0; i < TL_RECEIVED_MAX - 1; i++)
		strcat(msg, inner);
	strcat(msg, edge);
	assert_int_equal(run(msg, &o, &ev), MAIL_TAKEN);
	msg[0] = '\0';
	for (i = 0; i < TL_RECEIVED_MAX; i++)
		strcat(msg, inner);
	strcat(msg, edge);
	assert_int_equal(run(msg, &o, &ev), MAIL_SKIP_NO_CHAIN);
	free(msg);
}

static void test_event_fields(void **state)
{
	char msg[2048], sensor[200];
	struct mail_opts o = opts(NULL);
	struct tl_event ev;
	size_t n;

	(void)state;
	memset(sensor, 's', sizeof(sensor) - 1);
	sensor[sizeof(sensor) - 1] = '\0';
	o.sensor = sensor;
	/* A long HELO fits ev.helo; a long domain is cut at TL_FROM_MAX. */
	n = (size_t)snprintf(msg, sizeof(msg),
			     "Return-Path: <@relay.example:a@%0300d.Example>\n"
			     "Received: from %0300d (x [45.67.89.10]) by mx; "
			     "Fri, 27 Nov 2026 04:29:17 +0000\n\n",
			     7, 8);
	assert_true(n < sizeof(msg));
	assert_int_equal(run(msg, &o, &ev), MAIL_TAKEN);
	assert_int_equal(strlen(ev.helo), MAIL_NAME_MAX);
	assert_int_equal(strlen(ev.from), TL_FROM_MAX);
	assert_int_equal(ev.from[0], '0');
	assert_int_equal(strlen(ev.sensor), sizeof(ev.sensor) - 1);

	o.sensor = NULL;
	assert_int_equal(run("Return-Path: no address\nReceived: from x (x "
			     "[45.67.89.10]) by mx; Fri, 27 Nov 2026 04:29:17 "
			     "+0000\n\n",
			     &o, &ev),
			 MAIL_TAKEN);
	assert_string_equal(ev.sensor, "");
	assert_string_equal(ev.from, "");
	/* No options at all. */
	n = strlen(direct);
	assert_int_equal(mail_message_event(direct, n, NULL, &ev), MAIL_TAKEN);
	assert_int_equal(tl_event_check(&ev), 0);
}

static void test_truncated(void **state)
{
	struct mail_relays r;
	struct mail_opts o;
	struct tl_event ev;
	size_t n = strlen(chain), k;
	enum mail_skip why;

	(void)state;
	relays("81.2.69.142", &r);
	o = opts(&r);
	o.fallback_time = T0;
	for (k = 0; k <= n; k++) {
		char *m = malloc(k ? k : 1);

		assert_non_null(m);
		memcpy(m, chain, k);
		why = mail_message_event(m, k, &o, &ev);
		assert_true(why < MAIL_SKIP_COUNT);
		if (why == MAIL_TAKEN)
			assert_int_equal(tl_event_check(&ev), 0);
		free(m);
	}
	mail_relays_free(&r);
}

static void test_relays_parse(void **state)
{
	static const struct {
		const char *text;
		int rc;
		size_t bad; /* offset of the bad item */
	} bad[] = {
		{"192.0.2.300", TL_EIP, 0},
		{"10.0.0.1 10.0.0.0/33", TL_ERANGE, 9},
		{"mx.example.org, bad_name!", TL_ESYNTAX, 16},
		{"a..b", TL_ESYNTAX, 0},
		{"1.2.3", TL_EIP, 0},
		{"fe80::1%eth0", TL_EZONEID, 0},
		{"::1/129", TL_ERANGE, 0},
		{"mx.example.org .", TL_EIP, 15},
		{"mx.example.org mx/24", TL_ESYNTAX, 15},
	};
	struct mail_relays r;
	const char *why;
	char *many, *p;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		rc = mail_relays_parse(bad[i].text, &r, &why);
		if (rc != bad[i].rc)
			fail_msg("%s: %d, want %d", bad[i].text, rc, bad[i].rc);
		assert_ptr_equal(why, bad[i].text + bad[i].bad);
		assert_null(r.nets);
		assert_int_equal(r.nnets + r.nnames, 0);
	}

	relays("192.0.2.10, 198.51.100.0/24\tmx2.example.org,,2001:db8::/32 "
	       "10.1.2.3/8",
	       &r);
	assert_int_equal(r.nnets, 4);
	assert_int_equal(r.nnames, 1);
	assert_int_equal(r.nets[1].len, 24);
	assert_int_equal(r.nets[3].len, 8); /* host bits cleared */
	assert_string_equal(r.names[0], "mx2.example.org");
	mail_relays_free(&r);
	relays("", &r);
	assert_int_equal(r.nnets + r.nnames, 0);
	mail_relays_free(&r);
	relays(" , ", &r);
	assert_int_equal(r.nnets + r.nnames, 0);
	mail_relays_free(&r);
	relays(NULL, &r);
	mail_relays_free(&r);

	/* TL_CONFIG_LIST_MAX items, then one too many; a long name. */
	many = malloc(TL_CONFIG_LIST_MAX * 8 + 400);
	assert_non_null(many);
	for (i = 0, p = many; i < TL_CONFIG_LIST_MAX; i++)
		p += sprintf(p, "h%zu ", i);
	relays(many, &r);
	assert_int_equal(r.nnames, TL_CONFIG_LIST_MAX);
	mail_relays_free(&r);
	strcpy(p, "extra");
	assert_int_equal(mail_relays_parse(many, &r, &why), TL_ELIMIT);
	assert_ptr_equal(why, p);
	memset(many, 'a', MAIL_NAME_MAX + 1);
	many[MAIL_NAME_MAX + 1] = '\0';
	assert_int_equal(mail_relays_parse(many, &r, &why), TL_ETOOLONG);
	many[MAIL_NAME_MAX] = '\0';
	relays(many, &r);
	mail_relays_free(&r);
	free(many);
}

static bool special(const char *s)
{
	struct tl_ip ip;

	assert_int_equal(tl_ip_parse(s, strlen(s), &ip), 0);
	return mail_ip_is_special(&ip);
}

static void test_special(void **state)
{
	static const char *const yes[] = {
		"0.0.0.0", "0.255.1.1", "10.0.0.1", "10.255.255.255",
		"100.64.0.1", "100.127.255.255", "127.0.0.1", "127.1.2.3",
		"169.254.1.1", "172.16.0.1", "172.31.255.255", "192.0.0.8",
		"192.0.2.1", "192.88.99.1", "192.168.1.1", "198.18.0.1",
		"198.19.255.255", "198.51.100.7", "203.0.113.5", "224.0.0.1",
		"239.255.255.255", "240.0.0.1", "255.255.255.255",
		"::", "::1", "::ffff:10.0.0.1", "64:ff9b::a00:1",
		"64:ff9b:1::1", "100::1", "2001::1", "2001:0:4136::1",
		"2001:2::1", "2001:1ff::1", "2001:db8::1",
		"2001:db8:ffff::1", "2002:c000:201::1", "3fff::1",
		"fc00::1", "fd12:3456::1", "fe80::1", "febf::1", "fec0::1",
		"ff02::1", "5f00::1", "4000::1", "1::1",
	};
	static const char *const no[] = {
		"1.1.1.1", "8.8.8.8", "9.255.255.255", "11.0.0.0",
		"100.63.255.255", "100.128.0.0", "126.255.255.255",
		"128.0.0.0", "169.253.1.1", "172.15.255.255", "172.32.0.0",
		"192.0.1.255", "192.0.3.0", "192.88.98.1", "192.167.1.1",
		"192.169.0.1", "198.17.255.255", "198.20.0.0", "198.51.99.1",
		"203.0.112.1", "223.255.255.255", "45.67.89.10",
		"64:ff9b::2d43:590a", "2001:200::1", "2001:db7::1",
		"2001:db9::1", "2003::1", "2a00:1450:4001:80b::200e",
		"2600::1", "3ffe::1", "3fff:1000::1",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!special(yes[i]))
			fail_msg("%s should be special", yes[i]);
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (special(no[i]))
			fail_msg("%s should not be special", no[i]);
}

static void test_skip_names(void **state)
{
	(void)state;
	assert_string_equal(mail_skip_name(MAIL_TAKEN), "taken");
	assert_string_equal(mail_skip_name(MAIL_SKIP_BOUNCE), "bounce");
	assert_string_equal(mail_skip_name(MAIL_SKIP_NO_CHAIN), "no_chain");
	assert_string_equal(mail_skip_name(MAIL_SKIP_NO_HEADER), "no_header");
	assert_string_equal(mail_skip_name(MAIL_SKIP_NO_TIME), "no_time");
	assert_string_equal(mail_skip_name(MAIL_SKIP_COUNT), "unknown");
	assert_string_equal(mail_skip_name((enum mail_skip)-1), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_direct),
		cmocka_unit_test(test_relay_by_ip),
		cmocka_unit_test(test_relay_by_cidr),
		cmocka_unit_test(test_relay_by_name),
		cmocka_unit_test(test_forged_below),
		cmocka_unit_test(test_framing),
		cmocka_unit_test(test_internal_hops),
		cmocka_unit_test(test_ipv6_exim),
		cmocka_unit_test(test_bounces),
		cmocka_unit_test(test_no_chain),
		cmocka_unit_test(test_no_header),
		cmocka_unit_test(test_date_fallback),
		cmocka_unit_test(test_received_max),
		cmocka_unit_test(test_event_fields),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_relays_parse),
		cmocka_unit_test(test_special),
		cmocka_unit_test(test_skip_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
