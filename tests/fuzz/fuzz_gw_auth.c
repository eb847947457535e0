/* fuzz_gw_auth.c - libFuzzer target for the token and Basic parsers.
 *
 * The first input byte picks what the rest is fed to:
 *   0: gw_auth_verify(rest)                 - the raw bearer token
 *   1: rest is a JWT payload, signed HS256 with the right key, then
 *      gw_auth_verify: reaches the claim checks a forger cannot
 *   2: gw_auth_parse_basic("Basic " + rest)
 *   3: gw_auth_parse_basic(rest)
 *   4: gw_auth_decode_secret(rest)
 * Every call must return one of its documented codes and leave nothing
 * allocated (ASan/LSan check the rest).
 *
 *   CC=clang cmake -S . -B build-fuzz -DJMAPGATE_FUZZ=ON
 *   cmake --build build-fuzz --target fuzz_gw_auth
 *   build-fuzz/tests/fuzz_gw_auth -dict=tests/fuzz/fuzz_gw_auth.dict -max_total_time=60
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm_b64.h"
#include "common/cm_crypto.h"
#include "gateway/gw_auth.h"

#define NOW ((time_t)1800000000)

static struct gw_auth_keys keys;

static void init_once(void)
{
    static int done;
    unsigned char secret[32];

    if (done)
        return;
    for (int i = 0; i < 32; i++)
        secret[i] = (unsigned char)(i * 7 + 1);
    if (cm_crypto_init() != 0 ||
        gw_auth_keys_init(&keys, secret, sizeof(secret), "jmapgate", "jmapgate", 3600, NULL) != 0)
        abort();
    done = 1;
}

static void check_verify(const char *token)
{
    struct gw_principal p;
    int rc = gw_auth_verify(&keys, token, NOW, &p, NULL);

    if (rc == 0) {
        if (p.creds.username == NULL || p.creds.secret == NULL || p.creds.username[0] == '\0' ||
            p.exp < NOW - 60)
            abort();
    } else if (rc != CM_EAUTH && rc != CM_ENOMEM) {
        abort();
    } else if (p.creds.username != NULL || p.creds.secret != NULL) {
        abort();
    }
    gw_principal_fini(&p);
}

/* header.b64url(payload).HMAC with the jwt key. */
static char *sign(const char *payload, size_t n)
{
    static const char hdr[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"; /* {"alg":"HS256","typ":"JWT"} */
    size_t hl = sizeof(hdr) - 1, pl = cm_b64url_encoded_len(n);
    char *tok = malloc(hl + 1 + pl + 1 + 44);
    unsigned char mac[CM_SHA256_LEN];

    if (tok == NULL)
        return NULL;
    memcpy(tok, hdr, hl);
    tok[hl] = '.';
    cm_b64url_encode(payload, n, tok + hl + 1);
    if (cm_hmac_sha256(keys.jwt_key, sizeof(keys.jwt_key), tok, hl + 1 + pl, mac) != 0)
        abort();
    tok[hl + 1 + pl] = '.';
    cm_b64url_encode(mac, sizeof(mac), tok + hl + 1 + pl + 1);
    return tok;
}

static void check_basic(const char *value)
{
    struct gw_principal p;
    int rc = gw_auth_parse_basic(value, &p, NULL);

    if (rc == 0) {
        if (p.creds.username == NULL || p.creds.username[0] == '\0' || p.creds.secret == NULL ||
            strchr(p.creds.username, ':') != NULL || strpbrk(p.creds.username, "\r\n") ||
            strpbrk(p.creds.secret, "\r\n") || p.exp != 0)
            abort();
    } else if (rc != CM_EAUTH && rc != CM_ENOMEM) {
        abort();
    }
    gw_principal_fini(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text, *tok;
    unsigned char *raw = NULL;
    size_t len = 0;

    init_once();
    if (size == 0)
        return 0;
    text = malloc(size - 1 + 7);
    if (text == NULL)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    switch (data[0] % 5) {
    case 0: check_verify(text); break;
    case 1:
        tok = sign(text, strlen(text));
        if (tok != NULL)
            check_verify(tok);
        free(tok);
        break;
    case 2:
        memmove(text + 6, text, size);
        memcpy(text, "Basic ", 6);
        check_basic(text);
        break;
    case 3: check_basic(text); break;
    case 4:
        if (gw_auth_decode_secret(text, &raw, &len, NULL) == 0) {
            if (raw == NULL || len < 32)
                abort();
            free(raw);
        }
        break;
    }
    free(text);
    return 0;
}
