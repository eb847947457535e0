/* fuzz_gw_token.c - libFuzzer target for bearer-token and Basic parsing.
 *
 * The first byte picks the parser; the rest is the header value. Valid
 * tokens are rare from random bytes, so the target also issues one real
 * token and splices the input into its claims segment now and then.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "gateway/gw_token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gw_token_keys keys;
static char *real_token;

static void setup(void)
{
    static const unsigned char secret[32] = "fuzzing secret, 32 bytes long!!";
    struct ib_creds cr = { .username = "alice", .secret = "pw", .mech = IB_AUTH_LOGIN };
    time_t exp;

    if (gw_token_keys_init(&keys, secret, sizeof(secret), "iss", "aud", 3600, NULL) < 0 ||
        gw_token_issue(&keys, &cr, "acct", 1800000000, &real_token, &exp, NULL) < 0)
        abort();
}

/* Replace the part of the real token after its first '.' with the input. */
static char *splice(const char *in, size_t n)
{
    const char *dot = strchr(real_token, '.');
    size_t head = (size_t)(dot - real_token) + 1;
    char *s = malloc(head + n + 1);

    if (s == NULL)
        return NULL;
    memcpy(s, real_token, head);
    memcpy(s + head, in, n);
    s[head + n] = '\0';
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gw_principal p;
    char *text, *tok;
    uint8_t mode;

    if (real_token == NULL)
        setup();
    if (size == 0)
        return 0;
    mode = data[0];
    text = fuzz_text_after_mode(data, size);
    if (text == NULL)
        return 0;
    if (mode % 3 == 0) {
        if (gw_token_verify(&keys, text, 1800000100, &p, NULL) == 0)
            gw_principal_fini(&p);
    } else if (mode % 3 == 1) {
        tok = splice(text, strlen(text));
        if (tok != NULL && gw_token_verify(&keys, tok, 1800000100, &p, NULL) == 0)
            gw_principal_fini(&p);
        free(tok);
    } else {
        if (gw_token_parse_basic(text, &p, NULL) == 0)
            gw_principal_fini(&p);
    }
    free(text);
    return 0;
}
