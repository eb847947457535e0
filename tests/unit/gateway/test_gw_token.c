/* test_gw_token.c - login tokens: round trip, and every forgery we know of.
 *
 * Forged tokens are built by hand here (base64url JSON + our own HMAC),
 * never by libjwt, so the tests do not share a bug with the code under test.
 */
#include "gateway/gw_token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "common/cm_b64.h"
#include "common/cm_crypto.h"
#include "harness/th.h"

#define NOW 1800000000L
#define TTL 3600
#define ISS "jmapgate-test"
#define AUD "jmapgate-aud"
#define PASSWORD "pa55-word-xyz"

static struct gw_token_keys keys;
static const unsigned char secret[32] = "this secret is exactly 32 bytes!";

/* ---- token forging helpers ------------------------------------------------ */

static char *b64url_of(const void *p, size_t n)
{
    char *s = malloc(cm_b64url_encoded_len(n) + 1);

    if (s != NULL)
        cm_b64url_encode(p, n, s);
    return s;
}

static char *b64url_json(json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    char *s = text ? b64url_of(text, strlen(text)) : NULL;

    free(text);
    return s;
}

enum sig_kind { SIG_HS256, SIG_HS512, SIG_NONE };

/* header.payload.signature with the given MAC key; steals hdr and claims. */
static char *forge(json_t *hdr, json_t *claims, enum sig_kind kind, const unsigned char *key,
                   size_t klen)
{
    char *h = b64url_json(hdr), *c = b64url_json(claims), *sig = NULL, *tok;
    unsigned char mac[64];
    size_t maclen = 0, n;

    json_decref(hdr);
    json_decref(claims);
    n = strlen(h) + strlen(c) + 2;
    tok = malloc(n + 100);
    snprintf(tok, n + 100, "%s.%s", h, c);
    if (kind == SIG_HS256) {
        th_assert(cm_hmac_sha256(key, klen, tok, strlen(tok), mac) == 0);
        maclen = 32;
    } else if (kind == SIG_HS512) {
        th_assert(EVP_Q_mac(NULL, "HMAC", NULL, "SHA512", NULL, key, klen,
                            (unsigned char *)tok, strlen(tok), mac, sizeof(mac), &maclen) != NULL);
    }
    sig = b64url_of(mac, maclen);
    strcat(tok, ".");
    strcat(tok, sig);
    free(h);
    free(c);
    free(sig);
    return tok;
}

/* base64url(sealed {"u":u,"p":PASSWORD,"m":"login"}) under AAD = aad. */
static char *sealed_cred(const char *u, const char *aad)
{
    json_t *o = json_pack("{s:s,s:s,s:s}", "u", u, "p", PASSWORD, "m", "login");
    char *pt = json_dumps(o, JSON_COMPACT), *s;
    unsigned char *blob = NULL;
    size_t bloblen = 0;

    json_decref(o);
    th_assert(cm_seal(keys.seal_key, 1, aad, strlen(aad), pt, strlen(pt), &blob, &bloblen) == 0);
    s = b64url_of(blob, bloblen);
    free(blob);
    free(pt);
    return s;
}

static json_t *good_header(void)
{
    return json_pack("{s:s,s:s}", "alg", "HS256", "typ", "JWT");
}

/* A complete, valid claim set for alice. */
static json_t *good_claims(void)
{
    char *cred = sealed_cred("alice", "alice");
    json_t *c = json_pack("{s:s,s:s,s:s,s:I,s:I,s:s,s:s,s:s}", "sub", "alice", "iss", ISS, "aud",
                          AUD, "iat", (json_int_t)NOW, "exp", (json_int_t)(NOW + TTL), "jti",
                          "abc", "acct", "aXYZ", "cred", cred);

    free(cred);
    return c;
}

static char *sign_good(json_t *claims)
{
    return forge(good_header(), claims, SIG_HS256, keys.jwt_key, sizeof(keys.jwt_key));
}

/* Verify must refuse tok with CM_EAUTH for the reason want (a substring;
   NULL = any), leave p empty and leak nothing. */
static void expect_reject_why(const char *tok, time_t now, const char *want, int row)
{
    struct gw_principal p;
    struct cm_err err = CM_ERR_INIT;
    char keyhex[65];

    memset(&p, 0x5a, sizeof(p));
    th_assert_idx(gw_token_verify(&keys, tok, now, &p, &err) == CM_EAUTH, row);
    th_assert_idx(err.code == CM_EAUTH && err.msg[0] != '\0', row);
    th_assert_idx(p.creds.username == NULL && p.creds.secret == NULL, row);
    cm_hex_encode(keys.jwt_key, sizeof(keys.jwt_key), keyhex);
    th_assert_idx(strstr(err.msg, PASSWORD) == NULL && strstr(err.msg, keyhex) == NULL, row);
    th_assert_idx(want == NULL || strstr(err.msg, want) != NULL, row);
    if (want != NULL && strstr(err.msg, want) == NULL)
        fprintf(stderr, "    [row %d] want \"%s\", got \"%s\"\n", row, want, err.msg);
    gw_principal_fini(&p);
}

static void expect_reject(const char *tok, time_t now, int row)
{
    expect_reject_why(tok, now, NULL, row);
}

static void expect_accept(const char *tok, time_t now, int row)
{
    struct gw_principal p;
    struct cm_err err = CM_ERR_INIT;

    th_assert_idx(gw_token_verify(&keys, tok, now, &p, &err) == 0, row);
    th_assert_idx(p.creds.username != NULL && strcmp(p.creds.username, "alice") == 0, row);
    th_assert_idx(p.creds.secret != NULL && strcmp(p.creds.secret, PASSWORD) == 0, row);
    if (err.msg[0] != '\0')
        fprintf(stderr, "    [row %d] unexpected: %s\n", row, err.msg);
    gw_principal_fini(&p);
}

/* ---- tests ------------------------------------------------------------------ */

static void test_round_trip(void)
{
    struct ib_creds cr = { .username = "alice", .secret = PASSWORD, .mech = IB_AUTH_XOAUTH2 };
    struct gw_principal p;
    struct cm_err err = CM_ERR_INIT;
    char *tok = NULL;
    time_t exp = 0;

    th_assert(gw_token_issue(&keys, &cr, "aXYZ", NOW, &tok, &exp, &err) == 0);
    th_assert(exp == NOW + TTL);
    th_assert(tok != NULL && strlen(tok) <= GW_TOKEN_MAX);
    if (tok == NULL)
        return;
    /* The password is sealed: it must not appear in the token in clear. */
    th_assert(strstr(tok, PASSWORD) == NULL);
    th_assert(gw_token_verify(&keys, tok, NOW + 10, &p, &err) == 0);
    th_assert(p.exp == NOW + TTL);
    th_assert(p.creds.username && strcmp(p.creds.username, "alice") == 0);
    th_assert(p.creds.secret && strcmp(p.creds.secret, PASSWORD) == 0);
    th_assert(p.creds.mech == IB_AUTH_XOAUTH2);
    gw_principal_fini(&p);
    th_assert(p.creds.username == NULL && p.creds.secret == NULL);
    /* Still good within the skew after exp, refused beyond it. */
    th_assert(gw_token_verify(&keys, tok, NOW + TTL + 59, &p, &err) == 0);
    gw_principal_fini(&p);
    expect_reject_why(tok, NOW + TTL + 61, "expired", 0);
    free(tok);
}

static void test_issue_unique_and_bad_input(void)
{
    struct ib_creds cr = { .username = "alice", .secret = PASSWORD, .mech = IB_AUTH_LOGIN };
    struct ib_creds latin1 = { .username = "al\xe9", .secret = PASSWORD, .mech = IB_AUTH_LOGIN };
    struct cm_err err = CM_ERR_INIT;
    char *a = NULL, *b = NULL;
    time_t exp;

    th_assert(gw_token_issue(&keys, &cr, NULL, NOW, &a, &exp, &err) == 0);
    th_assert(gw_token_issue(&keys, &cr, NULL, NOW, &b, &exp, &err) == 0);
    th_assert(a != NULL && b != NULL && strcmp(a, b) != 0); /* fresh jti and nonce */
    free(a);
    free(b);
    th_assert(gw_token_issue(&keys, &latin1, NULL, NOW, &a, &exp, &err) == CM_EINVAL);
}

static void test_hand_forged_valid(void)
{
    char *tok = sign_good(good_claims());

    /* Proves the forging helpers make tokens verify accepts; so the
       rejections below are caused by the one thing each test changes. */
    expect_accept(tok, NOW, 0);
    free(tok);
}

static void test_bad_signatures(void)
{
    unsigned char other[32];
    char *tok, *dot;

    tok = sign_good(good_claims());
    dot = strrchr(tok, '.');
    dot[5] = dot[5] == 'A' ? 'B' : 'A';
    expect_reject_why(tok, NOW, "bad token signature", 0);
    free(tok);
    /* alg none, unsigned: empty third segment. */
    tok = forge(json_pack("{s:s,s:s}", "alg", "none", "typ", "JWT"), good_claims(), SIG_NONE,
                NULL, 0);
    th_assert(tok[strlen(tok) - 1] == '.');
    expect_reject_why(tok, NOW, "malformed token", 1);
    free(tok);
    /* alg none with a valid-looking signature attached. */
    tok = forge(json_pack("{s:s}", "alg", "none"), good_claims(), SIG_HS256, keys.jwt_key, 32);
    expect_reject_why(tok, NOW, "algorithm", 2);
    free(tok);
    /* Right key, other algorithm. */
    tok = forge(json_pack("{s:s,s:s}", "alg", "HS512", "typ", "JWT"), good_claims(), SIG_HS512,
                keys.jwt_key, 32);
    expect_reject_why(tok, NOW, "algorithm", 3);
    free(tok);
    /* HS256 header but an HS512 MAC (wrong length). */
    tok = forge(good_header(), good_claims(), SIG_HS512, keys.jwt_key, 32);
    expect_reject_why(tok, NOW, "malformed token signature", 4);
    free(tok);
    /* HS256 with another key (e.g. the raw secret instead of the derived key). */
    tok = forge(good_header(), good_claims(), SIG_HS256, secret, sizeof(secret));
    expect_reject_why(tok, NOW, "bad token signature", 5);
    free(tok);
    memcpy(other, keys.jwt_key, 32);
    other[0] ^= 1;
    tok = forge(good_header(), good_claims(), SIG_HS256, other, 32);
    expect_reject_why(tok, NOW, "bad token signature", 6);
    free(tok);
}

static void test_bad_headers(void)
{
    json_t *hdrs[] = {
        json_pack("{s:s,s:s}", "alg", "HS256", "typ", "at+jwt"),
        json_pack("{s:s,s:[s]}", "alg", "HS256", "crit", "exp"),
        json_pack("{s:s}", "alg", "hs256"),
        json_pack("{s:i}", "alg", 256),
        json_pack("{s:s}", "typ", "JWT"),
        json_pack("[s]", "HS256"),
    };

    for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
        char *tok = forge(hdrs[i], good_claims(), SIG_HS256, keys.jwt_key, 32);

        expect_reject(tok, NOW, (int)i);
        free(tok);
    }
}

static void test_times(void)
{
    static const struct {
        const char *claim;
        long long delta; /* value = NOW + delta; 0 with del = remove */
        int remove, ok;
        const char *why;
    } rows[] = {
        { "exp", -61, 0, 0, "expired" },     /* expired beyond the skew */
        { "exp", -59, 0, 1, NULL },          /* expired within the skew */
        { "exp", 0, 1, 0, "no valid exp" },  /* missing exp */
        { "nbf", 61, 0, 0, "not valid yet" },
        { "nbf", 59, 0, 1, NULL },           /* within the skew */
        { "nbf", -100, 0, 1, NULL },         /* already valid */
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        json_t *c = good_claims();
        char *tok;

        if (rows[i].remove)
            json_object_del(c, rows[i].claim);
        else
            json_object_set_new(c, rows[i].claim, json_integer(NOW + rows[i].delta));
        tok = sign_good(c);
        if (rows[i].ok)
            expect_accept(tok, NOW, (int)i);
        else
            expect_reject_why(tok, NOW, rows[i].why, (int)i);
        free(tok);
    }
}

static void test_claim_types(void)
{
    static const char *const bad[][2] = {
        { "exp", "\"1900000000\"" }, /* string exp */
        { "exp", "1.9e9" },          /* real exp */
        { "nbf", "\"0\"" },
        { "iss", "\"someone-else\"" },
        { "iss", "null" },
        { "aud", "\"other-aud\"" },
        { "aud", "[\"x\",\"y\"]" },
        { "aud", "[]" },
        { "aud", "{\"a\":\"" AUD "\"}" },
        { "sub", "\"\"" },
        { "sub", "\"bob\"" },        /* cred sealed for alice */
        { "cred", "\"AAAA\"" },
        { "cred", "42" },
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *c = good_claims();
        char *tok;

        json_object_set_new(c, bad[i][0], json_loads(bad[i][1], JSON_DECODE_ANY, NULL));
        tok = sign_good(c);
        expect_reject(tok, NOW, (int)i);
        free(tok);
    }
    static const char *const missing[] = { "iss", "aud", "sub", "cred" };
    for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
        json_t *c = good_claims();
        char *tok;

        json_object_del(c, missing[i]);
        tok = sign_good(c);
        expect_reject(tok, NOW, 100 + (int)i);
        free(tok);
    }
}

static void test_aud_array(void)
{
    json_t *c = good_claims();
    char *tok;

    json_object_set_new(c, "aud", json_pack("[s,s]", "someone", AUD));
    tok = sign_good(c);
    expect_accept(tok, NOW, 0);
    free(tok);
}

static void test_tampered_cred(void)
{
    json_t *c = good_claims();
    char *cred = strdup(json_string_value(json_object_get(c, "cred"))), *tok;

    /* Flip one bit inside the sealed blob (keep the text canonical). */
    cred[20] = cred[20] == 'A' ? 'B' : 'A';
    json_object_set_new(c, "cred", json_string(cred));
    tok = sign_good(c);
    expect_reject_why(tok, NOW, "do not open", 0);
    free(tok);
    free(cred);
    /* bob's sealed credentials moved into alice's token. */
    c = good_claims();
    cred = sealed_cred("bob", "bob");
    json_object_set_new(c, "cred", json_string(cred));
    tok = sign_good(c);
    expect_reject_why(tok, NOW, "do not open", 1);
    free(tok);
    free(cred);
    /* Sealed with AAD alice but naming bob inside: "u" must equal sub. */
    c = good_claims();
    cred = sealed_cred("bob", "alice");
    json_object_set_new(c, "cred", json_string(cred));
    tok = sign_good(c);
    expect_reject_why(tok, NOW, "another subject", 2);
    free(tok);
    free(cred);
}

static void test_duplicate_claims(void)
{
    /* {"sub":"bob",...,"sub":"alice"}: parsers disagree on which wins. */
    json_t *c = good_claims();
    char *text, *dup, *h, *p, *tok;
    unsigned char mac[32];
    size_t n;

    json_object_del(c, "sub");
    text = json_dumps(c, JSON_COMPACT);
    json_decref(c);
    n = strlen(text) + 64;
    dup = malloc(n);
    snprintf(dup, n, "{\"sub\":\"bob\",\"sub\":\"alice\",%s", text + 1);
    c = good_header();
    h = b64url_json(c);
    json_decref(c);
    p = b64url_of(dup, strlen(dup));
    n = strlen(h) + strlen(p) + 64;
    tok = malloc(n);
    snprintf(tok, n, "%s.%s", h, p);
    th_assert(cm_hmac_sha256(keys.jwt_key, 32, tok, strlen(tok), mac) == 0);
    strcat(tok, ".");
    cm_b64url_encode(mac, 32, tok + strlen(tok));
    expect_reject_why(tok, NOW, "malformed token claims", 0);
    free(tok);
    free(h);
    free(p);
    free(dup);
    free(text);
}

static void test_garbage(void)
{
    static const char *const bad[] = {
        "", "a.b", "...", "a..c", ".b.c", "a.b.", "a.b.c.d", "a.b.c", "!!!.@@@.###",
        "eyJhbGciOiJIUzI1NiJ9", "eyJhbGciOiJIUzI1NiJ9.e30.", "eyJhbGciOiJIUzI1NiJ9.e30.AAAA",
        "eyJhbGciOiJIUzI1NiJ9 .e30.AAAA", "Bearer x.y.z",
    };
    char *big;
    json_t *c;
    char *tok;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_reject(bad[i], NOW, (int)i);
    expect_reject(NULL, NOW, 100);
    /* 10 KB of base64url-looking text. */
    big = malloc(10 * 1024 + 1);
    memset(big, 'A', 10 * 1024);
    big[10] = '.';
    big[20] = '.';
    big[10 * 1024] = '\0';
    expect_reject_why(big, NOW, "too large", 101);
    free(big);
    /* A correctly signed token just over the cap is refused too. */
    c = good_claims();
    big = malloc(GW_TOKEN_MAX);
    memset(big, 'x', GW_TOKEN_MAX - 1);
    big[GW_TOKEN_MAX - 1] = '\0';
    json_object_set_new(c, "pad", json_string(big));
    tok = sign_good(c);
    th_assert(strlen(tok) > GW_TOKEN_MAX);
    expect_reject_why(tok, NOW, "too large", 102);
    free(tok);
    free(big);
}

static void test_basic(void)
{
    static const struct {
        const char *value, *user, *pass;
    } good[] = {
        { "Basic YWxpY2U6czNjcmV0", "alice", "s3cret" },
        { "basic    YWxpY2U6czNjcmV0  ", "alice", "s3cret" },
        { "BASIC\tYWxpY2U6czNjcmV0", "alice", "s3cret" },
        { "Basic YWxpY2U6YTpi", "alice", "a:b" },
        { "Basic dUBleC5vcmc6cMOkc3M=", "u@ex.org", "p\xc3\xa4ss" },
    };
    static const char *const bad[] = {
        "Bearer YWxpY2U6czNjcmV0", "Basic", "Basic ", "BasicYWxpY2U6czNjcmV0",
        "Basic YWxpY2U=",       /* "alice": no colon */
        "Basic OnB3",           /* ":pw": empty user */
        "Basic YWxpY2U6",       /* "alice:": empty password */
        "Basic !!!!",           /* not base64 */
        "Basic YWxpY2U6czNjcmV0 x",
        "Basic YQ1iOmM=",       /* "a\rb:c": CR */
        "Basic YQBiOmM=",       /* "a\0b:c": NUL */
        "",
    };
    struct cm_err err = CM_ERR_INIT;
    struct gw_principal p;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        th_assert_idx(gw_token_parse_basic(good[i].value, &p, &err) == 0, i);
        th_assert_idx(p.creds.username && strcmp(p.creds.username, good[i].user) == 0, i);
        th_assert_idx(p.creds.secret && strcmp(p.creds.secret, good[i].pass) == 0, i);
        th_assert_idx(p.creds.mech == IB_AUTH_LOGIN && p.exp == 0, i);
        gw_principal_fini(&p);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cm_err_clear(&err);
        th_assert_idx(gw_token_parse_basic(bad[i], &p, &err) == CM_EAUTH, i);
        th_assert_idx(err.code == CM_EAUTH, i);
        th_assert_idx(p.creds.username == NULL && p.creds.secret == NULL, i);
        gw_principal_fini(&p);
    }
    th_assert(gw_token_parse_basic(NULL, &p, &err) == CM_EAUTH);
}

static void test_decode_secret(void)
{
    static const struct {
        const char *text;
        size_t len; /* 0 = must fail */
    } rows[] = {
        { "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 32 },
        { "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F2021", 34 },
        { "  000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n", 32 },
        { "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e", 0 },
        { "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1", 0 },
        { "dGhpcyBzZWNyZXQgaXMgZXhhY3RseSAzMiBieXRlcyE=", 32 },  /* base64 */
        { "dGhpcyBzZWNyZXQgaXMgZXhhY3RseSAzMiBieXRlcyE", 32 },   /* unpadded */
        { "-_-_dGhpcyBzZWNyZXQgaXMgZXhhY3RseSAzMiBieXRl", 33 }, /* base64url */
        { "c2hvcnQgc2VjcmV0", 0 },                              /* 12 bytes */
        { "not a secret at all, not base64 or hex!!!!!!!", 0 },
        { "", 0 },
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct cm_err err = CM_ERR_INIT;
        unsigned char *out = NULL;
        size_t len = 0;
        int rc = gw_token_decode_secret(rows[i].text, &out, &len, &err);

        if (rows[i].len != 0) {
            th_assert_idx(rc == 0 && out != NULL && len == rows[i].len, i);
        } else {
            th_assert_idx(rc == CM_ECONFIG && err.code == CM_ECONFIG, i);
            th_assert_idx(strstr(err.msg, "JMAPGATE_SECRET") != NULL, i);
            th_assert_idx(rows[i].text[0] == '\0' || strstr(err.msg, rows[i].text) == NULL, i);
        }
        free(out);
    }
    {
        unsigned char *out = NULL;
        size_t len = 0;

        th_assert(gw_token_decode_secret("000102030405060708090a0b0c0d0e0f"
                                        "101112131415161718191a1b1c1d1e1f", &out, &len, NULL) == 0);
        th_assert(out != NULL && out[0] == 0 && out[31] == 0x1f);
        free(out);
        th_assert(gw_token_decode_secret(NULL, &out, &len, NULL) == CM_ECONFIG);
    }
}

static void test_keys(void)
{
    struct gw_token_keys k2;
    struct cm_err err = CM_ERR_INIT;

    th_assert(gw_token_keys_init(&k2, secret, 31, ISS, AUD, TTL, &err) == CM_ECONFIG);
    th_assert(gw_token_keys_init(&k2, secret, 32, "", AUD, TTL, &err) == CM_ECONFIG);
    th_assert(gw_token_keys_init(&k2, secret, 32, ISS, AUD, TTL, &err) == 0);
    /* Deterministic, and the three keys are independent. */
    th_assert(memcmp(k2.jwt_key, keys.jwt_key, 32) == 0);
    th_assert(memcmp(k2.jwt_key, k2.seal_key, 32) != 0);
    th_assert(memcmp(k2.seal_key, k2.state_key, 32) != 0);
    th_assert(memcmp(k2.jwt_key, secret, 32) != 0);
    gw_token_keys_fini(&k2);
    th_assert(k2.issuer == NULL && k2.audience == NULL);
}

int main(void)
{
    struct cm_err err = CM_ERR_INIT;

    if (gw_token_keys_init(&keys, secret, sizeof(secret), ISS, AUD, TTL, &err) < 0) {
        fprintf(stderr, "keys: %s\n", err.msg);
        return 1;
    }
    th_run("issue -> verify round trip", test_round_trip);
    th_run("issue: unique tokens, bad input", test_issue_unique_and_bad_input);
    th_run("hand-forged valid token accepted", test_hand_forged_valid);
    th_run("bad signatures and algorithms", test_bad_signatures);
    th_run("bad headers", test_bad_headers);
    th_run("exp / nbf with skew", test_times);
    th_run("bad claims", test_claim_types);
    th_run("aud array containing ours", test_aud_array);
    th_run("tampered or moved cred", test_tampered_cred);
    th_run("duplicate claims", test_duplicate_claims);
    th_run("garbage and oversized", test_garbage);
    th_run("Basic parsing", test_basic);
    th_run("secret decoding", test_decode_secret);
    th_run("key derivation", test_keys);
    gw_token_keys_fini(&keys);
    return th_end();
}
