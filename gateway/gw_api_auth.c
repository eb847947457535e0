/* gw_api_auth.c - POST /api/v1/auth/login and /logout.
 * Login takes a password, or an OAuth 2.0 access token that the gateway
 * presents to IMAP with AUTHENTICATE OAUTHBEARER (RFC 7628, the default) or
 * XOAUTH2 (Gmail, Outlook): {"username","accessToken","mechanism"}. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cm_log.h"
#include "common/cm_time.h"
#include "gateway/gw_authn.h"
#include "gateway/gw_ctx.h"
#include "imapbridge/ib_session.h"
#include "gateway/gw_handlers.h"
#include "gateway/gw_req.h"
#include "imapbridge/ib_pool.h"

#define MAX_CRED_LEN 1024
#define MAX_ACCESS_TOKEN_LEN 4096 /* sealed into our token, which is capped at 8 KB */

/* What the login body asks for (borrowed from the parsed body). */
struct login_req {
    const char *user;
    const char *secret;       /* the password or the OAuth access token */
    enum ib_auth_mech mech;
};

/* A username, password or token we are willing to hand to IMAP: non-empty,
   at most max bytes, no CR, LF or NUL (libetpan quotes the rest; SASL
   tokens are base64-encoded). */
static bool acceptable(const char *s, size_t max)
{
    size_t n = strlen(s);

    return n > 0 && n <= max && strpbrk(s, "\r\n") == NULL;
}

static int mech_by_name(json_t *m, enum ib_auth_mech *mech_r)
{
    const char *name = json_string_value(m);

    if (m == NULL || json_is_null(m) || (name && strcasecmp(name, "OAUTHBEARER") == 0))
        *mech_r = IB_AUTH_OAUTHBEARER; /* RFC 7628, the default */
    else if (name && strcasecmp(name, "XOAUTH2") == 0)
        *mech_r = IB_AUTH_XOAUTH2;
    else
        return -1;
    return 0;
}

/* {"username","password"} or {"username","accessToken"[,"mechanism"]}. */
static int parse_fields(json_t *body, struct login_req *lr, struct cm_err *err)
{
    json_t *u = json_object_get(body, "username"), *p = json_object_get(body, "password");
    json_t *t = json_object_get(body, "accessToken"), *m = json_object_get(body, "mechanism");

    if (!json_is_string(u) || !acceptable(json_string_value(u), MAX_CRED_LEN))
        return cm_err_set(err, CM_EINVAL, "username must be a non-empty string of at most "
                                          "1024 bytes without line breaks");
    lr->user = json_string_value(u);
    if ((p != NULL) == (t != NULL))
        return cm_err_set(err, CM_EINVAL, "give either a password or an accessToken");
    if (p != NULL) {
        if (m != NULL)
            return cm_err_set(err, CM_EINVAL, "mechanism goes with accessToken only");
        if (!json_is_string(p) || !acceptable(json_string_value(p), MAX_CRED_LEN))
            return cm_err_set(err, CM_EINVAL, "password must be a non-empty string of at most "
                                              "1024 bytes without line breaks");
        lr->secret = json_string_value(p);
        lr->mech = IB_AUTH_LOGIN;
        return 0;
    }
    if (!json_is_string(t) || !acceptable(json_string_value(t), MAX_ACCESS_TOKEN_LEN))
        return cm_err_set(err, CM_EINVAL, "accessToken must be a non-empty string of at most "
                                          "4096 bytes without line breaks");
    if (mech_by_name(m, &lr->mech) < 0)
        return cm_err_set(err, CM_EINVAL, "mechanism must be \"OAUTHBEARER\" or \"XOAUTH2\"");
    lr->secret = json_string_value(t);
    return 0;
}

static int parse_login(struct gw_req *req, struct login_req *lr, json_t **body_r,
                       struct cm_err *err)
{
    json_t *body = gw_req_body_json(req, err);

    if (body == NULL)
        return err->code;
    if (!json_is_object(body) || parse_fields(body, lr, err) < 0) {
        if (err->code == 0)
            cm_err_set(err, CM_EINVAL, "expected a JSON object");
        json_decref(body);
        return err->code;
    }
    *body_r = body;
    return 0;
}

static void set_cookie(struct gw_req *req, const char *token, unsigned int max_age)
{
    char cookie[GW_TOKEN_MAX + 160];

    snprintf(cookie, sizeof(cookie), "%s=%s; Path=/; Max-Age=%u; HttpOnly; SameSite=Strict%s",
             GW_COOKIE_NAME, token, max_age, req->ctx->set->cookie_secure ? "; Secure" : "");
    gw_req_add_header(req, "Set-Cookie", cookie);
}

/* The routing hint for a load balancer (README "Running several
   instances"): not a credential, only the account id, so a proxy can hash
   SSE streams by account and one instance owns the account's watchers. */
static void set_route_cookie(struct gw_req *req, const char *acct, unsigned int max_age)
{
    char cookie[IB_ACCOUNT_ID_LEN + 160];

    snprintf(cookie, sizeof(cookie), "%s=%s; Path=/; Max-Age=%u; HttpOnly; SameSite=Strict%s",
             GW_ROUTE_COOKIE_NAME, acct, max_age, req->ctx->set->cookie_secure ? "; Secure" : "");
    gw_req_add_header(req, "Set-Cookie", cookie);
}

/* Log in to IMAP (which proves the password), keep the warm session in the
   pool, and answer with a token. */
static int login(struct gw_req *req, const struct login_req *lr, struct cm_err *err)
{
    const char *user = lr->user;
    struct gw_ctx *ctx = req->ctx;
    struct ib_creds cr = { 0 };
    struct ib_session *s = NULL;
    char acct[IB_ACCOUNT_ID_LEN + 1], expires[32];
    char *token = NULL;
    time_t exp = 0;
    int rc = gw_authn_limit_check(req, user, err);

    if (rc < 0)
        return rc;
    rc = ib_creds_init(&cr, user, lr->secret, lr->mech);
    if (rc < 0)
        return cm_err_set(err, rc, "out of memory");
    cr.origin = req->origin;
    rc = ib_pool_checkout(ctx->pool, &cr, &s, err);
    gw_authn_limit_result(req, user, rc);
    if (rc < 0)
        goto done;
    gw_ctx_note_labels(ctx, ib_session_caps(s) & IB_CAP_XGMEXT);
    ib_pool_checkin(ctx->pool, &s);
    ib_account_id(&ctx->upstream, user, acct);
    rc = gw_token_issue(&ctx->keys, &cr, acct, time(NULL), &token, &exp, err);
    if (rc < 0)
        goto done;
    cm_time_rfc3339(exp, expires, sizeof(expires));
    set_cookie(req, token, ctx->set->token_ttl_secs);
    set_route_cookie(req, acct, ctx->set->token_ttl_secs);
    gw_req_reply_json(req, 200,
                      json_pack("{s:s,s:s,s:I,s:s,s:s}", "token", token, "expiresAt", expires,
                                "expiresIn", (json_int_t)ctx->set->token_ttl_secs, "accountId",
                                acct, "username", user));
done:
    free(token);
    ib_creds_fini(&cr);
    return rc;
}

void gw_api_login(struct gw_req *req)
{
    struct cm_err err = CM_ERR_INIT;
    struct login_req lr = { NULL, NULL, IB_AUTH_LOGIN };
    json_t *body = NULL;

    if (parse_login(req, &lr, &body, &err) == 0 && login(req, &lr, &err) == 0) {
        json_decref(body);
        return;
    }
    json_decref(body);
    if (err.code == CM_EAUTH)
        cm_err_set(&err, CM_EAUTH, lr.mech == IB_AUTH_LOGIN
                                       ? "invalid username or password"
                                       : "the IMAP server refused the access token");
    gw_req_reply_error(req, &err);
}

void gw_api_logout(struct gw_req *req)
{
    char cookie[160];

    snprintf(cookie, sizeof(cookie), "%s=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict%s",
             GW_COOKIE_NAME, req->ctx->set->cookie_secure ? "; Secure" : "");
    gw_req_add_header(req, "Set-Cookie", cookie);
    snprintf(cookie, sizeof(cookie), "%s=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict%s",
             GW_ROUTE_COOKIE_NAME, req->ctx->set->cookie_secure ? "; Secure" : "");
    gw_req_add_header(req, "Set-Cookie", cookie);
    gw_req_reply_owned(req, 204, NULL, NULL, 0);
}
