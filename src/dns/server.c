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
 * carries up to UDP_BATCH. TCP connections are served by the worker's
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
#include "trapline/alloc.h"
#include "trapline/config.h"
#include "trapline/err.h"
#include "trapline/log.h"

#define UDP_BATCH 32        /* datagrams per recvmmsg (count) */
#define UDP_IN_MAX 4096     /* bytes of a query we read (EDNS max we take) */
#define TCP_CONNS_MAX 256   /* TCP connections per worker (count) */
#define TCP_IDLE_MS 10000   /* an idle TCP connection is closed (ms) */
#define LISTEN_MAX 16       /* listen addresses (count) */
#define XFR_MSGS_PER_EVENT 4 /* transfer messages per writable event */

struct snapref {
	struct snap *sn;
	atomic_int refs;
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
	struct snapref *xref;      /* ... from this snapshot, held */
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
};

struct dns_worker {
	struct dns_server *srv;
	unsigned id;
	struct ev_loop *loop;
	pthread_t th;
	struct udp_side *udp[LISTEN_MAX];
	int tcp[LISTEN_MAX];
	unsigned n;
	atomic_bool stopping;
	unsigned nconns;
};

struct dns_server {
	const struct dnsbl_zones *zones;
	char snap_path[4096];
	pthread_mutex_t snap_mu;
	struct snapref *cur;
	struct dnsbl_stats stats;
	struct dns_xfr *xfr; /* borrowed, may be NULL */
	struct sockaddr_storage addrs[LISTEN_MAX];
	socklen_t addrlens[LISTEN_MAX];
	unsigned naddrs;
	int port;
	struct dns_worker *workers;
	unsigned nworkers, started;
};

/* ---- the current snapshot ------------------------------------------------ */

static struct snapref *snap_get(struct dns_server *srv)
{
	struct snapref *r;

	pthread_mutex_lock(&srv->snap_mu);
	r = srv->cur;
	if (r)
		atomic_fetch_add(&r->refs, 1);
	pthread_mutex_unlock(&srv->snap_mu);
	return r;
}

static void snap_put(struct snapref *r)
{
	if (r && atomic_fetch_sub(&r->refs, 1) == 1) {
		snap_free(r->sn);
		tl_free(r);
	}
}

int dns_server_reload(struct dns_server *srv)
{
	struct snapref *r, *old;
	struct snap_info info;
	struct snap *sn;
	int rc;

	rc = snap_load(srv->snap_path, &sn);
	if (rc < 0) {
		if (srv->cur)
			log_warn("dns", "%s: not loaded (%s); still answering "
				 "from the snapshot in use", srv->snap_path,
				 tl_strerror(rc));
		return rc;
	}
	r = tl_calloc(1, sizeof(*r));
	if (!r) {
		snap_free(sn);
		return TL_ENOMEM;
	}
	r->sn = sn;
	atomic_init(&r->refs, 1);
	/* Only this thread swaps srv->cur: reading it unlocked is safe. */
	dns_xfr_switch(srv->xfr, srv->cur ? srv->cur->sn : NULL, sn);
	pthread_mutex_lock(&srv->snap_mu);
	old = srv->cur;
	srv->cur = r;
	pthread_mutex_unlock(&srv->snap_mu);
	/* Unmapping a large snapshot takes milliseconds: wait here for the
	 * batches still using the old one, and free it on this thread, not
	 * on a worker that would hold its queries up meanwhile. */
	for (int i = 0; old && atomic_load(&old->refs) > 1 && i < 100; i++) {
		struct timespec ms = {0, 1000000};

		nanosleep(&ms, NULL);
	}
	/* A zone transfer holds its snapshot to the end: the last of it
	 * to finish frees it. */
	snap_put(old);
	snap_get_info(sn, &info);
	dns_xfr_served(srv->xfr, info.serial);
	log_info("dns", "serving snapshot serial %u: %llu IPv4 and %llu IPv6 "
		 "listed, %llu in the history", info.serial,
		 (unsigned long long)info.n4, (unsigned long long)info.n6,
		 (unsigned long long)(info.nh4 + info.nh6));
	return 0;
}

/* ---- UDP ---------------------------------------------------------------- */

/* Answer one batch read into @u. */
static void udp_batch(struct udp_side *u, int n)
{
	struct dns_worker *w = u->w;
	struct snapref *r = snap_get(w->srv);
	int i, o;

	for (i = 0, o = 0; i < n; i++) {
		size_t len = dnsbl_answer(w->srv->zones, r ? r->sn : NULL,
					  u->in[i], u->msg_in[i].msg_len, false,
					  u->out[o], &w->srv->stats);

		if (!len)
			continue;
		u->iov_out[o].iov_base = u->out[o];
		u->iov_out[o].iov_len = len;
		memset(&u->msg_out[o], 0, sizeof(u->msg_out[o]));
		u->msg_out[o].msg_hdr.msg_iov = &u->iov_out[o];
		u->msg_out[o].msg_hdr.msg_iovlen = 1;
		u->msg_out[o].msg_hdr.msg_name = &u->from[i];
		u->msg_out[o].msg_hdr.msg_namelen =
			u->msg_in[i].msg_hdr.msg_namelen;
		o++;
	}
	snap_put(r);
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
	while (!u->w->stopping) {
		for (i = 0; i < UDP_BATCH; i++) {
			u->iov_in[i].iov_base = u->in[i];
			u->iov_in[i].iov_len = sizeof(u->in[i]);
			memset(&u->msg_in[i], 0, sizeof(u->msg_in[i]));
			u->msg_in[i].msg_hdr.msg_iov = &u->iov_in[i];
			u->msg_in[i].msg_hdr.msg_iovlen = 1;
			u->msg_in[i].msg_hdr.msg_name = &u->from[i];
			u->msg_in[i].msg_hdr.msg_namelen = sizeof(u->from[i]);
		}
		/* Wait for one, then take what else is there. */
		n = recvmmsg(u->fd, u->msg_in, UDP_BATCH, MSG_WAITFORONE, NULL);
		if (n > 0)
			udp_batch(u, n);
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
	snap_put(c->xref);
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
static bool xfr_query(struct tcp_conn *c, struct snapref *r, size_t qlen,
		      size_t *len)
{
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	enum dns_xfr_verdict v;

	if (getpeername(c->fd, (struct sockaddr *)&peer, &plen) < 0)
		plen = 0;
	v = dns_xfr_query(c->w->srv->xfr, r ? r->sn : NULL, c->in + 2, qlen,
			  (struct sockaddr *)&peer, plen, c->out + 2, len,
			  &c->xs);
	if (v == DNS_XFR_NOT)
		return false;
	if (v == DNS_XFR_STREAM) {
		c->xref = r;
		*len = 0;
	} else {
		snap_put(r);
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
		struct snapref *r;

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
			snap_put(c->xref);
			c->xref = NULL;
		}
		if (c->inlen < 2)
			break;
		qlen = (size_t)c->in[0] << 8 | c->in[1];
		if (qlen < DNS_HEADER_SIZE)
			goto close; /* not a DNS message: hang up */
		if (c->inlen < 2 + qlen)
			break;
		r = snap_get(w->srv);
		len = 0;
		if (w->srv->xfr && xfr_query(c, r, qlen, &len))
			r = NULL; /* the stream holds it, or it is put */
		else
			len = dnsbl_answer(w->srv->zones, r ? r->sn : NULL,
					   c->in + 2, qlen, true, c->out + 2,
					   &w->srv->stats);
		snap_put(r);
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
	srv->zones = su->zones;
	srv->xfr = su->xfr;
	pthread_mutex_init(&srv->snap_mu, NULL);
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
			 * takes the same one. */
			int u = tl_net_listen(&srv->addrs[j], srv->addrlens[j],
					      SOCK_DGRAM);
			int t = u < 0 ? u
				      : tl_net_listen(&srv->addrs[j],
						      srv->addrlens[j],
						      SOCK_STREAM);

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
	rc = dns_server_reload(srv);
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
		ev_loop_free(w->loop); /* TCP conns: freed with the process */
	}
	tl_free(srv->workers);
	snap_put(srv->cur);
	pthread_mutex_destroy(&srv->snap_mu);
	tl_free(srv);
}
