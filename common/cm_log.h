/* cm_log.h - leveled logfmt logging to stderr.
 *
 * One line per call: `ts=... level=info msg="..." key=value ...`. The
 * message is printf-formatted and quoted by the logger. Callers add
 * key=value pairs themselves through cm_log_kv(); values are quoted and
 * escaped. Never pass passwords, tokens, Authorization headers or URL query
 * strings: cm_log_redact_url() strips the query part of a URL for logging.
 *
 * Threads: safe from any thread; each line is written with one write(2).
 */
#ifndef CM_LOG_H
#define CM_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum cm_log_level {
    CM_LOG_DEBUG = 0,
    CM_LOG_INFO = 1,
    CM_LOG_WARN = 2,
    CM_LOG_ERROR = 3
};

/* Set the lowest level that is written (process-wide; call at start-up). */
void cm_log_set_level(enum cm_log_level level);
enum cm_log_level cm_log_get_level(void);

/* Parse "debug" | "info" | "warn" | "error"; returns 0 or -1. */
int cm_log_level_parse(const char *name, enum cm_log_level *level_r);

/* Redirect output to fd (default 2); for tests. */
void cm_log_set_fd(int fd);

/* Write one line. kv is a pre-built logfmt tail (may be NULL or ""), e.g.
   "req=12 route=/healthz". Use the macros below, which skip formatting when
   the level is off. */
void cm_log_write(enum cm_log_level level, const char *kv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define cm_log(level, kv, ...)                                                \
    do {                                                                      \
        if ((level) >= cm_log_get_level())                                    \
            cm_log_write((level), (kv), __VA_ARGS__);                         \
    } while (0)
#define cm_debug(kv, ...) cm_log(CM_LOG_DEBUG, kv, __VA_ARGS__)
#define cm_info(kv, ...) cm_log(CM_LOG_INFO, kv, __VA_ARGS__)
#define cm_warn(kv, ...) cm_log(CM_LOG_WARN, kv, __VA_ARGS__)
#define cm_error(kv, ...) cm_log(CM_LOG_ERROR, kv, __VA_ARGS__)

/* Append ` key="value"` (quoted, escaped, truncated to fit) to the
   NUL-terminated logfmt buffer dst of size cap. */
void cm_log_kv(char *dst, size_t cap, const char *key, const char *value);

/* Copy url into dst (size cap) without its query string and fragment:
   "/api/v1/events?access_token=x" -> "/api/v1/events". */
void cm_log_redact_url(char *dst, size_t cap, const char *url);

#endif
