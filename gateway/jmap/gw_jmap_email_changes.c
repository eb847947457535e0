/* gw_jmap_email_changes.c - Email/changes (RFC 8621 §4.3) answered from
 * the state token alone (ARCHITECTURE §4): the token is the per-folder
 * vector (UIDVALIDITY, HIGHESTMODSEQ, UIDNEXT, EXISTS), and per changed
 * folder ib_delta_since (imapbridge/ib_delta.h) tells what happened, in
 * O(changes). Without CONDSTORE, or when the server cannot tell (a folder
 * gone, UIDVALIDITY changed, expunges without QRESYNC), the answer is
 * cannotCalculateChanges, never a guess. This file keeps the maxChanges
 * cut. */
#include <stdlib.h>
#include <string.h>

#include "gateway/gw_ctx.h"
#include "gateway/jmap/gw_jmail.h"
#include "gateway/jmap/gw_jmap_methods.h"
#include "gateway/jmap/gw_jmap_std.h"
#include "gateway/gw_req.h"
#include "imapbridge/ib_delta.h"
#include "imapbridge/ib_fetch.h"
#include "imapbridge/ib_labels.h"
#include "imapbridge/ib_session.h"
#include "imapbridge/ib_state.h"
#include "imapbridge/ib_uidset.h"

struct echanges {
    struct gw_jcall *c;
    struct ib_session *s;
    long long room;             /* changes still allowed (maxChanges), -1 = no limit */
    bool more;
    json_t *created, *updated, *destroyed;
    json_t *core_new;             /* Gmail: ids created in All Mail, Trash or Spam (a set) */
    struct ib_state_entry *next;  /* the new vector */
    size_t nnext;
};

static int cannot(struct gw_jcall *c, struct cm_err *err, const char *why)
{
    return gw_jcall_fail(c, err, "cannotCalculateChanges", CM_EINVAL, "%s", why);
}

static void add_id(struct echanges *ec, json_t *list, const struct ib_folder *f, uint32_t uid,
                   const char *guid)
{
    char id[IB_IDS_EMAIL_MAX + 1];

    gw_jmail_id(ec->c->jr, f, uid, guid, id);
    json_array_append_new(list, json_string(id));
    if (ec->core_new != NULL && list == ec->created &&
        (ib_labels_is_bin(f) || (f->role != NULL && strcmp(f->role, "all") == 0)))
        json_object_set_new(ec->core_new, id, json_true());
}

/* The id of an expunged message: its location id, or on a server with
   GUIDs the id this instance saw there (a UID is never reused, so the
   reverse cache stays true). An instance that never saw it cannot name
   it: cannotCalculateChanges, and the client resyncs. */
static int add_vanished(struct echanges *ec, const struct ib_folder *f, uint32_t uid,
                        struct cm_err *err)
{
    char id[IB_IDS_EMAIL_MAX + 1];

    if (!(ib_session_caps(ec->s) & IB_CAPS_MSGID)) {
        add_id(ec, ec->destroyed, f, uid, NULL);
        return 0;
    }
    if (!gw_jmail_id_at(ec->c->jr, f, uid, id))
        return cannot(ec->c, err, "a message this instance never saw was expunged: its id "
                                  "cannot be told");
    json_array_append_new(ec->destroyed, json_string(id));
    return 0;
}

/* A message that left one folder and arrived in another with the same
   GUID moved: one update, not destroy + create. Also drops an id reported
   both created and updated (a move into a folder whose other changes are
   updates). */
static void pair_moves(struct echanges *ec)
{
    size_t i = 0;

    while (i < json_array_size(ec->destroyed)) {
        const char *id = json_string_value(json_array_get(ec->destroyed, i));
        bool moved = false;

        for (size_t k = 0; k < json_array_size(ec->created); k++) {
            if (strcmp(json_string_value(json_array_get(ec->created, k)), id) == 0) {
                json_array_remove(ec->created, k);
                moved = true;
                break;
            }
        }
        if (!moved) {
            i++;
            continue;
        }
        json_array_append_new(ec->updated, json_string(id));
        json_array_remove(ec->destroyed, i);
    }
}

/* One change of a folder, for the maxChanges cut. */
struct jchange {
    uint32_t uid;
    uint64_t modseq;
    bool created;
    const char *guid;  /* borrowed from the delta */
};

static int cmp_modseq(const void *a, const void *b)
{
    const struct jchange *x = a, *y = b;

    if (x->modseq != y->modseq)
        return x->modseq < y->modseq ? -1 : 1;
    return x->uid < y->uid ? -1 : x->uid > y->uid;
}

/* Report the changes of d that fit in the room left (maxChanges), oldest
   first and cut at a modseq boundary, so an intermediate state is a valid
   point. Fills *entry with the folder's new (possibly intermediate) state. */
static int take_changes(struct echanges *ec, const struct ib_folder *f, const struct ib_delta *d,
                        const struct ib_state_entry *old, struct ib_state_entry *entry,
                        struct cm_err *err)
{
    size_t n = d->nupdated + d->ncreated, take;
    struct jchange *ch = calloc(n + 1, sizeof(*ch));
    int rc = 0;

    if (ch == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    /* ascending UID: every updated one is below every created one */
    for (size_t i = 0; i < d->nupdated; i++)
        ch[i] = (struct jchange){ d->updated[i].uid, d->updated[i].modseq, false,
                                  d->updated[i].guid };
    for (size_t i = 0; i < d->ncreated; i++)
        ch[d->nupdated + i] = (struct jchange){ d->created[i].uid, d->created[i].modseq, true,
                                                d->created[i].guid };
    take = ec->room < 0 || (long long)n <= ec->room ? n : (size_t)ec->room;
    if (take < n) {
        qsort(ch, n, sizeof(*ch), cmp_modseq);
        while (take > 0 && take < n && ch[take].modseq == ch[take - 1].modseq)
            take--;
        if (take == 0) {
            rc = cannot(ec->c, err, "too many changes at one modseq for maxChanges");
            goto out;
        }
        ec->more = true;
    }
    for (size_t i = 0; i < take; i++)
        add_id(ec, ch[i].created ? ec->created : ec->updated, f, ch[i].uid, ch[i].guid);
    if (ec->room >= 0)
        ec->room -= (long long)take;
    if (take == n) {
        for (size_t i = 0; rc == 0 && i < d->nvanished; i++)
            rc = add_vanished(ec, f, d->vanished[i], err);
        *entry = (struct ib_state_entry){ old->folder_key, f->uidvalidity, f->highestmodseq,
                                          f->uidnext, f->total };
    } else {
        /* An intermediate point: UIDNEXT stays, so a message that arrived
           but was not reported yet is still "created" next time (one
           reported twice as created is harmless; never as updated). */
        entry->modseq = ch[take - 1].modseq;
        entry->exists = 0; /* unknown here: the equal-state shortcut never matches */
    }
out:
    free(ch);
    return rc;
}

/* Changes of one folder that existed at the old state. Fills *entry with
   the folder's new (possibly intermediate) state. */
static int folder_changes(struct echanges *ec, const struct ib_folder *f,
                          const struct ib_state_entry *old, struct ib_state_entry *entry,
                          struct cm_err *err)
{
    struct ib_delta_state was = ib_delta_state_of_entry(old), now = ib_delta_state_of_folder(f);
    struct ib_delta d = { 0 };
    int rc = 0;

    *entry = *old;
    /* the token is the vector: an equal one is an unchanged folder, but
       without CONDSTORE only when the folder is empty (the counts do not
       move when another client changes a flag) */
    if (ib_delta_state_equal(&was, &now) && (now.highestmodseq != 0 || now.exists == 0))
        return 0;
    if (ib_delta_needs_server(&was, &now))
        rc = ib_session_select(ec->s, f->imap_name, true, NULL, err);
    if (rc == 0)
        rc = ib_delta_since(ec->s, &was, &now, &d, err);
    if (rc == 0 && d.kind == IB_DELTA_UIDVALIDITY)
        rc = cannot(ec->c, err, "a folder's UIDVALIDITY changed");
    else if (rc == 0 && d.kind == IB_DELTA_NO_CONDSTORE)
        rc = cannot(ec->c, err, "the server has no CONDSTORE: changes cannot be told");
    else if (rc == 0 && d.expunges_unknowable)
        rc = cannot(ec->c, err, "messages were expunged that the server does not name");
    if (rc == 0)
        rc = take_changes(ec, f, &d, old, entry, err);
    ib_delta_fini(&d);
    return rc;
}

/* Every UID of the selected folder, with its GUID where the server has
   them (one UID FETCH 1:* (X-GUID) instead of UID SEARCH ALL). */
static int folder_ids(struct echanges *ec, uint32_t **uids_r, char ***guids_r, size_t *n_r,
                      struct cm_err *err)
{
    struct mailimap_set *all;
    struct ib_msg *m = NULL;
    size_t nm = 0;
    int rc;

    *guids_r = NULL;
    if (!(ib_session_caps(ec->s) & IB_CAPS_MSGID))
        return ib_fetch_search(ec->s, NULL, false, uids_r, n_r, err);
    all = ib_uidset_interval(1, 0);
    rc = all ? ib_fetch_msgs(ec->s, all, IB_FETCH_GUID, &m, &nm, err)
             : cm_err_set(err, CM_ENOMEM, "out of memory");
    if (all != NULL)
        ib_uidset_free(all);
    *uids_r = rc == 0 ? calloc(nm + 1, sizeof(**uids_r)) : NULL;
    *guids_r = rc == 0 ? calloc(nm + 1, sizeof(**guids_r)) : NULL;
    if (rc == 0 && (*uids_r == NULL || *guids_r == NULL))
        rc = cm_err_set(err, CM_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < nm; i++) {
        (*uids_r)[i] = m[i].uid;
        (*guids_r)[i] = m[i].guid; /* moved */
        m[i].guid = NULL;
    }
    *n_r = rc == 0 ? nm : 0;
    if (rc < 0) {
        free(*uids_r);
        free(*guids_r);
        *uids_r = NULL;
        *guids_r = NULL;
    }
    ib_msgs_free(m, nm);
    return rc;
}

/* A folder that did not exist at the old state: all of it is new. */
static int new_folder(struct echanges *ec, const struct ib_folder *f, struct ib_state_entry *e,
                      bool *skipped, struct cm_err *err)
{
    uint32_t *uids = NULL;
    char **guids = NULL;
    size_t n = 0;
    int rc = 0;

    *skipped = false;
    if (f->total > 0) {
        if (ec->room >= 0 && (long long)f->total > ec->room) {
            ec->more = true;
            *skipped = true;
            return 0;
        }
        rc = ib_session_select(ec->s, f->imap_name, true, NULL, err);
        if (rc == 0)
            rc = folder_ids(ec, &uids, &guids, &n, err);
        for (size_t i = 0; rc == 0 && i < n; i++)
            add_id(ec, ec->created, f, uids[i], guids ? guids[i] : NULL);
        if (ec->room >= 0)
            ec->room -= (long long)n;
        free(uids);
        for (size_t i = 0; guids != NULL && i < n; i++)
            free(guids[i]);
        free(guids);
    }
    *e = (struct ib_state_entry){ ib_state_folder_key(f->id), f->uidvalidity, f->highestmodseq,
                                  f->uidnext, f->total };
    return rc;
}

static int walk_folders(struct echanges *ec, const struct ib_folder_list *l,
                        const struct ib_state_entry *old, size_t nold, struct cm_err *err)
{
    size_t seen = 0;
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < l->count; i++) {
        const struct ib_folder *f = &l->items[i];
        const struct ib_state_entry *o;
        struct ib_state_entry e;
        bool skipped = false;

        if (!f->selectable || !f->has_status)
            continue;
        o = ib_state_find(old, nold, ib_state_folder_key(f->id));
        if (o != NULL) {
            seen++;
            rc = folder_changes(ec, f, o, &e, err);
        } else {
            rc = new_folder(ec, f, &e, &skipped, err);
        }
        if (rc == 0 && !skipped)
            ec->next[ec->nnext++] = e;
    }
    /* folders that are gone: their messages are gone too, ids unknown */
    for (size_t i = 0; rc == 0 && seen < nold && i < nold; i++) {
        bool present = false;

        for (size_t k = 0; k < l->count && !present; k++)
            present = ib_state_folder_key(l->items[k].id) == old[i].folder_key;
        if (!present && old[i].exists > 0)
            return cannot(ec->c, err, "a folder with messages was deleted or renamed");
    }
    return rc;
}

int gw_jmail_changes(struct gw_jcall *c, struct gw_jmail_delta *d, struct cm_err *err)
{
    const unsigned char *key = c->jr->req->ctx->keys.state_key;
    struct echanges ec = { .c = c, .room = -1 };
    struct gw_jchanges ch;
    const struct ib_folder_list *l;
    struct ib_state_entry *old = NULL;
    size_t nold = 0;
    int rc;

    memset(d, 0, sizeof(*d));
    ec.created = json_array();
    ec.updated = json_array();
    ec.destroyed = json_array();
    rc = gw_jchanges_parse(c, &ch, err);
    if (rc == 0 && ib_state_decode(key, IB_STATE_EMAIL, ch.since_state, &old, &nold) < 0)
        rc = cannot(c, err, "sinceState is not an Email or Thread state of this server");
    ec.room = ch.max_changes;
    if (rc == 0)
        rc = gw_jmail_folders(c->jr, &l, err);
    if (rc == 0)
        rc = gw_jreq_session(c->jr, &ec.s, err);
    if (rc == 0 && (ib_session_caps(ec.s) & IB_CAP_XGMEXT) &&
        (ec.core_new = json_object()) == NULL)
        rc = cm_err_set(err, CM_ENOMEM, "out of memory");
    if (rc == 0) {
        ec.next = calloc(l->count + 1, sizeof(*ec.next));
        rc = ec.next ? walk_folders(&ec, l, old, nold, err) : CM_ENOMEM;
    }
    if (rc == 0)
        pair_moves(&ec);
    if (rc == 0 && ec.core_new != NULL)
        gw_jlabels_fold_changes(ec.created, ec.updated, ec.core_new);
    if (rc == 0) {
        d->new_state = ib_state_encode(key, IB_STATE_EMAIL, ec.next, ec.nnext);
        rc = d->new_state ? 0 : cm_err_set(err, CM_ENOMEM, "cannot encode the state");
    }
    if (rc == 0) {
        d->old_state = ch.since_state;
        d->more = ec.more;
        d->created = ec.created;
        d->updated = ec.updated;
        d->destroyed = ec.destroyed;
        ec.created = ec.updated = ec.destroyed = NULL;
    }
    json_decref(ec.created);
    json_decref(ec.updated);
    json_decref(ec.destroyed);
    json_decref(ec.core_new);
    free(ec.next);
    free(old);
    return rc;
}

void gw_jmail_delta_fini(struct gw_jmail_delta *d)
{
    json_decref(d->created);
    json_decref(d->updated);
    json_decref(d->destroyed);
    free(d->new_state);
    memset(d, 0, sizeof(*d));
}

json_t *gw_jmap_email_changes(struct gw_jcall *c, struct cm_err *err)
{
    struct gw_jmail_delta d;
    json_t *reply = NULL;

    if (gw_jmail_changes(c, &d, err) == 0)
        reply = gw_jchanges_reply(c, d.old_state, d.new_state, d.more, json_incref(d.created),
                                  json_incref(d.updated), json_incref(d.destroyed));
    gw_jmail_delta_fini(&d);
    return reply;
}
