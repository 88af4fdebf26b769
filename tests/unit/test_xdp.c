/* SPDX-License-Identifier: MIT */
/* test_xdp.c -- the frames of [dns] xdp: which frames are taken as
 * queries, and the replies' headers, checked by sums computed here
 *
 * The frames are put together byte by byte below, as the kernel hands
 * them over: Ethernet, then IPv4 or IPv6, then UDP, then the message.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "dns/xdp.h"

#define MSG_LEN 29 /* a query's bytes in these frames */

static const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0, 0xaa};
static const uint8_t mac_b[6] = {0x02, 0, 0, 0, 0, 0xbb};
static const uint8_t v4_client[4] = {192, 0, 2, 7};
static const uint8_t v4_server[4] = {198, 51, 100, 53};
static const uint8_t v6_client[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 7};
static const uint8_t v6_server[16] = {0x20, 0x01, 0x0d, 0xb8, [14] = 0x53};

static void p16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static unsigned g16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* The ones' complement sum over @n bytes, folded (RFC 1071). */
static unsigned csum(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i < n; i += 2)
		s += (uint32_t)(p[i] << 8 | (i + 1 < n ? p[i + 1] : 0));
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

/* Set the IPv4 header checksum of frame @f, as a sender does. */
static void fix_sum(uint8_t *f)
{
	if (g16(f + 12) != 0x0800)
		return;
	p16(f + 24, 0);
	p16(f + 24, ~csum(f + 14, 20, 0) & 0xffff);
}

/* A query frame from the client's port 40000 to the server's port 53;
 * returns its length. */
static size_t frame(uint8_t *f, bool v6)
{
	size_t ip = 14, udp = v6 ? 54 : 34, msg = udp + 8, i;

	memset(f, 0, 200);
	memcpy(f, mac_b, 6); /* to the server's MAC, from the client's */
	memcpy(f + 6, mac_a, 6);
	if (v6) {
		p16(f + 12, 0x86dd);
		f[ip] = 0x60;
		p16(f + ip + 4, 8 + MSG_LEN);
		f[ip + 6] = 17;
		f[ip + 7] = 61;
		memcpy(f + ip + 8, v6_client, 16);
		memcpy(f + ip + 24, v6_server, 16);
	} else {
		p16(f + 12, 0x0800);
		f[ip] = 0x45;
		p16(f + ip + 2, 20 + 8 + MSG_LEN);
		p16(f + ip + 6, 0x4000);
		f[ip + 8] = 61;
		f[ip + 9] = 17;
		memcpy(f + ip + 12, v4_client, 4);
		memcpy(f + ip + 16, v4_server, 4);
	}
	p16(f + udp, 40000);
	p16(f + udp + 2, 53);
	p16(f + udp + 4, 8 + MSG_LEN);
	for (i = 0; i < MSG_LEN; i++)
		f[msg + i] = (uint8_t)(i * 7 + 1);
	fix_sum(f);
	return msg + MSG_LEN;
}

static void test_queries_taken(void **state)
{
	uint8_t f[200];
	struct dns_frame q;
	size_t len;

	(void)state;
	len = frame(f, false);
	assert_true(dns_frame_query(f, len, &q));
	assert_false(q.v6);
	assert_int_equal(q.off, 42);
	assert_int_equal(q.len, MSG_LEN);
	/* Ethernet pads a short frame: the IP length says where it ends. */
	assert_true(dns_frame_query(f, len + 20, &q));
	assert_int_equal(q.len, MSG_LEN);

	len = frame(f, true);
	assert_true(dns_frame_query(f, len, &q));
	assert_true(q.v6);
	assert_int_equal(q.off, 62);
	assert_int_equal(q.len, MSG_LEN);
}

/* Change byte @at of a good frame to @v (the IPv4 checksum made right
 * again): no longer taken, for that change. */
static void refused(bool v6, size_t at, uint8_t v, size_t cut)
{
	uint8_t f[200];
	struct dns_frame q;
	size_t len = frame(f, v6);

	f[at] = v;
	fix_sum(f);
	assert_false(dns_frame_query(f, len - cut, &q));
}

static void test_others_left(void **state)
{
	uint8_t f[200];
	struct dns_frame q;
	size_t len, n;

	(void)state;
	refused(false, 12, 0x81, 0);    /* a VLAN tag */
	refused(false, 14, 0x46, 0);    /* IPv4 options */
	refused(false, 14, 0x65, 0);    /* not version 4 */
	refused(false, 23, 6, 0);       /* TCP */
	refused(false, 20, 0x20, 0);    /* more fragments */
	refused(false, 21, 0x01, 0);    /* a later fragment */
	refused(false, 17, 20 + 8 + MSG_LEN + 1, 0); /* IP longer than the frame */
	refused(false, 17, 20 + 7, 0);  /* IP too short for UDP */
	refused(false, 39, 8 + MSG_LEN - 1, 0); /* UDP and IP disagree */
	len = frame(f, false);          /* source port 0 */
	p16(f + 34, 0);
	fix_sum(f);
	assert_false(dns_frame_query(f, len, &q));
	len = frame(f, true);
	p16(f + 54, 0);
	assert_false(dns_frame_query(f, len, &q));
	refused(false, 0, 0, 1);        /* a byte short */
	len = frame(f, false);          /* a damaged IPv4 header */
	f[22]--;
	assert_false(dns_frame_query(f, len, &q));
	refused(false, 0, 0xff, 0);     /* to the broadcast MAC */
	refused(false, 6, 0x01, 0);     /* from a group MAC */
	refused(false, 30, 255, 0);     /* to 255.x: broadcast */
	refused(false, 30, 239, 0);     /* to multicast */
	refused(false, 26, 0, 0);       /* from 0.x */
	refused(false, 26, 224, 0);     /* from multicast */
	refused(true, 38, 0xff, 0);     /* to IPv6 multicast */
	refused(true, 22, 0xff, 0);     /* from it */
	refused(true, 20, 0, 0);        /* a hop-by-hop header first */
	refused(true, 14, 0x40, 0);     /* not version 6 */
	refused(true, 19, 8 + MSG_LEN + 1, 0); /* longer than the frame */
	refused(true, 59, 8 + MSG_LEN + 1, 0); /* UDP and IP disagree */
	refused(true, 0, 0, 1);
	len = frame(f, true);           /* from :: */
	memset(f + 22, 0, 16);
	assert_false(dns_frame_query(f, len, &q));

	/* Every prefix of a good frame but the whole is refused (the
	 * frame's end is below the lengths), none read past it. */
	for (int v6 = 0; v6 < 2; v6++) {
		len = frame(f, v6);
		for (n = 0; n < len; n++) {
			uint8_t cut[200];

			memcpy(cut, f, n);
			assert_false(dns_frame_query(cut, n, &q));
		}
	}
}

static void test_reply_v4(void **state)
{
	uint8_t f[200], r[300];
	struct dns_frame q;
	size_t len = frame(f, false), dlen = 77, rl;

	(void)state;
	assert_true(dns_frame_query(f, len, &q));
	memset(r, 0xee, sizeof(r));
	memset(r + q.off, 0x5a, dlen);
	rl = dns_frame_reply(f, &q, r, dlen);
	assert_int_equal(rl, 42 + dlen);
	assert_memory_equal(r, mac_a, 6);
	assert_memory_equal(r + 6, mac_b, 6);
	assert_int_equal(g16(r + 12), 0x0800);
	assert_int_equal(r[14], 0x45);
	assert_int_equal(g16(r + 16), 20 + 8 + dlen);
	assert_int_equal(g16(r + 20) & 0x3fff, 0); /* not a fragment */
	assert_true(r[22] > 0);                    /* a TTL */
	assert_int_equal(r[23], 17);
	assert_memory_equal(r + 26, v4_server, 4);
	assert_memory_equal(r + 30, v4_client, 4);
	/* The header sums to all ones with its checksum. */
	assert_int_equal(csum(r + 14, 20, 0), 0xffff);
	assert_int_equal(g16(r + 34), 53);
	assert_int_equal(g16(r + 36), 40000);
	assert_int_equal(g16(r + 38), 8 + dlen);
	assert_int_equal(g16(r + 40), 0); /* no UDP checksum over IPv4 */
	assert_int_equal(r[42], 0x5a);    /* the message left as it was */
	assert_int_equal(r[42 + dlen - 1], 0x5a);
	/* The reply is a frame the parser would take, the other way. */
	assert_true(dns_frame_query(r, rl, &q));
	assert_int_equal(q.len, dlen);
}

static void test_reply_v6(void **state)
{
	uint8_t f[200], r[300], pseudo[40];
	struct dns_frame q;
	size_t len = frame(f, true), rl;

	(void)state;
	assert_true(dns_frame_query(f, len, &q));
	/* Odd and even lengths: the last byte of an odd one is padded. */
	for (size_t dlen = 76; dlen <= 77; dlen++) {
		memset(r, 0xee, sizeof(r));
		for (size_t i = 0; i < dlen; i++)
			r[q.off + i] = (uint8_t)(i * 13);
		rl = dns_frame_reply(f, &q, r, dlen);
		assert_int_equal(rl, 62 + dlen);
		assert_memory_equal(r, mac_a, 6);
		assert_int_equal(g16(r + 12), 0x86dd);
		assert_int_equal(r[14] >> 4, 6);
		assert_int_equal(g16(r + 18), 8 + dlen);
		assert_int_equal(r[20], 17);
		assert_true(r[21] > 0);
		assert_memory_equal(r + 22, v6_server, 16);
		assert_memory_equal(r + 38, v6_client, 16);
		assert_int_equal(g16(r + 54), 53);
		assert_int_equal(g16(r + 56), 40000);
		assert_int_equal(g16(r + 58), 8 + dlen);
		/* RFC 8200 8.1: the pseudo-header (addresses, length, next
		 * header) and the datagram sum to all ones, and the
		 * checksum is never 0. */
		memcpy(pseudo, r + 22, 32);
		memset(pseudo + 32, 0, 8);
		p16(pseudo + 34, (unsigned)(8 + dlen));
		pseudo[39] = 17;
		assert_int_not_equal(g16(r + 60), 0);
		assert_int_equal(csum(r + 54, 8 + dlen, csum(pseudo, 40, 0)),
				 0xffff);
		assert_true(dns_frame_query(r, rl, &q));
		assert_int_equal(q.len, dlen);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_queries_taken),
		cmocka_unit_test(test_others_left),
		cmocka_unit_test(test_reply_v4),
		cmocka_unit_test(test_reply_v6),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
