/* SPDX-License-Identifier: MIT */
/* simulate.c -- the population model: churning bots, steady spewers */
#include <stdio.h>
#include <string.h>

#include "tl_limits.h"
#include "sim/sim_int.h"
#include "trapline/alloc.h"
#include "trapline/err.h"

/*
 * The model, day by day:
 *
 * - Churning hosts (--bots, all classes but spewer) arrive on a curve
 *   that grows over the years, with weekly dips, slow campaign waves and
 *   the odd outbreak; the arrivals of each day are fixed up front so the
 *   total is exact. Each lives a geometric number of days (most 1-5),
 *   active on most of them, and a few come back after a long gap, as
 *   addresses in dynamic pools do. Only hosts alive today (and those
 *   waiting to come back) are in memory.
 * - Spewers (--spewers) have a schedule fixed at the start: a span of
 *   1-20 years, 0-4 hiatuses of 30-400 days, active on 85-95% of days,
 *   heavy volume sent as a few batches a day with count > 1.
 *
 * Every random choice comes from one xoshiro256** stream in a fixed
 * order, and the arithmetic on it is plain IEEE +, -, *, / (no libm,
 * whose last bits vary between versions and CPUs), so a seed gives the
 * same stream byte for byte everywhere.
 */

#define DAY_NONE INT32_MIN

/* Share of churning hosts per class (per mille); the rest are bots. */
#define MILLE_DICTIONARY 40
#define MILLE_AUTH 50
#define MILLE_MALWARE 30

/* Hosts that come back once after a gap (probability), and the gap
 * (days): long enough to look like a new tenant of a dynamic address. */
#define RETURN_SHARE 0.04
#define RETURN_GAP_MIN 90
#define RETURN_GAP_SPAN 1900

/* Longest life of a churning host (days): the geometric tail is cut. */
#define LIFE_MAX 365

/* Arrival curve: growth over the period (the end day gets 1 + this times
 * the first day's rate), outbreak chance per day and its length (days). */
#define ARRIVAL_GROWTH 1.5
#define OUTBREAK_CHANCE (1.0 / 250)
#define OUTBREAK_DAYS 10

/* Hosts handed the same HELO/from tables (entries). */
#define BOT_HELOS 512
#define BOT_FROMS 256

/* Country mix: weights (per mille) for churning hosts and for spewers,
 * and the UTC offset (hours) that shifts the diurnal curve. What is not
 * here, or not in the GeoIP data, is drawn from all the space. */
static const struct {
	char cc[3];
	int8_t tz;
	uint16_t bot, spewer;
} mix[] = {
	{"CN", 8, 120, 70}, {"IN", 5, 100, 10}, {"BR", -3, 90, 10},
	{"VN", 7, 75, 0},   {"US", -6, 65, 200}, {"RU", 3, 55, 80},
	{"ID", 7, 45, 0},   {"TR", 3, 35, 10},  {"AR", -3, 30, 0},
	{"GB", 0, 30, 150}, {"UA", 2, 30, 25},  {"IR", 3, 25, 0},
	{"TH", 7, 25, 0},   {"MX", -6, 25, 0},  {"CO", -5, 20, 0},
	{"PK", 5, 20, 0},   {"EG", 2, 20, 0},   {"PH", 8, 15, 0},
	{"KR", 9, 15, 10},  {"SA", 3, 12, 0},   {"DE", 1, 12, 110},
	{"IT", 1, 12, 10},  {"ES", 1, 12, 0},   {"FR", 1, 12, 80},
	{"PL", 1, 12, 15},  {"RO", 2, 10, 25},  {"KZ", 5, 10, 0},
	{"TW", 8, 10, 0},   {"MY", 8, 10, 0},   {"CL", -4, 10, 0},
	{"PE", -5, 10, 0},  {"VE", -4, 10, 0},  {"DZ", 1, 8, 0},
	{"MA", 0, 8, 0},    {"NG", 1, 8, 0},    {"BD", 6, 8, 0},
	{"ZA", 2, 5, 0},    {"NL", 1, 0, 100},  {"BG", 2, 0, 20},
	{"CA", -5, 0, 20},  {"HK", 8, 0, 20},   {"SG", 8, 0, 15},
	{"JP", 9, 0, 15},   {"SE", 1, 0, 10},   {"CZ", 1, 0, 10},
	{"AU", 10, 0, 0},
};
#define MIX_OTHER_BOT 60
#define MIX_OTHER_SPEWER 25
#define NMIX (sizeof(mix) / sizeof(mix[0]))

/* Relative volume by local hour: desktops follow their owners' evenings,
 * servers the working day. */
static const uint8_t curve_bot[24] = {3, 2, 2, 1, 1, 1, 2, 3, 5, 6, 7, 7,
				      7, 7, 7, 7, 7, 8, 9, 9, 9, 8, 6, 4};
static const uint8_t curve_server[24] = {4, 4, 4, 4, 5, 6, 7, 8, 9, 9, 9, 9,
					 9, 9, 9, 9, 8, 7, 6, 5, 5, 4, 4, 4};

static const char *const words[] = {
	"mail",   "promo",  "deals",   "secure", "bank",   "pharm",  "shop",
	"news",   "offer",  "update",  "account", "service", "info", "best",
	"cheap",  "lucky",  "winner",  "prize",  "health", "rx",     "meds",
	"watch",  "replica", "crypto", "loan",   "credit", "dating", "casino",
	"bonus",  "alert",  "notice",  "support",
};
#define NWORDS (sizeof(words) / sizeof(words[0]))

/* A churning host in play (alive today, or waiting to come back). */
struct actor {
	struct tl_ip ip;  /* its address */
	uint8_t cls;      /* enum sim_class */
	uint8_t tagp;     /* tag profile: 0 plain, 1 pharma, 2 phish */
	uint8_t returns;  /* comebacks left */
	uint16_t country; /* index into sim_iptab.c */
	uint16_t helo;    /* index into bot_helo, BOT_HELOS = none */
	tl_day start;     /* first day of this life; the wake day if waiting */
	tl_day until;     /* last day of this life */
	tl_day first;     /* first day with an event, DAY_NONE before */
	tl_day last;      /* last day with an event */
};

struct spewer {
	struct tl_ip ip;
	uint16_t country;
	uint8_t tagp;             /* as in struct actor */
	uint8_t nbmax;            /* batches a day: 1..nbmax */
	uint8_t dict;             /* also harvests directories now and then */
	uint8_t nh;               /* hiatuses used */
	float p_active;           /* chance of an active day */
	float volume;             /* messages on an average day */
	tl_day a, b;              /* active span, inclusive */
	tl_day hf[SIM_HIATUS_MAX]; /* hiatus i: days hf[i]..ht[i] */
	tl_day ht[SIM_HIATUS_MAX];
	tl_day first, last;       /* days with events, DAY_NONE before */
	char helo[48];
	char from[40];
};

struct mixpick {
	uint32_t cum; /* running weight */
	int c;        /* country, -1 = any */
};

struct sim {
	struct sim_config cfg;
	struct sim_rng rng;
	struct sim_iptab tab;
	tl_day start, day, cur; /* first day, next day to make, last made */
	uint32_t ndays;
	uint32_t *arrivals;     /* churning hosts arriving, per day */
	struct mixpick bot_mix[NMIX + 1], spewer_mix[NMIX + 1];
	unsigned nbot_mix, nspewer_mix;
	uint8_t hour_bot[256], hour_server[256]; /* slot -> local hour */
	uint64_t geom_thr[8];   /* geom_p scaled to 2^64 */

	struct actor *act;      /* alive today */
	size_t nact, capact;
	struct actor *wait;     /* min-heap on start (wake day) */
	size_t nwait, capwait;
	struct spewer *sp;
	size_t nsp;

	struct sim_event *ev, *tmp; /* today's events; sort scratch */
	size_t nev, capev, captmp;
	struct sim_truth *ret;  /* retired today */
	size_t nret, capret;
	struct sim_stats st;

	char bot_helo[BOT_HELOS][24];
	char bot_from[BOT_FROMS][32];
};

/* Indices into geom_p and geom_thr. */
enum {
	G_LIFE_BOT,
	G_LIFE_BOT_LONG,
	G_LIFE_DICT,
	G_LIFE_AUTH,
	G_LIFE_MALWARE,
	G_EVENTS_BOT,
	G_EVENTS_AUTH,
	G_EVENTS_OTHER,
};
static const double geom_p[8] = {0.38, 0.04, 0.2, 0.12, 0.3, 0.45, 0.35,
				 0.55};

/* Sensors "trap1".."trap4" see 40%, 30%, 20% and 10% of the traffic. */
static const uint8_t sensor_pick[10] = {1, 1, 1, 1, 2, 2, 2, 3, 3, 4};

const char *sim_class_name(enum sim_class cls)
{
	static const char *const names[SIM_CLASSES] = {
		[SIM_BOT] = "bot",
		[SIM_SPEWER] = "spewer",
		[SIM_DICTIONARY] = "dictionary",
		[SIM_AUTH] = "auth",
		[SIM_MALWARE] = "malware",
	};

	return (unsigned)cls < SIM_CLASSES ? names[cls] : "unknown";
}

void sim_config_defaults(struct sim_config *cfg)
{
	cfg->seed = 1;
	cfg->years = 20;
	cfg->end = tl_day_today();
	cfg->bots = 200000;
	cfg->spewers = 300;
	cfg->ipv6 = 0.02;
}

/* Trials up to the first success (>= 1, at most @max), each a success
 * with chance geom_p[g]. The means are small, so counting is cheap. */
static uint32_t geom(struct sim *s, int g, uint32_t max)
{
	uint32_t n = 1;

	while (n < max && sim_rng_next(&s->rng) >= s->geom_thr[g])
		n++;
	return n;
}

/* e^x: halve into [-0.5, 0.5], a Taylor series, square back. */
static double expo(double x)
{
	double r = 1, term = 1;
	int i, halvings = 0;

	while ((x > 0.5 || x < -0.5) && halvings < 16) {
		x /= 2;
		halvings++;
	}
	for (i = 1; i < 12; i++) {
		term *= x / i;
		r += term;
	}
	while (halvings--)
		r *= r;
	return r;
}

/* Roughly normal, mean 0, sd 1 (Irwin-Hall of four uniforms). */
static double normalish(struct sim *s)
{
	double x = 0;
	int i;

	for (i = 0; i < 4; i++)
		x += sim_rng_unit(&s->rng);
	return (x - 2.0) * 1.7320508075688772;
}

static bool is_weekend(tl_day d)
{
	int wd = (int)(((int64_t)d + 4) % 7); /* 1970-01-01 was a Thursday */

	if (wd < 0)
		wd += 7;
	return wd == 0 || wd == 6;
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t ncap = *cap ? *cap : 256;
	void *q;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	q = tl_reallocarray(*p, ncap, size);
	if (!q)
		return TL_ENOMEM;
	*p = q;
	*cap = ncap;
	return 0;
}

/* Fix each day's arrivals so that they sum to exactly cfg.bots. */
static int plan_arrivals(struct sim *s)
{
	double *w, total = 0, acc = 0, wave = 0, boost = 1;
	uint64_t prev = 0, now;
	uint32_t d, outbreak = 0;

	w = tl_calloc(s->ndays, sizeof(*w));
	s->arrivals = tl_calloc(s->ndays, sizeof(*s->arrivals));
	if (!w || !s->arrivals) {
		tl_free(w);
		return TL_ENOMEM;
	}
	for (d = 0; d < s->ndays; d++) {
		double t = s->ndays > 1 ? (double)d / (s->ndays - 1) : 0;

		wave = 0.97 * wave + 0.06 * normalish(s);
		if (outbreak == 0 && sim_rng_chance(&s->rng, OUTBREAK_CHANCE)) {
			outbreak = 1 + sim_rng_below(&s->rng, OUTBREAK_DAYS);
			boost = 2.0 + 3.0 * sim_rng_unit(&s->rng);
		}
		w[d] = (1.0 + ARRIVAL_GROWTH * t) * expo(wave) *
		       (is_weekend(s->start + (tl_day)d) ? 0.8 : 1.0) *
		       (outbreak ? boost : 1.0);
		if (outbreak)
			outbreak--;
		total += w[d];
	}
	for (d = 0; d < s->ndays; d++) {
		acc += w[d];
		now = d + 1 == s->ndays
			      ? s->cfg.bots
			      : (uint64_t)((double)s->cfg.bots * (acc / total) +
					   0.5);
		if (now < prev)
			now = prev;
		if (now > s->cfg.bots)
			now = s->cfg.bots;
		s->arrivals[d] = (uint32_t)(now - prev);
		prev = now;
	}
	tl_free(w);
	return 0;
}

static void build_curve(uint8_t out[256], const uint8_t curve[24])
{
	unsigned total = 0, acc = 0, h, slot = 0;

	for (h = 0; h < 24; h++)
		total += curve[h];
	for (h = 0; h < 24; h++) {
		acc += curve[h];
		while (slot < 256 && slot * total < acc * 256)
			out[slot++] = (uint8_t)h;
	}
	while (slot < 256)
		out[slot++] = 23;
}

static void build_mix(struct sim *s)
{
	uint32_t cb = 0, cs = 0, ob = MIX_OTHER_BOT, os = MIX_OTHER_SPEWER;
	size_t i;
	int c;

	for (i = 0; i < NMIX; i++) {
		c = sim_iptab_find(&s->tab, mix[i].cc);
		if (c < 0) {
			ob += mix[i].bot;
			os += mix[i].spewer;
			continue;
		}
		s->tab.c[c].tz = mix[i].tz;
		if (mix[i].bot) {
			cb += mix[i].bot;
			s->bot_mix[s->nbot_mix++] = (struct mixpick){cb, c};
		}
		if (mix[i].spewer) {
			cs += mix[i].spewer;
			s->spewer_mix[s->nspewer_mix++] =
				(struct mixpick){cs, c};
		}
	}
	s->bot_mix[s->nbot_mix++] = (struct mixpick){cb + ob, -1};
	s->spewer_mix[s->nspewer_mix++] = (struct mixpick){cs + os, -1};
}

static int pick_country(struct sim *s, const struct mixpick *m, unsigned n)
{
	uint32_t x = sim_rng_below(&s->rng, m[n - 1].cum);
	unsigned i = 0;

	while (m[i].cum <= x)
		i++;
	return m[i].c >= 0 ? m[i].c : sim_iptab_any(&s->tab, &s->rng);
}

static const char *word(struct sim *s)
{
	return words[sim_rng_below(&s->rng, NWORDS)];
}

static void build_names(struct sim *s)
{
	static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	const char *w1, *w2;
	unsigned i, j, n;

	/* One draw per statement: argument order is unspecified. */
	for (i = 0; i < BOT_HELOS; i++) {
		char *h = s->bot_helo[i], id[16];

		for (j = 0; j < 15; j++)
			id[j] = alnum[sim_rng_below(&s->rng, 36)];
		id[15] = '\0';
		switch (sim_rng_below(&s->rng, 6)) {
		case 0:
			snprintf(h, 24, "DESKTOP-%.7s", id);
			break;
		case 1:
			snprintf(h, 24, "WIN-%.11s", id);
			break;
		case 2:
			snprintf(h, 24, "%s-PC", word(s));
			break;
		case 3:
			snprintf(h, 24, "localhost");
			break;
		case 4:
			snprintf(h, 24, "user%u", sim_rng_below(&s->rng, 1000));
			break;
		default:
			w1 = word(s);
			w2 = word(s);
			snprintf(h, 24, "%s.%s.example", w1, w2);
			break;
		}
	}
	for (i = 0; i < BOT_FROMS; i++) {
		w1 = word(s);
		w2 = word(s);
		n = sim_rng_below(&s->rng, 100);
		snprintf(s->bot_from[i], 32, "%s%s%u.example", w1, w2, n);
	}
}

/* Place up to @n hiatuses of 30-400 days inside [a + 30, b - 30],
 * sorted and apart. */
static void plan_hiatuses(struct sim *s, struct spewer *p, unsigned n)
{
	unsigned i, j;
	tl_day len, room, f;

	p->nh = 0;
	for (i = 0; i < n; i++) {
		len = 30 + (tl_day)sim_rng_below(&s->rng, 371);
		room = p->b - p->a - 60 - len;
		if (room <= 0)
			continue;
		f = p->a + 30 + (tl_day)sim_rng_below(&s->rng, (uint32_t)room);
		for (j = 0; j < p->nh; j++)
			if (f <= p->ht[j] + 30 && f + len - 1 + 30 >= p->hf[j])
				break;
		if (j < p->nh)
			continue; /* too close to another: drop it */
		j = p->nh++;
		while (j > 0 && p->hf[j - 1] > f) {
			p->hf[j] = p->hf[j - 1];
			p->ht[j] = p->ht[j - 1];
			j--;
		}
		p->hf[j] = f;
		p->ht[j] = f + len - 1;
	}
}

static int new_ip(struct sim *s, int *c, struct tl_ip *ip)
{
	bool v6 = s->cfg.ipv6 > 0 && sim_rng_chance(&s->rng, s->cfg.ipv6);

	return sim_iptab_draw(&s->tab, &s->rng, c, v6, ip);
}

static uint8_t tag_profile(struct sim *s, double pharma, double phish)
{
	double u = sim_rng_unit(&s->rng);

	return u < pharma ? 1 : u < pharma + phish ? 2 : 0;
}

/* A British veteran: the first spans the period from the first day to
 * the last and never pauses; the others start in its first weeks. */
static void plan_veteran(struct sim *s, struct spewer *p, uint32_t i)
{
	p->a = s->start;
	p->b = s->cfg.end;
	if (i == 0) {
		p->p_active = 0.95f;
		return;
	}
	p->a += 1 + (tl_day)sim_rng_below(&s->rng, 60);
	p->p_active = 0.85f + 0.08f * (float)sim_rng_unit(&s->rng);
	plan_hiatuses(s, p, sim_rng_below(&s->rng, 3));
}

/* A life of 1-20 years (most short), placed so that at least a year of
 * it falls in the period. */
static void plan_span(struct sim *s, struct spewer *p)
{
	double y = sim_rng_unit(&s->rng);
	tl_day dur = (tl_day)((1.0 + 19.0 * y * y) * 365.25);
	int64_t room = (int64_t)s->ndays + dur - 730;

	p->a = s->start - dur + 365;
	if (room > 0)
		p->a += (tl_day)sim_rng_below(&s->rng, (uint32_t)room);
	p->b = p->a + dur - 1;
	if (p->a < s->start)
		p->a = s->start;
	if (p->b > s->cfg.end)
		p->b = s->cfg.end;
	p->p_active = 0.85f + 0.10f * (float)sim_rng_unit(&s->rng);
	plan_hiatuses(s, p, sim_rng_below(&s->rng, SIM_HIATUS_MAX + 1));
}

static int plan_spewers(struct sim *s)
{
	const char *w1, *w2;
	uint32_t i, nfull, n;
	int gb = sim_iptab_find(&s->tab, "GB"), c, rc;

	s->nsp = s->cfg.spewers;
	if (!s->nsp)
		return 0;
	s->sp = tl_calloc(s->nsp, sizeof(*s->sp));
	if (!s->sp)
		return TL_ENOMEM;
	/* One in a hundred is a British veteran, so "the longest spewer in
	 * GB" has a clear answer. */
	nfull = s->cfg.spewers / 100 ? s->cfg.spewers / 100 : 1;
	for (i = 0; i < s->nsp; i++) {
		struct spewer *p = &s->sp[i];

		if (i < nfull && gb >= 0) {
			c = gb;
			plan_veteran(s, p, i);
		} else {
			c = pick_country(s, s->spewer_mix, s->nspewer_mix);
			plan_span(s, p);
		}
		rc = new_ip(s, &c, &p->ip);
		if (rc < 0)
			return rc;
		p->country = (uint16_t)c;
		p->tagp = tag_profile(s, 0.30, 0.15);
		p->nbmax = (uint8_t)(2 + sim_rng_below(&s->rng, 4));
		p->dict = sim_rng_chance(&s->rng, 0.08);
		/* Lognormal, median 400 messages a day. */
		p->volume = (float)(400.0 * expo(normalish(s)));
		if (p->volume < 20)
			p->volume = 20;
		if (p->volume > 50000)
			p->volume = 50000;
		p->first = DAY_NONE;
		/* One draw per statement: argument order is unspecified. */
		n = 1 + sim_rng_below(&s->rng, 9);
		w1 = word(s);
		w2 = word(s);
		snprintf(p->helo, sizeof(p->helo), "mail%u.%s%s.example", n,
			 w1, w2);
		w1 = word(s);
		w2 = word(s);
		snprintf(p->from, sizeof(p->from), "%s%s.example", w1, w2);
	}
	return 0;
}

int sim_new(const struct sim_config *cfg, struct tl_geo *geo,
	    struct sim **out)
{
	struct sim *s;
	int rc, g;
	int64_t ndays;

	*out = NULL;
	if (cfg->years < 1 || cfg->years > SIM_YEARS_MAX ||
	    cfg->bots > SIM_BOTS_MAX || cfg->spewers > SIM_SPEWERS_MAX ||
	    !(cfg->ipv6 >= 0 && cfg->ipv6 <= 1))
		return TL_EINVAL;
	ndays = (int64_t)cfg->years * 365 + cfg->years / 4;
	if (cfg->end - ndays + 1 < TL_DAY_MIN || cfg->end > TL_DAY_MAX)
		return TL_ERANGE;
	s = tl_calloc(1, sizeof(*s));
	if (!s)
		return TL_ENOMEM;
	s->cfg = *cfg;
	s->ndays = (uint32_t)ndays;
	s->start = cfg->end - (tl_day)ndays + 1;
	s->day = s->start;
	s->cur = s->start - 1;
	sim_rng_seed(&s->rng, cfg->seed);
	for (g = 0; g < 8; g++)
		s->geom_thr[g] = (uint64_t)(geom_p[g] * 0x1p64);
	rc = sim_iptab_build(&s->tab, geo, sim_rng_next(&s->rng));
	if (rc < 0)
		goto out_free;
	s->st.geo_v4 = s->tab.geo_v4;
	s->st.geo_v6 = s->tab.geo_v6;
	build_mix(s);
	build_curve(s->hour_bot, curve_bot);
	build_curve(s->hour_server, curve_server);
	build_names(s);
	rc = plan_arrivals(s);
	if (rc < 0)
		goto out_free;
	rc = plan_spewers(s);
	if (rc < 0)
		goto out_free;
	*out = s;
	return 0;
out_free:
	sim_free(s);
	return rc;
}

void sim_free(struct sim *s)
{
	if (!s)
		return;
	sim_iptab_free(&s->tab);
	tl_free(s->arrivals);
	tl_free(s->act);
	tl_free(s->wait);
	tl_free(s->sp);
	tl_free(s->ev);
	tl_free(s->tmp);
	tl_free(s->ret);
	tl_free(s);
}

/* Seconds into the day: an hour from @hours (local), shifted to UTC. */
static uint32_t second_of_day(struct sim *s, const uint8_t hours[256],
			      int tz)
{
	uint64_t r = sim_rng_next(&s->rng);
	int h = hours[r & 255] - tz;

	h = (h % 24 + 24) % 24;
	return (uint32_t)h * 3600 + (uint32_t)(((r >> 32) * 3600) >> 32);
}

static struct sim_event *new_event(struct sim *s, tl_day d,
				   const struct tl_ip *ip, uint32_t secs)
{
	struct sim_event *e;

	if (grow((void **)&s->ev, &s->capev, s->nev + 1, sizeof(*s->ev)) < 0)
		return NULL;
	e = &s->ev[s->nev++];
	e->time = (int64_t)d * 86400 + secs;
	e->ip = *ip;
	e->kind = TL_KIND_SPAM;
	e->tags = 0;
	e->sensor = sensor_pick[sim_rng_below(&s->rng, 10)];
	e->count = 1;
	e->rcpts = 0;
	e->helo = NULL;
	e->from = NULL;
	return e;
}

static uint8_t spam_tags(struct sim *s, uint8_t profile)
{
	static const float pharma[3] = {0.05f, 0.70f, 0.03f};
	static const float phish[3] = {0.03f, 0.02f, 0.60f};
	uint64_t r = sim_rng_next(&s->rng);
	double u1 = (double)(r >> 40) * 0x1p-24;
	double u2 = (double)(r & 0xffffff) * 0x1p-24;

	return (uint8_t)((u1 < pharma[profile] ? SIM_TAG_PHARMA : 0) |
			 (u2 < phish[profile] ? SIM_TAG_PHISH : 0));
}

/* One active day of a churning host. */
static int emit_actor(struct sim *s, struct actor *a, tl_day d)
{
	const char *helo = a->helo < BOT_HELOS ? s->bot_helo[a->helo] : NULL;
	int tz = s->tab.c[a->country].tz;
	uint32_t n, i;
	struct sim_event *e;

	switch (a->cls) {
	case SIM_BOT:
		n = geom(s, G_EVENTS_BOT, 30);
		break;
	case SIM_AUTH:
		n = geom(s, G_EVENTS_AUTH, 30);
		break;
	default:
		n = geom(s, G_EVENTS_OTHER, 30);
		break;
	}
	for (i = 0; i < n; i++) {
		e = new_event(s, d, &a->ip, second_of_day(s, s->hour_bot, tz));
		if (!e)
			return TL_ENOMEM;
		e->helo = helo;
		switch (a->cls) {
		case SIM_DICTIONARY:
			e->kind = TL_KIND_DICTIONARY;
			e->count = 1 + sim_rng_below(&s->rng, 3);
			e->rcpts = 20 + sim_rng_below(&s->rng, 481);
			continue;
		case SIM_AUTH:
			e->kind = TL_KIND_AUTH;
			e->count = 2 + sim_rng_below(&s->rng, 49);
			continue;
		case SIM_MALWARE:
			/* Most of what these send carries malware; the rest
			 * is plain spam. */
			if (sim_rng_chance(&s->rng, 0.65)) {
				e->kind = TL_KIND_MALWARE;
				e->from = s->bot_from[sim_rng_below(&s->rng,
								    BOT_FROMS)];
				continue;
			}
			break;
		}
		e->tags = spam_tags(s, a->tagp);
		if (sim_rng_chance(&s->rng, 0.6))
			e->from = s->bot_from[sim_rng_below(&s->rng,
							    BOT_FROMS)];
	}
	if (a->first == DAY_NONE)
		a->first = d;
	a->last = d;
	return 0;
}

static uint32_t life(struct sim *s, uint8_t cls)
{
	switch (cls) {
	case SIM_DICTIONARY:
		return geom(s, G_LIFE_DICT, LIFE_MAX);
	case SIM_AUTH:
		return geom(s, G_LIFE_AUTH, LIFE_MAX);
	case SIM_MALWARE:
		return geom(s, G_LIFE_MALWARE, LIFE_MAX);
	}
	if (sim_rng_chance(&s->rng, 0.07))
		return geom(s, G_LIFE_BOT_LONG, LIFE_MAX);
	return geom(s, G_LIFE_BOT, LIFE_MAX);
}

static int retire(struct sim *s, const struct tl_ip *ip, uint8_t cls,
		  int country, tl_day first, tl_day last)
{
	struct sim_truth *t;

	if (first == DAY_NONE)
		return 0;
	if (grow((void **)&s->ret, &s->capret, s->nret + 1,
		 sizeof(*s->ret)) < 0)
		return TL_ENOMEM;
	t = &s->ret[s->nret++];
	t->ip = *ip;
	t->cls = cls;
	memcpy(t->cc, s->tab.c[country].cc, 3);
	t->first = first;
	t->last = last;
	s->st.ips++;
	s->st.cls[cls]++;
	if (ip->family == 6)
		s->st.ips_v6++;
	return 0;
}

static int push_active(struct sim *s, const struct actor *a)
{
	if (grow((void **)&s->act, &s->capact, s->nact + 1,
		 sizeof(*s->act)) < 0)
		return TL_ENOMEM;
	s->act[s->nact++] = *a;
	return 0;
}

/* The waiting room: a binary min-heap on the wake day. */
static int wait_push(struct sim *s, const struct actor *a)
{
	size_t i;

	if (grow((void **)&s->wait, &s->capwait, s->nwait + 1,
		 sizeof(*s->wait)) < 0)
		return TL_ENOMEM;
	i = s->nwait++;
	while (i > 0 && s->wait[(i - 1) / 2].start > a->start) {
		s->wait[i] = s->wait[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	s->wait[i] = *a;
	return 0;
}

static void wait_pop(struct sim *s, struct actor *out)
{
	struct actor last = s->wait[--s->nwait];
	size_t i = 0, k;

	*out = s->wait[0];
	for (;;) {
		k = 2 * i + 1;
		if (k >= s->nwait)
			break;
		if (k + 1 < s->nwait && s->wait[k + 1].start < s->wait[k].start)
			k++;
		if (s->wait[k].start >= last.start)
			break;
		s->wait[i] = s->wait[k];
		i = k;
	}
	if (s->nwait)
		s->wait[i] = last;
}

static int arrive(struct sim *s, tl_day d)
{
	uint32_t n = s->arrivals[d - s->start], i, r;
	struct actor a;
	int c, rc;

	for (i = 0; i < n; i++) {
		memset(&a, 0, sizeof(a));
		r = sim_rng_below(&s->rng, 1000);
		a.cls = r < MILLE_DICTIONARY ? SIM_DICTIONARY
			: r < MILLE_DICTIONARY + MILLE_AUTH ? SIM_AUTH
			: r < MILLE_DICTIONARY + MILLE_AUTH + MILLE_MALWARE
				? SIM_MALWARE
				: SIM_BOT;
		c = pick_country(s, s->bot_mix, s->nbot_mix);
		rc = new_ip(s, &c, &a.ip);
		if (rc < 0)
			return rc;
		a.country = (uint16_t)c;
		a.tagp = tag_profile(s, 0.25, 0.12);
		a.returns = sim_rng_chance(&s->rng, RETURN_SHARE);
		a.helo = sim_rng_chance(&s->rng, 0.35)
				 ? BOT_HELOS
				 : (uint16_t)sim_rng_below(&s->rng, BOT_HELOS);
		a.start = d;
		a.until = d + (tl_day)life(s, a.cls) - 1;
		a.first = DAY_NONE;
		rc = push_active(s, &a);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int step_actors(struct sim *s, tl_day d)
{
	static const double p_active[SIM_CLASSES] = {
		[SIM_BOT] = 0.75,
		[SIM_DICTIONARY] = 0.6,
		[SIM_AUTH] = 0.8,
		[SIM_MALWARE] = 0.7,
	};
	struct actor a;
	size_t i = 0;
	int rc;

	while (s->nwait && s->wait[0].start <= d) {
		wait_pop(s, &a);
		a.start = d;
		a.until = d + (tl_day)life(s, a.cls) - 1;
		rc = push_active(s, &a);
		if (rc < 0)
			return rc;
	}
	rc = arrive(s, d);
	if (rc < 0)
		return rc;
	while (i < s->nact) {
		struct actor *p = &s->act[i];

		if (d == p->start ||
		    sim_rng_chance(&s->rng, p_active[p->cls])) {
			rc = emit_actor(s, p, d);
			if (rc < 0)
				return rc;
		}
		if (d < p->until) {
			i++;
			continue;
		}
		if (p->returns) {
			p->returns--;
			p->start = d + RETURN_GAP_MIN +
				   (tl_day)sim_rng_below(&s->rng,
							 RETURN_GAP_SPAN);
			rc = p->start <= s->cfg.end ? wait_push(s, p) : 1;
		} else {
			rc = 1;
		}
		if (rc == 1)
			rc = retire(s, &p->ip, p->cls, p->country, p->first,
				    p->last);
		if (rc < 0)
			return rc;
		s->act[i] = s->act[--s->nact];
	}
	return 0;
}

static bool in_hiatus(const struct spewer *p, tl_day d)
{
	unsigned i;

	for (i = 0; i < p->nh; i++)
		if (d >= p->hf[i] && d <= p->ht[i])
			return true;
	return false;
}

static int step_spewers(struct sim *s, tl_day d)
{
	bool weekend = is_weekend(d);
	size_t i;
	uint32_t n, k;
	struct sim_event *e;

	for (i = 0; i < s->nsp; i++) {
		struct spewer *p = &s->sp[i];
		int tz = s->tab.c[p->country].tz;
		double v;

		if (d < p->a || d > p->b || in_hiatus(p, d))
			continue;
		if (d != p->a && d != p->b &&
		    !sim_rng_chance(&s->rng, p->p_active))
			continue;
		v = p->volume * (weekend ? 0.75 : 1.0) *
		    (0.6 + 0.8 * sim_rng_unit(&s->rng));
		n = 1 + sim_rng_below(&s->rng, p->nbmax);
		for (k = 0; k < n; k++) {
			double c = v / n * (0.7 + 0.6 * sim_rng_unit(&s->rng));

			e = new_event(s, d, &p->ip,
				      second_of_day(s, s->hour_server, tz));
			if (!e)
				return TL_ENOMEM;
			e->count = c < 2 ? 2 : (uint32_t)c;
			e->tags = spam_tags(s, p->tagp);
			e->helo = p->helo;
			e->from = p->from;
		}
		if (p->dict && sim_rng_chance(&s->rng, 0.1)) {
			e = new_event(s, d, &p->ip,
				      second_of_day(s, s->hour_server, tz));
			if (!e)
				return TL_ENOMEM;
			e->kind = TL_KIND_DICTIONARY;
			e->count = 1 + sim_rng_below(&s->rng, 3);
			e->rcpts = 50 + sim_rng_below(&s->rng, 951);
			e->helo = p->helo;
		}
		if (p->first == DAY_NONE)
			p->first = d;
		p->last = d;
	}
	return 0;
}

/*
 * Order the day's events by time. All share the day, so the key is the
 * second of the day (17 bits): two stable counting passes (9 + 8 bits),
 * or insertion for a handful. Ties keep generation order, so the result
 * is the same on every run.
 */
static int sort_day(struct sim *s, tl_day d)
{
	int64_t base = (int64_t)d * 86400;
	uint32_t cnt[512];
	size_t i, j;
	unsigned pass, shift, nb;
	struct sim_event *src, *dst, x;

	if (s->nev < 32) {
		for (i = 1; i < s->nev; i++) {
			x = s->ev[i];
			for (j = i; j > 0 && s->ev[j - 1].time > x.time; j--)
				s->ev[j] = s->ev[j - 1];
			s->ev[j] = x;
		}
		return 0;
	}
	if (grow((void **)&s->tmp, &s->captmp, s->nev, sizeof(*s->tmp)) < 0)
		return TL_ENOMEM;
	src = s->ev;
	dst = s->tmp;
	for (pass = 0; pass < 2; pass++) {
		shift = pass ? 9 : 0;
		nb = pass ? 256 : 512;
		memset(cnt, 0, sizeof(cnt));
		for (i = 0; i < s->nev; i++)
			cnt[((uint64_t)(src[i].time - base) >> shift) &
			    (nb - 1)]++;
		for (i = 0, j = 0; i < nb; i++) {
			size_t c = cnt[i];

			cnt[i] = (uint32_t)j;
			j += c;
		}
		for (i = 0; i < s->nev; i++)
			dst[cnt[((uint64_t)(src[i].time - base) >> shift) &
				(nb - 1)]++] = src[i];
		/* ev -> tmp, then back: the result ends in ev. */
		src = dst;
		dst = s->ev;
	}
	return 0;
}

/* The period is over: everyone still in play is retired. */
static int retire_all(struct sim *s)
{
	size_t i;
	int rc;

	for (i = 0; i < s->nact; i++) {
		rc = retire(s, &s->act[i].ip, s->act[i].cls, s->act[i].country,
			    s->act[i].first, s->act[i].last);
		if (rc < 0)
			return rc;
	}
	for (i = 0; i < s->nwait; i++) {
		rc = retire(s, &s->wait[i].ip, s->wait[i].cls,
			    s->wait[i].country, s->wait[i].first,
			    s->wait[i].last);
		if (rc < 0)
			return rc;
	}
	for (i = 0; i < s->nsp; i++) {
		rc = retire(s, &s->sp[i].ip, SIM_SPEWER, s->sp[i].country,
			    s->sp[i].first, s->sp[i].last);
		if (rc < 0)
			return rc;
	}
	s->nact = s->nwait = 0;
	return 0;
}

int sim_step(struct sim *s)
{
	tl_day d = s->day;
	int rc;

	if (d > s->cfg.end)
		return 0;
	s->nev = 0;
	s->nret = 0;
	rc = step_actors(s, d);
	if (rc == 0)
		rc = step_spewers(s, d);
	if (rc == 0)
		rc = sort_day(s, d);
	if (rc == 0 && d == s->cfg.end)
		rc = retire_all(s);
	if (rc < 0)
		return rc;
	s->st.events += s->nev;
	s->cur = d;
	s->day = d + 1;
	return 1;
}

tl_day sim_day(const struct sim *s)
{
	return s->cur;
}

size_t sim_events(const struct sim *s, const struct sim_event **ev)
{
	*ev = s->ev;
	return s->nev;
}

size_t sim_retired(const struct sim *s, const struct sim_truth **t)
{
	*t = s->ret;
	return s->nret;
}

void sim_get_stats(const struct sim *s, struct sim_stats *st)
{
	*st = s->st;
}
