/* gw_jmap_import.c - Email/import (RFC 8621 §4.8): APPEND a blob's exact
 * bytes to the one mailbox of mailboxIds, with keywords as flags and
 * receivedAt as INTERNALDATE; APPENDUID names the new message, so its id
 * is the one Email/get and Email/query give. An uploaded (parked) blob is
 * deleted from the parking folder once imported.
 *
 * More than one mailbox in mailboxIds is invalidProperties: IMAP holds a
 * message in one folder (maxMailboxesPerEmail is 1). Except on Gmail,
 * where mailboxes are labels: APPENDed to one folder of them, the others
 * added as labels (gw_jmail_dest_of, gw_jmail_created).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/gw_ctx.h"
#include "gateway/gw_req.h"
#include "gateway/jmap/gw_jblob.h"
#include "gateway/jmap/gw_jemail_mime.h"
#include "gateway/jmap/gw_jmail.h"
#include "gateway/jmap/gw_jmap_methods.h"
#include "gateway/jmap/gw_jmap_std.h"
#include "imapbridge/ib_append.h"
#include "imapbridge/ib_fetch.h"
#include "imapbridge/ib_header.h"
#include "imapbridge/ib_park.h"
#include "imapbridge/ib_session.h"
#include "imapbridge/ib_uidset.h"

#define MAX_KEYWORDS 64

struct imp {
    struct gw_jcall *c;
    const struct ib_folder_list *l;
    struct ib_session *s;
    json_t *created, *not_created;
    bool swept;
};

/* One import's checked arguments. */
struct one {
    struct gw_jmail_dest d;
    const char *flags[MAX_KEYWORDS];
    char flagbuf[MAX_KEYWORDS][256];
    size_t nflags;
    int64_t received; /* -1: now */
    struct gw_jblob b;
};

/* Where the email goes (o->d, gw_jmail_dest_of). Several mailboxes on a
   server without labels: invalidProperties. */
static json_t *check_mailbox(struct imp *im, json_t *boxes, struct one *o)
{
    if (json_object_size(boxes) > 1 && !(ib_session_caps(im->s) & IB_CAP_XGMEXT))
        return gw_jset_invalid("mailboxIds", "an IMAP message is in exactly one mailbox: "
                                     "mailboxIds must name one (maxMailboxesPerEmail is 1)");
    return gw_jmail_dest_of(im->c->jr, im->s, im->l, boxes, &o->d);
}

static json_t *check_keywords(json_t *kw, struct one *o)
{
    const char *k;
    json_t *v;

    if (kw == NULL || json_is_null(kw))
        return NULL;
    if (!json_is_object(kw) || json_object_size(kw) > MAX_KEYWORDS)
        return gw_jset_invalid("keywords", "keywords must be an object of at most 64 keywords");
    json_object_foreach(kw, k, v)
    {
        const char *flag = gw_jmail_flag_of(k, o->flagbuf[o->nflags]);

        if (!json_is_true(v) || flag == NULL)
            return gw_jset_invalid("keywords", "bad keyword");
        o->flags[o->nflags++] = flag;
    }
    return NULL;
}

static json_t *check_args(struct imp *im, json_t *args, struct one *o, struct cm_err *err)
{
    json_t *e, *at = json_object_get(args, "receivedAt");
    const char *blob = json_string_value(json_object_get(args, "blobId"));

    o->received = -1;
    if (!json_is_object(args))
        return gw_jset_error("invalidProperties", "an EmailImport must be an object");
    if (blob == NULL)
        return gw_jset_invalid("blobId", "blobId must be a string");
    if ((e = check_mailbox(im, json_object_get(args, "mailboxIds"), o)) != NULL ||
        (e = check_keywords(json_object_get(args, "keywords"), o)) != NULL)
        return e;
    if (at != NULL && !json_is_null(at) && (o->received = gw_jemail_utcdate(json_string_value(at))) < 0)
        return gw_jset_invalid("receivedAt", "receivedAt must be a UTCDate");
    if (gw_jblob_parse(im->c->jr->req->ctx, im->c->jr->account_id, blob, &o->b, err) < 0) {
        cm_err_clear(err);
        e = gw_jset_error("blobNotFound", "no such blob");
        json_object_set_new(e, "notFound", json_pack("[s]", blob));
        return e;
    }
    return NULL;
}

/* The SetError for an APPEND the server refused (the session is fine). */
static json_t *append_error(int rc, const char *msg)
{
    if (rc == CM_ENOENT) /* [TRYCREATE]: the folder went away meanwhile */
        return gw_jset_invalid("mailboxIds", "no such mailbox");
    if (rc == CM_EPERM) /* no UIDPLUS: the new message could not be named */
        return gw_jset_error("forbidden", msg);
    return gw_jset_error(rc == CM_ELIMIT ? "tooLarge" : "invalidEmail", msg);
}

/* Import one; a SetError into *set_err, or a method-level failure. */
static int import_one(struct imp *im, const char *cid, json_t *args, struct cm_err *err)
{
    struct one o;
    json_t *e;
    char *data = NULL;
    size_t len = 0;
    uint32_t uv = 0, uid = 0;
    int rc = 0;

    memset(&o, 0, sizeof(o));
    e = check_args(im, args, &o, err);
    if (e == NULL && (rc = gw_jblob_read(im->s, im->l, &o.b, &data, &len, err)) < 0 &&
        !ib_session_is_broken(im->s)) {
        rc = 0;
        cm_err_clear(err);
        e = gw_jset_error("blobNotFound", "no such blob");
        json_object_set_new(e, "notFound", json_pack("[O]", json_object_get(args, "blobId")));
    }
    if (rc == 0 && e == NULL && len > im->c->jr->req->ctx->set->max_upload_bytes)
        e = gw_jset_error("tooLarge", "the message exceeds maxSizeUpload");
    else if (rc == 0 && e == NULL && !ib_park_is_message(data, len))
        e = gw_jset_error("invalidEmail", "the blob is not an RFC 5322 message");
    if (rc == 0 && e == NULL) {
        rc = ib_append(im->s, o.d.f->imap_name, o.flags, o.nflags, o.received, data, len, &uv, &uid,
                       err);
        if (rc < 0 && !ib_session_is_broken(im->s)) {
            e = append_error(rc, err->msg);
            cm_err_clear(err);
            rc = 0;
        }
    }
    if (rc == 0 && e == NULL) {
        json_t *cj = gw_jmail_created(im->c->jr, im->s, im->l, &o.d, uv, uid, data, len);

        json_object_set_new(im->created, cid, cj);
        json_object_set(im->c->jr->created_ids, cid, json_object_get(cj, "id"));
        if (o.b.parked && ib_park_drop(im->s, &o.b.ref, err) < 0) /* used: not kept */
            rc = ib_session_is_broken(im->s) ? err->code : (cm_err_clear(err), 0);
    } else if (e != NULL) {
        json_object_set_new(im->not_created, cid, e);
    }
    free(data);
    gw_jblob_fini(&o.b);
    gw_jmail_dest_fini(&o.d);
    return rc;
}

static int import_all(struct imp *im, json_t *emails, struct cm_err *err)
{
    const char *cid;
    json_t *args;
    uint64_t kept;

    json_object_foreach(emails, cid, args)
    {
        if (import_one(im, cid, args, err) < 0)
            return err->code;
    }
    /* the lazy sweep of expired uploads, once per call */
    if (ib_park_sweep(im->s, (int64_t)time(NULL), im->c->jr->req->ctx->set->upload_ttl_secs, &kept,
                      err) < 0 &&
        !ib_session_is_broken(im->s))
        cm_err_clear(err);
    return ib_session_is_broken(im->s) ? CM_EUPSTREAM : 0;
}

json_t *gw_jmap_email_import(struct gw_jcall *c, struct cm_err *err)
{
    json_t *emails = json_object_get(c->args, "emails"),
           *if_in = json_object_get(c->args, "ifInState");
    struct imp im = {.c = c};
    char *old = NULL, *now = NULL;
    json_t *reply = NULL;

    if (gw_jcall_account(c, err) < 0)
        return NULL;
    if (!json_is_object(emails) ||
        (if_in != NULL && !json_is_null(if_in) && !json_is_string(if_in))) {
        cm_err_set(err, CM_EINVAL, "emails must be an object, ifInState a string or null");
        return NULL;
    }
    if (json_object_size(emails) > GW_JMAP_MAX_OBJECTS_SET) {
        gw_jcall_fail(c, err, "requestTooLarge", CM_ELIMIT, "more than %d emails",
                      GW_JMAP_MAX_OBJECTS_SET);
        return NULL;
    }
    if (gw_jmail_folders(c->jr, &im.l, err) < 0 || gw_jreq_session(c->jr, &im.s, err) < 0)
        return NULL;
    old = gw_jmail_state(c->jr, im.l);
    if (json_is_string(if_in) && (old == NULL || strcmp(json_string_value(if_in), old) != 0)) {
        gw_jcall_fail(c, err, "stateMismatch", CM_EINVAL,
                      "ifInState does not match the current state");
        goto done;
    }
    im.created = json_object();
    im.not_created = json_object();
    if (import_all(&im, emails, err) < 0)
        goto done;
    gw_jmail_forget_folders(c->jr); /* new messages: list again for the new state */
    if (gw_jmail_folders(c->jr, &im.l, err) < 0)
        goto done;
    now = gw_jmail_state(c->jr, im.l);
    reply = json_pack("{s:s,s:s,s:s,s:O,s:O}", "accountId", c->jr->account_id, "oldState",
                      old ? old : "", "newState", now ? now : "", "created",
                      json_object_size(im.created) ? im.created : json_null(), "notCreated",
                      json_object_size(im.not_created) ? im.not_created : json_null());
done:
    json_decref(im.created);
    json_decref(im.not_created);
    free(old);
    free(now);
    return reply;
}
