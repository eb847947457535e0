/* gw_jmap_std.c - shared /get argument parsing and replies. */
#include "gateway/jmap/gw_jmap_std.h"
#include "gateway/jmap/gw_jmap_methods.h"

#include <string.h>

static bool known_prop(const struct gw_jprop *props, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(props[i].name, name) == 0)
            return true;
    }
    return false;
}

static int parse_ids(struct gw_jcall *c, struct gw_jget *g, struct cm_err *err)
{
    json_t *ids = json_object_get(c->args, "ids"), *v;
    size_t i;

    if (ids == NULL || json_is_null(ids))
        return 0;
    if (!json_is_array(ids))
        return cm_err_set(err, CM_EINVAL, "ids must be null or an array of ids");
    if (json_array_size(ids) > GW_JMAP_MAX_OBJECTS_GET) {
        return gw_jcall_fail(c, err, "requestTooLarge", CM_ELIMIT,
                             "more than maxObjectsInGet (%d) ids", GW_JMAP_MAX_OBJECTS_GET);
    }
    json_array_foreach(ids, i, v) {
        const char *id = json_string_value(v), *real;

        if (id == NULL)
            return cm_err_set(err, CM_EINVAL, "ids must be strings");
        /* RFC 8620 5.3: "#creationId" names a record created earlier in
           this request; an unknown one stays as it is (notFound) */
        real = id[0] == '#' ? json_string_value(json_object_get(c->jr->created_ids, id + 1))
                            : NULL;
        if (real != NULL)
            json_array_set_new(ids, i, json_string(real));
    }
    g->ids = ids;
    return 0;
}

static int parse_props(struct gw_jcall *c, const struct gw_jprop *props, size_t n,
                       struct gw_jget *g, struct cm_err *err)
{
    json_t *want = json_object_get(c->args, "properties"), *v;
    size_t i;

    g->props = json_array();
    json_array_append_new(g->props, json_string("id"));
    if (want == NULL || json_is_null(want)) {
        for (i = 0; i < n; i++) {
            if (props[i].is_default && strcmp(props[i].name, "id") != 0)
                json_array_append_new(g->props, json_string(props[i].name));
        }
        return 0;
    }
    if (!json_is_array(want))
        return cm_err_set(err, CM_EINVAL, "properties must be null or an array of names");
    json_array_foreach(want, i, v) {
        const char *name = json_string_value(v);

        if (name == NULL || !known_prop(props, n, name))
            return cm_err_set(err, CM_EINVAL, "unknown property %s",
                              name ? name : "(not a string)");
        if (strcmp(name, "id") != 0)
            json_array_append(g->props, v);
    }
    return 0;
}

int gw_jget_parse(struct gw_jcall *c, const struct gw_jprop *props, size_t n, struct gw_jget *g,
                  struct cm_err *err)
{
    int rc = gw_jcall_account(c, err);

    if (rc == 0)
        rc = parse_ids(c, g, err);
    if (rc == 0)
        rc = parse_props(c, props, n, g, err);
    return rc;
}

void gw_jget_fini(struct gw_jget *g)
{
    json_decref(g->props);
    g->props = NULL;
    g->ids = NULL;
}

int gw_jget_require_ids(struct gw_jcall *c, const struct gw_jget *g, struct cm_err *err)
{
    if (g->ids != NULL)
        return 0;
    return gw_jcall_fail(c, err, "requestTooLarge", CM_ELIMIT, "ids must be given for %s", c->name);
}

bool gw_json_array_has(json_t *array, const char *s)
{
    size_t i;
    json_t *v;

    json_array_foreach(array, i, v) {
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
            return true;
    }
    return false;
}

bool gw_jget_wants(const struct gw_jget *g, const char *name)
{
    return gw_json_array_has(g->props, name);
}

void gw_jget_filter(const struct gw_jget *g, json_t *obj)
{
    const char *key;
    json_t *val;
    void *tmp;

    json_object_foreach_safe(obj, tmp, key, val) {
        if (!gw_jget_wants(g, key))
            json_object_del(obj, key);
    }
}

json_t *gw_jget_reply(struct gw_jcall *c, const char *state, json_t *list, json_t *not_found)
{
    return json_pack("{s:s,s:s,s:o,s:o}", "accountId", c->jr->account_id, "state", state, "list",
                     list, "notFound", not_found);
}

/* An optional integer argument; *v_r keeps its default when absent/null. */
static int opt_int(json_t *args, const char *name, long long *v_r, struct cm_err *err)
{
    json_t *v = json_object_get(args, name);

    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_integer(v))
        return cm_err_set(err, CM_EINVAL, "%s must be an integer", name);
    *v_r = json_integer_value(v);
    return 0;
}

int gw_jquery_parse(struct gw_jcall *c, struct gw_jquery *q, struct cm_err *err)
{
    json_t *a = c->args, *anchor = json_object_get(a, "anchor");
    json_t *total = json_object_get(a, "calculateTotal");
    int rc = gw_jcall_account(c, err);

    memset(q, 0, sizeof(*q));
    q->limit = -1;
    if (rc < 0)
        return rc;
    q->filter = json_object_get(a, "filter");
    if (q->filter != NULL && json_is_null(q->filter))
        q->filter = NULL;
    if (q->filter != NULL && !json_is_object(q->filter))
        return cm_err_set(err, CM_EINVAL, "filter must be an object or null");
    q->sort = json_object_get(a, "sort");
    if (q->sort != NULL && json_is_null(q->sort))
        q->sort = NULL;
    if (q->sort != NULL && !json_is_array(q->sort))
        return cm_err_set(err, CM_EINVAL, "sort must be an array or null");
    if (anchor != NULL && !json_is_null(anchor) && !json_is_string(anchor))
        return cm_err_set(err, CM_EINVAL, "anchor must be an id or null");
    q->anchor = json_string_value(anchor);
    if (total != NULL && !json_is_null(total) && !json_is_boolean(total))
        return cm_err_set(err, CM_EINVAL, "calculateTotal must be a boolean");
    q->calculate_total = json_is_true(total);
    if (opt_int(a, "position", &q->position, err) < 0 ||
        opt_int(a, "anchorOffset", &q->anchor_offset, err) < 0 ||
        opt_int(a, "limit", &q->limit, err) < 0)
        return err->code;
    if (json_object_get(a, "limit") != NULL && !json_is_null(json_object_get(a, "limit")) &&
        q->limit < 0)
        return cm_err_set(err, CM_EINVAL, "limit must not be negative");
    return 0;
}

static long long anchor_index(json_t *ids, const char *anchor)
{
    size_t i;
    json_t *v;

    json_array_foreach(ids, i, v) {
        if (strcmp(json_string_value(v), anchor) == 0)
            return (long long)i;
    }
    return -1;
}

json_t *gw_jquery_reply(struct gw_jcall *c, const struct gw_jquery *q, json_t *all_ids,
                        const char *query_state, bool can_calculate_changes,
                        struct cm_err *err)
{
    long long total = (long long)json_array_size(all_ids), start = q->position;
    long long limit = q->limit < 0 || q->limit > GW_JQUERY_MAX_LIMIT ? GW_JQUERY_MAX_LIMIT
                                                                     : q->limit;
    json_t *window = json_array(), *reply;

    if (q->anchor != NULL) {
        long long at = anchor_index(all_ids, q->anchor);

        if (at < 0) {
            json_decref(all_ids);
            json_decref(window);
            gw_jcall_fail(c, err, "anchorNotFound", CM_ENOENT, "the anchor is not in the results");
            return NULL;
        }
        start = at + q->anchor_offset;
        if (start < 0)
            start = 0;
    } else if (start < 0) {
        start = total + start < 0 ? 0 : total + start;
    }
    if (start > total)
        start = total;
    for (long long i = start; i < total && i - start < limit; i++)
        json_array_append(window, json_array_get(all_ids, (size_t)i));
    json_decref(all_ids);
    reply = json_pack("{s:s,s:s,s:b,s:I,s:o}", "accountId", c->jr->account_id, "queryState",
                      query_state, "canCalculateChanges", can_calculate_changes, "position",
                      (json_int_t)start, "ids", window);
    if (reply != NULL && q->calculate_total)
        json_object_set_new(reply, "total", json_integer(total));
    if (reply != NULL && (q->limit < 0 || q->limit > GW_JQUERY_MAX_LIMIT) &&
        total - start > GW_JQUERY_MAX_LIMIT)
        json_object_set_new(reply, "limit", json_integer(GW_JQUERY_MAX_LIMIT));
    return reply;
}

bool gw_jquery_server_window(const struct gw_jquery *q, uint32_t *first_r, uint32_t *count_r)
{
    if (q->anchor != NULL || q->position < 0 || q->calculate_total || q->limit < 1 ||
        q->limit > GW_JQUERY_MAX_LIMIT || q->position >= (long long)UINT32_MAX - q->limit)
        return false;
    *first_r = (uint32_t)q->position + 1;
    *count_r = (uint32_t)q->limit;
    return true;
}

json_t *gw_jquery_reply_window(struct gw_jcall *c, const struct gw_jquery *q, json_t *ids,
                               const char *query_state)
{
    return json_pack("{s:s,s:s,s:b,s:I,s:o}", "accountId", c->jr->account_id, "queryState",
                     query_state, "canCalculateChanges", false, "position",
                     (json_int_t)q->position, "ids", ids);
}

int gw_jchanges_parse(struct gw_jcall *c, struct gw_jchanges *ch, struct cm_err *err)
{
    json_t *since = json_object_get(c->args, "sinceState");
    int rc = gw_jcall_account(c, err);

    ch->max_changes = -1;
    if (rc < 0)
        return rc;
    if (!json_is_string(since))
        return cm_err_set(err, CM_EINVAL, "sinceState must be a string");
    ch->since_state = json_string_value(since);
    if (opt_int(c->args, "maxChanges", &ch->max_changes, err) < 0)
        return err->code;
    if (json_object_get(c->args, "maxChanges") != NULL &&
        !json_is_null(json_object_get(c->args, "maxChanges")) && ch->max_changes <= 0)
        return cm_err_set(err, CM_EINVAL, "maxChanges must be a positive integer");
    return 0;
}

json_t *gw_jchanges_reply(struct gw_jcall *c, const char *old_state, const char *new_state,
                          bool has_more, json_t *created, json_t *updated, json_t *destroyed)
{
    return json_pack("{s:s,s:s,s:s,s:b,s:o,s:o,s:o}", "accountId", c->jr->account_id,
                     "oldState", old_state, "newState", new_state, "hasMoreChanges", has_more,
                     "created", created, "updated", updated, "destroyed", destroyed);
}

/* Checks the /queryChanges arguments (RFC 8620 §5.6) so a malformed call
   still gets invalidArguments rather than a blanket refusal. */
static int query_changes_parse(struct gw_jcall *c, struct cm_err *err)
{
    json_t *a = c->args, *since = json_object_get(a, "sinceQueryState");
    json_t *up_to = json_object_get(a, "upToId"), *total = json_object_get(a, "calculateTotal");
    json_t *filter = json_object_get(a, "filter"), *sort = json_object_get(a, "sort");
    long long max_changes = -1;
    int rc = gw_jcall_account(c, err);

    if (rc < 0)
        return rc;
    if (!json_is_string(since))
        return cm_err_set(err, CM_EINVAL, "sinceQueryState must be a string");
    if (filter != NULL && !json_is_null(filter) && !json_is_object(filter))
        return cm_err_set(err, CM_EINVAL, "filter must be an object or null");
    if (sort != NULL && !json_is_null(sort) && !json_is_array(sort))
        return cm_err_set(err, CM_EINVAL, "sort must be an array or null");
    if (up_to != NULL && !json_is_null(up_to) && !json_is_string(up_to))
        return cm_err_set(err, CM_EINVAL, "upToId must be an id or null");
    if (total != NULL && !json_is_null(total) && !json_is_boolean(total))
        return cm_err_set(err, CM_EINVAL, "calculateTotal must be a boolean");
    if (opt_int(a, "maxChanges", &max_changes, err) < 0)
        return err->code;
    if (json_object_get(a, "maxChanges") != NULL && !json_is_null(json_object_get(a, "maxChanges")) &&
        max_changes <= 0)
        return cm_err_set(err, CM_EINVAL, "maxChanges must be a positive integer");
    return 0;
}

json_t *gw_jmap_query_changes(struct gw_jcall *c, struct cm_err *err)
{
    if (query_changes_parse(c, err) < 0)
        return NULL;
    gw_jcall_fail(c, err, "cannotCalculateChanges", CM_EINVAL,
                  "query results are not tracked between calls: run the query again");
    return NULL;
}

json_t *gw_jset_error(const char *type, const char *description)
{
    return json_pack("{s:s,s:s}", "type", type, "description", description);
}

json_t *gw_jset_invalid(const char *prop, const char *description)
{
    json_t *e = gw_jset_error("invalidProperties", description);

    json_object_set_new(e, "properties", json_pack("[s]", prop));
    return e;
}

json_t *gw_jset_error_of(const char *type, const char *description, const char *prop)
{
    return prop != NULL && strcmp(type, "invalidProperties") == 0
               ? gw_jset_invalid(prop, description)
               : gw_jset_error(type, description);
}

int gw_jset_check_counts(json_t *create, json_t *update, json_t *destroy, struct cm_err *err)
{
    size_t n = json_object_size(create) + json_object_size(update) + json_array_size(destroy);

    if ((create && !json_is_null(create) && !json_is_object(create)) ||
        (update && !json_is_null(update) && !json_is_object(update)) ||
        (destroy && !json_is_null(destroy) && !json_is_array(destroy)))
        return cm_err_set(err, CM_EINVAL, "create/update must be objects, destroy an array");
    if (n > GW_JMAP_MAX_OBJECTS_SET)
        return cm_err_set(err, CM_ELIMIT, "more than maxObjectsInSet (%d)",
                          GW_JMAP_MAX_OBJECTS_SET);
    return 0;
}

static const char *created_id(json_t *created_ids, const char *ref)
{
    return ref != NULL && ref[0] == '#' ? json_string_value(json_object_get(created_ids, ref + 1))
                                        : NULL;
}

void gw_jset_resolve_refs(json_t *created_ids, json_t *update, json_t *destroy)
{
    json_t *refs = json_array(), *v;
    const char *key;
    size_t i;

    json_object_foreach(update, key, v) {
        if (created_id(created_ids, key) != NULL)
            json_array_append_new(refs, json_string(key));
    }
    json_array_foreach(refs, i, v) {
        const char *ref = json_string_value(v), *real = created_id(created_ids, ref);

        if (json_object_get(update, real) == NULL) {
            json_object_set(update, real, json_object_get(update, ref));
            json_object_del(update, ref);
        }
    }
    json_decref(refs);
    json_array_foreach(destroy, i, v) {
        const char *real = created_id(created_ids, json_string_value(v));

        if (real != NULL)
            json_array_set_new(destroy, i, json_string(real));
    }
}
