/* SPDX-License-Identifier: MIT */
/* config.c -- INI configuration through inih
 *
 * Every key trapline reads is in the table below with its default and its
 * meaning; docs/trapline.conf.5 is the operator's copy of the same.
 */
#include <errno.h>
#include <errno.h>
#include <ini.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tl_limits.h"
#include "trapline/config.h"
#include "trapline/err.h"
#include "trapline/log.h"

_Static_assert(TL_CONFIG_STR == TL_CONFIG_VALUE_MAX, "config value size");

enum key_type { K_STR, K_SIZE, K_DAYS, K_RATIO, K_PREFIXES, K_COUNT,
		K_SECONDS, K_UINT, K_BOOL };

struct key {
	const char *section, *name;
	enum key_type type;
	size_t offset;
	const char *def; /* default, as text */
	const char *doc; /* what it means */
};

#define OFF(f) offsetof(struct tl_config, f)

static const struct key keys[] = {
	{"store", "data", K_STR, OFF(data), "./var/trapline",
	 "store directory (journal and LMDB history); $TRAPLINE_DATA and "
	 "--data override"},
	{"store", "map_size", K_SIZE, OFF(map_size), "256G",
	 "LMDB map size: the most the history may grow to (K/M/G/T)"},
	{"trap", "listen", K_STR, OFF(trap_listen), "127.0.0.1:2525",
	 "SMTP trap listen addresses, space separated"},
	{"trap", "domains", K_STR, OFF(trap_domains), "trap.example.org",
	 "every address at these domains is a trap"},
	{"trap", "trusted_proxies", K_STR, OFF(trap_trusted_proxies),
	 "127.0.0.1 ::1", "PROXY protocol and XCLIENT accepted from these "
	 "addresses or prefixes"},
	{"trap", "addresses", K_STR, OFF(trap_addresses), "",
	 "a file of trap addresses (local@domain a line); a domain named "
	 "there takes only those, other local parts are unknown users and "
	 "count toward dictionary attacks; other domains are catch-all"},
	{"trap", "hostname", K_STR, OFF(trap_hostname), "mx.trap.example.org",
	 "the name in the greeting and the self-signed certificate"},
	{"trap", "sensor", K_STR, OFF(trap_sensor), "trap",
	 "the sensor name recorded in the trap's events"},
	{"trap", "workers", K_UINT, OFF(trap_workers), "0",
	 "worker threads, each with its own listening sockets "
	 "(SO_REUSEPORT); 0 = one per CPU"},
	{"trap", "max_sessions", K_COUNT, OFF(trap_max_sessions), "4000",
	 "sessions at once, in all; more are told 421 and closed"},
	{"trap", "max_per_ip", K_COUNT, OFF(trap_max_per_ip), "32",
	 "sessions at once from one client address"},
	{"trap", "max_message_size", K_SIZE, OFF(trap_max_size), "10M",
	 "the SIZE limit (bytes, K/M/G); longer messages are counted, "
	 "recorded and refused with 552"},
	{"trap", "max_rcpts", K_COUNT, OFF(trap_max_rcpts), "100",
	 "recipients per message; more get 452"},
	{"trap", "max_errors", K_COUNT, OFF(trap_max_errors), "20",
	 "refused commands per session before 421 and close"},
	{"trap", "idle_timeout", K_SECONDS, OFF(trap_idle_timeout), "60s",
	 "a session that sends nothing for this long is closed"},
	{"trap", "session_timeout", K_SECONDS, OFF(trap_session_timeout),
	 "10m", "the longest a session may last (slow clients included)"},
	{"trap", "greet_wait", K_UINT, OFF(trap_greet_wait), "0",
	 "milliseconds to wait before the greeting; a client that talks "
	 "first is tagged pregreet (0 = greet at once)"},
	{"trap", "tls", K_BOOL, OFF(trap_tls), "yes",
	 "offer STARTTLS"},
	{"trap", "tls_cert", K_STR, OFF(trap_tls_cert), "",
	 "PEM certificate chain; empty: a self-signed one made on first "
	 "start in DATA/tls/"},
	{"trap", "tls_key", K_STR, OFF(trap_tls_key), "",
	 "PEM private key for tls_cert"},
	{"trap", "user", K_STR, OFF(trap_user), "",
	 "started as root: bind, then run as this user (the store is "
	 "handed to it)"},
	{"trap", "tarpit_delay", K_UINT, OFF(trap_tarpit_delay), "0",
	 "milliseconds each reply to a listed client is held back "
	 "(0 = no tarpit)"},
	{"trap", "retain_dir", K_STR, OFF(trap_retain_dir), "",
	 "a maildir where sample messages are kept as evidence (empty: "
	 "none)"},
	{"trap", "retain_per_day", K_UINT, OFF(trap_retain_per_day), "3",
	 "messages kept per client address per day"},
	{"trap", "retain_max", K_SIZE, OFF(trap_retain_max), "1G",
	 "the most retain_dir may hold (bytes); then no more are kept"},
	{"ingest", "own_relays", K_STR, OFF(ingest_own_relays), "",
	 "the operator's own relays (addresses, prefixes or host names): "
	 "Received hops they added are skipped"},
	{"ingest", "postfix_log", K_STR, OFF(ingest_postfix_log), "",
	 "Postfix logs that `trapline serve` follows, space separated"},
	{"ingest", "mbox", K_STR, OFF(ingest_mbox), "",
	 "trap mboxes that `trapline serve` follows, space separated"},
	{"ingest", "maildir", K_STR, OFF(ingest_maildir), "",
	 "trap maildirs that `trapline serve` watches: messages in new/ "
	 "are ingested, then moved to cur/ as seen"},
	{"dictionary", "threshold", K_COUNT, OFF(dict_threshold), "5",
	 "distinct unknown recipients from one client, within window, that "
	 "make a dictionary attack (the trap and the Postfix log importer)"},
	{"dictionary", "window", K_SECONDS, OFF(dict_window), "1h",
	 "the window for threshold (s, or with m/h/d); it starts at a "
	 "client's first unknown recipient"},
	{"content", "clamav", K_STR, OFF(content_clamav), "",
	 "ClamAV signatures (a directory such as /var/lib/clamav, or one "
	 "database file); every message is scanned and a match is malware. "
	 "Empty: no ClamAV"},
	{"content", "rules", K_STR, OFF(content_rules), "",
	 "content rules (tags such as pharma and phish) for the trap and the "
	 "mailbox importers; empty: the built-in copy of etc/rules.conf"},
	{"dns", "listen", K_STR, OFF(dns_listen), "127.0.0.1:5353",
	 "DNS listen addresses"},
	{"dns", "zone", K_STR, OFF(dns_zone), "bl.example.org",
	 "the block list zone; the history zone is hist.<zone>"},
	{"dns", "dataset", K_STR, OFF(dns_dataset), "",
	 "more zones from files in rbldnsd's syntax: ZONE:TYPE:FILE items "
	 "(TYPE ip4set, ip4trie or ip6trie), as rbldnsd takes them"},
	{"dns", "workers", K_UINT, OFF(dns_workers), "0",
	 "worker threads, each with its own UDP and TCP sockets "
	 "(SO_REUSEPORT); 0 = one per CPU"},
	{"dns", "udp_wait", K_UINT, OFF(dns_udp_wait), "250",
	 "microseconds a UDP worker under a steady stream of queries waits "
	 "before reading again, to take several in one call (0 to 10000; "
	 "0: never wait)"},
	{"dns", "xdp", K_STR, OFF(dns_xdp), "",
	 "an interface (e.g. eth0, or lo) whose UDP queries to the listen "
	 "addresses are taken by an XDP program and answered through AF_XDP "
	 "sockets, one per queue up to workers, without the UDP stack; "
	 "needs root (CAP_BPF, CAP_NET_ADMIN, CAP_NET_RAW, CAP_IPC_LOCK), "
	 "no other XDP program on the interface and no VLAN, bridge or bond "
	 "on it. IPv4 options, fragments, IPv6 extension headers and TCP "
	 "still reach the sockets; XDP runs before netfilter. Empty: none"},
	{"dns", "version", K_STR, OFF(dns_version), "",
	 "the text CHAOS TXT version.bind and version.server get; empty: "
	 "such queries are refused"},
	{"dns", "identity", K_STR, OFF(dns_identity), "",
	 "the text CHAOS TXT hostname.bind and id.server (RFC 4892) get; "
	 "empty: refused"},
	{"dns", "refresh", K_SECONDS, OFF(dns_refresh), "60s",
	 "how often the snapshot is compiled again from the store"},
	{"dns", "ns", K_STR, OFF(dns_ns), "localhost",
	 "the zone's name servers (NS), space separated; the first is the "
	 "SOA's primary"},
	{"dns", "hostmaster", K_STR, OFF(dns_hostmaster), "hostmaster.example.org",
	 "the SOA's responsible mailbox, as a name"},
	{"dns", "allow_transfer", K_STR, OFF(dns_allow_transfer), "",
	 "addresses or prefixes allowed to transfer the block list zone "
	 "(AXFR, IXFR over TCP); empty: transfers are refused"},
	{"dns", "notify", K_STR, OFF(dns_notify), "",
	 "secondaries told of each new snapshot by NOTIFY (UDP), "
	 "ADDR:PORT or [ADDR6]:PORT items"},
	{"dns", "ixfr_keep", K_COUNT, OFF(dns_ixfr_keep), "20",
	 "serial changes the IXFR journal keeps (DATA/dns/ixfr); an older "
	 "serial is answered with the whole zone"},
	{"dns", "ixfr_max_size", K_SIZE, OFF(dns_ixfr_max_size), "64M",
	 "bytes the IXFR journal of a zone keeps (K/M/G); the oldest changes "
	 "go first, and a change larger than this is not journalled"},
	{"dns", "snapshot_dir", K_STR, OFF(dns_snapshot_dir), "",
	 "directory of the compiled snapshot (bl.snap), made if missing "
	 "(not its parents); "
	 "empty: DATA/snapshot. The snapshot is derived from the store and "
	 "built again when missing, so a tmpfs (e.g. /run/trapline) serves: "
	 "then a reload writes nothing to disk, and answers go on within "
	 "milliseconds while it runs"},
	{"dns", "tsig_key", K_STR, OFF(dns_tsig_key), "",
	 "TSIG keys (RFC 8945) transfers must be signed with, one or more "
	 "NAME:ALGORITHM:BASE64 items (at most 16, distinct names), "
	 "ALGORITHM one of hmac-sha256, hmac-sha512, hmac-sha384, "
	 "hmac-sha224, hmac-sha1; an answer is signed with the key its "
	 "query named, a NOTIFY with the key its target names (notify "
	 "ADDR:PORT/KEYNAME) or the first. Empty: no TSIG"},
	{"dns", "txt", K_STR, OFF(dns_txt),
	 "Listed: %k source since %f, last seen %l; see "
	 "https://example.org/ip/$",
	 "TXT template: $ is the IP, %k the kinds, %f and %l the first and "
	 "last seen days"},
	{"policy", "expire_days", K_DAYS, OFF(expire_days), "7",
	 "quiet days before a listing lapses"},
	{"policy", "repeat_expire_days", K_DAYS, OFF(repeat_expire_days), "30",
	 "quiet days before the listing of a repeat offender lapses: an "
	 "address that was quiet longer than expire_days once and came back"},
	{"policy", "persistent_expire_days", K_DAYS, OFF(persistent_expire_days),
	 "90", "quiet days before the listing of a persistent address lapses"},
	{"policy", "hiatus_days", K_DAYS, OFF(hiatus_days), "30",
	 "a gap of at least this many days is a hiatus"},
	{"policy", "persistent_days", K_DAYS, OFF(persistent_days), "365",
	 "span (days) from which an IP can be persistent"},
	{"policy", "persistent_steadiness", K_RATIO,
	 OFF(persistent_steadiness), "0.5",
	 "share of active weeks a persistent IP needs (0..1)"},
	{"policy", "never_list", K_PREFIXES, OFF(never_list),
	 "0.0.0.0/8 10.0.0.0/8 100.64.0.0/10 127.0.0.0/8 169.254.0.0/16 "
	 "172.16.0.0/12 192.0.0.0/24 192.0.2.0/24 192.168.0.0/16 "
	 "198.18.0.0/15 198.51.100.0/24 203.0.113.0/24 224.0.0.0/3 "
	 "::/128 ::1/128 fc00::/7 fe80::/10 2001:db8::/32 ff00::/8",
	 "ranges recorded but never listed (reserved, private, documentation)"},
	{"geo", "database", K_STR, OFF(geo_database), "",
	 "a MaxMind DB (.mmdb) for countries; empty: Debian's GeoIP.dat"},
};

bool tl_config_next_item(const char **p, const char **item, size_t *len)
{
	*p += strspn(*p, " \t,");
	*len = strcspn(*p, " \t,");
	if (!*len)
		return false;
	*item = *p;
	*p += *len;
	return true;
}

int tl_config_parse_prefixes(const char *text, struct tl_prefix **out,
			     unsigned *len, const char **bad_item)
{
	struct tl_prefix *v = NULL, *nv;
	unsigned n = 0;
	const char *p = text, *it;
	size_t l;
	int rc;

	*out = NULL;
	*len = 0;
	while (tl_config_next_item(&p, &it, &l)) {
		if (n >= TL_CONFIG_LIST_MAX) {
			*bad_item = it;
			free(v);
			return TL_ELIMIT;
		}
		nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv) {
			free(v);
			return TL_ENOMEM;
		}
		v = nv;
		rc = tl_prefix_parse(it, l, true, &v[n]);
		if (rc < 0) {
			*bad_item = it;
			free(v);
			return rc;
		}
		n++;
	}
	*out = v;
	*len = n;
	return 0;
}

static int parse_size(const char *v, uint64_t *out)
{
	char *end;
	unsigned long long n;
	unsigned shift = 0;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (end == v || *v == '-' || errno == ERANGE)
		return TL_ESYNTAX;
	switch (*end) {
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	case 'T': case 't': shift = 40; end++; break;
	}
	if (*end != '\0' || n > (UINT64_MAX >> shift))
		return TL_ESYNTAX;
	*out = (uint64_t)n << shift;
	return 0;
}

static int set_value(struct tl_config *cfg, const struct key *k,
		     const char *v, const char **bad)
{
	char *base = (char *)cfg + k->offset;
	char *end;
	unsigned long n;
	double d;
	int rc;

	*bad = NULL;
	switch (k->type) {
	case K_STR:
		if (strlen(v) >= TL_CONFIG_STR)
			return TL_ETOOLONG;
		strcpy(base, v);
		return 0;
	case K_SIZE:
		return parse_size(v, (uint64_t *)base);
	case K_DAYS:
		n = strtoul(v, &end, 10);
		if (end == v || *end || *v == '-' || n > 36500)
			return TL_ESYNTAX;
		*(unsigned *)base = (unsigned)n;
		return 0;
	case K_COUNT:
		n = strtoul(v, &end, 10);
		if (end == v || *end || *v == '-' || n == 0 || n > 1000000)
			return TL_ESYNTAX;
		*(unsigned *)base = (unsigned)n;
		return 0;
	case K_SECONDS:
		n = strtoul(v, &end, 10);
		if (end == v || *v == '-' || n > 366UL * 86400)
			return TL_ESYNTAX;
		switch (*end) {
		case 's': end++; break;
		case 'm': n *= 60; end++; break;
		case 'h': n *= 3600; end++; break;
		case 'd': n *= 86400; end++; break;
		}
		if (*end || n == 0 || n > 366UL * 86400)
			return TL_ESYNTAX;
		*(unsigned *)base = (unsigned)n;
		return 0;
	case K_UINT:
		n = strtoul(v, &end, 10);
		if (end == v || *end || *v == '-' || n > 1000000000UL)
			return TL_ESYNTAX;
		*(unsigned *)base = (unsigned)n;
		return 0;
	case K_BOOL:
		if (strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0 ||
		    strcmp(v, "1") == 0)
			*(bool *)base = true;
		else if (strcasecmp(v, "no") == 0 ||
			 strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0)
			*(bool *)base = false;
		else
			return TL_ESYNTAX;
		return 0;
	case K_RATIO:
		d = strtod(v, &end);
		if (end == v || *end || !(d >= 0.0 && d <= 1.0))
			return TL_ESYNTAX;
		*(double *)base = d;
		return 0;
	case K_PREFIXES: {
		struct tl_prefix *list;
		unsigned len;

		rc = tl_config_parse_prefixes(v, &list, &len, bad);
		if (rc < 0)
			return rc;
		free(cfg->never_list);
		cfg->never_list = list;
		cfg->never_list_len = len;
		return 0;
	}
	}
	return TL_EINVAL;
}

int tl_config_defaults(struct tl_config *cfg)
{
	const char *bad;
	size_t i;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		rc = set_value(cfg, &keys[i], keys[i].def, &bad);
		if (rc < 0)
			return rc;
	}
	return 0;
}

struct line_reader;
static bool line_glued(const struct line_reader *r);

struct load_ctx {
	struct tl_config *cfg;
	const char *path;
	const struct line_reader *lines; /* NULL: not cut (command line) */
	int err;
	bool set[sizeof(keys) / sizeof(keys[0])]; /* given in this file */
};

/* A key given again in the same file (or continued on an indented line)
 * extends a string or list value; a number may be given only once. */
static int extend(struct load_ctx *ctx, const struct key *k, const char *v,
		  const char **bad)
{
	char *base = (char *)ctx->cfg + k->offset;
	size_t have, add;

	*bad = NULL;
	switch (k->type) {
	case K_STR:
		have = strlen(base);
		add = strlen(v);
		if (have + 1 + add >= TL_CONFIG_STR)
			return TL_ETOOLONG;
		/* The rest of a line cut where it had no space is glued on
		 * as it was; anything else is a word more. */
		if (have && (!ctx->lines || !line_glued(ctx->lines)))
			base[have++] = ' ';
		memcpy(base + have, v, add + 1);
		return 0;
	case K_PREFIXES: {
		struct tl_prefix *more, *all;
		unsigned n;
		int rc = tl_config_parse_prefixes(v, &more, &n, bad);

		if (rc < 0)
			return rc;
		if (ctx->cfg->never_list_len + n > TL_CONFIG_LIST_MAX) {
			free(more);
			return TL_ELIMIT;
		}
		all = realloc(ctx->cfg->never_list,
			      (ctx->cfg->never_list_len + n + 1) * sizeof(*all));
		if (!all) {
			free(more);
			return TL_ENOMEM;
		}
		if (n)
			memcpy(all + ctx->cfg->never_list_len, more,
			       n * sizeof(*all));
		free(more);
		ctx->cfg->never_list = all;
		ctx->cfg->never_list_len += n;
		return 0;
	}
	default:
		return TL_EDUP;
	}
}

static int on_key(void *user, const char *section, const char *name,
		  const char *value)
{
	struct load_ctx *ctx = user;
	const char *bad;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcasecmp(keys[i].section, section) != 0 ||
		    strcasecmp(keys[i].name, name) != 0)
			continue;
		if (ctx->set[i])
			rc = extend(ctx, &keys[i], value, &bad);
		else
			rc = set_value(ctx->cfg, &keys[i], value, &bad);
		if (rc < 0) {
			log_error("config", "%s: [%s] %s = %s: %s", ctx->path,
				  section, name, value,
				  rc == TL_EDUP ? "given twice" : tl_strerror(rc));
			ctx->err = TL_ESYNTAX;
			return 0;
		}
		ctx->set[i] = true;
		return 1;
	}
	log_error("config", "%s: unknown key [%s] %s", ctx->path, section,
		  name);
	ctx->err = TL_ESYNTAX;
	return 0;
}

/*
 * Feeds inih one line at a time from memory. Debian's libinih reads lines
 * of at most 200 bytes; a longer line is cut at a space into pieces, each
 * after the first indented, which inih passes on as continuations of the
 * same key (and extend() joins them with a space). A line with no space to
 * cut at is cut anywhere, and that piece is glued on without one.
 */
struct line_reader {
	const char *p, *end;
	bool cont;      /* the next piece continues a cut line */
	bool glue_next; /* ... and was cut where there was no space */
	bool glue;      /* the piece just read is such a piece */
};

static bool line_glued(const struct line_reader *r)
{
	return r->glue;
}

static char *read_line(char *str, int num, void *stream)
{
	struct line_reader *r = stream;
	const char *nl, *stop;
	size_t len, room, o = 0;

	r->glue = r->glue_next;
	r->glue_next = false;
	if (r->p >= r->end || num < 8)
		return NULL;
	nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
	stop = nl ? nl + 1 : r->end;
	len = (size_t)(stop - r->p);
	room = (size_t)num - 1 - (r->cont ? 1 : 0);
	if (r->cont)
		str[o++] = ' ';
	if (len > room) {
		/* Cut at the last space that leaves room for the newline. */
		size_t cut = room - 1;

		while (cut > 0 && r->p[cut] != ' ' && r->p[cut] != '\t')
			cut--;
		if (cut == 0) {
			cut = room - 1; /* no space: glued back together */
			r->glue_next = true;
		}
		memcpy(str + o, r->p, cut);
		o += cut;
		str[o++] = '\n';
		r->p += cut;
		r->cont = true;
	} else {
		memcpy(str + o, r->p, len);
		o += len;
		r->p = stop;
		r->cont = false;
	}
	str[o] = '\0';
	return str;
}

static int parse_text(struct load_ctx *ctx, const char *text, size_t len)
{
	struct line_reader r = {text, text + len, false, false, false};
	int rc;

	ctx->lines = &r;
	rc = ini_parse_stream(read_line, &r, on_key, ctx);
	ctx->lines = NULL;

	if (rc > 0) {
		if (ctx->err == 0)
			log_error("config", "%s: line %d: not INI syntax",
				  ctx->path, rc);
		return TL_ESYNTAX;
	}
	if (rc < 0)
		return TL_ENOMEM;
	return ctx->err;
}

int tl_config_load(struct tl_config *cfg, const char *path)
{
	struct load_ctx ctx = {cfg, path, NULL, 0, {false}};
	char *text = NULL;
	size_t len = 0, cap = 0;
	FILE *f = fopen(path, "r");
	int rc;

	if (!f) {
		log_error("config", "%s: %s", path, strerror(errno));
		return errno == ENOENT ? TL_ENOENT : -errno;
	}
	for (;;) {
		if (len == cap) {
			char *nt;

			if (cap >= TL_CONFIG_FILE_MAX) {
				log_error("config", "%s: larger than %u bytes",
					  path, TL_CONFIG_FILE_MAX);
				free(text);
				fclose(f);
				return TL_ETOOLONG;
			}
			cap = cap ? cap * 2 : 4096;
			nt = realloc(text, cap);
			if (!nt) {
				free(text);
				fclose(f);
				return TL_ENOMEM;
			}
			text = nt;
		}
		size_t n = fread(text + len, 1, cap - len, f);

		len += n;
		if (n == 0)
			break;
	}
	rc = ferror(f) ? TL_EIO : 0;
	fclose(f);
	if (rc == 0)
		rc = parse_text(&ctx, text ? text : "", len);
	free(text);
	return rc;
}

int tl_config_load_string(struct tl_config *cfg, const char *text)
{
	struct load_ctx ctx = {cfg, "(string)", NULL, 0, {false}};

	return parse_text(&ctx, text, strlen(text));
}

void tl_config_free(struct tl_config *cfg)
{
	free(cfg->never_list);
	cfg->never_list = NULL;
	cfg->never_list_len = 0;
}
