/* test_ib_ids.c - email, blob and thread ids round-trip and refuse junk. */
#include <stdlib.h>
#include <string.h>

#include "common/cm_crypto.h"
#include "harness/th.h"
#include "imapbridge/ib_ids.h"
#include "imapbridge/ib_state.h"

static const unsigned char key[32] = "blob-key-blob-key-blob-key-blob";

static void test_email(void)
{
    struct ib_email_loc loc = { ib_state_folder_key("mXYZ"), 1700000001u, 4294967295u }, back;
    char id[IB_IDS_EMAIL_LEN + 1];

    ib_ids_email(&loc, id);
    th_assert(strlen(id) == IB_IDS_EMAIL_LEN && id[0] == 'e');
    th_assert(strspn(id + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
              IB_IDS_EMAIL_LEN - 1);
    th_assert(ib_ids_email_parse(id, &back) == 0);
    th_assert(back.uid == loc.uid && back.uidvalidity == loc.uidvalidity);
    th_assert(ib_ids_folder_prefix(back.folder_key) == ib_ids_folder_prefix(loc.folder_key));
    th_assert(ib_ids_email_parse("e", &back) == CM_EINVAL);
    th_assert(ib_ids_email_parse("x1234567890123456789", &back) == CM_EINVAL);
    th_assert(ib_ids_email_parse("e!!!!!!!!!!!!!!!!!!!", &back) == CM_EINVAL);
    loc.uid = 0;
    ib_ids_email(&loc, id);
    th_assert(ib_ids_email_parse(id, &back) == CM_EINVAL);
}

static void test_blob(void)
{
    struct ib_email_loc loc = { ib_state_folder_key("m1"), 7, 42 }, back;
    char *b = ib_ids_blob(key, &loc, "1.2"), *part = NULL;

    th_assert(b != NULL);
    th_assert(ib_ids_blob_parse(key, b, &back, &part) == 0);
    th_assert(back.uid == 42 && back.uidvalidity == 7 && strcmp(part, "1.2") == 0);
    free(part);
    b[strlen(b) - 1] = b[strlen(b) - 1] == 'A' ? 'B' : 'A';
    th_assert(ib_ids_blob_parse(key, b, &back, &part) == CM_EINVAL);
    free(b);
    b = ib_ids_blob(key, &loc, "");
    th_assert(ib_ids_blob_parse(key, b, &back, &part) == 0 && part[0] == '\0');
    free(part);
    free(b);
    b = ib_ids_blob(key, &loc, "1;DROP");
    th_assert(ib_ids_blob_parse(key, b, &back, &part) == CM_EINVAL);
    free(b);
}

static void test_thread(void)
{
    char *t = ib_ids_thread("abc.123@example.org"), *root;
    char long_root[300];

    th_assert(t != NULL && t[0] == 't');
    root = ib_ids_thread_root(t);
    th_assert(root != NULL && strcmp(root, "abc.123@example.org") == 0);
    free(root);
    free(t);
    memset(long_root, 'x', sizeof(long_root) - 1);
    long_root[sizeof(long_root) - 1] = '\0';
    t = ib_ids_thread(long_root);
    th_assert(t != NULL && t[0] == 'T' && strlen(t) == 17);
    th_assert(ib_ids_thread_root(t) == NULL);
    free(t);
    th_assert(ib_ids_thread_root("t") == NULL);
    th_assert(ib_ids_thread_root("t!!") == NULL);
    th_assert(ib_ids_thread_root("tnope") == NULL); /* decodes to non-printable bytes */
}

int main(void)
{
    th_assert(cm_crypto_init() == 0);
    th_run("email", test_email);
    th_run("blob", test_blob);
    th_run("thread", test_thread);
    return th_end();
}
