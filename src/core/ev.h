/* SPDX-License-Identifier: MIT */
/* ev.h -- a small event loop: file events and timers (epoll backend)
 *
 * One loop per thread; nothing here is shared between threads except
 * ev_wake(), which any thread may call. Callbacks run on the loop's thread.
 */
#ifndef TRAPLINE_EV_H
#define TRAPLINE_EV_H

#include <stdbool.h>
#include <stdint.h>

#define EV_READ 1u
#define EV_WRITE 2u

struct ev_loop;

/* A file is ready for @mask (EV_READ, EV_WRITE; both on error/hang-up). */
typedef void (*ev_file_fn)(struct ev_loop *l, int fd, unsigned mask,
			   void *arg);
/* A timer fired. */
typedef void (*ev_timer_fn)(struct ev_loop *l, uint64_t id, void *arg);
/* Another thread called ev_wake(). */
typedef void (*ev_wake_fn)(struct ev_loop *l, void *arg);

int ev_loop_new(struct ev_loop **out);
void ev_loop_free(struct ev_loop *l);

/*
 * Watch @fd for @mask (0 = watched, no events). The same call changes
 * the mask of a watched fd. Returns 0 or a negative errno.
 */
int ev_file_set(struct ev_loop *l, int fd, unsigned mask, ev_file_fn fn,
		void *arg);
/* Stop watching @fd (before closing it). */
void ev_file_del(struct ev_loop *l, int fd);

/* Call @fn once, @ms milliseconds from now. Returns a timer id (never 0),
 * or 0 when out of memory. */
uint64_t ev_timer_add(struct ev_loop *l, uint64_t ms, ev_timer_fn fn,
		      void *arg);
/* Cancel a timer that has not fired (an id that fired or is 0: no-op). */
void ev_timer_del(struct ev_loop *l, uint64_t id);

/* Let other threads wake this loop: @fn runs on it after ev_wake(). */
int ev_wake_set(struct ev_loop *l, ev_wake_fn fn, void *arg);
/* Thread-safe, async-signal-safe. */
void ev_wake(struct ev_loop *l);

/* Monotonic milliseconds, as the loop's timers use. */
uint64_t ev_now_ms(void);

/* Run until ev_stop(). Returns 0, or a negative errno from epoll. */
int ev_run(struct ev_loop *l);
void ev_stop(struct ev_loop *l);

#endif
