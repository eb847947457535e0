/* test_gw_connlimit.c - per-address and global connection limits: the
 * three verdicts, exempt proxies, live limits, counts going back down; and
 * the operator counters' classification of token rejections. */
#include <stdio.h>
#include <string.h>

#include "gateway/gw_connlimit.h"
#include "gateway/gw_counters.h"
#include "gateway/gw_reload.h"
#include "harness/th.h"

static void test_per_address_verdicts(void)
{
    struct gw_connlimit *cl = gw_connlimit_new();
    struct gw_connlimit_stats st;
    enum gw_conn_reason why;
    enum gw_conn_verdict v[7];

    for (int i = 0; i < 7; i++)
        v[i] = gw_connlimit_open(cl, "192.0.2.1", false, 3, 0);
    for (int i = 0; i < 3; i++)
        th_assert_idx(v[i] == GW_CONN_OK, i);
    for (int i = 3; i < 6; i++)
        th_assert_idx(v[i] == GW_CONN_OVER, i);
    th_assert(v[6] == GW_CONN_DROP);
    th_assert(gw_connlimit_peek(cl, "192.0.2.1", false, 3, 0, &why) == GW_CONN_DROP);
    th_assert(why == GW_CONN_REASON_PER_IP);
    /* another address is not touched */
    th_assert(gw_connlimit_peek(cl, "192.0.2.2", false, 3, 0, &why) == GW_CONN_OK);
    /* limits are read per call: raised live, the same count is fine */
    th_assert(gw_connlimit_peek(cl, "192.0.2.1", false, 100, 0, &why) == GW_CONN_OK);
    th_assert(gw_connlimit_peek(cl, "192.0.2.1", false, 0, 0, &why) == GW_CONN_OK);
    for (int i = 0; i < 7; i++)
        gw_connlimit_close(cl, "192.0.2.1", false);
    th_assert(gw_connlimit_peek(cl, "192.0.2.1", false, 3, 0, &why) == GW_CONN_OK);
    gw_connlimit_dropped(cl, GW_CONN_REASON_PER_IP);
    gw_connlimit_stats(cl, &st);
    th_assert(st.open == 0);
    th_assert(st.refused_503[GW_CONN_REASON_PER_IP] == 4); /* 3 OVER + 1 DROP raced past accept */
    th_assert(st.refused_closed[GW_CONN_REASON_PER_IP] == 1);
    gw_connlimit_free(&cl);
    th_assert(cl == NULL);
}

static void test_exempt_and_global(void)
{
    struct gw_connlimit *cl = gw_connlimit_new();
    enum gw_conn_reason why;
    char ip[32];

    /* a trusted proxy: no per-address limit, but the global one counts it */
    for (int i = 0; i < 10; i++)
        th_assert_idx(gw_connlimit_open(cl, "10.0.0.1", true, 2, 0) == GW_CONN_OK, i);
    th_assert(gw_connlimit_peek(cl, "10.0.0.1", true, 2, 10, &why) == GW_CONN_OVER);
    th_assert(why == GW_CONN_REASON_GLOBAL);
    th_assert(gw_connlimit_peek(cl, "10.0.0.1", true, 2, 5, &why) == GW_CONN_DROP);
    /* many addresses, each under its own limit, fill the global one */
    for (int i = 0; i < 10; i++) {
        snprintf(ip, sizeof(ip), "198.51.100.%d", i);
        gw_connlimit_open(cl, ip, false, 2, 0);
    }
    th_assert(gw_connlimit_peek(cl, "203.0.113.9", false, 2, 15, &why) == GW_CONN_OVER);
    th_assert(why == GW_CONN_REASON_GLOBAL);
    for (int i = 0; i < 10; i++) {
        snprintf(ip, sizeof(ip), "198.51.100.%d", i);
        gw_connlimit_close(cl, ip, false);
        gw_connlimit_close(cl, "10.0.0.1", true);
    }
    th_assert(gw_connlimit_peek(cl, "203.0.113.9", false, 2, 15, &why) == GW_CONN_OK);
    gw_connlimit_free(&cl);
}

static void test_token_reasons(void)
{
    static const struct {
        const char *msg, *reason;
    } rows[] = {
        { "token expired", "expired" },
        { "token not valid yet", "not_yet_valid" },
        { "bad token signature", "signature" },
        { "malformed token signature", "signature" },
        { "token algorithm not accepted", "algorithm" },
        { "token type not accepted", "algorithm" },
        { "token issuer not accepted", "issuer" },
        { "token audience not accepted", "audience" },
        { "token credentials do not open", "credentials" },
        { "token has no subject", "credentials" },
        { "token too large", "too_large" },
        { "malformed token", "malformed" },
        { NULL, "malformed" },
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        th_assert_idx(strcmp(gw_counters_token_reason(rows[i].msg), rows[i].reason) == 0, i);
}

static void test_live_settings(void)
{
    th_assert(gw_reload_is_live("log_level"));
    th_assert(gw_reload_is_live("max_connections_per_ip"));
    th_assert(gw_reload_is_live("web_root"));
    th_assert(!gw_reload_is_live("listen"));
    th_assert(!gw_reload_is_live("secret"));
    th_assert(!gw_reload_is_live("user"));
}

int main(void)
{
    th_run("per_address_verdicts", test_per_address_verdicts);
    th_run("exempt_and_global", test_exempt_and_global);
    th_run("token_reasons", test_token_reasons);
    th_run("live_settings", test_live_settings);
    return th_end();
}
