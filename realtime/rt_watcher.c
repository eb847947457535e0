/* rt_watcher.c - the IMAP side of a watcher, run as a worker job: connect
 * and EXAMINE, IDLE / DONE, read what arrived, STATUS, publish, re-IDLE;
 * STATUS polling when IDLE is not possible; backoff after a failure; close
 * at the end of the grace period. Never runs on the reactor thread. */
#include <stdlib.h>
#include <string.h>

#include <libetpan/libetpan.h>

#include "common/cm_log.h"
#include "common/cm_time.h"
#include "imapbridge/ib_pool.h"
#include "imapbridge/ib_session.h"
#include "imapbridge/ib_status.h"
#include "imapbridge/ib_stream.h"
#include "realtime/rt_private.h"

#define MAX_BUFFERED_ROUNDS 8
#define CLOSE_TIMEOUT_MS 1000

/* What the job leaves behind for the reactor. */
struct step {
    enum rt_watcher_state state;
    uint64_t due_ms;
    int fd;
    bool dead, reconnect;
};

uint64_t rt_backoff_ms(unsigned int attempts, unsigned int max_secs)
{
    uint64_t ms = 1000ull << (attempts < 12 ? attempts : 12);
    uint64_t cap = (uint64_t)(max_secs ? max_secs : 1) * 1000;
    unsigned int jitter = (unsigned int)((cm_now_ns() >> 10) % 41); /* 0..40 */

    if (ms > cap)
        ms = cap;
    return ms * (80 + jitter) / 100; /* +-20 % so reconnects do not stampede */
}

static void logkv(const struct rt_watcher *w, char *kv, size_t cap)
{
    kv[0] = '\0';
    cm_log_kv(kv, cap, "account", w->acct->id);
    cm_log_kv(kv, cap, "mailbox", w->mailbox);
}

static void snap_from_status(const struct ib_status *st, struct rt_snap *s)
{
    s->uidvalidity = st->uidvalidity;
    s->uidnext = st->uidnext;
    s->exists = st->messages;
    s->highestmodseq = st->highestmodseq;
}

/* Compare with the last known state and publish the difference. */
static void publish(struct rt_watcher *w, const struct rt_snap *now, const struct rt_seen *seen,
                    uint64_t notice_ns)
{
    struct rt_hub *hub = w->hub;

    if (w->has_snap) {
        enum rt_reason reason = rt_snap_reason(&w->snap, now, seen);

        if (reason != RT_REASON_NONE) {
            char *states = NULL;
            bool want;

            pthread_mutex_lock(&hub->mu);
            want = w->acct->nstate_subs > 0;
            pthread_mutex_unlock(&hub->mu);
            /* the JMAP states after the change, computed before the lock */
            if (want && hub->set.states_fn != NULL && w->session != NULL &&
                !ib_session_is_broken(w->session) &&
                hub->set.states_fn(hub->set.states_ctx, w->session, &states) < 0)
                states = NULL;
            pthread_mutex_lock(&hub->mu);
            rt_hub_publish_locked(hub, w, states, now, reason,
                                  notice_ns ? notice_ns : cm_now_ns());
            pthread_mutex_unlock(&hub->mu);
            free(states);
        }
    }
    w->snap = *now;
    w->has_snap = true;
}

static void release_budget(struct rt_watcher *w)
{
    if (!w->budget_held)
        return;
    ib_pool_budget_release(w->hub->pool, w->acct->creds.username);
    w->budget_held = false;
    pthread_mutex_lock(&w->hub->mu);
    w->acct->nconns--;
    pthread_mutex_unlock(&w->hub->mu);
}

/* Take one of the account's connection slots: the hub's per-account cap,
   then the pool's budget. */
static bool reserve_budget(struct rt_watcher *w)
{
    struct rt_hub *hub = w->hub;
    unsigned int max = hub->set.max_idle_per_account;
    bool ok;

    pthread_mutex_lock(&hub->mu);
    if (w->slot_claimed) {
        ok = true; /* counted at creation */
        w->slot_claimed = false;
    } else {
        ok = max == RT_IDLE_UNLIMITED || w->acct->nconns < max;
        if (ok)
            w->acct->nconns++;
    }
    pthread_mutex_unlock(&hub->mu);
    if (ok && ib_pool_budget_reserve(hub->pool, w->acct->creds.username) < 0) {
        pthread_mutex_lock(&hub->mu);
        w->acct->nconns--;
        pthread_mutex_unlock(&hub->mu);
        ok = false;
    }
    w->budget_held = ok;
    return ok;
}

/* End the upstream connection; polite: DONE + LOGOUT with short waits. */
static void close_upstream(struct rt_watcher *w, bool polite)
{
    if (w->session != NULL) {
        mailimap *imap = ib_session_imap(w->session);

        if (polite && w->in_idle && imap->imap_stream != NULL) {
            ib_stream_set_timeout(imap->imap_stream->low, CLOSE_TIMEOUT_MS);
            (void)ib_session_check(w->session, mailimap_idle_done(imap), "IDLE DONE", NULL);
            w->in_idle = false;
        }
        if (polite && !w->in_idle)
            ib_session_close(&w->session);
        else
            ib_session_abort(&w->session);
    }
    w->in_idle = false;
    release_budget(w);
}

void rt_watcher_drop(struct rt_watcher *w)
{
    close_upstream(w, false);
}

/* ---- IDLE ------------------------------------------------------------- */

static bool buffered(mailimap *imap)
{
    return imap->imap_stream != NULL &&
           (imap->imap_stream->read_buffer_len > 0 ||
            ib_stream_has_pending(imap->imap_stream->low));
}

static void seen_from(mailimap *imap, struct rt_seen *seen)
{
    const struct mailimap_response_info *ri = imap->imap_response_info;

    memset(seen, 0, sizeof(*seen));
    if (ri == NULL)
        return;
    seen->expunge = ri->rsp_expunged != NULL && clist_count(ri->rsp_expunged) > 0;
    seen->flags = ri->rsp_fetch_list != NULL && clist_count(ri->rsp_fetch_list) > 0;
    for (clistiter *it = ri->rsp_extension_list ? clist_begin(ri->rsp_extension_list) : NULL;
         it != NULL; it = clist_next(it)) {
        const struct mailimap_extension_data *ed = clist_content(it);

        if (ed->ext_extension->ext_id == MAILIMAP_EXTENSION_QRESYNC &&
            ed->ext_type == MAILIMAP_QRESYNC_TYPE_VANISHED)
            seen->expunge = true;
    }
}

/* DONE, see what arrived, STATUS and publish when something did. */
static int wake_once(struct rt_watcher *w, uint64_t notice_ns, struct cm_err *err)
{
    mailimap *imap = ib_session_imap(w->session);
    uint32_t before = imap->imap_selection_info ? imap->imap_selection_info->sel_exists : 0;
    struct ib_status st;
    struct rt_seen seen;
    struct rt_snap now;
    int rc;

    w->in_idle = false;
    rc = ib_session_check(w->session, mailimap_idle_done(imap), "IDLE DONE", err);
    if (rc < 0)
        return rc;
    seen_from(imap, &seen);
    if (!seen.expunge && !seen.flags &&
        (imap->imap_selection_info ? imap->imap_selection_info->sel_exists : 0) == before)
        return 0; /* "* OK Still here", or the re-IDLE timer */
    rc = ib_status_get(w->session, w->imap_name, &st, err);
    if (rc < 0)
        return rc;
    snap_from_status(&st, &now);
    publish(w, &now, &seen, notice_ns);
    return 0;
}

/* IDLE; if bytes are already buffered (no socket event would come), take
   them at once. */
static int enter_idle(struct rt_watcher *w, struct step *next, struct cm_err *err)
{
    mailimap *imap = ib_session_imap(w->session);
    int rc;

    for (int round = 0;; round++) {
        rc = ib_session_check(w->session, mailimap_idle(imap), "IDLE", err);
        if (rc < 0)
            return rc;
        w->in_idle = true;
        if (!buffered(imap) || round == MAX_BUFFERED_ROUNDS)
            break;
        rc = wake_once(w, cm_now_ns(), err);
        if (rc < 0)
            return rc;
    }
    next->state = RT_WATCHER_IDLING;
    next->fd = ib_stream_fd(imap->imap_stream->low);
    next->due_ms = buffered(imap) ? cm_now_ms()
                                  : cm_now_ms() + (uint64_t)w->hub->set.idle_restart_secs * 1000;
    return 0;
}

/* ---- job steps -------------------------------------------------------- */

static void to_poll(struct rt_watcher *w, struct step *next, const char *why)
{
    char kv[256];

    logkv(w, kv, sizeof(kv));
    cm_info(kv, "realtime: polling the folder with STATUS (%s)", why);
    next->state = RT_WATCHER_POLL;
    next->due_ms = cm_now_ms();
}

static int do_connect(struct rt_watcher *w, const struct ib_creds *cr, struct step *next,
                      struct cm_err *err)
{
    struct rt_hub *hub = w->hub;
    struct ib_selection sel;
    struct rt_snap now;
    int rc;

    if (!w->budget_held && !reserve_budget(w)) {
        to_poll(w, next, "connection budget used up");
        return 0;
    }
    rc = ib_session_open(hub->up, cr, &w->session, err);
    if (rc < 0)
        return rc;
    if (!(ib_session_caps(w->session) & IB_CAP_IDLE)) {
        close_upstream(w, true);
        w->server_no_idle = true;
        to_poll(w, next, "the server has no IDLE");
        return 0;
    }
    rc = ib_session_select(w->session, w->imap_name, true, &sel, err);
    if (rc < 0)
        return rc;
    now = (struct rt_snap){ sel.uidvalidity, sel.uidnext, sel.exists, sel.highestmodseq };
    publish(w, &now, NULL, 0);
    rc = enter_idle(w, next, err);
    if (rc == 0)
        w->attempts = 0;
    return rc;
}

static int do_wake(struct rt_watcher *w, uint64_t notice_ns, struct step *next,
                   struct cm_err *err)
{
    int rc = wake_once(w, notice_ns, err);

    return rc < 0 ? rc : enter_idle(w, next, err);
}

static int do_poll(struct rt_watcher *w, const struct ib_creds *cr, struct step *next,
                   struct cm_err *err)
{
    struct rt_hub *hub = w->hub;
    struct ib_session *s = NULL;
    struct ib_status st;
    struct rt_snap now;
    int rc;

    if (!w->server_no_idle && reserve_budget(w)) { /* a slot came free: IDLE again */
        next->state = RT_WATCHER_CONNECT;
        next->due_ms = cm_now_ms();
        return 0;
    }
    rc = ib_pool_checkout(hub->pool, cr, &s, err);
    if (rc < 0)
        return rc;
    rc = ib_status_get(s, w->imap_name, &st, err);
    ib_pool_checkin(hub->pool, &s);
    if (rc < 0)
        return rc;
    snap_from_status(&st, &now);
    publish(w, &now, NULL, 0);
    w->attempts = 0;
    next->state = RT_WATCHER_POLL;
    next->due_ms = cm_now_ms() + (uint64_t)hub->set.poll_interval_secs * 1000;
    return 0;
}

static void on_error(struct rt_watcher *w, enum rt_watcher_state was, struct step *next,
                     const struct cm_err *err)
{
    uint64_t delay = rt_backoff_ms(w->attempts++, w->hub->set.backoff_max_secs);
    char kv[256];

    if (err->code == CM_ENOENT && w->has_snap && w->snap.uidvalidity != 0) {
        /* The folder is gone: say so once (a resync: its UIDVALIDITY is
           no more); if it comes back, the next snapshot is a resync too. */
        static const struct rt_snap gone = { 0, 0, 0, 0 };

        publish(w, &gone, NULL, 0);
    }

    logkv(w, kv, sizeof(kv));
    cm_warn(kv, "realtime: watcher failed, retrying in %llu ms: %s", (unsigned long long)delay,
            err->msg);
    close_upstream(w, false);
    next->state = was == RT_WATCHER_POLL ? RT_WATCHER_POLL : RT_WATCHER_CONNECT;
    next->due_ms = cm_now_ms() + delay;
    next->reconnect = was == RT_WATCHER_IDLING;
}

static void finish(struct rt_watcher *w, const struct step *next)
{
    struct rt_hub *hub = w->hub;

    pthread_mutex_lock(&hub->mu);
    w->busy = false;
    hub->nbusy--;
    if (next->reconnect)
        hub->stats.reconnects_total++;
    if (next->dead) {
        w->dead = true;
    } else {
        w->state = next->state;
        w->due_ms = next->due_ms;
        w->fd = next->state == RT_WATCHER_IDLING ? next->fd : -1;
        if (w->state == RT_WATCHER_IDLING && !hub->stopping)
            rt_loop_arm(hub, w);
    }
    pthread_cond_broadcast(&hub->cond);
    rt_loop_wake(hub);
    pthread_mutex_unlock(&hub->mu);
}

void rt_watcher_job(void *arg)
{
    struct rt_watcher *w = arg;
    struct rt_hub *hub = w->hub;
    struct step next = { .state = RT_WATCHER_CONNECT, .fd = -1 };
    struct cm_err err = CM_ERR_INIT;
    struct ib_creds cr = { 0 };
    enum rt_watcher_state state;
    uint64_t notice_ns;
    bool closing, stopping;
    int rc = 0;

    pthread_mutex_lock(&hub->mu);
    stopping = hub->stopping;
    closing = w->closing || stopping;
    state = w->state;
    notice_ns = w->notice_ns;
    w->notice_ns = 0; /* set again by the next readable event */
    /* A copy: a newer login may replace the account's credentials. */
    if (!closing && ib_creds_init(&cr, w->acct->creds.username, w->acct->creds.secret,
                                  w->acct->creds.mech) < 0)
        rc = cm_err_set(&err, CM_ENOMEM, "out of memory");
    pthread_mutex_unlock(&hub->mu);
    if (closing) {
        close_upstream(w, !stopping);
        next.dead = true;
        finish(w, &next);
        return;
    }
    if (rc == 0 && state == RT_WATCHER_CONNECT)
        rc = do_connect(w, &cr, &next, &err);
    else if (rc == 0 && state == RT_WATCHER_IDLING)
        rc = do_wake(w, notice_ns, &next, &err);
    else if (rc == 0)
        rc = do_poll(w, &cr, &next, &err);
    ib_creds_fini(&cr);
    if (rc < 0)
        on_error(w, state, &next, &err);
    finish(w, &next);
}
