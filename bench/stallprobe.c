/* SPDX-License-Identifier: MIT */
/*
 * stallprobe.c -- how long this machine keeps a thread from running.
 *
 * usage: stallprobe SECONDS
 *
 * One thread per CPU, pinned there, sleeps 1 ms at a time for SECONDS and
 * prints each wake-up that came more than 1 ms late, as
 *
 *	EPOCH_SECONDS CPU LATE_MS
 *
 * A late wake-up means something else held that CPU: on the benchmark
 * machine, a kernel thread that cannot be preempted (DAMON's kdamond
 * holds a CPU 2-5 ms every half second), or the hypervisor stopping both
 * CPUs at once. bench/dns.sh runs it beside dnsperf, so that an answer
 * later than 5 ms can be set against what the machine did at that time.
 * Its own cost: 2,000 short wake-ups a second.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double seconds;

static double now(clockid_t c)
{
	struct timespec t;

	clock_gettime(c, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *probe(void *arg)
{
	int cpu = (int)(long)arg;
	cpu_set_t set;
	double end;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		return NULL;
	end = now(CLOCK_MONOTONIC) + seconds;
	while (now(CLOCK_MONOTONIC) < end) {
		struct timespec ms = {0, 1000000};
		double t0 = now(CLOCK_MONOTONIC), late;

		nanosleep(&ms, NULL);
		late = (now(CLOCK_MONOTONIC) - t0) * 1e3 - 1.0;
		if (late > 1.0)
			printf("%.4f %d %.2f\n", now(CLOCK_REALTIME), cpu, late);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	pthread_t th[64];
	long i, started = 0;

	if (argc != 2 || (seconds = atof(argv[1])) <= 0) {
		fprintf(stderr, "usage: stallprobe SECONDS\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (n < 1 || n > 64)
		n = n < 1 ? 1 : 64;
	for (i = 0; i < n; i++)
		if (pthread_create(&th[i], NULL, probe, (void *)i) == 0)
			th[started++] = th[i];
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	return started ? 0 : 1;
}
