/* SPDX-License-Identifier: MIT */
/* server.c -- the DNS block-list server: UDP and TCP workers, snapshots
 *
 * Each worker owns an event loop, one UDP socket and one TCP listener per
 * address (SO_REUSEPORT), its buffers and its TCP connections; workers
 * share nothing mutable but the counters (atomics) and the current
 * snapshot, which is reference counted: a worker takes a reference for a
 * batch of queries, a reload swaps the pointer and the old snapshot is
 * unmapped when its last batch is done.
 *
 * UDP is where the load is: each UDP socket has a thread of its own that
 * blocks in recvmmsg and answers with sendmmsg, as rbldnsd blocks in
 * recvfrom: two system calls for a lone query, and under load one call
 * carries up to UDP_BATCH. Under a steady stream that is not yet heavy
 * enough to fill batches, the thread waits a moment (udp_wait) before
 * reading again, trading a quarter of a millisecond of latency for fewer
 * wakeups and system calls. TCP connections are served by the worker's
 * event loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ev.h"
#include "net.h"
#include "server.h"
#include "tl_limits.h"
#include "xdp.h"
#include "trapline/alloc.h"
#include "trapline/config.h"
#include "trapline/err.h"
#include "trapline/log.h"

#define UDP_BATCH 32        /* datagrams per recvmmsg (count) */
#define UDP_IN_MAX 4096     /* bytes of a query we read (EDNS max we take) */
#define TCP_CONNS_MAX 256   /* TCP connections per worker (count) */
#define TCP_IDLE_MS 10000   /* an idle TCP connection is closed (ms) */
#define LISTEN_MAX 16       /* listen addresses (count) */
#define UDP_WAIT_MAX_US 10000 /* the longest coalescing wait (µs) */
#define UDP_STREAM_US 2000  /* batches closer than this are a stream (µs) */
#define XFR_MSGS_PER_EVENT 4 /* transfer messages per writable event */

/* Something the workers read, swapped whole (a snapshot, the zones):
 * a worker holds a reference for a batch of queries. */
struct held {
	void *p;
	void (*drop)(void *p); /* NULL: borrowed */
	atomic_int refs;
};

struct view {
	struct held *sn; /* NULL: no snapshot yet */
	struct held *z;
};

struct tcp_conn {
	struct dns_worker *w;
	int fd;
	uint8_t in[2 + DNS_TCP_MAX]; /* length prefix and one query */
	size_t inlen;
	uint8_t out[2 + DNS_TCP_MAX];
	size_t outlen, outoff;
	uint64_t idle_t;
	struct dns_xfr_stream *xs; /* a transfer being answered (xfr.c) */
	struct held *xref;         /* ... from this snapshot, held */
	unsigned xmsgs;            /* its messages this event */
	struct tcp_conn *next;
};

/* One UDP socket and the thread that serves it. */
struct udp_side {
	struct dns_worker *w;
	int fd;
	pthread_t th;
	bool started;
	uint8_t in[UDP_BATCH][UDP_IN_MAX];
	uint8_t out[UDP_BATCH][DNS_EDNS_PAYLOAD_CAP];
	struct sockaddr_storage from[UDP_BATCH];
	struct iovec iov_in[UDP_BATCH], iov_out[UDP_BATCH];
	struct mmsghdr msg_in[UDP_BATCH], msg_out[UDP_BATCH];
	unsigned wait_us;  /* coalescing wait under a stream (µs) */
	uint64_t last_us;  /* when the last batch was answered (µs) */
};

/* One AF_XDP queue ([dns] xdp) and the thread that serves it. */
struct xdp_side {
	struct dns_worker *w;
	struct dns_xdp_q *q;
	pthread_t th;
	bool started;
	struct dns_xdp_in in[DNS_XDP_BATCH];
	uint8_t out[DNS_EDNS_PAYLOAD_CAP];
	unsigned wait_us;
	uint64_t last_us;
};

struct dns_worker {
	struct dns_server *srv;
	unsigned id;
	struct ev_loop *loop;
	pthread_t th;
	struct udp_side *udp[LISTEN_MAX];
	int tcp[LISTEN_MAX];
	unsigned n;
	struct xdp_side *xs; /* NULL: no XDP queue for this worker */
	atomic_bool stopping;
	unsigned nconns;
};

struct dns_server {
	char snap_path[4096];
	pthread_mutex_t snap_mu;
	struct held *cur;  /* the snapshot (under snap_mu) */
	struct held *zcur; /* the zones (under snap_mu) */
	struct dnsbl_stats stats;
	struct dns_xfr *xfr; /* borrowed, may be NULL */
	struct sockaddr_storage addrs[LISTEN_MAX];
	socklen_t addrlens[LISTEN_MAX];
	unsigned naddrs;
	int port;
	struct dns_worker *workers;
	unsigned nworkers, started;
	struct dns_xdp *xdp; /* NULL: no [dns] xdp */
};

/* ---- what the workers read: the snapshot and the zones -------------------- */

static struct held *held_new(void *p, void (*drop)(void *))
{
	struct held *h = tl_calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->p = p;
	h->drop = drop;
	atomic_init(&h->refs, 1);
	return h;
}

static void held_put(struct held *h)
{
	if (h && atomic_fetch_sub(&h->refs, 1) == 1) {
		if (h->drop)
			h->drop(h->p);
		tl_free(h);
	}
}

/* Take what a batch of queries is answered from. */
static void view_get(struct dns_server *srv, struct view *v)
{
	pthread_mutex_lock(&srv->snap_mu);
	v->sn = srv->cur;
	if (v->sn)
		atomic_fetch_add(&v->sn->refs, 1);
	v->z = srv->zcur;
	atomic_fetch_add(&v->z->refs, 1);
	pthread_mutex_unlock(&srv->snap_mu);
}

static void view_put(struct view *v)
{
	held_put(v->sn);
	held_put(v->z);
}

static size_t view_answer(struct dns_server *srv, const struct view *v,
			  const uint8_t *pkt, size_t len, bool tcp,
			  uint8_t *out)
{
	return dnsbl_answer(v->z->p, v->sn ? v->sn->p : NULL, pkt, len, tcp,
			    out, &srv->stats);
}

/*
 * Put @h in @slot, then wait (up to 100 ms) for the batches still using
 * the old one and drop it here: unmapping a large snapshot takes
 * milliseconds, and this keeps that off the workers, whose queries it
 * would hold up.
 */
static void swap_in(struct dns_server *srv, struct held **slot,
		    struct held *h)
{
	struct held *old;

	pthread_mutex_lock(&srv->snap_mu);
	old = *slot;
	*slot = h;
	pthread_mutex_unlock(&srv->snap_mu);
	for (int i = 0; old && atomic_load(&old->refs) > 1 && i < 100; i++) {
		struct timespec ms = {0, 1000000};

		nanosleep(&ms, NULL);
	}
	/* A zone transfer holds its snapshot to the end: then the last of
	 * it to finish drops it. */
	held_put(old);
}

static void drop_snap(void *p)
{
	snap_free(p);
}

static void drop_zones(void *p)
{
	dnsbl_zones_free(p);
	tl_free(p);
}

int dns_server_reload(struct dns_server *srv, const struct snap_info *built)
{
	struct snap_info info;
	struct held *h;
	struct snap *sn;
	int rc;

	rc = snap_load_built(srv->snap_path, built, &sn);
	if (rc < 0) {
		if (srv->cur)
			log_warn("dns", "%s: not loaded (%s); still answering "
				 "from the snapshot in use", srv->snap_path,
				 tl_strerror(rc));
		return rc;
	}
	h = held_new(sn, drop_snap);
	if (!h) {
		snap_free(sn);
		return TL_ENOMEM;
	}
	/* Only this thread swaps srv->cur: reading it unlocked is safe. */
	dns_xfr_switch(srv->xfr, srv->cur ? srv->cur->p : NULL, sn);
	swap_in(srv, &srv->cur, h);
	snap_get_info(sn, &info);
	dns_xfr_served(srv->xfr, info.serial);
	log_info("dns", "serving snapshot serial %u: %llu IPv4 and %llu IPv6 "
		 "listed, %llu in the history", info.serial,
		 (unsigned long long)info.n4, (unsigned long long)info.n6,
		 (unsigned long long)(info.nh4 + info.nh6));
	return 0;
}

int dns_server_datasets(struct dns_server *srv, const char *spec, bool force)
{
	/* Only the caller's thread swaps the zones: reading them is safe. */
	const struct dnsbl_zones *z = srv->zcur->p;
	struct dnsbl_zones *n;
	int rc;

	if (!z->nds && !spec[strspn(spec, " \t,")])
		return 0;
	if (!force && !dnsbl_datasets_changed(z))
		return 0;
	rc = dnsbl_zones_reload(z, spec, &n);
	if (rc < 0) {
		log_warn("dns", "datasets not loaded again (%s); still "
			 "answering from the ones in use", tl_strerror(rc));
		return rc;
	}
	rc = dns_server_set_zones(srv, n);
	if (rc == 0)
		log_info("dns", "datasets loaded again");
	return rc;
}

int dns_server_set_zones(struct dns_server *srv, struct dnsbl_zones *z)
{
	struct held *h = held_new(z, drop_zones);

	if (!h) {
		drop_zones(z);
		return TL_ENOMEM;
	}
	swap_in(srv, &srv->zcur, h);
	return 0;
}

/* ---- UDP ---------------------------------------------------------------- */

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/*
 * After a batch of @n: under a steady stream (the batch before ended less
 * than UDP_STREAM_US ago, *@last_us) but short of a full batch, wait
 * @wait_us so that the next read takes several queries at once: a
 * wakeup and two system calls then serve a handful. An idle server
 * answers at once; a loaded one never waits.
 */
static void coalesce(uint64_t *last_us, unsigned wait_us, int n)
{
	uint64_t now = mono_us();

	if (wait_us && n < UDP_BATCH / 2 && now - *last_us < UDP_STREAM_US) {
		struct timespec ts = {0, (long)wait_us * 1000};

		nanosleep(&ts, NULL);
	}
	*last_us = now;
}

/* Answer one batch read into @u. */
static void udp_batch(struct udp_side *u, int n)
{
	struct dns_worker *w = u->w;
	struct view v;
	int i, o;

	view_get(w->srv, &v);
	for (i = 0, o = 0; i < n; i++) {
		size_t len = view_answer(w->srv, &v, u->in[i],
					 u->msg_in[i].msg_len, false, u->out[o]);

		if (!len)
			continue;
		/* The rest of the headers was set once (udp_main). */
		u->iov_out[o].iov_len = len;
		u->msg_out[o].msg_hdr.msg_name = &u->from[i];
		u->msg_out[o].msg_hdr.msg_namelen =
			u->msg_in[i].msg_hdr.msg_namelen;
		o++;
	}
	view_put(&v);
	/* A full socket buffer drops replies, as any UDP server must; the
	 * client asks again. */
	for (i = 0; i < o;) {
		int s = sendmmsg(u->fd, u->msg_out + i, (unsigned)(o - i), 0);

		if (s <= 0)
			break;
		i += s;
	}
}

static void *udp_main(void *arg)
{
	struct udp_side *u = arg;
	struct timeval tv = {0, 200000}; /* wake to see a stop (s, µs) */
	int i, n, fl;

	/* Blocking reads, with a timeout to notice a stop; a receive buffer
	 * that holds a few hundred milliseconds of queries at 100,000/s,
	 * so a stall (a snapshot switch, a busy machine) loses none. */
	{
		int rcv = 4 << 20;

		setsockopt(u->fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	}
	fl = fcntl(u->fd, F_GETFL);
	fcntl(u->fd, F_SETFL, fl & ~O_NONBLOCK);
	setsockopt(u->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	/* The message headers are set up once: a call changes only the
	 * lengths, which are set again for the ones it used. */
	memset(u->msg_in, 0, sizeof(u->msg_in));
	memset(u->msg_out, 0, sizeof(u->msg_out));
	for (i = 0; i < UDP_BATCH; i++) {
		u->iov_in[i].iov_base = u->in[i];
		u->iov_in[i].iov_len = sizeof(u->in[i]);
		u->msg_in[i].msg_hdr.msg_iov = &u->iov_in[i];
		u->msg_in[i].msg_hdr.msg_iovlen = 1;
		u->msg_in[i].msg_hdr.msg_name = &u->from[i];
		u->msg_in[i].msg_hdr.msg_namelen = sizeof(u->from[i]);
		u->iov_out[i].iov_base = u->out[i];
		u->msg_out[i].msg_hdr.msg_iov = &u->iov_out[i];
		u->msg_out[i].msg_hdr.msg_iovlen = 1;
	}
	while (!u->w->stopping) {
		/* Wait for one, then take what else is there. */
		n = recvmmsg(u->fd, u->msg_in, UDP_BATCH, MSG_WAITFORONE, NULL);
		if (n <= 0)
			continue;
		udp_batch(u, n);
		for (i = 0; i < n; i++)
			u->msg_in[i].msg_hdr.msg_namelen = sizeof(u->from[i]);
		coalesce(&u->last_us, u->wait_us, n);
	}
	return NULL;
}

/* Serve the queries of one AF_XDP queue, as udp_main serves a socket's. */
static void *xdp_main(void *arg)
{
	struct xdp_side *x = arg;
	struct dns_server *srv = x->w->srv;

	while (!x->w->stopping) {
		int i, n = dns_xdp_recv(x->q, x->in);

		if (n > 0) {
			struct view v;

			view_get(srv, &v);
			for (i = 0; i < n; i++)
				dns_xdp_answer(x->q, &x->in[i], x->out,
					       view_answer(srv, &v, x->in[i].msg,
							   x->in[i].q.len, false,
							   x->out));
			view_put(&v);
		}
		dns_xdp_send(x->q, x->in, n);
		if (n > 0)
			coalesce(&x->last_us, x->wait_us, n);
		else
			dns_xdp_wait(x->q, 200); /* to see a stop (ms) */
	}
	return NULL;
}

/* ---- TCP (RFC 7766: several queries a connection, in order) ------------- */

static void tcp_close(struct tcp_conn *c)
{
	struct dns_worker *w = c->w;

	ev_file_del(w->loop, c->fd);
	ev_timer_del(w->loop, c->idle_t);
	dns_xfr_stream_free(c->xs);
	held_put(c->xref);
	close(c->fd);
	w->nconns--;
	tl_free(c);
}

static void on_tcp_idle(struct ev_loop *l, uint64_t id, void *arg)
{
	struct tcp_conn *c = arg;

	(void)l;
	(void)id;
	c->idle_t = 0;
	tcp_close(c);
}

static void on_tcp(struct ev_loop *l, int fd, unsigned mask, void *arg);

/* A zone transfer query (xfr.c)? Then it has its answer started: a
 * reply in c->out, or a stream that keeps @r. */
static bool xfr_query(struct tcp_conn *c, struct held *r, size_t qlen,
		      size_t *len)
{
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	enum dns_xfr_verdict v;

	if (getpeername(c->fd, (struct sockaddr *)&peer, &plen) < 0)
		plen = 0;
	v = dns_xfr_query(c->w->srv->xfr, r ? r->p : NULL, c->in + 2, qlen,
			  (struct sockaddr *)&peer, plen, c->out + 2, len,
			  &c->xs);
	if (v == DNS_XFR_NOT)
		return false;
	if (v == DNS_XFR_STREAM) {
		c->xref = r;
		*len = 0;
	} else {
		held_put(r);
	}
	return true;
}

/* Answer the whole queries held; returns false when the connection is
 * closed. */
static bool tcp_work(struct tcp_conn *c)
{
	struct dns_worker *w = c->w;

	c->xmsgs = 0;
	for (;;) {
		size_t qlen, len;
		struct view v;

		if (c->outlen > c->outoff) {
			ssize_t s = send(c->fd, c->out + c->outoff,
					 c->outlen - c->outoff, MSG_NOSIGNAL);

			if (s < 0 && (errno == EAGAIN || errno == EINTR)) {
				if (ev_file_set(w->loop, c->fd, EV_WRITE,
						on_tcp, c) < 0)
					goto close;
				return true;
			}
			if (s <= 0)
				goto close;
			c->outoff += (size_t)s;
			if (c->xs) { /* a transfer going out is not idle */
				ev_timer_del(w->loop, c->idle_t);
				c->idle_t = ev_timer_add(w->loop, TCP_IDLE_MS,
							 on_tcp_idle, c);
			}
			continue;
		}
		c->outlen = c->outoff = 0;
		if (c->xs) {
			int rc;

			/* A bounded share of the loop, then the others. */
			if (c->xmsgs++ == XFR_MSGS_PER_EVENT) {
				if (ev_file_set(w->loop, c->fd, EV_WRITE,
						on_tcp, c) < 0)
					goto close;
				return true;
			}
			rc = dns_xfr_stream_next(c->xs, c->out + 2, DNS_TCP_MAX,
						 &len);
			if (rc < 0)
				goto close;
			if (rc > 0) {
				c->out[0] = (uint8_t)(len >> 8);
				c->out[1] = (uint8_t)len;
				c->outlen = 2 + len;
				continue;
			}
			dns_xfr_stream_free(c->xs);
			c->xs = NULL;
			held_put(c->xref);
			c->xref = NULL;
		}
		if (c->inlen < 2)
			break;
		qlen = (size_t)c->in[0] << 8 | c->in[1];
		if (qlen < DNS_HEADER_SIZE)
			goto close; /* not a DNS message: hang up */
		if (c->inlen < 2 + qlen)
			break;
		view_get(w->srv, &v);
		len = 0;
		if (w->srv->xfr && xfr_query(c, v.sn, qlen, &len))
			v.sn = NULL; /* the stream holds it, or it is put */
		else
			len = view_answer(w->srv, &v, c->in + 2, qlen, true,
					  c->out + 2);
		view_put(&v);
		memmove(c->in, c->in + 2 + qlen, c->inlen - 2 - qlen);
		c->inlen -= 2 + qlen;
		if (!len)
			continue;
		c->out[0] = (uint8_t)(len >> 8);
		c->out[1] = (uint8_t)len;
		c->outlen = 2 + len;
	}
	if (ev_file_set(w->loop, c->fd, EV_READ, on_tcp, c) < 0)
		goto close;
	return true;
close:
	tcp_close(c);
	return false;
}

static void on_tcp(struct ev_loop *l, int fd, unsigned mask, void *arg)
{
	struct tcp_conn *c = arg;
	ssize_t n;

	(void)fd;
	if (mask & EV_READ) {
		n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			tcp_close(c);
			return;
		}
		if (n > 0) {
			c->inlen += (size_t)n;
			ev_timer_del(l, c->idle_t);
			c->idle_t = ev_timer_add(l, TCP_IDLE_MS, on_tcp_idle,
						 c);
		}
	}
	tcp_work(c);
}

static void on_accept(struct ev_loop *l, int lfd, unsigned mask, void *arg)
{
	struct dns_worker *w = arg;
	int i;

	(void)mask;
	for (i = 0; i < 16; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct tcp_conn *c;

		if (fd < 0)
			return;
		if (w->nconns >= TCP_CONNS_MAX ||
		    !(c = tl_calloc(1, sizeof(*c)))) {
			close(fd); /* busy: the client tries another server */
			continue;
		}
		c->w = w;
		c->fd = fd;
		w->nconns++;
		c->idle_t = ev_timer_add(l, TCP_IDLE_MS, on_tcp_idle, c);
		if (ev_file_set(l, fd, EV_READ, on_tcp, c) < 0)
			tcp_close(c);
	}
}

/* ---- running ------------------------------------------------------------ */

static void on_wake(struct ev_loop *l, void *arg)
{
	struct dns_worker *w = arg;

	if (w->stopping)
		ev_stop(l);
}

static void *worker_main(void *arg)
{
	struct dns_worker *w = arg;
	int rc = ev_run(w->loop);

	if (rc < 0)
		log_error("dns", "worker %u: %s", w->id, tl_strerror(rc));
	return NULL;
}

#define PICK_TRIES 20 /* ports tried for a listen address of port 0 */

static in_port_t *port_of(struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6
		       ? &((struct sockaddr_in6 *)ss)->sin6_port
		       : &((struct sockaddr_in *)ss)->sin_port;
}

/* [dns] xdp: the program on the interface, a queue for each of the first
 * workers (as many as it has queues). The UDP sockets stay: what the
 * program leaves to the stack comes to them. */
static int xdp_setup(struct dns_server *srv, const struct dns_setup *su)
{
	size_t msg_max = su->zones->edns_payload > DNS_UDP_MAX
				 ? su->zones->edns_payload : DNS_UDP_MAX;
	unsigned i;
	int rc;

	rc = dns_xdp_new(su->xdp, srv->addrs, srv->naddrs, srv->nworkers,
			 msg_max, &srv->xdp);
	if (rc < 0)
		return rc;
	for (i = 0; i < dns_xdp_nqueues(srv->xdp); i++) {
		struct xdp_side *x = tl_calloc(1, sizeof(*x));

		if (!x)
			return TL_ENOMEM;
		x->w = &srv->workers[i];
		x->q = dns_xdp_queue(srv->xdp, i);
		x->wait_us = su->udp_wait_us;
		srv->workers[i].xs = x;
	}
	return 0;
}

int dns_server_new(const struct dns_setup *su, struct dns_server **out)
{
	struct dns_server *srv = tl_calloc(1, sizeof(*srv));
	const char *p = su->listen, *it;
	unsigned i, j;
	size_t l;
	long ncpu;
	int rc;

	if (!srv)
		return TL_ENOMEM;
	srv->xfr = su->xfr;
	pthread_mutex_init(&srv->snap_mu, NULL);
	/* The zones of the setup are borrowed: never dropped here. */
	srv->zcur = held_new((void *)su->zones, NULL);
	if (!srv->zcur) {
		rc = TL_ENOMEM;
		goto fail;
	}
	snprintf(srv->snap_path, sizeof(srv->snap_path), "%s", su->snap_path);
	while (tl_config_next_item(&p, &it, &l)) {
		if (srv->naddrs == LISTEN_MAX ||
		    tl_net_parse(it, l, &srv->addrs[srv->naddrs],
				 &srv->addrlens[srv->naddrs]) < 0) {
			log_error("dns", "listen address '%.*s': want "
				  "ADDR:PORT or [ADDR6]:PORT", (int)l, it);
			rc = TL_EINVAL;
			goto fail;
		}
		srv->naddrs++;
	}
	if (!srv->naddrs) {
		log_error("dns", "no listen address");
		rc = TL_EINVAL;
		goto fail;
	}
	if (su->udp_wait_us > UDP_WAIT_MAX_US) {
		log_error("dns", "udp_wait %u: at most %u microseconds",
			  su->udp_wait_us, UDP_WAIT_MAX_US);
		rc = TL_EINVAL;
		goto fail;
	}
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	srv->nworkers = su->workers ? su->workers : ncpu < 1 ? 1 : (unsigned)ncpu;
	srv->workers = tl_calloc(srv->nworkers, sizeof(*srv->workers));
	if (!srv->workers) {
		rc = TL_ENOMEM;
		goto fail;
	}
	for (i = 0; i < srv->nworkers; i++) {
		struct dns_worker *w = &srv->workers[i];

		w->srv = srv;
		w->id = i;
		rc = ev_loop_new(&w->loop);
		if (rc < 0)
			goto fail;
		for (j = 0; j < srv->naddrs; j++) {
			/* UDP first: with port 0 it picks the port, and TCP
			 * takes the same one. A port free for UDP may be in
			 * use for TCP (another program's connection): then
			 * pick again. Later workers share the port. */
			in_port_t *port = port_of(&srv->addrs[j]);
			bool pick = *port == 0;
			int u, t, tries = 0;

			for (;;) {
				u = tl_net_listen(&srv->addrs[j],
						  srv->addrlens[j], SOCK_DGRAM);
				t = u < 0 ? u
					  : tl_net_listen(&srv->addrs[j],
							  srv->addrlens[j],
							  SOCK_STREAM);
				if (!(pick && u >= 0 && t == -EADDRINUSE &&
				      ++tries < PICK_TRIES))
					break;
				close(u);
				*port = 0;
			}

			if (u < 0 || t < 0) {
				log_error("dns", "listen: %s",
					  strerror(-(u < 0 ? u : t)));
				if (u >= 0)
					close(u);
				rc = u < 0 ? u : t;
				goto fail;
			}
			w->udp[w->n] = tl_calloc(1, sizeof(struct udp_side));
			if (!w->udp[w->n]) {
				close(u);
				close(t);
				rc = TL_ENOMEM;
				goto fail;
			}
			w->udp[w->n]->w = w;
			w->udp[w->n]->fd = u;
			w->udp[w->n]->wait_us = su->udp_wait_us;
			w->tcp[w->n++] = t;
			ev_file_set(w->loop, t, EV_READ, on_accept, w);
		}
		rc = ev_wake_set(w->loop, on_wake, w);
		if (rc < 0)
			goto fail;
	}
	{
		const struct sockaddr_storage *ss = &srv->addrs[0];

		srv->port = ntohs(ss->ss_family == AF_INET
					  ? ((const struct sockaddr_in *)ss)->sin_port
					  : ((const struct sockaddr_in6 *)ss)->sin6_port);
	}
	if (su->xdp && *su->xdp) {
		rc = xdp_setup(srv, su);
		if (rc < 0)
			goto fail;
	}
	rc = dns_server_reload(srv, su->built);
	if (rc < 0 && rc != TL_ENOENT)
		log_warn("dns", "no usable snapshot yet: answering SERVFAIL");
	*out = srv;
	return 0;
fail:
	dns_server_free(srv);
	return rc;
}

int dns_server_port(const struct dns_server *srv)
{
	return srv->port;
}

bool dns_server_has_data(struct dns_server *srv)
{
	bool has;

	pthread_mutex_lock(&srv->snap_mu);
	has = srv->cur != NULL;
	pthread_mutex_unlock(&srv->snap_mu);
	return has;
}

struct dnsbl_stats *dns_server_stats(struct dns_server *srv)
{
	return &srv->stats;
}

int dns_server_start(struct dns_server *srv)
{
	unsigned i;

	for (i = 0; i < srv->nworkers; i++) {
		struct dns_worker *w = &srv->workers[i];
		unsigned j;

		if (pthread_create(&w->th, NULL, worker_main, w) != 0)
			return TL_ENOMEM;
		srv->started++;
		for (j = 0; j < w->n; j++) {
			if (pthread_create(&w->udp[j]->th, NULL, udp_main,
					   w->udp[j]) != 0)
				return TL_ENOMEM;
			w->udp[j]->started = true;
		}
		if (w->xs) {
			if (pthread_create(&w->xs->th, NULL, xdp_main, w->xs) != 0)
				return TL_ENOMEM;
			w->xs->started = true;
		}
	}
	/* The queues are served: now the program may send queries there. */
	if (srv->xdp) {
		int rc = dns_xdp_attach(srv->xdp);

		if (rc < 0)
			return rc;
	}
	log_info("dns", "listening on port %d (UDP and TCP) with %u workers",
		 srv->port, srv->nworkers);
	return 0;
}

int dns_server_stop(struct dns_server *srv)
{
	unsigned i;

	for (i = 0; i < srv->started; i++) {
		srv->workers[i].stopping = true;
		ev_wake(srv->workers[i].loop);
	}
	for (i = 0; i < srv->started; i++) {
		struct dns_worker *w = &srv->workers[i];
		unsigned j;

		pthread_join(w->th, NULL);
		for (j = 0; j < w->n; j++)
			if (w->udp[j]->started) {
				pthread_join(w->udp[j]->th, NULL);
				w->udp[j]->started = false;
			}
		if (w->xs && w->xs->started) {
			pthread_join(w->xs->th, NULL);
			w->xs->started = false;
		}
	}
	srv->started = 0;
	return 0;
}

void dns_server_free(struct dns_server *srv)
{
	unsigned i, j;

	if (!srv)
		return;
	if (srv->started)
		dns_server_stop(srv);
	for (i = 0; srv->workers && i < srv->nworkers; i++) {
		struct dns_worker *w = &srv->workers[i];

		for (j = 0; j < w->n; j++) {
			close(w->udp[j]->fd);
			tl_free(w->udp[j]);
			close(w->tcp[j]);
		}
		tl_free(w->xs);
		ev_loop_free(w->loop); /* TCP conns: freed with the process */
	}
	dns_xdp_free(srv->xdp);
	tl_free(srv->workers);
	held_put(srv->cur);
	held_put(srv->zcur);
	pthread_mutex_destroy(&srv->snap_mu);
	tl_free(srv);
}
