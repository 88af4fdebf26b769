/* SPDX-License-Identifier: MIT */
/* journal.c -- append-only, checksummed segment files of event frames
 *
 * A segment is "TLJOURN1", its number, then frames. A frame is a magic
 * word, the payload length and a CRC-32 of both (zlib), then the payload:
 * events in journal_event_encode form. Frames are written with write(2)
 * and made durable by fdatasync(2) at each group commit; a crash can only
 * leave a partial frame at the very end, which replay cuts off.
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "tl_limits.h"
#include "store_int.h"
#include "trapline/alloc.h"
#include "trapline/err.h"
#include "trapline/log.h"

#define SEG_MAGIC "TLJOURN1"
#define FRAME_MAGIC 0x46504c54u /* "TLPF" little-endian */

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void seg_name(char *buf, size_t size, uint64_t segno)
{
	snprintf(buf, size, "%016" PRIx64 ".tlj", segno);
}

static bool parse_seg_name(const char *name, uint64_t *segno)
{
	char *end;

	if (strlen(name) != 20 || strcmp(name + 16, ".tlj") != 0)
		return false;
	*segno = strtoull(name, &end, 16);
	return end == name + 16;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Segment numbers in @dirfd, sorted; caller frees. */
static int list_segments(int dirfd, uint64_t **out, size_t *n)
{
	DIR *d;
	struct dirent *e;
	uint64_t *v = NULL, *nv, s;
	size_t len = 0, cap = 0;
	int fd = dup(dirfd);

	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	rewinddir(d);
	while ((e = readdir(d)) != NULL) {
		if (!parse_seg_name(e->d_name, &s))
			continue;
		if (len == cap) {
			cap = cap ? cap * 2 : 16;
			nv = tl_reallocarray(v, cap, sizeof(*v));
			if (!nv) {
				tl_free(v);
				closedir(d);
				return TL_ENOMEM;
			}
			v = nv;
		}
		v[len++] = s;
	}
	closedir(d);
	if (len)
		qsort(v, len, sizeof(*v), cmp_u64);
	*out = v;
	*n = len;
	return 0;
}

static int open_dir(const char *dir)
{
	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		return -errno;
	return open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static int new_segment(struct journal *j, uint64_t segno)
{
	uint8_t hdr[JOURNAL_SEG_HEADER];
	char name[32];
	int fd, i;

	seg_name(name, sizeof(name), segno);
	fd = openat(j->dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0640);
	if (fd < 0)
		return -errno;
	memcpy(hdr, SEG_MAGIC, 8);
	for (i = 0; i < 8; i++)
		hdr[8 + i] = (uint8_t)(segno >> (8 * i));
	errno = 0;
	if (write(fd, hdr, sizeof(hdr)) != (ssize_t)sizeof(hdr) ||
	    fdatasync(fd) < 0 || fsync(j->dirfd) < 0) {
		int rc = errno ? -errno : TL_EIO;

		close(fd);
		return rc;
	}
	if (j->fd >= 0)
		close(j->fd);
	j->fd = fd;
	j->segno = segno;
	j->size = JOURNAL_SEG_HEADER;
	j->synced = j->size;
	return 0;
}

int journal_open(struct journal *j, const char *dir, struct jpos tail)
{
	char name[32];
	int rc;

	j->fd = -1;
	j->dirfd = open_dir(dir);
	if (j->dirfd < 0)
		return -errno;
	if (tail.segno == 0 || tail.offset >= TL_JOURNAL_SEGMENT_MAX)
		return new_segment(j, tail.segno + 1);
	seg_name(name, sizeof(name), tail.segno);
	j->fd = openat(j->dirfd, name, O_WRONLY | O_CLOEXEC);
	if (j->fd < 0) {
		rc = -errno;
		if (rc == TL_ENOENT)
			return new_segment(j, tail.segno + 1);
		return rc;
	}
	if (lseek(j->fd, (off_t)tail.offset, SEEK_SET) < 0) {
		rc = -errno;
		close(j->fd);
		j->fd = -1;
		return rc;
	}
	j->segno = tail.segno;
	j->size = tail.offset;
	j->synced = tail.offset;
	return 0;
}

void journal_close(struct journal *j)
{
	if (j->fd >= 0)
		close(j->fd);
	if (j->dirfd >= 0)
		close(j->dirfd);
	j->fd = j->dirfd = -1;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int journal_append(struct journal *j, const uint8_t *payload, size_t len,
		   struct jpos *end)
{
	uint8_t hdr[JOURNAL_FRAME_HEADER];
	uLong crc;
	int rc;

	if (len == 0 || len > TL_JOURNAL_FRAME_MAX)
		return TL_EINVAL;
	if (j->size >= TL_JOURNAL_SEGMENT_MAX) {
		/* The old segment must be durable before we move on. */
		rc = journal_sync(j);
		if (rc == 0)
			rc = new_segment(j, j->segno + 1);
		if (rc < 0)
			return rc;
	}
	put_le32(hdr, FRAME_MAGIC);
	put_le32(hdr + 4, (uint32_t)len);
	crc = crc32(0L, hdr + 4, 4);
	crc = crc32(crc, payload, (uInt)len);
	put_le32(hdr + 8, (uint32_t)crc);
	rc = write_all(j->fd, hdr, sizeof(hdr));
	if (rc == 0)
		rc = write_all(j->fd, payload, len);
	if (rc < 0) {
		/* Cut back to the last whole frame so the file stays clean. */
		if (ftruncate(j->fd, (off_t)j->size) == 0)
			lseek(j->fd, (off_t)j->size, SEEK_SET);
		return rc;
	}
	j->size += sizeof(hdr) + len;
	end->segno = j->segno;
	end->offset = j->size;
	return 0;
}

int journal_sync(struct journal *j)
{
	if (j->synced == j->size)
		return 0;
	if (fdatasync(j->fd) < 0)
		return -errno;
	j->synced = j->size;
	return 0;
}

int journal_prune(struct journal *j, uint64_t segno)
{
	uint64_t *segs;
	size_t n, i;
	char name[32];
	int rc = list_segments(j->dirfd, &segs, &n);

	if (rc < 0)
		return rc;
	for (i = 0; i < n && segs[i] < segno; i++) {
		seg_name(name, sizeof(name), segs[i]);
		if (unlinkat(j->dirfd, name, 0) < 0 && errno != ENOENT)
			rc = -errno;
	}
	tl_free(segs);
	if (rc == 0 && i > 0 && fsync(j->dirfd) < 0)
		rc = -errno;
	return rc;
}

/* Read a whole segment file into memory; caller frees. */
static int read_segment(int dirfd, uint64_t segno, uint8_t **out, size_t *len)
{
	char name[32];
	struct stat st;
	uint8_t *buf;
	size_t got = 0;
	int fd, rc = 0;

	seg_name(name, sizeof(name), segno);
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* What we replay must be on disk before the history says it is
	 * applied: a writer killed mid-group leaves frames in the page cache
	 * that nobody synced (Linux syncs a read-only fd's file too). */
	if (fdatasync(fd) < 0 || fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if ((uint64_t)st.st_size > (uint64_t)TL_JOURNAL_SEGMENT_MAX +
					   TL_JOURNAL_FRAME_MAX + 4096) {
		rc = TL_ECORRUPT;
		goto out;
	}
	buf = tl_calloc(1, (size_t)st.st_size + 1);
	if (!buf) {
		rc = TL_ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : TL_EIO;
			tl_free(buf);
			goto out;
		}
		got += (size_t)n;
	}
	*out = buf;
	*len = got;
out:
	close(fd);
	return rc;
}

static int truncate_segment(int dirfd, uint64_t segno, uint64_t offset)
{
	char name[32];
	int fd, rc = 0;

	seg_name(name, sizeof(name), segno);
	fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)offset) < 0 || fdatasync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* Length of the whole, checksummed frame at @off of @buf, or 0. Reads
 * untrusted bytes: the length is checked against @len and the frame limit
 * before the checksum reads the payload. */
static uint32_t frame_at(const uint8_t *buf, size_t len, size_t off)
{
	uint32_t flen;
	uLong crc;

	if (len - off < JOURNAL_FRAME_HEADER ||
	    get_le32(buf + off) != FRAME_MAGIC)
		return 0;
	flen = get_le32(buf + off + 4);
	if (flen == 0 || flen > TL_JOURNAL_FRAME_MAX ||
	    flen > len - off - JOURNAL_FRAME_HEADER)
		return 0;
	crc = crc32(0L, buf + off + 4, 4);
	crc = crc32(crc, buf + off + JOURNAL_FRAME_HEADER, flen);
	return (uint32_t)crc == get_le32(buf + off + 8) ? flen : 0;
}

/* Is there a whole, checksummed frame anywhere past @off? Then the bad
 * bytes at @off are damage, not a write cut short by a crash. */
static bool valid_frame_after(const uint8_t *buf, size_t len, size_t off)
{
	size_t p;

	for (p = off + 1; p + JOURNAL_FRAME_HEADER <= len; p++)
		if (frame_at(buf, len, p))
			return true;
	return false;
}

int journal_replay(const char *dir, struct jpos from, journal_frame_fn fn,
		   void *ctx, struct jpos *tail)
{
	uint64_t *segs = NULL;
	size_t nsegs = 0, i, len = 0, off;
	uint8_t *buf = NULL;
	int dirfd, rc;

	*tail = from;
	dirfd = open_dir(dir);
	if (dirfd < 0)
		return -errno;
	rc = list_segments(dirfd, &segs, &nsegs);
	if (rc < 0)
		goto out;
	for (i = 0; i < nsegs; i++) {
		bool last = i + 1 == nsegs;

		if (segs[i] < from.segno)
			continue;
		rc = read_segment(dirfd, segs[i], &buf, &len);
		if (rc < 0)
			goto out;
		if (len < JOURNAL_SEG_HEADER ||
		    memcmp(buf, SEG_MAGIC, 8) != 0) {
			if (last && len < JOURNAL_SEG_HEADER) {
				/* Created but its header never landed. */
				tl_free(buf);
				buf = NULL;
				rc = truncate_segment(dirfd, segs[i], 0);
				break;
			}
			log_error("journal", "%s: segment %016" PRIx64
				  " has a bad header", dir, segs[i]);
			rc = TL_ECORRUPT;
			goto out;
		}
		off = segs[i] == from.segno && from.offset > JOURNAL_SEG_HEADER
			      ? (size_t)from.offset
			      : JOURNAL_SEG_HEADER;
		if (off > len) {
			log_error("journal", "%s: applied position %" PRIu64
				  " is past the end of segment %016" PRIx64,
				  dir, from.offset, segs[i]);
			rc = TL_ECORRUPT;
			goto out;
		}
		tail->segno = segs[i];
		tail->offset = off;
		while (off < len) {
			uint32_t flen = frame_at(buf, len, off);

			if (flen == 0) {
				if (last && valid_frame_after(buf, len, off)) {
					log_error("journal", "%s: segment %016"
						  PRIx64 " corrupt at offset %zu,"
						  " with whole frames after it",
						  dir, segs[i], off);
					rc = TL_ECORRUPT;
					goto out;
				}
				if (!last) {
					log_error("journal", "%s: segment %016"
						  PRIx64 " corrupt at offset %zu",
						  dir, segs[i], off);
					rc = TL_ECORRUPT;
					goto out;
				}
				log_warn("journal", "%s: cutting an unfinished "
					 "write (%zu bytes) from the end of "
					 "segment %016" PRIx64, dir, len - off,
					 segs[i]);
				rc = truncate_segment(dirfd, segs[i], off);
				goto out;
			}
			off += JOURNAL_FRAME_HEADER + flen;
			tail->offset = off;
			rc = fn(buf + off - flen, flen, *tail, ctx);
			if (rc != 0)
				goto out;
		}
		tl_free(buf);
		buf = NULL;
	}
	rc = 0;
out:
	tl_free(buf);
	tl_free(segs);
	close(dirfd);
	return rc;
}

static size_t put_str(uint8_t *p, const char *s)
{
	size_t n = strlen(s);

	if (n > 255)
		n = 255;
	p[0] = (uint8_t)n;
	memcpy(p + 1, s, n);
	return n + 1;
}

size_t journal_event_encode(const struct tl_event *ev, uint8_t *buf)
{
	uint8_t *p = buf;
	unsigned i;

	*p++ = 1; /* record type: event */
	p += varint_put(p, (uint64_t)ev->time);
	*p++ = ev->ip.family;
	memcpy(p, ev->ip.a, tl_ip_size(&ev->ip));
	p += tl_ip_size(&ev->ip);
	*p++ = ev->kind;
	p += varint_put(p, ev->count);
	p += varint_put(p, ev->rcpts);
	p += varint_put(p, ev->size);
	*p++ = ev->ntags;
	for (i = 0; i < ev->ntags; i++)
		p += put_str(p, ev->tags[i]);
	p += put_str(p, ev->sensor);
	p += put_str(p, ev->helo);
	p += put_str(p, ev->from);
	return (size_t)(p - buf);
}

static void get_str(struct rd *r, char *dst, size_t size)
{
	uint8_t n = rd_u8(r);

	if (r->err || n >= size || (size_t)(r->end - r->p) < n) {
		r->err = true;
		r->p = r->end;
		dst[0] = '\0';
		return;
	}
	memcpy(dst, r->p, n);
	dst[n] = '\0';
	r->p += n;
}

void journal_event_decode(struct rd *r, struct tl_event *ev)
{
	char tag[TL_EVENT_TAGLEN];
	uint64_t v;
	unsigned i, ntags;

	tl_event_init(ev);
	if (rd_u8(r) != 1)
		goto bad;
	v = rd_varint(r);
	if (v > ((uint64_t)TL_DAY_MAX + 1) * 86400)
		goto bad;
	ev->time = (int64_t)v;
	ev->ip.family = rd_u8(r);
	if ((ev->ip.family != 4 && ev->ip.family != 6) ||
	    (size_t)(r->end - r->p) < tl_ip_size(&ev->ip))
		goto bad;
	memcpy(ev->ip.a, r->p, tl_ip_size(&ev->ip));
	r->p += tl_ip_size(&ev->ip);
	ev->kind = rd_u8(r);
	if (ev->kind >= TL_KIND_COUNT)
		goto bad;
	v = rd_varint(r);
	if (v == 0 || v > TL_EVENT_COUNT_MAX)
		goto bad;
	ev->count = (uint32_t)v;
	v = rd_varint(r);
	ev->rcpts = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
	ev->size = rd_varint(r);
	ntags = rd_u8(r);
	if (ntags > TL_EVENT_TAGS)
		goto bad;
	for (i = 0; i < ntags; i++) {
		get_str(r, tag, sizeof(tag));
		if (r->err || tl_event_add_tag(ev, tag, strlen(tag)) < 0)
			goto bad;
	}
	get_str(r, ev->sensor, sizeof(ev->sensor));
	get_str(r, ev->helo, sizeof(ev->helo));
	get_str(r, ev->from, sizeof(ev->from));
	if (!r->err)
		return;
bad:
	r->err = true;
	r->p = r->end;
}
