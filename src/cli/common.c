/* SPDX-License-Identifier: MIT */
/* common.c -- options, configuration and errors shared by subcommands */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "trapline/err.h"
#include "trapline/log.h"

bool cli_common_opt(struct cli_common *c, int opt, const char *arg)
{
	switch (opt) {
	case OPT_DATA:
		c->data_opt = arg;
		return true;
	case OPT_CONFIG:
		c->config_opt = arg;
		return true;
	case OPT_JSON:
		c->json = true;
		return true;
	}
	return false;
}

int cli_load(struct cli_common *c)
{
	const char *path = c->config_opt, *env;
	int rc;

	rc = tl_config_defaults(&c->cfg);
	if (rc < 0) {
		log_error("config", "defaults: %s", tl_strerror(rc));
		return EXIT_SOFTWARE;
	}
	if (!path) {
		env = getenv("TRAPLINE_CONFIG");
		if (env && *env)
			path = env;
	}
	if (path) {
		rc = tl_config_load(&c->cfg, path);
		if (rc == TL_ENOENT)
			return EXIT_NOINPUT;
		if (rc < 0)
			return EXIT_USAGE;
	}
	env = getenv("TRAPLINE_DATA");
	if (c->data_opt)
		c->data = c->data_opt;
	else if (env && *env)
		c->data = env;
	else
		c->data = c->cfg.data;
	return EXIT_OK;
}

void cli_free(struct cli_common *c)
{
	tl_config_free(&c->cfg);
}

int cli_usage(const char *usage)
{
	fprintf(stderr, "usage: %s\n", usage);
	return EXIT_USAGE;
}

int cli_exit_code(int err)
{
	switch (err) {
	case TL_ENOSTORE:
	case TL_ENOENT:
		return EXIT_NOINPUT;
	case TL_EAGAIN:
		return EXIT_TEMPFAIL;
	case TL_ECORRUPT:
	case TL_EVERSION:
		return EXIT_DATAERR;
	case TL_EMAPFULL:
		return EXIT_UNAVAILABLE;
	case TL_ENOSPC:
	case TL_EIO:
	case -EDQUOT:
		return EXIT_IOERR;
	}
	return EXIT_SOFTWARE;
}

int cli_store_error(const char *dir, int err)
{
	log_error("store", "%s: %s", dir, tl_strerror(err));
	return cli_exit_code(err);
}
