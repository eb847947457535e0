/* gw_ready.h - the /readyz answer: an upstream probe with its own short
 * deadline, cached so a crowd of probes costs one upstream connection.
 *
 * gw_ready_check connects and reads the greeting (ib_upstream_probe) with
 * timeout_secs per wait instead of the request deadline imap_timeout, and
 * keeps the result for cache_ms. Concurrent callers during a probe wait
 * for it and share its result (single flight), so probes cannot pile up
 * on a frozen upstream.
 *
 * Ownership: gw_ready_new copies what it needs from up (borrowed only
 * during the call); gw_ready_free frees. Threads: gw_ready_check from any
 * thread (workers); it blocks up to about 2 x timeout_secs.
 */
#ifndef GW_READY_H
#define GW_READY_H

#include "common/cm_err.h"
#include "imapbridge/ib_upstream.h"

struct gw_ready;

int gw_ready_new(const struct ib_upstream *up, unsigned int timeout_secs, unsigned int cache_ms,
                 struct gw_ready **r_r, struct cm_err *err) __attribute__((warn_unused_result));
void gw_ready_free(struct gw_ready **rp);

/* 0 when the upstream greets, else its error (code and detail) - maybe
   from a probe up to cache_ms old. */
int gw_ready_check(struct gw_ready *r, struct cm_err *err);

#endif
