/* SPDX-License-Identifier: MIT */
/* follow.c -- following growing logs and mailboxes, as tail -F does
 *
 * A followed file is read to its end and then looked at every
 * TL_FOLLOW_POLL_MS. Log rotation comes in two kinds and both are seen:
 * by rename (the path names a new file: the old one is read to its end,
 * then the new one from its start) and by truncation (copytruncate: the
 * file is shorter than what was read: read it again from its start).
 *
 * A file truncated and written again to the same length or more within
 * one poll is told by its first bytes: what was read from its start is
 * remembered (HEAD_BYTES) and compared when the file changed but did not
 * grow.
 *
 * Where reading got to is kept in DATA/follow/, written after each group
 * commit (so it never runs ahead of what is durable) and only where no
 * record is half read; a restart on the same file (same device and inode,
 * not shorter) goes on from there instead of taking the file again.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ingest_int.h"
#include "tl_limits.h"
#include "trapline/alloc.h"
#include "trapline/err.h"
#include "trapline/log.h"

#define HEAD_BYTES 64 /* first bytes of a file that identify its content */

struct ingest_follow {
	struct tl_store *s;
	struct ingest_opts o;   /* copy: the caller's may go away */
	struct ingest_stats *st;
	struct ingest_reader *r;
	char path[4096];        /* the file followed */
	char posfile[4096];     /* where its position is kept, or "" */
	int fd;                 /* -1 while the file is missing */
	dev_t dev;              /* the file open now */
	ino_t ino;
	off_t off;              /* bytes read from it */
	off_t saved;            /* position last written to posfile */
	uint64_t last_data_ms;  /* when bytes last came */
	bool open_record;       /* a record may be half read (mbox) */
	bool resumed;           /* the saved position was tried */
	bool missing_said;      /* "waiting for FILE" logged */
	struct timespec mtime;  /* when the file last changed, as seen */
	char head[HEAD_BYTES];  /* its first bytes, as read */
	size_t headlen;         /* bytes held in head */
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* FNV-1a: of the path, to name its position file; of a file's first
 * bytes, to know it again. */
static uint64_t fnv1a(const char *s, size_t len)
{
	uint64_t h = 14695981039346656037ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* Read the file's first bytes (up to HEAD_BYTES, at most what was read)
 * into @buf. Returns how many. */
static size_t read_head(int fd, off_t upto, char *buf)
{
	size_t want = upto < HEAD_BYTES ? (size_t)upto : HEAD_BYTES;
	ssize_t n = pread(fd, buf, want, 0);

	return n > 0 ? (size_t)n : 0;
}

/* Keep the first bytes once they have been read. */
static void note_head(struct ingest_follow *f)
{
	if (f->headlen < HEAD_BYTES && f->off > (off_t)f->headlen)
		f->headlen = read_head(f->fd, f->off, f->head);
}

/* The file changed without growing: is its start still what was read? */
static bool head_changed(struct ingest_follow *f)
{
	char now[HEAD_BYTES];
	size_t n;

	if (!f->headlen)
		return false;
	n = read_head(f->fd, (off_t)f->headlen, now);
	return n != f->headlen || memcmp(now, f->head, n) != 0;
}

/* The saved position of this file, if it is still the same file. */
static off_t load_position(struct ingest_follow *f, const struct stat *sb)
{
	unsigned long long dev, ino, off, head;
	char line[4200], buf[HEAD_BYTES];
	FILE *fp;
	off_t pos = 0;

	if (!f->posfile[0])
		return 0;
	fp = fopen(f->posfile, "re");
	if (!fp)
		return 0;
	if (fgets(line, sizeof(line), fp) &&
	    strcmp(line, "trapline-follow 1\n") == 0 &&
	    fgets(line, sizeof(line), fp) &&
	    sscanf(line, "%llu %llu %llu %llx", &dev, &ino, &off, &head) == 4 &&
	    dev == (unsigned long long)sb->st_dev &&
	    ino == (unsigned long long)sb->st_ino &&
	    off <= (unsigned long long)sb->st_size &&
	    fnv1a(buf, read_head(f->fd, (off_t)off, buf)) == head)
		pos = (off_t)off;
	fclose(fp);
	return pos;
}

/* Write the position durably (write, fdatasync, rename). */
static void save_position(struct ingest_follow *f)
{
	char tmp[4200];
	off_t pos;
	FILE *fp;
	int n, ok;

	if (!f->posfile[0] || f->fd < 0 || f->open_record)
		return;
	pos = f->off - (off_t)ingest_reader_pending(f->r);
	if (pos == f->saved)
		return;
	n = snprintf(tmp, sizeof(tmp), "%s.tmp", f->posfile);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return;
	fp = fopen(tmp, "we");
	if (!fp)
		goto fail;
	fprintf(fp, "trapline-follow 1\n%llu %llu %llu %llx\n%s\n",
		(unsigned long long)f->dev, (unsigned long long)f->ino,
		(unsigned long long)pos,
		(unsigned long long)fnv1a(f->head, f->headlen < (size_t)pos
							 ? f->headlen
							 : (size_t)pos),
		f->path);
	ok = fflush(fp) == 0 && fdatasync(fileno(fp)) == 0;
	ok = (fclose(fp) == 0) && ok;
	if (!ok || rename(tmp, f->posfile) < 0)
		goto fail;
	f->saved = pos;
	return;
fail:
	log_warn("ingest", "%s: cannot keep its position in %s: %s", f->path,
		 f->posfile, strerror(errno));
}

int ingest_follow_open(struct tl_store *s, const char *data,
		       const char *path, const struct ingest_opts *o,
		       struct ingest_stats *st, struct ingest_follow **out)
{
	struct ingest_follow *f;
	char dir[4096];
	int rc, n;

	if (strlen(path) >= sizeof(f->path))
		return TL_ETOOLONG;
	f = tl_calloc(1, sizeof(*f));
	if (!f)
		return TL_ENOMEM;
	f->s = s;
	f->o = *o;
	f->st = st;
	f->fd = -1;
	f->saved = -1;
	strcpy(f->path, path);
	if (data) {
		n = snprintf(dir, sizeof(dir), "%s/follow", data);
		if (n > 0 && (size_t)n < sizeof(dir) &&
		    (mkdir(dir, 0700) == 0 || errno == EEXIST)) {
			char abs[4096];
			const char *key = realpath(path, abs) ? abs : path;

			n = snprintf(f->posfile, sizeof(f->posfile),
				     "%s/%016" PRIx64, dir,
				     fnv1a(key, strlen(key)));
			if (n < 0 || (size_t)n >= sizeof(f->posfile))
				f->posfile[0] = '\0';
		}
	}
	rc = ingest_reader_new(s, f->path, &f->o, st, &f->r);
	if (rc < 0) {
		tl_free(f);
		return rc;
	}
	f->last_data_ms = now_ms();
	*out = f;
	return 0;
}

/* Open the file if it is there; the first time, go on from where a
 * previous run left it. */
static int try_open(struct ingest_follow *f)
{
	struct stat sb;
	off_t pos = 0;

	f->fd = open(f->path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0) {
		if (errno != ENOENT)
			return -errno;
		if (!f->missing_said)
			log_info("ingest", "%s: not there yet; waiting for it",
				 f->path);
		f->missing_said = true;
		return 0;
	}
	if (fstat(f->fd, &sb) < 0) {
		close(f->fd);
		f->fd = -1;
		return -errno;
	}
	f->dev = sb.st_dev;
	f->ino = sb.st_ino;
	f->mtime = sb.st_mtim;
	f->headlen = 0;
	if (!f->resumed)
		pos = load_position(f, &sb);
	f->resumed = true;
	if (pos > 0 && lseek(f->fd, pos, SEEK_SET) == pos) {
		log_info("ingest", "%s: going on from byte %lld", f->path,
			 (long long)pos);
		f->saved = pos;
	} else {
		pos = 0;
	}
	f->off = pos;
	note_head(f);
	f->missing_said = false;
	return 0;
}

/* Read everything there is now. Returns bytes read or a negative error. */
static int64_t drain(struct ingest_follow *f, bool *stop)
{
	int64_t total = 0;
	ssize_t n;

	do {
		n = ingest_reader_read(f->r, f->fd, stop);
		if (n < 0)
			return n;
		f->off += n;
		total += n;
	} while (n > 0 && !*stop);
	return total;
}

/* The file at the path is another one now, or it is gone. */
static bool replaced(const struct ingest_follow *f)
{
	struct stat sb;

	if (stat(f->path, &sb) < 0)
		return errno == ENOENT;
	return sb.st_dev != f->dev || sb.st_ino != f->ino;
}

int ingest_follow_poll(struct ingest_follow *f)
{
	struct stat sb;
	bool stop = false, got = false;
	int64_t n;
	int rc;

	if (f->fd < 0) {
		rc = try_open(f);
		if (rc < 0 || f->fd < 0)
			return rc;
	}
	n = drain(f, &stop);
	if (n < 0)
		return (int)n;
	got = n > 0;
	note_head(f);
	if (fstat(f->fd, &sb) < 0)
		return -errno;
	if (sb.st_size < f->off ||
	    (!got && (sb.st_mtim.tv_sec != f->mtime.tv_sec ||
		      sb.st_mtim.tv_nsec != f->mtime.tv_nsec) &&
	     head_changed(f))) {
		log_info("ingest", "%s: truncated; reading it from the start",
			 f->path);
		rc = ingest_reader_eof(f->r);
		if (rc < 0)
			return rc;
		ingest_reader_restart(f->r);
		if (lseek(f->fd, 0, SEEK_SET) < 0)
			return -errno;
		f->off = 0;
		f->saved = -1;
		f->headlen = 0;
		n = drain(f, &stop);
		if (n < 0)
			return (int)n;
		note_head(f);
		got = true;
	} else if (replaced(f)) {
		/* Rotated by rename: what the old file still had was read
		 * above; its last line may lack a newline. */
		log_info("ingest", "%s: rotated; reading the new file",
			 f->path);
		rc = ingest_reader_eof(f->r);
		if (rc < 0)
			return rc;
		ingest_reader_restart(f->r);
		close(f->fd);
		f->fd = -1;
		f->saved = -1;
		rc = try_open(f);
		if (rc < 0)
			return rc;
		if (f->fd >= 0) {
			n = drain(f, &stop);
			if (n < 0)
				return (int)n;
			note_head(f);
		}
		got = true;
	}
	if (f->fd >= 0 && fstat(f->fd, &sb) == 0)
		f->mtime = sb.st_mtim;
	if (got) {
		f->last_data_ms = now_ms();
		f->open_record = f->o.format->flush != NULL;
	} else if (f->open_record &&
		   now_ms() - f->last_data_ms >= TL_FOLLOW_SETTLE_MS) {
		/* Quiet for a while: the last message is complete. */
		rc = ingest_reader_flush(f->r);
		if (rc < 0)
			return rc;
		f->open_record = false;
		got = true;
	}
	if (got || f->st->events > f->st->durable) {
		rc = ingest_reader_commit(f->r, false);
		if (rc < 0)
			return rc;
	} else if (!f->o.submit && tl_store_unapplied(f->s)) {
		/* Quiet now: hand the applier the durable group it was too
		 * busy to take, so readers see it. */
		rc = tl_store_commit_async(f->s);
		if (rc < 0)
			return rc;
	}
	save_position(f);
	return 0;
}

int ingest_follow_close(struct ingest_follow *f)
{
	int rc;

	if (!f)
		return 0;
	rc = ingest_reader_commit(f->r, true);
	if (rc == 0)
		save_position(f);
	ingest_reader_free(f->r);
	if (f->fd >= 0)
		close(f->fd);
	tl_free(f);
	return rc;
}

int ingest_follow_run(struct ingest_follow **files, unsigned nfiles,
		      struct tl_store *s, char *const *maildirs,
		      unsigned nmaildirs, const struct ingest_opts *o,
		      struct ingest_stats *st, volatile sig_atomic_t *stop)
{
	struct timespec ts = {0, TL_FOLLOW_POLL_MS * 1000000L};
	bool *dead = tl_calloc(nfiles + nmaildirs + 1, sizeof(*dead));
	bool *said = tl_calloc(nmaildirs + 1, sizeof(*said));
	unsigned i, live = nfiles + nmaildirs;
	int rc, first = 0;

	if (!dead || !said) {
		tl_free(dead);
		tl_free(said);
		return TL_ENOMEM;
	}
	while (!*stop && live) {
		for (i = 0; i < nfiles + nmaildirs && !*stop; i++) {
			if (dead[i])
				continue;
			if (i < nfiles)
				rc = ingest_follow_poll(files[i]);
			else
				rc = ingest_maildir(s, maildirs[i - nfiles], o,
						    st, true);
			if (rc == TL_ENOENT && i >= nfiles) {
				/* Not (yet) a maildir: said once. */
				if (!said[i - nfiles])
					log_warn("ingest", "%s: not a maildir "
						 "(no new/); waiting for it",
						 maildirs[i - nfiles]);
				said[i - nfiles] = true;
				continue;
			}
			if (i >= nfiles)
				said[i - nfiles] = false;
			if (rc < 0) {
				log_error("ingest", "%s: stopped: %s",
					  i < nfiles ? "followed file"
						     : maildirs[i - nfiles],
					  tl_strerror(rc));
				if (!first)
					first = rc;
				dead[i] = true;
				live--;
				/* The store failing stops every source. */
				if (rc == TL_ENOSPC || rc == TL_EIO ||
				    rc == TL_ESTORE || rc == TL_EMAPFULL)
					goto out;
			}
		}
		nanosleep(&ts, NULL);
	}
out:
	tl_free(dead);
	tl_free(said);
	return first;
}
