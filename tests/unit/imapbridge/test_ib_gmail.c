/* test_ib_gmail.c - the IMAP side against the Gmail profile of the fake
 * (fake_gmail.h): capabilities read, X-GM-MSGID / X-GM-THRID as the GUID
 * and thread GUID of a message, X-GM-LABELS with system labels parsed
 * (libetpan's own parser takes astrings only), the locate search by
 * X-GM-MSGID (a number, unquoted, one per id), XOAUTH2 refused with
 * Google's JSON challenge. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libetpan/libetpan.h>

#include "harness/fake_gmail.h"
#include "harness/fake_session.h"
#include "harness/th.h"
#include "imapbridge/ib_fetch.h"
#include "imapbridge/ib_locate.h"
#include "imapbridge/ib_session.h"
#include "imapbridge/ib_uidset.h"

#define EXAMINED(v)                                                                                \
    FI_SEND("* FLAGS (\\Answered \\Flagged \\Draft \\Deleted \\Seen)\r\n* OK [UIDVALIDITY " #v     \
            "] UIDs valid.\r\n* 3 EXISTS\r\n* OK [UIDNEXT 90] Predicted next UID.\r\n"            \
            "$TAG OK [READ-ONLY] selected. (Success)\r\n")

static bool has(char **list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i], s) == 0)
            return true;
    }
    return false;
}

static void test_caps_ids_labels(void)
{
    static const struct fake_imap_step script[] = {
        FAKE_GMAIL_LOGIN,
        FI_EXPECT("EXAMINE INBOX"), EXAMINED(11),
        FI_EXPECT("UID FETCH 7:8 (UID FLAGS X-GM-MSGID X-GM-THRID X-GM-LABELS)"),
        FI_SEND("* 1 FETCH (X-GM-THRID " FAKE_GMAIL_THRID " X-GM-MSGID " FAKE_GMAIL_MSGID
                " X-GM-LABELS (\\Inbox \\Important \"Muy Importante\" Work) UID 7 FLAGS "
                "(\\Seen))\r\n"
                "* 2 FETCH (X-GM-THRID 42 X-GM-MSGID 43 X-GM-LABELS () UID 8 FLAGS ())\r\n"
                "$TAG OK Success\r\n"),
        FI_END,
    };
    struct fake_session c;
    struct cm_err err = CM_ERR_INIT;
    struct ib_msg *msgs = NULL;
    struct mailimap_set *set = mailimap_set_new_interval(7, 8);
    size_t n = 0;
    unsigned int caps;

    if (fake_session_open(&c, script, "pw", 2) != 0) {
        th_assert(!"session opened");
        fake_session_close(&c);
        return;
    }
    caps = ib_session_caps(c.s);
    th_assert((caps & (IB_CAP_XGMEXT | IB_CAP_CONDSTORE | IB_CAP_MOVE | IB_CAP_UIDPLUS |
                       IB_CAP_UNSELECT | IB_CAP_IDLE)) ==
              (IB_CAP_XGMEXT | IB_CAP_CONDSTORE | IB_CAP_MOVE | IB_CAP_UIDPLUS | IB_CAP_UNSELECT |
               IB_CAP_IDLE));
    th_assert(!(caps & (IB_CAP_QRESYNC | IB_CAP_XGUID | IB_CAP_OBJECTID | IB_CAP_SEARCHRES)));
    th_assert(ib_locate_supported(c.s));
    th_assert(ib_session_select(c.s, "INBOX", true, NULL, &err) == 0);
    th_assert(ib_fetch_msgs(c.s, set, IB_FETCH_FLAGS | IB_FETCH_GUID | IB_FETCH_LABELS, &msgs, &n,
                            &err) == 0);
    th_assert(n == 2);
    if (n == 2) {
        th_assert(msgs[0].uid == 7 && strcmp(msgs[0].guid, FAKE_GMAIL_MSGID) == 0);
        th_assert(strcmp(msgs[0].thread_guid, FAKE_GMAIL_THRID) == 0);
        th_assert(msgs[0].has_labels && msgs[0].nlabels == 4);
        th_assert(has(msgs[0].labels, msgs[0].nlabels, "\\Inbox"));
        th_assert(has(msgs[0].labels, msgs[0].nlabels, "\\Important"));
        th_assert(has(msgs[0].labels, msgs[0].nlabels, "Muy Importante"));
        th_assert(has(msgs[0].labels, msgs[0].nlabels, "Work"));
        th_assert(msgs[1].has_labels && msgs[1].nlabels == 0 && strcmp(msgs[1].guid, "43") == 0);
    }
    ib_msgs_free(msgs, n);
    mailimap_set_free(set);
    fake_session_close(&c);
}

/* libetpan parses a label list without system labels itself. */
static void test_labels_without_system_labels(void)
{
    static const struct fake_imap_step script[] = {
        FAKE_GMAIL_LOGIN_NO_CONDSTORE,
        FI_EXPECT("EXAMINE INBOX"), EXAMINED(11),
        FI_EXPECT("UID FETCH 7 (UID X-GM-LABELS)"),
        FI_SEND("* 1 FETCH (UID 7 X-GM-LABELS (Work \"Muy Importante\"))\r\n$TAG OK Success\r\n"),
        FI_END,
    };
    struct fake_session c;
    struct cm_err err = CM_ERR_INIT;
    struct ib_msg *msgs = NULL;
    struct mailimap_set *set = mailimap_set_new_single(7);
    size_t n = 0;

    th_assert(fake_session_open(&c, script, "pw", 2) == 0);
    th_assert(!(ib_session_caps(c.s) & IB_CAP_CONDSTORE));
    th_assert(ib_session_select(c.s, "INBOX", true, NULL, &err) == 0);
    th_assert(ib_fetch_msgs(c.s, set, IB_FETCH_LABELS, &msgs, &n, &err) == 0);
    th_assert(n == 1 && msgs[0].has_labels && msgs[0].nlabels == 2);
    th_assert(n == 1 && has(msgs[0].labels, msgs[0].nlabels, "Muy Importante"));
    ib_msgs_free(msgs, n);
    mailimap_set_free(set);
    fake_session_close(&c);
}

static void test_locate_by_msgid(void)
{
    static const struct fake_imap_step script[] = {
        FAKE_GMAIL_LOGIN,
        FI_EXPECT("EXAMINE \"[Gmail]/All Mail\""), EXAMINED(12),
        FI_EXPECT("UID SEARCH X-GM-MSGID " FAKE_GMAIL_MSGID),
        FI_SEND("* SEARCH 77\r\n$TAG OK SEARCH completed (Success)\r\n"),
        FI_EXPECT("UID SEARCH X-GM-MSGID 0"), FI_SEND("* SEARCH\r\n$TAG OK Success\r\n"),
        FI_EXPECT("UNSELECT"), FI_SEND("$TAG OK Returned to authenticated state. (Success)\r\n"),
        FI_END,
    };
    static const char *const folders[] = { "[Gmail]/All Mail" };
    static const char *const guids[] = { FAKE_GMAIL_MSGID, "not-a-number" };
    struct fake_session c;
    struct cm_err err = CM_ERR_INIT;
    struct ib_locate_hit *hits = NULL;
    size_t n = 0;
    uint32_t uidv[1] = { 0 };

    th_assert(fake_session_open(&c, script, "pw", 2) == 0);
    th_assert(ib_locate_guids(c.s, folders, 1, guids, 2, uidv, &hits, &n, &err) == 0);
    th_assert(uidv[0] == 12 && n == 1 && hits[0].guid == 0 && hits[0].uid == 77);
    free(hits);
    fake_session_close(&c);
}

static void test_xoauth2_refused(void)
{
    static const struct fake_imap_step script[] = { FAKE_GMAIL_XOAUTH2_REFUSED, FI_END };
    struct fake_session c;
    struct ib_session *s = NULL;
    struct cm_err err = CM_ERR_INIT;

    th_assert(fake_upstream_start(&c, script, "ya29.bad", IB_AUTH_XOAUTH2, 2) == 0);
    th_assert(ib_session_open(&c.up, &c.cr, &s, &err) == CM_EAUTH && s == NULL);
    th_assert(strstr(err.msg, "Invalid credentials") != NULL);
    usleep(100 * 1000);
    th_assert(fake_imap_failures(c.fake) == 0);
    fake_upstream_stop(&c);
}

int main(void)
{
    th_run("Gmail caps, X-GM-MSGID/THRID ids, X-GM-LABELS with system labels",
           test_caps_ids_labels);
    th_run("X-GM-LABELS without system labels (libetpan's parser)", test_labels_without_system_labels);
    th_run("locate by X-GM-MSGID: a number, one search per id", test_locate_by_msgid);
    th_run("XOAUTH2 refused: JSON challenge acknowledged, CM_EAUTH", test_xoauth2_refused);
    return th_end();
}
