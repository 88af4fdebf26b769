/* SPDX-License-Identifier: MIT */
/* session.c -- the trap's SMTP dialogue (RFC 5321, 3207, 4954, 2920)
 *
 * The trap must look like a real MX to the bots that find it, so its
 * replies are those of a stock Postfix; and it must give nothing away to
 * a hostile client: every line is bounded, errors are counted, and the
 * session stops reading when its replies are not being read.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tl_limits.h"
#include "session.h"
#include "trapline/alloc.h"
#include "trapline/log.h"

#define HOLD_FIRST 16384 /* first message buffer (bytes); doubles as needed */

/* Queue a reply line (CRLF added). A reply that does not fit is dropped
 * and the session closed: the client is not reading. */
static void reply(struct session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void reply(struct session *s, const char *fmt, ...)
{
	size_t room = sizeof(s->out) - s->outlen;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(s->out + s->outlen, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n + 2 >= room) {
		s->st = ST_CLOSED;
		return;
	}
	s->outlen += (size_t)n;
	s->out[s->outlen++] = '\r';
	s->out[s->outlen++] = '\n';
}

void sess_sent(struct session *s, size_t n)
{
	if (n >= s->outlen) {
		s->outlen = 0;
		return;
	}
	memmove(s->out, s->out + n, s->outlen - n);
	s->outlen -= n;
}

void sess_init(struct session *s, const struct sess_cfg *cfg,
	       const struct sess_env *env, const struct tl_ip *peer,
	       bool trusted, bool greet_now)
{
	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	s->env = env;
	s->peer = *peer;
	s->proxy_ok = trusted;
	s->xclient_ok = trusted;
	s->st = ST_GREET;
	if (greet_now)
		sess_greet(s);
}

void sess_greet(struct session *s)
{
	if (s->st != ST_GREET)
		return;
	reply(s, "220 %s ESMTP Postfix", s->cfg->hostname);
	if (s->st == ST_GREET)
		s->st = ST_CMD;
}

void sess_free(struct session *s)
{
	tl_free(s->msg);
	s->msg = NULL;
	s->msgcap = 0;
}

/* A new transaction (RSET, after a message, after HELO/EHLO). */
static void reset_mail(struct session *s)
{
	s->in_mail = false;
	s->nrcpt = 0;
	s->from[0] = '\0';
	s->declared_size = 0;
}

/* The common part of every event of this session. */
static void event_base(struct session *s, struct tl_event *ev, uint8_t kind)
{
	tl_event_init(ev);
	ev->time = s->env->now(s->env->ctx);
	ev->ip = s->peer;
	ev->kind = kind;
	snprintf(ev->sensor, sizeof(ev->sensor), "%s",
		 s->cfg->sensor ? s->cfg->sensor : "");
	snprintf(ev->helo, sizeof(ev->helo), "%s", s->helo);
	snprintf(ev->from, sizeof(ev->from), "%s", s->from);
}

static void add_tells(const struct session *s, struct tl_event *ev)
{
	static const struct {
		unsigned bit;
		const char *tag;
	} names[] = {
		{TELL_PREGREET, "pregreet"},
		{TELL_PIPELINING, "pipelining"},
		{TELL_BARE_LF, "bare-newline"},
		{TELL_NON_SMTP, "non-smtp"},
		{TELL_NO_BRACKETS, "no-brackets"},
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (s->tells & names[i].bit)
			tl_event_add_tag(ev, names[i].tag, strlen(names[i].tag));
}

static void record(struct session *s, struct tl_event *ev)
{
	add_tells(s, ev);
	if (s->env->record)
		s->env->record(s->env->ctx, ev);
	s->recorded = true;
}

/* A refused command: counted; past the cap the session ends. */
static void error(struct session *s, const char *text)
{
	s->errors++;
	if (s->errors > s->cfg->max_errors) {
		reply(s, "421 4.7.0 %s Error: too many errors",
		      s->cfg->hostname);
		s->st = ST_CLOSED;
		return;
	}
	reply(s, "%s", text);
}

static void do_ehlo(struct session *s, const struct smtp_cmd *c, bool ehlo)
{
	size_t n = c->arglen < sizeof(s->helo) - 1 ? c->arglen
						    : sizeof(s->helo) - 1;

	/* Keep the HELO printable: it goes into events and logs. */
	tl_log_escape(s->helo, sizeof(s->helo), c->arg, n);
	if (strlen(s->helo) > TL_HELO_MAX)
		s->helo[TL_HELO_MAX] = '\0';
	reset_mail(s);
	s->ehlo = ehlo;
	if (!ehlo) {
		reply(s, "250 %s", s->cfg->hostname);
		return;
	}
	reply(s, "250-%s", s->cfg->hostname);
	reply(s, "250-PIPELINING");
	reply(s, "250-SIZE %" PRIu64, s->cfg->max_size);
	reply(s, "250-VRFY");
	if (s->cfg->tls && !s->in_tls)
		reply(s, "250-STARTTLS");
	reply(s, "250-AUTH PLAIN LOGIN");
	reply(s, "250-AUTH=PLAIN LOGIN");
	if (s->xclient_ok)
		reply(s, "250-XCLIENT NAME ADDR PROTO HELO");
	reply(s, "250-ENHANCEDSTATUSCODES");
	reply(s, "250-8BITMIME");
	reply(s, "250 DSN");
}

static void do_mail(struct session *s, const struct smtp_cmd *c)
{
	if (s->in_mail) {
		error(s, "503 5.5.1 Error: nested MAIL command");
		return;
	}
	if (c->size > s->cfg->max_size) {
		error(s, "552 5.3.4 Message size exceeds fixed limit");
		return;
	}
	if (c->path.no_brackets)
		s->tells |= TELL_NO_BRACKETS;
	snprintf(s->from, sizeof(s->from), "%s",
		 c->path.null ? "" : c->path.domain);
	s->declared_size = c->size;
	s->in_mail = true;
	s->nrcpt = 0;
	reply(s, "250 2.1.0 Ok");
}

static void do_rcpt(struct session *s, const struct smtp_cmd *c)
{
	char addr[SMTP_LOCAL_MAX + 1 + SMTP_DOMAIN_MAX + 1];
	struct tl_event ev;
	uint32_t n;
	int len;

	if (!s->in_mail) {
		error(s, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (c->path.null) {
		error(s, "501 5.1.3 Bad recipient address syntax");
		return;
	}
	if (s->nrcpt >= s->cfg->max_rcpts) {
		error(s, "452 4.5.3 Error: too many recipients");
		return;
	}
	len = snprintf(addr, sizeof(addr), "%s%s%s", c->path.local,
		       c->path.domain[0] ? "@" : "", c->path.domain);
	if (len < 0)
		len = 0;
	switch (s->env->rcpt(s->env->ctx, &c->path)) {
	case SESS_RCPT_TRAP:
		s->nrcpt++;
		reply(s, "250 2.1.5 Ok");
		return;
	case SESS_RCPT_UNKNOWN:
		n = s->env->dict ? s->env->dict(s->env->ctx, &s->peer, addr,
						 (size_t)len,
						 s->env->now(s->env->ctx))
				 : 0;
		if (n) {
			event_base(s, &ev, TL_KIND_DICTIONARY);
			ev.count = n;
			ev.rcpts = n;
			record(s, &ev);
		}
		error(s, "550 5.1.1 Recipient address rejected: User unknown "
			 "in virtual mailbox table");
		return;
	case SESS_RCPT_RELAY:
		error(s, "554 5.7.1 Relay access denied");
		return;
	}
}

static void do_data(struct session *s)
{
	if (!s->in_mail) {
		error(s, "503 5.5.1 Error: need RCPT command");
		return;
	}
	if (!s->nrcpt) {
		error(s, "554 5.5.1 Error: no valid recipients");
		return;
	}
	if (!s->msg) {
		s->msg = tl_calloc(1, HOLD_FIRST);
		if (!s->msg) {
			reply(s, "451 4.3.0 Error: out of memory");
			return;
		}
		s->msgcap = HOLD_FIRST;
	}
	smtp_data_begin(&s->data, s->msg, s->msgcap);
	s->st = ST_DATA;
	reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

/* The end of DATA: the message's event. */
static void message_done(struct session *s)
{
	struct mail_verdict v;

	event_base(s, &s->ev, TL_KIND_SPAM);
	s->ev.rcpts = s->nrcpt;
	s->ev.size = s->data.size;
	if (s->data.bare_lf)
		s->tells |= TELL_BARE_LF;
	mail_classify(s->msg, s->data.len, s->env->rules, &s->ev, &v);
	if (!v.malware && s->env->av)
		v.malware = mail_av_scan(s->env->av, s->msg, s->data.len, v.why,
					 sizeof(v.why)) == 1;
	if (v.malware)
		s->ev.kind = TL_KIND_MALWARE;
	add_tells(s, &s->ev);
	s->st = ST_WAIT;
}

void sess_committed(struct session *s, bool ok)
{
	if (s->st != ST_WAIT)
		return;
	s->st = ST_CMD;
	s->recorded = true;
	if (!ok)
		reply(s, "451 4.3.0 Error: queue file write error");
	else if (s->data.size > s->cfg->max_size)
		reply(s, "552 5.3.4 Error: message file too big");
	else
		reply(s, "250 2.0.0 Ok: queued as %08" PRIX64,
		      ++s->queue_id);
	if (ok)
		s->messages++;
	reset_mail(s);
}

void sess_tls_started(struct session *s)
{
	s->in_tls = true;
	s->ehlo = false;
	s->helo[0] = '\0';
	reset_mail(s);
	s->st = ST_CMD;
}

void sess_shutdown(struct session *s, const char *why)
{
	if (s->st == ST_CLOSED)
		return;
	reply(s, "421 4.4.2 %s Error: %s", s->cfg->hostname, why);
	s->st = ST_CLOSED;
}

bool sess_finish(struct session *s, struct tl_event *ev)
{
	if (s->recorded || !s->tells)
		return false;
	event_base(s, ev, TL_KIND_SPAM);
	add_tells(s, ev);
	s->recorded = true;
	return true;
}

/* An AUTH attempt with credentials: recorded, and always refused. */
static void auth_failed(struct session *s)
{
	struct tl_event ev;

	event_base(s, &ev, TL_KIND_AUTH);
	record(s, &ev);
	s->st = ST_CMD;
	error(s, "535 5.7.8 Error: authentication failed: authentication "
		 "failure");
}

static void do_auth(struct session *s, const struct smtp_cmd *c)
{
	if (s->in_mail) {
		error(s, "503 5.5.1 Error: MAIL transaction in progress");
		return;
	}
	if (strcmp(c->auth_mech, "PLAIN") == 0) {
		if (c->auth_initial_len) {
			auth_failed(s);
			return;
		}
		s->st = ST_AUTH_PLAIN;
		reply(s, "334 ");
	} else if (strcmp(c->auth_mech, "LOGIN") == 0) {
		s->st = c->auth_initial_len ? ST_AUTH_PASS : ST_AUTH_USER;
		reply(s, "334 %s", c->auth_initial_len ? "UGFzc3dvcmQ6"
						       : "VXNlcm5hbWU6");
	} else {
		error(s, "535 5.7.8 Error: authentication failed: Invalid "
			 "authentication mechanism");
	}
}

/* A line while AUTH waits for a response. */
static void auth_line(struct session *s, const char *line, size_t len)
{
	if (len == 1 && line[0] == '*') {
		s->st = ST_CMD;
		error(s, "501 5.7.0 Authentication aborted");
		return;
	}
	if (s->st == ST_AUTH_USER) {
		s->st = ST_AUTH_PASS;
		reply(s, "334 UGFzc3dvcmQ6");
		return;
	}
	auth_failed(s);
}

static void do_xclient(struct session *s, const struct smtp_cmd *c,
		       enum sess_action *act)
{
	struct xclient_info x;

	if (!s->xclient_ok) {
		error(s, "550 5.7.0 Error: insufficient authorization");
		return;
	}
	if (s->in_mail) {
		error(s, "503 5.5.1 Error: MAIL transaction in progress");
		return;
	}
	if (xclient_parse(c->arg, c->arglen, &x) < 0) {
		error(s, "501 5.5.4 Bad XCLIENT attribute");
		return;
	}
	if (x.has_addr) {
		s->peer = x.addr;
		*act = SESS_PEER;
	}
	snprintf(s->helo, sizeof(s->helo), "%s", x.helo);
	s->ehlo = false;
	s->tells = 0; /* the tells so far were the proxy's */
	reset_mail(s);
	/* Postfix: a new greeting as if the client had just connected. */
	reply(s, "220 %s ESMTP Postfix", s->cfg->hostname);
}

/* The line is HTTP or a TLS handshake: not a mail client at all. */
static bool is_non_smtp(const char *line, size_t len)
{
	static const char *const verbs[] = {"GET ", "POST ", "HEAD ",
					    "CONNECT ", "PUT ", "OPTIONS "};
	size_t i;

	if (len >= 2 && (unsigned char)line[0] == 0x16 &&
	    (unsigned char)line[1] == 0x03)
		return true;
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (len >= strlen(verbs[i]) &&
		    strncasecmp(line, verbs[i], strlen(verbs[i])) == 0)
			return true;
	return false;
}

/* One command line (without its line end). */
static void command(struct session *s, const char *line, size_t len,
		    enum sess_action *act)
{
	struct smtp_cmd c;
	enum smtp_perr e;

	if (s->st == ST_AUTH_PLAIN || s->st == ST_AUTH_USER ||
	    s->st == ST_AUTH_PASS) {
		auth_line(s, line, len);
		return;
	}
	e = smtp_parse_command(line, len, &c);
	if (e != SMTP_OK) {
		if (s->messages == 0 && is_non_smtp(line, len)) {
			s->tells |= TELL_NON_SMTP;
			reply(s, "521 5.5.1 Protocol error");
			s->st = ST_CLOSED;
			return;
		}
		error(s, smtp_perr_reply(e));
		return;
	}
	switch (c.verb) {
	case SMTP_HELO:
		do_ehlo(s, &c, false);
		break;
	case SMTP_EHLO:
		do_ehlo(s, &c, true);
		break;
	case SMTP_MAIL:
		do_mail(s, &c);
		break;
	case SMTP_RCPT:
		do_rcpt(s, &c);
		break;
	case SMTP_DATA:
		do_data(s);
		break;
	case SMTP_RSET:
		reset_mail(s);
		reply(s, "250 2.0.0 Ok");
		break;
	case SMTP_NOOP:
		reply(s, "250 2.0.0 Ok");
		break;
	case SMTP_QUIT:
		reply(s, "221 2.0.0 Bye");
		s->st = ST_CLOSED;
		break;
	case SMTP_VRFY:
		/* RFC 5321 3.5.3: 252 neither confirms nor denies. */
		reply(s, "252 2.0.0 Cannot VRFY user, but will accept message");
		break;
	case SMTP_STARTTLS:
		if (!s->cfg->tls || s->in_tls) {
			error(s, s->in_tls ? "554 5.5.1 Error: TLS already active"
					   : "454 4.7.0 TLS not available");
			break;
		}
		reply(s, "220 2.0.0 Ready to start TLS");
		s->st = ST_TLS;
		*act = SESS_STARTTLS;
		break;
	case SMTP_AUTH:
		do_auth(s, &c);
		break;
	case SMTP_XCLIENT:
		do_xclient(s, &c, act);
		break;
	case SMTP_EXPN:
	case SMTP_HELP:
	case SMTP_BDAT:
	case SMTP_UNKNOWN:
		error(s, "502 5.5.2 Error: command not recognized");
		break;
	}
}

/* Feed DATA bytes. Returns bytes consumed. */
static size_t data_input(struct session *s, const char *in, size_t len,
			 enum sess_action *act)
{
	size_t used = 0;
	bool done = false;

	while (used < len && !done) {
		size_t chunk = len - used;

		/* Grow the buffer before the reader would fill it. */
		if (s->data.len + chunk > s->msgcap &&
		    s->msgcap < s->cfg->hold_max) {
			size_t cap = s->msgcap * 2;
			char *p;

			while (cap < s->data.len + chunk && cap < s->cfg->hold_max)
				cap *= 2;
			if (cap > s->cfg->hold_max)
				cap = s->cfg->hold_max;
			p = tl_reallocarray(s->msg, cap, 1);
			if (p) {
				s->msg = p;
				s->msgcap = cap;
				s->data.buf = p;
				s->data.cap = cap;
			}
		}
		used += smtp_data_feed(&s->data, in + used, chunk, &done);
	}
	if (done) {
		message_done(s);
		*act = SESS_MESSAGE;
	}
	return used;
}

/* A PROXY header from a trusted proxy, before anything else. */
static size_t proxy_input(struct session *s, const char *in, size_t len,
			  enum sess_action *act, bool *more)
{
	static const uint8_t v2sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
					  0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
	struct proxy_info pi;
	size_t n = len < 12 ? len : 12;
	int r;

	*more = false;
	/* Only bytes that can begin a PROXY header are taken as one. */
	if (memcmp(in, "PROXY ", n < 6 ? n : 6) != 0 &&
	    memcmp(in, v2sig, n) != 0) {
		s->proxy_ok = false;
		return 0;
	}
	r = proxy_parse((const uint8_t *)in, len, &pi);
	if (r == 0) {
		*more = true;
		return 0;
	}
	s->proxy_ok = false;
	if (r < 0) {
		reply(s, "421 4.7.0 %s Error: bad PROXY header",
		      s->cfg->hostname);
		s->st = ST_CLOSED;
		*act = SESS_CLOSE;
		return len;
	}
	if (!pi.local) {
		s->peer = pi.src;
		*act = SESS_PEER;
	}
	return (size_t)r;
}

size_t sess_input(struct session *s, const char *in, size_t len,
		  enum sess_action *act)
{
	size_t used = 0;

	*act = SESS_MORE;
	if (s->proxy_ok && len) {
		bool more;

		used = proxy_input(s, in, len, act, &more);
		if (more || *act != SESS_MORE)
			return used;
	}
	while (used < len) {
		const char *p = in + used, *nl;
		size_t avail = len - used, take;

		if (s->st == ST_CLOSED) {
			*act = SESS_CLOSE;
			return len; /* nothing more is read */
		}
		if (s->st == ST_GREET) {
			s->tells |= TELL_PREGREET;
			return used; /* kept until the greeting is out */
		}
		if (s->st == ST_WAIT || s->st == ST_TLS)
			return used;
		if (s->outlen > sizeof(s->out) / 2)
			return used; /* the client is not reading: wait */
		if (s->st == ST_DATA) {
			used += data_input(s, p, avail, act);
			if (*act != SESS_MORE)
				return used;
			continue;
		}
		nl = memchr(p, '\n', avail);
		take = nl ? (size_t)(nl - p) + 1 : avail;
		if (s->line_long) {
			/* Discard the rest of an over-long line. */
			used += take;
			if (nl)
				s->line_long = false;
			continue;
		}
		if (s->linelen + take > SMTP_CMD_LINE_MAX ||
		    (!nl && s->linelen + take >= SMTP_CMD_LINE_MAX)) {
			s->linelen = 0;
			used += take;
			s->line_long = !nl;
			error(s, "500 5.5.2 Error: line too long");
			continue;
		}
		memcpy(s->line + s->linelen, p, take);
		s->linelen += take;
		used += take;
		if (!nl)
			continue;
		/* A whole line: drop its end, note a bare LF. */
		{
			size_t n = s->linelen - 1;

			if (n && s->line[n - 1] == '\r')
				n--;
			else
				s->tells |= TELL_BARE_LF;
			s->linelen = 0;
			/* More bytes already here, without EHLO: pipelining. */
			if (used < len && !s->ehlo && s->st == ST_CMD)
				s->tells |= TELL_PIPELINING;
			command(s, s->line, n, act);
		}
		if (*act != SESS_MORE)
			return used;
	}
	if (s->st == ST_CLOSED)
		*act = SESS_CLOSE;
	return used;
}
