/* gw_api_messages.c - GET /api/v1/mailboxes/{mailbox}/messages: one page
 * of summaries, newest first by UID (ARCHITECTURE §9). `before` is a UID:
 * the page holds the `limit` highest UIDs below it, and `nextBefore` is
 * the UID to pass for the next page (null on the last one), so pages stay
 * consistent while new mail arrives (new mail has higher UIDs). The
 * cursor is taken before the page is fetched: whatever changes meanwhile
 * is in the next delta. */
#include <libetpan/libetpan.h>
#include <stdlib.h>

#include "gateway/gw_authn.h"
#include "gateway/gw_handlers.h"
#include "gateway/gw_jmail.h"
#include "gateway/gw_req.h"
#include "gateway/gw_rest.h"
#include "imapbridge/ib_fetch.h"
#include "imapbridge/ib_session.h"

struct list_job {
    struct gw_req *req;
    uint32_t before;      /* 0 = from the newest */
    size_t limit;
    struct gw_rest_box box;
    json_t *out;
};

/* The UIDs below j->before, ascending. */
static int uids_below(struct ib_session *s, const struct list_job *j, uint32_t **uids_r,
                      size_t *n_r, struct cm_err *err)
{
    struct mailimap_search_key *key = NULL;
    int rc;

    *uids_r = NULL;
    *n_r = 0;
    if (j->before == 1 || j->box.f->total == 0)
        return 0;
    if (j->before > 1) {
        struct mailimap_set *set = mailimap_set_new_interval(1, j->before - 1);

        key = set ? mailimap_search_key_new_uid(set) : NULL;
        if (key == NULL) {
            if (set != NULL)
                mailimap_set_free(set);
            return cm_err_set(err, CM_ENOMEM, "out of memory");
        }
    }
    rc = ib_fetch_search(s, key, false, uids_r, n_r, err);
    if (key != NULL)
        mailimap_search_key_free(key);
    return rc;
}

static json_t *page_json(const struct list_job *j, json_t *msgs, const uint32_t *uids,
                         size_t start, const char *cursor)
{
    const struct ib_folder *f = j->box.f;

    return json_pack("{s:o,s:I,s:I,s:o,s:s}", "messages", msgs, "total", (json_int_t)f->total,
                     "uidvalidity", (json_int_t)f->uidvalidity, "nextBefore",
                     start > 0 ? json_integer(uids[start]) : json_null(), "cursor", cursor);
}

static int list_page(struct ib_session *s, void *arg, struct cm_err *err)
{
    struct list_job *j = arg;
    struct ib_state_entry e;
    struct mailimap_set *set = NULL;
    uint32_t *uids = NULL;
    size_t n = 0, start = 0;
    char *cursor = NULL;
    json_t *msgs = json_array();
    int rc = gw_rest_box_open(s, j->req->params[0], true, &j->box, err);

    if (rc == 0) {
        e = gw_rest_entry(j->box.f);
        cursor = gw_rest_cursor(j->req, &e);
        rc = cursor ? uids_below(s, j, &uids, &n, err) : CM_ENOMEM;
    }
    if (rc == 0 && n > 0) {
        start = n > j->limit ? n - j->limit : 0;
        set = gw_jmail_uid_set(uids + start, n - start);
        rc = set ? gw_rest_summaries(s, j->box.f, set, msgs, err) : CM_ENOMEM;
    }
    if (rc == 0) {
        json_decref(j->out);
        j->out = page_json(j, msgs, uids, start, cursor);
        msgs = NULL;
    }
    if (rc == CM_ENOMEM)
        cm_err_set(err, CM_ENOMEM, "out of memory");
    if (set != NULL)
        mailimap_set_free(set);
    json_decref(msgs);
    free(uids);
    free(cursor);
    return rc;
}

void gw_api_messages(struct gw_req *req)
{
    struct cm_err err = CM_ERR_INIT;
    struct gw_principal p = { 0 };
    struct list_job j = { .req = req };
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
