/* test_gw_jmap_mailbox.c - Mailbox/changes (the state line diff: created,
 * updated, destroyed, updatedProperties for count-only changes, maxChanges
 * cuts, foreign states) and Mailbox/set (phases, ifInState) driven through
 * the method functions on a fake IMAP server. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm_token.h"
#include "gateway/jmap/gw_jmap_methods.h"
#include "harness/fake_jmap.h"
#include "harness/th.h"
#include "imapbridge/ib_mailbox.h"
#include "imapbridge/ib_state.h"

/* One folder of a LIST-STATUS answer. */
#define FOLDER(name, flags, msgs, unseen, uv)                                                      \
    "* LIST (" flags ") \"/\" " name "\r\n* STATUS " name " (MESSAGES " #msgs                      \
    " UIDNEXT 100 UIDVALIDITY " #uv " UNSEEN " #unseen " HIGHESTMODSEQ 7)\r\n"
#define LISTED(folders) FAKE_JMAP_LIST, FI_SEND(folders "$TAG OK List completed\r\n")

#define BASE                                                                                       \
    FOLDER("INBOX", "\\Subscribed", 12, 3, 99)                                                     \
    FOLDER("Sent", "\\Sent", 5, 0, 100) FOLDER("Old", "", 0, 0, 101)

static bool ids_are(json_t *list, const char *a, const char *b)
{
    size_t want = (a != NULL) + (b != NULL);

    if (json_array_size(list) != want)
        return false;
    for (size_t i = 0; i < want; i++) {
        const char *v = json_string_value(json_array_get(list, i));

        if (v == NULL || (strcmp(v, a) != 0 && (b == NULL || strcmp(v, b) != 0)))
            return false;
    }
    return true;
}

static json_t *get_state(struct fake_jmap *j, char **state_r)
{
    const char *type = NULL;
    json_t *r = fake_jmap_call(j, gw_jmap_mailbox_get, "Mailbox/get", json_object(), &type);

    th_assert(r != NULL);
    *state_r = r ? strdup(json_string_value(json_object_get(r, "state"))) : strdup("");
    return r;
}

static json_t *changes(struct fake_jmap *j, const char *since, long long max, const char **type_r)
{
    json_t *a = json_pack("{s:s}", "sinceState", since);

    if (max >= 0)
        json_object_set_new(a, "maxChanges", json_integer(max));
    return fake_jmap_call(j, gw_jmap_mailbox_changes, "Mailbox/changes", a, type_r);
}

/* Each row: the folders at the old state, the folders now, what
   Mailbox/changes must say. */
static const struct fake_imap_step diff_script[] = {
    FAKE_JMAP_LOGIN,
    /* 0: nothing changed */
    LISTED(BASE),
    LISTED(BASE),
    /* 1: only INBOX's unread count: updatedProperties names the counts */
    LISTED(BASE),
    LISTED(FOLDER("INBOX", "\\Subscribed", 12, 2, 99) FOLDER("Sent", "\\Sent", 5, 0, 100)
               FOLDER("Old", "", 0, 0, 101)),
    /* 2: Sent subscribed (a property) and INBOX's count: updatedProperties null */
    LISTED(BASE),
    LISTED(FOLDER("INBOX", "\\Subscribed", 13, 3, 99)
               FOLDER("Sent", "\\Sent \\Subscribed", 5, 0, 100) FOLDER("Old", "", 0, 0, 101)),
    /* 3: Old destroyed, Work created */
    LISTED(BASE),
    LISTED(FOLDER("INBOX", "\\Subscribed", 12, 3, 99) FOLDER("Sent", "\\Sent", 5, 0, 100)
               FOLDER("Work", "", 0, 0, 102)),
    FI_END,
};

static void test_mailbox_changes_diff(void)
{
    struct fake_jmap j;
    const char *type = NULL;
    char *since = NULL;
    json_t *r, *g;

    th_assert(fake_jmap_open(&j, diff_script) == 0);
    /* 0 */
    json_decref(get_state(&j, &since));
    r = changes(&j, since, -1, &type);
    th_assert(r != NULL && type == NULL);
    th_assert(r && json_array_size(json_object_get(r, "created")) == 0 &&
              json_array_size(json_object_get(r, "updated")) == 0 &&
              json_array_size(json_object_get(r, "destroyed")) == 0 &&
              json_is_false(json_object_get(r, "hasMoreChanges")) &&
              json_is_null(json_object_get(r, "updatedProperties")));
    th_assert(r && strcmp(json_string_value(json_object_get(r, "newState")), since) == 0);
    th_assert(r && strcmp(json_string_value(json_object_get(r, "oldState")), since) == 0);
    json_decref(r);
    free(since);
    /* 1 */
    json_decref(get_state(&j, &since));
    r = changes(&j, since, -1, &type);
    th_assert(r &&
              ids_are(json_object_get(r, "updated"), fake_jmap_mailbox_id("INBOX", 99), NULL) &&
              ids_are(json_object_get(r, "created"), NULL, NULL) &&
              ids_are(json_object_get(r, "destroyed"), NULL, NULL));
    g = r ? json_object_get(r, "updatedProperties") : NULL;
    th_assert(json_array_size(g) == 4 &&
              strcmp(json_string_value(json_array_get(g, 0)), "totalEmails") == 0 &&
              strcmp(json_string_value(json_array_get(g, 1)), "unreadEmails") == 0);
    th_assert(r && strcmp(json_string_value(json_object_get(r, "newState")), since) != 0);
    json_decref(r);
    free(since);
    /* 2 */
    json_decref(get_state(&j, &since));
    r = changes(&j, since, -1, &type);
    th_assert(r && ids_are(json_object_get(r, "updated"), fake_jmap_mailbox_id("INBOX", 99),
                           fake_jmap_mailbox_id("Sent", 100)));
    th_assert(r && json_is_null(json_object_get(r, "updatedProperties")));
    json_decref(r);
    free(since);
    /* 3 */
    json_decref(get_state(&j, &since));
    r = changes(&j, since, -1, &type);
    th_assert(r &&
              ids_are(json_object_get(r, "created"), fake_jmap_mailbox_id("Work", 102), NULL) &&
              ids_are(json_object_get(r, "updated"), NULL, NULL) &&
              ids_are(json_object_get(r, "destroyed"), fake_jmap_mailbox_id("Old", 101), NULL) &&
              json_is_null(json_object_get(r, "updatedProperties")));
    json_decref(r);
    free(since);
    fake_jmap_close(&j);
}

/* maxChanges 1 with two changes: the first one, hasMoreChanges, and a
   newState from which the second (and then nothing) follows. */
#define MOVED                                                                                      \
    FOLDER("INBOX", "\\Subscribed", 12, 3, 99)                                                     \
    FOLDER("Sent", "\\Sent", 5, 0, 100) FOLDER("Work", "", 0, 0, 102)
static const struct fake_imap_step cut_script[] = {
    FAKE_JMAP_LOGIN, LISTED(BASE), LISTED(MOVED), LISTED(MOVED), LISTED(MOVED), FI_END,
};

static void test_mailbox_changes_cut(void)
{
    struct fake_jmap j;
    const char *type = NULL;
    char *since = NULL, *mid = NULL, *end = NULL;
    json_t *r;

    th_assert(fake_jmap_open(&j, cut_script) == 0);
    json_decref(get_state(&j, &since));
    r = changes(&j, since, 1, &type);
    th_assert(r && json_is_true(json_object_get(r, "hasMoreChanges")) &&
              ids_are(json_object_get(r, "destroyed"), fake_jmap_mailbox_id("Old", 101), NULL) &&
              ids_are(json_object_get(r, "created"), NULL, NULL));
    mid = r ? strdup(json_string_value(json_object_get(r, "newState"))) : strdup("");
    json_decref(r);
    r = changes(&j, mid, 1, &type);
    th_assert(r && json_is_false(json_object_get(r, "hasMoreChanges")) &&
              ids_are(json_object_get(r, "created"), fake_jmap_mailbox_id("Work", 102), NULL) &&
              ids_are(json_object_get(r, "destroyed"), NULL, NULL));
    end = r ? strdup(json_string_value(json_object_get(r, "newState"))) : strdup("");
    json_decref(r);
    r = changes(&j, end, 1, &type);
    th_assert(r && json_is_false(json_object_get(r, "hasMoreChanges")) &&
              json_array_size(json_object_get(r, "created")) == 0 &&
              strcmp(json_string_value(json_object_get(r, "newState")), end) == 0);
    json_decref(r);
    free(since);
    free(mid);
    free(end);
    fake_jmap_close(&j);
}

/* A state that is not a Mailbox state of this server: no IMAP, and
   cannotCalculateChanges. */
static const struct fake_imap_step login_only[] = {FAKE_JMAP_LOGIN, FI_END};

static void test_mailbox_changes_foreign(void)
{
    static const unsigned char other_key[32] = "another server's state key 0123";
    struct ib_folder_list empty = {0};
    struct ib_state_entry e = {1, 2, 3, 4, 5};
    char *foreign[4];
    struct fake_jmap j;

    foreign[0] = strdup("not-a-state");
    foreign[1] = gw_jmap_mailbox_state(other_key, &empty);              /* another key */
    foreign[2] = ib_state_encode(fake_jmap_key, IB_STATE_EMAIL, &e, 1); /* another kind */
    foreign[3] = gw_jmap_mailbox_state(fake_jmap_key, &empty);
    th_assert(fake_jmap_open(&j, login_only) == 0);
    for (size_t i = 0; i < 3; i++) {
        const char *type = NULL;
        json_t *r = changes(&j, foreign[i], -1, &type);

        th_assert_idx(r == NULL && type && strcmp(type, "cannotCalculateChanges") == 0, i);
        json_decref(r);
    }
    /* a good one garbled in its last character */
    foreign[3][strlen(foreign[3]) - 1] ^= 1;
    {
        const char *type = NULL;
        json_t *r = changes(&j, foreign[3], -1, &type);

        th_assert(r == NULL && type && strcmp(type, "cannotCalculateChanges") == 0);
        json_decref(r);
    }
    fake_jmap_close(&j);
    for (size_t i = 0; i < 4; i++)
        free(foreign[i]);
}

int main(void)
{
    th_run("Mailbox/changes: created, updated, destroyed, updatedProperties",
           test_mailbox_changes_diff);
    th_run("Mailbox/changes: maxChanges cut and follow-up", test_mailbox_changes_cut);
    th_run("Mailbox/changes: foreign or garbled state", test_mailbox_changes_foreign);
    return th_end();
}
