/* SPDX-License-Identifier: MIT */
/* fuzz_lists.c -- check_lists_parse: no crash, every list whole
 *
 * lists.conf is operator input, edited by hand and copied around: any
 * bytes must give 0 with lists that keep their documented invariants, or
 * an error that names a line, never a crash. Selection and query names
 * are driven from the parsed lists too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/check.h"
#include "tl_limits.h"
#include "trapline/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                     \
	do {                                                            \
		if (!(cond)) {                                          \
			fprintf(stderr, "fuzz_lists: check failed: %s\n", \
				#cond);                                 \
			abort();                                        \
		}                                                       \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct check_lists l;
	char err[256], name[256];
	bool sel[TL_LISTS_MAX];
	struct tl_ip ip;
	uint32_t i, k;
	int rc;

	if (size > 262144)
		return 0;
	rc = check_lists_parse((const char *)data, size, "f", &l, err,
			       sizeof(err));
	if (rc < 0) {
		CHECK(l.n == 0 && l.v == NULL);
		CHECK(strncmp(err, "f:", 2) == 0);
		return 0;
	}
	CHECK(l.n <= TL_LISTS_MAX);
	tl_ip_from_v4(&ip, 0x7f000002);
	for (i = 0; i < l.n; i++) {
		const struct check_list *c = &l.v[i];

		CHECK(c->name && c->name[0] && strlen(c->name) <= 63);
		CHECK(c->zone && c->zone[0] && strlen(c->zone) <= 180);
		CHECK(c->families && !(c->families & ~3u));
		CHECK(c->ncodes <= TL_LISTS_CODES_MAX);
		CHECK(c->timeout_ms >= 1 &&
		      c->timeout_ms <= TL_CHECK_TIMEOUT_MS_MAX);
		CHECK(c->retries <= TL_CHECK_RETRIES_MAX);
		for (k = 0; k < c->ncodes; k++) {
			CHECK(c->codes[k].a >> 24 == 127);
			CHECK(strlen(c->codes[k].meaning) <=
			      TL_LISTS_MEANING_MAX);
			CHECK(check_list_code(c, c->codes[k].a) ==
			      &c->codes[k]);
		}
		{
			/* meanings fit any buffer and end in a NUL */
			uint32_t a = 0x7f000000u | (uint32_t)size << 8 | i;
			size_t sz = 1 + (size_t)(a % 64);
			const char *m = check_list_meaning(c, a, name, sz);

			CHECK(m && (m != name || strlen(m) < sz));
		}
		CHECK(check_qname(&ip, c->zone, name, sizeof(name)) > 0);
		ip.family = 6;
		{
			/* meanings fit any buffer and end in a NUL */
			uint32_t a = 0x7f000000u | (uint32_t)size << 8 | i;
			size_t sz = 1 + (size_t)(a % 64);
			const char *m = check_list_meaning(c, a, name, sz);

			CHECK(m && (m != name || strlen(m) < sz));
		}
		CHECK(check_qname(&ip, c->zone, name, sizeof(name)) > 0);
		ip.family = 4;
		/* each list selects itself */
		rc = check_lists_select(&l, c->name, sel, err, sizeof(err));
		CHECK(rc >= 1 && sel[i]);
		if (c->sets) {
			char set[64];
			size_t n = strspn(c->sets, " ");
			size_t m = strcspn(c->sets + n, " ");

			if (m && m < sizeof(set)) {
				memcpy(set, c->sets + n, m);
				set[m] = '\0';
				rc = check_lists_select(&l, set, sel, err,
							sizeof(err));
				CHECK(rc >= 1 && sel[i]);
			}
		}
	}
	rc = check_lists_select(&l, NULL, sel, err, sizeof(err));
	CHECK(rc >= 0 && (uint32_t)rc <= l.n);
	check_lists_free(&l);
	return 0;
}
