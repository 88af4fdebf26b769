/* SPDX-License-Identifier: MIT */
/* oplist.c -- operator listings and the allowlist: file, edits, intervals */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oplist.h"
#include "trapline/alloc.h"
#include "trapline/err.h"
#include "trapline/log.h"
#include "utf8.h"

#define FILE_HEADER                                                        \
	"# trapline operator list: edit with `trapline list`, not by hand.\n" \
	"# KIND\tPREFIX\tADDED\tEXPIRES\tBY\tREASON\n"

void tl_oplist_init(struct tl_oplist *l)
{
	memset(l, 0, sizeof(*l));
}

static void uncompile(struct tl_oplist *l)
{
	int f;

	for (f = 0; f < 2; f++) {
		tl_free(l->op[f]);
		tl_free(l->allow[f]);
		l->op[f] = l->allow[f] = NULL;
		l->nop[f] = l->nallow[f] = 0;
	}
	l->compiled = false;
}

void tl_oplist_free(struct tl_oplist *l)
{
	uncompile(l);
	tl_free(l->e);
	memset(l, 0, sizeof(*l));
}

bool tl_oplist_reason_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *end;
	size_t len = strlen(s);

	if (len == 0 || len > TL_OPLIST_REASON_MAX)
		return false;
	end = p + len;
	while (p < end) {
		size_t n = tl_utf8_len(p, end);

		if (n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7f)))
			return false;
		/* C1 controls (U+0080..U+009F) would reach terminals too. */
		if (n == 2 && p[0] == 0xc2 && p[1] < 0xa0)
			return false;
		p += n;
	}
	/* Leading or trailing blanks would not survive the round trip
	 * unnoticed: refuse them rather than strip them. */
	return s[0] != ' ' && s[len - 1] != ' ';
}

bool tl_oplist_who_ok(const char *s)
{
	size_t len = strlen(s), i;

	if (len == 0 || len > TL_OPLIST_WHO_MAX)
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-' || c == '@'))
			return false;
	}
	return true;
}

static bool same(const struct tl_op_entry *a, uint8_t kind,
		 const struct tl_prefix *p)
{
	return a->kind == kind && a->pfx.len == p->len &&
	       a->pfx.ip.family == p->ip.family &&
	       memcmp(a->pfx.ip.a, p->ip.a, 16) == 0;
}

static int append(struct tl_oplist *l, const struct tl_op_entry *e)
{
	if (l->n == TL_OPLIST_MAX)
		return TL_ELIMIT;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct tl_op_entry *ne;

		if (cap > TL_OPLIST_MAX)
			cap = TL_OPLIST_MAX;
		ne = tl_reallocarray(l->e, cap, sizeof(*ne));
		if (!ne)
			return TL_ENOMEM;
		l->e = ne;
		l->cap = cap;
	}
	l->e[l->n++] = *e;
	return 0;
}

int tl_oplist_put(struct tl_oplist *l, const struct tl_op_entry *e)
{
	size_t i;

	uncompile(l);
	for (i = 0; i < l->n; i++)
		if (same(&l->e[i], e->kind, &e->pfx)) {
			l->e[i] = *e;
			return 0;
		}
	return append(l, e);
}

int tl_oplist_del(struct tl_oplist *l, uint8_t kind,
		  const struct tl_prefix *p)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (same(&l->e[i], kind, p)) {
			uncompile(l);
			memmove(&l->e[i], &l->e[i + 1],
				(l->n - i - 1) * sizeof(*l->e));
			l->n--;
			return 0;
		}
	return TL_ENOENT;
}

size_t tl_oplist_prune(struct tl_oplist *l, tl_day today)
{
	size_t i, o = 0;

	for (i = 0; i < l->n; i++)
		if (l->e[i].expires > today)
			l->e[o++] = l->e[i];
	if (o != l->n)
		uncompile(l);
	i = l->n - o;
	l->n = o;
	return i;
}

/* ---- the file ------------------------------------------------------------ */

/* Copy field [@s, @e) into @buf (@size bytes with the NUL); false when it
 * does not fit or holds a NUL. */
static bool field(const char *s, const char *e, char *buf, size_t size)
{
	size_t n = (size_t)(e - s);

	if (n >= size || memchr(s, '\0', n))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return true;
}

/* One entry line [@s, @e), without its newline. */
static int parse_line(const char *s, const char *e, struct tl_op_entry *out)
{
	const char *f[6], *fe[6], *p = s;
	char tmp[TL_PREFIX_STRLEN + 8];
	unsigned i;
	int rc;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < 6; i++) {
		const char *t = i < 5 ? memchr(p, '\t', (size_t)(e - p)) : e;

		if (!t)
			return TL_ECORRUPT;
		f[i] = p;
		fe[i] = t;
		p = t + 1;
	}
	if (fe[0] - f[0] == 4 && memcmp(f[0], "list", 4) == 0)
		out->kind = TL_OP_LIST;
	else if (fe[0] - f[0] == 5 && memcmp(f[0], "allow", 5) == 0)
		out->kind = TL_OP_ALLOW;
	else
		return TL_ECORRUPT;
	rc = tl_prefix_parse(f[1], (size_t)(fe[1] - f[1]), true, &out->pfx);
	if (rc < 0)
		return TL_ECORRUPT;
	if (!field(f[2], fe[2], tmp, sizeof(tmp)) || !tmp[0] ||
	    strspn(tmp, "0123456789") != strlen(tmp) || strlen(tmp) > 12)
		return TL_ECORRUPT;
	out->added = (int64_t)strtoll(tmp, NULL, 10);
	if (fe[3] - f[3] == 1 && f[3][0] == '-')
		out->expires = TL_OPLIST_NO_EXPIRY;
	else if (tl_day_parse(f[3], (size_t)(fe[3] - f[3]), &out->expires) < 0)
		return TL_ECORRUPT;
	if (!field(f[4], fe[4], out->who, sizeof(out->who)) ||
	    !tl_oplist_who_ok(out->who))
		return TL_ECORRUPT;
	if (!field(f[5], fe[5], out->reason, sizeof(out->reason)) ||
	    !tl_oplist_reason_ok(out->reason))
		return TL_ECORRUPT;
	return 0;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct tl_op_entry *x = *(const struct tl_op_entry *const *)a;
	const struct tl_op_entry *y = *(const struct tl_op_entry *const *)b;
	int c;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	c = tl_ip_cmp(&x->pfx.ip, &y->pfx.ip);
	if (c)
		return c;
	return x->pfx.len < y->pfx.len ? -1 : x->pfx.len > y->pfx.len;
}

/* The line of the first entry that repeats an earlier kind and prefix,
 * or 0 (sorting, not a scan per entry: a hostile file of 65536 entries
 * must not cost 2^31 comparisons). */
static int find_dup(const struct tl_oplist *l, const unsigned *lines,
		    unsigned *line)
{
	const struct tl_op_entry **v;
	size_t i;

	if (l->n < 2)
		return 0;
	v = tl_calloc(l->n, sizeof(*v));
	if (!v)
		return TL_ENOMEM;
	for (i = 0; i < l->n; i++)
		v[i] = &l->e[i];
	qsort(v, l->n, sizeof(*v), entry_cmp);
	*line = 0;
	for (i = 1; i < l->n; i++)
		if (entry_cmp(&v[i - 1], &v[i]) == 0) {
			/* the later of the two in the file */
			size_t a = (size_t)(v[i - 1] - l->e);
			size_t b = (size_t)(v[i] - l->e);
			unsigned at = lines[a > b ? a : b];

			if (!*line || at < *line)
				*line = at;
		}
	tl_free(v);
	return *line ? TL_ECORRUPT : 0;
}

/*
 * Reads untrusted bytes (a file anyone with write access to DATA could
 * have edited): lines are split within @len, every field is checked
 * before use, no more than TL_OPLIST_MAX entries are kept, and a kind
 * and prefix may appear once.
 */
int tl_oplist_parse(const char *s, size_t len, struct tl_oplist *l,
		    unsigned *line)
{
	const char *p = s, *end = s + len;
	unsigned ln = 0, *lines = NULL;
	int rc = 0;

	tl_oplist_free(l);
	lines = tl_calloc(TL_OPLIST_MAX, sizeof(*lines));
	if (!lines)
		return TL_ENOMEM;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		struct tl_op_entry ent;

		ln++;
		if (e > p && e[-1] == '\r')
			e--;
		if (e == p || *p == '#') {
			p = nl ? nl + 1 : end;
			continue;
		}
		rc = parse_line(p, e, &ent);
		if (rc == 0) {
			if (l->n < TL_OPLIST_MAX)
				lines[l->n] = ln;
			rc = append(l, &ent);
		}
		if (rc < 0)
			break;
		p = nl ? nl + 1 : end;
	}
	if (rc < 0)
		*line = ln;
	else
		rc = find_dup(l, lines, line);
	if (rc < 0)
		tl_oplist_free(l);
	tl_free(lines);
	return rc;
}

int tl_oplist_format(const struct tl_oplist *l, char **out, size_t *len)
{
	size_t cap = sizeof(FILE_HEADER) + l->n * (TL_OPLIST_REASON_MAX +
						   TL_OPLIST_WHO_MAX + 100);
	char *buf = tl_calloc(cap, 1);
	size_t o;
	size_t i;

	if (!buf)
		return TL_ENOMEM;
	o = (size_t)snprintf(buf, cap, "%s", FILE_HEADER);
	for (i = 0; i < l->n; i++) {
		const struct tl_op_entry *e = &l->e[i];
		char pfx[TL_PREFIX_STRLEN], exp[TL_DAY_STRLEN] = "-";

		tl_prefix_format(&e->pfx, pfx);
		if (e->expires != TL_OPLIST_NO_EXPIRY)
			tl_day_format(e->expires, exp);
		o += (size_t)snprintf(buf + o, cap - o,
				      "%s\t%s\t%" PRId64 "\t%s\t%s\t%s\n",
				      e->kind == TL_OP_LIST ? "list" : "allow",
				      pfx, e->added, exp, e->who, e->reason);
	}
	*out = buf;
	*len = o;
	return 0;
}

static int path_in(char *buf, size_t size, const char *dir, const char *name)
{
	int n = snprintf(buf, size, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= size ? TL_ETOOLONG : 0;
}

int tl_oplist_load(const char *dir, struct tl_oplist *l)
{
	char path[4096];
	struct stat sb;
	char *buf = NULL;
	size_t got = 0;
	unsigned line = 0;
	int fd, rc;

	tl_oplist_free(l);
	rc = path_in(path, sizeof(path), dir, TL_OPLIST_FILE);
	if (rc < 0)
		return rc;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &sb) < 0) {
		rc = -errno;
		goto out;
	}
	if ((uint64_t)sb.st_size > TL_OPLIST_FILE_MAX) {
		log_error("list", "%s: larger than %u bytes", path,
			  TL_OPLIST_FILE_MAX);
		rc = TL_ELIMIT;
		goto out;
	}
	buf = tl_calloc((size_t)sb.st_size + 1, 1);
	if (!buf) {
		rc = TL_ENOMEM;
		goto out;
	}
	while (got < (size_t)sb.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)sb.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			goto out;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	rc = tl_oplist_parse(buf, got, l, &line);
	if (rc < 0)
		log_error("list", "%s: line %u: %s", path, line,
			  rc == TL_ECORRUPT ? "malformed entry"
					    : tl_strerror(rc));
out:
	tl_free(buf);
	close(fd);
	return rc;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int tl_oplist_save(const char *dir, const struct tl_oplist *l)
{
	char path[4096], tmp[4096];
	char *text = NULL;
	size_t len;
	int fd = -1, dfd, rc;

	if ((rc = path_in(path, sizeof(path), dir, TL_OPLIST_FILE)) < 0 ||
	    (rc = path_in(tmp, sizeof(tmp), dir, TL_OPLIST_FILE ".tmp")) < 0)
		return rc;
	rc = tl_oplist_format(l, &text, &len);
	if (rc < 0)
		return rc;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	rc = write_all(fd, text, len);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
		goto out;
	}
	/* The rename is durable only once the directory is. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0)
		rc = -errno;
	if (dfd >= 0)
		close(dfd);
out:
	tl_free(text);
	return rc;
}

int tl_flock_open(const char *path, int oflags)
{
	int fd = open(path, oflags | O_CLOEXEC, 0644), rc;

	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			rc = -errno;
			close(fd);
			return rc;
		}
	}
	return fd;
}

int tl_oplist_lock(const char *dir, int *fd)
{
	char path[4096];
	int rc = path_in(path, sizeof(path), dir, TL_OPLIST_LOCK);

	*fd = -1;
	if (rc < 0)
		return rc;
	rc = tl_flock_open(path, O_RDWR | O_CREAT);
	if (rc < 0)
		return rc;
	*fd = rc;
	return 0;
}

void tl_oplist_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* drops the flock */
}

/* ---- intervals ----------------------------------------------------------- */

tl_u128 tl_iv_num(const struct tl_ip *ip)
{
	tl_u128 v = 0;
	size_t i;

	for (i = 0; i < tl_ip_size(ip); i++)
		v = v << 8 | ip->a[i];
	return v;
}

void tl_iv_ip(tl_u128 v, uint8_t family, struct tl_ip *ip)
{
	size_t n = family == 4 ? 4 : 16, i;

	memset(ip, 0, sizeof(*ip));
	ip->family = family;
	for (i = n; i-- > 0;) {
		ip->a[i] = (uint8_t)v;
		v >>= 8;
	}
}

void tl_iv_of_prefix(const struct tl_prefix *p, struct tl_iv *out)
{
	struct tl_ip last;

	tl_prefix_last(p, &last);
	out->lo = tl_iv_num(&p->ip);
	out->hi = tl_iv_num(&last);
	out->day = 0;
}

static int iv_cmp(const void *a, const void *b)
{
	const struct tl_iv *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->hi < y->hi ? -1 : x->hi > y->hi;
}

size_t tl_iv_union(struct tl_iv *v, size_t n)
{
	size_t i, o = 0;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), iv_cmp);
	for (i = 1; i < n; i++) {
		struct tl_iv *cur = &v[o];

		/* Overlapping or adjacent (cur->hi + 1 would wrap only when
		 * cur reaches the top, which then covers v[i] anyway). */
		if (v[i].lo <= cur->hi || v[i].lo - 1 == cur->hi) {
			if (v[i].hi > cur->hi)
				cur->hi = v[i].hi;
			if (v[i].day < cur->day)
				cur->day = v[i].day;
		} else {
			v[++o] = v[i];
		}
	}
	return o + 1;
}

size_t tl_iv_subtract(const struct tl_iv *a, size_t na, const struct tl_iv *b,
		      size_t nb, struct tl_iv *out)
{
	size_t i, j = 0, o = 0;

	for (i = 0; i < na; i++) {
		tl_u128 lo = a[i].lo;
		bool left = true; /* part of a[i] from lo on still to emit */

		while (j < nb && b[j].hi < lo)
			j++;
		while (j < nb && b[j].lo <= a[i].hi) {
			if (b[j].lo > lo) {
				out[o] = a[i];
				out[o].lo = lo;
				out[o++].hi = b[j].lo - 1;
			}
			if (b[j].hi >= a[i].hi) {
				left = false; /* b[j] may cover a[i + 1] too */
				break;
			}
			lo = b[j].hi + 1;
			j++;
		}
		if (left) {
			out[o] = a[i];
			out[o++].lo = lo;
		}
	}
	return o;
}

int64_t tl_iv_find(const struct tl_iv *v, size_t n, tl_u128 x)
{
	size_t lo = 0, hi = n;

	/* The first interval with lo > x; the one before may hold x. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].lo <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || v[lo - 1].hi < x)
		return -1;
	return (int64_t)(lo - 1);
}

unsigned tl_iv_cidr(tl_u128 lo, tl_u128 hi, unsigned bits)
{
	unsigned len = bits;

	/* Grow the block while lo stays aligned and its end stays <= hi. */
	while (len > 0) {
		unsigned host = bits - len + 1;
		tl_u128 size;

		if (host >= 128)
			break;
		size = (tl_u128)1 << host;
		if ((lo & (size - 1)) != 0 || lo + (size - 1) > hi)
			break;
		len--;
	}
	/* ::/0, whose size does not fit in 128 bits. */
	if (len == 1 && bits == 128 && lo == 0 && hi == ~(tl_u128)0)
		return 0;
	return len;
}

/* ---- compiling and asking ------------------------------------------------ */

static int fam_index(uint8_t family)
{
	return family == 4 ? 0 : 1;
}

int tl_oplist_compile(struct tl_oplist *l, tl_day today)
{
	struct tl_iv *op = NULL, *al = NULL, *out = NULL;
	size_t i, nop, nal;
	int f, rc = 0;

	uncompile(l);
	for (f = 0; f < 2; f++) {
		uint8_t family = f == 0 ? 4 : 6;

		op = tl_calloc(l->n + 1, sizeof(*op));
		al = tl_calloc(l->n + 1, sizeof(*al));
		if (!op || !al) {
			rc = TL_ENOMEM;
			goto fail;
		}
		nop = nal = 0;
		for (i = 0; i < l->n; i++) {
			const struct tl_op_entry *e = &l->e[i];
			struct tl_iv iv;

			if (e->pfx.ip.family != family || e->expires <= today)
				continue;
			tl_iv_of_prefix(&e->pfx, &iv);
			iv.day = tl_day_from_time(e->added);
			if (e->kind == TL_OP_LIST)
				op[nop++] = iv;
			else
				al[nal++] = iv;
		}
		nal = tl_iv_union(al, nal);
		l->allow[f] = al;
		l->nallow[f] = nal;
		al = NULL;
		nop = tl_iv_union(op, nop);
		/* RFC 5782 section 5: 127.0.0.1 is never listed, so it is
		 * cut out of operator listings like an allowlist entry. */
		if (family == 4) {
			struct tl_iv tp = {0x7f000001, 0x7f000001, 0};
			struct tl_iv *both = tl_calloc(l->nallow[f] + 1,
						       sizeof(*both));

			if (!both) {
				rc = TL_ENOMEM;
				goto fail;
			}
			memcpy(both, l->allow[f], l->nallow[f] * sizeof(*both));
			both[l->nallow[f]] = tp;
			nal = tl_iv_union(both, l->nallow[f] + 1);
			out = tl_calloc(nop + nal + 1, sizeof(*out));
			if (out)
				nop = tl_iv_subtract(op, nop, both, nal, out);
			tl_free(both);
		} else {
			out = tl_calloc(nop + nal + 1, sizeof(*out));
			if (out)
				nop = tl_iv_subtract(op, nop, l->allow[f], nal,
						     out);
		}
		if (!out) {
			rc = TL_ENOMEM;
			goto fail;
		}
		tl_free(op);
		op = NULL;
		l->op[f] = out;
		l->nop[f] = nop;
		out = NULL;
	}
	l->compiled = true;
	return 0;
fail:
	tl_free(op);
	tl_free(al);
	tl_free(out);
	uncompile(l);
	return rc;
}

bool tl_oplist_listed(const struct tl_oplist *l, const struct tl_ip *ip,
		      tl_day *day)
{
	int f = fam_index(ip->family);
	int64_t at;

	if (!l || !l->compiled || !l->nop[f])
		return false;
	at = tl_iv_find(l->op[f], l->nop[f], tl_iv_num(ip));
	if (at < 0)
		return false;
	if (day)
		*day = l->op[f][at].day;
	return true;
}

bool tl_oplist_allowed(const struct tl_oplist *l, const struct tl_ip *ip)
{
	int f = fam_index(ip->family);

	if (!l || !l->compiled || !l->nallow[f])
		return false;
	return tl_iv_find(l->allow[f], l->nallow[f], tl_iv_num(ip)) >= 0;
}

const struct tl_op_entry *tl_oplist_match(const struct tl_oplist *l,
					  uint8_t kind, const struct tl_ip *ip,
					  tl_day today)
{
	const struct tl_op_entry *best = NULL;
	size_t i;

	if (!l)
		return NULL;
	for (i = 0; i < l->n; i++) {
		const struct tl_op_entry *e = &l->e[i];

		if (e->kind != kind || e->expires <= today ||
		    !tl_prefix_contains(&e->pfx, ip))
			continue;
		if (!best || e->pfx.len > best->pfx.len)
			best = e;
	}
	return best;
}
