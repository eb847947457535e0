/* test_ib_idle.c - ib_idle (IDLE, DONE, NOTIFY SET, line classification)
 * against the scripted fake IMAP server (issue 10). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness/fake_session.h"
#include "harness/th.h"
#include "imapbridge/ib_idle.h"
#include "imapbridge/ib_session.h"

/* Capabilities in the greeting and the LOGIN OK (Dovecot): LOGIN, ENABLE
   and NAMESPACE in one write, answered together (tags 1 to 3). */
#define GREETING "* OK [CAPABILITY IMAP4rev1 LITERAL+ ENABLE IDLE AUTH=PLAIN] fake ready\r\n"
#define CAPS_FULL_NOTIFY "IMAP4rev1 LITERAL+ ENABLE IDLE NAMESPACE CONDSTORE QRESYNC NOTIFY"
#define CAPS_FULL_PLAIN "IMAP4rev1 LITERAL+ ENABLE IDLE NAMESPACE CONDSTORE QRESYNC"

#define LOGIN_WITH(caps)                                                                \
    FI_SEND(GREETING), FI_EXPECT("LOGIN \"alice\" \"s3cret\""),                           \
    FI_EXPECT("ENABLE CONDSTORE QRESYNC"), FI_EXPECT("NAMESPACE"),                        \
    FI_SEND("1 OK [CAPABILITY " caps "] logged in\r\n"                                    \
            "* ENABLED CONDSTORE QRESYNC\r\n2 OK enabled\r\n"                              \
            "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n3 OK done\r\n")
#define LOGIN_STEPS LOGIN_WITH(CAPS_FULL_NOTIFY)

static double now_s(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static bool open_ok(struct fake_session *x, const struct fake_imap_step *script,
                    unsigned int timeout_secs)
{
    int rc = fake_session_open(x, script, "s3cret", timeout_secs);

    th_assert(rc == 0 && x->s != NULL);
    if (rc != 0 && x->fake != NULL && fake_imap_failures(x->fake))
        fprintf(stderr, "  fake: %s\n", fake_imap_error(x->fake));
    return rc == 0 && x->s != NULL;
}

/* (a) The sequence of issue 10: a VANISHED, then re-IDLE, then an arrival
   whose EXISTS count equals the stale one libetpan kept. */
static void test_vanished_then_exists(void)
{
    static const struct fake_imap_step script[] = {
        LOGIN_STEPS,
        FI_EXPECT("IDLE"), FI_SEND("+ idling\r\n"),
        FI_SEND("* VANISHED 2\r\n* 20 RECENT\r\n* OK [HIGHESTMODSEQ 6] Highest\r\n"),
        FI_EXPECT("^DONE"), FI_SEND("$TAG OK Idle completed\r\n"),
        FI_EXPECT("IDLE"), FI_SEND("+ idling\r\n"),
        FI_EXPECT("^DONE"),
        FI_SEND("* 21 EXISTS\r\n* OK [HIGHESTMODSEQ 7] Highest\r\n$TAG OK Idle completed\r\n"),
        FI_END,
    };
    struct fake_session x;
    struct ib_idle idle = { 0 };
    struct cm_err err = CM_ERR_INIT;

    if (!open_ok(&x, script, 5))
        goto out;
    th_assert(ib_idle_start(x.s, &idle, &err) == 0);
    th_assert(idle.active);
    th_assert(ib_idle_fd(x.s) >= 0);
    usleep(100 * 1000); /* the untagged lines are sent while idling */
    th_assert(ib_idle_done(x.s, &idle, 0, &err) == 0);
    th_assert(!idle.active);
    th_assert(idle.news.expunge);
    th_assert(idle.news.highestmodseq == 6);
    th_assert(!idle.news.fetch && !idle.news.other && !idle.news.bye);
    th_assert(ib_untagged_any(&idle.news));
    ib_untagged_reset(&idle.news);

    th_assert(ib_idle_start(x.s, &idle, &err) == 0);
    th_assert(!ib_untagged_any(&idle.news));
    th_assert(ib_idle_done(x.s, &idle, 0, &err) == 0);
    th_assert(idle.news.exists); /* the arrival the old code dropped */
    th_assert(!idle.news.expunge);
    th_assert(idle.news.highestmodseq == 7);
    th_assert(ib_untagged_any(&idle.news));
    th_assert(!ib_session_is_broken(x.s));
    ib_untagged_reset(&idle.news);
out:
    fake_session_close(&x);
}

/* (b) Untagged data before "+ idling" lands in news at once; data sent
   with the "+" in one write is buffered where no socket event comes. */
static void test_buffered_at_start(void)
{
    static const struct fake_imap_step script[] = {
        LOGIN_STEPS,
        FI_EXPECT("IDLE"), FI_SEND("* 5 EXISTS\r\n+ idling\r\n"),
        FI_EXPECT("^DONE"), FI_SEND("$TAG OK Idle completed\r\n"),
        FI_EXPECT("IDLE"), FI_SEND("+ idling\r\n* 3 FETCH (FLAGS (\\Seen) MODSEQ (9))\r\n"),
        FI_EXPECT("^DONE"), FI_SEND("$TAG OK Idle completed\r\n"),
        FI_END,
    };
    struct fake_session x;
    struct ib_idle idle = { 0 };
    struct cm_err err = CM_ERR_INIT;

    if (!open_ok(&x, script, 5))
        goto out;
    th_assert(ib_idle_start(x.s, &idle, &err) == 0);
    th_assert(idle.news.exists);
    th_assert(ib_untagged_any(&idle.news));
    th_assert(ib_idle_done(x.s, &idle, 0, &err) == 0);
    th_assert(idle.news.exists);
    ib_untagged_reset(&idle.news);

    th_assert(ib_idle_start(x.s, &idle, &err) == 0);
    th_assert(!ib_untagged_any(&idle.news)); /* nothing read past the "+" */
    th_assert(ib_idle_buffered(x.s));         /* but it is there */
    th_assert(ib_idle_done(x.s, &idle, 0, &err) == 0);
    th_assert(idle.news.fetch && !idle.news.exists);
    th_assert(!ib_idle_buffered(x.s));
    ib_untagged_reset(&idle.news);
out:
    fake_session_close(&x);
}

/* (c) "* BYE" during IDLE, then the server hangs up. */
static void test_bye_during_idle(void)
{
    static const struct fake_imap_step script[] = {
        LOGIN_STEPS,
        FI_EXPECT("IDLE"), FI_SEND("+ idling\r\n"),
        FI_SEND("* BYE Server shutting down.\r\n"), FI_CLOSE,
    };
    struct fake_session x;
    struct ib_idle idle = { 0 };
    struct cm_err err = CM_ERR_INIT;

    if (!open_ok(&x, script, 5))
        goto out;
    th_assert(ib_idle_start(x.s, &idle, &err) == 0);
    usleep(100 * 1000);
    th_assert(ib_idle_done(x.s, &idle, 0, &err) == CM_EUNAVAIL);
    th_assert(err.code == CM_EUNAVAIL && strstr(err.msg, "shutting down") != NULL);
    th_assert(idle.news.bye);
    th_assert(!idle.active);
    th_assert(ib_session_is_broken(x.s));
    ib_untagged_reset(&idle.news);
out:
    fake_session_close(&x);
}

/* (d) The server never answers DONE: a bounded wait, a broken session. */
static void test_done_timeout(void)
{
    static const struct fake_imap_step script[] = {
        LOGIN_STEPS,
        FI_EXPECT("IDLE"), FI_SEND("+ idling\r\n"),
        FI_EXPECT("^DONE"), FI_SLEEP(3000), FI_CLOSE,
    };
    struct fake_session x;
    struct ib_idle idle = { 0 };
    struct cm_err err = CM_ERR_INIT;
    double t0, took;
    int rc;

    if (!open_ok(&x, script, 10))
        goto out;
    th_assert(ib_idle_start(x.s, &idle, &err) == 0);
    t0 = now_s();
    rc = ib_idle_done(x.s, &idle, 300, &err);
    took = now_s() - t0;
    th_assert(rc < 0);
    th_assert(rc == CM_ETIMEOUT || rc == CM_EUPSTREAM || rc == CM_EUNAVAIL);
    th_assert(took >= 0.2 && took < 1.0);
    if (!(took < 1.0))
        fprintf(stderr, "  DONE took %.2f s\n", took);
    th_assert(ib_session_is_broken(x.s));
    th_assert(!idle.active);
    ib_untagged_reset(&idle.news);
out:
    fake_session_close(&x);
}

/* (e) Only keep-alives: no news. */
static void test_keepalive_only(void)
{
    static const struct fake_imap_step script[] = {
        LOGIN_STEPS,
        FI_EXPECT("IDLE"), FI_SEND("+ idling\r\n"), FI_SEND("* OK Still here\r\n"),
        FI_EXPECT("^DONE"), FI_SEND("* OK Still here\r\n$TAG OK Idle completed\r\n"),
        FI_END,
    };
    struct fake_session x;
    struct ib_idle idle = { 0 };
    struct cm_err err = CM_ERR_INIT;

    if (!open_ok(&x, script, 5))
        goto out;
    th_assert(ib_idle_start(x.s, &idle, &err) == 0);
    usleep(100 * 1000);
    th_assert(ib_idle_done(x.s, &idle, 0, &err) == 0);
    th_assert(idle.news.lines == 2);
    th_assert(!ib_untagged_any(&idle.news));
    ib_untagged_reset(&idle.news);
out:
    fake_session_close(&x);
}

/* (f) The classifier. */
static struct ib_untagged classify(const char *line)
{
    struct ib_untagged n;

    memset(&n, 0, sizeof(n));
    th_assert(ib_untagged_classify(&n, line, strlen(line)) == 0);
    th_assert(n.lines == 1);
    return n;
}

static void test_classify(void)
{
    struct ib_untagged n;

    n = classify("* STATUS \"Sent Items\" (MESSAGES 4 UIDNEXT 9 UIDVALIDITY 17 UNSEEN 1 "
                 "HIGHESTMODSEQ 33)");
    th_assert(n.nstatuses == 1 && !n.other);
    th_assert(n.nstatuses == 1 && strcmp(n.statuses[0].imap_name, "Sent Items") == 0);
    th_assert(n.nstatuses == 1 && n.statuses[0].have == (IB_ST_MESSAGES | IB_ST_UIDNEXT |
                                                         IB_ST_UIDVALIDITY | IB_ST_UNSEEN |
                                                         IB_ST_HIGHESTMODSEQ));
    th_assert(n.nstatuses == 1 && n.statuses[0].messages == 4 && n.statuses[0].uidnext == 9 &&
              n.statuses[0].uidvalidity == 17 && n.statuses[0].unseen == 1 &&
              n.statuses[0].highestmodseq == 33);
    ib_untagged_reset(&n);

    /* Dovecot writes 8-bit names as literals (UTF8=ACCEPT style) */
    n = classify("* STATUS {9}\r\nEntw\xc3\xbcrfe (MESSAGES 2 UIDNEXT 3)");
    th_assert(n.nstatuses == 1 && !n.other);
    th_assert(n.nstatuses == 1 && strcmp(n.statuses[0].imap_name, "Entw\xc3\xbcrfe") == 0);
    th_assert(n.nstatuses == 1 && n.statuses[0].have == (IB_ST_MESSAGES | IB_ST_UIDNEXT) &&
              n.statuses[0].messages == 2 && n.statuses[0].uidnext == 3);
    ib_untagged_reset(&n);

    /* quoted name with an escaped quote; an atom name; unknown items skipped */
    n = classify("* STATUS \"a \\\"b\\\"\" (SIZE 1234 UNSEEN 0)");
    th_assert(n.nstatuses == 1 && strcmp(n.statuses[0].imap_name, "a \"b\"") == 0);
    th_assert(n.nstatuses == 1 && n.statuses[0].have == IB_ST_UNSEEN);
    ib_untagged_reset(&n);

    /* partial: a flag change reports only HIGHESTMODSEQ */
    n = classify("* STATUS INBOX (HIGHESTMODSEQ 12345678901)");
    th_assert(n.nstatuses == 1 && strcmp(n.statuses[0].imap_name, "INBOX") == 0);
    th_assert(n.nstatuses == 1 && n.statuses[0].have == IB_ST_HIGHESTMODSEQ &&
              n.statuses[0].highestmodseq == 12345678901ull && n.statuses[0].messages == 0);
    th_assert(ib_untagged_any(&n));
    ib_untagged_reset(&n);

    n = classify("* STATUS INBOX (MESSAGES");
    th_assert(n.nstatuses == 0 && n.other); /* broken: look */
    ib_untagged_reset(&n);

    n = classify("* LIST (\\NonExistent) \"/\" \"Old/Name\"");
    th_assert(n.folders && n.nlists == 1);
    th_assert(n.nlists == 1 && n.lists[0].gone && strcmp(n.lists[0].imap_name, "Old/Name") == 0);
    ib_untagged_reset(&n);

    n = classify("* LIST (\\HasNoChildren) \"/\" New (OLDNAME (\"Old/Name\"))");
    th_assert(n.folders && n.nlists == 1);
    th_assert(n.nlists == 1 && !n.lists[0].gone && strcmp(n.lists[0].imap_name, "New") == 0);
    ib_untagged_reset(&n);

    n = classify("* LSUB () \"/\" Archive");
    th_assert(n.folders && n.nlists == 1 && !n.lists[0].gone);
    ib_untagged_reset(&n);

    n = classify("* 7 FETCH (UID 19 FLAGS (\\Seen) MODSEQ (44))");
    th_assert(n.fetch && !n.exists && !n.expunge && !n.other);
    ib_untagged_reset(&n);

    n = classify("* 7 EXPUNGE");
    th_assert(n.expunge && !n.exists && !n.fetch && !n.other);
    ib_untagged_reset(&n);

    n = classify("* VANISHED (EARLIER) 3:5");
    th_assert(n.expunge && !n.other);
    ib_untagged_reset(&n);

    n = classify("* 21 EXISTS");
    th_assert(n.exists && !n.other);
    ib_untagged_reset(&n);

    n = classify("* OK [UIDNEXT 42] Predicted next UID");
    th_assert(n.uidnext == 42 && !n.other && ib_untagged_any(&n));
    ib_untagged_reset(&n);

    n = classify("* OK Still here");
    th_assert(!ib_untagged_any(&n));
    ib_untagged_reset(&n);

    n = classify("* OK [ALERT] hello");
    th_assert(n.other);
    ib_untagged_reset(&n);

    n = classify("* BYE Disconnected for inactivity.");
    th_assert(n.bye && ib_untagged_any(&n));
    ib_untagged_reset(&n);

    static const char *const others[] = {
        "* FLAGS (\\Seen \\Answered)", "* NO Mailbox was deleted", "* 3 XFOO", "* XYZZY 1",
        "garbage", "* ", "*",
    };
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        n = classify(others[i]);
        th_assert_idx(n.other && ib_untagged_any(&n), i);
        th_assert_idx(!n.exists && !n.expunge && !n.fetch && !n.folders, i);
        ib_untagged_reset(&n);
    }
}

/* (g) NOTIFY SET: STATUS lines into news; a refusal leaves the session
   usable; without the capability nothing is sent. */
static void test_notify_set(void)
{
    static const struct fake_imap_step ok_script[] = {
        LOGIN_STEPS,
        FI_EXPECT("NOTIFY SET STATUS (personal (MessageNew MessageExpunge FlagChange "
                  "MailboxName SubscriptionChange))"),
        FI_SEND("* STATUS INBOX (MESSAGES 3 UIDNEXT 4 UIDVALIDITY 1 UNSEEN 0 HIGHESTMODSEQ 5)\r\n"
                "* STATUS {9}\r\nEntw\xc3\xbcrfe (MESSAGES 0 UIDNEXT 1 UIDVALIDITY 2 UNSEEN 0 "
                "HIGHESTMODSEQ 1)\r\n$TAG OK NOTIFY completed\r\n"),
        FI_END,
    };
    static const struct fake_imap_step no_script[] = {
        LOGIN_STEPS,
        FI_EXPECT("NOTIFY SET"), FI_SEND("$TAG NO [CANNOT] Not today\r\n"),
        FI_EXPECT("NOOP"), FI_SEND("$TAG OK NOOP completed\r\n"),
        FI_END,
    };
    static const struct fake_imap_step nocap_script[] = {
        LOGIN_WITH(CAPS_FULL_PLAIN),
        FI_EXPECT("NOOP"), FI_SEND("$TAG OK NOOP completed\r\n"),
        FI_END,
    };
    struct fake_session x;
    struct ib_untagged news;
    struct cm_err err = CM_ERR_INIT;

    memset(&news, 0, sizeof(news));
    if (open_ok(&x, ok_script, 5)) {
        th_assert(ib_notify_set(x.s, &news, &err) == 0);
        th_assert(news.nstatuses == 2);
        th_assert(news.nstatuses == 2 && strcmp(news.statuses[1].imap_name,
                                                "Entw\xc3\xbcrfe") == 0);
        th_assert(news.nstatuses == 2 && news.statuses[0].messages == 3 &&
                  news.statuses[0].highestmodseq == 5);
        ib_untagged_reset(&news);
    }
    fake_session_close(&x);

    if (open_ok(&x, no_script, 5)) {
        th_assert(ib_notify_set(x.s, &news, &err) == CM_EUPSTREAM);
        th_assert(strstr(err.msg, "Not today") != NULL);
        th_assert(!ib_session_is_broken(x.s));
        th_assert(ib_session_noop(x.s, &err) == 0); /* still usable */
        ib_untagged_reset(&news);
    }
    fake_session_close(&x);

    if (open_ok(&x, nocap_script, 5)) {
        th_assert(!(ib_session_caps(x.s) & IB_CAP_NOTIFY));
        th_assert(ib_notify_set(x.s, &news, &err) == CM_ECONFIG);
        th_assert(!ib_session_is_broken(x.s));
        th_assert(ib_session_noop(x.s, &err) == 0); /* the next line the fake sees is NOOP */
        ib_untagged_reset(&news);
    }
    fake_session_close(&x);
}

int main(void)
{
    th_run("vanished_then_exists", test_vanished_then_exists);
    th_run("buffered_at_start", test_buffered_at_start);
    th_run("bye_during_idle", test_bye_during_idle);
    th_run("done_timeout", test_done_timeout);
    th_run("keepalive_only", test_keepalive_only);
    th_run("classify", test_classify);
    th_run("notify_set", test_notify_set);
    return th_end();
}
