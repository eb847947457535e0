/* gw_api_auth.c - POST /api/v1/auth/login and /logout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm_log.h"
#include "common/cm_time.h"
#include "gateway/gw_authn.h"
#include "gateway/gw_ctx.h"
#include "gateway/gw_handlers.h"
#include "gateway/gw_req.h"
#include "imapbridge/ib_pool.h"

#define MAX_CRED_LEN 1024

/* A username or password we are willing to hand to IMAP: non-empty, short,
   no CR, LF or NUL (libetpan quotes the rest). */
static bool acceptable(const char *s)
{
    size_t n = strlen(s);

    return n > 0 && n <= MAX_CRED_LEN && strpbrk(s, "\r\n") == NULL;
}

static int parse_login(struct gw_req *req, const char **user_r, const char **pass_r,
                       json_t **body_r, struct cm_err *err)
{
    json_t *body = gw_req_body_json(req, err);
    json_t *u, *p;

    if (body == NULL)
        return err->code;
    u = json_object_get(body, "username");
    p = json_object_get(body, "password");
    if (!json_is_string(u) || !json_is_string(p) || !acceptable(json_string_value(u)) ||
        !acceptable(json_string_value(p))) {
        json_decref(body);
        return cm_err_set(err, CM_EINVAL,
                          "expected {\"username\": string, \"password\": string}, both "
                          "non-empty, at most 1024 bytes, without line breaks");
    }
    *user_r = json_string_value(u);
    *pass_r = json_string_value(p);
    *body_r = body;
    return 0;
}

static void set_cookie(struct gw_req *req, const char *token, unsigned int max_age)
{
    char cookie[GW_AUTH_MAX_TOKEN + 160];

    snprintf(cookie, sizeof(cookie), "%s=%s; Path=/; Max-Age=%u; HttpOnly; SameSite=Strict%s",
             GW_COOKIE_NAME, token, max_age, req->ctx->set->cookie_secure ? "; Secure" : "");
    gw_req_add_header(req, "Set-Cookie", cookie);
}

/* Log in to IMAP (which proves the password), keep the warm session in the
   pool, and answer with a token. */
static int login(struct gw_req *req, const char *user, const char *pass, struct cm_err *err)
{
    struct gw_ctx *ctx = req->ctx;
    struct ib_creds cr = { 0 };
    struct ib_session *s = NULL;
    char acct[IB_ACCOUNT_ID_LEN + 1], expires[32];
    char *token = NULL;
    time_t exp = 0;
    int rc = ib_creds_init(&cr, user, pass, IB_AUTH_LOGIN);

    if (rc < 0)
        return cm_err_set(err, rc, "out of memory");
    rc = ib_pool_checkout(ctx->pool, &cr, &s, err);
    if (rc < 0)
        goto done;
    ib_pool_checkin(ctx->pool, &s);
    ib_account_id(&ctx->upstream, user, acct);
    rc = gw_auth_issue(&ctx->keys, &cr, acct, time(NULL), &token, &exp, err);
    if (rc < 0)
        goto done;
    cm_time_rfc3339(exp, expires, sizeof(expires));
    set_cookie(req, token, ctx->set->token_ttl_secs);
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
    const char *user = NULL, *pass = NULL;
    json_t *body = NULL;

    if (parse_login(req, &user, &pass, &body, &err) == 0 && login(req, user, pass, &err) == 0) {
        json_decref(body);
        return;
    }
    json_decref(body);
    if (err.code == CM_EAUTH)
        cm_err_set(&err, CM_EAUTH, "invalid username or password");
    gw_req_reply_error(req, &err);
}

void gw_api_logout(struct gw_req *req)
{
    char cookie[160];

    snprintf(cookie, sizeof(cookie), "%s=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict%s",
             GW_COOKIE_NAME, req->ctx->set->cookie_secure ? "; Secure" : "");
    gw_req_add_header(req, "Set-Cookie", cookie);
    gw_req_reply_owned(req, 204, NULL, NULL, 0);
}
