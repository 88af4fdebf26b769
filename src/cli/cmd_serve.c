/* SPDX-License-Identifier: MIT */
/* cmd_serve.c -- trapline serve: every sensor on one machine, one process
 *
 * Today serve runs the passive sensors from the configuration: Postfix
 * logs and trap mboxes it follows ([ingest] postfix_log, mbox) and trap
 * maildirs it watches ([ingest] maildir), all into one store. The SMTP
 * trap and the DNS server join it here as they land.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ingest/ingest.h"
#include "mail/mail.h"
#include "trapline/alloc.h"
#include "trapline/err.h"
#include "trapline/log.h"

static const char usage_text[] =
	"trapline serve [--data DIR] [--config FILE]";

#define SOURCES_MAX 64 /* followed files and maildirs (count) */

struct sources {
	char *text;                /* owned copy the items point into */
	char *item[SOURCES_MAX];
	const struct ingest_format *format[SOURCES_MAX];
	unsigned n;
};

/* Split a space-separated config value into @src as @format sources. */
static int add_sources(struct sources *src, char *text, const char *format)
{
	char *save = NULL, *p;

	for (p = strtok_r(text, " \t,", &save); p;
	     p = strtok_r(NULL, " \t,", &save)) {
		if (src->n == SOURCES_MAX) {
			log_error("serve", "more than %d sources", SOURCES_MAX);
			return TL_ELIMIT;
		}
		src->item[src->n] = p;
		src->format[src->n++] = ingest_format_find(format);
	}
	return 0;
}

/* The signal that ends a run: SIGHUP reloads, the others stop. */
static volatile sig_atomic_t stop;

/* One run over the configuration until SIGTERM/SIGINT (returns with
 * *again false) or SIGHUP (*again true: read the configuration again). */
static int run(struct cli_common *c, bool *again)
{
	struct ingest_follow *files[SOURCES_MAX] = {0};
	struct ingest_opts fo[SOURCES_MAX];
	char *dirs[SOURCES_MAX];
	struct ingest_opts o = {0};
	struct ingest_stats st = {0};
	struct tl_store_opts so = {0};
	struct mail_rules *rules = NULL;
	struct mail_relays relays = {0};
	struct tl_store *s = NULL;
	struct sources src = {0};
	char *a = NULL, *b = NULL, *d = NULL;
	unsigned i, nf = 0, nd = 0;
	int ex, rc;

	*again = false;
	ex = cli_load(c);
	if (ex != EXIT_OK)
		return ex;
	ex = cli_mail_load(c, &rules, &relays);
	if (ex != EXIT_OK)
		goto out;
	a = strdup(c->cfg.ingest_postfix_log);
	b = strdup(c->cfg.ingest_mbox);
	d = strdup(c->cfg.ingest_maildir);
	if (!a || !b || !d) {
		ex = EXIT_SOFTWARE;
		goto out;
	}
	if (add_sources(&src, a, "postfix") < 0 ||
	    add_sources(&src, b, "mbox") < 0 ||
	    add_sources(&src, d, "maildir") < 0) {
		ex = EXIT_USAGE;
		goto out;
	}
	if (src.n == 0) {
		log_error("serve", "nothing to serve: set [ingest] postfix_log, "
			  "mbox or maildir in the configuration");
		ex = EXIT_USAGE;
		goto out;
	}
	o.cfg = &c->cfg;
	o.rules = rules;
	o.relays = &relays;
	o.format = ingest_format_find("maildir");
	so.map_size = c->cfg.map_size;
	so.wait_lock = false;
	rc = tl_store_open(c->data, TL_STORE_WRITE, &so, &s);
	if (rc < 0) {
		ex = cli_store_error(c->data, rc);
		goto out;
	}
	for (i = 0; i < src.n; i++) {
		if (src.format[i]->is_dir) {
			dirs[nd++] = src.item[i];
			log_info("serve", "watching maildir %s", src.item[i]);
			continue;
		}
		fo[nf] = o;
		fo[nf].format = src.format[i];
		rc = ingest_follow_open(s, c->data, src.item[i], &fo[nf], &st,
					&files[nf]);
		if (rc < 0) {
			log_error("serve", "%s: %s", src.item[i],
				  tl_strerror(rc));
			ex = cli_exit_code(rc);
			goto out;
		}
		log_info("serve", "following %s (%s)", src.item[i],
			 src.format[i]->name);
		nf++;
	}
	rc = ingest_follow_run(files, nf, s, dirs, nd, &o, &st, &stop);
	if (rc < 0 && !stop)
		ex = cli_exit_code(rc);
	*again = stop == SIGHUP;
	log_info("serve", "%s: %" PRIu64 " events stored, %" PRIu64
		 " bad records", *again ? "reloading" : "stopping", st.events,
		 st.bad);
out:
	for (i = 0; i < nf; i++) {
		rc = ingest_follow_close(files[i]);
		if (rc < 0 && ex == EXIT_OK)
			ex = cli_exit_code(rc);
	}
	tl_store_close(s);
	cli_mail_free(rules, &relays);
	free(a);
	free(b);
	free(d);
	cli_free(c);
	return ex;
}

int cmd_serve(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	struct cli_common c = {0};
	bool again;
	int opt, ex;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (cli_common_opt(&c, opt, optarg))
			continue;
		if (opt == OPT_HELP) {
			printf("usage: %s\n", usage_text);
			return EXIT_OK;
		}
		return cli_usage(usage_text);
	}
	if (optind != argc)
		return cli_usage(usage_text);
	cli_on_signals(&stop, true);
	do {
		struct cli_common one = {.data_opt = c.data_opt,
					 .config_opt = c.config_opt};

		stop = 0;
		ex = run(&one, &again);
	} while (again && ex == EXIT_OK);
	return ex;
}
