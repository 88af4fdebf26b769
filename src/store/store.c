/* SPDX-License-Identifier: MIT */
/* store.c -- journal + LMDB history: open, recover, group commit, read
 *
 * Layout of a store directory:
 *   lock          flock(2)ed by the one writer
 *   journal/      segment files (journal.c)
 *   history/      the LMDB environment: databases "v4" and "v6" (one record
 *                 per IP, keyed by its 4 or 16 address bytes, so prefixes
 *                 are key ranges), "tags" (tag name -> 16-bit id), "meta",
 *                 "checks" (the last `check --record` of an address; a
 *                 store from before it has none until a writer opens it)
 *
 * Exactly once: the journal position applied so far ("applied" in meta)
 * is written in the same LMDB transaction as the changes it covers.
 * LMDB runs with MDB_NOMETASYNC: a system crash may undo the last
 * transaction, never tear it, and the journal replays it. Segments are
 * deleted only after mdb_env_sync has made their effects durable.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tl_limits.h"
#include "store_int.h"
#include "trapline/alloc.h"
#include "trapline/err.h"
#include "trapline/log.h"
#include "trapline/store.h"

#define STORE_FORMAT "trapline-store 1"
#define TAG_HASH_SIZE 131072 /* slots: a power of two > 2 * TL_TAG_IDS_MAX */
#define FRAME_TARGET (256u << 10) /* bytes of events per journal frame */
#define APPLY_MAX (128u << 20)    /* bytes of events one apply may take */

struct tl_store {
	char *dir;               /* owned */
	enum tl_store_mode mode;
	int lockfd;              /* writer's lock, or -1 */
	MDB_env *env;
	MDB_dbi db4, db6, meta, tags;
	MDB_dbi checks;          /* valid when has_checks */
	bool has_checks;
	struct journal j;        /* writer only */
	struct tl_store_opts opts; /* as opened */
	struct jpos applied;     /* journal applied to the history */
	/* tag dictionary: id -> name, and a hash of name -> id + 1 */
	char (*tag_names)[TL_EVENT_TAGLEN];
	uint32_t ntags;
	uint32_t *tag_hash;
	/* the group being built: encoded events since the last commit */
	uint8_t *pend;
	size_t pend_len, pend_cap;
	size_t frame_start; /* offset in pend not yet written as a frame */
	uint64_t npend;     /* events in pend (durable or not) */
	uint64_t nsync;     /* events appended since the last journal sync */
	struct jpos pend_end; /* journal position after the last frame */
	/* The applier thread: applies a durable group while the next fills.
	 * mu guards every field below; work is owned by the applier while
	 * busy is set. */
	pthread_t applier;
	bool applier_started;
	pthread_mutex_t tags_mu; /* reader: know_tags, one thread at a time */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool busy, quit;
	uint8_t *work;        /* the group being applied */
	size_t work_len, work_cap;
	struct jpos work_end; /* its journal end */
	int work_rc;          /* first error of a background apply */
	uint64_t first_seg;   /* oldest segment that may still be needed */
};

/* The one boundary where LMDB errors become ours. */
static int prune_below(struct tl_store *s, uint64_t segno);

static int lmdb_err(int rc, const char *what)
{
	if (rc == 0)
		return 0;
	if (rc == MDB_MAP_FULL) {
		log_error("store", "%s: %s", what, tl_strerror(TL_EMAPFULL));
		return TL_EMAPFULL;
	}
	log_error("store", "%s: %s", what, mdb_strerror(rc));
	if (rc > 0 && rc < 1000)
		return -rc;
	if (rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND ||
	    rc == MDB_INVALID)
		return TL_ECORRUPT;
	if (rc == MDB_VERSION_MISMATCH)
		return TL_EVERSION;
	return TL_ESTORE;
}

static char *path_join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *p = tl_calloc(1, la + lb + 2);

	if (p) {
		memcpy(p, a, la);
		p[la] = '/';
		memcpy(p + la + 1, b, lb);
	}
	return p;
}

static uint32_t hash_name(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h;
}

static void tag_hash_insert(struct tl_store *s, uint32_t id)
{
	const char *name = s->tag_names[id];
	uint32_t i = hash_name(name, strlen(name)) & (TAG_HASH_SIZE - 1);

	while (s->tag_hash[i])
		i = (i + 1) & (TAG_HASH_SIZE - 1);
	s->tag_hash[i] = id + 1;
}

/* Tag id for @name, adding it (in @txn) when new. TL_ELIMIT when the
 * dictionary is full (the tag is then not recorded, logged once), or the
 * store's error when the insert fails (the transaction is then dead). */
static int tag_id(struct tl_store *s, MDB_txn *txn, const char *name)
{
	size_t n = strlen(name);
	uint32_t i = hash_name(name, n) & (TAG_HASH_SIZE - 1), id;
	uint8_t v[2];
	MDB_val k, d;
	static bool warned;
	int rc;

	for (; s->tag_hash[i]; i = (i + 1) & (TAG_HASH_SIZE - 1)) {
		id = s->tag_hash[i] - 1;
		if (strcmp(s->tag_names[id], name) == 0)
			return (int)id;
	}
	if (s->ntags >= TL_TAG_IDS_MAX) {
		if (!warned)
			log_warn("store", "tag dictionary full (%u names): new "
				 "tags are not recorded", TL_TAG_IDS_MAX);
		warned = true;
		return TL_ELIMIT;
	}
	id = s->ntags;
	v[0] = (uint8_t)id;
	v[1] = (uint8_t)(id >> 8);
	k.mv_data = (void *)name;
	k.mv_size = n;
	d.mv_data = v;
	d.mv_size = 2;
	rc = lmdb_err(mdb_put(txn, s->tags, &k, &d, 0), "tags");
	if (rc < 0)
		return rc;
	memcpy(s->tag_names[id], name, n + 1);
	s->ntags++;
	tag_hash_insert(s, id);
	return (int)id;
}

/* Forget the dictionary before loading it again. */
static void reset_tags(struct tl_store *s)
{
	if (s->tag_names)
		memset(s->tag_names, 0, TL_TAG_IDS_MAX * sizeof(*s->tag_names));
	if (s->tag_hash)
		memset(s->tag_hash, 0, TAG_HASH_SIZE * sizeof(*s->tag_hash));
	s->ntags = 0;
}

static int load_tags(struct tl_store *s, MDB_txn *txn)
{
	MDB_cursor *c;
	MDB_val k, d;
	int rc;

	if (!s->tag_names)
		s->tag_names = tl_calloc(TL_TAG_IDS_MAX, sizeof(*s->tag_names));
	if (!s->tag_hash)
		s->tag_hash = tl_calloc(TAG_HASH_SIZE, sizeof(*s->tag_hash));
	if (!s->tag_names || !s->tag_hash)
		return TL_ENOMEM;
	rc = mdb_cursor_open(txn, s->tags, &c);
	if (rc)
		return lmdb_err(rc, "tags");
	while ((rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) == 0) {
		uint32_t id;

		if (d.mv_size != 2 || k.mv_size == 0 ||
		    k.mv_size > TL_TAG_LEN_MAX)
			continue; /* checked like any stored record */
		id = (uint32_t)((uint8_t *)d.mv_data)[0] |
		     (uint32_t)((uint8_t *)d.mv_data)[1] << 8;
		if (id >= TL_TAG_IDS_MAX || s->tag_names[id][0])
			continue;
		memcpy(s->tag_names[id], k.mv_data, k.mv_size);
		if (id + 1 > s->ntags)
			s->ntags = id + 1;
		tag_hash_insert(s, id);
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : lmdb_err(rc, "tags");
}

const char *tl_store_tag_name(const struct tl_store *s, uint16_t id)
{
	if (id >= s->ntags || !s->tag_names[id][0])
		return NULL;
	return s->tag_names[id];
}

static int meta_get_u64(MDB_txn *txn, MDB_dbi meta, const char *key,
			uint64_t *v, size_t n)
{
	MDB_val k = {strlen(key), (void *)key}, d;
	int rc = mdb_get(txn, meta, &k, &d);

	if (rc == MDB_NOTFOUND) {
		memset(v, 0, n * sizeof(*v));
		return 0;
	}
	if (rc)
		return lmdb_err(rc, key);
	if (d.mv_size != n * sizeof(*v))
		return TL_ECORRUPT;
	memcpy(v, d.mv_data, d.mv_size);
	return 0;
}

static int meta_put_u64(MDB_txn *txn, MDB_dbi meta, const char *key,
			const uint64_t *v, size_t n)
{
	MDB_val k = {strlen(key), (void *)key};
	MDB_val d = {n * sizeof(*v), (void *)v};

	return lmdb_err(mdb_put(txn, meta, &k, &d, 0), key);
}

/* One event as the apply step needs it. */
struct app_ev {
	uint8_t kind;
	uint8_t ntags;
	uint32_t count;
	uint32_t next; /* index + 1 of the next event of the same IP, or 0 */
	int64_t time;
	uint16_t tags[TL_EVENT_TAGS];
};

/* The events of one IP in a group: a hash slot, then a sort entry. */
struct app_ip {
	uint64_t hi, lo;     /* address bytes 0-7 and 8-15, big-endian */
	uint8_t family;      /* 4 or 6; 0 = free slot */
	uint32_t first, last; /* index + 1 of its first and last event */
};

static int cmp_ip(const void *a, const void *b)
{
	const struct app_ip *x = a, *y = b;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return 0;
}

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* Grouping events by IP: open addressing, grown at 1/2 load. */
static size_t ip_hash(uint64_t hi, uint64_t lo)
{
	uint64_t h = hi ^ (lo * 0xc2b2ae3d27d4eb4fULL);

	/* murmur3's finaliser: every input bit reaches the low bits. */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return (size_t)h;
}

struct ip_table {
	struct app_ip *slot;
	size_t cap, used; /* cap is a power of two */
};

static int table_grow(struct ip_table *t)
{
	size_t cap = t->cap ? t->cap * 2 : 4096, i, j;
	struct app_ip *ns = tl_calloc(cap, sizeof(*ns));

	if (!ns)
		return TL_ENOMEM;
	for (i = 0; i < t->cap; i++) {
		if (!t->slot[i].family)
			continue;
		j = ip_hash(t->slot[i].hi, t->slot[i].lo) & (cap - 1);
		while (ns[j].family)
			j = (j + 1) & (cap - 1);
		ns[j] = t->slot[i];
	}
	tl_free(t->slot);
	t->slot = ns;
	t->cap = cap;
	return 0;
}

/* Chain event @idx (0-based) onto its IP's list. */
static int table_add(struct ip_table *t, struct app_ev *evs, uint32_t idx,
		     const struct tl_ip *ip)
{
	uint8_t key[16] = {0};
	uint64_t hi, lo;
	size_t j;

	if ((t->used + 1) * 2 > t->cap && table_grow(t) < 0)
		return TL_ENOMEM;
	memcpy(key, ip->a, tl_ip_size(ip));
	hi = be64(key);
	lo = be64(key + 8);
	j = ip_hash(hi, lo) & (t->cap - 1);
	for (;; j = (j + 1) & (t->cap - 1)) {
		struct app_ip *e = &t->slot[j];

		if (!e->family) {
			e->family = ip->family;
			e->hi = hi;
			e->lo = lo;
			e->first = e->last = idx + 1;
			t->used++;
			return 0;
		}
		if (e->hi == hi && e->lo == lo && e->family == ip->family) {
			evs[e->last - 1].next = idx + 1;
			e->last = idx + 1;
			return 0;
		}
	}
}

/*
 * Apply the encoded events in @buf (from the journal) to the history in
 * one transaction that records @end as applied. Events are grouped by IP
 * and the IPs visited in key order, so each record is read and written
 * once per group and the B-tree is walked in order.
 */
static int apply(struct tl_store *s, const uint8_t *buf, size_t len,
		 struct jpos end)
{
	struct rd r = {buf, buf + len, false};
	struct app_ev *evs = NULL;
	struct ip_table tab = {NULL, 0, 0};
	struct app_ip *ips = NULL;
	size_t n = 0, cap = 0, i, j, nips = 0;
	struct tl_history h;
	struct tl_event ev;
	uint8_t *rec = NULL, key[16];
	size_t rec_cap = 0;
	MDB_txn *txn = NULL;
	uint64_t meta[2], latest = 0, pos[2];
	char ipbuf[TL_IP_STRLEN];
	int rc, id;

	tl_history_init(&h);
	rc = lmdb_err(mdb_txn_begin(s->env, NULL, 0, &txn), "begin");
	if (rc < 0)
		return rc;
	while (r.p < r.end) {
		journal_event_decode(&r, &ev);
		if (r.err) {
			log_error("store", "journal frame with a bad event "
				  "record (segment %016" PRIx64 ")", end.segno);
			rc = TL_ECORRUPT;
			goto out;
		}
		if (n == cap) {
			struct app_ev *nv;

			cap = cap ? cap * 2 : 4096;
			nv = tl_reallocarray(evs, cap, sizeof(*evs));
			if (!nv) {
				rc = TL_ENOMEM;
				goto out;
			}
			evs = nv;
		}
		evs[n].kind = ev.kind;
		evs[n].count = ev.count;
		evs[n].time = ev.time;
		evs[n].next = 0;
		evs[n].ntags = 0;
		for (j = 0; j < ev.ntags; j++) {
			id = tag_id(s, txn, ev.tags[j]);
			if (id >= 0) {
				evs[n].tags[evs[n].ntags++] = (uint16_t)id;
			} else if (id != TL_ELIMIT) {
				rc = id;
				goto out;
			}
		}
		rc = table_add(&tab, evs, (uint32_t)n, &ev.ip);
		if (rc < 0)
			goto out;
		n++;
	}
	ips = tl_calloc(tab.used, sizeof(*ips));
	if (!ips) {
		rc = TL_ENOMEM;
		goto out;
	}
	for (i = 0; i < tab.cap; i++)
		if (tab.slot[i].family)
			ips[nips++] = tab.slot[i];
	qsort(ips, nips, sizeof(*ips), cmp_ip);
	for (i = 0; i < nips; i++) {
		MDB_dbi dbi = ips[i].family == 4 ? s->db4 : s->db6;
		MDB_val k = {ips[i].family == 4 ? 4 : 16, key}, d;
		uint32_t e;
		size_t need;

		put_be64(key, ips[i].hi);
		put_be64(key + 8, ips[i].lo);
		rc = mdb_get(txn, dbi, &k, &d);
		if (rc == 0) {
			rc = tl_history_decode(&h, d.mv_data, d.mv_size, false);
			if (rc < 0 && rc != TL_ECORRUPT)
				goto out; /* no memory, newer format: retry */
			if (rc < 0) {
				struct tl_ip ip = {ips[i].family, {0}};

				memcpy(ip.a, key, k.mv_size);
				tl_ip_format(&ip, ipbuf);
				log_error("store", "history of %s unreadable "
					  "(%s): starting it anew", ipbuf,
					  tl_strerror(rc));
				tl_history_init(&h);
			}
		} else if (rc == MDB_NOTFOUND) {
			tl_history_init(&h);
		} else {
			rc = lmdb_err(rc, "get");
			goto out;
		}
		for (e = ips[i].first; e; e = evs[e - 1].next) {
			const struct app_ev *x = &evs[e - 1];

			rc = tl_history_add(&h, x->time, x->kind, x->count,
					    x->tags, x->ntags);
			if (rc == TL_ELIMIT)
				continue; /* run cap: counted nowhere else */
			if (rc < 0)
				goto out;
		}
		need = tl_history_encoded_max(&h);
		if (need > rec_cap) {
			uint8_t *nr = tl_reallocarray(rec, need, 1);

			if (!nr) {
				rc = TL_ENOMEM;
				goto out;
			}
			rec = nr;
			rec_cap = need;
		}
		rc = tl_history_encode(&h, rec, rec_cap);
		if (rc < 0)
			goto out;
		d.mv_size = (size_t)rc;
		d.mv_data = rec;
		rc = lmdb_err(mdb_put(txn, dbi, &k, &d, 0), "put");
		if (rc < 0)
			goto out;
		if ((uint64_t)h.last > latest)
			latest = (uint64_t)h.last;
		tl_history_free(&h);
	}
	rc = meta_get_u64(txn, s->meta, "events", meta, 1);
	if (rc < 0)
		goto out;
	meta[0] += n;
	rc = meta_put_u64(txn, s->meta, "events", meta, 1);
	if (rc < 0)
		goto out;
	rc = meta_get_u64(txn, s->meta, "latest", meta + 1, 1);
	if (rc < 0)
		goto out;
	if (latest > meta[1]) {
		rc = meta_put_u64(txn, s->meta, "latest", &latest, 1);
		if (rc < 0)
			goto out;
	}
	pos[0] = end.segno;
	pos[1] = end.offset;
	rc = meta_put_u64(txn, s->meta, "applied", pos, 2);
	if (rc < 0)
		goto out;
	rc = lmdb_err(mdb_txn_commit(txn), "commit");
	txn = NULL;
	if (rc == 0)
		s->applied = end;
out:
	if (txn)
		mdb_txn_abort(txn);
	if (rc < 0) {
		/* Tags added in the failed transaction are gone: reload. */
		txn = NULL;
		reset_tags(s);
		if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn) == 0) {
			load_tags(s, txn);
			mdb_txn_abort(txn);
		}
	}
	tl_history_free(&h);
	tl_free(rec);
	tl_free(ips);
	tl_free(tab.slot);
	tl_free(evs);
	return rc;
}

/* Replay: frames are gathered and applied in groups of about a commit. */
struct replay {
	struct tl_store *s;
	uint8_t *buf;
	size_t len, cap;
	struct jpos end;
	uint64_t frames;
};

static int replay_frame(const uint8_t *payload, size_t len, struct jpos end,
			void *ctx)
{
	struct replay *rp = ctx;
	int rc;

	if (rp->len + len > rp->cap) {
		size_t cap = rp->cap ? rp->cap : (16u << 20);
		uint8_t *nb;

		while (cap < rp->len + len)
			cap *= 2;
		nb = tl_reallocarray(rp->buf, cap, 1);
		if (!nb)
			return TL_ENOMEM;
		rp->buf = nb;
		rp->cap = cap;
	}
	memcpy(rp->buf + rp->len, payload, len);
	rp->len += len;
	rp->end = end;
	rp->frames++;
	if (rp->len >= (16u << 20)) {
		rc = apply(rp->s, rp->buf, rp->len, rp->end);
		if (rc < 0)
			return rc;
		rp->len = 0;
	}
	return 0;
}

static int recover(struct tl_store *s, const char *jdir, struct jpos *tail)
{
	struct replay rp = {s, NULL, 0, 0, s->applied, 0};
	int rc;

	rc = journal_replay(jdir, s->applied, replay_frame, &rp, tail);
	if (rc == 0 && rp.len)
		rc = apply(s, rp.buf, rp.len, rp.end);
	tl_free(rp.buf);
	if (rc < 0)
		return rc;
	if (rp.frames)
		log_info("store", "applied %" PRIu64 " journal frame(s) left "
			 "by an earlier run", rp.frames);
	if (tail->segno < s->applied.segno ||
	    (tail->segno == s->applied.segno &&
	     tail->offset < s->applied.offset))
		*tail = s->applied;
	return 0;
}

static int open_env(struct tl_store *s, const struct tl_store_opts *opts)
{
	char *hdir = path_join(s->dir, "history");
	unsigned flags = MDB_NOTLS;
	MDB_txn *txn = NULL;
	uint64_t v[2];
	unsigned dbflags = s->mode == TL_STORE_WRITE ? MDB_CREATE : 0;
	int rc;

	if (!hdir)
		return TL_ENOMEM;
	if (s->mode == TL_STORE_WRITE) {
		flags |= MDB_NOMETASYNC;
		if (mkdir(hdir, 0750) < 0 && errno != EEXIST) {
			rc = -errno;
			goto out;
		}
	} else {
		flags |= MDB_RDONLY;
		if (access(hdir, F_OK) < 0) {
			rc = TL_ENOSTORE;
			goto out;
		}
	}
	rc = lmdb_err(mdb_env_create(&s->env), "env");
	if (rc < 0)
		goto out;
	mdb_env_set_maxdbs(s->env, 8);
	mdb_env_set_maxreaders(s->env, 256);
	mdb_env_set_mapsize(s->env, opts && opts->map_size
					    ? opts->map_size
					    : TL_STORE_MAP_SIZE_DEFAULT);
	rc = mdb_env_open(s->env, hdir, flags, 0640);
	if (rc == ENOENT && s->mode == TL_STORE_READ) {
		rc = TL_ENOSTORE;
		goto out;
	}
	rc = lmdb_err(rc, hdir);
	if (rc < 0)
		goto out;
	if (s->mode == TL_STORE_WRITE) {
		int dead = 0;

		mdb_reader_check(s->env, &dead);
	}
	rc = lmdb_err(mdb_txn_begin(s->env, NULL,
				    s->mode == TL_STORE_READ ? MDB_RDONLY : 0,
				    &txn),
		      "begin");
	if (rc < 0)
		goto out;
	if ((rc = mdb_dbi_open(txn, "meta", dbflags, &s->meta)) ||
	    (rc = mdb_dbi_open(txn, "v4", dbflags, &s->db4)) ||
	    (rc = mdb_dbi_open(txn, "v6", dbflags, &s->db6)) ||
	    (rc = mdb_dbi_open(txn, "tags", dbflags, &s->tags))) {
		rc = rc == MDB_NOTFOUND ? TL_ENOSTORE : lmdb_err(rc, "open");
		goto out;
	}
	rc = mdb_dbi_open(txn, "checks", dbflags, &s->checks);
	if (rc && rc != MDB_NOTFOUND) {
		rc = lmdb_err(rc, "open checks");
		goto out;
	}
	s->has_checks = rc == 0;
	{
		MDB_val k = {6, "format"}, d;

		rc = mdb_get(txn, s->meta, &k, &d);
		if (rc == MDB_NOTFOUND && s->mode == TL_STORE_WRITE) {
			d.mv_size = strlen(STORE_FORMAT);
			d.mv_data = STORE_FORMAT;
			rc = mdb_put(txn, s->meta, &k, &d, 0);
		} else if (rc == 0 &&
			   (d.mv_size != strlen(STORE_FORMAT) ||
			    memcmp(d.mv_data, STORE_FORMAT, d.mv_size) != 0)) {
			log_error("store", "%s: not a store of this version",
				  s->dir);
			rc = TL_EVERSION;
			goto out;
		} else if (rc == MDB_NOTFOUND) {
			rc = TL_ENOSTORE;
			goto out;
		}
		rc = lmdb_err(rc, "format");
		if (rc < 0)
			goto out;
	}
	rc = meta_get_u64(txn, s->meta, "applied", v, 2);
	if (rc < 0)
		goto out;
	s->applied.segno = v[0];
	s->applied.offset = v[1];
	rc = load_tags(s, txn);
	if (rc < 0)
		goto out;
	rc = lmdb_err(mdb_txn_commit(txn), "commit");
	txn = NULL;
out:
	if (txn)
		mdb_txn_abort(txn);
	tl_free(hdir);
	return rc;
}

int tl_store_open(const char *dir, enum tl_store_mode mode,
		  const struct tl_store_opts *opts, struct tl_store **out)
{
	struct tl_store *s;
	char *p = NULL;
	struct jpos tail;
	int rc;

	s = tl_calloc(1, sizeof(*s));
	if (!s)
		return TL_ENOMEM;
	s->mode = mode;
	s->lockfd = -1;
	if (opts)
		s->opts = *opts;
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->tags_mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->j.fd = s->j.dirfd = -1;
	s->dir = strdup(dir);
	if (!s->dir) {
		rc = TL_ENOMEM;
		goto fail;
	}
	if (mode == TL_STORE_WRITE) {
		if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
			rc = -errno;
			log_error("store", "%s: %s", dir, strerror(errno));
			goto fail;
		}
		p = path_join(dir, "lock");
		if (!p) {
			rc = TL_ENOMEM;
			goto fail;
		}
		s->lockfd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
		if (s->lockfd < 0) {
			rc = -errno;
			log_error("store", "%s: %s", p, strerror(errno));
			goto fail;
		}
		if (flock(s->lockfd, LOCK_EX | LOCK_NB) < 0) {
			if (errno != EWOULDBLOCK || !(opts && opts->wait_lock)) {
				rc = TL_EAGAIN;
				log_error("store", "%s: another writer holds "
					  "the store", dir);
				goto fail;
			}
			log_info("store", "%s: waiting for another writer",
				 dir);
			if (flock(s->lockfd, LOCK_EX) < 0) {
				rc = -errno;
				goto fail;
			}
		}
	} else if (access(dir, F_OK) < 0) {
		rc = TL_ENOSTORE;
		goto fail;
	}
	rc = open_env(s, opts);
	if (rc < 0)
		goto fail;
	if (mode == TL_STORE_WRITE) {
		tl_free(p);
		p = path_join(dir, "journal");
		if (!p) {
			rc = TL_ENOMEM;
			goto fail;
		}
		rc = recover(s, p, &tail);
		if (rc < 0)
			goto fail;
		rc = journal_open(&s->j, p, tail);
		if (rc < 0) {
			log_error("store", "%s: %s", p, tl_strerror(rc));
			goto fail;
		}
		s->pend_end.segno = s->j.segno;
		s->pend_end.offset = s->j.size;
		/* Recovery applied everything before the tail. */
		rc = prune_below(s, s->j.segno);
		if (rc < 0)
			goto fail;
	}
	tl_free(p);
	*out = s;
	return 0;
fail:
	tl_free(p);
	tl_store_close(s);
	return rc;
}

void tl_store_close(struct tl_store *s)
{
	if (!s)
		return;
	if (s->applier_started) {
		pthread_mutex_lock(&s->mu);
		s->quit = true;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->applier, NULL);
	}
	pthread_mutex_destroy(&s->mu);
	pthread_mutex_destroy(&s->tags_mu);
	pthread_cond_destroy(&s->cv);
	if (s->env)
		mdb_env_close(s->env);
	journal_close(&s->j);
	if (s->lockfd >= 0)
		close(s->lockfd);
	tl_free(s->tag_names);
	tl_free(s->tag_hash);
	tl_free(s->pend);
	tl_free(s->work);
	free(s->dir);
	tl_free(s);
}

static int flush_frame(struct tl_store *s)
{
	size_t len = s->pend_len - s->frame_start;
	int rc;

	if (len == 0)
		return 0;
	rc = journal_append(&s->j, s->pend + s->frame_start, len, &s->pend_end);
	if (rc < 0) {
		log_error("store", "journal write: %s", tl_strerror(rc));
		return rc;
	}
	s->frame_start = s->pend_len;
	return 0;
}

int tl_store_append(struct tl_store *s, const struct tl_event *ev)
{
	int rc;

	if (s->mode != TL_STORE_WRITE)
		return TL_EINVAL;
	/* Checked here as the journal decoder will: one bad event made
	 * durable would stop every later recovery. */
	rc = tl_event_check(ev);
	if (rc < 0)
		return rc;
	if (s->pend_cap - s->pend_len < JOURNAL_EVENT_MAX) {
		size_t cap = s->pend_cap ? s->pend_cap * 2 : (1u << 20);
		uint8_t *nb = tl_reallocarray(s->pend, cap, 1);

		if (!nb)
			return TL_ENOMEM;
		s->pend = nb;
		s->pend_cap = cap;
	}
	s->pend_len += journal_event_encode(ev, s->pend + s->pend_len);
	s->npend++;
	s->nsync++;
	if (s->pend_len - s->frame_start >= FRAME_TARGET) {
		rc = flush_frame(s);
		if (rc < 0)
			return rc;
	}
	return 0;
}

uint64_t tl_store_pending(const struct tl_store *s)
{
	return s->nsync;
}

uint64_t tl_store_unapplied(const struct tl_store *s)
{
	return s->npend;
}

static void *applier_main(void *arg)
{
	struct tl_store *s = arg;
	int rc;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!s->busy && !s->quit)
			pthread_cond_wait(&s->cv, &s->mu);
		if (!s->busy && s->quit)
			break;
		pthread_mutex_unlock(&s->mu);
		rc = apply(s, s->work, s->work_len, s->work_end);
		pthread_mutex_lock(&s->mu);
		if (rc < 0 && s->work_rc == 0)
			s->work_rc = rc;
		s->busy = false;
		pthread_cond_broadcast(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* Wait for the applier to be idle; its first error, if any. */
static int wait_idle(struct tl_store *s)
{
	int rc;

	if (!s->applier_started)
		return 0;
	pthread_mutex_lock(&s->mu);
	while (s->busy)
		pthread_cond_wait(&s->cv, &s->mu);
	rc = s->work_rc;
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* Give the durable events in pend to the idle applier. */
static int hand_off(struct tl_store *s)
{
	uint8_t *b;
	size_t cap;

	if (!s->applier_started) {
		if (pthread_create(&s->applier, NULL, applier_main, s) != 0)
			return TL_ENOMEM;
		s->applier_started = true;
	}
	pthread_mutex_lock(&s->mu);
	b = s->work;
	cap = s->work_cap;
	s->work = s->pend;
	s->work_cap = s->pend_cap;
	s->work_len = s->pend_len;
	s->work_end = s->pend_end;
	s->busy = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	s->pend = b;
	s->pend_cap = cap;
	s->pend_len = 0;
	s->frame_start = 0;
	s->npend = 0;
	return 0;
}

/* With the applier idle: segments below @segno, wholly applied, can go
 * once LMDB has their effects on disk. */
static int prune_below(struct tl_store *s, uint64_t segno)
{
	int rc = 0;

	if (segno > s->first_seg) {
		rc = lmdb_err(mdb_env_sync(s->env, 1), "sync");
		if (rc == 0)
			rc = journal_prune(&s->j, segno);
		if (rc == 0)
			s->first_seg = segno;
	}
	return rc;
}

static int prune(struct tl_store *s)
{
	return prune_below(s, s->applied.segno);
}

int tl_store_wait(struct tl_store *s)
{
	int rc;

	if (s->mode != TL_STORE_WRITE)
		return 0;
	rc = wait_idle(s);
	/* Durable events the applier was too busy to take: apply them now. */
	if (rc == 0 && s->npend && s->frame_start == s->pend_len &&
	    s->nsync == 0) {
		rc = hand_off(s);
		if (rc == 0)
			rc = wait_idle(s);
	}
	return rc < 0 ? rc : prune(s);
}

/*
 * Every LMDB commit rewrites each B-tree page it touches, and with events
 * from millions of IPs that is most of the tree, whatever the group's
 * size. So the applier takes whatever has become durable while it was
 * busy: groups grow to match the apply cost, up to APPLY_MAX bytes.
 */
int tl_store_commit_async(struct tl_store *s)
{
	bool busy;
	int rc;

	if (s->mode != TL_STORE_WRITE)
		return TL_EINVAL;
	if (s->nsync) {
		rc = flush_frame(s);
		if (rc == 0)
			rc = journal_sync(&s->j);
		if (rc < 0) {
			log_error("store", "journal sync: %s", tl_strerror(rc));
			return rc;
		}
		s->nsync = 0;
	}
	/* Durable from here: a failure below is repaired by replay. */
	if (s->npend == 0)
		return 0;
	pthread_mutex_lock(&s->mu);
	busy = s->busy;
	rc = s->work_rc;
	pthread_mutex_unlock(&s->mu);
	if (rc < 0)
		return rc;
	if (busy && s->pend_len < APPLY_MAX)
		return 0;
	rc = wait_idle(s);
	if (rc == 0)
		rc = prune(s);
	return rc < 0 ? rc : hand_off(s);
}

int tl_store_commit(struct tl_store *s)
{
	int rc = tl_store_commit_async(s);

	return rc < 0 ? rc : tl_store_wait(s);
}

/*
 * A reader loads the tag names when it opens; a writer may add a tag
 * after that. When a record read names a tag this handle does not know,
 * read the names again in the same transaction as the record, so they
 * match. Readers may share a handle across threads: one at a time here.
 */
static int know_tags(struct tl_store *s, MDB_txn *txn,
		     const struct tl_history *h)
{
	uint32_t i;
	int rc = 0;

	if (s->mode != TL_STORE_READ)
		return 0;
	pthread_mutex_lock(&s->tags_mu);
	for (i = 0; i < h->ntags; i++)
		if (h->tags[i].id >= s->ntags ||
		    !s->tag_names[h->tags[i].id][0]) {
			rc = load_tags(s, txn);
			break;
		}
	pthread_mutex_unlock(&s->tags_mu);
	return rc;
}

int tl_store_get(struct tl_store *s, const struct tl_ip *ip,
		 struct tl_history *h)
{
	MDB_txn *txn;
	MDB_val k = {tl_ip_size(ip), (void *)ip->a}, d;
	int rc;

	tl_history_init(h);
	rc = lmdb_err(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn), "begin");
	if (rc < 0)
		return rc;
	rc = mdb_get(txn, ip->family == 4 ? s->db4 : s->db6, &k, &d);
	if (rc == MDB_NOTFOUND)
		rc = TL_ENOENT;
	else if (rc == 0)
		rc = tl_history_decode(h, d.mv_data, d.mv_size, false);
	else
		rc = lmdb_err(rc, "get");
	if (rc == 0)
		rc = know_tags(s, txn, h);
	mdb_txn_abort(txn);
	return rc;
}

int tl_store_put_checks(struct tl_store *s, const struct tl_ip *ips,
			const struct tl_check_record *recs, size_t n)
{
	uint8_t buf[TL_CHECK_RECORD_MAX];
	MDB_txn *txn;
	size_t i;
	int rc, len;

	if (s->mode != TL_STORE_WRITE || !s->has_checks)
		return TL_EINVAL;
	rc = lmdb_err(mdb_txn_begin(s->env, NULL, 0, &txn), "begin");
	if (rc < 0)
		return rc;
	for (i = 0; i < n; i++) {
		MDB_val k = {tl_ip_size(&ips[i]), (void *)ips[i].a}, d;

		len = tl_check_record_encode(&recs[i], buf, sizeof(buf));
		if (len < 0) {
			mdb_txn_abort(txn);
			return len;
		}
		d.mv_size = (size_t)len;
		d.mv_data = buf;
		rc = lmdb_err(mdb_put(txn, s->checks, &k, &d, 0), "put check");
		if (rc < 0) {
			mdb_txn_abort(txn);
			return rc;
		}
	}
	return lmdb_err(mdb_txn_commit(txn), "commit");
}

int tl_store_get_check(struct tl_store *s, const struct tl_ip *ip,
		       struct tl_check_record *out)
{
	MDB_txn *txn;
	MDB_val k = {tl_ip_size(ip), (void *)ip->a}, d;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!s->has_checks)
		return TL_ENOENT;
	rc = lmdb_err(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn), "begin");
	if (rc < 0)
		return rc;
	rc = mdb_get(txn, s->checks, &k, &d);
	if (rc == MDB_NOTFOUND)
		rc = TL_ENOENT;
	else if (rc == 0)
		rc = tl_check_record_decode(out, d.mv_data, d.mv_size);
	else
		rc = lmdb_err(rc, "get check");
	mdb_txn_abort(txn);
	return rc;
}

/* Pages on LMDB's free list: the values of its database 0 are page
 * lists whose first word is their length (lmdb's MDB_IDL). */
static uint64_t free_pages(MDB_txn *txn)
{
	MDB_cursor *c;
	MDB_val k, d;
	uint64_t n = 0;

	if (mdb_cursor_open(txn, 0, &c) != 0)
		return 0;
	while (mdb_cursor_get(c, &k, &d, MDB_NEXT) == 0)
		if (d.mv_size >= sizeof(size_t))
			n += *(const size_t *)d.mv_data;
	mdb_cursor_close(c);
	return n;
}

static int count_reader(const char *msg, void *ctx)
{
	/* mdb_reader_list gives a header line, then one line a reader, or
	 * a line in parentheses when there are none. */
	if (strncmp(msg, "    pid", 7) != 0 && msg[0] != '(')
		(*(int *)ctx)++;
	return 0;
}

int tl_store_info(struct tl_store *s, struct tl_store_info *info)
{
	MDB_txn *txn;
	MDB_stat st;
	MDB_envinfo ei;
	uint64_t v = 0;
	int rc;

	memset(info, 0, sizeof(*info));
	rc = lmdb_err(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn), "begin");
	if (rc < 0)
		return rc;
	if (mdb_stat(txn, s->db4, &st) == 0)
		info->ips_v4 = st.ms_entries;
	if (mdb_stat(txn, s->db6, &st) == 0)
		info->ips_v6 = st.ms_entries;
	rc = meta_get_u64(txn, s->meta, "events", &info->events, 1);
	if (rc == 0)
		rc = meta_get_u64(txn, s->meta, "latest", &v, 1);
	info->latest = (tl_day)v;
	if (mdb_env_info(s->env, &ei) == 0 && mdb_env_stat(s->env, &st) == 0) {
		info->map_used = (uint64_t)(ei.me_last_pgno + 1) * st.ms_psize;
		info->map_free = free_pages(txn) * st.ms_psize;
	}
	mdb_txn_abort(txn);
	return rc;
}

int tl_store_compact(struct tl_store *s)
{
	char *tmp = NULL, *tmpfile = NULL, *hfile = NULL, *hdir = NULL;
	int readers = 0, fd, rc;

	if (s->mode != TL_STORE_WRITE)
		return TL_EINVAL;
	rc = tl_store_wait(s);
	if (rc < 0)
		return rc;
	mdb_reader_check(s->env, &readers);
	readers = 0;
	mdb_reader_list(s->env, count_reader, &readers);
	if (readers > 0) {
		log_error("store", "%s: %d reader(s) have the history open; "
			  "compact when they are done", s->dir, readers);
		return TL_EAGAIN;
	}
	tmp = path_join(s->dir, "history.compact");
	hdir = path_join(s->dir, "history");
	tmpfile = tmp ? path_join(tmp, "data.mdb") : NULL;
	hfile = hdir ? path_join(hdir, "data.mdb") : NULL;
	if (!tmpfile || !hfile) {
		rc = TL_ENOMEM;
		goto out;
	}
	/* A copy left by a crash is incomplete: start again. */
	unlink(tmpfile);
	if (mkdir(tmp, 0750) < 0 && errno != EEXIST) {
		rc = -errno;
		goto out;
	}
	rc = lmdb_err(mdb_env_copy2(s->env, tmp, MDB_CP_COMPACT), "compact");
	if (rc < 0)
		goto out;
	fd = open(tmpfile, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
		goto out;
	}
	close(fd);
	mdb_env_close(s->env);
	s->env = NULL;
	/* The one step that switches: atomic, then made durable. */
	if (rename(tmpfile, hfile) < 0) {
		rc = -errno;
	} else {
		fd = open(hdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			fsync(fd);
			close(fd);
		}
	}
	rmdir(tmp);
	reset_tags(s);
	{
		int orc = open_env(s, &s->opts);

		if (rc == 0)
			rc = orc;
	}
out:
	tl_free(tmp);
	tl_free(tmpfile);
	tl_free(hfile);
	tl_free(hdir);
	return rc;
}

/* The `check --record` results: each key an address, each value a
 * record that decodes. Returns the number read or an error. */
static int64_t verify_checks(struct tl_store *s,
			     void (*bad)(const struct tl_ip *ip,
					 const char *what, int err, void *ctx),
			     void *ctx, uint64_t *nbad)
{
	struct tl_check_record rec;
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val k, d;
	int64_t n = 0;
	int rc;

	if (!s->has_checks)
		return 0;
	rc = lmdb_err(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn), "begin");
	if (rc < 0)
		return rc;
	rc = lmdb_err(mdb_cursor_open(txn, s->checks, &c), "cursor");
	if (rc < 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	while ((rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) == 0) {
		struct tl_ip ip;
		int err = 0;

		memset(&ip, 0, sizeof(ip));
		ip.family = 4;
		if (k.mv_size == 4 || k.mv_size == 16) {
			ip.family = k.mv_size == 4 ? 4 : 6;
			memcpy(ip.a, k.mv_data, k.mv_size);
			err = tl_check_record_decode(&rec, d.mv_data, d.mv_size);
		} else {
			err = TL_ECORRUPT;
		}
		n++;
		if (err < 0) {
			(*nbad)++;
			if (bad)
				bad(&ip, "check", err, ctx);
		}
	}
	mdb_cursor_close(c);
	mdb_txn_abort(txn);
	return rc == MDB_NOTFOUND ? n : lmdb_err(rc, "read checks");
}

int64_t tl_store_verify(struct tl_store *s,
			void (*bad)(const struct tl_ip *ip, const char *what,
				    int err, void *ctx),
			void *ctx, uint64_t *nbad)
{
	int64_t nc;
	struct tl_store_iter *it;
	struct tl_history h;
	struct tl_ip zero, ip;
	const uint8_t *val;
	size_t len;
	int64_t n = 0;
	uint32_t i;
	int fam, rc;

	*nbad = 0;
	tl_history_init(&h);
	for (fam = 4; fam <= 6; fam += 2) {
		rc = tl_store_iter_open(s, (uint8_t)fam, &it);
		if (rc < 0)
			return rc;
		memset(&zero, 0, sizeof(zero));
		zero.family = (uint8_t)fam;
		for (rc = tl_store_iter_seek(it, &zero); rc == 1;
		     rc = tl_store_iter_next(it)) {
			tl_store_iter_get(it, &ip, &val, &len);
			n++;
			rc = tl_history_decode(&h, val, len, false);
			for (i = 0; rc == 0 && i < h.ntags; i++)
				if (!tl_store_tag_name(s, h.tags[i].id))
					rc = TL_ECORRUPT;
			if (rc < 0) {
				(*nbad)++;
				if (bad)
					bad(&ip, "history", rc, ctx);
			}
		}
		tl_store_iter_close(it);
		if (rc < 0) {
			tl_history_free(&h);
			return rc;
		}
	}
	tl_history_free(&h);
	nc = verify_checks(s, bad, ctx, nbad);
	return nc < 0 ? nc : n + nc;
}

struct tl_store_iter {
	struct tl_store *s;
	MDB_txn *txn;
	MDB_cursor *cur;
	uint8_t family;
	MDB_val k, d;
};

int tl_store_iter_open(struct tl_store *s, uint8_t family,
		       struct tl_store_iter **out)
{
	struct tl_store_iter *it = tl_calloc(1, sizeof(*it));
	int rc;

	if (!it)
		return TL_ENOMEM;
	it->s = s;
	it->family = family;
	rc = lmdb_err(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &it->txn),
		      "begin");
	if (rc == 0)
		rc = lmdb_err(mdb_cursor_open(it->txn,
					      family == 4 ? s->db4 : s->db6,
					      &it->cur),
			      "cursor");
	if (rc == 0 && s->mode == TL_STORE_READ) {
		/* Tags added since the handle opened: names as of this
		 * transaction, which the records read through it match. */
		pthread_mutex_lock(&s->tags_mu);
		rc = load_tags(s, it->txn);
		pthread_mutex_unlock(&s->tags_mu);
	}
	if (rc < 0) {
		tl_store_iter_close(it);
		return rc;
	}
	*out = it;
	return 0;
}

static int iter_result(struct tl_store_iter *it, int rc)
{
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return lmdb_err(rc, "cursor");
	if (it->k.mv_size != (it->family == 4 ? 4u : 16u))
		return TL_ECORRUPT;
	return 1;
}

int tl_store_iter_seek(struct tl_store_iter *it, const struct tl_ip *ip)
{
	it->k.mv_size = tl_ip_size(ip);
	it->k.mv_data = (void *)ip->a;
	return iter_result(it, mdb_cursor_get(it->cur, &it->k, &it->d,
					      MDB_SET_RANGE));
}

int tl_store_iter_next(struct tl_store_iter *it)
{
	return iter_result(it,
			   mdb_cursor_get(it->cur, &it->k, &it->d, MDB_NEXT));
}

void tl_store_iter_get(const struct tl_store_iter *it, struct tl_ip *ip,
		       const uint8_t **val, size_t *len)
{
	memset(ip, 0, sizeof(*ip));
	ip->family = it->family;
	memcpy(ip->a, it->k.mv_data, it->k.mv_size);
	*val = it->d.mv_data;
	*len = it->d.mv_size;
}

void tl_store_iter_close(struct tl_store_iter *it)
{
	if (!it)
		return;
	if (it->cur)
		mdb_cursor_close(it->cur);
	if (it->txn)
		mdb_txn_abort(it->txn);
	tl_free(it);
}
