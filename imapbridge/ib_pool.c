/* ib_pool.c - warm IMAP sessions per account, caps, budget, maintenance.
 *
 * Locking: one mutex guards every list and counter. It is never held
 * during network I/O: a slot is reserved under the lock (counters bumped),
 * the session is opened / NOOPed / closed outside it, and the result is
 * recorded under the lock again.
 */
#include "imapbridge/ib_pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cm_crypto.h"
#include "common/cm_log.h"
#include "imapbridge/ib_session.h"

#define MAINT_TICK_MS 500

struct pool_entry {
    struct ib_session *s;
    struct pool_user *user;
    unsigned char key[CM_SHA256_LEN]; /* SHA-256 of the secret */
    int64_t last_used_ms, last_noop_ms;
    struct pool_entry *next;          /* idle stack of the user (LIFO), or pool->busy */
};

struct pool_user {
    char *username;
    unsigned int sessions;  /* request sessions open, opening or idle */
    unsigned int reserved;  /* budget slots held by watchers */
    struct pool_entry *idle;
    unsigned int nidle;
    struct pool_user *next;
};

struct ib_pool {
    struct ib_pool_settings set;
    const struct ib_upstream *up;
    pthread_mutex_t mu;
    pthread_cond_t freed;   /* a slot or an idle session became available */
    pthread_cond_t wake;    /* maintenance thread */
    pthread_t thread;
    bool stopping;
    struct pool_user *users;
    unsigned int total;     /* request sessions of all users */
    unsigned int nidle;
    struct pool_entry *busy;  /* checked out or in maintenance */
    struct ib_pool_stats st;
};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timespec abs_deadline(int64_t deadline_ms)
{
    struct timespec ts = { (time_t)(deadline_ms / 1000), (long)(deadline_ms % 1000) * 1000000L };

    return ts;
}

/* ---- users (pool->mu held) -------------------------------------------- */

static struct pool_user *user_find(struct ib_pool *pool, const char *username, bool create)
{
    struct pool_user *u;

    for (u = pool->users; u != NULL; u = u->next) {
        if (strcmp(u->username, username) == 0)
            return u;
    }
    if (!create)
        return NULL;
    u = calloc(1, sizeof(*u));
    if (u == NULL || (u->username = strdup(username)) == NULL) {
        free(u);
        return NULL;
    }
    u->next = pool->users;
    pool->users = u;
    return u;
}

/* Forget a user that holds nothing any more. */
static void user_gc(struct ib_pool *pool, struct pool_user *u)
{
    struct pool_user **pp;

    if (u->sessions != 0 || u->reserved != 0 || u->idle != NULL)
        return;
    for (pp = &pool->users; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == u) {
            *pp = u->next;
            free(u->username);
            free(u);
            return;
        }
    }
}

static void idle_push(struct ib_pool *pool, struct pool_entry *e)
{
    e->next = e->user->idle;
    e->user->idle = e;
    e->user->nidle++;
    pool->nidle++;
}

/* Unlink the idle entry at *pp. */
static struct pool_entry *idle_take(struct ib_pool *pool, struct pool_entry **pp)
{
    struct pool_entry *e = *pp;

    *pp = e->next;
    e->next = NULL;
    e->user->nidle--;
    pool->nidle--;
    return e;
}

/* Give up a request slot (session closed or never opened). */
static void slot_release(struct ib_pool *pool, struct pool_user *u)
{
    u->sessions--;
    pool->total--;
    pthread_cond_broadcast(&pool->freed);
}

static void entry_close(struct pool_entry *e)
{
    ib_session_close(&e->s);
    free(e);
}

/* ---- checkout --------------------------------------------------------- */

static struct pool_entry *find_warm(struct ib_pool *pool, struct pool_user *u,
                                    const unsigned char *key)
{
    for (struct pool_entry **pp = &u->idle; *pp != NULL; pp = &(*pp)->next) {
        if (memcmp((*pp)->key, key, CM_SHA256_LEN) == 0)
            return idle_take(pool, pp);
    }
    return NULL;
}

static bool can_open(const struct ib_pool *pool, const struct pool_user *u)
{
    return u->sessions < pool->set.per_account &&
           u->sessions + u->reserved < pool->set.account_budget &&
           pool->total < pool->set.global_max;
}

/* Make room by closing an idle session nobody with this key can use: one
   of the same user with another secret, else the oldest idle one of any
   user when the global cap is what blocks. The slot moves to u. */
static struct pool_entry *evict_for(struct ib_pool *pool, struct pool_user *u)
{
    struct pool_entry **best = NULL;

    if (u->sessions >= pool->set.per_account || u->sessions + u->reserved >= pool->set.account_budget) {
        if (u->idle != NULL)
            best = &u->idle; /* no warm match exists, so any idle one is another key */
    } else if (pool->total >= pool->set.global_max) {
        for (struct pool_user *o = pool->users; o != NULL; o = o->next) {
            for (struct pool_entry **pp = &o->idle; *pp != NULL; pp = &(*pp)->next) {
                if (best == NULL || (*pp)->last_used_ms < (*best)->last_used_ms)
                    best = pp;
            }
        }
    }
    if (best == NULL)
        return NULL;
    struct pool_entry *e = idle_take(pool, best);

    e->user->sessions--;
    pool->total--;
    pool->st.discarded_total++;
    if (e->user != u)
        user_gc(pool, e->user);
    return e;
}

static void busy_push(struct ib_pool *pool, struct pool_entry *e)
{
    e->next = pool->busy;
    pool->busy = e;
}

static struct pool_entry *busy_take(struct ib_pool *pool, const struct ib_session *s)
{
    for (struct pool_entry **pp = &pool->busy; *pp != NULL; pp = &(*pp)->next) {
        if ((*pp)->s == s) {
            struct pool_entry *e = *pp;

            *pp = e->next;
            e->next = NULL;
            return e;
        }
    }
    return NULL;
}

/* Called with a slot reserved for u; opens outside the lock. */
static int open_slot(struct ib_pool *pool, struct pool_user *u, const struct ib_creds *cr,
                     const unsigned char *key, struct ib_session **s_r, struct cm_err *err)
{
    struct pool_entry *e = calloc(1, sizeof(*e));
    struct ib_session *s = NULL;
    int rc;

    pthread_mutex_unlock(&pool->mu);
    rc = e ? ib_session_open(pool->up, cr, &s, err) : cm_err_set(err, CM_ENOMEM, "out of memory");
    pthread_mutex_lock(&pool->mu);
    if (rc < 0) {
        free(e);
        slot_release(pool, u); /* a refused login leaves no slot behind */
        user_gc(pool, u);
        return rc;
    }
    e->s = s;
    e->user = u;
    memcpy(e->key, key, CM_SHA256_LEN);
    busy_push(pool, e);
    pool->st.opened_total++;
    *s_r = s;
    return 0;
}

/* A warm session whose server spoke while it was idle (usually "* BYE"
   before an idle disconnect), or that has a folder selected (which another
   client may have renamed or deleted meanwhile) and was not answered within
   fresh_ms, is checked with a NOOP (ib_session_revalidate); when that
   breaks it, its slot is reused for a fresh session. Called without the
   lock. */
static int check_warm(struct ib_pool *pool, const struct ib_creds *cr, const unsigned char *key,
                      struct ib_session **s_r, struct cm_err *err)
{
    struct pool_entry *e;
    int rc;

    if (ib_session_revalidate(*s_r, pool->set.fresh_ms, NULL) == 0 || !ib_session_is_broken(*s_r))
        return 0;
    pthread_mutex_lock(&pool->mu);
    e = busy_take(pool, *s_r);
    *s_r = NULL;
    if (e == NULL) {
        pthread_mutex_unlock(&pool->mu);
        return cm_err_set(err, CM_EINTERNAL, "imap pool: lost track of a session");
    }
    pool->st.discarded_total++;
    pool->st.reused_total--;
    rc = open_slot(pool, e->user, cr, key, s_r, err); /* keeps the slot; unlocks for I/O */
    pthread_mutex_unlock(&pool->mu);
    entry_close(e);
    return rc;
}

int ib_pool_checkout(struct ib_pool *pool, const struct ib_creds *cr, struct ib_session **s_r,
                     struct cm_err *err)
{
    unsigned char key[CM_SHA256_LEN];
    int64_t deadline = now_ms() + pool->set.checkout_timeout_ms;
    struct timespec ts = abs_deadline(deadline);
    struct pool_entry *e = NULL, *victim;
    struct pool_user *u;
    int rc = 0;

    if (cr == NULL || cr->username == NULL || cr->secret == NULL)
        return cm_err_set(err, CM_EINVAL, "imap pool: no credentials");
    if (cm_sha256(cr->secret, strlen(cr->secret), key) < 0)
        return cm_err_set(err, CM_EINTERNAL, "pool: hashing failed");
    pthread_mutex_lock(&pool->mu);
    for (;;) {
        u = user_find(pool, cr->username, true);
        if (u == NULL) {
            rc = cm_err_set(err, CM_ENOMEM, "out of memory");
            break;
        }
        e = find_warm(pool, u, key);
        if (e != NULL) {
            pool->st.reused_total++;
            busy_push(pool, e);
            *s_r = e->s;
            pthread_mutex_unlock(&pool->mu);
            return check_warm(pool, cr, key, s_r, err);
        }
        victim = can_open(pool, u) ? NULL : evict_for(pool, u);
        if (victim != NULL || can_open(pool, u)) {
            u->sessions++;
            pool->total++;
            if (victim != NULL) {
                pthread_mutex_unlock(&pool->mu);
                entry_close(victim);
                pthread_mutex_lock(&pool->mu);
            }
            rc = open_slot(pool, u, cr, key, s_r, err);
            break;
        }
        user_gc(pool, u);
        if (pool->stopping || pthread_cond_timedwait(&pool->freed, &pool->mu, &ts) == ETIMEDOUT) {
            pool->st.busy_total++;
            rc = cm_err_set(err, CM_EAGAIN,
                            "imap: all %u connections of %s are busy (waited %u ms), retry later",
                            pool->set.per_account, cr->username, pool->set.checkout_timeout_ms);
            break;
        }
    }
    pthread_mutex_unlock(&pool->mu);
    return rc;
}

/* ---- checkin ---------------------------------------------------------- */

/* Put a busy entry back (pool->mu held); returns it when it must be
   closed by the caller outside the lock. */
static struct pool_entry *entry_return(struct ib_pool *pool, struct pool_entry *e, bool used)
{
    struct pool_user *u = e->user;

    if (ib_session_is_broken(e->s) || pool->stopping) {
        pool->st.discarded_total++;
        slot_release(pool, u);
        user_gc(pool, u);
        return e;
    }
    if (used)
        e->last_used_ms = e->last_noop_ms = now_ms();
    idle_push(pool, e);
    pthread_cond_broadcast(&pool->freed);
    return NULL;
}

void ib_pool_checkin(struct ib_pool *pool, struct ib_session **sp)
{
    struct ib_session *s = *sp;
    struct pool_entry *e, *dead;

    *sp = NULL;
    if (s == NULL)
        return;
    /* Never park a read-write selection: its keep-alive NOOP would take
       \Recent from the user's other clients. A failed exchange marks the
       session broken, and the pool then closes it. */
    if (ib_session_end_write(s, NULL) < 0)
        cm_debug(NULL, "imap pool: could not drop a read-write selection");
    pthread_mutex_lock(&pool->mu);
    e = busy_take(pool, s);
    dead = e ? entry_return(pool, e, true) : NULL;
    pthread_mutex_unlock(&pool->mu);
    if (e == NULL) {
        cm_warn(NULL, "imap pool: checkin of a session the pool does not know; closing it");
        ib_session_close(&s);
    } else if (dead != NULL) {
        entry_close(dead);
    }
}

/* ---- budget ----------------------------------------------------------- */

int ib_pool_budget_reserve(struct ib_pool *pool, const char *username)
{
    struct pool_entry *victim = NULL;
    struct pool_user *u;
    int rc = 0;

    pthread_mutex_lock(&pool->mu);
    u = user_find(pool, username, true);
    if (u == NULL) {
        rc = CM_ENOMEM;
    } else if (u->sessions + u->reserved >= pool->set.account_budget && u->idle != NULL) {
        /* A watcher matters more than a warm idle session. */
        victim = idle_take(pool, &u->idle);
        u->sessions--;
        pool->total--;
        pool->st.discarded_total++;
        u->reserved++;
    } else if (u->sessions + u->reserved >= pool->set.account_budget) {
        rc = CM_ELIMIT;
        user_gc(pool, u);
    } else {
        u->reserved++;
    }
    pthread_mutex_unlock(&pool->mu);
    if (victim != NULL)
        entry_close(victim);
    return rc;
}

void ib_pool_budget_release(struct ib_pool *pool, const char *username)
{
    struct pool_user *u;

    pthread_mutex_lock(&pool->mu);
    u = user_find(pool, username, false);
    if (u != NULL && u->reserved > 0) {
        u->reserved--;
        pthread_cond_broadcast(&pool->freed);
        user_gc(pool, u);
    }
    pthread_mutex_unlock(&pool->mu);
}

/* ---- maintenance ------------------------------------------------------ */

/* Under the lock: move idle entries that are too old to *close_r and those
   due a keep-alive to *noop_r (still counted as open, not idle, meanwhile;
   no client can check them out). */
static void maint_collect(struct ib_pool *pool, int64_t now, struct pool_entry **close_r,
                          struct pool_entry **noop_r)
{
    int64_t max_idle = (int64_t)pool->set.max_idle_secs * 1000;
    int64_t keepalive = (int64_t)pool->set.keepalive_secs * 1000;

    for (struct pool_user *u = pool->users, *next; u != NULL; u = next) {
        next = u->next;
        for (struct pool_entry **pp = &u->idle; *pp != NULL;) {
            struct pool_entry *e = *pp;

            if (now - e->last_used_ms >= max_idle) {
                idle_take(pool, pp);
                e->next = *close_r;
                *close_r = e;
                u->sessions--;
                pool->total--;
                pool->st.discarded_total++;
                pthread_cond_broadcast(&pool->freed);
            } else if (now - e->last_noop_ms >= keepalive) {
                idle_take(pool, pp);
                e->next = *noop_r;
                *noop_r = e;
            } else {
                pp = &e->next;
            }
        }
        user_gc(pool, u);
    }
}

/* One maintenance round; called and returns with pool->mu held. */
static void maint_pass(struct ib_pool *pool)
{
    struct pool_entry *to_close = NULL, *to_noop = NULL, *e, *dead;

    maint_collect(pool, now_ms(), &to_close, &to_noop);
    pthread_mutex_unlock(&pool->mu);
    while (to_close != NULL) {
        e = to_close;
        to_close = e->next;
        entry_close(e);
    }
    for (e = to_noop; e != NULL; e = e->next) {
        struct cm_err err = CM_ERR_INIT;

        if (ib_session_noop(e->s, &err) < 0)
            cm_debug(NULL, "imap pool: keep-alive failed: %s", err.msg);
        e->last_noop_ms = now_ms();
    }
    pthread_mutex_lock(&pool->mu);
    while (to_noop != NULL) {
        e = to_noop;
        to_noop = e->next;
        dead = entry_return(pool, e, false);
        if (dead != NULL) {
            pthread_mutex_unlock(&pool->mu);
            entry_close(dead);
            pthread_mutex_lock(&pool->mu);
        }
    }
}

static void *maint_main(void *arg)
{
    struct ib_pool *pool = arg;

    pthread_mutex_lock(&pool->mu);
    while (!pool->stopping) {
        struct timespec ts = abs_deadline(now_ms() + MAINT_TICK_MS);

        pthread_cond_timedwait(&pool->wake, &pool->mu, &ts);
        if (!pool->stopping)
            maint_pass(pool);
    }
    pthread_mutex_unlock(&pool->mu);
    return NULL;
}

/* ---- life cycle, stats ------------------------------------------------ */

static void apply_defaults(struct ib_pool_settings *s)
{
    if (s->per_account == 0)
        s->per_account = 4;
    if (s->global_max == 0)
        s->global_max = 256;
    if (s->account_budget == 0)
        s->account_budget = 8;
    if (s->checkout_timeout_ms == 0)
        s->checkout_timeout_ms = 10000;
    if (s->keepalive_secs == 0)
        s->keepalive_secs = 120;
    if (s->max_idle_secs == 0)
        s->max_idle_secs = 600;
}

static int cond_init_monotonic(pthread_cond_t *c)
{
    pthread_condattr_t a;
    int rc;

    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    rc = pthread_cond_init(c, &a);
    pthread_condattr_destroy(&a);
    return rc;
}

int ib_pool_new(const struct ib_pool_settings *set, const struct ib_upstream *up,
                struct ib_pool **pool_r, struct cm_err *err)
{
    struct ib_pool *pool = calloc(1, sizeof(*pool));

    if (pool == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    pool->set = *set;
    apply_defaults(&pool->set);
    pool->up = up;
    pthread_mutex_init(&pool->mu, NULL);
    if (cond_init_monotonic(&pool->freed) != 0 || cond_init_monotonic(&pool->wake) != 0 ||
        pthread_create(&pool->thread, NULL, maint_main, pool) != 0) {
        pthread_mutex_destroy(&pool->mu);
        free(pool);
        return cm_err_set(err, CM_EINTERNAL, "imap pool: cannot start the maintenance thread");
    }
    *pool_r = pool;
    return 0;
}

/* Close every idle session now (at shutdown). */
static void ib_pool_drain_idle(struct ib_pool *pool)
{
    struct pool_entry *list = NULL, *e;

    pthread_mutex_lock(&pool->mu);
    for (struct pool_user *u = pool->users, *next; u != NULL; u = next) {
        next = u->next;
        while (u->idle != NULL) {
            e = idle_take(pool, &u->idle);
            u->sessions--;
            pool->total--;
            e->next = list;
            list = e;
        }
        user_gc(pool, u);
    }
    pthread_cond_broadcast(&pool->freed);
    pthread_mutex_unlock(&pool->mu);
    while (list != NULL) {
        e = list;
        list = e->next;
        entry_close(e);
    }
}

void ib_pool_free(struct ib_pool **poolp)
{
    struct ib_pool *pool = *poolp;

    *poolp = NULL;
    if (pool == NULL)
        return;
    pthread_mutex_lock(&pool->mu);
    pool->stopping = true;
    pthread_cond_broadcast(&pool->wake);
    pthread_cond_broadcast(&pool->freed);
    pthread_mutex_unlock(&pool->mu);
    pthread_join(pool->thread, NULL);
    ib_pool_drain_idle(pool);
    if (pool->busy != NULL || pool->users != NULL)
        cm_warn(NULL, "imap pool freed with sessions or reservations still out");
    pthread_cond_destroy(&pool->freed);
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->mu);
    free(pool);
}

void ib_pool_stats(struct ib_pool *pool, struct ib_pool_stats *st)
{
    pthread_mutex_lock(&pool->mu);
    *st = pool->st;
    st->open = pool->total;
    st->idle = pool->nidle;
    st->checked_out = pool->total - pool->nidle;
    st->reserved = 0;
    for (const struct pool_user *u = pool->users; u != NULL; u = u->next)
        st->reserved += u->reserved;
    pthread_mutex_unlock(&pool->mu);
}
