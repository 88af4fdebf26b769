/* SPDX-License-Identifier: MIT */
/* rbldnsd.c -- rbldnsd-syntax data (placeholder until the module lands) */
#include "rbldnsd.h"
