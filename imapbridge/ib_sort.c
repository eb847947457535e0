/* ib_sort.c - JMAP Email/query sort comparators -> IMAP SORT criteria or a
 * client-side comparison (RFC 8621 §4.4.2, RFC 5256 base subject). Split
 * from ib_search.c; the API is declared in ib_search.h. */
#include "imapbridge/ib_search.h"
#include "imapbridge/ib_search_util.h"

#include <libetpan/libetpan.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm_buf.h"

#define RENDER_MAX_BYTES (16u * 1024 * 1024)

/* A MULTIPLE sort key; libetpan leaks its list when out of memory. */
static struct mailimap_sort_key *sort_multiple_empty(void)
{
    clist *list = clist_new();
    struct mailimap_sort_key *k = list != NULL ? mailimap_sort_key_new_multiple(list) : NULL;

    if (k == NULL && list != NULL)
        clist_free(list);
    return k;
}

/* ---- sort ------------------------------------------------------------ */

/* In enum ib_sort_field order (r_client_plan indexes it). */
static const struct {
    const char *name;
    enum ib_sort_field field;
    int imap; /* MAILIMAP_SORT_KEY_*, or -1: client side only */
} sort_props[] = {
    {"receivedAt", IB_SORT_RECEIVED_AT, MAILIMAP_SORT_KEY_ARRIVAL},
    {"sentAt", IB_SORT_SENT_AT, MAILIMAP_SORT_KEY_DATE},
    {"size", IB_SORT_SIZE, MAILIMAP_SORT_KEY_SIZE},
    {"from", IB_SORT_FROM, MAILIMAP_SORT_KEY_FROM},
    {"to", IB_SORT_TO, MAILIMAP_SORT_KEY_TO},
    {"subject", IB_SORT_SUBJECT, MAILIMAP_SORT_KEY_SUBJECT},
    {"hasKeyword", IB_SORT_HAS_KEYWORD, -1},
    {"someInThreadHaveKeyword", IB_SORT_SOME_IN_THREAD, -1},
    {"allInThreadHaveKeyword", IB_SORT_ALL_IN_THREAD, -1},
};

/* In enum ib_sort_collation order. */
static const struct {
    const char *name;
    enum ib_sort_collation coll;
} collations[] = {
    {"i;ascii-casemap", IB_SORT_COLL_ASCII_CASEMAP},
    {"i;unicode-casemap", IB_SORT_COLL_UNICODE_CASEMAP},
    {"i;ascii-numeric", IB_SORT_COLL_ASCII_NUMERIC},
};

static const char *const comparator_members[] = {"property", "isAscending", "collation", "keyword"};

static bool takes_keyword(enum ib_sort_field f)
{
    return f == IB_SORT_HAS_KEYWORD || f == IB_SORT_SOME_IN_THREAD || f == IB_SORT_ALL_IN_THREAD;
}

static int sort_prop_index(const char *name)
{
    for (size_t i = 0; i < sizeof(sort_props) / sizeof(sort_props[0]); i++)
        if (strcmp(sort_props[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int check_comparator_members(json_t *o, struct cm_err *err)
{
    const char *name;
    json_t *v;

    json_object_foreach(o, name, v)
    {
        size_t i = 0;

        while (i < 4 && strcmp(name, comparator_members[i]) != 0)
            i++;
        if (i == 4)
            return cm_err_set(err, CM_EINVAL, "sort: unknown Comparator member \"%.64s\"", name);
    }
    return 0;
}

static int parse_collation(json_t *coll, struct ib_sort_crit *c, bool *unsupported_r,
                           struct cm_err *err)
{
    c->collation = IB_SORT_COLL_ASCII_CASEMAP;
    if (coll == NULL)
        return 0;
    for (size_t i = 0; i < sizeof(collations) / sizeof(collations[0]); i++) {
        if (strcmp(json_string_value(coll), collations[i].name) == 0) {
            c->collation = collations[i].coll;
            return 0;
        }
    }
    ib_search_set_unsupported(unsupported_r);
    return cm_err_set(err, CM_EINVAL, "sort: unsupported collation \"%.64s\"",
                      json_string_value(coll));
}

static void lower_copy(char *dst, const char *src)
{
    do
        *dst++ = (char)ib_search_ascii_lower((unsigned char)*src);
    while (*src++ != '\0');
}

static int parse_comparator(json_t *o, struct ib_sort_crit *c, bool *unsupported_r,
                            struct cm_err *err)
{
    json_t *prop, *asc, *coll, *kw;
    int i, r;

    if (!json_is_object(o))
        return cm_err_set(err, CM_EINVAL, "sort: a Comparator must be an object");
    r = check_comparator_members(o, err);
    if (r < 0)
        return r;
    prop = json_object_get(o, "property");
    asc = json_object_get(o, "isAscending");
    coll = json_object_get(o, "collation");
    kw = json_object_get(o, "keyword");
    if (!json_is_string(prop) || (asc != NULL && !json_is_boolean(asc)) ||
        (coll != NULL && !json_is_string(coll)))
        return cm_err_set(err, CM_EINVAL,
                          "sort: property must be a string, isAscending a "
                          "boolean, collation a string");
    if (kw != NULL && !ib_search_is_keyword_json(kw))
        return cm_err_set(err, CM_EINVAL, "sort: keyword must be a valid keyword");
    i = sort_prop_index(json_string_value(prop));
    if (i < 0) {
        ib_search_set_unsupported(unsupported_r);
        return cm_err_set(err, CM_EINVAL, "sort: unsupported property \"%.64s\"",
                          json_string_value(prop));
    }
    c->field = sort_props[i].field;
    c->ascending = asc == NULL || json_is_true(asc);
    if (takes_keyword(c->field) != (kw != NULL))
        return cm_err_set(err, CM_EINVAL, "sort: keyword goes with hasKeyword and the "
                                          "InThreadHaveKeyword sorts, and only there");
    lower_copy(c->keyword, kw != NULL ? json_string_value(kw) : ""); /* <= 255 bytes */
    return parse_collation(coll, c, unsupported_r, err);
}

static bool needs_client(const struct ib_sort_crit *c)
{
    bool text = c->field == IB_SORT_FROM || c->field == IB_SORT_TO || c->field == IB_SORT_SUBJECT;

    return takes_keyword(c->field) || (text && c->collation == IB_SORT_COLL_ASCII_NUMERIC);
}

static int imap_sort_type(enum ib_sort_field f)
{
    for (size_t i = 0; i < sizeof(sort_props) / sizeof(sort_props[0]); i++)
        if (sort_props[i].field == f)
            return sort_props[i].imap;
    return -1;
}

/* One key for one criterion, or a MULTIPLE of them. */
static int build_server_key(struct ib_sort_plan *plan, struct cm_err *err)
{
    struct mailimap_sort_key *m = NULL, *k;

    for (size_t i = 0; i < plan->n_crit; i++) {
        k = mailimap_sort_key_new(imap_sort_type(plan->crit[i].field), !plan->crit[i].ascending,
                                  NULL);
        if (k == NULL)
            goto nomem;
        if (plan->n_crit == 1) {
            plan->server_key = k;
            return 0;
        }
        if (m == NULL)
            m = sort_multiple_empty();
        if (m == NULL || mailimap_sort_key_multiple_add(m, k) != MAILIMAP_NO_ERROR) {
            mailimap_sort_key_free(k);
            goto nomem;
        }
    }
    plan->server_key = m;
    return 0;
nomem:
    if (m != NULL)
        mailimap_sort_key_free(m);
    return ib_search_nomem(err);
}

int ib_sort_build(json_t *comparators, unsigned caps, struct ib_sort_plan *plan,
                  bool *unsupported_r, struct cm_err *err)
{
    bool client = false;
    size_t i;
    json_t *o;
    int r;

    memset(plan, 0, sizeof(*plan));
    if (unsupported_r != NULL)
        *unsupported_r = false;
    if (comparators == NULL || json_is_null(comparators))
        return 0;
    if (!json_is_array(comparators))
        return cm_err_set(err, CM_EINVAL, "sort: must be an array of Comparators");
    if (json_array_size(comparators) > IB_SORT_MAX_COMPARATORS)
        return cm_err_set(err, CM_ELIMIT, "sort: more than %d Comparators",
                          IB_SORT_MAX_COMPARATORS);
    json_array_foreach(comparators, i, o)
    {
        r = parse_comparator(o, &plan->crit[i], unsupported_r, err);
        if (r < 0) {
            memset(plan, 0, sizeof(*plan));
            return r;
        }
        client |= needs_client(&plan->crit[i]);
    }
    plan->n_crit = json_array_size(comparators);
    if (client || !(caps & IB_SORT_CAP_SORT) || plan->n_crit == 0)
        return 0;
    r = build_server_key(plan, err);
    if (r < 0)
        memset(plan, 0, sizeof(*plan));
    return r;
}

void ib_sort_plan_fini(struct ib_sort_plan *plan)
{
    if (plan->server_key != NULL)
        mailimap_sort_key_free(plan->server_key);
    memset(plan, 0, sizeof(*plan));
}

static int cmp_sign(long long d)
{
    return (d > 0) - (d < 0);
}

static int cmp_i64(int64_t a, int64_t b)
{
    return (a > b) - (a < b);
}

static int cmp_casemap(const char *a, const char *b)
{
    return cmp_sign(ib_search_ascii_casecmp(a != NULL ? a : "", b != NULL ? b : ""));
}

/* RFC 4790 §9.1: the leading digits as a number; no leading digit is
   "positive infinity", equal to any other such string. */
static int cmp_numeric(const char *a, const char *b)
{
    size_t la, lb;

    a = a != NULL ? a : "";
    b = b != NULL ? b : "";
    if (!ib_search_is_digit((unsigned char)*a) || !ib_search_is_digit((unsigned char)*b))
        return ib_search_is_digit((unsigned char)*b) - ib_search_is_digit((unsigned char)*a);
    while (a[0] == '0' && ib_search_is_digit((unsigned char)a[1]))
        a++;
    while (b[0] == '0' && ib_search_is_digit((unsigned char)b[1]))
        b++;
    la = strspn(a, "0123456789");
    lb = strspn(b, "0123456789");
    if (la != lb)
        return la < lb ? -1 : 1;
    return cmp_sign(memcmp(a, b, la));
}

static bool item_has_keyword(const struct ib_sort_item *it, const char *keyword)
{
    for (size_t i = 0; i < it->n_keywords; i++)
        if (it->keywords[i] != NULL && ib_search_ascii_casecmp(it->keywords[i], keyword) == 0)
            return true;
    return false;
}

static int cmp_text(const struct ib_sort_crit *c, const char *a, const char *b)
{
    return c->collation == IB_SORT_COLL_ASCII_NUMERIC ? cmp_numeric(a, b) : cmp_casemap(a, b);
}

static int cmp_bit(uint32_t a, uint32_t b, size_t bit)
{
    return (int)((a >> bit) & 1u) - (int)((b >> bit) & 1u);
}

/* c is comparator number i of its plan. */
static int cmp_crit(const struct ib_sort_crit *c, size_t i, const struct ib_sort_item *a,
                    const struct ib_sort_item *b)
{
    switch (c->field) {
    case IB_SORT_RECEIVED_AT: return cmp_i64(a->received_at, b->received_at);
    case IB_SORT_SENT_AT: return cmp_i64(a->sent_at, b->sent_at);
    case IB_SORT_SIZE: return (a->size > b->size) - (a->size < b->size);
    case IB_SORT_FROM: return cmp_text(c, a->from, b->from);
    case IB_SORT_TO: return cmp_text(c, a->to, b->to);
    case IB_SORT_SUBJECT: return cmp_text(c, a->subject, b->subject);
    case IB_SORT_HAS_KEYWORD:
        return (int)item_has_keyword(a, c->keyword) - (int)item_has_keyword(b, c->keyword);
    case IB_SORT_SOME_IN_THREAD:
    case IB_SORT_ALL_IN_THREAD: return cmp_bit(a->thread_bits, b->thread_bits, i);
    }
    return 0;
}

int ib_sort_compare(const struct ib_sort_plan *plan, const struct ib_sort_item *a,
                    const struct ib_sort_item *b)
{
    for (size_t i = 0; i < plan->n_crit; i++) {
        int r = cmp_crit(&plan->crit[i], i, a, b);

        if (r != 0)
            return plan->crit[i].ascending ? r : -r;
    }
    if (a->uid != b->uid)
        return a->uid < b->uid ? -1 : 1;
    return cmp_i64(a->mailbox_index, b->mailbox_index);
}

/* ---- RFC 5256 base subject ------------------------------------------- */

static bool prefix_ci(const char *p, size_t n, const char *word)
{
    size_t wl = strlen(word);

    if (n < wl)
        return false;
    for (size_t i = 0; i < wl; i++)
        if (ib_search_ascii_lower((unsigned char)p[i]) != word[i])
            return false;
    return true;
}

/* subj-blob = "[" *BLOBCHAR "]" *WSP; like Dovecot, any byte but [ ] is a
   BLOBCHAR (RFC 5256 says 7-bit, but subjects are UTF-8 by now). */
static size_t blob_len(const char *p, size_t n)
{
    size_t i = 1;

    if (n == 0 || p[0] != '[')
        return 0;
    while (i < n && p[i] != ']') {
        if (p[i] == '[')
            return 0;
        i++;
    }
    if (i == n)
        return 0;
    for (i++; i < n && p[i] == ' ';)
        i++;
    return i;
}

/* subj-leader = (*subj-blob subj-refwd) / WSP
   subj-refwd  = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":" */
static size_t leader_len(const char *p, size_t n)
{
    size_t i = 0, b;

    if (n > 0 && p[0] == ' ')
        return 1;
    while ((b = blob_len(p + i, n - i)) > 0)
        i += b;
    if (prefix_ci(p + i, n - i, "re"))
        i += 2;
    else if (prefix_ci(p + i, n - i, "fwd"))
        i += 3;
    else if (prefix_ci(p + i, n - i, "fw"))
        i += 2;
    else
        return 0;
    while (i < n && p[i] == ' ')
        i++;
    b = blob_len(p + i, n - i);
    return i + b < n && p[i + b] == ':' ? i + b + 1 : 0;
}

/* Step 1: tabs, CR, LF and runs of them with spaces become one space. */
static size_t fold_spaces(const char *in, char *out)
{
    size_t len = 0;
    bool space = false;

    for (; *in != '\0'; in++) {
        bool ws = *in == ' ' || *in == '\t' || *in == '\r' || *in == '\n';

        if (!ws)
            out[len++] = *in;
        else if (!space)
            out[len++] = ' ';
        space = ws;
    }
    return len;
}

char *ib_sort_base_subject(const char *subject)
{
    size_t start = 0, end, m;
    char *s;

    subject = subject != NULL ? subject : "";
    s = malloc(strlen(subject) + 1);
    if (s == NULL)
        return NULL;
    end = fold_spaces(subject, s);
    for (;;) {
        /* (2) trailers: "(fwd)" and WSP */
        while (end > start &&
               (s[end - 1] == ' ' || (end - start >= 5 && prefix_ci(s + end - 5, 5, "(fwd)"))))
            end -= s[end - 1] == ' ' ? 1 : 5;
        /* (3)-(5) leaders, and a leading blob unless it is all that is left */
        for (;;) {
            m = leader_len(s + start, end - start);
            if (m == 0) {
                m = blob_len(s + start, end - start);
                m = start + m < end ? m : 0;
            }
            if (m == 0)
                break;
            start += m;
        }
        /* (6) "[fwd:" ... "]" */
        if (end - start < 6 || !prefix_ci(s + start, end - start, "[fwd:") || s[end - 1] != ']')
            break;
        start += 5;
        end--;
    }
    memmove(s, s + start, end - start);
    s[end - start] = '\0';
    return s;
}

/* ---- sort plan rendering --------------------------------------------- */

static int r_sort_key(struct cm_buf *b, const struct mailimap_sort_key *k)
{
    static const char *const names[] = {"ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO"};
    int r = 0;

    if (k->sortk_type == MAILIMAP_SORT_KEY_MULTIPLE) {
        for (clistiter *cur = clist_begin(k->sortk_multiple); cur != NULL && r == 0;
             cur = clist_next(cur)) {
            if (cur != clist_begin(k->sortk_multiple))
                r = cm_buf_append(b, " ", 1);
            if (r == 0)
                r = r_sort_key(b, clist_content(cur));
        }
        return r;
    }
    if (k->sortk_type < 0 || k->sortk_type > MAILIMAP_SORT_KEY_TO)
        return CM_EINVAL;
    if (k->sortk_is_reverse)
        r = cm_buf_append_str(b, "REVERSE ");
    return r == 0 ? cm_buf_append_str(b, names[k->sortk_type]) : r;
}

static int r_client_plan(struct cm_buf *b, const struct ib_sort_plan *plan)
{
    int r = cm_buf_append_str(b, "client:");

    for (size_t i = 0; i < plan->n_crit && r == 0; i++) {
        const struct ib_sort_crit *c = &plan->crit[i];

        r = cm_buf_printf(b, " %c%s", c->ascending ? '+' : '-', sort_props[c->field].name);
        if (r == 0 && takes_keyword(c->field))
            r = cm_buf_printf(b, "(%s)", c->keyword);
        if (r == 0 && c->collation != IB_SORT_COLL_ASCII_CASEMAP)
            r = cm_buf_printf(b, "[%s]", collations[c->collation].name);
    }
    return r;
}

char *ib_sort_render(const struct ib_sort_plan *plan)
{
    struct cm_buf b;
    char *out = NULL;
    int r;

    cm_buf_init(&b, RENDER_MAX_BYTES);
    if (plan->server_key != NULL) {
        r = cm_buf_append(&b, "(", 1);
        if (r == 0)
            r = r_sort_key(&b, plan->server_key);
        if (r == 0)
            r = cm_buf_append(&b, ")", 1);
    } else {
        r = r_client_plan(&b, plan);
    }
    if (r == 0)
        out = cm_buf_steal(&b, NULL);
    cm_buf_fini(&b);
    return out;
}
