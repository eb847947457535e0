/* gw_jmap_parse.c - Email/parse (RFC 8621 §4.9): the Email object of a
 * message blob, built by Email/get's own builder so both agree. The
 * gateway has no MIME parser of its own (IMAP parses): a whole message
 * that is in a mailbox is read where it is; any other blob (an upload, an
 * attached message) is APPENDed to the parking folder for the call and
 * expunged at once, and its parts get a null blobId. id, mailboxIds,
 * keywords, receivedAt and threadId are null.
 */
#include <stdlib.h>
#include <string.h>

#include "gateway/gw_ctx.h"
#include "gateway/gw_req.h"
#include "gateway/jmap/gw_jblob.h"
#include "gateway/jmap/gw_jmail.h"
#include "gateway/jmap/gw_jmap_methods.h"
#include "gateway/jmap/gw_jmap_std.h"
#include "imapbridge/ib_park.h"
#include "imapbridge/ib_session.h"

static const char *const default_props[] = {
    "messageId", "inReplyTo",  "references", "sender",   "from",        "to",
    "cc",        "bcc",        "replyTo",    "subject",  "sentAt",      "hasAttachment",
    "preview",   "bodyValues", "textBody",   "htmlBody", "attachments",
};
static const char *const null_props[] = {"id", "mailboxIds", "keywords", "receivedAt", "threadId"};

struct parse {
    struct gw_jcall *c;
    struct gw_email_opts *o;
    const struct ib_folder_list *l;
    struct ib_session *s;
    json_t *parsed, *not_parsable, *not_found;
};

/* Part blobIds of a message parked only for this call would dangle. */
static void null_part_blobs(json_t *part)
{
    json_t *sub = json_object_get(part, "subParts"), *v;
    size_t i;

    if (json_object_get(part, "blobId") != NULL)
        json_object_set_new(part, "blobId", json_null());
    json_array_foreach(sub, i, v) null_part_blobs(v);
}

static void null_all_part_blobs(json_t *obj)
{
    static const char *const lists[] = {"textBody", "htmlBody", "attachments"};
    json_t *v;
    size_t i;

    for (size_t k = 0; k < sizeof(lists) / sizeof(lists[0]); k++) {
        json_array_foreach(json_object_get(obj, lists[k]), i, v) null_part_blobs(v);
    }
    if (json_object_get(obj, "bodyStructure") != NULL)
        null_part_blobs(json_object_get(obj, "bodyStructure"));
}

/* Park data for the call, build, drop it again. */
static json_t *parse_bytes(struct parse *p, const char *data, size_t len, struct cm_err *err)
{
    struct ib_folder park = {0};
    uint32_t uv = 0, uid = 0;
    json_t *obj;

    if (ib_park_put(p->s, data, len, &uv, &uid, err) < 0)
        return NULL;
    park.imap_name = (char *)IB_PARK_FOLDER;
    park.id = (char *)"park";
    park.uidvalidity = uv;
    obj = gw_jmap_email_at(p->o, p->s, &park, uid, err);
    {
        struct ib_park_ref ref = {.uidvalidity = uv, .uid = uid};
        struct cm_err e2 = CM_ERR_INIT;

        if (ib_park_drop(p->s, &ref, &e2) < 0 && obj != NULL && ib_session_is_broken(p->s)) {
            json_decref(obj);
            *err = e2;
            return NULL;
        }
    }
    if (obj != NULL)
        null_all_part_blobs(obj);
    return obj;
}

/* One blobId into parsed / notParsable / notFound; < 0 only when the
   session failed. */
static int parse_one(struct parse *p, json_t *jid, struct cm_err *err)
{
    const char *blob_id = json_string_value(jid);
    struct gw_jblob b;
    json_t *obj = NULL;
    char *data = NULL;
    size_t len = 0;
    int rc = gw_jblob_parse(p->c->jr->req->ctx, p->c->jr->account_id, blob_id, &b, err);
    struct gw_jmail_where w = { NULL, 0, false };

    /* a whole message in a mailbox is read in place, wherever it moved */
    if (rc == 0 && !b.parked && b.part[0] == '\0')
        rc = gw_jblob_locate(p->s, p->l, &b, &w, err);
    if (rc == 0 && w.f != NULL) {
        obj = gw_jmap_email_at(p->o, p->s, w.f, w.uid, err);
    } else if (rc == 0 && (rc = gw_jblob_read(p->s, p->l, &b, &data, &len, err)) == 0) {
        if (!ib_park_is_message(data, len))
            json_array_append(p->not_parsable, jid);
        else
            obj = parse_bytes(p, data, len, err);
        if (obj == NULL && err->code == CM_OK)
            rc = 1; /* counted as notParsable */
    }
    if (obj != NULL) {
        for (size_t i = 0; i < sizeof(null_props) / sizeof(null_props[0]); i++) {
            if (json_object_get(obj, null_props[i]) != NULL)
                json_object_set_new(obj, null_props[i], json_null());
        }
        if (json_object_get(obj, "blobId") != NULL)
            json_object_set(obj, "blobId", jid);
        json_object_set_new(p->parsed, blob_id, obj);
    } else if (rc != 1) {
        if (ib_session_is_broken(p->s)) {
            gw_jblob_fini(&b);
            free(data);
            return err->code ? err->code : CM_EUPSTREAM;
        }
        json_array_append(err->code == CM_ENOENT ? p->not_found : p->not_parsable, jid);
        cm_err_clear(err);
    }
    gw_jblob_fini(&b);
    free(data);
    return 0;
}

/* properties absent: Email/parse's own default list (RFC 8621 §4.9). */
static json_t *args_with_defaults(json_t *args)
{
    json_t *a = json_deep_copy(args), *props;

    if (a != NULL && json_object_get(a, "properties") == NULL) {
        props = json_array();
        for (size_t i = 0; i < sizeof(default_props) / sizeof(default_props[0]); i++)
            json_array_append_new(props, json_string(default_props[i]));
        json_object_set_new(a, "properties", props);
    }
    return a;
}

static json_t *empty_null(json_t *v, bool is_array)
{
    if ((is_array ? json_array_size(v) : json_object_size(v)) > 0)
        return json_incref(v);
    return json_null();
}

json_t *gw_jmap_email_parse(struct gw_jcall *c, struct cm_err *err)
{
    json_t *ids = json_object_get(c->args, "blobIds"), *args = NULL, *saved = c->args, *v;
    json_t *reply = NULL;
    struct parse p = {.c = c};
    size_t i;

    if (gw_jcall_account(c, err) < 0)
        return NULL;
    if (!json_is_array(ids)) {
        cm_err_set(err, CM_EINVAL, "blobIds must be an array of blob ids");
        return NULL;
    }
    json_array_foreach(ids, i, v)
    {
        if (!json_is_string(v)) {
            cm_err_set(err, CM_EINVAL, "blobIds must be an array of blob ids");
            return NULL;
        }
    }
    if (json_array_size(ids) > GW_JMAP_MAX_OBJECTS_GET) {
        gw_jcall_fail(c, err, "requestTooLarge", CM_ELIMIT, "more than %d blobIds",
                      GW_JMAP_MAX_OBJECTS_GET);
        return NULL;
    }
    args = args_with_defaults(c->args);
    c->args = args;
    p.o = args ? gw_jmap_email_opts_new(c, err) : NULL;
    c->args = saved;
    if (p.o == NULL || gw_jmail_folders(c->jr, &p.l, err) < 0 ||
        gw_jreq_session(c->jr, &p.s, err) < 0)
        goto done;
    p.parsed = json_object();
    p.not_parsable = json_array();
    p.not_found = json_array();
    json_array_foreach(ids, i, v)
    {
        if (parse_one(&p, v, err) < 0)
            goto done;
    }
    reply = json_pack("{s:s,s:o,s:o,s:o}", "accountId", c->jr->account_id, "parsed",
                      empty_null(p.parsed, false), "notParsable", empty_null(p.not_parsable, true),
                      "notFound", empty_null(p.not_found, true));
done:
    json_decref(p.parsed);
    json_decref(p.not_parsable);
    json_decref(p.not_found);
    gw_jmap_email_opts_free(&p.o);
    json_decref(args);
    return reply;
}
