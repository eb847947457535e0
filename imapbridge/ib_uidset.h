/* ib_uidset.h - UID sets for ib_fetch_msgs, ib_search and the search-key
 * builders, without libetpan outside imapbridge/: a set is libetpan's
 * struct mailimap_set, opaque (only declared) to every other folder, made
 * and freed here.
 *
 * Ownership: each constructor returns a new set (NULL when out of memory)
 * that the caller frees with ib_uidset_free, unless it hands it to a
 * function documented to take it (ib_search_key_uids).
 * Threads: pure; any thread.
 */
#ifndef IB_UIDSET_H
#define IB_UIDSET_H

#include <stddef.h>
#include <stdint.h>

struct mailimap_set;

/* uid. */
struct mailimap_set *ib_uidset_single(uint32_t uid);

/* first:last; last 0 means "*". */
struct mailimap_set *ib_uidset_interval(uint32_t first, uint32_t last);

/* uids[0..n) (n may be 0: the empty set); runs of consecutive ascending
   UIDs become ranges ("1:3,7"), other orders are kept as given. */
struct mailimap_set *ib_uidset_of(const uint32_t *uids, size_t n);

/* NULL is a no-op. */
void ib_uidset_free(struct mailimap_set *set);

#endif
