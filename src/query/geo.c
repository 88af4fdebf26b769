/* SPDX-License-Identifier: MIT */
/* geo.c -- country lookups through libGeoIP or libmaxminddb */
#include <GeoIP.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "trapline/alloc.h"
#include "trapline/err.h"
#include "trapline/geo.h"
#include "trapline/log.h"

struct tl_geo {
	GeoIP *v4, *v6;  /* libGeoIP country databases, or NULL */
	MMDB_s mmdb;     /* when use_mmdb */
	int use_mmdb;
};

static GeoIP *open_geoip(const char *dir, const char *file)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (access(path, R_OK) < 0)
		return NULL;
	return GeoIP_open(path, GEOIP_MEMORY_CACHE | GEOIP_SILENCE);
}

int tl_geo_open(const char *mmdb_path, struct tl_geo **out)
{
	struct tl_geo *g = tl_calloc(1, sizeof(*g));
	const char *dir;
	int rc;

	if (!g)
		return TL_ENOMEM;
	*out = g;
	if (mmdb_path && *mmdb_path) {
		rc = MMDB_open(mmdb_path, MMDB_MODE_MMAP, &g->mmdb);
		if (rc != MMDB_SUCCESS) {
			log_error("geo", "%s: %s", mmdb_path,
				  MMDB_strerror(rc));
			return rc == MMDB_FILE_OPEN_ERROR ? TL_ENOENT
							  : TL_ECORRUPT;
		}
		g->use_mmdb = 1;
		return 0;
	}
	dir = getenv("TRAPLINE_GEOIP_DIR");
	if (!dir || !*dir)
		dir = "/usr/share/GeoIP";
	g->v4 = open_geoip(dir, "GeoIP.dat");
	g->v6 = open_geoip(dir, "GeoIPv6.dat");
	return g->v4 || g->v6 ? 0 : TL_ENOENT;
}

void tl_geo_close(struct tl_geo *g)
{
	if (!g)
		return;
	if (g->v4)
		GeoIP_delete(g->v4);
	if (g->v6)
		GeoIP_delete(g->v6);
	if (g->use_mmdb)
		MMDB_close(&g->mmdb);
	tl_free(g);
}

/* Set @last to the last address of @ip's network of @bits bits. */
static void block_end(const struct tl_ip *ip, unsigned bits,
		      struct tl_ip *last)
{
	struct tl_prefix p;
	size_t i, size = tl_ip_size(ip);

	p.ip = *ip;
	p.len = (uint8_t)bits;
	for (i = 0; i < size; i++) {
		unsigned bit = (unsigned)i * 8;

		if (bit >= bits)
			p.ip.a[i] = 0;
		else if (bits - bit < 8)
			p.ip.a[i] &= (uint8_t)(0xff00 >> (bits - bit));
	}
	tl_prefix_last(&p, last);
}

static void copy_cc(char cc[3], const char *s, size_t n)
{
	if (n == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' &&
	    s[1] <= 'Z') {
		cc[0] = s[0];
		cc[1] = s[1];
		cc[2] = '\0';
	} else {
		cc[0] = '\0';
	}
}

static void mmdb_country(struct tl_geo *g, const struct tl_ip *ip,
			 char cc[3], struct tl_ip *last)
{
	struct sockaddr_storage ss;
	MMDB_lookup_result_s res;
	MMDB_entry_data_s data;
	unsigned bits;
	int err;

	memset(&ss, 0, sizeof(ss));
	if (ip->family == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, ip->a, 4);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, ip->a, 16);
	}
	res = MMDB_lookup_sockaddr(&g->mmdb, (struct sockaddr *)&ss, &err);
	cc[0] = '\0';
	bits = res.netmask;
	/* An IPv4 lookup in an IPv6 tree counts the ::/96 bits too. */
	if (ip->family == 4 && g->mmdb.metadata.ip_version == 6)
		bits = bits >= 96 ? bits - 96 : 0;
	if (bits > (ip->family == 4 ? 32u : 128u))
		bits = ip->family == 4 ? 32 : 128;
	if (last)
		block_end(ip, err == MMDB_SUCCESS ? bits
						  : (ip->family == 4 ? 32u : 128u),
			  last);
	if (err != MMDB_SUCCESS || !res.found_entry)
		return;
	if ((MMDB_get_value(&res.entry, &data, "country", "iso_code", NULL) ==
		     MMDB_SUCCESS &&
	     data.has_data && data.type == MMDB_DATA_TYPE_UTF8_STRING) ||
	    (MMDB_get_value(&res.entry, &data, "registered_country",
			    "iso_code", NULL) == MMDB_SUCCESS &&
	     data.has_data && data.type == MMDB_DATA_TYPE_UTF8_STRING))
		copy_cc(cc, data.utf8_string, data.data_size);
}

void tl_geo_country(struct tl_geo *g, const struct tl_ip *ip, char cc[3],
		    struct tl_ip *block_last)
{
	const char *code = NULL;
	int id, bits = ip->family == 4 ? 32 : 128;

	cc[0] = '\0';
	if (g && g->use_mmdb) {
		mmdb_country(g, ip, cc, block_last);
		return;
	}
	if (g && ip->family == 4 && g->v4) {
		id = GeoIP_id_by_ipnum(g->v4, tl_ip_v4(ip));
		bits = GeoIP_last_netmask(g->v4);
		code = id > 0 ? GeoIP_code_by_id(id) : NULL;
	} else if (g && ip->family == 6 && g->v6) {
		geoipv6_t a;

		memcpy(&a, ip->a, 16);
		id = GeoIP_id_by_ipnum_v6(g->v6, a);
		bits = GeoIP_last_netmask(g->v6);
		code = id > 0 ? GeoIP_code_by_id(id) : NULL;
	}
	if (code)
		copy_cc(cc, code, strlen(code));
	if (block_last) {
		/* libGeoIP leaves its netmask stale for some lookups (the
		 * all-zero address): never let that skip more than @ip. */
		static const uint8_t zero[16];

		if (bits <= 0 || bits > (ip->family == 4 ? 32 : 128) ||
		    memcmp(ip->a, zero, tl_ip_size(ip)) == 0)
			bits = ip->family == 4 ? 32 : 128;
		block_end(ip, (unsigned)bits, block_last);
	}
}
