/* SPDX-License-Identifier: MIT */
/* smtp.h -- SMTP as the trap reads it: commands, paths, DATA, PROXY
 *
 * Pure parsers: no I/O, no global state, never read past the length given.
 * The session (session.c) drives them; unit tests and fuzzers call them
 * directly.
 */
#ifndef TRAPLINE_TRAP_SMTP_H
#define TRAPLINE_TRAP_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trapline/ip.h"

/* RFC 5321 4.5.3.1: a command line is at most 512 octets with its CRLF,
 * a text line 1000, a local part 64, a domain 255, a path 256. */
#define SMTP_CMD_LINE_MAX 512
#define SMTP_TEXT_LINE_MAX 1000
#define SMTP_LOCAL_MAX 64
#define SMTP_DOMAIN_MAX 255
#define SMTP_PATH_MAX 256

enum smtp_verb {
	SMTP_UNKNOWN = 0,
	SMTP_HELO,
	SMTP_EHLO,
	SMTP_MAIL,
	SMTP_RCPT,
	SMTP_DATA,
	SMTP_RSET,
	SMTP_NOOP,
	SMTP_QUIT,
	SMTP_VRFY,
	SMTP_EXPN,
	SMTP_HELP,
	SMTP_STARTTLS,
	SMTP_AUTH,
	SMTP_XCLIENT,
	SMTP_BDAT,
};

/* Why a command line was refused: the reply the session gives. */
enum smtp_perr {
	SMTP_OK = 0,
	SMTP_E_UNKNOWN,   /* 500 5.5.1 command unrecognized */
	SMTP_E_TOOLONG,   /* 500 5.5.2 line too long */
	SMTP_E_SYNTAX,    /* 501 5.5.4 syntax error in parameters */
	SMTP_E_PATH,      /* 501 5.1.3 bad recipient address syntax */
	SMTP_E_PARAM,     /* 555 5.5.4 unknown MAIL/RCPT parameter */
	SMTP_E_BINARY,    /* 500 5.5.2 NUL or other binary in a command */
	SMTP_E_SENDER,    /* 501 5.1.7 bad sender address syntax (MAIL) */
};

/* A mailbox from MAIL FROM or RCPT TO, split; all NUL-terminated. */
struct smtp_path {
	bool null;                          /* "<>" (MAIL only) */
	char local[SMTP_LOCAL_MAX + 1];     /* as given (quoted-string unquoted) */
	char domain[SMTP_DOMAIN_MAX + 1];   /* lower case; address literals
					     * kept as "[...]" */
	bool no_brackets;                   /* "MAIL FROM:a@b" (a bot tell) */
	bool source_route;                  /* "<@a,@b:c@d>" (dropped) */
};

/* One parsed command line. Pointers point into the caller's line. */
struct smtp_cmd {
	enum smtp_verb verb;
	const char *arg;   /* after the verb and the spaces that follow it,
			    * trailing spaces cut ("" if none) */
	size_t arglen;
	/* MAIL, RCPT */
	struct smtp_path path;
	uint64_t size;     /* MAIL SIZE=, 0 when absent */
	bool body_8bit;    /* MAIL BODY=8BITMIME */
	bool smtputf8;     /* MAIL SMTPUTF8 */
	/* AUTH: mechanism (upper case) and the initial response, if any */
	char auth_mech[21];
	const char *auth_initial;
	size_t auth_initial_len;
};

/*
 * Parse one command line (@len bytes without CRLF; the caller has cut it
 * at SMTP_CMD_LINE_MAX and reports longer lines itself). Verbs are
 * case-insensitive (RFC 5321 2.4). Lenient where bots and real clients
 * are (extra spaces after "MAIL FROM:", a path without angle brackets,
 * which is flagged; trailing spaces and tabs), strict where it matters
 * (path lengths, NUL bytes). Lines over SMTP_CMD_LINE_MAX give
 * SMTP_E_TOOLONG. A bad path is SMTP_E_SENDER in MAIL, SMTP_E_PATH in RCPT.
 * Returns SMTP_OK or the refusal; @out is filled either way as far as the
 * parse got (verb is set whenever it was recognised).
 */
enum smtp_perr smtp_parse_command(const char *line, size_t len,
				  struct smtp_cmd *out);

/* The reply text for a refusal ("500 5.5.1 Command unrecognized"). */
const char *smtp_perr_reply(enum smtp_perr e);

/*
 * DATA, after the 354: an incremental reader of the message. It removes
 * dot-stuffing (RFC 5321 4.5.2), finds the end (CRLF.CRLF), copies the
 * message into @buf up to @cap bytes and counts the rest, and notes the
 * tells: bare LF line ends, bare CR, over-long lines, NUL bytes.
 */
struct smtp_data {
	char *buf;          /* caller's buffer, @cap bytes */
	size_t cap, len;    /* capacity, bytes held */
	uint64_t size;      /* whole message size (unstuffed), held or not */
	unsigned state;     /* where in a line the reader is (private) */
	size_t line_len;    /* bytes in the current line */
	bool bare_lf;       /* a line ended with LF alone */
	bool long_line;     /* a line over SMTP_TEXT_LINE_MAX */
	bool nul;           /* a NUL byte */
};

void smtp_data_begin(struct smtp_data *d, char *buf, size_t cap);
/*
 * Feed @len bytes. Returns the bytes consumed: fewer than @len only when
 * the end of the message was found within them (the rest is the next
 * command, pipelined); *@done is then true. A bare-LF "\n.\n" also ends a
 * message (as Postfix accepts it, and bots send it) and sets bare_lf; so
 * do the mixed "\n.\r\n" and "\r\n.\n". The line end before the dot is
 * the message's. A feed that stops after a line's ".\r" holds that CR
 * back (it is counted once the next byte shows it is not the end), so
 * any split of a stream gives the same result as one feed.
 */
size_t smtp_data_feed(struct smtp_data *d, const char *in, size_t len,
		      bool *done);

/*
 * The PROXY protocol (HAProxy, v1 text and v2 binary), which a load
 * balancer sends before anything else.
 */
struct proxy_info {
	bool local;              /* v2 LOCAL / v1 UNKNOWN: keep the peer */
	struct tl_ip src, dst;   /* when !local */
	uint16_t src_port, dst_port;
};

/*
 * Parse a PROXY header at the start of @buf (@len bytes so far). Returns
 * the header length when complete and valid (fills @out), 0 when more
 * bytes are needed, or -1 when it is not a valid PROXY header (v1 line at
 * most 107 bytes; v2 length bounded by what it declares and 536 bytes).
 */
int proxy_parse(const uint8_t *buf, size_t len, struct proxy_info *out);

/*
 * XCLIENT (Postfix, XCLIENT_README): "ADDR=192.0.2.1 NAME=x HELO=y ..."
 * Attribute values are xtext (RFC 3461 4). Fills what is given; ADDR may
 * be "IPV6:2001:db8::1" or "[UNAVAILABLE]"/"[TEMPUNAVAIL]" (then has_addr
 * stays false). Returns 0 or -1 for a malformed attribute.
 */
struct xclient_info {
	bool has_addr;
	struct tl_ip addr;
	char helo[SMTP_DOMAIN_MAX + 1];
	char name[SMTP_DOMAIN_MAX + 1];
};
int xclient_parse(const char *arg, size_t len, struct xclient_info *out);

#endif
