/* ib_mailbox.h - folders: LIST (+SPECIAL-USE) and STATUS into plain structs.
 *
 * Names are decoded from modified UTF-7 to UTF-8; imap_name keeps the wire
 * form for later commands. Roles come from SPECIAL-USE flags, else from
 * name heuristics (ib_mailbox_role_from_name). Folder ids follow
 * ARCHITECTURE §4: MAILBOXID when offered, Dovecot X-GUID, else a hash of
 * (name, UIDVALIDITY).
 *
 * Ownership: ib_folder_list owns everything in it (role strings are
 * static); ib_folder_list_fini frees. Threads: runs on the caller's thread
 * with the session checked out; cm_crypto_init() must have been called
 * (ids are SHA-256 based).
 */
#ifndef IB_MAILBOX_H
#define IB_MAILBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cm_err.h"

struct ib_session;

struct ib_folder {
    char *id;          /* stable mailbox id */
    char *name;        /* UTF-8 leaf name ("Sent") */
    char *path;        /* UTF-8 full name ("Archive/2024") */
    char *imap_name;   /* wire name (modified UTF-7) */
    const char *role;  /* static string (not freed): "inbox","sent","drafts","trash",
                          "junk","archive","all","flagged","important" or NULL */
    char *parent_id;   /* id of the parent folder or NULL */
    char delimiter;    /* hierarchy delimiter, 0 if none */
    bool selectable;   /* false for \Noselect / \NonExistent */
    bool subscribed;
    bool has_status;   /* the counts below are valid */
    char *object_id;   /* the server's own folder id (RFC 8474 MAILBOXID, else
                          Dovecot's X-GUID) from STATUS, or NULL */
    uint32_t total, unread, uidvalidity, uidnext;
    uint64_t highestmodseq;
    uint64_t sort_order; /* JMAP sortOrder stored by the gateway in METADATA
                            (ib_sortorder.h), 0 when none */
};

struct ib_folder_list {
    struct ib_folder *items;
    size_t count;
};

/* LIST "" "*" (with SPECIAL-USE data), LSUB for subscriptions (and
   pipelined behind them the NOOP of ib_session_sync when one is due, whose
   warning drops the selection as there), then
   STATUS (MESSAGES UNSEEN UIDVALIDITY UIDNEXT [HIGHESTMODSEQ] [MAILBOXID
   or X-GUID]) per selectable folder (a server that refuses the id item
   gets a second STATUS without it). INBOX first, then by path. A STATUS refused with NO
   (folder deleted meanwhile) leaves has_status false; a refused LSUB leaves
   subscribed false. On error *out is empty. A name that is not valid
   modified UTF-7 is shown as its wire form. */
int ib_mailbox_list(struct ib_session *s, struct ib_folder_list *out, struct cm_err *err)
    __attribute__((warn_unused_result));
void ib_folder_list_fini(struct ib_folder_list *l);

/* Drop the selection and list, in one round trip: UNSELECT + LIST-STATUS
   written at once when a folder is selected and the server has both (the
   server ends UNSELECT before it starts the listing, so STATUS of that
   folder answers from the folder itself, own changes included); else,
   and for a near server (ib_session_is_near: the round trip costs less
   than the server opening that folder again for STATUS), ib_mailbox_list
   (the selection, if any, stays: ib_session_end_write at checkin drops a
   read-write one). For the end of a write. */
int ib_mailbox_list_unselect(struct ib_session *s, struct ib_folder_list *out,
                             struct cm_err *err) __attribute__((warn_unused_result));

/* One folder by its UTF-8 path, without a listing, in one round trip:
   EXAMINE (read_only) or SELECT of its wire name (ib_session_select_send:
   afresh, never a reused selection, so no sync NOOP) with STATUS (as in a
   listing, for UNSEEN and the server's id) pipelined behind it. On
   success out holds that one folder, now selected: counts, UIDVALIDITY,
   UIDNEXT and HIGHESTMODSEQ from the EXAMINE/SELECT answer (the selection's
   own view), id as a listing gives it (server id, else derived), role from
   the name only (no SPECIAL-USE flags), no parent id, subscribed false.
   When the server refuses the folder: CM_ENOENT when it said
   [NONEXISTENT], else CM_EUPSTREAM with the session usable (Dovecot 2.3
   says NO without the code: a caller that must tell a missing folder
   lists). CM_EINVAL when the path cannot be addressed this way (not
   representable as a plain wire name that decodes back to it): list. On
   error *out is empty. */
int ib_mailbox_open(struct ib_session *s, const char *path, bool read_only,
                    struct ib_folder_list *out, struct cm_err *err)
    __attribute__((warn_unused_result));

/* ib_mailbox_open with a UID FETCH of uids (want as ib_fetch_msgs)
   written behind the EXAMINE/SELECT + STATUS: still one round trip. On
   success *msgs_r and *n_r are its answer (ib_msgs_free), as ib_fetch_msgs
   gives it. When the folder is refused, the FETCH answer (which ran
   without it) is read and thrown away, and the error is ib_mailbox_open's;
   then *msgs_r is NULL. */
struct ib_msg;
struct mailimap_set;
int ib_mailbox_open_fetch(struct ib_session *s, const char *path, bool read_only,
                          struct mailimap_set *uids, unsigned int want,
                          struct ib_folder_list *out, struct ib_msg **msgs_r, size_t *n_r,
                          struct cm_err *err) __attribute__((warn_unused_result));

/* A command written behind the EXAMINE/SELECT + STATUS of
   ib_mailbox_open_with, in the same write: send writes it unflushed and
   sets *tag_r (0 when nothing went out); recv reads its answer, after
   those of the folder. keep is false when the folder did not open (the
   command ran without it): recv reads the answer and keeps nothing. recv
   runs only when send wrote something. */
struct ib_open_extra {
    int (*send)(struct ib_session *s, void *ctx, int *tag_r, struct cm_err *err);
    int (*recv)(struct ib_session *s, void *ctx, int tag, bool keep, struct cm_err *err);
    void *ctx;
    int tag;      /* set by send */
};
/* ib_mailbox_open with the extra command x (NULL: none) pipelined: still
   one round trip. x's answer counts only when the folder opened; the
   error is then x's, else ib_mailbox_open's. */
int ib_mailbox_open_with(struct ib_session *s, const char *path, bool read_only,
                         struct ib_open_extra *x, struct ib_folder_list *out, struct cm_err *err)
    __attribute__((warn_unused_result));

/* The wire name (modified UTF-7) of a UTF-8 path, when it decodes back
   to exactly that path ("INBOX" for any case of inbox); NULL when a
   listing must find it (or on OOM). malloc'd. */
char *ib_mailbox_wire_name(const char *path);

/* The folder with this mailbox id (id may be NULL), or NULL. */
const struct ib_folder *ib_folder_find(const struct ib_folder_list *l, const char *id);
/* A deep copy of src into dst (dst's old contents are not freed). 0 or
   CM_ENOMEM (dst then empty). */
int ib_folder_list_dup(const struct ib_folder_list *src, struct ib_folder_list *dst)
    __attribute__((warn_unused_result));
/* The folder with that UTF-8 path, or NULL. */
struct ib_folder *ib_folder_by_path(struct ib_folder_list *l, const char *path);

/* Pure helpers (unit-tested). */
/* Folder ids (ARCHITECTURE §4). When STATUS gives the server's own id
   (MAILBOXID, or X-GUID on Dovecot), the id is "m" + base64url(first 9
   bytes of SHA-256("objectid" NUL object_id)): it survives a RENAME, and a
   folder deleted and created again gets a new one. Otherwise "m" +
   base64url(first 9 bytes of SHA-256(imap_name NUL uidvalidity)), or of
   the name alone for a folder without UIDVALIDITY (not selectable). */
#define IB_MAILBOX_ID_LEN 13
void ib_mailbox_id_from_object(const char *object_id, char dst[IB_MAILBOX_ID_LEN + 1]);
void ib_mailbox_id_derive(const char *imap_name, bool selectable, uint32_t uidvalidity,
                          char dst[IB_MAILBOX_ID_LEN + 1]);
/* Role from a SPECIAL-USE flag without backslash ("Sent") or NULL. */
const char *ib_mailbox_role_from_flag(const char *flag);
/* Role guessed from a UTF-8 path when the server has no SPECIAL-USE:
   "Sent", "Sent Items", "Sent Messages", "[Gmail]/Sent Mail", "Drafts",
   "Trash", "Deleted Items", "Deleted Messages", "Junk", "Spam",
   "Junk E-mail", "Archive", "Archives", "[Gmail]/All Mail"; case-insensitive;
   INBOX -> "inbox". Returns a static string or NULL. */
const char *ib_mailbox_role_from_name(const char *path, char delimiter);

#endif
