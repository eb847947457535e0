/* test_gw_send.c - the pure parts of sending: Bcc removal, the MIME
 * builder (encoding, refusals), the per-account send rate limiter, the
 * identity address. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/gw_mime_build.h"
#include "gateway/gw_send.h"
#include "gateway/gw_settings.h"
#include "gateway/gw_submit.h"
#include "harness/th.h"

static void test_strip_bcc(void)
{
    static const struct {
        const char *in, *out;
    } t[] = {
        {"From: a@b\r\nBcc: x@y\r\nTo: c@d\r\n\r\nBcc: body stays\r\n",
         "From: a@b\r\nTo: c@d\r\n\r\nBcc: body stays\r\n"},
        {"BCC: x@y,\r\n  z@w\r\nSubject: s\n\nb", "Subject: s\n\nb"},
        {"Subject: s\r\nResent-Bcc: q@r\r\nBccx: keep\r\n\r\n", "Subject: s\r\nBccx: keep\r\n\r\n"},
        {"To: a@b\nBcc:\n\tfolded@x\n", "To: a@b\n"},
        {"", ""},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        char *out = NULL;
        size_t n = 0;

        th_assert_idx(gw_submit_strip_bcc(t[i].in, strlen(t[i].in), &out, &n) == 0, i);
        th_assert_idx(n == strlen(t[i].out) && strcmp(out, t[i].out) == 0, i);
        free(out);
    }
}

static struct gw_mime_msg base_msg(void)
{
    static const struct gw_mime_addr to[] = {{"Bob \"B\" Jones", "bob@example.org", NULL},
                                             {NULL, "carol@example.org", NULL}};
    struct gw_mime_msg m;

    memset(&m, 0, sizeof(m));
    m.from.email = "alice@example.org";
    m.from.name = "Alice";
    m.to = to;
    m.nto = 2;
    m.subject = "Hello";
    m.text = "line one\nline two";
    m.message_id = "<id1@example.org>";
    m.date = 0;
    return m;
}

static void test_mime_simple(void)
{
    struct gw_mime_msg m = base_msg();
    struct cm_err err = CM_ERR_INIT;
    char *out = NULL;
    size_t n = 0;

    th_assert(gw_mime_build(&m, &out, &n, &err) == 0);
    th_assert(strlen(out) == n);
    th_assert(strstr(out, "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n") == out);
    th_assert(strstr(out, "From: \"Alice\" <alice@example.org>\r\n") != NULL);
    th_assert(
        strstr(out, "To: \"Bob \\\"B\\\" Jones\" <bob@example.org>,\r\n <carol@example.org>\r\n"));
    th_assert(strstr(out, "Subject: Hello\r\nMessage-ID: <id1@example.org>\r\n") != NULL);
    th_assert(strstr(out,
                     "Content-Type: text/plain; charset=utf-8\r\n"
                     "Content-Transfer-Encoding: 7bit\r\n\r\nline one\r\nline two\r\n") != NULL);
    th_assert(strstr(out, "Bcc") == NULL);
    free(out);
}

static void test_mime_encoded_and_multipart(void)
{
    static const unsigned char bin[] = {0, 1, 2, 255};
    static const struct gw_mime_att att[] = {
        {"r\xc3\xa9sum\xc3\xa9.pdf", "application/pdf", bin, 4}};
    static const struct gw_mime_addr bcc[] = {{NULL, "dan@example.org", NULL}};
    struct gw_mime_msg m = base_msg();
    struct cm_err err = CM_ERR_INIT;
    char *out = NULL;
    size_t n = 0;

    m.subject = "Gr\xc3\xbc\xc3\x9f"
                "e";
    m.html = "<p>hi</p>";
    m.att = att;
    m.natt = 1;
    m.bcc = bcc;
    m.nbcc = 1;
    m.in_reply_to = "<p@x.org>";
    m.references = "<r@x.org> <p@x.org>";
    th_assert(gw_mime_build(&m, &out, &n, &err) == 0);
    th_assert(strstr(out, "Subject: =?UTF-8?B?R3LDvMOfZQ==?=\r\n") != NULL);
    th_assert(strstr(out, "Bcc: <dan@example.org>\r\n") != NULL);
    th_assert(strstr(out, "In-Reply-To: <p@x.org>\r\nReferences: <r@x.org> <p@x.org>\r\n"));
    th_assert(strstr(out, "Content-Type: multipart/mixed; boundary=\"=_jmapgate_mix_") != NULL);
    th_assert(strstr(out, "Content-Type: multipart/alternative; boundary=") != NULL);
    th_assert(strstr(out, "Content-Type: text/html; charset=utf-8") != NULL);
    th_assert(strstr(out, "attachment;\r\n filename*=utf-8''r%C3%A9sum%C3%A9.pdf\r\n\r\nAAEC/w==\r\n"));
    free(out);
}

static void test_mime_refusals(void)
{
    static const struct gw_mime_addr bad_to[] = {{NULL, "bob@example.org>\r\nRCPT TO:<x@y.z", NULL}};
    static const struct gw_mime_addr bad_name[] = {{"B\r\nBcc: x@y.z", "bob@example.org", NULL}};
    static const struct gw_mime_att bad_type[] = {
        {"a", "text/plain\r\nX: y", (const unsigned char *)"", 0}};
    struct cm_err err = CM_ERR_INIT;
    char *out = NULL;
    size_t n = 0;

    for (int i = 0; i < 8; i++) {
        struct gw_mime_msg m = base_msg();

        switch (i) {
        case 0: m.subject = "a\r\nBcc: x@y.z"; break;
        case 1:
            m.to = bad_to;
            m.nto = 1;
            break;
        case 2:
            m.to = bad_name;
            m.nto = 1;
            break;
        case 3: m.in_reply_to = "no-brackets@x"; break;
        case 4: m.references = "<a@b> junk"; break;
        case 5: m.text = NULL; break;
        case 6:
            m.att = bad_type;
            m.natt = 1;
            break;
        case 7: m.max_bytes = 100; break;
        }
        th_assert_idx(gw_mime_build(&m, &out, &n, &err) == (i == 7 ? CM_ELIMIT : CM_EINVAL), i);
        th_assert_idx(out == NULL, i);
    }
}

static void test_rate_and_identity(void)
{
    struct gw_settings set;
    struct gw_send *s = NULL;
    char email[256];
    uint64_t t = 1000000;

    memset(&set, 0, sizeof(set));
    th_assert(gw_send_new(&set, &s, NULL) == 0 && s == NULL); /* no smtp_url: disabled */
    set.smtp_url = (char *)"smtp+starttls://localhost:587";
    set.send_rate_limit = 3;
    set.smtp_timeout_secs = 5;
    th_assert(gw_send_new(&set, &s, NULL) == 0 && s != NULL);
    for (int i = 0; i < 3; i++)
        th_assert_idx(gw_send_rate_take(s, "a1", t) == 0, i);
    th_assert(gw_send_rate_take(s, "a1", t) == 20); /* one token per 20 s */
    th_assert(gw_send_rate_take(s, "a2", t) == 0);  /* another account */
    gw_send_rate_refund(s, "a1");
    th_assert(gw_send_rate_take(s, "a1", t) == 0);
    th_assert(gw_send_rate_take(s, "a1", t + 19000) > 0);
    th_assert(gw_send_rate_take(s, "a1", t + 20001) == 0);
    for (int i = 0; i < 100000; i++) { /* bounded table */
        char key[32];

        snprintf(key, sizeof(key), "k%d", i);
        (void)gw_send_rate_take(s, key, t);
    }
    gw_send_free(&s);
    th_assert(s == NULL);
    set.smtp_url = (char *)"imap://x";
    th_assert(gw_send_new(&set, &s, NULL) == CM_ECONFIG && s == NULL);

    th_assert(gw_send_identity_email(&set, "alice@example.org", email, sizeof(email)) == 0);
    th_assert(strcmp(email, "alice@example.org") == 0);
    th_assert(gw_send_identity_email(&set, "alice", email, sizeof(email)) == CM_ENOENT);
    set.mail_domain = (char *)"example.test";
    th_assert(gw_send_identity_email(&set, "alice", email, sizeof(email)) == 0);
    th_assert(strcmp(email, "alice@example.test") == 0);
    th_assert(gw_send_identity_email(&set, "al ice", email, sizeof(email)) == CM_ENOENT);
}

int main(void)
{
    th_run("strip_bcc", test_strip_bcc);
    th_run("mime_simple", test_mime_simple);
    th_run("mime_encoded_and_multipart", test_mime_encoded_and_multipart);
    th_run("mime_refusals", test_mime_refusals);
    th_run("rate_and_identity", test_rate_and_identity);
    return th_end();
}
