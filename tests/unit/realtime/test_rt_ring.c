/* test_rt_ring.c - event ids, replay coverage, ring wrap, snapshot diff. */
#include <string.h>

#include "harness/th.h"
#include "realtime/rt_ring.h"

static const struct rt_snap S = { 7, 10, 9, 100, 4 };

static void test_ids_and_wrap(void)
{
    struct rt_ring r;
    size_t start = 99;

    th_assert(rt_ring_init(&r, 4, 1000) == 0);
    th_assert(rt_ring_last_id(&r) == 999);
    th_assert(rt_ring_covers(&r, 999, &start) && start == 0); /* nothing new */
    th_assert(!rt_ring_covers(&r, 998, &start));              /* older than anything */
    th_assert(!rt_ring_covers(&r, 1000, &start));             /* from the future */
    for (int i = 0; i < 6; i++) {
        const struct rt_ring_event *e = rt_ring_push(&r, i % 2 ? "Archive" : "INBOX", &S,
                                                     RT_REASON_NEW, i % 2 ? "{\"Email\":\"s\"}" : NULL);

        th_assert_idx(e != NULL && e->id == 1000u + (unsigned)i, i);
        th_assert_idx(e != NULL && (i % 2 ? e->states != NULL : e->states == NULL), i);
    }
    th_assert(r.count == 4);
    th_assert(rt_ring_last_id(&r) == 1005);
    th_assert(rt_ring_at(&r, 0)->id == 1002);
    th_assert(strcmp(rt_ring_at(&r, 0)->mailbox, "INBOX") == 0);
    th_assert(rt_ring_at(&r, 3)->id == 1005);
    th_assert(rt_ring_at(&r, 4) == NULL);
    th_assert(!rt_ring_covers(&r, 1000, &start)); /* 1001 was dropped */
    th_assert(rt_ring_covers(&r, 1001, &start) && start == 0);
    th_assert(rt_ring_covers(&r, 1003, &start) && start == 2);
    th_assert(rt_ring_covers(&r, 1005, &start) && start == 4);
    th_assert(!rt_ring_covers(&r, 1006, &start));
    th_assert(!rt_ring_covers(&r, 0, &start));
    rt_ring_fini(&r);
}

static void test_reason(void)
{
    static const struct {
        struct rt_snap now;
        struct rt_seen seen;
        enum rt_reason want;
    } rows[] = {
        { { 7, 10, 9, 100, 4 }, { false, false }, RT_REASON_NONE },
        { { 8, 10, 9, 100, 4 }, { false, false }, RT_REASON_RESYNC },
        { { 7, 11, 10, 101, 4 }, { false, false }, RT_REASON_NEW },
        { { 7, 11, 8, 105, 4 }, { true, true }, RT_REASON_NEW },
        { { 7, 10, 8, 101, 4 }, { false, false }, RT_REASON_EXPUNGE },
        { { 7, 10, 9, 100, 4 }, { true, false }, RT_REASON_EXPUNGE },
        { { 7, 10, 9, 101, 4 }, { false, false }, RT_REASON_FLAGS },
        { { 7, 10, 9, 100, 4 }, { false, true }, RT_REASON_FLAGS },
        { { 7, 9, 9, 100, 4 }, { false, false }, RT_REASON_RESYNC },
        { { 7, 10, 9, 100, 3 }, { false, false }, RT_REASON_FLAGS }, /* read elsewhere, no CONDSTORE */
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        th_assert_idx(rt_snap_reason(&S, &rows[i].now, &rows[i].seen) == rows[i].want, i);
    th_assert(strcmp(rt_reason_name(RT_REASON_EXPUNGE), "expunge") == 0);
    th_assert(strcmp(rt_reason_name(RT_REASON_RESYNC), "resync") == 0);
}

int main(void)
{
    th_run("ids_and_wrap", test_ids_and_wrap);
    th_run("reason", test_reason);
    return th_end();
}
