/* ib_store_labels.c - Gmail label changes by UID STORE +/-X-GM-LABELS
 * (ib_store.h). Written by hand: system labels go as atoms ("\Inbox"),
 * which libetpan's mailimap_uid_store_xgmlabels would quote. */
#include <libetpan/libetpan.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm_buf.h"
#include "imapbridge/ib_etpan.h"
#include "imapbridge/ib_session.h"
#include "imapbridge/ib_store.h"

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

static int store_labels(struct ib_session *s, uint32_t uid, bool add, const char *const *labels,
                        size_t n, struct cm_err *err)
{
    struct mailimap_response *resp = NULL;
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
    rc = ib_session_check(s, ib_etpan_command(ib_session_imap(s), line, &resp), "UID STORE", err);
    free(line);
    if (rc == 0 && !ib_etpan_tagged_ok(resp))
        rc = cm_err_set(err, CM_EPERM, "the IMAP server refused to change the labels");
    if (resp != NULL)
        mailimap_response_free(resp);
    return rc;
}

int ib_store_labels(struct ib_session *s, uint32_t uid, const char *const *add, size_t nadd,
                    const char *const *remove, size_t nremove, struct cm_err *err)
{
    int rc = 0;

    if (!(ib_session_caps(s) & IB_CAP_XGMEXT))
        return cm_err_set(err, CM_EPERM, "the IMAP server has no labels (X-GM-EXT-1)");
    for (size_t i = 0; i < nadd + nremove; i++) {
        if (!label_valid(i < nadd ? add[i] : remove[i - nadd]))
            return cm_err_set(err, CM_EINVAL, "not a label that can be set");
    }
    if (nadd > 0)
        rc = store_labels(s, uid, true, add, nadd, err);
    if (rc == 0 && nremove > 0)
        rc = store_labels(s, uid, false, remove, nremove, err);
    return rc;
}
