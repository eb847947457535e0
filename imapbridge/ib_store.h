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
