/* SPDX-License-Identifier: MIT */
/* event.c -- event kinds, defaults and tag checks */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "tl_limits.h"
#include "trapline/err.h"
#include "trapline/day.h"
#include "trapline/event.h"
#include "utf8.h"

_Static_assert(TL_EVENT_TAGS == TL_EVENT_TAGS_MAX, "tag count");
_Static_assert(TL_EVENT_TAGLEN == TL_TAG_LEN_MAX + 1, "tag length");

static const char *const kind_names[TL_KIND_COUNT] = {
	[TL_KIND_SPAM] = "spam",
	[TL_KIND_DICTIONARY] = "dictionary",
	[TL_KIND_AUTH] = "auth",
	[TL_KIND_MALWARE] = "malware",
};

const char *tl_kind_name(enum tl_kind kind)
{
	return (unsigned)kind < TL_KIND_COUNT ? kind_names[kind] : "unknown";
}

int tl_kind_parse(const char *s, size_t len, enum tl_kind *out)
{
	unsigned k;

	for (k = 0; k < TL_KIND_COUNT; k++) {
		if (strlen(kind_names[k]) == len &&
		    strncasecmp(kind_names[k], s, len) == 0) {
			*out = (enum tl_kind)k;
			return 0;
		}
	}
	return TL_EKIND;
}

void tl_event_init(struct tl_event *ev)
{
	ev->time = 0;
	memset(&ev->ip, 0, sizeof(ev->ip));
	ev->kind = TL_KIND_SPAM;
	ev->ntags = 0;
	ev->count = 1;
	ev->rcpts = 0;
	ev->size = 0;
	ev->sensor[0] = '\0';
	ev->helo[0] = '\0';
	ev->from[0] = '\0';
}

int tl_event_add_tag(struct tl_event *ev, const char *s, size_t len)
{
	char tag[TL_EVENT_TAGLEN];
	size_t i;

	if (len == 0 || len > TL_TAG_LEN_MAX)
		return TL_ETAG;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return TL_ETAG;
		tag[i] = c;
	}
	tag[len] = '\0';
	for (i = 0; i < ev->ntags; i++)
		if (strcmp(ev->tags[i], tag) == 0)
			return 0;
	if (ev->ntags >= TL_EVENT_TAGS)
		return TL_ELIMIT;
	memcpy(ev->tags[ev->ntags++], tag, len + 1);
	return 0;
}

/*
 * A JSON string: quotes, backslashes and controls escaped; a byte that is
 * not part of valid UTF-8 (a bot's HELO may hold anything) is written as
 * \u00XX, its Latin-1 reading, so the line stays valid JSON. Input is our
 * own bounded field, so @out (6 bytes per input byte) cannot overflow.
 */
static size_t json_str(char *out, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *end = (const unsigned char *)s + strlen(s);
	size_t n = 0, k;

	out[n++] = '"';
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x80) {
			k = tl_utf8_len((const unsigned char *)s, end);
			if (k) {
				memcpy(out + n, s, k);
				n += k;
				s += k - 1;
				continue;
			}
			memcpy(out + n, "\\u00", 4);
			out[n + 4] = hex[c >> 4];
			out[n + 5] = hex[c & 15];
			n += 6;
		} else if (c == '"' || c == '\\') {
			out[n++] = '\\';
			out[n++] = (char)c;
		} else if (c < 0x20) {
			memcpy(out + n, "\\u00", 4);
			out[n + 4] = hex[c >> 4];
			out[n + 5] = hex[c & 15];
			n += 6;
		} else {
			out[n++] = (char)c;
		}
	}
	out[n++] = '"';
	return n;
}

size_t tl_event_format_ndjson(const struct tl_event *ev, char *buf)
{
	char ip[TL_IP_STRLEN], day[TL_DAY_STRLEN];
	int64_t secs = ev->time % 86400;
	size_t n;
	unsigned i;

	tl_ip_format(&ev->ip, ip);
	tl_day_format(tl_day_from_time(ev->time), day);
	if (secs < 0)
		secs += 86400;
	n = (size_t)sprintf(buf, "{\"time\":\"%sT%02d:%02d:%02dZ\",\"ip\":\"%s\","
			    "\"kind\":\"%s\",\"count\":%u", day,
			    (int)(secs / 3600), (int)(secs / 60 % 60),
			    (int)(secs % 60), ip, tl_kind_name(ev->kind),
			    ev->count);
	if (ev->sensor[0]) {
		memcpy(buf + n, ",\"sensor\":", 10);
		n += 10;
		n += json_str(buf + n, ev->sensor);
	}
	if (ev->ntags) {
		memcpy(buf + n, ",\"tags\":[", 9);
		n += 9;
		for (i = 0; i < ev->ntags; i++) {
			if (i)
				buf[n++] = ',';
			n += json_str(buf + n, ev->tags[i]);
		}
		buf[n++] = ']';
	}
	if (ev->helo[0]) {
		memcpy(buf + n, ",\"helo\":", 8);
		n += 8;
		n += json_str(buf + n, ev->helo);
	}
	if (ev->from[0]) {
		memcpy(buf + n, ",\"from\":", 8);
		n += 8;
		n += json_str(buf + n, ev->from);
	}
	if (ev->rcpts)
		n += (size_t)sprintf(buf + n, ",\"rcpts\":%u", ev->rcpts);
	if (ev->size)
		n += (size_t)sprintf(buf + n, ",\"size\":%llu",
				     (unsigned long long)ev->size);
	buf[n++] = '}';
	buf[n++] = '\n';
	buf[n] = '\0';
	return n;
}

static bool tag_ok(const char *t)
{
	size_t n = strnlen(t, TL_EVENT_TAGLEN), i;

	if (n == 0 || n > TL_TAG_LEN_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!((t[i] >= 'a' && t[i] <= 'z') ||
		      (t[i] >= '0' && t[i] <= '9') || t[i] == '_' ||
		      t[i] == '.' || t[i] == '-'))
			return false;
	return true;
}

int tl_event_check(const struct tl_event *ev)
{
	unsigned i;

	if (ev->time < (int64_t)TL_DAY_MIN * 86400 ||
	    ev->time >= ((int64_t)TL_DAY_MAX + 1) * 86400)
		return TL_ETIME;
	if (ev->ip.family != 4 && ev->ip.family != 6)
		return TL_EIP;
	if (ev->kind >= TL_KIND_COUNT)
		return TL_EKIND;
	if (ev->count == 0 || ev->count > TL_EVENT_COUNT_MAX)
		return TL_ECOUNT;
	if (ev->ntags > TL_EVENT_TAGS)
		return TL_ETAG;
	for (i = 0; i < ev->ntags; i++)
		if (!tag_ok(ev->tags[i]))
			return TL_ETAG;
	if (!memchr(ev->sensor, '\0', sizeof(ev->sensor)) ||
	    !memchr(ev->helo, '\0', sizeof(ev->helo)) ||
	    !memchr(ev->from, '\0', sizeof(ev->from)))
		return TL_ETOOLONG;
	return 0;
}
