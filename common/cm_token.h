/* cm_token.h - versioned, authenticated opaque tokens for the strings the
 * gateway hands to clients and must trust again later (JMAP state strings,
 * delta cursors, blob ids): any instance with the same key can read them,
 * and a forged or altered token is refused (ARCHITECTURE §4).
 *
 * Text form: base64url( version(1)=1 | kind(1) | payload | tag ), where tag
 * is the first 12 bytes of HMAC-SHA256(key, version | kind | payload). The
 * payload is not secret, only authenticated.
 *
 * Threads: pure (after cm_crypto_init); safe from any thread.
 */
#ifndef CM_TOKEN_H
#define CM_TOKEN_H

#include <stddef.h>

#include "common/cm_err.h"

#define CM_TOKEN_TAG_LEN 12
#define CM_TOKEN_MAX_PAYLOAD 65536

/* Encode payload as a token of the given kind. Returns a malloc'd string,
   or NULL on OOM or when len exceeds CM_TOKEN_MAX_PAYLOAD. */
char *cm_token_encode(const unsigned char key[32], unsigned char kind, const void *payload,
                      size_t len);

/* Check and decode text. On success *payload_r is malloc'd (may hold 0
   bytes) and *len_r its length. CM_EINVAL for anything malformed, of
   another kind or version, or whose tag does not match. */
int cm_token_decode(const unsigned char key[32], unsigned char kind, const char *text,
                    unsigned char **payload_r, size_t *len_r) __attribute__((warn_unused_result));

#endif
