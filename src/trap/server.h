/* SPDX-License-Identifier: MIT */
/* server.h -- the SMTP trap: listeners, workers, the commit path */
#ifndef TRAPLINE_TRAP_SERVER_H
#define TRAPLINE_TRAP_SERVER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "mail/mail.h"
#include "trapline/config.h"
#include "trapline/policy.h"
#include "trapline/store.h"

struct trap_server;

/* What the trap is given; everything is borrowed and must outlive it. */
struct trap_setup {
	const struct tl_config *cfg;  /* [trap], [dictionary] */
	const char *listen;           /* overrides [trap] listen, or NULL */
	const char *data;             /* store directory (for tls/) */
	struct tl_store *store;       /* the writer: only the committer
				       * thread uses it while running */
	struct tl_store *reader;      /* for the tarpit (listed?), or NULL */
	const struct tl_policy *policy;
};

/*
 * Parse the listen addresses, bind every listener (one per worker per
 * address, SO_REUSEPORT), load or make the TLS certificate, load the
 * trap addresses and content rules. Fatal errors are logged; returns 0 or
 * a TL_E*. Call before dropping privileges.
 */
int trap_server_new(const struct trap_setup *setup, struct trap_server **out);

/* The first bound port (tests listen on port 0). */
int trap_server_port(const struct trap_server *srv);

/*
 * Run the workers and the committer until *@stop is set to a signal:
 * SIGHUP reloads the trap addresses and content rules (sessions already
 * open keep the ones they started with) and goes on; any other stops:
 * listeners close, sessions get 421, what was acknowledged is durable.
 * Returns 0 or the error that stopped the committer (the store failing).
 */
int trap_server_run(struct trap_server *srv, volatile sig_atomic_t *stop);

/* The same in parts, for `serve`, which does other work meanwhile:
 * start the threads; reload (as on SIGHUP); stop and wait for them. */
int trap_server_start(struct trap_server *srv);
void trap_server_reload(struct trap_server *srv);
int trap_server_stop(struct trap_server *srv);

/*
 * Hand an event to the committer from another thread (the passive
 * sensors of `serve`): it is made durable with the trap's next group.
 * trap_server_flush waits until everything handed so far is durable and
 * applied to the history (so a reader that comes next sees it).
 */
int trap_server_submit(struct trap_server *srv, const struct tl_event *ev);
int trap_server_flush(struct trap_server *srv);

void trap_server_free(struct trap_server *srv);

/* Counters, for the log at exit and for tests. */
struct trap_stats {
	uint64_t sessions, messages, refused_busy, events, commit_fail;
};
void trap_server_stats(struct trap_server *srv, struct trap_stats *out);

#endif
