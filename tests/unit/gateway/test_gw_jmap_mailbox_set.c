/* test_gw_jmap_mailbox_set.c - Mailbox/set phases driven through the
 * method function on a fake IMAP server: creates, then destroys of a child
 * and its parent in one call (the folder list read again between phases),
 * a parent named before its child (mailboxHasChild), and ifInState. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/jmap/gw_jmap_methods.h"
#include "harness/fake_jmap.h"
#include "harness/th.h"
#include "imapbridge/ib_mailbox.h"

#define FOLDER(name, flags, uv)                                                                    \
    "* LIST (" flags ") \"/\" " name "\r\n* STATUS " name " (MESSAGES 0 UIDNEXT 1 "                \
    "UIDVALIDITY " #uv " UNSEEN 0 HIGHESTMODSEQ 1)\r\n"
#define LISTED(folders) FAKE_JMAP_LIST, FI_SEND(folders "$TAG OK List completed\r\n")
#define TREE                                                                                       \
    FOLDER("INBOX", "\\Subscribed", 1)                                                             \
    FOLDER("P", "\\HasChildren", 2) FOLDER("P/C", "\\HasNoChildren", 3)
#define OK(cmd) FI_EXPECT(cmd), FI_SEND("$TAG OK done\r\n")

static json_t *mailbox_set(struct fake_jmap *j, const char *json, const char **type_r)
{
    json_t *a = json_loads(json, 0, NULL);

    th_assert(a != NULL);
    return fake_jmap_call(j, gw_jmap_mailbox_set, "Mailbox/set", a, type_r);
}

static const struct fake_imap_step phases_script[] = {
    FAKE_JMAP_LOGIN,
    LISTED(TREE),
    OK("CREATE New"),
    OK("SUBSCRIBE New"),
    LISTED(TREE FOLDER("New", "\\Subscribed", 4)), /* after the creates */
    OK("DELETE \"P/C\""),
    OK("DELETE P"),
    LISTED(FOLDER("INBOX", "\\Subscribed", 1) FOLDER("New", "\\Subscribed", 4)),
    FI_END,
};

/* create New, destroy P/C then P: all in one call. */
static void test_create_then_destroy_child_and_parent(void)
{
    struct fake_jmap j;
    const char *type = NULL;
    char args[256];
    json_t *r, *created;

    th_assert(fake_jmap_open(&j, phases_script) == 0);
    snprintf(args, sizeof(args),
             "{\"create\":{\"n1\":{\"name\":\"New\"}},\"destroy\":[\"%s\",\"%s\"]}",
             fake_jmap_mailbox_id("P/C", 3), fake_jmap_mailbox_id("P", 2));
    r = mailbox_set(&j, args, &type);
    th_assert(r != NULL && type == NULL);
    if (r == NULL)
        fprintf(stderr, "  Mailbox/set: %s\n", type);
    created = r ? json_object_get(json_object_get(r, "created"), "n1") : NULL;
    th_assert(created &&
              strcmp(json_string_value(json_object_get(created, "id")),
                     fake_jmap_mailbox_id("New", 4)) == 0 &&
              json_is_true(json_object_get(created, "isSubscribed")));
    th_assert(r && json_array_size(json_object_get(r, "destroyed")) == 2 &&
              strcmp(json_string_value(json_array_get(json_object_get(r, "destroyed"), 0)),
                     fake_jmap_mailbox_id("P/C", 3)) == 0 &&
              strcmp(json_string_value(json_array_get(json_object_get(r, "destroyed"), 1)),
                     fake_jmap_mailbox_id("P", 2)) == 0);
    th_assert(r && json_object_size(json_object_get(r, "notCreated")) == 0 &&
              json_object_size(json_object_get(r, "notDestroyed")) == 0);
    th_assert(r && strcmp(json_string_value(json_object_get(r, "oldState")),
                          json_string_value(json_object_get(r, "newState"))) != 0);
    /* the creation id is known to the rest of the request */
    th_assert(json_is_string(json_object_get(j.jr.created_ids, "n1")) &&
              strcmp(json_string_value(json_object_get(j.jr.created_ids, "n1")),
                     fake_jmap_mailbox_id("New", 4)) == 0);
    json_decref(r);
    fake_jmap_close(&j);
}

static const struct fake_imap_step parent_first_script[] = {
    FAKE_JMAP_LOGIN,
    LISTED(TREE),
    OK("DELETE \"P/C\""),
    LISTED(FOLDER("INBOX", "\\Subscribed", 1) FOLDER("P", "\\HasNoChildren", 2)),
    FI_END,
};

/* The parent named first still has its child then: mailboxHasChild; the
   child goes. */
static void test_parent_before_child(void)
{
    struct fake_jmap j;
    const char *type = NULL;
    char args[256];
    json_t *r, *e;

    th_assert(fake_jmap_open(&j, parent_first_script) == 0);
    snprintf(args, sizeof(args), "{\"destroy\":[\"%s\",\"%s\"]}", fake_jmap_mailbox_id("P", 2),
             fake_jmap_mailbox_id("P/C", 3));
    r = mailbox_set(&j, args, &type);
    e = r ? json_object_get(json_object_get(r, "notDestroyed"), fake_jmap_mailbox_id("P", 2))
          : NULL;
    th_assert(e && strcmp(json_string_value(json_object_get(e, "type")), "mailboxHasChild") == 0);
    th_assert(r && json_array_size(json_object_get(r, "destroyed")) == 1 &&
              strcmp(json_string_value(json_array_get(json_object_get(r, "destroyed"), 0)),
                     fake_jmap_mailbox_id("P/C", 3)) == 0);
    json_decref(r);
    fake_jmap_close(&j);
}

static const struct fake_imap_step if_in_state_script[] = {
    FAKE_JMAP_LOGIN,  LISTED(TREE), /* Mailbox/get */
    LISTED(TREE),                   /* Mailbox/set with a stale state: nothing changes */
    LISTED(TREE),                   /* the next request, with the current state */
    OK("CREATE New"), OK("SUBSCRIBE New"), LISTED(TREE FOLDER("New", "\\Subscribed", 4)), FI_END,
};

static void test_if_in_state(void)
{
    struct fake_jmap j;
    const char *type = NULL;
    char args[1024];
    char *state;
    json_t *r;

    th_assert(fake_jmap_open(&j, if_in_state_script) == 0);
    r = fake_jmap_call(&j, gw_jmap_mailbox_get, "Mailbox/get", json_object(), &type);
    state = strdup(r ? json_string_value(json_object_get(r, "state")) : "");
    json_decref(r);
    r = mailbox_set(&j, "{\"ifInState\":\"stale\",\"create\":{\"n1\":{\"name\":\"New\"}}}", &type);
    th_assert(r == NULL && type && strcmp(type, "stateMismatch") == 0);
    json_decref(r);
    fake_jmap_next_request(&j);
    snprintf(args, sizeof(args), "{\"ifInState\":\"%s\",\"create\":{\"n1\":{\"name\":\"New\"}}}",
             state);
    r = mailbox_set(&j, args, &type);
    th_assert(r != NULL && type == NULL &&
              strcmp(json_string_value(json_object_get(r, "oldState")), state) == 0 &&
              json_object_get(json_object_get(r, "created"), "n1") != NULL);
    json_decref(r);
    free(state);
    fake_jmap_close(&j);
}

int main(void)
{
    th_run("Mailbox/set: create, then destroy a child and its parent",
           test_create_then_destroy_child_and_parent);
    th_run("Mailbox/set: a parent before its child", test_parent_before_child);
    th_run("Mailbox/set: ifInState", test_if_in_state);
    return th_end();
}
