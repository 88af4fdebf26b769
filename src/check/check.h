/* SPDX-License-Identifier: MIT */
/* check.h -- trapline check: the block lists it asks (lists.conf) and the
 * lookups, many at once over c-ares */
#ifndef TRAPLINE_CHECK_H
#define TRAPLINE_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tl_limits.h"
#include "trapline/ip.h"

/* Address families a list answers for (bits). */
enum { CHECK_FAM4 = 1, CHECK_FAM6 = 2 };

/* One documented answer of a list: code.A.B.C.D or error.A.B.C.D. */
struct check_code {
	uint32_t a;    /* the A value, host byte order */
	bool error;    /* error.*: the list refused or failed the query */
	char *meaning; /* owned; printable text */
};

/* How a list's answers are read. */
enum check_decode {
	CHECK_DECODE_CODES, /* the code.* table */
	CHECK_DECODE_HIST,  /* trapline's hist zone: 127.Y.D.K (DESIGN.md) */
};

/* One [section] of lists.conf. */
struct check_list {
	char *name;              /* the section name; owned */
	char *zone;              /* DNS zone, no trailing dot; owned */
	unsigned families;       /* CHECK_FAM4 | CHECK_FAM6 */
	struct check_code *codes; /* owned, in file order */
	uint32_t ncodes;
	unsigned timeout_ms;     /* first try (c-ares doubles at each retry) */
	unsigned retries;        /* tries after the first */
	bool txt;                /* ask TXT for listed addresses */
	bool test;               /* check the RFC 5782 test points first */
	bool dflt;               /* asked when --lists is not given */
	enum check_decode decode;
	char *resolver;          /* "ADDR:PORT" (c-ares csv form), or NULL */
	char *sets;              /* space-separated set names, or NULL */
	unsigned line;           /* line of the [section] header */
};

struct check_lists {
	struct check_list *v; /* owned */
	uint32_t n;
};

/*
 * Parse lists.conf from @len bytes at @text (no NUL needed). Reads
 * untrusted bytes: checks every line's length, section names, keys,
 * addresses, numbers and zone names, and that each list has a zone;
 * counts are capped (TL_LISTS_MAX, TL_LISTS_CODES_MAX). Does no I/O.
 * On error returns TL_ESYNTAX, TL_ETOOLONG, TL_ELIMIT, TL_EDUP or
 * TL_ENOMEM, writes "PATH:LINE: why" into @err (@errsize bytes, may be 0)
 * and leaves @out empty. On success the caller frees @out with
 * check_lists_free.
 */
int check_lists_parse(const char *text, size_t len, const char *path,
		      struct check_lists *out, char *err, size_t errsize);
/* Read @path (at most TL_LISTS_FILE_MAX bytes) and parse it. TL_ENOENT
 * when it is missing; @err says why on any error. */
int check_lists_load(const char *path, struct check_lists *out, char *err,
		     size_t errsize);
void check_lists_free(struct check_lists *l);
/* Where lists.conf is looked for when not given: NULL-terminated. */
extern const char *const check_lists_paths[];

/* The documented code for answer @a, or NULL. */
const struct check_code *check_list_code(const struct check_list *l,
					 uint32_t a);
/* What answer @a of list @l means, in words: its code.* text, or for
 * decode = hist the years, days and kinds it encodes, or "listed (code
 * not in lists.conf)". Returns @buf (@size bytes) or a string of @l. */
const char *check_list_meaning(const struct check_list *l, uint32_t a,
			       char *buf, size_t size);
/* Whether answer @a means the query failed rather than "listed": an
 * error.* code, anything in 127.255.255.0/24 (Spamhaus' convention for
 * refusals, now common), or an answer outside 127.0.0.0/8 (RFC 5782 2.1:
 * a parked or hijacked zone, not a list). */
bool check_is_error(const struct check_list *l, uint32_t a);

/*
 * Mark in @sel (l->n entries) the lists @spec names: comma or space
 * separated list names, set names (a list's "sets"), or "all". NULL @spec
 * selects the lists with default = yes. Returns the number selected, or
 * TL_ESYNTAX with @err naming the unknown word.
 */
int check_lists_select(const struct check_lists *l, const char *spec,
		       bool *sel, char *err, size_t errsize);

/*
 * "ADDR[:PORT]" or "[V6ADDR]:PORT" (port default 53) into the form c-ares
 * takes ("192.0.2.1:53", "[::1]:53") in @out (@size bytes). Returns 0 or
 * TL_ESYNTAX.
 */
int check_resolver_parse(const char *s, char *out, size_t size);

/* The query name for @ip in @zone: reversed octets (IPv4) or nibbles
 * (IPv6), RFC 5782 2.1 and 2.4. Returns the length, or TL_ETOOLONG. */
int check_qname(const struct tl_ip *ip, const char *zone, char *out,
		size_t size);

/* --- lookups --- */

enum check_status {
	CHECK_PENDING = 0, /* not asked yet */
	CHECK_CLEAN,       /* NXDOMAIN or no A records: not listed */
	CHECK_LISTED,      /* A records (see the listing) */
	CHECK_FAILED,      /* no answer after retries, SERVFAIL, ... */
	CHECK_SKIPPED,     /* not asked: wrong family or unhealthy list */
};

/* A lookup that got no usable answer: which, and c-ares' status. */
struct check_failure {
	uint32_t ip, list;
	int status; /* ARES_E* */
};

/* A listing: the answers of list @list for address number @ip. */
struct check_listing {
	uint32_t ip, list;
	uint8_t ncodes;
	uint32_t codes[TL_CHECK_CODES_MAX]; /* host order, sorted */
	char *txt;                           /* owned, or NULL */
};

struct check_health {
	bool healthy;
	char reason[160]; /* why not, when not */
};

struct check_opts {
	const char *resolver;  /* "ADDR:PORT" for lists without their own,
				* or NULL: the system's (resolv.conf) */
	unsigned max_inflight; /* queries in flight at once */
};

struct check_run {
	uint32_t nips, nlists;
	const struct tl_ip *ips;        /* borrowed */
	const struct check_lists *lists; /* borrowed */
	const bool *sel;                /* borrowed: lists to ask */
	uint8_t *status;                /* nips * nlists, enum check_status */
	struct check_health *health;    /* per list */
	struct check_listing *listings; /* owned, in completion order */
	uint32_t nlistings, listings_cap;
	struct check_failure *failures; /* owned */
	uint32_t nfailures, failures_cap;
	uint64_t queries, answers;      /* sent, answered (any rcode) */
};

/*
 * Ask every selected list about every address: first the lists' health
 * (RFC 5782 test points), then the addresses against the healthy ones,
 * at most opts->max_inflight queries at once. An answer that carries an
 * error code makes its list unhealthy (its answers are not counted).
 * Returns 0, or TL_ENOMEM / TL_EINVAL (c-ares could not start); @r is
 * filled either way and freed with check_run_free.
 */
int check_run(struct check_run *r, const struct check_lists *lists,
	      const bool *sel, const struct tl_ip *ips, uint32_t nips,
	      const struct check_opts *opts);
void check_run_free(struct check_run *r);
/* A failed lookup's c-ares status in words ("no answer (timeout)"). */
const char *check_failure_word(int status);

static inline enum check_status check_get(const struct check_run *r,
					  uint32_t ip, uint32_t list)
{
	return (enum check_status)r->status[(size_t)ip * r->nlists + list];
}

#endif
