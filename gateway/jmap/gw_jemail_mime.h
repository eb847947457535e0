/* gw_jemail_mime.h - a JMAP Email create object (RFC 8621 §4.6) checked
 * and turned into an RFC 5322 message with gw_mime_build_tree: either
 * bodyStructure or textBody/htmlBody/attachments, bodyValues, parts by
 * blobId (read through a callback), the convenience header properties
 * and header:Name[:asForm][:all]. The server adds Date and Message-ID
 * when the object gives none.
 *
 * Pure: no I/O but what the blob callback does; every rule of §4.6 that
 * does not need the account (a mailbox's existence is checked by the
 * caller) is checked here and answered as a SetError.
 *
 * Threads: any; one call at a time per env.
 */
#ifndef GW_JEMAIL_MIME_H
#define GW_JEMAIL_MIME_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/cm_err.h"

/* A blob's bytes (malloc'd into *data_r, the caller of the callback frees
   them). CM_ENOENT when there is no such blob (answered blobNotFound);
   any other failure fails the whole create. */
typedef int gw_jemail_blob_fn(void *ctx, const char *blob_id, char **data_r, size_t *len_r,
                              struct cm_err *err);

struct gw_jemail_env {
    const char *domain; /* of a Message-ID the server supplies */
    time_t now;         /* the Date when the object gives none */
    size_t max_bytes;   /* cap of the message (tooLarge above) */
    gw_jemail_blob_fn *blob;
    void *blob_ctx;
    bool labels;        /* mailboxes are labels (Gmail): several mailboxIds allowed */
};

/* Check email and build its message into *out_r (malloc'd, *len_r bytes).
   Returns 0 with the message, or 0 with *set_err_r (a new SetError:
   invalidProperties with "properties", tooManyMailboxes (several
   mailboxIds without env->labels), blobNotFound
   with "notFound", tooLarge) and no message, or < 0 with err for a
   failure of the whole call (OOM, a blob read failing otherwise). */
int gw_jemail_build(json_t *email, const struct gw_jemail_env *env, char **out_r, size_t *len_r,
                    json_t **set_err_r, struct cm_err *err) __attribute__((warn_unused_result));

/* RFC 3339 Date "2024-01-02T03:04:05+02:00" (or Z, fractions allowed) as
   an RFC 5322 date "Tue, 02 Jan 2024 03:04:05 +0200" into dst (>= 40
   bytes); -1 when it is not a Date. */
int gw_jemail_date(const char *jdate, char *dst, size_t cap);

/* A UTCDate "2024-01-02T03:04:05Z" as unix seconds, or -1. */
int64_t gw_jemail_utcdate(const char *utcdate);

#endif
