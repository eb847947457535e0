/* ib_mailbox_open.c - one folder addressed by its path, without listing
 * every folder: EXAMINE/SELECT + STATUS pipelined (one round trip). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libetpan/libetpan.h>

#include "imapbridge/ib_etpan.h"
#include "imapbridge/ib_mailbox.h"
#include "imapbridge/ib_mailbox_int.h"
#include "imapbridge/ib_mailbox_status.h"
#include "imapbridge/ib_mutf7.h"
#include "imapbridge/ib_park_blob.h"
#include "imapbridge/ib_session.h"

/* The wire name of a UTF-8 path, when it decodes back to exactly that
   path (else a listing must find it). malloc'd or NULL. */
static char *wire_of(const char *path)
{
    char *wire, *back;

    if (strcasecmp(path, "INBOX") == 0)
        return strdup("INBOX");
    wire = ib_utf8_to_mutf7(path);
    back = wire ? ib_mutf7_to_utf8(wire) : NULL;
    if (back == NULL || strcmp(back, path) != 0) {
        free(wire);
        wire = NULL;
    }
    free(back);
    return wire;
}

/* Write EXAMINE/SELECT + STATUS, flush, read both answers into f. */
static int exchange(struct ib_session *s, struct ib_folder *f, bool read_only,
                    struct cm_err *err)
{
    struct ib_selection sel;
    int sel_tag = 0, st_tag = 0, rc, rc2;

    rc = ib_session_select_send(s, f->imap_name, read_only, &sel_tag, err);
    if (rc == 0)
        rc = ib_mailbox_status_send(s, f->imap_name, &st_tag, err);
    if (rc < 0 && sel_tag == 0)
        return rc;
    if (mailstream_flush(ib_session_imap(s)->imap_stream) == -1)
        return ib_session_check(s, MAILIMAP_ERROR_STREAM, "EXAMINE", err);
    if (rc < 0) { /* only the EXAMINE/SELECT went out: read it, report the error */
        int rc_sel = ib_session_select_recv(s, sel_tag, &sel, NULL);

        return ib_session_is_broken(s) && rc_sel < 0 ? rc_sel : rc;
    }
    rc = ib_session_select_recv(s, sel_tag, &sel, err);
    if (ib_session_is_broken(s))
        return rc;
    rc2 = ib_mailbox_status_recv(s, st_tag, f, rc < 0 ? NULL : err);
    if (rc < 0)
        return rc;
    if (rc2 < 0)
        return rc2;
    f->has_status = true; /* the selection's own counts win over STATUS's */
    f->total = sel.exists;
    f->uidvalidity = sel.uidvalidity;
    f->uidnext = sel.uidnext;
    f->highestmodseq = sel.highestmodseq;
    return 0;
}

int ib_mailbox_open(struct ib_session *s, const char *path, bool read_only,
                    struct ib_folder_list *out, struct cm_err *err)
{
    char *wire = path != NULL ? wire_of(path) : NULL;
    struct ib_folder *f;
    int rc;

    memset(out, 0, sizeof(*out));
    if (wire != NULL && strcmp(wire, IB_PARK_FOLDER) == 0) { /* hidden (ib_park.h) */
        free(wire);
        wire = NULL;
    }
    if (wire == NULL)
        return cm_err_set(err, CM_EINVAL, "imap: folder path not addressable directly");
    out->items = calloc(2, sizeof(*out->items));
    if (out->items == NULL) {
        free(wire);
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    }
    f = &out->items[out->count++];
    rc = ib_folder_init(f, wire, ib_session_delimiter(s)) < 0
             ? cm_err_set(err, CM_ENOMEM, "out of memory") : 0;
    free(wire);
    if (rc == 0) {
        ib_folder_default_role(f);
        rc = exchange(s, f, read_only, err);
    }
    if (rc == 0)
        rc = ib_folder_list_finish(out, err);
    if (rc == 0 && out->count != 1)
        rc = cm_err_set(err, CM_ENOENT, "no such mailbox");
    if (rc < 0)
        ib_folder_list_fini(out);
    return rc;
}
