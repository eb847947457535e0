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

/* Parse an RFC 8620 §1.4 UTCDate ("2024-05-01T12:00:00Z", optionally with
   fractional seconds "2024-05-01T12:00:00.169Z"; "Z" only, no offsets).
   *t_r is the instant rounded UP to a whole second, so that for whole-second
   times t (IMAP INTERNALDATE): t < instant  <=>  t < *t_r, and
   t >= instant  <=>  t >= *t_r. 0, or -1 for anything else (no other
   characters, fields in range). */
int cm_time_parse_utcdate(const char *s, time_t *t_r)
    __attribute__((warn_unused_result));

#endif
