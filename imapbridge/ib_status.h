/* ib_status.h - STATUS of one folder (MESSAGES UIDNEXT UIDVALIDITY UNSEEN
 * and, with CONDSTORE, HIGHESTMODSEQ).
 *
 * Threads: the caller's, with the session owned (checked out).
 */
#ifndef IB_STATUS_H
#define IB_STATUS_H

#include <stdint.h>

#include "common/cm_err.h"

struct ib_session;

struct ib_status {
    uint32_t messages, uidnext, uidvalidity, unseen;
    uint64_t highestmodseq; /* 0 without CONDSTORE */
};

/* STATUS imap_name (wire name, modified UTF-7); when that folder is the
   selected one, ib_session_sync first. A tagged NO (no such
   folder) is CM_ENOENT and leaves the session usable; other failures as
   ib_session_check. */
int ib_status_get(struct ib_session *s, const char *imap_name, struct ib_status *st_r,
                  struct cm_err *err) __attribute__((warn_unused_result));

#endif
