/* SPDX-License-Identifier: MIT */
/* output.c -- generated events and truth as NDJSON and CSV lines */
#include <stdio.h>
#include <string.h>

#include "sim/sim_int.h"

static const char *const sensor_names[5] = {"", "trap1", "trap2", "trap3",
					    "trap4"};

static const char *const tag_names[2] = {"pharma", "phish"};

void sim_event_to_tl(const struct sim_event *e, struct tl_event *ev)
{
	unsigned i;

	tl_event_init(ev);
	ev->time = e->time;
	ev->ip = e->ip;
	ev->kind = e->kind;
	ev->count = e->count;
	ev->rcpts = e->rcpts;
	for (i = 0; i < 2; i++)
		if (e->tags & (1u << i))
			tl_event_add_tag(ev, tag_names[i],
					 strlen(tag_names[i]));
	if (e->sensor >= 1 && e->sensor <= 4)
		memcpy(ev->sensor, sensor_names[e->sensor], 6);
	if (e->helo)
		snprintf(ev->helo, sizeof(ev->helo), "%s", e->helo);
	if (e->from)
		snprintf(ev->from, sizeof(ev->from), "%s", e->from);
}

/*
 * The fast path below writes what tl_event_format_ndjson writes for
 * sim_event_to_tl's event, without printf: at a million lines a second
 * printf is most of the cost. tests/unit/test_sim.c holds the two to the
 * same bytes.
 */

static char *put_str(char *p, const char *s)
{
	size_t n = strlen(s);

	memcpy(p, s, n);
	return p + n;
}

static char *put_u32(char *p, uint32_t v)
{
	char tmp[10];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

static char *put_2(char *p, unsigned v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
	return p + 2;
}

/* "YYYY-MM-DDTHH:MM:SSZ" */
static char *put_time(char *p, int64_t t)
{
	int64_t secs = t % 86400;

	if (secs < 0)
		secs += 86400;
	p += tl_day_format(tl_day_from_time(t), p);
	*p++ = 'T';
	p = put_2(p, (unsigned)(secs / 3600));
	*p++ = ':';
	p = put_2(p, (unsigned)(secs / 60 % 60));
	*p++ = ':';
	p = put_2(p, (unsigned)(secs % 60));
	*p++ = 'Z';
	return p;
}

static char *put_ip(char *p, const struct tl_ip *ip)
{
	int i;

	if (ip->family != 4)
		return p + tl_ip_format(ip, p);
	for (i = 0; i < 4; i++) {
		if (i)
			*p++ = '.';
		p = put_u32(p, ip->a[i]);
	}
	return p;
}

/* A JSON string. Our strings are plain ASCII names, but escape as
 * event.c does all the same, so the bytes agree whatever they hold. */
static char *put_json(char *p, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	*p++ = '"';
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			*p++ = '\\';
			*p++ = (char)c;
		} else if (c < 0x20) {
			memcpy(p, "\\u00", 4);
			p[4] = hex[c >> 4];
			p[5] = hex[c & 15];
			p += 6;
		} else {
			*p++ = (char)c;
		}
	}
	*p++ = '"';
	return p;
}

size_t sim_format_ndjson(const struct sim_event *e, char *buf)
{
	char *p = buf;
	unsigned i, n = 0;

	p = put_str(p, "{\"time\":\"");
	p = put_time(p, e->time);
	p = put_str(p, "\",\"ip\":\"");
	p = put_ip(p, &e->ip);
	p = put_str(p, "\",\"kind\":\"");
	p = put_str(p, tl_kind_name(e->kind));
	p = put_str(p, "\",\"count\":");
	p = put_u32(p, e->count);
	if (e->sensor >= 1 && e->sensor <= 4) {
		p = put_str(p, ",\"sensor\":");
		p = put_json(p, sensor_names[e->sensor]);
	}
	if (e->tags) {
		p = put_str(p, ",\"tags\":[");
		for (i = 0; i < 2; i++) {
			if (!(e->tags & (1u << i)))
				continue;
			if (n++)
				*p++ = ',';
			p = put_json(p, tag_names[i]);
		}
		*p++ = ']';
	}
	if (e->helo && *e->helo) {
		p = put_str(p, ",\"helo\":");
		p = put_json(p, e->helo);
	}
	if (e->from && *e->from) {
		p = put_str(p, ",\"from\":");
		p = put_json(p, e->from);
	}
	if (e->rcpts) {
		p = put_str(p, ",\"rcpts\":");
		p = put_u32(p, e->rcpts);
	}
	*p++ = '}';
	*p++ = '\n';
	*p = '\0';
	return (size_t)(p - buf);
}

size_t sim_format_csv(const struct sim_event *e, char *buf)
{
	char *p = buf;

	p = put_time(p, e->time);
	*p++ = ',';
	p = put_ip(p, &e->ip);
	*p++ = ',';
	p = put_str(p, tl_kind_name(e->kind));
	*p++ = ',';
	p = put_u32(p, e->count);
	*p++ = '\n';
	*p = '\0';
	return (size_t)(p - buf);
}

size_t sim_format_truth(const struct sim_truth *t, char *buf)
{
	char *p = buf;

	p = put_ip(p, &t->ip);
	*p++ = ',';
	p = put_str(p, sim_class_name((enum sim_class)t->cls));
	*p++ = ',';
	p = put_str(p, t->cc);
	*p++ = ',';
	p += tl_day_format(t->first, p);
	*p++ = ',';
	p += tl_day_format(t->last, p);
	*p++ = '\n';
	*p = '\0';
	return (size_t)(p - buf);
}
