/* SPDX-License-Identifier: MIT */
/* fuzz_snapshot.c -- snap_load on any bytes: refused or searchable
 *
 * A snapshot file is read by the DNS server, which must survive any file
 * in its place. Each input is loaded twice through a memfd: as it is (the
 * checksums turn nearly everything away) and with its checksums made
 * right, so the structure checks behind them (counts against the length,
 * ascending keys, ascending disjoint ranges) are what is exercised. A
 * file that loads is then searched: every key and every range end must be
 * found, and the public walks must stay within the file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "policy/snapshot.h"
#include "trapline/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                        \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "fuzz_snapshot: check failed: %s\n", \
				#cond);                                    \
			abort();                                           \
		}                                                          \
	} while (0)

#define HDR 88

static void search(struct snap *sn)
{
	struct snap_listing li;
	struct snap_history h;
	struct tl_ip ip, lo, hi;
	uint8_t fam;
	uint64_t i, n;

	for (fam = 4; fam <= 6; fam += 2) {
		n = snap_count(sn, fam);
		for (i = 0; i < n && i < 4096; i++) {
			snap_listed_at(sn, fam, i, &ip, &li);
			CHECK(snap_lookup(sn, &ip, &li));
			snap_history(sn, &ip, &h);
		}
		n = snap_range_count(sn, fam);
		for (i = 0; i < n && i < 4096; i++) {
			snap_range_at(sn, fam, i, &lo, &hi, &li);
			CHECK(tl_ip_cmp(&lo, &hi) <= 0);
			CHECK(snap_lookup(sn, &lo, &li));
			CHECK(snap_lookup(sn, &hi, &li));
		}
	}
}

static void load(const uint8_t *data, size_t size)
{
	char path[64];
	struct snap *sn = NULL;
	int fd = memfd_create("snap", MFD_CLOEXEC);

	if (fd < 0)
		return;
	if (size && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (snap_load(path, &sn) == 0) {
		search(sn);
		snap_free(sn);
	}
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;
	uint32_t c;

	if (size > (1u << 20))
		return 0;
	tl_log_set_level(TL_LOG_ERROR);
	load(data, size);
	if (size < HDR)
		return 0;
	copy = malloc(size);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	c = (uint32_t)crc32(crc32(0, NULL, 0), copy + HDR, (uInt)(size - HDR));
	memcpy(copy + 80, &c, 4);
	c = (uint32_t)crc32(crc32(0, NULL, 0), copy, 84);
	memcpy(copy + 84, &c, 4);
	load(copy, size);
	free(copy);
	return 0;
}
