/* SPDX-License-Identifier: MIT */
/* answer.c -- the block-list zones' answers (RFC 5782, 2308, 8020) */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "dnsbl.h"
#include "trapline/alloc.h"
#include "xfr_int.h"
#include "trapline/config.h"
#include "trapline/err.h"
#include "trapline/log.h"

#define TEST_POINT_TXT "RFC 5782 test point"

static int name(const char *text, uint8_t *out, size_t *len, const char *key)
{
	int rc = dns_name_from_text(text, strlen(text), out, len);

	if (rc < 0)
		log_error("dns", "[dns] %s: '%s' is not a domain name", key,
			  text);
	return rc < 0 ? TL_ESYNTAX : 0;
}

int dnsbl_zones_init(struct dnsbl_zones *z, const char *zone, const char *ns,
		     const char *hostmaster, const char *txt)
{
	char hist[DNS_NAME_MAX + 8], item[DNS_NAME_MAX + 1];
	const char *p = ns, *it;
	size_t l, len;

	memset(z, 0, sizeof(*z));
	if (name(zone, z->bl, &z->bl_len, "zone") < 0)
		return TL_ESYNTAX;
	snprintf(hist, sizeof(hist), "hist.%s", zone);
	if (name(hist, z->hist, &z->hist_len, "zone") < 0)
		return TL_ESYNTAX;
	while (tl_config_next_item(&p, &it, &l) && z->nns < 8) {
		if (l >= sizeof(item))
			return TL_ESYNTAX;
		memcpy(item, it, l);
		item[l] = '\0';
		if (name(item, z->ns[z->nns], &len, "ns") < 0)
			return TL_ESYNTAX;
		z->nns++;
	}
	if (!z->nns && name("localhost", z->ns[z->nns++], &len, "ns") < 0)
		return TL_ESYNTAX;
	if (name(hostmaster, z->rname, &len, "hostmaster") < 0)
		return TL_ESYNTAX;
	snprintf(z->txt, sizeof(z->txt), "%s", txt);
	z->ttl = 300;
	z->neg_ttl = 300;
	z->edns_payload = 1232; /* no IP fragmentation (DNS flag day 2020) */
	return 0;
}

static void add_soa(struct dns_resp *r, const struct dnsbl_zones *z,
		    const uint8_t *apex, uint32_t serial)
{
	struct dns_soa soa = {z->ns[0], z->rname, serial, 3600, 600, 604800,
			      z->neg_ttl};

	dns_resp_add_soa(r, apex, z->neg_ttl, &soa);
}

/* No data or no name: the SOA in the authority section (RFC 2308). */
static void negative(struct dns_resp *r, const struct dnsbl_zones *z,
		     const uint8_t *apex, uint32_t serial, unsigned rcode)
{
	dns_resp_set_rcode(r, rcode);
	dns_resp_section(r, DNS_SEC_AUTHORITY);
	add_soa(r, z, apex, serial);
}

static void apex_answer(struct dns_resp *r, const struct dnsbl_zones *z,
			const uint8_t *apex, uint32_t serial, uint16_t qtype)
{
	unsigned i;

	if (qtype == DNS_TYPE_SOA || qtype == DNS_TYPE_ANY)
		add_soa(r, z, NULL, serial);
	if (qtype == DNS_TYPE_NS || qtype == DNS_TYPE_ANY)
		for (i = 0; i < z->nns; i++)
			dns_resp_add_ns(r, NULL, z->ttl, z->ns[i]);
	if (qtype != DNS_TYPE_SOA && qtype != DNS_TYPE_NS &&
	    qtype != DNS_TYPE_ANY)
		negative(r, z, apex, serial, DNS_RCODE_NOERROR);
}

/* A listed address in the bl zone. */
static void listed_answer(struct dns_resp *r, const struct dnsbl_zones *z,
			  const struct tl_ip *ip, const struct snap_listing *li,
			  bool test_point, uint32_t serial, uint16_t qtype)
{
	char txt[1024];
	unsigned b;
	size_t n;

	if (qtype == DNS_TYPE_A || qtype == DNS_TYPE_ANY)
		for (b = 0; b < 6; b++)
			if (li->codes & (1u << b)) {
				uint8_t a[4] = {127, 0, 0, snap_code_octet(b)};

				dns_resp_add_a(r, NULL, z->ttl, a);
			}
	if (qtype == DNS_TYPE_TXT || qtype == DNS_TYPE_ANY) {
		if (test_point)
			n = (size_t)snprintf(txt, sizeof(txt), "%s",
					     TEST_POINT_TXT);
		else
			n = snap_txt(z->txt, ip, li, txt, sizeof(txt));
		dns_resp_add_txt(r, NULL, z->ttl, txt, n);
	}
	if (qtype != DNS_TYPE_A && qtype != DNS_TYPE_TXT &&
	    qtype != DNS_TYPE_ANY)
		negative(r, z, z->bl, serial, DNS_RCODE_NOERROR);
}

size_t dnsbl_hist_records(const struct snap_history *h, tl_day today,
			  uint8_t a[4], char *txt, size_t size)
{
	long years = (h->last - h->first) / 365, days = today - h->last;
	char f[TL_DAY_STRLEN], l[TL_DAY_STRLEN];
	int n;

	a[0] = 127;
	a[1] = (uint8_t)(years > 255 ? 255 : years);
	a[2] = (uint8_t)(days > 255 ? 255 : days < 0 ? 0 : days);
	a[3] = (uint8_t)h->kinds;
	tl_day_format(h->first, f);
	tl_day_format(h->last, l);
	n = snprintf(txt, size, "first seen %s, last seen %s", f, l);
	return n < 0 ? 0 : (size_t)n >= size ? size - 1 : (size_t)n;
}

static void hist_answer(struct dns_resp *r, const struct dnsbl_zones *z,
			const struct snap_history *h, tl_day today,
			uint32_t serial, uint16_t qtype)
{
	uint8_t a[4];
	char txt[96];
	size_t n = dnsbl_hist_records(h, today, a, txt, sizeof(txt));

	if (qtype == DNS_TYPE_A || qtype == DNS_TYPE_ANY)
		dns_resp_add_a(r, NULL, z->ttl, a);
	if (qtype == DNS_TYPE_TXT || qtype == DNS_TYPE_ANY)
		dns_resp_add_txt(r, NULL, z->ttl, txt, n);
	if (qtype != DNS_TYPE_A && qtype != DNS_TYPE_TXT &&
	    qtype != DNS_TYPE_ANY)
		negative(r, z, z->hist, serial, DNS_RCODE_NOERROR);
}

/* What identifies a dataset file's content: all zero when it is gone. */
static void file_id(const char *file, struct dnsbl_dataset *ds)
{
	struct stat sb;

	ds->dev = ds->ino = ds->size = 0;
	ds->mtime_ns = 0;
	if (stat(file, &sb) < 0)
		return;
	ds->dev = (uint64_t)sb.st_dev;
	ds->ino = (uint64_t)sb.st_ino;
	ds->size = (uint64_t)sb.st_size;
	ds->mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 +
		       sb.st_mtim.tv_nsec;
}

int dnsbl_datasets_load(struct dnsbl_zones *z, const char *spec)
{
	static const struct {
		const char *name;
		enum rbl_type type;
		unsigned families;
	} types[] = {
		{"ip4set", RBL_IP4SET, DNS_REV_V4},
		{"ip4trie", RBL_IP4TRIE, DNS_REV_V4},
		{"ip6trie", RBL_IP6TRIE, DNS_REV_V6},
	};
	const char *p = spec, *it;
	char item[4096], why[256];
	size_t l, i;
	int rc;

	while (tl_config_next_item(&p, &it, &l)) {
		struct dnsbl_dataset *ds = &z->ds[z->nds];
		char *zone, *type, *file;

		if (z->nds == DNSBL_DATASETS_MAX || l >= sizeof(item)) {
			log_error("dns", "[dns] dataset: at most %d, each under "
				  "4 KiB", DNSBL_DATASETS_MAX);
			return TL_ELIMIT;
		}
		memcpy(item, it, l);
		item[l] = '\0';
		zone = item;
		type = strchr(zone, ':');
		file = type ? strchr(type + 1, ':') : NULL;
		if (!file) {
			log_error("dns", "[dns] dataset '%s': want "
				  "ZONE:TYPE:FILE", item);
			return TL_ESYNTAX;
		}
		*type++ = '\0';
		*file++ = '\0';
		for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (strcmp(type, types[i].name) == 0)
				break;
		if (i == sizeof(types) / sizeof(types[0])) {
			log_error("dns", "[dns] dataset %s: type %s is not one "
				  "of ip4set, ip4trie, ip6trie", zone, type);
			return TL_ESYNTAX;
		}
		if (name(zone, ds->apex, &ds->apex_len, "dataset") < 0)
			return TL_ESYNTAX;
		/* The file's identity first: a change during the load is
		 * then seen as a change, and loaded again. */
		file_id(file, ds);
		ds->file = tl_calloc(1, strlen(file) + 1);
		if (!ds->file)
			return TL_ENOMEM;
		memcpy(ds->file, file, strlen(file));
		rc = rbl_data_load(file, types[i].type, &ds->d, why,
				   sizeof(why));
		if (rc < 0) {
			log_error("dns", "%s: %s", file, why);
			tl_free(ds->file);
			ds->file = NULL;
			return rc;
		}
		if (rbl_data_bad_lines(ds->d))
			log_warn("dns", "%s: %zu bad lines skipped, the first: "
				 "%s", file, rbl_data_bad_lines(ds->d),
				 rbl_data_warning(ds->d, 0));
		ds->families = types[i].families;
		z->nds++;
		log_info("dns", "zone %s: %zu entries from %s (%s)", zone,
			 rbl_data_entries(ds->d), file, type);
	}
	return 0;
}

void dnsbl_zones_free(struct dnsbl_zones *z)
{
	unsigned i;

	for (i = 0; i < z->nds; i++) {
		rbl_data_free(z->ds[i].d);
		tl_free(z->ds[i].file);
	}
	z->nds = 0;
}

bool dnsbl_datasets_changed(const struct dnsbl_zones *z)
{
	unsigned i;

	for (i = 0; i < z->nds; i++) {
		struct dnsbl_dataset now;

		file_id(z->ds[i].file, &now);
		if (now.dev != z->ds[i].dev || now.ino != z->ds[i].ino ||
		    now.size != z->ds[i].size ||
		    now.mtime_ns != z->ds[i].mtime_ns)
			return true;
	}
	return false;
}

int dnsbl_zones_reload(const struct dnsbl_zones *z, const char *spec,
		       struct dnsbl_zones **out)
{
	struct dnsbl_zones *n = tl_calloc(1, sizeof(*n));
	int rc;

	*out = NULL;
	if (!n)
		return TL_ENOMEM;
	*n = *z;
	n->nds = 0;
	rc = dnsbl_datasets_load(n, spec);
	if (rc < 0) {
		dnsbl_zones_free(n);
		tl_free(n);
		return rc;
	}
	*out = n;
	return 0;
}

/* A query in one of the rbldnsd-syntax zones. */
static size_t dataset_answer(const struct dnsbl_zones *z,
			     const struct dnsbl_dataset *ds,
			     struct dns_query *q, const struct dns_zone_pos *pos,
			     uint8_t *out, size_t max, struct dnsbl_counts *c)
{
	const struct rbl_soa *soa = rbl_data_soa(ds->d);
	uint32_t ttl = rbl_data_ttl(ds->d) ? rbl_data_ttl(ds->d) : z->ttl;
	uint32_t serial = soa->valid && soa->serial ? soa->serial : 1;
	struct rbl_hit hit;
	struct dns_resp r;
	struct tl_ip ip;
	enum dns_rev rev;
	unsigned i;

	if (dns_resp_init(&r, out, max, q, DNS_RESP_AA, z->edns_payload) < 0)
		return 0;
	if (pos->nleft == 0) {
		apex_answer(&r, z, ds->apex, serial, q->qtype);
		return dns_resp_finish(&r);
	}
	rev = dns_rev_parse(q, pos->nleft, ds->families, &ip);
	if (rev == DNS_REV_PARTIAL) {
		negative(&r, z, ds->apex, serial, DNS_RCODE_NOERROR);
		return dns_resp_finish(&r);
	}
	if (rev == DNS_REV_ADDR && rbl_lookup(ds->d, &ip, &hit)) {
		atomic_fetch_add(&c->listed, 1);
		for (i = 0; i < hit.count; i++) {
			const char *txt;
			uint32_t a;
			char buf[256];
			size_t n;

			if (!rbl_hit_get(ds->d, &hit, i, &a, &txt))
				break;
			if (q->qtype == DNS_TYPE_A || q->qtype == DNS_TYPE_ANY) {
				uint8_t w[4] = {(uint8_t)(a >> 24),
						(uint8_t)(a >> 16),
						(uint8_t)(a >> 8), (uint8_t)a};

				dns_resp_add_a(&r, NULL, ttl, w);
			}
			if ((q->qtype == DNS_TYPE_TXT || q->qtype == DNS_TYPE_ANY) &&
			    txt &&
			    (n = rbl_txt_expand(ds->d, txt, &ip, buf, sizeof(buf))))
				dns_resp_add_txt(&r, NULL, ttl, buf, n);
		}
		return dns_resp_finish(&r);
	}
	atomic_fetch_add(&c->nxdomain, 1);
	negative(&r, z, ds->apex, serial, DNS_RCODE_NXDOMAIN);
	return dns_resp_finish(&r);
}

void dnsbl_zones_set_chaos(struct dnsbl_zones *z, const char *version,
			   const char *identity)
{
	snprintf(z->version, sizeof(z->version), "%s", version);
	snprintf(z->identity, sizeof(z->identity), "%s", identity);
}

/* The CHAOS TXT text configured for the question's name, or NULL. */
static const char *chaos_text(const struct dnsbl_zones *z,
			      const struct dns_query *q)
{
	static const struct {
		const char *wire; /* the name, wire form */
		size_t len;
		bool version;     /* else the identity */
	} names[] = {
		{"\7version\4bind", 14, true},
		{"\7version\6server", 16, true},
		{"\10hostname\4bind", 15, false},
		{"\2id\6server", 11, false},
	};
	struct dns_zone_pos pos;
	size_t i;

	if (q->qclass != DNS_CLASS_CH ||
	    (q->qtype != DNS_TYPE_TXT && q->qtype != DNS_TYPE_ANY))
		return NULL;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *t = names[i].version ? z->version : z->identity;

		if (t[0] &&
		    dns_name_in_zone(q, (const uint8_t *)names[i].wire,
				     names[i].len, &pos) &&
		    pos.nleft == 0)
			return t;
	}
	return NULL;
}

/* Reads the untrusted packet only through dns_query_parse. */
static size_t answer(const struct dnsbl_zones *z, const struct snap *sn,
		     const uint8_t *pkt, size_t len, bool tcp, uint8_t *out,
		     struct dnsbl_stats *st)
{
	struct dns_query q;
	struct dns_zone_pos pos;
	struct dns_resp r;
	struct snap_info info = {0};
	struct dnsbl_counts *c;
	const uint8_t *apex;
	enum dns_verdict v;
	enum dns_rev rev;
	struct tl_ip ip;
	bool hist;
	size_t max;

	v = dns_query_parse(pkt, len, &q);
	if (v == DNS_Q_DROP)
		return 0;
	if (v == DNS_Q_FORMERR && q.has_question &&
	    q.qtype == DNS_TYPE_IXFR && q.opcode == DNS_OPCODE_QUERY) {
		struct xfr_query xq;

		/* RFC 1995 3: an IXFR carries the client's SOA in the
		 * authority section, which wire.c takes for malformed. */
		if (xfr_query_parse(pkt, len, &xq) == XFR_P_OK)
			v = DNS_Q_OK;
	}
	max = dns_reply_max(&q, tcp, z->edns_payload);
	if (v != DNS_Q_OK || q.opcode != DNS_OPCODE_QUERY) {
		atomic_fetch_add(&st->other, 1);
		if (v == DNS_Q_OK) /* NOTIFY: we are nobody's secondary */
			q.rcode = DNS_RCODE_NOTIMP;
		return dns_resp_error(out, max, &q, z->edns_payload);
	}
	if (q.qclass == DNS_CLASS_IN) {
		unsigned i;

		for (i = 0; i < z->nds; i++)
			if (dns_name_in_zone(&q, z->ds[i].apex,
					     z->ds[i].apex_len, &pos)) {
				atomic_fetch_add(&st->bl.total, 1);
				return dataset_answer(z, &z->ds[i], &q, &pos,
						      out, max, &st->bl);
			}
	}
	if (q.qclass == DNS_CLASS_CH) {
		const char *t = chaos_text(z, &q);

		if (t && dns_resp_init(&r, out, max, &q, DNS_RESP_AA,
				       z->edns_payload) == 0) {
			atomic_fetch_add(&st->other, 1);
			dns_resp_add_txt(&r, NULL, 0, t, strlen(t));
			return dns_resp_finish(&r);
		}
	}
	hist = dns_name_in_zone(&q, z->hist, z->hist_len, &pos);
	if (q.qclass != DNS_CLASS_IN ||
	    (!hist && !dns_name_in_zone(&q, z->bl, z->bl_len, &pos))) {
		/* Not ours (version.bind and friends included). */
		atomic_fetch_add(&st->other, 1);
		q.rcode = DNS_RCODE_REFUSED;
		return dns_resp_error(out, max, &q, z->edns_payload);
	}
	c = hist ? &st->hist : &st->bl;
	apex = hist ? z->hist : z->bl;
	atomic_fetch_add(&c->total, 1);
	if (!sn) {
		atomic_fetch_add(&c->errors, 1);
		q.rcode = DNS_RCODE_SERVFAIL;
		return dns_resp_error(out, max, &q, z->edns_payload);
	}
	snap_get_info(sn, &info);
	if (dns_resp_init(&r, out, max, &q, DNS_RESP_AA, z->edns_payload) < 0)
		return 0;
	if (q.qtype == DNS_TYPE_IXFR && !tcp && pos.nleft == 0) {
		/* RFC 1995 2: over UDP, the SOA alone tells the client
		 * whether to come back over TCP. */
		add_soa(&r, z, NULL, info.serial);
		return dns_resp_finish(&r);
	}
	if (q.qtype == DNS_TYPE_AXFR || q.qtype == DNS_TYPE_IXFR) {
		/* Over TCP, xfr.c takes them when transfers are set up:
		 * refused here. */
		atomic_fetch_add(&c->refused, 1);
		dns_resp_set_rcode(&r, DNS_RCODE_REFUSED);
		return dns_resp_finish(&r);
	}
	if (pos.nleft == 0) {
		apex_answer(&r, z, apex, info.serial, q.qtype);
		return dns_resp_finish(&r);
	}
	rev = dns_rev_parse(&q, pos.nleft, DNS_REV_V4 | DNS_REV_V6, &ip);
	if (rev == DNS_REV_PARTIAL) {
		/* An empty non-terminal: it exists, with no data. */
		negative(&r, z, apex, info.serial, DNS_RCODE_NOERROR);
		return dns_resp_finish(&r);
	}
	if (rev == DNS_REV_ADDR && !hist) {
		struct snap_listing li;
		bool tp = ip.family == 4 && tl_ip_v4(&ip) == 0x7f000002;

		if (tp) {
			memset(&li, 0, sizeof(li));
			li.codes = SNAP_SPAM;
		}
		if (tp || snap_lookup(sn, &ip, &li)) {
			atomic_fetch_add(&c->listed, 1);
			listed_answer(&r, z, &ip, &li, tp, info.serial,
				      q.qtype);
			return dns_resp_finish(&r);
		}
	} else if (rev == DNS_REV_ADDR) {
		struct snap_history h;

		if (snap_history(sn, &ip, &h)) {
			atomic_fetch_add(&c->listed, 1);
			hist_answer(&r, z, &h, info.day, info.serial, q.qtype);
			return dns_resp_finish(&r);
		}
	}
	atomic_fetch_add(&c->nxdomain, 1);
	negative(&r, z, apex, info.serial, DNS_RCODE_NXDOMAIN);
	return dns_resp_finish(&r);
}

size_t dnsbl_answer(const struct dnsbl_zones *z, const struct snap *sn,
		    const uint8_t *pkt, size_t len, bool tcp, uint8_t *out,
		    struct dnsbl_stats *st)
{
	size_t n = answer(z, sn, pkt, len, tcp, out, st);

	/* A secondary signs its SOA query before a transfer (RFC 8945). */
	if (z->tsig && n)
		n = xfr_tsig_answer(z->tsig, pkt, len, out, n,
				    tcp ? DNS_TCP_MAX : DNS_UDP_MAX);
	return n;
}
