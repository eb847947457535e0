/* gw_jmail_created.c - the {id, blobId, threadId, size} of a message this
 * request APPENDed (Email/import, Email/set create): the ids Email/get
 * gives it. */
#include <stdlib.h>

#include "gateway/gw_ctx.h"
#include "gateway/gw_req.h"
#include "gateway/jmap/gw_jmail.h"
#include "gateway/jmap/gw_jmap.h"
#include "imapbridge/ib_fetch.h"
#include "imapbridge/ib_header.h"
#include "imapbridge/ib_park.h"
#include "imapbridge/ib_session.h"
#include "imapbridge/ib_uidset.h"

/* On a server with GUIDs the GUID id (EXAMINE + UID FETCH (X-GUID); the
   location cache learns it), else (or when that fails) the location id.
   *thread_r: the threadId from the server's THREADID when that FETCH
   brought one, else NULL. */
static void new_id(struct gw_jreq *jr, struct ib_session *s, const struct ib_folder *f,
                   uint32_t uidvalidity, uint32_t uid, char *id, char **thread_r)
{
    struct ib_email_loc loc = gw_jmail_loc(f, uid);
    struct cm_err err = CM_ERR_INIT;
    struct mailimap_set *one;
    struct ib_msg *m = NULL;
    size_t n = 0;

    loc.uidvalidity = uidvalidity;
    ib_ids_email(&loc, id);
    if (!(ib_session_caps(s) & IB_CAPS_MSGID) || uidvalidity != f->uidvalidity ||
        (one = ib_uidset_single(uid)) == NULL)
        return;
    if (ib_session_select(s, f->imap_name, true, NULL, &err) == 0 &&
        ib_fetch_msgs(s, one, IB_FETCH_GUID, &m, &n, &err) == 0 && n == 1 && m[0].guid) {
        gw_jmail_id(jr, f, uid, m[0].guid, id);
        *thread_r = m[0].thread_guid ? ib_ids_thread_server(m[0].thread_guid) : NULL;
    }
    ib_msgs_free(m, n);
    ib_uidset_free(one);
}

json_t *gw_jmail_created(struct gw_jreq *jr, struct ib_session *s, const struct ib_folder *f,
                         uint32_t uidvalidity, uint32_t uid, const char *data, size_t len)
{
    struct ib_header_list *hl = NULL;
    struct cm_err err = CM_ERR_INIT;
    char id[IB_IDS_EMAIL_MAX + 1], *blob, *thread = NULL;
    json_t *out;

    new_id(jr, s, f, uidvalidity, uid, id, &thread);
    blob = ib_ids_blob(jr->req->ctx->keys.state_key, id, "");
    if (thread == NULL && ib_header_parse(data, len, &hl, &err) == 0)
        thread = gw_jthread_id(jr, hl, id);
    ib_header_list_free(&hl);
    out = json_pack("{s:s,s:s?,s:s?,s:I}", "id", id, "blobId", blob, "threadId", thread, "size",
                    (json_int_t)ib_park_imap_size(data, len));
    free(blob);
    free(thread);
    return out;
}
