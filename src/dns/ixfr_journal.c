/* SPDX-License-Identifier: MIT */
/* ixfr_journal.c -- the IXFR journal: the difference between successive
 * snapshots, one file per zone (format in xfr_int.h)
 *
 * Written only by the thread that reloads, read by the workers that
 * answer IXFR. A reader opens the file and copies the index of the
 * records it needs under the mutex; the writer only appends past what
 * the index says, or writes a new file and renames it over the old one
 * (trimming, resetting), so an open reader never sees bytes move.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "be.h"
#include "trapline/alloc.h"
#include "trapline/err.h"
#include "trapline/log.h"
#include "xfr_int.h"

#define WBUF 65536 /* bytes buffered by the writer */

/* ---- the file --------------------------------------------------------- */

static int write_all(int fd, const void *p, size_t n, uint64_t off)
{
	const uint8_t *q = p;

	while (n) {
		ssize_t w = pwrite(fd, q, n, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : TL_EIO;
		q += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

static void file_header(uint8_t *h, uint32_t tag)
{
	memcpy(h, IXFR_FILE_MAGIC, 8);
	put32(h + 8, tag);
	put32(h + 12, ixfr_crc(h, 12));
}

/*
 * Write a new journal holding the records @keep.. of @j's file (copied
 * as they are) and rename it over the old one. Under j->mu. @first == j->n:
 * an empty journal.
 */
static int rewrite(struct ixfr_journal *j, size_t first)
{
	char tmp[4300];
	uint8_t h[IXFR_FILE_HDR], *buf = NULL;
	uint64_t off = IXFR_FILE_HDR, from, end;
	int in = -1, out, rc;
	size_t i;

	snprintf(tmp, sizeof(tmp), "%s.tmp", j->path);
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0)
		return -errno;
	file_header(h, j->tag);
	rc = write_all(out, h, sizeof(h), 0);
	if (rc == 0 && first < j->n) {
		in = open(j->path, O_RDONLY | O_CLOEXEC);
		buf = tl_calloc(1, WBUF);
		if (in < 0 || !buf)
			rc = in < 0 ? -errno : TL_ENOMEM;
		from = j->recs[first].off - IXFR_REC_HDR;
		end = j->recs[j->n - 1].off + j->recs[j->n - 1].body_len;
		while (rc == 0 && from < end) {
			size_t want = end - from > WBUF ? WBUF : end - from;
			ssize_t r = pread(in, buf, want, (off_t)from);

			if (r <= 0) {
				rc = r < 0 ? -errno : TL_EIO;
				break;
			}
			rc = write_all(out, buf, (size_t)r, off);
			from += (uint64_t)r;
			off += (uint64_t)r;
		}
	}
	if (rc == 0 && fdatasync(out) < 0)
		rc = -errno;
	if (close(out) < 0 && rc == 0)
		rc = -errno;
	if (in >= 0)
		close(in);
	tl_free(buf);
	if (rc == 0 && rename(tmp, j->path) < 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
		return rc;
	}
	/* The kept records moved up by what was dropped. */
	if (first < j->n) {
		uint64_t shift = j->recs[first].off - IXFR_REC_HDR -
				 IXFR_FILE_HDR;

		for (i = first; i < j->n; i++) {
			j->recs[i - first] = j->recs[i];
			j->recs[i - first].off -= shift;
		}
	}
	j->n -= first;
	j->size = off;
	return 0;
}

int ixfr_journal_open(struct ixfr_journal *j, const char *path, uint32_t tag,
		      unsigned keep, uint64_t max_bytes)
{
	struct ixfr_scan s;
	struct stat st;
	void *map;
	int fd, rc;

	memset(j, 0, sizeof(*j));
	pthread_mutex_init(&j->mu, NULL);
	snprintf(j->path, sizeof(j->path), "%s", path);
	j->tag = tag;
	j->keep = keep ? keep : 1;
	j->max_bytes = max_bytes;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			return -errno;
		return rewrite(j, 0);
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	if (st.st_size < IXFR_FILE_HDR) {
		close(fd);
		log_warn("dns", "%s: too short to be a journal; starting a "
			 "new one (IXFR clients get the whole zone)", path);
		return rewrite(j, 0);
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return -errno;
	rc = ixfr_journal_scan(map, (size_t)st.st_size, tag, &s);
	munmap(map, (size_t)st.st_size);
	if (rc == TL_ECORRUPT) {
		log_warn("dns", "%s: damaged (%s): refused, starting a new "
			 "journal (IXFR clients get the whole zone)", path,
			 s.why);
		return rewrite(j, 0);
	}
	if (rc < 0)
		return rc;
	j->recs = s.recs;
	j->n = s.n;
	j->size = s.good_len;
	if (s.cut) {
		log_warn("dns", "%s: the last change stops short (a crash "
			 "while writing?): cut at byte %zu", path, s.good_len);
		if (truncate(path, (off_t)s.good_len) < 0)
			return -errno;
	}
	if (j->n)
		log_info("dns", "%s: %zu changes, serials %u to %u", path, j->n,
			 j->recs[0].from, j->recs[j->n - 1].to);
	return 0;
}

void ixfr_journal_close(struct ixfr_journal *j)
{
	tl_free(j->recs);
	j->recs = NULL;
	j->n = 0;
	pthread_mutex_destroy(&j->mu);
}

/* ---- appending the difference of two snapshots ------------------------- */

struct jw {
	int fd;
	uint64_t off;   /* where the next buffered byte goes */
	uint8_t *buf;
	size_t len;
	uLong crc;
	uint64_t bytes, max; /* body bytes written, allowed */
	int err;
};

static void jw_flush(struct jw *w)
{
	if (w->err || !w->len)
		return;
	w->err = write_all(w->fd, w->buf, w->len, w->off);
	w->off += w->len;
	w->len = 0;
}

static void jw_rr(struct jw *w, const struct xfr_name *n, uint16_t type,
		  uint32_t ttl, const uint8_t *rd, size_t rdlen)
{
	struct ixfr_rr rr = {n->rel, n->rel_len, type, ttl, rd, rdlen};
	size_t k;

	if (w->err)
		return;
	if (WBUF - w->len < 1 + DNS_NAME_MAX + 8 + XFR_RDATA_MAX)
		jw_flush(w);
	k = ixfr_rr_write(w->buf + w->len, WBUF - w->len, &rr);
	if (!k) {
		w->err = TL_EINVAL;
		return;
	}
	w->crc = crc32(w->crc, w->buf + w->len, (uInt)k);
	w->len += k;
	w->bytes += k;
	if (w->bytes > w->max)
		w->err = TL_ELIMIT;
}

/* The records of @n in @codes (and TXT when @txt). */
static uint64_t jw_name(struct jw *w, const struct dnsbl_zones *z,
			const struct xfr_name *n, unsigned codes, bool txt)
{
	uint64_t c = 0;
	unsigned b;

	for (b = 0; b < 6; b++)
		if (codes & (1u << b)) {
			uint8_t a[4] = {127, 0, 0, snap_code_octet(b)};

			jw_rr(w, n, DNS_TYPE_A, z->ttl, a, 4);
			c++;
		}
	if (txt) {
		jw_rr(w, n, DNS_TYPE_TXT, z->ttl, n->txt, n->txt_len);
		c++;
	}
	return c;
}

static bool is_test_point(const struct tl_ip *ip)
{
	return ip->family == 4 && tl_ip_v4(ip) == 0x7f000002;
}

/* Range names in the order snap_rnames_next gives them: first address,
 * then prefix length. */
static int rname_cmp(const struct snap_rname *a, const struct snap_rname *b)
{
	int c = memcmp(a->name.ip.a, b->name.ip.a, sizeof(a->name.ip.a));

	return c ? c : (int)a->name.len - (int)b->name.len;
}

/*
 * The same for the names of the operator ranges of @fam: one merge walk
 * of both snapshots' range names (streamed, like the addresses). A name
 * whose records differ (its TXT: the block or the days) is deleted and
 * added whole.
 */
static uint64_t range_pass(struct jw *w, const struct dnsbl_zones *z,
			   const struct snap *old, const struct snap *cur,
			   uint8_t fam, bool adding, struct xfr_name *a,
			   struct xfr_name *b)
{
	struct snap_rname_iter io, ic;
	struct snap_rname ro, rc;
	uint64_t count = 0;
	bool ho, hc;

	snap_rnames_start(&io, old, fam);
	snap_rnames_start(&ic, cur, fam);
	ho = snap_rnames_next(&io, &ro);
	hc = snap_rnames_next(&ic, &rc);
	while ((ho || hc) && !w->err) {
		int cmp = !ho ? 1 : !hc ? -1 : rname_cmp(&ro, &rc);

		if (cmp < 0) { /* gone */
			if (!adding) {
				xfr_rname_render(z, &ro, a);
				count += jw_name(w, z, a, a->codes, true);
			}
			ho = snap_rnames_next(&io, &ro);
		} else if (cmp > 0) { /* new */
			if (adding) {
				xfr_rname_render(z, &rc, b);
				count += jw_name(w, z, b, b->codes, true);
			}
			hc = snap_rnames_next(&ic, &rc);
		} else {
			xfr_rname_render(z, &ro, a);
			xfr_rname_render(z, &rc, b);
			if (a->codes != b->codes || a->txt_len != b->txt_len ||
			    memcmp(a->txt, b->txt, a->txt_len) != 0) {
				struct xfr_name *n = adding ? b : a;

				count += jw_name(w, z, n, n->codes, true);
			}
			ho = snap_rnames_next(&io, &ro);
			hc = snap_rnames_next(&ic, &rc);
		}
	}
	return count;
}

/*
 * One merge walk over the listed addresses of @old and @cur, writing the
 * records that go (@adding false: from @old) or come (@adding true: from
 * @cur). Returns the count of records written.
 */
static uint64_t diff_pass(struct jw *w, const struct dnsbl_zones *z,
			  const struct snap *old, const struct snap *cur,
			  bool adding)
{
	static const uint8_t fams[2] = {4, 6};
	struct xfr_name *a = tl_calloc(2, sizeof(*a)), *b;
	uint64_t count = 0;
	unsigned f;

	if (!a) {
		w->err = TL_ENOMEM;
		return 0;
	}
	b = a + 1;
	for (f = 0; f < 2 && !w->err; f++) {
		uint64_t i = 0, k = 0, no = snap_count(old, fams[f]),
			 nc = snap_count(cur, fams[f]);
		struct snap_listing lo, lc;
		struct tl_ip io, ic;

		while ((i < no || k < nc) && !w->err) {
			int cmp;

			if (i < no)
				snap_listed_at(old, fams[f], i, &io, &lo);
			if (k < nc)
				snap_listed_at(cur, fams[f], k, &ic, &lc);
			cmp = i >= no ? 1 : k >= nc ? -1
				  : memcmp(io.a, ic.a, sizeof(io.a));
			if (cmp < 0) { /* gone */
				if (!adding && !is_test_point(&io)) {
					xfr_name_render(z, &io, &lo, false,
							false, a);
					count += jw_name(w, z, a, a->codes,
							 true);
				}
				i++;
			} else if (cmp > 0) { /* new */
				if (adding && !is_test_point(&ic)) {
					xfr_name_render(z, &ic, &lc, false,
							false, a);
					count += jw_name(w, z, a, a->codes,
							 true);
				}
				k++;
			} else {
				if ((lo.codes != lc.codes ||
				     lo.first != lc.first ||
				     lo.last != lc.last) &&
				    !is_test_point(&io)) {
					bool txt;

					xfr_name_render(z, &io, &lo, false,
							false, a);
					xfr_name_render(z, &ic, &lc, false,
							false, b);
					txt = a->txt_len != b->txt_len ||
					      memcmp(a->txt, b->txt,
						     a->txt_len) != 0;
					if (adding)
						count += jw_name(w, z, b,
							b->codes & ~a->codes,
							txt);
					else
						count += jw_name(w, z, a,
							a->codes & ~b->codes,
							txt);
				}
				i++;
				k++;
			}
		}
		count += range_pass(w, z, old, cur, fams[f], adding, a, b);
	}
	tl_free(a);
	return count;
}

int ixfr_journal_append(struct ixfr_journal *j, const struct dnsbl_zones *z,
			const struct snap *old, const struct snap *cur)
{
	struct snap_info io, ic;
	struct jw w = {0};
	uint8_t h[IXFR_REC_HDR];
	uint64_t ndel, nadd, start;
	size_t first;
	int rc;

	snap_get_info(old, &io);
	snap_get_info(cur, &ic);
	if (io.serial == ic.serial)
		return 0;
	pthread_mutex_lock(&j->mu);
	if (!dns_serial_gt(ic.serial, io.serial) ||
	    (j->n && j->recs[j->n - 1].to != io.serial)) {
		/* The chain breaks here: what came before cannot lead
		 * to this serial. */
		rc = rewrite(j, j->n);
		if (rc < 0)
			goto out;
	}
	pthread_mutex_unlock(&j->mu);
	if (!dns_serial_gt(ic.serial, io.serial)) {
		log_warn("dns", "serial %u does not follow %u (RFC 1982): "
			 "IXFR journal reset", ic.serial, io.serial);
		return 0;
	}
	/* Only this thread writes: past j->size nobody reads. */
	start = j->size;
	w.fd = open(j->path, O_WRONLY | O_CLOEXEC);
	w.buf = tl_calloc(1, WBUF);
	if (w.fd < 0 || !w.buf) {
		rc = w.fd < 0 ? -errno : TL_ENOMEM;
		goto fail;
	}
	w.off = start + IXFR_REC_HDR;
	w.crc = crc32(0, NULL, 0);
	w.max = j->max_bytes > IXFR_FILE_HDR + IXFR_REC_HDR
			? j->max_bytes - IXFR_FILE_HDR - IXFR_REC_HDR
			: 0;
	ndel = diff_pass(&w, z, old, cur, false);
	nadd = diff_pass(&w, z, old, cur, true);
	jw_flush(&w);
	rc = w.err;
	if (rc == TL_ELIMIT) {
		log_warn("dns", "%s: the change from serial %u to %u passes "
			 "ixfr_max_size: not journalled (IXFR clients get the "
			 "whole zone)", j->path, io.serial, ic.serial);
		goto fail;
	}
	if (rc < 0)
		goto fail;
	put32(h, IXFR_REC_MAGIC);
	put32(h + 4, IXFR_REC_VERSION);
	put32(h + 8, io.serial);
	put32(h + 12, ic.serial);
	put64(h + 16, ndel);
	put64(h + 24, nadd);
	put64(h + 32, w.bytes);
	put32(h + 40, (uint32_t)w.crc);
	put32(h + 44, ixfr_crc(h, 44));
	rc = write_all(w.fd, h, sizeof(h), start);
	if (rc == 0 && fdatasync(w.fd) < 0)
		rc = -errno;
	if (rc < 0)
		goto fail;
	close(w.fd);
	tl_free(w.buf);
	pthread_mutex_lock(&j->mu);
	{
		struct ixfr_rec *n = tl_reallocarray(j->recs, j->n + 1,
						     sizeof(*n));

		if (!n) {
			rc = TL_ENOMEM;
			rewrite(j, j->n);
			goto out;
		}
		j->recs = n;
		j->recs[j->n++] = (struct ixfr_rec){io.serial, ic.serial,
			start + IXFR_REC_HDR, w.bytes, ndel, nadd};
		j->size = start + IXFR_REC_HDR + w.bytes;
	}
	/* Keep the last [dns] ixfr_keep changes within ixfr_max_size. */
	for (first = 0; first < j->n; first++)
		if (j->n - first <= j->keep &&
		    j->size - (j->recs[first].off - IXFR_REC_HDR) +
				    IXFR_FILE_HDR <= j->max_bytes)
			break;
	if (first)
		rc = rewrite(j, first);
	log_info("dns", "IXFR journal: serial %u to %u, %llu records out, "
		 "%llu in; %zu changes kept", io.serial, ic.serial,
		 (unsigned long long)ndel, (unsigned long long)nadd, j->n);
out:
	pthread_mutex_unlock(&j->mu);
	return rc;
fail:
	if (w.fd >= 0) {
		/* Past every record a reader knows of: safe to cut. */
		if (ftruncate(w.fd, (off_t)start) < 0)
			rc = rc ? rc : -errno;
		close(w.fd);
	}
	tl_free(w.buf);
	pthread_mutex_lock(&j->mu);
	if (rc != TL_ELIMIT)
		log_error("dns", "%s: %s: IXFR journal reset", j->path,
			  tl_strerror(rc));
	rewrite(j, j->n);
	pthread_mutex_unlock(&j->mu);
	return rc;
}

int ixfr_journal_chain(struct ixfr_journal *j, uint32_t from, uint32_t to,
		       struct ixfr_rec **chain, size_t *n, int *fd)
{
	size_t i, k;
	int rc = TL_ENOENT;

	*chain = NULL;
	*n = 0;
	*fd = -1;
	pthread_mutex_lock(&j->mu);
	for (i = 0; i < j->n; i++)
		if (j->recs[i].from == from)
			break;
	/* The records chain (checked on load and append): from i on they
	 * lead to the newest; it must be @to. */
	if (i == j->n || j->recs[j->n - 1].to != to)
		goto out;
	k = j->n - i;
	*chain = tl_calloc(k, sizeof(**chain));
	if (!*chain) {
		rc = TL_ENOMEM;
		goto out;
	}
	memcpy(*chain, j->recs + i, k * sizeof(**chain));
	*fd = open(j->path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0) {
		rc = -errno;
		tl_free(*chain);
		*chain = NULL;
		goto out;
	}
	*n = k;
	rc = 0;
out:
	pthread_mutex_unlock(&j->mu);
	return rc;
}
