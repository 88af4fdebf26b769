/* SPDX-License-Identifier: MIT */
/*
 * bench/xdpnull.c -- nullsrv's answer (the query back, QR set, REFUSED)
 * over an AF_XDP socket instead of a UDP socket: what the per-datagram
 * floor would be if a server took its queries off the interface itself,
 * as Knot DNS does with XDP, rather than through the UDP stack.
 *
 * usage: xdpnull PORT WAIT_US [IFNAME]
 *   An XDP program (generic mode, so any interface, lo included) sends
 *   IPv4 UDP datagrams to PORT, unfragmented and without IP options, to
 *   the AF_XDP socket of queue 0; everything else goes on to the stack.
 *   Replies go out through the socket's TX ring. WAIT_US: the coalescing
 *   wait under a steady stream, as nullsrv batch and trapline have.
 *   IFNAME defaults to lo. Needs CAP_NET_ADMIN and CAP_BPF (root); run it
 *   in a network namespace of its own (unshare -n) with its client, so
 *   the machine's own loopback is not touched.
 * Not part of trapline: a measurement, built by floor.sh.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "nullans.h"

#ifndef SOL_XDP
#define SOL_XDP 283
#endif
#ifndef AF_XDP
#define AF_XDP 44
#endif

#define NFRAMES 4096    /* UMEM frames (count): half RX, half TX */
#define FRAME 2048      /* bytes a frame */
#define RING 2048       /* entries in each ring */
#define HDR 42          /* Ethernet + IPv4 (no options) + UDP */

struct ring {
	uint32_t *prod, *cons, *flags;
	void *desc;
	uint32_t mask;
};

static long sys_bpf(int cmd, union bpf_attr *a)
{
	return syscall(__NR_bpf, cmd, a, sizeof(*a));
}

#define INSN(c, d, s, o, i) \
	((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), \
			   .off = (o), .imm = (i)})
#define LDX(sz, d, s, o) INSN(BPF_LDX | (sz) | BPF_MEM, d, s, o, 0)
#define MOVR(d, s) INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOVI(d, i) INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define ADDI(d, i) INSN(BPF_ALU64 | BPF_ADD | BPF_K, d, 0, 0, i)
#define ANDI(d, i) INSN(BPF_ALU64 | BPF_AND | BPF_K, d, 0, 0, i)
#define JGTR(d, s, o) INSN(BPF_JMP | BPF_JGT | BPF_X, d, s, o, 0)
#define JNEI(d, i, o) INSN(BPF_JMP | BPF_JNE | BPF_K, d, 0, o, i)

/* The XDP program: IPv4/UDP to @port (network order) goes to the socket
 * in @map at the queue's index, all else to the stack. */
static int load_prog(int map, uint16_t port)
{
	struct bpf_insn p[] = {
		MOVR(6, 1),
		LDX(BPF_W, 2, 6, 0),              /* data */
		LDX(BPF_W, 3, 6, 4),              /* data_end */
		MOVR(4, 2),
		ADDI(4, HDR),
		JGTR(4, 3, 17),                   /* short: pass */
		LDX(BPF_H, 5, 2, 12),             /* ethertype */
		JNEI(5, htons(0x0800), 15),
		LDX(BPF_B, 5, 2, 14),             /* version, IHL */
		JNEI(5, 0x45, 13),
		LDX(BPF_B, 5, 2, 23),             /* protocol */
		JNEI(5, 17, 11),
		LDX(BPF_H, 5, 2, 20),             /* MF, fragment offset */
		ANDI(5, htons(0x3fff)),
		JNEI(5, 0, 8),
		LDX(BPF_H, 5, 2, 36),             /* UDP destination port */
		JNEI(5, port, 6),
		INSN(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, map),
		INSN(0, 0, 0, 0, 0),
		LDX(BPF_W, 2, 6, 16),             /* rx_queue_index */
		MOVI(3, XDP_PASS),
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_redirect_map),
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
		MOVI(0, XDP_PASS),                /* pass: */
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};
	static char log[65536];
	union bpf_attr a;
	int fd;

	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_XDP;
	a.insns = (uintptr_t)p;
	a.insn_cnt = sizeof(p) / sizeof(p[0]);
	a.license = (uintptr_t)"Dual MIT/GPL";
	a.log_buf = (uintptr_t)log;
	a.log_size = sizeof(log);
	a.log_level = 1;
	a.expected_attach_type = BPF_XDP;
	fd = (int)sys_bpf(BPF_PROG_LOAD, &a);
	if (fd < 0) {
		perror("xdpnull: BPF_PROG_LOAD");
		fputs(log, stderr);
	}
	return fd;
}

static void *map_ring(int fd, size_t off_desc, struct xdp_ring_offset *o,
		      size_t esz, off_t pgoff, struct ring *r)
{
	uint8_t *m = mmap(NULL, off_desc + RING * esz, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_POPULATE, fd, pgoff);

	if (m == MAP_FAILED)
		return NULL;
	r->prod = (uint32_t *)(m + o->producer);
	r->cons = (uint32_t *)(m + o->consumer);
	r->flags = (uint32_t *)(m + o->flags);
	r->desc = m + o->desc;
	r->mask = RING - 1;
	return m;
}

static uint16_t ip_sum(const uint8_t *h)
{
	uint32_t s = 0;
	int i;

	for (i = 0; i < 20; i += 2)
		s += (uint32_t)(h[i] << 8 | h[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* The reply to the frame @q (length @len) in @r; its length or 0. */
static size_t reply(const uint8_t *q, size_t len, uint8_t *r)
{
	size_t ulen, dlen;
	uint16_t s;

	if (len < HDR + 12)
		return 0;
	ulen = (size_t)(q[38] << 8 | q[39]);
	if (ulen < 8 + 12 || HDR - 8 + ulen > len)
		return 0;
	dlen = ulen - 8;
	memcpy(r + HDR, q + HDR, dlen);
	if (!answer(r + HDR, dlen))
		return 0;
	memcpy(r, q + 6, 6);            /* Ethernet: back to the sender */
	memcpy(r + 6, q, 6);
	r[12] = 0x08;
	r[13] = 0x00;
	memcpy(r + 14, q + 14, 20);     /* IPv4, addresses swapped */
	memcpy(r + 26, q + 30, 4);
	memcpy(r + 30, q + 26, 4);
	r[16] = (uint8_t)((20 + 8 + dlen) >> 8);
	r[17] = (uint8_t)(20 + 8 + dlen);
	r[20] = 0x40;                   /* DF, no fragment */
	r[21] = 0;
	r[22] = 64;
	r[24] = r[25] = 0;
	s = ip_sum(r + 14);
	r[24] = (uint8_t)(s >> 8);
	r[25] = (uint8_t)s;
	memcpy(r + 34, q + 36, 2);      /* UDP, ports swapped */
	memcpy(r + 36, q + 34, 2);
	r[38] = (uint8_t)((8 + dlen) >> 8);
	r[39] = (uint8_t)(8 + dlen);
	r[40] = r[41] = 0;              /* no checksum (IPv4 allows it) */
	return HDR + dlen;
}

int main(int argc, char **argv)
{
	const char *ifname = argc > 3 ? argv[3] : "lo";
	struct xdp_mmap_offsets off;
	struct xdp_umem_reg mr;
	struct sockaddr_xdp sx;
	struct sockaddr_in sa;
	struct ring fq, cq, rx, tx;
	union bpf_attr a;
	socklen_t ol = sizeof(off);
	uint32_t tx_free[NFRAMES / 2], ntx_free = 0, key = 0;
	uint64_t last = 0;
	long wait_us;
	uint8_t *umem;
	int fd, ufd, map, prog, link, ifindex, sz = RING, i;
	uint16_t port;

	if (argc < 3) {
		fprintf(stderr, "usage: xdpnull PORT WAIT_US [IFNAME]\n");
		return 64;
	}
	port = htons((uint16_t)atoi(argv[1]));
	wait_us = atol(argv[2]);
	ifindex = (int)if_nametoindex(ifname);
	if (!ifindex) {
		perror(ifname);
		return 69;
	}
	/* Hold the port, so nothing else takes it. */
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = port;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ufd = socket(AF_INET, SOCK_DGRAM, 0);
	if (ufd < 0 || bind(ufd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("xdpnull: bind");
		return 69;
	}

	umem = mmap(NULL, (size_t)NFRAMES * FRAME, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	fd = socket(AF_XDP, SOCK_RAW, 0);
	if (umem == MAP_FAILED || fd < 0) {
		perror("xdpnull: AF_XDP");
		return 69;
	}
	memset(&mr, 0, sizeof(mr));
	mr.addr = (uintptr_t)umem;
	mr.len = (uint64_t)NFRAMES * FRAME;
	mr.chunk_size = FRAME;
	if (setsockopt(fd, SOL_XDP, XDP_UMEM_REG, &mr, sizeof(mr)) < 0 ||
	    setsockopt(fd, SOL_XDP, XDP_UMEM_FILL_RING, &sz, sizeof(sz)) < 0 ||
	    setsockopt(fd, SOL_XDP, XDP_UMEM_COMPLETION_RING, &sz,
		       sizeof(sz)) < 0 ||
	    setsockopt(fd, SOL_XDP, XDP_RX_RING, &sz, sizeof(sz)) < 0 ||
	    setsockopt(fd, SOL_XDP, XDP_TX_RING, &sz, sizeof(sz)) < 0 ||
	    getsockopt(fd, SOL_XDP, XDP_MMAP_OFFSETS, &off, &ol) < 0) {
		perror("xdpnull: rings");
		return 69;
	}
	if (!map_ring(fd, off.fr.desc, &off.fr, 8, XDP_UMEM_PGOFF_FILL_RING,
		      &fq) ||
	    !map_ring(fd, off.cr.desc, &off.cr, 8,
		      XDP_UMEM_PGOFF_COMPLETION_RING, &cq) ||
	    !map_ring(fd, off.rx.desc, &off.rx, sizeof(struct xdp_desc),
		      XDP_PGOFF_RX_RING, &rx) ||
	    !map_ring(fd, off.tx.desc, &off.tx, sizeof(struct xdp_desc),
		      XDP_PGOFF_TX_RING, &tx)) {
		perror("xdpnull: mmap");
		return 69;
	}
	/* The first half of the frames to the fill ring, the rest free for
	 * replies. */
	for (i = 0; i < NFRAMES / 2; i++)
		((uint64_t *)fq.desc)[i] = (uint64_t)i * FRAME;
	__atomic_store_n(fq.prod, NFRAMES / 2, __ATOMIC_RELEASE);
	for (i = NFRAMES / 2; i < NFRAMES; i++)
		tx_free[ntx_free++] = (uint32_t)i;
	memset(&sx, 0, sizeof(sx));
	sx.sxdp_family = AF_XDP;
	sx.sxdp_ifindex = (uint32_t)ifindex;
	sx.sxdp_queue_id = 0;
	sx.sxdp_flags = XDP_COPY | XDP_USE_NEED_WAKEUP;
	if (bind(fd, (struct sockaddr *)&sx, sizeof(sx)) < 0) {
		perror("xdpnull: bind AF_XDP");
		return 69;
	}

	memset(&a, 0, sizeof(a));
	a.map_type = BPF_MAP_TYPE_XSKMAP;
	a.key_size = 4;
	a.value_size = 4;
	a.max_entries = 1;
	map = (int)sys_bpf(BPF_MAP_CREATE, &a);
	if (map < 0) {
		perror("xdpnull: BPF_MAP_CREATE");
		return 69;
	}
	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)map;
	a.key = (uintptr_t)&key;
	a.value = (uintptr_t)&fd;
	if (sys_bpf(BPF_MAP_UPDATE_ELEM, &a) < 0) {
		perror("xdpnull: BPF_MAP_UPDATE_ELEM");
		return 69;
	}
	prog = load_prog(map, port);
	if (prog < 0)
		return 69;
	memset(&a, 0, sizeof(a));
	a.link_create.prog_fd = (uint32_t)prog;
	a.link_create.target_ifindex = (uint32_t)ifindex;
	a.link_create.attach_type = BPF_XDP;
	a.link_create.flags = XDP_FLAGS_SKB_MODE;
	link = (int)sys_bpf(BPF_LINK_CREATE, &a);
	if (link < 0) {
		perror("xdpnull: BPF_LINK_CREATE");
		return 69;
	}

	for (;;) {
		uint32_t rp, rc, n, k, tp, fp, cp, cc, o = 0;
		struct xdp_desc *rd = rx.desc, *td = tx.desc;
		uint64_t now;

		/* Frames the kernel has sent are free again. */
		cp = __atomic_load_n(cq.prod, __ATOMIC_ACQUIRE);
		cc = *cq.cons;
		for (; cc != cp; cc++)
			tx_free[ntx_free++] = (uint32_t)(
				((uint64_t *)cq.desc)[cc & cq.mask] / FRAME);
		__atomic_store_n(cq.cons, cc, __ATOMIC_RELEASE);

		rp = __atomic_load_n(rx.prod, __ATOMIC_ACQUIRE);
		rc = *rx.cons;
		if (rp == rc) {
			struct pollfd pf = {fd, POLLIN, 0};

			poll(&pf, 1, 200);
			continue;
		}
		n = rp - rc;
		if (n > BATCH)
			n = BATCH;
		tp = *tx.prod;
		fp = *fq.prod;
		for (k = 0; k < n; k++) {
			struct xdp_desc *d = &rd[(rc + k) & rx.mask];
			size_t len;

			if (ntx_free) {
				uint32_t f = tx_free[ntx_free - 1];

				len = reply(umem + d->addr, d->len,
					    umem + (uint64_t)f * FRAME);
				if (len) {
					ntx_free--;
					td[tp & tx.mask].addr =
						(uint64_t)f * FRAME;
					td[tp & tx.mask].len = (uint32_t)len;
					td[tp & tx.mask].options = 0;
					tp++;
					o++;
				}
			}
			((uint64_t *)fq.desc)[fp++ & fq.mask] =
				d->addr - d->addr % FRAME;
		}
		__atomic_store_n(rx.cons, rc + n, __ATOMIC_RELEASE);
		__atomic_store_n(fq.prod, fp, __ATOMIC_RELEASE);
		__atomic_store_n(tx.prod, tp, __ATOMIC_RELEASE);
		if (o)
			sendto(fd, NULL, 0, MSG_DONTWAIT, NULL, 0);
		now = mono_us();
		if (wait_us && n < BATCH / 2 && now - last < STREAM_US) {
			struct timespec ts = {0, wait_us * 1000};

			nanosleep(&ts, NULL);
		}
		last = now;
	}
}
