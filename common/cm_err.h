/* cm_err.h - the closed set of error codes every layer speaks, plus a
 * human-readable reason.
 *
 * Fallible functions return 0 or a negative CM_E* code and take an optional
 * struct cm_err * (may be NULL) as their last argument. Codes are translated
 * once at each boundary: libetpan -> CM_E* in imapbridge/ib_session.c,
 * CM_E* -> HTTP / JMAP in gateway/gw_error.c.
 *
 * Threads: no shared state; safe from any thread.
 */
#ifndef CM_ERR_H
#define CM_ERR_H

#include <stdarg.h>

enum cm_code {
    CM_OK = 0,
    CM_ENOMEM = -1,     /* allocation failed */
    CM_EINVAL = -2,     /* bad client input              -> 400 */
    CM_EAUTH = -3,      /* bad or missing credentials    -> 401 */
    CM_EPERM = -4,      /* authenticated but forbidden   -> 403 */
    CM_ENOENT = -5,     /* no such object                -> 404 */
    CM_ELIMIT = -6,     /* size or count limit hit       -> 413 */
    CM_EUPSTREAM = -7,  /* IMAP NO/BAD/BYE, refused      -> 502 */
    CM_ETIMEOUT = -8,   /* upstream or deadline timeout  -> 504 */
    CM_EAGAIN = -9,     /* busy, try again later         -> 503 */
    CM_EUNAVAIL = -10,  /* upstream unreachable          -> 503 */
    CM_ECONFIG = -11,   /* invalid configuration */
    CM_EINTERNAL = -12, /* bug or broken invariant       -> 500 */
    CM_ETOOMANY = -13   /* rate limited (failed logins)  -> 429 + Retry-After */
};

struct cm_err {
    enum cm_code code;
    char msg[256];
};

#define CM_ERR_INIT { CM_OK, "" }

/* Fill err (if not NULL) and return code, so callers can write
   `return cm_err_set(err, CM_EINVAL, "bad %s", what);`. The arguments may
   point into err->msg itself (`cm_err_set(err, c, "x: %s", err->msg)`):
   the text is formatted into a temporary buffer first. */
int cm_err_set(struct cm_err *err, enum cm_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* cm_err_set with a va_list (for functions that wrap it). */
int cm_err_vset(struct cm_err *err, enum cm_code code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Reset err to CM_OK with an empty message. */
void cm_err_clear(struct cm_err *err);

/* Stable lower-case name of a code ("einval"); never NULL. */
const char *cm_code_name(enum cm_code code);

#endif
