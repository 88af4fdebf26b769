/* SPDX-License-Identifier: MIT */
/* cmd_simulate.c -- trapline simulate: a synthetic trap network's events */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sim/sim.h"
#include "trapline/alloc.h"
#include "trapline/err.h"
#include "trapline/geo.h"

static const char usage_text[] =
	"trapline simulate [--seed N] [--years N] [--end YYYY-MM-DD] "
	"[--bots N]\n"
	"       [--spewers N] [--ipv6 FRACTION] [--format ndjson|csv] "
	"[--truth FILE]\n"
	"       [--out FILE] [--geo FILE.mmdb]";

static const char help_text[] =
	"\n"
	"Write a seeded, synthetic spam-trap event stream, one day after "
	"another in\n"
	"time order: churning botnet hosts, persistent spewers, dictionary "
	"attackers,\n"
	"password guessers and malware senders. Same seed and arguments "
	"(and the\n"
	"same GeoIP data), same bytes.\n"
	"\n"
	"  --seed N            PRNG seed (1)\n"
	"  --years N           length of the period, 1..100 (20)\n"
	"  --end DAY           last day: YYYY-MM-DD, today or Nd (today, "
	"$TRAPLINE_NOW)\n"
	"  --bots N            churning hosts over the period, all classes "
	"(200000)\n"
	"  --spewers N         persistent spewers (300)\n"
	"  --ipv6 FRACTION     share of addresses that are IPv6, 0..1 "
	"(0.02)\n"
	"  --format FMT        ndjson or csv (time,ip,kind,count) (ndjson)\n"
	"  --truth FILE        also write ip,class,country,first_day,last_day"
	"\n"
	"  --out FILE          write events to FILE (standard output)\n"
	"  --geo FILE.mmdb     country data from a MaxMind DB instead of "
	"GeoIP.dat\n"
	"  --data, --config    accepted and ignored\n"
	"  --help              this text\n"
	"\n"
	"Example: trapline simulate --years 3 --bots 5000 | trapline ingest "
	"-\n";

enum {
	OPT_SEED = OPT_CMD_BASE,
	OPT_YEARS,
	OPT_END,
	OPT_BOTS,
	OPT_SPEWERS,
	OPT_IPV6,
	OPT_FORMAT,
	OPT_TRUTH,
	OPT_OUT,
};

/* A buffered output: whole chunks go to fwrite; the first error sticks. */
struct out {
	FILE *f;
	const char *name; /* for messages */
	char *buf;        /* SIM_OUT_BUF bytes, owned */
	size_t len;       /* bytes waiting in buf */
	int err;          /* errno of the first failure, 0 = none */
};

static int out_open(struct out *o, const char *path)
{
	o->buf = tl_calloc(1, SIM_OUT_BUF);
	if (!o->buf)
		return TL_ENOMEM;
	if (!path || strcmp(path, "-") == 0) {
		o->f = stdout;
		o->name = "standard output";
		return 0;
	}
	o->name = path;
	o->f = fopen(path, "w");
	if (!o->f)
		return -errno;
	return 0;
}

static void out_flush(struct out *o)
{
	if (o->len && !o->err) {
		errno = 0;
		if (fwrite(o->buf, 1, o->len, o->f) != o->len)
			o->err = errno ? errno : EIO;
	}
	o->len = 0;
}

/* Room for @need more bytes at o->buf + o->len. */
static char *out_room(struct out *o, size_t need)
{
	if (o->len + need > SIM_OUT_BUF)
		out_flush(o);
	return o->buf + o->len;
}

static void out_str(struct out *o, const char *s)
{
	size_t n = strlen(s);

	memcpy(out_room(o, n), s, n);
	o->len += n;
}

/* Flush and close; returns the sticky error (0 = all written). */
static int out_close(struct out *o)
{
	if (!o->buf)
		return 0;
	out_flush(o);
	if (o->f) {
		errno = 0;
		if (fflush(o->f) != 0 && !o->err)
			o->err = errno ? errno : EIO;
		if (o->f != stdout && fclose(o->f) != 0 && !o->err)
			o->err = errno ? errno : EIO;
	}
	o->f = NULL;
	tl_free(o->buf);
	o->buf = NULL;
	return o->err;
}

static int bad(const char *opt, const char *arg, const char *why)
{
	fprintf(stderr, "trapline simulate: %s '%s': %s\n", opt, arg, why);
	return cli_usage(usage_text);
}

/* A decimal number 0..@max, nothing else. */
static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return true;
}

static bool parse_fraction(const char *s, double *out)
{
	char *end;
	double v;

	if (!*s)
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (*end || errno || !isfinite(v) || v < 0 || v > 1)
		return false;
	*out = v;
	return true;
}

/* Report a generator failure; returns the exit code. */
static int sim_error(int rc)
{
	if (rc == TL_ELIMIT) {
		/* Only a toy database runs out: Debian's or GeoLite2 hold
		 * billions of addresses. */
		fprintf(stderr, "trapline simulate: the country database "
				"holds too few addresses for this many "
				"hosts\n");
		return EXIT_DATAERR;
	}
	fprintf(stderr, "trapline simulate: %s\n", tl_strerror(rc));
	return EXIT_SOFTWARE;
}

static void summary(const struct sim_stats *st)
{
	fprintf(stderr,
		"simulate: %llu events, %llu IPs (bots %llu, spewers %llu, "
		"dictionary %llu, auth %llu, malware %llu; IPv6 %llu)\n",
		(unsigned long long)st->events, (unsigned long long)st->ips,
		(unsigned long long)st->cls[SIM_BOT],
		(unsigned long long)st->cls[SIM_SPEWER],
		(unsigned long long)st->cls[SIM_DICTIONARY],
		(unsigned long long)st->cls[SIM_AUTH],
		(unsigned long long)st->cls[SIM_MALWARE],
		(unsigned long long)st->ips_v6);
}

/* Write the whole stream; returns 0 or a tl_err. */
static int run(struct sim *s, bool csv, struct out *ev_out,
	       struct out *truth_out)
{
	const struct sim_event *ev;
	const struct sim_truth *t;
	size_t n, i;
	int rc;

	if (csv)
		out_str(ev_out, SIM_CSV_HEADER);
	if (truth_out->buf)
		out_str(truth_out, SIM_TRUTH_HEADER);
	while ((rc = sim_step(s)) == 1) {
		n = sim_events(s, &ev);
		for (i = 0; i < n; i++) {
			char *p = out_room(ev_out, TL_EVENT_NDJSON_MAX);

			ev_out->len += csv ? sim_format_csv(&ev[i], p)
					   : sim_format_ndjson(&ev[i], p);
		}
		if (truth_out->buf) {
			n = sim_retired(s, &t);
			for (i = 0; i < n; i++) {
				char *p = out_room(truth_out, SIM_LINE_MAX);

				truth_out->len += sim_format_truth(&t[i], p);
			}
		}
		if (ev_out->err || truth_out->err)
			return 0;
	}
	return rc;
}

int cmd_simulate(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{"geo", required_argument, NULL, OPT_GEO},
		{"seed", required_argument, NULL, OPT_SEED},
		{"years", required_argument, NULL, OPT_YEARS},
		{"end", required_argument, NULL, OPT_END},
		{"bots", required_argument, NULL, OPT_BOTS},
		{"spewers", required_argument, NULL, OPT_SPEWERS},
		{"ipv6", required_argument, NULL, OPT_IPV6},
		{"format", required_argument, NULL, OPT_FORMAT},
		{"truth", required_argument, NULL, OPT_TRUTH},
		{"out", required_argument, NULL, OPT_OUT},
		{NULL, 0, NULL, 0},
	};
	struct cli_common common = {0};
	struct sim_config cfg;
	struct sim_stats st;
	struct sim *s = NULL;
	struct tl_geo *geo = NULL;
	struct out ev_out = {0}, truth_out = {0};
	const char *geo_path = NULL, *truth_path = NULL, *out_path = NULL;
	bool csv = false;
	uint64_t v;
	int opt, rc, ex = EXIT_SOFTWARE, err_ev, err_truth;

	sim_config_defaults(&cfg);
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (cli_common_opt(&common, opt, optarg))
			continue;
		switch (opt) {
		case OPT_HELP:
			printf("usage: %s\n%s", usage_text, help_text);
			return EXIT_OK;
		case OPT_GEO:
			geo_path = optarg;
			break;
		case OPT_SEED:
			if (!parse_u64(optarg, UINT64_MAX, &cfg.seed))
				return bad("--seed", optarg,
					   "not a number 0..2^64-1");
			break;
		case OPT_YEARS:
			if (!parse_u64(optarg, SIM_YEARS_MAX, &v) || v < 1)
				return bad("--years", optarg, "not 1..100");
			cfg.years = (unsigned)v;
			break;
		case OPT_END:
			if (tl_day_parse_relative(optarg, tl_day_today(),
						  &cfg.end) < 0)
				return bad("--end", optarg,
					   "not YYYY-MM-DD, today or Nd");
			break;
		case OPT_BOTS:
			if (!parse_u64(optarg, SIM_BOTS_MAX, &cfg.bots))
				return bad("--bots", optarg,
					   "not 0..100000000");
			break;
		case OPT_SPEWERS:
			if (!parse_u64(optarg, SIM_SPEWERS_MAX, &v))
				return bad("--spewers", optarg,
					   "not 0..1000000");
			cfg.spewers = (uint32_t)v;
			break;
		case OPT_IPV6:
			if (!parse_fraction(optarg, &cfg.ipv6))
				return bad("--ipv6", optarg, "not 0..1");
			break;
		case OPT_FORMAT:
			if (strcmp(optarg, "csv") == 0)
				csv = true;
			else if (strcmp(optarg, "ndjson") == 0)
				csv = false;
			else
				return bad("--format", optarg,
					   "not ndjson or csv");
			break;
		case OPT_TRUTH:
			truth_path = optarg;
			break;
		case OPT_OUT:
			out_path = optarg;
			break;
		default:
			return cli_usage(usage_text);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "trapline simulate: unexpected '%s'\n",
			argv[optind]);
		return cli_usage(usage_text);
	}

	/* A reader that quits (head, a failed ingest) is a normal stop. */
	signal(SIGPIPE, SIG_IGN);
	rc = tl_geo_open(geo_path, &geo);
	if (rc < 0 && rc != TL_ENOENT) {
		ex = EXIT_NOINPUT;
		goto out;
	}
	if (rc == TL_ENOENT) {
		if (geo_path) {
			fprintf(stderr, "trapline simulate: %s: no such "
					"database\n",
				geo_path);
			ex = EXIT_NOINPUT;
			goto out;
		}
		tl_geo_close(geo); /* nothing in it: the fallback pools */
		geo = NULL;
	}
	rc = sim_new(&cfg, geo, &s);
	tl_geo_close(geo);
	geo = NULL;
	if (rc == TL_ERANGE) {
		char day[TL_DAY_STRLEN];

		tl_day_format(cfg.end, day);
		fprintf(stderr, "trapline simulate: %u years to %s: not "
				"within 1970-01-01..2199-12-31\n",
			cfg.years, day);
		ex = cli_usage(usage_text);
		goto out;
	}
	if (rc < 0) {
		ex = sim_error(rc);
		goto out;
	}
	sim_get_stats(s, &st);
	if (!st.geo_v4)
		fprintf(stderr, "simulate: no GeoIP data: IPv4 addresses "
				"from all public unicast space, countries "
				"unknown\n");
	if (!st.geo_v6 && cfg.ipv6 > 0)
		fprintf(stderr, "simulate: no GeoIPv6 data: IPv6 addresses "
				"from 2000::/3, countries unknown\n");
	rc = out_open(&ev_out, out_path);
	if (rc == 0 && truth_path)
		rc = out_open(&truth_out, truth_path);
	if (rc < 0) {
		fprintf(stderr, "trapline simulate: %s: %s\n",
			ev_out.f ? truth_path : out_path ? out_path : "output",
			tl_strerror(rc));
		goto out;
	}
	rc = run(s, csv, &ev_out, &truth_out);
	err_ev = out_close(&ev_out);
	err_truth = out_close(&truth_out);
	if (rc < 0) {
		ex = sim_error(rc);
		goto out;
	}
	if (err_ev == EPIPE) {
		ex = EXIT_OK; /* the reader has all it wanted */
		goto out;
	}
	if (err_ev || err_truth) {
		fprintf(stderr, "trapline simulate: writing %s: %s\n",
			err_ev ? ev_out.name : truth_out.name,
			strerror(err_ev ? err_ev : err_truth));
		goto out;
	}
	sim_get_stats(s, &st);
	summary(&st);
	ex = EXIT_OK;
out:
	out_close(&ev_out);
	out_close(&truth_out);
	tl_geo_close(geo);
	sim_free(s);
	return ex;
}
