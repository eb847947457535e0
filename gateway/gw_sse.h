/* gw_sse.h - Server-Sent Events streams on libmicrohttpd, fed by the hub.
 *
 * A stream is an MHD callback response (LIBS.md §1.5): its content reader
 * hands out what is queued and, when the queue is empty, suspends the
 * connection; whoever queues (the hub's event callback, the heartbeat
 * timer, shutdown) resumes it. No thread per client. Each stream has a
 * capped byte queue: an event that does not fit drops the stream (the
 * client reconnects with Last-Event-ID). One manager thread watches every
 * client socket with EPOLLRDHUP|EPOLLONESHOT (keyed by stream id, so a
 * reused fd or a freed stream is never touched) to notice hang-ups at once,
 * and ticks the heartbeats and token expiry.
 *
 * Lifecycle: gw_sse_open (worker, connection suspended) -> gw_sse_subscribe
 * -> gw_sse_respond, which hands the stream to an MHD response stored in
 * req->stream_response (gw_server queues it). From then on the response
 * owns the stream: its free callback unsubscribes and frees it (never the
 * reader). Before gw_sse_respond succeeds, the caller gives the stream back
 * with gw_sse_discard.
 *
 * Threads: open/subscribe/respond/discard on the worker running the
 * handler; close_all and free from the main thread; the rest inside.
 * Lock order: hub lock -> manager lock -> stream lock; hub lock -> the
 * format cache lock (gw_sse.c) -> stream lock.
 */
#ifndef GW_SSE_H
#define GW_SSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/cm_err.h"

struct gw_sse;
struct gw_sse_stream;
struct gw_req;
struct rt_hub;
struct rt_sub_params;

enum gw_sse_kind {
    GW_SSE_REST = 0,  /* event: changed, data {"mailbox","uidvalidity","exists","reason"} */
    GW_SSE_JMAP = 1   /* event: state, data StateChange (RFC 8620 §7.3) */
};

/* JMAP type bits for the types= filter. */
enum gw_sse_type {
    GW_SSE_T_EMAIL = 1 << 0,
    GW_SSE_T_MAILBOX = 1 << 1,
    GW_SSE_T_THREAD = 1 << 2,
    GW_SSE_T_DELIVERY = 1 << 3,
    GW_SSE_T_ALL = 0xf
};

struct gw_sse_opts {
    enum gw_sse_kind kind;
    unsigned int ping_secs;    /* 0: no heartbeat */
    bool close_after_event;    /* JMAP closeafter=state */
    unsigned int types;        /* JMAP: enum gw_sse_type bits */
    time_t expires;            /* token expiry (wall clock): the stream ends then; 0: never */
    const char *account_id;    /* copied */
};

struct gw_sse_settings {
    size_t queue_max_bytes;    /* per stream */
};

int gw_sse_new(const struct gw_sse_settings *set, struct gw_sse **sse_r, struct cm_err *err)
    __attribute__((warn_unused_result));

/* Shutdown: refuse new streams, end every open one cleanly (closing +
   resume). They finish on the MHD threads; wait for them with the
   server's in-flight count before stopping the daemon. */
void gw_sse_close_all(struct gw_sse *sse);

/* Stop the manager thread and free; sets *ssep to NULL. After the MHD
   daemon stopped (no stream left). */
void gw_sse_free(struct gw_sse **ssep);

/* A new stream for req's connection. NULL with err (CM_EAGAIN while
   shutting down, CM_ENOMEM). */
struct gw_sse_stream *gw_sse_open(struct gw_sse *sse, struct gw_req *req,
                                  const struct gw_sse_opts *o, struct cm_err *err);

/* Subscribe the stream to the hub (replaying p->last_id when given; a gap
   queues a resync event). */
int gw_sse_subscribe(struct gw_sse_stream *st, struct rt_hub *hub, const struct rt_sub_params *p,
                     struct cm_err *err) __attribute__((warn_unused_result));

/* Build the MHD response into req->stream_response; the stream belongs to
   it from now on, even on failure (then it is freed). */
int gw_sse_respond(struct gw_sse_stream *st, struct gw_req *req, struct cm_err *err)
    __attribute__((warn_unused_result));

/* Give back a stream that was not handed to a response; sets *stp NULL. */
void gw_sse_discard(struct gw_sse_stream **stp);

struct gw_sse_stats {
    size_t open;
    unsigned long long opened_total, overflow_total, hangup_total, expired_total;
};
void gw_sse_stats(struct gw_sse *sse, struct gw_sse_stats *st);

/* Pure formatting (unit-tested): append one event of kind to b. JMAP
   events are filtered by types (nothing appended when no type matches,
   returns 1 then). Returns 0, 1, or CM_ELIMIT/CM_ENOMEM. */
struct rt_event;
struct cm_buf;
int gw_sse_format(struct cm_buf *b, enum gw_sse_kind kind, unsigned int types,
                  const struct rt_event *ev) __attribute__((warn_unused_result));
/* The resync event (REST: event: resync; JMAP: a StateChange of every type). */
int gw_sse_format_resync(struct cm_buf *b, enum gw_sse_kind kind, unsigned int types,
                         const char *account_id, uint64_t last_id)
    __attribute__((warn_unused_result));
/* Parse a JMAP types= value ("*" or "Email,Mailbox"); unknown names are
   ignored (RFC 8620). Returns the bits (0: nothing matches). */
unsigned int gw_sse_parse_types(const char *text);

/* The query of GET /jmap/eventsource (RFC 8620 7.3), each value NULL when
   absent: types as gw_sse_parse_types; closeafter "state" or "no"
   (default no); ping a decimal number of seconds, 0 or absent = no pings,
   above max_ping clamped to max_ping. CM_EINVAL when closeafter or ping is
   malformed (*q is then unspecified). Pure. */
struct gw_sse_query {
    unsigned int types;
    unsigned int ping_secs;
    bool close_after_event;
};
int gw_sse_parse_query(const char *types, const char *closeafter, const char *ping,
                       unsigned int max_ping, struct gw_sse_query *q)
    __attribute__((warn_unused_result));

/* The mailbox= list of GET /api/v1/events: comma-separated UTF-8 paths
   (absent or empty: "INBOX"), duplicates dropped, order kept. Each name is
   1..GW_SSE_MAX_NAME bytes without control characters; at most max names
   (and never more than GW_SSE_MAX_FOLDERS). On success *names_r is a new
   array of *n_r malloc'd strings (free with gw_sse_names_free); CM_EINVAL
   (with the reason in err) or CM_ENOMEM otherwise, *names_r NULL. Pure. */
#define GW_SSE_MAX_NAME 1024
#define GW_SSE_MAX_FOLDERS 64
int gw_sse_parse_mailboxes(const char *arg, unsigned int max, char ***names_r, size_t *n_r,
                           struct cm_err *err) __attribute__((warn_unused_result));
void gw_sse_names_free(char **names, size_t n);

#endif
