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
 * gw_mime_build_tree (below) builds any tree of parts for JMAP Email/set
 * create (gateway/jmap/gw_jemail_mime.c), with the same header encoders.
 *
 * Threads: pure; safe from any thread.
 */
#ifndef GW_MIME_BUILD_H
#define GW_MIME_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "common/cm_err.h"

/* One address of a list. Consecutive entries with the same group pointer
   are written as one RFC 5322 group ("Group: a, b;"); an entry with a group
   and no email stands for an empty group ("Group:;"). */
struct gw_mime_addr {
    const char *name;  /* display name (UTF-8) or NULL */
    const char *email; /* NULL only in an empty group's entry */
    const char *group; /* group display name (UTF-8) or NULL: not in a group */
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

/* ---- A message from a tree of parts (JMAP Email/set create). ----
 *
 * Headers are written in the order given, each by its kind; the builder
 * adds MIME-Version and every part's Content-* fields itself. Text leaves
 * (text/x with data) are written as UTF-8 with line ends made CRLF, in
 * 7bit when ASCII with lines of at most 998 bytes, else quoted-printable
 * when mostly ASCII, else base64. message/rfc822 leaves are written as
 * they are (7bit or 8bit); every other leaf in base64. */

enum gw_mime_hkind {
    GW_MIME_H_RAW,   /* value written as is after "Name:" (no CR/LF but folding) */
    GW_MIME_H_TEXT,  /* UTF-8 text: RFC 2047 encoded words when needed */
    GW_MIME_H_ADDRS, /* addrs[naddrs] */
    GW_MIME_H_IDS    /* value: "<a@b> <c@d>" */
};

struct gw_mime_header {
    const char *name; /* field name: printable ASCII, no ':' */
    enum gw_mime_hkind kind;
    const char *value;
    const struct gw_mime_addr *addrs;
    size_t naddrs;
};

struct gw_mime_part {
    const char *type;        /* "type/subtype" (multipart/x with sub[]) */
    const char *charset;     /* non-text leaves only (text leaves are utf-8), or NULL */
    const char *disposition; /* "attachment", "inline", or NULL */
    const char *name;        /* UTF-8 file name or NULL (RFC 2231 when needed) */
    const char *cid;         /* Content-ID without <>, or NULL */
    const char *location;    /* Content-Location, or NULL */
    const char *language;    /* Content-Language "en, fr", or NULL */
    const struct gw_mime_header *headers; /* extra part fields */
    size_t nheaders;
    const unsigned char *data; /* a leaf's content (decoded) */
    size_t len;
    const struct gw_mime_part *sub; /* a multipart's parts */
    size_t nsub;
    bool exact;              /* data is a blob's bytes: base64, never re-encoded
                                (a text leaf's line ends are not made CRLF) */
};

/* The message of headers h[nh] and body root into *out_r (malloc'd,
   NUL-terminated, *len_r bytes); max_bytes caps it (0: 64 MiB).
   CM_EINVAL with a reason for a bad header or part, CM_ELIMIT, CM_ENOMEM. */
int gw_mime_build_tree(const struct gw_mime_header *h, size_t nh, const struct gw_mime_part *root,
                       size_t max_bytes, char **out_r, size_t *len_r, struct cm_err *err)
    __attribute__((warn_unused_result));

#endif
