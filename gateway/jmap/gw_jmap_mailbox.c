/* gw_jmap_mailbox.c - Mailbox/get (RFC 8621 §2). */
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "common/cm_buf.h"
#include "common/cm_crypto.h"
#include "common/cm_token.h"
#include "gateway/gw_ctx.h"
#include "gateway/gw_req.h"
#include "gateway/jmap/gw_jmail.h"
#include "gateway/jmap/gw_jmap_methods.h"
#include "gateway/jmap/gw_jmap_std.h"
#include "imapbridge/ib_mailbox.h"

static const struct gw_jprop mailbox_props[] = {
    { "id", true },           { "name", true },          { "parentId", true },
    { "role", true },         { "sortOrder", true },     { "totalEmails", true },
    { "unreadEmails", true }, { "totalThreads", true },  { "unreadThreads", true },
    { "myRights", true },     { "isSubscribed", true },
};
#define NPROPS (sizeof(mailbox_props) / sizeof(mailbox_props[0]))

static const char *const role_order[] = { "inbox", "drafts", "sent", "archive",
                                          "junk",  "trash",  "all",  "flagged" };

int gw_jmap_mailbox_role_rank(const char *role)
{
    for (size_t i = 0; role != NULL && i < sizeof(role_order) / sizeof(role_order[0]); i++) {
        if (strcmp(role, role_order[i]) == 0)
            return (int)i + 1;
    }
    return 100;
}

static json_t *rights(bool selectable)
{
    return json_pack("{s:b,s:b,s:b,s:b,s:b,s:b,s:b,s:b,s:b}", "mayReadItems", selectable,
                     "mayAddItems", selectable, "mayRemoveItems", selectable, "maySetSeen",
                     selectable, "maySetKeywords", selectable, "mayCreateChild", 1, "mayRename",
                     1, "mayDelete", 1, "maySubmit", 0);
}

static json_t *nullable(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* The JMAP Mailbox object. Thread counts are the message counts: IMAP has
   no per-folder thread count without a THREAD over the whole folder. */
json_t *gw_jmap_mailbox_json(const struct ib_folder *f)
{
    json_int_t total = f->has_status ? f->total : 0, unread = f->has_status ? f->unread : 0;

    return json_pack("{s:s,s:s,s:o,s:o,s:I,s:I,s:I,s:I,s:I,s:o,s:b}", "id", f->id, "name",
                     f->name, "parentId", nullable(f->parent_id), "role", nullable(f->role),
                     "sortOrder", (json_int_t)f->sort_order, "totalEmails", total, "unreadEmails",
                     unread, "totalThreads", total, "unreadThreads", unread, "myRights",
                     rights(f->selectable), "isSubscribed", f->subscribed);
}

/* Mailbox state: an authenticated token listing, per mailbox, its id, a
   hash of its non-count properties and a hash of its counts, so
   Mailbox/changes can be answered from the state alone (ARCHITECTURE §4). */
#define MAILBOX_STATE_KIND 5

static uint32_t hash32(const char *text)
{
    unsigned char md[CM_SHA256_LEN];

    cm_sha256(text, strlen(text), md);
    return (uint32_t)md[0] << 24 | (uint32_t)md[1] << 16 | (uint32_t)md[2] << 8 | md[3];
}

static void folder_hashes(const struct ib_folder *f, uint32_t *props_r, uint32_t *counts_r)
{
    json_t *o = gw_jmap_mailbox_json(f);
    json_t *counts = json_pack("[O,O,O,O]", json_object_get(o, "totalEmails"),
                               json_object_get(o, "unreadEmails"),
                               json_object_get(o, "totalThreads"),
                               json_object_get(o, "unreadThreads"));
    char *a, *b;

    json_object_del(o, "totalEmails");
    json_object_del(o, "unreadEmails");
    json_object_del(o, "totalThreads");
    json_object_del(o, "unreadThreads");
    a = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    b = json_dumps(counts, JSON_COMPACT);
    *props_r = hash32(a ? a : "");
    *counts_r = hash32(b ? b : "");
    free(a);
    free(b);
    json_decref(o);
    json_decref(counts);
}

struct mline {
    char *id;
    uint32_t props, counts;
};

struct mlines {
    struct mline *v;
    size_t n;
};

static void mlines_fini(struct mlines *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->v[i].id);
    free(m->v);
    m->v = NULL;
    m->n = 0;
}

static int mlines_add(struct mlines *m, const char *id, uint32_t props, uint32_t counts)
{
    struct mline *nv = realloc(m->v, (m->n + 1) * sizeof(*nv));

    if (nv == NULL)
        return CM_ENOMEM;
    m->v = nv;
    m->v[m->n].id = strdup(id);
    if (m->v[m->n].id == NULL)
        return CM_ENOMEM;
    m->v[m->n].props = props;
    m->v[m->n].counts = counts;
    m->n++;
    return 0;
}

static const struct mline *mlines_find(const struct mlines *m, const char *id)
{
    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->v[i].id, id) == 0)
            return &m->v[i];
    }
    return NULL;
}

static int mlines_from_list(const struct ib_folder_list *l, struct mlines *m)
{
    for (size_t i = 0; i < l->count; i++) {
        uint32_t ph, ch;

        folder_hashes(&l->items[i], &ph, &ch);
        if (mlines_add(m, l->items[i].id, ph, ch) < 0)
            return CM_ENOMEM;
    }
    return 0;
}

static int cmp_mline(const void *a, const void *b)
{
    return strcmp(((const struct mline *)a)->id, ((const struct mline *)b)->id);
}

/* Sorted by id, so equal sets always give equal tokens. */
static char *mlines_encode(const unsigned char key[32], struct mlines *m)
{
    struct cm_buf b;
    unsigned char *z = NULL;
    uLongf zlen;
    char *token = NULL;

    if (m->n > 1)
        qsort(m->v, m->n, sizeof(*m->v), cmp_mline);
    cm_buf_init(&b, 1u << 20);
    for (size_t i = 0; i < m->n; i++) {
        if (cm_buf_printf(&b, "%s\t%08x\t%08x\n", m->v[i].id, m->v[i].props, m->v[i].counts) < 0)
            goto done;
    }
    zlen = compressBound(b.len);
    z = malloc(zlen);
    if (z != NULL &&
        compress2(z, &zlen, (const unsigned char *)(b.data ? b.data : ""), b.len, 9) == Z_OK)
        token = cm_token_encode(key, MAILBOX_STATE_KIND, z, zlen);
done:
    free(z);
    cm_buf_fini(&b);
    return token;
}

char *gw_jmap_mailbox_state(const unsigned char key[32], const struct ib_folder_list *l)
{
    struct mlines m = { 0 };
    char *token = mlines_from_list(l, &m) == 0 ? mlines_encode(key, &m) : NULL;

    mlines_fini(&m);
    return token;
}

/* Decode a Mailbox state into its text lines "id\tprops\tcounts\n". */
static char *mailbox_state_text(const unsigned char key[32], const char *state)
{
    unsigned char *payload = NULL;
    size_t plen = 0;
    uLongf tlen = 1u << 20;
    char *text;

    if (cm_token_decode(key, MAILBOX_STATE_KIND, state, &payload, &plen) < 0)
        return NULL;
    text = malloc(tlen + 1);
    if (text != NULL && uncompress((unsigned char *)text, &tlen, payload, plen) != Z_OK) {
        free(text);
        text = NULL;
    }
    if (text != NULL)
        text[tlen] = '\0';
    free(payload);
    return text;
}

static int mlines_decode(const unsigned char key[32], const char *state, struct mlines *m)
{
    char *text = mailbox_state_text(key, state), *line, *save = NULL;
    int rc = 0;

    if (text == NULL)
        return CM_EINVAL;
    for (line = strtok_r(text, "\n", &save); rc == 0 && line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char id[512];
        unsigned int ph, ch;

        if (sscanf(line, "%511[^\t]\t%8x\t%8x", id, &ph, &ch) != 3)
            rc = CM_EINVAL;
        else
            rc = mlines_add(m, id, ph, ch);
    }
    free(text);
    return rc;
}

static json_t *build_list(const struct gw_jget *g, const struct ib_folder_list *l,
                          json_t **not_found_r)
{
    json_t *list = json_array(), *nf = json_array(), *v;
    size_t i;

    if (g->ids == NULL) {
        for (i = 0; i < l->count; i++)
            json_array_append_new(list, gw_jmap_mailbox_json(&l->items[i]));
    } else {
        json_array_foreach(g->ids, i, v) {
            const struct ib_folder *f = ib_folder_find(l, json_string_value(v));

            json_array_append_new(f ? list : nf, f ? gw_jmap_mailbox_json(f) : json_incref(v));
        }
    }
    json_array_foreach(list, i, v)
        gw_jget_filter(g, v);
    *not_found_r = nf;
    return list;
}

json_t *gw_jmap_mailbox_get(struct gw_jcall *c, struct cm_err *err)
{
    struct gw_jget g = GW_JGET_INIT;
    struct ib_folder_list l = { 0 };
    struct ib_session *s;
    json_t *reply = NULL, *list, *nf;
    char *state = NULL;

    if (gw_jget_parse(c, mailbox_props, NPROPS, &g, err) < 0 ||
        gw_jreq_session(c->jr, &s, err) < 0 || ib_mailbox_list(s, &l, err) < 0)
        goto done;
    gw_jmail_map_store(c->jr, &l);
    state = gw_jmap_mailbox_state(c->jr->req->ctx->keys.state_key, &l);
    if (state == NULL) {
        cm_err_set(err, CM_ENOMEM, "cannot encode the mailbox state");
        goto done;
    }
    list = build_list(&g, &l, &nf);
    reply = gw_jget_reply(c, state, list, nf);
done:
    free(state);
    ib_folder_list_fini(&l);
    gw_jget_fini(&g);
    return reply;
}

/* Changes between two line sets, at most max (or all when max < 0). The
   lines of an intermediate state that includes exactly the reported
   changes are built in *mid, so hasMoreChanges can be followed up. */
struct mdiff {
    json_t *created, *updated, *destroyed;
    bool counts_only; /* every update touched only the counts */
    bool more;
};

static int diff_lines(const struct mlines *old, const struct mlines *cur, long long max,
                      struct mlines *mid, struct mdiff *d)
{
    long long used = 0;
    int rc = 0;

    d->counts_only = true;
    for (size_t i = 0; rc == 0 && i < old->n; i++) {
        const struct mline *o = &old->v[i], *now = mlines_find(cur, o->id);
        bool change = now == NULL || now->props != o->props || now->counts != o->counts;

        if (change && max >= 0 && used >= max) {
            d->more = true;
            change = false;
        }
        if (!change) {
            rc = mlines_add(mid, o->id, o->props, o->counts);
            continue;
        }
        used++;
        if (now == NULL) {
            json_array_append_new(d->destroyed, json_string(o->id));
            continue;
        }
        if (now->props != o->props)
            d->counts_only = false;
        json_array_append_new(d->updated, json_string(o->id));
        rc = mlines_add(mid, now->id, now->props, now->counts);
    }
    for (size_t i = 0; rc == 0 && i < cur->n; i++) {
        if (mlines_find(old, cur->v[i].id) != NULL)
            continue;
        if (max >= 0 && used >= max) {
            d->more = true;
            continue;
        }
        used++;
        json_array_append_new(d->created, json_string(cur->v[i].id));
        rc = mlines_add(mid, cur->v[i].id, cur->v[i].props, cur->v[i].counts);
    }
    return rc;
}

json_t *gw_jmap_mailbox_changes(struct gw_jcall *c, struct cm_err *err)
{
    const unsigned char *key = c->jr->req->ctx->keys.state_key;
    struct gw_jchanges ch;
    struct ib_folder_list l = { 0 };
    struct mlines old = { 0 }, cur = { 0 }, mid = { 0 };
    struct mdiff d = { json_array(), json_array(), json_array(), true, false };
    struct ib_session *s;
    char *new_state = NULL;
    json_t *reply = NULL;

    if (gw_jchanges_parse(c, &ch, err) < 0)
        goto done;
    if (mlines_decode(key, ch.since_state, &old) < 0) {
        gw_jcall_fail(c, err, "cannotCalculateChanges", CM_EINVAL,
                      "sinceState is not a Mailbox state of this server");
        goto done;
    }
    if (gw_jreq_session(c->jr, &s, err) < 0 || ib_mailbox_list(s, &l, err) < 0 ||
        mlines_from_list(&l, &cur) < 0 || diff_lines(&old, &cur, ch.max_changes, &mid, &d) < 0)
        goto done;
    new_state = mlines_encode(key, &mid);
    if (new_state == NULL) {
        cm_err_set(err, CM_ENOMEM, "cannot encode the mailbox state");
        goto done;
    }
    reply = gw_jchanges_reply(c, ch.since_state, new_state, d.more, json_incref(d.created),
                              json_incref(d.updated), json_incref(d.destroyed));
    if (reply != NULL)
        json_object_set_new(reply, "updatedProperties",
                            d.counts_only && json_array_size(d.updated) > 0
                                ? json_pack("[ssss]", "totalEmails", "unreadEmails",
                                            "totalThreads", "unreadThreads")
                                : json_null());
done:
    json_decref(d.created);
    json_decref(d.updated);
    json_decref(d.destroyed);
    free(new_state);
    mlines_fini(&old);
    mlines_fini(&cur);
    mlines_fini(&mid);
    ib_folder_list_fini(&l);
    return reply;
}
