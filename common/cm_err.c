/* cm_err.c - error codes and messages. */
#include "common/cm_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int cm_err_vset(struct cm_err *err, enum cm_code code, const char *fmt, va_list ap)
{
    if (err != NULL) {
        char msg[sizeof(err->msg)]; /* the arguments may point into err->msg */

        vsnprintf(msg, sizeof(msg), fmt, ap);
        err->code = code;
        memcpy(err->msg, msg, sizeof(msg));
    }
    return code;
}

int cm_err_set(struct cm_err *err, enum cm_code code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    code = cm_err_vset(err, code, fmt, ap);
    va_end(ap);
    return code;
}

void cm_err_clear(struct cm_err *err)
{
    if (err != NULL) {
        err->code = CM_OK;
        err->msg[0] = '\0';
    }
}

const char *cm_code_name(enum cm_code code)
{
    switch (code) {
    case CM_OK: return "ok";
    case CM_ENOMEM: return "enomem";
    case CM_EINVAL: return "einval";
    case CM_EAUTH: return "eauth";
    case CM_EPERM: return "eperm";
    case CM_ENOENT: return "enoent";
    case CM_ELIMIT: return "elimit";
    case CM_EUPSTREAM: return "eupstream";
    case CM_ETIMEOUT: return "etimeout";
    case CM_EAGAIN: return "eagain";
    case CM_EUNAVAIL: return "eunavail";
    case CM_ETOOMANY: return "etoomany";
    case CM_ECONFIG: return "econfig";
    case CM_EINTERNAL: return "einternal";
    }
    return "unknown";
}
