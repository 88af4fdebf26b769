/* SPDX-License-Identifier: MIT */
/* store_int.h -- the journal and event codec, private to src/store */
#ifndef TRAPLINE_STORE_INT_H
#define TRAPLINE_STORE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "trapline/event.h"
#include "varint.h"

/* A place in the journal: segment number and byte offset in it. */
struct jpos {
	uint64_t segno;
	uint64_t offset;
};

#define JOURNAL_SEG_HEADER 16 /* "TLJOURN1" + segment number (LE u64) */
#define JOURNAL_FRAME_HEADER 12 /* magic, payload length, crc32 */
/* Largest encoded event (bytes): fixed part + tags + three strings. */
#define JOURNAL_EVENT_MAX (64 + 8 * 34 + 3 * 256)

struct journal {
	int dirfd;       /* the journal directory */
	int fd;          /* the segment being appended, or -1 */
	uint64_t segno;  /* its number */
	uint64_t size;   /* its length in bytes (next frame's offset) */
	uint64_t synced; /* bytes of it known durable */
};

/*
 * Open the journal in @dir (created if missing) for appending after @tail,
 * the end of the last valid frame found by journal_replay. Starts a new
 * segment when the last one is full. Returns 0 or -errno.
 */
int journal_open(struct journal *j, const char *dir, struct jpos tail);
void journal_close(struct journal *j);

/* Append one frame (not yet durable). Sets *@end to the position after it. */
int journal_append(struct journal *j, const uint8_t *payload, size_t len,
		   struct jpos *end);
/* Make everything appended durable (fdatasync). */
int journal_sync(struct journal *j);
/* Delete segments numbered below @segno (already applied and synced). */
int journal_prune(struct journal *j, uint64_t segno);

/*
 * Read every frame after @from, in order, calling @fn with its payload and
 * the position after it; stop early if @fn returns non-zero (its value is
 * returned). A frame cut short or failing its checksum at the end of the
 * last segment is a write that never completed: the segment is truncated
 * there (and *@tail says where). Anywhere else it is TL_ECORRUPT.
 * Reads untrusted bytes: every length is checked against the file and
 * TL_JOURNAL_FRAME_MAX before use.
 */
typedef int (*journal_frame_fn)(const uint8_t *payload, size_t len,
				struct jpos end, void *ctx);
int journal_replay(const char *dir, struct jpos from, journal_frame_fn fn,
		   void *ctx, struct jpos *tail);

/* Encode one event for the journal; returns the bytes written (at most
 * JOURNAL_EVENT_MAX). */
size_t journal_event_encode(const struct tl_event *ev, uint8_t *buf);
/* Decode the next event from @r; on malformed input sets r->err. Strings
 * are bounded by their fields' sizes; tags are re-checked. */
void journal_event_decode(struct rd *r, struct tl_event *ev);

#endif
