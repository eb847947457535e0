/* gw_jmap_blob.c - blob download at the session's downloadUrl
 * (RFC 8620 §6.2): /jmap/download/{accountId}/{blobId}/{name}?type=...
 * The blob id says which email and part (ib_ids.h); the email is located
 * as Email/get locates it (so the blob of a moved message still
 * downloads); a part is decoded from its transfer encoding before it is
 * sent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/gw_authn.h"
#include "gateway/gw_ctx.h"
#include "gateway/gw_handlers.h"
#include "gateway/jmap/gw_jblob.h"
#include "gateway/jmap/gw_jmail.h"
#include "gateway/gw_req.h"
#include "imapbridge/ib_fetch.h"
#include "imapbridge/ib_ids.h"
#include "imapbridge/ib_session.h"
#include "imapbridge/ib_state.h"
#include "imapbridge/ib_text.h"
#include "imapbridge/ib_uidset.h"

struct blob_job {
    struct gw_req *req;
    char account[IB_ACCOUNT_ID_LEN + 1];
    char email_id[IB_IDS_EMAIL_MAX + 1];
    uint32_t uid;
    char *part;
    char *data;        /* the answer */
    size_t len;
};

/* Fetch the part and decode it in j->data. */
static int fetch_part(struct ib_session *s, struct blob_job *j, struct cm_err *err)
{
    struct mailimap_set *set = ib_uidset_single(j->uid);
    struct ib_msg *m = NULL;
    size_t nm = 0;
    int rc = set ? ib_fetch_msgs(s, set, IB_FETCH_BODYSTRUCTURE, &m, &nm, err) : CM_ENOMEM;

    if (set != NULL)
        ib_uidset_free(set);
    if (rc == 0 && nm != 1)
        rc = cm_err_set(err, CM_ENOENT, "no such blob");
    if (rc == 0)
        rc = ib_fetch_part(s, j->uid, m[0].body, j->part, &j->data, &j->len, err);
    ib_msgs_free(m, nm);
    return rc;
}

static int fetch_blob(struct ib_session *s, void *arg, struct cm_err *err)
{
    struct blob_job *j = arg;
    struct ib_folder_list l = { 0 };
    struct gw_jmail_where w = { 0 };
    const char *id = j->email_id;
    int rc = ib_mailbox_list(s, &l, err);

    if (rc == 0)
        rc = gw_jmail_locate_checked(j->req->ctx, j->account, s, &l, id, &w, err);
    if (rc == 0 && w.f == NULL)
        rc = cm_err_set(err, CM_ENOENT, "no such blob");
    j->uid = w.uid;
    if (rc == 0)
        rc = ib_session_select(s, w.f->imap_name, true, NULL, err);
    if (rc == 0 && j->part[0] == '\0')
        rc = ib_fetch_section(s, j->uid, "", 0, 0, &j->data, &j->len, err);
    else if (rc == 0)
        rc = fetch_part(s, j, err);
    ib_folder_list_fini(&l);
    return rc;
}

void gw_jmap_download(struct gw_req *req)
{
    struct cm_err err = CM_ERR_INIT;
    struct gw_principal p;
    struct blob_job j = { .req = req };
    const char *type = gw_req_query(req, "type");
    char acct[IB_ACCOUNT_ID_LEN + 1];
    int rc;

    if (gw_jblob_download(req)) /* an uploaded blob (gw_jblob.c) */
        return;
    rc = gw_authn_principal(req, false, &p, &err);
    if (rc == 0) {
        ib_account_id(&req->ctx->upstream, p.creds.username, acct);
        strcpy(j.account, acct);
        if (strcmp(acct, req->params[0]) != 0 ||
            ib_ids_blob_parse(req->ctx->keys.state_key, req->params[1], j.email_id, &j.part) < 0)
            rc = cm_err_set(&err, CM_ENOENT, "no such blob");
    }
    gw_principal_fini(&p);
    if (rc == 0)
        rc = gw_authn_run(req, &p, fetch_blob, &j, &err);
    if (rc < 0) {
        gw_req_reply_error(req, &err);
    } else {
        gw_jmail_add_disposition(req, req->params[2]);
        gw_req_reply_owned(req, 200, NULL, j.data, j.len);
        gw_req_add_header(req, "Content-Type",
                          type && gw_jmail_safe_type(type) ? type : "application/octet-stream");
        j.data = NULL;
    }
    gw_principal_fini(&p);
    free(j.data);
    free(j.part);
}
