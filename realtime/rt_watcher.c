/* rt_watcher.c - the IMAP side of a watcher, run as a worker job: connect
 * and EXAMINE (or SELECT), IDLE / DONE, look at what arrived, STATUS,
 * publish, re-IDLE; STATUS polling when IDLE is not possible; backoff after
 * a failure; close at the end of the grace period. The account's NOTIFY
 * watcher runs the steps in rt_notify.c instead. Never runs on the reactor
 * thread. Only ib_* calls: libetpan stays inside imapbridge/. */
#include <stdlib.h>
#include <string.h>

#include "common/cm_log.h"
#include "common/cm_time.h"
#include "imapbridge/ib_idle.h"
#include "imapbridge/ib_pool.h"
#include "imapbridge/ib_session.h"
#include "imapbridge/ib_status.h"
#include "realtime/rt_private.h"

#define MAX_BUFFERED_ROUNDS 8
#define CLOSE_TIMEOUT_MS 1000

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
    s->unseen = st->unseen;
}

/* Compare with the last known state and publish the difference. */
void rt_watcher_publish(struct rt_watcher *w, const struct rt_snap *now,
                        const struct rt_seen *seen, uint64_t notice_ns)
{
    struct rt_hub *hub = w->hub;

    pthread_mutex_lock(&hub->mu);
    if (w->has_snap) {
        enum rt_reason reason = rt_snap_reason(&w->snap, now, seen);

        if (reason != RT_REASON_NONE)
            rt_hub_publish_locked(hub, w, NULL, now, reason,
                                  notice_ns ? notice_ns : cm_now_ns());
    }
    w->snap = *now;
    w->has_snap = true;
    pthread_mutex_unlock(&hub->mu);
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
bool rt_watcher_reserve_budget(struct rt_watcher *w)
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

void rt_watcher_close_upstream(struct rt_watcher *w, bool polite)
{
    if (w->session != NULL) {
        if (polite && w->idle.active &&
            ib_idle_done(w->session, &w->idle, CLOSE_TIMEOUT_MS, NULL) < 0)
            polite = false; /* no LOGOUT on a session that failed DONE */
        if (polite && !w->idle.active && !ib_session_is_broken(w->session))
            ib_session_close(&w->session);
        else
            ib_session_abort(&w->session);
    }
    w->idle.active = false;
    ib_untagged_reset(&w->idle.news);
    release_budget(w);
}

void rt_watcher_drop(struct rt_watcher *w)
{
    rt_watcher_close_upstream(w, false);
}

/* ---- IDLE ------------------------------------------------------------- */

/* DONE, then decide from everything the server said (ib_idle: never from
   libetpan's counters): nothing but keep-alives -> nothing to do; anything
   else -> STATUS, and the snapshot comparison decides what to publish. */
static int wake_once(struct rt_watcher *w, uint64_t notice_ns, struct cm_err *err)
{
    struct ib_untagged *n = &w->idle.news;
    struct ib_status st;
    struct rt_seen seen;
    struct rt_snap now;
    int rc = ib_idle_done(w->session, &w->idle, 0, err);

    if (rc < 0)
        return rc;
    if (!ib_untagged_any(n))
        return 0; /* "* OK Still here", or the re-IDLE timer */
    seen = (struct rt_seen){ .expunge = n->expunge, .flags = n->fetch };
    ib_untagged_reset(n);
    rc = ib_status_get(w->session, w->imap_name, &st, err);
    if (rc < 0)
        return rc;
    snap_from_status(&st, &now);
    rt_watcher_publish(w, &now, &seen, notice_ns);
    return 0;
}

/* Gmail (X-GM-EXT-1) ends an IDLE after about 10 minutes, although RFC
   2177 lets a client stay 29: there IDLE is re-issued after at most this. */
#define RT_GMAIL_IDLE_SECS 540

/* How long this watcher stays in one IDLE before it re-issues it. */
static uint64_t idle_restart_ms(const struct rt_watcher *w)
{
    unsigned int secs = w->hub->set.idle_restart_secs;

    if ((ib_session_caps(w->session) & IB_CAP_XGMEXT) && secs > RT_GMAIL_IDLE_SECS)
        secs = RT_GMAIL_IDLE_SECS;
    return (uint64_t)secs * 1000;
}

/* IDLE; if the server already said something (before "+ idling", or bytes
   are buffered where no socket event would come), take it at once. The
   notifier's wake is rt_notify_wake. */
int rt_watcher_enter_idle(struct rt_watcher *w, uint64_t notice_ns, struct rt_step *next,
                          struct cm_err *err)
{
    int rc;

    for (int round = 0;; round++) {
        rc = ib_idle_start(w->session, &w->idle, err);
        if (rc < 0)
            return rc;
        if ((!ib_idle_buffered(w->session) && !ib_untagged_any(&w->idle.news)) ||
            round == MAX_BUFFERED_ROUNDS)
            break;
        rc = w->notifier ? rt_notify_wake(w, notice_ns ? notice_ns : cm_now_ns(), NULL, err)
                         : wake_once(w, notice_ns ? notice_ns : cm_now_ns(), err);
        if (rc < 0)
            return rc;
    }
    next->state = RT_WATCHER_IDLING;
    next->fd = ib_idle_fd(w->session);
    next->due_ms = ib_idle_buffered(w->session) ? cm_now_ms() : cm_now_ms() + idle_restart_ms(w);
    return 0;
}

/* ---- job steps -------------------------------------------------------- */

static void to_poll(struct rt_watcher *w, struct rt_step *next, const char *why)
{
    char kv[256];

    logkv(w, kv, sizeof(kv));
    cm_info(kv, "realtime: polling the folder with STATUS (%s)", why);
    next->state = RT_WATCHER_POLL;
    next->due_ms = cm_now_ms();
}

static int do_connect(struct rt_watcher *w, const struct ib_creds *cr, struct rt_step *next,
                      struct cm_err *err)
{
    struct rt_hub *hub = w->hub;
    struct ib_selection sel;
    struct ib_status st;
    struct rt_snap now;
    int rc;

    if (!w->budget_held && !rt_watcher_reserve_budget(w)) {
        to_poll(w, next, "connection budget used up");
        return 0;
    }
    rc = ib_session_open(hub->up, cr, &w->session, err);
    if (rc < 0)
        return rc;
    if (!(ib_session_caps(w->session) & IB_CAP_IDLE)) {
        rt_watcher_close_upstream(w, true);
        w->server_no_idle = true;
        to_poll(w, next, "the server has no IDLE");
        return 0;
    }
    rc = ib_session_select(w->session, w->imap_name, hub->set.push_mode != RT_PUSH_SELECT,
                           &sel, err);
    if (rc == 0) /* the counts, UNSEEN included (SELECT has no UNSEEN count) */
        rc = ib_status_get(w->session, w->imap_name, &st, err);
    if (rc < 0)
        return rc;
    snap_from_status(&st, &now);
    rt_watcher_publish(w, &now, NULL, 0);
    rc = rt_watcher_enter_idle(w, 0, next, err);
    if (rc == 0)
        w->attempts = 0;
    return rc;
}

static int do_wake(struct rt_watcher *w, uint64_t notice_ns, struct rt_step *next,
                   struct cm_err *err)
{
    int rc = wake_once(w, notice_ns, err);

    return rc < 0 ? rc : rt_watcher_enter_idle(w, 0, next, err);
}

static int do_poll(struct rt_watcher *w, const struct ib_creds *cr, struct rt_step *next,
                   struct cm_err *err)
{
    struct rt_hub *hub = w->hub;
    struct ib_session *s = NULL;
    struct ib_status st;
    struct rt_snap now;
    int rc;

    if (!w->server_no_idle && rt_watcher_reserve_budget(w)) { /* a slot came free: IDLE again */
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
    rt_watcher_publish(w, &now, NULL, 0);
    w->attempts = 0;
    next->state = RT_WATCHER_POLL;
    next->due_ms = cm_now_ms() + (uint64_t)hub->set.poll_interval_secs * 1000;
    return 0;
}

static void on_error(struct rt_watcher *w, enum rt_watcher_state was, struct rt_step *next,
                     const struct cm_err *err)
{
    uint64_t delay = rt_backoff_ms(w->attempts++, w->hub->set.backoff_max_secs);
    char kv[256];

    if (err->code == CM_ENOENT && w->has_snap && w->snap.uidvalidity != 0) {
        /* The folder is gone: say so once (a resync: its UIDVALIDITY is
           no more); if it comes back, the next snapshot is a resync too. */
        static const struct rt_snap gone = { 0, 0, 0, 0, 0 };

        rt_watcher_publish(w, &gone, NULL, 0);
    }

    logkv(w, kv, sizeof(kv));
    cm_warn(kv, "realtime: watcher failed, retrying in %llu ms: %s", (unsigned long long)delay,
            err->msg);
    rt_watcher_close_upstream(w, false);
    next->state = was == RT_WATCHER_POLL ? RT_WATCHER_POLL : RT_WATCHER_CONNECT;
    next->due_ms = cm_now_ms() + delay;
    next->reconnect = was == RT_WATCHER_IDLING;
}

static void finish(struct rt_watcher *w, const struct rt_step *next)
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
    struct rt_step next = { .state = RT_WATCHER_CONNECT, .fd = -1 };
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
        rt_watcher_close_upstream(w, !stopping);
        next.dead = true;
        finish(w, &next);
        return;
    }
    if (rc == 0 && w->notifier && state == RT_WATCHER_CONNECT)
        rc = rt_notify_connect(w, &cr, &next, &err);
    else if (rc == 0 && w->notifier && state == RT_WATCHER_IDLING)
        rc = rt_notify_wake(w, notice_ns, &next, &err);
    else if (rc == 0 && state == RT_WATCHER_CONNECT)
        rc = do_connect(w, &cr, &next, &err);
    else if (rc == 0 && state == RT_WATCHER_IDLING)
        rc = do_wake(w, notice_ns, &next, &err);
    else if (rc == 0 && state == RT_WATCHER_POLL)
        rc = do_poll(w, &cr, &next, &err);
    else if (rc == 0) /* NOTIFIED: the notifier hears for it; nothing to do */
        next = (struct rt_step){ .state = RT_WATCHER_NOTIFIED, .fd = -1 };
    ib_creds_fini(&cr);
    if (rc < 0)
        on_error(w, state, &next, &err);
    finish(w, &next);
}
