/* ib_sortorder.h - the JMAP Mailbox sortOrder of every folder, kept in one
 * server annotation (RFC 5464 METADATA on mailbox "", entry
 * IB_SORTORDER_ENTRY) as "id=n,id=n,..." (mailbox ids, decimal values; a
 * folder not named has 0). One entry for all folders, so a listing reads it
 * with one GETMETADATA written in the same write as its LIST-STATUS: no
 * round trip of its own.
 *
 * A folder's id changes when the server has no folder id of its own and
 * the folder is renamed (ib_mailbox.h): its sortOrder is then lost. Two
 * clients writing orders at the same moment: the last write wins (the
 * whole entry is rewritten).
 *
 * Threads: the session's (send/recv/store); the rest is pure.
 */
#ifndef IB_SORTORDER_H
#define IB_SORTORDER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/cm_err.h"

struct ib_session;
struct ib_folder_list;

#define IB_SORTORDER_ENTRY "/private/vendor/jmapgate/sortorder"
/* JMAP UnsignedInt (RFC 8620 §1.3): 0 <= n <= 2^53 - 1 */
#define IB_SORTORDER_MAX 9007199254740991ULL

/* Can this server keep sortOrders (it offers METADATA)? */
bool ib_sortorder_supported(struct ib_session *s);

/* Write the GETMETADATA of the entry, unflushed. *tag_r 0 (and 0
   returned) when the server has no METADATA: nothing written. */
int ib_sortorder_send(struct ib_session *s, int *tag_r, struct cm_err *err)
    __attribute__((warn_unused_result));

/* Read its answer (tag from _send, non-zero) and apply it to l. A server
   that refuses the GETMETADATA leaves every order 0: not an error (only a
   broken session or OOM is). */
int ib_sortorder_recv(struct ib_session *s, int tag, struct ib_folder_list *l,
                      struct cm_err *err) __attribute__((warn_unused_result));

/* Both halves in one round trip of their own (listings that cannot
   pipeline it). 0 without METADATA. */
int ib_sortorder_load(struct ib_session *s, struct ib_folder_list *l, struct cm_err *err)
    __attribute__((warn_unused_result));

/* Write the orders of l (its folders' sort_order) as the entry (removed
   when all are 0). CM_EPERM without METADATA or when refused, CM_ELIMIT
   when too many folders have one. */
int ib_sortorder_store(struct ib_session *s, const struct ib_folder_list *l, struct cm_err *err)
    __attribute__((warn_unused_result));

/* Pure (unit-tested). Set each folder's sort_order from value (NULL: all
   0); malformed or unknown pairs are skipped. */
void ib_sortorder_apply(struct ib_folder_list *l, const char *value);
/* The entry's value for l ("" when every order is 0); malloc'd, NULL on
   OOM. */
char *ib_sortorder_encode(const struct ib_folder_list *l);

#endif
