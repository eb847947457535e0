/* test_ib_oauth_live.c - AUTHENTICATE OAUTHBEARER against a live server.
 *
 * Opt-in: skipped (exit 0) unless JMAPGATE_TEST_IMAP_URL,
 * JMAPGATE_TEST_OAUTH_USER and JMAPGATE_TEST_OAUTH_TOKEN are set.
 * JMAPGATE_TEST_OAUTH_EXPECT=ok (default) wants a session and a NOOP;
 * =eauth wants CM_EAUTH without the token in the message. The outcome is
 * printed as "result: rc=<n> msg=<text>" for tests/integration/test_imap_auth.py.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm_crypto.h"
#include "harness/th.h"
#include "imapbridge/ib_session.h"

static void test_live(void)
{
    const char *url = getenv("JMAPGATE_TEST_IMAP_URL");
    const char *token = getenv("JMAPGATE_TEST_OAUTH_TOKEN");
    const char *expect = getenv("JMAPGATE_TEST_OAUTH_EXPECT");
    struct ib_upstream up = { 0 };
    struct ib_creds cr = { 0 };
    struct ib_session *s = NULL;
    struct cm_err err = CM_ERR_INIT;
    bool want_ok = expect == NULL || strcmp(expect, "ok") == 0;
    int rc;

    up.timeout_secs = 10;
    th_assert(ib_upstream_parse_url(url, &up, &err) == 0);
    th_assert(ib_creds_init(&cr, getenv("JMAPGATE_TEST_OAUTH_USER"), token, IB_AUTH_OAUTHBEARER) == 0);
    rc = ib_session_open(&up, &cr, &s, &err);
    printf("result: rc=%d msg=%s\n", rc, rc == 0 ? "" : err.msg);
    if (want_ok) {
        th_assert(rc == 0 && s != NULL);
        th_assert(s != NULL && ib_session_noop(s, &err) == 0);
    } else {
        th_assert(rc == CM_EAUTH && s == NULL);
        th_assert(strstr(err.msg, token) == NULL);
    }
    ib_session_close(&s);
    ib_creds_fini(&cr);
    ib_upstream_fini(&up);
}

int main(void)
{
    if (getenv("JMAPGATE_TEST_IMAP_URL") == NULL || getenv("JMAPGATE_TEST_OAUTH_USER") == NULL ||
        getenv("JMAPGATE_TEST_OAUTH_TOKEN") == NULL) {
        printf("skip: JMAPGATE_TEST_IMAP_URL, JMAPGATE_TEST_OAUTH_USER, JMAPGATE_TEST_OAUTH_TOKEN not set\n");
        return th_end();
    }
    th_assert(cm_crypto_init() == 0);
    th_run("OAUTHBEARER against a live server", test_live);
    return th_end();
}
