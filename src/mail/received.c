/* SPDX-License-Identifier: MIT */
/* received.c -- one Received field (stub: replaced by the parser) */
#include "mail.h"
#include "trapline/err.h"

int mail_received_parse(const char *v, size_t vlen, struct mail_hop *hop)
{
	(void)v;
	(void)vlen;
	(void)hop;
	return TL_ESYNTAX;
}
