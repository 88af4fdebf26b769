/* SPDX-License-Identifier: MIT */
/* test_config.c -- defaults, INI keys, values and the never-list */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trapline/config.h"
#include "trapline/err.h"

/* The config under test; freed after each test, even a failed one. */
static struct tl_config cfg;

static int teardown(void **state)
{
	(void)state;
	tl_config_free(&cfg);
	return 0;
}

static bool never(const struct tl_config *c, const char *s)
{
	struct tl_ip ip;
	unsigned i;

	assert_int_equal(tl_ip_parse(s, strlen(s), &ip), 0);
	for (i = 0; i < c->never_list_len; i++)
		if (tl_prefix_contains(&c->never_list[i], &ip))
			return true;
	return false;
}

static void test_defaults(void **state)
{
	static const char *const reserved[] = {
		"10.1.2.3", "192.168.1.1", "172.16.5.4", "127.0.0.1",
		"169.254.1.1", "192.0.2.1", "198.51.100.1", "203.0.113.1",
		"100.64.0.1", "0.1.2.3", "224.0.0.1", "255.255.255.255",
		"::1", "::", "fe80::1", "fc00::1", "fd12::1", "2001:db8::1",
		"ff02::1",
	};
	static const char *const public[] = {
		"8.8.8.8", "1.1.1.1", "193.0.6.139", "172.32.0.1",
		"2a00:1450::1", "2001:4860::8888",
	};
	size_t i;

	(void)state;
	memset(&cfg, 0x5a, sizeof(cfg));
	assert_int_equal(tl_config_defaults(&cfg), 0);
	assert_string_equal(cfg.data, "./var/trapline");
	assert_int_equal(cfg.map_size, 256ull << 30);
	assert_int_equal(cfg.expire_days, 7);
	assert_int_equal(cfg.hiatus_days, 30);
	assert_int_equal(cfg.persistent_days, 365);
	assert_true(cfg.persistent_steadiness == 0.5);
	assert_string_equal(cfg.trap_listen, "127.0.0.1:2525");
	assert_string_equal(cfg.trap_domains, "trap.example.org");
	assert_string_equal(cfg.trap_trusted_proxies, "127.0.0.1 ::1");
	assert_string_equal(cfg.ingest_own_relays, "");
	assert_string_equal(cfg.dns_listen, "127.0.0.1:5353");
	assert_string_equal(cfg.dns_zone, "bl.example.org");
	assert_non_null(strchr(cfg.dns_txt, '$'));
	assert_string_equal(cfg.geo_database, "");
	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (!never(&cfg, reserved[i]))
			fail_msg("%s not in the default never_list",
				 reserved[i]);
	for (i = 0; i < sizeof(public) / sizeof(public[0]); i++)
		if (never(&cfg, public[i]))
			fail_msg("%s in the default never_list", public[i]);
	tl_config_free(&cfg);
	assert_null(cfg.never_list);
	assert_int_equal(cfg.never_list_len, 0);
}

static void test_load_string(void **state)
{
	static const char text[] =
		"; a comment\n"
		"# another\n"
		"[store]\n"
		"data = /srv/trapline\n"
		"map_size = 1G\n"
		"[trap]\n"
		"listen = 0.0.0.0:25 [::]:25   ; inline comment\n"
		"domains = trap.example.net\n"
		"trusted_proxies = 10.0.0.1\n"
		"[ingest]\n"
		"own_relays = 192.0.2.10 mx2.example.org\n"
		"[dns]\n"
		"listen = 127.0.0.1:53\n"
		"zone = bl.example.net\n"
		"txt = Listed: see https://example.net/ip/$\n"
		"[policy]\n"
		"expire_days = 14\n"
		"hiatus_days = 60\n"
		"persistent_days = 730\n"
		"persistent_steadiness = 0.75\n"
		"never_list = 192.0.2.0/24 2001:db8::/32\n"
		"[geo]\n"
		"database = /usr/share/GeoIP/c.mmdb\n";

	(void)state;
	assert_int_equal(tl_config_defaults(&cfg), 0);
	assert_int_equal(tl_config_load_string(&cfg, text), 0);
	assert_string_equal(cfg.data, "/srv/trapline");
	assert_int_equal(cfg.map_size, 1ull << 30);
	assert_string_equal(cfg.trap_listen, "0.0.0.0:25 [::]:25");
	assert_string_equal(cfg.trap_domains, "trap.example.net");
	assert_string_equal(cfg.trap_trusted_proxies, "10.0.0.1");
	assert_string_equal(cfg.ingest_own_relays, "192.0.2.10 mx2.example.org");
	assert_string_equal(cfg.dns_listen, "127.0.0.1:53");
	assert_string_equal(cfg.dns_zone, "bl.example.net");
	assert_string_equal(cfg.dns_txt, "Listed: see https://example.net/ip/$");
	assert_int_equal(cfg.expire_days, 14);
	assert_int_equal(cfg.hiatus_days, 60);
	assert_int_equal(cfg.persistent_days, 730);
	assert_true(cfg.persistent_steadiness == 0.75);
	assert_int_equal(cfg.never_list_len, 2);
	/* never_list replaces the defaults */
	assert_true(never(&cfg, "192.0.2.77"));
	assert_true(never(&cfg, "2001:db8:1::1"));
	assert_false(never(&cfg, "10.0.0.1"));
	assert_string_equal(cfg.geo_database, "/usr/share/GeoIP/c.mmdb");
	tl_config_free(&cfg);
}

/* Keys not given keep what was there. */
static void test_load_partial(void **state)
{

	(void)state;
	assert_int_equal(tl_config_defaults(&cfg), 0);
	assert_int_equal(tl_config_load_string(&cfg, "[policy]\n"
						     "expire_days = 3\n"),
			 0);
	assert_int_equal(cfg.expire_days, 3);
	assert_int_equal(cfg.hiatus_days, 30);
	assert_string_equal(cfg.dns_zone, "bl.example.org");
	assert_true(never(&cfg, "10.0.0.1"));
	assert_int_equal(tl_config_load_string(&cfg, ""), 0);
	assert_int_equal(cfg.expire_days, 3);
	tl_config_free(&cfg);
}

static void test_unknown_rejected(void **state)
{
	static const char *const bad[] = {
		"[store]\nbogus = 1\n",
		"[bogus]\ndata = x\n",
		"data = x\n", /* outside any section */
		"[policy]\nexpire = 7\n",
		"[store]\nthis line is not INI\n",
		"[store\ndata = x\n",
		"[dns]\nzone = a\n[trap]\nzone = b\n",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(tl_config_defaults(&cfg), 0);
		if (tl_config_load_string(&cfg, bad[i]) != TL_ESYNTAX)
			fail_msg("accepted: %s", bad[i]);
		tl_config_free(&cfg);
	}
}

static void test_bad_values(void **state)
{
	static const char *const bad[] = {
		"[policy]\nexpire_days = -1\n",
		"[policy]\nexpire_days = abc\n",
		"[policy]\nexpire_days = 7x\n",
		"[policy]\nexpire_days = 36501\n",
		"[policy]\nexpire_days = 99999999999999999999\n",
		"[policy]\nexpire_days =\n",
		"[policy]\nhiatus_days = 1.5\n",
		"[policy]\npersistent_steadiness = 1.5\n",
		"[policy]\npersistent_steadiness = -0.1\n",
		"[policy]\npersistent_steadiness = nan\n",
		"[policy]\npersistent_steadiness = half\n",
		"[policy]\npersistent_steadiness =\n",
		"[store]\nmap_size = 10X\n",
		"[store]\nmap_size = -1\n",
		"[store]\nmap_size =\n",
		"[store]\nmap_size = G\n",
		"[store]\nmap_size = 1GB\n",
		"[store]\nmap_size = 99999999999T\n",
		"[store]\nmap_size = 99999999999999999999999\n",
		"[policy]\nnever_list = 10.0.0.1/8\n", /* host bits */
		"[policy]\nnever_list = not-an-ip\n",
		"[policy]\nnever_list = 10.0.0.0/8 10.0.0.0/33\n",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(tl_config_defaults(&cfg), 0);
		if (tl_config_load_string(&cfg, bad[i]) != TL_ESYNTAX)
			fail_msg("accepted: %s", bad[i]);
		tl_config_free(&cfg);
	}
}

static void test_map_size_suffixes(void **state)
{
	static const struct {
		const char *v;
		uint64_t want;
	} cases[] = {
		{"4096", 4096},       {"1K", 1024},
		{"1k", 1024},         {"2M", 2ull << 20},
		{"2m", 2ull << 20},   {"3G", 3ull << 30},
		{"1T", 1ull << 40},   {"16t", 16ull << 40},
		{"0", 0},             {"16777215T", 16777215ull << 40},
	};
	char text[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(tl_config_defaults(&cfg), 0);
		snprintf(text, sizeof(text), "[store]\nmap_size = %s\n",
			 cases[i].v);
		if (tl_config_load_string(&cfg, text) != 0)
			fail_msg("refused map_size = %s", cases[i].v);
		assert_int_equal(cfg.map_size, cases[i].want);
		tl_config_free(&cfg);
	}
}

static void test_parse_prefixes(void **state)
{
	static const char list[] = "10.0.0.0/8, 192.168.0.0/16\t2001:db8::/32,,"
				   "  ::1 ";
	struct tl_prefix *v;
	const char *bad = NULL;
	char text[256 * 16 + 64];
	unsigned n, i;
	size_t o = 0;

	(void)state;
	assert_int_equal(tl_config_parse_prefixes(list, &v, &n, &bad), 0);
	assert_int_equal(n, 4);
	assert_int_equal(v[0].len, 8);
	assert_int_equal(v[1].len, 16);
	assert_int_equal(v[2].len, 32);
	assert_int_equal(v[2].ip.family, 6);
	assert_int_equal(v[3].len, 128);
	free(v);

	assert_int_equal(tl_config_parse_prefixes("", &v, &n, &bad), 0);
	assert_int_equal(n, 0);
	free(v);
	assert_int_equal(tl_config_parse_prefixes(" , ", &v, &n, &bad), 0);
	assert_int_equal(n, 0);
	free(v);

	bad = NULL;
	assert_int_not_equal(tl_config_parse_prefixes("10.0.0.0/8 nope 1.2.3.4",
						      &v, &n, &bad),
			     0);
	assert_non_null(bad);
	assert_int_equal(strncmp(bad, "nope", 4), 0);
	assert_int_equal(tl_config_parse_prefixes("192.0.2.1/24", &v, &n, &bad),
			 TL_EHOSTBITS);

	/* at most TL_CONFIG_LIST_MAX (256) items */
	for (i = 0; i < 256; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "10.%u.0.0/16 ",
				      i);
	assert_int_equal(tl_config_parse_prefixes(text, &v, &n, &bad), 0);
	assert_int_equal(n, 256);
	free(v);
	snprintf(text + o, sizeof(text) - o, "11.0.0.0/8");
	assert_int_equal(tl_config_parse_prefixes(text, &v, &n, &bad),
			 TL_ELIMIT);
}

/* The default never_list is over 200 characters on one line: an operator
 * who copies it into the config file and adds a range must not be refused
 * for the length of the line. */
static void test_long_line(void **state)
{
	char text[TL_CONFIG_STR + 64];
	size_t o;
	unsigned i;

	(void)state;
	o = (size_t)snprintf(text, sizeof(text), "[policy]\nnever_list =");
	for (i = 0; i < 40; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, " 10.%u.0.0/16",
				      i);
	snprintf(text + o, sizeof(text) - o, "\n");
	assert_true(o > 400);
	assert_int_equal(tl_config_defaults(&cfg), 0);
	assert_int_equal(tl_config_load_string(&cfg, text), 0);
	assert_int_equal(cfg.never_list_len, 40);
	assert_true(never(&cfg, "10.39.1.1"));
	tl_config_free(&cfg);
}

/* A long value with no space to cut at (a TXT template with a long URL)
 * comes back exactly as written; one with spaces keeps them. */
static void test_long_value_without_spaces(void **state)
{
	char text[TL_CONFIG_STR + 64], want[TL_CONFIG_STR];
	size_t o, w = 0;
	unsigned i;

	(void)state;
	for (i = 0; i < 500; i++)
		want[w++] = (char)('a' + i % 26);
	memcpy(want + w, " and $ then more", 17);
	o = (size_t)snprintf(text, sizeof(text), "[dns]\ntxt = %s\n", want);
	assert_true(o > 500);
	assert_int_equal(tl_config_defaults(&cfg), 0);
	assert_int_equal(tl_config_load_string(&cfg, text), 0);
	assert_string_equal(cfg.dns_txt, want);
	tl_config_free(&cfg);
}

static void test_load_file(void **state)
{
	char path[] = "/tmp/test_config_XXXXXX";
	FILE *f;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs("[dns]\nzone = bl.test\n[policy]\nhiatus_days = 5\n", f);
	fclose(f);
	assert_int_equal(tl_config_defaults(&cfg), 0);
	assert_int_equal(tl_config_load(&cfg, path), 0);
	assert_string_equal(cfg.dns_zone, "bl.test");
	assert_int_equal(cfg.hiatus_days, 5);
	unlink(path);
	assert_int_equal(tl_config_load(&cfg, path), TL_ENOENT);
	tl_config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_defaults, teardown),
		cmocka_unit_test_teardown(test_load_string, teardown),
		cmocka_unit_test_teardown(test_load_partial, teardown),
		cmocka_unit_test_teardown(test_unknown_rejected, teardown),
		cmocka_unit_test_teardown(test_bad_values, teardown),
		cmocka_unit_test_teardown(test_map_size_suffixes, teardown),
		cmocka_unit_test_teardown(test_parse_prefixes, teardown),
		cmocka_unit_test_teardown(test_long_line, teardown),
		cmocka_unit_test_teardown(test_long_value_without_spaces,
					  teardown),
		cmocka_unit_test_teardown(test_load_file, teardown),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
