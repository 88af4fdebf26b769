/* SPDX-License-Identifier: MIT */
/* report.c -- one IP's history as JSON (the contract) or text */
#include <inttypes.h>
#include <string.h>

#include "tl_limits.h"
#include "policy/oplist.h"
#include "trapline/alloc.h"
#include "query.h"

#define REPORT_HIATUSES_MAX 1000 /* hiatus periods listed per IP */

static json_t *day_json(tl_day d)
{
	char buf[TL_DAY_STRLEN];

	tl_day_format(d, buf);
	return json_string(buf);
}

static void time_text(int64_t t, char *buf, size_t size)
{
	char day[TL_DAY_STRLEN];
	int64_t s = t % 86400;

	tl_day_format(tl_day_from_time(t), day);
	if (s < 0)
		s += 86400;
	snprintf(buf, size, "%sT%02d:%02d:%02dZ", day, (int)(s / 3600),
		 (int)(s / 60 % 60), (int)(s % 60));
}

/* The operator's entry behind a listing decision, as an object. */
static json_t *entry_json(const struct tl_op_entry *e)
{
	char pfx[TL_PREFIX_STRLEN], tbuf[32];
	json_t *o;

	if (!e)
		return json_null();
	o = json_object();
	tl_prefix_format(&e->pfx, pfx);
	json_object_set_new(o, "prefix", json_string(pfx));
	json_object_set_new(o, "reason", json_string(e->reason));
	json_object_set_new(o, "by", json_string(e->who));
	time_text(e->added, tbuf, sizeof(tbuf));
	json_object_set_new(o, "since", json_string(tbuf));
	if (e->expires == TL_OPLIST_NO_EXPIRY)
		json_object_set_new(o, "expires", json_null());
	else
		json_object_set_new(o, "expires", day_json(e->expires));
	return o;
}

json_t *report_json(const struct report_ctx *ctx, const struct tl_ip *ip,
		    const struct tl_history *h)
{
	struct tl_history_stats st;
	struct tl_listing li;
	struct tl_hiatus *hi;
	char ipbuf[TL_IP_STRLEN], cc[3], tbuf[32];
	json_t *o, *arr, *obj;
	unsigned n, i, k;

	tl_ip_format(ip, ipbuf);
	tl_geo_country(ctx->geo, ip, cc, NULL);
	tl_policy_decide(ctx->policy, ip, h, ctx->today, &li);
	tl_history_stats(h, ctx->policy->hiatus_days, &st);
	o = json_object();
	if (!o)
		return NULL;
	json_object_set_new(o, "ip", json_string(ipbuf));
	json_object_set_new(o, "seen", json_boolean(!tl_history_is_empty(h)));
	if (tl_history_is_empty(h)) {
		json_object_set_new(o, "first_seen", json_null());
		json_object_set_new(o, "last_seen", json_null());
	} else {
		json_object_set_new(o, "first_seen", day_json(h->first));
		json_object_set_new(o, "last_seen", day_json(h->last));
		time_text(h->first_time, tbuf, sizeof(tbuf));
		json_object_set_new(o, "first_time", json_string(tbuf));
		time_text(h->last_time, tbuf, sizeof(tbuf));
		json_object_set_new(o, "last_time", json_string(tbuf));
	}
	json_object_set_new(o, "span_days", json_integer(st.span_days));
	json_object_set_new(o, "active_days", json_integer(st.active_days));
	json_object_set_new(o, "active_weeks", json_integer(st.active_weeks));
	json_object_set_new(o, "steadiness",
			    json_real((double)(int64_t)(st.steadiness * 1e4 +
							0.5) / 1e4));
	arr = json_array();
	n = tl_history_hiatuses(h, ctx->policy->hiatus_days, NULL, 0);
	if (n > REPORT_HIATUSES_MAX)
		n = REPORT_HIATUSES_MAX;
	hi = n ? tl_calloc(n, sizeof(*hi)) : NULL;
	if (hi)
		tl_history_hiatuses(h, ctx->policy->hiatus_days, hi, n);
	for (i = 0; hi && i < n; i++) {
		obj = json_object();
		json_object_set_new(obj, "from", day_json(hi[i].from));
		json_object_set_new(obj, "to", day_json(hi[i].to));
		json_object_set_new(obj, "days", json_integer(hi[i].days));
		json_array_append_new(arr, obj);
	}
	tl_free(hi);
	json_object_set_new(o, "hiatuses", arr);
	obj = json_object();
	for (k = 0; k < TL_KIND_COUNT; k++)
		json_object_set_new(obj, tl_kind_name(k),
				    json_integer((json_int_t)h->count[k]));
	json_object_set_new(o, "events", obj);
	obj = json_object();
	for (i = 0; i < h->ntags; i++) {
		const char *name = tl_store_tag_name(ctx->store, h->tags[i].id);

		if (name)
			json_object_set_new(
				obj, name,
				json_integer((json_int_t)h->tags[i].count));
	}
	json_object_set_new(o, "tags", obj);
	json_object_set_new(o, "country", cc[0] ? json_string(cc) : json_null());
	if (h->nruns) {
		obj = json_object();
		json_object_set_new(obj, "from", day_json(st.current.start));
		json_object_set_new(obj, "days", json_integer(st.current.len));
		json_object_set_new(o, "current_run", obj);
	}
	json_object_set_new(o, "listed", json_boolean(li.listed));
	arr = json_array();
	for (i = 0; i < li.ncodes; i++)
		json_array_append_new(arr, json_string(tl_code_name(li.codes[i])));
	json_object_set_new(o, "codes", arr);
	json_object_set_new(o, "why", json_string(li.why));
	/* Why, in parts: the operator's listing and the allowlist entry
	 * that apply (null when none). */
	json_object_set_new(o, "operator", entry_json(li.op));
	json_object_set_new(o, "allowlisted", entry_json(li.allow));
	return o;
}

static const char *code_word(uint8_t code)
{
	switch (code) {
	case TL_CODE_SPAM:
		return "spam";
	case TL_CODE_DICTIONARY:
		return "dictionary";
	case TL_CODE_AUTH:
		return "auth";
	case TL_CODE_MALWARE:
		return "malware";
	case TL_CODE_PERSISTENT:
		return "persistent";
	case TL_CODE_OPERATOR:
		return "operator";
	}
	return "?";
}

void report_text(FILE *f, const struct report_ctx *ctx, const struct tl_ip *ip,
		 const struct tl_history *h)
{
	struct tl_history_stats st;
	struct tl_listing li;
	struct tl_hiatus hi[8];
	char ipbuf[TL_IP_STRLEN], cc[3], a[32], b[32];
	unsigned n, i, k;

	tl_ip_format(ip, ipbuf);
	tl_geo_country(ctx->geo, ip, cc, NULL);
	tl_policy_decide(ctx->policy, ip, h, ctx->today, &li);
	if (tl_history_is_empty(h)) {
		fprintf(f, "%s%s%s%s: never seen\n", ipbuf, cc[0] ? " (" : "",
			cc, cc[0] ? ")" : "");
		/* The operator's hand applies all the same. */
		if (li.op || li.allow)
			fprintf(f, "  listed       %s (%s)\n",
				li.listed ? "yes: 127.0.0.10 operator" : "no",
				li.why);
		return;
	}
	tl_history_stats(h, ctx->policy->hiatus_days, &st);
	fprintf(f, "%s%s%s%s\n", ipbuf, cc[0] ? " (" : "", cc,
		cc[0] ? ")" : "");
	time_text(h->first_time, a, sizeof(a));
	time_text(h->last_time, b, sizeof(b));
	fprintf(f, "  first seen   %s\n  last seen    %s\n", a, b);
	fprintf(f, "  span         %u days (%.1f years), active on %u days "
		   "in %u of %u weeks, steadiness %.2f\n",
		st.span_days, st.span_days / 365.2425, st.active_days,
		st.active_weeks, st.span_weeks, st.steadiness);
	tl_day_format(st.current.start, a);
	fprintf(f, "  current run  %u day%s since %s\n", st.current.len,
		st.current.len == 1 ? "" : "s", a);
	n = tl_history_hiatuses(h, ctx->policy->hiatus_days, hi, 8);
	fprintf(f, "  hiatuses     %u (gaps of %u days or more)\n", n,
		ctx->policy->hiatus_days);
	for (i = 0; i < n && i < 8; i++) {
		tl_day_format(hi[i].from, a);
		tl_day_format(hi[i].to, b);
		fprintf(f, "               %s .. %s  %u days\n", a, b,
			hi[i].days);
	}
	if (n > 8)
		fprintf(f, "               ... %u more (--json lists all)\n",
			n - 8);
	fprintf(f, "  events      ");
	for (k = 0; k < TL_KIND_COUNT; k++)
		fprintf(f, " %s %" PRIu64 "%s", tl_kind_name(k), h->count[k],
			k + 1 < TL_KIND_COUNT ? "," : "\n");
	if (h->ntags) {
		fprintf(f, "  tags        ");
		for (i = 0; i < h->ntags; i++) {
			const char *name =
				tl_store_tag_name(ctx->store, h->tags[i].id);

			fprintf(f, " %s %" PRIu64 "%s", name ? name : "?",
				h->tags[i].count, i + 1 < h->ntags ? "," : "\n");
		}
	}
	fprintf(f, "  listed       %s", li.listed ? "yes:" : "no");
	for (i = 0; i < li.ncodes; i++)
		fprintf(f, " %s %s%s", tl_code_name(li.codes[i]),
			code_word(li.codes[i]), i + 1 < li.ncodes ? "," : "");
	fprintf(f, " (%s)\n", li.why);
}

void report_row_header(FILE *f)
{
	fprintf(f, "%4s  %-39s %-2s  %-10s  %-10s  %6s  %6s  %5s  %3s  %10s  %s\n",
		"rank", "ip", "cc", "first", "last", "years", "active",
		"stead", "hia", "events", "listed");
}

void report_row(FILE *f, const struct report_ctx *ctx, unsigned rank,
		const struct tl_ip *ip, const struct tl_history *h,
		uint64_t events)
{
	struct tl_history_stats st;
	struct tl_listing li;
	char ipbuf[TL_IP_STRLEN], cc[3], a[TL_DAY_STRLEN], b[TL_DAY_STRLEN];
	char codes[64] = "-";
	size_t o = 0;
	unsigned i;

	tl_ip_format(ip, ipbuf);
	tl_geo_country(ctx->geo, ip, cc, NULL);
	tl_policy_decide(ctx->policy, ip, h, ctx->today, &li);
	tl_history_stats(h, ctx->policy->hiatus_days, &st);
	tl_day_format(h->first, a);
	tl_day_format(h->last, b);
	for (i = 0; i < li.ncodes && o + 12 < sizeof(codes); i++)
		o += (size_t)snprintf(codes + o, sizeof(codes) - o, "%s%s",
				      i ? "," : "", code_word(li.codes[i]));
	fprintf(f, "%4u  %-39s %-2s  %-10s  %-10s  %6.1f  %6u  %5.2f  %3u  %10" PRIu64
		   "  %s\n",
		rank, ipbuf, cc[0] ? cc : "--", a, b, st.span_days / 365.2425,
		st.active_days, st.steadiness, st.hiatuses, events, codes);
}
