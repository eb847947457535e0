/* gw_req.h - one HTTP request and the response being built for it.
 *
 * A gw_req is created by gw_server when MHD first shows a request and freed
 * in MHD's request-completed callback: it is the single owner of everything
 * the request allocates (STYLE §4.3). Before the handler runs, the server
 * copies into it every input a handler may read (method, decoded path
 * segments, decoded query arguments, the headers below, the body), so a
 * handler may run on a worker thread without touching MHD's connection.
 *
 * The handler answers by calling exactly one of gw_req_reply_* (later
 * calls replace the earlier answer). Headers added with gw_req_add_header
 * are sent with it.
 *
 * Threads: a request is used by one thread at a time: the MHD thread until
 * it is handed to a worker, then that worker until the response is queued.
 */
#ifndef GW_REQ_H
#define GW_REQ_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cm_buf.h"
#include "common/cm_err.h"
#include "imapbridge/ib_upstream.h"

struct gw_ctx;
struct gw_route;
struct MHD_Connection;

#define GW_REQ_MAX_SEGMENTS 16
#define GW_REQ_MAX_QUERY 32
#define GW_REQ_MAX_RESP_HEADERS 12

enum gw_req_header {
    GW_HDR_AUTHORIZATION,
    GW_HDR_COOKIE,
    GW_HDR_CONTENT_TYPE,
    GW_HDR_ACCEPT,
    GW_HDR_ACCEPT_ENCODING,
    GW_HDR_LAST_EVENT_ID,
    GW_HDR_IF_NONE_MATCH,
    GW_HDR_CONTENT_LENGTH,
    GW_HDR_COUNT
};

struct gw_kv {
    char *name;
    char *value;
};

struct gw_req {
    struct gw_ctx *ctx;              /* borrowed: the process */
    struct MHD_Connection *conn;     /* borrowed: owned by MHD; only gw_server and
                                        gw_sse (streams) use it */
    size_t route_index;              /* index in the route table (metrics) */
    uint64_t id;                     /* request id, also X-Request-Id */
    char id_text[24];
    char *method;
    char *path;                      /* raw path, no query string (safe to log) */
    char *segments[GW_REQ_MAX_SEGMENTS]; /* percent-decoded path segments */
    size_t nsegments;
    struct gw_kv *query;             /* decoded query arguments: NULL, or
                                        GW_REQ_MAX_QUERY slots (gw_req_query_slot) */
    size_t nquery;
    char *headers[GW_HDR_COUNT];     /* copies, NULL when absent */
    const struct gw_route *route;    /* matched route, NULL for 404/405 */
    const char *params[4];           /* route captures: borrowed from segments */
    struct cm_buf body;              /* request body, capped by max_body */
    bool at_headers;                 /* GW_ROUTE_BODY_SINK: the handler's call on
                                        the MHD thread before the body (gw_route.h) */
    /* A body sink installed by that call: gw_server hands it each body chunk
       (MHD thread) instead of appending to body. A negative return ends the
       request with the answer the sink set (or 413). sink_free(sink_arg) runs
       in gw_req_free. */
    int (*body_sink)(struct gw_req *req, const char *data, size_t len);
    void *sink_arg;
    void (*sink_free)(void *arg);
    bool body_too_big;
    bool bad_request;                /* malformed path or query */
    struct ib_origin origin;         /* the client's address (gw_limit_client) */
    unsigned int retry_after_secs;   /* Retry-After of a CM_ETOOMANY answer (the
                                        failed-login limiter's wait) */
    uint64_t start_ns;               /* monotonic start */

    /* The response. */
    unsigned int status;
    char *resp_body;
    size_t resp_len;
    const char *resp_type;           /* static string */
    struct gw_kv *resp_headers;      /* NULL, or GW_REQ_MAX_RESP_HEADERS slots
                                        allocated by the first gw_req_add_header
                                        (a stream's gw_req stays small) */
    size_t nresp_headers;
    void *stream_response;           /* struct MHD_Response * of a streaming answer
                                        (gw_sse_respond); gw_server queues it
                                        instead of the buffer above */
};

/* New request (zeroed, body capped at max_body). NULL on OOM. */
struct gw_req *gw_req_new(struct gw_ctx *ctx, const char *method, const char *raw_url,
                          size_t max_body);
void gw_req_free(struct gw_req **reqp);

/* The answer is a stream that may stay open for hours: free what only the
   handler reads (the copied headers, the query, the path segments and
   captures, the body, response headers and body) and keep what the
   completion log and metrics read (method, path, id, route, status,
   start). Called by gw_server once the stream's response is queued, by the
   thread that owns req then. */
void gw_req_shed_inputs(struct gw_req *req);

/* The next free query slot (req->query[req->nquery]; the caller fills it
   and increments nquery), or NULL when all GW_REQ_MAX_QUERY are used or
   out of memory. */
struct gw_kv *gw_req_query_slot(struct gw_req *req);

/* Decoded query argument or NULL (borrowed, valid for the request). */
const char *gw_req_query(const struct gw_req *req, const char *name);
/* Copied request header or NULL (borrowed). */
const char *gw_req_header(const struct gw_req *req, enum gw_req_header h);
/* Value of cookie name from the Cookie header into dst (size cap);
   returns false when absent or too long. */
bool gw_req_cookie(const struct gw_req *req, const char *name, char *dst, size_t cap);

/* Parse the body as one JSON object (duplicate keys rejected). Returns a new
   reference or NULL with err set to CM_EINVAL and a reason. */
json_t *gw_req_body_json(const struct gw_req *req, struct cm_err *err);

/* Answers. gw_req_reply_json steals body (may be NULL: no body). */
void gw_req_reply_json(struct gw_req *req, unsigned int status, json_t *body);
void gw_req_reply_text(struct gw_req *req, unsigned int status, const char *type,
                       const char *text);
/* Take ownership of a malloc'd body of len bytes. */
void gw_req_reply_owned(struct gw_req *req, unsigned int status, const char *type, char *body,
                        size_t len);
/* RFC 7807 problem for err (mapped by gw_error.c). */
void gw_req_reply_error(struct gw_req *req, const struct cm_err *err);
/* RFC 7807 problem with an explicit status and detail. */
void gw_req_reply_problem(struct gw_req *req, unsigned int status, const char *detail);

/* Add a response header (copied). Silently ignored past the cap. */
void gw_req_add_header(struct gw_req *req, const char *name, const char *value);

/* Percent-decode src[0..n) into a new string; NULL when malformed or when
   it decodes to a NUL byte. plus_is_space for query strings. */
char *gw_percent_decode(const char *src, size_t n, bool plus_is_space);

#endif
