/* gw_counters.c - token rejections and upstream errors. */
#include "gateway/gw_counters.h"

#include <stdatomic.h>
#include <string.h>

static const struct {
    const char *needle; /* in the verifier's message (gw_token.c) */
    const char *reason;
} token_reasons[] = {
    { "expired", "expired" },          { "not valid yet", "not_yet_valid" },
    { "signature", "signature" },      { "algorithm", "algorithm" },
    { "type not accepted", "algorithm" }, { "critical", "algorithm" },
    { "issuer", "issuer" },            { "audience", "audience" },
    { "credentials", "credentials" },  { "subject", "credentials" },
    { "too large", "too_large" },
};
static const char *const reason_labels[] = { "expired",     "not_yet_valid", "signature",
                                             "algorithm",   "issuer",        "audience",
                                             "credentials", "too_large",     "malformed" };
#define NREASONS (sizeof(reason_labels) / sizeof(reason_labels[0]))

static const struct {
    enum cm_code code;
    const char *kind;
} upstream_kinds[] = {
    { CM_EUPSTREAM, "protocol" },
    { CM_ETIMEOUT, "timeout" },
    { CM_EUNAVAIL, "unavailable" },
    { CM_EAGAIN, "busy" },
};
#define NKINDS (sizeof(upstream_kinds) / sizeof(upstream_kinds[0]))

static atomic_ullong rejected[NREASONS];
static atomic_ullong upstream_errors[NKINDS];

const char *gw_counters_token_reason(const char *msg)
{
    for (size_t i = 0; msg != NULL && i < sizeof(token_reasons) / sizeof(token_reasons[0]); i++) {
        if (strstr(msg, token_reasons[i].needle) != NULL)
            return token_reasons[i].reason;
    }
    return "malformed";
}

void gw_counters_token_rejected(const char *reason)
{
    const char *label = gw_counters_token_reason(reason);

    for (size_t i = 0; i < NREASONS; i++) {
        if (strcmp(label, reason_labels[i]) == 0) {
            atomic_fetch_add(&rejected[i], 1);
            return;
        }
    }
}

void gw_counters_error(enum cm_code code)
{
    for (size_t i = 0; i < NKINDS; i++) {
        if (upstream_kinds[i].code == code) {
            atomic_fetch_add(&upstream_errors[i], 1);
            return;
        }
    }
}

int gw_counters_render(struct cm_buf *out)
{
    int rc = cm_buf_append_str(out, "# HELP jmapgate_auth_token_rejections_total Tokens refused, "
                                    "by reason.\n"
                                    "# TYPE jmapgate_auth_token_rejections_total counter\n");

    for (size_t i = 0; rc == 0 && i < NREASONS; i++)
        rc = cm_buf_printf(out, "jmapgate_auth_token_rejections_total{reason=\"%s\"} %llu\n",
                           reason_labels[i], (unsigned long long)atomic_load(&rejected[i]));
    if (rc == 0)
        rc = cm_buf_append_str(out, "# HELP jmapgate_upstream_errors_total Requests and JMAP "
                                    "method calls failed by the upstream, by kind.\n"
                                    "# TYPE jmapgate_upstream_errors_total counter\n");
    for (size_t i = 0; rc == 0 && i < NKINDS; i++)
        rc = cm_buf_printf(out, "jmapgate_upstream_errors_total{kind=\"%s\"} %llu\n",
                           upstream_kinds[i].kind,
                           (unsigned long long)atomic_load(&upstream_errors[i]));
    return rc;
}
