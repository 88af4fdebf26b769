/* SPDX-License-Identifier: MIT */
/* xfr_int.h -- private to src/dns: the pieces of zone transfers that do no
 * I/O (message packer, transfer query parser, the bl zone's records, the
 * journal codec), so unit tests and the fuzzer call them directly
 */
#ifndef TRAPLINE_DNS_XFR_INT_H
#define TRAPLINE_DNS_XFR_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dnsbl.h"
#include "xfr.h"

/* A transfer message is filled to this size (bytes). Compression pointers
 * reach 16 KiB back at most (14 bits, RFC 1035 4.1.4), and NSD and Knot
 * pack transfers in messages of this order. */
#define XFR_MSG_TARGET 16384
/* Bytes of one record's data we write or accept from a journal: a TXT
 * from a 1 KiB template with its length bytes, an SOA of two names. */
#define XFR_RDATA_MAX 2048
/* SOA timers of the zones (s); answer.c's add_soa writes the same. */
#define XFR_SOA_REFRESH 3600
#define XFR_SOA_RETRY 600
#define XFR_SOA_EXPIRE 604800

/* A transfer query (RFC 5936 2.1, RFC 1995 3). */
struct xfr_query {
	uint16_t id;
	uint16_t qtype, qclass;
	uint8_t qname[DNS_NAME_MAX];	/* as asked (echoed) */
	uint8_t qname_lc[DNS_NAME_MAX]; /* lower case (compared) */
	size_t qname_len;
	bool has_serial;		/* IXFR: the client's SOA was read */
	uint32_t serial;		/* ... and its serial */
};

/* Results of xfr_query_parse. */
enum xfr_parse {
	XFR_P_NOT = 0, /* not a transfer query (or not a query at all) */
	XFR_P_OK,      /* AXFR, or IXFR with the client's SOA */
	XFR_P_FORMERR, /* a transfer query we cannot read: FORMERR */
};

/*
 * Skip a name at *@pos in @pkt (@len bytes): labels, or labels ending in
 * a pointer (not followed). When @out is not NULL and the name is not
 * compressed, copy it there lower-cased (DNS_NAME_MAX bytes) with its
 * length in *@out_len. False when it does not read inside @len.
 */
bool xfr_name_read(const uint8_t *pkt, size_t len, size_t *pos,
		   uint8_t *out, size_t *out_len, bool *compressed);

/*
 * Read a transfer query from @pkt (@len untrusted bytes). Checks: the
 * header (QR clear, opcode QUERY, QDCOUNT 1, ANCOUNT 0); a question name
 * of labels up to 63 bytes and 255 in all, no pointers; for IXFR the
 * first authority record, its owner skipped (labels or one pointer), of
 * type SOA with RDLENGTH >= 22 inside @len: the serial is the first of its
 * last five 32-bit fields (RFC 1035 3.3.13). The additional section (OPT,
 * TSIG) is not read. Any other qtype is XFR_P_NOT, so the caller answers
 * it as before.
 */
enum xfr_parse xfr_query_parse(const uint8_t *pkt, size_t len,
			       struct xfr_query *q);

/* One transfer message being packed. */
struct xfr_msg {
	uint8_t *buf;
	size_t max, len;  /* bytes usable, written */
	uint16_t ancount;
	size_t prev_off;  /* offset of the last owner written (0: none) */
	uint8_t prev_rel[DNS_NAME_MAX]; /* its labels left of the apex */
	size_t prev_rel_len;
};

/*
 * Start a message answering @q in @buf (@max bytes, 512..65535): header
 * (ID, QR, AA, RCODE @rcode) and the question echoed. Returns 0 or
 * TL_EINVAL.
 */
int xfr_msg_init(struct xfr_msg *m, uint8_t *buf, size_t max,
		 const struct xfr_query *q, unsigned rcode);
/*
 * Add a record owned by @rel (@rel_len bytes of labels left of the apex,
 * wire form, no root; 0 bytes: the apex). The owner is compressed: the
 * apex is the question name; a suffix shared with the previous owner
 * points into it. Returns 0 or TL_ENOSPC (nothing written).
 */
int xfr_msg_add(struct xfr_msg *m, const uint8_t *rel, size_t rel_len,
		uint16_t type, uint32_t ttl, const uint8_t *rdata,
		size_t rdlen);
/* Write the counts; returns the message length. */
size_t xfr_msg_finish(struct xfr_msg *m);

/* Bytes of a wire name (labels to the root label included). */
size_t xfr_name_len(const uint8_t *name);

/* SOA data for the zone apex in @z at @serial into @rd (XFR_RDATA_MAX).
 * Returns its length. */
size_t xfr_soa_rdata(const struct dnsbl_zones *z, uint32_t serial,
		     uint8_t *rd);

/* The records of one name of the bl zone. */
struct xfr_name {
	uint8_t rel[DNS_NAME_MAX]; /* labels left of the apex: d.c.b.a or
				    * 32 nibbles */
	size_t rel_len;
	unsigned codes;		   /* one A each: SNAP_* bits */
	bool has_a;		   /* and this A first (hist.ZONE) */
	uint8_t a[4];
	uint8_t txt[XFR_RDATA_MAX]; /* TXT data: character-strings */
	size_t txt_len;
};

/*
 * The records @z answers for listed @ip (as answer.c does: A per code,
 * TXT from the template; @test_point: the RFC 5782 test point text).
 * @v6_form: name an IPv4 address by the nibbles of ::ffff:a.b.c.d.
 */
void xfr_name_render(const struct dnsbl_zones *z, const struct tl_ip *ip,
		     const struct snap_listing *li, bool test_point,
		     bool v6_form, struct xfr_name *out);

/*
 * The records of one name an operator range puts in the zone (see
 * snap_rnames_next): A 127.0.0.10 and the TXT with "$" the block.
 */
void xfr_rname_render(const struct dnsbl_zones *z, const struct snap_rname *rn,
		      struct xfr_name *out);

/* The records of @ip in hist.ZONE, as answer.c gives them (A 127.Y.D.K
 * as of @today, TXT), dnsbl_hist_records. */
void xfr_hist_render(const struct tl_ip *ip, const struct snap_history *h,
		     tl_day today, struct xfr_name *out);

/* Add the records of @n (A then TXT) to @m, all or none. Returns 0 or
 * TL_ENOSPC. @codes, @txt: which of them (deltas add a subset). */
int xfr_msg_add_name(struct xfr_msg *m, const struct dnsbl_zones *z,
		     const struct xfr_name *n, unsigned codes, bool txt);

/* ---- TSIG, RFC 8945 (xfr_tsig.c) -------------------------------------- */

/* The longest MAC of the algorithms taken (HMAC-SHA512), bytes. */
#define XFR_TSIG_MAC_MAX 64

/* A key of [dns] tsig_key. */
struct xfr_tsig_key {
	uint8_t name[DNS_NAME_MAX]; /* wire form, lower case */
	size_t name_len;
	unsigned alg;               /* its HMAC: an index in xfr_tsig.c */
	uint8_t secret[128];        /* bytes */
	size_t secret_len;
};

/* Keys in [dns] tsig_key: one per secondary is the use, and a lookup
 * walks them all, so a small fixed array serves. */
#define XFR_TSIG_KEYS_MAX 16

/* The keys of [dns] tsig_key: a request may be signed with any of them,
 * and its answer is signed with the one it named. */
struct xfr_tsig_keys {
	struct xfr_tsig_key k[XFR_TSIG_KEYS_MAX];
	unsigned n; /* of k in use */
};

/* One signed exchange: the MAC to chain the next message to. */
struct xfr_tsig {
	const struct xfr_tsig_key *key; /* the request's, when one of ours */
	uint8_t mac[XFR_TSIG_MAC_MAX];
	size_t mac_len;     /* 0: none yet (signing a request: NOTIFY) */
	uint16_t orig_id;   /* of the request */
	uint16_t fudge;     /* of the request (s) */
	bool signed_one;    /* a message of the answer was signed */
	/* The request's TSIG as it came, for an error answer (RFC 8945
	 * 5.3.2 names the key and algorithm the request named). */
	uint8_t rkey[DNS_NAME_MAX], ralg[DNS_NAME_MAX];
	size_t rkey_len, ralg_len;
	uint64_t rtime;     /* its Time Signed */
};

/* Parse "NAME:ALGORITHM:BASE64", ALGORITHM one of hmac-sha1, hmac-sha224,
 * hmac-sha256, hmac-sha384, hmac-sha512 (RFC 8945 6; any case). Returns
 * 0 or TL_ESYNTAX. */
int xfr_tsig_key_parse(const char *text, struct xfr_tsig_key *k);

/* Parse a list of keys, separated by commas or blanks, into @ks; names
 * must differ. Returns 0 or TL_ESYNTAX (logged with the item's position,
 * not its text, which holds a secret). */
int xfr_tsig_keys_parse(const char *list, struct xfr_tsig_keys *ks);

/* The key of @ks named @name (@len bytes, wire form), or NULL. */
const struct xfr_tsig_key *xfr_tsig_key_find(const struct xfr_tsig_keys *ks,
					     const uint8_t *name, size_t len);

/* What a request's TSIG is: the errors are RFC 8945's TSIG error codes
 * (with FORMERR for a malformed record, answered without a TSIG). */
enum xfr_tsig_res {
	XFR_TSIG_NONE = 0,       /* the message carries no TSIG */
	XFR_TSIG_OK = 1,         /* signed with a key of ours, in time: @t
				  * is set, @t->key the key */
	XFR_TSIG_FORMERR = 2,    /* a TSIG, malformed */
	XFR_TSIG_BADSIG = 16,    /* a key of ours, a MAC that does not check */
	XFR_TSIG_BADKEY = 17,    /* a key we do not hold, or not its algorithm */
	XFR_TSIG_BADTIME = 18,   /* a good MAC, out of time: @t is set */
	XFR_TSIG_BADTRUNC = 22,  /* a good MAC cut shorter than we take, in
				  * time: @t is set */
};

/*
 * Check the TSIG ending the message @pkt (@len untrusted bytes) against
 * the key of @ks it names, at @now (unix s), and fill @t to sign the
 * answer (and, for the errors but FORMERR, to say what was wrong:
 * xfr_tsig_error).
 */
enum xfr_tsig_res xfr_tsig_verify(const struct xfr_tsig_keys *ks,
				  const uint8_t *pkt, size_t len, int64_t now,
				  struct xfr_tsig *t);

/*
 * Make the answer @msg (*@len bytes, room for @max) to a request whose
 * TSIG was @res (an error) the RFC 8945 5.3.2 error answer: the header
 * and question kept, no records, RCODE FORMERR for a malformed TSIG, else
 * NOTAUTH and a TSIG carrying the error, unsigned (BADKEY, BADSIG: MAC
 * size 0) or signed with @t->key (BADTRUNC; BADTIME, with our current
 * time in its other data). Returns 0 or TL_ENOSPC / TL_EINVAL (the
 * message is left as it was).
 */
int xfr_tsig_error(enum xfr_tsig_res res, struct xfr_tsig *t, uint8_t *msg,
		   size_t *len, size_t max, int64_t now);

/*
 * Sign the message @msg of *@len bytes (room for @max) as the next one of
 * exchange @t: append the TSIG record, count it in ARCOUNT. Returns 0 or
 * TL_ENOSPC (nothing changed).
 */
int xfr_tsig_sign(const struct xfr_tsig_key *k, struct xfr_tsig *t,
		  uint8_t *msg, size_t *len, size_t max, int64_t now);

/*
 * Sign the reply @out (@n bytes, room for @max) to the query @q (@qlen
 * untrusted bytes) when the query is signed with a key of @ks and checks
 * out (when the TSIG does not fit beside it, cut it to the question with
 * TC set, RFC 8945 5.3); make it the TSIG error answer when it is signed
 * but does not. Returns the reply's length.
 */
size_t xfr_tsig_answer(const struct xfr_tsig_keys *ks, const uint8_t *q,
		       size_t qlen, uint8_t *out, size_t n, size_t max);

/* ---- the IXFR journal (ixfr_journal.c) -------------------------------- */

/*
 * A journal file: a 16-byte header (magic "TLIXFR1\n", a tag naming the
 * zone, CRC-32 of the two), then records, one per serial change, each a
 * 48-byte header (magic, version, from and to serial, counts of deleted
 * and added records, body length, body CRC-32, header CRC-32) and a body:
 * the deleted records then the added ones, each as
 *   u8 owner length, owner labels left of the apex, u16 type, u32 TTL,
 *   u16 data length, data           (integers big-endian)
 * Records chain: each one's "from" is the previous one's "to".
 */
#define IXFR_FILE_MAGIC "TLIXFR1\n"
#define IXFR_REC_MAGIC 0x544c584au /* "TLXJ" */
#define IXFR_REC_VERSION 1u
#define IXFR_FILE_HDR 16
#define IXFR_REC_HDR 48
#define IXFR_RR_MIN 9 /* bytes of a record with empty owner and data */

/* One serial change in the journal. */
struct ixfr_rec {
	uint32_t from, to;  /* serials */
	uint64_t off;       /* file offset of the body */
	uint64_t body_len;  /* bytes */
	uint64_t ndel, nadd; /* records */
};

/* One record read from a body. */
struct ixfr_rr {
	const uint8_t *rel; /* owner labels left of the apex (borrowed) */
	size_t rel_len;
	uint16_t type;
	uint32_t ttl;
	const uint8_t *rdata; /* borrowed */
	size_t rdlen;
};

/*
 * Read one record from @p (@len untrusted bytes): an owner of labels of
 * 1..63 bytes, under 255 in all, data of at most XFR_RDATA_MAX bytes, all
 * inside @len. Returns the bytes used (>= IXFR_RR_MIN), or 0 when it does
 * not read.
 */
size_t ixfr_rr_read(const uint8_t *p, size_t len, struct ixfr_rr *rr);
/* Write @rr into @p (@max bytes). Returns the bytes written, 0 no room. */
size_t ixfr_rr_write(uint8_t *p, size_t max, const struct ixfr_rr *rr);

/* CRC-32 (zlib's) of @n bytes. */
uint32_t ixfr_crc(const uint8_t *p, size_t n);

/* The tag of a zone: CRC-32 of its apex in wire form. */
uint32_t ixfr_zone_tag(const uint8_t *apex, size_t apex_len);

/* What ixfr_journal_scan found. */
struct ixfr_scan {
	struct ixfr_rec *recs; /* allocated (tl_reallocarray); caller frees */
	size_t n;
	size_t good_len;       /* bytes up to the end of the last good record */
	bool cut;              /* the last record stops short (a crash while
				* appending): the rest is good */
	char why[128];         /* what is wrong, for the log */
};

/*
 * Check the journal image @p (@len untrusted bytes) of the zone tagged
 * @tag: header magic, tag and CRC; each record's header CRC, magic and
 * version, its body inside the file, its body CRC, every record in its
 * body readable (ixfr_rr_read) and exactly as many as counted, serials
 * rising (RFC 1982) and chained. A record cut short at the end is left
 * off (@s->cut). Returns 0 (@s filled, s->recs the caller's to free),
 * TL_ECORRUPT (@s->why says what; nothing to free), or TL_ENOMEM.
 */
int ixfr_journal_scan(const uint8_t *p, size_t len, uint32_t tag,
		      struct ixfr_scan *s);

/* A zone's journal, shared by the reloading thread and the workers. */
struct ixfr_journal {
	pthread_mutex_t mu;
	char path[4200];
	uint32_t tag;
	unsigned keep;        /* records kept (count) */
	uint64_t max_bytes;   /* file size kept (bytes) */
	struct ixfr_rec *recs; /* under mu */
	size_t n;
	uint64_t size;        /* file bytes */
};

/* Open (or create) the journal at @path and check it; a damaged one is
 * logged and started afresh. Returns 0 or an I/O error. */
int ixfr_journal_open(struct ixfr_journal *j, const char *path, uint32_t tag,
		      unsigned keep, uint64_t max_bytes);
void ixfr_journal_close(struct ixfr_journal *j);

/*
 * Append the difference between snapshots @old and @cur of zone @z (a
 * merge walk of their sorted listed arrays, then of their range names
 * (snap_rnames_next), comparing each name's records). A journal that does not end at @old's serial is reset first.
 * Returns 0 or an error (logged; the journal is then reset).
 */
int ixfr_journal_append(struct ixfr_journal *j, const struct dnsbl_zones *z,
			const struct snap *old, const struct snap *cur);

/*
 * The records leading from serial @from to @to: copies them into @chain
 * (allocated; caller frees) and opens the file for reading into @fd.
 * Returns 0, or TL_ENOENT (no such chain: answer with the whole zone).
 */
int ixfr_journal_chain(struct ixfr_journal *j, uint32_t from, uint32_t to,
		       struct ixfr_rec **chain, size_t *n, int *fd);

#endif
