/* SPDX-License-Identifier: MIT */
/* xdp.c -- UDP queries off the interface by AF_XDP ([dns] xdp; xdp.h)
 *
 * The program (xdp_prog.bpf.c, embedded as dns_xdp_obj) is loaded with
 * libbpf and attached through a BPF link, so that it goes away with the
 * process however that ends: a crashed server leaves no program
 * redirecting queries to a socket nobody reads. The sockets, their UMEM
 * and rings come from libxdp. The kernel picks the modes: the driver's
 * XDP and zero copy where the driver has them, else generic XDP and
 * copies (loopback, veth, most virtual NICs).
 *
 * Each queue's UMEM holds RX_FRAMES frames that take queries (in the
 * fill ring, or with the server) and TX_FRAMES that carry answers (free,
 * or being sent). A query frame goes back to the fill ring when its
 * batch is answered; an answer frame when the kernel has sent it (the
 * completion ring).
 */
#include <dirent.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/if_link.h>
#include <net/if_arp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/xsk.h>

#include "trapline/alloc.h"
#include "trapline/err.h"
#include "trapline/log.h"
#include "xdp.h"

#define XSKS_MAX 64        /* queues served (count); as xdp_prog.bpf.c */
#define LISTEN_KEYS 256    /* addresses and ports served; as xdp_prog.bpf.c */
#define FRAME 2048         /* bytes a UMEM frame (the least AF_XDP takes) */
/* Frames for queries (count): what a stall of the serving thread can
 * leave waiting, 19 ms at 20,000 queries/s, before the kernel drops the
 * next; the fill and RX rings (RX_RING, a power of 2) hold them all.
 * Frames for answers (count; the TX and completion rings' size): a
 * batch is at most DNS_XDP_BATCH, and in copy mode they come back as
 * they are sent. The UMEM is pinned, all of it resident: 1 MiB a queue,
 * which at a million listed addresses is 5% of rbldnsd's memory. */
#define RX_FRAMES 384
#define RX_RING 512
#define TX_FRAMES 128
#define NFRAMES (RX_FRAMES + TX_FRAMES)
#define KICK_TRIES 4       /* sendto calls to start sending a batch */
#define BUSY_TRIES 40      /* tries for a queue a closed socket still holds */
#define BUSY_WAIT_NS 50000000 /* between them (ns): 2 s in all */
/* The headroom the kernel keeps before a received frame's data. */
#define RX_HEADROOM 256

/* The program, built by meson.build from xdp_prog.bpf.c. */
extern const char dns_xdp_obj[];
extern const size_t dns_xdp_obj_len;

/* As struct listen_key and struct self in xdp_prog.bpf.c. */
struct listen_key {
	uint8_t addr[16];
	uint16_t port;
	uint16_t pad;
};

struct self {
	uint8_t mac[6];
	uint16_t pad;
};

struct dns_xdp_q {
	struct xsk_socket *xsk;
	struct xsk_umem *umem;
	struct xsk_ring_prod fq, tx;
	struct xsk_ring_cons cq, rx;
	uint8_t *area;
	int fd;
	size_t msg_max;
	uint64_t free[TX_FRAMES]; /* answer frames not in use */
	unsigned nfree;
	uint32_t ntx;             /* answers reserved, not yet submitted */
	uint64_t back[DNS_XDP_BATCH]; /* frames to give back (not queries) */
	unsigned nback;
};

struct dns_xdp {
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_link *link;
	int ifindex;
	char ifname[IF_NAMESIZE];
	unsigned nq;
	struct dns_xdp_q *q[XSKS_MAX];
};

/* libbpf's and libxdp's warnings, as ours. */
__attribute__((format(printf, 2, 0)))
static int print_lib(enum libbpf_print_level level, const char *fmt,
		     va_list ap)
{
	char line[512];
	size_t n;

	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = 0;
	if (level == LIBBPF_WARN)
		log_warn("dns", "xdp: libbpf: %s", line);
	else
		log_debug("dns", "xdp: libbpf: %s", line);
	return 0;
}

/* Queues of @ifname that can both receive and send (sysfs), at least 1:
 * a socket on a queue with no TX queue of its number could not answer. */
static unsigned queues_of(const char *ifname)
{
	char path[128];
	unsigned n;

	for (n = 0; n < XSKS_MAX; n++) {
		snprintf(path, sizeof(path), "/sys/class/net/%s/queues/rx-%u",
			 ifname, n);
		if (access(path, F_OK) < 0)
			break;
		snprintf(path, sizeof(path), "/sys/class/net/%s/queues/tx-%u",
			 ifname, n);
		if (access(path, F_OK) < 0)
			break;
	}
	return n ? n : 1;
}

/* What the interface is: its MTU, flags, MAC and link type (ARPHRD_*;
 * ioctl, which answers for this process's network namespace). */
static int if_get(const char *ifname, int *mtu, short *flags, uint8_t mac[6],
		  int *type)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM, 0), rc = -1;

	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFMTU, &ifr) == 0) {
		*mtu = ifr.ifr_mtu;
		if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
			*flags = ifr.ifr_flags;
			if (ioctl(fd, SIOCGIFHWADDR, &ifr) == 0) {
				memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
				*type = ifr.ifr_hwaddr.sa_family;
				rc = 0;
			}
		}
	}
	close(fd);
	return rc;
}

/*
 * May the program go on @ifname, of link type @type? Only where frames
 * are Ethernet (or loopback's), and not on a device that is part of
 * another (a VLAN's, a bridge's or a bond's lower device): the program
 * would take that one's queries, and a VLAN tag stripped by the NIC is
 * not in the frame, so the answer would go out on the wrong VLAN. The
 * upper devices are read from sysfs, which shows the namespace that
 * mounted it. 0 or a TL_E* (logged).
 */
static int if_usable(const char *ifname, int type)
{
	char path[128];
	struct dirent *e;
	DIR *d;

	if (type != ARPHRD_ETHER && type != ARPHRD_LOOPBACK) {
		log_error("dns", "xdp: %s is not an Ethernet interface (type "
			  "%d): its frames have no Ethernet header", ifname,
			  type);
		return TL_EINVAL;
	}
	snprintf(path, sizeof(path), "/sys/class/net/%s", ifname);
	d = opendir(path);
	while (d && (e = readdir(d)))
		if (!strncmp(e->d_name, "upper_", 6)) {
			log_error("dns", "xdp: %s carries %s (a VLAN, bridge or "
				  "bond): put xdp on an interface of its own",
				  ifname, e->d_name + 6);
			closedir(d);
			return TL_EINVAL;
		}
	if (d)
		closedir(d);
	return 0;
}

/* Put (@a, @port) into the listen map @fd: @a as a listen_key address. */
static int listen_put(int fd, const uint8_t a[16], uint16_t port)
{
	struct listen_key k;
	uint8_t one = 1;

	memset(&k, 0, sizeof(k));
	memcpy(k.addr, a, 16);
	k.port = port;
	return bpf_map_update_elem(fd, &k, &one, BPF_ANY);
}

/* @ss's address as a listen_key address (IPv4 as ::ffff:a.b.c.d). */
static void key_addr(const struct sockaddr *sa, uint8_t a[16])
{
	memset(a, 0, 16);
	if (sa->sa_family == AF_INET) {
		a[10] = a[11] = 0xff;
		memcpy(a + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else {
		memcpy(a, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	}
}

static bool key_loopback(const uint8_t a[16])
{
	static const uint8_t v4[12] = {[10] = 0xff, [11] = 0xff};
	static const uint8_t one[16] = {[15] = 1};

	return (!memcmp(a, v4, 12) && a[12] == 127) || !memcmp(a, one, 16);
}

static bool key_any(const uint8_t a[16])
{
	static const uint8_t v4[16] = {[10] = 0xff, [11] = 0xff};
	static const uint8_t v6[16];

	return !memcmp(a, v4, 16) || !memcmp(a, v6, 16);
}

/*
 * The listen map: each listen address with its port; for a wildcard
 * one, the interface's own addresses of its family (an address added
 * later is served by the UDP sockets through the stack). A loopback
 * address is left out on an interface that is not loopback: the kernel
 * drops what comes in there for one. 0 or a TL_E* (logged).
 */
static int listen_fill(int fd, const char *ifname, bool lo,
		       const struct sockaddr_storage *addrs, unsigned n)
{
	struct ifaddrs *ifa = NULL, *i;
	unsigned j, keys = 0;
	uint8_t a[16];

	if (getifaddrs(&ifa) < 0) {
		log_error("dns", "xdp: %s: its addresses: %s", ifname,
			  strerror(errno));
		return TL_EIO;
	}
	for (j = 0; j < n; j++) {
		const struct sockaddr *sa = (const void *)&addrs[j];
		uint16_t port = addrs[j].ss_family == AF_INET
					? ((const struct sockaddr_in *)sa)->sin_port
					: ((const struct sockaddr_in6 *)sa)->sin6_port;

		key_addr(sa, a);
		if (!key_any(a)) {
			if (key_loopback(a) && !lo)
				continue;
			if (keys++ == LISTEN_KEYS || listen_put(fd, a, port) < 0)
				goto full;
			continue;
		}
		for (i = ifa; i; i = i->ifa_next) {
			if (!i->ifa_addr || strcmp(i->ifa_name, ifname) ||
			    i->ifa_addr->sa_family != sa->sa_family)
				continue;
			key_addr(i->ifa_addr, a);
			if (keys++ == LISTEN_KEYS || listen_put(fd, a, port) < 0)
				goto full;
		}
	}
	freeifaddrs(ifa);
	if (!keys) {
		log_error("dns", "xdp: none of the listen addresses is on %s",
			  ifname);
		return TL_EINVAL;
	}
	return 0;
full:
	freeifaddrs(ifa);
	log_error("dns", "xdp: %s: more than %d addresses to serve, or the "
		  "map refused one (%s)", ifname, LISTEN_KEYS, strerror(errno));
	return TL_EINVAL;
}

static void queue_free(struct dns_xdp_q *q)
{
	if (!q)
		return;
	if (q->xsk)
		xsk_socket__delete(q->xsk);
	if (q->umem)
		xsk_umem__delete(q->umem);
	if (q->area)
		munmap(q->area, (size_t)NFRAMES * FRAME);
	tl_free(q);
}

static int queue_open(const char *ifname, unsigned i, int xsks,
		      size_t msg_max, struct dns_xdp_q **out)
{
	struct xsk_umem_config uc = {
		.fill_size = RX_RING,
		.comp_size = TX_FRAMES,
		.frame_size = FRAME,
		.frame_headroom = 0,
	};
	struct xsk_socket_config sc = {
		.rx_size = RX_RING,
		.tx_size = TX_FRAMES,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = XDP_USE_NEED_WAKEUP,
	};
	struct dns_xdp_q *q = tl_calloc(1, sizeof(*q));
	uint32_t idx, k;
	int rc, t;

	if (!q)
		return TL_ENOMEM;
	q->msg_max = msg_max;
	q->area = mmap(NULL, (size_t)NFRAMES * FRAME, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (q->area == MAP_FAILED) {
		q->area = NULL;
		rc = TL_ENOMEM;
		goto fail;
	}
	rc = xsk_umem__create(&q->umem, q->area, (uint64_t)NFRAMES * FRAME,
			      &q->fq, &q->cq, &uc);
	if (rc < 0) {
		q->umem = NULL;
		log_error("dns", "xdp: %s queue %u: UMEM: %s (it is pinned: "
			  "CAP_IPC_LOCK, or a memlock limit of at least %d "
			  "KiB a queue)", ifname, i, strerror(-rc),
			  NFRAMES * FRAME / 1024);
		goto fail;
	}
	/* A socket just closed (a server restarted after a crash) frees
	 * its queue a moment later, from a kernel work queue: wait for it. */
	for (t = 0;; t++) {
		rc = xsk_socket__create(&q->xsk, ifname, i, q->umem, &q->rx,
					&q->tx, &sc);
		if (rc != -EBUSY || t == BUSY_TRIES)
			break;
		nanosleep(&(struct timespec){0, BUSY_WAIT_NS}, NULL);
	}
	if (rc < 0) {
		q->xsk = NULL;
		log_error("dns", "xdp: %s queue %u: AF_XDP socket: %s", ifname,
			  i, strerror(-rc));
		goto fail;
	}
	q->fd = xsk_socket__fd(q->xsk);
	if (bpf_map_update_elem(xsks, &i, &q->fd, BPF_ANY) < 0) {
		rc = -errno;
		log_error("dns", "xdp: %s queue %u: socket map: %s", ifname, i,
			  strerror(errno));
		goto fail;
	}
	/* The first RX_FRAMES frames take queries, the rest answers. */
	if (xsk_ring_prod__reserve(&q->fq, RX_FRAMES, &idx) != RX_FRAMES) {
		rc = TL_EIO;
		goto fail;
	}
	for (k = 0; k < RX_FRAMES; k++)
		*xsk_ring_prod__fill_addr(&q->fq, idx + k) = (uint64_t)k * FRAME;
	xsk_ring_prod__submit(&q->fq, RX_FRAMES);
	for (k = 0; k < TX_FRAMES; k++)
		q->free[q->nfree++] = (uint64_t)(RX_FRAMES + k) * FRAME;
	*out = q;
	return 0;
fail:
	queue_free(q);
	return rc < 0 ? rc : TL_EIO;
}

int dns_xdp_new(const char *ifname, const struct sockaddr_storage *addrs,
		unsigned n, unsigned queues, size_t msg_max,
		struct dns_xdp **out)
{
	struct self me = {{0}, 0};
	struct dns_xdp *x;
	int ifindex, mtu = 0, type = -1, xsks, lfd, sfd, rc;
	uint32_t id = 0, zero = 0;
	short flags = 0;
	unsigned i;

	ifindex = (int)if_nametoindex(ifname);
	if (!ifindex || if_get(ifname, &mtu, &flags, me.mac, &type) < 0) {
		log_error("dns", "xdp: no interface '%s'", ifname);
		return TL_EINVAL;
	}
	rc = if_usable(ifname, type);
	if (rc < 0)
		return rc;
	/* An answer must fit a frame, and the link without fragments. */
	if (DNS_FRAME_HDR_MAX + msg_max > FRAME ||
	    msg_max + (DNS_FRAME_HDR_MAX - 14) > (size_t)mtu) {
		log_error("dns", "xdp: %s: answers of %zu bytes do not fit "
			  "(MTU %d, frames of %d bytes)", ifname, msg_max, mtu,
			  FRAME);
		return TL_EINVAL;
	}
	libbpf_set_print(print_lib);
	/* Another program there (another server's, or a firewall's) would
	 * be replaced or refuse ours, and its queues may be taken. */
	if (bpf_xdp_query_id(ifindex, 0, &id) == 0 && id) {
		log_error("dns", "xdp: %s has an XDP program already (id %u): "
			  "another server's, or another tool's", ifname, id);
		return TL_EEXIST;
	}
	x = tl_calloc(1, sizeof(*x));
	if (!x)
		return TL_ENOMEM;
	x->ifindex = ifindex;
	snprintf(x->ifname, sizeof(x->ifname), "%s", ifname);
	x->obj = bpf_object__open_mem(dns_xdp_obj, dns_xdp_obj_len, NULL);
	if (!x->obj) {
		rc = -errno;
		log_error("dns", "xdp: the program: %s", strerror(errno));
		goto fail;
	}
	rc = bpf_object__load(x->obj);
	if (rc < 0) {
		log_error("dns", "xdp: the program did not load (%s): XDP "
			  "needs root, or CAP_BPF, CAP_NET_ADMIN and "
			  "CAP_NET_RAW", strerror(-rc));
		goto fail;
	}
	xsks = bpf_object__find_map_fd_by_name(x->obj, "xsks");
	lfd = bpf_object__find_map_fd_by_name(x->obj, "listen");
	sfd = bpf_object__find_map_fd_by_name(x->obj, "self");
	x->prog = bpf_object__find_program_by_name(x->obj, "trapline_dns");
	if (xsks < 0 || lfd < 0 || sfd < 0 || !x->prog) {
		log_error("dns", "xdp: the program has not the maps this "
			  "trapline puts in (a build mismatch)");
		rc = TL_EIO;
		goto fail;
	}
	if (bpf_map_update_elem(sfd, &zero, &me, BPF_ANY) < 0) {
		rc = -errno;
		log_error("dns", "xdp: %s: its MAC into the program: %s",
			  ifname, strerror(errno));
		goto fail;
	}
	rc = listen_fill(lfd, ifname, (flags & IFF_LOOPBACK) != 0, addrs, n);
	if (rc < 0)
		goto fail;
	x->nq = queues_of(ifname);
	if (queues < x->nq)
		x->nq = queues;
	for (i = 0; i < x->nq; i++) {
		rc = queue_open(ifname, i, xsks, msg_max, &x->q[i]);
		if (rc < 0)
			goto fail;
	}
	*out = x;
	return 0;
fail:
	dns_xdp_free(x);
	return rc < 0 ? rc : TL_EIO;
}

int dns_xdp_attach(struct dns_xdp *x)
{
	x->link = bpf_program__attach_xdp(x->prog, x->ifindex);
	if (!x->link) {
		int e = errno;

		log_error("dns", "xdp: %s: the program did not attach (%s)%s",
			  x->ifname, strerror(e),
			  e == EBUSY || e == EEXIST
				  ? ": the interface has an XDP program" : "");
		return -e;
	}
	log_info("dns", "xdp: UDP queries on %s taken by AF_XDP, %u queue%s",
		 x->ifname, x->nq, x->nq == 1 ? "" : "s");
	return 0;
}

unsigned dns_xdp_nqueues(const struct dns_xdp *x)
{
	return x->nq;
}

struct dns_xdp_q *dns_xdp_queue(struct dns_xdp *x, unsigned i)
{
	return i < x->nq ? x->q[i] : NULL;
}

void dns_xdp_free(struct dns_xdp *x)
{
	unsigned i;

	if (!x)
		return;
	bpf_link__destroy(x->link);
	for (i = 0; i < XSKS_MAX; i++)
		queue_free(x->q[i]);
	bpf_object__close(x->obj);
	tl_free(x);
}

/* Answer frames the kernel has sent are free again. */
static void reap(struct dns_xdp_q *q)
{
	uint32_t idx, n, k;

	n = xsk_ring_cons__peek(&q->cq, TX_FRAMES, &idx);
	for (k = 0; k < n && q->nfree < TX_FRAMES; k++)
		q->free[q->nfree++] = *xsk_ring_cons__comp_addr(&q->cq, idx + k);
	xsk_ring_cons__release(&q->cq, n);
}

int dns_xdp_recv(struct dns_xdp_q *q, struct dns_xdp_in *in)
{
	uint32_t idx, n, k;
	int got = 0;

	reap(q);
	n = xsk_ring_cons__peek(&q->rx, DNS_XDP_BATCH, &idx);
	for (k = 0; k < n; k++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&q->rx, idx + k);
		const uint8_t *f = xsk_umem__get_data(q->area, d->addr);
		struct dns_xdp_in *i = &in[got];

		/* The kernel keeps a descriptor in its frame; checked all
		 * the same, as everything off the wire is. */
		if (d->len <= FRAME - RX_HEADROOM &&
		    dns_frame_query(f, d->len, &i->q)) {
			i->frame = f;
			i->msg = f + i->q.off;
			i->addr = d->addr;
			got++;
		} else {
			q->back[q->nback++] = d->addr;
		}
	}
	xsk_ring_cons__release(&q->rx, n);
	return got;
}

void dns_xdp_answer(struct dns_xdp_q *q, const struct dns_xdp_in *in,
		    const uint8_t *msg, size_t len)
{
	struct xdp_desc *d;
	uint8_t *r;
	uint32_t idx;

	/* No frame free or no room in the ring: dropped, as a full socket
	 * buffer drops it; the client asks again. */
	if (!len || len > q->msg_max || !q->nfree ||
	    xsk_ring_prod__reserve(&q->tx, 1, &idx) != 1)
		return;
	d = xsk_ring_prod__tx_desc(&q->tx, idx);
	d->addr = q->free[--q->nfree];
	d->options = 0;
	r = xsk_umem__get_data(q->area, d->addr);
	memcpy(r + in->q.off, msg, len);
	d->len = (uint32_t)dns_frame_reply(in->frame, &in->q, r, len);
	q->ntx++;
}

void dns_xdp_send(struct dns_xdp_q *q, const struct dns_xdp_in *in, int n)
{
	uint32_t idx, k, total = (uint32_t)n + q->nback;
	int t;

	if (q->ntx) {
		xsk_ring_prod__submit(&q->tx, q->ntx);
		q->ntx = 0;
	}
	/* Copy mode sends only on a system call, a batch at a time. Kick
	 * while any answer is out, not only new ones: what a kick left in
	 * the ring (a full device queue) must not wait for more answers,
	 * which may need the frames it holds. */
	if (q->nfree < TX_FRAMES)
		for (t = 0; t < KICK_TRIES &&
			    xsk_ring_prod__needs_wakeup(&q->tx); t++)
			if (sendto(q->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) == 0 ||
			    (errno != EAGAIN && errno != EBUSY))
				break;
	/* The fill ring holds every query frame: there is room. */
	if (!total || xsk_ring_prod__reserve(&q->fq, total, &idx) != total)
		return;
	for (k = 0; k < (uint32_t)n; k++)
		*xsk_ring_prod__fill_addr(&q->fq, idx + k) =
			in[k].addr - in[k].addr % FRAME;
	for (k = 0; k < q->nback; k++)
		*xsk_ring_prod__fill_addr(&q->fq, idx + n + k) =
			q->back[k] - q->back[k] % FRAME;
	q->nback = 0;
	xsk_ring_prod__submit(&q->fq, total);
	/* A zero-copy driver may wait to be told of new fill frames. */
	if (xsk_ring_prod__needs_wakeup(&q->fq))
		recvfrom(q->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
}

void dns_xdp_wait(struct dns_xdp_q *q, int timeout_ms)
{
	struct pollfd p = {q->fd, POLLIN, 0};

	poll(&p, 1, timeout_ms);
}
