/* SPDX-License-Identifier: MIT */
/* varint.h -- LEB128 unsigned varints with bounds checks */
#ifndef TRAPLINE_VARINT_H
#define TRAPLINE_VARINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VARINT_MAX 10

static inline size_t varint_put(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

/* A bounded reader with a sticky error. */
struct rd {
	const uint8_t *p, *end;
	bool err;
};

static inline uint64_t rd_varint(struct rd *r)
{
	uint64_t v = 0;
	unsigned shift = 0;

	/* With ten bytes left (a varint's most), the first nine need no
	 * bounds or overflow test; the tenth takes the careful loop. */
	if (r->end - r->p >= 10) {
		const uint8_t *q = r->p;

		for (shift = 0; shift < 63; shift += 7) {
			uint8_t b = *q++;

			v |= (uint64_t)(b & 0x7f) << shift;
			if (!(b & 0x80)) {
				r->p = q;
				return v;
			}
		}
		v = 0;
		shift = 0;
	}
	while (r->p < r->end) {
		uint8_t b = *r->p++;

		if (shift == 63 && b > 1)
			break; /* overflows 64 bits */
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
		shift += 7;
		if (shift > 63)
			break;
	}
	r->err = true;
	r->p = r->end;
	return 0;
}

static inline uint8_t rd_u8(struct rd *r)
{
	if (r->p >= r->end) {
		r->err = true;
		return 0;
	}
	return *r->p++;
}

#endif
