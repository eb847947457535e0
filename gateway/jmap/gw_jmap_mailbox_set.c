/* gw_jmap_mailbox_set.c - Mailbox/set (RFC 8621 §2.5) as IMAP CREATE,
 * RENAME, DELETE and (UN)SUBSCRIBE.
 *
 * Settable: name, parentId (creation references "#cid" included),
 * isSubscribed (default true for a new folder) and, on a server with
 * METADATA, sortOrder (kept in one annotation for all folders,
 * ib_sortorder.h; written once per call, after the updates). role
 * (SPECIAL-USE), sortOrder on a server without METADATA, and server-set
 * properties (id, counts, myRights) in an update may only be sent with the
 * values they already have. A duplicate sibling name is
 * alreadyExists (with existingId); a name the server refuses to CREATE or
 * RENAME is invalidProperties on name. A folder keeps its id through a rename
 * because ids come from the server's folder id (ib_mailbox.h).
 * destroy refuses a folder with children (mailboxHasChild) and, unless
 * onDestroyRemoveEmails, one with messages (mailboxHasEmail); INBOX can be
 * neither renamed nor destroyed. Creates run first, then updates, then
 * destroys, on the request's folder list (gw_jmail_folders), which is
 * listed again after each phase that changed something.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gateway/gw_ctx.h"
#include "gateway/jmap/gw_jmail.h"
#include "gateway/jmap/gw_jmap_methods.h"
#include "gateway/jmap/gw_jmap_std.h"
#include "gateway/gw_req.h"
#include "imapbridge/ib_mailbox.h"
#include "imapbridge/ib_mailbox_edit.h"
#include "imapbridge/ib_mutf7.h"
#include "imapbridge/ib_park_blob.h"
#include "imapbridge/ib_session.h"
#include "imapbridge/ib_sortorder.h"

struct mset {
    struct gw_jcall *c;
    struct ib_session *s;
    const struct ib_folder_list *l; /* the request's folder list (gw_jmail_folders),
                                       listed again after each phase that changed it */
    char delim;
    bool can_order;            /* the server keeps sortOrders (METADATA) */
    json_t *orders;            /* mailbox id -> sortOrder to write */
    json_t *cid_orders;        /* creation id -> sortOrder to write */
    json_t *cid_names;         /* creation id -> wire name of the new folder */
    json_t *created, *not_created, *updated, *not_updated, *destroyed, *not_destroyed;
};

static const struct ib_folder *by_wire_name(const struct ib_folder_list *l, const char *name)
{
    for (size_t i = 0; i < l->count; i++) {
        if (strcmp(l->items[i].imap_name, name) == 0)
            return &l->items[i];
    }
    return NULL;
}

static bool is_inbox(const struct ib_folder *f)
{
    return strcmp(f->imap_name, "INBOX") == 0;
}

/* Is a the folder d or one of its ancestors (by wire name)? */
static bool is_ancestor_or_self(const struct ib_folder *a, const char *d, char delim)
{
    size_t n = strlen(a->imap_name);

    return strncmp(a->imap_name, d, n) == 0 && (d[n] == '\0' || (delim && d[n] == delim));
}

/* Children left: those destroyed earlier in this call do not count, so a
   child and its parent can go in one call (child first). */
static bool has_children(const struct mset *m, const struct ib_folder *f)
{
    for (size_t i = 0; i < m->l->count; i++) {
        const struct ib_folder *c = &m->l->items[i];

        if (c != f && is_ancestor_or_self(f, c->imap_name, m->delim) && !gw_json_array_has(m->destroyed, c->id))
            return true;
    }
    return false;
}

/* A leaf name we can put on the wire: non-empty, not too long, no control
   characters, no hierarchy delimiter. */
static const char *name_problem(const char *name, char delim)
{
    if (name[0] == '\0')
        return "name must not be empty";
    if (strlen(name) > GW_JMAP_MAX_MAILBOX_NAME)
        return "name is longer than maxSizeMailboxName";
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return "name must not contain control characters";
        if (delim && *p == (unsigned char)delim)
            return "name must not contain the hierarchy delimiter";
    }
    return NULL;
}

/* The parent's wire name for parentId (null: top level, "" returned), an
   existing folder, or "#cid" of a folder created earlier in this call or
   in an earlier call of the request (createdIds). NULL when it names
   nothing. */
static const char *parent_wire_name(const struct mset *m, json_t *parent)
{
    const char *id = json_string_value(parent);
    const struct ib_folder *f;

    if (parent == NULL || json_is_null(parent))
        return "";
    if (id == NULL)
        return NULL;
    if (id[0] == '#' && json_object_get(m->cid_names, id + 1) != NULL)
        return json_string_value(json_object_get(m->cid_names, id + 1));
    if (id[0] == '#') /* created by an earlier call of this request */
        id = json_string_value(json_object_get(m->c->jr->created_ids, id + 1));
    f = ib_folder_find(m->l, id);
    return f != NULL ? f->imap_name : NULL;
}

/* "parent<delim>mutf7(name)" (malloc'd), or NULL with *why. */
static char *wire_name(const struct mset *m, const char *parent, const char *name,
                       const char **why)
{
    char *leaf, *out;
    size_t n;

    if ((*why = name_problem(name, m->delim)) != NULL)
        return NULL;
    if (parent[0] != '\0' && m->delim == '\0') {
        *why = "the server has no folder hierarchy";
        return NULL;
    }
    leaf = ib_utf8_to_mutf7(name);
    if (leaf == NULL) {
        *why = "name cannot be encoded";
        return NULL;
    }
    n = strlen(parent) + 1 + strlen(leaf) + 1;
    out = malloc(n);
    if (out != NULL && parent[0] != '\0')
        snprintf(out, n, "%s%c%s", parent, m->delim, leaf);
    else if (out != NULL)
        snprintf(out, n, "%s", leaf);
    free(leaf);
    if (out != NULL && strcmp(out, IB_PARK_FOLDER) == 0) { /* uploads live there (ib_park.h) */
        free(out);
        *why = "the name is reserved by the gateway";
        return NULL;
    }
    return out;
}

/* A server-set property (RFC 8620 5.3) may be sent back in an update
   with the value it has: mailbox f as Mailbox/get shows it. */
static bool unchanged(const char *prop, json_t *value, const struct ib_folder *f)
{
    json_t *cur = f != NULL ? gw_jmap_mailbox_json(f) : NULL;
    bool same = cur != NULL && json_equal(json_object_get(cur, prop), value);

    json_decref(cur);
    return same;
}

/* sortOrder: an UnsignedInt (RFC 8620 1.3); on a server that cannot
   keep it, only the value it has (f's, 0 for a new folder). */
static json_t *check_order(const struct mset *m, json_t *so, const struct ib_folder *f)
{
    json_int_t v = json_is_integer(so) ? json_integer_value(so) : -1;

    if (so == NULL)
        return NULL;
    if (v < 0 || (unsigned long long)v > IB_SORTORDER_MAX)
        return gw_jset_invalid("sortOrder", "sortOrder must be an integer from 0 to 2^53-1");
    if (!m->can_order && (uint64_t)v != (f ? f->sort_order : 0))
        return gw_jset_invalid("sortOrder", "this IMAP server has no METADATA (RFC 5464) to keep a "
                                    "sortOrder: only the current value is accepted");
    return NULL;
}

/* role is the server's: only its current value passes; other server-set
   properties only unchanged in an update; sortOrder as check_order. */
static json_t *check_fixed(const struct mset *m, json_t *obj, const struct ib_folder *f)
{
    static const char *const server_set[] = { "id", "totalEmails", "unreadEmails",
                                              "totalThreads", "unreadThreads", "myRights" };
    const char *role = f ? f->role : NULL;
    json_t *r = json_object_get(obj, "role"), *so = json_object_get(obj, "sortOrder");

    for (size_t i = 0; i < sizeof(server_set) / sizeof(server_set[0]); i++) {
        json_t *v = json_object_get(obj, server_set[i]);

        if (v != NULL && !unchanged(server_set[i], v, f))
            return gw_jset_invalid(server_set[i], "this property is set by the server");
    }
    if (r != NULL && !(json_is_null(r) ? role == NULL
                                       : role != NULL && json_is_string(r) &&
                                             strcmp(json_string_value(r), role) == 0))
        return gw_jset_invalid("role", "roles come from the IMAP server (SPECIAL-USE) and cannot be set");
    return check_order(m, so, f);
}

/* RFC 8620 5.3 alreadyExists, naming the sibling that has the name. */
static json_t *already_exists(const struct ib_folder *sibling)
{
    json_t *e = gw_jset_error("alreadyExists", "a sibling mailbox already has this name");

    json_object_set_new(e, "existingId", json_string(sibling->id));
    return e;
}

/* A failed IMAP command becomes a per-object error; only a broken session
   fails the whole call. The server refusing a CREATE or RENAME is refusing
   the name (characters its storage cannot hold, e.g. "." on Maildir++):
   invalidProperties on name. */
static int imap_failed(struct mset *m, json_t *not, const char *key, struct cm_err *err)
{
    if (ib_session_is_broken(m->s))
        return err->code;
    json_object_set_new(not, key, gw_jset_error("forbidden", "the IMAP server refused this"));
    cm_err_clear(err);
    return 0;
}

static int name_refused(struct mset *m, json_t *not, const char *key, struct cm_err *err)
{
    if (ib_session_is_broken(m->s))
        return err->code;
    json_object_set_new(not, key, gw_jset_invalid("name", "the IMAP server does not accept this name"));
    cm_err_clear(err);
    return 0;
}

static bool known_keys(json_t *obj, const char **bad_r)
{
    static const char *const keys[] = { "id", "name", "parentId", "role", "sortOrder",
                                        "totalEmails", "unreadEmails", "totalThreads",
                                        "unreadThreads", "myRights", "isSubscribed" };
    const char *k;
    json_t *v;

    json_object_foreach(obj, k, v) {
        size_t i = 0;

        while (i < sizeof(keys) / sizeof(keys[0]) && strcmp(keys[i], k) != 0)
            i++;
        if (i == sizeof(keys) / sizeof(keys[0]))
            return *bad_r = k, false;
    }
    return true;
}

/* What a create and an update share: known properties only, role and
   sortOrder as the server has them (f: the folder, NULL for a new one), a
   boolean isSubscribed. A SetError or NULL. */
static json_t *check_props(const struct mset *m, json_t *obj, const struct ib_folder *f)
{
    json_t *sub = json_object_get(obj, "isSubscribed"), *e;
    const char *bad = NULL;

    if (!known_keys(obj, &bad))
        return gw_jset_invalid(bad, "unknown property");
    if ((e = check_fixed(m, obj, f)) != NULL)
        return e;
    if (sub != NULL && !json_is_boolean(sub))
        return gw_jset_invalid("isSubscribed", "isSubscribed must be a boolean");
    return NULL;
}

/* alreadyExists when a folder (a created one included) has the wire name
   `wire` (INBOX in any case at the top level), else NULL. */
static json_t *sibling_named(const struct mset *m, const char *parent, const char *wire)
{
    const struct ib_folder *f = by_wire_name(m->l, wire);

    if (f == NULL && parent[0] == '\0' && strcasecmp(wire, "INBOX") == 0)
        f = by_wire_name(m->l, "INBOX");
    if (f != NULL)
        return already_exists(f);
    if (parent[0] == '\0' && strcasecmp(wire, "INBOX") == 0)
        return gw_jset_error("alreadyExists", "INBOX exists");
    return NULL;
}

/* Validate one create; on success *wire_r is the new folder's wire name.
   Returns a SetError or NULL. */
static json_t *plan_create(struct mset *m, json_t *obj, char **wire_r)
{
    json_t *name = json_object_get(obj, "name"), *e;
    const char *parent, *why = NULL;

    *wire_r = NULL;
    if (!json_is_object(obj))
        return gw_jset_error("invalidProperties", "not an object");
    if ((e = check_props(m, obj, NULL)) != NULL)
        return e;
    if (!json_is_string(name))
        return gw_jset_invalid("name", "name is required and must be a string");
    parent = parent_wire_name(m, json_object_get(obj, "parentId"));
    if (parent == NULL)
        return gw_jset_invalid("parentId", "no such parent mailbox");
    *wire_r = wire_name(m, parent, json_string_value(name), &why);
    if (*wire_r == NULL)
        return gw_jset_invalid("name", why ? why : "out of memory");
    if ((e = sibling_named(m, parent, *wire_r)) != NULL) {
        free(*wire_r);
        *wire_r = NULL;
    }
    return e;
}

/* Note in into (key -> sortOrder) a sortOrder to write when it changes. */
static void want_order(json_t *into, const char *key, json_t *so, uint64_t cur)
{
    if (so != NULL && (uint64_t)json_integer_value(so) != cur)
        json_object_set(into, key, so);
}

static int create_one(struct mset *m, const char *cid, json_t *obj, struct cm_err *err)
{
    char *wire = NULL;
    json_t *e = plan_create(m, obj, &wire);
    int rc = 0;

    if (e != NULL) {
        json_object_set_new(m->not_created, cid, e);
        return 0;
    }
    if (ib_mailbox_create(m->s, wire, err) < 0) {
        rc = name_refused(m, m->not_created, cid, err);
    } else {
        if (!json_is_false(json_object_get(obj, "isSubscribed")) &&
            ib_mailbox_subscribe(m->s, wire, true, err) < 0 && ib_session_is_broken(m->s))
            rc = err->code;   /* err stays set for the caller */
        else
            cm_err_clear(err); /* created; a refused SUBSCRIBE is not worth failing it */
        json_object_set_new(m->cid_names, cid, json_string(wire));
        want_order(m->cid_orders, cid, json_object_get(obj, "sortOrder"), 0);
    }
    free(wire);
    return rc;
}

/* The wire name a patch moves f to: its new parent and leaf. NULL with
   *e set when the patch is invalid; f's own name when it does not move. */
static char *plan_move(struct mset *m, const struct ib_folder *f, json_t *patch, json_t **e)
{
    json_t *name = json_object_get(patch, "name"), *parent = json_object_get(patch, "parentId");
    const char *leaf = name ? json_string_value(name) : f->name, *why = NULL, *pw;
    char *wire;

    *e = NULL;
    if (name != NULL && !json_is_string(name))
        return *e = gw_jset_invalid("name", "name must be a string"), NULL;
    pw = parent != NULL ? parent_wire_name(m, parent) : NULL;
    if (parent == NULL) { /* same parent: everything up to the last delimiter */
        const char *cut = m->delim ? strrchr(f->imap_name, m->delim) : NULL;
        char *p = strndup(f->imap_name, cut ? (size_t)(cut - f->imap_name) : 0);

        wire = p ? wire_name(m, p, leaf, &why) : NULL;
        free(p);
    } else if (pw == NULL) {
        return *e = gw_jset_invalid("parentId", "no such parent mailbox"), NULL;
    } else if (pw[0] != '\0' && is_ancestor_or_self(f, pw, m->delim)) {
        return *e = gw_jset_invalid("parentId", "a mailbox cannot move below itself"), NULL;
    } else {
        wire = wire_name(m, pw, leaf, &why);
    }
    if (wire == NULL)
        *e = gw_jset_invalid("name", why ? why : "out of memory");
    return wire;
}

static json_t *plan_update(struct mset *m, const struct ib_folder *f, json_t *patch, char **to_r)
{
    json_t *e;

    *to_r = NULL;
    if (!json_is_object(patch))
        return gw_jset_error("invalidPatch", "not an object");
    if ((e = check_props(m, patch, f)) != NULL)
        return e;
    *to_r = plan_move(m, f, patch, &e);
    if (e != NULL)
        return e;
    if (strcmp(*to_r, f->imap_name) != 0 && is_inbox(f))
        e = gw_jset_error("forbidden", "INBOX cannot be renamed");
    else if (strcmp(*to_r, f->imap_name) != 0 && by_wire_name(m->l, *to_r) != NULL)
        e = already_exists(by_wire_name(m->l, *to_r));
    if (e != NULL) {
        free(*to_r);
        *to_r = NULL;
    }
    return e;
}

/* IMAP keeps subscriptions by name: a renamed folder's subscription moves
   with it here. A NO on that follow-up is not the client's problem. */
static int follow_subscription(struct mset *m, const struct ib_folder *f, const char *to,
                               bool want, struct cm_err *err)
{
    if ((f->subscribed && ib_mailbox_subscribe(m->s, f->imap_name, false, err) < 0) ||
        (want && ib_mailbox_subscribe(m->s, to, true, err) < 0)) {
        if (ib_session_is_broken(m->s))
            return err->code;
    }
    cm_err_clear(err);
    return 0;
}

static int update_one(struct mset *m, const char *id, json_t *patch, struct cm_err *err)
{
    const struct ib_folder *f = ib_folder_find(m->l, id);
    json_t *sub = json_object_get(patch, "isSubscribed"), *e;
    bool want, moved;
    char *to = NULL;
    int rc = 0;

    if (f == NULL) {
        json_object_set_new(m->not_updated, id, gw_jset_error("notFound", "no such mailbox"));
        return 0;
    }
    if ((e = plan_update(m, f, patch, &to)) != NULL) {
        json_object_set_new(m->not_updated, id, e);
        return 0;
    }
    want = sub != NULL ? json_is_true(sub) : f->subscribed;
    moved = strcmp(to, f->imap_name) != 0;
    if (moved && ib_mailbox_rename(m->s, f->imap_name, to, err) < 0)
        rc = name_refused(m, m->not_updated, id, err);
    else if (moved && (rc = follow_subscription(m, f, to, want, err)) < 0)
        ;
    else if (!moved && want != f->subscribed && ib_mailbox_subscribe(m->s, to, want, err) < 0)
        rc = imap_failed(m, m->not_updated, id, err);
    else {
        json_object_set_new(m->updated, id, json_null());
        want_order(m->orders, id, json_object_get(patch, "sortOrder"), f->sort_order);
    }
    free(to);
    return rc;
}

static int destroy_one(struct mset *m, const char *id, bool remove_emails, struct cm_err *err)
{
    const struct ib_folder *f = ib_folder_find(m->l, id);
    json_t *e = NULL;

    if (f == NULL)
        e = gw_jset_error("notFound", "no such mailbox");
    else if (is_inbox(f))
        e = gw_jset_error("forbidden", "INBOX cannot be destroyed");
    else if (has_children(m, f))
        e = gw_jset_error("mailboxHasChild", "destroy or move its child mailboxes first");
    else if (f->has_status && f->total > 0 && !remove_emails)
        e = gw_jset_error("mailboxHasEmail", "the mailbox holds email: set "
                                             "onDestroyRemoveEmails to remove it with them");
    if (e != NULL) {
        json_object_set_new(m->not_destroyed, id, e);
        return 0;
    }
    if (ib_mailbox_delete(m->s, f->imap_name, err) < 0)
        return imap_failed(m, m->not_destroyed, id, err);
    if (f->subscribed && ib_mailbox_subscribe(m->s, f->imap_name, false, err) < 0 &&
        ib_session_is_broken(m->s))
        return err->code;
    cm_err_clear(err);
    json_array_append_new(m->destroyed, json_string(id));
    return 0;
}

/* Creates in an order that lets a child name a parent created in the same
   call: passes until one makes no progress. */
static int run_creates(struct mset *m, json_t *create, struct cm_err *err)
{
    bool progress = true;
    const char *cid;
    json_t *obj;

    while (progress) {
        progress = false;
        json_object_foreach(create, cid, obj) {
            json_t *p = json_object_get(obj, "parentId");
            const char *ref = json_is_string(p) ? json_string_value(p) : NULL;

            if (json_object_get(m->cid_names, cid) || json_object_get(m->not_created, cid))
                continue;
            if (ref && ref[0] == '#' && json_object_get(create, ref + 1) &&
                !json_object_get(m->cid_names, ref + 1) && !json_object_get(m->not_created, ref + 1))
                continue; /* its parent comes first */
            if (create_one(m, cid, obj, err) < 0)
                return err->code;
            progress = true;
        }
    }
    json_object_foreach(create, cid, obj) { /* parents that never came */
        if (!json_object_get(m->cid_names, cid) && !json_object_get(m->not_created, cid))
            json_object_set_new(m->not_created, cid, gw_jset_invalid("parentId", "no such parent mailbox"));
    }
    return 0;
}

/* List the folders again after a phase changed them, so the next phase
   (and every later method of the request) sees new folders and new names
   (a renamed parent renames its children). */
static int refresh(struct mset *m, bool changed, struct cm_err *err)
{
    if (!changed)
        return 0;
    gw_jmail_forget_folders(m->c->jr);
    gw_jmail_map_forget(m->c->jr); /* the listing below fills it again */
    return gw_jmail_folders(m->c->jr, &m->l, err);
}

/* The orders of this call onto a copy of the (fresh) folder list: by id,
   and for folders created in this call by their wire name. */
static int orders_onto(const struct mset *m, struct ib_folder_list *l)
{
    const char *cid;
    json_t *v;

    if (ib_folder_list_dup(m->l, l) < 0)
        return CM_ENOMEM;
    for (size_t i = 0; i < l->count; i++) {
        v = json_object_get(m->orders, l->items[i].id);
        if (v != NULL)
            l->items[i].sort_order = (uint64_t)json_integer_value(v);
    }
    json_object_foreach(m->cid_orders, cid, v) {
        json_t *wire = json_object_get(m->cid_names, cid);
        const struct ib_folder *f = wire ? by_wire_name(l, json_string_value(wire)) : NULL;

        if (f != NULL)
            l->items[f - l->items].sort_order = (uint64_t)json_integer_value(v);
    }
    return 0;
}

/* Updates whose sortOrder could not be kept move to notUpdated (a new
   folder keeps existing; Mailbox/get shows its real order). */
static void orders_failed(struct mset *m, const struct cm_err *err)
{
    const char *key;
    json_t *v;

    json_object_foreach(m->orders, key, v) {
        if (json_object_get(m->updated, key) == NULL)
            continue;
        json_object_del(m->updated, key);
        json_object_set_new(m->not_updated, key, gw_jset_error("serverFail", err->msg));
    }
}

/* Write the call's sortOrders in one SETMETADATA. *wrote_r: the entry
   changed (the folders must be listed again). */
static int store_orders(struct mset *m, bool *wrote_r, struct cm_err *err)
{
    struct ib_folder_list l = { 0 };
    int rc;

    *wrote_r = false;
    if (json_object_size(m->orders) + json_object_size(m->cid_orders) == 0)
        return 0;
    rc = orders_onto(m, &l);
    if (rc < 0)
        return cm_err_set(err, rc, "out of memory");
    rc = ib_sortorder_store(m->s, &l, err);
    ib_folder_list_fini(&l);
    if (rc < 0 && (ib_session_is_broken(m->s) || rc == CM_ENOMEM))
        return rc;
    if (rc < 0) {
        orders_failed(m, err);
        cm_err_clear(err);
        return 0;
    }
    *wrote_r = true;
    return 0;
}

/* Each folder this call created, by its creation id into the request's
   createdIds, so that later updates and destroys (here and in later calls)
   can name it "#cid". */
static void register_created(struct mset *m)
{
    const char *cid;
    json_t *wire;

    json_object_foreach(m->cid_names, cid, wire) {
        const struct ib_folder *f = by_wire_name(m->l, json_string_value(wire));

        if (f != NULL)
            json_object_set_new(m->c->jr->created_ids, cid, json_string(f->id));
    }
}

static int run_all(struct mset *m, json_t *create, json_t *update, json_t *destroy,
                   bool remove_emails, struct cm_err *err)
{
    const char *id;
    json_t *v;
    size_t i;
    bool wrote = false;

    if (run_creates(m, create, err) < 0 || refresh(m, json_object_size(m->cid_names) > 0, err) < 0)
        return err->code;
    register_created(m);
    gw_jset_resolve_refs(m->c->jr->created_ids, update, destroy);
    json_object_foreach(update, id, v) {
        if (update_one(m, id, v, err) < 0)
            return err->code;
    }
    if (refresh(m, json_object_size(m->updated) > 0, err) < 0 ||
        store_orders(m, &wrote, err) < 0)
        return err->code;
    json_array_foreach(destroy, i, v) {
        if (!json_is_string(v))
            return cm_err_set(err, CM_EINVAL, "destroy must hold ids");
        if (destroy_one(m, json_string_value(v), remove_emails, err) < 0)
            return err->code;
    }
    return refresh(m, json_array_size(m->destroyed) > 0 || wrote, err);
}

/* created: the new folders as Mailbox objects, from the list read again
   (by the id register_created gave each: an update may have renamed it). */
static void report_created(struct mset *m)
{
    const char *cid;
    json_t *wire;

    json_object_foreach(m->cid_names, cid, wire) {
        const char *id = json_string_value(json_object_get(m->c->jr->created_ids, cid));
        const struct ib_folder *f = id != NULL ? ib_folder_find(m->l, id) : NULL;

        if (f == NULL) {
            json_object_set_new(m->not_created, cid,
                                gw_jset_error("serverFail", "created, but not listed by the server"));
            continue;
        }
        json_object_set_new(m->created, cid, gw_jmap_mailbox_json(f));
    }
}

static int parse_args(struct gw_jcall *c, bool *remove_r, struct cm_err *err)
{
    json_t *a = c->args, *rm = json_object_get(a, "onDestroyRemoveEmails");

    if (gw_jcall_account(c, err) < 0 ||
        gw_jset_check_counts(json_object_get(a, "create"), json_object_get(a, "update"),
                             json_object_get(a, "destroy"), err) < 0)
        return err->code;
    if (rm != NULL && !json_is_boolean(rm))
        return cm_err_set(err, CM_EINVAL, "onDestroyRemoveEmails must be a boolean");
    *remove_r = json_is_true(rm);
    return 0;
}

static void mset_fini(struct mset *m)
{
    json_decref(m->orders);
    json_decref(m->cid_orders);
    json_decref(m->cid_names);
    json_decref(m->created);
    json_decref(m->not_created);
    json_decref(m->updated);
    json_decref(m->not_updated);
    json_decref(m->destroyed);
    json_decref(m->not_destroyed);
}

json_t *gw_jmap_mailbox_set(struct gw_jcall *c, struct cm_err *err)
{
    const unsigned char *key = c->jr->req->ctx->keys.state_key;
    json_t *a = c->args, *if_in = json_object_get(a, "ifInState"), *reply = NULL;
    struct mset m = { .c = c };
    char *old = NULL, *cur = NULL;
    bool remove_emails = false;

    m.orders = json_object();
    m.cid_orders = json_object();
    m.cid_names = json_object();
    m.created = json_object();
    m.not_created = json_object();
    m.updated = json_object();
    m.not_updated = json_object();
    m.destroyed = json_array();
    m.not_destroyed = json_object();
    if (parse_args(c, &remove_emails, err) < 0 || gw_jreq_session(c->jr, &m.s, err) < 0 ||
        gw_jmail_folders(c->jr, &m.l, err) < 0)
        goto done;
    m.delim = ib_session_delimiter(m.s);
    m.can_order = ib_sortorder_supported(m.s);
    old = gw_jmap_mailbox_state(key, m.l);
    if (json_is_string(if_in) && (old == NULL || strcmp(json_string_value(if_in), old) != 0)) {
        gw_jcall_fail(c, err, "stateMismatch", CM_EINVAL,
                      "ifInState does not match the current state");
        goto done;
    }
    if (run_all(&m, json_object_get(a, "create"), json_object_get(a, "update"),
                json_object_get(a, "destroy"), remove_emails, err) < 0)
        goto done;
    report_created(&m);
    cur = gw_jmap_mailbox_state(key, m.l);
    reply = json_pack("{s:s,s:s,s:s,s:O,s:O,s:O,s:O,s:O,s:O}", "accountId", c->jr->account_id,
                      "oldState", old ? old : "", "newState", cur ? cur : "", "created",
                      m.created, "updated", m.updated, "destroyed", m.destroyed, "notCreated",
                      m.not_created, "notUpdated", m.not_updated, "notDestroyed", m.not_destroyed);
done:
    mset_fini(&m);
    free(old);
    free(cur);
    return reply;
}
