/* gw_rest.c - folders, cursors, numbers and summaries for the REST
 * message routes. */
#include "gateway/gw_rest.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gateway/gw_ctx.h"
#include "gateway/jmap/gw_jmail.h"
#include "gateway/gw_req.h"
#include "imapbridge/ib_body.h"
#include "imapbridge/ib_fetch.h"
#include "imapbridge/ib_header.h"
#include "imapbridge/ib_ids.h"
#include "imapbridge/ib_session.h"
#include "imapbridge/ib_text.h"
#include "imapbridge/ib_uidset.h"

const struct ib_folder *gw_rest_find(const struct ib_folder_list *l, const char *path)
{
    for (size_t i = 0; path != NULL && i < l->count; i++) {
        const struct ib_folder *f = &l->items[i];

        if (strcmp(f->path, path) == 0 ||
            (strcasecmp(path, "INBOX") == 0 && strcasecmp(f->path, "INBOX") == 0))
            return f;
    }
    return NULL;
}

int gw_rest_box_open(struct ib_session *s, const char *path, bool read_only,
                     struct gw_rest_box *b, struct cm_err *err)
{
    int rc;

    gw_rest_box_fini(b);
    rc = ib_mailbox_list(s, &b->list, err);
    if (rc < 0)
        return rc;
    b->f = gw_rest_find(&b->list, path);
    if (b->f == NULL || !b->f->selectable || !b->f->has_status) {
        b->f = NULL;
        return cm_err_set(err, CM_ENOENT, "no such mailbox");
    }
    return ib_session_select(s, b->f->imap_name, read_only, NULL, err);
}

int gw_rest_box_examine(struct ib_session *s, const char *path, struct gw_rest_box *b,
                        struct cm_err *err)
{
    int rc;

    gw_rest_box_fini(b);
    rc = ib_mailbox_open(s, path, true, &b->list, err);
    if (rc == 0) {
        b->f = &b->list.items[0];
        b->selection_counts = true;
        return 0;
    }
    if (ib_session_is_broken(s) || rc == CM_ENOMEM)
        return rc;
    /* refused (Dovecot 2.3 says NO without [NONEXISTENT]) or a path that
       cannot be addressed directly: the listing tells */
    cm_err_clear(err);
    return gw_rest_box_open(s, path, true, b, err);
}

int gw_rest_box_fetch(struct ib_session *s, const char *path, bool read_only, uint32_t uid,
                      unsigned int want, struct gw_rest_box *b, struct ib_msg **m_r, size_t *n_r,
                      struct cm_err *err)
{
    struct mailimap_set *set = ib_uidset_single(uid);
    int rc;

    *m_r = NULL;
    *n_r = 0;
    gw_rest_box_fini(b);
    if (set == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    rc = ib_mailbox_open_fetch(s, path, read_only, set, want, &b->list, m_r, n_r, err);
    ib_uidset_free(set);
    if (rc == 0) {
        b->f = &b->list.items[0];
        return *n_r == 1 ? 0 : cm_err_set(err, CM_ENOENT, "no such message");
    }
    if (ib_session_is_broken(s) || rc == CM_ENOMEM)
        return rc;
    /* refused, or not addressable directly: the listing tells (as
       gw_rest_box_examine), then the FETCH on its own */
    cm_err_clear(err);
    rc = gw_rest_box_open(s, path, read_only, b, err);
    return rc < 0 ? rc : gw_rest_fetch_one(s, uid, want, m_r, n_r, err);
}

void gw_rest_box_fini(struct gw_rest_box *b)
{
    ib_folder_list_fini(&b->list);
    b->f = NULL;
    b->selection_counts = false;
}

struct ib_state_entry gw_rest_entry(const struct ib_folder *f)
{
    struct ib_state_entry e = { ib_state_folder_key(f->id), f->uidvalidity, f->highestmodseq,
                                f->uidnext, f->total };

    return e;
}

char *gw_rest_cursor(const struct gw_req *req, const struct ib_state_entry *e)
{
    return gw_rest_cursor_paged(req, e, NULL);
}

/* A page position travels as a second state entry whose folder key is 0
   (no folder has it: keys are SHA-256 prefixes of ids, and a base entry
   with key 0 is refused below). */
char *gw_rest_cursor_paged(const struct gw_req *req, const struct ib_state_entry *e,
                           const struct gw_rest_page *pos)
{
    struct ib_state_entry v[2] = { *e };

    if (pos != NULL)
        v[1] = (struct ib_state_entry){ 0, (uint32_t)pos->phase, pos->target, pos->after, 0 };
    return ib_state_encode(req->ctx->keys.state_key, IB_STATE_CURSOR, v, pos != NULL ? 2 : 1);
}

int gw_rest_cursor_parse_paged(const struct gw_req *req, const char *text,
                               struct ib_state_entry *e_r, struct gw_rest_page *pos_r,
                               bool *has_pos_r, struct cm_err *err)
{
    struct ib_state_entry *v = NULL;
    size_t n = 0;
    bool ok;

    if (text == NULL || text[0] == '\0')
        return cm_err_set(err, CM_EINVAL, "cursor is required");
    /* entries come sorted by folder key: a page position (key 0) first */
    ok = ib_state_decode(req->ctx->keys.state_key, IB_STATE_CURSOR, text, &v, &n) == 0 &&
         (n == 1 || (n == 2 && pos_r != NULL && v[0].folder_key == 0 &&
                     v[0].uidvalidity <= GW_REST_ADDED)) && v[n - 1].folder_key != 0;
    if (!ok) {
        free(v);
        return cm_err_set(err, CM_EINVAL, "cursor is malformed or was not issued by this server");
    }
    *e_r = v[n - 1];
    if (has_pos_r != NULL)
        *has_pos_r = n == 2;
    if (n == 2)
        *pos_r = (struct gw_rest_page){ (enum gw_rest_phase)v[0].uidvalidity, v[0].uidnext,
                                        v[0].modseq };
    free(v);
    return 0;
}

int gw_rest_cursor_parse(const struct gw_req *req, const char *text, struct ib_state_entry *e_r,
                         struct cm_err *err)
{
    return gw_rest_cursor_parse_paged(req, text, e_r, NULL, NULL, err);
}

int gw_rest_uid(const char *text, const char *what, uint32_t *uid_r, struct cm_err *err)
{
    unsigned long long v = 0;
    size_t i;

    for (i = 0; text != NULL && text[i] >= '0' && text[i] <= '9' && i < 11; i++)
        v = v * 10 + (unsigned long long)(text[i] - '0');
    if (text == NULL || i == 0 || text[i] != '\0' || v == 0 || v > UINT32_MAX)
        return cm_err_set(err, CM_EINVAL, "%s must be a UID (a number from 1 to 4294967295)",
                          what);
    *uid_r = (uint32_t)v;
    return 0;
}

int gw_rest_limit(const struct gw_req *req, size_t *limit_r, struct cm_err *err)
{
    const char *t = gw_req_query(req, "limit");
    size_t i, v = 0;

    *limit_r = GW_REST_LIMIT_DEFAULT;
    if (t == NULL)
        return 0;
    for (i = 0; t[i] >= '0' && t[i] <= '9'; i++)
        v = v > GW_REST_LIMIT_MAX ? v : v * 10 + (size_t)(t[i] - '0');
    if (i == 0 || t[i] != '\0' || v == 0)
        return cm_err_set(err, CM_EINVAL, "limit must be a positive number");
    *limit_r = v > GW_REST_LIMIT_MAX ? GW_REST_LIMIT_MAX : v;
    return 0;
}

json_t *gw_rest_flags_json(const struct ib_msg *m)
{
    json_t *a = json_array();

    for (size_t i = 0; i < m->nflags; i++) {
        if (strcasecmp(m->flags[i], "\\Recent") != 0)
            json_array_append_new(a, json_string(m->flags[i]));
    }
    return a;
}

static void add_headers(json_t *o, const struct ib_msg *m, const char *id)
{
    static const char *const props[] = { "from", "to", "subject" };
    struct ib_header_list *hl = NULL;
    struct cm_err err = CM_ERR_INIT;
    json_t *date = NULL;
    char *thread;
    bool known;

    if (m->header != NULL && ib_header_parse(m->header, m->header_len, &hl, &err) < 0)
        hl = NULL;
    for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
        json_t *v = hl ? ib_header_email_prop(hl, props[i], &known) : NULL;

        json_object_set_new(o, props[i], v ? v : json_null());
    }
    if (hl != NULL)
        date = ib_header_email_prop(hl, "sentAt", &known);
    if (date == NULL || json_is_null(date)) {
        char text[32];

        json_decref(date);
        gw_jmail_utcdate(m->internaldate, text, sizeof(text));
        date = json_string(text);
    }
    json_object_set_new(o, "date", date);
    thread = gw_jthread_id_of(NULL, m, hl, id); /* JMAP's own where it costs nothing */
    json_object_set_new(o, "threadId", thread ? json_string(thread) : json_null());
    free(thread);
    ib_header_list_free(&hl);
}

static json_t *summary_json(struct ib_session *s, const struct ib_folder *f,
                            const struct ib_msg *m)
{
    char id[IB_IDS_EMAIL_MAX + 1];
    json_t *o;

    gw_jmail_email_id(f, m->uid, m->guid, id);
    o = json_pack("{s:I,s:s}", "uid", (json_int_t)m->uid, "id", id);
    if (o == NULL)
        return NULL;
    add_headers(o, m, id);
    json_object_set_new(o, "preview", m->preview ? ib_text_json(m->preview, strlen(m->preview))
                                                 : gw_jmail_preview(s, m));
    json_object_set_new(o, "flags", gw_rest_flags_json(m));
    json_object_set_new(o, "size", json_integer(m->size));
    json_object_set_new(o, "hasAttachment", json_boolean(ib_body_has_attachment(m->body)));
    return o;
}

/* Newest first; a message answered twice (an unsolicited FETCH beside
   ours) with its fuller answer first. */
static int uid_desc(const void *a, const void *b)
{
    const struct ib_msg *p = a, *q = b;

    if (p->uid != q->uid)
        return p->uid < q->uid ? 1 : -1;
    return (q->header != NULL) - (p->header != NULL);
}

static unsigned int summary_want(struct ib_session *s)
{
    unsigned int want = IB_FETCH_FLAGS | IB_FETCH_SIZE | IB_FETCH_INTERNALDATE |
                        IB_FETCH_HEADER_SORT | IB_FETCH_BODYSTRUCTURE | IB_FETCH_GUID;

    if (ib_session_caps(s) & IB_CAP_PREVIEW)
        want |= IB_FETCH_PREVIEW;
    return want;
}

/* msgs (n, freed here) as summaries, newest first, appended to out. */
static int summaries_of(struct ib_session *s, const struct ib_folder *f, struct ib_msg *msgs,
                        size_t n, json_t *out, struct cm_err *err)
{
    int rc = 0;

    qsort(msgs, n, sizeof(*msgs), uid_desc);
    for (size_t i = 0; i < n; i++) {
        json_t *o;

        if (i > 0 && msgs[i].uid == msgs[i - 1].uid)
            continue; /* one message answered twice: the fuller answer came first */
        o = summary_json(s, f, &msgs[i]);
        if (o == NULL) {
            rc = cm_err_set(err, CM_ENOMEM, "out of memory");
            break;
        }
        json_array_append_new(out, o);
    }
    ib_msgs_free(msgs, n);
    return rc;
}

int gw_rest_summaries(struct ib_session *s, const struct ib_folder *f, struct mailimap_set *uids,
                      json_t *out, struct cm_err *err)
{
    struct ib_msg *msgs = NULL;
    size_t n = 0;
    int rc = ib_fetch_msgs(s, uids, summary_want(s), &msgs, &n, err);

    return rc < 0 ? rc : summaries_of(s, f, msgs, n, out, err);
}

int gw_rest_summaries_newest(struct ib_session *s, const struct gw_rest_box *b, size_t limit,
                             json_t *out, bool *older_r, struct cm_err *err)
{
    const struct ib_folder *f = b->f;
    uint32_t lo = f->total > limit ? (uint32_t)(f->total - limit + 1) : 1;
    struct ib_msg *msgs = NULL;
    size_t n = 0, kept = 0;
    int rc;

    assert(b->selection_counts && f->uidnext != 0);
    *older_r = lo > 1;
    if (f->total == 0)
        return 0;
    rc = ib_fetch_msgs_from_seq(s, lo, summary_want(s), &msgs, &n, err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++) { /* arrived after the EXAMINE: the next delta's */
        if (msgs[i].uid < f->uidnext)
            msgs[kept++] = msgs[i];
        else
            ib_msgs_free_one(&msgs[i]);
    }
    return summaries_of(s, f, msgs, kept, out, err);
}

int gw_rest_fetch_one(struct ib_session *s, uint32_t uid, unsigned int want, struct ib_msg **m_r,
                      size_t *n_r, struct cm_err *err)
{
    struct mailimap_set *set = ib_uidset_single(uid);
    int rc = set ? ib_fetch_msgs(s, set, want, m_r, n_r, err)
                 : cm_err_set(err, CM_ENOMEM, "out of memory");

    if (set != NULL)
        ib_uidset_free(set);
    if (rc == 0 && *n_r != 1)
        rc = cm_err_set(err, CM_ENOENT, "no such message");
    return rc;
}

char *gw_rest_message_url(const struct ib_folder *f, uint32_t uid, const char *suffix)
{
    size_t cap = strlen(f->path) * 3 + strlen(suffix) + 64, n;
    char *url = malloc(cap);

    if (url == NULL)
        return NULL;
    n = (size_t)snprintf(url, cap, "/api/v1/mailboxes/");
    for (const unsigned char *p = (const unsigned char *)f->path; *p != '\0'; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL;

        n += (size_t)snprintf(url + n, cap - n, plain ? "%c" : "%%%02X", *p);
    }
    snprintf(url + n, cap - n, "/messages/%u%s", uid, suffix);
    return url;
}
