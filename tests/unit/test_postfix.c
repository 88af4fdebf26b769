/* SPDX-License-Identifier: MIT */
/* test_postfix.c -- Postfix log lines: the parser and the client state */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ingest/postfix.h"
#include "tl_limits.h"
#include "trapline/alloc.h"
#include "trapline/day.h"
#include "trapline/err.h"

static struct postfix_line pl;

static enum postfix_what parse(const char *s)
{
	postfix_parse_line(s, strlen(s), &pl);
	return pl.what;
}

static void assert_ip(const struct tl_ip *ip, const char *want)
{
	char buf[TL_IP_STRLEN];

	tl_ip_format(ip, buf);
	assert_string_equal(buf, want);
}

/* Unix seconds of a UTC civil time. */
static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
	return (int64_t)tl_day_from_civil(y, (unsigned)mo, (unsigned)d) *
		       86400 +
	       h * 3600 + mi * 60 + s;
}

static int64_t to_utc0(int y, int mo, int d, int h, int mi, int s)
{
	return utc(y, mo, d, h, mi, s);
}

/* A zone one hour east of UTC. */
static int64_t to_utc1(int y, int mo, int d, int h, int mi, int s)
{
	return utc(y, mo, d, h, mi, s) - 3600;
}

#define NOW utc(2026, 11, 27, 5, 0, 0)

static struct postfix_state *mkstate(unsigned threshold, unsigned window,
				     int64_t now)
{
	struct postfix_opts o = {
		.dict_threshold = threshold,
		.dict_window = window,
		.now = now,
		.sensor = "mx1",
		.to_utc = to_utc0,
	};
	struct postfix_state *st;

	assert_int_equal(postfix_state_new(&o, &st), 0);
	assert_non_null(st);
	return st;
}

static struct tl_event ev;

static enum ingest_line feed(struct postfix_state *st, const char *s)
{
	struct ingest_err err;
	enum ingest_line r;

	memset(&ev, 0xa5, sizeof(ev));
	r = postfix_feed(st, s, strlen(s), &ev, &err);
	assert_int_equal(err.code, 0);
	assert_true(r == INGEST_EVENT || r == INGEST_SKIP);
	if (r == INGEST_EVENT)
		assert_int_equal(tl_event_check(&ev), 0);
	return r;
}

/* ---- time stamps ---- */

static void test_stamps(void **state)
{
	(void)state;
	assert_int_equal(parse("Nov 27 04:29:17 mx1 postfix/smtpd[123]: "
			       "connect from unknown[192.0.2.1]"),
			 POSTFIX_IGNORED);
	assert_int_equal(pl.year, -1);
	assert_int_equal(pl.mon, 11);
	assert_int_equal(pl.mday, 27);
	assert_int_equal(pl.hour, 4);
	assert_int_equal(pl.min, 29);
	assert_int_equal(pl.sec, 17);
	assert_false(pl.has_offset);

	/* syslog pads the day with a space, maillog_file with a zero */
	assert_int_equal(parse("Jan  7 23:59:59 mx1 postfix/qmgr[812]: "
			       "4F2A81C0A12: removed"),
			 POSTFIX_IGNORED);
	assert_int_equal(pl.mon, 1);
	assert_int_equal(pl.mday, 7);
	assert_int_equal(pl.hour, 23);
	assert_int_equal(parse("Feb 07 00:00:00 vm postfix/smtpd[4220]: "
			       "hello"),
			 POSTFIX_IGNORED);
	assert_int_equal(pl.mon, 2);
	assert_int_equal(pl.mday, 7);
	/* a fraction of a second */
	assert_int_equal(parse("Dec 31 12:00:01.123456 mx1 postfix/smtp[9]: "
			       "x"),
			 POSTFIX_IGNORED);
	assert_int_equal(pl.sec, 1);
	assert_int_equal(pl.mon, 12);

	assert_int_equal(parse("2026-11-27T04:29:17.123456+01:00 mx1 "
			       "postfix/smtpd[1]: connect from x[192.0.2.1]"),
			 POSTFIX_IGNORED);
	assert_int_equal(pl.year, 2026);
	assert_int_equal(pl.mon, 11);
	assert_int_equal(pl.mday, 27);
	assert_int_equal(pl.hour, 4);
	assert_int_equal(pl.min, 29);
	assert_int_equal(pl.sec, 17);
	assert_true(pl.has_offset);
	assert_int_equal(pl.offset, 3600);

	assert_int_equal(parse("2026-11-27T04:29:17Z mx1 postfix/anvil[1]: x"),
			 POSTFIX_IGNORED);
	assert_true(pl.has_offset);
	assert_int_equal(pl.offset, 0);
	assert_int_equal(parse("2026-03-01T00:00:00-05:30 mx1 postfix/master[1]: "
			       "daemon started"),
			 POSTFIX_IGNORED);
	assert_int_equal(pl.offset, -(5 * 3600 + 30 * 60));
	/* journalctl -o short-iso */
	assert_int_equal(parse("2026-03-01T00:00:00+0100 mx1 postfix/pickup[1]: "
			       "x"),
			 POSTFIX_IGNORED);
	assert_int_equal(pl.offset, 3600);
	/* no offset: local time with a year */
	assert_int_equal(parse("2026-03-01T10:00:00 mx1 postfix/pickup[1]: x"),
			 POSTFIX_IGNORED);
	assert_false(pl.has_offset);
	assert_int_equal(pl.year, 2026);
}

static void test_bad_stamps(void **state)
{
	static const char *const bad[] = {
		"Foo 27 04:29:17 mx1 postfix/smtpd[1]: connect from x[1.2.3.4]",
		"Nov 32 04:29:17 mx1 postfix/smtpd[1]: connect",
		"Nov  0 04:29:17 mx1 postfix/smtpd[1]: connect",
		"Nov 27 24:29:17 mx1 postfix/smtpd[1]: connect",
		"Nov 27 04:60:17 mx1 postfix/smtpd[1]: connect",
		"Nov 27 04:29:61 mx1 postfix/smtpd[1]: connect",
		"Nov 27 4:29:17 mx1 postfix/smtpd[1]: connect",
		"nov 27 04:29:17 mx1 postfix/smtpd[1]: connect",
		"2026-02-29T04:29:17Z mx1 postfix/smtpd[1]: connect",
		"2026-13-01T04:29:17Z mx1 postfix/smtpd[1]: connect",
		"2026-11-27T04:29:17+24:00 mx1 postfix/smtpd[1]: connect",
		"2026-11-27T04:29:17+01:60 mx1 postfix/smtpd[1]: connect",
		"2026-11-27T04:29:17+1 mx1 postfix/smtpd[1]: connect",
		"2026-11-27T04:29:17. mx1 postfix/smtpd[1]: connect",
		"2026-11-27X04:29:17Z mx1 postfix/smtpd[1]: connect",
		"Nov 27 04:29:17mx1 postfix/smtpd[1]: connect",
		"Nov 27 04:29:17  postfix/smtpd[1]: connect",
		"Nov 27 04:29:17 mx1 postfix/smtpd[1] connect",
		"Nov 27 04:29:17 mx1 postfix/smtpd[1x]: connect",
		"Nov 27 04:29:17 mx1 postfix/smtpd[1:",
		"Nov 27 04:29:17 mx1 postfix/: connect",
		"Nov 27 04:29:17 mx1 : connect",
		"",
		"Nov",
		"Nov 27 04:29:17",
		"Nov 27 04:29:17 mx1",
		"\x01\x02\x03\xff garbage \xfe\xfe\xfe\xfe\xfe\xfe\xfe\xfe\xfe",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse(bad[i]) != POSTFIX_OTHER)
			fail_msg("not OTHER (%d): %s", pl.what, bad[i]);
}

/* ---- programs ---- */

static void test_programs(void **state)
{
	static const char *const ignored[] = {
		"Nov 27 04:29:17 mx1 postfix/qmgr[812]: 4F2A81C0A12: "
		"from=<a@b.org>, size=4231, nrcpt=1 (queue active)",
		"Nov 27 04:29:17 mx1 postfix/cleanup[2211]: 4F2A81C0A12: "
		"message-id=<1@b.org>",
		"Nov 27 04:29:17 mx1 postfix/smtp[3312]: 4F2A81C0A12: "
		"to=<r@gmail.com>, relay=gmail-smtp-in.l.google.com"
		"[142.250.1.26]:25, delay=0.9, dsn=2.0.0, status=sent (250 OK)",
		"Nov 27 04:29:17 mx1 postfix/local[1]: 4F2A81C0A12: "
		"to=<u@mx1>, status=bounced (unknown user: \"u\")",
		"Nov 27 04:29:17 mx1 postfix/virtual[1]: x",
		"Nov 27 04:29:17 mx1 postfix/anvil[1]: statistics: max "
		"connection rate 1/60s for (smtp:192.0.2.1) at Nov 27 04:20:00",
		"Nov 27 04:29:17 mx1 postfix/master[1]: daemon started",
		"Nov 27 04:29:17 mx1 postfix/pickup[1]: 4F2A81C0A12: uid=0 "
		"from=<root>",
		"Nov 27 04:29:17 mx1 postfix/bounce[1]: 4F2A81C0A12: sender "
		"non-delivery notification: 5B3C",
		"Nov 27 04:29:17 mx1 postfix/postfix-script[1]: starting the "
		"Postfix mail system",
		"Nov 27 04:29:17 mx1 postfix/relay/smtp[1]: x",
		"Nov 27 04:29:17 mx1 postfix/whatever-new[1]: x",
		"Nov 27 04:29:17 mx1 mx/qmgr[1]: x",
		"Nov 27 04:29:17 mx1 postfix[1]: Postfix is running",
		"Nov 27 04:29:17 mx1 postfix/smtpd[1]: connect from "
		"unknown[192.0.2.1]",
		"Nov 27 04:29:17 mx1 postfix/smtpd[1]: disconnect from "
		"unknown[192.0.2.1] ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4",
		"Nov 27 04:29:17 mx1 postfix/smtpd[1]: lost connection after "
		"AUTH from unknown[192.0.2.1]",
		"Nov 27 04:29:17 mx1 postfix/smtpd[1]: 4F2A81C0A12: "
		"client=mail.example.net[198.51.100.7]",
		"Nov 27 04:29:17 mx1 postfix/smtpd[1]: warning: hostname "
		"x.example does not resolve to address 192.0.2.1",
		"Nov 27 04:29:17 mx1 postfix/postscreen[700]: CONNECT from "
		"[192.0.2.1]:51234 to [192.0.2.25]:25",
		"Nov 27 04:29:17 mx1 postfix/postscreen[700]: PASS NEW "
		"[192.0.2.1]:51234",
		"Nov 27 04:29:17 mx1 postfix/postscreen[700]: DNSBL rank 3 for "
		"[192.0.2.1]:51234",
		"Nov 27 04:29:17 mx1 postfix/postscreen[700]: HANGUP after 2.1 "
		"from [192.0.2.1]:51234 in tests after SMTP handshake",
		"Nov 27 04:29:17 mx1 postfix/postscreen[700]: COMMAND TIME "
		"LIMIT from [192.0.2.1]:51234 after RCPT",
		"Nov 27 04:29:17 mx1 postfix/dnsblog[701]: addr 192.0.2.1 "
		"listed by domain zen.spamhaus.org as 127.0.0.4",
	};
	static const char *const other[] = {
		/* OpenSMTPD logs as smtpd[pid], with no Postfix prefix */
		"Nov 27 04:29:17 mx1 smtpd[99]: 1a2b3c smtp failed-command "
		"command=\"RCPT TO:<x@y>\" result=\"550 Invalid recipient\"",
		"Nov 27 04:29:17 mx1 dovecot: imap-login: Login: user=<u>",
		"Nov 27 04:29:17 mx1 sshd[4]: Failed password for root from "
		"192.0.2.1 port 22 ssh2",
		"Nov 27 04:29:17 mx1 kernel: [ 1.0] x",
		"Nov 27 04:29:17 mx1 foo/bar[1]: x",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		if (parse(ignored[i]) != POSTFIX_IGNORED)
			fail_msg("not IGNORED (%d): %s", pl.what, ignored[i]);
	for (i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		if (parse(other[i]) != POSTFIX_OTHER)
			fail_msg("not OTHER (%d): %s", pl.what, other[i]);
}

/* ---- smtpd: unknown recipients ---- */

struct rcpt_case {
	const char *line;
	const char *ip, *rcpt, *helo, *from;
};

static const struct rcpt_case rcpt_cases[] = {
	{"Nov 27 04:29:17 mx1 postfix/smtpd[4321]: NOQUEUE: reject: RCPT "
	 "from unknown[192.0.2.1]: 550 5.1.1 <foo@example.org>: Recipient "
	 "address rejected: User unknown in local recipient table; "
	 "from=<x@y.org> to=<foo@example.org> proto=ESMTP helo=<bot>",
	 "192.0.2.1", "foo@example.org", "bot", "y.org"},
	/* a queue id, a host name, 450, mixed case */
	{"Nov 27 04:29:17 mx1 postfix/smtpd[4321]: 4Hk2Vx6P5Yz8Bq: reject: "
	 "RCPT from mail.example.net[198.51.100.7]: 450 4.1.1 "
	 "<Foo.Bar@Example.ORG>: Recipient address rejected: User unknown "
	 "in virtual mailbox table; from=<Bounce@Lists.Example.NET> "
	 "to=<Foo.Bar@Example.ORG> proto=ESMTP helo=<mail.example.net>",
	 "198.51.100.7", "foo.bar@example.org", "mail.example.net",
	 "lists.example.net"},
	/* IPv6, virtual alias table, null sender */
	{"2026-11-27T04:29:17.123456+01:00 mx1 postfix/smtpd[4321]: "
	 "NOQUEUE: reject: RCPT from unknown[2001:db8::1]: 550 5.1.1 "
	 "<a@example.org>: Recipient address rejected: User unknown in "
	 "virtual alias table; from=<> to=<a@example.org> proto=SMTP "
	 "helo=<[2001:db8::1]>",
	 "2001:db8::1", "a@example.org", "[2001:db8::1]", ""},
	/* relay recipient table, submission service, port logging */
	{"Nov  7 04:29:17 mx1 postfix/submission/smtpd[4321]: NOQUEUE: "
	 "reject: RCPT from unknown[192.0.2.2]:40312: 550 5.1.1 "
	 "<b@example.org>: Recipient address rejected: User unknown in "
	 "relay recipient table; from=<root> to=<b@example.org> proto=ESMTP "
	 "helo=<x y z>",
	 "192.0.2.2", "b@example.org", "x y z", ""},
	/* a multi-instance syslog_name, plain "User unknown" */
	{"Nov 27 04:29:17 mx1 postfix-in/smtpd[4321]: NOQUEUE: reject: RCPT "
	 "from unknown[192.0.2.3]: 550 5.1.1 <c@example.org>: Recipient "
	 "address rejected: User unknown; from=<s@s.example> "
	 "to=<c@example.org> proto=ESMTP helo=<h>",
	 "192.0.2.3", "c@example.org", "h", "s.example"},
	/* address verification: a remote "User unknown" */
	{"Nov 27 04:29:17 mx1 postfix/smtpd[4321]: NOQUEUE: reject: RCPT "
	 "from unknown[192.0.2.4]: 550 5.1.1 <d@example.org>: Recipient "
	 "address rejected: undeliverable address: host "
	 "inside.example.org[10.0.0.2] said: 550 5.1.1 <d@example.org>: "
	 "Recipient address rejected: User unknown in virtual mailbox "
	 "table (in reply to RCPT TO command); from=<> to=<d@example.org> "
	 "proto=ESMTP helo=<e>",
	 "192.0.2.4", "d@example.org", "e", ""},
	/* address verification: local(8)'s "unknown user" */
	{"Nov 27 04:29:17 mx1 postfix/smtpd[4321]: NOQUEUE: reject: RCPT "
	 "from unknown[192.0.2.5]: 550 5.1.1 <e@example.org>: Recipient "
	 "address rejected: undeliverable address: unknown user: \"e\"; "
	 "from=<a@b.c> to=<e@example.org> proto=ESMTP helo=<f>",
	 "192.0.2.5", "e@example.org", "f", "b.c"},
	/* maillog_file, IPv4-mapped address, no tail */
	{"Nov 07 04:29:17 vm postfix/smtpd[4321]: NOQUEUE: reject: RCPT "
	 "from unknown[::ffff:192.0.2.6]: 550 5.1.1 <f@example.org>: "
	 "Recipient address rejected: User unknown in local recipient table",
	 "192.0.2.6", "f@example.org", "", ""},
	/* trailing CR LF */
	{"Nov 27 04:29:17 mx1 postfix/smtpd[4321]: NOQUEUE: reject: RCPT "
	 "from unknown[192.0.2.7]: 550 5.1.1 <g@example.org>: Recipient "
	 "address rejected: User unknown in local recipient table; "
	 "from=<x@y.org> to=<g@example.org> proto=ESMTP helo=<bot>\r\n",
	 "192.0.2.7", "g@example.org", "bot", "y.org"},
};

static void test_unknown_rcpt(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rcpt_cases) / sizeof(rcpt_cases[0]); i++) {
		const struct rcpt_case *c = &rcpt_cases[i];

		if (parse(c->line) != POSTFIX_UNKNOWN_RCPT)
			fail_msg("case %zu: got %d", i, pl.what);
		assert_ip(&pl.ip, c->ip);
		assert_string_equal(pl.rcpt, c->rcpt);
		assert_string_equal(pl.helo, c->helo);
		assert_string_equal(pl.from, c->from);
		assert_string_equal(pl.tag, "");
	}
	assert_int_equal(rcpt_cases[2].line[0], '2');
	parse(rcpt_cases[2].line);
	assert_int_equal(pl.year, 2026);
	assert_int_equal(pl.offset, 3600);
}

static void test_other_rejects(void **state)
{
	static const char *const lines[] = {
		"Nov 27 04:29:17 mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT "
		"from unknown[192.0.2.1]: 454 4.7.1 <a@elsewhere.example>: "
		"Relay access denied; from=<x@y.org> to=<a@elsewhere.example> "
		"proto=ESMTP helo=<bot>",
		"Nov 27 04:29:17 mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT "
		"from unknown[192.0.2.1]: 554 5.7.1 Service unavailable; "
		"Client host [192.0.2.1] blocked using zen.spamhaus.org; "
		"from=<x@y.org> to=<a@example.org> proto=ESMTP helo=<bot>",
		"Nov 27 04:29:17 mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT "
		"from unknown[192.0.2.1]: 450 4.7.1 <bot>: Helo command "
		"rejected: Host not found; from=<x@y.org> to=<a@example.org> "
		"proto=ESMTP helo=<bot>",
		"Nov 27 04:29:17 mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT "
		"from unknown[192.0.2.1]: 450 4.1.1 <a@example.org>: Recipient "
		"address rejected: unverified address: host x[10.0.0.2] said: "
		"450 try again; from=<x@y.org> to=<a@example.org> proto=ESMTP "
		"helo=<bot>",
		"Nov 27 04:29:17 mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT "
		"from unknown[192.0.2.1]: 550 5.1.0 <x@y.org>: Sender address "
		"rejected: Domain not found; from=<x@y.org> to=<a@example.org> "
		"proto=ESMTP helo=<bot>",
		"Nov 27 04:29:17 mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT "
		"from unknown[192.0.2.1]: 550 5.1.1 <>: Recipient address "
		"rejected: User unknown in local recipient table",
		"Nov 27 04:29:17 mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT "
		"from unknown[unknown]: 550 5.1.1 <a@example.org>: Recipient "
		"address rejected: User unknown in local recipient table",
		"Nov 27 04:29:17 mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT "
		"from unknown[fe80::1%eth0]: 550 5.1.1 <a@example.org>: "
		"Recipient address rejected: User unknown",
		"Nov 27 04:29:17 mx1 postfix/smtpd[1]: NOQUEUE: reject: MAIL "
		"from unknown[192.0.2.1]: 553 5.7.1 <x@y.org>: Sender address "
		"rejected: not logged in",
		"Nov 27 04:29:17 mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT "
		"from unknown [192.0.2.1]: 550 5.1.1 <a@example.org>: "
		"Recipient address rejected: User unknown",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		if (parse(lines[i]) != POSTFIX_IGNORED)
			fail_msg("not IGNORED (%d): %s", pl.what, lines[i]);
}

/* ---- smtpd: SASL ---- */

static void test_sasl(void **state)
{
	static const struct {
		const char *line, *ip;
	} ok[] = {
		{"Nov 27 04:29:17 mx1 postfix/smtpd[1]: warning: "
		 "unknown[192.0.2.1]: SASL LOGIN authentication failed: "
		 "authentication failure",
		 "192.0.2.1"},
		{"Nov 27 04:29:17 mx1 postfix/submission/smtpd[1]: warning: "
		 "mail.example.net[198.51.100.7]: SASL PLAIN authentication "
		 "failed: authentication failure, sasl_username=admin@example.org",
		 "198.51.100.7"},
		{"Nov 27 04:29:17 mx1 postfix/smtpd[1]: warning: "
		 "unknown[2001:db8::25]: SASL CRAM-MD5 authentication failed: "
		 "PDEyMzQ1Njc4OTAuMTIzNDU2Nzg5MEBleGFtcGxlLm9yZz4=",
		 "2001:db8::25"},
		{"2026-11-27T04:29:17Z mx1 postfix/smtps/smtpd[1]: warning: "
		 "unknown[192.0.2.9]:60123: SASL LOGIN authentication failed: "
		 "UGFzc3dvcmQ6",
		 "192.0.2.9"},
		{"Nov 27 04:29:17 mx1 postfix/smtpd[1]: warning: "
		 "unknown[192.0.2.8]: SASL LOGIN authentication failed",
		 "192.0.2.8"},
	};
	static const char *const ignored[] = {
		/* the SASL server is down: not the client's fault */
		"Nov 27 04:29:17 mx1 postfix/smtpd[1]: warning: "
		"unknown[192.0.2.1]: SASL LOGIN authentication failed: "
		"Connection lost to authentication server",
		"Nov 27 04:29:17 mx1 postfix/smtpd[1]: warning: "
		"unknown[192.0.2.1]: SASL LOGIN authentication aborted",
		"Nov 27 04:29:17 mx1 postfix/smtpd[1]: warning: "
		"unknown[192.0.2.1]: SASL  authentication failed",
		"Nov 27 04:29:17 mx1 postfix/smtpd[1]: warning: SASL: Connect "
		"to private/auth failed: No such file or directory",
		"Nov 27 04:29:17 mx1 postfix/smtpd[1]: warning: "
		"unknown[300.0.2.1]: SASL LOGIN authentication failed: x",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (parse(ok[i].line) != POSTFIX_AUTH_FAIL)
			fail_msg("not AUTH_FAIL (%d): %s", pl.what, ok[i].line);
		assert_ip(&pl.ip, ok[i].ip);
		assert_string_equal(pl.rcpt, "");
		assert_string_equal(pl.tag, "");
	}
	for (i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		if (parse(ignored[i]) != POSTFIX_IGNORED)
			fail_msg("not IGNORED (%d): %s", pl.what, ignored[i]);
}

/* ---- postscreen ---- */

static void test_postscreen(void **state)
{
	static const struct {
		const char *line, *ip, *tag;
	} ok[] = {
		{"Nov 27 04:29:17 mx1 postfix/postscreen[700]: PREGREET 11 "
		 "after 0.07 from [192.0.2.1]:51234: EHLO x\\r\\n",
		 "192.0.2.1", "pregreet"},
		{"Nov 27 04:29:17 mx1 postfix/postscreen[700]: BARE NEWLINE "
		 "from [192.0.2.2]:51234 after DATA",
		 "192.0.2.2", "bare-newline"},
		{"Nov 27 04:29:17 mx1 postfix/postscreen[700]: NON-SMTP "
		 "COMMAND from [192.0.2.3]:51234 after CONNECT: GET / HTTP/1.1",
		 "192.0.2.3", "non-smtp"},
		{"Nov 27 04:29:17 mx1 postfix/postscreen[700]: COMMAND "
		 "PIPELINING from [192.0.2.4]:51234 after EHLO: MAIL "
		 "FROM:<a@b>\\r\\n",
		 "192.0.2.4", "pipelining"},
		{"2026-11-27T04:29:17+00:00 mx1 postfix/postscreen[700]: "
		 "PREGREET 23 after 0 from [2001:db8::1]:40000: "
		 "HELO example.com\\r\\n",
		 "2001:db8::1", "pregreet"},
		{"Nov 27 04:29:17 mx1 postfix-out/postscreen[700]: NON-SMTP "
		 "COMMAND from [2001:db8:1::2]:443 after CONNECT: CONNECT x",
		 "2001:db8:1::2", "non-smtp"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (parse(ok[i].line) != POSTFIX_TELL)
			fail_msg("not TELL (%d): %s", pl.what, ok[i].line);
		assert_ip(&pl.ip, ok[i].ip);
		assert_string_equal(pl.tag, ok[i].tag);
	}
	assert_int_equal(parse("Nov 27 04:29:17 mx1 postfix/postscreen[700]: "
			       "PREGREET 11 after 0.07 from [nope]:1: x"),
			 POSTFIX_IGNORED);
	assert_int_equal(parse("Nov 27 04:29:17 mx1 postfix/postscreen[700]: "
			       "BARE NEWLINE from [192.0.2.1"),
			 POSTFIX_IGNORED);
}

/*
 * Every prefix of a good line, in a buffer of exactly that size (so a
 * read past it shows under ASan), is OTHER, IGNORED, or the same result
 * with the same client and recipient; a field cut short is empty.
 */
static void check_prefixes(const char *line)
{
	struct postfix_line full, cut;
	size_t len = strlen(line), n;

	postfix_parse_line(line, len, &full);
	assert_true(full.what >= POSTFIX_UNKNOWN_RCPT);
	for (n = 0; n <= len; n++) {
		char *buf = malloc(n ? n : 1);

		assert_non_null(buf);
		memcpy(buf, line, n);
		postfix_parse_line(buf, n, &cut);
		free(buf);
		if (cut.what == POSTFIX_OTHER || cut.what == POSTFIX_IGNORED)
			continue;
		if (cut.what != full.what)
			fail_msg("prefix %zu of %s: %d", n, line, cut.what);
		assert_int_equal(tl_ip_cmp(&cut.ip, &full.ip), 0);
		assert_string_equal(cut.rcpt, full.rcpt);
		assert_string_equal(cut.tag, full.tag);
		if (cut.helo[0])
			assert_string_equal(cut.helo, full.helo);
		if (cut.from[0])
			assert_string_equal(cut.from, full.from);
	}
}

static void test_prefixes(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rcpt_cases) / sizeof(rcpt_cases[0]); i++)
		check_prefixes(rcpt_cases[i].line);
	check_prefixes("Nov 27 04:29:17 mx1 postfix/smtpd[1]: warning: "
		       "unknown[2001:db8::25]: SASL PLAIN authentication "
		       "failed: authentication failure, sasl_username=a@b");
	check_prefixes("2026-11-27T04:29:17.5-03:00 mx1 postfix/postscreen[7]: "
		       "PREGREET 11 after 0.07 from [2001:db8::1]:1: EHLO x");
	check_prefixes("Nov 27 04:29:17 mx1 postfix/postscreen[7]: COMMAND "
		       "PIPELINING from [192.0.2.4]:5 after EHLO: MAIL");
}

/* Long fields are cut to their arrays, NUL-terminated. */
static void test_long_fields(void **state)
{
	char line[8192], big[1000];
	int n;

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	n = snprintf(line, sizeof(line),
		     "Nov 27 04:29:17 mx1 postfix/smtpd[1]: NOQUEUE: reject: "
		     "RCPT from unknown[192.0.2.1]: 550 5.1.1 <%s@x>: "
		     "Recipient address rejected: User unknown; from=<a@%s> "
		     "to=<%s@x> proto=ESMTP helo=<%s>",
		     big, big, big, big);
	assert_true(n > 0 && (size_t)n < sizeof(line));
	assert_int_equal(parse(line), POSTFIX_UNKNOWN_RCPT);
	assert_int_equal(strlen(pl.rcpt), sizeof(pl.rcpt) - 1);
	assert_int_equal(strlen(pl.helo), sizeof(pl.helo) - 1);
	assert_int_equal(strlen(pl.from), sizeof(pl.from) - 1);
}

/* A NUL or control byte does not cut a field short unseen. */
static void test_control_bytes(void **state)
{
	static const char line[] =
		"Nov 27 04:29:17 mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT "
		"from unknown[192.0.2.1]: 550 5.1.1 <\0a@x>: Recipient address "
		"rejected: User unknown; from=<> to=<\0a@x> proto=ESMTP "
		"helo=<h\x01\x7f>";

	(void)state;
	postfix_parse_line(line, sizeof(line) - 1, &pl);
	assert_int_equal(pl.what, POSTFIX_UNKNOWN_RCPT);
	assert_string_equal(pl.rcpt, "?a@x");
	assert_string_equal(pl.helo, "h??");
}

/* ---- the state: times ---- */

static void test_time_offsets(void **state)
{
	struct postfix_state *st = mkstate(1, 60, NOW);

	(void)state;
	assert_int_equal(feed(st, "2026-11-27T04:29:17.9+01:00 mx1 "
				  "postfix/smtpd[1]: warning: unknown[192.0.2.1]: "
				  "SASL LOGIN authentication failed: x"),
			 INGEST_EVENT);
	assert_int_equal(ev.time, utc(2026, 11, 27, 3, 29, 17));
	assert_int_equal(ev.kind, TL_KIND_AUTH);
	assert_int_equal(ev.count, 1);
	assert_string_equal(ev.sensor, "mx1");
	assert_ip(&ev.ip, "192.0.2.1");

	feed(st, "2026-11-26T23:59:59-05:30 mx1 postfix/smtpd[1]: warning: "
		 "unknown[192.0.2.1]: SASL LOGIN authentication failed: x");
	assert_int_equal(ev.time, utc(2026, 11, 27, 5, 29, 59));
	feed(st, "2026-11-27T04:29:17Z mx1 postfix/smtpd[1]: warning: "
		 "unknown[192.0.2.1]: SASL LOGIN authentication failed: x");
	assert_int_equal(ev.time, utc(2026, 11, 27, 4, 29, 17));
	/* a year but no offset: to_utc */
	feed(st, "2026-06-01T10:00:00 mx1 postfix/smtpd[1]: warning: "
		 "unknown[192.0.2.1]: SASL LOGIN authentication failed: x");
	assert_int_equal(ev.time, utc(2026, 6, 1, 10, 0, 0));
	/* out of the event range: counted as not understood */
	assert_int_equal(feed(st, "1969-12-31T23:00:00Z mx1 postfix/smtpd[1]: "
				  "warning: unknown[192.0.2.1]: SASL LOGIN "
				  "authentication failed: x"),
			 INGEST_SKIP);
	assert_int_equal(feed(st, "2200-01-01T00:00:00Z mx1 postfix/smtpd[1]: "
				  "warning: unknown[192.0.2.1]: SASL LOGIN "
				  "authentication failed: x"),
			 INGEST_SKIP);
	assert_int_equal(postfix_state_counts(st)->other, 2);
	assert_int_equal(postfix_state_counts(st)->auth_fail, 4);
	postfix_state_free(st);
}

static int64_t auth_time(struct postfix_state *st, const char *stamp)
{
	char line[512];

	snprintf(line, sizeof(line),
		 "%s mx1 postfix/smtpd[1]: warning: unknown[192.0.2.1]: SASL "
		 "LOGIN authentication failed: x",
		 stamp);
	if (feed(st, line) != INGEST_EVENT)
		return -1;
	return ev.time;
}

static void test_year_inference(void **state)
{
	struct postfix_state *st;
	struct postfix_opts o = {.dict_threshold = 1, .to_utc = to_utc1};

	(void)state;
	st = mkstate(1, 60, NOW); /* 2026-11-27 05:00 UTC */
	assert_int_equal(auth_time(st, "Nov 27 04:29:17"),
			 utc(2026, 11, 27, 4, 29, 17));
	/* up to a day ahead is clock skew, not last year */
	assert_int_equal(auth_time(st, "Nov 28 04:59:59"),
			 utc(2026, 11, 28, 4, 59, 59));
	assert_int_equal(auth_time(st, "Nov 28 05:00:01"),
			 utc(2025, 11, 28, 5, 0, 1));
	assert_int_equal(auth_time(st, "Dec 24 12:00:00"),
			 utc(2025, 12, 24, 12, 0, 0));
	assert_int_equal(auth_time(st, "Jan  1 00:00:00"),
			 utc(2026, 1, 1, 0, 0, 0));
	postfix_state_free(st);

	/* A December log read in January. */
	st = mkstate(1, 60, utc(2027, 1, 2, 8, 0, 0));
	assert_int_equal(auth_time(st, "Dec 31 23:59:59"),
			 utc(2026, 12, 31, 23, 59, 59));
	assert_int_equal(auth_time(st, "Jan  2 07:00:00"),
			 utc(2027, 1, 2, 7, 0, 0));
	assert_int_equal(auth_time(st, "Jan  5 07:00:00"),
			 utc(2026, 1, 5, 7, 0, 0));
	/* Feb 29 exists in 2024, not in 2026 or 2025: not understood */
	assert_int_equal(auth_time(st, "Feb 29 07:00:00"), -1);
	postfix_state_free(st);

	/* Just past New Year local time (UTC+1) while UTC is still in the
	 * old year: the line is the new year's. */
	o.now = utc(2026, 12, 31, 23, 30, 0);
	assert_int_equal(postfix_state_new(&o, &st), 0);
	assert_int_equal(auth_time(st, "Jan  1 00:10:00"),
			 utc(2026, 12, 31, 23, 10, 0));
	assert_int_equal(auth_time(st, "Dec 31 23:59:00"),
			 utc(2026, 12, 31, 22, 59, 0));
	postfix_state_free(st);

	/* exactly a day ahead is still this year, across New Year too */
	st = mkstate(1, 60, utc(2026, 12, 31, 0, 0, 0));
	assert_int_equal(auth_time(st, "Jan  1 00:00:00"),
			 utc(2027, 1, 1, 0, 0, 0));
	assert_int_equal(auth_time(st, "Jan  1 00:00:01"),
			 utc(2026, 1, 1, 0, 0, 1));
	postfix_state_free(st);
	st = mkstate(1, 60, utc(2026, 6, 1, 0, 0, 0));
	assert_int_equal(auth_time(st, "Jun  2 00:00:00"),
			 utc(2026, 6, 2, 0, 0, 0));
	assert_int_equal(auth_time(st, "Jun  2 00:00:01"),
			 utc(2025, 6, 2, 0, 0, 1));
	postfix_state_free(st);

	/* Feb 29 in a leap year */
	st = mkstate(1, 60, utc(2028, 3, 1, 0, 0, 0));
	assert_int_equal(auth_time(st, "Feb 29 07:00:00"),
			 utc(2028, 2, 29, 7, 0, 0));
	postfix_state_free(st);
}

/* No to_utc: the process's zone, through mktime. */
static void test_local_zone(void **state)
{
	struct postfix_opts o = {.dict_threshold = 1,
				 .now = utc(2026, 11, 27, 5, 0, 0)};
	struct postfix_state *st;
	char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;

	(void)state;
	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	assert_int_equal(postfix_state_new(&o, &st), 0);
	/* CET in winter, CEST in summer; the cache is per civil hour */
	assert_int_equal(auth_time(st, "Nov 27 04:29:17"),
			 utc(2026, 11, 27, 3, 29, 17));
	assert_int_equal(auth_time(st, "Nov 27 04:59:59"),
			 utc(2026, 11, 27, 3, 59, 59));
	assert_int_equal(auth_time(st, "Jul  1 12:00:00"),
			 utc(2026, 7, 1, 10, 0, 0));
	assert_int_equal(auth_time(st, "2026-07-01T12:00:05"),
			 utc(2026, 7, 1, 10, 0, 5));
	postfix_state_free(st);
	if (old) {
		setenv("TZ", old, 1);
		free(old);
	} else {
		unsetenv("TZ");
	}
	tzset();
}

/* ---- the state: dictionary attacks ---- */

static enum ingest_line reject(struct postfix_state *st, const char *stamp,
			       const char *ip, const char *rcpt)
{
	char line[1024];

	snprintf(line, sizeof(line),
		 "%s mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT from "
		 "unknown[%s]: 550 5.1.1 <%s>: Recipient address rejected: User "
		 "unknown in local recipient table; from=<x@spam.example> "
		 "to=<%s> proto=ESMTP helo=<bot.example>",
		 stamp, ip, rcpt, rcpt);
	return feed(st, line);
}

static void test_dictionary(void **state)
{
	struct postfix_state *st = mkstate(3, 600, NOW);
	const struct postfix_counts *c = postfix_state_counts(st);

	(void)state;
	assert_int_equal(reject(st, "Nov 27 04:00:00", "192.0.2.1", "a@x.org"),
			 INGEST_SKIP);
	assert_int_equal(reject(st, "Nov 27 04:00:01", "192.0.2.1", "b@x.org"),
			 INGEST_SKIP);
	/* repeats and case changes are not new recipients */
	assert_int_equal(reject(st, "Nov 27 04:00:02", "192.0.2.1", "a@x.org"),
			 INGEST_SKIP);
	assert_int_equal(reject(st, "Nov 27 04:00:03", "192.0.2.1", "B@X.org"),
			 INGEST_SKIP);
	/* another client is followed on its own */
	assert_int_equal(reject(st, "Nov 27 04:00:04", "2001:db8::1", "c@x.org"),
			 INGEST_SKIP);
	assert_int_equal(reject(st, "Nov 27 04:00:05", "192.0.2.1", "c@x.org"),
			 INGEST_EVENT);
	assert_int_equal(ev.kind, TL_KIND_DICTIONARY);
	assert_int_equal(ev.count, 3);
	assert_int_equal(ev.rcpts, 3);
	assert_int_equal(ev.time, utc(2026, 11, 27, 4, 0, 5));
	assert_ip(&ev.ip, "192.0.2.1");
	assert_string_equal(ev.helo, "bot.example");
	assert_string_equal(ev.from, "spam.example");
	assert_string_equal(ev.sensor, "mx1");
	assert_int_equal(ev.ntags, 0);
	/* then one event a further distinct recipient */
	assert_int_equal(reject(st, "Nov 27 04:01:00", "192.0.2.1", "d@x.org"),
			 INGEST_EVENT);
	assert_int_equal(ev.count, 1);
	assert_int_equal(ev.rcpts, 1);
	assert_int_equal(reject(st, "Nov 27 04:01:01", "192.0.2.1", "d@x.org"),
			 INGEST_SKIP);
	assert_int_equal(reject(st, "Nov 27 04:01:02", "192.0.2.1", "c@x.org"),
			 INGEST_SKIP);
	/* the window (04:00:00 + 600 s) still holds at its last second */
	assert_int_equal(reject(st, "Nov 27 04:10:00", "192.0.2.1", "e@x.org"),
			 INGEST_EVENT);
	assert_int_equal(ev.count, 1);
	/* past it, the count starts again, from this recipient */
	assert_int_equal(reject(st, "Nov 27 04:10:01", "192.0.2.1", "a@x.org"),
			 INGEST_SKIP);
	assert_int_equal(reject(st, "Nov 27 04:10:02", "192.0.2.1", "b@x.org"),
			 INGEST_SKIP);
	assert_int_equal(reject(st, "Nov 27 04:10:03", "192.0.2.1", "b@x.org"),
			 INGEST_SKIP);
	assert_int_equal(reject(st, "Nov 27 04:20:01", "192.0.2.1", "c@x.org"),
			 INGEST_EVENT);
	assert_int_equal(ev.count, 3);
	/* a window that lapses below the threshold never fires */
	assert_int_equal(reject(st, "Nov 27 04:00:30", "2001:db8::1", "d@x.org"),
			 INGEST_SKIP);
	assert_int_equal(reject(st, "Nov 27 04:30:00", "2001:db8::1", "e@x.org"),
			 INGEST_SKIP);
	assert_int_equal(reject(st, "Nov 27 04:30:01", "2001:db8::1", "f@x.org"),
			 INGEST_SKIP);

	assert_int_equal(c->unknown_rcpt, 17);
	assert_int_equal(c->dict_events, 4);
	assert_int_equal(c->other, 0);
	assert_int_equal(c->ignored, 0);
	postfix_state_free(st);
}

/* Past TL_POSTFIX_RCPTS_MAX remembered recipients, every reject counts. */
static void test_rcpt_cap(void **state)
{
	unsigned n = TL_POSTFIX_RCPTS_MAX + 10, i;
	struct postfix_state *st = mkstate(n, 3600, NOW);
	char rcpt[64];

	(void)state;
	for (i = 0; i < n - 1; i++) {
		snprintf(rcpt, sizeof(rcpt), "u%u@x.org", i);
		assert_int_equal(reject(st, "Nov 27 04:00:00", "192.0.2.1", rcpt),
				 INGEST_SKIP);
	}
	/* a remembered one is a repeat */
	assert_int_equal(reject(st, "Nov 27 04:00:00", "192.0.2.1", "u0@x.org"),
			 INGEST_SKIP);
	snprintf(rcpt, sizeof(rcpt), "u%u@x.org", TL_POSTFIX_RCPTS_MAX - 1);
	assert_int_equal(reject(st, "Nov 27 04:00:00", "192.0.2.1", rcpt),
			 INGEST_SKIP);
	/* one past the cap was not kept: it counts again */
	snprintf(rcpt, sizeof(rcpt), "u%u@x.org", TL_POSTFIX_RCPTS_MAX);
	assert_int_equal(reject(st, "Nov 27 04:00:00", "192.0.2.1", rcpt),
			 INGEST_EVENT);
	assert_int_equal(ev.count, n);
	snprintf(rcpt, sizeof(rcpt), "u%u@x.org", TL_POSTFIX_RCPTS_MAX + 1);
	assert_int_equal(reject(st, "Nov 27 04:00:01", "192.0.2.1", rcpt),
			 INGEST_EVENT);
	assert_int_equal(ev.count, 1);
	postfix_state_free(st);
}

/* More clients than the table holds: the stalest are forgotten. */
static void test_client_cap(void **state)
{
	unsigned n = TL_POSTFIX_CLIENTS_MAX + 5000, i;
	struct postfix_state *st = mkstate(2, 3600, NOW);
	struct tl_ip ip;
	char a[TL_IP_STRLEN];

	(void)state;
	for (i = 0; i < n; i++) {
		tl_ip_from_v4(&ip, 0x0a000000u + i);
		tl_ip_format(&ip, a);
		assert_int_equal(reject(st, "Nov 27 04:00:00", a, "a@x.org"),
				 INGEST_SKIP);
	}
	/* the first clients were dropped: their next recipient is a first */
	tl_ip_from_v4(&ip, 0x0a000000u);
	tl_ip_format(&ip, a);
	assert_int_equal(reject(st, "Nov 27 04:00:01", a, "b@x.org"),
			 INGEST_SKIP);
	tl_ip_from_v4(&ip, 0x0a000000u + 4999);
	tl_ip_format(&ip, a);
	assert_int_equal(reject(st, "Nov 27 04:00:01", a, "b@x.org"),
			 INGEST_SKIP);
	/* the newest are still followed */
	tl_ip_from_v4(&ip, 0x0a000000u + n - 1);
	tl_ip_format(&ip, a);
	assert_int_equal(reject(st, "Nov 27 04:00:01", a, "b@x.org"),
			 INGEST_EVENT);
	assert_int_equal(ev.count, 2);
	/* re-adding 10.0.0.0 and .4999 pushed out i = 5000 and 5001 */
	tl_ip_from_v4(&ip, 0x0a000000u + 5002);
	tl_ip_format(&ip, a);
	assert_int_equal(reject(st, "Nov 27 04:00:01", a, "b@x.org"),
			 INGEST_EVENT);
	/* a client seen again is fresh, not stale: 10.0.0.0 was just
	 * re-added and survives another round of 65535 newcomers */
	for (i = 0; i < TL_POSTFIX_CLIENTS_MAX - 10; i++) {
		tl_ip_from_v4(&ip, 0x0b000000u + i);
		tl_ip_format(&ip, a);
		reject(st, "Nov 27 04:00:02", a, "a@x.org");
	}
	tl_ip_from_v4(&ip, 0x0a000000u);
	tl_ip_format(&ip, a);
	assert_int_equal(reject(st, "Nov 27 04:00:03", a, "c@x.org"),
			 INGEST_EVENT);
	assert_int_equal(ev.count, 2);
	/* and so does i = 5002, inserted long ago but looked up lately */
	tl_ip_from_v4(&ip, 0x0a000000u + 5002);
	tl_ip_format(&ip, a);
	assert_int_equal(reject(st, "Nov 27 04:00:03", a, "c@x.org"),
			 INGEST_EVENT);
	assert_int_equal(ev.count, 1);
	assert_int_equal(postfix_state_counts(st)->dict_events, 4);
	postfix_state_free(st);
}

static void test_events_and_counts(void **state)
{
	struct postfix_state *st = mkstate(5, 3600, NOW);
	const struct postfix_counts *c = postfix_state_counts(st);

	(void)state;
	assert_int_equal(feed(st, "Nov 27 04:29:17 mx1 postfix/postscreen[7]: "
				  "NON-SMTP COMMAND from [192.0.2.3]:51234 after "
				  "CONNECT: GET / HTTP/1.1"),
			 INGEST_EVENT);
	assert_int_equal(ev.kind, TL_KIND_SPAM);
	assert_int_equal(ev.count, 1);
	assert_int_equal(ev.ntags, 1);
	assert_string_equal(ev.tags[0], "non-smtp");
	assert_string_equal(ev.sensor, "mx1");
	assert_string_equal(ev.helo, "");
	assert_int_equal(ev.time, utc(2026, 11, 27, 4, 29, 17));
	assert_ip(&ev.ip, "192.0.2.3");

	assert_int_equal(feed(st, "Nov 27 04:29:18 mx1 postfix/postscreen[7]: "
				  "PREGREET 11 after 0.07 from "
				  "[2001:db8::7]:51234: EHLO x\\r\\n"),
			 INGEST_EVENT);
	assert_string_equal(ev.tags[0], "pregreet");
	assert_int_equal(ev.ip.family, 6);

	assert_int_equal(feed(st, "Nov 27 04:29:19 mx1 postfix/smtpd[1]: "
				  "warning: unknown[192.0.2.1]: SASL LOGIN "
				  "authentication failed: UGFzc3dvcmQ6"),
			 INGEST_EVENT);
	assert_int_equal(ev.kind, TL_KIND_AUTH);
	assert_int_equal(ev.ntags, 0);

	feed(st, "Nov 27 04:29:19 mx1 postfix/qmgr[1]: 4F2A81C0A12: removed");
	feed(st, "Nov 27 04:29:19 mx1 postfix/smtpd[1]: connect from "
		 "unknown[192.0.2.1]");
	feed(st, "Nov 27 04:29:19 mx1 sshd[1]: Accepted publickey");
	feed(st, "garbage");
	feed(st, "");
	reject(st, "Nov 27 04:29:20", "192.0.2.9", "a@x.org");

	assert_int_equal(c->tells, 2);
	assert_int_equal(c->auth_fail, 1);
	assert_int_equal(c->ignored, 2);
	assert_int_equal(c->other, 3);
	assert_int_equal(c->unknown_rcpt, 1);
	assert_int_equal(c->dict_events, 0);
	postfix_state_free(st);

	/* no sensor: "" */
	{
		struct postfix_opts o = {.dict_threshold = 1, .now = NOW,
					 .to_utc = to_utc0};

		assert_int_equal(postfix_state_new(&o, &st), 0);
		assert_int_equal(reject(st, "Nov 27 04:29:20", "192.0.2.9",
					"a@x.org"),
				 INGEST_EVENT);
		assert_int_equal(ev.count, 1);
		assert_string_equal(ev.sensor, "");
		postfix_state_free(st);
	}
}

static void test_state_errors(void **state)
{
	struct postfix_opts o = {.dict_threshold = 0, .now = NOW};
	struct postfix_state *st = (void *)&o;
	char longname[TL_SENSOR_MAX + 2];

	(void)state;
	assert_int_equal(postfix_state_new(&o, &st), TL_EINVAL);
	assert_null(st);
	o.dict_threshold = 1;
	memset(longname, 's', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	o.sensor = longname;
	assert_int_equal(postfix_state_new(&o, &st), TL_EINVAL);
	o.sensor = longname + 1; /* exactly TL_SENSOR_MAX */
	assert_int_equal(postfix_state_new(&o, &st), 0);
	postfix_state_free(st);
	postfix_state_free(NULL);

	tl_alloc_fail_after(1);
	assert_int_equal(postfix_state_new(&o, &st), TL_ENOMEM);
	tl_alloc_fail_after(2);
	assert_int_equal(postfix_state_new(&o, &st), TL_ENOMEM);
	tl_alloc_fail_after(0);

	/* The client table cannot grow: rejects are counted, no event, and
	 * the state recovers once memory is back. */
	o.to_utc = to_utc0;
	assert_int_equal(postfix_state_new(&o, &st), 0);
	tl_alloc_fail_after(1);
	assert_int_equal(reject(st, "Nov 27 04:29:20", "192.0.2.9", "a@x.org"),
			 INGEST_SKIP);
	tl_alloc_fail_after(0);
	assert_int_equal(postfix_state_counts(st)->unknown_rcpt, 1);
	assert_int_equal(reject(st, "Nov 27 04:29:20", "192.0.2.9", "a@x.org"),
			 INGEST_EVENT);
	postfix_state_free(st);
}

/* No recipient array for a client past INLINE: counted, not kept. */
static void test_rcpt_array_oom(void **state)
{
	struct postfix_state *st = mkstate(12, 3600, NOW);
	char rcpt[32];
	unsigned i;

	(void)state;
	for (i = 0; i < 8; i++) {
		snprintf(rcpt, sizeof(rcpt), "u%u@x.org", i);
		assert_int_equal(reject(st, "Nov 27 04:00:00", "192.0.2.1", rcpt),
				 INGEST_SKIP);
	}
	tl_alloc_fail_after(1);
	assert_int_equal(reject(st, "Nov 27 04:00:00", "192.0.2.1", "u8@x.org"),
			 INGEST_SKIP);
	tl_alloc_fail_after(0);
	/* u8 was counted (9) but not kept: seen again, it counts again
	 * (10) and is kept now, so a third time it does not (still 10) */
	assert_int_equal(reject(st, "Nov 27 04:00:00", "192.0.2.1", "u8@x.org"),
			 INGEST_SKIP);
	assert_int_equal(reject(st, "Nov 27 04:00:00", "192.0.2.1", "u8@x.org"),
			 INGEST_SKIP);
	assert_int_equal(reject(st, "Nov 27 04:00:00", "192.0.2.1", "u9@x.org"),
			 INGEST_SKIP);
	assert_int_equal(reject(st, "Nov 27 04:00:00", "192.0.2.1", "u10@x.org"),
			 INGEST_EVENT);
	assert_int_equal(ev.count, 12);
	postfix_state_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stamps),
		cmocka_unit_test(test_bad_stamps),
		cmocka_unit_test(test_programs),
		cmocka_unit_test(test_unknown_rcpt),
		cmocka_unit_test(test_other_rejects),
		cmocka_unit_test(test_sasl),
		cmocka_unit_test(test_postscreen),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_long_fields),
		cmocka_unit_test(test_control_bytes),
		cmocka_unit_test(test_time_offsets),
		cmocka_unit_test(test_year_inference),
		cmocka_unit_test(test_local_zone),
		cmocka_unit_test(test_dictionary),
		cmocka_unit_test(test_rcpt_cap),
		cmocka_unit_test(test_client_cap),
		cmocka_unit_test(test_events_and_counts),
		cmocka_unit_test(test_state_errors),
		cmocka_unit_test(test_rcpt_array_oom),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
