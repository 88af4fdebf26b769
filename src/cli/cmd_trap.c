/* SPDX-License-Identifier: MIT */
/* cmd_trap.c -- trapline trap: the SMTP spam-trap sensor */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "trap/server.h"
#include "trapline/err.h"
#include "trapline/log.h"

static const char usage_text[] =
	"trapline trap [--listen ADDR:PORT]... [--data DIR] [--config FILE]";

enum {
	OPT_LISTEN = OPT_CMD_BASE,
};

int cmd_trap(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{"listen", required_argument, NULL, OPT_LISTEN},
		{NULL, 0, NULL, 0},
	};
	static volatile sig_atomic_t stop;
	struct cli_common c = {0};
	struct tl_store *s = NULL;
	struct cli_trap t = {0};
	struct trap_stats ts;
	char listen[4096] = "";
	int opt, rc, ex;

	while ((opt = getopt_long(argc, argv, "l:", longopts, NULL)) != -1) {
		if (cli_common_opt(&c, opt, optarg))
			continue;
		switch (opt) {
		case 'l':
		case OPT_LISTEN:
			if (cli_listen_add(listen, sizeof(listen), optarg))
				return cli_usage(usage_text);
			break;
		case OPT_HELP:
			printf("usage: %s\n", usage_text);
			return EXIT_OK;
		default:
			return cli_usage(usage_text);
		}
	}
	if (optind != argc)
		return cli_usage(usage_text);
	/* Before anything listens: a signal that comes as soon as the
	 * port is announced must find the handlers in place. */
	cli_on_signals(&stop, true);
	ex = cli_load(&c);
	if (ex != EXIT_OK)
		goto out;
	ex = cli_open_store(&c, TL_STORE_WRITE, false, &s);
	if (ex != EXIT_OK)
		goto out;
	ex = cli_trap_open(&c, listen[0] ? listen : NULL, s, &t);
	if (ex != EXIT_OK)
		goto out;
	rc = trap_server_run(t.srv, &stop);
	trap_server_stats(t.srv, &ts);
	log_info("trap", "stopped: %" PRIu64 " sessions, %" PRIu64
		 " messages, %" PRIu64 " other events, %" PRIu64
		 " refused (busy)", ts.sessions, ts.messages, ts.events,
		 ts.refused_busy);
	ex = rc < 0 ? cli_exit_code(rc) : EXIT_OK;
out:
	cli_trap_close(&t);
	tl_store_close(s);
	cli_free(&c);
	return ex;
}
