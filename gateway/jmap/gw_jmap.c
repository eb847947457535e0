/* gw_jmap.c - JMAP API endpoint and session resource (RFC 8620 §2, §3). */
#include "gateway/jmap/gw_jmap.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/cm_b64.h"
#include "common/cm_counter.h"
#include "common/cm_crypto.h"
#include "common/cm_log.h"
#include "gateway/gw_authn.h"
#include "gateway/gw_ctx.h"
#include "gateway/gw_counters.h"
#include "gateway/gw_error.h"
#include "gateway/jmap/gw_jmap_methods.h"
#include "gateway/gw_req.h"
#include "imapbridge/ib_pool.h"
#include "imapbridge/ib_session.h"

#define ERR_URN "urn:ietf:params:jmap:error:"


/* Request-level error (RFC 8620 §3.6.1) as problem JSON. */
static void request_error(struct gw_req *req, const char *type, const char *detail,
                          const char *limit)
{
    char urn[96];
    json_t *p;

    snprintf(urn, sizeof(urn), ERR_URN "%s", type);
    p = json_pack("{s:s,s:i,s:s}", "type", urn, "status", 400, "detail", detail);
    if (p != NULL && limit != NULL)
        json_object_set_new(p, "limit", json_string(limit));
    gw_req_reply_json(req, 400, p);
    req->resp_type = "application/problem+json";
}

int gw_jreq_session(struct gw_jreq *jr, struct ib_session **s_r, struct cm_err *err)
{
    if (jr->session != NULL && ib_session_is_broken(jr->session))
        ib_pool_checkin(jr->req->ctx->pool, &jr->session);
    if (jr->session == NULL) {
        int rc = ib_pool_checkout(jr->req->ctx->pool, &jr->principal.creds, &jr->session, err);

        if (rc < 0)
            return rc;
        gw_ctx_note_labels(jr->req->ctx, ib_session_caps(jr->session) & IB_CAP_XGMEXT);
    }
    *s_r = jr->session;
    return 0;
}

int gw_jcall_fail(struct gw_jcall *c, struct cm_err *err, const char *type, enum cm_code code,
                  const char *fmt, ...)
{
    va_list ap;

    c->error_type = type;
    va_start(ap, fmt);
    code = cm_err_vset(err, code, fmt, ap);
    va_end(ap);
    return code;
}

int gw_jcall_account(struct gw_jcall *c, struct cm_err *err)
{
    json_t *id = json_object_get(c->args, "accountId");

    if (!json_is_string(id))
        return cm_err_set(err, CM_EINVAL, "accountId must be a string");
    if (strcmp(json_string_value(id), c->jr->account_id) != 0) {
        return gw_jcall_fail(c, err, "accountNotFound", CM_ENOENT, "no such account");
    }
    return 0;
}

static size_t json_depth(json_t *v, size_t limit)
{
    size_t max = 0, i;
    const char *k;
    json_t *el;

    if (limit == 0)
        return 1;
    if (json_is_array(v)) {
        json_array_foreach(v, i, el) {
            size_t d = json_depth(el, limit - 1);

            if (d > max)
                max = d;
        }
        return max + 1;
    }
    if (json_is_object(v)) {
        json_object_foreach(v, k, el) {
            size_t d = json_depth(el, limit - 1);

            if (d > max)
                max = d;
        }
        return max + 1;
    }
    return 0;
}

static void append_response(struct gw_jreq *jr, const char *name, json_t *args, const char *id)
{
    json_array_append_new(jr->responses, json_pack("[s,o,s]", name, args, id));
}

static void append_error(struct gw_jreq *jr, const char *type, const char *desc, const char *id)
{
    json_t *e = json_pack("{s:s}", "type", type);

    if (e != NULL && desc != NULL && desc[0] != '\0') {
        json_t *d = json_string(desc);

        json_object_set_new(e, "description", d ? d : json_string("(description not UTF-8)"));
    }
    append_response(jr, "error", e, id);
}

static void run_call(struct gw_jreq *jr, json_t *call)
{
    struct gw_jcall c = { jr, json_string_value(json_array_get(call, 0)),
                          json_array_get(call, 1), json_string_value(json_array_get(call, 2)),
                          NULL, NULL };
    const struct gw_jmethod *m = gw_jmethod_find(c.name);
    const char *type = NULL, *why = NULL;
    struct cm_err err = CM_ERR_INIT;
    json_t *result;

    if (m == NULL || !(jr->using_mask & m->capability)) {
        append_error(jr, "unknownMethod", m ? "capability not in \"using\"" : NULL, c.call_id);
        return;
    }
    if (gw_jmap_resolve_refs(c.args, jr->responses, &type, &why) < 0) {
        append_error(jr, type, why, c.call_id);
        return;
    }
    result = m->fn(&c, &err);
    if (result == NULL && jr->session != NULL && ib_session_reuse_failed(jr->session)) {
        /* the pooled session died before answering anything (what the
           checkout NOOP used to catch): nothing happened, run it again on
           a fresh one (gw_jreq_session replaces the broken session) */
        cm_err_clear(&err);
        c.error_type = NULL;
        result = m->fn(&c, &err);
    }
    if (result != NULL) {
        append_response(jr, c.name, result, c.call_id);
        if (c.followup != NULL)
            append_response(jr, json_string_value(json_array_get(c.followup, 0)),
                            json_incref(json_array_get(c.followup, 1)), c.call_id);
        json_decref(c.followup);
        return;
    }
    json_decref(c.followup);
    if (c.error_type == NULL && err.code != CM_EINVAL && err.code != CM_ENOENT)
        cm_warn("", "%s failed: %s", c.name, err.msg);
    gw_counters_error(err.code);
    append_error(jr, c.error_type ? c.error_type : gw_error_jmap_type(err.code), err.msg,
                 c.call_id);
}

static bool valid_call(json_t *call)
{
    return json_is_array(call) && json_array_size(call) == 3 &&
           json_is_string(json_array_get(call, 0)) && json_is_object(json_array_get(call, 1)) &&
           json_is_string(json_array_get(call, 2));
}

/* Validate the Request object; fills jr->using_mask. Answers and returns
   -1 on a request-level error. */
static int check_request(struct gw_jreq *jr, json_t *body)
{
    json_t *using = json_object_get(body, "using"), *calls = json_object_get(body, "methodCalls");
    json_t *created = json_object_get(body, "createdIds"), *v;
    size_t i;

    if (!json_is_array(using) || !json_is_array(calls) ||
        (created != NULL && !json_is_object(created))) {
        request_error(jr->req, "notRequest",
                      "expected {\"using\": [...], \"methodCalls\": [...]}", NULL);
        return -1;
    }
    json_array_foreach(using, i, v) {
        const char *cap = json_string_value(v);

        if (cap == NULL) {
            request_error(jr->req, "notRequest", "\"using\" must hold strings", NULL);
            return -1;
        }
        if (strcmp(cap, GW_JMAP_CORE) == 0)
            jr->using_mask |= GW_JMAP_USING_CORE;
        else if (strcmp(cap, GW_JMAP_MAIL) == 0)
            jr->using_mask |= GW_JMAP_USING_MAIL;
        else if (strcmp(cap, GW_JMAP_SUBMISSION) == 0 && jr->req->ctx->send != NULL)
            jr->using_mask |= GW_JMAP_USING_SUBMISSION;
        else {
            request_error(jr->req, "unknownCapability", cap, NULL);
            return -1;
        }
    }
    if (json_array_size(calls) > GW_JMAP_MAX_CALLS) {
        request_error(jr->req, "limit", "too many method calls", "maxCallsInRequest");
        return -1;
    }
    json_array_foreach(calls, i, v) {
        if (!valid_call(v)) {
            request_error(jr->req, "notRequest",
                          "each method call is [name, arguments object, call id]", NULL);
            return -1;
        }
    }
    jr->echo_created_ids = created != NULL;
    jr->created_ids = created != NULL ? json_deep_copy(created) : json_object();
    return 0;
}

static json_t *parse_body(struct gw_req *req)
{
    json_error_t jerr;
    json_t *body;

    if (req->body.len == 0) {
        request_error(req, "notJSON", "the request body is empty", NULL);
        return NULL;
    }
    body = json_loadb(req->body.data, req->body.len, JSON_REJECT_DUPLICATES, &jerr);
    if (body == NULL) {
        request_error(req, "notJSON", jerr.text, NULL);
        return NULL;
    }
    if (!json_is_object(body) || json_depth(body, GW_JMAP_MAX_DEPTH + 1) > GW_JMAP_MAX_DEPTH) {
        json_decref(body);
        request_error(req, "notRequest", "expected a Request object, nested at most 64 deep",
                      NULL);
        return NULL;
    }
    return body;
}

static void session_state(const char *account_id, const char *username, char *dst)
{
    unsigned char md[CM_SHA256_LEN];
    char buf[512];

    snprintf(buf, sizeof(buf), "%s\n%s\n%s", account_id, username, JMAPGATE_VERSION);
    cm_sha256(buf, strlen(buf), md);
    cm_b64url_encode(md, 9, dst);
}

/* Authenticate; Basic credentials are proved right away by logging in
   (warm sessions are keyed by a hash of the password). */
static int authenticate(struct gw_jreq *jr, struct cm_err *err)
{
    const char *auth = gw_req_header(jr->req, GW_HDR_AUTHORIZATION);
    struct ib_session *s;
    int rc = gw_authn_principal(jr->req, false, &jr->principal, err);

    if (rc < 0)
        return rc;
    ib_account_id(&jr->req->ctx->upstream, jr->principal.creds.username, jr->account_id);
    if (auth != NULL && strncasecmp(auth, "Basic ", 6) == 0)
        rc = gw_jreq_session(jr, &s, err);
    return rc;
}

static void jreq_fini(struct gw_jreq *jr)
{
    ib_folder_list_fini(&jr->folders);
    if (jr->session != NULL)
        ib_pool_checkin(jr->req->ctx->pool, &jr->session);
    gw_principal_fini(&jr->principal);
    json_decref(jr->responses);
    json_decref(jr->created_ids);
}

void gw_jmap_api(struct gw_req *req)
{
    struct gw_jreq jr = { .req = req };
    struct cm_err err = CM_ERR_INIT;
    json_t *body = NULL, *calls, *call, *out;
    char state[16];
    bool counted = false;
    size_t i;

    jr.responses = json_array();
    if (authenticate(&jr, &err) < 0) {
        gw_req_reply_error(req, &err);
        goto done;
    }
    if (!cm_counter_enter(req->ctx->jmap_inflight, jr.account_id, GW_JMAP_MAX_CONCURRENT)) {
        request_error(req, "limit", "too many concurrent requests for this account",
                      "maxConcurrentRequests");
        goto done;
    }
    counted = true;
    body = parse_body(req);
    if (body == NULL || check_request(&jr, body) < 0)
        goto done;
    calls = json_object_get(body, "methodCalls");
    json_array_foreach(calls, i, call)
        run_call(&jr, call);
    session_state(jr.account_id, jr.principal.creds.username, state);
    out = json_pack("{s:O,s:s}", "methodResponses", jr.responses, "sessionState", state);
    if (out != NULL && jr.echo_created_ids && jr.created_ids != NULL)
        json_object_set(out, "createdIds", jr.created_ids);
    gw_req_reply_json(req, 200, out);
done:
    if (counted)
        cm_counter_leave(req->ctx->jmap_inflight, jr.account_id);
    json_decref(body);
    jreq_fini(&jr);
}

static json_t *core_capability(const struct gw_settings *set)
{
    return json_pack("{s:I,s:i,s:I,s:i,s:i,s:i,s:i,s:[sss]}", "maxSizeUpload",
                     (json_int_t)set->max_upload_bytes, "maxConcurrentUpload",
                     (int)set->max_concurrent_upload, "maxSizeRequest",
                     (json_int_t)set->max_body_bytes, "maxConcurrentRequests",
                     GW_JMAP_MAX_CONCURRENT, "maxCallsInRequest", GW_JMAP_MAX_CALLS,
                     "maxObjectsInGet", GW_JMAP_MAX_OBJECTS_GET, "maxObjectsInSet",
                     GW_JMAP_MAX_OBJECTS_SET, "collationAlgorithms", "i;ascii-numeric",
                     "i;ascii-casemap", "i;unicode-casemap");
}

json_t *gw_jmap_mail_capability(const struct gw_settings *set, bool labels)
{
    return json_pack("{s:o,s:n,s:i,s:I,s:[sssssss],s:b}", "maxMailboxesPerEmail",
                     labels ? json_null() : json_integer(1),
                     "maxMailboxDepth", "maxSizeMailboxName", GW_JMAP_MAX_MAILBOX_NAME, "maxSizeAttachmentsPerEmail",
                     (json_int_t)(set->max_body_bytes / 4 * 3), "emailQuerySortOptions",
                     "receivedAt", "sentAt", "size", "from", "to", "subject", "hasKeyword",
                     "mayCreateTopLevelMailbox", 1);
}

/* eventSourceUrl carries account=<accountId>: ignored by the gateway, it
   lets a load balancer hash the stream by account (README "Running several
   instances"). */
static json_t *session_urls(const char *base, const char *account_id, json_t *o)
{
    char url[1024];

    snprintf(url, sizeof(url), "%s/jmap/api", base);
    json_object_set_new(o, "apiUrl", json_string(url));
    snprintf(url, sizeof(url), "%s/jmap/download/{accountId}/{blobId}/{name}?type={type}", base);
    json_object_set_new(o, "downloadUrl", json_string(url));
    snprintf(url, sizeof(url), "%s/jmap/upload/{accountId}", base);
    json_object_set_new(o, "uploadUrl", json_string(url));
    snprintf(url, sizeof(url),
             "%s/jmap/eventsource?types={types}&closeafter={closeafter}&ping={ping}&account=%s",
             base, account_id);
    json_object_set_new(o, "eventSourceUrl", json_string(url));
    return o;
}

bool gw_jmap_session_labels(struct gw_jreq *jr)
{
    struct cm_err err = CM_ERR_INIT;
    struct ib_session *s = NULL;

    if (gw_jreq_session(jr, &s, &err) == 0)
        return (ib_session_caps(s) & IB_CAP_XGMEXT) != 0;
    cm_debug("", "session resource without an IMAP session: %s", err.msg);
    return atomic_load(&jr->req->ctx->upstream_labels);
}

void gw_jmap_session(struct gw_req *req)
{
    const struct gw_settings *set = req->ctx->set;
    struct gw_jreq jr = { .req = req };
    struct cm_err err = CM_ERR_INIT;
    const char *user;
    char state[16];
    json_t *s;

    if (authenticate(&jr, &err) < 0) {
        gw_req_reply_error(req, &err);
        jreq_fini(&jr);
        return;
    }
    user = jr.principal.creds.username;
    session_state(jr.account_id, user, state);
    s = json_pack("{s:{s:o,s:{}},s:{s:{s:s,s:b,s:b,s:{s:{},s:o}}},s:{s:s,s:s},s:s,s:s}",
                  "capabilities", GW_JMAP_CORE, core_capability(set), GW_JMAP_MAIL, "accounts",
                  jr.account_id, "name", user, "isPersonal", 1, "isReadOnly", 0,
                  "accountCapabilities", GW_JMAP_CORE, GW_JMAP_MAIL,
                  gw_jmap_mail_capability(set, gw_jmap_session_labels(&jr)),
                  "primaryAccounts", GW_JMAP_CORE, jr.account_id,
                  GW_JMAP_MAIL, jr.account_id, "username", user, "state", state);
    if (s != NULL && req->ctx->send != NULL)
        gw_jmap_submission_session(s, jr.account_id);
    gw_req_reply_json(req, s ? 200 : 500, s ? session_urls(set->public_url, jr.account_id, s) : NULL);
    jreq_fini(&jr);
}
