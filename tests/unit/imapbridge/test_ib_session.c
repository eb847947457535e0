/* test_ib_session.c - sessions against the scripted fake IMAP server. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <libetpan/libetpan.h>

#include "common/cm_b64.h"
#include "common/cm_log.h"
#include "common/cm_crypto.h"
#include "harness/fake_session.h"
#include "harness/th.h"
#include "imapbridge/ib_pool.h"
#include "imapbridge/ib_session.h"
#include "imapbridge/ib_stream.h"

/* A greeting without [CAPABILITY ...]: the session asks CAPABILITY. */
#define GREETING "* OK fake ready\r\n"
/* Dovecot's way: capabilities in the greeting and in the login's OK. */
#define GREETING_CAPS "* OK [CAPABILITY IMAP4rev1 SASL-IR ID ENABLE IDLE LITERAL+ AUTH=PLAIN] ready\r\n"
#define CAPS_POST "IMAP4rev1 LITERAL+ ENABLE IDLE NAMESPACE CONDSTORE QRESYNC MOVE UIDPLUS SPECIAL-USE"
#define ID_CMD "ID (\"name\" \"jmapgate\" \"version\" \"" JMAPGATE_VERSION "\")"
#define CAPS_PRE "* CAPABILITY IMAP4rev1 LITERAL+ ENABLE IDLE NAMESPACE AUTH=PLAIN\r\n$TAG OK done\r\n"
#define CAPS_FULL "* CAPABILITY IMAP4rev1 LITERAL+ ENABLE IDLE NAMESPACE CONDSTORE QRESYNC MOVE " \
                  "UIDPLUS SPECIAL-USE\r\n$TAG OK done\r\n"

/* Greeting through NAMESPACE of a full-featured server that sends its
   capabilities in the greeting and the LOGIN OK (Dovecot): no CAPABILITY
   command, and LOGIN, ID, ENABLE, NAMESPACE in one write (the fake reads
   all four lines before it answers any; the tags are 1 to 4). */
#define LOGIN_STEPS                                                                       \
    FI_SEND(GREETING_CAPS), FI_EXPECT("LOGIN \"alice\" \"s3cret\""), FI_EXPECT(ID_CMD),      \
    FI_EXPECT("ENABLE CONDSTORE QRESYNC"), FI_EXPECT("NAMESPACE"),                          \
    FI_SEND("1 OK [CAPABILITY " CAPS_POST "] logged in\r\n* ID NIL\r\n2 OK ID done\r\n"      \
            "* ENABLED CONDSTORE QRESYNC\r\n3 OK enabled\r\n"                                  \
            "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n4 OK done\r\n")
/* The same with a greeting without capabilities: CAPABILITY before and
   after login, the batch answered line by line. */
#define LOGIN_ASKING_STEPS                                                      \
    FI_SEND(GREETING), FI_EXPECT("CAPABILITY"), FI_SEND(CAPS_PRE),              \
    FI_EXPECT("LOGIN \"alice\" \"s3cret\""), FI_SEND("$TAG OK logged in\r\n"),   \
    FI_EXPECT("ENABLE CONDSTORE QRESYNC"),                                      \
    FI_SEND("* ENABLED CONDSTORE QRESYNC\r\n$TAG OK enabled\r\n"),              \
    FI_EXPECT("NAMESPACE"), FI_SEND("* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n$TAG OK done\r\n"), \
    FI_EXPECT("CAPABILITY"), FI_SEND(CAPS_FULL)

/* A fake server and an upstream pointing at it; the test opens the session. */
static int ctx_open(struct fake_session *c, const struct fake_imap_step *script,
                    enum ib_auth_mech mech, struct ib_session **s_r, struct cm_err *err)
{
    if (fake_upstream_start(c, script, "s3cret", mech, 1) < 0)
        return -100;
    return ib_session_open(&c->up, &c->cr, s_r, err);
}

static void ctx_fini(struct fake_session *c)
{
    fake_upstream_stop(c);
}

static double elapsed_since(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* A server that enables what it does not advertise (Dovecot with a trimmed
   imap_capability): the speculative ENABLE must not turn on CONDSTORE or
   QRESYNC that the post-login capabilities leave out. */
static void test_enabled_but_not_offered(void)
{
    static const struct fake_imap_step script[] = {
        FI_SEND(GREETING_CAPS), FI_EXPECT("LOGIN \"alice\" \"s3cret\""), FI_EXPECT(ID_CMD),
        FI_EXPECT("ENABLE CONDSTORE QRESYNC"), FI_EXPECT("NAMESPACE"),
        FI_SEND("1 OK [CAPABILITY IMAP4rev1 ENABLE IDLE NAMESPACE UIDPLUS] logged in\r\n"
                "* ID NIL\r\n2 OK ID done\r\n* ENABLED CONDSTORE QRESYNC\r\n3 OK enabled\r\n"
                "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n4 OK done\r\n"),
        FI_END,
    };
    struct fake_session c;
    struct ib_session *s = NULL;
    struct cm_err err = CM_ERR_INIT;

    th_assert(ctx_open(&c, script, IB_AUTH_LOGIN, &s, &err) == 0);
    th_assert(s != NULL && (ib_session_caps(s) & (IB_CAP_CONDSTORE | IB_CAP_QRESYNC)) == 0);
    th_assert(s != NULL && (ib_session_caps(s) & IB_CAP_UIDPLUS));
    ib_session_close(&s);
    ctx_fini(&c);
}

static void test_login_ok(void)
{
    static const struct fake_imap_step script[] = { LOGIN_STEPS, FI_END };
    struct fake_session c;
    struct ib_session *s = NULL;
    struct cm_err err = CM_ERR_INIT;
    char logpath[] = "/tmp/ib_session_logXXXXXX";
    int logfd = mkstemp(logpath);
    char logbuf[65536];
    ssize_t n;
    int rc;

    cm_log_set_level(CM_LOG_DEBUG);
    cm_log_set_fd(logfd);
    rc = ctx_open(&c, script, IB_AUTH_LOGIN, &s, &err);
    th_assert(rc == 0);
    if (rc != 0)
        fprintf(stderr, "  open: %s\n", err.msg);
    th_assert(s != NULL && !ib_session_is_broken(s));
    th_assert(s != NULL && (ib_session_caps(s) & (IB_CAP_IDLE | IB_CAP_CONDSTORE | IB_CAP_QRESYNC |
                                                   IB_CAP_MOVE | IB_CAP_UIDPLUS)) ==
                               (IB_CAP_IDLE | IB_CAP_CONDSTORE | IB_CAP_QRESYNC | IB_CAP_MOVE |
                                IB_CAP_UIDPLUS));
    th_assert(s != NULL && ib_session_delimiter(s) == '/');
    th_assert(s != NULL && strcmp(ib_session_username(s), "alice") == 0);
    th_assert(s != NULL && (ib_session_caps(s) & (IB_CAP_XGUID | IB_CAP_PREVIEW)) == 0);
    ib_session_close(&s);
    th_assert(s == NULL);
    cm_log_set_fd(2);
    cm_log_set_level(CM_LOG_INFO);
    n = pread(logfd, logbuf, sizeof(logbuf) - 1, 0);
    logbuf[n > 0 ? n : 0] = '\0';
    th_assert(strstr(logbuf, "CAPABILITY") != NULL); /* the protocol was logged */
    th_assert(strstr(logbuf, "s3cret") == NULL);     /* the password never */
    close(logfd);
    unlink(logpath);
    usleep(100 * 1000); /* let the fake read the LOGOUT */
    th_assert(fake_imap_failures(c.fake) == 0);
    if (fake_imap_failures(c.fake))
        fprintf(stderr, "  fake: %s\n", fake_imap_error(c.fake));
    ctx_fini(&c);
}

static void test_login_no(void)
{
    static const struct fake_imap_step script[] = {
        FI_SEND(GREETING), FI_EXPECT("CAPABILITY"), FI_SEND(CAPS_PRE),
        FI_EXPECT("LOGIN \"alice\""), FI_EXPECT("ENABLE CONDSTORE QRESYNC"), FI_EXPECT("NAMESPACE"),
        FI_SEND("2 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n* ENABLED\r\n"
                "3 OK ENABLE ignored in non-authenticated state.\r\n4 BAD Error in IMAP command\r\n"),
        FI_END,
    };
    struct fake_session c;
    struct ib_session *s = NULL;
    struct cm_err err = CM_ERR_INIT;

    th_assert(ctx_open(&c, script, IB_AUTH_LOGIN, &s, &err) == CM_EAUTH);
    th_assert(err.code == CM_EAUTH && strstr(err.msg, "Authentication failed") != NULL);
    th_assert(s == NULL);
    ctx_fini(&c);
}

/* Let the fake read what is left (LOGOUT), check it saw only what it
   expected, stop it. */
static void fake_check_fini(struct fake_session *c)
{
    usleep(100 * 1000);
    th_assert(fake_imap_failures(c->fake) == 0);
    if (fake_imap_failures(c->fake))
        fprintf(stderr, "  fake: %s\n", fake_imap_error(c->fake));
    ctx_fini(c);
}

/* Run script with mech and password pw; the debug log into log. Returns
   ib_session_open's code; the session is closed, the fake checked. */
static int open_logged(const struct fake_imap_step *script, const char *pw, char *log, size_t logsize,
                       unsigned int *caps_r, char *delim_r)
{
    struct fake_session c;
    struct ib_session *s = NULL;
    struct cm_err err = CM_ERR_INIT;
    char logpath[] = "/tmp/ib_session_logXXXXXX";
    int logfd = mkstemp(logpath), rc;
    ssize_t n;

    if (fake_upstream_start(&c, script, pw, IB_AUTH_LOGIN, 1) < 0)
        return -100;
    cm_log_set_level(CM_LOG_DEBUG);
    cm_log_set_fd(logfd);
    rc = ib_session_open(&c.up, &c.cr, &s, &err);
    *caps_r = s ? ib_session_caps(s) : 0;
    *delim_r = s ? ib_session_delimiter(s) : '\0';
    ib_session_close(&s);
    usleep(100 * 1000); /* let the fake read the LOGOUT */
    cm_log_set_fd(2);
    cm_log_set_level(CM_LOG_INFO);
    n = pread(logfd, log, logsize - 1, 0);
    log[n > 0 ? n : 0] = '\0';
    close(logfd);
    unlink(logpath);
    th_assert(strstr(log, "s3cret") == NULL);
    fake_check_fini(&c);
    return rc;
}

/* No [CAPABILITY] in the greeting nor in the LOGIN OK: asked before and after. */
static void test_caps_asked_when_not_sent(void)
{
    static const struct fake_imap_step script[] = { LOGIN_ASKING_STEPS, FI_END };
    static char log[65536];
    unsigned int caps;
    char delim;

    th_assert(open_logged(script, "s3cret", log, sizeof(log), &caps, &delim) == 0);
    th_assert((caps & (IB_CAP_CONDSTORE | IB_CAP_QRESYNC | IB_CAP_MOVE)) ==
              (IB_CAP_CONDSTORE | IB_CAP_QRESYNC | IB_CAP_MOVE));
    th_assert(delim == '/');
}

/* A login that is not one line (a password that needs a literal or
   escapes: LOGIN on its own), then ENABLE and NAMESPACE in one write: the
   fake reads both before it answers (tags 2 and 3). */
static void test_batch_after_login(void)
{
    static const struct fake_imap_step script[] = {
        FI_SEND(GREETING_CAPS), FI_EXPECT("LOGIN alice"),
        FI_SEND("$TAG OK [CAPABILITY " CAPS_POST "] in\r\n"),
        FI_EXPECT("ENABLE CONDSTORE QRESYNC"), FI_EXPECT("NAMESPACE"),
        FI_SEND("* ENABLED QRESYNC\r\n2 OK enabled\r\n* NAMESPACE ((\"\" \".\")) NIL NIL\r\n3 OK done\r\n"),
        FI_EXPECT("NOOP"), FI_SEND("$TAG OK fine\r\n"), FI_END,
    };
    struct fake_session c;
    struct ib_session *s = NULL;
    struct cm_err err = CM_ERR_INIT;

    th_assert(fake_upstream_start(&c, script, "s3\"cret", IB_AUTH_LOGIN, 1) == 0);
    th_assert(ib_session_open(&c.up, &c.cr, &s, &err) == 0 && s != NULL);
    th_assert(s != NULL && ib_session_delimiter(s) == '.');
    th_assert(s != NULL && (ib_session_caps(s) & (IB_CAP_CONDSTORE | IB_CAP_QRESYNC)) ==
                               (IB_CAP_CONDSTORE | IB_CAP_QRESYNC));
    th_assert(s != NULL && ib_session_noop(s, &err) == 0); /* tags in step: 4 */
    ib_session_close(&s);
    fake_check_fini(&c);
}

/* LOGIN refused with ID, ENABLE and NAMESPACE behind it: their answers
   (NO, "OK ignored", BAD) are read, the error is the login's (401 upstream),
   and the LOGOUT is answered in step (its BYE reaches the log). */
static void test_login_refused_pipelined(void)
{
    static const struct fake_imap_step script[] = {
        FI_SEND(GREETING_CAPS), FI_EXPECT("LOGIN \"alice\""), FI_EXPECT(ID_CMD),
        FI_EXPECT("ENABLE CONDSTORE QRESYNC"), FI_EXPECT("NAMESPACE"),
        FI_SEND("1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n* ID NIL\r\n2 OK ID\r\n"
                "* ENABLED\r\n3 OK ENABLE ignored in non-authenticated state.\r\n"
                "4 BAD Error in IMAP command received by server.\r\n"),
        FI_EXPECT("LOGOUT"), FI_SEND("* BYE in step\r\n$TAG OK bye\r\n"), FI_CLOSE,
    };
    struct fake_session c;
    struct ib_session *s = NULL;
    struct cm_err err = CM_ERR_INIT;
    char logpath[] = "/tmp/ib_session_logXXXXXX";
    int logfd = mkstemp(logpath);
    static char log[65536];
    ssize_t n;

    th_assert(fake_upstream_start(&c, script, "s3cret", IB_AUTH_LOGIN, 1) == 0);
    cm_log_set_level(CM_LOG_DEBUG);
    cm_log_set_fd(logfd);
    th_assert(ib_session_open(&c.up, &c.cr, &s, &err) == CM_EAUTH && s == NULL);
    th_assert(strstr(err.msg, "LOGIN refused") != NULL && strstr(err.msg, "Authentication failed"));
    usleep(100 * 1000);
    cm_log_set_fd(2);
    cm_log_set_level(CM_LOG_INFO);
    n = pread(logfd, log, sizeof(log) - 1, 0);
    log[n > 0 ? n : 0] = '\0';
    close(logfd);
    unlink(logpath);
    th_assert(strstr(log, "* BYE in step") != NULL);
    th_assert(strstr(log, "s3cret") == NULL);
    fake_check_fini(&c);
}

static void test_xoauth2_and_oauthbearer(void)
{
    static const struct fake_imap_step script[] = {
        FI_SEND("* OK Dovecot (Debian) ready.\r\n"), FI_EXPECT("CAPABILITY"),
        FI_SEND("* CAPABILITY IMAP4rev1 AUTH=XOAUTH2\r\n$TAG OK done\r\n"),
        FI_EXPECT("AUTHENTICATE XOAUTH2 dXNlcj1hbGljZQFhdXRoPUJlYXJlciBzM2NyZXQBAQ=="),
        FI_SEND("$TAG OK authenticated\r\n"), FI_EXPECT("CAPABILITY"),
        FI_SEND("* CAPABILITY IMAP4rev1 PREVIEW\r\n$TAG OK done\r\n"), FI_EXPECT("LIST \"\" \"\""),
        FI_SEND("* LIST (\\Noselect) \".\" \"\"\r\n$TAG OK done\r\n"), FI_END,
    };
    struct fake_session c;
    struct ib_session *s = NULL;
    struct cm_err err = CM_ERR_INIT;

    th_assert(ctx_open(&c, script, IB_AUTH_XOAUTH2, &s, &err) == 0);
    th_assert(s != NULL && ib_session_delimiter(s) == '.');
    th_assert(s != NULL && (ib_session_caps(s) & (IB_CAP_XGUID | IB_CAP_PREVIEW)) ==
                               (IB_CAP_XGUID | IB_CAP_PREVIEW)); /* Dovecot greeting */
    ib_session_close(&s);
    usleep(100 * 1000);
    th_assert(fake_imap_failures(c.fake) == 0);
    ctx_fini(&c);

    th_assert(ctx_open(&c, script, IB_AUTH_OAUTHBEARER, &s, &err) == CM_EAUTH);
    th_assert(strstr(err.msg, "does not offer AUTH=OAUTHBEARER") != NULL);
    ctx_fini(&c);
}

static void test_xoauth2_refused(void)
{
    static const struct fake_imap_step script[] = {
        FI_SEND(GREETING), FI_EXPECT("CAPABILITY"),
        FI_SEND("* CAPABILITY IMAP4rev1 AUTH=XOAUTH2\r\n$TAG OK done\r\n"),
        FI_EXPECT("AUTHENTICATE XOAUTH2 "),
        FI_SEND("+ eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiQmVhcmVyIn0=\r\n"),
        FI_EXPECT("^"), /* the client acknowledges with an empty line */
        FI_SEND("$TAG NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)\r\n"), FI_END,
    };
    struct fake_session c;
    struct ib_session *s = NULL;
    struct cm_err err = CM_ERR_INIT;
    char logpath[] = "/tmp/ib_session_logXXXXXX";
    int logfd = mkstemp(logpath);
    char logbuf[65536];
    ssize_t n;

    cm_log_set_level(CM_LOG_DEBUG);
    cm_log_set_fd(logfd);
    th_assert(ctx_open(&c, script, IB_AUTH_XOAUTH2, &s, &err) == CM_EAUTH);
    th_assert(strstr(err.msg, "Invalid credentials") != NULL && s == NULL);
    cm_log_set_fd(2);
    cm_log_set_level(CM_LOG_INFO);
    n = pread(logfd, logbuf, sizeof(logbuf) - 1, 0);
    logbuf[n > 0 ? n : 0] = '\0';
    th_assert(strstr(logbuf, "dXNlcj1hbGljZQ") == NULL); /* the token never */
    th_assert(strstr(logbuf, "Invalid credentials") != NULL); /* but the answer is logged */
    close(logfd);
    unlink(logpath);
    usleep(100 * 1000);
    th_assert(fake_imap_failures(c.fake) == 0);
    if (fake_imap_failures(c.fake))
        fprintf(stderr, "  fake: %s\n", fake_imap_error(c.fake));
    ctx_fini(&c);
}

/* ---- AUTHENTICATE PLAIN, OAUTHBEARER, ID ------------------------------- */

#define PLAIN_B64 "AGFsaWNlAHMzY3JldA==" /* "\0alice\0s3cret" */
#define AUTH_FAILED "$TAG NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"
/* After login: CAPABILITY (with ID), ID, then the LIST delimiter fallback. */
#define AFTER_LOGIN_ID(id_answer)                                                    \
    FI_EXPECT("CAPABILITY"), FI_SEND("* CAPABILITY IMAP4rev1 ID\r\n$TAG OK done\r\n"), \
    FI_EXPECT(ID_CMD), FI_SEND(id_answer), FI_EXPECT("LIST \"\" \"\""),               \
    FI_SEND("* LIST (\\Noselect) \"/\" \"\"\r\n$TAG OK done\r\n")

struct auth_run {
    int rc;
    struct cm_err err;
    char log[65536];
    char b64[512]; /* the OAUTHBEARER message for this fake's port */
};

/* Fill the OAUTHBEARER initial response for alice/s3cret on 127.0.0.1:port. */
static void oauthbearer_b64(unsigned int port, char *dst, size_t dstsize)
{
    char msg[256];
    int n = snprintf(msg, sizeof(msg), "n,a=alice,\001host=127.0.0.1\001port=%u\001auth=Bearer s3cret\001\001",
                     port);
    char *b64 = cm_b64_encode(msg, (size_t)n);

    snprintf(dst, dstsize, "%s", b64 ? b64 : "");
    free(b64);
}

/* Open a session on script with mech, the debug log captured into run->log;
   steps whose text is "@B64" (with an optional prefix before the '@') get
   the OAUTHBEARER message of this fake's port. Closes the session, checks
   the fake saw what it expected and that no secret reached the log. */
static void auth_run(struct fake_imap_step *script, enum ib_auth_mech mech, struct auth_run *run)
{
    static char texts[4][600];
    char url[64], logpath[] = "/tmp/ib_session_logXXXXXX";
    int logfd = mkstemp(logpath), t = 0;
    struct fake_session c;
    struct ib_session *s = NULL;
    ssize_t n;

    memset(run, 0, sizeof(*run));
    memset(&c, 0, sizeof(c));
    c.fake = fake_imap_start(script);
    oauthbearer_b64(fake_imap_port(c.fake), run->b64, sizeof(run->b64));
    for (struct fake_imap_step *st = script; st->op != FAKE_IMAP_END && t < 4; st++) {
        const char *at = st->text ? strstr(st->text, "@B64") : NULL;

        if (at != NULL) {
            snprintf(texts[t], sizeof(texts[t]), "%.*s%s", (int)(at - st->text), st->text, run->b64);
            st->text = texts[t++];
        }
    }
    snprintf(url, sizeof(url), "imap://127.0.0.1:%u", fake_imap_port(c.fake));
    th_assert(ib_upstream_parse_url(url, &c.up, &run->err) == 0);
    th_assert(ib_creds_init(&c.cr, "alice", "s3cret", mech) == 0);
    c.up.timeout_secs = 1;
    cm_log_set_level(CM_LOG_DEBUG);
    cm_log_set_fd(logfd);
    run->rc = ib_session_open(&c.up, &c.cr, &s, &run->err);
    th_assert((run->rc == 0) == (s != NULL));
    ib_session_close(&s);
    cm_log_set_fd(2);
    cm_log_set_level(CM_LOG_INFO);
    n = pread(logfd, run->log, sizeof(run->log) - 1, 0);
    run->log[n > 0 ? n : 0] = '\0';
    close(logfd);
    unlink(logpath);
    th_assert(strstr(run->log, "imap S") != NULL);       /* the exchange was logged */
    th_assert(strstr(run->log, "s3cret") == NULL);       /* the secret never, */
    th_assert(strstr(run->log, "czNjcmV0") == NULL);     /* nor its base64, */
    th_assert(strstr(run->log, PLAIN_B64) == NULL);      /* nor the PLAIN message */
    th_assert(strstr(run->log, run->b64) == NULL);       /* nor the OAUTHBEARER one */
    th_assert(strstr(run->err.msg, "s3cret") == NULL);
    usleep(100 * 1000); /* let the fake read the LOGOUT */
    th_assert(fake_imap_failures(c.fake) == 0);
    if (fake_imap_failures(c.fake))
        fprintf(stderr, "  fake: %s\n", fake_imap_error(c.fake));
    ctx_fini(&c);
}

static void test_plain_sasl_ir(void)
{
    static struct fake_imap_step ok[] = {
        FI_SEND(GREETING), FI_EXPECT("CAPABILITY"),
        FI_SEND("* CAPABILITY IMAP4rev1 SASL-IR LOGINDISABLED AUTH=PLAIN\r\n$TAG OK done\r\n"),
        FI_EXPECT("AUTHENTICATE PLAIN " PLAIN_B64), FI_SEND("$TAG OK Logged in\r\n"),
        FI_EXPECT("NAMESPACE"), FI_SEND("$TAG BAD unknown command\r\n"), /* pipelined */
        AFTER_LOGIN_ID("* ID (\"name\" \"Dovecot\")\r\n$TAG OK ID completed.\r\n"), FI_END,
    };
    static struct fake_imap_step no[] = {
        FI_SEND(GREETING), FI_EXPECT("CAPABILITY"),
        FI_SEND("* CAPABILITY IMAP4rev1 SASL-IR LOGINDISABLED AUTH=PLAIN\r\n$TAG OK done\r\n"),
        FI_EXPECT("AUTHENTICATE PLAIN " PLAIN_B64), FI_SEND(AUTH_FAILED),
        FI_EXPECT("NAMESPACE"), FI_SEND("$TAG BAD not now\r\n"), FI_END,
    };
    struct auth_run run;

    auth_run(ok, IB_AUTH_LOGIN, &run);
    th_assert(run.rc == 0);
    if (run.rc != 0)
        fprintf(stderr, "  open: %s\n", run.err.msg);
    th_assert(strstr(run.log, "jmapgate") != NULL); /* ID is logged */
    auth_run(no, IB_AUTH_LOGIN, &run);
    th_assert(run.rc == CM_EAUTH && strstr(run.err.msg, "Authentication failed") != NULL);
    th_assert(strstr(run.err.msg, "AUTHENTICATE PLAIN") != NULL);
}

static void test_plain_two_step(void)
{
    static struct fake_imap_step ok[] = {
        FI_SEND(GREETING), FI_EXPECT("CAPABILITY"),
        FI_SEND("* CAPABILITY IMAP4rev1 LOGINDISABLED AUTH=PLAIN\r\n$TAG OK done\r\n"),
        FI_EXPECT("AUTHENTICATE PLAIN"), FI_SEND("+ \r\n"), FI_EXPECT("^" PLAIN_B64),
        FI_SEND("$TAG OK Logged in\r\n"),
        AFTER_LOGIN_ID("$TAG BAD Error in IMAP command ID\r\n"), /* refused ID: still logged in */
        FI_END,
    };
    static struct fake_imap_step no[] = {
        FI_SEND(GREETING), FI_EXPECT("CAPABILITY"),
        FI_SEND("* CAPABILITY IMAP4rev1 LOGINDISABLED AUTH=PLAIN\r\n$TAG OK done\r\n"),
        FI_EXPECT("AUTHENTICATE PLAIN"), FI_SEND("+\r\n"), FI_EXPECT("^" PLAIN_B64),
        FI_SEND("+ ZXJyb3I=\r\n"), FI_EXPECT("^"), /* an error challenge: empty answer */
        FI_SEND(AUTH_FAILED), FI_END,
    };
    static struct fake_imap_step nomech[] = {
        FI_SEND(GREETING), FI_EXPECT("CAPABILITY"),
        FI_SEND("* CAPABILITY IMAP4rev1 LOGINDISABLED\r\n$TAG OK done\r\n"), FI_END,
    };
    struct auth_run run;

    auth_run(ok, IB_AUTH_LOGIN, &run);
    th_assert(run.rc == 0);
    if (run.rc != 0)
        fprintf(stderr, "  open: %s\n", run.err.msg);
    auth_run(no, IB_AUTH_LOGIN, &run);
    th_assert(run.rc == CM_EAUTH && strstr(run.err.msg, "Authentication failed") != NULL);
    auth_run(nomech, IB_AUTH_LOGIN, &run);
    th_assert(run.rc == CM_EUPSTREAM && strstr(run.err.msg, "LOGINDISABLED") != NULL);
}

static void test_oauthbearer(void)
{
    static struct fake_imap_step ok[] = {
        FI_SEND(GREETING), FI_EXPECT("CAPABILITY"),
        FI_SEND("* CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN AUTH=OAUTHBEARER\r\n$TAG OK done\r\n"),
        FI_EXPECT("AUTHENTICATE OAUTHBEARER @B64"), FI_SEND("$TAG OK Logged in\r\n"),
        AFTER_LOGIN_ID("* ID NIL\r\n$TAG OK ID completed.\r\n"), FI_END,
    };
    static struct fake_imap_step two_step[] = {
        FI_SEND(GREETING), FI_EXPECT("CAPABILITY"),
        FI_SEND("* CAPABILITY IMAP4rev1 AUTH=OAUTHBEARER\r\n$TAG OK done\r\n"),
        FI_EXPECT("AUTHENTICATE OAUTHBEARER"), FI_SEND("+ \r\n"), FI_EXPECT("^@B64"),
        FI_SEND("$TAG OK Logged in\r\n"),
        AFTER_LOGIN_ID("$TAG NO not now\r\n"), FI_END,
    };
    struct auth_run run;

    auth_run(ok, IB_AUTH_OAUTHBEARER, &run);
    th_assert(run.rc == 0);
    if (run.rc != 0)
        fprintf(stderr, "  open: %s\n", run.err.msg);
    auth_run(two_step, IB_AUTH_OAUTHBEARER, &run);
    th_assert(run.rc == 0);
    if (run.rc != 0)
        fprintf(stderr, "  open: %s\n", run.err.msg);
}

static void test_oauthbearer_refused(void)
{
    static struct fake_imap_step bad_token[] = {
        FI_SEND(GREETING), FI_EXPECT("CAPABILITY"),
        FI_SEND("* CAPABILITY IMAP4rev1 SASL-IR AUTH=OAUTHBEARER\r\n$TAG OK done\r\n"),
        FI_EXPECT("AUTHENTICATE OAUTHBEARER @B64"),
        FI_SEND("+ eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NoZW1lcyI6ImJlYXJlciIsInNjb3BlIjoibWFpbCJ9\r\n"),
        FI_EXPECT("^AQ=="), /* RFC 7628 3.2.3: the client answers ^A */
        FI_SEND(AUTH_FAILED), FI_END,
    };
    static struct fake_imap_step not_offered[] = {
        FI_SEND(GREETING), FI_EXPECT("CAPABILITY"),
        FI_SEND("* CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2\r\n$TAG OK done\r\n"), FI_END,
    };
    struct auth_run run;

    auth_run(bad_token, IB_AUTH_OAUTHBEARER, &run);
    th_assert(run.rc == CM_EAUTH);
    th_assert(strstr(run.err.msg, "invalid_token") != NULL);
    th_assert(strstr(run.err.msg, "Authentication failed") != NULL);
    auth_run(not_offered, IB_AUTH_OAUTHBEARER, &run);
    th_assert(run.rc == CM_EAUTH && strstr(run.err.msg, "does not offer AUTH=OAUTHBEARER") != NULL);
}

/* A ^A in the token would add kvpairs to the OAUTHBEARER message. */
static void test_oauthbearer_control_chars(void)
{
    static const struct fake_imap_step script[] = {
        FI_SEND(GREETING), FI_EXPECT("CAPABILITY"),
        FI_SEND("* CAPABILITY IMAP4rev1 SASL-IR AUTH=OAUTHBEARER\r\n$TAG OK done\r\n"), FI_END,
    };
    struct fake_session c;
    struct ib_session *s = NULL;
    struct cm_err err = CM_ERR_INIT;
    char url[64];

    memset(&c, 0, sizeof(c));
    c.fake = fake_imap_start(script);
    snprintf(url, sizeof(url), "imap://127.0.0.1:%u", fake_imap_port(c.fake));
    th_assert(ib_upstream_parse_url(url, &c.up, &err) == 0);
    th_assert(ib_creds_init(&c.cr, "alice", "tok\001auth=Bearer other", IB_AUTH_OAUTHBEARER) == 0);
    c.up.timeout_secs = 1;
    th_assert(ib_session_open(&c.up, &c.cr, &s, &err) == CM_EINVAL && s == NULL);
    usleep(100 * 1000);
    th_assert(fake_imap_failures(c.fake) == 0); /* nothing but CAPABILITY and LOGOUT */
    ctx_fini(&c);
}

static void test_no_condstore_no_enable(void)
{
    static const struct fake_imap_step script[] = {
        FI_SEND(GREETING), FI_EXPECT("CAPABILITY"),
        FI_SEND("* CAPABILITY IMAP4rev1 ENABLE\r\n$TAG OK done\r\n"),
        FI_EXPECT("LOGIN \"alice\" \"s3cret\""), FI_SEND("$TAG OK logged in\r\n"),
        /* sent blind with LOGIN: nothing enabled, NAMESPACE unknown */
        FI_EXPECT("ENABLE CONDSTORE QRESYNC"), FI_SEND("* ENABLED\r\n$TAG OK nothing\r\n"),
        FI_EXPECT("NAMESPACE"), FI_SEND("$TAG BAD unknown command\r\n"),
        FI_EXPECT("CAPABILITY"), FI_SEND("* CAPABILITY IMAP4rev1 ENABLE IDLE\r\n$TAG OK done\r\n"),
        /* no CONDSTORE, no NAMESPACE: the LIST fallback */
        FI_EXPECT("LIST \"\" \"\""), FI_SEND("* LIST (\\Noselect) \".\" \"\"\r\n$TAG OK done\r\n"),
        FI_EXPECT("EXAMINE INBOX"), /* plain EXAMINE, no (CONDSTORE) */
        FI_SEND("* 2 EXISTS\r\n* OK [UIDVALIDITY 7] v\r\n* OK [UIDNEXT 3] n\r\n$TAG OK [READ-ONLY] ok\r\n"),
        FI_END,
    };
    struct fake_session c;
    struct ib_session *s = NULL;
    struct cm_err err = CM_ERR_INIT;
    struct ib_selection sel;

    th_assert(ctx_open(&c, script, IB_AUTH_LOGIN, &s, &err) == 0);
    th_assert(s != NULL && (ib_session_caps(s) & (IB_CAP_CONDSTORE | IB_CAP_QRESYNC)) == 0);
    th_assert(s != NULL && (ib_session_caps(s) & IB_CAP_IDLE) != 0);
    th_assert(s != NULL && ib_session_select(s, "INBOX", true, &sel, &err) == 0);
    th_assert(sel.uidvalidity == 7 && sel.uidnext == 3 && sel.exists == 2 && sel.highestmodseq == 0);
    ib_session_close(&s);
    usleep(100 * 1000);
    th_assert(fake_imap_failures(c.fake) == 0);
    if (fake_imap_failures(c.fake))
        fprintf(stderr, "  fake: %s\n", fake_imap_error(c.fake));
    ctx_fini(&c);
}

static void test_select_and_command_errors(void)
{
    static const struct fake_imap_step script[] = {
        LOGIN_STEPS, FI_EXPECT("EXAMINE INBOX (CONDSTORE)"),
        FI_SEND("* FLAGS (\\Seen)\r\n* 3 EXISTS\r\n* OK [UIDVALIDITY 42] v\r\n* OK [UIDNEXT 9] n\r\n"
                "* OK [HIGHESTMODSEQ 99] m\r\n$TAG OK [READ-ONLY] done\r\n"),
        FI_EXPECT("NOOP"), FI_SEND("* 4 EXISTS\r\n$TAG OK synced\r\n"),
        FI_EXPECT("SELECT INBOX (CONDSTORE)"),
        FI_SEND("* 3 EXISTS\r\n* OK [UIDVALIDITY 42] v\r\n* OK [UIDNEXT 9] n\r\n"
                "* OK [HIGHESTMODSEQ 100] m\r\n$TAG OK [READ-WRITE] done\r\n"),
        /* a read never syncs a read-write selection (that takes \Recent) */
        FI_EXPECT("EXAMINE INBOX (CONDSTORE)"),
        FI_SEND("* 3 EXISTS\r\n* OK [HIGHESTMODSEQ 100] m\r\n$TAG OK [READ-ONLY] done\r\n"),
        FI_EXPECT("SELECT INBOX (CONDSTORE)"),
        FI_SEND("* 3 EXISTS\r\n* OK [HIGHESTMODSEQ 100] m\r\n$TAG OK [READ-WRITE] done\r\n"),
        /* end of the write, no UNSELECT offered: EXAMINE the same folder */
        FI_EXPECT("EXAMINE INBOX (CONDSTORE)"),
        FI_SEND("* 3 EXISTS\r\n* OK [HIGHESTMODSEQ 100] m\r\n$TAG OK [READ-ONLY] done\r\n"),
        FI_EXPECT("EXAMINE Nope"), FI_SEND("$TAG NO [NONEXISTENT] Mailbox doesn't exist\r\n"),
        FI_EXPECT("NOOP"), FI_SEND("$TAG BAD Error in IMAP command\r\n"),
        FI_EXPECT("NOOP"), FI_SEND("$TAG OK still fine\r\n"), FI_END,
    };
    struct fake_session c;
    struct ib_session *s = NULL;
    struct cm_err err = CM_ERR_INIT;
    struct ib_selection sel;

    th_assert(ctx_open(&c, script, IB_AUTH_LOGIN, &s, &err) == 0);
    if (s == NULL) {
        ctx_fini(&c);
        return;
    }
    th_assert(ib_session_select(s, "INBOX", true, &sel, &err) == 0);
    th_assert(sel.uidvalidity == 42 && sel.uidnext == 9 && sel.exists == 3 && sel.highestmodseq == 99);
    th_assert(ib_session_select(s, "INBOX", true, &sel, &err) == 0); /* reused: NOOP syncs */
    th_assert(sel.exists == 4);
    th_assert(ib_session_select(s, "INBOX", false, &sel, &err) == 0); /* a write needs SELECT */
    th_assert(sel.highestmodseq == 100);
    th_assert(ib_session_select(s, "INBOX", true, &sel, &err) == 0); /* EXAMINE afresh */
    th_assert(ib_session_end_write(s, &err) == 0);                  /* read-only: nothing */
    th_assert(ib_session_select(s, "INBOX", false, &sel, &err) == 0);
    th_assert(ib_session_end_write(s, &err) == 0); /* EXAMINE (no UNSELECT here) */
    th_assert(ib_session_selected(s) != NULL && strcmp(ib_session_selected(s), "INBOX") == 0);
    th_assert(ib_session_select(s, "Nope", true, &sel, &err) == CM_ENOENT);
    th_assert(strstr(err.msg, "no such mailbox") != NULL && !ib_session_is_broken(s));
    th_assert(ib_session_noop(s, &err) == CM_EUPSTREAM && !ib_session_is_broken(s));
    th_assert(ib_session_noop(s, &err) == 0);
    ib_session_close(&s);
    usleep(100 * 1000);
    th_assert(fake_imap_failures(c.fake) == 0);
    if (fake_imap_failures(c.fake))
        fprintf(stderr, "  fake: %s\n", fake_imap_error(c.fake));
    ctx_fini(&c);
}

/* Run NOOP after a good login against a scripted answer. */
static int noop_with(const char *answer, struct fake_session *c, struct ib_session **s_r, struct cm_err *err)
{
    static struct fake_imap_step script[] = { LOGIN_STEPS, FI_EXPECT("NOOP"), FI_SEND(NULL),
                                              FI_SLEEP(3000), FI_CLOSE };
    size_t n = sizeof(script) / sizeof(script[0]);
    int rc;

    script[n - 3].text = answer;
    /* A BYE is followed by the server closing the connection. */
    script[n - 2].ms = strstr(answer, "BYE") != NULL ? 0 : 3000;
    rc = ctx_open(c, script, IB_AUTH_LOGIN, s_r, err);
    if (rc < 0)
        return -200;
    return ib_session_noop(*s_r, err);
}

static void test_bye_mid_command(void)
{
    struct fake_session c;
    struct ib_session *s = NULL;
    struct cm_err err = CM_ERR_INIT;
    struct timespec t0;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    th_assert(noop_with("* BYE server shutting down\r\n", &c, &s, &err) == CM_EUPSTREAM);
    th_assert(s != NULL && ib_session_is_broken(s));
    ib_session_close(&s); /* no LOGOUT, no wait */
    th_assert(elapsed_since(&t0) < 3.0);
    ctx_fini(&c);
}

static void test_silent_server(void)
{
    static const struct fake_imap_step mute[] = { FI_SLEEP(3000), FI_CLOSE };
    struct fake_session c;
    struct ib_session *s = NULL;
    struct cm_err err = CM_ERR_INIT;
    struct timespec t0;
    double dt;

    clock_gettime(CLOCK_MONOTONIC, &t0); /* no greeting at all */
    th_assert(ctx_open(&c, mute, IB_AUTH_LOGIN, &s, &err) == CM_ETIMEOUT);
    dt = elapsed_since(&t0);
    th_assert(dt > 0.9 && dt < 2.0);
    ctx_fini(&c);

    th_assert(noop_with("", &c, &s, &err) == CM_ETIMEOUT); /* silent after login */
    th_assert(s != NULL && ib_session_is_broken(s));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ib_session_close(&s);
    th_assert(elapsed_since(&t0) < 0.5); /* a broken session closes without I/O */
    ctx_fini(&c);
}

static void test_garbage(void)
{
    struct fake_session c;
    struct ib_session *s = NULL;
    struct cm_err err = CM_ERR_INIT;

    th_assert(noop_with("\x01\x02 garbage ((( \r\n$TAG OK\r\n", &c, &s, &err) == CM_EUPSTREAM);
    th_assert(s != NULL && ib_session_is_broken(s));
    ib_session_close(&s);
    ctx_fini(&c);
}

static void test_literals(void)
{
    struct fake_session c;
    struct ib_session *s = NULL;
    struct cm_err err = CM_ERR_INIT;
    struct timespec t0;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    th_assert(noop_with("* 1 FETCH (BODY[] {4294967295}\r\nabc", &c, &s, &err) == CM_EUPSTREAM);
    th_assert(strstr(err.msg, "literal") != NULL);
    th_assert(s != NULL && ib_session_is_broken(s));
    th_assert(elapsed_since(&t0) < 0.9); /* refused at once, not by a timeout */
    ib_session_close(&s);
    ctx_fini(&c);

    /* More digits than fit in the driver's view of the line. */
    th_assert(noop_with("* 1 FETCH (BODY[] {1000000000000000000000000000000000000004294967296}\r\nabc",
                        &c, &s, &err) == CM_EUPSTREAM);
    th_assert(strstr(err.msg, "19 digits") != NULL);
    ib_session_close(&s);
    ctx_fini(&c);

    /* A literal whose data looks like a huge literal header is fine. */
    th_assert(noop_with("* 1 FETCH (BODY[] {21}\r\nhello {99999999999}\r\n)\r\n$TAG OK done\r\n",
                        &c, &s, &err) == 0);
    th_assert(s != NULL && !ib_session_is_broken(s));
    ib_session_close(&s);
    ctx_fini(&c);
}

/* The guard keeps its state across reads: headers and data split over
   several TCP segments. */
static void test_literals_split(void)
{
    static const struct fake_imap_step split_ok[] = {
        LOGIN_STEPS, FI_EXPECT("NOOP"), FI_SEND("* 1 FETCH (BODY[] {21}\r\nhello {9999"),
        FI_SLEEP(50), FI_SEND("9999999}\r\n)\r\n$TAG OK done\r\n"), FI_END,
    };
    static const struct fake_imap_step split_bad[] = {
        LOGIN_STEPS, FI_EXPECT("NOOP"), FI_SEND("* 1 FETCH (BODY[] {42949"), FI_SLEEP(50),
        FI_SEND("67295}\r"), FI_SLEEP(50), FI_SEND("\nabc"), FI_SLEEP(3000), FI_CLOSE,
    };
    struct fake_session c;
    struct ib_session *s = NULL;
    struct cm_err err = CM_ERR_INIT;

    th_assert(ctx_open(&c, split_ok, IB_AUTH_LOGIN, &s, &err) == 0);
    th_assert(s != NULL && ib_session_noop(s, &err) == 0);
    ib_session_close(&s);
    ctx_fini(&c);
    th_assert(ctx_open(&c, split_bad, IB_AUTH_LOGIN, &s, &err) == 0);
    th_assert(s != NULL && ib_session_noop(s, &err) == CM_EUPSTREAM);
    th_assert(strstr(err.msg, "literal of 4294967295 bytes") != NULL);
    ib_session_close(&s);
    ctx_fini(&c);
}

static void test_starttls_injection(void)
{
    static const struct fake_imap_step script[] = {
        FI_SEND(GREETING), FI_EXPECT("CAPABILITY"),
        FI_SEND("* CAPABILITY IMAP4rev1 STARTTLS\r\n$TAG OK done\r\n"), FI_EXPECT("STARTTLS"),
        FI_SEND("$TAG OK Begin TLS\r\n* OK injected plaintext\r\n"), FI_SLEEP(2000), FI_CLOSE,
    };
    struct fake_session c;
    struct ib_session *s = NULL;
    struct cm_err err = CM_ERR_INIT;
    char url[64];

    memset(&c, 0, sizeof(c));
    c.fake = fake_imap_start(script);
    snprintf(url, sizeof(url), "imap+starttls://127.0.0.1:%u", fake_imap_port(c.fake));
    th_assert(ib_upstream_parse_url(url, &c.up, &err) == 0);
    th_assert(ib_creds_init(&c.cr, "alice", "s3cret", IB_AUTH_LOGIN) == 0);
    c.up.timeout_secs = 1;
    th_assert(ib_session_open(&c.up, &c.cr, &s, &err) == CM_EUPSTREAM);
    th_assert(strstr(err.msg, "STARTTLS") != NULL);
    ctx_fini(&c);
}

static void test_bad_input(void)
{
    static const struct fake_imap_step script[] = { LOGIN_STEPS, FI_END };
    struct ib_upstream up = { 0 };
    struct ib_creds cr = { 0 };
    struct ib_session *s = NULL;
    struct cm_err err = CM_ERR_INIT;
    struct fake_session c;
    static const char *const bad_users[] = { "al\r\nice", "alice\n", "" };

    th_assert(ib_upstream_parse_url("imap://127.0.0.1:1", &up, &err) == 0);
    for (size_t i = 0; i < sizeof(bad_users) / sizeof(bad_users[0]); i++) {
        th_assert_idx(ib_creds_init(&cr, bad_users[i], "pw", IB_AUTH_LOGIN) == 0, i);
        th_assert_idx(ib_session_open(&up, &cr, &s, &err) == CM_EINVAL && s == NULL, i);
        ib_creds_fini(&cr);
    }
    th_assert(ib_creds_init(&cr, "alice", "pw\r\nA1 DELETE INBOX", IB_AUTH_LOGIN) == 0);
    th_assert(ib_session_open(&up, &cr, &s, &err) == CM_EINVAL);
    ib_creds_fini(&cr);
    ib_upstream_fini(&up);

    th_assert(ctx_open(&c, script, IB_AUTH_LOGIN, &s, &err) == 0);
    th_assert(s != NULL && ib_session_select(s, "INBOX\r\nA1 DELETE x", true, NULL, &err) == CM_EINVAL);
    th_assert(s != NULL && ib_session_select(s, "", true, NULL, &err) == CM_EINVAL);
    th_assert(s != NULL && !ib_session_is_broken(s));
    ib_session_close(&s);
    usleep(100 * 1000);
    th_assert(fake_imap_failures(c.fake) == 0); /* nothing reached the server */
    ctx_fini(&c);
}

/* Debian's libetpan aborts on fds >= 1024 (select); our driver must not. */
/* LIBS.md §0.3: a write to a connection the server has closed must fail
   with an error, not kill the process with SIGPIPE. This test process
   keeps SIGPIPE's default action, so a plain send() would end it here. */
static void test_write_after_close_no_sigpipe(void)
{
    static const struct fake_imap_step bye[] = { FI_SEND("* OK hi\r\n"), FI_CLOSE };
    struct fake_imap *f = fake_imap_start(bye);
    struct _mailstream_low *low = NULL;
    struct cm_err err = CM_ERR_INIT;
    struct timespec pause = { 0, 150 * 1000 * 1000 };
    ssize_t last = 0;

    th_assert(f != NULL);
    th_assert(ib_stream_connect("127.0.0.1", fake_imap_port(f), 2000, 0, &low, &err) == 0);
    nanosleep(&pause, NULL); /* the server has closed: FIN */
    for (int i = 0; i < 4 && last >= 0; i++) {  /* the first write draws a RST */
        last = mailstream_low_write(low, "a NOOP\r\n", 8);
        nanosleep(&pause, NULL);
    }
    th_assert(last < 0);
    th_assert(ib_stream_failure(low, NULL) != IB_STREAM_FAIL_NONE);
    mailstream_low_close(low);
    mailstream_low_free(low);
    fake_imap_stop(&f);
}

static void test_high_fd(void)
{
    static const struct fake_imap_step script[] = { LOGIN_STEPS, FI_EXPECT("NOOP"),
                                                    FI_SEND("$TAG OK done\r\n"), FI_END };
    struct rlimit rl;
    int fds[1200], n = 0, fd;
    struct fake_session c;
    struct ib_session *s = NULL;
    struct cm_err err = CM_ERR_INIT;

    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < 1300 && rl.rlim_max >= 1300) {
        rl.rlim_cur = 1300;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur < 1300) {
        printf("skip high fd test: RLIMIT_NOFILE hard limit %llu\n", (unsigned long long)rl.rlim_max);
        return;
    }
    while (n < 1200 && (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0 && fd < 1100)
        fds[n++] = fd;
    if (fd >= 1100)
        fds[n++] = fd;
    th_assert(ctx_open(&c, script, IB_AUTH_LOGIN, &s, &err) == 0);
    th_assert(s != NULL && ib_stream_fd(ib_session_imap(s)->imap_stream->low) >= 1024);
    th_assert(s != NULL && ib_session_noop(s, &err) == 0);
    ib_session_close(&s);
    ctx_fini(&c);
    while (n > 0)
        close(fds[--n]);
}

static void test_probe(void)
{
    static const struct fake_imap_step ok[] = { FI_SEND(GREETING), FI_SLEEP(500), FI_CLOSE };
    static const struct fake_imap_step bye[] = { FI_SEND("* BYE too many connections\r\n"), FI_CLOSE };
    struct fake_session c;
    struct cm_err err = CM_ERR_INIT;
    struct ib_upstream dead = { 0 };

    for (int i = 0; i < 2; i++) {
        char url[64];

        memset(&c, 0, sizeof(c));
        c.fake = fake_imap_start(i == 0 ? ok : bye);
        snprintf(url, sizeof(url), "imap://127.0.0.1:%u", fake_imap_port(c.fake));
        th_assert(ib_upstream_parse_url(url, &c.up, &err) == 0);
        c.up.timeout_secs = 1;
        th_assert_idx(ib_upstream_probe(&c.up, &err) == (i == 0 ? 0 : CM_EUNAVAIL), i);
        th_assert_idx(i == 0 || strstr(err.msg, "too many connections") != NULL, i);
        ctx_fini(&c);
    }
    th_assert(ib_upstream_parse_url("imap://127.0.0.1:1", &dead, &err) == 0);
    dead.timeout_secs = 1;
    th_assert(ib_upstream_probe(&dead, &err) == CM_EUNAVAIL);
    th_assert(strstr(err.msg, "refused") != NULL);
    ib_upstream_fini(&dead);
}

/* The user's address goes upstream in ID before LOGIN, both written at
   once: the fake reads the two lines only after the session sent both
   (it answers ID after reading it, then reads LOGIN, which is already
   there). With a password that needs quoting, ID is its own round trip. */
static void test_origin_id_before_login(void)
{
#define CAPS_ID "* CAPABILITY IMAP4rev1 LITERAL+ ENABLE IDLE NAMESPACE ID AUTH=PLAIN\r\n$TAG OK done\r\n"
#define AFTER_LOGIN                                                   \
    FI_EXPECT("ENABLE CONDSTORE QRESYNC"),                            \
    FI_SEND("* ENABLED CONDSTORE QRESYNC\r\n$TAG OK enabled\r\n"),    \
    FI_EXPECT("NAMESPACE"), FI_SEND("* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n$TAG OK done\r\n")
    static const struct fake_imap_step piped[] = {
        FI_SEND(GREETING), FI_EXPECT("CAPABILITY"), FI_SEND(CAPS_ID),
        FI_EXPECT("ID (\"name\" \"jmapgate\" \"version\" \"" JMAPGATE_VERSION "\" "
                  "\"x-originating-ip\" \"192.0.2.7\" \"x-originating-port\" \"40123\" "
                  "\"x-connected-ip\" \"127.0.0.1\")"),
        FI_SEND("* ID (\"name\" \"Dovecot\")\r\n$TAG OK ID completed\r\n"),
        FI_EXPECT("LOGIN \"alice\" \"s3cret\""), FI_SEND("$TAG OK logged in\r\n"),
        AFTER_LOGIN, FI_EXPECT("CAPABILITY"), FI_SEND(CAPS_FULL), FI_END,
    };
    static const struct fake_imap_step refused[] = {
        FI_SEND(GREETING), FI_EXPECT("CAPABILITY"), FI_SEND(CAPS_ID),
        FI_EXPECT("ID (\"name\" \"jmapgate\""), FI_SEND("$TAG BAD no ID here\r\n"),
        FI_EXPECT("LOGIN \"alice\" \"s3cret\""),
        FI_SEND("$TAG NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"),
        FI_EXPECT("ENABLE"), FI_SEND("$TAG OK ignored\r\n"),
        FI_EXPECT("NAMESPACE"), FI_SEND("$TAG BAD not now\r\n"), FI_END,
    };
    static const struct fake_imap_step separate[] = {
        FI_SEND(GREETING), FI_EXPECT("CAPABILITY"), FI_SEND(CAPS_ID),
        FI_EXPECT("ID (\"name\" \"jmapgate\""), FI_SEND("* ID NIL\r\n$TAG OK ID completed\r\n"),
        FI_EXPECT("LOGIN alice"), FI_SEND("$TAG OK logged in\r\n"),
        FI_EXPECT("CAPABILITY"), FI_SEND(CAPS_FULL), AFTER_LOGIN, FI_END,
    };
    const struct ib_origin origin = { "192.0.2.7", 40123, "127.0.0.1" };
    struct fake_session c;
    struct ib_session *s = NULL;
    struct cm_err err = CM_ERR_INIT;

    th_assert(fake_upstream_start(&c, piped, "s3cret", IB_AUTH_LOGIN, 1) == 0);
    c.cr.origin = origin;
    th_assert(ib_session_open(&c.up, &c.cr, &s, &err) == 0 && s != NULL);
    th_assert(s != NULL && ib_session_noop(s, &err) == CM_EUPSTREAM); /* BAD: not in script */
    ib_session_close(&s);
    usleep(100 * 1000);
    th_assert(fake_imap_failures(c.fake) == 1); /* only the NOOP */
    ctx_fini(&c);

    th_assert(fake_upstream_start(&c, refused, "s3cret", IB_AUTH_LOGIN, 1) == 0);
    c.cr.origin = origin;
    th_assert(ib_session_open(&c.up, &c.cr, &s, &err) == CM_EAUTH && s == NULL);
    th_assert(strstr(err.msg, "Authentication failed") != NULL);
    if (strstr(err.msg, "Authentication failed") == NULL)
        fprintf(stderr, "  refused: %s\n", err.msg);
    th_assert(fake_imap_failures(c.fake) == 0);
    ctx_fini(&c);

    th_assert(fake_upstream_start(&c, separate, "s3\"cret", IB_AUTH_LOGIN, 1) == 0);
    c.cr.origin = origin;
    th_assert(ib_session_open(&c.up, &c.cr, &s, &err) == 0 && s != NULL);
    ib_session_close(&s);
    usleep(100 * 1000);
    th_assert(fake_imap_failures(c.fake) == 0);
    if (fake_imap_failures(c.fake))
        fprintf(stderr, "  fake: %s\n", fake_imap_error(c.fake));
    ctx_fini(&c);
#undef AFTER_LOGIN
#undef CAPS_ID
}

/* Each way the upstream can fail before login says what happened: a
   specific, non-empty detail (a greeting the server drops used to give ""
   from an overlapping cm_err_set). */
static void failure_detail(const struct fake_imap_step *script, bool tls, int want_rc,
                           const char *want_text, int idx)
{
    struct fake_session c;
    struct ib_session *s = NULL;
    struct cm_err err = CM_ERR_INIT;
    char url[64];
    int rc;

    memset(&c, 0, sizeof(c));
    th_assert_idx(fake_upstream_start(&c, script, "s3cret", IB_AUTH_LOGIN, 1) == 0, idx);
    if (tls) {
        ib_upstream_fini(&c.up);
        snprintf(url, sizeof(url), "imaps://127.0.0.1:%u", fake_imap_port(c.fake));
        th_assert_idx(ib_upstream_parse_url(url, &c.up, &err) == 0, idx);
        c.up.timeout_secs = 1;
    }
    rc = ib_session_open(&c.up, &c.cr, &s, &err);
    th_assert_idx(rc == want_rc && s == NULL, idx);
    th_assert_idx(err.msg[0] != '\0' && strstr(err.msg, want_text) != NULL, idx);
    if (rc != want_rc || strstr(err.msg, want_text) == NULL)
        fprintf(stderr, "  case %d: rc %d detail \"%s\"\n", idx, rc, err.msg);
    rc = ib_upstream_probe(&c.up, &err);
    th_assert_idx(rc == want_rc && err.msg[0] != '\0' && strstr(err.msg, want_text) != NULL, idx);
    ctx_fini(&c);
}

static void test_failure_details(void)
{
    static const struct fake_imap_step dropped[] = { FI_CLOSE };
    static const struct fake_imap_step silent[] = { FI_SLEEP(2500), FI_CLOSE };
    static const struct fake_imap_step bad_greeting[] = { FI_SEND("HELLO there\r\n"), FI_SLEEP(200),
                                                          FI_CLOSE };
    static const struct fake_imap_step bye[] = { FI_SEND("* BYE go away\r\n"), FI_CLOSE };
    static const struct fake_imap_step plain[] = { FI_SEND(GREETING), FI_SLEEP(200), FI_CLOSE };
    struct ib_upstream dead = { 0 };
    struct ib_creds cr = { .username = "alice", .secret = "s3cret", .mech = IB_AUTH_LOGIN };
    struct ib_session *s = NULL;
    struct cm_err err = CM_ERR_INIT;

    failure_detail(dropped, false, CM_EUNAVAIL, "greeting: server closed the connection", 0);
    failure_detail(silent, false, CM_ETIMEOUT, "timed out", 1);
    failure_detail(bad_greeting, false, CM_EUNAVAIL, "greeting: unparsable", 2);
    failure_detail(bye, false, CM_EUNAVAIL, "go away", 3);
    failure_detail(plain, true, CM_EUNAVAIL, "TLS", 4);
    th_assert(ib_upstream_parse_url("imap://127.0.0.1:1", &dead, &err) == 0);
    dead.timeout_secs = 1;
    th_assert(ib_session_open(&dead, &cr, &s, &err) == CM_EUNAVAIL);
    th_assert(strstr(err.msg, "cannot connect to 127.0.0.1:1") != NULL &&
              strstr(err.msg, "refused") != NULL);
    ib_upstream_fini(&dead);
}

/* ---- pool --------------------------------------------------------------- */

struct pctx {
    struct fake_session f;  /* the fake and the upstream the pool connects to */
    struct ib_pool *pool;
};

static int pctx_init(struct pctx *p, const struct fake_imap_step *script,
                     const struct ib_pool_settings *set)
{
    struct cm_err err = CM_ERR_INIT;

    p->pool = NULL;
    if (fake_upstream_start(&p->f, script, "s3cret", IB_AUTH_LOGIN, 1) < 0)
        return -1;
    return ib_pool_new(set, &p->f.up, &p->pool, &err);
}

static void pctx_fini(struct pctx *p)
{
    ib_pool_free(&p->pool);
    fake_upstream_stop(&p->f);
}

static void test_pool_reuse_and_cap(void)
{
    static const struct fake_imap_step script[] = { LOGIN_STEPS, FI_END };
    struct ib_pool_settings set = { .per_account = 1, .checkout_timeout_ms = 300 };
    struct pctx p;
    struct ib_session *s1 = NULL, *s2 = NULL, *first;
    struct cm_err err = CM_ERR_INIT;
    struct ib_pool_stats st;
    struct timespec t0;
    double dt;

    th_assert(pctx_init(&p, script, &set) == 0);
    th_assert(ib_pool_checkout(p.pool, &p.f.cr, &s1, &err) == 0);
    first = s1;
    ib_pool_checkin(p.pool, &s1);
    th_assert(s1 == NULL);
    th_assert(ib_pool_checkout(p.pool, &p.f.cr, &s1, &err) == 0);
    th_assert(s1 == first);                               /* the warm session */
    th_assert(fake_imap_connections(p.f.fake) == 1);        /* one connection, two checkouts */

    clock_gettime(CLOCK_MONOTONIC, &t0);
    th_assert(ib_pool_checkout(p.pool, &p.f.cr, &s2, &err) == CM_EAGAIN);
    dt = elapsed_since(&t0);
    th_assert(dt > 0.25 && dt < 1.0);
    th_assert(strstr(err.msg, "busy") != NULL && s2 == NULL);
    ib_pool_stats(p.pool, &st);
    th_assert(st.open == 1 && st.checked_out == 1 && st.idle == 0);
    th_assert(st.opened_total == 1 && st.reused_total == 1 && st.busy_total == 1);
    ib_pool_checkin(p.pool, &s1);
    ib_pool_stats(p.pool, &st);
    th_assert(st.idle == 1 && st.checked_out == 0);
    pctx_fini(&p);
}

static void test_pool_login_failure_frees_slot(void)
{
    static const struct fake_imap_step script[] = {
        FI_SEND(GREETING), FI_EXPECT("CAPABILITY"), FI_SEND(CAPS_PRE),
        FI_EXPECT("LOGIN \"alice\""), FI_SEND("$TAG NO [AUTHENTICATIONFAILED] nope\r\n"),
        FI_EXPECT("ENABLE"), FI_SEND("$TAG OK ignored\r\n"),
        FI_EXPECT("NAMESPACE"), FI_SEND("$TAG BAD not now\r\n"), FI_END,
    };
    struct ib_pool_settings set = { .per_account = 1, .checkout_timeout_ms = 300 };
    struct pctx p;
    struct ib_session *s = NULL;
    struct cm_err err = CM_ERR_INIT;
    struct ib_pool_stats st;

    th_assert(pctx_init(&p, script, &set) == 0);
    th_assert(ib_pool_checkout(p.pool, &p.f.cr, &s, &err) == CM_EAUTH);
    th_assert(ib_pool_checkout(p.pool, &p.f.cr, &s, &err) == CM_EAUTH); /* not EAGAIN */
    ib_pool_stats(p.pool, &st);
    th_assert(st.open == 0 && st.opened_total == 0);
    th_assert(fake_imap_connections(p.f.fake) == 2);
    pctx_fini(&p);
}

static void test_pool_broken_discarded(void)
{
    static const struct fake_imap_step script[] = {
        LOGIN_STEPS, FI_EXPECT("NOOP"), FI_SEND("* BYE going away\r\n"), FI_CLOSE,
    };
    struct ib_pool_settings set = { .per_account = 1, .checkout_timeout_ms = 300 };
    struct pctx p;
    struct ib_session *s = NULL;
    struct cm_err err = CM_ERR_INIT;
    struct ib_pool_stats st;

    th_assert(pctx_init(&p, script, &set) == 0);
    th_assert(ib_pool_checkout(p.pool, &p.f.cr, &s, &err) == 0);
    th_assert(s != NULL && ib_session_noop(s, &err) == CM_EUPSTREAM && ib_session_is_broken(s));
    ib_pool_checkin(p.pool, &s);
    ib_pool_stats(p.pool, &st);
    th_assert(st.open == 0 && st.idle == 0 && st.discarded_total == 1);
    th_assert(ib_pool_checkout(p.pool, &p.f.cr, &s, &err) == 0); /* a fresh connection */
    th_assert(fake_imap_connections(p.f.fake) == 2);
    ib_pool_checkin(p.pool, &s);
    pctx_fini(&p);
}

static void test_pool_stale_warm_session_replaced(void)
{
    static const struct fake_imap_step script[] = {
        LOGIN_STEPS, FI_SLEEP(300), FI_SEND("* BYE Disconnected for inactivity.\r\n"), FI_CLOSE,
    };
    struct ib_pool_settings set = { .per_account = 1, .checkout_timeout_ms = 300 };
    struct pctx p;
    struct ib_session *s = NULL;
    struct cm_err err = CM_ERR_INIT;
    struct ib_pool_stats st;

    th_assert(pctx_init(&p, script, &set) == 0);
    th_assert(ib_pool_checkout(p.pool, &p.f.cr, &s, &err) == 0);
    ib_pool_checkin(p.pool, &s);
    usleep(500 * 1000); /* the server says BYE and hangs up meanwhile */
    th_assert(ib_pool_checkout(p.pool, &p.f.cr, &s, &err) == 0);
    th_assert(s != NULL && !ib_session_is_broken(s));
    th_assert(fake_imap_connections(p.f.fake) == 2); /* a fresh one replaced the dead one */
    ib_pool_stats(p.pool, &st);
    th_assert(st.open == 1 && st.opened_total == 2 && st.reused_total == 0 && st.discarded_total == 1);
    ib_pool_checkin(p.pool, &s);
    pctx_fini(&p);
}

/* A reused session with a folder selected is NOOPed at checkout and keeps
   its selection; when the NOOP draws an untagged NO (Dovecot: the folder
   was deleted and created again) it is unselected; when it draws a BYE
   (Dovecot: the folder was renamed) a fresh connection takes the slot. */
#define CAPS_UNSELECT "* CAPABILITY IMAP4rev1 ENABLE UNSELECT CONDSTORE\r\n$TAG OK done\r\n"
#define LOGIN_UNSELECT_STEPS                                                                     \
    FI_SEND(GREETING), FI_EXPECT("CAPABILITY"), FI_SEND(CAPS_PRE),                               \
    FI_EXPECT("LOGIN \"alice\" \"s3cret\""), FI_SEND("$TAG OK logged in\r\n"),                  \
    FI_EXPECT("ENABLE CONDSTORE QRESYNC"), FI_SEND("* ENABLED CONDSTORE\r\n$TAG OK enabled\r\n"), \
    FI_EXPECT("NAMESPACE"), FI_SEND("$TAG BAD unknown\r\n"),                                    \
    FI_EXPECT("CAPABILITY"), FI_SEND(CAPS_UNSELECT),                                             \
    FI_EXPECT("LIST \"\" \"\""), FI_SEND("* LIST (\\Noselect) \"/\" \"\"\r\n$TAG OK done\r\n")
/* A NOOP on INBOX deleted and created again: "* NO", UNSELECT, EXAMINE anew. */
#define RECREATED_STEPS                                                                          \
    FI_EXPECT("NOOP"),                                                                           \
    FI_SEND("* NO Internal error occurred. Refer to server log for more information.\r\n"       \
            "$TAG OK NOOP completed.\r\n"),                                                      \
    FI_EXPECT("UNSELECT"), FI_SEND("$TAG OK Unselect completed\r\n"),                            \
    FI_EXPECT("EXAMINE INBOX (CONDSTORE)"),                                                      \
    FI_SEND("* 0 EXISTS\r\n* OK [UIDVALIDITY 8] x\r\n$TAG OK [READ-ONLY] done\r\n")
/* A NOOP on INBOX renamed away. */
#define RENAMED_STEPS                                                                            \
    FI_EXPECT("NOOP"), FI_SEND("* BYE IMAP session state is inconsistent, please relogin.\r\n"), \
    FI_CLOSE
static void test_pool_revalidate_at_checkout(void)
{
    static const struct fake_imap_step script[] = {
        LOGIN_UNSELECT_STEPS, FI_EXPECT("EXAMINE INBOX (CONDSTORE)"),
        FI_SEND("* 3 EXISTS\r\n* OK [UIDVALIDITY 7] x\r\n* OK [HIGHESTMODSEQ 9] x\r\n"
                "$TAG OK [READ-ONLY] done\r\n"),
        /* 2nd checkout: a plain NOOP; the selection is kept */
        FI_EXPECT("NOOP"), FI_SEND("* 4 EXISTS\r\n$TAG OK done\r\n"),
        /* 3rd: the folder was deleted and created again meanwhile */
        RECREATED_STEPS,
        /* 4th: renamed away */
        RENAMED_STEPS,
    };
    struct ib_pool_settings set = { .per_account = 1, .checkout_timeout_ms = 300 };
    struct pctx p;
    struct ib_session *s = NULL;
    struct ib_selection sel;
    struct cm_err err = CM_ERR_INIT;
    struct ib_pool_stats st;

    th_assert(pctx_init(&p, script, &set) == 0);
    th_assert(ib_pool_checkout(p.pool, &p.f.cr, &s, &err) == 0);
    th_assert(s != NULL && ib_session_select(s, "INBOX", true, NULL, &err) == 0);
    ib_pool_checkin(p.pool, &s);
    th_assert(ib_pool_checkout(p.pool, &p.f.cr, &s, &err) == 0);     /* NOOP */
    th_assert(s != NULL && ib_session_sync(s, &err) == 0);             /* no second NOOP */
    th_assert(ib_session_select(s, "INBOX", true, &sel, &err) == 0);   /* still selected */
    ib_pool_checkin(p.pool, &s);
    th_assert(ib_pool_checkout(p.pool, &p.f.cr, &s, &err) == 0);     /* NOOP + "* NO" -> UNSELECT */
    th_assert(s != NULL && ib_session_select(s, "INBOX", true, &sel, &err) == 0); /* EXAMINE */
    th_assert(sel.uidvalidity == 8);
    ib_pool_checkin(p.pool, &s);
    th_assert(ib_pool_checkout(p.pool, &p.f.cr, &s, &err) == 0);     /* NOOP -> BYE: fresh */
    th_assert(s != NULL && !ib_session_is_broken(s));
    th_assert(fake_imap_connections(p.f.fake) == 2);
    ib_pool_stats(p.pool, &st);
    th_assert(st.opened_total == 2 && st.reused_total == 2 && st.discarded_total == 1);
    ib_pool_checkin(p.pool, &s);
    th_assert(fake_imap_failures(p.f.fake) == 0);
    if (fake_imap_failures(p.f.fake))
        fprintf(stderr, "  fake: %s\n", fake_imap_error(p.f.fake));
    pctx_fini(&p);
}

/* With fresh_ms, a session the server answered just now is handed out
   without a NOOP: the selection's first use NOOPs instead, with the same
   protection (an untagged NO drops the selection and the folder is opened
   afresh), and a BYE there says ib_session_reuse_failed. */
static void test_pool_fresh_checkout_defers_noop(void)
{
    static const struct fake_imap_step script[] = {
        LOGIN_UNSELECT_STEPS, FI_EXPECT("EXAMINE INBOX (CONDSTORE)"),
        FI_SEND("* 3 EXISTS\r\n* OK [UIDVALIDITY 7] x\r\n$TAG OK [READ-ONLY] done\r\n"),
        /* 2nd checkout: nothing; the select NOOPs: deleted and created again */
        RECREATED_STEPS,
        /* 3rd checkout: nothing; the select NOOPs: renamed away */
        RENAMED_STEPS,
    };
    struct ib_pool_settings set = { .per_account = 1, .checkout_timeout_ms = 300,
                                    .fresh_ms = 60000 };
    struct pctx p;
    struct ib_session *s = NULL;
    struct ib_selection sel;
    struct cm_err err = CM_ERR_INIT;

    th_assert(pctx_init(&p, script, &set) == 0);
    th_assert(ib_pool_checkout(p.pool, &p.f.cr, &s, &err) == 0);
    th_assert(s != NULL && ib_session_select(s, "INBOX", true, NULL, &err) == 0);
    ib_pool_checkin(p.pool, &s);
    th_assert(ib_pool_checkout(p.pool, &p.f.cr, &s, &err) == 0);      /* no I/O */
    th_assert(s != NULL && ib_session_selected(s) != NULL && !ib_session_reuse_failed(s));
    th_assert(ib_session_select(s, "INBOX", true, &sel, &err) == 0);   /* NOOP, * NO: reopened */
    th_assert(sel.uidvalidity == 8 && sel.exists == 0);
    ib_pool_checkin(p.pool, &s);
    th_assert(ib_pool_checkout(p.pool, &p.f.cr, &s, &err) == 0);      /* no I/O */
    th_assert(s != NULL && fake_imap_connections(p.f.fake) == 1);
    th_assert(ib_session_select(s, "INBOX", true, &sel, &err) < 0);    /* NOOP -> BYE */
    th_assert(ib_session_is_broken(s) && ib_session_reuse_failed(s));
    ib_pool_checkin(p.pool, &s);
    th_assert(fake_imap_failures(p.f.fake) == 0);
    if (fake_imap_failures(p.f.fake))
        fprintf(stderr, "  fake: %s\n", fake_imap_error(p.f.fake));
    pctx_fini(&p);
}

static void test_pool_budget(void)
{
    static const struct fake_imap_step script[] = { LOGIN_STEPS, FI_END };
    struct ib_pool_settings set = { .per_account = 2, .account_budget = 2, .checkout_timeout_ms = 200 };
    struct pctx p;
    struct ib_session *s = NULL;
    struct cm_err err = CM_ERR_INIT;
    struct ib_pool_stats st;

    th_assert(pctx_init(&p, script, &set) == 0);
    th_assert(ib_pool_budget_reserve(p.pool, "alice") == 0);
    th_assert(ib_pool_budget_reserve(p.pool, "alice") == 0);
    th_assert(ib_pool_budget_reserve(p.pool, "alice") == CM_ELIMIT);
    th_assert(ib_pool_budget_reserve(p.pool, "bob") == 0);       /* per account */
    th_assert(ib_pool_checkout(p.pool, &p.f.cr, &s, &err) == CM_EAGAIN); /* budget full */
    ib_pool_budget_release(p.pool, "alice");
    th_assert(ib_pool_checkout(p.pool, &p.f.cr, &s, &err) == 0);
    ib_pool_checkin(p.pool, &s);
    /* budget full again (1 watcher + 1 idle session): a watcher evicts the idle one */
    th_assert(ib_pool_budget_reserve(p.pool, "alice") == 0);
    ib_pool_stats(p.pool, &st);
    th_assert(st.open == 0 && st.reserved == 3);
    ib_pool_budget_release(p.pool, "alice");
    ib_pool_budget_release(p.pool, "alice");
    ib_pool_budget_release(p.pool, "bob");
    ib_pool_stats(p.pool, &st);
    th_assert(st.reserved == 0);
    pctx_fini(&p);
}

#define STRESS_THREADS 6
#define STRESS_ROUNDS 20

struct stress {
    struct pctx *p;
    int ok;
};

static void *stress_main(void *arg)
{
    struct stress *st = arg;

    for (int i = 0; i < STRESS_ROUNDS; i++) {
        struct ib_session *s = NULL;
        struct cm_err err = CM_ERR_INIT;

        if (ib_pool_checkout(st->p->pool, &st->p->f.cr, &s, &err) == 0) {
            st->ok++;
            usleep(1000);
            ib_pool_checkin(st->p->pool, &s);
        }
    }
    return NULL;
}

static void test_pool_concurrent(void)
{
    static const struct fake_imap_step script[] = { LOGIN_STEPS, FI_END };
    struct ib_pool_settings set = { .per_account = 2, .checkout_timeout_ms = 5000 };
    struct pctx p;
    struct stress st[STRESS_THREADS];
    pthread_t th[STRESS_THREADS];
    struct ib_pool_stats ps;
    int total = 0;

    th_assert(pctx_init(&p, script, &set) == 0);
    for (int i = 0; i < STRESS_THREADS; i++) {
        st[i].p = &p;
        st[i].ok = 0;
        pthread_create(&th[i], NULL, stress_main, &st[i]);
    }
    for (int i = 0; i < STRESS_THREADS; i++) {
        pthread_join(th[i], NULL);
        total += st[i].ok;
    }
    th_assert(total == STRESS_THREADS * STRESS_ROUNDS);
    ib_pool_stats(p.pool, &ps);
    th_assert(ps.opened_total <= 2 && fake_imap_connections(p.f.fake) <= 2);
    th_assert(ps.opened_total + ps.reused_total == (unsigned long long)total);
    th_assert(ps.checked_out == 0 && ps.idle == ps.open && ps.open <= 2);
    pctx_fini(&p);
}

static void test_pool_maintenance(void)
{
    static const struct fake_imap_step script[] = {
        LOGIN_STEPS, FI_EXPECT("NOOP"), FI_SEND("$TAG OK still here\r\n"), FI_END,
    };
    struct ib_pool_settings set = { .per_account = 1, .keepalive_secs = 1, .max_idle_secs = 2 };
    struct pctx p;
    struct ib_session *s = NULL;
    struct cm_err err = CM_ERR_INIT;
    struct ib_pool_stats st;

    th_assert(pctx_init(&p, script, &set) == 0);
    th_assert(ib_pool_checkout(p.pool, &p.f.cr, &s, &err) == 0);
    ib_pool_checkin(p.pool, &s);
    usleep(1700 * 1000); /* keep-alive NOOP after 1 s */
    ib_pool_stats(p.pool, &st);
    th_assert(st.open == 1);
    usleep(1300 * 1000); /* closed after 2 s idle */
    ib_pool_stats(p.pool, &st);
    th_assert(st.open == 0 && st.discarded_total == 1);
    usleep(100 * 1000);
    th_assert(fake_imap_failures(p.f.fake) == 0); /* NOOP then LOGOUT, as scripted */
    if (fake_imap_failures(p.f.fake))
        fprintf(stderr, "  fake: %s\n", fake_imap_error(p.f.fake));
    pctx_fini(&p);
}

int main(void)
{
    th_assert(cm_crypto_init() == 0);
    th_run("login ok: capabilities from greeting and LOGIN OK, one write, no password in logs", test_login_ok);
    th_run("login NO -> EAUTH", test_login_no);
    th_run("ENABLED but not offered after login: not used", test_enabled_but_not_offered);
    th_run("no capabilities sent: CAPABILITY asked before and after login", test_caps_asked_when_not_sent);
    th_run("login on its own, then ENABLE + NAMESPACE in one write", test_batch_after_login);
    th_run("LOGIN refused with pipelined commands: answers read, LOGOUT in step", test_login_refused_pipelined);
    th_run("XOAUTH2; OAUTHBEARER not offered", test_xoauth2_and_oauthbearer);
    th_run("XOAUTH2 refused with a JSON challenge -> EAUTH", test_xoauth2_refused);
    th_run("AUTHENTICATE PLAIN with SASL-IR, ID sent", test_plain_sasl_ir);
    th_run("AUTHENTICATE PLAIN two-step, error challenge, ID refused", test_plain_two_step);
    th_run("OAUTHBEARER with and without SASL-IR", test_oauthbearer);
    th_run("OAUTHBEARER refused with a JSON challenge -> EAUTH", test_oauthbearer_refused);
    th_run("OAUTHBEARER token with control characters refused", test_oauthbearer_control_chars);
    th_run("no CONDSTORE/QRESYNC: no ENABLE, LIST delimiter", test_no_condstore_no_enable);
    th_run("select/examine, NO and BAD keep the session", test_select_and_command_errors);
    th_run("BYE mid-command -> broken", test_bye_mid_command);
    th_run("silent server -> ETIMEOUT", test_silent_server);
    th_run("garbage -> broken", test_garbage);
    th_run("literal cap", test_literals);
    th_run("literal cap across reads", test_literals_split);
    th_run("STARTTLS response injection refused", test_starttls_injection);
    th_run("CR/LF and empty input refused", test_bad_input);
    th_run("probe", test_probe);
    th_run("ID with the user's address before LOGIN, pipelined", test_origin_id_before_login);
    th_run("each upstream failure kind has a specific detail", test_failure_details);
    th_run("session on an fd above 1024", test_high_fd);
    th_run("write after the server closed: error, no SIGPIPE", test_write_after_close_no_sigpipe);
    th_run("pool: warm reuse, per-account cap", test_pool_reuse_and_cap);
    th_run("pool: login failure leaves no slot", test_pool_login_failure_frees_slot);
    th_run("pool: broken session discarded", test_pool_broken_discarded);
    th_run("pool: stale warm session replaced", test_pool_stale_warm_session_replaced);
    th_run("pool: NOOP at checkout; * NO -> UNSELECT; BYE -> fresh", test_pool_revalidate_at_checkout);
    th_run("pool: fresh session: no NOOP at checkout, its first use NOOPs",
           test_pool_fresh_checkout_defers_noop);
    th_run("pool: account budget", test_pool_budget);
    th_run("pool: keep-alive and idle close", test_pool_maintenance);
    th_run("pool: concurrent checkouts", test_pool_concurrent);
    return th_end();
}
