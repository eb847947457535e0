/* test_cm_token.c - tokens round-trip and refuse forgeries. */
#include <stdlib.h>
#include <string.h>

#include "common/cm_b64.h"
#include "common/cm_crypto.h"
#include "common/cm_token.h"
#include "harness/th.h"

static const unsigned char key[32] = "0123456789abcdef0123456789abcde";
static const unsigned char other[32] = "fedcba9876543210fedcba987654321";

static void test_round_trip(void)
{
    const char payload[] = "uidvalidity=7;modseq=42";
    char *t = cm_token_encode(key, 3, payload, sizeof(payload));
    unsigned char *out = NULL;
    size_t len = 0;

    th_assert(t != NULL);
    th_assert(strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
              strlen(t));
    th_assert(cm_token_decode(key, 3, t, &out, &len) == 0);
    th_assert(len == sizeof(payload) && memcmp(out, payload, len) == 0);
    free(out);
    free(t);
    t = cm_token_encode(key, 1, NULL, 0);
    th_assert(t != NULL && cm_token_decode(key, 1, t, &out, &len) == 0 && len == 0);
    free(out);
    free(t);
}

static void test_forgeries(void)
{
    char *t = cm_token_encode(key, 3, "abcdef", 6);
    unsigned char *out = NULL, *raw;
    size_t len, n;
    char *forged;

    th_assert(cm_token_decode(other, 3, t, &out, &len) == CM_EINVAL);
    th_assert(cm_token_decode(key, 4, t, &out, &len) == CM_EINVAL);
    for (size_t i = 0; i < strlen(t); i++) {
        char saved = t[i];

        t[i] = saved == 'A' ? 'B' : 'A';
        /* a flip is refused, unless it only touched unused padding bits */
        if (cm_token_decode(key, 3, t, &out, &len) == 0) {
            th_assert_idx(len == 6 && memcmp(out, "abcdef", 6) == 0, i);
            free(out);
            out = NULL;
        }
        t[i] = saved;
    }
    /* change the payload and keep the old tag */
    raw = cm_b64url_decode(t, strlen(t), &n);
    raw[2] ^= 1;
    forged = malloc(cm_b64url_encoded_len(n) + 1);
    cm_b64url_encode(raw, n, forged);
    th_assert(cm_token_decode(key, 3, forged, &out, &len) == CM_EINVAL);
    th_assert(cm_token_decode(key, 3, "", &out, &len) == CM_EINVAL);
    th_assert(cm_token_decode(key, 3, "!!!!", &out, &len) == CM_EINVAL);
    th_assert(cm_token_decode(key, 3, "AQM", &out, &len) == CM_EINVAL);
    free(raw);
    free(forged);
    free(t);
}

int main(void)
{
    th_assert(cm_crypto_init() == 0);
    th_run("round_trip", test_round_trip);
    th_run("forgeries", test_forgeries);
    return th_end();
}
