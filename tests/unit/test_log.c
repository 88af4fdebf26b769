/* SPDX-License-Identifier: MIT */
/* test_log.c -- escaping of peer bytes for log lines, error messages */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "trapline/err.h"
#include "trapline/log.h"

static void test_escape(void **state)
{
	char buf[32];

	(void)state;
	assert_string_equal(tl_log_escape(buf, sizeof(buf), "ok", 2), "ok");
	assert_string_equal(tl_log_escape(buf, sizeof(buf), "a\nb\x01\\", 5),
			    "a\\x0ab\\x01\\x5c");
	assert_string_equal(tl_log_escape(buf, sizeof(buf), "\xff", 1), "\\xff");
	/* Embedded NUL is shown, not a terminator. */
	assert_string_equal(tl_log_escape(buf, sizeof(buf), "a\0b", 3),
			    "a\\x00b");
}

static void test_escape_truncates(void **state)
{
	char buf[16], big[100];

	(void)state;
	memset(big, 'x', sizeof(big));
	tl_log_escape(buf, sizeof(buf), big, sizeof(big));
	assert_true(strlen(buf) < sizeof(buf));
	assert_non_null(strstr(buf, "..."));
	memset(big, '\n', sizeof(big));
	tl_log_escape(buf, sizeof(buf), big, sizeof(big));
	assert_true(strlen(buf) < sizeof(buf));
	assert_int_equal(tl_log_escape(buf, 1, "abc", 3)[0], '\0');
}

static void test_strerror(void **state)
{
	(void)state;
	assert_string_equal(tl_strerror(0), "success");
	assert_string_equal(tl_strerror(TL_EZONEID),
			    "IPv6 zone ids are not allowed");
	assert_string_equal(tl_strerror(-ENOENT), strerror(ENOENT));
	assert_string_equal(tl_strerror(-5000), "unknown error");
	assert_string_equal(tl_strerror(42), "unknown error");
}

static void test_levels(void **state)
{
	(void)state;
	tl_log_set_level(TL_LOG_ERROR);
	assert_int_equal(tl_log_get_level(), TL_LOG_ERROR);
	log_info("test", "not shown %d", 1);
	tl_log_set_level(TL_LOG_INFO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_escape_truncates),
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_levels),
	};

	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
