/* gw_submit.h - sending one message: the checks and the SMTP errors that
 * EmailSubmission/set (JMAP) and POST /api/v1/messages/send (REST) share.
 *
 * gw_submit_send derives the envelope (or checks the one given), enforces
 * the identity (From header and MAIL FROM must be the account's address),
 * the recipient limit and the account's send rate, removes Bcc from the
 * bytes sent, sends over SMTP (ib_smtp.h) and maps every refusal to one
 * RFC 8621 §7.5 SetError type plus an HTTP status for REST:
 *
 *   invalidEmail        400  no usable From, unparsable header
 *   noRecipients        400  nobody in the envelope
 *   tooManyRecipients   400  above smtp_max_recipients, or SMTP 452/552 on RCPT
 *   invalidRecipients   400  bad address, or SMTP refused some RCPT (listed)
 *   forbiddenMailFrom   403  envelope sender is not the identity, or MAIL FROM refused
 *   forbiddenFrom       403  From header is not the identity, or DATA refused with 5.7.x
 *   tooLarge            413  above the server's SIZE, or SMTP 552 on DATA
 *   rateLimit           429  the account's send budget is spent (Retry-After)
 *   forbidden           502  the SMTP server refused the login
 *   serverUnavailable   503/504  cannot connect, TLS failed, timeout
 *
 * Threads: the request's worker; blocks for the SMTP exchange.
 */
#ifndef GW_SUBMIT_H
#define GW_SUBMIT_H

#include <jansson.h>
#include <stddef.h>

#include "common/cm_err.h"

struct gw_ctx;
struct ib_creds;

struct gw_submit_fail {
    const char *type;         /* SetError type (static) */
    unsigned int status;      /* for REST */
    unsigned int retry_after; /* seconds (rateLimit) */
    char desc[256];
    json_t *extra; /* more SetError properties (owned), or NULL */
};

struct gw_submit {
    struct gw_ctx *ctx;
    const struct ib_creds *cr;
    const char *account_id;
    json_t *envelope; /* borrowed JMAP Envelope, or NULL: from the headers */
};

/* Send raw (len bytes). 0 on success with *envelope_r the envelope used
   (new reference); else -1 with f filled (call gw_submit_fail_fini). */
int gw_submit_send(const struct gw_submit *sub, const char *raw, size_t len, json_t **envelope_r,
                   struct gw_submit_fail *f);

void gw_submit_fail_fini(struct gw_submit_fail *f);

/* The SetError object of f (new reference). */
json_t *gw_submit_fail_json(const struct gw_submit_fail *f);

/* A copy of raw without its Bcc header fields (continuation lines
   included). *out_r is malloc'd. 0 / CM_ENOMEM. Pure. */
int gw_submit_strip_bcc(const char *raw, size_t len, char **out_r, size_t *out_len_r);

#endif
