/* SPDX-License-Identifier: MIT */
/* fuzz_oplist.c -- tl_oplist_parse on any bytes, then compile and ask
 *
 * DATA/operator.list is a file anyone with write access to DATA can
 * change: any bytes must parse to a list whose every entry keeps the
 * format's rules, or to an error; a list that parses must round-trip
 * through tl_oplist_format and compile to sorted, disjoint intervals.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/oplist.h"
#include "trapline/alloc.h"
#include "trapline/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                       \
	do {                                                              \
		if (!(cond)) {                                            \
			fprintf(stderr, "fuzz_oplist: check failed: %s\n", \
				#cond);                                   \
			abort();                                          \
		}                                                         \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tl_oplist l, m;
	unsigned line = 0, f;
	size_t i, len;
	char *text;

	if (size > (1u << 20))
		return 0;
	tl_log_set_level(TL_LOG_ERROR);
	tl_oplist_init(&l);
	tl_oplist_init(&m);
	if (tl_oplist_parse((const char *)data, size, &l, &line) < 0) {
		CHECK(l.n == 0 && line >= 1);
		return 0;
	}
	for (i = 0; i < l.n; i++) {
		CHECK(l.e[i].kind == TL_OP_LIST || l.e[i].kind == TL_OP_ALLOW);
		CHECK(tl_oplist_reason_ok(l.e[i].reason));
		CHECK(tl_oplist_who_ok(l.e[i].who));
	}
	CHECK(tl_oplist_format(&l, &text, &len) == 0);
	CHECK(tl_oplist_parse(text, len, &m, &line) == 0);
	CHECK(m.n == l.n);
	tl_free(text);
	CHECK(tl_oplist_compile(&l, 20000) == 0);
	for (f = 0; f < 2; f++)
		for (i = 0; i < l.nop[f]; i++) {
			CHECK(l.op[f][i].lo <= l.op[f][i].hi);
			CHECK(i == 0 || l.op[f][i - 1].hi < l.op[f][i].lo);
			CHECK(tl_iv_find(l.op[f], l.nop[f], l.op[f][i].lo) ==
			      (int64_t)i);
			CHECK(tl_iv_find(l.allow[f], l.nallow[f],
					 l.op[f][i].hi) < 0);
		}
	tl_oplist_free(&l);
	tl_oplist_free(&m);
	return 0;
}
