/* gw_jmap_upload.c - POST uploadUrl (RFC 8620 §6.1): the body is wrapped
 * (base64) as it arrives on the MHD thread, so it is held once, then a
 * worker parks the wrapped message in the account's parking folder
 * (ib_park.h) and answers 201 {accountId, blobId, type, size}.
 *
 * Limits: maxSizeUpload (max_upload, 413), maxConcurrentUpload
 * (max_concurrent_upload per account on this instance, 429) and the
 * bytes one account keeps parked (upload_account_max, 413).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cm_counter.h"
#include "gateway/gw_authn.h"
#include "gateway/gw_ctx.h"
#include "gateway/gw_handlers.h"
#include "gateway/gw_req.h"
#include "imapbridge/ib_park.h"

#define COUNTER_PREFIX "upload:"

struct upload {
    struct gw_ctx *ctx;
    char account[IB_ACCOUNT_ID_LEN + 1];
    char key[sizeof(COUNTER_PREFIX) + IB_ACCOUNT_ID_LEN];
    bool counted;
    char type[IB_PARK_TYPE_MAX + 1];
    int64_t created;
    struct cm_buf msg; /* the wrapped message, built as the body arrives */
    struct ib_park_wrap w;
    uint32_t uidvalidity, uid;
};

static void upload_free(void *arg)
{
    struct upload *u = arg;

    if (u == NULL)
        return;
    if (u->counted)
        cm_counter_leave(u->ctx->jmap_inflight, u->key);
    cm_buf_fini(&u->msg);
    free(u);
}

static int sink(struct gw_req *req, const char *data, size_t len)
{
    struct upload *u = req->sink_arg;

    if (u->w.size + len > req->ctx->set->max_upload_bytes ||
        ib_park_wrap_feed(&u->w, data, len) < 0) {
        gw_req_reply_problem(req, 413, "the upload exceeds maxSizeUpload");
        return -1;
    }
    return 0;
}

static bool declared_too_big(const struct gw_req *req, const char *cl)
{
    return cl != NULL && strtoull(cl, NULL, 10) > req->ctx->set->max_upload_bytes;
}

/* Header time, MHD thread: who, where, how big, how many at once. */
static void begin(struct gw_req *req)
{
    const struct gw_settings *set = req->ctx->set;
    const char *type = gw_req_header(req, GW_HDR_CONTENT_TYPE);
    const char *cl = gw_req_header(req, GW_HDR_CONTENT_LENGTH);
    struct cm_err err = CM_ERR_INIT;
    struct gw_principal p;
    struct upload *u;

    if (gw_authn_principal(req, false, &p, &err) < 0) {
        gw_principal_fini(&p);
        gw_req_reply_error(req, &err);
        return;
    }
    u = calloc(1, sizeof(*u));
    if (u == NULL) {
        gw_principal_fini(&p);
        gw_req_reply_problem(req, 500, "out of memory");
        return;
    }
    u->ctx = req->ctx;
    ib_account_id(&req->ctx->upstream, p.creds.username, u->account);
    gw_principal_fini(&p);
    req->sink_arg = u;
    req->sink_free = upload_free;
    if (strcmp(u->account, req->params[0]) != 0) {
        gw_req_reply_problem(req, 404, "no such account");
        return;
    }
    if (declared_too_big(req, cl)) {
        gw_req_reply_problem(req, 413, "the upload exceeds maxSizeUpload");
        return;
    }
    if (type == NULL || type[0] == '\0')
        type = "application/octet-stream";
    if (!ib_park_type_ok(type)) {
        gw_req_reply_problem(req, 400, "Content-Type is not a media type the gateway keeps");
        return;
    }
    snprintf(u->type, sizeof(u->type), "%s", type);
    snprintf(u->key, sizeof(u->key), COUNTER_PREFIX "%s", u->account);
    if (!cm_counter_enter(req->ctx->jmap_inflight, u->key, set->max_concurrent_upload)) {
        gw_req_add_header(req, "Retry-After", "1");
        gw_req_reply_problem(req, 429, "too many concurrent uploads (maxConcurrentUpload)");
        return;
    }
    u->counted = true;
    u->created = (int64_t)time(NULL);
    cm_buf_init(&u->msg, ib_park_wrapped_size(set->max_upload_bytes));
    /* With a Content-Length the whole wrapped message gets its room now, so
       the body is never moved (held twice) while it grows. */
    if ((cl != NULL &&
         cm_buf_reserve(&u->msg, ib_park_wrapped_size(strtoull(cl, NULL, 10))) < 0) ||
        ib_park_wrap_begin(&u->w, &u->msg, u->created) < 0) {
        gw_req_reply_problem(req, 500, "out of memory");
        return;
    }
    req->body_sink = sink;
}

/* Worker: sweep what expired, check the account's cap, park. */
static int park(struct ib_session *s, void *arg, struct cm_err *err)
{
    struct upload *u = arg;
    uint64_t kept = 0;
    int rc = ib_park_sweep(s, (int64_t)time(NULL), u->ctx->set->upload_ttl_secs, &kept, err);

    if (rc == 0 && kept + u->msg.len > u->ctx->set->upload_account_bytes)
        return cm_err_set(err, CM_ELIMIT,
                          "the account keeps too many uploaded bytes "
                          "(upload_account_max); use or wait for them to expire");
    return rc < 0 ? rc : ib_park_put(s, u->msg.data, u->msg.len, &u->uidvalidity, &u->uid, err);
}

static void answer(struct gw_req *req, struct upload *u)
{
    struct ib_park_ref ref = {
        .uidvalidity = u->uidvalidity, .uid = u->uid, .size = u->w.size, .created = u->created};
    char *id;

    memcpy(ref.account, u->account, sizeof(ref.account));
    memcpy(ref.type, u->type, sizeof(ref.type));
    id = ib_park_blob_id(req->ctx->keys.state_key, &ref);
    if (id == NULL) {
        gw_req_reply_problem(req, 500, "out of memory");
        return;
    }
    gw_req_reply_json(req, 201,
                      json_pack("{s:s,s:s,s:s,s:I}", "accountId", u->account, "blobId", id, "type",
                                u->type, "size", (json_int_t)u->w.size));
    free(id);
}

void gw_jmap_upload(struct gw_req *req)
{
    struct upload *u = req->sink_arg;
    struct cm_err err = CM_ERR_INIT;
    struct gw_principal p;
    int rc;

    if (req->at_headers) {
        begin(req);
        return;
    }
    if (u == NULL || req->body_sink == NULL) {
        gw_req_reply_problem(req, 500, "upload state missing");
        return;
    }
    if (ib_park_wrap_end(&u->w) < 0) {
        gw_req_reply_problem(req, 413, "the upload exceeds maxSizeUpload");
        return;
    }
    rc = gw_authn_run(req, &p, park, u, &err);
    gw_principal_fini(&p);
    if (rc < 0) {
        gw_req_reply_error(req, &err);
        return;
    }
    cm_buf_fini(&u->msg); /* parked: free it before building the answer */
    answer(req, u);
}
