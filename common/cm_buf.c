/* cm_buf.c - capped growable buffer. */
#include "common/cm_buf.h"

#include "common/cm_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cm_buf_init(struct cm_buf *b, size_t max_bytes)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max_bytes = max_bytes;
}

void cm_buf_fini(struct cm_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void cm_buf_reset(struct cm_buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

static int ensure(struct cm_buf *b, size_t extra)
{
    size_t need, ncap;
    char *p;

    if (extra > b->max_bytes || b->len > b->max_bytes - extra)
        return CM_ELIMIT;
    need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    ncap = b->cap ? b->cap : 256;
    while (ncap < need)
        ncap *= 2;
    if (ncap - 1 > b->max_bytes) /* not max_bytes + 1: it wraps for SIZE_MAX */
        ncap = b->max_bytes + 1;
    p = realloc(b->data, ncap);
    if (p == NULL)
        return CM_ENOMEM;
    b->data = p;
    b->cap = ncap;
    return 0;
}

int cm_buf_reserve(struct cm_buf *b, size_t extra)
{
    size_t need;
    char *p;

    if (extra > b->max_bytes || b->len > b->max_bytes - extra)
        return CM_ELIMIT;
    need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    p = realloc(b->data, need);
    if (p == NULL)
        return CM_ENOMEM;
    if (b->data == NULL)
        p[0] = '\0';
    b->data = p;
    b->cap = need;
    return 0;
}

int cm_buf_append(struct cm_buf *b, const void *data, size_t len)
{
    int rc = ensure(b, len);

    if (rc < 0)
        return rc;
    if (len > 0)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int cm_buf_append_str(struct cm_buf *b, const char *s)
{
    return cm_buf_append(b, s, strlen(s));
}

int cm_buf_printf(struct cm_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n, rc;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return CM_EINVAL;
    rc = ensure(b, (size_t)n);
    if (rc < 0)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

char *cm_buf_steal(struct cm_buf *b, size_t *len_r)
{
    char *p;

    if (b->data == NULL && ensure(b, 0) < 0)
        return NULL;
    if (b->data == NULL)
        return NULL;
    p = b->data;
    p[b->len] = '\0';
    if (len_r != NULL)
        *len_r = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}
