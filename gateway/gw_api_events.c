/* gw_api_events.c - the two SSE surfaces of the hub:
 *   GET /api/v1/events?mailbox=INBOX,Archive   (event: changed)
 *   GET /jmap/eventsource?types=*&closeafter=no&ping=30   (RFC 8620 §7.3)
 *
 * Both run on a worker (GW_ROUTE_WORKER | GW_ROUTE_STREAM): credentials
 * are checked (Bearer, cookie or ?access_token=) before a byte is
 * streamed, and /api/v1/events validates its folders with STATUS on a pool
 * session, so an unknown folder is a 404 problem, not an error event. The
 * STATUS results are also the baseline the new watchers compare with, so a
 * change between this request and the first IDLE is not lost. The JMAP
 * surface watches every selectable folder of the account (INBOX first; with
 * NOTIFY one connection hears them all, else beyond the IDLE budget they
 * are polled; push_max_folders limits /api/v1/events only): it lists
 * them on a pool session, which also proves Basic credentials, and their
 * counts are its baseline. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cm_log.h"
#include "gateway/gw_authn.h"
#include "gateway/gw_ctx.h"
#include "gateway/gw_handlers.h"
#include "gateway/gw_req.h"
#include "gateway/gw_sse.h"
#include "imapbridge/ib_mailbox.h"
#include "imapbridge/ib_mutf7.h"
#include "imapbridge/ib_pool.h"
#include "imapbridge/ib_session.h"
#include "imapbridge/ib_status.h"
#include "realtime/rt_hub.h"


struct folders {
    char **names;
    struct rt_snap *base;
    size_t n, cap;
    struct ib_folder_list list; /* JMAP: the listing the states are built from */
};

static void folders_fini(struct folders *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->names[i]);
    free(f->names);
    free(f->base);
    f->names = NULL;
    f->base = NULL;
    f->n = f->cap = 0;
    ib_folder_list_fini(&f->list);
}

/* Append name (taken over: freed on failure) with its baseline. */
static int folders_add(struct folders *f, char *name, struct rt_snap base, struct cm_err *err)
{
    if (name != NULL && f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        char **names = realloc(f->names, cap * sizeof(*names));
        struct rt_snap *b = names != NULL ? realloc(f->base, cap * sizeof(*b)) : NULL;

        if (names != NULL)
            f->names = names;
        if (b != NULL) {
            f->base = b;
            f->cap = cap;
        }
    }
    if (name == NULL || f->n == f->cap) {
        free(name);
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    }
    f->names[f->n] = name;
    f->base[f->n++] = base;
    return 0;
}

/* mailbox=A,B,C (gw_sse_parse_mailboxes), each with a zero baseline. */
static int parse_folders(const char *arg, unsigned int max, struct folders *f, struct cm_err *err)
{
    char **names = NULL;
    size_t n = 0, i;
    int rc = gw_sse_parse_mailboxes(arg, max, &names, &n, err);

    for (i = 0; rc == 0 && i < n; i++) {
        rc = folders_add(f, names[i], (struct rt_snap){ 0 }, err);
        names[i] = NULL; /* taken over, even on failure */
    }
    gw_sse_names_free(names, n);
    return rc;
}

static int status_all(struct ib_session *s, struct folders *f, struct cm_err *err)
{
    for (size_t i = 0; i < f->n; i++) {
        char *wire = ib_utf8_to_mutf7(f->names[i]);
        struct ib_status st;
        int rc;

        if (wire == NULL)
            return cm_err_set(err, CM_EINVAL, "mailbox: not valid UTF-8");
        rc = ib_status_get(s, wire, &st, err);
        free(wire);
        if (rc == CM_ENOENT)
            return cm_err_set(err, CM_ENOENT, "no such mailbox: %s", f->names[i]);
        if (rc < 0)
            return rc;
        f->base[i] = (struct rt_snap){ st.uidvalidity, st.uidnext, st.messages,
                                       st.highestmodseq, st.unseen };
    }
    return 0;
}

/* STATUS every folder on a pool session; once more on a fresh session
   when the pooled one turns out to be dead. */
static int validate_folders(struct gw_req *req, const struct gw_principal *p, struct folders *f,
                            struct cm_err *err)
{
    int rc = 0;

    for (int attempt = 0; attempt < 2; attempt++) {
        struct ib_session *s = NULL;
        bool broken;

        cm_err_clear(err);
        rc = ib_pool_checkout(req->ctx->pool, &p->creds, &s, err);
        if (rc < 0)
            return rc;
        rc = status_all(s, f, err);
        broken = ib_session_is_broken(s);
        ib_pool_checkin(req->ctx->pool, &s);
        if (rc == 0 || !broken)
            break;
    }
    return rc;
}

/* Last-Event-ID header, else the lastEventId query argument. */
/* The credentials of a stream request: accepted as a plain request's are.
   The stream then ends when the token stops being accepted (stream_end),
   so an EventSource that reconnects gets a 401 and a page learns the
   login has ended, as its next API call would tell it. */
static int stream_principal(struct gw_req *req, struct gw_principal *p, struct cm_err *err)
{
    return gw_authn_principal(req, true, p, err);
}

/* When a stream of principal p ends (0: never): the first second in which
   gw_token_verify refuses the token (it takes t while t - skew <= exp). */
static time_t stream_end(const struct gw_principal *p)
{
    return p->exp != 0 ? p->exp + GW_TOKEN_SKEW_SECS + 1 : 0;
}

static bool last_event_id(const struct gw_req *req, uint64_t *id_r)
{
    const char *v = gw_req_header(req, GW_HDR_LAST_EVENT_ID);
    char *end;

    if (v == NULL)
        v = gw_req_query(req, "lastEventId");
    if (v == NULL || v[0] == '\0')
        return false;
    errno = 0;
    *id_r = strtoull(v, &end, 10);
    if (errno != 0 || *end != '\0' || v[0] == '-')
        *id_r = 0; /* unknown: certainly not covered, so the client resyncs */
    return true;
}

/* Open, subscribe and respond; on failure answer with err. */
static void start_stream(struct gw_req *req, const struct gw_principal *p,
                         const struct gw_sse_opts *o, const struct folders *f,
                         const struct rt_snap *base)
{
    struct cm_err err = CM_ERR_INIT;
    struct rt_sub_params sp = { o->account_id, &p->creds, (const char *const *)f->names, f->n,
                                base, false, 0, o->kind == GW_SSE_JMAP,
                                o->kind == GW_SSE_JMAP ? &f->list : NULL };
    struct gw_sse_stream *st = gw_sse_open(req->ctx->sse, req, o, &err);

    sp.has_last_id = last_event_id(req, &sp.last_id);
    if (st == NULL) {
        gw_req_reply_error(req, &err);
        return;
    }
    if (gw_sse_subscribe(st, req->ctx->hub, &sp, &err) < 0) {
        gw_sse_discard(&st);
        gw_req_reply_error(req, &err);
        return;
    }
    if (gw_sse_respond(st, req, &err) < 0) /* frees st on failure */
        gw_req_reply_error(req, &err);
}

void gw_api_events(struct gw_req *req)
{
    struct cm_err err = CM_ERR_INIT;
    struct folders f = { 0 };
    struct gw_principal p;
    char acct[IB_ACCOUNT_ID_LEN + 1];
    struct gw_sse_opts o = { GW_SSE_REST, req->ctx->set->push_ping_secs, false, GW_SSE_T_ALL, 0,
                             acct };

    if (stream_principal(req, &p, &err) < 0 ||
        parse_folders(gw_req_query(req, "mailbox"), req->ctx->set->push_max_folders, &f,
                      &err) < 0 ||
        validate_folders(req, &p, &f, &err) < 0) {
        gw_req_reply_error(req, &err);
        goto out;
    }
    ib_account_id(&req->ctx->upstream, p.creds.username, acct);
    o.expires = stream_end(&p);
    start_stream(req, &p, &o, &f, f.base);
out:
    folders_fini(&f);
    gw_principal_fini(&p);
}

/* Every selectable folder (INBOX first) with its counts as the baseline,
   listed on a pool session: this also proves Basic credentials before
   anything is streamed or handed to the hub. */
static int list_all_folders(struct ib_session *s, void *arg, struct cm_err *err)
{
    struct folders *f = arg;
    struct ib_folder_list l = { 0 };
    int rc = ib_mailbox_list(s, &l, err);

    folders_fini(f); /* a retry starts over */
    f->list = l; /* kept: the hub builds the JMAP states from it */
    for (size_t i = 0; rc == 0 && i < l.count; i++) {
        const struct ib_folder *fo = &l.items[i];

        if (fo->selectable && fo->has_status)
            rc = folders_add(f, strdup(fo->path),
                             (struct rt_snap){ fo->uidvalidity, fo->uidnext, fo->total,
                                               fo->highestmodseq, fo->unread },
                             err);
    }
    return rc;
}

void gw_jmap_eventsource(struct gw_req *req)
{
    struct cm_err err = CM_ERR_INIT;
    struct folders f = { 0 };
    struct gw_sse_query q;
    struct gw_principal p = { 0 };
    char acct[IB_ACCOUNT_ID_LEN + 1];
    struct gw_sse_opts o = { GW_SSE_JMAP, 0, false, 0, 0, acct };

    if (gw_sse_parse_query(gw_req_query(req, "types"), gw_req_query(req, "closeafter"),
                           gw_req_query(req, "ping"), req->ctx->set->push_max_ping_secs,
                           &q) < 0) {
        gw_req_reply_problem(req, 400, "ping must be a number of seconds; closeafter state|no");
        goto out;
    }
    if (stream_principal(req, &p, &err) < 0 ||
        gw_authn_run_as(req, &p, list_all_folders, &f, &err) < 0) {
        gw_req_reply_error(req, &err);
        goto out;
    }
    ib_account_id(&req->ctx->upstream, p.creds.username, acct);
    o.ping_secs = q.ping_secs;
    o.close_after_event = q.close_after_event;
    o.types = q.types;
    o.expires = stream_end(&p);
    start_stream(req, &p, &o, &f, f.base);
out:
    folders_fini(&f);
    gw_principal_fini(&p);
}
