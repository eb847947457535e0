/* cm_crypto.c - SHA-256, HMAC, HKDF, AES-256-GCM and randomness on OpenSSL 3 EVP.
 *
 * Algorithms are fetched once (pthread_once) so calls skip OpenSSL 3's
 * per-call implicit fetch; contexts are per call, so any thread may call.
 */
#include "common/cm_crypto.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "common/cm_err.h"

#define SEAL_VERSION 1
#define NONCE_LEN 12
#define TAG_LEN 16
#define HDR_LEN 2

/* Written once under pthread_once, read-only afterwards. */
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static EVP_MD *g_sha256;
static EVP_MAC *g_hmac;
static EVP_CIPHER *g_gcm;
static EVP_KDF *g_hkdf;
static int g_init_rc = CM_EINTERNAL;

static void free_fetched(void)
{
    EVP_MD_free(g_sha256);
    EVP_MAC_free(g_hmac);
    EVP_CIPHER_free(g_gcm);
    EVP_KDF_free(g_hkdf);
    g_sha256 = NULL;
    g_hmac = NULL;
    g_gcm = NULL;
    g_hkdf = NULL;
}

static void fetch_all(void)
{
    g_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    g_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    g_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    g_hkdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    if (g_sha256 == NULL || g_hmac == NULL || g_gcm == NULL || g_hkdf == NULL) {
        free_fetched();
        return;
    }
    /* Release the references before OpenSSL's own atexit cleanup runs, so
       leak checkers see a clean exit. */
    if (atexit(free_fetched) != 0) {
        free_fetched();
        return;
    }
    g_init_rc = 0;
}

int cm_crypto_init(void)
{
    if (pthread_once(&fetch_once, fetch_all) != 0)
        return CM_EINTERNAL;
    return g_init_rc;
}

int cm_sha256(const void *data, size_t n, unsigned char out[CM_SHA256_LEN])
{
    unsigned int mdlen = 0;

    if (cm_crypto_init() < 0)
        return CM_EINTERNAL;
    if (EVP_Digest(data, n, out, &mdlen, g_sha256, NULL) != 1 || mdlen != CM_SHA256_LEN)
        return CM_EINTERNAL;
    return 0;
}

int cm_hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen,
                   unsigned char out[CM_SHA256_LEN])
{
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_END
    };
    EVP_MAC_CTX *m;
    size_t outl = 0;
    int rc = CM_EINTERNAL;

    if (cm_crypto_init() < 0)
        return CM_EINTERNAL;
    m = EVP_MAC_CTX_new(g_hmac);
    if (m == NULL)
        return CM_EINTERNAL;
    if (EVP_MAC_init(m, key, klen, params) == 1 && EVP_MAC_update(m, msg, mlen) == 1 &&
        EVP_MAC_final(m, out, &outl, CM_SHA256_LEN) == 1 && outl == CM_SHA256_LEN)
        rc = 0;
    EVP_MAC_CTX_free(m);
    return rc;
}

int cm_hkdf_sha256(const void *ikm, size_t ikmlen, const char *info, unsigned char *out,
                   size_t outlen)
{
    OSSL_PARAM params[4];
    EVP_KDF_CTX *k;
    size_t np = 0;
    int rc = CM_EINTERNAL;

    if (cm_crypto_init() < 0)
        return CM_EINTERNAL;
    k = EVP_KDF_CTX_new(g_hkdf);
    if (k == NULL)
        return CM_EINTERNAL;
    /* No salt parameter: RFC 5869 then uses HashLen zero bytes. */
    params[np++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    params[np++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikmlen);
    if (info != NULL && info[0] != '\0')
        params[np++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info,
                                                         strlen(info));
    params[np] = OSSL_PARAM_construct_end();
    if (EVP_KDF_derive(k, out, outlen, params) == 1)
        rc = 0;
    EVP_KDF_CTX_free(k);
    return rc;
}

int cm_memeq_ct(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0 ? 0 : 1;
}

int cm_random(void *buf, size_t n)
{
    if (n > INT_MAX)
        return CM_EINTERNAL;
    return RAND_bytes(buf, (int)n) == 1 ? 0 : CM_EINTERNAL;
}

void cm_cleanse(void *p, size_t n)
{
    if (p != NULL)
        OPENSSL_cleanse(p, n);
}

/* Feed the AAD: the two header bytes, then the caller's aad. */
static int gcm_aad(EVP_CIPHER_CTX *c, int enc, const unsigned char *hdr, const void *aad,
                   size_t aadlen)
{
    int l;

    if ((enc ? EVP_EncryptUpdate(c, NULL, &l, hdr, HDR_LEN)
             : EVP_DecryptUpdate(c, NULL, &l, hdr, HDR_LEN)) != 1)
        return -1;
    if (aadlen == 0)
        return 0;
    if ((enc ? EVP_EncryptUpdate(c, NULL, &l, aad, (int)aadlen)
             : EVP_DecryptUpdate(c, NULL, &l, aad, (int)aadlen)) != 1)
        return -1;
    return 0;
}

static int seal_into(EVP_CIPHER_CTX *c, const unsigned char key[32], unsigned char *blob,
                     const void *aad, size_t aadlen, const void *pt, size_t ptlen)
{
    unsigned char *nonce = blob + HDR_LEN, *ct = nonce + NONCE_LEN;
    OSSL_PARAM t[2];
    int l = 0, l2 = 0;

    if (cm_random(nonce, NONCE_LEN) < 0)
        return -1;
    if (EVP_EncryptInit_ex2(c, g_gcm, key, nonce, NULL) != 1 ||
        gcm_aad(c, 1, blob, aad, aadlen) < 0)
        return -1;
    if (ptlen > 0 && EVP_EncryptUpdate(c, ct, &l, pt, (int)ptlen) != 1)
        return -1;
    if (EVP_EncryptFinal_ex(c, ct + l, &l2) != 1 || (size_t)(l + l2) != ptlen)
        return -1;
    t[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, ct + ptlen, TAG_LEN);
    t[1] = OSSL_PARAM_construct_end();
    return EVP_CIPHER_CTX_get_params(c, t) == 1 ? 0 : -1;
}

int cm_seal(const unsigned char key[32], unsigned char key_id, const void *aad, size_t aadlen,
            const void *pt, size_t ptlen, unsigned char **out_r, size_t *outlen_r)
{
    unsigned char *blob = NULL;
    EVP_CIPHER_CTX *c = NULL;
    int rc = CM_EINTERNAL;

    if (ptlen > INT_MAX - CM_SEAL_OVERHEAD || aadlen > INT_MAX)
        return CM_EINVAL;
    if (cm_crypto_init() < 0)
        return CM_EINTERNAL;
    blob = malloc(ptlen + CM_SEAL_OVERHEAD);
    c = EVP_CIPHER_CTX_new();
    if (blob == NULL || c == NULL) {
        rc = CM_ENOMEM;
        goto done;
    }
    blob[0] = SEAL_VERSION;
    blob[1] = key_id;
    if (seal_into(c, key, blob, aad, aadlen, pt, ptlen) < 0)
        goto done;
    *out_r = blob;
    *outlen_r = ptlen + CM_SEAL_OVERHEAD;
    blob = NULL;
    rc = 0;
done:
    EVP_CIPHER_CTX_free(c);
    free(blob);
    return rc;
}

/* Decrypt into pt; -1 when the tag does not verify. */
static int open_into(EVP_CIPHER_CTX *c, const unsigned char key[32], const unsigned char *blob,
                     size_t ctlen, const void *aad, size_t aadlen, unsigned char *pt)
{
    const unsigned char *nonce = blob + HDR_LEN, *ct = nonce + NONCE_LEN;
    OSSL_PARAM t[2];
    int l = 0, l2 = 0;

    if (EVP_DecryptInit_ex2(c, g_gcm, key, nonce, NULL) != 1 ||
        gcm_aad(c, 0, blob, aad, aadlen) < 0)
        return -1;
    if (ctlen > 0 && EVP_DecryptUpdate(c, pt, &l, ct, (int)ctlen) != 1)
        return -1;
    /* The expected tag must be set before Final, which checks it. */
    t[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, (void *)(ct + ctlen),
                                             TAG_LEN);
    t[1] = OSSL_PARAM_construct_end();
    if (EVP_CIPHER_CTX_set_params(c, t) != 1)
        return -1;
    if (EVP_DecryptFinal_ex(c, pt + l, &l2) != 1 || (size_t)(l + l2) != ctlen)
        return -1;
    return 0;
}

int cm_open(const unsigned char key[32], const void *aad, size_t aadlen, const void *blob,
            size_t bloblen, unsigned char **out_r, size_t *outlen_r)
{
    const unsigned char *b = blob;
    unsigned char *pt = NULL;
    EVP_CIPHER_CTX *c = NULL;
    size_t ctlen;
    int rc = CM_EAUTH;

    if (bloblen < CM_SEAL_OVERHEAD || bloblen > INT_MAX || aadlen > INT_MAX)
        return CM_EINVAL;
    if (b[0] != SEAL_VERSION)
        return CM_EINVAL;
    if (cm_crypto_init() < 0)
        return CM_EINTERNAL;
    ctlen = bloblen - CM_SEAL_OVERHEAD;
    pt = malloc(ctlen + 1);
    c = EVP_CIPHER_CTX_new();
    if (pt == NULL || c == NULL) {
        rc = CM_ENOMEM;
        goto done;
    }
    if (open_into(c, key, b, ctlen, aad, aadlen, pt) < 0) {
        cm_cleanse(pt, ctlen);
        goto done;
    }
    pt[ctlen] = '\0';
    *out_r = pt;
    *outlen_r = ctlen;
    pt = NULL;
    rc = 0;
done:
    EVP_CIPHER_CTX_free(c);
    free(pt);
    return rc;
}
