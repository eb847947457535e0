/* test_ib_park.c - the parking folder's IMAP commands against the scripted
   fake server: APPEND refused without UIDPLUS (nothing sent), [TRYCREATE]
   answered by one CREATE and a second APPEND, an APPEND without APPENDUID,
   and the lazy sweep (only expired UIDs expunged, the rest counted). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "harness/fake_session.h"
#include "harness/th.h"
#include "imapbridge/ib_park.h"
#include "imapbridge/ib_session.h"

#define GREETING "* OK fake ready\r\n"

#define LOGIN(caps)                                                                                \
    FI_SEND(GREETING), FI_EXPECT("CAPABILITY"),                                                    \
        FI_SEND("* CAPABILITY IMAP4rev1 ENABLE\r\n$TAG OK done\r\n"),                              \
        FI_EXPECT("LOGIN \"alice\" \"s3cret\""), FI_SEND("$TAG OK logged in\r\n"),                 \
        FI_EXPECT("ENABLE CONDSTORE QRESYNC"), FI_SEND("* ENABLED\r\n$TAG OK done\r\n"),           \
        FI_EXPECT("NAMESPACE"), FI_SEND("$TAG BAD unknown\r\n"), FI_EXPECT("CAPABILITY"),          \
        FI_SEND("* CAPABILITY " caps "\r\n$TAG OK done\r\n"), FI_EXPECT("LIST \"\" \"\""),         \
        FI_SEND("* LIST (\\Noselect) \"/\" \"\"\r\n$TAG OK done\r\n")

static void test_no_uidplus(void)
{
    static const struct fake_imap_step script[] = {LOGIN("IMAP4rev1 ENABLE"), FI_END};
    struct fake_session c;
    struct cm_err err = CM_ERR_INIT;
    uint32_t v = 1, u = 1;

    th_assert(fake_session_open(&c, script, "s3cret", 1) == 0);
    th_assert(ib_park_put(c.s, "hello", 5, &v, &u, &err) == CM_EPERM);
    th_assert(v == 0 && u == 0 && strstr(err.msg, "UIDPLUS") != NULL);
    fake_session_close(&c);
}

static void test_trycreate(void)
{
    static const struct fake_imap_step script[] = {
        LOGIN("IMAP4rev1 ENABLE UIDPLUS"),
        FI_EXPECT("APPEND jmapgate-uploads () {5}"),
        FI_SEND("$TAG NO [TRYCREATE] Mailbox doesn't exist\r\n"),
        FI_EXPECT("CREATE jmapgate-uploads"),
        FI_SEND("$TAG OK created\r\n"),
        FI_EXPECT("APPEND jmapgate-uploads () {5}"),
        FI_SEND("+ go\r\n"),
        FI_EXPECT("^hello"),
        FI_SEND("$TAG OK [APPENDUID 42 7] done\r\n"),
        FI_EXPECT("APPEND jmapgate-uploads () {5}"),
        FI_SEND("+ go\r\n"),
        FI_EXPECT("^hello"),
        FI_SEND("$TAG OK done, no uid\r\n"),
        FI_END,
    };
    struct fake_session c;
    struct cm_err err = CM_ERR_INIT;
    uint32_t v = 0, u = 0;

    th_assert(fake_session_open(&c, script, "s3cret", 1) == 0);
    th_assert(ib_park_put(c.s, "hello", 5, &v, &u, &err) == 0);
    th_assert(v == 42 && u == 7);
    th_assert(ib_park_put(c.s, "hello", 5, &v, &u, &err) == CM_EUPSTREAM);
    th_assert(strstr(err.msg, "APPENDUID") != NULL);
    th_assert(!ib_session_is_broken(c.s));
    fake_session_close(&c);
}

static void test_sweep(void)
{
    static const struct fake_imap_step script[] = {
        LOGIN("IMAP4rev1 ENABLE UIDPLUS"),
        FI_EXPECT("SELECT jmapgate-uploads"),
        FI_SEND("* 2 EXISTS\r\n* OK [UIDVALIDITY 42] v\r\n* OK [UIDNEXT 9] n\r\n"
                "$TAG OK [READ-WRITE] ok\r\n"),
        FI_EXPECT("UID FETCH 1:*"),
        FI_SEND("* 1 FETCH (UID 3 INTERNALDATE \"01-Jan-2020 00:00:00 +0000\" "
                "RFC822.SIZE 100)\r\n"
                "* 2 FETCH (UID 8 INTERNALDATE \"01-Jan-2099 00:00:00 +0000\" "
                "RFC822.SIZE 250)\r\n$TAG OK fetched\r\n"),
        FI_EXPECT("UID STORE 3 +FLAGS.SILENT (\\Deleted)"),
        FI_SEND("$TAG OK stored\r\n"),
        FI_EXPECT("UID EXPUNGE 3"),
        FI_SEND("* 1 EXPUNGE\r\n$TAG OK expunged\r\n"),
        FI_END,
    };
    struct fake_session c;
    struct cm_err err = CM_ERR_INIT;
    uint64_t kept = 0;

    th_assert(fake_session_open(&c, script, "s3cret", 1) == 0);
    th_assert(ib_park_sweep(c.s, (int64_t)time(NULL), 3600, &kept, &err) == 0);
    th_assert(kept == 250);
    fake_session_close(&c);
}

static void test_sweep_without_folder(void)
{
    static const struct fake_imap_step script[] = {
        LOGIN("IMAP4rev1 ENABLE UIDPLUS"),
        FI_EXPECT("SELECT jmapgate-uploads"),
        FI_SEND("$TAG NO Mailbox doesn't exist: jmapgate-uploads\r\n"),
        FI_EXPECT("LIST \"\" \"jmapgate-uploads\""),
        FI_SEND("$TAG OK listed\r\n"),
        FI_END,
    };
    struct fake_session c;
    struct cm_err err = CM_ERR_INIT;
    uint64_t kept = 1;

    th_assert(fake_session_open(&c, script, "s3cret", 1) == 0);
    th_assert(ib_park_sweep(c.s, (int64_t)time(NULL), 3600, &kept, &err) == 0);
    th_assert(kept == 0 && err.code == CM_OK);
    fake_session_close(&c);
}

int main(void)
{
    th_run("no_uidplus", test_no_uidplus);
    th_run("trycreate", test_trycreate);
    th_run("sweep", test_sweep);
    th_run("sweep_without_folder", test_sweep_without_folder);
    return th_end();
}
