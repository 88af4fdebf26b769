/* SPDX-License-Identifier: MIT */
/* sim.h -- a seeded synthetic spam-trap event stream (trapline simulate) */
#ifndef TRAPLINE_SIM_H
#define TRAPLINE_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trapline/day.h"
#include "trapline/event.h"
#include "trapline/geo.h"
#include "trapline/ip.h"

/*
 * Limits of the generator. They live here rather than in core/limits.h
 * because only the simulator uses them.
 */

/* Simulated period (years): 100 keeps every per-day table a few hundred KiB
 * and the start well after 1970 for any sensible end date. */
#define SIM_YEARS_MAX 100

/* Churning hosts (count): each gets a distinct address drawn without
 * replacement from its country's space; 100 million stays far below the
 * size of every country the mix draws from (and of the fallback space). */
#define SIM_BOTS_MAX 100000000ULL

/* Persistent spewers (count): their whole schedule is kept in memory
 * (~150 bytes each). */
#define SIM_SPEWERS_MAX 1000000U

/* Hiatuses one spewer takes (count), as the brief of the model asks. */
#define SIM_HIATUS_MAX 4

/* Lines of output one write(2) carries (bytes): large enough that the
 * system-call cost vanishes, small enough to stay in cache. */
#define SIM_OUT_BUF (1U << 20)

/* Longest line sim_format_csv and sim_format_truth write, with the NUL. */
#define SIM_LINE_MAX 128

/* Who an address belongs to in the model (the truth file's "class"). */
enum sim_class {
	SIM_BOT = 0,        /* churning botnet host sending spam */
	SIM_SPEWER = 1,     /* persistent hosting/business spewer */
	SIM_DICTIONARY = 2, /* directory harvest attacker */
	SIM_AUTH = 3,       /* SMTP AUTH password guesser */
	SIM_MALWARE = 4,    /* host sending malware */
	SIM_CLASSES
};

/* Content tags an event may carry (bits of sim_event.tags). */
enum {
	SIM_TAG_PHARMA = 1,
	SIM_TAG_PHISH = 2,
};

struct sim_config {
	uint64_t seed;   /* PRNG seed: equal seeds, equal streams */
	unsigned years;  /* length of the period, 1..SIM_YEARS_MAX */
	tl_day end;      /* last simulated day (inclusive) */
	uint64_t bots;   /* churning hosts, all classes but spewer */
	uint32_t spewers; /* persistent spewers */
	double ipv6;     /* share of addresses that are IPv6, 0..1 */
};

/* One generated event. Strings point into the generator and stay valid
 * until sim_free. */
struct sim_event {
	int64_t time;     /* unix seconds, UTC */
	struct tl_ip ip;  /* the sender */
	uint8_t kind;     /* enum tl_kind */
	uint8_t tags;     /* SIM_TAG_* bits */
	uint8_t sensor;   /* 1..4 ("trap1".."trap4"), 0 = none */
	uint32_t count;   /* events this record stands for, >= 1 */
	uint32_t rcpts;   /* recipients tried, 0 = unknown */
	const char *helo; /* NULL = none */
	const char *from; /* envelope sender domain, NULL = none */
};

/* One simulated address, reported once its story has ended. */
struct sim_truth {
	struct tl_ip ip;
	uint8_t cls;     /* enum sim_class */
	char cc[3];      /* ISO 3166 code, "" when no GeoIP database */
	tl_day first;    /* first day with an event */
	tl_day last;     /* last day with an event */
};

struct sim_stats {
	uint64_t events;              /* event records generated */
	uint64_t ips;                 /* distinct addresses that sent */
	uint64_t ips_v6;              /* of which IPv6 */
	uint64_t cls[SIM_CLASSES];    /* addresses per class */
	bool geo_v4;                  /* IPv4 drawn per country from GeoIP */
	bool geo_v6;                  /* IPv6 drawn per country from GeoIP */
};

struct sim;

/* Defaults of `trapline simulate`: seed 1, 20 years to today, 200000
 * bots, 300 spewers, 2% IPv6. */
void sim_config_defaults(struct sim_config *cfg);

/*
 * Check @cfg and build a generator. @geo (may be NULL) is walked once to
 * build per-country address tables and not used afterwards; without it,
 * or when it holds no data, addresses come from all public unicast space
 * and countries are unknown (sim_stats says so). Returns 0, TL_EINVAL
 * (a setting out of range), TL_ERANGE (the period starts before 1970 or
 * ends past TL_DAY_MAX), TL_ELIMIT (a toy database with too few
 * addresses) or TL_ENOMEM. Not thread safe: one generator per thread.
 */
int sim_new(const struct sim_config *cfg, struct tl_geo *geo,
	    struct sim **out);

/*
 * Generate the next day. Returns 1 when a day was generated (read it with
 * sim_events and sim_retired), 0 when the period is over, or TL_ENOMEM
 * or TL_ELIMIT (as above); after an error only sim_free may be called.
 */
int sim_step(struct sim *s);

/* The day the last sim_step generated. */
tl_day sim_day(const struct sim *s);

/* That day's events, in non-decreasing time order. Valid until the next
 * sim_step. */
size_t sim_events(const struct sim *s, const struct sim_event **ev);

/* Addresses whose story ended that day; on the last day, every address
 * still in play. Each simulated address appears exactly once over the
 * run. Valid until the next sim_step. */
size_t sim_retired(const struct sim *s, const struct sim_truth **t);

void sim_get_stats(const struct sim *s, struct sim_stats *st);
void sim_free(struct sim *s);

const char *sim_class_name(enum sim_class cls);

/*
 * Output (output.c). sim_event_to_tl fills a trapline event, so
 * tl_event_format_ndjson defines the NDJSON; sim_format_ndjson writes the
 * same bytes faster (no printf) into @buf of TL_EVENT_NDJSON_MAX bytes.
 * sim_format_csv writes "time,ip,kind,count" and sim_format_truth
 * "ip,class,country,first_day,last_day", each into SIM_LINE_MAX bytes.
 * All return the length written (newline included, NUL not counted).
 */
void sim_event_to_tl(const struct sim_event *e, struct tl_event *ev);
size_t sim_format_ndjson(const struct sim_event *e, char *buf);
size_t sim_format_csv(const struct sim_event *e, char *buf);
size_t sim_format_truth(const struct sim_truth *t, char *buf);

#define SIM_CSV_HEADER "time,ip,kind,count\n"
#define SIM_TRUTH_HEADER "ip,class,country,first_day,last_day\n"

#endif
