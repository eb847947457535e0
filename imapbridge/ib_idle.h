/* ib_idle.h - IDLE (RFC 2177) and NOTIFY (RFC 5465) for the realtime
 * watchers: start IDLE and hand back the socket, say whether bytes are
 * already buffered, end it with DONE and report, as a plain struct, every
 * untagged response the server sent meanwhile.
 *
 * The lines are read (ib_lines) and classified (ib_untagged) by us, not by
 * libetpan: libetpan's own IDLE drops untagged data that arrives before
 * "+ idling", and its counters (sel_exists) are not lowered by QRESYNC's
 * VANISHED, so a watcher that compared them would miss a change (LIBS.md).
 *
 * Ownership: struct ib_idle and the news in it belong to the caller (one
 * per watching session); ib_untagged_reset frees the STATUS entries.
 * Threads: the thread that owns the session.
 */
#ifndef IB_IDLE_H
#define IB_IDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cm_err.h"
#include "imapbridge/ib_untagged.h"

struct ib_session;

struct ib_idle {
    int tag;                   /* tag number of the IDLE command */
    bool active;               /* IDLE sent and acknowledged, DONE not yet */
    struct ib_untagged news;
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
int ib_notify_set(struct ib_session *s, struct ib_untagged *news, struct cm_err *err)
    __attribute__((warn_unused_result));

#endif
