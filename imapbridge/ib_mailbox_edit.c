/* ib_mailbox_edit.c - CREATE, RENAME, DELETE, (UN)SUBSCRIBE. */
#include "imapbridge/ib_mailbox_edit.h"

#include <libetpan/libetpan.h>

#include "imapbridge/ib_session.h"

static int usable(struct ib_session *s, struct cm_err *err)
{
    if (ib_session_is_broken(s))
        return cm_err_set(err, CM_EUPSTREAM, "imap: session is broken");
    return ib_session_unselect(s, err);
}

int ib_mailbox_create(struct ib_session *s, const char *imap_name, struct cm_err *err)
{
    int rc = usable(s, err);

    if (rc < 0)
        return rc;
    return ib_session_check(s, mailimap_create(ib_session_imap(s), imap_name), "CREATE", err);
}

int ib_mailbox_rename(struct ib_session *s, const char *from, const char *to, struct cm_err *err)
{
    int rc = usable(s, err);

    if (rc < 0)
        return rc;
    return ib_session_check(s, mailimap_rename(ib_session_imap(s), from, to), "RENAME", err);
}

int ib_mailbox_delete(struct ib_session *s, const char *imap_name, struct cm_err *err)
{
    int rc = usable(s, err);

    if (rc < 0)
        return rc;
    return ib_session_check(s, mailimap_delete(ib_session_imap(s), imap_name), "DELETE", err);
}

int ib_mailbox_subscribe(struct ib_session *s, const char *imap_name, bool subscribe,
                         struct cm_err *err)
{
    mailimap *imap = ib_session_imap(s);

    if (ib_session_is_broken(s))
        return cm_err_set(err, CM_EUPSTREAM, "imap: session is broken");
    if (subscribe)
        return ib_session_check(s, mailimap_subscribe(imap, imap_name), "SUBSCRIBE", err);
    return ib_session_check(s, mailimap_unsubscribe(imap, imap_name), "UNSUBSCRIBE", err);
}
