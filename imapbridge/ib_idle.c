/* ib_idle.c - IDLE, DONE and NOTIFY SET with our own line reader and
 * classifier (see ib_idle.h for why not libetpan's). */
#include "imapbridge/ib_idle.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libetpan/libetpan.h>

#include "imapbridge/ib_etpan.h"
#include "imapbridge/ib_session.h"
#include "imapbridge/ib_stream.h"

#define LINE_MAX_BYTES (1024 * 1024) /* an untagged line during IDLE, literals included */
#define SERVER_TEXT_MAX 200

static const char NOTIFY_SET[] =
    "NOTIFY SET STATUS (personal (MessageNew MessageExpunge FlagChange MailboxName "
    "SubscriptionChange))";

/* ---- classification (pure) --------------------------------------------- */

bool ib_idle_news_any(const struct ib_idle_news *n)
{
    return n->exists || n->expunge || n->fetch || n->folders || n->other || n->bye ||
           n->highestmodseq != 0 || n->uidnext != 0 || n->nstatuses > 0;
}

void ib_idle_news_reset(struct ib_idle_news *n)
{
    for (size_t i = 0; i < n->nstatuses; i++)
        free(n->statuses[i].imap_name);
    free(n->statuses);
    for (size_t i = 0; i < n->nlists; i++)
        free(n->lists[i].imap_name);
    free(n->lists);
    memset(n, 0, sizeof(*n));
}

/* A cursor over one line. */
struct cur {
    const char *p, *end;
};

static bool eat_word(struct cur *c, const char *word)
{
    size_t n = strlen(word);

    if ((size_t)(c->end - c->p) < n || strncasecmp(c->p, word, n) != 0)
        return false;
    if (c->p + n < c->end && c->p[n] != ' ' && c->p[n] != ']' && c->p[n] != ')')
        return false;
    c->p += n;
    return true;
}

static bool eat_char(struct cur *c, char ch)
{
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

static bool eat_number(struct cur *c, uint64_t *v)
{
    const char *start = c->p;

    *v = 0;
    while (c->p < c->end && isdigit((unsigned char)*c->p)) {
        if (*v > (UINT64_MAX - 9) / 10)
            return false;
        *v = *v * 10 + (uint64_t)(*c->p++ - '0');
    }
    return c->p > start;
}

/* astring: atom, "quoted" (\\ and \" escapes) or {n}CRLF literal. *out is
   malloc'd. */
static bool eat_astring(struct cur *c, char **out)
{
    const char *start;
    size_t len;
    uint64_t n;
    char *s;

    *out = NULL;
    if (eat_char(c, '"')) {
        s = malloc((size_t)(c->end - c->p) + 1);
        len = 0;
        while (s != NULL && c->p < c->end && *c->p != '"') {
            if (*c->p == '\\' && c->p + 1 < c->end)
                c->p++;
            s[len++] = *c->p++;
        }
        if (s == NULL || !eat_char(c, '"')) {
            free(s);
            return false;
        }
        s[len] = '\0';
        *out = s;
        return true;
    }
    if (eat_char(c, '{')) {
        if (!eat_number(c, &n) || (eat_char(c, '+'), !eat_char(c, '}')) || !eat_char(c, '\r') ||
            !eat_char(c, '\n') || n > (uint64_t)(c->end - c->p))
            return false;
        start = c->p;
        len = (size_t)n;
    } else {
        start = c->p;
        while (c->p < c->end && *c->p != ' ' && *c->p != '(' && *c->p != ')')
            c->p++;
        len = (size_t)(c->p - start);
        if (len == 0)
            return false;
    }
    *out = strndup(start, len);
    c->p = start + len;
    return *out != NULL;
}

static const struct {
    const char *name;
    unsigned int bit;
} status_items[] = {
    { "MESSAGES", IB_ST_MESSAGES },       { "UIDNEXT", IB_ST_UIDNEXT },
    { "UIDVALIDITY", IB_ST_UIDVALIDITY }, { "UNSEEN", IB_ST_UNSEEN },
    { "HIGHESTMODSEQ", IB_ST_HIGHESTMODSEQ },
};

static void status_set(struct ib_idle_status *st, unsigned int bit, uint64_t v)
{
    st->have |= bit;
    switch (bit) {
    case IB_ST_MESSAGES: st->messages = (uint32_t)v; break;
    case IB_ST_UIDNEXT: st->uidnext = (uint32_t)v; break;
    case IB_ST_UIDVALIDITY: st->uidvalidity = (uint32_t)v; break;
    case IB_ST_UNSEEN: st->unseen = (uint32_t)v; break;
    default: st->highestmodseq = v; break;
    }
}

/* "(NAME n NAME n ...)"; unknown items (SIZE, X-GUID ...) are skipped. */
static bool eat_status_items(struct cur *c, struct ib_idle_status *st)
{
    if (!eat_char(c, '('))
        return false;
    while (!eat_char(c, ')')) {
        const char *name = c->p;
        unsigned int bit = 0;
        uint64_t v;
        char *skip = NULL;

        for (size_t i = 0; i < sizeof(status_items) / sizeof(status_items[0]); i++) {
            if (eat_word(c, status_items[i].name)) {
                bit = status_items[i].bit;
                break;
            }
        }
        if (bit == 0) { /* an item we do not use: its name, then a value */
            if (!eat_astring(c, &skip))
                return false;
            free(skip);
            if (!eat_char(c, ' ') || !eat_astring(c, &skip))
                return false;
            free(skip);
        } else if (!eat_char(c, ' ') || !eat_number(c, &v)) {
            return false;
        } else {
            status_set(st, bit, v);
        }
        if (c->p == name)
            return false;
        (void)eat_char(c, ' ');
    }
    return true;
}

/* Grow an array of elem-sized items to hold one more. */
static int grow(void **items, size_t n, size_t *cap, size_t elem)
{
    void *p;
    size_t c;

    if (n < *cap)
        return 0;
    c = *cap ? *cap * 2 : 8;
    p = realloc(*items, c * elem);
    if (p == NULL)
        return CM_ENOMEM;
    *items = p;
    *cap = c;
    return 0;
}

static int add_status(struct ib_idle_news *n, struct cur *c)
{
    struct ib_idle_status st = { 0 };

    if (!eat_astring(c, &st.imap_name) || !eat_char(c, ' ') || !eat_status_items(c, &st)) {
        free(st.imap_name);
        n->other = true; /* not understood: the caller looks */
        return 0;
    }
    if (grow((void **)&n->statuses, n->nstatuses, &n->cap, sizeof(*n->statuses)) < 0) {
        free(st.imap_name);
        return CM_ENOMEM;
    }
    n->statuses[n->nstatuses++] = st;
    return 0;
}

/* "(\Flag ...) delim name": LIST and LSUB. */
static int add_list(struct ib_idle_news *n, struct cur *c)
{
    struct ib_idle_folder f = { NULL, false };
    const char *close;
    char *delim = NULL;

    n->folders = true;
    close = c->p < c->end && *c->p == '(' ? memchr(c->p, ')', (size_t)(c->end - c->p)) : NULL;
    if (close == NULL)
        return 0;
    for (const char *p = c->p; p + 12 <= close; p++) {
        if (strncasecmp(p, "\\NonExistent", 12) == 0)
            f.gone = true;
    }
    c->p = close + 1;
    if (!eat_char(c, ' ') || !eat_astring(c, &delim) || !eat_char(c, ' ') ||
        !eat_astring(c, &f.imap_name)) {
        free(delim);
        free(f.imap_name);
        return 0; /* still news: folders changed */
    }
    free(delim);
    if (grow((void **)&n->lists, n->nlists, &n->lists_cap, sizeof(*n->lists)) < 0) {
        free(f.imap_name);
        return CM_ENOMEM;
    }
    n->lists[n->nlists++] = f;
    return 0;
}

/* "* OK [CODE ...] text": HIGHESTMODSEQ and UIDNEXT codes are news, a bare
   "* OK text" is a keep-alive, any other code is looked at. */
static void classify_ok(struct ib_idle_news *n, struct cur *c)
{
    uint64_t v;

    if (!eat_char(c, ' ') || !eat_char(c, '['))
        return;
    if (eat_word(c, "HIGHESTMODSEQ") && eat_char(c, ' ') && eat_number(c, &v))
        n->highestmodseq = v;
    else if (eat_word(c, "UIDNEXT") && eat_char(c, ' ') && eat_number(c, &v))
        n->uidnext = (uint32_t)v;
    else
        n->other = true;
}

static void classify_numbered(struct ib_idle_news *n, struct cur *c)
{
    if (!eat_char(c, ' '))
        n->other = true;
    else if (eat_word(c, "EXISTS") || eat_word(c, "RECENT"))
        n->exists = true;
    else if (eat_word(c, "EXPUNGE"))
        n->expunge = true;
    else if (eat_word(c, "FETCH"))
        n->fetch = true;
    else
        n->other = true;
}

int ib_idle_classify(struct ib_idle_news *n, const char *line, size_t len)
{
    struct cur c = { line, line + len };
    uint64_t num;

    n->lines++;
    if (!eat_char(&c, '*') || !eat_char(&c, ' ')) {
        n->other = true;
        return 0;
    }
    if (eat_number(&c, &num))
        classify_numbered(n, &c);
    else if (eat_word(&c, "OK"))
        classify_ok(n, &c);
    else if (eat_word(&c, "BYE"))
        n->bye = true;
    else if (eat_word(&c, "VANISHED"))
        n->expunge = true;
    else if ((eat_word(&c, "LIST") || eat_word(&c, "LSUB")) && eat_char(&c, ' '))
        return add_list(n, &c);
    else if (eat_word(&c, "STATUS") && eat_char(&c, ' '))
        return add_status(n, &c);
    else
        n->other = true; /* NO, BAD, FLAGS, anything else: look */
    return 0;
}

/* ---- reading ------------------------------------------------------------ */

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
static int read_until(struct ib_session *s, struct ib_idle_news *news, int tag, bool plus_ends,
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
            rc = ib_idle_classify(news, l->str, l->len);
            if (news->bye && bye[0] == '\0')
                snprintf(bye, sizeof(bye), "%s", l->str);
            if (rc < 0)
                cm_err_set(err, rc, "out of memory");
            break;
        case LINE_CONTINUE:
            if (plus_ends)
                goto out;
            rc = ib_session_check(s, MAILIMAP_ERROR_PROTOCOL, what, err);
            break;
        case LINE_OK:
            goto out;
        case LINE_REFUSED:
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
out:
    mmap_string_free(l);
    return rc;
}

/* Write "<tag> text" CRLF and flush. */
static int send_command(struct ib_session *s, const char *text, int *tag_r, const char *what,
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

/* ---- IDLE ---------------------------------------------------------------- */

int ib_idle_start(struct ib_session *s, struct ib_idle *idle, struct cm_err *err)
{
    int rc = send_command(s, "IDLE", &idle->tag, "IDLE", err);

    if (rc == 0)
        rc = read_until(s, &idle->news, idle->tag, true, "IDLE", err);
    idle->active = rc == 0;
    return rc;
}

int ib_idle_fd(struct ib_session *s)
{
    mailstream *st = ib_session_imap(s)->imap_stream;

    return st != NULL ? ib_stream_fd(st->low) : -1;
}

bool ib_idle_buffered(struct ib_session *s)
{
    mailstream *st = ib_session_imap(s)->imap_stream;

    return st != NULL && (st->read_buffer_len > 0 || ib_stream_has_pending(st->low));
}

int ib_idle_done(struct ib_session *s, struct ib_idle *idle, unsigned int timeout_ms,
                 struct cm_err *err)
{
    mailimap *imap = ib_session_imap(s);
    unsigned int saved = 0;
    int rc;

    if (!idle->active)
        return cm_err_set(err, CM_EINTERNAL, "imap: DONE without IDLE");
    idle->active = false;
    if (ib_session_is_broken(s) || imap->imap_stream == NULL)
        return cm_err_set(err, CM_EUPSTREAM, "imap: session is broken");
    if (timeout_ms > 0) {
        saved = ib_stream_timeout(imap->imap_stream->low);
        ib_stream_set_timeout(imap->imap_stream->low, timeout_ms);
    }
    rc = mailstream_write(imap->imap_stream, "DONE\r\n", 6) == 6 &&
                 mailstream_flush(imap->imap_stream) == 0
             ? 0
             : ib_session_check(s, MAILIMAP_ERROR_STREAM, "IDLE DONE", err);
    if (rc == 0)
        rc = read_until(s, &idle->news, idle->tag, false, "IDLE DONE", err);
    if (rc == 0 && !idle->news.other) /* an untagged NO/BAD: let a NOOP look again */
        ib_session_note_synced(s);
    if (timeout_ms > 0 && imap->imap_stream != NULL)
        ib_stream_set_timeout(imap->imap_stream->low, saved);
    return rc;
}

/* ---- NOTIFY ---------------------------------------------------------------- */

int ib_notify_set(struct ib_session *s, struct ib_idle_news *news, struct cm_err *err)
{
    int tag, rc;

    if (!(ib_session_caps(s) & IB_CAP_NOTIFY))
        return cm_err_set(err, CM_ECONFIG, "imap: the server does not offer NOTIFY");
    rc = send_command(s, NOTIFY_SET, &tag, "NOTIFY", err);
    return rc < 0 ? rc : read_until(s, news, tag, false, "NOTIFY", err);
}
