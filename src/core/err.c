/* SPDX-License-Identifier: MIT */
/* err.c -- messages for trapline's error codes */
#include <string.h>

#include "trapline/err.h"

const char *tl_strerror(int err)
{
	switch (err) {
	case TL_OK:
		return "success";
	case TL_ESYNTAX:
		return "syntax error";
	case TL_EZONEID:
		return "IPv6 zone ids are not allowed";
	case TL_EHOSTBITS:
		return "prefix has host bits set";
	case TL_ETOOLONG:
		return "too long";
	case TL_EMISSING:
		return "required field missing";
	case TL_EKIND:
		return "unknown kind (spam, dictionary, auth, malware)";
	case TL_ETIME:
		return "bad time (ISO 8601 UTC or unix seconds, 1970-2199)";
	case TL_EDUP:
		return "duplicate field";
	case TL_ETYPE:
		return "field has the wrong type";
	case TL_ECORRUPT:
		return "data corrupt (checksum or structure)";
	case TL_EVERSION:
		return "unknown format version";
	case TL_ESTORE:
		return "database error";
	case TL_EMAPFULL:
		return "store map_size reached; raise [store] map_size";
	case TL_ETAG:
		return "bad tag ([a-z0-9_.-], 1-32 chars)";
	case TL_ELIMIT:
		return "limit reached";
	case TL_ENOSTORE:
		return "no store there (run ingest first)";
	case TL_EIP:
		return "not an IP address";
	case TL_ECOUNT:
		return "count out of range";
	case TL_EFUTURE:
		return "time is more than a day in the future";
	}
	if (err < 0 && err > -1000)
		return strerror(-err);
	return "unknown error";
}
