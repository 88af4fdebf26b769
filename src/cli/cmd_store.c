/* SPDX-License-Identifier: MIT */
/* cmd_store.c -- trapline store: look after the store itself */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "trapline/err.h"
#include "trapline/log.h"
#include "trapline/store.h"

static const char usage_text[] =
	"trapline store info|verify|compact [--json] [--data DIR] "
	"[--config FILE]";

static int info(struct tl_store *s, bool json)
{
	struct tl_store_info in;
	char day[TL_DAY_STRLEN];
	int rc = tl_store_info(s, &in);

	if (rc < 0)
		return rc;
	tl_day_format(in.latest, day);
	if (json) {
		json_t *o = json_pack("{s:I, s:I, s:I, s:s?, s:I, s:I}",
				      "ips_v4", (json_int_t)in.ips_v4,
				      "ips_v6", (json_int_t)in.ips_v6,
				      "events", (json_int_t)in.events,
				      "latest", in.events ? day : NULL,
				      "map_used", (json_int_t)in.map_used,
				      "map_free", (json_int_t)in.map_free);

		if (!o || json_dumpf(o, stdout, JSON_COMPACT) < 0)
			rc = TL_ENOMEM;
		putchar('\n');
		json_decref(o);
		return rc;
	}
	printf("IPs          %" PRIu64 " (IPv4 %" PRIu64 ", IPv6 %" PRIu64 ")\n",
	       in.ips_v4 + in.ips_v6, in.ips_v4, in.ips_v6);
	printf("events       %" PRIu64 "\n", in.events);
	printf("latest day   %s\n", in.events ? day : "-");
	printf("history      %" PRIu64 " MiB in the file, %" PRIu64
	       " MiB of it free (reused; 'trapline store compact' returns "
	       "it)\n",
	       in.map_used >> 20, in.map_free >> 20);
	return 0;
}

static void report_bad(const struct tl_ip *ip, const char *what, int err,
		       void *ctx)
{
	char buf[TL_IP_STRLEN];
	uint64_t *shown = ctx;

	if ((*shown)++ >= 100)
		return;
	tl_ip_format(ip, buf);
	log_warn("store", "%s record of %s: %s", what, buf, tl_strerror(err));
}

int cmd_store(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	struct cli_common c = {0};
	struct tl_store_opts so = {0};
	struct tl_store *s = NULL;
	const char *what;
	uint64_t nbad = 0, shown = 0;
	int64_t n;
	int opt, rc, ex;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (cli_common_opt(&c, opt, optarg))
			continue;
		if (opt == OPT_HELP) {
			printf("usage: %s\n", usage_text);
			return EXIT_OK;
		}
		return cli_usage(usage_text);
	}
	if (optind + 1 != argc)
		return cli_usage(usage_text);
	what = argv[optind];
	if (strcmp(what, "info") && strcmp(what, "verify") &&
	    strcmp(what, "compact"))
		return cli_usage(usage_text);
	ex = cli_load(&c);
	if (ex != EXIT_OK)
		goto out;
	so.map_size = c.cfg.map_size;
	so.wait_lock = true;
	rc = tl_store_open(c.data,
			   strcmp(what, "compact") == 0 ? TL_STORE_WRITE
							: TL_STORE_READ,
			   &so, &s);
	if (rc < 0) {
		ex = cli_store_error(c.data, rc);
		goto out;
	}
	if (strcmp(what, "info") == 0) {
		rc = info(s, c.json);
	} else if (strcmp(what, "verify") == 0) {
		n = tl_store_verify(s, report_bad, &shown, &nbad);
		rc = n < 0 ? (int)n : 0;
		if (rc == 0)
			log_info("store", "%" PRId64 " records read, %" PRIu64
				 " unreadable", n, nbad);
	} else {
		rc = tl_store_compact(s);
		if (rc == 0)
			rc = info(s, c.json);
	}
	if (rc < 0)
		ex = cli_store_error(c.data, rc);
	else
		ex = nbad ? EXIT_DATAERR : EXIT_OK;
out:
	tl_store_close(s);
	cli_free(&c);
	return ex;
}
