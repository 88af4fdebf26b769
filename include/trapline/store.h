/* SPDX-License-Identifier: MIT */
/* store.h -- the journal and the LMDB history behind one handle */
#ifndef TRAPLINE_STORE_H
#define TRAPLINE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trapline/event.h"
#include "trapline/history.h"
#include "trapline/ip.h"

struct tl_store;

enum tl_store_mode {
	TL_STORE_READ,  /* queries; many readers, alongside one writer */
	TL_STORE_WRITE, /* one writer at a time (lock file); creates */
};

struct tl_store_opts {
	uint64_t map_size; /* LMDB map size in bytes; 0 = default */
	bool wait_lock;    /* writer: wait for another writer to finish */
};

/*
 * Open the store in directory @dir. A writer takes the store's lock,
 * creates what is missing, and first applies any journal frames a crash
 * left unapplied, so the history is whole before it returns. A reader
 * needs an existing store (TL_ENOSTORE otherwise). Not thread safe: one
 * handle per thread for writing; readers may share a handle across
 * threads (LMDB MDB_NOTLS).
 */
int tl_store_open(const char *dir, enum tl_store_mode mode,
		  const struct tl_store_opts *opts, struct tl_store **out);
/* Close. Events appended but not committed are dropped: commit first. */
void tl_store_close(struct tl_store *s);

/*
 * Writer: add an event to the current group. It is written to the journal
 * as frames fill, but durable only after tl_store_commit returns 0.
 */
int tl_store_append(struct tl_store *s, const struct tl_event *ev);
/* Events appended since the last commit. */
uint64_t tl_store_pending(const struct tl_store *s);
/* Writer: events durable (or not) but not yet handed to the applier:
 * tl_store_commit_async leaves a group waiting while the applier is busy
 * with the one before; the next commit hands it over. */
uint64_t tl_store_unapplied(const struct tl_store *s);

/*
 * Writer: make every appended event durable (fdatasync of the journal),
 * then apply them to the history in one LMDB transaction that also records
 * how far the journal is applied, so each is applied exactly once.
 */
int tl_store_commit(struct tl_store *s);

/*
 * Writer: the same, but the apply runs on a background thread while the
 * caller goes on appending; returns once the group is durable (after
 * waiting for the previous group's apply). tl_store_wait waits for the
 * apply and returns its error, if any. Appends stay single-threaded.
 */
int tl_store_commit_async(struct tl_store *s);
int tl_store_wait(struct tl_store *s);

/* Reader or writer: one IP's history. TL_ENOENT when never seen.
 * The caller frees @h with tl_history_free. */
int tl_store_get(struct tl_store *s, const struct tl_ip *ip,
		 struct tl_history *h);

/*
 * `trapline check --record`: the last check of each address (database
 * "checks", keyed by the address bytes). Writer: store @n results in one
 * transaction, each replacing the one before. Reader or writer: one
 * address's, TL_ENOENT when never recorded (or a store from before the
 * database existed).
 */
int tl_store_put_checks(struct tl_store *s, const struct tl_ip *ips,
			const struct tl_check_record *recs, size_t n);
int tl_store_get_check(struct tl_store *s, const struct tl_ip *ip,
		       struct tl_check_record *out);

/* A tag id's name, or NULL. Valid until the store is closed. On a writer
 * handle, call it only while no commit is being applied (after
 * tl_store_commit or tl_store_wait): the applier thread may add tags. */
const char *tl_store_tag_name(const struct tl_store *s, uint16_t id);

/* Totals kept by the store. */
struct tl_store_info {
	uint64_t ips_v4, ips_v6; /* records */
	uint64_t events;         /* events applied, all time */
	tl_day latest;           /* the latest active day in the history */
	uint64_t map_used;       /* bytes of the map in use (file high-water) */
	uint64_t map_free;       /* of those, bytes on LMDB's free list */
};
int tl_store_info(struct tl_store *s, struct tl_store_info *info);

/*
 * Writer: rewrite the history without its free pages (LMDB copies every
 * page a transaction writes, so after bulk loads the file can be a few
 * times its live data). The compact copy is made durable, then renamed
 * over the old file, so a crash leaves one or the other whole. Refused
 * with TL_EAGAIN while another process has the history open to read.
 */
int tl_store_compact(struct tl_store *s);

/*
 * Decode every record in full and check it, the histories and the
 * `check --record` results, calling @bad for each one that fails (with
 * its address, which kind of record, "history" or "check", and the
 * error; a key that is no address gives the address 0.0.0.0). Returns
 * the number of records read, or an error of the store.
 */
int64_t tl_store_verify(struct tl_store *s,
			void (*bad)(const struct tl_ip *ip, const char *what,
				    int err, void *ctx),
			void *ctx, uint64_t *nbad);

/*
 * Ordered iteration over one family's records, from @from (inclusive)
 * onwards. Each record's bytes stay valid until the next call. The
 * iterator holds an LMDB read transaction: close it soon.
 */
struct tl_store_iter;
int tl_store_iter_open(struct tl_store *s, uint8_t family,
		       struct tl_store_iter **out);
/* Move to the first record at or after @ip. Returns 1 found, 0 at end. */
int tl_store_iter_seek(struct tl_store_iter *it, const struct tl_ip *ip);
/* Move to the next record. Returns 1, 0 at end, or an error. */
int tl_store_iter_next(struct tl_store_iter *it);
/* The current record. */
void tl_store_iter_get(const struct tl_store_iter *it, struct tl_ip *ip,
		       const uint8_t **val, size_t *len);
void tl_store_iter_close(struct tl_store_iter *it);

#endif
