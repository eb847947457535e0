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
    char email[IB_IDS_EMAIL_MAX + 1], *part = NULL, *b = ib_ids_blob(key, "hAAECAwQFBgcICQoLDA0ODw", "1.2");

    th_assert(b != NULL);
    th_assert(ib_ids_blob_parse(key, b, email, &part) == 0);
    th_assert(strcmp(email, "hAAECAwQFBgcICQoLDA0ODw") == 0 && strcmp(part, "1.2") == 0);
    free(part);
    b[strlen(b) - 1] = b[strlen(b) - 1] == 'A' ? 'B' : 'A';
    th_assert(ib_ids_blob_parse(key, b, email, &part) == CM_EINVAL);
    free(b);
    b = ib_ids_blob(key, "eAAAAAAAAAAAAAAAAAAA", "");
    th_assert(ib_ids_blob_parse(key, b, email, &part) == 0 && part[0] == '\0');
    th_assert(strcmp(email, "eAAAAAAAAAAAAAAAAAAA") == 0);
    free(part);
    free(b);
    b = ib_ids_blob(key, "eAAAAAAAAAAAAAAAAAAA", "1;DROP");
    th_assert(ib_ids_blob_parse(key, b, email, &part) == CM_EINVAL);
    free(b);
    th_assert(ib_ids_blob(key, "", "1") == NULL);
}

/* The GUID forms: 32 hex digits pack into 16 bytes; anything else is
   carried as text; both round-trip, and junk is refused. */
static void test_guid(void)
{
    char id[IB_IDS_EMAIL_MAX + 1], long_guid[IB_IDS_MAX_GUID + 2], *g = NULL;
    const char *hex = "0123456789abcdef0011223344556677";
    const char *maildir = "1796523686.M542203P7866.vm,S=46,W=51";

    th_assert(ib_ids_email_guid(hex, id) == 0);
    th_assert(id[0] == 'h' && strlen(id) == 23 && ib_ids_email_kind(id) == IB_IDS_GUID);
    th_assert(ib_ids_email_guid_parse(id, &g) == 0 && strcmp(g, hex) == 0);
    free(g);
    th_assert(ib_ids_email_guid(maildir, id) == 0 && id[0] == 'g');
    th_assert(strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
              strlen(id));
    th_assert(ib_ids_email_guid_parse(id, &g) == 0 && strcmp(g, maildir) == 0);
    free(g);
    th_assert(ib_ids_email_guid("0123456789ABCDEF0011223344556677", id) == 0 && id[0] == 'g');
    memset(long_guid, 'x', IB_IDS_MAX_GUID);
    long_guid[IB_IDS_MAX_GUID] = '\0';
    th_assert(ib_ids_email_guid(long_guid, id) == 0 && strlen(id) <= IB_IDS_EMAIL_MAX);
    long_guid[IB_IDS_MAX_GUID] = 'x';
    long_guid[IB_IDS_MAX_GUID + 1] = '\0';
    th_assert(ib_ids_email_guid(long_guid, id) == CM_EINVAL);
    th_assert(ib_ids_email_guid("has space", id) == CM_EINVAL);
    th_assert(ib_ids_email_guid("q\"uote", id) == CM_EINVAL);
    th_assert(ib_ids_email_guid("", id) == CM_EINVAL);
    /* junk and other spellings */
    th_assert(ib_ids_email_guid_parse("h", &g) == CM_EINVAL && g == NULL);
    th_assert(ib_ids_email_guid_parse("hAAAA", &g) == CM_EINVAL);
    th_assert(ib_ids_email_guid_parse("g!!", &g) == CM_EINVAL);
    th_assert(ib_ids_email_guid_parse("gIHg", &g) == CM_EINVAL); /* " x": a space */
    /* a 32-hex GUID spelt as text is not ours (its id starts with "h") */
    th_assert(ib_ids_email_guid_parse("gMDEyMzQ1Njc4OWFiY2RlZjAwMTEyMjMzNDQ1NTY2Nzc", &g) == CM_EINVAL);
    th_assert(ib_ids_email_guid_parse("eAAAAAAAAAAAAAAAAAAA", &g) == CM_EINVAL);
    th_assert(ib_ids_email_kind("eAAAAAAAAAAAAAAAAAAA") == IB_IDS_LOCATION);
    th_assert(ib_ids_email_kind("x") == IB_IDS_NOT_OURS);
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

/* A server's own thread id (THREADID): "s" + base64url, parsed back;
   nothing a server would not send. */
static void test_thread_server(void)
{
    char *t = ib_ids_thread_server("T3a0e1c2b4d5f6a7b"), *back;

    th_assert(t != NULL && t[0] == 's');
    back = ib_ids_thread_server_parse(t);
    th_assert(back != NULL && strcmp(back, "T3a0e1c2b4d5f6a7b") == 0);
    free(back);
    th_assert(ib_ids_thread_root(t) == NULL); /* not a root id */
    th_assert(ib_ids_thread_server_parse("tYWJj") == NULL);
    free(t);
    th_assert(ib_ids_thread_server("") == NULL);
    th_assert(ib_ids_thread_server("a\"b") == NULL);
    th_assert(ib_ids_thread_server_parse("s") == NULL);
    th_assert(ib_ids_thread_server_parse("sIiI") == NULL); /* decodes to "\"\"" */
}

int main(void)
{
    th_assert(cm_crypto_init() == 0);
    th_run("email", test_email);
    th_run("blob", test_blob);
    th_run("guid", test_guid);
    th_run("thread", test_thread);
    th_run("thread from the server's THREADID", test_thread_server);
    return th_end();
}
