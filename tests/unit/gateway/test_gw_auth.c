/* test_gw_auth.c - login tokens, the configured secret and Basic
 * credentials. Attack tokens are built by hand (base64url header and
 * payload, HMAC with the derived jwt key) so each test changes exactly one
 * thing; test_forge_baseline proves that an unchanged re-signed payload is
 * accepted, so the refusals are not an artefact of the forging. */
#include <jansson.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm_b64.h"
#include "common/cm_crypto.h"
#include "gateway/gw_auth.h"
#include "harness/th.h"

#define N_ROWS(a) (sizeof(a) / sizeof((a)[0]))
#define NOW ((time_t)1800000000)
#define TTL 3600

static unsigned char secret[32];
static unsigned char jwt_key[32], seal_key[32];
static struct gw_auth_keys keys;

static const char HS256[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

/* ---- forging helpers ---- */

static char *b64url(const void *p, size_t n)
{
    char *s = malloc(cm_b64url_encoded_len(n) + 1);

    cm_b64url_encode(p, n, s);
    return s;
}

enum mac { MAC_HS256, MAC_HS512, MAC_NONE };

/* header.payload.signature with the MAC over the first two parts. */
static char *sign_raw(const char *header, const char *payload, enum mac mac,
                      const unsigned char *key)
{
    char *h = b64url(header, strlen(header)), *p = b64url(payload, strlen(payload));
    size_t n = strlen(h) + 1 + strlen(p);
    char *tok = malloc(n + 1 + 100);
    unsigned char sig[64];
    size_t siglen = 0;

    snprintf(tok, n + 1, "%s.%s", h, p);
    if (mac != MAC_NONE)
        EVP_Q_mac(NULL, "HMAC", NULL, mac == MAC_HS256 ? "SHA256" : "SHA512", NULL, key, 32,
                  (unsigned char *)tok, n, sig, sizeof(sig), &siglen);
    tok[n] = '.';
    cm_b64url_encode(sig, siglen, tok + n + 1);
    free(h);
    free(p);
    return tok;
}

static char *sign_json(const char *header, json_t *payload, enum mac mac,
                       const unsigned char *key)
{
    char *text = json_dumps(payload, JSON_COMPACT);
    char *tok = sign_raw(header, text, mac, key);

    free(text);
    return tok;
}

/* The decoded payload of a token as JSON. */
static json_t *payload_of(const char *tok)
{
    const char *a = strchr(tok, '.'), *b = a ? strchr(a + 1, '.') : NULL;
    size_t n = 0;
    unsigned char *raw = b ? cm_b64url_decode(a + 1, (size_t)(b - a - 1), &n) : NULL;
    json_t *j = raw ? json_loadb((char *)raw, n, 0, NULL) : NULL;

    free(raw);
    return j;
}

static char *issue(const char *user, const char *pw, enum ib_auth_mech mech, time_t now)
{
    struct ib_creds cr = { (char *)user, (char *)pw, mech };
    char *tok = NULL;
    time_t exp = 0;
    struct cm_err err = CM_ERR_INIT;

    th_assert(gw_auth_issue(&keys, &cr, "acct1", now, &tok, &exp, &err) == 0);
    th_assert(exp == now + TTL);
    return tok;
}

/* A valid payload for alice at NOW, ready to be changed. */
static json_t *alice_payload(void)
{
    char *tok = issue("alice", "pw-alice", IB_AUTH_LOGIN, NOW);
    json_t *j = payload_of(tok);

    free(tok);
    return j;
}

static int verify(const char *tok, time_t now)
{
    struct gw_principal p;
    struct cm_err err = CM_ERR_INIT;
    int rc = gw_auth_verify(&keys, tok, now, &p, &err);

    if (rc != 0) {
        th_assert(p.creds.username == NULL && p.creds.secret == NULL && p.exp == 0);
        th_assert(err.code == rc && err.msg[0] != '\0');
        th_assert(strstr(err.msg, "pw-") == NULL); /* no secret in the reason */
    }
    gw_principal_fini(&p);
    return rc;
}

static int verify_json(json_t *payload, time_t now)
{
    char *tok = sign_json(HS256, payload, MAC_HS256, jwt_key);
    int rc = verify(tok, now);

    free(tok);
    return rc;
}

static char *cred_for(const char *aad, const char *plain)
{
    unsigned char *blob = NULL;
    size_t blen = 0;
    char *text;

    th_assert(cm_seal(seal_key, 1, aad, strlen(aad), plain, strlen(plain), &blob, &blen) == 0);
    text = b64url(blob, blen);
    free(blob);
    return text;
}

/* ---- tests ---- */

static void test_keys(void)
{
    struct gw_auth_keys k2;
    struct cm_err err = CM_ERR_INIT;

    th_assert(memcmp(keys.jwt_key, jwt_key, 32) == 0);
    th_assert(memcmp(keys.seal_key, seal_key, 32) == 0);
    th_assert(memcmp(keys.jwt_key, keys.seal_key, 32) != 0);
    th_assert(memcmp(keys.jwt_key, keys.state_key, 32) != 0);
    th_assert(memcmp(keys.seal_key, keys.state_key, 32) != 0);
    th_assert(gw_auth_keys_init(&k2, secret, 31, "i", "a", 60, &err) == CM_ECONFIG);
    gw_auth_keys_fini(&k2);
    th_assert(gw_auth_keys_init(&k2, secret, 32, "i", "a", 60, &err) == 0);
    th_assert(memcmp(k2.jwt_key, jwt_key, 32) == 0); /* deterministic */
    gw_auth_keys_fini(&k2);
    th_assert(k2.issuer == NULL && k2.audience == NULL);
}

static void test_round_trip(void)
{
    static const struct {
        const char *user, *pw;
        enum ib_auth_mech mech;
    } rows[] = {
        { "alice", "pw-alice", IB_AUTH_LOGIN },
        { "bob@example.org", "pw-\"quoted\" \\ \xc3\xa9", IB_AUTH_XOAUTH2 },
        { "c", "", IB_AUTH_OAUTHBEARER },
    };

    for (size_t i = 0; i < N_ROWS(rows); i++) {
        char *tok = issue(rows[i].user, rows[i].pw, rows[i].mech, NOW);
        json_t *j = tok ? payload_of(tok) : NULL;
        struct gw_principal p;
        struct cm_err err = CM_ERR_INIT;

        th_assert_idx(tok != NULL && strlen(tok) <= GW_AUTH_MAX_TOKEN, i);
        if (tok == NULL)
            continue;
        th_assert_idx(gw_auth_verify(&keys, tok, NOW, &p, &err) == 0, i);
        th_assert_idx(p.creds.username && strcmp(p.creds.username, rows[i].user) == 0, i);
        th_assert_idx(p.creds.secret && strcmp(p.creds.secret, rows[i].pw) == 0, i);
        th_assert_idx(p.creds.mech == rows[i].mech, i);
        th_assert_idx(p.exp == NOW + TTL, i);
        gw_principal_fini(&p);
        th_assert_idx(p.creds.username == NULL && p.creds.secret == NULL, i);
        /* claims as documented; the password is only inside the sealed cred */
        th_assert_idx(j != NULL, i);
        th_assert_idx(strcmp(json_string_value(json_object_get(j, "sub")), rows[i].user) == 0, i);
        th_assert_idx(strcmp(json_string_value(json_object_get(j, "iss")), "jmapgate") == 0, i);
        th_assert_idx(strcmp(json_string_value(json_object_get(j, "aud")), "jmapgate") == 0, i);
        th_assert_idx(strcmp(json_string_value(json_object_get(j, "acct")), "acct1") == 0, i);
        th_assert_idx(json_integer_value(json_object_get(j, "iat")) == NOW, i);
        th_assert_idx(json_integer_value(json_object_get(j, "exp")) == NOW + TTL, i);
        th_assert_idx(json_is_string(json_object_get(j, "jti")), i);
        th_assert_idx(rows[i].pw[0] == '\0' || strstr(tok, rows[i].pw) == NULL, i);
        {
            char *text = json_dumps(j, 0);

            th_assert_idx(rows[i].pw[0] == '\0' || strstr(text, rows[i].pw) == NULL, i);
            free(text);
        }
        json_decref(j);
        free(tok);
    }
    /* two tokens for the same login differ (jti, nonce) */
    {
        char *a = issue("alice", "pw-alice", IB_AUTH_LOGIN, NOW);
        char *b = issue("alice", "pw-alice", IB_AUTH_LOGIN, NOW);

        th_assert(strcmp(a, b) != 0);
        free(a);
        free(b);
    }
}

static void test_forge_baseline(void)
{
    json_t *j = alice_payload();
    char *tok = sign_json(HS256, j, MAC_HS256, jwt_key);
    struct gw_principal p;

    th_assert(gw_auth_verify(&keys, tok, NOW, &p, NULL) == 0);
    th_assert(p.creds.username && strcmp(p.creds.username, "alice") == 0);
    gw_principal_fini(&p);
    free(tok);
    /* header without typ, and with typ "jwt", are fine too */
    tok = sign_json("{\"alg\":\"HS256\"}", j, MAC_HS256, jwt_key);
    th_assert(verify(tok, NOW) == 0);
    free(tok);
    json_decref(j);
}

static void test_signature_attacks(void)
{
    json_t *j = alice_payload();
    char *good = sign_json(HS256, j, MAC_HS256, jwt_key), *tok;
    char *sig = strrchr(good, '.') + 1;
    unsigned char *raw;
    size_t rawlen = 0;

    /* every byte of the signature flipped in turn */
    raw = cm_b64url_decode(sig, strlen(sig), &rawlen);
    th_assert(raw != NULL && rawlen == 32);
    for (size_t i = 0; raw && i < rawlen; i++) {
        size_t prefix = (size_t)(sig - good);

        tok = malloc(prefix + 64);
        memcpy(tok, good, prefix);
        raw[i] ^= 0x01;
        cm_b64url_encode(raw, rawlen, tok + prefix);
        raw[i] ^= 0x01;
        th_assert_idx(verify(tok, NOW) == CM_EAUTH, i);
        free(tok);
    }
    free(raw);
    /* signature dropped or truncated */
    tok = strdup(good);
    tok[strlen(tok) - 1] = '\0';
    th_assert(verify(tok, NOW) == CM_EAUTH);
    *strrchr(tok, '.') = '\0';
    th_assert(verify(tok, NOW) == CM_EAUTH);
    strcat(tok, ".");
    th_assert(verify(tok, NOW) == CM_EAUTH);
    free(tok);

    /* alg none, unsigned and with a junk signature, any spelling */
    {
        static const char *const none_hdrs[] = {
            "{\"alg\":\"none\",\"typ\":\"JWT\"}",
            "{\"alg\":\"NoNe\"}",
            "{\"alg\":\"HS256\",\"alg\":\"none\"}",
        };

        for (size_t i = 0; i < N_ROWS(none_hdrs); i++) {
            tok = sign_json(none_hdrs[i], j, MAC_NONE, NULL);
            th_assert_idx(verify(tok, NOW) == CM_EAUTH, i); /* "h.p." */
            free(tok);
            tok = sign_json(none_hdrs[i], j, MAC_HS256, jwt_key);
            th_assert_idx(verify(tok, NOW) == CM_EAUTH, i);
            free(tok);
        }
    }
    /* the right key, the wrong algorithm */
    tok = sign_json("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", j, MAC_HS512, jwt_key);
    th_assert(verify(tok, NOW) == CM_EAUTH);
    free(tok);
    tok = sign_json("{\"alg\":\"HS384\",\"typ\":\"JWT\"}", j, MAC_HS512, jwt_key);
    th_assert(verify(tok, NOW) == CM_EAUTH);
    free(tok);
    /* HS256 with another key: a random one, the seal key, the raw secret */
    {
        unsigned char other[32];

        memset(other, 0x42, sizeof(other));
        tok = sign_json(HS256, j, MAC_HS256, other);
        th_assert(verify(tok, NOW) == CM_EAUTH);
        free(tok);
        tok = sign_json(HS256, j, MAC_HS256, seal_key);
        th_assert(verify(tok, NOW) == CM_EAUTH);
        free(tok);
        tok = sign_json(HS256, j, MAC_HS256, secret);
        th_assert(verify(tok, NOW) == CM_EAUTH);
        free(tok);
    }
    /* an unknown typ (libjwt refuses at+jwt) and a header that is not JSON */
    tok = sign_json("{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}", j, MAC_HS256, jwt_key);
    th_assert(verify(tok, NOW) == CM_EAUTH);
    free(tok);
    tok = sign_json("[\"HS256\"]", j, MAC_HS256, jwt_key);
    th_assert(verify(tok, NOW) == CM_EAUTH);
    free(tok);
    tok = sign_raw(HS256, "not json", MAC_HS256, jwt_key);
    th_assert(verify(tok, NOW) == CM_EAUTH);
    free(tok);
    tok = sign_raw(HS256, "[1,2]", MAC_HS256, jwt_key);
    th_assert(verify(tok, NOW) == CM_EAUTH);
    free(tok);
    free(good);
    json_decref(j);
}

static void test_times(void)
{
    static const struct {
        const char *claim;
        long long offset; /* from NOW */
        int rc;
    } rows[] = {
        { "exp", -3600, CM_EAUTH }, { "exp", -61, CM_EAUTH }, { "exp", -60, 0 },
        { "exp", -1, 0 },           { "exp", 0, 0 },          { "exp", 10, 0 },
        { "nbf", 61, CM_EAUTH },    { "nbf", 3600, CM_EAUTH }, { "nbf", 60, 0 },
        { "nbf", 0, 0 },            { "nbf", -10, 0 },
    };

    for (size_t i = 0; i < N_ROWS(rows); i++) {
        json_t *j = alice_payload();

        json_object_set_new(j, rows[i].claim, json_integer((long long)NOW + rows[i].offset));
        th_assert_idx(verify_json(j, NOW) == rows[i].rc, i);
        json_decref(j);
    }
    /* the issued token itself, just before and after its life + skew */
    {
        char *tok = issue("alice", "pw-alice", IB_AUTH_LOGIN, NOW);

        th_assert(verify(tok, NOW + TTL + 60) == 0);
        th_assert(verify(tok, NOW + TTL + 61) == CM_EAUTH);
        th_assert(verify(tok, NOW - 3600) == 0); /* iat is not checked; nbf is absent */
        free(tok);
    }
}

static void test_bad_exp(void)
{
    json_t *rows[8];
    size_t n = 0;

    rows[n++] = NULL;                                   /* missing */
    rows[n++] = json_string("1800003600");              /* a string */
    rows[n++] = json_real(1800003600.0);                /* a real */
    rows[n++] = json_integer(0);
    rows[n++] = json_integer(-1);
    rows[n++] = json_true();
    rows[n++] = json_null();
    rows[n++] = json_pack("[I]", (json_int_t)NOW + 3600); /* an array */
    for (size_t i = 0; i < n; i++) {
        json_t *j = alice_payload();

        if (rows[i] == NULL)
            json_object_del(j, "exp");
        else
            json_object_set_new(j, "exp", rows[i]);
        th_assert_idx(verify_json(j, NOW) == CM_EAUTH, i);
        json_decref(j);
    }
}

/* A far-future exp must be judged without signed overflow (UBSan aborts
   on `exp + skew` for LONG_MAX). */
static void test_exp_extremes(void)
{
    static const long long exps[] = { LLONG_MAX, LLONG_MAX - 59, LLONG_MAX - 60 };

    for (size_t i = 0; i < N_ROWS(exps); i++) {
        json_t *j = alice_payload();

        json_object_set_new(j, "exp", json_integer(exps[i]));
        th_assert_idx(verify_json(j, NOW) == 0, i);
        json_decref(j);
    }
    {
        json_t *j = alice_payload();

        json_object_set_new(j, "nbf", json_integer(LLONG_MAX));
        th_assert(verify_json(j, NOW) == CM_EAUTH);
        json_decref(j);
    }
}

static void test_iss_aud(void)
{
    static const struct {
        const char *claim, *json; /* json NULL: remove the claim */
        int rc;
    } rows[] = {
        { "iss", "\"other\"", CM_EAUTH },
        { "iss", "\"jmapgatE\"", CM_EAUTH },
        { "iss", "\"jmapgate \"", CM_EAUTH },
        { "iss", "\"\"", CM_EAUTH },
        { "iss", NULL, CM_EAUTH },
        { "iss", "[\"jmapgate\"]", CM_EAUTH },
        { "iss", "1", CM_EAUTH },
        { "aud", "\"other\"", CM_EAUTH },
        { "aud", "\"jmapgate2\"", CM_EAUTH },
        { "aud", NULL, CM_EAUTH },
        { "aud", "[\"x\",\"jmapgate\"]", 0 },
        { "aud", "[\"jmapgate\"]", 0 },
        { "aud", "[1,null,\"jmapgate\"]", 0 },
        { "aud", "[\"x\",\"y\"]", CM_EAUTH },
        { "aud", "[]", CM_EAUTH },
        { "aud", "[[\"jmapgate\"]]", CM_EAUTH },
        { "aud", "{\"jmapgate\":1}", CM_EAUTH },
        { "aud", "1", CM_EAUTH },
        { "aud", "null", CM_EAUTH },
    };

    for (size_t i = 0; i < N_ROWS(rows); i++) {
        json_t *j = alice_payload();

        if (rows[i].json == NULL)
            json_object_del(j, rows[i].claim);
        else
            json_object_set_new(j, rows[i].claim,
                                json_loads(rows[i].json, JSON_DECODE_ANY, NULL));
        th_assert_idx(verify_json(j, NOW) == rows[i].rc, i);
        json_decref(j);
    }
}

static void test_cred_attacks(void)
{
    json_t *j = alice_payload();
    const char *cred = json_string_value(json_object_get(j, "cred"));
    unsigned char *blob;
    size_t blen = 0;
    char *bob_tok, *c;
    json_t *bob, *k;

    /* every byte of the sealed blob flipped, re-signed with the right key */
    blob = cm_b64url_decode(cred, strlen(cred), &blen);
    th_assert(blob != NULL && blen > CM_SEAL_OVERHEAD);
    for (size_t i = 0; blob && i < blen; i++) {
        json_t *t = json_deep_copy(j);

        blob[i] ^= 0x80;
        c = b64url(blob, blen);
        blob[i] ^= 0x80;
        json_object_set_new(t, "cred", json_string(c));
        th_assert_idx(verify_json(t, NOW) == CM_EAUTH, i);
        free(c);
        json_decref(t);
    }
    free(blob);

    /* bob's cred moved into alice's token */
    bob_tok = issue("bob", "pw-bob", IB_AUTH_LOGIN, NOW);
    bob = payload_of(bob_tok);
    k = json_deep_copy(j);
    json_object_set(k, "cred", json_object_get(bob, "cred"));
    th_assert(verify_json(k, NOW) == CM_EAUTH);
    json_decref(k);
    /* and alice's sub put on bob's token */
    k = json_deep_copy(bob);
    json_object_set_new(k, "sub", json_string("alice"));
    th_assert(verify_json(k, NOW) == CM_EAUTH);
    json_decref(k);
    json_decref(bob);
    free(bob_tok);

    /* sealed for alice (right AAD) but the content is not a valid login */
    {
        static const struct {
            const char *plain;
            int rc;
        } rows[] = {
            { "{\"u\":\"alice\",\"p\":\"pw-x\",\"m\":0}", 0 }, /* control */
            { "{\"u\":\"bob\",\"p\":\"pw-x\",\"m\":0}", CM_EAUTH },
            { "{\"u\":\"alice\",\"p\":\"pw-x\",\"m\":3}", CM_EAUTH },
            { "{\"u\":\"alice\",\"p\":\"pw-x\",\"m\":-1}", CM_EAUTH },
            { "{\"u\":\"alice\",\"p\":\"pw-x\"}", CM_EAUTH },
            { "{\"u\":\"alice\",\"m\":0}", CM_EAUTH },
            { "{\"u\":\"alice\",\"p\":7,\"m\":0}", CM_EAUTH },
            { "[\"alice\",\"pw-x\",0]", CM_EAUTH },
            { "not json", CM_EAUTH },
            { "", CM_EAUTH },
        };

        for (size_t i = 0; i < N_ROWS(rows); i++) {
            k = json_deep_copy(j);
            c = cred_for("alice", rows[i].plain);
            json_object_set_new(k, "cred", json_string(c));
            th_assert_idx(verify_json(k, NOW) == rows[i].rc, i);
            free(c);
            json_decref(k);
        }
    }

    /* missing or malformed sub / cred */
    {
        static const struct {
            const char *claim, *json;
        } rows[] = {
            { "sub", NULL },          { "sub", "\"\"" },  { "sub", "1" },
            { "sub", "\"bob\"" },     { "cred", NULL },   { "cred", "\"\"" },
            { "cred", "\"!!!!\"" },   { "cred", "1" },    { "cred", "\"QUJD\"" },
        };

        for (size_t i = 0; i < N_ROWS(rows); i++) {
            k = json_deep_copy(j);
            if (rows[i].json == NULL)
                json_object_del(k, rows[i].claim);
            else
                json_object_set_new(k, rows[i].claim,
                                    json_loads(rows[i].json, JSON_DECODE_ANY, NULL));
            th_assert_idx(verify_json(k, NOW) == CM_EAUTH, i);
            json_decref(k);
        }
    }
    json_decref(j);
}

/* A correctly signed token of exactly `len` characters: an extra "pad"
   claim fills the payload, a "kid" of 0..3 characters in the header gets
   the lengths base64url cannot reach with the payload alone. */
static char *token_of_len(size_t len)
{
    json_t *j = alice_payload();
    char *fill = calloc(len + 1, 1), *tok = NULL;

    for (size_t kid = 0; kid < 4 && tok == NULL; kid++) {
        char hdr[64];

        snprintf(hdr, sizeof(hdr), "{\"alg\":\"HS256\",\"kid\":\"%.*s\"}", (int)kid, "kkk");
        for (size_t pad = 0; pad < len; pad++) {
            char *t;
            size_t n;

            memset(fill, 'x', pad);
            fill[pad] = '\0';
            json_object_set_new(j, "pad", json_string(fill));
            t = sign_json(hdr, j, MAC_HS256, jwt_key);
            n = strlen(t);
            if (n == len) {
                tok = t;
                break;
            }
            free(t);
            if (n > len)
                break;
        }
    }
    free(fill);
    json_decref(j);
    return tok;
}

static void test_size_cap(void)
{
    char *tok = token_of_len(GW_AUTH_MAX_TOKEN), *big;

    th_assert(tok != NULL);
    if (tok != NULL) {
        th_assert(verify(tok, NOW) == 0);
        free(tok);
    }
    tok = token_of_len(GW_AUTH_MAX_TOKEN + 1);
    th_assert(tok != NULL);
    if (tok != NULL) {
        th_assert(verify(tok, NOW) == CM_EAUTH);
        free(tok);
    }
    /* 10 KB, correctly signed */
    {
        json_t *j = alice_payload();
        char fill[10240];

        memset(fill, 'y', sizeof(fill) - 1);
        fill[sizeof(fill) - 1] = '\0';
        json_object_set_new(j, "pad", json_string(fill));
        big = sign_json(HS256, j, MAC_HS256, jwt_key);
        th_assert(strlen(big) > 10240);
        th_assert(verify(big, NOW) == CM_EAUTH);
        free(big);
        json_decref(j);
    }
}

static void test_garbage(void)
{
    static const char *const rows[] = {
        "",
        "a",
        "a.b",
        "...",
        "..",
        "a..c",
        ".b.c",
        "a.b.",
        "a.b.c.d",
        "a.b.c",
        "a+b.c/d.e=f",
        "a.b.c=",
        "eyJhbGciOiJIUzI1NiJ9.e30.",
        "eyJhbGciOiJIUzI1NiJ9.e30.AAAA",
        " eyJhbGciOiJIUzI1NiJ9.e30.AAAA",
        "eyJhbGciOiJIUzI1NiJ9.e30.AAAA\n",
        "Bearer eyJhbGciOiJIUzI1NiJ9.e30.AAAA",
        "\xff\xfe.\x01.\x02",
    };

    for (size_t i = 0; i < N_ROWS(rows); i++)
        th_assert_idx(verify(rows[i], NOW) == CM_EAUTH, i);
    th_assert(verify(NULL, NOW) == CM_EAUTH);
    /* a valid token with a space or newline appended or inserted */
    {
        char *tok = issue("alice", "pw-alice", IB_AUTH_LOGIN, NOW);
        size_t n = strlen(tok);
        char *t2 = malloc(n + 2);

        memcpy(t2, tok, n);
        t2[n] = ' ';
        t2[n + 1] = '\0';
        th_assert(verify(t2, NOW) == CM_EAUTH);
        memcpy(t2, tok, n + 1);
        t2[n / 2] = '\n';
        th_assert(verify(t2, NOW) == CM_EAUTH);
        free(t2);
        free(tok);
    }
}

static void test_decode_secret(void)
{
    static const char hex64[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    char hex63z[64], hex63f[64], hex62[63], hex60[61], hex48[49], hex128[129], upper[65];
    char *b64_32, *b64_31, *url_32;
    unsigned char raw32[32], raw31[31];

    for (int i = 0; i < 32; i++)
        raw32[i] = (unsigned char)(0xf8 + i); /* gives '+' '/' '-' '_' in the encodings */
    memcpy(raw31, raw32, 31);
    b64_32 = cm_b64_encode(raw32, 32);
    b64_31 = cm_b64_encode(raw31, 31);
    url_32 = b64url(raw32, 32);
    memset(hex63z, '0', 63);
    hex63z[63] = '\0';
    memcpy(hex63f, hex64, 63);
    hex63f[62] = 'f';
    hex63f[63] = '\0';
    memcpy(hex62, hex64, 62);
    hex62[62] = '\0';
    memcpy(hex60, hex64, 60);
    hex60[60] = '\0';
    memcpy(hex48, hex64, 48);
    hex48[48] = '\0';
    memcpy(hex128, hex64, 64);
    memcpy(hex128 + 64, hex64, 65);
    for (int i = 0; i < 65; i++)
        upper[i] = (char)(hex64[i] >= 'a' ? hex64[i] - 32 : hex64[i]);
    {
        const struct {
            const char *text;
            size_t len; /* 0: refused */
            const unsigned char *bytes;
        } rows[] = {
            { hex64, 32, (const unsigned char *)"\x00\x01\x02\x03\x04" },
            { upper, 32, (const unsigned char *)"\x00\x01\x02\x03\x04" },
            { hex128, 64, (const unsigned char *)"\x00\x01\x02\x03\x04" },
            { b64_32, 32, raw32 },
            { url_32, 32, raw32 },
            { hex63z, 0, NULL }, /* one hex digit short: not base64 either */
            { hex63f, 0, NULL },
            { hex62, 0, NULL },
            { hex60, 0, NULL },  /* 30 bytes as hex, must not pass as 45 of base64 */
            { hex48, 0, NULL },  /* `openssl rand -hex 24` */
            { b64_31, 0, NULL },
            { "", 0, NULL },
            { "not a secret at all, just a sentence of text", 0, NULL },
            { "0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 0, NULL },
        };

        for (size_t i = 0; i < N_ROWS(rows); i++) {
            unsigned char *out = NULL;
            size_t len = 0;
            struct cm_err err = CM_ERR_INIT;
            int rc = gw_auth_decode_secret(rows[i].text, &out, &len, &err);

            if (rows[i].len == 0) {
                th_assert_idx(rc == CM_ECONFIG && out == NULL, i);
                th_assert_idx(strstr(err.msg, "secret") != NULL, i);
            } else {
                th_assert_idx(rc == 0 && len == rows[i].len, i);
                th_assert_idx(out != NULL && memcmp(out, rows[i].bytes, 5) == 0, i);
            }
            free(out);
        }
    }
    free(b64_32);
    free(b64_31);
    free(url_32);
}

static void test_parse_basic(void)
{
    static const struct {
        const char *value;
        const char *user, *pw; /* user NULL: refused */
    } rows[] = {
        { "Basic YWxpY2U6cHctYWxpY2U=", "alice", "pw-alice" },  /* alice:pw-alice */
        { "basic YWxpY2U6cHctYWxpY2U=", "alice", "pw-alice" },  /* scheme is case-insensitive */
        { "BASIC YWxpY2U6cHctYWxpY2U=", "alice", "pw-alice" },
        { "Basic    YWxpY2U6cHctYWxpY2U=", "alice", "pw-alice" },
        { "Basic YWxpY2U6cDp3", "alice", "p:w" },                /* alice:p:w */
        { "Basic YWxpY2U6", "alice", "" },                       /* alice: */
        { "Basic w6lsw6g6cHc=", "\xc3\xa9l\xc3\xa8", "pw" },     /* UTF-8 user */
        { "Basic YWxpY2U=", NULL, NULL },                        /* alice (no colon) */
        { "Basic OnB3", NULL, NULL },                            /* :pw */
        { "Basic Og==", NULL, NULL },                            /* : */
        { "Basic !!!!", NULL, NULL },
        { "Basic YWxpY2U6cHc", "alice", "pw" },                  /* padding is optional */
        { "Basic YWxpY2U6cHd=", NULL, NULL },                    /* non-canonical tail */
        { "Basic YWxpY2U6cHc=x", NULL, NULL },
        { "Basic YWxpY2U6cA0Kdw==", NULL, NULL },                /* alice:p\r\nw */
        { "Basic YWwKaWNlOnB3", NULL, NULL },                    /* al\nice:pw */
        { "Basic YWxpY2U6cA13", NULL, NULL },                    /* alice:p\rw */
        { "Basic YWxpY2U6cAB3", NULL, NULL },                    /* alice:p\0w */
        { "Basic YWxp\r\nY2U6cHctYWxpY2U=", NULL, NULL },
        { "Basic YWxpY2U6cHctYWxpY2U= ", NULL, NULL },
        { "Basic ", NULL, NULL },
        { "Basic", NULL, NULL },
        { "BasicYWxpY2U6cHctYWxpY2U=", NULL, NULL },
        { "Bearer YWxpY2U6cHctYWxpY2U=", NULL, NULL },
        { "", NULL, NULL },
    };

    for (size_t i = 0; i < N_ROWS(rows); i++) {
        struct gw_principal p;
        struct cm_err err = CM_ERR_INIT;
        int rc = gw_auth_parse_basic(rows[i].value, &p, &err);

        if (rows[i].user == NULL) {
            th_assert_idx(rc == CM_EAUTH && err.code == CM_EAUTH, i);
            th_assert_idx(p.creds.username == NULL && p.creds.secret == NULL, i);
        } else {
            th_assert_idx(rc == 0, i);
            th_assert_idx(p.creds.username && strcmp(p.creds.username, rows[i].user) == 0, i);
            th_assert_idx(p.creds.secret && strcmp(p.creds.secret, rows[i].pw) == 0, i);
            th_assert_idx(p.creds.mech == IB_AUTH_LOGIN && p.exp == 0, i);
        }
        gw_principal_fini(&p);
    }
}

int main(void)
{
    struct cm_err err = CM_ERR_INIT;

    if (cm_crypto_init() != 0)
        return 1;
    for (int i = 0; i < 32; i++)
        secret[i] = (unsigned char)(i * 7 + 1);
    if (cm_hkdf_sha256(secret, sizeof(secret), "jmapgate jwt hs256 v1", jwt_key, 32) != 0 ||
        cm_hkdf_sha256(secret, sizeof(secret), "jmapgate cred aes-gcm v1", seal_key, 32) != 0 ||
        gw_auth_keys_init(&keys, secret, sizeof(secret), "jmapgate", "jmapgate", TTL, &err) != 0)
        return 1;
    th_run("auth.keys", test_keys);
    th_run("auth.round_trip", test_round_trip);
    th_run("auth.forge_baseline", test_forge_baseline);
    th_run("auth.signature_attacks", test_signature_attacks);
    th_run("auth.times", test_times);
    th_run("auth.bad_exp", test_bad_exp);
    th_run("auth.exp_extremes", test_exp_extremes);
    th_run("auth.iss_aud", test_iss_aud);
    th_run("auth.cred_attacks", test_cred_attacks);
    th_run("auth.size_cap", test_size_cap);
    th_run("auth.garbage", test_garbage);
    th_run("auth.decode_secret", test_decode_secret);
    th_run("auth.parse_basic", test_parse_basic);
    gw_auth_keys_fini(&keys);
    return th_end();
}
