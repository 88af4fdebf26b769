/* SPDX-License-Identifier: MIT */
/* net.h -- listening sockets for the servers (trap, DNS) */
#ifndef TRAPLINE_NET_H
#define TRAPLINE_NET_H

#include <stddef.h>
#include <sys/socket.h>

/*
 * Parse a listen address of @len bytes: "127.0.0.1:2525", "[::1]:53",
 * ":25" or "25" (every IPv6 address: give 0.0.0.0:25 too for IPv4). Returns 0 or TL_ESYNTAX.
 */
int tl_net_parse(const char *item, size_t len, struct sockaddr_storage *ss,
		 socklen_t *sslen);

/*
 * A non-blocking socket of @type (SOCK_STREAM, listening; SOCK_DGRAM)
 * bound to @ss with SO_REUSEPORT, so each worker can have its own on the
 * same address; IPv6 sockets are IPv6-only. Port 0: the kernel picks
 * one, and @ss is updated to say which. Returns the fd or -errno.
 */
int tl_net_listen(struct sockaddr_storage *ss, socklen_t len, int type);

#endif
