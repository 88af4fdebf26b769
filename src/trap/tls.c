/* SPDX-License-Identifier: MIT */
/* tls.c -- STARTTLS for the trap: the server context and per-connection TLS
 *
 * One SSL_CTX, configured once in trap_tls_new and then only read, is shared
 * by every worker thread (OpenSSL 3 allows this); each connection has its
 * own SSL. OpenSSL's error queue is per thread: every call into OpenSSL is
 * preceded by ERR_clear_error() so that SSL_get_error() and ssl_error() see
 * only what that call queued.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <limits.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tls.h"
#include "trapline/alloc.h"
#include "trapline/err.h"
#include "trapline/log.h"

/* Self-signed certificate lifetime (days): "a year and a day". */
#define TLS_CERT_DAYS 366
/* Server-side session cache (sessions): TLS 1.2 session ids only (TLS 1.3
 * tickets are stateless). Bots rarely resume; this caps what thousands of
 * one-shot clients can make the cache hold (about 1-2 KiB a session). */
#define TLS_SESSION_CACHE_MAX 1024
/* Bits of the random certificate serial: positive, under 20 octets
 * (RFC 5280 4.1.2.2). */
#define TLS_SERIAL_BITS 159
/* RFC 5280 ub-common-name (characters); longer names go in the SAN only. */
#define TLS_CN_MAX 64
/* A DNS name (RFC 1035 2.3.4, without the root dot). */
#define TLS_HOSTNAME_MAX 253

struct trap_tls {
	SSL_CTX *ctx; /* owned; read-only after trap_tls_new */
};

struct trap_tls_conn {
	SSL *ssl;  /* owned; holds a socket BIO on the caller's fd */
	bool done; /* handshake finished */
	int end;   /* 0, or the TRAP_TLS_CLOSED or _ERROR that ended it; every
		    * later call returns it again */
};

/*
 * The one boundary between OpenSSL's error queue and trapline's codes: log
 * every error queued for @what and empty the queue. Out of memory anywhere
 * in the chain is TL_ENOMEM; a failed system call (open, read) TL_EIO;
 * anything else (bad PEM, key not matching, bad parameter) TL_EINVAL.
 */
static int ssl_error(const char *what)
{
	unsigned long e, first = 0;
	bool nomem = false;
	char msg[256];

	while ((e = ERR_get_error()) != 0) {
		if (!first)
			first = e;
		if (ERR_GET_REASON(e) == ERR_R_MALLOC_FAILURE)
			nomem = true;
		ERR_error_string_n(e, msg, sizeof(msg));
		log_error("tls", "%s: %s", what, msg);
	}
	if (!first)
		log_error("tls", "%s: failed", what);
	if (nomem)
		return TL_ENOMEM;
	if (first && (ERR_GET_LIB(first) == ERR_LIB_SYS ||
		      ERR_GET_LIB(first) == ERR_LIB_BIO))
		return TL_EIO;
	return TL_EINVAL;
}

static int sys_error(const char *what, const char *path)
{
	int rc = -errno;

	log_error("tls", "%s %s: %s", what, path, tl_strerror(rc));
	return rc;
}

static int path_join(char *dst, size_t size, const char *dir, const char *name)
{
	int n = snprintf(dst, size, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= size) {
		log_error("tls", "path too long: %s/%s", dir, name);
		return TL_ETOOLONG;
	}
	return 0;
}

/* A host name we put in a certificate: letters, digits, '-', '.', '_'. The
 * SAN is built as a DNS GeneralName, never parsed from text, but a name that
 * is not a host name is a configuration mistake worth refusing. */
static bool is_hostname(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > TLS_HOSTNAME_MAX || s[0] == '.' || s[0] == '-')
		return false;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' ||
		      ch == '_'))
			return false;
	}
	return true;
}

static int ctx_new(SSL_CTX **out)
{
	SSL_CTX *ctx;
	static const unsigned char sid[] = "trapline";

	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx)
		return ssl_error("SSL_CTX_new");
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1) != 1) {
		SSL_CTX_free(ctx);
		return ssl_error("configuring the TLS context");
	}
	/* Ciphers and groups: OpenSSL's defaults (and the system policy). */
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
				     SSL_OP_NO_RENEGOTIATION |
				     SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* Partial writes suit the event loop. Released buffers take an idle
	 * connection from about 47 KiB to 14 KiB (OpenSSL 3.0, measured):
	 * the trap holds thousands. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
				  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
				  SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_sess_set_cache_size(ctx, TLS_SESSION_CACHE_MAX);
	*out = ctx;
	return 0;
}

static int load_pair(SSL_CTX *ctx, const char *cert, const char *key)
{
	char what[PATH_MAX + 32];

	ERR_clear_error();
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		snprintf(what, sizeof(what), "certificate %s", cert);
		return ssl_error(what);
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		snprintf(what, sizeof(what), "private key %s", key);
		return ssl_error(what);
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(what, sizeof(what), "key %s and certificate %s", key,
			 cert);
		return ssl_error(what);
	}
	return 0;
}

static int add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (!ext)
		return ssl_error("certificate extension");
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : ssl_error("certificate extension");
}

static int add_san(X509 *x, const char *hostname)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
	int rc = 0;

	if (!gens || !gn || !ia5 ||
	    !ASN1_STRING_set(ia5, hostname, (int)strlen(hostname))) {
		rc = ssl_error("subjectAltName");
		goto out;
	}
	GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
	ia5 = NULL;
	if (!sk_GENERAL_NAME_push(gens, gn)) {
		rc = ssl_error("subjectAltName");
		goto out;
	}
	gn = NULL;
	if (X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0,
			      X509V3_ADD_DEFAULT) != 1)
		rc = ssl_error("subjectAltName");
out:
	ASN1_IA5STRING_free(ia5);
	GENERAL_NAME_free(gn);
	GENERAL_NAMES_free(gens);
	return rc;
}

/* A self-signed X.509 v3 server certificate for @hostname over @pkey. */
static int make_cert(EVP_PKEY *pkey, const char *hostname, X509 **out)
{
	X509 *x;
	X509_NAME *name;
	BIGNUM *serial = NULL;
	int rc = 0;

	x = X509_new();
	serial = BN_new();
	if (!x || !serial) {
		rc = ssl_error("certificate");
		goto out;
	}
	name = X509_get_subject_name(x);
	if (!X509_set_version(x, X509_VERSION_3) ||
	    !BN_rand(serial, TLS_SERIAL_BITS, BN_RAND_TOP_ANY,
		     BN_RAND_BOTTOM_ANY) ||
	    !BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), 0) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), TLS_CERT_DAYS, 0, NULL) ||
	    (strlen(hostname) <= TLS_CN_MAX &&
	     !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					 (const unsigned char *)hostname, -1,
					 -1, 0)) ||
	    !X509_set_issuer_name(x, name) || !X509_set_pubkey(x, pkey)) {
		rc = ssl_error("certificate");
		goto out;
	}
	if ((rc = add_san(x, hostname)) != 0 ||
	    (rc = add_ext(x, NID_basic_constraints, "critical,CA:FALSE")) ||
	    (rc = add_ext(x, NID_key_usage, "critical,digitalSignature")) ||
	    (rc = add_ext(x, NID_ext_key_usage, "serverAuth")) ||
	    (rc = add_ext(x, NID_subject_key_identifier, "hash")))
		goto out;
	if (X509_sign(x, pkey, EVP_sha256()) <= 0) {
		rc = ssl_error("signing the certificate");
		goto out;
	}
	*out = x;
	x = NULL;
out:
	BN_free(serial);
	X509_free(x);
	return rc;
}

/* Write @pkey or @x as PEM to a new file @path (mode @mode), synced. */
static int write_pem(const char *path, mode_t mode, EVP_PKEY *pkey, X509 *x)
{
	FILE *fp;
	int fd, rc = 0, ok;

	if (unlink(path) != 0 && errno != ENOENT)
		return sys_error("removing", path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		  mode);
	if (fd < 0)
		return sys_error("creating", path);
	fp = fdopen(fd, "w");
	if (!fp) {
		rc = sys_error("opening", path);
		close(fd);
		goto out_unlink;
	}
	ERR_clear_error();
	if (pkey)
		ok = PEM_write_PrivateKey(fp, pkey, NULL, NULL, 0, NULL, NULL);
	else
		ok = PEM_write_X509(fp, x);
	if (!ok)
		rc = ssl_error(path);
	if (!rc && (fflush(fp) != 0 || fsync(fileno(fp)) != 0))
		rc = sys_error("writing", path);
	if (fclose(fp) != 0 && !rc)
		rc = sys_error("closing", path);
out_unlink:
	if (rc)
		unlink(path);
	return rc;
}

static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return sys_error("opening", dir);
	if (fsync(fd) != 0)
		rc = sys_error("syncing", dir);
	close(fd);
	return rc;
}

/*
 * Generate a key and a self-signed certificate into @dir/key.pem and
 * @dir/cert.pem. Both are written to temporary files first; the key is
 * renamed into place before the certificate, so a cert.pem present on disk
 * always has its key beside it. A crash in between leaves no cert.pem, and
 * the next start generates again.
 */
static int generate(const char *dir, const char *cert, const char *key,
		    const char *hostname)
{
	char tcert[PATH_MAX], tkey[PATH_MAX];
	EVP_PKEY *pkey = NULL;
	X509 *x = NULL;
	int rc;

	if ((rc = path_join(tcert, sizeof(tcert), dir, "cert.pem.tmp")) ||
	    (rc = path_join(tkey, sizeof(tkey), dir, "key.pem.tmp")))
		return rc;
	ERR_clear_error();
	pkey = EVP_EC_gen("P-256");
	if (!pkey) {
		rc = ssl_error("generating a P-256 key");
		goto out;
	}
	if ((rc = make_cert(pkey, hostname, &x)) != 0)
		goto out;
	if ((rc = write_pem(tkey, 0600, pkey, NULL)) != 0)
		goto out;
	if ((rc = write_pem(tcert, 0644, NULL, x)) != 0)
		goto out_key;
	if (unlink(cert) != 0 && errno != ENOENT) {
		rc = sys_error("removing", cert);
		goto out_cert;
	}
	if (rename(tkey, key) != 0) {
		rc = sys_error("renaming to", key);
		goto out_cert;
	}
	if (rename(tcert, cert) != 0) {
		rc = sys_error("renaming to", cert);
		goto out_cert;
	}
	if ((rc = sync_dir(dir)) != 0)
		goto out;
	log_info("tls",
		 "generated a self-signed certificate for %s in %s "
		 "(EC P-256, %d days)",
		 hostname, cert, TLS_CERT_DAYS);
	goto out;
out_cert:
	unlink(tcert);
out_key:
	unlink(tkey);
out:
	X509_free(x);
	EVP_PKEY_free(pkey);
	return rc;
}

/*
 * Whether the generated certificate at @path can be kept: 1 yes, 0 when it
 * is absent, expired or names another host (generate a new one), or an
 * error when it cannot be read. A file that does not parse is an error,
 * not something to overwrite: it may be the operator's.
 */
static int cert_usable(const char *path, const char *hostname)
{
	FILE *fp = fopen(path, "re");
	X509 *x;
	int rc = 1;

	if (!fp)
		return errno == ENOENT ? 0 : sys_error("opening", path);
	ERR_clear_error();
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	if (!x)
		return ssl_error(path);
	if (X509_cmp_current_time(X509_get0_notAfter(x)) <= 0) {
		log_info("tls", "%s has expired", path);
		rc = 0;
	} else if (X509_check_host(x, hostname, 0, 0, NULL) != 1) {
		log_info("tls", "%s is not for %s", path, hostname);
		rc = 0;
	}
	X509_free(x);
	ERR_clear_error();
	return rc;
}

static int auto_pair(SSL_CTX *ctx, const char *data, const char *hostname)
{
	char dir[PATH_MAX], cert[PATH_MAX], key[PATH_MAX];
	int rc;

	if (!data || !*data || !hostname) {
		log_error("tls", "no certificate configured and no data "
				 "directory and host name to make one");
		return TL_EINVAL;
	}
	if (!is_hostname(hostname)) {
		log_error("tls",
			  "cannot make a certificate for \"%.*s\": not "
			  "a host name",
			  TLS_HOSTNAME_MAX, hostname);
		return TL_EINVAL;
	}
	if ((rc = path_join(dir, sizeof(dir), data, "tls")) ||
	    (rc = path_join(cert, sizeof(cert), dir, "cert.pem")) ||
	    (rc = path_join(key, sizeof(key), dir, "key.pem")))
		return rc;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return sys_error("creating", dir);
	rc = cert_usable(cert, hostname);
	if (rc < 0)
		return rc;
	if (rc == 0 && (rc = generate(dir, cert, key, hostname)) != 0)
		return rc;
	return load_pair(ctx, cert, key);
}

int trap_tls_new(const char *cert, const char *key, const char *data,
		 const char *hostname, struct trap_tls **out)
{
	bool have_cert = cert && *cert, have_key = key && *key;
	struct trap_tls *t;
	int rc;

	*out = NULL;
	if (have_cert != have_key) {
		log_error("tls", "a certificate needs its key and a key its "
				 "certificate");
		return TL_EINVAL;
	}
	t = tl_calloc(1, sizeof(*t));
	if (!t)
		return TL_ENOMEM;
	if ((rc = ctx_new(&t->ctx)) != 0)
		goto out_free;
	if (have_cert)
		rc = load_pair(t->ctx, cert, key);
	else
		rc = auto_pair(t->ctx, data, hostname);
	if (rc)
		goto out_ctx;
	*out = t;
	return 0;
out_ctx:
	SSL_CTX_free(t->ctx);
out_free:
	tl_free(t);
	return rc;
}

void trap_tls_free(struct trap_tls *t)
{
	if (!t)
		return;
	SSL_CTX_free(t->ctx);
	tl_free(t);
}

int trap_tls_conn_new(struct trap_tls *t, int fd, struct trap_tls_conn **out)
{
	struct trap_tls_conn *c;
	int rc;

	*out = NULL;
	c = tl_calloc(1, sizeof(*c));
	if (!c)
		return TL_ENOMEM;
	ERR_clear_error();
	c->ssl = SSL_new(t->ctx);
	if (!c->ssl) {
		rc = ssl_error("SSL_new");
		goto out_free;
	}
	if (SSL_set_fd(c->ssl, fd) != 1) {
		rc = ssl_error("SSL_set_fd");
		goto out_ssl;
	}
	SSL_set_accept_state(c->ssl);
	*out = c;
	return 0;
out_ssl:
	SSL_free(c->ssl);
out_free:
	tl_free(c);
	return rc;
}

void trap_tls_conn_free(struct trap_tls_conn *c)
{
	if (!c)
		return;
	/* One non-blocking attempt at close_notify (RFC 8446 6.1); we do not
	 * wait for the peer's. Never after a fatal error or its close. */
	if (c->done && !c->end) {
		ERR_clear_error();
		SSL_shutdown(c->ssl);
		ERR_clear_error();
	}
	SSL_free(c->ssl);
	tl_free(c);
}

/*
 * Map a failed handshake, read or write (@ret from it, @err the errno right
 * after it) to a TRAP_TLS_* result and leave the error queue empty. What a
 * peer did wrong is logged at debug level only: a trap hears garbage all
 * day, and the caller knows the peer and decides what to log.
 */
static int io_result(struct trap_tls_conn *c, int ret, int err, const char *op)
{
	unsigned long e;
	char msg[256];
	int rc;

	switch (SSL_get_error(c->ssl, ret)) {
	case SSL_ERROR_WANT_READ:
		return TRAP_TLS_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return TRAP_TLS_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		rc = TRAP_TLS_CLOSED;
		break;
	case SSL_ERROR_SYSCALL:
		/* Nothing queued: EOF (err 0) or a failed read/write. */
		if (ERR_peek_error() == 0 &&
		    (err == 0 || err == ECONNRESET || err == EPIPE)) {
			rc = TRAP_TLS_CLOSED;
			break;
		}
		log_debug("tls", "%s: %s", op,
			  err ? tl_strerror(-err) : "system call failed");
		rc = TRAP_TLS_ERROR;
		break;
	case SSL_ERROR_SSL:
		e = ERR_peek_error();
		/* OpenSSL 3 reports EOF without close_notify this way. */
		if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
		    ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
			rc = TRAP_TLS_CLOSED;
			break;
		}
		ERR_error_string_n(e, msg, sizeof(msg));
		log_debug("tls", "%s: %s", op, msg);
		rc = TRAP_TLS_ERROR;
		break;
	default:
		rc = TRAP_TLS_ERROR;
		break;
	}
	c->end = rc;
	ERR_clear_error();
	return rc;
}

int trap_tls_handshake(struct trap_tls_conn *c)
{
	int ret;

	if (c->end)
		return c->end;
	if (c->done)
		return 1;
	ERR_clear_error();
	errno = 0;
	ret = SSL_do_handshake(c->ssl);
	if (ret == 1) {
		c->done = true;
		return 1;
	}
	return io_result(c, ret, errno, "handshake");
}

ssize_t trap_tls_read(struct trap_tls_conn *c, void *buf, size_t len)
{
	size_t n = 0;

	if (c->end)
		return c->end;
	if (len == 0)
		return 0;
	if (len > INT_MAX)
		len = INT_MAX;
	ERR_clear_error();
	errno = 0;
	if (SSL_read_ex(c->ssl, buf, len, &n) == 1)
		return (ssize_t)n;
	return io_result(c, 0, errno, "read");
}

ssize_t trap_tls_write(struct trap_tls_conn *c, const void *buf, size_t len)
{
	size_t n = 0;

	if (c->end)
		return c->end;
	if (len == 0)
		return 0;
	if (len > INT_MAX)
		len = INT_MAX;
	ERR_clear_error();
	errno = 0;
	if (SSL_write_ex(c->ssl, buf, len, &n) == 1)
		return (ssize_t)n;
	return io_result(c, 0, errno, "write");
}

const char *trap_tls_describe(const struct trap_tls_conn *c, char *buf,
			      size_t len)
{
	const SSL_CIPHER *cipher = SSL_get_current_cipher(c->ssl);

	if (len == 0)
		return buf;
	snprintf(buf, len, "%s %s", SSL_get_version(c->ssl),
		 cipher ? SSL_CIPHER_get_name(cipher) : "(no cipher)");
	return buf;
}
