/* gw_sse.c - SSE streams: suspend/resume content reader, capped queues,
 * hang-up detection (EPOLLRDHUP), heartbeats and token expiry. */
#include "gateway/gw_sse.h"

#include <errno.h>
#include <malloc.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/cm_buf.h"
#include "common/cm_log.h"
#include "common/cm_time.h"
#include "gateway/gw_req.h"
#include "realtime/rt_hub.h"
#include "realtime/rt_sse.h"

#define TICK_MS 500
#define BUCKETS 1024
/* MHD callocs a response buffer of this size per stream. libmicrohttpd
   0.9.75 has the reader fill the connection's write buffer directly for a
   chunked (HTTP/1.1) answer and uses this block only for an HTTP/1.0
   client, which then gets at most this much per call. */
#define BLOCK_BYTES 64
#define EVENT_MAX_BYTES 4096
#define RETRY_MS 3000
/* After this many streams closed, give freed memory back to the system:
   the connections' buffers come from malloc arenas that glibc does not
   shrink on its own, so RSS would stay at its high-water mark. */
#define TRIM_AFTER_CLOSED 256

struct gw_sse_stream {
    uint64_t id;
    struct gw_sse *mgr;
    struct MHD_Connection *conn;
    int fd;                       /* client socket in the manager's epoll, or -1 */
    pthread_mutex_t mu;           /* guards the fields below it */
    struct cm_buf q;              /* queued bytes, capped */
    size_t off;                   /* bytes of q already handed to MHD */
    bool suspended, closing, aborted, timeout_set;
    bool out_released;            /* the reader released the tail of MHD's
                                     buffer once (MHD threads only) */
    uint64_t next_ping_ms;
    struct gw_sse_opts o;         /* account_id owned */
    struct rt_hub *hub;
    struct rt_sub *sub;
    bool registered;              /* in the manager (mgr->mu) */
    struct gw_sse_stream *prev, *next, *hnext;
};

/* The last event formatted: a publish hands the same event to every stream
   of the folder, so streams of one kind and type filter share the text.
   The key is everything gw_sse_format reads. */
struct fmt_cache {
    pthread_mutex_t mu;           /* taken before a stream's mu */
    bool valid;
    enum gw_sse_kind kind;
    unsigned int types;
    uint64_t id;
    enum rt_reason reason;
    struct rt_snap snap;
    char *account_id, *mailbox, *states; /* owned copies (states may be NULL) */
    int rc;                       /* gw_sse_format's result for text */
    struct cm_buf text;
};

struct gw_sse {
    struct gw_sse_settings set;
    size_t page;                  /* the system page size (release_out_tail) */
    struct fmt_cache fc;
    pthread_mutex_t mu;
    struct gw_sse_stream *list;
    struct gw_sse_stream *buckets[BUCKETS];
    uint64_t next_id;
    bool closing, stopping;
    int epfd, evfd;
    pthread_t thread;
    bool thread_started;
    struct gw_sse_stats stats;
    size_t trim_mark;             /* open streams at the last trim, raised to the
                                     peak since (manager thread only) */
    uint64_t trim_at_ms;          /* a trim is due then (0: none; manager thread) */
};

/* ---- queue (st->mu held) ----------------------------------------------- */

static void resume_locked(struct gw_sse_stream *st)
{
    if (st->suspended) {
        st->suspended = false;
        MHD_resume_connection(st->conn);
    }
}

static int queue_locked(struct gw_sse_stream *st, const char *data, size_t len)
{
    if (st->off > 0) { /* compact: what MHD already took does not count */
        memmove(st->q.data, st->q.data + st->off, st->q.len - st->off);
        st->q.len -= st->off;
        st->off = 0;
    }
    return cm_buf_append(&st->q, data, len);
}

/* Queue text; overflow drops the stream. Returns 0 or CM_ELIMIT. */
static int push_text(struct gw_sse_stream *st, const struct cm_buf *text, bool end_after)
{
    int rc = 0;

    pthread_mutex_lock(&st->mu);
    if (!st->aborted && !st->closing) {
        rc = queue_locked(st, text->data, text->len);
        if (rc < 0) {
            st->aborted = true;
            rc = CM_ELIMIT;
        } else if (end_after) {
            st->closing = true;
        }
        resume_locked(st);
    }
    pthread_mutex_unlock(&st->mu);
    return rc;
}

static bool same_str(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool fmt_cache_hit(const struct fmt_cache *c, const struct gw_sse_opts *o,
                          const struct rt_event *ev)
{
    return c->valid && c->kind == o->kind && c->types == o->types && c->id == ev->id &&
           c->reason == ev->reason && memcmp(&c->snap, ev->snap, sizeof(c->snap)) == 0 &&
           same_str(c->account_id, ev->account_id) && same_str(c->mailbox, ev->mailbox) &&
           same_str(c->states, ev->states);
}

/* Format ev for o into the cache (c->mu held). */
static void fmt_cache_fill(struct fmt_cache *c, const struct gw_sse_opts *o,
                           const struct rt_event *ev)
{
    free(c->account_id);
    free(c->mailbox);
    free(c->states);
    c->account_id = strdup(ev->account_id);
    c->mailbox = strdup(ev->mailbox);
    c->states = ev->states != NULL ? strdup(ev->states) : NULL;
    cm_buf_reset(&c->text);
    c->rc = gw_sse_format(&c->text, o->kind, o->types, ev);
    c->valid = c->account_id != NULL && c->mailbox != NULL &&
               (c->states != NULL || ev->states == NULL);
    c->kind = o->kind;
    c->types = o->types;
    c->id = ev->id;
    c->reason = ev->reason;
    c->snap = *ev->snap;
}

/* The hub's callback: hub lock held, must not block. */
static int on_event(const struct rt_event *ev, void *ctx)
{
    struct gw_sse_stream *st = ctx;
    struct fmt_cache *c = &st->mgr->fc;
    int rc;

    pthread_mutex_lock(&c->mu);
    if (!fmt_cache_hit(c, &st->o, ev))
        fmt_cache_fill(c, &st->o, ev);
    rc = c->rc;
    if (rc == 0)
        rc = push_text(st, &c->text, st->o.close_after_event);
    else if (rc == 1)
        rc = 0; /* filtered out */
    pthread_mutex_unlock(&c->mu);
    if (rc == CM_ELIMIT) {
        pthread_mutex_lock(&st->mgr->mu);
        st->mgr->stats.overflow_total++;
        pthread_mutex_unlock(&st->mgr->mu);
    }
    return rc;
}

/* ---- MHD callbacks (MHD threads) -------------------------------------- */

/* MHD hands the reader its connection's write buffer: out[0..max), which
   in libmicrohttpd 0.9.75 is all of the connection's pool left after the
   request (about 15 KiB of a 16 KiB pool), zeroed when the read buffer
   was shrunk after the headers, so resident. The reader may write
   anything there; giving the whole pages past the n bytes it wrote (and
   the 2 bytes of chunk trailer MHD adds after them) back to the kernel is
   such a write: they read as zeros and are only faulted in again by a
   later large event. This keeps an idle stream's pool to the pages that
   hold its request and its first bytes. Only needed again after a write
   that reached past out's first page. */
static void release_out_tail(struct gw_sse_stream *st, char *out, size_t n, size_t max)
{
    size_t page = st->mgr->page;
    uintptr_t lo, hi;

    if (st->out_released && n + 2 <= page)
        return;
    if (max < n + 2)
        return;
    lo = ((uintptr_t)(out + n + 2) + page - 1) & ~(uintptr_t)(page - 1);
    hi = (uintptr_t)(out + max) & ~(uintptr_t)(page - 1);
    if (hi > lo)
        (void)madvise((void *)lo, hi - lo, MADV_DONTNEED);
    st->out_released = true;
}

static ssize_t reader(void *cls, uint64_t pos, char *out, size_t max)
{
    struct gw_sse_stream *st = cls;
    size_t avail, n;

    (void)pos;
    if (!st->timeout_set) { /* suspended connections never time out; this
                               catches a client that stops reading */
        unsigned int secs = st->o.ping_secs ? st->o.ping_secs * 3 + 30 : 600;

        MHD_set_connection_option(st->conn, MHD_CONNECTION_OPTION_TIMEOUT, secs);
        st->timeout_set = true;
    }
    pthread_mutex_lock(&st->mu);
    avail = st->q.len - st->off;
    if (avail > 0) {
        n = avail < max ? avail : max;
        memcpy(out, st->q.data + st->off, n);
        st->off += n;
        if (st->off == st->q.len) { /* drained: an idle stream keeps no queue */
            cm_buf_fini(&st->q);
            st->off = 0;
        }
        pthread_mutex_unlock(&st->mu);
        release_out_tail(st, out, n, max);
        return (ssize_t)n;
    }
    if (st->aborted) {
        pthread_mutex_unlock(&st->mu);
        return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    if (st->closing) {
        pthread_mutex_unlock(&st->mu);
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    st->suspended = true;
    MHD_suspend_connection(st->conn);
    pthread_mutex_unlock(&st->mu);
    return 0;
}

static void unregister(struct gw_sse *mgr, struct gw_sse_stream *st)
{
    struct gw_sse_stream **pp;

    pthread_mutex_lock(&mgr->mu);
    if (st->registered) {
        if (st->prev != NULL)
            st->prev->next = st->next;
        else
            mgr->list = st->next;
        if (st->next != NULL)
            st->next->prev = st->prev;
        for (pp = &mgr->buckets[st->id % BUCKETS]; *pp != NULL; pp = &(*pp)->hnext) {
            if (*pp == st) {
                *pp = st->hnext;
                break;
            }
        }
        if (st->fd >= 0) /* the fd is still open: MHD closes it after this */
            (void)epoll_ctl(mgr->epfd, EPOLL_CTL_DEL, st->fd, NULL);
        st->registered = false;
        mgr->stats.open--;
    }
    pthread_mutex_unlock(&mgr->mu);
}

static void stream_free(struct gw_sse_stream *st)
{
    unregister(st->mgr, st);
    if (st->sub != NULL)
        rt_hub_unsubscribe(st->hub, &st->sub);
    cm_buf_fini(&st->q);
    free((char *)st->o.account_id);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

static void free_cb(void *cls)
{
    stream_free(cls);
}

/* ---- public: stream lifecycle ------------------------------------------ */

struct gw_sse_stream *gw_sse_open(struct gw_sse *mgr, struct gw_req *req,
                                  const struct gw_sse_opts *o, struct cm_err *err)
{
    struct gw_sse_stream *st;

    pthread_mutex_lock(&mgr->mu);
    if (mgr->closing) {
        pthread_mutex_unlock(&mgr->mu);
        cm_err_set(err, CM_EAGAIN, "the gateway is shutting down");
        return NULL;
    }
    pthread_mutex_unlock(&mgr->mu);
    st = calloc(1, sizeof(*st));
    if (st == NULL || (st->o.account_id = strdup(o->account_id)) == NULL) {
        free(st);
        cm_err_set(err, CM_ENOMEM, "out of memory");
        return NULL;
    }
    st->o.kind = o->kind;
    st->o.ping_secs = o->ping_secs;
    st->o.close_after_event = o->close_after_event;
    st->o.types = o->types;
    st->o.expires = o->expires;
    st->mgr = mgr;
    st->conn = req->conn;
    st->fd = -1;
    pthread_mutex_init(&st->mu, NULL);
    cm_buf_init(&st->q, mgr->set.queue_max_bytes);
    if (rt_sse_retry(&st->q, RETRY_MS) < 0) {
        stream_free(st);
        cm_err_set(err, CM_ENOMEM, "out of memory");
        return NULL;
    }
    return st;
}

/* The replay did not fit in the queue: start over without it (the client
   gets a resync instead of a stream that breaks again on every retry). */
static int subscribe_fresh(struct gw_sse_stream *st, struct rt_hub *hub,
                           const struct rt_sub_params *p, uint64_t *last_r, struct cm_err *err)
{
    struct rt_sub_params fresh = *p;
    bool resync;

    rt_hub_unsubscribe(hub, &st->sub);
    pthread_mutex_lock(&st->mu);
    st->aborted = false;
    st->off = 0;
    cm_buf_reset(&st->q);
    if (rt_sse_retry(&st->q, RETRY_MS) < 0) /* was the first line; fits in any queue */
        st->aborted = true;
    pthread_mutex_unlock(&st->mu);
    fresh.has_last_id = false;
    return rt_hub_subscribe(hub, &fresh, on_event, st, &st->sub, &resync, last_r, err);
}

int gw_sse_subscribe(struct gw_sse_stream *st, struct rt_hub *hub, const struct rt_sub_params *p,
                     struct cm_err *err)
{
    bool resync = false, overflow;
    uint64_t last = 0;
    struct cm_buf b;
    int rc = rt_hub_subscribe(hub, p, on_event, st, &st->sub, &resync, &last, err);

    if (rc < 0)
        return rc;
    st->hub = hub;
    pthread_mutex_lock(&st->mu);
    overflow = st->aborted; /* not yet visible to MHD: no reader runs */
    pthread_mutex_unlock(&st->mu);
    if (overflow) {
        rc = subscribe_fresh(st, hub, p, &last, err);
        if (rc < 0)
            return rc;
        resync = true;
    }
    if (!resync)
        return 0;
    cm_buf_init(&b, EVENT_MAX_BYTES);
    rc = gw_sse_format_resync(&b, st->o.kind, st->o.types, st->o.account_id, last);
    if (rc == 0)
        rc = push_text(st, &b, st->o.close_after_event);
    cm_buf_fini(&b);
    return rc < 0 ? cm_err_set(err, rc, "cannot queue the resync event") : 0;
}

static void register_stream(struct gw_sse *mgr, struct gw_sse_stream *st)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(st->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    struct epoll_event ev = { .events = EPOLLRDHUP | EPOLLONESHOT };

    pthread_mutex_lock(&mgr->mu);
    st->id = ++mgr->next_id;
    ev.data.u64 = st->id;
    st->next = mgr->list;
    if (mgr->list != NULL)
        mgr->list->prev = st;
    mgr->list = st;
    st->hnext = mgr->buckets[st->id % BUCKETS];
    mgr->buckets[st->id % BUCKETS] = st;
    st->registered = true;
    if (mgr->closing) /* shutdown began while the handler ran: end at once */
        st->closing = true;
    mgr->stats.open++;
    mgr->stats.opened_total++;
    if (ci != NULL && epoll_ctl(mgr->epfd, EPOLL_CTL_ADD, ci->connect_fd, &ev) == 0)
        st->fd = ci->connect_fd;
    st->next_ping_ms = cm_now_ms() + (uint64_t)st->o.ping_secs * 1000;
    pthread_mutex_unlock(&mgr->mu);
}

int gw_sse_respond(struct gw_sse_stream *st, struct gw_req *req, struct cm_err *err)
{
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, BLOCK_BYTES, reader, st, free_cb);

    if (r == NULL) {
        stream_free(st);
        return cm_err_set(err, CM_ENOMEM, "cannot create the stream");
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream; charset=utf-8");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(r, "X-Accel-Buffering", "no");
    MHD_add_response_header(r, "X-Request-Id", req->id_text);
    register_stream(st->mgr, st);
    req->stream_response = r;
    req->status = 200;
    return 0;
}

void gw_sse_discard(struct gw_sse_stream **stp)
{
    if (*stp != NULL)
        stream_free(*stp);
    *stp = NULL;
}

/* ---- the manager thread ------------------------------------------------ */

static struct gw_sse_stream *find(struct gw_sse *mgr, uint64_t id)
{
    for (struct gw_sse_stream *st = mgr->buckets[id % BUCKETS]; st != NULL; st = st->hnext) {
        if (st->id == id)
            return st;
    }
    return NULL;
}

static void on_hangup(struct gw_sse *mgr, uint64_t id)
{
    struct gw_sse_stream *st = find(mgr, id);

    if (st == NULL)
        return;
    mgr->stats.hangup_total++;
    pthread_mutex_lock(&st->mu);
    st->aborted = true;
    resume_locked(st);
    pthread_mutex_unlock(&st->mu);
}

static void tick_one(struct gw_sse *mgr, struct gw_sse_stream *st, uint64_t now, time_t wall)
{
    char ping[64];

    pthread_mutex_lock(&st->mu);
    if (st->o.expires != 0 && wall >= st->o.expires && !st->closing) {
        st->closing = true; /* the token expired: end cleanly */
        mgr->stats.expired_total++;
        resume_locked(st);
    }
    if (st->o.ping_secs != 0 && now >= st->next_ping_ms && !st->closing && !st->aborted) {
        if (st->o.kind == GW_SSE_JMAP)
            snprintf(ping, sizeof(ping), "event: ping\ndata: {\"interval\":%u}\n\n",
                     st->o.ping_secs);
        else
            snprintf(ping, sizeof(ping), ": ping\n\n");
        if (queue_locked(st, ping, strlen(ping)) < 0)
            st->aborted = true;
        st->next_ping_ms = now + (uint64_t)st->o.ping_secs * 1000;
        resume_locked(st);
    }
    pthread_mutex_unlock(&st->mu);
}

/* mgr->mu held. True when TRIM_AFTER_CLOSED streams have closed since the
   last trim, one tick after it was noticed (MHD frees a connection's
   buffers just after the stream). */
static bool trim_due(struct gw_sse *mgr, uint64_t now)
{
    if (mgr->stats.open > mgr->trim_mark)
        mgr->trim_mark = mgr->stats.open;
    if (mgr->trim_at_ms == 0 && mgr->trim_mark - mgr->stats.open >= TRIM_AFTER_CLOSED)
        mgr->trim_at_ms = now + TICK_MS;
    if (mgr->trim_at_ms == 0 || now < mgr->trim_at_ms)
        return false;
    mgr->trim_at_ms = 0;
    mgr->trim_mark = mgr->stats.open;
    return true;
}

static void *mgr_main(void *arg)
{
    struct gw_sse *mgr = arg;
    struct epoll_event evs[64];
    uint64_t drain, next_tick = 0;
    bool trim;

    for (;;) {
        int n = epoll_wait(mgr->epfd, evs, 64, TICK_MS);
        uint64_t now = cm_now_ms();

        pthread_mutex_lock(&mgr->mu);
        if (mgr->stopping) {
            pthread_mutex_unlock(&mgr->mu);
            break;
        }
        for (int i = 0; i < n; i++) {
            if (evs[i].data.u64 == 0)
                (void)read(mgr->evfd, &drain, sizeof(drain));
            else
                on_hangup(mgr, evs[i].data.u64);
        }
        if (now >= next_tick) {
            time_t wall = time(NULL);

            for (struct gw_sse_stream *st = mgr->list; st != NULL; st = st->next)
                tick_one(mgr, st, now, wall);
            next_tick = now + TICK_MS;
        }
        trim = trim_due(mgr, now);
        pthread_mutex_unlock(&mgr->mu);
        if (trim)
            (void)malloc_trim(0); /* a few ms for a heap of 10,000 streams */
    }
    return NULL;
}

int gw_sse_new(const struct gw_sse_settings *set, struct gw_sse **sse_r, struct cm_err *err)
{
    struct gw_sse *mgr = calloc(1, sizeof(*mgr));
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0 };

    if (mgr == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    mgr->set = *set;
    mgr->page = sysconf(_SC_PAGESIZE) > 0 ? (size_t)sysconf(_SC_PAGESIZE) : 4096;
    pthread_mutex_init(&mgr->mu, NULL);
    pthread_mutex_init(&mgr->fc.mu, NULL);
    cm_buf_init(&mgr->fc.text, EVENT_MAX_BYTES);
    mgr->epfd = epoll_create1(EPOLL_CLOEXEC);
    mgr->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (mgr->epfd < 0 || mgr->evfd < 0 ||
        epoll_ctl(mgr->epfd, EPOLL_CTL_ADD, mgr->evfd, &ev) < 0 ||
        pthread_create(&mgr->thread, NULL, mgr_main, mgr) != 0) {
        gw_sse_free(&mgr);
        return cm_err_set(err, CM_EINTERNAL, "sse: cannot start the manager thread");
    }
    mgr->thread_started = true;
    *sse_r = mgr;
    return 0;
}

void gw_sse_close_all(struct gw_sse *mgr)
{
    pthread_mutex_lock(&mgr->mu);
    mgr->closing = true;
    for (struct gw_sse_stream *st = mgr->list; st != NULL; st = st->next) {
        pthread_mutex_lock(&st->mu);
        st->closing = true;
        resume_locked(st);
        pthread_mutex_unlock(&st->mu);
    }
    pthread_mutex_unlock(&mgr->mu);
}

void gw_sse_free(struct gw_sse **ssep)
{
    struct gw_sse *mgr = *ssep;
    uint64_t one = 1;

    if (mgr == NULL)
        return;
    *ssep = NULL;
    if (mgr->thread_started) {
        pthread_mutex_lock(&mgr->mu);
        mgr->stopping = true;
        pthread_mutex_unlock(&mgr->mu);
        if (write(mgr->evfd, &one, sizeof(one)) < 0)
            cm_warn("", "sse: cannot wake the manager: %s", strerror(errno));
        pthread_join(mgr->thread, NULL);
    }
    if (mgr->list != NULL)
        cm_warn("", "sse: %zu streams still open at exit", mgr->stats.open);
    if (mgr->epfd >= 0)
        close(mgr->epfd);
    if (mgr->evfd >= 0)
        close(mgr->evfd);
    pthread_mutex_destroy(&mgr->mu);
    pthread_mutex_destroy(&mgr->fc.mu);
    cm_buf_fini(&mgr->fc.text);
    free(mgr->fc.account_id);
    free(mgr->fc.mailbox);
    free(mgr->fc.states);
    free(mgr);
}

void gw_sse_stats(struct gw_sse *mgr, struct gw_sse_stats *st)
{
    pthread_mutex_lock(&mgr->mu);
    *st = mgr->stats;
    pthread_mutex_unlock(&mgr->mu);
}
