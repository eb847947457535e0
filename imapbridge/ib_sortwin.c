/* ib_sortwin.c - a sorted window and its GUIDs in one write (see
 * ib_sortwin.h): the commands go out through libetpan's senders, the
 * answers are read line by line and parsed here. */
#include "imapbridge/ib_sortwin.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libetpan/libetpan.h>

#include "imapbridge/ib_etpan.h"
#include "imapbridge/ib_lines.h"
#include "imapbridge/ib_session.h"
#include "imapbridge/ib_untagged.h"

#define GUID_MAX_BYTES 255 /* RFC 8474 objectid; Dovecot's X-GUID is shorter */

bool ib_sortwin_supported(struct ib_session *s)
{
    unsigned int need = IB_CAP_SORT | IB_CAP_ESORT | IB_CAP_CONTEXT | IB_CAP_SEARCHRES;
    unsigned int caps = ib_session_caps(s);

    return (caps & need) == need && (caps & (IB_CAP_OBJECTID | IB_CAP_XGUID));
}

static const char *guid_key(struct ib_session *s)
{
    return (ib_session_caps(s) & IB_CAP_OBJECTID) ? "EMAILID" : "X-GUID";
}

int ib_sortwin_send(struct ib_session *s, struct ib_sortwin_cmd *cmd, struct cm_err *err)
{
    mailimap *imap = ib_session_imap(s);
    mailstream *st = imap->imap_stream;
    struct mailimap_search_key *all = cmd->key ? NULL : mailimap_search_key_new_all();
    char head[96], fetch[64];
    int r;

    if (cmd->count == 0 || cmd->count > IB_SORTWIN_MAX || cmd->first == 0 ||
        cmd->first > UINT32_MAX - cmd->count)
        return cm_err_set(err, CM_EINVAL, "bad sort window");
    snprintf(head, sizeof(head), "UID SORT RETURN (SAVE PARTIAL %u:%u) (", (unsigned)cmd->first,
             (unsigned)(cmd->first + cmd->count - 1));
    snprintf(fetch, sizeof(fetch), "UID FETCH $ (UID %s)", guid_key(s));
    r = mailimap_send_current_tag(imap);
    cmd->tags[0] = imap->imap_tag;
    if (r == MAILIMAP_NO_ERROR)
        r = mailimap_token_send(st, head);
    if (r == MAILIMAP_NO_ERROR)
        r = mailimap_sort_key_send(st, cmd->sort_key);
    if (r == MAILIMAP_NO_ERROR)
        r = mailimap_token_send(st, ") US-ASCII ");
    if (r == MAILIMAP_NO_ERROR)
        r = mailimap_search_key_send(st, cmd->key ? cmd->key : all);
    if (r == MAILIMAP_NO_ERROR)
        r = mailimap_crlf_send(st);
    if (all != NULL)
        mailimap_search_key_free(all);
    if (r == MAILIMAP_NO_ERROR)
        r = ib_etpan_send_line(imap, fetch, &cmd->tags[1]);
    return ib_session_check(s, r, "UID SORT", err);
}

/* ---- parsing ---- */

struct cursor {
    const char *p, *end;
};

static bool at_word(struct cursor *c, const char *w)
{
    size_t n = strlen(w);

    if ((size_t)(c->end - c->p) < n || strncasecmp(c->p, w, n) != 0)
        return false;
    if (c->p + n < c->end && (isalnum((unsigned char)c->p[n]) || c->p[n] == '-'))
        return false;
    c->p += n;
    return true;
}

static bool eat(struct cursor *c, char ch)
{
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

static bool number(struct cursor *c, uint32_t *n_r)
{
    unsigned long long v = 0;
    const char *start = c->p;

    while (c->p < c->end && isdigit((unsigned char)*c->p) && v <= UINT32_MAX)
        v = v * 10 + (unsigned)(*c->p++ - '0');
    *n_r = (uint32_t)v;
    return c->p > start && v <= UINT32_MAX;
}

static int push_uid(struct ib_sortwin *w, size_t max, uint32_t uid)
{
    if (w->n >= max)
        return 0;
    if (w->n % 64 == 0) {
        uint32_t *u = realloc(w->uids, (w->n + 64) * sizeof(*u));

        if (u == NULL)
            return CM_ENOMEM;
        w->uids = u;
    }
    w->uids[w->n++] = uid;
    return 0;
}

/* "n" or "n:m" (either direction, as written), comma-separated, or NIL. */
static int parse_set(struct cursor *c, size_t max, struct ib_sortwin *w)
{
    int rc = 0;

    if (at_word(c, "NIL"))
        return 0;
    do {
        uint32_t a, b;

        if (!number(c, &a) || a == 0)
            return CM_EUPSTREAM;
        b = a;
        if (eat(c, ':') && (!number(c, &b) || b == 0))
            return CM_EUPSTREAM;
        for (uint64_t u = a; rc == 0 && w->n < max; u = a <= b ? u + 1 : u - 1) {
            rc = push_uid(w, max, (uint32_t)u);
            if (u == b)
                break;
        }
    } while (rc == 0 && eat(c, ','));
    return rc;
}

/* " (TAG "n")" of the ESEARCH line: is it tag's? */
static bool our_tag(struct cursor *c, int tag)
{
    char want[32];
    size_t n = (size_t)snprintf(want, sizeof(want), " (TAG \"%d\")", tag);

    if ((size_t)(c->end - c->p) < n || strncasecmp(c->p, want, n) != 0)
        return false;
    c->p += n;
    return true;
}

int ib_sortwin_parse_esearch(const char *line, size_t len, int tag, size_t max,
                             struct ib_sortwin *w)
{
    struct cursor c = { line, line + len };
    uint32_t a, b;

    if (!at_word(&c, "*") || !eat(&c, ' ') || !at_word(&c, "ESEARCH") || !our_tag(&c, tag))
        return 0;
    while (eat(&c, ' ')) {
        if (at_word(&c, "PARTIAL")) {
            int rc;

            if (!eat(&c, ' ') || !eat(&c, '(') || !number(&c, &a) || !eat(&c, ':') ||
                !number(&c, &b) || !eat(&c, ' '))
                return CM_EUPSTREAM;
            if ((rc = parse_set(&c, max, w)) < 0)
                return rc;
            if (!eat(&c, ')'))
                return CM_EUPSTREAM;
        }
        while (c.p < c.end && *c.p != ' ') /* UID, COUNT n, MIN n, ...: not asked for */
            c.p++;
    }
    return 1;
}

/* A quoted string's end (past the closing quote), or NULL. */
static const char *quoted_end(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        if (*p == '\\' && p + 1 < end)
            p++;
        else if (*p == '"')
            return p + 1;
    }
    return NULL;
}

/* Skip one FETCH value: (list), "quoted", {n}CRLF literal, or atom. */
static bool skip_value(struct cursor *c)
{
    int depth = 0;

    do {
        if (c->p >= c->end)
            return false;
        if (*c->p == '"') {
            const char *q = quoted_end(c->p, c->end);

            if (q == NULL)
                return false;
            c->p = q;
            continue;
        }
        if (*c->p == '{') {
            uint32_t n;

            c->p++;
            if (!number(c, &n))
                return false;
            (void)eat(c, '+'); /* LITERAL+ */
            if (!eat(c, '}') || c->end - c->p < 2 + (long)n)
                return false;
            c->p += 2 + n;
            continue;
        }
        if (*c->p == '(')
            depth++;
        else if (*c->p == ')')
            depth--;
        else if (depth == 0) { /* an atom */
            while (c->p < c->end && *c->p != ' ' && *c->p != ')')
                c->p++;
            return true;
        }
        c->p++;
    } while (depth > 0);
    return true;
}

/* The GUID value at c (X-GUID: atom or quoted; EMAILID: (objectid)). */
static char *guid_value(struct cursor *c)
{
    const char *start = c->p, *stop;
    bool paren = eat(c, '('), quoted = !paren && c->p < c->end && *c->p == '"';

    if (quoted)
        start = c->p + 1;
    else if (paren)
        start = c->p;
    if (!skip_value(c) && !paren)
        return NULL;
    if (paren) { /* "(" objectid ")": skip_value stopped at ")" */
        stop = c->p;
        if (!eat(c, ')'))
            return NULL;
    } else {
        stop = quoted ? c->p - 1 : c->p;
    }
    if (stop <= start || stop - start > GUID_MAX_BYTES || memchr(start, '\\', stop - start))
        return NULL;
    return strndup(start, (size_t)(stop - start));
}

int ib_sortwin_parse_fetch(const char *line, size_t len, const char *key, uint32_t *uid_r,
                           char **guid_r)
{
    struct cursor c = { line, line + len };
    uint32_t seq, uid = 0;
    char *guid = NULL;

    *guid_r = NULL;
    if (!at_word(&c, "*") || !eat(&c, ' ') || !number(&c, &seq) || !eat(&c, ' ') ||
        !at_word(&c, "FETCH") || !eat(&c, ' ') || !eat(&c, '('))
        return 0;
    while (c.p < c.end && *c.p != ')') {
        if (at_word(&c, "UID") && eat(&c, ' ')) {
            if (!number(&c, &uid))
                break;
        } else if (at_word(&c, key) && eat(&c, ' ')) {
            free(guid);
            if ((guid = guid_value(&c)) == NULL)
                break;
        } else {
            while (c.p < c.end && *c.p != ' ') /* the item's name */
                c.p++;
            if (!eat(&c, ' ') || !skip_value(&c))
                break;
        }
        eat(&c, ' ');
    }
    if (uid == 0 || guid == NULL || c.p >= c.end || *c.p != ')') {
        free(guid);
        return 0;
    }
    *uid_r = uid;
    *guid_r = guid;
    return 1;
}

/* ---- reading the answers ---- */

struct pair {
    uint32_t uid;
    char *guid;
};

struct reader {
    const struct ib_sortwin_cmd *cmd;
    const char *key;
    struct ib_sortwin *out;
    struct pair *pairs;
    size_t npairs;
    struct ib_untagged news;
};

static int on_line(void *ctx, int index, const char *line, size_t len)
{
    struct reader *r = ctx;
    uint32_t uid;
    char *guid;
    int rc;

    if (index >= 0) /* a tagged line: nothing to take */
        return 0;
    rc = ib_sortwin_parse_esearch(line, len, r->cmd->tags[0], r->cmd->count, r->out);

    if (rc != 0)
        return rc < 0 ? rc : 0;
    rc = ib_sortwin_parse_fetch(line, len, r->key, &uid, &guid);
    if (rc == 1 && r->npairs < r->cmd->count) {
        struct pair *p = realloc(r->pairs, (r->npairs + 1) * sizeof(*p));

        if (p == NULL) {
            free(guid);
            return CM_ENOMEM;
        }
        r->pairs = p;
        r->pairs[r->npairs++] = (struct pair){ uid, guid };
        return 0;
    }
    free(guid); /* NULL unless the window is already full */
    return rc < 0 ? rc : ib_untagged_classify(&r->news, line, len);
}

/* Give each window UID the GUID its FETCH line showed. */
static int match_guids(struct reader *r)
{
    struct ib_sortwin *w = r->out;

    w->guids = calloc(w->n + 1, sizeof(*w->guids));
    if (w->guids == NULL)
        return CM_ENOMEM;
    for (size_t i = 0; i < w->n; i++) {
        for (size_t k = 0; k < r->npairs; k++) {
            if (r->pairs[k].uid == w->uids[i] && r->pairs[k].guid != NULL) {
                w->guids[i] = r->pairs[k].guid;
                r->pairs[k].guid = NULL;
                break;
            }
        }
    }
    return 0;
}

int ib_sortwin_recv(struct ib_session *s, const struct ib_sortwin_cmd *cmd,
                    struct ib_sortwin *out, bool *ok_r, bool *news_r, struct cm_err *err)
{
    struct reader r = { .cmd = cmd, .key = guid_key(s), .out = out };
    bool ok[2] = { false, false };
    int rc = ib_lines_read_all(s, cmd->tags, ok, 2, on_line, &r, "UID SORT", err);

    *ok_r = rc == 0 && ok[0] && ok[1];
    *news_r = r.news.exists || r.news.expunge;
    if (rc == 0 && match_guids(&r) < 0)
        rc = cm_err_set(err, CM_ENOMEM, "out of memory");
    for (size_t k = 0; k < r.npairs; k++)
        free(r.pairs[k].guid);
    free(r.pairs);
    ib_untagged_reset(&r.news);
    if (rc < 0)
        ib_sortwin_fini(out);
    return rc;
}

void ib_sortwin_fini(struct ib_sortwin *w)
{
    for (size_t i = 0; w->guids != NULL && i < w->n; i++)
        free(w->guids[i]);
    free(w->guids);
    free(w->uids);
    memset(w, 0, sizeof(*w));
}
