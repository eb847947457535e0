/* gw_send.h - what sending mail needs at run time: the SMTP server (from
 * smtp_url), the per-account send rate limiter, and the account's identity
 * (its sender address).
 *
 * Sending is enabled only when smtp_url is set: gw_send_new then makes
 * *s_r; without it *s_r stays NULL, the JMAP session does not advertise
 * urn:ietf:params:jmap:submission and REST send answers 501.
 *
 * Rate limit: a token bucket per account id (rate per minute, burst of the
 * same size), in a fixed set-associative table (bounded memory; a full set
 * drops its fullest bucket, which loses nothing a client could gain from).
 *
 * Ownership: gw_send_new/free. Threads: every function is thread-safe.
 */
#ifndef GW_SEND_H
#define GW_SEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cm_err.h"

struct gw_settings;
struct gw_send;
struct ib_smtp_server;

/* *s_r is NULL (and 0 returned) when set->smtp_url is unset. CM_ECONFIG
   for a bad URL or unreadable CA file. */
int gw_send_new(const struct gw_settings *set, struct gw_send **s_r, struct cm_err *err)
    __attribute__((warn_unused_result));
void gw_send_free(struct gw_send **sp);

/* Borrowed; valid until gw_send_free. */
const struct ib_smtp_server *gw_send_smtp(const struct gw_send *s);
const struct gw_settings *gw_send_settings(const struct gw_send *s);

/* Take one send from account's budget at now_ms: 0 when allowed, else the
   seconds until one is (>= 1) and nothing is taken. */
unsigned int gw_send_rate_take(struct gw_send *s, const char *account, uint64_t now_ms);

/* Give back a send that was taken but not made (refused before SMTP). */
void gw_send_rate_refund(struct gw_send *s, const char *account);

/* The account's sender address into dst: the login when it is an address,
   else login@mail_domain. CM_ENOENT when there is neither (no identity). */
int gw_send_identity_email(const struct gw_settings *set, const char *username, char *dst,
                           size_t cap) __attribute__((warn_unused_result));

/* The one Identity id of every account. */
#define GW_SEND_IDENTITY_ID "i0"

#endif
