/* gw_jmap_email_guarded.h - Email/set keyword updates in one upstream
 * round trip (issue 19): listing before, SELECT, the STOREs guarded by
 * each message's GUID, UNSELECT, listing after, in one write
 * (ib_guarded.h).
 *
 * Taken only when it is plainly safe: no create, no destroy, no
 * ifInState (it needs the state before anything is written), at most
 * IB_GUARDED_MAX updates, all the same patch of "keywords/<kw>": true |
 * null only (a whole "keywords" object must keep \Deleted, which is no
 * keyword: the classic path reads the flags first), every id a GUID id
 * whose place the location cache knows, all in one folder of the folder
 * map, and a server with SEARCHRES and a GUID search key. Otherwise
 * nothing is done here.
 *
 * An email whose guard did not hold (the cached place is stale) was not
 * written; it is handed back for the classic path (locate anew) and its
 * cached place forgotten.
 *
 * Ownership: gw_jmap_email_guarded_fini frees what g holds.
 * Threads: the request's worker.
 */
#ifndef GW_JMAP_EMAIL_GUARDED_H
#define GW_JMAP_EMAIL_GUARDED_H

#include <jansson.h>
#include <stdbool.h>

#include "common/cm_err.h"
#include "imapbridge/ib_mailbox.h"

struct gw_jcall;
struct ib_session;

struct gw_guarded_set {
    bool ran;                     /* the write ran: the request's folders are the
                                     listing before it (the old state) */
    json_t *rest;                 /* when ran: the updates left for the classic path */
    struct ib_folder_list after;  /* when ran: the listing after it (the new state
                                     when rest is empty) */
};

/* Try the one-write path for c's Email/set arguments on session s; the
   emails written go into updated (id: null). 0 (g->ran tells whether it
   ran) or an error of the whole call (the session broke). */
int gw_jmap_email_guarded(struct gw_jcall *c, struct ib_session *s, json_t *updated,
                          struct gw_guarded_set *g, struct cm_err *err)
    __attribute__((warn_unused_result));
void gw_jmap_email_guarded_fini(struct gw_guarded_set *g);

#endif
