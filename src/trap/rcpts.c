/* SPDX-License-Identifier: MIT */
/* rcpts.c -- trap domains and addresses: what RCPT TO is accepted
 *
 * Domains and addresses go into one sorted array of strings
 * ("domain" for a catch-all domain, "domain\tlocal" for an address, "domain\t"
 * to mark a domain that takes only its listed addresses), searched with
 * bsearch: small, immutable, shared read-only by every worker.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "rcpts.h"
#include "trapline/alloc.h"
#include "trapline/config.h"
#include "trapline/err.h"
#include "trapline/log.h"

#define ADDRESSES_FILE_MAX (16u << 20) /* bytes: a million addresses */

struct trap_rcpts {
	char **keys; /* sorted, owned */
	size_t n, cap;
};

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_key(struct trap_rcpts *r, const char *domain, size_t dlen,
		   const char *local, size_t llen, bool marker)
{
	size_t i, len = dlen + (local || marker ? 1 + llen : 0);
	char *k;

	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		char **v = tl_reallocarray(r->keys, cap, sizeof(*v));

		if (!v)
			return TL_ENOMEM;
		r->keys = v;
		r->cap = cap;
	}
	k = tl_calloc(1, len + 1);
	if (!k)
		return TL_ENOMEM;
	for (i = 0; i < dlen; i++)
		k[i] = (char)tolower((unsigned char)domain[i]);
	if (local || marker) {
		k[dlen] = '\t';
		memcpy(k + dlen + 1, local, llen);
	}
	r->keys[r->n++] = k;
	return 0;
}

static bool has(const struct trap_rcpts *r, const char *key)
{
	return bsearch(&key, r->keys, r->n, sizeof(*r->keys), cmp_keys) != NULL;
}

void trap_rcpts_free(struct trap_rcpts *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->n; i++)
		tl_free(r->keys[i]);
	tl_free(r->keys);
	tl_free(r);
}

int trap_rcpts_build(const char *domains, const char *text, size_t len,
		     struct trap_rcpts **out, char *why, size_t whylen)
{
	struct trap_rcpts *r = tl_calloc(1, sizeof(*r));
	const char *p = domains, *end = text + len, *it;
	size_t l;
	unsigned line = 0;
	size_t i, o;
	int rc = 0;

	if (!r)
		return TL_ENOMEM;
	while (tl_config_next_item(&p, &it, &l)) {
		if (l > SMTP_DOMAIN_MAX) {
			snprintf(why, whylen, "[trap] domains: a domain is at "
				 "most %d bytes", SMTP_DOMAIN_MAX);
			rc = TL_ESYNTAX;
			goto out;
		}
		rc = add_key(r, it, l, NULL, 0, false);
		if (rc < 0)
			goto out;
	}
	p = text;
	while (p && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *at, *s = p;

		line++;
		p = nl ? nl + 1 : end;
		while (s < le && (*s == ' ' || *s == '\t'))
			s++;
		while (le > s && (le[-1] == ' ' || le[-1] == '\t' ||
				  le[-1] == '\r'))
			le--;
		if (s == le || *s == '#')
			continue;
		l = (size_t)(le - s);
		at = memrchr(s, '@', l);
		if (!at || at == s || at == le - 1 ||
		    (size_t)(at - s) > SMTP_LOCAL_MAX ||
		    (size_t)(le - at - 1) > SMTP_DOMAIN_MAX ||
		    memchr(s, ' ', l) || memchr(s, '\t', l)) {
			snprintf(why, whylen, "line %u: not local@domain", line);
			rc = TL_ESYNTAX;
			goto out;
		}
		rc = add_key(r, at + 1, (size_t)(le - at - 1), s,
			     (size_t)(at - s), false);
		if (rc == 0) /* the domain is only these */
			rc = add_key(r, at + 1, (size_t)(le - at - 1), "", 0,
				     true);
		if (rc == 0) /* and is a trap domain */
			rc = add_key(r, at + 1, (size_t)(le - at - 1), NULL, 0,
				     false);
		if (rc < 0)
			goto out;
	}
	qsort(r->keys, r->n, sizeof(*r->keys), cmp_keys);
	/* Drop duplicates (each listed domain's marker, repeated lines). */
	for (i = 0, o = 0; i < r->n; i++) {
		if (o && strcmp(r->keys[o - 1], r->keys[i]) == 0) {
			tl_free(r->keys[i]);
			continue;
		}
		r->keys[o++] = r->keys[i];
	}
	r->n = o;
out:
	if (rc < 0) {
		trap_rcpts_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

int trap_rcpts_load(const char *domains, const char *path,
		    struct trap_rcpts **out)
{
	char why[128] = "";
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	if (path && *path) {
		struct stat sb;

		f = fopen(path, "re");
		if (!f) {
			rc = -errno;
			log_error("trap", "%s: %s", path, strerror(errno));
			return rc;
		}
		if (fstat(fileno(f), &sb) < 0 || sb.st_size > ADDRESSES_FILE_MAX) {
			log_error("trap", "%s: not a file of at most %u bytes",
				  path, ADDRESSES_FILE_MAX);
			fclose(f);
			return TL_ELIMIT;
		}
		text = tl_calloc(1, (size_t)sb.st_size + 1);
		if (!text) {
			fclose(f);
			return TL_ENOMEM;
		}
		len = fread(text, 1, (size_t)sb.st_size, f);
		fclose(f);
	}
	rc = trap_rcpts_build(domains, text ? text : "", len, out, why,
			      sizeof(why));
	if (rc == TL_ESYNTAX)
		log_error("trap", "%s: %s", path && *path ? path : "config",
			  why);
	tl_free(text);
	return rc;
}

enum sess_rcpt trap_rcpts_check(const struct trap_rcpts *r,
				const struct smtp_path *p)
{
	char key[SMTP_DOMAIN_MAX + 1 + SMTP_LOCAL_MAX + 1];
	size_t dl = strlen(p->domain), i;

	/* <postmaster> alone (RFC 5321 4.5.1) is a trap's too. */
	if (dl == 0)
		return strcasecmp(p->local, "postmaster") == 0
			       ? SESS_RCPT_TRAP
			       : SESS_RCPT_RELAY;
	for (i = 0; i < dl; i++)
		key[i] = (char)tolower((unsigned char)p->domain[i]);
	key[dl] = '\0';
	if (!has(r, key))
		return SESS_RCPT_RELAY;
	key[dl] = '\t';
	key[dl + 1] = '\0';
	if (!has(r, key))
		return SESS_RCPT_TRAP; /* catch-all */
	if (strcasecmp(p->local, "postmaster") == 0)
		return SESS_RCPT_TRAP;
	snprintf(key + dl + 1, sizeof(key) - dl - 1, "%s", p->local);
	return has(r, key) ? SESS_RCPT_TRAP : SESS_RCPT_UNKNOWN;
}
