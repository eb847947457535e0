/* gw_ready.c - cached, short-deadline upstream probe for /readyz. */
#include "gateway/gw_ready.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm_time.h"
#include "imapbridge/ib_session.h"

struct gw_ready {
    struct ib_upstream up;   /* shallow copy with our own timeout; strings borrowed */
    unsigned int cache_ms;
    pthread_mutex_t mu;      /* held during a probe: later callers wait, then share */
    bool have;
    uint64_t at_ms;
    struct cm_err last;
};

int gw_ready_new(const struct ib_upstream *up, unsigned int timeout_secs, unsigned int cache_ms,
                 struct gw_ready **r_r, struct cm_err *err)
{
    struct gw_ready *r = calloc(1, sizeof(*r));

    if (r == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    r->up = *up;
    r->up.timeout_secs = timeout_secs;
    r->cache_ms = cache_ms;
    pthread_mutex_init(&r->mu, NULL);
    *r_r = r;
    return 0;
}

void gw_ready_free(struct gw_ready **rp)
{
    struct gw_ready *r = *rp;

    if (r == NULL)
        return;
    *rp = NULL;
    pthread_mutex_destroy(&r->mu);
    free(r);
}

int gw_ready_check(struct gw_ready *r, struct cm_err *err)
{
    struct cm_err result;

    pthread_mutex_lock(&r->mu);
    if (!r->have || cm_now_ms() - r->at_ms >= r->cache_ms) {
        cm_err_clear(&r->last);
        r->last.code = (enum cm_code)ib_upstream_probe(&r->up, &r->last);
        r->at_ms = cm_now_ms();
        r->have = true;
    }
    result = r->last;
    pthread_mutex_unlock(&r->mu);
    if (err != NULL)
        *err = result;
    return result.code;
}
