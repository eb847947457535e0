/* ib_sortwin.h - one window of a server-sorted search and the GUIDs of
 * its messages, in one write (issue 19: a cold Email/query needs the ids
 * of its window before Email/get can fetch them):
 *
 *   UID SORT RETURN (SAVE PARTIAL a:b) (<keys>) US-ASCII <search>  (RFC 5267, 5182)
 *   UID FETCH $ (UID <key>)            <key>: EMAILID or X-GUID
 *
 * SAVE with PARTIAL alone saves only the window (Dovecot 2.3.19; with
 * COUNT or ALL beside it, it saves every match, so neither is asked).
 * Dovecot answers the FETCH before the SORT's tagged OK, and libetpan's
 * readers cannot take an ESEARCH interleaved with FETCH data: the answers
 * are read here line by line (ib_lines_read_all), in any order.
 *
 * Needs SORT, ESORT, CONTEXT=SEARCH (PARTIAL), SEARCHRES and a message
 * GUID (ib_sortwin_supported). Internal to imapbridge.
 * Ownership: ib_sortwin_fini frees what a result holds. Threads: the
 * caller's, with the session checked out and the folder selected (or
 * selected by a command written in front).
 */
#ifndef IB_SORTWIN_H
#define IB_SORTWIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cm_err.h"

struct ib_session;
struct mailimap_sort_key;
struct mailimap_search_key;

#define IB_SORTWIN_MAX 1000   /* messages in one window */

struct ib_sortwin {
    uint32_t *uids;   /* the window in the server's sort order, malloc'd */
    char **guids;     /* guids[i]: uids[i]'s GUID, malloc'd; NULL when the
                         FETCH did not show it (expunged meanwhile) */
    size_t n;
};

/* The two commands as they go out (tags_r[0] the SORT, tags_r[1] the
   FETCH); nothing is flushed. first, count: the window's 1-based first
   position and size (1 <= count <= IB_SORTWIN_MAX). key NULL = ALL; it
   must need no CHARSET UTF-8. */
struct ib_sortwin_cmd {
    struct mailimap_sort_key *sort_key;
    struct mailimap_search_key *key;
    uint32_t first, count;
    int tags[2];
};

bool ib_sortwin_supported(struct ib_session *s);
int ib_sortwin_send(struct ib_session *s, struct ib_sortwin_cmd *cmd, struct cm_err *err)
    __attribute__((warn_unused_result));
/* Read both answers into out. *ok_r: both said OK (else the window is
   not usable; the session is). *news_r: the server reported new or
   expunged messages meanwhile (libetpan's view of the folder is stale). */
int ib_sortwin_recv(struct ib_session *s, const struct ib_sortwin_cmd *cmd,
                    struct ib_sortwin *out, bool *ok_r, bool *news_r, struct cm_err *err)
    __attribute__((warn_unused_result));
void ib_sortwin_fini(struct ib_sortwin *w);

/* ---- pure parsers (exposed for the unit tests) ---- */

/* "* ESEARCH (TAG "<tag>") UID PARTIAL (a:b <set>|NIL) ...": 1 when the
   line is the ESEARCH of tag, its PARTIAL set appended to w->uids (in
   the order written, at most max); 0 when the line is something else;
   CM_EUPSTREAM on a malformed line of ours, CM_ENOMEM. */
int ib_sortwin_parse_esearch(const char *line, size_t len, int tag, size_t max,
                             struct ib_sortwin *w);
/* "* n FETCH (... UID u ... <key> g ...)": 1 with *uid_r and *guid_r
   (malloc'd) when the line carries both; 0 when it does not (another
   FETCH, or not a FETCH); CM_ENOMEM. key: "X-GUID" (an atom or a quoted
   string) or "EMAILID" ("(" objectid ")"). */
int ib_sortwin_parse_fetch(const char *line, size_t len, const char *key, uint32_t *uid_r,
                           char **guid_r);

#endif
