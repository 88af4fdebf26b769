/* SPDX-License-Identifier: MIT */
/* test_dict.c -- dictionary-attack counting: threshold, window, bounds */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "tl_limits.h"
#include "mail/mail.h"

static struct tl_ip ip4(uint32_t v)
{
	struct tl_ip ip;

	tl_ip_from_v4(&ip, v);
	return ip;
}

static uint32_t note(struct mail_dict *d, uint32_t ip, const char *r,
		     int64_t t)
{
	struct tl_ip a = ip4(ip);

	return mail_dict_note(d, &a, r, strlen(r), t);
}

static void test_threshold_then_one_each(void **state)
{
	struct mail_dict *d;

	(void)state;
	assert_int_equal(mail_dict_new(3, 3600, &d), 0);
	assert_int_equal(note(d, 1, "a@x", 100), 0);
	assert_int_equal(note(d, 1, "b@x", 101), 0);
	assert_int_equal(note(d, 1, "A@X", 102), 0); /* same as a@x */
	assert_int_equal(note(d, 2, "c@x", 102), 0); /* another client */
	assert_int_equal(note(d, 1, "c@x", 103), 3); /* the third distinct */
	assert_int_equal(note(d, 1, "d@x", 104), 1);
	assert_int_equal(note(d, 1, "d@x", 105), 0); /* repeat */
	assert_int_equal(note(d, 1, "e@x", 106), 1);
	mail_dict_free(d);
}

static void test_window_lapses(void **state)
{
	struct mail_dict *d;

	(void)state;
	assert_int_equal(mail_dict_new(3, 60, &d), 0);
	assert_int_equal(note(d, 1, "a@x", 0), 0);
	assert_int_equal(note(d, 1, "b@x", 30), 0);
	/* 61 s after the first: a new window, counting from one. */
	assert_int_equal(note(d, 1, "c@x", 61), 0);
	assert_int_equal(note(d, 1, "a@x", 62), 0);
	assert_int_equal(note(d, 1, "b@x", 63), 3);
	mail_dict_free(d);
}

static void test_past_the_remembered_recipients(void **state)
{
	struct mail_dict *d;
	char r[32];
	uint32_t sum = 0;
	int i;

	(void)state;
	assert_int_equal(mail_dict_new(5, 3600, &d), 0);
	for (i = 0; i < TL_DICT_RCPTS_MAX + 10; i++) {
		snprintf(r, sizeof(r), "user%d@x", i);
		sum += note(d, 7, r, 10);
	}
	/* Every distinct recipient is counted exactly once overall. */
	assert_int_equal(sum, TL_DICT_RCPTS_MAX + 10);
	mail_dict_free(d);
}

static void test_table_is_bounded(void **state)
{
	struct mail_dict *d;
	uint32_t i;

	(void)state;
	assert_int_equal(mail_dict_new(2, 3600, &d), 0);
	for (i = 0; i < 4 * TL_DICT_CLIENTS_MAX; i++)
		note(d, 0x0a000000 + i, "a@x", 1000 + i / 1000);
	assert_true(mail_dict_clients(d) <= TL_DICT_CLIENTS_MAX);
	/* The newest clients are still followed. */
	assert_int_equal(note(d, 0x0a000000 + 4 * TL_DICT_CLIENTS_MAX - 1,
			      "b@x", 2000), 2);
	mail_dict_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threshold_then_one_each),
		cmocka_unit_test(test_window_lapses),
		cmocka_unit_test(test_past_the_remembered_recipients),
		cmocka_unit_test(test_table_is_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
