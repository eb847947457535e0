/* test_ib_metadata.c - GETMETADATA / SETMETADATA against the scripted
 * server: literal and NIL values, several entries, a refusal, a server
 * without METADATA (nothing sent), values that must not reach the wire. */
#include <stdlib.h>
#include <string.h>

#include "harness/fake_session.h"
#include "harness/th.h"
#include "imapbridge/ib_metadata.h"
#include "imapbridge/ib_session.h"

#define GREETING "* OK fake ready\r\n"
#define ENTRY "/private/vendor/jmapgate/identity"

/* Login to a server whose capabilities after login are `caps`. */
#define LOGIN(caps)                                                                                \
    FI_SEND(GREETING), FI_EXPECT("CAPABILITY"),                                                    \
        FI_SEND("* CAPABILITY IMAP4rev1 ENABLE\r\n$TAG OK done\r\n"),                              \
        FI_EXPECT("LOGIN \"alice\" \"s3cret\""), FI_SEND("$TAG OK logged in\r\n"),                 \
        FI_EXPECT("ENABLE CONDSTORE QRESYNC"), FI_SEND("* ENABLED\r\n$TAG OK done\r\n"),           \
        FI_EXPECT("NAMESPACE"), FI_SEND("$TAG BAD unknown\r\n"), FI_EXPECT("CAPABILITY"),          \
        FI_SEND("* CAPABILITY " caps "\r\n$TAG OK done\r\n"), FI_EXPECT("LIST \"\" \"\""),         \
        FI_SEND("* LIST (\\Noselect) \"/\" \"\"\r\n$TAG OK done\r\n")

static void test_get_set(void)
{
    static const struct fake_imap_step script[] = {
        LOGIN("IMAP4rev1 ENABLE METADATA"),
        FI_EXPECT("GETMETADATA \"\" (" ENTRY ")"),
        FI_SEND("* METADATA \"\" (" ENTRY " NIL)\r\n$TAG OK done\r\n"),
        FI_EXPECT("SETMETADATA \"\" (" ENTRY " \"eyJuIjoxfQ\")"),
        FI_SEND("$TAG OK set\r\n"),
        FI_EXPECT("GETMETADATA \"\" (" ENTRY ")"),
        FI_SEND("* METADATA \"\" (/private/other \"x\" " ENTRY " {10}\r\neyJuIjoxfQ)\r\n"
                "$TAG OK done\r\n"),
        FI_EXPECT("GETMETADATA \"\" (" ENTRY ")"),
        FI_SEND("* METADATA \"\" (" ENTRY " {10}\r\neyJuIjoxfQ)\r\n$TAG OK done\r\n"),
        FI_EXPECT("SETMETADATA \"\" (" ENTRY " NIL)"),
        FI_SEND("$TAG NO [TOOMANY] no\r\n"),
        FI_EXPECT("NOOP"),
        FI_SEND("$TAG OK still alive\r\n"),
        FI_END,
    };
    struct fake_session c;
    struct cm_err err = CM_ERR_INIT;
    char *v = (char *)"x";

    th_assert(fake_session_open(&c, script, "s3cret", 2) == 0);
    th_assert(ib_metadata_supported(c.s));
    th_assert(ib_metadata_get(c.s, ENTRY, &v, &err) == 0 && v == NULL);
    th_assert(ib_metadata_set(c.s, ENTRY, "eyJuIjoxfQ", &err) == 0);
    /* the entry we asked for, not the first one */
    th_assert(ib_metadata_get(c.s, ENTRY, &v, &err) == 0 && v != NULL);
    th_assert(strcmp(v, "eyJuIjoxfQ") == 0);
    free(v);
    th_assert(ib_metadata_get(c.s, ENTRY, &v, &err) == 0 && strcmp(v, "eyJuIjoxfQ") == 0);
    free(v);
    th_assert(ib_metadata_set(c.s, ENTRY, NULL, &err) == CM_EPERM);
    th_assert(!ib_session_is_broken(c.s));
    th_assert(ib_session_noop(c.s, &err) == 0);
    /* nothing of these reaches the wire (FI_END would record it) */
    th_assert(ib_metadata_set(c.s, ENTRY, "a\"b", &err) == CM_EINVAL);
    th_assert(ib_metadata_set(c.s, ENTRY, "a\r\nX", &err) == CM_EINVAL);
    th_assert(ib_metadata_set(c.s, "/private/x y", "v", &err) == CM_EINVAL);
    fake_session_close(&c);
}

static void test_without_metadata(void)
{
    static const struct fake_imap_step script[] = {LOGIN("IMAP4rev1 ENABLE"), FI_END};
    struct fake_session c;
    struct cm_err err = CM_ERR_INIT;
    char *v = NULL;

    th_assert(fake_session_open(&c, script, "s3cret", 2) == 0);
    th_assert(!ib_metadata_supported(c.s));
    th_assert(ib_metadata_get(c.s, ENTRY, &v, &err) == CM_EPERM && v == NULL);
    th_assert(ib_metadata_set(c.s, ENTRY, "v", &err) == CM_EPERM);
    fake_session_close(&c);
}

int main(void)
{
    th_run("get_set", test_get_set);
    th_run("without_metadata", test_without_metadata);
    return th_end();
}
