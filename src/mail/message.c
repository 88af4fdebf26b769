/* SPDX-License-Identifier: MIT */
/* message.c -- a trap mailbox message as an event
 *
 * Who sent a message is what the operator's own edge server recorded in
 * its Received field: the client it accepted the message from. Fields
 * are read newest first; hops inside the operator's network (own relays,
 * private and reserved addresses, local submission) are passed over, and
 * the first hop from outside gives the sender. Everything below that
 * field was written by the sender or its relays and may be forged, so it
 * is never read.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tl_limits.h"
#include "mail.h"
#include "trapline/err.h"

/* ---- own relays -------------------------------------------------------- */

static bool is_list_sep(char c)
{
	return c == ' ' || c == '\t' || c == ',' || c == '\r' || c == '\n';
}

/* An item that can only be meant as an address or prefix: digits, dots
 * and a slash, or any ':' (IPv6). Such an item must parse as one. */
static bool looks_like_address(const char *s, size_t n)
{
	size_t i;

	if (memchr(s, ':', n))
		return true;
	for (i = 0; i < n; i++)
		if (!(s[i] >= '0' && s[i] <= '9') && s[i] != '.' && s[i] != '/')
			return false;
	return true;
}

/* A host name: letters, digits, '-', '_' and dots, no empty label. */
static bool is_host_name(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || s[0] == '.')
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '.' && i + 1 < n && s[i + 1] == '.')
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.'))
			return false;
	}
	return true;
}

/*
 * Reads the NUL-terminated @text. Items are split on spaces, tabs and
 * commas; at most TL_CONFIG_LIST_MAX of them. On error nothing is kept,
 * @out is zeroed and *@bad points at the offending item.
 */
int mail_relays_parse(const char *text, struct mail_relays *out,
		      const char **bad)
{
	const char *p, *s;
	unsigned items = 0;
	size_t n;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (bad)
		*bad = NULL;
	if (!text)
		return 0;
	for (p = text; *p;) {
		while (is_list_sep(*p))
			p++;
		if (!*p)
			break;
		if (items == TL_CONFIG_LIST_MAX) {
			rc = TL_ELIMIT;
			s = p;
			goto out_bad;
		}
		items++;
		while (*p && !is_list_sep(*p))
			p++;
	}
	if (items == 0)
		return 0;
	out->nets = calloc(items, sizeof(*out->nets));
	out->names = calloc(items, sizeof(*out->names));
	if (!out->nets || !out->names) {
		rc = TL_ENOMEM;
		s = text;
		goto out_bad;
	}
	for (p = text; *p;) {
		while (is_list_sep(*p))
			p++;
		if (!*p)
			break;
		s = p;
		while (*p && !is_list_sep(*p))
			p++;
		n = (size_t)(p - s);
		if (looks_like_address(s, n)) {
			rc = tl_prefix_parse(s, n, false,
					     &out->nets[out->nnets]);
			if (rc < 0)
				goto out_bad;
			out->nnets++;
			continue;
		}
		if (n > 1 && s[n - 1] == '.')
			n--; /* the root: "mx2.example.org." */
		if (!is_host_name(s, n)) {
			rc = TL_ESYNTAX;
			goto out_bad;
		}
		if (n > MAIL_NAME_MAX) {
			rc = TL_ETOOLONG;
			goto out_bad;
		}
		for (size_t i = 0; i < n; i++) {
			char c = s[i];

			out->names[out->nnames][i] =
				c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
		}
		out->names[out->nnames][n] = '\0';
		out->nnames++;
	}
	return 0;

out_bad:
	mail_relays_free(out);
	if (bad)
		*bad = s;
	return rc;
}

void mail_relays_free(struct mail_relays *r)
{
	free(r->nets);
	free(r->names);
	memset(r, 0, sizeof(*r));
}

static bool relays_have(const struct mail_relays *r,
			const struct mail_hop *hop)
{
	unsigned i;

	if (!r)
		return false;
	for (i = 0; i < r->nnets; i++)
		if (tl_prefix_contains(&r->nets[i], &hop->ip))
			return true;
	if (hop->rdns[0] == '\0')
		return false;
	for (i = 0; i < r->nnames; i++)
		if (strcmp(r->names[i], hop->rdns) == 0)
			return true;
	return false;
}

/* ---- special-purpose addresses ----------------------------------------- */

/* IANA IPv4 Special-Purpose Address Registry (RFC 6890 and updates): the
 * blocks not globally reachable, plus those that are but never send mail
 * (6to4 relay anycast). 255.255.255.255 is inside 240.0.0.0/4. */
static const struct {
	uint32_t net;
	uint8_t len;
} special4[] = {
	{0x00000000, 8},  /* 0/8 "this network" */
	{0x0a000000, 8},  /* 10/8 private */
	{0x64400000, 10}, /* 100.64/10 shared (CGNAT) */
	{0x7f000000, 8},  /* 127/8 loopback */
	{0xa9fe0000, 16}, /* 169.254/16 link local */
	{0xac100000, 12}, /* 172.16/12 private */
	{0xc0000000, 24}, /* 192.0.0/24 IETF protocol assignments */
	{0xc0000200, 24}, /* 192.0.2/24 TEST-NET-1 */
	{0xc0586300, 24}, /* 192.88.99/24 6to4 relay anycast */
	{0xc0a80000, 16}, /* 192.168/16 private */
	{0xc6120000, 15}, /* 198.18/15 benchmarking */
	{0xc6336400, 24}, /* 198.51.100/24 TEST-NET-2 */
	{0xcb007100, 24}, /* 203.0.113/24 TEST-NET-3 */
	{0xe0000000, 4},  /* 224/4 multicast */
	{0xf0000000, 4},  /* 240/4 reserved, limited broadcast */
};

static bool special_v4(uint32_t a)
{
	size_t i;

	for (i = 0; i < sizeof(special4) / sizeof(special4[0]); i++)
		if ((a & (0xffffffffu << (32 - special4[i].len))) ==
		    special4[i].net)
			return true;
	return false;
}

/* Inside 2000::/3 (global unicast), the IPv6 Special-Purpose registry's
 * blocks that are not globally reachable or never send mail. */
static const struct {
	uint8_t a[4]; /* the first bytes of the prefix */
	uint8_t len;
} special6[] = {
	{{0x20, 0x01, 0x00, 0x00}, 23}, /* 2001::/23 IETF protocol
					 * assignments: Teredo 2001::/32,
					 * benchmarking 2001:2::/48, ORCHID */
	{{0x20, 0x01, 0x0d, 0xb8}, 32}, /* 2001:db8::/32 documentation */
	{{0x20, 0x02, 0x00, 0x00}, 16}, /* 2002::/16 6to4 */
	{{0x3f, 0xff, 0x00, 0x00}, 20}, /* 3fff::/20 documentation */
};

static bool prefix_match(const uint8_t *a, const uint8_t *net, unsigned len)
{
	unsigned full = len / 8, rest = len % 8;

	if (memcmp(a, net, full) != 0)
		return false;
	return rest == 0 ||
	       ((a[full] ^ net[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

bool mail_ip_is_special(const struct tl_ip *ip)
{
	static const uint8_t nat64[12] = {0x00, 0x64, 0xff, 0x9b};
	size_t i;

	if (ip->family == 4)
		return special_v4(tl_ip_v4(ip));
	/* RFC 6052 well-known NAT64 prefix 64:ff9b::/96: the embedded IPv4
	 * address is the real peer; judge that one. */
	if (memcmp(ip->a, nat64, 12) == 0)
		return special_v4((uint32_t)ip->a[12] << 24 |
				  (uint32_t)ip->a[13] << 16 |
				  (uint32_t)ip->a[14] << 8 | ip->a[15]);
	/* Outside 2000::/3 nothing is allocated for global unicast: that
	 * covers ::, ::1, 64:ff9b:1::/48, 100::/64, 5f00::/16, fc00::/7,
	 * fec0::/10, fe80::/10 and ff00::/8 from the registries. */
	if ((ip->a[0] & 0xe0) != 0x20)
		return true;
	for (i = 0; i < sizeof(special6) / sizeof(special6[0]); i++)
		if (prefix_match(ip->a, special6[i].a, special6[i].len))
			return true;
	return false;
}

/* ---- the message ------------------------------------------------------- */

const char *mail_skip_name(enum mail_skip why)
{
	static const char *const names[MAIL_SKIP_COUNT] = {
		[MAIL_TAKEN] = "taken",
		[MAIL_SKIP_BOUNCE] = "bounce",
		[MAIL_SKIP_NO_CHAIN] = "no_chain",
		[MAIL_SKIP_NO_HEADER] = "no_header",
		[MAIL_SKIP_NO_TIME] = "no_time",
	};

	if ((unsigned)why >= MAIL_SKIP_COUNT)
		return "unknown";
	return names[why];
}

/* Header values looked at are cut to this many bytes (unfolded): more
 * than any address or Content-Type line a bounce carries. */
#define VALUE_MAX 1024

/* Case-insensitive search for @needle in @s (@n bytes). */
static const char *find_ci(const char *s, size_t n, const char *needle)
{
	size_t k = strlen(needle), i;

	for (i = 0; i + k <= n; i++)
		if (strncasecmp(s + i, needle, k) == 0)
			return s + i;
	return NULL;
}

/* "MAILER-DAEMON" as a local part or a whole address ("MAILER-DAEMON",
 * "<MAILER-DAEMON@mx.example>", "Mail System <mailer-daemon@x>"). */
static bool names_mailer_daemon(const char *s, size_t n)
{
	static const char md[] = "mailer-daemon";
	const char *p = s, *end = s + n, *hit;

	while ((hit = find_ci(p, (size_t)(end - p), md)) != NULL) {
		const char *after = hit + sizeof(md) - 1;
		bool start = hit == s || hit[-1] == '<' || hit[-1] == ' ' ||
			     hit[-1] == '"' || hit[-1] == ',';
		bool stop = after == end || *after == '@' || *after == '>' ||
			    *after == ' ' || *after == '"' || *after == ',';

		if (start && stop)
			return true;
		p = hit + 1;
	}
	return false;
}

/* The null reverse-path "<>" (RFC 5321 4.5.5): a bounce. */
static bool is_null_path(const char *s, size_t n)
{
	const char *lt = memchr(s, '<', n), *end = s + n;

	if (!lt)
		return false;
	for (lt++; lt < end && *lt == ' '; lt++)
		;
	return lt < end && *lt == '>';
}

/* RFC 3462/6522: a delivery status notification. */
static bool is_dsn_type(const char *s, size_t n)
{
	const char *rt;

	if (n < 16 || strncasecmp(s, "multipart/report", 16) != 0)
		return false;
	rt = find_ci(s, n, "report-type");
	return rt && find_ci(rt, (size_t)(s + n - rt), "delivery-status");
}

/* The domain of a Return-Path (RFC 5321 4.4 "<path>"), lower case, into
 * @out (TL_EVENT_STRLEN bytes); "" when there is none. */
static void path_domain(const char *s, size_t n, char *out)
{
	const char *lt = memchr(s, '<', n), *end, *at = NULL, *p;
	size_t o = 0;

	out[0] = '\0';
	if (lt) {
		n -= (size_t)(lt + 1 - s);
		s = lt + 1;
	}
	end = memchr(s, '>', n);
	if (!end)
		end = s + n;
	for (p = s; p < end; p++)
		if (*p == '@')
			at = p;
	if (!at)
		return;
	for (p = at + 1; p < end && o < TL_FROM_MAX; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= ' ' || c >= 127)
			break;
		out[o++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	out[o] = '\0';
}

static bool hop_is_internal(const struct mail_hop *hop,
			    const struct mail_relays *relays)
{
	return !hop->has_ip || mail_ip_is_special(&hop->ip) ||
	       relays_have(relays, hop);
}

static void copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strnlen(src, cap - 1) : 0;

	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
}

/*
 * Reads [msg, msg + len) through the header iterator and the Received
 * parser, both bounded. At most TL_RECEIVED_MAX Received fields are
 * parsed; each other field is looked at once, so the cost is linear in
 * the header size (plus the classifier's walk of the message).
 */
enum mail_skip mail_message_event(const char *msg, size_t len,
				  const struct mail_opts *o,
				  struct tl_event *ev)
{
	static const struct mail_opts none = {NULL, NULL, -1, NULL};
	struct mail_hdr_iter it;
	struct mail_hop hop, sender = {.has_ip = false};
	struct mail_verdict verdict;
	char buf[VALUE_MAX];
	const char *name, *value;
	size_t nlen, vlen, n;
	unsigned fields = 0, received = 0;
	int64_t above = -1, when = -1;
	bool found = false, bounce = false, return_path = false,
	     content_type = false;

	if (!o)
		o = &none;
	tl_event_init(ev);
	mail_hdr_begin(&it, msg, len);
	while (mail_hdr_next(&it, &name, &nlen, &value, &vlen)) {
		fields++;
		if (mail_hdr_is(name, nlen, "Received")) {
			if (found || received == TL_RECEIVED_MAX)
				continue;
			received++;
			if (mail_received_parse(value, vlen, &hop) < 0)
				continue;
			if (!hop_is_internal(&hop, o->relays)) {
				sender = hop;
				found = true;
				when = hop.time >= 0 ? hop.time : above;
			} else if (hop.time >= 0) {
				above = hop.time;
			}
		} else if (mail_hdr_is(name, nlen, "Return-Path")) {
			/* The top one was added at final delivery (RFC 5321
			 * 4.4); any below it came with the message. */
			if (return_path)
				continue;
			return_path = true;
			n = mail_unfold(value, vlen, buf, sizeof(buf));
			path_domain(buf, n, ev->from);
			if (is_null_path(buf, n) || names_mailer_daemon(buf, n))
				bounce = true;
		} else if (mail_hdr_is(name, nlen, "From")) {
			n = mail_unfold(value, vlen, buf, sizeof(buf));
			if (names_mailer_daemon(buf, n))
				bounce = true;
		} else if (mail_hdr_is(name, nlen, "Content-Type")) {
			if (content_type)
				continue;
			content_type = true;
			n = mail_unfold(value, vlen, buf, sizeof(buf));
			if (is_dsn_type(buf, n))
				bounce = true;
		}
	}
	if (fields == 0)
		return MAIL_SKIP_NO_HEADER;
	if (bounce)
		return MAIL_SKIP_BOUNCE;
	if (!found)
		return MAIL_SKIP_NO_CHAIN;
	if (when < 0 && o->fallback_time >= (int64_t)TL_DAY_MIN * 86400 &&
	    o->fallback_time < ((int64_t)TL_DAY_MAX + 1) * 86400)
		when = o->fallback_time;
	if (when < 0)
		return MAIL_SKIP_NO_TIME;

	ev->time = when;
	ev->ip = sender.ip;
	ev->kind = TL_KIND_SPAM;
	ev->count = 1;
	ev->rcpts = 1;
	ev->size = len;
	copy_str(ev->helo, sizeof(ev->helo), sender.helo);
	copy_str(ev->sensor, sizeof(ev->sensor), o->sensor);
	mail_classify(msg, len, o->rules, ev, &verdict);
	if (!verdict.malware && o->av)
		verdict.malware = mail_av_scan(o->av, msg, len, verdict.why,
					       sizeof(verdict.why)) == 1;
	if (verdict.malware)
		ev->kind = TL_KIND_MALWARE;
	return MAIL_TAKEN;
}
