/* ib_delta.h - what changed in a folder since an old state of it
 * (ARCHITECTURE §4): the one CONDSTORE/QRESYNC rule behind the REST
 * `changes` route and JMAP Email/changes. A state is the folder's
 * (UIDVALIDITY, HIGHESTMODSEQ, UIDNEXT, EXISTS); one
 * UID FETCH 1:4294967295 (FLAGS) (CHANGEDSINCE m [VANISHED]) tells what
 * happened (every UID: "1:*" would end at the highest UID left),
 * in O(changes): UIDs >= the old UIDNEXT arrived, the others changed
 * flags, VANISHED ones (QRESYNC) were expunged. With CONDSTORE alone,
 * expunges show only in the counts: when EXISTS does not add up they are
 * not knowable, and the delta says so instead of guessing. Callers keep
 * their own cut policy (how many changes one answer carries).
 *
 * Ownership: ib_delta_since fills a caller's struct ib_delta whose arrays
 * it owns; ib_delta_fini frees them (also after an error, and twice).
 * Threads: on the caller's thread, with the session checked out.
 */
#ifndef IB_DELTA_H
#define IB_DELTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cm_err.h"
#include "imapbridge/ib_fetch.h"

struct ib_session;

/* A folder's state as a client last saw it, or as STATUS/SELECT says now. */
struct ib_delta_state {
    uint32_t uidvalidity;
    uint64_t highestmodseq; /* 0: the server had no CONDSTORE */
    uint32_t uidnext;
    uint32_t exists;
};

enum ib_delta_kind {
    IB_DELTA_CHANGES = 0,  /* the lists below say what changed (maybe nothing) */
    IB_DELTA_UIDVALIDITY,  /* UIDVALIDITY changed: the old UIDs name nothing */
    IB_DELTA_NO_CONDSTORE  /* a HIGHESTMODSEQ is 0: flag changes cannot be told */
};

struct ib_delta {
    enum ib_delta_kind kind;
    struct ib_change *created;  /* UID >= the old UIDNEXT, ascending UID */
    size_t ncreated;
    struct ib_change *updated;  /* UID < the old UIDNEXT: flags changed; ascending UID */
    size_t nupdated;
    uint32_t *vanished;         /* expunged UIDs < the old UIDNEXT (QRESYNC), in
                                   the order of the server's set */
    size_t nvanished;
    bool vanished_known;        /* vanished is complete (QRESYNC, or nothing asked) */
    bool expunges_unknowable;   /* which messages went cannot be told: no QRESYNC
                                   and the counts show expunges, or QRESYNC
                                   named fewer than the counts show */
};

struct ib_folder;
struct ib_state_entry;

/* The state a STATUS listing says (f->has_status) / a state token holds. */
struct ib_delta_state ib_delta_state_of_folder(const struct ib_folder *f);
struct ib_delta_state ib_delta_state_of_entry(const struct ib_state_entry *e);

/* Are the two states the same vector? Pure. (Without CONDSTORE equal
   vectors say only that the counts did not move.) */
bool ib_delta_state_equal(const struct ib_delta_state *a, const struct ib_delta_state *b);

/* Will ib_delta_since(old, now) ask the server (so that the folder must be
   selected first)? Pure: lets a caller select a folder only when needed. */
bool ib_delta_needs_server(const struct ib_delta_state *old, const struct ib_delta_state *now);

/* What changed in the selected folder between old and now (now: the
   folder's current STATUS or SELECT values). In this order, without I/O:
   another UIDVALIDITY -> IB_DELTA_UIDVALIDITY; a HIGHESTMODSEQ of 0 on
   either side -> IB_DELTA_NO_CONDSTORE; equal states -> IB_DELTA_CHANGES
   with empty lists. Otherwise one UID FETCH ... CHANGEDSINCE [VANISHED]
   fills the lists (a change the server also reports VANISHED is dropped)
   and sets expunges_unknowable when the counts show an expunge it does
   not name: without QRESYNC when now.exists is not old.exists + ncreated,
   with QRESYNC when now.exists is below old.exists + ncreated - nvanished.
   On error d holds nothing. */
int ib_delta_since(struct ib_session *s, const struct ib_delta_state *old,
                   const struct ib_delta_state *now, struct ib_delta *d, struct cm_err *err)
    __attribute__((warn_unused_result));

/* Can ib_delta_open_since run for old (a HIGHESTMODSEQ, and a server with
   CONDSTORE)? */
bool ib_delta_can_pipeline(struct ib_session *s, const struct ib_delta_state *old);

/* ib_mailbox_open(path, read-only) and ib_delta_since(old, the folder as
   the EXAMINE finds it) in one round trip: the UID FETCH ... CHANGEDSINCE
   old.highestmodseq [VANISHED] is written in the same write as EXAMINE +
   STATUS, before the folder's state is known. Its answer is used only as
   ib_delta_since would ask for it (same UIDVALIDITY, CONDSTORE on both
   sides, states differ); otherwise d says what ib_delta_since says
   without it. On success *out holds the folder (as ib_mailbox_open) and d
   the delta; on error both are empty and the error is ib_mailbox_open's
   (the caller may fall back to listing) or the FETCH's. Needs
   ib_delta_can_pipeline (else CM_EINVAL, nothing sent). */
struct ib_folder_list;
int ib_delta_open_since(struct ib_session *s, const char *path,
                        const struct ib_delta_state *old, struct ib_folder_list *out,
                        struct ib_delta *d, struct cm_err *err)
    __attribute__((warn_unused_result));

void ib_delta_fini(struct ib_delta *d);

#endif
