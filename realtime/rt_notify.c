/* rt_notify.c - the account's NOTIFY watcher (RFC 5465): one upstream
 * connection hears of every folder of the account. After login it sends
 * NOTIFY SET STATUS (personal (MessageNew MessageExpunge FlagChange
 * MailboxName SubscriptionChange)) and IDLEs; the server then reports each
 * change as an untagged STATUS of that folder (Dovecot sends partial ones:
 * only HIGHESTMODSEQ after a flag change), merged here into the snapshot of
 * the folder's watcher, which is published like an IDLE watcher's. The
 * STATUS of every folder that answers NOTIFY SET also resynchronises the
 * folders after a reconnect. Without NOTIFY the account's folder watchers
 * go back to one IDLE connection each (rt_notify_fall_back_locked).
 *
 * Runs inside the notifier's watcher job (rt_watcher.c); the folder
 * watchers it updates are NOTIFIED, so no job owns them: their snapshots
 * are changed under hub->mu. */
#include <stdlib.h>
#include <string.h>

#include "common/cm_log.h"
#include "common/cm_time.h"
#include "imapbridge/ib_idle.h"
#include "imapbridge/ib_session.h"
#include "imapbridge/ib_status.h"
#include "realtime/rt_private.h"

static void snap_merge(struct rt_snap *s, const struct ib_status_line *st)
{
    if (st->have & IB_ST_MESSAGES)
        s->exists = st->messages;
    if (st->have & IB_ST_UIDNEXT)
        s->uidnext = st->uidnext;
    if (st->have & IB_ST_UIDVALIDITY)
        s->uidvalidity = st->uidvalidity;
    if (st->have & IB_ST_UNSEEN)
        s->unseen = st->unseen;
    if (st->have & IB_ST_HIGHESTMODSEQ)
        s->highestmodseq = st->highestmodseq;
}

/* A folder watcher of the account heard through NOTIFY. hub->mu. */
static bool is_notified_folder(const struct rt_watcher *f, const struct rt_account *a)
{
    return f->acct == a && !f->notifier && !f->dead && f->state == RT_WATCHER_NOTIFIED;
}

static bool names_folder(const struct rt_watcher *f, const char *name)
{
    /* Dovecot 2.3 names non-ASCII folders in NOTIFY's STATUS and LIST in
       UTF-8 (a literal), not in modified UTF-7: take either. */
    return strcmp(name, f->imap_name) == 0 || strcmp(name, f->mailbox) == 0;
}

static void apply_one_locked(struct rt_hub *hub, struct rt_watcher *f,
                             const struct ib_status_line *st, uint64_t notice_ns)
{
    struct rt_snap now = f->has_snap ? f->snap : (struct rt_snap){ 0 };
    enum rt_reason reason;

    if (!f->has_snap && !(st->have & IB_ST_UIDVALIDITY))
        return; /* a partial STATUS of a folder we know nothing of yet */
    snap_merge(&now, st);
    reason = f->has_snap ? rt_snap_reason(&f->snap, &now, NULL) : RT_REASON_NONE;
    if (reason != RT_REASON_NONE)
        rt_hub_publish_locked(hub, f, NULL, &now, reason, notice_ns ? notice_ns : cm_now_ns());
    f->snap = now;
    f->has_snap = true;
}

/* Every STATUS of the news to the folder watchers it names. */
static void apply_statuses(struct rt_watcher *nw, const struct ib_untagged *n,
                           uint64_t notice_ns)
{
    struct rt_hub *hub = nw->hub;

    if (n->nstatuses == 0)
        return;
    pthread_mutex_lock(&hub->mu);
    for (struct rt_watcher *f = nw->acct->watchers; f != NULL; f = f->acct_next) {
        if (!is_notified_folder(f, nw->acct))
            continue;
        for (size_t i = 0; i < n->nstatuses; i++) {
            if (names_folder(f, n->statuses[i].imap_name))
                apply_one_locked(hub, f, &n->statuses[i], notice_ns);
        }
    }
    pthread_mutex_unlock(&hub->mu);
}

/* LIST events (MailboxName): a watched folder deleted gets one resync
   (all zero, as an IDLE watcher publishes it); one that comes back is
   asked its STATUS (*recheck_r). */
static void apply_lists(struct rt_watcher *nw, const struct ib_untagged *n, bool *recheck_r)
{
    static const struct ib_status_line gone = { NULL, IB_ST_MESSAGES | IB_ST_UIDNEXT |
                                                          IB_ST_UIDVALIDITY | IB_ST_UNSEEN |
                                                          IB_ST_HIGHESTMODSEQ,
                                                0, 0, 0, 0, 0, NULL };
    struct rt_hub *hub = nw->hub;

    *recheck_r = false;
    pthread_mutex_lock(&hub->mu);
    for (struct rt_watcher *f = nw->acct->watchers; f != NULL; f = f->acct_next) {
        if (!is_notified_folder(f, nw->acct))
            continue;
        for (size_t i = 0; i < n->nlists; i++) {
            if (!names_folder(f, n->lists[i].imap_name))
                continue;
            if (n->lists[i].gone && f->has_snap && f->snap.uidvalidity != 0)
                apply_one_locked(hub, f, &gone, 0);
            else if (!n->lists[i].gone && (!f->has_snap || f->snap.uidvalidity == 0))
                *recheck_r = true;
        }
    }
    pthread_mutex_unlock(&hub->mu);
}

/* Something the notifier did not understand: ask STATUS of every folder
   it stands for (rare: the server sends STATUS, LIST and keep-alives). */
static int status_all(struct rt_watcher *nw, uint64_t notice_ns, struct cm_err *err)
{
    struct rt_hub *hub = nw->hub;
    struct ib_untagged asked = { 0 };
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;

    pthread_mutex_lock(&hub->mu);
    for (struct rt_watcher *f = nw->acct->watchers; f != NULL && rc == 0; f = f->acct_next) {
        if (!is_notified_folder(f, nw->acct))
            continue;
        if (n == cap) {
            char **p = realloc(names, (cap = cap ? cap * 2 : 8) * sizeof(*p));

            if (p == NULL)
                rc = cm_err_set(err, CM_ENOMEM, "out of memory");
            else
                names = p;
        }
        if (rc == 0 && (names[n] = strdup(f->imap_name)) != NULL)
            n++;
    }
    pthread_mutex_unlock(&hub->mu);
    asked.statuses = calloc(n ? n : 1, sizeof(*asked.statuses));
    for (size_t i = 0; rc == 0 && asked.statuses != NULL && i < n; i++) {
        struct ib_status st;

        rc = ib_status_get(nw->session, names[i], &st, err);
        if (rc == CM_ENOENT) { /* deleted: all zero, a resync for its subscribers */
            rc = 0;
            st = (struct ib_status){ 0 };
        }
        asked.statuses[asked.nstatuses++] = (struct ib_status_line){
            names[i], IB_ST_MESSAGES | IB_ST_UIDNEXT | IB_ST_UIDVALIDITY | IB_ST_UNSEEN |
                          IB_ST_HIGHESTMODSEQ,
            st.messages, st.uidnext, st.uidvalidity, st.unseen, st.highestmodseq, NULL
        };
        names[i] = NULL; /* owned by asked now */
    }
    if (rc == 0)
        apply_statuses(nw, &asked, notice_ns);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    ib_untagged_reset(&asked);
    return rc;
}

/* Take what the news say, then forget them. */
static int take_news(struct rt_watcher *nw, uint64_t notice_ns, struct cm_err *err)
{
    struct ib_untagged *n = &nw->idle.news;
    bool doubt = n->other, recheck = false;
    int rc = 0;

    apply_statuses(nw, n, notice_ns);
    if (n->nlists > 0)
        apply_lists(nw, n, &recheck);
    ib_untagged_reset(n);
    if (doubt || recheck)
        rc = status_all(nw, notice_ns, err);
    return rc;
}

/* Stop trying NOTIFY for this account: the job ends the notifier. */
static void give_up(struct rt_watcher *nw, struct rt_step *next, const char *why)
{
    struct rt_hub *hub = nw->hub;
    char kv[256] = "";

    cm_log_kv(kv, sizeof(kv), "account", nw->acct->id);
    cm_info(kv, "realtime: watching each folder with IDLE (%s)", why);
    rt_watcher_close_upstream(nw, true);
    pthread_mutex_lock(&hub->mu);
    rt_notify_fall_back_locked(hub, nw->acct, true);
    pthread_mutex_unlock(&hub->mu);
    next->dead = true;
}

int rt_notify_connect(struct rt_watcher *nw, const struct ib_creds *cr, struct rt_step *next,
                      struct cm_err *err)
{
    struct rt_hub *hub = nw->hub;
    unsigned int caps;
    int rc;

    if (!nw->budget_held && !rt_watcher_reserve_budget(nw)) {
        give_up(nw, next, "connection budget used up");
        return 0;
    }
    rc = ib_session_open(hub->up, cr, &nw->session, err);
    if (rc < 0)
        return rc;
    caps = ib_session_caps(nw->session);
    if (!(caps & IB_CAP_NOTIFY) || !(caps & IB_CAP_IDLE)) {
        give_up(nw, next, "the server has no NOTIFY");
        return 0;
    }
    rc = ib_notify_set(nw->session, &nw->idle.news, err);
    if (rc == CM_EUPSTREAM && !ib_session_is_broken(nw->session)) {
        give_up(nw, next, err->msg);
        return 0;
    }
    if (rc == 0)
        rc = take_news(nw, 0, err); /* every folder's STATUS: what was missed */
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&hub->mu);
    nw->acct->notify = RT_NOTIFY_ON;
    pthread_mutex_unlock(&hub->mu);
    rc = rt_watcher_enter_idle(nw, 0, next, err);
    if (rc == 0)
        nw->attempts = 0;
    return rc;
}

int rt_notify_wake(struct rt_watcher *nw, uint64_t notice_ns, struct rt_step *next,
                   struct cm_err *err)
{
    int rc = ib_idle_done(nw->session, &nw->idle, 0, err);

    if (rc == 0)
        rc = take_news(nw, notice_ns, err);
    if (rc == 0 && next != NULL)
        rc = rt_watcher_enter_idle(nw, 0, next, err);
    return rc;
}

/* The NOTIFIED folder watcher of a with the smallest id (the first
   subscribed: INBOX first) that has no slot yet, or NULL. */
static struct rt_watcher *first_unclaimed(struct rt_hub *hub, struct rt_account *a)
{
    struct rt_watcher *best = NULL;

    for (struct rt_watcher *f = a->watchers; f != NULL; f = f->acct_next) {
        if (is_notified_folder(f, a) && !f->slot_claimed && (best == NULL || f->id < best->id))
            best = f;
    }
    return best;
}

void rt_notify_fall_back_locked(struct rt_hub *hub, struct rt_account *a, bool for_good)
{
    unsigned int max = hub->set.max_idle_per_account;
    struct rt_watcher *f;

    a->notify = RT_NOTIFY_OFF;
    a->no_notify = a->no_notify || for_good;
    /* Slots in subscription order, as watcher creation would have claimed
       them; the rest poll when their job finds the budget used up. */
    while ((max == RT_IDLE_UNLIMITED || a->nconns < max) &&
           (f = first_unclaimed(hub, a)) != NULL) {
        f->slot_claimed = true;
        a->nconns++;
        f->state = RT_WATCHER_CONNECT; /* no longer a candidate */
        f->due_ms = cm_now_ms();
    }
    for (f = a->watchers; f != NULL; f = f->acct_next) {
        if (is_notified_folder(f, a)) {
            f->state = RT_WATCHER_CONNECT;
            f->due_ms = cm_now_ms();
        }
    }
    rt_loop_wake(hub);
}
