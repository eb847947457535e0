/* gw_api_health.c - /healthz, /readyz, /metrics. */
#include <stdlib.h>

#include "common/cm_work.h"
#include "gateway/gw_ctx.h"
#include "gateway/gw_handlers.h"
#include "gateway/gw_metrics.h"
#include "gateway/gw_req.h"
#include "imapbridge/ib_pool.h"
#include "imapbridge/ib_session.h"

void gw_api_healthz(struct gw_req *req)
{
    gw_req_reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

void gw_api_readyz(struct gw_req *req)
{
    struct cm_err err = CM_ERR_INIT;

    if (ib_upstream_probe(&req->ctx->upstream, &err) < 0) {
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

void gw_api_metrics(struct gw_req *req)
{
    struct cm_buf out;
    size_t len;
    char *text;

    cm_buf_init(&out, 4 * 1024 * 1024);
    if (gw_metrics_render(req->ctx->metrics, &out) < 0 || render_pool(req->ctx, &out) < 0) {
        cm_buf_fini(&out);
        gw_req_reply_problem(req, 500, "metrics too large");
        return;
    }
    text = cm_buf_steal(&out, &len);
    gw_req_reply_owned(req, text ? 200 : 500, "text/plain; version=0.0.4", text, len);
}
