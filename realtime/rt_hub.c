/* rt_hub.c - accounts, watchers and subscriptions: subscribe, unsubscribe,
 * publish with replay ring, stats. The reactor is rt_loop.c, the IMAP work
 * rt_watcher.c. */
#include "realtime/rt_hub.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cm_log.h"
#include "common/cm_time.h"
#include "imapbridge/ib_mutf7.h"
#include "realtime/rt_private.h"

const double rt_latency_bounds_secs[RT_LATENCY_BUCKETS] = { 0.001, 0.005, 0.01, 0.025, 0.05,
                                                            0.1,   0.25,  0.5,  1.0,   2.5 };

#define ID_TABLE_MIN 64

/* Unlink node (with prev/next fields) from the doubly linked list *headp. */
#define DL_UNLINK(headp, node)                   \
    do {                                         \
        if ((node)->prev != NULL)                \
            (node)->prev->next = (node)->next;   \
        else                                     \
            *(headp) = (node)->next;             \
        if ((node)->next != NULL)                \
            (node)->next->prev = (node)->prev;   \
    } while (0)

static void settings_defaults(struct rt_hub_settings *s)
{
    if (s->idle_restart_secs == 0)
        s->idle_restart_secs = 1500;
    if (s->poll_interval_secs == 0)
        s->poll_interval_secs = 60;
    if (s->backoff_max_secs == 0)
        s->backoff_max_secs = 30;
    if (s->ring_size == 0)
        s->ring_size = 256;
    if (s->max_watchers == 0)
        s->max_watchers = 10000;
    if (s->coalesce_ms == 0)
        s->coalesce_ms = 50;
}

int rt_hub_new(const struct rt_hub_settings *set, const struct ib_upstream *up,
               struct ib_pool *pool, struct cm_work *work, struct rt_hub **hub_r,
               struct cm_err *err)
{
    struct rt_hub *hub = calloc(1, sizeof(*hub));
    int rc;

    if (hub == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    hub->set = *set;
    settings_defaults(&hub->set);
    hub->up = up;
    hub->pool = pool;
    hub->work = work;
    hub->next_watcher_id = 1;
    hub->epfd = hub->evfd = -1;
    pthread_mutex_init(&hub->mu, NULL);
    pthread_cond_init(&hub->cond, NULL);
    hub->by_id = calloc(ID_TABLE_MIN, sizeof(*hub->by_id));
    if (hub->by_id == NULL) {
        rt_hub_free(&hub);
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    }
    hub->by_id_size = ID_TABLE_MIN;
    rc = rt_loop_start(hub, err);
    if (rc < 0) {
        rt_hub_free(&hub);
        return rc;
    }
    *hub_r = hub;
    return 0;
}

static void account_free(struct rt_account *a)
{
    free(a->id);
    ib_creds_fini(&a->creds);
    rt_ring_fini(&a->ring);
    ib_folder_list_fini(&a->folders);
    free(a);
}

static void watcher_free(struct rt_watcher *w)
{
    free(w->mailbox);
    free(w->imap_name);
    free(w);
}

void rt_hub_stop(struct rt_hub *hub)
{
    pthread_mutex_lock(&hub->mu);
    hub->stopping = true;
    pthread_mutex_unlock(&hub->mu);
    rt_loop_stop(hub);
    pthread_mutex_lock(&hub->mu);
    while (hub->nbusy > 0) /* jobs see stopping and hand their watcher back */
        pthread_cond_wait(&hub->cond, &hub->mu);
    pthread_mutex_unlock(&hub->mu);
    /* No job or reactor runs now and subscribe refuses: the list is stable.
       Dropping takes the lock itself (budget accounting). */
    for (struct rt_watcher *w = hub->watchers; w != NULL; w = w->next)
        rt_watcher_drop(w); /* no I/O */
    pthread_mutex_lock(&hub->mu);
    for (struct rt_watcher *w = hub->watchers; w != NULL; w = w->next) {
        w->state = RT_WATCHER_CONNECT;
        w->dead = true;
    }
    pthread_mutex_unlock(&hub->mu);
}

void rt_hub_free(struct rt_hub **hubp)
{
    struct rt_hub *hub = *hubp;

    if (hub == NULL)
        return;
    *hubp = NULL;
    rt_hub_stop(hub);
    assert(hub->nsubs == 0);
    while (hub->watchers != NULL) {
        struct rt_watcher *w = hub->watchers;

        hub->watchers = w->next;
        watcher_free(w);
    }
    while (hub->accounts != NULL) {
        struct rt_account *a = hub->accounts;

        hub->accounts = a->next;
        account_free(a);
    }
    if (hub->epfd >= 0)
        close(hub->epfd);
    if (hub->evfd >= 0)
        close(hub->evfd);
    pthread_cond_destroy(&hub->cond);
    pthread_mutex_destroy(&hub->mu);
    free(hub->by_id);
    free(hub);
}

/* ---- watchers by id (hub->mu held) ------------------------------------- */

/* Ids are sequential, so the low bits spread them evenly. */
static struct rt_watcher **id_chain(const struct rt_hub *hub, uint64_t id)
{
    return &hub->by_id[id & (hub->by_id_size - 1)];
}

/* Double the buckets once there are more watchers than buckets; without
   memory the chains just get longer. */
static void id_table_maybe_grow(struct rt_hub *hub)
{
    size_t n = hub->by_id_size * 2;
    struct rt_watcher **t, **old = hub->by_id;
    size_t old_size = hub->by_id_size;

    if (hub->nwatchers < hub->by_id_size || (t = calloc(n, sizeof(*t))) == NULL)
        return;
    hub->by_id = t;
    hub->by_id_size = n;
    for (size_t i = 0; i < old_size; i++) {
        for (struct rt_watcher *w = old[i], *next; w != NULL; w = next) {
            struct rt_watcher **chain = id_chain(hub, w->id);

            next = w->id_next;
            w->id_next = *chain;
            *chain = w;
        }
    }
    free(old);
}

static void id_table_remove(struct rt_hub *hub, struct rt_watcher *w)
{
    for (struct rt_watcher **pp = id_chain(hub, w->id); *pp != NULL; pp = &(*pp)->id_next) {
        if (*pp == w) {
            *pp = w->id_next;
            return;
        }
    }
}

struct rt_watcher *rt_hub_watcher_by_id(struct rt_hub *hub, uint64_t id)
{
    for (struct rt_watcher *w = *id_chain(hub, id); w != NULL; w = w->id_next) {
        if (w->id == id)
            return w;
    }
    return NULL;
}

/* ---- accounts and watchers (hub->mu held) ------------------------------ */

/* A newer login (changed password, refreshed OAuth token) replaces the
   secret the watchers use from their next connect on. hub->mu held; jobs
   copy the credentials under the same lock. */
static void account_refresh_creds(struct rt_account *a, const struct ib_creds *cr)
{
    struct ib_creds fresh;

    if (a->creds.mech == cr->mech && strcmp(a->creds.secret, cr->secret) == 0)
        return;
    if (ib_creds_init(&fresh, a->creds.username, cr->secret, cr->mech) < 0)
        return; /* keep the old ones */
    ib_creds_fini(&a->creds);
    a->creds = fresh;
}

static struct rt_account *account_get(struct rt_hub *hub, const struct rt_sub_params *p)
{
    struct rt_account *a;
    struct timespec ts;

    for (a = hub->accounts; a != NULL; a = a->next) {
        if (strcmp(a->id, p->account_id) == 0) {
            account_refresh_creds(a, p->creds);
            return a;
        }
    }
    a = calloc(1, sizeof(*a));
    if (a == NULL)
        return NULL;
    /* Ids start at the wall clock in ms, so ids of an earlier life of this
       account (another boot, an expired ring) are older and force a resync
       instead of silently matching. */
    clock_gettime(CLOCK_REALTIME, &ts);
    a->id = strdup(p->account_id);
    if (a->id == NULL ||
        ib_creds_init(&a->creds, p->creds->username, p->creds->secret, p->creds->mech) < 0 ||
        rt_ring_init(&a->ring, hub->set.ring_size,
                     (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000) < 0) {
        account_free(a);
        return NULL;
    }
    a->next = hub->accounts;
    hub->accounts = a;
    return a;
}

static void account_maybe_free(struct rt_hub *hub, struct rt_account *a)
{
    struct rt_account **pp;

    if (a->nsubs > 0 || a->nwatchers > 0)
        return;
    for (pp = &hub->accounts; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == a) {
            *pp = a->next;
            account_free(a);
            return;
        }
    }
}

static struct rt_watcher *watcher_new(struct rt_hub *hub, struct rt_account *a,
                                      const char *mailbox, struct cm_err *err)
{
    struct rt_watcher *w;

    if (hub->nwatchers >= hub->set.max_watchers) {
        cm_err_set(err, CM_ELIMIT, "too many watched folders on this instance");
        return NULL;
    }
    w = calloc(1, sizeof(*w));
    if (w == NULL || (w->mailbox = strdup(mailbox)) == NULL) {
        free(w);
        cm_err_set(err, CM_ENOMEM, "out of memory");
        return NULL;
    }
    w->imap_name = ib_utf8_to_mutf7(mailbox);
    if (w->imap_name == NULL) {
        watcher_free(w);
        cm_err_set(err, CM_EINVAL, "mailbox name is not valid UTF-8");
        return NULL;
    }
    w->id = hub->next_watcher_id++;
    w->hub = hub;
    w->acct = a;
    w->fd = -1;
    w->state = RT_WATCHER_CONNECT;
    w->due_ms = cm_now_ms();
    if (a->notify != RT_NOTIFY_OFF && mailbox[0] != '\0') {
        w->state = RT_WATCHER_NOTIFIED; /* the account's notifier hears for it */
        w->due_ms = 0;
    } else if (hub->set.max_idle_per_account == RT_IDLE_UNLIMITED ||
               a->nconns < hub->set.max_idle_per_account) {
        /* Claim an IDLE slot now, in the order the subscriber named the
           folders (INBOX first): the jobs that connect run in any order,
           and the first folders must not end up polled. */
        a->nconns++;
        w->slot_claimed = true;
    }
    w->next = hub->watchers;
    if (hub->watchers != NULL)
        hub->watchers->prev = w;
    hub->watchers = w;
    w->acct_next = a->watchers;
    a->watchers = w;
    hub->nwatchers++;
    a->nwatchers++;
    id_table_maybe_grow(hub);
    w->id_next = *id_chain(hub, w->id);
    *id_chain(hub, w->id) = w;
    return w;
}

static struct rt_watcher *watcher_get(struct rt_hub *hub, struct rt_account *a,
                                      const char *mailbox, struct cm_err *err)
{
    for (struct rt_watcher *w = a->watchers; w != NULL; w = w->acct_next) {
        if (!w->closing && !w->dead && strcmp(w->mailbox, mailbox) == 0)
            return w;
    }
    return watcher_new(hub, a, mailbox, err);
}

void rt_hub_reap_locked(struct rt_hub *hub, struct rt_watcher *w)
{
    struct rt_watcher **pp;

    if (w->acct->notifier == w) {
        w->acct->notifier = NULL;
        /* Folders still heard through it (a subscriber came back during
           the grace period) get their own connections. */
        rt_notify_fall_back_locked(hub, w->acct, false);
    }
    assert(w->subs == NULL);
    DL_UNLINK(&hub->watchers, w);
    for (pp = &w->acct->watchers; *pp != NULL; pp = &(*pp)->acct_next) {
        if (*pp == w) {
            *pp = w->acct_next;
            break;
        }
    }
    id_table_remove(hub, w);
    hub->nwatchers--;
    w->acct->nwatchers--;
    if (w->slot_claimed)
        w->acct->nconns--;
    account_maybe_free(hub, w->acct);
    watcher_free(w);
}

/* ---- delivery --------------------------------------------------------- */

static bool sub_has_mailbox(const struct rt_sub *s, const char *mailbox)
{
    for (size_t i = 0; i < s->nwatchers; i++) {
        if (strcmp(s->watchers[i]->mailbox, mailbox) == 0)
            return true;
    }
    return false;
}

static void record_latency(struct rt_hub_stats *st, uint64_t notice_ns)
{
    double secs = (double)(cm_now_ns() - notice_ns) / 1e9;

    st->latency_count++;
    st->latency_sum_secs += secs;
    for (size_t i = 0; i < RT_LATENCY_BUCKETS; i++) {
        if (secs <= rt_latency_bounds_secs[i])
            st->latency_buckets[i]++;
    }
}

static void deliver(struct rt_hub *hub, struct rt_sub *s, const struct rt_event *ev)
{
    if (s->stopped)
        return;
    if (s->cb(ev, s->ctx) < 0) {
        s->stopped = true;
        hub->stats.dropped_total++;
        return;
    }
    hub->stats.delivered_total++;
    if (ev->notice_ns != 0)
        record_latency(&hub->stats, ev->notice_ns);
}

/* The folder's counts in the account's folder list (the base of its JMAP
   states). A folder that is gone leaves the Email state. */
static void note_folder_locked(struct rt_account *a, const char *mailbox, const struct rt_snap *sn)
{
    struct ib_folder *f = ib_folder_by_path(&a->folders, mailbox);

    if (f == NULL)
        return; /* created after the listing: its next listing shows it */
    f->has_status = sn->uidvalidity != 0;
    f->uidvalidity = sn->uidvalidity;
    f->uidnext = sn->uidnext;
    f->total = sn->exists;
    f->unread = sn->unseen;
    f->highestmodseq = sn->highestmodseq;
}

/* FLAGS only when every gathered change was a flag change, else NEW (all
   types); the first change as it is. */
static enum rt_reason gather_reason(enum rt_reason was, enum rt_reason r)
{
    if (was == RT_REASON_NONE || was == r)
        return r;
    return RT_REASON_NEW;
}

void rt_hub_publish_locked(struct rt_hub *hub, struct rt_watcher *w, const char *states,
                           const struct rt_snap *snap, enum rt_reason reason, uint64_t notice_ns)
{
    struct rt_account *a = w->acct;
    const struct rt_ring_event *e = rt_ring_push(&a->ring, w->mailbox, snap, reason, states);
    struct rt_event ev;

    if (e == NULL) {
        cm_warn("", "realtime: out of memory; event lost");
        return;
    }
    hub->stats.published_total++;
    ev = (struct rt_event){ e->id, a->id, e->mailbox, &e->snap, reason, notice_ns, e->states };
    for (struct rt_sub_link *l = w->subs; l != NULL; l = l->next) {
        if (!l->sub->want_states) /* those get the account-wide event below */
            deliver(hub, l->sub, &ev);
    }
    if (a->nstate_subs == 0)
        return;
    note_folder_locked(a, w->mailbox, snap);
    a->states_reason = gather_reason(a->states_reason, reason);
    if (a->states_due_ms == 0) {
        a->states_due_ms = cm_now_ms() + hub->set.coalesce_ms;
        a->states_notice_ns = notice_ns;
        rt_loop_wake(hub);
    }
}

/* One account-wide event with the states after the gathered changes. */
static void publish_states_locked(struct rt_hub *hub, struct rt_account *a)
{
    char *states = NULL;
    const struct rt_ring_event *e;
    struct rt_event ev;

    if (hub->set.states_fn != NULL &&
        hub->set.states_fn(hub->set.states_ctx, &a->folders, &states) < 0)
        states = NULL; /* clients get opaque states and resynchronise */
    e = rt_ring_push(&a->ring, "", NULL, a->states_reason, states);
    free(states);
    if (e == NULL) {
        cm_warn("", "realtime: out of memory; event lost");
        return;
    }
    hub->stats.published_total++;
    ev = (struct rt_event){ e->id, a->id, e->mailbox, &e->snap, e->reason, a->states_notice_ns,
                            e->states };
    for (struct rt_sub *s = a->subs; s != NULL; s = s->next) {
        if (s->want_states)
            deliver(hub, s, &ev);
    }
}

void rt_hub_flush_states_locked(struct rt_hub *hub, uint64_t now_ms)
{
    for (struct rt_account *a = hub->accounts; a != NULL; a = a->next) {
        if (a->states_due_ms == 0 || a->states_due_ms > now_ms)
            continue;
        if (a->nstate_subs > 0)
            publish_states_locked(hub, a);
        a->states_due_ms = 0;
        a->states_reason = RT_REASON_NONE;
    }
}

uint64_t rt_hub_next_states_due_locked(struct rt_hub *hub)
{
    uint64_t best = 0;

    for (struct rt_account *a = hub->accounts; a != NULL; a = a->next) {
        if (a->states_due_ms != 0 && (best == 0 || a->states_due_ms < best))
            best = a->states_due_ms;
    }
    return best;
}

/* Replay the ring after last_id to s; false when the ring does not cover
   it. Account-wide events go to want_states subscribers, folder events to
   the others. */
static bool replay(struct rt_hub *hub, struct rt_sub *s, uint64_t last_id)
{
    const struct rt_ring *r = &s->acct->ring;
    size_t start;

    if (!rt_ring_covers(r, last_id, &start))
        return false;
    for (size_t i = start; i < r->count; i++) {
        const struct rt_ring_event *e = rt_ring_at(r, i);
        struct rt_event ev = { e->id, s->acct->id, e->mailbox, &e->snap, e->reason, 0, e->states };
        bool account_wide = e->mailbox[0] == '\0';

        if (account_wide ? s->want_states : !s->want_states && sub_has_mailbox(s, e->mailbox))
            deliver(hub, s, &ev);
    }
    return true;
}

/* ---- subscribe -------------------------------------------------------- */

static void release_watchers_locked(struct rt_hub *hub, struct rt_sub *s)
{
    uint64_t now = cm_now_ms();

    for (size_t i = 0; i < s->nwatchers; i++) {
        struct rt_watcher *w = s->watchers[i];
        struct rt_sub_link *l = &s->links[i];

        DL_UNLINK(&w->subs, l);
        assert(w->refcount > 0);
        if (--w->refcount == 0)
            w->grace_until_ms = now + (uint64_t)hub->set.watch_grace_secs * 1000;
    }
    s->nwatchers = 0;
}

/* s no longer counts in its account; the last one starts the notifier's
   grace period (rt_loop.c: unused). */
static void account_drop_sub_locked(struct rt_hub *hub, struct rt_sub *s)
{
    struct rt_account *a = s->acct;

    a->nsubs--;
    a->nstate_subs -= s->want_states;
    if (a->nsubs == 0 && a->notifier != NULL)
        a->notifier->grace_until_ms = cm_now_ms() + (uint64_t)hub->set.watch_grace_secs * 1000;
}

/* The account's NOTIFY watcher, created with its first subscription when
   push_mode allows NOTIFY and the server has not refused it. It is in use
   while the account has subscriptions (acct->nsubs; no subscription links
   to it, so it can end, e.g. when the server has no NOTIFY, while they
   live). NULL when not used. */
static struct rt_watcher *notifier_get(struct rt_hub *hub, struct rt_account *a,
                                       struct cm_err *err)
{
    struct rt_watcher *w = a->notifier;

    if (w != NULL && !w->closing && !w->dead)
        return w;
    if (a->no_notify ||
        (hub->set.push_mode != RT_PUSH_AUTO && hub->set.push_mode != RT_PUSH_NOTIFY))
        return NULL;
    if (w != NULL) /* an old one on its way out: hear through the new one */
        w->acct->notifier = NULL;
    a->notify = RT_NOTIFY_OFF; /* the notifier itself takes a connection slot */
    w = watcher_new(hub, a, "", err);
    if (w == NULL)
        return NULL;
    w->notifier = true;
    a->notifier = w;
    a->notify = RT_NOTIFY_TRYING;
    return w;
}

/* s holds w: a reference, and s in w's list of subscriptions. */
static void link_watcher(struct rt_sub *s, struct rt_watcher *w)
{
    struct rt_sub_link *l = &s->links[s->nwatchers];

    w->refcount++;
    l->sub = s;
    l->prev = NULL;
    l->next = w->subs;
    if (w->subs != NULL)
        w->subs->prev = l;
    w->subs = l;
    s->watchers[s->nwatchers++] = w;
}

static int attach_watchers(struct rt_hub *hub, struct rt_sub *s, const struct rt_sub_params *p,
                           struct cm_err *err)
{
    struct rt_watcher *nw = notifier_get(hub, s->acct, err);

    if (nw == NULL && err != NULL && err->code < 0)
        return err->code;
    for (size_t i = 0; i < p->nmailboxes; i++) {
        struct rt_watcher *w = watcher_get(hub, s->acct, p->mailboxes[i], err);

        if (w == NULL)
            return err ? err->code : CM_ENOMEM;
        if (w->refcount == 0 && !w->has_snap && !w->busy && p->baselines != NULL) {
            w->snap = p->baselines[i]; /* job-owned, but no job has run yet */
            w->has_snap = true;
        }
        link_watcher(s, w);
    }
    return 0;
}

int rt_hub_subscribe(struct rt_hub *hub, const struct rt_sub_params *p, rt_event_cb *cb,
                     void *ctx, struct rt_sub **sub_r, bool *resync_r, uint64_t *last_id_r,
                     struct cm_err *err)
{
    struct rt_sub *s = calloc(1, sizeof(*s));
    int rc = 0;

    *resync_r = false;
    if (s == NULL || (s->watchers = calloc(p->nmailboxes, sizeof(*s->watchers))) == NULL ||
        (s->links = calloc(p->nmailboxes, sizeof(*s->links))) == NULL) {
        if (s != NULL)
            free(s->watchers);
        free(s);
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    }
    s->hub = hub;
    s->cb = cb;
    s->ctx = ctx;
    pthread_mutex_lock(&hub->mu);
    s->acct = hub->stopping ? NULL : account_get(hub, p);
    if (s->acct == NULL) {
        rc = cm_err_set(err, hub->stopping ? CM_EAGAIN : CM_ENOMEM, "cannot subscribe now");
        goto out;
    }
    s->acct->nsubs++;
    s->want_states = p->want_states;
    s->acct->nstate_subs += s->want_states;
    if (s->want_states && p->folders != NULL) {
        struct ib_folder_list copy;

        if (ib_folder_list_dup(p->folders, &copy) == 0) { /* else keep the older base */
            ib_folder_list_fini(&s->acct->folders);
            s->acct->folders = copy;
        }
    }
    rc = attach_watchers(hub, s, p, err);
    if (rc < 0) {
        release_watchers_locked(hub, s);
        account_drop_sub_locked(hub, s);
        account_maybe_free(hub, s->acct); /* its fresh watchers keep it until reaped */
        goto out;
    }
    if (p->has_last_id)
        *resync_r = !replay(hub, s, p->last_id);
    if (last_id_r != NULL)
        *last_id_r = rt_ring_last_id(&s->acct->ring);
    s->next = s->acct->subs;
    if (s->acct->subs != NULL)
        s->acct->subs->prev = s;
    s->acct->subs = s;
    hub->nsubs++;
    rt_loop_wake(hub);
out:
    pthread_mutex_unlock(&hub->mu);
    if (rc < 0) {
        free(s->watchers);
        free(s->links);
        free(s);
        return rc;
    }
    *sub_r = s;
    return 0;
}

void rt_hub_unsubscribe(struct rt_hub *hub, struct rt_sub **subp)
{
    struct rt_sub *s = *subp;

    if (s == NULL)
        return;
    *subp = NULL;
    pthread_mutex_lock(&hub->mu);
    DL_UNLINK(&s->acct->subs, s);
    hub->nsubs--;
    release_watchers_locked(hub, s);
    account_drop_sub_locked(hub, s);
    account_maybe_free(hub, s->acct);
    rt_loop_wake(hub);
    pthread_mutex_unlock(&hub->mu);
    free(s->watchers);
    free(s->links);
    free(s);
}

void rt_hub_stats(struct rt_hub *hub, struct rt_hub_stats *st)
{
    pthread_mutex_lock(&hub->mu);
    *st = hub->stats;
    st->subscribers = hub->nsubs;
    st->watchers = st->idle_conns = st->polled = st->live_folders = 0;
    for (struct rt_watcher *w = hub->watchers; w != NULL; w = w->next) {
        if (w->dead)
            continue;
        if (w->state == RT_WATCHER_IDLING)
            st->idle_conns++;
        if (w->notifier)
            continue; /* a connection, not a folder */
        st->watchers++;
        if (w->state == RT_WATCHER_POLL)
            st->polled++;
        else if (w->state == RT_WATCHER_IDLING ||
                 (w->state == RT_WATCHER_NOTIFIED && w->acct->notify == RT_NOTIFY_ON))
            st->live_folders++;
    }
    pthread_mutex_unlock(&hub->mu);
}
