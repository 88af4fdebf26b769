/* SPDX-License-Identifier: MIT */
/* smtp_parse.c -- SMTP command lines (stub: replaced by the parser) */
#include <string.h>

#include "smtp.h"

enum smtp_perr smtp_parse_command(const char *line, size_t len,
				  struct smtp_cmd *out)
{
	(void)line;
	(void)len;
	memset(out, 0, sizeof(*out));
	return SMTP_E_UNKNOWN;
}

const char *smtp_perr_reply(enum smtp_perr e)
{
	(void)e;
	return "500 5.5.1 Command unrecognized";
}

int xclient_parse(const char *arg, size_t len, struct xclient_info *out)
{
	(void)arg;
	(void)len;
	memset(out, 0, sizeof(*out));
	return -1;
}
