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

struct gw_connlimit_stats;

/* Bind and listen on listen_addr (host:port): the one step that may need
   root (a port below 1024), done before privileges are dropped. The
   socket is the caller's until passed to gw_server_start. */
int gw_server_bind(const char *listen_addr, int *fd_r, struct cm_err *err)
    __attribute__((warn_unused_result));

/* Start serving routes (borrowed, constant) on listen_fd (from
   gw_server_bind; the server owns it from now on, also on error), or on a
   socket bound to ctx->set->listen when listen_fd < 0. Connection limits
   (gw_connlimit.h) read ctx->set on every connection, so a reload applies
   to the next connection. */
int gw_server_start(struct gw_ctx *ctx, const struct gw_route *routes, size_t nroutes,
                    int listen_fd, struct gw_server **srv_r, struct cm_err *err)
    __attribute__((warn_unused_result));

/* Connection-limit counters for /metrics. */
void gw_server_connlimit_stats(struct gw_server *srv, struct gw_connlimit_stats *out);

/* The port actually bound (useful with port 0). */
unsigned int gw_server_port(const struct gw_server *srv);

/* Stop accepting new connections; requests in progress go on. */
void gw_server_quiesce(struct gw_server *srv);

/* Stop the daemon and free; sets *srvp to NULL. No suspended connection
   may remain (drain the worker pool first). */
void gw_server_stop(struct gw_server **srvp);

#endif
