/* ib_park_blob.h - the pure half of uploaded blobs parked in IMAP
 * (ARCHITECTURE §4 "Blobs"): the blobId token of a parked blob, and the
 * small MIME message that carries the blob's bytes.
 *
 * Parked blobId: cm_token (kind IB_PARK_TOKEN_KIND, HMAC with the state key
 * every instance derives from the shared secret) of
 *   uidvalidity(4) | uid(4) | size(8) | created(8, unix seconds) |
 *   account id (IB_ACCOUNT_ID_LEN chars) | media type (rest, <= 255).
 * It names the message in the account's parking folder, so any instance
 * can serve it, and carries its size, type and age, so an expired or
 * foreign blob is refused without asking IMAP.
 *
 * Wrapping: a single-part message (fixed headers, application/octet-stream,
 * base64 in 76-column CRLF lines). Base64 keeps any bytes (NUL, bare CR,
 * 8-bit) exactly, which IMAP APPEND of a plain literal cannot. The encoder
 * is incremental, so an upload is encoded as it arrives and held once; the
 * decoder works in place on the fetched body text.
 *
 * Threads: pure; safe from any thread.
 */
#ifndef IB_PARK_BLOB_H
#define IB_PARK_BLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cm_buf.h"
#include "common/cm_err.h"
#include "imapbridge/ib_upstream.h"

#define IB_PARK_FOLDER "jmapgate-uploads" /* hidden from every folder listing */
#define IB_PARK_TOKEN_KIND 7
#define IB_PARK_TYPE_MAX 255
#define IB_PARK_LINE 76 /* base64 characters per line */

struct ib_park_ref {
    uint32_t uidvalidity;
    uint32_t uid;
    uint64_t size;   /* bytes of the blob itself */
    int64_t created; /* unix seconds of the upload */
    char account[IB_ACCOUNT_ID_LEN + 1];
    char type[IB_PARK_TYPE_MAX + 1];
};

/* A media type the gateway keeps and echoes: printable ASCII without
   quotes, backslashes or CR/LF, at most IB_PARK_TYPE_MAX bytes. */
bool ib_park_type_ok(const char *type);

/* The blobId of ref (malloc'd), or NULL on OOM or an invalid type. */
char *ib_park_blob_id(const unsigned char key[32], const struct ib_park_ref *ref);
/* 0, or CM_EINVAL for anything that is not a parked blobId of ours. */
int ib_park_blob_parse(const unsigned char key[32], const char *blob_id, struct ib_park_ref *ref_r)
    __attribute__((warn_unused_result));

/* Is ref past its lifetime at now (ttl seconds after created)? */
bool ib_park_expired(const struct ib_park_ref *ref, int64_t now, unsigned int ttl);

/* Incremental wrapper. _begin writes the headers into out (whose cap
   bounds the whole message), _feed encodes n more blob bytes, _end
   flushes the tail. Each returns 0 or CM_ELIMIT when out's cap is hit
   (CM_ENOMEM on allocation failure). */
struct ib_park_wrap {
    struct cm_buf *out;    /* borrowed */
    unsigned char pend[3]; /* bytes not yet encoded */
    size_t npend;
    size_t col;    /* characters on the current line */
    uint64_t size; /* blob bytes fed so far */
};
int ib_park_wrap_begin(struct ib_park_wrap *w, struct cm_buf *out, int64_t now)
    __attribute__((warn_unused_result));
int ib_park_wrap_feed(struct ib_park_wrap *w, const void *data, size_t n)
    __attribute__((warn_unused_result));
int ib_park_wrap_end(struct ib_park_wrap *w) __attribute__((warn_unused_result));

/* Size of the wrapped message for a blob of n bytes (for caps). */
size_t ib_park_wrapped_size(size_t n);

/* Decode the base64 body text buf[0..*len) in place (CR, LF and spaces
   skipped); *len_r becomes the blob's length. CM_EINVAL for bad base64. */
int ib_park_unwrap(char *buf, size_t len, size_t *len_r) __attribute__((warn_unused_result));

/* Does data[0..len) look like an RFC 5322 message: no NUL byte, and a
   header section of at least one well-formed field ("name:" with name of
   %x21-39 / %x3B-7E), every line a field or a continuation, up to the
   first empty line or the end? (Email/import's invalidEmail.) */
bool ib_park_is_message(const char *data, size_t len);

/* The size IMAP reports for data once stored (Dovecot stores bare LF as
   CRLF): len plus the LFs not preceded by CR. */
uint64_t ib_park_imap_size(const char *data, size_t len);

#endif
