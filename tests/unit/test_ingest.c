/* SPDX-License-Identifier: MIT */
/* test_ingest.c -- the importer driver: lines, limits, strict, commits */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ingest/ingest.h"
#include "tl_limits.h"
#include "trapline/err.h"

struct fix {
	char dir[64];
	struct tl_store *s;
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct tl_store_opts o = {1ull << 30, false};

	strcpy(f->dir, "/tmp/test_ingest_XXXXXX");
	if (!mkdtemp(f->dir) ||
	    tl_store_open(f->dir, TL_STORE_WRITE, &o, &f->s) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	char cmd[128];

	tl_store_close(f->s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	free(f);
	return system(cmd) == 0 ? 0 : -1;
}

/* An fd reading @len bytes of @data (through a deleted temp file). */
static int input(const char *data, size_t len)
{
	char path[] = "/tmp/test_ingest_in_XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static uint64_t spam_of(struct tl_store *s, const char *text)
{
	struct tl_history h;
	struct tl_ip ip;
	uint64_t n;

	assert_int_equal(tl_ip_parse(text, strlen(text), &ip), 0);
	if (tl_store_get(s, &ip, &h) == TL_ENOENT)
		return 0;
	n = h.count[TL_KIND_SPAM];
	tl_history_free(&h);
	return n;
}

static int ingest(struct fix *f, const char *data, size_t len, bool strict,
		  const char *fmt, struct ingest_stats *st)
{
	struct ingest_opts o = {ingest_format_find(fmt), strict, NULL, 1000};
	int fd = input(data, len), rc;

	memset(st, 0, sizeof(*st));
	rc = ingest_stream(f->s, fd, "test", &o, st);
	close(fd);
	return rc;
}

static void test_lines_and_bad_records(void **state)
{
	struct fix *f = *state;
	struct ingest_stats st;
	static const char text[] =
		"{\"time\":1,\"ip\":\"192.0.2.1\"}\n"
		"\n"
		"nonsense\n"
		"{\"time\":2,\"ip\":\"192.0.2.1\",\"count\":4}\r\n"
		"{\"time\":3,\"ip\":\"192.0.2.1\"}"; /* no final newline */

	assert_int_equal(ingest(f, text, strlen(text), false, "ndjson", &st),
			 0);
	assert_int_equal(st.lines, 5);
	assert_int_equal(st.events, 3);
	assert_int_equal(st.bad, 1);
	assert_int_equal(st.durable, 3);
	assert_int_equal(spam_of(f->s, "192.0.2.1"), 6);
}

static void test_strict_stops(void **state)
{
	struct fix *f = *state;
	struct ingest_stats st;
	static const char text[] = "1,192.0.2.2\n1,192.0.2.2\nbad\n1,192.0.2.2\n";

	assert_int_equal(ingest(f, text, strlen(text), true, "csv", &st), 1);
	assert_int_equal(st.lines, 3);
	/* What came before the bad record is kept, and durable. */
	assert_int_equal(st.durable, 2);
	assert_int_equal(spam_of(f->s, "192.0.2.2"), 2);
}

static void test_overlong_line_skipped_whole(void **state)
{
	struct fix *f = *state;
	struct ingest_stats st;
	size_t big = 3 * TL_LINE_MAX, n = 0;
	char *text = malloc(big + 200);

	n += (size_t)sprintf(text, "1,192.0.2.3\n");
	memset(text + n, 'x', big);
	n += big;
	/* The rest of the long line must not be read as a record. */
	n += (size_t)sprintf(text + n, ",192.0.2.4\n2,192.0.2.3\n");
	assert_int_equal(ingest(f, text, n, false, "csv", &st), 0);
	assert_int_equal(st.bad, 1);
	assert_int_equal(spam_of(f->s, "192.0.2.3"), 2);
	assert_int_equal(spam_of(f->s, "192.0.2.4"), 0);
	free(text);
}

static void test_many_lines_across_reads(void **state)
{
	struct fix *f = *state;
	struct ingest_stats st;
	size_t cap = 12u << 20, n = 0;
	char *text = malloc(cap);
	unsigned i = 0;

	/* More than one 4 MiB read, so lines straddle read boundaries. */
	while (n + 64 < cap) {
		n += (size_t)sprintf(text + n, "%u,192.0.2.%u\n", 1000 + i,
				     i % 7 + 10);
		i++;
	}
	assert_int_equal(ingest(f, text, n, false, "csv", &st), 0);
	assert_int_equal(st.events, i);
	assert_int_equal(st.bad, 0);
	assert_int_equal(spam_of(f->s, "192.0.2.10") +
				 spam_of(f->s, "192.0.2.11") +
				 spam_of(f->s, "192.0.2.12") +
				 spam_of(f->s, "192.0.2.13") +
				 spam_of(f->s, "192.0.2.14") +
				 spam_of(f->s, "192.0.2.15") +
				 spam_of(f->s, "192.0.2.16"),
			 i);
	free(text);
}

static void test_formats(void **state)
{
	(void)state;
	assert_non_null(ingest_format_find("ndjson"));
	assert_non_null(ingest_format_find("csv"));
	assert_null(ingest_format_find("xml"));
	assert_string_equal(ingest_format_guess("a/b.csv")->name, "csv");
	assert_string_equal(ingest_format_guess("-")->name, "ndjson");
	assert_string_equal(ingest_format_guess("x.ndjson")->name, "ndjson");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lines_and_bad_records,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_strict_stops, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_overlong_line_skipped_whole,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_lines_across_reads,
						setup, teardown),
		cmocka_unit_test(test_formats),
	};

	return cmocka_run_group_tests_name("ingest", tests, NULL, NULL);
}
