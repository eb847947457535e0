/* rt_loop.c - the realtime reactor thread (see rt_loop.h). */
#include "realtime/rt_loop.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/cm_log.h"
#include "common/cm_time.h"
#include "common/cm_work.h"

#define MAX_WAIT_MS 60000
#define RETRY_SUBMIT_MS 1000
#define DEFER_MS 20

void rt_loop_wake(struct rt_hub *hub)
{
    uint64_t one = 1;

    if (hub->evfd >= 0 && write(hub->evfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        cm_warn("", "realtime: cannot wake the reactor: %s", strerror(errno));
}

void rt_loop_arm(struct rt_hub *hub, struct rt_watcher *w)
{
    struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.u64 = w->id };

    if (epoll_ctl(hub->epfd, EPOLL_CTL_ADD, w->fd, &ev) < 0) {
        cm_warn("", "realtime: epoll add fd %d: %s", w->fd, strerror(errno));
        w->due_ms = cm_now_ms(); /* the timer takes over */
        return;
    }
    w->armed = true;
}

static void disarm(struct rt_hub *hub, struct rt_watcher *w)
{
    if (w->armed)
        (void)epoll_ctl(hub->epfd, EPOLL_CTL_DEL, w->fd, NULL);
    w->armed = false;
}

/* Hand w to a worker, or retry shortly when max_jobs are out. hub->mu
   held. */
static void dispatch(struct rt_hub *hub, struct rt_watcher *w)
{
    disarm(hub, w);
    if (hub->set.max_jobs != 0 && hub->nbusy >= hub->set.max_jobs) {
        w->due_ms = cm_now_ms() + DEFER_MS;
        return;
    }
    w->busy = true;
    w->due_ms = 0;
    hub->nbusy++;
    if (cm_work_submit(hub->work, rt_watcher_job, w) == 0)
        return;
    w->busy = false; /* queue full: try again soon */
    hub->nbusy--;
    w->due_ms = cm_now_ms() + RETRY_SUBMIT_MS; /* the timer takes over (also for IDLING) */
}

static void on_readable(struct rt_hub *hub, uint64_t id, uint64_t now_ns)
{
    struct rt_watcher *w = rt_hub_watcher_by_id(hub, id);

    if (w == NULL || w->busy || w->dead || w->state != RT_WATCHER_IDLING)
        return;
    w->notice_ns = now_ns;
    dispatch(hub, w);
}

/* Nobody needs w any more: no subscription holds it (the account's
   notifier serves every subscription of its account). */
static bool unused(const struct rt_watcher *w)
{
    return w->notifier ? w->acct->nsubs == 0 : w->refcount == 0;
}

/* The time at which w needs the reactor, or 0. */
static uint64_t next_due(const struct rt_watcher *w)
{
    if (w->busy || w->dead)
        return 0;
    if (unused(w) && !w->closing) {
        uint64_t g = w->grace_until_ms ? w->grace_until_ms : 1;

        return w->due_ms != 0 && w->due_ms < g ? w->due_ms : g;
    }
    return w->due_ms;
}

static void run_timers(struct rt_hub *hub, uint64_t now)
{
    struct rt_watcher *w, *next;

    for (w = hub->watchers; w != NULL; w = next) {
        uint64_t due = next_due(w);

        next = w->next;
        if (w->dead && !w->busy) {
            rt_hub_reap_locked(hub, w); /* the safe point */
            continue;
        }
        if (due == 0 || due > now)
            continue;
        if (unused(w) && now >= w->grace_until_ms)
            w->closing = true;
        dispatch(hub, w);
    }
}

static int wait_ms(struct rt_hub *hub)
{
    uint64_t now = cm_now_ms(), best = rt_hub_next_states_due_locked(hub);

    for (struct rt_watcher *w = hub->watchers; w != NULL; w = w->next) {
        uint64_t due = w->dead && !w->busy ? now : next_due(w);

        if (due != 0 && (best == 0 || due < best))
            best = due;
    }
    if (best == 0)
        return MAX_WAIT_MS;
    return best <= now ? 0 : (int)(best - now < MAX_WAIT_MS ? best - now : MAX_WAIT_MS);
}

static void *loop_main(void *arg)
{
    struct rt_hub *hub = arg;
    struct epoll_event evs[64];
    uint64_t drain;

    for (;;) {
        int timeout, n;

        pthread_mutex_lock(&hub->mu);
        timeout = hub->stopping ? 0 : wait_ms(hub);
        pthread_mutex_unlock(&hub->mu);
        n = epoll_wait(hub->epfd, evs, 64, timeout);
        if (n < 0 && errno != EINTR)
            cm_error("", "realtime: epoll_wait: %s", strerror(errno));
        pthread_mutex_lock(&hub->mu);
        if (hub->stopping) {
            pthread_mutex_unlock(&hub->mu);
            break;
        }
        for (int i = 0; i < n; i++) {
            if (evs[i].data.u64 == 0)
                (void)read(hub->evfd, &drain, sizeof(drain));
            else
                on_readable(hub, evs[i].data.u64, cm_now_ns());
        }
        run_timers(hub, cm_now_ms());
        rt_hub_flush_states_locked(hub, cm_now_ms());
        pthread_mutex_unlock(&hub->mu);
    }
    return NULL;
}

int rt_loop_start(struct rt_hub *hub, struct cm_err *err)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0 };

    hub->epfd = epoll_create1(EPOLL_CLOEXEC);
    hub->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (hub->epfd < 0 || hub->evfd < 0 || epoll_ctl(hub->epfd, EPOLL_CTL_ADD, hub->evfd, &ev) < 0)
        return cm_err_set(err, CM_EINTERNAL, "realtime: epoll/eventfd: %s", strerror(errno));
    if (pthread_create(&hub->thread, NULL, loop_main, hub) != 0)
        return cm_err_set(err, CM_EINTERNAL, "realtime: cannot start the reactor thread");
    hub->thread_started = true;
    return 0;
}

void rt_loop_stop(struct rt_hub *hub)
{
    if (!hub->thread_started)
        return;
    rt_loop_wake(hub);
    pthread_join(hub->thread, NULL);
    hub->thread_started = false;
}
