/* SPDX-License-Identifier: MIT */
/* dnsbl.h -- what the block-list zones answer (RFC 5782), without I/O
 *
 * Two zones from one snapshot (DESIGN.md): ZONE, where a listed address
 * gets an A record per code (127.0.0.2 spam ... 127.0.0.10 operator) and
 * a TXT from the template; and hist.ZONE, where every address in the
 * history gets A 127.Y.D.K (whole years between first and last seen, days
 * since last seen, a bitmask of kinds). The apex of each has SOA and NS;
 * a name that is not listed is NXDOMAIN with the SOA for negative caching
 * (RFC 2308); an empty non-terminal such as 69.2.81.ZONE is NOERROR with
 * no data (RFC 8020, so QNAME minimisation works); a name outside both is
 * REFUSED; CHAOS queries (version.bind) are REFUSED unless configured.
 */
#ifndef TRAPLINE_DNS_DNSBL_H
#define TRAPLINE_DNS_DNSBL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/snapshot.h"
#include "rbldnsd.h"
#include "wire.h"

#define DNSBL_DATASETS_MAX 16 /* rbldnsd-syntax zones served (count) */

/* A zone served from an rbldnsd-syntax file ([dns] dataset). */
struct dnsbl_dataset {
	uint8_t apex[DNS_NAME_MAX]; /* wire form */
	size_t apex_len;
	struct rbl_data *d;         /* owned */
	unsigned families;          /* DNS_REV_V4 and/or DNS_REV_V6 */
	char *file;                 /* owned: the file it was loaded from */
	uint64_t dev, ino, size;    /* the file when it was loaded */
	int64_t mtime_ns;
};

struct xfr_tsig_keys;

/* The zones served, built once from the configuration. */
struct dnsbl_zones {
	struct dnsbl_dataset ds[DNSBL_DATASETS_MAX];
	unsigned nds;
	uint8_t bl[DNS_NAME_MAX];   /* the block list apex, wire form */
	size_t bl_len;
	uint8_t hist[DNS_NAME_MAX]; /* hist.<bl> */
	size_t hist_len;
	uint8_t ns[8][DNS_NAME_MAX]; /* NS names ([dns] ns) */
	unsigned nns;
	uint8_t rname[DNS_NAME_MAX]; /* SOA mailbox ([dns] hostmaster) */
	char txt[1024];             /* TXT template ([dns] txt) */
	char version[256];          /* CHAOS version.bind ("": refused) */
	char identity[256];         /* CHAOS id.server ("": refused) */
	uint32_t ttl;               /* answers (s) */
	uint32_t neg_ttl;           /* SOA minimum: negative answers (s) */
	uint16_t edns_payload;      /* UDP size we advertise and accept */
	const struct xfr_tsig_keys *tsig; /* sign answers to queries signed
					   * with one (xfr.h); NULL: none */
};

/* Query counters of one zone (atomics: every worker adds to them). */
struct dnsbl_counts {
	atomic_uint_fast64_t total, listed, nxdomain, errors, refused;
};

struct dnsbl_stats {
	struct dnsbl_counts bl, hist;
	atomic_uint_fast64_t other; /* malformed, outside the zones */
};

/*
 * Build the zones from [dns] zone, ns, hostmaster and txt. Returns 0, or
 * TL_ESYNTAX naming the bad value in the log.
 */
int dnsbl_zones_init(struct dnsbl_zones *z, const char *zone, const char *ns,
		     const char *hostmaster, const char *txt);

/*
 * Load the datasets of [dns] dataset: "ZONE:TYPE:FILE" items (TYPE one of
 * ip4set, ip4trie, ip6trie), as rbldnsd takes them on its command line.
 * Bad lines in a file are skipped and reported (as rbldnsd does); an
 * unreadable file or a bad item is an error. Returns 0 or a TL_E*.
 */
int dnsbl_datasets_load(struct dnsbl_zones *z, const char *spec);
void dnsbl_zones_free(struct dnsbl_zones *z);

/* What CHAOS TXT queries get: version.bind and version.server @version,
 * hostname.bind and id.server (RFC 4892) @identity; empty: REFUSED, the
 * default, as NSD's hide-version. Longer texts are cut at 255 bytes. */
void dnsbl_zones_set_chaos(struct dnsbl_zones *z, const char *version,
			   const char *identity);

/* Has a dataset file changed (replaced, written, gone) since it was
 * loaded? */
bool dnsbl_datasets_changed(const struct dnsbl_zones *z);

/*
 * New zones (heap, for dns_server_set_zones) with @z's settings and the
 * datasets of @spec loaded again. Returns 0, or the error of the load
 * (logged) and *@out NULL.
 */
int dnsbl_zones_reload(const struct dnsbl_zones *z, const char *spec,
		       struct dnsbl_zones **out);

/*
 * Answer the query in @pkt (@len untrusted bytes) from @sn (may be NULL:
 * no data yet: SERVFAIL) into @out (DNS_TCP_MAX bytes for TCP, else at
 * least the EDNS payload). @tcp: the query came over TCP (no truncation
 * below 64 KiB). Returns the reply's length, or 0 when nothing is to be
 * sent (a response, a runt). Counts into @st.
 */
size_t dnsbl_answer(const struct dnsbl_zones *z, const struct snap *sn,
		    const uint8_t *pkt, size_t len, bool tcp, uint8_t *out,
		    struct dnsbl_stats *st);

/*
 * The records of a hist.ZONE name: the A record's data into @a (127.Y.D.K:
 * Y the years between first and last seen, D the days since last seen
 * as of @today, both saturating at 255, K the kinds) and the TXT into
 * @txt (@size bytes, NUL-ended). Returns the TXT's length. One function
 * for answers and transfers, so that they agree.
 */
size_t dnsbl_hist_records(const struct snap_history *h, tl_day today,
			  uint8_t a[4], char *txt, size_t size);

#endif
