/* SPDX-License-Identifier: MIT */
/* arena.c -- the allocation wrapper and per-request arenas */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "trapline/alloc.h"

static unsigned long fail_countdown;

void tl_alloc_fail_after(unsigned long nth)
{
	fail_countdown = nth;
}

static int injected_failure(void)
{
	if (fail_countdown == 0)
		return 0;
	return --fail_countdown == 0;
}

void *tl_calloc(size_t n, size_t size)
{
	if (injected_failure())
		return NULL;
	return calloc(n ? n : 1, size ? size : 1);
}

void *tl_reallocarray(void *p, size_t n, size_t size)
{
	if (injected_failure())
		return NULL;
	return reallocarray(p, n ? n : 1, size ? size : 1);
}

void tl_free(void *p)
{
	free(p);
}

struct tl_arena_chunk {
	struct tl_arena_chunk *next; /* older chunk */
	size_t size, used;           /* bytes in data, bytes handed out */
	_Alignas(16) unsigned char data[];
};

void tl_arena_init(struct tl_arena *a, size_t chunk_size)
{
	a->head = NULL;
	a->chunk_size = chunk_size ? chunk_size : 4096;
}

void *tl_arena_alloc(struct tl_arena *a, size_t size)
{
	struct tl_arena_chunk *c = a->head;
	size_t need = (size + 15) & ~(size_t)15, csize;

	if (need < size)
		return NULL;
	if (!c || c->size - c->used < need) {
		csize = need > a->chunk_size ? need : a->chunk_size;
		c = tl_calloc(1, sizeof(*c) + csize);
		if (!c)
			return NULL;
		c->size = csize;
		c->next = a->head;
		a->head = c;
	}
	c->used += need;
	return c->data + c->used - need;
}

void tl_arena_reset(struct tl_arena *a)
{
	struct tl_arena_chunk *c = a->head, *next;

	if (!c)
		return;
	/* Keep the oldest chunk: it is the steady-state size. */
	while (c->next) {
		next = c->next;
		tl_free(c);
		c = next;
	}
	c->used = 0;
	a->head = c;
}

void tl_arena_free(struct tl_arena *a)
{
	struct tl_arena_chunk *c = a->head, *next;

	while (c) {
		next = c->next;
		tl_free(c);
		c = next;
	}
	a->head = NULL;
}
