/* cm_time.c - clocks. */
#include "common/cm_time.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

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

/* n decimal digits at s into *v; false when any is not a digit. */
static bool digits(const char *s, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        *v = *v * 10 + (s[i] - '0');
    }
    return true;
}

static bool utcdate_fields(const char *s, struct tm *tm)
{
    int y, mo, d, h, mi, sec;

    if (strlen(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        s[16] != ':')
        return false;
    if (!digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
        !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &sec))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return false;
    *tm = (struct tm){ .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
                       .tm_hour = h, .tm_min = mi, .tm_sec = sec };
    return true;
}

int cm_time_parse_utcdate(const char *s, time_t *t_r)
{
    struct tm tm;
    const char *p;
    bool fraction = false;

    if (s == NULL || !utcdate_fields(s, &tm))
        return -1;
    p = s + 19;
    if (*p == '.') {
        const char *start = ++p;

        while (isdigit((unsigned char)*p))
            fraction |= *p++ != '0';
        if (p == start)
            return -1;
    }
    if (p[0] != 'Z' || p[1] != '\0')
        return -1;
    *t_r = timegm(&tm) + (fraction ? 1 : 0);
    return 0;
}
