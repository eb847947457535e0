/* ib_mailbox.c - LIST/LSUB/STATUS into struct ib_folder, roles, ids. */
#include "imapbridge/ib_mailbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libetpan/libetpan.h>

#include "common/cm_b64.h"
#include "common/cm_crypto.h"
#include "imapbridge/ib_etpan.h"
#include "imapbridge/ib_mailbox_int.h"
#include "imapbridge/ib_mailbox_status.h"
#include "imapbridge/ib_mutf7.h"
#include "imapbridge/ib_park_blob.h"
#include "imapbridge/ib_session.h"
#include "imapbridge/ib_sortorder.h"

/* ---- pure helpers ----------------------------------------------------- */

struct role_name {
    const char *name;
    const char *role;
};

static const struct role_name flag_roles[] = {
    { "Sent", "sent" },       { "Drafts", "drafts" }, { "Trash", "trash" },
    { "Junk", "junk" },       { "Archive", "archive" }, { "All", "all" },
    { "Flagged", "flagged" }, { "Important", "important" }, /* Gmail; RFC 8457 */
};

static const struct role_name name_roles[] = {
    { "Sent", "sent" },           { "Sent Items", "sent" },      { "Sent Messages", "sent" },
    { "Sent Mail", "sent" },      { "Drafts", "drafts" },        { "Draft", "drafts" },
    { "Trash", "trash" },         { "Deleted Items", "trash" },  { "Deleted Messages", "trash" },
    { "Bin", "trash" },           { "Junk", "junk" },            { "Spam", "junk" },
    { "Junk E-mail", "junk" },    { "Junk Email", "junk" },      { "Bulk Mail", "junk" },
    { "Archive", "archive" },     { "Archives", "archive" },     { "All Mail", "all" },
    { "Starred", "flagged" },
};

const char *ib_mailbox_role_from_flag(const char *flag)
{
    if (flag == NULL)
        return NULL;
    if (flag[0] == '\\')
        flag++;
    for (size_t i = 0; i < sizeof(flag_roles) / sizeof(flag_roles[0]); i++) {
        if (strcasecmp(flag, flag_roles[i].name) == 0)
            return flag_roles[i].role;
    }
    return NULL;
}

/* Only top-level folders and children of [Gmail], [Google Mail] or INBOX
   (Courier "INBOX.Sent") get a role by name: "Projects/Sent" is no role. */
static bool role_parent_ok(const char *path, size_t plen)
{
    return plen == 0 || (plen == 7 && strncasecmp(path, "[Gmail]", 7) == 0) ||
           (plen == 13 && strncasecmp(path, "[Google Mail]", 13) == 0) ||
           (plen == 5 && strncasecmp(path, "INBOX", 5) == 0);
}

const char *ib_mailbox_role_from_name(const char *path, char delimiter)
{
    const char *leaf = path;
    size_t plen = 0;

    if (path == NULL)
        return NULL;
    if (strcasecmp(path, "INBOX") == 0)
        return "inbox";
    if (delimiter != '\0' && strrchr(path, delimiter) != NULL) {
        leaf = strrchr(path, delimiter) + 1;
        plen = (size_t)(leaf - path - 1);
    }
    if (!role_parent_ok(path, plen))
        return NULL;
    for (size_t i = 0; i < sizeof(name_roles) / sizeof(name_roles[0]); i++) {
        if (strcasecmp(leaf, name_roles[i].name) == 0)
            return name_roles[i].role;
    }
    return NULL;
}

void ib_mailbox_id_derive(const char *imap_name, bool selectable, uint32_t uidvalidity,
                          char dst[IB_MAILBOX_ID_LEN + 1])
{
    unsigned char md[CM_SHA256_LEN];
    size_t n = strlen(imap_name);
    char *buf = malloc(n + 16);

    memset(md, 0, sizeof(md));
    if (buf != NULL) {
        int len = selectable ? snprintf(buf, n + 16, "%s%c%u", imap_name, '\0', uidvalidity)
                             : snprintf(buf, n + 16, "%s", imap_name);

        cm_sha256(buf, (size_t)len, md);
        free(buf);
    }
    dst[0] = 'm';
    cm_b64url_encode(md, 9, dst + 1);
}

void ib_mailbox_id_from_object(const char *object_id, char dst[IB_MAILBOX_ID_LEN + 1])
{
    static const char domain[] = "objectid";  /* never equal to a name-derived input */
    unsigned char md[CM_SHA256_LEN];
    size_t n = strlen(object_id);
    char *buf = malloc(sizeof(domain) + n);

    memset(md, 0, sizeof(md));
    if (buf != NULL) {
        memcpy(buf, domain, sizeof(domain)); /* with its NUL */
        memcpy(buf + sizeof(domain), object_id, n);
        cm_sha256(buf, sizeof(domain) + n, md);
        free(buf);
    }
    dst[0] = 'm';
    cm_b64url_encode(md, 9, dst + 1);
}

/* ---- building the list ------------------------------------------------ */

static void folder_fini(struct ib_folder *f)
{
    free(f->id);
    free(f->name);
    free(f->path);
    free(f->imap_name);
    free(f->parent_id);
    free(f->object_id);
    memset(f, 0, sizeof(*f));
}

void ib_folder_list_fini(struct ib_folder_list *l)
{
    for (size_t i = 0; i < l->count; i++)
        folder_fini(&l->items[i]);
    free(l->items);
    l->items = NULL;
    l->count = 0;
}

static int dup_str(char **dst, const char *src)
{
    *dst = src != NULL ? strdup(src) : NULL;
    return src != NULL && *dst == NULL ? CM_ENOMEM : 0;
}

int ib_folder_list_dup(const struct ib_folder_list *src, struct ib_folder_list *dst)
{
    dst->count = 0;
    dst->items = src->count ? calloc(src->count, sizeof(*dst->items)) : NULL;
    if (src->count > 0 && dst->items == NULL)
        return CM_ENOMEM;
    for (size_t i = 0; i < src->count; i++) {
        const struct ib_folder *f = &src->items[i];
        struct ib_folder *d = &dst->items[dst->count++];

        *d = *f; /* scalars and the static role; the strings follow */
        d->id = d->name = d->path = d->imap_name = d->parent_id = d->object_id = NULL;
        if (dup_str(&d->id, f->id) < 0 || dup_str(&d->name, f->name) < 0 ||
            dup_str(&d->path, f->path) < 0 || dup_str(&d->imap_name, f->imap_name) < 0 ||
            dup_str(&d->parent_id, f->parent_id) < 0 || dup_str(&d->object_id, f->object_id) < 0) {
            ib_folder_list_fini(dst);
            return CM_ENOMEM;
        }
    }
    return 0;
}

struct ib_folder *ib_folder_by_path(struct ib_folder_list *l, const char *path)
{
    for (size_t i = 0; i < l->count; i++) {
        if (strcmp(l->items[i].path, path) == 0)
            return &l->items[i];
    }
    return NULL;
}

const struct ib_folder *ib_folder_find(const struct ib_folder_list *l, const char *id)
{
    for (size_t i = 0; id != NULL && i < l->count; i++) {
        if (strcmp(l->items[i].id, id) == 0)
            return &l->items[i];
    }
    return NULL;
}

/* Flags: \Noselect / \NonExistent and the SPECIAL-USE role. */
static void scan_flags(const struct mailimap_mbx_list_flags *fl, struct ib_folder *f)
{
    if (fl == NULL)
        return;
    if (fl->mbf_type == MAILIMAP_MBX_LIST_FLAGS_SFLAG &&
        fl->mbf_sflag == MAILIMAP_MBX_LIST_SFLAG_NOSELECT)
        f->selectable = false;
    for (clistiter *it = clist_begin(fl->mbf_oflags); it != NULL; it = clist_next(it)) {
        const struct mailimap_mbx_list_oflag *of = clist_content(it);
        const char *role;

        if (of->of_type != MAILIMAP_MBX_LIST_OFLAG_FLAG_EXT || of->of_flag_ext == NULL)
            continue;
        if (strcasecmp(of->of_flag_ext, "NonExistent") == 0 ||
            strcasecmp(of->of_flag_ext, "Noselect") == 0)
            f->selectable = false;
        role = ib_mailbox_role_from_flag(of->of_flag_ext);
        if (role != NULL && f->role == NULL)
            f->role = role;
    }
}

int ib_folder_init(struct ib_folder *f, const char *wire_name, char delimiter)
{
    const char *leaf;
    bool inbox = strcasecmp(wire_name, "INBOX") == 0;

    f->selectable = true;
    f->delimiter = delimiter;
    f->imap_name = strdup(inbox ? "INBOX" : wire_name);
    f->path = inbox ? strdup("INBOX") : ib_mutf7_to_utf8(wire_name);
    if (f->path == NULL && f->imap_name != NULL)
        f->path = strdup(f->imap_name); /* not valid modified UTF-7: show the wire name */
    if (f->imap_name == NULL || f->path == NULL)
        return CM_ENOMEM;
    leaf = f->delimiter != '\0' ? strrchr(f->path, f->delimiter) : NULL;
    f->name = strdup(leaf != NULL ? leaf + 1 : f->path);
    return f->name == NULL ? CM_ENOMEM : 0;
}

void ib_folder_default_role(struct ib_folder *f)
{
    if (strcmp(f->imap_name, "INBOX") == 0)
        f->role = "inbox";
    else if (f->role == NULL)
        f->role = ib_mailbox_role_from_name(f->path, f->delimiter);
}

static int folder_from_list(const struct mailimap_mailbox_list *mb, struct ib_folder *f)
{
    if (ib_folder_init(f, mb->mb_name, mb->mb_delimiter) < 0)
        return CM_ENOMEM;
    scan_flags(mb->mb_flag, f);
    ib_folder_default_role(f);
    return 0;
}

static bool name_in(clist *l, const char *imap_name)
{
    for (clistiter *it = l ? clist_begin(l) : NULL; it != NULL; it = clist_next(it)) {
        const struct mailimap_mailbox_list *mb = clist_content(it);

        if (strcmp(mb->mb_name, imap_name) == 0 ||
            (strcasecmp(imap_name, "INBOX") == 0 && strcasecmp(mb->mb_name, "INBOX") == 0))
            return true;
    }
    return false;
}

static int set_ids(struct ib_folder_list *out)
{
    char id[IB_MAILBOX_ID_LEN + 1];

    for (size_t i = 0; i < out->count; i++) {
        struct ib_folder *f = &out->items[i];

        if (f->object_id != NULL)
            ib_mailbox_id_from_object(f->object_id, id);
        else
            ib_mailbox_id_derive(f->imap_name, f->selectable && f->has_status, f->uidvalidity, id);
        f->id = strdup(id);
        if (f->id == NULL)
            return CM_ENOMEM;
    }
    for (size_t i = 0; i < out->count; i++) {
        struct ib_folder *f = &out->items[i];
        const char *cut = f->delimiter ? strrchr(f->imap_name, f->delimiter) : NULL;
        size_t plen = cut ? (size_t)(cut - f->imap_name) : 0;

        for (size_t j = 0; cut != NULL && j < out->count; j++) {
            const char *p = out->items[j].imap_name;

            if (strlen(p) == plen && strncmp(p, f->imap_name, plen) == 0) {
                f->parent_id = strdup(out->items[j].id);
                if (f->parent_id == NULL)
                    return CM_ENOMEM;
                break;
            }
        }
    }
    return 0;
}

static int folder_cmp(const void *a, const void *b)
{
    const struct ib_folder *x = a, *y = b;
    bool xi = strcmp(x->imap_name, "INBOX") == 0, yi = strcmp(y->imap_name, "INBOX") == 0;

    if (xi != yi)
        return xi ? -1 : 1;
    return strcmp(x->path, y->path);
}

/* The parking folder of uploads (ib_park.h) is no mailbox of the user's. */
static void hide_parking(struct ib_folder_list *out)
{
    for (size_t i = 0; i < out->count; i++) {
        if (strcmp(out->items[i].imap_name, IB_PARK_FOLDER) == 0) {
            folder_fini(&out->items[i]);
            out->items[i] = out->items[--out->count];
            memset(&out->items[out->count], 0, sizeof(out->items[out->count]));
            i--;
        }
    }
}

int ib_folder_list_finish(struct ib_folder_list *out, struct cm_err *err)
{
    hide_parking(out);
    if (set_ids(out) < 0)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    qsort(out->items, out->count, sizeof(*out->items), folder_cmp);
    return 0;
}

static int build(struct ib_session *s, clist *list, clist *lsub, struct ib_folder_list *out,
                 struct cm_err *err)
{
    out->items = calloc(clist_count(list) + 1, sizeof(*out->items));
    if (out->items == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    for (clistiter *it = clist_begin(list); it != NULL; it = clist_next(it)) {
        struct ib_folder *f = &out->items[out->count++];

        if (folder_from_list(clist_content(it), f) < 0)
            return cm_err_set(err, CM_ENOMEM, "out of memory");
        f->subscribed = name_in(lsub, f->imap_name);
    }
    if (ib_mailbox_status_all(s, out, err) < 0)
        return err ? err->code : CM_EUPSTREAM;
    return ib_folder_list_finish(out, err);
}

/* The answer to a pipelined LIST or LSUB (tag number tag): its folders
   (caller frees; taken even from a NO, as libetpan does) and a libetpan
   code, `refused` for a NO or BAD. */
static int read_listing(mailimap *imap, int tag, bool lsub, int refused, clist **out)
{
    struct mailimap_response_info *ri;
    struct mailimap_response *resp = NULL;
    int r;

    imap->imap_tag = tag;
    r = ib_etpan_read_response(imap, &resp);
    if (r != MAILIMAP_NO_ERROR)
        return r;
    ri = imap->imap_response_info;
    *out = lsub ? ri->rsp_mailbox_lsub : ri->rsp_mailbox_list;
    if (lsub)
        ri->rsp_mailbox_lsub = NULL;
    else
        ri->rsp_mailbox_list = NULL;
    r = ib_etpan_tagged_ok(resp) ? MAILIMAP_NO_ERROR : refused;
    mailimap_response_free(resp);
    return r;
}

/* LIST "" "*", LSUB "" "*" and, when one is due, the NOOP that syncs
   the selected folder (STATUS of that folder answers from the session's
   view) written together, answers read in order: one round trip. The NOOP
   goes last: Dovecot delays a NOOP's answer until the commands running
   beside it are done, so in front it would be answered after LIST. A
   refused LSUB means no subscriptions, not an error. *drop_r: the NOOP
   drew a warning (ib_session_sync_recv). */
static int list_and_lsub(struct ib_session *s, clist **list_r, clist **lsub_r, bool *drop_r,
                         struct cm_err *err)
{
    mailimap *imap = ib_session_imap(s);
    int tlist = 0, tlsub = 0, tnoop = 0, rc, rc_noop;
    int r = ib_etpan_send_line(imap, "LIST \"\" \"*\"", &tlist);

    if (r == MAILIMAP_NO_ERROR)
        r = ib_etpan_send_line(imap, "LSUB \"\" \"*\"", &tlsub);
    if (r == MAILIMAP_NO_ERROR)
        r = ib_session_sync_send(s, &tnoop);
    if (r == MAILIMAP_NO_ERROR && mailstream_flush(imap->imap_stream) == -1)
        r = MAILIMAP_ERROR_STREAM;
    if (r == MAILIMAP_NO_ERROR)
        r = read_listing(imap, tlist, false, MAILIMAP_ERROR_LIST, list_r);
    rc = ib_session_check(s, r, "LIST", err);
    if (ib_session_is_broken(s))
        return rc;
    r = read_listing(imap, tlsub, true, MAILIMAP_ERROR_LSUB, lsub_r);
    if (ib_session_check(s, r, "LSUB", rc < 0 ? NULL : err) < 0) {
        if (ib_session_is_broken(s))
            return rc < 0 ? rc : (err ? err->code : CM_EUPSTREAM);
        cm_err_clear(rc < 0 ? NULL : err); /* no subscriptions: not fatal */
    }
    rc_noop = ib_session_sync_recv(s, tnoop, drop_r, rc < 0 ? NULL : err);
    return rc < 0 ? rc : rc_noop;
}

int ib_mailbox_list(struct ib_session *s, struct ib_folder_list *out, struct cm_err *err)
{
    clist *list = NULL, *lsub = NULL;
    bool drop = false;
    int rc;

    out->items = NULL;
    out->count = 0;
    if (ib_session_is_broken(s))
        return cm_err_set(err, CM_EUPSTREAM, "imap: session is broken");
    rc = ib_mailbox_list_status(s, out, err);
    if (rc == 0 || ib_session_is_broken(s) || (rc != CM_ECONFIG && rc != CM_EUPSTREAM))
        return rc;
    cm_err_clear(err); /* no LIST-STATUS, or refused: the classic way */
    rc = list_and_lsub(s, &list, &lsub, &drop, err);
    if (rc == 0 && drop)
        rc = ib_session_drop_selection(s, err);
    if (rc == 0)
        rc = build(s, list, lsub, out, err);
    if (rc == 0)
        rc = ib_sortorder_load(s, out, err); /* its own round trip: rare servers */
    if (list != NULL)
        mailimap_list_result_free(list);
    if (lsub != NULL)
        mailimap_list_result_free(lsub);
    if (rc < 0)
        ib_folder_list_fini(out);
    return rc;
}
