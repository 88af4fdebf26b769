/* SPDX-License-Identifier: MIT */
/* paths.c -- where lists.conf is looked for (set by the build) */
#include <stddef.h>

#include "check.h"

const char *const check_lists_paths[] = {
	TL_LISTS_INSTALLED, /* <sysconfdir>/trapline/lists.conf */
	TL_LISTS_SOURCE,    /* etc/lists.conf of the tree it was built from */
	NULL,
};
