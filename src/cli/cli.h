/* SPDX-License-Identifier: MIT */
/* cli.h -- what the subcommands share: exit codes, config, store paths */
#ifndef TRAPLINE_CLI_H
#define TRAPLINE_CLI_H

#include <signal.h>
#include <stdbool.h>

#include "trapline/config.h"
#include "trapline/policy.h"
#include "trapline/store.h"

/* Exit codes (sysexits(3), DESIGN.md). */
enum {
	EXIT_OK = 0,
	EXIT_FOUND = 1,        /* yes to a yes/no question (listed, ...) */
	EXIT_USAGE = 2,        /* bad command line */
	EXIT_DATAERR = 65,     /* bad input data (some records skipped) */
	EXIT_NOINPUT = 66,     /* no store, or an input file missing */
	EXIT_UNAVAILABLE = 69, /* a needed service is unavailable */
	EXIT_SOFTWARE = 70,    /* internal error */
	EXIT_CANTCREAT = 73,   /* cannot create an output file */
	EXIT_IOERR = 74,       /* the disk failed or is full */
	EXIT_TEMPFAIL = 75,    /* try again later (store busy) */
	EXIT_NOPERM = 77,      /* cannot drop privileges */
};

/* Options every subcommand takes (getopt_long values >= 256). */
enum {
	OPT_DATA = 256,
	OPT_CONFIG,
	OPT_JSON,
	OPT_GEO,
	OPT_HELP,
	OPT_CMD_BASE = 300, /* first value free for a subcommand */
};

#define CLI_COMMON_LONGOPTS                                        \
	{"data", required_argument, NULL, OPT_DATA},               \
	{"config", required_argument, NULL, OPT_CONFIG},           \
	{"json", no_argument, NULL, OPT_JSON},                     \
	{"help", no_argument, NULL, OPT_HELP}

struct cli_common {
	const char *data_opt;   /* --data, or NULL */
	const char *config_opt; /* --config, or NULL */
	bool json;              /* --json */
	struct tl_config cfg;   /* loaded by cli_load */
	const char *data;       /* resolved store directory */
};

/*
 * Handle a common option @opt (from getopt_long) into @c. Returns true when
 * it was one of the common ones.
 */
bool cli_common_opt(struct cli_common *c, int opt, const char *arg);

/*
 * Load the configuration (--config, else $TRAPLINE_CONFIG, else none) and
 * resolve the store directory: --data, else $TRAPLINE_DATA, else [store]
 * data. Returns an exit code (EXIT_OK on success); errors are logged.
 */
int cli_load(struct cli_common *c);
void cli_free(struct cli_common *c);

/* --listen ADDR:PORT, repeatable: appended to @buf (@size bytes) with a
 * space. Returns EXIT_OK or EXIT_USAGE when it does not fit. */
int cli_listen_add(char *buf, size_t size, const char *arg);

/* Print "usage: ..." for @cmd to stderr; returns EXIT_USAGE. */
int cli_usage(const char *usage);

/* Open the store at c->data ([store] map_size from the config loaded).
 * Returns an exit code; errors are logged. */
int cli_open_store(struct cli_common *c, enum tl_store_mode mode,
		   bool wait_lock, struct tl_store **s);

/* Map a tl_err from opening the store to an exit code, logging why. */
int cli_store_error(const char *dir, int err);
/* The exit code for a tl_err (no logging). */
int cli_exit_code(int err);

struct mail_rules;
struct mail_relays;
struct mail_av;
/*
 * What the mailbox sensors need from the configuration: the content rules
 * ([content] rules, or the built-in ones) and [ingest] own_relays. Returns
 * an exit code; errors are logged. Free with cli_mail_free.
 */
int cli_mail_load(const struct cli_common *c, struct mail_rules **rules,
		  struct mail_relays *relays, struct mail_av **av);
void cli_mail_free(struct mail_rules *rules, struct mail_relays *relays,
		   struct mail_av *av);

struct tl_oplist;
/*
 * The listing rules as every command applies them: the config's [policy]
 * and the operator's entries (DATA/operator.list, loaded into @ops and
 * compiled for today; pol->ops points at it). Returns an exit code
 * (EXIT_DATAERR for a damaged list); errors are logged. tl_oplist_free
 * @ops after use.
 */
int cli_policy_load(const struct cli_common *c, struct tl_policy *pol,
		    struct tl_oplist *ops);

/*
 * DATA/@name.pid for a running daemon: written with the pid and kept
 * locked (flock) while it runs, so `trapline list` can tell a live one
 * from a stale file and ask it to reload. Returns the descriptor to pass
 * to cli_pidfile_close, or -1 (logged; the daemon runs on without).
 */
int cli_pidfile_open(const char *data, const char *name);
void cli_pidfile_close(int fd, const char *data, const char *name);
/* The SOA serial for a new snapshot: the time, but above the last one this
 * process gave, so that two builds in one second (a `trapline list`
 * change right after a refresh) still differ. Called by one builder. */
uint32_t cli_snapshot_serial(void);

/* The snapshot's file, "[dns] snapshot_dir/bl.snap" (DATA/snapshot when
 * that is empty), into @path (@size bytes), its directory made if
 * missing. Returns EXIT_OK or EXIT_CANTCREAT (logged under @who). */
int cli_snapshot_path(const struct cli_common *c, const char *who,
		      char *path, size_t size);

/* SIGHUP every daemon with a live pid file in @data; returns how many. */
unsigned cli_reload_daemons(const char *data);

/* Set *@flag to the signal number on SIGTERM and SIGINT, and with @hup
 * on SIGHUP too (unless a stop came first). */
void cli_on_signals(volatile sig_atomic_t *flag, bool hup);

/* The trap as `trap` and `serve` start it: bound, TLS ready, privileges
 * dropped ([trap] user), not yet running. */
struct trap_server;
struct cli_trap {
	struct trap_server *srv;
	struct tl_policy pol;
};
int cli_trap_open(struct cli_common *c, const char *listen,
		  struct tl_store *s, struct cli_trap *t);
void cli_trap_close(struct cli_trap *t);

int cmd_ingest(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_trap(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_dns(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_simulate(int argc, char **argv);
int cmd_store(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_check(int argc, char **argv);

#endif
