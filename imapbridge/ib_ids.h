/* ib_ids.h - JMAP ids for messages, blobs and threads (ARCHITECTURE §4).
 *
 * Email ids come in two kinds, told apart by their first letter:
 *   "h" + base64url(16 bytes)   a GUID of 32 lower-case hex digits (Dovecot
 *                               X-GUID on dbox), 23 chars;
 *   "g" + base64url(guid text)  any other GUID (RFC 8474 EMAILID, Dovecot
 *                               maildir X-GUID "1796523686.M54P78.host,S=46,W=51"),
 *                               at most IB_IDS_MAX_GUID bytes, so <= 241 chars;
 *   "e" + base64url(folder key (6 bytes) | UIDVALIDITY | UID)   a location,
 *                               for servers (or messages) without a GUID.
 * A GUID id survives MOVE; finding it needs a lookup (the gateway's
 * location cache, else a UID SEARCH by the GUID). A location id finds
 * itself but changes when the message moves. All are in the JMAP id
 * charset (base64url) and <= IB_IDS_EMAIL_MAX.
 * blobId: an authenticated token (cm_token) of an email id plus an IMAP
 * part number ("" = the whole message), so a forged blob id cannot name
 * another message, and the blob of a moved message is found the way its
 * email is. (Tokens of the older form, location + part, still parse.) Thread id: "t" + base64url of the thread's root
 * Message-ID (first of References, else In-Reply-To, else its own), so a
 * thread can be found again by searching headers; a root longer than
 * IB_IDS_MAX_ROOT (or empty) gives "T" + base64url of a hash instead: such
 * a thread cannot be searched for, so Thread/get reports only the emails
 * the caller names. On a server with its own thread ids (RFC 8474
 * THREADID, or Gmail's X-GM-THRID in decimal): "s" + base64url of that id
 * (ib_ids_thread_server), found again by UID SEARCH THREADID / X-GM-THRID.
 *
 * Threads: pure; safe from any thread.
 */
#ifndef IB_IDS_H
#define IB_IDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cm_err.h"

#define IB_IDS_EMAIL_LEN 20   /* location id: "e" + 19 base64url chars (14 bytes) */
#define IB_IDS_EMAIL_MAX 255  /* longest email id of any kind */
#define IB_IDS_MAX_GUID 180   /* longest GUID text carried in an id */
#define IB_IDS_MAX_ROOT 160   /* Message-ID bytes kept in a thread id */

struct ib_email_loc {
    uint64_t folder_key;      /* ib_state_folder_key(mailbox id); only 48 bits kept */
    uint32_t uidvalidity;
    uint32_t uid;
};

/* The 48-bit prefix of a folder key that ids carry. */
uint64_t ib_ids_folder_prefix(uint64_t folder_key);

/* dst must hold IB_IDS_EMAIL_LEN + 1 bytes. */
void ib_ids_email(const struct ib_email_loc *loc, char *dst);
/* 0, or CM_EINVAL for anything that is not an email id of ours. */
int ib_ids_email_parse(const char *id, struct ib_email_loc *loc_r)
    __attribute__((warn_unused_result));

enum ib_ids_kind {
    IB_IDS_NOT_OURS = 0,
    IB_IDS_LOCATION,   /* "e": ib_ids_email_parse */
    IB_IDS_GUID        /* "h" / "g": ib_ids_email_guid_parse */
};

/* The kind of an email id, by its first letter only (parse to check it). */
enum ib_ids_kind ib_ids_email_kind(const char *id);

/* Is guid one we carry in ids and may send in a quoted SEARCH string:
   1..IB_IDS_MAX_GUID bytes of %x21-7e except '"' and '\'? */
bool ib_ids_guid_valid(const char *guid);

/* The GUID id of guid into dst (IB_IDS_EMAIL_MAX + 1 bytes). CM_EINVAL
   when !ib_ids_guid_valid(guid) (the caller keeps the location id). */
int ib_ids_email_guid(const char *guid, char *dst) __attribute__((warn_unused_result));
/* The GUID text of a GUID id (*guid_r malloc'd). CM_EINVAL for anything
   else, or a GUID that ib_ids_guid_valid refuses. */
int ib_ids_email_guid_parse(const char *id, char **guid_r) __attribute__((warn_unused_result));

/* blobId for part ("" = whole message) of the email email_id (an id of
   either kind, <= IB_IDS_EMAIL_MAX). Returns malloc'd text or NULL. */
char *ib_ids_blob(const unsigned char key[32], const char *email_id, const char *part);
/* The email id (into email_id_r, IB_IDS_EMAIL_MAX + 1 bytes) and part
   (*part_r malloc'd) of a blob id. CM_EINVAL for a malformed or forged
   one. */
int ib_ids_blob_parse(const unsigned char key[32], const char *blob_id, char *email_id_r,
                      char **part_r) __attribute__((warn_unused_result));

/* Thread id from the root Message-ID (without <>). malloc'd. */
char *ib_ids_thread(const char *root_msgid);
/* The root Message-ID of a thread id (malloc'd), or NULL when the id is
   malformed or carries a hash (not searchable). */
char *ib_ids_thread_root(const char *thread_id);
/* Thread id from the server's own thread id (THREADID); NULL when
   !ib_ids_guid_valid(server_tid) (the caller takes the root id) or OOM.
   malloc'd. */
char *ib_ids_thread_server(const char *server_tid);
/* The server thread id of an "s" thread id (malloc'd), or NULL when the
   id is of another kind or malformed. */
char *ib_ids_thread_server_parse(const char *thread_id);

#endif
