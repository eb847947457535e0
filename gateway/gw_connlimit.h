/* gw_connlimit.h - connection limits applied before any work: per client
 * address (max_connections_per_ip) and in all (max_connections).
 *
 * Counts open TCP connections per peer address. The peer is the socket's
 * address: X-Forwarded-For is not known at accept time, so connections from
 * trusted proxies are exempt from the per-address limit (the proxy limits
 * its clients) and count only against the global one.
 *
 * Verdicts, for a connection that would be the (n+1)-th:
 *   n < limit              OK
 *   limit <= n < 2*limit   OVER: accepted, its first request gets 503 +
 *                          Retry-After + Connection: close, no other work
 *   n >= 2*limit           DROP: closed at accept (a flood; no HTTP answer)
 * for both the per-address limit and the global one. A limit of 0 is off.
 * The caller passes the limits on every call, so they can change live.
 *
 * Ownership: gw_connlimit_new/free. Threads: every function is thread-safe
 * (one mutex; MHD calls from each of its event-loop threads).
 */
#ifndef GW_CONNLIMIT_H
#define GW_CONNLIMIT_H

#include <stdbool.h>
#include <stdint.h>

enum gw_conn_verdict {
    GW_CONN_OK = 0,
    GW_CONN_OVER = 1,  /* answer 503, then close */
    GW_CONN_DROP = 2   /* close at once */
};

enum gw_conn_reason {
    GW_CONN_REASON_PER_IP = 0,
    GW_CONN_REASON_GLOBAL = 1
};

struct gw_connlimit_stats {
    uint64_t open;                 /* connections counted now */
    uint64_t refused_503[2];       /* by enum gw_conn_reason */
    uint64_t refused_closed[2];
};

struct gw_connlimit;

struct gw_connlimit *gw_connlimit_new(void);
void gw_connlimit_free(struct gw_connlimit **clp);

/* At accept: the verdict for one more connection from ip (numeric text),
   without counting it. exempt: a trusted proxy. */
enum gw_conn_verdict gw_connlimit_peek(struct gw_connlimit *cl, const char *ip, bool exempt,
                                       unsigned int per_ip, unsigned int global,
                                       enum gw_conn_reason *why_r);

/* A connection from ip started: count it and return its verdict (recorded
   in the stats). Every call is matched by one gw_connlimit_close. */
enum gw_conn_verdict gw_connlimit_open(struct gw_connlimit *cl, const char *ip, bool exempt,
                                       unsigned int per_ip, unsigned int global);

/* A connection counted by gw_connlimit_open ended. */
void gw_connlimit_close(struct gw_connlimit *cl, const char *ip, bool exempt);

/* Count a connection closed at accept (after gw_connlimit_peek said DROP). */
void gw_connlimit_dropped(struct gw_connlimit *cl, enum gw_conn_reason why);

void gw_connlimit_stats(struct gw_connlimit *cl, struct gw_connlimit_stats *out);

#endif
