/* ib_fetch.h - message data from the selected folder: FETCH of the items a
 * caller needs into plain structs, one body section, UID SEARCH.
 *
 * Only what is asked for is fetched (a list view never downloads bodies).
 * Results are copied out of libetpan's structures, except the
 * BODYSTRUCTURE tree, which is detached from libetpan's response and owned
 * by the ib_msg.
 *
 * Ownership: ib_msgs_free frees what ib_fetch_msgs returns.
 * Threads: on the caller's thread, with the session checked out and the
 * folder selected (ib_session_select).
 */
#ifndef IB_FETCH_H
#define IB_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/cm_err.h"

struct ib_session;
struct mailimap_body;
struct mailimap_set;
struct mailimap_search_key;

enum ib_fetch_want {
    IB_FETCH_FLAGS = 1 << 0,
    IB_FETCH_INTERNALDATE = 1 << 1,
    IB_FETCH_SIZE = 1 << 2,
    IB_FETCH_GUID = 1 << 3,          /* EMAILID/THREADID (OBJECTID), else X-GM-MSGID/
                                        X-GM-THRID (Gmail), else X-GUID (Dovecot) */
    IB_FETCH_BODYSTRUCTURE = 1 << 4,
    IB_FETCH_HEADER = 1 << 5,        /* BODY.PEEK[HEADER] */
    IB_FETCH_MODSEQ = 1 << 6,        /* with CONDSTORE */
    IB_FETCH_PREVIEW = 1 << 7,       /* with PREVIEW (RFC 8970); else left NULL */
    IB_FETCH_HEADER_SORT = 1 << 8,   /* BODY.PEEK[HEADER.FIELDS (Date From To Subject
                                        Message-ID In-Reply-To References)] into header */
    IB_FETCH_LABELS = 1 << 9         /* X-GM-LABELS, on a server with X-GM-EXT-1 */
};

struct ib_msg {
    uint32_t uid;
    uint64_t modseq;
    char **flags;                /* IMAP spelling: "\\Seen", "$Forwarded" */
    size_t nflags;
    time_t internaldate;         /* UTC */
    uint32_t size;
    char *guid;                  /* EMAILID, X-GM-MSGID (decimal) or X-GUID, or NULL */
    char *thread_guid;           /* THREADID or X-GM-THRID (decimal), or NULL */
    char **labels;               /* X-GM-LABELS (wire form), when asked and offered */
    size_t nlabels;
    bool has_labels;             /* the server answered X-GM-LABELS (maybe empty) */
    char *preview;               /* server PREVIEW text (UTF-8 per RFC 8970), or NULL */
    char *header;                /* raw header block, or NULL */
    size_t header_len;
    struct mailimap_body *body;  /* BODYSTRUCTURE, or NULL */
};

/* FETCH want for every UID in uids (a UID set). *msgs_r is malloc'd in
   server order; *n_r may be smaller than the set (expunged messages). */
int ib_fetch_msgs(struct ib_session *s, struct mailimap_set *uids, unsigned int want,
                  struct ib_msg **msgs_r, size_t *n_r, struct cm_err *err)
    __attribute__((warn_unused_result));
void ib_msgs_free(struct ib_msg *msgs, size_t n);
/* Free what one entry holds (not the entry itself). */
void ib_msgs_free_one(struct ib_msg *m);

/* FETCH lo:* (want) by sequence number: the newest messages of the
   selected folder, numbered from the EXISTS of its EXAMINE/SELECT answer
   (a FETCH by number is answered with no EXPUNGE in between: RFC 3501
   §7.4.1). Answers numbered below lo (unsolicited FETCHes of other
   messages) are dropped; messages that arrived since the EXAMINE are
   kept (the caller tells them by UID). Otherwise as ib_fetch_msgs. */
int ib_fetch_msgs_from_seq(struct ib_session *s, uint32_t lo, unsigned int want,
                           struct ib_msg **msgs_r, size_t *n_r, struct cm_err *err)
    __attribute__((warn_unused_result));

/* ib_fetch_msgs in two halves, for pipelining behind the EXAMINE/SELECT
   of its folder: _send writes the UID FETCH (not flushed; *tag_r = its
   tag); once flushed and the answers in front read, _recv reads its
   answer as ib_fetch_msgs gives it (a tagged NO/BAD: CM_EUPSTREAM, the
   session usable). */
int ib_fetch_msgs_send(struct ib_session *s, struct mailimap_set *uids, unsigned int want,
                       int *tag_r, struct cm_err *err) __attribute__((warn_unused_result));
int ib_fetch_msgs_recv(struct ib_session *s, int tag, struct ib_msg **msgs_r, size_t *n_r,
                       struct cm_err *err) __attribute__((warn_unused_result));

/* ib_fetch_msgs in folder imap_name, opened read-only, in one round
   trip: EXAMINE (ib_session_use_send: none when it is so selected and
   synced) + UID FETCH written at once. A folder that cannot be opened:
   its error (CM_ENOENT / CM_EUPSTREAM), the FETCH's answer read and
   thrown away, the session usable unless broken. */
int ib_fetch_msgs_in(struct ib_session *s, const char *imap_name, struct mailimap_set *uids,
                     unsigned int want, struct ib_msg **msgs_r, size_t *n_r, struct cm_err *err)
    __attribute__((warn_unused_result));

#define IB_FETCH_MAX_SECTION (64u * 1024 * 1024)

/* BODY.PEEK[section]<offset.max> of one message ("" = the whole message,
   "1.2" a part, "1.2.MIME" its MIME header, "HEADER"). max 0 = no partial. *data_r is malloc'd and
   NUL-terminated (not counted). CM_ENOENT when the UID does not exist. */
int ib_fetch_section(struct ib_session *s, uint32_t uid, const char *section, uint32_t offset,
                     uint32_t max, char **data_r, size_t *len_r, struct cm_err *err)
    __attribute__((warn_unused_result));

/* BODY.PEEK[part] of several parts ("1", "1.2"; "" the whole message) of
   message uid in one UID FETCH (one command: Dovecot may answer the untagged data of a
   FETCH pipelined behind another before the first one's tagged OK, so
   several FETCHes in flight cannot be read one by one). data_r[i] and
   len_r[i] get each part's raw bytes, malloc'd and NUL-terminated (NULL
   for a part the server did not send); the caller frees them. Parts are held
   in memory as libetpan read them (no streaming): for text parts.
   CM_ENOENT when the UID does not exist, CM_EINVAL for a bad part. */
int ib_fetch_sections(struct ib_session *s, uint32_t uid, const char *const *parts, size_t n,
                      char **data_r, size_t *len_r, struct cm_err *err)
    __attribute__((warn_unused_result));

/* Part `part` (an IMAP section path) of message uid, whose BODYSTRUCTURE
   is body, with its transfer encoding undone. *data_r is malloc'd.
   CM_ENOENT when body has no such leaf part (nothing sent). */
int ib_fetch_part(struct ib_session *s, uint32_t uid, const struct mailimap_body *body,
                  const char *part, char **data_r, size_t *len_r, struct cm_err *err)
    __attribute__((warn_unused_result));

/* UID SEARCH key (NULL = ALL), with CHARSET UTF-8 when utf8. *uids_r is
   malloc'd ascending. */
int ib_fetch_search(struct ib_session *s, struct mailimap_search_key *key, bool utf8,
                    uint32_t **uids_r, size_t *n_r, struct cm_err *err)
    __attribute__((warn_unused_result));

/* UID SEARCH key (ASCII), then UID FETCH want of the UIDs found (none
   found: nothing fetched, *n_r 0). As ib_fetch_msgs otherwise. */
int ib_fetch_search_msgs(struct ib_session *s, struct mailimap_search_key *key, unsigned int want,
                         struct ib_msg **msgs_r, size_t *n_r, struct cm_err *err)
    __attribute__((warn_unused_result));

/* UID SORT sort_key over search key (NULL = ALL), server-side (RFC 5256):
   *uids_r is malloc'd in the server's order. Needs the SORT capability. */
struct mailimap_sort_key;
int ib_fetch_sort(struct ib_session *s, struct mailimap_sort_key *sort_key,
                  struct mailimap_search_key *key, bool utf8, uint32_t **uids_r, size_t *n_r,
                  struct cm_err *err) __attribute__((warn_unused_result));

/* What changed in the selected folder since modseq (CONDSTORE): the
   messages whose flags changed or that arrived (uid + modseq, ascending by
   UID), and, with QRESYNC, the UIDs expunged meanwhile (VANISHED), the
   folder's highest UID included (the UID set is 1:4294967295). Without
   QRESYNC *vanished_r stays NULL and *vanished_known_r false. Each change
   carries the message's current flags (the same answer has them, so no
   second FETCH is needed), and its GUID where the server has one (same
   FETCH); free the array with ib_changes_free. */
struct ib_change {
    uint32_t uid;
    uint64_t modseq;
    char **flags;   /* IMAP spelling, as ib_msg.flags; owned */
    size_t nflags;
    char *guid;     /* EMAILID / X-GM-MSGID / X-GUID when the server has one, else NULL; owned */
};
int ib_fetch_changed_since(struct ib_session *s, uint64_t modseq, struct ib_change **changes_r,
                           size_t *n_r, struct mailimap_set **vanished_r,
                           bool *vanished_known_r, struct cm_err *err)
    __attribute__((warn_unused_result));
/* ib_fetch_changed_since in two halves, for pipelining behind the
   EXAMINE/SELECT of its folder (as ib_fetch_msgs_send/_recv): _send
   writes the UID FETCH (not flushed; *tag_r = its tag), _recv reads its
   answer once the answers in front are read (a tagged NO/BAD:
   CM_EUPSTREAM, the session usable). */
int ib_fetch_changed_since_send(struct ib_session *s, uint64_t modseq, int *tag_r,
                                struct cm_err *err) __attribute__((warn_unused_result));
int ib_fetch_changed_since_recv(struct ib_session *s, int tag, struct ib_change **changes_r,
                                size_t *n_r, struct mailimap_set **vanished_r,
                                bool *vanished_known_r, struct cm_err *err)
    __attribute__((warn_unused_result));
/* Free what ib_fetch_changed_since returned (ch may be NULL). */
void ib_changes_free(struct ib_change *ch, size_t n);
/* Free one entry's flags and guid (the entry itself is not freed). */
void ib_changes_free_flags(struct ib_change *ch);

#endif
