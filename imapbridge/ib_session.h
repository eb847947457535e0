/* ib_session.h - one authenticated IMAP connection.
 *
 * A session wraps a libetpan mailimap running on our own stream driver
 * (ib_stream.h: poll() + OpenSSL, so fds >= 1024 work and certificates are
 * verified). ib_session_open() connects, reads the greeting, does STARTTLS
 * when configured, asks CAPABILITY, logs in, asks CAPABILITY again, sends
 * ID and ENABLEs CONDSTORE/QRESYNC when offered.
 *
 * Errors are classified here, once: a tagged NO/BAD is a command error
 * (CM_EUPSTREAM, session still usable); a parse, stream, protocol or timeout
 * error, an untagged BYE, or a literal above the driver's cap marks the
 * session broken (ib_session_is_broken) and it must be closed. Login
 * refused -> CM_EAUTH; cannot connect, TLS refused or a BYE greeting ->
 * CM_EUNAVAIL; a wait longer than up->timeout_secs -> CM_ETIMEOUT (the
 * timeout bounds each wait for data, not a whole command).
 *
 * Logging: protocol lines go to cm_log at debug level, truncated; what is
 * sent during LOGIN/AUTHENTICATE is never logged.
 *
 * Ownership: the caller owns the session (normally the pool does).
 * Threads: one thread at a time per session; sessions may move between
 * threads.
 */
#ifndef IB_SESSION_H
#define IB_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "common/cm_err.h"
#include "imapbridge/ib_upstream.h"

struct ib_session;
struct mailimap;

enum ib_cap {
    IB_CAP_IDLE = 1 << 0,
    IB_CAP_CONDSTORE = 1 << 1,
    IB_CAP_QRESYNC = 1 << 2,
    IB_CAP_MOVE = 1 << 3,
    IB_CAP_UIDPLUS = 1 << 4,
    IB_CAP_SPECIAL_USE = 1 << 5,
    IB_CAP_LIST_STATUS = 1 << 6,
    IB_CAP_ESEARCH = 1 << 7,
    IB_CAP_SORT = 1 << 8,
    IB_CAP_THREAD_REFS = 1 << 9,
    IB_CAP_NAMESPACE = 1 << 10,
    IB_CAP_ENABLE = 1 << 11,
    IB_CAP_COMPRESS = 1 << 12,
    IB_CAP_OBJECTID = 1 << 13,
    IB_CAP_XGMEXT = 1 << 14,
    IB_CAP_NOTIFY = 1 << 15,
    IB_CAP_ID = 1 << 16,
    IB_CAP_LITERALPLUS = 1 << 17,
    IB_CAP_XGUID = 1 << 18,     /* Dovecot: FETCH/STATUS/SEARCH X-GUID (from ID or greeting) */
    IB_CAP_PREVIEW = 1 << 19,   /* RFC 8970 FETCH PREVIEW */
    IB_CAP_UNSELECT = 1 << 20,  /* RFC 3691 */
    IB_CAP_SEARCHRES = 1 << 21, /* RFC 5182: SEARCH RETURN (SAVE), "$" */
    IB_CAP_ESORT = 1 << 22,     /* RFC 5267: UID SORT RETURN (...) */
    IB_CAP_CONTEXT = 1 << 23    /* RFC 5267 CONTEXT=SEARCH/SORT (or RFC 9394
                                   PARTIAL): RETURN (PARTIAL a:b) */
};

/* The caps that give messages a stable id (ib_ids GUID ids): RFC 8474
   EMAILID, Gmail's X-GM-MSGID (X-GM-EXT-1), Dovecot's X-GUID, in that
   order of preference (ib_fetch asks the first one offered). */
#define IB_CAPS_MSGID (IB_CAP_OBJECTID | IB_CAP_XGMEXT | IB_CAP_XGUID)
/* Ids come from Gmail's X-GM-MSGID / X-GM-THRID (X-GM-EXT-1, no OBJECTID). */
#define IB_CAPS_GMAIL_IDS(caps) (((caps) & (IB_CAP_XGMEXT | IB_CAP_OBJECTID)) == IB_CAP_XGMEXT)

/* Connect and log in. On success *s_r is a new session. Auth:
   IB_AUTH_LOGIN: LOGIN, or AUTHENTICATE PLAIN (RFC 4616) when the server
     says LOGINDISABLED (CM_ECONFIG when it offers no AUTH=PLAIN either);
   IB_AUTH_XOAUTH2: CM_EAUTH when AUTH=XOAUTH2 is not offered;
   IB_AUTH_OAUTHBEARER (RFC 7628): CM_EAUTH when AUTH=OAUTHBEARER is not
     offered; a refusal's JSON "status" is in the message.
   AUTHENTICATE uses SASL-IR when offered. A refused login -> CM_EAUTH.
   When cr->origin.ip is set and the server offers ID before login, ID
   (RFC 2971) names jmapgate and passes the user's address
   (x-originating-ip, x-originating-port, x-connected-ip) before the login
   command; with a plain LOGIN of printable-ASCII credentials both are
   written at once (one round trip). Otherwise ID names jmapgate and its
   version after login, when the server offers ID. A NO/BAD to ID is
   ignored. With imap+starttls:// a
   server without STARTTLS is refused (CM_EUNAVAIL), and so is plaintext
   sent after its STARTTLS OK (CVE-2020-15953, CM_EUPSTREAM). CAPABILITY is
   asked after the greeting, after STARTTLS and after login; ENABLE
   CONDSTORE/QRESYNC is sent only for what is offered (a refused ENABLE
   just drops QRESYNC). */
int ib_session_open(const struct ib_upstream *up, const struct ib_creds *cr,
                    struct ib_session **s_r, struct cm_err *err) __attribute__((warn_unused_result));

/* Close and free; sets *sp to NULL. A healthy session sends LOGOUT with a
   short deadline; a broken one is dropped without any I/O. */
void ib_session_close(struct ib_session **sp);

/* Close and free without any I/O (no LOGOUT): for shutdown, or a session
   in a state where a command cannot be sent (IDLE). Sets *sp to NULL. */
void ib_session_abort(struct ib_session **sp);

/* Connect, read the greeting and disconnect: is the upstream reachable?
   (/readyz). No login. */
int ib_upstream_probe(const struct ib_upstream *up, struct cm_err *err)
    __attribute__((warn_unused_result));

bool ib_session_is_broken(const struct ib_session *s);
/* enum ib_cap bits usable on this session: what the server offers after
   login, except that IB_CAP_QRESYNC is set only when ENABLE QRESYNC
   succeeded (and then IB_CAP_CONDSTORE too). IB_CAP_XGUID is not a
   capability: it is set when the greeting names Dovecot (a customised
   login_greeting hides it; ids then fall back to derived ones). */
unsigned int ib_session_caps(const struct ib_session *s);
const char *ib_session_username(const struct ib_session *s); /* borrowed */
char ib_session_delimiter(const struct ib_session *s);       /* from NAMESPACE/LIST; 0 if flat */
const char *ib_session_selected(const struct ib_session *s);  /* wire name, or NULL; borrowed */
bool ib_session_selected_rw(const struct ib_session *s);      /* selected read-write (SELECT) */

/* True when the server has sent something not read yet (buffered in
   libetpan or OpenSSL, or the socket is readable / hung up). On an idle
   session that means an unsolicited response, typically "* BYE" before
   the server closes; a NOOP then reads it. No I/O; never blocks. */
bool ib_session_has_input(struct ib_session *s);

/* When a folder is selected, NOOP so the session's view of it is current:
   STATUS of the selected folder answers from that view (RFC 3501 §6.3.10),
   which would otherwise be as old as the SELECT. Nothing to do when
   nothing is selected, or when a NOOP or (re)select already happened since
   the session was checked out (a request works on one snapshot of its
   folder; the pool's revalidation starts the next request afresh). An
   untagged NO or BAD along with the NOOP drops the selection
   (ib_session_drop_selection): Dovecot answers so when the selected folder
   was deleted and created again by another client, and then goes on
   answering from the deleted one. */
int ib_session_sync(struct ib_session *s, struct cm_err *err) __attribute__((warn_unused_result));

/* ib_session_sync in two halves, for pipelining it behind read-only
   commands: _send writes the NOOP when one is due (not flushed; *tag_r =
   its tag, 0 when none is due) and returns a libetpan code; once flushed
   and the answers of the commands in front read, _recv reads its answer
   (nothing when tag is 0). *drop_r tells that the NOOP drew a warning:
   the caller calls ib_session_drop_selection before relying on the
   selection (or on STATUS of the selected folder). When the NOOP breaks a
   session whose revalidation was skipped, ib_session_reuse_failed holds
   (the commands in front of it must not have changed anything). */
int ib_session_sync_send(struct ib_session *s, int *tag_r) __attribute__((warn_unused_result));
int ib_session_sync_recv(struct ib_session *s, int tag, bool *drop_r, struct cm_err *err)
    __attribute__((warn_unused_result));

/* Forget the selected folder: UNSELECT, or, without UNSELECT (CLOSE could
   expunge), mark the session broken so the pool replaces it (CM_EUPSTREAM). */
int ib_session_drop_selection(struct ib_session *s, struct cm_err *err)
    __attribute__((warn_unused_result));

/* Before a warm session is handed out again, so that one broken while
   idle breaks here, not in the middle of a request. NOOP (as
   ib_session_sync, with its warning check) when the server has sent
   something meanwhile (usually "* BYE" before an idle disconnect), or when
   a folder is selected and the server last answered fresh_ms or more ago.
   Dovecot reports a selected folder renamed by another client only when
   the next command arrives ("* BYE ... inconsistent"). Otherwise no I/O:
   the NOOP is left to the first use of the selection (ib_session_sync,
   which ib_session_select and ib_mailbox_list call, the latter pipelined
   with its LIST), and a session that then breaks before any command of
   the request was answered reports ib_session_reuse_failed. The selection
   is kept: re-opening a 20,000-message maildir folder costs ~40 ms, a
   NOOP ~1 ms. After a NOOP here the next ib_session_sync costs nothing. */
int ib_session_revalidate(struct ib_session *s, unsigned int fresh_ms, struct cm_err *err)
    __attribute__((warn_unused_result));

/* True when the session is broken and the server answered no command
   since ib_session_revalidate skipped its NOOP: what that NOOP would have
   found (a BYE for a folder renamed or deleted meanwhile, an idle
   disconnect). The request's work did not happen upstream; the caller may
   run it again on a fresh session, as the pool would have at checkout. */
bool ib_session_reuse_failed(const struct ib_session *s);

/* Close the selected folder with UNSELECT (RFC 3691), which never
   expunges. Does nothing when nothing is selected or the server lacks
   UNSELECT (CLOSE would expunge \Deleted mail of a read-write folder). */
int ib_session_unselect(struct ib_session *s, struct cm_err *err)
    __attribute__((warn_unused_result));

/* ib_session_unselect in two halves, for pipelining the commands that
   need no selection behind it (the server ends UNSELECT before it starts
   the next command, as with SELECT): _send writes UNSELECT when a folder
   is selected and the server has UNSELECT (not flushed; *tag_r = its tag,
   0 when nothing was written); once flushed, _recv reads its answer
   (nothing when tag is 0). */
int ib_session_unselect_send(struct ib_session *s, int *tag_r, struct cm_err *err)
    __attribute__((warn_unused_result));
int ib_session_unselect_recv(struct ib_session *s, int tag, struct cm_err *err)
    __attribute__((warn_unused_result));

/* A folder SELECTed read-write takes \Recent (RFC 3501 2.3.2) of every
   message the session learns of: a SELECT at first, then any NOOP, IDLE or
   command that syncs. A session that stays so selected after its write
   would take \Recent away from the user's other clients on its next
   keep-alive or read. This drops such a selection (UNSELECT, or EXAMINE
   of the same folder when the server lacks UNSELECT); nothing to do
   otherwise. ib_pool_checkin calls it. */
int ib_session_end_write(struct ib_session *s, struct cm_err *err)
    __attribute__((warn_unused_result));

/* NOOP (keep-alive / health). */
int ib_session_noop(struct ib_session *s, struct cm_err *err) __attribute__((warn_unused_result));

/* Make imap_name (modified UTF-7, as on the wire) the selected folder.
   read_only: EXAMINE; otherwise SELECT (with CONDSTORE when offered, for
   HIGHESTMODSEQ). When that folder is already selected in the same mode
   it is only synced
   (ib_session_sync: a NOOP unless one just happened); sel_r then
   holds libetpan's current selection data (updated by untagged EXISTS)
   and the HIGHESTMODSEQ of the last (re)select. A SELECT the server
   answers with [READ-ONLY] does not count as read-write. A NO leaves no
   folder selected and the session usable: CM_ENOENT when the server said
   [NONEXISTENT], else CM_EUPSTREAM. sel_r may be NULL. A read-write
   selection never serves a read: syncing it would take \Recent (see
   ib_session_end_write), so a read EXAMINEs afresh. */
struct ib_selection {
    uint32_t uidvalidity, uidnext, exists;
    uint64_t highestmodseq; /* 0 without CONDSTORE */
};
int ib_session_select(struct ib_session *s, const char *imap_name, bool read_only,
                      struct ib_selection *sel_r, struct cm_err *err)
    __attribute__((warn_unused_result));

/* ib_session_select in two halves, for pipelining the commands that use
   the folder behind its EXAMINE/SELECT (one round trip instead of two).
   _send writes EXAMINE (read_only) or SELECT [(CONDSTORE)] of imap_name
   (printable ASCII, else CM_EINVAL) without flushing; *tag_r = its tag.
   It never reuses the current selection: the answer is the folder's state
   now, so no sync NOOP is due and a folder deleted and created again
   elsewhere is opened afresh. The server finishes a SELECT/EXAMINE before
   it starts a command written behind it (RFC 3501 5.5; Dovecot locks the
   mailbox change), so those commands run on the new selection. Once
   flushed, _recv reads its answer (fills sel_r as ib_session_select): a NO
   leaves nothing selected and the session usable: CM_ENOENT when the
   server said [NONEXISTENT], else CM_EUPSTREAM (no LIST to tell a missing
   folder: the answers of the commands behind it are still to be read). A
   session whose selected folder was renamed elsewhere breaks here (BYE)
   and ib_session_reuse_failed tells so, as with the sync NOOP. */
int ib_session_select_send(struct ib_session *s, const char *imap_name, bool read_only,
                           int *tag_r, struct cm_err *err) __attribute__((warn_unused_result));
int ib_session_select_recv(struct ib_session *s, int tag, struct ib_selection *sel_r,
                           struct cm_err *err) __attribute__((warn_unused_result));

/* What makes imap_name the selected folder in that mode, in two halves
   for pipelining the folder's commands behind it: _send writes nothing
   when it is already so selected and synced since checkout, else
   EXAMINE/SELECT afresh (ib_session_select_send), without flushing. Never
   the sync NOOP in the pipeline: Dovecot answers a LIST written behind a
   NOOP before the NOOP ends (NOOP waits for the commands running beside
   it), so a listing behind it would not see what the NOOP brings, while
   EXAMINE/SELECT ends before the server starts the next command. When
   the folder is so selected but not synced and the server is near
   (ib_session_is_near), _send first syncs it with a NOOP round trip of its own (ib_session_sync):
   Dovecot reopens a 5,000-message maildir folder in 10-20 ms, a NOOP
   takes 0.1 ms; behind a farther link the reopening in the pipeline saves
   the round trip. Once flushed and the answers
   in front read, _recv reads its answer: 0 when the folder is selected in
   that mode. Otherwise the commands written behind it ran without it:
   their answers must be read and thrown away. CM_ENOENT/CM_EUPSTREAM as
   ib_session_select_recv; the session is then usable unless broken. */
#define IB_REOPEN_RTT_MS 4
/* Has the server answered within IB_REOPEN_RTT_MS of a write
   (ib_stream_rtt_ms: the shortest such wait on this connection)? Then a
   round trip costs less than making the server open a folder again, and
   pipelines that would need it wait for an answer instead. */
bool ib_session_is_near(const struct ib_session *s);
struct ib_use {
    int tag;       /* 0: nothing was written */
    bool opened;   /* EXAMINE/SELECT was written */
};
int ib_session_use_send(struct ib_session *s, const char *imap_name, bool read_only,
                        struct ib_use *u, struct cm_err *err) __attribute__((warn_unused_result));
int ib_session_use_recv(struct ib_session *s, const struct ib_use *u, struct cm_err *err)
    __attribute__((warn_unused_result));
/* For a pipeline that EXAMINEs many folders by hand (ib_locate.c):
   "EXAMINE <quoted name>" into cmd (false: not sendable plainly), and,
   once the pipeline ended with UNSELECT, the session's record that no
   folder is selected. */
bool ib_session_examine_command(const char *imap_name, char *cmd, size_t cap);
void ib_session_note_unselected(struct ib_session *s);

/* Translate a libetpan result code into a CM_E* code, fill err with what
   (the command name), and mark the session broken when the code means the
   stream can no longer be trusted. Returns the CM_E* code (0 for success
   codes). The single place libetpan codes are mapped. */
int ib_session_check(struct ib_session *s, int etpan_rc, const char *what, struct cm_err *err);

/* For the other ib_* modules: a hand-built command just read everything
   the server had to say up to its tagged OK (IDLE's DONE), so the
   selection is as current as after a NOOP: ib_session_sync has nothing to
   do until the next command. */
void ib_session_note_synced(struct ib_session *s);

/* The underlying libetpan handle, for the other ib_* modules only. */
struct mailimap *ib_session_imap(struct ib_session *s);

#endif
