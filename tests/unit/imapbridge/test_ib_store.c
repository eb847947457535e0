/* test_ib_store.c - which flags a client may set, and what reaches the
   wire against the scripted fake IMAP server: the exact STORE/COPY/EXPUNGE
   commands, and nothing at all when the server lacks MOVE and UIDPLUS
   (Dovecot has both, so the integration tier cannot show that). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness/fake_session.h"
#include "harness/th.h"
#include "imapbridge/ib_session.h"
#include "imapbridge/ib_store.h"

#define GREETING "* OK fake ready\r\n"

/* Login to a server whose capabilities after login are `caps`, then
   SELECT INBOX read-write. */
#define LOGIN_SELECT(caps)                                                               \
    FI_SEND(GREETING), FI_EXPECT("CAPABILITY"),                                          \
    FI_SEND("* CAPABILITY IMAP4rev1 ENABLE\r\n$TAG OK done\r\n"),                        \
    FI_EXPECT("LOGIN \"alice\" \"s3cret\""), FI_SEND("$TAG OK logged in\r\n"),         \
    FI_EXPECT("ENABLE CONDSTORE QRESYNC"), FI_SEND("* ENABLED\r\n$TAG OK done\r\n"),     \
    FI_EXPECT("NAMESPACE"), FI_SEND("$TAG BAD unknown\r\n"),                            \
    FI_EXPECT("CAPABILITY"), FI_SEND("* CAPABILITY " caps "\r\n$TAG OK done\r\n"),       \
    FI_EXPECT("LIST \"\" \"\""), FI_SEND("* LIST (\\Noselect) \"/\" \"\"\r\n$TAG OK done\r\n"), \
    FI_EXPECT("SELECT INBOX"),                                                           \
    FI_SEND("* 9 EXISTS\r\n* OK [UIDVALIDITY 7] v\r\n* OK [UIDNEXT 30] n\r\n$TAG OK [READ-WRITE] ok\r\n")

/* Logged in, INBOX selected read-write. */
static bool ctx_open(struct fake_session *c, const struct fake_imap_step *script)
{
    struct cm_err err = CM_ERR_INIT;

    return fake_session_open(c, script, "s3cret", 1) == 0 &&
           ib_session_select(c->s, "INBOX", false, NULL, &err) == 0;
}

static void test_refused_without_uidplus(void)
{
    static const struct fake_imap_step script[] = { LOGIN_SELECT("IMAP4rev1 ENABLE IDLE"),
                                                    FI_END };
    struct fake_session c;
    struct cm_err err = CM_ERR_INIT;
    uint32_t v = 1, u = 1;

    th_assert(ctx_open(&c, script));
    /* neither sends anything: FI_END records any command as unexpected */
    th_assert(ib_store_move(c.s, 5, "Trash", &v, &u, &err) == CM_EPERM);
    th_assert(v == 0 && u == 0);
    th_assert(ib_store_expunge(c.s, 5, &err) == CM_EPERM);
    th_assert(strstr(err.msg, "UIDPLUS") != NULL);
    fake_session_close(&c);
}

static void test_move_by_copy_with_uidplus(void)
{
    static const struct fake_imap_step script[] = {
        LOGIN_SELECT("IMAP4rev1 ENABLE UIDPLUS"),
        FI_EXPECT("UID COPY 5 Trash"), FI_SEND("$TAG OK [COPYUID 9 5 77] copied\r\n"),
        FI_EXPECT("UID STORE 5 +FLAGS.SILENT (\\Deleted)"), FI_SEND("$TAG OK stored\r\n"),
        FI_EXPECT("UID EXPUNGE 5"), FI_SEND("* 3 EXPUNGE\r\n$TAG OK expunged\r\n"),
        FI_EXPECT("UID STORE 6 +FLAGS.SILENT (\\Deleted)"), FI_SEND("$TAG OK stored\r\n"),
        FI_EXPECT("UID EXPUNGE 6"), FI_SEND("$TAG OK expunged\r\n"),
        FI_END,
    };
    struct fake_session c;
    struct cm_err err = CM_ERR_INIT;
    uint32_t v = 0, u = 0;

    th_assert(ctx_open(&c, script));
    th_assert(ib_store_move(c.s, 5, "Trash", &v, &u, &err) == 0);
    th_assert(v == 9 && u == 77);
    th_assert(ib_store_expunge(c.s, 6, &err) == 0);
    fake_session_close(&c);
}

static void test_move_and_flags(void)
{
    static const struct fake_imap_step script[] = {
        LOGIN_SELECT("IMAP4rev1 ENABLE MOVE UIDPLUS"),
        FI_EXPECT("UID MOVE 5 Archive"),
        FI_SEND("* OK [COPYUID 11 5 3] moved\r\n* 3 EXPUNGE\r\n$TAG OK done\r\n"),
        FI_EXPECT("UID STORE 8 +FLAGS.SILENT (\\Seen $Forwarded)"), FI_SEND("$TAG OK stored\r\n"),
        FI_EXPECT("UID STORE 8 -FLAGS.SILENT (\\Flagged)"), FI_SEND("$TAG OK stored\r\n"),
        FI_END,
    };
    static const char *const add[] = { "\\Seen", "$Forwarded" }, *const rm[] = { "\\Flagged" };
    static const char *const bad[] = { "\\Recent" };
    struct fake_session c;
    struct cm_err err = CM_ERR_INIT;
    uint32_t v = 0, u = 0;

    th_assert(ctx_open(&c, script));
    th_assert(ib_store_move(c.s, 5, "Archive", &v, &u, &err) == 0);
    th_assert(v == 11 && u == 3);
    th_assert(ib_store_flags(c.s, 8, bad, 1, NULL, 0, &err) == CM_EINVAL); /* nothing sent */
    th_assert(ib_store_flags(c.s, 8, add, 2, rm, 1, &err) == 0);
    fake_session_close(&c);
}

static void test_flag_valid(void)
{
    static const char *const good[] = { "\\Seen", "\\seen", "\\Answered", "\\Flagged",
                                        "\\Deleted", "\\Draft", "$Forwarded", "$label1",
                                        "Junk", "NonJunk", "a" };
    static const char *const bad[] = { "", "\\Recent", "\\recent", "\\Foo", "\\", "a b",
                                       "a(b", "a)", "a{1}", "a]", "a%", "a*", "a\"b",
                                       "a\\b", "a\r\nb", "caf\xc3\xa9", "x\x7f" };

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        th_assert_idx(ib_store_flag_valid(good[i]), i);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        th_assert_idx(!ib_store_flag_valid(bad[i]), i);
    th_assert(!ib_store_flag_valid(NULL));
    {
        char longkw[300];

        for (size_t i = 0; i < sizeof(longkw) - 1; i++)
            longkw[i] = 'k';
        longkw[sizeof(longkw) - 1] = '\0';
        th_assert(!ib_store_flag_valid(longkw));
        longkw[255] = '\0';
        th_assert(ib_store_flag_valid(longkw));
    }
}

int main(void)
{
    th_run("store: flag syntax", test_flag_valid);
    th_run("store: no MOVE, no UIDPLUS -> refused, nothing sent", test_refused_without_uidplus);
    th_run("store: UIDPLUS without MOVE -> COPY + STORE + UID EXPUNGE", test_move_by_copy_with_uidplus);
    th_run("store: UID MOVE with COPYUID, flag STOREs", test_move_and_flags);
    return th_end();
}
