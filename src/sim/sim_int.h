/* SPDX-License-Identifier: MIT */
/* sim_int.h -- the simulator's insides: PRNG and address tables */
#ifndef TRAPLINE_SIM_INT_H
#define TRAPLINE_SIM_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "sim/sim.h"
#include "trapline/geo.h"
#include "trapline/ip.h"

/*
 * xoshiro256** seeded through splitmix64 (Blackman and Vigna). Our own,
 * so a seed gives the same stream on every libc.
 */
struct sim_rng {
	uint64_t s[4];
};

/* splitmix64's finaliser: a bijection on 64 bits, used as a hash too. */
static inline uint64_t sim_mix64(uint64_t x)
{
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static inline void sim_rng_seed(struct sim_rng *r, uint64_t seed)
{
	int i;

	for (i = 0; i < 4; i++) {
		seed += 0x9e3779b97f4a7c15ULL;
		r->s[i] = sim_mix64(seed);
	}
}

static inline uint64_t sim_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t sim_rng_next(struct sim_rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = sim_rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = sim_rotl(s[3], 45);
	return out;
}

/* Uniform in [0, n) by Lemire's multiply; the bias (n / 2^32) is far
 * below anything a synthetic workload could show. */
static inline uint32_t sim_rng_below(struct sim_rng *r, uint32_t n)
{
	return (uint32_t)(((sim_rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* Uniform in [0, 1). */
static inline double sim_rng_unit(struct sim_rng *r)
{
	return (double)(sim_rng_next(r) >> 11) * 0x1p-53;
}

/* True with probability @p. */
static inline bool sim_rng_chance(struct sim_rng *r, double p)
{
	return sim_rng_unit(r) < p;
}

/*
 * Address tables: for each country, its IPv4 ranges (handed out without
 * replacement through a keyed permutation, so every draw is a new
 * address) and its IPv6 ranges in /64 units (a random /64, then an
 * interface id that is a bijection of a counter, so IPv6 draws never
 * repeat either). Reserved and private space is cut out while the tables
 * are built, so no draw can land in it.
 */
struct sim_v4range {
	uint32_t first, last; /* inclusive */
	uint64_t before;      /* addresses in the country's earlier ranges */
};

struct sim_v6range {
	uint64_t first, last; /* /64 prefixes (the high 64 bits), inclusive */
};

struct sim_country {
	char cc[3];          /* "GB"; "" for the fallback pool */
	uint32_t v4_off, v4_n; /* slice of sim_iptab.v4 */
	uint32_t v6_off, v6_n; /* slice of sim_iptab.v6 */
	uint64_t v4_size;    /* addresses in the IPv4 ranges */
	uint64_t v4_used;    /* of which handed out */
	uint64_t key;        /* permutation key */
	unsigned half;       /* permutation half width (bits) */
	int8_t tz;           /* UTC offset (hours) for the diurnal curve */
};

struct sim_iptab {
	struct sim_country *c;  /* countries, owned */
	unsigned nc;
	int16_t index[26 * 26]; /* "AA".."ZZ" -> c[] or -1 */
	struct sim_v4range *v4; /* owned, grouped by country */
	struct sim_v6range *v6; /* owned, grouped by country */
	uint64_t *v4_cum;       /* running v4_size over c[], for "any" draws */
	uint64_t v6_ctr;        /* IPv6 interface ids handed out */
	uint64_t key;
	bool geo_v4, geo_v6;    /* built from GeoIP (else fallback pools) */
	int fallback_v6;        /* country of the fallback v6 pool, or -1 */
};

/* Walk @geo (may be NULL) and build @t. Returns 0 or TL_ENOMEM. */
int sim_iptab_build(struct sim_iptab *t, struct tl_geo *geo, uint64_t key);
void sim_iptab_free(struct sim_iptab *t);

/* The country index of a two-letter code, or -1 when it has no IPv4. */
int sim_iptab_find(const struct sim_iptab *t, const char *cc);

/* A country drawn in proportion to its IPv4 space. */
int sim_iptab_any(const struct sim_iptab *t, struct sim_rng *r);

/*
 * A fresh address in country *@c: IPv6 when @v6 and the country (or the
 * fallback pool) has IPv6 space, else IPv4. When the country's IPv4 space
 * is used up, another country is drawn and *@c updated. Returns 0 or
 * TL_ELIMIT (all space exhausted: cannot happen within SIM_BOTS_MAX).
 */
int sim_iptab_draw(struct sim_iptab *t, struct sim_rng *r, int *c, bool v6,
		   struct tl_ip *out);

#endif
