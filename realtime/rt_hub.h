/* rt_hub.h - fan-out of IMAP IDLE notifications to SSE subscribers.
 *
 * The hub keeps one watcher per (account, folder) that has at least one
 * subscriber on this instance: its own upstream IMAP connection (opened
 * with ib_session_open, not taken from the request pool, but counted in the
 * account's budget with ib_pool_budget_reserve) EXAMINEd on the folder and
 * in IDLE. Watchers are reference counted by subscriptions and closed
 * watch_grace_secs after the last one leaves, so a page reload reuses them.
 * A server without IDLE, or an account whose budget is used up, gets its
 * folder polled with STATUS on a pool session every poll_interval_secs
 * instead.
 *
 * One reactor thread (rt_loop.c) waits with epoll on every IDLE socket
 * and on the watchers' timers (re-IDLE, reconnect backoff, polls, grace);
 * every blocking IMAP step runs on the worker pool (rt_watcher.c). Events
 * carry a per-account, monotonically increasing id; each account keeps a
 * ring of recent events for Last-Event-ID replay (rt_ring.h).
 *
 * Ownership: the hub owns watchers and accounts; a caller owns the struct
 * rt_sub it gets from rt_hub_subscribe() and gives it back with
 * rt_hub_unsubscribe(). up, pool and work are borrowed and must outlive
 * the hub.
 *
 * Threads: every function may be called from any thread except where
 * noted. Event callbacks run with the hub lock held (on a worker, or on
 * the caller's thread during rt_hub_subscribe's replay): they must not
 * block and must not call into the hub. Lock order: hub lock, then
 * whatever the callback takes.
 */
#ifndef RT_HUB_H
#define RT_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cm_err.h"
#include "realtime/rt_ring.h"

struct rt_hub;
struct rt_sub;
struct ib_upstream;
struct ib_creds;
struct ib_pool;
struct cm_work;

struct rt_event {
    uint64_t id;               /* per-account event id */
    const char *account_id;    /* borrowed: valid during the callback only */
    const char *mailbox;       /* borrowed UTF-8 path */
    const struct rt_snap *snap;
    enum rt_reason reason;
    uint64_t notice_ns;        /* cm_now_ns() when the upstream notice was read; 0 on replay */
    const char *states;        /* borrowed JSON of the account's JMAP states after the
                                  change ({"Email","Mailbox","Thread"}), or NULL */
};
/* Subscribers with want_states get only account-wide events (mailbox ""):
   one per burst of folder changes (coalesced over coalesce_ms), carrying
   the states. The others get one event per changed folder they watch. */

struct ib_folder_list;

/* Computes the account's JMAP states from its folder list (ids, names,
   roles, subscription and the counts the watchers last saw). Pure: no
   I/O; runs on the reactor thread with the hub lock held. *json_r gets a
   malloc'd JSON object text {"Email","Mailbox","Thread"}. */
typedef int rt_states_fn(void *ctx, const struct ib_folder_list *folders, char **json_r);

/* Deliver ev to a subscriber. Return 0, or a negative CM_E* code (e.g.
   CM_ELIMIT: queue overflow) to stop delivery to this subscription (it
   stays allocated until unsubscribed). */
typedef int rt_event_cb(const struct rt_event *ev, void *ctx);

#define RT_IDLE_UNLIMITED 0xffffffffu

/* How a folder change reaches the hub (push_mode / JMAPGATE_PUSH_MODE). */
enum rt_push_mode {
    RT_PUSH_AUTO = 0,   /* NOTIFY where offered, else EXAMINE + IDLE */
    RT_PUSH_NOTIFY,     /* one NOTIFY connection per account (falls back like auto) */
    RT_PUSH_SELECT,     /* per-folder SELECT (read-write) + IDLE */
    RT_PUSH_EXAMINE     /* per-folder EXAMINE (read-only) + IDLE */
};

struct rt_hub_settings {
    rt_states_fn *states_fn;         /* optional: JMAP states for want_states subscribers */
    void *states_ctx;
    enum rt_push_mode push_mode;
    unsigned int coalesce_ms;        /* account-wide events gather changes this long (50) */
    unsigned int watch_grace_secs;   /* watcher outlives its last subscriber (30) */
    unsigned int idle_restart_secs;  /* re-issue IDLE at least this often (1500; < 29 min) */
    unsigned int poll_interval_secs; /* STATUS polling when IDLE is not possible (60) */
    unsigned int backoff_max_secs;   /* reconnect backoff cap (30) */
    unsigned int ring_size;          /* recent events kept per account (256) */
    unsigned int max_watchers;       /* all watchers of the hub (10000) */
    unsigned int max_jobs;           /* watcher jobs queued or running at once, so an
                                        upstream outage cannot take every worker from
                                        the HTTP requests (0: no limit) */
    unsigned int max_idle_per_account; /* IDLE connections per account; further folders
                                          are polled, so the request pool keeps its
                                          share of the budget. RT_IDLE_UNLIMITED: as the
                                          budget allows; 0: none (poll everything) */
};

int rt_hub_new(const struct rt_hub_settings *set, const struct ib_upstream *up,
               struct ib_pool *pool, struct cm_work *work, struct rt_hub **hub_r,
               struct cm_err *err) __attribute__((warn_unused_result));

/* Shutdown, step 1: stop the reactor, wait for the watchers' jobs in
   flight, close every upstream connection (without waiting for the
   server). Later subscribes fail with CM_EAGAIN; existing subscriptions
   stay valid until given back. Call it while the worker pool still runs
   (before cm_work_free). Idempotent. */
void rt_hub_stop(struct rt_hub *hub);

/* Step 2: rt_hub_stop if not done, free everything, set *hubp to NULL.
   Every subscription must have been given back. */
void rt_hub_free(struct rt_hub **hubp);

struct rt_sub_params {
    const char *account_id;          /* copied */
    const struct ib_creds *creds;    /* copied when this starts the account */
    const char *const *mailboxes;    /* UTF-8 paths, copied; n >= 1 */
    size_t nmailboxes;
    const struct rt_snap *baselines; /* NULL, or per mailbox the state the caller
                                        last showed (e.g. from its own STATUS):
                                        a new watcher publishes any difference */
    bool has_last_id;                /* replay what came after last_id */
    uint64_t last_id;
    bool want_states;                /* the subscriber shows JMAP states (account-wide
                                        events, see above) */
    const struct ib_folder_list *folders; /* with want_states: the account's folders
                                        (copied; replaces what the hub had), the
                                        base the states are built from */
};

/* Subscribe to the folders of an account, starting or sharing watchers.
   With has_last_id, first replays (through cb, on this thread) the ring's
   events after last_id for these folders; when the ring no longer covers
   last_id, replays nothing and sets *resync_r (the caller tells the client
   to start over). *last_id_r (may be NULL) gets the account's newest event
   id. Returns 0, CM_ELIMIT when max_watchers is reached, CM_ENOMEM. */
int rt_hub_subscribe(struct rt_hub *hub, const struct rt_sub_params *p, rt_event_cb *cb,
                     void *ctx, struct rt_sub **sub_r, bool *resync_r, uint64_t *last_id_r,
                     struct cm_err *err) __attribute__((warn_unused_result));

/* Drop a subscription and set *subp to NULL (no-op for NULL). No callback
   for it runs after this returns. Must not be called from a callback. */
void rt_hub_unsubscribe(struct rt_hub *hub, struct rt_sub **subp);

#define RT_LATENCY_BUCKETS 10
extern const double rt_latency_bounds_secs[RT_LATENCY_BUCKETS]; /* upper bounds, +Inf apart */

struct rt_hub_stats {
    size_t subscribers;     /* live subscriptions */
    size_t watchers;        /* watched folders (any state) */
    size_t idle_conns;      /* upstream connections in IDLE (or between IDLEs), the
                               accounts' NOTIFY connections included */
    size_t polled;          /* folders watched by STATUS polling */
    size_t live_folders;    /* folders heard at once: by their own IDLE, or through
                               their account's NOTIFY connection */
    unsigned long long published_total, delivered_total, dropped_total, reconnects_total;
    unsigned long long latency_count;
    double latency_sum_secs;
    unsigned long long latency_buckets[RT_LATENCY_BUCKETS]; /* cumulative */
};
void rt_hub_stats(struct rt_hub *hub, struct rt_hub_stats *st);

#endif
