/* SPDX-License-Identifier: MIT */
/* policy.h -- who is listed, with which codes, and why */
#ifndef TRAPLINE_POLICY_H
#define TRAPLINE_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "trapline/config.h"
#include "trapline/history.h"
#include "trapline/ip.h"

/* Listing codes: the last octet of the A record in the bl zone. */
enum tl_code {
	TL_CODE_SPAM = 2,
	TL_CODE_DICTIONARY = 3,
	TL_CODE_AUTH = 4,
	TL_CODE_MALWARE = 5,
	TL_CODE_PERSISTENT = 6,
	TL_CODE_OPERATOR = 10,
};

struct tl_oplist;   /* src/policy/oplist.h */
struct tl_op_entry;

struct tl_policy {
	unsigned expire_days;         /* quiet days before a listing lapses */
	unsigned repeat_expire_days;  /* ... for a repeat offender */
	unsigned persistent_expire_days; /* ... for a persistent address */
	unsigned hiatus_days;         /* a gap this long is a hiatus */
	unsigned persistent_days;     /* span needed for "persistent" */
	double persistent_steadiness; /* steadiness needed for it */
	const struct tl_prefix *never; /* borrowed from the config */
	unsigned nnever;
	/* First octets that some IPv4 never-list prefix covers (a bit
	 * each), when octets_set: an address outside them is not checked
	 * against every prefix (tl_policy_from_config fills it). */
	bool octets_set;
	uint8_t v4_octets[32];
	/* Operator listings and the allowlist, compiled for the day
	 * decisions are made for; borrowed; NULL for none. */
	const struct tl_oplist *ops;
	/* Bulk decisions (snapshot builds): leave out the entries behind
	 * an operator decision (a scan of the list each) and their why. */
	bool bulk;
};

#define TL_LISTING_CODES 8
#define TL_LISTING_WHY 400

struct tl_listing {
	bool listed;
	unsigned ncodes;
	uint8_t codes[TL_LISTING_CODES]; /* enum tl_code, ascending */
	char why[TL_LISTING_WHY];        /* one line for people */
	/* The operator's entries behind the decision, borrowed from the
	 * policy's list (NULL when none): the listing that added code
	 * 127.0.0.10, or the allowlist entry that keeps @ip unlisted. */
	const struct tl_op_entry *op, *allow;
};

void tl_policy_from_config(struct tl_policy *p, const struct tl_config *cfg);
/* Work out v4_octets again after never or nnever changed. */
void tl_policy_index(struct tl_policy *p);

/* Is @ip in a never-list range? */
bool tl_policy_is_never(const struct tl_policy *p, const struct tl_ip *ip);

/*
 * Decide @ip's listing from its full history (runs decoded) as of @today:
 * listed while its last activity is at most expire_days old (longer for
 * repeat offenders and persistent addresses), with a code
 * per kind it has sent and "persistent" for a long, steady record; never
 * for a never-list address. Then the operator's entries (p->ops): an
 * allowlisted address is never listed, whatever its history or an
 * operator listing says; an operator-listed one gets 127.0.0.10 added
 * (even in a never-list range: the operator's hand overrides the
 * defaults). The RFC 5782 test point 127.0.0.1 is never listed.
 */
void tl_policy_decide(const struct tl_policy *p, const struct tl_ip *ip,
		      const struct tl_history *h, tl_day today,
		      struct tl_listing *out);

/* Was @h quiet for longer than expire_days before activity that came
 * after (a repeat offender)? Needs the runs decoded. */
bool tl_policy_is_repeat(const struct tl_policy *p, const struct tl_history *h);

/* "127.0.0.N" for a code. */
const char *tl_code_name(uint8_t code);

#endif
