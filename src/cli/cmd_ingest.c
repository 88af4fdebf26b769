/* SPDX-License-Identifier: MIT */
/* cmd_ingest.c -- trapline ingest: events from files, logs, mailboxes */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "ingest/ingest.h"
#include "mail/mail.h"
#include "trapline/alloc.h"
#include "trapline/err.h"
#include "trapline/log.h"

static const char usage_text[] =
	"trapline ingest [--format ndjson|csv|postfix|mbox|maildir] [--strict]\n"
	"                       [--follow] [--progress] [--commit-every N]\n"
	"                       [--sensor NAME] [--quiet] [--data DIR]\n"
	"                       [--config FILE] [FILE|DIR|-]...";

enum {
	OPT_FORMAT = OPT_CMD_BASE,
	OPT_STRICT,
	OPT_PROGRESS,
	OPT_QUIET,
	OPT_COMMIT_EVERY,
	OPT_FOLLOW,
	OPT_SENSOR,
};

static bool is_dir(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* The format for @path: --format, else a directory is a maildir, else the
 * file name decides. */
static const struct ingest_format *format_for(const char *format,
					      const char *path)
{
	if (format)
		return ingest_format_find(format);
	if (strcmp(path, "-") != 0 && is_dir(path))
		return ingest_format_find("maildir");
	return ingest_format_guess(path);
}

/* --follow: every FILE followed (and every maildir watched) until SIGTERM
 * or SIGINT. */
static int follow(struct tl_store *s, const struct cli_common *c,
		  const char *format, char **paths, int n,
		  struct ingest_opts *o, struct ingest_stats *st)
{
	static volatile sig_atomic_t stop;
	struct ingest_follow **files = tl_calloc((size_t)n + 1, sizeof(*files));
	struct ingest_opts *fo = tl_calloc((size_t)n + 1, sizeof(*fo));
	char **dirs = tl_calloc((size_t)n + 1, sizeof(*dirs));
	unsigned nf = 0, nd = 0;
	int i, rc = 0, ex = EXIT_OK;

	if (!files || !fo || !dirs) {
		ex = EXIT_SOFTWARE;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (strcmp(paths[i], "-") == 0) {
			log_error("ingest", "--follow needs files, not stdin");
			ex = EXIT_USAGE;
			goto out;
		}
		fo[i] = *o;
		fo[i].format = format_for(format, paths[i]);
		if (fo[i].format->is_dir) {
			dirs[nd++] = paths[i];
			continue;
		}
		rc = ingest_follow_open(s, c->data, paths[i], &fo[i], st,
					&files[nf]);
		if (rc < 0) {
			log_error("ingest", "%s: %s", paths[i],
				  tl_strerror(rc));
			ex = cli_exit_code(rc);
			goto out;
		}
		nf++;
	}
	o->format = ingest_format_find("maildir");
	cli_on_signals(&stop, false);
	rc = ingest_follow_run(files, nf, s, dirs, nd, o, st, &stop);
	if (rc < 0)
		ex = cli_exit_code(rc);
out:
	for (i = 0; i < (int)nf; i++) {
		rc = ingest_follow_close(files[i]);
		if (rc < 0 && ex == EXIT_OK)
			ex = cli_exit_code(rc);
	}
	tl_free(files);
	tl_free(fo);
	tl_free(dirs);
	return ex;
}

int cmd_ingest(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{"format", required_argument, NULL, OPT_FORMAT},
		{"strict", no_argument, NULL, OPT_STRICT},
		{"progress", no_argument, NULL, OPT_PROGRESS},
		{"quiet", no_argument, NULL, OPT_QUIET},
		{"commit-every", required_argument, NULL, OPT_COMMIT_EVERY},
		{"follow", no_argument, NULL, OPT_FOLLOW},
		{"sensor", required_argument, NULL, OPT_SENSOR},
		{NULL, 0, NULL, 0},
	};
	struct cli_common c = {0};
	struct ingest_opts o = {0};
	struct ingest_stats st = {0};
	struct mail_rules *rules = NULL;
	struct mail_relays relays = {0};
	struct mail_av *av = NULL;
	const char *format = NULL;
	struct tl_store *s = NULL;
	bool quiet = false, stopped = false, following = false;
	int opt, rc, ex, i, nfiles;
	char *stdin_path[] = {"-"};
	char **paths;

	while ((opt = getopt_long(argc, argv, "f:qF", longopts, NULL)) != -1) {
		if (cli_common_opt(&c, opt, optarg))
			continue;
		switch (opt) {
		case 'f':
		case OPT_FORMAT:
			format = optarg;
			break;
		case OPT_STRICT:
			o.strict = true;
			break;
		case OPT_PROGRESS:
			o.progress = stdout;
			break;
		case 'q':
		case OPT_QUIET:
			quiet = true;
			break;
		case 'F':
		case OPT_FOLLOW:
			following = true;
			break;
		case OPT_SENSOR:
			if (strlen(optarg) > 63 || !*optarg) {
				log_error("ingest", "--sensor: 1 to 63 bytes");
				return EXIT_USAGE;
			}
			o.sensor = optarg;
			break;
		case OPT_COMMIT_EVERY: {
			char *end;
			unsigned long long n = strtoull(optarg, &end, 10);

			if (*end || end == optarg || n == 0 || n > 100000000) {
				log_error("ingest", "--commit-every: 1 to "
					  "100000000 events");
				return EXIT_USAGE;
			}
			o.commit_every = n;
			break;
		}
		case OPT_HELP:
			printf("usage: %s\n", usage_text);
			return EXIT_OK;
		default:
			return cli_usage(usage_text);
		}
	}
	if (format && !ingest_format_find(format)) {
		log_error("ingest", "unknown format '%s' (%s)", format,
			  ingest_format_names());
		return EXIT_USAGE;
	}
	nfiles = argc - optind;
	paths = nfiles ? argv + optind : stdin_path;
	if (!nfiles)
		nfiles = 1;
	ex = cli_load(&c);
	if (ex != EXIT_OK)
		goto out;
	ex = cli_mail_load(&c, &rules, &relays, &av);
	if (ex != EXIT_OK)
		goto out;
	o.cfg = &c.cfg;
	o.rules = rules;
	o.relays = &relays;
	o.av = av;
	ex = cli_open_store(&c, TL_STORE_WRITE, true, &s);
	if (ex != EXIT_OK)
		goto out;
	if (following) {
		ex = follow(s, &c, format, paths, nfiles, &o, &st);
		goto summary;
	}
	for (i = 0; i < nfiles && !stopped; i++) {
		const char *path = paths[i];
		bool std = strcmp(path, "-") == 0;
		int fd;

		o.format = format_for(format, path);
		if (o.format->is_dir) {
			rc = ingest_maildir(s, path, &o, &st, false);
			if (rc == TL_ENOENT) {
				ex = EXIT_NOINPUT;
				goto out;
			}
		} else {
			fd = std ? STDIN_FILENO
				 : open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0) {
				log_error("ingest", "%s: %s", path,
					  strerror(errno));
				ex = EXIT_NOINPUT;
				goto out;
			}
			posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
			rc = ingest_stream(s, fd, std ? "(stdin)" : path, &o,
					   &st);
			if (!std)
				close(fd);
		}
		if (rc < 0) {
			log_error("ingest", "%s: stopped: %s; %" PRIu64
				  " events before it are stored",
				  std ? "(stdin)" : path, tl_strerror(rc),
				  st.durable);
			ex = cli_exit_code(rc);
			goto out;
		}
		if (rc == 1) {
			log_error("ingest", "%s: stopped at the first bad record "
				  "(--strict); %" PRIu64 " events before it "
				  "are stored", std ? "(stdin)" : path,
				  st.durable);
			stopped = true;
		}
	}
	ex = EXIT_OK;
summary:
	if (!quiet)
		log_info("ingest", "%" PRIu64 " events stored, %" PRIu64
			 " bad records skipped, %" PRIu64 " lines", st.events,
			 st.bad, st.lines);
	if (ex == EXIT_OK && st.bad)
		ex = EXIT_DATAERR;
out:
	tl_store_close(s);
	cli_mail_free(rules, &relays, av);
	cli_free(&c);
	return ex;
}
