/* SPDX-License-Identifier: MIT */
/* classify.c -- the message classifier: MIME walk, decoding, malware
 * marks and content rules
 *
 * Cost is linear in the message: every boundary search continues from
 * where the last one stopped (memmem on "\n--boundary"), nesting and leaf
 * parts are bounded (TL_MIME_DEPTH_MAX, TL_MIME_PARTS_MAX), archives are
 * walked once plus at most ZIP_INNER_MAX stored inner archives, and the
 * text matched by rules is bounded by TL_RULES_TEXT_MAX. One allocation
 * per message holds the decode scratch and the body text.
 *
 * What counts as malware (and what does not):
 * - a leaf whose decoded bytes start with an executable magic: PE "MZ"
 *   (an inline text part, which may start with "MZ" by chance, needs the
 *   "PE\0\0" its e_lfanew points at), ELF "\x7fELF", Mach-O (thin 32/64
 *   bit either byte order, and fat "\xca\xfe\xba\xbe" with a small arch
 *   count, which tells it from a Java class file), or, for a named
 *   attachment, a "#!/" script;
 * - a leaf whose file name (Content-Disposition filename, Content-Type
 *   name, RFC 2231 and RFC 2047 forms decoded) ends in an executable
 *   extension: .exe .scr .com .pif .bat .cmd .vbs .vbe .js .jse .wsf .wsh
 *   .hta .jar .msi .lnk .ps1 .cpl, and the disk images .iso .img .vhd
 *   .vhdx, which carry executables past Windows' mark of the web and
 *   which nobody mails a spam trap in good faith. Trailing dots and
 *   blanks are dropped first, as Windows does. Office documents with
 *   macros are not flagged: that needs an OLE/OOXML parser;
 * - a ZIP ("PK\3\4") whose central directory or local headers name such
 *   a file, or whose stored (method 0) entry starts with an executable
 *   magic; a stored ZIP inside a ZIP is walked the same way (one level).
 *   Deflated entries are not inflated, so a deflated inner archive is
 *   judged by its entries' names in the outer one only. RAR, 7z and other
 *   archives are not flagged: only what can be seen is.
 * A message/rfc822 part sent base64 or quoted-printable (against RFC 2046
 * 5.2.1) is treated as a leaf, not walked.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "tl_limits.h"
#include "mail.h"
#include "rules_int.h"
#include "trapline/alloc.h"

/* Local bounds: a boundary (bytes; RFC 2046 5.1.1 allows 70), a media
 * type (bytes), a file name (bytes, as most file systems), the Subject
 * and From texts matched by rules (bytes), stored archives examined
 * inside one archive (count). */
#define BOUNDARY_MAX 200
#define TYPE_MAX 64
#define FNAME_MAX 256
#define HTEXT_MAX 1024
#define ZIP_INNER_MAX 8
/* Shown of a file name in verdict.why (bytes). */
#define WHY_NAME_MAX 40

enum cte { CTE_IDENTITY, CTE_BASE64, CTE_QP };

/* The headers of one MIME entity that the walk needs. */
struct entity {
	char type[TYPE_MAX];         /* "text/plain", lower case */
	char boundary[BOUNDARY_MAX]; /* multipart only, "" = none */
	size_t blen;                 /* bytes in boundary */
	char name[FNAME_MAX];        /* file name, decoded, "" = none */
	enum cte cte;
	bool attachment; /* Content-Disposition: attachment */
};

struct walk {
	const struct mail_rules *rules;
	struct mail_verdict *v;
	unsigned want;       /* MAIL_WHERE_* texts to build */
	char *text;          /* body text for rules, tlen used of tcap */
	size_t tlen, tcap;   /* tcap counts the NUL; 0 = no body text */
	char *scratch;       /* decode buffer of scap bytes, or NULL */
	size_t scap;
	bool stop;           /* TL_MIME_PARTS_MAX leaves seen */
	const char *subj;    /* top-level Subject, raw (not NUL-ended) */
	size_t subjlen;
	const char *from;    /* top-level From, raw */
	size_t fromlen;
};

/* ---- decoders ---------------------------------------------------------- */

static const unsigned char b64[256] = {
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,  62, 255,  62, 255,  63,
	 52,  53,  54,  55,  56,  57,  58,  59,  60,  61, 255, 255, 255, 255, 255, 255,
	255,   0,   1,   2,   3,   4,   5,   6,   7,   8,   9,  10,  11,  12,  13,  14,
	 15,  16,  17,  18,  19,  20,  21,  22,  23,  24,  25, 255, 255, 255, 255,  63,
	255,  26,  27,  28,  29,  30,  31,  32,  33,  34,  35,  36,  37,  38,  39,  40,
	 41,  42,  43,  44,  45,  46,  47,  48,  49,  50,  51, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
	255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
};

/*
 * Base64 (RFC 2045 6.8) of @n bytes into @out (@cap bytes). Bytes outside
 * the alphabet (line ends, blanks, garbage) are skipped, as RFC 2045 tells
 * a decoder to; "=" ends a quantum, so concatenated encodings decode too.
 * Returns the bytes written (at most @cap).
 */
static size_t base64_decode(const char *in, size_t n, char *out, size_t cap)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t i, o = 0;

	for (i = 0; i < n && o < cap; i++) {
		unsigned char d = b64[(unsigned char)in[i]];

		if (d == 255) {
			if (in[i] == '=') {
				acc = 0;
				bits = 0;
			}
			continue;
		}
		acc = (acc << 6) | d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	return o;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Quoted-printable (RFC 2045 6.7) of @n bytes into @out (@cap bytes):
 * "=XX" is a byte, "=" before blanks and a line end is a soft break, any
 * other "=" is kept. With @q (RFC 2047 4.2 "Q"), "_" is a space.
 */
static size_t qp_decode(const char *in, size_t n, char *out, size_t cap,
			bool q)
{
	size_t i = 0, o = 0;

	while (i < n && o < cap) {
		char c = in[i];

		if (c == '=') {
			size_t j = i + 1;
			int h, l;

			if (j + 1 < n && (h = hexval(in[j])) >= 0 &&
			    (l = hexval(in[j + 1])) >= 0) {
				out[o++] = (char)(h << 4 | l);
				i += 3;
				continue;
			}
			while (j < n && (in[j] == ' ' || in[j] == '\t'))
				j++;
			if (j < n && in[j] == '\r')
				j++;
			if (j < n && in[j] == '\n') {
				i = j + 1; /* soft line break */
				continue;
			}
			if (j == n) {
				i = j; /* a soft break at the very end */
				continue;
			}
		}
		out[o++] = (q && c == '_') ? ' ' : c;
		i++;
	}
	return o;
}

/*
 * RFC 2047 encoded-words in @in (@n bytes) decoded into @out (@cap bytes,
 * NUL-ended): "=?charset?B|Q?text?=" becomes its bytes (no charset
 * conversion: UTF-8 and Latin-1 letters stay as they are, and ASCII is
 * what rules look for); blanks between two encoded-words are dropped
 * (6.2). A malformed word is copied as it is. The encoded text is bounded
 * (RFC 2047 2: a word is at most 75 bytes; we allow more), so a failed
 * word costs a bounded scan.
 */
static size_t decode_words(const char *in, size_t n, char *out, size_t cap)
{
	size_t i = 0, o = 0, ws = 0;
	bool after_word = false;

	if (cap == 0)
		return 0;
	cap--; /* the NUL */
	while (i < n && o < cap) {
		if (in[i] == '=' && i + 1 < n && in[i + 1] == '?') {
			size_t cs = i + 2, j = cs, t, e;
			char enc;

			while (j < n && j - cs < 64 && in[j] != '?' &&
			       in[j] != ' ')
				j++;
			if (j + 3 < n && in[j] == '?' && j > cs &&
			    in[j + 2] == '?') {
				enc = in[j + 1];
				t = j + 3;
				e = t;
				while (e < n && e - t < 512 && in[e] != '?')
					e++;
				if (e + 1 < n && in[e] == '?' &&
				    in[e + 1] == '=' &&
				    (enc == 'B' || enc == 'b' || enc == 'Q' ||
				     enc == 'q')) {
					if (after_word)
						o = ws;
					if (enc == 'B' || enc == 'b')
						o += base64_decode(in + t, e - t,
								   out + o,
								   cap - o);
					else
						o += qp_decode(in + t, e - t,
							       out + o, cap - o,
							       true);
					i = e + 2;
					after_word = true;
					ws = o;
					continue;
				}
			}
		}
		if (in[i] != ' ' && in[i] != '\t')
			after_word = false;
		out[o++] = in[i++];
	}
	out[o] = '\0';
	return o;
}

/* ---- header fields ----------------------------------------------------- */

static bool is_tspecial_end(char c)
{
	return c == ';' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Skip blanks, line breaks and (possibly nested) RFC 5322 comments. */
static size_t skip_cfws(const char *v, size_t n, size_t i)
{
	unsigned depth = 0;

	while (i < n) {
		char c = v[i];

		if (depth) {
			if (c == '\\')
				i++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
		} else if (c == '(') {
			depth = 1;
		} else if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
			break;
		}
		i++;
	}
	return i < n ? i : n;
}

/* The first token of a field value (a media type, a disposition or an
 * encoding) lower-cased into @out (@cap bytes, NUL-ended). Returns where
 * the parameters start. */
static size_t first_token(const char *v, size_t n, char *out, size_t cap)
{
	size_t i = skip_cfws(v, n, 0), o = 0;

	while (i < n && !is_tspecial_end(v[i]) && v[i] != '(') {
		char c = v[i++];

		if (o + 1 < cap)
			out[o++] = (char)((c >= 'A' && c <= 'Z') ? c - 'A' + 'a'
								  : c);
	}
	out[o] = '\0';
	return i;
}

/* Append @c to @out (@o used of @cap, room kept for the NUL). */
static void put(char *out, size_t cap, size_t *o, char c)
{
	if (*o + 1 < cap)
		out[(*o)++] = c;
}

/*
 * Find parameter @want (RFC 2045 5.1) in @v from @i: its value, unquoted,
 * into @out (@cap bytes, NUL-ended). RFC 2231 forms are understood
 * simply: "want*=charset'lang'%XX..." and the sections "want*0",
 * "want*1*"... concatenated in the order they appear; they win over a
 * plain "want=". Returns true when found.
 */
static bool get_param(const char *v, size_t n, size_t i, const char *want,
		      char *out, size_t cap)
{
	size_t wl = strlen(want), o = 0, o2 = 0;
	char ext[FNAME_MAX];
	bool plain = false, extended = false;

	out[0] = '\0';
	while (i < n) {
		size_t a, al, vs, ve;
		bool quoted = false, star = false, first = true;

		i = skip_cfws(v, n, i);
		if (i < n && v[i] == ';') {
			i++;
			continue;
		}
		a = i;
		while (i < n && v[i] != '=' && v[i] != ';' &&
		       !is_tspecial_end(v[i]))
			i++;
		al = i - a;
		i = skip_cfws(v, n, i);
		if (i >= n || v[i] != '=') {
			/* Not a parameter: skip to the next ';'. */
			while (i < n && v[i] != ';')
				i++;
			continue;
		}
		i = skip_cfws(v, n, i + 1);
		if (i < n && v[i] == '"') {
			quoted = true;
			vs = ++i;
			while (i < n && v[i] != '"') {
				if (v[i] == '\\' && i + 1 < n)
					i++;
				i++;
			}
			ve = i;
			if (i < n)
				i++;
		} else {
			vs = i;
			while (i < n && !is_tspecial_end(v[i]))
				i++;
			ve = i;
		}
		if (al < wl || strncasecmp(v + a, want, wl) != 0)
			continue;
		if (al == wl) {
			size_t k;

			if (plain)
				continue;
			plain = true;
			for (k = vs; k < ve; k++) {
				if (quoted && v[k] == '\\' && k + 1 < ve)
					k++;
				put(out, cap, &o, v[k]);
			}
			out[o] = '\0';
			continue;
		}
		if (v[a + wl] != '*')
			continue;
		/* want*, want*N, want*N*: which section, and encoded? */
		{
			size_t k = a + wl + 1;

			if (k < a + al && v[k] >= '0' && v[k] <= '9') {
				first = v[k] == '0' && (k + 1 == a + al ||
							v[k + 1] == '*');
				while (k < a + al && v[k] >= '0' &&
				       v[k] <= '9')
					k++;
				star = k < a + al && v[k] == '*';
				if (star)
					k++;
			} else {
				star = true;
			}
			if (k != a + al)
				continue;
		}
		extended = true;
		if (star && first) {
			/* charset'language'text: skip the first two. */
			size_t k = vs, q = 0;

			while (k < ve && q < 2)
				if (v[k++] == '\'')
					q++;
			if (q == 2)
				vs = k;
		}
		while (vs < ve) {
			int h, l;

			if (star && v[vs] == '%' && vs + 2 < ve &&
			    (h = hexval(v[vs + 1])) >= 0 &&
			    (l = hexval(v[vs + 2])) >= 0) {
				put(ext, sizeof(ext), &o2, (char)(h << 4 | l));
				vs += 3;
				continue;
			}
			put(ext, sizeof(ext), &o2, v[vs++]);
		}
	}
	if (extended && o2 > 0) {
		if (o2 >= cap)
			o2 = cap - 1;
		memcpy(out, ext, o2);
		out[o2] = '\0';
		return true;
	}
	return plain;
}

/* A file name as a MUA shows it: encoded-words decoded (RFC 2047 5 does
 * not allow them in a parameter, but mailers write them there). */
static void set_name(struct entity *e, const char *raw)
{
	if (e->name[0] || !raw[0])
		return;
	decode_words(raw, strlen(raw), e->name, sizeof(e->name));
}

/*
 * Read the header section of an entity at @p (@n bytes) into @e; at the
 * top level (@w->subj unset and @top) note Subject and From. Returns where
 * the body starts. Reads within [p, p + n) only.
 */
static size_t parse_entity(struct walk *w, const char *p, size_t n,
			   bool digest, bool top, struct entity *e)
{
	struct mail_hdr_iter it;
	const char *name, *val;
	size_t nl, vl, i, o;
	char tmp[FNAME_MAX];

	memset(e, 0, sizeof(*e));
	strcpy(e->type, digest ? "message/rfc822" : "text/plain");
	mail_hdr_begin(&it, p, n);
	while (mail_hdr_next(&it, &name, &nl, &val, &vl)) {
		if (mail_hdr_is(name, nl, "Content-Type")) {
			char type[TYPE_MAX];

			i = first_token(val, vl, type, sizeof(type));
			/* RFC 2045 5.2: no "type/subtype", the default. */
			if (strchr(type, '/'))
				memcpy(e->type, type, sizeof(type));
			if (strncmp(e->type, "multipart/", 10) == 0 &&
			    get_param(val, vl, i, "boundary", e->boundary,
				      sizeof(e->boundary)))
				e->blen = strlen(e->boundary);
			if (get_param(val, vl, i, "name", tmp, sizeof(tmp)))
				set_name(e, tmp);
		} else if (mail_hdr_is(name, nl, "Content-Disposition")) {
			char disp[16];

			i = first_token(val, vl, disp, sizeof(disp));
			e->attachment = strcmp(disp, "attachment") == 0;
			if (get_param(val, vl, i, "filename", tmp,
				      sizeof(tmp))) {
				/* filename= wins over Content-Type name=. */
				e->name[0] = '\0';
				set_name(e, tmp);
			}
		} else if (mail_hdr_is(name, nl,
				       "Content-Transfer-Encoding")) {
			char enc[24];

			first_token(val, vl, enc, sizeof(enc));
			if (strcmp(enc, "base64") == 0)
				e->cte = CTE_BASE64;
			else if (strcmp(enc, "quoted-printable") == 0)
				e->cte = CTE_QP;
		} else if (top && !w->subj && mail_hdr_is(name, nl, "Subject")) {
			w->subj = val;
			w->subjlen = vl;
		} else if (top && !w->from && mail_hdr_is(name, nl, "From")) {
			w->from = val;
			w->fromlen = vl;
		}
	}
	/* The body starts after the blank line that ended the header. */
	o = (size_t)(it.p - p);
	if (o + 1 < n && p[o] == '\r' && p[o + 1] == '\n')
		return o + 2;
	if (o < n && p[o] == '\n')
		return o + 1;
	return o;
}

/* ---- malware ----------------------------------------------------------- */

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint16_t le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/*
 * The kind of executable @d (@n bytes) starts with, or NULL. With
 * @strict (inline text that may start with "MZ" by chance) a PE needs the
 * "PE\0\0" that e_lfanew (offset 0x3c) points at; scripts count only when
 * not strict.
 */
static const char *exe_magic(const unsigned char *d, size_t n, bool strict)
{
	if (n >= 2 && d[0] == 'M' && d[1] == 'Z') {
		if (n >= 0x40) {
			uint32_t pe = le32(d + 0x3c);

			if (pe <= n - 4 && memcmp(d + pe, "PE\0\0", 4) == 0)
				return "PE";
		}
		return strict ? NULL : "MZ";
	}
	if (n >= 4 && memcmp(d, "\x7f" "ELF", 4) == 0)
		return "ELF";
	if (n >= 4 && (memcmp(d, "\xfe\xed\xfa\xce", 4) == 0 ||
		       memcmp(d, "\xfe\xed\xfa\xcf", 4) == 0 ||
		       memcmp(d, "\xce\xfa\xed\xfe", 4) == 0 ||
		       memcmp(d, "\xcf\xfa\xed\xfe", 4) == 0))
		return "Mach-O";
	/* Fat Mach-O shares its magic with Java classes, whose next word
	 * (the class file version) is at least 45. */
	if (n >= 8 && memcmp(d, "\xca\xfe\xba\xbe", 4) == 0 &&
	    d[4] == 0 && d[5] == 0 && d[6] == 0 && d[7] > 0 && d[7] < 20)
		return "Mach-O";
	if (!strict && n >= 3 && d[0] == '#' && d[1] == '!' && d[2] == '/')
		return "script";
	return NULL;
}

/* Does the name (@n bytes) end in an executable extension (the list at the
 * top of this file)? Trailing dots and blanks are dropped, as Windows does
 * when it opens the file. */
static bool is_exe_name(const char *s, size_t n)
{
	static const char *const ext[] = {
		"exe", "scr", "com", "pif", "bat", "cmd", "vbs", "vbe",
		"js",  "jse", "wsf", "wsh", "hta", "jar", "msi", "lnk",
		"ps1", "cpl", "iso", "img", "vhd", "vhdx",
	};
	size_t i, dot;

	while (n > 0 && (s[n - 1] == '.' || s[n - 1] == ' '))
		n--;
	for (dot = n; dot > 0 && n - dot < 6; dot--)
		if (s[dot - 1] == '.')
			break;
	if (dot == 0 || s[dot - 1] != '.' || dot == n)
		return false;
	for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++)
		if (strlen(ext[i]) == n - dot &&
		    strncasecmp(ext[i], s + dot, n - dot) == 0)
			return true;
	return false;
}

/* A name shown in verdict.why: printable ASCII, others as '?', long names
 * cut in the middle so the extension stays visible. */
static void show_name(char *out, size_t cap, const char *s, size_t n)
{
	size_t i, o = 0, head = n, tail = 0;

	if (n > WHY_NAME_MAX) {
		head = WHY_NAME_MAX / 2 - 2;
		tail = WHY_NAME_MAX - head - 3;
	}
	for (i = 0; i < n && o + 1 < cap; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i == head && tail) {
			for (int k = 0; k < 3 && o + 1 < cap; k++)
				out[o++] = '.';
			i = n - tail - 1;
			continue;
		}
		out[o++] = (char)((c >= 32 && c < 127) ? c : '?');
	}
	out[o] = '\0';
}

/* What a ZIP walk found: the entry's name and how it gave itself away. */
struct zip_find {
	const char *name; /* into the archive */
	size_t nlen;
	const char *kind; /* "name", "PE", ..., "zip" for an inner hit */
	unsigned inner;   /* stored archives examined so far */
};

static bool zip_scan(const unsigned char *z, size_t n, unsigned level,
		     struct zip_find *f);

/* One entry: its name and, when stored, its bytes @d (@dn bytes). */
static bool zip_entry(const unsigned char *name, size_t nlen,
		      const unsigned char *d, size_t dn, bool stored,
		      unsigned level, struct zip_find *f)
{
	const char *k = NULL;

	if (is_exe_name((const char *)name, nlen))
		k = "name";
	else if (stored)
		k = exe_magic(d, dn, false);
	if (k) {
		f->name = (const char *)name;
		f->nlen = nlen;
		f->kind = k;
		return true;
	}
	if (stored && level == 0 && dn >= 4 && memcmp(d, "PK\3\4", 4) == 0 &&
	    f->inner < ZIP_INNER_MAX) {
		f->inner++;
		return zip_scan(d, dn, level + 1, f);
	}
	return false;
}

/*
 * Walk a ZIP archive @z (@n bytes, hostile) for executables: the central
 * directory found from the end-of-central-directory record (searched in
 * the last 64 KiB + 22 bytes), then the local headers from the start (a
 * truncated or forged archive may have only those). Every offset and
 * length is checked against @n before use; each step moves forward by at
 * least one header, so the walk is linear. ZIP64 sizes are not read: an
 * entry's data is cut at the end of the archive.
 */
static bool zip_scan(const unsigned char *z, size_t n, unsigned level,
		     struct zip_find *f)
{
	size_t p, e, stop;

	/* Central directory (APPNOTE 4.3.12, 4.3.16). */
	if (n >= 22) {
		bool found = false;

		stop = n - 22 > 65535 ? n - 22 - 65535 : 0;
		for (e = n - 22;; e--) {
			if (memcmp(z + e, "PK\5\6", 4) == 0) {
				found = true;
				break;
			}
			if (e == stop)
				break;
		}
		if (found) {
			size_t cdsize = le32(z + e + 12), cdoff = le32(z + e + 16);
			size_t cdend;

			if (cdoff > e)
				cdoff = e;
			cdend = cdsize < e - cdoff ? cdoff + cdsize : e;
			for (p = cdoff; p + 46 <= cdend &&
					memcmp(z + p, "PK\1\2", 4) == 0;) {
				size_t nlen = le16(z + p + 28);
				size_t skip = 46 + nlen + le16(z + p + 30) +
					      le16(z + p + 32);
				size_t csize = le32(z + p + 20);
				size_t lho = le32(z + p + 42);
				bool stored = le16(z + p + 10) == 0;
				const unsigned char *d = NULL;
				size_t dn = 0;

				if (nlen > cdend - p - 46)
					break;
				if (stored && n >= 30 && lho <= n - 30 &&
				    memcmp(z + lho, "PK\3\4", 4) == 0) {
					size_t ds = lho + 30 + le16(z + lho + 26) +
						    le16(z + lho + 28);

					if (ds <= n) {
						d = z + ds;
						dn = csize < n - ds ? csize
								    : n - ds;
					}
				}
				if (zip_entry(z + p + 46, nlen, d, dn, d != NULL,
					      level, f))
					return true;
				if (skip > cdend - p)
					break;
				p += skip;
			}
		}
	}
	/* Local file headers (APPNOTE 4.3.7). */
	for (p = 0; n >= 30 && p <= n - 30 &&
		    memcmp(z + p, "PK\3\4", 4) == 0;) {
		uint16_t flags = le16(z + p + 6);
		bool stored = le16(z + p + 8) == 0;
		size_t csize = le32(z + p + 18);
		size_t nlen = le16(z + p + 26), xlen = le16(z + p + 28);
		size_t ds = p + 30 + nlen + xlen, dn;

		if (p + 30 + nlen > n)
			break;
		dn = ds <= n ? (csize < n - ds ? csize : n - ds) : 0;
		if (zip_entry(z + p + 30, nlen, ds <= n ? z + ds : z, dn,
			      stored && ds <= n, level, f))
			return true;
		/* Sizes in a data descriptor (bit 3): the next header is
		 * not found from here; the central directory had them. */
		if (ds > n || ((flags & 8) && csize == 0) || csize > n - ds)
			break;
		p = ds + csize;
	}
	return false;
}

static void flag(struct walk *w, const char *name, size_t flen,
		 const char *inner, size_t ilen, const char *kind)
{
	char a[WHY_NAME_MAX + 8], b[WHY_NAME_MAX + 8];

	w->v->malware = true;
	if (flen)
		show_name(a, sizeof(a), name, flen);
	else
		snprintf(a, sizeof(a), "part %u", w->v->parts);
	if (inner) {
		show_name(b, sizeof(b), inner, ilen);
		snprintf(w->v->why, sizeof(w->v->why),
			 "attachment %s holds %s (%s)", a, b, kind);
	} else {
		snprintf(w->v->why, sizeof(w->v->why), "attachment %s (%s)", a,
			 kind);
	}
}

/* Judge one leaf (@d, @n decoded bytes) by its magic, its name, and what
 * a ZIP in it holds. The first finding of a message is kept. */
static void check_leaf(struct walk *w, const struct entity *e, bool text,
		       const unsigned char *d, size_t n)
{
	size_t nlen = strlen(e->name);
	struct zip_find zf = {0};
	const char *k;

	if (w->v->malware)
		return;
	k = exe_magic(d, n, text && !nlen && !e->attachment);
	if (k) {
		flag(w, e->name, nlen, NULL, 0, k);
		return;
	}
	if (nlen && is_exe_name(e->name, nlen)) {
		flag(w, e->name, nlen, NULL, 0, "name");
		return;
	}
	if (n >= 4 && memcmp(d, "PK\3\4", 4) == 0 && zip_scan(d, n, 0, &zf))
		flag(w, e->name, nlen, zf.name, zf.nlen, zf.kind);
}

/* ---- text for rules ---------------------------------------------------- */

/* Bytes as the body text holds them: ASCII letters in lower case (as
 * rules_int.h wants), controls and blanks as ' ' (runs of them are one
 * space, so a phrase wrapped over lines still matches). */
static const unsigned char text_map[256] = {
	 32,  32,  32,  32,  32,  32,  32,  32,  32,  32,  32,  32,
	 32,  32,  32,  32,  32,  32,  32,  32,  32,  32,  32,  32,
	 32,  32,  32,  32,  32,  32,  32,  32,  32,  33,  34,  35,
	 36,  37,  38,  39,  40,  41,  42,  43,  44,  45,  46,  47,
	 48,  49,  50,  51,  52,  53,  54,  55,  56,  57,  58,  59,
	 60,  61,  62,  63,  64,  97,  98,  99, 100, 101, 102, 103,
	104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115,
	116, 117, 118, 119, 120, 121, 122,  91,  92,  93,  94,  95,
	 96,  97,  98,  99, 100, 101, 102, 103, 104, 105, 106, 107,
	108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119,
	120, 121, 122, 123, 124, 125, 126,  32, 128, 129, 130, 131,
	132, 133, 134, 135, 136, 137, 138, 139, 140, 141, 142, 143,
	144, 145, 146, 147, 148, 149, 150, 151, 152, 153, 154, 155,
	156, 157, 158, 159, 160, 161, 162, 163, 164, 165, 166, 167,
	168, 169, 170, 171, 172, 173, 174, 175, 176, 177, 178, 179,
	180, 181, 182, 183, 184, 185, 186, 187, 188, 189, 190, 191,
	192, 193, 194, 195, 196, 197, 198, 199, 200, 201, 202, 203,
	204, 205, 206, 207, 208, 209, 210, 211, 212, 213, 214, 215,
	216, 217, 218, 219, 220, 221, 222, 223, 224, 225, 226, 227,
	228, 229, 230, 231, 232, 233, 234, 235, 236, 237, 238, 239,
	240, 241, 242, 243, 244, 245, 246, 247, 248, 249, 250, 251,
	252, 253, 254, 255,
};

static void text_put(struct walk *w, char c)
{
	unsigned char m = text_map[(unsigned char)c];

	if (m == ' ' && (w->tlen == 0 || w->text[w->tlen - 1] == ' '))
		return;
	if (w->tlen + 1 < w->tcap)
		w->text[w->tlen++] = (char)m;
}

/* An HTML character reference at @s (@n bytes, after '&'): its byte into
 * *@c and its length (to the ';'), or 0. Only what spam uses to break up
 * words: numeric references below 256 and a few names. */
static size_t html_entity(const char *s, size_t n, char *c)
{
	static const struct {
		const char *name;
		char c;
	} names[] = {{"nbsp", ' '}, {"amp", '&'}, {"lt", '<'}, {"gt", '>'},
		     {"quot", '"'}, {"apos", '\''}, {"shy", 0}};
	size_t i = 0, k;
	unsigned long v = 0;

	if (i < n && s[i] == '#') {
		bool hex = i + 1 < n && (s[i + 1] == 'x' || s[i + 1] == 'X');

		i += hex ? 2 : 1;
		for (k = i; i < n && i - k < 8; i++) {
			int h = hexval(s[i]);

			if (h < 0 || (!hex && h > 9))
				break;
			v = v * (hex ? 16 : 10) + (unsigned long)h;
		}
		if (i == k || i >= n || s[i] != ';' || v == 0 || v > 255)
			return 0;
		*c = (char)v;
		return i + 1;
	}
	for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		size_t l = strlen(names[k].name);

		if (l < n && strncasecmp(s, names[k].name, l) == 0 &&
		    s[l] == ';') {
			*c = names[k].c;
			return l + 1;
		}
	}
	return 0;
}

/* Tags that break a line in a browser become a space; others vanish, so
 * "<b>via</b>gra" reads "viagra". */
static bool is_break_tag(const char *s, size_t n)
{
	static const char *const t[] = {"br", "p", "div", "td", "tr", "li",
					"h1", "h2", "h3", "table", "hr"};
	size_t i, l;

	if (n && s[0] == '/') {
		s++;
		n--;
	}
	/* Most tags fail on the first letter. */
	if (n == 0 || !strchr("bpdtlhBPDTLH", s[0]))
		return false;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		l = strlen(t[i]);
		if (n >= l && strncasecmp(s, t[i], l) == 0 &&
		    (n == l || !((s[l] >= 'a' && s[l] <= 'z') ||
				 (s[l] >= 'A' && s[l] <= 'Z') ||
				 (s[l] >= '0' && s[l] <= '9'))))
			return true;
	}
	return false;
}

/* Append one text leaf (@d, @n decoded bytes) to the body text; @html
 * strips tags and decodes character references, cheaply. */
static void text_add(struct walk *w, const char *d, size_t n, bool html)
{
	size_t i = 0;

	if (w->tlen)
		text_put(w, ' ');
	while (i < n && w->tlen + 1 < w->tcap) {
		char c = d[i];

		if (!html || (c != '<' && c != '&')) {
			/* The common run of plain bytes, without calls. */
			char *o = w->text + w->tlen;
			char *oend = w->text + w->tcap - 1;
			bool sp = w->tlen == 0 || o[-1] == ' ';

			for (; i < n && o < oend; i++) {
				unsigned char m = text_map[(unsigned char)d[i]];

				if (html && (d[i] == '<' || d[i] == '&'))
					break;
				if (m == ' ') {
					if (sp)
						continue;
					sp = true;
				} else {
					sp = false;
				}
				*o++ = (char)m;
			}
			w->tlen = (size_t)(o - w->text);
			continue;
		}

		if (html && c == '<') {
			const char *gt = memchr(d + i, '>', n - i);
			size_t tl = gt ? (size_t)(gt - d) - i - 1 : n - i - 1;

			if (is_break_tag(d + i + 1, tl))
				text_put(w, ' ');
			i = gt ? (size_t)(gt - d) + 1 : n;
			continue;
		}
		if (html && c == '&') {
			char e;
			size_t l = html_entity(d + i + 1, n - i - 1, &e);

			if (l) {
				if (e)
					text_put(w, e);
				i += 1 + l;
				continue;
			}
		}
		text_put(w, c);
		i++;
	}
}

/* ---- the MIME walk ----------------------------------------------------- */

static void walk_entity(struct walk *w, const char *p, size_t n,
			unsigned depth, bool digest);

/* Process one leaf: decode, judge, collect its text. */
static void leaf(struct walk *w, const struct entity *e, const char *body,
		 size_t n)
{
	const char *d = body;
	size_t dn = n;
	bool plain = strcmp(e->type, "text/plain") == 0;
	bool html = strcmp(e->type, "text/html") == 0;

	if (w->stop)
		return;
	w->v->parts++;
	if (w->v->parts >= TL_MIME_PARTS_MAX)
		w->stop = true;
	if (e->cte != CTE_IDENTITY && w->scratch) {
		if (e->cte == CTE_BASE64)
			dn = base64_decode(body, n, w->scratch, w->scap);
		else
			dn = qp_decode(body, n, w->scratch, w->scap, false);
		d = w->scratch;
	}
	check_leaf(w, e, plain || html, (const unsigned char *)d, dn);
	if ((plain || html) && w->tcap)
		text_add(w, d, dn, html);
}

/* Where a delimiter line "--boundary" starts in @b (@n bytes) at or after
 * @from, or @n: it must begin a line and be followed by "--", blanks or
 * the line end (RFC 2046 5.1.1), so "--abc-1" is no delimiter of "abc".
 * @nd is "\n--boundary" (@ndl bytes). */
static size_t find_delim(const char *b, size_t n, size_t from,
			 const char *nd, size_t ndl)
{
	for (;;) {
		size_t at, e;

		if (from == 0 && n >= ndl - 1 &&
		    memcmp(b, nd + 1, ndl - 1) == 0) {
			at = 0;
		} else {
			/* From the line end before @from. */
			size_t s = from ? from - 1 : 0;
			const char *hit;

			if (s >= n)
				return n;
			hit = memmem(b + s, n - s, nd, ndl);
			if (!hit)
				return n;
			at = (size_t)(hit - b) + 1;
		}
		e = at + ndl - 1;
		if (e == n || b[e] == '\r' || b[e] == '\n' || b[e] == ' ' ||
		    b[e] == '\t' ||
		    (e + 1 < n && b[e] == '-' && b[e + 1] == '-'))
			return at;
		from = at + 1; /* at >= from: the search moves on */
	}
}

/* The parts of a multipart body @b (@n bytes): preamble and epilogue
 * skipped, a missing close delimiter tolerated (the last part runs to the
 * end). A body with no delimiter at all is read as one text part, as
 * spam with a broken header still shows its words. */
static void walk_multipart(struct walk *w, const struct entity *e,
			   const char *b, size_t n, unsigned depth)
{
	char nd[BOUNDARY_MAX + 3];
	size_t ndl = e->blen + 3, at, start, next, end;
	bool digest = strcmp(e->type, "multipart/digest") == 0;

	nd[0] = '\n';
	nd[1] = nd[2] = '-';
	memcpy(nd + 3, e->boundary, e->blen);
	at = find_delim(b, n, 0, nd, ndl);
	if (at == n) {
		struct entity t = {.type = "text/plain", .cte = CTE_IDENTITY};

		leaf(w, &t, b, n);
		return;
	}
	while (!w->stop) {
		const char *nl;

		at += ndl - 1;
		if (at + 1 < n && b[at] == '-' && b[at + 1] == '-')
			return; /* close delimiter: the epilogue follows */
		nl = memchr(b + at, '\n', n - at);
		if (!nl)
			return;
		start = (size_t)(nl - b) + 1;
		next = find_delim(b, n, start, nd, ndl);
		end = next;
		/* The line end before a delimiter belongs to it. */
		if (next < n && end > start && b[end - 1] == '\n')
			end--;
		if (next < n && end > start && b[end - 1] == '\r')
			end--;
		walk_entity(w, b + start, end - start, depth, digest);
		if (next >= n)
			return;
		at = next;
	}
}

/* One entity at @depth (the message is 0): a multipart, an encapsulated
 * message or a leaf. Entities deeper than TL_MIME_DEPTH_MAX are skipped. */
static void walk_entity(struct walk *w, const char *p, size_t n,
			unsigned depth, bool digest)
{
	struct entity e;
	size_t off;

	if (w->stop || depth > TL_MIME_DEPTH_MAX)
		return;
	off = parse_entity(w, p, n, digest, depth == 0, &e);
	if (strncmp(e.type, "multipart/", 10) == 0 && e.blen > 0) {
		walk_multipart(w, &e, p + off, n - off, depth + 1);
		return;
	}
	if ((strcmp(e.type, "message/rfc822") == 0 ||
	     strcmp(e.type, "message/global") == 0) &&
	    e.cte == CTE_IDENTITY) {
		walk_entity(w, p + off, n - off, depth + 1, false);
		return;
	}
	leaf(w, &e, p + off, n - off);
}

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

int mail_classify(const char *msg, size_t len, const struct mail_rules *rules,
		  struct tl_event *ev, struct mail_verdict *v)
{
	struct walk w = {.rules = rules, .v = v};
	char subj[HTEXT_MAX], from[HTEXT_MAX], tmp[HTEXT_MAX];
	char *buf = NULL;
	size_t tcap = 0;

	memset(v, 0, sizeof(*v));
	w.want = ev ? mail_rules_where(rules) : 0;
	if (w.want & MAIL_WHERE_BODY)
		tcap = (len < TL_RULES_TEXT_MAX ? len : TL_RULES_TEXT_MAX) + 1;
	/* One buffer: the body text, then the decode scratch (decoding
	 * never grows the data, so @len bytes hold any part). */
	if (len + tcap > 0)
		buf = tl_reallocarray(NULL, len + tcap, 1);
	if (buf) {
		w.text = tcap ? buf : NULL;
		w.tcap = tcap;
		w.scratch = buf + tcap;
		w.scap = len;
	}
	walk_entity(&w, msg, len, 0, false);
	if (w.want) {
		if (w.text)
			w.text[w.tlen] = '\0';
		mail_unfold(w.subj ? w.subj : "", w.subjlen, tmp, sizeof(tmp));
		decode_words(tmp, strlen(tmp), subj, sizeof(subj));
		mail_unfold(w.from ? w.from : "", w.fromlen, tmp, sizeof(tmp));
		decode_words(tmp, strlen(tmp), from, sizeof(from));
		lower(subj);
		lower(from);
		mail_rules_match(rules, subj, from, w.text, ev);
	}
	tl_free(buf);
	return 0;
}
