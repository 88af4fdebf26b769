/* SPDX-License-Identifier: MIT */
/* common.c -- options, configuration and errors shared by subcommands */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "mail/mail.h"
#include "policy/oplist.h"
#include "trapline/err.h"
#include "trapline/log.h"

bool cli_common_opt(struct cli_common *c, int opt, const char *arg)
{
	switch (opt) {
	case OPT_DATA:
		c->data_opt = arg;
		return true;
	case OPT_CONFIG:
		c->config_opt = arg;
		return true;
	case OPT_JSON:
		c->json = true;
		return true;
	}
	return false;
}

int cli_load(struct cli_common *c)
{
	const char *path = c->config_opt, *env;
	int rc;

	rc = tl_config_defaults(&c->cfg);
	if (rc < 0) {
		log_error("config", "defaults: %s", tl_strerror(rc));
		return EXIT_SOFTWARE;
	}
	if (!path) {
		env = getenv("TRAPLINE_CONFIG");
		if (env && *env)
			path = env;
	}
	if (path) {
		rc = tl_config_load(&c->cfg, path);
		if (rc == TL_ENOENT)
			return EXIT_NOINPUT;
		if (rc < 0)
			return EXIT_USAGE;
	}
	env = getenv("TRAPLINE_DATA");
	if (c->data_opt)
		c->data = c->data_opt;
	else if (env && *env)
		c->data = env;
	else
		c->data = c->cfg.data;
	return EXIT_OK;
}

void cli_free(struct cli_common *c)
{
	tl_config_free(&c->cfg);
}

int cli_usage(const char *usage)
{
	fprintf(stderr, "usage: %s\n", usage);
	return EXIT_USAGE;
}

int cli_exit_code(int err)
{
	switch (err) {
	case TL_ENOSTORE:
	case TL_ENOENT:
		return EXIT_NOINPUT;
	case TL_EAGAIN:
		return EXIT_TEMPFAIL;
	case TL_ECORRUPT:
	case TL_EVERSION:
		return EXIT_DATAERR;
	case TL_EMAPFULL:
		return EXIT_UNAVAILABLE;
	case TL_ENOSPC:
	case TL_EIO:
	case -EDQUOT:
		return EXIT_IOERR;
	}
	return EXIT_SOFTWARE;
}

int cli_store_error(const char *dir, int err)
{
	log_error("store", "%s: %s", dir, tl_strerror(err));
	return cli_exit_code(err);
}

int cli_mail_load(const struct cli_common *c, struct mail_rules **rules,
		  struct mail_relays *relays, struct mail_av **av)
{
	const char *bad = NULL;
	int rc;

	memset(relays, 0, sizeof(*relays));
	*av = NULL;
	if (c->cfg.content_clamav[0] &&
	    mail_av_open(c->cfg.content_clamav, av) < 0)
		return EXIT_UNAVAILABLE;
	rc = mail_rules_load(c->cfg.content_rules, rules);
	if (rc < 0) {
		mail_av_free(*av);
		*av = NULL;
		return rc == TL_ENOENT ? EXIT_NOINPUT : EXIT_DATAERR;
	}
	rc = mail_relays_parse(c->cfg.ingest_own_relays, relays, &bad);
	if (rc < 0) {
		log_error("config", "[ingest] own_relays: '%.64s': %s",
			  bad ? bad : "", tl_strerror(rc));
		mail_rules_free(*rules);
		*rules = NULL;
		mail_av_free(*av);
		*av = NULL;
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

void cli_mail_free(struct mail_rules *rules, struct mail_relays *relays,
		   struct mail_av *av)
{
	mail_rules_free(rules);
	mail_relays_free(relays);
	mail_av_free(av);
}

static volatile sig_atomic_t *stop_flag;

/* SIGTERM and SIGINT win over SIGHUP: a reload never hides a stop. */
static void on_signal(int sig)
{
	if (sig != SIGHUP || !*stop_flag)
		*stop_flag = sig;
}

void cli_on_signals(volatile sig_atomic_t *flag, bool hup)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	stop_flag = flag;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (hup)
		sigaction(SIGHUP, &sa, NULL);
}

int cli_listen_add(char *buf, size_t size, const char *arg)
{
	size_t have = strlen(buf), add = strlen(arg);

	if (have + add + 2 > size)
		return EXIT_USAGE;
	if (have)
		buf[have++] = ' ';
	memcpy(buf + have, arg, add + 1);
	return EXIT_OK;
}

int cli_open_store(struct cli_common *c, enum tl_store_mode mode,
		   bool wait_lock, struct tl_store **s)
{
	struct tl_store_opts so = {.map_size = c->cfg.map_size,
				   .wait_lock = wait_lock};
	int rc;

	rc = tl_store_open(c->data, mode, &so, s);
	return rc < 0 ? cli_store_error(c->data, rc) : EXIT_OK;
}

int cli_policy_load(const struct cli_common *c, struct tl_policy *pol,
		    struct tl_oplist *ops)
{
	int rc;

	tl_policy_from_config(pol, &c->cfg);
	tl_oplist_init(ops);
	rc = tl_oplist_load(c->data, ops);
	if (rc == 0)
		rc = tl_oplist_compile(ops, tl_day_today());
	if (rc < 0) {
		log_error("list", "%s/%s: %s", c->data, TL_OPLIST_FILE,
			  tl_strerror(rc));
		tl_oplist_free(ops);
		return rc == TL_ECORRUPT || rc == TL_ELIMIT ? EXIT_DATAERR
							    : cli_exit_code(rc);
	}
	pol->ops = ops;
	return EXIT_OK;
}

int cli_snapshot_path(const struct cli_common *c, const char *who,
		      char *path, size_t size)
{
	const char *dir = c->cfg.dns_snapshot_dir;
	int n = dir[0] ? snprintf(path, size, "%s", dir)
		       : snprintf(path, size, "%s/snapshot", c->data);

	if (n < 0 || (size_t)n + sizeof("/bl.snap") > size) {
		log_error(who, "%s: path too long", path);
		return EXIT_CANTCREAT;
	}
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		log_error(who, "%s: %s", path, strerror(errno));
		return EXIT_CANTCREAT;
	}
	strcat(path, "/bl.snap");
	return EXIT_OK;
}

uint32_t cli_snapshot_serial(void)
{
	static uint32_t last;
	uint32_t s = (uint32_t)time(NULL);

	if (s <= last)
		s = last + 1;
	last = s;
	return s;
}

static const char *const daemons[] = {"dns", "serve"};

int cli_pidfile_open(const char *data, const char *name)
{
	char path[4200], buf[32];
	int fd, n;

	snprintf(path, sizeof(path), "%s/%s.pid", data, name);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
		log_warn(name, "%s: %s (another one running?); `trapline "
			 "list` will not ask this one to reload", path,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || write(fd, buf, (size_t)n) != n)
		log_warn(name, "%s: %s", path, strerror(errno));
	return fd;
}

void cli_pidfile_close(int fd, const char *data, const char *name)
{
	char path[4200];

	if (fd < 0)
		return;
	snprintf(path, sizeof(path), "%s/%s.pid", data, name);
	unlink(path); /* may fail after dropping privileges: the lock,
		       * which goes with the process, is what counts */
	close(fd);
}

unsigned cli_reload_daemons(const char *data)
{
	unsigned i, n = 0;

	for (i = 0; i < sizeof(daemons) / sizeof(daemons[0]); i++) {
		char path[4200], buf[32];
		ssize_t r;
		long pid;
		int fd;

		snprintf(path, sizeof(path), "%s/%s.pid", data, daemons[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		/* Lockable means nobody holds it: a stale file. */
		if (flock(fd, LOCK_SH | LOCK_NB) == 0 || errno != EWOULDBLOCK) {
			close(fd);
			continue;
		}
		r = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (r <= 0)
			continue;
		buf[r] = '\0';
		pid = strtol(buf, NULL, 10);
		if (pid <= 1 || kill((pid_t)pid, SIGHUP) < 0)
			continue;
		log_info("list", "asked trapline %s (pid %ld) to reload",
			 daemons[i], pid);
		n++;
	}
	return n;
}
