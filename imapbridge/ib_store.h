/* ib_store.h - changing one message of the selected folder: flags by UID
 * STORE, MOVE (or UIDPLUS COPY + \Deleted + UID EXPUNGE), removal by UID
 * EXPUNGE.
 *
 * Flags reach IMAP only through libetpan's flag builders, after
 * ib_store_flag_valid. Removal is never a plain EXPUNGE (it would also
 * remove every other message some other client marked \Deleted): without
 * UIDPLUS these functions refuse with CM_EPERM and change nothing.
 *
 * Threads: on the caller's thread, with the session checked out and the
 * folder selected read-write (ib_session_select(..., false, ...)).
 */
#ifndef IB_STORE_H
#define IB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cm_err.h"

struct ib_session;

/* A flag a client may set or clear: one of \Seen \Answered \Flagged
   \Deleted \Draft (any case), or a keyword (RFC 3501 atom: 1-255 of
   %x21-7e minus ( ) { ] % * " \). \Recent and other backslash names are
   not. Pure. */
bool ib_store_flag_valid(const char *flag);

struct mailimap_flag_list;
/* libetpan's flag list for flags[0..n) (each ib_store_flag_valid), for
   commands that carry flags (STORE, APPEND). New list, or NULL on OOM. */
struct mailimap_flag_list *ib_store_flag_list(const char *const *flags, size_t n);

/* UID STORE +FLAGS.SILENT add then -FLAGS.SILENT remove (each only when
   non-empty). CM_EINVAL for an invalid flag (nothing is sent). */
int ib_store_flags(struct ib_session *s, uint32_t uid, const char *const *add, size_t nadd,
                   const char *const *remove, size_t nremove, struct cm_err *err)
    __attribute__((warn_unused_result));

/* Gmail (X-GM-EXT-1): UID STORE uid +X-GM-LABELS (add...) then
   -X-GM-LABELS (remove...), each only when non-empty. A label is a system
   label ("\\Inbox": backslash + letters, sent as is) or a folder's wire
   name (printable ASCII, sent quoted). CM_EINVAL for any other (nothing
   sent); CM_EPERM without X-GM-EXT-1 or when the server refuses. */
int ib_store_labels(struct ib_session *s, uint32_t uid, const char *const *add, size_t nadd,
                    const char *const *remove, size_t nremove, struct cm_err *err)
    __attribute__((warn_unused_result));

/* ib_store_labels on message uid of folder imap_name (wire name, printable
   ASCII), which needs no selection: in one round trip SELECT
   (ib_session_use_send: none when it is so selected and synced) + UID
   STORE +X-GM-LABELS + UID STORE -X-GM-LABELS (each only when non-empty)
   + UID FETCH uid (want) when want is not 0, all written at once (after an
   APPEND or a MOVE, whose answers named the UID). *stored_r: the SELECT
   and every STORE said OK. *msgs_r / *n_r (may be NULL when want is 0): the
   FETCH's answer, empty when it failed (the FETCH is no failure of the
   call; its data may come before or after the STOREs took effect, RFC 3501
   §5.5). Returns 0, the SELECT's error (CM_ENOENT / CM_EUPSTREAM: nothing
   stored), CM_EPERM for a refused STORE, CM_EINVAL / CM_EPERM as
   ib_store_labels before anything is sent; the session is usable unless
   broken. Leaves imap_name selected read-write when the SELECT held. */
struct ib_msg;
int ib_store_labels_in(struct ib_session *s, const char *imap_name, uint32_t uid,
                       const char *const *add, size_t nadd, const char *const *remove,
                       size_t nremove, unsigned int want, struct ib_msg **msgs_r, size_t *n_r,
                       bool *stored_r, struct cm_err *err) __attribute__((warn_unused_result));

/* Move uid to dest (wire name): UID MOVE when offered, else UID COPY +
   UID STORE \Deleted + UID EXPUNGE of that one UID (needs UIDPLUS; without
   it CM_EPERM). *dest_uidvalidity_r and *dest_uid_r come from COPYUID
   (0 when the server did not say). */
int ib_store_move(struct ib_session *s, uint32_t uid, const char *dest, uint32_t *dest_uidvalidity_r,
                  uint32_t *dest_uid_r, struct cm_err *err) __attribute__((warn_unused_result));

/* Remove uid for good: UID STORE \Deleted + UID EXPUNGE uid. CM_EPERM
   without UIDPLUS (nothing sent). */
int ib_store_expunge(struct ib_session *s, uint32_t uid, struct cm_err *err)
    __attribute__((warn_unused_result));

#endif
