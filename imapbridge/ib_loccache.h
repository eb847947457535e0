/* ib_loccache.h - the per-instance location cache of ARCHITECTURE §4:
 * where the messages named by GUID email ids (ib_ids.h) were last seen,
 * (account, email id) -> (folder key, UIDVALIDITY, UID), and the other way
 * round, (account, location) -> email id.
 *
 * Everything that lists messages fills it; nothing trusts it blindly. A
 * forward entry may be stale (the message moved elsewhere): the caller
 * finds out when the UID is gone, calls ib_loccache_forget and searches.
 * A reverse entry never goes stale: a UID is never reused within a
 * UIDVALIDITY, so "this location held that id" stays true after the
 * message moved on; Email/changes uses it to name expunged messages.
 * The cache is bounded (oldest entries go first) and disposable: any
 * instance answers correctly with an empty one, only slower.
 *
 * Ownership: the cache copies the strings it keeps.
 * Threads: every function is safe from any thread (one mutex).
 */
#ifndef IB_LOCCACHE_H
#define IB_LOCCACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "imapbridge/ib_ids.h"

struct ib_loccache;

/* A cache of at most max_entries (id, location) pairs. NULL on OOM. */
struct ib_loccache *ib_loccache_new(size_t max_entries);
/* Frees the cache and sets *c to NULL (NULL is fine). */
void ib_loccache_free(struct ib_loccache **c);

/* account's email id was seen at loc (both directions). Silently does
   nothing on OOM or for strings that are too long (it is only a cache). */
void ib_loccache_put(struct ib_loccache *c, const char *account, const char *id,
                     const struct ib_email_loc *loc);

/* Where account's id was last seen (not forgotten). */
bool ib_loccache_find(struct ib_loccache *c, const char *account, const char *id,
                      struct ib_email_loc *loc_r);

/* The id that account's message at loc had (folder key compared in full),
   into id_r (IB_IDS_EMAIL_MAX + 1 bytes). */
bool ib_loccache_id_at(struct ib_loccache *c, const char *account, const struct ib_email_loc *loc,
                       char *id_r);

/* The forward entries of account's id are stale (the message is not
   where they say); reverse entries stay. */
void ib_loccache_forget(struct ib_loccache *c, const char *account, const char *id);

/* Number of entries held (for tests and metrics). */
size_t ib_loccache_count(struct ib_loccache *c);

#endif
