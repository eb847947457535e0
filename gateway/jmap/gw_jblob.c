/* gw_jblob.c - blobIds of either kind -> bytes; download of parked blobs. */
#include "gateway/jmap/gw_jblob.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/gw_authn.h"
#include "gateway/gw_ctx.h"
#include "gateway/gw_req.h"
#include "gateway/jmap/gw_jmail.h"
#include "imapbridge/ib_fetch.h"
#include "imapbridge/ib_park.h"
#include "imapbridge/ib_session.h"
#include "imapbridge/ib_uidset.h"

int gw_jblob_parse(struct gw_ctx *ctx, const char *account, const char *blob_id,
                   struct gw_jblob *b, struct cm_err *err)
{
    const unsigned char *key = ctx->keys.state_key;

    memset(b, 0, sizeof(*b));
    if (blob_id == NULL)
        return cm_err_set(err, CM_ENOENT, "no such blob");
    b->ctx = ctx;
    snprintf(b->account, sizeof(b->account), "%s", account);
    if (ib_ids_blob_parse(key, blob_id, b->email_id, &b->part) == 0)
        return 0;
    if (ib_park_blob_parse(key, blob_id, &b->ref) < 0 || strcmp(b->ref.account, account) != 0 ||
        ib_park_expired(&b->ref, (int64_t)time(NULL), ctx->set->upload_ttl_secs))
        return cm_err_set(err, CM_ENOENT, "no such blob");
    b->parked = true;
    return 0;
}

void gw_jblob_fini(struct gw_jblob *b)
{
    free(b->part);
    b->part = NULL;
}

int gw_jblob_locate(struct ib_session *s, const struct ib_folder_list *l, const struct gw_jblob *b,
                    struct gw_jmail_where *w, struct cm_err *err)
{
    *w = (struct gw_jmail_where){ NULL, 0, false };
    if (b->parked)
        return 0;
    return gw_jmail_locate_checked(b->ctx, b->account, s, l, b->email_id, w, err);
}

static int read_part(struct ib_session *s, const struct gw_jblob *b, uint32_t uid, char **data_r,
                     size_t *len_r, struct cm_err *err)
{
    struct mailimap_set *set = ib_uidset_single(uid);
    struct ib_msg *m = NULL;
    size_t nm = 0;
    int rc = set ? ib_fetch_msgs(s, set, IB_FETCH_BODYSTRUCTURE, &m, &nm, err)
                 : cm_err_set(err, CM_ENOMEM, "out of memory");

    if (set != NULL)
        ib_uidset_free(set);
    if (rc == 0 && nm != 1)
        rc = cm_err_set(err, CM_ENOENT, "no such blob");
    if (rc == 0)
        rc = ib_fetch_part(s, uid, m[0].body, b->part, data_r, len_r, err);
    ib_msgs_free(m, nm);
    return rc;
}

int gw_jblob_read(struct ib_session *s, const struct ib_folder_list *l, const struct gw_jblob *b,
                  char **data_r, size_t *len_r, struct cm_err *err)
{
    struct gw_jmail_where w;
    int rc;

    *data_r = NULL;
    *len_r = 0;
    if (b->parked)
        return ib_park_get(s, &b->ref, data_r, len_r, err);
    rc = gw_jblob_locate(s, l, b, &w, err);
    if (rc == 0 && w.f == NULL)
        return cm_err_set(err, CM_ENOENT, "no such blob");
    if (rc == 0)
        rc = ib_session_select(s, w.f->imap_name, true, NULL, err);
    if (rc == 0 && b->part[0] == '\0')
        rc = ib_fetch_section(s, w.uid, "", 0, 0, data_r, len_r, err);
    else if (rc == 0)
        rc = read_part(s, b, w.uid, data_r, len_r, err);
    return rc;
}

struct dl_job {
    const struct ib_park_ref *ref;
    char *data;
    size_t len;
};

static int dl_run(struct ib_session *s, void *arg, struct cm_err *err)
{
    struct dl_job *j = arg;

    return ib_park_get(s, j->ref, &j->data, &j->len, err);
}

bool gw_jblob_download(struct gw_req *req)
{
    struct cm_err err = CM_ERR_INIT;
    struct gw_principal p;
    struct ib_park_ref ref;
    struct dl_job j = {.ref = &ref};
    const char *type = gw_req_query(req, "type");
    char acct[IB_ACCOUNT_ID_LEN + 1];
    int rc;

    if (ib_park_blob_parse(req->ctx->keys.state_key, req->params[1], &ref) < 0)
        return false;
    rc = gw_authn_principal(req, false, &p, &err);
    if (rc == 0) {
        ib_account_id(&req->ctx->upstream, p.creds.username, acct);
        if (strcmp(acct, req->params[0]) != 0 || strcmp(acct, ref.account) != 0 ||
            ib_park_expired(&ref, (int64_t)time(NULL), req->ctx->set->upload_ttl_secs))
            rc = cm_err_set(&err, CM_ENOENT, "no such blob");
    }
    gw_principal_fini(&p);
    if (rc == 0)
        rc = gw_authn_run(req, &p, dl_run, &j, &err);
    gw_principal_fini(&p);
    if (rc < 0) {
        gw_req_reply_error(req, &err);
    } else {
        gw_jmail_add_disposition(req, req->params[2]);
        gw_req_reply_owned(req, 200, NULL, j.data, j.len);
        gw_req_add_header(req, "Content-Type", type && gw_jmail_safe_type(type) ? type : ref.type);
        j.data = NULL;
    }
    free(j.data);
    return true;
}
