/* ib_ids.h - JMAP ids for messages, blobs and threads (ARCHITECTURE §4).
 *
 * Email id: "e" + base64url(folder key (6 bytes) | UIDVALIDITY | UID),
 * self-locating, so any instance can find the message without a lookup
 * table. (Servers with OBJECTID could use EMAILID instead; Dovecot's X-GUID
 * cannot be searched across folders cheaply, so it is not used for ids.)
 * blobId: an authenticated token (cm_token) of the same location plus an
 * IMAP part number ("" = the whole message), so a forged blob id cannot
 * name another message. Thread id: "t" + base64url of the thread's root
 * Message-ID (first of References, else In-Reply-To, else its own), so a
 * thread can be found again by searching headers; a root longer than
 * IB_IDS_MAX_ROOT (or empty) gives "T" + base64url of a hash instead: such
 * a thread cannot be searched for, so Thread/get reports only the emails
 * the caller names.
 *
 * Threads: pure; safe from any thread.
 */
#ifndef IB_IDS_H
#define IB_IDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cm_err.h"

#define IB_IDS_EMAIL_LEN 20   /* "e" + 19 base64url chars (14 bytes) */
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

/* blobId for part ("" = whole message). Returns malloc'd text or NULL. */
char *ib_ids_blob(const unsigned char key[32], const struct ib_email_loc *loc, const char *part);
/* *part_r is malloc'd. CM_EINVAL for a malformed or forged blob id. */
int ib_ids_blob_parse(const unsigned char key[32], const char *blob_id,
                      struct ib_email_loc *loc_r, char **part_r)
    __attribute__((warn_unused_result));

/* Thread id from the root Message-ID (without <>). malloc'd. */
char *ib_ids_thread(const char *root_msgid);
/* The root Message-ID of a thread id (malloc'd), or NULL when the id is
   malformed or carries a hash (not searchable). */
char *ib_ids_thread_root(const char *thread_id);

#endif
