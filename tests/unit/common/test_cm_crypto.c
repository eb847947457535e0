/* test_cm_crypto.c - hashes and MACs against published vectors; sealing. */
#include "common/cm_crypto.h"

#include <stdlib.h>
#include <string.h>

#include "common/cm_b64.h"
#include "common/cm_err.h"
#include "harness/th.h"

static void hex_of(const unsigned char *b, size_t n, char *dst)
{
    cm_hex_encode(b, n, dst);
}

static void test_sha256(void)
{
    unsigned char md[CM_SHA256_LEN];
    char hex[2 * CM_SHA256_LEN + 1];

    th_assert(cm_sha256("abc", 3, md) == 0);
    hex_of(md, sizeof(md), hex);
    th_assert(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
    th_assert(cm_sha256("", 0, md) == 0);
    hex_of(md, sizeof(md), hex);
    th_assert(strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
}

static void test_hmac_rfc4231(void)
{
    unsigned char k1[20], k6[131], mac[CM_SHA256_LEN];
    char hex[2 * CM_SHA256_LEN + 1];
    static const char d6[] = "Test Using Larger Than Block-Size Key - Hash Key First";

    memset(k1, 0x0b, sizeof(k1));
    memset(k6, 0xaa, sizeof(k6));
    th_assert(cm_hmac_sha256(k1, sizeof(k1), "Hi There", 8, mac) == 0);
    hex_of(mac, sizeof(mac), hex);
    th_assert(strcmp(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7") == 0);
    th_assert(cm_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac) == 0);
    hex_of(mac, sizeof(mac), hex);
    th_assert(strcmp(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843") == 0);
    /* Empty key and message (a well-known value; OpenSSL needs care here). */
    th_assert(cm_hmac_sha256("", 0, "", 0, mac) == 0);
    hex_of(mac, sizeof(mac), hex);
    th_assert(strcmp(hex, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad") == 0);
    th_assert(cm_hmac_sha256(k6, sizeof(k6), d6, strlen(d6), mac) == 0);
    hex_of(mac, sizeof(mac), hex);
    th_assert(strcmp(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54") == 0);
}

static void test_hkdf(void)
{
    unsigned char ikm[22], okm[42], a[32], b[32], zeros[32], prk[32], t1in[64], t1[32];
    char hex[2 * sizeof(okm) + 1];

    /* RFC 5869 test case 3: empty salt and empty info. */
    memset(ikm, 0x0b, sizeof(ikm));
    th_assert(cm_hkdf_sha256(ikm, sizeof(ikm), "", okm, sizeof(okm)) == 0);
    hex_of(okm, sizeof(okm), hex);
    th_assert(strcmp(hex, "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
                          "9d201395faa4b61a96c8") == 0);
    /* With an info label: T(1) = HMAC(PRK, info | 0x01), PRK = HMAC(0^32, IKM). */
    memset(zeros, 0, sizeof(zeros));
    th_assert(cm_hmac_sha256(zeros, sizeof(zeros), ikm, sizeof(ikm), prk) == 0);
    memcpy(t1in, "label", 5);
    t1in[5] = 1;
    th_assert(cm_hmac_sha256(prk, sizeof(prk), t1in, 6, t1) == 0);
    th_assert(cm_hkdf_sha256(ikm, sizeof(ikm), "label", a, sizeof(a)) == 0);
    th_assert(memcmp(a, t1, 32) == 0);
    /* Different labels give unrelated keys. */
    th_assert(cm_hkdf_sha256(ikm, sizeof(ikm), "label2", b, sizeof(b)) == 0);
    th_assert(memcmp(a, b, 32) != 0);
}

static void test_memeq_random(void)
{
    unsigned char a[32], b[32];

    th_assert(cm_memeq_ct("abcd", "abcd", 4) == 0);
    th_assert(cm_memeq_ct("abcd", "abce", 4) != 0);
    th_assert(cm_random(a, sizeof(a)) == 0);
    th_assert(cm_random(b, sizeof(b)) == 0);
    th_assert(memcmp(a, b, sizeof(a)) != 0);
    memset(a, 0x5a, sizeof(a));
    cm_cleanse(a, sizeof(a));
    memset(b, 0, sizeof(b));
    th_assert(memcmp(a, b, sizeof(a)) == 0);
}

static const unsigned char key[32] = "0123456789abcdef0123456789abcdef";
static const char msg[] = "{\"u\":\"alice\",\"p\":\"s3cret\",\"m\":\"login\"}";

static void test_seal_round_trip(void)
{
    unsigned char *blob = NULL, *blob2 = NULL, *pt = NULL;
    size_t bloblen = 0, bloblen2 = 0, ptlen = 0;

    th_assert(cm_seal(key, 7, "alice", 5, msg, strlen(msg), &blob, &bloblen) == 0);
    th_assert(bloblen == strlen(msg) + CM_SEAL_OVERHEAD);
    th_assert(blob[0] == 1 && blob[1] == 7);
    th_assert(memmem(blob, bloblen, "s3cret", 6) == NULL);
    th_assert(cm_open(key, "alice", 5, blob, bloblen, &pt, &ptlen) == 0);
    th_assert(pt != NULL && ptlen == strlen(msg) && strcmp((char *)pt, msg) == 0);
    free(pt);
    /* Fresh nonce each time: the same input never seals the same way. */
    th_assert(cm_seal(key, 7, "alice", 5, msg, strlen(msg), &blob2, &bloblen2) == 0);
    th_assert(bloblen2 == bloblen && memcmp(blob, blob2, bloblen) != 0);
    free(blob2);
    free(blob);
    /* Empty plaintext and empty aad work too. */
    th_assert(cm_seal(key, 0, NULL, 0, "", 0, &blob, &bloblen) == 0);
    th_assert(bloblen == CM_SEAL_OVERHEAD);
    th_assert(cm_open(key, NULL, 0, blob, bloblen, &pt, &ptlen) == 0 && ptlen == 0);
    th_assert(pt != NULL && pt[0] == '\0');
    free(pt);
    free(blob);
}

static void test_open_rejects(void)
{
    unsigned char *blob = NULL, *pt = NULL, other[32];
    size_t bloblen = 0, ptlen = 0;

    memcpy(other, key, 32);
    other[31] ^= 1;
    th_assert(cm_seal(key, 1, "alice", 5, msg, strlen(msg), &blob, &bloblen) == 0);
    th_assert(cm_open(key, "mallory", 7, blob, bloblen, &pt, &ptlen) == CM_EAUTH);
    th_assert(cm_open(other, "alice", 5, blob, bloblen, &pt, &ptlen) == CM_EAUTH);
    /* Flip one bit in each region: key id, nonce, ciphertext, tag. */
    for (size_t i = 1; i < bloblen; i += 5) {
        blob[i] ^= 0x10;
        th_assert_idx(cm_open(key, "alice", 5, blob, bloblen, &pt, &ptlen) == CM_EAUTH, i);
        blob[i] ^= 0x10;
    }
    th_assert(cm_open(key, "alice", 5, blob, bloblen - 1, &pt, &ptlen) == CM_EAUTH);
    th_assert(cm_open(key, "alice", 5, blob, CM_SEAL_OVERHEAD - 1, &pt, &ptlen) == CM_EINVAL);
    th_assert(cm_open(key, "alice", 5, blob, 0, &pt, &ptlen) == CM_EINVAL);
    blob[0] = 2;
    th_assert(cm_open(key, "alice", 5, blob, bloblen, &pt, &ptlen) == CM_EINVAL);
    blob[0] = 1;
    th_assert(cm_open(key, "alice", 5, blob, bloblen, &pt, &ptlen) == 0);
    th_assert(pt == NULL ? 0 : strcmp((char *)pt, msg) == 0);
    free(pt);
    free(blob);
}

static void test_init(void)
{
    th_assert(cm_crypto_init() == 0);
    th_assert(cm_crypto_init() == 0);
}

int main(void)
{
    /* Runs first, before any init: every function initialises lazily. */
    th_run("sha256 (lazy init)", test_sha256);
    th_run("init is idempotent", test_init);
    th_run("memeq, random, cleanse", test_memeq_random);
    th_run("hmac-sha256 RFC 4231", test_hmac_rfc4231);
    th_run("hkdf-sha256 RFC 5869 (empty salt)", test_hkdf);
    th_run("seal/open round trip", test_seal_round_trip);
    th_run("open rejects tampering", test_open_rejects);
    return th_end();
}
