/* SPDX-License-Identifier: MIT */
/* rbldnsd.h -- block-list data in rbldnsd's ip4set / ip4trie / ip6trie
 * syntax, loaded for lookup
 *
 * The grammar and the answers follow rbldnsd 1.0 (Debian 1.0~20210120),
 * checked by a differential test against the real daemon
 * (tests/unit/rbldnsd/gen.py). In short:
 *
 *  - One entry a line: an address or network, then an optional value.
 *    Leading and trailing blanks (space, tab; not CR) are ignored; empty
 *    lines and lines starting with '#' or ';' are comments.
 *  - ip4set: "1.2.3.4", "1.2.3" (a /24), "10/8", "1.2.3.0/24",
 *    "1.2.3.4-1.2.4.7", "127.0.0.1-5", "127.16-31". Entries are kept in
 *    four classes, /32, /24, /16 and /8 (a range or CIDR is cut into
 *    pieces of those sizes); a query takes the most specific class that
 *    has an entry for it, and all values that class holds for it. An
 *    exclusion in that class wins over values in the same class.
 *  - ip4trie / ip6trie: CIDR only ("10.1" is 10.1.0.0/16; ip6 accepts
 *    "::" and a prefix written in 16-bit groups, "2001:db8:1" = /48);
 *    the longest matching prefix wins; one value a prefix, the first one
 *    given (a later duplicate is a warning).
 *  - "!" before an address makes an exclusion: an address whose winning
 *    entry is an exclusion is not listed.
 *  - Values: after the address, ":A:TXT", ":A" (TXT from the default),
 *    ":A:" (no TXT), or "TXT" (A from the default). A is an IPv4 address
 *    or a single number n meaning 127.0.0.n. A line starting with ':' sets
 *    the default for the lines after it. Without one, A is 127.0.0.2 and
 *    there is no TXT. TXT is cut at 255 bytes.
 *  - Special lines ($X, #$X, ;$X, :$X): $SOA, $NS, $TTL, $MAXRANGE4,
 *    $0..$9 and $= (TXT substitution variables and base template) are
 *    parsed and exposed; $TIMESTAMP is accepted and ignored; $DATASET
 *    (only meaningful in rbldnsd's "combined" type) is a bad line.
 *
 * Bad lines are skipped, counted and the first RBL_WARN_KEEP messages
 * kept, as rbldnsd logs and skips them; running out of memory or past
 * RBL_ENTRIES_MAX fails the whole load.
 *
 * Thread safety: a struct rbl_data is immutable once returned; any number
 * of threads may look up in it concurrently. Free it once, after every
 * reader is done (publish it by reference count or RCU).
 */
#ifndef TRAPLINE_DNS_RBLDNSD_H
#define TRAPLINE_DNS_RBLDNSD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trapline/ip.h"

/* Limits of this module (the project's tl_limits.h belongs to core). */

/* Entries in one dataset (count): ranges count as the pieces they are
 * cut into (ip4set) -- 32 Mi entries is 256 MiB of ip4set /32s, several
 * times the largest public lists; a file past it is refused whole. */
#define RBL_ENTRIES_MAX (1u << 25)
/* A data line (bytes): longer lines are cut, as rbldnsd does, with a
 * warning; 4 KiB holds any address and a 255-byte TXT many times over. */
#define RBL_LINE_MAX 4096
/* Bad-line messages kept (count); later ones are only counted. */
#define RBL_WARN_KEEP 10
/* Bytes of one kept message, with the NUL. */
#define RBL_WARN_LEN 160
/* TXT template (bytes, without the NUL): a DNS character-string. */
#define RBL_TXT_MAX 255
/* Expanded TXT (bytes, without the NUL): rbldnsd's substitution keeps at
 * most 254 bytes, whatever the template. */
#define RBL_TXT_OUT_MAX 254
/* Name servers kept from $NS (count), as rbldnsd. */
#define RBL_NS_MAX 32
/* A domain name in $SOA / $NS, text (bytes, with the NUL). */
#define RBL_NAME_MAX 256
/* Data file read by rbl_data_load (bytes). */
#define RBL_FILE_MAX (1ull << 32)

enum rbl_type {
	RBL_IP4SET,
	RBL_IP4TRIE,
	RBL_IP6TRIE,
};

/* $SOA ttl origin person serial refresh retry expire minttl. A ttl of 0
 * means "the dataset's $TTL, else the server default" (rbldnsd -t). */
struct rbl_soa {
	bool valid;                  /* a $SOA line was accepted */
	uint32_t ttl;                /* seconds, 0 = default */
	char origin[RBL_NAME_MAX];   /* primary server, as written */
	char person[RBL_NAME_MAX];   /* responsible mailbox, as written */
	uint32_t serial;             /* 0 = use the data's mtime (rbldnsd) */
	uint32_t refresh, retry, expire, minttl; /* seconds */
};

/* $NS ttl name name...; names starting with '-' are skipped. */
struct rbl_ns {
	unsigned count;                        /* names kept, <= RBL_NS_MAX */
	uint32_t ttl;                          /* seconds, 0 = default */
	char name[RBL_NS_MAX][RBL_NAME_MAX];   /* as written */
};

struct rbl_data;

/*
 * A lookup's result. The strings point into the rbl_data and live as long
 * as it does.
 */
struct rbl_hit {
	uint32_t a;          /* A value, host order: 0x7f000002 = 127.0.0.2 */
	const char *txt;     /* TXT template, NUL-terminated; NULL: none */
	unsigned count;      /* values for this address; > 1 only in ip4set,
			      * where one address may be listed several times
			      * (rbldnsd answers with all); see rbl_hit_get */
	uint8_t len;         /* prefix length of the entry that matched */
	const void *run_;    /* private: the values, for rbl_hit_get */
};

/*
 * Parse @len bytes of dataset text (no NUL needed; a NUL ends its line as
 * it would in rbldnsd) as @type. No I/O, no global state.
 * On 0, *@out is the loaded data (bad lines skipped: see
 * rbl_data_bad_lines); @why (if @whylen) holds the first bad-line message
 * or "". On error *@out is NULL, @why says why and the return is
 * TL_ENOMEM, TL_ELIMIT (past RBL_ENTRIES_MAX) or TL_EINVAL (bad @type).
 */
int rbl_data_parse(const char *text, size_t len, enum rbl_type type,
		   struct rbl_data **out, char *why, size_t whylen);

/* Read the file at @path (up to RBL_FILE_MAX bytes) and parse it as
 * rbl_data_parse does. Also returns -errno for open/read failures. */
int rbl_data_load(const char *path, enum rbl_type type,
		  struct rbl_data **out, char *why, size_t whylen);

void rbl_data_free(struct rbl_data *d);

/*
 * Is @ip listed? On true, @hit holds the (first) value. An IPv4 address
 * never matches an ip6trie except as ::ffff:a.b.c.d (struct tl_ip turns
 * that form into IPv4; it is looked up as rbldnsd would the mapped form);
 * an IPv6 address never matches ip4set/ip4trie. O(levels * log n), where
 * levels is the number of distinct prefix lengths present (<= 4 in
 * ip4set). Thread safe on a loaded rbl_data.
 */
bool rbl_lookup(const struct rbl_data *d, const struct tl_ip *ip,
		struct rbl_hit *hit);

/* Value @i (0 <= i < hit->count) of a hit: false past the end. */
bool rbl_hit_get(const struct rbl_data *d, const struct rbl_hit *hit,
		 unsigned i, uint32_t *a, const char **txt);

/*
 * Expand a TXT template for the answer to @ip, as rbldnsd does: "$" is
 * the address (dotted quad; IPv6 in rbldnsd's own format), "$$" a dollar,
 * "$0".."$9" the dataset's variables (left as written when unset); with
 * a base template ($= line), @txt is put into it at "$=" (the address if
 * @txt is empty), unless @txt starts with '='. @txt may be NULL (no TXT).
 * Writes at most min(RBL_TXT_OUT_MAX, @size - 1) bytes and a NUL; returns
 * the length. 0 means: send no TXT record.
 */
size_t rbl_txt_expand(const struct rbl_data *d, const char *txt,
		      const struct tl_ip *ip, char *buf, size_t size);

/* Dataset metadata; NULL-free: absent specials give valid = false /
 * count = 0 / ttl 0. */
enum rbl_type rbl_data_type(const struct rbl_data *d);
const struct rbl_soa *rbl_data_soa(const struct rbl_data *d);
const struct rbl_ns *rbl_data_ns(const struct rbl_data *d);
/* $TTL in seconds, 0 when none was given (use the server default). */
uint32_t rbl_data_ttl(const struct rbl_data *d);
/* $n (0..9) or, for n = 10, the $= base template; NULL when unset. */
const char *rbl_data_subst(const struct rbl_data *d, unsigned n);

/* Entries stored (after cutting ranges and removing duplicates). */
size_t rbl_data_entries(const struct rbl_data *d);
/* Heap bytes the loaded data holds (entries, values, strings, header). */
size_t rbl_data_bytes(const struct rbl_data *d);
/* Lines skipped as bad (or warned about), and the first RBL_WARN_KEEP
 * messages, "line N: what" (NULL past the ones kept). */
size_t rbl_data_bad_lines(const struct rbl_data *d);
const char *rbl_data_warning(const struct rbl_data *d, size_t i);

#endif
