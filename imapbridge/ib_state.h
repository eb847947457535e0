/* ib_state.h - JMAP state strings and REST cursors as self-describing,
 * authenticated tokens (ARCHITECTURE §4): the token *is* the per-folder
 * vector, so any instance can answer "what changed since" from it.
 *
 * An entry describes one folder at one moment: a 64-bit key naming the
 * folder (ib_state_folder_key of its mailbox id), UIDVALIDITY,
 * HIGHESTMODSEQ (0 without CONDSTORE), UIDNEXT and EXISTS. A vector is
 * varint-packed, deflated, and sealed with cm_token under the state key,
 * so a forged or altered token is refused.
 *
 * Threads: pure; safe from any thread.
 */
#ifndef IB_STATE_H
#define IB_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "common/cm_err.h"

enum ib_state_kind {
    IB_STATE_EMAIL = 1,   /* Email/Thread state: every folder of the account */
    IB_STATE_CURSOR = 2,  /* REST delta cursor: one folder */
    IB_STATE_QUERY = 3    /* Email/query queryState */
};

#define IB_STATE_MAX_ENTRIES 4096

struct ib_state_entry {
    uint64_t folder_key;
    uint32_t uidvalidity;
    uint64_t modseq;
    uint32_t uidnext;
    uint32_t exists;
};

/* A stable 64-bit key for a mailbox id (first 8 bytes of its SHA-256). */
uint64_t ib_state_folder_key(const char *mailbox_id);

/* Encode n entries (sorted by folder_key inside; the input is not
   modified). Returns a malloc'd token, or NULL on OOM / too many entries. */
char *ib_state_encode(const unsigned char key[32], enum ib_state_kind kind,
                      const struct ib_state_entry *entries, size_t n);

/* Decode a token. *entries_r is malloc'd (sorted by folder_key) with *n_r
   entries. CM_EINVAL for anything malformed, forged, or of another kind. */
int ib_state_decode(const unsigned char key[32], enum ib_state_kind kind, const char *text,
                    struct ib_state_entry **entries_r, size_t *n_r)
    __attribute__((warn_unused_result));

/* The entry for folder_key in a sorted vector, or NULL. */
const struct ib_state_entry *ib_state_find(const struct ib_state_entry *entries, size_t n,
                                           uint64_t folder_key);

#endif
