/* SPDX-License-Identifier: MIT */
/* rules_int.h -- what the classifier needs from the rules engine (private
 * to src/mail) */
#ifndef TRAPLINE_MAIL_RULES_INT_H
#define TRAPLINE_MAIL_RULES_INT_H

#include "mail.h"

/* Places a rule looks at (a mask). */
#define MAIL_WHERE_SUBJECT 1u
#define MAIL_WHERE_FROM 2u
#define MAIL_WHERE_BODY 4u

/* The places any rule of @rs looks at (0 for NULL or no rules), so the
 * classifier builds only the texts that will be matched. */
unsigned mail_rules_where(const struct mail_rules *rs);

/*
 * Match @rs against the texts of one message (@subject, @from, @body:
 * NUL-ended, ASCII letters in lower case, as the literal prefilter
 * expects; NULL for a text that was not built) and add each matching
 * rule's tag to @ev. Tags @ev already holds are not matched again; a full
 * tag list (TL_ELIMIT) is not an error. Thread safe on a shared @rs.
 */
void mail_rules_match(const struct mail_rules *rs, const char *subject,
		      const char *from, const char *body, struct tl_event *ev);

#endif
