/* SPDX-License-Identifier: MIT */
/* cmd_dns.c -- trapline dns: the DNS block list
 *
 * Serves [dns] zone and hist.<zone> from a snapshot of the store, which it
 * compiles itself: at start (unless one is there to serve at once) and
 * every [dns] refresh seconds, and on SIGHUP. The build runs on the main
 * thread into a new file while the workers answer from the old one; they
 * switch to the new one atomically, so answers never wait for a build.
 * The rbldnsd-syntax datasets ([dns] dataset) are loaded again when a file
 * changes (looked at every DNS_DATASET_CHECK_S) and on SIGHUP. SIGUSR1 (and
 * every refresh) writes the query counters to DATA/dns.stats, which
 * `trapline dns --stats` prints.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <time.h>

#include "cli.h"
#include "dns/server.h"
#include "policy/oplist.h"
#include "policy/snapshot.h"
#include "trapline/day.h"
#include "trapline/err.h"
#include "trapline/log.h"

static const char usage_text[] =
	"trapline dns [--listen ADDR:PORT]... [--zone NAME] [--stats]\n"
	"                    [--data DIR] [--config FILE]";

enum {
	OPT_LISTEN = OPT_CMD_BASE,
	OPT_ZONE,
	OPT_STATS,
};

static volatile sig_atomic_t stop, usr1;

static void on_usr1(int sig)
{
	(void)sig;
	usr1 = 1;
}

static void write_stats(const char *path, struct dnsbl_stats *st)
{
	char tmp[4200];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f)
		return;
	fprintf(f, "zone total listed nxdomain errors refused\n");
	fprintf(f, "bl %" PRIuFAST64 " %" PRIuFAST64 " %" PRIuFAST64
		" %" PRIuFAST64 " %" PRIuFAST64 "\n",
		atomic_load(&st->bl.total), atomic_load(&st->bl.listed),
		atomic_load(&st->bl.nxdomain), atomic_load(&st->bl.errors),
		atomic_load(&st->bl.refused));
	fprintf(f, "hist %" PRIuFAST64 " %" PRIuFAST64 " %" PRIuFAST64
		" %" PRIuFAST64 " %" PRIuFAST64 "\n",
		atomic_load(&st->hist.total), atomic_load(&st->hist.listed),
		atomic_load(&st->hist.nxdomain), atomic_load(&st->hist.errors),
		atomic_load(&st->hist.refused));
	fprintf(f, "other %" PRIuFAST64 " 0 0 0 0\n", atomic_load(&st->other));
	if (fclose(f) == 0)
		rename(tmp, path);
}

/* Compile the snapshot from the store and have the server map it. */
static int rebuild(struct cli_common *c, const char *path,
		   struct dns_server *srv, struct snap_info *built)
{
	struct tl_store *s = NULL;
	struct snap_info local, *info = built ? built : &local;
	struct tl_policy pol;
	struct tl_oplist ops;
	struct timespec t0, t1;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* A damaged operator list keeps the snapshot there: building one
	 * without it would drop operator listings and the allowlist. */
	if (cli_policy_load(c, &pol, &ops) != EXIT_OK)
		return TL_ECORRUPT;
	rc = cli_open_store(c, TL_STORE_READ, false, &s);
	if (rc != EXIT_OK) {
		tl_oplist_free(&ops);
		return TL_ENOSTORE;
	}
	/* Beside a server answering from the snapshot in use: one core. */
	rc = snap_build(s, &pol, tl_day_today(), cli_snapshot_serial(), path,
			info, srv && dns_server_has_data(srv));
	tl_store_close(s);
	tl_oplist_free(&ops);
	if (rc < 0) {
		log_error("dns", "snapshot build: %s", tl_strerror(rc));
		return rc;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	log_info("dns", "snapshot built in %.2f s", (double)(t1.tv_sec -
		 t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return srv ? dns_server_reload(srv, info) : 0;
}

static int print_stats(const char *data)
{
	char path[4200], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/dns.stats", data);
	f = fopen(path, "re");
	if (!f) {
		log_error("dns", "%s: %s (is trapline dns running?)", path,
			  strerror(errno));
		return EXIT_NOINPUT;
	}
	while (fgets(line, sizeof(line), f))
		fputs(line, stdout);
	fclose(f);
	return EXIT_OK;
}

int cmd_dns(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{"listen", required_argument, NULL, OPT_LISTEN},
		{"zone", required_argument, NULL, OPT_ZONE},
		{"stats", no_argument, NULL, OPT_STATS},
		{NULL, 0, NULL, 0},
	};
	struct timespec tick = {0, 100 * 1000000L};
	struct cli_common c = {0};
	struct dns_server *srv = NULL;
	struct dns_xfr *xfr = NULL;
	static struct dnsbl_zones zones; /* large; freed before exit */
	struct dns_setup su = {0};
	struct snap_info built;
	struct stat sb;
	const char *zone = NULL;
	char listen[4096] = "", path[4200], statp[4200];
	bool stats = false;
	time_t last, checked;
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
		case OPT_ZONE:
			zone = optarg;
			break;
		case OPT_STATS:
			stats = true;
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
	signal(SIGUSR1, on_usr1);
	ex = cli_load(&c);
	if (ex != EXIT_OK)
		goto out;
	if (stats) {
		ex = print_stats(c.data);
		goto out;
	}
	if (dnsbl_zones_init(&zones, zone ? zone : c.cfg.dns_zone,
			     c.cfg.dns_ns, c.cfg.dns_hostmaster,
			     c.cfg.dns_txt) < 0) {
		ex = EXIT_USAGE;
		goto out;
	}
	dnsbl_zones_set_chaos(&zones, c.cfg.dns_version, c.cfg.dns_identity);
	if (dnsbl_datasets_load(&zones, c.cfg.dns_dataset) < 0) {
		ex = EXIT_DATAERR;
		goto out;
	}
	ex = cli_snapshot_path(&c, "dns", path, sizeof(path));
	if (ex != EXIT_OK)
		goto out;
	/* For `trapline list`, which sends SIGHUP after a change: from
	 * here on, a SIGHUP is a rebuild once the loop below runs. */
	pidfd = cli_pidfile_open(c.data, "dns");
	snprintf(statp, sizeof(statp), "%s/dns.stats", c.data);
	/* The transfer settings (keys, NOTIFY targets, ACL) are checked
	 * before a first build, which can take seconds: a mistake there
	 * stops the start at once. */
	if (dns_xfr_from_config(&c.cfg, c.data, &zones, &xfr) < 0) {
		ex = EXIT_USAGE;
		goto out;
	}
	/* With no snapshot yet, build one before answering anything. */
	if (stat(path, &sb) < 0) {
		if (rebuild(&c, path, NULL, &built) < 0) {
			ex = EXIT_UNAVAILABLE;
			goto out;
		}
		su.built = &built;
	}
	su.listen = listen[0] ? listen : c.cfg.dns_listen;
	su.zones = &zones;
	su.workers = c.cfg.dns_workers;
	su.udp_wait_us = c.cfg.dns_udp_wait;
	su.xdp = c.cfg.dns_xdp;
	su.snap_path = path;
	su.xfr = xfr;
	zones.tsig = dns_xfr_keys(xfr);
	rc = dns_server_new(&su, &srv);
	if (rc < 0) {
		ex = rc == -EADDRINUSE || rc == -EACCES ? EXIT_UNAVAILABLE
							  : EXIT_USAGE;
		goto out;
	}
	rc = dns_server_start(srv);
	if (rc < 0) {
		ex = cli_exit_code(rc);
		goto out;
	}
	/* The snapshot there was refused (damaged, or of another
	 * version): build a good one now. */
	if (!dns_server_has_data(srv))
		rebuild(&c, path, srv, NULL);
	/* This thread compiles snapshots: let the workers' queries go
	 * first when the two cores are busy. */
	{
		/* SCHED_IDLE: it runs only when nothing else wants a CPU. */
		struct sched_param sp = {0};

		if (sched_setscheduler(0, SCHED_IDLE, &sp) < 0)
			setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid),
				    19);
	}
	last = checked = time(NULL);
	while (!stop || stop == SIGHUP) {
		bool due = time(NULL) - last >= (time_t)c.cfg.dns_refresh;
		bool hup = stop == SIGHUP;

		/* Dataset files are looked at every few seconds, as
		 * rbldnsd does, and loaded again when they changed. */
		if (hup || time(NULL) - checked >= DNS_DATASET_CHECK_S) {
			dns_server_datasets(srv, c.cfg.dns_dataset, hup);
			checked = time(NULL);
		}
		if (hup || due) {
			stop = 0;
			rebuild(&c, path, srv, NULL);
			write_stats(statp, dns_server_stats(srv));
			last = time(NULL);
		}
		if (usr1) {
			usr1 = 0;
			write_stats(statp, dns_server_stats(srv));
			log_info("dns", "counters written to %s", statp);
		}
		nanosleep(&tick, NULL);
	}
	write_stats(statp, dns_server_stats(srv));
	dns_server_stop(srv);
	ex = EXIT_OK;
out:
	cli_pidfile_close(pidfd, c.data, "dns");
	dns_server_free(srv);
	dns_xfr_free(xfr);
	dnsbl_zones_free(&zones);
	cli_free(&c);
	return ex;
}
