/* SPDX-License-Identifier: MIT */
/* test_arena.c -- the allocation wrapper, failure injection and arenas */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "trapline/alloc.h"

static int teardown(void **state)
{
	(void)state;
	tl_alloc_fail_after(0);
	return 0;
}

/* Allocations are 16-byte aligned and do not overlap. */
static void test_alignment(void **state)
{
	struct tl_arena a;
	unsigned char *p[200];
	size_t i, j;

	(void)state;
	tl_arena_init(&a, 1024);
	for (i = 0; i < 200; i++) {
		size_t size = 1 + i % 37;

		p[i] = tl_arena_alloc(&a, size);
		assert_non_null(p[i]);
		assert_int_equal((uintptr_t)p[i] % 16, 0);
		memset(p[i], (int)i, size);
	}
	for (i = 0; i < 200; i++)
		for (j = 0; j < 1 + i % 37; j++)
			assert_int_equal(p[i][j], (unsigned char)i);
	tl_arena_free(&a);
	assert_null(a.head);
}

/* After a reset the first chunk is used again, from its start. */
static void test_reset_reuse(void **state)
{
	struct tl_arena a;
	void *first, *again;
	unsigned round, i;

	(void)state;
	tl_arena_init(&a, 4096);
	first = tl_arena_alloc(&a, 100);
	assert_non_null(first);
	for (round = 0; round < 10; round++) {
		for (i = 0; i < 100; i++)
			assert_non_null(tl_arena_alloc(&a, 200));
		tl_arena_reset(&a);
		assert_non_null(a.head);
		again = tl_arena_alloc(&a, 100);
		assert_ptr_equal(again, first);
	}
	tl_arena_free(&a);
	/* reset of an empty arena is harmless; so is a second free */
	tl_arena_init(&a, 0);
	tl_arena_reset(&a);
	assert_null(a.head);
	assert_non_null(tl_arena_alloc(&a, 1));
	tl_arena_free(&a);
	tl_arena_free(&a);
}

static void test_big_allocations(void **state)
{
	struct tl_arena a;
	unsigned char *big, *small;

	(void)state;
	tl_arena_init(&a, 256);
	small = tl_arena_alloc(&a, 10);
	assert_non_null(small);
	memset(small, 1, 10);
	big = tl_arena_alloc(&a, 1u << 20);
	assert_non_null(big);
	assert_int_equal((uintptr_t)big % 16, 0);
	memset(big, 2, 1u << 20);
	small = tl_arena_alloc(&a, 300);
	assert_non_null(small);
	memset(small, 3, 300);
	assert_int_equal(big[0], 2);
	assert_int_equal(big[(1u << 20) - 1], 2);
	/* sizes that overflow when rounded up */
	assert_null(tl_arena_alloc(&a, SIZE_MAX));
	assert_null(tl_arena_alloc(&a, SIZE_MAX - 8));
	tl_arena_reset(&a);
	assert_non_null(tl_arena_alloc(&a, 100));
	tl_arena_free(&a);
}

static void test_fail_after(void **state)
{
	void *p, *q;

	(void)state;
	tl_alloc_fail_after(1);
	assert_null(tl_calloc(1, 16));
	p = tl_calloc(1, 16);
	assert_non_null(p);
	tl_free(p);

	tl_alloc_fail_after(3);
	p = tl_calloc(1, 8);
	assert_non_null(p);
	p = tl_reallocarray(p, 2, 8);
	assert_non_null(p);
	assert_null(tl_reallocarray(p, 4, 8)); /* the third: p still valid */
	q = tl_reallocarray(p, 4, 8);
	assert_non_null(q);
	tl_free(q);

	tl_alloc_fail_after(0);
	for (int i = 0; i < 100; i++) {
		p = tl_calloc(1, 1);
		assert_non_null(p);
		tl_free(p);
	}
	/* zero sizes still give a pointer to free */
	p = tl_calloc(0, 0);
	assert_non_null(p);
	tl_free(p);
	tl_free(NULL);
}

static void test_arena_fail(void **state)
{
	struct tl_arena a;
	void *p;

	(void)state;
	tl_arena_init(&a, 1024);
	tl_alloc_fail_after(1);
	assert_null(tl_arena_alloc(&a, 10));
	assert_null(a.head);
	p = tl_arena_alloc(&a, 10);
	assert_non_null(p);
	/* this fills the chunk; the next needs a new one, which fails */
	assert_non_null(tl_arena_alloc(&a, 1000));
	tl_alloc_fail_after(1);
	assert_null(tl_arena_alloc(&a, 1000));
	/* what was there is intact and the arena still works */
	assert_non_null(tl_arena_alloc(&a, 1000));
	tl_arena_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_alignment, teardown),
		cmocka_unit_test_teardown(test_reset_reuse, teardown),
		cmocka_unit_test_teardown(test_big_allocations, teardown),
		cmocka_unit_test_teardown(test_fail_after, teardown),
		cmocka_unit_test_teardown(test_arena_fail, teardown),
	};

	return cmocka_run_group_tests_name("arena", tests, NULL, NULL);
}
