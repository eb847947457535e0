/* test_gw_sse_format.c - the REST "changed" and JMAP StateChange events,
 * resync events, and the query parameters of both SSE surfaces. */
#include <stdio.h>
#include <string.h>

#include "harness/th.h"
#include "common/cm_buf.h"
#include "gateway/gw_sse.h"
#include "realtime/rt_hub.h"

static const struct rt_snap snap = { 1700000000u, 42, 41, 99, 0 };

static void test_rest(void)
{
    struct rt_event ev = { 1234, "aXYZ", "Archiv\xc3\xa9/2024", &snap, RT_REASON_EXPUNGE, 0, NULL };
    struct cm_buf b;

    cm_buf_init(&b, 4096);
    th_assert(gw_sse_format(&b, GW_SSE_REST, GW_SSE_T_ALL, &ev) == 0);
    th_assert(strcmp(b.data, "event: changed\nid: 1234\ndata: {\"mailbox\":\"Archiv\xc3\xa9/2024\","
                             "\"uidvalidity\":1700000000,\"exists\":41,\"reason\":\"expunge\"}\n\n")
              == 0);
    cm_buf_reset(&b);
    th_assert(gw_sse_format_resync(&b, GW_SSE_REST, 0, "aXYZ", 77) == 0);
    th_assert(strcmp(b.data, "event: resync\nid: 77\ndata: {\"reason\":\"lastEventIdNotCovered\"}\n\n")
              == 0);
    cm_buf_fini(&b);
}

static void test_jmap(void)
{
    struct rt_event ev = { 9, "aXYZ", "INBOX", &snap, RT_REASON_FLAGS, 0, NULL };
    struct cm_buf b;

    cm_buf_init(&b, 4096);
    th_assert(gw_sse_format(&b, GW_SSE_JMAP, GW_SSE_T_ALL, &ev) == 0);
    th_assert(strcmp(b.data, "event: state\nid: 9\ndata: {\"@type\":\"StateChange\",\"changed\":"
                             "{\"aXYZ\":{\"Email\":\"e9\",\"Mailbox\":\"e9\"}}}\n\n") == 0);
    cm_buf_reset(&b);
    th_assert(gw_sse_format(&b, GW_SSE_JMAP, GW_SSE_T_THREAD, &ev) == 1); /* filtered */
    th_assert(b.len == 0);
    ev.reason = RT_REASON_NEW;
    th_assert(gw_sse_format(&b, GW_SSE_JMAP, GW_SSE_T_THREAD, &ev) == 0);
    th_assert(strstr(b.data, "{\"aXYZ\":{\"Thread\":\"e9\"}}") != NULL);
    cm_buf_reset(&b);
    th_assert(gw_sse_format_resync(&b, GW_SSE_JMAP, GW_SSE_T_MAILBOX, "aXYZ", 10) == 0);
    th_assert(strstr(b.data, "event: state\nid: 10\n") == b.data);
    cm_buf_fini(&b);
    /* with the real states attached, those strings are used */
    cm_buf_reset(&b);
    ev.states = "{\"Email\":\"AQE-e\",\"Thread\":\"AQE-e\",\"Mailbox\":\"AQU-m\"}";
    th_assert(gw_sse_format(&b, GW_SSE_JMAP, GW_SSE_T_EMAIL | GW_SSE_T_MAILBOX, &ev) == 0);
    th_assert(strstr(b.data, "{\"aXYZ\":{\"Email\":\"AQE-e\",\"Mailbox\":\"AQU-m\"}}") != NULL);
    ev.states = NULL;
    cm_buf_fini(&b);
    cm_buf_init(&b, 20); /* too small: nothing half-written */
    th_assert(gw_sse_format(&b, GW_SSE_JMAP, GW_SSE_T_ALL, &ev) == CM_ELIMIT);
    th_assert(b.len == 0);
    cm_buf_fini(&b);
}

static void test_types(void)
{
    th_assert(gw_sse_parse_types(NULL) == GW_SSE_T_ALL);
    th_assert(gw_sse_parse_types("*") == GW_SSE_T_ALL);
    th_assert(gw_sse_parse_types("Email,Mailbox") == (GW_SSE_T_EMAIL | GW_SSE_T_MAILBOX));
    th_assert(gw_sse_parse_types("Mailbox,Foo,,EmailDelivery") ==
              (GW_SSE_T_MAILBOX | GW_SSE_T_DELIVERY));
    th_assert(gw_sse_parse_types("email") == 0);
    th_assert(gw_sse_parse_types("") == 0);
}

static void test_query(void)
{
    struct gw_sse_query q;

    th_assert(gw_sse_parse_query(NULL, NULL, NULL, 300, &q) == 0);
    th_assert(q.types == GW_SSE_T_ALL && q.ping_secs == 0 && !q.close_after_event);
    th_assert(gw_sse_parse_query("Email", "state", "30", 300, &q) == 0);
    th_assert(q.types == GW_SSE_T_EMAIL && q.ping_secs == 30 && q.close_after_event);
    th_assert(gw_sse_parse_query(NULL, "no", "99999", 300, &q) == 0 && q.ping_secs == 300);
    th_assert(gw_sse_parse_query(NULL, NULL, "", 300, &q) == 0 && q.ping_secs == 0);
    th_assert(gw_sse_parse_query(NULL, NULL, "0", 300, &q) == 0 && q.ping_secs == 0);
    th_assert(gw_sse_parse_query(NULL, "yes", NULL, 300, &q) == CM_EINVAL);
    th_assert(gw_sse_parse_query(NULL, NULL, "-1", 300, &q) == CM_EINVAL);
    th_assert(gw_sse_parse_query(NULL, NULL, " 5", 300, &q) == CM_EINVAL);
    th_assert(gw_sse_parse_query(NULL, NULL, "5s", 300, &q) == CM_EINVAL);
    th_assert(gw_sse_parse_query(NULL, NULL, "99999999999999999999999", 300, &q) == CM_EINVAL);
}

static void test_mailboxes(void)
{
    struct cm_err err = CM_ERR_INIT;
    char **names = NULL, many[65 * 3 + 1] = "";
    size_t n = 0;

    th_assert(gw_sse_parse_mailboxes(NULL, 8, &names, &n, &err) == 0);
    th_assert(n == 1 && strcmp(names[0], "INBOX") == 0);
    gw_sse_names_free(names, n);
    th_assert(gw_sse_parse_mailboxes("A,B\xc3\xa9,A,C", 8, &names, &n, &err) == 0);
    th_assert(n == 3 && strcmp(names[1], "B\xc3\xa9") == 0 && strcmp(names[2], "C") == 0);
    gw_sse_names_free(names, n);
    th_assert(gw_sse_parse_mailboxes("A,,B", 8, &names, &n, &err) == CM_EINVAL);
    th_assert(names == NULL && n == 0);
    th_assert(gw_sse_parse_mailboxes("A,B\tC", 8, &names, &n, &err) == CM_EINVAL);
    th_assert(gw_sse_parse_mailboxes("A,B,C", 2, &names, &n, &err) == CM_EINVAL);
    th_assert(strstr(err.msg, "at most 2") != NULL);
    th_assert(gw_sse_parse_mailboxes("A,B,A,B", 2, &names, &n, &err) == 0 && n == 2);
    gw_sse_names_free(names, n);
    for (int i = 0; i < 65; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "%s%c%c", i ? "," : "",
                 'a' + i / 26, 'a' + i % 26);
    th_assert(gw_sse_parse_mailboxes(many, 1000, &names, &n, &err) == CM_EINVAL);
}

int main(void)
{
    th_run("query", test_query);
    th_run("mailboxes", test_mailboxes);
    th_run("rest", test_rest);
    th_run("jmap", test_jmap);
    th_run("types", test_types);
    return th_end();
}
