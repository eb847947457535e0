/* test_ib_mailbox.c - role heuristics, ids, and LIST/LSUB/STATUS parsing
 * against the scripted fake IMAP server. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cm_crypto.h"
#include "harness/fake_session.h"
#include "harness/th.h"
#include "imapbridge/ib_mailbox.h"
#include "imapbridge/ib_session.h"

struct role_row {
    const char *path;
    char delim;
    const char *role;
};

static const struct role_row rows[] = {
    { "INBOX", '/', "inbox" },
    { "inbox", '.', "inbox" },
    { "Sent", '/', "sent" },
    { "Sent Items", '/', "sent" },
    { "sent messages", '/', "sent" },
    { "[Gmail]/Sent Mail", '/', "sent" },
    { "[Google Mail]/Sent Mail", '/', "sent" },
    { "INBOX.Sent", '.', "sent" },
    { "Drafts", '/', "drafts" },
    { "[Gmail]/Drafts", '/', "drafts" },
    { "Trash", '/', "trash" },
    { "Deleted Items", '/', "trash" },
    { "Deleted Messages", '.', "trash" },
    { "[Gmail]/Trash", '/', "trash" },
    { "Junk", '/', "junk" },
    { "SPAM", '/', "junk" },
    { "Junk E-mail", '/', "junk" },
    { "[Gmail]/Spam", '/', "junk" },
    { "Archive", '/', "archive" },
    { "Archives", '/', "archive" },
    { "[Gmail]/All Mail", '/', "all" },
    { "[Gmail]/Starred", '/', "flagged" },
    { "Projects/Sent", '/', NULL },   /* a nested "Sent" is just a folder */
    { "Sentinel", '/', NULL },
    { "Notes", '/', NULL },
    { "[Gmail]", '/', NULL },
    { "Sent", '\0', "sent" },
    { "", '/', NULL },
};

static void test_role_from_name(void)
{
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const char *r = ib_mailbox_role_from_name(rows[i].path, rows[i].delim);

        th_assert_idx(rows[i].role == NULL ? r == NULL : (r != NULL && strcmp(r, rows[i].role) == 0), i);
    }
    th_assert(ib_mailbox_role_from_name(NULL, '/') == NULL);
}

static void test_role_from_flag(void)
{
    static const char *const flags[][2] = {
        { "Sent", "sent" },     { "\\Drafts", "drafts" }, { "trash", "trash" },
        { "Junk", "junk" },     { "Archive", "archive" }, { "All", "all" },
        { "Flagged", "flagged" }, { "HasNoChildren", NULL }, { "Marked", NULL },
    };

    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
        const char *r = ib_mailbox_role_from_flag(flags[i][0]);

        th_assert_idx(flags[i][1] == NULL ? r == NULL : (r && strcmp(r, flags[i][1]) == 0), i);
    }
}

static void test_id_derive(void)
{
    char a[IB_MAILBOX_ID_LEN + 1], b[IB_MAILBOX_ID_LEN + 1], c[IB_MAILBOX_ID_LEN + 1];

    ib_mailbox_id_derive("INBOX", true, 42, a);
    ib_mailbox_id_derive("INBOX", true, 42, b);
    th_assert(strlen(a) == IB_MAILBOX_ID_LEN && a[0] == 'm');
    th_assert(strcmp(a, b) == 0);                     /* stable */
    ib_mailbox_id_derive("INBOX", true, 43, c);
    th_assert(strcmp(a, c) != 0);                     /* new UIDVALIDITY, new id */
    ib_mailbox_id_derive("Sent", true, 42, c);
    th_assert(strcmp(a, c) != 0);
    ib_mailbox_id_derive("Sent", false, 42, b);
    ib_mailbox_id_derive("Sent", false, 7, c);
    th_assert(strcmp(b, c) == 0);                     /* no UIDVALIDITY: name only */
    for (size_t i = 1; i < IB_MAILBOX_ID_LEN; i++)
        th_assert_idx(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", a[i]) != NULL, i);

    ib_mailbox_id_from_object("F2212ea87-6097-4256-9d51-71338625", b);
    ib_mailbox_id_from_object("F2212ea87-6097-4256-9d51-71338625", c);
    th_assert(strlen(b) == IB_MAILBOX_ID_LEN && b[0] == 'm' && strcmp(b, c) == 0);
    ib_mailbox_id_from_object("F2212ea87-6097-4256-9d51-71338626", c);
    th_assert(strcmp(b, c) != 0);
    ib_mailbox_id_derive("INBOX", false, 0, a);       /* a name is never taken for an object id */
    ib_mailbox_id_from_object("INBOX", b);
    th_assert(strcmp(a, b) != 0);
}

#define CAPS "* CAPABILITY IMAP4rev1 ENABLE NAMESPACE CONDSTORE SPECIAL-USE\r\n$TAG OK done\r\n"

static const struct fake_imap_step list_script[] = {
    FI_SEND("* OK ready\r\n"), FI_EXPECT("CAPABILITY"), FI_SEND(CAPS),
    FI_EXPECT("LOGIN"), FI_SEND("$TAG OK in\r\n"),
    FI_EXPECT("ENABLE CONDSTORE QRESYNC"), FI_SEND("* ENABLED CONDSTORE\r\n$TAG OK done\r\n"),
    FI_EXPECT("NAMESPACE"), FI_SEND("* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n$TAG OK done\r\n"),
    FI_EXPECT("CAPABILITY"), FI_SEND(CAPS),
    FI_EXPECT("LIST \"\" \"*\""),
    FI_SEND("* LIST (\\HasNoChildren \\Sent) \"/\" Sent\r\n"
            "* LIST (\\HasChildren) \"/\" Archive\r\n"
            "* LIST (\\HasNoChildren) \"/\" \"Archive/2024\"\r\n"
            "* LIST (\\Noselect \\HasChildren) \"/\" Shared\r\n"
            "* LIST (\\HasNoChildren) \"/\" \"Shared/Entw&APw-rfe\"\r\n"
            "* LIST (\\HasNoChildren) \"/\" \"Junk E-mail\"\r\n"
            "* LIST (\\HasNoChildren) \"/\" \"bad&-utf7&\"\r\n"
            "* LIST (\\HasNoChildren) \"/\" {4}\r\nGone\r\n"
            "* LIST (\\HasNoChildren) \"/\" INBOX\r\n$TAG OK done\r\n"),
    FI_EXPECT("LSUB \"\" \"*\""),
    FI_SEND("* LSUB () \"/\" Sent\r\n* LSUB () \"/\" INBOX\r\n$TAG OK done\r\n"),
    FI_EXPECT("STATUS Sent (MESSAGES UNSEEN UIDVALIDITY UIDNEXT HIGHESTMODSEQ)"),
    FI_SEND("* STATUS Sent (MESSAGES 5 UNSEEN 1 UIDVALIDITY 100 UIDNEXT 6 HIGHESTMODSEQ 77)\r\n$TAG OK done\r\n"),
    FI_EXPECT("STATUS Archive"), FI_SEND("* STATUS Archive (MESSAGES 0 UNSEEN 0 UIDVALIDITY 101 UIDNEXT 1 HIGHESTMODSEQ 1)\r\n$TAG OK done\r\n"),
    FI_EXPECT("STATUS \"Archive/2024\""), FI_SEND("* STATUS Archive/2024 (MESSAGES 2 UNSEEN 0 UIDVALIDITY 102 UIDNEXT 3 HIGHESTMODSEQ 4)\r\n$TAG OK done\r\n"),
    FI_EXPECT("STATUS \"Shared/Entw&APw-rfe\""), FI_SEND("* STATUS Shared/Entw&APw-rfe (MESSAGES 1 UNSEEN 1 UIDVALIDITY 103 UIDNEXT 2 HIGHESTMODSEQ 2)\r\n$TAG OK done\r\n"),
    FI_EXPECT("STATUS \"Junk E-mail\""), FI_SEND("* STATUS \"Junk E-mail\" (MESSAGES 9 UNSEEN 9 UIDVALIDITY 104 UIDNEXT 10 HIGHESTMODSEQ 12)\r\n$TAG OK done\r\n"),
    FI_EXPECT("STATUS \"bad&-utf7&\""), FI_SEND("* STATUS bad&-utf7& (MESSAGES 0 UNSEEN 0 UIDVALIDITY 105 UIDNEXT 1 HIGHESTMODSEQ 1)\r\n$TAG OK done\r\n"),
    FI_EXPECT("STATUS Gone"), FI_SEND("$TAG NO [NONEXISTENT] Mailbox doesn't exist\r\n"),
    FI_EXPECT("STATUS INBOX"), FI_SEND("* STATUS INBOX (MESSAGES 12 UNSEEN 3 UIDVALIDITY 99 UIDNEXT 13 HIGHESTMODSEQ 50)\r\n$TAG OK done\r\n"),
    FI_END,
};

/* A server with OBJECTID: MAILBOXID rides in the same STATUS. */
#define OID_CAPS "* CAPABILITY IMAP4rev1 OBJECTID\r\n$TAG OK done\r\n"
static const struct fake_imap_step objectid_script[] = {
    FI_SEND("* OK ready\r\n"), FI_EXPECT("CAPABILITY"), FI_SEND(OID_CAPS),
    FI_EXPECT("LOGIN"), FI_SEND("$TAG OK in\r\n"), FI_EXPECT("NAMESPACE"), FI_SEND("$TAG NO no\r\n"),
    FI_EXPECT("CAPABILITY"), FI_SEND(OID_CAPS), FI_EXPECT("LIST \"\" \"\""), FI_SEND("* LIST (\\Noselect) \"/\" \"\"\r\n$TAG OK done\r\n"),
    FI_EXPECT("LIST \"\" \"*\""),
    FI_SEND("* LIST () \"/\" INBOX\r\n* LIST () \"/\" Odd\r\n$TAG OK done\r\n"),
    FI_EXPECT("LSUB"), FI_SEND("$TAG OK done\r\n"),
    FI_EXPECT("STATUS INBOX (MESSAGES UNSEEN UIDVALIDITY UIDNEXT MAILBOXID)"),
    FI_SEND("* STATUS INBOX (MESSAGES 1 UNSEEN 0 UIDVALIDITY 7 UIDNEXT 2 MAILBOXID (F2212ea87-60))\r\n$TAG OK done\r\n"),
    /* a server that refuses the item still gets its counts */
    FI_EXPECT("STATUS Odd (MESSAGES UNSEEN UIDVALIDITY UIDNEXT MAILBOXID)"),
    FI_SEND("$TAG BAD unknown status item\r\n"),
    FI_EXPECT("STATUS Odd (MESSAGES UNSEEN UIDVALIDITY UIDNEXT)"),
    FI_SEND("* STATUS Odd (MESSAGES 3 UNSEEN 3 UIDVALIDITY 8 UIDNEXT 4)\r\n$TAG OK done\r\n"),
    FI_END,
};

static void test_list_object_ids(void)
{
    struct fake_session x;
    struct ib_folder_list l = { 0 };
    struct cm_err err = CM_ERR_INIT;
    char want[IB_MAILBOX_ID_LEN + 1];

    th_assert(fake_session_open(&x, objectid_script, "pw", 2) == 0);
    th_assert(x.s != NULL && ib_mailbox_list(x.s, &l, &err) == 0);
    th_assert(l.count == 2);
    ib_mailbox_id_from_object("F2212ea87-60", want);
    th_assert(l.count == 2 && l.items[0].object_id && strcmp(l.items[0].object_id, "F2212ea87-60") == 0 &&
              strcmp(l.items[0].id, want) == 0 && l.items[0].total == 1);
    ib_mailbox_id_derive("Odd", true, 8, want);
    th_assert(l.count == 2 && l.items[1].object_id == NULL && l.items[1].has_status &&
              l.items[1].total == 3 && strcmp(l.items[1].id, want) == 0);
    th_assert(x.s != NULL && !ib_session_is_broken(x.s));
    ib_folder_list_fini(&l);
    fake_session_close(&x);
}

static const struct ib_folder *find(const struct ib_folder_list *l, const char *path)
{
    for (size_t i = 0; i < l->count; i++) {
        if (strcmp(l->items[i].path, path) == 0)
            return &l->items[i];
    }
    return NULL;
}

static void test_list(void)
{
    struct fake_session x;
    struct ib_folder_list l = { 0 };
    struct cm_err err = CM_ERR_INIT;
    const struct ib_folder *f;

    th_assert(fake_session_open(&x, list_script, "pw", 2) == 0);
    th_assert(x.s != NULL && ib_mailbox_list(x.s, &l, &err) == 0);
    if (err.code)
        fprintf(stderr, "  err: %s\n", err.msg);
    th_assert(l.count == 9);
    th_assert(l.count > 0 && strcmp(l.items[0].imap_name, "INBOX") == 0);
    for (size_t i = 2; i < l.count; i++)
        th_assert_idx(strcmp(l.items[i - 1].path, l.items[i].path) < 0, i);
    f = find(&l, "INBOX");
    th_assert(f && f->role && strcmp(f->role, "inbox") == 0 && f->subscribed && f->has_status &&
              f->total == 12 && f->unread == 3 && f->uidvalidity == 99 && f->uidnext == 13 &&
              f->highestmodseq == 50);
    f = find(&l, "Sent");
    th_assert(f && f->role && strcmp(f->role, "sent") == 0 && f->subscribed && f->highestmodseq == 77);
    f = find(&l, "Junk E-mail");
    th_assert(f && f->role && strcmp(f->role, "junk") == 0 && !f->subscribed); /* by name */
    f = find(&l, "Shared");
    th_assert(f && !f->selectable && !f->has_status && f->parent_id == NULL);
    f = find(&l, "Shared/Entw\xc3\xbc" "rfe");
    th_assert(f && strcmp(f->name, "Entw\xc3\xbc" "rfe") == 0 && strcmp(f->imap_name, "Shared/Entw&APw-rfe") == 0);
    th_assert(f && f->parent_id && strcmp(f->parent_id, find(&l, "Shared")->id) == 0);
    f = find(&l, "Archive/2024");
    th_assert(f && f->parent_id && strcmp(f->parent_id, find(&l, "Archive")->id) == 0 &&
              strcmp(f->name, "2024") == 0 && f->role == NULL);
    f = find(&l, "bad&-utf7&"); /* invalid modified UTF-7: shown as on the wire */
    th_assert(f && f->has_status);
    f = find(&l, "Gone");
    th_assert(f && f->selectable && !f->has_status);
    for (size_t i = 0; i < l.count; i++)
        for (size_t j = i + 1; j < l.count; j++)
            th_assert_idx(strcmp(l.items[i].id, l.items[j].id) != 0, i * 100 + j);
    ib_folder_list_fini(&l);
    th_assert(l.items == NULL && l.count == 0);
    fake_session_close(&x);
}

/* LIST and LSUB go together, and every STATUS is written before the first
   answer is read: this server reads them all before it answers any (a
   client waiting for each answer would time out here), and answers the
   middle STATUS with a NO. */
static const struct fake_imap_step pipeline_script[] = {
    FI_SEND("* OK ready\r\n"), FI_EXPECT("CAPABILITY"), FI_SEND(CAPS),
    FI_EXPECT("LOGIN"), FI_SEND("$TAG OK in\r\n"),
    FI_EXPECT("ENABLE CONDSTORE QRESYNC"), FI_SEND("* ENABLED CONDSTORE\r\n$TAG OK done\r\n"),
    FI_EXPECT("NAMESPACE"), FI_SEND("* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n$TAG OK done\r\n"),
    FI_EXPECT("CAPABILITY"), FI_SEND(CAPS),
    FI_EXPECT("LIST \"\" \"*\""), FI_EXPECT("LSUB \"\" \"*\""),   /* one round trip */
    FI_SEND("* LIST () \"/\" INBOX\r\n* LIST () \"/\" A\r\n* LIST () \"/\" B\r\n6 OK done\r\n"
            "* LSUB () \"/\" B\r\n7 OK done\r\n"),
    FI_EXPECT("STATUS INBOX (MESSAGES UNSEEN UIDVALIDITY UIDNEXT HIGHESTMODSEQ)"),
    FI_EXPECT("STATUS A (MESSAGES UNSEEN UIDVALIDITY UIDNEXT HIGHESTMODSEQ)"),
    FI_EXPECT("STATUS B (MESSAGES UNSEEN UIDVALIDITY UIDNEXT HIGHESTMODSEQ)"),
    FI_SEND("* STATUS INBOX (MESSAGES 4 UNSEEN 1 UIDVALIDITY 9 UIDNEXT 5 HIGHESTMODSEQ 7)\r\n"
            "8 OK done\r\n9 NO [NONEXISTENT] gone\r\n"
            "* STATUS B (MESSAGES 2 UNSEEN 0 UIDVALIDITY 11 UIDNEXT 3 HIGHESTMODSEQ 4)\r\n"
            "10 OK done\r\n"),
    FI_EXPECT("NOOP"), FI_SEND("$TAG OK still in step\r\n"),
    FI_END,
};

static void test_list_pipelined(void)
{
    struct fake_session x;
    struct ib_folder_list l = { 0 };
    struct cm_err err = CM_ERR_INIT;
    const struct ib_folder *f;

    th_assert(fake_session_open(&x, pipeline_script, "pw", 2) == 0);
    th_assert(x.s != NULL && ib_mailbox_list(x.s, &l, &err) == 0);
    th_assert(l.count == 3);
    f = find(&l, "INBOX");
    th_assert(f && f->has_status && f->total == 4 && f->uidvalidity == 9 && f->highestmodseq == 7);
    f = find(&l, "A");
    th_assert(f && !f->has_status);
    f = find(&l, "B");
    th_assert(f && f->has_status && f->total == 2 && f->uidvalidity == 11 && f->subscribed);
    th_assert(!find(&l, "A")->subscribed);
    th_assert(ib_session_noop(x.s, &err) == 0); /* tags still in step */
    ib_folder_list_fini(&l);
    fake_session_close(&x);
}

/* LIST-STATUS (RFC 5819): the whole listing in one command, read by us (a
   STATUS per folder in one response); a literal name, a \\Noselect parent
   without STATUS, \\Subscribed and SPECIAL-USE from the LIST flags. */
#define LS_CAPS "* CAPABILITY IMAP4rev1 ENABLE NAMESPACE CONDSTORE SPECIAL-USE LIST-EXTENDED " \
                "LIST-STATUS\r\n$TAG OK done\r\n"
#define LS_OPEN                                                                                   \
    FI_SEND("* OK ready\r\n"), FI_EXPECT("CAPABILITY"), FI_SEND(LS_CAPS), FI_EXPECT("LOGIN"),     \
        FI_SEND("$TAG OK in\r\n"), FI_EXPECT("ENABLE CONDSTORE QRESYNC"),                          \
        FI_SEND("* ENABLED CONDSTORE\r\n$TAG OK done\r\n"), FI_EXPECT("NAMESPACE"),                \
        FI_SEND("* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n$TAG OK done\r\n"), FI_EXPECT("CAPABILITY"), \
        FI_SEND(LS_CAPS)
#define LS_COMMAND                                                                                \
    "LIST \"\" \"*\" RETURN (SUBSCRIBED SPECIAL-USE STATUS (MESSAGES UNSEEN UIDVALIDITY UIDNEXT " \
    "HIGHESTMODSEQ))"

static const struct fake_imap_step liststatus_script[] = {
    LS_OPEN,
    FI_EXPECT(LS_COMMAND),
    FI_SEND("* LIST (\\Subscribed \\HasNoChildren \\Sent) \"/\" Sent\r\n"
            "* STATUS Sent (MESSAGES 5 UIDNEXT 6 UIDVALIDITY 100 UNSEEN 1 HIGHESTMODSEQ 77)\r\n"
            "* LIST (\\Noselect \\HasChildren) \"/\" Shared\r\n"
            "* LIST (\\HasNoChildren) \"/\" {19}\r\nShared/Entw&APw-rfe\r\n"
            "* STATUS {19}\r\nShared/Entw&APw-rfe (MESSAGES 2 UIDNEXT 3 UIDVALIDITY 103 UNSEEN 0 "
            "HIGHESTMODSEQ 4)\r\n"
            "* LIST (\\Subscribed) \"/\" INBOX\r\n"
            "* STATUS INBOX (MESSAGES 12 UIDNEXT 13 UIDVALIDITY 99 UNSEEN 3 HIGHESTMODSEQ 50)\r\n"
            "$TAG OK List completed\r\n"),
    FI_END,
};

static void test_list_status(void)
{
    struct fake_session x;
    struct ib_folder_list l = { 0 };
    struct cm_err err = CM_ERR_INIT;
    const struct ib_folder *f;

    th_assert(fake_session_open(&x, liststatus_script, "pw", 2) == 0);
    th_assert(x.s != NULL && ib_mailbox_list(x.s, &l, &err) == 0);
    th_assert(l.count == 4 && strcmp(l.items[0].imap_name, "INBOX") == 0);
    f = find(&l, "INBOX");
    th_assert(f && f->subscribed && f->has_status && f->total == 12 && f->unread == 3 &&
              f->uidvalidity == 99 && f->uidnext == 13 && f->highestmodseq == 50 &&
              strcmp(f->role, "inbox") == 0);
    f = find(&l, "Sent");
    th_assert(f && f->subscribed && f->role && strcmp(f->role, "sent") == 0 && f->total == 5);
    f = find(&l, "Shared");
    th_assert(f && !f->selectable && !f->has_status && !f->subscribed);
    f = find(&l, "Shared/Entw\xc3\xbcrfe");
    th_assert(f && f->has_status && f->total == 2 && strcmp(f->name, "Entw\xc3\xbcrfe") == 0 &&
              f->parent_id != NULL && strcmp(f->parent_id, find(&l, "Shared")->id) == 0);
    ib_folder_list_fini(&l);
    fake_session_close(&x);
}

/* A server that refuses LIST-STATUS is listed the classic way. */
static const struct fake_imap_step liststatus_refused_script[] = {
    LS_OPEN,
    FI_EXPECT(LS_COMMAND), FI_SEND("$TAG BAD not today\r\n"),
    FI_EXPECT("LIST \"\" \"*\""), FI_SEND("* LIST () \"/\" INBOX\r\n$TAG OK done\r\n"),
    FI_EXPECT("LSUB"), FI_SEND("$TAG OK done\r\n"),
    FI_EXPECT("STATUS INBOX"),
    FI_SEND("* STATUS INBOX (MESSAGES 1 UNSEEN 0 UIDVALIDITY 7 UIDNEXT 2 HIGHESTMODSEQ 3)\r\n"
            "$TAG OK done\r\n"),
    FI_END,
};

static void test_list_status_refused(void)
{
    struct fake_session x;
    struct ib_folder_list l = { 0 };
    struct cm_err err = CM_ERR_INIT;

    th_assert(fake_session_open(&x, liststatus_refused_script, "pw", 2) == 0);
    th_assert(x.s != NULL && ib_mailbox_list(x.s, &l, &err) == 0 && err.code == 0);
    th_assert(l.count == 1 && l.items[0].has_status && l.items[0].total == 1);
    th_assert(!ib_session_is_broken(x.s));
    ib_folder_list_fini(&l);
    fake_session_close(&x);
}

/* One folder by path (ib_mailbox_open): EXAMINE and STATUS are written
   together (this server reads both before it answers either), the counts
   come from the EXAMINE answer; then a refused folder: CM_ENOENT, nothing
   selected, tags still in step. */
#define OPEN_ONE_LOGIN                                                                            \
    FI_SEND("* OK ready\r\n"), FI_EXPECT("CAPABILITY"), FI_SEND(CAPS), FI_EXPECT("LOGIN"),        \
        FI_SEND("$TAG OK in\r\n"), FI_EXPECT("ENABLE CONDSTORE QRESYNC"),                          \
        FI_SEND("* ENABLED CONDSTORE\r\n$TAG OK done\r\n"), FI_EXPECT("NAMESPACE"),                \
        FI_SEND("* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n$TAG OK done\r\n"), FI_EXPECT("CAPABILITY"), \
        FI_SEND(CAPS)

static const struct fake_imap_step open_one_script[] = {
    OPEN_ONE_LOGIN,
    FI_EXPECT("EXAMINE \"Archive/Entw&APw-rfe\" (CONDSTORE)"),
    FI_EXPECT("STATUS \"Archive/Entw&APw-rfe\" (MESSAGES UNSEEN UIDVALIDITY UIDNEXT HIGHESTMODSEQ)"),
    FI_SEND("* FLAGS (\\Seen)\r\n* 3 EXISTS\r\n* 0 RECENT\r\n* OK [UIDVALIDITY 42] v\r\n"
            "* OK [UIDNEXT 9] n\r\n* OK [HIGHESTMODSEQ 77] m\r\n6 OK [READ-ONLY] done\r\n"
            "* STATUS Archive/Entw&APw-rfe (MESSAGES 3 UNSEEN 1 UIDVALIDITY 42 UIDNEXT 9 "
            "HIGHESTMODSEQ 77)\r\n7 OK done\r\n"),
    FI_EXPECT("EXAMINE \"Gone\" (CONDSTORE)"), FI_EXPECT("STATUS Gone"),
    FI_SEND("8 NO [NONEXISTENT] no such folder\r\n9 NO [NONEXISTENT] no such folder\r\n"),
    FI_EXPECT("NOOP"), FI_SEND("$TAG OK still in step\r\n"),
    FI_END,
};

static void test_open_one(void)
{
    struct fake_session x;
    struct ib_folder_list l = { 0 };
    struct cm_err err = CM_ERR_INIT;
    const struct ib_folder *f;

    th_assert(fake_session_open(&x, open_one_script, "pw", 2) == 0);
    th_assert(x.s != NULL && ib_mailbox_open(x.s, "Archive/Entw\xc3\xbcrfe", true, &l, &err) == 0);
    th_assert(l.count == 1);
    f = &l.items[0];
    th_assert(f->has_status && f->selectable && f->total == 3 && f->unread == 1 &&
              f->uidvalidity == 42 && f->uidnext == 9 && f->highestmodseq == 77 &&
              f->id != NULL && strcmp(f->name, "Entw\xc3\xbcrfe") == 0);
    th_assert(ib_session_selected(x.s) && strcmp(ib_session_selected(x.s), "Archive/Entw&APw-rfe") == 0);
    ib_folder_list_fini(&l);
    th_assert(ib_mailbox_open(x.s, "Gone", true, &l, &err) == CM_ENOENT);
    th_assert(l.count == 0 && !ib_session_is_broken(x.s) && ib_session_selected(x.s) == NULL);
    th_assert(ib_session_noop(x.s, &err) == 0); /* tags still in step */
    fake_session_close(&x);
}

int main(void)
{
    th_assert(cm_crypto_init() == 0);
    th_run("role from name", test_role_from_name);
    th_run("role from SPECIAL-USE flag", test_role_from_flag);
    th_run("folder id derivation", test_id_derive);
    th_run("LIST/LSUB/STATUS into folders", test_list);
    th_run("STATUS MAILBOXID gives ids; a refused item falls back", test_list_object_ids);
    th_run("STATUS pipelined; a NO in the middle", test_list_pipelined);
    th_run("LIST-STATUS: one command", test_list_status);
    th_run("LIST-STATUS refused: the classic way", test_list_status_refused);
    th_run("one folder: EXAMINE + STATUS pipelined; a refused one", test_open_one);
    return th_end();
}
