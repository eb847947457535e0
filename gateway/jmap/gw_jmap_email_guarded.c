/* gw_jmap_email_guarded.c - Email/set keywords in one round trip (see
 * gw_jmap_email_guarded.h). */
#include "gateway/jmap/gw_jmap_email_guarded.h"

#include <stdlib.h>
#include <string.h>

#include "gateway/gw_ctx.h"
#include "gateway/gw_req.h"
#include "gateway/jmap/gw_jmail.h"
#include "gateway/jmap/gw_jmap.h"
#include "imapbridge/ib_guarded.h"
#include "imapbridge/ib_ids.h"
#include "imapbridge/ib_loccache.h"
#include "imapbridge/ib_state.h"

#define MAX_FLAGS 64

struct plan {
    char bufs[MAX_FLAGS][256];
    const char *add[MAX_FLAGS], *remove[MAX_FLAGS];
    size_t nadd, nremove;
    struct ib_guard g[IB_GUARDED_MAX];
    char *guids[IB_GUARDED_MAX];
    const char *ids[IB_GUARDED_MAX];
    size_t n;
    const struct ib_folder *f;  /* in the map copy */
};

/* The flags of a patch made only of "keywords/<kw>": true | null; false
   for any other patch. */
static bool plan_flags(json_t *patch, struct plan *p)
{
    const char *key;
    json_t *v;

    if (!json_is_object(patch) || json_object_size(patch) == 0)
        return false;
    json_object_foreach(patch, key, v) {
        size_t n = p->nadd + p->nremove;
        const char *flag;

        if (strncmp(key, "keywords/", 9) != 0 || !(json_is_true(v) || json_is_null(v)) ||
            n >= MAX_FLAGS || (flag = gw_jmail_flag_of(key + 9, p->bufs[n])) == NULL)
            return false;
        if (json_is_true(v))
            p->add[p->nadd++] = flag;
        else
            p->remove[p->nremove++] = flag;
    }
    return true;
}

/* The folder of the map with loc's folder key, or NULL. */
static const struct ib_folder *map_folder(const struct ib_folder_list *map,
                                          const struct ib_email_loc *loc)
{
    for (size_t i = 0; i < map->count; i++) {
        if (map->items[i].selectable &&
            ib_ids_folder_prefix(ib_state_folder_key(map->items[i].id)) ==
                ib_ids_folder_prefix(loc->folder_key))
            return &map->items[i];
    }
    return NULL;
}

/* Each id's GUID and cached UID, all in one folder of the map; false when
   any is not so. */
static bool plan_places(struct gw_jreq *jr, const struct ib_folder_list *map, json_t *update,
                        struct plan *p)
{
    const char *id;
    json_t *patch;

    json_object_foreach(update, id, patch) {
        struct ib_email_loc loc;
        const struct ib_folder *at;

        if (p->n == IB_GUARDED_MAX || ib_ids_email_kind(id) != IB_IDS_GUID ||
            !ib_loccache_find(jr->req->ctx->loccache, jr->account_id, id, &loc) ||
            (at = map_folder(map, &loc)) == NULL || (p->f != NULL && at != p->f) ||
            ib_ids_email_guid_parse(id, &p->guids[p->n]) < 0)
            return false;
        p->f = at;
        p->ids[p->n] = id;
        p->g[p->n] = (struct ib_guard){ loc.uid, p->guids[p->n], false };
        p->n++;
    }
    return p->n > 0;
}

/* Are the call's arguments ones this path takes (header)? */
static bool eligible(json_t *a, struct plan *p)
{
    json_t *update = json_object_get(a, "update"), *first = NULL, *patch;
    json_t *create = json_object_get(a, "create"), *destroy = json_object_get(a, "destroy");
    json_t *if_in = json_object_get(a, "ifInState");
    const char *id;

    if (!json_is_object(update) || json_object_size(update) == 0 ||
        json_object_size(update) > IB_GUARDED_MAX || json_object_size(create) > 0 ||
        json_array_size(destroy) > 0 || (destroy != NULL && !json_is_null(destroy) &&
                                         !json_is_array(destroy)) ||
        (if_in != NULL && !json_is_null(if_in)))
        return false;
    json_object_foreach(update, id, patch) {
        if (first == NULL)
            first = patch;
        else if (!json_equal(first, patch))
            return false;
    }
    return plan_flags(first, p);
}

/* Sort the answers: written ones into updated, the others into g->rest
   (their cached place forgotten). */
static int sort_out(struct gw_jcall *c, const struct plan *p, json_t *update, json_t *updated,
                    struct gw_guarded_set *g, struct cm_err *err)
{
    if ((g->rest = json_object()) == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    for (size_t i = 0; i < p->n; i++) {
        if (p->g[i].written) {
            json_object_set_new(updated, p->ids[i], json_null());
        } else {
            gw_jmail_forget(c->jr->req->ctx, c->jr->account_id, p->ids[i]);
            json_object_set(g->rest, p->ids[i], json_object_get(update, p->ids[i]));
        }
    }
    return 0;
}

int gw_jmap_email_guarded(struct gw_jcall *c, struct ib_session *s, json_t *updated,
                          struct gw_guarded_set *g, struct cm_err *err)
{
    json_t *update = json_object_get(c->args, "update");
    struct ib_folder_list map = { 0 };
    struct ib_guarded out = { { 0 }, { 0 } };
    struct cm_err quiet = CM_ERR_INIT;
    struct plan *p = calloc(1, sizeof(*p));
    int rc = 0;

    memset(g, 0, sizeof(*g));
    if (p == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    if (!c->jr->folders_loaded && ib_guarded_supported(s) && eligible(c->args, p) &&
        gw_jmail_map_get(c->jr, &map) == 0 && plan_places(c->jr, &map, update, p)) {
        rc = ib_guarded_store(s, p->f->imap_name, p->g, p->n, p->add, p->nadd, p->remove,
                              p->nremove, &out, &quiet);
        if (rc == 0) {
            g->ran = true;
            gw_jmail_adopt_folders(c->jr, &out.before);
            g->after = out.after;
            memset(&out.after, 0, sizeof(out.after));
            rc = sort_out(c, p, update, updated, g, err);
        } else if (rc == CM_EINVAL || rc == CM_ECONFIG) {
            rc = 0; /* nothing written: the classic path */
        } else {
            cm_err_set(err, rc, "%s", quiet.msg);
        }
    }
    ib_guarded_fini(&out);
    ib_folder_list_fini(&map);
    for (size_t i = 0; i < p->n; i++)
        free(p->guids[i]);
    free(p);
    return rc;
}

void gw_jmap_email_guarded_fini(struct gw_guarded_set *g)
{
    json_decref(g->rest);
    g->rest = NULL;
    ib_folder_list_fini(&g->after);
    g->ran = false;
}
