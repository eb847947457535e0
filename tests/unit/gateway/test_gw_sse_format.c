/* test_gw_sse_format.c - the REST "changed" and JMAP StateChange events,
 * resync events, and the JMAP types= filter. */
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

int main(void)
{
    th_run("rest", test_rest);
    th_run("jmap", test_jmap);
    th_run("types", test_types);
    return th_end();
}
