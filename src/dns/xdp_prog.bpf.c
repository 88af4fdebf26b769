/* SPDX-License-Identifier: MIT */
/* xdp_prog.bpf.c -- the XDP program of `trapline dns` with [dns] xdp set
 *
 * Runs on every frame the interface receives, before the kernel's IP
 * stack. A UDP datagram sent to this interface's MAC (the `self` map),
 * for one of the server's listen addresses and ports exactly (the
 * `listen` map: xdp.c puts the interface's own addresses there for a
 * wildcard one), from a unicast address and a port other than 0, goes
 * to the AF_XDP socket of the queue it came in on (the `xsks` map).
 * Every other frame, and one whose queue has no socket, goes on to the
 * stack untouched. Only what the server parses itself is taken:
 * untagged Ethernet, IPv4 without options and not a fragment, IPv6 with
 * UDP as its first next header. The rest (IPv4 options, fragments, IPv6
 * extension headers) reaches the server's UDP sockets through the
 * stack, as without XDP.
 *
 * Built with clang -target bpf and embedded in the binary (meson.build);
 * loaded by xdp.c. struct listen_key and struct self are shared with
 * xdp.c.
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
#define LISTEN_KEYS 256 /* addresses and ports served (count); as xdp.c */

/* An address (IPv4 as ::ffff:a.b.c.d) and a port, network order. */
struct listen_key {
	__u8 addr[16];
	__u16 port;
	__u16 pad;
};

/* The interface's own MAC. */
struct self {
	__u8 mac[6];
	__u16 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct self);
} self SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, XSKS_MAX);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LISTEN_KEYS);
	__type(key, struct listen_key);
	__type(value, __u8);
} listen SEC(".maps");

/* Was @eth sent to this interface's MAC? */
static __always_inline int to_me(const struct ethhdr *eth)
{
	__u32 zero = 0;
	struct self *me = bpf_map_lookup_elem(&self, &zero);
	int i;

	if (!me)
		return 0;
#pragma unroll
	for (i = 0; i < 6; i++)
		if (eth->h_dest[i] != me->mac[i])
			return 0;
	return 1;
}

SEC("xdp")
int trapline_dns(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct listen_key k = {};
	struct udphdr *udp;

	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		__u8 src0;

		if ((void *)(ip + 1) > end || ip->version != 4 ||
		    ip->ihl != 5 || ip->protocol != IPPROTO_UDP ||
		    (ip->frag_off & bpf_htons(0x3fff)))
			return XDP_PASS;
		/* Not from 0.0.0.0/8, multicast or broadcast. */
		src0 = ((__u8 *)&ip->saddr)[0];
		if (src0 == 0 || src0 >= 224)
			return XDP_PASS;
		k.addr[10] = 0xff;
		k.addr[11] = 0xff;
		__builtin_memcpy(&k.addr[12], &ip->daddr, 4);
		udp = (void *)(ip + 1);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end || ip6->version != 6 ||
		    ip6->nexthdr != IPPROTO_UDP ||
		    ip6->saddr.in6_u.u6_addr8[0] == 0xff)
			return XDP_PASS;
		__builtin_memcpy(k.addr, &ip6->daddr, 16);
		udp = (void *)(ip6 + 1);
	} else {
		return XDP_PASS;
	}
	if ((void *)(udp + 1) > end || udp->source == 0)
		return XDP_PASS;
	k.port = udp->dest;
	if (!bpf_map_lookup_elem(&listen, &k) || !to_me(eth))
		return XDP_PASS;
	/* No socket on this queue: the stack, and the UDP sockets. */
	return bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
