/* SPDX-License-Identifier: MIT */
/* test_parse.c -- the NDJSON and CSV event line parsers */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/parse.h"
#include "tl_limits.h"
#include "trapline/day.h"
#include "trapline/err.h"

static struct tl_event ev;
static struct ingest_err err;

static enum ingest_line nd(const char *s)
{
	return ingest_ndjson_parse(s, strlen(s), &ev, &err);
}

static enum ingest_line csv(const char *s)
{
	return ingest_csv_parse(s, strlen(s), &ev, &err);
}

/* A line is refused with @code (and @field, when not NULL). */
static void nd_bad(const char *s, int code, const char *field)
{
	enum ingest_line r = nd(s);

	if (r != INGEST_BAD)
		fail_msg("not refused: %s", s);
	if (err.code != code)
		fail_msg("%s: got %s (%d), want %s (%d)", s,
			 tl_strerror(err.code), err.code, tl_strerror(code),
			 code);
	if (field) {
		if (!err.field || strcmp(err.field, field) != 0)
			fail_msg("%s: field %s, want %s", s,
				 err.field ? err.field : "(none)", field);
	}
}

static void nd_ok(const char *s)
{
	if (nd(s) != INGEST_EVENT)
		fail_msg("refused (%s, field %s): %s", tl_strerror(err.code),
			 err.field ? err.field : "-", s);
	assert_int_equal(err.code, 0);
}

static int64_t t2004 = 1078142400; /* 2004-03-01T12:00:00Z */

static void test_ndjson_all_fields(void **state)
{
	struct tl_ip ip;

	(void)state;
	nd_ok("{\"time\": \"2004-03-01T12:00:00Z\", \"ip\": \"192.0.2.1\", "
	      "\"kind\": \"auth\", \"count\": 7, \"sensor\": \"trap1\", "
	      "\"tags\": [\"Pharma\", \"phish\"], \"helo\": \"mx.example\", "
	      "\"from\": \"example.org\", \"rcpts\": 3, \"size\": 2048}");
	assert_int_equal(ev.time, t2004);
	assert_int_equal(tl_ip_parse("192.0.2.1", 9, &ip), 0);
	assert_int_equal(tl_ip_cmp(&ev.ip, &ip), 0);
	assert_int_equal(ev.kind, TL_KIND_AUTH);
	assert_int_equal(ev.count, 7);
	assert_string_equal(ev.sensor, "trap1");
	assert_int_equal(ev.ntags, 2);
	assert_string_equal(ev.tags[0], "pharma");
	assert_string_equal(ev.tags[1], "phish");
	assert_string_equal(ev.helo, "mx.example");
	assert_string_equal(ev.from, "example.org");
	assert_int_equal(ev.rcpts, 3);
	assert_int_equal(ev.size, 2048);
	/* members in any order, no spaces, trailing newline */
	nd_ok("{\"size\":1,\"ip\":\"2001:db8::1\",\"time\":1078142400}\n");
	assert_int_equal(ev.ip.family, 6);
	assert_int_equal(ev.time, t2004);
	assert_int_equal(ev.size, 1);
	nd_ok("\t {\"ip\":\"::ffff:1.2.3.4\" , \"time\" : \"2004-03-01\" }\r\n");
	assert_int_equal(ev.ip.family, 4);
	assert_int_equal(ev.time, t2004 - 43200);
}

static void test_ndjson_defaults_and_null(void **state)
{
	(void)state;
	nd_ok("{\"time\":1078142400,\"ip\":\"192.0.2.1\"}");
	assert_int_equal(ev.kind, TL_KIND_SPAM);
	assert_int_equal(ev.count, 1);
	assert_int_equal(ev.ntags, 0);
	assert_int_equal(ev.rcpts, 0);
	assert_int_equal(ev.size, 0);
	assert_string_equal(ev.sensor, "");
	assert_string_equal(ev.helo, "");
	assert_string_equal(ev.from, "");
	/* null means absent */
	nd_ok("{\"time\":1078142400,\"ip\":\"192.0.2.1\",\"kind\":null,"
	      "\"count\":null,\"sensor\":null,\"tags\":null,\"helo\":null,"
	      "\"from\":null,\"rcpts\":null,\"size\":null}");
	assert_int_equal(ev.kind, TL_KIND_SPAM);
	assert_int_equal(ev.count, 1);
	assert_int_equal(ev.ntags, 0);
	assert_string_equal(ev.helo, "");
	nd_bad("{\"time\":null,\"ip\":\"192.0.2.1\"}", TL_EMISSING, "time");
	nd_bad("{\"time\":1078142400,\"ip\":null}", TL_EMISSING, "ip");
	/* the parser starts from a clean event every time */
	nd_ok("{\"time\":1078142400,\"ip\":\"192.0.2.1\",\"helo\":\"x\","
	      "\"tags\":[\"a\"]}");
	nd_ok("{\"time\":1078142400,\"ip\":\"192.0.2.1\"}");
	assert_string_equal(ev.helo, "");
	assert_int_equal(ev.ntags, 0);
	nd_ok("{\"time\":1078142400,\"ip\":\"192.0.2.1\",\"tags\":[]}");
	assert_int_equal(ev.ntags, 0);
}

static void test_ndjson_unknown_skipped(void **state)
{
	(void)state;
	nd_ok("{\"x\":1,\"time\":1078142400,\"y\":{\"a\":[1,2,{\"b\":null}],"
	      "\"c\":\"\\u00e9\\\"}\"},\"ip\":\"192.0.2.1\",\"z\":[[[]]],"
	      "\"t\":true,\"f\":false,\"n\":null,\"num\":-1.5e-3,"
	      "\"a_very_long_member_name_indeed\":\"ip\",\"Time\":\"bogus\","
	      "\"IP\":0,\"e\":{}}");
	assert_int_equal(ev.time, t2004);
	/* unknown members are still checked as JSON */
	nd_bad("{\"time\":1078142400,\"ip\":\"192.0.2.1\",\"x\":[1,]}",
	       TL_ESYNTAX, NULL);
	nd_bad("{\"time\":1078142400,\"ip\":\"192.0.2.1\",\"x\":{\"a\"}}",
	       TL_ESYNTAX, NULL);
	nd_bad("{\"time\":1078142400,\"ip\":\"192.0.2.1\",\"x\":tru}",
	       TL_ESYNTAX, NULL);
	nd_bad("{\"time\":1078142400,\"ip\":\"192.0.2.1\",\"x\":01}",
	       TL_ESYNTAX, NULL);
	nd_bad("{\"time\":1078142400,\"ip\":\"192.0.2.1\",\"x\":1.}",
	       TL_ESYNTAX, NULL);
	nd_bad("{\"time\":1078142400,\"ip\":\"192.0.2.1\",\"x\":+1}",
	       TL_ESYNTAX, NULL);
	nd_bad("{\"time\":1078142400,\"ip\":\"192.0.2.1\",\"x\":'a'}",
	       TL_ESYNTAX, NULL);
	nd_bad("{\"time\":1078142400,\"ip\":\"192.0.2.1\",\"x\":NaN}",
	       TL_ESYNTAX, NULL);
}

static void test_ndjson_duplicates(void **state)
{
	(void)state;
	nd_bad("{\"time\":1,\"ip\":\"192.0.2.1\",\"time\":2}", TL_EDUP, "time");
	nd_bad("{\"time\":1,\"ip\":\"192.0.2.1\",\"ip\":\"192.0.2.1\"}", TL_EDUP,
	       "ip");
	nd_bad("{\"time\":1,\"ip\":\"192.0.2.1\",\"kind\":\"spam\","
	       "\"kind\":\"auth\"}",
	       TL_EDUP, "kind");
	nd_bad("{\"time\":1,\"ip\":\"1.2.3.4\",\"tags\":[],\"tags\":[]}",
	       TL_EDUP, "tags");
	/* an escaped name is the same name */
	nd_bad("{\"time\":1,\"ip\":\"192.0.2.1\",\"t\\u0069me\":2}", TL_EDUP,
	       "time");
}

/* A member given twice is refused even when one of the two is null:
 * RFC 8259 4 leaves duplicates to the reader, and which one wins is
 * exactly what an ingest must not guess. */
static void test_ndjson_duplicate_null(void **state)
{
	(void)state;
	nd_bad("{\"time\":null,\"ip\":\"192.0.2.1\",\"time\":1}", TL_EDUP,
	       "time");
	nd_bad("{\"time\":1,\"ip\":\"192.0.2.1\",\"kind\":null,"
	       "\"kind\":\"auth\"}",
	       TL_EDUP, "kind");
}

static void test_ndjson_wrong_types(void **state)
{
	static const struct {
		const char *member, *field;
	} cases[] = {
		{"\"time\":true", "time"},    {"\"time\":[1]", "time"},
		{"\"time\":{}", "time"},      {"\"ip\":1", "ip"},
		{"\"ip\":[\"1.2.3.4\"]", "ip"}, {"\"kind\":2", "kind"},
		{"\"count\":\"1\"", "count"}, {"\"count\":true", "count"},
		{"\"sensor\":1", "sensor"},   {"\"tags\":\"pharma\"", "tags"},
		{"\"tags\":[1]", "tags"},     {"\"tags\":{}", "tags"},
		{"\"helo\":false", "helo"},   {"\"from\":[]", "from"},
		{"\"rcpts\":\"3\"", "rcpts"}, {"\"size\":{\"a\":1}", "size"},
	};
	char line[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (strncmp(cases[i].member, "\"time\"", 6) == 0)
			snprintf(line, sizeof(line), "{\"ip\":\"1.2.3.4\",%s}",
				 cases[i].member);
		else if (strncmp(cases[i].member, "\"ip\"", 4) == 0)
			snprintf(line, sizeof(line), "{\"time\":1,%s}",
				 cases[i].member);
		else
			snprintf(line, sizeof(line),
				 "{\"time\":1,\"ip\":\"1.2.3.4\",%s}",
				 cases[i].member);
		nd_bad(line, TL_ETYPE, cases[i].field);
	}
}

static void test_ndjson_missing(void **state)
{
	(void)state;
	nd_bad("{}", TL_EMISSING, "time");
	nd_bad("{\"ip\":\"192.0.2.1\"}", TL_EMISSING, "time");
	nd_bad("{\"time\":1078142400}", TL_EMISSING, "ip");
	nd_bad("{\"time\":1078142400,\"kind\":\"spam\"}", TL_EMISSING, "ip");
}

static void test_ndjson_bad_values(void **state)
{
	(void)state;
	nd_bad("{\"time\":1,\"ip\":\"1.2.3.4\",\"kind\":\"ham\"}", TL_EKIND,
	       "kind");
	nd_bad("{\"time\":1,\"ip\":\"1.2.3.4\",\"kind\":\"persistent\"}",
	       TL_EKIND, "kind");
	nd_bad("{\"time\":\"2004-03-01T12:00:00\",\"ip\":\"1.2.3.4\"}", TL_ETIME,
	       "time");
	nd_bad("{\"time\":\"1969-12-31\",\"ip\":\"1.2.3.4\"}", TL_ETIME, "time");
	nd_bad("{\"time\":-1,\"ip\":\"1.2.3.4\"}", TL_ETIME, "time");
	nd_bad("{\"time\":1e9,\"ip\":\"1.2.3.4\"}", TL_ETIME, "time");
	nd_bad("{\"time\":99999999999,\"ip\":\"1.2.3.4\"}", TL_ETIME, "time");
	nd_bad("{\"time\":\"yesterday\",\"ip\":\"1.2.3.4\"}", TL_ETIME, "time");
	nd_bad("{\"time\":1,\"ip\":\"1.2.3.256\"}", TL_EIP, "ip");
	nd_bad("{\"time\":1,\"ip\":\"01.2.3.4\"}", TL_EIP, "ip");
	nd_bad("{\"time\":1,\"ip\":\"\"}", TL_EIP, "ip");
	nd_bad("{\"time\":1,\"ip\":\"fe80::1%eth0\"}", TL_EZONEID, "ip");
	nd_bad("{\"time\":1,\"ip\":\"1111111111111111111111111111111111111111111"
	       "111111111111111111111111111111111111111\"}",
	       TL_EIP, "ip");
	nd_bad("{\"time\":1,\"ip\":\"1.2.3.4\",\"count\":0}", TL_ECOUNT, "count");
	nd_bad("{\"time\":1,\"ip\":\"1.2.3.4\",\"count\":-1}", TL_ECOUNT,
	       "count");
	nd_bad("{\"time\":1,\"ip\":\"1.2.3.4\",\"count\":1.5}", TL_ECOUNT,
	       "count");
	nd_bad("{\"time\":1,\"ip\":\"1.2.3.4\",\"count\":1e3}", TL_ECOUNT,
	       "count");
	nd_bad("{\"time\":1,\"ip\":\"1.2.3.4\",\"count\":1000000001}",
	       TL_ECOUNT, "count");
	nd_bad("{\"time\":1,\"ip\":\"1.2.3.4\",\"rcpts\":4294967296}",
	       TL_ECOUNT, "rcpts");
	nd_bad("{\"time\":1,\"ip\":\"1.2.3.4\",\"size\":9223372036854775808}",
	       TL_ECOUNT, "size");
	nd_bad("{\"time\":1,\"ip\":\"1.2.3.4\",\"tags\":[\"bad tag\"]}",
	       TL_ETAG, "tags");
	nd_bad("{\"time\":1,\"ip\":\"1.2.3.4\",\"tags\":[\"\"]}", TL_ETAG,
	       "tags");
	nd_bad("{\"time\":1,\"ip\":\"1.2.3.4\",\"tags\":[\"aaaaaaaaaaaaaaaaaaaa"
	       "aaaaaaaaaaaaa\"]}",
	       TL_ETAG, "tags");
	nd_bad("{\"time\":1,\"ip\":\"1.2.3.4\",\"tags\":[\"a\",\"b\",\"c\",\"d\","
	       "\"e\",\"f\",\"g\",\"h\",\"i\"]}",
	       TL_ELIMIT, "tags");
	nd_bad("{\"time\":1,\"ip\":\"1.2.3.4\",\"tags\":[\"a\" \"b\"]}",
	       TL_ESYNTAX, "tags");

	/* the edges that are fine */
	nd_ok("{\"time\":1,\"ip\":\"1.2.3.4\",\"count\":1000000000,"
	      "\"rcpts\":4294967295,\"size\":9223372036854775807}");
	assert_int_equal(ev.count, 1000000000);
	assert_int_equal(ev.rcpts, 4294967295u);
	assert_int_equal(ev.size, 9223372036854775807ull);
	nd_ok("{\"time\":1078142400.75,\"ip\":\"1.2.3.4\"}");
	assert_int_equal(ev.time, t2004);
	nd_ok("{\"time\":\"1078142400\",\"ip\":\"1.2.3.4\"}");
	assert_int_equal(ev.time, t2004);
	nd_ok("{\"time\":1,\"ip\":\"1.2.3.4\",\"tags\":[\"a\",\"b\",\"c\",\"d\","
	      "\"e\",\"f\",\"g\",\"h\",\"A\"]}");
	assert_int_equal(ev.ntags, 8);
}

/* Numbers past 64 bits must not wrap into a small accepted value. */
static void test_ndjson_number_overflow(void **state)
{
	(void)state;
	nd_bad("{\"time\":1,\"ip\":\"1.2.3.4\",\"size\":18446744073709551620}",
	       TL_ECOUNT, "size");
	nd_bad("{\"time\":1,\"ip\":\"1.2.3.4\",\"size\":"
	       "92233720368547758080}",
	       TL_ECOUNT, "size");
	nd_bad("{\"time\":1,\"ip\":\"1.2.3.4\",\"count\":18446744073709551617}",
	       TL_ECOUNT, "count");
}

static void test_ndjson_strings(void **state)
{
	char line[1024], want[300];

	(void)state;
	nd_ok("{\"time\":1,\"ip\":\"1.2.3.4\",\"helo\":\"a\\\"b\\\\c\\/d\\b\\f\\n"
	      "\\r\\t\"}");
	assert_string_equal(ev.helo, "a\"b\\c/d\b\f\n\r\t");
	nd_ok("{\"time\":1,\"ip\":\"1.2.3.4\",\"helo\":\"\\u00e9\\u20AC\\u0041"
	      "\"}");
	assert_string_equal(ev.helo, "\xc3\xa9\xe2\x82\xac" "A");
	/* surrogate pairs: U+1F600 */
	nd_ok("{\"time\":1,\"ip\":\"1.2.3.4\",\"helo\":\"\\ud83d\\ude00\"}");
	assert_string_equal(ev.helo, "\xf0\x9f\x98\x80");
	nd_ok("{\"time\":1,\"ip\":\"1.2.3.4\",\"helo\":\"\\uDBFF\\uDFFF\"}");
	assert_string_equal(ev.helo, "\xf4\x8f\xbf\xbf");
	/* raw UTF-8 passes */
	nd_ok("{\"time\":1,\"ip\":\"1.2.3.4\",\"helo\":\"\xc3\xa9\xf0\x9f\x98"
	      "\x80\"}");
	assert_string_equal(ev.helo, "\xc3\xa9\xf0\x9f\x98\x80");
	/* an escaped ip */
	nd_ok("{\"time\":1,\"ip\":\"\\u0031.2.3.4\"}");
	assert_int_equal(ev.ip.a[0], 1);

	/* lone or reversed surrogates, bad escapes */
	nd_bad("{\"time\":1,\"ip\":\"1.2.3.4\",\"helo\":\"\\ud83d\"}",
	       TL_ESYNTAX, "helo");
	nd_bad("{\"time\":1,\"ip\":\"1.2.3.4\",\"helo\":\"\\ud83dx\"}",
	       TL_ESYNTAX, "helo");
	nd_bad("{\"time\":1,\"ip\":\"1.2.3.4\",\"helo\":\"\\ude00\\ud83d\"}",
	       TL_ESYNTAX, "helo");
	nd_bad("{\"time\":1,\"ip\":\"1.2.3.4\",\"helo\":\"\\ud83d\\u0041\"}",
	       TL_ESYNTAX, "helo");
	nd_bad("{\"time\":1,\"ip\":\"1.2.3.4\",\"helo\":\"\\x41\"}", TL_ESYNTAX,
	       "helo");
	nd_bad("{\"time\":1,\"ip\":\"1.2.3.4\",\"helo\":\"\\u12\"}", TL_ESYNTAX,
	       "helo");
	nd_bad("{\"time\":1,\"ip\":\"1.2.3.4\",\"helo\":\"\\u12g4\"}",
	       TL_ESYNTAX, "helo");
	nd_bad("{\"time\":1,\"ip\":\"1.2.3.4\",\"helo\":\"\\u0000\"}",
	       TL_ESYNTAX, "helo");
	nd_bad("{\"time\":1,\"ip\":\"1.2.3.4\",\"helo\":\"tab\there\"}",
	       TL_ESYNTAX, "helo");
	nd_bad("{\"time\":1,\"ip\":\"1.2.3.4\",\"helo\":\"unterminated}",
	       TL_ESYNTAX, "helo");

	/* HELO: at most 255 bytes */
	memset(want, 'h', 255);
	want[255] = '\0';
	snprintf(line, sizeof(line), "{\"time\":1,\"ip\":\"1.2.3.4\",\"helo\":"
		 "\"%s\"}", want);
	nd_ok(line);
	assert_string_equal(ev.helo, want);
	snprintf(line, sizeof(line), "{\"time\":1,\"ip\":\"1.2.3.4\",\"helo\":"
		 "\"%sh\"}", want);
	nd_bad(line, TL_ETOOLONG, "helo");
	/* sensor: at most 63 */
	snprintf(line, sizeof(line), "{\"time\":1,\"ip\":\"1.2.3.4\",\"sensor\":"
		 "\"%.63s\"}", want);
	nd_ok(line);
	snprintf(line, sizeof(line), "{\"time\":1,\"ip\":\"1.2.3.4\",\"sensor\":"
		 "\"%.64s\"}", want);
	nd_bad(line, TL_ETOOLONG, "sensor");
}

static void test_ndjson_invalid_utf8(void **state)
{
	static const char *const bad[] = {
		"\xff", "\xc3", "\xc3(", "\xc0\xaf", "\xe0\x80\xaf",
		"\xed\xa0\x80", /* an encoded surrogate */
		"\xf4\x90\x80\x80", /* past U+10FFFF */
		"\xf8\x88\x80\x80\x80", "\x80", "\xe2\x82",
	};
	char line[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line),
			 "{\"time\":1,\"ip\":\"1.2.3.4\",\"helo\":\"%s\"}",
			 bad[i]);
		nd_bad(line, TL_ESYNTAX, "helo");
		snprintf(line, sizeof(line),
			 "{\"time\":1,\"ip\":\"1.2.3.4\",\"other\":\"%s\"}",
			 bad[i]);
		nd_bad(line, TL_ESYNTAX, NULL);
	}
}

static void nest(char *line, size_t size, int levels)
{
	size_t o;
	int i;

	o = (size_t)snprintf(line, size, "{\"time\":1,\"ip\":\"1.2.3.4\",\"x\":");
	for (i = 0; i < levels; i++)
		line[o++] = '[';
	for (i = 0; i < levels; i++)
		line[o++] = ']';
	line[o++] = '}';
	line[o] = '\0';
}

static void test_ndjson_depth(void **state)
{
	char line[4096];

	(void)state;
	/* the event object plus 31 levels: 32 in all */
	nest(line, sizeof(line), TL_JSON_DEPTH_MAX - 1);
	nd_ok(line);
	nest(line, sizeof(line), TL_JSON_DEPTH_MAX);
	nd_bad(line, TL_ELIMIT, NULL);
	nest(line, sizeof(line), 1000);
	nd_bad(line, TL_ELIMIT, NULL);
}

static void test_ndjson_garbage(void **state)
{
	static const char *const bad[] = {
		"{\"time\":1,\"ip\":\"1.2.3.4\"}x",
		"{\"time\":1,\"ip\":\"1.2.3.4\"}{}",
		"{\"time\":1,\"ip\":\"1.2.3.4\"},",
		"{\"time\":1,\"ip\":\"1.2.3.4\",}",
		"{\"time\":1,,\"ip\":\"1.2.3.4\"}",
		"{\"time\":1 \"ip\":\"1.2.3.4\"}",
		"{\"time\" 1,\"ip\":\"1.2.3.4\"}",
		"{time:1,\"ip\":\"1.2.3.4\"}",
		"{\"time\":1,\"ip\":\"1.2.3.4\"",
		"[{\"time\":1,\"ip\":\"1.2.3.4\"}]",
		"\"time\"", "null", "1", "{", "}", "{,}", "x",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		nd_bad(bad[i], TL_ESYNTAX, NULL);
	/* a NUL is not whitespace */
	assert_int_equal(ingest_ndjson_parse("{\"time\":1,\"ip\":\"1.2.3.4\"}\0",
					     26, &ev, &err),
			 INGEST_BAD);
	/* no NUL needed: the length bounds the line */
	assert_int_equal(ingest_ndjson_parse("{\"time\":1,\"ip\":\"1.2.3.4\"}junk",
					     25, &ev, &err),
			 INGEST_EVENT);
}

static void test_ndjson_blank(void **state)
{
	(void)state;
	assert_int_equal(nd(""), INGEST_SKIP);
	assert_int_equal(nd("\n"), INGEST_SKIP);
	assert_int_equal(nd("  \t\r\n"), INGEST_SKIP);
	assert_int_equal(err.code, 0);
}

/* Every prefix of a good line is refused, never read past. */
static void test_ndjson_truncated(void **state)
{
	static const char line[] =
		"{\"time\":\"2004-03-01T12:00:00Z\",\"ip\":\"2001:db8::1\","
		"\"kind\":\"dictionary\",\"count\":12,\"sensor\":\"s\\u00e9\","
		"\"tags\":[\"a\",\"b\"],\"helo\":\"\\ud83d\\ude00\",\"x\":[{}],"
		"\"rcpts\":1,\"size\":2}";
	size_t n = strlen(line), i;
	char *copy;

	(void)state;
	for (i = 1; i < n; i++) {
		copy = malloc(i);
		assert_non_null(copy);
		memcpy(copy, line, i);
		assert_int_equal(ingest_ndjson_parse(copy, i, &ev, &err),
				 INGEST_BAD);
		assert_true(err.code < 0);
		free(copy);
	}
	nd_ok(line);
	assert_int_equal(ev.kind, TL_KIND_DICTIONARY);
}

static void csv_ok(const char *s)
{
	if (csv(s) != INGEST_EVENT)
		fail_msg("refused (%s, field %s): %s", tl_strerror(err.code),
			 err.field ? err.field : "-", s);
}

static void csv_bad(const char *s, int code, const char *field)
{
	if (csv(s) != INGEST_BAD)
		fail_msg("not refused: %s", s);
	if (err.code != code)
		fail_msg("%s: got %s, want %s", s, tl_strerror(err.code),
			 tl_strerror(code));
	if (field && (!err.field || strcmp(err.field, field) != 0))
		fail_msg("%s: field %s, want %s", s,
			 err.field ? err.field : "(none)", field);
}

static void test_csv_fields(void **state)
{
	(void)state;
	csv_ok("2004-03-01T12:00:00Z,192.0.2.1,auth,5");
	assert_int_equal(ev.time, t2004);
	assert_int_equal(ev.ip.family, 4);
	assert_int_equal(ev.ip.a[3], 1);
	assert_int_equal(ev.kind, TL_KIND_AUTH);
	assert_int_equal(ev.count, 5);
	csv_ok("1078142400,2001:db8::1");
	assert_int_equal(ev.time, t2004);
	assert_int_equal(ev.ip.family, 6);
	assert_int_equal(ev.kind, TL_KIND_SPAM);
	assert_int_equal(ev.count, 1);
	csv_ok("1078142400,192.0.2.1,malware");
	assert_int_equal(ev.kind, TL_KIND_MALWARE);
	assert_int_equal(ev.count, 1);
	/* empty optional fields take their defaults */
	csv_ok("1078142400,192.0.2.1,,");
	assert_int_equal(ev.kind, TL_KIND_SPAM);
	assert_int_equal(ev.count, 1);
	csv_ok("1078142400,192.0.2.1,,9");
	assert_int_equal(ev.count, 9);
	/* spaces around fields */
	csv_ok(" 1078142400 ,\t192.0.2.1 , Dictionary , 3 ");
	assert_int_equal(ev.kind, TL_KIND_DICTIONARY);
	assert_int_equal(ev.count, 3);
	csv_ok("2004-03-01 12:00:00+01:00,::ffff:10.0.0.1,spam,1000000000");
	assert_int_equal(ev.time, t2004 - 3600);
	assert_int_equal(ev.ip.family, 4);
	assert_int_equal(ev.count, 1000000000);
}

static void test_csv_quoting_crlf(void **state)
{
	(void)state;
	csv_ok("\"2004-03-01T12:00:00Z\",\"192.0.2.1\",\"spam\",\"2\"\r\n");
	assert_int_equal(ev.time, t2004);
	assert_int_equal(ev.count, 2);
	csv_ok("1078142400,\"2001:db8::1\"\n");
	assert_int_equal(ev.ip.family, 6);
	csv_ok("1078142400,192.0.2.1\r\n");
	csv_ok("\"1078142400\",192.0.2.1,\"\",\"\"");
	assert_int_equal(ev.count, 1);
	/* a doubled quote is a quote: not a valid kind, but parsed as one */
	csv_bad("1078142400,192.0.2.1,\"sp\"\"am\"", TL_EKIND, "kind");
	csv_bad("1078142400,192.0.2.1,\"spam", TL_ESYNTAX, NULL);
	csv_bad("1078142400,192.0.2.1,sp\"am\"", TL_ESYNTAX, NULL);
	csv_bad("1078142400,\"192.0.2.1\"x,spam", TL_ESYNTAX, NULL);
	/* a comma inside quotes is not a separator */
	csv_bad("1078142400,\"192.0.2.1,spam\"", TL_EIP, "ip");
}

static void test_csv_header_blank(void **state)
{
	(void)state;
	assert_int_equal(csv("time,ip,kind,count"), INGEST_SKIP);
	assert_int_equal(csv("time,ip,kind,count\r\n"), INGEST_SKIP);
	assert_int_equal(csv("time,ip"), INGEST_SKIP);
	assert_int_equal(csv("\"time\",\"ip\""), INGEST_SKIP);
	assert_int_equal(csv(""), INGEST_SKIP);
	assert_int_equal(csv("\n"), INGEST_SKIP);
	assert_int_equal(csv("\r\n"), INGEST_SKIP);
	assert_int_equal(csv("  \t "), INGEST_SKIP);
}

static void test_csv_bad(void **state)
{
	char line[1024];

	(void)state;
	csv_bad("1078142400,192.0.2.1,spam,1,extra", TL_ESYNTAX, NULL);
	csv_bad("1078142400,192.0.2.1,spam,1,", TL_ESYNTAX, NULL);
	csv_bad("1078142400", TL_EMISSING, "ip");
	csv_bad("1078142400,", TL_EIP, "ip");
	csv_bad("1078142400,192.0.2.256", TL_EIP, "ip");
	csv_bad("1078142400,fe80::1%eth0", TL_EZONEID, "ip");
	csv_bad("2004-03-01T12:00:00,192.0.2.1", TL_ETIME, "time");
	csv_bad("2200-01-01,192.0.2.1", TL_ETIME, "time");
	csv_bad(",192.0.2.1", TL_ETIME, "time");
	csv_bad("1078142400,192.0.2.1,ham", TL_EKIND, "kind");
	csv_bad("1078142400,192.0.2.1,spam,0", TL_ECOUNT, "count");
	csv_bad("1078142400,192.0.2.1,spam,-1", TL_ECOUNT, "count");
	csv_bad("1078142400,192.0.2.1,spam,1.5", TL_ECOUNT, "count");
	csv_bad("1078142400,192.0.2.1,spam,1000000001", TL_ECOUNT, "count");
	csv_bad("1078142400,192.0.2.1,spam,99999999999", TL_ECOUNT, "count");
	csv_bad("1078142400,192.0.2.1,spam,0x10", TL_ECOUNT, "count");
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	memcpy(line, "1078142400,192.0.2.1,spam,", 26);
	csv_bad(line, TL_ETOOLONG, NULL);
	/* no NUL needed, and a NUL is no terminator */
	assert_int_equal(ingest_csv_parse("1078142400,1.2.3.4,spamX", 23, &ev,
					  &err),
			 INGEST_EVENT);
	assert_int_equal(ingest_csv_parse("1078142400,1.2.3.4\0", 19, &ev, &err),
			 INGEST_BAD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ndjson_all_fields),
		cmocka_unit_test(test_ndjson_defaults_and_null),
		cmocka_unit_test(test_ndjson_unknown_skipped),
		cmocka_unit_test(test_ndjson_duplicates),
		cmocka_unit_test(test_ndjson_duplicate_null),
		cmocka_unit_test(test_ndjson_wrong_types),
		cmocka_unit_test(test_ndjson_missing),
		cmocka_unit_test(test_ndjson_bad_values),
		cmocka_unit_test(test_ndjson_number_overflow),
		cmocka_unit_test(test_ndjson_strings),
		cmocka_unit_test(test_ndjson_invalid_utf8),
		cmocka_unit_test(test_ndjson_depth),
		cmocka_unit_test(test_ndjson_garbage),
		cmocka_unit_test(test_ndjson_blank),
		cmocka_unit_test(test_ndjson_truncated),
		cmocka_unit_test(test_csv_fields),
		cmocka_unit_test(test_csv_quoting_crlf),
		cmocka_unit_test(test_csv_header_blank),
		cmocka_unit_test(test_csv_bad),
	};

	return cmocka_run_group_tests_name("parse", tests, NULL, NULL);
}
