/* SPDX-License-Identifier: MIT */
/* log.c -- leveled logging to stderr */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "trapline/log.h"
#include "tl_limits.h"

static enum tl_log_level log_level = TL_LOG_INFO;

static const char *const level_names[] = {
	[TL_LOG_ERROR] = "error",
	[TL_LOG_WARN] = "warning",
	[TL_LOG_INFO] = "info",
	[TL_LOG_DEBUG] = "debug",
};

void tl_log_set_level(enum tl_log_level level)
{
	log_level = level;
}

enum tl_log_level tl_log_get_level(void)
{
	return log_level;
}

void tl_log(enum tl_log_level level, const char *subsys, const char *fmt, ...)
{
	char line[TL_LOG_LINE_MAX];
	va_list ap;
	int n, m;

	if (level > log_level)
		return;
	n = snprintf(line, sizeof(line), "trapline: %s: %s: ",
		     level_names[level], subsys);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	n += m;
	if ((size_t)n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* One write per line; a short write to stderr is not worth a retry. */
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

char *tl_log_escape(char *dst, size_t dstsize, const char *src, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;

	if (dstsize == 0)
		return dst;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];
		size_t need = (c >= 0x20 && c < 0x7f && c != '\\') ? 1 : 4;

		if (o + need + 4 > dstsize) {
			if (dstsize >= 4) {
				o = o + 3 < dstsize ? o : dstsize - 4;
				memcpy(dst + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (need == 1) {
			dst[o++] = (char)c;
		} else {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	dst[o] = '\0';
	return dst;
}
