/* rt_sse.c - SSE framing. */
#include "realtime/rt_sse.h"

#include <inttypes.h>
#include <string.h>

#include "common/cm_err.h"

/* Append `field: value\n` lines for value, one per line of value. CR, LF
   and CRLF all end a line; NUL cannot occur in a C string. */
static int append_lines(struct cm_buf *b, const char *field, const char *value)
{
    const char *p = value;
    int rc = 0;

    do {
        size_t n = strcspn(p, "\r\n");

        rc = cm_buf_printf(b, "%s: %.*s\n", field, (int)n, p);
        if (rc < 0)
            return rc;
        p += n;
        if (*p == '\r' && p[1] == '\n')
            p += 2;
        else if (*p != '\0')
            p++;
    } while (*p != '\0');
    return rc;
}

static int single_line(const char *s)
{
    return strpbrk(s, "\r\n") == NULL;
}

int rt_sse_event(struct cm_buf *b, const char *type, uint64_t id, const char *data)
{
    size_t mark = b->len;
    int rc = 0;

    if (type != NULL && !single_line(type))
        return CM_EINVAL;
    if (type != NULL)
        rc = cm_buf_printf(b, "event: %s\n", type);
    if (rc == 0 && id != 0)
        rc = cm_buf_printf(b, "id: %" PRIu64 "\n", id);
    if (rc == 0)
        rc = append_lines(b, "data", data != NULL ? data : "");
    if (rc == 0)
        rc = cm_buf_append(b, "\n", 1);
    if (rc < 0) {
        b->len = mark;
        if (b->data != NULL)
            b->data[mark] = '\0';
    }
    return rc;
}

int rt_sse_comment(struct cm_buf *b, const char *text)
{
    if (!single_line(text))
        return CM_EINVAL;
    return cm_buf_printf(b, ": %s\n\n", text);
}

int rt_sse_retry(struct cm_buf *b, unsigned int msecs)
{
    return cm_buf_printf(b, "retry: %u\n\n", msecs);
}
