/* gw_route.h - method + path pattern -> handler (nginx-style static table).
 *
 * A pattern is a path whose segments are literals or "{}" (captures one
 * decoded segment into req->params, in order). Matching is on the
 * percent-decoded segments the server stored in the request.
 *
 * Threads: the table is constant; matching is pure.
 */
#ifndef GW_ROUTE_H
#define GW_ROUTE_H

#include <stddef.h>

struct gw_req;

/* A handler answers through gw_req_reply_*. It runs on the MHD thread
   (must not block) unless the route has GW_ROUTE_WORKER, in which case it
   runs on a worker and may do IMAP work. */
typedef void gw_handler_fn(struct gw_req *req);

enum gw_route_flags {
    GW_ROUTE_WORKER = 1 << 0, /* run on the worker pool */
    GW_ROUTE_STREAM = 1 << 1, /* the handler queues its own streaming response */
    GW_ROUTE_BODY_SINK = 1 << 2 /* the handler is also called on the MHD thread when
                                   the headers are in (req->at_headers): it may answer
                                   at once or install req->body_sink (gw_req.h) */
};

struct gw_route {
    const char *method;   /* "GET", "POST", ... */
    const char *pattern;  /* "/api/v1/mailboxes/{}/messages" */
    gw_handler_fn *handler;
    unsigned int flags;
    const char *name;     /* metrics label, e.g. "mailboxes" */
};

enum gw_route_result {
    GW_ROUTE_FOUND = 0,
    GW_ROUTE_NOT_FOUND = 1,
    GW_ROUTE_BAD_METHOD = 2
};

/* Match req (segments, method) against table[0..n). On FOUND sets
   req->route and req->params. On BAD_METHOD writes the allowed methods,
   comma-separated, into allow (size cap). */
enum gw_route_result gw_route_match(const struct gw_route *table, size_t n, struct gw_req *req,
                                    char *allow, size_t cap);

/* Split req->path into percent-decoded req->segments. Returns 0, or -1
   for a malformed path (bad escape, too many segments, encoded NUL). */
int gw_route_split_path(struct gw_req *req);

#endif
