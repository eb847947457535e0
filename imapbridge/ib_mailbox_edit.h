/* ib_mailbox_edit.h - folder management: CREATE, RENAME, DELETE,
 * SUBSCRIBE / UNSUBSCRIBE. Names are wire names (modified UTF-7, full
 * path with the server's delimiter); the caller builds them.
 *
 * A folder that is selected in this session is unselected first (UNSELECT,
 * when offered), so the session never goes on reading a folder it just
 * renamed or deleted.
 *
 * Errors: a tagged NO (exists already, no such folder, has children on a
 * server that refuses that, ...) is CM_EUPSTREAM with the server's text
 * and leaves the session usable; other failures as ib_session_check.
 * Threads: the caller's, with the session checked out.
 */
#ifndef IB_MAILBOX_EDIT_H
#define IB_MAILBOX_EDIT_H

#include <stdbool.h>

#include "common/cm_err.h"

struct ib_session;

int ib_mailbox_create(struct ib_session *s, const char *imap_name, struct cm_err *err)
    __attribute__((warn_unused_result));
int ib_mailbox_rename(struct ib_session *s, const char *from, const char *to, struct cm_err *err)
    __attribute__((warn_unused_result));
int ib_mailbox_delete(struct ib_session *s, const char *imap_name, struct cm_err *err)
    __attribute__((warn_unused_result));
int ib_mailbox_subscribe(struct ib_session *s, const char *imap_name, bool subscribe,
                         struct cm_err *err) __attribute__((warn_unused_result));

#endif
