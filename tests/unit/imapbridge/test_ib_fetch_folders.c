/* test_ib_fetch_folders.c - EXAMINE + UID FETCH of many folders in one
 * write, against the scripted fake server: the exact commands in order
 * (UNSELECT last), each folder's answer matched to its job, a folder that
 * cannot be opened (EXAMINE refused, its FETCH refused "no mailbox") left
 * empty without breaking the session, and nothing sent without UNSELECT.
 * (The Dovecot side, counted at a proxy: test_jmap_ids.py.) */
#include <stdlib.h>
#include <string.h>

#include "harness/fake_session.h"
#include "harness/th.h"
#include "imapbridge/ib_fetch.h"
#include "imapbridge/ib_fetch_folders.h"
#include "imapbridge/ib_session.h"
#include "imapbridge/ib_uidset.h"

#define LOGIN(caps)                                                                      \
    FI_SEND("* OK fake ready\r\n"), FI_EXPECT("CAPABILITY"),                             \
    FI_SEND("* CAPABILITY IMAP4rev1 ENABLE\r\n$TAG OK done\r\n"),                        \
    FI_EXPECT("LOGIN"), FI_SEND("$TAG OK logged in\r\n"),                                \
    FI_EXPECT("ENABLE CONDSTORE QRESYNC"), FI_SEND("* ENABLED\r\n$TAG OK done\r\n"),     \
    FI_EXPECT("NAMESPACE"), FI_SEND("$TAG BAD unknown\r\n"),                            \
    FI_EXPECT("CAPABILITY"), FI_SEND("* CAPABILITY " caps "\r\n$TAG OK done\r\n"),       \
    FI_EXPECT("LIST \"\" \"\""), FI_SEND("* LIST (\\Noselect) \"/\" \"\"\r\n$TAG OK done\r\n")
#define EXAMINED(v) FI_SEND("* 3 EXISTS\r\n* OK [UIDVALIDITY " #v "] v\r\n$TAG OK [READ-ONLY] ok\r\n")

static void test_three_folders_one_gone(void)
{
    static const struct fake_imap_step script[] = {
        LOGIN("IMAP4rev1 ENABLE UNSELECT"),
        FI_EXPECT("EXAMINE \"INBOX\""), EXAMINED(7),
        FI_EXPECT("UID FETCH 4,9 (UID FLAGS)"),
        FI_SEND("* 1 FETCH (UID 4 FLAGS (\\Seen))\r\n* 2 FETCH (UID 9 FLAGS ())\r\n$TAG OK done\r\n"),
        FI_EXPECT("EXAMINE \"Gone\""), FI_SEND("$TAG NO [NONEXISTENT] no such folder\r\n"),
        FI_EXPECT("UID FETCH 2 (UID FLAGS)"), FI_SEND("$TAG BAD no mailbox selected\r\n"),
        FI_EXPECT("EXAMINE \"Work\""), EXAMINED(8),
        FI_EXPECT("UID FETCH 2 (UID FLAGS)"),
        FI_SEND("* 1 FETCH (UID 2 FLAGS (\\Flagged))\r\n$TAG OK done\r\n"),
        FI_EXPECT("UNSELECT"), FI_SEND("$TAG OK done\r\n"),
        FI_END,
    };
    static const uint32_t inbox[] = { 4, 9 }, two[] = { 2 };
    struct fake_session c;
    struct cm_err err = CM_ERR_INIT;
    struct ib_fetch_job jobs[3] = {
        { .imap_name = "INBOX" }, { .imap_name = "Gone" }, { .imap_name = "Work" }
    };

    jobs[0].uids = ib_uidset_of(inbox, 2);
    jobs[1].uids = ib_uidset_of(two, 1);
    jobs[2].uids = ib_uidset_of(two, 1);
    th_assert(fake_session_open(&c, script, "pw", 2) == 0);
    th_assert(ib_fetch_folders_supported(c.s));
    th_assert(ib_fetch_folders(c.s, jobs, 3, IB_FETCH_FLAGS, &err) == 0);
    th_assert(jobs[0].uidvalidity == 7 && jobs[0].n == 2);
    th_assert(jobs[0].n == 2 && jobs[0].msgs[0].uid == 4 && jobs[0].msgs[1].uid == 9);
    th_assert(jobs[1].uidvalidity == 0 && jobs[1].n == 0 && jobs[1].msgs == NULL);
    th_assert(jobs[2].uidvalidity == 8 && jobs[2].n == 1 && jobs[2].msgs[0].uid == 2);
    th_assert(!ib_session_is_broken(c.s) && ib_session_selected(c.s) == NULL);
    for (size_t i = 0; i < 3; i++) {
        ib_msgs_free(jobs[i].msgs, jobs[i].n);
        ib_uidset_free(jobs[i].uids);
    }
    fake_session_close(&c);
}

static void test_no_unselect_sends_nothing(void)
{
    static const struct fake_imap_step script[] = { LOGIN("IMAP4rev1 ENABLE"), FI_END };
    static const uint32_t one[] = { 1 };
    struct fake_session c;
    struct cm_err err = CM_ERR_INIT;
    struct ib_fetch_job job = { .imap_name = "INBOX" };

    job.uids = ib_uidset_of(one, 1);
    th_assert(fake_session_open(&c, script, "pw", 2) == 0);
    th_assert(!ib_fetch_folders_supported(c.s));
    th_assert(ib_fetch_folders(c.s, &job, 1, IB_FETCH_FLAGS, &err) == CM_ECONFIG);
    th_assert(job.msgs == NULL && job.n == 0);
    ib_uidset_free(job.uids);
    fake_session_close(&c);
}

int main(void)
{
    th_run("three folders in one write, one gone", test_three_folders_one_gone);
    th_run("no UNSELECT: nothing sent", test_no_unselect_sends_nothing);
    return th_end();
}
