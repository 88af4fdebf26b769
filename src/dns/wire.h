/* SPDX-License-Identifier: MIT */
/* wire.h -- DNS messages on the wire (RFC 1035, 6891): parse and compose
 *
 * Pure: no I/O, no global state. The server reads queries with
 * dns_query_parse and writes answers with the builder; unit tests and the
 * fuzzer call them directly. (To be designed and documented in full by
 * the module's author; see src/dns/wire.c.)
 */
#ifndef TRAPLINE_DNS_WIRE_H
#define TRAPLINE_DNS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#endif
