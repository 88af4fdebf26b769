/* SPDX-License-Identifier: MIT */
/* fuzz_dnswire.c -- dns_query_parse, then a reply built and checked
 *
 * Any input: parse it (an exact-size copy, so ASan sees a read past the
 * end). The parsed question must agree with the bytes it came from. Every
 * verdict but DROP gets its error reply; an OK query also gets a reply
 * with A, TXT, SOA and NS records in every section, added until one does
 * not fit in 512 bytes. Each reply is walked by a strict checker: counts
 * against the records found, every length inside the message, pointers
 * strictly backwards, OPT only last in additional, nothing left over.
 * Reversed addresses read from the name must print back to its labels.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trapline/err.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr,                                        \
				"fuzz_dnswire: check failed: %s (line %d)\n",  \
				#cond, __LINE__);                              \
			abort();                                               \
		}                                                              \
	} while (0)

static uint16_t g16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* A name at *pos: pointers at or after the header, before the segment
 * holding them; labels <= 63; 255 bytes expanded. */
static bool walk_name(const uint8_t *m, size_t len, size_t *pos)
{
	size_t i = *pos, seg = *pos, end = 0, wire = 0;
	bool jumped = false;

	for (;;) {
		if (i >= len)
			return false;
		if ((m[i] & 0xc0) == 0xc0) {
			size_t p;

			if (len - i < 2)
				return false;
			p = (size_t)(m[i] & 0x3f) << 8 | m[i + 1];
			if (p < 12 || p >= seg)
				return false;
			if (!jumped)
				end = i + 2;
			jumped = true;
			i = seg = p;
			continue;
		}
		if (m[i] > 63)
			return false;
		wire += 1u + m[i];
		if (wire > 255)
			return false;
		if (m[i] == 0)
			break;
		i += 1u + m[i];
	}
	*pos = jumped ? end : i + 1;
	return true;
}

/* The strict checker: returns the number of records walked. */
static unsigned check_reply(const uint8_t *m, size_t len, size_t max,
			    const struct dns_query *q)
{
	size_t pos = 12, k, total;
	uint16_t qd, an, ns, ar;
	bool opt = false;

	CHECK(len >= 12 && len <= max);
	CHECK(m[0] == q->id >> 8 && m[1] == (q->id & 0xff));
	CHECK(m[2] & 0x80);
	CHECK(((m[2] >> 3) & 0x0f) == q->opcode);
	qd = g16(m + 4);
	an = g16(m + 6);
	ns = g16(m + 8);
	ar = g16(m + 10);
	CHECK(qd == (q->has_question ? 1 : 0));
	if (qd) {
		CHECK(walk_name(m, len, &pos));
		CHECK(pos == 12u + q->qname_len);
		CHECK(memcmp(m + 12, q->qname, q->qname_len) == 0);
		CHECK(len - pos >= 4);
		CHECK(g16(m + pos) == q->qtype &&
		      g16(m + pos + 2) == q->qclass);
		pos += 4;
	}
	total = (size_t)an + ns + ar;
	for (k = 0; k < total; k++) {
		uint16_t type, rdlen;
		size_t rd, rp;

		CHECK(!opt); /* OPT is the last record */
		CHECK(walk_name(m, len, &pos));
		CHECK(len - pos >= 10);
		type = g16(m + pos);
		rdlen = g16(m + pos + 8);
		pos += 10;
		CHECK(len - pos >= rdlen);
		rd = rp = pos;
		switch (type) {
		case DNS_TYPE_A:
			CHECK(rdlen == 4);
			break;
		case DNS_TYPE_NS:
			CHECK(walk_name(m, rd + rdlen, &rp) &&
			      rp == rd + rdlen);
			break;
		case DNS_TYPE_SOA:
			CHECK(walk_name(m, rd + rdlen, &rp));
			CHECK(walk_name(m, rd + rdlen, &rp));
			CHECK(rp + 20 == rd + rdlen);
			break;
		case DNS_TYPE_TXT:
			CHECK(rdlen > 0);
			while (rp < rd + rdlen)
				rp += 1u + m[rp];
			CHECK(rp == rd + rdlen);
			break;
		case DNS_TYPE_OPT:
			CHECK(k >= (size_t)an + ns && q->edns);
			CHECK(m[pos - 11] == 0 && rdlen == 0);
			CHECK((m[pos - 4] & 0x80) == 0); /* DO clear */
			opt = true;
			break;
		default:
			CHECK(!"unexpected type");
		}
		pos += rdlen;
	}
	CHECK(pos == len);
	CHECK(opt == q->edns);
	/* a reply read as a query is dropped, never answered */
	{
		struct dns_query again;

		CHECK(dns_query_parse(m, len, &again) == DNS_Q_DROP);
	}
	return (unsigned)total;
}

/* What the parse gave must agree with the bytes. */
static void check_query(const uint8_t *d, size_t size, enum dns_verdict v,
			const struct dns_query *q)
{
	unsigned i;
	size_t off = 0;

	CHECK(v <= DNS_Q_BADVERS);
	if (v == DNS_Q_OK)
		CHECK(q->has_question && q->rcode == 0);
	if (v == DNS_Q_BADVERS)
		CHECK(q->edns && q->edns_version != 0 && q->rcode == 16);
	if (v == DNS_Q_DROP)
		CHECK(size < 12 || (d[2] & 0x80));
	if (q->edns)
		CHECK(q->edns_payload >= 512);
	if (!q->has_question)
		return;
	CHECK(q->qname_len >= 1 && q->qname_len <= 255);
	CHECK(size >= 12u + q->qname_len + 4);
	CHECK(memcmp(d + 12, q->qname, q->qname_len) == 0);
	for (i = 0; i < q->nlabels; i++) {
		uint8_t l = q->qname[off];

		CHECK(q->label_off[i] == off);
		CHECK(l >= 1 && l <= 63);
		CHECK(q->qname_lc[off] == l);
		for (unsigned j = 1; j <= l; j++) {
			uint8_t c = q->qname[off + j],
				lc = q->qname_lc[off + j];

			CHECK(lc == (c >= 'A' && c <= 'Z' ? c + 32 : c));
		}
		off += 1u + l;
	}
	CHECK(off + 1 == q->qname_len && q->qname[off] == 0);
}

/* A reversed address read from the name prints back to its labels. */
static void check_rev(const struct dns_query *q, unsigned nleft)
{
	struct tl_ip ip;
	enum dns_rev r = dns_rev_parse(q, nleft, DNS_REV_V4 | DNS_REV_V6, &ip);

	if (r != DNS_REV_ADDR) {
		CHECK(ip.family == 0);
		CHECK(r != DNS_REV_APEX || nleft == 0);
		return;
	}
	if (nleft == 4) {
		CHECK(ip.family == 4);
		/* compare label by label with the lower-cased name */
		for (unsigned i = 0; i < 4; i++) {
			char oct[4];
			int w = snprintf(oct, sizeof(oct), "%u", ip.a[3 - i]);
			const uint8_t *l = q->qname_lc + q->label_off[i];

			CHECK(l[0] == w && memcmp(l + 1, oct, (size_t)w) == 0);
		}
	} else {
		static const char hex[] = "0123456789abcdef";
		uint8_t a[16];

		CHECK(nleft == 32);
		memcpy(a, ip.a, 16);
		if (ip.family == 4) { /* mapped back */
			memmove(a + 12, a, 4);
			memset(a, 0, 10);
			a[10] = a[11] = 0xff;
		} else {
			CHECK(ip.family == 6);
		}
		for (unsigned i = 0; i < 32; i++) {
			const uint8_t *l = q->qname_lc + q->label_off[i];
			uint8_t b = a[15 - i / 2];

			CHECK(l[0] == 1 &&
			      l[1] == hex[i % 2 ? b >> 4 : b & 15]);
		}
	}
}

/* Build a reply with records from everywhere; check it. */
static void build_reply(const struct dns_query *q, const uint8_t *d,
			size_t size)
{
	static const uint8_t other[] = "\002ns\005other\003net";
	uint8_t buf[512 + 64], apex[256], ns1[256], mbox[256];
	struct dns_zone_pos pos;
	struct dns_resp r;
	struct dns_soa soa;
	char text[1024];
	size_t alen, n, tlen;
	unsigned k, i, added = 0, refused = 0;
	uint8_t sel = size > 12 ? d[size - 1] : 0;

	/* the apex: a suffix of the question chosen by the input */
	k = q->nlabels ? sel % (q->nlabels + 1u) : 0;
	if (k == q->nlabels) {
		apex[0] = 0;
		alen = 1;
	} else {
		alen = q->qname_len - q->label_off[k];
		memcpy(apex, q->qname_lc + q->label_off[k], alen);
	}
	CHECK(dns_name_in_zone(q, apex, alen, &pos));
	CHECK(pos.nleft == k);
	check_rev(q, pos.nleft);
	/* ns1.<apex>, and hostmaster.<apex> in upper case when they fit */
	memcpy(ns1, "\003ns1", 4);
	memcpy(mbox, "\002HM", 3);
	if (alen + 4 <= 255) {
		memcpy(ns1 + 4, apex, alen);
		memcpy(mbox + 3, apex, alen);
		/* length bytes are <= 63: only letters change */
		for (i = 3; i < alen + 3; i++)
			if (mbox[i] >= 'a' && mbox[i] <= 'z')
				mbox[i] -= 32;
	} else {
		ns1[4] = mbox[3] = 0;
	}
	soa.mname = ns1;
	soa.rname = mbox;
	soa.serial = 1;
	soa.refresh = 2;
	soa.retry = 3;
	soa.expire = 4;
	soa.minimum = 5;

	tlen = size < sizeof(text) ? size : sizeof(text);
	memcpy(text, d, tlen);
	memset(buf, 0xa5, sizeof(buf));
	CHECK(dns_resp_init(&r, buf, 512, q, DNS_RESP_AA, 1232) == 0);
	CHECK(dns_resp_set_rcode(&r, sel & 1 ? DNS_RCODE_NXDOMAIN : 0) == 0);
	for (i = 0; i < 40; i++) {
		int err;
		uint8_t a4[4] = {127, 0, 0, (uint8_t)i};

		if (i == 12)
			CHECK(dns_resp_section(&r, DNS_SEC_AUTHORITY) == 0);
		if (i == 24)
			CHECK(dns_resp_section(&r, DNS_SEC_ADDITIONAL) == 0);
		switch (((sel >> 1) + i) % 5) {
		case 0:
			err = dns_resp_add_a(&r, NULL, 60, a4);
			break;
		case 1:
			err = dns_resp_add_txt(&r, NULL, 60, text,
					       (tlen * (i + 1)) % (tlen + 1));
			break;
		case 2:
			err = dns_resp_add_soa(&r, apex, 60, &soa);
			break;
		case 3:
			err =
			    dns_resp_add_ns(&r, apex, 60, i % 2 ? ns1 : other);
			break;
		default:
			err = dns_resp_add_a(&r, ns1, 60, a4);
			break;
		}
		CHECK(err == 0 || err == TL_ENOSPC);
		if (err == 0) {
			CHECK(refused == 0);
			added++;
		} else {
			CHECK(dns_resp_is_truncated(&r));
			refused++;
		}
	}
	n = dns_resp_finish(&r);
	CHECK(n <= 512);
	for (i = 512; i < sizeof(buf); i++)
		CHECK(buf[i] == 0xa5);
	CHECK(check_reply(buf, n, 512, q) == added + (q->edns ? 1 : 0));
	CHECK((buf[3] & 0x0f) == (sel & 1 ? 3 : 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_query q;
	enum dns_verdict v;
	uint8_t *copy = malloc(size ? size : 1);
	uint8_t buf[512];
	size_t n;

	CHECK(copy != NULL);
	memcpy(copy, data, size);
	v = dns_query_parse(copy, size, &q);
	check_query(copy, size, v, &q);
	if (v != DNS_Q_DROP) {
		n = dns_resp_error(buf, sizeof(buf), &q, 1232);
		CHECK(check_reply(buf, n, sizeof(buf), &q) ==
		      (q.edns ? 1u : 0u));
		CHECK((buf[3] & 0x0f) == (q.rcode & 0x0f));
	}
	if (v == DNS_Q_OK)
		build_reply(&q, copy, size);
	free(copy);
	return 0;
}
