/* SPDX-License-Identifier: MIT */
/* test_event.c -- kinds, tags, defaults and the NDJSON writer */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "ingest/parse.h"
#include "trapline/day.h"
#include "trapline/err.h"
#include "trapline/event.h"

static void test_kinds(void **state)
{
	static const char *const names[TL_KIND_COUNT] = {"spam", "dictionary",
							 "auth", "malware"};
	static const char *const bad[] = {"spa", "spams", "", "persistent",
					  "operator", "spam ", " spam", "0"};
	enum tl_kind k;
	unsigned i;

	(void)state;
	for (i = 0; i < TL_KIND_COUNT; i++) {
		assert_string_equal(tl_kind_name((enum tl_kind)i), names[i]);
		assert_int_equal(tl_kind_parse(names[i], strlen(names[i]), &k),
				 0);
		assert_int_equal(k, i);
	}
	/* The numbers are stored: they never change. */
	assert_int_equal(TL_KIND_SPAM, 0);
	assert_int_equal(TL_KIND_DICTIONARY, 1);
	assert_int_equal(TL_KIND_AUTH, 2);
	assert_int_equal(TL_KIND_MALWARE, 3);
	assert_int_equal(tl_kind_parse("SPAM", 4, &k), 0);
	assert_int_equal(k, TL_KIND_SPAM);
	assert_int_equal(tl_kind_parse("Dictionary", 10, &k), 0);
	assert_int_equal(k, TL_KIND_DICTIONARY);
	assert_int_equal(tl_kind_parse("authX", 4, &k), 0);
	assert_int_equal(k, TL_KIND_AUTH);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(tl_kind_parse(bad[i], strlen(bad[i]), &k),
				 TL_EKIND);
	assert_string_equal(tl_kind_name((enum tl_kind)99), "unknown");
}

static void test_init_defaults(void **state)
{
	struct tl_event ev;

	(void)state;
	memset(&ev, 0xa5, sizeof(ev));
	tl_event_init(&ev);
	assert_int_equal(ev.kind, TL_KIND_SPAM);
	assert_int_equal(ev.count, 1);
	assert_int_equal(ev.ntags, 0);
	assert_int_equal(ev.rcpts, 0);
	assert_int_equal(ev.size, 0);
	assert_int_equal(ev.time, 0);
	assert_string_equal(ev.sensor, "");
	assert_string_equal(ev.helo, "");
	assert_string_equal(ev.from, "");
}

static int add(struct tl_event *ev, const char *tag)
{
	return tl_event_add_tag(ev, tag, strlen(tag));
}

static void test_tags(void **state)
{
	static const char *const bad[] = {"", "ph arma", "ph/arma", "tag!",
					  "caf\xc3\xa9", "a\tb", "x:y", "\"q\""};
	char t32[33], t33[34], name[8];
	struct tl_event ev;
	unsigned i;

	(void)state;
	tl_event_init(&ev);
	assert_int_equal(add(&ev, "Pharma"), 0);
	assert_int_equal(ev.ntags, 1);
	assert_string_equal(ev.tags[0], "pharma");
	assert_int_equal(add(&ev, "PHARMA"), 0); /* the same tag */
	assert_int_equal(add(&ev, "pharma"), 0);
	assert_int_equal(ev.ntags, 1);
	assert_int_equal(add(&ev, "a.b-c_D9"), 0);
	assert_string_equal(ev.tags[1], "a.b-c_d9");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(add(&ev, bad[i]), TL_ETAG);
	assert_int_equal(ev.ntags, 2);

	memset(t32, 'x', 32);
	t32[32] = '\0';
	memset(t33, 'y', 33);
	t33[33] = '\0';
	assert_int_equal(add(&ev, t32), 0);
	assert_string_equal(ev.tags[2], t32);
	assert_int_equal(add(&ev, t33), TL_ETAG);
	/* the length given counts, not a NUL */
	assert_int_equal(tl_event_add_tag(&ev, "phishing!!", 8), 0);
	assert_string_equal(ev.tags[3], "phishing");

	tl_event_init(&ev);
	for (i = 0; i < TL_EVENT_TAGS; i++) {
		snprintf(name, sizeof(name), "t%u", i);
		assert_int_equal(add(&ev, name), 0);
	}
	assert_int_equal(ev.ntags, TL_EVENT_TAGS);
	assert_int_equal(add(&ev, "one-more"), TL_ELIMIT);
	assert_int_equal(ev.ntags, TL_EVENT_TAGS);
	assert_int_equal(add(&ev, "T3"), 0); /* already there: fine */
	assert_int_equal(ev.ntags, TL_EVENT_TAGS);
}

static void assert_same_event(const struct tl_event *a,
			      const struct tl_event *b)
{
	unsigned i;

	assert_int_equal(a->time, b->time);
	assert_int_equal(a->ip.family, b->ip.family);
	assert_memory_equal(a->ip.a, b->ip.a, 16);
	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->count, b->count);
	assert_int_equal(a->rcpts, b->rcpts);
	assert_int_equal(a->size, b->size);
	assert_int_equal(a->ntags, b->ntags);
	for (i = 0; i < a->ntags; i++)
		assert_string_equal(a->tags[i], b->tags[i]);
	assert_string_equal(a->sensor, b->sensor);
	assert_string_equal(a->helo, b->helo);
	assert_string_equal(a->from, b->from);
}

/* Format, check it is one valid JSON line (jansson), parse it back. */
static void roundtrip(const struct tl_event *ev)
{
	char buf[TL_EVENT_NDJSON_MAX];
	struct tl_event back;
	struct ingest_err err;
	json_error_t jerr;
	json_t *root;
	size_t n;

	memset(buf, 0x55, sizeof(buf));
	n = tl_event_format_ndjson(ev, buf);
	assert_true(n > 2 && n < TL_EVENT_NDJSON_MAX);
	assert_int_equal(strlen(buf), n);
	assert_int_equal(buf[n - 1], '\n');
	assert_null(memchr(buf, '\n', n - 1));
	root = json_loadb(buf, n, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		fail_msg("not JSON (%s): %s", jerr.text, buf);
	assert_true(json_is_object(root));
	json_decref(root);
	if (ingest_ndjson_parse(buf, n, &back, &err) != INGEST_EVENT)
		fail_msg("refused (%s, field %s): %s", tl_strerror(err.code),
			 err.field ? err.field : "-", buf);
	assert_same_event(ev, &back);
}

static void set_ip(struct tl_event *ev, const char *s)
{
	assert_int_equal(tl_ip_parse(s, strlen(s), &ev->ip), 0);
}

static void test_ndjson_roundtrip_full(void **state)
{
	struct tl_event ev;

	(void)state;
	tl_event_init(&ev);
	ev.time = (int64_t)tl_day_from_civil(2004, 3, 1) * 86400 + 45296;
	set_ip(&ev, "2001:db8::1");
	ev.kind = TL_KIND_MALWARE;
	ev.count = 1000000000;
	ev.rcpts = 4294967295u;
	ev.size = 1ull << 40;
	assert_int_equal(add(&ev, "pharma"), 0);
	assert_int_equal(add(&ev, "phish"), 0);
	strcpy(ev.sensor, "trap\"1\\");
	strcpy(ev.helo, "evil \"quoted\" \\ back\x01\x02\x1f\n\r\t\x7f end");
	strcpy(ev.from, "example.com/\"x\"");
	roundtrip(&ev);
}

static void test_ndjson_roundtrip_each(void **state)
{
	static const char *const ips[] = {"192.0.2.1", "0.0.0.0", "::",
					  "::1", "64:ff9b::1.2.3.4",
					  "255.255.255.255"};
	struct tl_event ev;
	unsigned k, i;
	int64_t t;

	(void)state;
	for (k = 0; k < TL_KIND_COUNT; k++) {
		for (i = 0; i < sizeof(ips) / sizeof(ips[0]); i++) {
			tl_event_init(&ev);
			ev.kind = (uint8_t)k;
			set_ip(&ev, ips[i]);
			ev.time = 1700000000 + k * 3601 + i;
			roundtrip(&ev);
		}
	}
	/* every second of a day and days across the range */
	tl_event_init(&ev);
	set_ip(&ev, "198.51.100.7");
	for (t = 0; t < 86400; t += 7) {
		ev.time = 1078099200 + t;
		roundtrip(&ev);
	}
	for (t = 0; t <= 84005; t += 97) {
		ev.time = t * 86400 + 86399;
		roundtrip(&ev);
	}
}

static void test_ndjson_defaults_omitted(void **state)
{
	char buf[TL_EVENT_NDJSON_MAX];
	struct tl_event ev;

	(void)state;
	tl_event_init(&ev);
	ev.time = 1078142400;
	set_ip(&ev, "192.0.2.1");
	tl_event_format_ndjson(&ev, buf);
	assert_non_null(strstr(buf, "\"time\":\"2004-03-01T12:00:00Z\""));
	assert_non_null(strstr(buf, "\"ip\":\"192.0.2.1\""));
	assert_non_null(strstr(buf, "\"kind\":\"spam\""));
	assert_non_null(strstr(buf, "\"count\":1"));
	assert_null(strstr(buf, "sensor"));
	assert_null(strstr(buf, "tags"));
	assert_null(strstr(buf, "helo"));
	assert_null(strstr(buf, "from"));
	assert_null(strstr(buf, "rcpts"));
	assert_null(strstr(buf, "size"));
	roundtrip(&ev);
}

/* Longest fields and every tag: the line still fits. */
static void test_ndjson_longest(void **state)
{
	char tag[33];
	struct tl_event ev;
	unsigned i;

	(void)state;
	tl_event_init(&ev);
	ev.time = 7258118399;
	set_ip(&ev, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe");
	memset(ev.helo, '"', 255);
	ev.helo[255] = '\0';
	memset(ev.from, '\x01', 255);
	ev.from[255] = '\0';
	memset(ev.sensor, '\\', 63);
	ev.sensor[63] = '\0';
	for (i = 0; i < TL_EVENT_TAGS; i++) {
		memset(tag, 'a' + (char)i, 32);
		tag[32] = '\0';
		assert_int_equal(add(&ev, tag), 0);
	}
	ev.rcpts = 4294967295u;
	ev.size = (uint64_t)INT64_MAX;
	roundtrip(&ev);
}

/* UTF-8 in a HELO passes through unchanged. */
static void test_ndjson_utf8(void **state)
{
	struct tl_event ev;

	(void)state;
	tl_event_init(&ev);
	ev.time = 1700000000;
	set_ip(&ev, "192.0.2.1");
	strcpy(ev.helo, "mx.ex\xc3\xa4mple.org \xe2\x82\xac \xf0\x9f\x98\x80");
	roundtrip(&ev);
}

/*
 * A HELO is whatever bytes a peer sent. Whatever they are, the line
 * written must still be JSON (RFC 8259 8.1: UTF-8), so that it can be
 * read back rather than refused.
 */
static void test_ndjson_invalid_utf8_helo(void **state)
{
	char buf[TL_EVENT_NDJSON_MAX];
	struct tl_event ev, back;
	struct ingest_err err;
	size_t n;

	(void)state;
	tl_event_init(&ev);
	ev.time = 1700000000;
	set_ip(&ev, "192.0.2.1");
	strcpy(ev.helo, "bad\xff\xfe helo \xc3");
	n = tl_event_format_ndjson(&ev, buf);
	if (ingest_ndjson_parse(buf, n, &back, &err) != INGEST_EVENT)
		fail_msg("line written cannot be read (%s): %s",
			 tl_strerror(err.code), buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_init_defaults),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_ndjson_roundtrip_full),
		cmocka_unit_test(test_ndjson_roundtrip_each),
		cmocka_unit_test(test_ndjson_defaults_omitted),
		cmocka_unit_test(test_ndjson_longest),
		cmocka_unit_test(test_ndjson_utf8),
		cmocka_unit_test(test_ndjson_invalid_utf8_helo),
	};

	return cmocka_run_group_tests_name("event", tests, NULL, NULL);
}
