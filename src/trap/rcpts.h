/* SPDX-License-Identifier: MIT */
/* rcpts.h -- which recipients are traps: domains and known addresses */
#ifndef TRAPLINE_TRAP_RCPTS_H
#define TRAPLINE_TRAP_RCPTS_H

#include <stddef.h>

#include "session.h"

struct trap_rcpts; /* immutable once built; share across threads */

/*
 * @domains: "trap.example.org other.example" (every address there is a
 * trap); @text: the addresses file ("local@domain" a line, '#' comments):
 * a domain named there takes only its listed local parts. Domains are
 * compared case-insensitively, local parts exactly (RFC 5321 2.4) except
 * for "postmaster". Returns 0, or TL_ESYNTAX with "line N: ..." in @why.
 */
int trap_rcpts_build(const char *domains, const char *text, size_t len,
		     struct trap_rcpts **out, char *why, size_t whylen);
/* Read the addresses file @path (may be NULL or "") and build. */
int trap_rcpts_load(const char *domains, const char *path,
		    struct trap_rcpts **out);
void trap_rcpts_free(struct trap_rcpts *r);

enum sess_rcpt trap_rcpts_check(const struct trap_rcpts *r,
				const struct smtp_path *p);

#endif
