/* SPDX-License-Identifier: MIT */
/* engine.c -- trapline check's lookups: many block lists at once over
 * c-ares, a bounded number of queries in flight, lists checked first
 *
 * One c-ares channel per distinct (resolver, timeout, tries): c-ares keeps
 * those per channel, and lists.conf sets them per list. The channels'
 * sockets sit in one epoll set (the socket-state callback keeps it up to
 * date); the loop tops up the queries in flight outside c-ares' callbacks,
 * so a query that fails at once never recurses into the submitter.
 *
 * Each list walks the addresses with its own cursor, so a slow list never
 * holds up the others. How many queries go to one resolver at once
 * follows a window, as TCP's congestion control does: it starts small,
 * grows by one with each answer (doubling each round trip) and, when
 * queries time out, is halved and then grows by one a round trip. The sum
 * is capped by --max-inflight. A burst that overflows a server's socket
 * buffer (rbldnsd keeps 128 KiB, ~100 queries) costs a whole timeout per
 * lost query; without this, the default 512 in flight lost thousands.
 *
 * Health (RFC 5782 section 5): a list must answer 127.0.0.2 with a code
 * that is not an error, and must not list 127.0.0.1. A list that lists
 * 127.0.0.1 answers "listed" for everything (a dead list whose zone went
 * wildcard, or a parked domain); one that answers error codes (Spamhaus'
 * 127.255.255.x for queries through public resolvers) or does not answer
 * is no use either. Their answers are not counted.
 */
#include <arpa/inet.h>
#include <ares.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "tl_limits.h"
#include "utf8.h"
#include "trapline/alloc.h"
#include "trapline/err.h"
#include "trapline/log.h"

#define QCLASS_IN 1
#define QTYPE_A 1
#define QTYPE_TXT 16
#define QNAME_MAX 256

enum qkind { Q_TEST2, Q_TEST1, Q_A, Q_TXT };

struct chan {
	ares_channel ch;
	const char *resolver; /* borrowed, or NULL for the system's */
	unsigned timeout_ms, tries;
	struct engine *e;
	uint32_t idx;
	/* congestion control of this resolver's queries (AIMD) */
	unsigned inflight;  /* queries in flight now */
	unsigned window;    /* allowed in flight */
	unsigned ssthresh;  /* slow start below, +1 a window above */
	unsigned acc;       /* answers towards the next +1 above ssthresh */
	uint64_t cut_us;    /* when the window was last cut (monotonic) */
	uint64_t srtt_us;   /* smoothed round trip (RFC 6298 2.3), 0 unknown */
	uint64_t min_rtt_us; /* the least round trip seen, 0 unknown */
	unsigned cuts, peak; /* window cuts; the widest window */
};

struct slot {
	struct engine *e;
	enum qkind kind;
	uint32_t ip, list;
	uint32_t listing; /* Q_TXT: the listing it completes */
	int next_free;
	bool busy;        /* in flight */
	bool late;        /* taken as lost (see scan_late): no longer counted
			   * in its channel's inflight */
	bool dup;         /* a second query for a lookup taken as lost */
	int twin;         /* the other query of the same lookup, or -1 */
	uint64_t sent_us; /* when it was sent (monotonic) */
};

/* What the two test points answered, per list. */
struct probe {
	uint8_t st[2];          /* check_status for 127.0.0.2, 127.0.0.1 */
	int ares[2];            /* c-ares status when failed */
	uint32_t code[2];       /* an answer of each (the first) */
	bool errcode[2];        /* an answer that is an error code */
	uint32_t err_a[2];
};

struct engine {
	struct check_run *r;
	const struct check_lists *lists;
	int epfd;
	struct chan *chans;
	uint32_t nchans;
	uint32_t *list_chan; /* per list: its channel */
	struct slot *slots;
	struct slot *last; /* the slot submit used last */
	int free_head;
	unsigned inflight, max_inflight;
	unsigned nlate;    /* of those in flight, taken as lost */
	struct probe *probes;
	uint32_t *answered, *failed; /* per list: lookups of real addresses */
	uint32_t *next_ip; /* per list: the next address to ask it about */
	/* TXT lookups waiting: listing indexes */
	uint32_t *txtq;
	uint32_t ntxtq, txtq_cap;
	int err; /* TL_ENOMEM from a callback */
};

static void sock_state(void *data, ares_socket_t fd, int readable,
		       int writable)
{
	struct chan *c = data;
	struct epoll_event ev = {0};

	ev.data.u64 = (uint64_t)c->idx << 32 | (uint32_t)fd;
	ev.events = (readable ? EPOLLIN : 0) | (writable ? EPOLLOUT : 0);
	if (!readable && !writable) {
		epoll_ctl(c->e->epfd, EPOLL_CTL_DEL, fd, NULL);
		return;
	}
	if (epoll_ctl(c->e->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 &&
	    errno == ENOENT)
		epoll_ctl(c->e->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static int chan_open(struct engine *e, struct chan *c)
{
	struct ares_options o;
	int rc, mask;

	memset(&o, 0, sizeof(o));
	o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
	o.timeout = (int)c->timeout_ms;
	o.tries = (int)c->tries;
	o.sock_state_cb = sock_state;
	o.sock_state_cb_data = c;
	/* A burst of answers to hundreds of queries must not overflow the
	 * socket (the kernel caps it at net.core.rmem_max). */
	o.socket_receive_buffer_size = TL_CHECK_RCVBUF;
	mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
	       ARES_OPT_SOCK_STATE_CB | ARES_OPT_SOCK_RCVBUF;
	c->e = e;
	rc = ares_init_options(&c->ch, &o, mask);
	if (rc != ARES_SUCCESS) {
		log_error("check", "c-ares: %s", ares_strerror(rc));
		c->ch = NULL;
		return rc == ARES_ENOMEM ? TL_ENOMEM : TL_EINVAL;
	}
	if (c->resolver) {
		rc = ares_set_servers_ports_csv(c->ch, c->resolver);
		if (rc != ARES_SUCCESS) {
			log_error("check", "resolver %s: %s", c->resolver,
				  ares_strerror(rc));
			return TL_EINVAL;
		}
	}
	return 0;
}

static bool same_chan(const struct chan *c, const char *res, unsigned t,
		      unsigned tries)
{
	if (c->timeout_ms != t || c->tries != tries)
		return false;
	if (!c->resolver || !res)
		return c->resolver == res;
	return strcmp(c->resolver, res) == 0;
}

static int open_chans(struct engine *e, const struct check_opts *o,
		      const bool *sel)
{
	uint32_t i, k;
	int rc;

	e->chans = tl_calloc(e->lists->n ? e->lists->n : 1, sizeof(*e->chans));
	e->list_chan = tl_calloc(e->lists->n ? e->lists->n : 1,
				 sizeof(*e->list_chan));
	if (!e->chans || !e->list_chan)
		return TL_ENOMEM;
	for (i = 0; i < e->lists->n; i++) {
		const struct check_list *l = &e->lists->v[i];
		const char *res = l->resolver ? l->resolver : o->resolver;
		unsigned tries = l->retries + 1;

		if (!sel[i])
			continue;
		for (k = 0; k < e->nchans; k++)
			if (same_chan(&e->chans[k], res, l->timeout_ms, tries))
				break;
		if (k == e->nchans) {
			struct chan *c = &e->chans[e->nchans++];

			c->resolver = res;
			c->timeout_ms = l->timeout_ms;
			c->tries = tries;
			c->idx = k;
			c->window = TL_CHECK_WINDOW_START;
			c->ssthresh = UINT32_MAX;
			rc = chan_open(e, c);
			if (rc < 0)
				return rc;
		}
		e->list_chan[i] = k;
	}
	return 0;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static struct slot *slot_get(struct engine *e)
{
	struct slot *s;

	if (e->free_head < 0)
		return NULL;
	s = &e->slots[e->free_head];
	e->free_head = s->next_free;
	e->inflight++;
	return s;
}

static void slot_put(struct engine *e, struct slot *s)
{
	s->next_free = e->free_head;
	e->free_head = (int)(s - e->slots);
	s->busy = false;
	if (!s->late)
		e->chans[e->list_chan[s->list]].inflight--;
	else
		e->nlate--;
	if (s->twin >= 0) {
		e->slots[s->twin].twin = -1;
		s->twin = -1;
	}
	e->inflight--;
}

static void set_status(struct check_run *r, uint32_t ip, uint32_t list,
		       enum check_status st)
{
	r->status[(size_t)ip * r->nlists + list] = (uint8_t)st;
}

__attribute__((format(printf, 3, 4))) static void
unhealthy(struct check_run *r, uint32_t list, const char *fmt, ...)
{
	if (!r->health[list].healthy)
		return;
	va_list ap;

	r->health[list].healthy = false;
	va_start(ap, fmt);
	vsnprintf(r->health[list].reason, sizeof(r->health[list].reason), fmt,
		  ap);
	va_end(ap);
}

static void fmt_a(uint32_t a, char *buf, size_t size)
{
	snprintf(buf, size, "%u.%u.%u.%u", a >> 24, a >> 16 & 255,
		 a >> 8 & 255, a & 255);
}

/* Reads the answer c-ares checked for shape (ares_parse_a_reply bounds
 * every record by @alen); keeps at most TL_CHECK_CODES_MAX, sorted. */
static int parse_a(const unsigned char *abuf, int alen, uint32_t *codes,
		   uint8_t *n)
{
	struct ares_addrttl at[TL_CHECK_CODES_MAX];
	int na = TL_CHECK_CODES_MAX, i, j, rc;

	rc = ares_parse_a_reply(abuf, alen, NULL, at, &na);
	*n = 0;
	if (rc != ARES_SUCCESS)
		return rc;
	for (i = 0; i < na; i++) {
		uint32_t a = ntohl(at[i].ipaddr.s_addr);

		for (j = *n; j > 0 && codes[j - 1] > a; j--)
			codes[j] = codes[j - 1];
		codes[j] = a;
		(*n)++;
	}
	return *n ? ARES_SUCCESS : ARES_ENODATA;
}

static int add_listing(struct check_run *r, uint32_t ip, uint32_t list,
		       const uint32_t *codes, uint8_t n)
{
	struct check_listing *v;

	if (r->nlistings == r->listings_cap) {
		uint32_t cap = r->listings_cap ? r->listings_cap * 2 : 256;

		v = tl_reallocarray(r->listings, cap, sizeof(*v));
		if (!v)
			return TL_ENOMEM;
		r->listings = v;
		r->listings_cap = cap;
	}
	v = &r->listings[r->nlistings++];
	memset(v, 0, sizeof(*v));
	v->ip = ip;
	v->list = list;
	v->ncodes = n;
	memcpy(v->codes, codes, n * sizeof(*codes));
	return 0;
}

static int add_failure(struct check_run *r, uint32_t ip, uint32_t list,
		       int status)
{
	struct check_failure *v;

	if (r->nfailures == r->failures_cap) {
		uint32_t cap = r->failures_cap ? r->failures_cap * 2 : 64;

		v = tl_reallocarray(r->failures, cap, sizeof(*v));
		if (!v)
			return TL_ENOMEM;
		r->failures = v;
		r->failures_cap = cap;
	}
	v = &r->failures[r->nfailures++];
	v->ip = ip;
	v->list = list;
	v->status = status;
	return 0;
}

static int queue_txt(struct engine *e, uint32_t listing)
{
	if (e->ntxtq == e->txtq_cap) {
		uint32_t cap = e->txtq_cap ? e->txtq_cap * 2 : 64;
		uint32_t *q = tl_reallocarray(e->txtq, cap, sizeof(*q));

		if (!q)
			return TL_ENOMEM;
		e->txtq = q;
		e->txtq_cap = cap;
	}
	e->txtq[e->ntxtq++] = listing;
	return 0;
}

static void on_txt(struct slot *s, int status, const unsigned char *abuf,
		   int alen)
{
	struct check_listing *li = &s->e->r->listings[s->listing];
	struct ares_txt_ext *txt = NULL, *t;
	char buf[TL_CHECK_TXT_MAX];
	size_t o = 0;

	if (status != ARES_SUCCESS ||
	    ares_parse_txt_reply_ext(abuf, alen, &txt) != ARES_SUCCESS)
		return;
	/* Untrusted bytes from the network, bounded by c-ares' parse and
	 * by buf. Strings of one record are joined (as RFC 7208 3.3 does);
	 * records with " / ". Control bytes and bytes that are not UTF-8
	 * become '?', so the text is safe on a terminal and in JSON. */
	for (t = txt; t; t = t->next) {
		const unsigned char *p = t->txt, *end = p + t->length;

		if (t->record_start && o) {
			if (o + 3 >= sizeof(buf))
				break;
			memcpy(buf + o, " / ", 3);
			o += 3;
		}
		while (p < end) {
			size_t k = tl_utf8_len(p, end);

			if (k == 0 || *p < 0x20 || *p == 0x7f)
				k = 0;
			if (o + (k ? k : 1) >= sizeof(buf))
				break;
			if (k) {
				memcpy(buf + o, p, k);
				o += k;
				p += k;
			} else {
				buf[o++] = '?';
				p++;
			}
		}
	}
	ares_free_data(txt);
	buf[o] = '\0';
	if (!li->txt) {
		li->txt = tl_calloc(1, o + 1);
		if (li->txt)
			memcpy(li->txt, buf, o + 1);
	}
}

static void on_probe(struct slot *s, int status, const unsigned char *abuf,
		     int alen)
{
	struct engine *e = s->e;
	struct probe *p = &e->probes[s->list];
	int k = s->kind == Q_TEST2 ? 0 : 1;
	uint32_t codes[TL_CHECK_CODES_MAX];
	uint8_t n = 0, i;

	if (status == ARES_SUCCESS)
		status = parse_a(abuf, alen, codes, &n);
	if (status == ARES_SUCCESS) {
		p->st[k] = CHECK_LISTED;
		p->code[k] = codes[0];
		for (i = 0; i < n; i++) {
			if (check_is_error(&e->lists->v[s->list], codes[i])) {
				p->errcode[k] = true;
				p->err_a[k] = codes[i];
			}
		}
	} else if (status == ARES_ENOTFOUND || status == ARES_ENODATA) {
		p->st[k] = CHECK_CLEAN;
	} else {
		p->st[k] = CHECK_FAILED;
		p->ares[k] = status;
	}
}

static void on_a(struct slot *s, int status, const unsigned char *abuf,
		 int alen)
{
	struct engine *e = s->e;
	struct check_run *r = e->r;
	const struct check_list *l = &e->lists->v[s->list];
	uint32_t codes[TL_CHECK_CODES_MAX];
	uint8_t n = 0, i;
	char a[16], why[64];
	int rc;

	/* Two queries for one lookup (see scan_late): the first answer
	 * counts; a failure counts only if the other has failed too. */
	if (check_get(r, s->ip, s->list) != CHECK_PENDING)
		return;
	if (status != ARES_SUCCESS && status != ARES_ENOTFOUND &&
	    status != ARES_ENODATA && s->twin >= 0 &&
	    e->slots[s->twin].busy)
		return;
	if (status == ARES_SUCCESS)
		status = parse_a(abuf, alen, codes, &n);
	if (status == ARES_ENOTFOUND || status == ARES_ENODATA) {
		e->answered[s->list]++;
		r->answers++;
		set_status(r, s->ip, s->list, CHECK_CLEAN);
		return;
	}
	if (status != ARES_SUCCESS) {
		e->failed[s->list]++;
		set_status(r, s->ip, s->list, CHECK_FAILED);
		if (add_failure(r, s->ip, s->list, status) < 0)
			e->err = TL_ENOMEM;
		return;
	}
	for (i = 0; i < n; i++) {
		if (check_is_error(l, codes[i])) {
			const struct check_code *c = check_list_code(l, codes[i]);

			fmt_a(codes[i], a, sizeof(a));
			snprintf(why, sizeof(why), "%s%s%.40s%s", a,
				 c ? " (" : "", c ? c->meaning : "",
				 c ? ")" : "");
			unhealthy(r, s->list, "answered error code %s", why);
		}
	}
	e->answered[s->list]++;
	r->answers++;
	set_status(r, s->ip, s->list, CHECK_LISTED);
	rc = add_listing(r, s->ip, s->list, codes, n);
	if (rc == 0 && l->txt && r->health[s->list].healthy)
		rc = queue_txt(e, r->nlistings - 1);
	if (rc < 0)
		e->err = rc;
}

/* A query unanswered this long is taken as lost (for the window only:
 * c-ares still waits its timeout before it asks again): eight smoothed
 * round trips, at least TL_CHECK_LATE_MIN_MS. */
static uint64_t late_us(const struct chan *c)
{
	uint64_t t = 8 * c->srtt_us;

	return t > TL_CHECK_LATE_MIN_MS * 1000 ? t : TL_CHECK_LATE_MIN_MS * 1000;
}

/* A lost query means a queue on the way overflowed (a server's socket, a
 * relay): halve the window, once per late_us (the losses of one burst
 * show up together). */
static void congestion(struct chan *c, bool lost)
{
	unsigned max = c->e->max_inflight;

	if (lost) {
		uint64_t t = now_us();

		if (t - c->cut_us < late_us(c))
			return;
		c->cut_us = t;
		c->cuts++;
		c->window /= 2;
		if (c->window < TL_CHECK_WINDOW_MIN)
			c->window = TL_CHECK_WINDOW_MIN;
		c->ssthresh = c->window;
		c->acc = 0;
	} else if (c->window < max) {
		/* A round trip well above the least seen means queries wait
		 * in a queue (TCP Vegas' signal): hold the window there
		 * rather than grow it until the queue overflows, which on
		 * loopback would be within microseconds and be seen only
		 * TL_CHECK_LATE_MIN_MS later. */
		if (c->min_rtt_us &&
		    c->srtt_us > 2 * c->min_rtt_us + TL_CHECK_QUEUE_US)
			return;
		if (c->window < c->ssthresh) {
			c->window++;
		} else if (++c->acc >= c->window) {
			c->window++;
			c->acc = 0;
		}
		if (c->window > c->peak)
			c->peak = c->window;
	}
}

static void on_answer(void *arg, int status, int timeouts,
		      unsigned char *abuf, int alen)
{
	struct slot *s = arg;
	struct engine *e = s->e;

	if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) {
		slot_put(e, s);
		return;
	}
	{
		struct chan *c = &e->chans[e->list_chan[s->list]];

		if (timeouts == 0 && !s->late) {
			uint64_t rtt = now_us() - s->sent_us;

			/* RFC 6298 2.3: SRTT <- 7/8 SRTT + 1/8 R */
			c->srtt_us = c->srtt_us ? c->srtt_us - c->srtt_us / 8 +
							  rtt / 8
						: rtt;
			if (!c->min_rtt_us || rtt < c->min_rtt_us)
				c->min_rtt_us = rtt;
		}
		congestion(c, timeouts > 0 && !s->late);
	}
	switch (s->kind) {
	case Q_TEST2:
	case Q_TEST1:
		on_probe(s, status, abuf, alen);
		break;
	case Q_A:
		on_a(s, status, abuf, alen);
		break;
	case Q_TXT:
		on_txt(s, status, abuf, alen);
		break;
	}
	slot_put(e, s);
}

static int submit(struct engine *e, enum qkind kind, uint32_t ip,
		  uint32_t list, uint32_t listing)
{
	const struct check_list *l = &e->lists->v[list];
	struct slot *s = slot_get(e);
	char name[QNAME_MAX];
	struct tl_ip tp;
	int rc;

	if (!s)
		return TL_EAGAIN;
	s->kind = kind;
	s->ip = ip;
	s->list = list;
	s->listing = listing;
	e->chans[e->list_chan[list]].inflight++;
	s->busy = true;
	s->late = false;
	s->dup = false;
	s->twin = -1;
	s->sent_us = now_us();
	e->last = s;
	if (kind == Q_TEST2 || kind == Q_TEST1) {
		tl_ip_from_v4(&tp, kind == Q_TEST2 ? 0x7f000002 : 0x7f000001);
		if (l->families == CHECK_FAM6) {
			/* RFC 5782 5: ::FFFF:7F00:2 and ::FFFF:7F00:1, asked
			 * in nibble form (struct tl_ip would fold it to v4,
			 * so it is built by hand). */
			memset(&tp, 0, sizeof(tp));
			tp.family = 6;
			tp.a[10] = tp.a[11] = 0xff;
			tp.a[12] = 0x7f;
			tp.a[15] = kind == Q_TEST2 ? 2 : 1;
		}
		rc = check_qname(&tp, l->zone, name, sizeof(name));
	} else {
		rc = check_qname(&e->r->ips[ip], l->zone, name, sizeof(name));
	}
	if (rc < 0) {
		slot_put(e, s);
		return rc;
	}
	e->r->queries++;
	ares_query(e->chans[e->list_chan[list]].ch, name, QCLASS_IN,
		   kind == Q_TXT ? QTYPE_TXT : QTYPE_A, on_answer, s);
	return 0;
}

static bool wants(const struct engine *e, uint32_t ip, uint32_t list)
{
	const struct check_run *r = e->r;
	unsigned fam = r->ips[ip].family == 4 ? CHECK_FAM4 : CHECK_FAM6;

	return r->sel[list] && r->health[list].healthy &&
	       (e->lists->v[list].families & fam);
}

/* Top up the queries in flight: TXT for listings first, then one
 * address for each list in turn, while its resolver's window and the
 * overall cap allow. */
static void pump(struct engine *e)
{
	struct check_run *r = e->r;
	bool progress = true;
	uint32_t l;

	while (e->inflight < e->max_inflight && e->ntxtq) {
		uint32_t li = e->txtq[--e->ntxtq];

		if (submit(e, Q_TXT, r->listings[li].ip, r->listings[li].list,
			   li) < 0)
			return;
	}
	while (progress) {
		progress = false;
		for (l = 0; l < r->nlists; l++) {
			struct chan *c = &e->chans[e->list_chan[l]];
			uint32_t ip;

			if (e->inflight >= e->max_inflight)
				return;
			if (!r->sel[l] || !r->health[l].healthy ||
			    c->inflight >= c->window)
				continue;
			while (e->next_ip[l] < r->nips &&
			       !wants(e, e->next_ip[l], l)) {
				set_status(r, e->next_ip[l], l, CHECK_SKIPPED);
				e->next_ip[l]++;
			}
			if (e->next_ip[l] == r->nips)
				continue;
			ip = e->next_ip[l]++;
			if (submit(e, Q_A, ip, l, 0) < 0)
				set_status(r, ip, l, CHECK_FAILED);
			progress = true;
		}
	}
}

/* Queries in flight past their channel's late_us are taken as lost now,
 * not a c-ares timeout from now, so the window shrinks while it matters;
 * and an address lookup is asked once more at once (a hedged request), so
 * one lost datagram costs a few round trips rather than c-ares' whole
 * timeout. Whichever answer comes first counts (on_a). */
static void scan_late(struct engine *e)
{
	uint64_t t = now_us();
	unsigned i;

	for (i = 0; i < e->max_inflight; i++) {
		struct slot *s = &e->slots[i];
		struct chan *c;

		if (!s->busy || s->late)
			continue;
		c = &e->chans[e->list_chan[s->list]];
		if (t - s->sent_us > late_us(c)) {
			/* A lost query no longer holds a place in the window
			 * (c-ares keeps it until its timeout). */
			s->late = true;
			e->nlate++;
			c->inflight--;
			congestion(c, true);
			if (s->kind == Q_A && !s->dup && s->twin < 0 &&
			    check_get(e->r, s->ip, s->list) == CHECK_PENDING &&
			    submit(e, Q_A, s->ip, s->list, 0) == 0 &&
			    e->last->busy) {
				/* (not answered within ares_query itself) */
				e->last->dup = true; /* never hedged again */
				e->last->twin = (int)i;
				s->twin = (int)(e->last - e->slots);
			}
		}
	}
}

/* Whether what is still in flight no longer matters: every lookup is
 * submitted and every query left is a lost one whose lookup the other
 * query already answered (c-ares would hold it to its timeout). */
static bool only_moot(const struct engine *e)
{
	const struct check_run *r = e->r;
	uint32_t i;

	if (e->ntxtq || e->inflight > e->nlate)
		return false;
	for (i = 0; i < r->nlists; i++)
		if (r->sel[i] && r->health[i].healthy && e->next_ip[i] < r->nips)
			return false;
	for (i = 0; i < e->max_inflight; i++) {
		const struct slot *s = &e->slots[i];

		if (s->busy && (s->kind != Q_A ||
				check_get(r, s->ip, s->list) == CHECK_PENDING))
			return false;
	}
	return true;
}

static int loop(struct engine *e, bool probes)
{
	struct epoll_event evs[64];
	struct timeval tv, *tvp;
	uint64_t now, last_scan = now_us();
	uint32_t i;
	int n, k, ms;

	for (;;) {
		if (!probes)
			pump(e);
		if (e->err)
			return e->err;
		if (e->inflight == 0 || (!probes && only_moot(e)))
			return 0;
		ms = TL_CHECK_SCAN_MS;
		for (i = 0; i < e->nchans; i++) {
			tvp = ares_timeout(e->chans[i].ch, NULL, &tv);
			if (tvp) {
				int t = (int)(tvp->tv_sec * 1000 +
					      (tvp->tv_usec + 999) / 1000);

				if (t < ms)
					ms = t;
			}
		}
		n = epoll_wait(e->epfd, evs, 64, ms);
		if (n < 0 && errno != EINTR)
			return -errno;
		for (k = 0; k < n; k++) {
			struct chan *c = &e->chans[evs[k].data.u64 >> 32];
			ares_socket_t fd = (ares_socket_t)(uint32_t)evs[k].data.u64;

			ares_process_fd(c->ch,
					evs[k].events & (EPOLLIN | EPOLLERR |
							 EPOLLHUP)
						? fd
						: ARES_SOCKET_BAD,
					evs[k].events & EPOLLOUT
						? fd
						: ARES_SOCKET_BAD);
		}
		/* Timeouts and retries. */
		for (i = 0; i < e->nchans; i++)
			ares_process_fd(e->chans[i].ch, ARES_SOCKET_BAD,
					ARES_SOCKET_BAD);
		now = now_us();
		if (now - last_scan >= TL_CHECK_SCAN_MS * 1000) {
			scan_late(e);
			last_scan = now;
		}
	}
}

static const char *ares_word(int status)
{
	switch (status) {
	case ARES_ETIMEOUT:
		return "no answer (timeout)";
	case ARES_ECONNREFUSED:
		return "connection refused";
	case ARES_ESERVFAIL:
		return "SERVFAIL";
	case ARES_EREFUSED:
		return "REFUSED";
	}
	return ares_strerror(status);
}

const char *check_failure_word(int status)
{
	return ares_word(status);
}

/* Decide each probed list's health from its two test points. */
static void judge(struct engine *e, uint32_t list)
{
	struct check_run *r = e->r;
	struct probe *p = &e->probes[list];
	const struct check_code *c;
	char a[16], why[96];
	int k;

	for (k = 0; k < 2; k++) {
		if (p->st[k] == CHECK_FAILED) {
			snprintf(why, sizeof(why), "test point 127.0.0.%d: %s",
				 2 - k, ares_word(p->ares[k]));
			unhealthy(r, list, "%s", why);
			return;
		}
		if (p->errcode[k]) {
			c = check_list_code(&e->lists->v[list], p->err_a[k]);
			fmt_a(p->err_a[k], a, sizeof(a));
			snprintf(why, sizeof(why), "%s%s%.60s%s", a,
				 c ? " (" : "", c ? c->meaning : "",
				 c ? ")" : "");
			unhealthy(r, list, "answered error code %s", why);
			return;
		}
	}
	if (p->st[1] == CHECK_LISTED) {
		fmt_a(p->code[1], a, sizeof(a));
		unhealthy(r, list, "lists 127.0.0.1 (answers %s): says "
			  "'listed' for everything (wildcard; a dead list?)", a);
		return;
	}
	if (p->st[0] != CHECK_LISTED)
		unhealthy(r, list, "%s", "does not list 127.0.0.2 (RFC 5782 "
			  "test point)");
}

/* A test point query; with every slot taken (more lists than
 * --max-inflight), wait for the ones in flight first. */
static int submit_wait(struct engine *e, enum qkind kind, uint32_t list)
{
	int rc = submit(e, kind, 0, list, 0);

	if (rc == TL_EAGAIN) {
		rc = loop(e, true);
		if (rc == 0)
			rc = submit(e, kind, 0, list, 0);
	}
	return rc;
}

int check_run(struct check_run *r, const struct check_lists *lists,
	      const bool *sel, const struct tl_ip *ips, uint32_t nips,
	      const struct check_opts *opts)
{
	struct engine e;
	bool ares_up = false;
	uint32_t i;
	int rc;

	memset(r, 0, sizeof(*r));
	memset(&e, 0, sizeof(e));
	r->nips = nips;
	r->nlists = lists->n;
	r->ips = ips;
	r->lists = lists;
	r->sel = sel;
	r->status = tl_calloc((size_t)nips * lists->n + 1, 1);
	r->health = tl_calloc(lists->n + 1, sizeof(*r->health));
	e.r = r;
	e.lists = lists;
	e.epfd = -1;
	e.max_inflight = opts->max_inflight ? opts->max_inflight
					    : TL_CHECK_INFLIGHT_DEFAULT;
	e.slots = tl_calloc(e.max_inflight, sizeof(*e.slots));
	e.probes = tl_calloc(lists->n + 1, sizeof(*e.probes));
	e.answered = tl_calloc(lists->n + 1, sizeof(*e.answered));
	e.failed = tl_calloc(lists->n + 1, sizeof(*e.failed));
	e.next_ip = tl_calloc(lists->n + 1, sizeof(*e.next_ip));
	if (!r->status || !r->health || !e.slots || !e.probes ||
	    !e.answered || !e.failed || !e.next_ip) {
		rc = TL_ENOMEM;
		goto out;
	}
	for (i = 0; i < e.max_inflight; i++) {
		e.slots[i].e = &e;
		e.slots[i].next_free = i + 1 < e.max_inflight ? (int)i + 1 : -1;
	}
	e.free_head = 0;
	for (i = 0; i < lists->n; i++)
		r->health[i].healthy = sel[i];
	rc = ares_library_init(ARES_LIB_INIT_ALL);
	if (rc != ARES_SUCCESS) {
		rc = TL_ENOMEM;
		goto out;
	}
	ares_up = true;
	e.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (e.epfd < 0) {
		rc = -errno;
		goto out;
	}
	rc = open_chans(&e, opts, sel);
	if (rc < 0)
		goto out;
	/* The test points: two queries a list, all at once. */
	for (i = 0; i < lists->n; i++) {
		if (!sel[i] || !lists->v[i].test)
			continue;
		rc = submit_wait(&e, Q_TEST2, i);
		if (rc == 0)
			rc = submit_wait(&e, Q_TEST1, i);
		if (rc < 0)
			goto out;
	}
	rc = loop(&e, true);
	if (rc < 0)
		goto out;
	for (i = 0; i < lists->n; i++)
		if (sel[i] && lists->v[i].test)
			judge(&e, i);
	rc = loop(&e, false);
	/* A list trusted without test points (test = no) that answered
	 * nothing at all is no more use than one that failed them. */
	for (i = 0; rc == 0 && i < lists->n; i++)
		if (sel[i] && r->health[i].healthy && !e.answered[i] &&
		    e.failed[i])
			unhealthy(r, i, "no answer to any of %u lookups",
				  e.failed[i]);
out:
	for (i = 0; i < e.nchans; i++) {
		struct chan *c = &e.chans[i];

		log_debug("check", "resolver %s: window %u (peak %u, %u cuts), "
			  "round trip %.2f ms (least %.2f)",
			  c->resolver ? c->resolver : "(system)", c->window,
			  c->peak, c->cuts, (double)c->srtt_us / 1000,
			  (double)c->min_rtt_us / 1000);
		if (c->ch)
			ares_destroy(c->ch);
	}
	if (e.epfd >= 0)
		close(e.epfd);
	if (ares_up)
		ares_library_cleanup();
	tl_free(e.chans);
	tl_free(e.list_chan);
	tl_free(e.slots);
	tl_free(e.probes);
	tl_free(e.answered);
	tl_free(e.failed);
	tl_free(e.next_ip);
	tl_free(e.txtq);
	return rc;
}

void check_run_free(struct check_run *r)
{
	uint32_t i;

	for (i = 0; i < r->nlistings; i++)
		tl_free(r->listings[i].txt);
	tl_free(r->listings);
	tl_free(r->failures);
	tl_free(r->status);
	tl_free(r->health);
	memset(r, 0, sizeof(*r));
}
