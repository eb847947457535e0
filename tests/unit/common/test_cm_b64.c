/* test_cm_b64.c - base64url, base64 and hex: vectors, round trips, strictness. */
#include "common/cm_b64.h"

#include <stdlib.h>
#include <string.h>

#include "harness/th.h"

/* RFC 4648 §10 vectors. */
static const struct {
    const char *raw, *b64, *url;
} vectors[] = {
    { "", "", "" },
    { "f", "Zg==", "Zg" },
    { "fo", "Zm8=", "Zm8" },
    { "foo", "Zm9v", "Zm9v" },
    { "foob", "Zm9vYg==", "Zm9vYg" },
    { "fooba", "Zm9vYmE=", "Zm9vYmE" },
    { "foobar", "Zm9vYmFy", "Zm9vYmFy" },
};

static void test_vectors(void)
{
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        size_t n = strlen(vectors[i].raw), len = 99;
        char url[16];
        char *b64 = cm_b64_encode(vectors[i].raw, n);
        unsigned char *d;

        th_assert_idx(cm_b64url_encoded_len(n) == strlen(vectors[i].url), i);
        th_assert_idx(cm_b64url_encode(vectors[i].raw, n, url) == strlen(vectors[i].url), i);
        th_assert_idx(strcmp(url, vectors[i].url) == 0, i);
        th_assert_idx(b64 != NULL && strcmp(b64, vectors[i].b64) == 0, i);
        free(b64);
        d = cm_b64url_decode(vectors[i].url, strlen(vectors[i].url), &len);
        th_assert_idx(d != NULL && len == n && memcmp(d, vectors[i].raw, n) == 0, i);
        th_assert_idx(d != NULL && d[len] == '\0', i);
        free(d);
        d = cm_b64_decode(vectors[i].b64, strlen(vectors[i].b64), &len);
        th_assert_idx(d != NULL && len == n && memcmp(d, vectors[i].raw, n) == 0, i);
        free(d);
        /* Standard base64 also accepts the unpadded form. */
        d = cm_b64_decode(vectors[i].url, strlen(vectors[i].url), &len);
        th_assert_idx(d != NULL && len == n, i);
        free(d);
    }
}

static void test_url_alphabet(void)
{
    const unsigned char raw[] = { 0xfb, 0xff, 0xbf };
    char url[8];
    char *b64 = cm_b64_encode(raw, sizeof(raw));
    unsigned char *d;
    size_t len = 0;

    cm_b64url_encode(raw, sizeof(raw), url);
    th_assert(strcmp(url, "-_-_") == 0);
    th_assert(b64 != NULL && strcmp(b64, "+/+/") == 0);
    free(b64);
    d = cm_b64url_decode("-_-_", 4, &len);
    th_assert(d != NULL && len == 3 && memcmp(d, raw, 3) == 0);
    free(d);
    /* Each decoder refuses the other alphabet. */
    th_assert(cm_b64url_decode("+/+/", 4, &len) == NULL);
    th_assert(cm_b64_decode("-_-_", 4, &len) == NULL);
}

static void test_url_rejects(void)
{
    static const char *const bad[] = {
        "Zg==",  /* padding not allowed in base64url */
        "Z",     /* impossible length */
        "Zm9vY", /* 5 chars: impossible length */
        "Zh",    /* non-zero trailing bits: not canonical */
        "Zm9v Yg", "Zm9v\nYg", "Zm9v+g", "Zm9v/g", "Zm9v.g", "Zm\x80v",
    };
    size_t len;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        th_assert_idx(cm_b64url_decode(bad[i], strlen(bad[i]), &len) == NULL, i);
    /* An embedded NUL inside the given length is a bad character. */
    th_assert(cm_b64url_decode("Zm\0v", 4, &len) == NULL);
}

static void test_std_rejects(void)
{
    static const char *const bad[] = {
        "Zg=",   /* padding must complete a quantum */
        "Zg===", "Z===", "====", "=", "Zm9=v", "Zm=v", "Zg==Zg==", "Zm9v\r\n",
        "Zh==",  /* non-zero trailing bits */
        "Zm9vYg=A",
    };
    size_t len;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        th_assert_idx(cm_b64_decode(bad[i], strlen(bad[i]), &len) == NULL, i);
}

static void test_binary_round_trip(void)
{
    unsigned char raw[256];

    for (size_t i = 0; i < sizeof(raw); i++)
        raw[i] = (unsigned char)(255 - i);
    for (size_t n = 0; n <= sizeof(raw); n += 37) {
        char url[400];
        char *b64 = cm_b64_encode(raw, n);
        unsigned char *a, *b;
        size_t la = 0, lb = 0;

        cm_b64url_encode(raw, n, url);
        a = cm_b64url_decode(url, strlen(url), &la);
        b = b64 ? cm_b64_decode(b64, strlen(b64), &lb) : NULL;
        th_assert_idx(a != NULL && la == n && memcmp(a, raw, n) == 0, n);
        th_assert_idx(b != NULL && lb == n && memcmp(b, raw, n) == 0, n);
        free(a);
        free(b);
        free(b64);
    }
}

static void test_hex(void)
{
    const unsigned char raw[] = { 0x00, 0x7f, 0xab, 0xff };
    char hex[9];
    unsigned char *d;
    size_t len = 0;

    cm_hex_encode(raw, sizeof(raw), hex);
    th_assert(strcmp(hex, "007fabff") == 0);
    d = cm_hex_decode("007FabfF", 8, &len);
    th_assert(d != NULL && len == 4 && memcmp(d, raw, 4) == 0);
    free(d);
    d = cm_hex_decode("", 0, &len);
    th_assert(d != NULL && len == 0);
    free(d);
    th_assert(cm_hex_decode("abc", 3, &len) == NULL);
    th_assert(cm_hex_decode("0g", 2, &len) == NULL);
    th_assert(cm_hex_decode(" 0", 2, &len) == NULL);
    th_assert(cm_hex_decode("0x00", 4, &len) == NULL);
}

int main(void)
{
    th_run("b64 RFC 4648 vectors", test_vectors);
    th_run("b64url alphabet", test_url_alphabet);
    th_run("b64url rejects bad text", test_url_rejects);
    th_run("b64 rejects bad text", test_std_rejects);
    th_run("b64 binary round trip", test_binary_round_trip);
    th_run("hex", test_hex);
    return th_end();
}
