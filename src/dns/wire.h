/* SPDX-License-Identifier: MIT */
/* wire.h -- DNS messages on the wire (RFC 1035, 6891): parse and compose
 *
 * Pure: no I/O, no global state, no allocation. The server reads each
 * query with dns_query_parse into a struct dns_query on its stack, finds
 * the name in its zone with dns_name_in_zone and dns_rev_parse, and
 * writes the answer with the dns_resp_* builder into its own buffer. Unit
 * tests and the fuzzer call the same functions.
 *
 * Thread safety: every function works only on the objects it is given;
 * distinct objects may be used from distinct threads at once.
 *
 * Names handed to this module are in wire form (length-prefixed labels
 * ending with the root label 0), uncompressed, at most DNS_NAME_MAX bytes.
 * dns_name_from_text makes one from configuration text.
 */
#ifndef TRAPLINE_DNS_WIRE_H
#define TRAPLINE_DNS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trapline/ip.h"

/* Protocol constants (not tunables): RFC 1035 2.3.4 and 4.2.1. */
#define DNS_HEADER_SIZE 12     /* bytes */
#define DNS_LABEL_MAX 63       /* bytes of one label */
#define DNS_NAME_MAX 255       /* bytes of a wire name, root label included */
#define DNS_LABELS_MAX 127     /* labels of a name, root not counted */
#define DNS_UDP_MAX 512	       /* bytes of a UDP reply without EDNS */
#define DNS_TCP_MAX 65535      /* bytes of a message over TCP (2-byte length) */
#define DNS_TXT_STRING_MAX 255 /* bytes of one character-string */

/* Largest EDNS UDP payload we answer with by default (bytes). RFC 6891
 * 6.2.5 suggests 4096; a server may advertise less (1232 avoids IP
 * fragmentation, DNS flag day 2020). Pass the configured value to
 * dns_reply_max and dns_resp_init. */
#define DNS_EDNS_PAYLOAD_CAP 4096

/* Bytes of the OPT record we append (root owner, no options). */
#define DNS_OPT_SIZE 11

enum dns_opcode {
	DNS_OPCODE_QUERY = 0,
	DNS_OPCODE_NOTIFY = 4, /* RFC 1996 */
};

/* Response codes; values above 15 need EDNS (the high 8 bits travel in
 * the OPT record, RFC 6891 6.1.3). */
enum dns_rcode {
	DNS_RCODE_NOERROR = 0,
	DNS_RCODE_FORMERR = 1,
	DNS_RCODE_SERVFAIL = 2,
	DNS_RCODE_NXDOMAIN = 3,
	DNS_RCODE_NOTIMP = 4,
	DNS_RCODE_REFUSED = 5,
	DNS_RCODE_NOTAUTH = 9, /* RFC 2136 2.2; RFC 8945 5.3.2 */
	DNS_RCODE_BADVERS = 16,
};

enum dns_type {
	DNS_TYPE_A = 1,
	DNS_TYPE_NS = 2,
	DNS_TYPE_SOA = 6,
	DNS_TYPE_TXT = 16,
	DNS_TYPE_AAAA = 28,
	DNS_TYPE_OPT = 41,
	DNS_TYPE_IXFR = 251,
	DNS_TYPE_AXFR = 252,
	DNS_TYPE_ANY = 255,
};

enum dns_class {
	DNS_CLASS_IN = 1,
	DNS_CLASS_CH = 3,
	DNS_CLASS_ANY = 255,
};

/* What dns_query_parse found, and so what the server sends back. */
enum dns_verdict {
	DNS_Q_OK = 0,  /* a query or NOTIFY to answer: look it up */
	DNS_Q_DROP,    /* no answer at all: shorter than a header, or QR set
			* (a response: answering could start a loop) */
	DNS_Q_FORMERR, /* malformed: reply with dns_resp_error */
	DNS_Q_NOTIMP,  /* an opcode we do not handle: dns_resp_error */
	DNS_Q_BADVERS, /* EDNS version above 0: dns_resp_error (RFC 6891
			* 6.1.3: the reply carries OPT version 0) */
};

/*
 * A parsed query. Filled by dns_query_parse; read-only afterwards. All
 * storage is inside the struct (about 680 bytes; fine on a stack), so it
 * owns nothing and can be copied.
 */
struct dns_query {
	uint16_t id;	/* header ID, echoed */
	uint8_t opcode; /* 0..15 (enum dns_opcode) */
	bool rd;	/* recursion desired, echoed */
	bool cd;	/* checking disabled, echoed (RFC 4035 3.1.6) */
	uint16_t rcode; /* the reply's RCODE for the verdict: 0, FORMERR,
			 * NOTIMP or BADVERS (enum dns_rcode) */

	/* The question. Valid only when has_question: then the reply echoes
	 * it. For FORMERR and NOTIMP it is set when the first question could
	 * still be read. */
	bool has_question;
	uint16_t qtype;	    /* as asked (enum dns_type or any other) */
	uint16_t qclass;    /* as asked (enum dns_class or any other) */
	uint16_t qname_len; /* wire bytes of qname, 1..255 */
	uint8_t qname[DNS_NAME_MAX];	/* as asked, case kept, for echoing */
	uint8_t qname_lc[DNS_NAME_MAX]; /* the same, ASCII lower-cased, for
					 * lookups and comparisons */
	uint8_t nlabels; /* labels of qname, root not counted: 0..127 */
	/* Offset in qname (and qname_lc) of each label's length byte, left
	 * to right: label i is qname_lc[label_off[i]] bytes long and starts
	 * at qname_lc + label_off[i] + 1. */
	uint8_t label_off[DNS_LABELS_MAX];

	/* EDNS(0), RFC 6891. Set only when the one OPT record read well. */
	bool edns;
	uint8_t edns_version;  /* as sent; != 0 gives DNS_Q_BADVERS */
	bool edns_do;	       /* DNSSEC OK (RFC 3225), as sent */
	uint16_t edns_payload; /* requester's UDP size, clamped to >= 512 */
};

/*
 * Parse one query of @len bytes at @pkt (untrusted) into @q.
 *
 * Checks: the 12-byte header; QR clear; the opcode (QUERY and NOTIFY go
 * on, any other is NOTIMP); QDCOUNT exactly 1; a QNAME of labels of at
 * most 63 bytes, at most 255 bytes in all, with no compression pointer and
 * no extended label type; QTYPE and QCLASS present; for QUERY, ANCOUNT and
 * NSCOUNT zero (a NOTIFY may carry an SOA in its answer section: RFC 1996
 * 3.7; its records are skipped with bounds checks, backward pointers
 * only); the additional section walked record by record with every length
 * bounded by @len; at most one OPT, owned by the root, its options walked
 * within its RDLENGTH; no byte after the last counted record.
 *
 * Returns the verdict (never negative). Whatever the verdict, every field
 * of @q is set: to what was read, or to zero/false when not read. A
 * FORMERR for a bad OPT leaves q->edns false, so the reply carries none
 * (RFC 6891 7). @pkt is not kept.
 */
enum dns_verdict dns_query_parse(const uint8_t *pkt, size_t len,
				 struct dns_query *q);

/*
 * Bytes the reply to @q may take: 65535 over TCP; otherwise 512 without
 * EDNS, or the requester's payload size capped at @edns_cap (itself
 * clamped to 512..65535) with EDNS.
 */
size_t dns_reply_max(const struct dns_query *q, bool tcp, uint16_t edns_cap);

/*
 * Write the text name @text (@len bytes, no NUL needed; a final dot is
 * optional; "" and "." are the root) in wire form, lower-cased, into @out
 * (DNS_NAME_MAX bytes) and its length into @out_len. No escapes: a
 * backslash, an empty label or a byte outside printable ASCII gives
 * TL_ESYNTAX; a label over 63 bytes or a name over 255 gives TL_ETOOLONG.
 * Returns 0 or the error (and then @out is undefined).
 */
int dns_name_from_text(const char *text, size_t len, uint8_t *out,
		       size_t *out_len);

/*
 * Where the question name of @q stands relative to a zone apex.
 */
struct dns_zone_pos {
	uint8_t nleft;	  /* labels of qname left of the apex (0: the apex) */
	uint8_t apex_off; /* offset of the apex in qname (for pointers) */
};

/*
 * Is the question name of @q the apex @apex (wire form, lower case,
 * @apex_len bytes, e.g. from dns_name_from_text) or under it? When it is
 * and @pos is not NULL, fill @pos. Compares with the lower-cased qname, so
 * the answer ignores ASCII case. False when @q has no question.
 */
bool dns_name_in_zone(const struct dns_query *q, const uint8_t *apex,
		      size_t apex_len, struct dns_zone_pos *pos);

/* Families dns_rev_parse looks for (bit mask). */
#define DNS_REV_V4 1u
#define DNS_REV_V6 2u

/* What the labels left of a block-list zone are (RFC 5782 2.1, 2.4). */
enum dns_rev {
	DNS_REV_APEX = 0, /* no label: the apex itself (SOA, NS) */
	DNS_REV_ADDR,	  /* a full reversed address: looked up */
	DNS_REV_PARTIAL,  /* fewer labels, each fit to start an address
			   * ("69.2.81": ancestor of 81.2.69.x): an empty
			   * non-terminal, NOERROR with no records */
	DNS_REV_BAD,	  /* cannot be or lead to an address: NXDOMAIN */
};

/*
 * Read the @nleft leftmost labels of q's lower-cased qname (the labels
 * left of the zone apex, from dns_name_in_zone) as a reversed address.
 * With DNS_REV_V4 in @families: 4 labels of decimal 0..255 without
 * leading zeros ("0" alone is fine) are an IPv4 address, least
 * significant octet first. With DNS_REV_V6: 32 labels of one hex digit
 * each (either case) are an IPv6 address, least significant nibble first;
 * an IPv4-mapped one (::ffff:a.b.c.d) is given as family 4, as everywhere
 * in trapline (ip.h), so ::FFFF:7F00:2 is 127.0.0.2. Four labels that
 * fit both forms are IPv4. @nleft above q->nlabels (or no question) is
 * DNS_REV_BAD. On DNS_REV_ADDR @ip holds the address; on any other result
 * it is zeroed.
 */
enum dns_rev dns_rev_parse(const struct dns_query *q, unsigned nleft,
			   unsigned families, struct tl_ip *ip);

/* Sections of a reply, in the order records must be added. */
enum dns_section {
	DNS_SEC_ANSWER = 0,
	DNS_SEC_AUTHORITY = 1,
	DNS_SEC_ADDITIONAL = 2,
};

/* Flags for dns_resp_init. */
#define DNS_RESP_AA 1u /* authoritative answer */

/*
 * A reply being built into a caller's buffer. The fields are the
 * builder's; read them only through the functions below, except
 * rclass, which the caller may set between records.
 */
struct dns_resp {
	uint8_t *buf;		   /* the caller's buffer, not owned */
	size_t max;		   /* bytes of buf we may use, 512..65535 */
	size_t len;		   /* bytes written so far */
	size_t limit;		   /* max less the room kept for OPT */
	const struct dns_query *q; /* borrowed: must outlive the builder */
	uint16_t count[3];	   /* records per section (enum dns_section) */
	uint8_t section;	   /* the section records go to now */
	bool truncated;		   /* a record did not fit: no more are added */
	bool tc;	  /* ... and it was in answer or authority: TC */
	bool opt;	  /* an OPT record ends the reply */
	uint16_t payload; /* the UDP size our OPT advertises (bytes) */
	uint16_t rcode;	  /* 0..4095 (enum dns_rcode) */
	uint16_t rclass;  /* class of added records: CH when the question
			   * is CH, else IN; the caller may change it */
};

/*
 * Start the reply to @q in @buf, of which @max bytes may be used (512 to
 * 65535: from dns_reply_max). Writes the header: the query's ID, opcode,
 * RD and CD, QR set, AA when @flags has DNS_RESP_AA, RCODE 0; then the
 * question exactly as asked when q->has_question. When q->edns, room for
 * an OPT record is kept back, so it fits whatever is added; it will
 * advertise @edns_payload (clamped to >= 512) and, since trapline does no
 * DNSSEC, DO clear (RFC 3225 3). @q is borrowed until dns_resp_finish.
 * Returns 0, or TL_EINVAL for @max out of range (nothing written then).
 */
int dns_resp_init(struct dns_resp *r, uint8_t *buf, size_t max,
		  const struct dns_query *q, unsigned flags,
		  uint16_t edns_payload);

/*
 * Move on to section @sec; records already added stay where they are.
 * Sections only go forward. Returns 0 or TL_EINVAL (going back).
 */
int dns_resp_section(struct dns_resp *r, enum dns_section sec);

/* Set the reply's RCODE, 0..4095. Above 15 needs q->edns: TL_EINVAL
 * otherwise. Returns 0 or TL_EINVAL. */
int dns_resp_set_rcode(struct dns_resp *r, unsigned rcode);

/*
 * Add one record to the current section. @owner is a wire name, or NULL
 * for the question name (which must then have been echoed: TL_EINVAL if
 * not). Owner names and names in NS and SOA data are compressed against
 * the question: the question name itself becomes the pointer 0xC00C, and
 * the longest suffix shared with it (ASCII case ignored) a pointer into
 * it. @ttl is in seconds.
 *
 * When the record does not fit in what is left of the buffer, nothing of
 * it is written, the reply is marked truncated and every later add is
 * refused: in the answer and authority sections the reply then gets TC
 * (the client retries over TCP); in the additional section it does not
 * (RFC 2181 9). Returns 0, TL_ENOSPC (not added: no room, now or
 * before), or TL_EINVAL (a bad argument; nothing written, not truncated).
 */
int dns_resp_add_a(struct dns_resp *r, const uint8_t *owner, uint32_t ttl,
		   const uint8_t addr[4]);

/* A TXT record of @len bytes of @text, split into character-strings of at
 * most 255 bytes (RFC 1035 3.3.14); an empty text is one empty string.
 * TL_EINVAL when the data would pass 65535 bytes. */
int dns_resp_add_txt(struct dns_resp *r, const uint8_t *owner, uint32_t ttl,
		     const char *text, size_t len);

/* SOA data (RFC 1035 3.3.13). The names are wire names, borrowed. */
struct dns_soa {
	const uint8_t *mname; /* primary server */
	const uint8_t *rname; /* mailbox, first label the local part */
	uint32_t serial;
	uint32_t refresh, retry, expire; /* seconds */
	uint32_t minimum; /* negative-caching TTL, seconds (RFC 2308) */
};

int dns_resp_add_soa(struct dns_resp *r, const uint8_t *owner, uint32_t ttl,
		     const struct dns_soa *soa);
int dns_resp_add_ns(struct dns_resp *r, const uint8_t *owner, uint32_t ttl,
		    const uint8_t *nsdname);

/* Has a record failed to fit? */
bool dns_resp_is_truncated(const struct dns_resp *r);

/*
 * End the reply: append the OPT record when the query had EDNS, write
 * RCODE, TC and the section counts into the header. Returns the length of
 * the message in the buffer (always >= 12). Call once; the builder is
 * done after it.
 */
size_t dns_resp_finish(struct dns_resp *r);

/*
 * The whole reply to a query whose verdict was FORMERR, NOTIMP or BADVERS
 * (or to any query, with q->rcode): the header, the question when it was
 * read, the OPT record when EDNS was read, RCODE q->rcode. @max and
 * @edns_payload as for dns_resp_init. Returns the length, or 0 for @max
 * out of range (nothing written).
 */
size_t dns_resp_error(uint8_t *buf, size_t max, const struct dns_query *q,
		      uint16_t edns_payload);

#endif
