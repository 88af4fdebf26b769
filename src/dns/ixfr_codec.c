/* SPDX-License-Identifier: MIT */
/* ixfr_codec.c -- the bytes of transfers that come from outside: the
 * transfer query and the IXFR journal file; pure (no I/O), for the
 * server, the unit tests and the fuzzer
 */
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "be.h"
#include "trapline/alloc.h"
#include "trapline/err.h"
#include "xfr_int.h"

#define HDR_QR 0x80

static inline uint8_t lower(uint8_t c)
{
	return (uint8_t)((unsigned)(c - 'A') < 26u ? c + ('a' - 'A') : c);
}

/* Skip a name at *pos (labels, or labels ending in a pointer), inside
 * @len; copy it lower-cased into @out (when not NULL) if it is not
 * compressed. Returns false when it does not read. */
bool xfr_name_read(const uint8_t *pkt, size_t len, size_t *pos,
		   uint8_t *out, size_t *out_len, bool *compressed)
{
	size_t p = *pos, o = 0;

	*compressed = false;
	for (;;) {
		uint8_t l;

		if (p >= len)
			return false;
		l = pkt[p];
		if ((l & 0xc0) == 0xc0) {
			if (p + 2 > len)
				return false;
			*compressed = true;
			*pos = p + 2;
			return true;
		}
		if (l > DNS_LABEL_MAX || o + 1u + l > DNS_NAME_MAX ||
		    p + 1u + l > len)
			return false;
		if (out) {
			size_t i;

			out[o] = l;
			for (i = 1; i <= l; i++)
				out[o + i] = lower(pkt[p + i]);
		}
		o += 1u + l;
		p += 1u + l;
		if (!l) {
			*pos = p;
			if (out_len)
				*out_len = o;
			return true;
		}
	}
}

/* Reads only the header, the question and, for IXFR, the first authority
 * record, each byte bounded by @len (see xfr_int.h). */
enum xfr_parse xfr_query_parse(const uint8_t *pkt, size_t len,
			       struct xfr_query *q)
{
	size_t pos = DNS_HEADER_SIZE, i;
	uint16_t rdlen;
	bool comp;

	memset(q, 0, sizeof(*q));
	if (len < DNS_HEADER_SIZE || (pkt[2] & HDR_QR) ||
	    ((pkt[2] >> 3) & 0xf) != DNS_OPCODE_QUERY || get16(pkt + 4) != 1)
		return XFR_P_NOT;
	q->id = get16(pkt);
	for (;;) {
		uint8_t l;

		if (pos >= len || pos - DNS_HEADER_SIZE >= DNS_NAME_MAX)
			return XFR_P_NOT;
		l = pkt[pos];
		if (l > DNS_LABEL_MAX ||
		    pos - DNS_HEADER_SIZE + 1u + l > DNS_NAME_MAX ||
		    pos + 1u + l > len)
			return XFR_P_NOT; /* wire.c answers FORMERR */
		pos += 1u + l;
		if (!l)
			break;
	}
	q->qname_len = pos - DNS_HEADER_SIZE;
	memcpy(q->qname, pkt + DNS_HEADER_SIZE, q->qname_len);
	for (i = 0; i < q->qname_len; i++)
		q->qname_lc[i] = lower(q->qname[i]);
	if (pos + 4 > len)
		return XFR_P_NOT;
	q->qtype = get16(pkt + pos);
	q->qclass = get16(pkt + pos + 2);
	pos += 4;
	if (q->qtype != DNS_TYPE_AXFR && q->qtype != DNS_TYPE_IXFR)
		return XFR_P_NOT;
	if (get16(pkt + 6) != 0)
		return XFR_P_FORMERR;
	if (q->qtype == DNS_TYPE_AXFR)
		return XFR_P_OK;
	/* RFC 1995 3: the authority section holds the client's SOA. */
	if (get16(pkt + 8) < 1 ||
	    !xfr_name_read(pkt, len, &pos, NULL, NULL, &comp) ||
	    pos + 10 > len || get16(pkt + pos) != DNS_TYPE_SOA)
		return XFR_P_FORMERR;
	rdlen = get16(pkt + pos + 8);
	pos += 10;
	if (rdlen < 22 || pos + rdlen > len)
		return XFR_P_FORMERR;
	pos += rdlen - 20u;
	q->serial = (uint32_t)pkt[pos] << 24 | (uint32_t)pkt[pos + 1] << 16 |
		    (uint32_t)pkt[pos + 2] << 8 | pkt[pos + 3];
	q->has_serial = true;
	return XFR_P_OK;
}

uint32_t ixfr_crc(const uint8_t *p, size_t n)
{
	uLong c = crc32(0, NULL, 0);

	while (n) {
		uInt k = n > (1u << 30) ? 1u << 30 : (uInt)n;

		c = crc32(c, p, k);
		p += k;
		n -= k;
	}
	return (uint32_t)c;
}

uint32_t ixfr_zone_tag(const uint8_t *apex, size_t apex_len)
{
	return ixfr_crc(apex, apex_len);
}

/* ---- records ---------------------------------------------------------- */

/* Reads only inside @len; checks the owner's labels (1..63 bytes, the
 * owner under 255 bytes with the apex) and the data length. */
size_t ixfr_rr_read(const uint8_t *p, size_t len, struct ixfr_rr *rr)
{
	size_t ol, o = 1, dl;

	if (len < IXFR_RR_MIN)
		return 0;
	ol = p[0];
	if (ol >= DNS_NAME_MAX || 1 + ol + 8 > len)
		return 0;
	while (o < 1 + ol) {
		uint8_t l = p[o];

		if (l == 0 || l > DNS_LABEL_MAX || o + 1 + l > 1 + ol)
			return 0;
		o += 1u + l;
	}
	rr->rel = p + 1;
	rr->rel_len = ol;
	rr->type = (uint16_t)(p[o] << 8 | p[o + 1]);
	rr->ttl = get32(p + o + 2);
	dl = (size_t)p[o + 6] << 8 | p[o + 7];
	o += 8;
	if (dl > XFR_RDATA_MAX || o + dl > len)
		return 0;
	rr->rdata = p + o;
	rr->rdlen = dl;
	return o + dl;
}

size_t ixfr_rr_write(uint8_t *p, size_t max, const struct ixfr_rr *rr)
{
	size_t n = 1 + rr->rel_len + 8 + rr->rdlen;

	if (n > max || rr->rel_len >= DNS_NAME_MAX ||
	    rr->rdlen > XFR_RDATA_MAX)
		return 0;
	p[0] = (uint8_t)rr->rel_len;
	memcpy(p + 1, rr->rel, rr->rel_len);
	p += 1 + rr->rel_len;
	p[0] = (uint8_t)(rr->type >> 8);
	p[1] = (uint8_t)rr->type;
	put32(p + 2, rr->ttl);
	p[6] = (uint8_t)(rr->rdlen >> 8);
	p[7] = (uint8_t)rr->rdlen;
	memcpy(p + 8, rr->rdata, rr->rdlen);
	return n;
}

/* ---- scanning (untrusted: the file may be damaged or hostile) ---------- */

static int bad(struct ixfr_scan *s, const char *what, uint64_t off)
{
	tl_free(s->recs); /* nothing of a damaged journal is used */
	s->recs = NULL;
	s->n = 0;
	snprintf(s->why, sizeof(s->why), "%s at byte %llu", what,
		 (unsigned long long)off);
	return TL_ECORRUPT;
}

/* Every read is bounded by @len; counts from the file are checked against
 * the bytes there before anything relies on them. */
int ixfr_journal_scan(const uint8_t *p, size_t len, uint32_t tag,
		      struct ixfr_scan *s)
{
	size_t off = IXFR_FILE_HDR, cap = 0;

	memset(s, 0, sizeof(*s));
	if (len < IXFR_FILE_HDR)
		return bad(s, "short header", 0);
	if (memcmp(p, IXFR_FILE_MAGIC, 8) != 0)
		return bad(s, "not an IXFR journal", 0);
	if (get32(p + 12) != ixfr_crc(p, 12))
		return bad(s, "header checksum", 0);
	if (get32(p + 8) != tag)
		return bad(s, "journal of another zone", 8);
	s->good_len = off;
	while (off < len) {
		const uint8_t *h = p + off, *b;
		struct ixfr_rec r;
		uint64_t k, used = 0;

		if (len - off < IXFR_REC_HDR) {
			s->cut = true;
			break;
		}
		if (get32(h + 44) != ixfr_crc(h, 44))
			return bad(s, "record header checksum", off);
		if (get32(h) != IXFR_REC_MAGIC || get32(h + 4) != IXFR_REC_VERSION)
			return bad(s, "record magic or version", off);
		r.from = get32(h + 8);
		r.to = get32(h + 12);
		r.ndel = get64(h + 16);
		r.nadd = get64(h + 24);
		r.body_len = get64(h + 32);
		r.off = off + IXFR_REC_HDR;
		if (r.body_len > len - r.off) {
			s->cut = true;
			break;
		}
		if (r.ndel > r.body_len / IXFR_RR_MIN ||
		    r.nadd > r.body_len / IXFR_RR_MIN - r.ndel)
			return bad(s, "record counts", off);
		if (!dns_serial_gt(r.to, r.from) ||
		    (s->n && s->recs[s->n - 1].to != r.from))
			return bad(s, "serials out of order", off);
		b = p + r.off;
		if (get32(h + 40) != ixfr_crc(b, r.body_len))
			return bad(s, "body checksum", off);
		for (k = 0; k < r.ndel + r.nadd; k++) {
			struct ixfr_rr rr;
			size_t u = ixfr_rr_read(b + used, r.body_len - used,
						&rr);

			if (!u)
				return bad(s, "unreadable record", r.off + used);
			used += u;
		}
		if (used != r.body_len)
			return bad(s, "bytes after the last record", off);
		if (s->n == cap) {
			struct ixfr_rec *n;

			cap = cap ? cap * 2 : 16;
			n = tl_reallocarray(s->recs, cap, sizeof(*n));
			if (!n) {
				tl_free(s->recs);
				s->recs = NULL;
				return TL_ENOMEM;
			}
			s->recs = n;
		}
		s->recs[s->n++] = r;
		off = r.off + r.body_len;
		s->good_len = off;
	}
	return 0;
}

