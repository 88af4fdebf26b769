/* SPDX-License-Identifier: MIT */
/* test_tls.c -- STARTTLS: certificates, handshakes over a socketpair, peers
 * that send garbage or go away */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <limits.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "trap/tls.h"
#include "trapline/alloc.h"
#include "trapline/err.h"

#define HOST "trap.example.org"

struct tmp {
	char dir[64]; /* mkdtemp: the data directory */
	char cert[128], key[128];
};

static int setup(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	strcpy(t->dir, "/tmp/test_tls_XXXXXX");
	if (!mkdtemp(t->dir)) {
		free(t);
		return -1;
	}
	snprintf(t->cert, sizeof(t->cert), "%s/tls/cert.pem", t->dir);
	snprintf(t->key, sizeof(t->key), "%s/tls/key.pem", t->dir);
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

static struct trap_tls *new_auto(const char *dir)
{
	struct trap_tls *s = NULL;

	assert_int_equal(trap_tls_new(NULL, NULL, dir, HOST, &s), 0);
	assert_non_null(s);
	return s;
}

static X509 *read_cert(const char *path)
{
	FILE *fp = fopen(path, "r");
	X509 *x;

	assert_non_null(fp);
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(x);
	return x;
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

static void check_generated(X509 *x)
{
	X509_NAME *subj = X509_get_subject_name(x);
	GENERAL_NAMES *san;
	const GENERAL_NAME *gn;
	BASIC_CONSTRAINTS *bc;
	char cn[256];
	time_t now = time(NULL), t;
	int days, secs;

	assert_int_equal(X509_get_version(x), X509_VERSION_3);
	assert_int_equal(
	    X509_NAME_get_text_by_NID(subj, NID_commonName, cn, sizeof(cn)),
	    strlen(HOST));
	assert_string_equal(cn, HOST);
	assert_int_equal(X509_NAME_cmp(subj, X509_get_issuer_name(x)), 0);

	san = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	assert_non_null(san);
	assert_int_equal(sk_GENERAL_NAME_num(san), 1);
	gn = sk_GENERAL_NAME_value(san, 0);
	assert_int_equal(gn->type, GEN_DNS);
	assert_int_equal(ASN1_STRING_length(gn->d.dNSName), strlen(HOST));
	assert_memory_equal(ASN1_STRING_get0_data(gn->d.dNSName), HOST,
			    strlen(HOST));
	GENERAL_NAMES_free(san);
	assert_int_equal(X509_check_host(x, HOST, 0, 0, NULL), 1);

	bc = X509_get_ext_d2i(x, NID_basic_constraints, NULL, NULL);
	assert_non_null(bc);
	assert_false(bc->ca);
	BASIC_CONSTRAINTS_free(bc);
	assert_true(X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE);
	assert_true(X509_get_extended_key_usage(x) & XKU_SSL_SERVER);
	assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
	assert_int_equal(X509_check_purpose(x, X509_PURPOSE_SSL_SERVER, 0), 1);

	/* notBefore within a minute of now; notAfter 366 days later. */
	t = now - 60;
	assert_true(X509_cmp_time(X509_get0_notBefore(x), &t) > 0);
	t = now + 60;
	assert_true(X509_cmp_time(X509_get0_notBefore(x), &t) < 0);
	assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x),
					X509_get0_notAfter(x)),
			 1);
	assert_int_equal(days, 366);
	assert_int_equal(secs, 0);
}

static void fingerprint(X509 *x, unsigned char md[EVP_MAX_MD_SIZE])
{
	unsigned int n = 0;

	assert_int_equal(X509_digest(x, EVP_sha256(), md, &n), 1);
	assert_int_equal(n, 32);
}

static void test_generate_and_reuse(void **state)
{
	struct tmp *t = *state;
	struct trap_tls *s;
	unsigned char fp1[EVP_MAX_MD_SIZE], fp2[EVP_MAX_MD_SIZE];
	char dir[128];
	struct stat st;
	X509 *x1, *x2;

	s = new_auto(t->dir);
	trap_tls_free(s);
	snprintf(dir, sizeof(dir), "%s/tls", t->dir);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(stat(t->key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(t->cert, &st), 0);
	x1 = read_cert(t->cert);
	check_generated(x1);
	fingerprint(x1, fp1);

	/* No temporary files left behind. */
	snprintf(dir, sizeof(dir), "%s/tls/key.pem.tmp", t->dir);
	assert_int_equal(access(dir, F_OK), -1);

	s = new_auto(t->dir);
	trap_tls_free(s);
	x2 = read_cert(t->cert);
	fingerprint(x2, fp2);
	assert_memory_equal(fp1, fp2, 32);
	assert_int_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(x1),
					  X509_get0_serialNumber(x2)),
			 0);
	X509_free(x2);

	/* A new host name makes a new certificate. */
	{
		struct trap_tls *s2 = NULL;

		assert_int_equal(
		    trap_tls_new("", "", t->dir, "mx.example.net", &s2), 0);
		trap_tls_free(s2);
	}
	x2 = read_cert(t->cert);
	assert_int_equal(X509_check_host(x2, "mx.example.net", 0, 0, NULL), 1);
	assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(x1),
					      X509_get0_serialNumber(x2)),
			     0);
	X509_free(x2);
	X509_free(x1);
}

/* Another directory's generated pair, for explicit paths and mismatches. */
static void make_pair_in(const char *base, const char *sub, char *dir,
			 size_t size)
{
	snprintf(dir, size, "%s/%s", base, sub);
	assert_int_equal(mkdir(dir, 0700), 0);
	trap_tls_free(new_auto(dir));
}

static void test_explicit_paths(void **state)
{
	struct tmp *t = *state;
	struct trap_tls *s = NULL;
	char a[128], b[128], cert[192], key[192], bkey[192];

	make_pair_in(t->dir, "a", a, sizeof(a));
	make_pair_in(t->dir, "b", b, sizeof(b));
	snprintf(cert, sizeof(cert), "%s/tls/cert.pem", a);
	snprintf(key, sizeof(key), "%s/tls/key.pem", a);
	snprintf(bkey, sizeof(bkey), "%s/tls/key.pem", b);

	/* data and hostname are not needed with explicit paths */
	assert_int_equal(trap_tls_new(cert, key, NULL, NULL, &s), 0);
	assert_non_null(s);
	trap_tls_free(s);

	/* b's key does not match a's certificate */
	s = (struct trap_tls *)1;
	assert_int_equal(trap_tls_new(cert, bkey, NULL, NULL, &s), TL_EINVAL);
	assert_null(s);

	/* one without the other */
	assert_int_equal(trap_tls_new(cert, NULL, t->dir, HOST, &s), TL_EINVAL);
	assert_int_equal(trap_tls_new("", key, t->dir, HOST, &s), TL_EINVAL);

	/* a file that is not there */
	snprintf(key, sizeof(key), "%s/nonexistent.pem", t->dir);
	assert_int_equal(trap_tls_new(key, key, NULL, NULL, &s), TL_EIO);
	assert_null(s);
}

static void test_garbage_pem(void **state)
{
	struct tmp *t = *state;
	struct trap_tls *s = NULL;
	char a[128], cert[192], key[192], junk[192];

	make_pair_in(t->dir, "a", a, sizeof(a));
	snprintf(cert, sizeof(cert), "%s/tls/cert.pem", a);
	snprintf(key, sizeof(key), "%s/tls/key.pem", a);
	snprintf(junk, sizeof(junk), "%s/junk.pem", t->dir);

	write_file(junk, "this is not PEM\n");
	assert_int_equal(trap_tls_new(junk, key, NULL, NULL, &s), TL_EINVAL);
	assert_null(s);
	assert_int_equal(trap_tls_new(cert, junk, NULL, NULL, &s), TL_EINVAL);
	assert_null(s);
	write_file(junk, "-----BEGIN CERTIFICATE-----\nAAAA!!!!\n"
			 "-----END CERTIFICATE-----\n");
	assert_int_equal(trap_tls_new(junk, key, NULL, NULL, &s), TL_EINVAL);
	assert_null(s);

	/* A damaged generated certificate is reported, not overwritten. */
	make_pair_in(t->dir, "b", a, sizeof(a));
	snprintf(cert, sizeof(cert), "%s/tls/cert.pem", a);
	write_file(cert, "garbage\n");
	assert_int_equal(trap_tls_new(NULL, NULL, a, HOST, &s), TL_EINVAL);
	assert_null(s);

	/* No paths and nothing to generate one from. */
	assert_int_equal(trap_tls_new(NULL, NULL, NULL, HOST, &s), TL_EINVAL);
	assert_int_equal(trap_tls_new(NULL, NULL, t->dir, NULL, &s), TL_EINVAL);
	assert_int_equal(trap_tls_new(NULL, NULL, t->dir, "a b", &s),
			 TL_EINVAL);
}

/* --- connections: the server via trap_tls, the client plain OpenSSL --- */

struct pair {
	struct trap_tls *srv;
	struct trap_tls_conn *conn; /* server side, on fd[0] */
	SSL_CTX *cctx;
	SSL *cl; /* client side, on fd[1] */
	int fd[2];
};

static void nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	assert_true(fl >= 0);
	assert_int_equal(fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
}

/* A server and a client that verifies the generated certificate (as its
 * own trust anchor) and the host name; @max_version 0 for any. */
static void pair_open(struct pair *p, const char *dir, int max_version)
{
	char cert[192];

	memset(p, 0, sizeof(*p));
	p->srv = new_auto(dir);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, p->fd), 0);
	nonblock(p->fd[0]);
	nonblock(p->fd[1]);
	assert_int_equal(trap_tls_conn_new(p->srv, p->fd[0], &p->conn), 0);

	snprintf(cert, sizeof(cert), "%s/tls/cert.pem", dir);
	p->cctx = SSL_CTX_new(TLS_client_method());
	assert_non_null(p->cctx);
	assert_int_equal(SSL_CTX_load_verify_locations(p->cctx, cert, NULL), 1);
	SSL_CTX_set_verify(p->cctx, SSL_VERIFY_PEER, NULL);
	if (max_version) {
		SSL_CTX_set_min_proto_version(p->cctx, 0);
		SSL_CTX_set_max_proto_version(p->cctx, max_version);
	}
	p->cl = SSL_new(p->cctx);
	assert_non_null(p->cl);
	assert_int_equal(SSL_set1_host(p->cl, HOST), 1);
	assert_int_equal(SSL_set_fd(p->cl, p->fd[1]), 1);
	SSL_set_connect_state(p->cl);
}

static void pair_close(struct pair *p)
{
	trap_tls_conn_free(p->conn);
	SSL_free(p->cl);
	SSL_CTX_free(p->cctx);
	trap_tls_free(p->srv);
	if (p->fd[0] >= 0)
		close(p->fd[0]);
	if (p->fd[1] >= 0)
		close(p->fd[1]);
}

static bool client_wants(SSL *cl, int ret)
{
	int e = SSL_get_error(cl, ret);

	return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
}

/* Step both sides in turn until both are done. */
static void pair_handshake(struct pair *p)
{
	bool sdone = false, cdone = false;
	int i, r;

	for (i = 0; i < 50 && !(sdone && cdone); i++) {
		if (!sdone) {
			r = trap_tls_handshake(p->conn);
			if (r == 1)
				sdone = true;
			else
				assert_true(r == TRAP_TLS_WANT_READ ||
					    r == TRAP_TLS_WANT_WRITE);
		}
		if (!cdone) {
			ERR_clear_error();
			r = SSL_connect(p->cl);
			if (r == 1)
				cdone = true;
			else
				assert_true(client_wants(p->cl, r));
		}
	}
	assert_true(sdone);
	assert_true(cdone);
	assert_int_equal(SSL_get_verify_result(p->cl), X509_V_OK);
	assert_int_equal(trap_tls_handshake(p->conn), 1);
}

/* Server reads until it has @len bytes. */
static void server_read_all(struct pair *p, char *buf, size_t len)
{
	size_t got = 0;
	int i;

	for (i = 0; i < 10000 && got < len; i++) {
		ssize_t n = trap_tls_read(p->conn, buf + got, len - got);

		if (n > 0)
			got += (size_t)n;
		else
			assert_int_equal(n, TRAP_TLS_WANT_READ);
	}
	assert_int_equal(got, len);
}

static void test_handshake_and_data(void **state)
{
	struct tmp *t = *state;
	static const char greet[] = "220 " HOST " ESMTP\r\n";
	static const char ehlo[] = "EHLO client.example\r\n";
	struct pair p;
	char buf[256], desc[64];
	size_t n;

	pair_open(&p, t->dir, 0);
	assert_int_equal(trap_tls_read(p.conn, buf, sizeof(buf)),
			 TRAP_TLS_WANT_READ);
	pair_handshake(&p);
	assert_string_equal(trap_tls_describe(p.conn, desc, sizeof(desc)),
			    desc);
	assert_memory_equal(desc, "TLSv1.3 ", 8);
	assert_string_equal(SSL_get_version(p.cl), "TLSv1.3");

	/* server to client */
	assert_int_equal(trap_tls_write(p.conn, greet, strlen(greet)),
			 strlen(greet));
	assert_int_equal(SSL_read_ex(p.cl, buf, sizeof(buf), &n), 1);
	assert_int_equal(n, strlen(greet));
	assert_memory_equal(buf, greet, n);

	/* client to server */
	assert_int_equal(trap_tls_read(p.conn, buf, sizeof(buf)),
			 TRAP_TLS_WANT_READ);
	assert_int_equal(SSL_write_ex(p.cl, ehlo, strlen(ehlo), &n), 1);
	server_read_all(&p, buf, strlen(ehlo));
	assert_memory_equal(buf, ehlo, strlen(ehlo));
	assert_int_equal(trap_tls_read(p.conn, buf, sizeof(buf)),
			 TRAP_TLS_WANT_READ);

	/* nothing to do for zero bytes */
	assert_int_equal(trap_tls_write(p.conn, buf, 0), 0);
	assert_int_equal(trap_tls_read(p.conn, buf, 0), 0);

	/* a truncated describe buffer */
	trap_tls_describe(p.conn, desc, 4);
	assert_string_equal(desc, "TLS");
	pair_close(&p);
}

/* More than the socket buffer holds: partial writes, WANT_WRITE, then the
 * same bytes again from a moved buffer. */
static void test_large_transfer(void **state)
{
	struct tmp *t = *state;
	enum { LEN = 1 << 20 };
	unsigned char *src = malloc(LEN), *dst = malloc(LEN), *tmp;
	size_t sent = 0, got = 0, n;
	bool want_write = false;
	struct pair p;
	int i;

	assert_non_null(src);
	assert_non_null(dst);
	for (i = 0; i < LEN; i++)
		src[i] = (unsigned char)(i * 7 + (i >> 11));
	pair_open(&p, t->dir, 0);
	pair_handshake(&p);
	for (i = 0; i < 100000 && got < LEN; i++) {
		/* Write until the socket is full. Each try from a fresh copy,
		 * so a retry after WANT_WRITE comes from a moved buffer. */
		while (sent < LEN) {
			ssize_t r;

			tmp = malloc(LEN - sent);
			assert_non_null(tmp);
			memcpy(tmp, src + sent, LEN - sent);
			r = trap_tls_write(p.conn, tmp, LEN - sent);
			free(tmp);
			if (r == TRAP_TLS_WANT_WRITE) {
				want_write = true;
				break;
			}
			if (r <= 0)
				fail_msg("write: %zd", r);
			sent += (size_t)r;
		}
		ERR_clear_error();
		if (SSL_read_ex(p.cl, dst + got, LEN - got, &n) == 1)
			got += n;
		else
			assert_int_equal(SSL_get_error(p.cl, 0),
					 SSL_ERROR_WANT_READ);
	}
	assert_true(want_write);
	assert_int_equal(got, LEN);
	assert_memory_equal(src, dst, LEN);
	free(src);
	free(dst);
	pair_close(&p);
}

static void test_tls12_client(void **state)
{
	struct tmp *t = *state;
	struct pair p;
	char desc[64], buf[16];
	size_t n;

	pair_open(&p, t->dir, TLS1_2_VERSION);
	pair_handshake(&p);
	trap_tls_describe(p.conn, desc, sizeof(desc));
	assert_memory_equal(desc, "TLSv1.2 ", 8);
	assert_int_equal(SSL_write_ex(p.cl, "QUIT\r\n", 6, &n), 1);
	server_read_all(&p, buf, 6);
	assert_memory_equal(buf, "QUIT\r\n", 6);
	pair_close(&p);
}

/* TLS 1.1 and older are refused: the handshake fails on both sides. */
static void test_old_client_refused(void **state)
{
	struct tmp *t = *state;
	struct pair p;
	int i, r = 0;

	pair_open(&p, t->dir, TLS1_1_VERSION);
	SSL_set_security_level(p.cl, 0);
	for (i = 0; i < 10; i++) {
		ERR_clear_error();
		SSL_connect(p.cl);
		r = trap_tls_handshake(p.conn);
		if (r != TRAP_TLS_WANT_READ)
			break;
	}
	assert_int_equal(r, TRAP_TLS_ERROR);
	assert_int_equal(trap_tls_handshake(p.conn), TRAP_TLS_ERROR);
	pair_close(&p);
}

/* Drive the server's handshake against whatever the peer wrote; the result
 * once it stops wanting to read. */
static int handshake_until_end(struct trap_tls_conn *c)
{
	int i, r = TRAP_TLS_WANT_READ;

	for (i = 0; i < 10 && r == TRAP_TLS_WANT_READ; i++)
		r = trap_tls_handshake(c);
	return r;
}

static void test_garbage_client(void **state)
{
	struct tmp *t = *state;
	static const char *junk[] = {
	    "EHLO x\r\n",
	    "GET / HTTP/1.0\r\n\r\n",
	    "\x16\x03\x01\x00\x05hello",    /* a handshake record of nonsense */
	    "\x80\x2e\x01\x00\x02\x00\x15", /* an SSLv2 hello, cut short */
	    "\x16\x03\x01\xff\xff",	    /* a record longer than allowed */
	};
	struct pair p;
	size_t i;
	int r;

	for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		pair_open(&p, t->dir, 0);
		assert_int_equal(write(p.fd[1], junk[i], strlen(junk[i]) + 1),
				 strlen(junk[i]) + 1);
		shutdown(p.fd[1], SHUT_WR);
		r = handshake_until_end(p.conn);
		assert_true(r == TRAP_TLS_ERROR || r == TRAP_TLS_CLOSED);
		pair_close(&p);
	}

	/* The case of the brief, exactly: no close after it. */
	pair_open(&p, t->dir, 0);
	assert_int_equal(write(p.fd[1], "EHLO x\r\n", 8), 8);
	assert_int_equal(handshake_until_end(p.conn), TRAP_TLS_ERROR);
	assert_int_equal(trap_tls_handshake(p.conn), TRAP_TLS_ERROR);
	pair_close(&p);
}

/* Random bytes of every length up to 300, a few times over: never a
 * crash, always an end. */
static void test_random_garbage(void **state)
{
	struct tmp *t = *state;
	unsigned char buf[300];
	struct pair p;
	size_t len, i;
	int round, r;

	srand(12345);
	for (round = 0; round < 3; round++) {
		for (len = 1; len <= sizeof(buf); len += 7) {
			for (i = 0; i < len; i++)
				buf[i] = (unsigned char)rand();
			if (round == 1)
				buf[0] = 0x16; /* a handshake record type */
			if (round == 2) {
				buf[0] = 0x16; /* and a plausible header */
				buf[1] = 3;
				buf[2] = 1;
			}
			pair_open(&p, t->dir, 0);
			assert_int_equal(write(p.fd[1], buf, len), len);
			close(p.fd[1]);
			p.fd[1] = -1;
			r = handshake_until_end(p.conn);
			assert_true(r == TRAP_TLS_ERROR ||
				    r == TRAP_TLS_CLOSED);
			pair_close(&p);
		}
	}
}

static void test_peer_close(void **state)
{
	struct tmp *t = *state;
	struct pair p;
	char buf[64];

	/* clean: close_notify */
	pair_open(&p, t->dir, 0);
	pair_handshake(&p);
	assert_int_equal(SSL_shutdown(p.cl), 0);
	assert_int_equal(trap_tls_read(p.conn, buf, sizeof(buf)),
			 TRAP_TLS_CLOSED);
	assert_int_equal(trap_tls_read(p.conn, buf, sizeof(buf)),
			 TRAP_TLS_CLOSED);
	assert_int_equal(trap_tls_write(p.conn, "x", 1), TRAP_TLS_CLOSED);
	pair_close(&p);

	/* abrupt: the socket closes without close_notify */
	pair_open(&p, t->dir, 0);
	pair_handshake(&p);
	close(p.fd[1]);
	p.fd[1] = -1;
	assert_int_equal(trap_tls_read(p.conn, buf, sizeof(buf)),
			 TRAP_TLS_CLOSED);
	pair_close(&p);

	/* before the handshake */
	pair_open(&p, t->dir, 0);
	close(p.fd[1]);
	p.fd[1] = -1;
	assert_int_equal(trap_tls_handshake(p.conn), TRAP_TLS_CLOSED);
	pair_close(&p);

	/* our side frees first: the client sees our close_notify */
	pair_open(&p, t->dir, 0);
	pair_handshake(&p);
	trap_tls_conn_free(p.conn);
	p.conn = NULL;
	assert_int_equal(SSL_read(p.cl, buf, sizeof(buf)), 0);
	assert_int_equal(SSL_get_error(p.cl, 0), SSL_ERROR_ZERO_RETURN);
	pair_close(&p);
}

/*
 * Threads sharing one trap_tls, each running handshakes with good clients
 * and failures from garbage in turn: a failure left in one thread's error
 * queue must not turn another's WANT_READ into an error. No cmocka asserts
 * here (they longjmp); each thread counts what went wrong.
 */
enum { THREADS = 4, ROUNDS = 25 };

struct worker {
	struct trap_tls *srv;
	SSL_CTX *cctx;
	int bad; /* rounds that ended wrongly */
};

static bool worker_round(struct worker *w, bool garbage)
{
	struct trap_tls_conn *c = NULL;
	SSL *cl = NULL;
	bool sdone = false, cdone = false, ok = false;
	char buf[16];
	size_t n;
	int fd[2], i, r = 0;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, fd) != 0)
		return false;
	fcntl(fd[0], F_SETFL, O_NONBLOCK);
	fcntl(fd[1], F_SETFL, O_NONBLOCK);
	if (trap_tls_conn_new(w->srv, fd[0], &c) != 0)
		goto out;
	if (garbage) {
		if (write(fd[1], "EHLO x\r\n", 8) != 8)
			goto out;
		for (i = 0; i < 10; i++)
			if ((r = trap_tls_handshake(c)) != TRAP_TLS_WANT_READ)
				break;
		ok = r == TRAP_TLS_ERROR;
		goto out;
	}
	cl = SSL_new(w->cctx);
	if (!cl || SSL_set_fd(cl, fd[1]) != 1)
		goto out;
	SSL_set_connect_state(cl);
	for (i = 0; i < 50 && !(sdone && cdone); i++) {
		if (!sdone) {
			r = trap_tls_handshake(c);
			if (r == 1)
				sdone = true;
			else if (r != TRAP_TLS_WANT_READ &&
				 r != TRAP_TLS_WANT_WRITE)
				goto out;
		}
		if (!cdone) {
			ERR_clear_error();
			r = SSL_connect(cl);
			if (r == 1)
				cdone = true;
			else if (!client_wants(cl, r))
				goto out;
		}
	}
	if (!sdone || !cdone || SSL_write_ex(cl, "NOOP\r\n", 6, &n) != 1)
		goto out;
	for (i = 0; i < 10; i++)
		if ((r = (int)trap_tls_read(c, buf, sizeof(buf))) !=
		    TRAP_TLS_WANT_READ)
			break;
	ok = r == 6 && memcmp(buf, "NOOP\r\n", 6) == 0;
out:
	SSL_free(cl);
	trap_tls_conn_free(c);
	close(fd[0]);
	close(fd[1]);
	ERR_clear_error();
	return ok;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int i;

	for (i = 0; i < ROUNDS; i++)
		if (!worker_round(w, i % 3 == 1))
			w->bad++;
	OPENSSL_thread_stop();
	return NULL;
}

static void test_threads(void **state)
{
	struct tmp *t = *state;
	struct worker w[THREADS];
	pthread_t tid[THREADS];
	struct trap_tls *srv = new_auto(t->dir);
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	int i;

	assert_non_null(cctx);
	for (i = 0; i < THREADS; i++) {
		w[i] = (struct worker){srv, cctx, 0};
		assert_int_equal(
		    pthread_create(&tid[i], NULL, worker_main, &w[i]), 0);
	}
	for (i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(tid[i], NULL), 0);
		assert_int_equal(w[i].bad, 0);
	}
	SSL_CTX_free(cctx);
	trap_tls_free(srv);
}

static void test_alloc_failure(void **state)
{
	struct tmp *t = *state;
	struct trap_tls *s = NULL;
	struct trap_tls_conn *c = NULL;

	tl_alloc_fail_after(1);
	assert_int_equal(trap_tls_new(NULL, NULL, t->dir, HOST, &s), TL_ENOMEM);
	assert_null(s);
	s = new_auto(t->dir);
	tl_alloc_fail_after(1);
	assert_int_equal(trap_tls_conn_new(s, 0, &c), TL_ENOMEM);
	assert_null(c);
	trap_tls_free(s);
	trap_tls_free(NULL);
	trap_tls_conn_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_generate_and_reuse, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_explicit_paths, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_garbage_pem, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_handshake_and_data, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_large_transfer, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_tls12_client, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_old_client_refused, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_garbage_client, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_random_garbage, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_peer_close, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_alloc_failure, setup,
					    teardown),
	};

	/* OpenSSL writes with write(2); a closed peer must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
