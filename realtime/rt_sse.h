/* rt_sse.h - Server-Sent Events framing (WHATWG HTML §9.2).
 *
 * Pure functions that append one event or comment to a capped buffer:
 *   event: <type>\nid: <id>\ndata: <line>\n...\n\n
 * Data containing newlines is split into several data: lines; CR and NUL
 * are never emitted raw. Threads: safe from any thread.
 */
#ifndef RT_SSE_H
#define RT_SSE_H

#include <stdint.h>

#include "common/cm_buf.h"

/* Append an event. type may be NULL (a default "message" event); id 0
   means no id: line. Returns 0 or CM_ELIMIT/CM_ENOMEM (buffer unchanged). */
int rt_sse_event(struct cm_buf *b, const char *type, uint64_t id, const char *data)
    __attribute__((warn_unused_result));

/* Append a comment line (": text\n\n"), used as a heartbeat. */
int rt_sse_comment(struct cm_buf *b, const char *text) __attribute__((warn_unused_result));

/* Append "retry: <msecs>\n\n" (client reconnection delay). */
int rt_sse_retry(struct cm_buf *b, unsigned int msecs) __attribute__((warn_unused_result));

#endif
