/* SPDX-License-Identifier: MIT */
/* mail.h -- messages as sensors see them: headers, the Received chain, the
 * MIME classifier and content rules. Shared by the mailbox importers and
 * the SMTP trap. Everything here is pure: no I/O except mail_rules_load,
 * no global state; every function reads untrusted bytes within bounds.
 */
#ifndef TRAPLINE_MAIL_H
#define TRAPLINE_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trapline/event.h"
#include "trapline/ip.h"

/* ---- headers (header.c) ------------------------------------------------ */

/* A cursor over the header section of a message (RFC 5322 2.2). */
struct mail_hdr_iter {
	const char *p, *end; /* unread header bytes */
	bool done;           /* reached the blank line or the end */
};

/*
 * Start at @msg (@len bytes; CRLF or bare LF line ends). The header section
 * ends at the first empty line, or at the first line that is neither a
 * field nor a continuation (as MTAs treat a malformed header).
 */
void mail_hdr_begin(struct mail_hdr_iter *it, const char *msg, size_t len);

/*
 * The next field: @name (without the colon, @nlen bytes) and its raw
 * value (@value, @vlen bytes: from after the colon to the end of the last
 * continuation line, folding CRLF/LF+WSP left in place). Returns false at
 * the end. Fields are seen top to bottom, i.e. newest trace field first.
 */
bool mail_hdr_next(struct mail_hdr_iter *it, const char **name, size_t *nlen,
		   const char **value, size_t *vlen);

/* Where the body starts (after the blank line), or @len when none. */
size_t mail_body_offset(const char *msg, size_t len);

/*
 * Unfold and trim a raw value into @out (@cap bytes, NUL-ended, cut at
 * @cap - 1): line breaks become one space, runs of WSP one space, control
 * bytes other than TAB dropped. Returns the length written.
 */
size_t mail_unfold(const char *v, size_t vlen, char *out, size_t cap);

/* Case-insensitive header name test. */
bool mail_hdr_is(const char *name, size_t nlen, const char *want);

/* ---- one Received field (received.c) ----------------------------------- */

#define MAIL_NAME_MAX 255 /* host names and HELO arguments (bytes) */

/* What one hop recorded about the client that handed it the message. */
struct mail_hop {
	bool has_ip;     /* the from clause names a client address */
	struct tl_ip ip; /* that address */
	char helo[MAIL_NAME_MAX + 1]; /* "from NAME", "" when absent */
	char rdns[MAIL_NAME_MAX + 1]; /* the receiver's name for the client
				       * ("(NAME [ip])"), "" or "unknown" */
	char by[MAIL_NAME_MAX + 1];   /* the receiving host, "" when absent */
	int64_t time;    /* unix s of the date after ';', -1 when none */
};

/*
 * Parse one Received field value (unfolded or raw). Understands the forms
 * real MTAs write: Postfix "from HELO (RDNS [IP]) by HOST ...; DATE",
 * Sendmail "from HELO (RDNS [IP]) by", Exim "from RDNS ([IP] helo=HELO)"
 * and "from [IP] (helo=HELO)", qmail "from unknown (HELO x) (IP)",
 * Microsoft "from HELO (IP) by", IPv6 as "[IPv6:...]" or bare, and dates
 * per RFC 5322 3.3 (obsolete zones too). Returns 0 and fills @hop (fields
 * it could not find left empty), or TL_ESYNTAX when the value is not a
 * Received field at all.
 */
int mail_received_parse(const char *v, size_t vlen, struct mail_hop *hop);

/* ---- content rules (rules.c) ------------------------------------------- */

struct mail_rules; /* opaque, immutable once built; share freely */

/*
 * Parse rules text (the format is documented in etc/rules.conf:
 * "TAG WHERE REGEX" lines, WHERE one of subject, from, body, any).
 * On error returns TL_ESYNTAX and writes "line N: reason" into @why
 * (@whylen bytes).
 */
int mail_rules_parse(const char *text, size_t len, struct mail_rules **out,
		     char *why, size_t whylen);

/* Read and parse @path; NULL or "" means the built-in rules (the copy of
 * etc/rules.conf compiled in). Errors are logged with the file name. */
int mail_rules_load(const char *path, struct mail_rules **out);

void mail_rules_free(struct mail_rules *r);

/* ---- the classifier (classify.c) --------------------------------------- */

/* What the classifier found in one message. */
struct mail_verdict {
	bool malware;       /* an executable, or an archive holding one */
	unsigned parts;     /* MIME leaf parts seen */
	char why[128];      /* for malware: what was found ("attachment
			     * invoice.zip holds invoice.exe (PE)") */
};

/*
 * Classify a whole message (headers and body, @len bytes): walk the MIME
 * structure (RFC 2045/2046, nesting and parts bounded), decode base64 and
 * quoted-printable parts, mark malware by magic bytes (PE "MZ", ELF, Mach-O,
 * scripts) and by names inside ZIP archives; match @rules (may be NULL)
 * against the subject, the From field and the decoded text, adding each
 * matching rule's tag to @ev (tl_event_add_tag). Fills @v. Returns 0; a
 * malformed structure is classified as far as it goes, never an error.
 */
int mail_classify(const char *msg, size_t len, const struct mail_rules *rules,
		  struct tl_event *ev, struct mail_verdict *v);

/* ---- a trap mailbox message as an event (message.c) -------------------- */

/* The operator's own relays ([ingest] own_relays). */
struct mail_relays {
	struct tl_prefix *nets; /* owned */
	unsigned nnets;
	char (*names)[MAIL_NAME_MAX + 1]; /* owned, lower case */
	unsigned nnames;
};

/* Parse "192.0.2.10 198.51.100.0/24 mx2.example.org" (space or comma
 * separated). Returns 0 or a TL_E* with *@bad pointing at the item. */
int mail_relays_parse(const char *text, struct mail_relays *out,
		      const char **bad);
void mail_relays_free(struct mail_relays *r);

/* Why a message gave no event. The numbers index counters: keep dense. */
enum mail_skip {
	MAIL_TAKEN = 0,      /* an event was made */
	MAIL_SKIP_BOUNCE,    /* null sender or MAILER-DAEMON */
	MAIL_SKIP_NO_CHAIN,  /* no Received hop from a foreign public address */
	MAIL_SKIP_NO_HEADER, /* not a message: no header fields */
	MAIL_SKIP_NO_TIME,   /* no usable date for the edge hop or fallback */
	MAIL_SKIP_COUNT
};
const char *mail_skip_name(enum mail_skip why);

struct mail_opts {
	const struct mail_relays *relays; /* may be NULL */
	const struct mail_rules *rules;   /* may be NULL */
	int64_t fallback_time; /* unix s (mbox From_ line, file mtime) used
				* when the edge hop has no date; -1 none */
	const char *sensor;    /* event's sensor name, "" or NULL = none */
	const struct mail_av *av; /* ClamAV, or NULL */
};

/*
 * Turn one message from a trap mailbox into an event. Walks the Received
 * chain from the top: a hop whose client is one of @relays (by address,
 * prefix or the receiver's name for it) or in a private or reserved range
 * was added inside the operator's network and is passed over; the first
 * other hop's client is the sender. Fills @ev (time of that hop, ip, kind
 * spam or malware, helo, envelope sender domain from Return-Path, rcpts 1,
 * size @len, tags from the classifier) and returns MAIL_TAKEN, or the
 * reason it is skipped.
 */
enum mail_skip mail_message_event(const char *msg, size_t len,
				  const struct mail_opts *o,
				  struct tl_event *ev);

/* Addresses that are never a real sender: IANA special-purpose ranges
 * (RFC 6890: private, loopback, link-local, CGNAT, documentation,
 * benchmarking, multicast, reserved; IPv6 ULA, link-local, 2001:db8::/32,
 * and so on). */
bool mail_ip_is_special(const struct tl_ip *ip);

/* ---- ClamAV, when installed and enabled (av.c) ------------------------ */

struct mail_av; /* a compiled signature engine; share across threads */

/* Load ClamAV signatures from @db (a directory or one database file).
 * Returns 0, or TL_EINVAL (logged; also when built without libclamav). */
int mail_av_open(const char *db, struct mail_av **out);
void mail_av_free(struct mail_av *av);
/* Scan a whole message: 1 when a signature matches (its name into @what),
 * 0 when clean, or a negative error. */
int mail_av_scan(const struct mail_av *av, const char *msg, size_t len,
		 char *what, size_t whatlen);
/* Was this trapline built with libclamav? */
bool mail_av_available(void);

/* ---- dictionary attacks (dict.c) --------------------------------------- */

/*
 * Which clients try many addresses that do not exist. One client's unknown
 * recipients are counted within a window that starts at its first one and
 * starts again once it lapses; when the distinct ones reach the threshold,
 * an event counts them all, then one event each further distinct one.
 * Memory is bounded (TL_DICT_CLIENTS_MAX clients, TL_DICT_RCPTS_MAX
 * recipients each, past which every reject counts as distinct). Not
 * thread-safe.
 */
struct mail_dict;

int mail_dict_new(unsigned threshold, unsigned window_s,
		  struct mail_dict **out);
void mail_dict_free(struct mail_dict *d);
/* An unknown recipient @rcpt (@len bytes, compared case-insensitively)
 * from @ip at unix second @now. Returns the count of the dictionary event
 * to record now, or 0. */
uint32_t mail_dict_note(struct mail_dict *d, const struct tl_ip *ip,
			const char *rcpt, size_t len, int64_t now);
/* Clients followed now. */
size_t mail_dict_clients(const struct mail_dict *d);

#endif
