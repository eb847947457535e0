/* cm_time.c - clocks. */
#include "common/cm_time.h"

#include <stdio.h>

uint64_t cm_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t cm_now_ms(void)
{
    return cm_now_ns() / 1000000ULL;
}

void cm_time_rfc3339(time_t t, char *dst, size_t cap)
{
    struct tm tm;

    gmtime_r(&t, &tm);
    snprintf(dst, cap, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}
