/* SPDX-License-Identifier: MIT */
/* test_journal.c -- journal segments, frames, torn tails, event codec */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tl_limits.h"
#include "store_int.h"
#include "trapline/err.h"

struct tmp {
	char dir[64];   /* the test's directory */
	char jdir[128]; /* dir/journal */
};

static int setup(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	strcpy(t->dir, "/tmp/test_journal_XXXXXX");
	if (!mkdtemp(t->dir)) {
		free(t);
		return -1;
	}
	snprintf(t->jdir, sizeof(t->jdir), "%s/journal", t->dir);
	*state = t;
	return 0;
}

static void rm_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];

	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static int teardown(void **state)
{
	struct tmp *t = *state;

	rm_dir(t->jdir);
	rm_dir(t->dir);
	free(t);
	return 0;
}

/* What replay saw. */
struct seen {
	unsigned n;
	uint8_t payload[64][256];
	size_t len[64];
	struct jpos end[64];
	int stop_at; /* return 7 on this frame (1-based), 0 = never */
};

static int collect(const uint8_t *p, size_t len, struct jpos end, void *ctx)
{
	struct seen *s = ctx;

	if (s->n >= 64 || len > 256)
		return -1;
	memcpy(s->payload[s->n], p, len);
	s->len[s->n] = len;
	s->end[s->n] = end;
	s->n++;
	return s->stop_at && (int)s->n == s->stop_at ? 7 : 0;
}

static void payload(uint8_t *buf, size_t len, unsigned seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed * 31 + i * 7);
}

static char *seg_path(const struct tmp *t, uint64_t segno)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/%016llx.tlj", t->jdir,
		 (unsigned long long)segno);
	return path;
}

static off_t file_size(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -1;
	return st.st_size;
}

/* Append @n frames (lengths 10, 20, ...) to a new journal. */
static void write_frames(const struct tmp *t, unsigned n, struct jpos *ends)
{
	struct journal j;
	struct jpos zero = {0, 0};
	uint8_t buf[256];
	unsigned i;

	assert_int_equal(journal_open(&j, t->jdir, zero), 0);
	for (i = 0; i < n; i++) {
		payload(buf, 10 * (i + 1), i);
		assert_int_equal(journal_append(&j, buf, 10 * (i + 1), &ends[i]),
				 0);
	}
	assert_int_equal(journal_sync(&j), 0);
	journal_close(&j);
}

static void check_frames(const struct seen *s, unsigned from, unsigned n)
{
	uint8_t buf[256];
	unsigned i;

	assert_int_equal(s->n, n);
	for (i = 0; i < n; i++) {
		payload(buf, 10 * (from + i + 1), from + i);
		assert_int_equal(s->len[i], 10 * (from + i + 1));
		assert_memory_equal(s->payload[i], buf, s->len[i]);
	}
}

static void test_append_replay(void **state)
{
	struct tmp *t = *state;
	struct jpos ends[5], tail, zero = {0, 0};
	static struct seen s;
	unsigned i;

	write_frames(t, 5, ends);
	assert_int_equal(ends[0].segno, 1);
	assert_int_equal(ends[0].offset,
			 JOURNAL_SEG_HEADER + JOURNAL_FRAME_HEADER + 10);
	for (i = 1; i < 5; i++)
		assert_int_equal(ends[i].offset, ends[i - 1].offset +
							 JOURNAL_FRAME_HEADER +
							 10 * (i + 1));
	memset(&s, 0, sizeof(s));
	assert_int_equal(journal_replay(t->jdir, zero, collect, &s, &tail), 0);
	check_frames(&s, 0, 5);
	for (i = 0; i < 5; i++) {
		assert_int_equal(s.end[i].segno, ends[i].segno);
		assert_int_equal(s.end[i].offset, ends[i].offset);
	}
	assert_int_equal(tail.segno, 1);
	assert_int_equal(tail.offset, ends[4].offset);
	assert_int_equal(file_size(seg_path(t, 1)), (off_t)ends[4].offset);

	/* from a position: only what follows it */
	memset(&s, 0, sizeof(s));
	assert_int_equal(journal_replay(t->jdir, ends[1], collect, &s, &tail),
			 0);
	check_frames(&s, 2, 3);
	/* from the end: nothing, tail unchanged */
	memset(&s, 0, sizeof(s));
	assert_int_equal(journal_replay(t->jdir, ends[4], collect, &s, &tail),
			 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(tail.offset, ends[4].offset);
	/* a callback's non-zero value stops the replay and is returned */
	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	assert_int_equal(journal_replay(t->jdir, zero, collect, &s, &tail), 7);
	assert_int_equal(s.n, 2);
}

static void test_reopen_append(void **state)
{
	struct tmp *t = *state;
	struct jpos ends[3], tail, zero = {0, 0}, end;
	static struct seen s;
	struct journal j;
	uint8_t buf[256];

	write_frames(t, 3, ends);
	memset(&s, 0, sizeof(s));
	assert_int_equal(journal_replay(t->jdir, zero, collect, &s, &tail), 0);
	assert_int_equal(journal_open(&j, t->jdir, tail), 0);
	payload(buf, 40, 3);
	assert_int_equal(journal_append(&j, buf, 40, &end), 0);
	assert_int_equal(end.segno, 1);
	assert_int_equal(end.offset, ends[2].offset + JOURNAL_FRAME_HEADER + 40);
	assert_int_equal(journal_sync(&j), 0);
	/* empty and oversized frames are refused */
	assert_int_equal(journal_append(&j, buf, 0, &end), TL_EINVAL);
	assert_int_equal(journal_append(&j, buf, TL_JOURNAL_FRAME_MAX + 1, &end),
			 TL_EINVAL);
	journal_close(&j);
	memset(&s, 0, sizeof(s));
	assert_int_equal(journal_replay(t->jdir, zero, collect, &s, &tail), 0);
	check_frames(&s, 0, 4);
	assert_int_equal(tail.offset, end.offset);
}

static void copy_file(const char *from, const char *to)
{
	static uint8_t buf[1 << 16];
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	size_t n;

	assert_non_null(in);
	assert_non_null(out);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	fclose(out);
}

/* A write cut anywhere inside the last frame: the whole frames before it
 * are replayed and the file is cut back to them. */
static void test_torn_tail(void **state)
{
	struct tmp *t = *state;
	struct jpos ends[3], tail, zero = {0, 0};
	static struct seen s;
	char saved[256];
	off_t cut;

	write_frames(t, 3, ends);
	snprintf(saved, sizeof(saved), "%s/saved", t->dir);
	copy_file(seg_path(t, 1), saved);
	for (cut = (off_t)ends[1].offset; cut < (off_t)ends[2].offset; cut++) {
		copy_file(saved, seg_path(t, 1));
		assert_int_equal(truncate(seg_path(t, 1), cut), 0);
		memset(&s, 0, sizeof(s));
		assert_int_equal(journal_replay(t->jdir, zero, collect, &s,
						&tail),
				 0);
		check_frames(&s, 0, 2);
		assert_int_equal(tail.segno, 1);
		assert_int_equal(tail.offset, ends[1].offset);
		assert_int_equal(file_size(seg_path(t, 1)),
				 (off_t)ends[1].offset);
	}
	/* a whole-length frame whose bytes never all landed (bad CRC) */
	copy_file(saved, seg_path(t, 1));
	{
		int fd = open(seg_path(t, 1), O_WRONLY);

		assert_true(fd >= 0);
		assert_int_equal(pwrite(fd, "\0\0\0\0", 4,
					(off_t)ends[2].offset - 4),
				 4);
		close(fd);
	}
	memset(&s, 0, sizeof(s));
	assert_int_equal(journal_replay(t->jdir, zero, collect, &s, &tail), 0);
	check_frames(&s, 0, 2);
	assert_int_equal(file_size(seg_path(t, 1)), (off_t)ends[1].offset);
	/* garbage appended after whole frames */
	copy_file(saved, seg_path(t, 1));
	{
		FILE *f = fopen(seg_path(t, 1), "ab");

		assert_non_null(f);
		fputs("garbage", f);
		fclose(f);
	}
	memset(&s, 0, sizeof(s));
	assert_int_equal(journal_replay(t->jdir, zero, collect, &s, &tail), 0);
	check_frames(&s, 0, 3);
	assert_int_equal(file_size(seg_path(t, 1)), (off_t)ends[2].offset);
	unlink(saved);
}

/* Start segment 2 after segment 1 (as rotation would). */
static struct jpos second_segment(const struct tmp *t, struct jpos *end)
{
	struct jpos full = {1, TL_JOURNAL_SEGMENT_MAX};
	struct journal j;
	uint8_t buf[256];

	assert_int_equal(journal_open(&j, t->jdir, full), 0);
	assert_int_equal(j.segno, 2);
	payload(buf, 40, 3);
	assert_int_equal(journal_append(&j, buf, 40, end), 0);
	assert_int_equal(journal_sync(&j), 0);
	journal_close(&j);
	assert_int_equal(end->segno, 2);
	return *end;
}

static void test_corrupt_not_last(void **state)
{
	struct tmp *t = *state;
	struct jpos ends[3], end2, tail, zero = {0, 0};
	static struct seen s;
	char saved[256];
	int fd;

	write_frames(t, 3, ends);
	second_segment(t, &end2);
	memset(&s, 0, sizeof(s));
	assert_int_equal(journal_replay(t->jdir, zero, collect, &s, &tail), 0);
	check_frames(&s, 0, 4);
	assert_int_equal(tail.segno, 2);
	assert_int_equal(tail.offset, end2.offset);

	snprintf(saved, sizeof(saved), "%s/saved", t->dir);
	copy_file(seg_path(t, 1), saved);
	/* a flipped payload byte in segment 1 */
	fd = open(seg_path(t, 1), O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "X", 1, (off_t)ends[1].offset - 3), 1);
	close(fd);
	memset(&s, 0, sizeof(s));
	assert_int_equal(journal_replay(t->jdir, zero, collect, &s, &tail),
			 TL_ECORRUPT);
	/* nothing was cut from it */
	assert_int_equal(file_size(seg_path(t, 1)), (off_t)ends[2].offset);
	/* a torn end of segment 1 is corruption too, not a torn write */
	copy_file(saved, seg_path(t, 1));
	assert_int_equal(truncate(seg_path(t, 1), (off_t)ends[2].offset - 1), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(journal_replay(t->jdir, zero, collect, &s, &tail),
			 TL_ECORRUPT);
	assert_int_equal(file_size(seg_path(t, 1)), (off_t)ends[2].offset - 1);
	/* a bad segment header */
	copy_file(saved, seg_path(t, 1));
	fd = open(seg_path(t, 1), O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "X", 1, 0), 1);
	close(fd);
	memset(&s, 0, sizeof(s));
	assert_int_equal(journal_replay(t->jdir, zero, collect, &s, &tail),
			 TL_ECORRUPT);
	unlink(saved);
}

/* A last segment created but whose header never landed. */
static void test_torn_segment_header(void **state)
{
	struct tmp *t = *state;
	struct jpos ends[2], tail, zero = {0, 0};
	static struct seen s;
	FILE *f;

	write_frames(t, 2, ends);
	f = fopen(seg_path(t, 2), "wb");
	assert_non_null(f);
	fwrite("TLJOU", 1, 5, f);
	fclose(f);
	memset(&s, 0, sizeof(s));
	assert_int_equal(journal_replay(t->jdir, zero, collect, &s, &tail), 0);
	check_frames(&s, 0, 2);
	assert_int_equal(tail.segno, 1);
	assert_int_equal(tail.offset, ends[1].offset);
	assert_int_equal(file_size(seg_path(t, 2)), 0);
}

static void test_prune(void **state)
{
	struct tmp *t = *state;
	struct jpos ends[2], end2, end3, tail, zero = {0, 0};
	struct jpos full = {2, TL_JOURNAL_SEGMENT_MAX};
	static struct seen s;
	struct journal j;
	uint8_t buf[64];
	FILE *f;
	char other[256];

	write_frames(t, 2, ends);
	second_segment(t, &end2);
	assert_int_equal(journal_open(&j, t->jdir, full), 0);
	payload(buf, 50, 4);
	assert_int_equal(journal_append(&j, buf, 50, &end3), 0);
	assert_int_equal(end3.segno, 3);
	assert_int_equal(journal_sync(&j), 0);
	snprintf(other, sizeof(other), "%s/not-a-segment", t->jdir);
	f = fopen(other, "wb");
	assert_non_null(f);
	fclose(f);

	assert_true(file_size(seg_path(t, 1)) > 0);
	assert_int_equal(journal_prune(&j, 3), 0);
	assert_int_equal(file_size(seg_path(t, 1)), -1);
	assert_int_equal(file_size(seg_path(t, 2)), -1);
	assert_true(file_size(seg_path(t, 3)) > 0);
	assert_int_equal(file_size(other), 0);
	/* pruning again, or below what is there, does nothing */
	assert_int_equal(journal_prune(&j, 3), 0);
	assert_int_equal(journal_prune(&j, 1), 0);
	assert_true(file_size(seg_path(t, 3)) > 0);
	journal_close(&j);

	memset(&s, 0, sizeof(s));
	assert_int_equal(journal_replay(t->jdir, zero, collect, &s, &tail), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.len[0], 50);
	assert_memory_equal(s.payload[0], buf, 50);
	assert_int_equal(tail.segno, 3);
	assert_int_equal(tail.offset, end3.offset);
	unlink(other);
}

static void full_event(struct tl_event *ev)
{
	static const char *const tags[] = {
		"pharma", "phish", "a", "0123456789abcdef0123456789abcdef",
		"x.y", "z-z", "q_q", "last",
	};
	unsigned i;

	tl_event_init(ev);
	ev->time = 7258118399;
	assert_int_equal(tl_ip_parse("2001:db8::dead:beef", 19, &ev->ip), 0);
	ev->kind = TL_KIND_DICTIONARY;
	ev->count = 1000000000;
	ev->rcpts = 4294967295u;
	ev->size = UINT64_MAX;
	for (i = 0; i < 8; i++)
		assert_int_equal(tl_event_add_tag(ev, tags[i], strlen(tags[i])),
				 0);
	memset(ev->sensor, 's', 63);
	ev->sensor[63] = '\0';
	memset(ev->helo, 'h', 255);
	ev->helo[255] = '\0';
	ev->helo[10] = '\x01';
	strcpy(ev->from, "example.org");
}

static void assert_same_event(const struct tl_event *a,
			      const struct tl_event *b)
{
	unsigned i;

	assert_int_equal(a->time, b->time);
	assert_int_equal(a->ip.family, b->ip.family);
	assert_memory_equal(a->ip.a, b->ip.a, 16);
	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->count, b->count);
	assert_int_equal(a->rcpts, b->rcpts);
	assert_int_equal(a->size, b->size);
	assert_int_equal(a->ntags, b->ntags);
	for (i = 0; i < a->ntags; i++)
		assert_string_equal(a->tags[i], b->tags[i]);
	assert_string_equal(a->sensor, b->sensor);
	assert_string_equal(a->helo, b->helo);
	assert_string_equal(a->from, b->from);
}

static void test_event_codec(void **state)
{
	uint8_t buf[3 * JOURNAL_EVENT_MAX];
	struct tl_event ev[3], back;
	struct rd r;
	size_t n = 0, i;

	(void)state;
	full_event(&ev[0]);
	tl_event_init(&ev[1]);
	ev[1].time = 0;
	assert_int_equal(tl_ip_parse("192.0.2.1", 9, &ev[1].ip), 0);
	full_event(&ev[2]);
	assert_int_equal(tl_ip_parse("255.255.255.255", 15, &ev[2].ip), 0);
	ev[2].kind = TL_KIND_MALWARE;
	ev[2].ntags = 0;
	for (i = 0; i < 3; i++) {
		size_t k = journal_event_encode(&ev[i], buf + n);

		assert_true(k <= JOURNAL_EVENT_MAX);
		n += k;
	}
	r = (struct rd){buf, buf + n, false};
	for (i = 0; i < 3; i++) {
		journal_event_decode(&r, &back);
		assert_false(r.err);
		assert_same_event(&ev[i], &back);
	}
	assert_ptr_equal(r.p, r.end);
	/* nothing left: an error, not an event */
	journal_event_decode(&r, &back);
	assert_true(r.err);
}

static void test_event_decode_bad(void **state)
{
	uint8_t buf[JOURNAL_EVENT_MAX], copy[JOURNAL_EVENT_MAX];
	struct tl_event ev, back;
	struct rd r;
	size_t n, i;

	(void)state;
	full_event(&ev);
	n = journal_event_encode(&ev, buf);
	/* every truncation, each in a buffer of exactly that size */
	for (i = 0; i < n; i++) {
		uint8_t *p = malloc(i ? i : 1);

		assert_non_null(p);
		memcpy(p, buf, i);
		r = (struct rd){p, p + i, false};
		journal_event_decode(&r, &back);
		assert_true(r.err);
		assert_ptr_equal(r.p, r.end);
		free(p);
	}
	/* bad type, family, kind, count, tag count, tag */
	tl_event_init(&ev);
	assert_int_equal(tl_ip_parse("192.0.2.1", 9, &ev.ip), 0);
	assert_int_equal(tl_event_add_tag(&ev, "tag", 3), 0);
	n = journal_event_encode(&ev, buf);
	/* layout: type, time (1 byte), family, 4 address bytes, kind,
	 * count, rcpts, size, ntags, tag... */
	assert_int_equal(buf[0], 1);
	assert_int_equal(buf[2], 4);
	{
		static const struct {
			size_t off;
			uint8_t val;
		} bad[] = {
			{0, 0}, {0, 2}, {2, 5}, {2, 0}, {7, 4}, {7, 255},
			{8, 0}, {11, 9}, {13, 'T' + 0x40}, {13, ' '},
		};

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			memcpy(copy, buf, n);
			copy[bad[i].off] = bad[i].val;
			r = (struct rd){copy, copy + n, false};
			journal_event_decode(&r, &back);
			if (!r.err)
				fail_msg("byte %zu = %u accepted", bad[i].off,
					 bad[i].val);
		}
	}
	/* time past 2199 */
	memcpy(copy, buf, n);
	{
		uint8_t t[16];
		size_t k = varint_put(t, (uint64_t)(TL_DAY_MAX + 2) * 86400);
		size_t m = 0;

		copy[m++] = 1;
		memcpy(copy + m, t, k);
		m += k;
		memcpy(copy + m, buf + 2, n - 2);
		m += n - 2;
		r = (struct rd){copy, copy + m, false};
		journal_event_decode(&r, &back);
		assert_true(r.err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_replay, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reopen_append, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_not_last, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_torn_segment_header, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
		cmocka_unit_test(test_event_codec),
		cmocka_unit_test(test_event_decode_bad),
	};

	return cmocka_run_group_tests_name("journal", tests, NULL, NULL);
}
