/* SPDX-License-Identifier: MIT */
/* cmd_top.c -- trapline top: rankings over the history */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/oplist.h"
#include "cli.h"
#include "tl_limits.h"
#include "query/query.h"
#include "trapline/err.h"
#include "trapline/log.h"

static const char usage_text[] =
	"trapline top [--by longevity|volume|recent|steadiness] [--country CC]\n"
	"                    [--kind K] [--network CIDR] [--since D] [--until D]\n"
	"                    [--limit N] [--json] [--geo FILE.mmdb] [--data DIR]\n"
	"  D is YYYY-MM-DD, 'today' or Nd (N days ago)";

enum {
	OPT_BY = OPT_CMD_BASE,
	OPT_COUNTRY,
	OPT_KIND,
	OPT_NETWORK,
	OPT_SINCE,
	OPT_UNTIL,
	OPT_LIMIT,
};

static int parse_args(int argc, char **argv, struct cli_common *c,
		      struct top_query *q, const char **geo_path,
		      const char **since, const char **until)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{"geo", required_argument, NULL, OPT_GEO},
		{"by", required_argument, NULL, OPT_BY},
		{"country", required_argument, NULL, OPT_COUNTRY},
		{"kind", required_argument, NULL, OPT_KIND},
		{"network", required_argument, NULL, OPT_NETWORK},
		{"since", required_argument, NULL, OPT_SINCE},
		{"until", required_argument, NULL, OPT_UNTIL},
		{"limit", required_argument, NULL, OPT_LIMIT},
		{NULL, 0, NULL, 0},
	};
	static const char *const bys[] = {"longevity", "volume", "recent",
					  "steadiness"};
	enum tl_kind kind;
	char buf[TL_PREFIX_STRLEN];
	char *end;
	unsigned long n;
	int opt, rc;
	size_t i;

	while ((opt = getopt_long(argc, argv, "n:", longopts, NULL)) != -1) {
		if (cli_common_opt(c, opt, optarg))
			continue;
		switch (opt) {
		case OPT_GEO:
			*geo_path = optarg;
			break;
		case OPT_BY:
			for (i = 0; i < 4 && strcmp(bys[i], optarg); i++)
				;
			if (i == 4) {
				log_error("top", "--by: one of longevity, "
					  "volume, recent, steadiness");
				return EXIT_USAGE;
			}
			q->by = (enum top_by)i;
			break;
		case OPT_COUNTRY:
			if (strlen(optarg) != 2) {
				log_error("top", "--country: a two-letter ISO "
					  "3166 code, e.g. GB");
				return EXIT_USAGE;
			}
			q->country[0] = (char)(optarg[0] & ~0x20);
			q->country[1] = (char)(optarg[1] & ~0x20);
			q->country[2] = '\0';
			if (strcmp(q->country, "UK") == 0)
				memcpy(q->country, "GB", 3); /* ISO 3166 */
			break;
		case OPT_KIND:
			if (tl_kind_parse(optarg, strlen(optarg), &kind) < 0) {
				log_error("top", "--kind: %s",
					  tl_strerror(TL_EKIND));
				return EXIT_USAGE;
			}
			q->kind = (int)kind;
			break;
		case OPT_NETWORK:
			rc = tl_prefix_parse(optarg, strlen(optarg), true,
					     &q->network);
			if (rc == TL_EHOSTBITS) {
				tl_prefix_format(&q->network, buf);
				log_error("top", "--network %s: host bits set; "
					  "did you mean %s?", optarg, buf);
				return EXIT_USAGE;
			}
			if (rc < 0) {
				log_error("top", "--network %s: %s", optarg,
					  tl_strerror(rc));
				return EXIT_USAGE;
			}
			q->has_network = true;
			break;
		case OPT_SINCE:
			*since = optarg;
			break;
		case OPT_UNTIL:
			*until = optarg;
			break;
		case 'n':
		case OPT_LIMIT:
			n = strtoul(optarg, &end, 10);
			if (*end || end == optarg || n == 0 ||
			    n > TL_TOP_LIMIT_MAX) {
				log_error("top", "--limit: 1 to %d",
					  TL_TOP_LIMIT_MAX);
				return EXIT_USAGE;
			}
			q->limit = (unsigned)n;
			break;
		case OPT_HELP:
			printf("usage: %s\n", usage_text);
			return -1;
		default:
			return cli_usage(usage_text);
		}
	}
	if (optind != argc)
		return cli_usage(usage_text);
	return EXIT_OK;
}

int cmd_top(int argc, char **argv)
{
	struct cli_common c = {0};
	struct top_query q = {.by = TOP_LONGEVITY, .kind = -1, .limit = 10};
	struct tl_store *s = NULL;
	struct tl_geo *geo = NULL;
	struct tl_store_info info;
	struct top_row *rows = NULL;
	unsigned nrows = 0, i;
	const char *geo_path = NULL, *since = NULL, *until = NULL;
	struct tl_policy pol;
	struct tl_oplist ops;
	struct report_ctx ctx;
	tl_day today = tl_day_today();
	bool windowed;
	int rc, ex;

	tl_oplist_init(&ops);
	ex = parse_args(argc, argv, &c, &q, &geo_path, &since, &until);
	if (ex != EXIT_OK)
		return ex < 0 ? EXIT_OK : ex;
	if (since) {
		if (tl_day_parse_relative(since, today, &q.since) < 0) {
			log_error("top", "--since %s: YYYY-MM-DD, today or Nd",
				  since);
			return EXIT_USAGE;
		}
		q.has_since = true;
	}
	if (until) {
		if (tl_day_parse_relative(until, today, &q.until) < 0) {
			log_error("top", "--until %s: YYYY-MM-DD, today or Nd",
				  until);
			return EXIT_USAGE;
		}
		q.has_until = true;
	}
	ex = cli_load(&c);
	if (ex != EXIT_OK)
		goto out;
	rc = tl_store_open(c.data, TL_STORE_READ, NULL, &s);
	if (rc == 0)
		rc = tl_store_info(s, &info);
	if (rc < 0) {
		ex = cli_store_error(c.data, rc);
		goto out;
	}
	q.latest = info.latest > today ? info.latest : today;
	if (!geo_path && c.cfg.geo_database[0])
		geo_path = c.cfg.geo_database;
	rc = tl_geo_open(geo_path, &geo);
	if (rc < 0 && (geo_path || q.country[0])) {
		log_error("top", "no country database%s%s", geo_path ? ": " : "",
			  geo_path ? geo_path : " (install geoip-database)");
		ex = EXIT_UNAVAILABLE;
		goto out;
	}
	rc = top_run(s, geo, &q, &rows, &nrows, &windowed);
	if (rc < 0) {
		ex = cli_store_error(c.data, rc);
		goto out;
	}
	if (q.by == TOP_VOLUME && q.has_since && q.kind < 0 && !windowed)
		log_warn("top", "per-day volume is kept for the last %d days: "
			 "ranking by all-time volume of IPs active since %s",
			 TL_RECENT_DAYS, since);
	ex = cli_policy_load(&c, &pol, &ops);
	if (ex != EXIT_OK)
		goto out;
	ctx.store = s;
	ctx.geo = geo;
	ctx.policy = &pol;
	ctx.today = today;
	if (c.json) {
		json_t *arr = json_array();

		for (i = 0; i < nrows; i++) {
			json_t *o = report_json(&ctx, &rows[i].ip, &rows[i].h);

			json_object_set_new(o, "rank", json_integer(i + 1));
			json_object_set_new(o, "volume",
					    json_integer((json_int_t)rows[i].volume));
			json_array_append_new(arr, o);
		}
		if (json_dumpf(arr, stdout, JSON_COMPACT | JSON_REAL_PRECISION(6)) < 0)
			ex = EXIT_SOFTWARE;
		putchar('\n');
		json_decref(arr);
	} else {
		if (windowed)
			printf("events: since %s\n", since);
		else if (q.kind >= 0)
			printf("events: %s only\n", tl_kind_name(q.kind));
		report_row_header(stdout);
		for (i = 0; i < nrows; i++)
			report_row(stdout, &ctx, i + 1, &rows[i].ip, &rows[i].h,
				   rows[i].volume);
	}
	if (ex == EXIT_OK && fflush(stdout) != 0)
		ex = EXIT_SOFTWARE;
out:
	top_rows_free(rows, nrows);
	tl_oplist_free(&ops);
	tl_geo_close(geo);
	tl_store_close(s);
	cli_free(&c);
	return ex;
}
