/* gw_api_messages.c - GET /api/v1/mailboxes/{mailbox}/messages: one page
 * of summaries, newest first by UID (ARCHITECTURE §9). `before` is a UID:
 * the page holds the `limit` highest UIDs below it, and `nextBefore` is
 * the UID to pass for the next page (null on the last one), so pages stay
 * consistent while new mail arrives (new mail has higher UIDs). The first
 * page and the cursor come from the same STATUS (UIDNEXT): whatever
 * arrives or changes after it is in the next delta. The first page of a
 * folder opened directly is one FETCH by sequence number behind the
 * EXAMINE (2 round trips); a `before` page searches a UID window first. */
#include <stdlib.h>

#include "gateway/gw_authn.h"
#include "gateway/gw_ctx.h"
#include "gateway/gw_handlers.h"
#include "gateway/jmap/gw_jmail.h"
#include "gateway/gw_req.h"
#include "gateway/gw_rest.h"
#include "imapbridge/ib_fetch.h"
#include "imapbridge/ib_upstream.h"
#include "imapbridge/ib_search.h"
#include "imapbridge/ib_session.h"
#include "imapbridge/ib_uidset.h"

struct list_job {
    struct gw_req *req;
    const struct gw_principal *p; /* filled by gw_authn_run before list_page runs */
    uint32_t before;      /* 0 = from the newest */
    size_t limit;
    struct gw_rest_box box;
    json_t *out;
};

/* UID SEARCH UID lo:hi into *uids_r (ascending). */
static int search_range(struct ib_session *s, uint32_t lo, uint32_t hi, uint32_t **uids_r,
                        size_t *n_r, struct cm_err *err)
{
    struct mailimap_search_key *key = ib_search_key_uids(ib_uidset_interval(lo, hi));
    int rc;

    if (key == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    rc = ib_fetch_search(s, key, false, uids_r, n_r, err);
    ib_search_key_free(key);
    return rc;
}

/* The UIDs of the page below `before` (0: below the folder's UIDNEXT, so
   a page and its cursor describe the same moment), ascending, with one
   more than the page when there is an older page. The search window
   starts at a few pages of UIDs and grows fourfold until it holds more
   than a page or reaches UID 1: a page costs O(page) on a dense folder,
   never a list of the whole folder. */
static int uids_below(struct ib_session *s, const struct list_job *j, uint32_t **uids_r,
                      size_t *n_r, struct cm_err *err)
{
    uint32_t hi = j->before ? j->before - 1 : j->box.f->uidnext - 1;
    uint64_t window = j->limit * 2 + 16;
    int rc = 0;

    *uids_r = NULL;
    *n_r = 0;
    if (j->box.f->uidnext == 0) /* no UIDNEXT in STATUS: search everything */
        hi = UINT32_MAX;
    if (hi == 0 || j->box.f->total == 0)
        return 0;
    for (;;) {
        uint32_t lo = hi >= window ? (uint32_t)(hi - window + 1) : 1;

        free(*uids_r);
        *uids_r = NULL;
        rc = search_range(s, lo, hi, uids_r, n_r, err);
        if (rc < 0 || *n_r > j->limit || lo == 1)
            return rc;
        window *= 4;
    }
}

/* next_before 0: the last page (null). */
static json_t *page_json(const struct list_job *j, json_t *msgs, uint32_t next_before,
                         const char *cursor)
{
    const struct ib_folder *f = j->box.f;

    return json_pack("{s:o,s:I,s:I,s:o,s:s}", "messages", msgs, "total", (json_int_t)f->total,
                     "uidvalidity", (json_int_t)f->uidvalidity, "nextBefore",
                     next_before ? json_integer(next_before) : json_null(), "cursor", cursor);
}

/* The page below `before` (or the newest, on a folder that was listed):
   UID SEARCH of a window, then UID FETCH of the page. */
static int page_by_search(struct ib_session *s, const struct list_job *j, json_t *msgs,
                          uint32_t *next_before_r, struct cm_err *err)
{
    struct mailimap_set *set = NULL;
    uint32_t *uids = NULL;
    size_t n = 0, start = 0;
    int rc = uids_below(s, j, &uids, &n, err);

    if (rc == 0 && n > 0) {
        start = n > j->limit ? n - j->limit : 0;
        set = ib_uidset_of(uids + start, n - start);
        rc = set ? gw_rest_summaries(s, j->box.f, set, msgs, err) : CM_ENOMEM;
    }
    *next_before_r = rc == 0 && start > 0 ? uids[start] : 0;
    if (set != NULL)
        ib_uidset_free(set);
    free(uids);
    return rc;
}

/* The newest page of a folder opened directly: the EXAMINE's EXISTS
   numbers it, so one FETCH by sequence number follows the EXAMINE (2
   round trips, no UID SEARCH for the UIDs first). nextBefore is the
   page's lowest UID when older messages exist. A page that came back
   empty from a folder that has messages (all of them expunged in
   between) is asked again the search way. */
static int page_newest(struct ib_session *s, const struct list_job *j, json_t *msgs,
                       uint32_t *next_before_r, struct cm_err *err)
{
    bool older = false;
    size_t n;
    int rc = gw_rest_summaries_newest(s, &j->box, j->limit, msgs, &older, err);

    *next_before_r = 0;
    if (rc < 0)
        return rc;
    n = json_array_size(msgs);
    if (n == 0 && j->box.f->total > 0)
        return page_by_search(s, j, msgs, next_before_r, err);
    if (older && n > 0)
        *next_before_r = (uint32_t)json_integer_value(json_object_get(json_array_get(msgs, n - 1),
                                                                      "uid"));
    return 0;
}

/* A page lists messages: the instance's location cache learns where their
   GUID ids are (ARCHITECTURE §4), as JMAP listings teach it. */
static void remember_page(const struct list_job *j, json_t *msgs)
{
    char acct[IB_ACCOUNT_ID_LEN + 1];
    size_t i;
    json_t *m;

    ib_account_id(&j->req->ctx->upstream, j->p->creds.username, acct);
    json_array_foreach(msgs, i, m) {
        const char *id = json_string_value(json_object_get(m, "id"));
        json_int_t uid = json_integer_value(json_object_get(m, "uid"));

        if (id != NULL && uid > 0)
            gw_jmail_remember(j->req->ctx, acct, j->box.f, (uint32_t)uid, id);
    }
}

static int list_page(struct ib_session *s, void *arg, struct cm_err *err)
{
    struct list_job *j = arg;
    struct ib_state_entry e;
    uint32_t next_before = 0;
    char *cursor = NULL;
    json_t *msgs = json_array();
    int rc = gw_rest_box_examine(s, j->req->params[0], &j->box, err);

    if (rc == 0) {
        e = gw_rest_entry(j->box.f);
        cursor = gw_rest_cursor(j->req, &e);
        rc = cursor && msgs ? 0 : CM_ENOMEM;
    }
    if (rc == 0 && j->before == 0 && j->box.selection_counts && j->box.f->uidnext != 0)
        rc = page_newest(s, j, msgs, &next_before, err);
    else if (rc == 0)
        rc = page_by_search(s, j, msgs, &next_before, err);
    if (rc == 0)
        remember_page(j, msgs);
    if (rc == 0) {
        json_decref(j->out);
        j->out = page_json(j, msgs, next_before, cursor);
        msgs = NULL;
    }
    if (rc == CM_ENOMEM)
        cm_err_set(err, CM_ENOMEM, "out of memory");
    json_decref(msgs);
    free(cursor);
    return rc;
}

void gw_api_messages(struct gw_req *req)
{
    struct cm_err err = CM_ERR_INIT;
    struct gw_principal p = { 0 };
    struct list_job j = { .req = req, .p = &p };
    const char *before = gw_req_query(req, "before");
    int rc = gw_rest_limit(req, &j.limit, &err);

    if (rc == 0 && before != NULL)
        rc = gw_rest_uid(before, "before", &j.before, &err);
    if (rc == 0)
        rc = gw_authn_run(req, &p, list_page, &j, &err);
    if (rc < 0) {
        gw_req_reply_error(req, &err);
    } else {
        gw_req_reply_json(req, 200, j.out);
        j.out = NULL;
    }
    json_decref(j.out);
    gw_rest_box_fini(&j.box);
    gw_principal_fini(&p);
}
