/* test_cm_err.c - cm_err_set: formatting, truncation, and an argument that
   points into the destination (the message re-wrapped in place). */
#include "common/cm_err.h"

#include <string.h>

#include "harness/th.h"

static void test_set_and_clear(void)
{
    struct cm_err err = CM_ERR_INIT;

    th_assert(cm_err_set(&err, CM_EINVAL, "bad %s %d", "thing", 7) == CM_EINVAL);
    th_assert(err.code == CM_EINVAL && strcmp(err.msg, "bad thing 7") == 0);
    th_assert(cm_err_set(NULL, CM_EAUTH, "ignored") == CM_EAUTH);
    cm_err_clear(&err);
    th_assert(err.code == CM_OK && err.msg[0] == '\0');
}

static void test_own_message_as_argument(void)
{
    struct cm_err err = CM_ERR_INIT;

    cm_err_set(&err, CM_EUPSTREAM, "imap greeting: connection closed");
    th_assert(cm_err_set(&err, CM_EUNAVAIL, "%s", err.msg) == CM_EUNAVAIL);
    th_assert(err.code == CM_EUNAVAIL && strcmp(err.msg, "imap greeting: connection closed") == 0);
    cm_err_set(&err, CM_EUNAVAIL, "upstream: %s", err.msg);
    th_assert(strcmp(err.msg, "upstream: imap greeting: connection closed") == 0);
    cm_err_set(&err, CM_EUNAVAIL, "%s / %s", err.msg + 10, err.msg);
    th_assert(strcmp(err.msg, "imap greeting: connection closed / "
                              "upstream: imap greeting: connection closed") == 0);
}

static void test_truncation(void)
{
    struct cm_err err = CM_ERR_INIT;
    char big[600];

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    cm_err_set(&err, CM_ELIMIT, "%s", big);
    th_assert(strlen(err.msg) == sizeof(err.msg) - 1);
    cm_err_set(&err, CM_ELIMIT, "y%s", err.msg); /* overlapping and truncated */
    th_assert(strlen(err.msg) == sizeof(err.msg) - 1 && err.msg[0] == 'y' && err.msg[1] == 'x');
}

int main(void)
{
    th_run("set, NULL err, clear", test_set_and_clear);
    th_run("the message itself as an argument", test_own_message_as_argument);
    th_run("long messages are truncated, also in place", test_truncation);
    return th_end();
}
