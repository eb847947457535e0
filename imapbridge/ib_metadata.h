/* ib_metadata.h - one server annotation (RFC 5464 METADATA on mailbox "")
 * read and written as an opaque value: GETMETADATA / SETMETADATA, with a
 * libetpan extension parser for the "* METADATA" response (libetpan 1.9.4
 * has none; an unparsable line would kill the session).
 *
 * Entry names are the caller's constants (e.g. "/private/vendor/jmapgate/
 * identity"). Values are sent as quoted strings, so they must be printable
 * ASCII without '"' or '\\' (callers store base64url): CM_EINVAL
 * otherwise, nothing sent.
 *
 * Threads: the session's. ib_metadata_register is thread-safe and is
 * called from ib_ext_register (session start-up).
 */
#ifndef IB_METADATA_H
#define IB_METADATA_H

#include <stdbool.h>
#include <stddef.h>

#include "common/cm_err.h"

struct ib_session;

#define IB_METADATA_MAX_VALUE (64u * 1024)

void ib_metadata_register(void);

/* Does the server offer METADATA (server annotations)? */
bool ib_metadata_supported(struct ib_session *s);

/* The value of entry (malloc'd, NUL-terminated), or *value_r NULL when
   the server has none (NIL). CM_EPERM when the server has no METADATA
   or refuses it; other CM_E* as ib_session_check classifies. */
int ib_metadata_get(struct ib_session *s, const char *entry, char **value_r, struct cm_err *err)
    __attribute__((warn_unused_result));

/* ib_metadata_get in two halves, for pipelining: _send writes the
   GETMETADATA without flushing (*tag_r its tag; 0 and an error when
   nothing went out); once the caller has flushed and read the answers in
   front of it, _recv reads its answer (imap_tag set to tag) with
   *value_r as ib_metadata_get. */
int ib_metadata_get_send(struct ib_session *s, const char *entry, int *tag_r, struct cm_err *err)
    __attribute__((warn_unused_result));
int ib_metadata_get_recv(struct ib_session *s, int tag, const char *entry, char **value_r,
                         struct cm_err *err) __attribute__((warn_unused_result));

/* Set entry to value (NULL: remove it). CM_EPERM / CM_EINVAL / others. */
int ib_metadata_set(struct ib_session *s, const char *entry, const char *value, struct cm_err *err)
    __attribute__((warn_unused_result));

#endif
