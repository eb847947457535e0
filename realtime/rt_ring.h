/* rt_ring.h - per-account event ids, the ring of recent events, and the
 * pure "what changed" rule of a folder snapshot (ARCHITECTURE §5).
 *
 * Ids are contiguous and monotonically increasing per account: the ring
 * holds the last cap events, ids [oldest .. next_id - 1]. A subscriber that
 * last saw id n is covered when every id after n is still in the ring
 * (n >= oldest - 1 and n <= next_id - 1); otherwise it must resync.
 *
 * Ownership: the ring is embedded by its owner (init/fini) and owns copies
 * of the mailbox names. Threads: none; the caller (the hub) locks.
 */
#ifndef RT_RING_H
#define RT_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rt_reason {
    RT_REASON_NONE = 0,
    RT_REASON_NEW,      /* UIDNEXT grew: new mail */
    RT_REASON_EXPUNGE,  /* messages went away */
    RT_REASON_FLAGS,    /* flags (or other metadata: MODSEQ) changed */
    RT_REASON_RESYNC    /* UIDVALIDITY changed, or we cannot tell: start over */
};

/* "new", "expunge", "flags", "resync" (static; "none" for NONE). */
const char *rt_reason_name(enum rt_reason r);

/* A folder at one moment (from EXAMINE or STATUS). */
struct rt_snap {
    uint32_t uidvalidity, uidnext, exists;
    uint64_t highestmodseq; /* 0 without CONDSTORE */
    uint32_t unseen;        /* STATUS UNSEEN */
};

/* What the untagged responses of one IDLE period showed. */
struct rt_seen {
    bool expunge;   /* EXPUNGE or VANISHED */
    bool flags;     /* FETCH (FLAGS ...) */
};

/* The reason to publish going from old to now, given what was seen:
   RESYNC if UIDVALIDITY differs, else NEW if UIDNEXT grew, else EXPUNGE if
   EXISTS fell or an expunge was seen, else FLAGS if HIGHESTMODSEQ or UNSEEN
   changed or a FETCH was seen, else NONE. */
enum rt_reason rt_snap_reason(const struct rt_snap *old, const struct rt_snap *now,
                              const struct rt_seen *seen);

struct rt_ring_event {
    uint64_t id;
    char *mailbox;          /* owned UTF-8 path; "" for an account-wide event
                               (a JMAP StateChange) */
    struct rt_snap snap;    /* the folder after the change */
    enum rt_reason reason;
    char *states;           /* owned JSON {"Email":..,"Mailbox":..,"Thread":..} or NULL */
};

struct rt_ring {
    struct rt_ring_event *slots;
    size_t cap, count, head;  /* head: slot of the oldest event */
    uint64_t next_id;         /* id the next push gets (>= 1) */
};

/* cap >= 1; first_id >= 1 is the id of the first event. Returns 0 or
   CM_ENOMEM. */
int rt_ring_init(struct rt_ring *r, size_t cap, uint64_t first_id)
    __attribute__((warn_unused_result));
void rt_ring_fini(struct rt_ring *r);

/* Append an event with the next id, dropping the oldest when full.
   Returns the stored event (borrowed until the next push or fini), or NULL
   on OOM (no id is used then). mailbox is copied; snap may be NULL (an
   account-wide event: all zero). */
const struct rt_ring_event *rt_ring_push(struct rt_ring *r, const char *mailbox,
                                         const struct rt_snap *snap, enum rt_reason reason,
                                         const char *states);

/* Is every event after last_id still in the ring? On true, *start_r is the
   ring index (0 = oldest) of the first event to replay (== count when
   nothing is newer). */
bool rt_ring_covers(const struct rt_ring *r, uint64_t last_id, size_t *start_r);

/* The event at ring index i (0 = oldest, i < count); borrowed. */
const struct rt_ring_event *rt_ring_at(const struct rt_ring *r, size_t i);

/* Id of the newest event, or next_id - 1 when empty (0 if none ever). */
uint64_t rt_ring_last_id(const struct rt_ring *r);

#endif
