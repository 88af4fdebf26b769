/* SPDX-License-Identifier: MIT */
/* snapshot.h -- the listed set, compiled for the DNS server
 *
 * A snapshot is one immutable file: who is listed with which codes (the
 * `bl` zone) and every address in the history (the `hist` zone), as
 * sorted arrays that the server memory-maps and searches in place, and
 * the operator's listed ranges. It is checksummed whole; a file that is
 * missing, short or damaged is refused, and the server keeps answering
 * from the one it has.
 *
 * Layout, version 2 (little-endian), after an 88-byte header (magic
 * "TLSNAP\0\1", u32 version, serial, build time, day, the eight counts
 * below, CRC-32 of the body, CRC-32 of the header):
 *   v4 keys   n4 x u32     listed IPv4 addresses, ascending
 *   v4 vals   n4 x u32     packed (below)
 *   v6 keys   n6 x 16 B    listed IPv6 addresses, ascending
 *   v6 vals   n6 x u32
 *   r4 lo     nr4 x u32    operator-listed IPv4 ranges: first address,
 *   r4 hi     nr4 x u32      last address (inclusive),
 *   r4 vals   nr4 x u32      packed like a listed value
 *   r6 lo     nr6 x 16 B   the same for IPv6
 *   r6 hi     nr6 x 16 B
 *   r6 vals   nr6 x u32
 *   h4 keys   nh4 x u32    every IPv4 address in the history
 *   h4 vals   nh4 x u64    packed history (below)
 *   h6 keys   nh6 x 16 B
 *   h6 vals   nh6 x u64
 * A listed IPv4 address costs 8 bytes, its codes included; a range 12
 * (36 for IPv6). Ranges ascend and are disjoint (lo <= hi, each lo past
 * the hi before), with the allowlist and 127.0.0.1 already cut out; an
 * exact entry inside a range carries SNAP_OPERATOR itself, and allowlisted
 * addresses have no exact entry, so a lookup asks the exact arrays, then
 * the ranges. Version 1 (no ranges, 72-byte header) is refused with
 * TL_EVERSION; the servers then build a new one.
 *
 * Listed value (u32): bits 0-5 the codes (SNAP_SPAM ...), bits 6-22 the
 * first-seen day (days since 1970), bits 23-31 days between the last-seen
 * day and the snapshot's day (saturating at 511). For a range: the codes
 * are SNAP_OPERATOR alone, the day is the day it was listed, the age 0.
 * History value (u64): bits 0-4 kinds (1 spam, 2 dictionary, 4 auth,
 * 8 malware, 16 persistent), bits 5-21 first-seen day, bits 22-38
 * last-seen day.
 */
#ifndef TRAPLINE_POLICY_SNAPSHOT_H
#define TRAPLINE_POLICY_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trapline/day.h"
#include "trapline/ip.h"
#include "trapline/policy.h"
#include "trapline/store.h"

/* As oplist.h has it (C11 allows the typedef twice). */
__extension__ typedef unsigned __int128 tl_u128;

/* Code bits of a listed value. */
enum {
	SNAP_SPAM = 1u << 0,       /* 127.0.0.2 */
	SNAP_DICTIONARY = 1u << 1, /* 127.0.0.3 */
	SNAP_AUTH = 1u << 2,       /* 127.0.0.4 */
	SNAP_MALWARE = 1u << 3,    /* 127.0.0.5 */
	SNAP_PERSISTENT = 1u << 4, /* 127.0.0.6 */
	SNAP_OPERATOR = 1u << 5,   /* 127.0.0.10 */
};

/* The last octet of the A record for code bit @bit (0..5). */
uint8_t snap_code_octet(unsigned bit);

/* One listed address, as a lookup finds it. */
struct snap_listing {
	unsigned codes;  /* SNAP_* */
	tl_day first;    /* first seen */
	tl_day last;     /* last seen (the snapshot day minus the age) */
	bool ranged;     /* listed only through an operator range ... */
	struct tl_prefix block; /* ... and this CIDR block of the range's
				 * decomposition holds it (valid if ranged) */
};

/* One address in the history (the hist zone). */
struct snap_history {
	unsigned kinds;  /* 1 spam 2 dictionary 4 auth 8 malware 16 persistent */
	tl_day first, last;
};

struct snap_info {
	uint32_t serial;   /* rises with each build */
	int64_t built;     /* unix s */
	tl_day day;        /* the day listings were decided for */
	uint64_t n4, n6;   /* listed */
	uint64_t nh4, nh6; /* in the history */
	uint64_t nr4, nr6; /* operator-listed ranges */
	uint64_t bytes;    /* file size */
	uint32_t crc;      /* CRC-32 of the body */
	bool hot;          /* loaded: IPv4 searched in huge pages (snap_load) */
};

/*
 * Build a snapshot of store @s as of @today into @path (written to a
 * temporary file and renamed: a reader never sees half a file; it is not
 * synced, since a file a crash left short is refused and built again).
 * The operator's entries come from p->ops (compiled), when set.
 * @serial: the SOA serial it carries (the caller makes it rise).
 * @one_core: walk the store on the calling thread alone, for a server
 * answering from the snapshot in use while this one is built: a second
 * walker takes the core its workers need (on two cores at 10 M and
 * 20,000 q/s, a reload left a median of 153 answers later than 5 ms
 * with two walkers, 30 with one, over 11 and 16 runs); else the IPv4
 * keys are walked in two halves on two threads, for a server that has
 * nothing to answer from yet, or a command.
 * Returns 0 and fills @info, or a TL_E*.
 */
int snap_build(struct tl_store *s, const struct tl_policy *p, tl_day today,
	       uint32_t serial, const char *path, struct snap_info *info,
	       bool one_core);

struct snap; /* a loaded snapshot: immutable, shareable across threads */

/*
 * Map @path and check it whole (magic, version, sizes against the file,
 * CRC-32 of header and body, keys strictly ascending). Returns 0, or
 * TL_ENOENT, TL_ECORRUPT (with a log line saying what is wrong),
 * TL_EVERSION, or an I/O error.
 */
int snap_load(const char *path, struct snap **out);

/*
 * snap_load, for a file this process has just built (@built, from
 * snap_build, or NULL for none): when the header carries the serial,
 * size and body checksum of that build, the body's bytes are not read
 * through a second time for their checksum (every other check is made).
 * A file that is not that build is checked whole.
 */
int snap_load_built(const char *path, const struct snap_info *built,
		    struct snap **out);
void snap_free(struct snap *sn);
void snap_get_info(const struct snap *sn, struct snap_info *info);

/* Listed addresses of @family (4 or 6), and the @i-th of them in
 * address order (for exports). */
uint64_t snap_count(const struct snap *sn, uint8_t family);
void snap_listed_at(const struct snap *sn, uint8_t family, uint64_t i,
		    struct tl_ip *ip, struct snap_listing *out);

/* Operator-listed ranges of @family (4 or 6), and the @i-th of them in
 * address order, as its first and last address and its listing (codes
 * SNAP_OPERATOR, first = the day it was listed, last = the snapshot's
 * day). For exports and zone transfers. */
uint64_t snap_range_count(const struct snap *sn, uint8_t family);
void snap_range_at(const struct snap *sn, uint8_t family, uint64_t i,
		   struct tl_ip *lo, struct tl_ip *hi, struct snap_listing *out);

/*
 * Render the TXT template @tmpl for a listing into @buf (@size bytes,
 * NUL-ended, cut at @size - 1): "$" is the address (kept as "$" when @ip
 * is NULL, for rbldnsd, which fills it in itself) or, for a listing made
 * by an operator range alone (li->ranged), its CIDR block (li->block,
 * whatever @ip is: a zone transfer carries ranges as wildcards, which
 * cannot hold the address asked for), "%k" the kinds ("spam,
 * auth"), "%f" the first-seen and "%l" the last-seen day (YYYY-MM-DD),
 * "%%" a percent sign. Returns the length.
 */
size_t snap_txt(const char *tmpl, const struct tl_ip *ip,
		const struct snap_listing *li, char *buf, size_t size);

/* Is @ip listed (exactly, or in an operator range)? Fills @out when it
 * is; for a range, out->ranged and out->block (the block of the range's
 * decomposition into CIDR blocks, tl_iv_cidr, that holds @ip). */
bool snap_lookup(const struct snap *sn, const struct tl_ip *ip,
		 struct snap_listing *out);
/*
 * The names the operator ranges put in the bl zone, for zone transfers
 * and the BIND export (one function, so that they agree). Each range is
 * cut into CIDR blocks (tl_iv_cidr); a block of length L becomes names
 * at the next label boundary L' (octets for IPv4, nibbles for IPv6; L'
 * = L when L is on one): the 2^(L'-L) prefixes of length L', each the
 * wildcard "*.<labels of the prefix>" when L' is shorter than an
 * address, else the address's own name. All carry A 127.0.0.10 and the
 * TXT of li (li.ranged, li.block: "$" is the block).
 *
 * Names that the zone already holds change what a wildcard matches
 * (RFC 4592 2.2.2: a wildcard does not cover names below an existing
 * name), so: an address with an exact entry (which carries the operator
 * code itself) and the IPv4 test point 127.0.0.2 get no range name of
 * their own; and under a wildcard more than one label above such an
 * address, the nodes between them (which now exist, empty) get the
 * wildcard's records too, as wildcards one label further down.
 *
 * Names come in order of (first address, prefix length), so two
 * snapshots' lists merge-compare; the walk needs no memory beyond @it,
 * which can be copied to step back.
 */
struct snap_rname {
	struct tl_prefix name;  /* the name's prefix, len on a boundary */
	bool wildcard;          /* "*." + the prefix; else an address */
	struct snap_listing li; /* SNAP_OPERATOR, ranged, block */
};

struct snap_rname_iter {
	const struct snap *sn;  /* borrowed */
	uint8_t family;
	uint64_t r;             /* the range being cut */
	bool in_range;          /* r's blocks are being walked */
	tl_u128 end;            /* r's last address */
	struct tl_prefix block; /* the current block */
	tl_u128 bend;           /* its last address */
	struct snap_listing li; /* r's listing, for the current block */
	unsigned nlen;          /* the block's names' prefix length */
	uint64_t k, nk;         /* next name of the block, names in it */
	/* Nodes below the last wildcard (see above). */
	tl_u128 w_hi;           /* the wildcard's last address */
	unsigned w_len;         /* its prefix length */
	bool w_on;              /* nodes below it are being walked */
	tl_u128 from;           /* the next exact address is at or past */
	bool from_end;          /* nothing past the last one */
	tl_u128 pt, prev_pt;    /* the exact address below, the one before */
	bool has_prev;
	unsigned lev;           /* next node length to name for pt; 0: none */
};

void snap_rnames_start(struct snap_rname_iter *it, const struct snap *sn,
		       uint8_t family);
/* The next name, or false at the end. */
bool snap_rnames_next(struct snap_rname_iter *it, struct snap_rname *out);

/* Is @ip in the history? */
bool snap_history(const struct snap *sn, const struct tl_ip *ip,
		  struct snap_history *out);
/* Addresses of @family (4 or 6) in the history, and the @i-th of them in
 * address order (for transfers of the hist zone). The history's pages
 * are given back to the kernel after the load; a walk faults them in
 * again from the file. */
uint64_t snap_history_count(const struct snap *sn, uint8_t family);
void snap_history_at(const struct snap *sn, uint8_t family, uint64_t i,
		     struct tl_ip *ip, struct snap_history *out);

#endif
