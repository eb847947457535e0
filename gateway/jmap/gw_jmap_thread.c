/* gw_jmap_thread.c - Thread/get (RFC 8621 §3.1). A thread id carries its
 * root Message-ID (ib_ids.h), so the thread is found again by searching
 * every folder for messages whose References, In-Reply-To or Message-ID
 * name that root, then for replies naming those only by In-Reply-To
 * (gw_jthread.c gives them their parent's root), keeping those whose own
 * root is it. An "s" id carries the server's own thread id: THREADID
 * (RFC 8474), whose members are found by UID SEARCH THREADID
 * (gw_jthread_server.c), or on Gmail X-GM-THRID, one UID SEARCH X-GM-THRID
 * in All Mail. */
#include <stdlib.h>
#include <string.h>

#include "gateway/gw_ctx.h"
#include "gateway/jmap/gw_jmail.h"
#include "gateway/jmap/gw_jmap_methods.h"
#include "gateway/jmap/gw_jmap_std.h"
#include "gateway/gw_req.h"
#include "imapbridge/ib_fetch.h"
#include "imapbridge/ib_header.h"
#include "imapbridge/ib_labels.h"
#include "imapbridge/ib_search.h"
#include "imapbridge/ib_session.h"
#include "imapbridge/ib_uidset.h"

static const struct gw_jprop thread_props[] = { { "id", true }, { "emailIds", true } };

struct member {
    int64_t received;
    char id[IB_IDS_EMAIL_MAX + 1];
};

struct members {
    struct member *v;
    size_t n, cap;
};

static int add_member(struct members *m, int64_t received, const char *id)
{
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        struct member *nv = realloc(m->v, cap * sizeof(*nv));

        if (nv == NULL)
            return CM_ENOMEM;
        m->v = nv;
        m->cap = cap;
    }
    m->v[m->n].received = received;
    strcpy(m->v[m->n].id, id);
    m->n++;
    return 0;
}

/* gw_jthread_member_fn onto a struct members. */
static int add_member_cb(void *ctx, int64_t received, const char *email_id)
{
    return add_member(ctx, received, email_id);
}

static struct mailimap_search_key *root_key(const char *root)
{
    static const char *const fields[] = { "Message-ID", "References", "In-Reply-To" };
    char *quoted = malloc(strlen(root) + 3);
    struct mailimap_search_key *k;

    if (quoted == NULL)
        return NULL;
    sprintf(quoted, "<%s>", root);
    k = ib_search_key_header_any(fields, sizeof(fields) / sizeof(fields[0]), quoted);
    free(quoted);
    return k;
}

#define MAX_FRONTIER 64  /* members whose replies are searched for per round */
#define CHILD_ROUNDS 3   /* generations of In-Reply-To-only replies followed */

struct walk {
    uint32_t *seen;      /* UIDs already looked at */
    size_t nseen, cap;
    char *frontier[MAX_FRONTIER]; /* "<msgid>" of members found last round */
    size_t nfrontier;
};

static bool seen_uid(const struct walk *w, uint32_t uid)
{
    for (size_t i = 0; i < w->nseen; i++) {
        if (w->seen[i] == uid)
            return true;
    }
    return false;
}

/* Drop the UIDs already seen from uids (in place); remember the rest. */
static size_t only_new(struct walk *w, uint32_t *uids, size_t n)
{
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        if (seen_uid(w, uids[i]))
            continue;
        if (w->nseen == w->cap) {
            size_t cap = w->cap ? 2 * w->cap : 64;
            uint32_t *v = realloc(w->seen, cap * sizeof(*v));

            if (v == NULL)
                break;
            w->seen = v;
            w->cap = cap;
        }
        w->seen[w->nseen++] = uids[i];
        uids[k++] = uids[i];
    }
    return k;
}

/* Members among msgs (root computed with parents followed); their
   Message-IDs become the next frontier. */
static int take_members(struct gw_jreq *jr, struct ib_session *s, const struct ib_folder *f,
                        const char *root, struct ib_msg *msgs, size_t nm, struct walk *w,
                        struct members *out, struct cm_err *err)
{
    const struct ib_folder_list *l;
    int rc = gw_jmail_folders(jr, &l, err);

    if (rc == 0)
        rc = gw_jthread_learn(jr, s, l, f, msgs, nm, err);
    for (size_t i = 0; i < w->nfrontier; i++)
        free(w->frontier[i]);
    w->nfrontier = 0;
    for (size_t i = 0; rc == 0 && i < nm; i++) {
        struct ib_header_list *hl = NULL;
        char *mine = NULL;
        json_t *own = NULL;

        if (msgs[i].header != NULL &&
            ib_header_parse(msgs[i].header, msgs[i].header_len, &hl, err) == 0) {
            mine = gw_jthread_root(jr, hl);
            own = ib_header_get_json(hl, "Message-ID", IB_HF_MESSAGE_IDS, false);
        }
        cm_err_clear(err);
        if (mine != NULL && strcmp(mine, root) == 0) {
            char id[IB_IDS_EMAIL_MAX + 1];
            const char *m = json_string_value(json_array_get(own, 0));

            gw_jmail_id(jr, f, msgs[i].uid, msgs[i].guid, id);
            rc = add_member(out, msgs[i].internaldate, id) == 0 ? 0
                                                                : cm_err_set(err, CM_ENOMEM, "oom");
            if (m != NULL && w->nfrontier < MAX_FRONTIER &&
                (w->frontier[w->nfrontier] = malloc(strlen(m) + 3)) != NULL)
                strcat(strcat(strcpy(w->frontier[w->nfrontier++], "<"), m), ">");
        }
        json_decref(own);
        free(mine);
        ib_header_list_free(&hl);
    }
    return rc;
}

/* The members of root's thread in folder f: the messages naming root
   (Message-ID, References, In-Reply-To), then, for a few generations,
   the replies naming a member (whose root, with anchors followed, may
   still be root: gw_jthread.c). */
static int folder_members(struct gw_jreq *jr, struct ib_session *s, const struct ib_folder *f,
                          const char *root, struct members *out, struct cm_err *err)
{
    struct mailimap_search_key *key = root_key(root);
    struct walk w = { 0 };
    int rc = key ? ib_session_select(s, f->imap_name, true, NULL, err) : CM_ENOMEM;

    for (int round = 0; rc == 0 && key != NULL && round <= CHILD_ROUNDS; round++) {
        uint32_t *uids = NULL;
        size_t n = 0, nm = 0;
        struct ib_msg *msgs = NULL;
        struct mailimap_set *set = NULL;

        rc = ib_fetch_search(s, key, false, &uids, &n, err);
        ib_search_key_free(key);
        key = NULL;
        n = rc == 0 ? only_new(&w, uids, n) : 0;
        if (n > 0) {
            set = ib_uidset_of(uids, n);
            rc = set ? ib_fetch_msgs(s, set, IB_FETCH_INTERNALDATE | IB_FETCH_HEADER_SORT |
                                                 IB_FETCH_GUID, &msgs, &nm, err)
                     : CM_ENOMEM;
        }
        if (rc == 0 && nm > 0)
            rc = take_members(jr, s, f, root, msgs, nm, &w, out, err);
        if (rc == 0 && nm > 0 && w.nfrontier > 0)
            key = ib_search_key_or(
                ib_search_key_header_values("In-Reply-To", (const char *const *)w.frontier,
                                            w.nfrontier),
                ib_search_key_header_values("References", (const char *const *)w.frontier,
                                            w.nfrontier));
        if (set != NULL)
            ib_uidset_free(set);
        ib_msgs_free(msgs, nm);
        free(uids);
    }
    if (key != NULL)
        ib_search_key_free(key);
    for (size_t i = 0; i < w.nfrontier; i++)
        free(w.frontier[i]);
    free(w.seen);
    return rc;
}

static int by_received(const void *a, const void *b)
{
    const struct member *x = a, *y = b;
    int c = (x->received > y->received) - (x->received < y->received);

    return c != 0 ? c : strcmp(x->id, y->id);
}

/* The emails of a Gmail thread (X-GM-THRID thread_guid): one UID SEARCH
   X-GM-THRID in All Mail, which holds every message outside Trash and
   Spam (those are not listed), and their dates and ids. A thread_guid
   that is no number has none (nothing sent). */
static int gmail_members(struct gw_jreq *jr, struct ib_session *s, const struct ib_folder *all,
                         const char *thread_guid, struct members *out, struct cm_err *err)
{
    struct mailimap_search_key *key = ib_search_key_gm_thread(thread_guid);
    struct ib_msg *msgs = NULL;
    size_t nm = 0;
    int rc = key ? ib_session_select(s, all->imap_name, true, NULL, err) : 0;

    if (rc == 0 && key != NULL)
        rc = ib_fetch_search_msgs(s, key, IB_FETCH_INTERNALDATE | IB_FETCH_GUID, &msgs, &nm, err);
    for (size_t i = 0; rc == 0 && i < nm; i++) {
        char id[IB_IDS_EMAIL_MAX + 1];

        gw_jmail_id(jr, all, msgs[i].uid, msgs[i].guid, id);
        if (add_member(out, msgs[i].internaldate, id) < 0)
            rc = cm_err_set(err, CM_ENOMEM, "out of memory");
    }
    if (key != NULL)
        ib_search_key_free(key);
    ib_msgs_free(msgs, nm);
    return rc;
}

/* The members of thread id: for an "s" id (the server's own thread id)
   one UID SEARCH X-GM-THRID in All Mail on Gmail, else UID SEARCH THREADID
   over the folders; for a "t" id (root Message-ID) by searching every
   folder. An id of neither kind has none. */
static int thread_members(struct gw_jcall *c, const struct ib_folder_list *l, const char *id,
                          struct members *m, struct cm_err *err)
{
    char *root = ib_ids_thread_root(id), *thrid = ib_ids_thread_server_parse(id);
    const struct ib_folder *all = ib_labels_all_mail(l);
    struct ib_session *s = NULL;
    int rc = root || thrid ? gw_jreq_session(c->jr, &s, err) : 0;

    if (rc == 0 && thrid != NULL && IB_CAPS_GMAIL_IDS(ib_session_caps(s))) {
        if (all != NULL)
            rc = gmail_members(c->jr, s, all, thrid, m, err);
    } else if (rc == 0 && thrid != NULL) {
        rc = gw_jthread_server_members(c->jr, l, id, add_member_cb, m, err);
    }
    for (size_t i = 0; rc == 0 && root != NULL && i < l->count; i++) {
        if (l->items[i].selectable && l->items[i].has_status && l->items[i].total > 0)
            rc = folder_members(c->jr, s, &l->items[i], root, m, err);
    }
    free(root);
    free(thrid);
    return rc;
}

/* The thread object for id, or NULL (not found). */
static int thread_json(struct gw_jcall *c, const struct ib_folder_list *l, const char *id,
                       json_t **obj_r, struct cm_err *err)
{
    struct members m = { 0 };
    json_t *ids;
    int rc = 0;

    *obj_r = NULL;
    if (id[0] == 'x') { /* a message without Message-ID: a thread of one */
        const char *email_id = id + 1;
        struct gw_jmail_where w;

        rc = gw_jmail_locate(c->jr, l, &email_id, 1, true, &w, err);
        if (rc == 0 && w.f != NULL)
            *obj_r = json_pack("{s:s,s:[s]}", "id", id, "emailIds", email_id);
        return rc;
    }
    rc = thread_members(c, l, id, &m, err);
    if (rc == 0 && m.n > 0) {
        qsort(m.v, m.n, sizeof(*m.v), by_received);
        ids = json_array();
        for (size_t i = 0; i < m.n; i++)
            json_array_append_new(ids, json_string(m.v[i].id));
        *obj_r = json_pack("{s:s,s:o}", "id", id, "emailIds", ids);
    }
    free(m.v);
    return rc;
}

json_t *gw_jmap_thread_get(struct gw_jcall *c, struct cm_err *err)
{
    struct gw_jget g = GW_JGET_INIT;
    const struct ib_folder_list *l;
    json_t *list = json_array(), *nf = json_array(), *v, *reply = NULL;
    char *state = NULL;
    size_t i;

    if (gw_jget_parse(c, thread_props, 2, &g, err) < 0)
        goto done;
    if (gw_jget_require_ids(c, &g, err) < 0)
        goto done;
    if (gw_jmail_folders(c->jr, &l, err) < 0)
        goto done;
    json_array_foreach(g.ids, i, v) {
        json_t *obj = NULL;

        if (thread_json(c, l, json_string_value(v), &obj, err) < 0)
            goto done;
        if (obj != NULL)
            gw_jget_filter(&g, obj);
        json_array_append_new(obj ? list : nf, obj ? obj : json_incref(v));
    }
    state = gw_jmail_state(c->jr, l);
    reply = gw_jget_reply(c, state ? state : "", list, nf);
    list = nf = NULL;
done:
    json_decref(list);
    json_decref(nf);
    free(state);
    gw_jget_fini(&g);
    return reply;
}

/* Thread id of one email, and whether the email starts its thread (it
   refers to no other message). */
static int thread_of(struct gw_jcall *c, const struct ib_folder_list *l, const char *email_id,
                     char **tid_r, bool *starts_r, struct cm_err *err)
{
    struct gw_jmail_where w = { 0 };
    struct mailimap_set *set = NULL;
    struct ib_msg *m = NULL;
    struct ib_header_list *hl = NULL;
    struct ib_session *s;
    size_t nm = 0;
    int rc;

    *tid_r = NULL;
    rc = gw_jmail_locate(c->jr, l, &email_id, 1, true, &w, err);
    if (rc < 0 || w.f == NULL)
        return rc; /* gone again meanwhile */
    rc = gw_jreq_session(c->jr, &s, err);
    if (rc == 0)
        rc = ib_session_select(s, w.f->imap_name, true, NULL, err);
    if (rc == 0 && (set = ib_uidset_single(w.uid)) != NULL)
        rc = ib_fetch_msgs(s, set, IB_FETCH_HEADER_SORT | gw_jthread_fetch_want(ib_session_caps(s)),
                           &m, &nm, err);
    if (rc == 0 && nm == 1) {
        const struct ib_folder_list *fl;

        rc = gw_jmail_folders(c->jr, &fl, err);
        if (rc == 0)
            rc = gw_jthread_learn(c->jr, s, fl, w.f, m, nm, err);
    }
    if (rc == 0 && nm == 1 && m[0].header != NULL &&
        ib_header_parse(m[0].header, m[0].header_len, &hl, err) == 0) {
        json_t *refs = ib_header_get_json(hl, "References", IB_HF_MESSAGE_IDS, false);
        json_t *irt = ib_header_get_json(hl, "In-Reply-To", IB_HF_MESSAGE_IDS, false);

        *starts_r = json_array_size(refs) == 0 && json_array_size(irt) == 0;
        *tid_r = gw_jthread_id_of(c->jr, &m[0], hl, email_id);
        json_decref(refs);
        json_decref(irt);
    }
    ib_header_list_free(&hl);
    ib_msgs_free(m, nm);
    if (set != NULL)
        ib_uidset_free(set);
    return rc;
}

static void add_unique(json_t *list, const char *id)
{
    size_t i;
    json_t *v;

    json_array_foreach(list, i, v) {
        if (strcmp(json_string_value(v), id) == 0)
            return;
    }
    json_array_append_new(list, json_string(id));
}

/* Thread/changes from the Email delta: threads of created emails that
   start a thread are created, every other touched thread is updated. An
   expunge cannot be mapped to its thread (the message is gone), so then the
   answer is cannotCalculateChanges. */
json_t *gw_jmap_thread_changes(struct gw_jcall *c, struct cm_err *err)
{
    struct gw_jmail_delta d;
    const struct ib_folder_list *l;
    json_t *created = json_array(), *updated = json_array(), *reply = NULL, *lists[2], *v;
    int rc = gw_jmail_changes(c, &d, err);
    size_t i;

    if (rc == 0 && json_array_size(d.destroyed) > 0) {
        rc = gw_jcall_fail(c, err, "cannotCalculateChanges", CM_EINVAL,
                           "emails were expunged: their threads cannot be told");
    }
    if (rc == 0)
        rc = gw_jmail_folders(c->jr, &l, err);
    lists[0] = d.created;
    lists[1] = d.updated;
    for (int k = 0; rc == 0 && k < 2; k++) {
        json_array_foreach(lists[k], i, v) {
            char *tid = NULL;
            bool starts = false;

            rc = thread_of(c, l, json_string_value(v), &tid, &starts, err);
            if (rc == 0 && tid != NULL)
                add_unique(k == 0 && starts ? created : updated, tid);
            free(tid);
            if (rc < 0)
                break;
        }
    }
    for (i = 0; rc == 0 && i < json_array_size(created); i++) {
        const char *t = json_string_value(json_array_get(created, i));

        for (size_t j = 0; j < json_array_size(updated); j++) {
            if (strcmp(json_string_value(json_array_get(updated, j)), t) == 0) {
                json_array_remove(updated, j);
                break;
            }
        }
    }
    if (rc == 0)
        reply = gw_jchanges_reply(c, d.old_state, d.new_state, d.more, json_incref(created),
                                  json_incref(updated), json_array());
    json_decref(created);
    json_decref(updated);
    gw_jmail_delta_fini(&d);
    return reply;
}
