/* SPDX-License-Identifier: MIT */
/* cmd_check.c -- trapline check: which block lists list these addresses */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check/check.h"
#include "cli.h"
#include "tl_limits.h"
#include "trapline/alloc.h"
#include "trapline/err.h"
#include "trapline/log.h"

static const char usage_text[] =
	"trapline check [--lists NAMES] [--lists-conf FILE] "
	"[--resolver ADDR[:PORT]]\n"
	"       [--file FILE] [--json|--csv] [--max-inflight N] [--record] "
	"[--data DIR]\n"
	"       [IP|CIDR...]";

enum {
	OPT_LISTS = OPT_CMD_BASE,
	OPT_LISTS_CONF,
	OPT_RESOLVER,
	OPT_FILE,
	OPT_CSV,
	OPT_INFLIGHT,
	OPT_RECORD,
};

struct targets {
	struct tl_ip *v; /* owned */
	uint32_t n, cap;
	unsigned bad;    /* --file lines skipped */
};

static int push(struct targets *t, const struct tl_ip *ip)
{
	if (t->n >= TL_CHECK_IPS_MAX)
		return TL_ELIMIT;
	if (t->n == t->cap) {
		uint32_t cap = t->cap ? t->cap * 2 : 256;
		struct tl_ip *v = tl_reallocarray(t->v, cap, sizeof(*v));

		if (!v)
			return TL_ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n++] = *ip;
	return 0;
}

/* An address or a prefix (expanded, IPv4 /16 or IPv6 /112 at most). On
 * error *@why says what was wrong. */
static int add_target(struct targets *t, const char *s, size_t len,
		      const char **why)
{
	struct tl_prefix p;
	struct tl_ip ip;
	uint32_t i, count;
	int rc;

	rc = tl_prefix_parse(s, len, false, &p);
	if (rc < 0) {
		*why = tl_strerror(rc);
		return rc;
	}
	if (p.ip.family == 4 && p.len < TL_CHECK_V4_PREFIX_MIN) {
		*why = "range wider than a /16";
		return TL_ERANGE;
	}
	if (p.ip.family == 6 && p.len < TL_CHECK_V6_PREFIX_MIN) {
		*why = "range wider than a /112";
		return TL_ERANGE;
	}
	count = 1u << ((p.ip.family == 4 ? 32 : 128) - p.len);
	ip = p.ip;
	for (i = 0; i < count; i++) {
		size_t last = tl_ip_size(&ip) - 1;
		uint32_t low = (uint32_t)ip.a[last - 1] << 8 | ip.a[last];

		rc = push(t, &ip);
		if (rc < 0) {
			*why = rc == TL_ELIMIT ? "too many addresses"
					       : tl_strerror(rc);
			return rc;
		}
		/* At most 16 bits vary: carry through the last two bytes,
		 * and the third for IPv4 /16 (its base has them zero). */
		low++;
		ip.a[last] = (uint8_t)low;
		ip.a[last - 1] = (uint8_t)(low >> 8);
	}
	return 0;
}

/* One address or prefix a line; '#' starts a comment. A bad line is
 * reported with its number and skipped. */
static int read_file(struct targets *t, const char *path)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned lineno = 0;
	const char *why;
	int rc = 0;

	if (!f) {
		log_error("check", "%s: %s", path, strerror(errno));
		return EXIT_NOINPUT;
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		char *s = line, *e, esc[80];

		lineno++;
		e = memchr(s, '#', (size_t)n);
		if (!e)
			e = s + n;
		while (e > s && (e[-1] == '\n' || e[-1] == '\r' ||
				 e[-1] == ' ' || e[-1] == '\t'))
			e--;
		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		if (s == e)
			continue;
		rc = add_target(t, s, (size_t)(e - s), &why);
		if (rc == TL_ELIMIT || rc == TL_ENOMEM) {
			log_error("check", "%s:%u: %s (at most %u)", path,
				  lineno, why, TL_CHECK_IPS_MAX);
			rc = rc == TL_ENOMEM ? EXIT_SOFTWARE : EXIT_DATAERR;
			goto out;
		}
		if (rc < 0) {
			log_warn("check", "%s:%u: '%s': %s; skipped", path,
				 lineno,
				 tl_log_escape(esc, sizeof(esc), s,
					       (size_t)(e - s)),
				 why);
			t->bad++;
		}
		rc = 0;
	}
	if (ferror(f)) {
		log_error("check", "%s: read error", path);
		rc = EXIT_IOERR;
	}
out:
	free(line);
	if (f != stdin)
		fclose(f);
	return rc;
}

static int load_lists(const char *opt, struct check_lists *lists)
{
	char err[512];
	const char *path = opt, *env = getenv("TRAPLINE_LISTS");
	unsigned i;
	int rc;

	if (!path && env && *env)
		path = env;
	for (i = 0; !path && check_lists_paths[i]; i++)
		if (access(check_lists_paths[i], R_OK) == 0)
			path = check_lists_paths[i];
	if (!path) {
		log_error("check", "no lists.conf (--lists-conf FILE, "
			  "$TRAPLINE_LISTS, or %s)", check_lists_paths[0]);
		return EXIT_NOINPUT;
	}
	rc = check_lists_load(path, lists, err, sizeof(err));
	if (rc < 0) {
		log_error("check", "%s", err);
		return rc == TL_ENOENT ? EXIT_NOINPUT : EXIT_DATAERR;
	}
	return EXIT_OK;
}

/* What one address got: the lists that listed it and the ones asked. */
struct ip_view {
	uint32_t asked, listed;
};

static bool counts(const struct check_run *r, uint32_t list)
{
	return r->sel[list] && r->health[list].healthy;
}

static bool family_ok(const struct check_run *r, uint32_t ip, uint32_t list)
{
	unsigned fam = r->ips[ip].family == 4 ? CHECK_FAM4 : CHECK_FAM6;

	return (r->lists->v[list].families & fam) != 0;
}

static void view(const struct check_run *r, uint32_t ip, struct ip_view *v)
{
	uint32_t l;

	v->asked = v->listed = 0;
	for (l = 0; l < r->nlists; l++) {
		enum check_status st = check_get(r, ip, l);

		if (!counts(r, l) || !family_ok(r, ip, l))
			continue;
		if (st == CHECK_CLEAN || st == CHECK_LISTED)
			v->asked++;
		if (st == CHECK_LISTED)
			v->listed++;
	}
}

/* Listings and failures, grouped by address: index lists in @first. */
struct index {
	uint32_t *lfirst, *lnext; /* listings: per ip head, next */
	uint32_t *ffirst, *fnext; /* failures */
};

#define NONE UINT32_MAX

static int index_build(const struct check_run *r, struct index *x)
{
	uint32_t i;

	x->lfirst = tl_calloc(r->nips + 1, sizeof(uint32_t));
	x->ffirst = tl_calloc(r->nips + 1, sizeof(uint32_t));
	x->lnext = tl_calloc(r->nlistings + 1, sizeof(uint32_t));
	x->fnext = tl_calloc(r->nfailures + 1, sizeof(uint32_t));
	if (!x->lfirst || !x->ffirst || !x->lnext || !x->fnext)
		return TL_ENOMEM;
	memset(x->lfirst, 0xff, (r->nips + 1) * sizeof(uint32_t));
	memset(x->ffirst, 0xff, (r->nips + 1) * sizeof(uint32_t));
	/* Backwards, so each chain comes out in list order for an ip
	 * whose listings completed in any order: sort by list below. */
	for (i = r->nlistings; i-- > 0;) {
		uint32_t ip = r->listings[i].ip, *pp = &x->lfirst[ip];

		while (*pp != NONE &&
		       r->listings[*pp].list < r->listings[i].list)
			pp = &x->lnext[*pp];
		x->lnext[i] = *pp;
		*pp = i;
	}
	for (i = r->nfailures; i-- > 0;) {
		x->fnext[i] = x->ffirst[r->failures[i].ip];
		x->ffirst[r->failures[i].ip] = i;
	}
	return 0;
}

static void index_free(struct index *x)
{
	tl_free(x->lfirst);
	tl_free(x->lnext);
	tl_free(x->ffirst);
	tl_free(x->fnext);
}

static void fmt_a(uint32_t a, char *buf)
{
	sprintf(buf, "%u.%u.%u.%u", a >> 24, a >> 16 & 255, a >> 8 & 255,
		a & 255);
}

static const char *meaning(const struct check_list *l, uint32_t a)
{
	static char buf[128]; /* single-threaded; used before the next call */

	return check_list_meaning(l, a, buf, sizeof(buf));
}

/* The sub-list of a meaning written "SUB-LIST: why" (lists.conf's
 * convention: "SBL: spam source", "PBL: ..."), or null. */
static json_t *sublist_json(const struct check_list *l, uint32_t a)
{
	const struct check_code *c = check_list_code(l, a);
	const char *colon;

	if (!c || !(colon = strstr(c->meaning, ": ")) ||
	    colon == c->meaning || colon - c->meaning > 32)
		return json_null();
	return json_stringn(c->meaning, (size_t)(colon - c->meaning));
}

static json_t *ip_json(const struct check_run *r, const struct index *x,
		       uint32_t ip)
{
	json_t *o = json_object(), *listed = json_array(),
	       *unh = json_array(), *errs = json_array();
	char buf[TL_IP_STRLEN];
	struct ip_view v;
	uint32_t i, l;

	tl_ip_format(&r->ips[ip], buf);
	view(r, ip, &v);
	json_object_set_new(o, "ip", json_string(buf));
	json_object_set_new(o, "asked", json_integer(v.asked));
	for (i = x->lfirst[ip]; i != NONE; i = x->lnext[i]) {
		const struct check_listing *li = &r->listings[i];
		const struct check_list *cl = &r->lists->v[li->list];
		json_t *e, *codes, *means, *subs;
		uint8_t k;

		if (!counts(r, li->list))
			continue;
		e = json_object();
		codes = json_array();
		means = json_array();
		subs = json_array();
		for (k = 0; k < li->ncodes; k++) {
			fmt_a(li->codes[k], buf);
			json_array_append_new(codes, json_string(buf));
			json_array_append_new(means, json_string(
				meaning(cl, li->codes[k])));
			json_array_append_new(subs,
					      sublist_json(cl, li->codes[k]));
		}
		json_object_set_new(e, "list", json_string(cl->name));
		json_object_set_new(e, "zone", json_string(cl->zone));
		json_object_set_new(e, "codes", codes);
		json_object_set_new(e, "meanings", means);
		json_object_set_new(e, "sublists", subs);
		json_object_set_new(e, "txt", li->txt ? json_string(li->txt)
						     : json_null());
		json_array_append_new(listed, e);
	}
	for (l = 0; l < r->nlists; l++) {
		json_t *e;

		if (!r->sel[l] || r->health[l].healthy || !family_ok(r, ip, l))
			continue;
		e = json_object();
		json_object_set_new(e, "list", json_string(r->lists->v[l].name));
		json_object_set_new(e, "reason",
				    json_string(r->health[l].reason));
		json_array_append_new(unh, e);
	}
	for (i = x->ffirst[ip]; i != NONE; i = x->fnext[i]) {
		const struct check_failure *f = &r->failures[i];
		json_t *e;

		if (!counts(r, f->list))
			continue;
		e = json_object();
		json_object_set_new(e, "list",
				    json_string(r->lists->v[f->list].name));
		json_object_set_new(e, "error",
				    json_string(check_failure_word(f->status)));
		json_array_append_new(errs, e);
	}
	json_object_set_new(o, "listed", listed);
	json_object_set_new(o, "unhealthy", unh);
	json_object_set_new(o, "errors", errs);
	return o;
}

static void ip_text(FILE *f, const struct check_run *r,
		    const struct index *x, uint32_t ip)
{
	char buf[TL_IP_STRLEN], a[16];
	struct ip_view v;
	uint32_t i;

	tl_ip_format(&r->ips[ip], buf);
	view(r, ip, &v);
	if (v.listed)
		fprintf(f, "%-39s listed on %u of %u lists\n", buf, v.listed,
			v.asked);
	else
		fprintf(f, "%-39s not listed (%u lists)\n", buf, v.asked);
	for (i = x->lfirst[ip]; i != NONE; i = x->lnext[i]) {
		const struct check_listing *li = &r->listings[i];
		const struct check_list *cl = &r->lists->v[li->list];
		uint8_t k;

		if (!counts(r, li->list))
			continue;
		for (k = 0; k < li->ncodes; k++) {
			fmt_a(li->codes[k], a);
			fprintf(f, "  %-16s %-15s %s\n", k ? "" : cl->name, a,
				meaning(cl, li->codes[k]));
		}
		if (li->txt)
			fprintf(f, "  %-16s %-15s %s\n", "", "TXT", li->txt);
	}
	for (i = x->ffirst[ip]; i != NONE; i = x->fnext[i]) {
		const struct check_failure *fl = &r->failures[i];

		if (counts(r, fl->list))
			fprintf(f, "  %-16s %-15s %s\n",
				r->lists->v[fl->list].name, "error",
				check_failure_word(fl->status));
	}
}

/* RFC 4180: quoted when it holds a comma, quote or line break. */
static void csv_field(FILE *f, const char *s, bool last)
{
	if (strpbrk(s, ",\"\r\n")) {
		putc('"', f);
		for (; *s; s++) {
			if (*s == '"')
				putc('"', f);
			putc(*s, f);
		}
		putc('"', f);
	} else {
		fputs(s, f);
	}
	putc(last ? '\n' : ',', f);
}

static void ip_csv(FILE *f, const struct check_run *r, const struct index *x,
		   uint32_t ip)
{
	char buf[TL_IP_STRLEN], n[16], a[16];
	char codes[TL_CHECK_CODES_MAX * 16], means[TL_CHECK_CODES_MAX * 260];
	struct ip_view v;
	uint32_t i;
	bool any = false;

	tl_ip_format(&r->ips[ip], buf);
	view(r, ip, &v);
	snprintf(n, sizeof(n), "%u", v.asked);
	for (i = x->lfirst[ip]; i != NONE; i = x->lnext[i]) {
		const struct check_listing *li = &r->listings[i];
		const struct check_list *cl = &r->lists->v[li->list];
		size_t co = 0, mo = 0;
		uint8_t k;

		if (!counts(r, li->list))
			continue;
		codes[0] = means[0] = '\0';
		for (k = 0; k < li->ncodes; k++) {
			fmt_a(li->codes[k], a);
			co += (size_t)snprintf(codes + co, sizeof(codes) - co,
					       "%s%s", k ? " " : "", a);
			mo += (size_t)snprintf(means + mo, sizeof(means) - mo,
					       "%s%s", k ? "; " : "",
					       meaning(cl, li->codes[k]));
			if (mo >= sizeof(means))
				mo = sizeof(means) - 1;
		}
		csv_field(f, buf, false);
		csv_field(f, n, false);
		csv_field(f, cl->name, false);
		csv_field(f, cl->zone, false);
		csv_field(f, codes, false);
		csv_field(f, means, false);
		csv_field(f, li->txt ? li->txt : "", true);
		any = true;
	}
	if (!any) {
		csv_field(f, buf, false);
		csv_field(f, n, false);
		fputs(",,,,\n", f);
	}
}

static int record(struct cli_common *c, struct tl_store *s,
		  const struct check_run *r)
{
	struct tl_check_record *recs;
	struct tl_ip *ips;
	struct ip_view v;
	uint32_t i, n = 0;
	tl_day today = tl_day_today();
	int rc;

	recs = tl_calloc(r->nips + 1, sizeof(*recs));
	ips = tl_calloc(r->nips + 1, sizeof(*ips));
	if (!recs || !ips) {
		tl_free(recs);
		tl_free(ips);
		return EXIT_SOFTWARE;
	}
	for (i = 0; i < r->nips; i++) {
		view(r, i, &v);
		if (!v.asked)
			continue; /* nothing was learnt */
		ips[n] = r->ips[i];
		recs[n].day = today;
		recs[n].listed = v.listed;
		recs[n].of = v.asked;
		n++;
	}
	rc = tl_store_put_checks(s, ips, recs, n);
	tl_free(recs);
	tl_free(ips);
	return rc < 0 ? cli_store_error(c->data, rc) : EXIT_OK;
}

static int output(const struct cli_common *c, bool csv,
		  const struct check_run *r)
{
	struct index x = {0};
	uint32_t i;
	int ex = EXIT_OK;

	if (index_build(r, &x) < 0) {
		index_free(&x);
		return EXIT_SOFTWARE;
	}
	if (c->json) {
		fputs("[\n", stdout);
		for (i = 0; i < r->nips; i++) {
			json_t *o = ip_json(r, &x, i);

			if (!o || json_dumpf(o, stdout, JSON_COMPACT) < 0)
				ex = EXIT_SOFTWARE;
			json_decref(o);
			fputs(i + 1 < r->nips ? ",\n" : "\n", stdout);
		}
		puts("]");
	} else if (csv) {
		puts("ip,asked,list,zone,codes,meanings,txt");
		for (i = 0; i < r->nips; i++)
			ip_csv(stdout, r, &x, i);
	} else {
		for (i = 0; i < r->nlists; i++)
			if (r->sel[i] && !r->health[i].healthy)
				printf("not counted: %s (%s): %s\n",
				       r->lists->v[i].name, r->lists->v[i].zone,
				       r->health[i].reason);
		for (i = 0; i < r->nips; i++)
			ip_text(stdout, r, &x, i);
	}
	index_free(&x);
	return ex;
}

int cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{"lists", required_argument, NULL, OPT_LISTS},
		{"lists-conf", required_argument, NULL, OPT_LISTS_CONF},
		{"resolver", required_argument, NULL, OPT_RESOLVER},
		{"file", required_argument, NULL, OPT_FILE},
		{"csv", no_argument, NULL, OPT_CSV},
		{"max-inflight", required_argument, NULL, OPT_INFLIGHT},
		{"record", no_argument, NULL, OPT_RECORD},
		{NULL, 0, NULL, 0},
	};
	struct cli_common c = {0};
	struct check_lists lists = {0};
	struct check_run run = {0};
	struct check_opts co = {NULL, TL_CHECK_INFLIGHT_DEFAULT};
	struct targets t = {0};
	struct tl_store *s = NULL;
	const char *spec = NULL, *conf = NULL, *file = NULL, *why;
	char resolver[80], err[256];
	bool csv = false, rec = false, *sel = NULL;
	uint32_t i, healthy = 0;
	bool any_listed = false;
	int opt, rc, ex;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (cli_common_opt(&c, opt, optarg))
			continue;
		switch (opt) {
		case OPT_LISTS:
			spec = optarg;
			break;
		case OPT_LISTS_CONF:
			conf = optarg;
			break;
		case OPT_RESOLVER:
			if (check_resolver_parse(optarg, resolver,
						 sizeof(resolver)) < 0) {
				log_error("check", "--resolver '%s': ADDR, "
					  "ADDR:PORT or [IPV6]:PORT", optarg);
				return EXIT_USAGE;
			}
			co.resolver = resolver;
			break;
		case OPT_FILE:
			file = optarg;
			break;
		case OPT_CSV:
			csv = true;
			break;
		case OPT_INFLIGHT: {
			char *end;
			unsigned long n = strtoul(optarg, &end, 10);

			if (*end || n == 0 || n > TL_CHECK_INFLIGHT_MAX) {
				log_error("check", "--max-inflight: 1 to %u",
					  TL_CHECK_INFLIGHT_MAX);
				return EXIT_USAGE;
			}
			co.max_inflight = (unsigned)n;
			break;
		}
		case OPT_RECORD:
			rec = true;
			break;
		case OPT_HELP:
			printf("usage: %s\n", usage_text);
			return EXIT_OK;
		default:
			return cli_usage(usage_text);
		}
	}
	if ((optind >= argc && !file) || (csv && c.json))
		return cli_usage(usage_text);
	if (getenv("TRAPLINE_DEBUG"))
		tl_log_set_level(TL_LOG_DEBUG);
	for (i = (uint32_t)optind; i < (uint32_t)argc; i++) {
		rc = add_target(&t, argv[i], strlen(argv[i]), &why);
		if (rc < 0) {
			log_error("check", "'%s': %s", argv[i], why);
			ex = rc == TL_ENOMEM ? EXIT_SOFTWARE : EXIT_USAGE;
			goto out;
		}
	}
	if (file) {
		ex = read_file(&t, file);
		if (ex != EXIT_OK)
			goto out;
	}
	ex = load_lists(conf, &lists);
	if (ex != EXIT_OK)
		goto out;
	sel = tl_calloc(lists.n + 1, sizeof(*sel));
	if (!sel) {
		ex = EXIT_SOFTWARE;
		goto out;
	}
	rc = check_lists_select(&lists, spec, sel, err, sizeof(err));
	if (rc <= 0) {
		log_error("check", "%s", rc < 0 ? err : "no lists selected");
		ex = EXIT_USAGE;
		goto out;
	}
	if ((uint64_t)t.n * lists.n > TL_CHECK_LOOKUPS_MAX) {
		log_error("check", "%u addresses x %u lists: more than %u "
			  "lookups a run", t.n, lists.n, TL_CHECK_LOOKUPS_MAX);
		ex = EXIT_USAGE;
		goto out;
	}
	ex = cli_load(&c);
	if (ex != EXIT_OK)
		goto out;
	if (rec) {
		/* Before the lookups: a store that cannot be written should
		 * not cost a run. */
		ex = cli_open_store(&c, TL_STORE_WRITE, false, &s);
		if (ex != EXIT_OK)
			goto out;
	}
	rc = check_run(&run, &lists, sel, t.v, t.n, &co);
	if (rc < 0) {
		log_error("check", "lookups: %s", tl_strerror(rc));
		ex = rc == TL_ENOMEM ? EXIT_SOFTWARE : EXIT_UNAVAILABLE;
		goto out;
	}
	for (i = 0; i < lists.n; i++) {
		if (!sel[i])
			continue;
		if (run.health[i].healthy)
			healthy++;
		else
			log_warn("check", "%s (%s) not counted: %s",
				 lists.v[i].name, lists.v[i].zone,
				 run.health[i].reason);
	}
	ex = output(&c, csv, &run);
	if (ex != EXIT_OK)
		goto out;
	if (!healthy) {
		log_error("check", "no list could be asked");
		ex = EXIT_UNAVAILABLE;
		goto out;
	}
	if (run.nfailures)
		log_warn("check", "%u lookup(s) got no answer; see errors",
			 run.nfailures);
	for (i = 0; i < run.nlistings && !any_listed; i++)
		any_listed = counts(&run, run.listings[i].list);
	if (rec) {
		ex = record(&c, s, &run);
		if (ex != EXIT_OK)
			goto out;
	}
	/* A yes stands even if some lines were bad; a no is only as good
	 * as the input, so bad lines make it 65. */
	ex = any_listed ? EXIT_FOUND : t.bad ? EXIT_DATAERR : EXIT_OK;
out:
	if (fflush(stdout) != 0 && ex == EXIT_OK)
		ex = EXIT_SOFTWARE;
	check_run_free(&run);
	tl_store_close(s);
	tl_free(sel);
	check_lists_free(&lists);
	tl_free(t.v);
	cli_free(&c);
	return ex;
}
