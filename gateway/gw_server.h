/* gw_server.h - the libmicrohttpd daemon: request lifecycle and dispatch.
 *
 * MHD runs an epoll event loop on a small thread pool with suspend/resume
 * (LIBS.md §0.4, §1.2). For each request the server creates a gw_req,
 * reads the body up to max_body (413 beyond), copies headers and query,
 * matches the route table (404 / 405 with Allow as problem JSON), then
 * either runs the handler on the MHD thread, or suspends the connection
 * and hands the request to the worker pool; the worker runs the handler,
 * queues the response and resumes the connection. No IMAP call ever runs
 * on an MHD thread.
 *
 * Threads: start/quiesce/stop from the main thread only.
 */
#ifndef GW_SERVER_H
#define GW_SERVER_H

#include <stddef.h>

#include "common/cm_err.h"

struct gw_ctx;
struct gw_route;
struct gw_server;

/* Bind ctx->set->listen and start serving routes (borrowed, constant). */
int gw_server_start(struct gw_ctx *ctx, const struct gw_route *routes, size_t nroutes,
                    struct gw_server **srv_r, struct cm_err *err)
    __attribute__((warn_unused_result));

/* The port actually bound (useful with port 0). */
unsigned int gw_server_port(const struct gw_server *srv);

/* Stop accepting new connections; requests in progress go on. */
void gw_server_quiesce(struct gw_server *srv);

/* Stop the daemon and free; sets *srvp to NULL. No suspended connection
   may remain (drain the worker pool first). */
void gw_server_stop(struct gw_server **srvp);

#endif
