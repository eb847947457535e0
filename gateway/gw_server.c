/* gw_server.c - libmicrohttpd daemon, request lifecycle, dispatch. */
#include "gateway/gw_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/cm_log.h"
#include "common/cm_crypto.h"
#include "common/cm_time.h"
#include "common/cm_work.h"
#include "gateway/gw_conn.h"
#include "gateway/gw_connlimit.h"
#include "gateway/gw_ctx.h"
#include "gateway/gw_gzip.h"
#include "gateway/gw_limit.h"
#include "gateway/gw_metrics.h"
#include "gateway/gw_req.h"
#include "gateway/gw_route.h"

struct gw_server {
    struct gw_ctx *ctx;
    struct MHD_Daemon *daemon;
    const struct gw_route *routes;
    size_t nroutes;
    unsigned int port;
    atomic_ullong next_id;
    unsigned int boot_tag;
    struct gw_connlimit *connlimit; /* max_connections(_per_ip) */
};

/* One TCP connection's socket context: its counted address and verdict. */
struct conn_info {
    char ip[46];
    bool exempt;
    enum gw_conn_verdict verdict;
};

static const struct {
    enum gw_req_header h;
    const char *name;
} copied_headers[] = {
    { GW_HDR_AUTHORIZATION, MHD_HTTP_HEADER_AUTHORIZATION },
    { GW_HDR_COOKIE, MHD_HTTP_HEADER_COOKIE },
    { GW_HDR_CONTENT_TYPE, MHD_HTTP_HEADER_CONTENT_TYPE },
    { GW_HDR_ACCEPT, MHD_HTTP_HEADER_ACCEPT },
    { GW_HDR_ACCEPT_ENCODING, MHD_HTTP_HEADER_ACCEPT_ENCODING },
    { GW_HDR_LAST_EVENT_ID, "Last-Event-ID" },
    { GW_HDR_IF_NONE_MATCH, MHD_HTTP_HEADER_IF_NONE_MATCH },
    { GW_HDR_CONTENT_LENGTH, MHD_HTTP_HEADER_CONTENT_LENGTH },
};

/* Keep the URL raw: we decode path segments and query values ourselves,
   so an encoded '/' inside a mailbox name stays inside its segment. */
static size_t keep_raw(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return strlen(s);
}

__attribute__((format(printf, 2, 0))) /* clang's -Wformat-nonliteral needs it */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    size_t n;

    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    /* An SSE stream we end on purpose (client hang-up, slow client). */
    if (strncmp(msg, "Closing connection (application error generating response)", 58) == 0)
        cm_debug("component=mhd", "%s", msg);
    else
        cm_warn("component=mhd", "%s", msg);
}

static enum MHD_Result copy_query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    struct gw_req *req = cls;
    struct gw_kv *kv;

    (void)kind;
    kv = gw_req_query_slot(req);
    if (kv == NULL) { /* too many arguments (or out of memory) */
        req->bad_request = true;
        return MHD_NO;
    }
    kv->name = gw_percent_decode(key, strlen(key), true);
    kv->value = gw_percent_decode(value ? value : "", value ? strlen(value) : 0, true);
    if (kv->name == NULL || kv->value == NULL) {
        free(kv->name);
        free(kv->value);
        kv->name = kv->value = NULL;
        req->bad_request = true;
        return MHD_NO;
    }
    req->nquery++;
    return MHD_YES;
}

static void copy_inputs(struct gw_req *req, struct MHD_Connection *c)
{
    for (size_t i = 0; i < sizeof(copied_headers) / sizeof(copied_headers[0]); i++) {
        const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, copied_headers[i].name);

        if (v != NULL)
            req->headers[copied_headers[i].h] = strdup(v);
    }
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, copy_query_arg, req);
    if (gw_route_split_path(req) < 0)
        req->bad_request = true;
}

/* Did the handler set this response header itself? */
static bool handler_set(const struct gw_req *req, const char *name)
{
    for (size_t i = 0; i < req->nresp_headers; i++) {
        if (strcasecmp(req->resp_headers[i].name, name) == 0)
            return true;
    }
    return false;
}

/* Cache-Control is no-store unless the handler chose (static files:
   no-cache, so their ETag saves the download). */
static void add_std_headers(struct MHD_Response *r, struct gw_req *req)
{
    MHD_add_response_header(r, "X-Request-Id", req->id_text);
    if (!handler_set(req, MHD_HTTP_HEADER_CACHE_CONTROL))
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (req->resp_type != NULL)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, req->resp_type);
    for (size_t i = 0; i < req->nresp_headers; i++)
        MHD_add_response_header(r, req->resp_headers[i].name, req->resp_headers[i].value);
}

/* Compress a large JSON or text answer for a client that accepts gzip. */
static void maybe_gzip(struct gw_req *req)
{
    const char *type = req->resp_type;
    size_t zlen = 0;
    char *z;

    if (req->resp_len < GW_GZIP_MIN_BYTES || type == NULL ||
        (strncmp(type, "application/", 12) != 0 && strncmp(type, "text/", 5) != 0))
        return;
    gw_req_add_header(req, MHD_HTTP_HEADER_VARY, MHD_HTTP_HEADER_ACCEPT_ENCODING);
    if (!gw_gzip_accepted(gw_req_header(req, GW_HDR_ACCEPT_ENCODING)))
        return;
    z = gw_gzip(req->resp_body, req->resp_len, &zlen);
    if (z == NULL || zlen >= req->resp_len) {
        free(z);
        return;
    }
    free(req->resp_body);
    req->resp_body = z;
    req->resp_len = zlen;
    gw_req_add_header(req, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
}

/* Queue req's answer on its connection. Called on the MHD thread, or on a
   worker while the connection is suspended. */
static enum MHD_Result queue_answer(struct gw_req *req)
{
    struct MHD_Response *r;
    enum MHD_Result ret;

    if (req->stream_response != NULL) { /* SSE: gw_sse built it */
        r = req->stream_response;
        req->stream_response = NULL;
        ret = MHD_queue_response(req->conn, 200, r);
        MHD_destroy_response(r); /* the connection keeps its reference */
        gw_req_shed_inputs(req); /* the stream may stay open for hours */
        return ret;
    }
    if (req->status == 0)
        gw_req_reply_problem(req, 500, "handler gave no answer");
    maybe_gzip(req);
    r = MHD_create_response_from_buffer(req->resp_len, req->resp_body, MHD_RESPMEM_MUST_FREE);
    if (r == NULL)
        return MHD_NO;
    req->resp_body = NULL; /* owned by r now */
    req->resp_len = 0;
    add_std_headers(r, req);
    ret = MHD_queue_response(req->conn, req->status, r);
    MHD_destroy_response(r);
    return ret;
}

static void run_on_worker(void *arg)
{
    struct gw_req *req = arg;
    struct MHD_Connection *c = req->conn;
    uint64_t waited_ms = (cm_now_ns() - req->start_ns) / 1000000;

    if (waited_ms > (uint64_t)req->ctx->set->request_timeout_secs * 1000) {
        gw_req_add_header(req, "Retry-After", "1");
        gw_req_reply_problem(req, 503, "the gateway is overloaded; try again");
    } else {
        req->route->handler(req);
    }
    queue_answer(req);
    MHD_resume_connection(c); /* req may be freed from here on */
}

static enum MHD_Result dispatch(struct gw_server *srv, struct gw_req *req)
{
    char allow[64];
    enum gw_route_result rr;

    req->route_index = srv->nroutes;
    if (req->bad_request) {
        gw_req_reply_problem(req, 400, "malformed URL (bad escape or too many parts)");
        return queue_answer(req);
    }
    rr = gw_route_match(srv->routes, srv->nroutes, req, allow, sizeof(allow));
    if (rr == GW_ROUTE_NOT_FOUND) {
        gw_req_reply_problem(req, 404, "no such resource");
        return queue_answer(req);
    }
    if (rr == GW_ROUTE_BAD_METHOD) {
        gw_req_add_header(req, MHD_HTTP_HEADER_ALLOW, allow);
        gw_req_reply_problem(req, 405, "method not allowed for this resource");
        return queue_answer(req);
    }
    req->route_index = (size_t)(req->route - srv->routes);
    if (req->body_too_big) {
        gw_req_reply_problem(req, 413, "request body exceeds max_body");
        return queue_answer(req);
    }
    if (!(req->route->flags & GW_ROUTE_WORKER)) {
        req->route->handler(req);
        return (req->route->flags & GW_ROUTE_STREAM) && req->status == 0 ? MHD_YES
                                                                          : queue_answer(req);
    }
    MHD_suspend_connection(req->conn);
    if (atomic_load(&srv->ctx->stopping) ||
        cm_work_submit(srv->ctx->work, run_on_worker, req) < 0) {
        gw_req_add_header(req, "Retry-After", "1");
        gw_req_reply_problem(req, 503, "the gateway is busy or shutting down; try again");
        queue_answer(req);
        MHD_resume_connection(req->conn);
    }
    return MHD_YES;
}

static bool content_length_too_big(struct MHD_Connection *c, size_t max)
{
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);

    return cl != NULL && strtoull(cl, NULL, 10) > max;
}

/* Who is calling: the socket peer, or X-Forwarded-For of a trusted proxy;
   and the local address they reached (for IMAP ID x-connected-ip). */
static void find_origin(struct gw_server *srv, struct gw_req *req)
{
    const union MHD_ConnectionInfo *peer =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const union MHD_ConnectionInfo *fd =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    struct sockaddr_storage local;
    socklen_t len = sizeof(local);

    gw_limit_client(srv->ctx->limit, peer ? peer->client_addr : NULL,
                    MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "X-Forwarded-For"),
                    req->origin.ip, &req->origin.port);
    if (fd != NULL && getsockname(fd->connect_fd, (struct sockaddr *)&local, &len) == 0) {
        unsigned int port;

        gw_limit_client(srv->ctx->limit, (struct sockaddr *)&local, NULL, req->origin.local_ip,
                        &port);
    }
}

/* Answered from the headers alone, before any body is read: bad framing
   (400) or a declared body over max_body (413). MHD closes the connection
   after such an answer instead of reading the body. */
static enum MHD_Result early_answer(struct gw_server *srv, struct gw_req *req)
{
    const char *bad = gw_conn_framing_error(req->conn);
    char allow[64];

    if (bad != NULL) {
        req->bad_request = true;
        gw_req_add_header(req, MHD_HTTP_HEADER_CONNECTION, "close");
        gw_req_reply_problem(req, 400, bad);
        return queue_answer(req);
    }
    copy_inputs(req, req->conn);
    if (!req->bad_request &&
        gw_route_match(srv->routes, srv->nroutes, req, allow, sizeof(allow)) == GW_ROUTE_FOUND &&
        (req->route->flags & GW_ROUTE_BODY_SINK)) {
        /* the handler sets its own limits and may stream the body */
        req->at_headers = true;
        req->route->handler(req);
        req->at_headers = false;
        if (req->status == 0)
            return MHD_YES;
        gw_req_add_header(req, MHD_HTTP_HEADER_CONNECTION, "close");
        return queue_answer(req);
    }
    if (content_length_too_big(req->conn, srv->ctx->set->max_body_bytes)) {
        req->body_too_big = true;
        gw_req_add_header(req, MHD_HTTP_HEADER_CONNECTION, "close");
        gw_req_reply_problem(req, 413, "request body exceeds max_body");
        return queue_answer(req);
    }
    return MHD_YES;
}

/* A body without Content-Length (chunked) crossed max_body: answer 413 now
   and drop the connection rather than read the rest (which a client can
   make endless with a 7fffffff chunk header). */
static enum MHD_Result cut_off_body(struct gw_req *req)
{
    req->body_too_big = true;
    gw_req_reply_problem(req, 413, "request body exceeds max_body");
    gw_conn_answer_and_close(req->conn, req);
    return MHD_NO;
}

/* A body sink refused a chunk: its answer (413 by default) now, then drop
   the connection, as cut_off_body. */
static enum MHD_Result cut_off_sink(struct gw_req *req)
{
    req->body_too_big = true;
    if (req->status == 0)
        gw_req_reply_problem(req, 413, "request body too large");
    gw_conn_answer_and_close(req->conn, req);
    return MHD_NO;
}

/* ---- connection limits (gw_connlimit.h) ---------------------------------- */

static void peer_ip(struct gw_server *srv, const struct sockaddr *addr, char *ip, bool *exempt)
{
    unsigned int port;

    gw_limit_client(srv->ctx->limit, addr, NULL, ip, &port);
    *exempt = gw_limit_is_trusted(srv->ctx->limit, ip);
}

/* MHD_AcceptPolicyCallback: close a flood before MHD allocates anything. */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
    struct gw_server *srv = cls;
    const struct gw_settings *set = srv->ctx->set;
    enum gw_conn_reason why;
    char ip[46];
    bool exempt;

    (void)len;
    peer_ip(srv, addr, ip, &exempt);
    if (gw_connlimit_peek(srv->connlimit, ip, exempt, set->max_connections_per_ip,
                          set->max_connections, &why) != GW_CONN_DROP)
        return MHD_YES;
    gw_connlimit_dropped(srv->connlimit, why);
    return MHD_NO;
}

/* MHD_NotifyConnectionCallback: count connections, note the over-limit ones. */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct gw_server *srv = cls;
    const struct gw_settings *set = srv->ctx->set;
    struct conn_info *ci = *socket_context;
    const union MHD_ConnectionInfo *peer;

    if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        if (ci != NULL)
            gw_connlimit_close(srv->connlimit, ci->ip, ci->exempt);
        free(ci);
        *socket_context = NULL;
        return;
    }
    ci = calloc(1, sizeof(*ci));
    if (ci == NULL)
        return; /* not counted; served */
    peer = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    peer_ip(srv, peer ? peer->client_addr : NULL, ci->ip, &ci->exempt);
    ci->verdict = gw_connlimit_open(srv->connlimit, ci->ip, ci->exempt,
                                    set->max_connections_per_ip, set->max_connections);
    *socket_context = ci;
}

static bool over_limit(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    const struct conn_info *ci = info ? info->socket_context : NULL;

    return ci != NULL && ci->verdict != GW_CONN_OK;
}

/* 503 before any work: no routing, no auth, no body read. */
static enum MHD_Result answer_over_limit(struct gw_req *req)
{
    gw_req_add_header(req, "Retry-After", "1");
    gw_req_add_header(req, MHD_HTTP_HEADER_CONNECTION, "close");
    gw_req_reply_problem(req, 503, "too many connections; try again");
    return queue_answer(req);
}

void gw_server_connlimit_stats(struct gw_server *srv, struct gw_connlimit_stats *out)
{
    gw_connlimit_stats(srv->connlimit, out);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **con_cls)
{
    struct gw_server *srv = cls;
    struct gw_req *req = *con_cls;

    (void)version;
    if (req == NULL) {
        req = gw_req_new(srv->ctx, method, url, srv->ctx->set->max_body_bytes);
        if (req == NULL)
            return MHD_NO;
        req->conn = c;
        req->start_ns = cm_now_ns();
        req->id = atomic_fetch_add(&srv->next_id, 1);
        snprintf(req->id_text, sizeof(req->id_text), "%08x-%llu", srv->boot_tag,
                 (unsigned long long)req->id);
        req->route_index = srv->nroutes;
        gw_metrics_request_start(srv->ctx->metrics);
        *con_cls = req;
        find_origin(srv, req);
        if (over_limit(c))
            return answer_over_limit(req);
        return early_answer(srv, req);
    }
    if (*upload_size > 0) {
        if (req->status != 0) { /* answered from the headers; MHD closes */
            *upload_size = 0;
            return MHD_YES;
        }
        if (req->body_sink != NULL) {
            if (req->body_sink(req, upload_data, *upload_size) < 0)
                return cut_off_sink(req);
        } else if (cm_buf_append(&req->body, upload_data, *upload_size) < 0) {
            return cut_off_body(req);
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (req->status != 0)
        return MHD_YES; /* already answered (early 413) */
    return dispatch(srv, req);
}

static void log_completed(struct gw_server *srv, struct gw_req *req, uint64_t ns,
                          enum MHD_RequestTerminationCode toe)
{
    char kv[512] = "";
    char num[48];

    cm_log_kv(kv, sizeof(kv), "req", req->id_text);
    cm_log_kv(kv, sizeof(kv), "method", req->method);
    cm_log_kv(kv, sizeof(kv), "path", req->path);
    cm_log_kv(kv, sizeof(kv), "route",
              req->route_index < srv->nroutes ? srv->routes[req->route_index].name : "-");
    snprintf(num, sizeof(num), "%u", req->status);
    cm_log_kv(kv, sizeof(kv), "status", num);
    snprintf(num, sizeof(num), "%.3f", (double)ns / 1e6);
    cm_log_kv(kv, sizeof(kv), "ms", num);
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK) {
        snprintf(num, sizeof(num), "%d", (int)toe);
        cm_log_kv(kv, sizeof(kv), "terminated", num);
    }
    cm_info(kv, "request");
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct gw_server *srv = cls;
    struct gw_req *req = *con_cls;
    uint64_t ns;

    (void)c;
    if (req == NULL)
        return;
    ns = cm_now_ns() - req->start_ns;
    gw_metrics_request_done(srv->ctx->metrics, req->route_index, req->status, ns);
    log_completed(srv, req, ns, toe);
    gw_req_free(&req);
    *con_cls = NULL;
}

static int resolve_listen(const char *listen, struct sockaddr_storage *ss, struct cm_err *err)
{
    const char *colon = strrchr(listen, ':');
    char host[256];
    struct addrinfo hints = { 0 }, *res = NULL;
    size_t hlen = (size_t)(colon - listen);
    int rc;

    if (hlen >= sizeof(host))
        return cm_err_set(err, CM_ECONFIG, "listen: host too long");
    memcpy(host, listen, hlen);
    host[hlen] = '\0';
    if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
        memmove(host, host + 1, hlen - 2);
        host[hlen - 2] = '\0';
    }
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    rc = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &res);
    if (rc != 0)
        return cm_err_set(err, CM_ECONFIG, "listen: cannot resolve \"%s\": %s", listen,
                          gai_strerror(rc));
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

static unsigned int daemon_flags(const struct sockaddr_storage *ss)
{
    unsigned int f = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;

    if (ss->ss_family == AF_INET6)
        f |= MHD_USE_IPv6;
    return f;
}

int gw_server_bind(const char *listen_addr, int *fd_r, struct cm_err *err)
{
    struct sockaddr_storage ss = { 0 };
    socklen_t len;
    int fd, one = 1, rc = resolve_listen(listen_addr, &ss, err);

    if (rc < 0)
        return rc;
    len = ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return cm_err_set(err, CM_ECONFIG, "listen: cannot create a socket");
    /* As libmicrohttpd sets its own listen sockets up (no MHD_USE_DUAL_STACK). */
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ss.ss_family == AF_INET6)
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, SOMAXCONN) != 0) {
        close(fd);
        return cm_err_set(err, CM_ECONFIG, "cannot listen on %s (in use or not permitted)",
                          listen_addr);
    }
    *fd_r = fd;
    return 0;
}

static unsigned int socket_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return 0;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* MHD's own hard cap sits above the gateway's (gw_connlimit.h closes at
   2 x max_connections), so the gateway decides and MHD never logs a refusal. */
static unsigned int mhd_connection_cap(unsigned int max_connections)
{
    return max_connections * 2 + 16;
}

static struct MHD_Daemon *start_daemon(struct gw_server *srv, const struct sockaddr_storage *ss,
                                       int listen_fd)
{
    const struct gw_settings *set = srv->ctx->set;
    unsigned int threads = set->http_threads;

    /* MHD ignores a pool of 1 with a warning: ask for no pool instead. */
    return MHD_start_daemon(
        daemon_flags(ss), 0, on_accept, srv, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER,
        mhd_log, NULL, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)listen_fd,
        MHD_OPTION_THREAD_POOL_SIZE, threads >= 2 ? threads : 0u, MHD_OPTION_CONNECTION_LIMIT,
        mhd_connection_cap(set->max_connections), MHD_OPTION_CONNECTION_TIMEOUT, 60u,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)set->http_conn_memory,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_NOTIFY_CONNECTION,
        on_connection, srv, MHD_OPTION_UNESCAPE_CALLBACK, keep_raw, NULL,
        MHD_OPTION_STRICT_FOR_CLIENT, 1, MHD_OPTION_END);
}

int gw_server_start(struct gw_ctx *ctx, const struct gw_route *routes, size_t nroutes,
                    int listen_fd, struct gw_server **srv_r, struct cm_err *err)
{
    struct gw_server *srv = calloc(1, sizeof(*srv));
    struct sockaddr_storage ss = { 0 };
    const union MHD_DaemonInfo *info;
    int rc = 0;

    if (srv == NULL || (srv->connlimit = gw_connlimit_new()) == NULL) {
        free(srv);
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    }
    if (listen_fd < 0)
        rc = gw_server_bind(ctx->set->listen, &listen_fd, err);
    if (rc == 0)
        rc = resolve_listen(ctx->set->listen, &ss, err);
    if (rc < 0) {
        gw_connlimit_free(&srv->connlimit);
        free(srv);
        return rc;
    }
    srv->ctx = ctx;
    srv->routes = routes;
    srv->nroutes = nroutes;
    srv->next_id = 1;
    if (cm_random(&srv->boot_tag, sizeof(srv->boot_tag)) < 0)
        srv->boot_tag = (unsigned int)getpid();
    srv->daemon = start_daemon(srv, &ss, listen_fd);
    if (srv->daemon == NULL) {
        close(listen_fd);
        gw_connlimit_free(&srv->connlimit);
        free(srv);
        return cm_err_set(err, CM_ECONFIG, "cannot start the HTTP server on %s",
                          ctx->set->listen);
    }
    info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : 0;
    if (srv->port == 0)
        srv->port = socket_port(listen_fd);
    *srv_r = srv;
    return 0;
}

unsigned int gw_server_port(const struct gw_server *srv)
{
    return srv->port;
}

void gw_server_quiesce(struct gw_server *srv)
{
    MHD_socket fd = MHD_quiesce_daemon(srv->daemon);

    if (fd != MHD_INVALID_SOCKET)
        close(fd);
}

void gw_server_stop(struct gw_server **srvp)
{
    struct gw_server *srv = *srvp;

    if (srv == NULL)
        return;
    *srvp = NULL;
    MHD_stop_daemon(srv->daemon);
    gw_connlimit_free(&srv->connlimit);
    free(srv);
}
