/* SPDX-License-Identifier: MIT */
/* cmd_list.c -- trapline list: operator listings and the allowlist
 *
 *   list [show] [--json]                       every entry
 *   list add PREFIX --reason TEXT [--expires]  list by hand (127.0.0.10)
 *   list allow PREFIX --reason TEXT [--expires] never list
 *   list del [--allow] PREFIX                  remove an entry
 *
 * Each change rewrites DATA/operator.list under its lock and is durable
 * when the command returns; running `trapline dns` and `trapline serve`
 * with a live pid file in DATA are then sent SIGHUP to rebuild their
 * snapshot (any other picks the change up at its next [dns] refresh).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "policy/oplist.h"
#include "trapline/day.h"
#include "trapline/err.h"
#include "trapline/log.h"

static const char usage_text[] =
	"trapline list [show] [--json]\n"
	"       trapline list add|allow IP[/LEN] --reason TEXT "
	"[--expires DATE|DAYS] [--force]\n"
	"       trapline list del [--allow] IP[/LEN] [--reason TEXT]\n"
	"       (each with [--data DIR] [--config FILE])";

enum {
	OPT_REASON = OPT_CMD_BASE,
	OPT_EXPIRES,
	OPT_ALLOW,
	OPT_FORCE,
};

/* Who makes the change: the user behind sudo, else the effective user. */
static void whoami(char *buf, size_t size)
{
	const char *s = getenv("SUDO_USER");
	struct passwd *pw;

	if (s && tl_oplist_who_ok(s)) {
		snprintf(buf, size, "%s", s);
		return;
	}
	pw = getpwuid(geteuid());
	if (pw && tl_oplist_who_ok(pw->pw_name))
		snprintf(buf, size, "%s", pw->pw_name);
	else
		snprintf(buf, size, "uid%u", (unsigned)geteuid());
}

/* --expires: YYYY-MM-DD, or a number of days from today ("30", "30d").
 * The entry applies up to the day before. */
static int parse_expires(const char *s, tl_day today, tl_day *out)
{
	size_t len = strlen(s), digits = strspn(s, "0123456789");

	if (digits && digits <= 5 &&
	    (digits == len || (digits + 1 == len && s[digits] == 'd'))) {
		long n = strtol(s, NULL, 10);

		if (n < 1)
			return TL_ERANGE;
		*out = today + (tl_day)n;
		return 0;
	}
	if (tl_day_parse(s, len, out) < 0)
		return TL_ESYNTAX;
	return *out > today ? 0 : TL_ERANGE;
}

static void time_iso(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int show(const struct cli_common *c, const struct tl_oplist *l)
{
	tl_day today = tl_day_today();
	json_t *arr = NULL;
	size_t i;

	if (c->json)
		arr = json_array();
	else if (l->n)
		printf("%-5s  %-43s  %-20s  %-12s  %-10s  %s\n", "kind",
		       "prefix", "added", "by", "expires", "reason");
	for (i = 0; i < l->n; i++) {
		const struct tl_op_entry *e = &l->e[i];
		char pfx[TL_PREFIX_STRLEN], added[32], exp[TL_DAY_STRLEN] = "-";
		bool active = e->expires > today;

		tl_prefix_format(&e->pfx, pfx);
		time_iso(e->added, added, sizeof(added));
		if (e->expires != TL_OPLIST_NO_EXPIRY)
			tl_day_format(e->expires, exp);
		if (arr) {
			json_t *o = json_object();

			json_object_set_new(o, "kind",
					    json_string(e->kind == TL_OP_LIST
								? "list"
								: "allow"));
			json_object_set_new(o, "prefix", json_string(pfx));
			json_object_set_new(o, "code",
					    e->kind == TL_OP_LIST
						    ? json_string("127.0.0.10")
						    : json_null());
			json_object_set_new(o, "reason", json_string(e->reason));
			json_object_set_new(o, "by", json_string(e->who));
			json_object_set_new(o, "added", json_string(added));
			json_object_set_new(o, "expires",
					    e->expires == TL_OPLIST_NO_EXPIRY
						    ? json_null()
						    : json_string(exp));
			json_object_set_new(o, "active", json_boolean(active));
			json_array_append_new(arr, o);
		} else {
			printf("%-5s  %-43s  %-20s  %-12s  %-10s  %s%s\n",
			       e->kind == TL_OP_LIST ? "list" : "allow", pfx,
			       added, e->who, exp, e->reason,
			       active ? "" : " (expired)");
		}
	}
	if (arr) {
		if (json_dumpf(arr, stdout, JSON_INDENT(1)) < 0) {
			json_decref(arr);
			return EXIT_SOFTWARE;
		}
		putchar('\n');
		json_decref(arr);
	}
	return EXIT_OK;
}

int cmd_list(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{"reason", required_argument, NULL, OPT_REASON},
		{"expires", required_argument, NULL, OPT_EXPIRES},
		{"allow", no_argument, NULL, OPT_ALLOW},
		{"force", no_argument, NULL, OPT_FORCE},
		{NULL, 0, NULL, 0},
	};
	struct cli_common c = {0};
	struct tl_oplist l;
	struct tl_op_entry e;
	const char *reason = NULL, *expires = NULL, *verb = "show", *arg;
	char pfx[TL_PREFIX_STRLEN];
	bool del_allow = false, force = false, change;
	tl_day today;
	int opt, ex, rc, lockfd = -1;

	tl_oplist_init(&l);
	while ((opt = getopt_long(argc, argv, "r:", longopts, NULL)) != -1) {
		if (cli_common_opt(&c, opt, optarg))
			continue;
		switch (opt) {
		case 'r':
		case OPT_REASON:
			reason = optarg;
			break;
		case OPT_EXPIRES:
			expires = optarg;
			break;
		case OPT_ALLOW:
			del_allow = true;
			break;
		case OPT_FORCE:
			force = true;
			break;
		case OPT_HELP:
			printf("usage: %s\n", usage_text);
			return EXIT_OK;
		default:
			return cli_usage(usage_text);
		}
	}
	if (optind < argc)
		verb = argv[optind++];
	change = strcmp(verb, "show") != 0;
	if (change && strcmp(verb, "add") != 0 && strcmp(verb, "allow") != 0 &&
	    strcmp(verb, "del") != 0) {
		log_error("list", "unknown action '%.32s'", verb);
		return cli_usage(usage_text);
	}
	if ((change && optind + 1 != argc) || (!change && optind != argc))
		return cli_usage(usage_text);
	if (del_allow && strcmp(verb, "del") != 0)
		return cli_usage(usage_text);
	if (strcmp(verb, "add") == 0 || strcmp(verb, "allow") == 0) {
		if (!reason) {
			log_error("list", "%s needs --reason TEXT", verb);
			return cli_usage(usage_text);
		}
	} else if ((reason && !change) || expires || force) {
		/* del takes a --reason (DESIGN.md's synopsis gives every
		 * action one): said back, not kept, as the entry goes. */
		return cli_usage(usage_text);
	}
	ex = cli_load(&c);
	if (ex != EXIT_OK)
		goto out;
	today = tl_day_today();
	memset(&e, 0, sizeof(e));
	if (change) {
		arg = argv[optind];
		rc = tl_prefix_parse(arg, strlen(arg), true, &e.pfx);
		if (rc == TL_EHOSTBITS) {
			tl_prefix_format(&e.pfx, pfx);
			log_error("list", "'%.64s': bits set past the prefix "
				  "length (did you mean %s?)", arg, pfx);
			ex = EXIT_DATAERR;
			goto out;
		}
		if (rc < 0) {
			log_error("list", "'%.64s': %s", arg, tl_strerror(rc));
			ex = EXIT_DATAERR;
			goto out;
		}
		if (strcmp(verb, "del") != 0 && !force &&
		    e.pfx.len < (e.pfx.ip.family == 4 ? TL_OPLIST_WIDEST_V4
						      : TL_OPLIST_WIDEST_V6)) {
			log_error("list", "'%.64s': wider than /%d; --force if "
				  "that is meant", arg,
				  e.pfx.ip.family == 4 ? TL_OPLIST_WIDEST_V4
						       : TL_OPLIST_WIDEST_V6);
			ex = EXIT_DATAERR;
			goto out;
		}
	}
	if (reason && !tl_oplist_reason_ok(reason)) {
		log_error("list", "--reason: 1 to %d bytes of printable UTF-8, "
			  "no control characters, no leading or trailing "
			  "blank", TL_OPLIST_REASON_MAX);
		ex = EXIT_DATAERR;
		goto out;
	}
	e.expires = TL_OPLIST_NO_EXPIRY;
	if (expires) {
		rc = parse_expires(expires, today, &e.expires);
		if (rc < 0) {
			log_error("list", "--expires '%.32s': %s", expires,
				  rc == TL_ERANGE ? "not after today"
						  : "YYYY-MM-DD or a number "
						    "of days");
			ex = EXIT_DATAERR;
			goto out;
		}
	}
	if (change) {
		/* A first command may come before any store: DATA itself. */
		if (mkdir(c.data, 0755) < 0 && errno != EEXIST) {
			log_error("list", "%s: %s", c.data, strerror(errno));
			ex = EXIT_CANTCREAT;
			goto out;
		}
		rc = tl_oplist_lock(c.data, &lockfd);
		if (rc < 0) {
			log_error("list", "%s/%s: %s", c.data, TL_OPLIST_LOCK,
				  tl_strerror(rc));
			ex = cli_exit_code(rc);
			goto out;
		}
	}
	rc = tl_oplist_load(c.data, &l);
	if (rc < 0) {
		log_error("list", "%s/%s: %s", c.data, TL_OPLIST_FILE,
			  tl_strerror(rc));
		ex = rc == TL_ECORRUPT || rc == TL_ELIMIT ? EXIT_DATAERR
							 : cli_exit_code(rc);
		goto out;
	}
	if (!change) {
		ex = show(&c, &l);
		goto out;
	}
	tl_prefix_format(&e.pfx, pfx);
	if (strcmp(verb, "del") == 0) {
		rc = tl_oplist_del(&l, del_allow ? TL_OP_ALLOW : TL_OP_LIST,
				   &e.pfx);
		if (rc == TL_ENOENT) {
			log_error("list", "%s: no %s with exactly this "
				  "prefix (see `trapline list`)", pfx,
				  del_allow ? "allowlist entry" : "operator listing");
			ex = EXIT_DATAERR;
			goto out;
		}
	} else {
		e.kind = strcmp(verb, "add") == 0 ? TL_OP_LIST : TL_OP_ALLOW;
		e.added = (int64_t)time(NULL);
		whoami(e.who, sizeof(e.who));
		snprintf(e.reason, sizeof(e.reason), "%s", reason);
		rc = tl_oplist_put(&l, &e);
		if (rc == TL_ELIMIT) {
			log_error("list", "the list holds %d entries at most",
				  TL_OPLIST_MAX);
			ex = EXIT_DATAERR;
			goto out;
		}
	}
	/* Entries past their expiry go with the next change. */
	tl_oplist_prune(&l, today);
	if (rc == 0)
		rc = tl_oplist_save(c.data, &l);
	if (rc < 0) {
		log_error("list", "%s/%s: %s", c.data, TL_OPLIST_FILE,
			  tl_strerror(rc));
		ex = cli_exit_code(rc);
		goto out;
	}
	if (strcmp(verb, "del") == 0)
		printf("removed %s from the %s%s%s\n", pfx,
		       del_allow ? "allowlist" : "operator listings",
		       reason ? ": " : "", reason ? reason : "");
	else if (e.kind == TL_OP_LIST)
		printf("listed %s (operator, 127.0.0.10)\n", pfx);
	else
		printf("allowlisted %s: never listed\n", pfx);
	if (!cli_reload_daemons(c.data))
		log_info("list", "no running trapline dns or serve found in "
			 "%s: the next snapshot build picks the change up",
			 c.data);
	ex = EXIT_OK;
out:
	tl_oplist_unlock(lockfd);
	tl_oplist_free(&l);
	if (fflush(stdout) != 0 && ex == EXIT_OK)
		ex = EXIT_IOERR;
	cli_free(&c);
	return ex;
}
