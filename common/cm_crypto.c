/* cm_crypto.c - SHA-256, HMAC, HKDF, AES-256-GCM and randomness on
 * OpenSSL 3 EVP with algorithms fetched once (LIBS.md §6). */
#include "common/cm_crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm_err.h"

#define SEAL_VERSION 1
#define NONCE_LEN 12
#define TAG_LEN 16

static EVP_MD *g_sha256;
static EVP_MAC *g_hmac;
static EVP_CIPHER *g_gcm;
static EVP_KDF *g_hkdf;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void do_init(void)
{
    g_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    g_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    g_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    g_hkdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
}

int cm_crypto_init(void)
{
    pthread_once(&init_once, do_init);
    return g_sha256 && g_hmac && g_gcm && g_hkdf ? 0 : CM_EINTERNAL;
}

int cm_sha256(const void *data, size_t n, unsigned char out[CM_SHA256_LEN])
{
    unsigned int len = 0;

    if (cm_crypto_init() < 0 || EVP_Digest(data, n, out, &len, g_sha256, NULL) != 1)
        return CM_EINTERNAL;
    return 0;
}

int cm_hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen,
                   unsigned char out[CM_SHA256_LEN])
{
    OSSL_PARAM params[] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
                            OSSL_PARAM_construct_end() };
    EVP_MAC_CTX *m;
    size_t outl = 0;
    int ok;

    if (cm_crypto_init() < 0 || (m = EVP_MAC_CTX_new(g_hmac)) == NULL)
        return CM_EINTERNAL;
    ok = EVP_MAC_init(m, key, klen, params) == 1 && EVP_MAC_update(m, msg, mlen) == 1 &&
         EVP_MAC_final(m, out, &outl, CM_SHA256_LEN) == 1 && outl == CM_SHA256_LEN;
    EVP_MAC_CTX_free(m);
    return ok ? 0 : CM_EINTERNAL;
}

int cm_hkdf_sha256(const void *ikm, size_t ikmlen, const char *info, unsigned char *out,
                   size_t outlen)
{
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikmlen),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, strlen(info)),
        OSSL_PARAM_construct_end(),
    };
    EVP_KDF_CTX *k;
    int ok;

    if (cm_crypto_init() < 0 || (k = EVP_KDF_CTX_new(g_hkdf)) == NULL)
        return CM_EINTERNAL;
    ok = EVP_KDF_derive(k, out, outlen, params) == 1;
    EVP_KDF_CTX_free(k);
    return ok ? 0 : CM_EINTERNAL;
}

int cm_memeq_ct(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0 ? 0 : 1;
}

int cm_random(void *buf, size_t n)
{
    return RAND_bytes(buf, (int)n) == 1 ? 0 : CM_EINTERNAL;
}

void cm_cleanse(void *p, size_t n)
{
    if (p != NULL)
        OPENSSL_cleanse(p, n);
}

int cm_seal(const unsigned char key[32], unsigned char key_id, const void *aad, size_t aadlen,
            const void *pt, size_t ptlen, unsigned char **out_r, size_t *outlen_r)
{
    size_t total = ptlen + CM_SEAL_OVERHEAD;
    unsigned char *out;
    EVP_CIPHER_CTX *c;
    int l = 0, l2 = 0, ok;

    if (cm_crypto_init() < 0 || ptlen > (size_t)INT32_MAX)
        return CM_EINTERNAL;
    out = malloc(total);
    c = EVP_CIPHER_CTX_new();
    if (out == NULL || c == NULL) {
        free(out);
        EVP_CIPHER_CTX_free(c);
        return CM_ENOMEM;
    }
    out[0] = SEAL_VERSION;
    out[1] = key_id;
    {
        OSSL_PARAM tag[] = { OSSL_PARAM_construct_octet_string(
                                 OSSL_CIPHER_PARAM_AEAD_TAG, out + 2 + NONCE_LEN + ptlen, TAG_LEN),
                             OSSL_PARAM_construct_end() };

        ok = RAND_bytes(out + 2, NONCE_LEN) == 1 &&
             EVP_EncryptInit_ex2(c, g_gcm, key, out + 2, NULL) == 1 &&
             EVP_EncryptUpdate(c, NULL, &l, out, 2) == 1 &&
             (aadlen == 0 || EVP_EncryptUpdate(c, NULL, &l, aad, (int)aadlen) == 1) &&
             EVP_EncryptUpdate(c, out + 2 + NONCE_LEN, &l, pt, (int)ptlen) == 1 &&
             EVP_EncryptFinal_ex(c, out + 2 + NONCE_LEN + l, &l2) == 1 &&
             EVP_CIPHER_CTX_get_params(c, tag) == 1;
    }
    EVP_CIPHER_CTX_free(c);
    if (!ok) {
        free(out);
        return CM_EINTERNAL;
    }
    *out_r = out;
    *outlen_r = total;
    return 0;
}

int cm_open(const unsigned char key[32], const void *aad, size_t aadlen, const void *blob,
            size_t bloblen, unsigned char **out_r, size_t *outlen_r)
{
    const unsigned char *in = blob;
    size_t ctlen;
    unsigned char *out;
    EVP_CIPHER_CTX *c;
    int l = 0, l2 = 0, ok;

    if (bloblen < CM_SEAL_OVERHEAD || in[0] != SEAL_VERSION)
        return CM_EINVAL;
    if (cm_crypto_init() < 0)
        return CM_EINTERNAL;
    ctlen = bloblen - CM_SEAL_OVERHEAD;
    out = malloc(ctlen + 1);
    c = EVP_CIPHER_CTX_new();
    if (out == NULL || c == NULL) {
        free(out);
        EVP_CIPHER_CTX_free(c);
        return CM_ENOMEM;
    }
    {
        OSSL_PARAM tag[] = { OSSL_PARAM_construct_octet_string(
                                 OSSL_CIPHER_PARAM_AEAD_TAG,
                                 (void *)(in + 2 + NONCE_LEN + ctlen), TAG_LEN),
                             OSSL_PARAM_construct_end() };

        ok = EVP_DecryptInit_ex2(c, g_gcm, key, in + 2, NULL) == 1 &&
             EVP_DecryptUpdate(c, NULL, &l, in, 2) == 1 &&
             (aadlen == 0 || EVP_DecryptUpdate(c, NULL, &l, aad, (int)aadlen) == 1) &&
             EVP_DecryptUpdate(c, out, &l, in + 2 + NONCE_LEN, (int)ctlen) == 1 &&
             EVP_CIPHER_CTX_set_params(c, tag) == 1 &&
             EVP_DecryptFinal_ex(c, out + l, &l2) == 1;
    }
    EVP_CIPHER_CTX_free(c);
    if (!ok) {
        OPENSSL_cleanse(out, ctlen + 1);
        free(out);
        return CM_EAUTH;
    }
    out[ctlen] = '\0';
    *out_r = out;
    *outlen_r = ctlen;
    return 0;
}
