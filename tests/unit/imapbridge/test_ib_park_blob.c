/* test_ib_park_blob.c - parked blob ids, the base64 wrapper (fed in every
   chunking), unwrapping in place, and the message check of Email/import. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm_crypto.h"
#include "harness/th.h"
#include "imapbridge/ib_park_blob.h"

static const unsigned char key[32] = "park-key-park-key-park-key-park";
static const unsigned char other[32] = "other-key-other-key-other-key-o";

static struct ib_park_ref sample(void)
{
    struct ib_park_ref r = {.uidvalidity = 1700000001u,
                            .uid = 4294967295u,
                            .size = 5000000000ull,
                            .created = 1765000000};

    memcpy(r.account, "aABCDEFGHIJKLMNOP", IB_ACCOUNT_ID_LEN + 1);
    snprintf(r.type, sizeof(r.type), "%s", "image/png; name=x.png");
    return r;
}

static void test_token(void)
{
    struct ib_park_ref r = sample(), back;
    char *id = ib_park_blob_id(key, &r);

    th_assert(id != NULL);
    th_assert(ib_park_blob_parse(key, id, &back) == 0);
    th_assert(back.uidvalidity == r.uidvalidity && back.uid == r.uid && back.size == r.size);
    th_assert(back.created == r.created && strcmp(back.account, r.account) == 0);
    th_assert(strcmp(back.type, r.type) == 0);
    th_assert(ib_park_blob_parse(other, id, &back) == CM_EINVAL); /* another secret */
    id[strlen(id) - 3] = id[strlen(id) - 3] == 'A' ? 'B' : 'A';   /* altered */
    th_assert(ib_park_blob_parse(key, id, &back) == CM_EINVAL);
    free(id);
    th_assert(ib_park_blob_parse(key, "", &back) == CM_EINVAL);
    th_assert(ib_park_blob_parse(key, "nope", &back) == CM_EINVAL);
    th_assert(ib_park_blob_parse(key, NULL, &back) == CM_EINVAL);
    /* a message blob id (another kind) is not a parked one */
    snprintf(r.type, sizeof(r.type), "%s", "text/plain\r\nX: y");
    th_assert(ib_park_blob_id(key, &r) == NULL);
    r.type[0] = '\0';
    th_assert(ib_park_blob_id(key, &r) == NULL);
}

static void test_type_and_expiry(void)
{
    struct ib_park_ref r = sample();
    char long_type[300];

    th_assert(ib_park_type_ok("message/rfc822"));
    th_assert(!ib_park_type_ok("a\"b"));
    th_assert(!ib_park_type_ok("a\\b"));
    th_assert(!ib_park_type_ok("a\x7f"));
    memset(long_type, 'a', sizeof(long_type) - 1);
    long_type[sizeof(long_type) - 1] = '\0';
    th_assert(!ib_park_type_ok(long_type));
    th_assert(!ib_park_expired(&r, r.created, 3600));
    th_assert(!ib_park_expired(&r, r.created + 3599, 3600));
    th_assert(ib_park_expired(&r, r.created + 3600, 3600));
    th_assert(ib_park_expired(&r, r.created - 1000, 3600)); /* from the future: refused */
}

/* Wrap data fed in chunks of `step`, check the shape, unwrap, compare. */
static void roundtrip(const unsigned char *data, size_t n, size_t step)
{
    struct cm_buf out;
    struct ib_park_wrap w;
    char *body;
    size_t len = 0;

    cm_buf_init(&out, ib_park_wrapped_size(n));
    th_assert(ib_park_wrap_begin(&w, &out, 1765000000) == 0);
    for (size_t i = 0; i < n; i += step)
        th_assert(ib_park_wrap_feed(&w, data + i, n - i < step ? n - i : step) == 0);
    th_assert(ib_park_wrap_end(&w) == 0);
    th_assert(w.size == n);
    th_assert(out.len <= ib_park_wrapped_size(n));
    th_assert(strstr(out.data, "Content-Transfer-Encoding: base64\r\n") != NULL);
    body = strstr(out.data, "\r\n\r\n");
    th_assert(body != NULL);
    body += 4;
    for (char *p = body; *p; p++) { /* lines of at most 76 characters, CRLF */
        char *nl = strstr(p, "\r\n");

        th_assert(nl != NULL && nl - p <= IB_PARK_LINE);
        p = nl + 1;
    }
    th_assert(ib_park_unwrap(body, strlen(body), &len) == 0);
    th_assert(len == n && memcmp(body, data, n) == 0);
    cm_buf_fini(&out);
}

static void test_wrap(void)
{
    unsigned char data[1000];
    size_t steps[] = {1, 2, 3, 4, 7, 57, 1000};

    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (unsigned char)(i * 7 + (i >> 3)); /* NULs, CR, LF, 8-bit */
    for (size_t n = 0; n < 8; n++)
        roundtrip(data, n, 1);
    for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++)
        roundtrip(data, sizeof(data), steps[k]);
}

static void test_wrap_cap(void)
{
    struct cm_buf out;
    struct ib_park_wrap w;
    unsigned char big[4096] = {0};

    cm_buf_init(&out, 1024);
    th_assert(ib_park_wrap_begin(&w, &out, 0) == 0);
    th_assert(ib_park_wrap_feed(&w, big, sizeof(big)) == CM_ELIMIT);
    cm_buf_fini(&out);
}

static void test_unwrap_junk(void)
{
    char a[] = "QUJD\r\nREVG\r\n", b[] = "QU!D", c[] = "QQ==QQ==", d[] = "Q";
    size_t len = 0;

    th_assert(ib_park_unwrap(a, strlen(a), &len) == 0 && len == 6 && memcmp(a, "ABCDEF", 6) == 0);
    th_assert(ib_park_unwrap(b, strlen(b), &len) == CM_EINVAL);
    th_assert(ib_park_unwrap(c, strlen(c), &len) == CM_EINVAL);
    th_assert(ib_park_unwrap(d, strlen(d), &len) == CM_EINVAL);
}

static void test_is_message(void)
{
    static const struct {
        const char *text;
        size_t len; /* 0: strlen */
        bool ok;
    } cases[] = {
        {"From: a@b\r\nSubject: x\r\n\r\nbody\r\n", 0, true},
        {"Subject: x\n\tfolded\n\nbody", 0, true},
        {"Subject: only a header", 0, true},
        {"X-Empty:\r\n\r\n", 0, true},
        {"From a@b Mon Jan 1\nSubject: mbox line first\n\n", 0, false},
        {"\r\n\r\nbody only", 0, false},
        {" continuation first: x\r\n\r\n", 0, false},
        {": no name\r\n\r\n", 0, false},
        {"hello world", 0, false},
        {"Subject: x\r\ngarbage line\r\n\r\n", 0, false},
        {"Subject: a\0b\r\n\r\n", 16, false},
        {"", 0, false},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = cases[i].len ? cases[i].len : strlen(cases[i].text);

        th_assert(ib_park_is_message(cases[i].text, n) == cases[i].ok);
    }
    th_assert(ib_park_imap_size("a\r\nb\nc\n", 7) == 9);
    th_assert(ib_park_imap_size("\n", 1) == 2);
    th_assert(ib_park_imap_size("ab", 2) == 2);
}

int main(void)
{
    th_assert(cm_crypto_init() == 0);
    th_run("token", test_token);
    th_run("type_and_expiry", test_type_and_expiry);
    th_run("wrap", test_wrap);
    th_run("wrap_cap", test_wrap_cap);
    th_run("unwrap_junk", test_unwrap_junk);
    th_run("is_message", test_is_message);
    return th_end();
}
