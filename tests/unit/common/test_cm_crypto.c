/* test_cm_crypto.c - SHA-256, HMAC-SHA256 (RFC 4231), HKDF (RFC 5869) and
 * AES-256-GCM seal/open against tampering. */
#include <stdlib.h>
#include <string.h>

#include "common/cm_b64.h"
#include "common/cm_crypto.h"
#include "common/cm_err.h"
#include "harness/th.h"

#define N_ROWS(a) (sizeof(a) / sizeof((a)[0]))

static void hex_of(const unsigned char *p, size_t n, char *out) { cm_hex_encode(p, n, out); }

static void test_sha256(void)
{
    static const struct {
        const char *msg, *hex;
    } rows[] = {
        { "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
        { "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
        { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
    };

    th_assert(cm_crypto_init() == 0);
    th_assert(cm_crypto_init() == 0); /* idempotent */
    for (size_t i = 0; i < N_ROWS(rows); i++) {
        unsigned char md[CM_SHA256_LEN];
        char hex[2 * CM_SHA256_LEN + 1];

        th_assert_idx(cm_sha256(rows[i].msg, strlen(rows[i].msg), md) == 0, i);
        hex_of(md, sizeof(md), hex);
        th_assert_idx(strcmp(hex, rows[i].hex) == 0, i);
    }
}

/* RFC 4231 §4.2-4.5 and 4.7 (4.6 truncates the output, which we don't). */
static void test_hmac_rfc4231(void)
{
    unsigned char k1[20], k3[20], k4[25], k6[131], d3[50], d4[50];
    static const char h1[] = "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7";
    static const char h2[] = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
    static const char h3[] = "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe";
    static const char h4[] = "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b";
    static const char h6[] = "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54";
    static const char m6[] = "Test Using Larger Than Block-Size Key - Hash Key First";

    memset(k1, 0x0b, sizeof(k1));
    memset(k3, 0xaa, sizeof(k3));
    memset(d3, 0xdd, sizeof(d3));
    for (size_t i = 0; i < sizeof(k4); i++)
        k4[i] = (unsigned char)(i + 1);
    memset(d4, 0xcd, sizeof(d4));
    memset(k6, 0xaa, sizeof(k6));
    {
        const struct {
            const void *key;
            size_t klen;
            const void *msg;
            size_t mlen;
            const char *hex;
        } rows[] = {
            { k1, sizeof(k1), "Hi There", 8, h1 },
            { "Jefe", 4, "what do ya want for nothing?", 28, h2 },
            { k3, sizeof(k3), d3, sizeof(d3), h3 },
            { k4, sizeof(k4), d4, sizeof(d4), h4 },
            { k6, sizeof(k6), m6, strlen(m6), h6 },
        };

        for (size_t i = 0; i < N_ROWS(rows); i++) {
            unsigned char mac[CM_SHA256_LEN];
            char hex[2 * CM_SHA256_LEN + 1];

            th_assert_idx(
                cm_hmac_sha256(rows[i].key, rows[i].klen, rows[i].msg, rows[i].mlen, mac) == 0, i);
            hex_of(mac, sizeof(mac), hex);
            th_assert_idx(strcmp(hex, rows[i].hex) == 0, i);
        }
    }
}

/* RFC 5869 A.3: salt and info both empty, which is what cm_hkdf_sha256 does
   with info "". */
static void test_hkdf_rfc5869(void)
{
    static const char okm_hex[] = "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c73"
                                  "8d2d9d201395faa4b61a96c8";
    unsigned char ikm[22], okm[42], a[32], b[32];
    char hex[2 * sizeof(okm) + 1];

    memset(ikm, 0x0b, sizeof(ikm));
    memset(okm, 0, sizeof(okm));
    th_assert(cm_hkdf_sha256(ikm, sizeof(ikm), "", okm, sizeof(okm)) == 0);
    hex_of(okm, sizeof(okm), hex);
    th_assert(strcmp(hex, okm_hex) == 0);

    /* different labels give unrelated keys; the same label is stable */
    th_assert(cm_hkdf_sha256(ikm, sizeof(ikm), "label a", a, sizeof(a)) == 0);
    th_assert(cm_hkdf_sha256(ikm, sizeof(ikm), "label b", b, sizeof(b)) == 0);
    th_assert(memcmp(a, b, sizeof(a)) != 0);
    th_assert(cm_hkdf_sha256(ikm, sizeof(ikm), "label a", b, sizeof(b)) == 0);
    th_assert(memcmp(a, b, sizeof(a)) == 0);
    /* a shorter output is a prefix of the longer one (RFC 5869 T(1)...) */
    th_assert(cm_hkdf_sha256(ikm, sizeof(ikm), "", b, 16) == 0);
    th_assert(memcmp(b, okm, 16) == 0);
}

static const unsigned char key[32] = "0123456789abcdef0123456789abcde";
static const unsigned char other_key[32] = "0123456789abcdef0123456789abcdX";

static void test_seal_round_trip(void)
{
    static const char pt[] = "{\"u\":\"alice\",\"p\":\"hunter2\",\"m\":0}";
    unsigned char *blob = NULL, *blob2 = NULL, *out = NULL;
    size_t blen = 0, blen2 = 0, olen = 0;

    th_assert(cm_seal(key, 7, "alice", 5, pt, strlen(pt), &blob, &blen) == 0);
    th_assert(blob != NULL && blen == strlen(pt) + CM_SEAL_OVERHEAD);
    th_assert(blob != NULL && blob[0] == 1 && blob[1] == 7);
    th_assert(blob != NULL && memmem(blob, blen, "hunter2", 7) == NULL);
    th_assert(cm_open(key, "alice", 5, blob, blen, &out, &olen) == 0);
    th_assert(out != NULL && olen == strlen(pt) && memcmp(out, pt, olen) == 0 && out[olen] == 0);
    free(out);
    /* a fresh nonce each time */
    th_assert(cm_seal(key, 7, "alice", 5, pt, strlen(pt), &blob2, &blen2) == 0);
    th_assert(blen2 == blen && memcmp(blob + 2, blob2 + 2, 12) != 0);
    th_assert(memcmp(blob, blob2, blen) != 0);
    free(blob2);
    free(blob);

    /* empty plaintext and empty aad */
    th_assert(cm_seal(key, 1, NULL, 0, "", 0, &blob, &blen) == 0);
    th_assert(blen == CM_SEAL_OVERHEAD);
    out = NULL;
    th_assert(cm_open(key, NULL, 0, blob, blen, &out, &olen) == 0);
    th_assert(out != NULL && olen == 0 && out[0] == 0);
    free(out);
    out = NULL;
    th_assert(cm_open(key, "x", 1, blob, blen, &out, &olen) == CM_EAUTH && out == NULL);
    free(blob);
}

static void test_seal_refusals(void)
{
    static const char pt[] = "secret credentials";
    unsigned char *blob = NULL, *out = NULL;
    size_t blen = 0, olen = 0;
    int flips = 0;

    if (cm_seal(key, 1, "alice", 5, pt, strlen(pt), &blob, &blen) != 0) {
        th_assert(!"seal failed");
        return;
    }
    th_assert(cm_open(key, "alicf", 5, blob, blen, &out, &olen) == CM_EAUTH && out == NULL);
    th_assert(cm_open(key, "alice", 4, blob, blen, &out, &olen) == CM_EAUTH && out == NULL);
    th_assert(cm_open(key, "alice!", 6, blob, blen, &out, &olen) == CM_EAUTH && out == NULL);
    th_assert(cm_open(key, NULL, 0, blob, blen, &out, &olen) == CM_EAUTH && out == NULL);
    th_assert(cm_open(other_key, "alice", 5, blob, blen, &out, &olen) == CM_EAUTH && out == NULL);

    /* every single bit, header and tag included */
    for (size_t bit = 0; bit < blen * 8; bit++) {
        int want = bit < 8 ? CM_EINVAL : CM_EAUTH; /* byte 0 is the version */

        blob[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        th_assert_idx(cm_open(key, "alice", 5, blob, blen, &out, &olen) == want && out == NULL,
                      bit);
        blob[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        flips++;
    }
    th_assert(flips == (int)blen * 8);

    /* every truncation, and one extra byte */
    for (size_t n = 0; n < blen; n++) {
        int rc = cm_open(key, "alice", 5, blob, n, &out, &olen);

        th_assert_idx((n < CM_SEAL_OVERHEAD ? rc == CM_EINVAL : rc == CM_EAUTH) && out == NULL, n);
    }
    {
        unsigned char *longer = malloc(blen + 1);

        memcpy(longer, blob, blen);
        longer[blen] = 0;
        th_assert(cm_open(key, "alice", 5, longer, blen + 1, &out, &olen) == CM_EAUTH);
        free(longer);
    }

    /* other versions */
    for (int v = 0; v < 256; v++) {
        if (v == 1)
            continue;
        blob[0] = (unsigned char)v;
        th_assert_idx(cm_open(key, "alice", 5, blob, blen, &out, &olen) == CM_EINVAL, v);
    }
    blob[0] = 1;
    th_assert(cm_open(key, "alice", 5, blob, blen, &out, &olen) == 0);
    free(out);
    free(blob);
}

static void test_memeq_ct(void)
{
    th_assert(cm_memeq_ct("abcd", "abcd", 4) == 0);
    th_assert(cm_memeq_ct("abcd", "abce", 4) != 0);
    th_assert(cm_memeq_ct("xbcd", "abcd", 4) != 0);
    th_assert(cm_memeq_ct("abcd", "abce", 3) == 0);
    th_assert(cm_memeq_ct("", "", 0) == 0);
}

static void test_random(void)
{
    unsigned char a[32], b[32], zero[32] = { 0 };

    memset(a, 0, sizeof(a));
    memset(b, 0, sizeof(b));
    th_assert(cm_random(a, sizeof(a)) == 0);
    th_assert(cm_random(b, sizeof(b)) == 0);
    th_assert(memcmp(a, b, sizeof(a)) != 0);
    th_assert(memcmp(a, zero, sizeof(a)) != 0);
    th_assert(cm_random(a, 0) == 0);
}

static void test_cleanse(void)
{
    char buf[8] = "secret!";

    cm_cleanse(buf, sizeof(buf));
    th_assert(memcmp(buf, "\0\0\0\0\0\0\0\0", 8) == 0);
    cm_cleanse(NULL, 8); /* allowed */
}

int main(void)
{
    th_run("crypto.sha256", test_sha256);
    th_run("crypto.hmac_rfc4231", test_hmac_rfc4231);
    th_run("crypto.hkdf_rfc5869", test_hkdf_rfc5869);
    th_run("crypto.seal_round_trip", test_seal_round_trip);
    th_run("crypto.seal_refusals", test_seal_refusals);
    th_run("crypto.memeq_ct", test_memeq_ct);
    th_run("crypto.random", test_random);
    th_run("crypto.cleanse", test_cleanse);
    return th_end();
}
