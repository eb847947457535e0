/* cm_crypto.h - the few primitives the gateway needs, on OpenSSL 3 EVP:
 * SHA-256, HMAC-SHA256, HKDF-SHA256, AES-256-GCM seal/open, random bytes.
 *
 * cm_crypto_init() fetches the algorithms once (pthread_once); call it at
 * start-up to fail early. Every other function calls it lazily, so a
 * forgotten init is not a bug. Every function is safe from any thread
 * (contexts are per call); fallible ones return 0 or a negative CM_E* code.
 */
#ifndef CM_CRYPTO_H
#define CM_CRYPTO_H

#include <stddef.h>

#define CM_SHA256_LEN 32
#define CM_SEAL_OVERHEAD (1 + 1 + 12 + 16) /* version, key id, nonce, tag */

/* Returns 0 or CM_EINTERNAL (an algorithm is missing). Idempotent and
   thread-safe. */
int cm_crypto_init(void) __attribute__((warn_unused_result));

/* SHA-256 and HMAC-SHA256 of n/mlen bytes into out. 0 or CM_EINTERNAL. */
int cm_sha256(const void *data, size_t n, unsigned char out[CM_SHA256_LEN]);
int cm_hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen,
                   unsigned char out[CM_SHA256_LEN]);

/* HKDF-SHA256 (RFC 5869) with empty salt: derive outlen bytes from ikm
   under the label info (NUL-terminated; "" or NULL = empty info).
   Returns 0 or CM_EINTERNAL. */
int cm_hkdf_sha256(const void *ikm, size_t ikmlen, const char *info, unsigned char *out,
                   size_t outlen);

/* Constant-time compare of n bytes; 0 when equal, 1 otherwise. */
int cm_memeq_ct(const void *a, const void *b, size_t n);

/* Fill buf with n cryptographically random bytes. 0 or CM_EINTERNAL. */
int cm_random(void *buf, size_t n);

/* AES-256-GCM. Output format: version(1)=1 | key_id(1) | nonce(12) | ct |
   tag(16); the two header bytes and aad are authenticated.
   cm_seal: *out_r is malloc'd (ptlen + CM_SEAL_OVERHEAD bytes).
   cm_open: *out_r is malloc'd plaintext, NUL-terminated (not counted);
   returns CM_EAUTH when the blob was forged, tampered with, or sealed
   under another aad; CM_EINVAL when it is too short or of another version. */
int cm_seal(const unsigned char key[32], unsigned char key_id, const void *aad, size_t aadlen,
            const void *pt, size_t ptlen, unsigned char **out_r, size_t *outlen_r)
    __attribute__((warn_unused_result));
int cm_open(const unsigned char key[32], const void *aad, size_t aadlen, const void *blob,
            size_t bloblen, unsigned char **out_r, size_t *outlen_r)
    __attribute__((warn_unused_result));

/* Overwrite n bytes in a way the compiler keeps. */
void cm_cleanse(void *p, size_t n);

#endif
