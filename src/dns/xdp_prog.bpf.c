/* SPDX-License-Identifier: MIT */
/* xdp_prog.bpf.c -- the XDP program of `trapline dns` with [dns] xdp set
 *
 * Runs on every frame the interface receives, before the kernel's IP
 * stack. A UDP datagram for one of the server's listen addresses and
 * ports (the `listen` map; an all-zero address there stands for any
 * address of its family) goes to the AF_XDP socket of the queue it came
 * in on (the `xsks` map); every other frame, and one whose queue has no
 * socket, goes on to the stack untouched. Only what the server parses
 * itself is taken: untagged Ethernet, IPv4 without options and not a
 * fragment, IPv6 with UDP as its first next header. The rest (IPv4
 * options, fragments, IPv6 extension headers, VLAN tags) reaches the
 * server's UDP sockets through the stack, as without XDP.
 *
 * Built with clang -target bpf and embedded in the binary (meson.build);
 * loaded by xdp.c. The struct listen_key layout is shared with xdp.c.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define XSKS_MAX 64   /* queues with a socket (count); as xdp.c */
#define LISTEN_MAX 16 /* listen addresses (count); as server.c */

/* An address (IPv4 as ::ffff:a.b.c.d) and a port, network order. */
struct listen_key {
	__u8 addr[16];
	__u16 port;
	__u16 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, XSKS_MAX);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LISTEN_MAX);
	__type(key, struct listen_key);
	__type(value, __u8);
} listen SEC(".maps");

/* Is (@k's address, port) or (any address of its family, port) ours? */
static __always_inline int ours(struct listen_key *k, int v4)
{
	if (bpf_map_lookup_elem(&listen, k))
		return 1;
	__builtin_memset(k->addr, 0, sizeof(k->addr));
	if (v4) {
		k->addr[10] = 0xff;
		k->addr[11] = 0xff;
	}
	return bpf_map_lookup_elem(&listen, k) != 0;
}

SEC("xdp")
int trapline_dns(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct listen_key k = {};
	struct udphdr *udp;
	int v4;

	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end || ip->version != 4 ||
		    ip->ihl != 5 || ip->protocol != IPPROTO_UDP ||
		    (ip->frag_off & bpf_htons(0x3fff)))
			return XDP_PASS;
		k.addr[10] = 0xff;
		k.addr[11] = 0xff;
		__builtin_memcpy(&k.addr[12], &ip->daddr, 4);
		udp = (void *)(ip + 1);
		v4 = 1;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end || ip6->version != 6 ||
		    ip6->nexthdr != IPPROTO_UDP)
			return XDP_PASS;
		__builtin_memcpy(k.addr, &ip6->daddr, 16);
		udp = (void *)(ip6 + 1);
		v4 = 0;
	} else {
		return XDP_PASS;
	}
	if ((void *)(udp + 1) > end)
		return XDP_PASS;
	k.port = udp->dest;
	if (!ours(&k, v4))
		return XDP_PASS;
	/* No socket on this queue: the stack, and the UDP sockets. */
	return bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
