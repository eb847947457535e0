/* ib_status.c - STATUS of one folder. */
#include "imapbridge/ib_status.h"

#include <string.h>

#include <libetpan/libetpan.h>

#include "imapbridge/ib_session.h"

static void read_item(const struct mailimap_status_info *si, struct ib_status *st)
{
    switch (si->st_att) {
    case MAILIMAP_STATUS_ATT_MESSAGES: st->messages = si->st_value; break;
    case MAILIMAP_STATUS_ATT_UIDNEXT: st->uidnext = si->st_value; break;
    case MAILIMAP_STATUS_ATT_UIDVALIDITY: st->uidvalidity = si->st_value; break;
    case MAILIMAP_STATUS_ATT_UNSEEN: st->unseen = si->st_value; break;
    case MAILIMAP_STATUS_ATT_EXTENSION:
        if (si->st_ext_data != NULL &&
            si->st_ext_data->ext_extension->ext_id == MAILIMAP_EXTENSION_CONDSTORE &&
            si->st_ext_data->ext_type == MAILIMAP_CONDSTORE_TYPE_STATUS_INFO) {
            const struct mailimap_condstore_status_info *cs = si->st_ext_data->ext_data;

            st->highestmodseq = cs->cs_highestmodseq_value;
        }
        break;
    default: break;
    }
}

/* STATUS of the selected folder answers from the session's view: bring it
   up to date first (ib_session_sync). */
static int sync_if_selected(struct ib_session *s, const char *imap_name, struct cm_err *err)
{
    const char *sel = ib_session_selected(s);

    return sel != NULL && strcmp(sel, imap_name) == 0 ? ib_session_sync(s, err) : 0;
}

int ib_status_get(struct ib_session *s, const char *imap_name, struct ib_status *st_r,
                  struct cm_err *err)
{
    struct mailimap_status_att_list *l;
    struct mailimap_mailbox_data_status *st = NULL;
    int rc;

    memset(st_r, 0, sizeof(*st_r));
    if (ib_session_is_broken(s))
        return cm_err_set(err, CM_EUPSTREAM, "imap: session is broken");
    rc = sync_if_selected(s, imap_name, err);
    if (rc < 0)
        return rc;
    l = mailimap_status_att_list_new_empty();
    if (l == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    mailimap_status_att_list_add(l, MAILIMAP_STATUS_ATT_MESSAGES);
    mailimap_status_att_list_add(l, MAILIMAP_STATUS_ATT_UIDNEXT);
    mailimap_status_att_list_add(l, MAILIMAP_STATUS_ATT_UIDVALIDITY);
    mailimap_status_att_list_add(l, MAILIMAP_STATUS_ATT_UNSEEN);
    if (ib_session_caps(s) & IB_CAP_CONDSTORE)
        mailimap_status_att_list_add(l, MAILIMAP_STATUS_ATT_HIGHESTMODSEQ);
    rc = ib_session_check(s, mailimap_status(ib_session_imap(s), imap_name, l, &st), "STATUS",
                          err);
    mailimap_status_att_list_free(l);
    if (rc == CM_EUPSTREAM && !ib_session_is_broken(s))
        rc = cm_err_set(err, CM_ENOENT, "no such mailbox");
    for (clistiter *it = st && rc == 0 ? clist_begin(st->st_info_list) : NULL; it;
         it = clist_next(it))
        read_item(clist_content(it), st_r);
    if (st != NULL)
        mailimap_mailbox_data_status_free(st);
    return rc;
}
