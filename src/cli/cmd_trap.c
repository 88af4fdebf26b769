/* SPDX-License-Identifier: MIT */
/* cmd_trap.c -- trapline trap: the SMTP spam-trap sensor */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "trap/server.h"
#include "trapline/err.h"
#include "trapline/log.h"
#include "trapline/policy.h"

static const char usage_text[] =
	"trapline trap [--listen ADDR:PORT]... [--data DIR] [--config FILE]";

enum {
	OPT_LISTEN = OPT_CMD_BASE,
};

static uid_t chown_uid;
static gid_t chown_gid;

static int chown_one(const char *path, const struct stat *sb, int flag,
		     struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	if (lchown(path, chown_uid, chown_gid) < 0)
		log_warn("trap", "chown %s: %s", path, strerror(errno));
	return 0;
}

/*
 * Started as root: hand the store (and the retained-mail maildir) to
 * @user, then become it for good (setgroups, setresgid, setresuid, each
 * checked), as NSD and spamd do once their sockets are bound.
 */
static int drop_privileges(const char *user, const char *data,
			   const char *retain)
{
	struct passwd *pw;

	if (geteuid() != 0) {
		if (*user)
			log_warn("trap", "[trap] user %s: not root, so running "
				 "as who we are", user);
		return 0;
	}
	if (!*user) {
		log_warn("trap", "running as root: set [trap] user to run as "
			 "an unprivileged user once bound");
		return 0;
	}
	pw = getpwnam(user);
	if (!pw) {
		log_error("trap", "[trap] user %s: no such user", user);
		return TL_EINVAL;
	}
	chown_uid = pw->pw_uid;
	chown_gid = pw->pw_gid;
	nftw(data, chown_one, 16, FTW_PHYS);
	if (*retain)
		nftw(retain, chown_one, 16, FTW_PHYS);
	if (setgroups(0, NULL) < 0 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0) {
		log_error("trap", "becoming %s: %s", user, strerror(errno));
		return -errno;
	}
	if (setuid(0) == 0) { /* must not be able to come back */
		log_error("trap", "still able to become root; stopping");
		return TL_EINVAL;
	}
	log_info("trap", "running as %s", user);
	return 0;
}

/* A maildir's new/, cur/ and tmp/, made if missing. */
static int make_maildir(const char *dir)
{
	static const char *const subs[] = {"", "/tmp", "/new", "/cur"};
	char path[4096];
	size_t i;

	for (i = 0; i < 4; i++) {
		int n = snprintf(path, sizeof(path), "%s%s", dir, subs[i]);

		if (n < 0 || (size_t)n >= sizeof(path))
			return TL_ETOOLONG;
		if (mkdir(path, 0750) < 0 && errno != EEXIST) {
			log_error("trap", "%s: %s", path, strerror(errno));
			return -errno;
		}
	}
	return 0;
}

int cmd_trap(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{"listen", required_argument, NULL, OPT_LISTEN},
		{NULL, 0, NULL, 0},
	};
	static volatile sig_atomic_t stop;
	struct cli_common c = {0};
	struct tl_store_opts so = {0};
	struct tl_store *s = NULL, *reader = NULL;
	struct trap_server *srv = NULL;
	struct trap_setup su = {0};
	struct trap_stats ts;
	struct tl_policy pol;
	char listen[4096] = "";
	int opt, rc, ex;

	while ((opt = getopt_long(argc, argv, "l:", longopts, NULL)) != -1) {
		if (cli_common_opt(&c, opt, optarg))
			continue;
		switch (opt) {
		case 'l':
		case OPT_LISTEN:
			if (strlen(listen) + strlen(optarg) + 2 > sizeof(listen))
				return cli_usage(usage_text);
			if (listen[0])
				strcat(listen, " ");
			strcat(listen, optarg);
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
	ex = cli_load(&c);
	if (ex != EXIT_OK)
		goto out;
	so.map_size = c.cfg.map_size;
	rc = tl_store_open(c.data, TL_STORE_WRITE, &so, &s);
	if (rc < 0) {
		ex = cli_store_error(c.data, rc);
		goto out;
	}
	if (c.cfg.trap_tarpit_delay &&
	    tl_store_open(c.data, TL_STORE_READ, &so, &reader) < 0)
		log_warn("trap", "no tarpit: the store cannot be read");
	if (c.cfg.trap_retain_dir[0] &&
	    make_maildir(c.cfg.trap_retain_dir) < 0) {
		ex = EXIT_CANTCREAT;
		goto out;
	}
	tl_policy_from_config(&pol, &c.cfg);
	su.cfg = &c.cfg;
	su.listen = listen[0] ? listen : NULL;
	su.data = c.data;
	su.store = s;
	su.reader = reader;
	su.policy = &pol;
	rc = trap_server_new(&su, &srv);
	if (rc < 0) {
		ex = rc == -EADDRINUSE || rc == -EACCES ? EXIT_UNAVAILABLE
						      : EXIT_USAGE;
		goto out;
	}
	if (drop_privileges(c.cfg.trap_user, c.data,
			    c.cfg.trap_retain_dir) < 0) {
		ex = EXIT_NOPERM;
		goto out;
	}
	cli_on_signals(&stop, true);
	rc = trap_server_run(srv, &stop);
	trap_server_stats(srv, &ts);
	log_info("trap", "stopped: %" PRIu64 " sessions, %" PRIu64
		 " messages, %" PRIu64 " other events, %" PRIu64
		 " refused (busy)", ts.sessions, ts.messages, ts.events,
		 ts.refused_busy);
	ex = rc < 0 ? cli_exit_code(rc) : EXIT_OK;
out:
	trap_server_free(srv);
	tl_store_close(reader);
	tl_store_close(s);
	cli_free(&c);
	return ex;
}
