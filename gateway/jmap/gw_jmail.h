/* gw_jmail.h - what the Email, Thread and SearchSnippet methods share:
 * the account's folders (listed once per request), the Email state (the
 * per-folder vector of ARCHITECTURE §4), and id <-> location helpers.
 *
 * Threads: the request's worker.
 */
#ifndef GW_JMAIL_H
#define GW_JMAIL_H

#include <jansson.h>
#include <stdint.h>

#include "gateway/jmap/gw_jmap.h"
#include "imapbridge/ib_ids.h"
#include "imapbridge/ib_mailbox.h"

/* The folders of the account (borrowed from jr; valid for the request). */
int gw_jmail_folders(struct gw_jreq *jr, const struct ib_folder_list **l_r, struct cm_err *err)
    __attribute__((warn_unused_result));

/* The folder map (ib_foldermap.h, ctx->folders): remember the account's
   folders from a listing made now (Mailbox/get, gw_jmail_folders); a copy
   of them into *out as the map has them (no counts), CM_ENOENT on a miss
   or without a map; forget them after a change to the folders. */
void gw_jmail_map_store(struct gw_jreq *jr, const struct ib_folder_list *l);
int gw_jmail_map_get(struct gw_jreq *jr, struct ib_folder_list *out)
    __attribute__((warn_unused_result));
void gw_jmail_map_forget(struct gw_jreq *jr);

/* Make l (a listing just made, stolen: *l is emptied) the request's
   folder list, as gw_jmail_folders would have, and remember it in the
   folder map. */
void gw_jmail_adopt_folders(struct gw_jreq *jr, struct ib_folder_list *l);

/* The folder an email id points into (matching key prefix and
   UIDVALIDITY), or NULL. */
/* Drop the request's folder list after a change to the folders, so the
   next gw_jmail_folders lists them again. */
void gw_jmail_forget_folders(struct gw_jreq *jr);

const struct ib_folder *gw_jmail_folder_of(const struct ib_folder_list *l,
                                           const struct ib_email_loc *loc);

/* Location of a message in folder f. */
struct ib_email_loc gw_jmail_loc(const struct ib_folder *f, uint32_t uid);

/* mailboxIds of message m of folder f (a new object; NULL on OOM): {f}
   on any server, and on Gmail (m carries X-GM-LABELS) the folder of every
   label and All Mail too (ib_labels.h). l may be NULL (then {f}). */
struct ib_msg;
json_t *gw_jmail_mailbox_ids(const struct ib_folder_list *l, const struct ib_folder *f,
                             const struct ib_msg *m);

/* A selectable folder of l by its mailbox id, or NULL. */
const struct ib_folder *gw_jmail_folder_by_id(const struct ib_folder_list *l, const char *id);

/* Does an Email/set patch change mailboxIds ("mailboxIds" or
   "mailboxIds/<id>" keys)? */
bool gw_jmail_touches_boxes(json_t *patch);
/* The mailboxIds a patch asks for, given the current ones (base,
   borrowed): a copy of a whole "mailboxIds" object, else base with the
   "mailboxIds/<id>" patches (true | null) applied. NULL when the patch is
   malformed (GW_JMAIL_BOXES_SYNTAX says how it should be). */
json_t *gw_jmail_wanted_boxes(json_t *patch, json_t *base);
#define GW_JMAIL_BOXES_SYNTAX                                                                      \
    "mailboxIds: an object of id: true, or patches of mailboxIds/<id>: true | null"

/* What an Email/set of mailboxIds on Gmail leaves to do: a move (to, NULL
   for none), and the labels to add and remove at its destination after
   it (when leaving Trash or Spam). add/remove point into one malloc'd
   block (gw_jlabels_move_fini); the strings are borrowed from the
   folder list. */
struct gw_jlabels_move {
    const struct ib_folder *to;
    const char **add, **remove;
    size_t nadd, nremove;
};
void gw_jlabels_move_fini(struct gw_jlabels_move *mv);

/* Email/set of mailboxIds on Gmail (X-GM-EXT-1), message uid of f (f
   selected read-write): its labels fetched, the wanted set compared with
   the current one (gw_jmail_mailbox_ids), and
   - a wanted Trash or Spam: a move there, left to the caller (mv->to;
     other labels unchanged);
   - leaving Trash or Spam: a move to the wanted folder ib_labels_entry
     picks (mv->to), then the labels of the other wanted folders added and
     those of unwanted ones removed (mv->add / mv->remove), both left to
     the caller (gw_jlabels_after_move);
   - else UID STORE +X-GM-LABELS / -X-GM-LABELS for the difference, sent
     here; *left_f_r says whether the email left f.
   Returns 0, 1 for an invalid patch (*type_r, *why_r; nothing sent), or
   a cm code (CM_ENOENT: the UID is gone). Call gw_jlabels_move_fini in
   every case. */
int gw_jlabels_update(struct ib_session *s, const struct ib_folder_list *l,
                      const struct ib_folder *f, uint32_t uid, json_t *patch,
                      struct gw_jlabels_move *mv, bool *left_f_r, const char **type_r,
                      const char **why_r, struct cm_err *err) __attribute__((warn_unused_result));

/* After the caller moved the email to mv->to, where it is now uid (from
   COPYUID; 0 when the server did not say): mv's label changes there, in
   one round trip (ib_store_labels_in). 0 at once when there are none;
   CM_EPERM when uid is 0 (nothing sent) or the server refused them. */
int gw_jlabels_after_move(struct ib_session *s, const struct gw_jlabels_move *mv, uint32_t uid,
                          struct cm_err *err) __attribute__((warn_unused_result));

/* Email/set create and Email/import on Gmail, of a new email wanted in
   the folders wn[0..n) (each once): the folder to APPEND it to
   (ib_labels_entry: Gmail gives it that folder's label) and the labels of
   the others, to add after the APPEND, into add[] (room n). 1 + *why_r
   when Gmail cannot hold that set (Trash or Spam with another mailbox)
   or no folder is selectable. Pure. */
int gw_jlabels_plan_new(const struct ib_folder *const *wn, size_t n,
                        const struct ib_folder **into_r, const char **add, size_t *nadd,
                        const char **why_r) __attribute__((warn_unused_result));

/* Email/changes on Gmail, where a label added shows as a new UID in the
   label's folder: an email is created only when it is new in All Mail,
   Trash or Spam (ids in core_new, an object used as a set); the other
   "created" ids are existing emails that got a label, so updated. Each
   id ends in one list, once. */
void gw_jlabels_fold_changes(json_t *created, json_t *updated, json_t *core_new);

/* Email ids (gw_jmail_ids.c). */
struct ib_session;

/* The id of message uid of f whose GUID is guid (NULL: none): the GUID id
   when the GUID is one ib_ids carries, else the location id. dst holds
   IB_IDS_EMAIL_MAX + 1 bytes. Pure. */
void gw_jmail_email_id(const struct ib_folder *f, uint32_t uid, const char *guid, char *dst);
struct gw_ctx;
/* Record in the instance's location cache that GUID id `id` is message
   uid of f (nothing for a location id). Thread-safe. */
void gw_jmail_remember(struct gw_ctx *ctx, const char *account, const struct ib_folder *f,
                       uint32_t uid, const char *id);
/* gw_jmail_email_id + gw_jmail_remember for the request's account. */
void gw_jmail_id(struct gw_jreq *jr, const struct ib_folder *f, uint32_t uid, const char *guid,
                 char *dst);
/* The id the message at (f, uid) had when this instance last saw it
   (reverse cache; a UID is never reused, so this stays true after the
   message left). dst: IB_IDS_EMAIL_MAX + 1 bytes. */
bool gw_jmail_id_at(struct gw_jreq *jr, const struct ib_folder *f, uint32_t uid, char *dst);
/* The cache's word on id proved stale (the UID is gone). */
void gw_jmail_forget(struct gw_ctx *ctx, const char *account, const char *id);

/* Where an email is: f NULL when not found. cached: the answer came from
   the location cache without asking the server, so a missing UID means
   "search again with use_cache false", not "gone". */
struct gw_jmail_where {
    const struct ib_folder *f; /* borrowed from the folder list */
    uint32_t uid;
    bool cached;
};

/* Where ids[0..n) are, into out[0..n): location ids by what they say,
   GUID ids from the cache (use_cache) and, for every miss, one pipelined
   round of UID SEARCH by GUID over the listed folders (ib_locate.h;
   leaves s with no folder selected). When a GUID is in several folders
   (an IMAP COPY keeps it) the first listed folder wins. s may be NULL
   (no search). Errors only for a broken session or OOM. */
int gw_jmail_locate_with(struct gw_ctx *ctx, const char *account, struct ib_session *s,
                         const struct ib_folder_list *l, const char *const *ids, size_t n,
                         bool use_cache, struct gw_jmail_where *out, struct cm_err *err)
    __attribute__((warn_unused_result));
/* The same for a JMAP request (its account and session). */
int gw_jmail_locate(struct gw_jreq *jr, const struct ib_folder_list *l, const char *const *ids,
                    size_t n, bool use_cache, struct gw_jmail_where *out, struct cm_err *err)
    __attribute__((warn_unused_result));

/* gw_jmail_locate_with for one id, and a place the cache named checked
   (one UID FETCH on the selected folder): when the UID is gone the id is
   searched for. Changes the selection. */
int gw_jmail_locate_checked(struct gw_ctx *ctx, const char *account, struct ib_session *s,
                            const struct ib_folder_list *l, const char *id,
                            struct gw_jmail_where *w, struct cm_err *err)
    __attribute__((warn_unused_result));

/* The Email state token for the folder list (malloc'd; NULL on OOM). */
char *gw_jmail_state(struct gw_jreq *jr, const struct ib_folder_list *l);

/* rt_states_fn for the realtime hub (ctx: the struct gw_ctx): the
   account's Email, Thread and Mailbox states from its folder list (the
   listing the JMAP EventSource made, with the counts the watchers saw
   since), so a push StateChange carries strings that Foo/changes accepts
   without a folder listing per event. Pure. */
int gw_jmail_push_states(void *ctx, const struct ib_folder_list *l, char **json_r);

/* UTCDate text of t into dst (>= 21 bytes). */
void gw_jmail_utcdate(int64_t t, char *dst, size_t cap);

/* The IMAP flag for a JMAP keyword ($seen -> \\Seen, $flagged -> \\Flagged,
   $answered -> \\Answered, $draft -> \\Draft, $forwarded -> $Forwarded, others
   as written) into buf (>= 256 bytes); NULL when keyword is not valid
   (RFC 8621 §4.1.1). */
const char *gw_jmail_flag_of(const char *keyword, char *buf);

/* JMAP keywords object from IMAP flags: \\Seen -> $seen, \\Flagged ->
   $flagged, \\Answered -> $answered, \\Draft -> $draft, \\Deleted -> skipped,
   others lower-cased ($Forwarded -> $forwarded). New reference. */
json_t *gw_jmail_keywords(char *const *flags, size_t n);

struct ib_header_list;

/* The thread root of a message: the first References id, else the first
   In-Reply-To id, else its own Message-ID (malloc'd, without <>), or NULL
   when it has none of them. */
char *gw_jmail_thread_root(const struct ib_header_list *hl);

/* The threadId of a message: ib_ids_thread(root), or for a message with no
   Message-ID at all "x" + its email id (a thread of one). malloc'd. */
char *gw_jmail_thread_id(const struct ib_header_list *hl, const char *email_id);

struct ib_session;
struct ib_msg;

/* Thread ids that hold together (gw_jthread.c, ib_thread.h). */

/* Learn the thread roots of msgs[0..n) of folder f (headers fetched with
   IB_FETCH_HEADER or IB_FETCH_HEADER_SORT; f selected read-only on s):
   parents named only by In-Reply-To that neither the batch nor the
   instance's root cache knows are searched for (UID SEARCH HEADER
   Message-ID) in f, then in the Sent folder, up to 3 generations; f is
   selected again afterwards. Results go to the root cache. */
int gw_jthread_learn(struct gw_jreq *jr, struct ib_session *s, const struct ib_folder_list *l,
                     const struct ib_folder *f, const struct ib_msg *msgs, size_t n,
                     struct cm_err *err) __attribute__((warn_unused_result));
/* As gw_jmail_thread_root / gw_jmail_thread_id, with an In-Reply-To-only
   message taking its parent's root from the cache (gw_jthread_learn). */
char *gw_jthread_root(struct gw_jreq *jr, const struct ib_header_list *hl);
char *gw_jthread_id(struct gw_jreq *jr, const struct ib_header_list *hl, const char *email_id);

/* Where a new email goes (Email/set create, Email/import): APPEND to f,
   then on Gmail add labels[0..nlabels). boxes[0..nboxes): every wanted
   folder, once. Arrays malloc'd (gw_jmail_dest_fini), folders and
   strings borrowed from the folder list. */
struct gw_jmail_dest {
    const struct ib_folder *f;
    const struct ib_folder **boxes;
    size_t nboxes;
    const char **labels;
    size_t nlabels;
};
/* The dest of a new email's mailboxIds boxes (keys may be "#creationId",
   looked up in jr's created ids). One mailbox on any server; several on
   a server with labels (X-GM-EXT-1: gw_jlabels_plan_new). NULL, or a
   SetError (new): invalidProperties (properties ["mailboxIds"]) for none,
   a value not true, an unknown mailbox or a set Gmail cannot hold;
   tooManyMailboxes for several without labels. No I/O. Call
   gw_jmail_dest_fini in every case. */
json_t *gw_jmail_dest_of(struct gw_jreq *jr, struct ib_session *s, const struct ib_folder_list *l,
                         json_t *boxes, struct gw_jmail_dest *d);
void gw_jmail_dest_fini(struct gw_jmail_dest *d);

/* The created entry (new) of the message this request just APPENDed to
   d->f at (uidvalidity, uid), data its bytes: {id, blobId, threadId,
   size} as Email/get gives them (a GUID id is learnt by the location
   cache), and on Gmail "mailboxIds" too (the server adds All Mail, and
   may add more: Starred for $flagged). On a server with GUIDs, or with d
   labels to add, one round trip: EXAMINE + UID FETCH (GUID), or on Gmail
   with labels SELECT + UID STORE +X-GM-LABELS + UID FETCH (X-GM-MSGID
   X-GM-THRID X-GM-LABELS), written at once. A refused STORE is logged
   and shows in mailboxIds (the email exists: it is created). Changes the
   selection. */
json_t *gw_jmail_created(struct gw_jreq *jr, struct ib_session *s, const struct ib_folder_list *l,
                         const struct gw_jmail_dest *d, uint32_t uidvalidity, uint32_t uid,
                         const char *data, size_t len);

/* Thread ids from the server's THREADID (RFC 8474) or Gmail's X-GM-THRID
   (gw_jthread_server.c). The FETCH items that bring it (IB_FETCH_GUID on
   an OBJECTID or Gmail server:
   caps from ib_session_caps, else 0): add them to a FETCH whose messages need a threadId. */
unsigned int gw_jthread_fetch_want(unsigned int caps);
/* The threadId of m: from its THREADID when the server gave one, else
   gw_jthread_id(jr, hl, email_id); with jr NULL (REST, which does not
   search for parents) gw_jmail_thread_id(hl, email_id). malloc'd (NULL on
   OOM). */
char *gw_jthread_id_of(struct gw_jreq *jr, const struct ib_msg *m,
                       const struct ib_header_list *hl, const char *email_id);
/* What tells m's thread apart (for collapseThreads): its THREADID thread
   id, else gw_jthread_root. malloc'd or NULL. */
char *gw_jthread_key_of(struct gw_jreq *jr, const struct ib_msg *m,
                        const struct ib_header_list *hl);
/* Does every message of msgs[0..n) carry a THREADID (no parents to learn)? */
bool gw_jthread_all_server(const struct ib_msg *msgs, size_t n);
/* One member of a thread found: its receivedAt and email id. 0 or CM_E*. */
typedef int gw_jthread_member_fn(void *ctx, int64_t received, const char *email_id);
/* The members of the "s" thread thread_id (Thread/get): one pipelined
   round of UID SEARCH THREADID over l's folders that hold mail, then
   EXAMINE + UID FETCH per folder with members. A malformed id, or a
   server without THREADID, finds nothing (0). */
int gw_jthread_server_members(struct gw_jreq *jr, const struct ib_folder_list *l,
                              const char *thread_id, gw_jthread_member_fn *add, void *ctx,
                              struct cm_err *err) __attribute__((warn_unused_result));

/* What changed in the account's mail since a state (Email/changes, and
   under Thread/changes). */
struct gw_jmail_delta {
    const char *old_state; /* borrowed from the call's arguments */
    char *new_state;       /* malloc'd */
    bool more;
    json_t *created, *updated, *destroyed; /* email ids */
};

/* Parse the /changes arguments of c and compute the delta (in
   gw_jmap_email_changes.c). Errors set c->error_type for
   cannotCalculateChanges. Call gw_jmail_delta_fini in every case. */
int gw_jmail_changes(struct gw_jcall *c, struct gw_jmail_delta *d, struct cm_err *err)
    __attribute__((warn_unused_result));
void gw_jmail_delta_fini(struct gw_jmail_delta *d);

#define GW_JMAIL_PREVIEW_FETCH 2048

/* A preview computed from the first text part (for servers without
   PREVIEW): fetches at most GW_JMAIL_PREVIEW_FETCH bytes of it. m needs its
   BODYSTRUCTURE; the folder must be selected. New reference, never NULL
   ("" when there is no text). */
json_t *gw_jmail_preview(struct ib_session *s, const struct ib_msg *m);

/* A media type we are willing to echo back in Content-Type: type/subtype
   with parameters, printable ASCII, no quotes or backslashes. */
bool gw_jmail_safe_type(const char *t);

/* Content-Disposition: attachment with an ASCII fallback filename and the
   RFC 8187 UTF-8 one. */
void gw_jmail_add_disposition(struct gw_req *req, const char *name);

#endif
