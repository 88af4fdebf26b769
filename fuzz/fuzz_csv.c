/* SPDX-License-Identifier: MIT */
/* fuzz_csv.c -- ingest_csv_parse: no crash, sane events, and round trip
 *
 * An accepted line's event, written back as "time,ip,kind,count", must
 * parse to the same event.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/parse.h"
#include "trapline/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "fuzz_csv: check failed: %s (line %d)\n", \
				#cond, __LINE__);                            \
			abort();                                             \
		}                                                            \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tl_event ev, ev2;
	struct ingest_err err;
	char ip[TL_IP_STRLEN], line[256];
	enum ingest_line r;
	int n;

	r = ingest_csv_parse((const char *)data, size, &ev, &err);
	if (r == INGEST_SKIP)
		return 0;
	if (r == INGEST_BAD) {
		CHECK(err.code < 0);
		return 0;
	}
	CHECK(r == INGEST_EVENT);
	CHECK(err.code == 0);
	CHECK(ev.ip.family == 4 || ev.ip.family == 6);
	CHECK(ev.kind < TL_KIND_COUNT);
	CHECK(ev.count >= 1 && ev.count <= 1000000000u);
	CHECK(ev.time >= 0 && ev.time < 84006LL * 86400);

	tl_ip_format(&ev.ip, ip);
	n = snprintf(line, sizeof(line), "%" PRId64 ",%s,%s,%u\r\n", ev.time, ip,
		     tl_kind_name(ev.kind), ev.count);
	CHECK(n > 0 && (size_t)n < sizeof(line));
	r = ingest_csv_parse(line, (size_t)n, &ev2, &err);
	CHECK(r == INGEST_EVENT);
	CHECK(ev2.time == ev.time);
	CHECK(tl_ip_cmp(&ev2.ip, &ev.ip) == 0);
	CHECK(memcmp(ev2.ip.a, ev.ip.a, sizeof(ev.ip.a)) == 0);
	CHECK(ev2.kind == ev.kind);
	CHECK(ev2.count == ev.count);
	return 0;
}
