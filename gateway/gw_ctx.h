/* gw_ctx.h - the process wiring every handler can reach through req->ctx.
 *
 * Built once by gw_main.c, read-only afterwards except for the objects
 * that are themselves thread-safe (pool, work, metrics).
 */
#ifndef GW_CTX_H
#define GW_CTX_H

#include <stdatomic.h>

#include "gateway/gw_token.h"
#include "gateway/gw_settings.h"
#include "imapbridge/ib_upstream.h"

struct ib_pool;
struct cm_work;
struct gw_metrics;
struct gw_server;
struct gw_sse;
struct gw_ready;
struct gw_limit;
struct gw_send;
struct rt_hub;
struct cm_counter;

struct gw_ctx {
    const struct gw_settings *set;
    struct ib_upstream upstream;
    struct gw_token_keys keys;
    struct ib_pool *pool;
    struct cm_work *work;
    struct gw_metrics *metrics;
    struct gw_server *server;
    struct rt_hub *hub;         /* realtime watchers */
    struct gw_sse *sse;         /* SSE streams */
    struct cm_counter *jmap_inflight; /* concurrent JMAP API requests per account */
    struct gw_ready *ready;     /* /readyz probe and its cache */
    struct gw_limit *limit;     /* failed-login limiter, trusted proxies */
    struct gw_send *send;       /* SMTP and the send limiter; NULL: no smtp_url */
    atomic_bool stopping;       /* SIGTERM seen: new work is refused */
};

#endif
