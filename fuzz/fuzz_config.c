/* SPDX-License-Identifier: MIT */
/* fuzz_config.c -- tl_config_load_string: no crash, sane values
 *
 * A configuration file is operator input, but it is read from a file all
 * the same: any bytes must give 0 or an error, never a crash or a value
 * out of its documented range. Long lines go through the reader that cuts
 * them for libinih, which this exercises.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trapline/config.h"
#include "trapline/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                      \
	do {                                                             \
		if (!(cond)) {                                           \
			fprintf(stderr, "fuzz_config: check failed: %s\n", \
				#cond);                                  \
			abort();                                         \
		}                                                        \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tl_config cfg;
	char *text;
	unsigned i;
	int rc;

	if (size > 65536)
		return 0;
	tl_log_set_level(TL_LOG_ERROR);
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	CHECK(tl_config_defaults(&cfg) == 0);
	rc = tl_config_load_string(&cfg, text);
	CHECK(rc <= 0);
	CHECK(memchr(cfg.data, '\0', sizeof(cfg.data)) != NULL);
	CHECK(memchr(cfg.dns_txt, '\0', sizeof(cfg.dns_txt)) != NULL);
	CHECK(cfg.persistent_steadiness >= 0.0 &&
	      cfg.persistent_steadiness <= 1.0);
	CHECK(cfg.expire_days <= 36500 && cfg.hiatus_days <= 36500);
	CHECK(cfg.never_list_len <= 256 || rc < 0);
	for (i = 0; i < cfg.never_list_len; i++)
		CHECK(cfg.never_list[i].len <=
		      (cfg.never_list[i].ip.family == 4 ? 32 : 128));
	tl_config_free(&cfg);
	free(text);
	return 0;
}
