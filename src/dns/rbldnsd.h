/* SPDX-License-Identifier: MIT */
/* rbldnsd.h -- block-list data in rbldnsd's ip4set / ip4trie / ip6trie
 * syntax, loaded for lookup. (To be designed and documented in full by the
 * module's author; see src/dns/rbldnsd.c.)
 */
#ifndef TRAPLINE_DNS_RBLDNSD_H
#define TRAPLINE_DNS_RBLDNSD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#endif
