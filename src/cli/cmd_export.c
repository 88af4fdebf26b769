/* SPDX-License-Identifier: MIT */
/* cmd_export.c -- trapline export: the listed set for other software
 *
 * Compiles a fresh snapshot of the store (DATA/snapshot/bl.snap, the file
 * the DNS server maps) and writes the listed addresses in a format other
 * software loads: rbldnsd (one combined dataset), a BIND zone, ipset,
 * nft, CSV or JSON.
 *
 * The operator's ranges (`trapline list add PREFIX`) go out as CIDR
 * blocks (rbldnsd ip4set/ip6trie lines, ipset hash:net sets, CSV/JSON
 * rows whose ip is the block), as nft interval sets, and, in a BIND zone,
 * which has no ranges, as wildcards: the names zone transfers carry
 * (snap_rnames_next). Their TXT names the block ("$" is the block, for
 * rbldnsd too), as trapline dns answers it.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "policy/oplist.h"
#include "policy/snapshot.h"
#include "tl_limits.h"
#include "trapline/day.h"
#include "trapline/err.h"
#include "trapline/log.h"

static const char usage_text[] =
	"trapline export --format rbldnsd|bind|ipset|nft|csv|json\n"
	"                       [--zone NAME] [--output FILE] [--data DIR]\n"
	"                       [--config FILE]";

enum {
	OPT_FORMAT = OPT_CMD_BASE,
	OPT_ZONE,
	OPT_OUTPUT,
};

enum fmt { F_RBLDNSD, F_BIND, F_IPSET, F_NFT, F_CSV, F_JSON };

#define TXT_MAX 512 /* a rendered TXT (bytes): two character-strings */

struct out {
	FILE *f;
	const struct snap *sn;
	const char *zone;
	const char *txt;   /* template */
	uint32_t serial;
	const struct tl_config *cfg;
	uint64_t nblocks;  /* CIDR blocks counted (ipset) */
	bool json, first;  /* csv_json's state */
	unsigned skipped;  /* ranges a format could not hold */
};

/* The A-record octets of a listing, as "2 4" etc., and their count. */
static unsigned octets(unsigned codes, uint8_t *o)
{
	unsigned b, n = 0;

	for (b = 0; b < 6; b++)
		if (codes & (1u << b))
			o[n++] = snap_code_octet(b);
	return n;
}

/* RFC 5782 section 5: the test points are always listed (and 127.0.0.1
 * never); they are written into every DNS export. */
static const struct snap_listing test_point = {SNAP_SPAM, 0, 0};
#define TEST_POINT_TXT "RFC 5782 test point"


/* Call @fn for each CIDR block of each operator range of @fam, in order. */
typedef void (*block_fn)(struct out *o, const struct tl_prefix *blk,
			 const struct tl_ip *lo, const struct tl_ip *hi,
			 const struct snap_listing *li);

static void each_block(struct out *o, uint8_t fam, block_fn fn)
{
	unsigned bits = fam == 4 ? 32 : 128;
	uint64_t i;

	for (i = 0; i < snap_range_count(o->sn, fam); i++) {
		struct snap_listing li;
		struct tl_ip lo, hi;
		tl_u128 a, z;

		snap_range_at(o->sn, fam, i, &lo, &hi, &li);
		a = tl_iv_num(&lo);
		z = tl_iv_num(&hi);
		for (;;) {
			struct tl_prefix blk;
			unsigned len = tl_iv_cidr(a, z, bits);
			tl_u128 end = len == 0 ? ~(tl_u128)0 >> (128 - bits)
					       : a + (((tl_u128)1 << (bits -
								     len)) -
						      1);

			tl_iv_ip(a, fam, &blk.ip);
			blk.len = (uint8_t)len;
			fn(o, &blk, &lo, &hi, &li);
			if (end >= z)
				break;
			a = end + 1;
		}
	}
}

/* The SOA and NS records ([dns] ns, hostmaster), both formats. */
static void soa_ns(struct out *o, bool bind)
{
	const char *p = o->cfg->dns_ns, *it;
	size_t l;
	bool first = true;

	if (bind)
		fprintf(o->f, "$ORIGIN %s.\n$TTL 300\n", o->zone);
	while (tl_config_next_item(&p, &it, &l)) {
		if (first)
			fprintf(o->f, bind ? "@ IN SOA %.*s. %s. %" PRIu32
					     " 3600 600 604800 300\n"
					   : "$SOA 300 %.*s. %s. %" PRIu32
					     " 3600 600 604800 300\n",
				(int)l, it, o->cfg->dns_hostmaster, o->serial);
		fprintf(o->f, bind ? "@ IN NS %.*s.\n" : "$NS 3600 %.*s.\n",
			(int)l, it);
		first = false;
	}
}

static void rbldnsd_block(struct out *o, const struct tl_prefix *blk,
			  const struct tl_ip *lo, const struct tl_ip *hi,
			  const struct snap_listing *li)
{
	char txt[TXT_MAX], p[TL_PREFIX_STRLEN];

	struct snap_listing bl = *li;

	(void)lo;
	(void)hi;
	tl_prefix_format(blk, p);
	bl.ranged = true; /* "$" is the block, as trapline dns answers */
	bl.block = *blk;
	snap_txt(o->txt, NULL, &bl, txt, sizeof(txt));
	fprintf(o->f, "%s :%u:%s\n", p, TL_CODE_OPERATOR, txt);
}

/* rbldnsd: one combined dataset, a nested ip4set and ip6trie per answer
 * code, each with the per-address TXT ("$" left for rbldnsd to fill);
 * the operator's ranges as CIDR lines in the 127.0.0.10 sets, their TXT
 * rendered (it names the block). */
static void rbldnsd(struct out *o)
{
	char txt[TXT_MAX];
	uint8_t fam;
	unsigned b;
	uint64_t i;

	fprintf(o->f, "# trapline export, serial %" PRIu32 "\n", o->serial);
	soa_ns(o, false);
	for (fam = 4; fam <= 6; fam += 2) {
		for (b = 0; b < 6; b++) {
			uint8_t oct = snap_code_octet(b);

			fprintf(o->f, "$DATASET %s:code%u @\n",
				fam == 4 ? "ip4set" : "ip6trie", oct);
			if (b == 0)
				fprintf(o->f, "%s :%u:%s\n",
					fam == 4 ? "127.0.0.2" : "::ffff:7f00:2",
					oct, TEST_POINT_TXT);
			for (i = 0; i < snap_count(o->sn, fam); i++) {
				struct snap_listing li;
				struct tl_ip ip;
				char a[TL_IP_STRLEN];

				snap_listed_at(o->sn, fam, i, &ip, &li);
				if (!(li.codes & (1u << b)))
					continue;
				tl_ip_format(&ip, a);
				snap_txt(o->txt, NULL, &li, txt, sizeof(txt));
				fprintf(o->f, "%s :%u:%s\n", a, oct, txt);
			}
			if (oct == TL_CODE_OPERATOR)
				each_block(o, fam, rbldnsd_block);
		}
	}
}

/* The reversed owner name of the first @units octets (IPv4) or nibbles
 * (IPv6) of @ip (RFC 5782), relative to the zone. */
static void reversed(const struct tl_ip *ip, unsigned units, char *buf,
		     size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	int i;

	buf[0] = '\0';
	for (i = (int)units - 1; i >= 0 && o + 5 < size; i--) {
		if (ip->family == 4)
			o += (size_t)snprintf(buf + o, size - o, "%u.",
					      ip->a[i]);
		else {
			buf[o++] = hex[i & 1 ? ip->a[i / 2] & 15
					     : ip->a[i / 2] >> 4];
			buf[o++] = '.';
		}
	}
	buf[o ? o - 1 : 0] = '\0';
}

/* A TXT record's data, quoted (RFC 1035 5.1). */
static void bind_txt(struct out *o, const char *name, const char *txt)
{
	const char *c;

	fprintf(o->f, "%s IN TXT \"", name);
	for (c = txt; *c; c++) {
		if (*c == '"' || *c == '\\')
			fputc('\\', o->f);
		fputc(*c, o->f);
	}
	fputs("\"\n", o->f);
}

static void bind_one(struct out *o, const struct tl_ip *ip,
		     const struct snap_listing *li)
{
	char name[80], txt[TXT_MAX];
	uint8_t oct[6];
	unsigned n = octets(li->codes, oct), i;

	reversed(ip, ip->family == 4 ? 4 : 32, name, sizeof(name));
	for (i = 0; i < n; i++)
		fprintf(o->f, "%s IN A 127.0.0.%u\n", name, oct[i]);
	if (li == &test_point)
		snprintf(txt, sizeof(txt), "%s", TEST_POINT_TXT);
	else
		snap_txt(o->txt, ip, li, txt, sizeof(txt));
	bind_txt(o, name, txt);
}

/* The operator's ranges of @fam: the names a zone transfer carries. */
static void bind_ranges(struct out *o, uint8_t fam)
{
	struct snap_rname_iter it;
	struct snap_rname rn;

	snap_rnames_start(&it, o->sn, fam);
	while (snap_rnames_next(&it, &rn)) {
		char name[84], txt[TXT_MAX];
		uint8_t oct[6];
		unsigned n = octets(rn.li.codes, oct), i, len;

		len = fam == 4 ? rn.name.len / 8u : rn.name.len / 4u;
		snprintf(name, sizeof(name), "%s", rn.wildcard ? "*." : "");
		reversed(&rn.name.ip, len, name + strlen(name),
			 sizeof(name) - strlen(name));
		if (len == 0) /* a wildcard at the apex: a /0 */
			snprintf(name, sizeof(name), "*");
		for (i = 0; i < n; i++)
			fprintf(o->f, "%s IN A 127.0.0.%u\n", name, oct[i]);
		snap_txt(o->txt, NULL, &rn.li, txt, sizeof(txt));
		bind_txt(o, name, txt);
	}
}

static void bind_zone(struct out *o)
{
	struct tl_ip tp;
	uint8_t fam;
	uint64_t i;

	soa_ns(o, true);
	tl_ip_from_v4(&tp, 0x7f000002);
	bind_one(o, &tp, &test_point);
	tp.family = 6; /* the IPv6 test point, kept in IPv6 form */
	memset(tp.a, 0, 16);
	tp.a[10] = tp.a[11] = 0xff;
	tp.a[12] = 0x7f;
	tp.a[15] = 2;
	bind_one(o, &tp, &test_point);
	for (fam = 4; fam <= 6; fam += 2)
		for (i = 0; i < snap_count(o->sn, fam); i++) {
			struct snap_listing li;
			struct tl_ip ip;

			snap_listed_at(o->sn, fam, i, &ip, &li);
			bind_one(o, &ip, &li);
		}
	bind_ranges(o, 4);
	bind_ranges(o, 6);
}

static void count_block(struct out *o, const struct tl_prefix *blk,
			const struct tl_ip *lo, const struct tl_ip *hi,
			const struct snap_listing *li)
{
	(void)blk;
	(void)lo;
	(void)hi;
	(void)li;
	o->nblocks++;
}

static void ipset_block(struct out *o, const struct tl_prefix *blk,
			const struct tl_ip *lo, const struct tl_ip *hi,
			const struct snap_listing *li)
{
	char p[TL_PREFIX_STRLEN];

	(void)lo;
	(void)hi;
	(void)li;
	if (blk->len == 0) { /* hash:net takes /1 at the widest */
		o->skipped++;
		log_warn("export", "a range of the whole address space is "
			 "left out of the ipset export");
		return;
	}
	tl_prefix_format(blk, p);
	fprintf(o->f, "add trapline%unet %s\n", blk->ip.family, p);
}

/* The operator's ranges: one hash:net set per family, beside the hash:ip
 * one (a hash:net lookup costs a probe per prefix length in the set). */
static void ipset_nets(struct out *o, uint8_t fam)
{
	o->nblocks = 0;
	each_block(o, fam, count_block);
	fprintf(o->f, "create trapline%unet hash:net family %s maxelem %"
		PRIu64 " -exist\nflush trapline%unet\n", fam,
		fam == 4 ? "inet" : "inet6", o->nblocks + 1024, fam);
	each_block(o, fam, ipset_block);
}

/* ipset restore: one hash:ip set per family. */
static void ipset(struct out *o)
{
	uint64_t n4 = snap_count(o->sn, 4), n6 = snap_count(o->sn, 6), i;
	struct snap_listing li;
	struct tl_ip ip;
	char a[TL_IP_STRLEN];

	fprintf(o->f, "create trapline4 hash:ip family inet maxelem %" PRIu64
		" -exist\nflush trapline4\n", n4 + 1024);
	for (i = 0; i < n4; i++) {
		snap_listed_at(o->sn, 4, i, &ip, &li);
		tl_ip_format(&ip, a);
		fprintf(o->f, "add trapline4 %s\n", a);
	}
	fprintf(o->f, "create trapline6 hash:ip family inet6 maxelem %" PRIu64
		" -exist\nflush trapline6\n", n6 + 1024);
	for (i = 0; i < n6; i++) {
		snap_listed_at(o->sn, 6, i, &ip, &li);
		tl_ip_format(&ip, a);
		fprintf(o->f, "add trapline6 %s\n", a);
	}
	ipset_nets(o, 4);
	ipset_nets(o, 6);
}

static void nft_set(struct out *o, uint8_t fam)
{
	uint64_t n = snap_count(o->sn, fam), i;
	struct snap_listing li;
	struct tl_ip ip;
	char a[TL_IP_STRLEN];

	fprintf(o->f, "\tset bl%u {\n\t\ttype %s\n", fam,
		fam == 4 ? "ipv4_addr" : "ipv6_addr");
	if (n) {
		fputs("\t\telements = {", o->f);
		for (i = 0; i < n; i++) {
			snap_listed_at(o->sn, fam, i, &ip, &li);
			tl_ip_format(&ip, a);
			fprintf(o->f, "%s%s%s", i ? "," : "",
				i % 8 ? " " : "\n\t\t\t", a);
		}
		fputs(" }\n", o->f);
	}
	fputs("\t}\n", o->f);
}

/* The operator's ranges: an interval set per family. */
static void nft_ranges(struct out *o, uint8_t fam)
{
	uint64_t n = snap_range_count(o->sn, fam), i;
	struct snap_listing li;
	struct tl_ip lo, hi;
	char a[TL_IP_STRLEN], z[TL_IP_STRLEN];

	fprintf(o->f, "\tset bl%unet {\n\t\ttype %s\n\t\tflags interval\n",
		fam, fam == 4 ? "ipv4_addr" : "ipv6_addr");
	if (n) {
		fputs("\t\telements = {", o->f);
		for (i = 0; i < n; i++) {
			snap_range_at(o->sn, fam, i, &lo, &hi, &li);
			tl_ip_format(&lo, a);
			tl_ip_format(&hi, z);
			fprintf(o->f, "%s%s%s", i ? "," : "",
				i % 4 ? " " : "\n\t\t\t", a);
			if (tl_ip_cmp(&lo, &hi) != 0)
				fprintf(o->f, "-%s", z);
		}
		fputs(" }\n", o->f);
	}
	fputs("\t}\n", o->f);
}

/* nft -f: a table with one set per family, replaced whole. */
static void nft(struct out *o)
{
	fputs("table inet trapline {\n}\ndelete table inet trapline\n"
	      "table inet trapline {\n", o->f);
	nft_set(o, 4);
	nft_set(o, 6);
	nft_ranges(o, 4);
	nft_ranges(o, 6);
	fputs("}\n", o->f);
}

/* One CSV line or JSON object: @ip is an address or a CIDR block, @range
 * "LO-HI" for a block of an operator range (NULL for an address). */
static void row(struct out *o, const char *ip, const struct snap_listing *li,
		const char *range)
{
	static const char *const kinds[6] = {"spam", "dictionary", "auth",
					     "malware", "persistent",
					     "operator"};
	char f[TL_DAY_STRLEN], l[TL_DAY_STRLEN];
	bool json = o->json, firstc = true;
	unsigned b;

	tl_day_format(li->first, f);
	tl_day_format(li->last, l);
	fprintf(o->f, json ? "%s\n{\"ip\":\"%s\",\"codes\":[" : "%s%s,",
		json ? (o->first ? "" : ",") : "", ip);
	for (b = 0; b < 6; b++)
		if (li->codes & (1u << b)) {
			fprintf(o->f, json ? "%s\"127.0.0.%u\"" : "%s127.0.0.%u",
				firstc ? "" : json ? "," : " ",
				snap_code_octet(b));
			firstc = false;
		}
	fputs(json ? "],\"kinds\":[" : ",", o->f);
	firstc = true;
	for (b = 0; b < 6; b++)
		if (li->codes & (1u << b)) {
			fprintf(o->f, json ? "%s\"%s\"" : "%s%s",
				firstc ? "" : json ? "," : " ", kinds[b]);
			firstc = false;
		}
	fprintf(o->f, json ? "],\"first_seen\":\"%s\",\"last_seen\":\"%s\""
			   : ",%s,%s,", f, l);
	if (json && range)
		fprintf(o->f, ",\"range\":\"%s\"", range);
	fputs(json ? "}" : range ? range : "", o->f);
	if (!json)
		fputc('\n', o->f);
	o->first = false;
}

static void csv_json_block(struct out *o, const struct tl_prefix *blk,
			   const struct tl_ip *lo, const struct tl_ip *hi,
			   const struct snap_listing *li)
{
	char p[TL_PREFIX_STRLEN], range[2 * TL_IP_STRLEN + 1];
	size_t n;

	tl_prefix_format(blk, p);
	n = tl_ip_format(lo, range);
	range[n++] = '-';
	tl_ip_format(hi, range + n);
	row(o, p, li, range);
}

/* CSV and JSON: a row per listed address, then one per CIDR block of the
 * operator's ranges (ip the block, range the whole range it is part of:
 * first_seen is the day it was listed). */
static void csv_json(struct out *o, bool json)
{
	uint8_t fam;
	uint64_t i;

	o->json = json;
	o->first = true;
	fputs(json ? "[" : "ip,codes,kinds,first_seen,last_seen,range\n", o->f);
	for (fam = 4; fam <= 6; fam += 2)
		for (i = 0; i < snap_count(o->sn, fam); i++) {
			struct snap_listing li;
			struct tl_ip ip;
			char a[TL_IP_STRLEN];

			snap_listed_at(o->sn, fam, i, &ip, &li);
			tl_ip_format(&ip, a);
			row(o, a, &li, NULL);
		}
	each_block(o, 4, csv_json_block);
	each_block(o, 6, csv_json_block);
	if (json)
		fputs("\n]\n", o->f);
}

int cmd_export(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{"format", required_argument, NULL, OPT_FORMAT},
		{"zone", required_argument, NULL, OPT_ZONE},
		{"output", required_argument, NULL, OPT_OUTPUT},
		{NULL, 0, NULL, 0},
	};
	static const char *const names[] = {"rbldnsd", "bind", "ipset", "nft",
					    "csv", "json"};
	struct cli_common c = {0};
	struct tl_store *s = NULL;
	struct snap *sn = NULL;
	struct snap_info info;
	struct tl_policy pol;
	struct tl_oplist ops;
	struct out o = {0};
	const char *zone = NULL, *output = NULL;
	char path[4200];
	int opt, fmt = -1, ex, rc;
	size_t i;

	while ((opt = getopt_long(argc, argv, "f:o:", longopts, NULL)) != -1) {
		if (cli_common_opt(&c, opt, optarg))
			continue;
		switch (opt) {
		case 'f':
		case OPT_FORMAT:
			for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
				if (strcmp(optarg, names[i]) == 0)
					fmt = (int)i;
			if (fmt < 0) {
				log_error("export", "unknown format '%s'",
					  optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_ZONE:
			zone = optarg;
			break;
		case 'o':
		case OPT_OUTPUT:
			output = optarg;
			break;
		case OPT_HELP:
			printf("usage: %s\n", usage_text);
			return EXIT_OK;
		default:
			return cli_usage(usage_text);
		}
	}
	if (fmt < 0 || optind != argc)
		return cli_usage(usage_text);
	tl_oplist_init(&ops);
	ex = cli_load(&c);
	if (ex != EXIT_OK)
		goto out;
	ex = cli_open_store(&c, TL_STORE_READ, false, &s);
	if (ex != EXIT_OK)
		goto out;
	ex = cli_snapshot_path(&c, "export", path, sizeof(path));
	if (ex != EXIT_OK)
		goto out;
	ex = cli_policy_load(&c, &pol, &ops);
	if (ex != EXIT_OK)
		goto out;
	rc = snap_build(s, &pol, tl_day_today(), (uint32_t)time(NULL), path,
			&info, false);
	if (rc == 0)
		rc = snap_load(path, &sn);
	if (rc < 0) {
		log_error("export", "snapshot %s: %s", path, tl_strerror(rc));
		ex = cli_exit_code(rc);
		goto out;
	}
	o.f = output ? fopen(output, "we") : stdout;
	if (!o.f) {
		log_error("export", "%s: %s", output, strerror(errno));
		ex = EXIT_CANTCREAT;
		goto out;
	}
	o.sn = sn;
	o.zone = zone ? zone : c.cfg.dns_zone;
	o.txt = c.cfg.dns_txt;
	o.serial = info.serial;
	o.cfg = &c.cfg;
	switch (fmt) {
	case F_RBLDNSD: rbldnsd(&o); break;
	case F_BIND: bind_zone(&o); break;
	case F_IPSET: ipset(&o); break;
	case F_NFT: nft(&o); break;
	case F_CSV: csv_json(&o, false); break;
	case F_JSON: csv_json(&o, true); break;
	}
	if (fflush(o.f) != 0 || ferror(o.f)) {
		log_error("export", "%s: %s", output ? output : "(stdout)",
			  strerror(errno));
		ex = EXIT_IOERR;
	}
	if (output && fclose(o.f) != 0 && ex == EXIT_OK)
		ex = EXIT_IOERR;
	log_info("export", "%" PRIu64 " IPv4 and %" PRIu64 " IPv6 addresses "
		 "and %" PRIu64 " ranges listed (serial %" PRIu32 ")", info.n4,
		 info.n6, info.nr4 + info.nr6, info.serial);
out:
	snap_free(sn);
	tl_oplist_free(&ops);
	tl_store_close(s);
	cli_free(&c);
	return ex;
}
