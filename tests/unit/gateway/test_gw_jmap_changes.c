/* test_gw_jmap_changes.c - Email/changes and Thread/changes driven through
 * the method functions on a fake IMAP server: maxChanges cuts at a modseq
 * boundary and the follow-up from the intermediate state, a cut that would
 * split one modseq, expunges without QRESYNC, foreign or garbled states,
 * threads of created and updated emails, expunges for Thread/changes.
 *
 * The account has INBOX (UIDVALIDITY 99). At the old state it had
 * HIGHESTMODSEQ 50, UIDNEXT 13, 12 messages; since then UID 5 changed
 * flags (modseq 51), UIDs 13 and 14 arrived (both modseq 53) and UID 7
 * was expunged. Every call runs on a connection of its own. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/jmap/gw_jmap_methods.h"
#include "harness/fake_jmap.h"
#include "harness/th.h"
#include "imapbridge/ib_ids.h"
#include "imapbridge/ib_mailbox.h"
#include "imapbridge/ib_state.h"

#define INBOX_NOW(msgs)                                                                            \
    FAKE_JMAP_LIST,                                                                                \
        FI_SEND("* LIST (\\Subscribed) \"/\" INBOX\r\n* STATUS INBOX (MESSAGES " #msgs             \
                " UIDNEXT 15 UIDVALIDITY 99 UNSEEN 0 HIGHESTMODSEQ 55)\r\n$TAG OK done\r\n")
#define EXAMINED(msgs)                                                                             \
    FI_EXPECT("EXAMINE INBOX (CONDSTORE)"),                                                        \
        FI_SEND("* " #msgs " EXISTS\r\n* OK [UIDVALIDITY 99] v\r\n* OK [UIDNEXT 15] n\r\n"         \
                "* OK [HIGHESTMODSEQ 55] m\r\n$TAG OK [READ-ONLY] done\r\n")
#define CHANGEDSINCE(m) FI_EXPECT("UID FETCH 1:4294967295 (UID FLAGS MODSEQ) (CHANGEDSINCE " #m)
#define VANISHED_7 "* VANISHED (EARLIER) 7\r\n"
#define UID5 "* 3 FETCH (UID 5 FLAGS (\\Seen) MODSEQ (51))\r\n"
#define UID13_14                                                                                   \
    "* 12 FETCH (UID 13 FLAGS () MODSEQ (53))\r\n* 13 FETCH (UID 14 FLAGS () MODSEQ (53))\r\n"
#define DONE "$TAG OK done\r\n"

static char inbox_id[IB_MAILBOX_ID_LEN + 1];

static char *old_state(uint64_t modseq)
{
    struct ib_state_entry e = {ib_state_folder_key(inbox_id), 99, modseq, 13, 12};

    return ib_state_encode(fake_jmap_key, IB_STATE_EMAIL, &e, 1);
}

static const char *email_id(uint32_t uid)
{
    static char ids[4][IB_IDS_EMAIL_LEN + 1];
    static unsigned int next;
    struct ib_email_loc loc = {ib_state_folder_key(inbox_id), 99, uid};
    char *dst = ids[next++ % 4];

    ib_ids_email(&loc, dst);
    return dst;
}

/* list holds exactly the given strings (n of them), in any order. */
static bool holds(json_t *list, size_t n, const char *a, const char *b)
{
    const char *want[2] = {a, b};

    if (json_array_size(list) != n)
        return false;
    for (size_t k = 0; k < n; k++) {
        bool found = false;

        for (size_t i = 0; i < n && !found; i++)
            found = strcmp(json_string_value(json_array_get(list, i)), want[k]) == 0;
        if (!found)
            return false;
    }
    return true;
}

/* One call of fn on a fresh connection that plays script. */
static json_t *call(const struct fake_imap_step *script, gw_jmethod_fn *fn, const char *name,
                    const char *since, long long max, const char **type_r)
{
    struct fake_jmap j;
    json_t *a = json_pack("{s:s}", "sinceState", since), *r = NULL;

    if (max >= 0)
        json_object_set_new(a, "maxChanges", json_integer(max));
    th_assert(fake_jmap_open(&j, script) == 0);
    r = fake_jmap_call(&j, fn, name, a, type_r);
    fake_jmap_close(&j);
    return r;
}

static const struct fake_imap_step from50[] = {
    FAKE_JMAP_LOGIN,
    INBOX_NOW(13),
    EXAMINED(13),
    CHANGEDSINCE(50),
    FI_SEND(VANISHED_7 UID5 UID13_14 DONE),
    FI_END,
};
static const struct fake_imap_step from51[] = {
    FAKE_JMAP_LOGIN,
    INBOX_NOW(13),
    EXAMINED(13),
    CHANGEDSINCE(51),
    FI_SEND(VANISHED_7 UID13_14 DONE),
    FI_END,
};

/* maxChanges 2 of 3 changes: 51 fits, the two at 53 do not both fit, so
   the cut is after 51; the follow-up asks CHANGEDSINCE 51 and gets the
   rest, the expunge included. */
static void test_email_changes_cut(void)
{
    char *since = old_state(50), *mid = NULL;
    const char *type = NULL;
    struct ib_state_entry *e = NULL;
    size_t n = 0;
    json_t *r;

    r = call(from50, gw_jmap_email_changes, "Email/changes", since, 2, &type);
    th_assert(r != NULL && type == NULL);
    th_assert(r && json_is_true(json_object_get(r, "hasMoreChanges")) &&
              holds(json_object_get(r, "updated"), 1, email_id(5), NULL) &&
              holds(json_object_get(r, "created"), 0, NULL, NULL) &&
              holds(json_object_get(r, "destroyed"), 0, NULL, NULL));
    mid = r ? strdup(json_string_value(json_object_get(r, "newState"))) : strdup("");
    json_decref(r);
    /* the intermediate point: modseq of the last change taken, UIDNEXT kept */
    th_assert(ib_state_decode(fake_jmap_key, IB_STATE_EMAIL, mid, &e, &n) == 0 && n == 1 &&
              e[0].modseq == 51 && e[0].uidnext == 13 && e[0].uidvalidity == 99);
    free(e);

    r = call(from51, gw_jmap_email_changes, "Email/changes", mid, 2, &type);
    th_assert(r && json_is_false(json_object_get(r, "hasMoreChanges")) &&
              holds(json_object_get(r, "created"), 2, email_id(13), email_id(14)) &&
              holds(json_object_get(r, "updated"), 0, NULL, NULL) &&
              holds(json_object_get(r, "destroyed"), 1, email_id(7), NULL));
    e = NULL;
    th_assert(r &&
              ib_state_decode(fake_jmap_key, IB_STATE_EMAIL,
                              json_string_value(json_object_get(r, "newState")), &e, &n) == 0 &&
              n == 1 && e[0].modseq == 55 && e[0].uidnext == 15 && e[0].exists == 13);
    free(e);
    json_decref(r);

    /* maxChanges 1 from there: the two changes at modseq 53 cannot be split */
    r = call(from51, gw_jmap_email_changes, "Email/changes", mid, 1, &type);
    th_assert(r == NULL && type && strcmp(type, "cannotCalculateChanges") == 0);
    json_decref(r);
    free(mid);
    free(since);
}

/* No QRESYNC: expunges show only in the counts. 12 + 2 arrived != 13 now,
   so something went: cannotCalculateChanges. With 14 messages now all is
   accounted for. */
#define CAPS_NO_QRESYNC                                                                            \
    "* CAPABILITY IMAP4rev1 ENABLE NAMESPACE CONDSTORE SPECIAL-USE UNSELECT "                      \
    "LIST-EXTENDED LIST-STATUS\r\n$TAG OK done\r\n"
#define NO_QRESYNC(msgs)                                                                           \
    FAKE_JMAP_LOGIN_WITH(CAPS_NO_QRESYNC, "* ENABLED CONDSTORE"), INBOX_NOW(msgs), EXAMINED(msgs), \
        FI_EXPECT("UID FETCH 1:4294967295 (UID FLAGS MODSEQ) (CHANGEDSINCE 50)"),                  \
        FI_SEND(UID5 UID13_14 DONE), FI_END

static void test_email_changes_no_qresync(void)
{
    static const struct fake_imap_step expunged[] = {NO_QRESYNC(13)};
    static const struct fake_imap_step complete[] = {NO_QRESYNC(14)};
    char *since = old_state(50);
    const char *type = NULL;
    json_t *r;

    r = call(expunged, gw_jmap_email_changes, "Email/changes", since, -1, &type);
    th_assert(r == NULL && type && strcmp(type, "cannotCalculateChanges") == 0);
    json_decref(r);
    r = call(complete, gw_jmap_email_changes, "Email/changes", since, -1, &type);
    th_assert(r && holds(json_object_get(r, "created"), 2, email_id(13), email_id(14)) &&
              holds(json_object_get(r, "updated"), 1, email_id(5), NULL) &&
              holds(json_object_get(r, "destroyed"), 0, NULL, NULL));
    json_decref(r);
    free(since);
}

static const struct fake_imap_step login_only[] = {FAKE_JMAP_LOGIN, FI_END};

/* Not an Email state of this server: no IMAP, cannotCalculateChanges. */
static void test_changes_foreign_state(void)
{
    static const unsigned char other_key[32] = "another server's state key 0123";
    struct ib_state_entry e = {ib_state_folder_key(inbox_id), 99, 50, 13, 12};
    struct ib_folder_list empty = {0};
    char *states[4];

    states[0] = strdup("garbage");
    states[1] = ib_state_encode(other_key, IB_STATE_EMAIL, &e, 1);
    states[2] = gw_jmap_mailbox_state(fake_jmap_key, &empty);
    states[3] = old_state(50);
    states[3][strlen(states[3]) / 2] ^= 1;
    for (size_t i = 0; i < 4; i++) {
        const char *type = NULL;
        json_t *r = call(login_only, gw_jmap_email_changes, "Email/changes", states[i], -1, &type);

        th_assert_idx(r == NULL && type && strcmp(type, "cannotCalculateChanges") == 0, i);
        json_decref(r);
        r = call(login_only, gw_jmap_thread_changes, "Thread/changes", states[i], -1, &type);
        th_assert_idx(r == NULL && type && strcmp(type, "cannotCalculateChanges") == 0, i);
        json_decref(r);
        free(states[i]);
    }
}

/* Thread/changes: 13 starts thread a, 14 replies to it (a is created, not
   also updated), 5 is in thread b (updated). Each email's headers are
   fetched on the same selection, synced once for the request (the first
   NOOP), not once per email. */
#define HDR(uid, seq, len, text)                                                                   \
    FI_EXPECT("UID FETCH " #uid " "),                                                              \
        FI_SEND("* " #seq " FETCH (UID " #uid " BODY[HEADER.FIELDS (Date From To Subject "         \
                "Message-ID In-Reply-To References)] {" #len "}\r\n" text ")\r\n" DONE)
static const struct fake_imap_step threads[] = {
    FAKE_JMAP_LOGIN,
    INBOX_NOW(14),
    EXAMINED(14),
    CHANGEDSINCE(50),
    FI_SEND(UID5 UID13_14 DONE),
    FI_EXPECT("NOOP"), FI_SEND(DONE),
    HDR(13, 12, 21, "Message-ID: <a@x>\r\n\r\n"),
    HDR(14, 13, 40, "Message-ID: <c@x>\r\nReferences: <a@x>\r\n\r\n"),
    HDR(5, 3, 21, "Message-ID: <b@x>\r\n\r\n"),
    FI_END,
};

static void test_thread_changes(void)
{
    char *since = old_state(50), *ta = ib_ids_thread("a@x"), *tb = ib_ids_thread("b@x");
    const char *type = NULL;
    json_t *r;

    r = call(threads, gw_jmap_thread_changes, "Thread/changes", since, -1, &type);
    th_assert(r != NULL && type == NULL);
    th_assert(r && holds(json_object_get(r, "created"), 1, ta, NULL) &&
              holds(json_object_get(r, "updated"), 1, tb, NULL) &&
              holds(json_object_get(r, "destroyed"), 0, NULL, NULL) &&
              json_is_false(json_object_get(r, "hasMoreChanges")));
    json_decref(r);
    /* an expunge cannot be mapped to its thread */
    r = call(from50, gw_jmap_thread_changes, "Thread/changes", since, -1, &type);
    th_assert(r == NULL && type && strcmp(type, "cannotCalculateChanges") == 0);
    json_decref(r);
    free(since);
    free(ta);
    free(tb);
}

/* Thread/changes where the thread holds through a parent: 13 says
   "References: <r@x>" (r is nowhere: one search for it, not found), 14
   says only "In-Reply-To: <a@x>" (13's Message-ID, learnt already: no
   search), so both are in r's thread, not 14 in a thread of its own. */
static const struct fake_imap_step threads_irt[] = {
    FAKE_JMAP_LOGIN,
    INBOX_NOW(14),
    EXAMINED(14),
    CHANGEDSINCE(50),
    FI_SEND(UID5 UID13_14 DONE),
    FI_EXPECT("NOOP"), FI_SEND(DONE),
    HDR(13, 12, 40, "Message-ID: <a@x>\r\nReferences: <r@x>\r\n\r\n"),
    FI_EXPECT("UID SEARCH HEADER Message-ID \"<r@x>\""), FI_SEND("* SEARCH\r\n" DONE),
    HDR(14, 13, 41, "Message-ID: <c@x>\r\nIn-Reply-To: <a@x>\r\n\r\n"),
    HDR(5, 3, 21, "Message-ID: <b@x>\r\n\r\n"),
    FI_END,
};

static void test_thread_changes_through_parent(void)
{
    char *since = old_state(50), *tr = ib_ids_thread("r@x"), *tb = ib_ids_thread("b@x");
    const char *type = NULL;
    json_t *r = call(threads_irt, gw_jmap_thread_changes, "Thread/changes", since, -1, &type);

    th_assert(r != NULL && type == NULL);
    th_assert(r && holds(json_object_get(r, "created"), 0, NULL, NULL) &&
              holds(json_object_get(r, "updated"), 2, tr, tb));
    json_decref(r);
    free(since);
    free(tr);
    free(tb);
}

int main(void)
{
    ib_mailbox_id_derive("INBOX", true, 99, inbox_id);
    th_run("Email/changes: maxChanges cut at a modseq, follow-up", test_email_changes_cut);
    th_run("Email/changes: no QRESYNC", test_email_changes_no_qresync);
    th_run("Email/Thread changes: foreign or garbled state", test_changes_foreign_state);
    th_run("Thread/changes: created and updated threads, expunges", test_thread_changes);
    th_run("Thread/changes: a reply by In-Reply-To joins its parent's thread",
           test_thread_changes_through_parent);
    return th_end();
}
