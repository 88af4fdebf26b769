/* SPDX-License-Identifier: MIT */
/* test_xfr.c -- zone transfers: the transfer query, the message packer,
 * the IXFR journal's codec, its diff of two snapshots, damage refused
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dns/xfr_int.h"
#include "policy/oplist.h"
#include "policy/snapshot.h"
#include "trapline/alloc.h"
#include "trapline/config.h"
#include "trapline/err.h"

static struct dnsbl_zones zones;

static int setup_zones(void **state)
{
	(void)state;
	return dnsbl_zones_init(&zones, "bl.test", "ns1.test ns2.test",
				"hostmaster.test", "Listed $ %k");
}

static size_t build_query(uint8_t *p, uint16_t qtype, const char *zone,
			  bool soa, uint32_t serial)
{
	size_t n = 12, l;
	uint8_t name[DNS_NAME_MAX];

	memset(p, 0, 12);
	p[0] = 0x12;
	p[1] = 0x34;
	p[5] = 1;
	assert_int_equal(dns_name_from_text(zone, strlen(zone), name, &l), 0);
	memcpy(p + n, name, l);
	n += l;
	p[n++] = (uint8_t)(qtype >> 8);
	p[n++] = (uint8_t)qtype;
	p[n++] = 0;
	p[n++] = 1;
	if (soa) {
		static const uint8_t tail[] = {0xc0, 12, 0, 6, 0, 1, 0, 0, 0,
					       0, 0, 22, 0, 0};
		p[9] = 1;
		memcpy(p + n, tail, sizeof(tail));
		n += sizeof(tail);
		p[n++] = (uint8_t)(serial >> 24);
		p[n++] = (uint8_t)(serial >> 16);
		p[n++] = (uint8_t)(serial >> 8);
		p[n++] = (uint8_t)serial;
		memset(p + n, 0, 16);
		n += 16;
	}
	return n;
}

static void test_query_parse(void **state)
{
	uint8_t p[512];
	struct xfr_query q;
	size_t n;

	(void)state;
	n = build_query(p, DNS_TYPE_AXFR, "bl.test", false, 0);
	p[13] = 'B';
	assert_int_equal(xfr_query_parse(p, n, &q), XFR_P_OK);
	assert_int_equal(q.id, 0x1234);
	assert_int_equal(q.qtype, DNS_TYPE_AXFR);
	assert_memory_equal(q.qname_lc, zones.bl, zones.bl_len);
	assert_int_equal(q.qname[1], 'B'); /* echoed as asked */
	n = build_query(p, DNS_TYPE_IXFR, "bl.test", true, 4000000000u);
	assert_int_equal(xfr_query_parse(p, n, &q), XFR_P_OK);
	assert_true(q.has_serial);
	assert_int_equal(q.serial, 4000000000u);
	/* An IXFR without its SOA, or with the SOA cut short. */
	n = build_query(p, DNS_TYPE_IXFR, "bl.test", false, 0);
	assert_int_equal(xfr_query_parse(p, n, &q), XFR_P_FORMERR);
	n = build_query(p, DNS_TYPE_IXFR, "bl.test", true, 1);
	assert_int_equal(xfr_query_parse(p, n - 1, &q), XFR_P_FORMERR);
	/* Other queries are not ours; a response is not a query. */
	n = build_query(p, DNS_TYPE_A, "bl.test", false, 0);
	assert_int_equal(xfr_query_parse(p, n, &q), XFR_P_NOT);
	n = build_query(p, DNS_TYPE_AXFR, "bl.test", false, 0);
	p[2] |= 0x80;
	assert_int_equal(xfr_query_parse(p, n, &q), XFR_P_NOT);
	assert_int_equal(xfr_query_parse(p, 5, &q), XFR_P_NOT);
}

/* Read the name at @off of @m (following pointers, which must point
 * backwards) into text. */
static void name_at(const uint8_t *m, size_t len, size_t off, char *out)
{
	size_t o = 0, hops = 0;

	for (;;) {
		uint8_t l;

		assert_true(off < len);
		l = m[off];
		if ((l & 0xc0) == 0xc0) {
			size_t to = (size_t)(l & 0x3f) << 8 | m[off + 1];

			assert_true(to < off);
			assert_true(++hops < 128);
			off = to;
			continue;
		}
		if (!l)
			break;
		memcpy(out + o, m + off + 1, l);
		o += l;
		out[o++] = '.';
		off += 1u + l;
	}
	out[o] = '\0';
}

/* Walk the answers of message @m; returns the count, checks owners. */
static unsigned walk(const uint8_t *m, size_t len, char names[][300],
		     unsigned max)
{
	size_t p = 12;
	unsigned an = (unsigned)(m[6] << 8 | m[7]), i;

	while (m[p])
		p += 1u + m[p];
	p += 5;
	for (i = 0; i < an; i++) {
		size_t rdlen;

		if (i < max)
			name_at(m, len, p, names[i]);
		while (m[p] && (m[p] & 0xc0) != 0xc0)
			p += 1u + m[p];
		p += m[p] ? 2 : 1;
		rdlen = (size_t)m[p + 8] << 8 | m[p + 9];
		p += 10 + rdlen;
	}
	assert_int_equal(p, len);
	return an;
}

static void test_packer(void **state)
{
	static uint8_t buf[DNS_TCP_MAX];
	static char names[2000][300];
	struct xfr_query q;
	struct xfr_msg m;
	struct xfr_name n;
	struct snap_listing li = {SNAP_SPAM | SNAP_AUTH, 20000, 20400};
	struct tl_ip ip;
	uint8_t p[512];
	unsigned i, added = 0, total = 0, msgs = 0;
	size_t len;

	(void)state;
	len = build_query(p, DNS_TYPE_AXFR, "bl.test", false, 0);
	assert_int_equal(xfr_query_parse(p, len, &q), XFR_P_OK);
	/* 3000 names of two A and a TXT: several messages, each within
	 * XFR_MSG_TARGET, every owner readable. */
	i = 0;
	while (i < 3000) {
		unsigned got;

		assert_int_equal(xfr_msg_init(&m, buf, XFR_MSG_TARGET, &q, 0),
				 0);
		added = 0;
		while (i < 3000) {
			tl_ip_from_v4(&ip, 0x51020000u + i * 7u);
			xfr_name_render(&zones, &ip, &li, false, false, &n);
			if (xfr_msg_add_name(&m, &zones, &n, n.codes, true) < 0)
				break;
			added++;
			i++;
		}
		assert_true(added > 0);
		len = xfr_msg_finish(&m);
		assert_true(len <= XFR_MSG_TARGET);
		got = walk(buf, len, names, 2000);
		assert_int_equal(got, added * 3);
		/* The first name of the message, A, A, TXT. */
		tl_ip_from_v4(&ip, 0x51020000u + (i - added) * 7u);
		{
			char want[300];

			snprintf(want, sizeof(want), "%u.%u.%u.%u.bl.test.",
				 ip.a[3], ip.a[2], ip.a[1], ip.a[0]);
			assert_string_equal(names[0], want);
			assert_string_equal(names[2], want);
		}
		total += added;
		msgs++;
	}
	assert_int_equal(total, 3000);
	assert_true(msgs > 1 && msgs < 20);

	/* IPv6 and the mapped test point: nibble names. */
	assert_int_equal(tl_ip_parse("2a02:c7f::1", 11, &ip), 0);
	xfr_name_render(&zones, &ip, &li, false, false, &n);
	assert_int_equal(n.rel_len, 64);
	assert_int_equal(n.rel[1], '1');
	assert_int_equal(n.rel[63], '2');
	tl_ip_from_v4(&ip, 0x7f000002);
	xfr_name_render(&zones, &ip, &li, true, true, &n);
	assert_int_equal(n.rel_len, 64);
	assert_memory_equal(n.txt, "\x13RFC 5782 test point", 20);
	/* A long TXT is split in strings of 255. */
	{
		struct dnsbl_zones z2 = zones;
		char t[700];

		memset(t, 'x', sizeof(t) - 1);
		t[sizeof(t) - 1] = '\0';
		snprintf(z2.txt, sizeof(z2.txt), "%s", t);
		tl_ip_from_v4(&ip, 0x51020304);
		xfr_name_render(&z2, &ip, &li, false, false, &n);
		assert_int_equal(n.txt_len, 699 + 3);
		assert_int_equal(n.txt[0], 255);
		assert_int_equal(n.txt[256], 255);
		assert_int_equal(n.txt[512], 699 - 510);
	}
}

static void test_rr_codec(void **state)
{
	uint8_t buf[4096];
	struct ixfr_rr rr = {(const uint8_t *)"\x03" "160\x02" "69", 7,
			     DNS_TYPE_A, 300, (const uint8_t *)"\x7f\0\0\2", 4},
		       back;
	size_t n;

	(void)state;
	n = ixfr_rr_write(buf, sizeof(buf), &rr);
	assert_int_equal(n, 1 + 7 + 8 + 4);
	assert_int_equal(ixfr_rr_read(buf, n, &back), n);
	assert_int_equal(back.rel_len, 7);
	assert_memory_equal(back.rel, rr.rel, 7);
	assert_int_equal(back.type, DNS_TYPE_A);
	assert_int_equal(back.ttl, 300);
	assert_int_equal(back.rdlen, 4);
	assert_int_equal(ixfr_rr_read(buf, n - 1, &back), 0); /* cut */
	buf[1] = 64; /* a label too long */
	assert_int_equal(ixfr_rr_read(buf, n, &back), 0);
	buf[1] = 3;
	buf[5] = 0; /* an empty label inside */
	assert_int_equal(ixfr_rr_read(buf, n, &back), 0);
	assert_int_equal(ixfr_rr_write(buf, 10, &rr), 0); /* no room */
}

static void put32b(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* A journal image of @nrec records of one A each, serials 10, 20, ... */
static size_t image(uint8_t *p, uint32_t tag, unsigned nrec)
{
	struct ixfr_rr rr = {(const uint8_t *)"\x01" "1", 2, DNS_TYPE_A, 300,
			     (const uint8_t *)"\x7f\0\0\2", 4};
	size_t o = IXFR_FILE_HDR;
	unsigned i;

	memcpy(p, IXFR_FILE_MAGIC, 8);
	put32b(p + 8, tag);
	put32b(p + 12, ixfr_crc(p, 12));
	for (i = 0; i < nrec; i++) {
		uint8_t *h = p + o;
		size_t b = ixfr_rr_write(h + IXFR_REC_HDR, 256, &rr);

		b += ixfr_rr_write(h + IXFR_REC_HDR + b, 256, &rr);
		memset(h, 0, IXFR_REC_HDR);
		put32b(h, IXFR_REC_MAGIC);
		put32b(h + 4, IXFR_REC_VERSION);
		put32b(h + 8, 10 * (i + 1));
		put32b(h + 12, 10 * (i + 2));
		h[23] = 1; /* one deleted */
		h[31] = 1; /* one added */
		h[39] = (uint8_t)b;
		put32b(h + 40, ixfr_crc(h + IXFR_REC_HDR, b));
		put32b(h + 44, ixfr_crc(h, 44));
		o += IXFR_REC_HDR + b;
	}
	return o;
}

static void test_scan(void **state)
{
	uint8_t p[4096];
	struct ixfr_scan s;
	size_t n;

	(void)state;
	n = image(p, 77, 3);
	assert_int_equal(ixfr_journal_scan(p, n, 77, &s), 0);
	assert_int_equal(s.n, 3);
	assert_false(s.cut);
	assert_int_equal(s.good_len, n);
	assert_int_equal(s.recs[2].from, 30);
	assert_int_equal(s.recs[2].to, 40);
	tl_free(s.recs);
	/* Another zone's journal. */
	assert_int_equal(ixfr_journal_scan(p, n, 78, &s), TL_ECORRUPT);
	/* Cut inside the last record: the rest is kept. */
	assert_int_equal(ixfr_journal_scan(p, n - 3, 77, &s), 0);
	assert_int_equal(s.n, 2);
	assert_true(s.cut);
	tl_free(s.recs);
	/* A flipped byte in a body, in a header. */
	p[n - 2] ^= 1;
	assert_int_equal(ixfr_journal_scan(p, n, 77, &s), TL_ECORRUPT);
	assert_non_null(strstr(s.why, "body checksum"));
	n = image(p, 77, 3);
	p[IXFR_FILE_HDR + 9] ^= 1;
	assert_int_equal(ixfr_journal_scan(p, n, 77, &s), TL_ECORRUPT);
	assert_int_equal(ixfr_journal_scan(p, 3, 77, &s), TL_ECORRUPT);
	/* Serials that do not chain. */
	n = image(p, 77, 2);
	{
		uint8_t *h = p + IXFR_FILE_HDR + IXFR_REC_HDR + 30;

		put32b(h + 8, 99);

		put32b(h + 44, ixfr_crc(h, 44));
	}
	assert_int_equal(ixfr_journal_scan(p, n, 77, &s), TL_ECORRUPT);
	assert_non_null(strstr(s.why, "serials"));
}

/* The TSIG record ending message @m (@n bytes): its error, MAC size and
 * other length, and where its RDATA starts. */
static void tsig_fields(const uint8_t *m, size_t n, unsigned *error,
			unsigned *macsize, unsigned *olen)
{
	size_t p = DNS_HEADER_SIZE;
	bool c;

	assert_int_equal(m[11], 1); /* ARCOUNT: the TSIG alone */
	assert_int_equal(m[7] | m[9], 0);
	if (m[5]) {
		assert_true(xfr_name_read(m, n, &p, NULL, NULL, &c));
		p += 4;
	}
	assert_true(xfr_name_read(m, n, &p, NULL, NULL, &c));
	assert_int_equal(m[p] << 8 | m[p + 1], 250);
	p += 10;
	assert_true(xfr_name_read(m, n, &p, NULL, NULL, &c));
	*macsize = (unsigned)(m[p + 8] << 8 | m[p + 9]);
	p += 10 + *macsize;
	*error = (unsigned)(m[p + 2] << 8 | m[p + 3]);
	*olen = (unsigned)(m[p + 4] << 8 | m[p + 5]);
	assert_int_equal(p + 6 + *olen, n);
}

/* Cut the MAC of the TSIG ending @m (@n bytes, a question and the TSIG)
 * to its first @keep bytes, as a client truncating it would; returns the
 * new length. */
static size_t cut_mac(uint8_t *m, size_t n, unsigned keep)
{
	size_t p = DNS_HEADER_SIZE, rdlen_at, mac_at;
	unsigned old;
	bool c;

	assert_true(xfr_name_read(m, n, &p, NULL, NULL, &c));
	p += 4;
	assert_true(xfr_name_read(m, n, &p, NULL, NULL, &c));
	rdlen_at = p + 8;
	p += 10;
	assert_true(xfr_name_read(m, n, &p, NULL, NULL, &c));
	old = (unsigned)(m[p + 8] << 8 | m[p + 9]);
	assert_true(keep <= old);
	m[p + 8] = (uint8_t)(keep >> 8);
	m[p + 9] = (uint8_t)keep;
	mac_at = p + 10;
	memmove(m + mac_at + keep, m + mac_at + old, n - (mac_at + old));
	old -= keep;
	keep = (unsigned)(m[rdlen_at] << 8 | m[rdlen_at + 1]) - old;
	m[rdlen_at] = (uint8_t)(keep >> 8);
	m[rdlen_at + 1] = (uint8_t)keep;
	return n - old;
}

/* A fresh @qtype query for bl.test at @p (room for @size), signed with
 * @k as the first message of @t (reset here) at @when; returns its
 * length. */
static size_t signed_query(uint8_t *p, size_t size, uint16_t qtype,
			   const struct xfr_tsig_key *k, struct xfr_tsig *t,
			   int64_t when)
{
	size_t n = build_query(p, qtype, "bl.test", false, 0);

	*t = (struct xfr_tsig){0};
	assert_int_equal(xfr_tsig_sign(k, t, p, &n, size, when), 0);
	return n;
}

/* A key set holding the key @k alone. */
static struct xfr_tsig_keys one_key(const struct xfr_tsig_key *k)
{
	struct xfr_tsig_keys ks = {.n = 1};

	ks.k[0] = *k;
	return ks;
}

/* RFC 8945 5.3.2: the answer to a request with a bad TSIG says which
 * error, NOTAUTH, no records; signed only for BADTIME (with our time). */
static void tsig_error_answers(const struct xfr_tsig_key *k,
			       const uint8_t *req, size_t reqlen)
{
	struct xfr_tsig_key other;
	struct xfr_tsig_keys ks = one_key(k), ko;
	struct xfr_tsig v;
	uint8_t a[1024];
	size_t n;
	unsigned error, macsize, olen;

	/* A 2000 s late request: BADTIME, signed, other data our time. */
	assert_int_equal(xfr_tsig_verify(&ks, req, reqlen, 3000, &v),
			 XFR_TSIG_BADTIME);
	assert_ptr_equal(v.key, &ks.k[0]);
	n = build_query(a, DNS_TYPE_AXFR, "bl.test", false, 0);
	a[2] |= 0x80;
	assert_int_equal(xfr_tsig_error(XFR_TSIG_BADTIME, &v, a, &n,
					sizeof(a), 3000), 0);
	assert_int_equal(a[3] & 0xf, 9);
	tsig_fields(a, n, &error, &macsize, &olen);
	assert_int_equal(error, 18);
	assert_int_equal(macsize, 32);
	assert_int_equal(olen, 6);
	assert_int_equal(a[n - 1], 3000 & 0xff);
	assert_int_equal(a[n - 2], 3000 >> 8);
	/* Another secret: BADSIG, unsigned, MAC size 0. */
	assert_int_equal(xfr_tsig_key_parse("xfr.key:hmac-sha256:b3RoZXI=",
					    &other), 0);
	ko = one_key(&other);
	assert_int_equal(xfr_tsig_verify(&ko, req, reqlen, 1000, &v),
			 XFR_TSIG_BADSIG);
	n = build_query(a, DNS_TYPE_AXFR, "bl.test", false, 0);
	assert_int_equal(xfr_tsig_error(XFR_TSIG_BADSIG, &v, a, &n,
					sizeof(a), 1000), 0);
	tsig_fields(a, n, &error, &macsize, &olen);
	assert_int_equal(error, 16);
	assert_int_equal(macsize, 0);
	assert_int_equal(olen, 0);
	/* No room: the message is left as it was. */
	n = build_query(a, DNS_TYPE_AXFR, "bl.test", false, 0);
	assert_int_equal(xfr_tsig_error(XFR_TSIG_BADSIG, &v, a, &n, n + 4,
					1000), TL_ENOSPC);
	assert_int_equal(a[11], 0);
	assert_int_equal(xfr_tsig_error(XFR_TSIG_OK, &v, a, &n, sizeof(a),
					1000), TL_EINVAL);
}

static void test_tsig(void **state)
{
	struct xfr_tsig_key k, k2, other;
	struct xfr_tsig_keys ks, k2s, kos;
	struct xfr_tsig t = {0}, v;
	uint8_t p[1024];
	size_t n, signed_len;

	(void)state;
	assert_int_equal(xfr_tsig_key_parse("Xfr.Key:hmac-sha256:"
					    "c2VjcmV0c2VjcmV0c2VjcmV0", &k), 0);
	assert_int_equal(k.secret_len, 18);
	assert_memory_equal(k.name, "\x03xfr\x03key", 9); /* lower case */
	assert_int_equal(xfr_tsig_key_parse("k:hmac-md5:c2VjcmV0", &other),
			 TL_ESYNTAX);
	assert_int_equal(xfr_tsig_key_parse("k:hmac-sha256:c2Vj!", &other),
			 TL_ESYNTAX);
	assert_int_equal(xfr_tsig_key_parse("xfr.key:hmac-sha256:b3RoZXI=",
					    &other), 0);
	assert_int_equal(other.secret_len, 5);
	assert_int_equal(xfr_tsig_key_parse("xfr2.key:hmac-sha256:"
					    "c2VjcmV0c2VjcmV0c2VjcmV0", &k2), 0);
	ks = one_key(&k);
	k2s = one_key(&k2);
	kos = one_key(&other);
	/* A request signed as NOTIFY is: it verifies with the key, at a
	 * time within the fudge, and with nothing changed. */
	n = build_query(p, DNS_TYPE_AXFR, "bl.test", false, 0);
	assert_int_equal(xfr_tsig_verify(&ks, p, n, 1000, &v), XFR_TSIG_NONE);
	assert_int_equal(xfr_tsig_sign(&k, &t, p, &n, sizeof(p), 1000), 0);
	signed_len = n;
	assert_int_equal(p[11], 1); /* ARCOUNT */
	assert_int_equal(xfr_tsig_verify(&ks, p, n, 1100, &v), XFR_TSIG_OK);
	assert_int_equal(v.mac_len, 32);
	assert_memory_equal(v.mac, t.mac, 32);
	assert_int_equal(xfr_tsig_verify(&ks, p, n, 1000 + 301, &v),
			 XFR_TSIG_BADTIME); /* too late */
	assert_int_equal(v.mac_len, 32); /* the error answer is signed */
	assert_int_equal(xfr_tsig_verify(&kos, p, n, 1000, &v),
			 XFR_TSIG_BADSIG); /* another secret */
	p[13] ^= 1;
	assert_int_equal(xfr_tsig_verify(&ks, p, n, 1000, &v),
			 XFR_TSIG_BADSIG);
	p[13] ^= 1;
	assert_int_equal(xfr_tsig_verify(&ks, p, n - 1, 1000, &v),
			 XFR_TSIG_FORMERR); /* cut */
	assert_int_equal(xfr_tsig_verify(&k2s, p, n, 1000, &v),
			 XFR_TSIG_BADKEY); /* another key's name */
	tsig_error_answers(&k, p, signed_len);
	/* No room: nothing changes. */
	n = build_query(p, DNS_TYPE_AXFR, "bl.test", false, 0);
	assert_int_equal(xfr_tsig_sign(&k, &t, p, &n, n + 10, 1000),
			 TL_ENOSPC);
	assert_int_equal(p[11], 0);
	assert_true(signed_len > n);
}

/* Each algorithm a key may have: its MAC is that HMAC's length, and
 * truncation is bounded by it (half, and 10 bytes at least); a request
 * naming the key in another algorithm gets BADKEY. */
static void test_tsig_algorithms(void **state)
{
	static const struct {
		const char *name;
		unsigned mac_len, min;
	} algs[] = {
		{"hmac-sha1", 20, 10},   {"HMAC-SHA224", 28, 14},
		{"hmac-sha256", 32, 16}, {"hmac-sha384", 48, 24},
		{"hmac-sha512", 64, 32},
	};
	const size_t nalgs = sizeof(algs) / sizeof(algs[0]);
	struct xfr_tsig_key k, other;
	struct xfr_tsig_keys ks, kos;
	struct xfr_tsig t, v;
	uint8_t p[1024], q[1024];
	char text[128];
	size_t i, n, m;

	(void)state;
	for (i = 0; i < nalgs; i++) {
		snprintf(text, sizeof(text), "xfr.key:%s:c2VjcmV0c2VjcmV0",
			 algs[i].name);
		assert_int_equal(xfr_tsig_key_parse(text, &k), 0);
		ks = one_key(&k);
		n = signed_query(p, sizeof(p), DNS_TYPE_AXFR, &k, &t, 1000);
		assert_int_equal(t.mac_len, algs[i].mac_len);
		assert_int_equal(xfr_tsig_verify(&ks, p, n, 1000, &v),
				 XFR_TSIG_OK);
		assert_int_equal(v.mac_len, algs[i].mac_len);
		/* The same name and secret in the next algorithm: BADKEY. */
		snprintf(text, sizeof(text), "xfr.key:%s:c2VjcmV0c2VjcmV0",
			 algs[(i + 1) % nalgs].name);
		assert_int_equal(xfr_tsig_key_parse(text, &other), 0);
		kos = one_key(&other);
		assert_int_equal(xfr_tsig_verify(&kos, p, n, 1000, &v),
				 XFR_TSIG_BADKEY);
		memcpy(q, p, n);
		m = cut_mac(q, n, algs[i].min);
		assert_int_equal(xfr_tsig_verify(&ks, q, m, 1000, &v),
				 XFR_TSIG_BADTRUNC);
		memcpy(q, p, n);
		m = cut_mac(q, n, algs[i].min - 1);
		assert_int_equal(xfr_tsig_verify(&ks, q, m, 1000, &v),
				 XFR_TSIG_FORMERR);
	}
	assert_int_equal(xfr_tsig_key_parse("k:hmac-sha1x:c2VjcmV0", &k),
			 TL_ESYNTAX);
	assert_int_equal(xfr_tsig_key_parse("k:hmac-sha:c2VjcmV0", &k),
			 TL_ESYNTAX);
}

/* RFC 8945 5.3: an answer to a signed query that its TSIG does not fit
 * beside (512 bytes over UDP) goes as the question alone, TC set,
 * NOERROR, signed; one that fits is signed as it is. */
static void test_tsig_answer_too_big(void **state)
{
	struct xfr_tsig_key k;
	struct xfr_tsig_keys ks;
	struct xfr_tsig t = {0};
	uint8_t q[512], a[512];
	size_t n, m, qe;
	unsigned error, macsize, olen;

	(void)state;
	assert_int_equal(xfr_tsig_key_parse("xfr.key:hmac-sha512:"
					    "c2VjcmV0c2VjcmV0", &k), 0);
	ks = one_key(&k);
	n = signed_query(q, sizeof(q), DNS_TYPE_SOA, &k, &t, time(NULL));
	/* The answer: the question and one record's worth of bytes (their
	 * content is not read), with rcode NXDOMAIN to see it cleared. */
	qe = build_query(a, DNS_TYPE_SOA, "bl.test", false, 0);
	a[2] |= 0x84; /* QR, AA */
	a[3] |= 3;
	a[7] = 1;
	memset(a + qe, 0, sizeof(a) - qe);
	m = xfr_tsig_answer(&ks, q, n, a, qe + 100, sizeof(a));
	assert_int_equal(a[2] & 0x02, 0); /* fits: as it was, signed */
	assert_int_equal(a[3] & 0xf, 3);
	assert_int_equal(a[7], 1);
	assert_int_equal(a[11], 1);
	assert_true(m > qe + 100 + 64);
	a[11] = 0;
	m = xfr_tsig_answer(&ks, q, n, a, qe + 400, sizeof(a));
	assert_int_equal(a[2] & 0x02, 0x02); /* TC */
	assert_int_equal(a[3] & 0xf, 0);      /* NOERROR */
	tsig_fields(a, m, &error, &macsize, &olen); /* the question, TSIG */
	assert_int_equal(error, 0);
	assert_int_equal(macsize, 64);
	assert_int_equal(olen, 0);
}

/* RFC 8945 5.2: a truncated MAC is checked as far as it goes, then the
 * time, and only then refused as too short (BADTRUNC), signed (5.3.2). */
static void test_tsig_truncated(void **state)
{
	struct xfr_tsig_key k;
	struct xfr_tsig_keys ks;
	struct xfr_tsig t = {0}, v;
	uint8_t p[1024], q[1024], a[1024];
	size_t n, m;
	unsigned error, macsize, olen;

	(void)state;
	assert_int_equal(xfr_tsig_key_parse("xfr.key:hmac-sha256:"
					    "c2VjcmV0c2VjcmV0c2VjcmV0", &k), 0);
	ks = one_key(&k);
	n = signed_query(p, sizeof(p), DNS_TYPE_AXFR, &k, &t, 1000);
	memcpy(q, p, n);
	m = cut_mac(q, n, 16);
	assert_int_equal(m, n - 16);
	assert_int_equal(xfr_tsig_verify(&ks, q, m, 1000, &v),
			 XFR_TSIG_BADTRUNC);
	assert_ptr_equal(v.key, &ks.k[0]);
	assert_int_equal(v.mac_len, 16);
	assert_memory_equal(v.mac, t.mac, 16);
	/* The error answer is signed, over the request's 16-byte MAC. */
	memcpy(a, q, m);
	a[2] |= 0x80;
	n = m;
	assert_int_equal(xfr_tsig_error(XFR_TSIG_BADTRUNC, &v, a, &n,
					sizeof(a), 1000), 0);
	assert_int_equal(a[3] & 0xf, DNS_RCODE_NOTAUTH);
	tsig_fields(a, n, &error, &macsize, &olen);
	assert_int_equal(error, 22);
	assert_int_equal(macsize, 32);
	assert_int_equal(olen, 0);
	/* Out of time too: BADTIME comes first. */
	assert_int_equal(xfr_tsig_verify(&ks, q, m, 1000 + 301, &v),
			 XFR_TSIG_BADTIME);
	/* A wrong truncated MAC: BADSIG, not BADTRUNC. */
	q[m - 6 - 1] ^= 1;
	assert_int_equal(xfr_tsig_verify(&ks, q, m, 1000, &v),
			 XFR_TSIG_BADSIG);
	/* Below half the HMAC: malformed. */
	n = signed_query(p, sizeof(p), DNS_TYPE_AXFR, &k, &t, 1000);
	m = cut_mac(p, n, 15);
	assert_int_equal(xfr_tsig_verify(&ks, p, m, 1000, &v),
			 XFR_TSIG_FORMERR);
}

/* Several keys: a request is checked against the key it names, and its
 * answer signed with that key. */
static void test_tsig_keys(void **state)
{
	struct xfr_tsig_keys ks;
	struct xfr_tsig t = {0}, v;
	uint8_t p[1024];
	size_t n;

	(void)state;
	assert_int_equal(xfr_tsig_keys_parse("", &ks), 0);
	assert_int_equal(ks.n, 0);
	assert_int_equal(xfr_tsig_keys_parse("a.key:hmac-sha256:c2VjcmV0, "
					     "B.key:hmac-sha256:b3RoZXI=",
					     &ks), 0);
	assert_int_equal(ks.n, 2);
	assert_ptr_equal(xfr_tsig_key_find(&ks, (const uint8_t *)"\1b\3key",
					   7), &ks.k[1]);
	assert_null(xfr_tsig_key_find(&ks, (const uint8_t *)"\1c\3key", 7));
	/* Signed with the second: OK, and that key signs the answer. */
	n = signed_query(p, sizeof(p), DNS_TYPE_AXFR, &ks.k[1], &t, 1000);
	assert_int_equal(xfr_tsig_verify(&ks, p, n, 1000, &v), XFR_TSIG_OK);
	assert_ptr_equal(v.key, &ks.k[1]);
	{
		/* xfr_tsig_answer, now: the answer is signed, its TSIG
		 * owner b.key; the rcode stays. */
		struct xfr_tsig c = {0};
		uint8_t q[1024], a[1024];
		size_t qn = build_query(q, DNS_TYPE_SOA, "bl.test", false, 0);
		size_t an, at = DNS_HEADER_SIZE;
		bool comp;

		assert_int_equal(xfr_tsig_sign(&ks.k[1], &c, q, &qn, sizeof(q),
					       time(NULL)), 0);
		an = build_query(a, DNS_TYPE_SOA, "bl.test", false, 0);
		a[2] |= 0x80;
		an = xfr_tsig_answer(&ks, q, qn, a, an, sizeof(a));
		assert_int_equal(a[3] & 0xf, 0);
		assert_int_equal(a[11], 1);
		assert_true(xfr_name_read(a, an, &at, NULL, NULL, &comp));
		at += 4;
		assert_memory_equal(a + at, "\1b\3key", 7);
	}
	/* The second's name with the first's secret: BADSIG, not OK. */
	memcpy(ks.k[1].secret, ks.k[0].secret, ks.k[0].secret_len);
	ks.k[1].secret_len = ks.k[0].secret_len;
	assert_int_equal(xfr_tsig_verify(&ks, p, n, 1000, &v),
			 XFR_TSIG_BADSIG);
	/* Two keys of one name, a bad item, too many: refused. */
	assert_int_equal(xfr_tsig_keys_parse("a:hmac-sha256:c2VjcmV0 "
					     "A:hmac-sha256:b3RoZXI=", &ks),
			 TL_ESYNTAX);
	assert_int_equal(xfr_tsig_keys_parse("a:hmac-sha256:c2VjcmV0,b:x",
					     &ks), TL_ESYNTAX);
	{
		char many[XFR_TSIG_KEYS_MAX * 40 + 40];
		size_t o = 0;
		int i;

		for (i = 0; i <= XFR_TSIG_KEYS_MAX; i++)
			o += (size_t)snprintf(many + o, sizeof(many) - o,
					      "k%d:hmac-sha256:c2VjcmV0 ", i);
		assert_int_equal(xfr_tsig_keys_parse(many, &ks), TL_ESYNTAX);
	}
}

/* ---- the diff of two real snapshots ------------------------------------ */

static void add_ev(struct tl_store *s, const char *ip, tl_day day,
		   enum tl_kind kind)
{
	struct tl_event ev;

	tl_event_init(&ev);
	assert_int_equal(tl_ip_parse(ip, strlen(ip), &ev.ip), 0);
	ev.time = (int64_t)day * 86400 + 3600;
	ev.kind = (uint8_t)kind;
	assert_int_equal(tl_store_append(s, &ev), 0);
}

static void test_journal_diff(void **state)
{
	struct tl_store_opts o = {1ull << 30, false};
	char dir[64] = "/tmp/test_xfr_XXXXXX", st[128], p1[128], p2[128],
	     jp[128], cmd[160];
	tl_day today = tl_day_from_civil(2026, 11, 27);
	struct tl_config cfg;
	struct tl_policy pol;
	struct snap_info info;
	struct ixfr_journal j;
	struct ixfr_rec *chain;
	struct tl_store *s;
	struct snap *a, *b;
	size_t n;
	int fd;
	uint32_t tag = ixfr_zone_tag(zones.bl, zones.bl_len);

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(st, sizeof(st), "%s/store", dir);
	snprintf(p1, sizeof(p1), "%s/1.snap", dir);
	snprintf(p2, sizeof(p2), "%s/2.snap", dir);
	snprintf(jp, sizeof(jp), "%s/bl.ixfr", dir);
	tl_config_defaults(&cfg);
	tl_policy_from_config(&pol, &cfg);
	assert_int_equal(tl_store_open(st, TL_STORE_WRITE, &o, &s), 0);
	add_ev(s, "81.2.69.160", today - 1, TL_KIND_SPAM);
	add_ev(s, "81.2.69.161", today - 1, TL_KIND_SPAM);
	add_ev(s, "2a02:c7f::1", today - 1, TL_KIND_SPAM);
	assert_int_equal(tl_store_commit(s), 0);
	assert_int_equal(snap_build(s, &pol, today, 100, p1, &info, false), 0);
	add_ev(s, "81.2.69.161", today, TL_KIND_AUTH); /* A and TXT change */
	add_ev(s, "81.2.69.170", today, TL_KIND_MALWARE); /* new */
	assert_int_equal(tl_store_commit(s), 0);
	assert_int_equal(snap_build(s, &pol, today, 200, p2, &info, false), 0);
	tl_store_close(s);
	assert_int_equal(snap_load(p1, &a), 0);
	assert_int_equal(snap_load(p2, &b), 0);

	assert_int_equal(ixfr_journal_open(&j, jp, tag, 5, 1 << 20), 0);
	assert_int_equal(ixfr_journal_append(&j, &zones, a, b), 0);
	assert_int_equal(j.n, 1);
	assert_int_equal(j.recs[0].from, 100);
	assert_int_equal(j.recs[0].to, 200);
	assert_int_equal(j.recs[0].ndel, 1); /* .161's old TXT */
	assert_int_equal(j.recs[0].nadd, 4); /* .161 A+TXT, .170 A+TXT */
	assert_int_equal(ixfr_journal_chain(&j, 100, 200, &chain, &n, &fd), 0);
	assert_int_equal(n, 1);
	close(fd);
	tl_free(chain);
	assert_int_equal(ixfr_journal_chain(&j, 50, 200, &chain, &n, &fd),
			 TL_ENOENT);
	/* The same pair again does not chain from 200: reset, rewritten. */
	assert_int_equal(ixfr_journal_append(&j, &zones, a, b), 0);
	assert_int_equal(j.n, 1);
	ixfr_journal_close(&j);
	/* Reopened: the same index. */
	assert_int_equal(ixfr_journal_open(&j, jp, tag, 5, 1 << 20), 0);
	assert_int_equal(j.n, 1);
	assert_int_equal(j.recs[0].nadd, 4);
	ixfr_journal_close(&j);
	/* Too small a bound: not journalled, and the journal is empty. */
	assert_int_equal(ixfr_journal_open(&j, jp, tag, 5, 100), 0);
	assert_int_equal(ixfr_journal_append(&j, &zones, a, b), TL_ELIMIT);
	assert_int_equal(j.n, 0);
	/* Going backwards (RFC 1982) resets it too. */
	assert_int_equal(ixfr_journal_append(&j, &zones, b, a), 0);
	assert_int_equal(j.n, 0);
	ixfr_journal_close(&j);
	/* The SOA a transfer carries is the one the server answers. */
	{
		uint8_t q[512], out[4096], rd[XFR_RDATA_MAX];
		struct dnsbl_stats dst;
		size_t len, ql, rl;

		memset(&dst, 0, sizeof(dst));
		ql = build_query(q, DNS_TYPE_SOA, "bl.test", false, 0);
		len = dnsbl_answer(&zones, b, q, ql, false, out, &dst);
		assert_int_equal(out[7], 1); /* one answer */
		rl = xfr_soa_rdata(&zones, 200, rd);
		/* serial and timers (the names may be compressed there) */
		assert_memory_equal(out + len - 20, rd + rl - 20, 20);
		/* and the TTL */
		assert_memory_equal(out + ql + 6, "\0\0\x01\x2c", 4);
	}

	snap_free(a);
	snap_free(b);
	tl_config_free(&cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void op_list(struct tl_oplist *l, const char *pfx, tl_day day)
{
	struct tl_op_entry e;

	memset(&e, 0, sizeof(e));
	e.kind = TL_OP_LIST;
	assert_int_equal(tl_prefix_parse(pfx, strlen(pfx), true, &e.pfx), 0);
	e.added = (int64_t)day * 86400;
	e.expires = TL_OPLIST_NO_EXPIRY;
	strcpy(e.who, "test");
	strcpy(e.reason, "test");
	assert_int_equal(tl_oplist_put(l, &e), 0);
}

/* Range names: their wire form, and the journal's difference of two
 * snapshots' ranges (one /22 gone, one /26 come, one /24 kept). */
static void test_range_names_diff(void **state)
{
	struct tl_store_opts o = {1ull << 30, false};
	char dir[64] = "/tmp/test_xfr_XXXXXX", st[128], p1[128], p2[128],
	     jp[128], cmd[160];
	tl_day today = tl_day_from_civil(2026, 11, 27);
	struct tl_config cfg;
	struct tl_policy pol, pa, pb;
	struct tl_oplist la, lb;
	struct snap_info info;
	struct snap_rname_iter it;
	struct snap_rname rn;
	struct ixfr_journal j;
	struct xfr_name n;
	struct tl_store *s;
	struct snap *a, *b;
	uint32_t tag = ixfr_zone_tag(zones.bl, zones.bl_len);

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(st, sizeof(st), "%s/store", dir);
	snprintf(p1, sizeof(p1), "%s/1.snap", dir);
	snprintf(p2, sizeof(p2), "%s/2.snap", dir);
	snprintf(jp, sizeof(jp), "%s/bl.ixfr", dir);
	tl_config_defaults(&cfg);
	tl_policy_from_config(&pol, &cfg);
	tl_oplist_init(&la);
	tl_oplist_init(&lb);
	op_list(&la, "192.0.2.0/24", today - 3);
	op_list(&la, "198.51.100.0/22", today - 3);
	op_list(&lb, "192.0.2.0/24", today - 3);
	op_list(&lb, "203.0.113.64/26", today);
	assert_int_equal(tl_oplist_compile(&la, today), 0);
	assert_int_equal(tl_oplist_compile(&lb, today), 0);
	pa = pol;
	pa.ops = &la;
	pb = pol;
	pb.ops = &lb;
	assert_int_equal(tl_store_open(st, TL_STORE_WRITE, &o, &s), 0);
	add_ev(s, "81.2.69.160", today - 1, TL_KIND_SPAM);
	assert_int_equal(tl_store_commit(s), 0);
	assert_int_equal(snap_build(s, &pa, today, 100, p1, &info, false), 0);
	assert_int_equal(snap_build(s, &pb, today, 200, p2, &info, false), 0);
	tl_store_close(s);
	assert_int_equal(snap_load(p1, &a), 0);
	assert_int_equal(snap_load(p2, &b), 0);

	snap_rnames_start(&it, a, 4);
	assert_true(snap_rnames_next(&it, &rn));
	xfr_rname_render(&zones, &rn, &n);
	assert_int_equal(n.rel_len, 10);
	assert_memory_equal(n.rel, "\1*\0012\0010\003192", 10);
	assert_int_equal(n.codes, SNAP_OPERATOR);
	assert_false(n.has_a);
	/* the TXT names the block */
	assert_non_null(memmem(n.txt, n.txt_len, "192.0.2.0/24", 12));
	assert_true(snap_rnames_next(&it, &rn));
	xfr_rname_render(&zones, &rn, &n);
	assert_int_equal(n.rel_len, 13);
	assert_memory_equal(n.rel, "\1*\003100\00251\003198", 13);
	assert_non_null(memmem(n.txt, n.txt_len, "198.51.100.0/22", 15));

	assert_int_equal(ixfr_journal_open(&j, jp, tag, 5, 1 << 20), 0);
	assert_int_equal(ixfr_journal_append(&j, &zones, a, b), 0);
	assert_int_equal(j.n, 1);
	assert_int_equal(j.recs[0].ndel, 4 * 2);  /* the /22's wildcards */
	assert_int_equal(j.recs[0].nadd, 64 * 2); /* the /26's names */
	ixfr_journal_close(&j);

	snap_free(a);
	snap_free(b);
	tl_oplist_free(&la);
	tl_oplist_free(&lb);
	tl_config_free(&cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_parse),
		cmocka_unit_test(test_packer),
		cmocka_unit_test(test_rr_codec),
		cmocka_unit_test(test_scan),
		cmocka_unit_test(test_tsig),
		cmocka_unit_test(test_tsig_keys),
		cmocka_unit_test(test_tsig_truncated),
		cmocka_unit_test(test_tsig_algorithms),
		cmocka_unit_test(test_tsig_answer_too_big),
		cmocka_unit_test(test_journal_diff),
		cmocka_unit_test(test_range_names_diff),
	};

	return cmocka_run_group_tests(tests, setup_zones, NULL);
}
