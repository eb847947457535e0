/* test_gw_route.c - path splitting, percent-decoding and route matching. */
#include <stdlib.h>
#include <string.h>

#include "gateway/gw_req.h"
#include "gateway/gw_route.h"
#include "harness/th.h"

static void h_a(struct gw_req *req) { (void)req; }
static void h_b(struct gw_req *req) { (void)req; }

static const struct gw_route table[] = {
    { "GET", "/api/v1/mailboxes", h_a, 0, "list" },
    { "POST", "/api/v1/mailboxes", h_b, 0, "create" },
    { "GET", "/api/v1/mailboxes/{}/messages/{}", h_b, 0, "message" },
};

static struct gw_req *req_for(const char *method, const char *url)
{
    struct gw_req *req = gw_req_new(NULL, method, url, 1024);

    th_assert(req != NULL);
    return req;
}

static void test_split(void)
{
    static const struct {
        const char *url;
        int rc;
        size_t n;
        const char *last;
    } rows[] = {
        { "/", 0, 0, NULL },
        { "/a/b", 0, 2, "b" },
        { "/a/b/", 0, 2, "b" },
        { "/a/Sent%2FOld", 0, 2, "Sent/Old" },
        { "/a/%C3%A9t%C3%A9?x=1", 0, 2, "\xc3\xa9t\xc3\xa9" },
        { "/a/b+c", 0, 2, "b+c" },
        { "/a//b", -1, 0, NULL },
        { "/a/%zz", -1, 0, NULL },
        { "/a/%4", -1, 0, NULL },
        { "/a/%00", -1, 0, NULL },
        { "relative", -1, 0, NULL },
        { "/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17", -1, 0, NULL },
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct gw_req *req = req_for("GET", rows[i].url);
        int rc = gw_route_split_path(req);

        th_assert_idx(rc == rows[i].rc, i);
        if (rc == 0) {
            th_assert_idx(req->nsegments == rows[i].n, i);
            if (rows[i].last != NULL && req->nsegments > 0)
                th_assert_idx(strcmp(req->segments[req->nsegments - 1], rows[i].last) == 0, i);
        }
        gw_req_free(&req);
        th_assert_idx(req == NULL, i);
    }
}

static void test_match(void)
{
    char allow[64];
    struct gw_req *req = req_for("GET", "/api/v1/mailboxes");

    th_assert(gw_route_split_path(req) == 0);
    th_assert(gw_route_match(table, 3, req, allow, sizeof(allow)) == GW_ROUTE_FOUND);
    th_assert(req->route == &table[0]);
    gw_req_free(&req);

    req = req_for("DELETE", "/api/v1/mailboxes");
    th_assert(gw_route_split_path(req) == 0);
    th_assert(gw_route_match(table, 3, req, allow, sizeof(allow)) == GW_ROUTE_BAD_METHOD);
    th_assert(strcmp(allow, "GET, POST") == 0);
    gw_req_free(&req);

    req = req_for("GET", "/api/v1/mailboxes/Sent%2FOld/messages/42");
    th_assert(gw_route_split_path(req) == 0);
    th_assert(gw_route_match(table, 3, req, allow, sizeof(allow)) == GW_ROUTE_FOUND);
    th_assert(req->route == &table[2]);
    th_assert(strcmp(req->params[0], "Sent/Old") == 0);
    th_assert(strcmp(req->params[1], "42") == 0);
    gw_req_free(&req);

    req = req_for("HEAD", "/api/v1/mailboxes");
    th_assert(gw_route_split_path(req) == 0);
    th_assert(gw_route_match(table, 3, req, allow, sizeof(allow)) == GW_ROUTE_FOUND);
    gw_req_free(&req);

    req = req_for("GET", "/api/v1/mailbox");
    th_assert(gw_route_split_path(req) == 0);
    th_assert(gw_route_match(table, 3, req, allow, sizeof(allow)) == GW_ROUTE_NOT_FOUND);
    gw_req_free(&req);

    req = req_for("GET", "/api/v1/mailboxes/x/messages");
    th_assert(gw_route_split_path(req) == 0);
    th_assert(gw_route_match(table, 3, req, allow, sizeof(allow)) == GW_ROUTE_NOT_FOUND);
    gw_req_free(&req);
}

static void test_cookie_and_query(void)
{
    struct gw_req *req = req_for("GET", "/x");
    char v[16];

    req->headers[GW_HDR_COOKIE] = strdup("a=1; jmapgate_token=abc.def ; other=x");
    th_assert(gw_req_cookie(req, "jmapgate_token", v, sizeof(v)));
    th_assert(strcmp(v, "abc.def") == 0);
    th_assert(gw_req_cookie(req, "a", v, sizeof(v)) && strcmp(v, "1") == 0);
    th_assert(!gw_req_cookie(req, "jmapgate", v, sizeof(v)));
    th_assert(!gw_req_cookie(req, "other", v, 1)); /* too long for dst */
    th_assert(gw_req_query_slot(req) == &req->query[0]);
    req->query[0].name = strdup("q");
    req->query[0].value = strdup("v");
    req->nquery = 1;
    th_assert(strcmp(gw_req_query(req, "q"), "v") == 0);
    th_assert(gw_req_query(req, "access_token") == NULL);
    gw_req_free(&req);
}

static void test_percent_decode(void)
{
    char *s = gw_percent_decode("a+b%20c", 7, true);

    th_assert(s != NULL && strcmp(s, "a b c") == 0);
    free(s);
    s = gw_percent_decode("a+b", 3, false);
    th_assert(s != NULL && strcmp(s, "a+b") == 0);
    free(s);
    th_assert(gw_percent_decode("%", 1, false) == NULL);
    th_assert(gw_percent_decode("%0", 2, false) == NULL);
}

static void test_reply_json(void)
{
    struct gw_req *req = req_for("GET", "/x");
    struct cm_err err = CM_ERR_INIT;

    gw_req_reply_json(req, 200, json_pack("{s:i}", "a", 1));
    th_assert(req->status == 200 && strcmp(req->resp_body, "{\"a\":1}") == 0);
    cm_err_set(&err, CM_EUNAVAIL, "upstream down");
    gw_req_reply_error(req, &err);
    th_assert(req->status == 503);
    th_assert(strstr(req->resp_body, "\"upstream down\"") != NULL);
    th_assert(req->nresp_headers == 1 && strcmp(req->resp_headers[0].name, "Retry-After") == 0);
    gw_req_reply_problem(req, 400, "bad \xff byte"); /* invalid UTF-8 detail */
    th_assert(req->status == 400 && req->resp_body != NULL);
    th_assert(strstr(req->resp_body, "\"status\":400") != NULL);
    gw_req_free(&req);
}

int main(void)
{
    th_run("split", test_split);
    th_run("match", test_match);
    th_run("cookie_and_query", test_cookie_and_query);
    th_run("percent_decode", test_percent_decode);
    th_run("reply_json", test_reply_json);
    return th_end();
}
