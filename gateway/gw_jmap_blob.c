/* gw_jmap_blob.c - blob download at the session's downloadUrl
 * (RFC 8620 §6.2): /jmap/download/{accountId}/{blobId}/{name}?type=...
 * The blob id says which message and part (ib_ids.h); a part is decoded
 * from its transfer encoding before it is sent. */
#include <libetpan/libetpan.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/gw_authn.h"
#include "gateway/gw_ctx.h"
#include "gateway/gw_handlers.h"
#include "gateway/gw_jmail.h"
#include "gateway/gw_req.h"
#include "imapbridge/ib_fetch.h"
#include "imapbridge/ib_ids.h"
#include "imapbridge/ib_session.h"
#include "imapbridge/ib_state.h"
#include "imapbridge/ib_text.h"

struct blob_job {
    struct gw_req *req;
    struct ib_email_loc loc;
    char *part;
    char *data;        /* the answer */
    size_t len;
};

static struct mailimap_body_fields *fields_of(struct mailimap_body *b)
{
    struct mailimap_body_type_1part *p = b->bd_data.bd_body_1part;

    switch (p->bd_type) {
    case MAILIMAP_BODY_TYPE_1PART_BASIC: return p->bd_data.bd_type_basic->bd_fields;
    case MAILIMAP_BODY_TYPE_1PART_MSG: return p->bd_data.bd_type_msg->bd_fields;
    case MAILIMAP_BODY_TYPE_1PART_TEXT: return p->bd_data.bd_type_text->bd_fields;
    }
    return NULL;
}

/* The leaf body at an IMAP part path ("1.2"), or NULL. */
static struct mailimap_body *part_at(struct mailimap_body *b, const char *path)
{
    while (b != NULL && *path != '\0') {
        char *end;
        unsigned long n = strtoul(path, &end, 10);

        if (n == 0 || (*end != '.' && *end != '\0'))
            return NULL;
        if (b->bd_type == MAILIMAP_BODY_MPART) {
            clist *l = b->bd_data.bd_body_mpart->bd_list;
            clistiter *it = clist_begin(l);

            for (unsigned long i = 1; it != NULL && i < n; i++)
                it = clist_next(it);
            b = it ? clist_content(it) : NULL;
        } else if (n != 1) {
            return NULL;
        }
        path = *end == '.' ? end + 1 : end;
        if (*path != '\0' && b != NULL && b->bd_type == MAILIMAP_BODY_1PART &&
            b->bd_data.bd_body_1part->bd_type == MAILIMAP_BODY_TYPE_1PART_MSG)
            b = b->bd_data.bd_body_1part->bd_data.bd_type_msg->bd_body;
    }
    return b != NULL && b->bd_type == MAILIMAP_BODY_1PART ? b : NULL;
}

static const char *encoding_name(const struct mailimap_body_fld_enc *e)
{
    switch (e ? e->enc_type : MAILIMAP_BODY_FLD_ENC_7BIT) {
    case MAILIMAP_BODY_FLD_ENC_BASE64: return "base64";
    case MAILIMAP_BODY_FLD_ENC_QUOTED_PRINTABLE: return "quoted-printable";
    case MAILIMAP_BODY_FLD_ENC_OTHER: return e->enc_value ? e->enc_value : "binary";
    default: return "7bit";
    }
}

/* Fetch the part and decode it in j->data. */
static int fetch_part(struct ib_session *s, struct blob_job *j, struct cm_err *err)
{
    struct mailimap_set *set = mailimap_set_new_single(j->loc.uid);
    struct ib_msg *m = NULL;
    size_t nm = 0, raw_len = 0;
    char *raw = NULL;
    struct mailimap_body *leaf;
    bool problem = false;
    int rc = set ? ib_fetch_msgs(s, set, IB_FETCH_BODYSTRUCTURE, &m, &nm, err) : CM_ENOMEM;

    if (set != NULL)
        mailimap_set_free(set);
    if (rc < 0)
        return rc;
    leaf = nm == 1 && m[0].body ? part_at(m[0].body, j->part) : NULL;
    if (leaf == NULL) {
        ib_msgs_free(m, nm);
        return cm_err_set(err, CM_ENOENT, "no such blob");
    }
    rc = ib_fetch_section(s, j->loc.uid, j->part, 0, 0, &raw, &raw_len, err);
    if (rc == 0)
        rc = ib_text_cte_decode(encoding_name(fields_of(leaf)->bd_encoding), raw, raw_len,
                                &j->data, &j->len, &problem, err);
    free(raw);
    ib_msgs_free(m, nm);
    return rc;
}

static int fetch_blob(struct ib_session *s, void *arg, struct cm_err *err)
{
    struct blob_job *j = arg;
    struct ib_folder_list l = { 0 };
    const struct ib_folder *f;
    int rc = ib_mailbox_list(s, &l, err);

    f = rc == 0 ? gw_jmail_folder_of(&l, &j->loc) : NULL;
    if (rc == 0 && f == NULL)
        rc = cm_err_set(err, CM_ENOENT, "no such blob");
    if (rc == 0)
        rc = ib_session_select(s, f->imap_name, true, NULL, err);
    if (rc == 0 && j->part[0] == '\0')
        rc = ib_fetch_section(s, j->loc.uid, "", 0, 0, &j->data, &j->len, err);
    else if (rc == 0)
        rc = fetch_part(s, j, err);
    ib_folder_list_fini(&l);
    return rc;
}

/* A media type we are willing to echo back: token/token with parameters,
   no control characters. */
static bool safe_type(const char *t)
{
    size_t n = strlen(t);

    if (n == 0 || n > 200 || strchr(t, '/') == NULL)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)t[i];

        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
            return false;
    }
    return true;
}

/* Content-Disposition with an ASCII fallback and the RFC 8187 UTF-8 name. */
static void add_disposition(struct gw_req *req, const char *name)
{
    char ascii[128], enc[1024];
    size_t a = 0, e = 0;

    for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || strchr(".-_", *p) != NULL;

        if (a + 1 < sizeof(ascii))
            ascii[a++] = plain ? (char)*p : '_';
        if (e + 4 < sizeof(enc))
            e += (size_t)snprintf(enc + e, sizeof(enc) - e, plain ? "%c" : "%%%02X", *p);
    }
    ascii[a] = '\0';
    enc[e] = '\0';
    {
        char value[1400];

        snprintf(value, sizeof(value), "attachment; filename=\"%s\"; filename*=UTF-8''%s",
                 a ? ascii : "blob", e ? enc : "blob");
        gw_req_add_header(req, "Content-Disposition", value);
    }
}

void gw_jmap_download(struct gw_req *req)
{
    struct cm_err err = CM_ERR_INIT;
    struct gw_principal p;
    struct blob_job j = { .req = req };
    const char *type = gw_req_query(req, "type");
    char acct[IB_ACCOUNT_ID_LEN + 1];
    int rc = gw_authn_principal(req, false, &p, &err);

    if (rc == 0) {
        ib_account_id(&req->ctx->upstream, p.creds.username, acct);
        if (strcmp(acct, req->params[0]) != 0 ||
            ib_ids_blob_parse(req->ctx->keys.state_key, req->params[1], &j.loc, &j.part) < 0)
            rc = cm_err_set(&err, CM_ENOENT, "no such blob");
    }
    gw_principal_fini(&p);
    if (rc == 0)
        rc = gw_authn_run(req, &p, fetch_blob, &j, &err);
    if (rc < 0) {
        gw_req_reply_error(req, &err);
    } else {
        add_disposition(req, req->params[2]);
        gw_req_reply_owned(req, 200, NULL, j.data, j.len);
        gw_req_add_header(req, "Content-Type",
                          type && safe_type(type) ? type : "application/octet-stream");
        j.data = NULL;
    }
    gw_principal_fini(&p);
    free(j.data);
    free(j.part);
}
