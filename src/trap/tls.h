/* SPDX-License-Identifier: MIT */
/* tls.h -- STARTTLS for the trap (OpenSSL) */
#ifndef TRAPLINE_TRAP_TLS_H
#define TRAPLINE_TRAP_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct trap_tls;      /* the server context: certificate and key; shared */
struct trap_tls_conn; /* one connection's TLS state */

/*
 * Load @cert and @key (PEM). When both are NULL or "", use DIR/tls/cert.pem
 * and DIR/tls/key.pem under @data, generating a self-signed certificate
 * (EC P-256, CN = @hostname, a year and a day) on first start and keeping
 * it (key mode 0600); a kept one that has expired or names another host is
 * replaced. OpenSSL errors are logged. Returns 0 or a TL_E*: TL_EINVAL for
 * a bad or mismatched certificate or key, TL_EIO or -errno for files.
 * Call before the event loop starts. The result is read-only afterwards:
 * any number of threads may create connections on it at once.
 */
int trap_tls_new(const char *cert, const char *key, const char *data,
		 const char *hostname, struct trap_tls **out);
void trap_tls_free(struct trap_tls *t);

/*
 * A server-side TLS connection over non-blocking socket @fd, which stays
 * the caller's to close (after trap_tls_conn_free). A connection is used by
 * one thread at a time. OpenSSL writes with write(2): the process must
 * ignore SIGPIPE. Returns 0 or TL_ENOMEM/TL_EINVAL.
 */
int trap_tls_conn_new(struct trap_tls *t, int fd, struct trap_tls_conn **out);
/* Free @c, first trying once, without blocking, to send close_notify if
 * the session is still healthy. */
void trap_tls_conn_free(struct trap_tls_conn *c);

/* Results of the calls below besides a byte count. */
enum {
	TRAP_TLS_WANT_READ = -1,  /* call again when the socket is readable */
	TRAP_TLS_WANT_WRITE = -2, /* call again when the socket is writable */
	TRAP_TLS_CLOSED = -3,     /* the peer closed (cleanly or not) */
	TRAP_TLS_ERROR = -4,      /* protocol error; close the connection */
};

/* Drive the handshake: 1 when done, else one of the results above. */
int trap_tls_handshake(struct trap_tls_conn *c);
/* Read/write like read(2)/write(2) on a non-blocking socket; 0 never
 * means end of stream (that is TRAP_TLS_CLOSED), only that @len was 0.
 * After TRAP_TLS_WANT_*, a write must be retried with at least the bytes it
 * was given (the buffer may move). Once CLOSED or ERROR, every call returns
 * that again. A read may want a write and a write a read. */
ssize_t trap_tls_read(struct trap_tls_conn *c, void *buf, size_t len);
ssize_t trap_tls_write(struct trap_tls_conn *c, const void *buf, size_t len);
/* "TLSv1.3 TLS_AES_256_GCM_SHA384", for the log. */
const char *trap_tls_describe(const struct trap_tls_conn *c, char *buf,
			      size_t len);

#endif
