/* SPDX-License-Identifier: MIT */
/* fuzz_ndjson.c -- ingest_ndjson_parse, checked against jansson
 *
 * Whatever the parser accepts as an event, jansson must accept as an object
 * with the same member values; a refusal must
 * carry an error code. Numbers past jansson's 64-bit and double range are
 * a jansson limit, not a grammar error: such lines are not compared. The
 * parser refuses a known member given twice (jansson would keep the last)
 * and, like jansson without JSON_REJECT_DUPLICATES, lets unknown members
 * repeat: they are skipped anyway.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/parse.h"
#include "trapline/day.h"
#include "trapline/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "fuzz_ndjson: check failed: %s (line " \
				"%d)\n", #cond, __LINE__);                   \
			abort();                                             \
		}                                                            \
	} while (0)

static void check_string(json_t *root, const char *key, const char *ours)
{
	json_t *v = json_object_get(root, key);

	if (!v || json_is_null(v)) {
		CHECK(ours[0] == '\0');
		return;
	}
	CHECK(json_is_string(v));
	CHECK(strcmp(json_string_value(v), ours) == 0);
}

static void check_uint(json_t *root, const char *key, uint64_t ours,
		       uint64_t dflt)
{
	json_t *v = json_object_get(root, key);

	if (!v || json_is_null(v)) {
		CHECK(ours == dflt);
		return;
	}
	CHECK(json_is_integer(v));
	CHECK((uint64_t)json_integer_value(v) == ours);
}

static void check_event(json_t *root, const struct tl_event *ev)
{
	struct tl_event tmp;
	struct tl_ip ip;
	json_t *v, *t;
	size_t i;
	int64_t secs;

	CHECK(json_is_object(root));
	v = json_object_get(root, "ip");
	CHECK(json_is_string(v));
	CHECK(tl_ip_parse(json_string_value(v), json_string_length(v), &ip) ==
	      0);
	CHECK(tl_ip_cmp(&ip, &ev->ip) == 0);

	v = json_object_get(root, "time");
	if (json_is_string(v)) {
		CHECK(tl_time_parse(json_string_value(v), json_string_length(v),
				    &secs) == 0);
		CHECK(secs == ev->time);
	} else if (json_is_integer(v)) {
		CHECK(json_integer_value(v) == ev->time);
	} else {
		/* A fraction is dropped; a double may round the last digit. */
		CHECK(json_is_real(v));
		CHECK(fabs(floor(json_real_value(v)) - (double)ev->time) <= 1.0);
	}

	v = json_object_get(root, "kind");
	if (v && !json_is_null(v)) {
		enum tl_kind k;

		CHECK(json_is_string(v));
		CHECK(tl_kind_parse(json_string_value(v), json_string_length(v),
				    &k) == 0);
		CHECK(k == ev->kind);
	} else {
		CHECK(ev->kind == TL_KIND_SPAM);
	}
	check_uint(root, "count", ev->count, 1);
	check_uint(root, "rcpts", ev->rcpts, 0);
	check_uint(root, "size", ev->size, 0);
	check_string(root, "sensor", ev->sensor);
	check_string(root, "helo", ev->helo);
	check_string(root, "from", ev->from);

	v = json_object_get(root, "tags");
	tl_event_init(&tmp);
	if (v && !json_is_null(v)) {
		CHECK(json_is_array(v));
		json_array_foreach(v, i, t) {
			CHECK(json_is_string(t));
			CHECK(tl_event_add_tag(&tmp, json_string_value(t),
					       json_string_length(t)) == 0);
		}
	}
	CHECK(tmp.ntags == ev->ntags);
	for (i = 0; i < tmp.ntags; i++)
		CHECK(strcmp(tmp.tags[i], ev->tags[i]) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tl_event ev;
	struct ingest_err err;
	enum ingest_line r;
	json_error_t jerr;
	json_t *root;
	size_t i;

	r = ingest_ndjson_parse((const char *)data, size, &ev, &err);
	switch (r) {
	case INGEST_SKIP:
		for (i = 0; i < size; i++)
			CHECK(data[i] == ' ' || data[i] == '\t' ||
			      data[i] == '\r' || data[i] == '\n');
		return 0;
	case INGEST_BAD:
		CHECK(err.code < 0);
		return 0;
	case INGEST_EVENT:
		break;
	default:
		abort();
	}
	CHECK(err.code == 0);
	CHECK(ev.ip.family == 4 || ev.ip.family == 6);
	CHECK(ev.kind < TL_KIND_COUNT);
	CHECK(ev.count >= 1 && ev.count <= 1000000000u);
	CHECK(ev.ntags <= TL_EVENT_TAGS);
	CHECK(memchr(ev.sensor, '\0', sizeof(ev.sensor)));
	CHECK(memchr(ev.helo, '\0', sizeof(ev.helo)));
	CHECK(memchr(ev.from, '\0', sizeof(ev.from)));

	root = json_loadb((const char *)data, size, 0, &jerr);
	if (!root) {
		if (json_error_code(&jerr) == json_error_numeric_overflow)
			return 0;
		fprintf(stderr, "fuzz_ndjson: accepted, but jansson says: %s "
			"(column %d)\n", jerr.text, jerr.column);
		abort();
	}
	check_event(root, &ev);
	json_decref(root);
	return 0;
}
