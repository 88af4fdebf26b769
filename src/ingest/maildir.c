/* SPDX-License-Identifier: MIT */
/* maildir.c -- a trap maildir: one event per message file
 *
 * A maildir holds one message a file in new/ (delivered, not yet seen) and
 * cur/ (seen). Reading it changes nothing, unless asked to take new mail,
 * as `serve` does: then each message, once its event is durable, moves to
 * cur/ with the "seen" flag, the way a mail reader marks what it has read,
 * so a message is taken once.
 */
#include <dirent.h>
#include <stdint.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ingest_int.h"
#include "tl_limits.h"
#include "trapline/alloc.h"
#include "trapline/err.h"
#include "trapline/log.h"

struct names {
	char **v;
	size_t n, cap;
};

static void names_free(struct names *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		tl_free(l->v[i]);
	tl_free(l->v);
	memset(l, 0, sizeof(*l));
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The file names in @dir, sorted (delivery time first, as maildir names
 * start with it). TL_ENOENT when @dir does not exist. */
static int list_dir(const char *dir, struct names *out)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)) != NULL) {
		char **v;

		if (e->d_name[0] == '.')
			continue;
		if (out->n == out->cap) {
			size_t cap = out->cap ? out->cap * 2 : 256;

			v = tl_reallocarray(out->v, cap, sizeof(*v));
			if (!v) {
				rc = TL_ENOMEM;
				break;
			}
			out->v = v;
			out->cap = cap;
		}
		out->v[out->n] = strdup(e->d_name);
		if (!out->v[out->n]) {
			rc = TL_ENOMEM;
			break;
		}
		out->n++;
	}
	closedir(d);
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), cmp_names);
	return rc;
}

/* Read at most TL_MESSAGE_MAX bytes of @path into *@buf (grown as needed).
 * Returns 0 and the bytes held and whole size, or a negative error. */
static int read_message(int dirfd, const char *name, char **buf, size_t *cap,
			size_t *len, uint64_t *size, int64_t *mtime)
{
	struct stat sb;
	size_t want, got = 0;
	ssize_t n;
	int fd, rc = 0;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		rc = TL_EINVAL;
		goto out;
	}
	*size = (uint64_t)sb.st_size;
	*mtime = (int64_t)sb.st_mtime;
	want = sb.st_size > TL_MESSAGE_MAX ? TL_MESSAGE_MAX : (size_t)sb.st_size;
	if (want + 1 > *cap) {
		size_t c = *cap ? *cap : 65536;
		char *p;

		while (c < want + 1)
			c *= 2;
		p = tl_reallocarray(*buf, c, 1);
		if (!p) {
			rc = TL_ENOMEM;
			goto out;
		}
		*buf = p;
		*cap = c;
	}
	while (got < want) {
		n = read(fd, *buf + got, want - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		if (n == 0)
			break; /* shrank while we read: take what is there */
		got += (size_t)n;
	}
	*len = got;
out:
	close(fd);
	return rc;
}

/* Move new/NAME to cur/NAME:2,S once its event is durable. */
static void mark_seen(const char *dir, const char *name)
{
	char from[4096], to[4096];
	int a, b;

	a = snprintf(from, sizeof(from), "%s/new/%s", dir, name);
	b = snprintf(to, sizeof(to), "%s/cur/%s%s", dir, name,
		     strchr(name, ':') ? "" : ":2,S");
	if (a < 0 || b < 0 || (size_t)a >= sizeof(from) ||
	    (size_t)b >= sizeof(to))
		return;
	if (rename(from, to) < 0)
		log_warn("ingest", "%s: cannot move to cur/: %s", from,
			 strerror(errno));
}

/* One sub-directory (new or cur). */
static int read_sub(struct tl_store *s, const char *dir, const char *sub,
		    const struct ingest_opts *o, struct ingest_stats *st,
		    bool take_new, uint64_t *taken, uint64_t skips[])
{
	struct names l = {0};
	struct mail_opts mo = {o->relays, o->rules, -1, o->sensor, o->av};
	char path[4096], *buf = NULL;
	size_t cap = 0, len = 0, i, stop_at = SIZE_MAX;
	int64_t not_after = o->not_after ? o->not_after
					 : ingest_now() + TL_FUTURE_SLACK;
	uint64_t size = 0;
	int64_t mtime = -1;
	int dfd, rc, n;

	n = snprintf(path, sizeof(path), "%s/%s", dir, sub);
	if (n < 0 || (size_t)n >= sizeof(path))
		return TL_ETOOLONG;
	rc = list_dir(path, &l);
	if (rc < 0)
		goto out;
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		rc = -errno;
		goto out;
	}
	for (i = 0; i < l.n; i++) {
		struct tl_event ev;
		enum mail_skip why;

		st->lines++;
		rc = read_message(dfd, l.v[i], &buf, &cap, &len, &size,
				  &mtime);
		if (rc < 0) {
			/* Gone meanwhile or not a file: nothing to say. */
			if (rc != TL_ENOENT && rc != TL_EINVAL) {
				log_warn("ingest", "%s/%s: %s; skipped", path,
					 l.v[i], tl_strerror(rc));
				st->bad++;
			}
			tl_free(l.v[i]); /* left where it is */
			l.v[i] = NULL;
			rc = 0;
			continue;
		}
		mo.fallback_time = mtime;
		why = mail_message_event(buf, len, &mo, &ev);
		if (why != MAIL_TAKEN) {
			skips[why]++;
			continue;
		}
		ev.size = size;
		(*taken)++;
		rc = ingest_event(s, path, i + 1, &ev, o, st, not_after);
		if (rc != 0) {
			stop_at = i; /* strict stop: this one stays in new/ */
			break;
		}
	}
	if (rc >= 0) {
		int crc = ingest_commit(s, path, l.n, o, st, !take_new);

		if (crc < 0)
			rc = crc;
		else if (take_new)
			for (i = 0; i < l.n && i < stop_at; i++)
				if (l.v[i])
					mark_seen(dir, l.v[i]);
	}
	close(dfd);
out:
	tl_free(buf);
	names_free(&l);
	return rc;
}

int ingest_maildir(struct tl_store *s, const char *dir,
		   const struct ingest_opts *o, struct ingest_stats *st,
		   bool take_new)
{
	uint64_t taken = 0, seen = 0, skips[MAIL_SKIP_COUNT] = {0};
	struct stat sb;
	char sub[4096];
	int rc, n;

	n = snprintf(sub, sizeof(sub), "%s/new", dir);
	if (n < 0 || (size_t)n >= sizeof(sub))
		return TL_ETOOLONG;
	if (stat(sub, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		if (!take_new)
			log_error("ingest", "%s: not a maildir (no new/ "
				  "directory)", dir);
		return TL_ENOENT;
	}
	rc = read_sub(s, dir, "new", o, st, take_new, &taken, skips);
	if (rc == 0 && !take_new) {
		rc = read_sub(s, dir, "cur", o, st, false, &taken, skips);
		if (rc == TL_ENOENT)
			rc = 0;
	}
	seen = taken;
	for (n = 1; n < MAIL_SKIP_COUNT; n++)
		seen += skips[n];
	/* A watched maildir is reported only when it had mail. */
	if (!take_new || seen)
		ingest_mail_report(dir, taken, skips);
	return rc;
}
