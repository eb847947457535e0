/* test_ib_delta.c - ib_delta_since against the scripted fake IMAP server:
   the QRESYNC path (VANISHED names the expunges), the CONDSTORE-only path
   (expunges only from the counts), and the cases told without a round
   trip (UIDVALIDITY changed, no CONDSTORE, nothing changed; FI_END records
   any command sent there as unexpected); and ib_delta_open_since, the
   CHANGEDSINCE FETCH written with the EXAMINE + STATUS. */
#include <string.h>

#include "harness/fake_session.h"
#include "harness/th.h"
#include "imapbridge/ib_delta.h"
#include "imapbridge/ib_mailbox.h"
#include "imapbridge/ib_session.h"

#define GREETING "* OK fake ready\r\n"

/* Login to a server offering `caps` after login that enables `enabled`
   (six commands: the next tag is 7). */
#define LOGIN(caps, enabled)                                                             \
    FI_SEND(GREETING), FI_EXPECT("CAPABILITY"),                                          \
    FI_SEND("* CAPABILITY IMAP4rev1 ENABLE\r\n$TAG OK done\r\n"),                        \
    FI_EXPECT("LOGIN \"alice\" \"s3cret\""), FI_SEND("$TAG OK logged in\r\n"),         \
    FI_EXPECT("ENABLE CONDSTORE QRESYNC"), FI_SEND("* ENABLED " enabled "\r\n$TAG OK done\r\n"), \
    FI_EXPECT("NAMESPACE"), FI_SEND("$TAG BAD unknown\r\n"),                            \
    FI_EXPECT("CAPABILITY"), FI_SEND("* CAPABILITY " caps "\r\n$TAG OK done\r\n"),       \
    FI_EXPECT("LIST \"\" \"\""), FI_SEND("* LIST (\\Noselect) \"/\" \"\"\r\n$TAG OK done\r\n")

/* ... then EXAMINE INBOX. */
#define LOGIN_EXAMINE(caps, enabled)                                                     \
    LOGIN(caps, enabled), FI_EXPECT("EXAMINE INBOX"),                                    \
    FI_SEND("* 9 EXISTS\r\n* OK [UIDVALIDITY 7] v\r\n* OK [UIDNEXT 32] n\r\n"             \
            "* OK [HIGHESTMODSEQ 15] m\r\n$TAG OK [READ-ONLY] ok\r\n")

#define QRESYNC_SERVER LOGIN_EXAMINE("IMAP4rev1 ENABLE CONDSTORE QRESYNC", "CONDSTORE QRESYNC")
#define CONDSTORE_SERVER LOGIN_EXAMINE("IMAP4rev1 ENABLE CONDSTORE", "CONDSTORE")

static const struct ib_delta_state old_state = { 7, 10, 30, 9 };

static bool ctx_open(struct fake_session *c, const struct fake_imap_step *script)
{
    struct cm_err err = CM_ERR_INIT;

    return fake_session_open(c, script, "s3cret", 1) == 0 &&
           ib_session_select(c->s, "INBOX", true, NULL, &err) == 0;
}

static bool uids_are(const struct ib_change *ch, size_t n, const uint32_t *want, size_t nwant)
{
    if (n != nwant)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (ch[i].uid != want[i])
            return false;
    }
    return true;
}

static void test_qresync(void)
{
    static const struct fake_imap_step script[] = {
        QRESYNC_SERVER,
        FI_EXPECT("UID FETCH 1:4294967295 (UID FLAGS MODSEQ) (CHANGEDSINCE 10 VANISHED)"),
        /* 3:4 existed at the old state; 33 arrived and left since */
        FI_SEND("* VANISHED (EARLIER) 3:4,33\r\n"
                "* 9 FETCH (UID 31 FLAGS () MODSEQ (15))\r\n"
                "* 1 FETCH (UID 2 FLAGS (\\Seen) MODSEQ (12))\r\n"
                "* 5 FETCH (UID 20 FLAGS (\\Flagged) MODSEQ (13))\r\n"
                "* 8 FETCH (UID 30 FLAGS () MODSEQ (14))\r\n$TAG OK done\r\n"),
        FI_END,
    };
    static const uint32_t created[] = { 30, 31 }, updated[] = { 2, 20 };
    const struct ib_delta_state now = { 7, 15, 32, 9 };
    struct fake_session c;
    struct cm_err err = CM_ERR_INIT;
    struct ib_delta d;

    th_assert(ctx_open(&c, script));
    th_assert(ib_delta_needs_server(&old_state, &now));
    th_assert(ib_delta_since(c.s, &old_state, &now, &d, &err) == 0);
    th_assert(d.kind == IB_DELTA_CHANGES);
    th_assert(uids_are(d.created, d.ncreated, created, 2));
    th_assert(d.ncreated == 2 && d.created[0].modseq == 14 && d.created[1].modseq == 15);
    th_assert(uids_are(d.updated, d.nupdated, updated, 2));
    th_assert(d.nupdated == 2 && d.updated[0].modseq == 12 && d.updated[1].modseq == 13);
    th_assert(d.nvanished == 2 && d.vanished[0] == 3 && d.vanished[1] == 4);
    th_assert(d.vanished_known && !d.expunges_unknowable);
    ib_delta_fini(&d);
    ib_delta_fini(&d); /* twice is harmless */
    fake_session_close(&c);
}

/* The folder's highest UID expunged: the UID set is every UID, not 1:*
   (whose "*" is the highest UID left, 28 here, so a server rightly leaves
   29 out of VANISHED (EARLIER), as Cyrus 3.6 did), and the delta names
   it. */
static void test_qresync_highest_uid_expunged(void)
{
    static const struct fake_imap_step script[] = {
        QRESYNC_SERVER,
        FI_EXPECT("UID FETCH 1:4294967295 (UID FLAGS MODSEQ) (CHANGEDSINCE 10 VANISHED)"),
        FI_SEND("* VANISHED (EARLIER) 29\r\n$TAG OK done\r\n"),
        FI_END,
    };
    const struct ib_delta_state now = { 7, 11, 30, 8 };
    struct fake_session c;
    struct cm_err err = CM_ERR_INIT;
    struct ib_delta d;

    th_assert(ctx_open(&c, script));
    th_assert(ib_delta_since(c.s, &old_state, &now, &d, &err) == 0);
    th_assert(d.kind == IB_DELTA_CHANGES && d.ncreated == 0 && d.nupdated == 0);
    th_assert(d.nvanished == 1 && d.vanished[0] == 29);
    th_assert(d.vanished_known && !d.expunges_unknowable);
    ib_delta_fini(&d);
    fake_session_close(&c);
}

/* A VANISHED that names fewer expunges than the counts show (a server's
   bug): which went cannot be told. */
static void test_qresync_unnamed_expunge(void)
{
    static const struct fake_imap_step script[] = {
        QRESYNC_SERVER,
        FI_EXPECT("UID FETCH 1:4294967295 (UID FLAGS MODSEQ) (CHANGEDSINCE 10 VANISHED)"),
        FI_SEND("$TAG OK done\r\n"),
        FI_EXPECT("UID FETCH 1:4294967295 (UID FLAGS MODSEQ) (CHANGEDSINCE 10 VANISHED)"),
        FI_SEND("* VANISHED (EARLIER) 1:4\r\n$TAG OK done\r\n"),
        FI_END,
    };
    const struct ib_delta_state one_gone = { 7, 15, 30, 8 };
    struct fake_session c;
    struct cm_err err = CM_ERR_INIT;
    struct ib_delta d;

    th_assert(ctx_open(&c, script));
    th_assert(ib_delta_since(c.s, &old_state, &one_gone, &d, &err) == 0);
    th_assert(d.kind == IB_DELTA_CHANGES && d.nvanished == 0);
    th_assert(d.vanished_known && d.expunges_unknowable);
    ib_delta_fini(&d);
    /* more named than the counts show (UIDs gone long ago): fine */
    th_assert(ib_delta_since(c.s, &old_state, &one_gone, &d, &err) == 0);
    th_assert(d.nvanished == 4 && d.vanished_known && !d.expunges_unknowable);
    ib_delta_fini(&d);
    fake_session_close(&c);
}

static void test_condstore_only(void)
{
    static const struct fake_imap_step script[] = {
        CONDSTORE_SERVER,
        FI_EXPECT("UID FETCH 1:4294967295 (UID FLAGS MODSEQ) (CHANGEDSINCE 10)"),
        FI_SEND("* 1 FETCH (UID 2 FLAGS (\\Seen) MODSEQ (12))\r\n"
                "* 10 FETCH (UID 30 FLAGS () MODSEQ (14))\r\n$TAG OK done\r\n"),
        FI_EXPECT("UID FETCH 1:4294967295 (UID FLAGS MODSEQ) (CHANGEDSINCE 10)"),
        FI_SEND("* 1 FETCH (UID 2 FLAGS (\\Seen) MODSEQ (12))\r\n"
                "* 9 FETCH (UID 30 FLAGS () MODSEQ (14))\r\n$TAG OK done\r\n"),
        FI_END,
    };
    static const uint32_t created[] = { 30 }, updated[] = { 2 };
    const struct ib_delta_state counts_add_up = { 7, 15, 31, 10 }, one_gone = { 7, 15, 31, 9 };
    struct fake_session c;
    struct cm_err err = CM_ERR_INIT;
    struct ib_delta d;

    th_assert(ctx_open(&c, script));
    /* 9 + 1 arrived = 10: nothing was expunged */
    th_assert(ib_delta_since(c.s, &old_state, &counts_add_up, &d, &err) == 0);
    th_assert(d.kind == IB_DELTA_CHANGES);
    th_assert(uids_are(d.created, d.ncreated, created, 1));
    th_assert(uids_are(d.updated, d.nupdated, updated, 1));
    th_assert(d.nvanished == 0 && !d.vanished_known && !d.expunges_unknowable);
    ib_delta_fini(&d);
    /* 9 + 1 arrived but 9 now: one went, which one cannot be told */
    th_assert(ib_delta_since(c.s, &old_state, &one_gone, &d, &err) == 0);
    th_assert(d.kind == IB_DELTA_CHANGES && d.nvanished == 0);
    th_assert(!d.vanished_known && d.expunges_unknowable);
    ib_delta_fini(&d);
    fake_session_close(&c);
}

static void test_uidvalidity_changed(void)
{
    static const struct fake_imap_step script[] = { QRESYNC_SERVER, FI_END };
    const struct ib_delta_state now = { 8, 15, 32, 9 };
    struct fake_session c;
    struct cm_err err = CM_ERR_INIT;
    struct ib_delta d;

    th_assert(ctx_open(&c, script));
    th_assert(!ib_delta_needs_server(&old_state, &now));
    th_assert(ib_delta_since(c.s, &old_state, &now, &d, &err) == 0);
    th_assert(d.kind == IB_DELTA_UIDVALIDITY);
    th_assert(d.ncreated == 0 && d.nupdated == 0 && d.nvanished == 0);
    ib_delta_fini(&d);
    fake_session_close(&c);
}

static void test_no_condstore(void)
{
    static const struct fake_imap_step script[] = { QRESYNC_SERVER, FI_END };
    const struct ib_delta_state old0 = { 7, 0, 30, 9 }, now0 = { 7, 0, 30, 9 };
    const struct ib_delta_state now = { 7, 15, 32, 9 };
    struct fake_session c;
    struct cm_err err = CM_ERR_INIT;
    struct ib_delta d;

    th_assert(ctx_open(&c, script));
    /* equal counts prove nothing without CONDSTORE: flags may have changed */
    th_assert(ib_delta_state_equal(&old0, &now0) && !ib_delta_needs_server(&old0, &now0));
    th_assert(ib_delta_since(c.s, &old0, &now0, &d, &err) == 0);
    th_assert(d.kind == IB_DELTA_NO_CONDSTORE);
    ib_delta_fini(&d);
    th_assert(ib_delta_since(c.s, &old0, &now, &d, &err) == 0);
    th_assert(d.kind == IB_DELTA_NO_CONDSTORE);
    ib_delta_fini(&d);
    fake_session_close(&c);
}

static void test_nothing_changed(void)
{
    static const struct fake_imap_step script[] = { QRESYNC_SERVER, FI_END };
    struct fake_session c;
    struct cm_err err = CM_ERR_INIT;
    struct ib_delta d;

    th_assert(ctx_open(&c, script));
    th_assert(ib_delta_state_equal(&old_state, &old_state));
    th_assert(!ib_delta_needs_server(&old_state, &old_state));
    th_assert(ib_delta_since(c.s, &old_state, &old_state, &d, &err) == 0);
    th_assert(d.kind == IB_DELTA_CHANGES && d.vanished_known && !d.expunges_unknowable);
    th_assert(d.ncreated == 0 && d.nupdated == 0 && d.nvanished == 0);
    ib_delta_fini(&d);
    fake_session_close(&c);
}

/* ib_delta_open_since: EXAMINE + STATUS + UID FETCH CHANGEDSINCE in one
   write (this server reads all three before it answers any); the answer
   is the delta ib_delta_since would give for the EXAMINE's state. */
#define OPEN_SENT                                                                        \
    FI_EXPECT("EXAMINE \"INBOX\" (CONDSTORE)"),                                              \
    FI_EXPECT("STATUS INBOX (MESSAGES UNSEEN UIDVALIDITY UIDNEXT HIGHESTMODSEQ)"),       \
    FI_EXPECT("UID FETCH 1:4294967295 (UID FLAGS MODSEQ) (CHANGEDSINCE 10 VANISHED)")
#define OPEN_ANSWER(uidvalidity)                                                         \
    "* 9 EXISTS\r\n* OK [UIDVALIDITY " uidvalidity "] v\r\n* OK [UIDNEXT 32] n\r\n"      \
    "* OK [HIGHESTMODSEQ 15] m\r\n7 OK [READ-ONLY] ok\r\n"                               \
    "* STATUS INBOX (MESSAGES 9 UNSEEN 0 UIDVALIDITY " uidvalidity " UIDNEXT 32 "        \
    "HIGHESTMODSEQ 15)\r\n8 OK done\r\n"

static void test_open_pipelined(void)
{
    static const struct fake_imap_step script[] = {
        LOGIN("IMAP4rev1 ENABLE CONDSTORE QRESYNC", "CONDSTORE QRESYNC"),
        OPEN_SENT,
        /* two VANISHED lines (one a live expunge): merged */
        FI_SEND(OPEN_ANSWER("7") "* VANISHED (EARLIER) 3,33\r\n* VANISHED 4\r\n"
                "* 9 FETCH (UID 31 FLAGS () MODSEQ (15))\r\n"
                "* 1 FETCH (UID 2 FLAGS (\\Seen) MODSEQ (12))\r\n"
                "* 8 FETCH (UID 30 FLAGS () MODSEQ (14))\r\n9 OK done\r\n"),
        FI_EXPECT("NOOP"), FI_SEND("$TAG OK still in step\r\n"),
        FI_END,
    };
    static const uint32_t created[] = { 30, 31 }, updated[] = { 2 };
    struct fake_session c;
    struct cm_err err = CM_ERR_INIT;
    struct ib_folder_list l = { 0 };
    struct ib_delta d;

    th_assert(fake_session_open(&c, script, "s3cret", 1) == 0);
    th_assert(ib_delta_can_pipeline(c.s, &old_state));
    th_assert(ib_delta_open_since(c.s, "INBOX", &old_state, &l, &d, &err) == 0);
    th_assert(l.count == 1 && l.items[0].uidvalidity == 7 && l.items[0].highestmodseq == 15 &&
              l.items[0].uidnext == 32 && l.items[0].total == 9);
    th_assert(d.kind == IB_DELTA_CHANGES);
    th_assert(uids_are(d.created, d.ncreated, created, 2));
    th_assert(uids_are(d.updated, d.nupdated, updated, 1));
    th_assert(d.nupdated == 1 && d.updated[0].nflags == 1 &&
              strcmp(d.updated[0].flags[0], "\\Seen") == 0);
    th_assert(d.nvanished == 2 && d.vanished[0] == 3 && d.vanished[1] == 4);
    th_assert(d.vanished_known && !d.expunges_unknowable);
    th_assert(ib_session_noop(c.s, &err) == 0); /* tags still in step */
    ib_delta_fini(&d);
    ib_folder_list_fini(&l);
    fake_session_close(&c);
}

/* The folder has another UIDVALIDITY now: the FETCH answer speaks of
   other UIDs and is dropped (the delta says UIDVALIDITY, as
   ib_delta_since would); then nothing changed: the answer is empty and
   the delta too. */
static void test_open_uidvalidity_or_nothing(void)
{
    static const struct fake_imap_step script[] = {
        LOGIN("IMAP4rev1 ENABLE CONDSTORE QRESYNC", "CONDSTORE QRESYNC"),
        OPEN_SENT,
        FI_SEND(OPEN_ANSWER("8") "* VANISHED (EARLIER) 1:29\r\n"
                "* 1 FETCH (UID 30 FLAGS () MODSEQ (15))\r\n9 OK done\r\n"),
        FI_EXPECT("EXAMINE \"INBOX\" (CONDSTORE)"),
        FI_EXPECT("STATUS INBOX (MESSAGES UNSEEN UIDVALIDITY UIDNEXT HIGHESTMODSEQ)"),
        FI_EXPECT("UID FETCH 1:4294967295 (UID FLAGS MODSEQ) (CHANGEDSINCE 15 VANISHED)"),
        FI_SEND("* 9 EXISTS\r\n* OK [UIDVALIDITY 7] v\r\n* OK [UIDNEXT 32] n\r\n"
                "* OK [HIGHESTMODSEQ 15] m\r\n10 OK [READ-ONLY] ok\r\n"
                "* STATUS INBOX (MESSAGES 9 UNSEEN 0 UIDVALIDITY 7 UIDNEXT 32 "
                "HIGHESTMODSEQ 15)\r\n11 OK done\r\n12 OK done\r\n"),
        FI_END,
    };
    const struct ib_delta_state same = { 7, 15, 32, 9 };
    struct fake_session c;
    struct cm_err err = CM_ERR_INIT;
    struct ib_folder_list l = { 0 };
    struct ib_delta d;

    th_assert(fake_session_open(&c, script, "s3cret", 1) == 0);
    th_assert(ib_delta_open_since(c.s, "INBOX", &old_state, &l, &d, &err) == 0);
    th_assert(l.count == 1 && l.items[0].uidvalidity == 8);
    th_assert(d.kind == IB_DELTA_UIDVALIDITY);
    th_assert(d.ncreated == 0 && d.nupdated == 0 && d.nvanished == 0);
    ib_delta_fini(&d);
    ib_folder_list_fini(&l);
    th_assert(ib_delta_open_since(c.s, "INBOX", &same, &l, &d, &err) == 0);
    th_assert(d.kind == IB_DELTA_CHANGES && d.ncreated == 0 && d.nupdated == 0 &&
              d.nvanished == 0);
    ib_delta_fini(&d);
    ib_folder_list_fini(&l);
    fake_session_close(&c);
}

/* A refused folder: the FETCH behind it ran without a folder (BAD); its
   answer is read and dropped, the error is the EXAMINE's, the session
   stays usable. Without a HIGHESTMODSEQ nothing is sent at all. */
static void test_open_refused(void)
{
    static const struct fake_imap_step script[] = {
        LOGIN("IMAP4rev1 ENABLE CONDSTORE QRESYNC", "CONDSTORE QRESYNC"),
        OPEN_SENT,
        FI_SEND("7 NO [NONEXISTENT] no such folder\r\n8 NO [NONEXISTENT] no such folder\r\n"
                "9 BAD No mailbox selected\r\n"),
        FI_EXPECT("NOOP"), FI_SEND("$TAG OK still in step\r\n"),
        FI_END,
    };
    const struct ib_delta_state old0 = { 7, 0, 30, 9 };
    struct fake_session c;
    struct cm_err err = CM_ERR_INIT;
    struct ib_folder_list l = { 0 };
    struct ib_delta d;

    th_assert(fake_session_open(&c, script, "s3cret", 1) == 0);
    th_assert(ib_delta_open_since(c.s, "INBOX", &old_state, &l, &d, &err) == CM_ENOENT);
    th_assert(l.count == 0 && !ib_session_is_broken(c.s) && ib_session_selected(c.s) == NULL);
    th_assert(d.ncreated == 0 && d.nupdated == 0 && d.nvanished == 0);
    th_assert(!ib_delta_can_pipeline(c.s, &old0));
    th_assert(ib_delta_open_since(c.s, "INBOX", &old0, &l, &d, &err) == CM_EINVAL);
    th_assert(ib_session_noop(c.s, &err) == 0); /* tags still in step */
    fake_session_close(&c);
}

int main(void)
{
    th_run("delta: QRESYNC -> created, updated, VANISHED below the old UIDNEXT", test_qresync);
    th_run("delta: QRESYNC, the folder's highest UID expunged -> named (UID set 1:4294967295)",
           test_qresync_highest_uid_expunged);
    th_run("delta: QRESYNC naming fewer expunges than the counts -> unknowable",
           test_qresync_unnamed_expunge);
    th_run("delta: CONDSTORE only -> expunges from the counts", test_condstore_only);
    th_run("delta: UIDVALIDITY changed -> told without a round trip", test_uidvalidity_changed);
    th_run("delta: a HIGHESTMODSEQ of 0 -> no CONDSTORE, no round trip", test_no_condstore);
    th_run("delta: equal states -> empty, no round trip", test_nothing_changed);
    th_run("delta with the EXAMINE: one write, the same rule", test_open_pipelined);
    th_run("delta with the EXAMINE: another UIDVALIDITY drops the answer; nothing changed",
           test_open_uidvalidity_or_nothing);
    th_run("delta with the EXAMINE: a refused folder; no HIGHESTMODSEQ, nothing sent",
           test_open_refused);
    return th_end();
}
