/* SPDX-License-Identifier: MIT */
/* ev_epoll.c -- the event loop on epoll(7), timers in a binary heap
 *
 * Connections add and cancel timers all the time (idle timeouts, tarpit
 * delays), so cancelling must not scan the heap: each live timer's heap
 * slot is kept in an open-addressed hash of id -> slot, and a cancelled
 * timer leaves the heap at once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "ev.h"
#include "trapline/alloc.h"
#include "trapline/err.h"

#define EV_BATCH 256 /* epoll events taken per wait (count) */

struct file {
	ev_file_fn fn;
	void *arg;
	unsigned mask;
	bool watched;
};

struct timer {
	uint64_t when; /* ev_now_ms() deadline */
	uint64_t id;
	ev_timer_fn fn;
	void *arg;
};

struct ev_loop {
	int epfd, wakefd;
	bool stop;
	struct file *files;   /* by fd */
	int nfiles;           /* slots in files */
	struct timer *heap;   /* min-heap on when */
	size_t nheap, capheap;
	/* Open-addressed id -> heap slot + 1 (0 empty, tombstones by id 0). */
	uint64_t *ids;
	size_t *slots;
	size_t capids, usedids;
	uint64_t next_id;
	ev_wake_fn wake_fn;
	void *wake_arg;
};

uint64_t ev_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int ev_loop_new(struct ev_loop **out)
{
	struct ev_loop *l = tl_calloc(1, sizeof(*l));

	if (!l)
		return TL_ENOMEM;
	l->wakefd = -1;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		int rc = -errno;

		tl_free(l);
		return rc;
	}
	l->next_id = 1;
	*out = l;
	return 0;
}

void ev_loop_free(struct ev_loop *l)
{
	if (!l)
		return;
	close(l->epfd);
	if (l->wakefd >= 0)
		close(l->wakefd);
	tl_free(l->files);
	tl_free(l->heap);
	tl_free(l->ids);
	tl_free(l->slots);
	tl_free(l);
}

static int grow_files(struct ev_loop *l, int fd)
{
	int n = l->nfiles ? l->nfiles : 64;
	struct file *f;

	while (n <= fd)
		n *= 2;
	f = tl_reallocarray(l->files, (size_t)n, sizeof(*f));
	if (!f)
		return TL_ENOMEM;
	memset(f + l->nfiles, 0, (size_t)(n - l->nfiles) * sizeof(*f));
	l->files = f;
	l->nfiles = n;
	return 0;
}

int ev_file_set(struct ev_loop *l, int fd, unsigned mask, ev_file_fn fn,
		void *arg)
{
	struct epoll_event ee = {0};
	struct file *f;
	int rc;

	if (fd < 0)
		return TL_EINVAL;
	if (fd >= l->nfiles && (rc = grow_files(l, fd)) < 0)
		return rc;
	f = &l->files[fd];
	if (f->watched && f->mask == mask) {
		/* Nothing changes for the kernel: no system call. */
		f->fn = fn;
		f->arg = arg;
		return 0;
	}
	ee.events = (mask & EV_READ ? EPOLLIN : 0) |
		    (mask & EV_WRITE ? EPOLLOUT : 0);
	ee.data.fd = fd;
	if (epoll_ctl(l->epfd, f->watched ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd,
		      &ee) < 0)
		return -errno;
	f->watched = true;
	f->mask = mask;
	f->fn = fn;
	f->arg = arg;
	return 0;
}

void ev_file_del(struct ev_loop *l, int fd)
{
	if (fd < 0 || fd >= l->nfiles || !l->files[fd].watched)
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	memset(&l->files[fd], 0, sizeof(l->files[fd]));
}

/* ---- id -> heap slot ---------------------------------------------------- */

static size_t id_hash(uint64_t id, size_t cap)
{
	return (size_t)((id * 0x9E3779B97F4A7C15ULL) >> 17) & (cap - 1);
}

/* Where @id is, or where it would go. */
static size_t id_find(const struct ev_loop *l, uint64_t id)
{
	size_t i = id_hash(id, l->capids);

	while (l->ids[i] && l->ids[i] != id)
		i = (i + 1) & (l->capids - 1);
	return i;
}

static int id_grow(struct ev_loop *l)
{
	size_t cap = l->capids ? l->capids * 2 : 256, i, j;
	uint64_t *ids = tl_calloc(cap, sizeof(*ids));
	size_t *slots = tl_calloc(cap, sizeof(*slots));
	uint64_t *old_ids = l->ids;
	size_t *old_slots = l->slots, old_cap = l->capids;

	if (!ids || !slots) {
		tl_free(ids);
		tl_free(slots);
		return TL_ENOMEM;
	}
	l->ids = ids;
	l->slots = slots;
	l->capids = cap;
	l->usedids = 0;
	for (i = 0; i < old_cap; i++) {
		if (!old_ids[i])
			continue;
		j = id_find(l, old_ids[i]);
		ids[j] = old_ids[i];
		slots[j] = old_slots[i];
		l->usedids++;
	}
	tl_free(old_ids);
	tl_free(old_slots);
	return 0;
}

/* Remove @id: backward-shift deletion keeps probe chains whole. */
static void id_remove(struct ev_loop *l, uint64_t id)
{
	size_t i = id_find(l, id), j, k;

	if (!l->ids[i])
		return;
	l->ids[i] = 0;
	l->usedids--;
	j = i;
	for (;;) {
		j = (j + 1) & (l->capids - 1);
		if (!l->ids[j])
			return;
		k = id_hash(l->ids[j], l->capids);
		/* Move j back to i unless its home k lies cyclically in
		 * (i, j]. */
		if ((j > i && (k <= i || k > j)) ||
		    (j < i && (k <= i && k > j))) {
			l->ids[i] = l->ids[j];
			l->slots[i] = l->slots[j];
			l->ids[j] = 0;
			i = j;
		}
	}
}

static void heap_place(struct ev_loop *l, size_t i)
{
	l->slots[id_find(l, l->heap[i].id)] = i;
}

static void heap_swap(struct ev_loop *l, size_t a, size_t b)
{
	struct timer t = l->heap[a];

	l->heap[a] = l->heap[b];
	l->heap[b] = t;
	heap_place(l, a);
	heap_place(l, b);
}

static void heap_up(struct ev_loop *l, size_t i)
{
	while (i > 0 && l->heap[(i - 1) / 2].when > l->heap[i].when) {
		heap_swap(l, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void heap_down(struct ev_loop *l, size_t i)
{
	for (;;) {
		size_t a = 2 * i + 1, b = a + 1, m = i;

		if (a < l->nheap && l->heap[a].when < l->heap[m].when)
			m = a;
		if (b < l->nheap && l->heap[b].when < l->heap[m].when)
			m = b;
		if (m == i)
			return;
		heap_swap(l, i, m);
		i = m;
	}
}

/* Take the timer at heap slot @i out. */
static void heap_remove(struct ev_loop *l, size_t i)
{
	id_remove(l, l->heap[i].id);
	l->nheap--;
	if (i == l->nheap)
		return;
	l->heap[i] = l->heap[l->nheap];
	heap_place(l, i);
	heap_down(l, i);
	heap_up(l, i);
}

uint64_t ev_timer_add(struct ev_loop *l, uint64_t ms, ev_timer_fn fn,
		      void *arg)
{
	struct timer *t;
	uint64_t id;
	size_t i;

	if (l->nheap == l->capheap) {
		size_t cap = l->capheap ? l->capheap * 2 : 64;

		t = tl_reallocarray(l->heap, cap, sizeof(*t));
		if (!t)
			return 0;
		l->heap = t;
		l->capheap = cap;
	}
	if ((l->usedids + 1) * 2 > l->capids && id_grow(l) < 0)
		return 0;
	t = &l->heap[l->nheap];
	t->when = ev_now_ms() + ms;
	t->id = id = l->next_id++;
	t->fn = fn;
	t->arg = arg;
	i = id_find(l, t->id);
	l->ids[i] = t->id;
	l->slots[i] = l->nheap;
	l->usedids++;
	l->nheap++;
	heap_up(l, l->nheap - 1); /* moves *t: return the saved id */
	return id;
}

void ev_timer_del(struct ev_loop *l, uint64_t id)
{
	size_t i;

	if (!id || !l->capids)
		return;
	i = id_find(l, id);
	if (!l->ids[i])
		return;
	heap_remove(l, l->slots[i]);
}

static void on_wake(struct ev_loop *l, int fd, unsigned mask, void *arg)
{
	uint64_t v;

	(void)mask;
	(void)arg;
	while (read(fd, &v, sizeof(v)) > 0)
		;
	if (l->wake_fn)
		l->wake_fn(l, l->wake_arg);
}

int ev_wake_set(struct ev_loop *l, ev_wake_fn fn, void *arg)
{
	int rc;

	if (l->wakefd < 0) {
		l->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (l->wakefd < 0)
			return -errno;
		rc = ev_file_set(l, l->wakefd, EV_READ, on_wake, NULL);
		if (rc < 0)
			return rc;
	}
	l->wake_fn = fn;
	l->wake_arg = arg;
	return 0;
}

void ev_wake(struct ev_loop *l)
{
	uint64_t one = 1;
	ssize_t n;

	n = write(l->wakefd, &one, sizeof(one));
	(void)n; /* EAGAIN: the counter is already non-zero: awake anyway */
}

void ev_stop(struct ev_loop *l)
{
	l->stop = true;
}

/* Fire every timer that is due. */
static void run_timers(struct ev_loop *l)
{
	uint64_t now = ev_now_ms();

	while (l->nheap && l->heap[0].when <= now && !l->stop) {
		struct timer t = l->heap[0];

		heap_remove(l, 0);
		t.fn(l, t.id, t.arg);
	}
}

int ev_run(struct ev_loop *l)
{
	struct epoll_event evs[EV_BATCH];
	int n, i, timeout;

	l->stop = false;
	while (!l->stop) {
		timeout = -1;
		if (l->nheap) {
			uint64_t now = ev_now_ms(), when = l->heap[0].when;

			timeout = when <= now ? 0
			       : when - now > 60000 ? 60000
						    : (int)(when - now);
		}
		n = epoll_wait(l->epfd, evs, EV_BATCH, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (i = 0; i < n && !l->stop; i++) {
			int fd = evs[i].data.fd;
			unsigned mask = 0;
			struct file *f;

			if (fd < 0 || fd >= l->nfiles || !l->files[fd].watched)
				continue; /* removed by an earlier callback */
			f = &l->files[fd];
			if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
				mask |= EV_READ;
			if (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
				mask |= EV_WRITE;
			mask &= f->mask;
			if (mask)
				f->fn(l, fd, mask, f->arg);
		}
		run_timers(l);
	}
	return 0;
}
