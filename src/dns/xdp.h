/* SPDX-License-Identifier: MIT */
/* xdp.h -- UDP queries taken off the interface by AF_XDP ([dns] xdp)
 *
 * With [dns] xdp = IFNAME, an XDP program (xdp_prog.bpf.c) hands the
 * UDP datagrams for the server's listen addresses to AF_XDP sockets, one
 * per receive queue served, and the answers go back out through them:
 * no UDP socket, no route lookup, no system call per datagram. What the
 * program does not take reaches the UDP sockets through the stack.
 *
 * The frame functions (dns_frame_*) are pure and take hostile input;
 * fuzz/fuzz_xdp.c drives them.
 */
#ifndef TRAPLINE_DNS_XDP_H
#define TRAPLINE_DNS_XDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define DNS_FRAME_HDR_MAX 62 /* Ethernet + IPv6 + UDP (bytes) */

/* Where the DNS message of a query frame is. */
struct dns_frame {
	size_t off; /* its first byte in the frame */
	size_t len; /* its bytes */
	bool v6;
};

/*
 * Parse the Ethernet frame @f (@len bytes): an untagged IPv4 (no
 * options, not a fragment) or IPv6 (UDP the first next header) UDP
 * datagram whose lengths agree with the frame, whose source port is not
 * 0, between unicast MACs and addresses (no broadcast, multicast or
 * unspecified address either way). Fills @q and returns true; false for
 * anything else.
 */
bool dns_frame_query(const uint8_t *f, size_t len, struct dns_frame *q);

/*
 * Write into @r the headers of the reply to the query frame @f (parsed
 * into @q): addresses and ports swapped, lengths for a DNS message of
 * @dlen bytes already at @r + @q->off, checksums set (IPv4's header;
 * UDP's over IPv6, where it is required). Returns the reply frame's
 * length, @q->off + @dlen.
 */
size_t dns_frame_reply(const uint8_t *f, const struct dns_frame *q,
		       uint8_t *r, size_t dlen);

struct dns_xdp;   /* the program and its maps on one interface */
struct dns_xdp_q; /* one queue's socket, rings and frames */

#define DNS_XDP_BATCH 32 /* frames a call takes (count) */

/* A query taken off a queue; its message is at msg. */
struct dns_xdp_in {
	const uint8_t *frame;
	struct dns_frame q;
	const uint8_t *msg;
	uint64_t addr; /* its frame in the UMEM */
};

/*
 * Load the program for @ifname with the listen addresses @addrs (@n of
 * them, their ports set) and open a socket on each of the interface's
 * first @queues queues (fewer when it has fewer). @msg_max: the longest
 * DNS message an answer may be; refused when a frame or the interface's
 * MTU cannot hold it. Not attached yet: dns_xdp_attach, once the queues
 * are served. Errors are logged. Returns 0 or a TL_E*.
 */
int dns_xdp_new(const char *ifname, const struct sockaddr_storage *addrs,
		unsigned n, unsigned queues, size_t msg_max,
		struct dns_xdp **out);
/* Attach the program (through a BPF link: it goes with the process):
 * from here on queries come to the sockets. 0 or -errno (logged). */
int dns_xdp_attach(struct dns_xdp *x);
unsigned dns_xdp_nqueues(const struct dns_xdp *x);
struct dns_xdp_q *dns_xdp_queue(struct dns_xdp *x, unsigned i);
/* Detach the program, close the sockets, free @x. */
void dns_xdp_free(struct dns_xdp *x);

/*
 * Take up to DNS_XDP_BATCH queries off @q into @in, without waiting.
 * Frames that are not queries are given back at once. Returns how many.
 */
int dns_xdp_recv(struct dns_xdp_q *q, struct dns_xdp_in *in);
/* Queue the answer @msg (@len bytes; 0: none) to @in for sending. */
void dns_xdp_answer(struct dns_xdp_q *q, const struct dns_xdp_in *in,
		    const uint8_t *msg, size_t len);
/* Send the queued answers and give the @n query frames back, and the
 * frames dns_xdp_recv took that were not queries. Call it after every
 * dns_xdp_recv, whatever that returned. */
void dns_xdp_send(struct dns_xdp_q *q, const struct dns_xdp_in *in, int n);
/* Wait up to @timeout_ms for queries on @q. */
void dns_xdp_wait(struct dns_xdp_q *q, int timeout_ms);

#endif
