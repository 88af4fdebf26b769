/* SPDX-License-Identifier: MIT */
/* fuzz_received.c -- mail_received_parse, mail_message_event and
 * mail_relays_parse on arbitrary bytes
 *
 * The input is read three ways: as one Received value, as a whole message
 * (with own relays configured), and as an own_relays list. Checked: hop
 * strings are NUL-terminated within their arrays and lower case, an
 * address has family 4 or 6, a time is -1 or inside the events' range; a
 * message gives a known skip reason, and when taken an event that passes
 * tl_event_check, from an address that is neither special nor a relay;
 * a relay list is empty after an error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl_limits.h"
#include "mail.h"
#include "trapline/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr,                                      \
				"fuzz_received: check failed: %s (line %d)\n", \
				#cond, __LINE__);                            \
			abort();                                             \
		}                                                            \
	} while (0)

static void check_name(const char *s, size_t cap)
{
	const char *nul = memchr(s, '\0', cap);
	const char *p;

	CHECK(nul != NULL);
	CHECK((size_t)(nul - s) <= MAIL_NAME_MAX);
	for (p = s; p < nul; p++)
		CHECK(!(*p >= 'A' && *p <= 'Z') && (unsigned char)*p >= ' ');
}

static void check_time(int64_t t)
{
	CHECK(t == -1 || (t >= (int64_t)TL_DAY_MIN * 86400 &&
			  t < ((int64_t)TL_DAY_MAX + 1) * 86400));
}

static void check_hop(const uint8_t *data, size_t size)
{
	struct mail_hop hop;
	int rc;

	rc = mail_received_parse((const char *)data, size, &hop);
	CHECK(rc == 0 || rc == TL_ESYNTAX);
	if (rc != 0)
		return;
	check_name(hop.helo, sizeof(hop.helo));
	check_name(hop.rdns, sizeof(hop.rdns));
	check_name(hop.by, sizeof(hop.by));
	if (hop.has_ip)
		CHECK(hop.ip.family == 4 || hop.ip.family == 6);
	check_time(hop.time);
}

static const struct mail_relays *relays(void)
{
	static struct mail_relays r;
	static bool ready;
	const char *bad;

	if (!ready) {
		CHECK(mail_relays_parse("81.2.69.0/24, mx2.example.org "
					"2001:db8::/32 198.51.100.7",
					&r, &bad) == 0);
		ready = true;
	}
	return &r;
}

static void check_message(const uint8_t *data, size_t size)
{
	struct mail_opts o = {relays(), NULL, -1, "fuzz"};
	struct tl_event ev;
	enum mail_skip why;
	const char *p;

	why = mail_message_event((const char *)data, size, &o, &ev);
	CHECK((unsigned)why < MAIL_SKIP_COUNT);
	CHECK(strcmp(mail_skip_name(why), "unknown") != 0);
	if (why != MAIL_TAKEN)
		return;
	CHECK(tl_event_check(&ev) == 0);
	CHECK(!mail_ip_is_special(&ev.ip));
	CHECK(ev.size == size && ev.rcpts == 1 && ev.count == 1);
	CHECK(ev.kind == TL_KIND_SPAM || ev.kind == TL_KIND_MALWARE);
	CHECK(strcmp(ev.sensor, "fuzz") == 0);
	for (p = ev.from; *p; p++)
		CHECK(!(*p >= 'A' && *p <= 'Z'));
	for (unsigned i = 0; i < relays()->nnets; i++)
		CHECK(!tl_prefix_contains(&relays()->nets[i], &ev.ip));

	/* A fallback time changes only the time, never the verdict. */
	o.fallback_time = 86400;
	CHECK(mail_message_event((const char *)data, size, &o, &ev) ==
	      MAIL_TAKEN);
}

static void check_relays(const uint8_t *data, size_t size)
{
	struct mail_relays r;
	const char *bad = NULL;
	char *text;
	int rc;

	if (size > TL_CONFIG_VALUE_MAX)
		return;
	text = malloc(size + 1);
	if (!text)
		return;
	memcpy(text, data, size);
	text[size] = '\0';
	rc = mail_relays_parse(text, &r, &bad);
	if (rc < 0) {
		CHECK(bad >= text && bad <= text + strlen(text));
		CHECK(r.nets == NULL && r.names == NULL);
		CHECK(r.nnets == 0 && r.nnames == 0);
	} else {
		CHECK(r.nnets + r.nnames <= TL_CONFIG_LIST_MAX);
		for (unsigned i = 0; i < r.nnames; i++)
			check_name(r.names[i], sizeof(r.names[i]));
		for (unsigned i = 0; i < r.nnets; i++)
			CHECK(r.nets[i].ip.family == 4 ||
			      r.nets[i].ip.family == 6);
	}
	mail_relays_free(&r);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_hop(data, size);
	check_message(data, size);
	check_relays(data, size);
	return 0;
}
