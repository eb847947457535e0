/* gw_api_send.c - POST /api/v1/messages/send (REST send, issue 14):
 *
 *   {"to": ["bob@example.org" | {"name","email"}], "cc": [...], "bcc": [...],
 *    "from": optional, the identity address (string or {"name","email"}),
 *    "subject", "text" and/or "html", "inReplyTo": "<id>",
 *    "references": "<a> <b>" or ["<a>", "<b>"],
 *    "attachments": [{"filename", "type", "content": base64 | "blobId": id}]}
 *
 * -> 202 {"messageId", "envelope", "stored": {"mailbox","uid","uidvalidity",
 *    "location"} | null} with Location of the Sent copy.
 *
 * Order, so that a failure leaves nothing half-done: parse (400), one IMAP
 * step that lists the folders, finds Sent (409 without one, unless the
 * SMTP server files sent mail itself: smtp_saves_sent) and reads the
 * attachments given by blobId (an upload, or a part of a message; 400 when
 * unknown), build the message (400), send (gw_submit.h errors as problem
 * JSON with the SetError type as "error"), then APPEND the copy with \Seen
 * (ib_append: needs UIDPLUS). A failing APPEND after a successful send
 * still answers 202, with "stored": null and a "warning". Without
 * smtp_url: 501. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/cm_b64.h"
#include "gateway/gw_authn.h"
#include "gateway/gw_ctx.h"
#include "gateway/gw_error.h"
#include "gateway/gw_handlers.h"
#include "gateway/gw_mime_build.h"
#include "gateway/gw_req.h"
#include "gateway/gw_rest.h"
#include "gateway/gw_send.h"
#include "gateway/gw_submit.h"
#include "gateway/jmap/gw_jblob.h"
#include "imapbridge/ib_append.h"
#include "imapbridge/ib_mailbox.h"

#define MAX_ATTACHMENTS 100
#define MAX_LIST 1000

struct parsed;

struct send_job {
    struct gw_req *req;
    struct parsed *ps;
    char account[IB_ACCOUNT_ID_LEN + 1];
    struct ib_folder_list list;
    const struct ib_folder *sent; /* borrowed from list */
    const char *data;
    size_t len;
    uint32_t uidvalidity, uid;
};

struct parsed {
    struct gw_mime_msg m;
    struct gw_mime_addr *to, *cc, *bcc;
    struct gw_mime_att *att;
    unsigned char **att_data; /* owned, per attachment */
    const char **att_blob;    /* borrowed blobId, or NULL (content given) */
    char *references;
    char msgid[320];
    char identity[256];
};

static int addr_of(json_t *v, struct gw_mime_addr *a, const char *field, struct cm_err *err)
{
    if (json_is_string(v)) {
        a->name = NULL;
        a->email = json_string_value(v);
        return 0;
    }
    a->email = json_string_value(json_object_get(v, "email"));
    a->name = json_string_value(json_object_get(v, "name"));
    if (a->email == NULL)
        return cm_err_set(err, CM_EINVAL, "%s: each entry is an address or {name, email}", field);
    return 0;
}

static int addr_list(json_t *body, const char *field, struct gw_mime_addr **out, size_t *n,
                     struct cm_err *err)
{
    json_t *a = json_object_get(body, field), *v;
    size_t i;

    *n = 0;
    if (a == NULL || json_is_null(a))
        return 0;
    if (!json_is_array(a) || json_array_size(a) > MAX_LIST)
        return cm_err_set(err, CM_EINVAL, "%s must be an array of addresses", field);
    *out = calloc(json_array_size(a) + 1, sizeof(**out));
    if (*out == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    json_array_foreach(a, i, v)
    {
        if (addr_of(v, &(*out)[i], field, err) < 0)
            return CM_EINVAL;
    }
    *n = json_array_size(a);
    return 0;
}

static int opt_string(json_t *body, const char *name, const char **dst, struct cm_err *err)
{
    json_t *v = json_object_get(body, name);

    *dst = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return cm_err_set(err, CM_EINVAL, "%s must be a string", name);
    *dst = json_string_value(v);
    if (strlen(*dst) != json_string_length(v))
        return cm_err_set(err, CM_EINVAL, "%s must not contain NUL", name);
    return 0;
}

static int references(json_t *body, struct parsed *p, struct cm_err *err)
{
    json_t *r = json_object_get(body, "references"), *v;
    size_t i, n = 1;

    if (r == NULL || json_is_null(r) || json_is_string(r))
        return opt_string(body, "references", &p->m.references, err);
    if (!json_is_array(r) || json_array_size(r) == 0 || json_array_size(r) > MAX_LIST)
        return cm_err_set(err, CM_EINVAL, "references must be a string or an array of ids");
    json_array_foreach(r, i, v)
    {
        if (!json_is_string(v))
            return cm_err_set(err, CM_EINVAL, "references must hold strings");
        n += json_string_length(v) + 1;
    }
    if ((p->references = calloc(1, n)) == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    json_array_foreach(r, i, v)
    {
        if (i > 0)
            strcat(p->references, " ");
        strcat(p->references, json_string_value(v));
    }
    p->m.references = p->references;
    return 0;
}

static int attachments(json_t *body, struct parsed *p, struct cm_err *err)
{
    json_t *a = json_object_get(body, "attachments"), *v;
    size_t i;

    if (a == NULL || json_is_null(a))
        return 0;
    if (!json_is_array(a) || json_array_size(a) > MAX_ATTACHMENTS)
        return cm_err_set(err, CM_EINVAL, "attachments must be an array of at most %d",
                          MAX_ATTACHMENTS);
    p->att = calloc(json_array_size(a) + 1, sizeof(*p->att));
    p->att_data = calloc(json_array_size(a) + 1, sizeof(*p->att_data));
    p->att_blob = calloc(json_array_size(a) + 1, sizeof(*p->att_blob));
    if (p->att == NULL || p->att_data == NULL || p->att_blob == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    json_array_foreach(a, i, v)
    {
        json_t *c = json_object_get(v, "content");
        struct gw_mime_att *at = &p->att[i];

        json_t *blob = json_object_get(v, "blobId");

        at->filename = json_string_value(json_object_get(v, "filename"));
        at->type = json_string_value(json_object_get(v, "type"));
        p->m.natt++;
        if (json_is_string(blob) && c == NULL) {
            p->att_blob[i] = json_string_value(blob); /* read in the IMAP step */
            continue;
        }
        if (!json_is_string(c))
            return cm_err_set(err, CM_EINVAL, "attachments[%zu] needs content (base64) or a blobId",
                              i);
        p->att_data[i] = cm_b64_decode(json_string_value(c), json_string_length(c), &at->len);
        if (p->att_data[i] == NULL)
            return cm_err_set(err, CM_EINVAL, "attachments[%zu].content is not base64", i);
        at->data = p->att_data[i];
    }
    return 0;
}

static int parse(struct gw_req *req, json_t *body, struct parsed *p, struct cm_err *err)
{
    json_t *from = json_object_get(body, "from");
    int rc;

    if (!json_is_object(body))
        return cm_err_set(err, CM_EINVAL, "expected a JSON object");
    p->m.from.email = p->identity;
    if (from != NULL && !json_is_null(from) && addr_of(from, &p->m.from, "from", err) < 0)
        return CM_EINVAL;
    if ((rc = addr_list(body, "to", &p->to, &p->m.nto, err)) < 0 ||
        (rc = addr_list(body, "cc", &p->cc, &p->m.ncc, err)) < 0 ||
        (rc = addr_list(body, "bcc", &p->bcc, &p->m.nbcc, err)) < 0 ||
        (rc = opt_string(body, "subject", &p->m.subject, err)) < 0 ||
        (rc = opt_string(body, "text", &p->m.text, err)) < 0 ||
        (rc = opt_string(body, "html", &p->m.html, err)) < 0 ||
        (rc = opt_string(body, "inReplyTo", &p->m.in_reply_to, err)) < 0 ||
        (rc = references(body, p, err)) < 0 || (rc = attachments(body, p, err)) < 0)
        return rc;
    p->m.to = p->to;
    p->m.cc = p->cc;
    p->m.bcc = p->bcc;
    p->m.att = p->att;
    gw_mime_message_id(strchr(p->identity, '@') + 1, p->msgid, sizeof(p->msgid));
    p->m.message_id = p->msgid;
    p->m.date = time(NULL);
    p->m.max_bytes = req->ctx->set->max_body_bytes;
    return 0;
}

static void parsed_fini(struct parsed *p)
{
    for (size_t i = 0; p->att_data != NULL && i < p->m.natt; i++)
        free(p->att_data[i]);
    free(p->att_data);
    free(p->att_blob);
    free(p->att);
    free(p->to);
    free(p->cc);
    free(p->bcc);
    free(p->references);
}

/* ---- IMAP steps ------------------------------------------------------- */

/* Attachments given by blobId: an upload of this account, or a part of
   one of its messages. */
static int read_blobs(struct ib_session *s, struct send_job *j, struct cm_err *err)
{
    struct parsed *p = j->ps;

    for (size_t i = 0; i < p->m.natt; i++) {
        struct gw_jblob b;
        char *data = NULL;
        size_t len = 0;
        int rc;

        if (p->att_blob[i] == NULL)
            continue;
        free(p->att_data[i]);
        p->att_data[i] = NULL;
        rc = gw_jblob_parse(j->req->ctx, j->account, p->att_blob[i], &b, err);
        if (rc == 0)
            rc = gw_jblob_read(s, &j->list, &b, &data, &len, err);
        gw_jblob_fini(&b);
        if (rc == CM_ENOENT)
            return cm_err_set(err, CM_EINVAL, "attachments[%zu].blobId: no such blob", i);
        if (rc < 0)
            return rc;
        p->att_data[i] = (unsigned char *)data;
        p->att[i].data = p->att_data[i];
        p->att[i].len = len;
    }
    return 0;
}

/* Before anything is sent: the folders, Sent, the blobs. */
static int prepare(struct ib_session *s, void *arg, struct cm_err *err)
{
    struct send_job *j = arg;
    int rc;

    ib_folder_list_fini(&j->list);
    j->sent = NULL;
    rc = ib_mailbox_list(s, &j->list, err);
    for (size_t i = 0; rc == 0 && i < j->list.count; i++) {
        const struct ib_folder *f = &j->list.items[i];

        if (f->role != NULL && strcmp(f->role, "sent") == 0 && f->selectable)
            j->sent = f;
    }
    if (rc == 0 && j->req->ctx->set->smtp_saves_sent)
        j->sent = NULL;
    else if (rc == 0 && j->sent == NULL)
        rc = cm_err_set(err, CM_EPERM,
                        "there is no Sent folder to keep a copy in "
                        "(set smtp_saves_sent if the SMTP server files one)");
    return rc == 0 ? read_blobs(s, j, err) : rc;
}

static int store_sent(struct ib_session *s, void *arg, struct cm_err *err)
{
    struct send_job *j = arg;

    static const char *const seen[] = {"\\Seen"};

    return ib_append(s, j->sent->imap_name, seen, 1, -1, j->data, j->len, &j->uidvalidity, &j->uid,
                     err);
}

/* ---- replies ---------------------------------------------------------- */

static void reply_fail(struct gw_req *req, const struct gw_submit_fail *f)
{
    json_t *p = gw_error_problem(f->status, gw_error_status_title(f->status), f->desc);
    char *text;

    if (p == NULL)
        p = gw_error_problem(f->status, gw_error_status_title(f->status), "");
    json_object_set_new(p, "error", json_string(f->type));
    if (f->extra != NULL)
        json_object_update(p, f->extra);
    if (f->retry_after > 0) {
        char secs[16];

        snprintf(secs, sizeof(secs), "%u", f->retry_after);
        gw_req_add_header(req, "Retry-After", secs);
    }
    text = p ? json_dumps(p, JSON_COMPACT) : NULL;
    json_decref(p);
    gw_req_reply_owned(req, f->status, "application/problem+json", text, text ? strlen(text) : 0);
}

static void reply_sent(struct gw_req *req, struct send_job *j, const char *msgid, json_t *env,
                       const char *warning)
{
    json_t *out = json_pack("{s:s,s:O,s:n}", "messageId", msgid, "envelope", env, "stored");

    if (j->sent != NULL && warning == NULL) {
        char *loc = gw_rest_message_url(j->sent, j->uid, "");

        json_object_set_new(
            out, "stored",
            json_pack("{s:s,s:o,s:I,s:o}", "mailbox", j->sent->path, "uid",
                      j->uid ? json_integer(j->uid) : json_null(), "uidvalidity",
                      (json_int_t)(j->uidvalidity ? j->uidvalidity : j->sent->uidvalidity),
                      "location", loc && j->uid ? json_string(loc) : json_null()));
        if (loc != NULL && j->uid)
            gw_req_add_header(req, "Location", loc);
        free(loc);
    }
    if (warning != NULL)
        json_object_set_new(out, "warning", json_string(warning));
    gw_req_reply_json(req, 202, out);
}

static void send_built(struct gw_req *req, struct gw_principal *p, struct send_job *j,
                       const char *msgid)
{
    struct gw_submit sub = {req->ctx, &p->creds, j->account, NULL};
    struct gw_submit_fail f;
    struct cm_err err = CM_ERR_INIT;
    json_t *env = NULL;

    if (gw_submit_send(&sub, j->data, j->len, &env, &f) < 0) {
        reply_fail(req, &f);
        gw_submit_fail_fini(&f);
        return;
    }
    if (j->sent != NULL && gw_authn_run_as(req, p, store_sent, j, &err) < 0)
        reply_sent(req, j, msgid, env, "sent, but the copy could not be stored in Sent");
    else
        reply_sent(req, j, msgid, env, NULL);
    json_decref(env);
}

void gw_api_send(struct gw_req *req)
{
    struct cm_err err = CM_ERR_INIT;
    struct gw_principal p = {0};
    struct send_job j = {.req = req};
    struct parsed ps;
    json_t *body = NULL;
    char *data = NULL;

    memset(&ps, 0, sizeof(ps));
    if (req->ctx->send == NULL) {
        gw_req_reply_problem(req, 501, "sending is not configured on this gateway (smtp_url)");
        return;
    }
    if (gw_authn_principal(req, false, &p, &err) < 0) {
        gw_req_reply_error(req, &err);
        goto done;
    }
    if (gw_send_identity_email(req->ctx->set, p.creds.username, ps.identity, sizeof(ps.identity)) <
        0) {
        gw_req_reply_problem(req, 403, "this login has no sender address (set mail_domain)");
        goto done;
    }
    ib_account_id(&req->ctx->upstream, p.creds.username, j.account);
    j.ps = &ps;
    body = gw_req_body_json(req, &err);
    if (body == NULL || parse(req, body, &ps, &err) < 0 ||
        gw_authn_run_as(req, &p, prepare, &j, &err) < 0 ||
        gw_mime_build(&ps.m, &data, &j.len, &err) < 0) {
        if (err.code == CM_EPERM)
            gw_req_reply_problem(req, 409, err.msg);
        else
            gw_req_reply_error(req, &err);
        goto done;
    }
    j.data = data;
    send_built(req, &p, &j, ps.msgid);
done:
    free(data);
    ib_folder_list_fini(&j.list);
    parsed_fini(&ps);
    json_decref(body);
    gw_principal_fini(&p);
}
