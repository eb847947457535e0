/* ib_locate.h - where messages are, by their GUID (ARCHITECTURE §4,
 * "Locating a stable id"): one pipelined round over the account's folders
 * for all the GUIDs a request misses.
 *
 * Per folder, all written before any answer is read:
 *   EXAMINE <folder>
 *   UID SEARCH RETURN (SAVE) OR <key> "g1" <key> "g2" ...   (RFC 5182)
 *   UID FETCH $ (<key>)            which GUID each hit has
 * and one UNSELECT at the end. <key> is EMAILID (RFC 8474 OBJECTID) or
 * X-GUID (Dovecot: `UID SEARCH X-GUID x` and FETCH X-GUID, checked on
 * 2.3.19). Without SEARCHRES each GUID gets its own UID SEARCH instead of
 * the OR + FETCH. On Gmail (X-GM-EXT-1, no OBJECTID) the key is
 * X-GM-MSGID with the decimal id unquoted, one UID SEARCH per id; the
 * caller then passes only All Mail (\All), which holds every message
 * outside Trash and Spam, and those two. Folders go in windows of IB_LOCATE_PIPELINE commands, so
 * answers never outgrow the socket buffers while nothing reads them: up to
 * ~64 folders (SEARCHRES) cost one round trip.
 *
 * Ownership: *hits_r is malloc'd (free()).
 * Threads: on the caller's thread, with the session checked out. The
 * session has no folder selected afterwards.
 */
#ifndef IB_LOCATE_H
#define IB_LOCATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cm_err.h"

struct ib_session;

#define IB_LOCATE_PIPELINE 192   /* commands written before reading */
#define IB_LOCATE_MAX_GUIDS 128  /* GUIDs per call (callers split longer lists) */

struct ib_locate_hit {
    size_t folder;   /* index into folders[] */
    size_t guid;     /* index into guids[] */
    uint32_t uid;
};

/* Can this session search by GUID (OBJECTID, Gmail's X-GM-MSGID or Dovecot's X-GUID, and
   UNSELECT to leave the session clean)? */
bool ib_locate_supported(const struct ib_session *s);

/* Search folders[0..nfolders) (wire names) for guids[0..nguids) (each
   ib_ids_guid_valid, nguids <= IB_LOCATE_MAX_GUIDS). uidvalidity_r[i] gets
   folder i's UIDVALIDITY (0 when it could not be opened: that folder is
   skipped, not an error). A GUID may be found in several folders (an IMAP
   COPY keeps it). CM_EPERM when !ib_locate_supported. */
int ib_locate_guids(struct ib_session *s, const char *const *folders, size_t nfolders,
                    const char *const *guids, size_t nguids, uint32_t *uidvalidity_r,
                    struct ib_locate_hit **hits_r, size_t *nhits_r, struct cm_err *err)
    __attribute__((warn_unused_result));

/* The messages of the server's thread thread_id (RFC 8474 THREADID, as
   FETCH gave it) in folders[0..nfolders): per folder EXAMINE + `UID
   SEARCH THREADID "id"`, in the same windows and one round trip as
   ib_locate_guids (hit.guid is 0). CM_EPERM without OBJECTID (or
   UNSELECT), CM_EINVAL for an id that !ib_ids_guid_valid. */
int ib_locate_thread(struct ib_session *s, const char *const *folders, size_t nfolders,
                     const char *thread_id, uint32_t *uidvalidity_r,
                     struct ib_locate_hit **hits_r, size_t *nhits_r, struct cm_err *err)
    __attribute__((warn_unused_result));

#endif
