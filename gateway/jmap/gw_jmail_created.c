/* gw_jmail_created.c - a new email of this request (Email/import, Email/set
 * create): the folder its mailboxIds send it to (on Gmail the labels too),
 * and, once APPENDed, its {id, blobId, threadId, size}: the ids Email/get
 * gives it. */
#include <stdlib.h>
#include <string.h>

#include "common/cm_log.h"
#include "gateway/gw_ctx.h"
#include "gateway/gw_req.h"
#include "gateway/jmap/gw_jmail.h"
#include "gateway/jmap/gw_jmap.h"
#include "gateway/jmap/gw_jmap_std.h"
#include "imapbridge/ib_fetch.h"
#include "imapbridge/ib_header.h"
#include "imapbridge/ib_park.h"
#include "imapbridge/ib_session.h"
#include "imapbridge/ib_store.h"
#include "imapbridge/ib_uidset.h"

/* The selectable folder of mailbox id (a "#creationId" through jr's
   created ids), or NULL. */
static const struct ib_folder *box_of(struct gw_jreq *jr, const struct ib_folder_list *l,
                                      const char *id)
{
    const struct ib_folder *f;

    if (id[0] == '#')
        id = json_string_value(json_object_get(jr->created_ids, id + 1));
    f = id != NULL ? ib_folder_find(l, id) : NULL;
    return f != NULL && f->selectable ? f : NULL;
}

json_t *gw_jmail_dest_of(struct gw_jreq *jr, struct ib_session *s, const struct ib_folder_list *l,
                         json_t *boxes, struct gw_jmail_dest *d)
{
    size_t n = json_object_size(boxes), k = 0;
    const char *id, *why = NULL;
    json_t *v;

    memset(d, 0, sizeof(*d));
    if (!json_is_object(boxes) || n == 0)
        return gw_jset_invalid("mailboxIds", "mailboxIds must name a mailbox");
    if (n > 1 && !(ib_session_caps(s) & IB_CAP_XGMEXT))
        return gw_jset_error("tooManyMailboxes", "an IMAP message is in one mailbox "
                                                 "(maxMailboxesPerEmail is 1)");
    d->boxes = calloc(n, sizeof(*d->boxes));
    d->labels = calloc(n, sizeof(*d->labels));
    if (d->boxes == NULL || d->labels == NULL)
        return gw_jset_error("serverFail", "out of memory");
    json_object_foreach(boxes, id, v) {
        const struct ib_folder *f = box_of(jr, l, id);

        if (!json_is_true(v))
            return gw_jset_invalid("mailboxIds", "mailboxIds values must be true");
        if (f == NULL)
            return gw_jset_invalid("mailboxIds", "no such mailbox");
        for (size_t i = 0; i < k && f != NULL; i++)
            f = d->boxes[i] == f ? NULL : f; /* "#c" and its id: once */
        if (f != NULL)
            d->boxes[k++] = f;
    }
    d->nboxes = k;
    if (k == 1) {
        d->f = d->boxes[0];
        return NULL;
    }
    if (gw_jlabels_plan_new(d->boxes, k, &d->f, d->labels, &d->nlabels, &why) != 0)
        return gw_jset_invalid("mailboxIds", why);
    return NULL;
}

void gw_jmail_dest_fini(struct gw_jmail_dest *d)
{
    free(d->boxes);
    free(d->labels);
    memset(d, 0, sizeof(*d));
}

/* The new message uid of d->f fetched (want) after d's labels were added,
   in one round trip: SELECT + UID STORE + UID FETCH (ib_store_labels_in),
   or without labels EXAMINE + UID FETCH (ib_fetch_msgs_in). */
static int fetch_new(struct ib_session *s, const struct gw_jmail_dest *d, uint32_t uid,
                     unsigned int want, struct ib_msg **m, size_t *n, bool *stored_r,
                     struct cm_err *err)
{
    struct mailimap_set *one;
    int rc;

    *stored_r = false;
    if (d->nlabels > 0)
        return ib_store_labels_in(s, d->f->imap_name, uid, d->labels, d->nlabels, NULL, 0, want,
                                  m, n, stored_r, err);
    if ((one = ib_uidset_single(uid)) == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    rc = ib_fetch_msgs_in(s, d->f->imap_name, one, want, m, n, err);
    ib_uidset_free(one);
    return rc;
}

/* On Gmail the mailboxIds Email/get will give (its labels fetched, with
   the ones just added, whichever of STORE and FETCH the server ran
   first), else NULL. */
static json_t *boxes_now(const struct ib_folder_list *l, const struct gw_jmail_dest *d,
                         const struct ib_msg *m, bool stored)
{
    struct ib_msg none = { .has_labels = true }; /* FETCH failed: f and All Mail */
    json_t *o = gw_jmail_mailbox_ids(l, d->f, m != NULL && m->has_labels ? m : &none);

    for (size_t i = 0; o != NULL && stored && i < d->nboxes; i++)
        json_object_set_new(o, d->boxes[i]->id, json_true());
    return o;
}

/* *created: the id (the GUID id when the server has GUIDs and the folder
   is as listed; the location cache learns it; else the location id), the
   threadId from the server's THREADID when the FETCH brought one (else
   left NULL), and on Gmail "mailboxIds". */
static void describe_new(struct gw_jreq *jr, struct ib_session *s, const struct ib_folder_list *l,
                         const struct gw_jmail_dest *d, uint32_t uidvalidity, uint32_t uid,
                         char *id, char **thread_r, json_t **boxes_r)
{
    struct ib_email_loc loc = gw_jmail_loc(d->f, uid);
    struct cm_err err = CM_ERR_INIT;
    unsigned int caps = ib_session_caps(s);
    unsigned int want = (caps & IB_CAPS_MSGID ? IB_FETCH_GUID : 0) |
                        (caps & IB_CAP_XGMEXT ? IB_FETCH_LABELS : 0);
    struct ib_msg *m = NULL;
    size_t n = 0;
    bool stored = false;

    loc.uidvalidity = uidvalidity;
    ib_ids_email(&loc, id);
    if (want == 0 && d->nlabels == 0)
        return;
    if (fetch_new(s, d, uid, want, &m, &n, &stored, &err) < 0)
        cm_warn("", "new email in %s: %s", d->f->imap_name, err.msg);
    if (n == 1 && m[0].guid != NULL && uidvalidity == d->f->uidvalidity) {
        gw_jmail_id(jr, d->f, uid, m[0].guid, id);
        *thread_r = m[0].thread_guid ? ib_ids_thread_server(m[0].thread_guid) : NULL;
    }
    if (caps & IB_CAP_XGMEXT)
        *boxes_r = boxes_now(l, d, n == 1 ? &m[0] : NULL, stored || d->nlabels == 0);
    ib_msgs_free(m, n);
}

json_t *gw_jmail_created(struct gw_jreq *jr, struct ib_session *s, const struct ib_folder_list *l,
                         const struct gw_jmail_dest *d, uint32_t uidvalidity, uint32_t uid,
                         const char *data, size_t len)
{
    struct ib_header_list *hl = NULL;
    struct cm_err err = CM_ERR_INIT;
    char id[IB_IDS_EMAIL_MAX + 1], *blob, *thread = NULL;
    json_t *out, *boxes = NULL;

    describe_new(jr, s, l, d, uidvalidity, uid, id, &thread, &boxes);
    blob = ib_ids_blob(jr->req->ctx->keys.state_key, id, "");
    if (thread == NULL && ib_header_parse(data, len, &hl, &err) == 0)
        thread = gw_jthread_id(jr, hl, id);
    ib_header_list_free(&hl);
    out = json_pack("{s:s,s:s?,s:s?,s:I,s:o*}", "id", id, "blobId", blob, "threadId", thread,
                    "size", (json_int_t)ib_park_imap_size(data, len), "mailboxIds", boxes);
    free(blob);
    free(thread);
    return out;
}
