/* ib_mailbox_int.h - the steps of a folder listing shared by its two ways
 * (internal to imapbridge): LIST + LSUB + a STATUS per folder
 * (ib_mailbox.c, ib_mailbox_status.c), or one LIST-STATUS command
 * (ib_mailbox_liststatus.c).
 *
 * Threads: the caller's, with the session checked out.
 */
#ifndef IB_MAILBOX_INT_H
#define IB_MAILBOX_INT_H

#include "common/cm_err.h"
#include "imapbridge/ib_mailbox.h"

struct ib_session;

/* Names of a folder from its wire name (INBOX canonical; path and leaf name
   in UTF-8, the wire form when it is not valid modified UTF-7);
   selectable. CM_ENOMEM (strings freed by ib_folder_list_fini). */
int ib_folder_init(struct ib_folder *f, const char *wire_name, char delimiter);

/* "inbox" for INBOX; else, when no SPECIAL-USE flag gave one, the role its
   name suggests. */
void ib_folder_default_role(struct ib_folder *f);

/* Ids (server id, else derived), parent ids, INBOX first then by path. */
int ib_folder_list_finish(struct ib_folder_list *out, struct cm_err *err);

/* The whole listing in one command when the server offers LIST-STATUS
   (RFC 5819): LIST "" "*" RETURN (SUBSCRIBED [SPECIAL-USE] STATUS (MESSAGES
   UNSEEN UIDVALIDITY UIDNEXT [HIGHESTMODSEQ] [MAILBOXID | X-GUID])), with
   a selected folder made current first (ib_session_use_send: a NOOP round
   trip for a near server, else EXAMINE/SELECT of it in the same write). CM_ECONFIG when the
   server lacks LIST-STATUS, CM_EUPSTREAM when it refused the command (the
   session is usable: list the classic way). */
int ib_mailbox_list_status(struct ib_session *s, struct ib_folder_list *out,
                           struct cm_err *err) __attribute__((warn_unused_result));

/* LIST-STATUS in two halves, for pipelining: _send writes the command
   (not flushed; CM_ECONFIG without LIST-STATUS, nothing written). The
   caller has made a selected folder current in front of it (the sync
   NOOP, or a fresh EXAMINE/SELECT): STATUS of the selected folder answers
   from the session's view. Once flushed and the answers in front read,
   _recv reads its answer into out (as ib_mailbox_list_status); *news_r
   tells that news of the selected folder came with it, which went past
   libetpan: the caller drops the selection once the answers behind are
   read. */
/* The tags of a listing: with RFC 8474 OBJECTID the folder ids come from a
   second LIST-STATUS in the same write, `RETURN (STATUS (MAILBOXID))` alone
   (ids_tag; 0 when not sent): Cyrus 3.6.1 answers MAILBOXID beside other
   STATUS items with the bytes of a pointer, not the id. */
/* With METADATA, the GETMETADATA of the folders' sortOrders
   (ib_sortorder.h) goes in the same write too (order_tag; 0 when not
   sent). */
struct ib_lsq {
    int tag, ids_tag, order_tag;
};
int ib_mailbox_list_status_send(struct ib_session *s, struct ib_lsq *q, struct cm_err *err)
    __attribute__((warn_unused_result));
int ib_mailbox_list_status_recv(struct ib_session *s, const struct ib_lsq *q,
                                struct ib_folder_list *out, bool *news_r, struct cm_err *err)
    __attribute__((warn_unused_result));

#endif
