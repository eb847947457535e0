/* test_cm_counter.c - per-key caps. */
#include <stddef.h>

#include "common/cm_counter.h"
#include "harness/th.h"

static void test_caps(void)
{
    struct cm_counter *c = cm_counter_new();

    th_assert(c != NULL);
    th_assert(cm_counter_enter(c, "a", 2));
    th_assert(cm_counter_enter(c, "a", 2));
    th_assert(!cm_counter_enter(c, "a", 2));
    th_assert(cm_counter_enter(c, "b", 2));
    th_assert(cm_counter_get(c, "a") == 2 && cm_counter_get(c, "b") == 1);
    cm_counter_leave(c, "a");
    th_assert(cm_counter_enter(c, "a", 2));
    cm_counter_leave(c, "a");
    cm_counter_leave(c, "a");
    cm_counter_leave(c, "b");
    th_assert(cm_counter_get(c, "a") == 0 && cm_counter_get(c, "b") == 0);
    th_assert(!cm_counter_enter(c, "z", 0));
    cm_counter_free(&c);
    th_assert(c == NULL);
}

int main(void)
{
    th_run("caps", test_caps);
    return th_end();
}
