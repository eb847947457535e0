/* rt_ring.c - event ids, recent-event ring, snapshot diff. */
#include "realtime/rt_ring.h"

#include <stdlib.h>
#include <string.h>

#include "common/cm_err.h"

const char *rt_reason_name(enum rt_reason r)
{
    switch (r) {
    case RT_REASON_NEW: return "new";
    case RT_REASON_EXPUNGE: return "expunge";
    case RT_REASON_FLAGS: return "flags";
    case RT_REASON_RESYNC: return "resync";
    default: return "none";
    }
}

enum rt_reason rt_snap_reason(const struct rt_snap *old, const struct rt_snap *now,
                              const struct rt_seen *seen)
{
    if (old->uidvalidity != now->uidvalidity)
        return RT_REASON_RESYNC;
    if (now->uidnext > old->uidnext)
        return RT_REASON_NEW;
    if (now->exists < old->exists || (seen != NULL && seen->expunge))
        return RT_REASON_EXPUNGE;
    if (now->highestmodseq != old->highestmodseq || now->unseen != old->unseen ||
        (seen != NULL && seen->flags))
        return RT_REASON_FLAGS;
    if (now->uidnext < old->uidnext || now->exists != old->exists)
        return RT_REASON_RESYNC; /* cannot happen with a sane server */
    return RT_REASON_NONE;
}

int rt_ring_init(struct rt_ring *r, size_t cap, uint64_t first_id)
{
    memset(r, 0, sizeof(*r));
    r->slots = calloc(cap ? cap : 1, sizeof(*r->slots));
    if (r->slots == NULL)
        return CM_ENOMEM;
    r->cap = cap ? cap : 1;
    r->next_id = first_id ? first_id : 1;
    return 0;
}

void rt_ring_fini(struct rt_ring *r)
{
    for (size_t i = 0; r->slots != NULL && i < r->cap; i++)
    {
        free(r->slots[i].mailbox);
        free(r->slots[i].states);
    }
    free(r->slots);
    memset(r, 0, sizeof(*r));
}

const struct rt_ring_event *rt_ring_push(struct rt_ring *r, const char *mailbox,
                                         const struct rt_snap *snap, enum rt_reason reason,
                                         const char *states)
{
    char *copy = strdup(mailbox), *st = states != NULL ? strdup(states) : NULL;
    struct rt_ring_event *e;

    if (copy == NULL || (states != NULL && st == NULL)) {
        free(copy);
        free(st);
        return NULL;
    }
    if (r->count == r->cap) { /* full: the new event takes the oldest slot */
        e = &r->slots[r->head];
        r->head = (r->head + 1) % r->cap;
    } else {
        e = &r->slots[(r->head + r->count) % r->cap];
        r->count++;
    }
    free(e->mailbox);
    free(e->states);
    e->mailbox = copy;
    e->states = st;
    e->id = r->next_id++;
    e->snap = snap != NULL ? *snap : (struct rt_snap){ 0 };
    e->reason = reason;
    return e;
}

bool rt_ring_covers(const struct rt_ring *r, uint64_t last_id, size_t *start_r)
{
    uint64_t oldest = r->next_id - r->count; /* id of the oldest (or next) event */

    if (last_id + 1 < oldest || last_id >= r->next_id)
        return false;
    *start_r = (size_t)(last_id + 1 - oldest);
    return true;
}

const struct rt_ring_event *rt_ring_at(const struct rt_ring *r, size_t i)
{
    return i < r->count ? &r->slots[(r->head + i) % r->cap] : NULL;
}

uint64_t rt_ring_last_id(const struct rt_ring *r)
{
    return r->next_id - 1;
}
