/* SPDX-License-Identifier: MIT */
/* xfr.h -- zone distribution: AXFR (RFC 5936), IXFR (RFC 1995), NOTIFY
 * (RFC 1996), TSIG (RFC 8945) of the block-list zone to standard
 * secondaries
 *
 * The server (server.c) owns the TCP connections and the snapshot
 * references; this module decides what a transfer query gets and produces
 * the answer one message at a time, so a transfer of ten million names
 * never sits in memory and never holds the worker's event loop for more
 * than a message. When the server switches snapshots it calls
 * dns_xfr_switch before the switch (the difference of the two goes to the
 * IXFR journal, DATA/dns/ixfr) and dns_xfr_served after it (NOTIFY to the
 * configured secondaries, from a thread of this module's own).
 *
 * Zones transferred: the `bl` zone (its operator ranges as wildcards,
 * snap_rnames_next), and the hist zone by AXFR (an IXFR of it gets the
 * whole zone: no journal, since its D octets change daily; no NOTIFY).
 * The rbldnsd-syntax zones are refused (logged): a dataset file is better
 * mirrored as the file itself.
 *
 * Thread safety: dns_xfr_query and the stream functions may run on every
 * worker at once; dns_xfr_switch and dns_xfr_served on the one thread
 * that reloads.
 */
#ifndef TRAPLINE_DNS_XFR_H
#define TRAPLINE_DNS_XFR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dnsbl.h"

struct dns_xfr;
struct dns_xfr_stream;

struct dns_xfr_setup {
	const struct dnsbl_zones *zones; /* borrowed, outlives the xfr */
	const char *dir;      /* journal directory (created), e.g. DATA/dns/ixfr */
	const char *allow;    /* [dns] allow_transfer: prefixes; "" = nobody */
	const char *notify;   /* [dns] notify: ADDR:PORT items; "" = none */
	unsigned keep;        /* serial changes a journal keeps (count) */
	uint64_t max_bytes;   /* bytes a journal keeps */
	const char *tsig_key; /* [dns] tsig_key: NAME:ALGORITHM:BASE64
			       * items, or "": transfers need no TSIG */
};

/*
 * Parse the ACL and the NOTIFY targets, open (and check) the journal,
 * start the NOTIFY thread. Returns 0 or TL_ESYNTAX (logged), an I/O
 * error, TL_ENOMEM.
 */
int dns_xfr_new(const struct dns_xfr_setup *su, struct dns_xfr **out);
void dns_xfr_free(struct dns_xfr *x);

struct xfr_tsig_keys;
/* The TSIG keys, or NULL for none: the server signs answers to queries
 * signed with one of them (dnsbl_zones.tsig), as secondaries check the
 * SOA before a transfer. */
const struct xfr_tsig_keys *dns_xfr_keys(const struct dns_xfr *x);

struct tl_config;
/* dns_xfr_new from the [dns] keys of @cfg, the journal under @data/dns/ixfr. */
int dns_xfr_from_config(const struct tl_config *cfg, const char *data,
			const struct dnsbl_zones *z, struct dns_xfr **out);

/* What dns_xfr_query made of a TCP query. */
enum dns_xfr_verdict {
	DNS_XFR_NOT = 0, /* not a transfer: answer it as any query */
	DNS_XFR_REPLY,   /* a one-message reply is in @out (refused, SOA) */
	DNS_XFR_STREAM,  /* *@st produces the answer: dns_xfr_stream_next */
};

/*
 * Look at the TCP query @pkt (@len untrusted bytes) from @peer. A transfer
 * (AXFR or IXFR of a zone we serve) from an address outside the ACL, of a
 * zone not transferred, or without a snapshot (@sn NULL) gets a one-message
 * refusal; an IXFR whose serial is current gets the SOA alone; anything
 * else a stream over @sn, which must stay mapped until the stream is freed
 * (the caller holds its reference). @out holds DNS_TCP_MAX bytes.
 */
enum dns_xfr_verdict dns_xfr_query(struct dns_xfr *x, const struct snap *sn,
				   const uint8_t *pkt, size_t len,
				   const struct sockaddr *peer,
				   socklen_t peerlen, uint8_t *out,
				   size_t *outlen, struct dns_xfr_stream **st);

/*
 * Write the next message of the answer into @out (@max bytes, at least
 * 16 KiB) and its length into @len. Returns 1 (a message), 0 (the answer
 * is complete; nothing written), or a TL_E* (a journal read failed: drop
 * the connection; the secondary will try again and fall back to AXFR).
 */
int dns_xfr_stream_next(struct dns_xfr_stream *st, uint8_t *out, size_t max,
			size_t *len);
void dns_xfr_stream_free(struct dns_xfr_stream *st);

/*
 * The server is about to switch from @old (NULL at the first load) to
 * @cur: journal their difference. Errors are logged; the journal is then
 * reset and clients fall back to AXFR.
 */
void dns_xfr_switch(struct dns_xfr *x, const struct snap *old,
		    const struct snap *cur);
/* The server now answers from a snapshot of serial @serial: NOTIFY. */
void dns_xfr_served(struct dns_xfr *x, uint32_t serial);

/* RFC 1982 serial arithmetic: is @a after @b? */
static inline bool dns_serial_gt(uint32_t a, uint32_t b)
{
	return a != b && (uint32_t)(a - b) < 0x80000000u;
}

#endif
