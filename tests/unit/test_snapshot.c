/* SPDX-License-Identifier: MIT */
/* test_snapshot.c -- the compiled listed set: build, load, search, refuse */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zlib.h>

#include "policy/oplist.h"
#include "policy/snapshot.h"
#include "trapline/config.h"
#include "trapline/err.h"

static char dir[64], store[128], path[128], rpath[128];
static const char *src = path; /* what load_mutated copies */
static const struct snap_info *built; /* what load_mutated says was built */
static struct snap_info path_info;   /* the build of path */
static struct tl_config cfg;
static struct tl_policy pol;
static tl_day today;

static struct tl_ip ip_of(const char *s)
{
	struct tl_ip ip;

	if (tl_ip_parse(s, strlen(s), &ip) != 0)
		fail_msg("bad ip %s", s);
	return ip;
}

static void add(struct tl_store *s, const char *ip, tl_day day,
		enum tl_kind kind)
{
	struct tl_event ev;

	tl_event_init(&ev);
	ev.ip = ip_of(ip);
	ev.time = (int64_t)day * 86400 + 3600;
	ev.kind = (uint8_t)kind;
	assert_int_equal(tl_store_append(s, &ev), 0);
}

static int setup(void **state)
{
	struct tl_store_opts o = {1ull << 30, false};
	struct tl_store *s;
	struct snap_info info;
	int i;

	(void)state;
	strcpy(dir, "/tmp/test_snapshot_XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(store, sizeof(store), "%s/store", dir);
	snprintf(path, sizeof(path), "%s/bl.snap", dir);
	tl_config_defaults(&cfg);
	tl_policy_from_config(&pol, &cfg);
	today = tl_day_from_civil(2026, 11, 27);
	assert_int_equal(tl_store_open(store, TL_STORE_WRITE, &o, &s), 0);
	add(s, "81.2.69.160", today - 1, TL_KIND_SPAM);       /* listed */
	add(s, "81.2.69.160", today - 3, TL_KIND_AUTH);
	add(s, "81.2.69.161", today - 30, TL_KIND_SPAM);      /* lapsed */
	add(s, "10.1.2.3", today, TL_KIND_SPAM);              /* never */
	add(s, "2a02:c7f::1", today, TL_KIND_DICTIONARY);     /* v6 */
	for (i = 0; i < 600; i++) /* two years, every day: persistent */
		add(s, "81.2.69.162", today - 599 + i, TL_KIND_MALWARE);
	assert_int_equal(tl_store_commit(s), 0);
	assert_int_equal(snap_build(s, &pol, today, 2026112701, path, &info,
				    false), 0);
	/* Built on one thread (beside a server), the body is the same. */
	{
		char one[160];
		struct snap_info i1;

		snprintf(one, sizeof(one), "%s/one.snap", dir);
		assert_int_equal(snap_build(s, &pol, today, 2026112701, one,
					    &i1, true), 0);
		assert_int_equal(i1.crc, info.crc);
		assert_int_equal(i1.bytes, info.bytes);
		assert_int_equal(i1.n4, info.n4);
	}
	tl_store_close(s);
	assert_int_equal(info.n4, 2);
	assert_int_equal(info.n6, 1);
	assert_int_equal(info.nh4, 4);
	assert_int_equal(info.nh6, 1);
	path_info = info;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	tl_config_free(&cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_lookup(void **state)
{
	struct snap *sn;
	struct snap_listing li;
	struct snap_history h;
	struct snap_info info;
	struct tl_ip a;

	(void)state;
	assert_int_equal(snap_load(path, &sn), 0);
	snap_get_info(sn, &info);
	assert_int_equal(info.serial, 2026112701);
	assert_int_equal(info.day, today);
	a = ip_of("81.2.69.160");
	assert_true(snap_lookup(sn, &a, &li));
	assert_int_equal(li.codes, SNAP_SPAM | SNAP_AUTH);
	assert_int_equal(li.first, today - 3);
	assert_int_equal(li.last, today - 1);
	a = ip_of("81.2.69.162");
	assert_true(snap_lookup(sn, &a, &li));
	assert_int_equal(li.codes, SNAP_MALWARE | SNAP_PERSISTENT);
	a = ip_of("81.2.69.161");
	assert_false(snap_lookup(sn, &a, &li));
	assert_true(snap_history(sn, &a, &h)); /* in the history all the same */
	assert_int_equal(h.kinds, 1);
	assert_int_equal(h.first, today - 30);
	assert_int_equal(h.last, today - 30);
	a = ip_of("10.1.2.3");
	assert_false(snap_lookup(sn, &a, &li));
	a = ip_of("2a02:c7f::1");
	assert_true(snap_lookup(sn, &a, &li));
	assert_int_equal(li.codes, SNAP_DICTIONARY);
	a = ip_of("81.2.69.163");
	assert_false(snap_lookup(sn, &a, &li));
	assert_false(snap_history(sn, &a, &h));
	a = ip_of("81.2.69.162");
	assert_true(snap_history(sn, &a, &h));
	assert_int_equal(h.kinds, 8 | 16);
	assert_int_equal(h.last - h.first, 599);
	snap_free(sn);
	assert_int_equal(snap_code_octet(0), 2);
	assert_int_equal(snap_code_octet(5), 10);
}

/* Copy the snapshot with @mutate applied; then load the copy. */
static int load_mutated(void (*mutate)(uint8_t *p, size_t *len))
{
	static uint8_t buf[1 << 16];
	char bad[160];
	struct snap *sn = NULL;
	size_t len;
	FILE *f = fopen(src, "rb");
	int fd, rc;

	assert_non_null(f);
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	mutate(buf, &len);
	snprintf(bad, sizeof(bad), "%s/bad.snap", dir);
	fd = open(bad, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
	rc = snap_load_built(bad, built, &sn);
	snap_free(sn);
	return rc;
}

static void cut(uint8_t *p, size_t *len)
{
	(void)p;
	*len -= 3;
}

static void cut_header(uint8_t *p, size_t *len)
{
	(void)p;
	*len = 40;
}

static void flip_body(uint8_t *p, size_t *len)
{
	p[*len - 5] ^= 0x10;
}

static void flip_header(uint8_t *p, size_t *len)
{
	(void)len;
	p[20] ^= 1; /* the serial */
}

static void magic(uint8_t *p, size_t *len)
{
	(void)len;
	p[0] = 'X';
}

static void grow(uint8_t *p, size_t *len)
{
	p[*len] = 0;
	(*len)++;
}

static void test_damage_is_refused(void **state)
{
	struct snap *sn;

	(void)state;
	assert_int_equal(load_mutated(cut), TL_ECORRUPT);
	assert_int_equal(load_mutated(cut_header), TL_ECORRUPT);
	assert_int_equal(load_mutated(flip_body), TL_ECORRUPT);
	assert_int_equal(load_mutated(flip_header), TL_ECORRUPT);
	assert_int_equal(load_mutated(magic), TL_ECORRUPT);
	assert_int_equal(load_mutated(grow), TL_ECORRUPT);
	assert_int_equal(snap_load("/nonexistent/x.snap", &sn), TL_ENOENT);
}

static void same(uint8_t *p, size_t *len)
{
	(void)p;
	(void)len;
}

/* A server that built the file itself skips reading its body for the
 * checksum only when the header is that build's; any other file, or the
 * same one with another build's serial, is checked whole. */
static void test_own_build_loads_without_a_second_read(void **state)
{
	struct snap_info other = path_info;
	struct snap *sn;

	(void)state;
	assert_true(path_info.bytes > 0 && path_info.crc != 0);
	assert_int_equal(snap_load_built(path, &path_info, &sn), 0);
	snap_free(sn);
	built = &path_info;
	assert_int_equal(load_mutated(same), 0);
	assert_int_equal(load_mutated(cut), TL_ECORRUPT);
	assert_int_equal(load_mutated(flip_header), TL_ECORRUPT);
	other.serial++;
	built = &other;
	assert_int_equal(load_mutated(flip_body), TL_ECORRUPT);
	other = path_info;
	other.crc ^= 1;
	assert_int_equal(load_mutated(flip_body), TL_ECORRUPT);
	built = NULL;
	assert_int_equal(load_mutated(flip_body), TL_ECORRUPT);
}

/*
 * Build DIR/@name, map it, build it again forty days on (when
 * 81.2.69.160 has lapsed), and check: no temporary file left, the path
 * has the new snapshot, the old mapping still answers from the old one.
 * Returns 0, or the number of the check that failed (so that a child
 * process can say it).
 */
static int rebuild_and_check(const char *name)
{
	struct tl_store_opts o = {1ull << 30, false};
	struct snap_info info, got;
	struct snap_listing li;
	struct tl_store *s;
	struct snap *old = NULL, *sn = NULL;
	struct tl_ip a = ip_of("81.2.69.160");
	struct stat sb;
	char p[160], tmp[170];
	int bad = 0;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", p);
	if (tl_store_open(store, TL_STORE_READ, &o, &s) != 0)
		return 1;
	if (snap_build(s, &pol, today, 7, p, &info, true) != 0)
		bad = 2;
	else if (snap_load(p, &old) != 0)
		bad = 3;
	else if (snap_build(s, &pol, today + 40, 8, p, &info, true) != 0)
		bad = 4;
	tl_store_close(s);
	if (!bad && stat(tmp, &sb) == 0)
		bad = 5;
	else if (!bad && snap_load(p, &sn) != 0)
		bad = 6;
	if (!bad) {
		snap_get_info(sn, &got);
		if (got.serial != 8 || snap_lookup(sn, &a, &li))
			bad = 7;
		snap_get_info(old, &got);
		if (!bad && (got.serial != 7 || !snap_lookup(old, &a, &li)))
			bad = 8;
	}
	if (old)
		snap_free(old);
	if (sn)
		snap_free(sn);
	return bad;
}

/* A rebuild puts the new file in the old one's place: the path then holds
 * the new build, nothing is left beside it, and a server still mapping
 * the old file answers from it until it lets go. */
static void test_rebuild_replaces_the_file_in_place(void **state)
{
	(void)state;
	assert_int_equal(rebuild_and_check("again.snap"), 0);
}

/* Make renameat2(2) with RENAME_EXCHANGE fail with EINVAL in this
 * process, as on a file system without the exchange; a plain rename
 * (which glibc makes a renameat2 on some architectures) still works.
 * Returns 0 or -1. */
static int refuse_exchange(void)
{
	/* The low half of the flags argument (64 bits). */
	const unsigned flags_lo = offsetof(struct seccomp_data, args[4]) +
				  (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__ ? 4
									 : 0);
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_renameat2, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, flags_lo),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, RENAME_EXCHANGE, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EINVAL),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {sizeof(f) / sizeof(f[0]), f};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

/* Where the exchange is refused (EINVAL: some network file systems), a
 * rebuild falls back to rename and comes out the same. Run in a child,
 * which first checks that the exchange is refused there (and says when
 * it cannot set that up: no seccomp filters here). */
static void test_rebuild_without_exchange(void **state)
{
	char a[160], b[160];
	int st, fd;
	pid_t pid;

	(void)state;
	snprintf(a, sizeof(a), "%s/xa", dir);
	snprintf(b, sizeof(b), "%s/xb", dir);
	fd = open(a, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0 && close(fd) == 0);
	fd = open(b, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0 && close(fd) == 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (refuse_exchange() < 0)
			_exit(20);
		if (renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) == 0 ||
		    errno != EINVAL)
			_exit(21);
		_exit(rebuild_and_check("noexchange.snap"));
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) == 20)
		skip(); /* no seccomp filter: the exchange cannot be refused */
	assert_int_equal(WEXITSTATUS(st), 0);
}

struct racer {
	const char *path;
	int rc;
	atomic_bool done;
};

static void *build_in_thread(void *arg)
{
	struct tl_store_opts o = {1ull << 30, false};
	struct racer *r = arg;
	struct tl_store *s;
	int rc;

	rc = tl_store_open(store, TL_STORE_READ, &o, &s);
	if (rc == 0) {
		rc = snap_build(s, &pol, today, 9, r->path, NULL, true);
		tl_store_close(s);
	}
	r->rc = rc;
	atomic_store(&r->done, true);
	return NULL;
}

/* Two builders of one path take turns at writing and swapping in: while
 * another holds the directory, a build waits, and the path keeps the
 * snapshot it had. */
static void test_builders_of_one_path_take_turns(void **state)
{
	struct racer r = {0};
	struct snap_info got;
	struct snap *sn;
	struct timespec ms200 = {0, 200000000};
	pthread_t th;
	char p[160];
	bool waited;
	int dfd;

	(void)state;
	snprintf(p, sizeof(p), "%s/turns.snap", dir);
	r.path = p;
	build_in_thread(&r);
	assert_int_equal(r.rc, 0);
	atomic_store(&r.done, false);
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	assert_int_equal(flock(dfd, LOCK_EX), 0);
	if (pthread_create(&th, NULL, build_in_thread, &r) != 0) {
		close(dfd);
		fail_msg("pthread_create");
	}
	nanosleep(&ms200, NULL);
	waited = !atomic_load(&r.done); /* still at the lock */
	close(dfd);
	pthread_join(th, NULL);
	assert_true(waited);
	assert_int_equal(r.rc, 0);
	assert_int_equal(snap_load(p, &sn), 0);
	snap_get_info(sn, &got);
	assert_int_equal(got.serial, 9);
	snap_free(sn);
}

static void oplist_add(struct tl_oplist *l, uint8_t kind, const char *pfx,
		       tl_day day)
{
	struct tl_op_entry e;

	memset(&e, 0, sizeof(e));
	e.kind = kind;
	assert_int_equal(tl_prefix_parse(pfx, strlen(pfx), true, &e.pfx), 0);
	e.added = (int64_t)day * 86400 + 7;
	e.expires = TL_OPLIST_NO_EXPIRY;
	strcpy(e.who, "test");
	strcpy(e.reason, "reason");
	assert_int_equal(tl_oplist_put(l, &e), 0);
}

static void test_ranges(void **state)
{
	struct tl_store *s;
	struct tl_oplist l;
	struct tl_policy p2 = pol;
	struct snap_info info;
	struct snap_listing li;
	struct snap *sn;
	struct tl_ip a, lo, hi;
	tl_day listed = today - 10;

	(void)state;
	tl_oplist_init(&l);
	oplist_add(&l, TL_OP_LIST, "81.2.69.128/25", listed);
	oplist_add(&l, TL_OP_ALLOW, "81.2.69.162", listed);
	oplist_add(&l, TL_OP_LIST, "10.0.0.0/8", listed);
	oplist_add(&l, TL_OP_LIST, "127.0.0.0/30", listed);
	oplist_add(&l, TL_OP_LIST, "2a02:c7f::/48", listed);
	assert_int_equal(tl_oplist_compile(&l, today), 0);
	p2.ops = &l;
	snprintf(rpath, sizeof(rpath), "%s/ranges.snap", dir);
	assert_int_equal(tl_store_open(store, TL_STORE_READ, NULL, &s), 0);
	assert_int_equal(snap_build(s, &p2, today, 7, rpath, &info, false), 0);
	tl_store_close(s);
	/* 10/8, 81.2.69.128-161, 81.2.69.163-255, 127.0.0.0, 127.0.0.2-3 */
	assert_int_equal(info.nr4, 5);
	assert_int_equal(info.nr6, 1);
	assert_int_equal(snap_load(rpath, &sn), 0);
	a = ip_of("81.2.69.160"); /* history and operator */
	assert_true(snap_lookup(sn, &a, &li));
	assert_int_equal(li.codes, SNAP_SPAM | SNAP_AUTH | SNAP_OPERATOR);
	assert_int_equal(li.first, today - 3);
	a = ip_of("81.2.69.161"); /* lapsed, but operator-listed */
	assert_true(snap_lookup(sn, &a, &li));
	assert_int_equal(li.codes, SNAP_OPERATOR);
	a = ip_of("81.2.69.162"); /* persistent, but allowlisted */
	assert_false(snap_lookup(sn, &a, &li));
	a = ip_of("81.2.69.200"); /* only the range */
	assert_true(snap_lookup(sn, &a, &li));
	assert_int_equal(li.codes, SNAP_OPERATOR);
	assert_int_equal(li.first, listed);
	assert_int_equal(li.last, today);
	a = ip_of("81.2.69.127");
	assert_false(snap_lookup(sn, &a, &li));
	a = ip_of("10.1.2.3"); /* never-list, overridden by the operator */
	assert_true(snap_lookup(sn, &a, &li));
	assert_int_equal(li.codes, SNAP_OPERATOR);
	a = ip_of("127.0.0.1"); /* RFC 5782: never */
	assert_false(snap_lookup(sn, &a, &li));
	a = ip_of("127.0.0.3");
	assert_true(snap_lookup(sn, &a, &li));
	a = ip_of("127.0.0.4");
	assert_false(snap_lookup(sn, &a, &li));
	a = ip_of("2a02:c7f::1");
	assert_true(snap_lookup(sn, &a, &li));
	assert_int_equal(li.codes, SNAP_DICTIONARY | SNAP_OPERATOR);
	a = ip_of("2a02:c7f:0:ffff::9");
	assert_true(snap_lookup(sn, &a, &li));
	a = ip_of("2a02:c7f:1::");
	assert_false(snap_lookup(sn, &a, &li));
	/* the public walk, for exports and transfers */
	assert_int_equal(snap_range_count(sn, 4), 5);
	snap_range_at(sn, 4, 1, &lo, &hi, &li);
	a = ip_of("81.2.69.128");
	assert_int_equal(tl_ip_cmp(&lo, &a), 0);
	a = ip_of("81.2.69.161");
	assert_int_equal(tl_ip_cmp(&hi, &a), 0);
	assert_int_equal(li.codes, SNAP_OPERATOR);
	snap_range_at(sn, 6, 0, &lo, &hi, &li);
	a = ip_of("2a02:c7f:0:ffff:ffff:ffff:ffff:ffff");
	assert_int_equal(tl_ip_cmp(&hi, &a), 0);
	snap_free(sn);
	tl_oplist_free(&l);
}

/* A range name as text: "*.2.0.192", "0.3.0.192", nibbles for IPv6. */
static void rname_text(const struct snap_rname *rn, char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	const struct tl_ip *ip = &rn->name.ip;
	size_t o = 0;
	int i;

	o += (size_t)snprintf(buf, size, "%s", rn->wildcard ? "*" : "");
	if (ip->family == 4)
		for (i = rn->name.len / 8 - 1; i >= 0; i--)
			o += (size_t)snprintf(buf + o, size - o, "%s%u",
					      o ? "." : "", ip->a[i]);
	else
		for (i = rn->name.len / 4 - 1; i >= 0; i--)
			o += (size_t)snprintf(buf + o, size - o, "%s%c",
					      o ? "." : "",
					      hex[i & 1 ? ip->a[i / 2] & 15
							: ip->a[i / 2] >> 4]);
}

static void test_range_names(void **state)
{
	static const char *const want4[] = {
		"*.10",                   /* /8: one wildcard, */
		"*.1.10", "*.2.1.10",     /* and the nodes above 10.1.2.3 (in
					   * the history: an exact entry) */
		"*.2.81",                 /* /16 ... */
		"*.69.2.81",              /* ... and the node above the exact
					   * 81.2.69.160 and .162 */
		"*.2.0.192",              /* /24 */
		"0.3.0.192",              /* /32 (merged with the /24) */
		"*.100.51.198", "*.101.51.198", /* /22: four */
		"*.102.51.198", "*.103.51.198",
	};
	struct tl_store *s;
	struct tl_oplist l;
	struct tl_policy p2 = pol;
	struct snap_info info;
	struct snap_listing li;
	struct snap_rname_iter it, back;
	struct snap_rname rn;
	struct snap *sn;
	struct tl_ip a;
	char buf[200], want[200], txt[200];
	tl_day listed = today - 10;
	size_t n = 0, i;

	(void)state;
	tl_oplist_init(&l);
	oplist_add(&l, TL_OP_LIST, "10.0.0.0/8", listed);
	oplist_add(&l, TL_OP_LIST, "81.2.0.0/16", listed);
	oplist_add(&l, TL_OP_LIST, "192.0.2.0/24", listed);
	oplist_add(&l, TL_OP_LIST, "192.0.3.0/32", listed);
	oplist_add(&l, TL_OP_LIST, "198.51.100.0/22", listed);
	oplist_add(&l, TL_OP_LIST, "203.0.113.64/26", listed);
	oplist_add(&l, TL_OP_LIST, "2001:db8::/47", listed);
	oplist_add(&l, TL_OP_LIST, "2a02:c7f::/48", listed);
	assert_int_equal(tl_oplist_compile(&l, today), 0);
	p2.ops = &l;
	snprintf(rpath, sizeof(rpath), "%s/names.snap", dir);
	assert_int_equal(tl_store_open(store, TL_STORE_READ, NULL, &s), 0);
	assert_int_equal(snap_build(s, &p2, today, 8, rpath, &info, false), 0);
	tl_store_close(s);
	assert_int_equal(snap_load(rpath, &sn), 0);

	snap_rnames_start(&it, sn, 4);
	while (snap_rnames_next(&it, &rn)) {
		assert_true(rn.li.ranged);
		assert_int_equal(rn.li.codes, SNAP_OPERATOR);
		rname_text(&rn, buf, sizeof(buf));
		if (n < sizeof(want4) / sizeof(want4[0])) {
			assert_string_equal(buf, want4[n]);
		} else { /* /26: 64 names of their own */
			snprintf(want, sizeof(want), "%zu.113.0.203",
				 64 + n - sizeof(want4) / sizeof(want4[0]));
			assert_string_equal(buf, want);
			assert_false(rn.wildcard);
			assert_int_equal(rn.li.block.len, 26);
		}
		n++;
	}
	assert_int_equal(n, sizeof(want4) / sizeof(want4[0]) + 64);

	/* IPv6: a /47 is two /48 wildcards; the /48 holding the exact
	 * 2a02:c7f::1 is one wildcard and one below each node down to it
	 * (nibbles 13 to 31: 19). */
	snap_rnames_start(&it, sn, 6);
	n = 0;
	while (snap_rnames_next(&it, &rn)) {
		rname_text(&rn, buf, sizeof(buf));
		if (n == 0)
			assert_string_equal(buf, "*.0.0.0.0.8.b.d.0.1.0.0.2");
		if (n == 1)
			assert_string_equal(buf, "*.1.0.0.0.8.b.d.0.1.0.0.2");
		if (n == 2)
			assert_string_equal(buf, "*.0.0.0.0.f.7.c.0.2.0.a.2");
		if (n == 21)
			assert_string_equal(buf, "*.0.0.0.0.0.0.0.0.0.0.0.0."
					    "0.0.0.0.0.0.0.0.0.0.0."
					    "f.7.c.0.2.0.a.2");
		assert_true(rn.wildcard);
		n++;
	}
	assert_int_equal(n, 22);
	/* A copy of the cursor steps back. */
	snap_rnames_start(&it, sn, 4);
	assert_true(snap_rnames_next(&it, &rn));
	back = it;
	assert_true(snap_rnames_next(&it, &rn));
	rname_text(&rn, want, sizeof(want));
	it = back;
	assert_true(snap_rnames_next(&it, &rn));
	rname_text(&rn, buf, sizeof(buf));
	assert_string_equal(buf, want);

	/* A lookup names the block; "$" in the TXT is that block. */
	a = ip_of("198.51.101.7");
	assert_true(snap_lookup(sn, &a, &li));
	assert_true(li.ranged);
	snap_txt("$ %f", &a, &li, txt, sizeof(txt));
	assert_string_equal(txt, "198.51.100.0/22 2026-11-17");
	a = ip_of("192.0.3.0");
	assert_true(snap_lookup(sn, &a, &li));
	snap_txt("$", &a, &li, txt, sizeof(txt));
	assert_string_equal(txt, "192.0.3.0/32");
	a = ip_of("203.0.113.100");
	assert_true(snap_lookup(sn, &a, &li));
	snap_txt("$", NULL, &li, txt, sizeof(txt));
	assert_string_equal(txt, "203.0.113.64/26");
	a = ip_of("2001:db8:1::5");
	assert_true(snap_lookup(sn, &a, &li));
	snap_txt("$", &a, &li, txt, sizeof(txt));
	assert_string_equal(txt, "2001:db8::/47");
	a = ip_of("81.2.69.160"); /* exact: the address itself */
	assert_true(snap_lookup(sn, &a, &li));
	assert_false(li.ranged);
	snap_txt("$", &a, &li, txt, sizeof(txt));
	assert_string_equal(txt, "81.2.69.160");
	snap_txt("$", NULL, &li, txt, sizeof(txt));
	assert_string_equal(txt, "$");
	for (i = 0; i < 3; i++) { /* in the history: an exact entry */
		a = ip_of(i == 0 ? "81.2.70.1" : i == 1 ? "81.2.69.161"
							: "81.2.69.162");
		assert_true(snap_lookup(sn, &a, &li));
		assert_int_equal(li.ranged, i == 0);
	}
	snap_free(sn);
	tl_oplist_free(&l);
}

/* Recompute both checksums after a mutation, so the structure checks
 * behind them are what refuses the file. */
static void fix_crcs(uint8_t *p, size_t len)
{
	uint32_t c;

	c = (uint32_t)crc32(crc32(0, NULL, 0), p + 88, (uInt)(len - 88));
	memcpy(p + 80, &c, 4);
	c = (uint32_t)crc32(crc32(0, NULL, 0), p, 84);
	memcpy(p + 84, &c, 4);
}

/* Offset of the IPv4 ranges' lo array. */
static size_t r4_at(const uint8_t *p)
{
	uint64_t n4, n6;

	memcpy(&n4, p + 32, 8);
	memcpy(&n6, p + 40, 8);
	return 88 + n4 * 8 + n6 * 20;
}

static uint64_t nr4_of(const uint8_t *p)
{
	uint64_t n;

	memcpy(&n, p + 64, 8);
	return n;
}

static void range_backwards(uint8_t *p, size_t *len)
{
	size_t r = r4_at(p);
	uint32_t lo;

	memcpy(&lo, p + r, 4); /* hi[0] = lo[0] - 1 */
	lo--;
	memcpy(p + r + nr4_of(p) * 4, &lo, 4);
	fix_crcs(p, *len);
}

static void range_overlap(uint8_t *p, size_t *len)
{
	size_t r = r4_at(p);

	memcpy(p + r + 4, p + r, 4); /* lo[1] = lo[0] */
	fix_crcs(p, *len);
}

static void range_code(uint8_t *p, size_t *len)
{
	size_t r = r4_at(p) + nr4_of(p) * 8;

	p[r] |= 1; /* SNAP_SPAM in a range */
	fix_crcs(p, *len);
}

static void range_count(uint8_t *p, size_t *len)
{
	uint64_t n = nr4_of(p) + 1; /* more ranges than bytes */

	memcpy(p + 64, &n, 8);
	fix_crcs(p, *len);
}

static void version1(uint8_t *p, size_t *len)
{
	p[8] = 1; /* a v1 file: 72-byte header, refused by its version */
	*len = 72;
}

static void test_bad_ranges_are_refused(void **state)
{
	(void)state;
	src = rpath;
	assert_int_equal(load_mutated(range_backwards), TL_ECORRUPT);
	assert_int_equal(load_mutated(range_overlap), TL_ECORRUPT);
	assert_int_equal(load_mutated(range_code), TL_ECORRUPT);
	assert_int_equal(load_mutated(range_count), TL_ECORRUPT);
	assert_int_equal(load_mutated(version1), TL_EVERSION);
	src = path;
}

/* Huge pages for anonymous memory here? As snapshot.c asks. */
static bool thp_on(void)
{
	char b[128] = "";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");

	if (f) {
		if (!fgets(b, sizeof(b), f))
			b[0] = 0;
		fclose(f);
	}
	return b[0] && !strstr(b, "[never]");
}

/*
 * A list large enough for its IPv4 search to be copied into huge pages
 * (240,000 listed: 2.2 MB of keys, codes and index): every listed
 * address is found there with its code, its neighbours are not, and the
 * history and the test point still answer.
 */
static void test_large_list_searched_in_huge_pages(void **state)
{
	struct tl_store_opts o = {1ull << 30, false};
	struct tl_store *s;
	struct snap_info info;
	struct snap_listing li;
	struct snap_history h;
	struct snap *sn;
	char bstore[160], bpath[160];
	const uint32_t n = 240000, base = 20u << 24, step = 131;
	uint32_t i;

	(void)state;
	snprintf(bstore, sizeof(bstore), "%s/big", dir);
	snprintf(bpath, sizeof(bpath), "%s/big.snap", dir);
	assert_int_equal(tl_store_open(bstore, TL_STORE_WRITE, &o, &s), 0);
	for (i = 0; i < n; i++) {
		struct tl_event ev;

		tl_event_init(&ev);
		tl_ip_from_v4(&ev.ip, base + i * step);
		ev.time = (int64_t)(today - 1) * 86400 + 3600;
		ev.kind = (uint8_t)(i % 2 ? TL_KIND_SPAM : TL_KIND_AUTH);
		assert_int_equal(tl_store_append(s, &ev), 0);
	}
	assert_int_equal(tl_store_commit(s), 0);
	assert_int_equal(snap_build(s, &pol, today, 5, bpath, &info, false), 0);
	tl_store_close(s);
	assert_int_equal(info.n4, n);
	assert_int_equal(snap_load(bpath, &sn), 0);
	snap_get_info(sn, &info);
	if (thp_on())
		assert_true(info.hot);
	for (i = 0; i < n; i++) {
		struct tl_ip ip;

		tl_ip_from_v4(&ip, base + i * step);
		assert_true(snap_lookup(sn, &ip, &li));
		assert_int_equal(li.codes, i % 2 ? SNAP_SPAM : SNAP_AUTH);
		tl_ip_from_v4(&ip, base + i * step + 1);
		assert_false(snap_lookup(sn, &ip, &li));
	}
	{
		struct tl_ip ip;

		tl_ip_from_v4(&ip, base - 1);
		assert_false(snap_lookup(sn, &ip, &li));
		tl_ip_from_v4(&ip, base + n * step);
		assert_false(snap_lookup(sn, &ip, &li));
		tl_ip_from_v4(&ip, base + 7 * step);
		assert_true(snap_history(sn, &ip, &h));
		assert_int_equal(h.last, today - 1);
	}
	snap_free(sn);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_large_list_searched_in_huge_pages),
		cmocka_unit_test(test_damage_is_refused),
		cmocka_unit_test(test_own_build_loads_without_a_second_read),
		cmocka_unit_test(test_rebuild_replaces_the_file_in_place),
		cmocka_unit_test(test_rebuild_without_exchange),
		cmocka_unit_test(test_builders_of_one_path_take_turns),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_range_names),
		cmocka_unit_test(test_bad_ranges_are_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
