/* SPDX-License-Identifier: MIT */
/* wire.c -- DNS messages on the wire (RFC 1035, 6891): parse and compose
 *
 * Every query goes through here at more than 100k a second on one core,
 * so nothing allocates, nothing moves the packet, and name compression
 * only ever points into the question: the question name and its suffixes
 * sit at offsets known from parsing, so finding the best pointer for a
 * name is one right-to-left walk over its labels, not a search of the
 * message.
 */
#include <assert.h>
#include <string.h>

#include "be.h"
#include "trapline/err.h"
#include "wire.h"

/* Header flag bits (RFC 1035 4.1.1; CD from RFC 4035 3.1.6). */
#define HDR_QR 0x80 /* byte 2 */
#define HDR_AA 0x04 /* byte 2 */
#define HDR_TC 0x02 /* byte 2 */
#define HDR_RD 0x01 /* byte 2 */
#define HDR_CD 0x10 /* byte 3 */

/* Offset of the question name in any message we write. */
#define QNAME_OFF DNS_HEADER_SIZE

/* Fixed part of a resource record after its owner (type, class, TTL,
 * RDLENGTH), and of a question after its name (type, class). */
#define RR_FIXED 10
#define Q_FIXED 4

static inline uint8_t lower(uint8_t c)
{
	return (uint8_t)((unsigned)(c - 'A') < 26u ? c + ('a' - 'A') : c);
}

/* ---- reading ---------------------------------------------------------- */

/*
 * Read the question name at *pos of @pkt (@len bytes, untrusted) into
 * q->qname, q->qname_lc and the label offsets. Checks: every byte read is
 * inside @len; labels of 1..63 bytes (the top two bits of a length byte
 * clear: a query has no reason to compress its question, so a pointer is
 * refused, and extended label types are obsolete, RFC 6891 5); at most
 * 255 bytes with the root label. On success *pos is past the name.
 */
static bool read_qname(const uint8_t *pkt, size_t len, size_t *pos,
		       struct dns_query *q)
{
	size_t i = *pos, n = 0;
	unsigned labels = 0;

	for (;;) {
		size_t l, k;

		if (i >= len)
			return false;
		l = pkt[i];
		if (l == 0)
			break;
		if (l > DNS_LABEL_MAX)
			return false; /* pointer or extended label type */
		/* the label, then at least the root must stay within 255 */
		if (n + 1 + l + 1 > DNS_NAME_MAX || len - i < 1 + l)
			return false;
		/* each label takes >= 2 bytes of 254: labels <= 127 */
		q->label_off[labels++] = (uint8_t)n;
		q->qname[n] = q->qname_lc[n] = (uint8_t)l;
		for (k = 1; k <= l; k++) {
			q->qname[n + k] = pkt[i + k];
			q->qname_lc[n + k] = lower(pkt[i + k]);
		}
		n += 1 + l;
		i += 1 + l;
	}
	q->qname[n] = q->qname_lc[n] = 0;
	q->qname_len = (uint16_t)(n + 1);
	q->nlabels = (uint8_t)labels;
	*pos = i + 1;
	return true;
}

/*
 * Step over a possibly compressed name at *pos in @pkt (@len bytes,
 * untrusted), checking it as Knot's knot_dname_wire_check does: every
 * byte inside @len; labels <= 63 bytes; a pointer (RFC 1035 4.1.4) must
 * point at or after the header and strictly before where the labels that
 * led to it started, so a chain of pointers always goes backwards and
 * ends; the name, expanded, within 255 bytes. On success *pos is past the
 * name as it sits in the record (after its first pointer, if any) and
 * *is_root tells whether it was the single root byte.
 */
static bool skip_name(const uint8_t *pkt, size_t len, size_t *pos,
		      bool *is_root)
{
	size_t i = *pos, seg = *pos, end = 0, wire = 0;
	bool jumped = false;

	*is_root = i < len && pkt[i] == 0;
	for (;;) {
		uint8_t l;

		if (i >= len)
			return false;
		l = pkt[i];
		if ((l & 0xc0) == 0xc0) {
			size_t ptr;

			if (len - i < 2)
				return false;
			ptr = (size_t)(l & 0x3f) << 8 | pkt[i + 1];
			if (ptr < DNS_HEADER_SIZE || ptr >= seg)
				return false;
			if (!jumped)
				end = i + 2;
			jumped = true;
			i = seg = ptr;
			continue;
		}
		if (l > DNS_LABEL_MAX)
			return false;
		wire += 1u + l;
		if (wire > DNS_NAME_MAX)
			return false;
		if (l == 0)
			break;
		if (len - i < 1u + l)
			return false;
		i += 1u + l;
	}
	*pos = jumped ? end : i + 1;
	return true;
}

/*
 * Walk the options of an OPT record's RDATA (@rdlen bytes at @p): each a
 * 2-byte code, a 2-byte length and that many bytes, all inside @rdlen, no
 * byte left over (RFC 6891 6.1.2). Options are not interpreted.
 */
static bool check_opt_options(const uint8_t *p, size_t rdlen)
{
	size_t i = 0;

	while (rdlen - i >= 4) {
		size_t olen = get16(p + i + 2);

		i += 4;
		if (rdlen - i < olen)
			return false;
		i += olen;
	}
	return i == rdlen;
}

/* Set the verdict's RCODE into @q and return the verdict. */
static enum dns_verdict verdict(struct dns_query *q, enum dns_verdict v)
{
	static const uint16_t rcodes[] = {
	    [DNS_Q_OK] = DNS_RCODE_NOERROR,
	    [DNS_Q_DROP] = DNS_RCODE_NOERROR,
	    [DNS_Q_FORMERR] = DNS_RCODE_FORMERR,
	    [DNS_Q_NOTIMP] = DNS_RCODE_NOTIMP,
	    [DNS_Q_BADVERS] = DNS_RCODE_BADVERS,
	};

	q->rcode = rcodes[v];
	return v;
}

/*
 * Read the records of one section (@count of them) from *pos. With
 * @additional, an OPT record is taken as EDNS (at most one in the
 * message, owned by the root); elsewhere an OPT is an error. Other
 * records are stepped over, their RDATA bounded by @len and not read.
 */
static bool read_records(const uint8_t *pkt, size_t len, size_t *pos,
			 unsigned count, bool additional, bool *seen_opt,
			 struct dns_query *q)
{
	size_t i = *pos;

	for (; count > 0; count--) {
		uint16_t type, rdlen;
		uint32_t ttl;
		bool root;

		if (!skip_name(pkt, len, &i, &root))
			return false;
		if (len - i < RR_FIXED)
			return false;
		type = get16(pkt + i);
		rdlen = get16(pkt + i + 8);
		if (len - i - RR_FIXED < rdlen)
			return false;
		if (type == DNS_TYPE_OPT) {
			/* RFC 6891 6.1.1: one OPT, in additional, at root */
			if (!additional || *seen_opt || !root) {
				q->edns = false;
				return false;
			}
			*seen_opt = true;
			if (!check_opt_options(pkt + i + RR_FIXED, rdlen))
				return false;
			ttl = (uint32_t)get16(pkt + i + 4) << 16 |
			      get16(pkt + i + 6);
			q->edns = true;
			q->edns_payload = get16(pkt + i + 2);
			/* RFC 6891 6.2.5: below 512 is taken as 512 */
			if (q->edns_payload < DNS_UDP_MAX)
				q->edns_payload = DNS_UDP_MAX;
			q->edns_version = (uint8_t)(ttl >> 16);
			q->edns_do = (ttl & 0x8000) != 0;
		}
		i += RR_FIXED + (size_t)rdlen;
	}
	*pos = i;
	return true;
}

/*
 * Checks on the header, the question, and every record in the counts of
 * an untrusted query: see wire.h. Guarantees on DNS_Q_OK: exactly one
 * question, held in @q with its labels; EDNS fields valid when q->edns;
 * the packet ends with the last counted record.
 */
enum dns_verdict dns_query_parse(const uint8_t *pkt, size_t len,
				 struct dns_query *q)
{
	uint16_t qd, an, ns, ar;
	size_t pos = DNS_HEADER_SIZE;
	bool seen_opt = false;

	/* Scalars only: qname and the label offsets are valid by
	 * has_question and qname_len, and clearing them would cost more
	 * than the rest of the parse. */
	q->id = 0;
	q->opcode = 0;
	q->rd = q->cd = false;
	q->rcode = 0;
	q->has_question = false;
	q->qtype = q->qclass = 0;
	q->qname_len = 0;
	q->nlabels = 0;
	q->edns = false;
	q->edns_version = 0;
	q->edns_do = false;
	q->edns_payload = 0;

	if (len < DNS_HEADER_SIZE)
		return verdict(q, DNS_Q_DROP);
	q->id = get16(pkt);
	q->opcode = (pkt[2] >> 3) & 0x0f;
	q->rd = (pkt[2] & HDR_RD) != 0;
	q->cd = (pkt[3] & HDR_CD) != 0;
	if (pkt[2] & HDR_QR)
		return verdict(q, DNS_Q_DROP);
	qd = get16(pkt + 4);
	an = get16(pkt + 6);
	ns = get16(pkt + 8);
	ar = get16(pkt + 10);

	/* The first question, if any, for echoing even in an error. */
	if (qd > 0 && read_qname(pkt, len, &pos, q) && len - pos >= Q_FIXED) {
		q->qtype = get16(pkt + pos);
		q->qclass = get16(pkt + pos + 2);
		q->has_question = true;
		pos += Q_FIXED;
	} else {
		q->qname_len = 0;
		q->nlabels = 0;
	}

	if (q->opcode != DNS_OPCODE_QUERY && q->opcode != DNS_OPCODE_NOTIFY)
		return verdict(q, DNS_Q_NOTIMP);
	if (qd != 1 || !q->has_question)
		return verdict(q, DNS_Q_FORMERR);
	/* RFC 1035 4.1.1 has a query carry only its question; a NOTIFY may
	 * carry the new SOA in its answer section (RFC 1996 3.7). */
	if (q->opcode == DNS_OPCODE_QUERY && (an != 0 || ns != 0))
		return verdict(q, DNS_Q_FORMERR);
	if (!read_records(pkt, len, &pos, (unsigned)an + ns, false, &seen_opt,
			  q) ||
	    !read_records(pkt, len, &pos, ar, true, &seen_opt, q))
		return verdict(q, DNS_Q_FORMERR);
	if (pos != len)
		return verdict(q, DNS_Q_FORMERR); /* trailing data */
	if (q->edns && q->edns_version != 0)
		return verdict(q, DNS_Q_BADVERS); /* RFC 6891 6.1.3 */
	return verdict(q, DNS_Q_OK);
}

size_t dns_reply_max(const struct dns_query *q, bool tcp, uint16_t edns_cap)
{
	size_t cap = edns_cap < DNS_UDP_MAX ? DNS_UDP_MAX : edns_cap;

	if (tcp)
		return DNS_TCP_MAX;
	if (!q->edns)
		return DNS_UDP_MAX;
	return q->edns_payload < cap ? q->edns_payload : cap;
}

/* ---- names ------------------------------------------------------------ */

int dns_name_from_text(const char *text, size_t len, uint8_t *out,
		       size_t *out_len)
{
	size_t i, n = 0, lab = 0;

	if (len > 0 && text[len - 1] == '.')
		len--; /* "." is the root, "a." is "a" */
	if (len == 0) {
		out[0] = 0;
		*out_len = 1;
		return 0;
	}
	/* out[lab] is the length byte of the label being written */
	out[0] = 0;
	n = 1;
	for (i = 0; i < len; i++) {
		uint8_t c = (uint8_t)text[i];

		if (c == '.') {
			if (out[lab] == 0)
				return TL_ESYNTAX; /* empty label */
			lab = n++;
			out[lab] = 0;
			continue;
		}
		if (c <= 0x20 || c >= 0x7f || c == '\\')
			return TL_ESYNTAX;
		if (out[lab] == DNS_LABEL_MAX)
			return TL_ETOOLONG;
		/* the byte, then at least the root label within 255 */
		if (n + 1 >= DNS_NAME_MAX)
			return TL_ETOOLONG;
		out[lab]++;
		out[n++] = lower(c);
	}
	if (out[lab] == 0)
		return TL_ESYNTAX; /* "a..": empty last label */
	out[n++] = 0;
	*out_len = n;
	return 0;
}

/* Labels of a trusted wire name, bounded anyway by 255 bytes. */
static unsigned count_labels(const uint8_t *name, size_t len)
{
	size_t i = 0;
	unsigned k = 0;

	while (i < len && name[i] != 0 && name[i] <= DNS_LABEL_MAX) {
		i += 1u + name[i];
		k++;
	}
	return k;
}

bool dns_name_in_zone(const struct dns_query *q, const uint8_t *apex,
		      size_t apex_len, struct dns_zone_pos *pos)
{
	unsigned k;
	size_t off;

	if (!q->has_question || apex_len == 0 || apex_len > DNS_NAME_MAX)
		return false;
	k = count_labels(apex, apex_len);
	if (k > q->nlabels)
		return false;
	off = k == q->nlabels ? 0 : q->label_off[q->nlabels - k];
	if (k == 0)
		off = q->qname_len - 1u; /* the root label */
	if (q->qname_len - off != apex_len ||
	    memcmp(q->qname_lc + off, apex, apex_len) != 0)
		return false;
	if (pos) {
		pos->nleft = (uint8_t)(q->nlabels - k);
		pos->apex_off = (uint8_t)off;
	}
	return true;
}

/* A decimal octet label: "0".."255", no leading zero. -1 if not. */
static int octet_label(const uint8_t *l)
{
	unsigned len = l[0], v = 0, i;

	if (len < 1 || len > 3 || (len > 1 && l[1] == '0'))
		return -1;
	for (i = 1; i <= len; i++) {
		if ((unsigned)(l[i] - '0') > 9u)
			return -1;
		v = v * 10 + (unsigned)(l[i] - '0');
	}
	return v <= 255 ? (int)v : -1;
}

/* A one-nibble label of a lower-cased name: "0".."9", "a".."f". */
static int nibble_label(const uint8_t *l)
{
	uint8_t c = l[1];

	if (l[0] != 1)
		return -1;
	if ((unsigned)(c - '0') <= 9u)
		return c - '0';
	if ((unsigned)(c - 'a') <= 5u)
		return c - 'a' + 10;
	return -1;
}

enum dns_rev dns_rev_parse(const struct dns_query *q, unsigned nleft,
			   unsigned families, struct tl_ip *ip)
{
	static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0,    0,
					     0, 0, 0, 0, 0xff, 0xff};
	bool v4 = (families & DNS_REV_V4) && nleft <= 4;
	bool v6 = (families & DNS_REV_V6) && nleft <= 32;
	uint8_t oct[4] = {0}, nib[16] = {0};
	unsigned i;

	memset(ip, 0, sizeof(*ip));
	if (nleft == 0)
		return DNS_REV_APEX;
	if (!q->has_question || nleft > q->nlabels)
		return DNS_REV_BAD;
	/* Label i (from the left) is octet 3 - i, or nibble i counted from
	 * the low end of the address (RFC 5782 2.1, 2.4). */
	for (i = 0; i < nleft && (v4 || v6); i++) {
		const uint8_t *l = q->qname_lc + q->label_off[i];
		int o = v4 ? octet_label(l) : -1;
		int x = v6 ? nibble_label(l) : -1;

		v4 = o >= 0;
		v6 = x >= 0;
		if (v4)
			oct[3 - i] = (uint8_t)o;
		if (v6)
			nib[15 - i / 2] |= (uint8_t)(i % 2 ? x << 4 : x);
	}
	if (v4 && nleft == 4) {
		tl_ip_from_v4(ip, (uint32_t)oct[0] << 24 |
				      (uint32_t)oct[1] << 16 |
				      (uint32_t)oct[2] << 8 | oct[3]);
		return DNS_REV_ADDR;
	}
	if (v6 && nleft == 32) {
		if (memcmp(nib, v4mapped, sizeof(v4mapped)) == 0) {
			tl_ip_from_v4(ip, (uint32_t)nib[12] << 24 |
					      (uint32_t)nib[13] << 16 |
					      (uint32_t)nib[14] << 8 | nib[15]);
		} else {
			ip->family = 6;
			memcpy(ip->a, nib, 16);
		}
		return DNS_REV_ADDR;
	}
	return v4 || v6 ? DNS_REV_PARTIAL : DNS_REV_BAD;
}

/* ---- writing ---------------------------------------------------------- */

int dns_resp_init(struct dns_resp *r, uint8_t *buf, size_t max,
		  const struct dns_query *q, unsigned flags,
		  uint16_t edns_payload)
{
	uint8_t *h = buf;

	if (max < DNS_UDP_MAX || max > DNS_TCP_MAX)
		return TL_EINVAL;
	r->buf = buf;
	r->max = max;
	r->q = q;
	r->count[0] = r->count[1] = r->count[2] = 0;
	r->section = DNS_SEC_ANSWER;
	r->truncated = r->tc = false;
	r->opt = q->edns;
	r->payload = edns_payload < DNS_UDP_MAX ? DNS_UDP_MAX : edns_payload;
	r->rcode = 0;
	r->rclass = q->has_question && q->qclass == DNS_CLASS_CH ? DNS_CLASS_CH
								 : DNS_CLASS_IN;
	/* 512 bytes always hold the header, a 255-byte question and OPT */
	r->limit = max - (r->opt ? DNS_OPT_SIZE : 0);

	put16(h, q->id);
	h[2] = (uint8_t)(HDR_QR | (q->opcode & 0x0f) << 3 |
			 (flags & DNS_RESP_AA ? HDR_AA : 0) |
			 (q->rd ? HDR_RD : 0));
	h[3] = q->cd ? HDR_CD : 0;
	put16(h + 4, q->has_question ? 1 : 0);
	memset(h + 6, 0, 6);
	r->len = DNS_HEADER_SIZE;
	if (q->has_question) {
		memcpy(buf + r->len, q->qname, q->qname_len);
		r->len += q->qname_len;
		put16(buf + r->len, q->qtype);
		put16(buf + r->len + 2, q->qclass);
		r->len += Q_FIXED;
	}
	return 0;
}

int dns_resp_section(struct dns_resp *r, enum dns_section sec)
{
	if ((unsigned)sec > DNS_SEC_ADDITIONAL || (unsigned)sec < r->section)
		return TL_EINVAL;
	r->section = (uint8_t)sec;
	return 0;
}

int dns_resp_set_rcode(struct dns_resp *r, unsigned rcode)
{
	if (rcode > 4095 || (rcode > 15 && !r->opt))
		return TL_EINVAL;
	r->rcode = (uint16_t)rcode;
	return 0;
}

bool dns_resp_is_truncated(const struct dns_resp *r)
{
	return r->truncated;
}

/*
 * Label offsets of a wire name given by the program (trusted, but walked
 * within 255 bytes and 63-byte labels all the same). Returns the name's
 * length, or 0 if it is not a valid uncompressed name.
 */
static size_t name_labels(const uint8_t *name, uint8_t off[DNS_LABELS_MAX],
			  unsigned *nlabels)
{
	size_t i = 0;
	unsigned k = 0;

	while (name[i] != 0) {
		if (name[i] > DNS_LABEL_MAX ||
		    i + 1 + name[i] + 1 > DNS_NAME_MAX)
			return 0;
		off[k++] = (uint8_t)i;
		i += 1u + name[i];
	}
	*nlabels = k;
	return i + 1;
}

/* Same label, ASCII case ignored (@lc is already lower case). */
static bool label_eq(const uint8_t *a, const uint8_t *lc)
{
	unsigned i;

	if (a[0] != lc[0])
		return false;
	for (i = 1; i <= a[0]; i++)
		if (lower(a[i]) != lc[i])
			return false;
	return true;
}

/*
 * Write @name (NULL: the question name) at r->len, compressed against the
 * question, if it fits below r->limit. Returns the bytes written, 0 when
 * it does not fit, or -1 for a bad name.
 */
static int put_name(struct dns_resp *r, const uint8_t *name)
{
	const struct dns_query *q = r->q;
	uint8_t off[DNS_LABELS_MAX];
	unsigned m, n, i, j;
	size_t nlen, head;

	if (!name) {
		if (!q->has_question)
			return -1;
		if (q->qname_len == 1)
			name = q->qname; /* the root: 1 byte beats a pointer */
	}
	if (!name) {
		if (r->limit - r->len < 2)
			return 0;
		put16(r->buf + r->len, 0xc000 | QNAME_OFF);
		return 2;
	}
	nlen = name_labels(name, off, &m);
	if (nlen == 0)
		return -1;
	/* Match labels from the right against the question's: the shared
	 * suffix starts at name label i, question label j. */
	i = m;
	j = n = q->has_question ? q->nlabels : 0;
	while (i > 0 && j > 0 &&
	       label_eq(name + off[i - 1], q->qname_lc + q->label_off[j - 1])) {
		i--;
		j--;
	}
	if (i == m) {
		/* nothing shared but the root: write it whole */
		if (r->limit - r->len < nlen)
			return 0;
		memcpy(r->buf + r->len, name, nlen);
		return (int)nlen;
	}
	head = off[i]; /* bytes before the shared part */
	if (r->limit - r->len < head + 2)
		return 0;
	memcpy(r->buf + r->len, name, head);
	put16(r->buf + r->len + head,
	      (uint16_t)(0xc000 | (QNAME_OFF + q->label_off[j])));
	return (int)(head + 2);
}

/*
 * Records are written in place at r->len: begin_rr writes owner, type,
 * class, TTL and leaves RDLENGTH for end_rr, which fills it once the RDATA
 * is written, or rolls the whole record back when any piece did not fit.
 */
struct rr_ctx {
	size_t start; /* r->len before the record */
	size_t rdata; /* offset of the RDATA */
	bool nospace; /* a piece did not fit: sticky */
	bool bad;     /* a bad argument: sticky */
};

static int begin_rr(struct dns_resp *r, struct rr_ctx *c, const uint8_t *owner,
		    uint16_t type, uint32_t ttl)
{
	int w;

	c->start = r->len;
	c->nospace = c->bad = false;
	if (r->truncated)
		return TL_ENOSPC;
	w = put_name(r, owner);
	if (w < 0)
		return TL_EINVAL;
	if (w == 0 || r->limit - r->len - (size_t)w < RR_FIXED) {
		c->nospace = true;
		return 0;
	}
	r->len += (size_t)w;
	put16(r->buf + r->len, type);
	put16(r->buf + r->len + 2, r->rclass);
	put32(r->buf + r->len + 4, ttl);
	r->len += RR_FIXED;
	c->rdata = r->len;
	return 0;
}

static void rr_bytes(struct dns_resp *r, struct rr_ctx *c, const void *p,
		     size_t n)
{
	if (c->nospace || c->bad)
		return;
	if (r->limit - r->len < n) {
		c->nospace = true;
		return;
	}
	if (n > 0) /* text may be NULL when empty */
		memcpy(r->buf + r->len, p, n);
	r->len += n;
}

static void rr_u32(struct dns_resp *r, struct rr_ctx *c, uint32_t v)
{
	uint8_t b[4];

	put32(b, v);
	rr_bytes(r, c, b, 4);
}

static void rr_name(struct dns_resp *r, struct rr_ctx *c, const uint8_t *name)
{
	int w;

	if (c->nospace || c->bad)
		return;
	if (!name) {
		c->bad = true;
		return;
	}
	w = put_name(r, name);
	if (w < 0)
		c->bad = true;
	else if (w == 0)
		c->nospace = true;
	else
		r->len += (size_t)w;
}

static int end_rr(struct dns_resp *r, struct rr_ctx *c)
{
	if (c->bad) {
		r->len = c->start;
		return TL_EINVAL;
	}
	if (c->nospace) {
		r->len = c->start;
		r->truncated = true;
		/* RFC 2181 9: TC only when the answer or authority is cut */
		if (r->section != DNS_SEC_ADDITIONAL)
			r->tc = true;
		return TL_ENOSPC;
	}
	put16(r->buf + c->rdata - 2, (uint16_t)(r->len - c->rdata));
	r->count[r->section]++;
	return 0;
}

int dns_resp_add_a(struct dns_resp *r, const uint8_t *owner, uint32_t ttl,
		   const uint8_t addr[4])
{
	struct rr_ctx c;
	int err = begin_rr(r, &c, owner, DNS_TYPE_A, ttl);

	if (err)
		return err;
	rr_bytes(r, &c, addr, 4);
	return end_rr(r, &c);
}

int dns_resp_add_txt(struct dns_resp *r, const uint8_t *owner, uint32_t ttl,
		     const char *text, size_t len)
{
	struct rr_ctx c;
	size_t done = 0, strings = len ? (len + 254) / 255 : 1;
	int err;

	if (len > 65535 || len + strings > 65535)
		return TL_EINVAL;
	err = begin_rr(r, &c, owner, DNS_TYPE_TXT, ttl);
	if (err)
		return err;
	if (!c.nospace && r->limit - r->len < len + strings)
		c.nospace = true;
	do {
		size_t n = len - done > DNS_TXT_STRING_MAX ? DNS_TXT_STRING_MAX
							   : len - done;
		uint8_t l = (uint8_t)n;

		rr_bytes(r, &c, &l, 1);
		rr_bytes(r, &c, text + done, n);
		done += n;
	} while (done < len && !c.nospace);
	return end_rr(r, &c);
}

int dns_resp_add_soa(struct dns_resp *r, const uint8_t *owner, uint32_t ttl,
		     const struct dns_soa *soa)
{
	struct rr_ctx c;
	int err = begin_rr(r, &c, owner, DNS_TYPE_SOA, ttl);

	if (err)
		return err;
	rr_name(r, &c, soa->mname);
	rr_name(r, &c, soa->rname);
	rr_u32(r, &c, soa->serial);
	rr_u32(r, &c, soa->refresh);
	rr_u32(r, &c, soa->retry);
	rr_u32(r, &c, soa->expire);
	rr_u32(r, &c, soa->minimum);
	return end_rr(r, &c);
}

int dns_resp_add_ns(struct dns_resp *r, const uint8_t *owner, uint32_t ttl,
		    const uint8_t *nsdname)
{
	struct rr_ctx c;
	int err = begin_rr(r, &c, owner, DNS_TYPE_NS, ttl);

	if (err)
		return err;
	rr_name(r, &c, nsdname);
	return end_rr(r, &c);
}

size_t dns_resp_finish(struct dns_resp *r)
{
	uint8_t *h = r->buf;
	uint16_t ar = r->count[DNS_SEC_ADDITIONAL];

	if (r->opt) {
		/* RFC 6891 6.1.2-6.1.3: root owner, our UDP size as the
		 * class, the RCODE's high 8 bits, version 0, DO clear (we
		 * do no DNSSEC: RFC 3225 3), no options. Room was kept. */
		uint8_t *o = r->buf + r->len;

		assert(r->max - r->len >= DNS_OPT_SIZE);
		o[0] = 0;
		put16(o + 1, DNS_TYPE_OPT);
		put16(o + 3, r->payload);
		put32(o + 5, (uint32_t)(r->rcode >> 4) << 24);
		put16(o + 9, 0);
		r->len += DNS_OPT_SIZE;
		ar++;
	}
	if (r->tc)
		h[2] |= HDR_TC;
	h[3] = (uint8_t)((h[3] & 0xf0) | (r->rcode & 0x0f));
	put16(h + 6, r->count[DNS_SEC_ANSWER]);
	put16(h + 8, r->count[DNS_SEC_AUTHORITY]);
	put16(h + 10, ar);
	return r->len;
}

size_t dns_resp_error(uint8_t *buf, size_t max, const struct dns_query *q,
		      uint16_t edns_payload)
{
	struct dns_resp r;

	if (dns_resp_init(&r, buf, max, q, 0, edns_payload) != 0)
		return 0;
	if (dns_resp_set_rcode(&r, q->rcode) != 0)
		dns_resp_set_rcode(&r, DNS_RCODE_SERVFAIL);
	return dns_resp_finish(&r);
}
