/* ib_append.c - APPEND with APPENDUID. */
#include "imapbridge/ib_append.h"

#include <libetpan/libetpan.h>
#include <time.h>

#include "imapbridge/ib_session.h"
#include "imapbridge/ib_store.h"

static struct mailimap_date_time *date_of(int64_t date)
{
    time_t t = (time_t)date;
    struct tm tm;

    if (date < 0 || gmtime_r(&t, &tm) == NULL)
        return NULL;
    return mailimap_date_time_new(tm.tm_mday, tm.tm_mon + 1, tm.tm_year + 1900, tm.tm_hour,
                                  tm.tm_min, tm.tm_sec, 0);
}

int ib_append(struct ib_session *s, const char *imap_name, const char *const *flags, size_t nflags,
              int64_t date, const char *data, size_t len, uint32_t *uidvalidity_r, uint32_t *uid_r,
              struct cm_err *err)
{
    struct mailimap_flag_list *fl;
    struct mailimap_date_time *dt = NULL;
    int rc;

    *uidvalidity_r = *uid_r = 0;
    if (!(ib_session_caps(s) & IB_CAP_UIDPLUS))
        return cm_err_set(err, CM_EPERM,
                          "the IMAP server has no UIDPLUS: "
                          "an appended message could not be named");
    fl = ib_store_flag_list(flags, nflags);
    if (date >= 0)
        dt = date_of(date);
    if (fl == NULL || (date >= 0 && dt == NULL)) {
        rc = cm_err_set(err, CM_ENOMEM, "out of memory");
    } else {
        mailimap *imap = ib_session_imap(s);
        int r = mailimap_uidplus_append(imap, imap_name, fl, dt, data, len, uidvalidity_r, uid_r);

        rc = ib_session_check(s, r, "APPEND", err);
        if (rc < 0 && !ib_session_is_broken(s) && imap->imap_response_info != NULL &&
            imap->imap_response_info->rsp_trycreate) {
            cm_err_clear(err);
            rc = cm_err_set(err, CM_ENOENT, "imap: APPEND: no such folder [TRYCREATE]");
        }
    }
    if (fl != NULL)
        mailimap_flag_list_free(fl);
    if (dt != NULL)
        mailimap_date_time_free(dt);
    if (rc == 0 && *uid_r == 0)
        rc = cm_err_set(err, CM_EUPSTREAM, "imap: APPEND answered without APPENDUID");
    return rc;
}
