/* SPDX-License-Identifier: MIT */
/* smtp_parse.c -- SMTP command lines, paths and XCLIENT attributes
 *
 * Everything here reads bytes a peer sent. Each function walks its input
 * once, left to right, through a bounded cursor; nothing allocates and
 * nothing reads past the length it was given.
 */
#include <string.h>

#include "smtp.h"

/* Cursor over untrusted bytes: p never passes end. */
struct cur {
	const char *p, *end;
};

static bool at_end(const struct cur *c)
{
	return c->p >= c->end;
}

/* The next byte, or -1 at the end. */
static int peek(const struct cur *c)
{
	return c->p < c->end ? (unsigned char)*c->p : -1;
}

static bool is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_space(int c)
{
	return c == ' ' || c == '\t';
}

static char to_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static char to_upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* @n bytes at @s equal the upper-case literal @lit, ignoring case. */
static bool ieq(const char *s, size_t n, const char *lit)
{
	size_t i;

	if (strlen(lit) != n)
		return false;
	for (i = 0; i < n; i++)
		if (to_upper(s[i]) != lit[i])
			return false;
	return true;
}

/* The cursor starts with the upper-case literal @lit (ignoring case);
 * if so, step over it. */
static bool take_ci(struct cur *c, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(c->end - c->p) < n || !ieq(c->p, n, lit))
		return false;
	c->p += n;
	return true;
}

static void skip_space(struct cur *c)
{
	while (!at_end(c) && is_space(*c->p))
		c->p++;
}

/* RFC 5321 4.1.2 atext, plus RFC 6531 UTF8-non-ascii (taken bytewise). */
static bool is_atext(int c)
{
	if (c < 0)
		return false;
	if (is_alpha(c) || is_digit(c) || c >= 0x80)
		return true;
	return c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* Let-dig of RFC 5321 4.1.2, with RFC 6531 U-label bytes. */
static bool is_letdig(int c)
{
	return c >= 0 && (is_alpha(c) || is_digit(c) || c >= 0x80);
}

/* Append @ch to @out (capacity @cap with the NUL); false when full. */
static bool put(char *out, size_t cap, size_t *n, char ch)
{
	if (*n + 1 >= cap)
		return false;
	out[(*n)++] = ch;
	out[*n] = '\0';
	return true;
}

/*
 * RFC 5321 4.1.3 IPv4-address-literal: four Snum (1*3DIGIT, 0..255)
 * separated by dots, over exactly @n bytes.
 */
static bool is_v4_literal(const char *s, size_t n)
{
	size_t i, digits = 0;
	unsigned v = 0, dots = 0;

	for (i = 0; i < n; i++) {
		if (is_digit((unsigned char)s[i])) {
			v = v * 10 + (unsigned)(s[i] - '0');
			if (++digits > 3 || v > 255)
				return false;
		} else if (s[i] == '.' && digits > 0 && dots < 3) {
			dots++;
			digits = 0;
			v = 0;
		} else {
			return false;
		}
	}
	return dots == 3 && digits > 0;
}

/*
 * Reads a Domain or an address-literal (RFC 5321 4.1.2, 4.1.3) at the
 * cursor. Checks: labels are Let-dig [Ldh-str] of at most 63 octets, the
 * whole at most SMTP_DOMAIN_MAX; literals are IPv4 or "IPv6:" (general
 * literals are refused: none is standardised). Guarantees: on true, @out
 * holds the domain lower-cased and NUL-terminated, and the cursor is past
 * it; it stops at the first byte that cannot continue a domain.
 */
static bool parse_domain(struct cur *c, char *out)
{
	size_t n = 0, label;
	const char *lit, *rb;

	out[0] = '\0';
	if (peek(c) == '[') {
		size_t room = (size_t)(c->end - c->p);

		if (room > SMTP_DOMAIN_MAX)
			room = SMTP_DOMAIN_MAX;
		rb = memchr(c->p, ']', room);
		if (!rb)
			return false;
		lit = c->p + 1;
		if ((size_t)(rb - lit) > 5 && ieq(lit, 5, "IPV6:")) {
			struct tl_ip ip;
			size_t vlen = (size_t)(rb - lit) - 5;

			if (!memchr(lit + 5, ':', vlen) ||
			    tl_ip_parse(lit + 5, vlen, &ip) != 0)
				return false;
		} else if (!is_v4_literal(lit, (size_t)(rb - lit))) {
			return false;
		}
		for (; c->p <= rb; c->p++)
			out[n++] = to_lower(*c->p);
		out[n] = '\0';
		return true;
	}
	for (;;) {
		if (!is_letdig(peek(c)))
			return false;
		label = 0;
		while (is_letdig(peek(c)) || peek(c) == '-') {
			if (++label > 63 || !put(out, SMTP_DOMAIN_MAX + 1, &n,
						 to_lower(*c->p)))
				return false;
			c->p++;
		}
		if (out[n - 1] == '-')
			return false;
		if (peek(c) != '.')
			return true;
		if (!put(out, SMTP_DOMAIN_MAX + 1, &n, '.'))
			return false;
		c->p++;
	}
}

/*
 * Reads a Local-part (RFC 5321 4.1.2): a Dot-string, or a Quoted-string
 * whose quotes and backslashes are removed into @out. The 64-octet limit
 * (4.5.3.1.1) applies to the local part as sent, quotes included.
 */
static bool parse_local(struct cur *c, char *out)
{
	const char *start = c->p;
	size_t n = 0;
	int ch;

	out[0] = '\0';
	if (peek(c) == '"') {
		c->p++;
		for (;;) {
			ch = peek(c);
			if (ch == '"')
				break;
			if (ch == '\\') {
				c->p++;
				ch = peek(c);
				if (ch < 32 || ch > 126)
					return false;
			} else if (ch < 32 || ch == 127) {
				return false; /* also the end of input */
			}
			if (!put(out, SMTP_LOCAL_MAX + 1, &n, (char)ch))
				return false;
			c->p++;
		}
		c->p++;
		return (size_t)(c->p - start) <= SMTP_LOCAL_MAX;
	}
	for (;;) {
		if (!is_atext(peek(c)))
			return false;
		while (is_atext(peek(c))) {
			if (!put(out, SMTP_LOCAL_MAX + 1, &n, *c->p))
				return false;
			c->p++;
		}
		if (peek(c) != '.')
			return true;
		if (!put(out, SMTP_LOCAL_MAX + 1, &n, '.'))
			return false;
		c->p++;
	}
}

/* RFC 5321 4.1.2 A-d-l: "@dom,@dom:" -- checked, then dropped (4.1.1.3:
 * "SHOULD ignore the route information"). */
static bool skip_route(struct cur *c)
{
	char scratch[SMTP_DOMAIN_MAX + 1];

	for (;;) {
		if (peek(c) != '@')
			return false;
		c->p++;
		if (!parse_domain(c, scratch))
			return false;
		if (peek(c) == ':') {
			c->p++;
			return true;
		}
		if (peek(c) != ',')
			return false;
		c->p++;
	}
}

/* The path ends here: at the end of the line or before a space. */
static bool at_path_end(const struct cur *c)
{
	return at_end(c) || is_space(*c->p);
}

/*
 * Reads a Reverse-path or Forward-path (RFC 5321 4.1.2) into @path, with
 * or without its angle brackets. "<>" only for MAIL; "<postmaster>" only
 * for RCPT (4.5.1). The 256-octet path bound of 4.5.3.1.3 is not applied
 * on its own: a 255-octet domain (4.5.3.1.2) would already pass it, and
 * the stored parts are bounded by their own limits and the line cap.
 */
static bool parse_path(struct cur *c, bool mail, struct smtp_path *path)
{
	bool brackets = peek(c) == '<';
	struct cur save;

	if (brackets) {
		c->p++;
		if (mail && peek(c) == '>') {
			c->p++;
			path->null = true;
			return at_path_end(c);
		}
		if (peek(c) == '@') {
			if (!skip_route(c))
				return false;
			path->source_route = true;
		}
	} else {
		path->no_brackets = true;
	}
	save = *c;
	if (!mail && take_ci(c, "POSTMASTER") &&
	    (brackets ? peek(c) == '>' : at_path_end(c)) &&
	    !path->source_route) {
		memcpy(path->local, save.p, 10);
		path->local[10] = '\0';
	} else {
		*c = save;
		if (!parse_local(c, path->local) || peek(c) != '@')
			return false;
		c->p++;
		if (!parse_domain(c, path->domain))
			return false;
	}
	if (brackets) {
		if (peek(c) != '>')
			return false;
		c->p++;
	}
	return at_path_end(c);
}

/* RFC 1870 size-value: 1*20DIGIT, and it must fit. */
static bool parse_size(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0 || n > 20)
		return false;
	for (i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (!is_digit((unsigned char)s[i]) || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/*
 * Mail-parameters / Rcpt-parameters (RFC 5321 4.1.2): esmtp-keyword
 * ["=" esmtp-value], separated by spaces. MAIL knows SIZE (RFC 1870),
 * BODY (RFC 6152) and SMTPUTF8 (RFC 6531); RCPT knows none, as the trap
 * offers no DSN.
 */
static enum smtp_perr parse_params(struct cur *c, bool mail,
				   struct smtp_cmd *out)
{
	const char *kw, *val;
	size_t kwlen, vlen;

	for (;;) {
		skip_space(c);
		if (at_end(c))
			return SMTP_OK;
		kw = c->p;
		if (!is_alpha(peek(c)) && !is_digit(peek(c)))
			return SMTP_E_SYNTAX;
		while (is_alpha(peek(c)) || is_digit(peek(c)) || peek(c) == '-')
			c->p++;
		kwlen = (size_t)(c->p - kw);
		val = NULL;
		vlen = 0;
		if (peek(c) == '=') {
			c->p++;
			val = c->p;
			while (peek(c) >= 33 && peek(c) <= 126 && peek(c) != '=')
				c->p++;
			vlen = (size_t)(c->p - val);
			if (vlen == 0)
				return SMTP_E_SYNTAX;
		}
		if (!at_path_end(c))
			return SMTP_E_SYNTAX;
		if (!mail)
			return SMTP_E_PARAM;
		if (ieq(kw, kwlen, "SIZE")) {
			if (!val || !parse_size(val, vlen, &out->size))
				return SMTP_E_SYNTAX;
		} else if (ieq(kw, kwlen, "BODY")) {
			if (val && ieq(val, vlen, "8BITMIME"))
				out->body_8bit = true;
			else if (val && ieq(val, vlen, "7BIT"))
				out->body_8bit = false;
			else
				return SMTP_E_SYNTAX;
		} else if (ieq(kw, kwlen, "SMTPUTF8")) {
			if (val)
				return SMTP_E_SYNTAX;
			out->smtputf8 = true;
		} else {
			return SMTP_E_PARAM;
		}
	}
}

/* "MAIL FROM:<path> [params]" or "RCPT TO:<path> [params]". */
static enum smtp_perr parse_mail_rcpt(struct cur *c, bool mail,
				      struct smtp_cmd *out)
{
	if (!take_ci(c, mail ? "FROM:" : "TO:"))
		return SMTP_E_SYNTAX;
	skip_space(c); /* "MAIL FROM: <a@b>": RFC-wrong, common */
	if (at_end(c))
		return SMTP_E_SYNTAX;
	if (!parse_path(c, mail, &out->path))
		return mail ? SMTP_E_SENDER : SMTP_E_PATH;
	return parse_params(c, mail, out);
}

/* RFC 4422 3.1 sasl-mech: 1*20 of upper-case letters, digits, '-', '_';
 * taken case-insensitively. */
static bool is_mech_char(int c)
{
	return is_alpha(c) || is_digit(c) || c == '-' || c == '_';
}

static bool is_base64_char(int c)
{
	return is_alpha(c) || is_digit(c) || c == '+' || c == '/' || c == '=';
}

/* "AUTH mechanism [initial-response]" (RFC 4954 4). */
static enum smtp_perr parse_auth(struct cur *c, struct smtp_cmd *out)
{
	size_t n = 0;

	while (is_mech_char(peek(c))) {
		if (n == sizeof(out->auth_mech) - 1)
			return SMTP_E_SYNTAX;
		out->auth_mech[n++] = to_upper(*c->p++);
	}
	out->auth_mech[n] = '\0';
	if (n == 0 || !at_path_end(c))
		return SMTP_E_SYNTAX;
	skip_space(c);
	if (at_end(c))
		return SMTP_OK;
	out->auth_initial = c->p;
	while (is_base64_char(peek(c)))
		c->p++;
	if (!at_end(c))
		return SMTP_E_SYNTAX;
	out->auth_initial_len = (size_t)(c->p - out->auth_initial);
	return SMTP_OK;
}

enum argument { ARG_NONE, ARG_OPTIONAL, ARG_REQUIRED };

static const struct verb {
	const char *name; /* upper case */
	enum smtp_verb verb;
	enum argument arg;
} verbs[] = {
	{"HELO", SMTP_HELO, ARG_REQUIRED},
	{"EHLO", SMTP_EHLO, ARG_REQUIRED},
	{"MAIL", SMTP_MAIL, ARG_REQUIRED},
	{"RCPT", SMTP_RCPT, ARG_REQUIRED},
	{"DATA", SMTP_DATA, ARG_NONE},
	{"RSET", SMTP_RSET, ARG_NONE},
	{"NOOP", SMTP_NOOP, ARG_OPTIONAL},
	{"QUIT", SMTP_QUIT, ARG_NONE},
	{"VRFY", SMTP_VRFY, ARG_OPTIONAL},
	{"EXPN", SMTP_EXPN, ARG_OPTIONAL},
	{"HELP", SMTP_HELP, ARG_OPTIONAL},
	{"STARTTLS", SMTP_STARTTLS, ARG_NONE},
	{"AUTH", SMTP_AUTH, ARG_REQUIRED},
	{"XCLIENT", SMTP_XCLIENT, ARG_REQUIRED},
	{"BDAT", SMTP_BDAT, ARG_OPTIONAL},
};

/*
 * Reads one command line of @len untrusted bytes. Checks: the length cap,
 * then every byte (NUL and controls other than TAB refused), then the
 * verb and its argument. Guarantees: @out's strings are NUL-terminated
 * within their arrays, its pointers point into @line[0..len), the domain
 * is lower case.
 */
enum smtp_perr smtp_parse_command(const char *line, size_t len,
				  struct smtp_cmd *out)
{
	const struct verb *v = NULL;
	struct cur c;
	size_t i, vlen;

	memset(out, 0, sizeof(*out));
	out->arg = "";
	if (len > SMTP_CMD_LINE_MAX)
		return SMTP_E_TOOLONG;
	for (i = 0; i < len; i++) {
		unsigned char b = (unsigned char)line[i];

		if (b < 0x20 && b != '\t')
			return SMTP_E_BINARY;
	}
	while (len > 0 && is_space(line[len - 1]))
		len--;

	for (vlen = 0; vlen < len && !is_space(line[vlen]); vlen++)
		;
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (ieq(line, vlen, verbs[i].name)) {
			v = &verbs[i];
			break;
		}
	}
	if (!v)
		return SMTP_E_UNKNOWN;
	out->verb = v->verb;
	c.p = line + vlen;
	c.end = line + len;
	skip_space(&c);
	out->arg = c.p;
	out->arglen = (size_t)(c.end - c.p);
	if (v->arg == ARG_NONE && out->arglen > 0)
		return SMTP_E_SYNTAX;
	if (v->arg == ARG_REQUIRED && out->arglen == 0)
		return SMTP_E_SYNTAX;

	switch (v->verb) {
	case SMTP_MAIL:
		return parse_mail_rcpt(&c, true, out);
	case SMTP_RCPT:
		return parse_mail_rcpt(&c, false, out);
	case SMTP_AUTH:
		return parse_auth(&c, out);
	default:
		return SMTP_OK;
	}
}

const char *smtp_perr_reply(enum smtp_perr e)
{
	switch (e) {
	case SMTP_OK:
		return "250 2.0.0 Ok";
	case SMTP_E_UNKNOWN:
		/* As Postfix says it: the trap must sound like a real MX. */
		return "502 5.5.2 Error: command not recognized";
	case SMTP_E_TOOLONG:
		return "500 5.5.2 Line too long";
	case SMTP_E_SYNTAX:
		return "501 5.5.4 Syntax error in parameters or arguments";
	case SMTP_E_PATH:
		return "501 5.1.3 Bad recipient address syntax";
	case SMTP_E_PARAM:
		return "555 5.5.4 Unsupported parameter";
	case SMTP_E_BINARY:
		return "500 5.5.2 Binary data in command";
	case SMTP_E_SENDER:
		return "501 5.1.7 Bad sender address syntax";
	}
	return "502 5.5.2 Error: command not recognized";
}

/* ---- XCLIENT ---------------------------------------------------------- */

static int hex_value(int c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Decode xtext (RFC 3461 4): xchar is %d33-126 but '+' and '=', and
 * "+XX" stands for any octet (upper-case hex per the RFC; lower case is
 * taken too). Refuses a decoded control byte or NUL, and a value longer
 * than @cap - 1. Writes the NUL-terminated value to @out.
 */
static bool xtext_decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		int ch = (unsigned char)s[i];

		if (ch == '+') {
			int hi, lo;

			if (n - i < 3)
				return false;
			hi = hex_value((unsigned char)s[i + 1]);
			lo = hex_value((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				return false;
			ch = hi << 4 | lo;
			i += 2;
		} else if (ch < 33 || ch > 126 || ch == '=') {
			return false;
		}
		if (ch < 0x20 || ch == 0x7f || o + 1 >= cap)
			return false;
		out[o++] = (char)ch;
	}
	out[o] = '\0';
	return true;
}

static bool is_unavailable(const char *v)
{
	size_t n = strlen(v);

	return ieq(v, n, "[UNAVAILABLE]") || ieq(v, n, "[TEMPUNAVAIL]");
}

/* XCLIENT ADDR / DESTADDR: IPv4, or IPv6 after "IPV6:". */
static bool parse_xaddr(const char *v, struct tl_ip *ip)
{
	size_t n = strlen(v);

	if (n > 5 && ieq(v, 5, "IPV6:"))
		return memchr(v + 5, ':', n - 5) &&
		       tl_ip_parse(v + 5, n - 5, ip) == 0;
	return !memchr(v, ':', n) && tl_ip_parse(v, n, ip) == 0;
}

static bool is_port(const char *v)
{
	size_t n = strlen(v);
	uint64_t port;

	return n <= 5 && (n == 1 || v[0] != '0') && parse_size(v, n, &port) &&
	       port <= 65535;
}

/*
 * Reads XCLIENT's argument: @len untrusted bytes of "NAME=value" pairs
 * separated by spaces (Postfix XCLIENT_README). Checks: every pair has a
 * name and '=', known attributes hold well-formed xtext of their kind;
 * unknown attributes are skipped unread. Guarantees: on 0, @out's strings
 * are NUL-terminated and has_addr means a valid address.
 */
int xclient_parse(const char *arg, size_t len, struct xclient_info *out)
{
	char val[SMTP_CMD_LINE_MAX + 1];
	struct cur c = {arg, arg + len};
	const char *name, *eq, *vs;
	size_t nlen;
	bool any = false;

	memset(out, 0, sizeof(*out));
	for (;;) {
		skip_space(&c);
		if (at_end(&c))
			break;
		name = c.p;
		while (!at_path_end(&c))
			c.p++;
		eq = memchr(name, '=', (size_t)(c.p - name));
		if (!eq || eq == name)
			return -1;
		nlen = (size_t)(eq - name);
		vs = eq + 1;
		any = true;
		if (ieq(name, nlen, "NAME") || ieq(name, nlen, "HELO")) {
			char *dst = ieq(name, nlen, "NAME") ? out->name
							    : out->helo;

			if (!xtext_decode(vs, (size_t)(c.p - vs), val,
					  SMTP_DOMAIN_MAX + 1))
				return -1;
			strcpy(dst, is_unavailable(val) ? "" : val);
			continue;
		}
		if (!ieq(name, nlen, "ADDR") && !ieq(name, nlen, "DESTADDR") &&
		    !ieq(name, nlen, "PORT") && !ieq(name, nlen, "DESTPORT") &&
		    !ieq(name, nlen, "PROTO") && !ieq(name, nlen, "LOGIN"))
			continue;
		if (!xtext_decode(vs, (size_t)(c.p - vs), val, sizeof(val)))
			return -1;
		if (is_unavailable(val)) {
			if (ieq(name, nlen, "ADDR")) {
				out->has_addr = false;
				memset(&out->addr, 0, sizeof(out->addr));
			}
		} else if (ieq(name, nlen, "ADDR")) {
			if (!parse_xaddr(val, &out->addr))
				return -1;
			out->has_addr = true;
		} else if (ieq(name, nlen, "DESTADDR")) {
			struct tl_ip ip;

			if (!parse_xaddr(val, &ip))
				return -1;
		} else if (ieq(name, nlen, "PORT") ||
			   ieq(name, nlen, "DESTPORT")) {
			if (!is_port(val))
				return -1;
		} else if (ieq(name, nlen, "PROTO")) {
			if (!ieq(val, strlen(val), "SMTP") &&
			    !ieq(val, strlen(val), "ESMTP"))
				return -1;
		}
	}
	return any ? 0 : -1;
}
