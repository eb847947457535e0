/* ib_append.h - APPEND of a whole message with flags and INTERNALDATE,
 * answered with its new UID (UIDPLUS APPENDUID).
 *
 * Threads: on the caller's thread with the session checked out. The
 * session's selection is left as it was (APPEND needs none).
 */
#ifndef IB_APPEND_H
#define IB_APPEND_H

#include <stddef.h>
#include <stdint.h>

#include "common/cm_err.h"

struct ib_session;

/* APPEND data[0..len) to folder imap_name (wire name) with flags[0..nflags)
   (each ib_store_flag_valid) and INTERNALDATE date (unix seconds; < 0: the
   server's now). *uidvalidity_r / *uid_r from APPENDUID. Errors: CM_EPERM
   without UIDPLUS (nothing sent: the new message could not be named);
   CM_ENOENT when the server answered [TRYCREATE] (no such folder);
   CM_EUPSTREAM for an OK without APPENDUID (the message was stored but
   cannot be named); another NO (quota, bytes refused) as ib_session_check,
   the session staying usable. */
int ib_append(struct ib_session *s, const char *imap_name, const char *const *flags, size_t nflags,
              int64_t date, const char *data, size_t len, uint32_t *uidvalidity_r, uint32_t *uid_r,
              struct cm_err *err) __attribute__((warn_unused_result));

#endif
