/* gw_req.c - request inputs and response building. */
#include "gateway/gw_req.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm_b64.h"
#include "gateway/gw_counters.h"
#include "gateway/gw_error.h"

struct gw_req *gw_req_new(struct gw_ctx *ctx, const char *method, const char *raw_url,
                          size_t max_body)
{
    struct gw_req *req = calloc(1, sizeof(*req));

    if (req == NULL)
        return NULL;
    req->ctx = ctx;
    req->method = strdup(method);
    req->path = strndup(raw_url, strcspn(raw_url, "?#"));
    cm_buf_init(&req->body, max_body);
    if (req->method == NULL || req->path == NULL)
        gw_req_free(&req);
    return req;
}

static void free_kv(struct gw_kv *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(kv[i].name);
        free(kv[i].value);
    }
}

void gw_req_shed_inputs(struct gw_req *req)
{
    for (size_t i = 0; i < req->nsegments; i++)
        free(req->segments[i]);
    req->nsegments = 0;
    memset(req->params, 0, sizeof(req->params));
    free_kv(req->query, req->nquery);
    free(req->query);
    req->query = NULL;
    req->nquery = 0;
    for (size_t i = 0; i < GW_HDR_COUNT; i++) {
        free(req->headers[i]);
        req->headers[i] = NULL;
    }
    cm_buf_fini(&req->body);
    free(req->resp_body);
    req->resp_body = NULL;
    req->resp_len = 0;
    free_kv(req->resp_headers, req->nresp_headers);
    free(req->resp_headers);
    req->resp_headers = NULL;
    req->nresp_headers = 0;
}

struct gw_kv *gw_req_query_slot(struct gw_req *req)
{
    if (req->nquery >= GW_REQ_MAX_QUERY)
        return NULL;
    if (req->query == NULL && (req->query = calloc(GW_REQ_MAX_QUERY, sizeof(*req->query))) == NULL)
        return NULL;
    return &req->query[req->nquery];
}

void gw_req_free(struct gw_req **reqp)
{
    struct gw_req *req = *reqp;

    if (req == NULL)
        return;
    *reqp = NULL;
    if (req->sink_free != NULL)
        req->sink_free(req->sink_arg);
    gw_req_shed_inputs(req);
    free(req->method);
    free(req->path);
    free(req);
}

const char *gw_req_query(const struct gw_req *req, const char *name)
{
    for (size_t i = 0; i < req->nquery; i++) {
        if (strcmp(req->query[i].name, name) == 0)
            return req->query[i].value;
    }
    return NULL;
}

const char *gw_req_header(const struct gw_req *req, enum gw_req_header h)
{
    return req->headers[h];
}

bool gw_req_cookie(const struct gw_req *req, const char *name, char *dst, size_t cap)
{
    const char *p = req->headers[GW_HDR_COOKIE];
    size_t nlen = strlen(name);

    while (p != NULL && *p != '\0') {
        size_t n;

        p += strspn(p, " \t;");
        n = strcspn(p, ";");
        if (n > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
            size_t vlen = n - nlen - 1;

            while (vlen > 0 && (p[nlen + vlen] == ' ' || p[nlen + vlen] == '\t'))
                vlen--;
            if (vlen + 1 > cap)
                return false;
            memcpy(dst, p + nlen + 1, vlen);
            dst[vlen] = '\0';
            return true;
        }
        p += n;
    }
    return false;
}

json_t *gw_req_body_json(const struct gw_req *req, struct cm_err *err)
{
    json_error_t jerr;
    json_t *j;

    if (req->body.len == 0) {
        cm_err_set(err, CM_EINVAL, "request body is empty; expected a JSON object");
        return NULL;
    }
    j = json_loadb(req->body.data, req->body.len, JSON_REJECT_DUPLICATES, &jerr);
    if (j == NULL) {
        cm_err_set(err, CM_EINVAL, "malformed JSON at line %d column %d: %s", jerr.line,
                   jerr.column, jerr.text);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        cm_err_set(err, CM_EINVAL, "expected a JSON object");
        return NULL;
    }
    return j;
}

void gw_req_reply_owned(struct gw_req *req, unsigned int status, const char *type, char *body,
                        size_t len)
{
    free(req->resp_body);
    req->status = status;
    req->resp_type = type;
    req->resp_body = body;
    req->resp_len = body != NULL ? len : 0;
}

void gw_req_reply_json(struct gw_req *req, unsigned int status, json_t *body)
{
    char *text = NULL;

    if (body != NULL) {
        text = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        if (text == NULL) {
            gw_req_reply_owned(req, 500, "text/plain", NULL, 0);
            return;
        }
    }
    gw_req_reply_owned(req, status, "application/json", text, text ? strlen(text) : 0);
}

void gw_req_reply_text(struct gw_req *req, unsigned int status, const char *type,
                       const char *text)
{
    char *copy = strdup(text);

    gw_req_reply_owned(req, copy ? status : 500, type, copy, copy ? strlen(copy) : 0);
}

static void reply_problem(struct gw_req *req, unsigned int status, const char *title,
                          const char *detail)
{
    json_t *p = gw_error_problem(status, title, detail);
    char *text;

    if (p == NULL) /* detail was not valid UTF-8 */
        p = gw_error_problem(status, title, "");
    text = p ? json_dumps(p, JSON_COMPACT) : NULL;
    json_decref(p);
    gw_req_reply_owned(req, status, "application/problem+json", text, text ? strlen(text) : 0);
}

void gw_req_reply_problem(struct gw_req *req, unsigned int status, const char *detail)
{
    reply_problem(req, status, gw_error_status_title(status), detail);
}

void gw_req_reply_error(struct gw_req *req, const struct cm_err *err)
{
    struct gw_error_map m = gw_error_map(err->code);

    gw_counters_error(err->code);
    if (m.retry_after > 0) {
        char secs[16];

        /* the limiter knows how long; the map has a floor */
        snprintf(secs, sizeof(secs), "%u",
                 req->retry_after_secs > m.retry_after ? req->retry_after_secs : m.retry_after);
        gw_req_add_header(req, "Retry-After", secs);
    }
    if (m.status == 401)
        gw_req_add_header(req, "WWW-Authenticate", "Bearer realm=\"jmapgate\"");
    /* Internal errors keep their reason in the log, not in the answer. */
    reply_problem(req, m.status, m.title, m.status >= 500 && m.status != 503 && m.status != 502 &&
                                                  m.status != 504
                                              ? "internal error"
                                              : err->msg);
}

void gw_req_add_header(struct gw_req *req, const char *name, const char *value)
{
    struct gw_kv *kv;

    if (req->nresp_headers >= GW_REQ_MAX_RESP_HEADERS)
        return;
    if (req->resp_headers == NULL &&
        (req->resp_headers = calloc(GW_REQ_MAX_RESP_HEADERS, sizeof(*req->resp_headers))) == NULL)
        return;
    kv = &req->resp_headers[req->nresp_headers];
    kv->name = strdup(name);
    kv->value = strdup(value);
    if (kv->name == NULL || kv->value == NULL) {
        free(kv->name);
        free(kv->value);
        kv->name = kv->value = NULL;
        return;
    }
    req->nresp_headers++;
}

char *gw_percent_decode(const char *src, size_t n, bool plus_is_space)
{
    char *out = malloc(n + 1);
    size_t o = 0;

    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (src[i] == '%') {
            int hi = i + 2 < n ? cm_hex_digit(src[i + 1]) : -1;
            int lo = i + 2 < n ? cm_hex_digit(src[i + 2]) : -1;

            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                free(out);
                return NULL;
            }
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (src[i] == '+' && plus_is_space) {
            out[o++] = ' ';
        } else {
            out[o++] = src[i];
        }
    }
    out[o] = '\0';
    return out;
}
