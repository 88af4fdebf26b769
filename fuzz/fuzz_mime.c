/* SPDX-License-Identifier: MIT */
/* fuzz_mime.c -- mail_classify on any bytes, with the built-in rules
 *
 * Invariants: it returns 0, the verdict's reason is NUL-ended and
 * printable, no more than TL_MIME_PARTS_MAX parts are counted, a malware
 * verdict has a reason, and every tag is one tl_event_add_tag accepts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl_limits.h"
#include "mail/mail.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                        \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "fuzz_mime: check failed: %s (line " \
				"%d)\n", #cond, __LINE__);                 \
			abort();                                           \
		}                                                          \
	} while (0)

static struct mail_rules *rules;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mail_verdict v;
	struct tl_event ev, tmp;
	const char *nul;
	unsigned i;

	if (!rules && mail_rules_load(NULL, &rules) != 0)
		abort();
	tl_event_init(&ev);
	CHECK(mail_classify((const char *)data, size, rules, &ev, &v) == 0);
	nul = memchr(v.why, '\0', sizeof(v.why));
	CHECK(nul);
	for (i = 0; v.why + i < nul; i++)
		CHECK(v.why[i] >= 32 && v.why[i] < 127);
	CHECK(v.parts <= TL_MIME_PARTS_MAX);
	CHECK(!v.malware || v.why[0]);
	CHECK(v.malware || !v.why[0]);
	CHECK(ev.ntags <= TL_EVENT_TAGS);
	tl_event_init(&tmp);
	for (i = 0; i < ev.ntags; i++)
		CHECK(tl_event_add_tag(&tmp, ev.tags[i], strlen(ev.tags[i])) ==
		      0);
	/* Without rules or event, the same verdict. */
	{
		struct mail_verdict v2;

		CHECK(mail_classify((const char *)data, size, NULL, NULL, &v2) ==
		      0);
		CHECK(v2.malware == v.malware && v2.parts == v.parts);
	}
	return 0;
}
