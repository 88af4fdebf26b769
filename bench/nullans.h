/* SPDX-License-Identifier: MIT */
/* bench/nullans.h -- what the null servers (nullsrv.c, xdpnull.c) share:
 * their answer and their clock. Not part of trapline. */
#ifndef BENCH_NULLANS_H
#define BENCH_NULLANS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define BATCH 32       /* as trapline's UDP_BATCH and DNS_XDP_BATCH */
#define STREAM_US 2000 /* as trapline's UDP_STREAM_US */

static inline uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The query @m (@len bytes) made its own answer: QR on, rcode REFUSED.
 * Returns its length, or 0 for what is not a query. */
static inline size_t answer(uint8_t *m, size_t len)
{
	if (len < 12 || (m[2] & 0x80))
		return 0;
	m[2] |= 0x80;
	m[3] = (uint8_t)((m[3] & 0x70) | 5);
	return len;
}

#endif
