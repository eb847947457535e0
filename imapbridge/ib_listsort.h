/* ib_listsort.h - a folder listing and one folder's UID SORT (or UID
 * FETCH) in one round trip, for a request that knows (from the folder map, ib_foldermap.h)
 * which folder it searches before the listing that says whether that
 * folder is still there: [EXAMINE (SELECT for a write) of it, unless it
 * is so selected and synced since checkout (ib_session_use_send)] +
 * LIST-STATUS + UID SORT or UID FETCH, written at once (the SORT or FETCH
 * last: Dovecot ends them with a sync that lets a command written behind
 * them answer first). The folder is made current in front of the listing,
 * so STATUS of it answers from a fresh view (RFC 3501 §6.3.10), and the
 * server finishes EXAMINE before it starts the commands behind it.
 *
 * The caller validates: the listing must still show the folder's id at
 * that wire name (ib_foldermap_confirms) before it uses the answer.
 *
 * Ownership: ib_listsort_fini frees what a result holds. Threads: the
 * caller's, with the session checked out.
 */
#ifndef IB_LISTSORT_H
#define IB_LISTSORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cm_err.h"
#include "imapbridge/ib_mailbox.h"

struct ib_session;
struct mailimap_sort_key;
struct mailimap_search_key;

struct ib_msg;
struct mailimap_set;

struct ib_listsort {
    struct ib_folder_list folders; /* the listing (as ib_mailbox_list gives it) */
    uint32_t *uids;                /* the SORT answer in the server's order, malloc'd */
    char **guids;                  /* ib_listsort_window: uids[i]'s GUID (or NULL), malloc'd */
    size_t n;
    struct ib_msg *msgs;           /* the FETCH answer (as ib_fetch_msgs gives it) */
    size_t nmsgs;
    bool ran;                      /* the SORT or FETCH ran on imap_name, now selected
                                      and current: uids or msgs is its answer */
};

/* The exchange above. key (NULL = ALL) must need no CHARSET UTF-8 (sent
   as US-ASCII). Returns 0 with out->folders the listing; out->ran
   false when the folder could not be opened or SORT was refused (the
   SORT answer is then thrown away; search it the classic way). CM_ECONFIG when the server lacks LIST-STATUS or SORT and CM_EINVAL
   for a wire name not sendable in a pipeline (nothing written: do it the
   classic way); any other error leaves *out empty (the session is broken,
   or usable when it only refused the listing). */
int ib_listsort_run(struct ib_session *s, const char *imap_name,
                    struct mailimap_sort_key *sort_key, struct mailimap_search_key *key,
                    struct ib_listsort *out, struct cm_err *err)
    __attribute__((warn_unused_result));
/* The same with UID FETCH of uids (want as ib_fetch_msgs) in place of
   the SORT, the folder opened read-only (EXAMINE) or read-write (SELECT):
   out->msgs is the FETCH answer when out->ran. Needs LIST-STATUS (else
   CM_ECONFIG). */
int ib_listsort_fetch(struct ib_session *s, const char *imap_name, bool read_only,
                      struct mailimap_set *uids, unsigned int want, struct ib_listsort *out,
                      struct cm_err *err) __attribute__((warn_unused_result));
/* The same with only a window of the sorted answer and its messages'
   GUIDs (ib_sortwin.h: UID SORT RETURN (SAVE PARTIAL first:first+count-1)
   + UID FETCH $ (UID <GUID>), read in any order), in place of the whole
   SORT: out->uids, out->guids, out->n the window when out->ran (empty
   when the window lies past the end). CM_ECONFIG when the server lacks
   LIST-STATUS or what ib_sortwin_supported needs (nothing written). */
int ib_listsort_window(struct ib_session *s, const char *imap_name,
                       struct mailimap_sort_key *sort_key, struct mailimap_search_key *key,
                       uint32_t first, uint32_t count, struct ib_listsort *out,
                       struct cm_err *err) __attribute__((warn_unused_result));
/* Can this session take ib_listsort_window? */
bool ib_listsort_window_supported(struct ib_session *s);
void ib_listsort_fini(struct ib_listsort *ls);

#endif
