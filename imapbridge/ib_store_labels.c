/* ib_store_labels.c - Gmail label changes by UID STORE +/-X-GM-LABELS
 * (ib_store.h). Written by hand: system labels go as atoms ("\Inbox"),
 * which libetpan's mailimap_uid_store_xgmlabels would quote. */
#include <libetpan/libetpan.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm_buf.h"
#include "imapbridge/ib_etpan.h"
#include "imapbridge/ib_fetch.h"
#include "imapbridge/ib_session.h"
#include "imapbridge/ib_store.h"
#include "imapbridge/ib_uidset.h"

static bool system_label(const char *l)
{
    size_t n = strspn(l + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

    return l[0] == '\\' && n > 0 && n < 64 && l[1 + n] == '\0';
}

static bool label_valid(const char *l)
{
    size_t n = 0;

    if (l[0] == '\\')
        return system_label(l);
    for (; l[n] != '\0'; n++) {
        if ((unsigned char)l[n] < 0x20 || (unsigned char)l[n] > 0x7e)
            return false;
    }
    return n > 0 && n <= 1000;
}

/* "UID STORE <uid> +X-GM-LABELS (\Inbox "Work")" into b. */
static int store_line(struct cm_buf *b, uint32_t uid, bool add, const char *const *labels,
                      size_t n)
{
    int rc = cm_buf_printf(b, "UID STORE %u %cX-GM-LABELS (", uid, add ? '+' : '-');

    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (i > 0)
            rc = cm_buf_append_str(b, " ");
        if (rc == 0 && labels[i][0] == '\\') {
            rc = cm_buf_append_str(b, labels[i]);
            continue;
        }
        if (rc == 0)
            rc = cm_buf_append_str(b, "\"");
        for (const char *p = labels[i]; rc == 0 && *p != '\0'; p++) {
            if (*p == '"' || *p == '\\')
                rc = cm_buf_append_str(b, "\\");
            if (rc == 0)
                rc = cm_buf_append(b, p, 1);
        }
        if (rc == 0)
            rc = cm_buf_append_str(b, "\"");
    }
    return rc == 0 ? cm_buf_append_str(b, ")") : rc;
}

/* Write "UID STORE <uid> ±X-GM-LABELS (...)" (not flushed); *tag_r = its tag. */
static int store_send(struct ib_session *s, uint32_t uid, bool add, const char *const *labels,
                      size_t n, int *tag_r, struct cm_err *err)
{
    struct cm_buf b;
    char *line;
    int rc;

    cm_buf_init(&b, 64 * 1024);
    rc = store_line(&b, uid, add, labels, n);
    line = rc == 0 ? cm_buf_steal(&b, NULL) : NULL;
    cm_buf_fini(&b);
    if (line == NULL)
        return cm_err_set(err, rc == CM_ELIMIT ? CM_EINVAL : CM_ENOMEM,
                          rc == CM_ELIMIT ? "too many labels" : "out of memory");
    rc = ib_session_check(s, ib_etpan_send_line(ib_session_imap(s), line, tag_r), "UID STORE",
                          err);
    free(line);
    return rc;
}

/* The answer of the STORE of tag: 0, CM_EPERM for a NO/BAD (the session
   usable), or the session's error. */
static int store_recv(struct ib_session *s, int tag, struct cm_err *err)
{
    mailimap *imap = ib_session_imap(s);
    struct mailimap_response *resp = NULL;
    int rc;

    imap->imap_tag = tag;
    rc = ib_session_check(s, ib_etpan_read_response(imap, &resp), "UID STORE", err);
    if (rc == 0 && !ib_etpan_tagged_ok(resp))
        rc = cm_err_set(err, CM_EPERM, "the IMAP server refused to change the labels");
    if (resp != NULL)
        mailimap_response_free(resp);
    return rc;
}

/* Nothing sent: CM_EPERM without X-GM-EXT-1, CM_EINVAL for a label that
   cannot be sent. */
static int check_labels(struct ib_session *s, const char *const *add, size_t nadd,
                        const char *const *remove, size_t nremove, struct cm_err *err)
{
    if (!(ib_session_caps(s) & IB_CAP_XGMEXT))
        return cm_err_set(err, CM_EPERM, "the IMAP server has no labels (X-GM-EXT-1)");
    for (size_t i = 0; i < nadd + nremove; i++) {
        if (!label_valid(i < nadd ? add[i] : remove[i - nadd]))
            return cm_err_set(err, CM_EINVAL, "not a label that can be set");
    }
    return 0;
}

/* The STOREs of add and remove (each only when non-empty), written (not
   flushed) into tags[0..2) (0: not written). */
static int stores_send(struct ib_session *s, uint32_t uid, const char *const *add, size_t nadd,
                       const char *const *remove, size_t nremove, int *tags, struct cm_err *err)
{
    int rc = 0;

    tags[0] = tags[1] = 0;
    if (nadd > 0)
        rc = store_send(s, uid, true, add, nadd, &tags[0], err);
    if (rc == 0 && nremove > 0)
        rc = store_send(s, uid, false, remove, nremove, &tags[1], err);
    return rc;
}

/* The answers of stores_send's tags, all read: the first error. */
static int stores_recv(struct ib_session *s, const int *tags, struct cm_err *err)
{
    int rc = 0;

    for (size_t i = 0; i < 2 && !ib_session_is_broken(s); i++) {
        struct cm_err quiet = CM_ERR_INIT;
        int r = tags[i] != 0 ? store_recv(s, tags[i], rc == 0 ? err : &quiet) : 0;

        rc = rc == 0 ? r : rc;
    }
    return ib_session_is_broken(s) && rc == 0 ? cm_err_set(err, CM_EUPSTREAM, "imap: broken")
                                              : rc;
}

static int flush(struct ib_session *s, struct cm_err *err)
{
    if (mailstream_flush(ib_session_imap(s)->imap_stream) == -1)
        return ib_session_check(s, MAILIMAP_ERROR_STREAM, "UID STORE", err);
    return 0;
}

int ib_store_labels(struct ib_session *s, uint32_t uid, const char *const *add, size_t nadd,
                    const char *const *remove, size_t nremove, struct cm_err *err)
{
    int tags[2] = { 0, 0 };
    int rc = check_labels(s, add, nadd, remove, nremove, err);

    /* one at a time: a refused add leaves the labels as they were */
    if (rc == 0 && nadd > 0 && (rc = stores_send(s, uid, add, nadd, NULL, 0, tags, err)) == 0 &&
        (rc = flush(s, err)) == 0)
        rc = stores_recv(s, tags, err);
    if (rc == 0 && nremove > 0 &&
        (rc = stores_send(s, uid, NULL, 0, remove, nremove, tags, err)) == 0 &&
        (rc = flush(s, err)) == 0)
        rc = stores_recv(s, tags, err);
    return rc;
}

int ib_store_labels_in(struct ib_session *s, const char *imap_name, uint32_t uid,
                       const char *const *add, size_t nadd, const char *const *remove,
                       size_t nremove, unsigned int want, struct ib_msg **msgs_r, size_t *n_r,
                       bool *stored_r, struct cm_err *err)
{
    struct mailimap_set *one = want != 0 ? ib_uidset_single(uid) : NULL;
    struct ib_use use = { 0 };
    struct cm_err quiet = CM_ERR_INIT;
    int tags[2] = { 0, 0 }, ftag = 0, rc, rc_use, rc_store;

    *stored_r = false;
    if (msgs_r != NULL)
        *msgs_r = NULL, *n_r = 0;
    rc = check_labels(s, add, nadd, remove, nremove, err);
    if (rc == 0 && want != 0 && one == NULL)
        rc = cm_err_set(err, CM_ENOMEM, "out of memory");
    if (rc == 0)
        rc = ib_session_use_send(s, imap_name, false, &use, err);
    if (rc == 0)
        rc = stores_send(s, uid, add, nadd, remove, nremove, tags, err);
    if (rc == 0 && want != 0)
        rc = ib_fetch_msgs_send(s, one, want, &ftag, err);
    if (rc == 0)
        rc = flush(s, err);
    if (one != NULL)
        ib_uidset_free(one);
    if (rc < 0)
        return rc;
    rc_use = ib_session_use_recv(s, &use, err);
    rc_store = stores_recv(s, tags, rc_use == 0 ? err : &quiet);
    *stored_r = rc_use == 0 && rc_store == 0;
    cm_err_clear(&quiet);
    /* the FETCH only adds to what is known: its NO is no failure */
    if (ftag != 0 && !ib_session_is_broken(s) &&
        ib_fetch_msgs_recv(s, ftag, msgs_r, n_r, &quiet) < 0 && ib_session_is_broken(s) &&
        rc_use == 0 && rc_store == 0)
        return cm_err_set(err, quiet.code, "%s", quiet.msg);
    return rc_use < 0 ? rc_use : rc_store;
}
