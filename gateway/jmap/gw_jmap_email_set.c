/* gw_jmap_email_set.c - Email/set (RFC 8621 §4.6), the part IMAP maps onto
 * without changing a message's identity: keywords (STORE, whole object or
 * "keywords/<kw>" patches) and destroy (UID EXPUNGE of that one UID, never
 * a plain EXPUNGE). Creating emails (Email/import, drafts) and changing
 * mailboxIds (a MOVE gives the message a new UID, hence a new id here)
 * are answered per object as not supported. */
#include <stdlib.h>
#include <string.h>

#include "gateway/gw_ctx.h"
#include "gateway/jmap/gw_jmail.h"
#include "gateway/jmap/gw_jmap_methods.h"
#include "gateway/jmap/gw_jmap_std.h"
#include "gateway/gw_req.h"
#include "imapbridge/ib_fetch.h"
#include "imapbridge/ib_foldermap.h"
#include "imapbridge/ib_listsort.h"
#include "imapbridge/ib_session.h"
#include "imapbridge/ib_state.h"
#include "imapbridge/ib_store.h"
#include "imapbridge/ib_uidset.h"

#define MAX_FLAGS 64

struct eset {
    struct gw_jcall *c;
    const struct ib_folder_list *l;
    struct ib_session *s;
    json_t *updated, *not_updated, *destroyed, *not_destroyed;
    const struct ib_folder *pre_f; /* the folder whose FLAGS came with the listing */
    struct ib_msg *pre;            /* ... and those FLAGS (set_pipelined) */
    size_t npre;
};


struct flag_lists {
    char bufs[2 * MAX_FLAGS][256];
    const char *add[MAX_FLAGS], *remove[MAX_FLAGS];
    size_t nadd, nremove;
};

static int push_flag(struct flag_lists *fl, const char *keyword, bool add)
{
    size_t n = fl->nadd + fl->nremove;
    const char *flag;

    if (n >= 2 * MAX_FLAGS || (add ? fl->nadd : fl->nremove) >= MAX_FLAGS)
        return -1;
    flag = gw_jmail_flag_of(keyword, fl->bufs[n]);
    if (flag == NULL)
        return -1;
    if (add)
        fl->add[fl->nadd++] = flag;
    else
        fl->remove[fl->nremove++] = flag;
    return 0;
}

/* The flags to add and remove for a patch, given the current keywords
   (for a whole "keywords" object). -1 with *why on an invalid patch. */
static int plan_flags(json_t *patch, json_t *current, struct flag_lists *fl, const char **why)
{
    const char *key, *kw;
    json_t *v, *t;

    json_object_foreach(patch, key, v) {
        if (strcmp(key, "keywords") == 0) {
            if (!json_is_object(v))
                return *why = "keywords must be an object", -1;
            json_object_foreach(v, kw, t) {
                if (!json_is_true(t) || push_flag(fl, kw, true) < 0)
                    return *why = "keywords: each value must be true, each keyword valid", -1;
            }
            json_object_foreach(current, kw, t) {
                if (json_object_get(v, kw) == NULL && push_flag(fl, kw, false) < 0)
                    return *why = "too many keywords", -1;
            }
        } else if (strncmp(key, "keywords/", 9) == 0) {
            if (!(json_is_true(v) || json_is_null(v)) || push_flag(fl, key + 9, json_is_true(v)) < 0)
                return *why = "keywords/<keyword> takes true or null and a valid keyword", -1;
        } else if (strcmp(key, "mailboxIds") == 0 || strncmp(key, "mailboxIds/", 11) == 0) {
            return *why = "mailboxIds cannot change yet (an IMAP move gives a new id)", -1;
        } else {
            return *why = "only keywords can be updated", -1;
        }
    }
    return 0;
}

/* The prefetched message uid of folder f (set_pipelined), or NULL. */
static const struct ib_msg *prefetched(const struct eset *e, const struct ib_folder *f,
                                       uint32_t uid)
{
    for (size_t i = 0; f == e->pre_f && i < e->npre; i++) {
        if (e->pre[i].uid == uid)
            return &e->pre[i];
    }
    return NULL;
}

/* Select id's folder read-write and fetch its current flags. */
static const struct ib_folder *locate(struct eset *e, const char *id, uint32_t *uid_r,
                                      json_t **keywords_r, struct cm_err *err)
{
    struct ib_email_loc loc;
    const struct ib_folder *f = ib_ids_email_parse(id, &loc) == 0 ? gw_jmail_folder_of(e->l, &loc)
                                                                  : NULL;
    const struct ib_msg *pm;
    struct mailimap_set *set;
    struct ib_msg *m = NULL;
    size_t nm = 0;

    *keywords_r = NULL;
    /* still selected read-write and synced after set_pipelined: no I/O */
    if (f == NULL || ib_session_select(e->s, f->imap_name, false, NULL, err) < 0)
        return NULL;
    *uid_r = loc.uid;
    if (f == e->pre_f) { /* its FLAGS came with the listing */
        pm = prefetched(e, f, loc.uid);
        if (pm != NULL)
            *keywords_r = gw_jmail_keywords(pm->flags, pm->nflags);
        return pm != NULL ? f : NULL;
    }
    set = ib_uidset_single(loc.uid);
    if (set == NULL || ib_fetch_msgs(e->s, set, IB_FETCH_FLAGS, &m, &nm, err) < 0 || nm != 1)
        f = NULL;
    else
        *keywords_r = gw_jmail_keywords(m[0].flags, m[0].nflags);
    if (set != NULL)
        ib_uidset_free(set);
    ib_msgs_free(m, nm);
    *uid_r = loc.uid;
    return f;
}

static int update_one(struct eset *e, const char *id, json_t *patch, struct cm_err *err)
{
    struct flag_lists fl;
    json_t *current = NULL;
    const char *why = NULL;
    uint32_t uid = 0;
    int rc = 0;

    fl.nadd = fl.nremove = 0;
    if (!json_is_object(patch)) {
        json_object_set_new(e->not_updated, id, gw_jset_error("invalidPatch", "not an object"));
        return 0;
    }
    if (locate(e, id, &uid, &current, err) == NULL) {
        if (err->code != CM_OK && err->code != CM_ENOENT && err->code != CM_EUPSTREAM)
            return err->code;
        cm_err_clear(err);
        json_object_set_new(e->not_updated, id, gw_jset_error("notFound", "no such email"));
        return 0;
    }
    if (plan_flags(patch, current, &fl, &why) < 0)
        json_object_set_new(e->not_updated, id, gw_jset_error("invalidProperties", why));
    else if ((rc = ib_store_flags(e->s, uid, fl.add, fl.nadd, fl.remove, fl.nremove, err)) == 0)
        json_object_set_new(e->updated, id, json_null());
    json_decref(current);
    return rc;
}

static int destroy_one(struct eset *e, const char *id, struct cm_err *err)
{
    json_t *current = NULL;
    uint32_t uid = 0;
    int rc;

    if (locate(e, id, &uid, &current, err) == NULL) {
        if (err->code != CM_OK && err->code != CM_ENOENT && err->code != CM_EUPSTREAM)
            return err->code;
        cm_err_clear(err);
        json_object_set_new(e->not_destroyed, id, gw_jset_error("notFound", "no such email"));
        return 0;
    }
    json_decref(current);
    rc = ib_store_expunge(e->s, uid, err);
    if (rc == CM_EPERM) {
        json_object_set_new(e->not_destroyed, id,
                            gw_jset_error("forbidden", "the server has no UIDPLUS: a plain EXPUNGE "
                                                   "would remove other clients' deleted mail"));
        cm_err_clear(err);
        return 0;
    }
    if (rc == 0)
        json_array_append_new(e->destroyed, json_string(id));
    return rc;
}


/* The one folder every id of the call points into (same folder key
   prefix and UIDVALIDITY), and their UIDs; false when none or several. */
static bool one_folder(json_t *update, json_t *destroy, struct ib_email_loc *loc_r,
                       uint32_t *uids, size_t cap, size_t *n_r)
{
    const char *id;
    json_t *v;
    size_t i, n = 0;
    bool ok = true;

    json_object_foreach(update, id, v) {
        struct ib_email_loc loc;

        ok = ok && n < cap && ib_ids_email_parse(id, &loc) == 0 &&
             (n == 0 || (ib_ids_folder_prefix(loc.folder_key) ==
                             ib_ids_folder_prefix(loc_r->folder_key) &&
                         loc.uidvalidity == loc_r->uidvalidity));
        if (ok && n == 0)
            *loc_r = loc;
        if (ok)
            uids[n++] = loc.uid;
    }
    json_array_foreach(destroy, i, v) {
        struct ib_email_loc loc;

        ok = ok && n < cap && json_is_string(v) &&
             ib_ids_email_parse(json_string_value(v), &loc) == 0 &&
             (n == 0 || (ib_ids_folder_prefix(loc.folder_key) ==
                             ib_ids_folder_prefix(loc_r->folder_key) &&
                         loc.uidvalidity == loc_r->uidvalidity));
        if (ok && n == 0)
            *loc_r = loc;
        if (ok)
            uids[n++] = loc.uid;
    }
    *n_r = n;
    return ok && n > 0;
}

/* The cached folder (folder map) with the key prefix of loc, or NULL. */
static const struct ib_folder *cached_folder(const struct ib_folder_list *l,
                                             const struct ib_email_loc *loc)
{
    for (size_t i = 0; i < l->count; i++) {
        if (l->items[i].selectable &&
            ib_ids_folder_prefix(ib_state_folder_key(l->items[i].id)) ==
                ib_ids_folder_prefix(loc->folder_key))
            return &l->items[i];
    }
    return NULL;
}

#define PIPELINED_MAX_IDS 256

/* With the folder map: when every id of the call points into one folder
   the map knows, SELECT it + LIST-STATUS + UID FETCH (FLAGS) of those
   UIDs in one round trip (ib_listsort_fetch). The listing becomes the
   request's; the FLAGS are used only when it confirms the folder (its id
   at that name, the ids' UIDVALIDITY). Otherwise nothing is lost: locate
   selects and fetches the classic way. */
static int set_pipelined(struct eset *e, json_t *update, json_t *destroy, struct cm_err *err)
{
    struct ib_folder_list cached = { 0 };
    struct ib_listsort ls = { 0 };
    struct ib_email_loc loc;
    uint32_t uids[PIPELINED_MAX_IDS];
    struct mailimap_set *set = NULL;
    struct cm_err quiet = CM_ERR_INIT;
    const struct ib_folder *cf, *fresh;
    size_t n = 0;
    int rc = 0;

    if (e->c->jr->folders_loaded || !one_folder(update, destroy, &loc, uids, PIPELINED_MAX_IDS, &n) ||
        gw_jmail_map_get(e->c->jr, &cached) < 0)
        return 0;
    cf = cached_folder(&cached, &loc);
    set = cf != NULL ? ib_uidset_of(uids, n) : NULL;
    if (set != NULL)
        rc = ib_listsort_fetch(e->s, cf->imap_name, false, set, IB_FETCH_FLAGS, &ls, &quiet);
    if (rc < 0 && ib_session_is_broken(e->s))
        cm_err_set(err, quiet.code, "%s", quiet.msg);
    else
        rc = 0; /* nothing usable: the classic way */
    if (ls.ran) {
        gw_jmail_adopt_folders(e->c->jr, &ls.folders);
        fresh = gw_jmail_folder_of(&e->c->jr->folders, &loc);
        if (fresh != NULL && strcmp(fresh->id, cf->id) == 0 &&
            ib_foldermap_confirms(cf, &e->c->jr->folders)) {
            e->pre_f = fresh;
            e->pre = ls.msgs;
            e->npre = ls.nmsgs;
            ls.msgs = NULL;
            ls.nmsgs = 0;
        }
    }
    if (set != NULL)
        ib_uidset_free(set);
    ib_listsort_fini(&ls);
    ib_folder_list_fini(&cached);
    return rc;
}

static json_t *not_created(json_t *create)
{
    json_t *out = json_object(), *v;
    const char *k;

    json_object_foreach(create, k, v)
        json_object_set_new(out, k, gw_jset_error("forbidden", "creating emails is not supported yet"));
    return out;
}

/* Run the updates and destroys; err only for failures of the whole call. */
static int apply(struct eset *e, json_t *update, json_t *destroy, struct cm_err *err)
{
    const char *id;
    json_t *patch, *v;
    size_t i;
    int rc = 0;

    json_object_foreach(update, id, patch) {
        if ((rc = update_one(e, id, patch, err)) < 0)
            return rc;
    }
    json_array_foreach(destroy, i, v) {
        if (!json_is_string(v))
            return cm_err_set(err, CM_EINVAL, "destroy must hold ids");
        if ((rc = destroy_one(e, json_string_value(v), err)) < 0)
            return rc;
    }
    return 0;
}

/* The listing after the changes (the new state). The prefetched FLAGS
   point into the old listing: dropped first. */
static int relist(struct eset *e, struct cm_err *err)
{
    struct ib_folder_list l = { 0 };
    int rc;

    ib_msgs_free(e->pre, e->npre);
    e->pre = NULL;
    e->npre = 0;
    e->pre_f = NULL;
    gw_jmail_forget_folders(e->c->jr);
    rc = ib_mailbox_list_unselect(e->s, &l, err);
    if (rc < 0)
        return rc;
    gw_jmail_adopt_folders(e->c->jr, &l);
    e->l = &e->c->jr->folders;
    return 0;
}

json_t *gw_jmap_email_set(struct gw_jcall *c, struct cm_err *err)
{
    json_t *a = c->args, *create = json_object_get(a, "create"), *update = json_object_get(a, "update");
    json_t *destroy = json_object_get(a, "destroy"), *if_in = json_object_get(a, "ifInState");
    struct eset e = { .c = c };
    char *old = NULL, *now = NULL;
    json_t *reply = NULL;

    e.updated = json_object();
    e.not_updated = json_object();
    e.destroyed = json_array();
    e.not_destroyed = json_object();
    if (gw_jcall_account(c, err) < 0 || gw_jset_check_counts(create, update, destroy, err) < 0 ||
        gw_jreq_session(c->jr, &e.s, err) < 0 || set_pipelined(&e, update, destroy, err) < 0 ||
        gw_jmail_folders(c->jr, &e.l, err) < 0)
        goto done;
    old = gw_jmail_state(c->jr, e.l);
    if (json_is_string(if_in) && (old == NULL || strcmp(json_string_value(if_in), old) != 0)) {
        gw_jcall_fail(c, err, "stateMismatch", CM_EINVAL,
                      "ifInState does not match the current state");
        goto done;
    }
    if (apply(&e, update, destroy, err) < 0)
        goto done;
    /* the folders changed: list them again for the new state, with the
       UNSELECT that ends the write in the same round trip */
    if (relist(&e, err) < 0)
        goto done;
    now = gw_jmail_state(c->jr, e.l);
    reply = json_pack("{s:s,s:s,s:s,s:n,s:O,s:O,s:o,s:O,s:O}", "accountId",
                      c->jr->account_id, "oldState", old ? old : "", "newState", now ? now : "",
                      "created", "updated", e.updated, "destroyed", e.destroyed, "notCreated",
                      create ? not_created(create) : json_object(), "notUpdated", e.not_updated,
                      "notDestroyed", e.not_destroyed);
done:
    ib_msgs_free(e.pre, e.npre);
    json_decref(e.updated);
    json_decref(e.not_updated);
    json_decref(e.destroyed);
    json_decref(e.not_destroyed);
    free(old);
    free(now);
    return reply;
}
