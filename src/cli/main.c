/* SPDX-License-Identifier: MIT */
/* main.c -- trapline: one binary, one subcommand per job */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "trapline/log.h"

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *what;
} commands[] = {
	{"ingest", cmd_ingest, "events from files, mail logs and mailboxes"},
	{"show", cmd_show, "one IP's history"},
	{"top", cmd_top, "rankings: longest-running, biggest, most recent"},
	{"simulate", cmd_simulate, "a synthetic trap network's event stream"},
	{"store", cmd_store, "the store itself: info, verify, compact"},
	{"trap", cmd_trap, "the SMTP spam trap"},
	{"dns", cmd_dns, "the DNS block list (bl and hist zones)"},
	{"export", cmd_export, "the listed set for rbldnsd, BIND, ipset, nft"},
	{"list", cmd_list, "operator listings and the allowlist"},
	{"check", cmd_check, "which DNS block lists list these addresses"},
	{"serve", cmd_serve, "everything on one machine: trap, DNS, log and mailbox sensors"},
};

static int usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: trapline COMMAND [options]\n\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].what);
	fprintf(f, "\n'trapline COMMAND --help' and man trapline-COMMAND "
		   "(docs/) say more.\n");
	return f == stdout ? EXIT_OK : EXIT_USAGE;
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2)
		return usage(stderr);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0)
		return usage(stdout);
	if (strcmp(argv[1], "--version") == 0) {
		printf("trapline 0.1.0\n");
		return EXIT_OK;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "trapline: unknown command '%s'\n", argv[1]);
	return usage(stderr);
}
