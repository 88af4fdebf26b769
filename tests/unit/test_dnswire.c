/* SPDX-License-Identifier: MIT */
/* test_dnswire.c -- DNS wire: queries from real clients, malformed ones,
 * reversed-address names, and replies checked by an independent decoder
 *
 * The q_* packets were captured from dig 9.18 (Debian 12) by a UDP socket
 * that kept the first datagram: dig @127.0.0.1 -p PORT ARGS.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trapline/err.h"
#include "trapline/ip.h"
#include "dns/wire.h"

/* dig +norec +noedns +nocookie 2.0.0.127.bl.example.org A */
static const uint8_t q_plain[] = {
	0xe2, 0x77, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x32, 0x01, 0x30, 0x01, 0x30, 0x03, 0x31, 0x32, 0x37, 0x02, 0x62,
	0x6c, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03, 0x6f, 0x72,
	0x67, 0x00, 0x00, 0x01, 0x00, 0x01,
};
/* dig +norec 2.0.0.127.bl.example.org A (EDNS, cookie option) */
static const uint8_t q_norec_default[] = {
	0x98, 0x3f, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x01, 0x32, 0x01, 0x30, 0x01, 0x30, 0x03, 0x31, 0x32, 0x37, 0x02, 0x62,
	0x6c, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03, 0x6f, 0x72,
	0x67, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x29, 0x04, 0xd0, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x0a, 0x00, 0x08, 0xe5, 0xb8, 0x67,
	0x6d, 0xbd, 0xc7, 0x28, 0x37,
};
/* dig +norec +nsid +cookie 2.0.0.127.bl.example.org TXT */
static const uint8_t q_nsid_cookie[] = {
	0x28, 0x07, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x01, 0x32, 0x01, 0x30, 0x01, 0x30, 0x03, 0x31, 0x32, 0x37, 0x02, 0x62,
	0x6c, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03, 0x6f, 0x72,
	0x67, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00, 0x00, 0x29, 0x04, 0xd0, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x03, 0x00, 0x00, 0x00, 0x0a, 0x00,
	0x08, 0xf9, 0x6f, 0xcc, 0x82, 0x01, 0x16, 0x26, 0x6a,
};
/* dig +bufsize=1232 +nocookie 1.0.0.127.bl.example.org A (RD set) */
static const uint8_t q_bufsize[] = {
	0x7b, 0x98, 0x01, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x01, 0x31, 0x01, 0x30, 0x01, 0x30, 0x03, 0x31, 0x32, 0x37, 0x02, 0x62,
	0x6c, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03, 0x6f, 0x72,
	0x67, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x29, 0x04, 0xd0, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00,
};
/* dig +norec +noedns 2.0.0.127.Bl.ExAmPlE.oRg A */
static const uint8_t q_mixcase[] = {
	0xa6, 0x27, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x32, 0x01, 0x30, 0x01, 0x30, 0x03, 0x31, 0x32, 0x37, 0x02, 0x42,
	0x6c, 0x07, 0x45, 0x78, 0x41, 0x6d, 0x50, 0x6c, 0x45, 0x03, 0x6f, 0x52,
	0x67, 0x00, 0x00, 0x01, 0x00, 0x01,
};
/* dig +norec <::ffff:127.0.0.2 reversed>.bl.example.org A */
static const uint8_t q_v6[] = {
	0x2d, 0xc2, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x01, 0x32, 0x01, 0x30, 0x01, 0x30, 0x01, 0x30, 0x01, 0x30, 0x01, 0x30,
	0x01, 0x66, 0x01, 0x37, 0x01, 0x66, 0x01, 0x66, 0x01, 0x66, 0x01, 0x66,
	0x01, 0x30, 0x01, 0x30, 0x01, 0x30, 0x01, 0x30, 0x01, 0x30, 0x01, 0x30,
	0x01, 0x30, 0x01, 0x30, 0x01, 0x30, 0x01, 0x30, 0x01, 0x30, 0x01, 0x30,
	0x01, 0x30, 0x01, 0x30, 0x01, 0x30, 0x01, 0x30, 0x01, 0x30, 0x01, 0x30,
	0x01, 0x30, 0x01, 0x30, 0x02, 0x62, 0x6c, 0x07, 0x65, 0x78, 0x61, 0x6d,
	0x70, 0x6c, 0x65, 0x03, 0x6f, 0x72, 0x67, 0x00, 0x00, 0x01, 0x00, 0x01,
	0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x00,
	0x0a, 0x00, 0x08, 0xef, 0x73, 0xec, 0xa6, 0x25, 0x18, 0xf3, 0x6c,
};
/* dig +norec +noedns 69.2.81.bl.example.org A */
static const uint8_t q_ent[] = {
	0x48, 0xbe, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x02, 0x36, 0x39, 0x01, 0x32, 0x02, 0x38, 0x31, 0x02, 0x62, 0x6c, 0x07,
	0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03, 0x6f, 0x72, 0x67, 0x00,
	0x00, 0x01, 0x00, 0x01,
};
/* dig +norec bl.example.org SOA */
static const uint8_t q_soa[] = {
	0x9a, 0x58, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x02, 0x62, 0x6c, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03,
	0x6f, 0x72, 0x67, 0x00, 0x00, 0x06, 0x00, 0x01, 0x00, 0x00, 0x29, 0x04,
	0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x0a, 0x00, 0x08, 0x6d,
	0xf6, 0x22, 0xe5, 0xf2, 0x3f, 0x68, 0x26,
};
/* dig +noedns version.bind CH TXT */
static const uint8_t q_vbind[] = {
	0xf0, 0x8c, 0x01, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x07, 0x76, 0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e, 0x04, 0x62, 0x69, 0x6e,
	0x64, 0x00, 0x00, 0x10, 0x00, 0x03,
};
/* dig +dnssec +norec 2.0.0.127.bl.example.org A */
static const uint8_t q_do[] = {
	0x31, 0x07, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x01, 0x32, 0x01, 0x30, 0x01, 0x30, 0x03, 0x31, 0x32, 0x37, 0x02, 0x62,
	0x6c, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03, 0x6f, 0x72,
	0x67, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x29, 0x04, 0xd0, 0x00,
	0x00, 0x80, 0x00, 0x00, 0x0c, 0x00, 0x0a, 0x00, 0x08, 0xb0, 0x50, 0x60,
	0xe5, 0xb6, 0x6d, 0x93, 0xa8,
};
/* dig +edns=1 +nocookie +norec 2.0.0.127.bl.example.org A */
static const uint8_t q_edns1[] = {
	0xee, 0x5e, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x01, 0x32, 0x01, 0x30, 0x01, 0x30, 0x03, 0x31, 0x32, 0x37, 0x02, 0x62,
	0x6c, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03, 0x6f, 0x72,
	0x67, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x29, 0x04, 0xd0, 0x00,
	0x01, 0x00, 0x00, 0x00, 0x00,
};

/* ---- an independent decoder for replies -------------------------------- */

#define D_RR_MAX 128

struct d_rr {
	char owner[512];
	uint16_t type, cls, rdlen;
	uint32_t ttl;
	size_t rdoff;      /* offset of the RDATA in the message */
	char n1[512];      /* NS: the name; SOA: mname */
	char n2[512];      /* SOA: rname */
	uint32_t soa[5];   /* SOA: serial .. minimum */
	int sec;           /* 0 answer, 1 authority, 2 additional */
};

struct d_msg {
	uint16_t id, flags, qd, an, ns, ar;
	char qname[512];
	uint16_t qtype, qclass;
	struct d_rr rr[D_RR_MAX];
	size_t nrr;
	bool opt;
	uint16_t opt_payload;
	uint32_t opt_ttl;
	unsigned pointers; /* compression pointers followed */
};

static uint16_t g16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Decode a name at *pos into dotted text ("." for the root); pointers
 * must land at or after the header and before the segment that holds
 * them; 255 bytes at most. Returns 0 or -1. */
static int d_name(const uint8_t *m, size_t len, size_t *pos, char *out,
		  unsigned *pointers)
{
	size_t i = *pos, seg = *pos, end = 0, wire = 0, o = 0;
	bool jumped = false;

	out[0] = 0;
	for (;;) {
		if (i >= len)
			return -1;
		if ((m[i] & 0xc0) == 0xc0) {
			size_t p;

			if (i + 1 >= len)
				return -1;
			p = (size_t)(m[i] & 0x3f) << 8 | m[i + 1];
			if (p < 12 || p >= seg)
				return -1;
			if (!jumped)
				end = i + 2;
			jumped = true;
			(*pointers)++;
			i = seg = p;
			continue;
		}
		if (m[i] & 0xc0)
			return -1;
		wire += 1u + m[i];
		if (wire > 255)
			return -1;
		if (m[i] == 0)
			break;
		if (i + 1 + m[i] > len)
			return -1;
		memcpy(out + o, m + i + 1, m[i]);
		o += m[i];
		out[o++] = '.';
		i += 1u + m[i];
	}
	if (o == 0)
		out[o++] = '.';
	else
		o--; /* no final dot */
	out[o] = 0;
	*pos = jumped ? end : i + 1;
	return 0;
}

/* Decode a whole reply; every byte must be accounted for. */
static int d_msg(const uint8_t *m, size_t len, struct d_msg *d)
{
	size_t pos = 12, k, total;

	memset(d, 0, sizeof(*d));
	if (len < 12)
		return -1;
	d->id = g16(m);
	d->flags = g16(m + 2);
	d->qd = g16(m + 4);
	d->an = g16(m + 6);
	d->ns = g16(m + 8);
	d->ar = g16(m + 10);
	if (d->qd > 1)
		return -1;
	if (d->qd == 1) {
		if (d_name(m, len, &pos, d->qname, &d->pointers) || len - pos < 4)
			return -1;
		d->qtype = g16(m + pos);
		d->qclass = g16(m + pos + 2);
		pos += 4;
	}
	total = (size_t)d->an + d->ns + d->ar;
	for (k = 0; k < total; k++) {
		struct d_rr *rr;
		size_t rp;

		if (d->nrr == D_RR_MAX)
			return -1;
		rr = &d->rr[d->nrr++];
		rr->sec = k < d->an ? 0 : k < (size_t)d->an + d->ns ? 1 : 2;
		if (d_name(m, len, &pos, rr->owner, &d->pointers) ||
		    len - pos < 10)
			return -1;
		rr->type = g16(m + pos);
		rr->cls = g16(m + pos + 2);
		rr->ttl = (uint32_t)g16(m + pos + 4) << 16 | g16(m + pos + 6);
		rr->rdlen = g16(m + pos + 8);
		pos += 10;
		if (len - pos < rr->rdlen)
			return -1;
		rr->rdoff = pos;
		rp = pos;
		switch (rr->type) {
		case 1:
			if (rr->rdlen != 4)
				return -1;
			break;
		case 2:
			if (d_name(m, pos + rr->rdlen, &rp, rr->n1,
				   &d->pointers) ||
			    rp != pos + rr->rdlen)
				return -1;
			break;
		case 6:
			if (d_name(m, pos + rr->rdlen, &rp, rr->n1,
				   &d->pointers) ||
			    d_name(m, pos + rr->rdlen, &rp, rr->n2,
				   &d->pointers) ||
			    pos + rr->rdlen - rp != 20)
				return -1;
			for (int j = 0; j < 5; j++)
				rr->soa[j] = (uint32_t)g16(m + rp + 4 * j) << 16 |
					     g16(m + rp + 4 * j + 2);
			break;
		case 16: {
			/* character-strings fill the RDATA exactly */
			size_t t = 0;

			if (rr->rdlen == 0)
				return -1;
			while (t < rr->rdlen)
				t += 1u + m[pos + t];
			if (t != rr->rdlen)
				return -1;
			break;
		}
		case 41:
			if (rr->sec != 2 || d->opt || strcmp(rr->owner, ".") != 0)
				return -1;
			d->opt = true;
			d->opt_payload = rr->cls;
			d->opt_ttl = rr->ttl;
			break;
		}
		pos += rr->rdlen;
	}
	return pos == len ? 0 : -1;
}

/* The text of a TXT record, its strings joined. */
static size_t d_txt(const uint8_t *m, const struct d_rr *rr, char *out,
		    unsigned *nstrings)
{
	size_t t = 0, o = 0;

	*nstrings = 0;
	while (t < rr->rdlen) {
		uint8_t l = m[rr->rdoff + t];

		memcpy(out + o, m + rr->rdoff + t + 1, l);
		o += l;
		t += 1u + l;
		(*nstrings)++;
	}
	out[o] = 0;
	return o;
}

/* ---- building queries by hand ----------------------------------------- */

/* Header with ID 0x1234, flags, counts; returns 12. */
static size_t mk_hdr(uint8_t *b, uint16_t flags, uint16_t qd, uint16_t an,
		     uint16_t ns, uint16_t ar)
{
	uint16_t v[6] = {0x1234, flags, qd, an, ns, ar};

	for (int i = 0; i < 6; i++) {
		b[2 * i] = (uint8_t)(v[i] >> 8);
		b[2 * i + 1] = (uint8_t)v[i];
	}
	return 12;
}

/* A text name in wire form at @b (no checks: tests make bad names too;
 * labels split on '.', "" is the root). */
static size_t mk_name(uint8_t *b, const char *text)
{
	size_t n = 0;
	const char *s = text;

	while (*s) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);

		b[n++] = (uint8_t)l;
		memcpy(b + n, s, l);
		n += l;
		s += l + (dot ? 1 : 0);
	}
	b[n++] = 0;
	return n;
}

static size_t mk_u16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
	return 2;
}

/* A query for @name/@qtype/IN with @ar additional records to follow. */
static size_t mk_query(uint8_t *b, const char *name, uint16_t qtype,
		       uint16_t ar)
{
	size_t n = mk_hdr(b, 0x0000, 1, 0, 0, ar);

	n += mk_name(b + n, name);
	n += mk_u16(b + n, qtype);
	n += mk_u16(b + n, 1);
	return n;
}

/* An OPT record: root owner, @payload, version @ver, DO, @rdlen bytes of
 * options from @opts. */
static size_t mk_opt(uint8_t *b, uint16_t payload, uint8_t ver, bool dnssec,
		     const uint8_t *opts, uint16_t rdlen)
{
	size_t n = 0;

	b[n++] = 0;
	n += mk_u16(b + n, 41);
	n += mk_u16(b + n, payload);
	b[n++] = 0;   /* extended RCODE */
	b[n++] = ver;
	n += mk_u16(b + n, dnssec ? 0x8000 : 0);
	n += mk_u16(b + n, rdlen);
	if (rdlen)
		memcpy(b + n, opts, rdlen);
	return n + rdlen;
}

static enum dns_verdict parse(const uint8_t *b, size_t len, struct dns_query *q)
{
	/* an exact-size heap copy, so ASan sees any read past the end */
	uint8_t *c = malloc(len ? len : 1);
	enum dns_verdict v;

	assert_non_null(c);
	memcpy(c, b, len);
	v = dns_query_parse(c, len, q);
	free(c);
	return v;
}

static const uint8_t bl_apex[] = "\002bl\007example\003org";
#define BL_APEX_LEN sizeof(bl_apex) /* with the final root byte (the NUL) */

/* ---- queries from dig ------------------------------------------------- */

static void test_dig_plain(void **state)
{
	struct dns_query q;

	(void)state;
	assert_int_equal(parse(q_plain, sizeof(q_plain), &q), DNS_Q_OK);
	assert_int_equal(q.id, 0xe277);
	assert_int_equal(q.opcode, DNS_OPCODE_QUERY);
	assert_false(q.rd);
	assert_false(q.cd);
	assert_int_equal(q.rcode, 0);
	assert_true(q.has_question);
	assert_int_equal(q.qtype, DNS_TYPE_A);
	assert_int_equal(q.qclass, DNS_CLASS_IN);
	assert_int_equal(q.qname_len, 26);
	assert_memory_equal(q.qname, q_plain + 12, 26);
	assert_memory_equal(q.qname_lc, q_plain + 12, 26);
	assert_int_equal(q.nlabels, 7);
	assert_int_equal(q.label_off[0], 0);
	assert_int_equal(q.label_off[3], 6);
	assert_int_equal(q.label_off[4], 10);
	assert_int_equal(q.label_off[6], 21);
	assert_false(q.edns);
	assert_int_equal(dns_reply_max(&q, false, 4096), 512);
	assert_int_equal(dns_reply_max(&q, true, 4096), 65535);
}

static void test_dig_edns(void **state)
{
	struct dns_query q;

	(void)state;
	/* EDNS with a COOKIE option */
	assert_int_equal(parse(q_norec_default, sizeof(q_norec_default), &q),
			 DNS_Q_OK);
	assert_true(q.edns);
	assert_int_equal(q.edns_payload, 1232);
	assert_int_equal(q.edns_version, 0);
	assert_false(q.edns_do);
	assert_int_equal(dns_reply_max(&q, false, 4096), 1232);
	assert_int_equal(dns_reply_max(&q, false, 1000), 1000);
	assert_int_equal(dns_reply_max(&q, false, 100), 512);

	/* NSID (empty) and COOKIE, TXT */
	assert_int_equal(parse(q_nsid_cookie, sizeof(q_nsid_cookie), &q),
			 DNS_Q_OK);
	assert_true(q.edns);
	assert_int_equal(q.qtype, DNS_TYPE_TXT);

	/* +bufsize=1232, recursion desired */
	assert_int_equal(parse(q_bufsize, sizeof(q_bufsize), &q), DNS_Q_OK);
	assert_true(q.rd);
	assert_int_equal(q.edns_payload, 1232);

	/* +dnssec: DO */
	assert_int_equal(parse(q_do, sizeof(q_do), &q), DNS_Q_OK);
	assert_true(q.edns_do);
}

static void test_dig_mixed_case(void **state)
{
	struct dns_query q;
	struct dns_zone_pos pos;
	struct tl_ip ip;

	(void)state;
	assert_int_equal(parse(q_mixcase, sizeof(q_mixcase), &q), DNS_Q_OK);
	assert_memory_equal(q.qname, q_mixcase + 12, q.qname_len);
	assert_memory_equal(q.qname + 10, "\002Bl\007ExAmPlE\003oRg", 16);
	assert_memory_equal(q.qname_lc + 10, bl_apex, BL_APEX_LEN);
	assert_true(dns_name_in_zone(&q, bl_apex, BL_APEX_LEN, &pos));
	assert_int_equal(pos.nleft, 4);
	assert_int_equal(pos.apex_off, 10);
	assert_int_equal(dns_rev_parse(&q, pos.nleft, DNS_REV_V4 | DNS_REV_V6,
				       &ip),
			 DNS_REV_ADDR);
	assert_int_equal(ip.family, 4);
	assert_int_equal(tl_ip_v4(&ip), 0x7f000002);
}

static void test_dig_v6_test_point(void **state)
{
	struct dns_query q;
	struct dns_zone_pos pos;
	struct tl_ip ip;

	(void)state;
	/* RFC 5782 5: ::FFFF:7F00:2 is the IPv6 test point, 127.0.0.2 */
	assert_int_equal(parse(q_v6, sizeof(q_v6), &q), DNS_Q_OK);
	assert_int_equal(q.nlabels, 35);
	assert_true(dns_name_in_zone(&q, bl_apex, BL_APEX_LEN, &pos));
	assert_int_equal(pos.nleft, 32);
	assert_int_equal(dns_rev_parse(&q, 32, DNS_REV_V4 | DNS_REV_V6, &ip),
			 DNS_REV_ADDR);
	assert_int_equal(ip.family, 4);
	assert_int_equal(tl_ip_v4(&ip), 0x7f000002);
	/* v4 only: 32 labels are nothing */
	assert_int_equal(dns_rev_parse(&q, 32, DNS_REV_V4, &ip), DNS_REV_BAD);
}

static void test_dig_ent_and_apex(void **state)
{
	struct dns_query q;
	struct dns_zone_pos pos;
	struct tl_ip ip;

	(void)state;
	assert_int_equal(parse(q_ent, sizeof(q_ent), &q), DNS_Q_OK);
	assert_true(dns_name_in_zone(&q, bl_apex, BL_APEX_LEN, &pos));
	assert_int_equal(pos.nleft, 3);
	assert_int_equal(dns_rev_parse(&q, 3, DNS_REV_V4 | DNS_REV_V6, &ip),
			 DNS_REV_PARTIAL);
	assert_int_equal(ip.family, 0);

	assert_int_equal(parse(q_soa, sizeof(q_soa), &q), DNS_Q_OK);
	assert_int_equal(q.qtype, DNS_TYPE_SOA);
	assert_true(dns_name_in_zone(&q, bl_apex, BL_APEX_LEN, &pos));
	assert_int_equal(pos.nleft, 0);
	assert_int_equal(pos.apex_off, 0);
	assert_int_equal(dns_rev_parse(&q, 0, DNS_REV_V4, &ip), DNS_REV_APEX);
}

static void test_dig_chaos(void **state)
{
	static const uint8_t vb[] = "\007version\004bind";
	struct dns_query q;
	struct dns_resp r;
	struct d_msg d;
	uint8_t buf[512];
	size_t n;

	(void)state;
	assert_int_equal(parse(q_vbind, sizeof(q_vbind), &q), DNS_Q_OK);
	assert_int_equal(q.qclass, DNS_CLASS_CH);
	assert_int_equal(q.qtype, DNS_TYPE_TXT);
	assert_true(q.rd);
	assert_true(dns_name_in_zone(&q, vb, sizeof(vb), NULL));
	assert_false(dns_name_in_zone(&q, bl_apex, BL_APEX_LEN, NULL));

	assert_int_equal(dns_resp_init(&r, buf, sizeof(buf), &q, DNS_RESP_AA,
				       4096),
			 0);
	assert_int_equal(dns_resp_add_txt(&r, NULL, 0, "trapline", 8), 0);
	n = dns_resp_finish(&r);
	assert_int_equal(n, sizeof(q_vbind) + 2 + 10 + 9);
	assert_int_equal(d_msg(buf, n, &d), 0);
	assert_int_equal(d.flags, 0x8500); /* QR AA RD */
	assert_int_equal(d.rr[0].cls, DNS_CLASS_CH);
	assert_string_equal(d.rr[0].owner, "version.bind");
}

static void test_dig_badvers(void **state)
{
	static const uint8_t opt_reply[] = {
		0x00, 0x00, 0x29, 0x04, 0xd0, 0x01, 0x00, 0x00, 0x00, 0x00,
		0x00,
	};
	struct dns_query q;
	uint8_t buf[512];
	size_t n;

	(void)state;
	assert_int_equal(parse(q_edns1, sizeof(q_edns1), &q), DNS_Q_BADVERS);
	assert_int_equal(q.rcode, DNS_RCODE_BADVERS);
	assert_true(q.edns);
	assert_int_equal(q.edns_version, 1);
	assert_true(q.has_question);

	/* RFC 6891 6.1.3: header RCODE 0, OPT extended RCODE 1, version 0 */
	n = dns_resp_error(buf, sizeof(buf), &q, 1232);
	assert_int_equal(n, 12 + 26 + 4 + 11);
	assert_int_equal(buf[0], 0xee);
	assert_int_equal(buf[1], 0x5e);
	assert_int_equal(buf[2], 0x80);
	assert_int_equal(buf[3], 0x00);
	assert_memory_equal(buf + 4, "\0\1\0\0\0\0\0\1", 8);
	assert_memory_equal(buf + 12, q_edns1 + 12, 30);
	assert_memory_equal(buf + 42, opt_reply, 11);
}

/* ---- malformed queries ------------------------------------------------ */

static void test_drop(void **state)
{
	struct dns_query q;
	uint8_t b[64];
	size_t i;

	(void)state;
	for (i = 0; i < 12; i++)
		assert_int_equal(parse(q_plain, i, &q), DNS_Q_DROP);
	/* a response: never answered */
	memcpy(b, q_plain, sizeof(q_plain));
	b[2] |= 0x80;
	assert_int_equal(parse(b, sizeof(q_plain), &q), DNS_Q_DROP);
	assert_int_equal(parse(b, 12, &q), DNS_Q_DROP);
}

static void test_every_prefix_refused(void **state)
{
	struct dns_query q;
	size_t i;

	(void)state;
	/* cut anywhere past the header, a query is FORMERR */
	for (i = 12; i < sizeof(q_nsid_cookie); i++)
		assert_int_equal(parse(q_nsid_cookie, i, &q), DNS_Q_FORMERR);
	for (i = 12; i < sizeof(q_v6); i++)
		assert_int_equal(parse(q_v6, i, &q), DNS_Q_FORMERR);
}

static void test_qdcount(void **state)
{
	struct dns_query q;
	uint8_t b[128], out[512];
	size_t n;

	(void)state;
	/* QDCOUNT 0: FORMERR, nothing to echo */
	n = mk_hdr(b, 0x0100, 0, 0, 0, 0);
	assert_int_equal(parse(b, n, &q), DNS_Q_FORMERR);
	assert_int_equal(q.rcode, DNS_RCODE_FORMERR);
	assert_false(q.has_question);
	assert_int_equal(dns_resp_error(out, sizeof(out), &q, 1232), 12);
	assert_memory_equal(out, "\x12\x34\x81\x01\0\0\0\0\0\0\0\0", 12);

	/* QDCOUNT 2: FORMERR, the first question echoed */
	n = mk_hdr(b, 0, 2, 0, 0, 0);
	n += mk_name(b + n, "a.example");
	n += mk_u16(b + n, 1);
	n += mk_u16(b + n, 1);
	n += mk_name(b + n, "b.example");
	n += mk_u16(b + n, 1);
	n += mk_u16(b + n, 1);
	assert_int_equal(parse(b, n, &q), DNS_Q_FORMERR);
	assert_true(q.has_question);
	assert_int_equal(dns_resp_error(out, sizeof(out), &q, 1232),
			 12 + 11 + 4);
	assert_memory_equal(out, "\x12\x34\x80\x01\0\1\0\0\0\0\0\0", 12);
	assert_memory_equal(out + 12, b + 12, 15);
}

static void test_bad_names(void **state)
{
	struct dns_query q;
	uint8_t b[600];
	size_t n, i;
	char name[400];

	(void)state;
	/* label of 63: fine; 64: FORMERR */
	memset(name, 'a', 63);
	strcpy(name + 63, ".example");
	n = mk_query(b, name, 1, 0);
	assert_int_equal(parse(b, n, &q), DNS_Q_OK);
	assert_int_equal(q.label_off[1], 64);
	memset(name, 'a', 64);
	strcpy(name + 64, ".example");
	n = mk_query(b, name, 1, 0);
	assert_int_equal(parse(b, n, &q), DNS_Q_FORMERR);
	assert_false(q.has_question);

	/* 255 wire bytes: 3 x 63-byte labels + one of 61 + root */
	memset(name, 'b', sizeof(name));
	name[63] = name[127] = name[191] = '.';
	name[253] = 0;
	n = mk_query(b, name, 1, 0);
	assert_int_equal(parse(b, n, &q), DNS_Q_OK);
	assert_int_equal(q.qname_len, 255);
	assert_int_equal(q.nlabels, 4);
	/* 256 */
	name[253] = 'b';
	name[254] = 0;
	n = mk_query(b, name, 1, 0);
	assert_int_equal(parse(b, n, &q), DNS_Q_FORMERR);

	/* 127 one-byte labels (255 bytes), and 128 (257) */
	for (i = 0; i < 127; i++) {
		name[2 * i] = 'x';
		name[2 * i + 1] = '.';
	}
	name[253] = 0;
	n = mk_query(b, name, 1, 0);
	assert_int_equal(parse(b, n, &q), DNS_Q_OK);
	assert_int_equal(q.nlabels, 127);
	assert_int_equal(q.label_off[126], 252);
	name[253] = '.';
	name[254] = 'x';
	name[255] = 0;
	n = mk_query(b, name, 1, 0);
	assert_int_equal(parse(b, n, &q), DNS_Q_FORMERR);

	/* a compression pointer in the question, even a valid-looking one */
	n = mk_hdr(b, 0, 1, 0, 0, 0);
	b[n++] = 1;
	b[n++] = 'a';
	b[n++] = 0xc0;
	b[n++] = 12;
	n += mk_u16(b + n, 1);
	n += mk_u16(b + n, 1);
	assert_int_equal(parse(b, n, &q), DNS_Q_FORMERR);
	/* extended label types 0x40, 0x80 */
	b[14] = 0x41;
	assert_int_equal(parse(b, n, &q), DNS_Q_FORMERR);
	b[14] = 0x81;
	assert_int_equal(parse(b, n, &q), DNS_Q_FORMERR);

	/* name without its QTYPE/QCLASS */
	n = mk_query(b, "a.example", 1, 0);
	assert_int_equal(parse(b, n - 1, &q), DNS_Q_FORMERR);
	assert_false(q.has_question);
	/* root name: fine */
	n = mk_query(b, "", DNS_TYPE_NS, 0);
	assert_int_equal(parse(b, n, &q), DNS_Q_OK);
	assert_int_equal(q.qname_len, 1);
	assert_int_equal(q.nlabels, 0);
}

static void test_trailing(void **state)
{
	struct dns_query q;
	uint8_t b[128];
	size_t n;

	(void)state;
	memcpy(b, q_plain, sizeof(q_plain));
	b[sizeof(q_plain)] = 0;
	assert_int_equal(parse(b, sizeof(q_plain) + 1, &q), DNS_Q_FORMERR);
	assert_true(q.has_question); /* echoed in the FORMERR */
	/* after the OPT */
	memcpy(b, q_norec_default, sizeof(q_norec_default));
	b[sizeof(q_norec_default)] = 0xff;
	assert_int_equal(parse(b, sizeof(q_norec_default) + 1, &q),
			 DNS_Q_FORMERR);
	/* ARCOUNT says 1, nothing there */
	n = mk_query(b, "a.example", 1, 1);
	assert_int_equal(parse(b, n, &q), DNS_Q_FORMERR);
}

static void test_opt(void **state)
{
	static const uint8_t opts_ok[] = {0, 3, 0, 0, 0, 10, 0, 2, 0xab, 0xcd};
	static const uint8_t opts_long[] = {0, 10, 0, 9, 1, 2, 3, 4};
	static const uint8_t opts_odd[] = {0, 3, 0, 0, 0};
	struct dns_query q;
	uint8_t b[256], out[512];
	size_t n, m;

	(void)state;
	n = mk_query(b, "2.0.0.127.bl.example.org", 1, 1);
	m = n + mk_opt(b + n, 4096, 0, true, opts_ok, sizeof(opts_ok));
	assert_int_equal(parse(b, m, &q), DNS_Q_OK);
	assert_true(q.edns);
	assert_true(q.edns_do);
	assert_int_equal(q.edns_payload, 4096);
	assert_int_equal(dns_reply_max(&q, false, 1232), 1232);

	/* a payload below 512 counts as 512 (RFC 6891 6.2.5) */
	m = n + mk_opt(b + n, 100, 0, false, NULL, 0);
	assert_int_equal(parse(b, m, &q), DNS_Q_OK);
	assert_int_equal(q.edns_payload, 512);

	/* an option running past RDLENGTH; 1..3 stray bytes */
	m = n + mk_opt(b + n, 1232, 0, false, opts_long, sizeof(opts_long));
	assert_int_equal(parse(b, m, &q), DNS_Q_FORMERR);
	assert_false(q.edns);
	m = n + mk_opt(b + n, 1232, 0, false, opts_odd, sizeof(opts_odd));
	assert_int_equal(parse(b, m, &q), DNS_Q_FORMERR);
	/* RDLENGTH past the packet */
	m = n + mk_opt(b + n, 1232, 0, false, opts_ok, sizeof(opts_ok));
	assert_int_equal(parse(b, m - 1, &q), DNS_Q_FORMERR);

	/* two OPT: FORMERR, and the reply has no OPT (RFC 6891 6.1.1) */
	b[11] = 2;
	m = n + mk_opt(b + n, 1232, 0, false, NULL, 0);
	m += mk_opt(b + m, 1232, 0, false, NULL, 0);
	assert_int_equal(parse(b, m, &q), DNS_Q_FORMERR);
	assert_false(q.edns);
	assert_int_equal(dns_resp_error(out, sizeof(out), &q, 1232),
			 12 + 26 + 4);
	assert_int_equal(out[11], 0);

	/* OPT owned by a name other than the root */
	b[11] = 1;
	m = n + mk_name(b + n, "x");
	m += mk_opt(b + m, 1232, 0, false, NULL, 0) - 1;
	memmove(b + n + 3, b + n + 4, 10); /* mk_opt's own root byte out */
	assert_int_equal(parse(b, m, &q), DNS_Q_FORMERR);
	assert_false(q.edns);

	/* ... or by a pointer to the root byte of the question */
	b[n] = 0xc0;
	b[n + 1] = (uint8_t)(n - 5);
	memmove(b + n + 2, b + n + 3, 10);
	m = n + 12;
	assert_int_equal(b[n - 5], 0);
	assert_int_equal(parse(b, m, &q), DNS_Q_FORMERR);
	/* the same OPT at the root is fine */
	m = n + mk_opt(b + n, 1232, 0, false, NULL, 0);
	assert_int_equal(parse(b, m, &q), DNS_Q_OK);

	/* an ordinary extra record in additional is skipped (e.g. TSIG is
	 * not supported but a stray A does not break the parse) */
	n = mk_query(b, "a.example", 1, 1);
	b[n++] = 0xc0;
	b[n++] = 12;
	n += mk_u16(b + n, 1);
	n += mk_u16(b + n, 1);
	n += mk_u16(b + n, 0);
	n += mk_u16(b + n, 60);
	n += mk_u16(b + n, 4);
	memcpy(b + n, "\x7f\0\0\1", 4);
	n += 4;
	assert_int_equal(parse(b, n, &q), DNS_Q_OK);
	assert_false(q.edns);
	/* with a forward pointer it is not */
	b[n - 16 + 1] = (uint8_t)(n - 1);
	assert_int_equal(parse(b, n, &q), DNS_Q_FORMERR);
	/* nor with a pointer to itself, nor into the header */
	b[n - 16 + 1] = (uint8_t)(n - 16);
	assert_int_equal(parse(b, n, &q), DNS_Q_FORMERR);
	b[n - 16 + 1] = 4;
	assert_int_equal(parse(b, n, &q), DNS_Q_FORMERR);
}

static void test_opcodes(void **state)
{
	struct dns_query q;
	uint8_t b[256], out[512];
	size_t n, m, rr;

	(void)state;
	/* STATUS (2) and UPDATE (5): NOTIMP, question echoed */
	n = mk_query(b, "bl.example.org", DNS_TYPE_SOA, 0);
	b[2] = 2 << 3;
	assert_int_equal(parse(b, n, &q), DNS_Q_NOTIMP);
	assert_int_equal(q.rcode, DNS_RCODE_NOTIMP);
	assert_int_equal(q.opcode, 2);
	assert_true(q.has_question);
	m = dns_resp_error(out, sizeof(out), &q, 1232);
	assert_int_equal(m, n);
	assert_int_equal(out[2], 0x80 | 2 << 3);
	assert_int_equal(out[3], 4);
	assert_memory_equal(out + 12, b + 12, n - 12);
	b[2] = 5 << 3;
	assert_int_equal(parse(b, n, &q), DNS_Q_NOTIMP);

	/* QUERY with an answer or authority record: FORMERR */
	b[2] = 0;
	b[7] = 1;
	assert_int_equal(parse(b, n, &q), DNS_Q_FORMERR);
	b[7] = 0;
	b[9] = 1;
	assert_int_equal(parse(b, n, &q), DNS_Q_FORMERR);

	/* NOTIFY with the SOA in its answer section (RFC 1996 3.7) */
	n = mk_hdr(b, 4 << 11 | 0x0400, 1, 1, 0, 0);
	n += mk_name(b + n, "bl.example.org");
	n += mk_u16(b + n, DNS_TYPE_SOA);
	n += mk_u16(b + n, 1);
	rr = n;
	b[n++] = 0xc0;
	b[n++] = 12;
	n += mk_u16(b + n, DNS_TYPE_SOA);
	n += mk_u16(b + n, 1);
	n += mk_u16(b + n, 0);
	n += mk_u16(b + n, 3600);
	n += mk_u16(b + n, 23);
	b[n++] = 0;    /* mname: the root */
	b[n++] = 0xc0; /* rname: the zone */
	b[n++] = 12;
	memset(b + n, 0, 20);
	b[n + 3] = 7; /* serial */
	n += 20;
	assert_int_equal(parse(b, n, &q), DNS_Q_OK);
	assert_int_equal(q.opcode, DNS_OPCODE_NOTIFY);
	assert_int_equal(q.qtype, DNS_TYPE_SOA);
	assert_false(q.edns);
	/* its RDLENGTH one past the end, one short */
	b[rr + 11] = 24;
	assert_int_equal(parse(b, n, &q), DNS_Q_FORMERR);
	b[rr + 11] = 22;
	assert_int_equal(parse(b, n, &q), DNS_Q_FORMERR);
	/* an OPT in the answer section */
	b[rr + 11] = 23;
	b[rr + 3] = 41;
	assert_int_equal(parse(b, n, &q), DNS_Q_FORMERR);
}

/* ---- names ------------------------------------------------------------ */

static int from_text(const char *s, uint8_t *out, size_t *len)
{
	return dns_name_from_text(s, strlen(s), out, len);
}

static void test_name_from_text(void **state)
{
	uint8_t w[DNS_NAME_MAX];
	size_t n;
	char s[300];

	(void)state;
	assert_int_equal(from_text("BL.Example.ORG", w, &n), 0);
	assert_int_equal(n, BL_APEX_LEN);
	assert_memory_equal(w, bl_apex, n);
	assert_int_equal(from_text("bl.example.org.", w, &n), 0);
	assert_memory_equal(w, bl_apex, n);
	assert_int_equal(from_text(".", w, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(w[0], 0);
	assert_int_equal(from_text("", w, &n), 0);
	assert_int_equal(n, 1);

	assert_int_equal(from_text("a..b", w, &n), TL_ESYNTAX);
	assert_int_equal(from_text(".a", w, &n), TL_ESYNTAX);
	assert_int_equal(from_text("a..", w, &n), TL_ESYNTAX);
	assert_int_equal(from_text("a b", w, &n), TL_ESYNTAX);
	assert_int_equal(from_text("a\\.b", w, &n), TL_ESYNTAX);
	assert_int_equal(from_text("a\x80", w, &n), TL_ESYNTAX);

	memset(s, 'a', 63);
	strcpy(s + 63, ".org");
	assert_int_equal(from_text(s, w, &n), 0);
	assert_int_equal(n, 1 + 63 + 4 + 1);
	memset(s, 'a', 64);
	strcpy(s + 64, ".org");
	assert_int_equal(from_text(s, w, &n), TL_ETOOLONG);

	/* 253 characters: 255 wire bytes; 254: too long */
	memset(s, 'c', sizeof(s));
	s[63] = s[127] = s[191] = '.';
	s[253] = 0;
	assert_int_equal(from_text(s, w, &n), 0);
	assert_int_equal(n, 255);
	s[253] = 'c';
	s[254] = 0;
	assert_int_equal(from_text(s, w, &n), TL_ETOOLONG);
	s[253] = '.';
	assert_int_equal(from_text(s, w, &n), 0); /* the final dot is free */
}

static void test_in_zone(void **state)
{
	struct dns_query q;
	struct dns_zone_pos pos;
	uint8_t b[256], apex[DNS_NAME_MAX];
	size_t n, alen;

	(void)state;
	n = mk_query(b, "2.0.0.127.xbl.example.org", 1, 0);
	assert_int_equal(parse(b, n, &q), DNS_Q_OK);
	assert_false(dns_name_in_zone(&q, bl_apex, BL_APEX_LEN, &pos));
	assert_int_equal(from_text("example.org", apex, &alen), 0);
	assert_true(dns_name_in_zone(&q, apex, alen, &pos));
	assert_int_equal(pos.nleft, 5);
	assert_int_equal(pos.apex_off, 14);
	assert_int_equal(from_text(".", apex, &alen), 0);
	assert_true(dns_name_in_zone(&q, apex, alen, &pos));
	assert_int_equal(pos.nleft, 7);
	assert_int_equal(pos.apex_off, q.qname_len - 1);
	/* an apex longer than the name */
	n = mk_query(b, "org", 1, 0);
	assert_int_equal(parse(b, n, &q), DNS_Q_OK);
	assert_false(dns_name_in_zone(&q, bl_apex, BL_APEX_LEN, &pos));
	/* same label count, other labels */
	n = mk_query(b, "bl.example.net", 1, 0);
	assert_int_equal(parse(b, n, &q), DNS_Q_OK);
	assert_false(dns_name_in_zone(&q, bl_apex, BL_APEX_LEN, &pos));
	/* no question */
	n = mk_hdr(b, 0, 0, 0, 0, 0);
	assert_int_equal(parse(b, n, &q), DNS_Q_FORMERR);
	assert_false(dns_name_in_zone(&q, bl_apex, BL_APEX_LEN, &pos));
}

/* Parse "@prefix.bl.example.org" and read its reversed address. */
static enum dns_rev rev(const char *prefix, unsigned fam, struct tl_ip *ip)
{
	struct dns_query q;
	struct dns_zone_pos pos;
	uint8_t b[512];
	char name[300];
	size_t n;

	snprintf(name, sizeof(name), "%s%sbl.example.org", prefix,
		 *prefix ? "." : "");
	n = mk_query(b, name, 1, 0);
	assert_int_equal(parse(b, n, &q), DNS_Q_OK);
	assert_true(dns_name_in_zone(&q, bl_apex, BL_APEX_LEN, &pos));
	return dns_rev_parse(&q, pos.nleft, fam, ip);
}

#define BOTH (DNS_REV_V4 | DNS_REV_V6)

static void assert_rev4(const char *prefix, uint32_t want)
{
	struct tl_ip ip;

	assert_int_equal(rev(prefix, BOTH, &ip), DNS_REV_ADDR);
	assert_int_equal(ip.family, 4);
	assert_int_equal(tl_ip_v4(&ip), want);
	assert_int_equal(rev(prefix, DNS_REV_V4, &ip), DNS_REV_ADDR);
}

static void test_rev_v4(void **state)
{
	static const struct {
		const char *name;
		enum dns_rev both, v4only;
	} cases[] = {
		{"256.0.0.1", DNS_REV_BAD, DNS_REV_BAD},
		{"1.0.0.256", DNS_REV_BAD, DNS_REV_BAD},
		{"999.0.0.1", DNS_REV_BAD, DNS_REV_BAD},
		{"1000.0.0.1", DNS_REV_BAD, DNS_REV_BAD},
		{"01.0.0.127", DNS_REV_BAD, DNS_REV_BAD},
		{"2.0.00.127", DNS_REV_BAD, DNS_REV_BAD},
		{"2.0.0.0127", DNS_REV_BAD, DNS_REV_BAD},
		{"2.0.0.-1", DNS_REV_BAD, DNS_REV_BAD},
		{"2.0.0.1x", DNS_REV_BAD, DNS_REV_BAD},
		{"2.0.0.x", DNS_REV_BAD, DNS_REV_BAD},
		{"2.0.0.+1", DNS_REV_BAD, DNS_REV_BAD},
		{"a.0.0.127", DNS_REV_BAD, DNS_REV_BAD},
		{"1.2.3.4.5", DNS_REV_PARTIAL, DNS_REV_BAD}, /* v6 nibbles */
		{"10.2.3.4.5", DNS_REV_BAD, DNS_REV_BAD},
		{"127", DNS_REV_PARTIAL, DNS_REV_PARTIAL},
		{"0.127", DNS_REV_PARTIAL, DNS_REV_PARTIAL},
		{"69.2.81", DNS_REV_PARTIAL, DNS_REV_PARTIAL},
		{"256.2.81", DNS_REV_BAD, DNS_REV_BAD},
		{"069.2.81", DNS_REV_BAD, DNS_REV_BAD},
		{"a.b.c.d", DNS_REV_PARTIAL, DNS_REV_BAD}, /* v6 nibbles */
		{"www", DNS_REV_BAD, DNS_REV_BAD},
	};
	struct tl_ip ip;
	size_t i;

	(void)state;
	assert_rev4("2.0.0.127", 0x7f000002);
	assert_rev4("1.0.0.127", 0x7f000001);
	assert_rev4("0.0.0.0", 0);
	assert_rev4("255.255.255.255", 0xffffffff);
	assert_rev4("1.2.0.192", 0xc0000201);
	assert_rev4("99.100.10.9", 0x090a6463);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum dns_rev got = rev(cases[i].name, BOTH, &ip);

		if (got != cases[i].both)
			fail_msg("%s: %d, want %d", cases[i].name, got,
				 cases[i].both);
		assert_int_equal(ip.family, 0);
		got = rev(cases[i].name, DNS_REV_V4, &ip);
		if (got != cases[i].v4only)
			fail_msg("%s (v4 only): %d, want %d", cases[i].name,
				 got, cases[i].v4only);
	}
	assert_int_equal(rev("", BOTH, &ip), DNS_REV_APEX);
}

/* The 32 reversed nibbles of @text (an IPv6 address), dotted. */
static void nibbles(const char *text, char *out, bool upper)
{
	struct tl_ip ip;
	static const char lo[] = "0123456789abcdef", up[] = "0123456789ABCDEF";
	const char *hex = upper ? up : lo;
	int i;

	assert_int_equal(tl_ip_parse(text, strlen(text), &ip), 0);
	if (ip.family == 4) { /* back to ::ffff:a.b.c.d */
		memmove(ip.a + 12, ip.a, 4);
		memset(ip.a, 0, 10);
		ip.a[10] = ip.a[11] = 0xff;
	}
	for (i = 0; i < 32; i++) {
		uint8_t byte = ip.a[15 - i / 2];

		out[2 * i] = hex[i % 2 ? byte >> 4 : byte & 15];
		out[2 * i + 1] = '.';
	}
	out[63] = 0;
}

static void test_rev_v6(void **state)
{
	struct tl_ip ip, want;
	char n[128];

	(void)state;
	nibbles("2001:db8::1:abcd", n, false);
	assert_int_equal(rev(n, BOTH, &ip), DNS_REV_ADDR);
	assert_int_equal(tl_ip_parse("2001:db8::1:abcd", 16, &want), 0);
	assert_int_equal(ip.family, 6);
	assert_memory_equal(ip.a, want.a, 16);
	assert_int_equal(rev(n, DNS_REV_V6, &ip), DNS_REV_ADDR);
	assert_int_equal(rev(n, DNS_REV_V4, &ip), DNS_REV_BAD);
	/* upper-case hex, as some clients send it */
	nibbles("2001:DB8::FFFF:1", n, true);
	assert_non_null(strchr(n, 'F'));
	assert_int_equal(rev(n, BOTH, &ip), DNS_REV_ADDR);
	assert_int_equal(tl_ip_parse("2001:db8::ffff:1", 16, &want), 0);
	assert_memory_equal(ip.a, want.a, 16);
	/* the other RFC 5782 test point, ::FFFF:7F00:1 */
	nibbles("::ffff:127.0.0.1", n, true);
	assert_int_equal(rev(n, BOTH, &ip), DNS_REV_ADDR);
	assert_int_equal(ip.family, 4);
	assert_int_equal(tl_ip_v4(&ip), 0x7f000001);
	/* all ones */
	nibbles("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", n, false);
	assert_int_equal(rev(n, BOTH, &ip), DNS_REV_ADDR);
	assert_int_equal(ip.family, 6);
	assert_int_equal(ip.a[0], 0xff);

	/* 31 labels: an empty non-terminal; 33: nothing */
	nibbles("2001:db8::1", n, false);
	assert_int_equal(rev(n + 2, BOTH, &ip), DNS_REV_PARTIAL);
	assert_int_equal(ip.family, 0);
	assert_int_equal(rev(n + 2, DNS_REV_V4, &ip), DNS_REV_BAD);
	{
		char more[140];

		snprintf(more, sizeof(more), "0.%s", n);
		assert_int_equal(rev(more, BOTH, &ip), DNS_REV_BAD);
	}
	/* 16 labels: partial */
	assert_int_equal(rev(n + 32, BOTH, &ip), DNS_REV_PARTIAL);
	/* one non-hex nibble, one two-character label */
	n[20] = 'g';
	assert_int_equal(rev(n, BOTH, &ip), DNS_REV_BAD);
	nibbles("2001:db8::1", n, false);
	{
		char two[140];

		snprintf(two, sizeof(two), "00.%s", n + 2);
		assert_int_equal(rev(two, BOTH, &ip), DNS_REV_BAD);
	}
	/* more labels than the name has: a caller's mistake, still BAD */
	{
		struct dns_query q;

		assert_int_equal(parse(q_plain, sizeof(q_plain), &q), DNS_Q_OK);
		assert_int_equal(dns_rev_parse(&q, 8, BOTH, &ip), DNS_REV_BAD);
	}
}

/* ---- replies ---------------------------------------------------------- */

static const uint8_t ns1[] = "\003ns1\007example\003org";
static const uint8_t host[] = "\012hostmaster\007example\003org";
static const uint8_t other[] = "\002ns\005other\003net";

static void test_reply_a_exact(void **state)
{
	static const uint8_t want_tail[] = {
		/* answer 1: 0xC00C A IN 300 127.0.0.2 */
		0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c,
		0x00, 0x04, 0x7f, 0x00, 0x00, 0x02,
		/* answer 2: ... 127.0.0.4 */
		0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c,
		0x00, 0x04, 0x7f, 0x00, 0x00, 0x04,
	};
	struct dns_query q;
	struct dns_resp r;
	uint8_t buf[512];
	size_t n;

	(void)state;
	assert_int_equal(parse(q_mixcase, sizeof(q_mixcase), &q), DNS_Q_OK);
	assert_int_equal(dns_resp_init(&r, buf, sizeof(buf), &q, DNS_RESP_AA,
				       1232),
			 0);
	assert_int_equal(dns_resp_add_a(&r, NULL, 300,
					(const uint8_t *)"\x7f\0\0\2"),
			 0);
	assert_int_equal(dns_resp_add_a(&r, NULL, 300,
					(const uint8_t *)"\x7f\0\0\4"),
			 0);
	n = dns_resp_finish(&r);
	assert_int_equal(n, sizeof(q_mixcase) + sizeof(want_tail));
	/* ID, QR AA, no RD (dig +norec), NOERROR; 1 / 2 / 0 / 0 */
	assert_memory_equal(buf, "\xa6\x27\x84\x00\0\1\0\2\0\0\0\0", 12);
	/* the question exactly as asked, case and all (0x20) */
	assert_memory_equal(buf + 12, q_mixcase + 12, sizeof(q_mixcase) - 12);
	assert_memory_equal(buf + sizeof(q_mixcase), want_tail,
			    sizeof(want_tail));
	assert_false(dns_resp_is_truncated(&r));
}

static void test_reply_nxdomain_soa(void **state)
{
	struct dns_query q;
	struct dns_resp r;
	struct dns_soa soa = {ns1, host, 2026112001, 3600, 600, 604800, 60};
	struct d_msg d;
	uint8_t buf[512];
	size_t n, o;

	(void)state;
	/* EDNS with DO: the reply's OPT has DO clear, our payload size */
	assert_int_equal(parse(q_do, sizeof(q_do), &q), DNS_Q_OK);
	assert_int_equal(dns_resp_init(&r, buf, dns_reply_max(&q, false, 4096),
				       &q, DNS_RESP_AA, 1232),
			 0);
	assert_int_equal(r.max, 1232);
	assert_int_equal(dns_resp_set_rcode(&r, DNS_RCODE_NXDOMAIN), 0);
	assert_int_equal(dns_resp_section(&r, DNS_SEC_AUTHORITY), 0);
	assert_int_equal(dns_resp_add_soa(&r, bl_apex, 60, &soa), 0);
	n = dns_resp_finish(&r);

	/* exact bytes of the authority record after the question (42) */
	o = 42;
	/* owner bl.example.org: pointer to label 4 of the question */
	assert_int_equal(buf[o], 0xc0);
	assert_int_equal(buf[o + 1], 12 + 10);
	assert_memory_equal(buf + o + 2, "\0\6\0\1\0\0\0\x3c", 8);
	/* RDLENGTH: ns1+ptr (6) + hostmaster+ptr (13) + 20 */
	assert_int_equal(buf[o + 10], 0);
	assert_int_equal(buf[o + 11], 39);
	/* mname "ns1" + pointer to example.org (label 5, offset 13) */
	assert_memory_equal(buf + o + 12, "\003ns1\xc0\x19", 6);
	assert_memory_equal(buf + o + 18, "\012hostmaster\xc0\x19", 13);
	assert_memory_equal(buf + o + 31,
			    "\x78\xc4\x04\x01\0\0\x0e\x10\0\0\x02\x58"
			    "\0\x09\x3a\x80\0\0\0\x3c",
			    20);
	/* the OPT: root, 41, 1232, ext-rcode 0, version 0, DO clear */
	assert_int_equal(n, o + 51 + 11);
	assert_memory_equal(buf + o + 51, "\0\0\x29\x04\xd0\0\0\0\0\0\0", 11);

	assert_int_equal(d_msg(buf, n, &d), 0);
	assert_int_equal(d.flags & 0xf, DNS_RCODE_NXDOMAIN);
	assert_int_equal(d.flags & 0x0200, 0); /* not TC */
	assert_int_equal(d.an, 0);
	assert_int_equal(d.ns, 1);
	assert_int_equal(d.ar, 1);
	assert_string_equal(d.rr[0].owner, "bl.example.org");
	assert_string_equal(d.rr[0].n1, "ns1.example.org");
	assert_string_equal(d.rr[0].n2, "hostmaster.example.org");
	assert_int_equal(d.rr[0].soa[0], 2026112001);
	assert_int_equal(d.rr[0].soa[4], 60);
	assert_true(d.opt);
	assert_int_equal(d.opt_payload, 1232);
	assert_int_equal(d.opt_ttl, 0);
}

static void test_reply_apex_ns_soa(void **state)
{
	struct dns_query q;
	struct dns_resp r;
	struct dns_soa soa = {ns1, host, 1, 2, 3, 4, 5};
	struct d_msg d;
	uint8_t buf[512];
	size_t n;

	(void)state;
	/* the question is the apex: its owner is 0xC00C */
	assert_int_equal(parse(q_soa, sizeof(q_soa), &q), DNS_Q_OK);
	assert_int_equal(dns_resp_init(&r, buf, 512, &q, DNS_RESP_AA, 1232), 0);
	assert_int_equal(dns_resp_add_soa(&r, bl_apex, 60, &soa), 0);
	assert_int_equal(buf[12 + 16 + 4], 0xc0);
	assert_int_equal(buf[12 + 16 + 5], 0x0c);
	assert_int_equal(dns_resp_section(&r, DNS_SEC_AUTHORITY), 0);
	assert_int_equal(dns_resp_add_ns(&r, bl_apex, 60, ns1), 0);
	assert_int_equal(dns_resp_add_ns(&r, NULL, 60, other), 0);
	/* sections go forward only; a record with a bad name is refused
	 * without truncating */
	assert_int_equal(dns_resp_section(&r, DNS_SEC_ANSWER), TL_EINVAL);
	assert_int_equal(dns_resp_add_ns(&r, NULL, 60, NULL), TL_EINVAL);
	assert_int_equal(dns_resp_add_ns(&r, (const uint8_t *)"\100", 60, ns1),
			 TL_EINVAL);
	assert_false(dns_resp_is_truncated(&r));
	assert_int_equal(dns_resp_section(&r, DNS_SEC_ADDITIONAL), 0);
	assert_int_equal(dns_resp_add_a(&r, ns1, 60,
					(const uint8_t *)"\xc0\0\2\1"),
			 0);
	n = dns_resp_finish(&r);
	assert_int_equal(d_msg(buf, n, &d), 0);
	assert_int_equal(d.an, 1);
	assert_int_equal(d.ns, 2);
	assert_int_equal(d.ar, 2);
	assert_string_equal(d.rr[0].owner, "bl.example.org");
	assert_string_equal(d.rr[1].n1, "ns1.example.org");
	assert_string_equal(d.rr[2].n1, "ns.other.net");
	assert_string_equal(d.rr[3].owner, "ns1.example.org");
	assert_int_equal(d.rr[3].sec, 2);
	assert_int_equal(d.rr[4].type, DNS_TYPE_OPT);
	/* "ns.other.net" shares nothing: written whole */
	assert_memory_equal(buf + d.rr[2].rdoff, other, sizeof(other));
}

static void test_reply_txt_split(void **state)
{
	struct dns_query q;
	struct dns_resp r;
	struct d_msg d;
	uint8_t buf[2048];
	char text[700], got[800];
	unsigned ns;
	size_t n, i;

	(void)state;
	for (i = 0; i < 600; i++)
		text[i] = (char)('a' + i % 26);
	assert_int_equal(parse(q_nsid_cookie, sizeof(q_nsid_cookie), &q),
			 DNS_Q_OK);
	assert_int_equal(dns_resp_init(&r, buf, sizeof(buf), &q, DNS_RESP_AA,
				       4096),
			 0);
	assert_int_equal(dns_resp_add_txt(&r, NULL, 60, text, 600), 0);
	assert_int_equal(dns_resp_add_txt(&r, NULL, 60, text, 255), 0);
	assert_int_equal(dns_resp_add_txt(&r, NULL, 60, text, 256), 0);
	assert_int_equal(dns_resp_add_txt(&r, NULL, 60, "", 0), 0);
	assert_int_equal(dns_resp_add_txt(&r, NULL, 60, text, 70000),
			 TL_EINVAL);
	n = dns_resp_finish(&r);
	assert_int_equal(d_msg(buf, n, &d), 0);
	assert_int_equal(d.an, 4);
	/* 600: strings of 255, 255, 90 */
	assert_int_equal(d.rr[0].rdlen, 603);
	assert_int_equal(buf[d.rr[0].rdoff], 255);
	assert_int_equal(buf[d.rr[0].rdoff + 256], 255);
	assert_int_equal(buf[d.rr[0].rdoff + 512], 90);
	assert_int_equal(d_txt(buf, &d.rr[0], got, &ns), 600);
	assert_int_equal(ns, 3);
	assert_memory_equal(got, text, 600);
	assert_int_equal(d.rr[1].rdlen, 256);
	assert_int_equal(d_txt(buf, &d.rr[1], got, &ns), 255);
	assert_int_equal(ns, 1);
	assert_int_equal(d.rr[2].rdlen, 258);
	assert_int_equal(d_txt(buf, &d.rr[2], got, &ns), 256);
	assert_int_equal(ns, 2);
	assert_int_equal(d.rr[3].rdlen, 1);
	assert_int_equal(buf[d.rr[3].rdoff], 0);
}

/* Add 100-byte TXT records until one does not fit; check the result. */
static void fill_txt(const uint8_t *qpkt, size_t qlen, enum dns_section sec,
		     bool want_tc)
{
	struct dns_query q;
	struct dns_resp r;
	struct d_msg d;
	uint8_t buf[600];
	char text[100];
	size_t n, added = 0;
	int err;

	memset(text, 'x', sizeof(text));
	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(parse(qpkt, qlen, &q), DNS_Q_OK);
	assert_int_equal(dns_resp_init(&r, buf, 512, &q, DNS_RESP_AA, 4096),
			 0);
	assert_int_equal(dns_resp_section(&r, sec), 0);
	while ((err = dns_resp_add_txt(&r, NULL, 60, text, 100)) == 0)
		added++;
	assert_int_equal(err, TL_ENOSPC);
	assert_true(dns_resp_is_truncated(&r));
	/* a small record that would fit is refused all the same */
	assert_int_equal(dns_resp_add_a(&r, NULL, 60,
					(const uint8_t *)"\x7f\0\0\2"),
			 TL_ENOSPC);
	n = dns_resp_finish(&r);
	assert_true(n <= 512);
	assert_int_equal(buf[512], 0xee); /* nothing past the limit */
	assert_int_equal(d_msg(buf, n, &d), 0);
	assert_int_equal((d.flags & 0x0200) != 0, want_tc);
	assert_int_equal(d.an + d.ns + d.ar, added + (q.edns ? 1 : 0));
	assert_int_equal(d.opt, q.edns);
	/* each record: 2 + 10 + 101 bytes */
	assert_int_equal(n, qlen - (q.edns ? qlen - 12 - q.qname_len - 4 : 0) +
				    added * 113 + (q.edns ? 11 : 0));
	assert_true(n + 113 > 512);
	assert_int_equal(d.pointers, added);
}

static void test_reply_truncation(void **state)
{
	(void)state;
	/* no EDNS: 42 + 4 x 113 = 494 */
	fill_txt(q_plain, sizeof(q_plain), DNS_SEC_ANSWER, true);
	/* EDNS: OPT still there, last, within 512 (buffer 512, not 1232) */
	fill_txt(q_norec_default, sizeof(q_norec_default), DNS_SEC_ANSWER,
		 true);
	fill_txt(q_plain, sizeof(q_plain), DNS_SEC_AUTHORITY, true);
	/* additional records dropped: no TC (RFC 2181 9) */
	fill_txt(q_plain, sizeof(q_plain), DNS_SEC_ADDITIONAL, false);
}

static void test_reply_rcodes(void **state)
{
	struct dns_query q;
	struct dns_resp r;
	uint8_t buf[512];
	size_t n;

	(void)state;
	assert_int_equal(parse(q_plain, sizeof(q_plain), &q), DNS_Q_OK);
	assert_int_equal(dns_resp_init(&r, buf, 511, &q, 0, 0), TL_EINVAL);
	assert_int_equal(dns_resp_init(&r, buf, 65536, &q, 0, 0), TL_EINVAL);
	assert_int_equal(dns_resp_init(&r, buf, 512, &q, 0, 0), 0);
	/* BADVERS needs an OPT to carry it */
	assert_int_equal(dns_resp_set_rcode(&r, DNS_RCODE_BADVERS), TL_EINVAL);
	assert_int_equal(dns_resp_set_rcode(&r, DNS_RCODE_REFUSED), 0);
	n = dns_resp_finish(&r);
	assert_int_equal(n, sizeof(q_plain));
	assert_int_equal(buf[2], 0x80);
	assert_int_equal(buf[3], 0x05);

	static const unsigned codes[] = {
		DNS_RCODE_NOERROR,  DNS_RCODE_FORMERR, DNS_RCODE_SERVFAIL,
		DNS_RCODE_NXDOMAIN, DNS_RCODE_NOTIMP,  DNS_RCODE_REFUSED,
	};
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		assert_int_equal(dns_resp_init(&r, buf, 512, &q, 0, 0), 0);
		assert_int_equal(dns_resp_set_rcode(&r, codes[i]), 0);
		dns_resp_finish(&r);
		assert_int_equal(buf[3] & 0x0f, codes[i]);
	}

	/* with EDNS: the high bits go to the OPT; payload clamped to 512 */
	assert_int_equal(parse(q_norec_default, sizeof(q_norec_default), &q),
			 DNS_Q_OK);
	assert_int_equal(dns_resp_init(&r, buf, 512, &q, 0, 100), 0);
	assert_int_equal(dns_resp_set_rcode(&r, DNS_RCODE_BADVERS), 0);
	assert_int_equal(dns_resp_set_rcode(&r, 4096), TL_EINVAL);
	n = dns_resp_finish(&r);
	assert_int_equal(n, 12 + 26 + 4 + 11);
	assert_int_equal(buf[3], 0);
	assert_memory_equal(buf + 42, "\0\0\x29\x02\0\x01\0\0\0\0\0", 11);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dig_plain),
		cmocka_unit_test(test_dig_edns),
		cmocka_unit_test(test_dig_mixed_case),
		cmocka_unit_test(test_dig_v6_test_point),
		cmocka_unit_test(test_dig_ent_and_apex),
		cmocka_unit_test(test_dig_chaos),
		cmocka_unit_test(test_dig_badvers),
		cmocka_unit_test(test_drop),
		cmocka_unit_test(test_every_prefix_refused),
		cmocka_unit_test(test_qdcount),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_trailing),
		cmocka_unit_test(test_opt),
		cmocka_unit_test(test_opcodes),
		cmocka_unit_test(test_name_from_text),
		cmocka_unit_test(test_in_zone),
		cmocka_unit_test(test_rev_v4),
		cmocka_unit_test(test_rev_v6),
		cmocka_unit_test(test_reply_a_exact),
		cmocka_unit_test(test_reply_nxdomain_soa),
		cmocka_unit_test(test_reply_apex_ns_soa),
		cmocka_unit_test(test_reply_txt_split),
		cmocka_unit_test(test_reply_truncation),
		cmocka_unit_test(test_reply_rcodes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
