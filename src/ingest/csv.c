/* SPDX-License-Identifier: MIT */
/* csv.c -- "time,ip,kind,count" event lines (RFC 4180 quoting) */
#include <stdbool.h>
#include <string.h>

#include "tl_limits.h"
#include "parse.h"
#include "trapline/day.h"
#include "trapline/err.h"

#define CSV_FIELDS 4

static const char *const field_names[CSV_FIELDS] = {"time", "ip", "kind",
						    "count"};

/*
 * Split one line into at most CSV_FIELDS fields, unquoting into @buf
 * (which holds @len bytes, enough since unquoting only shrinks).
 * Returns the field count, or -1 on a quoting error or too many fields.
 */
static int split(const char *s, size_t len, char *buf, const char *f[],
		 size_t flen[])
{
	size_t i = 0, o = 0;
	int n = 0;

	for (;;) {
		size_t start = o;

		if (n == CSV_FIELDS)
			return -1;
		if (i < len && s[i] == '"') {
			i++;
			for (;;) {
				if (i >= len)
					return -1;
				if (s[i] == '"') {
					if (i + 1 < len && s[i + 1] == '"') {
						buf[o++] = '"';
						i += 2;
						continue;
					}
					i++;
					break;
				}
				buf[o++] = s[i++];
			}
			if (i < len && s[i] != ',')
				return -1;
		} else {
			while (i < len && s[i] != ',') {
				if (s[i] == '"')
					return -1;
				buf[o++] = s[i++];
			}
		}
		f[n] = buf + start;
		flen[n] = o - start;
		n++;
		if (i >= len)
			return n;
		i++; /* the comma */
	}
}

static void trim(const char **s, size_t *len)
{
	while (*len && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*len)--;
	}
	while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
		(*len)--;
}

/*
 * Reads @len untrusted bytes. Checks quoting, field count, and each field
 * as the NDJSON parser does; never reads past @len.
 */
enum ingest_line ingest_csv_parse(const char *line, size_t len,
				  struct tl_event *ev, struct ingest_err *err)
{
	char buf[512];
	const char *f[CSV_FIELDS];
	size_t flen[CSV_FIELDS], i;
	uint64_t count = 0;
	enum tl_kind kind;
	int n, rc;

	tl_event_init(ev);
	err->code = 0;
	err->field = NULL;
	if (len && line[len - 1] == '\n')
		len--;
	if (len && line[len - 1] == '\r')
		len--;
	for (i = 0; i < len; i++)
		if (line[i] != ' ' && line[i] != '\t')
			break;
	if (i == len)
		return INGEST_SKIP;
	if (len > sizeof(buf)) {
		err->code = TL_ETOOLONG;
		return INGEST_BAD;
	}
	n = split(line, len, buf, f, flen);
	if (n < 0) {
		err->code = TL_ESYNTAX;
		return INGEST_BAD;
	}
	for (i = 0; i < (size_t)n; i++)
		trim(&f[i], &flen[i]);
	if (flen[0] == 4 && memcmp(f[0], "time", 4) == 0)
		return INGEST_SKIP;
	if (n < 2) {
		err->code = TL_EMISSING;
		err->field = "ip";
		return INGEST_BAD;
	}
	err->field = field_names[0];
	rc = tl_time_parse(f[0], flen[0], &ev->time);
	if (rc < 0) {
		err->code = TL_ETIME;
		return INGEST_BAD;
	}
	err->field = field_names[1];
	rc = tl_ip_parse(f[1], flen[1], &ev->ip);
	if (rc < 0) {
		err->code = rc == TL_ETOOLONG ? TL_EIP : rc;
		return INGEST_BAD;
	}
	if (n > 2 && flen[2] > 0) {
		err->field = field_names[2];
		if (tl_kind_parse(f[2], flen[2], &kind) < 0) {
			err->code = TL_EKIND;
			return INGEST_BAD;
		}
		ev->kind = (uint8_t)kind;
	}
	if (n > 3 && flen[3] > 0) {
		err->field = field_names[3];
		if (flen[3] > 10) {
			err->code = TL_ECOUNT;
			return INGEST_BAD;
		}
		for (i = 0; i < flen[3]; i++) {
			if (f[3][i] < '0' || f[3][i] > '9') {
				err->code = TL_ECOUNT;
				return INGEST_BAD;
			}
			count = count * 10 + (uint64_t)(f[3][i] - '0');
		}
		if (count == 0 || count > TL_EVENT_COUNT_MAX) {
			err->code = TL_ECOUNT;
			return INGEST_BAD;
		}
		ev->count = (uint32_t)count;
	}
	err->field = NULL;
	return INGEST_EVENT;
}
