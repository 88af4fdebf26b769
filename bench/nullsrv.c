/* SPDX-License-Identifier: MIT */
/*
 * bench/nullsrv.c -- a DNS server that does no DNS: the floor of what any
 * UDP server pays per answered query on this machine.
 *
 * It answers every query with the query itself, QR set and REFUSED, so
 * all it costs is the kernel's work for one datagram in and one out,
 * plus a header fix. bench/floor.sh measures its CPU per query beside
 * rbldnsd's and trapline's, to show how much of theirs is the socket's.
 *
 * usage: nullsrv PORT single          recvfrom + sendto, one at a time
 *                                     (as rbldnsd does)
 *        nullsrv PORT batch WAIT_US   recvmmsg + sendmmsg, waiting
 *                                     WAIT_US under a steady stream (as
 *                                     trapline's UDP workers do)
 * Listens on 127.0.0.1 only. Not part of trapline; built by floor.sh.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "nullans.h"

#define MSG_MAX 512

static void run_single(int fd)
{
	uint8_t m[MSG_MAX];
	struct sockaddr_in from;

	for (;;) {
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, m, sizeof(m), 0,
				     (struct sockaddr *)&from, &fl);
		size_t len;

		if (n <= 0)
			continue;
		len = answer(m, (size_t)n);
		if (len)
			sendto(fd, m, len, 0, (struct sockaddr *)&from, fl);
	}
}

static void run_batch(int fd, long wait_us)
{
	static uint8_t buf[BATCH][MSG_MAX];
	static struct sockaddr_in from[BATCH];
	static struct iovec iov[BATCH], oiov[BATCH];
	static struct mmsghdr in[BATCH], out[BATCH];
	uint64_t last = 0;
	int i;

	/* Set up once, as trapline's UDP worker does; a call changes only
	 * the lengths. */
	for (i = 0; i < BATCH; i++) {
		iov[i].iov_base = buf[i];
		iov[i].iov_len = MSG_MAX;
		in[i].msg_hdr.msg_iov = &iov[i];
		in[i].msg_hdr.msg_iovlen = 1;
		in[i].msg_hdr.msg_name = &from[i];
		in[i].msg_hdr.msg_namelen = sizeof(from[i]);
		out[i].msg_hdr.msg_iov = &oiov[i];
		out[i].msg_hdr.msg_iovlen = 1;
	}
	for (;;) {
		int n, o = 0;
		uint64_t now;

		n = recvmmsg(fd, in, BATCH, MSG_WAITFORONE, NULL);
		if (n <= 0)
			continue;
		for (i = 0; i < n; i++) {
			size_t len = answer(buf[i], in[i].msg_len);

			if (!len)
				continue;
			oiov[o].iov_base = buf[i];
			oiov[o].iov_len = len;
			out[o].msg_hdr.msg_name = &from[i];
			out[o].msg_hdr.msg_namelen = in[i].msg_hdr.msg_namelen;
			o++;
		}
		for (i = 0; i < o;) {
			int s = sendmmsg(fd, out + i, (unsigned)(o - i), 0);

			if (s <= 0)
				break;
			i += s;
		}
		for (i = 0; i < n; i++)
			in[i].msg_hdr.msg_namelen = sizeof(from[i]);
		now = mono_us();
		if (wait_us && n < BATCH / 2 && now - last < STREAM_US) {
			struct timespec ts = {0, wait_us * 1000};

			nanosleep(&ts, NULL);
		}
		last = now;
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa;
	int fd, rcv = 4 << 20;

	if (argc < 3 || (strcmp(argv[2], "single") && strcmp(argv[2], "batch"))) {
		fprintf(stderr, "usage: nullsrv PORT single|batch [WAIT_US]\n");
		return 64;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)atoi(argv[1]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("nullsrv");
		return 69;
	}
	/* rbldnsd's receive buffer for rbldnsd's I/O, trapline's for
	 * trapline's. */
	if (!strcmp(argv[2], "single"))
		rcv = 64 << 10;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	if (!strcmp(argv[2], "single"))
		run_single(fd);
	else
		run_batch(fd, argc > 3 ? atol(argv[3]) : 0);
	return 0;
}
