/* SPDX-License-Identifier: MIT */
/* alloc.h -- the one allocation wrapper (failure injection) and arenas */
#ifndef TRAPLINE_ALLOC_H
#define TRAPLINE_ALLOC_H

#include <stddef.h>

/* Like calloc/reallocarray/free. Thread safe. */
void *tl_calloc(size_t n, size_t size);
void *tl_reallocarray(void *p, size_t n, size_t size);
void tl_free(void *p);

/*
 * Tests: make the @nth allocation from now fail (1 = the next), 0 = never.
 * Not thread safe: set it only in single-threaded tests.
 */
void tl_alloc_fail_after(unsigned long nth);

/*
 * A bump allocator for one request's worth of memory: allocations are
 * freed together by tl_arena_reset or tl_arena_free. Not thread safe.
 */
struct tl_arena_chunk;
struct tl_arena {
	struct tl_arena_chunk *head; /* newest chunk, owns the rest */
	size_t chunk_size;           /* bytes per new chunk */
};

void tl_arena_init(struct tl_arena *a, size_t chunk_size);
/* 16-byte aligned memory, or NULL when out of memory. */
void *tl_arena_alloc(struct tl_arena *a, size_t size);
/* Free all but the first chunk; keep it for reuse. */
void tl_arena_reset(struct tl_arena *a);
void tl_arena_free(struct tl_arena *a);

#endif
