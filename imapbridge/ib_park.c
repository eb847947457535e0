/* ib_park.c - the parking folder of uploaded blobs, over IMAP. */
#include "imapbridge/ib_park.h"

#include <stdlib.h>

#include "imapbridge/ib_append.h"
#include "imapbridge/ib_fetch.h"
#include "imapbridge/ib_mailbox_edit.h"
#include "imapbridge/ib_session.h"
#include "imapbridge/ib_store.h"
#include "imapbridge/ib_uidset.h"

int ib_park_put(struct ib_session *s, const char *msg, size_t len, uint32_t *uidvalidity_r,
                uint32_t *uid_r, struct cm_err *err)
{
    int rc = ib_append(s, IB_PARK_FOLDER, NULL, 0, -1, msg, len, uidvalidity_r, uid_r, err);

    if (rc != CM_ENOENT || ib_session_is_broken(s))
        return rc;
    /* [TRYCREATE]: create it (never subscribed) and try once more. A CREATE
       that fails because another instance just made it is fine. */
    cm_err_clear(err);
    if (ib_mailbox_create(s, IB_PARK_FOLDER, err) < 0) {
        if (ib_session_is_broken(s))
            return err->code;
        cm_err_clear(err);
    }
    return ib_append(s, IB_PARK_FOLDER, NULL, 0, -1, msg, len, uidvalidity_r, uid_r, err);
}

/* Select the folder; CM_ENOENT when it is missing or not the blob's. */
static int select_park(struct ib_session *s, uint32_t uidvalidity, bool read_only,
                       struct cm_err *err)
{
    struct ib_selection sel;
    int rc = ib_session_select(s, IB_PARK_FOLDER, read_only, &sel, err);

    if (rc < 0 && !ib_session_is_broken(s)) {
        cm_err_clear(err);
        return cm_err_set(err, CM_ENOENT, "no such blob");
    }
    if (rc == 0 && uidvalidity != 0 && sel.uidvalidity != uidvalidity)
        rc = cm_err_set(err, CM_ENOENT, "no such blob");
    return rc;
}

int ib_park_get(struct ib_session *s, const struct ib_park_ref *ref, char **data_r, size_t *len_r,
                struct cm_err *err)
{
    char *data = NULL;
    size_t len = 0;
    int rc = select_park(s, ref->uidvalidity, true, err);

    *data_r = NULL;
    *len_r = 0;
    if (rc == 0) /* part 1 of a single-part message: its body, still base64 */
        rc = ib_fetch_section(s, ref->uid, "1", 0, 0, &data, &len, err);
    if (rc == 0 && (ib_park_unwrap(data, len, &len) < 0 || len != ref->size))
        rc = cm_err_set(err, CM_ENOENT, "no such blob (its parked copy is damaged)");
    if (rc < 0) {
        free(data);
        return rc;
    }
    data[len] = '\0';
    *data_r = data;
    *len_r = len;
    return 0;
}

int ib_park_drop(struct ib_session *s, const struct ib_park_ref *ref, struct cm_err *err)
{
    int rc = select_park(s, ref->uidvalidity, false, err);

    if (rc == CM_ENOENT) {
        cm_err_clear(err);
        return 0;
    }
    return rc < 0 ? rc : ib_store_expunge(s, ref->uid, err);
}

int ib_park_sweep(struct ib_session *s, int64_t now, unsigned int ttl, uint64_t *kept_bytes_r,
                  struct cm_err *err)
{
    struct ib_selection sel;
    struct ib_msg *m = NULL;
    struct mailimap_set *all;
    size_t n = 0;
    int rc = ib_session_select(s, IB_PARK_FOLDER, false, &sel, err);

    *kept_bytes_r = 0;
    if (rc < 0) { /* no folder yet: nothing parked */
        if (!ib_session_is_broken(s))
            cm_err_clear(err);
        return ib_session_is_broken(s) ? rc : 0;
    }
    if (sel.exists == 0)
        return 0;
    all = ib_uidset_interval(1, 0); /* 1:* */
    rc = all ? ib_fetch_msgs(s, all, IB_FETCH_INTERNALDATE | IB_FETCH_SIZE, &m, &n, err)
             : cm_err_set(err, CM_ENOMEM, "out of memory");
    if (all != NULL)
        ib_uidset_free(all);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if ((int64_t)m[i].internaldate + (int64_t)ttl <= now)
            rc = ib_store_expunge(s, m[i].uid, err);
        else
            *kept_bytes_r += m[i].size;
    }
    ib_msgs_free(m, n);
    return rc;
}
