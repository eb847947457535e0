/* ib_mailbox_status.h - the STATUS of every selectable folder of a
 * listing (internal to imapbridge; ib_mailbox_list's second half).
 *
 * STATUS (MESSAGES UNSEEN UIDVALIDITY UIDNEXT [HIGHESTMODSEQ] [MAILBOXID or
 * X-GUID]) is pipelined: up to IB_STATUS_PIPELINE commands are written
 * before the first answer is read, so a listing costs one round trip per
 * batch instead of one per folder. A folder the server refuses (NO:
 * vanished meanwhile) keeps has_status false; when the id item was asked
 * for, it is tried once more alone without it (a server that BADs the
 * item still gets its counts). Names that are not plain printable ASCII
 * (never from a server that follows RFC 3501's modified UTF-7) go one by
 * one through libetpan's own STATUS.
 *
 * Threads: the caller's, with the session checked out. Returns 0, or a
 * CM_E* code when the session broke.
 */
#ifndef IB_MAILBOX_STATUS_H
#define IB_MAILBOX_STATUS_H

#include "common/cm_err.h"

struct ib_session;
struct ib_folder;
struct ib_folder_list;

#define IB_STATUS_PIPELINE 64  /* ~5 kB of commands, ~8 kB of answers: far below socket buffers */

int ib_mailbox_status_all(struct ib_session *s, struct ib_folder_list *l, struct cm_err *err)
    __attribute__((warn_unused_result));

/* One folder's STATUS with the same items, pipelined behind other
   commands: _send writes it for f->imap_name (printable ASCII, else
   CM_EINVAL) without flushing, *tag_r = its tag; once flushed and the
   answers in front read, _recv reads its answer into f. A NO (no such
   folder, or an id item the server does not know) leaves f as it was and
   is not an error; only a broken session is. */
int ib_mailbox_status_send(struct ib_session *s, const char *imap_name, int *tag_r,
                           struct cm_err *err) __attribute__((warn_unused_result));
int ib_mailbox_status_recv(struct ib_session *s, int tag, struct ib_folder *f,
                           struct cm_err *err) __attribute__((warn_unused_result));

#endif
