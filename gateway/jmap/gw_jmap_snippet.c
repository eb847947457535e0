/* gw_jmap_snippet.c - SearchSnippet/get (RFC 8621 §5.1): the subject and
 * the preview of each email with the words of the filter's text, subject
 * and body conditions wrapped in <mark>, everything HTML-escaped. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cm_buf.h"
#include "gateway/jmap/gw_jmail.h"
#include "gateway/jmap/gw_jmap_methods.h"
#include "gateway/jmap/gw_jmap_std.h"
#include "imapbridge/ib_fetch.h"
#include "imapbridge/ib_header.h"
#include "imapbridge/ib_search.h"
#include "imapbridge/ib_session.h"
#include "imapbridge/ib_uidset.h"

#define MAX_TERMS 32

struct terms {
    const char *v[MAX_TERMS];
    size_t n;
};

/* Words searched for, from conditions that are not under a NOT. */
static void collect(json_t *filter, struct terms *t, int depth)
{
    static const char *const keys[] = { "text", "subject", "body" };
    json_t *c;
    size_t i;

    if (!json_is_object(filter) || depth > 16)
        return;
    if (json_object_get(filter, "operator") != NULL) {
        const char *op = json_string_value(json_object_get(filter, "operator"));

        if (op == NULL || strcmp(op, "NOT") == 0)
            return;
        json_array_foreach(json_object_get(filter, "conditions"), i, c)
            collect(c, t, depth + 1);
        return;
    }
    for (i = 0; i < 3 && t->n < MAX_TERMS; i++) {
        const char *w = json_string_value(json_object_get(filter, keys[i]));

        if (w != NULL && w[0] != '\0')
            t->v[t->n++] = w;
    }
}

static int escape_into(struct cm_buf *b, const char *s, size_t n)
{
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < n; i++) {
        switch (s[i]) {
        case '&': rc = cm_buf_append_str(b, "&amp;"); break;
        case '<': rc = cm_buf_append_str(b, "&lt;"); break;
        case '>': rc = cm_buf_append_str(b, "&gt;"); break;
        case '"': rc = cm_buf_append_str(b, "&quot;"); break;
        case '\'': rc = cm_buf_append_str(b, "&#39;"); break;
        default: rc = cm_buf_append(b, &s[i], 1);
        }
    }
    return rc;
}

/* text with every term marked (ASCII case-insensitive), escaped; NULL
   when no term occurs. */
static json_t *highlight(const char *text, const struct terms *t)
{
    struct cm_buf b;
    size_t len = strlen(text), i = 0, plain = 0;
    bool hit = false;
    json_t *out = NULL;
    int rc = 0;

    cm_buf_init(&b, 64 * 1024);
    while (rc == 0 && i < len) {
        size_t m = 0;

        for (size_t k = 0; k < t->n && m == 0; k++) {
            size_t tl = strlen(t->v[k]);

            if (tl <= len - i && strncasecmp(text + i, t->v[k], tl) == 0)
                m = tl;
        }
        if (m == 0) {
            i++;
            continue;
        }
        hit = true;
        rc = escape_into(&b, text + plain, i - plain);
        if (rc == 0)
            rc = cm_buf_append_str(&b, "<mark>");
        if (rc == 0)
            rc = escape_into(&b, text + i, m);
        if (rc == 0)
            rc = cm_buf_append_str(&b, "</mark>");
        i += m;
        plain = i;
    }
    if (rc == 0 && hit)
        rc = escape_into(&b, text + plain, len - plain);
    if (rc == 0 && hit)
        out = json_string(b.data);
    cm_buf_fini(&b);
    return out ? out : json_null();
}

static const char *or_empty(const char *s)
{
    return s != NULL ? s : "";
}

static json_t *snippet(struct ib_session *s, const struct ib_msg *m, const char *id,
                       const struct terms *t)
{
    struct ib_header_list *hl = NULL;
    struct cm_err err = CM_ERR_INIT;
    json_t *subj = NULL, *pv, *out;

    if (m->header != NULL && ib_header_parse(m->header, m->header_len, &hl, &err) == 0)
        subj = ib_header_get_json(hl, "Subject", IB_HF_TEXT, false);
    pv = m->preview ? json_string(m->preview) : gw_jmail_preview(s, m);
    out = json_pack("{s:s,s:o,s:o}", "emailId", id, "subject",
                    highlight(or_empty(json_string_value(subj)), t), "preview",
                    highlight(or_empty(json_string_value(pv)), t));
    json_decref(subj);
    json_decref(pv);
    ib_header_list_free(&hl);
    return out;
}

static int one(struct gw_jcall *c, const struct ib_folder_list *l, const char *id,
               const struct terms *t, json_t *list, json_t *nf, struct cm_err *err)
{
    struct gw_jmail_where w = { 0 };
    const struct ib_folder *f;
    struct ib_session *s;
    struct mailimap_set *set;
    struct ib_msg *m = NULL;
    size_t nm = 0;
    int rc = gw_jmail_locate(c->jr, l, &id, 1, true, &w, err);

    f = w.f;
    if (rc < 0)
        return rc;
    if (f == NULL) {
        json_array_append_new(nf, json_string(id));
        return 0;
    }
    rc = gw_jreq_session(c->jr, &s, err);
    if (rc == 0)
        rc = ib_session_select(s, f->imap_name, true, NULL, err);
    set = rc == 0 ? ib_uidset_single(w.uid) : NULL;
    if (set != NULL)
        rc = ib_fetch_msgs(s, set,
                           IB_FETCH_HEADER_SORT | IB_FETCH_PREVIEW |
                               ((ib_session_caps(s) & IB_CAP_PREVIEW) ? 0 : IB_FETCH_BODYSTRUCTURE),
                           &m, &nm, err);
    if (set != NULL)
        ib_uidset_free(set);
    if (rc == 0)
        json_array_append_new(nm == 1 ? list : nf, nm == 1 ? snippet(s, &m[0], id, t)
                                                           : json_string(id));
    ib_msgs_free(m, nm);
    return rc;
}

json_t *gw_jmap_snippet_get(struct gw_jcall *c, struct cm_err *err)
{
    json_t *filter = json_object_get(c->args, "filter"), *ids = json_object_get(c->args, "emailIds");
    json_t *list = json_array(), *nf = json_array(), *v, *reply = NULL;
    const struct ib_folder_list *l;
    struct terms t = { .n = 0 };
    bool unsupported = false;
    size_t i;

    if (gw_jcall_account(c, err) < 0)
        goto done;
    if (!json_is_array(ids) || json_array_size(ids) > GW_JMAP_MAX_OBJECTS_GET) {
        if (json_is_array(ids))
            gw_jcall_fail(c, err, "requestTooLarge", CM_ELIMIT,
                          "emailIds must be an array of at most %d ids", GW_JMAP_MAX_OBJECTS_GET);
        else
            cm_err_set(err, CM_EINVAL, "emailIds must be an array of at most %d ids",
                       GW_JMAP_MAX_OBJECTS_GET);
        goto done;
    }
    if (filter != NULL && !json_is_null(filter) &&
        ib_search_filter_check(filter, true, &unsupported, err) < 0) {
        if (unsupported)
            c->error_type = "unsupportedFilter";
        goto done;
    }
    collect(filter, &t, 0);
    if (gw_jmail_folders(c->jr, &l, err) < 0)
        goto done;
    json_array_foreach(ids, i, v) {
        if (!json_is_string(v)) {
            cm_err_set(err, CM_EINVAL, "emailIds must be strings");
            goto done;
        }
        if (one(c, l, json_string_value(v), &t, list, nf, err) < 0)
            goto done;
    }
    /* RFC 8621 5.1: notFound is null when every id was found */
    reply = json_pack("{s:s,s:o,s:o}", "accountId", c->jr->account_id, "list", list, "notFound",
                      json_array_size(nf) > 0 ? nf : json_null());
    if (json_array_size(nf) == 0)
        json_decref(nf);
    list = nf = NULL;
done:
    json_decref(list);
    json_decref(nf);
    return reply;
}
