/* SPDX-License-Identifier: MIT */
/* test_store.c -- the store: append, commit, get, readers, recovery */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <lmdb.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store_int.h"
#include "trapline/alloc.h"
#include "trapline/err.h"
#include "trapline/store.h"

#define T0 1078142400 /* 2004-03-01T12:00:00Z */

struct tmp {
	char dir[64];    /* mkdtemp */
	char store[128]; /* dir/store */
};

static int setup(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	strcpy(t->dir, "/tmp/test_store_XXXXXX");
	if (!mkdtemp(t->dir)) {
		free(t);
		return -1;
	}
	snprintf(t->store, sizeof(t->store), "%s/store", t->dir);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tmp *t = *state;
	char cmd[256];

	tl_alloc_fail_after(0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	if (system(cmd) != 0)
		return -1;
	free(t);
	return 0;
}

static struct tl_store *open_writer(const char *dir)
{
	struct tl_store *s = NULL;
	struct tl_store_opts o = {1ull << 30, false};

	assert_int_equal(tl_store_open(dir, TL_STORE_WRITE, &o, &s), 0);
	assert_non_null(s);
	return s;
}

static struct tl_ip ip_of(const char *s)
{
	struct tl_ip ip;

	if (tl_ip_parse(s, strlen(s), &ip) != 0)
		fail_msg("bad ip %s", s);
	return ip;
}

static void mkevent(struct tl_event *ev, const char *ip, int64_t time,
		    enum tl_kind kind, uint32_t count)
{
	tl_event_init(ev);
	ev->ip = ip_of(ip);
	ev->time = time;
	ev->kind = (uint8_t)kind;
	ev->count = count;
}

static void append(struct tl_store *s, const char *ip, int64_t time,
		   enum tl_kind kind, uint32_t count)
{
	struct tl_event ev;

	mkevent(&ev, ip, time, kind, count);
	assert_int_equal(tl_store_append(s, &ev), 0);
}

/* Total events of @ip, or -1 when never seen. */
static int64_t total(struct tl_store *s, const char *ip)
{
	struct tl_ip a = ip_of(ip);
	struct tl_history h;
	int64_t n;
	int rc = tl_store_get(s, &a, &h);

	if (rc == TL_ENOENT)
		return -1;
	assert_int_equal(rc, 0);
	n = (int64_t)tl_history_total(&h);
	tl_history_free(&h);
	return n;
}

/* A sensor's bad event is refused before it reaches the journal, where it
 * would stop every later recovery. */
static void test_append_refuses_bad_events(void **state)
{
	struct tmp *t = *state;
	struct tl_store *s = open_writer(t->store);
	struct tl_event ev;

	mkevent(&ev, "192.0.2.1", T0, TL_KIND_SPAM, 1);
	ev.time = -1;
	assert_int_equal(tl_store_append(s, &ev), TL_ETIME);
	mkevent(&ev, "192.0.2.1", T0, TL_KIND_SPAM, 0);
	assert_int_equal(tl_store_append(s, &ev), TL_ECOUNT);
	mkevent(&ev, "192.0.2.1", T0, TL_KIND_COUNT, 1);
	assert_int_equal(tl_store_append(s, &ev), TL_EKIND);
	mkevent(&ev, "192.0.2.1", T0, TL_KIND_SPAM, 1);
	ev.ip.family = 5;
	assert_int_equal(tl_store_append(s, &ev), TL_EIP);
	mkevent(&ev, "192.0.2.1", T0, TL_KIND_SPAM, 1);
	ev.ntags = 1;
	strcpy(ev.tags[0], "Bad Tag");
	assert_int_equal(tl_store_append(s, &ev), TL_ETAG);
	mkevent(&ev, "192.0.2.1", T0, TL_KIND_SPAM, 1);
	memset(ev.helo, 'x', sizeof(ev.helo));
	assert_int_equal(tl_store_append(s, &ev), TL_ETOOLONG);
	assert_int_equal(tl_store_pending(s), 0);
	append(s, "192.0.2.1", T0, TL_KIND_SPAM, 1);
	assert_int_equal(tl_store_commit(s), 0);
	assert_int_equal(total(s, "192.0.2.1"), 1);
	tl_store_close(s);
}

static void test_append_commit_get(void **state)
{
	struct tmp *t = *state;
	struct tl_store *s = open_writer(t->store);
	struct tl_ip a = ip_of("192.0.2.1");
	struct tl_history h;

	append(s, "192.0.2.1", T0, TL_KIND_SPAM, 3);
	append(s, "192.0.2.1", T0 + 86400 * 2, TL_KIND_AUTH, 1);
	append(s, "::ffff:192.0.2.1", T0 - 86400, TL_KIND_SPAM, 1);
	append(s, "2001:db8::1", T0, TL_KIND_MALWARE, 2);
	assert_int_equal(tl_store_pending(s), 4);
	/* not applied before the commit */
	assert_int_equal(total(s, "192.0.2.1"), -1);
	assert_int_equal(tl_store_commit(s), 0);
	assert_int_equal(tl_store_pending(s), 0);
	assert_int_equal(tl_store_commit(s), 0); /* nothing to do */

	assert_int_equal(tl_store_get(s, &a, &h), 0);
	assert_int_equal(h.count[TL_KIND_SPAM], 4);
	assert_int_equal(h.count[TL_KIND_AUTH], 1);
	assert_int_equal(h.first, T0 / 86400 - 1);
	assert_int_equal(h.last, T0 / 86400 + 2);
	assert_int_equal(h.first_time, T0 - 86400);
	assert_int_equal(h.last_time, T0 + 86400 * 2);
	assert_int_equal(h.active_days, 3);
	assert_int_equal(h.nruns, 2);
	tl_history_free(&h);
	assert_int_equal(total(s, "2001:db8::1"), 2);
	assert_int_equal(total(s, "192.0.2.2"), -1);
	assert_int_equal(total(s, "2001:db8::2"), -1);
	tl_store_close(s);
}

static void test_exactly_once_reopen(void **state)
{
	struct tmp *t = *state;
	struct tl_store *s = open_writer(t->store);
	struct tl_store_info info;
	char ip[32];
	unsigned i, round;

	for (i = 0; i < 100; i++) {
		snprintf(ip, sizeof(ip), "198.51.100.%u", i);
		append(s, ip, T0 + i * 3600, TL_KIND_SPAM, i + 1);
	}
	assert_int_equal(tl_store_commit(s), 0);
	tl_store_close(s);
	for (round = 0; round < 3; round++) {
		s = open_writer(t->store);
		assert_int_equal(tl_store_info(s, &info), 0);
		assert_int_equal(info.ips_v4, 100);
		assert_int_equal(info.events, 100);
		for (i = 0; i < 100; i += 11) {
			snprintf(ip, sizeof(ip), "198.51.100.%u", i);
			assert_int_equal(total(s, ip), i + 1);
		}
		tl_store_close(s);
	}
	/* more after a reopen add to what is there */
	s = open_writer(t->store);
	append(s, "198.51.100.5", T0 + 86400 * 10, TL_KIND_DICTIONARY, 10);
	assert_int_equal(tl_store_commit(s), 0);
	tl_store_close(s);
	s = open_writer(t->store);
	assert_int_equal(total(s, "198.51.100.5"), 16);
	assert_int_equal(tl_store_info(s, &info), 0);
	assert_int_equal(info.events, 101);
	tl_store_close(s);
}

/* Appended but not committed: not in the history, and not durable. */
static void test_uncommitted(void **state)
{
	struct tmp *t = *state;
	struct tl_store *s = open_writer(t->store);

	append(s, "192.0.2.9", T0, TL_KIND_SPAM, 1);
	assert_int_equal(tl_store_commit(s), 0);
	append(s, "192.0.2.9", T0, TL_KIND_SPAM, 5);
	tl_store_close(s);
	s = open_writer(t->store);
	assert_int_equal(total(s, "192.0.2.9"), 1);
	tl_store_close(s);
}

static void test_second_writer(void **state)
{
	struct tmp *t = *state;
	struct tl_store *s = open_writer(t->store), *s2 = NULL;

	assert_int_equal(tl_store_open(t->store, TL_STORE_WRITE, NULL, &s2),
			 TL_EAGAIN);
	assert_null(s2);
	/* the first is unharmed */
	append(s, "192.0.2.1", T0, TL_KIND_SPAM, 1);
	assert_int_equal(tl_store_commit(s), 0);
	tl_store_close(s);
	s2 = open_writer(t->store);
	assert_int_equal(total(s2, "192.0.2.1"), 1);
	tl_store_close(s2);
}

/* In a child process, as a real reader would be: the total of @ip as a
 * reader sees it (0..250), 254 never seen, 255 on error. */
static int reader_total(const char *dir, const char *ip)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		struct tl_store *r = NULL;
		struct tl_ip a;
		struct tl_history h;
		int rc;

		if (tl_ip_parse(ip, strlen(ip), &a) != 0 ||
		    tl_store_open(dir, TL_STORE_READ, NULL, &r) != 0)
			_exit(255);
		rc = tl_store_get(r, &a, &h);
		if (rc == TL_ENOENT)
			_exit(254);
		if (rc != 0 || tl_history_total(&h) > 250)
			_exit(255);
		_exit((int)tl_history_total(&h));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void test_readers(void **state)
{
	struct tmp *t = *state;
	struct tl_store *s, *r = NULL;
	char sub[192];
	struct tl_event ev;

	assert_int_equal(tl_store_open(t->store, TL_STORE_READ, NULL, &r),
			 TL_ENOSTORE);
	snprintf(sub, sizeof(sub), "%s/empty", t->dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(tl_store_open(sub, TL_STORE_READ, NULL, &r),
			 TL_ENOSTORE);

	s = open_writer(t->store);
	assert_int_equal(reader_total(t->store, "192.0.2.1"), 254);
	append(s, "192.0.2.1", T0, TL_KIND_SPAM, 2);
	assert_int_equal(reader_total(t->store, "192.0.2.1"), 254);
	assert_int_equal(tl_store_commit(s), 0);
	assert_int_equal(reader_total(t->store, "192.0.2.1"), 2);
	append(s, "192.0.2.1", T0, TL_KIND_SPAM, 3);
	assert_int_equal(tl_store_commit(s), 0);
	assert_int_equal(reader_total(t->store, "192.0.2.1"), 5);
	tl_store_close(s);

	/* a reader cannot write */
	assert_int_equal(tl_store_open(t->store, TL_STORE_READ, NULL, &r), 0);
	mkevent(&ev, "192.0.2.1", T0, TL_KIND_SPAM, 1);
	assert_int_equal(tl_store_append(r, &ev), TL_EINVAL);
	assert_int_equal(tl_store_commit(r), TL_EINVAL);
	assert_int_equal(total(r, "192.0.2.1"), 5);
	tl_store_close(r);
}

static void test_tags(void **state)
{
	struct tmp *t = *state;
	struct tl_store *s = open_writer(t->store);
	struct tl_ip a = ip_of("203.0.113.5");
	struct tl_history h;
	struct tl_event ev;
	uint16_t pharma_id = 0;
	unsigned i;
	bool found = false;

	mkevent(&ev, "203.0.113.5", T0, TL_KIND_SPAM, 2);
	assert_int_equal(tl_event_add_tag(&ev, "pharma", 6), 0);
	assert_int_equal(tl_event_add_tag(&ev, "phish", 5), 0);
	assert_int_equal(tl_store_append(s, &ev), 0);
	mkevent(&ev, "203.0.113.5", T0 + 60, TL_KIND_SPAM, 1);
	assert_int_equal(tl_event_add_tag(&ev, "pharma", 6), 0);
	assert_int_equal(tl_store_append(s, &ev), 0);
	assert_int_equal(tl_store_commit(s), 0);
	assert_int_equal(tl_store_get(s, &a, &h), 0);
	assert_int_equal(h.ntags, 2);
	for (i = 0; i < h.ntags; i++) {
		const char *name = tl_store_tag_name(s, h.tags[i].id);

		assert_non_null(name);
		if (strcmp(name, "pharma") == 0) {
			assert_int_equal(h.tags[i].count, 3);
			pharma_id = h.tags[i].id;
			found = true;
		} else {
			assert_string_equal(name, "phish");
			assert_int_equal(h.tags[i].count, 2);
		}
	}
	assert_true(found);
	tl_history_free(&h);
	assert_null(tl_store_tag_name(s, 60000));
	tl_store_close(s);

	/* names and ids survive a reopen; a known name keeps its id */
	s = open_writer(t->store);
	assert_string_equal(tl_store_tag_name(s, pharma_id), "pharma");
	mkevent(&ev, "203.0.113.6", T0, TL_KIND_SPAM, 1);
	assert_int_equal(tl_event_add_tag(&ev, "pharma", 6), 0);
	assert_int_equal(tl_store_append(s, &ev), 0);
	assert_int_equal(tl_store_commit(s), 0);
	a = ip_of("203.0.113.6");
	assert_int_equal(tl_store_get(s, &a, &h), 0);
	assert_int_equal(h.ntags, 1);
	assert_int_equal(h.tags[0].id, pharma_id);
	tl_history_free(&h);
	tl_store_close(s);
}

/* A reader opened before a writer adds a tag still names it. */
static void test_reader_learns_new_tags(void **state)
{
	struct tmp *t = *state;
	struct tl_store *s = open_writer(t->store), *r;
	struct tl_ip a = ip_of("203.0.113.7");
	struct tl_store_iter *it;
	struct tl_history h;
	struct tl_event ev;

	append(s, "203.0.113.8", T0, TL_KIND_SPAM, 1);
	assert_int_equal(tl_store_commit(s), 0);
	assert_int_equal(tl_store_open(t->store, TL_STORE_READ, NULL, &r), 0);
	mkevent(&ev, "203.0.113.7", T0, TL_KIND_SPAM, 1);
	assert_int_equal(tl_event_add_tag(&ev, "brandnew", 8), 0);
	assert_int_equal(tl_store_append(s, &ev), 0);
	assert_int_equal(tl_store_commit(s), 0);
	assert_int_equal(tl_store_get(r, &a, &h), 0);
	assert_int_equal(h.ntags, 1);
	assert_non_null(tl_store_tag_name(r, h.tags[0].id));
	assert_string_equal(tl_store_tag_name(r, h.tags[0].id), "brandnew");
	tl_history_free(&h);
	/* and through an iterator */
	mkevent(&ev, "203.0.113.9", T0, TL_KIND_SPAM, 1);
	assert_int_equal(tl_event_add_tag(&ev, "newer", 5), 0);
	assert_int_equal(tl_store_append(s, &ev), 0);
	assert_int_equal(tl_store_commit(s), 0);
	assert_int_equal(tl_store_iter_open(r, 4, &it), 0);
	tl_store_iter_close(it);
	{
		bool seen = false;
		uint16_t id;

		for (id = 0; id < 16; id++)
			if (tl_store_tag_name(r, id) &&
			    strcmp(tl_store_tag_name(r, id), "newer") == 0)
				seen = true;
		assert_true(seen);
	}
	tl_store_close(r);
	tl_store_close(s);
}

static void test_info(void **state)
{
	struct tmp *t = *state;
	struct tl_store *s = open_writer(t->store);
	struct tl_store_info info;

	assert_int_equal(tl_store_info(s, &info), 0);
	assert_int_equal(info.ips_v4, 0);
	assert_int_equal(info.ips_v6, 0);
	assert_int_equal(info.events, 0);
	append(s, "192.0.2.1", T0, TL_KIND_SPAM, 1);
	append(s, "192.0.2.2", T0 + 86400 * 30, TL_KIND_SPAM, 1);
	append(s, "192.0.2.1", T0 + 86400, TL_KIND_SPAM, 1);
	append(s, "2001:db8::1", T0 - 86400 * 400, TL_KIND_SPAM, 1);
	append(s, "2001:db8::2", T0, TL_KIND_SPAM, 1);
	append(s, "2001:db8::3", T0, TL_KIND_SPAM, 1);
	assert_int_equal(tl_store_commit(s), 0);
	assert_int_equal(tl_store_info(s, &info), 0);
	assert_int_equal(info.ips_v4, 2);
	assert_int_equal(info.ips_v6, 3);
	assert_int_equal(info.events, 6);
	assert_int_equal(info.latest, T0 / 86400 + 30);
	assert_true(info.map_used > 0);
	/* an older event does not move latest back */
	append(s, "192.0.2.3", T0 - 86400 * 1000, TL_KIND_SPAM, 1);
	assert_int_equal(tl_store_commit(s), 0);
	assert_int_equal(tl_store_info(s, &info), 0);
	assert_int_equal(info.latest, T0 / 86400 + 30);
	assert_int_equal(info.ips_v4, 3);
	tl_store_close(s);
}

static void test_iteration(void **state)
{
	static const char *const v4[] = {"203.0.113.9", "1.2.3.4",
					 "192.0.2.200", "192.0.2.3",
					 "255.255.255.255", "0.0.0.1",
					 "192.0.2.30"};
	struct tmp *t = *state;
	struct tl_store *s = open_writer(t->store);
	struct tl_store_iter *it;
	struct tl_ip ip, prev, seek;
	struct tl_history h;
	const uint8_t *val;
	size_t len, i;
	unsigned n = 0;
	int rc;

	for (i = 0; i < sizeof(v4) / sizeof(v4[0]); i++)
		append(s, v4[i], T0, TL_KIND_SPAM, (uint32_t)i + 1);
	append(s, "2001:db8::1", T0, TL_KIND_SPAM, 1);
	append(s, "::1", T0, TL_KIND_SPAM, 1);
	assert_int_equal(tl_store_commit(s), 0);

	assert_int_equal(tl_store_iter_open(s, 4, &it), 0);
	tl_history_init(&h);
	while ((rc = tl_store_iter_next(it)) == 1) {
		tl_store_iter_get(it, &ip, &val, &len);
		assert_int_equal(ip.family, 4);
		if (n)
			assert_true(tl_ip_cmp(&prev, &ip) < 0);
		prev = ip;
		assert_int_equal(tl_history_decode(&h, val, len, false), 0);
		for (i = 0; i < sizeof(v4) / sizeof(v4[0]); i++) {
			struct tl_ip want = ip_of(v4[i]);

			if (tl_ip_cmp(&want, &ip) == 0)
				assert_int_equal(tl_history_total(&h), i + 1);
		}
		n++;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(n, 7);

	seek = ip_of("192.0.2.4");
	assert_int_equal(tl_store_iter_seek(it, &seek), 1);
	tl_store_iter_get(it, &ip, &val, &len);
	assert_int_equal(tl_ip_cmp(&ip, &(struct tl_ip){0}) != 0, 1);
	prev = ip_of("192.0.2.30");
	assert_int_equal(tl_ip_cmp(&ip, &prev), 0);
	assert_int_equal(tl_store_iter_next(it), 1);
	tl_store_iter_get(it, &ip, &val, &len);
	prev = ip_of("192.0.2.200");
	assert_int_equal(tl_ip_cmp(&ip, &prev), 0);
	seek = ip_of("192.0.2.3"); /* inclusive */
	assert_int_equal(tl_store_iter_seek(it, &seek), 1);
	tl_store_iter_get(it, &ip, &val, &len);
	assert_int_equal(tl_ip_cmp(&ip, &seek), 0);
	seek = ip_of("255.255.255.255");
	assert_int_equal(tl_store_iter_seek(it, &seek), 1);
	assert_int_equal(tl_store_iter_next(it), 0);
	tl_store_iter_close(it);

	assert_int_equal(tl_store_iter_open(s, 6, &it), 0);
	n = 0;
	while (tl_store_iter_next(it) == 1) {
		tl_store_iter_get(it, &ip, &val, &len);
		assert_int_equal(ip.family, 6);
		n++;
	}
	assert_int_equal(n, 2);
	seek = ip_of("2001:db8::2");
	assert_int_equal(tl_store_iter_seek(it, &seek), 0);
	tl_store_iter_close(it);
	tl_history_free(&h);
	tl_store_close(s);
}

/* Many events, more than one journal frame, in one commit. */
static void test_big_commit(void **state)
{
	struct tmp *t = *state;
	struct tl_store *s = open_writer(t->store);
	struct tl_store_info info;
	char ip[32];
	unsigned i;

	for (i = 0; i < 30000; i++) {
		snprintf(ip, sizeof(ip), "10.%u.%u.1", i % 100, i % 7);
		append(s, ip, T0 + (int64_t)(i % 50) * 86400, TL_KIND_SPAM, 1);
	}
	assert_int_equal(tl_store_commit(s), 0);
	tl_store_close(s);
	s = open_writer(t->store);
	assert_int_equal(tl_store_info(s, &info), 0);
	assert_int_equal(info.events, 30000);
	assert_int_equal(info.ips_v4, 700);
	/* i % 100 == 3 and i % 7 == 3: i = 3 + 700k, k < 43 */
	assert_int_equal(total(s, "10.3.3.1"), 43);
	tl_store_close(s);
}

static void journal_dir(const struct tmp *t, char *buf, size_t size)
{
	snprintf(buf, size, "%s/journal", t->store);
}

/* Encode events into one frame and append it to the journal at @at. */
static void append_frame(const char *jdir, struct jpos at,
			 const struct tl_event *evs, unsigned n)
{
	uint8_t *buf = malloc((size_t)n * JOURNAL_EVENT_MAX);
	struct journal j;
	struct jpos end;
	size_t len = 0;
	unsigned i;

	assert_non_null(buf);
	for (i = 0; i < n; i++)
		len += journal_event_encode(&evs[i], buf + len);
	assert_int_equal(journal_open(&j, jdir, at), 0);
	assert_int_equal(journal_append(&j, buf, len, &end), 0);
	assert_int_equal(journal_sync(&j), 0);
	journal_close(&j);
	free(buf);
}

/* A crash after the journal was written, before the history: the next
 * writer applies the frames, once. */
static void test_recovery_fresh(void **state)
{
	struct tmp *t = *state;
	struct tl_event evs[3];
	struct tl_store_info info;
	struct tl_store *s;
	struct jpos zero = {0, 0};
	char jdir[192];
	unsigned round;

	assert_int_equal(mkdir(t->store, 0750), 0);
	journal_dir(t, jdir, sizeof(jdir));
	mkevent(&evs[0], "192.0.2.77", T0, TL_KIND_SPAM, 4);
	mkevent(&evs[1], "192.0.2.77", T0 + 86400, TL_KIND_AUTH, 1);
	mkevent(&evs[2], "2001:db8::77", T0, TL_KIND_SPAM, 2);
	assert_int_equal(tl_event_add_tag(&evs[0], "pharma", 6), 0);
	append_frame(jdir, zero, evs, 3);

	for (round = 0; round < 3; round++) {
		s = open_writer(t->store);
		assert_int_equal(total(s, "192.0.2.77"), 5);
		assert_int_equal(total(s, "2001:db8::77"), 2);
		assert_int_equal(tl_store_info(s, &info), 0);
		assert_int_equal(info.events, 3);
		tl_store_close(s);
	}
}

static int last_end(const uint8_t *p, size_t len, struct jpos end, void *ctx)
{
	(void)p;
	(void)len;
	*(struct jpos *)ctx = end;
	return 0;
}

/* The same after an earlier commit: only the unapplied frame is applied. */
static void test_recovery_after_commit(void **state)
{
	struct tmp *t = *state;
	struct tl_store *s = open_writer(t->store);
	struct jpos tail, last = {0, 0}, zero = {0, 0};
	struct tl_store_info info;
	struct tl_event ev;
	char jdir[192];

	append(s, "192.0.2.1", T0, TL_KIND_SPAM, 1);
	assert_int_equal(tl_store_commit(s), 0);
	append(s, "192.0.2.1", T0, TL_KIND_SPAM, 2);
	assert_int_equal(tl_store_commit(s), 0);
	tl_store_close(s);

	journal_dir(t, jdir, sizeof(jdir));
	assert_int_equal(journal_replay(jdir, zero, last_end, &last, &tail), 0);
	mkevent(&ev, "192.0.2.1", T0 + 86400, TL_KIND_MALWARE, 10);
	append_frame(jdir, tail, &ev, 1);

	s = open_writer(t->store);
	assert_int_equal(total(s, "192.0.2.1"), 13);
	assert_int_equal(tl_store_info(s, &info), 0);
	assert_int_equal(info.events, 3);
	tl_store_close(s);
	s = open_writer(t->store);
	assert_int_equal(total(s, "192.0.2.1"), 13);
	tl_store_close(s);
}

/*
 * A commit whose history transaction fails (here: out of memory) after
 * its events reached the journal. Whatever the handle does next, nothing
 * the journal holds is lost or doubled: after a reopen every event is in
 * the history once. Under ASan this also checks the failure path frees
 * what it replaces.
 */
static void test_commit_failure(void **state)
{
	struct tmp *t = *state;
	struct tl_store *s = open_writer(t->store);
	struct tl_event ev;
	int rc;

	mkevent(&ev, "192.0.2.1", T0, TL_KIND_SPAM, 1);
	assert_int_equal(tl_event_add_tag(&ev, "pharma", 6), 0);
	assert_int_equal(tl_store_append(s, &ev), 0);
	assert_int_equal(tl_store_commit(s), 0);

	append(s, "192.0.2.50", T0, TL_KIND_SPAM, 7);
	tl_alloc_fail_after(1);
	rc = tl_store_commit(s);
	tl_alloc_fail_after(0);
	assert_int_equal(rc, TL_ENOMEM);

	/* the next commit may succeed or report the earlier failure */
	assert_int_equal(tl_store_append(s, &ev), 0);
	tl_store_commit(s);
	tl_store_close(s);

	s = open_writer(t->store);
	assert_int_equal(total(s, "192.0.2.1"), 2);
	if (total(s, "192.0.2.50") != 7)
		fail_msg("journaled events of the failed commit: total %lld, "
			 "want 7",
			 (long long)total(s, "192.0.2.50"));
	assert_string_equal(tl_store_tag_name(s, 0), "pharma");
	/* and the store goes on */
	append(s, "192.0.2.50", T0, TL_KIND_SPAM, 1);
	assert_int_equal(tl_store_commit(s), 0);
	assert_int_equal(total(s, "192.0.2.50"), 8);
	tl_store_close(s);
}

/* check --record: put, get, replace; and a store from before the
 * "checks" database still opens and reads (no record, TL_ENOENT). */
static void test_checks(void **state)
{
	struct tmp *t = *state;
	struct tl_store *s = open_writer(t->store), *r;
	struct tl_ip ips[2] = {ip_of("192.0.2.1"), ip_of("2001:db8::1")};
	struct tl_check_record recs[2] = {{20784, 2, 14}, {20784, 0, 3}}, c;
	char hdir[300];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;

	append(s, "192.0.2.1", T0, TL_KIND_SPAM, 1);
	assert_int_equal(tl_store_commit(s), 0);
	assert_int_equal(tl_store_put_checks(s, ips, recs, 2), 0);
	assert_int_equal(tl_store_get_check(s, &ips[0], &c), 0);
	assert_int_equal(c.day, 20784);
	assert_int_equal(c.listed, 2);
	assert_int_equal(c.of, 14);
	recs[0].listed = 1;
	recs[0].day++;
	assert_int_equal(tl_store_put_checks(s, ips, recs, 1), 0);
	tl_store_close(s);

	assert_int_equal(tl_store_open(t->store, TL_STORE_READ, NULL, &r), 0);
	assert_int_equal(tl_store_get_check(r, &ips[0], &c), 0);
	assert_int_equal(c.day, 20785);
	assert_int_equal(c.listed, 1);
	assert_int_equal(tl_store_get_check(r, &ips[1], &c), 0);
	assert_int_equal(c.of, 3);
	c.of = 99;
	ips[1].a[15] = 2;
	assert_int_equal(tl_store_get_check(r, &ips[1], &c), TL_ENOENT);
	/* readers do not write */
	assert_int_equal(tl_store_put_checks(r, ips, recs, 1), TL_EINVAL);
	tl_store_close(r);

	/* An old store: no "checks" database at all. */
	snprintf(hdir, sizeof(hdir), "%s/history", t->store);
	assert_int_equal(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 8);
	mdb_env_set_mapsize(env, 1ull << 30);
	assert_int_equal(mdb_env_open(env, hdir, 0, 0640), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "checks", 0, &dbi), 0);
	assert_int_equal(mdb_drop(txn, dbi, 1), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	assert_int_equal(tl_store_open(t->store, TL_STORE_READ, NULL, &r), 0);
	assert_int_equal(tl_store_get_check(r, &ips[0], &c), TL_ENOENT);
	assert_int_equal(total(r, "192.0.2.1"), 1);
	tl_store_close(r);
	/* and a writer adds it */
	s = open_writer(t->store);
	assert_int_equal(tl_store_put_checks(s, ips, recs, 1), 0);
	tl_store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_refuses_bad_events,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_commit_get, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_exactly_once_reopen, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_uncommitted, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_second_writer, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_readers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_learns_new_tags, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_info, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iteration, setup, teardown),
		cmocka_unit_test_setup_teardown(test_big_commit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recovery_fresh, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_recovery_after_commit,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_failure, setup,
						teardown),
	};

	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
