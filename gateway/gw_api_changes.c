/* gw_api_changes.c - GET /api/v1/mailboxes/{mailbox}/changes?cursor=&limit=
 * The single-folder REST delta (ARCHITECTURE §4): the cursor is the
 * folder's (UIDVALIDITY, HIGHESTMODSEQ, UIDNEXT, EXISTS), and
 * ib_delta_since (imapbridge/ib_delta.h) tells what happened since, in
 * O(changes). What it cannot tell (UIDVALIDITY changed, expunges without
 * QRESYNC, a server without CONDSTORE and no ?known= UIDs) is
 * `resync: true`, never a guess; so is a folder recreated under the same
 * path (new folder id). A cursor that is malformed or not sealed by us is
 * a 400. `limit` caps the items of one answer, removed + flags + added
 * together (struct gw_rest_page in gw_rest.h says how a page continues);
 * past it the cursor is an intermediate point and hasMore is true. (The
 * ?known= diff without CONDSTORE caps only the added summaries.) */
#include <stdlib.h>
#include <string.h>

#include "gateway/gw_authn.h"
#include "gateway/gw_handlers.h"
#include "gateway/jmap/gw_jmail.h"
#include "gateway/gw_req.h"
#include "gateway/gw_rest.h"
#include "imapbridge/ib_delta.h"
#include "imapbridge/ib_fetch.h"
#include "imapbridge/ib_session.h"
#include "imapbridge/ib_uidset.h"

#define MAX_KNOWN_RANGES 4096
#define MAX_REMOVED 100000

struct range {
    uint32_t first, last;
};

struct changes_job {
    struct gw_req *req;
    bool has_cursor, has_pos;
    struct ib_state_entry old;
    struct gw_rest_page pos;  /* where the previous page stopped (has_pos) */
    struct range *known;  /* ?known=, ascending, merged; NULL when absent */
    size_t nknown;
    size_t limit;
    struct gw_rest_box box;
    json_t *out;
};

/* The delta being built. */
struct delta {
    bool resync, more;
    struct ib_state_entry next;
    bool next_paged;              /* next carries next_pos */
    struct gw_rest_page next_pos;
    json_t *added, *flags, *removed;
};

static int flags_of(struct ib_session *s, const uint32_t *uids, size_t n, struct delta *d,
                    struct cm_err *err)
{
    struct mailimap_set *set = n ? ib_uidset_of(uids, n) : NULL;
    struct ib_msg *m = NULL;
    size_t nm = 0;
    int rc;

    if (n == 0)
        return 0;
    rc = set ? ib_fetch_msgs(s, set, IB_FETCH_FLAGS, &m, &nm, err)
             : cm_err_set(err, CM_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < nm; i++)
        json_array_append_new(d->flags, json_pack("{s:I,s:o}", "uid", (json_int_t)m[i].uid,
                                                  "flags", gw_rest_flags_json(&m[i])));
    ib_msgs_free(m, nm);
    if (set != NULL)
        ib_uidset_free(set);
    return rc;
}

/* One page of a CONDSTORE delta: at most j->limit items in the order
   removed, flag changes, added (each by UID), after where the previous
   page stopped. */
struct pager {
    const struct changes_job *j;
    size_t budget;
    bool cut;
    struct gw_rest_page last;
};

/* Should the item (phase, uid) go into this page? Sets cut when the page
   is full and the item is still to come. */
static bool page_takes(struct pager *pg, enum gw_rest_phase phase, uint32_t uid)
{
    const struct gw_rest_page *p = &pg->j->pos;

    if (pg->j->has_pos && (phase < p->phase || (phase == p->phase && uid <= p->after)))
        return false;
    if (pg->cut || pg->budget == 0) {
        pg->cut = true;
        return false;
    }
    pg->budget--;
    pg->last.phase = phase;
    pg->last.after = uid;
    return true;
}

static int cmp_uid(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

static void page_removed(struct pager *pg, const struct ib_delta *dl, struct delta *d)
{
    if (dl->nvanished > 1) /* vanished is NULL when empty: qsort(NULL, 0) is UB */
        qsort(dl->vanished, dl->nvanished, sizeof(*dl->vanished), cmp_uid);
    for (size_t i = 0; i < dl->nvanished; i++) {
        if (page_takes(pg, GW_REST_REMOVED, dl->vanished[i]))
            json_array_append_new(d->removed, json_integer(dl->vanished[i]));
    }
}

/* The flags of the changed messages as the CHANGEDSINCE answer gave them:
   no second FETCH. */
static void page_flags(struct pager *pg, const struct ib_delta *dl, struct delta *d)
{
    for (size_t i = 0; i < dl->nupdated; i++) {
        const struct ib_change *ch = &dl->updated[i];
        struct ib_msg m = { .uid = ch->uid, .flags = ch->flags, .nflags = ch->nflags };

        if (page_takes(pg, GW_REST_FLAGS, ch->uid))
            json_array_append_new(d->flags, json_pack("{s:I,s:o}", "uid", (json_int_t)m.uid,
                                                      "flags", gw_rest_flags_json(&m)));
    }
}

static int page_added(struct pager *pg, struct ib_session *s, const struct ib_delta *dl,
                      struct delta *d, struct cm_err *err)
{
    uint32_t *uids = calloc(dl->ncreated + 1, sizeof(*uids));
    struct mailimap_set *set = NULL;
    size_t take = 0;
    int rc = uids ? 0 : cm_err_set(err, CM_ENOMEM, "out of memory");

    for (size_t i = 0; rc == 0 && i < dl->ncreated; i++) {
        if (page_takes(pg, GW_REST_ADDED, dl->created[i].uid))
            uids[take++] = dl->created[i].uid;
    }
    if (rc == 0 && take > 0) {
        set = ib_uidset_of(uids, take);
        rc = set ? gw_rest_summaries(s, pg->j->box.f, set, d->added, err)
                 : cm_err_set(err, CM_ENOMEM, "out of memory");
    }
    if (set != NULL)
        ib_uidset_free(set);
    free(uids);
    return rc;
}

/* The delta of a CONDSTORE cursor, one page of it. A cut page's cursor is
   the same base with the position reached; the last page's cursor is the
   folder now, but with the HIGHESTMODSEQ the first page saw (what changed
   while the client paged comes again next time). */
static int condstore_delta(struct ib_session *s, const struct changes_job *j,
                           const struct ib_delta *dl, struct delta *d, struct cm_err *err)
{
    struct pager pg = { .j = j, .budget = j->limit };
    uint64_t target = j->has_pos ? j->pos.target : j->box.f->highestmodseq;
    int rc;

    page_removed(&pg, dl, d);
    page_flags(&pg, dl, d);
    rc = page_added(&pg, s, dl, d, err);
    d->more = pg.cut;
    if (rc == 0 && pg.cut) {
        d->next = j->old;
        d->next_paged = true;
        d->next_pos = (struct gw_rest_page){ pg.last.phase, pg.last.after, target };
    } else if (rc == 0 && j->has_pos && target < d->next.modseq) {
        d->next.modseq = target;
    }
    return rc;
}

static int cmp_range(const void *a, const void *b)
{
    const struct range *x = a, *y = b;

    return x->first < y->first ? -1 : x->first > y->first;
}

static bool read_uid(const char **pp, uint32_t *v)
{
    unsigned long long n = 0;
    const char *p = *pp;

    while (*p >= '0' && *p <= '9' && n <= UINT32_MAX)
        n = n * 10 + (unsigned long long)(*p++ - '0');
    if (p == *pp || n == 0 || n > UINT32_MAX)
        return false;
    *pp = p;
    *v = (uint32_t)n;
    return true;
}

/* "1:500,502" -> ascending merged ranges. CM_EINVAL when malformed. */
static int parse_known(const char *text, struct range **r_r, size_t *n_r, struct cm_err *err)
{
    struct range *r = calloc(MAX_KNOWN_RANGES, sizeof(*r));
    size_t n = 0, m = 0;
    const char *p = text;

    if (r == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    while (*p != '\0' && n < MAX_KNOWN_RANGES) {
        uint32_t a, b;

        if (!read_uid(&p, &a))
            break;
        b = a;
        if (*p == ':' && (p++, !read_uid(&p, &b)))
            break;
        r[n++] = (struct range){ a < b ? a : b, a < b ? b : a };
        if (*p == ',' && p[1] != '\0')
            p++;
        else if (*p != '\0')
            break;
    }
    if (*p != '\0' || n == 0) {
        free(r);
        return cm_err_set(err, CM_EINVAL, "known must be UID ranges like 1:500,502 (at most %d)",
                          MAX_KNOWN_RANGES);
    }
    qsort(r, n, sizeof(*r), cmp_range);
    for (size_t i = 1; i < n; i++) {
        if (r[i].first <= r[m].last + 1ULL)
            r[m].last = r[i].last > r[m].last ? r[i].last : r[m].last;
        else
            r[++m] = r[i];
    }
    *r_r = r;
    *n_r = m + 1;
    return 0;
}

static bool known_has(const struct changes_job *j, uint32_t uid)
{
    size_t lo = 0, hi = j->nknown;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;

        if (uid < j->known[mid].first)
            hi = mid;
        else if (uid > j->known[mid].last)
            lo = mid + 1;
        else
            return true;
    }
    return false;
}

/* Known UIDs below uidnext that are not in cur (ascending). */
static int known_removed(const struct changes_job *j, const uint32_t *cur, size_t ncur,
                         uint32_t uidnext, struct delta *d, struct cm_err *err)
{
    size_t k = 0, count = 0;

    for (size_t i = 0; i < j->nknown; i++) {
        for (uint64_t u = j->known[i].first; u <= j->known[i].last && u < uidnext; u++) {
            while (k < ncur && cur[k] < u)
                k++;
            if (k < ncur && cur[k] == u)
                continue;
            if (++count > MAX_REMOVED)
                return cm_err_set(err, CM_EINVAL, "known names more than %d removed UIDs: "
                                                  "list the folder again", MAX_REMOVED);
            json_array_append_new(d->removed, json_integer((json_int_t)u));
        }
    }
    return 0;
}

/* The diff against the client's known UIDs (no CONDSTORE needed). */
static int known_delta(struct ib_session *s, const struct changes_job *j, struct delta *d,
                       struct cm_err *err)
{
    uint32_t *cur = NULL, *added = NULL, *kept = NULL;
    size_t ncur = 0, na = 0, nk = 0;
    struct mailimap_set *set = NULL;
    int rc = ib_fetch_search(s, NULL, false, &cur, &ncur, err);

    if (rc == 0) {
        added = calloc(ncur + 1, sizeof(*added));
        kept = calloc(ncur + 1, sizeof(*kept));
        rc = added && kept ? 0 : cm_err_set(err, CM_ENOMEM, "out of memory");
    }
    for (size_t i = 0; rc == 0 && i < ncur; i++) {
        if (known_has(j, cur[i]))
            kept[nk++] = cur[i];
        else
            added[na++] = cur[i];
    }
    if (rc == 0)
        rc = known_removed(j, cur, ncur, j->box.f->uidnext, d, err);
    if (rc == 0 && na > j->limit) { /* the newest ones first; the rest next time */
        memmove(added, added + (na - j->limit), j->limit * sizeof(*added));
        na = j->limit;
        d->more = true;
    }
    if (rc == 0 && na > 0) {
        set = ib_uidset_of(added, na);
        rc = set ? gw_rest_summaries(s, j->box.f, set, d->added, err)
                 : cm_err_set(err, CM_ENOMEM, "out of memory");
    }
    if (rc == 0)
        rc = flags_of(s, kept, nk, d, err);
    if (set != NULL)
        ib_uidset_free(set);
    free(cur);
    free(added);
    free(kept);
    return rc;
}

/* The delta since the cursor's state. Without CONDSTORE the client's
   known UIDs, when it sent them, stand in; otherwise anything the rule
   cannot tell (UIDVALIDITY changed, expunges without QRESYNC) is a
   resync, never a guess. */
static int cursor_delta(struct ib_session *s, const struct changes_job *j,
                        struct ib_delta *pre, struct delta *d, struct cm_err *err)
{
    struct ib_delta_state was = ib_delta_state_of_entry(&j->old),
                          now = ib_delta_state_of_folder(j->box.f);
    struct ib_delta dl = { 0 };
    int rc = 0;

    if (pre != NULL) { /* the delta came with the EXAMINE: take it over */
        dl = *pre;
        memset(pre, 0, sizeof(*pre));
    } else {
        rc = ib_delta_since(s, &was, &now, &dl, err);
    }

    if (rc == 0 && dl.kind == IB_DELTA_NO_CONDSTORE && j->known != NULL)
        rc = known_delta(s, j, d, err);
    else if (rc == 0 && (dl.kind != IB_DELTA_CHANGES || dl.expunges_unknowable))
        d->resync = true;
    else if (rc == 0)
        rc = condstore_delta(s, j, &dl, d, err);
    ib_delta_fini(&dl);
    return rc;
}

static json_t *delta_json(const struct changes_job *j, struct delta *d, const char *cursor)
{
    const struct ib_folder *f = j->box.f;
    json_t *o = json_pack("{s:I,s:I,s:b,s:O,s:O,s:O,s:s,s:b}", "uidvalidity",
                          (json_int_t)f->uidvalidity, "total", (json_int_t)f->total, "resync",
                          d->resync, "added", d->added, "flags", d->flags, "removed", d->removed,
                          "cursor", cursor, "hasMore", d->more);

    return o;
}

/* Open the folder. With a CONDSTORE cursor the delta's UID FETCH ...
   CHANGEDSINCE goes in the same write as the EXAMINE + STATUS (one round
   trip; ib_delta_open_since), and *have_dl says dl holds the delta. When
   that is refused, the listing tells (as gw_rest_box_examine falls back)
   and the delta is asked afterwards. */
static int open_box(struct ib_session *s, struct changes_job *j, struct ib_delta *dl,
                    bool *have_dl, struct cm_err *err)
{
    struct ib_delta_state was = ib_delta_state_of_entry(&j->old);
    const char *path = j->req->params[0];
    int rc;

    *have_dl = false;
    if (!j->has_cursor || !ib_delta_can_pipeline(s, &was))
        return gw_rest_box_examine(s, path, &j->box, err);
    gw_rest_box_fini(&j->box);
    rc = ib_delta_open_since(s, path, &was, &j->box.list, dl, err);
    if (rc == 0) {
        j->box.f = &j->box.list.items[0];
        *have_dl = true;
        return 0;
    }
    if (ib_session_is_broken(s) || rc == CM_ENOMEM)
        return rc;
    cm_err_clear(err);
    return gw_rest_box_open(s, path, true, &j->box, err);
}

static int changes(struct ib_session *s, void *arg, struct cm_err *err)
{
    struct changes_job *j = arg;
    struct delta d = { .added = json_array(), .flags = json_array(), .removed = json_array() };
    struct ib_delta dl = { 0 };
    bool have_dl = false;
    const struct ib_folder *f;
    char *cursor = NULL;
    int rc = open_box(s, j, &dl, &have_dl, err);

    f = j->box.f;
    if (rc < 0)
        goto out;
    d.next = gw_rest_entry(f);
    /* Another folder key: the folder at this path was deleted and created
       again (new id), or the cursor is another folder's. Either way the
       client's copy does not describe this folder: start over. */
    if (j->has_cursor && ib_state_folder_key(f->id) != j->old.folder_key)
        d.resync = true;
    else if (j->has_cursor)
        rc = cursor_delta(s, j, have_dl ? &dl : NULL, &d, err);
    else
        rc = known_delta(s, j, &d, err); /* known UIDs without a cursor */
    if (rc == 0 && d.resync) {
        json_array_clear(d.added);
        json_array_clear(d.flags);
        json_array_clear(d.removed);
        d.more = false;
        d.next_paged = false;
        d.next = gw_rest_entry(f);
    }
    cursor = rc == 0 ? gw_rest_cursor_paged(j->req, &d.next, d.next_paged ? &d.next_pos : NULL)
                     : NULL;
    if (rc == 0 && cursor == NULL)
        rc = cm_err_set(err, CM_ENOMEM, "out of memory");
    if (rc == 0) {
        json_decref(j->out);
        j->out = delta_json(j, &d, cursor);
    }
out:
    ib_delta_fini(&dl);
    json_decref(d.added);
    json_decref(d.flags);
    json_decref(d.removed);
    free(cursor);
    return rc;
}

void gw_api_changes(struct gw_req *req)
{
    struct cm_err err = CM_ERR_INIT;
    struct gw_principal p = { 0 };
    struct changes_job j = { .req = req };
    const char *cursor = gw_req_query(req, "cursor"), *known = gw_req_query(req, "known");
    int rc = gw_rest_limit(req, &j.limit, &err);

    if (rc == 0 && known != NULL)
        rc = parse_known(known, &j.known, &j.nknown, &err);
    j.has_cursor = cursor != NULL || known == NULL;
    if (rc == 0 && j.has_cursor)
        rc = gw_rest_cursor_parse_paged(req, cursor, &j.old, &j.pos, &j.has_pos, &err);
    if (rc == 0)
        rc = gw_authn_run(req, &p, changes, &j, &err);
    if (rc < 0) {
        gw_req_reply_error(req, &err);
    } else {
        gw_req_reply_json(req, 200, j.out);
        j.out = NULL;
    }
    json_decref(j.out);
    free(j.known);
    gw_rest_box_fini(&j.box);
    gw_principal_fini(&p);
}
