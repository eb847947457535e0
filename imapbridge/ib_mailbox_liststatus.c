/* ib_mailbox_liststatus.c - a folder listing in one command (RFC 5819
 * LIST-STATUS), read with ib_lines: libetpan keeps only the last STATUS of
 * a response, and this one has a STATUS per folder. One round trip and one
 * command instead of LIST, LSUB and a STATUS per folder; Dovecot answers
 * it for 300 folders in one go. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libetpan/libetpan.h>


#include "imapbridge/ib_etpan.h"
#include "imapbridge/ib_lines.h"
#include "imapbridge/ib_mailbox_int.h"
#include "imapbridge/ib_session.h"
#include "imapbridge/ib_sortorder.h"

/* The command for this session's capabilities into buf. */
static void list_status_command(unsigned int caps, char *buf, size_t cap)
{
    snprintf(buf, cap,
             "LIST \"\" \"*\" RETURN (SUBSCRIBED%s STATUS (MESSAGES UNSEEN UIDVALIDITY "
             "UIDNEXT%s%s))",
             (caps & IB_CAP_SPECIAL_USE) ? " SPECIAL-USE" : "",
             (caps & IB_CAP_CONDSTORE) ? " HIGHESTMODSEQ" : "",
             (caps & IB_CAP_OBJECTID) ? "" : (caps & IB_CAP_XGUID) ? " X-GUID" : "");
}

/* The first SPECIAL-USE flag of a LIST flag list ("\Sent \HasNoChildren"). */
static const char *role_of_flags(const char *flags)
{
    for (const char *p = flags; (p = strchr(p, '\\')) != NULL; p++) {
        char word[32];
        size_t n = strcspn(p + 1, " ");
        const char *role;

        if (n == 0 || n >= sizeof(word))
            continue;
        memcpy(word, p + 1, n);
        word[n] = '\0';
        role = ib_mailbox_role_from_flag(word);
        if (role != NULL)
            return role;
    }
    return NULL;
}

static bool same_folder(const char *a, const char *b)
{
    return strcmp(a, b) == 0 || (strcasecmp(a, "INBOX") == 0 && strcasecmp(b, "INBOX") == 0);
}

static int take_status(struct ib_folder *f, const struct ib_status_line *st)
{
    f->has_status = (st->have & (IB_ST_MESSAGES | IB_ST_UIDNEXT | IB_ST_UIDVALIDITY)) ==
                    (IB_ST_MESSAGES | IB_ST_UIDNEXT | IB_ST_UIDVALIDITY);
    f->total = st->messages;
    f->unread = st->unseen;
    f->uidvalidity = st->uidvalidity;
    f->uidnext = st->uidnext;
    f->highestmodseq = st->highestmodseq;
    if (st->object_id != NULL && (f->object_id = strdup(st->object_id)) == NULL)
        return CM_ENOMEM;
    return 0;
}

/* The folders of the LIST lines, with the STATUS lines that name them. */
static int build(const struct ib_untagged *u, struct ib_folder_list *out, struct cm_err *err)
{
    out->items = calloc(u->nlists + 1, sizeof(*out->items));
    if (out->items == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    for (size_t i = 0; i < u->nlists; i++) {
        const struct ib_list_line *l = &u->lists[i];
        struct ib_folder *f = &out->items[out->count++];

        if (ib_folder_init(f, l->imap_name, l->delimiter) < 0)
            return cm_err_set(err, CM_ENOMEM, "out of memory");
        f->selectable = !l->noselect;
        f->subscribed = l->subscribed;
        f->role = role_of_flags(l->flags);
        ib_folder_default_role(f);
        for (size_t j = 0; f->selectable && j < u->nstatuses; j++) {
            if (same_folder(u->statuses[j].imap_name, l->imap_name) &&
                take_status(f, &u->statuses[j]) < 0)
                return cm_err_set(err, CM_ENOMEM, "out of memory");
        }
    }
    return ib_folder_list_finish(out, err);
}

/* The selected folder made current in front of the listing: STATUS of
   it answers from the session's view. ib_session_use_send keeps its mode
   and, for a near server, syncs it with a NOOP round trip of its own (a
   NOOP written in front of the listing would end after it on Dovecot);
   behind a distant one it writes EXAMINE/SELECT of it afresh, in the
   listing's round trip. *use_r: what was written (use->tag 0: nothing). */
static int current_send(struct ib_session *s, struct ib_use *use, struct cm_err *err)
{
    char *name = ib_session_selected(s) ? strdup(ib_session_selected(s)) : NULL;
    int rc;

    use->tag = 0;
    use->opened = false;
    if (ib_session_selected(s) == NULL)
        return 0;
    if (name == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    rc = ib_session_use_send(s, name, !ib_session_selected_rw(s), use, err);
    free(name);
    if (rc == CM_EINVAL) { /* a name not sendable in a pipeline: sync it */
        cm_err_clear(err);
        rc = ib_session_sync(s, err);
    }
    return rc;
}

/* LIST-STATUS with the selected folder made current in front of it
   (current_send), into out. */
static int exchange(struct ib_session *s, struct ib_folder_list *out, bool *news_r,
                    struct cm_err *err)
{
    struct ib_use use = { 0 };
    struct ib_lsq q = { 0 };
    int rc = current_send(s, &use, err);

    if (rc == 0)
        rc = ib_mailbox_list_status_send(s, &q, err);
    if (rc == 0 && mailstream_flush(ib_session_imap(s)->imap_stream) == -1)
        rc = ib_session_check(s, MAILIMAP_ERROR_STREAM, "LIST-STATUS", err);
    if (rc < 0)
        return rc;
    /* a folder that could not be reopened is no longer selected: the
       listing does not depend on it */
    if (ib_session_use_recv(s, &use, NULL) < 0 && ib_session_is_broken(s))
        return cm_err_set(err, CM_EUPSTREAM, "imap: EXAMINE failed");
    return ib_mailbox_list_status_recv(s, &q, out, news_r, err);
}

int ib_mailbox_list_status(struct ib_session *s, struct ib_folder_list *out,
                           struct cm_err *err)
{
    bool news = false;
    int rc;

    if (!(ib_session_caps(s) & IB_CAP_LIST_STATUS))
        return cm_err_set(err, CM_ECONFIG, "imap: no LIST-STATUS");
    rc = exchange(s, out, &news, err);
    if (rc == 0 && news && ib_session_selected(s) != NULL)
        /* news of the selected folder came with the listing and went past
           libetpan, whose view of the selection is now stale: reopen it */
        rc = ib_session_drop_selection(s, err);
    if (rc < 0)
        ib_folder_list_fini(out);
    return rc;
}

int ib_mailbox_list_status_send(struct ib_session *s, struct ib_lsq *q, struct cm_err *err)
{
    char cmd[256];
    int rc;

    q->tag = q->ids_tag = q->order_tag = 0;
    if (!(ib_session_caps(s) & IB_CAP_LIST_STATUS))
        return cm_err_set(err, CM_ECONFIG, "imap: no LIST-STATUS");
    list_status_command(ib_session_caps(s), cmd, sizeof(cmd));
    rc = ib_session_check(s, ib_etpan_send_line(ib_session_imap(s), cmd, &q->tag),
                          "LIST-STATUS", err);
    if (rc == 0 && (ib_session_caps(s) & IB_CAP_OBJECTID))
        rc = ib_session_check(s, ib_etpan_send_line(ib_session_imap(s),
                                                    "LIST \"\" \"*\" RETURN (STATUS (MAILBOXID))",
                                                    &q->ids_tag),
                              "LIST-STATUS", err);
    if (rc == 0)
        rc = ib_sortorder_send(s, &q->order_tag, err);
    return rc;
}

/* The MAILBOXIDs of the second listing onto the STATUS lines of the first. */
static void take_ids(struct ib_untagged *u, struct ib_untagged *ids)
{
    for (size_t i = 0; i < ids->nstatuses; i++) {
        struct ib_status_line *from = &ids->statuses[i];

        for (size_t j = 0; from->object_id != NULL && j < u->nstatuses; j++) {
            if (same_folder(u->statuses[j].imap_name, from->imap_name)) {
                free(u->statuses[j].object_id);
                u->statuses[j].object_id = from->object_id;
                from->object_id = NULL;
            }
        }
    }
}

/* The sortOrders' answer onto out (read even when the listing failed, so
   the stream stays in step); rc: the listing's result so far. */
static int read_orders(struct ib_session *s, int tag, struct ib_folder_list *out, int rc,
                       struct cm_err *err)
{
    struct ib_folder_list none = { 0 };
    int rc_order = ib_sortorder_recv(s, tag, rc == 0 ? out : &none, rc == 0 ? err : NULL);

    return rc < 0 ? rc : rc_order;
}

int ib_mailbox_list_status_recv(struct ib_session *s, const struct ib_lsq *q,
                                struct ib_folder_list *out, bool *news_r, struct cm_err *err)
{
    struct ib_untagged u = { 0 }, ids = { 0 };
    int rc = ib_lines_read(s, &u, q->tag, false, "LIST-STATUS", err);

    memset(out, 0, sizeof(*out));
    if (q->ids_tag != 0 && !ib_session_is_broken(s)) {
        int rc_ids = ib_lines_read(s, &ids, q->ids_tag, false, "LIST-STATUS", err);

        rc = rc < 0 ? rc : rc_ids;
    }
    *news_r = u.exists || u.expunge || u.fetch || ids.exists || ids.expunge || ids.fetch;
    take_ids(&u, &ids);
    if (rc == 0)
        rc = build(&u, out, err);
    if (q->order_tag != 0 && !ib_session_is_broken(s))
        rc = read_orders(s, q->order_tag, out, rc, err);
    ib_untagged_reset(&u);
    ib_untagged_reset(&ids);
    if (rc < 0)
        ib_folder_list_fini(out);
    return rc;
}

int ib_mailbox_list_unselect(struct ib_session *s, struct ib_folder_list *out,
                             struct cm_err *err)
{
    unsigned int need = IB_CAP_LIST_STATUS | IB_CAP_UNSELECT;
    struct ib_lsq list_q = { 0 };
    int un_tag = 0, rc, rc_un;
    bool news = false;

    memset(out, 0, sizeof(*out));
    /* a near server: the listing from the selection's view, and the
       UNSELECT at checkin (after UNSELECT, STATUS of that folder opens it:
       a few ms for thousands of messages, more than a round trip) */
    if ((ib_session_caps(s) & need) != need || ib_session_selected(s) == NULL ||
        ib_session_is_near(s))
        return ib_mailbox_list(s, out, err);
    rc = ib_session_unselect_send(s, &un_tag, err);
    if (rc == 0)
        rc = ib_mailbox_list_status_send(s, &list_q, err);
    if (rc == 0 && mailstream_flush(ib_session_imap(s)->imap_stream) == -1)
        rc = ib_session_check(s, MAILIMAP_ERROR_STREAM, "UNSELECT", err);
    if (rc < 0)
        return rc; /* nothing went out, or the stream failed */
    rc_un = ib_session_unselect_recv(s, un_tag, NULL);
    if (ib_session_is_broken(s))
        return cm_err_set(err, rc_un < 0 ? rc_un : CM_EUPSTREAM, "imap: UNSELECT failed");
    return ib_mailbox_list_status_recv(s, &list_q, out, &news, err);
}
