/* ib_guarded.h - flag changes of messages at cached places, each write
 * guarded by the message's own GUID, with the folder listings before and
 * after it, in one round trip (issue 19):
 *
 *   LIST-STATUS                         the listing before (old state)
 *   SELECT <folder>
 *   UID SEARCH RETURN (SAVE ALL) OR (UID u1 <key> "g1") (UID u2 <key> "g2") ...
 *   UID STORE $ +FLAGS.SILENT (...)     (when there are flags to add)
 *   UID STORE $ -FLAGS.SILENT (...)     (when there are flags to remove)
 *   UNSELECT
 *   LIST-STATUS                         the listing after (new state)
 *
 * all written at once. <key> is X-GUID (Dovecot) or EMAILID (RFC 8474), as
 * ib_locate.h. "$" (RFC 5182 SEARCHRES) holds only the UIDs that still
 * hold their message: a UID reused by another message (the folder deleted
 * and recreated with the same UIDVALIDITY, Dovecot's being the creation
 * second) or emptied (the message moved away) is not written. One SAVE per
 * write: no command using "$" ever waits behind a second SAVE. The ESEARCH
 * ALL answer tells which guards held.
 *
 * Checked on Dovecot 2.3.19 (see README "Round trips"): the tagged answers
 * come in the order written, also with 300 folders; UNSELECT ends after
 * the STOREs and the listing behind it starts after UNSELECT, so the
 * listing after shows the write. A listing written right behind a STORE
 * may answer before the STORE ends (Dovecot): never done here. Cyrus 3.6
 * has no SEARCHRES (BAD "Invalid Search return option save"):
 * ib_guarded_supported is false there.
 *
 * Ownership: ib_guarded_fini frees the listings. Threads: the caller's,
 * with the session checked out. The session has no folder selected
 * afterwards.
 */
#ifndef IB_GUARDED_H
#define IB_GUARDED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cm_err.h"
#include "imapbridge/ib_mailbox.h"

struct ib_session;

#define IB_GUARDED_MAX 64   /* guards per write (keeps the SEARCH line < 16 KB) */

/* One message: where the cache says it is, and what it is. */
struct ib_guard {
    uint32_t uid;
    const char *guid;   /* ib_ids_guid_valid */
    bool written;       /* out: the guard held and every STORE succeeded */
};

struct ib_guarded {
    struct ib_folder_list before, after; /* the listings (as ib_mailbox_list gives them) */
};

/* SEARCHRES, a GUID search key (OBJECTID or X-GUID), UNSELECT and
   LIST-STATUS? */
bool ib_guarded_supported(const struct ib_session *s);

/* The exchange above on folder imap_name (wire name) for g[0..n)
   (1 <= n <= IB_GUARDED_MAX), adding add[0..nadd) and removing
   remove[0..nremove) (each ib_store_flag_valid; at least one flag).
   Returns 0 with both listings and each g[i].written; a guard that did not
   hold, a folder that could not be selected or a refused STORE leave
   written false (nothing was written to another message; do those the
   classic way). CM_EINVAL / CM_ECONFIG before anything is written (an
   invalid flag or GUID, a name not sendable plainly, !supported). Any
   other error: the session is broken or refused a listing; whatever was
   written is unknown. */
int ib_guarded_store(struct ib_session *s, const char *imap_name, struct ib_guard *g, size_t n,
                     const char *const *add, size_t nadd, const char *const *remove,
                     size_t nremove, struct ib_guarded *out, struct cm_err *err)
    __attribute__((warn_unused_result));
void ib_guarded_fini(struct ib_guarded *out);

/* The REST move of one message addressed by (folder, UID), in one round
 * trip: SELECT <src>, UID FETCH u (UID <key>) when the server has GUIDs
 * (the reply's id), UID MOVE u <dest>, UNSELECT, written at once. The UID
 * is the address (the REST API carries no UIDVALIDITY): no guard. Checked
 * on Dovecot 2.3.19: the FETCH's data comes before the MOVE's COPYUID
 * (40 of 40), though MOVE may end first; a missing destination is NO
 * [TRYCREATE]; a UID not there is "OK No messages found" without
 * COPYUID. */
struct ib_moved {
    bool selected;              /* SELECT succeeded */
    bool moved;                 /* MOVE succeeded and COPYUID (or the FETCH) saw the message */
    bool refused;               /* MOVE refused (no such destination, ...): nothing moved */
    uint32_t dest_uidvalidity, dest_uid;  /* from COPYUID, 0 when not said */
    char guid[200];             /* the FETCH's GUID, "" when not seen */
};
/* Needs MOVE, UIDPLUS and UNSELECT (else CM_ECONFIG) and names sendable
   plainly (else CM_EINVAL), nothing written then. Any other error: the
   session broke. src and dest are wire names. */
int ib_guarded_move(struct ib_session *s, const char *src, uint32_t uid, const char *dest,
                    struct ib_moved *out, struct cm_err *err) __attribute__((warn_unused_result));

/* Pure, for the unit tests: is uid in the ESEARCH line's ALL set
   (`* ESEARCH (TAG "7") UID ALL 1,3:5`) of tag? -1 when the line is not
   tag's ESEARCH, else 0 or 1. */
int ib_guarded_esearch_has(const char *line, int tag, uint32_t uid);

#endif
