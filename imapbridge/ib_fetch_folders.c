/* ib_fetch_folders.c - UID FETCH in many folders in one round trip (see
 * ib_fetch_folders.h). */
#include "imapbridge/ib_fetch_folders.h"

#include <stdlib.h>

#include <libetpan/libetpan.h>

#include "imapbridge/ib_etpan.h"
#include "imapbridge/ib_fetch.h"
#include "imapbridge/ib_session.h"

bool ib_fetch_folders_supported(struct ib_session *s)
{
    return (ib_session_caps(s) & IB_CAP_UNSELECT) != 0;
}

static int send_job(struct ib_session *s, struct ib_fetch_job *j, unsigned int want,
                    struct cm_err *err)
{
    char line[1400];
    int r;

    if (!ib_session_examine_command(j->imap_name, line, sizeof(line)))
        return cm_err_set(err, CM_EINVAL, "imap: a folder name not sendable in a pipeline");
    r = ib_etpan_send_line(ib_session_imap(s), line, &j->tags[0]);
    if (r != MAILIMAP_NO_ERROR)
        return ib_session_check(s, r, "EXAMINE", err);
    return ib_fetch_msgs_send(s, j->uids, want, &j->tags[1], err);
}

/* The EXAMINE's answer: j->uidvalidity, 0 when it was refused. */
static int read_examine(struct ib_session *s, struct ib_fetch_job *j, struct cm_err *err)
{
    mailimap *imap = ib_session_imap(s);
    struct mailimap_response *resp = NULL;
    int rc;

    if (imap->imap_selection_info != NULL)
        mailimap_selection_info_free(imap->imap_selection_info);
    imap->imap_selection_info = mailimap_selection_info_new();
    imap->imap_tag = j->tags[0];
    rc = ib_session_check(s, ib_etpan_read_response(imap, &resp), "EXAMINE", err);
    j->uidvalidity = rc == 0 && resp != NULL && ib_etpan_tagged_ok(resp) &&
                             imap->imap_selection_info != NULL
                         ? imap->imap_selection_info->sel_uidvalidity
                         : 0;
    if (resp != NULL)
        mailimap_response_free(resp);
    if (ib_session_is_broken(s))
        return rc < 0 ? rc : cm_err_set(err, CM_EUPSTREAM, "imap: EXAMINE failed");
    cm_err_clear(err);
    return 0;
}

static int read_job(struct ib_session *s, struct ib_fetch_job *j, struct cm_err *err)
{
    struct cm_err quiet = CM_ERR_INIT;
    int rc = read_examine(s, j, err);

    if (rc < 0)
        return rc;
    rc = ib_fetch_msgs_recv(s, j->tags[1], &j->msgs, &j->n, &quiet);
    if (rc == 0 && j->uidvalidity == 0) { /* cannot be: no folder was open */
        ib_msgs_free(j->msgs, j->n);
        j->msgs = NULL;
        j->n = 0;
    }
    if (ib_session_is_broken(s) || rc == CM_ENOMEM)
        return cm_err_set(err, rc, "%s", quiet.msg);
    return 0; /* refused (no folder open): nothing found there */
}

/* Write jobs[0..n) (and UNSELECT when last), flush, read every answer. */
static int window(struct ib_session *s, struct ib_fetch_job *jobs, size_t n, bool last,
                  unsigned int want, struct cm_err *err)
{
    mailimap *imap = ib_session_imap(s);
    int rc = 0, unselect = 0;

    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = send_job(s, &jobs[i], want, err);
    if (rc == 0 && last)
        rc = ib_session_check(s, ib_etpan_send_line(imap, "UNSELECT", &unselect), "UNSELECT",
                              err);
    if (rc == 0 && mailstream_flush(imap->imap_stream) == -1)
        rc = ib_session_check(s, MAILIMAP_ERROR_STREAM, "EXAMINE", err);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = read_job(s, &jobs[i], err);
    if (rc == 0 && last) {
        struct mailimap_response *resp = NULL;

        imap->imap_tag = unselect;
        rc = ib_session_check(s, ib_etpan_read_response(imap, &resp), "UNSELECT", err);
        if (resp != NULL)
            mailimap_response_free(resp);
    }
    return rc;
}

int ib_fetch_folders(struct ib_session *s, struct ib_fetch_job *jobs, size_t njobs,
                     unsigned int want, struct cm_err *err)
{
    char probe[1400];
    int rc = 0;

    for (size_t i = 0; i < njobs; i++) {
        jobs[i].msgs = NULL;
        jobs[i].n = 0;
        jobs[i].uidvalidity = 0;
    }
    if (!ib_fetch_folders_supported(s))
        return cm_err_set(err, CM_ECONFIG, "imap: no UNSELECT");
    if (ib_session_is_broken(s))
        return cm_err_set(err, CM_EUPSTREAM, "imap: session is broken");
    for (size_t i = 0; i < njobs; i++) {
        if (!ib_session_examine_command(jobs[i].imap_name, probe, sizeof(probe)))
            return cm_err_set(err, CM_EINVAL, "imap: a folder name not sendable in a pipeline");
    }
    for (size_t lo = 0; rc == 0 && lo < njobs; lo += IB_FETCH_FOLDERS_WINDOW) {
        size_t n = njobs - lo < IB_FETCH_FOLDERS_WINDOW ? njobs - lo : IB_FETCH_FOLDERS_WINDOW;

        rc = window(s, jobs + lo, n, lo + n == njobs, want, err);
    }
    /* whatever happened, what was selected no longer is */
    ib_session_note_unselected(s);
    return rc;
}
