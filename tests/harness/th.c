/* th.c - the unit-test harness. */
#include "harness/th.h"

#include <stdio.h>

static int checks_failed, tests_passed, tests_failed, current_failed;

void th_check(bool ok, const char *expr, const char *file, int line, int idx)
{
    if (ok)
        return;
    current_failed++;
    checks_failed++;
    if (idx >= 0)
        fprintf(stderr, "  FAIL %s:%d [row %d]: %s\n", file, line, idx, expr);
    else
        fprintf(stderr, "  FAIL %s:%d: %s\n", file, line, expr);
}

void th_run(const char *name, void (*fn)(void))
{
    current_failed = 0;
    fn();
    if (current_failed == 0) {
        tests_passed++;
        printf("ok   %s\n", name);
    } else {
        tests_failed++;
        printf("FAIL %s\n", name);
    }
}

int th_end(void)
{
    printf("%d passed, %d failed\n", tests_passed, tests_failed);
    return tests_failed == 0 ? 0 : 1;
}
