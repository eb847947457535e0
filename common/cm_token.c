/* cm_token.c - authenticated opaque tokens. */
#include "common/cm_token.h"

#include <stdlib.h>
#include <string.h>

#include "common/cm_b64.h"
#include "common/cm_crypto.h"

#define TOKEN_VERSION 1

static int tag_of(const unsigned char key[32], const unsigned char *msg, size_t len,
                  unsigned char tag[CM_TOKEN_TAG_LEN])
{
    unsigned char mac[CM_SHA256_LEN];
    int rc = cm_hmac_sha256(key, 32, msg, len, mac);

    memcpy(tag, mac, CM_TOKEN_TAG_LEN);
    return rc;
}

char *cm_token_encode(const unsigned char key[32], unsigned char kind, const void *payload,
                      size_t len)
{
    size_t raw_len = 2 + len + CM_TOKEN_TAG_LEN;
    unsigned char *raw;
    char *text = NULL;

    if (len > CM_TOKEN_MAX_PAYLOAD)
        return NULL;
    raw = malloc(raw_len);
    if (raw == NULL)
        return NULL;
    raw[0] = TOKEN_VERSION;
    raw[1] = kind;
    if (len > 0)
        memcpy(raw + 2, payload, len);
    if (tag_of(key, raw, 2 + len, raw + 2 + len) == 0) {
        text = malloc(cm_b64url_encoded_len(raw_len) + 1);
        if (text != NULL)
            cm_b64url_encode(raw, raw_len, text);
    }
    free(raw);
    return text;
}

int cm_token_decode(const unsigned char key[32], unsigned char kind, const char *text,
                    unsigned char **payload_r, size_t *len_r)
{
    unsigned char tag[CM_TOKEN_TAG_LEN], *raw, *out;
    size_t tlen = strlen(text), raw_len = 0, plen;

    if (tlen == 0 || tlen > cm_b64url_encoded_len(CM_TOKEN_MAX_PAYLOAD + 2 + CM_TOKEN_TAG_LEN))
        return CM_EINVAL;
    raw = cm_b64url_decode(text, tlen, &raw_len);
    if (raw == NULL)
        return CM_EINVAL;
    if (raw_len < 2 + CM_TOKEN_TAG_LEN || raw[0] != TOKEN_VERSION || raw[1] != kind ||
        tag_of(key, raw, raw_len - CM_TOKEN_TAG_LEN, tag) != 0 ||
        cm_memeq_ct(tag, raw + raw_len - CM_TOKEN_TAG_LEN, CM_TOKEN_TAG_LEN) != 0) {
        free(raw);
        return CM_EINVAL;
    }
    plen = raw_len - 2 - CM_TOKEN_TAG_LEN;
    out = malloc(plen + 1);
    if (out == NULL) {
        free(raw);
        return CM_ENOMEM;
    }
    memcpy(out, raw + 2, plen);
    out[plen] = 0;
    free(raw);
    *payload_r = out;
    *len_r = plen;
    return 0;
}
