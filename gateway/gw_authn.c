/* gw_authn.c - request credentials -> principal -> pooled IMAP session. */
#include "gateway/gw_authn.h"

#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/cm_time.h"
#include "gateway/gw_counters.h"
#include "gateway/gw_ctx.h"
#include "gateway/gw_limit.h"
#include "gateway/gw_req.h"
#include "imapbridge/ib_pool.h"
#include "imapbridge/ib_session.h"

static int verify_token(struct gw_req *req, const char *token, struct gw_principal *p,
                        struct cm_err *err)
{
    int rc = gw_token_verify(&req->ctx->keys, token, time(NULL), p, err);

    if (rc < 0)
        gw_counters_token_rejected(err ? err->msg : NULL);
    return rc;
}

int gw_authn_limit_check(struct gw_req *req, const char *user, struct cm_err *err)
{
    req->retry_after_secs = gw_limit_check(req->ctx->limit, user, req->origin.ip, cm_now_ms());
    return req->retry_after_secs > 0
               ? cm_err_set(err, CM_ETOOMANY, "too many failed logins from this address or for "
                                              "this user; retry later")
               : 0;
}

void gw_authn_limit_result(struct gw_req *req, const char *user, int rc)
{
    if (rc == CM_EAUTH)
        gw_limit_fail(req->ctx->limit, user, req->origin.ip, cm_now_ms());
}

/* Basic: the password goes to IMAP on this request, so the limiter decides
   first. */
static int basic_principal(struct gw_req *req, const char *auth, struct gw_principal *p,
                           struct cm_err *err)
{
    int rc = gw_token_parse_basic(auth, p, err);

    return rc < 0 ? rc : gw_authn_limit_check(req, p->creds.username, err);
}

static int find_principal(struct gw_req *req, bool allow_query_token, struct gw_principal *p,
                          struct cm_err *err)
{
    const char *auth = gw_req_header(req, GW_HDR_AUTHORIZATION);
    char cookie[GW_TOKEN_MAX + 1];
    const char *q;

    memset(p, 0, sizeof(*p));
    if (auth != NULL) {
        if (strncasecmp(auth, "Bearer ", 7) == 0)
            return verify_token(req, auth + 7 + strspn(auth + 7, " "), p, err);
        if (strncasecmp(auth, "Basic ", 6) == 0)
            return basic_principal(req, auth, p, err);
        return cm_err_set(err, CM_EAUTH, "unsupported Authorization scheme");
    }
    if (gw_req_cookie(req, GW_COOKIE_NAME, cookie, sizeof(cookie)))
        return verify_token(req, cookie, p, err);
    q = allow_query_token ? gw_req_query(req, "access_token") : NULL;
    if (q != NULL)
        return verify_token(req, q, p, err);
    return cm_err_set(err, CM_EAUTH, "authentication required");
}

int gw_authn_principal(struct gw_req *req, bool allow_query_token, struct gw_principal *p,
                       struct cm_err *err)
{
    int rc = find_principal(req, allow_query_token, p, err);

    if (rc == 0)
        p->creds.origin = req->origin; /* passed upstream before login */
    return rc;
}

int gw_authn_run(struct gw_req *req, struct gw_principal *p, gw_imap_fn *fn, void *arg,
                 struct cm_err *err)
{
    int rc = gw_authn_principal(req, false, p, err);

    return rc < 0 ? rc : gw_authn_run_as(req, p, fn, arg, err);
}

int gw_authn_run_as(struct gw_req *req, const struct gw_principal *p, gw_imap_fn *fn, void *arg,
                    struct cm_err *err)
{
    struct ib_session *s = NULL;
    int rc = 0;

    for (int attempt = 0; rc == 0 && attempt < 2; attempt++) {
        rc = ib_pool_checkout(req->ctx->pool, &p->creds, &s, err);
        gw_authn_limit_result(req, p->creds.username, rc);
        if (rc < 0)
            break;
        rc = fn(s, arg, err);
        if (rc == 0 || !ib_session_is_broken(s)) {
            ib_pool_checkin(req->ctx->pool, &s);
            break;
        }
        ib_pool_checkin(req->ctx->pool, &s); /* closes the broken session */
        if (attempt == 0)
            cm_err_clear(err);
        rc = attempt == 0 ? 0 : rc;
    }
    return rc;
}
