/* cm_log.c - logfmt lines on stderr. */
#include "common/cm_log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int log_level = CM_LOG_INFO;
static atomic_int log_fd = 2;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void cm_log_set_level(enum cm_log_level level) { atomic_store(&log_level, (int)level); }

enum cm_log_level cm_log_get_level(void) { return (enum cm_log_level)atomic_load(&log_level); }

void cm_log_set_fd(int fd) { atomic_store(&log_fd, fd); }

int cm_log_level_parse(const char *name, enum cm_log_level *level_r)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *level_r = (enum cm_log_level)i;
            return 0;
        }
    }
    return -1;
}

/* Append src to dst as a quoted logfmt value; always NUL-terminates. */
static size_t append_quoted(char *dst, size_t len, size_t cap, const char *src)
{
    if (len + 3 >= cap)
        return len;
    dst[len++] = '"';
    for (; *src != '\0' && len + 3 < cap; src++) {
        unsigned char c = (unsigned char)*src;

        if (c == '"' || c == '\\') {
            if (len + 4 >= cap)
                break;
            dst[len++] = '\\';
            dst[len++] = (char)c;
        } else if (c == '\n' || c == '\r' || c == '\t' || c < 0x20 || c == 0x7f) {
            dst[len++] = ' ';
        } else {
            dst[len++] = (char)c;
        }
    }
    dst[len++] = '"';
    dst[len] = '\0';
    return len;
}

void cm_log_kv(char *dst, size_t cap, const char *key, const char *value)
{
    size_t len = strnlen(dst, cap);
    int n;

    if (len + 1 >= cap)
        return;
    n = snprintf(dst + len, cap - len, "%s%s=", len ? " " : "", key);
    if (n < 0 || (size_t)n >= cap - len) {
        dst[len] = '\0';
        return;
    }
    if (append_quoted(dst, len + (size_t)n, cap, value ? value : "") == len + (size_t)n)
        dst[len] = '\0'; /* no room for the quoted value: add nothing, not a bare key= */
}

void cm_log_redact_url(char *dst, size_t cap, const char *url)
{
    size_t n = strcspn(url, "?#");

    if (cap == 0)
        return;
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, url, n);
    dst[n] = '\0';
}

void cm_log_write(enum cm_log_level level, const char *kv, const char *fmt, ...)
{
    char msg[1024], line[2048];
    struct timespec ts;
    struct tm tm;
    va_list ap;
    size_t len;
    int n;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = snprintf(line, sizeof(line), "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s msg=",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                 tm.tm_sec, ts.tv_nsec / 1000000, level_names[level]);
    len = append_quoted(line, (size_t)n, sizeof(line) - 1, msg);
    if (kv != NULL && kv[0] != '\0' && len + 2 < sizeof(line) - 1) {
        size_t start = len;

        len += (size_t)snprintf(line + len, sizeof(line) - 1 - len, " %s", kv);
        if (len > sizeof(line) - 2)
            len = sizeof(line) - 2;
        for (size_t i = start; i < len; i++) /* one event, one line, whatever kv holds */
            if (line[i] == '\n' || line[i] == '\r')
                line[i] = ' ';
    }
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    line[len++] = '\n';
    if (write(atomic_load(&log_fd), line, len) < 0) {
        /* nowhere left to report it */
    }
}
