/* ib_fetch_folders.h - UID FETCH in many folders in one round trip (issue
 * 12: Email/get of ids spread over the account's folders):
 *
 *   EXAMINE f1   UID FETCH set1 (...)   EXAMINE f2   UID FETCH set2 (...)
 *   ...          UNSELECT
 *
 * all written before any answer is read (in windows of
 * IB_FETCH_FOLDERS_WINDOW folders, so unread answers never hold up our
 * writes), then read in order with libetpan. Each FETCH runs on the fresh
 * view its EXAMINE just opened, so a folder renamed or deleted and
 * recreated behind the gateway cannot answer for another: a folder that
 * cannot be opened answers nothing (its FETCH is refused: "no mailbox").
 *
 * Ownership: each job's msgs are the caller's (ib_msgs_free), also
 * after an error. Threads: the caller's, with the session checked out. The
 * session has no folder selected afterwards.
 */
#ifndef IB_FETCH_FOLDERS_H
#define IB_FETCH_FOLDERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cm_err.h"

struct ib_session;
struct ib_msg;
struct mailimap_set;

#define IB_FETCH_FOLDERS_WINDOW 64   /* folders written before reading */

struct ib_fetch_job {
    const char *imap_name;           /* wire name, borrowed */
    struct mailimap_set *uids;       /* borrowed */
    struct ib_msg *msgs;             /* the answer (as ib_fetch_msgs), owned by the caller */
    size_t n;
    uint32_t uidvalidity;            /* from its EXAMINE; 0: the folder could not be opened */
    int tags[2];                     /* internal */
};

/* Can this session take ib_fetch_folders (UNSELECT, to end clean)? */
bool ib_fetch_folders_supported(struct ib_session *s);

/* Fetch want (as ib_fetch_msgs) of jobs[i].uids in jobs[i].imap_name, for
   every job. A folder that could not be opened is not an error (its
   uidvalidity is 0); CM_EINVAL for a wire name not sendable plainly
   (nothing written); CM_ECONFIG when !ib_fetch_folders_supported; any
   other error: the session is broken, or out of memory. */
int ib_fetch_folders(struct ib_session *s, struct ib_fetch_job *jobs, size_t njobs,
                     unsigned int want, struct cm_err *err) __attribute__((warn_unused_result));

#endif
