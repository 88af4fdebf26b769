/* SPDX-License-Identifier: MIT */
/* server.c -- the SMTP trap: listeners, workers, the commit path
 *
 * Threads: N workers, each an event loop (ev.h) with its own listening
 * socket per address (SO_REUSEPORT: the kernel spreads connections), and
 * one committer that alone writes to the store. A worker that has read a
 * whole message hands its event to the committer and stops reading that
 * session; the committer appends everything handed to it since its last
 * turn, makes it durable in one fdatasync (group commit), and gives each
 * worker back its sessions, which then get their 250 (or 451 when the
 * store failed: nothing is acknowledged that is not durable).
 *
 * A hostile client costs a bounded amount and never stops the others:
 * sessions in total and per address are capped, every line and message
 * is bounded (session.c), a session that is idle, too long, or does not
 * read its replies is closed by its timers, and accept pauses when the
 * process runs out of descriptors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ev.h"
#include "net.h"
#include "tl_limits.h"
#include "rcpts.h"
#include "server.h"
#include "session.h"
#include "tls.h"
#include "trapline/alloc.h"
#include "trapline/day.h"
#include "trapline/err.h"
#include "trapline/log.h"

#define PER_IP_BUCKETS 4096 /* hash buckets of the per-address counts */

struct trap_server;
struct worker;

/* What SIGHUP reloads, reference counted: a session keeps the one it
 * started with. */
struct live {
	atomic_int refs;
	struct trap_server *srv;
	struct mail_rules *rules;
	struct trap_rcpts *rcpts;
	struct mail_av *av;      /* ClamAV, or NULL */
	struct sess_env env; /* ctx = this */
};

/* An event on its way to the committer. */
struct item {
	struct item *next;
	struct tl_event ev;
	struct worker *w;   /* ack: the worker to give the result to */
	struct conn *c;     /* ack: the session waiting */
	bool ack;           /* a session waits for it */
	bool barrier;       /* trap_server_flush waits for it */
	bool ok;            /* durable */
	bool done;          /* barrier: passed */
};

struct conn {
	struct worker *w;
	struct conn *prev, *next; /* the worker's sessions */
	int fd;
	struct live *live;
	struct session s;
	struct trap_tls_conn *tls;
	bool handshaking;      /* TLS handshake under way */
	bool starttls;         /* 220 queued: handshake once it is sent */
	bool waiting;          /* a message is with the committer */
	bool orphan;           /* closed while waiting: free on its result */
	bool closing;          /* flush, then close */
	bool tarpit;           /* a listed client: replies held back */
	bool tarpit_due;       /* the hold is over: send */
	bool counted;          /* counted in per-address sessions */
	struct tl_ip counted_ip;
	char *pend;            /* input read but not yet taken */
	size_t pendlen, pendcap;
	uint64_t idle_t, life_t, greet_t, tarpit_t; /* timer ids */
};

struct worker {
	struct trap_server *srv;
	unsigned id;
	struct ev_loop *loop;
	pthread_t th;
	int lfd[TL_TRAP_LISTEN_MAX];
	unsigned nl;
	bool paused;           /* accept paused (EMFILE) */
	atomic_bool stopping;   /* set by the main thread */
	pthread_mutex_t mu;    /* guards done */
	struct item *done;     /* results from the committer */
	struct conn *conns;
	unsigned nconns;
	char buf[TL_TRAP_READ_BUF];
};

struct ipcount {
	struct ipcount *next;
	struct tl_ip ip;
	unsigned n;
};

struct retain_count {
	struct retain_count *next;
	struct tl_ip ip;
	unsigned n;
};

struct trap_server {
	const struct tl_config *cfg;
	const char *data;
	struct tl_store *store, *reader;
	const struct tl_policy *policy;
	struct sess_cfg scfg;
	struct trap_tls *tls;
	struct tl_prefix *trusted;
	unsigned ntrusted;
	struct sockaddr_storage addrs[TL_TRAP_LISTEN_MAX];
	socklen_t addrlens[TL_TRAP_LISTEN_MAX];
	unsigned naddrs;
	int port;
	struct worker *workers;
	unsigned nworkers;
	/* reloadable */
	pthread_mutex_t live_mu;
	struct live *live;
	/* limits */
	atomic_uint sessions;
	pthread_mutex_t ip_mu;
	struct ipcount *ipc[PER_IP_BUCKETS];
	/* dictionary attacks */
	pthread_mutex_t dict_mu;
	struct mail_dict *dict;
	/* retention */
	pthread_mutex_t ret_mu;
	struct retain_count *retc[PER_IP_BUCKETS];
	tl_day ret_day;
	uint64_t ret_bytes;
	atomic_uint_fast64_t ret_seq;
	/* the committer */
	pthread_t committer;
	bool committer_up;
	unsigned started;      /* workers running */
	pthread_mutex_t q_mu;
	pthread_cond_t q_cv, flush_cv;
	struct item *q;        /* newest first */
	unsigned q_len;        /* items in q */
	unsigned q_want;       /* lingering for this many, or 0 */
	bool q_stop;
	int commit_rc;
	/* counters */
	atomic_uint_fast64_t n_sessions, n_messages, n_busy, n_events, n_fail;
};

/* ---- the committer ------------------------------------------------------ */

static void give_back(struct worker *w, struct item *it)
{
	pthread_mutex_lock(&w->mu);
	it->next = w->done;
	w->done = it;
	pthread_mutex_unlock(&w->mu);
}

static void *committer_main(void *arg)
{
	struct trap_server *srv = arg;
	bool wake[256];
	bool said = false;

	for (;;) {
		struct item *list, *it, *next, *fifo = NULL;
		unsigned i;
		int rc = 0;

		pthread_mutex_lock(&srv->q_mu);
		while (!srv->q && !srv->q_stop) {
			struct timespec until;

			if (!tl_store_unapplied(srv->store)) {
				pthread_cond_wait(&srv->q_cv, &srv->q_mu);
				continue;
			}
			/* A durable group the applier was too busy to take is
			 * handed to it when things go quiet, so readers see it
			 * soon, not at the next message. */
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += 50 * 1000000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			if (pthread_cond_timedwait(&srv->q_cv, &srv->q_mu,
						   &until) == ETIMEDOUT &&
			    !srv->q) {
				pthread_mutex_unlock(&srv->q_mu);
				tl_store_commit_async(srv->store);
				pthread_mutex_lock(&srv->q_mu);
			}
		}
		if (srv->q && !srv->q_stop && srv->q_len < TL_TRAP_COMMIT_GROUP) {
			/* Few waiting: linger a moment so that one fdatasync
			 * covers more sessions (each waits for its 250 anyway;
			 * a millisecond more is nothing to SMTP). */
			struct timespec until;

			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += TL_TRAP_COMMIT_LINGER_US * 1000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			srv->q_want = TL_TRAP_COMMIT_GROUP;
			while (srv->q_len < TL_TRAP_COMMIT_GROUP && !srv->q_stop &&
			       pthread_cond_timedwait(&srv->q_cv, &srv->q_mu,
						      &until) == 0)
				;
			srv->q_want = 0;
		}
		list = srv->q;
		srv->q = NULL;
		srv->q_len = 0;
		if (!list && srv->q_stop) {
			pthread_mutex_unlock(&srv->q_mu);
			break;
		}
		pthread_mutex_unlock(&srv->q_mu);
		for (it = list; it; it = next) { /* oldest first */
			next = it->next;
			it->next = fifo;
			fifo = it;
		}
		for (it = fifo; it && rc == 0; it = it->next)
			if (!it->barrier)
				rc = tl_store_append(srv->store, &it->ev);
		if (rc == 0)
			rc = tl_store_commit_async(srv->store);
		for (it = fifo; it && rc == 0; it = it->next)
			if (it->barrier) {
				/* A flush waits for the history too: whoever
				 * asked reads it next (a snapshot build). */
				rc = tl_store_wait(srv->store);
				break;
			}
		if (rc < 0) {
			atomic_fetch_add(&srv->n_fail, 1);
			if (!said)
				log_error("trap", "the store failed: %s; "
					  "messages get 451 until it works",
					  tl_strerror(rc));
			said = true;
			srv->commit_rc = rc;
		} else {
			said = false;
		}
		memset(wake, 0, sizeof(wake));
		for (it = fifo; it; it = next) {
			next = it->next;
			it->ok = rc == 0;
			if (it->barrier) {
				pthread_mutex_lock(&srv->q_mu);
				it->done = true;
				pthread_cond_broadcast(&srv->flush_cv);
				pthread_mutex_unlock(&srv->q_mu);
			} else if (it->ack) {
				wake[it->w->id % 256] = true;
				give_back(it->w, it);
			} else {
				if (rc == 0)
					atomic_fetch_add(&srv->n_events, 1);
				tl_free(it);
			}
		}
		for (i = 0; i < srv->nworkers; i++)
			if (wake[i % 256])
				ev_wake(srv->workers[i].loop);
	}
	return NULL;
}

static void enqueue(struct trap_server *srv, struct item *it)
{
	pthread_mutex_lock(&srv->q_mu);
	it->next = srv->q;
	srv->q = it;
	srv->q_len++;
	/* While the committer lingers, wake it only for a full group. */
	if (!srv->q_want || srv->q_len >= srv->q_want || it->barrier)
		pthread_cond_signal(&srv->q_cv);
	pthread_mutex_unlock(&srv->q_mu);
}

int trap_server_submit(struct trap_server *srv, const struct tl_event *ev)
{
	struct item *it = tl_calloc(1, sizeof(*it));

	if (!it)
		return TL_ENOMEM;
	it->ev = *ev;
	enqueue(srv, it);
	return 0;
}

int trap_server_flush(struct trap_server *srv)
{
	struct item it = {.barrier = true};
	int rc;

	enqueue(srv, &it);
	pthread_mutex_lock(&srv->q_mu);
	while (!it.done)
		pthread_cond_wait(&srv->flush_cv, &srv->q_mu);
	rc = it.ok ? 0 : srv->commit_rc;
	pthread_mutex_unlock(&srv->q_mu);
	return rc;
}

/* ---- what sessions ask of the world ------------------------------------ */

static enum sess_rcpt env_rcpt(void *ctx, const struct smtp_path *p)
{
	struct live *l = ctx;

	return trap_rcpts_check(l->rcpts, p);
}

static uint32_t env_dict(void *ctx, const struct tl_ip *ip, const char *addr,
			 size_t len, int64_t now)
{
	struct trap_server *srv = ((struct live *)ctx)->srv;
	uint32_t n;

	pthread_mutex_lock(&srv->dict_mu);
	n = mail_dict_note(srv->dict, ip, addr, len, now);
	pthread_mutex_unlock(&srv->dict_mu);
	return n;
}

static void env_record(void *ctx, const struct tl_event *ev)
{
	struct trap_server *srv = ((struct live *)ctx)->srv;

	if (trap_server_submit(srv, ev) < 0)
		log_warn("trap", "out of memory: an event was not recorded");
}

static int64_t env_now(void *ctx)
{
	(void)ctx;
	return (int64_t)time(NULL);
}

static void live_put(struct live *l)
{
	if (l && atomic_fetch_sub(&l->refs, 1) == 1) {
		mail_rules_free(l->rules);
		trap_rcpts_free(l->rcpts);
		mail_av_free(l->av);
		tl_free(l);
	}
}

static struct live *live_get(struct trap_server *srv)
{
	struct live *l;

	pthread_mutex_lock(&srv->live_mu);
	l = srv->live;
	atomic_fetch_add(&l->refs, 1);
	pthread_mutex_unlock(&srv->live_mu);
	return l;
}

/* Load the trap addresses and content rules into a new live set. */
static int live_load(struct trap_server *srv, struct live **out)
{
	struct live *l = tl_calloc(1, sizeof(*l));
	int rc;

	if (!l)
		return TL_ENOMEM;
	atomic_init(&l->refs, 1);
	l->srv = srv;
	rc = mail_rules_load(srv->cfg->content_rules, &l->rules);
	if (rc == 0)
		rc = trap_rcpts_load(srv->cfg->trap_domains,
				     srv->cfg->trap_addresses, &l->rcpts);
	if (rc == 0 && srv->cfg->content_clamav[0])
		rc = mail_av_open(srv->cfg->content_clamav, &l->av);
	if (rc < 0) {
		live_put(l);
		return rc;
	}
	l->env.ctx = l;
	l->env.rcpt = env_rcpt;
	l->env.dict = env_dict;
	l->env.record = env_record;
	l->env.now = env_now;
	l->env.rules = l->rules;
	l->env.av = l->av;
	*out = l;
	return 0;
}

/* ---- per-address limits ------------------------------------------------- */

static size_t ip_bucket(const struct tl_ip *ip)
{
	uint32_t h = 2166136261u ^ ip->family;
	size_t i;

	for (i = 0; i < tl_ip_size(ip); i++)
		h = (h ^ ip->a[i]) * 16777619u;
	return h % PER_IP_BUCKETS;
}

static bool ip_same(const struct tl_ip *a, const struct tl_ip *b)
{
	return tl_ip_cmp(a, b) == 0;
}

/* Count one more session from @ip; false (and not counted) past the cap. */
static bool ip_take(struct trap_server *srv, const struct tl_ip *ip)
{
	struct ipcount **pp = &srv->ipc[ip_bucket(ip)], *c;
	bool ok = true;

	pthread_mutex_lock(&srv->ip_mu);
	for (c = *pp; c && !ip_same(&c->ip, ip); c = c->next)
		;
	if (!c) {
		c = tl_calloc(1, sizeof(*c));
		if (c) {
			c->ip = *ip;
			c->next = *pp;
			*pp = c;
		}
	}
	if (!c || c->n >= srv->cfg->trap_max_per_ip)
		ok = false;
	else
		c->n++;
	pthread_mutex_unlock(&srv->ip_mu);
	return ok;
}

static void ip_drop(struct trap_server *srv, const struct tl_ip *ip)
{
	struct ipcount **pp = &srv->ipc[ip_bucket(ip)], *c;

	pthread_mutex_lock(&srv->ip_mu);
	for (; (c = *pp) != NULL; pp = &c->next) {
		if (!ip_same(&c->ip, ip))
			continue;
		if (--c->n == 0) {
			*pp = c->next;
			tl_free(c);
		}
		break;
	}
	pthread_mutex_unlock(&srv->ip_mu);
}

static bool is_trusted(const struct trap_server *srv, const struct tl_ip *ip)
{
	unsigned i;

	for (i = 0; i < srv->ntrusted; i++)
		if (tl_prefix_contains(&srv->trusted[i], ip))
			return true;
	return false;
}

/* Is @ip listed now? (For the tarpit; an error means no.) */
static bool is_listed(const struct trap_server *srv, const struct tl_ip *ip)
{
	struct tl_history h;
	struct tl_listing li;
	bool listed;

	if (!srv->reader || !srv->cfg->trap_tarpit_delay)
		return false;
	memset(&h, 0, sizeof(h));
	if (tl_store_get(srv->reader, ip, &h) < 0)
		return false;
	tl_policy_decide(srv->policy, ip, &h, tl_day_today(), &li);
	listed = li.listed;
	tl_history_free(&h);
	return listed;
}

/* ---- retention ---------------------------------------------------------- */

/* Keep the first retain_per_day messages per client per day, as evidence,
 * in a maildir under a size cap. */
static void retain(struct trap_server *srv, const struct conn *c)
{
	const struct tl_config *cfg = srv->cfg;
	struct retain_count **pp, *r;
	char tmp[4096], dst[4096], ip[TL_IP_STRLEN];
	tl_day today = tl_day_from_time((int64_t)time(NULL));
	size_t len = c->s.data.len, i;
	bool keep = false;
	int fd, n;

	if (!cfg->trap_retain_dir[0] || !cfg->trap_retain_per_day)
		return;
	pthread_mutex_lock(&srv->ret_mu);
	if (today != srv->ret_day) { /* a new day: counts start again */
		for (i = 0; i < PER_IP_BUCKETS; i++)
			while ((r = srv->retc[i]) != NULL) {
				srv->retc[i] = r->next;
				tl_free(r);
			}
		srv->ret_day = today;
	}
	pp = &srv->retc[ip_bucket(&c->s.peer)];
	for (r = *pp; r && !ip_same(&r->ip, &c->s.peer); r = r->next)
		;
	if (!r && (r = tl_calloc(1, sizeof(*r))) != NULL) {
		r->ip = c->s.peer;
		r->next = *pp;
		*pp = r;
	}
	if (r && r->n < cfg->trap_retain_per_day &&
	    srv->ret_bytes + len <= cfg->trap_retain_max) {
		r->n++;
		srv->ret_bytes += len;
		keep = true;
	}
	pthread_mutex_unlock(&srv->ret_mu);
	if (!keep)
		return;
	tl_ip_format(&c->s.peer, ip);
	for (i = 0; ip[i]; i++)
		if (ip[i] == ':')
			ip[i] = '_';
	n = snprintf(tmp, sizeof(tmp), "%s/tmp/%lld.%" PRIuFAST64 "_%s.trapline",
		     cfg->trap_retain_dir, (long long)time(NULL),
		     atomic_fetch_add(&srv->ret_seq, 1), ip);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return;
	n = snprintf(dst, sizeof(dst), "%s/new/%s", cfg->trap_retain_dir,
		     strrchr(tmp, '/') + 1);
	if (n < 0 || (size_t)n >= sizeof(dst))
		return;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0 || write(fd, c->s.msg, len) != (ssize_t)len ||
	    close(fd) < 0 || rename(tmp, dst) < 0) {
		log_warn("trap", "retain %s: %s", tmp, strerror(errno));
		if (fd >= 0)
			unlink(tmp);
	}
}

/* ---- connections -------------------------------------------------------- */

static void conn_update(struct conn *c);
static void conn_close(struct conn *c);
static void on_io(struct ev_loop *l, int fd, unsigned mask, void *arg);

static int watch(struct conn *c, unsigned mask)
{
	return ev_file_set(c->w->loop, c->fd, mask, on_io, c);
}

static int conn_flush(struct conn *c);
static void conn_feed(struct conn *c, const char *in, size_t len);

static void conn_free(struct conn *c)
{
	sess_free(&c->s);
	live_put(c->live);
	tl_free(c->pend);
	tl_free(c);
}

static void unlink_conn(struct conn *c)
{
	struct worker *w = c->w;

	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	w->nconns--;
}

static void conn_close(struct conn *c)
{
	struct worker *w = c->w;
	struct trap_server *srv = w->srv;
	struct tl_event ev;

	if (c->fd < 0)
		return;
	ev_file_del(w->loop, c->fd);
	ev_timer_del(w->loop, c->idle_t);
	ev_timer_del(w->loop, c->life_t);
	ev_timer_del(w->loop, c->greet_t);
	ev_timer_del(w->loop, c->tarpit_t);
	c->idle_t = c->life_t = c->greet_t = c->tarpit_t = 0;
	if (c->tls)
		trap_tls_conn_free(c->tls);
	c->tls = NULL;
	close(c->fd);
	c->fd = -1;
	if (c->counted)
		ip_drop(srv, &c->counted_ip);
	c->counted = false;
	if (sess_finish(&c->s, &ev))
		env_record(c->live, &ev);
	atomic_fetch_sub(&srv->sessions, 1);
	unlink_conn(c);
	if (c->waiting)
		c->orphan = true; /* freed when its result comes */
	else
		conn_free(c);
}

/* Keep pending input (not yet taken by the session). */
static int keep_pending(struct conn *c, const char *in, size_t len)
{
	if (!len)
		return 0;
	if (in >= c->pend && in < c->pend + c->pendcap) {
		/* Already ours: move it to the front. */
		memmove(c->pend, in, len);
		c->pendlen = len;
		return 0;
	}
	if (c->pendlen + len > c->pendcap) {
		size_t cap = c->pendlen + len;
		char *p = tl_reallocarray(c->pend, cap, 1);

		if (!p)
			return TL_ENOMEM;
		c->pend = p;
		c->pendcap = cap;
	}
	memcpy(c->pend + c->pendlen, in, len);
	c->pendlen += len;
	return 0;
}

static void touch(struct conn *c);

static void on_idle(struct ev_loop *l, uint64_t id, void *arg)
{
	struct conn *c = arg;

	(void)l;
	(void)id;
	c->idle_t = 0;
	if (c->waiting) {
		/* Its message is with the committer: not idle. */
		touch(c);
		return;
	}
	sess_shutdown(&c->s, "timeout exceeded");
	conn_flush(c); /* best effort: it may not be reading */
	conn_close(c);
}

static void on_life(struct ev_loop *l, uint64_t id, void *arg)
{
	struct conn *c = arg;

	(void)l;
	(void)id;
	c->life_t = 0;
	sess_shutdown(&c->s, "session too long");
	conn_flush(c);
	conn_close(c);
}

static void touch(struct conn *c)
{
	struct ev_loop *l = c->w->loop;

	ev_timer_del(l, c->idle_t);
	c->idle_t = ev_timer_add(l, c->w->srv->cfg->trap_idle_timeout * 1000ULL,
				 on_idle, c);
}

static void on_tarpit(struct ev_loop *l, uint64_t id, void *arg)
{
	struct conn *c = arg;

	(void)l;
	(void)id;
	c->tarpit_t = 0;
	c->tarpit_due = true;
	if (conn_flush(c) < 0) {
		conn_close(c);
		return;
	}
	conn_update(c);
}

/* Send what the session has queued. Returns <0 when the connection is
 * broken. */
static int conn_flush(struct conn *c)
{
	while (c->s.outlen) {
		ssize_t n;

		if (c->tarpit && !c->tarpit_due) {
			if (!c->tarpit_t)
				c->tarpit_t = ev_timer_add(
					c->w->loop,
					c->w->srv->cfg->trap_tarpit_delay,
					on_tarpit, c);
			return 0;
		}
		if (c->tls && !c->handshaking) {
			n = trap_tls_write(c->tls, c->s.out, c->s.outlen);
			if (n == TRAP_TLS_WANT_WRITE || n == TRAP_TLS_WANT_READ)
				return 0;
			if (n < 0)
				return -1;
		} else {
			n = send(c->fd, c->s.out, c->s.outlen, MSG_NOSIGNAL);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return 0;
			if (n < 0)
				return -1;
		}
		sess_sent(&c->s, (size_t)n);
	}
	c->tarpit_due = false;
	return 0;
}

/* Watch for what the connection waits for now. */
static void conn_update(struct conn *c)
{
	unsigned mask = 0;

	if (c->fd < 0)
		return;
	if (c->s.outlen)
		mask |= EV_WRITE;
	if (!c->closing && !c->waiting && !c->starttls && !c->pendlen)
		mask |= EV_READ;
	if (c->handshaking)
		return; /* the handshake sets its own mask */
	if (c->tarpit && c->s.outlen && !c->tarpit_due)
		mask &= ~EV_WRITE; /* held back: the tarpit timer sends */
	if (watch(c, mask) < 0)
		conn_close(c);
}


/* The client address changed (PROXY, XCLIENT): count it there. */
static bool peer_changed(struct conn *c)
{
	struct trap_server *srv = c->w->srv;

	if (c->counted && ip_same(&c->counted_ip, &c->s.peer))
		return true;
	if (c->counted)
		ip_drop(srv, &c->counted_ip);
	c->counted = false;
	if (!ip_take(srv, &c->s.peer)) {
		sess_shutdown(&c->s, "too many connections from your address");
		return false;
	}
	c->counted = true;
	c->counted_ip = c->s.peer;
	c->tarpit = is_listed(srv, &c->s.peer);
	return true;
}

static void submit_message(struct conn *c)
{
	struct item *it = tl_calloc(1, sizeof(*it));

	if (!it) {
		sess_committed(&c->s, false);
		return;
	}
	it->ev = c->s.ev;
	it->ack = true;
	it->w = c->w;
	it->c = c;
	c->waiting = true;
	enqueue(c->w->srv, it);
}

static void start_tls(struct conn *c);

/* Offer input to the session until it is all taken or the session waits. */
static void conn_feed(struct conn *c, const char *in, size_t len)
{
	size_t off = 0;

	while (off < len && c->fd >= 0) {
		enum sess_action act;
		size_t used = sess_input(&c->s, in + off, len - off, &act);

		off += used;
		switch (act) {
		case SESS_MORE:
			if (used == 0) {
				/* The session waits (greeting, replies not
				 * read): keep the rest. */
				if (keep_pending(c, in + off, len - off) < 0)
					c->closing = true;
				return;
			}
			break;
		case SESS_PEER:
			if (!peer_changed(c))
				c->closing = true;
			break;
		case SESS_STARTTLS:
			/* RFC 3207 5: plaintext after STARTTLS is dropped. */
			c->pendlen = 0;
			c->starttls = true;
			return;
		case SESS_MESSAGE:
			submit_message(c);
			if (keep_pending(c, in + off, len - off) < 0)
				c->closing = true;
			return;
		case SESS_CLOSE:
			c->closing = true;
			return;
		}
		if (c->closing)
			return;
	}
	if (off >= len && in == c->pend)
		c->pendlen = 0;
}

/* Offer what was kept. */
static void feed_pending(struct conn *c)
{
	size_t n = c->pendlen;

	if (!n)
		return;
	c->pendlen = 0;
	/* conn_feed keeps what is left by moving it to the front of pend. */
	conn_feed(c, c->pend, n);
}

/* After anything happened: send, handle STARTTLS and closing, re-arm. */
static void conn_settle(struct conn *c)
{
	if (c->fd < 0)
		return;
	if (conn_flush(c) < 0) {
		conn_close(c);
		return;
	}
	if (c->s.st == ST_CLOSED)
		c->closing = true;
	if (c->closing && c->s.outlen == 0) {
		conn_close(c);
		return;
	}
	if (c->starttls && c->s.outlen == 0) {
		start_tls(c);
		return;
	}
	conn_update(c);
}

static void handshake(struct conn *c)
{
	int r = trap_tls_handshake(c->tls);

	if (r == 1) {
		c->handshaking = false;
		sess_tls_started(&c->s);
		conn_update(c);
		return;
	}
	if (r == TRAP_TLS_WANT_READ || r == TRAP_TLS_WANT_WRITE) {
		if (watch(c, r == TRAP_TLS_WANT_READ ? EV_READ : EV_WRITE) < 0)
			conn_close(c);
		return;
	}
	conn_close(c);
}

static void start_tls(struct conn *c)
{
	c->starttls = false;
	if (trap_tls_conn_new(c->w->srv->tls, c->fd, &c->tls) < 0) {
		conn_close(c);
		return;
	}
	c->handshaking = true;
	handshake(c);
}

/* Read what the client sent. */
static void conn_read(struct conn *c)
{
	struct worker *w = c->w;
	int rounds = 0;

	while (c->fd >= 0 && !c->closing && !c->waiting && !c->starttls &&
	       !c->pendlen && !c->handshaking && rounds++ < 16) {
		ssize_t n;

		if (c->tls) {
			n = trap_tls_read(c->tls, w->buf, sizeof(w->buf));
			if (n == TRAP_TLS_WANT_READ || n == TRAP_TLS_WANT_WRITE)
				break;
			if (n < 0) {
				conn_close(c);
				return;
			}
		} else {
			n = recv(c->fd, w->buf, sizeof(w->buf), 0);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				break;
			if (n <= 0) {
				conn_close(c);
				return;
			}
		}
		touch(c);
		conn_feed(c, w->buf, (size_t)n);
		if (!c->tls && (size_t)n < sizeof(w->buf))
			break; /* drained the socket */
	}
	conn_settle(c);
}

static void on_io(struct ev_loop *l, int fd, unsigned mask, void *arg)
{
	struct conn *c = arg;

	(void)l;
	(void)fd;
	if (c->handshaking) {
		handshake(c);
		if (c->fd < 0 || c->handshaking)
			return;
	}
	if (mask & EV_WRITE) {
		if (conn_flush(c) < 0) {
			conn_close(c);
			return;
		}
		if (c->s.outlen == 0 && c->pendlen) {
			/* Replies are out: take what was waiting for them. */
			feed_pending(c);
		}
		conn_settle(c);
		if (c->fd < 0)
			return;
	}
	if (mask & EV_READ)
		conn_read(c);
}

static void on_greet(struct ev_loop *l, uint64_t id, void *arg)
{
	struct conn *c = arg;

	(void)l;
	(void)id;
	c->greet_t = 0;
	sess_greet(&c->s);
	feed_pending(c);
	conn_settle(c);
}

/* ---- accepting ---------------------------------------------------------- */

static void on_accept(struct ev_loop *l, int fd, unsigned mask, void *arg);

static void on_resume(struct ev_loop *l, uint64_t id, void *arg)
{
	struct worker *w = arg;
	unsigned i;

	(void)id;
	w->paused = false;
	for (i = 0; i < w->nl; i++)
		ev_file_set(l, w->lfd[i], EV_READ, on_accept, w);
}

static void refuse(int fd, const char *text)
{
	ssize_t n = send(fd, text, strlen(text), MSG_NOSIGNAL | MSG_DONTWAIT);

	(void)n;
	close(fd);
}

static void sockaddr_ip(const struct sockaddr_storage *ss, struct tl_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)ss;

		tl_ip_from_v4(ip, ntohl(s4->sin_addr.s_addr));
	} else {
		const struct sockaddr_in6 *s6 = (const void *)ss;
		char buf[INET6_ADDRSTRLEN];

		/* Through text, so v4-mapped addresses fold as ip.h says. */
		inet_ntop(AF_INET6, &s6->sin6_addr, buf, sizeof(buf));
		tl_ip_parse(buf, strlen(buf), ip);
	}
}

static void accept_one(struct worker *w, int fd, const struct tl_ip *peer)
{
	struct trap_server *srv = w->srv;
	bool trusted = is_trusted(srv, peer);
	struct conn *c;

	if (atomic_fetch_add(&srv->sessions, 1) >= srv->cfg->trap_max_sessions) {
		atomic_fetch_sub(&srv->sessions, 1);
		atomic_fetch_add(&srv->n_busy, 1);
		refuse(fd, "421 4.7.0 Error: too many connections\r\n");
		return;
	}
	if (!trusted && !ip_take(srv, peer)) {
		atomic_fetch_sub(&srv->sessions, 1);
		atomic_fetch_add(&srv->n_busy, 1);
		refuse(fd, "421 4.7.0 Error: too many connections from your "
			   "address\r\n");
		return;
	}
	c = tl_calloc(1, sizeof(*c));
	if (!c) {
		if (!trusted)
			ip_drop(srv, peer);
		atomic_fetch_sub(&srv->sessions, 1);
		refuse(fd, "421 4.3.0 Error: out of memory\r\n");
		return;
	}
	atomic_fetch_add(&srv->n_sessions, 1);
	c->w = w;
	c->fd = fd;
	c->counted = !trusted;
	c->counted_ip = *peer;
	c->live = live_get(srv);
	c->tarpit = !trusted && is_listed(srv, peer);
	sess_init(&c->s, &srv->scfg, &c->live->env, peer, trusted,
		  srv->cfg->trap_greet_wait == 0);
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;
	if (watch(c, EV_READ) < 0) {
		conn_close(c);
		return;
	}
	touch(c);
	c->life_t = ev_timer_add(w->loop,
				 srv->cfg->trap_session_timeout * 1000ULL,
				 on_life, c);
	if (srv->cfg->trap_greet_wait)
		c->greet_t = ev_timer_add(w->loop, srv->cfg->trap_greet_wait,
					  on_greet, c);
	conn_settle(c);
}

static void on_accept(struct ev_loop *l, int lfd, unsigned mask, void *arg)
{
	struct worker *w = arg;
	int i;

	(void)mask;
	for (i = 0; i < 64 && !w->stopping; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		struct tl_ip peer;
		int fd = accept4(lfd, (struct sockaddr *)&ss, &len,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				unsigned j;

				/* Out of descriptors: stop accepting for a
				 * moment rather than spin on the listener. */
				log_warn("trap", "accept: %s; pausing",
					 strerror(errno));
				for (j = 0; j < w->nl; j++)
					ev_file_set(l, w->lfd[j], 0, on_accept,
						    w);
				w->paused = true;
				ev_timer_add(l, TL_TRAP_ACCEPT_PAUSE_MS,
					     on_resume, w);
			}
			return;
		}
		sockaddr_ip(&ss, &peer);
		accept_one(w, fd, &peer);
	}
}

/* Results from the committer. */
static void on_wake(struct ev_loop *l, void *arg)
{
	struct worker *w = arg;
	struct item *list, *it, *next;

	pthread_mutex_lock(&w->mu);
	list = w->done;
	w->done = NULL;
	pthread_mutex_unlock(&w->mu);
	for (it = list; it; it = next) {
		struct conn *c = it->c;

		next = it->next;
		c->waiting = false;
		if (it->ok)
			atomic_fetch_add(&w->srv->n_messages, 1);
		if (c->orphan) {
			conn_free(c);
			tl_free(it);
			continue;
		}
		sess_committed(&c->s, it->ok);
		if (it->ok)
			retain(w->srv, c);
		tl_free(it);
		if (w->stopping)
			sess_shutdown(&c->s, "service shutting down");
		feed_pending(c);
		conn_settle(c);
	}
	if (w->stopping && w->nconns == 0)
		ev_stop(l);
}

/* Stop: listeners close, idle sessions get 421; sessions whose message is
 * with the committer get their answer first. */
static void on_stop(struct ev_loop *l, void *arg)
{
	struct worker *w = arg;
	struct conn *c, *next;
	unsigned i;

	for (i = 0; i < w->nl; i++) {
		ev_file_del(l, w->lfd[i]);
		close(w->lfd[i]);
		w->lfd[i] = -1;
	}
	w->nl = 0;
	for (c = w->conns; c; c = next) {
		next = c->next;
		if (c->waiting)
			continue;
		sess_shutdown(&c->s, "service shutting down");
		c->closing = true;
		conn_flush(c);
		conn_close(c);
	}
	if (w->nconns == 0)
		ev_stop(l);
}

static void on_wake_any(struct ev_loop *l, void *arg)
{
	struct worker *w = arg;

	on_wake(l, arg);
	if (w->stopping && w->nl)
		on_stop(l, arg);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int rc = ev_run(w->loop);

	if (rc < 0)
		log_error("trap", "worker %u: %s", w->id, tl_strerror(rc));
	return NULL;
}

/* ---- setting up --------------------------------------------------------- */

static unsigned ncpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
}

int trap_server_new(const struct trap_setup *su, struct trap_server **out)
{
	const struct tl_config *cfg = su->cfg;
	const char *listen = su->listen ? su->listen : cfg->trap_listen;
	const char *p = listen, *bad = NULL, *it;
	size_t l;
	struct trap_server *srv = tl_calloc(1, sizeof(*srv));
	unsigned i, j;
	int rc;

	if (!srv)
		return TL_ENOMEM;
	srv->cfg = cfg;
	srv->data = su->data;
	srv->store = su->store;
	srv->reader = su->reader;
	srv->policy = su->policy;
	pthread_mutex_init(&srv->live_mu, NULL);
	pthread_mutex_init(&srv->ip_mu, NULL);
	pthread_mutex_init(&srv->dict_mu, NULL);
	pthread_mutex_init(&srv->ret_mu, NULL);
	pthread_mutex_init(&srv->q_mu, NULL);
	pthread_cond_init(&srv->q_cv, NULL);
	pthread_cond_init(&srv->flush_cv, NULL);
	srv->scfg.hostname = cfg->trap_hostname;
	srv->scfg.sensor = cfg->trap_sensor;
	srv->scfg.max_size = cfg->trap_max_size;
	srv->scfg.hold_max = TL_TRAP_HOLD_MAX;
	srv->scfg.max_rcpts = cfg->trap_max_rcpts;
	srv->scfg.max_errors = cfg->trap_max_errors;
	rc = tl_config_parse_prefixes(cfg->trap_trusted_proxies, &srv->trusted,
				      &srv->ntrusted, &bad);
	if (rc < 0) {
		log_error("trap", "[trap] trusted_proxies: '%.64s': %s",
			  bad ? bad : "", tl_strerror(rc));
		goto fail;
	}
	rc = mail_dict_new(cfg->dict_threshold, cfg->dict_window, &srv->dict);
	if (rc < 0)
		goto fail;
	rc = live_load(srv, &srv->live);
	if (rc < 0)
		goto fail;
	if (cfg->trap_tls) {
		rc = trap_tls_new(cfg->trap_tls_cert, cfg->trap_tls_key,
				  su->data, cfg->trap_hostname, &srv->tls);
		if (rc < 0)
			goto fail;
		srv->scfg.tls = true;
	}
	while (tl_config_next_item(&p, &it, &l)) {
		if (srv->naddrs == TL_TRAP_LISTEN_MAX) {
			log_error("trap", "more than %d listen addresses",
				  TL_TRAP_LISTEN_MAX);
			rc = TL_ELIMIT;
			goto fail;
		}
		rc = tl_net_parse(it, l, &srv->addrs[srv->naddrs],
				  &srv->addrlens[srv->naddrs]);
		if (rc < 0) {
			log_error("trap", "listen address '%.*s': want "
				  "ADDR:PORT or [ADDR6]:PORT", (int)l, it);
			goto fail;
		}
		srv->naddrs++;
	}
	if (!srv->naddrs) {
		log_error("trap", "no listen address");
		rc = TL_EINVAL;
		goto fail;
	}
	srv->nworkers = cfg->trap_workers ? cfg->trap_workers : ncpus();
	srv->workers = tl_calloc(srv->nworkers, sizeof(*srv->workers));
	if (!srv->workers) {
		rc = TL_ENOMEM;
		goto fail;
	}
	for (i = 0; i < srv->nworkers; i++) {
		struct worker *w = &srv->workers[i];

		w->srv = srv;
		w->id = i;
		pthread_mutex_init(&w->mu, NULL);
		rc = ev_loop_new(&w->loop);
		if (rc < 0)
			goto fail;
		for (j = 0; j < srv->naddrs; j++) {
			int fd = tl_net_listen(&srv->addrs[j], srv->addrlens[j],
					       SOCK_STREAM);

			if (fd < 0) {
				char a[INET6_ADDRSTRLEN] = "?";
				const struct sockaddr_storage *ss =
					&srv->addrs[j];

				inet_ntop(ss->ss_family,
					  ss->ss_family == AF_INET
						  ? (const void *)&((const struct sockaddr_in *)ss)->sin_addr
						  : (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr,
					  a, sizeof(a));
				log_error("trap", "listen on %s: %s", a,
					  strerror(-fd));
				rc = fd;
				goto fail;
			}
			w->lfd[w->nl++] = fd;
		}
		rc = ev_wake_set(w->loop, on_wake_any, w);
		if (rc < 0)
			goto fail;
		for (j = 0; j < w->nl; j++) {
			rc = ev_file_set(w->loop, w->lfd[j], EV_READ,
					 on_accept, w);
			if (rc < 0)
				goto fail;
		}
	}
	{
		const struct sockaddr_storage *ss = &srv->addrs[0];

		srv->port = ntohs(ss->ss_family == AF_INET
					  ? ((const struct sockaddr_in *)ss)->sin_port
					  : ((const struct sockaddr_in6 *)ss)->sin6_port);
	}
	*out = srv;
	return 0;
fail:
	trap_server_free(srv);
	return rc;
}

int trap_server_port(const struct trap_server *srv)
{
	return srv->port;
}

static void reload(struct trap_server *srv)
{
	struct live *l, *old;

	if (live_load(srv, &l) < 0) {
		log_error("trap", "reload failed; keeping what was loaded");
		return;
	}
	pthread_mutex_lock(&srv->live_mu);
	old = srv->live;
	srv->live = l;
	pthread_mutex_unlock(&srv->live_mu);
	live_put(old);
	log_info("trap", "reloaded the trap addresses and content rules");
}

int trap_server_start(struct trap_server *srv)
{
	unsigned i;

	/* OpenSSL writes with write(2): a peer gone must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	if (pthread_create(&srv->committer, NULL, committer_main, srv) != 0)
		return TL_ENOMEM;
	srv->committer_up = true;
	for (i = 0; i < srv->nworkers; i++) {
		if (pthread_create(&srv->workers[i].th, NULL, worker_main,
				   &srv->workers[i]) != 0)
			return TL_ENOMEM;
		srv->started++;
	}
	log_info("trap", "listening on port %d with %u workers", srv->port,
		 srv->nworkers);
	return 0;
}

int trap_server_stop(struct trap_server *srv)
{
	unsigned i;
	int rc;

	for (i = 0; i < srv->started; i++) {
		srv->workers[i].stopping = true;
		ev_wake(srv->workers[i].loop);
	}
	for (i = 0; i < srv->started; i++)
		pthread_join(srv->workers[i].th, NULL);
	srv->started = 0;
	if (!srv->committer_up)
		return 0;
	pthread_mutex_lock(&srv->q_mu);
	srv->q_stop = true;
	pthread_cond_signal(&srv->q_cv);
	pthread_mutex_unlock(&srv->q_mu);
	pthread_join(srv->committer, NULL);
	srv->committer_up = false;
	rc = tl_store_commit(srv->store);
	return rc < 0 ? rc : srv->commit_rc;
}

void trap_server_reload(struct trap_server *srv)
{
	reload(srv);
}

int trap_server_run(struct trap_server *srv, volatile sig_atomic_t *stop)
{
	struct timespec tick = {0, 100 * 1000000L};
	int rc = trap_server_start(srv), src;

	while (rc == 0) {
		if (*stop == SIGHUP) {
			*stop = 0;
			reload(srv);
		}
		if (*stop)
			break;
		nanosleep(&tick, NULL);
	}
	src = trap_server_stop(srv);
	return rc < 0 ? rc : src;
}

void trap_server_stats(struct trap_server *srv, struct trap_stats *out)
{
	out->sessions = atomic_load(&srv->n_sessions);
	out->messages = atomic_load(&srv->n_messages);
	out->refused_busy = atomic_load(&srv->n_busy);
	out->events = atomic_load(&srv->n_events);
	out->commit_fail = atomic_load(&srv->n_fail);
}

void trap_server_free(struct trap_server *srv)
{
	unsigned i, j;

	if (!srv)
		return;
	if (srv->started || srv->committer_up)
		trap_server_stop(srv);
	for (i = 0; srv->workers && i < srv->nworkers; i++) {
		struct worker *w = &srv->workers[i];

		while (w->conns) {
			struct conn *c = w->conns;

			c->waiting = false;
			conn_close(c);
		}
		for (j = 0; j < w->nl; j++)
			if (w->lfd[j] >= 0)
				close(w->lfd[j]);
		ev_loop_free(w->loop);
		pthread_mutex_destroy(&w->mu);
	}
	tl_free(srv->workers);
	for (i = 0; i < PER_IP_BUCKETS; i++) {
		while (srv->ipc[i]) {
			struct ipcount *c = srv->ipc[i];

			srv->ipc[i] = c->next;
			tl_free(c);
		}
		while (srv->retc[i]) {
			struct retain_count *r = srv->retc[i];

			srv->retc[i] = r->next;
			tl_free(r);
		}
	}
	live_put(srv->live);
	mail_dict_free(srv->dict);
	trap_tls_free(srv->tls);
	free(srv->trusted);
	tl_free(srv);
}
