/* ib_idle.h - IDLE (RFC 2177) and NOTIFY (RFC 5465) for the realtime
 * watchers: start IDLE and hand back the socket, say whether bytes are
 * already buffered, end it with DONE and report, as a plain struct, every
 * untagged response the server sent meanwhile.
 *
 * The lines are read and classified here, not by libetpan: libetpan's own
 * IDLE drops untagged data that arrives before "+ idling", and its
 * counters (sel_exists) are not lowered by QRESYNC's VANISHED, so a
 * watcher that compared them would miss a change (LIBS.md). Whatever this
 * module cannot classify is reported as `other`, and the caller then asks
 * STATUS: when in doubt, look.
 *
 * Ownership: struct ib_idle and the news in it belong to the caller (one
 * per watching session); ib_idle_news_reset frees the STATUS entries.
 * Threads: the thread that owns the session.
 */
#ifndef IB_IDLE_H
#define IB_IDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cm_err.h"

struct ib_session;

/* Which STATUS items an entry carries (NOTIFY sends partial ones, e.g.
   only HIGHESTMODSEQ after a flag change). */
enum ib_status_item {
    IB_ST_MESSAGES = 1 << 0,
    IB_ST_UIDNEXT = 1 << 1,
    IB_ST_UIDVALIDITY = 1 << 2,
    IB_ST_UNSEEN = 1 << 3,
    IB_ST_HIGHESTMODSEQ = 1 << 4
};

/* One untagged STATUS (NOTIFY reports non-selected folders this way). */
struct ib_idle_status {
    char *imap_name;           /* wire name (modified UTF-7), owned */
    unsigned int have;         /* enum ib_status_item bits */
    uint32_t messages, uidnext, uidvalidity, unseen;
    uint64_t highestmodseq;
};

/* One untagged LIST (NOTIFY MailboxName: a folder created, deleted or
   renamed). */
struct ib_idle_folder {
    char *imap_name;           /* as the server wrote it, owned */
    bool gone;                 /* \NonExistent: deleted (or renamed away) */
};

/* What arrived since the news were last reset. */
struct ib_idle_news {
    unsigned int lines;        /* untagged lines read */
    bool exists;               /* "* n EXISTS" (or RECENT) */
    bool expunge;              /* "* n EXPUNGE" or "* VANISHED" */
    bool fetch;                /* "* n FETCH" (flags, modseq) */
    bool folders;              /* "* LIST" / "* LSUB" (NOTIFY MailboxName,
                                  SubscriptionChange) */
    bool other;                /* anything not understood: ask STATUS */
    bool bye;                  /* "* BYE": the server is closing */
    uint64_t highestmodseq;    /* last [HIGHESTMODSEQ n] code, 0 if none */
    uint32_t uidnext;          /* last [UIDNEXT n] code, 0 if none */
    struct ib_idle_status *statuses;
    size_t nstatuses, cap;
    struct ib_idle_folder *lists;
    size_t nlists, lists_cap;
};

/* Did anything arrive that may change the folder (anything but a bare
   "* OK text" keep-alive such as Dovecot's "Still here")? */
bool ib_idle_news_any(const struct ib_idle_news *n);
void ib_idle_news_reset(struct ib_idle_news *n);

/* Classify one untagged line (without CRLF; literals inline) into n.
   Pure; exposed for the unit tests and the fuzzer. Returns 0 or CM_ENOMEM. */
int ib_idle_classify(struct ib_idle_news *n, const char *line, size_t len);

struct ib_idle {
    int tag;                   /* tag number of the IDLE command */
    bool active;               /* IDLE sent and acknowledged, DONE not yet */
    struct ib_idle_news news;
};

/* Send IDLE and read up to the "+" continuation; untagged lines before it
   go into idle->news. A NO/BAD to IDLE is CM_EUPSTREAM (session usable);
   other failures as ib_session_check (session broken). */
int ib_idle_start(struct ib_session *s, struct ib_idle *idle, struct cm_err *err)
    __attribute__((warn_unused_result));

/* The socket to wait on, and whether bytes are already buffered (in
   libetpan's or OpenSSL's buffer) so that the socket may never become
   readable for them. No I/O. */
int ib_idle_fd(struct ib_session *s);
bool ib_idle_buffered(struct ib_session *s);

/* Send DONE and read every line up to IDLE's tagged OK into idle->news.
   timeout_ms > 0 bounds each wait (e.g. a polite DONE at close); 0 keeps
   the session's timeout. A "* BYE" before the tagged line is CM_EUNAVAIL
   with the server's text. */
int ib_idle_done(struct ib_session *s, struct ib_idle *idle, unsigned int timeout_ms,
                 struct cm_err *err) __attribute__((warn_unused_result));

/* NOTIFY SET STATUS (personal (MessageNew MessageExpunge FlagChange
   MailboxName SubscriptionChange)): one connection hears of every folder
   of the account. The STATUS of every folder that the server sends before
   its tagged OK goes into news. CM_EUPSTREAM when refused (NO/BAD; the
   session stays usable), CM_ECONFIG when the server has no NOTIFY. */
int ib_notify_set(struct ib_session *s, struct ib_idle_news *news, struct cm_err *err)
    __attribute__((warn_unused_result));

#endif
