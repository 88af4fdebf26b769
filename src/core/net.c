/* SPDX-License-Identifier: MIT */
/* net.c -- listening sockets for the servers (trap, DNS) */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net.h"
#include "trapline/err.h"

int tl_net_parse(const char *item, size_t len,
			struct sockaddr_storage *ss, socklen_t *sslen)
{
	char host[INET6_ADDRSTRLEN + 2], *end;
	const char *colon;
	unsigned long port;
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	colon = memrchr(item, ':', len);
	hl = colon ? (size_t)(colon - item) : 0; /* no colon: a port alone */
	{
		char pbuf[8];
		const char *ps = colon ? colon + 1 : item;
		size_t pl = len - (size_t)(ps - item);

		if (pl == 0 || pl >= sizeof(pbuf))
			return TL_ESYNTAX;
		memcpy(pbuf, ps, pl);
		pbuf[pl] = '\0';
		port = strtoul(pbuf, &end, 10);
		if (*end || port > 65535)
			return TL_ESYNTAX;
	}
	if (hl >= 2 && item[0] == '[' && item[hl - 1] == ']') {
		item++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return TL_ESYNTAX;
	memcpy(host, item, hl);
	host[hl] = '\0';
	if (hl == 0 || strchr(host, ':')) {
		struct sockaddr_in6 *s6 = (void *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		if (hl && inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return TL_ESYNTAX;
		if (!hl)
			s6->sin6_addr = in6addr_any;
		*sslen = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (void *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return TL_ESYNTAX;
		*sslen = sizeof(*s4);
	}
	return 0;
}

int tl_net_listen(struct sockaddr_storage *ss, socklen_t len, int type)
{
	int one = 1, fd, rc;

	fd = socket(ss->ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		goto fail;
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)ss, len) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 1024) < 0))
		goto fail;
	/* Port 0: the first bind chose one; the others share it. */
	if (getsockname(fd, (struct sockaddr *)ss, &len) < 0)
		goto fail;
	return fd;
fail:
	rc = -errno;
	close(fd);
	return rc;
}

