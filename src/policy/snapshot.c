/* SPDX-License-Identifier: MIT */
/* snapshot.c -- build, check and search the compiled listed set */
#include <errno.h>
#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "oplist.h"
#include "snapshot.h"
#include "trapline/alloc.h"
#include "trapline/err.h"
#include "trapline/history.h"
#include "trapline/log.h"
#include "tl_limits.h"

#define SNAP_MAGIC "TLSNAP\0\1"
#define SNAP_VERSION 2u
#define HDR_SIZE 88u
#define AGE_MAX 511u     /* 9 bits of last-seen age */
#define DAY_BITS 17u     /* days since 1970 up to 2328 */
#define DAY_MASK ((1u << DAY_BITS) - 1)

/* The header, as stored (every field little-endian; x86 and arm64 are). */
struct hdr {
	char magic[8];
	uint32_t version;
	uint32_t serial;
	int64_t built;
	int32_t day;
	uint32_t pad;
	uint64_t n4, n6, nh4, nh6;
	uint64_t nr4, nr6;  /* ranges (v2) */
	uint32_t body_crc;  /* CRC-32 of everything after the header */
	uint32_t hdr_crc;   /* CRC-32 of the header up to this field */
};
_Static_assert(sizeof(struct hdr) == HDR_SIZE, "snapshot header");

struct snap {
	void *map;
	size_t len;
	struct hdr h;
	const uint32_t *k4, *v4, *kh4;
	const uint8_t *k6, *kh6;
	const uint32_t *v6;
	const uint8_t *vh4, *vh6; /* u64s, not always 8-aligned: memcpy */
	const uint32_t *r4lo, *r4hi, *r4v; /* IPv4 ranges */
	const uint8_t *r6lo, *r6hi;        /* IPv6 ranges: 16-byte ends */
	const uint32_t *r6v;
	/* IPv4 keys by their top 16 bits: the keys of prefix p are
	 * [idx[p], idx[p + 1]), so a search touches a few cache lines, not
	 * log2(n) of them across the whole array. Built at load. */
	uint32_t *idx4, *idxh4; /* 65537 entries each, owned (idx4: unless
				 * in hot) */
	void *hot;      /* k4, v4 and idx4 in huge pages (hot_copy), or NULL */
	size_t hot_len;
};

#define IDX_SIZE 65537u

/* Build the /16 index of ascending keys @k (@n of them). */
static uint32_t *index16(const uint32_t *k, uint64_t n)
{
	uint32_t *idx = tl_calloc(IDX_SIZE, sizeof(*idx));
	uint64_t i = 0;
	uint32_t p;

	if (!idx)
		return NULL;
	for (p = 0; p < 65536; p++) {
		while (i < n && (k[i] >> 16) < p)
			i++;
		idx[p] = (uint32_t)i;
	}
	idx[65536] = (uint32_t)n;
	return idx;
}

/* Let the kernel take back the pages wholly inside [@from, @to). */
static void drop_pages(const uint8_t *from, const uint8_t *to)
{
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t a = ((uintptr_t)from + pg - 1) & ~(pg - 1);
	uintptr_t b = (uintptr_t)to & ~(pg - 1);

	if (b > a)
		madvise((void *)a, b - a, MADV_DONTNEED);
}

/* The size of a transparent huge page here (sysfs), or 0 where anonymous
 * memory may not have them (THP "never", or no THP). */
static size_t thp_size(void)
{
	char b[128];
	unsigned long long n = 0;
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	bool ok = false;

	if (f) {
		ok = fgets(b, sizeof(b), f) && !strstr(b, "[never]");
		fclose(f);
	}
	f = ok ? fopen("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size",
		       "r")
	       : NULL;
	if (f) {
		if (fscanf(f, "%llu", &n) != 1)
			n = 0;
		fclose(f);
	}
	/* A power of two, at least a page, or none. */
	return n >= 4096 && !(n & (n - 1)) ? (size_t)n : 0;
}

/*
 * Copy the listed IPv4 keys, their codes and their /16 index into
 * anonymous memory in transparent huge pages, and search there; the
 * file's pages for them are given back. Every query searches these at a
 * random place: in 4 KiB pages of the file each search also misses the
 * TLB, and in a virtual machine such a miss walks two page tables.
 * Measured (bench/RESULTS.md, ninth round): 0.25-0.35 µs less CPU a
 * query at 1 and 10 million listed, for one memcpy at load. Huge pages
 * cover the whole huge-page pieces only, and the mapping ends at the
 * page after the data, so the copy takes no more memory than the file's
 * pages it stands in for. Where huge pages cannot be had, or the arrays
 * do not fill one (fewer than about 230,000 listed with 2 MiB pages),
 * the file's mapping is searched as before.
 */
static void hot_copy(struct snap *sn)
{
	size_t n4 = (size_t)sn->h.n4, kb = n4 * 4, ib = IDX_SIZE * 4;
	size_t data = 2 * kb + ib, hp = thp_size(), pg, len, whole;
	uint8_t *m, *a;

	if (!hp || data < hp)
		return;
	pg = (size_t)sysconf(_SC_PAGESIZE);
	len = (data + pg - 1) & ~(pg - 1);
	whole = data & ~(hp - 1);
	m = mmap(NULL, len + hp, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return;
	/* Aligned to a huge page, the slack either side unmapped. */
	a = (uint8_t *)(((uintptr_t)m + hp - 1) & ~(uintptr_t)(hp - 1));
	if (a > m)
		munmap(m, (size_t)(a - m));
	munmap(a + len, (size_t)(m + len + hp - (a + len)));
	if (madvise(a, whole, MADV_HUGEPAGE) < 0) {
		munmap(a, len);
		return;
	}
	memcpy(a, sn->idx4, ib);
	memcpy(a + ib, sn->k4, kb);
	memcpy(a + ib + kb, sn->v4, kb);
	mprotect(a, len, PROT_READ);
	drop_pages((const uint8_t *)sn->k4, (const uint8_t *)sn->k4 + 2 * kb);
	tl_free(sn->idx4);
	sn->idx4 = (uint32_t *)a;
	sn->k4 = (const uint32_t *)(a + ib);
	sn->v4 = (const uint32_t *)(a + ib + kb);
	sn->hot = a;
	sn->hot_len = len;
}

/* The snapshot's code bits and the answer octets they stand for: the one
 * list both directions are made from. */
#define SNAP_CODES(X)                                                        \
	X(0, TL_CODE_SPAM)                                                   \
	X(1, TL_CODE_DICTIONARY)                                             \
	X(2, TL_CODE_AUTH)                                                   \
	X(3, TL_CODE_MALWARE)                                                \
	X(4, TL_CODE_PERSISTENT)                                             \
	X(5, TL_CODE_OPERATOR)
#define OCTET_OF_BIT(bit, code) [bit] = code,
#define BIT1_OF_OCTET(bit, code) [code] = (bit) + 1,

static const uint8_t code_octet[] = {SNAP_CODES(OCTET_OF_BIT)};
static const uint8_t code_bit1[256] = {SNAP_CODES(BIT1_OF_OCTET)};
#undef OCTET_OF_BIT
#undef BIT1_OF_OCTET

uint8_t snap_code_octet(unsigned bit)
{
	return bit < sizeof(code_octet) ? code_octet[bit] : 0;
}

/* ---- building ------------------------------------------------------------ */

struct buf {
	uint8_t *p;
	size_t len, cap;
};

/* Room for @n bytes in @b: a build reserves what the store's count of
 * addresses says, so that no array is copied as it grows (untouched room
 * costs no memory). */
static int reserve(struct buf *b, size_t n)
{
	uint8_t *p;

	if (n <= b->cap)
		return 0;
	p = tl_reallocarray(b->p, n, 1);
	if (!p)
		return TL_ENOMEM;
	b->p = p;
	b->cap = n;
	return 0;
}

static __attribute__((noinline)) int grow(struct buf *b, size_t n)
{
	size_t cap = b->cap ? b->cap * 2 : 1u << 20;

	while (cap < b->len + n)
		cap *= 2;
	return reserve(b, cap);
}

/* Append @n bytes (the room was mostly reserved: growing is rare). */
static inline int put(struct buf *b, const void *v, size_t n)
{
	if (__builtin_expect(b->len + n > b->cap, 0) && grow(b, n) < 0)
		return TL_ENOMEM;
	memcpy(b->p + b->len, v, n);
	b->len += n;
	return 0;
}

/* An address's key: IPv4 as a host-order number, so that the keys sort
 * as numbers (the store gives network order, which sorts the same). */
static inline int put_key(struct buf *b, const struct tl_ip *ip)
{
	if (ip->family == 4) {
		uint32_t v = tl_ip_v4(ip);

		return put(b, &v, 4);
	}
	return put(b, ip->a, 16);
}

/* The snapshot's code bits of a listing: bit b for snap_code_octet(b). */
static unsigned code_bits(const struct tl_listing *li)
{
	unsigned bits = 0, i;

	for (i = 0; i < li->ncodes; i++)
		if (code_bit1[li->codes[i]])
			bits |= 1u << (code_bit1[li->codes[i]] - 1);
	return bits;
}

static unsigned kind_bits(const struct tl_history *h, bool persistent)
{
	unsigned k, bits = 0;

	for (k = 0; k < TL_KIND_COUNT; k++)
		if (h->count[k])
			bits |= 1u << k;
	return bits | (persistent ? 16u : 0u);
}

static uint32_t day_field(tl_day d)
{
	return d < 0 ? 0 : (uint32_t)d & DAY_MASK;
}

/*
 * One stretch of the store's keys, walked into the four arrays: a build
 * walks the IPv4 keys as two halves on two threads (each with a read
 * transaction of its own), then puts the pieces one after the other.
 */
struct walk_job {
	struct tl_store *s;
	const struct tl_policy *p;
	tl_day today;
	uint8_t family;
	struct tl_ip from;  /* the first key */
	bool bounded;
	struct tl_ip until; /* when bounded: the first key not walked */
	struct buf keys, vals, hkeys, hvals;
	uint64_t n, nh;
	uLong crc[4];       /* of the four arrays, when finished */
	int rc;
};

/* Does key @a sort before @b? */
static bool key_before(const uint8_t *a, const uint8_t *b, size_t size)
{
	size_t i;

	for (i = 0; i < size; i++)
		if (a[i] != b[i])
			return a[i] < b[i];
	return false;
}

static int walk(struct walk_job *j)
{
	const struct tl_policy *p = j->p;
	struct buf *keys = &j->keys, *vals = &j->vals, *hkeys = &j->hkeys,
		   *hvals = &j->hvals;
	tl_day today = j->today;
	uint64_t *n = &j->n, *nh = &j->nh;
	size_t size = j->family == 4 ? 4 : 16;
	struct tl_store_iter *it;
	struct tl_history h;
	int rc;

	rc = tl_store_iter_open(j->s, j->family, &it);
	if (rc < 0)
		return rc;
	tl_history_init(&h);
	for (rc = tl_store_iter_seek(it, &j->from); rc == 1;
	     rc = tl_store_iter_next(it)) {
		struct tl_listing li;
		struct tl_ip ip;
		const uint8_t *val;
		size_t len;
		uint64_t hv;
		int drc;

		tl_store_iter_get(it, &ip, &val, &len);
		if (j->bounded && !key_before(ip.a, j->until.a, size))
			break;
		/* The summary decides all but persistence and repeats,
		 * which need the runs (steadiness, gaps): only a long
		 * enough span can be persistent, and only one with more
		 * quiet days than expire_days a repeat. (A decode starts
		 * from a clean record.) */
		drc = tl_history_decode_summary(&h, val, len);
		if (drc == 0 &&
		    (h.last - h.first + 1 >= (tl_day)p->persistent_days ||
		     (uint64_t)(h.last - h.first + 1) - h.active_days >
			     p->expire_days))
			drc = tl_history_decode(&h, val, len, false);
		if (drc < 0)
			continue; /* counted by `store verify`; never listed */
		tl_policy_decide(p, &ip, &h, today, &li);
		if (li.listed) {
			uint32_t age = today - h.last > (tl_day)AGE_MAX
					       ? AGE_MAX
					       : (uint32_t)(today - h.last);
			uint32_t v = code_bits(&li) | day_field(h.first) << 6 |
				     age << 23;

			if (put_key(keys, &ip) < 0 ||
			    put(vals, &v, sizeof(v)) < 0) {
				rc = TL_ENOMEM;
				break;
			}
			(*n)++;
		}
		{
			struct tl_history_stats st;
			bool persistent = false;

			if (h.last - h.first + 1 >= (tl_day)p->persistent_days) {
				tl_history_stats(&h, p->hiatus_days, &st);
				persistent = st.steadiness >=
					     p->persistent_steadiness;
			}
			hv = kind_bits(&h, persistent) |
			     (uint64_t)day_field(h.first) << 5 |
			     (uint64_t)day_field(h.last) << 22;
		}
		if (put_key(hkeys, &ip) < 0 ||
		    put(hvals, &hv, sizeof(hv)) < 0) {
			rc = TL_ENOMEM;
			break;
		}
		(*nh)++;
	}
	tl_history_free(&h);
	tl_store_iter_close(it);
	return rc < 0 ? rc : 0;
}

static int write_all(int fd, const void *p, size_t n)
{
	const uint8_t *c = p;

	while (n) {
		ssize_t w = write(fd, c, n < TL_SNAP_WRITE_CHUNK
						 ? n
						 : TL_SNAP_WRITE_CHUNK);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Put the file written at @tmp in @path's place, atomically. Renaming over
 * an existing file makes ext4 (auto_da_alloc) allocate and start writing
 * back the whole new file inside rename(2): 200 MB held a CPU for up to
 * 13 ms here. Exchanging the two names does not, and the old file, now
 * at @tmp, is then unlinked (a server that maps it keeps it until it lets
 * go). Where the exchange is not supported (EINVAL on some network file
 * systems), or @path is new, a rename. Without auto_da_alloc, a power cut
 * soon after may leave @path empty or short rather than the old file:
 * it is then refused when loaded and built again (it is derived data).
 */
static int publish(const char *tmp, const char *path)
{
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE) == 0) {
		unlink(tmp);
		return 0;
	}
	if (rename(tmp, path) < 0)
		return -errno;
	return 0;
}

/*
 * Hold @path's directory (flock) while a build writes its temporary file
 * and puts it in place. Two builders of one path (`trapline export`
 * beside a running server) would otherwise write the same file, and one
 * could truncate the old snapshot, still mapped by a server, in the
 * moment between the other's exchange and unlink. Returns the descriptor
 * to close, or -errno.
 */
static int lock_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s",
			 slash == path ? 1 : (int)(slash - path), path);
	return tl_flock_open(dir, O_RDONLY | O_DIRECTORY);
}

/* The operator's ranges of one family (already cut by the allowlist)
 * into the lo, hi and value arrays. */
static int ranges(const struct tl_policy *p, uint8_t family, struct buf *lo,
		  struct buf *hi, struct buf *vals, uint64_t *n)
{
	const struct tl_oplist *l = p->ops;
	int f = family == 4 ? 0 : 1;
	size_t i;

	if (!l || !l->compiled)
		return 0;
	for (i = 0; i < l->nop[f]; i++) {
		const struct tl_iv *iv = &l->op[f][i];
		uint32_t v = SNAP_OPERATOR | day_field(iv->day) << 6;
		int rc;

		if (family == 4) {
			uint32_t a = (uint32_t)iv->lo, z = (uint32_t)iv->hi;

			rc = put(lo, &a, 4);
			if (rc == 0)
				rc = put(hi, &z, 4);
		} else {
			struct tl_ip a, z;

			tl_iv_ip(iv->lo, 6, &a);
			tl_iv_ip(iv->hi, 6, &z);
			rc = put(lo, a.a, 16);
			if (rc == 0)
				rc = put(hi, z.a, 16);
		}
		if (rc == 0)
			rc = put(vals, &v, 4);
		if (rc < 0)
			return rc;
		(*n)++;
	}
	return 0;
}

/* The CRC-32 of @n bytes at @p (zlib takes at most 4 GiB a call). */
static uLong span_crc(const uint8_t *p, size_t n)
{
	uLong crc = crc32(0, NULL, 0);

	while (n) {
		uInt c = n > (1u << 30) ? 1u << 30 : (uInt)n;

		crc = crc32(crc, p, c);
		p += c;
		n -= c;
	}
	return crc;
}

static uLong buf_crc(const struct buf *b)
{
	return span_crc(b->p, b->len);
}

struct crc_job {
	const uint8_t *p;
	size_t n;
	uLong crc;
};

static void *crc_thread(void *arg)
{
	struct crc_job *j = arg;

	j->crc = span_crc(j->p, j->n);
	return NULL;
}

/* The CRC-32 of a loaded body: a big one as two halves, the second on a
 * thread of its own, combined (half the wait for a server starting). */
static uLong body_crc(const uint8_t *p, size_t n)
{
	struct crc_job j = {p + n / 2, n - n / 2, 0};
	pthread_t th;
	uLong c;

	if (n < (8u << 20) || pthread_create(&th, NULL, crc_thread, &j) != 0)
		return span_crc(p, n);
	c = span_crc(p, n / 2);
	pthread_join(th, NULL);
	return crc32_combine(c, j.crc, (z_off_t)j.n);
}

/* The CRCs of a walker's arrays. */
static void walk_finish(struct walk_job *j, uLong crc[4])
{
	crc[0] = buf_crc(&j->keys);
	crc[1] = buf_crc(&j->vals);
	crc[2] = buf_crc(&j->hkeys);
	crc[3] = buf_crc(&j->hvals);
}

static void *walk_thread(void *arg)
{
	struct walk_job *j = arg;

	j->rc = walk(j);
	if (j->rc == 0)
		walk_finish(j, j->crc);
	return NULL;
}

#define NRBUF 6   /* r4lo r4hi r4v r6lo r6hi r6v */
#define NPIECE 18 /* the pieces of the body, in file order */

int snap_build(struct tl_store *s, const struct tl_policy *pol, tl_day today,
	       uint32_t serial, const char *path, struct snap_info *info,
	       bool one_core)
{
	struct tl_policy bulk = *pol, *p = &bulk, walkp;
	struct walk_job jobs[3]; /* IPv4 low half, IPv4 high half, IPv6 */
	struct buf rb[NRBUF] = {0};
	const struct buf *piece[NPIECE];
	uLong crc = crc32(0, NULL, 0);
	struct hdr h;
	char tmp[4096];
	pthread_t th;
	bool threaded;
	int fd = -1, lockfd = -1, rc, i, n;

	bulk.bulk = true; /* no why texts for a whole store */
	/* The walkers skip an empty operator list (ranges() reads it). */
	walkp = bulk;
	if (tl_oplist_is_empty(walkp.ops))
		walkp.ops = NULL;
	memset(&h, 0, sizeof(h));
	memset(jobs, 0, sizeof(jobs));
	for (i = 0; i < 3; i++) {
		jobs[i].s = s;
		jobs[i].p = &walkp;
		jobs[i].today = today;
		jobs[i].family = i < 2 ? 4 : 6;
		jobs[i].from.family = jobs[i].family;
	}
	{
		struct tl_store_info si;

		if (tl_store_info(s, &si) == 0)
			for (i = 0; i < 3; i++) {
				/* Half the IPv4 addresses each, and some. */
				size_t cnt = i < 2 ? si.ips_v4 / 2 + si.ips_v4 / 8
						   : si.ips_v6;
				size_t ks = i < 2 ? 4 : 16;

				if (reserve(&jobs[i].keys, cnt * ks) < 0 ||
				    reserve(&jobs[i].vals, cnt * 4) < 0 ||
				    reserve(&jobs[i].hkeys, cnt * ks) < 0 ||
				    reserve(&jobs[i].hvals, cnt * 8) < 0) {
					rc = TL_ENOMEM;
					goto out;
				}
			}
	}
	/* The IPv4 keys in two halves, the upper on a thread of its own. */
	jobs[0].bounded = true;
	jobs[0].until.family = 4;
	jobs[0].until.a[0] = 0x80;
	jobs[1].from.a[0] = 0x80;
	threaded = !one_core &&
		   pthread_create(&th, NULL, walk_thread, &jobs[1]) == 0;
	rc = walk(&jobs[0]);
	if (rc == 0)
		rc = walk(&jobs[2]);
	if (!threaded)
		walk_thread(&jobs[1]);
	else
		pthread_join(th, NULL);
	if (rc == 0)
		rc = jobs[1].rc;
	if (rc == 0)
		rc = ranges(p, 4, &rb[0], &rb[1], &rb[2], &h.nr4);
	if (rc == 0)
		rc = ranges(p, 6, &rb[3], &rb[4], &rb[5], &h.nr6);
	if (rc < 0)
		goto out;
	walk_finish(&jobs[0], jobs[0].crc);
	walk_finish(&jobs[2], jobs[2].crc);
	h.n4 = jobs[0].n + jobs[1].n;
	h.nh4 = jobs[0].nh + jobs[1].nh;
	h.n6 = jobs[2].n;
	h.nh6 = jobs[2].nh;

	/* File order: k4 v4 k6 v6, r4lo r4hi r4v r6lo r6hi r6v,
	 * kh4 vh4 kh6 vh6; IPv4 arrays as the two halves' pieces. */
	{
		static const struct {
			int job, arr;
		} order[] = {
			{0, 0}, {1, 0}, {0, 1}, {1, 1}, {2, 0}, {2, 1},
			{-1, 0}, {-1, 1}, {-1, 2}, {-1, 3}, {-1, 4}, {-1, 5},
			{0, 2}, {1, 2}, {0, 3}, {1, 3}, {2, 2}, {2, 3},
		};

		n = 0;
		for (i = 0; i < (int)(sizeof(order) / sizeof(order[0])); i++) {
			const struct buf *b;
			uLong c;

			if (order[i].job < 0) {
				b = &rb[order[i].arr];
				c = buf_crc(b);
			} else {
				struct walk_job *j = &jobs[order[i].job];
				const struct buf *arrs[4] = {
					&j->keys, &j->vals, &j->hkeys, &j->hvals};

				b = arrs[order[i].arr];
				c = j->crc[order[i].arr];
			}
			piece[n++] = b;
			crc = crc32_combine(crc, c, (z_off_t)b->len);
		}
	}
	memcpy(h.magic, SNAP_MAGIC, 8);
	h.version = SNAP_VERSION;
	h.serial = serial;
	h.built = (int64_t)time(NULL);
	h.day = today;
	h.body_crc = (uint32_t)crc;
	h.hdr_crc = (uint32_t)crc32(crc32(0, NULL, 0), (const Bytef *)&h,
				    offsetof(struct hdr, hdr_crc));
	rc = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (rc < 0 || (size_t)rc >= sizeof(tmp)) {
		rc = TL_ETOOLONG;
		goto out;
	}
	lockfd = lock_dir(path);
	if (lockfd < 0)
		log_warn("snapshot", "%s: not locked (%s); building anyway",
			 path, tl_strerror(lockfd));
	/* A file left at @tmp (a builder killed between its exchange and
	 * its unlink) may be the old snapshot a server still maps: unlink
	 * it, never truncate it, and make a new one. */
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	rc = write_all(fd, &h, sizeof(h));
	for (i = 0; i < n && rc == 0; i++)
		if (piece[i]->len)
			rc = write_all(fd, piece[i]->p, piece[i]->len);
	/* No fdatasync: the snapshot is derived from the store and checked
	 * whole when it is loaded, so a file that a crash left short or
	 * empty is refused and built again; syncing 200 MB would add a
	 * third to the time a build takes. */
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	fd = -1;
	if (rc == 0)
		rc = publish(tmp, path);
	if (rc < 0) {
		unlink(tmp);
		goto out;
	}
	if (info) {
		info->serial = serial;
		info->built = h.built;
		info->day = today;
		info->n4 = h.n4;
		info->n6 = h.n6;
		info->nh4 = h.nh4;
		info->nh6 = h.nh6;
		info->nr4 = h.nr4;
		info->nr6 = h.nr6;
		info->crc = h.body_crc;
		info->bytes = sizeof(h);
		for (i = 0; i < n; i++)
			info->bytes += piece[i]->len;
	}
out:
	if (lockfd >= 0)
		close(lockfd);
	for (i = 0; i < 3; i++) {
		tl_free(jobs[i].keys.p);
		tl_free(jobs[i].vals.p);
		tl_free(jobs[i].hkeys.p);
		tl_free(jobs[i].hvals.p);
	}
	for (i = 0; i < NRBUF; i++)
		tl_free(rb[i].p);
#ifdef __GLIBC__
	/* The arrays (tens or hundreds of MB) came partly from the heap,
	 * which glibc keeps: give it back, or a server that builds its own
	 * snapshots holds that much more memory than the snapshot. */
	malloc_trim(0);
#endif
	return rc;
}

/* ---- loading ------------------------------------------------------------- */

static int corrupt(const char *path, const char *what)
{
	log_error("snapshot", "%s: refused: %s", path, what);
	return TL_ECORRUPT;
}

static bool ascending4(const uint32_t *k, uint64_t n)
{
	uint64_t i;

	for (i = 1; i < n; i++)
		if (k[i - 1] >= k[i])
			return false;
	return true;
}

static bool ascending16(const uint8_t *k, uint64_t n)
{
	uint64_t i;

	for (i = 1; i < n; i++)
		if (memcmp(k + (i - 1) * 16, k + i * 16, 16) >= 0)
			return false;
	return true;
}

/* Ranges: each lo <= hi, each after the one before (disjoint, ascending),
 * and only the operator code in their values. */
static bool ranges_ok4(const uint32_t *lo, const uint32_t *hi,
		       const uint32_t *v, uint64_t n)
{
	uint64_t i;

	for (i = 0; i < n; i++)
		if (lo[i] > hi[i] || (i && hi[i - 1] >= lo[i]) ||
		    (v[i] & 63u) != SNAP_OPERATOR)
			return false;
	return true;
}

static bool ranges_ok16(const uint8_t *lo, const uint8_t *hi,
			const uint32_t *v, uint64_t n)
{
	uint64_t i;

	for (i = 0; i < n; i++)
		if (memcmp(lo + i * 16, hi + i * 16, 16) > 0 ||
		    (i && memcmp(hi + (i - 1) * 16, lo + i * 16, 16) >= 0) ||
		    (v[i] & 63u) != SNAP_OPERATOR)
			return false;
	return true;
}

/*
 * Reads an untrusted file: the magic and version are read first (from
 * the 12 bytes every version starts with), every size is checked against
 * the file's length before any array is used, the checksums cover every
 * byte, the keys must ascend and the ranges be ascending and disjoint
 * (binary search depends on both).
 */
int snap_load(const char *path, struct snap **out)
{
	return snap_load_built(path, NULL, out);
}

int snap_load_built(const char *path, const struct snap_info *built,
		    struct snap **out)
{
	struct snap *sn;
	struct stat sb;
	const uint8_t *p;
	uint64_t need, n4, n6, nh4, nh6, nr4, nr6;
	uLong crc;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		if (rc != TL_ENOENT)
			log_error("snapshot", "%s: %s", path, strerror(errno));
		return rc;
	}
	if (fstat(fd, &sb) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	if ((uint64_t)sb.st_size < 12) {
		close(fd);
		return corrupt(path, "shorter than its header");
	}
	sn = tl_calloc(1, sizeof(*sn));
	if (!sn) {
		close(fd);
		return TL_ENOMEM;
	}
	sn->len = (size_t)sb.st_size;
	/* MAP_POPULATE: the page faults are taken here, on the loading
	 * thread, not by the first queries after a switch. */
	sn->map = mmap(NULL, sn->len, PROT_READ, MAP_SHARED | MAP_POPULATE, fd,
		       0);
	close(fd);
	if (sn->map == MAP_FAILED) {
		rc = -errno;
		tl_free(sn);
		return rc;
	}
	p = sn->map;
	/* Magic and version first: they sit at the same place in every
	 * version, whose headers differ in length. */
	memcpy(sn->h.magic, p, 8);
	memcpy(&sn->h.version, p + 8, 4);
	rc = TL_ECORRUPT;
	if (memcmp(sn->h.magic, SNAP_MAGIC, 8) != 0) {
		corrupt(path, "not a trapline snapshot");
		goto fail;
	}
	if (sn->h.version != SNAP_VERSION) {
		log_error("snapshot", "%s: refused: version %u (this trapline "
			  "reads %u)", path, sn->h.version, SNAP_VERSION);
		rc = TL_EVERSION;
		goto fail;
	}
	if (sn->len < HDR_SIZE) {
		corrupt(path, "shorter than its header");
		goto fail;
	}
	memcpy(&sn->h, p, sizeof(sn->h));
	if (crc32(crc32(0, NULL, 0), p, offsetof(struct hdr, hdr_crc)) !=
	    sn->h.hdr_crc) {
		corrupt(path, "header checksum");
		goto fail;
	}
	n4 = sn->h.n4;
	n6 = sn->h.n6;
	nh4 = sn->h.nh4;
	nh6 = sn->h.nh6;
	nr4 = sn->h.nr4;
	nr6 = sn->h.nr6;
	/* Counts bounded so the sums below cannot overflow. */
	if (n4 > (1ULL << 32) || n6 > (1ULL << 40) || nh4 > (1ULL << 32) ||
	    nh6 > (1ULL << 40) || nr4 > (1ULL << 32) || nr6 > (1ULL << 40)) {
		corrupt(path, "impossible counts");
		goto fail;
	}
	need = HDR_SIZE + n4 * 8 + n6 * 20 + nr4 * 12 + nr6 * 36 + nh4 * 12 +
	       nh6 * 24;
	if (need != sn->len) {
		corrupt(path, need > sn->len ? "truncated" : "trailing bytes");
		goto fail;
	}
	if (built && built->serial == sn->h.serial &&
	    built->crc == sn->h.body_crc && built->bytes == sn->len)
		crc = built->crc; /* the bytes this process just wrote */
	else
		crc = body_crc(p + HDR_SIZE, sn->len - HDR_SIZE);
	if ((uint32_t)crc != sn->h.body_crc) {
		corrupt(path, "body checksum");
		goto fail;
	}
	p += HDR_SIZE;
	sn->k4 = (const uint32_t *)p;
	p += n4 * 4;
	sn->v4 = (const uint32_t *)p;
	p += n4 * 4;
	sn->k6 = p;
	p += n6 * 16;
	sn->v6 = (const uint32_t *)p;
	p += n6 * 4;
	sn->r4lo = (const uint32_t *)p;
	p += nr4 * 4;
	sn->r4hi = (const uint32_t *)p;
	p += nr4 * 4;
	sn->r4v = (const uint32_t *)p;
	p += nr4 * 4;
	sn->r6lo = p;
	p += nr6 * 16;
	sn->r6hi = p;
	p += nr6 * 16;
	sn->r6v = (const uint32_t *)p;
	p += nr6 * 4;
	sn->kh4 = (const uint32_t *)p;
	p += nh4 * 4;
	sn->vh4 = p;
	p += nh4 * 8;
	sn->kh6 = p;
	p += nh6 * 16;
	sn->vh6 = p;
	if (!ascending4(sn->k4, n4) || !ascending4(sn->kh4, nh4) ||
	    !ascending16(sn->k6, n6) || !ascending16(sn->kh6, nh6)) {
		corrupt(path, "keys out of order");
		goto fail;
	}
	if (!ranges_ok4(sn->r4lo, sn->r4hi, sn->r4v, nr4) ||
	    !ranges_ok16(sn->r6lo, sn->r6hi, sn->r6v, nr6)) {
		corrupt(path, "ranges out of order, overlapping or bad");
		goto fail;
	}
	sn->idx4 = index16(sn->k4, n4);
	sn->idxh4 = index16(sn->kh4, nh4);
	if (!sn->idx4 || !sn->idxh4) {
		rc = TL_ENOMEM;
		goto fail;
	}
	hot_copy(sn);
	/* Checking read every page. The listed set stays resident (it is
	 * what every query searches); the history, asked only through the
	 * hist zone, is given back to the kernel until it is asked. */
	drop_pages((const uint8_t *)sn->kh4, (const uint8_t *)sn->map + sn->len);
	*out = sn;
	return 0;
fail:
	tl_free(sn->idx4);
	tl_free(sn->idxh4);
	munmap(sn->map, sn->len);
	tl_free(sn);
	return rc;
}

void snap_free(struct snap *sn)
{
	if (!sn)
		return;
	if (sn->hot)
		munmap(sn->hot, sn->hot_len);
	else
		tl_free(sn->idx4);
	tl_free(sn->idxh4);
	munmap(sn->map, sn->len);
	tl_free(sn);
}

void snap_get_info(const struct snap *sn, struct snap_info *info)
{
	info->serial = sn->h.serial;
	info->built = sn->h.built;
	info->day = sn->h.day;
	info->n4 = sn->h.n4;
	info->n6 = sn->h.n6;
	info->nh4 = sn->h.nh4;
	info->nh6 = sn->h.nh6;
	info->nr4 = sn->h.nr4;
	info->nr6 = sn->h.nr6;
	info->bytes = sn->len;
	info->hot = sn->hot != NULL;
}

/* ---- searching ----------------------------------------------------------- */

static bool find4(const uint32_t *k, const uint32_t *idx, uint32_t key,
		  uint64_t *at)
{
	uint64_t lo = idx[key >> 16], end = idx[(key >> 16) + 1], hi = end;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (k[mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	*at = lo;
	return lo < end && k[lo] == key;
}

static bool find16(const uint8_t *k, uint64_t n, const uint8_t *key,
		   uint64_t *at)
{
	uint64_t lo = 0, hi = n;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (memcmp(k + mid * 16, key, 16) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*at = lo;
	return lo < n && memcmp(k + lo * 16, key, 16) == 0;
}

static void unpack(const struct snap *sn, uint32_t v,
		   struct snap_listing *out);

static unsigned fam_bits(uint8_t family)
{
	return family == 4 ? 32 : 128;
}

/* The last address of the block of length @len at @lo (@bits space). */
static tl_u128 block_end(tl_u128 lo, unsigned len, unsigned bits)
{
	if (len == 0)
		return ~(tl_u128)0 >> (128 - bits);
	return lo + (((tl_u128)1 << (bits - len)) - 1);
}

static tl_u128 num16(const uint8_t *p)
{
	tl_u128 v = 0;
	unsigned i;

	for (i = 0; i < 16; i++)
		v = v << 8 | p[i];
	return v;
}

static void range_ends(const struct snap *sn, uint8_t family, uint64_t i,
		       tl_u128 *lo, tl_u128 *hi)
{
	if (family == 4) {
		*lo = sn->r4lo[i];
		*hi = sn->r4hi[i];
	} else {
		*lo = num16(sn->r6lo + i * 16);
		*hi = num16(sn->r6hi + i * 16);
	}
}

/* The block of range @i's decomposition into CIDR blocks that holds @x:
 * the same cut the zone names are made of (snap_rnames_next). */
static void block_of(const struct snap *sn, uint8_t family, uint64_t i,
		     tl_u128 x, struct tl_prefix *out)
{
	unsigned bits = fam_bits(family), len;
	tl_u128 a, hi, end;

	range_ends(sn, family, i, &a, &hi);
	for (;;) {
		len = tl_iv_cidr(a, hi, bits);
		end = block_end(a, len, bits);
		if (x <= end || end >= hi)
			break;
		a = end + 1;
	}
	tl_iv_ip(a, family, &out->ip);
	out->len = (uint8_t)len;
}

/* The range holding @ip, or -1: the last range starting at or before it,
 * if it ends at or after it. */
static int64_t find_range(const struct snap *sn, const struct tl_ip *ip)
{
	uint64_t lo = 0, hi;

	if (ip->family == 4) {
		uint32_t key = tl_ip_v4(ip);

		hi = sn->h.nr4;
		while (lo < hi) {
			uint64_t mid = lo + (hi - lo) / 2;

			if (sn->r4lo[mid] <= key)
				lo = mid + 1;
			else
				hi = mid;
		}
		return lo && sn->r4hi[lo - 1] >= key ? (int64_t)lo - 1 : -1;
	}
	hi = sn->h.nr6;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (memcmp(sn->r6lo + mid * 16, ip->a, 16) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && memcmp(sn->r6hi + (lo - 1) * 16, ip->a, 16) >= 0
		       ? (int64_t)lo - 1
		       : -1;
}

bool snap_lookup(const struct snap *sn, const struct tl_ip *ip,
		 struct snap_listing *out)
{
	uint64_t at;
	int64_t r;
	uint32_t v;

	/* An exact entry already carries the operator code when a range
	 * covers it (the build adds it), so it answers alone. */
	if (ip->family == 4) {
		if (find4(sn->k4, sn->idx4, tl_ip_v4(ip), &at)) {
			unpack(sn, sn->v4[at], out);
			return true;
		}
	} else if (find16(sn->k6, sn->h.n6, ip->a, &at)) {
		unpack(sn, sn->v6[at], out);
		return true;
	}
	r = find_range(sn, ip);
	if (r < 0)
		return false;
	v = ip->family == 4 ? sn->r4v[r] : sn->r6v[r];
	unpack(sn, v, out);
	block_of(sn, ip->family, (uint64_t)r, tl_iv_num(ip), &out->block);
	out->ranged = true;
	return true;
}

uint64_t snap_range_count(const struct snap *sn, uint8_t family)
{
	return family == 4 ? sn->h.nr4 : sn->h.nr6;
}

void snap_range_at(const struct snap *sn, uint8_t family, uint64_t i,
		   struct tl_ip *lo, struct tl_ip *hi, struct snap_listing *out)
{
	if (family == 4) {
		tl_ip_from_v4(lo, sn->r4lo[i]);
		tl_ip_from_v4(hi, sn->r4hi[i]);
		unpack(sn, sn->r4v[i], out);
	} else {
		memset(lo, 0, sizeof(*lo));
		memset(hi, 0, sizeof(*hi));
		lo->family = hi->family = 6;
		memcpy(lo->a, sn->r6lo + i * 16, 16);
		memcpy(hi->a, sn->r6hi + i * 16, 16);
		unpack(sn, sn->r6v[i], out);
	}
}

bool snap_history(const struct snap *sn, const struct tl_ip *ip,
		  struct snap_history *out)
{
	uint64_t at, v;

	if (ip->family == 4) {
		if (!find4(sn->kh4, sn->idxh4, tl_ip_v4(ip), &at))
			return false;
		memcpy(&v, sn->vh4 + at * 8, 8);
	} else {
		if (!find16(sn->kh6, sn->h.nh6, ip->a, &at))
			return false;
		memcpy(&v, sn->vh6 + at * 8, 8);
	}
	out->kinds = (unsigned)(v & 31u);
	out->first = (tl_day)((v >> 5) & DAY_MASK);
	out->last = (tl_day)((v >> 22) & DAY_MASK);
	return true;
}

uint64_t snap_history_count(const struct snap *sn, uint8_t family)
{
	return family == 4 ? sn->h.nh4 : sn->h.nh6;
}

void snap_history_at(const struct snap *sn, uint8_t family, uint64_t i,
		     struct tl_ip *ip, struct snap_history *out)
{
	uint64_t v;

	memset(ip, 0, sizeof(*ip));
	if (family == 4) {
		tl_ip_from_v4(ip, sn->kh4[i]);
		memcpy(&v, sn->vh4 + i * 8, 8);
	} else {
		ip->family = 6;
		memcpy(ip->a, sn->kh6 + i * 16, 16);
		memcpy(&v, sn->vh6 + i * 8, 8);
	}
	out->kinds = (unsigned)(v & 31u);
	out->first = (tl_day)((v >> 5) & DAY_MASK);
	out->last = (tl_day)((v >> 22) & DAY_MASK);
}

uint64_t snap_count(const struct snap *sn, uint8_t family)
{
	return family == 4 ? sn->h.n4 : sn->h.n6;
}

static void unpack(const struct snap *sn, uint32_t v, struct snap_listing *out)
{
	memset(out, 0, sizeof(*out));
	out->codes = v & 63u;
	out->first = (tl_day)((v >> 6) & DAY_MASK);
	out->last = sn->h.day - (tl_day)(v >> 23);
}

void snap_listed_at(const struct snap *sn, uint8_t family, uint64_t i,
		    struct tl_ip *ip, struct snap_listing *out)
{
	memset(ip, 0, sizeof(*ip));
	if (family == 4) {
		tl_ip_from_v4(ip, sn->k4[i]);
		unpack(sn, sn->v4[i], out);
	} else {
		ip->family = 6;
		memcpy(ip->a, sn->k6 + i * 16, 16);
		unpack(sn, sn->v6[i], out);
	}
}

/* Append @n bytes of @s to @buf at *@o, within @size (one byte kept for
 * the NUL). */
static void emit(char *buf, size_t size, size_t *o, const char *s, size_t n)
{
	if (*o + 1 >= size)
		return;
	if (n > size - 1 - *o)
		n = size - 1 - *o;
	memcpy(buf + *o, s, n);
	*o += n;
}

/* ---- operator ranges as zone names (snapshot.h) -------------------------- */

/* The IPv4 test point, and the same in IPv6 form (::ffff:127.0.0.2):
 * names of their own in every transfer. */
#define TP4 ((tl_u128)0x7f000002)
#define TP6 (((tl_u128)0xffff << 32) | 0x7f000002)

/* Has @x (of @family) a name of its own: an exact entry or a test
 * point? */
static bool is_point(const struct snap *sn, uint8_t family, tl_u128 x)
{
	uint8_t key[16];
	uint64_t at;
	int i;

	if (family == 4)
		return x == TP4 || find4(sn->k4, sn->idx4, (uint32_t)x, &at);
	if (x == TP6)
		return true;
	for (i = 15; i >= 0; i--, x >>= 8)
		key[i] = (uint8_t)x;
	return find16(sn->k6, sn->h.n6, key, &at);
}

/* The first address at or past @x with a name of its own. */
static bool next_point(const struct snap *sn, uint8_t family, tl_u128 x,
		       tl_u128 *out)
{
	tl_u128 tp = family == 4 ? TP4 : TP6, v = x;
	bool have = false;
	uint64_t at;

	if (family == 4) {
		find4(sn->k4, sn->idx4, (uint32_t)x, &at);
		if (at < sn->h.n4) {
			*out = sn->k4[at];
			have = true;
		}
	} else {
		uint8_t key[16];
		int i;

		for (i = 15; i >= 0; i--, v >>= 8)
			key[i] = (uint8_t)v;
		find16(sn->k6, sn->h.n6, key, &at);
		if (at < sn->h.n6) {
			*out = num16(sn->k6 + at * 16);
			have = true;
		}
	}
	if (tp >= x && (!have || tp < *out)) {
		*out = tp;
		have = true;
	}
	return have;
}

void snap_rnames_start(struct snap_rname_iter *it, const struct snap *sn,
		       uint8_t family)
{
	memset(it, 0, sizeof(*it));
	it->sn = sn;
	it->family = family;
}

static tl_u128 prefix_of(tl_u128 x, unsigned len, unsigned bits)
{
	return len == 0 ? 0 : x & ~(((tl_u128)1 << (bits - len)) - 1);
}

static void rname_set(const struct snap_rname_iter *it, tl_u128 at,
		      unsigned len, bool wildcard, struct snap_rname *out)
{
	tl_iv_ip(at, it->family, &out->name.ip);
	out->name.len = (uint8_t)len;
	out->wildcard = wildcard;
	out->li = it->li;
}

bool snap_rnames_next(struct snap_rname_iter *it, struct snap_rname *out)
{
	const struct snap *sn = it->sn;
	uint8_t fam = it->family;
	unsigned bits = fam_bits(fam), step = fam == 4 ? 8 : 4;

	for (;;) {
		if (it->w_on) { /* nodes below the last wildcard */
			tl_u128 p;
			unsigned l;

			if (!it->lev) {
				if (it->from_end ||
				    !next_point(sn, fam, it->from, &p) ||
				    p > it->w_hi) {
					it->w_on = false;
					continue;
				}
				it->from = p + 1;
				it->from_end = p == block_end(0, 0, bits);
				/* The first node not named for the one
				 * before. */
				for (l = it->w_len + step; l < bits; l += step)
					if (!it->has_prev ||
					    prefix_of(p, l, bits) !=
						    prefix_of(it->prev_pt, l,
							      bits))
						break;
				it->pt = p;
				it->prev_pt = p;
				it->has_prev = true;
				if (l >= bits)
					continue;
				it->lev = l;
			}
			rname_set(it, prefix_of(it->pt, it->lev, bits), it->lev,
				  true, out);
			it->lev += step;
			if (it->lev >= bits)
				it->lev = 0;
			return true;
		}
		if (it->k < it->nk) {
			/* k > 0 only when nlen > block.len >= 0 */
			tl_u128 at = tl_iv_num(&it->block.ip) +
				     (it->k ? (tl_u128)it->k
						      << (bits - it->nlen)
					    : 0);

			it->k++;
			if (it->nlen == bits) {
				if (is_point(sn, fam, at))
					continue;
				rname_set(it, at, bits, false, out);
				return true;
			}
			rname_set(it, at, it->nlen, true, out);
			if (it->nlen + step < bits) {
				it->w_on = true;
				it->w_len = it->nlen;
				it->w_hi = block_end(at, it->nlen, bits);
				it->from = at;
				it->from_end = false;
				it->has_prev = false;
				it->lev = 0;
			}
			return true;
		}
		/* The next block: of this range, or of the next one. */
		{
			tl_u128 at;
			unsigned len;

			if (it->in_range && it->bend >= it->end) {
				it->in_range = false;
				it->r++;
			}
			if (it->in_range) {
				at = it->bend + 1;
			} else {
				tl_u128 lo;

				if (it->r >= snap_range_count(sn, fam))
					return false;
				range_ends(sn, fam, it->r, &lo, &it->end);
				unpack(sn, fam == 4 ? sn->r4v[it->r]
						    : sn->r6v[it->r],
				       &it->li);
				it->li.ranged = true;
				it->in_range = true;
				at = lo;
			}
			len = tl_iv_cidr(at, it->end, bits);
			it->bend = block_end(at, len, bits);
			tl_iv_ip(at, fam, &it->block.ip);
			it->block.len = (uint8_t)len;
			it->li.block = it->block;
			it->nlen = (len + step - 1) / step * step;
			it->nk = (uint64_t)1 << (it->nlen - len);
			it->k = 0;
		}
	}
}

size_t snap_txt(const char *tmpl, const struct tl_ip *ip,
		const struct snap_listing *li, char *buf, size_t size)
{
	static const char *const kinds[6] = {"spam", "dictionary", "auth",
					     "malware", "persistent",
					     "operator"};
	char tmp[TL_PREFIX_STRLEN > TL_DAY_STRLEN ? TL_PREFIX_STRLEN
						   : TL_DAY_STRLEN];
	const char *p;
	size_t o = 0;
	unsigned b;

	if (!size)
		return 0;
	for (p = tmpl; *p; p++) {
		if (*p == '$') {
			if (li->ranged)
				emit(buf, size, &o, tmp,
				     tl_prefix_format(&li->block, tmp));
			else if (ip)
				emit(buf, size, &o, tmp, tl_ip_format(ip, tmp));
			else
				emit(buf, size, &o, "$", 1);
		} else if (*p == '%' && p[1] == 'k') {
			bool first = true;

			for (b = 0; b < 6; b++) {
				if (!(li->codes & (1u << b)))
					continue;
				if (!first)
					emit(buf, size, &o, ", ", 2);
				emit(buf, size, &o, kinds[b], strlen(kinds[b]));
				first = false;
			}
			p++;
		} else if (*p == '%' && (p[1] == 'f' || p[1] == 'l')) {
			emit(buf, size, &o, tmp,
			     tl_day_format(p[1] == 'f' ? li->first : li->last,
					   tmp));
			p++;
		} else if (*p == '%' && p[1] == '%') {
			emit(buf, size, &o, "%", 1);
			p++;
		} else {
			emit(buf, size, &o, p, 1);
		}
	}
	buf[o] = '\0';
	return o;
}
