/* SPDX-License-Identifier: MIT */
/* av.c -- ClamAV (libclamav), when it is installed and enabled
 *
 * An operator who runs ClamAV points [content] clamav at its signature
 * database (a directory such as /var/lib/clamav, or one .cvd/.hdb/.ndb
 * file, custom signatures included); every message then goes through
 * libclamav as a whole mail (MIME, archives and all), and a match marks it
 * malware. One engine serves every thread: libclamav's scans of a compiled
 * engine are thread-safe.
 */
#include <stdio.h>
#include <string.h>

#include "mail.h"
#include "trapline/alloc.h"
#include "trapline/err.h"
#include "trapline/log.h"

#ifdef HAVE_CLAMAV
#include <clamav.h>
#include <pthread.h>

struct mail_av {
	struct cl_engine *engine;
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static cl_error_t init_rc;

static void init(void)
{
	init_rc = cl_init(CL_INIT_DEFAULT);
}

int mail_av_open(const char *db, struct mail_av **out)
{
	struct mail_av *av;
	unsigned int sigs = 0;
	cl_error_t rc;

	*out = NULL;
	pthread_once(&once, init);
	if (init_rc != CL_SUCCESS) {
		log_error("clamav", "cl_init: %s", cl_strerror(init_rc));
		return TL_EINVAL;
	}
	av = tl_calloc(1, sizeof(*av));
	if (!av)
		return TL_ENOMEM;
	av->engine = cl_engine_new();
	if (!av->engine) {
		tl_free(av);
		return TL_ENOMEM;
	}
	rc = cl_load(db, av->engine, &sigs, CL_DB_STDOPT);
	if (rc == CL_SUCCESS)
		rc = cl_engine_compile(av->engine);
	if (rc != CL_SUCCESS) {
		log_error("clamav", "%s: %s", db, cl_strerror(rc));
		cl_engine_free(av->engine);
		tl_free(av);
		return TL_EINVAL;
	}
	log_info("clamav", "%u signatures from %s", sigs, db);
	*out = av;
	return 0;
}

void mail_av_free(struct mail_av *av)
{
	if (!av)
		return;
	cl_engine_free(av->engine);
	tl_free(av);
}

int mail_av_scan(const struct mail_av *av, const char *msg, size_t len,
		 char *what, size_t whatlen)
{
	struct cl_scan_options opts;
	const char *name = NULL;
	cl_fmap_t *map;
	cl_error_t rc;

	memset(&opts, 0, sizeof(opts));
	opts.parse = ~0u; /* mail, archives, executables: everything */
	map = cl_fmap_open_memory(msg, len);
	if (!map)
		return TL_ENOMEM;
	rc = cl_scanmap_callback(map, NULL, &name, NULL, av->engine, &opts,
				 NULL);
	cl_fmap_close(map);
	if (rc == CL_VIRUS) {
		snprintf(what, whatlen, "ClamAV: %s", name ? name : "?");
		return 1;
	}
	return rc == CL_CLEAN ? 0 : TL_EIO;
}

bool mail_av_available(void)
{
	return true;
}

#else /* built without libclamav */

int mail_av_open(const char *db, struct mail_av **out)
{
	*out = NULL;
	log_error("clamav", "%s: this trapline was built without libclamav "
		  "(install libclamav-dev and rebuild)", db);
	return TL_EINVAL;
}

void mail_av_free(struct mail_av *av)
{
	(void)av;
}

int mail_av_scan(const struct mail_av *av, const char *msg, size_t len,
		 char *what, size_t whatlen)
{
	(void)av;
	(void)msg;
	(void)len;
	(void)what;
	(void)whatlen;
	return 0;
}

bool mail_av_available(void)
{
	return false;
}

#endif
