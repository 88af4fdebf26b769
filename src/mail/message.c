/* SPDX-License-Identifier: MIT */
/* message.c -- a trap mailbox message as an event (stub) */
#include <stdlib.h>
#include <string.h>

#include "mail.h"
#include "trapline/err.h"

int mail_relays_parse(const char *text, struct mail_relays *out,
		      const char **bad)
{
	(void)text;
	(void)bad;
	memset(out, 0, sizeof(*out));
	return 0;
}

void mail_relays_free(struct mail_relays *r)
{
	free(r->nets);
	free(r->names);
	memset(r, 0, sizeof(*r));
}

const char *mail_skip_name(enum mail_skip why)
{
	(void)why;
	return "unknown";
}

enum mail_skip mail_message_event(const char *msg, size_t len,
				  const struct mail_opts *o,
				  struct tl_event *ev)
{
	(void)msg;
	(void)len;
	(void)o;
	(void)ev;
	return MAIL_SKIP_NO_HEADER;
}

bool mail_ip_is_special(const struct tl_ip *ip)
{
	(void)ip;
	return false;
}
