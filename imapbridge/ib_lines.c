/* ib_lines.c - commands we read line by line ourselves (see ib_lines.h). */
#include "imapbridge/ib_lines.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libetpan/libetpan.h>

#include "imapbridge/ib_etpan.h"
#include "imapbridge/ib_session.h"

#define LINE_MAX_BYTES (1024 * 1024) /* one response line, literals included */
#define SERVER_TEXT_MAX 200


/* The literal "{n}" or "{n+}" that ends a line (CRLF already stripped), or
   -1. */
static long trailing_literal(const MMAPString *l)
{
    size_t end = l->len, i;

    if (end < 3 || l->str[end - 1] != '}')
        return -1;
    i = end - 1;
    if (l->str[i - 1] == '+')
        i--;
    while (i > 0 && isdigit((unsigned char)l->str[i - 1]))
        i--;
    if (i == 0 || l->str[i - 1] != '{' || i == end - 1)
        return -1;
    return strtol(l->str + i, NULL, 10);
}

static void strip_crlf(MMAPString *l)
{
    while (l->len > 0 && (l->str[l->len - 1] == '\n' || l->str[l->len - 1] == '\r'))
        l->len--;
    l->str[l->len] = '\0';
}

/* One response line, literals inline ("...{n}\r\n<n bytes>..."), without
   the final CRLF. */
static int read_line(struct ib_session *s, MMAPString *l, const char *what, struct cm_err *err)
{
    mailstream *st = ib_session_imap(s)->imap_stream;
    long lit;

    mmap_string_truncate(l, 0);
    if (mailstream_read_line_append(st, l) == NULL)
        return ib_session_check(s, MAILIMAP_ERROR_STREAM, what, err);
    strip_crlf(l);
    while ((lit = trailing_literal(l)) >= 0) {
        char buf[4096];

        if (l->len + (size_t)lit > LINE_MAX_BYTES)
            return ib_session_check(s, MAILIMAP_ERROR_PARSE, what, err);
        mmap_string_append(l, "\r\n");
        for (long left = lit; left > 0;) {
            ssize_t got = mailstream_read(st, buf, left < (long)sizeof(buf) ? (size_t)left
                                                                              : sizeof(buf));
            if (got <= 0)
                return ib_session_check(s, MAILIMAP_ERROR_STREAM, what, err);
            mmap_string_append_len(l, buf, (size_t)got);
            left -= got;
        }
        if (mailstream_read_line_append(st, l) == NULL)
            return ib_session_check(s, MAILIMAP_ERROR_STREAM, what, err);
        strip_crlf(l);
    }
    return 0;
}

enum line_kind { LINE_UNTAGGED, LINE_CONTINUE, LINE_OK, LINE_REFUSED, LINE_FOREIGN };

static enum line_kind line_kind(const MMAPString *l, int tag, const char **text_r)
{
    char prefix[24];
    size_t n;

    *text_r = l->str;
    if (l->len >= 1 && l->str[0] == '*')
        return LINE_UNTAGGED;
    if (l->len >= 1 && l->str[0] == '+')
        return LINE_CONTINUE;
    n = (size_t)snprintf(prefix, sizeof(prefix), "%d ", tag);
    if (l->len < n || strncmp(l->str, prefix, n) != 0)
        return LINE_FOREIGN;
    *text_r = l->str + n;
    return strncasecmp(*text_r, "OK", 2) == 0 ? LINE_OK : LINE_REFUSED;
}

/* Read lines into news until the "+" continuation (when plus_ends) or the
   tagged line of tag. */
int ib_lines_read(struct ib_session *s, struct ib_untagged *news, int tag, bool plus_ends,
                      const char *what, struct cm_err *err)
{
    MMAPString *l = mmap_string_new("");
    char bye[SERVER_TEXT_MAX] = "";
    const char *text;
    int rc = 0;

    if (l == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    for (;;) {
        rc = read_line(s, l, what, err);
        if (rc < 0)
            break;
        switch (line_kind(l, tag, &text)) {
        case LINE_UNTAGGED:
            rc = ib_untagged_classify(news, l->str, l->len);
            if (news->bye && bye[0] == '\0')
                snprintf(bye, sizeof(bye), "%s", l->str);
            if (rc < 0)
                cm_err_set(err, rc, "out of memory");
            break;
        case LINE_CONTINUE:
            if (plus_ends)
                goto answered;
            rc = ib_session_check(s, MAILIMAP_ERROR_PROTOCOL, what, err);
            break;
        case LINE_OK:
            goto answered;
        case LINE_REFUSED:
            (void)ib_session_check(s, MAILIMAP_NO_ERROR, what, NULL); /* it answered */
            rc = cm_err_set(err, CM_EUPSTREAM, "imap %s refused: %.*s", what, SERVER_TEXT_MAX,
                            text);
            goto out;
        case LINE_FOREIGN:
            rc = ib_session_check(s, MAILIMAP_ERROR_PROTOCOL, what, err);
            break;
        }
        if (rc < 0)
            break;
    }
    if (bye[0] != '\0') /* the stream ended after a BYE: say what the server said */
        rc = cm_err_set(err, CM_EUNAVAIL, "imap %s: the server closed the connection: %s", what,
                        bye);
    goto out;
answered: /* the server answered: the session's bookkeeping (ib_session_check) */
    rc = ib_session_check(s, MAILIMAP_NO_ERROR, what, err);
out:
    mmap_string_free(l);
    return rc;
}

/* Write "<tag> text" CRLF and flush. */
int ib_lines_send(struct ib_session *s, const char *text, int *tag_r, const char *what,
                        struct cm_err *err)
{
    mailimap *imap = ib_session_imap(s);
    int r;

    if (ib_session_is_broken(s))
        return cm_err_set(err, CM_EUPSTREAM, "imap: session is broken");
    r = ib_etpan_send_line(imap, text, tag_r);
    if (r == MAILIMAP_NO_ERROR && mailstream_flush(imap->imap_stream) == -1)
        r = MAILIMAP_ERROR_STREAM;
    return r == MAILIMAP_NO_ERROR ? 0 : ib_session_check(s, r, what, err);
}

#define READ_ALL_MAX_TAGS 8

/* Which of tags[0..n) a tagged line answers (-1: none); *ok_r its OK. */
static int answered_tag(const MMAPString *l, const int *tags, size_t n, bool *ok_r)
{
    const char *text;

    for (size_t i = 0; i < n; i++) {
        enum line_kind k = tags[i] > 0 ? line_kind(l, tags[i], &text) : LINE_FOREIGN;

        if (k == LINE_OK || k == LINE_REFUSED) {
            *ok_r = k == LINE_OK;
            return (int)i;
        }
    }
    return -1;
}

int ib_lines_read_all(struct ib_session *s, const int *tags, bool *ok_r, size_t ntags,
                      ib_lines_line_fn *on_line, void *ctx, const char *what,
                      struct cm_err *err)
{
    bool done[READ_ALL_MAX_TAGS] = { false };
    MMAPString *l;
    size_t left = 0;
    int rc = 0;

    if (ntags > READ_ALL_MAX_TAGS)
        return cm_err_set(err, CM_EINVAL, "too many pipelined commands");
    for (size_t i = 0; i < ntags; i++) {
        done[i] = tags[i] <= 0;
        left += !done[i];
    }
    if ((l = mmap_string_new("")) == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    while (rc == 0 && left > 0 && (rc = read_line(s, l, what, err)) == 0) {
        bool ok = false;
        int i = -1;

        if (l->len < 1 || l->str[0] != '*') {
            i = answered_tag(l, tags, ntags, &ok);
            if (i < 0 || done[i]) {
                rc = ib_session_check(s, MAILIMAP_ERROR_PROTOCOL, what, err);
                break;
            }
            done[i] = true;
            ok_r[i] = ok;
            left--;
        }
        if (on_line(ctx, i, l->str, l->len) < 0)
            rc = ib_session_check(s, MAILIMAP_ERROR_PARSE, what, err);
    }
    if (rc == 0) /* the server answered: the session's bookkeeping */
        rc = ib_session_check(s, MAILIMAP_NO_ERROR, what, err);
    mmap_string_free(l);
    return rc;
}
