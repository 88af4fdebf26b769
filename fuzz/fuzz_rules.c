/* SPDX-License-Identifier: MIT */
/* fuzz_rules.c -- mail_rules_parse on any bytes
 *
 * Invariants: success or TL_ESYNTAX/TL_ENOMEM; on TL_ESYNTAX the reason
 * starts "line N: "; a parsed set classifies a small message (its own text
 * as the body, its first 128 bytes) without fault. Inputs over 4 KiB are
 * skipped: glibc regcomp is slow on long hostile patterns, and the
 * parser's own bounds are reached well below that. The body is short
 * because nested bounded repeats make glibc's regexec slow by design.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/mail.h"
#include "trapline/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                         \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "fuzz_rules: check failed: %s (line " \
				"%d)\n", #cond, __LINE__);                  \
			abort();                                            \
		}                                                           \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mail_rules *r = NULL;
	struct mail_verdict v;
	struct tl_event ev;
	char why[128];
	char msg[4200];
	int rc;

	if (size > 4096)
		return 0;
	rc = mail_rules_parse((const char *)data, size, &r, why, sizeof(why));
	if (rc == TL_ESYNTAX) {
		CHECK(r == NULL);
		CHECK(strncmp(why, "line ", 5) == 0);
		CHECK(memchr(why, '\0', sizeof(why)));
		return 0;
	}
	CHECK(rc == 0 || rc == TL_ENOMEM);
	if (rc)
		return 0;
	CHECK(r != NULL);
	/* The input as subject, from and body of a message. */
	memcpy(msg, "Subject: ", 9);
	memcpy(msg + 9, data, size > 64 ? 64 : size);
	{
		size_t o = 9 + (size > 64 ? 64 : size);

		memcpy(msg + o, "\r\n\r\n", 4);
		o += 4;
		size = size > 128 ? 128 : size;
		memcpy(msg + o, data, size);
		tl_event_init(&ev);
		CHECK(mail_classify(msg, o + size, r, &ev, &v) == 0);
		CHECK(ev.ntags <= TL_EVENT_TAGS);
	}
	mail_rules_free(r);
	return 0;
}
