/* gw_jmap_email_set.c - Email/set (RFC 8621 §4.6): keywords (STORE, whole
 * object or "keywords/<kw>" patches), mailboxIds (whole object or
 * "mailboxIds/<id>" patches: UID MOVE, else UID COPY + UID EXPUNGE of that
 * one UID with UIDPLUS, never a plain EXPUNGE; maxMailboxesPerEmail is 1,
 * see README; on Gmail labels, gw_jlabels.c) and destroy (UID EXPUNGE of that one UID). A moved email
 * keeps its id on servers with GUIDs (ib_ids.h); on others its location
 * id names its old place, and Email/changes reports destroy + create.
 * Creates (gw_jmap_email_create.c) run first: built, APPENDed, named by
 * APPENDUID. A draft is updated by destroy + create (IMAP messages are
 * immutable). */
#include <stdlib.h>
#include <string.h>

#include "gateway/gw_ctx.h"
#include "gateway/jmap/gw_jmail.h"
#include "gateway/jmap/gw_jmap_email_create.h"
#include "gateway/jmap/gw_jmap_email_guarded.h"
#include "gateway/jmap/gw_jmap_methods.h"
#include "gateway/jmap/gw_jmap_std.h"
#include "gateway/gw_req.h"
#include "imapbridge/ib_fetch.h"
#include "imapbridge/ib_foldermap.h"
#include "imapbridge/ib_listsort.h"
#include "imapbridge/ib_loccache.h"
#include "imapbridge/ib_session.h"
#include "imapbridge/ib_state.h"
#include "imapbridge/ib_store.h"
#include "imapbridge/ib_uidset.h"

#define MAX_FLAGS 64

struct eset {
    struct gw_jcall *c;
    const struct ib_folder_list *l;
    struct ib_session *s;
    json_t *created, *not_created, *updated, *not_updated, *destroyed, *not_destroyed;
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
   (for a whole "keywords" object). -1 with *why and the patch key at
   fault in *prop on an invalid patch. */
static int plan_flags(json_t *patch, json_t *current, struct flag_lists *fl, const char **why,
                      const char **prop)
{
    const char *key, *kw;
    json_t *v, *t;

    json_object_foreach(patch, key, v) {
        *prop = key;
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
            continue; /* plan_mailbox */
        } else {
            return *why = "only keywords and mailboxIds can be updated", -1;
        }
    }
    *prop = NULL;
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

/* The one mailbox a patch leaves the email in (RFC 8621 §4.6: a whole
   "mailboxIds" object, or "mailboxIds/<id>" patches on the current set
   {cur}); *dest_r stays NULL when the patch does not move it. -1 with
   *type and *why for an invalid one. */
static int plan_mailbox(const struct ib_folder_list *l, json_t *patch, const struct ib_folder *cur,
                        const struct ib_folder **dest_r, const char **type, const char **why)
{
    json_t *base = json_pack("{s:b}", cur->id, 1), *want = gw_jmail_wanted_boxes(patch, base);
    const char *only = NULL;
    int rc = 0;

    *dest_r = NULL;
    if (want != NULL && json_object_size(want) == 1)
        only = json_object_iter_key(json_object_iter(want));
    if (want == NULL)
        *type = "invalidProperties", *why = GW_JMAIL_BOXES_SYNTAX, rc = -1;
    else if (json_object_size(want) == 0)
        *type = "invalidProperties", *why = "an email must be in a mailbox", rc = -1;
    else if (json_object_size(want) > 1)
        *type = "tooManyMailboxes", *why = "maxMailboxesPerEmail is 1", rc = -1;
    else if ((*dest_r = gw_jmail_folder_by_id(l, only)) == NULL)
        *type = "invalidProperties", *why = "mailboxIds: no such mailbox", rc = -1;
    else if (*dest_r == cur)
        *dest_r = NULL;
    json_decref(want);
    json_decref(base);
    return rc;
}

/* Select id's folder read-write and fetch its current flags; a cached
   location that proved stale is searched for once more. */
static const struct ib_folder *locate(struct eset *e, const char *id, uint32_t *uid_r,
                                      json_t **keywords_r, struct cm_err *err)
{
    struct gw_jmail_where w = { 0 };
    struct mailimap_set *set = NULL;
    struct ib_msg *m = NULL;
    size_t nm = 0;
    bool retried = false;

    *keywords_r = NULL;
    if (gw_jmail_locate(e->c->jr, e->l, &id, 1, true, &w, err) < 0)
        return NULL;
again:
    if (w.f == NULL || ib_session_select(e->s, w.f->imap_name, false, NULL, err) < 0)
        return NULL;
    if (w.f == e->pre_f && prefetched(e, w.f, w.uid) != NULL) {
        /* its FLAGS came with the listing (set_pipelined); still selected
           read-write and synced: no I/O */
        const struct ib_msg *pm = prefetched(e, w.f, w.uid);

        *keywords_r = gw_jmail_keywords(pm->flags, pm->nflags);
        *uid_r = w.uid;
        return w.f;
    }
    set = ib_uidset_single(w.uid);
    if (set == NULL || ib_fetch_msgs(e->s, set, IB_FETCH_FLAGS, &m, &nm, err) < 0)
        w.f = NULL;
    else if (nm == 1)
        *keywords_r = gw_jmail_keywords(m[0].flags, m[0].nflags);
    if (set != NULL)
        ib_uidset_free(set);
    ib_msgs_free(m, nm);
    m = NULL;
    if (w.f != NULL && nm != 1 && w.cached && !retried) {
        retried = true;
        gw_jmail_forget(e->c->jr->req->ctx, e->c->jr->account_id, id);
        if (gw_jmail_locate(e->c->jr, e->l, &id, 1, false, &w, err) < 0)
            return NULL;
        goto again;
    }
    *uid_r = w.uid;
    return nm == 1 ? w.f : NULL;
}

/* Move the email (flags already stored) to dest; the cache learns its new
   place from COPYUID, *new_uid_r too (0 when unknown). */
static int move_one(struct eset *e, const char *id, uint32_t uid, const struct ib_folder *dest,
                    uint32_t *new_uid_r, struct cm_err *err)
{
    uint32_t uidv = 0, new_uid = 0;
    int rc = ib_store_move(e->s, uid, dest->imap_name, &uidv, &new_uid, err);

    *new_uid_r = 0;
    if (rc == 0 && new_uid != 0 && uidv == dest->uidvalidity) {
        gw_jmail_remember(e->c->jr->req->ctx, e->c->jr->account_id, dest, new_uid, id);
        *new_uid_r = new_uid;
    } else if (rc == 0) {
        gw_jmail_forget(e->c->jr->req->ctx, e->c->jr->account_id, id);
    }
    return rc;
}

/* Move the email to dest when there is one, then make the label changes
   that wait for that move (Gmail, out of Trash or Spam: mv). */
static int move_then_label(struct eset *e, const char *id, uint32_t uid,
                           const struct ib_folder *dest, const struct gw_jlabels_move *mv,
                           struct cm_err *err)
{
    uint32_t new_uid = 0;
    int rc = dest != NULL ? move_one(e, id, uid, dest, &new_uid, err) : 0;

    return rc == 0 && dest != NULL ? gw_jlabels_after_move(e->s, mv, new_uid, err) : rc;
}

static int update_one(struct eset *e, const char *id, json_t *patch, struct cm_err *err)
{
    struct flag_lists fl;
    struct gw_jlabels_move mv = { 0 };
    json_t *current = NULL;
    const char *why = NULL, *type = "invalidProperties", *prop = NULL;
    const struct ib_folder *f, *dest = NULL;
    uint32_t uid = 0;
    int rc = 0;
    bool left = false;
    bool labels = (ib_session_caps(e->s) & IB_CAP_XGMEXT) && gw_jmail_touches_boxes(patch);

    fl.nadd = fl.nremove = 0;
    if (!json_is_object(patch)) {
        json_object_set_new(e->not_updated, id, gw_jset_error("invalidPatch", "not an object"));
        return 0;
    }
    if ((f = locate(e, id, &uid, &current, err)) == NULL) {
        if (err->code != CM_OK && err->code != CM_ENOENT && err->code != CM_EUPSTREAM)
            return err->code;
        cm_err_clear(err);
        json_object_set_new(e->not_updated, id, gw_jset_error("notFound", "no such email"));
        return 0;
    }
    if (plan_flags(patch, current, &fl, &why, &prop) < 0 ||
        (!labels && plan_mailbox(e->l, patch, f, &dest, &type, &why) < 0) ||
        (labels && (rc = gw_jlabels_update(e->s, e->l, f, uid, patch, &mv, &left, &type, &why,
                                           err)) != 0)) {
        if (rc >= 0)
            json_object_set_new(e->not_updated, id, gw_jset_error_of(type, why, prop ? prop : "mailboxIds"));
        rc = rc > 0 ? 0 : rc;
    } else if ((rc = ib_store_flags(e->s, uid, fl.add, fl.nadd, fl.remove, fl.nremove, err)) == 0 &&
               (rc = move_then_label(e, id, uid, labels ? mv.to : dest, &mv, err)) == 0) {
        json_object_set_new(e->updated, id, json_null());
        if (left) /* its label of this folder is gone: so is the UID here */
            gw_jmail_forget(e->c->jr->req->ctx, e->c->jr->account_id, id);
    }
    if (rc == CM_EPERM) {
        json_object_set_new(e->not_updated, id, gw_jset_error("forbidden", err->msg));
        cm_err_clear(err);
        rc = 0;
    }
    gw_jlabels_move_fini(&mv);
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


#define PIPELINED_MAX_IDS 256

/* The ids of the call (update keys, destroy strings) into ids[]; false
   when there are none or more than cap. */
static bool call_ids(json_t *update, json_t *destroy, const char **ids, size_t cap, size_t *n_r)
{
    const char *id;
    json_t *v;
    size_t i, n = 0;

    json_object_foreach(update, id, v) {
        if (n == cap)
            return false;
        ids[n++] = id;
    }
    json_array_foreach(destroy, i, v) {
        if (n == cap || !json_is_string(v))
            return false;
        ids[n++] = json_string_value(v);
    }
    *n_r = n;
    return n > 0;
}

/* Where id is, by what it says (location id) or what the location cache
   knows (GUID id), without I/O; false when unknown. */
static bool known_place(struct eset *e, const char *id, struct ib_email_loc *loc)
{
    if (ib_ids_email_kind(id) == IB_IDS_LOCATION)
        return ib_ids_email_parse(id, loc) == 0;
    return ib_loccache_find(e->c->jr->req->ctx->loccache, e->c->jr->account_id, id, loc);
}

/* The folder of the folder map with loc's folder key, or NULL. (The map
   has no UIDVALIDITY: the listing that answers checks it, in locate.) */
static const struct ib_folder *map_folder(const struct ib_folder_list *cached,
                                          const struct ib_email_loc *loc)
{
    for (size_t i = 0; i < cached->count; i++) {
        if (cached->items[i].selectable &&
            ib_ids_folder_prefix(ib_state_folder_key(cached->items[i].id)) ==
                ib_ids_folder_prefix(loc->folder_key))
            return &cached->items[i];
    }
    return NULL;
}

/* The one folder of the folder map every id of the call is in (no I/O),
   their UIDs into uids; NULL when none, several, or not known. */
static const struct ib_folder *one_folder(struct eset *e, const struct ib_folder_list *cached,
                                          json_t *update, json_t *destroy, uint32_t *uids,
                                          size_t *n_r)
{
    const char *ids[PIPELINED_MAX_IDS];
    const struct ib_folder *f = NULL;
    size_t n = 0;

    if (!call_ids(update, destroy, ids, PIPELINED_MAX_IDS, &n))
        return NULL;
    for (size_t i = 0; i < n; i++) {
        struct ib_email_loc loc;
        const struct ib_folder *at = known_place(e, ids[i], &loc) ? map_folder(cached, &loc) : NULL;

        if (at == NULL || (f != NULL && at != f))
            return NULL;
        f = at;
        uids[i] = loc.uid;
    }
    *n_r = n;
    return f;
}

/* With the folder map: when every id of the call is in one folder the map
   knows, SELECT it + LIST-STATUS + UID FETCH (FLAGS) of those UIDs in one
   round trip (ib_listsort_fetch). The listing becomes the request's; the
   FLAGS are used only when it confirms the folder (its id at that name);
   locate then checks each id's place as usual. Otherwise nothing is lost:
   locate selects and fetches the classic way. */
static int set_pipelined(struct eset *e, json_t *update, json_t *destroy, struct cm_err *err)
{
    struct ib_folder_list cached = { 0 };
    struct ib_listsort ls = { 0 };
    uint32_t uids[PIPELINED_MAX_IDS];
    struct mailimap_set *set = NULL;
    struct cm_err quiet = CM_ERR_INIT;
    const struct ib_folder *cf = NULL, *fresh;
    size_t n = 0;
    int rc = 0;

    if (e->c->jr->folders_loaded || gw_jmail_map_get(e->c->jr, &cached) < 0)
        return 0;
    cf = one_folder(e, &cached, update, destroy, uids, &n);
    set = cf != NULL ? ib_uidset_of(uids, n) : NULL;
    if (set != NULL)
        rc = ib_listsort_fetch(e->s, cf->imap_name, false, set, IB_FETCH_FLAGS, &ls, &quiet);
    if (rc < 0 && ib_session_is_broken(e->s))
        cm_err_set(err, quiet.code, "%s", quiet.msg);
    else
        rc = 0; /* nothing usable: the classic way */
    if (ls.ran) {
        gw_jmail_adopt_folders(e->c->jr, &ls.folders);
        fresh = gw_jmail_folder_by_id(&e->c->jr->folders, cf->id);
        if (fresh != NULL && ib_foldermap_confirms(cf, &e->c->jr->folders)) {
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

/* Creates come first (RFC 8620 §5.3). They change the selection: the
   FLAGS set_pipelined fetched are dropped, locate selects again. */
static int create_all(struct eset *e, json_t *create, struct cm_err *err)
{
    if (json_object_size(create) == 0)
        return 0;
    ib_msgs_free(e->pre, e->npre);
    e->pre = NULL;
    e->npre = 0;
    e->pre_f = NULL;
    return gw_jmap_email_create(e->c, e->s, e->l, create, e->created, e->not_created, err);
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

/* The listing after the changes (the new state): the one-write path's
   listing after (ready) when it did everything, else listed now. The
   prefetched FLAGS point into the old listing: dropped first. */
static int relist(struct eset *e, struct gw_guarded_set *ready, struct cm_err *err)
{
    struct ib_folder_list l = { 0 };
    int rc = 0;

    ib_msgs_free(e->pre, e->npre);
    e->pre = NULL;
    e->npre = 0;
    e->pre_f = NULL;
    gw_jmail_forget_folders(e->c->jr);
    if (ready->ran && json_object_size(ready->rest) == 0) {
        l = ready->after;
        memset(&ready->after, 0, sizeof(ready->after));
    } else {
        rc = ib_mailbox_list_unselect(e->s, &l, err);
    }
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
    struct gw_guarded_set g = { 0 };
    char *old = NULL, *now = NULL;
    json_t *reply = NULL;

    e.created = json_object();
    e.not_created = json_object();
    e.updated = json_object();
    e.not_updated = json_object();
    e.destroyed = json_array();
    e.not_destroyed = json_object();
    if (gw_jcall_account(c, err) < 0 || gw_jset_check_counts(create, update, destroy, err) < 0)
        goto done;
    gw_jset_resolve_refs(c->jr->created_ids, update, destroy); /* earlier calls' creates */
    if (gw_jreq_session(c->jr, &e.s, err) < 0 || gw_jmap_email_guarded(c, e.s, e.updated, &g, err) < 0)
        goto done;
    if (g.ran) /* one write did these (the request's folders are its listing before) */
        update = g.rest;
    if (set_pipelined(&e, update, destroy, err) < 0 || gw_jmail_folders(c->jr, &e.l, err) < 0)
        goto done;
    old = gw_jmail_state(c->jr, e.l);
    if (json_is_string(if_in) && (old == NULL || strcmp(json_string_value(if_in), old) != 0)) {
        gw_jcall_fail(c, err, "stateMismatch", CM_EINVAL,
                      "ifInState does not match the current state");
        goto done;
    }
    if (create_all(&e, create, err) < 0)
        goto done;
    gw_jset_resolve_refs(c->jr->created_ids, update, destroy); /* this call's creates */
    if (apply(&e, update, destroy, err) < 0)
        goto done;
    /* the folders changed: list them again for the new state, with the
       UNSELECT that ends the write in the same round trip */
    if (relist(&e, &g, err) < 0)
        goto done;
    now = gw_jmail_state(c->jr, e.l);
    reply = json_pack("{s:s,s:s,s:s,s:O,s:O,s:O,s:O,s:O,s:O}", "accountId",
                      c->jr->account_id, "oldState", old ? old : "", "newState", now ? now : "",
                      "created", e.created, "updated", e.updated, "destroyed", e.destroyed,
                      "notCreated", e.not_created, "notUpdated", e.not_updated, "notDestroyed",
                      e.not_destroyed);
done:
    gw_jmap_email_guarded_fini(&g);
    ib_msgs_free(e.pre, e.npre);
    json_decref(e.created);
    json_decref(e.not_created);
    json_decref(e.updated);
    json_decref(e.not_updated);
    json_decref(e.destroyed);
    json_decref(e.not_destroyed);
    free(old);
    free(now);
    return reply;
}
