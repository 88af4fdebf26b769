/* SPDX-License-Identifier: MIT */
/* log.h -- leveled logging to stderr, one line per message */
#ifndef TRAPLINE_LOG_H
#define TRAPLINE_LOG_H

enum tl_log_level {
	TL_LOG_ERROR,
	TL_LOG_WARN,
	TL_LOG_INFO,
	TL_LOG_DEBUG,
};

/* Messages above @level are dropped. Default TL_LOG_INFO. Not thread safe
 * to change while other threads log; set it once at start. */
void tl_log_set_level(enum tl_log_level level);
enum tl_log_level tl_log_get_level(void);

/* Log one line: "trapline: <level>: <subsystem>: <message>". Each call is a
 * single write(2), so lines from several threads do not interleave. */
void tl_log(enum tl_log_level level, const char *subsys, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_error(sub, ...) tl_log(TL_LOG_ERROR, sub, __VA_ARGS__)
#define log_warn(sub, ...) tl_log(TL_LOG_WARN, sub, __VA_ARGS__)
#define log_info(sub, ...) tl_log(TL_LOG_INFO, sub, __VA_ARGS__)
#define log_debug(sub, ...) tl_log(TL_LOG_DEBUG, sub, __VA_ARGS__)

/*
 * Copy untrusted bytes into @dst for a log line: printable ASCII kept,
 * everything else as \xHH, cut at @dstsize - 1 with "..." when truncated.
 * Returns @dst.
 */
char *tl_log_escape(char *dst, size_t dstsize, const char *src, size_t len);

#endif
