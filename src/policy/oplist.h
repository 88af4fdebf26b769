/* SPDX-License-Identifier: MIT */
/* oplist.h -- operator listings and the allowlist (`trapline list`)
 *
 * The operator's own entries: prefixes listed by hand (code 127.0.0.10,
 * `operator`) and allowlisted prefixes (never listed, whatever the
 * history or an operator listing says). They live in one small text file,
 * DATA/operator.list, replaced whole on every change (temporary file,
 * fsync, rename, fsync of the directory), so a reader sees the old list
 * or the new one and an acknowledged change survives a crash. Writers
 * serialise on DATA/operator.lock (flock).
 *
 * File format (UTF-8 text, one entry a line, fields separated by a tab):
 *   # comment lines and blank lines are ignored
 *   KIND  PREFIX  ADDED  EXPIRES  BY  REASON
 * KIND "list" or "allow"; PREFIX as tl_prefix_parse reads it, host bits
 * clear; ADDED unix seconds; EXPIRES "-" or YYYY-MM-DD (the first day the
 * entry no longer applies); BY the user who added it ([A-Za-z0-9._@-],
 * 1..TL_OPLIST_WHO_MAX bytes); REASON 1..TL_OPLIST_REASON_MAX bytes of
 * printable UTF-8 (no control characters, so no tabs). One entry per kind
 * and prefix.
 *
 * Compiled form: per family, the active operator listings as sorted,
 * disjoint address intervals with allowlisted ones (and the RFC 5782
 * 127.0.0.1 test point) cut out, and the allowlist as sorted, disjoint
 * intervals; each interval carries the day it was listed (the earliest of
 * the entries merged into it). The snapshot stores the first as its range
 * section.
 */
#ifndef TRAPLINE_POLICY_OPLIST_H
#define TRAPLINE_POLICY_OPLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trapline/day.h"
#include "trapline/ip.h"
#include "tl_limits.h"

__extension__ typedef unsigned __int128 tl_u128;

enum tl_op_kind {
	TL_OP_LIST = 1,  /* listed by the operator: 127.0.0.10 */
	TL_OP_ALLOW = 2, /* never listed */
};

#define TL_OPLIST_FILE "operator.list"
#define TL_OPLIST_LOCK "operator.lock"
#define TL_OPLIST_NO_EXPIRY INT32_MAX

struct tl_op_entry {
	struct tl_prefix pfx;   /* host bits clear */
	uint8_t kind;           /* enum tl_op_kind */
	int64_t added;          /* unix s */
	tl_day expires;         /* first day not applied; TL_OPLIST_NO_EXPIRY */
	char who[TL_OPLIST_WHO_MAX + 1];
	char reason[TL_OPLIST_REASON_MAX + 1];
};

/* One address interval, both ends inclusive. IPv4 addresses are their
 * 32-bit numbers, IPv6 their 128-bit big-endian numbers. */
struct tl_iv {
	tl_u128 lo, hi;
	tl_day day; /* listing day (days since 1970) */
};

struct tl_oplist {
	struct tl_op_entry *e; /* owned; in file order */
	size_t n, cap;
	/* compiled by tl_oplist_compile; [0] IPv4, [1] IPv6; owned */
	struct tl_iv *op[2], *allow[2];
	size_t nop[2], nallow[2];
	bool compiled;
};

/* Does compiled @l list or allow nothing? (A build skips it then.) */
static inline bool tl_oplist_is_empty(const struct tl_oplist *l)
{
	return !l || !l->compiled ||
	       !(l->nop[0] | l->nop[1] | l->nallow[0] | l->nallow[1]);
}

void tl_oplist_init(struct tl_oplist *l);
void tl_oplist_free(struct tl_oplist *l);

/*
 * Parse the file text @s (@len bytes) into @l (emptied first). Reads
 * untrusted bytes: every field is checked as the format above says, the
 * entry count is capped at TL_OPLIST_MAX, a duplicate kind+prefix is an
 * error. Returns 0, or TL_ECORRUPT / TL_ELIMIT / TL_ENOMEM with *@line
 * the 1-based line at fault.
 */
int tl_oplist_parse(const char *s, size_t len, struct tl_oplist *l,
		    unsigned *line);
/* The file text for @l into a new NUL-ended string (*@out, tl_free it). */
int tl_oplist_format(const struct tl_oplist *l, char **out, size_t *len);

/* Check a reason / a user name against the format's rules. */
bool tl_oplist_reason_ok(const char *s);
bool tl_oplist_who_ok(const char *s);

/*
 * Add @e, replacing an entry of the same kind and prefix (its reason,
 * expiry, user and time then change). TL_ELIMIT past TL_OPLIST_MAX.
 * Invalidates the compiled form.
 */
int tl_oplist_put(struct tl_oplist *l, const struct tl_op_entry *e);
/* Remove the entry of @kind with exactly prefix @p; TL_ENOENT if none. */
int tl_oplist_del(struct tl_oplist *l, uint8_t kind,
		  const struct tl_prefix *p);
/* Drop entries whose expiry is on or before @today; returns how many. */
size_t tl_oplist_prune(struct tl_oplist *l, tl_day today);

/*
 * DATA/operator.list: load (a missing file is an empty list), and save
 * durably. The caller of save holds the lock (tl_oplist_lock).
 */
int tl_oplist_load(const char *dir, struct tl_oplist *l);
int tl_oplist_save(const char *dir, const struct tl_oplist *l);
/* Take DATA/operator.lock exclusively (waits); *@fd to pass to unlock. */
int tl_oplist_lock(const char *dir, int *fd);
/* Open @path with @oflags (O_CLOEXEC added; created 0644 with O_CREAT) and
 * hold it exclusively (flock; waits). Returns the descriptor, whose close
 * lets go, or -errno. The operator list's lock and the snapshot
 * builder's (its directory). */
int tl_flock_open(const char *path, int oflags);
void tl_oplist_unlock(int fd);

/* Compile the entries active on @today (see above). */
int tl_oplist_compile(struct tl_oplist *l, tl_day today);

/* Compiled: is @ip operator-listed (after the allowlist), allowlisted?
 * @day, when not NULL, gets the listing day. */
bool tl_oplist_listed(const struct tl_oplist *l, const struct tl_ip *ip,
		      tl_day *day);
bool tl_oplist_allowed(const struct tl_oplist *l, const struct tl_ip *ip);

/* The most specific entry of @kind active on @today that covers @ip, or
 * NULL (a linear scan: for reports, not for whole-store walks). */
const struct tl_op_entry *tl_oplist_match(const struct tl_oplist *l,
					  uint8_t kind, const struct tl_ip *ip,
					  tl_day today);

/* ---- interval algebra (pure; exposed for the snapshot and tests) ---- */

/* An address as a number, and back (@family 4 or 6). */
tl_u128 tl_iv_num(const struct tl_ip *ip);
void tl_iv_ip(tl_u128 v, uint8_t family, struct tl_ip *ip);
/* The interval a prefix covers. */
void tl_iv_of_prefix(const struct tl_prefix *p, struct tl_iv *out);

/* Sort @v and merge overlapping and adjacent intervals in place (a merged
 * interval keeps the earliest day). Returns the new count. */
size_t tl_iv_union(struct tl_iv *v, size_t n);
/* @a minus @b, both sorted and disjoint, into @out (room for na + nb).
 * Returns the count written. */
size_t tl_iv_subtract(const struct tl_iv *a, size_t na, const struct tl_iv *b,
		      size_t nb, struct tl_iv *out);
/* The interval of sorted, disjoint @v holding @x, or -1. */
int64_t tl_iv_find(const struct tl_iv *v, size_t n, tl_u128 x);

/*
 * The largest CIDR block starting at @lo and ending at or before @hi, for
 * splitting an interval into prefixes: returns the block's prefix length
 * in a @bits-bit space (32 or 128). Callers loop lo = block end + 1.
 */
unsigned tl_iv_cidr(tl_u128 lo, tl_u128 hi, unsigned bits);

#endif
