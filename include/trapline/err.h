/* SPDX-License-Identifier: MIT */
/* err.h -- trapline's error codes: negative errno values plus project codes */
#ifndef TRAPLINE_ERR_H
#define TRAPLINE_ERR_H

#include <errno.h>

/*
 * Every function that can fail returns 0 or one of these (always negative).
 * System errors keep their errno value; project errors start at -1000.
 * LMDB errors are mapped at one boundary (store/lmdb_err.c).
 */
enum tl_err {
	TL_OK = 0,
	TL_ENOMEM = -ENOMEM,
	TL_EINVAL = -EINVAL,
	TL_EIO = -EIO,
	TL_ENOENT = -ENOENT,
	TL_ERANGE = -ERANGE,
	TL_EEXIST = -EEXIST,
	TL_EAGAIN = -EAGAIN,
	TL_ENOSPC = -ENOSPC,

	TL_ESYNTAX = -1000,   /* text that does not parse */
	TL_EZONEID = -1001,   /* IPv6 zone id (fe80::1%eth0): not an address */
	TL_EHOSTBITS = -1002, /* prefix with bits set past its length */
	TL_ETOOLONG = -1003,  /* field or line over its limit */
	TL_EMISSING = -1004,  /* a required field is absent */
	TL_EKIND = -1005,     /* unknown event kind */
	TL_ETIME = -1006,     /* time out of range or malformed */
	TL_EDUP = -1007,      /* field given twice */
	TL_ETYPE = -1008,     /* field has the wrong JSON type */
	TL_ECORRUPT = -1009,  /* checksum or structure check failed */
	TL_EVERSION = -1010,  /* record or file of an unknown version */
	TL_ESTORE = -1011,    /* the database failed (details logged) */
	TL_EMAPFULL = -1012,  /* the store's map_size is reached */
	TL_ETAG = -1013,      /* bad content tag */
	TL_ELIMIT = -1014,    /* a configured or built-in limit is reached */
	TL_ENOSTORE = -1015,  /* no store at the given path */
	TL_EIP = -1016,       /* not an IP address */
	TL_ECOUNT = -1017,    /* count out of range */
	TL_EFUTURE = -1018,   /* time too far in the future */
};

/* A static, human-readable message for any code above (or any -errno). */
const char *tl_strerror(int err);

#endif
