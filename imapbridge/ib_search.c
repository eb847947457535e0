/* ib_search.c - JMAP Email/query filters and sorts -> IMAP SEARCH / SORT.
 *
 * A filter is handled in two passes: check_node() validates the whole tree
 * (so a filter is equally valid or invalid in every mailbox), then
 * build_node() translates it for one mailbox. fold_node() evaluates what is
 * constant for that mailbox before anything is built, so the resolver is
 * never asked about a branch that cannot matter.
 */
#include "imapbridge/ib_search.h"

#include "common/cm_time.h"
#include "imapbridge/ib_search_util.h"

#include <libetpan/libetpan.h>
#include <inttypes.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm_buf.h"

#define JSON_MAX_SAFE_INT 9007199254740991LL /* RFC 8620 UnsignedInt limit */
#define RENDER_MAX_BYTES (16u * 1024 * 1024)

/* ---- character classes and syntax checks ----------------------------- */

int ib_search_ascii_lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

int ib_search_ascii_casecmp(const char *a, const char *b)
{
    while (*a != '\0' && ib_search_ascii_lower((unsigned char)*a) == ib_search_ascii_lower((unsigned char)*b)) {
        a++;
        b++;
    }
    return ib_search_ascii_lower((unsigned char)*a) - ib_search_ascii_lower((unsigned char)*b);
}

bool ib_search_is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static bool is_ascii(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s >= 0x80)
            return false;
    return true;
}

/* libetpan's is_atom() (in the C locale): what it sends without quotes. */
static bool is_etpan_atom(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++) {
        int c = (unsigned char)*s;

        if (!(ib_search_is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-'))
            return false;
    }
    return true;
}

/* RFC 8620 §1.2 Id: 1-255 of A-Za-z0-9_- */
static bool is_id(const char *s)
{
    size_t n = strlen(s);

    return n >= 1 && n <= 255 &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == n;
}

/* RFC 8621 §4.1.1: 1-255 of %x21-7e minus ( ) { ] % * " \ (= IMAP atom) */
static bool is_keyword(const char *s)
{
    size_t n = strlen(s);

    if (n < 1 || n > 255)
        return false;
    for (; *s != '\0'; s++) {
        int c = (unsigned char)*s;

        if (c < 0x21 || c > 0x7e || strchr("(){]%*\"\\", c) != NULL)
            return false;
    }
    return true;
}

/* RFC 5322 field-name: 1*ftext, ftext = %d33-57 / %d59-126 */
static bool is_header_name(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++) {
        int c = (unsigned char)*s;

        if (c < 33 || c > 126 || c == ':')
            return false;
    }
    return true;
}

/* RFC 8620 UTCDate: YYYY-MM-DDTHH:MM:SS[.fraction]Z, upper-case T and Z */
static bool is_utcdate(const char *s)
{
    time_t t;

    return cm_time_parse_utcdate(s, &t) == 0;
}

/* The string value of v, or NULL if v is not a string or holds a NUL. */
static const char *str_value(json_t *v)
{
    const char *s = json_string_value(v);

    return s != NULL && strlen(s) == json_string_length(v) ? s : NULL;
}

/* ---- the condition table -------------------------------------------- */

enum cond_kind {
    C_IN_MAILBOX,
    C_IN_MAILBOX_OTHER_THAN,
    C_TEXT,
    C_HEADER,
    C_MIN_SIZE,
    C_MAX_SIZE,
    C_KEYWORD,
    C_RESOLVE_DATE,
    C_RESOLVE_BOOL,
    C_RESOLVE_KEYWORD
};

struct cond_def {
    const char *name;
    enum cond_kind kind;
    struct mailimap_search_key *(*text_key)(char *s); /* C_TEXT */
    bool negate;                                      /* C_KEYWORD: notKeyword */
};

static const struct cond_def conds[] = {
    {"inMailbox", C_IN_MAILBOX, NULL, false},
    {"inMailboxOtherThan", C_IN_MAILBOX_OTHER_THAN, NULL, false},
    {"text", C_TEXT, mailimap_search_key_new_text, false},
    {"from", C_TEXT, mailimap_search_key_new_from, false},
    {"to", C_TEXT, mailimap_search_key_new_to, false},
    {"cc", C_TEXT, mailimap_search_key_new_cc, false},
    {"bcc", C_TEXT, mailimap_search_key_new_bcc, false},
    {"subject", C_TEXT, mailimap_search_key_new_subject, false},
    {"body", C_TEXT, mailimap_search_key_new_body, false},
    {"header", C_HEADER, NULL, false},
    {"minSize", C_MIN_SIZE, NULL, false},
    {"maxSize", C_MAX_SIZE, NULL, false},
    {"hasKeyword", C_KEYWORD, NULL, false},
    {"notKeyword", C_KEYWORD, NULL, true},
    {"before", C_RESOLVE_DATE, NULL, false},
    {"after", C_RESOLVE_DATE, NULL, false},
    {"hasAttachment", C_RESOLVE_BOOL, NULL, false},
    {"allInThreadHaveKeyword", C_RESOLVE_KEYWORD, NULL, false},
    {"someInThreadHaveKeyword", C_RESOLVE_KEYWORD, NULL, false},
    {"noneInThreadHaveKeyword", C_RESOLVE_KEYWORD, NULL, false},
};

static const struct cond_def *cond_find(const char *name)
{
    for (size_t i = 0; i < sizeof(conds) / sizeof(conds[0]); i++)
        if (strcmp(conds[i].name, name) == 0)
            return &conds[i];
    return NULL;
}

/* JMAP keywords with an IMAP system flag, and IMAP spellings by convention. */
static const struct {
    const char *keyword;
    int set, unset;
} sys_flags[] = {
    {"$seen", MAILIMAP_SEARCH_KEY_SEEN, MAILIMAP_SEARCH_KEY_UNSEEN},
    {"$flagged", MAILIMAP_SEARCH_KEY_FLAGGED, MAILIMAP_SEARCH_KEY_UNFLAGGED},
    {"$answered", MAILIMAP_SEARCH_KEY_ANSWERED, MAILIMAP_SEARCH_KEY_UNANSWERED},
    {"$draft", MAILIMAP_SEARCH_KEY_DRAFT, MAILIMAP_SEARCH_KEY_UNDRAFT},
};

static const struct {
    const char *keyword, *imap;
} spellings[] = {
    {"$forwarded", "$Forwarded"},
};

/* ---- pass 1: validation ---------------------------------------------- */

void ib_search_set_unsupported(bool *unsupported_r)
{
    if (unsupported_r != NULL)
        *unsupported_r = true;
}

static int check_text(json_t *v, const char *prop, struct cm_err *err)
{
    const char *s;

    if (!json_is_string(v))
        return cm_err_set(err, CM_EINVAL, "filter: %s must be a string", prop);
    s = json_string_value(v);
    if (json_string_length(v) > IB_SEARCH_MAX_STRING_BYTES)
        return cm_err_set(err, CM_ELIMIT, "filter: %s is longer than %d bytes", prop,
                          IB_SEARCH_MAX_STRING_BYTES);
    if (strlen(s) != json_string_length(v) || strpbrk(s, "\r\n") != NULL)
        return cm_err_set(err, CM_EINVAL, "filter: %s contains CR, LF or NUL", prop);
    return 0;
}

static int check_uint(json_t *v, const char *prop, struct cm_err *err)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        json_integer_value(v) > JSON_MAX_SAFE_INT)
        return cm_err_set(err, CM_EINVAL, "filter: %s must be an UnsignedInt", prop);
    return 0;
}

bool ib_search_is_keyword_json(json_t *v)
{
    return str_value(v) != NULL && is_keyword(str_value(v));
}

static int check_keyword(json_t *v, const char *prop, struct cm_err *err)
{
    if (!ib_search_is_keyword_json(v))
        return cm_err_set(err, CM_EINVAL, "filter: %s must be a valid keyword", prop);
    return 0;
}

static int check_ids(json_t *v, const char *prop, struct cm_err *err)
{
    size_t i;
    json_t *id;

    if (!json_is_array(v))
        return cm_err_set(err, CM_EINVAL, "filter: %s must be an array of ids", prop);
    if (json_array_size(v) > IB_SEARCH_MAX_IDS)
        return cm_err_set(err, CM_ELIMIT, "filter: %s has more than %d ids", prop,
                          IB_SEARCH_MAX_IDS);
    json_array_foreach(v, i, id)
    {
        if (str_value(id) == NULL || !is_id(str_value(id)))
            return cm_err_set(err, CM_EINVAL, "filter: %s must be an array of ids", prop);
    }
    return 0;
}

static int check_header(json_t *v, struct cm_err *err)
{
    size_t n = json_array_size(v);
    int r;

    if (!json_is_array(v) || n < 1 || n > 2)
        return cm_err_set(err, CM_EINVAL, "filter: header must be an array of 1 or 2 strings");
    r = check_text(json_array_get(v, 0), "header", err);
    if (r < 0)
        return r;
    if (!is_header_name(json_string_value(json_array_get(v, 0))))
        return cm_err_set(err, CM_EINVAL, "filter: header name is not a valid field name");
    return n == 2 ? check_text(json_array_get(v, 1), "header", err) : 0;
}

static int check_resolved(const struct cond_def *d, json_t *v, bool have_resolver,
                          bool *unsupported_r, struct cm_err *err)
{
    int r = 0;

    if (d->kind == C_RESOLVE_DATE) {
        if (str_value(v) == NULL || !is_utcdate(str_value(v)))
            r = cm_err_set(err, CM_EINVAL, "filter: %s must be a UTCDate", d->name);
    } else if (d->kind == C_RESOLVE_BOOL) {
        if (!json_is_boolean(v))
            r = cm_err_set(err, CM_EINVAL, "filter: %s must be a boolean", d->name);
    } else {
        r = check_keyword(v, d->name, err);
    }
    if (r == 0 && !have_resolver) {
        ib_search_set_unsupported(unsupported_r);
        r = cm_err_set(err, CM_EINVAL, "filter: %s is not supported here", d->name);
    }
    return r;
}

static int check_prop(const struct cond_def *d, json_t *v, bool have_resolver, bool *unsupported_r,
                      struct cm_err *err)
{
    switch (d->kind) {
    case C_IN_MAILBOX:
        if (str_value(v) == NULL || !is_id(str_value(v)))
            return cm_err_set(err, CM_EINVAL, "filter: inMailbox must be an id");
        return 0;
    case C_IN_MAILBOX_OTHER_THAN: return check_ids(v, d->name, err);
    case C_TEXT: return check_text(v, d->name, err);
    case C_HEADER: return check_header(v, err);
    case C_MIN_SIZE:
    case C_MAX_SIZE: return check_uint(v, d->name, err);
    case C_KEYWORD: return check_keyword(v, d->name, err);
    default: return check_resolved(d, v, have_resolver, unsupported_r, err);
    }
}

static int check_node(json_t *node, int depth, size_t *count, bool have_resolver,
                      bool *unsupported_r, struct cm_err *err);

static int check_operator(json_t *node, int depth, size_t *count, bool have_resolver,
                          bool *unsupported_r, struct cm_err *err)
{
    json_t *op = json_object_get(node, "operator");
    json_t *list = json_object_get(node, "conditions");
    json_t *child;
    size_t i;
    int r;

    if (!json_is_string(op) ||
        (strcmp(json_string_value(op), "AND") != 0 && strcmp(json_string_value(op), "OR") != 0 &&
         strcmp(json_string_value(op), "NOT") != 0))
        return cm_err_set(err, CM_EINVAL, "filter: operator must be \"AND\", \"OR\" or \"NOT\"");
    if (!json_is_array(list) || json_object_size(node) != 2)
        return cm_err_set(err, CM_EINVAL,
                          "filter: a FilterOperator has exactly operator and conditions[]");
    json_array_foreach(list, i, child)
    {
        r = check_node(child, depth + 1, count, have_resolver, unsupported_r, err);
        if (r < 0)
            return r;
    }
    return 0;
}

static int check_condition(json_t *node, bool have_resolver, bool *unsupported_r,
                           struct cm_err *err)
{
    const char *name;
    json_t *v;
    int r;

    json_object_foreach(node, name, v)
    {
        const struct cond_def *d = cond_find(name);

        if (d == NULL) {
            ib_search_set_unsupported(unsupported_r);
            return cm_err_set(err, CM_EINVAL, "filter: unsupported property \"%.64s\"", name);
        }
        r = check_prop(d, v, have_resolver, unsupported_r, err);
        if (r < 0)
            return r;
    }
    return 0;
}

static int check_node(json_t *node, int depth, size_t *count, bool have_resolver,
                      bool *unsupported_r, struct cm_err *err)
{
    if (depth > IB_SEARCH_MAX_DEPTH)
        return cm_err_set(err, CM_ELIMIT, "filter: nested deeper than %d", IB_SEARCH_MAX_DEPTH);
    if (++*count > IB_SEARCH_MAX_CONDITIONS)
        return cm_err_set(err, CM_ELIMIT, "filter: more than %d conditions",
                          IB_SEARCH_MAX_CONDITIONS);
    if (!json_is_object(node))
        return cm_err_set(err, CM_EINVAL, "filter: a condition must be an object");
    if (json_object_get(node, "operator") != NULL)
        return check_operator(node, depth, count, have_resolver, unsupported_r, err);
    return check_condition(node, have_resolver, unsupported_r, err);
}

int ib_search_filter_check(json_t *filter, bool have_resolver, bool *unsupported_r,
                           struct cm_err *err)
{
    size_t count = 0;

    if (unsupported_r != NULL)
        *unsupported_r = false;
    if (filter == NULL || json_is_null(filter))
        return 0;
    return check_node(filter, 1, &count, have_resolver, unsupported_r, err);
}

/* ---- pass 2: constant folding for one mailbox ------------------------ */

enum tri { T_FALSE, T_TRUE, T_KEY };

static enum tri fold_prop(const struct cond_def *d, json_t *v, const char *mailbox_id)
{
    uint64_t n;
    size_t i;
    json_t *id;

    switch (d->kind) {
    case C_IN_MAILBOX: return strcmp(json_string_value(v), mailbox_id) == 0 ? T_TRUE : T_FALSE;
    case C_IN_MAILBOX_OTHER_THAN:
        json_array_foreach(v, i, id)
        {
            if (strcmp(json_string_value(id), mailbox_id) == 0)
                return T_FALSE;
        }
        return T_TRUE;
    case C_MIN_SIZE: /* size >= n; IMAP sizes are 32-bit */
        n = (uint64_t)json_integer_value(v);
        return n == 0 ? T_TRUE : n - 1 > UINT32_MAX ? T_FALSE : T_KEY;
    case C_MAX_SIZE: /* size < n */
        n = (uint64_t)json_integer_value(v);
        return n == 0 ? T_FALSE : n > UINT32_MAX ? T_TRUE : T_KEY;
    default: return T_KEY;
    }
}

static bool is_operator(json_t *node)
{
    return json_object_get(node, "operator") != NULL;
}

static const char *op_name(json_t *node)
{
    return json_string_value(json_object_get(node, "operator"));
}

/* The value of node for this mailbox if it is constant, else T_KEY. */
static enum tri fold_node(json_t *node, const char *mailbox_id)
{
    bool any_true = false, any_false = false, any_key = false;
    const char *name;
    json_t *v;
    size_t i;

    if (!is_operator(node)) {
        json_object_foreach(node, name, v)
        {
            enum tri t = fold_prop(cond_find(name), v, mailbox_id);

            if (t == T_FALSE)
                return T_FALSE;
            any_key |= t == T_KEY;
        }
        return any_key ? T_KEY : T_TRUE;
    }
    json_array_foreach(json_object_get(node, "conditions"), i, v)
    {
        enum tri t = fold_node(v, mailbox_id);

        any_true |= t == T_TRUE;
        any_false |= t == T_FALSE;
        any_key |= t == T_KEY;
    }
    if (strcmp(op_name(node), "AND") == 0)
        return any_false ? T_FALSE : any_key ? T_KEY : T_TRUE;
    if (strcmp(op_name(node), "OR") == 0)
        return any_true ? T_TRUE : any_key ? T_KEY : T_FALSE;
    return any_true ? T_FALSE : any_key ? T_KEY : T_TRUE; /* NOT */
}

/* ---- pass 2: building keys ------------------------------------------- */

struct build_ctx {
    const char *mailbox_id;
    const struct ib_search_resolver *res;
    struct cm_err *err;
};

struct val {
    enum tri t;
    struct mailimap_search_key *key; /* owned when t == T_KEY */
};

int ib_search_nomem(struct cm_err *err)
{
    return cm_err_set(err, CM_ENOMEM, "out of memory");
}

static struct mailimap_search_key *sk_simple(int type)
{
    return mailimap_search_key_new(type, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                                   NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, 0,
                                   NULL, NULL, NULL);
}

/* Builders: each returns a new key or NULL on allocation failure, and owns
   (frees) its key arguments either way. */
static struct mailimap_search_key *sk_string(struct mailimap_search_key *(*mk)(char *),
                                             const char *s)
{
    char *copy = strdup(s);
    struct mailimap_search_key *k = copy != NULL ? mk(copy) : NULL;

    if (k == NULL)
        free(copy);
    return k;
}

static struct mailimap_search_key *sk_header(const char *name, const char *value)
{
    char *n = strdup(name), *v = strdup(value);
    struct mailimap_search_key *k = NULL;

    if (n != NULL && v != NULL)
        k = mailimap_search_key_new_header(n, v);
    if (k == NULL) {
        free(n);
        free(v);
    }
    return k;
}

static struct mailimap_search_key *sk_not(struct mailimap_search_key *inner)
{
    struct mailimap_search_key *k = inner != NULL ? mailimap_search_key_new_not(inner) : NULL;

    if (k == NULL && inner != NULL)
        mailimap_search_key_free(inner);
    return k;
}

/* NOT k, simplified: NOT NOT x = x, NOT SEEN = UNSEEN, NOT UNKEYWORD x =
   KEYWORD x. KEYWORD is not turned into UNKEYWORD: libetpan quotes
   UNKEYWORD's argument unless it is [A-Za-z0-9-]+, and RFC 3501 wants an
   atom there, so "NOT KEYWORD $x" is the portable form. */
static struct mailimap_search_key *sk_negate(struct mailimap_search_key *k)
{
    struct mailimap_search_key *inner;

    for (size_t i = 0; i < sizeof(sys_flags) / sizeof(sys_flags[0]); i++) {
        if (k->sk_type == sys_flags[i].set || k->sk_type == sys_flags[i].unset) {
            k->sk_type = k->sk_type == sys_flags[i].set ? sys_flags[i].unset : sys_flags[i].set;
            return k;
        }
    }
    if (k->sk_type == MAILIMAP_SEARCH_KEY_UNKEYWORD) {
        k->sk_type = MAILIMAP_SEARCH_KEY_KEYWORD; /* same char * member of the union */
        return k;
    }
    if (k->sk_type == MAILIMAP_SEARCH_KEY_NOT) {
        inner = k->sk_data.sk_not;
        free(k); /* libetpan allocates keys with malloc; the shell owns nothing else */
        return inner;
    }
    return sk_not(k);
}

static struct mailimap_search_key *sk_keyword(const char *keyword, bool negate)
{
    const char *imap = keyword;

    for (size_t i = 0; i < sizeof(sys_flags) / sizeof(sys_flags[0]); i++)
        if (ib_search_ascii_casecmp(keyword, sys_flags[i].keyword) == 0)
            return sk_simple(negate ? sys_flags[i].unset : sys_flags[i].set);
    for (size_t i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++)
        if (ib_search_ascii_casecmp(keyword, spellings[i].keyword) == 0)
            imap = spellings[i].imap;
    if (negate && is_etpan_atom(imap))
        return sk_string(mailimap_search_key_new_unkeyword, imap);
    if (negate)
        return sk_not(sk_string(mailimap_search_key_new_keyword, imap));
    return sk_string(mailimap_search_key_new_keyword, imap);
}

/* mailimap_search_key_new_multiple_empty() leaks its clist when the key's
   own malloc fails (libetpan 1.9.4), hence these two. */
static struct mailimap_search_key *sk_multiple_empty(void)
{
    clist *list = clist_new();
    struct mailimap_search_key *k = list != NULL ? mailimap_search_key_new_multiple(list) : NULL;

    if (k == NULL && list != NULL)
        clist_free(list);
    return k;
}

/* *acc AND k; takes k. Nested ANDs are flattened into one MULTIPLE. */
static int and_add(struct mailimap_search_key **acc, struct mailimap_search_key *k)
{
    struct mailimap_search_key *m;
    clistiter *cur;

    if (*acc == NULL) {
        *acc = k;
        return 0;
    }
    if ((*acc)->sk_type != MAILIMAP_SEARCH_KEY_MULTIPLE) {
        m = sk_multiple_empty();
        if (m == NULL || mailimap_search_key_multiple_add(m, *acc) != MAILIMAP_NO_ERROR) {
            if (m != NULL)
                mailimap_search_key_free(m);
            mailimap_search_key_free(k);
            return CM_ENOMEM;
        }
        *acc = m;
    }
    if (k->sk_type != MAILIMAP_SEARCH_KEY_MULTIPLE) {
        if (mailimap_search_key_multiple_add(*acc, k) != MAILIMAP_NO_ERROR) {
            mailimap_search_key_free(k);
            return CM_ENOMEM;
        }
        return 0;
    }
    while ((cur = clist_begin(k->sk_data.sk_multiple)) != NULL) {
        if (clist_append((*acc)->sk_data.sk_multiple, clist_content(cur)) < 0) {
            mailimap_search_key_free(k);
            return CM_ENOMEM;
        }
        clist_delete(k->sk_data.sk_multiple, cur);
    }
    mailimap_search_key_free(k);
    return 0;
}

/* *tail OR k, nested to the right ("OR a OR b c"); takes k. */
static int or_add(struct mailimap_search_key ***tail, struct mailimap_search_key *k)
{
    struct mailimap_search_key *o;

    if (**tail == NULL) {
        **tail = k;
        return 0;
    }
    o = mailimap_search_key_new_or(**tail, k);
    if (o == NULL) {
        mailimap_search_key_free(k);
        return CM_ENOMEM;
    }
    **tail = o;
    *tail = &o->sk_data.sk_or.sk_or2;
    return 0;
}

static int build_node(const struct build_ctx *c, json_t *node, struct val *out);

/* AND / OR / NOT over the children, short-circuiting on the first child
   that decides the result (so the resolver is not asked further). */
static int build_operator(const struct build_ctx *c, json_t *node, struct val *out)
{
    const char *op = op_name(node);
    bool is_or = strcmp(op, "OR") == 0, is_not = strcmp(op, "NOT") == 0;
    enum tri decisive = is_or || is_not ? T_TRUE : T_FALSE;
    struct mailimap_search_key *acc = NULL, **tail = &acc;
    struct val v;
    size_t i;
    json_t *child;
    bool decided = false;
    int r = 0;

    json_array_foreach(json_object_get(node, "conditions"), i, child)
    {
        r = build_node(c, child, &v);
        decided = r == 0 && v.t == decisive;
        if (r < 0 || decided)
            break;
        if (v.t != T_KEY)
            continue;
        if (is_not)
            v.key = sk_negate(v.key);
        if (v.key == NULL)
            r = CM_ENOMEM;
        else
            r = is_or ? or_add(&tail, v.key) : and_add(&acc, v.key);
        if (r < 0) {
            r = ib_search_nomem(c->err);
            break;
        }
    }
    if (r < 0 || decided) {
        if (acc != NULL)
            mailimap_search_key_free(acc);
        out->t = is_or ? T_TRUE : T_FALSE;
        return r;
    }
    out->key = acc;
    out->t = acc != NULL ? T_KEY : is_or ? T_FALSE : T_TRUE;
    return 0;
}

static int build_resolved(const struct build_ctx *c, const struct cond_def *d, json_t *v,
                          struct val *out)
{
    struct mailimap_set *set = NULL;
    int r = c->res->uids(c->res->arg, c->mailbox_id, d->name, v, &set, c->err);

    if (r != 0) {
        if (set != NULL)
            mailimap_set_free(set);
        if (r > 0 || (c->err != NULL && c->err->code == CM_OK))
            return cm_err_set(c->err, r < 0 ? (enum cm_code)r : CM_EINTERNAL,
                              "filter: resolver failed for %s", d->name);
        return r;
    }
    if (set == NULL || set->set_list == NULL || clist_isempty(set->set_list)) {
        if (set != NULL)
            mailimap_set_free(set);
        out->t = T_FALSE;
        return 0;
    }
    out->key = mailimap_search_key_new_uid(set);
    if (out->key == NULL) {
        mailimap_set_free(set);
        return ib_search_nomem(c->err);
    }
    out->t = T_KEY;
    return 0;
}

static int build_prop(const struct build_ctx *c, const struct cond_def *d, json_t *v,
                      struct val *out)
{
    out->t = fold_prop(d, v, c->mailbox_id);
    out->key = NULL;
    if (out->t != T_KEY)
        return 0;
    switch (d->kind) {
    case C_TEXT: out->key = sk_string(d->text_key, json_string_value(v)); break;
    case C_HEADER:
        out->key =
            sk_header(json_string_value(json_array_get(v, 0)),
                      json_array_size(v) == 2 ? json_string_value(json_array_get(v, 1)) : "");
        break;
    case C_MIN_SIZE:
        out->key = mailimap_search_key_new_larger((uint32_t)(json_integer_value(v) - 1));
        break;
    case C_MAX_SIZE:
        out->key = mailimap_search_key_new_smaller((uint32_t)json_integer_value(v));
        break;
    case C_KEYWORD: out->key = sk_keyword(json_string_value(v), d->negate); break;
    default: return build_resolved(c, d, v, out);
    }
    return out->key != NULL ? 0 : ib_search_nomem(c->err);
}

/* A FilterCondition: the AND of its properties. */
static int build_condition(const struct build_ctx *c, json_t *node, struct val *out)
{
    struct mailimap_search_key *acc = NULL;
    const char *name;
    json_t *v;
    struct val pv;
    int r;

    out->t = T_FALSE;
    json_object_foreach(node, name, v)
    {
        r = build_prop(c, cond_find(name), v, &pv);
        if (r == 0 && pv.t == T_KEY && and_add(&acc, pv.key) < 0)
            r = ib_search_nomem(c->err);
        if (r < 0 || pv.t == T_FALSE) {
            if (acc != NULL)
                mailimap_search_key_free(acc);
            return r;
        }
    }
    out->key = acc;
    out->t = acc != NULL ? T_KEY : T_TRUE;
    return 0;
}

static int build_node(const struct build_ctx *c, json_t *node, struct val *out)
{
    out->t = fold_node(node, c->mailbox_id);
    out->key = NULL;
    if (out->t != T_KEY)
        return 0;
    if (is_operator(node))
        return build_operator(c, node, out);
    return build_condition(c, node, out);
}

int ib_search_key_for_mailbox(json_t *filter, const char *mailbox_id,
                              const struct ib_search_resolver *res,
                              struct mailimap_search_key **key_r, bool *never_r,
                              bool *unsupported_r, struct cm_err *err)
{
    struct build_ctx c = {mailbox_id, res, err};
    struct val v;
    bool have_resolver = res != NULL && res->uids != NULL;
    int r;

    *key_r = NULL;
    *never_r = false;
    r = ib_search_filter_check(filter, have_resolver, unsupported_r, err);
    if (r < 0)
        return r;
    if (filter == NULL || json_is_null(filter))
        return 0;
    r = build_node(&c, filter, &v);
    if (r < 0)
        return r;
    *never_r = v.t == T_FALSE;
    *key_r = v.key;
    return 0;
}

/* ---- inspecting and rendering keys ----------------------------------- */

/* The string members of key, for the types that have them. */
static int key_strings(const struct mailimap_search_key *k, const char *s[2])
{
    switch (k->sk_type) {
    case MAILIMAP_SEARCH_KEY_BCC: s[0] = k->sk_data.sk_bcc; return 1;
    case MAILIMAP_SEARCH_KEY_BODY: s[0] = k->sk_data.sk_body; return 1;
    case MAILIMAP_SEARCH_KEY_CC: s[0] = k->sk_data.sk_cc; return 1;
    case MAILIMAP_SEARCH_KEY_FROM: s[0] = k->sk_data.sk_from; return 1;
    case MAILIMAP_SEARCH_KEY_KEYWORD: s[0] = k->sk_data.sk_keyword; return 1;
    case MAILIMAP_SEARCH_KEY_SUBJECT: s[0] = k->sk_data.sk_subject; return 1;
    case MAILIMAP_SEARCH_KEY_TEXT: s[0] = k->sk_data.sk_text; return 1;
    case MAILIMAP_SEARCH_KEY_TO: s[0] = k->sk_data.sk_to; return 1;
    case MAILIMAP_SEARCH_KEY_UNKEYWORD: s[0] = k->sk_data.sk_unkeyword; return 1;
    case MAILIMAP_SEARCH_KEY_XGMRAW: s[0] = k->sk_data.sk_xgmraw; return 1;
    case MAILIMAP_SEARCH_KEY_HEADER:
        s[0] = k->sk_data.sk_header.sk_header_name;
        s[1] = k->sk_data.sk_header.sk_header_value;
        return 2;
    default: return 0;
    }
}

bool ib_search_needs_utf8(const struct mailimap_search_key *key)
{
    const char *s[2];
    int n;

    if (key == NULL)
        return false;
    n = key_strings(key, s);
    for (int i = 0; i < n; i++)
        if (!is_ascii(s[i]))
            return true;
    switch (key->sk_type) {
    case MAILIMAP_SEARCH_KEY_NOT: return ib_search_needs_utf8(key->sk_data.sk_not);
    case MAILIMAP_SEARCH_KEY_OR:
        return ib_search_needs_utf8(key->sk_data.sk_or.sk_or1) ||
               ib_search_needs_utf8(key->sk_data.sk_or.sk_or2);
    case MAILIMAP_SEARCH_KEY_MULTIPLE:
        for (clistiter *cur = clist_begin(key->sk_data.sk_multiple); cur != NULL;
             cur = clist_next(cur))
            if (ib_search_needs_utf8(clist_content(cur)))
                return true;
        return false;
    default: return false;
    }
}

static const struct {
    int type;
    const char *name;
    bool has_args;
} word_keys[] = {
    {MAILIMAP_SEARCH_KEY_ALL, "ALL", false},
    {MAILIMAP_SEARCH_KEY_ANSWERED, "ANSWERED", false},
    {MAILIMAP_SEARCH_KEY_DELETED, "DELETED", false},
    {MAILIMAP_SEARCH_KEY_FLAGGED, "FLAGGED", false},
    {MAILIMAP_SEARCH_KEY_NEW, "NEW", false},
    {MAILIMAP_SEARCH_KEY_OLD, "OLD", false},
    {MAILIMAP_SEARCH_KEY_RECENT, "RECENT", false},
    {MAILIMAP_SEARCH_KEY_SEEN, "SEEN", false},
    {MAILIMAP_SEARCH_KEY_UNANSWERED, "UNANSWERED", false},
    {MAILIMAP_SEARCH_KEY_UNDELETED, "UNDELETED", false},
    {MAILIMAP_SEARCH_KEY_UNFLAGGED, "UNFLAGGED", false},
    {MAILIMAP_SEARCH_KEY_UNSEEN, "UNSEEN", false},
    {MAILIMAP_SEARCH_KEY_DRAFT, "DRAFT", false},
    {MAILIMAP_SEARCH_KEY_UNDRAFT, "UNDRAFT", false},
    /* keys followed by " " and arguments (r_args) */
    {MAILIMAP_SEARCH_KEY_BCC, "BCC", true},
    {MAILIMAP_SEARCH_KEY_BODY, "BODY", true},
    {MAILIMAP_SEARCH_KEY_CC, "CC", true},
    {MAILIMAP_SEARCH_KEY_FROM, "FROM", true},
    {MAILIMAP_SEARCH_KEY_SUBJECT, "SUBJECT", true},
    {MAILIMAP_SEARCH_KEY_TEXT, "TEXT", true},
    {MAILIMAP_SEARCH_KEY_TO, "TO", true},
    {MAILIMAP_SEARCH_KEY_UNKEYWORD, "UNKEYWORD", true},
    {MAILIMAP_SEARCH_KEY_XGMRAW, "X-GM-RAW", true},
    {MAILIMAP_SEARCH_KEY_KEYWORD, "KEYWORD", true},
    {MAILIMAP_SEARCH_KEY_HEADER, "HEADER", true},
    {MAILIMAP_SEARCH_KEY_BEFORE, "BEFORE", true},
    {MAILIMAP_SEARCH_KEY_ON, "ON", true},
    {MAILIMAP_SEARCH_KEY_SINCE, "SINCE", true},
    {MAILIMAP_SEARCH_KEY_SENTBEFORE, "SENTBEFORE", true},
    {MAILIMAP_SEARCH_KEY_SENTON, "SENTON", true},
    {MAILIMAP_SEARCH_KEY_SENTSINCE, "SENTSINCE", true},
    {MAILIMAP_SEARCH_KEY_LARGER, "LARGER", true},
    {MAILIMAP_SEARCH_KEY_SMALLER, "SMALLER", true},
    {MAILIMAP_SEARCH_KEY_NOT, "NOT", true},
    {MAILIMAP_SEARCH_KEY_OR, "OR", true},
    {MAILIMAP_SEARCH_KEY_UID, "UID", true},
    {MAILIMAP_SEARCH_KEY_XGMTHRID, "X-GM-THRID", true},
    {MAILIMAP_SEARCH_KEY_XGMMSGID, "X-GM-MSGID", true},
};

/* The word_keys[] index of type, or -1. */
static int word_key(int type)
{
    for (size_t i = 0; i < sizeof(word_keys) / sizeof(word_keys[0]); i++)
        if (word_keys[i].type == type)
            return (int)i;
    return -1;
}

/* mailimap_astring_send / mailimap_astring_literalplus_send */
static int r_astring(struct cm_buf *b, const char *s, bool literalplus)
{
    int r;

    if (literalplus && !is_ascii(s))
        return cm_buf_printf(b, "{%zu+}\r\n%s", strlen(s), s);
    if (is_etpan_atom(s))
        return cm_buf_append_str(b, s);
    r = cm_buf_append(b, "\"", 1);
    for (; *s != '\0' && r == 0; s++) {
        if (*s == '"' || *s == '\\')
            r = cm_buf_append(b, "\\", 1);
        if (r == 0)
            r = cm_buf_append(b, s, 1);
    }
    return r == 0 ? cm_buf_append(b, "\"", 1) : r;
}

/* mailimap_date_send: day unpadded, month token, 4-digit year */
static int r_date(struct cm_buf *b, const struct mailimap_date *d)
{
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

    if (d == NULL || d->dt_month < 1 || d->dt_month > 12 || d->dt_day < 0 || d->dt_year < 0)
        return CM_EINVAL;
    return cm_buf_printf(b, "%d-%s-%04d", d->dt_day, months[d->dt_month - 1], d->dt_year % 10000);
}

static int r_seq(struct cm_buf *b, uint32_t n)
{
    return n == 0 ? cm_buf_append(b, "*", 1) : cm_buf_printf(b, "%" PRIu32, n);
}

/* mailimap_set_send: items joined by ',', "a:b", 0 = '*' */
static int r_set(struct cm_buf *b, const struct mailimap_set *set)
{
    int r = 0;

    for (clistiter *cur = clist_begin(set->set_list); cur != NULL && r == 0;
         cur = clist_next(cur)) {
        const struct mailimap_set_item *it = clist_content(cur);

        if (cur != clist_begin(set->set_list))
            r = cm_buf_append(b, ",", 1);
        if (r == 0)
            r = r_seq(b, it->set_first);
        if (r == 0 && it->set_first != it->set_last) {
            r = cm_buf_append(b, ":", 1);
            if (r == 0)
                r = r_seq(b, it->set_last);
        }
    }
    return r;
}

static int r_key(struct cm_buf *b, const struct mailimap_search_key *k, bool lp, bool top);

static int r_multiple(struct cm_buf *b, clist *list, bool lp, bool top)
{
    int r = top ? 0 : cm_buf_append(b, "(", 1);

    for (clistiter *cur = clist_begin(list); cur != NULL && r == 0; cur = clist_next(cur)) {
        if (cur != clist_begin(list))
            r = cm_buf_append(b, " ", 1);
        if (r == 0)
            r = r_key(b, clist_content(cur), lp, false);
    }
    return r == 0 && !top ? cm_buf_append(b, ")", 1) : r;
}

/* The argument part of k (after "WORD "), as search_key_send() writes it. */
static int r_args(struct cm_buf *b, const struct mailimap_search_key *k, bool lp)
{
    const char *s[2];
    int r;

    switch (k->sk_type) {
    case MAILIMAP_SEARCH_KEY_KEYWORD: return cm_buf_append_str(b, k->sk_data.sk_keyword);
    case MAILIMAP_SEARCH_KEY_HEADER:
        key_strings(k, s);
        r = r_astring(b, s[0], false); /* the field name is never a literal */
        if (r == 0)
            r = cm_buf_append(b, " ", 1);
        return r == 0 ? r_astring(b, s[1], lp) : r;
    case MAILIMAP_SEARCH_KEY_BEFORE: return r_date(b, k->sk_data.sk_before);
    case MAILIMAP_SEARCH_KEY_ON: return r_date(b, k->sk_data.sk_on);
    case MAILIMAP_SEARCH_KEY_SINCE: return r_date(b, k->sk_data.sk_since);
    case MAILIMAP_SEARCH_KEY_SENTBEFORE: return r_date(b, k->sk_data.sk_sentbefore);
    case MAILIMAP_SEARCH_KEY_SENTON: return r_date(b, k->sk_data.sk_senton);
    case MAILIMAP_SEARCH_KEY_SENTSINCE: return r_date(b, k->sk_data.sk_sentsince);
    case MAILIMAP_SEARCH_KEY_LARGER: return cm_buf_printf(b, "%" PRIu32, k->sk_data.sk_larger);
    case MAILIMAP_SEARCH_KEY_SMALLER: return cm_buf_printf(b, "%" PRIu32, k->sk_data.sk_smaller);
    case MAILIMAP_SEARCH_KEY_NOT: return r_key(b, k->sk_data.sk_not, lp, false);
    case MAILIMAP_SEARCH_KEY_OR:
        r = r_key(b, k->sk_data.sk_or.sk_or1, lp, false);
        if (r == 0)
            r = cm_buf_append(b, " ", 1);
        return r == 0 ? r_key(b, k->sk_data.sk_or.sk_or2, lp, false) : r;
    case MAILIMAP_SEARCH_KEY_UID: return r_set(b, k->sk_data.sk_uid);
    case MAILIMAP_SEARCH_KEY_XGMTHRID:
        return cm_buf_printf(b, "%llu", (unsigned long long)k->sk_data.sk_xgmthrid);
    case MAILIMAP_SEARCH_KEY_XGMMSGID:
        return cm_buf_printf(b, "%llu", (unsigned long long)k->sk_data.sk_xgmmsgid);
    default:
        if (key_strings(k, s) == 1)
            return r_astring(b, s[0], lp);
        return CM_EINVAL;
    }
}

static int r_key(struct cm_buf *b, const struct mailimap_search_key *k, bool lp, bool top)
{
    int w = word_key(k->sk_type), r;

    if (k->sk_type == MAILIMAP_SEARCH_KEY_MULTIPLE)
        return r_multiple(b, k->sk_data.sk_multiple, lp, top);
    if (k->sk_type == MAILIMAP_SEARCH_KEY_SET)
        return r_set(b, k->sk_data.sk_set);
    if (w < 0)
        return CM_EINVAL; /* MODSEQ: never built here */
    r = cm_buf_append_str(b, word_keys[w].name);
    if (r < 0 || !word_keys[w].has_args)
        return r;
    r = cm_buf_append(b, " ", 1);
    return r == 0 ? r_args(b, k, lp) : r;
}

char *ib_search_key_render_wire(const struct mailimap_search_key *key, enum ib_search_wire wire)
{
    struct cm_buf b;
    char *out = NULL;

    cm_buf_init(&b, RENDER_MAX_BYTES);
    if (key == NULL) {
        if (cm_buf_append_str(&b, "ALL") == 0)
            out = cm_buf_steal(&b, NULL);
    } else if (r_key(&b, key, wire == IB_SEARCH_WIRE_LITERALPLUS, true) == 0) {
        out = cm_buf_steal(&b, NULL);
    }
    cm_buf_fini(&b);
    return out;
}

char *ib_search_key_render(const struct mailimap_search_key *key)
{
    return ib_search_key_render_wire(key, IB_SEARCH_WIRE_PLAIN);
}

/* ---- keys built piece by piece ----------------------------------------- */

struct mailimap_search_key *ib_search_key_uids(struct mailimap_set *set)
{
    struct mailimap_search_key *k = set ? mailimap_search_key_new_uid(set) : NULL;

    if (k == NULL && set != NULL)
        mailimap_set_free(set);
    return k;
}

static struct mailimap_search_key *header_key(const char *field, const char *value)
{
    char *f = strdup(field), *v = strdup(value);
    struct mailimap_search_key *k = f && v ? mailimap_search_key_new_header(f, v) : NULL;

    if (k == NULL) {
        free(f);
        free(v);
    }
    return k;
}

/* OR of HEADER f[i * fstep] v[i * vstep] for i < n, right-nested:
   OR k0 (OR k1 (... kn-1)); NULL when n is 0 or out of memory. */
static struct mailimap_search_key *header_or(const char *const *f, size_t fstep,
                                             const char *const *v, size_t vstep, size_t n)
{
    struct mailimap_search_key *k = n ? header_key(f[(n - 1) * fstep], v[(n - 1) * vstep]) : NULL;

    for (size_t i = n - 1; k != NULL && i-- > 0;) {
        struct mailimap_search_key *h = header_key(f[i * fstep], v[i * vstep]), *or;

        or = h ? mailimap_search_key_new_or(h, k) : NULL;
        if (or == NULL) {
            if (h != NULL)
                mailimap_search_key_free(h);
            mailimap_search_key_free(k);
        }
        k = or;
    }
    return k;
}

struct mailimap_search_key *ib_search_key_header_any(const char *const *fields, size_t n,
                                                     const char *value)
{
    return header_or(fields, 1, &value, 0, n);
}

struct mailimap_search_key *ib_search_key_header_values(const char *field,
                                                        const char *const *values, size_t n)
{
    return header_or(&field, 0, values, 1, n);
}

struct mailimap_search_key *ib_search_key_or(struct mailimap_search_key *a,
                                             struct mailimap_search_key *b)
{
    struct mailimap_search_key *k = a && b ? mailimap_search_key_new_or(a, b) : NULL;

    if (k == NULL) {
        if (a != NULL)
            mailimap_search_key_free(a);
        if (b != NULL)
            mailimap_search_key_free(b);
    }
    return k;
}

struct mailimap_search_key *ib_search_key_day(bool before, time_t t)
{
    struct mailimap_search_key *k;
    struct mailimap_date *d;
    struct tm tm;

    gmtime_r(&t, &tm);
    d = mailimap_date_new(tm.tm_mday, tm.tm_mon + 1, tm.tm_year + 1900);
    if (d == NULL)
        return NULL;
    k = before ? mailimap_search_key_new_before(d) : mailimap_search_key_new_since(d);
    if (k == NULL)
        mailimap_date_free(d);
    return k;
}

void ib_search_key_free(struct mailimap_search_key *key)
{
    if (key != NULL)
        mailimap_search_key_free(key);
}

struct mailimap_search_key *ib_search_key_gm_thread(const char *decimal)
{
    size_t n = strspn(decimal, "0123456789");
    char *end = NULL;
    unsigned long long v;

    if (n == 0 || n > 20 || decimal[n] != '\0')
        return NULL;
    errno = 0;
    v = strtoull(decimal, &end, 10);
    return errno == 0 ? mailimap_search_key_new_xgmthrid(v) : NULL;
}
