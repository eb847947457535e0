/* ib_park.h - the account's parking folder (IB_PARK_FOLDER): uploaded
 * blobs wait there, wrapped (ib_park_blob.h), until Email/import uses
 * them or their lifetime ends. The folder is created unsubscribed on
 * first use and is left out of every folder listing (ib_mailbox_list), so
 * it never shows in Mailbox/get, the JMAP states, REST lists or push.
 * Only messages of this folder are ever expunged here, by UID (UIDPLUS).
 *
 * Threads: the caller's, with the session checked out. These functions
 * change the session's selection.
 */
#ifndef IB_PARK_H
#define IB_PARK_H

#include <stddef.h>
#include <stdint.h>

#include "common/cm_err.h"
#include "imapbridge/ib_park_blob.h"

struct ib_session;

/* APPEND the wrapped message msg[0..len) (creating the folder once when
   the server says it is missing). */
int ib_park_put(struct ib_session *s, const char *msg, size_t len, uint32_t *uidvalidity_r,
                uint32_t *uid_r, struct cm_err *err) __attribute__((warn_unused_result));

/* The blob's bytes (malloc'd, NUL-terminated, *len_r = ref->size).
   CM_ENOENT when it is no longer there (used, expired and swept, or the
   folder was recreated). */
int ib_park_get(struct ib_session *s, const struct ib_park_ref *ref, char **data_r, size_t *len_r,
                struct cm_err *err) __attribute__((warn_unused_result));

/* Remove the blob (a blob already gone is not an error). */
int ib_park_drop(struct ib_session *s, const struct ib_park_ref *ref, struct cm_err *err)
    __attribute__((warn_unused_result));

/* Lazy sweep: expunge parked messages whose INTERNALDATE is ttl seconds
   or more before now; *kept_bytes_r = wrapped bytes of those that stay
   (for the per-account cap). A missing folder is empty. */
int ib_park_sweep(struct ib_session *s, int64_t now, unsigned int ttl, uint64_t *kept_bytes_r,
                  struct cm_err *err) __attribute__((warn_unused_result));

#endif
