/* test_gw_jmap_gmail.c - JMAP on the Gmail profile of the fake server
 * (fake_gmail.h): Email ids from X-GM-MSGID, a cold-cache id found by
 * UID SEARCH X-GM-MSGID in All Mail, Spam and Trash only (one round trip),
 * mailboxIds from X-GM-LABELS (one Email in several mailboxes), label
 * changes and moves out of Trash, new emails (create, import) in several
 * mailboxes by APPEND + UID STORE +X-GM-LABELS, maxMailboxesPerEmail from
 * the user's session. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/jmap/gw_jmap_methods.h"
#include "harness/fake_gmail.h"
#include "harness/fake_jmap.h"
#include "harness/th.h"
#include "imapbridge/ib_ids.h"
#include "imapbridge/ib_state.h"

#define LISTED FAKE_JMAP_LIST, FI_SEND(FAKE_GMAIL_FOLDERS)
#define EXAMINED(v)                                                                                \
    FI_SEND("* FLAGS (\\Answered \\Flagged \\Draft \\Deleted \\Seen)\r\n* OK [UIDVALIDITY " #v     \
            "] UIDs valid.\r\n* 3 EXISTS\r\n* OK [UIDNEXT 90] Predicted next UID.\r\n"            \
            "* OK [HIGHESTMODSEQ 900]\r\n$TAG OK [READ-ONLY] selected. (Success)\r\n")

/* The cold-cache locate of FAKE_GMAIL_MSGID: one X-GM-MSGID search in
   All Mail (UID 77 there), Spam and Trash (the folders outside All Mail),
   all written at once, not a search of every folder. */
#define LOCATED                                                                                    \
    FI_EXPECT("EXAMINE \"[Gmail]/All Mail\""), EXAMINED(12),                                       \
        FI_EXPECT("UID SEARCH X-GM-MSGID " FAKE_GMAIL_MSGID),                                      \
        FI_SEND("* SEARCH 77\r\n$TAG OK SEARCH completed (Success)\r\n"),                         \
        FI_EXPECT("EXAMINE \"[Gmail]/Spam\""), EXAMINED(23),                                       \
        FI_EXPECT("UID SEARCH X-GM-MSGID " FAKE_GMAIL_MSGID), FI_SEND("* SEARCH\r\n$TAG OK done\r\n"), \
        FI_EXPECT("EXAMINE \"[Gmail]/Trash\""), EXAMINED(25),                                      \
        FI_EXPECT("UID SEARCH X-GM-MSGID " FAKE_GMAIL_MSGID), FI_SEND("* SEARCH\r\n$TAG OK done\r\n"), \
        FI_EXPECT("UNSELECT"), FI_SEND("$TAG OK Returned to authenticated state. (Success)\r\n")

static char msg_id[IB_IDS_EMAIL_MAX + 1];

/* The fake's round trips so far, once it has counted the wait for the
   request about to be made (it counts a round trip when it starts
   waiting, which may come a moment after the client read the answer). */
static unsigned int round_trips_now(struct fake_jmap *j)
{
    usleep(20 * 1000);
    return fake_imap_round_trips(j->x.fake);
}

static bool boxes_are(json_t *boxes, size_t n, const char *const *ids)
{
    if (json_object_size(boxes) != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!json_is_true(json_object_get(boxes, ids[i])))
            return false;
    }
    return true;
}

static void test_get_labels_cold_cache(void)
{
    static const struct fake_imap_step script[] = {
        FAKE_GMAIL_LOGIN, LISTED, LOCATED,
        FI_EXPECT("EXAMINE \"[Gmail]/All Mail\""), EXAMINED(12),
        FI_EXPECT("UID FETCH 77 (UID X-GM-LABELS)"),
        FI_SEND("* 3 FETCH (X-GM-LABELS (\\Inbox \\Important Work) UID 77)\r\n"
                "$TAG OK Success\r\n"),
        FI_END,
    };
    struct fake_jmap j;
    const char *type = NULL;
    json_t *r, *list;
    const char *want[4];
    unsigned int rt;

    th_assert(fake_jmap_open(&j, script) == 0);
    want[0] = fake_jmap_mailbox_id("INBOX", 11);
    want[1] = fake_jmap_mailbox_id("[Gmail]/All Mail", 12);
    want[2] = fake_jmap_mailbox_id("[Gmail]/Important", 21);
    want[3] = fake_jmap_mailbox_id("Work", 13);
    rt = fake_imap_round_trips(j.x.fake);
    r = fake_jmap_call(&j, gw_jmap_email_get, "Email/get",
                       json_pack("{s:[s],s:[s]}", "ids", msg_id, "properties", "mailboxIds"),
                       &type);
    /* LIST, the locate round (3 folders written at once), EXAMINE, UID FETCH
       (4 measured; pipelining EXAMINE + FETCH would make it 3) */
    rt = fake_imap_round_trips(j.x.fake) - rt;
    th_assert(rt <= 4);
    list = json_object_get(r, "list");
    th_assert(r != NULL && type == NULL && json_array_size(list) == 1);
    th_assert(boxes_are(json_object_get(json_array_get(list, 0), "mailboxIds"), 4, want));
    if (r != NULL && json_array_size(list) == 1 &&
        !boxes_are(json_object_get(json_array_get(list, 0), "mailboxIds"), 4, want))
        json_dumpf(r, stderr, 0);
    json_decref(r);
    fake_jmap_close(&j);
}

#define SELECTED_ALL_MAIL                                                                          \
    FI_EXPECT("SELECT \"[Gmail]/All Mail\""),                                                      \
        FI_SEND("* OK [UIDVALIDITY 12] v\r\n* 3 EXISTS\r\n* OK [HIGHESTMODSEQ 900] m\r\n"          \
                "$TAG OK [READ-WRITE] selected. (Success)\r\n"),                                  \
        FI_EXPECT("UID FETCH 77 (UID FLAGS)"),                                                     \
        FI_SEND("* 3 FETCH (UID 77 FLAGS (\\Seen))\r\n$TAG OK Success\r\n")
#define LABELS_NOW(labels)                                                                         \
    FI_EXPECT("UID FETCH 77 (UID X-GM-LABELS)"),                                                   \
        FI_SEND("* 3 FETCH (X-GM-LABELS " labels " UID 77)\r\n$TAG OK Success\r\n")

#define SET_DONE FI_EXPECT("NOOP"), FI_SEND("$TAG OK Success\r\n"), LISTED

static json_t *set_update(struct fake_jmap *j, json_t *patch, const char **type)
{
    return fake_jmap_call(j, gw_jmap_email_set, "Email/set",
                          json_pack("{s:{s:o}}", "update", msg_id, patch), type);
}

static void test_set_labels(void)
{
    static const struct fake_imap_step script[] = {
        FAKE_GMAIL_LOGIN, LISTED, LOCATED, SELECTED_ALL_MAIL, LABELS_NOW("(\\Inbox Work)"),
        FI_EXPECT("UID STORE 77 +X-GM-LABELS (\\Important)"), FI_SEND("$TAG OK Success\r\n"),
        FI_EXPECT("UID STORE 77 -X-GM-LABELS (\"Work\")"), FI_SEND("$TAG OK Success\r\n"),
        SET_DONE, FI_END,
    };
    struct fake_jmap j;
    const char *type = NULL;
    json_t *r, *patch = json_object();
    char key[2][128];

    th_assert(fake_jmap_open(&j, script) == 0);
    snprintf(key[0], sizeof(key[0]), "mailboxIds/%s", fake_jmap_mailbox_id("[Gmail]/Important", 21));
    snprintf(key[1], sizeof(key[1]), "mailboxIds/%s", fake_jmap_mailbox_id("Work", 13));
    json_object_set_new(patch, key[0], json_true());
    json_object_set_new(patch, key[1], json_null());
    r = set_update(&j, patch, &type);
    th_assert(r != NULL && type == NULL);
    th_assert(json_object_get(json_object_get(r, "updated"), msg_id) != NULL);
    th_assert(json_object_size(json_object_get(r, "notUpdated")) == 0);
    if (r != NULL && json_object_get(json_object_get(r, "updated"), msg_id) == NULL)
        json_dumpf(r, stderr, 0);
    json_decref(r);
    fake_jmap_close(&j);
}

/* {"mailboxIds": {<only this>: true}} for the email; the response. */
static json_t *set_boxes(struct fake_jmap *j, const char *box_id, const char **type)
{
    return set_update(j, json_pack("{s:{s:b}}", "mailboxIds", box_id, 1), type);
}

static void test_set_trash_is_a_move(void)
{
    static const struct fake_imap_step script[] = {
        FAKE_GMAIL_LOGIN, LISTED, LOCATED, SELECTED_ALL_MAIL, LABELS_NOW("(\\Inbox)"),
        FI_EXPECT("UID MOVE 77 \"[Gmail]/Trash\""),
        FI_SEND("* OK [COPYUID 25 77 3] (Success)\r\n* 3 EXPUNGE\r\n$TAG OK Success\r\n"),
        SET_DONE, FI_END,
    };
    struct fake_jmap j;
    const char *type = NULL;
    json_t *r;

    th_assert(fake_jmap_open(&j, script) == 0);
    r = set_boxes(&j, fake_jmap_mailbox_id("[Gmail]/Trash", 25), &type);
    th_assert(r != NULL && json_object_get(json_object_get(r, "updated"), msg_id) != NULL);
    json_decref(r);
    fake_jmap_close(&j);
}

/* Leaving All Mail without going to Trash or Spam cannot be done on
   Gmail: invalidProperties, nothing stored. */
static void test_set_without_all_mail_refused(void)
{
    static const struct fake_imap_step script[] = {
        FAKE_GMAIL_LOGIN, LISTED, LOCATED, SELECTED_ALL_MAIL, LABELS_NOW("(\\Inbox Work)"),
        SET_DONE, FI_END,
    };
    struct fake_jmap j;
    const char *type = NULL;
    json_t *r, *e;

    th_assert(fake_jmap_open(&j, script) == 0);
    r = set_boxes(&j, fake_jmap_mailbox_id("Work", 13), &type);
    e = json_object_get(json_object_get(r, "notUpdated"), msg_id);
    th_assert(e != NULL && strcmp(json_string_value(json_object_get(e, "type")),
                                  "invalidProperties") == 0);
    json_decref(r);
    fake_jmap_close(&j);
}

/* The cold-cache locate of FAKE_GMAIL_MSGID when it is in Trash (UID 5
   there): not in All Mail, not in Spam. */
#define LOCATED_IN_TRASH                                                                           \
    FI_EXPECT("EXAMINE \"[Gmail]/All Mail\""), EXAMINED(12),                                       \
        FI_EXPECT("UID SEARCH X-GM-MSGID " FAKE_GMAIL_MSGID), FI_SEND("* SEARCH\r\n$TAG OK done\r\n"), \
        FI_EXPECT("EXAMINE \"[Gmail]/Spam\""), EXAMINED(23),                                       \
        FI_EXPECT("UID SEARCH X-GM-MSGID " FAKE_GMAIL_MSGID), FI_SEND("* SEARCH\r\n$TAG OK done\r\n"), \
        FI_EXPECT("EXAMINE \"[Gmail]/Trash\""), EXAMINED(25),                                      \
        FI_EXPECT("UID SEARCH X-GM-MSGID " FAKE_GMAIL_MSGID),                                      \
        FI_SEND("* SEARCH 5\r\n$TAG OK SEARCH completed (Success)\r\n"),                          \
        FI_EXPECT("UNSELECT"), FI_SEND("$TAG OK Returned to authenticated state. (Success)\r\n")
/* Trash selected to write, the flags and the labels of UID 5 there
   (Gmail lists a trashed message with no labels). */
#define SELECTED_TRASH                                                                             \
    FI_EXPECT("SELECT \"[Gmail]/Trash\""),                                                         \
        FI_SEND("* OK [UIDVALIDITY 25] v\r\n* 1 EXISTS\r\n* OK [HIGHESTMODSEQ 900] m\r\n"          \
                "$TAG OK [READ-WRITE] selected. (Success)\r\n"),                                  \
        FI_EXPECT("UID FETCH 5 (UID FLAGS)"),                                                      \
        FI_SEND("* 1 FETCH (UID 5 FLAGS (\\Seen))\r\n$TAG OK Success\r\n"),                       \
        FI_EXPECT("UID FETCH 5 (UID X-GM-LABELS)"),                                                \
        FI_SEND("* 1 FETCH (X-GM-LABELS () UID 5)\r\n$TAG OK Success\r\n")

/* Out of Trash into INBOX and Work ("mailboxIds/<Trash>": null and two
   true): a UID MOVE to INBOX (ib_labels_entry), then, on the UID COPYUID
   names, Work's label added in the same round trip as the SELECT of
   INBOX. */
static void test_set_out_of_trash_two_labels(void)
{
    static const struct fake_imap_step script[] = {
        FAKE_GMAIL_LOGIN, LISTED, LOCATED_IN_TRASH, SELECTED_TRASH,
        FI_EXPECT("UID MOVE 5 INBOX"),
        FI_SEND("* OK [COPYUID 11 5 31] (Success)\r\n* 1 EXPUNGE\r\n$TAG OK Success\r\n"),
        FI_EXPECT("SELECT \"INBOX\" (CONDSTORE)"),
        FI_SEND("* OK [UIDVALIDITY 11] v\r\n* 3 EXISTS\r\n$TAG OK [READ-WRITE] selected.\r\n"),
        FI_EXPECT("UID STORE 31 +X-GM-LABELS (\"Work\")"),
        FI_SEND("* 3 FETCH (X-GM-LABELS (\\Inbox Work) UID 31)\r\n$TAG OK Success\r\n"),
        LISTED, /* INBOX was just selected: no NOOP before the listing after */
        FI_END,
    };
    struct fake_jmap j;
    const char *type = NULL;
    json_t *r, *patch = json_object();
    char key[3][128];
    unsigned int rt;

    th_assert(fake_jmap_open(&j, script) == 0);
    snprintf(key[0], sizeof(key[0]), "mailboxIds/%s", fake_jmap_mailbox_id("[Gmail]/Trash", 25));
    snprintf(key[1], sizeof(key[1]), "mailboxIds/%s", fake_jmap_mailbox_id("Work", 13));
    snprintf(key[2], sizeof(key[2]), "mailboxIds/%s", fake_jmap_mailbox_id("INBOX", 11));
    json_object_set_new(patch, key[0], json_null());
    json_object_set_new(patch, key[1], json_true());
    json_object_set_new(patch, key[2], json_true());
    rt = round_trips_now(&j);
    r = set_update(&j, patch, &type);
    rt = fake_imap_round_trips(j.x.fake) - rt;
    th_assert(r != NULL && type == NULL);
    th_assert(json_object_get(json_object_get(r, "updated"), msg_id) != NULL);
    th_assert(json_object_size(json_object_get(r, "notUpdated")) == 0);
    if (r != NULL && json_object_get(json_object_get(r, "updated"), msg_id) == NULL)
        json_dumpf(r, stderr, 0);
    /* LIST, locate, SELECT, FETCH flags, FETCH labels, MOVE, SELECT + STORE,
       the listing after */
    th_assert(rt <= 8);
    json_decref(r);
    fake_jmap_close(&j);
}

/* Out of Trash to one label (the whole mailboxIds {Work}): one UID MOVE,
   no label to add after it. */
static void test_set_out_of_trash_one_label(void)
{
    static const struct fake_imap_step script[] = {
        FAKE_GMAIL_LOGIN, LISTED, LOCATED_IN_TRASH, SELECTED_TRASH,
        FI_EXPECT("UID MOVE 5 Work"),
        FI_SEND("* OK [COPYUID 13 5 9] (Success)\r\n* 1 EXPUNGE\r\n$TAG OK Success\r\n"),
        SET_DONE, FI_END,
    };
    struct fake_jmap j;
    const char *type = NULL;
    json_t *r;

    th_assert(fake_jmap_open(&j, script) == 0);
    r = set_boxes(&j, fake_jmap_mailbox_id("Work", 13), &type);
    th_assert(r != NULL && json_object_get(json_object_get(r, "updated"), msg_id) != NULL);
    json_decref(r);
    fake_jmap_close(&j);
}

/* An Email/set create of a plain message with mailboxIds boxes (an
   object, stolen) and $seen; the response. */
static json_t *create_in(struct fake_jmap *j, json_t *boxes, const char **type)
{
    json_t *email = json_pack("{s:o,s:{s:b},s:[{s:s}],s:s,s:s,s:[s],s:[{s:s,s:s}],s:{s:{s:s}}}",
                              "mailboxIds", boxes, "keywords", "$seen", 1, "from", "email",
                              "a@example.com", "subject", "Hi", "sentAt",
                              "2026-01-02T03:04:05Z", "messageId", "m1@example.com", "textBody",
                              "partId", "1", "type", "text/plain", "bodyValues", "1", "value",
                              "Hello");

    return fake_jmap_call(j, gw_jmap_email_set, "Email/set",
                          json_pack("{s:{s:o}}", "create", "c1", email), type);
}

/* The APPEND of create_in's message to folder box ("\\Seen" flag), UID
   uid in folder uidv; then box selected to write (one round trip with
   what follows). */
#define APPENDED(box, uidv, uid)                                                                   \
    FI_EXPECT("APPEND " box " (\\Seen) {205}"), FI_SEND("+ go\r\n"),                             \
        FI_EXPECT("^From: <a@example.com>"), FI_EXPECT("^Subject: Hi"), FI_EXPECT("^Date: "),     \
        FI_EXPECT("^Message-ID: <m1@example.com>"), FI_EXPECT("^MIME-Version: 1.0"),              \
        FI_EXPECT("^Content-Type: text/plain"), FI_EXPECT("^Content-Transfer-Encoding: 7bit"),    \
        FI_EXPECT("^"), FI_EXPECT("^Hello"),                                                       \
        FI_SEND("$TAG OK [APPENDUID " #uidv " " #uid "] (Success)\r\n")
#define SELECTED_RW(box, uidv)                                                                     \
    FI_EXPECT("SELECT \"" box "\" (CONDSTORE)"),                                                   \
        FI_SEND("* OK [UIDVALIDITY " #uidv "] v\r\n* 3 EXISTS\r\n$TAG OK [READ-WRITE] selected.\r\n")
#define NEW_MSGID "5555"
#define NEW_THRID "6666"

/* Create into INBOX and Work: APPEND to INBOX (Gmail labels it \Inbox),
   then SELECT INBOX + UID STORE +X-GM-LABELS ("Work") + UID FETCH of the
   ids and labels in one round trip. "created" has the X-GM-MSGID id, the
   X-GM-THRID thread and mailboxIds {INBOX, Work, All Mail}; so has a
   later Email/get (the location cache knows the UID in INBOX). */
static void test_create_two_labels(void)
{
    static const struct fake_imap_step script[] = {
        FAKE_GMAIL_LOGIN, LISTED, APPENDED("INBOX", 11, 30), SELECTED_RW("INBOX", 11),
        FI_EXPECT("UID STORE 30 +X-GM-LABELS (\"Work\")"),
        FI_SEND("* 3 FETCH (X-GM-LABELS (\\Inbox Work) UID 30)\r\n$TAG OK Success\r\n"),
        FI_EXPECT("UID FETCH 30 ("),
        FI_SEND("* 3 FETCH (UID 30 X-GM-MSGID " NEW_MSGID " X-GM-THRID " NEW_THRID
                " X-GM-LABELS (\\Inbox Work))\r\n$TAG OK Success\r\n"),
        LISTED,
        /* the next request: Email/get */
        LISTED, FI_EXPECT("EXAMINE \"INBOX\" (CONDSTORE)"), EXAMINED(11),
        FI_EXPECT("UID FETCH 30 (UID X-GM-LABELS)"),
        FI_SEND("* 3 FETCH (UID 30 X-GM-LABELS (\\Inbox Work))\r\n$TAG OK Success\r\n"),
        FI_END,
    };
    struct fake_jmap j;
    const char *type = NULL;
    char id[IB_IDS_EMAIL_MAX + 1], *tid = ib_ids_thread_server(NEW_THRID);
    const char *want[3];
    unsigned int rt;
    json_t *r, *c;

    th_assert(ib_ids_email_guid(NEW_MSGID, id) == 0 && tid != NULL);
    th_assert(fake_jmap_open(&j, script) == 0);
    want[0] = fake_jmap_mailbox_id("INBOX", 11);
    want[1] = fake_jmap_mailbox_id("Work", 13);
    want[2] = fake_jmap_mailbox_id("[Gmail]/All Mail", 12);
    rt = round_trips_now(&j);
    r = create_in(&j, json_pack("{s:b,s:b}", want[1], 1, want[0], 1), &type);
    rt = fake_imap_round_trips(j.x.fake) - rt;
    c = json_object_get(json_object_get(r, "created"), "c1");
    th_assert(r != NULL && type == NULL && c != NULL);
    th_assert(strcmp(json_string_value(json_object_get(c, "id")), id) == 0);
    th_assert(strcmp(json_string_value(json_object_get(c, "threadId")), tid) == 0);
    th_assert(boxes_are(json_object_get(c, "mailboxIds"), 3, want));
    if (c == NULL || !boxes_are(json_object_get(c, "mailboxIds"), 3, want))
        json_dumpf(r, stderr, 0);
    /* LIST, APPEND (command, literal), SELECT + STORE + FETCH, the listing after */
    th_assert(rt <= 5);
    json_decref(r);
    fake_jmap_next_request(&j);
    r = fake_jmap_call(&j, gw_jmap_email_get, "Email/get",
                       json_pack("{s:[s],s:[s]}", "ids", id, "properties", "mailboxIds"), &type);
    c = json_array_get(json_object_get(r, "list"), 0);
    th_assert(r != NULL && type == NULL && boxes_are(json_object_get(c, "mailboxIds"), 3, want));
    json_decref(r);
    free(tid);
    fake_jmap_close(&j);
}

/* Run create_in with the mailboxes in[0..nin) on script; the created
   entry's mailboxIds must be out[0..nout) (nout 0: notCreated with
   invalidProperties). */
static void create_case(const struct fake_imap_step *script, const char *const *in, size_t nin,
                        const char *const *out, size_t nout)
{
    struct fake_jmap j;
    const char *type = NULL;
    json_t *r, *boxes = json_object(), *c, *e;

    for (size_t i = 0; i < nin; i++)
        json_object_set_new(boxes, in[i], json_true());
    th_assert(fake_jmap_open(&j, script) == 0);
    r = create_in(&j, boxes, &type);
    c = json_object_get(json_object_get(r, "created"), "c1");
    e = json_object_get(json_object_get(r, "notCreated"), "c1");
    th_assert(r != NULL && type == NULL);
    if (nout > 0)
        th_assert(c != NULL && boxes_are(json_object_get(c, "mailboxIds"), nout, out));
    else
        th_assert(c == NULL && e != NULL &&
                  strcmp(json_string_value(json_object_get(e, "type")), "invalidProperties") == 0);
    if (r != NULL && (nout > 0) != (c != NULL))
        json_dumpf(r, stderr, 0);
    json_decref(r);
    fake_jmap_close(&j);
}

/* Work, Important and All Mail: APPEND to Work (a user label before a
   system one; All Mail comes with any label), then +X-GM-LABELS
   (\Important). */
static void test_create_entry_folder(void)
{
    static const struct fake_imap_step script[] = {
        FAKE_GMAIL_LOGIN, LISTED, APPENDED("Work", 13, 8), SELECTED_RW("Work", 13),
        FI_EXPECT("UID STORE 8 +X-GM-LABELS (\\Important)"), FI_SEND("$TAG OK Success\r\n"),
        FI_EXPECT("UID FETCH 8 (UID X-GM-MSGID X-GM-THRID X-GM-LABELS)"),
        FI_SEND("* 1 FETCH (UID 8 X-GM-MSGID " NEW_MSGID " X-GM-THRID " NEW_THRID
                " X-GM-LABELS (Work))\r\n$TAG OK Success\r\n"), /* the FETCH ran first */
        LISTED, FI_END,
    };
    const char *box[3];

    box[0] = fake_jmap_mailbox_id("Work", 13);
    box[1] = fake_jmap_mailbox_id("[Gmail]/Important", 21);
    box[2] = fake_jmap_mailbox_id("[Gmail]/All Mail", 12);
    create_case(script, box, 3, box, 3);
}

/* One mailbox on Gmail, as before, but the ids and labels come with an
   EXAMINE + UID FETCH written at once, and mailboxIds shows All Mail. */
static void test_create_one_mailbox(void)
{
    static const struct fake_imap_step script[] = {
        FAKE_GMAIL_LOGIN, LISTED, APPENDED("INBOX", 11, 30),
        FI_EXPECT("EXAMINE \"INBOX\" (CONDSTORE)"), EXAMINED(11),
        FI_EXPECT("UID FETCH 30 (UID X-GM-MSGID X-GM-THRID X-GM-LABELS)"),
        FI_SEND("* 3 FETCH (UID 30 X-GM-MSGID " NEW_MSGID " X-GM-THRID " NEW_THRID
                " X-GM-LABELS (\\Inbox))\r\n$TAG OK Success\r\n"),
        LISTED, FI_END,
    };
    const char *box[2];

    box[0] = fake_jmap_mailbox_id("INBOX", 11);
    box[1] = fake_jmap_mailbox_id("[Gmail]/All Mail", 12);
    create_case(script, box, 1, box, 2);
}

/* Trash with another mailbox cannot be on Gmail: invalidProperties,
   nothing APPENDed. */
static void test_create_trash_and_label_refused(void)
{
    static const struct fake_imap_step script[] = {
        FAKE_GMAIL_LOGIN, LISTED, LISTED, FI_END,
    };
    const char *box[2];

    box[0] = fake_jmap_mailbox_id("[Gmail]/Trash", 25);
    box[1] = fake_jmap_mailbox_id("Work", 13);
    create_case(script, box, 2, NULL, 0);
}

/* Email/import of an existing message's blob into INBOX and Work: the
   blob read (located by X-GM-MSGID, fetched from All Mail), APPENDed to
   INBOX, Work added as a label with the ids fetched in one round trip. */
static void test_import_two_labels(void)
{
    static const struct fake_imap_step script[] = {
        FAKE_GMAIL_LOGIN, LISTED, LOCATED,
        FI_EXPECT("EXAMINE \"[Gmail]/All Mail\" (CONDSTORE)"), EXAMINED(12),
        FI_EXPECT("UID FETCH 77 BODY.PEEK[]"),
        FI_SEND("* 3 FETCH (UID 77 BODY[] {18}\r\nSubject: x\r\n\r\nhi\r\n)\r\n$TAG OK Success\r\n"),
        FI_EXPECT("APPEND INBOX () {18}"), FI_SEND("+ go\r\n"), FI_EXPECT("^Subject: x"),
        FI_EXPECT("^"), FI_EXPECT("^hi"), FI_EXPECT("^"),
        FI_SEND("$TAG OK [APPENDUID 11 31] (Success)\r\n"), SELECTED_RW("INBOX", 11),
        FI_EXPECT("UID STORE 31 +X-GM-LABELS (\"Work\")"), FI_SEND("$TAG OK Success\r\n"),
        FI_EXPECT("UID FETCH 31 (UID X-GM-MSGID X-GM-THRID X-GM-LABELS)"),
        FI_SEND("* 3 FETCH (UID 31 X-GM-MSGID " NEW_MSGID " X-GM-THRID " NEW_THRID
                " X-GM-LABELS (\\Inbox Work))\r\n$TAG OK Success\r\n"),
        /* the sweep of expired uploads finds no parking folder */
        FI_EXPECT("SELECT jmapgate-uploads"), FI_SEND("$TAG NO [NONEXISTENT] Unknown Mailbox\r\n"),
        LISTED, FI_END,
    };
    struct fake_jmap j;
    const char *type = NULL;
    char *blob = ib_ids_blob(fake_jmap_key, msg_id, "");
    const char *want[3];
    json_t *r, *c;

    th_assert(blob != NULL && fake_jmap_open(&j, script) == 0);
    want[0] = fake_jmap_mailbox_id("INBOX", 11);
    want[1] = fake_jmap_mailbox_id("Work", 13);
    want[2] = fake_jmap_mailbox_id("[Gmail]/All Mail", 12);
    r = fake_jmap_call(&j, gw_jmap_email_import, "Email/import",
                       json_pack("{s:{s:{s:s,s:{s:b,s:b}}}}", "emails", "i1", "blobId", blob,
                                 "mailboxIds", want[1], 1, want[0], 1),
                       &type);
    c = json_object_get(json_object_get(r, "created"), "i1");
    th_assert(r != NULL && type == NULL && c != NULL);
    th_assert(boxes_are(json_object_get(c, "mailboxIds"), 3, want));
    if (c == NULL || !boxes_are(json_object_get(c, "mailboxIds"), 3, want))
        json_dumpf(r, stderr, 0);
    json_decref(r);
    free(blob);
    fake_jmap_close(&j);
}

/* The selectable folders of FAKE_GMAIL_FOLDERS as they are now
   (uidvalidity, uidnext, exists); a test edits its copy into the old
   state. */
struct box {
    const char *name;
    uint32_t uidv, uidnext, exists;
};
static const struct box now_boxes[] = {
    { "INBOX", 11, 30, 2 },           { "[Gmail]/All Mail", 12, 90, 3 },
    { "[Gmail]/Drafts", 20, 1, 0 },   { "[Gmail]/Important", 21, 5, 1 },
    { "[Gmail]/Sent Mail", 22, 1, 0 }, { "[Gmail]/Spam", 23, 1, 0 },
    { "[Gmail]/Starred", 24, 1, 0 },  { "[Gmail]/Trash", 25, 1, 0 },
    { "Work", 13, 8, 1 },
};
#define NBOXES (sizeof(now_boxes) / sizeof(now_boxes[0]))

/* An Email state of boxes (modseq each) sealed with the fake's key. */
static char *state_of(const struct box *boxes, const uint64_t *modseq)
{
    struct ib_state_entry e[NBOXES];

    for (size_t i = 0; i < NBOXES; i++)
        e[i] = (struct ib_state_entry){ ib_state_folder_key(fake_jmap_mailbox_id(boxes[i].name,
                                                                                 boxes[i].uidv)),
                                        boxes[i].uidv, modseq[i], boxes[i].uidnext,
                                        boxes[i].exists };
    return ib_state_encode(fake_jmap_key, IB_STATE_EMAIL, e, NBOXES);
}

static json_t *changes_since(struct fake_jmap *j, const char *state, const char **type)
{
    return fake_jmap_call(j, gw_jmap_email_changes, "Email/changes",
                          json_pack("{s:s}", "sinceState", state), type);
}

/* A label added to a message since the old state: a new UID in Work, the
   message's MODSEQ raised in All Mail. One Email updated, none created.
   (Folders are listed INBOX first, then by name: "Work" < "[Gmail]/".) */
static void test_changes_label_added(void)
{
    static const struct fake_imap_step script[] = {
        FAKE_GMAIL_LOGIN, LISTED,
        FI_EXPECT("EXAMINE Work"), EXAMINED(13),
        FI_EXPECT("UID FETCH 1:4294967295 (UID FLAGS MODSEQ X-GM-MSGID) (CHANGEDSINCE 899)"),
        FI_SEND("* 1 FETCH (UID 7 FLAGS (\\Seen) MODSEQ (900) X-GM-MSGID " FAKE_GMAIL_MSGID
                ")\r\n$TAG OK Success\r\n"),
        FI_EXPECT("EXAMINE \"[Gmail]/All Mail\""), EXAMINED(12),
        FI_EXPECT("UID FETCH 1:4294967295 (UID FLAGS MODSEQ X-GM-MSGID) (CHANGEDSINCE 899)"),
        FI_SEND("* 3 FETCH (UID 77 FLAGS (\\Seen) MODSEQ (900) X-GM-MSGID " FAKE_GMAIL_MSGID
                ")\r\n$TAG OK Success\r\n"),
        FI_END,
    };
    struct box old[NBOXES];
    uint64_t modseq[NBOXES];
    struct fake_jmap j;
    const char *type = NULL;
    char *state;
    json_t *r;

    memcpy(old, now_boxes, sizeof(old));
    for (size_t i = 0; i < NBOXES; i++)
        modseq[i] = i == 1 || i == 8 ? 899 : 900;
    old[8].uidnext = 7, old[8].exists = 0; /* Work had nothing */
    th_assert(fake_jmap_open(&j, script) == 0);
    state = state_of(old, modseq);
    r = changes_since(&j, state, &type);
    th_assert(r != NULL && type == NULL);
    th_assert(json_array_size(json_object_get(r, "created")) == 0);
    th_assert(json_array_size(json_object_get(r, "updated")) == 1 &&
              strcmp(json_string_value(json_array_get(json_object_get(r, "updated"), 0)),
                     msg_id) == 0);
    if (json_array_size(json_object_get(r, "updated")) != 1)
        json_dumpf(r, stderr, 0);
    json_decref(r);
    free(state);
    fake_jmap_close(&j);
}

/* A new message: a new UID in INBOX and in All Mail. Created, once. */
static void test_changes_new_message(void)
{
    static const struct fake_imap_step script[] = {
        FAKE_GMAIL_LOGIN, LISTED,
        FI_EXPECT("EXAMINE INBOX"), EXAMINED(11),
        FI_EXPECT("UID FETCH 1:4294967295 (UID FLAGS MODSEQ X-GM-MSGID) (CHANGEDSINCE 899)"),
        FI_SEND("* 2 FETCH (UID 29 FLAGS () MODSEQ (900) X-GM-MSGID 5)\r\n$TAG OK Success\r\n"),
        FI_EXPECT("EXAMINE \"[Gmail]/All Mail\""), EXAMINED(12),
        FI_EXPECT("UID FETCH 1:4294967295 (UID FLAGS MODSEQ X-GM-MSGID) (CHANGEDSINCE 899)"),
        FI_SEND("* 3 FETCH (UID 89 FLAGS () MODSEQ (900) X-GM-MSGID 5)\r\n$TAG OK Success\r\n"),
        FI_END,
    };
    struct box old[NBOXES];
    uint64_t modseq[NBOXES];
    struct fake_jmap j;
    const char *type = NULL;
    char id5[IB_IDS_EMAIL_MAX + 1], *state;
    json_t *r;

    memcpy(old, now_boxes, sizeof(old));
    for (size_t i = 0; i < NBOXES; i++)
        modseq[i] = i <= 1 ? 899 : 900;
    old[0].uidnext = 29, old[0].exists = 1;
    old[1].uidnext = 89, old[1].exists = 2;
    th_assert(ib_ids_email_guid("5", id5) == 0);
    th_assert(fake_jmap_open(&j, script) == 0);
    state = state_of(old, modseq);
    r = changes_since(&j, state, &type);
    th_assert(r != NULL && type == NULL);
    th_assert(json_array_size(json_object_get(r, "updated")) == 0);
    th_assert(json_array_size(json_object_get(r, "created")) == 1 &&
              strcmp(json_string_value(json_array_get(json_object_get(r, "created"), 0)),
                     id5) == 0);
    json_decref(r);
    free(state);
    fake_jmap_close(&j);
}

/* A Gmail account without CONDSTORE: Email/changes falls back as on any
   server without it (ib_delta): cannotCalculateChanges, never a guess,
   also when no count moved (a flag change moves none). */
static void test_changes_no_condstore(void)
{
    static const struct fake_imap_step script[] = {
        FAKE_GMAIL_LOGIN_NO_CONDSTORE,
        FI_EXPECT("LIST \"\" \"*\" RETURN (SUBSCRIBED SPECIAL-USE STATUS (MESSAGES UNSEEN "
                  "UIDVALIDITY UIDNEXT))"),
        FI_SEND(FAKE_GMAIL_FOLDERS_NO_MODSEQ),
        FI_END,
    };
    struct box old[NBOXES];
    uint64_t modseq[NBOXES] = { 0 };
    struct fake_jmap j;
    const char *type = NULL;
    char *changed, *same;
    json_t *r;

    memcpy(old, now_boxes, sizeof(old));
    same = state_of(old, modseq);
    old[0].uidnext = 29, old[0].exists = 1; /* a message arrived in INBOX since */
    changed = state_of(old, modseq);
    th_assert(fake_jmap_open(&j, script) == 0);
    r = changes_since(&j, changed, &type);
    th_assert(r == NULL && type != NULL && strcmp(type, "cannotCalculateChanges") == 0);
    json_decref(r);
    type = NULL;
    r = changes_since(&j, same, &type); /* equal counts: a flag change moves none */
    th_assert(r == NULL && type != NULL && strcmp(type, "cannotCalculateChanges") == 0);
    json_decref(r);
    free(changed);
    free(same);
    fake_jmap_close(&j);
}

/* threadId on Gmail is X-GM-THRID; Thread/get of it is one UID SEARCH
   X-GM-THRID in All Mail, members in date order. */
static void test_threads(void)
{
    static const struct fake_imap_step script[] = {
        FAKE_GMAIL_LOGIN, LISTED, LOCATED, FI_EXPECT("EXAMINE \"[Gmail]/All Mail\""), EXAMINED(12),
        FI_EXPECT("UID FETCH 77 (UID BODY.PEEK[HEADER] X-GM-MSGID X-GM-THRID)"),
        FI_SEND("* 3 FETCH (UID 77 X-GM-MSGID " FAKE_GMAIL_MSGID " X-GM-THRID " FAKE_GMAIL_THRID
                " BODY[HEADER] {21}\r\nMessage-ID: <a@b>\r\n\r\n)\r\n"
                "$TAG OK Success\r\n"),
        LISTED, /* the next request */
        FI_EXPECT("UID SEARCH X-GM-THRID " FAKE_GMAIL_THRID),
        FI_SEND("* SEARCH 77 80\r\n$TAG OK SEARCH completed (Success)\r\n"),
        FI_EXPECT("UID FETCH 77,80 (UID INTERNALDATE X-GM-MSGID X-GM-THRID)"),
        FI_SEND("* 3 FETCH (UID 77 INTERNALDATE \"02-Dec-2026 10:00:00 +0000\" X-GM-MSGID "
                FAKE_GMAIL_MSGID " X-GM-THRID " FAKE_GMAIL_THRID ")\r\n"
                "* 4 FETCH (UID 80 INTERNALDATE \"01-Dec-2026 10:00:00 +0000\" X-GM-MSGID 9 "
                "X-GM-THRID " FAKE_GMAIL_THRID ")\r\n$TAG OK Success\r\n"),
        FI_END,
    };
    struct fake_jmap j;
    const char *type = NULL;
    char *tid = ib_ids_thread_server(FAKE_GMAIL_THRID), id9[IB_IDS_EMAIL_MAX + 1];
    json_t *r, *t;

    th_assert(tid != NULL && ib_ids_email_guid("9", id9) == 0);
    th_assert(fake_jmap_open(&j, script) == 0);
    r = fake_jmap_call(&j, gw_jmap_email_get, "Email/get",
                       json_pack("{s:[s],s:[s]}", "ids", msg_id, "properties", "threadId"), &type);
    t = json_object_get(json_array_get(json_object_get(r, "list"), 0), "threadId");
    th_assert(json_is_string(t) && strcmp(json_string_value(t), tid) == 0);
    json_decref(r);
    fake_jmap_next_request(&j);
    r = fake_jmap_call(&j, gw_jmap_thread_get, "Thread/get",
                       json_pack("{s:[s]}", "ids", tid), &type);
    t = json_object_get(json_array_get(json_object_get(r, "list"), 0), "emailIds");
    th_assert(json_array_size(t) == 2 &&
              strcmp(json_string_value(json_array_get(t, 0)), id9) == 0 &&
              strcmp(json_string_value(json_array_get(t, 1)), msg_id) == 0);
    if (json_array_size(t) != 2)
        json_dumpf(r, stderr, 0);
    json_decref(r);
    free(tid);
    fake_jmap_close(&j);
}

/* maxMailboxesPerEmail is the user's upstream's: null on a Gmail
   session, also on the first session of an instance (nothing seen yet),
   1 on another server even after the instance saw Gmail. */
static void test_max_mailboxes(void)
{
    static const struct fake_imap_step gmail[] = { FAKE_GMAIL_LOGIN, FI_END };
    static const struct fake_imap_step other[] = { FAKE_JMAP_LOGIN, FI_END };
    struct fake_jmap j;
    json_t *cap;

    th_assert(fake_jmap_open(&j, gmail) == 0);
    th_assert(!atomic_load(&j.ctx.upstream_labels) && gw_jmap_session_labels(&j.jr));
    cap = gw_jmap_mail_capability(&j.set, gw_jmap_session_labels(&j.jr));
    th_assert(json_is_null(json_object_get(cap, "maxMailboxesPerEmail")));
    json_decref(cap);
    fake_jmap_close(&j);

    th_assert(fake_jmap_open(&j, other) == 0);
    gw_ctx_note_labels(&j.ctx, true);
    gw_ctx_note_labels(&j.ctx, false); /* a later non-Gmail answer does not undo it */
    th_assert(atomic_load(&j.ctx.upstream_labels) && !gw_jmap_session_labels(&j.jr));
    cap = gw_jmap_mail_capability(&j.set, gw_jmap_session_labels(&j.jr));
    th_assert(json_integer_value(json_object_get(cap, "maxMailboxesPerEmail")) == 1);
    json_decref(cap);
    fake_jmap_close(&j);
}

int main(void)
{
    th_assert(ib_ids_email_guid(FAKE_GMAIL_MSGID, msg_id) == 0);
    th_run("Email/get on Gmail: one X-GM-MSGID search in All Mail, mailboxIds from labels",
           test_get_labels_cold_cache);
    th_run("Email/set mailboxIds on Gmail: +X-GM-LABELS / -X-GM-LABELS", test_set_labels);
    th_run("Email/set into Trash on Gmail: a UID MOVE", test_set_trash_is_a_move);
    th_run("Email/set out of Trash on Gmail: UID MOVE, then +X-GM-LABELS on the new UID",
           test_set_out_of_trash_two_labels);
    th_run("Email/set out of Trash on Gmail to one label: a UID MOVE", test_set_out_of_trash_one_label);
    th_run("Email/set create on Gmail in INBOX and Work: APPEND, +X-GM-LABELS", test_create_two_labels);
    th_run("Email/set create on Gmail: APPEND to a user label, system labels by STORE",
           test_create_entry_folder);
    th_run("Email/set create on Gmail in one mailbox: EXAMINE + FETCH at once",
           test_create_one_mailbox);
    th_run("Email/set create on Gmail in Trash and Work: invalidProperties",
           test_create_trash_and_label_refused);
    th_run("Email/import on Gmail in INBOX and Work: APPEND, +X-GM-LABELS", test_import_two_labels);
    th_run("Email/set leaving All Mail on Gmail: invalidProperties", test_set_without_all_mail_refused);
    th_run("Email/changes on Gmail: a label added is an update", test_changes_label_added);
    th_run("Email/changes on Gmail: a new message is created once", test_changes_new_message);
    th_run("Email/changes on Gmail without CONDSTORE: cannotCalculateChanges", test_changes_no_condstore);
    th_run("threads on Gmail: X-GM-THRID ids, Thread/get by UID SEARCH X-GM-THRID", test_threads);
    th_run("maxMailboxesPerEmail from the user's own session", test_max_mailboxes);
    return th_end();
}
