/* gw_metrics.h - request counters and latency histograms in Prometheus
 * text format (GET /metrics).
 *
 * Routes are identified by their index in the route table; index nroutes
 * counts requests that matched no route. Counters are lock-free atomics.
 *
 * Ownership: created and freed by main. Threads: every function is safe
 * from any thread.
 */
#ifndef GW_METRICS_H
#define GW_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "common/cm_buf.h"

struct gw_metrics;

/* names[0..nroutes) are borrowed and must outlive the metrics. */
struct gw_metrics *gw_metrics_new(size_t nroutes, const char *const *names);
void gw_metrics_free(struct gw_metrics **mp);

void gw_metrics_request_start(struct gw_metrics *m);
/* route_index == nroutes for unmatched requests. */
void gw_metrics_request_done(struct gw_metrics *m, size_t route_index, unsigned int status,
                             uint64_t elapsed_ns);
long long gw_metrics_in_flight(struct gw_metrics *m);

/* Append the HTTP metrics in Prometheus text format. */
int gw_metrics_render(struct gw_metrics *m, struct cm_buf *out)
    __attribute__((warn_unused_result));

/* Append one gauge or counter with HELP and TYPE lines. */
int gw_metrics_write_value(struct cm_buf *out, const char *name, const char *type,
                           const char *help, double value) __attribute__((warn_unused_result));

#endif
