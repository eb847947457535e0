/* gw_jmap_email_query.c - Email/query (RFC 8621 §4.4): the filter becomes
 * one IMAP SEARCH per folder it can match in (ib_search), results from
 * every folder are merged and sorted here (ib_sort), then windowed. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/cm_log.h"
#include "common/cm_time.h"
#include "gateway/gw_ctx.h"
#include "gateway/jmap/gw_jmail.h"
#include "gateway/jmap/gw_jmap_methods.h"
#include "gateway/jmap/gw_jmap_std.h"
#include "gateway/gw_req.h"
#include "imapbridge/ib_body.h"
#include "imapbridge/ib_fetch.h"
#include "imapbridge/ib_foldermap.h"
#include "imapbridge/ib_header.h"
#include "imapbridge/ib_listsort.h"
#include "imapbridge/ib_search.h"
#include "imapbridge/ib_session.h"
#include "imapbridge/ib_text.h"
#include "imapbridge/ib_uidset.h"

#define MAX_HITS 200000

struct hit {
    uint32_t folder;       /* index in the folder list */
    uint32_t uid;
    struct ib_sort_item item;
    char *from, *to, *subject, *thread;
    char *thread_id;       /* its threadId, when a thread sort needs it */
    char *guid;            /* the message's GUID, when fetched */
    char **keywords;
    size_t nkeywords;
};

struct equery {
    struct gw_jcall *c;
    struct gw_jquery q;
    struct ib_sort_plan plan;
    bool collapse;
    bool unsupported;      /* set by the resolver */
    bool cached;           /* l is the folder map's copy: no counts, no resolver */
    bool windowed;         /* the server cut the window: hits are only it,
                              from q.position on, with their GUIDs */
    json_t *thread_sets;   /* cache: "+kw" / "-kw" -> {threadId: true} */
    const struct ib_folder_list *l;
    struct ib_session *s;
    struct hit *hits;
    size_t nhits, cap;
};

static void hits_free(struct equery *eq)
{
    for (size_t i = 0; i < eq->nhits; i++) {
        struct hit *h = &eq->hits[i];

        free(h->from);
        free(h->to);
        free(h->subject);
        free(h->thread);
        free(h->thread_id);
        free(h->guid);
        for (size_t k = 0; k < h->nkeywords; k++)
            free(h->keywords[k]);
        free(h->keywords);
    }
    free(eq->hits);
}

/* ---- the resolver: conditions IMAP SEARCH cannot answer exactly ---- */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

/* UIDs of f whose fetched data passes keep(). A coarse SEARCH key (may be
   NULL = ALL) narrows what is fetched first. */
static int filter_uids(struct equery *eq, const struct ib_folder *f,
                       struct mailimap_search_key *coarse, unsigned int want,
                       bool (*keep)(const struct ib_msg *, const void *), const void *arg,
                       struct mailimap_set **set_r, struct cm_err *err)
{
    uint32_t *uids = NULL, *kept = NULL;
    size_t n = 0, nm = 0, nk = 0;
    struct ib_msg *msgs = NULL;
    struct mailimap_set *set = NULL;
    int rc = ib_session_select(eq->s, f->imap_name, true, NULL, err);

    if (rc == 0)
        rc = ib_fetch_search(eq->s, coarse, false, &uids, &n, err);
    if (rc == 0 && n > 0) {
        set = ib_uidset_of(uids, n);
        rc = set ? ib_fetch_msgs(eq->s, set, want, &msgs, &nm, err) : CM_ENOMEM;
        ib_uidset_free(set);
    }
    kept = calloc(nm + 1, sizeof(*kept));
    for (size_t i = 0; rc == 0 && kept != NULL && i < nm; i++) {
        if (keep(&msgs[i], arg))
            kept[nk++] = msgs[i].uid;
    }
    if (rc == 0)
        *set_r = nk > 0 ? ib_uidset_of(kept, nk) : NULL;
    ib_msgs_free(msgs, nm);
    free(uids);
    free(kept);
    return rc;
}

struct date_test {
    time_t t;
    bool before;
};

static bool keep_date(const struct ib_msg *m, const void *arg)
{
    const struct date_test *d = arg;

    return d->before ? m->internaldate < d->t : m->internaldate >= d->t;
}

static bool keep_attachment(const struct ib_msg *m, const void *arg)
{
    return ib_body_has_attachment(m->body) == *(const bool *)arg;
}

/* The threadId of message m of f (hl: its parsed header, or NULL); one
   rule for the thread-keyword filters and sorts. malloc'd, or NULL. */
static char *thread_id_of(struct equery *eq, const struct ib_folder *f, const struct ib_msg *m,
                          const struct ib_header_list *hl)
{
    char id[IB_IDS_EMAIL_MAX + 1];

    gw_jmail_id(eq->c->jr, f, m->uid, m->guid, id);
    return gw_jthread_id_of(eq->c->jr, m, hl, id);
}

/* Thread ids of the messages of f (all of them, or those matching key),
   into out as {threadId: [uid, ...]}. */
static int folder_threads(struct equery *eq, const struct ib_folder *f,
                          struct mailimap_search_key *key, json_t *out, struct cm_err *err)
{
    uint32_t *uids = NULL;
    size_t n = 0, nm = 0;
    struct ib_msg *msgs = NULL;
    struct mailimap_set *set = NULL;
    int rc = ib_session_select(eq->s, f->imap_name, true, NULL, err);

    if (rc == 0)
        rc = ib_fetch_search(eq->s, key, false, &uids, &n, err);
    if (rc == 0 && n > 0) {
        set = ib_uidset_of(uids, n);
        rc = set ? ib_fetch_msgs(eq->s, set, IB_FETCH_HEADER_SORT | IB_FETCH_GUID, &msgs, &nm, err)
                 : CM_ENOMEM;
    }
    if (rc == 0)
        rc = gw_jthread_learn(eq->c->jr, eq->s, eq->l, f, msgs, nm, err);
    for (size_t i = 0; rc == 0 && i < nm; i++) {
        struct ib_header_list *hl = NULL;
        char *tid;

        if (msgs[i].header != NULL &&
            ib_header_parse(msgs[i].header, msgs[i].header_len, &hl, err) < 0)
            hl = NULL;
        tid = thread_id_of(eq, f, &msgs[i], hl);
        if (tid != NULL && json_object_get(out, tid) == NULL)
            json_object_set_new(out, tid, json_array());
        if (tid != NULL)
            json_array_append_new(json_object_get(out, tid), json_integer(msgs[i].uid));
        free(tid);
        ib_header_list_free(&hl);
    }
    cm_err_clear(err);
    if (set != NULL)
        ib_uidset_free(set);
    ib_msgs_free(msgs, nm);
    free(uids);
    return rc;
}

/* {threadId: true} of every message in the account that has (with) or
   lacks (!with) keyword, computed once per query. Borrowed from eq. */
static int keyword_threads(struct equery *eq, const char *keyword, bool with, json_t **set_r,
                           struct cm_err *err)
{
    char name[300];
    json_t *set, *cond;
    int rc = 0;

    snprintf(name, sizeof(name), "%c%s", with ? '+' : '-', keyword);
    if (eq->thread_sets == NULL)
        eq->thread_sets = json_object();
    set = json_object_get(eq->thread_sets, name);
    if (set != NULL) {
        *set_r = set;
        return 0;
    }
    set = json_object();
    cond = json_pack("{s:s}", with ? "hasKeyword" : "notKeyword", keyword);
    for (size_t i = 0; rc == 0 && i < eq->l->count; i++) {
        const struct ib_folder *f = &eq->l->items[i];
        struct mailimap_search_key *key = NULL;
        bool never = false;

        if (!f->selectable || !f->has_status || f->total == 0)
            continue;
        rc = ib_search_key_for_mailbox(cond, f->id, NULL, &key, &never, NULL, err);
        if (rc == 0 && !never)
            rc = folder_threads(eq, f, key, set, err);
        if (key != NULL)
            ib_search_key_free(key);
    }
    json_decref(cond);
    json_object_set_new(eq->thread_sets, name, set);
    *set_r = set;
    return rc;
}

/* UIDs of f whose thread (across every folder) has some / all / none of
   its messages with keyword. */
static int thread_keyword_uids(struct equery *eq, const struct ib_folder *f, const char *prop,
                               const char *keyword, struct mailimap_set **set_r,
                               struct cm_err *err)
{
    bool all = strncmp(prop, "all", 3) == 0, none = strncmp(prop, "none", 4) == 0;
    json_t *ref = NULL, *mine = json_object(), *uids, *u;
    uint32_t *kept = NULL;
    const char *tid;
    size_t nk = 0, k;
    int rc = keyword_threads(eq, keyword, !all, &ref, err);

    if (rc == 0)
        rc = folder_threads(eq, f, NULL, mine, err);
    kept = calloc(f->total + 1, sizeof(*kept));
    json_object_foreach(mine, tid, uids) {
        bool in_ref = json_object_get(ref, tid) != NULL;

        /* some: a message of the thread has it; none: no message has it;
           all: no message of the thread lacks it */
        if (kept == NULL || !(all || none ? !in_ref : in_ref))
            continue;
        json_array_foreach(uids, k, u) {
            if (nk < (size_t)f->total + 1)
                kept[nk++] = (uint32_t)json_integer_value(u);
        }
    }
    if (rc == 0 && kept == NULL)
        rc = cm_err_set(err, CM_ENOMEM, "out of memory");
    if (rc == 0 && nk > 0) {
        qsort(kept, nk, sizeof(*kept), cmp_u32);
        *set_r = ib_uidset_of(kept, nk);
    }
    free(kept);
    json_decref(mine);
    return rc;
}

static int resolve_uids(void *arg, const char *mailbox_id, const char *prop, json_t *value,
                        struct mailimap_set **set_r, struct cm_err *err)
{
    struct equery *eq = arg;
    const struct ib_folder *f = ib_folder_find(eq->l, mailbox_id);

    *set_r = NULL;
    if (f == NULL)
        return 0;
    if (strcmp(prop, "before") == 0 || strcmp(prop, "after") == 0) {
        struct date_test d = { 0, prop[0] == 'b' };
        struct mailimap_search_key *coarse;
        int rc;

        if (cm_time_parse_utcdate(json_string_value(value), &d.t) < 0)
            return cm_err_set(err, CM_EINVAL, "%s must be a UTCDate", prop);
        /* IMAP dates are whole days: widen by a day, then test exactly. */
        coarse = ib_search_key_day(d.before, d.before ? d.t + 86400 : d.t - 86400);
        rc = filter_uids(eq, f, coarse, IB_FETCH_INTERNALDATE, keep_date, &d, set_r, err);
        ib_search_key_free(coarse);
        return rc;
    }
    if (strcmp(prop, "hasAttachment") == 0) {
        bool want = json_is_true(value);

        return filter_uids(eq, f, NULL, IB_FETCH_BODYSTRUCTURE, keep_attachment, &want, set_r,
                           err);
    }
    if (strstr(prop, "InThreadHaveKeyword") != NULL)
        return thread_keyword_uids(eq, f, prop, json_string_value(value), set_r, err);
    eq->unsupported = true;
    return cm_err_set(err, CM_EINVAL, "%s is not supported", prop);
}

/* ---- searching every folder ---- */

/* Does the filter name a mailbox anywhere (inMailbox, inMailboxOtherThan)? */
static bool mentions_mailbox(json_t *f, int depth)
{
    json_t *c;
    size_t i;

    if (!json_is_object(f) || depth > IB_SEARCH_MAX_DEPTH)
        return false;
    if (json_object_get(f, "inMailbox") || json_object_get(f, "inMailboxOtherThan"))
        return true;
    json_array_foreach(json_object_get(f, "conditions"), i, c) {
        if (mentions_mailbox(c, depth + 1))
            return true;
    }
    return false;
}

/* On Gmail-like servers every message is also in the "all" folder (All
   Mail): a query that names no mailbox searches only that one, so each
   message is found once. Returns its index, or -1. */
static int all_mail_folder(const struct equery *eq)
{
    if (mentions_mailbox(eq->q.filter, 0))
        return -1;
    for (size_t i = 0; i < eq->l->count; i++) {
        const char *role = eq->l->items[i].role;

        if (role != NULL && strcmp(role, "all") == 0 && eq->l->items[i].selectable)
            return (int)i;
    }
    return -1;
}

static int add_hits(struct equery *eq, uint32_t folder, const uint32_t *uids, size_t n,
                    struct cm_err *err)
{
    if (eq->nhits + n > MAX_HITS) {
        return gw_jcall_fail(eq->c, err, "tooManyResults", CM_ELIMIT,
                             "more than %d results; narrow the filter", MAX_HITS);
    }
    if (eq->nhits + n > eq->cap) {
        size_t cap = (eq->nhits + n) * 2;
        struct hit *nh = realloc(eq->hits, cap * sizeof(*nh));

        if (nh == NULL)
            return cm_err_set(err, CM_ENOMEM, "out of memory");
        eq->hits = nh;
        eq->cap = cap;
    }
    for (size_t i = 0; i < n; i++) {
        struct hit *h = &eq->hits[eq->nhits++];

        memset(h, 0, sizeof(*h));
        h->folder = folder;
        h->uid = uids[i];
    }
    return 0;
}

/* The search key of folder idx; *skip_r when nothing there can match. */
static int folder_key(struct equery *eq, uint32_t idx, struct mailimap_search_key **key_r,
                      bool *skip_r, struct cm_err *err)
{
    const struct ib_folder *f = &eq->l->items[idx];
    struct ib_search_resolver res = { resolve_uids, eq };
    bool unsupported = false;
    int rc;

    *key_r = NULL;
    *skip_r = true;
    if (!f->selectable || (!eq->cached && (!f->has_status || f->total == 0)))
        return 0;
    /* the resolver does I/O on listed folders: not on the map's copy */
    rc = ib_search_key_for_mailbox(eq->q.filter, f->id, eq->cached ? NULL : &res, key_r, skip_r,
                                   &unsupported, err);
    if (unsupported)
        eq->unsupported = true;
    return rc;
}

/* SEARCH (or, when sorted is set, server-side UID SORT) in folder idx. */
static int search_folder(struct equery *eq, uint32_t idx, struct mailimap_search_key *key,
                         bool sorted, struct cm_err *err)
{
    const struct ib_folder *f = &eq->l->items[idx];
    bool utf8 = ib_search_needs_utf8(key);
    uint32_t *uids = NULL;
    size_t n = 0;
    int rc = ib_session_select(eq->s, f->imap_name, true, NULL, err);

    if (rc == 0 && sorted)
        rc = ib_fetch_sort(eq->s, eq->plan.server_key, key, utf8, &uids, &n, err);
    else if (rc == 0)
        rc = ib_fetch_search(eq->s, key, utf8, &uids, &n, err);
    if (rc == 0)
        rc = add_hits(eq, idx, uids, n, err);
    free(uids);
    return rc;
}

/* Every folder's key (keys[i], skip[i]) over eq->l as the classic search
   takes them; *active_r: how many folders can match. keys, skip: arrays
   of eq->l->count entries; free the keys with free_keys. */
static int pick_folders(struct equery *eq, int all_mail, struct mailimap_search_key **keys,
                        bool *skip, size_t *active_r, struct cm_err *err)
{
    int rc = 0;

    *active_r = 0;
    for (uint32_t i = 0; rc == 0 && i < eq->l->count; i++) {
        skip[i] = true;
        if (all_mail < 0 || i == (uint32_t)all_mail)
            rc = folder_key(eq, i, &keys[i], &skip[i], err);
        *active_r += rc == 0 && !skip[i];
    }
    return rc;
}

static void free_keys(struct mailimap_search_key **keys, size_t n)
{
    for (size_t i = 0; keys != NULL && i < n; i++) {
        if (keys[i] != NULL)
            ib_search_key_free(keys[i]);
    }
    free(keys);
}

/* Every folder's key first, so a query that can match in one folder only
   is answered by the server's SORT there (no fetch, no sort here). */
static int search_all(struct equery *eq, int all_mail, bool *sorted_r, struct cm_err *err)
{
    struct mailimap_search_key **keys = calloc(eq->l->count + 1, sizeof(*keys));
    bool *skip = calloc(eq->l->count + 1, sizeof(*skip));
    size_t active = 0;
    int rc = keys && skip ? 0 : cm_err_set(err, CM_ENOMEM, "out of memory");

    if (rc == 0)
        rc = pick_folders(eq, all_mail, keys, skip, &active, err);
    *sorted_r = rc == 0 && active == 1 && eq->plan.server_key != NULL && !eq->collapse;
    for (uint32_t i = 0; rc == 0 && i < eq->l->count; i++) {
        if (!skip[i])
            rc = search_folder(eq, i, keys[i], *sorted_r, err);
    }
    free_keys(keys, eq->l->count);
    free(skip);
    return rc;
}

/* ---- one round trip with the folder map ---- */

/* The one folder of eq->l the query can match in, with its key (new, or
   NULL for ALL): *idx_r, or -1 when none or several can. total == 0
   skips a folder only when counts say so (the cached map has none). */
static int single_folder(struct equery *eq, long *idx_r, struct mailimap_search_key **key_r,
                         struct cm_err *err)
{
    size_t n = eq->l->count, active = 0;
    struct mailimap_search_key **keys = calloc(n + 1, sizeof(*keys));
    bool *skip = calloc(n + 1, sizeof(*skip));
    int rc = keys && skip ? 0 : cm_err_set(err, CM_ENOMEM, "out of memory");

    *idx_r = -1;
    *key_r = NULL;
    if (rc == 0)
        rc = pick_folders(eq, all_mail_folder(eq), keys, skip, &active, err);
    for (size_t i = 0; rc == 0 && active == 1 && i < n; i++) {
        if (!skip[i]) {
            *idx_r = (long)i;
            *key_r = keys[i];
            keys[i] = NULL;
        }
    }
    free_keys(keys, n);
    free(skip);
    return rc;
}

/* Does the fresh listing (eq->l) lead the classic search to the same one
   folder as the cached map did (same id, same wire name)? *empty_r: the
   classic search would find that folder empty and search nothing. */
static bool fresh_agrees(struct equery *eq, const struct ib_folder *cached, long *idx_r,
                         bool *empty_r)
{
    struct mailimap_search_key *key = NULL;
    struct cm_err err = CM_ERR_INIT;
    const struct ib_folder *f;
    long idx = -1;

    *empty_r = false;
    if (!ib_foldermap_confirms(cached, eq->l) || single_folder(eq, &idx, &key, &err) < 0)
        return false;
    if (key != NULL)
        ib_search_key_free(key);
    f = ib_folder_find(eq->l, cached->id);
    *idx_r = f != NULL ? (long)(f - eq->l->items) : -1;
    if (idx >= 0)
        return idx == *idx_r;
    /* no active folder: fine only when ours is skipped for being empty */
    *empty_r = f != NULL && f->has_status && f->total == 0;
    return *empty_r;
}

/* The server's answer, for folder idx, into hits: the whole sorted
   answer, or only the window (with its GUIDs). A window that came back
   empty past position 0 is not used: only the whole answer tells where
   the results end (the position to report). */
static int take_sorted(struct equery *eq, uint32_t idx, struct ib_listsort *ls, bool window,
                       bool *done_r, struct cm_err *err)
{
    size_t base = eq->nhits;
    int rc;

    if (window && ls->n == 0 && eq->q.position > 0)
        return 0;
    *done_r = true;
    eq->windowed = window;
    rc = add_hits(eq, idx, ls->uids, ls->n, err);
    for (size_t i = 0; rc == 0 && window && i < ls->n; i++) {
        eq->hits[base + i].guid = ls->guids[i];
        ls->guids[i] = NULL;
    }
    return rc;
}

/* SORT in the cached folder behind a listing (ib_listsort): only the
   query's window and its GUIDs when the server can cut it (one round trip
   instead of two: no UID FETCH of the GUIDs afterwards), else everything. */
static int listsort(struct equery *eq, const char *imap_name, struct mailimap_search_key *key,
                    struct ib_listsort *ls, bool *window_r, struct cm_err *err)
{
    uint32_t first, count;

    *window_r = ib_listsort_window_supported(eq->s) &&
                gw_jquery_server_window(&eq->q, &first, &count);
    if (*window_r)
        return ib_listsort_window(eq->s, imap_name, eq->plan.server_key, key, first, count, ls,
                                  err);
    return ib_listsort_run(eq->s, imap_name, eq->plan.server_key, key, ls, err);
}

/* With the folder map: when the cached folders say the filter can match
   in one folder only and the server sorts, list every folder and sort
   that one in a single round trip (ib_listsort). The listing answers in
   the same write and must confirm the cache, else the SORT answer is
   thrown away. *done_r false: go the classic way (the listing, when one
   came, is the request's already). */
static int query_pipelined(struct equery *eq, bool *done_r, struct cm_err *err)
{
    struct ib_folder_list cached = { 0 };
    struct ib_listsort ls = { 0 };
    struct mailimap_search_key *key = NULL;
    struct cm_err quiet = CM_ERR_INIT;
    long idx = -1, fresh = -1;
    bool empty = false, window = false;
    int rc = 0;

    *done_r = false;
    if (eq->c->jr->folders_loaded || eq->plan.server_key == NULL || eq->collapse ||
        gw_jmail_map_get(eq->c->jr, &cached) < 0)
        return 0;
    eq->l = &cached;
    eq->cached = true;
    rc = single_folder(eq, &idx, &key, &quiet);
    eq->cached = false;
    eq->unsupported = false; /* the classic way decides that */
    if (rc < 0) { /* e.g. a condition only the resolver answers */
        rc = 0;
        idx = -1;
    }
    if (rc == 0 && idx >= 0 && !ib_search_needs_utf8(key)) {
        rc = listsort(eq, cached.items[idx].imap_name, key, &ls, &window, &quiet);
        if (rc < 0 || !ls.ran)
            cm_debug("", "Email/query: pipelined listing not used: rc=%d %s", rc, quiet.msg);
        if (rc < 0 && !ib_session_is_broken(eq->s))
            rc = 0; /* nothing usable: the classic way */
        else if (rc < 0)
            cm_err_set(err, quiet.code, "%s", quiet.msg);
    }
    if (ls.ran) {
        gw_jmail_adopt_folders(eq->c->jr, &ls.folders);
        eq->l = &eq->c->jr->folders;
        if (fresh_agrees(eq, &cached.items[idx], &fresh, &empty)) {
            *done_r = empty;
            rc = empty ? 0 : take_sorted(eq, (uint32_t)fresh, &ls, window, done_r, err);
        }
    }
    eq->l = NULL;
    if (key != NULL)
        ib_search_key_free(key);
    ib_listsort_fini(&ls);
    ib_folder_list_fini(&cached);
    return rc;
}

/* ---- sort keys ---- */

static char *lower_dup(const char *s)
{
    char *d = strdup(s ? s : "");

    for (char *p = d; p != NULL && *p != '\0'; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return d;
}

/* First address's display name, else its email. */
static char *first_address(const struct ib_header_list *hl, const char *name)
{
    json_t *a = ib_header_get_json(hl, name, IB_HF_ADDRESSES, false), *first;
    const char *v = NULL;
    char *out;

    first = json_array_get(a, 0);
    v = json_string_value(json_object_get(first, "name"));
    if (v == NULL || v[0] == '\0')
        v = json_string_value(json_object_get(first, "email"));
    out = lower_dup(v);
    json_decref(a);
    return out;
}

/* The sort fields of h from m's parsed header hl (NULL: none). */
static void fill_from_header(struct equery *eq, struct hit *h, const struct ib_msg *m,
                             const struct ib_header_list *hl)
{
    json_t *subj, *date;
    char *base;

    if (hl == NULL)
        return;
    h->from = first_address(hl, "From");
    h->to = first_address(hl, "To");
    subj = ib_header_get_json(hl, "Subject", IB_HF_TEXT, false);
    base = ib_sort_base_subject(json_string_value(subj));
    h->subject = lower_dup(base);
    free(base);
    json_decref(subj);
    date = ib_header_get_json(hl, "Date", IB_HF_DATE, false);
    if (json_is_string(date)) {
        struct tm tm = { 0 };
        const char *d = json_string_value(date);

        /* "2024-05-01T12:00:00+02:00" */
        if (strptime(d, "%Y-%m-%dT%H:%M:%S", &tm) != NULL && strlen(d) >= 25) {
            int sign = d[19] == '-' ? -1 : 1;
            long off = sign * ((d[20] - '0') * 36000L + (d[21] - '0') * 3600L +
                               (d[23] - '0') * 600L + (d[24] - '0') * 60L);

            h->item.sent_at = (int64_t)(timegm(&tm) - off);
        }
    }
    json_decref(date);
    h->thread = gw_jthread_key_of(eq->c->jr, m, hl);
}

static bool plan_needs(const struct ib_sort_plan *plan, enum ib_sort_field f)
{
    for (size_t i = 0; i < plan->n_crit; i++) {
        if (plan->crit[i].field == f)
            return true;
    }
    return false;
}

/* Does the plan sort by someInThreadHaveKeyword / allInThreadHaveKeyword? */
static bool thread_sorted(const struct ib_sort_plan *p)
{
    return plan_needs(p, IB_SORT_SOME_IN_THREAD) || plan_needs(p, IB_SORT_ALL_IN_THREAD);
}

static unsigned int fetch_for_sort(const struct equery *eq)
{
    const struct ib_sort_plan *p = &eq->plan;
    unsigned int want = IB_FETCH_INTERNALDATE | IB_FETCH_GUID;

    if (thread_sorted(p)) /* the threadId, as folder_threads finds it */
        want |= IB_FETCH_HEADER_SORT;
    if (plan_needs(p, IB_SORT_SIZE))
        want |= IB_FETCH_SIZE;
    if (plan_needs(p, IB_SORT_HAS_KEYWORD))
        want |= IB_FETCH_FLAGS;
    if (eq->collapse || plan_needs(p, IB_SORT_SENT_AT) || plan_needs(p, IB_SORT_FROM) ||
        plan_needs(p, IB_SORT_TO) || plan_needs(p, IB_SORT_SUBJECT))
        want |= IB_FETCH_HEADER_SORT;
    return want;
}

static void fill_hit(struct equery *eq, struct hit *h, const struct ib_msg *m)
{
    struct ib_header_list *hl = NULL;
    struct cm_err err = CM_ERR_INIT;

    h->item.uid = h->uid;
    h->item.mailbox_index = h->folder;
    h->item.received_at = m->internaldate;
    h->item.sent_at = m->internaldate;
    h->item.size = m->size;
    if (m->guid != NULL && h->guid == NULL)
        h->guid = strdup(m->guid);
    if (m->header != NULL && ib_header_parse(m->header, m->header_len, &hl, &err) < 0)
        hl = NULL;
    fill_from_header(eq, h, m, hl);
    if (m->nflags > 0) {
        json_t *kw = gw_jmail_keywords(m->flags, m->nflags);
        const char *k;
        json_t *v;

        h->keywords = calloc(json_object_size(kw) + 1, sizeof(char *));
        json_object_foreach(kw, k, v) {
            if (h->keywords != NULL)
                h->keywords[h->nkeywords++] = strdup(k);
        }
        json_decref(kw);
    }
    h->item.from = h->from;
    h->item.to = h->to;
    h->item.subject = h->subject;
    h->item.keywords = (const char *const *)h->keywords;
    h->item.n_keywords = h->nkeywords;
    if (thread_sorted(&eq->plan))
        h->thread_id = thread_id_of(eq, &eq->l->items[h->folder], m, hl);
    ib_header_list_free(&hl);
}

static int cmp_msg_uid(const void *a, const void *b)
{
    uint32_t x = ((const struct ib_msg *)a)->uid, y = ((const struct ib_msg *)b)->uid;

    return x < y ? -1 : x > y;
}

/* Fetch the sort fields of the hits of one folder (hits[lo..hi)). */
static int fetch_folder_fields(struct equery *eq, size_t lo, size_t hi, unsigned int want,
                               struct cm_err *err)
{
    const struct ib_folder *f = &eq->l->items[eq->hits[lo].folder];
    uint32_t *uids = malloc((hi - lo) * sizeof(*uids));
    struct mailimap_set *set;
    struct ib_msg *msgs = NULL;
    size_t nm = 0, k = 0;
    int rc;

    if (uids == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    for (size_t i = lo; i < hi; i++)
        uids[i - lo] = eq->hits[i].uid;
    set = ib_uidset_of(uids, hi - lo);
    free(uids);
    rc = ib_session_select(eq->s, f->imap_name, true, NULL, err);
    if (rc == 0)
        rc = set ? ib_fetch_msgs(eq->s, set, want, &msgs, &nm, err) : CM_ENOMEM;
    if (set != NULL)
        ib_uidset_free(set);
    if (rc == 0 && (eq->collapse || thread_sorted(&eq->plan)))
        rc = gw_jthread_learn(eq->c->jr, eq->s, eq->l, f, msgs, nm, err);
    /* merge two ascending UID lists (hits come sorted from SEARCH) */
    if (nm > 1)
        qsort(msgs, nm, sizeof(*msgs), cmp_msg_uid);
    for (size_t i = lo; rc == 0 && i < hi; i++) {
        while (k < nm && msgs[k].uid < eq->hits[i].uid)
            k++;
        if (k < nm && msgs[k].uid == eq->hits[i].uid)
            fill_hit(eq, &eq->hits[i], &msgs[k]);
        else
            eq->hits[i].item.uid = eq->hits[i].uid; /* expunged meanwhile */
    }
    ib_msgs_free(msgs, nm);
    return rc;
}

static int compare_hits(const void *a, const void *b, void *arg)
{
    const struct hit *x = a, *y = b;

    return ib_sort_compare(arg, &x->item, &y->item);
}

/* The thread sorts' bits of every hit: comparator i holds when the hit's
   thread has some message with the keyword (some), or none without it
   (all), over the whole account (keyword_threads). */
static int set_thread_bits(struct equery *eq, struct cm_err *err)
{
    for (size_t i = 0; i < eq->plan.n_crit; i++) {
        const struct ib_sort_crit *c = &eq->plan.crit[i];
        bool some = c->field == IB_SORT_SOME_IN_THREAD;
        json_t *ref = NULL;

        if (!some && c->field != IB_SORT_ALL_IN_THREAD)
            continue;
        if (keyword_threads(eq, c->keyword, some, &ref, err) < 0)
            return err->code;
        for (size_t k = 0; k < eq->nhits; k++) {
            struct hit *h = &eq->hits[k];
            bool in_ref = h->thread_id != NULL && json_object_get(ref, h->thread_id) != NULL;

            if (h->thread_id != NULL && (some ? in_ref : !in_ref))
                h->item.thread_bits |= 1u << i;
        }
    }
    return 0;
}

static int sort_hits(struct equery *eq, struct cm_err *err)
{
    unsigned int want = fetch_for_sort(eq);
    size_t lo = 0;
    int rc = 0;

    while (rc == 0 && lo < eq->nhits) {
        size_t hi = lo;

        while (hi < eq->nhits && eq->hits[hi].folder == eq->hits[lo].folder)
            hi++;
        rc = fetch_folder_fields(eq, lo, hi, want, err);
        lo = hi;
    }
    if (rc == 0 && thread_sorted(&eq->plan))
        rc = set_thread_bits(eq, err);
    if (rc == 0 && eq->nhits > 1) /* qsort_r(NULL, 0, ...) is undefined */
        qsort_r(eq->hits, eq->nhits, sizeof(*eq->hits), compare_hits, &eq->plan);
    return rc;
}

/* After a server-side SORT nothing was fetched: the GUIDs of the hits the
   answer shows (all of them for an anchor), from the location cache or
   one UID FETCH on the folder the SORT left selected. */
static int window_guids(struct equery *eq, struct cm_err *err)
{
    long long total = (long long)eq->nhits, lo = eq->q.position, hi;
    uint32_t *uids = calloc(eq->nhits + 1, sizeof(*uids));
    struct mailimap_set *set = NULL;
    struct ib_msg *msgs = NULL;
    size_t n = 0, nm = 0;
    int rc = uids ? 0 : cm_err_set(err, CM_ENOMEM, "out of memory");

    if (lo < 0)
        lo = total + lo < 0 ? 0 : total + lo;
    hi = eq->q.limit < 0 || eq->q.limit > GW_JQUERY_MAX_LIMIT ? lo + GW_JQUERY_MAX_LIMIT
                                                              : lo + eq->q.limit;
    if (eq->q.anchor != NULL)
        lo = 0, hi = total;
    for (long long i = lo; rc == 0 && i < hi && i < total; i++) {
        struct hit *h = &eq->hits[i];
        char id[IB_IDS_EMAIL_MAX + 1];

        if (gw_jmail_id_at(eq->c->jr, &eq->l->items[h->folder], h->uid, id) &&
            ib_ids_email_guid_parse(id, &h->guid) == 0)
            continue;
        uids[n++] = h->uid;
    }
    if (rc == 0 && n > 0) {
        set = ib_uidset_of(uids, n);
        rc = set ? ib_fetch_msgs(eq->s, set, IB_FETCH_GUID, &msgs, &nm, err) : CM_ENOMEM;
    }
    if (nm > 1)
        qsort(msgs, nm, sizeof(*msgs), cmp_msg_uid);
    for (long long i = lo; rc == 0 && nm > 0 && i < hi && i < total; i++) {
        struct ib_msg key = { .uid = eq->hits[i].uid };
        const struct ib_msg *m = eq->hits[i].guid ? NULL
                                                  : bsearch(&key, msgs, nm, sizeof(*msgs), cmp_msg_uid);

        if (m != NULL && m->guid != NULL)
            eq->hits[i].guid = strdup(m->guid);
    }
    if (set != NULL)
        ib_uidset_free(set);
    ib_msgs_free(msgs, nm);
    free(uids);
    return rc;
}

static json_t *result_ids(struct equery *eq)
{
    json_t *ids = json_array(), *seen = eq->collapse ? json_object() : NULL;

    for (size_t i = 0; i < eq->nhits; i++) {
        const struct hit *h = &eq->hits[i];
        char id[IB_IDS_EMAIL_MAX + 1];

        if (seen != NULL && h->thread != NULL) {
            if (json_object_get(seen, h->thread) != NULL)
                continue;
            json_object_set_new(seen, h->thread, json_true());
        }
        gw_jmail_id(eq->c->jr, &eq->l->items[h->folder], h->uid, h->guid, id);
        json_array_append_new(ids, json_string(id));
    }
    json_decref(seen);
    return ids;
}

static int build_plan(struct equery *eq, struct cm_err *err)
{
    json_t *dflt = json_pack("[{s:s,s:b}]", "property", "receivedAt", "isAscending", 0);
    unsigned int caps = ib_session_caps(eq->s) & IB_CAP_SORT ? IB_SORT_CAP_SORT : 0;
    bool unsupported = false;
    int rc = ib_sort_build(eq->q.sort && json_array_size(eq->q.sort) ? eq->q.sort : dflt, caps,
                           &eq->plan, &unsupported, err);

    json_decref(dflt);
    if (unsupported)
        eq->c->error_type = "unsupportedSort";
    return rc;
}

json_t *gw_jmap_email_query(struct gw_jcall *c, struct cm_err *err)
{
    struct equery eq = { .c = c };
    json_t *collapse = json_object_get(c->args, "collapseThreads"), *reply = NULL;
    bool unsupported = false;
    char *state = NULL;
    bool server_sorted = false;
    int all_mail;

    if (gw_jquery_parse(c, &eq.q, err) < 0)
        goto done;
    if (collapse != NULL && !json_is_null(collapse) && !json_is_boolean(collapse)) {
        cm_err_set(err, CM_EINVAL, "collapseThreads must be a boolean");
        goto done;
    }
    eq.collapse = json_is_true(collapse);
    if (ib_search_filter_check(eq.q.filter, true, &unsupported, err) < 0) {
        if (unsupported)
            c->error_type = "unsupportedFilter";
        goto done;
    }
    if (gw_jreq_session(c->jr, &eq.s, err) < 0 || build_plan(&eq, err) < 0 ||
        query_pipelined(&eq, &server_sorted, err) < 0)
        goto done;
    if (!server_sorted) {
        if (gw_jmail_folders(c->jr, &eq.l, err) < 0)
            goto done;
        all_mail = all_mail_folder(&eq);
        if (search_all(&eq, all_mail, &server_sorted, err) < 0) {
            if (eq.unsupported)
                c->error_type = "unsupportedFilter";
            goto done;
        }
    }
    eq.l = &c->jr->folders;
    if (!server_sorted && sort_hits(&eq, err) < 0)
        goto done;
    if (server_sorted && !eq.windowed && (ib_session_caps(eq.s) & IB_CAPS_MSGID) &&
        window_guids(&eq, err) < 0)
        goto done;
    state = gw_jmail_state(c->jr, eq.l);
    if (eq.windowed)
        reply = gw_jquery_reply_window(c, &eq.q, result_ids(&eq), state ? state : "");
    else
        reply = gw_jquery_reply(c, &eq.q, result_ids(&eq), state ? state : "", false, err);
    if (reply != NULL)
        json_object_set_new(reply, "collapseThreads", json_boolean(eq.collapse));
done:
    ib_sort_plan_fini(&eq.plan);
    json_decref(eq.thread_sets);
    hits_free(&eq);
    free(state);
    return reply;
}
