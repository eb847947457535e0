/* gw_jmap_mailbox_query.c - Mailbox/query (RFC 8621 §2.3): filters
 * parentId, name, role, hasAnyRole, isSubscribed with AND/OR/NOT; sort by
 * name or sortOrder; sortAsTree and filterAsTree. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gateway/gw_ctx.h"
#include "gateway/jmap/gw_jmap_methods.h"
#include "gateway/jmap/gw_jmap_std.h"
#include "gateway/gw_req.h"
#include "imapbridge/ib_mailbox.h"

#define MAX_FILTER_DEPTH 16

struct sort_rule {
    bool by_name; /* else sortOrder */
    bool ascending;
};

struct mquery {
    const struct ib_folder_list *l;
    struct sort_rule rules[4];
    size_t nrules;
    bool as_tree;
};

static bool str_eq_nullable(const char *a, json_t *want)
{
    if (json_is_null(want))
        return a == NULL;
    return a != NULL && strcmp(a, json_string_value(want)) == 0;
}

/* Case-insensitive substring for ASCII; exact bytes beyond ASCII. */
static bool contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);

    for (; *hay != '\0'; hay++) {
        if (strncasecmp(hay, needle, n) == 0)
            return true;
    }
    return n == 0;
}

static int match(const struct ib_folder *f, json_t *filter, int depth, bool *ok_r,
                 struct cm_err *err);

static int match_operator(const struct ib_folder *f, json_t *filter, int depth, bool *ok_r,
                          struct cm_err *err)
{
    const char *op = json_string_value(json_object_get(filter, "operator"));
    json_t *conds = json_object_get(filter, "conditions"), *c;
    bool any = false, all = true;
    size_t i;

    if (op == NULL || !json_is_array(conds) || json_object_size(filter) != 2)
        return cm_err_set(err, CM_EINVAL, "a FilterOperator needs operator and conditions");
    json_array_foreach(conds, i, c) {
        bool one;

        if (match(f, c, depth + 1, &one, err) < 0)
            return err->code;
        any |= one;
        all &= one;
    }
    if (strcmp(op, "AND") == 0)
        *ok_r = all;
    else if (strcmp(op, "OR") == 0)
        *ok_r = any;
    else if (strcmp(op, "NOT") == 0)
        *ok_r = !any;
    else
        return cm_err_set(err, CM_EINVAL, "operator must be AND, OR or NOT");
    return 0;
}

static int match_condition(const struct ib_folder *f, json_t *filter, bool *ok_r,
                           struct cm_err *err)
{
    const char *key;
    json_t *v;
    bool ok = true;

    json_object_foreach(filter, key, v) {
        if (strcmp(key, "parentId") == 0 && (json_is_null(v) || json_is_string(v)))
            ok &= str_eq_nullable(f->parent_id, v);
        else if (strcmp(key, "name") == 0 && json_is_string(v))
            ok &= contains_ci(f->name, json_string_value(v));
        else if (strcmp(key, "role") == 0 && (json_is_null(v) || json_is_string(v)))
            ok &= str_eq_nullable(f->role, v);
        else if (strcmp(key, "hasAnyRole") == 0 && json_is_boolean(v))
            ok &= (f->role != NULL) == json_is_true(v);
        else if (strcmp(key, "isSubscribed") == 0 && json_is_boolean(v))
            ok &= f->subscribed == json_is_true(v);
        else
            return cm_err_set(err, CM_EINVAL, "unsupported or mistyped filter property %s", key);
    }
    *ok_r = ok;
    return 0;
}

static int match(const struct ib_folder *f, json_t *filter, int depth, bool *ok_r,
                 struct cm_err *err)
{
    if (depth > MAX_FILTER_DEPTH)
        return cm_err_set(err, CM_EINVAL, "filter nested too deep");
    if (!json_is_object(filter))
        return cm_err_set(err, CM_EINVAL, "a filter must be an object");
    if (json_object_get(filter, "operator") != NULL)
        return match_operator(f, filter, depth, ok_r, err);
    return match_condition(f, filter, ok_r, err);
}

static int parse_sort(json_t *sort, struct mquery *mq, struct cm_err *err)
{
    size_t i;
    json_t *c;

    json_array_foreach(sort, i, c) {
        const char *prop = json_string_value(json_object_get(c, "property"));
        json_t *asc = json_object_get(c, "isAscending");

        if (prop == NULL || (strcmp(prop, "name") != 0 && strcmp(prop, "sortOrder") != 0))
            return cm_err_set(err, CM_EINVAL, "can sort only by name or sortOrder");
        if (mq->nrules == sizeof(mq->rules) / sizeof(mq->rules[0]))
            return cm_err_set(err, CM_EINVAL, "too many sort comparators");
        mq->rules[mq->nrules].by_name = strcmp(prop, "name") == 0;
        mq->rules[mq->nrules].ascending = asc == NULL || json_is_true(asc);
        mq->nrules++;
    }
    return 0;
}

/* sortOrder, then (equal orders, e.g. all 0) the role ranking. */
static int compare_order(const struct ib_folder *a, const struct ib_folder *b)
{
    if (a->sort_order != b->sort_order)
        return a->sort_order < b->sort_order ? -1 : 1;
    return gw_jmap_mailbox_role_rank(a->role) - gw_jmap_mailbox_role_rank(b->role);
}

static int compare_folders(const void *pa, const void *pb, void *arg)
{
    const struct ib_folder *a = *(const struct ib_folder *const *)pa;
    const struct ib_folder *b = *(const struct ib_folder *const *)pb;
    const struct mquery *mq = arg;

    for (size_t i = 0; i < mq->nrules; i++) {
        const struct sort_rule *r = &mq->rules[i];
        int d = r->by_name ? strcasecmp(a->name, b->name) : compare_order(a, b);

        if (d != 0)
            return r->ascending ? d : -d;
    }
    return strcmp(a->path, b->path);
}

/* Append f and then its sorted children (depth first) when as_tree. */
static void emit(const struct mquery *mq, const struct ib_folder **sorted, size_t n,
                 const char *parent, json_t *out, const bool *keep, int depth)
{
    for (size_t i = 0; i < n && depth < 64; i++) {
        const struct ib_folder *f = sorted[i];

        if (parent == NULL ? f->parent_id != NULL
                           : f->parent_id == NULL || strcmp(f->parent_id, parent) != 0)
            continue;
        if (keep[i])
            json_array_append_new(out, json_string(f->id));
        if (keep[i] || !mq->as_tree)
            emit(mq, sorted, n, f->id, out, keep, depth + 1);
    }
}

json_t *gw_jmap_mailbox_query(struct gw_jcall *c, struct cm_err *err)
{
    struct gw_jquery q;
    struct mquery mq = { 0 };
    struct ib_folder_list l = { 0 };
    const struct ib_folder **sorted = NULL;
    bool *keep = NULL, sort_tree = json_is_true(json_object_get(c->args, "sortAsTree"));
    struct ib_session *s;
    json_t *ids = NULL, *reply = NULL;
    char *state = NULL;

    mq.as_tree = json_is_true(json_object_get(c->args, "filterAsTree"));
    if (gw_jquery_parse(c, &q, err) < 0 || (q.sort && parse_sort(q.sort, &mq, err) < 0) ||
        gw_jreq_session(c->jr, &s, err) < 0 || ib_mailbox_list(s, &l, err) < 0)
        goto done;
    mq.l = &l;
    sorted = calloc(l.count + 1, sizeof(*sorted));
    keep = calloc(l.count + 1, sizeof(*keep));
    ids = json_array();
    for (size_t i = 0; i < l.count; i++)
        sorted[i] = &l.items[i];
    qsort_r(sorted, l.count, sizeof(*sorted), compare_folders, &mq);
    for (size_t i = 0; i < l.count; i++) {
        keep[i] = true;
        if (q.filter != NULL && match(sorted[i], q.filter, 0, &keep[i], err) < 0)
            goto done;
    }
    if (sort_tree || mq.as_tree) {
        emit(&mq, sorted, l.count, NULL, ids, keep, 0);
    } else {
        for (size_t i = 0; i < l.count; i++)
            if (keep[i])
                json_array_append_new(ids, json_string(sorted[i]->id));
    }
    state = gw_jmap_mailbox_state(c->jr->req->ctx->keys.state_key, &l);
    reply = gw_jquery_reply(c, &q, ids, state ? state : "", false, err);
    ids = NULL;
done:
    json_decref(ids);
    free(state);
    free(sorted);
    free(keep);
    ib_folder_list_fini(&l);
    return reply;
}
