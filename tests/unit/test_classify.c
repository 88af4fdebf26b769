/* SPDX-License-Identifier: MIT */
/* test_classify.c -- content rules and the MIME classifier */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "tl_limits.h"
#include "mail/mail.h"
#include "trapline/err.h"
#include "trapline/event.h"

static struct mail_rules *builtin;

static int setup(void **state)
{
	(void)state;
	return mail_rules_load(NULL, &builtin);
}

static int teardown(void **state)
{
	(void)state;
	mail_rules_free(builtin);
	return 0;
}

static bool has_tag(const struct tl_event *ev, const char *tag)
{
	unsigned i;

	for (i = 0; i < ev->ntags; i++)
		if (strcmp(ev->tags[i], tag) == 0)
			return true;
	return false;
}

/* Classify @msg with the built-in rules into @ev and @v. */
static void classify(const char *msg, size_t len, struct tl_event *ev,
		     struct mail_verdict *v)
{
	tl_event_init(ev);
	assert_int_equal(mail_classify(msg, len, builtin, ev, v), 0);
	assert_non_null(memchr(v->why, '\0', sizeof(v->why)));
	assert_true(v->parts <= TL_MIME_PARTS_MAX);
}

static void classify_str(const char *msg, struct tl_event *ev,
			 struct mail_verdict *v)
{
	classify(msg, strlen(msg), ev, v);
}

/* ---- building messages ------------------------------------------------- */

struct buf {
	char *p;
	size_t len, cap;
};

static void add(struct buf *b, const void *d, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void adds(struct buf *b, const char *s)
{
	add(b, s, strlen(s));
}

static void add_base64(struct buf *b, const unsigned char *d, size_t n)
{
	static const char al[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, col = 0;

	for (i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)d[i] << 16;
		char q[4];

		if (i + 1 < n)
			v |= (uint32_t)d[i + 1] << 8;
		if (i + 2 < n)
			v |= d[i + 2];
		q[0] = al[v >> 18 & 63];
		q[1] = al[v >> 12 & 63];
		q[2] = i + 1 < n ? al[v >> 6 & 63] : '=';
		q[3] = i + 2 < n ? al[v & 63] : '=';
		add(b, q, 4);
		col += 4;
		if (col >= 76) {
			adds(b, "\r\n");
			col = 0;
		}
	}
	adds(b, "\r\n");
}

static void put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, uint32_t v)
{
	put16(p, v & 0xffff);
	put16(p + 2, v >> 16);
}

/* A one-entry ZIP: local header, stored data, central directory, end
 * record. With @cd false, only the local header and data. */
static size_t make_zip(unsigned char *z, const char *name,
		       const unsigned char *data, size_t dn, bool cd)
{
	size_t nl = strlen(name), p = 0, cdoff;

	memset(z, 0, 30);
	memcpy(z, "PK\3\4", 4);
	put16(z + 4, 20);
	put32(z + 18, (uint32_t)dn);
	put32(z + 22, (uint32_t)dn);
	put16(z + 26, (unsigned)nl);
	memcpy(z + 30, name, nl);
	memcpy(z + 30 + nl, data, dn);
	p = 30 + nl + dn;
	if (!cd)
		return p;
	cdoff = p;
	memset(z + p, 0, 46);
	memcpy(z + p, "PK\1\2", 4);
	put32(z + p + 20, (uint32_t)dn);
	put32(z + p + 24, (uint32_t)dn);
	put16(z + p + 28, (unsigned)nl);
	put32(z + p + 42, 0);
	memcpy(z + p + 46, name, nl);
	p += 46 + nl;
	memset(z + p, 0, 22);
	memcpy(z + p, "PK\5\6", 4);
	put16(z + p + 8, 1);
	put16(z + p + 10, 1);
	put32(z + p + 12, (uint32_t)(p - cdoff));
	put32(z + p + 16, (uint32_t)cdoff);
	return p + 22;
}

/* A message: a text part, then an attachment of @d (@n bytes) named
 * @name, base64. */
static void attach_msg(struct buf *b, const char *name, const void *d,
		       size_t n)
{
	char line[256];

	adds(b, "From: a@example.com\r\nSubject: your documents\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: multipart/mixed; boundary=\"XyZ\"\r\n\r\n"
		"preamble\r\n--XyZ\r\nContent-Type: text/plain\r\n\r\n"
		"Please see the attached file.\r\n--XyZ\r\n"
		"Content-Type: application/octet-stream\r\n"
		"Content-Transfer-Encoding: base64\r\n");
	snprintf(line, sizeof(line),
		 "Content-Disposition: attachment; filename=\"%s\"\r\n\r\n",
		 name);
	adds(b, line);
	add_base64(b, d, n);
	adds(b, "--XyZ--\r\nepilogue\r\n");
}

/* ---- rules ------------------------------------------------------------- */

static void test_rules_parse_good(void **state)
{
	static const char text[] =
		"# comment\n"
		"\n"
		"   # indented comment\n"
		"pharma  subject  (viagra|cialis)\n"
		"pharma  subject  levitra\r\n"
		"Phish\tbody\tverify your account   \n"
		"x.y-z_1 from  ^bad@\n"
		"loan any  payday loans?\n"
		"dup body (a+)\\1zz";
	struct mail_rules *r;
	struct tl_event ev;
	char why[128] = "unchanged";
	const char *msg;

	(void)state;
	assert_int_equal(mail_rules_parse(text, strlen(text), &r, why,
					  sizeof(why)),
			 0);
	assert_string_equal(why, "");
	tl_event_init(&ev);
	msg = "Subject: cheap LEVITRA\r\nFrom: bad@x\r\n\r\n"
	      "please verify   your\r\n account now\r\n";
	mail_classify(msg, strlen(msg), r, &ev, &(struct mail_verdict){0});
	assert_true(has_tag(&ev, "pharma"));
	assert_true(has_tag(&ev, "phish"));
	assert_true(has_tag(&ev, "x.y-z_1"));
	assert_false(has_tag(&ev, "loan"));
	assert_false(has_tag(&ev, "dup"));
	mail_rules_free(r);

	/* Empty text: no rules, no tags, not an error. */
	assert_int_equal(mail_rules_parse("", 0, &r, why, sizeof(why)), 0);
	tl_event_init(&ev);
	mail_classify("Subject: viagra\r\n\r\n", 19, r, &ev,
		      &(struct mail_verdict){0});
	assert_int_equal(ev.ntags, 0);
	mail_rules_free(r);
	mail_rules_free(NULL);
}

static void expect_error(const char *text, const char *want)
{
	struct mail_rules *r = (struct mail_rules *)1;
	char why[160];

	assert_int_equal(mail_rules_parse(text, strlen(text), &r, why,
					  sizeof(why)),
			 TL_ESYNTAX);
	assert_null(r);
	if (strncmp(why, want, strlen(want)) != 0)
		fail_msg("\"%s\": got \"%s\", want \"%s...\"", text, why, want);
}

static void test_rules_errors(void **state)
{
	char big[2048];
	char *many;
	size_t i, o = 0;

	(void)state;
	expect_error("pharma body x\nbad!tag body x\n", "line 2: bad tag");
	expect_error("\n\nabcdefghijabcdefghijabcdefghijabc body x",
		     "line 3: tag longer");
	expect_error("pharma header x", "line 1: WHERE must be");
	expect_error("# c\npharma", "line 2: missing WHERE");
	expect_error("pharma subject   \n", "line 1: missing REGEX");
	expect_error("a body ok\nb body (unclosed\n", "line 2: bad REGEX");
	expect_error("a body x{2,1}", "line 1: bad REGEX");
	expect_error("a body ((a{1,100}){1,100}){1,100}",
		     "line 1: REGEX too large");
	expect_error("a body x{1,32767}", "line 1: REGEX too large");
	expect_error("a body x{256}", "line 1: REGEX too large");
	/* glibc copies the unit of each '+': 2^40 nodes. */
	expect_error("a body u++++++++++++++++++++++++++++++++++++++++",
		     "line 1: REGEX too large");
	expect_error("a body (abcdefgh)*{100}", "line 1: REGEX too large");
	{
		static const char nul[] = "a body x\nb body y\0z\n";
		struct mail_rules *r;
		char why[64];

		assert_int_equal(mail_rules_parse(nul, sizeof(nul) - 1, &r, why,
						  sizeof(why)),
				 TL_ESYNTAX);
		assert_string_equal(why, "line 2: NUL byte");
	}
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "a body ", 7);
	expect_error(big, "line 1: longer than");

	/* TL_RULES_MAX rules are fine, one more is not. */
	many = malloc((TL_RULES_MAX + 1) * 16);
	assert_non_null(many);
	for (i = 0; i < TL_RULES_MAX; i++)
		o += (size_t)sprintf(many + o, "t%zu body w%zu\n", i % 7, i);
	{
		struct mail_rules *r;
		char why[64];

		assert_int_equal(mail_rules_parse(many, o, &r, why, sizeof(why)),
				 0);
		mail_rules_free(r);
	}
	sprintf(many + o, "t body last\n");
	expect_error(many, "line 1025: more than 1024 rules");
	free(many);

	/* No room for the reason is fine. */
	{
		struct mail_rules *r;

		assert_int_equal(mail_rules_parse("!", 1, &r, NULL, 0),
				 TL_ESYNTAX);
	}
}

static void test_rules_load(void **state)
{
	char path[] = "/tmp/test_classify_XXXXXX";
	struct mail_rules *r;
	int fd;

	(void)state;
	assert_int_equal(mail_rules_load("", &r), 0);
	mail_rules_free(r);
	assert_int_equal(mail_rules_load("/nonexistent/rules.conf", &r),
			 TL_ENOENT);
	assert_null(r);

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "spam subject hello\n", 19), 19);
	close(fd);
	assert_int_equal(mail_rules_load(path, &r), 0);
	{
		struct tl_event ev;

		tl_event_init(&ev);
		mail_classify("Subject: Hello\r\n\r\nx", 19, r, &ev,
			      &(struct mail_verdict){0});
		assert_true(has_tag(&ev, "spam"));
	}
	mail_rules_free(r);
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "spam nowhere hello\n", 19), 19);
	close(fd);
	assert_int_equal(mail_rules_load(path, &r), TL_ESYNTAX);
	unlink(path);
}

/* ---- rules on messages ------------------------------------------------- */

static void test_plain_pharma(void **state)
{
	struct tl_event ev;
	struct mail_verdict v;

	(void)state;
	classify_str("From: \"Pharmacy\" <x@example.net>\r\n"
		     "Subject: Hello friend\r\n\r\n"
		     "Buy VIAGRA now, no prescription needed.\r\n",
		     &ev, &v);
	assert_true(has_tag(&ev, "pharma"));
	assert_false(has_tag(&ev, "phish"));
	assert_false(v.malware);
	assert_int_equal(v.parts, 1);
}

static void test_encoded_subject(void **state)
{
	struct tl_event ev;
	struct mail_verdict v;

	(void)state;
	/* B and Q words, folded, blanks between words dropped. */
	classify_str("Subject: Cheap\r\n =?UTF-8?B?VmlhZ3Jh?=\r\n\r\nhello\r\n",
		     &ev, &v);
	assert_true(has_tag(&ev, "pharma"));
	classify_str("Subject: =?iso-8859-1?q?Ci?= =?ISO-8859-1?Q?alis_f=FCr?="
		     "\r\n\r\nhello\r\n",
		     &ev, &v);
	assert_true(has_tag(&ev, "pharma"));
	/* Not decoded, no match. */
	classify_str("Subject: VmlhZ3Jh\r\n\r\nhello\r\n", &ev, &v);
	assert_int_equal(ev.ntags, 0);
}

static void test_base64_body(void **state)
{
	struct tl_event ev;
	struct mail_verdict v;
	struct buf b = {0};
	static const char text[] = "Dear customer, our online pharmacy has "
				   "the best prices.";

	(void)state;
	adds(&b, "Subject: hi\r\nContent-Type: text/plain; charset=utf-8\r\n"
		 "Content-Transfer-Encoding: BASE64\r\n\r\n");
	add_base64(&b, (const unsigned char *)text, sizeof(text) - 1);
	classify(b.p, b.len, &ev, &v);
	assert_true(has_tag(&ev, "pharma"));
	free(b.p);
}

static void test_qp_soft_break(void **state)
{
	struct tl_event ev;
	struct mail_verdict v;

	(void)state;
	classify_str("Subject: hi\r\nContent-Transfer-Encoding: quoted-printable"
		     "\r\n\r\nGet via=\r\ngra =3D cheap=20\r\n",
		     &ev, &v);
	assert_true(has_tag(&ev, "pharma"));
	/* Without the soft break decoded, "via=" and "gra" stay apart. */
	classify_str("Subject: hi\r\n\r\nGet via=\r\ngra cheap\r\n", &ev, &v);
	assert_false(has_tag(&ev, "pharma"));
}

static void test_phish(void **state)
{
	struct tl_event ev;
	struct mail_verdict v;

	(void)state;
	classify_str("Subject: Action required: verify your account\r\n\r\n"
		     "Click here.\r\n",
		     &ev, &v);
	assert_true(has_tag(&ev, "phish"));
	classify_str("Subject: notice\r\n\r\nPlease confirm your\r\n"
		     "   password within 24 hours.\r\n",
		     &ev, &v);
	assert_true(has_tag(&ev, "phish"));
	assert_false(has_tag(&ev, "pharma"));
}

static void test_html_body(void **state)
{
	struct tl_event ev;
	struct mail_verdict v;

	(void)state;
	classify_str("Subject: news\r\nContent-Type: text/html\r\n\r\n"
		     "<html><body><p>Best <b>Via</b>gra &amp; "
		     "&#99;ialis</p></body></html>\r\n",
		     &ev, &v);
	assert_true(has_tag(&ev, "pharma"));
	/* A word in a tag is not text. */
	classify_str("Subject: news\r\nContent-Type: text/html\r\n\r\n"
		     "<a href=\"http://x/viagra\">link</a>\r\n",
		     &ev, &v);
	assert_false(has_tag(&ev, "pharma"));
}

static void test_ordinary(void **state)
{
	struct tl_event ev;
	struct mail_verdict v;

	(void)state;
	classify_str("From: Alice <alice@example.org>\r\n"
		     "To: bob@example.org\r\n"
		     "Subject: Re: meeting notes and the pharmacy order\r\n"
		     "MIME-Version: 1.0\r\n"
		     "Content-Type: multipart/alternative; boundary=b1\r\n\r\n"
		     "--b1\r\nContent-Type: text/plain\r\n\r\n"
		     "Hi Bob, the RX queue on the switch dropped packets.\r\n"
		     "Please update the wiki when you can. Pills of wisdom.\r\n"
		     "--b1\r\nContent-Type: text/html\r\n\r\n"
		     "<p>Hi Bob</p>\r\n--b1--\r\n",
		     &ev, &v);
	assert_int_equal(ev.ntags, 0);
	assert_false(v.malware);
	assert_int_equal(v.parts, 2);
	assert_string_equal(v.why, "");
}

/* ---- malware ----------------------------------------------------------- */

static void test_pe_attachment(void **state)
{
	unsigned char pe[256] = "MZ\x90";
	struct tl_event ev;
	struct mail_verdict v;
	struct buf b = {0};

	(void)state;
	put32(pe + 0x3c, 0x80);
	memcpy(pe + 0x80, "PE\0\0", 4);
	attach_msg(&b, "invoice.pdf", pe, sizeof(pe));
	classify(b.p, b.len, &ev, &v);
	assert_true(v.malware);
	assert_string_equal(v.why, "attachment invoice.pdf (PE)");
	assert_int_equal(v.parts, 2);
	free(b.p);

	/* A bare MZ in an attachment is enough. */
	memset(&b, 0, sizeof(b));
	attach_msg(&b, "doc.dat", "MZ", 2);
	classify(b.p, b.len, &ev, &v);
	assert_true(v.malware);
	assert_string_equal(v.why, "attachment doc.dat (MZ)");
	free(b.p);

	/* But inline text starting with "MZ" is not. */
	classify_str("Subject: x\r\n\r\nMZ Bank says hello\r\n", &ev, &v);
	assert_false(v.malware);
}

static void test_elf_macho(void **state)
{
	struct tl_event ev;
	struct mail_verdict v;
	struct buf b = {0};

	(void)state;
	attach_msg(&b, "update", "\x7f" "ELF\2\1\1\0", 8);
	classify(b.p, b.len, &ev, &v);
	assert_true(v.malware);
	assert_string_equal(v.why, "attachment update (ELF)");
	free(b.p);

	memset(&b, 0, sizeof(b));
	attach_msg(&b, "a.bin", "\xcf\xfa\xed\xfe\7\0\0\1", 8);
	classify(b.p, b.len, &ev, &v);
	assert_true(v.malware);
	assert_string_equal(v.why, "attachment a.bin (Mach-O)");
	free(b.p);

	/* A Java class file shares the fat Mach-O magic: not flagged. */
	memset(&b, 0, sizeof(b));
	attach_msg(&b, "A.class", "\xca\xfe\xba\xbe\0\0\0\x34", 8);
	classify(b.p, b.len, &ev, &v);
	assert_false(v.malware);
	free(b.p);
}

static void test_exe_by_name(void **state)
{
	struct tl_event ev;
	struct mail_verdict v;
	struct buf b = {0};

	(void)state;
	attach_msg(&b, "Invoice.PDF.exe", "harmless", 8);
	classify(b.p, b.len, &ev, &v);
	assert_true(v.malware);
	assert_string_equal(v.why, "attachment Invoice.PDF.exe (name)");
	free(b.p);

	/* Content-Type name=, RFC 2231 and RFC 2047 names, trailing dot. */
	classify_str("Content-Type: multipart/mixed; boundary=q\r\n\r\n"
		     "--q\r\nContent-Type: application/x; name=run.scr.\r\n"
		     "\r\nhello\r\n--q--\r\n",
		     &ev, &v);
	assert_true(v.malware);
	assert_string_equal(v.why, "attachment run.scr. (name)");
	classify_str("Content-Type: multipart/mixed; boundary=q\r\n\r\n"
		     "--q\r\nContent-Disposition: attachment;\r\n"
		     " filename*=UTF-8''fact%C3%BCra%2Ejs\r\n"
		     "\r\nhello\r\n--q--\r\n",
		     &ev, &v);
	assert_true(v.malware);
	assert_string_equal(v.why, "attachment fact??ra.js (name)");
	classify_str("Content-Type: multipart/mixed; boundary=q\r\n\r\n"
		     "--q\r\nContent-Disposition: attachment;\r\n"
		     " filename*0=\"inv\"; filename*1=\"oice.hta\"\r\n"
		     "\r\nhello\r\n--q--\r\n",
		     &ev, &v);
	assert_true(v.malware);
	assert_string_equal(v.why, "attachment invoice.hta (name)");
	classify_str("Content-Type: multipart/mixed; boundary=q\r\n\r\n"
		     "--q\r\nContent-Disposition: attachment; filename=\""
		     "=?utf-8?B?c2V0dXAuZXhl?=\"\r\n"
		     "\r\nhello\r\n--q--\r\n",
		     &ev, &v);
	assert_true(v.malware);
	assert_string_equal(v.why, "attachment setup.exe (name)");

	/* Harmless names. */
	memset(&b, 0, sizeof(b));
	attach_msg(&b, "report.pdf", "%PDF-1.4", 8);
	classify(b.p, b.len, &ev, &v);
	assert_false(v.malware);
	free(b.p);
	memset(&b, 0, sizeof(b));
	attach_msg(&b, "exe", "text", 4);
	classify(b.p, b.len, &ev, &v);
	assert_false(v.malware);
	free(b.p);
}

static void test_zip(void **state)
{
	unsigned char z[512], inner[256];
	struct tl_event ev;
	struct mail_verdict v;
	struct buf b = {0};
	size_t n, in;

	(void)state;
	n = make_zip(z, "a.exe", (const unsigned char *)"hello", 5, true);
	attach_msg(&b, "invoice.zip", z, n);
	classify(b.p, b.len, &ev, &v);
	assert_true(v.malware);
	assert_string_equal(v.why, "attachment invoice.zip holds a.exe (name)");
	free(b.p);

	/* A harmless entry. */
	memset(&b, 0, sizeof(b));
	n = make_zip(z, "a.txt", (const unsigned char *)"hello", 5, true);
	attach_msg(&b, "notes.zip", z, n);
	classify(b.p, b.len, &ev, &v);
	assert_false(v.malware);
	free(b.p);

	/* A stored PE under an innocent name, local headers only. */
	memset(&b, 0, sizeof(b));
	n = make_zip(z, "scan.pdf", (const unsigned char *)"MZ\x90\0", 4,
		     false);
	attach_msg(&b, "scan.zip", z, n);
	classify(b.p, b.len, &ev, &v);
	assert_true(v.malware);
	assert_string_equal(v.why, "attachment scan.zip holds scan.pdf (MZ)");
	free(b.p);

	/* A ZIP in a ZIP. */
	memset(&b, 0, sizeof(b));
	in = make_zip(inner, "deep.js", (const unsigned char *)"x", 1, true);
	n = make_zip(z, "inner.zip", inner, in, true);
	attach_msg(&b, "outer.zip", z, n);
	classify(b.p, b.len, &ev, &v);
	assert_true(v.malware);
	assert_string_equal(v.why, "attachment outer.zip holds deep.js (name)");
	free(b.p);

	/* Truncated and lying archives: no crash, no verdict. */
	n = make_zip(z, "a.txt", (const unsigned char *)"hello", 5, true);
	put32(z + n - 6, 0xfffffff0u); /* central directory offset */
	put32(z + 18, 0xfffffff0u);    /* local compressed size */
	memset(&b, 0, sizeof(b));
	attach_msg(&b, "bad.zip", z, n);
	classify(b.p, b.len, &ev, &v);
	assert_false(v.malware);
	free(b.p);
	memset(&b, 0, sizeof(b));
	attach_msg(&b, "short.zip", z, 20);
	classify(b.p, b.len, &ev, &v);
	assert_false(v.malware);
	free(b.p);
}

static void test_nested_multipart(void **state)
{
	struct tl_event ev;
	struct mail_verdict v;

	(void)state;
	classify_str("Subject: x\r\n"
		     "Content-Type: multipart/mixed;\r\n boundary=\"outer b\"\r\n"
		     "\r\n--outer b\r\n"
		     "Content-Type: multipart/alternative; boundary=inner\r\n"
		     "\r\n--inner\r\n\r\nplain part\r\n--inner\r\n"
		     "Content-Type: text/html\r\n\r\n<p>cheap cialis</p>\r\n"
		     "--inner--\r\n"
		     "--outer b\r\nContent-Type: image/png\r\n\r\nPNG\r\n"
		     "--outer b--\r\n",
		     &ev, &v);
	assert_int_equal(v.parts, 3);
	assert_true(has_tag(&ev, "pharma"));
	assert_false(v.malware);
}

static void test_rfc822(void **state)
{
	struct tl_event ev;
	struct mail_verdict v;
	struct buf b = {0};

	(void)state;
	adds(&b, "Subject: Fwd: hello\r\n"
		 "Content-Type: multipart/mixed; boundary=o\r\n\r\n"
		 "--o\r\n\r\nsee below\r\n"
		 "--o\r\nContent-Type: message/rfc822\r\n\r\n"
		 "Subject: inner\r\nContent-Type: multipart/mixed; boundary=i\r\n"
		 "\r\n--i\r\n\r\ntext\r\n--i\r\n"
		 "Content-Disposition: attachment; filename=x.bin\r\n"
		 "Content-Transfer-Encoding: base64\r\n\r\n");
	add_base64(&b, (const unsigned char *)"\x7f" "ELF\2\1\1", 7);
	adds(&b, "--i--\r\n--o--\r\n");
	classify(b.p, b.len, &ev, &v);
	assert_int_equal(v.parts, 3);
	assert_true(v.malware);
	assert_string_equal(v.why, "attachment x.bin (ELF)");
	free(b.p);
}

static void test_broken_mime(void **state)
{
	struct tl_event ev;
	struct mail_verdict v;

	(void)state;
	/* No close delimiter: the last part runs to the end. */
	classify_str("Content-Type: multipart/mixed; boundary=zz\r\n\r\n"
		     "--zz\r\n\r\nfirst\r\n--zz\r\n\r\nbuy viagra",
		     &ev, &v);
	assert_int_equal(v.parts, 2);
	assert_true(has_tag(&ev, "pharma"));
	/* The boundary never appears: the body is read as text. */
	classify_str("Content-Type: multipart/mixed; boundary=nothere\r\n\r\n"
		     "--other\r\n\r\nbuy viagra\r\n",
		     &ev, &v);
	assert_int_equal(v.parts, 1);
	assert_true(has_tag(&ev, "pharma"));
	/* A boundary as a prefix of a longer line is not a delimiter. */
	classify_str("Content-Type: multipart/mixed; boundary=ab\r\n\r\n"
		     "--ab\r\n\r\none\r\n--abc\r\nstill one\r\n--ab--\r\n",
		     &ev, &v);
	assert_int_equal(v.parts, 1);
	/* Bad base64: garbage skipped, no crash. */
	classify_str("Content-Transfer-Encoding: base64\r\n\r\n"
		     "!!!Vm%%%lh Z3$Jh===\r\n=\r\n",
		     &ev, &v);
	assert_true(has_tag(&ev, "pharma"));
	/* Empty boundary, empty message, header only, no header end. */
	classify_str("Content-Type: multipart/mixed; boundary=\"\"\r\n\r\nx",
		     &ev, &v);
	classify("", 0, &ev, &v);
	assert_int_equal(v.parts, 1);
	classify_str("Subject: viagra", &ev, &v);
	assert_true(has_tag(&ev, "pharma"));
	classify_str("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b",
		     &ev, &v);
	assert_int_equal(v.parts, 0);
	/* NULL rules and NULL event are fine. */
	assert_int_equal(mail_classify("Subject: viagra\r\n\r\n", 19, NULL,
				       NULL, &v),
			 0);
	assert_int_equal(mail_classify("Subject: viagra\r\n\r\n", 19, builtin,
				       NULL, &v),
			 0);
}

static void test_limits(void **state)
{
	struct tl_event ev;
	struct mail_verdict v;
	struct buf b = {0};
	unsigned i;

	(void)state;
	/* More leaves than TL_MIME_PARTS_MAX: the rest is not looked at. */
	adds(&b, "Content-Type: multipart/mixed; boundary=p\r\n\r\n");
	for (i = 0; i < TL_MIME_PARTS_MAX + 10; i++)
		adds(&b, "--p\r\n\r\nhello\r\n");
	adds(&b, "--p\r\nContent-Disposition: attachment; filename=a.exe\r\n"
		 "\r\nx\r\n--p--\r\n");
	classify(b.p, b.len, &ev, &v);
	assert_int_equal(v.parts, TL_MIME_PARTS_MAX);
	assert_false(v.malware);
	free(b.p);

	/* Nesting past TL_MIME_DEPTH_MAX is skipped. */
	memset(&b, 0, sizeof(b));
	for (i = 0; i < TL_MIME_DEPTH_MAX + 4; i++) {
		char line[96];

		snprintf(line, sizeof(line),
			 "Content-Type: multipart/mixed; boundary=d%u\r\n\r\n"
			 "--d%u\r\n",
			 i, i);
		adds(&b, line);
	}
	adds(&b, "Content-Disposition: attachment; filename=a.exe\r\n\r\nx\r\n");
	classify(b.p, b.len, &ev, &v);
	assert_int_equal(v.parts, 0);
	assert_false(v.malware);
	free(b.p);

	/* Just within the limit, it is seen. */
	memset(&b, 0, sizeof(b));
	for (i = 0; i < TL_MIME_DEPTH_MAX; i++) {
		char line[96];

		snprintf(line, sizeof(line),
			 "Content-Type: multipart/mixed; boundary=d%u\r\n\r\n"
			 "--d%u\r\n",
			 i, i);
		adds(&b, line);
	}
	adds(&b, "Content-Disposition: attachment; filename=a.exe\r\n\r\nx\r\n");
	classify(b.p, b.len, &ev, &v);
	assert_int_equal(v.parts, 1);
	assert_true(v.malware);
	free(b.p);

	/* Many tags: the ninth is dropped quietly. */
	{
		struct mail_rules *r;
		char text[512];
		size_t o = 0;

		for (i = 0; i < 10; i++)
			o += (size_t)snprintf(text + o, sizeof(text) - o,
					      "t%u body hello\n", i);
		assert_int_equal(mail_rules_parse(text, o, &r, NULL, 0), 0);
		tl_event_init(&ev);
		mail_classify("\r\nhello", 7, r, &ev, &v);
		assert_int_equal(ev.ntags, TL_EVENT_TAGS);
		mail_rules_free(r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules_parse_good),
		cmocka_unit_test(test_rules_errors),
		cmocka_unit_test(test_rules_load),
		cmocka_unit_test(test_plain_pharma),
		cmocka_unit_test(test_encoded_subject),
		cmocka_unit_test(test_base64_body),
		cmocka_unit_test(test_qp_soft_break),
		cmocka_unit_test(test_phish),
		cmocka_unit_test(test_html_body),
		cmocka_unit_test(test_ordinary),
		cmocka_unit_test(test_pe_attachment),
		cmocka_unit_test(test_elf_macho),
		cmocka_unit_test(test_exe_by_name),
		cmocka_unit_test(test_zip),
		cmocka_unit_test(test_nested_multipart),
		cmocka_unit_test(test_rfc822),
		cmocka_unit_test(test_broken_mime),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
