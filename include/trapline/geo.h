/* SPDX-License-Identifier: MIT */
/* geo.h -- country of an address: Debian's GeoIP.dat or a MaxMind DB */
#ifndef TRAPLINE_GEO_H
#define TRAPLINE_GEO_H

#include "trapline/ip.h"

struct tl_geo;

/*
 * Open the country database: @mmdb_path when given and non-empty (a
 * MaxMind DB file, libmaxminddb), else Debian's geoip-database through
 * libGeoIP (GeoIP.dat and GeoIPv6.dat in $TRAPLINE_GEOIP_DIR, default
 * /usr/share/GeoIP). Returns 0, TL_ENOENT (no database: queries still
 * work, countries are unknown) or another error. Not thread safe: one
 * handle per thread.
 */
int tl_geo_open(const char *mmdb_path, struct tl_geo **out);
void tl_geo_close(struct tl_geo *g);

/*
 * The ISO 3166 code of @ip into @cc ("GB"; "" when unknown). With
 * @block_last, also the last address of the network the answer covers
 * (every address from @ip to it has the same answer), so callers walking
 * addresses in order can skip whole blocks.
 */
void tl_geo_country(struct tl_geo *g, const struct tl_ip *ip, char cc[3],
		    struct tl_ip *block_last);

#endif
