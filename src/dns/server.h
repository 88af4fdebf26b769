/* SPDX-License-Identifier: MIT */
/* server.h -- the DNS block-list server: UDP and TCP workers, snapshots */
#ifndef TRAPLINE_DNS_SERVER_H
#define TRAPLINE_DNS_SERVER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "dnsbl.h"
#include "xfr.h"

struct dns_server;

#define DNS_DATASET_CHECK_S 5 /* how often dataset files are looked at (s) */

struct dns_setup {
	const char *listen;     /* "127.0.0.1:5353 [::1]:5353" */
	unsigned workers;       /* 0: one per CPU */
	const struct dnsbl_zones *zones; /* borrowed */
	const char *snap_path;  /* the snapshot file the server maps */
	unsigned udp_wait_us;   /* UDP coalescing wait under a stream (µs) */
	const char *xdp;        /* interface whose UDP queries AF_XDP takes
				 * (xdp.h); NULL or "": none */
	struct dns_xfr *xfr;    /* borrowed; NULL: transfers refused */
	const struct snap_info *built; /* the caller's build of snap_path
					* just now, or NULL: dns_server_reload */
};

/*
 * Bind every listener (UDP and TCP, one of each per worker per address,
 * SO_REUSEPORT) and map the snapshot if it is there (else queries get
 * SERVFAIL until one loads). Returns 0 or a TL_E*.
 */
int dns_server_new(const struct dns_setup *su, struct dns_server **out);
int dns_server_port(const struct dns_server *srv);
int dns_server_start(struct dns_server *srv);
/*
 * Map the snapshot file again and switch to it atomically; a file that is
 * missing or fails its checks is refused with a log line and the server
 * goes on answering from the one it has. @built: the build this process
 * just made of it (snap_load_built), or NULL. Returns 0 or the error.
 */
int dns_server_reload(struct dns_server *srv, const struct snap_info *built);
/*
 * Serve @z (owned from now on, freed when no batch uses it any more)
 * instead of the zones served so far, atomically, e.g. after the
 * rbldnsd-syntax datasets were loaded again. Returns 0 or TL_ENOMEM
 * (then @z is freed and the old zones stay).
 */
int dns_server_set_zones(struct dns_server *srv, struct dnsbl_zones *z);
/*
 * Load the rbldnsd-syntax datasets of @spec ([dns] dataset) again when a
 * file changed since it was loaded, or whatever the files when @force,
 * and serve them; a load that fails is logged and the zones in use stay.
 * Call it from one thread only. Returns 0 or the load's error.
 */
int dns_server_datasets(struct dns_server *srv, const char *spec, bool force);
int dns_server_stop(struct dns_server *srv);
/* Is a snapshot being served? */
bool dns_server_has_data(struct dns_server *srv);
void dns_server_free(struct dns_server *srv);
struct dnsbl_stats *dns_server_stats(struct dns_server *srv);

#endif
