/* SPDX-License-Identifier: MIT */
/* proxy.c -- the PROXY protocol (stub: replaced by the parser) */
#include "smtp.h"

int proxy_parse(const uint8_t *buf, size_t len, struct proxy_info *out)
{
	(void)buf;
	(void)len;
	(void)out;
	return -1;
}
