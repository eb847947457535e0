/* gw_limit.h - the failed-login limiter and the client address.
 *
 * Failed logins are counted per user name and per client address in one
 * fixed table (bounded memory, set-associative, O(1) per check). Each key
 * has a score that grows by 1 per failure and decays linearly to 0 over
 * `window` seconds; at `limit` the key is refused (429 + Retry-After,
 * before any IMAP work) until the score decays below it. An attacker thus
 * spends their own address's (or the targeted name's) budget, never the
 * users' at large. When a set is full the entry with the lowest score is
 * replaced. Keys are hashed with a per-process random seed.
 *
 * Client address: the socket peer, or - only when the peer is a configured
 * trusted proxy - the rightmost X-Forwarded-For entry that is not itself a
 * trusted proxy.
 *
 * Ownership: gw_limit_new/free. Threads: every function is thread-safe.
 */
#ifndef GW_LIMIT_H
#define GW_LIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/cm_err.h"

struct gw_limit;
struct sockaddr;

/* trusted_proxies: comma-separated IPs or CIDRs (v4/v6), may be NULL or
   "". CM_ECONFIG on a bad entry. */
int gw_limit_new(unsigned int limit, unsigned int window_secs, const char *trusted_proxies,
                 struct gw_limit **l_r, struct cm_err *err) __attribute__((warn_unused_result));
void gw_limit_free(struct gw_limit **lp);

/* 0 when user (may be NULL) and ip (may be "") may try a login at now_ms;
   else the seconds to wait (>= 1). */
unsigned int gw_limit_check(struct gw_limit *l, const char *user, const char *ip, uint64_t now_ms);

/* A login of user from ip was refused by the IMAP server. */
void gw_limit_fail(struct gw_limit *l, const char *user, const char *ip, uint64_t now_ms);

/* The client's numeric address into ip (size >= 46): peer, or from xff
   (the X-Forwarded-For value, may be NULL) when peer is a trusted proxy.
   *port_r is the peer's port, 0 when the address came from xff. */
void gw_limit_client(const struct gw_limit *l, const struct sockaddr *peer, const char *xff,
                     char *ip, unsigned int *port_r);

/* True when ip (numeric text) is inside trusted_proxies. */
bool gw_limit_is_trusted(const struct gw_limit *l, const char *ip);

#endif
