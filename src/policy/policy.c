/* SPDX-License-Identifier: MIT */
/* policy.c -- listing decisions from an IP's history */
#include <stdio.h>
#include <string.h>

#include "oplist.h"
#include "trapline/policy.h"

void tl_policy_from_config(struct tl_policy *p, const struct tl_config *cfg)
{
	p->expire_days = cfg->expire_days;
	p->repeat_expire_days = cfg->repeat_expire_days;
	p->persistent_expire_days = cfg->persistent_expire_days;
	p->hiatus_days = cfg->hiatus_days;
	p->persistent_days = cfg->persistent_days;
	p->persistent_steadiness = cfg->persistent_steadiness;
	p->never = cfg->never_list;
	p->nnever = cfg->never_list_len;
	p->ops = NULL;
	p->bulk = false;
	tl_policy_index(p);
}

void tl_policy_index(struct tl_policy *p)
{
	unsigned i, o;

	memset(p->v4_octets, 0, sizeof(p->v4_octets));
	for (i = 0; i < p->nnever; i++) {
		const struct tl_prefix *n = &p->never[i];
		unsigned first = n->ip.a[0], span;

		if (n->ip.family != 4)
			continue;
		span = n->len >= 8 ? 1 : 1u << (8 - n->len);
		for (o = first; o < first + span && o < 256; o++)
			p->v4_octets[o / 8] |= (uint8_t)(1u << (o % 8));
	}
	p->octets_set = true;
}

bool tl_policy_is_never(const struct tl_policy *p, const struct tl_ip *ip)
{
	unsigned i;

	if (p->octets_set && ip->family == 4 &&
	    !(p->v4_octets[ip->a[0] / 8] & (1u << (ip->a[0] % 8))))
		return false;
	for (i = 0; i < p->nnever; i++)
		if (tl_prefix_contains(&p->never[i], ip))
			return true;
	return false;
}

const char *tl_code_name(uint8_t code)
{
	static const char *const names[] = {
		[TL_CODE_SPAM] = "127.0.0.2",
		[TL_CODE_DICTIONARY] = "127.0.0.3",
		[TL_CODE_AUTH] = "127.0.0.4",
		[TL_CODE_MALWARE] = "127.0.0.5",
		[TL_CODE_PERSISTENT] = "127.0.0.6",
		[TL_CODE_OPERATOR] = "127.0.0.10",
	};

	if (code < sizeof(names) / sizeof(names[0]) && names[code])
		return names[code];
	return "127.0.0.0";
}

/* Why the history does not list an address, or V_LISTED. */
enum verdict { V_LISTED, V_EMPTY, V_NEVER, V_QUIET, V_NO_EVENTS };

/* Which quiet period applies to an address. */
enum lapse { L_FIRST, L_REPEAT, L_PERSISTENT };

/*
 * A repeat offender: quiet for longer than expire_days once (so a listing
 * of it lapsed) and active again after. Only the runs of active days tell;
 * a record decoded without them (nruns 0) is taken as no repeat, and can
 * be one only if its span holds more than expire_days of quiet days.
 */
bool tl_policy_is_repeat(const struct tl_policy *p, const struct tl_history *h)
{
	uint32_t i;

	for (i = 1; i < h->nruns; i++) {
		tl_day end = h->runs[i - 1].start + (tl_day)h->runs[i - 1].len;

		if (h->runs[i].start - end > (tl_day)p->expire_days)
			return true;
	}
	return false;
}

/* The history's decision without the words: fills listed, ncodes and
 * codes of @out and tells whether it is persistent and which quiet period
 * applies. */
static enum verdict judge(const struct tl_policy *p, const struct tl_ip *ip,
			  const struct tl_history *h, tl_day today,
			  struct tl_listing *out, bool *persistent,
			  enum lapse *lapse, unsigned *limit)
{
	static const uint8_t kind_code[TL_KIND_COUNT] = {
		[TL_KIND_SPAM] = TL_CODE_SPAM,
		[TL_KIND_DICTIONARY] = TL_CODE_DICTIONARY,
		[TL_KIND_AUTH] = TL_CODE_AUTH,
		[TL_KIND_MALWARE] = TL_CODE_MALWARE,
	};
	struct tl_history_stats st;
	unsigned k;

	*persistent = false;
	*lapse = L_FIRST;
	*limit = p->expire_days;
	if (tl_history_is_empty(h))
		return V_EMPTY;
	if (tl_policy_is_never(p, ip))
		return V_NEVER;
	/* Only a long enough span can be persistent: the steadiness (which
	 * walks the runs) is worked out only then. */
	if (h->last - h->first + 1 >= (tl_day)p->persistent_days) {
		tl_history_stats(h, p->hiatus_days, &st);
		*persistent = st.span_days >= p->persistent_days &&
			      st.steadiness >= p->persistent_steadiness;
	}
	/* The longest quiet period that applies. */
	if (*persistent && p->persistent_expire_days > *limit) {
		*lapse = L_PERSISTENT;
		*limit = p->persistent_expire_days;
	}
	if (p->repeat_expire_days > *limit && tl_policy_is_repeat(p, h)) {
		*lapse = L_REPEAT;
		*limit = p->repeat_expire_days;
	}
	if ((int64_t)today - h->last > (int64_t)*limit)
		return V_QUIET;
	for (k = 0; k < TL_KIND_COUNT; k++)
		if (h->count[k])
			out->codes[out->ncodes++] = kind_code[k];
	if (out->ncodes == 0)
		return V_NO_EVENTS; /* active days but no events: not a record
				     * ingest writes */
	out->listed = true;
	if (*persistent)
		out->codes[out->ncodes++] = TL_CODE_PERSISTENT;
	return V_LISTED;
}

/* The history's part of a decision, with its why unless p->bulk. */
static void decide_history(const struct tl_policy *p, const struct tl_ip *ip,
			   const struct tl_history *h, tl_day today,
			   struct tl_listing *out)
{
	static const char *const whom[] = {
		[L_FIRST] = "",
		[L_REPEAT] = " for a repeat offender",
		[L_PERSISTENT] = " for a persistent address",
	};
	char last[TL_DAY_STRLEN];
	bool persistent;
	enum lapse lapse;
	unsigned limit;
	enum verdict v = judge(p, ip, h, today, out, &persistent, &lapse,
			       &limit);

	if (p->bulk)
		return;
	switch (v) {
	case V_EMPTY:
		snprintf(out->why, sizeof(out->why), "never seen");
		return;
	case V_NEVER:
		snprintf(out->why, sizeof(out->why),
			 "in a never-list range (private, reserved or own)");
		return;
	case V_NO_EVENTS:
		snprintf(out->why, sizeof(out->why), "no events recorded");
		return;
	case V_QUIET:
		tl_day_format(h->last, last);
		snprintf(out->why, sizeof(out->why),
			 "quiet for %lld days since %s (listings lapse after "
			 "%u%s)", (long long)((int64_t)today - h->last), last,
			 limit, whom[lapse]);
		return;
	case V_LISTED:
		tl_day_format(h->last, last);
		snprintf(out->why, sizeof(out->why),
			 "active within the last %u days%s (last seen %s)%s",
			 limit, whom[lapse], last,
			 persistent ? "; persistent: long and steady" : "");
		return;
	}
}

/* RFC 5782 section 5: 127.0.0.1 (and ::FFFF:7F00:1, which parses to it)
 * must never be listed, or clients cannot tell a working list. */
static bool is_negative_test_point(const struct tl_ip *ip)
{
	return ip->family == 4 && tl_ip_v4(ip) == 0x7f000001;
}

void tl_policy_decide(const struct tl_policy *p, const struct tl_ip *ip,
		      const struct tl_history *h, tl_day today,
		      struct tl_listing *out)
{
	const struct tl_op_entry *e;
	char pfx[TL_PREFIX_STRLEN], day[TL_DAY_STRLEN];
	char hist[TL_LISTING_WHY];
	bool was;

	/* (A whole store's bulk decisions leave the why alone.) */
	out->listed = false;
	out->ncodes = 0;
	out->why[0] = '\0';
	out->op = out->allow = NULL;
	if (is_negative_test_point(ip)) {
		snprintf(out->why, sizeof(out->why),
			 "the RFC 5782 test point: never listed");
		return;
	}
	if (p->ops && tl_oplist_allowed(p->ops, ip)) {
		e = p->bulk ? NULL
			    : tl_oplist_match(p->ops, TL_OP_ALLOW, ip, today);
		out->allow = e;
		if (e) {
			tl_prefix_format(&e->pfx, pfx);
			tl_day_format(tl_day_from_time(e->added), day);
			snprintf(out->why, sizeof(out->why),
				 "allowlisted (%s, by %s on %s): %s", pfx,
				 e->who, day, e->reason);
		} else {
			snprintf(out->why, sizeof(out->why), "allowlisted");
		}
		return;
	}
	decide_history(p, ip, h, today, out);
	if (!p->ops || !tl_oplist_listed(p->ops, ip, NULL))
		return;
	was = out->listed;
	memcpy(hist, out->why, sizeof(hist));
	e = p->bulk ? NULL : tl_oplist_match(p->ops, TL_OP_LIST, ip, today);
	out->op = e;
	out->listed = true;
	if (out->ncodes < TL_LISTING_CODES)
		out->codes[out->ncodes++] = TL_CODE_OPERATOR; /* the largest */
	if (e) {
		tl_prefix_format(&e->pfx, pfx);
		tl_day_format(tl_day_from_time(e->added), day);
		snprintf(out->why, sizeof(out->why),
			 "listed by the operator (%s, by %s since %s): %s%s%s",
			 pfx, e->who, day, e->reason, was ? "; and " : "",
			 was ? hist : "");
	} else {
		snprintf(out->why, sizeof(out->why), "listed by the operator");
	}
}
