/* SPDX-License-Identifier: MIT */
/* tls.c -- STARTTLS (stub: replaced by the OpenSSL module) */
#include <stdio.h>

#include "tls.h"
#include "trapline/err.h"

int trap_tls_new(const char *cert, const char *key, const char *data,
		 const char *hostname, struct trap_tls **out)
{
	(void)cert;
	(void)key;
	(void)data;
	(void)hostname;
	*out = NULL;
	return TL_EINVAL;
}

void trap_tls_free(struct trap_tls *t)
{
	(void)t;
}

int trap_tls_conn_new(struct trap_tls *t, int fd, struct trap_tls_conn **out)
{
	(void)t;
	(void)fd;
	*out = NULL;
	return TL_EINVAL;
}

void trap_tls_conn_free(struct trap_tls_conn *c)
{
	(void)c;
}

int trap_tls_handshake(struct trap_tls_conn *c)
{
	(void)c;
	return TRAP_TLS_ERROR;
}

ssize_t trap_tls_read(struct trap_tls_conn *c, void *buf, size_t len)
{
	(void)c;
	(void)buf;
	(void)len;
	return TRAP_TLS_ERROR;
}

ssize_t trap_tls_write(struct trap_tls_conn *c, const void *buf, size_t len)
{
	(void)c;
	(void)buf;
	(void)len;
	return TRAP_TLS_ERROR;
}

const char *trap_tls_describe(const struct trap_tls_conn *c, char *buf,
			      size_t len)
{
	(void)c;
	snprintf(buf, len, "none");
	return buf;
}
