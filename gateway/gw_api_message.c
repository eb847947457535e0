/* gw_api_message.c - one message of a folder, by UID:
 *   GET .../messages/{uid}                   headers (decoded), text and HTML
 *                                            bodies as data (nothing is
 *                                            rendered), attachments with URLs
 *   GET .../messages/{uid}/raw               the message, message/rfc822
 *   GET .../messages/{uid}/attachments/{part} one part, transfer-decoded
 * Part names are IMAP section paths ("2", "1.2"), as in JMAP partId. */
#include <stdlib.h>
#include <string.h>

#include "gateway/gw_authn.h"
#include "gateway/gw_ctx.h"
#include "gateway/gw_handlers.h"
#include "gateway/jmap/gw_jmail.h"
#include "gateway/gw_req.h"
#include "gateway/gw_rest.h"
#include "imapbridge/ib_body.h"
#include "imapbridge/ib_fetch.h"
#include "imapbridge/ib_header.h"
#include "imapbridge/ib_ids.h"
#include "imapbridge/ib_session.h"

enum what { MSG_DETAIL, MSG_RAW, MSG_PART };

struct msg_job {
    struct gw_req *req;
    enum what what;
    uint32_t uid;
    struct gw_rest_box box;
    json_t *out;           /* MSG_DETAIL */
    char *data;            /* MSG_RAW, MSG_PART */
    size_t len;
    char type[128];        /* MSG_PART: media type */
    char *name;            /* MSG_PART: file name or NULL */
};

/* The text parts of a message: [0] the plain ones (IB_BODY_WANT_TEXT),
   [1] the HTML ones, each with its bytes once fetched. */
struct texts {
    struct ib_body_fetch *list[2];
    size_t n[2];
    char **data[2];
    size_t *len[2];
};

static void texts_fini(struct texts *t)
{
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; t->data[k] != NULL && i < t->n[k]; i++)
            free(t->data[k][i]);
        free(t->data[k]);
        free(t->len[k]);
        ib_body_fetch_free(&t->list[k], t->n[k]);
    }
}

/* The parts of kind k body_text shows (plain for 0, HTML for 1). */
static bool shown(const struct texts *t, int k, size_t i)
{
    return t->list[k][i].html == (k == 1);
}

/* Every part body_text uses, both kinds, in one UID FETCH (one round
   trip; ib_fetch_sections). */
static int texts_fetch(struct ib_session *s, const struct ib_msg *m, struct texts *t,
                       struct cm_err *err)
{
    static const unsigned int want[2] = { IB_BODY_WANT_TEXT, IB_BODY_WANT_HTML };
    const char *parts[2 * 64];
    char *data[2 * 64];
    size_t len[2 * 64], n = 0, at = 0;
    int rc = 0;

    for (int k = 0; rc == 0 && k < 2; k++) {
        rc = ib_body_fetch_list(m->body, want[k], &t->list[k], &t->n[k], err);
        t->data[k] = calloc(t->n[k] + 1, sizeof(char *));
        t->len[k] = calloc(t->n[k] + 1, sizeof(size_t));
        if (rc == 0 && (!t->data[k] || !t->len[k]))
            rc = cm_err_set(err, CM_ENOMEM, "out of memory");
        for (size_t i = 0; rc == 0 && i < t->n[k]; i++) {
            if (shown(t, k, i) && n < sizeof(parts) / sizeof(parts[0]))
                parts[n++] = t->list[k][i].part_id;
        }
    }
    if (rc < 0 || n == 0)
        return rc;
    rc = ib_fetch_sections(s, m->uid, parts, n, data, len, err);
    for (int k = 0; rc == 0 && k < 2; k++) { /* hand each answer to its slot */
        for (size_t i = 0; i < t->n[k]; i++) {
            if (shown(t, k, i) && at < n) {
                t->data[k][i] = data[at];
                t->len[k][i] = len[at++];
            }
        }
    }
    return rc;
}

/* The decoded text of the fetched parts of kind k (0 plain, 1 HTML),
   joined by a blank line; JSON null when there are none. */
static int body_text(const struct texts *t, int k, json_t **out, struct cm_err *err)
{
    char *text = NULL;
    size_t tlen = 0;
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < t->n[k]; i++) {
        const struct ib_body_fetch *p = &t->list[k][i];
        json_t *val = NULL;
        const char *v;

        if (!shown(t, k, i) || t->data[k][i] == NULL)
            continue;
        rc = ib_body_value_json(t->data[k][i], t->len[k][i], p->encoding, p->charset, 0, false,
                                &val, err);
        v = rc == 0 ? json_string_value(json_object_get(val, "value")) : NULL;
        if (v != NULL) {
            size_t vl = strlen(v);
            char *grown = realloc(text, tlen + vl + 3);

            if (grown == NULL) {
                rc = cm_err_set(err, CM_ENOMEM, "out of memory");
            } else {
                text = grown;
                if (tlen > 0) {
                    memcpy(text + tlen, "\n\n", 2);
                    tlen += 2;
                }
                memcpy(text + tlen, v, vl + 1);
                tlen += vl;
            }
        }
        json_decref(val);
    }
    *out = rc == 0 && text != NULL ? json_stringn(text, tlen) : json_null();
    free(text);
    return rc;
}

static json_t *headers_json(const struct ib_msg *m)
{
    static const char *const props[] = { "from",      "sender",  "replyTo",    "to",
                                         "cc",        "bcc",     "subject",    "sentAt",
                                         "messageId", "inReplyTo", "references" };
    struct ib_header_list *hl = NULL;
    struct cm_err err = CM_ERR_INIT;
    json_t *o = json_object();
    bool known;

    if (m->header == NULL || ib_header_parse(m->header, m->header_len, &hl, &err) < 0)
        return o;
    for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
        json_t *v = ib_header_email_prop(hl, props[i], &known);

        json_object_set_new(o, strcmp(props[i], "sentAt") == 0 ? "date" : props[i],
                            v ? v : json_null());
    }
    ib_header_list_free(&hl);
    return o;
}

/* Attachment entries {part, name, type, size, disposition, cid, url, blobId}. */
static json_t *attachments_json(const struct msg_job *j, const struct ib_msg *m, json_t *att)
{
    char id[IB_IDS_EMAIL_MAX + 1];
    json_t *out = json_array(), *a;
    size_t i;

    gw_jmail_email_id(j->box.f, m->uid, m->guid, id);
    json_array_foreach(att, i, a) {
        const char *part = json_string_value(json_object_get(a, "partId"));
        char *suffix = part ? malloc(strlen(part) + 16) : NULL;
        char *url = NULL, *blob = part ? ib_ids_blob(j->req->ctx->keys.state_key, id, part)
                                       : NULL;

        if (suffix != NULL) {
            strcpy(suffix, "/attachments/");
            strcat(suffix, part);
            url = gw_rest_message_url(j->box.f, m->uid, suffix);
        }
        json_array_append_new(
            out, json_pack("{s:O,s:O,s:O,s:O,s:O,s:O,s:o,s:o}", "part", json_object_get(a, "partId"),
                           "name", json_object_get(a, "name"), "type", json_object_get(a, "type"),
                           "size", json_object_get(a, "size"), "disposition",
                           json_object_get(a, "disposition"), "cid", json_object_get(a, "cid"),
                           "url", url ? json_string(url) : json_null(), "blobId",
                           blob ? json_string(blob) : json_null()));
        free(suffix);
        free(url);
        free(blob);
    }
    return out;
}

static int detail(struct ib_session *s, struct msg_job *j, const struct ib_msg *m,
                  struct cm_err *err)
{
    json_t *tree = ib_body_structure_json(m->body, NULL), *text = NULL, *html = NULL, *att = NULL;
    json_t *tbody = NULL, *hbody = NULL, *o;
    struct texts texts = { 0 };
    char id[IB_IDS_EMAIL_MAX + 1], date[32];
    bool has_att = false;
    int rc = tree ? ib_body_parts(tree, &text, &html, &att, &has_att, err)
                  : cm_err_set(err, CM_ENOENT, "the message has no body structure");

    if (rc == 0)
        rc = texts_fetch(s, m, &texts, err);
    if (rc == 0)
        rc = body_text(&texts, 0, &tbody, err);
    if (rc == 0)
        rc = body_text(&texts, 1, &hbody, err);
    if (rc == 0) {
        gw_jmail_email_id(j->box.f, m->uid, m->guid, id);
        gw_jmail_utcdate(m->internaldate, date, sizeof(date));
        o = json_pack("{s:I,s:s,s:I,s:o,s:I,s:s,s:o,s:O,s:O,s:o,s:b}", "uid",
                      (json_int_t)m->uid, "id", id, "uidvalidity",
                      (json_int_t)j->box.f->uidvalidity, "flags", gw_rest_flags_json(m), "size",
                      (json_int_t)m->size, "receivedAt", date, "headers", headers_json(m),
                      "text", tbody, "html", hbody, "attachments", attachments_json(j, m, att),
                      "hasAttachment", has_att);
        json_decref(j->out);
        j->out = o;
        rc = o ? 0 : cm_err_set(err, CM_ENOMEM, "out of memory");
    }
    texts_fini(&texts);
    json_decref(tbody);
    json_decref(hbody);
    json_decref(text);
    json_decref(html);
    json_decref(att);
    json_decref(tree);
    return rc;
}

/* The leaf with partId `part` in a bodyStructure tree, or NULL. */
static json_t *leaf_of(json_t *node, const char *part)
{
    json_t *sub = json_object_get(node, "subParts"), *v;
    const char *id = json_string_value(json_object_get(node, "partId"));
    size_t i;

    if (id != NULL && strcmp(id, part) == 0)
        return node;
    json_array_foreach(sub, i, v) {
        json_t *hit = leaf_of(v, part);

        if (hit != NULL)
            return hit;
    }
    return NULL;
}

static int one_part(struct ib_session *s, struct msg_job *j, const struct ib_msg *m,
                    struct cm_err *err)
{
    const char *part = j->req->params[2];
    json_t *tree = ib_body_structure_json(m->body, NULL);
    json_t *leaf = tree ? leaf_of(tree, part) : NULL;
    const char *type = json_string_value(json_object_get(leaf, "type"));
    const char *name = json_string_value(json_object_get(leaf, "name"));
    int rc;

    free(j->data);
    j->data = NULL;
    rc = leaf ? ib_fetch_part(s, m->uid, m->body, part, &j->data, &j->len, err)
              : cm_err_set(err, CM_ENOENT, "no such part");
    snprintf(j->type, sizeof(j->type), "%s", type ? type : "application/octet-stream");
    free(j->name);
    j->name = name ? strdup(name) : NULL;
    json_decref(tree);
    return rc;
}

static int run(struct ib_session *s, void *arg, struct cm_err *err)
{
    struct msg_job *j = arg;
    unsigned int want = IB_FETCH_FLAGS | IB_FETCH_SIZE | IB_FETCH_INTERNALDATE |
                        IB_FETCH_HEADER | IB_FETCH_BODYSTRUCTURE | IB_FETCH_GUID;
    struct ib_msg *m = NULL;
    size_t n = 0;
    int rc;

    if (j->what == MSG_RAW) {
        rc = gw_rest_box_examine(s, j->req->params[0], &j->box, err);
        free(j->data);
        j->data = NULL;
        return rc < 0 ? rc : ib_fetch_section(s, j->uid, "", 0, 0, &j->data, &j->len, err);
    }
    /* EXAMINE + STATUS + UID FETCH in one round trip */
    rc = gw_rest_box_fetch(s, j->req->params[0], true, j->uid,
                           j->what == MSG_PART ? IB_FETCH_BODYSTRUCTURE : want, &j->box, &m, &n,
                           err);
    if (rc == 0)
        rc = j->what == MSG_PART ? one_part(s, j, &m[0], err) : detail(s, j, &m[0], err);
    ib_msgs_free(m, n);
    return rc;
}

static void reply(struct gw_req *req, struct msg_job *j)
{
    if (j->what == MSG_DETAIL) {
        gw_req_reply_json(req, 200, j->out);
        j->out = NULL;
        return;
    }
    gw_req_reply_owned(req, 200, NULL, j->data, j->len);
    j->data = NULL;
    if (j->what == MSG_RAW) {
        gw_req_add_header(req, "Content-Type", "message/rfc822");
        return;
    }
    gw_req_add_header(req, "Content-Type",
                      gw_jmail_safe_type(j->type) ? j->type : "application/octet-stream");
    gw_jmail_add_disposition(req, j->name ? j->name : "attachment");
}

static void serve(struct gw_req *req, enum what what)
{
    struct cm_err err = CM_ERR_INIT;
    struct gw_principal p = { 0 };
    struct msg_job j = { .req = req, .what = what };
    int rc = gw_rest_uid(req->params[1], "uid", &j.uid, &err);

    if (rc == 0)
        rc = gw_authn_run(req, &p, run, &j, &err);
    if (rc < 0)
        gw_req_reply_error(req, &err);
    else
        reply(req, &j);
    json_decref(j.out);
    free(j.data);
    free(j.name);
    gw_rest_box_fini(&j.box);
    gw_principal_fini(&p);
}

void gw_api_message(struct gw_req *req)
{
    serve(req, MSG_DETAIL);
}

void gw_api_message_raw(struct gw_req *req)
{
    serve(req, MSG_RAW);
}

void gw_api_message_part(struct gw_req *req)
{
    serve(req, MSG_PART);
}
