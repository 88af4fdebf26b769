/* SPDX-License-Identifier: MIT */
/* test_ev.c -- the event loop: timers in order, cancelling, files, wake */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ev.h"

static int fired[64];
static int nfired;

static void on_timer(struct ev_loop *l, uint64_t id, void *arg)
{
	(void)id;
	fired[nfired++] = (int)(intptr_t)arg;
	if ((intptr_t)arg == 99)
		ev_stop(l);
}

static void test_timers_fire_in_order_and_cancel(void **state)
{
	struct ev_loop *l;
	uint64_t ids[20];
	int i;

	(void)state;
	nfired = 0;
	assert_int_equal(ev_loop_new(&l), 0);
	/* 20 timers at 20..1 ms, every third cancelled, then a stopper. */
	for (i = 0; i < 20; i++)
		ids[i] = ev_timer_add(l, (uint64_t)(20 - i), on_timer,
				      (void *)(intptr_t)i);
	for (i = 0; i < 20; i += 3)
		ev_timer_del(l, ids[i]);
	ev_timer_del(l, ids[0]); /* twice: no-op */
	ev_timer_del(l, 0);
	ev_timer_add(l, 40, on_timer, (void *)(intptr_t)99);
	assert_int_equal(ev_run(l), 0);
	/* Fired: not cancelled ones, latest-added (shortest) first. */
	{
		int want[20], n = 0;

		for (i = 19; i >= 0; i--)
			if (i % 3)
				want[n++] = i;
		want[n++] = 99;
		assert_int_equal(nfired, n);
		for (i = 0; i < n; i++)
			assert_int_equal(fired[i], want[i]);
	}
	ev_loop_free(l);
}

static void test_many_timers_cancel_at_random(void **state)
{
	struct ev_loop *l;
	static uint64_t ids[5000];
	int i;

	(void)state;
	nfired = 0;
	assert_int_equal(ev_loop_new(&l), 0);
	for (i = 0; i < 5000; i++)
		ids[i] = ev_timer_add(l, 100000 + (uint64_t)(i * 7919 % 5000),
				      on_timer, NULL);
	srand(1);
	for (i = 0; i < 5000; i++) {
		int j = rand() % 5000;

		ev_timer_del(l, ids[j]);
		ids[j] = 0;
	}
	for (i = 0; i < 5000; i++)
		ev_timer_del(l, ids[i]);
	ev_timer_add(l, 1, on_timer, (void *)(intptr_t)99);
	assert_int_equal(ev_run(l), 0);
	assert_int_equal(nfired, 1); /* only the stopper: all cancelled */
	ev_loop_free(l);
}

static char got[16];

static void on_read(struct ev_loop *l, int fd, unsigned mask, void *arg)
{
	(void)arg;
	assert_true(mask & EV_READ);
	assert_int_equal(read(fd, got, sizeof(got)), 5);
	ev_file_del(l, fd);
	ev_stop(l);
}

static void test_file_event(void **state)
{
	struct ev_loop *l;
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(ev_loop_new(&l), 0);
	assert_int_equal(ev_file_set(l, p[0], EV_READ, on_read, NULL), 0);
	assert_int_equal(write(p[1], "hello", 5), 5);
	assert_int_equal(ev_run(l), 0);
	assert_memory_equal(got, "hello", 5);
	ev_loop_free(l);
	close(p[0]);
	close(p[1]);
}

static int woken;

static void on_wake(struct ev_loop *l, void *arg)
{
	(void)arg;
	woken++;
	ev_stop(l);
}

static void *waker(void *arg)
{
	usleep(10000);
	ev_wake(arg);
	return NULL;
}

static void test_wake_from_another_thread(void **state)
{
	struct ev_loop *l;
	pthread_t t;

	(void)state;
	assert_int_equal(ev_loop_new(&l), 0);
	assert_int_equal(ev_wake_set(l, on_wake, NULL), 0);
	assert_int_equal(pthread_create(&t, NULL, waker, l), 0);
	assert_int_equal(ev_run(l), 0);
	pthread_join(t, NULL);
	assert_int_equal(woken, 1);
	ev_loop_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timers_fire_in_order_and_cancel),
		cmocka_unit_test(test_many_timers_cancel_at_random),
		cmocka_unit_test(test_file_event),
		cmocka_unit_test(test_wake_from_another_thread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
