/* test_cm_time.c - RFC 8620 UTCDate parsing (fractions round up). */
#include "common/cm_time.h"

#include "harness/th.h"

static void test_whole_seconds(void)
{
    time_t t = 0;

    th_assert(cm_time_parse_utcdate("1970-01-01T00:00:00Z", &t) == 0 && t == 0);
    th_assert(cm_time_parse_utcdate("2030-01-01T00:00:00Z", &t) == 0 && t == 1893456000);
    th_assert(cm_time_parse_utcdate("2024-02-29T23:59:59Z", &t) == 0 && t == 1709251199);
}

static void test_fractions_round_up(void)
{
    time_t t = 0;

    th_assert(cm_time_parse_utcdate("2030-01-01T00:00:00.169Z", &t) == 0 && t == 1893456001);
    th_assert(cm_time_parse_utcdate("2030-01-01T00:00:00.000001Z", &t) == 0 && t == 1893456001);
    /* a zero fraction is the whole second itself */
    th_assert(cm_time_parse_utcdate("2030-01-01T00:00:00.000Z", &t) == 0 && t == 1893456000);
}

static void test_rejects(void)
{
    static const char *bad[] = {
        "", "2030-01-01", "2030-01-01T00:00:00", "2030-01-01T00:00:00z",
        "2030-01-01T00:00:00+00:00", "2030-01-01 00:00:00Z", "2030-13-01T00:00:00Z",
        "2030-01-01T24:00:00Z", "2030-01-01T00:00:00.Z", "2030-01-01T00:00:00.1Zx",
        "2030-1-01T00:00:00Z", "20x0-01-01T00:00:00Z", "2030-01-01T00:00:00.1a2Z",
    };
    time_t t = 42;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        th_assert_idx(cm_time_parse_utcdate(bad[i], &t) == -1 && t == 42, i);
    th_assert(cm_time_parse_utcdate(NULL, &t) == -1);
}

int main(void)
{
    th_run("UTCDate whole seconds", test_whole_seconds);
    th_run("UTCDate fractions round up", test_fractions_round_up);
    th_run("UTCDate rejects", test_rejects);
    return th_end();
}
