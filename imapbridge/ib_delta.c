/* ib_delta.c - the CONDSTORE/QRESYNC delta of one folder (ib_delta.h). */
#include "imapbridge/ib_delta.h"

#include <libetpan/libetpan.h>
#include <stdlib.h>
#include <string.h>

#include "imapbridge/ib_mailbox.h"
#include "imapbridge/ib_session.h"
#include "imapbridge/ib_state.h"

struct ib_delta_state ib_delta_state_of_folder(const struct ib_folder *f)
{
    return (struct ib_delta_state){ f->uidvalidity, f->highestmodseq, f->uidnext, f->total };
}

struct ib_delta_state ib_delta_state_of_entry(const struct ib_state_entry *e)
{
    return (struct ib_delta_state){ e->uidvalidity, e->modseq, e->uidnext, e->exists };
}

bool ib_delta_state_equal(const struct ib_delta_state *a, const struct ib_delta_state *b)
{
    return a->uidvalidity == b->uidvalidity && a->highestmodseq == b->highestmodseq &&
           a->uidnext == b->uidnext && a->exists == b->exists;
}

bool ib_delta_needs_server(const struct ib_delta_state *old, const struct ib_delta_state *now)
{
    return old->uidvalidity == now->uidvalidity && old->highestmodseq != 0 &&
           now->highestmodseq != 0 && !ib_delta_state_equal(old, now);
}

/* Is uid in a UID set as VANISHED reports it (NULL = empty)? */
static bool set_has(const struct mailimap_set *set, uint32_t uid)
{
    for (clistiter *it = set ? clist_begin(set->set_list) : NULL; it; it = clist_next(it)) {
        const struct mailimap_set_item *r = clist_content(it);

        if (uid >= r->set_first && (r->set_last == 0 || uid <= r->set_last))
            return true;
    }
    return false;
}

/* created / updated from the changes (ascending UID), dropping vanished.
   The entries' flags move into d (or are freed); the caller frees only
   the array ch. */
static int split(struct ib_delta *d, struct ib_change *ch, size_t n,
                 const struct mailimap_set *van, uint32_t old_uidnext, struct cm_err *err)
{
    d->created = calloc(n + 1, sizeof(*d->created));
    d->updated = calloc(n + 1, sizeof(*d->updated));
    if (d->created == NULL || d->updated == NULL) {
        for (size_t i = 0; i < n; i++)
            ib_changes_free_flags(&ch[i]);
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        if (set_has(van, ch[i].uid)) {
            ib_changes_free_flags(&ch[i]); /* the rest move into d */
            continue;
        }
        if (ch[i].uid >= old_uidnext)
            d->created[d->ncreated++] = ch[i];
        else
            d->updated[d->nupdated++] = ch[i];
    }
    return 0;
}

/* The UIDs of a VANISHED set that existed at a state whose UIDNEXT was
   old_uidnext (higher ones arrived and left since). */
static int expand_vanished(struct ib_delta *d, const struct mailimap_set *van,
                           uint32_t old_uidnext, struct cm_err *err)
{
    size_t cap = 0;

    for (clistiter *it = van ? clist_begin(van->set_list) : NULL; it; it = clist_next(it)) {
        const struct mailimap_set_item *r = clist_content(it);
        uint32_t last = r->set_last == 0 || r->set_last >= old_uidnext ? old_uidnext - 1
                                                                        : r->set_last;

        for (uint32_t u = r->set_first; u <= last && u != 0; u++) {
            if (d->nvanished == cap) {
                size_t ncap = cap ? cap * 2 : 64;
                uint32_t *v = realloc(d->vanished, ncap * sizeof(*v));

                if (v == NULL)
                    return cm_err_set(err, CM_ENOMEM, "out of memory");
                d->vanished = v;
                cap = ncap;
            }
            d->vanished[d->nvanished++] = u;
        }
    }
    return 0;
}

/* The first half of the rule, without I/O: fills d for the answers that
   need no server, and says whether the CHANGEDSINCE answer is needed. */
static bool rule_needs_fetch(const struct ib_delta_state *old, const struct ib_delta_state *now,
                             struct ib_delta *d)
{
    memset(d, 0, sizeof(*d));
    d->vanished_known = true;
    if (old->uidvalidity != now->uidvalidity) {
        d->kind = IB_DELTA_UIDVALIDITY;
        return false;
    }
    if (old->highestmodseq == 0 || now->highestmodseq == 0) {
        d->kind = IB_DELTA_NO_CONDSTORE;
        return false;
    }
    return !ib_delta_state_equal(old, now);
}

/* The second half: the CHANGEDSINCE answer (ch, van: as
   ib_fetch_changed_since gives them; freed here) into d. */
static int rule_apply(const struct ib_delta_state *old, const struct ib_delta_state *now,
                      struct ib_change *ch, size_t n, struct mailimap_set *van,
                      bool vanished_known, struct ib_delta *d, struct cm_err *err)
{
    int rc;

    d->vanished_known = vanished_known;
    rc = split(d, ch, n, van, old->uidnext, err);
    if (rc == 0)
        rc = expand_vanished(d, van, old->uidnext, err);
    if (rc == 0 && !d->vanished_known)
        d->expunges_unknowable = (uint64_t)now->exists != (uint64_t)old->exists + d->ncreated;
    else if (rc == 0) /* fewer messages than the answer accounts for: an
                         expunge it did not name (a server's bug; asked
                         for 1:*, Cyrus 3.6 rightly left out the folder's
                         highest UID once it was gone, see
                         ib_fetch_changed_since_send). Never a guess. More
                         is fine: VANISHED (EARLIER) may name UIDs gone
                         long ago. */
        d->expunges_unknowable = (int64_t)now->exists < (int64_t)old->exists +
                                                           (int64_t)d->ncreated -
                                                           (int64_t)d->nvanished;
    if (rc < 0)
        ib_delta_fini(d);
    free(ch); /* the entries' flags belong to d now */
    if (van != NULL)
        mailimap_set_free(van);
    return rc;
}

int ib_delta_since(struct ib_session *s, const struct ib_delta_state *old,
                   const struct ib_delta_state *now, struct ib_delta *d, struct cm_err *err)
{
    struct ib_change *ch = NULL;
    struct mailimap_set *van = NULL;
    bool known = false;
    size_t n = 0;
    int rc;

    if (!rule_needs_fetch(old, now, d))
        return 0;
    rc = ib_fetch_changed_since(s, old->highestmodseq, &ch, &n, &van, &known, err);
    if (rc < 0) {
        ib_delta_fini(d);
        return rc;
    }
    return rule_apply(old, now, ch, n, van, known, d, err);
}

/* The CHANGEDSINCE FETCH written behind the EXAMINE (ib_open_extra). */
struct open_delta {
    uint64_t modseq;
    struct ib_change *ch;
    size_t n;
    struct mailimap_set *van;
    bool known;
};

static void open_delta_fini(struct open_delta *od)
{
    ib_changes_free(od->ch, od->n);
    od->ch = NULL;
    od->n = 0;
    if (od->van != NULL)
        mailimap_set_free(od->van);
    od->van = NULL;
}

static int delta_send(struct ib_session *s, void *ctx, int *tag_r, struct cm_err *err)
{
    struct open_delta *od = ctx;

    return ib_fetch_changed_since_send(s, od->modseq, tag_r, err);
}

static int delta_recv(struct ib_session *s, void *ctx, int tag, bool keep, struct cm_err *err)
{
    struct open_delta *od = ctx;
    int rc = ib_fetch_changed_since_recv(s, tag, &od->ch, &od->n, &od->van, &od->known, err);

    if (!keep || rc < 0)
        open_delta_fini(od);
    return rc;
}

bool ib_delta_can_pipeline(struct ib_session *s, const struct ib_delta_state *old)
{
    return old->highestmodseq != 0 && (ib_session_caps(s) & IB_CAP_CONDSTORE) != 0;
}

int ib_delta_open_since(struct ib_session *s, const char *path,
                        const struct ib_delta_state *old, struct ib_folder_list *out,
                        struct ib_delta *d, struct cm_err *err)
{
    struct open_delta od = { .modseq = old->highestmodseq };
    struct ib_open_extra x = { delta_send, delta_recv, &od, 0 };
    struct ib_delta_state now;
    int rc;

    memset(d, 0, sizeof(*d));
    if (!ib_delta_can_pipeline(s, old))
        return cm_err_set(err, CM_EINVAL, "imap: no CONDSTORE delta to pipeline");
    rc = ib_mailbox_open_with(s, path, true, &x, out, err);
    if (rc < 0) {
        open_delta_fini(&od);
        return rc;
    }
    now = ib_delta_state_of_folder(&out->items[0]);
    /* The answer speaks of old's UIDs only when the folder kept its
       UIDVALIDITY, and is needed only when the states differ: the rule
       decides, as in ib_delta_since; otherwise it is dropped. */
    if (!rule_needs_fetch(old, &now, d)) {
        open_delta_fini(&od);
        return 0;
    }
    rc = rule_apply(old, &now, od.ch, od.n, od.van, od.known, d, err);
    if (rc < 0)
        ib_folder_list_fini(out);
    return rc;
}

void ib_delta_fini(struct ib_delta *d)
{
    ib_changes_free(d->created, d->ncreated);
    ib_changes_free(d->updated, d->nupdated);
    free(d->vanished);
    memset(d, 0, sizeof(*d));
}
