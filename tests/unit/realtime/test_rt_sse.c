/* test_rt_sse.c - SSE framing. */
#include <string.h>

#include "harness/th.h"
#include "common/cm_err.h"
#include "realtime/rt_sse.h"

static void test_event(void)
{
    struct cm_buf b;

    cm_buf_init(&b, 1024);
    th_assert(rt_sse_event(&b, "state", 42, "{\"a\":1}") == 0);
    th_assert(strcmp(b.data, "event: state\nid: 42\ndata: {\"a\":1}\n\n") == 0);
    cm_buf_reset(&b);
    th_assert(rt_sse_event(&b, NULL, 0, "l1\nl2\r\nl3\rl4") == 0);
    th_assert(strcmp(b.data, "data: l1\ndata: l2\ndata: l3\ndata: l4\n\n") == 0);
    cm_buf_reset(&b);
    th_assert(rt_sse_event(&b, "bad\ntype", 1, "x") < 0);
    th_assert(b.len == 0);
    th_assert(rt_sse_comment(&b, "ping") == 0);
    th_assert(strcmp(b.data, ": ping\n\n") == 0);
    cm_buf_fini(&b);
}

static void test_cap(void)
{
    const char *first = "event: state\nid: 1\ndata: ok\n\n";
    struct cm_buf b;

    cm_buf_init(&b, 40);
    th_assert(rt_sse_event(&b, "state", 1, "ok") == 0);
    th_assert(rt_sse_event(&b, "state", 2, "this one does not fit") == CM_ELIMIT);
    /* a refused event leaves the buffer exactly as it was */
    th_assert(b.len == strlen(first) && strcmp(b.data, first) == 0);
    cm_buf_fini(&b);
}

int main(void)
{
    th_run("event", test_event);
    th_run("cap", test_cap);
    return th_end();
}
