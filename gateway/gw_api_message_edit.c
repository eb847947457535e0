/* gw_api_message_edit.c - changing one message of a folder, by UID:
 *   PATCH  .../messages/{uid}/flags  {"add":[...],"remove":[...]} -> {uid, flags}
 *   POST   .../messages/{uid}/move   {"to": "<mailbox path>"} -> new location
 *   DELETE .../messages/{uid}[?permanent=true] -> to the Trash (role trash),
 *          or removed for good when already in the Trash or permanent.
 * The folder is selected read-write. Removal is by UID EXPUNGE only
 * (ib_store.h): a server without UIDPLUS (and, for a move, without MOVE)
 * gets a 409 problem and nothing changes. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gateway/gw_authn.h"
#include "gateway/gw_handlers.h"
#include "gateway/gw_req.h"
#include "gateway/gw_rest.h"
#include "gateway/jmap/gw_jmail.h"
#include "imapbridge/ib_ids.h"
#include "imapbridge/ib_fetch.h"
#include "imapbridge/ib_guarded.h"
#include "imapbridge/ib_mailbox.h"
#include "imapbridge/ib_session.h"
#include "imapbridge/ib_store.h"

#define MAX_FLAGS 64

enum edit { EDIT_FLAGS, EDIT_MOVE, EDIT_DELETE };

struct edit_job {
    struct gw_req *req;
    enum edit what;
    uint32_t uid;
    const char *add[MAX_FLAGS], *remove[MAX_FLAGS]; /* borrowed from body */
    size_t nadd, nremove;
    const char *to;       /* EDIT_MOVE: destination path (borrowed from body) */
    bool permanent;       /* EDIT_DELETE */
    struct gw_rest_box box;
    char guid[IB_IDS_MAX_GUID + 1]; /* the message's GUID, "" when none */
    json_t *out;
};

static int flag_array(json_t *body, const char *name, const char **dst, size_t *n,
                      struct cm_err *err)
{
    json_t *a = json_object_get(body, name), *v;
    size_t i;

    *n = 0;
    if (a == NULL || json_is_null(a))
        return 0;
    if (!json_is_array(a) || json_array_size(a) > MAX_FLAGS)
        return cm_err_set(err, CM_EINVAL, "%s must be an array of at most %d flags", name,
                          MAX_FLAGS);
    json_array_foreach(a, i, v) {
        const char *f = json_string_value(v);

        if (f == NULL || !ib_store_flag_valid(f))
            return cm_err_set(err, CM_EINVAL, "%s: not a flag that can be set: %.64s", name,
                              f ? f : "(not a string)");
        dst[(*n)++] = f;
    }
    return 0;
}

static int parse_body(struct edit_job *j, json_t *body, struct cm_err *err)
{
    int rc = 0;

    if (j->what == EDIT_FLAGS) {
        rc = flag_array(body, "add", j->add, &j->nadd, err);
        if (rc == 0)
            rc = flag_array(body, "remove", j->remove, &j->nremove, err);
    } else if (j->what == EDIT_MOVE) {
        j->to = json_string_value(json_object_get(body, "to"));
        if (j->to == NULL || j->to[0] == '\0')
            rc = cm_err_set(err, CM_EINVAL, "to must be a mailbox path");
    }
    return rc;
}

static json_t *flags_reply(struct ib_session *s, uint32_t uid, struct cm_err *err)
{
    struct ib_msg *m = NULL;
    size_t n = 0;
    json_t *o = NULL;

    if (gw_rest_fetch_one(s, uid, IB_FETCH_FLAGS, &m, &n, err) == 0)
        o = json_pack("{s:I,s:o}", "uid", (json_int_t)uid, "flags", gw_rest_flags_json(&m[0]));
    ib_msgs_free(m, n);
    return o;
}

/* The move's answer: the new place and the id, which is the same GUID id
   as before the move; on a server without GUIDs the location id of the
   new place when it is known (dest listed, COPYUID named the UID), else
   null. */
static int move_reply(struct edit_job *j, const char *path, const struct ib_folder *dest,
                      uint32_t uidvalidity, uint32_t uid)
{
    char id[IB_IDS_EMAIL_MAX + 1] = "";

    if (j->guid[0] != '\0' && ib_ids_email_guid(j->guid, id) < 0)
        id[0] = '\0';
    if (id[0] == '\0' && dest != NULL && uid != 0 &&
        (uidvalidity == 0 || uidvalidity == dest->uidvalidity))
        gw_jmail_email_id(dest, uid, NULL, id);
    j->out = json_pack("{s:s,s:o,s:I,s:o}", "mailbox", path, "uid",
                       uid ? json_integer(uid) : json_null(), "uidvalidity",
                       (json_int_t)uidvalidity, "id", id[0] ? json_string(id) : json_null());
    return j->out ? 0 : CM_ENOMEM;
}

static int move_to(struct ib_session *s, struct edit_job *j, const struct ib_folder *dest,
                   struct cm_err *err)
{
    uint32_t uidvalidity = 0, uid = 0;
    int rc = ib_store_move(s, j->uid, dest->imap_name, &uidvalidity, &uid, err);

    if (rc == 0)
        rc = move_reply(j, dest->path, dest, uidvalidity ? uidvalidity : dest->uidvalidity, uid);
    return rc;
}

static bool same_path(const char *a, const char *b)
{
    return strcmp(a, b) == 0 || (strcasecmp(a, "INBOX") == 0 && strcasecmp(b, "INBOX") == 0);
}

/* The destination from a listing (classic): CM_ENOENT when not there. */
static int move_listed(struct ib_session *s, struct edit_job *j, struct cm_err *err)
{
    struct ib_folder_list l = { 0 };
    const struct ib_folder *dest;
    int rc = ib_mailbox_list(s, &l, err);

    dest = rc == 0 ? gw_rest_find(&l, j->to) : NULL;
    if (rc == 0 && (dest == NULL || !dest->selectable))
        rc = cm_err_set(err, CM_ENOENT, "no such destination mailbox");
    else if (rc == 0)
        rc = move_to(s, j, dest, err);
    ib_folder_list_fini(&l);
    return rc;
}

/* After a move without COPYUID: the destination's UIDVALIDITY from a
   listing (the new UID stays unknown). */
static int moved_listed(struct ib_session *s, struct edit_job *j, struct cm_err *err)
{
    struct ib_folder_list l = { 0 };
    const struct ib_folder *dest;
    int rc = ib_mailbox_list(s, &l, err);

    dest = rc == 0 ? gw_rest_find(&l, j->to) : NULL;
    if (rc == 0)
        rc = move_reply(j, dest ? dest->path : j->to, dest, dest ? dest->uidvalidity : 0, 0);
    ib_folder_list_fini(&l);
    return rc;
}

/* UID MOVE to the destination addressed by its path, without listing
   every folder; COPYUID names the new place. A refusal (no such folder,
   \Noselect, ...) or a server that did not say COPYUID goes the classic
   way: the listing tells, and nothing moved yet in the first case. */
static int move_direct(struct ib_session *s, struct edit_job *j, struct cm_err *err)
{
    char *wire = ib_mailbox_wire_name(j->to);
    uint32_t uidvalidity = 0, uid = 0;
    int rc;

    if (wire == NULL)
        return move_listed(s, j, err);
    rc = ib_store_move(s, j->uid, wire, &uidvalidity, &uid, err);
    free(wire);
    if (rc == 0 && uidvalidity != 0)
        return move_reply(j, strcasecmp(j->to, "INBOX") == 0 ? "INBOX" : j->to, NULL,
                          uidvalidity, uid);
    if (rc == 0) /* moved, but no COPYUID: the listing names the UIDVALIDITY */
        return moved_listed(s, j, err);
    if (ib_session_is_broken(s) || rc == CM_EPERM || rc == CM_ENOMEM)
        return rc;
    cm_err_clear(err);
    return move_listed(s, j, err);
}

/* The move in one round trip (ib_guarded_move: SELECT, UID FETCH of the
   GUID, UID MOVE, UNSELECT in one write). *done false when nothing was
   moved and the classic way must answer (a server without MOVE/UIDPLUS,
   a folder that could not be selected, a refused MOVE: the listing then
   names the error). */
static int move_one_write(struct ib_session *s, struct edit_job *j, bool *done,
                          struct cm_err *err)
{
    char *src = ib_mailbox_wire_name(j->req->params[0]), *dst = ib_mailbox_wire_name(j->to);
    struct cm_err quiet = CM_ERR_INIT;
    struct ib_moved mv;
    int rc = src && dst ? ib_guarded_move(s, src, j->uid, dst, &mv, &quiet) : CM_EINVAL;

    free(src);
    free(dst);
    *done = false;
    if (rc == CM_EINVAL || rc == CM_ECONFIG || (rc == 0 && (!mv.selected || mv.refused)))
        return 0;
    if (rc < 0)
        return cm_err_set(err, rc, "%s", quiet.msg);
    *done = true;
    if (!mv.moved)
        return cm_err_set(err, CM_ENOENT, "no such message");
    if (ib_ids_guid_valid(mv.guid))
        strcpy(j->guid, mv.guid);
    if (mv.dest_uidvalidity != 0)
        return move_reply(j, strcasecmp(j->to, "INBOX") == 0 ? "INBOX" : j->to, NULL,
                          mv.dest_uidvalidity, mv.dest_uid);
    return moved_listed(s, j, err); /* moved, but no COPYUID: the listing names the UIDVALIDITY */
}

static const struct ib_folder *trash_of(const struct ib_folder_list *l)
{
    for (size_t i = 0; i < l->count; i++) {
        if (l->items[i].role && strcmp(l->items[i].role, "trash") == 0 && l->items[i].selectable)
            return &l->items[i];
    }
    return NULL;
}

/* Delete: the Trash is found by its role, so this one lists. */
static int remove_one(struct ib_session *s, struct edit_job *j, struct cm_err *err)
{
    const struct ib_folder *dest = trash_of(&j->box.list);
    int rc;

    if (j->permanent || dest == j->box.f) {
        rc = ib_store_expunge(s, j->uid, err);
        if (rc == 0)
            j->out = json_pack("{s:b}", "permanent", 1);
        return rc;
    }
    if (dest == NULL)
        return cm_err_set(err, CM_EPERM, "there is no Trash folder: use ?permanent=true");
    return move_to(s, j, dest, err);
}

static int edit(struct ib_session *s, void *arg, struct cm_err *err)
{
    struct edit_job *j = arg;
    struct ib_msg *m = NULL;
    size_t n = 0;
    int rc;

    json_decref(j->out);
    j->out = NULL;
    if (j->what == EDIT_MOVE) {
        bool done = false;

        if (same_path(j->to, j->req->params[0]))
            return cm_err_set(err, CM_EINVAL, "the message is already in that mailbox");
        if ((rc = move_one_write(s, j, &done, err)) < 0 || done)
            return rc;
    }
    if (j->what == EDIT_DELETE) {
        rc = gw_rest_box_open(s, j->req->params[0], false, &j->box, err);
        if (rc == 0)
            rc = gw_rest_fetch_one(s, j->uid, IB_FETCH_FLAGS | IB_FETCH_GUID, &m, &n, err);
    } else { /* SELECT + STATUS + UID FETCH (is it there?) in one round trip */
        rc = gw_rest_box_fetch(s, j->req->params[0], false, j->uid,
                               IB_FETCH_FLAGS | IB_FETCH_GUID, &j->box, &m, &n, err);
    }
    if (rc == 0 && n == 1 && m[0].guid != NULL && ib_ids_guid_valid(m[0].guid))
        strcpy(j->guid, m[0].guid);
    ib_msgs_free(m, n);
    if (rc < 0)
        return rc;
    if (j->what == EDIT_FLAGS) {
        rc = ib_store_flags(s, j->uid, j->add, j->nadd, j->remove, j->nremove, err);
        if (rc == 0 && (j->out = flags_reply(s, j->uid, err)) == NULL)
            rc = err->code ? err->code : CM_ENOMEM;
        return rc;
    }
    if (j->what == EDIT_MOVE) {
        if (same_path(j->to, j->box.f->path))
            return cm_err_set(err, CM_EINVAL, "the message is already in that mailbox");
        return move_direct(s, j, err);
    }
    return remove_one(s, j, err);
}

static int parse_request(struct gw_req *req, struct edit_job *j, json_t **body_r,
                         struct cm_err *err)
{
    const char *perm = gw_req_query(req, "permanent");
    int rc = gw_rest_uid(req->params[1], "uid", &j->uid, err);

    *body_r = NULL;
    if (rc == 0 && j->what != EDIT_DELETE) {
        *body_r = gw_req_body_json(req, err);
        rc = *body_r ? parse_body(j, *body_r, err) : CM_EINVAL;
    }
    if (rc == 0 && perm != NULL) {
        if (strcmp(perm, "true") != 0 && strcmp(perm, "false") != 0)
            rc = cm_err_set(err, CM_EINVAL, "permanent must be true or false");
        j->permanent = strcmp(perm, "true") == 0;
    }
    return rc;
}

static void serve(struct gw_req *req, enum edit what)
{
    struct cm_err err = CM_ERR_INIT;
    struct gw_principal p = { 0 };
    struct edit_job j = { .req = req, .what = what };
    json_t *body = NULL;
    int rc = parse_request(req, &j, &body, &err);

    if (rc == 0)
        rc = gw_authn_run(req, &p, edit, &j, &err);
    if (rc == CM_EPERM) { /* the server cannot do it without touching other mail */
        gw_req_reply_problem(req, 409, err.msg);
    } else if (rc < 0) {
        gw_req_reply_error(req, &err);
    } else {
        gw_req_reply_json(req, 200, j.out);
        j.out = NULL;
    }
    json_decref(j.out);
    json_decref(body);
    gw_rest_box_fini(&j.box);
    gw_principal_fini(&p);
}

void gw_api_message_flags(struct gw_req *req)
{
    serve(req, EDIT_FLAGS);
}

void gw_api_message_move(struct gw_req *req)
{
    serve(req, EDIT_MOVE);
}

void gw_api_message_delete(struct gw_req *req)
{
    serve(req, EDIT_DELETE);
}
