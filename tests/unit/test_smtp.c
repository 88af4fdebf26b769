/* SPDX-License-Identifier: MIT */
/* test_smtp.c -- SMTP command lines, XCLIENT, the DATA reader, PROXY */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trap/smtp.h"

static struct smtp_cmd cmd;

static enum smtp_perr parse(const char *s)
{
	return smtp_parse_command(s, strlen(s), &cmd);
}

/* @s parses with @want (and its reply is @reply, when given). */
static void expect(const char *s, enum smtp_perr want)
{
	enum smtp_perr r = parse(s);

	if (r != want)
		fail_msg("\"%s\": got %d (%s), want %d (%s)", s, r,
			 smtp_perr_reply(r), want, smtp_perr_reply(want));
}

static void ok(const char *s, enum smtp_verb verb)
{
	expect(s, SMTP_OK);
	assert_int_equal(cmd.verb, verb);
}

static void assert_arg(const char *want)
{
	assert_int_equal(cmd.arglen, strlen(want));
	assert_memory_equal(cmd.arg, want, cmd.arglen);
}

static char *repeat(char *buf, char ch, size_t n)
{
	memset(buf, ch, n);
	buf[n] = '\0';
	return buf;
}

/* ---- commands -------------------------------------------------------- */

static void test_verbs(void **state)
{
	(void)state;
	ok("HELO mx.example", SMTP_HELO);
	assert_arg("mx.example");
	ok("EHLO [192.0.2.1]", SMTP_EHLO);
	assert_arg("[192.0.2.1]");
	ok("MAIL FROM:<a@b.example>", SMTP_MAIL);
	ok("RCPT TO:<a@b.example>", SMTP_RCPT);
	ok("DATA", SMTP_DATA);
	assert_arg("");
	ok("RSET", SMTP_RSET);
	ok("NOOP", SMTP_NOOP);
	ok("NOOP anything at all", SMTP_NOOP);
	assert_arg("anything at all");
	ok("QUIT", SMTP_QUIT);
	ok("VRFY root", SMTP_VRFY);
	assert_arg("root");
	ok("VRFY", SMTP_VRFY);
	ok("EXPN staff", SMTP_EXPN);
	ok("HELP", SMTP_HELP);
	ok("HELP MAIL", SMTP_HELP);
	ok("STARTTLS", SMTP_STARTTLS);
	ok("AUTH LOGIN", SMTP_AUTH);
	ok("XCLIENT ADDR=192.0.2.1 NAME=x", SMTP_XCLIENT);
	assert_arg("ADDR=192.0.2.1 NAME=x");
	ok("BDAT 1000 LAST", SMTP_BDAT);
	assert_arg("1000 LAST");
}

static void test_case_and_spaces(void **state)
{
	(void)state;
	ok("helo x", SMTP_HELO);
	ok("eHlO x", SMTP_EHLO);
	ok("mail from:<a@b>", SMTP_MAIL);
	ok("Rcpt To:<a@b>", SMTP_RCPT);
	ok("data", SMTP_DATA);
	ok("starttls", SMTP_STARTTLS);
	ok("xclient NAME=x", SMTP_XCLIENT);
	/* trailing spaces and tabs are cut; several spaces after the verb */
	ok("QUIT  ", SMTP_QUIT);
	ok("DATA\t", SMTP_DATA);
	ok("HELO   x.example  ", SMTP_HELO);
	assert_arg("x.example");
	ok("HELO\tx", SMTP_HELO);
	assert_arg("x");
}

static void test_unknown(void **state)
{
	(void)state;
	expect("", SMTP_E_UNKNOWN);
	expect("   ", SMTP_E_UNKNOWN);
	expect("FOO", SMTP_E_UNKNOWN);
	expect("HELOX a", SMTP_E_UNKNOWN);
	expect("HEL", SMTP_E_UNKNOWN);
	expect(" HELO a", SMTP_E_UNKNOWN);
	expect("GET / HTTP/1.0", SMTP_E_UNKNOWN);
	assert_int_equal(cmd.verb, SMTP_UNKNOWN);
}

static void test_arguments(void **state)
{
	(void)state;
	expect("HELO", SMTP_E_SYNTAX);
	assert_int_equal(cmd.verb, SMTP_HELO);
	expect("EHLO  ", SMTP_E_SYNTAX);
	expect("DATA x", SMTP_E_SYNTAX);
	assert_int_equal(cmd.verb, SMTP_DATA);
	expect("RSET now", SMTP_E_SYNTAX);
	expect("QUIT bye", SMTP_E_SYNTAX);
	expect("STARTTLS x", SMTP_E_SYNTAX);
	expect("MAIL", SMTP_E_SYNTAX);
	expect("RCPT", SMTP_E_SYNTAX);
	expect("AUTH", SMTP_E_SYNTAX);
	expect("XCLIENT", SMTP_E_SYNTAX);
}

static void test_binary_and_length(void **state)
{
	char line[SMTP_CMD_LINE_MAX + 2];

	(void)state;
	assert_int_equal(smtp_parse_command("HELO a\0b", 8, &cmd),
			 SMTP_E_BINARY);
	expect("HELO a\rb", SMTP_E_BINARY);
	expect("NOOP \x1b[31m", SMTP_E_BINARY);
	expect("\x01", SMTP_E_BINARY);
	/* TAB and 8-bit bytes are not binary */
	ok("NOOP a\tb\xc3\xa9", SMTP_NOOP);

	memcpy(repeat(line, 'x', SMTP_CMD_LINE_MAX), "NOOP ", 5);
	ok(line, SMTP_NOOP);
	memcpy(repeat(line, 'x', SMTP_CMD_LINE_MAX + 1), "NOOP ", 5);
	expect(line, SMTP_E_TOOLONG);
}

static void test_replies(void **state)
{
	(void)state;
	assert_string_equal(smtp_perr_reply(SMTP_OK), "250 2.0.0 Ok");
	assert_string_equal(smtp_perr_reply(SMTP_E_UNKNOWN),
			    "502 5.5.2 Error: command not recognized");
	assert_string_equal(smtp_perr_reply(SMTP_E_TOOLONG),
			    "500 5.5.2 Line too long");
	assert_string_equal(smtp_perr_reply(SMTP_E_SYNTAX),
			    "501 5.5.4 Syntax error in parameters or arguments");
	assert_string_equal(smtp_perr_reply(SMTP_E_PATH),
			    "501 5.1.3 Bad recipient address syntax");
	assert_string_equal(smtp_perr_reply(SMTP_E_SENDER),
			    "501 5.1.7 Bad sender address syntax");
	assert_string_equal(smtp_perr_reply(SMTP_E_PARAM),
			    "555 5.5.4 Unsupported parameter");
	assert_string_equal(smtp_perr_reply(SMTP_E_BINARY),
			    "500 5.5.2 Binary data in command");
	assert_string_equal(smtp_perr_reply((enum smtp_perr)99),
			    "502 5.5.2 Error: command not recognized");
}

static void assert_path(const char *local, const char *domain)
{
	assert_string_equal(cmd.path.local, local);
	assert_string_equal(cmd.path.domain, domain);
}

static void test_paths(void **state)
{
	(void)state;
	ok("MAIL FROM:<John.Doe@Example.COM>", SMTP_MAIL);
	assert_path("John.Doe", "example.com");
	assert_false(cmd.path.null);
	assert_false(cmd.path.no_brackets);
	assert_false(cmd.path.source_route);

	ok("MAIL FROM:<\"john doe\"@example.com>", SMTP_MAIL);
	assert_path("john doe", "example.com");
	ok("MAIL FROM:<\"a\\\"b\\\\c>\"@example.com>", SMTP_MAIL);
	assert_path("a\"b\\c>", "example.com");
	ok("RCPT TO:<\"\"@example.com>", SMTP_RCPT);
	assert_path("", "example.com");
	ok("RCPT TO:<!#$%&'*+-/=?^_`{|}~@x-y.example>", SMTP_RCPT);
	assert_path("!#$%&'*+-/=?^_`{|}~", "x-y.example");
	ok("RCPT TO:<j\xc3\xb6rg@b\xc3\xbc\x63her.example>", SMTP_RCPT);

	ok("MAIL FROM:<>", SMTP_MAIL);
	assert_true(cmd.path.null);
	assert_path("", "");
	expect("RCPT TO:<>", SMTP_E_PATH);

	ok("RCPT TO:<Postmaster>", SMTP_RCPT);
	assert_path("Postmaster", "");
	ok("RCPT TO:<postmaster@example.com>", SMTP_RCPT);
	assert_path("postmaster", "example.com");
	expect("MAIL FROM:<postmaster>", SMTP_E_SENDER);
	expect("RCPT TO:<postmasterx>", SMTP_E_PATH);

	/* RFC 4.1.2 address literals */
	ok("RCPT TO:<a@[192.0.2.1]>", SMTP_RCPT);
	assert_path("a", "[192.0.2.1]");
	ok("RCPT TO:<a@[IPv6:2001:DB8::1]>", SMTP_RCPT);
	assert_path("a", "[ipv6:2001:db8::1]");
	ok("RCPT TO:<a@[192.0.2.001]>", SMTP_RCPT);
	expect("RCPT TO:<a@[192.0.2.256]>", SMTP_E_PATH);
	expect("RCPT TO:<a@[192.0.2]>", SMTP_E_PATH);
	expect("RCPT TO:<a@[IPv6:1.2.3.4]>", SMTP_E_PATH);
	expect("RCPT TO:<a@[IPv6:fe80::1%eth0]>", SMTP_E_PATH);
	expect("RCPT TO:<a@[x-tag:foo]>", SMTP_E_PATH);
	expect("RCPT TO:<a@[192.0.2.1>", SMTP_E_PATH);

	/* source routes are checked and dropped */
	ok("RCPT TO:<@relay.example,@Two.example:u@Dest.example>", SMTP_RCPT);
	assert_true(cmd.path.source_route);
	assert_path("u", "dest.example");
	expect("RCPT TO:<@relay.example:>", SMTP_E_PATH);
	expect("RCPT TO:<@relay..example:u@d>", SMTP_E_PATH);
	expect("RCPT TO:<@relay.example;u@d>", SMTP_E_PATH);

	/* bad syntax */
	expect("MAIL FROM:<a@b", SMTP_E_SENDER);
	expect("MAIL FROM:<@b>", SMTP_E_SENDER);
	expect("MAIL FROM:<a>", SMTP_E_SENDER);
	expect("MAIL FROM:<a@>", SMTP_E_SENDER);
	expect("RCPT TO:<a..b@c>", SMTP_E_PATH);
	expect("RCPT TO:<.a@c>", SMTP_E_PATH);
	expect("RCPT TO:<a.@c>", SMTP_E_PATH);
	expect("RCPT TO:<a@-c.example>", SMTP_E_PATH);
	expect("RCPT TO:<a@c-.example>", SMTP_E_PATH);
	expect("RCPT TO:<a@c.example.>", SMTP_E_PATH);
	expect("RCPT TO:<a@c_d.example>", SMTP_E_PATH);
	expect("RCPT TO:<a b@c>", SMTP_E_PATH);
	expect("RCPT TO:<\"unterminated@c>", SMTP_E_PATH);
	expect("RCPT TO:<a@b>>", SMTP_E_PATH);
	expect("RCPT TO:<a@b>garbage", SMTP_E_PATH);
	expect("MAIL FROM:<a@b>x", SMTP_E_SENDER);
	expect("MAIL TO:<a@b>", SMTP_E_SYNTAX);
	expect("MAIL FROM <a@b>", SMTP_E_SYNTAX);
	expect("MAIL FROM:", SMTP_E_SYNTAX);
	expect("RCPT FROM:<a@b>", SMTP_E_SYNTAX);
}

static void test_path_lengths(void **state)
{
	char line[SMTP_CMD_LINE_MAX + 1], part[300];
	char want[400];
	size_t i;

	(void)state;
	/* RFC 5321 4.5.3.1.1: 64 octets of local part */
	snprintf(line, sizeof(line), "RCPT TO:<%s@x.example>",
		 repeat(part, 'l', SMTP_LOCAL_MAX));
	ok(line, SMTP_RCPT);
	assert_int_equal(strlen(cmd.path.local), SMTP_LOCAL_MAX);
	snprintf(line, sizeof(line), "RCPT TO:<%s@x.example>",
		 repeat(part, 'l', SMTP_LOCAL_MAX + 1));
	expect(line, SMTP_E_PATH);
	/* quoted: the quotes count */
	snprintf(line, sizeof(line), "RCPT TO:<\"%s\"@x.example>",
		 repeat(part, 'q', SMTP_LOCAL_MAX - 2));
	ok(line, SMTP_RCPT);
	assert_int_equal(strlen(cmd.path.local), SMTP_LOCAL_MAX - 2);
	snprintf(line, sizeof(line), "RCPT TO:<\"%s\"@x.example>",
		 repeat(part, 'q', SMTP_LOCAL_MAX - 1));
	expect(line, SMTP_E_PATH);

	/* 4.5.3.1.2: 255 octets of domain, labels of 63 */
	repeat(part, 'd', SMTP_DOMAIN_MAX);
	for (i = 63; i < SMTP_DOMAIN_MAX; i += 64)
		part[i] = '.';
	snprintf(line, sizeof(line), "MAIL FROM:<a@%s>", part);
	ok(line, SMTP_MAIL);
	assert_int_equal(strlen(cmd.path.domain), SMTP_DOMAIN_MAX);
	assert_string_equal(cmd.path.domain, part);
	/* 256 octets, every label short enough */
	repeat(part, 'd', SMTP_DOMAIN_MAX + 1);
	for (i = 1; i < SMTP_DOMAIN_MAX; i += 64)
		part[i] = '.';
	snprintf(line, sizeof(line), "MAIL FROM:<a@%s>", part);
	expect(line, SMTP_E_SENDER);
	part[SMTP_DOMAIN_MAX] = '\0';
	snprintf(line, sizeof(line), "MAIL FROM:<a@%s>", part);
	ok(line, SMTP_MAIL);
	/* a 64-octet label */
	snprintf(line, sizeof(line), "MAIL FROM:<a@%s.example>",
		 repeat(part, 'd', 64));
	expect(line, SMTP_E_SENDER);
	snprintf(line, sizeof(line), "MAIL FROM:<a@%s.EXAMPLE>",
		 repeat(part, 'D', 63));
	ok(line, SMTP_MAIL);
	snprintf(want, sizeof(want), "%s.example", repeat(part, 'd', 63));
	assert_string_equal(cmd.path.domain, want);
}

static void test_no_brackets(void **state)
{
	(void)state;
	ok("MAIL FROM:a@B.example", SMTP_MAIL);
	assert_true(cmd.path.no_brackets);
	assert_path("a", "b.example");
	ok("MAIL FROM: <a@b.example>", SMTP_MAIL);
	assert_false(cmd.path.no_brackets);
	ok("MAIL FROM:   a@b.example SIZE=10", SMTP_MAIL);
	assert_true(cmd.path.no_brackets);
	assert_int_equal(cmd.size, 10);
	ok("RCPT TO:postmaster", SMTP_RCPT);
	assert_true(cmd.path.no_brackets);
	assert_path("postmaster", "");
	ok("RCPT TO:\"x y\"@b", SMTP_RCPT);
	assert_path("x y", "b");
	expect("RCPT TO:a@b>", SMTP_E_PATH);
	expect("RCPT TO:a", SMTP_E_PATH);
}

static void test_params(void **state)
{
	char line[128];

	(void)state;
	ok("MAIL FROM:<a@b> SIZE=12345 BODY=8BITMIME SMTPUTF8", SMTP_MAIL);
	assert_int_equal(cmd.size, 12345);
	assert_true(cmd.body_8bit);
	assert_true(cmd.smtputf8);
	ok("MAIL FROM:<a@b>  size=0   body=7bit", SMTP_MAIL);
	assert_int_equal(cmd.size, 0);
	assert_false(cmd.body_8bit);
	assert_false(cmd.smtputf8);
	ok("MAIL FROM:<> SIZE=18446744073709551615", SMTP_MAIL);
	assert_true(cmd.size == UINT64_MAX);
	expect("MAIL FROM:<> SIZE=18446744073709551616", SMTP_E_SYNTAX);
	snprintf(line, sizeof(line), "MAIL FROM:<> SIZE=%s", "000000000000000000001");
	expect(line, SMTP_E_SYNTAX); /* 21 digits */
	expect("MAIL FROM:<> SIZE=", SMTP_E_SYNTAX);
	expect("MAIL FROM:<> SIZE", SMTP_E_SYNTAX);
	expect("MAIL FROM:<> SIZE=1k", SMTP_E_SYNTAX);
	expect("MAIL FROM:<> SIZE=-1", SMTP_E_SYNTAX);
	expect("MAIL FROM:<> BODY=BINARYMIME", SMTP_E_SYNTAX);
	expect("MAIL FROM:<> BODY", SMTP_E_SYNTAX);
	expect("MAIL FROM:<> SMTPUTF8=yes", SMTP_E_SYNTAX);
	expect("MAIL FROM:<> AUTH=<>", SMTP_E_PARAM);
	expect("MAIL FROM:<> RET=FULL", SMTP_E_PARAM);
	expect("MAIL FROM:<> X-FOO", SMTP_E_PARAM);
	expect("MAIL FROM:<> =x", SMTP_E_SYNTAX);
	expect("MAIL FROM:<> SIZE==1", SMTP_E_SYNTAX);
	expect("RCPT TO:<a@b> NOTIFY=NEVER", SMTP_E_PARAM);
	expect("RCPT TO:<a@b> SIZE=1", SMTP_E_PARAM);
}

static void test_auth(void **state)
{
	(void)state;
	ok("AUTH plain", SMTP_AUTH);
	assert_string_equal(cmd.auth_mech, "PLAIN");
	assert_null(cmd.auth_initial);
	assert_int_equal(cmd.auth_initial_len, 0);
	ok("AUTH PLAIN AGFsaWNlAHNlY3JldA==", SMTP_AUTH);
	assert_string_equal(cmd.auth_mech, "PLAIN");
	assert_int_equal(cmd.auth_initial_len, 20);
	assert_memory_equal(cmd.auth_initial, "AGFsaWNlAHNlY3JldA==", 20);
	ok("AUTH LOGIN =", SMTP_AUTH);
	assert_int_equal(cmd.auth_initial_len, 1);
	ok("AUTH SCRAM-SHA-256-PLUS", SMTP_AUTH);
	assert_string_equal(cmd.auth_mech, "SCRAM-SHA-256-PLUS");
	ok("AUTH ABCDEFGHIJKLMNOPQRST", SMTP_AUTH); /* 20 */
	expect("AUTH ABCDEFGHIJKLMNOPQRSTU", SMTP_E_SYNTAX);
	expect("AUTH PL@IN", SMTP_E_SYNTAX);
	expect("AUTH PLAIN abc def", SMTP_E_SYNTAX);
	expect("AUTH PLAIN ab*c", SMTP_E_SYNTAX);
}

/* ---- XCLIENT --------------------------------------------------------- */

static struct xclient_info xi;

static int xc(const char *s)
{
	return xclient_parse(s, strlen(s), &xi);
}

static void test_xclient(void **state)
{
	struct tl_ip ip;

	(void)state;
	assert_int_equal(xc("ADDR=192.0.2.1 NAME=mx.example HELO=bot+2Bx "
			    "PORT=25 PROTO=ESMTP LOGIN=u DESTADDR=192.0.2.9 "
			    "DESTPORT=587"),
			 0);
	assert_true(xi.has_addr);
	assert_int_equal(tl_ip_parse("192.0.2.1", 9, &ip), 0);
	assert_int_equal(tl_ip_cmp(&xi.addr, &ip), 0);
	assert_string_equal(xi.name, "mx.example");
	assert_string_equal(xi.helo, "bot+x");

	assert_int_equal(xc("addr=IPV6:2001:DB8::1"), 0);
	assert_true(xi.has_addr);
	assert_int_equal(xi.addr.family, 6);
	assert_int_equal(tl_ip_parse("2001:db8::1", 11, &ip), 0);
	assert_int_equal(tl_ip_cmp(&xi.addr, &ip), 0);
	assert_int_equal(xc("ADDR=IPV6:::ffff:192.0.2.7"), 0);
	assert_int_equal(xi.addr.family, 4);

	assert_int_equal(xc("ADDR=[UNAVAILABLE] NAME=[TEMPUNAVAIL] HELO=h"), 0);
	assert_false(xi.has_addr);
	assert_string_equal(xi.name, "");
	assert_string_equal(xi.helo, "h");
	assert_int_equal(xc("ADDR=192.0.2.1 ADDR=[UNAVAILABLE]"), 0);
	assert_false(xi.has_addr);

	assert_int_equal(xc("FOO=bar+ZZ NAME=n"), 0); /* unknown: ignored */
	assert_string_equal(xi.name, "n");
	assert_int_equal(xc("HELO=a+20b+3d"), 0);
	assert_string_equal(xi.helo, "a b=");

	assert_int_equal(xc(""), -1);
	assert_int_equal(xc("NAME"), -1);
	assert_int_equal(xc("=x"), -1);
	assert_int_equal(xc("HELO=a+2"), -1);
	assert_int_equal(xc("HELO=a+G0"), -1);
	assert_int_equal(xc("HELO=a+00"), -1);
	assert_int_equal(xc("HELO=a+0D+0A"), -1);
	assert_int_equal(xc("HELO=a=b"), -1);
	assert_int_equal(xc("ADDR=2001:db8::1"), -1);
	assert_int_equal(xc("ADDR=IPV6:192.0.2.1"), -1);
	assert_int_equal(xc("ADDR=192.0.2.256"), -1);
	assert_int_equal(xc("ADDR="), -1);
	assert_int_equal(xc("PORT=65536"), -1);
	assert_int_equal(xc("PORT=025"), -1);
	assert_int_equal(xc("PROTO=HTTP"), -1);
	assert_int_equal(xc("DESTADDR=x"), -1);
}

static void test_xclient_lengths(void **state)
{
	char line[600], v[300];

	(void)state;
	snprintf(line, sizeof(line), "NAME=%s",
		 repeat(v, 'n', SMTP_DOMAIN_MAX));
	assert_int_equal(xc(line), 0);
	assert_int_equal(strlen(xi.name), SMTP_DOMAIN_MAX);
	snprintf(line, sizeof(line), "NAME=%s",
		 repeat(v, 'n', SMTP_DOMAIN_MAX + 1));
	assert_int_equal(xc(line), -1);
}

/* ---- DATA ------------------------------------------------------------ */

struct data_result {
	char buf[4096];
	struct smtp_data d;
	size_t consumed;
	bool done;
};

/* Feed @s in pieces of @step bytes (0: all at once), until done. */
static void feed(struct data_result *r, const char *s, size_t len, size_t cap,
		 size_t step)
{
	size_t off = 0, n, got;

	smtp_data_begin(&r->d, r->buf, cap);
	r->done = false;
	r->consumed = 0;
	while (off < len && !r->done) {
		n = step && len - off > step ? step : len - off;
		got = smtp_data_feed(&r->d, s + off, n, &r->done);
		assert_true(got <= n);
		if (!r->done)
			assert_int_equal(got, n);
		off += got;
	}
	r->consumed = off;
}

static struct data_result dr;

static void data_ok(const char *in, const char *msg, size_t consumed)
{
	feed(&dr, in, strlen(in), sizeof(dr.buf), 0);
	assert_true(dr.done);
	assert_int_equal(dr.consumed, consumed);
	assert_int_equal(dr.d.len, strlen(msg));
	assert_int_equal(dr.d.size, strlen(msg));
	assert_memory_equal(dr.buf, msg, dr.d.len);
}

static void test_data_basic(void **state)
{
	const char *in = "Subject: x\r\n\r\nhello\r\n.\r\nQUIT\r\n";

	(void)state;
	data_ok(in, "Subject: x\r\n\r\nhello\r\n", strlen(in) - 6);
	assert_false(dr.d.bare_lf);
	assert_false(dr.d.long_line);
	assert_false(dr.d.nul);
	/* the empty message */
	data_ok(".\r\n", "", 3);
	data_ok("\r\n.\r\n", "\r\n", 5);
}

static void test_data_unstuff(void **state)
{
	(void)state;
	data_ok("..\r\n...x\r\n.y\r\n. \r\na.b\r\n.\r\n",
		".\r\n..x\r\ny\r\n \r\na.b\r\n", 26);
	/* ".\r" not followed by LF: stuffing, and the CR is content */
	data_ok(".\rx\r\n.\r\n", "\rx\r\n", 8);
	data_ok(".\r\r\n.\r\n", "\r\r\n", 7);
	assert_false(dr.d.bare_lf);
}

static void test_data_ends(void **state)
{
	(void)state;
	data_ok("a\n.\nMAIL", "a\n", 4);
	assert_true(dr.d.bare_lf);
	data_ok("a\n.\r\n", "a\n", 5);
	assert_true(dr.d.bare_lf);
	data_ok("a\r\n.\n", "a\r\n", 5);
	assert_true(dr.d.bare_lf);
	data_ok("a\r\nb\nc\r\n.\r\n", "a\r\nb\nc\r\n", 11);
	assert_true(dr.d.bare_lf);
	/* not ends: "\r.\r\n" (CR alone does not end a line), ".x" */
	feed(&dr, "a\r.\r\nb", 6, sizeof(dr.buf), 0);
	assert_false(dr.done);
	assert_int_equal(dr.consumed, 6);
	assert_int_equal(dr.d.len, 6);
	feed(&dr, "a\r\n.x\r\n", 7, sizeof(dr.buf), 0);
	assert_false(dr.done);
	assert_int_equal(dr.d.len, 6);
	assert_memory_equal(dr.buf, "a\r\nx\r\n", 6);
}

static void test_data_pipelined(void **state)
{
	const char *in = "x\r\n.\r\nRSET\r\nQUIT\r\n";
	bool done;
	size_t n;

	(void)state;
	data_ok(in, "x\r\n", 6);
	assert_memory_equal(in + dr.consumed, "RSET\r\n", 6);
	/* after the end, nothing more is taken */
	n = smtp_data_feed(&dr.d, in + 6, strlen(in) - 6, &done);
	assert_int_equal(n, 0);
	assert_true(done);
	assert_int_equal(dr.d.len, 3);
	/* a feed of nothing */
	smtp_data_begin(&dr.d, dr.buf, sizeof(dr.buf));
	assert_int_equal(smtp_data_feed(&dr.d, "", 0, &done), 0);
	assert_false(done);
}

static void assert_same(const struct data_result *a,
			const struct data_result *b, const char *what,
			size_t at)
{
	if (a->done != b->done || a->consumed != b->consumed ||
	    a->d.len != b->d.len || a->d.size != b->d.size ||
	    a->d.bare_lf != b->d.bare_lf || a->d.long_line != b->d.long_line ||
	    a->d.nul != b->d.nul || a->d.state != b->d.state ||
	    a->d.line_len != b->d.line_len ||
	    memcmp(a->buf, b->buf, a->d.len) != 0)
		fail_msg("%s %zu differs from one feed", what, at);
}

/* A stream with every feature: stuffing, "\r" inside lines, a bare LF,
 * a NUL, a near-end ".\r", then the end and a pipelined command. */
static const char sample[] = "From: a\r\n..stuffed\r\nbare\nx\ry\r\n"
			     ".\rz\r\nn\0ul\r\n\r\n.\r\nQUIT\r\n";

static void test_data_splits(void **state)
{
	static struct data_result one, two;
	size_t len = sizeof(sample) - 1, cut, step, cap;

	(void)state;
	for (cap = 0; cap <= 48; cap += 12) {
		feed(&one, sample, len, cap ? cap : sizeof(one.buf), 0);
		assert_true(one.done);
		assert_int_equal(one.consumed, len - 6);
		assert_true(one.d.bare_lf);
		assert_true(one.d.nul);
		assert_false(one.d.long_line);
		/* every split point into two feeds */
		for (cut = 0; cut <= len; cut++) {
			bool done;
			size_t a, b = 0;

			smtp_data_begin(&two.d, two.buf,
					cap ? cap : sizeof(two.buf));
			a = smtp_data_feed(&two.d, sample, cut, &done);
			if (!done)
				b = smtp_data_feed(&two.d, sample + a,
						   len - a, &done);
			two.done = done;
			two.consumed = a + b;
			assert_same(&one, &two, "split at", cut);
		}
		/* and pieces of every width, one byte at a time included */
		for (step = 1; step <= 8; step++) {
			feed(&two, sample, len, cap ? cap : sizeof(two.buf),
			     step);
			assert_same(&one, &two, "step", step);
		}
	}
	feed(&one, sample, sizeof(sample) - 1, sizeof(one.buf), 0);
	assert_int_equal(one.d.len, 41);
	assert_memory_equal(one.buf,
			    "From: a\r\n.stuffed\r\nbare\nx\ry\r\n"
			    "\rz\r\nn\0ul\r\n\r\n",
			    41);
}

static void test_data_cap(void **state)
{
	(void)state;
	feed(&dr, "0123456789\r\n.\r\n", 15, 4, 0);
	assert_true(dr.done);
	assert_int_equal(dr.d.len, 4);
	assert_int_equal(dr.d.size, 12);
	assert_memory_equal(dr.buf, "0123", 4);
	feed(&dr, "0123456789\r\n.\r\n", 15, 0, 0);
	assert_true(dr.done);
	assert_int_equal(dr.d.len, 0);
	assert_int_equal(dr.d.size, 12);
	/* stuffing is not counted in size */
	feed(&dr, "..ab\r\n.\r\n", 9, 2, 1);
	assert_int_equal(dr.d.size, 5);
	assert_memory_equal(dr.buf, ".a", 2);
}

static void test_data_long_line(void **state)
{
	static char in[3000];
	size_t n;

	(void)state;
	/* 998 octets and CRLF: the longest line allowed (RFC 5321 4.5.3.1.6) */
	memset(in, 'a', 998);
	memcpy(in + 998, "\r\n.\r\n", 5);
	feed(&dr, in, 1003, sizeof(dr.buf), 0);
	assert_true(dr.done);
	assert_false(dr.d.long_line);
	/* one more */
	memset(in, 'a', 999);
	memcpy(in + 999, "\r\n.\r\n", 5);
	feed(&dr, in, 1004, sizeof(dr.buf), 7);
	assert_true(dr.done);
	assert_true(dr.d.long_line);
	/* a stuffing dot is an octet on the wire */
	in[0] = '.';
	memcpy(in + 998, "\r\n.\r\n", 5);
	feed(&dr, in, 1003, sizeof(dr.buf), 0);
	assert_false(dr.d.long_line);
	memset(in, '.', 999);
	memcpy(in + 999, "\r\n.\r\n", 5);
	feed(&dr, in, 1004, sizeof(dr.buf), 0);
	assert_true(dr.d.long_line);
	/* a bare-LF line: 999 octets and LF is 1000 */
	memset(in, 'b', 999);
	memcpy(in + 999, "\n.\n", 3);
	feed(&dr, in, 1002, sizeof(dr.buf), 0);
	assert_false(dr.d.long_line);
	assert_true(dr.d.bare_lf);
	/* a line that never ends: flagged while still open */
	n = sizeof(in);
	memset(in, 'c', n);
	feed(&dr, in, n, 16, 100);
	assert_false(dr.done);
	assert_true(dr.d.long_line);
	assert_int_equal(dr.d.size, n);
	assert_int_equal(dr.d.len, 16);
	/* long lines apart do not add up */
	memset(in, 'd', 2000);
	for (n = 500; n < 2000; n += 501)
		in[n] = '\n';
	memcpy(in + 2000, "\n.\n", 3);
	feed(&dr, in, 2003, sizeof(dr.buf), 0);
	assert_true(dr.done);
	assert_false(dr.d.long_line);
}

static void test_data_nul(void **state)
{
	(void)state;
	feed(&dr, "a\0b\r\n.\r\n", 8, sizeof(dr.buf), 0);
	assert_true(dr.done);
	assert_true(dr.d.nul);
	assert_int_equal(dr.d.len, 5);
	feed(&dr, ".\0\r\n.\r\n", 7, sizeof(dr.buf), 0);
	assert_true(dr.d.nul);
	assert_int_equal(dr.d.len, 3);
	feed(&dr, "ab\r\n.\r\n\0", 8, sizeof(dr.buf), 0);
	assert_false(dr.d.nul); /* after the end: not the message's */
}

/* ---- PROXY ----------------------------------------------------------- */

static struct proxy_info pi;

static int px(const void *buf, size_t len)
{
	return proxy_parse(buf, len, &pi);
}

static int pxs(const char *s)
{
	return px(s, strlen(s));
}

static void assert_ip(const struct tl_ip *ip, const char *text)
{
	char buf[TL_IP_STRLEN];

	tl_ip_format(ip, buf);
	assert_string_equal(buf, text);
}

/* Every proper prefix of a valid header asks for more. */
static void assert_prefixes_need_more(const void *hdr, size_t len)
{
	size_t k;

	for (k = 0; k < len; k++) {
		uint8_t *copy = malloc(k ? k : 1);

		assert_non_null(copy);
		memcpy(copy, hdr, k);
		if (proxy_parse(copy, k, &pi) != 0)
			fail_msg("prefix of %zu bytes of %zu not 0", k, len);
		free(copy);
	}
}

static void test_proxy_v1(void **state)
{
	const char *max = "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
			  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 "
			  "65535\r\n";
	char big[200];
	const char *h;

	(void)state;
	h = "PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\r\nEHLO x\r\n";
	assert_int_equal(pxs(h), 44);
	assert_false(pi.local);
	assert_ip(&pi.src, "192.0.2.1");
	assert_ip(&pi.dst, "198.51.100.2");
	assert_int_equal(pi.src_port, 56324);
	assert_int_equal(pi.dst_port, 25);
	assert_prefixes_need_more(h, 44);

	h = "PROXY TCP6 2001:db8::1 2001:DB8::2 0 65535\r\n";
	assert_int_equal(pxs(h), (int)strlen(h));
	assert_int_equal(pi.src.family, 6);
	assert_ip(&pi.src, "2001:db8::1");
	assert_ip(&pi.dst, "2001:db8::2");
	assert_int_equal(pi.src_port, 0);
	assert_int_equal(pi.dst_port, 65535);
	assert_prefixes_need_more(h, strlen(h));

	/* v4-mapped folds to IPv4 */
	assert_int_equal(pxs("PROXY TCP6 ::ffff:192.0.2.9 ::1 1 2\r\n"), 37);
	assert_int_equal(pi.src.family, 4);
	assert_ip(&pi.src, "192.0.2.9");

	assert_int_equal(pxs("PROXY UNKNOWN\r\n"), 15);
	assert_true(pi.local);
	h = "PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n";
	assert_int_equal(pxs(h), (int)strlen(h));
	assert_true(pi.local);
	assert_prefixes_need_more(h, strlen(h));

	/* the longest line is 107 bytes */
	assert_int_equal(strlen(max), 107);
	assert_int_equal(pxs(max), 107);
	assert_prefixes_need_more(max, 107);
	memset(big, 'x', sizeof(big));
	memcpy(big, "PROXY UNKNOWN ", 14);
	memcpy(big + 105, "\r\n", 2);
	assert_int_equal(px(big, 107), 107);
	assert_int_equal(px(big, 106), 0);
	memcpy(big + 105, "x\r\n", 3);
	assert_int_equal(px(big, 106), 0);
	assert_int_equal(px(big, 107), -1);
	assert_int_equal(px(big, 108), -1);
}

static void test_proxy_v1_bad(void **state)
{
	static const char *bad[] = {
		"EHLO x\r\n",
		"PROXY\r\n",
		"PROXY TCP5 1.2.3.4 1.2.3.4 1 2\r\n",
		"PROXY tcp4 1.2.3.4 1.2.3.4 1 2\r\n",
		"PROXY TCP4  1.2.3.4 1.2.3.4 1 2\r\n",
		"PROXY TCP4 1.2.3.4 1.2.3.4 1 2\n",
		"PROXY TCP4 1.2.3.4 1.2.3.4 1 2 \r\n",
		"PROXY TCP4 1.2.3.4 1.2.3.4 1 2\r\r",
		"PROXY TCP4 01.2.3.4 1.2.3.4 1 2\r\n",
		"PROXY TCP4 1.2.3.256 1.2.3.4 1 2\r\n",
		"PROXY TCP4 1.2.3 1.2.3.4 1 2\r\n",
		"PROXY TCP4 1.2.3.4.5 1.2.3.4 1 2\r\n",
		"PROXY TCP4 1..2.3 1.2.3.4 1 2\r\n",
		"PROXY TCP4 1.2.3. 1.2.3.4 1 2\r\n",
		"PROXY TCP4 .1.2.3 1.2.3.4 1 2\r\n",
		"PROXY TCP4 ::1 1.2.3.4 1 2\r\n",
		"PROXY TCP6 1.2.3.4 ::1 1 2\r\n",
		"PROXY TCP6 ::1 :::1 1 2\r\n",
		"PROXY TCP6 1::2::3 ::1 1 2\r\n",
		"PROXY TCP6 12345::1 ::1 1 2\r\n",
		"PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n",
		"PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n",
		"PROXY TCP4 1.2.3.4 1.2.3.4 65536 2\r\n",
		"PROXY TCP4 1.2.3.4 1.2.3.4 01 2\r\n",
		"PROXY TCP4 1.2.3.4 1.2.3.4 1 +2\r\n",
		"PROXY TCP4 1.2.3.4 1.2.3.4  2\r\n",
		"PROXY TCP4 1.2.3.4 1.2.3.4 1\r\n",
		"PROXY UNKNOWNX\r\n",
		"PROXY UNKNOWN x\ny\r\n",
		"PROXY UNKNOWN \rx\r\n",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (pxs(bad[i]) != -1)
			fail_msg("accepted: %s", bad[i]);
	/* refused at the first byte that cannot fit */
	assert_int_equal(pxs("G"), -1);
	assert_int_equal(pxs("PROXX"), -1);
	assert_int_equal(pxs("PROXY TCP4 1.2.3.4 1.2.3.256"), -1);
	assert_int_equal(pxs("PROXY TCP4 300"), -1);
	assert_int_equal(pxs("PROXY TCP4 1.2.3.4 1.2.3.4 99999"), -1);
	assert_int_equal(pxs("PROXY TCP6 :::"), -1);
	/* and a prefix needs more */
	assert_int_equal(pxs("PROXY TCP4 1.2.3.25"), 0);
	assert_int_equal(pxs(""), 0);
	assert_true(pi.src.family == 0 && !pi.local);
}

static const uint8_t v2sig[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
				  0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};

/* A v2 header: @vc, @fam, then @blen bytes of block. */
static size_t v2(uint8_t *out, uint8_t vc, uint8_t fam, const uint8_t *block,
		 size_t blen)
{
	memcpy(out, v2sig, 12);
	out[12] = vc;
	out[13] = fam;
	out[14] = (uint8_t)(blen >> 8);
	out[15] = (uint8_t)blen;
	if (blen)
		memcpy(out + 16, block, blen);
	return 16 + blen;
}

static void test_proxy_v2(void **state)
{
	static const uint8_t tcp4[] = {192, 0,    2, 1, 198, 51, 100,
				       2,   0xdc, 4, 0, 25,
				       /* TLVs: ALPN "h2", NOOP empty */
				       0x01, 0, 2, 'h', '2', 0x04, 0, 0};
	uint8_t tcp6[36 + 5] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1,
				[26] = 0xff, [27] = 0xff, 192, 0, 2, 7,
				0x01, 0xbb, 0x02, 0x4b,
				/* TLV: CRC32C */ 0x03, 0, 2, 0xaa, 0xbb};
	uint8_t h[600], more[620];
	size_t n;

	(void)state;
	n = v2(h, 0x21, 0x11, tcp4, sizeof(tcp4));
	memcpy(more, h, n);
	memcpy(more + n, "EHLO x\r\n", 8);
	assert_int_equal(px(more, n + 8), (int)n);
	assert_false(pi.local);
	assert_ip(&pi.src, "192.0.2.1");
	assert_ip(&pi.dst, "198.51.100.2");
	assert_int_equal(pi.src_port, 56324);
	assert_int_equal(pi.dst_port, 25);
	assert_prefixes_need_more(h, n);

	n = v2(h, 0x21, 0x21, tcp6, sizeof(tcp6));
	assert_int_equal(px(h, n), (int)n);
	assert_int_equal(pi.src.family, 6);
	assert_ip(&pi.src, "2001:db8::1");
	assert_int_equal(pi.dst.family, 4); /* ::ffff:192.0.2.7 folds */
	assert_ip(&pi.dst, "192.0.2.7");
	assert_int_equal(memcmp(pi.dst.a + 4, "\0\0\0\0\0\0\0\0\0\0\0\0", 12),
			 0);
	assert_int_equal(pi.src_port, 443);
	assert_int_equal(pi.dst_port, 587);
	assert_prefixes_need_more(h, n);

	/* LOCAL (health checks): the block is ignored, whatever it is */
	n = v2(h, 0x20, 0x00, NULL, 0);
	assert_int_equal(px(h, n), 16);
	assert_true(pi.local);
	n = v2(h, 0x20, 0x11, tcp4, sizeof(tcp4));
	assert_int_equal(px(h, n), (int)n);
	assert_true(pi.local);
	assert_int_equal(pi.src.family, 0);
	n = v2(h, 0x20, 0x31, (const uint8_t *)"garbage", 7);
	assert_int_equal(px(h, n), (int)n);
	/* PROXY with UNSPEC keeps the peer */
	n = v2(h, 0x21, 0x00, (const uint8_t *)"xx", 2);
	assert_int_equal(px(h, n), 18);
	assert_true(pi.local);

	/* the largest block allowed: 536 in all */
	memset(more, 0, sizeof(more));
	n = v2(h, 0x21, 0x11, more, 520);
	h[16 + 12] = 0x04; /* one NOOP TLV of 505 bytes */
	h[16 + 13] = 505 >> 8;
	h[16 + 14] = 505 & 0xff;
	assert_int_equal(px(h, n), 536);
	assert_prefixes_need_more(h, n);
}

static void test_proxy_v2_bad(void **state)
{
	static const uint8_t tcp4[12] = {1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2};
	uint8_t h[600], block[600] = {0};
	size_t n;

	(void)state;
	/* a wrong signature byte, at the byte */
	n = v2(h, 0x21, 0x11, tcp4, 12);
	h[7] = 'q';
	assert_int_equal(px(h, 8), -1);
	/* version 1 or 3, command 2 */
	n = v2(h, 0x11, 0x11, tcp4, 12);
	assert_int_equal(px(h, 13), -1);
	n = v2(h, 0x31, 0x11, tcp4, 12);
	assert_int_equal(px(h, n), -1);
	n = v2(h, 0x22, 0x11, tcp4, 12);
	assert_int_equal(px(h, n), -1);
	/* UDP, UNIX, unknown families with PROXY */
	n = v2(h, 0x21, 0x12, tcp4, 12);
	assert_int_equal(px(h, 14), -1);
	n = v2(h, 0x21, 0x31, block, 216);
	assert_int_equal(px(h, n), -1);
	n = v2(h, 0x21, 0x41, tcp4, 12);
	assert_int_equal(px(h, n), -1);
	/* a block too short for its addresses */
	n = v2(h, 0x21, 0x11, tcp4, 11);
	assert_int_equal(px(h, 16), -1);
	n = v2(h, 0x21, 0x21, block, 35);
	assert_int_equal(px(h, 16), -1);
	/* oversize: refused from the length alone */
	n = v2(h, 0x21, 0x11, block, 521);
	assert_int_equal(px(h, 16), -1);
	assert_int_equal(px(h, n), -1);
	h[14] = 0xff;
	h[15] = 0xff;
	assert_int_equal(px(h, 16), -1);
	n = v2(h, 0x20, 0x00, block, 521);
	assert_int_equal(px(h, 16), -1);
	/* TLVs that do not tile the block */
	memcpy(block, tcp4, 12);
	block[12] = 0x04;
	block[13] = 0;
	block[14] = 3;
	n = v2(h, 0x21, 0x11, block, 12 + 3 + 2);
	assert_int_equal(px(h, n), -1);
	n = v2(h, 0x21, 0x11, block, 12 + 2);
	assert_int_equal(px(h, n), -1);
	n = v2(h, 0x21, 0x11, block, 12 + 3 + 3);
	assert_int_equal(px(h, n), (int)n);
	/* a v1/v2 mix */
	assert_int_equal(pxs("\r\nPROXY"), -1);
	assert_int_equal(pxs("\r\n\r\n"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verbs),
		cmocka_unit_test(test_case_and_spaces),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_arguments),
		cmocka_unit_test(test_binary_and_length),
		cmocka_unit_test(test_replies),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_path_lengths),
		cmocka_unit_test(test_no_brackets),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_xclient),
		cmocka_unit_test(test_xclient_lengths),
		cmocka_unit_test(test_data_basic),
		cmocka_unit_test(test_data_unstuff),
		cmocka_unit_test(test_data_ends),
		cmocka_unit_test(test_data_pipelined),
		cmocka_unit_test(test_data_splits),
		cmocka_unit_test(test_data_cap),
		cmocka_unit_test(test_data_long_line),
		cmocka_unit_test(test_data_nul),
		cmocka_unit_test(test_proxy_v1),
		cmocka_unit_test(test_proxy_v1_bad),
		cmocka_unit_test(test_proxy_v2),
		cmocka_unit_test(test_proxy_v2_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
