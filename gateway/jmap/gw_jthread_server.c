/* gw_jthread_server.c - thread ids from the server's own (RFC 8474
 * THREADID, Cyrus): an Email's threadId is "s" + its THREADID, fetched in
 * the same FETCH as the rest of the message (EMAILID and THREADID come
 * together with IB_FETCH_GUID on an OBJECTID server), so no parent is
 * searched for; Thread/get finds the members by one pipelined round of
 * `UID SEARCH THREADID` over the folders (ib_locate_thread), then one
 * EXAMINE + UID FETCH per folder holding members. Messages the server
 * gave no THREADID (NIL) keep the root-Message-ID ids (gw_jthread.c). */
#include <stdlib.h>
#include <string.h>

#include "gateway/gw_req.h"
#include "gateway/jmap/gw_jmail.h"
#include "imapbridge/ib_fetch.h"
#include "imapbridge/ib_ids.h"
#include "imapbridge/ib_locate.h"
#include "imapbridge/ib_mailbox.h"
#include "imapbridge/ib_session.h"
#include "imapbridge/ib_uidset.h"

unsigned int gw_jthread_fetch_want(unsigned int caps)
{
    return (caps & IB_CAP_OBJECTID) || IB_CAPS_GMAIL_IDS(caps) ? IB_FETCH_GUID : 0;
}

char *gw_jthread_id_of(struct gw_jreq *jr, const struct ib_msg *m,
                       const struct ib_header_list *hl, const char *email_id)
{
    char *id = m && m->thread_guid ? ib_ids_thread_server(m->thread_guid) : NULL;

    if (id != NULL)
        return id;
    return jr != NULL ? gw_jthread_id(jr, hl, email_id) : gw_jmail_thread_id(hl, email_id);
}

char *gw_jthread_key_of(struct gw_jreq *jr, const struct ib_msg *m,
                        const struct ib_header_list *hl)
{
    char *id = m && m->thread_guid ? ib_ids_thread_server(m->thread_guid) : NULL;

    return id ? id : gw_jthread_root(jr, hl);
}

bool gw_jthread_all_server(const struct ib_msg *msgs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (msgs[i].thread_guid == NULL || !ib_ids_guid_valid(msgs[i].thread_guid))
            return false;
    }
    return true;
}

/* The hits in folder fi as a UID set (NULL: none, or OOM). */
static struct mailimap_set *uids_in(const struct ib_locate_hit *hits, size_t n, size_t fi)
{
    uint32_t *uids = malloc((n ? n : 1) * sizeof(*uids));
    struct mailimap_set *set = NULL;
    size_t k = 0;

    for (size_t i = 0; uids != NULL && i < n; i++) {
        if (hits[i].folder == fi)
            uids[k++] = hits[i].uid;
    }
    if (k > 0)
        set = ib_uidset_of(uids, k);
    free(uids);
    return set;
}

/* Members of folder f (its hits in set): EXAMINE + UID FETCH (EMAILID,
   THREADID, INTERNALDATE) in one round trip; only those still in tid. */
static int folder_members(struct gw_jreq *jr, struct ib_session *s, const struct ib_folder *f,
                          struct mailimap_set *set, const char *tid,
                          gw_jthread_member_fn *add, void *ctx, struct cm_err *err)
{
    struct ib_folder_list one = { 0 };
    struct ib_msg *msgs = NULL;
    size_t nm = 0;
    int rc = ib_mailbox_open_fetch(s, f->path, true, set,
                                   IB_FETCH_GUID | IB_FETCH_INTERNALDATE, &one, &msgs, &nm, err);

    if (rc == CM_EINVAL) { /* a name not addressable directly: select, then fetch */
        cm_err_clear(err);
        rc = ib_session_select(s, f->imap_name, true, NULL, err);
        if (rc == 0)
            rc = ib_fetch_msgs(s, set, IB_FETCH_GUID | IB_FETCH_INTERNALDATE, &msgs, &nm, err);
    }
    for (size_t i = 0; rc == 0 && i < nm; i++) {
        char id[IB_IDS_EMAIL_MAX + 1];

        if (msgs[i].thread_guid == NULL || strcmp(msgs[i].thread_guid, tid) != 0)
            continue; /* moved on meanwhile */
        gw_jmail_id(jr, f, msgs[i].uid, msgs[i].guid, id);
        rc = add(ctx, msgs[i].internaldate, id);
    }
    ib_folder_list_fini(&one);
    ib_msgs_free(msgs, nm);
    return rc;
}

int gw_jthread_server_members(struct gw_jreq *jr, const struct ib_folder_list *l,
                              const char *thread_id, gw_jthread_member_fn *add, void *ctx,
                              struct cm_err *err)
{
    char *tid = ib_ids_thread_server_parse(thread_id);
    const char **names = calloc(l->count + 1, sizeof(*names));
    size_t *of = calloc(l->count + 1, sizeof(*of)), n = 0, nhits = 0;
    uint32_t *uidv = calloc(l->count + 1, sizeof(*uidv));
    struct ib_locate_hit *hits = NULL;
    struct ib_session *s = NULL;
    int rc = names && of && uidv ? 0 : cm_err_set(err, CM_ENOMEM, "out of memory");

    for (size_t i = 0; rc == 0 && i < l->count; i++) {
        if (l->items[i].selectable && l->items[i].has_status && l->items[i].total > 0) {
            of[n] = i;
            names[n++] = l->items[i].imap_name;
        }
    }
    if (rc == 0 && tid != NULL && n > 0 && (rc = gw_jreq_session(jr, &s, err)) == 0)
        rc = ib_locate_thread(s, names, n, tid, uidv, &hits, &nhits, err);
    if (rc == CM_EPERM) { /* no THREADID here: such a thread is nowhere */
        cm_err_clear(err);
        rc = 0;
    }
    for (size_t fi = 0; rc == 0 && fi < n; fi++) {
        struct mailimap_set *set = uids_in(hits, nhits, fi);

        if (set != NULL)
            rc = folder_members(jr, s, &l->items[of[fi]], set, tid, add, ctx, err);
        if (set != NULL)
            ib_uidset_free(set);
    }
    free(hits);
    free(uidv);
    free(of);
    free(names);
    free(tid);
    return rc;
}
