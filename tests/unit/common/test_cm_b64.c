/* test_cm_b64.c - base64url, base64 and hex against RFC 4648 §10, round
 * trips, and the inputs the decoders must refuse. */
#include <stdlib.h>
#include <string.h>

#include "common/cm_b64.h"
#include "harness/th.h"

#define N_ROWS(a) (sizeof(a) / sizeof((a)[0]))

/* RFC 4648 §10. base64url is the same text without padding. */
static const struct {
    const char *plain, *b64, *b64url, *hex;
} rfc[] = {
    { "", "", "", "" },
    { "f", "Zg==", "Zg", "66" },
    { "fo", "Zm8=", "Zm8", "666f" },
    { "foo", "Zm9v", "Zm9v", "666f6f" },
    { "foob", "Zm9vYg==", "Zm9vYg", "666f6f62" },
    { "fooba", "Zm9vYmE=", "Zm9vYmE", "666f6f6261" },
    { "foobar", "Zm9vYmFy", "Zm9vYmFy", "666f6f626172" },
};

static void test_rfc4648_vectors(void)
{
    for (size_t i = 0; i < N_ROWS(rfc); i++) {
        size_t n = strlen(rfc[i].plain), len = 99;
        char url[16], hex[32], *b64 = cm_b64_encode(rfc[i].plain, n);
        unsigned char *d;

        th_assert_idx(cm_b64url_encoded_len(n) == strlen(rfc[i].b64url), i);
        th_assert_idx(cm_b64url_encode(rfc[i].plain, n, url) == strlen(rfc[i].b64url), i);
        th_assert_idx(strcmp(url, rfc[i].b64url) == 0, i);
        th_assert_idx(b64 != NULL && strcmp(b64, rfc[i].b64) == 0, i);
        free(b64);
        cm_hex_encode(rfc[i].plain, n, hex);
        th_assert_idx(strcmp(hex, rfc[i].hex) == 0, i);

        d = cm_b64url_decode(rfc[i].b64url, strlen(rfc[i].b64url), &len);
        th_assert_idx(d != NULL && len == n && memcmp(d, rfc[i].plain, n) == 0 && d[n] == 0, i);
        free(d);
        len = 99;
        d = cm_b64_decode(rfc[i].b64, strlen(rfc[i].b64), &len);
        th_assert_idx(d != NULL && len == n && memcmp(d, rfc[i].plain, n) == 0 && d[n] == 0, i);
        free(d);
        len = 99; /* padding is optional for standard base64 */
        d = cm_b64_decode(rfc[i].b64url, strlen(rfc[i].b64url), &len);
        th_assert_idx(d != NULL && len == n && memcmp(d, rfc[i].plain, n) == 0, i);
        free(d);
        len = 99;
        d = cm_hex_decode(rfc[i].hex, strlen(rfc[i].hex), &len);
        th_assert_idx(d != NULL && len == n && memcmp(d, rfc[i].plain, n) == 0 && d[n] == 0, i);
        free(d);
    }
}

static void test_alphabets(void)
{
    static const unsigned char raw[] = { 0xfb, 0xff, 0xbf };
    char url[8], hex[8];
    char *b64 = cm_b64_encode(raw, 3);
    unsigned char *d;
    size_t len = 0;

    cm_b64url_encode(raw, 3, url);
    th_assert(strcmp(url, "-_-_") == 0);
    th_assert(b64 != NULL && strcmp(b64, "+/+/") == 0);
    free(b64);
    cm_hex_encode(raw, 3, hex);
    th_assert(strcmp(hex, "fbffbf") == 0);
    d = cm_hex_decode("FBffBf", 6, &len); /* upper case accepted */
    th_assert(d != NULL && len == 3 && memcmp(d, raw, 3) == 0);
    free(d);
    /* each decoder refuses the other alphabet */
    th_assert(cm_b64url_decode("+/+/", 4, &len) == NULL);
    th_assert(cm_b64_decode("-_-_", 4, &len) == NULL);
    /* srclen is honoured: bytes past it are not read */
    d = cm_b64url_decode("Zm9v!!!!", 4, &len);
    th_assert(d != NULL && len == 3 && memcmp(d, "foo", 3) == 0);
    free(d);
}

static void test_round_trips(void)
{
    unsigned char src[300], *d;
    char url[401], hex[601];

    srand(4648);
    for (size_t n = 0; n <= 300; n++) {
        size_t len = 0;
        char *b64;

        for (size_t i = 0; i < n; i++)
            src[i] = (unsigned char)rand();
        th_assert_idx(cm_b64url_encode(src, n, url) == cm_b64url_encoded_len(n), n);
        th_assert_idx(strlen(url) == cm_b64url_encoded_len(n), n);
        d = cm_b64url_decode(url, strlen(url), &len);
        th_assert_idx(d != NULL && len == n && memcmp(d, src, n) == 0, n);
        free(d);

        b64 = cm_b64_encode(src, n);
        th_assert_idx(b64 != NULL && strlen(b64) == (n + 2) / 3 * 4, n);
        d = b64 ? cm_b64_decode(b64, strlen(b64), &len) : NULL;
        th_assert_idx(d != NULL && len == n && memcmp(d, src, n) == 0, n);
        free(d);
        free(b64);

        cm_hex_encode(src, n, hex);
        th_assert_idx(strlen(hex) == 2 * n, n);
        d = cm_hex_decode(hex, 2 * n, &len);
        th_assert_idx(d != NULL && len == n && memcmp(d, src, n) == 0, n);
        free(d);
    }
}

static void test_rejects(void)
{
    static const struct {
        const char *text;
        int which; /* 1 base64url, 2 base64, 4 hex (bit mask) */
    } bad[] = {
        { "Zm9v Yg", 1 | 2 },  /* space */
        { "Zm9v\nYg", 1 | 2 }, /* newline */
        { "Zm9vYg.", 1 | 2 },  /* dot */
        { "Zm9vYg==", 1 },     /* padding on base64url */
        { "Zm8=", 1 },
        { "Zg=", 1 | 2 },      /* padding without a full quantum */
        { "Z===", 1 | 2 },     /* too much padding */
        { "Zg==Zm8=", 1 | 2 }, /* '=' inside */
        { "Zm=v", 1 | 2 },
        { "=Zm9", 1 | 2 },
        { "====", 1 | 2 },
        { "Z", 1 | 2 },        /* one symbol in the last quantum */
        { "Zm9vY", 1 | 2 },
        { "Zm9vY===", 1 | 2 },
        { "Zh", 1 | 2 },       /* non-canonical: stray low bits ("f" is "Zg") */
        { "Zh==", 2 },
        { "Zm9", 1 | 2 },      /* "fo" is "Zm8" */
        { "Zm9=", 2 },
        { "Zm\xc3\xa9v", 1 | 2 }, /* non-ASCII */
        { "6", 4 },            /* odd length */
        { "666", 4 },
        { "6g", 4 },           /* not a hex digit */
        { "0x66", 4 },
        { " 66", 4 },
        { "66\n", 4 },
    };

    for (size_t i = 0; i < N_ROWS(bad); i++) {
        const char *t = bad[i].text;
        size_t len = 12345;

        if (bad[i].which & 1)
            th_assert_idx(cm_b64url_decode(t, strlen(t), &len) == NULL, i);
        if (bad[i].which & 2)
            th_assert_idx(cm_b64_decode(t, strlen(t), &len) == NULL, i);
        if (bad[i].which & 4)
            th_assert_idx(cm_hex_decode(t, strlen(t), &len) == NULL, i);
        th_assert_idx(len == 12345, i); /* untouched on failure */
    }
}

/* Every symbol that leaves non-zero unused bits is refused; the one with
   zero bits is accepted. */
static void test_canonical_trailing_bits(void)
{
    static const char alpha[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    int accepted2 = 0, accepted3 = 0;

    for (int v = 0; v < 64; v++) {
        char two[3] = { 'Z', alpha[v], 0 }, three[4] = { 'Z', 'm', alpha[v], 0 };
        size_t len;
        unsigned char *d2 = cm_b64url_decode(two, 2, &len);
        unsigned char *d3 = cm_b64url_decode(three, 3, &len);

        th_assert_idx((d2 != NULL) == ((v & 15) == 0), v);
        th_assert_idx((d3 != NULL) == ((v & 3) == 0), v);
        accepted2 += d2 != NULL;
        accepted3 += d3 != NULL;
        free(d2);
        free(d3);
    }
    th_assert(accepted2 == 4 && accepted3 == 16);
}

static void test_encoded_len(void)
{
    static const size_t want[] = { 0, 2, 3, 4, 6, 7, 8, 10, 11, 12, 14 };

    for (size_t n = 0; n < N_ROWS(want); n++) {
        unsigned char zeros[10] = { 0 };
        char out[16];

        th_assert_idx(cm_b64url_encoded_len(n) == want[n], n);
        th_assert_idx(cm_b64url_encode(zeros, n, out) == want[n], n);
    }
}

int main(void)
{
    th_run("b64.rfc4648_vectors", test_rfc4648_vectors);
    th_run("b64.alphabets", test_alphabets);
    th_run("b64.round_trips", test_round_trips);
    th_run("b64.rejects", test_rejects);
    th_run("b64.canonical_trailing_bits", test_canonical_trailing_bits);
    th_run("b64.encoded_len", test_encoded_len);
    return th_end();
}
