/* gw_authn.h - who is calling, and their IMAP session for this request.
 *
 * Credentials are looked for in this order: `Authorization: Bearer <jwt>`,
 * `Authorization: Basic` (direct IMAP login, for JMAP clients), the login
 * cookie, and, only where the route allows it (SSE: EventSource cannot send
 * headers), the `access_token` query argument.
 *
 * Threads: run on whichever thread runs the handler; gw_authn_run may
 * block (IMAP login), so only on a worker.
 */
#ifndef GW_AUTHN_H
#define GW_AUTHN_H

#include <stdbool.h>

#include "common/cm_err.h"
#include "gateway/gw_token.h"

struct gw_req;
struct ib_session;

#define GW_COOKIE_NAME "jmapgate_token"
/* Set beside it at login: the account id, a routing hint for proxies. */
#define GW_ROUTE_COOKIE_NAME "jmapgate_account"

/* Fill p from the request's credentials (caller: gw_principal_fini).
   CM_EAUTH when none are given or they are invalid. */
int gw_authn_principal(struct gw_req *req, bool allow_query_token, struct gw_principal *p,
                       struct cm_err *err) __attribute__((warn_unused_result));

/* The failed-login limiter, before any IMAP work with a password: 0, or
   CM_ETOOMANY (429, with req->retry_after_secs for Retry-After) when user
   or the client address is over the limit. */
int gw_authn_limit_check(struct gw_req *req, const char *user, struct cm_err *err)
    __attribute__((warn_unused_result));
/* After an upstream login of user: count it when it was refused (rc is
   CM_EAUTH). */
void gw_authn_limit_result(struct gw_req *req, const char *user, int rc);

/* IMAP work of one request, run by gw_authn_run on a checked-out session.
   Returns 0 or a CM_E* code with err set. */
typedef int gw_imap_fn(struct ib_session *s, void *arg, struct cm_err *err);

/* Authenticate, check out a session and run fn on it. A pooled session may
   have been dropped by the server since its last use (restart, idle
   timeout): when fn fails and the session is broken, fn runs once more on
   a fresh session. p is filled with the caller's identity (caller calls
   gw_principal_fini, also on failure). */
int gw_authn_run(struct gw_req *req, struct gw_principal *p, gw_imap_fn *fn, void *arg,
                 struct cm_err *err) __attribute__((warn_unused_result));

/* The same for a caller already authenticated (p filled, e.g. with the
   SSE routes' ?access_token=): check out, run fn, retry once on a dropped
   session. p stays the caller's. */
int gw_authn_run_as(struct gw_req *req, const struct gw_principal *p, gw_imap_fn *fn, void *arg,
                    struct cm_err *err) __attribute__((warn_unused_result));

#endif
