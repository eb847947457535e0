/* ib_idle.c - IDLE, DONE and NOTIFY SET, read with ib_lines (see
 * ib_idle.h for why not libetpan's). */
#include "imapbridge/ib_idle.h"

#include <libetpan/libetpan.h>

#include "imapbridge/ib_lines.h"
#include "imapbridge/ib_session.h"
#include "imapbridge/ib_stream.h"

static const char NOTIFY_SET[] =
    "NOTIFY SET STATUS (personal (MessageNew MessageExpunge FlagChange MailboxName "
    "SubscriptionChange))";

/* ---- IDLE ---------------------------------------------------------------- */

int ib_idle_start(struct ib_session *s, struct ib_idle *idle, struct cm_err *err)
{
    int rc = ib_lines_send(s, "IDLE", &idle->tag, "IDLE", err);

    if (rc == 0)
        rc = ib_lines_read(s, &idle->news, idle->tag, true, "IDLE", err);
    idle->active = rc == 0;
    return rc;
}

int ib_idle_fd(struct ib_session *s)
{
    mailstream *st = ib_session_imap(s)->imap_stream;

    return st != NULL ? ib_stream_fd(st->low) : -1;
}

bool ib_idle_buffered(struct ib_session *s)
{
    mailstream *st = ib_session_imap(s)->imap_stream;

    return st != NULL && (st->read_buffer_len > 0 || ib_stream_has_pending(st->low));
}

int ib_idle_done(struct ib_session *s, struct ib_idle *idle, unsigned int timeout_ms,
                 struct cm_err *err)
{
    mailimap *imap = ib_session_imap(s);
    unsigned int saved = 0;
    int rc;

    if (!idle->active)
        return cm_err_set(err, CM_EINTERNAL, "imap: DONE without IDLE");
    idle->active = false;
    if (ib_session_is_broken(s) || imap->imap_stream == NULL)
        return cm_err_set(err, CM_EUPSTREAM, "imap: session is broken");
    if (timeout_ms > 0) {
        saved = ib_stream_timeout(imap->imap_stream->low);
        ib_stream_set_timeout(imap->imap_stream->low, timeout_ms);
    }
    rc = mailstream_write(imap->imap_stream, "DONE\r\n", 6) == 6 &&
                 mailstream_flush(imap->imap_stream) == 0
             ? 0
             : ib_session_check(s, MAILIMAP_ERROR_STREAM, "IDLE DONE", err);
    if (rc == 0)
        rc = ib_lines_read(s, &idle->news, idle->tag, false, "IDLE DONE", err);
    if (rc == 0 && !idle->news.other) /* an untagged NO/BAD: let a NOOP look again */
        ib_session_note_synced(s);
    if (timeout_ms > 0 && imap->imap_stream != NULL)
        ib_stream_set_timeout(imap->imap_stream->low, saved);
    return rc;
}

/* ---- NOTIFY ---------------------------------------------------------------- */

int ib_notify_set(struct ib_session *s, struct ib_untagged *news, struct cm_err *err)
{
    int tag, rc;

    if (!(ib_session_caps(s) & IB_CAP_NOTIFY))
        return cm_err_set(err, CM_ECONFIG, "imap: the server does not offer NOTIFY");
    rc = ib_lines_send(s, NOTIFY_SET, &tag, "NOTIFY", err);
    return rc < 0 ? rc : ib_lines_read(s, news, tag, false, "NOTIFY", err);
}
