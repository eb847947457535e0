/* test_ib_locate.c - the pipelined search by GUID against the scripted
 * fake server: the exact commands (OR-ed search + FETCH $ with SEARCHRES,
 * one search per GUID without it), answers matched to their GUIDs, a
 * folder that cannot be opened skipped, and nothing sent to a server that
 * cannot search by GUID. (Dovecot, in the integration tier, has SEARCHRES
 * and X-GUID; this covers EMAILID and the path without SEARCHRES.) */
#include <stdlib.h>
#include <string.h>

#include "harness/fake_session.h"
#include "harness/th.h"
#include "imapbridge/ib_locate.h"
#include "imapbridge/ib_session.h"

#define LOGIN(caps)                                                                      \
    FI_SEND("* OK fake ready\r\n"), FI_EXPECT("CAPABILITY"),                             \
    FI_SEND("* CAPABILITY IMAP4rev1 ENABLE\r\n$TAG OK done\r\n"),                        \
    FI_EXPECT("LOGIN"), FI_SEND("$TAG OK logged in\r\n"),                                \
    FI_EXPECT("ENABLE CONDSTORE QRESYNC"), FI_SEND("* ENABLED\r\n$TAG OK done\r\n"),     \
    FI_EXPECT("NAMESPACE"), FI_SEND("$TAG BAD unknown\r\n"),                            \
    FI_EXPECT("CAPABILITY"), FI_SEND("* CAPABILITY " caps "\r\n$TAG OK done\r\n"),       \
    FI_EXPECT("LIST \"\" \"\""), FI_SEND("* LIST (\\Noselect) \"/\" \"\"\r\n$TAG OK done\r\n")
#define EXAMINED(v) FI_SEND("* 3 EXISTS\r\n* OK [UIDVALIDITY " #v "] v\r\n$TAG OK [READ-ONLY] ok\r\n")
#define OK FI_SEND("$TAG OK done\r\n")

static const char *const folders[] = { "INBOX", "Gone" };
static const char *const guids[] = { "M1", "M2" };

static void test_one_search_per_guid(void)
{
    static const struct fake_imap_step script[] = {
        LOGIN("IMAP4rev1 ENABLE UNSELECT OBJECTID"),
        FI_EXPECT("EXAMINE \"INBOX\""), EXAMINED(7),
        FI_EXPECT("UID SEARCH EMAILID \"M1\""), FI_SEND("* SEARCH 4\r\n$TAG OK done\r\n"),
        FI_EXPECT("UID SEARCH EMAILID \"M2\""), FI_SEND("* SEARCH\r\n$TAG OK done\r\n"),
        FI_EXPECT("EXAMINE \"Gone\""), FI_SEND("$TAG NO [NONEXISTENT] no such folder\r\n"),
        FI_EXPECT("UID SEARCH EMAILID \"M1\""), FI_SEND("$TAG BAD no folder selected\r\n"),
        FI_EXPECT("UID SEARCH EMAILID \"M2\""), FI_SEND("$TAG BAD no folder selected\r\n"),
        FI_EXPECT("UNSELECT"), OK,
        FI_END,
    };
    struct fake_session c;
    struct cm_err err = CM_ERR_INIT;
    struct ib_locate_hit *hits = NULL;
    size_t n = 0;
    uint32_t uidv[2] = { 1, 1 };

    th_assert(fake_session_open(&c, script, "pw", 2) == 0);
    th_assert(ib_locate_supported(c.s));
    th_assert(ib_locate_guids(c.s, folders, 2, guids, 2, uidv, &hits, &n, &err) == 0);
    th_assert(uidv[0] == 7 && uidv[1] == 0);
    th_assert(n == 1 && hits[0].folder == 0 && hits[0].guid == 0 && hits[0].uid == 4);
    th_assert(!ib_session_is_broken(c.s));
    free(hits);
    fake_session_close(&c);
}

static void test_searchres(void)
{
    static const struct fake_imap_step script[] = {
        LOGIN("IMAP4rev1 ENABLE UNSELECT OBJECTID SEARCHRES"),
        FI_EXPECT("EXAMINE \"INBOX\""), EXAMINED(7),
        FI_EXPECT("UID SEARCH RETURN (SAVE) OR EMAILID \"M1\" EMAILID \"M2\""), OK,
        FI_EXPECT("UID FETCH $ (EMAILID)"),
        FI_SEND("* 1 FETCH (UID 4 EMAILID (M2))\r\n* 2 FETCH (UID 9 EMAILID (M1))\r\n"
                "* 3 FETCH (UID 11 EMAILID (Mx))\r\n$TAG OK done\r\n"),
        FI_EXPECT("EXAMINE \"Gone\""), EXAMINED(8),
        FI_EXPECT("UID SEARCH RETURN (SAVE) OR EMAILID \"M1\" EMAILID \"M2\""), OK,
        FI_EXPECT("UID FETCH $ (EMAILID)"), FI_SEND("* 1 FETCH (UID 2 EMAILID (M1))\r\n$TAG OK done\r\n"),
        FI_EXPECT("UNSELECT"), OK,
        FI_END,
    };
    struct fake_session c;
    struct cm_err err = CM_ERR_INIT;
    struct ib_locate_hit *hits = NULL;
    size_t n = 0;
    uint32_t uidv[2] = { 0, 0 };

    th_assert(fake_session_open(&c, script, "pw", 2) == 0);
    th_assert(ib_locate_guids(c.s, folders, 2, guids, 2, uidv, &hits, &n, &err) == 0);
    th_assert(uidv[0] == 7 && uidv[1] == 8);
    /* M1 is in both folders (an IMAP COPY keeps the GUID); Mx is not asked for */
    th_assert(n == 3);
    th_assert(n == 3 && hits[0].guid == 1 && hits[0].uid == 4 && hits[0].folder == 0);
    th_assert(n == 3 && hits[1].guid == 0 && hits[1].uid == 9 && hits[1].folder == 0);
    th_assert(n == 3 && hits[2].guid == 0 && hits[2].uid == 2 && hits[2].folder == 1);
    free(hits);
    fake_session_close(&c);
}

static void test_unsupported_sends_nothing(void)
{
    static const struct fake_imap_step script[] = { LOGIN("IMAP4rev1 ENABLE UNSELECT"), FI_END };
    struct fake_session c;
    struct cm_err err = CM_ERR_INIT;
    struct ib_locate_hit *hits = NULL;
    size_t n = 0;
    uint32_t uidv[2];

    th_assert(fake_session_open(&c, script, "pw", 2) == 0);
    th_assert(!ib_locate_supported(c.s));
    th_assert(ib_locate_guids(c.s, folders, 2, guids, 2, uidv, &hits, &n, &err) == CM_EPERM);
    th_assert(hits == NULL && n == 0);
    fake_session_close(&c);
}

/* A thread's members by THREADID (RFC 8474): one plain UID SEARCH per
   folder in the same pipeline (even with SEARCHRES); nothing sent without
   OBJECTID or for an id a server would not send. */
static void test_thread(void)
{
    static const struct fake_imap_step script[] = {
        LOGIN("IMAP4rev1 ENABLE UNSELECT OBJECTID SEARCHRES"),
        FI_EXPECT("EXAMINE \"INBOX\""), EXAMINED(7),
        FI_EXPECT("UID SEARCH THREADID \"T1a\""), FI_SEND("* SEARCH 4 9\r\n$TAG OK done\r\n"),
        FI_EXPECT("EXAMINE \"Gone\""), EXAMINED(8),
        FI_EXPECT("UID SEARCH THREADID \"T1a\""), FI_SEND("* SEARCH 2\r\n$TAG OK done\r\n"),
        FI_EXPECT("UNSELECT"), OK,
        FI_END,
    };
    static const struct fake_imap_step no_objectid[] = { LOGIN("IMAP4rev1 ENABLE UNSELECT"),
                                                   FI_END };
    struct fake_session c;
    struct cm_err err = CM_ERR_INIT;
    struct ib_locate_hit *hits = NULL;
    size_t n = 0;
    uint32_t uidv[2] = { 0, 0 };

    th_assert(fake_session_open(&c, script, "pw", 2) == 0);
    th_assert(ib_locate_thread(c.s, folders, 2, "a\"b", uidv, &hits, &n, &err) == CM_EINVAL);
    th_assert(ib_locate_thread(c.s, folders, 2, "T1a", uidv, &hits, &n, &err) == 0);
    th_assert(uidv[0] == 7 && uidv[1] == 8 && n == 3);
    th_assert(n == 3 && hits[0].folder == 0 && hits[0].uid == 4 && hits[1].uid == 9);
    th_assert(n == 3 && hits[2].folder == 1 && hits[2].uid == 2 && hits[2].guid == 0);
    free(hits);
    fake_session_close(&c);
    th_assert(fake_session_open(&c, no_objectid, "pw", 2) == 0);
    th_assert(ib_locate_thread(c.s, folders, 2, "T1a", uidv, &hits, &n, &err) == CM_EPERM);
    th_assert(hits == NULL && n == 0);
    fake_session_close(&c);
}

int main(void)
{
    th_run("one search per GUID (no SEARCHRES), a folder gone", test_one_search_per_guid);
    th_run("SEARCHRES: OR-ed search + FETCH $", test_searchres);
    th_run("no GUID search: nothing sent", test_unsupported_sends_nothing);
    th_run("THREADID: one search per folder; nothing sent without OBJECTID", test_thread);
    return th_end();
}
