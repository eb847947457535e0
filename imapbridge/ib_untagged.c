/* ib_untagged.c - what an untagged IMAP response line says (pure). */
#include "imapbridge/ib_untagged.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cm_err.h"

bool ib_untagged_any(const struct ib_untagged *n)
{
    return n->exists || n->expunge || n->fetch || n->folders || n->other || n->bye ||
           n->highestmodseq != 0 || n->uidnext != 0 || n->nstatuses > 0;
}

void ib_untagged_reset(struct ib_untagged *n)
{
    for (size_t i = 0; i < n->nstatuses; i++) {
        free(n->statuses[i].imap_name);
        free(n->statuses[i].object_id);
    }
    free(n->statuses);
    for (size_t i = 0; i < n->nlists; i++) {
        free(n->lists[i].imap_name);
        free(n->lists[i].flags);
    }
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

static void status_set(struct ib_status_line *st, unsigned int bit, uint64_t v)
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

/* RFC 8474 objectid: 1*255 (ALPHA / DIGIT / "_" / "-"); Dovecot's X-GUID
   (hex) passes too. Anything else is not an id (Cyrus 3.6.1 sends pointer
   bytes for MAILBOXID beside other LIST-STATUS items): dropped. */
static bool objectid_ok(const char *id)
{
    size_t n = 0;

    for (; id != NULL && id[n] != '\0'; n++) {
        char ch = id[n];

        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-'))
            return false;
    }
    return n >= 1 && n <= 255;
}

/* The folder's own id: "MAILBOXID (id)" (RFC 8474) or "X-GUID id"
   (Dovecot); MAILBOXID wins. False when c is at neither. */
static bool eat_object_id(struct cur *c, struct ib_status_line *st, bool *ok_r)
{
    bool paren;
    char *id = NULL;

    if (eat_word(c, "MAILBOXID"))
        paren = true;
    else if (eat_word(c, "X-GUID"))
        paren = false;
    else
        return false;
    *ok_r = eat_char(c, ' ') && (!paren || eat_char(c, '(')) && eat_astring(c, &id) &&
            (!paren || eat_char(c, ')'));
    if (*ok_r && objectid_ok(id) && (paren || st->object_id == NULL)) {
        free(st->object_id);
        st->object_id = id;
    } else {
        free(id);
    }
    return true;
}

/* "(NAME n NAME n ...)"; unknown items (SIZE ...) are skipped. */
static bool eat_status_items(struct cur *c, struct ib_status_line *st)
{
    if (!eat_char(c, '('))
        return false;
    while (!eat_char(c, ')')) {
        const char *name = c->p;
        unsigned int bit = 0;
        uint64_t v;
        char *skip = NULL;
        bool ok;

        if (eat_object_id(c, st, &ok)) {
            if (!ok)
                return false;
            (void)eat_char(c, ' ');
            continue;
        }
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

static int add_status(struct ib_untagged *n, struct cur *c)
{
    struct ib_status_line st = { 0 };

    if (!eat_astring(c, &st.imap_name) || !eat_char(c, ' ') || !eat_status_items(c, &st)) {
        free(st.imap_name);
        free(st.object_id);
        n->other = true; /* not understood: the caller looks */
        return 0;
    }
    if (grow((void **)&n->statuses, n->nstatuses, &n->cap, sizeof(*n->statuses)) < 0) {
        free(st.imap_name);
        free(st.object_id);
        return CM_ENOMEM;
    }
    n->statuses[n->nstatuses++] = st;
    return 0;
}

/* Does the flag list (without parentheses) hold flag (case-insensitive,
   as a whole word)? */
static bool has_flag(const char *flags, const char *flag)
{
    size_t n = strlen(flag);

    for (const char *p = flags; (p = strcasestr(p, flag)) != NULL; p += n) {
        if ((p == flags || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
            return true;
    }
    return false;
}

/* "(\Flag ...) delim name [extended data]": LIST and LSUB. */
static int add_list(struct ib_untagged *n, struct cur *c, bool lsub)
{
    struct ib_list_line f = { 0 };
    const char *close;
    char *delim = NULL;

    n->folders = true;
    close = c->p < c->end && *c->p == '(' ? memchr(c->p, ')', (size_t)(c->end - c->p)) : NULL;
    if (close == NULL)
        return 0;
    f.flags = strndup(c->p + 1, (size_t)(close - c->p - 1));
    c->p = close + 1;
    if (f.flags == NULL || !eat_char(c, ' ') || !eat_astring(c, &delim) || !eat_char(c, ' ') ||
        !eat_astring(c, &f.imap_name)) {
        bool oom = f.flags == NULL;

        free(delim);
        free(f.flags);
        free(f.imap_name);
        return oom ? CM_ENOMEM : 0; /* still news: folders changed */
    }
    f.delimiter = strcasecmp(delim, "NIL") == 0 || strlen(delim) != 1 ? '\0' : delim[0];
    free(delim);
    f.gone = has_flag(f.flags, "\\NonExistent");
    f.noselect = f.gone || has_flag(f.flags, "\\Noselect");
    f.subscribed = lsub || has_flag(f.flags, "\\Subscribed");
    if (grow((void **)&n->lists, n->nlists, &n->lists_cap, sizeof(*n->lists)) < 0) {
        free(f.imap_name);
        free(f.flags);
        return CM_ENOMEM;
    }
    n->lists[n->nlists++] = f;
    return 0;
}

/* "* OK [CODE ...] text": HIGHESTMODSEQ and UIDNEXT codes are news, a bare
   "* OK text" is a keep-alive, any other code is looked at. */
static void classify_ok(struct ib_untagged *n, struct cur *c)
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

static void classify_numbered(struct ib_untagged *n, struct cur *c)
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

int ib_untagged_classify(struct ib_untagged *n, const char *line, size_t len)
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
    else if (eat_word(&c, "LIST") && eat_char(&c, ' '))
        return add_list(n, &c, false);
    else if (eat_word(&c, "LSUB") && eat_char(&c, ' '))
        return add_list(n, &c, true);
    else if (eat_word(&c, "STATUS") && eat_char(&c, ' '))
        return add_status(n, &c);
    else
        n->other = true; /* NO, BAD, FLAGS, anything else: look */
    return 0;
}
