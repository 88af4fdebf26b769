/* SPDX-License-Identifier: MIT */
/* test_session.c -- the trap's SMTP dialogue, without sockets */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trap/rcpts.h"
#include "trap/session.h"
#include "trapline/err.h"

static struct trap_rcpts *rcpts;
static struct mail_dict *dict;
static struct mail_rules *rules;
static struct tl_event recorded[64];
static unsigned nrecorded;

static enum sess_rcpt f_rcpt(void *ctx, const struct smtp_path *p)
{
	(void)ctx;
	return trap_rcpts_check(rcpts, p);
}

static uint32_t f_dict(void *ctx, const struct tl_ip *ip, const char *a,
		       size_t len, int64_t now)
{
	(void)ctx;
	return mail_dict_note(dict, ip, a, len, now);
}

static void f_record(void *ctx, const struct tl_event *ev)
{
	(void)ctx;
	if (nrecorded < 64)
		recorded[nrecorded++] = *ev;
}

static int64_t f_now(void *ctx)
{
	(void)ctx;
	return 1795737600; /* 2026-11-27 */
}

static struct sess_env env = {NULL, f_rcpt, f_dict, f_record, f_now, NULL};
static struct sess_cfg cfg = {
	.hostname = "mx.trap.test",
	.sensor = "t1",
	.max_size = 100000,
	.hold_max = 1 << 20,
	.max_rcpts = 5,
	.max_errors = 10,
	.tls = true,
};

static struct session s;
static char out[65536];
static size_t outlen;
static enum sess_action last;

static int setup(void **state)
{
	char why[64];

	(void)state;
	assert_int_equal(trap_rcpts_build("trap.test other.test",
					  "alice@closed.test\n", 18, &rcpts,
					  why, sizeof(why)), 0);
	assert_int_equal(mail_dict_new(3, 3600, &dict), 0);
	assert_int_equal(mail_rules_load(NULL, &rules), 0);
	env.rules = rules;
	nrecorded = 0;
	outlen = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sess_free(&s);
	trap_rcpts_free(rcpts);
	mail_dict_free(dict);
	mail_rules_free(rules);
	return 0;
}

static void start(const char *ip, bool trusted)
{
	struct tl_ip a;

	assert_int_equal(tl_ip_parse(ip, strlen(ip), &a), 0);
	sess_init(&s, &cfg, &env, &a, trusted, true);
}

/* Drain the session's output into out[]. */
static void drain(void)
{
	memcpy(out + outlen, s.out, s.outlen);
	outlen += s.outlen;
	out[outlen] = '\0';
	sess_sent(&s, s.outlen);
}

/* Send text; returns the replies it produced. */
static const char *say(const char *text)
{
	size_t len = strlen(text), off = 0;

	outlen = 0;
	drain();
	outlen = 0;
	while (off < len) {
		size_t n = sess_input(&s, text + off, len - off, &last);

		off += n;
		drain();
		if (last == SESS_MESSAGE) {
			sess_committed(&s, true);
			drain();
			continue;
		}
		if (last != SESS_MORE || n == 0)
			break;
	}
	return out;
}

static void test_a_whole_message_is_an_event(void **state)
{
	(void)state;
	start("81.2.69.160", false);
	assert_non_null(strstr(s.out, "220 mx.trap.test ESMTP"));
	assert_non_null(strstr(say("EHLO bot.example\r\n"), "250-PIPELINING"));
	assert_non_null(strstr(out, "250-STARTTLS"));
	assert_non_null(strstr(out, "250-AUTH PLAIN LOGIN"));
	assert_null(strstr(out, "XCLIENT")); /* not for untrusted peers */
	assert_string_equal(say("MAIL FROM:<x@Sender.Example>\r\n"),
			    "250 2.1.0 Ok\r\n");
	assert_string_equal(say("RCPT TO:<anyone@trap.test>\r\n"),
			    "250 2.1.5 Ok\r\n");
	assert_string_equal(say("RCPT TO:<b@other.test>\r\n"),
			    "250 2.1.5 Ok\r\n");
	assert_non_null(strstr(say("DATA\r\n"), "354 "));
	say("Subject: cheap viagra\r\n\r\n..dot line\r\nbuy now\r\n.\r\n");
	assert_int_equal(last, SESS_MESSAGE);
	assert_non_null(strstr(out, "250 2.0.0 Ok: queued as"));
	assert_int_equal(s.ev.kind, TL_KIND_SPAM);
	assert_int_equal(s.ev.rcpts, 2);
	assert_string_equal(s.ev.helo, "bot.example");
	assert_string_equal(s.ev.from, "sender.example");
	assert_string_equal(s.ev.sensor, "t1");
	assert_int_equal(s.ev.ntags, 1);
	assert_string_equal(s.ev.tags[0], "pharma");
	assert_string_equal(say("QUIT\r\n"), "221 2.0.0 Bye\r\n");
	assert_int_equal(last, SESS_CLOSE);
}

static void test_unknown_users_make_a_dictionary_event(void **state)
{
	(void)state;
	start("81.2.69.161", false);
	say("HELO x\r\nMAIL FROM:<>\r\n");
	assert_non_null(strstr(say("RCPT TO:<bob@closed.test>\r\n"),
			       "550 5.1.1"));
	assert_non_null(strstr(say("RCPT TO:<alice@closed.test>\r\n"),
			       "250 2.1.5"));
	say("RCPT TO:<carol@closed.test>\r\n");
	assert_int_equal(nrecorded, 0);
	say("RCPT TO:<dave@closed.test>\r\n");
	assert_int_equal(nrecorded, 1);
	assert_int_equal(recorded[0].kind, TL_KIND_DICTIONARY);
	assert_int_equal(recorded[0].count, 3);
	assert_non_null(strstr(say("RCPT TO:<x@elsewhere.example>\r\n"),
			       "554 5.7.1"));
}

static void test_auth_is_recorded_and_refused(void **state)
{
	(void)state;
	start("81.2.69.162", false);
	say("EHLO x\r\n");
	assert_non_null(strstr(say("AUTH PLAIN AGFkbWluAHNlY3JldA==\r\n"),
			       "535 5.7.8"));
	assert_string_equal(say("AUTH LOGIN\r\n"), "334 VXNlcm5hbWU6\r\n");
	assert_string_equal(say("YWRtaW4=\r\n"), "334 UGFzc3dvcmQ6\r\n");
	assert_non_null(strstr(say("c2VjcmV0\r\n"), "535 5.7.8"));
	assert_int_equal(nrecorded, 2);
	assert_int_equal(recorded[0].kind, TL_KIND_AUTH);
	assert_int_equal(recorded[1].kind, TL_KIND_AUTH);
}

static void test_tells(void **state)
{
	struct tl_event ev;

	(void)state;
	start("81.2.69.163", false);
	/* Pipelined without EHLO, bare LF line ends. */
	say("HELO x\nMAIL FROM:<a@b.example>\nRCPT TO:<t@trap.test>\n");
	assert_true(s.tells & TELL_BARE_LF);
	assert_true(s.tells & TELL_PIPELINING);
	say("QUIT\r\n");
	assert_true(sess_finish(&s, &ev));
	assert_int_equal(ev.kind, TL_KIND_SPAM);
	assert_int_equal(ev.ntags, 2);
	sess_free(&s);
	/* Talking before the greeting. */
	{
		struct tl_ip a;

		tl_ip_parse("81.2.69.164", 11, &a);
		sess_init(&s, &cfg, &env, &a, false, false);
	}
	assert_int_equal(sess_input(&s, "EHLO x\r\n", 8, &last), 0);
	assert_true(s.tells & TELL_PREGREET);
	sess_greet(&s);
	assert_int_equal(sess_input(&s, "EHLO x\r\n", 8, &last), 8);
	sess_free(&s);
	/* An HTTP client at the SMTP port. */
	start("81.2.69.165", false);
	say("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(last, SESS_CLOSE);
	assert_non_null(strstr(out, "521 5.5.1"));
	assert_true(s.tells & TELL_NON_SMTP);
}

static void test_limits(void **state)
{
	char big[2000];
	int i;

	(void)state;
	start("81.2.69.166", false);
	say("EHLO x\r\nMAIL FROM:<a@b.example>\r\n");
	for (i = 0; i < 5; i++)
		say("RCPT TO:<t@trap.test>\r\n");
	assert_non_null(strstr(say("RCPT TO:<t@trap.test>\r\n"), "452 4.5.3"));
	/* An over-long command line is refused whole, once. */
	memset(big, 'A', sizeof(big));
	memcpy(big + sizeof(big) - 3, "\r\n", 3);
	assert_non_null(strstr(say(big), "500 5.5.2"));
	assert_string_equal(say("NOOP\r\n"), "250 2.0.0 Ok\r\n");
	/* Too many errors: 421 and close. */
	for (i = 0; i < 12 && last != SESS_CLOSE; i++)
		say("BOGUS\r\n");
	assert_int_equal(last, SESS_CLOSE);
	assert_non_null(strstr(out, "421 4.7.0"));
}

static void test_client_not_reading_is_held_back(void **state)
{
	size_t used = 0, n;
	int rounds = 0;
	static char pipe_[200000];
	size_t i, len = 0;

	(void)state;
	start("81.2.69.167", false);
	for (i = 0; i < 20000; i++)
		len += (size_t)sprintf(pipe_ + len, "NOOP\r\n");
	/* Never drain: the session stops taking input at half its buffer. */
	do {
		n = sess_input(&s, pipe_ + used, len - used, &last);
		used += n;
	} while (n && ++rounds < 100000);
	assert_true(used < len);
	assert_true(s.outlen <= SESS_OUT_MAX);
}

static void test_starttls_and_xclient(void **state)
{
	size_t n;
	const char *t = "STARTTLS\r\nMAIL FROM:<evil@x.example>\r\n";

	(void)state;
	start("127.0.0.1", true);
	say("EHLO x\r\n");
	assert_non_null(strstr(out, "250-XCLIENT"));
	assert_non_null(strstr(say("XCLIENT ADDR=81.2.69.168 HELO=fake\r\n"),
			       "220 mx.trap.test"));
	assert_int_equal(last, SESS_PEER);
	{
		char ip[TL_IP_STRLEN];

		tl_ip_format(&s.peer, ip);
		assert_string_equal(ip, "81.2.69.168");
	}
	say("EHLO x\r\n");
	outlen = 0;
	n = sess_input(&s, t, strlen(t), &last);
	assert_int_equal(last, SESS_STARTTLS);
	assert_int_equal(n, 10); /* what follows STARTTLS is not taken */
	drain();
	assert_non_null(strstr(out, "220 2.0.0 Ready to start TLS"));
	sess_tls_started(&s);
	assert_non_null(strstr(say("EHLO x\r\n"), "250-AUTH"));
	assert_null(strstr(out, "STARTTLS"));
	/* XCLIENT from an untrusted peer is refused. */
	sess_free(&s);
	start("81.2.69.169", false);
	assert_non_null(strstr(say("XCLIENT ADDR=1.2.3.4\r\n"), "550 5.7.0"));
}

static void test_proxy_header(void **state)
{
	const char *h = "PROXY TCP4 81.2.69.170 10.0.0.1 40000 25\r\nEHLO x\r\n";
	char ip[TL_IP_STRLEN];
	size_t n;

	(void)state;
	start("127.0.0.1", true);
	n = sess_input(&s, h, strlen(h), &last);
	assert_int_equal(last, SESS_PEER);
	tl_ip_format(&s.peer, ip);
	assert_string_equal(ip, "81.2.69.170");
	n += sess_input(&s, h + n, strlen(h) - n, &last);
	assert_int_equal(n, strlen(h));
	assert_non_null(strstr(s.out, "250-PIPELINING"));
	sess_free(&s);
	/* From an untrusted peer, a PROXY line is just a bad command. */
	start("81.2.69.171", false);
	assert_non_null(strstr(say("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"),
			       "502 5.5.2"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_a_whole_message_is_an_event,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_unknown_users_make_a_dictionary_event, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_auth_is_recorded_and_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_tells, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_client_not_reading_is_held_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_starttls_and_xclient, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_proxy_header, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
