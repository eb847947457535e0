/* rt_private.h - structures shared by rt_hub.c, rt_watcher.c and rt_loop.c.
 *
 * Locking: hub->mu protects every field below except where a comment says
 * "job": those belong to the worker job that currently owns the watcher
 * (w->busy set under the lock), and nobody else touches them meanwhile.
 * A watcher's fd is in the epoll set iff armed (only while IDLING and not
 * busy; a watcher deferred for lack of job slots is IDLING, disarmed, due
 * soon). Watchers are freed only by the reactor, at its safe point, once
 * dead and not busy.
 */
#ifndef RT_PRIVATE_H
#define RT_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>

#include "imapbridge/ib_idle.h"
#include "imapbridge/ib_mailbox.h"
#include "imapbridge/ib_upstream.h"
#include "realtime/rt_hub.h"
#include "realtime/rt_ring.h"

struct ib_session;

enum rt_watcher_state {
    RT_WATCHER_CONNECT = 0, /* (re)connect when due */
    RT_WATCHER_IDLING,      /* in IDLE; fd in epoll; due = re-IDLE time */
    RT_WATCHER_POLL,        /* STATUS polling when due */
    RT_WATCHER_NOTIFIED     /* a folder heard through the account's NOTIFY
                               connection: no connection or timer of its own */
};

/* Does the account hear its folders through one NOTIFY connection? */
enum rt_notify {
    RT_NOTIFY_OFF = 0,      /* per-folder IDLE (or polling) */
    RT_NOTIFY_TRYING,       /* the notifier is connecting: folders wait */
    RT_NOTIFY_ON            /* the notifier is in NOTIFY + IDLE */
};

struct rt_sub_link;

struct rt_account {
    char *id;
    struct ib_creds creds;     /* replaced by a newer login; jobs copy it under hub->mu */
    struct rt_ring ring;
    size_t nsubs, nwatchers;
    size_t nstate_subs;        /* subscriptions with want_states */
    size_t nconns;             /* watchers holding an upstream connection slot */
    enum rt_notify notify;
    bool no_notify;            /* NOTIFY failed for good: per-folder watchers only */
    struct rt_watcher *notifier; /* the account's NOTIFY watcher, or NULL */
    /* JMAP states (only while nstate_subs > 0): */
    struct ib_folder_list folders; /* the base (from the subscriber's listing), with
                                      the counts of every change seen since */
    uint64_t states_due_ms;    /* an account-wide event is due (0: none) */
    enum rt_reason states_reason; /* what the gathered changes were */
    uint64_t states_notice_ns; /* the first gathered change's upstream notice */
    struct rt_account *next;
    struct rt_watcher *watchers; /* this account's watchers, through w->acct_next */
    struct rt_sub *subs;       /* this account's subscriptions (doubly linked) */
};

struct rt_watcher {
    uint64_t id;               /* epoll key (never reused) */
    struct rt_hub *hub;
    struct rt_account *acct;
    char *mailbox;             /* UTF-8 path */
    char *imap_name;           /* modified UTF-7 */
    unsigned int refcount;     /* subscriptions */
    enum rt_watcher_state state;
    bool busy;                 /* a job owns the watcher */
    bool closing;              /* grace over or hub stopping: the next job closes */
    bool dead;                 /* closed: the reactor frees it */
    bool budget_held;          /* job */
    bool slot_claimed;         /* hub lock: an IDLE slot counted at creation, in subscription
                                  order (INBOX first), not yet taken by the job */
    bool notifier;             /* the account's NOTIFY connection (mailbox "") */
    struct ib_idle idle;       /* job: IDLE in progress and what arrived */
    bool server_no_idle;       /* job: polled because the server has no IDLE */
    bool has_snap;
    struct rt_snap snap;       /* last known state of the folder */
    struct ib_session *session; /* job */
    int fd;                    /* IDLE socket while IDLING */
    bool armed;                /* fd in the reactor's epoll set */
    uint64_t due_ms;           /* next timer (0: none) */
    uint64_t grace_until_ms;   /* with refcount 0 */
    unsigned int attempts;     /* failed connects in a row */
    uint64_t notice_ns;        /* when the reactor saw the socket readable */
    struct rt_watcher *next;
    struct rt_watcher *prev;      /* in hub->watchers (O(1) reaping) */
    struct rt_watcher *acct_next; /* in acct->watchers */
    struct rt_watcher *id_next;   /* in the hub's id table chain */
    struct rt_sub_link *subs;     /* subscriptions of this folder (doubly linked
                                     through rt_sub_link.prev/next): a publish
                                     touches only these */
};

/* One (subscription, watcher) pair: sub->links[i] belongs to
   sub->watchers[i] and sits in that watcher's subs list while attached.
   Owned by the subscription (an array of nwatchers). */
struct rt_sub_link {
    struct rt_sub *sub;
    struct rt_sub_link *prev, *next;
};

struct rt_sub {
    struct rt_hub *hub;
    struct rt_account *acct;
    struct rt_watcher **watchers;
    size_t nwatchers;
    rt_event_cb *cb;
    void *ctx;
    bool stopped;              /* cb asked to stop delivery */
    bool want_states;          /* counted in acct->nstate_subs */
    struct rt_sub *next;       /* in acct->subs */
    struct rt_sub *prev;       /* in acct->subs (O(1) unsubscribe) */
    struct rt_sub_link *links; /* parallel to watchers */
};

struct rt_hub {
    struct rt_hub_settings set;
    const struct ib_upstream *up;
    struct ib_pool *pool;
    struct cm_work *work;
    pthread_mutex_t mu;
    pthread_cond_t cond;       /* a job finished (rt_hub_free waits) */
    struct rt_account *accounts;
    struct rt_watcher *watchers;
    struct rt_watcher **by_id; /* watchers by id: chained buckets, a power of two */
    size_t by_id_size;         /* buckets; grown to keep chains short */
    size_t nsubs, nwatchers, nbusy; /* nbusy: watcher jobs queued or running */
    uint64_t next_watcher_id;
    bool stopping;
    int epfd, evfd;            /* reactor epoll set, its wake-up eventfd */
    pthread_t thread;
    bool thread_started;
    struct rt_hub_stats stats; /* counters; gauges are computed on demand */
};

/* rt_loop.c */
int rt_loop_start(struct rt_hub *hub, struct cm_err *err);
void rt_loop_stop(struct rt_hub *hub);            /* joins the reactor */
void rt_loop_wake(struct rt_hub *hub);            /* any thread */
void rt_loop_arm(struct rt_hub *hub, struct rt_watcher *w); /* hub->mu: add IDLE fd */

/* rt_notify.c: the notifier's steps, run inside its watcher job. */
struct rt_step {
    enum rt_watcher_state state;
    uint64_t due_ms;
    int fd;
    bool dead, reconnect;
};
int rt_notify_connect(struct rt_watcher *w, const struct ib_creds *cr, struct rt_step *next,
                      struct cm_err *err);
int rt_notify_wake(struct rt_watcher *w, uint64_t notice_ns, struct rt_step *next,
                   struct cm_err *err);
/* The account's NOTIFIED folder watchers go back to their own connections
   (IDLE, or polling beyond the budget); for_good: the server has no NOTIFY,
   never try it again for this account. hub->mu held. */
void rt_notify_fall_back_locked(struct rt_hub *hub, struct rt_account *a, bool for_good);

/* rt_watcher.c: the worker job; arg is the watcher (busy set). */
void rt_watcher_job(void *arg);
/* Drop every upstream resource of a watcher now (no I/O); hub->mu not
   needed: only when no job runs (shutdown). */
void rt_watcher_drop(struct rt_watcher *w);
uint64_t rt_backoff_ms(unsigned int attempts, unsigned int max_secs);
/* Shared by rt_watcher.c and rt_notify.c (job context). */
void rt_watcher_publish(struct rt_watcher *w, const struct rt_snap *now,
                        const struct rt_seen *seen, uint64_t notice_ns);
bool rt_watcher_reserve_budget(struct rt_watcher *w);
/* End the upstream connection (polite: DONE + LOGOUT with short waits)
   and give back its budget slot. */
void rt_watcher_close_upstream(struct rt_watcher *w, bool polite);
/* Enter IDLE; take what is already buffered at once. */
int rt_watcher_enter_idle(struct rt_watcher *w, uint64_t notice_ns, struct rt_step *next,
                          struct cm_err *err);

/* rt_hub.c */
/* Publish a change of w's folder: push to the account ring, deliver to
   every subscriber of w without want_states, and, when the account has
   such subscribers, note the change for the next account-wide event.
   hub->mu held. */
void rt_hub_publish_locked(struct rt_hub *hub, struct rt_watcher *w, const char *states,
                           const struct rt_snap *snap,
                           enum rt_reason reason, uint64_t notice_ns);
/* Emit the account-wide events that are due (reactor). hub->mu held. */
void rt_hub_flush_states_locked(struct rt_hub *hub, uint64_t now_ms);
/* When the next one is due (0: none). hub->mu held. */
uint64_t rt_hub_next_states_due_locked(struct rt_hub *hub);
/* The watcher with this id, or NULL (O(1) on average). hub->mu held. */
struct rt_watcher *rt_hub_watcher_by_id(struct rt_hub *hub, uint64_t id);
/* Free a dead watcher and, when unused, its account. hub->mu held. */
void rt_hub_reap_locked(struct rt_hub *hub, struct rt_watcher *w);

#endif
