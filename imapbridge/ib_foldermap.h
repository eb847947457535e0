/* ib_foldermap.h - the per-account folder map, kept per instance as a
 * cache (ARCHITECTURE §4): each account's folders (id <-> wire name <->
 * role <-> subscribed, with the server's folder id and the delimiter) as
 * the last listing of that account on this instance showed them. It lets
 * a request that touches one folder address it by its JMAP id before any
 * listing, and pipeline the folder's commands with the listing that
 * validates it.
 *
 * Never trusted: counts are not kept (a copy has has_status false and
 * zero counts), and every use must be confirmed by an answer the server
 * gives in the same request (the listing written in the same round trip,
 * or the STATUS of that folder), else done the classic way. A second
 * instance, or this one after an eviction, simply misses.
 *
 * Bounded: at most max_accounts entries; an entry stored (by a
 * listing) more than ttl_ms ago is dropped on lookup; when full, the least recently used entry goes.
 *
 * Ownership: the map owns its copies; ib_foldermap_get hands out a new
 * deep copy (ib_folder_list_fini frees it). Threads: every function may
 * be called from any thread (one mutex, never held during I/O).
 */
#ifndef IB_FOLDERMAP_H
#define IB_FOLDERMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cm_err.h"
#include "imapbridge/ib_mailbox.h"

struct ib_foldermap;

/* A new, empty map. NULL on OOM. */
struct ib_foldermap *ib_foldermap_new(size_t max_accounts, uint64_t ttl_ms);
/* Free the map and every copy; sets *mp to NULL. NULL is fine. */
void ib_foldermap_free(struct ib_foldermap **mp);

/* Remember the folders of account (a listing made now_ms) in place of
   what was kept, without their counts. 0 or CM_ENOMEM (the old entry is
   then dropped: a cache never keeps what it could not confirm). */
int ib_foldermap_store(struct ib_foldermap *m, const char *account,
                       const struct ib_folder_list *l, uint64_t now_ms)
    __attribute__((warn_unused_result));

/* A copy of account's folders into *out (counts zero, has_status false).
   CM_ENOENT on a miss or an entry older than the ttl (*out empty), or
   CM_ENOMEM. A hit counts as a use for the LRU. */
int ib_foldermap_get(struct ib_foldermap *m, const char *account, uint64_t now_ms,
                     struct ib_folder_list *out) __attribute__((warn_unused_result));

/* Drop account's entry (after a change to its folders). */
void ib_foldermap_forget(struct ib_foldermap *m, const char *account);

/* Entries kept (tests, metrics). */
size_t ib_foldermap_count(struct ib_foldermap *m);

/* Pure: does the fresh listing confirm what the cache said of folder
   cached (same id at the same wire name, still selectable)? */
bool ib_foldermap_confirms(const struct ib_folder *cached, const struct ib_folder_list *fresh);

#endif
