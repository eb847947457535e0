/* gw_jmap_email_create.c - Email/set create: JMAP object -> message
 * (gw_jemail_mime.c) -> APPEND (see gw_jmap_email_create.h). Parts given
 * by blobId are read here (an upload, or a part of a message); uploads are
 * left parked (several emails may use one) and expire as usual. */
#include "gateway/jmap/gw_jmap_email_create.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/gw_ctx.h"
#include "gateway/gw_req.h"
#include "gateway/gw_settings.h"
#include "gateway/jmap/gw_jblob.h"
#include "gateway/jmap/gw_jemail_mime.h"
#include "gateway/jmap/gw_jmail.h"
#include "gateway/jmap/gw_jmap.h"
#include "gateway/jmap/gw_jmap_std.h"
#include "imapbridge/ib_append.h"
#include "imapbridge/ib_session.h"

#define MAX_KEYWORDS 64

struct ecreate {
    struct gw_jcall *c;
    struct ib_session *s;
    const struct ib_folder_list *l;
};

/* gw_jemail_blob_fn: an upload of this account or a message part. */
static int read_blob(void *ctx, const char *blob_id, char **data_r, size_t *len_r,
                     struct cm_err *err)
{
    struct ecreate *ec = ctx;
    struct gw_jblob b;
    int rc = gw_jblob_parse(ec->c->jr->req->ctx, ec->c->jr->account_id, blob_id, &b, err);

    if (rc == 0)
        rc = gw_jblob_read(ec->s, ec->l, &b, data_r, len_r, err);
    gw_jblob_fini(&b);
    if (rc < 0 && !ib_session_is_broken(ec->s)) {
        cm_err_clear(err);
        return cm_err_set(err, CM_ENOENT, "no such blob");
    }
    return rc;
}

struct flags {
    const char *v[MAX_KEYWORDS];
    char buf[MAX_KEYWORDS][256];
    size_t n;
};

static bool flags_of(json_t *kw, struct flags *fl)
{
    const char *k;
    json_t *v;

    fl->n = 0;
    if (json_object_size(kw) > MAX_KEYWORDS)
        return false;
    json_object_foreach(kw, k, v)
    {
        const char *flag = gw_jmail_flag_of(k, fl->buf[fl->n]);

        if (flag == NULL)
            return false;
        fl->v[fl->n++] = flag;
    }
    return true;
}

/* The SetError for an APPEND the server refused (the session is fine). */
static json_t *append_error(int rc, const char *msg)
{
    if (rc == CM_ENOENT) /* [TRYCREATE]: the folder went away meanwhile */
        return gw_jset_invalid("mailboxIds", "no such mailbox");
    if (rc == CM_EPERM) /* no UIDPLUS: the new message could not be named */
        return gw_jset_error("forbidden", msg);
    return gw_jset_error(rc == CM_ELIMIT ? "tooLarge" : "invalidProperties", msg);
}

/* APPEND the built message (on Gmail, then its other labels); its
   created entry, or a SetError. */
static int append_one(struct ecreate *ec, json_t *email, const char *data, size_t len,
                      json_t **created_r, json_t **set_err_r, struct cm_err *err)
{
    struct gw_jmail_dest d;
    json_t *at = json_object_get(email, "receivedAt");
    int64_t received = json_is_string(at) ? gw_jemail_utcdate(json_string_value(at)) : -1;
    uint32_t uv = 0, uid = 0;
    struct flags fl;
    int rc = 0;

    *set_err_r = gw_jmail_dest_of(ec->c->jr, ec->s, ec->l, json_object_get(email, "mailboxIds"), &d);
    if (*set_err_r == NULL && !flags_of(json_object_get(email, "keywords"), &fl))
        *set_err_r = gw_jset_invalid("keywords", "bad keyword");
    if (*set_err_r == NULL)
        rc = ib_append(ec->s, d.f->imap_name, fl.v, fl.n, received, data, len, &uv, &uid, err);
    if (*set_err_r == NULL && rc < 0 && !ib_session_is_broken(ec->s)) {
        *set_err_r = append_error(rc, err->msg);
        cm_err_clear(err);
        rc = 0;
    } else if (*set_err_r == NULL && rc == 0) {
        *created_r = gw_jmail_created(ec->c->jr, ec->s, ec->l, &d, uv, uid, data, len);
    }
    gw_jmail_dest_fini(&d);
    return rc;
}

static int create_one(struct ecreate *ec, const char *cid, json_t *email, json_t *created,
                      json_t *not_created, struct cm_err *err)
{
    struct gw_jemail_env env = {.now = time(NULL),
                                .max_bytes = ec->c->jr->req->ctx->set->max_upload_bytes,
                                .blob = read_blob,
                                .blob_ctx = ec,
                                .labels = (ib_session_caps(ec->s) & IB_CAP_XGMEXT) != 0};
    json_t *set_err = NULL, *made = NULL;
    char *data = NULL;
    size_t len = 0;
    int rc = gw_jemail_build(email, &env, &data, &len, &set_err, err);

    if (rc == 0 && set_err == NULL)
        rc = append_one(ec, email, data, len, &made, &set_err, err);
    if (made != NULL) {
        json_object_set(ec->c->jr->created_ids, cid, json_object_get(made, "id"));
        json_object_set_new(created, cid, made);
    } else if (set_err != NULL) {
        json_object_set_new(not_created, cid, set_err);
    }
    free(data);
    return rc;
}

int gw_jmap_email_create(struct gw_jcall *c, struct ib_session *s, const struct ib_folder_list *l,
                         json_t *create, json_t *created, json_t *not_created, struct cm_err *err)
{
    struct ecreate ec = {.c = c, .s = s, .l = l};
    const char *cid;
    json_t *email;

    if (create != NULL && !json_is_null(create) && !json_is_object(create))
        return cm_err_set(err, CM_EINVAL, "create must be an object");
    json_object_foreach(create, cid, email)
    {
        if (create_one(&ec, cid, email, created, not_created, err) < 0)
            return err->code != CM_OK ? (int)err->code : CM_EUPSTREAM;
    }
    return 0;
}
