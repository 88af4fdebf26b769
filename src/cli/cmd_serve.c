/* SPDX-License-Identifier: MIT */
/* cmd_serve.c -- trapline serve: every sensor on one machine, one process
 *
 * serve runs the SMTP trap ([trap] listen; empty for none) and the
 * passive sensors the configuration names: Postfix logs and trap mboxes
 * it follows ([ingest] postfix_log, mbox) and trap maildirs it watches
 * ([ingest] maildir), all into one store. The store has one writer: the
 * trap's committer thread; the passive sensors hand it their events and
 * wait for them to be durable before they move on (or move a message to
 * cur/). Without a trap, the passive sensors write to the store directly.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "ingest/ingest.h"
#include "mail/mail.h"
#include "dns/server.h"
#include "policy/oplist.h"
#include "policy/snapshot.h"
#include "trap/server.h"
#include "trapline/day.h"
#include "trapline/alloc.h"
#include "trapline/err.h"
#include "trapline/log.h"

static const char usage_text[] =
	"trapline serve [--listen ADDR:PORT]... [--data DIR] [--config FILE]";

enum {
	OPT_LISTEN = OPT_CMD_BASE,
};

#define SOURCES_MAX 64 /* followed files and maildirs (count) */

struct sources {
	char text[3][TL_CONFIG_STR]; /* copies the items point into */
	char *item[SOURCES_MAX];
	const struct ingest_format *format[SOURCES_MAX];
	unsigned n;
	/* open */
	struct ingest_follow *files[SOURCES_MAX];
	struct ingest_opts fo[SOURCES_MAX];
	char *dirs[SOURCES_MAX];
	unsigned nf, nd;
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

static int open_sources(struct sources *src, struct tl_store *s,
			const char *data, const struct ingest_opts *o,
			struct ingest_stats *st)
{
	unsigned i;
	int rc;

	for (i = 0; i < src->n; i++) {
		if (src->format[i]->is_dir) {
			src->dirs[src->nd++] = src->item[i];
			continue;
		}
		src->fo[src->nf] = *o;
		src->fo[src->nf].format = src->format[i];
		rc = ingest_follow_open(s, data, src->item[i],
					&src->fo[src->nf], st,
					&src->files[src->nf]);
		if (rc < 0) {
			log_error("serve", "%s: %s", src->item[i],
				  tl_strerror(rc));
			return rc;
		}
		src->nf++;
	}
	return 0;
}

static int close_sources(struct sources *src)
{
	unsigned i;
	int rc, first = 0;

	for (i = 0; i < src->nf; i++) {
		rc = ingest_follow_close(src->files[i]);
		if (rc < 0 && !first)
			first = rc;
		src->files[i] = NULL;
	}
	src->nf = src->nd = 0;
	return first;
}

static int trap_submit(void *ctx, const struct tl_event *ev)
{
	return trap_server_submit(ctx, ev);
}

static int trap_flush(void *ctx)
{
	return trap_server_flush(ctx);
}

/*
 * The DNS side of serve: the server, and a thread that compiles the
 * snapshot from the store every [dns] refresh (and when asked) through
 * the writer's handle (read transactions run beside the committer's
 * writes; LMDB must not be opened twice in one process).
 */
struct dns_side {
	struct dns_server *srv;
	struct dns_xfr *xfr;      /* zone transfers (dns/xfr.h) */
	struct trap_server *trap; /* events to wait for before a build */
	struct dnsbl_zones zones;
	struct tl_store *s;
	struct tl_policy pol;
	unsigned refresh;       /* seconds */
	const char *datasets;   /* [dns] dataset */
	const struct cli_common *c; /* the config and DATA */
	char path[4200];
	pthread_t th;
	bool running;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop, now;         /* under mu */
};

static void dns_build(struct dns_side *d)
{
	struct snap_info info;
	struct tl_oplist ops;
	int rc;

	/* The operator's list as it is now; a damaged one keeps the
	 * snapshot there (without it, listings and the allowlist would
	 * vanish). */
	if (cli_policy_load(d->c, &d->pol, &ops) != EXIT_OK)
		return;
	/* What the trap took until now is in the history first. */
	if (d->trap)
		trap_server_flush(d->trap);
	rc = snap_build(d->s, &d->pol, tl_day_today(), cli_snapshot_serial(),
			d->path, &info, dns_server_has_data(d->srv));
	d->pol.ops = NULL;
	tl_oplist_free(&ops);

	if (rc < 0)
		log_error("serve", "snapshot build: %s", tl_strerror(rc));
	else
		dns_server_reload(d->srv, &info);
}

static void *dns_builder(void *arg)
{
	struct dns_side *d = arg;
	time_t built = time(NULL);

	/* Queries first when the cores are busy. */
	{
		/* SCHED_IDLE: it runs only when nothing else wants a CPU. */
		struct sched_param sp = {0};

		if (sched_setscheduler(0, SCHED_IDLE, &sp) < 0)
			setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid),
				    19);
	}

	pthread_mutex_lock(&d->mu);
	while (!d->stop) {
		struct timespec until;
		time_t next = built + (time_t)d->refresh;
		bool asked;

		/* Wake for the next build, or sooner to look at the
		 * dataset files (loaded again when they changed). */
		if (next > time(NULL) + DNS_DATASET_CHECK_S)
			next = time(NULL) + DNS_DATASET_CHECK_S;
		until.tv_sec = next;
		until.tv_nsec = 0;
		while (!d->stop && !d->now &&
		       pthread_cond_timedwait(&d->cv, &d->mu, &until) == 0)
			;
		if (d->stop)
			break;
		asked = d->now;
		d->now = false;
		pthread_mutex_unlock(&d->mu);
		dns_server_datasets(d->srv, d->datasets, asked);
		if (asked || time(NULL) >= built + (time_t)d->refresh) {
			dns_build(d);
			built = time(NULL);
		}
		pthread_mutex_lock(&d->mu);
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

static int dns_side_start(struct dns_side *d, struct cli_common *c,
			  struct tl_store *s)
{
	struct dns_setup su = {0};
	struct stat sb;
	int rc;

	if (dnsbl_zones_init(&d->zones, c->cfg.dns_zone, c->cfg.dns_ns,
			     c->cfg.dns_hostmaster, c->cfg.dns_txt) < 0)
		return TL_ESYNTAX;
	dnsbl_zones_set_chaos(&d->zones, c->cfg.dns_version,
			      c->cfg.dns_identity);
	d->datasets = c->cfg.dns_dataset;
	rc = dnsbl_datasets_load(&d->zones, d->datasets);
	if (rc < 0)
		return rc;
	d->s = s;
	d->c = c;
	d->refresh = c->cfg.dns_refresh;
	tl_policy_from_config(&d->pol, &c->cfg);
	if (cli_snapshot_path(c, "serve", d->path, sizeof(d->path)) != EXIT_OK)
		return TL_EIO;
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->cv, NULL);
	su.listen = c->cfg.dns_listen;
	su.zones = &d->zones;
	su.workers = c->cfg.dns_workers;
	su.udp_wait_us = c->cfg.dns_udp_wait;
	su.xdp = c->cfg.dns_xdp;
	su.snap_path = d->path;
	if (stat(d->path, &sb) < 0)
		d->now = true; /* none yet: the builder makes one first */
	rc = dns_xfr_from_config(&c->cfg, c->data, &d->zones, &d->xfr);
	su.xfr = d->xfr;
	d->zones.tsig = dns_xfr_keys(d->xfr);
	if (rc == 0)
		rc = dns_server_new(&su, &d->srv);
	if (rc == 0 && !dns_server_has_data(d->srv))
		d->now = true;
	if (rc == 0)
		rc = dns_server_start(d->srv);
	if (rc == 0 && pthread_create(&d->th, NULL, dns_builder, d) != 0)
		rc = TL_ENOMEM;
	d->running = rc == 0;
	return rc;
}

static void dns_side_kick(struct dns_side *d)
{
	pthread_mutex_lock(&d->mu);
	d->now = true;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

static void dns_side_stop(struct dns_side *d)
{
	if (d->running) {
		pthread_mutex_lock(&d->mu);
		d->stop = true;
		pthread_cond_signal(&d->cv);
		pthread_mutex_unlock(&d->mu);
		pthread_join(d->th, NULL);
		d->running = false;
	}
	dns_server_free(d->srv);
	d->srv = NULL;
	dns_xfr_free(d->xfr);
	d->xfr = NULL;
	dnsbl_zones_free(&d->zones);
}

/* The signal that ends a wait: SIGHUP reloads, the others stop. */
static volatile sig_atomic_t stop;

int cmd_serve(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{"listen", required_argument, NULL, OPT_LISTEN},
		{NULL, 0, NULL, 0},
	};
	struct timespec tick = {0, 100 * 1000000L};
	struct cli_common c = {0};
	struct ingest_opts o = {0};
	struct ingest_stats st = {0};
	struct mail_rules *rules = NULL;
	struct mail_relays relays = {0};
	struct mail_av *av = NULL;
	struct tl_store *s = NULL;
	struct cli_trap t = {0};
	struct sources *src = NULL;
	struct dns_side dns = {0};
	char listen[4096] = "";
	const char *tl_listen;
	int opt, ex, rc, pidfd = -1;

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
	src = tl_calloc(1, sizeof(*src));
	if (!src) {
		ex = EXIT_SOFTWARE;
		goto out;
	}
	snprintf(src->text[0], TL_CONFIG_STR, "%s", c.cfg.ingest_postfix_log);
	snprintf(src->text[1], TL_CONFIG_STR, "%s", c.cfg.ingest_mbox);
	snprintf(src->text[2], TL_CONFIG_STR, "%s", c.cfg.ingest_maildir);
	if (add_sources(src, src->text[0], "postfix") < 0 ||
	    add_sources(src, src->text[1], "mbox") < 0 ||
	    add_sources(src, src->text[2], "maildir") < 0) {
		ex = EXIT_USAGE;
		goto out;
	}
	tl_listen = listen[0] ? listen : c.cfg.trap_listen;
	if (!src->n && !tl_listen[strspn(tl_listen, " \t,")] &&
	    !c.cfg.dns_listen[strspn(c.cfg.dns_listen, " \t,")]) {
		log_error("serve", "nothing to serve: set [trap] listen, "
			  "[dns] listen, or [ingest] postfix_log, mbox or "
			  "maildir");
		ex = EXIT_USAGE;
		goto out;
	}
	ex = cli_open_store(&c, TL_STORE_WRITE, false, &s);
	if (ex != EXIT_OK)
		goto out;
	/* For `trapline list`, which sends SIGHUP after a change (taken
	 * as a reload from here on). */
	pidfd = cli_pidfile_open(c.data, "serve");
	o.cfg = &c.cfg;
	if (tl_listen[strspn(tl_listen, " \t,")]) {
		ex = cli_trap_open(&c, tl_listen, s, &t);
		if (ex != EXIT_OK)
			goto out;
		rc = trap_server_start(t.srv);
		if (rc < 0) {
			ex = cli_exit_code(rc);
			goto out;
		}
		o.submit = trap_submit;
		o.flush = trap_flush;
		o.sink = t.srv;
	}
	if (c.cfg.dns_listen[strspn(c.cfg.dns_listen, " \t,")]) {
		dns.trap = t.srv;
		rc = dns_side_start(&dns, &c, s);
		if (rc < 0) {
			log_error("serve", "dns: %s", tl_strerror(rc));
			ex = rc == -EADDRINUSE ? EXIT_UNAVAILABLE : EXIT_USAGE;
			goto out;
		}
	}
	for (;;) {
		ex = cli_mail_load(&c, &rules, &relays, &av);
		if (ex != EXIT_OK)
			break;
		o.rules = rules;
		o.relays = &relays;
	o.av = av;
		o.format = ingest_format_find("maildir");
		rc = open_sources(src, s, c.data, &o, &st);
		if (rc < 0) {
			ex = cli_exit_code(rc);
			break;
		}
		for (rc = 0; src->nf + src->nd && rc == 0 && !stop;)
			rc = ingest_follow_run(src->files, src->nf, s,
					       src->dirs, src->nd, &o, &st,
					       &stop);
		while (!src->nf && !src->nd && !stop)
			nanosleep(&tick, NULL);
		if (rc < 0 && !stop)
			ex = cli_exit_code(rc);
		rc = close_sources(src);
		if (rc < 0 && ex == EXIT_OK)
			ex = cli_exit_code(rc);
		cli_mail_free(rules, &relays, av);
		rules = NULL;
		av = NULL;
		if (stop != SIGHUP || ex != EXIT_OK)
			break;
		stop = 0;
		log_info("serve", "reloading the content rules and sources");
		if (t.srv)
			trap_server_reload(t.srv);
		if (dns.srv)
			dns_side_kick(&dns);
	}
	dns_side_stop(&dns);
	if (t.srv) {
		struct trap_stats ts;

		rc = trap_server_stop(t.srv);
		if (rc < 0 && ex == EXIT_OK)
			ex = cli_exit_code(rc);
		trap_server_stats(t.srv, &ts);
		log_info("serve", "trap: %" PRIu64 " sessions, %" PRIu64
			 " messages", ts.sessions, ts.messages);
	}
	log_info("serve", "stopping: %" PRIu64 " events from the passive "
		 "sensors, %" PRIu64 " bad records", st.events, st.bad);
out:
	cli_pidfile_close(pidfd, c.data, "serve");
	dns_side_stop(&dns);
	cli_trap_close(&t);
	tl_store_close(s);
	tl_free(src);
	cli_free(&c);
	return ex;
}
