/* gw_jthread.c - thread ids that hold together (issue 12 item 3): a reply
 * with In-Reply-To and no References takes the root of the message it
 * names (ib_thread.h). The parents of a batch of messages are looked up in
 * the batch, in the instance's root cache, and else by one UID SEARCH
 * HEADER Message-ID in the batch's folder and one in the Sent folder;
 * what is learnt goes into the cache. */
#include <stdlib.h>
#include <string.h>

#include "gateway/gw_ctx.h"
#include "gateway/gw_req.h"
#include "gateway/jmap/gw_jmail.h"
#include "imapbridge/ib_fetch.h"
#include "imapbridge/ib_header.h"
#include "imapbridge/ib_search.h"
#include "imapbridge/ib_session.h"
#include "imapbridge/ib_thread.h"
#include "imapbridge/ib_uidset.h"

#define MAX_PARENTS 64   /* parents searched for per folder and round */
#define ROUNDS 3         /* grandparents found in a round are looked up in the next */

struct known {
    struct ib_thread_node *v;
    char **owned;        /* every string the nodes point to */
    size_t n, cap, nowned, capowned;
    const char **searched;  /* anchors searched for (borrowed from owned) */
    size_t nsearched, capsearched;
    struct gw_jreq *jr;
};

static void note_searched(struct known *k, const char *const *anchors, size_t n)
{
    if (k->nsearched + n > k->capsearched) {
        size_t cap = 2 * (k->nsearched + n);
        const char **v = realloc(k->searched, cap * sizeof(*v));

        if (v == NULL)
            return;
        k->searched = v;
        k->capsearched = cap;
    }
    for (size_t i = 0; i < n; i++)
        k->searched[k->nsearched++] = anchors[i];
}

static char *keep(struct known *k, char *s)
{
    if (s == NULL)
        return NULL;
    if (k->nowned == k->capowned) {
        size_t cap = k->capowned ? 2 * k->capowned : 64;
        char **o = realloc(k->owned, cap * sizeof(*o));

        if (o == NULL)
            return free(s), NULL;
        k->owned = o;
        k->capowned = cap;
    }
    return k->owned[k->nowned++] = s;
}

static int add_node(struct known *k, char *msgid, char *ref, char *irt)
{
    if (k->n == k->cap) {
        size_t cap = k->cap ? 2 * k->cap : 64;
        struct ib_thread_node *v = realloc(k->v, cap * sizeof(*v));

        if (v == NULL) {
            free(msgid), free(ref), free(irt);
            return CM_ENOMEM;
        }
        k->v = v;
        k->cap = cap;
    }
    k->v[k->n++] = (struct ib_thread_node){ keep(k, msgid), keep(k, ref), keep(k, irt) };
    return 0;
}

static char *first_id(const struct ib_header_list *hl, const char *field)
{
    json_t *ids = ib_header_get_json(hl, field, IB_HF_MESSAGE_IDS, false);
    const char *v = json_string_value(json_array_get(ids, 0));
    char *copy = v != NULL && v[0] != '\0' ? strdup(v) : NULL;

    json_decref(ids);
    return copy;
}

/* The node of a message's parsed header (strings malloc'd into *n). */
static void node_of(const struct ib_header_list *hl, char **msgid, char **ref, char **irt)
{
    *msgid = hl ? first_id(hl, "Message-ID") : NULL;
    *ref = hl ? first_id(hl, "References") : NULL;
    *irt = hl ? first_id(hl, "In-Reply-To") : NULL;
}

static int add_msgs(struct known *k, const struct ib_msg *msgs, size_t n)
{
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct ib_header_list *hl = NULL;
        char *msgid, *ref, *irt;
        struct cm_err err = CM_ERR_INIT;

        if (msgs[i].header == NULL ||
            ib_header_parse(msgs[i].header, msgs[i].header_len, &hl, &err) < 0)
            continue;
        node_of(hl, &msgid, &ref, &irt);
        ib_header_list_free(&hl);
        if (msgid != NULL || irt != NULL)
            rc = add_node(k, msgid, ref, irt);
        else
            free(ref);
    }
    return rc;
}

static const struct ib_thread_node *lookup(const char *msgid, void *ctx)
{
    struct known *k = ctx;

    for (size_t i = 0; i < k->n; i++) {
        if (k->v[i].msgid != NULL && strcmp(k->v[i].msgid, msgid) == 0)
            return &k->v[i];
    }
    return NULL;
}

static bool was_searched(const struct known *k, const char *anchor)
{
    for (size_t i = 0; i < k->nsearched; i++) {
        if (strcmp(k->searched[i], anchor) == 0)
            return true;
    }
    return false;
}

/* Anchors (first References id, else In-Reply-To) that nobody knows; the
   cache answers some (added as nodes whose first_ref is the root). */
static size_t missing_parents(struct known *k, const char **out)
{
    size_t n = 0;

    for (size_t i = 0; i < k->n && n < MAX_PARENTS; i++) {
        const char *p = k->v[i].first_ref ? k->v[i].first_ref : k->v[i].irt;
        char *root;
        bool dup = false;

        if (!ib_thread_needs_parent(&k->v[i]) || lookup(p, k) != NULL || was_searched(k, p))
            continue;
        root = ib_thread_cache_get(k->jr->req->ctx->threads, k->jr->account_id, p);
        if (root != NULL) {
            add_node(k, strdup(p), root, NULL);
            continue;
        }
        for (size_t j = 0; j < n && !dup; j++)
            dup = strcmp(out[j], p) == 0;
        if (!dup)
            out[n++] = p;
    }
    return n;
}

/* UID SEARCH HEADER Message-ID <p>... in the selected folder, and the
   headers of what it finds into k. */
static int search_parents(struct known *k, struct ib_session *s, const char **parents, size_t n,
                          struct cm_err *err)
{
    char **quoted = calloc(n + 1, sizeof(*quoted));
    struct mailimap_search_key *key = NULL;
    uint32_t *uids = NULL;
    size_t nu = 0, nm = 0;
    struct ib_msg *msgs = NULL;
    struct mailimap_set *set = NULL;
    int rc = quoted ? 0 : cm_err_set(err, CM_ENOMEM, "out of memory");

    for (size_t i = 0; rc == 0 && i < n; i++) {
        quoted[i] = malloc(strlen(parents[i]) + 3);
        if (quoted[i] == NULL)
            rc = cm_err_set(err, CM_ENOMEM, "out of memory");
        else
            strcat(strcat(strcpy(quoted[i], "<"), parents[i]), ">");
    }
    if (rc == 0 && (key = ib_search_key_header_values("Message-ID", (const char *const *)quoted,
                                                      n)) == NULL)
        rc = cm_err_set(err, CM_ENOMEM, "out of memory");
    if (rc == 0)
        rc = ib_fetch_search(s, key, false, &uids, &nu, err);
    if (rc == 0 && nu > 0) {
        set = ib_uidset_of(uids, nu);
        rc = set ? ib_fetch_msgs(s, set, IB_FETCH_HEADER_SORT, &msgs, &nm, err) : CM_ENOMEM;
    }
    if (rc == 0)
        rc = add_msgs(k, msgs, nm);
    if (key != NULL)
        ib_search_key_free(key);
    if (set != NULL)
        ib_uidset_free(set);
    ib_msgs_free(msgs, nm);
    free(uids);
    for (size_t i = 0; quoted != NULL && i < n; i++)
        free(quoted[i]);
    free(quoted);
    return rc;
}

static const struct ib_folder *sent_of(const struct ib_folder_list *l)
{
    for (size_t i = 0; i < l->count; i++) {
        if (l->items[i].role && strcmp(l->items[i].role, "sent") == 0 && l->items[i].selectable)
            return &l->items[i];
    }
    return NULL;
}

/* Look the missing parents up in f (selected), then in Sent. */
static int find_parents(struct known *k, struct ib_session *s, const struct ib_folder_list *l,
                        const struct ib_folder *f, struct cm_err *err)
{
    const struct ib_folder *sent = sent_of(l);
    const char *parents[MAX_PARENTS];
    int rc = 0;

    for (int round = 0; rc == 0 && round < ROUNDS; round++) {
        size_t n = missing_parents(k, parents);

        if (n == 0)
            break;
        rc = search_parents(k, s, parents, n, err);
        if (rc == 0 && (sent == NULL || sent == f))
            note_searched(k, parents, n);
        if (rc == 0 && sent != NULL && sent != f && (n = missing_parents(k, parents)) > 0) {
            rc = ib_session_select(s, sent->imap_name, true, NULL, err);
            if (rc == 0)
                rc = search_parents(k, s, parents, n, err);
            if (rc == 0)
                note_searched(k, parents, n);
            if (rc == 0)
                rc = ib_session_select(s, f->imap_name, true, NULL, err);
        }
    }
    return rc;
}

int gw_jthread_learn(struct gw_jreq *jr, struct ib_session *s, const struct ib_folder_list *l,
                     const struct ib_folder *f, const struct ib_msg *msgs, size_t n,
                     struct cm_err *err)
{
    struct known k = { .jr = jr };
    int rc = add_msgs(&k, msgs, n);

    if (rc == 0)
        rc = find_parents(&k, s, l, f, err);
    /* anchors searched for in vain are roots as far as anyone can tell:
       remembered, so the next batch does not search again */
    for (size_t i = 0; rc == 0 && i < k.nsearched; i++) {
        if (lookup(k.searched[i], &k) == NULL)
            ib_thread_cache_put(jr->req->ctx->threads, jr->account_id, k.searched[i],
                                k.searched[i]);
    }
    for (size_t i = 0; rc == 0 && i < k.n; i++) {
        const char *root = k.v[i].msgid ? ib_thread_root(&k.v[i], lookup, &k) : NULL;

        if (root != NULL)
            ib_thread_cache_put(jr->req->ctx->threads, jr->account_id, k.v[i].msgid, root);
    }
    for (size_t i = 0; i < k.nowned; i++)
        free(k.owned[i]);
    free(k.owned);
    free(k.v);
    free(k.searched);
    if (rc < 0 && err->code == CM_OK)
        rc = cm_err_set(err, CM_ENOMEM, "out of memory");
    return rc;
}

char *gw_jthread_root(struct gw_jreq *jr, const struct ib_header_list *hl)
{
    char *msgid, *ref, *irt, *root = NULL;

    node_of(hl, &msgid, &ref, &irt);
    if (ref != NULL || irt != NULL) {
        char **a = ref != NULL ? &ref : &irt;

        root = ib_thread_cache_get(jr->req->ctx->threads, jr->account_id, *a);
        if (root == NULL) {
            root = *a;
            *a = NULL;
        }
    } else {
        root = msgid;
        msgid = NULL;
    }
    free(msgid);
    free(ref);
    free(irt);
    return root;
}

char *gw_jthread_id(struct gw_jreq *jr, const struct ib_header_list *hl, const char *email_id)
{
    char *root = hl ? gw_jthread_root(jr, hl) : NULL, *id;

    if (root != NULL) {
        id = ib_ids_thread(root);
        free(root);
        return id;
    }
    return gw_jmail_thread_id(NULL, email_id);
}

char *gw_jthread_id_with(struct gw_jreq *jr, const struct ib_header_list *hl,
                         const char *email_id, const char *thread_guid)
{
    char *id = NULL;

    if (thread_guid != NULL && jr->session != NULL &&
        IB_CAPS_GMAIL_IDS(ib_session_caps(jr->session)))
        id = ib_ids_thread_server(thread_guid);
    return id != NULL ? id : gw_jthread_id(jr, hl, email_id);
}
