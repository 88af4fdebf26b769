/* SPDX-License-Identifier: MIT */
/* xfr_pack.c -- transfer messages: the query, the bl zone's records, the
 * packer (RFC 5936 2.2, RFC 1035 4.1.4 compression); no I/O
 *
 * A transfer is ten million names in messages of 16 KiB, so the packer
 * keeps compression cheap: the apex is always the question name (offset
 * 12), and an owner shares its right-hand labels with the last owner
 * written out in full, which in address order is the neighbour in the
 * same /24 (or the same high nibbles of IPv6): a typical name costs one
 * label and a pointer.
 */
#include <stdio.h>
#include <string.h>

#include "be.h"
#include "trapline/err.h"
#include "xfr_int.h"

#define HDR_QR 0x80
#define HDR_AA 0x04
#define QNAME_OFF DNS_HEADER_SIZE
#define TEST_POINT_TXT "RFC 5782 test point" /* as answer.c */

int xfr_msg_init(struct xfr_msg *m, uint8_t *buf, size_t max,
		 const struct xfr_query *q, unsigned rcode)
{
	if (max < DNS_UDP_MAX || max > DNS_TCP_MAX ||
	    DNS_HEADER_SIZE + q->qname_len + 4 > max)
		return TL_EINVAL;
	memset(m, 0, sizeof(*m));
	m->buf = buf;
	m->max = max;
	memset(buf, 0, DNS_HEADER_SIZE);
	put16(buf, q->id);
	buf[2] = HDR_QR | HDR_AA;
	buf[3] = (uint8_t)(rcode & 0xf);
	put16(buf + 4, 1);
	memcpy(buf + QNAME_OFF, q->qname, q->qname_len);
	m->len = QNAME_OFF + q->qname_len;
	put16(buf + m->len, q->qtype);
	put16(buf + m->len + 2, q->qclass);
	m->len += 4;
	return 0;
}

/* Offsets of the labels of @rel (@len bytes), left to right. */
static size_t label_offs(const uint8_t *rel, size_t len, uint8_t *off)
{
	size_t n = 0, p = 0;

	while (p < len && n < DNS_LABELS_MAX) {
		off[n++] = (uint8_t)p;
		p += 1u + rel[p];
	}
	return n;
}

int xfr_msg_add(struct xfr_msg *m, const uint8_t *rel, size_t rel_len,
		uint16_t type, uint32_t ttl, const uint8_t *rdata,
		size_t rdlen)
{
	uint8_t a[DNS_LABELS_MAX], b[DNS_LABELS_MAX];
	size_t na, nb, k = 0, head, ptr = QNAME_OFF, need;
	bool full;

	if (rdlen > 0xffff)
		return TL_EINVAL;
	na = label_offs(rel, rel_len, a);
	nb = label_offs(m->prev_rel, m->prev_rel_len, b);
	if (m->prev_off)
		while (k < na && k < nb) {
			size_t x = a[na - 1 - k], y = b[nb - 1 - k];
			size_t lx = rel[x], ly = m->prev_rel[y];

			if (lx != ly || memcmp(rel + x + 1, m->prev_rel + y + 1,
					       lx) != 0)
				break;
			k++;
		}
	/* The whole of the shared suffix, reached through the last owner
	 * written out in full, while a pointer can still reach it. */
	if (k && m->prev_off + b[nb - k] < 0x4000)
		ptr = m->prev_off + b[nb - k];
	else
		k = 0;
	head = k ? a[na - k] : rel_len;
	need = head + 2 + 10 + rdlen;
	if (m->len + need > m->max)
		return TL_ENOSPC;
	full = k == 0 && rel_len && m->len < 0x4000;
	if (full) {
		m->prev_off = m->len;
		memcpy(m->prev_rel, rel, rel_len);
		m->prev_rel_len = rel_len;
	}
	if (head) /* the apex has no labels of its own (rel may be NULL) */
		memcpy(m->buf + m->len, rel, head);
	m->len += head;
	put16(m->buf + m->len, (uint16_t)(0xc000 | ptr));
	put16(m->buf + m->len + 2, type);
	put16(m->buf + m->len + 4, DNS_CLASS_IN);
	put32(m->buf + m->len + 6, ttl);
	put16(m->buf + m->len + 10, (uint16_t)rdlen);
	m->len += 12;
	memcpy(m->buf + m->len, rdata, rdlen);
	m->len += rdlen;
	m->ancount++;
	return 0;
}

size_t xfr_msg_finish(struct xfr_msg *m)
{
	put16(m->buf + 6, m->ancount);
	return m->len;
}

size_t xfr_name_len(const uint8_t *name)
{
	size_t p = 0;

	while (p < DNS_NAME_MAX && name[p])
		p += 1u + name[p];
	return p + 1;
}

size_t xfr_soa_rdata(const struct dnsbl_zones *z, uint32_t serial,
		     uint8_t *rd)
{
	size_t l1 = xfr_name_len(z->ns[0]), l2 = xfr_name_len(z->rname);

	memcpy(rd, z->ns[0], l1);
	memcpy(rd + l1, z->rname, l2);
	rd += l1 + l2;
	put32(rd, serial);
	put32(rd + 4, XFR_SOA_REFRESH);
	put32(rd + 8, XFR_SOA_RETRY);
	put32(rd + 12, XFR_SOA_EXPIRE);
	put32(rd + 16, z->neg_ttl);
	return l1 + l2 + 20;
}

/* Labels of the first @units octets (IPv4) or nibbles (IPv6, or IPv4 in
 * its ::ffff: form with @v6_form) of @ip, reversed, after a "*" label
 * when @wildcard, into @out. Returns the length. */
static size_t owner(const struct tl_ip *ip, unsigned units, bool v6_form,
		    bool wildcard, uint8_t *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	int i;

	if (wildcard) {
		out[o++] = 1;
		out[o++] = '*';
	}
	if (ip->family == 4 && !v6_form) {
		for (i = (int)units - 1; i >= 0; i--) { /* no leading zeros */
			unsigned v = ip->a[i], w = v >= 100 ? 3 : v >= 10 ? 2 : 1;
			uint8_t *d = out + o + 1;

			out[o] = (uint8_t)w;
			d[w - 1] = (uint8_t)('0' + v % 10);
			if (w > 1)
				d[w - 2] = (uint8_t)('0' + v / 10 % 10);
			if (w > 2)
				d[0] = (uint8_t)('0' + v / 100);
			o += 1u + w;
		}
	} else {
		uint8_t a[16] = {0};

		if (ip->family == 4) {
			a[10] = a[11] = 0xff;
			memcpy(a + 12, ip->a, 4);
		} else {
			memcpy(a, ip->a, 16);
		}
		for (i = (int)units - 1; i >= 0; i--) {
			out[o++] = 1;
			out[o++] = (uint8_t)hex[i & 1 ? a[i / 2] & 0xf
						      : a[i / 2] >> 4];
		}
	}
	return o;
}

/* TXT data of @txt (@n bytes): character-strings of at most 255 bytes
 * (RFC 1035 3.3.14), as dns_resp_add_txt splits them. */
static void txt_data(const char *txt, size_t n, struct xfr_name *out)
{
	size_t o = 0, p = 0;

	do {
		size_t c = n - p > DNS_TXT_STRING_MAX ? DNS_TXT_STRING_MAX
						      : n - p;

		out->txt[o++] = (uint8_t)c;
		memcpy(out->txt + o, txt + p, c);
		o += c;
		p += c;
	} while (p < n);
	out->txt_len = o;
}

void xfr_name_render(const struct dnsbl_zones *z, const struct tl_ip *ip,
		     const struct snap_listing *li, bool test_point,
		     bool v6_form, struct xfr_name *out)
{
	char txt[1024];
	size_t n;

	out->rel_len = owner(ip, ip->family == 4 && !v6_form ? 4 : 32,
			     v6_form, false, out->rel);
	out->has_a = false;
	out->codes = li->codes & 0x3fu;
	if (test_point)
		n = (size_t)snprintf(txt, sizeof(txt), "%s", TEST_POINT_TXT);
	else
		n = snap_txt(z->txt, ip, li, txt, sizeof(txt));
	txt_data(txt, n, out);
}

void xfr_rname_render(const struct dnsbl_zones *z, const struct snap_rname *rn,
		      struct xfr_name *out)
{
	char txt[1024];
	size_t n;

	out->rel_len = owner(&rn->name.ip, rn->name.ip.family == 4
						   ? rn->name.len / 8u
						   : rn->name.len / 4u,
			     false, rn->wildcard, out->rel);
	out->has_a = false;
	out->codes = rn->li.codes & 0x3fu;
	n = snap_txt(z->txt, NULL, &rn->li, txt, sizeof(txt));
	txt_data(txt, n, out);
}

void xfr_hist_render(const struct tl_ip *ip, const struct snap_history *h,
		     tl_day today, struct xfr_name *out)
{
	char txt[96];
	size_t n = dnsbl_hist_records(h, today, out->a, txt, sizeof(txt));

	out->rel_len = owner(ip, ip->family == 4 ? 4 : 32, false, false,
			     out->rel);
	out->has_a = true;
	out->codes = 0;
	txt_data(txt, n, out);
}

int xfr_msg_add_name(struct xfr_msg *m, const struct dnsbl_zones *z,
		     const struct xfr_name *n, unsigned codes, bool txt)
{
	struct xfr_msg save = *m;
	unsigned b;

	if (n->has_a && xfr_msg_add(m, n->rel, n->rel_len, DNS_TYPE_A, z->ttl,
				    n->a, 4) < 0)
		goto full;
	for (b = 0; b < 6; b++)
		if (codes & (1u << b)) {
			uint8_t a[4] = {127, 0, 0, snap_code_octet(b)};

			if (xfr_msg_add(m, n->rel, n->rel_len, DNS_TYPE_A,
					z->ttl, a, 4) < 0)
				goto full;
		}
	if (txt && xfr_msg_add(m, n->rel, n->rel_len, DNS_TYPE_TXT, z->ttl,
			       n->txt, n->txt_len) < 0)
		goto full;
	return 0;
full:
	*m = save;
	return TL_ENOSPC;
}
