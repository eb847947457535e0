/* gw_ctx.h - the process wiring every handler can reach through req->ctx.
 *
 * Built once by gw_main.c, read-only afterwards except for the objects
 * that are themselves thread-safe (pool, work, metrics) and `set`.
 */
#ifndef GW_CTX_H
#define GW_CTX_H

#include <stdatomic.h>
#include <stdbool.h>

#include "gateway/gw_token.h"
#include "gateway/gw_settings.h"
#include "imapbridge/ib_upstream.h"

struct ib_pool;
struct ib_foldermap;
struct cm_work;
struct gw_metrics;
struct gw_server;
struct gw_sse;
struct gw_ready;
struct gw_limit;
struct gw_send;
struct rt_hub;
struct cm_counter;
struct ib_loccache;
struct ib_thread_cache;

/* Entries of the email location cache (ib_loccache.h): ~150 bytes each,
   so ~10 MB; enough for the recently listed mail of many accounts. */
#define GW_LOCCACHE_ENTRIES 65536
/* Entries of the thread-root cache (ib_thread.h), ~100 bytes each. */
#define GW_THREADCACHE_ENTRIES 65536

struct gw_ctx {
    /* The current settings snapshot: immutable; swapped atomically by a
       SIGHUP reload (gw_reload.h). Take it once per use
       (`const struct gw_settings *set = ctx->set;`): fields that cannot
       change live are equal in every snapshot. */
    const struct gw_settings *_Atomic set;
    struct ib_upstream upstream;
    struct gw_token_keys keys;
    struct ib_pool *pool;
    struct ib_foldermap *folders; /* per-account folder map cache (may be NULL: no cache) */
    struct cm_work *work;
    struct gw_metrics *metrics;
    struct gw_server *server;
    struct rt_hub *hub;         /* realtime watchers */
    struct gw_sse *sse;         /* SSE streams */
    struct cm_counter *jmap_inflight; /* concurrent JMAP API requests per account */
    struct gw_ready *ready;     /* /readyz probe and its cache */
    struct gw_limit *limit;     /* failed-login limiter, trusted proxies */
    struct ib_loccache *loccache; /* where GUID email ids were seen (thread-safe) */
    struct ib_thread_cache *threads; /* Message-ID -> thread root (thread-safe) */
    struct gw_send *send;       /* SMTP and the send limiter; NULL: no smtp_url */
    atomic_bool stopping;       /* SIGTERM seen: new work is refused */
    atomic_bool upstream_labels; /* a session of the upstream offered X-GM-EXT-1 (Gmail
                                    labels: an Email in several mailboxes); set by
                                    gw_ctx_note_labels */
};

/* A session just checked out offers labels (X-GM-EXT-1): remember it for
   the JMAP session resource when it cannot have a session of its own
   (gw_jmap_session_labels). Thread-safe. */
static inline void gw_ctx_note_labels(struct gw_ctx *ctx, bool labels)
{
    if (labels)
        atomic_store(&ctx->upstream_labels, true);
}

#endif
