/* test_ib_fetch.c - ib_fetch_msgs_from_seq against the scripted fake IMAP
   server: FETCH lo:* by sequence number (the newest page of a folder, from
   its EXAMINE's EXISTS), unsolicited FETCHes of older messages dropped. */
#include <string.h>

#include "harness/fake_session.h"
#include "harness/th.h"
#include "imapbridge/ib_fetch.h"
#include "imapbridge/ib_session.h"

#define LOGIN_EXAMINE                                                                    \
    FI_SEND("* OK fake ready\r\n"), FI_EXPECT("CAPABILITY"),                             \
    FI_SEND("* CAPABILITY IMAP4rev1 ENABLE\r\n$TAG OK done\r\n"),                        \
    FI_EXPECT("LOGIN \"alice\" \"s3cret\""), FI_SEND("$TAG OK logged in\r\n"),         \
    FI_EXPECT("ENABLE CONDSTORE QRESYNC"), FI_SEND("* ENABLED CONDSTORE QRESYNC\r\n$TAG OK done\r\n"), \
    FI_EXPECT("NAMESPACE"), FI_SEND("$TAG BAD unknown\r\n"),                            \
    FI_EXPECT("CAPABILITY"),                                                             \
    FI_SEND("* CAPABILITY IMAP4rev1 ENABLE CONDSTORE QRESYNC\r\n$TAG OK done\r\n"),     \
    FI_EXPECT("LIST \"\" \"\""), FI_SEND("* LIST (\\Noselect) \"/\" \"\"\r\n$TAG OK done\r\n"), \
    FI_EXPECT("EXAMINE INBOX"),                                                          \
    FI_SEND("* 9 EXISTS\r\n* OK [UIDVALIDITY 7] v\r\n* OK [UIDNEXT 32] n\r\n"             \
            "* OK [HIGHESTMODSEQ 15] m\r\n$TAG OK [READ-ONLY] ok\r\n")

static void test_from_seq(void)
{
    static const struct fake_imap_step script[] = {
        LOGIN_EXAMINE,
        FI_EXPECT("FETCH 8:* (UID FLAGS RFC822.SIZE)"),
        /* message 3 changed flags meanwhile (unsolicited, not ours); 10
           arrived after the EXAMINE (kept: the caller tells it by UID) */
        FI_SEND("* 3 FETCH (UID 3 FLAGS (\\Seen) MODSEQ (16))\r\n"
                "* 8 FETCH (UID 20 FLAGS () RFC822.SIZE 10)\r\n"
                "* 9 FETCH (UID 31 FLAGS (\\Flagged) RFC822.SIZE 11)\r\n"
                "* 10 FETCH (UID 32 FLAGS () RFC822.SIZE 12)\r\n$TAG OK done\r\n"),
        FI_EXPECT("FETCH 1:* (UID FLAGS RFC822.SIZE)"),
        FI_SEND("$TAG NO [SERVERBUG] try later\r\n"),
        FI_END,
    };
    struct fake_session c;
    struct cm_err err = CM_ERR_INIT;
    struct ib_msg *m = NULL;
    size_t n = 0;

    th_assert(fake_session_open(&c, script, "s3cret", 1) == 0);
    th_assert(ib_session_select(c.s, "INBOX", true, NULL, &err) == 0);
    th_assert(ib_fetch_msgs_from_seq(c.s, 8, IB_FETCH_FLAGS | IB_FETCH_SIZE, &m, &n, &err) == 0);
    th_assert(n == 3 && m[0].uid == 20 && m[1].uid == 31 && m[2].uid == 32);
    th_assert(m[0].size == 10 && m[1].nflags == 1 && strcmp(m[1].flags[0], "\\Flagged") == 0);
    ib_msgs_free(m, n);
    th_assert(ib_fetch_msgs_from_seq(c.s, 0, IB_FETCH_FLAGS, &m, &n, &err) == CM_EINVAL);
    th_assert(m == NULL && n == 0);
    th_assert(ib_fetch_msgs_from_seq(c.s, 1, IB_FETCH_FLAGS | IB_FETCH_SIZE, &m, &n, &err) ==
              CM_EUPSTREAM);
    th_assert(m == NULL && n == 0 && !ib_session_is_broken(c.s));
    fake_session_close(&c);
}

int main(void)
{
    th_run("FETCH lo:* by number: ours only, in order", test_from_seq);
    return th_end();
}
