/* gw_mime_build.h - build an RFC 5322 / MIME message from parts (REST
 * send): headers with RFC 2047 encoded words for non-ASCII text, a
 * text/plain and/or text/html body (multipart/alternative with both), and
 * attachments (multipart/mixed, base64, RFC 2231 file names).
 *
 * Every header value is checked here: CR, LF and NUL are refused
 * anywhere but in the bodies (whose line ends become CRLF), addresses
 * must pass ib_smtp_addr_valid, message ids must look like <x@y>.
 * The Bcc header is written (the Sent copy keeps it); the sender removes it
 * before SMTP (gw_submit_strip_bcc).
 *
 * Threads: pure; safe from any thread.
 */
#ifndef GW_MIME_BUILD_H
#define GW_MIME_BUILD_H

#include <stddef.h>
#include <time.h>

#include "common/cm_err.h"

struct gw_mime_addr {
    const char *name; /* display name (UTF-8) or NULL */
    const char *email;
};

struct gw_mime_att {
    const char *filename; /* UTF-8, or NULL */
    const char *type;     /* "type/subtype", or NULL: application/octet-stream */
    const unsigned char *data;
    size_t len;
};

struct gw_mime_msg {
    struct gw_mime_addr from;
    const struct gw_mime_addr *to, *cc, *bcc;
    size_t nto, ncc, nbcc;
    const char *subject;     /* UTF-8 or NULL */
    const char *text, *html; /* UTF-8 bodies; at least one (may be "") */
    const char *in_reply_to; /* "<id@host>" or NULL */
    const char *references;  /* "<a@h> <b@h>" or NULL */
    const struct gw_mime_att *att;
    size_t natt;
    const char *message_id; /* "<id@host>" to use */
    time_t date;
    size_t max_bytes; /* cap of the result (CM_ELIMIT above) */
};

/* The message into *out_r (malloc'd, NUL-terminated; *len_r bytes).
   CM_EINVAL with a reason naming the field for bad input, CM_ELIMIT,
   CM_ENOMEM. */
int gw_mime_build(const struct gw_mime_msg *m, char **out_r, size_t *len_r, struct cm_err *err)
    __attribute__((warn_unused_result));

/* A new Message-ID "<random@domain>" into dst (>= 300 bytes). */
void gw_mime_message_id(const char *domain, char *dst, size_t cap);

#endif
