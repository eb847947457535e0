/* test_ib_smtp.c - the SMTP client: addresses, URLs, the XOAUTH2 message,
 * and whole exchanges against the scripted server (tests/harness/fake_imap,
 * matching whole lines): AUTH PLAIN, dot-stuffing and CRLF, a refused
 * recipient (RSET, no DATA), SIZE, 535, a missing STARTTLS. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/fake_imap.h"
#include "harness/th.h"
#include "imapbridge/ib_sasl.h"
#include "imapbridge/ib_smtp.h"

static void test_addr_valid(void)
{
    static const struct {
        const char *a;
        bool ok;
    } t[] = {
        {"alice@example.org", true},
        {"a@b", true},
        {"p\xc3\xa9r@example.org", true},
        {"", false},
        {"alice", false},
        {"@example.org", false},
        {"alice@", false},
        {"a@b@c", false},
        {"alice@example.org\r\nRSET", false},
        {"a b@c", false},
        {"<a@b>", false},
        {"a@b>", false},
        {"a\"b@c", false},
        {"a@b\x7f", false},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        th_assert_idx(ib_smtp_addr_valid(t[i].a) == t[i].ok, i);
    th_assert(!ib_smtp_addr_valid(NULL));
}

static void test_parse_url(void)
{
    static const struct {
        const char *url;
        int rc;
        const char *host;
        unsigned int port;
        enum ib_tls_mode tls;
    } t[] = {
        {"smtp+starttls://mail.example.org", 0, "mail.example.org", 587, IB_TLS_STARTTLS},
        {"smtps://mail.example.org:2465", 0, "mail.example.org", 2465, IB_TLS_IMPLICIT},
        {"SMTPS://h", 0, "h", 465, IB_TLS_IMPLICIT},
        {"smtp://[::1]", 0, "::1", 25, IB_TLS_NONE},
        {"smtp://[::1]:2525/", 0, "::1", 2525, IB_TLS_NONE},
        {"imap://h", CM_ECONFIG, NULL, 0, IB_TLS_NONE},
        {"smtp://h:0", CM_ECONFIG, NULL, 0, IB_TLS_NONE},
        {"smtp://user@h", CM_ECONFIG, NULL, 0, IB_TLS_NONE},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct ib_smtp_server s = {0};
        int rc = ib_smtp_parse_url(t[i].url, &s, NULL);

        th_assert_idx(rc == t[i].rc, i);
        if (rc == 0) {
            th_assert_idx(strcmp(s.host, t[i].host) == 0, i);
            th_assert_idx(s.port == t[i].port && s.tls == t[i].tls, i);
        }
        ib_smtp_server_fini(&s);
    }
}

static void test_xoauth2_message(void)
{
    char *m = ib_smtp_xoauth2_message("u@x", "tok");

    /* base64 of "user=u@x\1auth=Bearer tok\1\1" */
    th_assert(m != NULL && strcmp(m, "dXNlcj11QHgBYXV0aD1CZWFyZXIgdG9rAQE=") == 0);
    ib_sasl_free_secret(m);
}

static struct ib_smtp_server server_for(struct fake_imap *f, enum ib_tls_mode tls)
{
    struct ib_smtp_server s = {0};

    s.host = (char *)"127.0.0.1";
    s.port = fake_imap_port(f);
    s.tls = tls;
    s.timeout_secs = 5;
    return s;
}

static struct ib_creds creds(void)
{
    struct ib_creds cr = {(char *)"alice", (char *)"secret", IB_AUTH_LOGIN, {"", 0, ""}};

    return cr;
}

#define GREETING FI_SEND("220 fake ESMTP\r\n"), FI_EXPECT("^EHLO jmapgate")

static void test_send_dot_stuffing(void)
{
    static const struct fake_imap_step script[] = {
        GREETING,
        FI_SEND("250-fake\r\n250-AUTH LOGIN PLAIN\r\n250 SIZE 100000\r\n"),
        FI_EXPECT("^AUTH PLAIN AGFsaWNlAHNlY3JldA=="), /* \0alice\0secret */
        FI_SEND("235 ok\r\n"),
        FI_EXPECT("^MAIL FROM:<alice@example.org> SIZE=30"),
        FI_SEND("250 ok\r\n"),
        FI_EXPECT("^RCPT TO:<bob@example.org>"),
        FI_SEND("250 ok\r\n"),
        FI_EXPECT("^DATA"),
        FI_SEND("354 go\r\n"),
        FI_EXPECT("^Subject: x"),
        FI_EXPECT("^"),
        FI_EXPECT("^..one"),
        FI_EXPECT("^two"),
        FI_EXPECT("^.."),
        FI_EXPECT("^three"),
        FI_EXPECT("^."),
        FI_SEND("250 queued\r\n"),
        FI_EXPECT("^QUIT"),
        FI_SEND("221 bye\r\n"),
        FI_CLOSE,
    };
    static const char msg[] = "Subject: x\n\n.one\r\ntwo\n.\r\nthree"; /* no final line end */
    const char *rcpt[] = {"bob@example.org"};
    struct fake_imap *f = fake_imap_start(script);
    struct ib_smtp_server s = server_for(f, IB_TLS_NONE);
    struct ib_creds cr = creds();
    struct ib_smtp_result res = {0};
    struct cm_err err = CM_ERR_INIT;

    th_assert(ib_smtp_send(&s, &cr, "alice@example.org", rcpt, 1, msg, strlen(msg), &res, &err) ==
              0);
    th_assert(res.stage == IB_SMTP_DONE && res.code == 250 && res.size_limit == 100000);
    th_assert(fake_imap_failures(f) == 0);
    if (fake_imap_failures(f))
        fprintf(stderr, "%s\n", fake_imap_error(f));
    fake_imap_stop(&f);
}

static void test_refused_recipient(void)
{
    static const struct fake_imap_step script[] = {
        GREETING,
        FI_SEND("250 fake\r\n"), /* no AUTH offered: none sent */
        FI_EXPECT("^MAIL FROM:<alice@example.org>"),
        FI_SEND("250 ok\r\n"),
        FI_EXPECT("^RCPT TO:<bob@example.org>"),
        FI_SEND("250 ok\r\n"),
        FI_EXPECT("^RCPT TO:<carol@example.org>"),
        FI_SEND("550 5.1.1 no such user\r\n"),
        FI_EXPECT("^RCPT TO:<dan@example.org>"),
        FI_SEND("250 ok\r\n"),
        FI_EXPECT("^RSET"),
        FI_SEND("250 ok\r\n"),
        FI_EXPECT("^QUIT"),
        FI_SEND("221 bye\r\n"),
        FI_CLOSE,
    };
    const char *rcpt[] = {"bob@example.org", "carol@example.org", "dan@example.org"};
    bool rejected[3] = {false, false, false};
    struct fake_imap *f = fake_imap_start(script);
    struct ib_smtp_server s = server_for(f, IB_TLS_NONE);
    struct ib_creds cr = creds();
    struct ib_smtp_result res = {.rejected = rejected};
    struct cm_err err = CM_ERR_INIT;

    th_assert(ib_smtp_send(&s, &cr, "alice@example.org", rcpt, 3, "S: x\r\n\r\nb", 9, &res, &err) ==
              CM_EUPSTREAM);
    th_assert(res.stage == IB_SMTP_RCPT && res.code == 550 && res.nrejected == 1);
    th_assert(!rejected[0] && rejected[1] && !rejected[2]);
    th_assert(fake_imap_failures(f) == 0);
    fake_imap_stop(&f);
}

static void test_size_and_auth_refusals(void)
{
    static const struct fake_imap_step big[] = {
        GREETING, FI_SEND("250-fake\r\n250 SIZE 5\r\n"), FI_EXPECT("^QUIT"), FI_SEND("221 bye\r\n"),
        FI_CLOSE,
    };
    static const struct fake_imap_step refused[] = {
        GREETING,
        FI_SEND("250-fake\r\n250 AUTH=LOGIN\r\n"),
        FI_EXPECT("^AUTH LOGIN"),
        FI_SEND("334 VXNlcm5hbWU6\r\n"),
        FI_EXPECT("^YWxpY2U="),
        FI_SEND("334 UGFzc3dvcmQ6\r\n"),
        FI_EXPECT("^c2VjcmV0"),
        FI_SEND("535 5.7.8 bad\r\n"),
        FI_EXPECT("^QUIT"),
        FI_SEND("221 bye\r\n"),
        FI_CLOSE,
    };
    const char *rcpt[] = {"bob@example.org"};
    struct ib_creds cr = creds();
    struct ib_smtp_result res = {0};
    struct cm_err err = CM_ERR_INIT;
    struct fake_imap *f = fake_imap_start(big);
    struct ib_smtp_server s = server_for(f, IB_TLS_NONE);

    th_assert(ib_smtp_send(&s, &cr, "a@b.c", rcpt, 1, "0123456789", 10, &res, &err) == CM_ELIMIT);
    th_assert(res.size_limit == 5 && fake_imap_failures(f) == 0);
    fake_imap_stop(&f);
    f = fake_imap_start(refused);
    s = server_for(f, IB_TLS_NONE);
    th_assert(ib_smtp_send(&s, &cr, "a@b.c", rcpt, 1, "x", 1, &res, &err) == CM_EAUTH);
    th_assert(res.stage == IB_SMTP_AUTH && res.code == 535);
    th_assert(strstr(err.msg, "secret") == NULL);
    th_assert(fake_imap_failures(f) == 0);
    fake_imap_stop(&f);
}

static void test_starttls_required_and_bad_input(void)
{
    static const struct fake_imap_step script[] = {
        GREETING,           FI_SEND("250-fake\r\n250 AUTH PLAIN\r\n"),
        FI_EXPECT("^QUIT"), FI_SEND("221 bye\r\n"),
        FI_CLOSE,
    };
    const char *rcpt[] = {"bob@example.org"};
    const char *bad[] = {"bob@example.org\r\nRCPT TO:<x@y.z>"};
    struct ib_creds cr = creds();
    struct ib_smtp_result res = {0};
    struct cm_err err = CM_ERR_INIT;
    struct fake_imap *f = fake_imap_start(script);
    struct ib_smtp_server s = server_for(f, IB_TLS_STARTTLS);

    th_assert(ib_smtp_send(&s, &cr, "a@b.c", rcpt, 1, "x", 1, &res, &err) == CM_EUNAVAIL);
    th_assert(res.stage == IB_SMTP_TLS && strstr(err.msg, "STARTTLS") != NULL);
    th_assert(fake_imap_failures(f) == 0);
    /* nothing is sent for a bad address or no recipients */
    th_assert(ib_smtp_send(&s, &cr, "a@b.c", bad, 1, "x", 1, &res, &err) == CM_EINVAL);
    th_assert(ib_smtp_send(&s, &cr, "a@b.c\n", rcpt, 1, "x", 1, &res, &err) == CM_EINVAL);
    th_assert(ib_smtp_send(&s, &cr, "a@b.c", rcpt, 0, "x", 1, &res, &err) == CM_EINVAL);
    th_assert(fake_imap_connections(f) == 1);
    fake_imap_stop(&f);
}

int main(void)
{
    th_run("addr_valid", test_addr_valid);
    th_run("parse_url", test_parse_url);
    th_run("xoauth2_message", test_xoauth2_message);
    th_run("send_dot_stuffing", test_send_dot_stuffing);
    th_run("refused_recipient", test_refused_recipient);
    th_run("size_and_auth_refusals", test_size_and_auth_refusals);
    th_run("starttls_required_and_bad_input", test_starttls_required_and_bad_input);
    return th_end();
}
