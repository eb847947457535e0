/* ib_mailbox_status.c - STATUS of every folder of a listing, pipelined. */
#include "imapbridge/ib_mailbox_status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libetpan/libetpan.h>

#include "imapbridge/ib_etpan.h"
#include "imapbridge/ib_ext.h"
#include "imapbridge/ib_mailbox.h"
#include "imapbridge/ib_session.h"

static void apply_status(struct ib_folder *f, const struct mailimap_mailbox_data_status *st)
{
    for (clistiter *it = st && st->st_info_list ? clist_begin(st->st_info_list) : NULL; it;
         it = clist_next(it)) {
        const struct mailimap_status_info *si = clist_content(it);

        switch (si->st_att) {
        case MAILIMAP_STATUS_ATT_MESSAGES: f->total = si->st_value; break;
        case MAILIMAP_STATUS_ATT_UNSEEN: f->unread = si->st_value; break;
        case MAILIMAP_STATUS_ATT_UIDVALIDITY: f->uidvalidity = si->st_value; break;
        case MAILIMAP_STATUS_ATT_UIDNEXT: f->uidnext = si->st_value; break;
        case MAILIMAP_STATUS_ATT_EXTENSION:
            if (si->st_ext_data != NULL &&
                si->st_ext_data->ext_type == MAILIMAP_CONDSTORE_TYPE_STATUS_INFO)
                f->highestmodseq =
                    ((struct mailimap_condstore_status_info *)si->st_ext_data->ext_data)
                        ->cs_highestmodseq_value;
            break;
        default: break;
        }
    }
    f->has_status = true;
}

/* The server's own folder id in a STATUS reply: RFC 8474 MAILBOXID, else
   Dovecot's X-GUID. Kept only when it is a plausible token. */
static void take_object_id(struct ib_folder *f, const struct mailimap_mailbox_data_status *st)
{
    const char *oid = ib_ext_status_string(st, IB_EXT_STATUS_MAILBOXID);

    if (oid == NULL)
        oid = ib_ext_status_string(st, IB_EXT_STATUS_XGUID);
    if (oid != NULL && ib_ext_objectid_valid(oid)) {
        free(f->object_id);
        f->object_id = strdup(oid);
    }
}

/* The STATUS item that names the folder's server-side id, or NULL. */
static const char *object_id_item(unsigned int caps)
{
    if (caps & IB_CAP_OBJECTID)
        return "MAILBOXID";
    if (caps & IB_CAP_XGUID)
        return "X-GUID";
    return NULL;
}

/* STATUS one folder with libetpan's own command (no id item). A NO
   (folder vanished meanwhile) leaves has_status false; only a broken
   session is an error. */
static int folder_status_plain(struct ib_session *s, struct ib_folder *f, struct cm_err *err)
{
    struct mailimap_status_att_list *atts = mailimap_status_att_list_new_empty();
    struct mailimap_mailbox_data_status *st = NULL;
    int rc;

    if (atts == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    mailimap_status_att_list_add(atts, MAILIMAP_STATUS_ATT_MESSAGES);
    mailimap_status_att_list_add(atts, MAILIMAP_STATUS_ATT_UNSEEN);
    mailimap_status_att_list_add(atts, MAILIMAP_STATUS_ATT_UIDVALIDITY);
    mailimap_status_att_list_add(atts, MAILIMAP_STATUS_ATT_UIDNEXT);
    if (ib_session_caps(s) & IB_CAP_CONDSTORE)
        mailimap_status_att_list_add(atts, MAILIMAP_STATUS_ATT_HIGHESTMODSEQ);
    rc = ib_session_check(s, mailimap_status(ib_session_imap(s), f->imap_name, atts, &st),
                          "STATUS", err);
    if (rc == 0)
        apply_status(f, st);
    if (st != NULL)
        mailimap_mailbox_data_status_free(st);
    mailimap_status_att_list_free(atts);
    if (rc < 0 && !ib_session_is_broken(s)) {
        cm_err_clear(err);
        return 0;
    }
    return rc;
}


/* "(MESSAGES UNSEEN UIDVALIDITY UIDNEXT[ HIGHESTMODSEQ][ <id item>])" */
static void status_words(char *dst, size_t cap, unsigned int caps, const char *id_item)
{
    snprintf(dst, cap, "(MESSAGES UNSEEN UIDVALIDITY UIDNEXT%s%s%s)",
             (caps & IB_CAP_CONDSTORE) ? " HIGHESTMODSEQ" : "", id_item ? " " : "",
             id_item ? id_item : "");
}

/* A name we can write without a literal: printable ASCII. */
static bool plain_name(const char *name)
{
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (*p < 0x20 || *p > 0x7e)
            return false;
    }
    return name[0] != '\0';
}

/* Write "<tag> STATUS <mailbox> <items>" CRLF (buffered, not flushed);
   *tag_r gets the command's tag number. */
static int status_send(mailimap *imap, const char *name, const char *items, int *tag_r)
{
    mailstream *ms = imap->imap_stream;
    int r = mailimap_send_current_tag(imap);

    *tag_r = imap->imap_tag;
    if (r == MAILIMAP_NO_ERROR)
        r = mailimap_token_send(ms, "STATUS");
    if (r == MAILIMAP_NO_ERROR)
        r = mailimap_space_send(ms);
    if (r == MAILIMAP_NO_ERROR)
        r = mailimap_mailbox_send(ms, name);
    if (r == MAILIMAP_NO_ERROR)
        r = mailimap_space_send(ms);
    if (r == MAILIMAP_NO_ERROR)
        r = mailimap_token_send(ms, items);
    if (r == MAILIMAP_NO_ERROR)
        r = mailimap_crlf_send(ms);
    return r;
}

/* Read the answer to the STATUS with tag number tag into f. libetpan
   checks a tagged line against imap_tag, so that is set to this command's
   tag first. A libetpan code: MAILIMAP_ERROR_STATUS for a NO or BAD. */
static int status_read(mailimap *imap, int tag, struct ib_folder *f)
{
    struct mailimap_mailbox_data_status *st;
    struct mailimap_response *resp = NULL;
    bool ok;
    int r;

    imap->imap_tag = tag;
    r = ib_etpan_read_response(imap, &resp);
    if (r != MAILIMAP_NO_ERROR)
        return r;
    st = imap->imap_response_info->rsp_status;
    imap->imap_response_info->rsp_status = NULL;
    ok = ib_etpan_tagged_ok(resp);
    if (ok && st != NULL) {
        apply_status(f, st);
        take_object_id(f, st);
    }
    if (st != NULL)
        mailimap_mailbox_data_status_free(st);
    mailimap_response_free(resp);
    return ok ? MAILIMAP_NO_ERROR : MAILIMAP_ERROR_STATUS;
}

/* One batch: folders [from, to) that are selectable and plainly named get
   their STATUS written, then read. tags[i] is 0 for a folder not sent,
   -1 for one the server refused. */
static int status_batch(struct ib_session *s, struct ib_folder_list *l, size_t from, size_t to,
                        const char *items, int *tags, struct cm_err *err)
{
    mailimap *imap = ib_session_imap(s);
    int rc = 0;

    for (size_t i = from; i < to; i++) {
        const struct ib_folder *f = &l->items[i];

        tags[i] = 0;
        if (f->selectable && plain_name(f->imap_name) &&
            (rc = ib_session_check(s, status_send(imap, f->imap_name, items, &tags[i]),
                                   "STATUS", err)) < 0)
            return rc;
    }
    if (mailstream_flush(imap->imap_stream) == -1)
        return ib_session_check(s, MAILIMAP_ERROR_STREAM, "STATUS", err);
    for (size_t i = from; i < to; i++) {
        if (tags[i] == 0)
            continue;
        rc = ib_session_check(s, status_read(imap, tags[i], &l->items[i]), "STATUS", err);
        if (rc < 0 && ib_session_is_broken(s))
            return rc;
        if (rc < 0) {
            cm_err_clear(err);
            tags[i] = -1;
        }
    }
    return 0;
}

int ib_mailbox_status_all(struct ib_session *s, struct ib_folder_list *l, struct cm_err *err)
{
    const char *id_item = object_id_item(ib_session_caps(s));
    int *tags = calloc(l->count + 1, sizeof(*tags));
    char items[96];
    int rc = 0;

    if (tags == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    status_words(items, sizeof(items), ib_session_caps(s), id_item);
    for (size_t i = 0; rc == 0 && i < l->count; i += IB_STATUS_PIPELINE) {
        size_t to = i + IB_STATUS_PIPELINE < l->count ? i + IB_STATUS_PIPELINE : l->count;

        rc = status_batch(s, l, i, to, items, tags, err);
    }
    /* one by one: names we do not pipeline, and refusals when we asked for
       the id item (a server that does not know it still has counts) */
    for (size_t i = 0; rc == 0 && i < l->count; i++) {
        struct ib_folder *f = &l->items[i];

        if (f->selectable && (tags[i] == 0 || (tags[i] == -1 && id_item != NULL)))
            rc = folder_status_plain(s, f, err);
    }
    free(tags);
    return rc;
}

int ib_mailbox_status_send(struct ib_session *s, const char *imap_name, int *tag_r,
                           struct cm_err *err)
{
    char items[96];

    *tag_r = 0;
    if (!plain_name(imap_name))
        return cm_err_set(err, CM_EINVAL, "imap: folder name not sendable in a pipeline");
    status_words(items, sizeof(items), ib_session_caps(s), object_id_item(ib_session_caps(s)));
    return ib_session_check(s, status_send(ib_session_imap(s), imap_name, items, tag_r),
                            "STATUS", err);
}

int ib_mailbox_status_recv(struct ib_session *s, int tag, struct ib_folder *f,
                           struct cm_err *err)
{
    int rc = ib_session_check(s, status_read(ib_session_imap(s), tag, f), "STATUS", err);

    if (rc < 0 && !ib_session_is_broken(s)) {
        cm_err_clear(err);
        return 0;
    }
    return rc;
}
