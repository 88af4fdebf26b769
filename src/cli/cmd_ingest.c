/* SPDX-License-Identifier: MIT */
/* cmd_ingest.c -- trapline ingest: events from files or stdin */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "ingest/ingest.h"
#include "trapline/err.h"
#include "trapline/log.h"

static const char usage_text[] =
	"trapline ingest [--format ndjson|csv] [--strict] [--progress]\n"
	"                       [--commit-every N] [--quiet]\n"
	"                       [--data DIR] [--config FILE] [FILE|-]...";

enum {
	OPT_FORMAT = OPT_CMD_BASE,
	OPT_STRICT,
	OPT_PROGRESS,
	OPT_QUIET,
	OPT_COMMIT_EVERY,
};

int cmd_ingest(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{"format", required_argument, NULL, OPT_FORMAT},
		{"strict", no_argument, NULL, OPT_STRICT},
		{"progress", no_argument, NULL, OPT_PROGRESS},
		{"quiet", no_argument, NULL, OPT_QUIET},
		{"commit-every", required_argument, NULL, OPT_COMMIT_EVERY},
		{NULL, 0, NULL, 0},
	};
	struct cli_common c = {0};
	struct ingest_opts o = {0};
	struct ingest_stats st = {0};
	struct tl_store_opts so = {0};
	const char *format = NULL;
	struct tl_store *s = NULL;
	bool quiet = false, stopped = false;
	int opt, rc, ex, i, nfiles;

	while ((opt = getopt_long(argc, argv, "f:q", longopts, NULL)) != -1) {
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
		log_error("ingest", "unknown format '%s' (ndjson, csv)", format);
		return EXIT_USAGE;
	}
	ex = cli_load(&c);
	if (ex != EXIT_OK)
		goto out;
	so.map_size = c.cfg.map_size;
	so.wait_lock = true;
	rc = tl_store_open(c.data, TL_STORE_WRITE, &so, &s);
	if (rc < 0) {
		ex = cli_store_error(c.data, rc);
		goto out;
	}
	nfiles = argc - optind;
	for (i = 0; i < (nfiles ? nfiles : 1) && !stopped; i++) {
		const char *path = nfiles ? argv[optind + i] : "-";
		bool std = strcmp(path, "-") == 0;
		int fd = std ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);

		if (fd < 0) {
			log_error("ingest", "%s: %s", path, strerror(errno));
			ex = EXIT_NOINPUT;
			goto out;
		}
		o.format = format ? ingest_format_find(format)
				  : ingest_format_guess(path);
		posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
		rc = ingest_stream(s, fd, std ? "(stdin)" : path, &o, &st);
		if (!std)
			close(fd);
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
	if (!quiet)
		log_info("ingest", "%" PRIu64 " events stored, %" PRIu64
			 " bad records skipped, %" PRIu64 " lines", st.events,
			 st.bad, st.lines);
	ex = st.bad ? EXIT_DATAERR : EXIT_OK;
out:
	tl_store_close(s);
	cli_free(&c);
	return ex;
}
