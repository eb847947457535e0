/* ib_body.h - IMAP BODYSTRUCTURE -> JMAP Email body properties
 * (RFC 8621 4.1.4): bodyStructure, textBody / htmlBody / attachments /
 * hasAttachment (the RFC's parseStructure algorithm), the sections to fetch
 * for bodyValues, and fetched section bytes -> an EmailBodyValue.
 *
 * Part ids are IMAP section paths: "1" for a single-part message, "1",
 * "2", "2.1", ... below multiparts; multipart containers have partId null.
 * message/rfc822 parts are leaves (not expanded), as the RFC says.
 * Every json_t returned is a new reference holding valid UTF-8 only.
 * Threads: no shared state; safe from any thread.
 */
#ifndef IB_BODY_H
#define IB_BODY_H

#include "common/cm_err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* libetpan types, opaque outside imapbridge/ (its headers stay private) */
struct mailimap_body;

/* Returns the blobId (new reference, a JSON string) of the leaf part at
   section `part_id`, or NULL to emit JSON null. */
typedef json_t *(*ib_body_blob_fn)(const char *part_id, void *ctx);

/* Returns the raw header block of the part at IMAP section `section`
   (its "<section>.MIME"; NULL = the message's own header, which is also
   the header of a root part, multipart or not), borrowed until the call
   that made the request returns, or NULL when not available; *len gets its
   length. */
typedef const char *(*ib_body_headers_fn)(const char *section, size_t *len, void *ctx);

struct ib_body_opts {
    ib_body_blob_fn blob; /* may be NULL: blobId null */
    void *blob_ctx;
    ib_body_headers_fn headers; /* may be NULL: no "headers" property */
    void *headers_ctx;
};

/* The bodyStructure EmailBodyPart tree: partId, blobId, size (decoded-size
   estimate; 0 for multiparts), headers (every part, only with
   opts->headers), name,
   type (lower case), charset (text parts default "us-ascii"), disposition,
   cid, language, location, subParts (null on leaves). opts may be NULL.
   NULL only when out of memory. */
json_t *ib_body_structure_json(const struct mailimap_body *body, const struct ib_body_opts *opts);

/* RFC 8621 parseStructure over a bodyStructure tree. *text, *html and
   *attachments get new arrays whose elements are the leaf objects of
   `structure` itself (shared references: json_deep_copy() before changing
   them). *has_attachment: some attachment lacks disposition "inline".
   0 / CM_ENOMEM. */
int ib_body_parts(json_t *structure, json_t **text, json_t **html, json_t **attachments,
                  bool *has_attachment, struct cm_err *err) __attribute__((warn_unused_result));

/* hasAttachment of a message straight from its BODYSTRUCTURE (NULL:
   false), by the same rule as ib_body_parts. */
bool ib_body_has_attachment(const struct mailimap_body *body);

/* The transfer encoding ("7bit", "base64", ...; as ib_text_cte_decode
   reads it) of the leaf part at IMAP section path `part` ("1.2", into
   message/rfc822 parts too), or NULL when body (may be NULL) has no such
   leaf. Borrowed from body. Pure. */
const char *ib_body_part_encoding(const struct mailimap_body *body, const char *part);

/* Which body values Email/get asked for. */
enum ib_body_want {
    IB_BODY_WANT_TEXT = 1, /* fetchTextBodyValues: text parts of textBody */
    IB_BODY_WANT_HTML = 2, /* fetchHTMLBodyValues: text parts of htmlBody */
    IB_BODY_WANT_ALL = 4   /* fetchAllBodyValues: every text leaf */
};

/* A section the caller must fetch (BODY.PEEK[part_id], possibly partial). */
struct ib_body_fetch {
    char part_id[64];
    char *encoding; /* lower-case transfer encoding ("7bit", "base64", ...) */
    char *charset;  /* declared charset, default "us-ascii" */
    char *type;     /* lower-case media type, "text/..." */
    bool html;      /* text/html */
};

/* The sections to fetch for `want` (a mask of ib_body_want), each once, in
   body order. *out is a new array of *n entries (NULL when *n == 0); free
   with ib_body_fetch_free(). 0 / CM_ENOMEM. */
int ib_body_fetch_list(const struct mailimap_body *body, unsigned want, struct ib_body_fetch **out,
                       size_t *n, struct cm_err *err) __attribute__((warn_unused_result));

void ib_body_fetch_free(struct ib_body_fetch **list, size_t n);

/* The section to build `preview` from (ib_text_preview() on its decoded
   value; a partial fetch of a few KiB is enough): the first text/plain or
   text/html part of textBody. *out is new (free with
   ib_body_fetch_free(out, 1)); CM_ENOENT (and *out NULL) when there is
   none. 0 / CM_ENOENT / CM_ENOMEM. */
int ib_body_preview_fetch(const struct mailimap_body *body, struct ib_body_fetch **out,
                          struct cm_err *err) __attribute__((warn_unused_result));

/* An EmailBodyValue {value, isEncodingProblem, isTruncated} from the raw
   bytes of a section: transfer decoding, charset decoding (unknown or
   malformed -> isEncodingProblem), CRLF -> LF, then truncation to at most
   max_bytes octets on a character boundary (0 = no limit). `partial` says
   the caller fetched only a prefix of the section (isTruncated true; a
   character cut by the fetch is dropped, not reported as a problem).
   *out is new. 0 / CM_ENOMEM / CM_ELIMIT. */
int ib_body_value_json(const char *data, size_t len, const char *encoding, const char *charset,
                       size_t max_bytes, bool partial, json_t **out, struct cm_err *err)
    __attribute__((warn_unused_result));

#endif
