/* ib_mailbox_open.c - one folder addressed by its path, without listing
 * every folder: EXAMINE/SELECT + STATUS pipelined (one round trip). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libetpan/libetpan.h>

#include "imapbridge/ib_etpan.h"
#include "imapbridge/ib_fetch.h"
#include "imapbridge/ib_mailbox.h"
#include "imapbridge/ib_mailbox_int.h"
#include "imapbridge/ib_mailbox_status.h"
#include "imapbridge/ib_mutf7.h"
#include "imapbridge/ib_park_blob.h"
#include "imapbridge/ib_session.h"

char *ib_mailbox_wire_name(const char *path)
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

/* Write EXAMINE/SELECT + STATUS [+ the extra command]. *sel_tag stays 0
   when nothing went out. */
static int send_all(struct ib_session *s, const char *imap_name, bool read_only, int *sel_tag,
                    int *st_tag, struct ib_open_extra *x, struct cm_err *err)
{
    int rc = ib_session_select_send(s, imap_name, read_only, sel_tag, err);

    if (rc == 0)
        rc = ib_mailbox_status_send(s, imap_name, st_tag, err);
    if (rc == 0 && x != NULL)
        rc = x->send(s, x->ctx, &x->tag, err);
    return rc;
}

/* The extra command's answer behind a folder that opened (kept) or not
   (read and thrown away: it ran without the folder). */
static int extra_recv(struct ib_session *s, struct ib_open_extra *x, bool keep,
                      struct cm_err *err)
{
    int rc;

    if (x == NULL || x->tag == 0 || ib_session_is_broken(s))
        return 0;
    rc = x->recv(s, x->ctx, x->tag, keep, keep ? err : NULL);
    return keep || ib_session_is_broken(s) ? rc : 0;
}

/* Write EXAMINE/SELECT + STATUS [+ the extra command], flush, read the
   answers into f (and x). */
static int exchange(struct ib_session *s, struct ib_folder *f, bool read_only,
                    struct ib_open_extra *x, struct cm_err *err)
{
    struct ib_selection sel;
    int sel_tag = 0, st_tag = 0, rc, rc2;

    rc = send_all(s, f->imap_name, read_only, &sel_tag, &st_tag, x, err);
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
    if (ib_session_is_broken(s))
        return rc2;
    if (extra_recv(s, x, rc == 0 && rc2 == 0, err) < 0 && (rc == 0 && rc2 == 0))
        return err != NULL && err->code != CM_OK ? err->code : CM_EUPSTREAM;
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

int ib_mailbox_open_with(struct ib_session *s, const char *path, bool read_only,
                         struct ib_open_extra *x, struct ib_folder_list *out, struct cm_err *err)
{
    char *wire = path != NULL ? ib_mailbox_wire_name(path) : NULL;
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
        rc = exchange(s, f, read_only, x, err);
    }
    if (rc == 0)
        rc = ib_folder_list_finish(out, err);
    if (rc == 0 && out->count != 1)
        rc = cm_err_set(err, CM_ENOENT, "no such mailbox");
    if (rc < 0)
        ib_folder_list_fini(out);
    return rc;
}

int ib_mailbox_open(struct ib_session *s, const char *path, bool read_only,
                    struct ib_folder_list *out, struct cm_err *err)
{
    return ib_mailbox_open_with(s, path, read_only, NULL, out, err);
}

/* A UID FETCH pipelined behind the EXAMINE/SELECT + STATUS. */
struct open_fetch {
    struct mailimap_set *uids;
    unsigned int want;
    struct ib_msg *msgs;
    size_t n;
};

static int fetch_send(struct ib_session *s, void *ctx, int *tag_r, struct cm_err *err)
{
    struct open_fetch *fx = ctx;

    return ib_fetch_msgs_send(s, fx->uids, fx->want, tag_r, err);
}

static int fetch_recv(struct ib_session *s, void *ctx, int tag, bool keep, struct cm_err *err)
{
    struct open_fetch *fx = ctx;
    int rc = ib_fetch_msgs_recv(s, tag, &fx->msgs, &fx->n, err);

    if (!keep || rc < 0) {
        ib_msgs_free(fx->msgs, fx->n);
        fx->msgs = NULL;
        fx->n = 0;
    }
    return rc;
}

int ib_mailbox_open_fetch(struct ib_session *s, const char *path, bool read_only,
                          struct mailimap_set *uids, unsigned int want,
                          struct ib_folder_list *out, struct ib_msg **msgs_r, size_t *n_r,
                          struct cm_err *err)
{
    struct open_fetch fx = { uids, want, NULL, 0 };
    struct ib_open_extra x = { fetch_send, fetch_recv, &fx, 0 };
    int rc = ib_mailbox_open_with(s, path, read_only, &x, out, err);

    if (rc < 0) {
        ib_msgs_free(fx.msgs, fx.n);
        fx.msgs = NULL;
        fx.n = 0;
    }
    *msgs_r = fx.msgs;
    *n_r = fx.n;
    return rc;
}
