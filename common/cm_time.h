/* cm_time.h - clocks and deadlines.
 *
 * Threads: safe from any thread.
 */
#ifndef CM_TIME_H
#define CM_TIME_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Monotonic clock in nanoseconds (for durations and deadlines). */
uint64_t cm_now_ns(void);

/* Monotonic clock in milliseconds. */
uint64_t cm_now_ms(void);

/* Format t (UTC) as RFC 3339 "2024-05-01T12:00:00Z" into dst (>= 21 bytes). */
void cm_time_rfc3339(time_t t, char *dst, size_t cap);

#endif
