/* gw_api_health.c - /healthz, /readyz, /metrics. */
#include <stdlib.h>

#include "common/cm_work.h"
#include "gateway/gw_connlimit.h"
#include "gateway/gw_counters.h"
#include "gateway/gw_ctx.h"
#include "gateway/gw_server.h"
#include "gateway/gw_handlers.h"
#include "gateway/gw_metrics.h"
#include "gateway/gw_ready.h"
#include "gateway/gw_req.h"
#include "gateway/gw_sse.h"
#include "realtime/rt_hub.h"
#include "imapbridge/ib_pool.h"
#include "imapbridge/ib_session.h"

void gw_api_healthz(struct gw_req *req)
{
    gw_req_reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

void gw_api_readyz(struct gw_req *req)
{
    struct cm_err err = CM_ERR_INIT;

    if (gw_ready_check(req->ctx->ready, &err) < 0) {
        gw_req_add_header(req, "Retry-After", "5");
        gw_req_reply_json(req, 503, json_pack("{s:s,s:s}", "status", "unavailable", "detail",
                                              err.msg));
        return;
    }
    gw_req_reply_json(req, 200, json_pack("{s:s}", "status", "ready"));
}

static int render_pool(struct gw_ctx *ctx, struct cm_buf *out)
{
    struct ib_pool_stats ps;
    struct cm_work_stats ws;
    int rc = 0;

    ib_pool_stats(ctx->pool, &ps);
    cm_work_stats(ctx->work, &ws);
    const struct {
        const char *name, *type, *help;
        double value;
    } rows[] = {
        { "jmapgate_upstream_connections", "gauge",
          "Open upstream IMAP connections of the request pool.", (double)ps.open },
        { "jmapgate_upstream_sessions_idle", "gauge", "Idle pooled IMAP sessions.",
          (double)ps.idle },
        { "jmapgate_upstream_sessions_opened_total", "counter", "IMAP sessions opened.",
          (double)ps.opened_total },
        { "jmapgate_upstream_sessions_reused_total", "counter",
          "Checkouts served by a warm session.", (double)ps.reused_total },
        { "jmapgate_upstream_checkout_busy_total", "counter",
          "Checkouts refused because a cap was reached.", (double)ps.busy_total },
        { "jmapgate_worker_queue_length", "gauge", "Requests waiting for a worker.",
          (double)ws.queued },
        { "jmapgate_worker_busy", "gauge", "Workers running a request.", (double)ws.running },
    };

    for (size_t i = 0; rc == 0 && i < sizeof(rows) / sizeof(rows[0]); i++)
        rc = gw_metrics_write_value(out, rows[i].name, rows[i].type, rows[i].help, rows[i].value);
    return rc;
}

static int render_latency(const struct rt_hub_stats *hs, struct cm_buf *out)
{
    const char *name = "jmapgate_push_latency_seconds";
    int rc = cm_buf_printf(out,
                           "# HELP %s Upstream notice read to event queued on the stream.\n"
                           "# TYPE %s histogram\n",
                           name, name);

    for (size_t i = 0; rc == 0 && i < RT_LATENCY_BUCKETS; i++)
        rc = cm_buf_printf(out, "%s_bucket{le=\"%g\"} %llu\n", name, rt_latency_bounds_secs[i],
                           hs->latency_buckets[i]);
    if (rc == 0)
        rc = cm_buf_printf(out, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n",
                           name, hs->latency_count, name, hs->latency_sum_secs, name,
                           hs->latency_count);
    return rc;
}

struct metric_row {
    const char *name, *type, *help;
    double v;
};

static int render_push(struct gw_ctx *ctx, struct cm_buf *out)
{
    static const char *const g = "gauge", *const c = "counter";
    struct rt_hub_stats hs;
    struct gw_sse_stats ss;
    struct metric_row rows[12];
    size_t n = 0;
    int rc = 0;

    if (ctx->hub == NULL || ctx->sse == NULL)
        return 0;
    rt_hub_stats(ctx->hub, &hs);
    gw_sse_stats(ctx->sse, &ss);
#define ROW(nm, ty, he, val) rows[n++] = (struct metric_row){ nm, ty, he, (double)(val) }
    ROW("jmapgate_push_streams", g, "Open SSE streams.", ss.open);
    ROW("jmapgate_push_subscribers", g, "Hub subscriptions.", hs.subscribers);
    ROW("jmapgate_push_watchers", g, "Watched (account, folder) pairs.", hs.watchers);
    ROW("jmapgate_push_idle_connections", g, "Upstream IDLE connections.", hs.idle_conns);
    ROW("jmapgate_push_polled_folders", g, "Folders watched by STATUS polling.", hs.polled);
    ROW("jmapgate_push_live_folders", g, "Folders heard at once (own IDLE or account NOTIFY).",
        hs.live_folders);
    ROW("jmapgate_push_events_published_total", c, "Events published.", hs.published_total);
    ROW("jmapgate_push_events_delivered_total", c, "Events queued on streams.",
        hs.delivered_total);
    ROW("jmapgate_push_events_dropped_total", c, "Deliveries refused (stream queue full).",
        hs.dropped_total);
    ROW("jmapgate_push_reconnects_total", c, "Watcher reconnects after an upstream drop.",
        hs.reconnects_total);
    ROW("jmapgate_push_stream_overflows_total", c, "Streams dropped for a full queue.",
        ss.overflow_total);
    ROW("jmapgate_push_stream_hangups_total", c, "Client hang-ups seen by EPOLLRDHUP.",
        ss.hangup_total);
#undef ROW
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = gw_metrics_write_value(out, rows[i].name, rows[i].type, rows[i].help, rows[i].v);
    return rc == 0 ? render_latency(&hs, out) : rc;
}

/* Operator families (issue 16): upstream connections by kind, connection
   limits. */
static int render_ops(struct gw_ctx *ctx, struct cm_buf *out)
{
    static const char *const reasons[] = { "per_ip", "global" };
    struct ib_pool_stats ps;
    struct rt_hub_stats hs = { 0 };
    struct gw_connlimit_stats cs = { 0 };
    int rc;

    ib_pool_stats(ctx->pool, &ps);
    if (ctx->hub != NULL)
        rt_hub_stats(ctx->hub, &hs);
    if (ctx->server != NULL)
        gw_server_connlimit_stats(ctx->server, &cs);
    rc = cm_buf_printf(out,
                       "# HELP jmapgate_upstream_open_connections Open upstream IMAP "
                       "connections by kind (pool: requests; watcher: IDLE/NOTIFY).\n"
                       "# TYPE jmapgate_upstream_open_connections gauge\n"
                       "jmapgate_upstream_open_connections{kind=\"pool\"} %llu\n"
                       "jmapgate_upstream_open_connections{kind=\"watcher\"} %llu\n"
                       "# HELP jmapgate_http_connections Open HTTP connections counted by "
                       "the connection limits.\n"
                       "# TYPE jmapgate_http_connections gauge\n"
                       "jmapgate_http_connections %llu\n"
                       "# HELP jmapgate_http_connections_refused_total Connections over "
                       "max_connections_per_ip (per_ip) or max_connections (global), by "
                       "action (503 answered, or closed at accept).\n"
                       "# TYPE jmapgate_http_connections_refused_total counter\n",
                       (unsigned long long)ps.open, (unsigned long long)hs.idle_conns,
                       (unsigned long long)cs.open);
    for (int i = 0; rc == 0 && i < 2; i++)
        rc = cm_buf_printf(out,
                           "jmapgate_http_connections_refused_total{reason=\"%s\","
                           "action=\"503\"} %llu\n"
                           "jmapgate_http_connections_refused_total{reason=\"%s\","
                           "action=\"closed\"} %llu\n",
                           reasons[i], (unsigned long long)cs.refused_503[i], reasons[i],
                           (unsigned long long)cs.refused_closed[i]);
    return rc == 0 ? gw_counters_render(out) : rc;
}

void gw_api_metrics(struct gw_req *req)
{
    struct cm_buf out;
    size_t len;
    char *text;

    cm_buf_init(&out, 4 * 1024 * 1024);
    if (gw_metrics_render(req->ctx->metrics, &out) < 0 || render_pool(req->ctx, &out) < 0 ||
        render_push(req->ctx, &out) < 0 || render_ops(req->ctx, &out) < 0) {
        cm_buf_fini(&out);
        gw_req_reply_problem(req, 500, "metrics too large");
        return;
    }
    text = cm_buf_steal(&out, &len);
    gw_req_reply_owned(req, text ? 200 : 500, "text/plain; version=0.0.4", text, len);
}
