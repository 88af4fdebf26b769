/* SPDX-License-Identifier: MIT */
/* xfr.c -- zone transfers of the bl zone and of hist.ZONE: AXFR (RFC 5936),
 * IXFR from the journal (RFC 1995; bl only), the transfer ACL, NOTIFY
 * (RFC 1996)
 *
 * A transfer answer is a stream: each call writes one message of about
 * 16 KiB from where the last one stopped (an index into the snapshot's
 * sorted arrays, or a position in the journal file), so the zone is never
 * built in memory and a worker's event loop serves other connections
 * between messages.
 */
#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ev.h"
#include "net.h"
#include "trapline/alloc.h"
#include "trapline/config.h"
#include "trapline/err.h"
#include "trapline/log.h"
#include "xfr_int.h"

#define NOTIFY_MAX 16         /* NOTIFY targets (count) */
#define NOTIFY_TRIES 6        /* sends before giving up (count) */
#define NOTIFY_FIRST_MS 1000  /* wait for the first answer; doubles (ms) */
#define JBUF (64 * 1024)      /* journal bytes read at once */
#define REFUSALS_LOGGED 10    /* refused transfers logged a second (count) */

struct notify_target {
	struct dns_xfr *x; /* the owner */
	struct sockaddr_storage ss;
	socklen_t len;
	char text[64];     /* as configured, for the log */
	const struct xfr_tsig_key *key; /* signs its NOTIFY, or NULL */
	uint32_t serial;   /* being told (valid when tries) */
	unsigned tries;    /* sent so far; 0 = nothing pending */
	uint16_t id;       /* of the last NOTIFY sent */
	uint64_t timer;
};

struct dns_xfr {
	const struct dnsbl_zones *z;
	struct tl_prefix *acl; /* owned (malloc, tl_config_parse_prefixes) */
	unsigned nacl;
	struct ixfr_journal j; /* the bl zone's */
	bool have_j;
	struct xfr_tsig_keys keys; /* [dns] tsig_key */
	/* NOTIFY */
	struct notify_target nt[NOTIFY_MAX];
	unsigned nnt;
	int sock4, sock6;
	struct ev_loop *loop;
	pthread_t th;
	bool started;
	atomic_bool stopping;
	pthread_mutex_t mu;    /* guards pending */
	uint32_t pending;      /* serial to announce */
	bool has_pending;
	/* Refusals logged this second: a peer that knocks all day does not
	 * fill the log. */
	atomic_uint_fast64_t refusal_sec, refusals, unlogged;
};

enum phase { P_HEAD, P_V4, P_V6, P_R4, P_R6, P_TAIL, P_DONE };

struct dns_xfr_stream {
	struct dns_xfr *x;
	const struct snap *sn; /* borrowed: the caller holds a reference */
	struct xfr_query q;
	uint32_t serial;
	bool ixfr;             /* from the journal, else the whole zone */
	bool hist;             /* hist.ZONE (always whole), else bl.ZONE */
	tl_day day;            /* the snapshot's (hist.ZONE's D octet) */
	struct xfr_tsig tsig;  /* with tsig.key: TSIG every message */
	enum phase ph;
	uint64_t i;            /* next listed address of the phase */
	struct snap_rname_iter rit; /* next range name (P_R4, P_R6) */
	/* IXFR */
	struct ixfr_rec *chain;
	size_t nchain, ci;     /* records, the current one */
	int step;              /* 0 SOA from, 1 deletions, 2 SOA to, 3 adds */
	uint64_t left;         /* records left of this step */
	uint64_t foff;         /* file offset of the next record */
	int fd;
	uint8_t *buf;          /* JBUF */
	size_t blen, bpos;
	/* for the log */
	uint64_t msgs, rrs;
	struct timespec t0;
	char peer[TL_IP_STRLEN];
};

/* ---- ACL ---------------------------------------------------------------- */

static bool peer_ip(const struct sockaddr *sa, socklen_t len, struct tl_ip *ip)
{
	char text[INET6_ADDRSTRLEN];
	const void *a;

	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in))
		a = &((const struct sockaddr_in *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6 &&
		 len >= sizeof(struct sockaddr_in6))
		a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	else
		return false;
	if (!inet_ntop(sa->sa_family, a, text, sizeof(text)))
		return false;
	/* tl_ip_parse turns ::ffff:a.b.c.d into family 4. */
	return tl_ip_parse(text, strlen(text), ip) == 0;
}

static bool allowed(const struct dns_xfr *x, const struct tl_ip *ip)
{
	unsigned i;

	for (i = 0; i < x->nacl; i++)
		if (tl_prefix_contains(&x->acl[i], ip))
			return true;
	return false;
}

/* Log this refusal? At most REFUSALS_LOGGED a second; the count of the
 * others is logged with the next one that is. */
static bool log_refusal(struct dns_xfr *x)
{
	uint64_t now = (uint64_t)time(NULL), sec = atomic_load(&x->refusal_sec);
	uint_fast64_t missed;

	if (sec != now && atomic_compare_exchange_strong(&x->refusal_sec, &sec,
							 now)) {
		atomic_store(&x->refusals, 0);
		missed = atomic_exchange(&x->unlogged, 0);
		if (missed)
			log_warn("dns", "%llu more refused transfers not "
				 "logged", (unsigned long long)missed);
	}
	if (atomic_fetch_add(&x->refusals, 1) < REFUSALS_LOGGED)
		return true;
	atomic_fetch_add(&x->unlogged, 1);
	return false;
}

/* ---- queries ------------------------------------------------------------ */

static size_t one_message(const struct dns_xfr *x, const struct xfr_query *q,
			  unsigned rcode, const struct snap *sn, uint8_t *out,
			  struct xfr_tsig *t)
{
	struct xfr_msg m;
	size_t len;

	if (xfr_msg_init(&m, out, DNS_TCP_MAX, q, rcode) < 0)
		return 0;
	if (sn) {
		struct snap_info info;
		uint8_t rd[XFR_RDATA_MAX];
		size_t n;

		snap_get_info(sn, &info);
		n = xfr_soa_rdata(x->z, info.serial, rd);
		xfr_msg_add(&m, NULL, 0, DNS_TYPE_SOA, x->z->neg_ttl, rd, n);
	}
	len = xfr_msg_finish(&m);
	if (t)
		xfr_tsig_sign(t->key, t, out, &len, DNS_TCP_MAX, time(NULL));
	return len;
}

/* The wire-form name @n (@len bytes, from the network or the
 * configuration) as text for the log, into @out of @size bytes: bytes
 * other than letters, digits, '-' and '_' as \DDD (RFC 4343). */
static const char *name_text(const uint8_t *n, size_t len, char *out,
			     size_t size)
{
	size_t i = 0, o = 0;

	out[0] = '\0';
	while (i < len && n[i] && o + 6 < size) {
		size_t l = n[i++], j;

		for (j = 0; j < l && i < len && o + 6 < size; j++, i++) {
			uint8_t c = n[i];

			if (isalnum(c) || c == '-' || c == '_')
				out[o++] = (char)c;
			else
				o += (size_t)snprintf(out + o, size - o, "\\%03u",
						      c);
		}
		out[o++] = '.';
		out[o] = '\0';
	}
	return out;
}

static const char *tsig_why(enum xfr_tsig_res r)
{
	switch (r) {
	case XFR_TSIG_NONE:
		return "not signed ([dns] tsig_key is set)";
	case XFR_TSIG_FORMERR:
		return "malformed TSIG";
	case XFR_TSIG_BADKEY:
		return "TSIG with another key or algorithm (BADKEY)";
	case XFR_TSIG_BADSIG:
		return "TSIG MAC does not check (BADSIG)";
	case XFR_TSIG_BADTIME:
		return "TSIG time outside the fudge (BADTIME)";
	case XFR_TSIG_BADTRUNC:
		return "truncated TSIG MAC (BADTRUNC)";
	case XFR_TSIG_OK:
		break;
	}
	return "bad TSIG";
}

static bool same_name(const struct xfr_query *q, const uint8_t *apex,
		      size_t len)
{
	return q->qname_len == len && memcmp(q->qname_lc, apex, len) == 0;
}

enum dns_xfr_verdict dns_xfr_query(struct dns_xfr *x, const struct snap *sn,
				   const uint8_t *pkt, size_t len,
				   const struct sockaddr *peer,
				   socklen_t peerlen, uint8_t *out,
				   size_t *outlen, struct dns_xfr_stream **st)
{
	const struct dnsbl_zones *z = x->z;
	const char *tname = "AXFR";
	struct dns_xfr_stream *s;
	struct xfr_query q;
	struct snap_info info;
	struct tl_ip ip = {0};
	struct xfr_tsig tsig = {0};
	char who[TL_IP_STRLEN] = "?";
	enum xfr_parse v;
	unsigned i;
	bool ours, hist;

	*st = NULL;
	v = xfr_query_parse(pkt, len, &q);
	if (v == XFR_P_NOT)
		return DNS_XFR_NOT;
	if (peer_ip(peer, peerlen, &ip))
		tl_ip_format(&ip, who);
	if (q.qtype == DNS_TYPE_IXFR)
		tname = "IXFR";
	if (v == XFR_P_FORMERR) {
		*outlen = one_message(x, &q, DNS_RCODE_FORMERR, NULL, out, NULL);
		return DNS_XFR_REPLY;
	}
	hist = same_name(&q, z->hist, z->hist_len);
	ours = hist || same_name(&q, z->bl, z->bl_len);
	if (!ours || q.qclass != DNS_CLASS_IN) {
		const char *why = "not a zone served here";

		for (i = 0; i < z->nds; i++)
			if (same_name(&q, z->ds[i].apex, z->ds[i].apex_len))
				why = "rbldnsd-syntax zones are not "
				      "transferred: mirror the dataset file";
		if (log_refusal(x))
			log_info("dns", "%s from %s refused: %s", tname, who,
				 why);
		*outlen = one_message(x, &q, ours ? DNS_RCODE_REFUSED
					     : DNS_RCODE_NOTAUTH, NULL,
				      out, NULL);
		return DNS_XFR_REPLY;
	}
	if (!allowed(x, &ip)) {
		if (log_refusal(x))
			log_warn("dns", "%s from %s refused: not in [dns] "
				 "allow_transfer", tname, who);
		*outlen = one_message(x, &q, DNS_RCODE_REFUSED, NULL, out, NULL);
		return DNS_XFR_REPLY;
	}
	/* RFC 8945: with a key configured, a transfer must be signed. */
	if (x->keys.n) {
		enum xfr_tsig_res tr = xfr_tsig_verify(&x->keys, pkt, len,
						       time(NULL), &tsig);

		if (tr != XFR_TSIG_OK) {
			char kt[DNS_NAME_MAX * 4 + 8];

			if (log_refusal(x))
				log_warn("dns", "%s from %s refused: %s, key %s",
					 tname, who, tsig_why(tr),
					 tr == XFR_TSIG_NONE ||
							 tr == XFR_TSIG_FORMERR
						 ? "none"
						 : name_text(tsig.rkey,
							     tsig.rkey_len, kt,
							     sizeof(kt)));
			*outlen = one_message(x, &q, DNS_RCODE_NOTAUTH, NULL, out,
					      NULL);
			if (tr != XFR_TSIG_NONE)
				xfr_tsig_error(tr, &tsig, out, outlen,
					       DNS_TCP_MAX, time(NULL));
			return DNS_XFR_REPLY;
		}
	}
	if (!sn) {
		*outlen = one_message(x, &q, DNS_RCODE_SERVFAIL, NULL, out, NULL);
		return DNS_XFR_REPLY;
	}
	snap_get_info(sn, &info);
	/* RFC 1995 2: a client as new as we are gets our SOA alone. */
	if (q.qtype == DNS_TYPE_IXFR &&
	    (q.serial == info.serial || dns_serial_gt(q.serial, info.serial))) {
		log_info("dns", "IXFR from %s: serial %u is current", who,
			 q.serial);
		*outlen = one_message(x, &q, DNS_RCODE_NOERROR, sn, out,
				      tsig.key ? &tsig : NULL);
		return DNS_XFR_REPLY;
	}
	s = tl_calloc(1, sizeof(*s));
	if (!s) {
		*outlen = one_message(x, &q, DNS_RCODE_SERVFAIL, NULL, out, NULL);
		return DNS_XFR_REPLY;
	}
	s->x = x;
	s->sn = sn;
	s->q = q;
	s->serial = info.serial;
	s->hist = hist;
	s->day = info.day;
	s->fd = -1;
	s->tsig = tsig;
	snprintf(s->peer, sizeof(s->peer), "%s", who);
	clock_gettime(CLOCK_MONOTONIC, &s->t0);
	if (hist) {
		/* No journal: its D octets change every day, so the
		 * difference is most of the zone anyway. */
		log_info("dns", "%s of %s from %s: serial %u, %llu names (the "
			 "whole zone)", tname, "hist", who, info.serial,
			 (unsigned long long)(info.nh4 + info.nh6));
	} else if (q.qtype == DNS_TYPE_IXFR && x->have_j &&
	    ixfr_journal_chain(&x->j, q.serial, info.serial, &s->chain,
			       &s->nchain, &s->fd) == 0) {
		s->buf = tl_calloc(1, JBUF);
		if (!s->buf) {
			dns_xfr_stream_free(s);
			*outlen = one_message(x, &q, DNS_RCODE_SERVFAIL, NULL,
					      out, NULL);
			return DNS_XFR_REPLY;
		}
		s->ixfr = true;
		log_info("dns", "IXFR from %s: serial %u to %u, %zu changes",
			 who, q.serial, info.serial, s->nchain);
	} else if (q.qtype == DNS_TYPE_IXFR) {
		log_info("dns", "IXFR from %s: serial %u not in the journal: "
			 "the whole zone (serial %u)", who, q.serial,
			 info.serial);
	} else {
		log_info("dns", "AXFR from %s: serial %u, %llu names and %llu "
			 "ranges", who, info.serial,
			 (unsigned long long)(info.n4 + info.n6),
			 (unsigned long long)(info.nr4 + info.nr6));
	}
	*st = s;
	return DNS_XFR_STREAM;
}

void dns_xfr_stream_free(struct dns_xfr_stream *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	tl_free(s->buf);
	tl_free(s->chain);
	tl_free(s);
}

/* ---- AXFR ----------------------------------------------------------- */

static void add_soa(struct dns_xfr_stream *s, struct xfr_msg *m,
		    uint32_t serial, int *rc)
{
	uint8_t rd[XFR_RDATA_MAX];
	size_t n = xfr_soa_rdata(s->x->z, serial, rd);

	if (*rc == 0)
		*rc = xfr_msg_add(m, NULL, 0, DNS_TYPE_SOA, s->x->z->neg_ttl,
				  rd, n);
	if (*rc == 0)
		s->rrs++;
}

/* The apex and the RFC 5782 test points (127.0.0.2 in both forms). */
static int axfr_head(struct dns_xfr_stream *s, struct xfr_msg *m)
{
	const struct dnsbl_zones *z = s->x->z;
	struct snap_listing li = {SNAP_SPAM, 0, 0};
	struct xfr_name n;
	struct tl_ip tp;
	unsigned i;
	int rc = 0;

	add_soa(s, m, s->serial, &rc);
	for (i = 0; i < z->nns && rc == 0; i++) {
		rc = xfr_msg_add(m, NULL, 0, DNS_TYPE_NS, z->ttl, z->ns[i],
				 xfr_name_len(z->ns[i]));
		s->rrs++;
	}
	tl_ip_from_v4(&tp, 0x7f000002);
	/* hist.ZONE has no test points (answer.c answers it from the
	 * history alone). */
	for (i = 0; i < 2 && rc == 0 && !s->hist; i++) {
		xfr_name_render(z, &tp, &li, true, i == 1, &n);
		rc = xfr_msg_add_name(m, z, &n, n.codes, true);
		s->rrs += 2;
	}
	return rc;
}

static int axfr_next(struct dns_xfr_stream *s, struct xfr_msg *m)
{
	const struct dnsbl_zones *z = s->x->z;
	struct xfr_name n;

	while (s->ph != P_DONE) {
		switch (s->ph) {
		case P_HEAD:
			if (axfr_head(s, m) < 0)
				return TL_EIO; /* never: 16 KiB holds it */
			s->ph = P_V4;
			s->i = 0;
			break;
		case P_V4:
		case P_V6: {
			uint8_t fam = s->ph == P_V4 ? 4 : 6;
			uint64_t cnt = s->hist ? snap_history_count(s->sn, fam)
					       : snap_count(s->sn, fam);

			while (s->hist && s->i < cnt) {
				struct snap_history h;
				struct tl_ip ip;

				snap_history_at(s->sn, fam, s->i, &ip, &h);
				xfr_hist_render(&ip, &h, s->day, &n);
				if (xfr_msg_add_name(m, z, &n, 0, true) < 0)
					return 0; /* message full */
				s->rrs += 2;
				s->i++;
			}
			while (s->i < cnt) {
				struct snap_listing li;
				struct tl_ip ip;

				snap_listed_at(s->sn, fam, s->i, &ip, &li);
				if (!(fam == 4 && tl_ip_v4(&ip) == 0x7f000002)) {
					xfr_name_render(z, &ip, &li, false,
							false, &n);
					if (xfr_msg_add_name(m, z, &n, n.codes,
							     true) < 0)
						return 0; /* message full */
					s->rrs += 1u + (unsigned)
						__builtin_popcount(n.codes);
				}
				s->i++;
			}
			s->ph = s->ph == P_V4 ? P_V6 : s->hist ? P_TAIL : P_R4;
			s->i = 0;
			if (s->ph == P_R4)
				snap_rnames_start(&s->rit, s->sn, 4);
			break;
		}
		case P_R4:
		case P_R6:
			/* The operator's ranges, as wildcards: after the
			 * exact names, a block at a time (bounded memory:
			 * the iterator is the whole state). */
			for (;;) {
				struct snap_rname_iter back = s->rit;
				struct snap_rname rn;

				if (!snap_rnames_next(&s->rit, &rn))
					break;
				xfr_rname_render(z, &rn, &n);
				if (xfr_msg_add_name(m, z, &n, n.codes,
						     true) < 0) {
					s->rit = back;
					return 0; /* message full */
				}
				s->rrs += 1u + (unsigned)__builtin_popcount(
						       n.codes);
			}
			if (s->ph == P_R4)
				snap_rnames_start(&s->rit, s->sn, 6);
			s->ph = s->ph == P_R4 ? P_R6 : P_TAIL;
			break;
		case P_TAIL: {
			int rc = 0;

			add_soa(s, m, s->serial, &rc);
			if (rc < 0)
				return 0;
			s->ph = P_DONE;
			break;
		}
		case P_DONE:
			break;
		}
	}
	return 0;
}

/* ---- IXFR from the journal ------------------------------------------- */

/* Read the next record of the current step from the file into @rr
 * (pointing into s->buf, valid until the next call). The file was checked
 * when it was opened, but is read again with every bound checked. */
static int journal_rr(struct dns_xfr_stream *s, struct ixfr_rr *rr)
{
	size_t u;

	if (s->blen - s->bpos < 1 + DNS_NAME_MAX + 8 + XFR_RDATA_MAX) {
		ssize_t r;

		memmove(s->buf, s->buf + s->bpos, s->blen - s->bpos);
		s->blen -= s->bpos;
		s->bpos = 0;
		r = pread(s->fd, s->buf + s->blen, JBUF - s->blen,
			  (off_t)s->foff);
		if (r < 0)
			return -errno;
		s->blen += (size_t)r;
		s->foff += (uint64_t)r;
	}
	u = ixfr_rr_read(s->buf + s->bpos, s->blen - s->bpos, rr);
	if (!u)
		return TL_ECORRUPT;
	return (int)u;
}

static void step_start(struct dns_xfr_stream *s)
{
	const struct ixfr_rec *r = &s->chain[s->ci];

	if (s->step == 0) {
		s->foff = r->off;
		s->blen = s->bpos = 0;
	}
	s->left = s->step == 1 ? r->ndel : s->step == 3 ? r->nadd : 0;
}

static int ixfr_next(struct dns_xfr_stream *s, struct xfr_msg *m)
{
	int rc = 0;

	while (s->ph != P_DONE) {
		switch (s->ph) {
		case P_HEAD:
			add_soa(s, m, s->serial, &rc);
			if (rc < 0)
				return TL_EIO;
			s->ph = P_V4; /* the chain */
			s->ci = 0;
			s->step = 0;
			step_start(s);
			break;
		case P_V4: {
			const struct ixfr_rec *r = &s->chain[s->ci];

			if (s->step == 0 || s->step == 2) {
				add_soa(s, m, s->step ? r->to : r->from, &rc);
				if (rc < 0)
					return 0;
			}
			while (s->left) {
				struct ixfr_rr rr;
				int u = journal_rr(s, &rr);

				if (u < 0) {
					log_error("dns", "IXFR to %s: journal "
						  "read: %s", s->peer,
						  tl_strerror(u));
					return u;
				}
				if (xfr_msg_add(m, rr.rel, rr.rel_len, rr.type,
						rr.ttl, rr.rdata, rr.rdlen) < 0)
					return 0;
				s->bpos += (size_t)u;
				s->left--;
				s->rrs++;
			}
			if (++s->step == 4) {
				s->step = 0;
				if (++s->ci == s->nchain) {
					s->ph = P_TAIL;
					break;
				}
			}
			step_start(s);
			break;
		}
		case P_TAIL:
			add_soa(s, m, s->serial, &rc);
			if (rc < 0)
				return 0;
			s->ph = P_DONE;
			break;
		default:
			s->ph = P_DONE;
			break;
		}
	}
	return 0;
}

int dns_xfr_stream_next(struct dns_xfr_stream *s, uint8_t *out, size_t max,
			size_t *len)
{
	struct xfr_msg m;
	int rc;

	if (s->ph == P_DONE) {
		struct timespec t1;
		char kt[DNS_NAME_MAX * 4 + 8];

		clock_gettime(CLOCK_MONOTONIC, &t1);
		log_info("dns", "%s%s to %s done: %llu records in %llu "
			 "messages, %.2f s, TSIG key %s", s->ixfr ? "IXFR"
			 : s->q.qtype == DNS_TYPE_IXFR ? "IXFR (whole zone)"
			 : "AXFR", s->hist ? " of hist" : "", s->peer,
			 (unsigned long long)s->rrs,
			 (unsigned long long)s->msgs,
			 (double)(t1.tv_sec - s->t0.tv_sec) +
				 (double)(t1.tv_nsec - s->t0.tv_nsec) / 1e9,
			 s->tsig.key ? name_text(s->tsig.key->name,
					     s->tsig.key->name_len, kt,
					     sizeof(kt))
				 : "none");
		return 0;
	}
	size_t outmax = max;

	if (max > XFR_MSG_TARGET)
		max = XFR_MSG_TARGET;
	if (xfr_msg_init(&m, out, max, &s->q, DNS_RCODE_NOERROR) < 0)
		return TL_EINVAL;
	rc = s->ixfr ? ixfr_next(s, &m) : axfr_next(s, &m);
	if (rc < 0)
		return rc;
	if (!m.ancount)
		return TL_EIO; /* a record larger than a message: never */
	*len = xfr_msg_finish(&m);
	if (s->tsig.key && xfr_tsig_sign(s->tsig.key, &s->tsig, out, len, outmax,
				     time(NULL)) < 0)
		return TL_ENOSPC;
	s->msgs++;
	return 1;
}

/* ---- snapshot switches -------------------------------------------------- */

void dns_xfr_switch(struct dns_xfr *x, const struct snap *old,
		    const struct snap *cur)
{
	struct timespec t0, t1;

	if (!x || !x->have_j || !old || !cur)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (ixfr_journal_append(&x->j, x->z, old, cur) == 0) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		log_info("dns", "IXFR journal written in %.3f s",
			  (double)(t1.tv_sec - t0.tv_sec) +
				  (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	}
}

/* ---- NOTIFY (RFC 1996) ------------------------------------------------ */

static void notify_send(struct dns_xfr *x, struct notify_target *t);


static void notify_retry(struct ev_loop *l, uint64_t id, void *arg)
{
	struct notify_target *t = arg;

	(void)l;
	(void)id;
	t->timer = 0;
	if (!t->tries)
		return;
	if (t->tries >= NOTIFY_TRIES) {
		log_warn("dns", "NOTIFY of serial %u to %s: no answer after %u "
			 "tries", t->serial, t->text, t->tries);
		t->tries = 0;
		return;
	}
	notify_send(t->x, t);
}

static void notify_send(struct dns_xfr *x, struct notify_target *t)
{
	const struct dnsbl_zones *z = x->z;
	/* At most: header 12, question 259, the SOA 542 (owner compressed,
	 * two names of 255), a TSIG 358 (key name 255, HMAC-SHA512). */
	uint8_t buf[1280], rd[XFR_RDATA_MAX];
	struct xfr_query q = {0};
	struct xfr_msg m;
	size_t n;
	int fd = t->ss.ss_family == AF_INET ? x->sock4 : x->sock6;

	t->id = (uint16_t)arc4random(); /* RFC 5452: not guessable */
	q.id = t->id;
	q.qtype = DNS_TYPE_SOA;
	q.qclass = DNS_CLASS_IN;
	memcpy(q.qname, z->bl, z->bl_len);
	q.qname_len = z->bl_len;
	xfr_msg_init(&m, buf, sizeof(buf), &q, 0);
	/* The SOA with the new serial in the answer: RFC 1996 3.7. */
	n = xfr_soa_rdata(z, t->serial, rd);
	xfr_msg_add(&m, NULL, 0, DNS_TYPE_SOA, z->neg_ttl, rd, n);
	n = xfr_msg_finish(&m);
	buf[2] = (uint8_t)(DNS_OPCODE_NOTIFY << 3 | 0x04); /* AA */
	if (t->key) {
		struct xfr_tsig ts = {0};

		xfr_tsig_sign(t->key, &ts, buf, &n, sizeof(buf), time(NULL));
	}
	if (fd >= 0)
		sendto(fd, buf, n, 0, (const struct sockaddr *)&t->ss, t->len);
	t->tries++;
	t->timer = ev_timer_add(x->loop,
				(uint64_t)NOTIFY_FIRST_MS << (t->tries - 1),
				notify_retry, t);
}

static void on_notify_reply(struct ev_loop *l, int fd, unsigned mask,
			    void *arg)
{
	struct dns_xfr *x = arg;
	uint8_t buf[1024];
	struct sockaddr_storage from;
	unsigned i;

	(void)l;
	(void)mask;
	for (;;) {
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT,
				     (struct sockaddr *)&from, &fl);
		uint16_t id;

		if (n < 0)
			return;
		/* A response to our NOTIFY: QR, opcode 4, our ID, from the
		 * target's address and port. */
		if (n < DNS_HEADER_SIZE || !(buf[0 + 2] & 0x80) ||
		    ((buf[2] >> 3) & 0xf) != DNS_OPCODE_NOTIFY)
			continue;
		id = (uint16_t)(buf[0] << 8 | buf[1]);
		for (i = 0; i < x->nnt; i++) {
			struct notify_target *t = &x->nt[i];

			if (!t->tries || t->id != id || fl != t->len ||
			    memcmp(&from, &t->ss, fl) != 0)
				continue;
			log_info("dns", "NOTIFY of serial %u to %s: answered "
				 "(rcode %u)", t->serial, t->text, buf[3] & 0xf);
			ev_timer_del(x->loop, t->timer);
			t->timer = 0;
			t->tries = 0;
		}
	}
}

static void on_notify_wake(struct ev_loop *l, void *arg)
{
	struct dns_xfr *x = arg;
	uint32_t serial;
	bool has;
	unsigned i;

	if (x->stopping) {
		ev_stop(l);
		return;
	}
	pthread_mutex_lock(&x->mu);
	has = x->has_pending;
	serial = x->pending;
	x->has_pending = false;
	pthread_mutex_unlock(&x->mu);
	if (!has)
		return;
	for (i = 0; i < x->nnt; i++) {
		struct notify_target *t = &x->nt[i];

		ev_timer_del(l, t->timer);
		t->timer = 0;
		t->serial = serial;
		t->tries = 0;
		notify_send(x, t);
	}
}

static void *notify_main(void *arg)
{
	struct dns_xfr *x = arg;

	ev_run(x->loop);
	return NULL;
}

void dns_xfr_served(struct dns_xfr *x, uint32_t serial)
{
	if (!x || !x->nnt)
		return;
	pthread_mutex_lock(&x->mu);
	x->pending = serial;
	x->has_pending = true;
	pthread_mutex_unlock(&x->mu);
	ev_wake(x->loop);
}

static int notify_setup(struct dns_xfr *x, const char *spec)
{
	const char *p = spec, *it;
	size_t l;
	int rc;

	x->sock4 = x->sock6 = -1;
	while (tl_config_next_item(&p, &it, &l)) {
		struct notify_target *t = &x->nt[x->nnt];
		const char *slash = memchr(it, '/', l);
		size_t al = slash ? (size_t)(slash - it) : l;

		if (x->nnt == NOTIFY_MAX ||
		    tl_net_parse(it, al, &t->ss, &t->len) < 0) {
			log_error("dns", "[dns] notify '%.*s': want ADDR:PORT "
				  "or [ADDR6]:PORT, then /KEYNAME or not (at "
				  "most %d)", (int)l, it, NOTIFY_MAX);
			return TL_ESYNTAX;
		}
		/* Signed with the key it names, else the first. */
		t->key = x->keys.n ? &x->keys.k[0] : NULL;
		if (slash) {
			uint8_t name[DNS_NAME_MAX];
			size_t nl;

			t->key = dns_name_from_text(slash + 1, l - al - 1,
						    name, &nl) < 0
					 ? NULL
					 : xfr_tsig_key_find(&x->keys, name,
							     nl);
			if (!t->key) {
				log_error("dns", "[dns] notify '%.*s': no key "
					  "of that name in [dns] tsig_key",
					  (int)l, it);
				return TL_ESYNTAX;
			}
		}
		snprintf(t->text, sizeof(t->text), "%.*s", (int)al, it);
		t->x = x;
		x->nnt++;
	}
	if (!x->nnt)
		return 0;
	rc = ev_loop_new(&x->loop);
	if (rc < 0)
		return rc;
	x->sock4 = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			  0);
	x->sock6 = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			  0);
	if (x->sock4 >= 0)
		ev_file_set(x->loop, x->sock4, EV_READ, on_notify_reply, x);
	if (x->sock6 >= 0)
		ev_file_set(x->loop, x->sock6, EV_READ, on_notify_reply, x);
	rc = ev_wake_set(x->loop, on_notify_wake, x);
	if (rc < 0)
		return rc;
	if (pthread_create(&x->th, NULL, notify_main, x) != 0)
		return TL_ENOMEM;
	x->started = true;
	return 0;
}

/* ---- setup -------------------------------------------------------------- */

int dns_xfr_new(const struct dns_xfr_setup *su, struct dns_xfr **out)
{
	struct dns_xfr *x = tl_calloc(1, sizeof(*x));
	const char *bad = "";
	char path[4200];
	int rc;

	*out = NULL;
	if (!x)
		return TL_ENOMEM;
	x->z = su->zones;
	x->sock4 = x->sock6 = -1;
	pthread_mutex_init(&x->mu, NULL);
	if (su->allow && su->allow[strspn(su->allow, " \t,")]) {
		rc = tl_config_parse_prefixes(su->allow, &x->acl, &x->nacl,
					      &bad);
		if (rc < 0) {
			log_error("dns", "[dns] allow_transfer: '%.*s' is not "
				  "an address or prefix", (int)strcspn(bad, " \t,"),
				  bad);
			rc = TL_ESYNTAX;
			goto fail;
		}
	}
	if (x->nacl && su->dir) {
		char *s;

		snprintf(path, sizeof(path), "%s", su->dir);
		/* mkdir -p: DATA/dns/ixfr */
		for (s = path + 1; *s; s++)
			if (*s == '/') {
				*s = '\0';
				mkdir(path, 0755);
				*s = '/';
			}
		if (mkdir(path, 0755) < 0 && errno != EEXIST) {
			rc = -errno;
			log_error("dns", "%s: %s", path, strerror(errno));
			goto fail;
		}
		{
			char zt[DNS_NAME_MAX + 1];
			size_t o = 0, k = 0;

			/* The zone's text name names the file. */
			while (x->z->bl[k] && o + x->z->bl[k] + 1 < sizeof(zt)) {
				memcpy(zt + o, x->z->bl + k + 1, x->z->bl[k]);
				o += x->z->bl[k];
				zt[o++] = '.';
				k += 1u + x->z->bl[k];
			}
			zt[o ? o - 1 : 0] = '\0';
			snprintf(path, sizeof(path), "%s/%s.ixfr", su->dir, zt);
		}
		rc = ixfr_journal_open(&x->j, path,
				       ixfr_zone_tag(x->z->bl, x->z->bl_len),
				       su->keep, su->max_bytes);
		if (rc < 0) {
			log_error("dns", "%s: %s", path, tl_strerror(rc));
			goto fail;
		}
		x->have_j = true;
	}
	rc = xfr_tsig_keys_parse(su->tsig_key ? su->tsig_key : "", &x->keys);
	if (rc < 0)
		goto fail;
	rc = notify_setup(x, su->notify ? su->notify : "");
	if (rc < 0)
		goto fail;
	*out = x;
	return 0;
fail:
	dns_xfr_free(x);
	return rc;
}

int dns_xfr_from_config(const struct tl_config *cfg, const char *data,
			const struct dnsbl_zones *z, struct dns_xfr **out)
{
	char dir[4200];
	struct dns_xfr_setup su = {
		.zones = z,
		.dir = dir,
		.allow = cfg->dns_allow_transfer,
		.notify = cfg->dns_notify,
		.keep = cfg->dns_ixfr_keep,
		.max_bytes = cfg->dns_ixfr_max_size,
		.tsig_key = cfg->dns_tsig_key,
	};

	snprintf(dir, sizeof(dir), "%s/dns/ixfr", data);
	return dns_xfr_new(&su, out);
}

const struct xfr_tsig_keys *dns_xfr_keys(const struct dns_xfr *x)
{
	return x && x->keys.n ? &x->keys : NULL;
}

void dns_xfr_free(struct dns_xfr *x)
{
	if (!x)
		return;
	if (x->started) {
		x->stopping = true;
		ev_wake(x->loop);
		pthread_join(x->th, NULL);
	}
	if (x->loop)
		ev_loop_free(x->loop);
	if (x->sock4 >= 0)
		close(x->sock4);
	if (x->sock6 >= 0)
		close(x->sock6);
	if (x->have_j)
		ixfr_journal_close(&x->j);
	free(x->acl);
	pthread_mutex_destroy(&x->mu);
	OPENSSL_cleanse(&x->keys, sizeof(x->keys));
	tl_free(x);
}
