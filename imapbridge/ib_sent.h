/* ib_sent.h - file a sent message: APPEND it with \Seen to a folder (the
 * Sent copy of REST send). Deliberately tiny: the uploads branch brings a
 * general APPEND (ib_append.h, flags and INTERNALDATE); this becomes a
 * call to it when both are merged.
 *
 * Threads: the caller's, with the session checked out.
 */
#ifndef IB_SENT_H
#define IB_SENT_H

#include <stddef.h>
#include <stdint.h>

#include "common/cm_err.h"

struct ib_session;

/* APPEND data (len bytes, CRLF line ends) to imap_name (wire name) with
   \Seen. With UIDPLUS *uidvalidity_r / *uid_r get APPENDUID's values,
   else 0. 0 or a CM_E* code (ib_session_check's classification). */
int ib_sent_append(struct ib_session *s, const char *imap_name, const char *data, size_t len,
                   uint32_t *uidvalidity_r, uint32_t *uid_r, struct cm_err *err)
    __attribute__((warn_unused_result));

#endif
