/* gw_metrics.c - Prometheus counters for HTTP requests. */
#include "gateway/gw_metrics.h"

#include <stdatomic.h>
#include <stdlib.h>

#define NSTATUS 600
static const double bucket_secs[] = { 0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
                                      0.25,  0.5,   1,    2.5,   5,    10 };
#define NBUCKETS (sizeof(bucket_secs) / sizeof(bucket_secs[0]))

struct route_stats {
    atomic_ullong by_status[NSTATUS];
    atomic_ullong buckets[NBUCKETS]; /* non-cumulative; summed when rendered */
    atomic_ullong count;
    atomic_ullong sum_us;
};

struct gw_metrics {
    size_t nroutes;
    const char *const *names;
    struct route_stats *routes; /* nroutes + 1 */
    atomic_llong in_flight;
};

struct gw_metrics *gw_metrics_new(size_t nroutes, const char *const *names)
{
    struct gw_metrics *m = calloc(1, sizeof(*m));

    if (m == NULL)
        return NULL;
    m->nroutes = nroutes;
    m->names = names;
    m->routes = calloc(nroutes + 1, sizeof(*m->routes));
    if (m->routes == NULL) {
        free(m);
        return NULL;
    }
    return m;
}

void gw_metrics_free(struct gw_metrics **mp)
{
    if (*mp == NULL)
        return;
    free((*mp)->routes);
    free(*mp);
    *mp = NULL;
}

void gw_metrics_request_start(struct gw_metrics *m)
{
    atomic_fetch_add(&m->in_flight, 1);
}

long long gw_metrics_in_flight(struct gw_metrics *m)
{
    return atomic_load(&m->in_flight);
}

void gw_metrics_request_done(struct gw_metrics *m, size_t route_index, unsigned int status,
                             uint64_t elapsed_ns)
{
    struct route_stats *r = &m->routes[route_index <= m->nroutes ? route_index : m->nroutes];
    double secs = (double)elapsed_ns / 1e9;
    size_t b = 0;

    atomic_fetch_sub(&m->in_flight, 1);
    atomic_fetch_add(&r->by_status[status < NSTATUS ? status : 0], 1);
    while (b < NBUCKETS && secs > bucket_secs[b])
        b++;
    if (b < NBUCKETS)
        atomic_fetch_add(&r->buckets[b], 1);
    atomic_fetch_add(&r->count, 1);
    atomic_fetch_add(&r->sum_us, elapsed_ns / 1000);
}

static const char *route_name(struct gw_metrics *m, size_t i)
{
    return i < m->nroutes ? m->names[i] : "unmatched";
}

static int render_counts(struct gw_metrics *m, struct cm_buf *out)
{
    int rc = cm_buf_append_str(out, "# HELP jmapgate_http_requests_total HTTP requests by route "
                                    "and status.\n# TYPE jmapgate_http_requests_total counter\n");

    for (size_t i = 0; rc == 0 && i <= m->nroutes; i++) {
        for (unsigned int s = 0; rc == 0 && s < NSTATUS; s++) {
            unsigned long long v = atomic_load(&m->routes[i].by_status[s]);

            if (v > 0)
                rc = cm_buf_printf(out,
                                   "jmapgate_http_requests_total{route=\"%s\",status=\"%u\"} %llu\n",
                                   route_name(m, i), s, v);
        }
    }
    return rc;
}

static int render_histogram(struct gw_metrics *m, struct cm_buf *out)
{
    int rc = cm_buf_append_str(out, "# HELP jmapgate_http_request_duration_seconds Time from "
                                    "request start to response queued.\n"
                                    "# TYPE jmapgate_http_request_duration_seconds histogram\n");

    for (size_t i = 0; rc == 0 && i <= m->nroutes; i++) {
        struct route_stats *r = &m->routes[i];
        unsigned long long count = atomic_load(&r->count), cum = 0;

        if (count == 0)
            continue;
        for (size_t b = 0; rc == 0 && b < NBUCKETS; b++) {
            cum += atomic_load(&r->buckets[b]);
            rc = cm_buf_printf(out,
                               "jmapgate_http_request_duration_seconds_bucket{route=\"%s\","
                               "le=\"%g\"} %llu\n",
                               route_name(m, i), bucket_secs[b], cum);
        }
        if (rc == 0)
            rc = cm_buf_printf(out,
                               "jmapgate_http_request_duration_seconds_bucket{route=\"%s\","
                               "le=\"+Inf\"} %llu\n"
                               "jmapgate_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
                               "jmapgate_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                               route_name(m, i), count, route_name(m, i),
                               (double)atomic_load(&r->sum_us) / 1e6, route_name(m, i), count);
    }
    return rc;
}

int gw_metrics_write_value(struct cm_buf *out, const char *name, const char *type,
                           const char *help, double value)
{
    return cm_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type,
                         name, value);
}

int gw_metrics_render(struct gw_metrics *m, struct cm_buf *out)
{
    int rc = render_counts(m, out);

    if (rc == 0)
        rc = render_histogram(m, out);
    if (rc == 0)
        rc = gw_metrics_write_value(out, "jmapgate_http_requests_in_flight", "gauge",
                                    "Requests received and not yet completed.",
                                    (double)gw_metrics_in_flight(m));
    return rc;
}
