/* gw_counters.h - process-wide operator counters that many files bump:
 * token rejections by reason and upstream errors by kind (GET /metrics).
 *
 * Lock-free atomics in static storage (like the log level): counting must
 * never fail or allocate, and the call sites (auth, error mapping) have no
 * metrics object at hand.
 *
 * Threads: every function is safe from any thread.
 */
#ifndef GW_COUNTERS_H
#define GW_COUNTERS_H

#include "common/cm_buf.h"
#include "common/cm_err.h"

/* A token (Bearer, cookie or ?access_token=) was refused; reason is the
   verifier's message, classified into expired, not_yet_valid, signature,
   algorithm, issuer, audience, credentials, too_large or malformed. */
void gw_counters_token_rejected(const char *reason);

/* Label of the reason gw_counters_token_rejected counts msg under
   (static string). */
const char *gw_counters_token_reason(const char *msg);

/* A request or JMAP method failed with code; the upstream kinds are
   counted: CM_EUPSTREAM (protocol: NO/BAD/BYE, broken stream),
   CM_ETIMEOUT (timeout), CM_EUNAVAIL (unavailable: cannot connect),
   CM_EAGAIN (busy: connection caps); other codes are ignored. */
void gw_counters_error(enum cm_code code);

/* Append both families in Prometheus text format. */
int gw_counters_render(struct cm_buf *out) __attribute__((warn_unused_result));

#endif
