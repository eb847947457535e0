/* ib_header.h - a raw RFC 5322 header block -> JMAP Email header
 * properties (RFC 8621 4.1.2 parsed forms, 4.1.3 header:* properties and
 * the convenience properties messageId ... sentAt).
 *
 * Every json_t returned is a new reference and holds only valid UTF-8;
 * unparsable input gives what the RFC says (JSON null, or the addresses
 * that could be parsed), never a missing value.
 * Threads: no shared state; a parsed list is immutable and may be read from
 * several threads.
 */
#ifndef IB_HEADER_H
#define IB_HEADER_H

#include "common/cm_err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* libetpan types, opaque outside imapbridge/ (its headers stay private) */
struct mailimap_date_time;

/* One header field as it appears in the message. */
struct ib_header_field {
    char *name;       /* bytes before the colon (trailing blanks removed); NUL-terminated */
    char *value;      /* raw bytes after the colon up to, excluding, the final line break;
                         folds kept; NUL-terminated */
    size_t value_len; /* may contain NUL bytes */
};

struct ib_header_list {
    struct ib_header_field *fields; /* in message order */
    size_t count;
};

/* Split a raw header block (BODY[HEADER] bytes; CRLF or LF; stops at the
   first empty line) into fields. Lines that are neither a field nor a
   continuation are skipped. *out is new; free with ib_header_list_free().
   0 / CM_ENOMEM / CM_ELIMIT (more than 10,000 fields). */
int ib_header_parse(const char *raw, size_t len, struct ib_header_list **out, struct cm_err *err)
    __attribute__((warn_unused_result));

/* Free *l and set it to NULL; NULL-safe. */
void ib_header_list_free(struct ib_header_list **l);

enum ib_header_form {
    IB_HF_RAW,
    IB_HF_TEXT,
    IB_HF_ADDRESSES,
    IB_HF_GROUPED_ADDRESSES,
    IB_HF_MESSAGE_IDS,
    IB_HF_DATE,
    IB_HF_URLS
};

/* A parsed "header:Name[:asForm][:all]" property. */
struct ib_header_prop {
    char name[256]; /* field name as written in the property */
    enum ib_header_form form;
    bool all;
};

/* Parse a header:* property string; CM_EINVAL (with a reason in err) when
   the syntax is wrong, the form unknown, or the form not allowed for the
   field per RFC 8621 4.1.2 (e.g. asAddresses on Subject, asText on From);
   fields not defined by RFC 5322 / RFC 2369 allow every form. */
int ib_header_prop_parse(const char *prop, struct ib_header_prop *out, struct cm_err *err)
    __attribute__((warn_unused_result));

/* Is `form` allowed on field `name` (case-insensitive)? */
bool ib_header_form_allowed(const char *name, enum ib_header_form form);

/* One field value in one form: Raw/Text -> string; Addresses -> array of
   EmailAddress; GroupedAddresses -> array of EmailAddressGroup;
   MessageIds/URLs -> array of strings or null; Date -> Date string
   ("2024-05-01T12:00:00+02:00") or null. NULL only when out of memory. */
json_t *ib_header_value_json(const char *value, size_t len, enum ib_header_form form);

/* A header:* property over a list: the last field named `name` (null when
   absent), or with `all` an array over every instance in order ([] when
   absent). NULL only when out of memory. */
json_t *ib_header_get_json(const struct ib_header_list *l, const char *name,
                           enum ib_header_form form, bool all);

/* The Email property `prop`: "headers", "messageId", "inReplyTo",
   "references", "sender", "from", "to", "cc", "bcc", "replyTo", "subject",
   "sentAt" or any valid "header:..." string. Sets *known = false (and
   returns NULL) for other names or an invalid header:* property; otherwise
   *known = true and NULL means out of memory. */
json_t *ib_header_email_prop(const struct ib_header_list *l, const char *prop, bool *known);

/* INTERNALDATE -> UTCDate ("2024-05-01T10:00:00Z"), for receivedAt.
   dt->dt_zone is libetpan's +-hhmm integer (-0530 -> -530, checked against
   its INTERNALDATE parser). JSON null when the date is out of range.
   NULL only when out of memory. */
json_t *ib_header_utcdate_json(const struct mailimap_date_time *dt);

#endif
