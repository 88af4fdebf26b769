/* SPDX-License-Identifier: MIT */
/* cmd_show.c -- trapline show: one IP's history */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "policy/oplist.h"
#include "query/query.h"
#include "trapline/err.h"
#include "trapline/log.h"

static const char usage_text[] =
	"trapline show [--json] [--geo FILE.mmdb] [--data DIR] IP...";

/* The last `trapline check --record`: {"day", "listed", "of"}. */
static json_t *checked_json(const struct tl_check_record *c)
{
	char day[TL_DAY_STRLEN];

	tl_day_format(c->day, day);
	return json_pack("{s:s, s:I, s:I}", "day", day, "listed",
			 (json_int_t)c->listed, "of", (json_int_t)c->of);
}

int cmd_show(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{"geo", required_argument, NULL, OPT_GEO},
		{NULL, 0, NULL, 0},
	};
	struct cli_common c = {0};
	struct tl_store *s = NULL;
	struct tl_geo *geo = NULL;
	struct tl_policy pol;
	struct tl_oplist ops;
	struct report_ctx ctx;
	struct tl_history h;
	const char *geo_path = NULL;
	struct tl_check_record chk;
	char day[TL_DAY_STRLEN];
	struct tl_ip ip;
	int opt, rc, ex, i;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (cli_common_opt(&c, opt, optarg))
			continue;
		if (opt == OPT_GEO) {
			geo_path = optarg;
		} else if (opt == OPT_HELP) {
			printf("usage: %s\n", usage_text);
			return EXIT_OK;
		} else {
			return cli_usage(usage_text);
		}
	}
	if (optind >= argc)
		return cli_usage(usage_text);
	for (i = optind; i < argc; i++) {
		rc = tl_ip_parse(argv[i], strlen(argv[i]), &ip);
		if (rc < 0) {
			log_error("show", "'%s': %s", argv[i], tl_strerror(rc));
			return EXIT_USAGE;
		}
	}
	tl_oplist_init(&ops);
	ex = cli_load(&c);
	if (ex != EXIT_OK)
		goto out;
	rc = tl_store_open(c.data, TL_STORE_READ, NULL, &s);
	if (rc < 0) {
		ex = cli_store_error(c.data, rc);
		goto out;
	}
	if (!geo_path && c.cfg.geo_database[0])
		geo_path = c.cfg.geo_database;
	rc = tl_geo_open(geo_path, &geo);
	if (rc < 0 && geo_path) {
		ex = EXIT_NOINPUT;
		goto out;
	}
	ex = cli_policy_load(&c, &pol, &ops);
	if (ex != EXIT_OK)
		goto out;
	ctx.store = s;
	ctx.geo = geo;
	ctx.policy = &pol;
	ctx.today = tl_day_today();
	for (i = optind; i < argc; i++) {
		tl_ip_parse(argv[i], strlen(argv[i]), &ip);
		rc = tl_store_get(s, &ip, &h);
		if (rc < 0 && rc != TL_ENOENT) {
			ex = cli_store_error(c.data, rc);
			goto out;
		}
		rc = tl_store_get_check(s, &ip, &chk);
		if (rc < 0 && rc != TL_ENOENT) {
			tl_history_free(&h);
			ex = cli_store_error(c.data, rc);
			goto out;
		}
		if (c.json) {
			json_t *o = report_json(&ctx, &ip, &h);

			if (o)
				json_object_set_new(o, "checked",
						    rc == 0 ? checked_json(&chk)
							    : json_null());

			if (!o || json_dumpf(o, stdout, JSON_COMPACT | JSON_REAL_PRECISION(6)) < 0) {
				json_decref(o);
				tl_history_free(&h);
				ex = EXIT_SOFTWARE;
				goto out;
			}
			putchar('\n');
			json_decref(o);
		} else {
			report_text(stdout, &ctx, &ip, &h);
			if (rc == 0) {
				tl_day_format(chk.day, day);
				printf("  last check   %s: listed on %u of %u "
				       "block lists\n", day, chk.listed, chk.of);
			}
		}
		tl_history_free(&h);
	}
	ex = EXIT_OK;
out:
	if (fflush(stdout) != 0)
		ex = EXIT_SOFTWARE;
	tl_geo_close(geo);
	tl_oplist_free(&ops);
	tl_store_close(s);
	cli_free(&c);
	return ex;
}
