/* SPDX-License-Identifier: MIT */
/* trap_setup.c -- starting the trap, for `trap` and `serve` alike */
#include <errno.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "trap/server.h"
#include "trapline/err.h"
#include "trapline/log.h"

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

int cli_trap_open(struct cli_common *c, const char *listen,
		  struct tl_store *s, struct cli_trap *t)
{
	struct trap_setup su = {0};
	int rc;

	memset(t, 0, sizeof(*t));
	if (c->cfg.trap_retain_dir[0] &&
	    make_maildir(c->cfg.trap_retain_dir) < 0)
		return EXIT_CANTCREAT;
	tl_policy_from_config(&t->pol, &c->cfg);
	su.cfg = &c->cfg;
	su.listen = listen;
	su.data = c->data;
	su.store = s;
	/* The tarpit reads through the writer's handle: LMDB must not be
	 * opened twice in one process, and its read transactions may run
	 * on any thread beside the committer's writes (MDB_NOTLS). */
	su.reader = c->cfg.trap_tarpit_delay ? s : NULL;
	su.policy = &t->pol;
	rc = trap_server_new(&su, &t->srv);
	if (rc < 0)
		return rc == -EADDRINUSE || rc == -EACCES ? EXIT_UNAVAILABLE
							  : EXIT_USAGE;
	if (drop_privileges(c->cfg.trap_user, c->data,
			    c->cfg.trap_retain_dir) < 0)
		return EXIT_NOPERM;
	return EXIT_OK;
}

void cli_trap_close(struct cli_trap *t)
{
	trap_server_free(t->srv);
	memset(t, 0, sizeof(*t));
}
