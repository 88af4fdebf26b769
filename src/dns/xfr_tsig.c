/* SPDX-License-Identifier: MIT */
/* xfr_tsig.c -- TSIG (RFC 8945) for zone transfers, NOTIFY and the SOA
 * queries secondaries send before a transfer
 *
 * The keys of [dns] tsig_key, each with its HMAC: SHA-256 (the one RFC
 * 8945 6 recommends), SHA-1 (which it requires implementations to take),
 * SHA-224, SHA-384 or SHA-512. A signed query is checked (MAC and time)
 * against the key it names, in that key's algorithm;
 * every message of the answer is signed (RFC 8945 5.3.1 allows signing
 * only every hundredth; every one is simpler and costs little next to a
 * 16 KiB message). HMAC through OpenSSL's EVP_MAC.
 */
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "be.h"
#include "trapline/config.h"
#include "trapline/err.h"
#include "trapline/log.h"
#include "xfr_int.h"

#define TYPE_TSIG 250
#define CLASS_ANY 255
#define FUDGE 300 /* seconds of clock difference accepted (RFC 8945 10) */

/* The algorithms a key may have (RFC 8945 6); HMAC-MD5 and the
 * truncated variants are not taken. */
static const struct alg {
	const char *wire;   /* its name in wire form (the text after the
			     * length byte is the name in tsig_key) */
	const char *digest; /* OpenSSL's name of the hash */
	size_t mac_len;     /* bytes of the HMAC */
} algs[] = {
	{"\x09hmac-sha1", "SHA1", 20},
	{"\x0bhmac-sha224", "SHA224", 28},
	{"\x0bhmac-sha256", "SHA256", 32},
	{"\x0bhmac-sha384", "SHA384", 48},
	{"\x0bhmac-sha512", "SHA512", 64},
};
#define NALGS (sizeof(algs) / sizeof(algs[0]))
#define ALG_MAX 13 /* the longest name in wire form, root label included */
#define OTHER_MAX 64 /* Other Data taken in a request (bytes) */
/* The TSIG variables (put_tsig_vars) at most: key name, class and TTL,
 * the algorithm (one of ours), time and fudge, error and other length,
 * other data. */
#define TSIG_VARS_MAX (DNS_NAME_MAX + 6 + ALG_MAX + 8 + 4 + OTHER_MAX)

static size_t alg_len(const struct alg *a)
{
	return (size_t)a->wire[0] + 2; /* length byte, name, root label */
}

static void put48(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 5; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

/* Bytes of a TSIG record with these lengths of owner, algorithm, MAC and
 * other data (RFC 8945 4.2). */
#define TSIG_RR_LEN(owner, alg, mac, other) \
	((owner) + 10 + (alg) + 10 + (mac) + 6 + (other))

/* Write at @p a TSIG record (RFC 8945 4.2); returns its length. */
static size_t put_tsig_rr(uint8_t *p, const uint8_t *owner, size_t owner_len,
			  const uint8_t *alg, size_t alg_len, uint64_t when,
			  const uint8_t *mac, size_t mac_len, uint16_t orig_id,
			  uint16_t error, const uint8_t *other, size_t olen)
{
	size_t o = owner_len;

	memcpy(p, owner, owner_len);
	put16(p + o, TYPE_TSIG);
	put16(p + o + 2, CLASS_ANY);
	memset(p + o + 4, 0, 4);
	put16(p + o + 8,
	      (uint16_t)(TSIG_RR_LEN(0, alg_len, mac_len, olen) - 10));
	o += 10;
	memcpy(p + o, alg, alg_len);
	o += alg_len;
	put48(p + o, when);
	put16(p + o + 6, FUDGE);
	put16(p + o + 8, (uint16_t)mac_len);
	o += 10;
	if (mac_len)
		memcpy(p + o, mac, mac_len);
	o += mac_len;
	put16(p + o, orig_id);
	put16(p + o + 2, error);
	put16(p + o + 4, (uint16_t)olen);
	if (olen)
		memcpy(p + o + 6, other, olen);
	return o + 6 + olen;
}

/*
 * Write at @p the TSIG variables a MAC covers after the message (RFC 8945
 * 4.3.3): the key's name, class ANY, TTL 0, the algorithm, Time Signed,
 * Fudge, Error and Other Data; with @timers_only (5.3.1: a message after
 * the first of an answer), Time Signed and Fudge alone. Returns their
 * length.
 */
static size_t put_tsig_vars(uint8_t *p, const uint8_t *key, size_t key_len,
			    const uint8_t *alg, size_t alg_len, uint64_t when,
			    uint16_t fudge, uint16_t error,
			    const uint8_t *other, size_t olen,
			    bool timers_only)
{
	size_t v = 0;

	if (!timers_only) {
		memcpy(p, key, key_len);
		v = key_len;
		put16(p + v, CLASS_ANY);
		memset(p + v + 2, 0, 4); /* TTL */
		v += 6;
		memcpy(p + v, alg, alg_len);
		v += alg_len;
	}
	put48(p + v, when);
	put16(p + v + 6, fudge);
	v += 8;
	if (!timers_only) {
		put16(p + v, error);
		put16(p + v + 2, (uint16_t)olen);
		if (olen)
			memcpy(p + v + 4, other, olen);
		v += 4 + olen;
	}
	return v;
}

int xfr_tsig_key_parse(const char *text, struct xfr_tsig_key *k)
{
	const char *c1 = strchr(text, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	uint8_t raw[sizeof(k->secret) + 4];
	size_t b64, pad = 0;
	int n;

	memset(k, 0, sizeof(*k));
	if (!c2)
		return TL_ESYNTAX;
	for (k->alg = 0; k->alg < NALGS; k->alg++) {
		const char *w = algs[k->alg].wire;

		if ((size_t)(c2 - c1 - 1) == (size_t)w[0] &&
		    strncasecmp(c1 + 1, w + 1, (size_t)w[0]) == 0)
			break;
	}
	if (k->alg == NALGS)
		return TL_ESYNTAX;
	if (dns_name_from_text(text, (size_t)(c1 - text), k->name,
			       &k->name_len) < 0)
		return TL_ESYNTAX;
	b64 = strlen(c2 + 1);
	if (b64 == 0 || b64 % 4 || b64 / 4 * 3 > sizeof(raw))
		return TL_ESYNTAX;
	n = EVP_DecodeBlock(raw, (const unsigned char *)c2 + 1, (int)b64);
	if (n < 0)
		return TL_ESYNTAX;
	if (c2[b64] == '=')
		pad++;
	if (c2[b64 - 1] == '=')
		pad++;
	if ((size_t)n <= pad || (size_t)n - pad > sizeof(k->secret)) {
		OPENSSL_cleanse(raw, sizeof(raw));
		return TL_ESYNTAX;
	}
	k->secret_len = (size_t)n - pad;
	memcpy(k->secret, raw, k->secret_len);
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
}

int xfr_tsig_keys_parse(const char *list, struct xfr_tsig_keys *ks)
{
	const char *p = list, *it;
	size_t l;

	memset(ks, 0, sizeof(*ks));
	while (tl_config_next_item(&p, &it, &l)) {
		char one[512];
		struct xfr_tsig_key *k = &ks->k[ks->n];

		if (ks->n == XFR_TSIG_KEYS_MAX || l >= sizeof(one)) {
			log_error("dns", "[dns] tsig_key: at most %d keys, each "
				  "under %zu characters", XFR_TSIG_KEYS_MAX,
				  sizeof(one));
			return TL_ESYNTAX;
		}
		memcpy(one, it, l);
		one[l] = '\0';
		if (xfr_tsig_key_parse(one, k) < 0) {
			char names[NALGS * (ALG_MAX + 2)];
			size_t o = 0, i;

			OPENSSL_cleanse(one, sizeof(one));
			/* the name follows the length byte, and ends there */
			for (i = 0; i < NALGS; i++)
				o += (size_t)snprintf(names + o, sizeof(names) - o,
						      "%s%s", i ? ", " : "",
						      algs[i].wire + 1);
			log_error("dns", "[dns] tsig_key, key %u: want "
				  "NAME:ALGORITHM:BASE64, ALGORITHM one of %s",
				  ks->n + 1, names);
			return TL_ESYNTAX;
		}
		OPENSSL_cleanse(one, sizeof(one));
		if (xfr_tsig_key_find(ks, k->name, k->name_len)) {
			log_error("dns", "[dns] tsig_key: key %u has the name "
				  "of an earlier one", ks->n + 1);
			return TL_ESYNTAX;
		}
		ks->n++;
	}
	return 0;
}

const struct xfr_tsig_key *xfr_tsig_key_find(const struct xfr_tsig_keys *ks,
					     const uint8_t *name, size_t len)
{
	unsigned i;

	for (i = 0; ks && i < ks->n; i++)
		if (ks->k[i].name_len == len &&
		    memcmp(ks->k[i].name, name, len) == 0)
			return &ks->k[i];
	return NULL;
}

/* @k's HMAC over the pieces @p[i] of @n[i] bytes, into @out (its
 * algorithm's mac_len bytes). */
static int hmac(const struct xfr_tsig_key *k, const uint8_t *const *p,
		const size_t *n, unsigned parts,
		uint8_t out[XFR_TSIG_MAC_MAX])
{
	const struct alg *a = &algs[k->alg];
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM params[2];
	size_t outl = 0;
	unsigned i;
	int ok;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     (char *)a->digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	ok = ctx && EVP_MAC_init(ctx, k->secret, k->secret_len, params);
	for (i = 0; ok && i < parts; i++)
		ok = EVP_MAC_update(ctx, p[i], n[i]);
	ok = ok && EVP_MAC_final(ctx, out, &outl, XFR_TSIG_MAC_MAX) &&
	     outl == a->mac_len;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return ok ? 0 : TL_EINVAL;
}


static bool skip_rr(const uint8_t *pkt, size_t len, size_t *pos)
{
	bool c;

	if (!xfr_name_read(pkt, len, pos, NULL, NULL, &c) || *pos + 10 > len)
		return false;
	*pos += 10u + get16(pkt + *pos + 8);
	return *pos <= len;
}

/* Reads the query (@len untrusted bytes) record by record, each bounded by
 * @len; the TSIG must be the last record, its names uncompressed, its
 * data exactly its RDLENGTH. */
enum xfr_tsig_res xfr_tsig_verify(const struct xfr_tsig_keys *ks,
				  const uint8_t *pkt, size_t len, int64_t now,
				  struct xfr_tsig *t)
{
	const struct xfr_tsig_key *k;
	const struct alg *a;
	uint8_t hdr[DNS_HEADER_SIZE], vars[TSIG_VARS_MAX],
		mac[XFR_TSIG_MAC_MAX];
	size_t pos = DNS_HEADER_SIZE, tsig_off, rd, rdend, macsize, olen, v;
	unsigned qd, total, i;
	bool comp;

	memset(t, 0, sizeof(*t));
	if (len < DNS_HEADER_SIZE)
		return XFR_TSIG_NONE;
	qd = get16(pkt + 4);
	total = (unsigned)get16(pkt + 6) + get16(pkt + 8) + get16(pkt + 10);
	if (!get16(pkt + 10))
		return XFR_TSIG_NONE;
	for (i = 0; i < qd; i++)
		if (!xfr_name_read(pkt, len, &pos, NULL, NULL, &comp) ||
		    (pos += 4) > len)
			return XFR_TSIG_FORMERR;
	for (i = 0; i + 1 < total; i++)
		if (!skip_rr(pkt, len, &pos))
			return XFR_TSIG_FORMERR;
	tsig_off = pos;
	if (!xfr_name_read(pkt, len, &pos, t->rkey, &t->rkey_len, &comp) ||
	    pos + 10 > len || get16(pkt + pos) != TYPE_TSIG)
		return XFR_TSIG_NONE;
	if (comp || get16(pkt + pos + 2) != CLASS_ANY)
		return XFR_TSIG_FORMERR;
	rd = pos + 10;
	rdend = rd + get16(pkt + pos + 8);
	if (rdend != len)
		return XFR_TSIG_FORMERR;
	pos = rd;
	if (!xfr_name_read(pkt, rdend, &pos, t->ralg, &t->ralg_len, &comp) ||
	    comp || pos + 10 > rdend)
		return XFR_TSIG_FORMERR;
	for (i = 0; i < 6; i++)
		t->rtime = t->rtime << 8 | pkt[pos + i];
	t->fudge = get16(pkt + pos + 6);
	macsize = get16(pkt + pos + 8);
	pos += 10;
	if (pos + macsize + 6 > rdend)
		return XFR_TSIG_FORMERR;
	t->orig_id = get16(pkt + pos + macsize);
	olen = get16(pkt + pos + macsize + 4);
	if (pos + macsize + 6 + olen != rdend || olen > OTHER_MAX)
		return XFR_TSIG_FORMERR;
	k = xfr_tsig_key_find(ks, t->rkey, t->rkey_len);
	a = k ? &algs[k->alg] : NULL;
	if (!k || t->ralg_len != alg_len(a) ||
	    memcmp(t->ralg, a->wire, alg_len(a)) != 0)
		return XFR_TSIG_BADKEY;
	t->key = k;
	/* RFC 8945 5.2.2.1: longer than the HMAC, or shorter than half of
	 * it or than 10 bytes, is malformed. A MAC truncated no further is
	 * checked (as far as it goes) and the time too, before it is
	 * refused as shorter than we take (5.2: key, MAC, time, then
	 * truncation). */
	if (macsize > a->mac_len || macsize < a->mac_len / 2 || macsize < 10)
		return XFR_TSIG_FORMERR;
	/* RFC 8945 4.3.3: the message without its TSIG, the original ID,
	 * ARCOUNT one less; then the TSIG variables. */
	memcpy(hdr, pkt, DNS_HEADER_SIZE);
	put16(hdr, t->orig_id);
	put16(hdr + 10, (uint16_t)(get16(pkt + 10) - 1));
	/* The algorithm is one of ours (checked above): the variables fit
	 * TSIG_VARS_MAX. */
	v = put_tsig_vars(vars, t->rkey, t->rkey_len, t->ralg, t->ralg_len,
			  t->rtime, t->fudge, get16(pkt + pos + macsize + 2),
			  pkt + pos + macsize + 6, olen, false);
	{
		const uint8_t *p[3] = {hdr, pkt + DNS_HEADER_SIZE, vars};
		size_t n[3] = {DNS_HEADER_SIZE, tsig_off - DNS_HEADER_SIZE, v};

		if (hmac(k, p, n, 3, mac) < 0 ||
		    CRYPTO_memcmp(mac, pkt + pos, macsize) != 0)
			return XFR_TSIG_BADSIG;
	}
	/* The MAC checks: the answer is signed, even a BADTIME or BADTRUNC
	 * one, over the request's MAC as it came. */
	memcpy(t->mac, pkt + pos, macsize);
	t->mac_len = macsize;
	if ((int64_t)t->rtime > now + t->fudge ||
	    (int64_t)t->rtime < now - (int64_t)t->fudge)
		return XFR_TSIG_BADTIME;
	if (macsize < a->mac_len)
		return XFR_TSIG_BADTRUNC;
	return XFR_TSIG_OK;
}

/* Sign @msg as the next message of @t with TSIG error @error, Time Signed
 * @when and, when @other, six bytes of other data: the time @now (the
 * BADTIME answer, RFC 8945 5.2.3). */
static int sign(const struct xfr_tsig_key *k, struct xfr_tsig *t,
		uint8_t *msg, size_t *len, size_t max, uint16_t error,
		uint64_t when, bool other, int64_t now)
{
	const struct alg *a = &algs[k->alg];
	uint8_t vars[TSIG_VARS_MAX], prior[2], mac[XFR_TSIG_MAC_MAX], od[6];
	size_t olen = other ? 6 : 0,
	       need = TSIG_RR_LEN(k->name_len, alg_len(a), a->mac_len, olen),
	       v;
	const uint8_t *p[4];
	size_t n[4];
	unsigned parts = 0;

	if (*len < DNS_HEADER_SIZE || *len + need > max)
		return TL_ENOSPC;
	put48(od, (uint64_t)now);
	if (t->mac_len) { /* an answer: the request's or prior MAC first */
		put16(prior, (uint16_t)t->mac_len);
		p[parts] = prior;
		n[parts++] = 2;
		p[parts] = t->mac;
		n[parts++] = t->mac_len;
	}
	p[parts] = msg;
	n[parts++] = *len;
	/* RFC 8945 5.3.1: messages after the first of an answer cover the
	 * prior MAC, the message and the timers only. */
	v = put_tsig_vars(vars, k->name, k->name_len, (const uint8_t *)a->wire,
			  alg_len(a), when, FUDGE, error, od, olen,
			  t->signed_one);
	p[parts] = vars;
	n[parts++] = v;
	if (hmac(k, p, n, parts, mac) < 0)
		return TL_EINVAL;
	/* the original ID is the message's */
	*len += put_tsig_rr(msg + *len, k->name, k->name_len,
			    (const uint8_t *)a->wire, alg_len(a), when, mac,
			    a->mac_len, get16(msg), error, od, olen);
	put16(msg + 10, (uint16_t)(get16(msg + 10) + 1));
	memcpy(t->mac, mac, a->mac_len);
	t->mac_len = a->mac_len;
	t->signed_one = true;
	return 0;
}

/* The length of @msg's header and question (one at most), or 0 when
 * they are not whole in its @len bytes. */
static size_t question_end(const uint8_t *msg, size_t len)
{
	size_t q = DNS_HEADER_SIZE;
	bool comp;

	if (len < DNS_HEADER_SIZE || get16(msg + 4) > 1)
		return 0;
	if (get16(msg + 4) == 1 &&
	    (!xfr_name_read(msg, len, &q, NULL, NULL, &comp) ||
	     (q += 4) > len))
		return 0;
	return q;
}

/* Cut @msg to its header and question (@q bytes: question_end), with no
 * records, RCODE @rcode and TC as @tc; returns its new length. */
static size_t cut_to_question(uint8_t *msg, size_t q, unsigned rcode,
			      bool tc)
{
	msg[2] = (uint8_t)(tc ? msg[2] | 0x02 : msg[2] & ~0x02);
	msg[3] = (uint8_t)((msg[3] & 0xf0) | rcode);
	memset(msg + 6, 0, 6);
	return q;
}

int xfr_tsig_sign(const struct xfr_tsig_key *k, struct xfr_tsig *t,
		  uint8_t *msg, size_t *len, size_t max, int64_t now)
{
	return sign(k, t, msg, len, max, 0, (uint64_t)now, false, now);
}

int xfr_tsig_error(enum xfr_tsig_res res, struct xfr_tsig *t, uint8_t *msg,
		   size_t *len, size_t max, int64_t now)
{
	const struct xfr_tsig_key *k = t->key;
	const struct alg *a = k ? &algs[k->alg] : NULL;
	size_t q = question_end(msg, *len), need;
	bool sig = res == XFR_TSIG_BADTIME || res == XFR_TSIG_BADTRUNC;

	if (res == XFR_TSIG_NONE || res == XFR_TSIG_OK || (sig && !k) || !q)
		return TL_EINVAL;
	need = res == XFR_TSIG_FORMERR ? 0
	       : sig ? TSIG_RR_LEN(k->name_len, alg_len(a), a->mac_len,
				   res == XFR_TSIG_BADTIME ? 6 : 0)
		     : TSIG_RR_LEN(t->rkey_len, t->ralg_len, 0, 0);
	if (q + need > max)
		return TL_ENOSPC;
	*len = cut_to_question(msg, q,
			       res == XFR_TSIG_FORMERR ? DNS_RCODE_FORMERR
						       : DNS_RCODE_NOTAUTH,
			       false);
	if (res == XFR_TSIG_FORMERR)
		return 0;
	/* RFC 8945 5.3.2: an error of time or of truncation is signed
	 * (BADTIME with the request's time, and ours in the other data); */
	if (res == XFR_TSIG_BADTIME)
		return sign(k, t, msg, len, max, XFR_TSIG_BADTIME, t->rtime,
			    true, now);
	if (res == XFR_TSIG_BADTRUNC)
		return sign(k, t, msg, len, max, XFR_TSIG_BADTRUNC,
			    (uint64_t)now, false, now);
	/* one of key or MAC (BADKEY, BADSIG) is not: MAC size 0, naming
	 * the key and algorithm the request named. */
	*len = q + put_tsig_rr(msg + q, t->rkey, t->rkey_len, t->ralg,
			       t->ralg_len, (uint64_t)now, NULL, 0, t->orig_id,
			       (uint16_t)res, NULL, 0);
	put16(msg + 10, 1);
	return 0;
}

size_t xfr_tsig_answer(const struct xfr_tsig_keys *ks, const uint8_t *q,
		       size_t qlen, uint8_t *out, size_t n, size_t max)
{
	struct xfr_tsig t;
	int64_t now = time(NULL);
	enum xfr_tsig_res r = xfr_tsig_verify(ks, q, qlen, now, &t);
	size_t qe;

	if (r == XFR_TSIG_OK &&
	    xfr_tsig_sign(t.key, &t, out, &n, max, now) == TL_ENOSPC &&
	    (qe = question_end(out, n)) != 0) {
		/* RFC 8945 5.3: an answer its TSIG does not fit beside goes
		 * as the question alone, TC set, NOERROR, and signed; the
		 * client asks again over TCP. */
		n = cut_to_question(out, qe, DNS_RCODE_NOERROR, true);
		xfr_tsig_sign(t.key, &t, out, &n, max, now);
	} else if (r != XFR_TSIG_NONE && r != XFR_TSIG_OK) {
		xfr_tsig_error(r, &t, out, &n, max, now);
	}
	return n;
}
