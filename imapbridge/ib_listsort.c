/* ib_listsort.c - listing + one folder's UID SORT in one round trip (see
 * ib_listsort.h). The answers are read in the order written: the
 * EXAMINE with libetpan, the listing with ib_lines (libetpan keeps
 * only the last STATUS of a response), the SORT with libetpan again. */
#include "imapbridge/ib_listsort.h"

#include <stdlib.h>
#include <string.h>

#include <libetpan/libetpan.h>

#include "imapbridge/ib_etpan.h"
#include "imapbridge/ib_fetch.h"
#include "imapbridge/ib_mailbox_int.h"
#include "imapbridge/ib_session.h"
#include "imapbridge/ib_sortwin.h"

/* Take the SORT data out of the response just parsed (libetpan keeps it
   in the extension list) and free that list, as mailimap_uid_sort does.
   An empty "* SORT" parses to NULL data. */
static bool take_sort(mailimap *imap, clist **result_r)
{
    struct mailimap_response_info *info = imap->imap_response_info;
    bool found = false;

    *result_r = NULL;
    if (info == NULL || info->rsp_extension_list == NULL)
        return false;
    for (clistiter *it = clist_begin(info->rsp_extension_list); it; it = clist_next(it)) {
        struct mailimap_extension_data *d = clist_content(it);

        if (!found && d->ext_extension->ext_id == MAILIMAP_EXTENSION_SORT) {
            found = true;
            *result_r = d->ext_data;
            d->ext_data = NULL;
            d->ext_type = -1;
        }
    }
    for (clistiter *it = clist_begin(info->rsp_extension_list); it; it = clist_next(it))
        mailimap_extension_data_free(clist_content(it));
    clist_free(info->rsp_extension_list);
    info->rsp_extension_list = NULL;
    return found;
}

static int sort_send(struct ib_session *s, struct mailimap_sort_key *sort_key,
                     struct mailimap_search_key *key, int *tag_r, struct cm_err *err)
{
    mailimap *imap = ib_session_imap(s);
    struct mailimap_search_key *all = key ? NULL : mailimap_search_key_new_all();
    int r = mailimap_send_current_tag(imap);

    *tag_r = imap->imap_tag;
    if (r == MAILIMAP_NO_ERROR)
        r = mailimap_uid_sort_send(imap->imap_stream, "US-ASCII", sort_key, key ? key : all);
    if (r == MAILIMAP_NO_ERROR)
        r = mailimap_crlf_send(imap->imap_stream);
    if (all != NULL)
        mailimap_search_key_free(all);
    return ib_session_check(s, r, "UID SORT", err);
}

/* The SORT answer into out; *ok_r false when the server refused it. */
static int sort_recv(struct ib_session *s, int tag, struct ib_listsort *out, bool *ok_r,
                     struct cm_err *err)
{
    mailimap *imap = ib_session_imap(s);
    struct mailimap_response *resp = NULL;
    clist *result = NULL;
    bool found;
    int r;

    *ok_r = false;
    imap->imap_tag = tag;
    r = ib_etpan_read_response(imap, &resp);
    if (r != MAILIMAP_NO_ERROR)
        return ib_session_check(s, r, "UID SORT", err);
    found = take_sort(imap, &result);
    *ok_r = ib_etpan_tagged_ok(resp) && found;
    mailimap_response_free(resp);
    (void)ib_session_check(s, MAILIMAP_NO_ERROR, "UID SORT", NULL); /* it answered */
    out->uids = malloc((result ? clist_count(result) : 0) * sizeof(*out->uids) + 1);
    for (clistiter *it = result ? clist_begin(result) : NULL; out->uids && it;
         it = clist_next(it))
        out->uids[out->n++] = *(uint32_t *)clist_content(it);
    if (result != NULL)
        mailimap_sort_result_free(result);
    return out->uids ? 0 : cm_err_set(err, CM_ENOMEM, "out of memory");
}

/* The commands behind the listing: a SORT, a sorted window and its
   GUIDs (ib_sortwin), or a FETCH. */
struct tail {
    struct mailimap_sort_key *sort_key; /* SORT when set */
    struct mailimap_search_key *key;
    struct mailimap_set *uids;          /* else FETCH */
    unsigned int want;
    int tag;
    struct ib_sortwin_cmd *win;         /* the window (SORT RETURN) when set */
    bool news;                          /* the window's answer reported changes */
};

static int tail_send(struct ib_session *s, struct tail *t, struct cm_err *err)
{
    if (t->win != NULL)
        return ib_sortwin_send(s, t->win, err);
    if (t->sort_key != NULL)
        return sort_send(s, t->sort_key, t->key, &t->tag, err);
    return ib_fetch_msgs_send(s, t->uids, t->want, &t->tag, err);
}

static int window_recv(struct ib_session *s, struct tail *t, struct ib_listsort *out,
                       bool *ok_r, struct cm_err *err)
{
    struct ib_sortwin w = { 0 };
    int rc = ib_sortwin_recv(s, t->win, &w, ok_r, &t->news, err);

    out->uids = w.uids;
    out->guids = w.guids;
    out->n = w.n;
    return rc;
}

/* The tail's answer into out; *ok_r false when the server refused it. */
static int tail_recv(struct ib_session *s, struct tail *t, struct ib_listsort *out, bool *ok_r,
                     struct cm_err *err)
{
    int rc;

    if (t->win != NULL)
        return window_recv(s, t, out, ok_r, err);
    if (t->sort_key != NULL)
        return sort_recv(s, t->tag, out, ok_r, err);
    rc = ib_fetch_msgs_recv(s, t->tag, &out->msgs, &out->nmsgs, NULL);
    *ok_r = rc == 0;
    return ib_session_is_broken(s) ? cm_err_set(err, rc, "imap: UID FETCH failed")
                                   : rc == CM_ENOMEM ? cm_err_set(err, rc, "out of memory") : 0;
}

/* Write the three commands and flush. */
static int send_all(struct ib_session *s, const char *imap_name, bool read_only, struct tail *t,
                    struct ib_use *use, struct ib_lsq *list_q, struct cm_err *err)
{
    int rc = ib_session_use_send(s, imap_name, read_only, use, err);

    if (rc == 0)
        rc = ib_mailbox_list_status_send(s, list_q, err);
    if (rc == 0)
        rc = tail_send(s, t, err);
    if (rc == 0 && mailstream_flush(ib_session_imap(s)->imap_stream) == -1)
        rc = ib_session_check(s, MAILIMAP_ERROR_STREAM, "LIST-STATUS", err);
    return rc;
}

static int run(struct ib_session *s, const char *imap_name, bool read_only, struct tail *t,
               struct ib_listsort *out, struct cm_err *err)
{
    struct ib_use use = { 0 };
    struct ib_lsq list_q = { 0 };
    int rc, rc_use;
    bool news = false, tail_ok = false;

    if (ib_session_is_broken(s))
        return cm_err_set(err, CM_EUPSTREAM, "imap: session is broken");
    rc = send_all(s, imap_name, read_only, t, &use, &list_q, err);
    if (rc < 0) /* CM_EINVAL before anything was written; else the stream failed */
        return rc;
    rc_use = ib_session_use_recv(s, &use, NULL);
    if (ib_session_is_broken(s))
        return cm_err_set(err, rc_use < 0 ? rc_use : CM_EUPSTREAM, "imap: EXAMINE failed");
    rc = ib_mailbox_list_status_recv(s, &list_q, &out->folders, &news, err);
    if (!ib_session_is_broken(s)) {
        int rc_tail = tail_recv(s, t, out, &tail_ok, err);

        rc = rc < 0 ? rc : rc_tail;
        news = news || t->news;
    }
    if (rc == 0 && news && ib_session_selected(s) != NULL)
        rc = ib_session_drop_selection(s, err); /* libetpan's view is stale */
    out->ran = rc == 0 && rc_use == 0 && tail_ok;
    if (rc < 0)
        ib_listsort_fini(out);
    return rc;
}

int ib_listsort_run(struct ib_session *s, const char *imap_name,
                    struct mailimap_sort_key *sort_key, struct mailimap_search_key *key,
                    struct ib_listsort *out, struct cm_err *err)
{
    unsigned int need = IB_CAP_LIST_STATUS | IB_CAP_SORT;
    struct tail t = { sort_key, key, NULL, 0, 0, NULL, false };

    memset(out, 0, sizeof(*out));
    if ((ib_session_caps(s) & need) != need)
        return cm_err_set(err, CM_ECONFIG, "imap: no LIST-STATUS or SORT");
    return run(s, imap_name, true, &t, out, err);
}

int ib_listsort_fetch(struct ib_session *s, const char *imap_name, bool read_only,
                      struct mailimap_set *uids, unsigned int want, struct ib_listsort *out,
                      struct cm_err *err)
{
    struct tail t = { NULL, NULL, uids, want, 0, NULL, false };

    memset(out, 0, sizeof(*out));
    if (!(ib_session_caps(s) & IB_CAP_LIST_STATUS))
        return cm_err_set(err, CM_ECONFIG, "imap: no LIST-STATUS");
    return run(s, imap_name, read_only, &t, out, err);
}

bool ib_listsort_window_supported(struct ib_session *s)
{
    return (ib_session_caps(s) & IB_CAP_LIST_STATUS) && ib_sortwin_supported(s);
}

int ib_listsort_window(struct ib_session *s, const char *imap_name,
                       struct mailimap_sort_key *sort_key, struct mailimap_search_key *key,
                       uint32_t first, uint32_t count, struct ib_listsort *out,
                       struct cm_err *err)
{
    struct ib_sortwin_cmd win = { sort_key, key, first, count, { 0, 0 } };
    struct tail t = { sort_key, key, NULL, 0, 0, &win, false };

    memset(out, 0, sizeof(*out));
    if (!ib_listsort_window_supported(s))
        return cm_err_set(err, CM_ECONFIG, "imap: no LIST-STATUS, ESORT, PARTIAL or SEARCHRES");
    if (count == 0 || count > IB_SORTWIN_MAX || first == 0)
        return cm_err_set(err, CM_EINVAL, "bad sort window");
    return run(s, imap_name, true, &t, out, err);
}

void ib_listsort_fini(struct ib_listsort *ls)
{
    struct ib_sortwin w = { ls->uids, ls->guids, ls->n };

    ib_folder_list_fini(&ls->folders);
    ib_sortwin_fini(&w);
    ls->uids = NULL;
    ls->guids = NULL;
    ls->n = 0;
    ib_msgs_free(ls->msgs, ls->nmsgs);
    ls->msgs = NULL;
    ls->nmsgs = 0;
    ls->ran = false;
}
