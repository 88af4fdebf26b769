/* SPDX-License-Identifier: MIT */
/* query.h -- rankings over the history and reports of one IP */
#ifndef TRAPLINE_QUERY_H
#define TRAPLINE_QUERY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "trapline/geo.h"
#include "trapline/history.h"
#include "trapline/policy.h"
#include "trapline/store.h"

/* What a report needs besides the history. */
struct report_ctx {
	struct tl_store *store;         /* for tag names */
	struct tl_geo *geo;             /* may be NULL */
	const struct tl_policy *policy; /* listing rules */
	tl_day today;                   /* "now" for listings */
};

/* The DESIGN.md object for one IP (show --json, top --json rows). An
 * empty history gives "seen": false. Returns a new reference or NULL. */
json_t *report_json(const struct report_ctx *ctx, const struct tl_ip *ip,
		    const struct tl_history *h);
/* The same for people, several lines. */
void report_text(FILE *f, const struct report_ctx *ctx, const struct tl_ip *ip,
		 const struct tl_history *h);
/* One table row per IP for top; @events is the volume it was ranked on. */
void report_row_header(FILE *f);
void report_row(FILE *f, const struct report_ctx *ctx, unsigned rank,
		const struct tl_ip *ip, const struct tl_history *h,
		uint64_t events);

enum top_by {
	TOP_LONGEVITY,  /* span first..last, then active days */
	TOP_VOLUME,     /* events (in the window when --since is recent) */
	TOP_RECENT,     /* last seen */
	TOP_STEADINESS, /* share of active weeks, then span */
};

struct top_query {
	enum top_by by;
	char country[3];          /* "" = any */
	int kind;                 /* enum tl_kind, or -1 = any */
	bool has_network;
	struct tl_prefix network; /* only addresses in it */
	bool has_since, has_until;
	tl_day since, until;      /* active on or after / first on or before */
	unsigned limit;           /* rows, 1..TL_TOP_LIMIT_MAX */
	tl_day latest;            /* the store's latest day (volume window) */
};

struct top_row {
	struct tl_ip ip;
	struct tl_history h; /* full record */
	uint64_t volume;     /* what --by volume ranked on */
};

/*
 * Rank the store's IPs. Walks records in key order; with a country, whole
 * address blocks of other countries are skipped with one seek each, so
 * the cost follows the country's share of the store, not its size.
 * *@windowed tells whether volume was counted from --since (true) or over
 * all time (false: --since older than the per-day detail kept).
 */
int top_run(struct tl_store *s, struct tl_geo *geo, const struct top_query *q,
	    struct top_row **rows, unsigned *nrows, bool *windowed);
void top_rows_free(struct top_row *rows, unsigned n);

#endif
