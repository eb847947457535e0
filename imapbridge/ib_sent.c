/* ib_sent.c - APPEND the Sent copy (see ib_sent.h). */
#include "imapbridge/ib_sent.h"

#include <libetpan/libetpan.h>

#include "imapbridge/ib_session.h"

int ib_sent_append(struct ib_session *s, const char *imap_name, const char *data, size_t len,
                   uint32_t *uidvalidity_r, uint32_t *uid_r, struct cm_err *err)
{
    struct mailimap_flag_list *fl = mailimap_flag_list_new_empty();
    struct mailimap_flag *seen = mailimap_flag_new_seen();
    int rc;

    *uidvalidity_r = *uid_r = 0;
    if (fl == NULL || seen == NULL || mailimap_flag_list_add(fl, seen) != MAILIMAP_NO_ERROR) {
        if (seen != NULL)
            mailimap_flag_free(seen);
        if (fl != NULL)
            mailimap_flag_list_free(fl);
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    }
    if (ib_session_caps(s) & IB_CAP_UIDPLUS)
        rc = mailimap_uidplus_append(ib_session_imap(s), imap_name, fl, NULL, data, len,
                                     uidvalidity_r, uid_r);
    else
        rc = mailimap_append(ib_session_imap(s), imap_name, fl, NULL, data, len);
    mailimap_flag_list_free(fl);
    return ib_session_check(s, rc, "APPEND", err);
}
