/* ib_store.c - flags, move and removal of one message by UID. */
#include "imapbridge/ib_store.h"

#include <libetpan/libetpan.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imapbridge/ib_session.h"

static const char *const system_flags[] = { "\\Seen", "\\Answered", "\\Flagged", "\\Deleted",
                                            "\\Draft" };

bool ib_store_flag_valid(const char *flag)
{
    size_t n = flag ? strlen(flag) : 0;

    if (n < 1 || n > 255)
        return false;
    if (flag[0] == '\\') {
        for (size_t i = 0; i < sizeof(system_flags) / sizeof(system_flags[0]); i++) {
            if (strcasecmp(flag, system_flags[i]) == 0)
                return true;
        }
        return false;
    }
    for (const char *p = flag; *p != '\0'; p++) {
        int c = (unsigned char)*p;

        if (c < 0x21 || c > 0x7e || strchr("(){]%*\"\\", c) != NULL)
            return false;
    }
    return true;
}

static struct mailimap_flag *flag_new(const char *flag)
{
    char *kw;
    struct mailimap_flag *f;

    if (strcasecmp(flag, "\\Seen") == 0)
        return mailimap_flag_new_seen();
    if (strcasecmp(flag, "\\Answered") == 0)
        return mailimap_flag_new_answered();
    if (strcasecmp(flag, "\\Flagged") == 0)
        return mailimap_flag_new_flagged();
    if (strcasecmp(flag, "\\Deleted") == 0)
        return mailimap_flag_new_deleted();
    if (strcasecmp(flag, "\\Draft") == 0)
        return mailimap_flag_new_draft();
    kw = strdup(flag);
    f = kw ? mailimap_flag_new_flag_keyword(kw) : NULL;
    if (f == NULL)
        free(kw);
    return f;
}

struct mailimap_flag_list *ib_store_flag_list(const char *const *flags, size_t n)
{
    struct mailimap_flag_list *l = mailimap_flag_list_new_empty();

    for (size_t i = 0; l != NULL && i < n; i++) {
        struct mailimap_flag *f = flag_new(flags[i]);

        if (f == NULL || mailimap_flag_list_add(l, f) != MAILIMAP_NO_ERROR) {
            if (f != NULL)
                mailimap_flag_free(f);
            mailimap_flag_list_free(l);
            return NULL;
        }
    }
    return l;
}

/* One UID STORE (+ or -)FLAGS.SILENT. */
static int store(struct ib_session *s, uint32_t uid, bool add, const char *const *flags,
                 size_t n, struct cm_err *err)
{
    struct mailimap_flag_list *l = ib_store_flag_list(flags, n);
    struct mailimap_store_att_flags *att = NULL;
    struct mailimap_set *set = mailimap_set_new_single(uid);
    int rc;

    if (l != NULL)
        att = add ? mailimap_store_att_flags_new_add_flags_silent(l)
                  : mailimap_store_att_flags_new_remove_flags_silent(l);
    if (att == NULL || set == NULL) {
        if (att == NULL && l != NULL)
            mailimap_flag_list_free(l);
        rc = cm_err_set(err, CM_ENOMEM, "out of memory");
    } else {
        rc = ib_session_check(s, mailimap_uid_store(ib_session_imap(s), set, att), "UID STORE",
                              err);
    }
    if (att != NULL)
        mailimap_store_att_flags_free(att);
    if (set != NULL)
        mailimap_set_free(set);
    return rc;
}

int ib_store_flags(struct ib_session *s, uint32_t uid, const char *const *add, size_t nadd,
                   const char *const *remove, size_t nremove, struct cm_err *err)
{
    int rc = 0;

    for (size_t i = 0; i < nadd + nremove; i++) {
        const char *f = i < nadd ? add[i] : remove[i - nadd];

        if (!ib_store_flag_valid(f))
            return cm_err_set(err, CM_EINVAL, "not a flag that can be set: %.64s", f ? f : "");
    }
    if (nadd > 0)
        rc = store(s, uid, true, add, nadd, err);
    if (rc == 0 && nremove > 0)
        rc = store(s, uid, false, remove, nremove, err);
    return rc;
}

/* The first UID of a COPYUID destination set, or 0. */
static uint32_t first_uid(const struct mailimap_set *set)
{
    clistiter *it = set ? clist_begin(set->set_list) : NULL;

    return it ? ((struct mailimap_set_item *)clist_content(it))->set_first : 0;
}

static int expunge_one(struct ib_session *s, uint32_t uid, struct cm_err *err)
{
    static const char *const deleted[] = { "\\Deleted" };
    struct mailimap_set *set;
    int rc = store(s, uid, true, deleted, 1, err);

    if (rc < 0)
        return rc;
    set = mailimap_set_new_single(uid);
    if (set == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    rc = ib_session_check(s, mailimap_uid_expunge(ib_session_imap(s), set), "UID EXPUNGE", err);
    mailimap_set_free(set);
    return rc;
}

int ib_store_move(struct ib_session *s, uint32_t uid, const char *dest,
                  uint32_t *dest_uidvalidity_r, uint32_t *dest_uid_r, struct cm_err *err)
{
    unsigned int caps = ib_session_caps(s);
    struct mailimap_set *set, *src = NULL, *dst = NULL;
    int rc;

    *dest_uidvalidity_r = *dest_uid_r = 0;
    if (!(caps & IB_CAP_MOVE) && !(caps & IB_CAP_UIDPLUS))
        return cm_err_set(err, CM_EPERM, "the IMAP server has neither MOVE nor UIDPLUS: "
                                         "a message cannot be moved without touching others");
    set = mailimap_set_new_single(uid);
    if (set == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    if (caps & IB_CAP_MOVE)
        rc = (caps & IB_CAP_UIDPLUS)
                 ? mailimap_uidplus_uid_move(ib_session_imap(s), set, dest, dest_uidvalidity_r,
                                             &src, &dst)
                 : mailimap_uid_move(ib_session_imap(s), set, dest);
    else
        rc = mailimap_uidplus_uid_copy(ib_session_imap(s), set, dest, dest_uidvalidity_r, &src,
                                       &dst);
    rc = ib_session_check(s, rc, (caps & IB_CAP_MOVE) ? "UID MOVE" : "UID COPY", err);
    *dest_uid_r = first_uid(dst);
    if (rc == 0 && !(caps & IB_CAP_MOVE))
        rc = expunge_one(s, uid, err);
    if (src != NULL)
        mailimap_set_free(src);
    if (dst != NULL)
        mailimap_set_free(dst);
    mailimap_set_free(set);
    return rc;
}

int ib_store_expunge(struct ib_session *s, uint32_t uid, struct cm_err *err)
{
    if (!(ib_session_caps(s) & IB_CAP_UIDPLUS))
        return cm_err_set(err, CM_EPERM, "the IMAP server has no UIDPLUS: removing one message "
                                         "would also remove other clients' \\Deleted mail");
    return expunge_one(s, uid, err);
}
