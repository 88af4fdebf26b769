/* SPDX-License-Identifier: MIT */
/* rules.c -- content rules (stub: replaced by the rules engine) */
#include <stdlib.h>

#include "mail.h"
#include "trapline/err.h"

struct mail_rules {
	int unused;
};

int mail_rules_parse(const char *text, size_t len, struct mail_rules **out,
		     char *why, size_t whylen)
{
	(void)text;
	(void)len;
	(void)why;
	(void)whylen;
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : TL_ENOMEM;
}

int mail_rules_load(const char *path, struct mail_rules **out)
{
	(void)path;
	return mail_rules_parse("", 0, out, NULL, 0);
}

void mail_rules_free(struct mail_rules *r)
{
	free(r);
}
