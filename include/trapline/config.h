/* SPDX-License-Identifier: MIT */
/* config.h -- the INI configuration (keys: DESIGN.md, docs/trapline.conf.5) */
#ifndef TRAPLINE_CONFIG_H
#define TRAPLINE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trapline/ip.h"

#define TL_CONFIG_STR 4096 /* = TL_CONFIG_VALUE_MAX */

struct tl_config {
	/* [store] */
	char data[TL_CONFIG_STR]; /* store directory */
	uint64_t map_size;        /* LMDB map size, bytes */
	/* [trap], [dns], [ingest]: read by their own subsystems */
	char trap_listen[TL_CONFIG_STR];
	char trap_domains[TL_CONFIG_STR];
	char trap_trusted_proxies[TL_CONFIG_STR];
	char trap_addresses[TL_CONFIG_STR]; /* file of trap addresses */
	char trap_hostname[TL_CONFIG_STR];
	char trap_sensor[TL_CONFIG_STR];
	unsigned trap_workers;          /* 0 = one per CPU */
	unsigned trap_max_sessions;     /* at once, in all */
	unsigned trap_max_per_ip;       /* at once, per client */
	uint64_t trap_max_size;         /* message bytes */
	unsigned trap_max_rcpts;        /* per message */
	unsigned trap_max_errors;       /* per session */
	unsigned trap_idle_timeout;     /* seconds */
	unsigned trap_session_timeout;  /* seconds */
	unsigned trap_greet_wait;       /* milliseconds */
	bool trap_tls;                  /* offer STARTTLS */
	char trap_tls_cert[TL_CONFIG_STR];
	char trap_tls_key[TL_CONFIG_STR];
	char trap_user[TL_CONFIG_STR];  /* drop to this user */
	unsigned trap_tarpit_delay;     /* milliseconds, 0 = off */
	char trap_retain_dir[TL_CONFIG_STR];
	unsigned trap_retain_per_day;   /* per client per day */
	uint64_t trap_retain_max;       /* bytes */
	char ingest_own_relays[TL_CONFIG_STR];
	char ingest_postfix_log[TL_CONFIG_STR]; /* logs `serve` follows */
	char ingest_mbox[TL_CONFIG_STR];        /* mboxes `serve` follows */
	char ingest_maildir[TL_CONFIG_STR];     /* maildirs `serve` watches */
	/* [dictionary] */
	unsigned dict_threshold;  /* distinct unknown recipients = an attack */
	unsigned dict_window;     /* seconds in which they must come */
	/* [content] */
	char content_rules[TL_CONFIG_STR]; /* rules file; "" = built-in */
	char content_clamav[TL_CONFIG_STR]; /* ClamAV database; "" = none */
	char dns_listen[TL_CONFIG_STR];
	char dns_zone[TL_CONFIG_STR];
	char dns_txt[TL_CONFIG_STR];
	unsigned dns_refresh;               /* seconds between snapshots */
	unsigned dns_workers;               /* 0 = one per CPU */
	unsigned dns_udp_wait;              /* UDP coalescing wait (µs) */
	char dns_xdp[TL_CONFIG_STR];        /* AF_XDP interface; "" = none */
	char dns_version[TL_CONFIG_STR];    /* CHAOS version.bind text */
	char dns_identity[TL_CONFIG_STR];   /* CHAOS id.server text */
	char dns_dataset[TL_CONFIG_STR];    /* ZONE:TYPE:FILE ... */
	char dns_ns[TL_CONFIG_STR];         /* NS names, first = SOA mname */
	char dns_hostmaster[TL_CONFIG_STR]; /* SOA rname */
	char dns_allow_transfer[TL_CONFIG_STR]; /* AXFR/IXFR clients: prefixes */
	char dns_notify[TL_CONFIG_STR];     /* NOTIFY targets: ADDR:PORT ... */
	unsigned dns_ixfr_keep;             /* serials an IXFR journal keeps */
	uint64_t dns_ixfr_max_size;         /* bytes an IXFR journal keeps */
	char dns_tsig_key[TL_CONFIG_STR];   /* NAME:ALGORITHM:BASE64 ... or "" */
	char dns_snapshot_dir[TL_CONFIG_STR]; /* "" = DATA/snapshot */
	/* [policy] */
	unsigned expire_days;         /* quiet days before a listing lapses */
	unsigned repeat_expire_days;  /* ... for a repeat offender */
	unsigned persistent_expire_days; /* ... for a persistent address */
	unsigned hiatus_days;         /* smallest gap that is a hiatus */
	unsigned persistent_days;     /* span that can make "persistent" */
	double persistent_steadiness; /* and the steadiness it needs */
	struct tl_prefix *never_list; /* owned; never listed */
	unsigned never_list_len;
	/* [geo] */
	char geo_database[TL_CONFIG_STR]; /* .mmdb file, or "" for GeoIP.dat */
};

/* Set every key to its default (never_list: RFC 1918, loopback, ...). */
int tl_config_defaults(struct tl_config *cfg);

/*
 * Read @path over the defaults already in @cfg. An unknown section or key,
 * or a bad value, is an error naming file, line and key (logged); returns
 * 0, TL_ENOENT (no such file) or TL_ESYNTAX.
 */
int tl_config_load(struct tl_config *cfg, const char *path);

/* Parse the text of one config file (for tests and fuzzing). */
int tl_config_load_string(struct tl_config *cfg, const char *text);

void tl_config_free(struct tl_config *cfg);

/*
 * The next item of a space- or comma-separated list value: returns true
 * with *@item and *@len set and *@p moved past it; false at the end.
 */
bool tl_config_next_item(const char **p, const char **item, size_t *len);

/*
 * Parse a space- or comma-separated list of prefixes into a new array
 * (owned by the caller). On error, *@bad_item points into @text.
 */
int tl_config_parse_prefixes(const char *text, struct tl_prefix **out,
			     unsigned *len, const char **bad_item);

#endif
