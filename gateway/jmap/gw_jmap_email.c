/* gw_jmap_email.c - Email/get (RFC 8621 §4.2): fetches from IMAP only what
 * the requested properties need (a list view never downloads a body). */
#include <stdlib.h>
#include <string.h>

#include "gateway/gw_ctx.h"
#include "gateway/jmap/gw_jmail.h"
#include "gateway/jmap/gw_jmap_bodyprops.h"
#include "gateway/jmap/gw_jmap_methods.h"
#include "gateway/jmap/gw_jmap_std.h"
#include "gateway/gw_req.h"
#include "imapbridge/ib_body.h"
#include "imapbridge/ib_fetch.h"
#include "imapbridge/ib_fetch_folders.h"
#include "imapbridge/ib_header.h"
#include "imapbridge/ib_session.h"
#include "imapbridge/ib_text.h"
#include "imapbridge/ib_uidset.h"


static const struct gw_jprop email_props[] = {
    { "id", true },          { "blobId", true },        { "threadId", true },
    { "mailboxIds", true },  { "keywords", true },      { "size", true },
    { "receivedAt", true },  { "messageId", true },     { "inReplyTo", true },
    { "references", true },  { "sender", true },        { "from", true },
    { "to", true },          { "cc", true },            { "bcc", true },
    { "replyTo", true },     { "subject", true },       { "sentAt", true },
    { "hasAttachment", true }, { "preview", true },     { "bodyValues", true },
    { "textBody", true },    { "htmlBody", true },      { "attachments", true },
    { "headers", false },    { "bodyStructure", false },
};
#define NPROPS (sizeof(email_props) / sizeof(email_props[0]))

static const char *const header_props[] = { "messageId", "inReplyTo", "references", "sender",
                                            "from",      "to",        "cc",         "bcc",
                                            "replyTo",   "subject",   "sentAt",     "headers" };
static const char *const body_props[] = { "hasAttachment", "bodyStructure", "textBody",
                                          "htmlBody",      "attachments",   "bodyValues" };

/* What one Email/get call asked for, beyond the property list. */
struct eget {
    struct gw_jcall *c;
    struct gw_jget g;
    json_t *header_forms;   /* "header:..." properties (borrowed strings) */
    json_t *body_props;     /* bodyProperties (the default list when not given); owned */
    bool part_headers;      /* some body property needs the parts' headers */
    unsigned int values;    /* ib_body_want mask */
    size_t max_value_bytes;
    unsigned int want;      /* ib_fetch_want */
    const struct ib_folder_list *folders; /* the request's (borrowed) */
};

static bool wants_any(const struct gw_jget *g, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (gw_jget_wants(g, names[i]))
            return true;
    }
    return false;
}

/* The "header:..." properties are validated here; gw_jget_parse only
   knows the fixed ones, so they are taken out of the list first. */
static int split_header_props(struct gw_jcall *c, json_t **forms_r, struct cm_err *err)
{
    json_t *props = json_object_get(c->args, "properties"), *forms = json_array(), *v;
    size_t i;

    *forms_r = forms;
    if (!json_is_array(props))
        return 0;
    for (i = 0; i < json_array_size(props);) {
        const char *p = json_string_value(json_array_get(props, i));
        struct ib_header_prop hp;

        if (p == NULL || strncmp(p, "header:", 7) != 0) {
            i++;
            continue;
        }
        if (ib_header_prop_parse(p, &hp, err) < 0)
            return CM_EINVAL;
        v = json_array_get(props, i);
        json_array_append(forms, v);
        json_array_remove(props, i);
    }
    return 0;
}

static int parse_body_args(struct eget *e, struct cm_err *err)
{
    json_t *a = e->c->args, *max = json_object_get(a, "maxBodyValueBytes");

    if (gw_jbody_props(a, &e->body_props, &e->part_headers, err) < 0)
        return -1;
    if (json_is_true(json_object_get(a, "fetchTextBodyValues")))
        e->values |= IB_BODY_WANT_TEXT;
    if (json_is_true(json_object_get(a, "fetchHTMLBodyValues")))
        e->values |= IB_BODY_WANT_HTML;
    if (json_is_true(json_object_get(a, "fetchAllBodyValues")))
        e->values |= IB_BODY_WANT_ALL;
    if (max != NULL && !json_is_null(max) &&
        (!json_is_integer(max) || json_integer_value(max) < 0))
        return cm_err_set(err, CM_EINVAL, "maxBodyValueBytes must be a positive integer");
    e->max_value_bytes = max && json_is_integer(max) ? (size_t)json_integer_value(max) : 0;
    return 0;
}

static void choose_fetch(struct eget *e, unsigned int caps)
{
    const struct gw_jget *g = &e->g;

    e->want = 0;
    if (gw_jget_wants(g, "keywords"))
        e->want |= IB_FETCH_FLAGS;
    if (gw_jget_wants(g, "size"))
        e->want |= IB_FETCH_SIZE;
    if (gw_jget_wants(g, "receivedAt"))
        e->want |= IB_FETCH_INTERNALDATE;
    if (gw_jget_wants(g, "threadId") || json_array_size(e->header_forms) > 0 ||
        wants_any(g, header_props, sizeof(header_props) / sizeof(header_props[0])))
        e->want |= IB_FETCH_HEADER;
    if (gw_jget_wants(g, "threadId"))
        e->want |= gw_jthread_fetch_want(caps);
    if (wants_any(g, body_props, sizeof(body_props) / sizeof(body_props[0])) || e->values)
        e->want |= IB_FETCH_BODYSTRUCTURE;
    if (gw_jget_wants(g, "preview"))
        e->want |= (caps & IB_CAP_PREVIEW) ? IB_FETCH_PREVIEW : IB_FETCH_BODYSTRUCTURE;
    if (gw_jget_wants(g, "mailboxIds") && (caps & IB_CAP_XGMEXT))
        e->want |= IB_FETCH_LABELS; /* Gmail: one message, a folder per label */
}

struct blob_ctx {
    const unsigned char *key;
    const char *email_id;
};

static json_t *blob_of_part(const char *part_id, void *arg)
{
    struct blob_ctx *b = arg;
    char *id = ib_ids_blob(b->key, b->email_id, part_id ? part_id : "");
    json_t *j = id ? json_string(id) : json_null();

    free(id);
    return j;
}

static int add_body_values(struct eget *e, struct ib_session *s, const struct ib_msg *m,
                           json_t *obj, struct cm_err *err)
{
    struct ib_body_fetch *list = NULL;
    json_t *values = json_object();
    size_t n = 0;
    int rc = ib_body_fetch_list(m->body, e->values, &list, &n, err);

    for (size_t i = 0; rc == 0 && i < n; i++) {
        uint32_t max = e->max_value_bytes ? (uint32_t)(e->max_value_bytes * 4 + 64) : 0;
        char *data = NULL;
        size_t len = 0;
        json_t *val = NULL;

        rc = ib_fetch_section(s, m->uid, list[i].part_id, 0, max, &data, &len, err);
        if (rc == 0)
            rc = ib_body_value_json(data, len, list[i].encoding, list[i].charset,
                                    e->max_value_bytes, max > 0 && len >= max, &val, err);
        if (rc == 0)
            json_object_set_new(values, list[i].part_id, val);
        free(data);
    }
    ib_body_fetch_free(&list, n);
    json_object_set_new(obj, "bodyValues", values);
    return rc;
}

static int add_body_props(struct eget *e, struct ib_session *s, const struct ib_msg *m,
                          struct blob_ctx *bc, json_t *obj, struct cm_err *err)
{
    struct gw_jbody_headers hd = { .s = s, .uid = m->uid };
    struct ib_body_opts opts = { blob_of_part, bc, e->part_headers ? gw_jbody_headers_fn : NULL,
                                 &hd };
    json_t *tree, *text = NULL, *html = NULL, *att = NULL;
    bool has_att = false;
    int rc;

    if (m->body == NULL)
        return 0;
    tree = ib_body_structure_json(m->body, &opts);
    if (tree != NULL && e->part_headers) { /* learned the sections: one FETCH, build again */
        json_decref(tree);
        tree = NULL;
        rc = gw_jbody_headers_fetch(&hd, err);
        if (rc < 0) {
            gw_jbody_headers_fini(&hd);
            return rc;
        }
        tree = ib_body_structure_json(m->body, &opts);
    }
    gw_jbody_headers_fini(&hd);
    if (tree == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    rc = ib_body_parts(tree, &text, &html, &att, &has_att, err);
    if (rc == 0) {
        json_object_set_new(obj, "hasAttachment", json_boolean(has_att));
        json_object_set_new(obj, "textBody", gw_jbody_filtered_copies(text, e->body_props));
        json_object_set_new(obj, "htmlBody", gw_jbody_filtered_copies(html, e->body_props));
        json_object_set_new(obj, "attachments", gw_jbody_filtered_copies(att, e->body_props));
        if (gw_jget_wants(&e->g, "preview") && m->preview == NULL)
            json_object_set_new(obj, "preview", gw_jmail_preview(s, m));
        gw_jbody_filter(tree, e->body_props, true);
        json_object_set_new(obj, "bodyStructure", json_incref(tree));
    }
    if (rc == 0 && (gw_jget_wants(&e->g, "bodyValues")))
        rc = add_body_values(e, s, m, obj, err);
    json_decref(text);
    json_decref(html);
    json_decref(att);
    json_decref(tree);
    return rc;
}

static int add_header_props(struct eget *e, const struct ib_msg *m, json_t *obj,
                            struct cm_err *err)
{
    struct ib_header_list *hl = NULL;
    size_t i;
    json_t *v;

    if (m->header == NULL || ib_header_parse(m->header, m->header_len, &hl, err) < 0)
        return m->header == NULL ? 0 : err->code;
    for (i = 0; i < sizeof(header_props) / sizeof(header_props[0]); i++) {
        bool known;
        json_t *val = ib_header_email_prop(hl, header_props[i], &known);

        if (val != NULL)
            json_object_set_new(obj, header_props[i], val);
    }
    json_array_foreach(e->header_forms, i, v) {
        bool known;
        json_t *val = ib_header_email_prop(hl, json_string_value(v), &known);

        if (val != NULL)
            json_object_set_new(obj, json_string_value(v), val);
    }
    {
        char *t = gw_jthread_id_of(e->c->jr, m, hl, json_string_value(json_object_get(obj, "id")));

        json_object_set_new(obj, "threadId", t ? json_string(t) : json_null());
        free(t);
    }
    ib_header_list_free(&hl);
    return 0;
}

static json_t *email_json(struct eget *e, struct ib_session *s, const struct ib_folder *f,
                          const struct ib_msg *m, const char *id, struct cm_err *err)
{
    struct blob_ctx bc = { e->c->jr->req->ctx->keys.state_key, id };
    char *blob = ib_ids_blob(bc.key, id, "");
    char date[32];
    json_t *obj = json_pack("{s:s,s:o,s:o}", "id", id, "blobId",
                            blob ? json_string(blob) : json_null(), "mailboxIds",
                            gw_jmail_mailbox_ids(e->folders, f, m));

    free(blob);
    if (obj == NULL)
        return NULL;
    if (m->nflags > 0 || (e->want & IB_FETCH_FLAGS))
        json_object_set_new(obj, "keywords", gw_jmail_keywords(m->flags, m->nflags));
    json_object_set_new(obj, "size", json_integer(m->size));
    gw_jmail_utcdate(m->internaldate, date, sizeof(date));
    json_object_set_new(obj, "receivedAt", json_string(date));
    if (m->preview != NULL)
        json_object_set_new(obj, "preview", ib_text_json(m->preview, strlen(m->preview)));
    if (add_header_props(e, m, obj, err) < 0 || add_body_props(e, s, m, &bc, obj, err) < 0) {
        json_decref(obj);
        return NULL;
    }
    gw_jget_filter(&e->g, obj);
    return obj;
}

/* The ids of one call and where they are. */
struct located {
    const char **ids;              /* borrowed from the call's arguments */
    struct gw_jmail_where *where;
    bool *retry;                   /* cached location proved stale */
    size_t n;
};

/* The UIDs loc names in folder f, into uids; how many. */
static size_t folder_uids(const struct located *loc, const struct ib_folder *f, uint32_t *uids)
{
    size_t n = 0;

    for (size_t i = 0; i < loc->n; i++) {
        if (loc->where[i].f == f)
            uids[n++] = loc->where[i].uid;
    }
    return n;
}

/* Append the objects of folder f's fetched messages (msgs) that loc
   names to list. Ids not found go to not_found, or, when their location
   came from the cache, are marked for a retry. f is selected on s when
   needs_folder says the objects need it. */
static int take_folder(struct eget *e, struct ib_session *s, const struct ib_folder *f,
                       struct located *loc, const struct ib_msg *msgs, size_t nm, json_t *list,
                       json_t *not_found, struct cm_err *err)
{
    int rc = 0;

    if ((e->want & IB_FETCH_HEADER) && gw_jget_wants(&e->g, "threadId")) {
        const struct ib_folder_list *l;

        rc = gw_jmail_folders(e->c->jr, &l, err);
        if (rc == 0)
            rc = gw_jthread_learn(e->c->jr, s, l, f, msgs, nm, err);
    }
    for (size_t i = 0; rc == 0 && i < loc->n; i++) {
        json_t *obj = NULL;

        if (loc->where[i].f != f)
            continue;
        for (size_t k = 0; k < nm && obj == NULL; k++) {
            if (msgs[k].uid == loc->where[i].uid)
                obj = email_json(e, s, f, &msgs[k], loc->ids[i], err);
        }
        if (obj == NULL && err->code != CM_OK)
            rc = err->code;
        else if (obj != NULL)
            json_array_append_new(list, obj);
        else if (loc->where[i].cached)
            loc->retry[i] = true;
        else
            json_array_append_new(not_found, json_string(loc->ids[i]));
    }
    return rc;
}

/* Fetch the messages of folder f that loc names (EXAMINE + UID FETCH in
   one write) and take them. */
static int get_folder(struct eget *e, struct ib_session *s, const struct ib_folder *f,
                      struct located *loc, json_t *list, json_t *not_found, struct cm_err *err)
{
    uint32_t *uids = calloc(loc->n + 1, sizeof(*uids));
    struct ib_msg *msgs = NULL;
    size_t nm = 0;
    struct mailimap_set *set = uids ? ib_uidset_of(uids, folder_uids(loc, f, uids)) : NULL;
    int rc = set ? ib_fetch_msgs_in(s, f->imap_name, set, e->want, &msgs, &nm, err)
                 : cm_err_set(err, CM_ENOMEM, "out of memory");

    if (rc == 0)
        rc = take_folder(e, s, f, loc, msgs, nm, list, not_found, err);
    if (set != NULL)
        ib_uidset_free(set);
    ib_msgs_free(msgs, nm);
    free(uids);
    return rc;
}

/* Does building the objects need their folder selected (body values and
   part headers fetch more of each message, threads search the folder)? */
static bool needs_folder(const struct eget *e)
{
    return e->values != 0 || e->part_headers ||
           ((e->want & IB_FETCH_HEADER) && gw_jget_wants(&e->g, "threadId"));
}

/* The folders of l that hold located ids, in list order; how many. */
static size_t located_folders(const struct ib_folder_list *l, const struct located *loc,
                              const struct ib_folder **out)
{
    size_t n = 0;

    for (size_t k = 0; k < l->count; k++) {
        for (size_t i = 0; i < loc->n; i++) {
            if (loc->where[i].f == &l->items[k]) {
                out[n++] = &l->items[k];
                break;
            }
        }
    }
    return n;
}

/* Every folder's EXAMINE + UID FETCH in one write (ib_fetch_folders),
   then the objects. A folder that could not be opened fails the call, as
   get_folder's EXAMINE does. */
static int get_pipelined(struct eget *e, struct ib_session *s, const struct ib_folder **fs,
                         size_t nf, struct located *loc, json_t *list, json_t *not_found,
                         struct cm_err *err)
{
    struct ib_fetch_job *jobs = calloc(nf + 1, sizeof(*jobs));
    uint32_t *uids = calloc(loc->n + 1, sizeof(*uids));
    int rc = jobs && uids ? 0 : cm_err_set(err, CM_ENOMEM, "out of memory");

    for (size_t k = 0; rc == 0 && k < nf; k++) {
        jobs[k].imap_name = fs[k]->imap_name;
        jobs[k].uids = ib_uidset_of(uids, folder_uids(loc, fs[k], uids));
        if (jobs[k].uids == NULL)
            rc = cm_err_set(err, CM_ENOMEM, "out of memory");
    }
    if (rc == 0)
        rc = ib_fetch_folders(s, jobs, nf, e->want, err);
    for (size_t k = 0; rc == 0 && k < nf; k++) {
        if (jobs[k].uidvalidity == 0)
            rc = cm_err_set(err, CM_ENOENT, "imap: folder %s could not be opened",
                            fs[k]->imap_name);
        else
            rc = take_folder(e, s, fs[k], loc, jobs[k].msgs, jobs[k].n, list, not_found, err);
    }
    for (size_t k = 0; jobs != NULL && k < nf; k++) {
        if (jobs[k].uids != NULL)
            ib_uidset_free(jobs[k].uids);
        ib_msgs_free(jobs[k].msgs, jobs[k].n);
    }
    free(jobs);
    free(uids);
    return rc;
}

/* Fetch every located id, folder by folder (all folders in one write
   when the objects need nothing more of their folder); unlocated ones are
   not found. */
static int get_located(struct eget *e, const struct ib_folder_list *l, struct located *loc,
                       json_t *list, json_t *not_found, struct cm_err *err)
{
    const struct ib_folder **fs = calloc(l->count + 1, sizeof(*fs));
    struct ib_session *s = NULL;
    size_t nf = fs ? located_folders(l, loc, fs) : 0;
    int rc = fs ? 0 : cm_err_set(err, CM_ENOMEM, "out of memory");

    for (size_t i = 0; rc == 0 && i < loc->n; i++) {
        if (loc->where[i].f == NULL)
            json_array_append_new(not_found, json_string(loc->ids[i]));
    }
    if (rc == 0 && nf > 0)
        rc = gw_jreq_session(e->c->jr, &s, err);
    if (rc == 0 && nf > 1 && !needs_folder(e) && ib_fetch_folders_supported(s))
        rc = get_pipelined(e, s, fs, nf, loc, list, not_found, err);
    else
        for (size_t k = 0; rc == 0 && k < nf; k++)
            rc = get_folder(e, s, fs[k], loc, list, not_found, err);
    free(fs);
    return rc;
}

/* Where the ids are (cache, else one search round), then fetch; a cached
   location that proved stale is searched for once more. */
static int get_all(struct eget *e, const struct ib_folder_list *l, json_t *list,
                   json_t *not_found, struct cm_err *err)
{
    size_t n = json_array_size(e->g.ids), nretry = 0;
    struct located loc = { calloc(n + 1, sizeof(char *)), calloc(n + 1, sizeof(*loc.where)),
                           calloc(n + 1, sizeof(bool)), n };
    struct gw_jreq *jr = e->c->jr;
    int rc = loc.ids && loc.where && loc.retry ? 0 : cm_err_set(err, CM_ENOMEM, "out of memory");

    for (size_t i = 0; rc == 0 && i < n; i++)
        loc.ids[i] = json_string_value(json_array_get(e->g.ids, i));
    if (rc == 0)
        rc = gw_jmail_locate(jr, l, loc.ids, n, true, loc.where, err);
    if (rc == 0)
        rc = get_located(e, l, &loc, list, not_found, err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (loc.retry[i]) {
            gw_jmail_forget(jr->req->ctx, jr->account_id, loc.ids[i]);
            loc.ids[nretry++] = loc.ids[i];
        }
    }
    if (rc == 0 && nretry > 0) {
        loc.n = nretry;
        memset(loc.retry, 0, nretry * sizeof(bool));
        rc = gw_jmail_locate(jr, l, loc.ids, nretry, false, loc.where, err);
        if (rc == 0)
            rc = get_located(e, l, &loc, list, not_found, err);
    }
    free(loc.ids);
    free(loc.where);
    free(loc.retry);
    return rc;
}

json_t *gw_jmap_email_get(struct gw_jcall *c, struct cm_err *err)
{
    struct eget e = { .c = c, .g = GW_JGET_INIT };
    const struct ib_folder_list *l;
    json_t *reply = NULL, *list = json_array(), *nf = json_array();
    char *state = NULL;

    if (split_header_props(c, &e.header_forms, err) < 0 ||
        gw_jget_parse(c, email_props, NPROPS, &e.g, err) < 0 || parse_body_args(&e, err) < 0)
        goto done;
    if (gw_jget_require_ids(c, &e.g, err) < 0)
        goto done;
    for (size_t i = 0; i < json_array_size(e.header_forms); i++)
        json_array_append(e.g.props, json_array_get(e.header_forms, i));
    if (gw_jmail_folders(c->jr, &l, err) < 0)
        goto done;
    e.folders = l;
    choose_fetch(&e, c->jr->session ? ib_session_caps(c->jr->session) : 0);
    if (get_all(&e, l, list, nf, err) < 0)
        goto done;
    state = gw_jmail_state(c->jr, l);
    reply = gw_jget_reply(c, state ? state : "", list, nf);
    list = nf = NULL;
done:
    json_decref(list);
    json_decref(nf);
    json_decref(e.header_forms);
    json_decref(e.body_props);
    gw_jget_fini(&e.g);
    free(state);
    return reply;
}

/* ---- the same builder for Email/parse (gw_jmap_methods.h) ---- */

struct gw_email_opts {
    struct eget e;
};

struct gw_email_opts *gw_jmap_email_opts_new(struct gw_jcall *c, struct cm_err *err)
{
    struct gw_email_opts *o = calloc(1, sizeof(*o));

    if (o == NULL) {
        cm_err_set(err, CM_ENOMEM, "out of memory");
        return NULL;
    }
    o->e.c = c;
    if (split_header_props(c, &o->e.header_forms, err) < 0 ||
        gw_jget_parse(c, email_props, NPROPS, &o->e.g, err) < 0 ||
        parse_body_args(&o->e, err) < 0) {
        gw_jmap_email_opts_free(&o);
        return NULL;
    }
    for (size_t i = 0; i < json_array_size(o->e.header_forms); i++)
        json_array_append(o->e.g.props, json_array_get(o->e.header_forms, i));
    return o;
}

json_t *gw_jmap_email_at(struct gw_email_opts *o, struct ib_session *s, const struct ib_folder *f,
                         uint32_t uid, struct cm_err *err)
{
    struct mailimap_set *set = ib_uidset_single(uid);
    struct ib_email_loc loc = gw_jmail_loc(f, uid);
    char id[IB_IDS_EMAIL_LEN + 1];
    struct ib_msg *m = NULL;
    size_t nm = 0;
    json_t *obj = NULL;
    int rc = set ? ib_session_select(s, f->imap_name, true, NULL, err)
                 : cm_err_set(err, CM_ENOMEM, "out of memory");

    choose_fetch(&o->e, ib_session_caps(s));
    if (rc == 0)
        rc = ib_fetch_msgs(s, set, o->e.want, &m, &nm, err);
    if (rc == 0 && nm != 1)
        cm_err_set(err, CM_ENOENT, "no such message");
    if (rc == 0 && nm == 1) {
        ib_ids_email(&loc, id);
        obj = email_json(&o->e, s, f, &m[0], id, err);
    }
    if (set != NULL)
        ib_uidset_free(set);
    ib_msgs_free(m, nm);
    return obj;
}

void gw_jmap_email_opts_free(struct gw_email_opts **op)
{
    struct gw_email_opts *o = *op;

    if (o == NULL)
        return;
    *op = NULL;
    json_decref(o->e.header_forms);
    json_decref(o->e.body_props);
    gw_jget_fini(&o->e.g);
    free(o);
}
