/* gw_rest.h - what the REST message routes (/api/v1/mailboxes/{mailbox}/...)
 * share: the folder a path names, the delta cursor, strict number
 * parsing, and message summaries.
 *
 * A REST folder is named by its UTF-8 path (ib_folder.path); the IMAP
 * wire name (modified UTF-7) never reaches clients. The cursor is an
 * IB_STATE_CURSOR token of one entry: (folder key, UIDVALIDITY,
 * HIGHESTMODSEQ, UIDNEXT, EXISTS) of the folder (ARCHITECTURE §4).
 *
 * Threads: the request's worker, with the session checked out.
 */
#ifndef GW_REST_H
#define GW_REST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cm_err.h"
#include "imapbridge/ib_mailbox.h"
#include "imapbridge/ib_state.h"

struct gw_req;
struct ib_session;
struct ib_msg;
struct mailimap_set;

#define GW_REST_LIMIT_DEFAULT 50
#define GW_REST_LIMIT_MAX 500

/* The account's folders and the one a request names. */
struct gw_rest_box {
    struct ib_folder_list list;
    const struct ib_folder *f; /* borrowed from list */
    bool selection_counts;     /* f's counts are its EXAMINE answer's own (the
                                  folder was opened directly, not listed) */
};

/* List the folders (LIST + STATUS, after a NOOP so counts are current),
   find the selectable folder whose UTF-8 path is `path` ("INBOX" matches
   case-insensitively) and select it (EXAMINE when read_only). CM_ENOENT
   when there is no such folder. b is reset first (safe to call again on a
   retry); call gw_rest_box_fini in every case. */
int gw_rest_box_open(struct ib_session *s, const char *path, bool read_only,
                     struct gw_rest_box *b, struct cm_err *err) __attribute__((warn_unused_result));
/* As gw_rest_box_open(read_only), without listing every folder: the
   folder is addressed by its path (ib_mailbox_open: EXAMINE + STATUS in
   one round trip); b->list then holds only that folder. When the server
   refuses it (a missing folder, or a path with no direct wire form) this
   falls back to gw_rest_box_open, which tells CM_ENOENT apart. */
int gw_rest_box_examine(struct ib_session *s, const char *path, struct gw_rest_box *b,
                        struct cm_err *err) __attribute__((warn_unused_result));
/* The folder at path opened (EXAMINE when read_only, else SELECT) with
   STATUS and a UID FETCH of uid (want as ib_fetch_msgs) pipelined: one
   round trip, no listing (ib_mailbox_open_fetch). *m_r, *n_r: the message
   (ib_msgs_free in every case); CM_ENOENT when the folder or the message
   is not there. A refused folder falls back to gw_rest_box_open and a
   FETCH of its own. */
int gw_rest_box_fetch(struct ib_session *s, const char *path, bool read_only, uint32_t uid,
                      unsigned int want, struct gw_rest_box *b, struct ib_msg **m_r, size_t *n_r,
                      struct cm_err *err) __attribute__((warn_unused_result));
void gw_rest_box_fini(struct gw_rest_box *b);

/* The folder whose path is `path` in l (selectable or not), or NULL. */
const struct ib_folder *gw_rest_find(const struct ib_folder_list *l, const char *path);

/* The folder's current cursor entry (from its STATUS). */
struct ib_state_entry gw_rest_entry(const struct ib_folder *f);
/* Cursor token for an entry: malloc'd, NULL on OOM. */
char *gw_rest_cursor(const struct gw_req *req, const struct ib_state_entry *e);
/* Decode a cursor: CM_EINVAL (400) when malformed, forged, or not one
   entry. */
int gw_rest_cursor_parse(const struct gw_req *req, const char *text, struct ib_state_entry *e_r,
                         struct cm_err *err) __attribute__((warn_unused_result));

/* Where a paged `changes` answer stopped (GET .../changes?limit=): the
   delta since the cursor's entry is reported in the order removed (by
   UID), flag changes (by UID), added (by UID); a page ends after `after`
   of list `phase`. target is the HIGHESTMODSEQ the first page saw: the
   last page's cursor carries it, so whatever changed while the client
   paged comes again next time (repeated, never lost). */
enum gw_rest_phase { GW_REST_REMOVED, GW_REST_FLAGS, GW_REST_ADDED };
struct gw_rest_page {
    enum gw_rest_phase phase;
    uint32_t after;
    uint64_t target;
};
/* A cursor with a page position (pos NULL: as gw_rest_cursor). */
char *gw_rest_cursor_paged(const struct gw_req *req, const struct ib_state_entry *e,
                           const struct gw_rest_page *pos);
/* As gw_rest_cursor_parse; *has_pos_r tells whether the cursor carries a
   page position (then in *pos_r). */
int gw_rest_cursor_parse_paged(const struct gw_req *req, const char *text,
                               struct ib_state_entry *e_r, struct gw_rest_page *pos_r,
                               bool *has_pos_r, struct cm_err *err)
    __attribute__((warn_unused_result));

/* Strict decimal 1..UINT32_MAX (no sign, no blanks, no leading '+'):
   CM_EINVAL naming `what` otherwise. */
int gw_rest_uid(const char *text, const char *what, uint32_t *uid_r, struct cm_err *err)
    __attribute__((warn_unused_result));
/* ?limit=: absent -> GW_REST_LIMIT_DEFAULT; a number above the maximum
   is clamped to GW_REST_LIMIT_MAX; 0, negative or not a number -> 400. */
int gw_rest_limit(const struct gw_req *req, size_t *limit_r, struct cm_err *err)
    __attribute__((warn_unused_result));

/* JSON array of the message's flags, IMAP spelling, without \\Recent (it
   belongs to one IMAP session). New reference. */
json_t *gw_rest_flags_json(const struct ib_msg *m);

/* Summaries {uid, id, threadId, from, to, subject, date, preview, flags,
   size, hasAttachment} of the messages of the selected folder f whose
   UIDs are in uids, newest (highest UID) first, appended to out. Never
   fetches a body: headers of the list fields, BODYSTRUCTURE, PREVIEW when
   offered, else a partial fetch of the first text part. */
int gw_rest_summaries(struct ib_session *s, const struct ib_folder *f, struct mailimap_set *uids,
                      json_t *out, struct cm_err *err) __attribute__((warn_unused_result));

/* The summaries (as gw_rest_summaries) of the newest `limit` messages of
   the folder b opened directly (b->selection_counts) with a UIDNEXT: one
   FETCH by sequence number from its EXISTS, no UID SEARCH first. Messages
   that arrived after the EXAMINE (UID >= its UIDNEXT) are left out, so
   the page and a cursor of b->f describe the same moment. *older_r: there
   are older messages than the page. */
int gw_rest_summaries_newest(struct ib_session *s, const struct gw_rest_box *b, size_t limit,
                             json_t *out, bool *older_r, struct cm_err *err)
    __attribute__((warn_unused_result));

/* FETCH want (ib_fetch_want) of one UID of the selected folder: *m_r
   holds *n_r == 1 message (ib_msgs_free(*m_r, *n_r) in every case);
   CM_ENOENT when there is no such UID. */
int gw_rest_fetch_one(struct ib_session *s, uint32_t uid, unsigned int want, struct ib_msg **m_r,
                      size_t *n_r, struct cm_err *err) __attribute__((warn_unused_result));

/* URL of a message sub-resource: /api/v1/mailboxes/<path, percent-encoded>
   /messages/<uid><suffix>. malloc'd. */
char *gw_rest_message_url(const struct ib_folder *f, uint32_t uid, const char *suffix);

#endif
