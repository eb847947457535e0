/* test_ib_upstream.c - upstream URLs, credentials, account ids. */
#include <stdlib.h>
#include <string.h>

#include "common/cm_crypto.h"
#include "harness/th.h"
#include "imapbridge/ib_upstream.h"

struct url_row {
    const char *url;
    int rc;
    const char *host;
    unsigned int port;
    enum ib_tls_mode tls;
};

static const struct url_row urls[] = {
    { "imap://mail.example.org", 0, "mail.example.org", 143, IB_TLS_NONE },
    { "imap://mail.example.org:1143", 0, "mail.example.org", 1143, IB_TLS_NONE },
    { "imap://mail.example.org/", 0, "mail.example.org", 143, IB_TLS_NONE },
    { "imaps://mail.example.org", 0, "mail.example.org", 993, IB_TLS_IMPLICIT },
    { "IMAPS://Mail.Example.org:10993", 0, "Mail.Example.org", 10993, IB_TLS_IMPLICIT },
    { "imap+starttls://127.0.0.1", 0, "127.0.0.1", 143, IB_TLS_STARTTLS },
    { "imap://[::1]:1143", 0, "::1", 1143, IB_TLS_NONE },
    { "imaps://[2001:db8::5]", 0, "2001:db8::5", 993, IB_TLS_IMPLICIT },
    { "http://mail.example.org", CM_ECONFIG, NULL, 0, 0 },
    { "mail.example.org", CM_ECONFIG, NULL, 0, 0 },
    { "imap://", CM_ECONFIG, NULL, 0, 0 },
    { "imap://:143", CM_ECONFIG, NULL, 0, 0 },
    { "imap://host:0", CM_ECONFIG, NULL, 0, 0 },
    { "imap://host:65536", CM_ECONFIG, NULL, 0, 0 },
    { "imap://host:12a", CM_ECONFIG, NULL, 0, 0 },
    { "imap://host:", CM_ECONFIG, NULL, 0, 0 },
    { "imap://host:123456", CM_ECONFIG, NULL, 0, 0 },
    { "imap://user@host", CM_ECONFIG, NULL, 0, 0 },
    { "imap://host/INBOX", CM_ECONFIG, NULL, 0, 0 },
    { "imap://host?x=1", CM_ECONFIG, NULL, 0, 0 },
    { "imap://[::1", CM_ECONFIG, NULL, 0, 0 },
    { "imap://[::1]x", CM_ECONFIG, NULL, 0, 0 },
    { "imap://[]", CM_ECONFIG, NULL, 0, 0 },
    { "", CM_ECONFIG, NULL, 0, 0 },
};

static void test_urls(void)
{
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        struct ib_upstream up = { 0 };
        struct cm_err err = CM_ERR_INIT;
        int rc = ib_upstream_parse_url(urls[i].url, &up, &err);

        th_assert_idx(rc == urls[i].rc, i);
        if (rc == 0) {
            th_assert_idx(up.host != NULL && strcmp(up.host, urls[i].host) == 0, i);
            th_assert_idx(up.port == urls[i].port && up.tls == urls[i].tls, i);
            th_assert_idx(up.url != NULL && strcmp(up.url, urls[i].url) == 0, i);
        } else {
            th_assert_idx(err.code == CM_ECONFIG && err.msg[0] != '\0', i);
        }
        ib_upstream_fini(&up);
        th_assert_idx(up.host == NULL && up.url == NULL, i);
    }
}

static void test_reparse_keeps_fields(void)
{
    struct ib_upstream up = { 0 };
    struct cm_err err = CM_ERR_INIT;

    up.tls_verify = true;
    up.timeout_secs = 7;
    th_assert(ib_upstream_parse_url("imap://a", &up, &err) == 0);
    th_assert(ib_upstream_parse_url("imaps://b:995", &up, &err) == 0); /* no leak, replaced */
    th_assert(strcmp(up.host, "b") == 0 && up.port == 995 && up.tls_verify && up.timeout_secs == 7);
    ib_upstream_fini(&up);
}

static void test_account_id(void)
{
    struct ib_upstream a = { 0 }, b = { 0 };
    char id1[IB_ACCOUNT_ID_LEN + 1], id2[IB_ACCOUNT_ID_LEN + 1], id3[IB_ACCOUNT_ID_LEN + 1];
    struct cm_err err = CM_ERR_INIT;

    th_assert(ib_upstream_parse_url("imaps://mail.example.org", &a, &err) == 0);
    th_assert(ib_upstream_parse_url("imaps://other.example.org", &b, &err) == 0);
    ib_account_id(&a, "alice", id1);
    ib_account_id(&a, "alice", id2);
    th_assert(strlen(id1) == IB_ACCOUNT_ID_LEN && id1[0] == 'a');
    th_assert(strcmp(id1, id2) == 0);            /* stable */
    ib_account_id(&a, "bob", id3);
    th_assert(strcmp(id1, id3) != 0);            /* per user */
    ib_account_id(&b, "alice", id3);
    th_assert(strcmp(id1, id3) != 0);            /* per upstream */
    /* "url\nuser" framing: ("x", "y\nz") must not collide with ("x\ny", "z") */
    ib_account_id(&a, "alice\nx", id2);
    th_assert(strcmp(id1, id2) != 0);
    ib_upstream_fini(&a);
    ib_upstream_fini(&b);
}

static void test_creds(void)
{
    struct ib_creds cr = { 0 };

    th_assert(ib_creds_init(&cr, "alice", "pw", IB_AUTH_XOAUTH2) == 0);
    th_assert(strcmp(cr.username, "alice") == 0 && strcmp(cr.secret, "pw") == 0 &&
              cr.mech == IB_AUTH_XOAUTH2);
    ib_creds_fini(&cr);
    th_assert(cr.username == NULL && cr.secret == NULL);
    ib_creds_fini(&cr); /* twice is harmless */
}

int main(void)
{
    th_assert(cm_crypto_init() == 0);
    th_run("upstream URL table", test_urls);
    th_run("re-parse keeps other fields", test_reparse_keeps_fields);
    th_run("account id", test_account_id);
    th_run("credentials", test_creds);
    return th_end();
}
