/* SPDX-License-Identifier: MIT */
/* wire.c -- DNS messages on the wire (placeholder until the module lands) */
#include "wire.h"
