/* test_ib_sortorder.c - folders' sortOrder in one METADATA entry: the
 * value's encoding (pure), a LIST-STATUS listing with the GETMETADATA in
 * the same write (applied; a refusal leaves 0 and the listing stands; tags
 * in step), SETMETADATA of the orders (NIL when all are 0). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm_crypto.h"
#include "harness/fake_session.h"
#include "harness/th.h"
#include "imapbridge/ib_mailbox.h"
#include "imapbridge/ib_session.h"
#include "imapbridge/ib_sortorder.h"

static struct ib_folder folders[3] = {
    { .id = (char *)"mAAA" }, { .id = (char *)"mBBB" }, { .id = (char *)"mCCC" }
};

static void test_apply_encode(void)
{
    struct ib_folder_list l = { folders, 3 };
    char *v;

    ib_sortorder_apply(&l, "mBBB=7,mZZZ=3,mCCC=9007199254740991");
    th_assert(folders[0].sort_order == 0 && folders[1].sort_order == 7);
    th_assert(folders[2].sort_order == 9007199254740991ULL);
    v = ib_sortorder_encode(&l);
    th_assert(v != NULL && strcmp(v, "mBBB=7,mCCC=9007199254740991") == 0);
    free(v);
    /* malformed pairs and values past 2^53-1 are skipped, the rest apply */
    ib_sortorder_apply(&l, "mAAA,mBBB=-1,mCCC=9007199254740992,mAAA=x1,=5,mBBB=12,,");
    th_assert(folders[0].sort_order == 0 && folders[1].sort_order == 12 &&
              folders[2].sort_order == 0);
    ib_sortorder_apply(&l, NULL);
    th_assert(folders[1].sort_order == 0);
    v = ib_sortorder_encode(&l);
    th_assert(v != NULL && v[0] == '\0');
    free(v);
}

#define CAPS "* CAPABILITY IMAP4rev1 ENABLE NAMESPACE CONDSTORE LIST-EXTENDED LIST-STATUS " \
             "METADATA\r\n$TAG OK done\r\n"
#define OPEN                                                                                      \
    FI_SEND("* OK ready\r\n"), FI_EXPECT("CAPABILITY"), FI_SEND(CAPS), FI_EXPECT("LOGIN"),        \
        FI_SEND("$TAG OK in\r\n"), FI_EXPECT("ENABLE CONDSTORE QRESYNC"),                          \
        FI_SEND("* ENABLED CONDSTORE\r\n$TAG OK done\r\n"), FI_EXPECT("NAMESPACE"),                \
        FI_SEND("* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n$TAG OK done\r\n"), FI_EXPECT("CAPABILITY"), \
        FI_SEND(CAPS)
#define LIST_STATUS "LIST \"\" \"*\" RETURN (SUBSCRIBED STATUS"
#define LISTING                                                                                   \
    "* LIST (\\Subscribed) \"/\" INBOX\r\n"                                                       \
    "* STATUS INBOX (MESSAGES 1 UIDNEXT 2 UIDVALIDITY 99 UNSEEN 0 HIGHESTMODSEQ 5)\r\n"            \
    "* LIST () \"/\" Work\r\n"                                                                     \
    "* STATUS Work (MESSAGES 0 UIDNEXT 1 UIDVALIDITY 100 UNSEEN 0 HIGHESTMODSEQ 1)\r\n"            \
    "$TAG OK done\r\n"
#define GET "GETMETADATA \"\" (" IB_SORTORDER_ENTRY ")"

static char work_id[IB_MAILBOX_ID_LEN + 1], answer[256], set_cmd[256];

static void test_listing(void)
{
    struct fake_imap_step script[] = {
        OPEN,
        FI_EXPECT(LIST_STATUS), FI_SEND(LISTING),
        FI_EXPECT(GET), FI_SEND(answer),
        /* refused: every order 0, the listing still good */
        FI_EXPECT(LIST_STATUS), FI_SEND(LISTING),
        FI_EXPECT(GET), FI_SEND("$TAG NO [NOPERM] not you\r\n"),
        FI_EXPECT(set_cmd), FI_SEND("$TAG OK set\r\n"),
        FI_EXPECT("SETMETADATA \"\" (" IB_SORTORDER_ENTRY " NIL)"), FI_SEND("$TAG OK set\r\n"),
        FI_EXPECT("NOOP"), FI_SEND("$TAG OK fine\r\n"),
        FI_END,
    };
    struct fake_session x;
    struct ib_folder_list l = { 0 };
    struct cm_err err = CM_ERR_INIT;

    ib_mailbox_id_derive("Work", true, 100, work_id);
    snprintf(answer, sizeof(answer),
             "* METADATA \"\" (" IB_SORTORDER_ENTRY " \"mUnknown=4,%s=42\")\r\n$TAG OK done\r\n",
             work_id);
    snprintf(set_cmd, sizeof(set_cmd), "SETMETADATA \"\" (" IB_SORTORDER_ENTRY " \"%s=5\")",
             work_id);
    th_assert(fake_session_open(&x, script, "pw", 2) == 0);
    th_assert(x.s != NULL && ib_sortorder_supported(x.s));
    th_assert(ib_mailbox_list(x.s, &l, &err) == 0 && l.count == 2);
    th_assert(strcmp(l.items[1].id, work_id) == 0 && l.items[1].sort_order == 42);
    th_assert(l.items[0].sort_order == 0);
    ib_folder_list_fini(&l);
    th_assert(ib_mailbox_list(x.s, &l, &err) == 0 && l.count == 2);
    th_assert(l.items[1].sort_order == 0 && !ib_session_is_broken(x.s));
    l.items[1].sort_order = 5;
    th_assert(ib_sortorder_store(x.s, &l, &err) == 0);
    l.items[1].sort_order = 0;
    th_assert(ib_sortorder_store(x.s, &l, &err) == 0);
    ib_folder_list_fini(&l);
    th_assert(ib_session_noop(x.s, &err) == 0); /* tags still in step */
    fake_session_close(&x);
}

int main(void)
{
    th_assert(cm_crypto_init() == 0);
    th_run("sortOrder value: apply and encode", test_apply_encode);
    th_run("listing with GETMETADATA in its write; refused; SETMETADATA", test_listing);
    return th_end();
}
