/* ib_pool.h - authenticated sessions kept warm per account, and the
 * per-account connection budget.
 *
 * Sessions are keyed by (upstream, username, SHA-256 of the secret), so a
 * session is only ever reused by someone who proved the same credentials.
 * Checkout returns an idle session of that key (a warm session: no new
 * connection), or opens a new one if the per-account cap, the account
 * budget and the global cap allow; otherwise it waits until one is checked
 * in, up to checkout_timeout_ms, then fails with CM_EAGAIN (503 +
 * Retry-After at the HTTP edge). Checkin keeps a healthy session and closes
 * a broken one. A maintenance thread NOOPs sessions idle longer than
 * keepalive_secs and closes those idle longer than max_idle_secs.
 *
 * The budget: every account may hold at most account_budget upstream
 * connections in total. Request sessions count against it, and so do
 * realtime watchers, which reserve and release slots with
 * ib_pool_budget_reserve / _release.
 *
 * A warm session whose server sent something while it sat idle (typically
 * "* BYE" before an idle disconnect), or that has a folder selected and
 * was last answered fresh_ms or more ago, is NOOPed at checkout
 * (ib_session_revalidate) and, if that breaks it, replaced by a new
 * connection in the same slot. Otherwise the NOOP is left to the first use
 * of the selection (one round trip less per request behind a distant
 * server), and a session that breaks there says ib_session_reuse_failed:
 * the caller runs its work again on a fresh one. When the caps
 * are reached, an idle session nobody waiting can use (same user, other
 * secret; or, at the global cap, the least recently used one) is closed to
 * make room, and a budget reservation evicts an idle session of its
 * account before failing. The pool mutex is never held during network
 * I/O: a slot is reserved first, the session opened, NOOPed or closed
 * outside the lock; a failed open (e.g. CM_EAUTH) gives the slot back.
 *
 * Ownership: the pool owns idle sessions; a checked-out session belongs to
 * the caller until checkin. Threads: every function is thread-safe;
 * cm_crypto_init() must have been called before (secrets are hashed).
 */
#ifndef IB_POOL_H
#define IB_POOL_H

#include <stddef.h>

#include "common/cm_err.h"
#include "imapbridge/ib_upstream.h"

struct ib_pool;
struct ib_session;

struct ib_pool_settings {
    unsigned int per_account;          /* request sessions per account (default 4) */
    unsigned int global_max;           /* all sessions of the pool (default 256) */
    unsigned int account_budget;       /* all upstream connections of one account (default 8) */
    unsigned int checkout_timeout_ms;  /* wait for a free slot (default 10000) */
    unsigned int keepalive_secs;       /* NOOP idle sessions after this (default 120) */
    unsigned int max_idle_secs;        /* close idle sessions after this (default 600) */
    unsigned int fresh_ms;             /* no NOOP at checkout when the server answered the
                                          session this recently (0, the default: always) */
};

/* up is borrowed and must outlive the pool. Starts the maintenance thread. */
int ib_pool_new(const struct ib_pool_settings *set, const struct ib_upstream *up,
                struct ib_pool **pool_r, struct cm_err *err) __attribute__((warn_unused_result));

/* Close every idle session, join the thread, free; sets *poolp to NULL.
   Sessions still checked out must have been checked in before. */
void ib_pool_free(struct ib_pool **poolp);

/* A session logged in with cr (cr is only read during the call). Returns 0,
   CM_EAGAIN after checkout_timeout_ms without a free slot, or the error of
   ib_session_open (CM_EAUTH, CM_EUNAVAIL, CM_ETIMEOUT, ...).
   checkout_timeout_ms bounds the wait for a slot only; opening a new
   session is bounded by the upstream timeout of each step. */
int ib_pool_checkout(struct ib_pool *pool, const struct ib_creds *cr, struct ib_session **s_r,
                     struct cm_err *err) __attribute__((warn_unused_result));

/* Give a session back (from any thread); sets *sp to NULL. A broken
   session is closed (without I/O) and its slot freed. */
void ib_pool_checkin(struct ib_pool *pool, struct ib_session **sp);

/* Reserve one connection of username's budget for a non-pool connection
   (a realtime watcher). Returns 0 or CM_ELIMIT when the budget is used up;
   never waits. Each successful reserve needs one release. */
int ib_pool_budget_reserve(struct ib_pool *pool, const char *username)
    __attribute__((warn_unused_result));
void ib_pool_budget_release(struct ib_pool *pool, const char *username);

struct ib_pool_stats {
    size_t open;        /* sessions open (idle + checked out) */
    size_t idle;
    size_t checked_out;
    size_t reserved;    /* budget slots held by watchers */
    unsigned long long opened_total, reused_total, discarded_total, busy_total;
};
void ib_pool_stats(struct ib_pool *pool, struct ib_pool_stats *st);

#endif
