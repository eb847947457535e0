/* gw_jmap_std.c - shared /get argument parsing and replies. */
#include "gateway/gw_jmap_std.h"

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
        c->error_type = "requestTooLarge";
        return cm_err_set(err, CM_ELIMIT, "more than maxObjectsInGet (%d) ids",
                          GW_JMAP_MAX_OBJECTS_GET);
    }
    json_array_foreach(ids, i, v) {
        if (!json_is_string(v))
            return cm_err_set(err, CM_EINVAL, "ids must be strings");
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

bool gw_jget_wants(const struct gw_jget *g, const char *name)
{
    size_t i;
    json_t *v;

    json_array_foreach(g->props, i, v) {
        if (strcmp(json_string_value(v), name) == 0)
            return true;
    }
    return false;
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
