/* SPDX-License-Identifier: MIT */
/* session.h -- one SMTP session of the trap, as a state machine
 *
 * The session does no I/O: the server hands it the bytes a client sent,
 * and it answers by appending replies to its output buffer and returning
 * an action for the server (start TLS, a message to make durable, close).
 * So the whole dialogue is testable without sockets, and fuzzable.
 */
#ifndef TRAPLINE_TRAP_SESSION_H
#define TRAPLINE_TRAP_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mail/mail.h"
#include "smtp.h"
#include "trapline/event.h"
#include "trapline/ip.h"

/* What a recipient is, for the trap. */
enum sess_rcpt {
	SESS_RCPT_TRAP,    /* a trap address: accept */
	SESS_RCPT_UNKNOWN, /* a trap domain, but no such address: 550 */
	SESS_RCPT_RELAY,   /* not ours: relay denied */
};

/* What the session needs from the world (all called on its thread). */
struct sess_env {
	void *ctx;
	/* Classify a recipient. */
	enum sess_rcpt (*rcpt)(void *ctx, const struct smtp_path *p);
	/* An unknown recipient from @ip: the count of the dictionary event
	 * to record now, or 0 (mail_dict semantics). */
	uint32_t (*dict)(void *ctx, const struct tl_ip *ip, const char *addr,
			 size_t len, int64_t now);
	/* An event that needs no reply to wait for (auth, dictionary). */
	void (*record)(void *ctx, const struct tl_event *ev);
	/* Unix seconds now. */
	int64_t (*now)(void *ctx);
	const struct mail_rules *rules; /* content tags, may be NULL */
	const struct mail_av *av;       /* ClamAV, may be NULL */
};

/* Limits and facts that do not change during a session. */
struct sess_cfg {
	const char *hostname;  /* in the greeting and replies */
	const char *sensor;    /* recorded in events, "" = none */
	uint64_t max_size;     /* SIZE advertised and enforced (bytes) */
	size_t hold_max;       /* bytes of a message kept to classify */
	unsigned max_rcpts;    /* per message */
	unsigned max_errors;   /* per session, then 421 and close */
	bool tls;              /* STARTTLS can be offered */
};

/* What the server must do after sess_input returns. */
enum sess_action {
	SESS_MORE = 0,  /* nothing: read more (or flush output first) */
	SESS_STARTTLS,  /* flush the 220, discard any other input already
			 * read (RFC 3207 5: no plaintext pipelined into
			 * TLS), handshake, then call sess_tls_started */
	SESS_MESSAGE,   /* sess->ev is a whole message's event: make it
			 * durable, then call sess_committed; meanwhile
			 * read nothing */
	SESS_PEER,      /* the client address changed (PROXY, XCLIENT):
			 * re-check limits, then call sess_input again */
	SESS_CLOSE,     /* flush the output, then close */
};

/* Protocol tells (bots give these away). */
enum {
	TELL_PREGREET = 1u << 0,  /* talked before the greeting */
	TELL_PIPELINING = 1u << 1, /* pipelined without EHLO */
	TELL_BARE_LF = 1u << 2,   /* lines ended with a bare LF */
	TELL_NON_SMTP = 1u << 3,  /* HTTP or TLS bytes at an SMTP port */
	TELL_NO_BRACKETS = 1u << 4, /* MAIL FROM:a@b without <> */
};

#define SESS_OUT_MAX 4096 /* reply bytes held (bytes): back-pressure
			   * stops reading input past half of it */
#define SESS_LINE_MAX (SMTP_TEXT_LINE_MAX + 2)

enum sess_state {
	ST_GREET,      /* before the greeting is sent */
	ST_CMD,        /* commands */
	ST_AUTH_PLAIN, /* AUTH PLAIN: waiting for the response */
	ST_AUTH_USER,  /* AUTH LOGIN: waiting for the user name */
	ST_AUTH_PASS,  /* AUTH LOGIN: waiting for the password */
	ST_DATA,       /* reading a message */
	ST_WAIT,       /* a message is being made durable */
	ST_TLS,        /* STARTTLS accepted; waiting for the handshake */
	ST_CLOSED,     /* QUIT, too many errors, or a protocol error */
};

struct session {
	const struct sess_cfg *cfg;
	const struct sess_env *env;
	enum sess_state st;
	struct tl_ip peer;        /* the client, as recorded */
	bool proxy_ok;            /* a PROXY header may still come */
	bool xclient_ok;          /* the peer may send XCLIENT */
	bool ehlo;                /* EHLO (not HELO) was given */
	bool in_tls;              /* after STARTTLS */
	bool in_mail;             /* between MAIL and the end of DATA */
	bool line_long;           /* discarding an over-long line */
	bool recorded;            /* an event of this session was recorded */
	unsigned tells;           /* TELL_* */
	unsigned errors;          /* refused commands */
	unsigned nrcpt;           /* accepted recipients of this message */
	unsigned messages;        /* messages accepted */
	char helo[SMTP_DOMAIN_MAX + 1];
	char from[SMTP_DOMAIN_MAX + 1]; /* envelope sender domain */
	uint64_t declared_size;   /* MAIL SIZE= */
	struct smtp_data data;    /* the DATA reader */
	char *msg;                /* its buffer (owned, grows to hold_max) */
	size_t msgcap;
	struct tl_event ev;       /* SESS_MESSAGE: the message's event */
	uint64_t queue_id;        /* for "queued as" */
	char line[SESS_LINE_MAX]; /* the command line being assembled */
	size_t linelen;
	char out[SESS_OUT_MAX];   /* replies not yet sent */
	size_t outlen;
};

/*
 * Start a session with client @peer. @trusted: the peer is one of
 * trusted_proxies (PROXY and XCLIENT accepted). With @greet_now the
 * greeting is queued at once; else the server calls sess_greet later, and
 * input before it is a pregreet tell.
 */
void sess_init(struct session *s, const struct sess_cfg *cfg,
	       const struct sess_env *env, const struct tl_ip *peer,
	       bool trusted, bool greet_now);
void sess_greet(struct session *s);
/* Free what the session owns (the message buffer). */
void sess_free(struct session *s);

/*
 * Take input. Returns the bytes consumed (the rest stays with the server
 * and is offered again) and sets *@act. Stops early at an action, and
 * when the output is half full (the client is not reading its replies).
 */
size_t sess_input(struct session *s, const char *in, size_t len,
		  enum sess_action *act);

/* The message's event is durable (@ok) or could not be made so. */
void sess_committed(struct session *s, bool ok);
/* TLS is up: the session starts again (RFC 3207 4.2). */
void sess_tls_started(struct session *s);
/* The server is closing the session (timeout, limits): queue a 421. */
void sess_shutdown(struct session *s, const char *why);
/*
 * The session is over. If it gave tells but recorded no event (a bot that
 * hung up at the first sign of a trap), fills @ev with a spam event
 * carrying them and returns true.
 */
bool sess_finish(struct session *s, struct tl_event *ev);

/* Drop @n sent bytes from the output. */
void sess_sent(struct session *s, size_t n);

#endif
