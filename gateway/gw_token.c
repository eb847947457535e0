/* gw_token.c - login tokens (HS256 JWT + sealed credentials) and Basic auth.
 *
 * libjwt 1.10 only checks signatures (LIBS.md §3): it trusts the alg
 * header, accepts anything with a NULL key and validates no claim. So the
 * shape, header, algorithm and every claim are checked here, and libjwt is
 * used for encoding and the HMAC check only.
 */
#include "gateway/gw_token.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <jwt.h>

#include "common/cm_b64.h"
#include "common/cm_crypto.h"

#define LABEL_JWT "jmapgate jwt hs256 v1"
#define LABEL_SEAL "jmapgate cred aes-gcm v1"
#define LABEL_STATE "jmapgate state hmac v1"
#define SEAL_KEY_ID 1
#define JTI_BYTES 16
#define MIN_SECRET 32
#define MAX_BASIC 4096

static const char *const mech_names[] = {
    [IB_AUTH_LOGIN] = "login",
    [IB_AUTH_XOAUTH2] = "xoauth2",
    [IB_AUTH_OAUTHBEARER] = "oauthbearer",
};

static int mech_from_name(const char *name, enum ib_auth_mech *mech_r)
{
    for (size_t i = 0; i < sizeof(mech_names) / sizeof(mech_names[0]); i++) {
        if (strcmp(name, mech_names[i]) == 0) {
            *mech_r = (enum ib_auth_mech)i;
            return 0;
        }
    }
    return -1;
}

/* ---- keys ---------------------------------------------------------------- */

int gw_token_keys_init(struct gw_token_keys *k, const unsigned char *secret, size_t secret_len,
                      const char *issuer, const char *audience, unsigned int ttl_secs,
                      struct cm_err *err)
{
    memset(k, 0, sizeof(*k));
    if (secret == NULL || secret_len < MIN_SECRET)
        return cm_err_set(err, CM_ECONFIG, "secret: need at least %d bytes", MIN_SECRET);
    if (issuer == NULL || issuer[0] == '\0' || audience == NULL || audience[0] == '\0')
        return cm_err_set(err, CM_ECONFIG, "jwt issuer and audience must not be empty");
    if (ttl_secs == 0)
        return cm_err_set(err, CM_ECONFIG, "token ttl must be positive");
    if (cm_hkdf_sha256(secret, secret_len, LABEL_JWT, k->jwt_key, sizeof(k->jwt_key)) < 0 ||
        cm_hkdf_sha256(secret, secret_len, LABEL_SEAL, k->seal_key, sizeof(k->seal_key)) < 0 ||
        cm_hkdf_sha256(secret, secret_len, LABEL_STATE, k->state_key, sizeof(k->state_key)) < 0) {
        gw_token_keys_fini(k);
        return cm_err_set(err, CM_EINTERNAL, "key derivation failed");
    }
    k->issuer = strdup(issuer);
    k->audience = strdup(audience);
    if (k->issuer == NULL || k->audience == NULL) {
        gw_token_keys_fini(k);
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    }
    k->ttl_secs = ttl_secs;
    return 0;
}

void gw_token_keys_fini(struct gw_token_keys *k)
{
    cm_cleanse(k->jwt_key, sizeof(k->jwt_key));
    cm_cleanse(k->seal_key, sizeof(k->seal_key));
    cm_cleanse(k->state_key, sizeof(k->state_key));
    free(k->issuer);
    free(k->audience);
    k->issuer = k->audience = NULL;
}

static bool all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
              (s[i] >= 'A' && s[i] <= 'F')))
            return false;
    }
    return true;
}

static unsigned char *decode_secret_text(const char *s, size_t n, size_t *len_r,
                                         struct cm_err *err)
{
    unsigned char *out;

    if (all_hex(s, n)) {
        if (n < 2 * MIN_SECRET || n % 2 != 0) {
            cm_err_set(err, CM_ECONFIG,
                       "secret (JMAPGATE_SECRET): hex needs an even number of at least %d digits",
                       2 * MIN_SECRET);
            return NULL;
        }
        return cm_hex_decode(s, n, len_r);
    }
    out = cm_b64_decode(s, n, len_r);
    if (out == NULL)
        out = cm_b64url_decode(s, n, len_r);
    if (out == NULL)
        cm_err_set(err, CM_ECONFIG,
                   "secret (JMAPGATE_SECRET): not hex, base64 or base64url text");
    return out;
}

int gw_token_decode_secret(const char *text, unsigned char **out_r, size_t *len_r,
                          struct cm_err *err)
{
    unsigned char *out;
    size_t n, len = 0;

    if (text == NULL)
        return cm_err_set(err, CM_ECONFIG, "secret (JMAPGATE_SECRET) is not set");
    /* Tolerate the whitespace and newline that files and env tools add. */
    while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r')
        text++;
    n = strlen(text);
    while (n > 0 && (text[n - 1] == ' ' || text[n - 1] == '\t' || text[n - 1] == '\n' ||
                     text[n - 1] == '\r'))
        n--;
    out = decode_secret_text(text, n, &len, err);
    if (out == NULL)
        return CM_ECONFIG;
    if (len < MIN_SECRET) {
        cm_cleanse(out, len);
        free(out);
        return cm_err_set(err, CM_ECONFIG,
                          "secret (JMAPGATE_SECRET): decodes to %zu bytes, need at least %d",
                          len, MIN_SECRET);
    }
    *out_r = out;
    *len_r = len;
    return 0;
}

/* ---- issue --------------------------------------------------------------- */

/* Seal {"u","p","m"} under AAD = username; *cred_r is malloc'd base64url. */
static int seal_creds(const struct gw_token_keys *k, const struct ib_creds *cr, char **cred_r,
                      struct cm_err *err)
{
    unsigned char *blob = NULL;
    size_t bloblen = 0, ptlen;
    char *pt = NULL;
    json_t *o;
    int rc;

    if ((unsigned)cr->mech >= sizeof(mech_names) / sizeof(mech_names[0]))
        return cm_err_set(err, CM_EINVAL, "unknown auth mechanism");
    o = json_pack("{s:s,s:s,s:s}", "u", cr->username, "p", cr->secret, "m",
                  mech_names[cr->mech]);
    if (o == NULL)
        return cm_err_set(err, CM_EINVAL, "credentials must be UTF-8 text");
    pt = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (pt == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    ptlen = strlen(pt);
    rc = cm_seal(k->seal_key, SEAL_KEY_ID, cr->username, strlen(cr->username), pt, ptlen, &blob,
                 &bloblen);
    cm_cleanse(pt, ptlen);
    free(pt);
    if (rc < 0)
        return cm_err_set(err, rc, "sealing credentials failed");
    *cred_r = malloc(cm_b64url_encoded_len(bloblen) + 1);
    if (*cred_r != NULL)
        cm_b64url_encode(blob, bloblen, *cred_r);
    free(blob);
    return *cred_r != NULL ? 0 : cm_err_set(err, CM_ENOMEM, "out of memory");
}

static int new_jti(char dst[32])
{
    unsigned char raw[JTI_BYTES];

    if (cm_random(raw, sizeof(raw)) < 0)
        return CM_EINTERNAL;
    cm_b64url_encode(raw, sizeof(raw), dst);
    return 0;
}

/* Add all claims; 0 or -1. */
static int add_claims(jwt_t *j, const struct gw_token_keys *k, const struct ib_creds *cr,
                      const char *account_id, time_t now, const char *jti, const char *cred)
{
    if (jwt_add_grant(j, "sub", cr->username) != 0 || jwt_add_grant(j, "iss", k->issuer) != 0 ||
        jwt_add_grant(j, "aud", k->audience) != 0 || jwt_add_grant_int(j, "iat", now) != 0 ||
        jwt_add_grant_int(j, "exp", now + (time_t)k->ttl_secs) != 0 ||
        jwt_add_grant(j, "jti", jti) != 0 || jwt_add_grant(j, "cred", cred) != 0)
        return -1;
    if (account_id != NULL && jwt_add_grant(j, "acct", account_id) != 0)
        return -1;
    return 0;
}

/* Build and sign the JWT; *tok_r is malloc'd. 0 or -1. */
static int encode_token(const struct gw_token_keys *k, const struct ib_creds *cr,
                        const char *account_id, time_t now, const char *cred, char **tok_r)
{
    char jti[32];
    jwt_t *j = NULL;
    int rc = -1;

    if (new_jti(jti) < 0 || jwt_new(&j) != 0)
        goto done;
    if (add_claims(j, k, cr, account_id, now, jti, cred) < 0 ||
        jwt_set_alg(j, JWT_ALG_HS256, k->jwt_key, sizeof(k->jwt_key)) != 0)
        goto done;
    *tok_r = jwt_encode_str(j);
    if (*tok_r != NULL)
        rc = 0;
done:
    jwt_free(j);
    return rc;
}

int gw_token_issue(const struct gw_token_keys *k, const struct ib_creds *cr,
                  const char *account_id, time_t now, char **token_r, time_t *exp_r,
                  struct cm_err *err)
{
    char *cred = NULL, *tok = NULL;
    int rc;

    if (cr == NULL || cr->username == NULL || cr->username[0] == '\0' || cr->secret == NULL)
        return cm_err_set(err, CM_EINVAL, "no credentials to issue a token for");
    rc = seal_creds(k, cr, &cred, err);
    if (rc < 0)
        return rc;
    if (encode_token(k, cr, account_id, now, cred, &tok) < 0) {
        rc = cm_err_set(err, CM_EINTERNAL, "token encoding failed");
        goto done;
    }
    /* Never hand out a token that verify would refuse for its size. */
    if (strlen(tok) > GW_TOKEN_MAX) {
        rc = cm_err_set(err, CM_ELIMIT, "token would exceed %d bytes", GW_TOKEN_MAX);
        goto done;
    }
    *token_r = tok;
    *exp_r = now + (time_t)k->ttl_secs;
    tok = NULL;
done:
    free(tok);
    free(cred);
    return rc;
}

/* ---- verify -------------------------------------------------------------- */

/* Decode one base64url segment as a JSON object (duplicates refused).
   Returns a new reference or NULL. */
static json_t *segment_json(const char *seg, size_t n)
{
    size_t len = 0;
    unsigned char *raw = cm_b64url_decode(seg, n, &len);
    json_t *o;

    if (raw == NULL)
        return NULL;
    o = json_loadb((const char *)raw, len, JSON_REJECT_DUPLICATES, NULL);
    free(raw);
    if (o != NULL && !json_is_object(o)) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

/* Exactly three non-empty segments; seg[i]/len[i] point into token. */
static int split_token(const char *token, const char *seg[3], size_t len[3])
{
    const char *p = token;

    for (int i = 0; i < 3; i++) {
        const char *dot = strchr(p, '.');

        if ((i < 2) != (dot != NULL))
            return -1;
        seg[i] = p;
        len[i] = dot != NULL ? (size_t)(dot - p) : strlen(p);
        if (len[i] == 0)
            return -1;
        p = dot != NULL ? dot + 1 : p;
    }
    return 0;
}

/* alg must be exactly HS256; typ, when present, JWT; no crit extensions. */
static int check_header(const char *seg, size_t n, struct cm_err *err)
{
    json_t *h = segment_json(seg, n);
    const char *alg, *typ;
    int rc = 0;

    if (h == NULL)
        return cm_err_set(err, CM_EAUTH, "malformed token header");
    alg = json_string_value(json_object_get(h, "alg"));
    typ = json_string_value(json_object_get(h, "typ"));
    if (alg == NULL || strcmp(alg, "HS256") != 0)
        rc = cm_err_set(err, CM_EAUTH, "token algorithm not accepted");
    else if (json_object_get(h, "typ") != NULL && (typ == NULL || strcasecmp(typ, "JWT") != 0))
        rc = cm_err_set(err, CM_EAUTH, "token type not accepted");
    else if (json_object_get(h, "crit") != NULL)
        rc = cm_err_set(err, CM_EAUTH, "token has critical extensions");
    json_decref(h);
    return rc;
}

static int check_signature(const struct gw_token_keys *k, const char *token, const char *sig,
                           size_t siglen, struct cm_err *err)
{
    unsigned char *raw;
    size_t rawlen = 0;
    jwt_t *j = NULL;
    int ok;

    raw = cm_b64url_decode(sig, siglen, &rawlen);
    ok = raw != NULL && rawlen == CM_SHA256_LEN;
    free(raw);
    if (!ok)
        return cm_err_set(err, CM_EAUTH, "malformed token signature");
    /* The key is never NULL here: with a NULL key libjwt skips the check. */
    ok = jwt_decode(&j, token, k->jwt_key, (int)sizeof(k->jwt_key)) == 0 && j != NULL &&
         jwt_get_alg(j) == JWT_ALG_HS256;
    jwt_free(j);
    return ok ? 0 : cm_err_set(err, CM_EAUTH, "bad token signature");
}

/* A NumericDate claim as an integer; -1 if present but not an integer. */
static int get_time(json_t *claims, const char *name, bool *present_r, long long *v_r)
{
    json_t *v = json_object_get(claims, name);

    *present_r = v != NULL;
    if (v == NULL)
        return 0;
    if (!json_is_integer(v))
        return -1;
    *v_r = json_integer_value(v);
    return 0;
}

static int check_times(json_t *claims, time_t now, long long *exp_r, struct cm_err *err)
{
    long long exp = 0, nbf = 0, t = (long long)now;
    bool has_exp, has_nbf;

    if (get_time(claims, "exp", &has_exp, &exp) < 0 || !has_exp)
        return cm_err_set(err, CM_EAUTH, "token has no valid exp");
    if (t - GW_TOKEN_SKEW_SECS > exp)
        return cm_err_set(err, CM_EAUTH, "token expired");
    if (get_time(claims, "nbf", &has_nbf, &nbf) < 0)
        return cm_err_set(err, CM_EAUTH, "token has a malformed nbf");
    if (has_nbf && t + GW_TOKEN_SKEW_SECS < nbf)
        return cm_err_set(err, CM_EAUTH, "token not valid yet");
    *exp_r = exp;
    return 0;
}

static bool aud_matches(json_t *aud, const char *want)
{
    size_t i;
    json_t *v;

    if (json_is_string(aud))
        return strcmp(json_string_value(aud), want) == 0;
    if (!json_is_array(aud))
        return false;
    json_array_foreach(aud, i, v) {
        if (json_is_string(v) && strcmp(json_string_value(v), want) == 0)
            return true;
    }
    return false;
}

static int check_iss_aud(const struct gw_token_keys *k, json_t *claims, struct cm_err *err)
{
    const char *iss = json_string_value(json_object_get(claims, "iss"));

    if (iss == NULL || strcmp(iss, k->issuer) != 0)
        return cm_err_set(err, CM_EAUTH, "token issuer not accepted");
    if (!aud_matches(json_object_get(claims, "aud"), k->audience))
        return cm_err_set(err, CM_EAUTH, "token audience not accepted");
    return 0;
}

/* Fill creds from the opened cred JSON, which must belong to sub. */
static int creds_from_json(const char *pt, size_t len, const char *sub, struct ib_creds *cr,
                           struct cm_err *err)
{
    const char *u = NULL, *pw = NULL, *m = NULL;
    enum ib_auth_mech mech;
    json_t *o;
    int rc;

    o = json_loadb(pt, len, JSON_REJECT_DUPLICATES, NULL);
    if (o == NULL ||
        json_unpack(o, "{s:s,s:s,s:s !}", "u", &u, "p", &pw, "m", &m) != 0 ||
        mech_from_name(m, &mech) < 0) {
        rc = cm_err_set(err, CM_EAUTH, "malformed token credentials");
        goto done;
    }
    if (strcmp(u, sub) != 0) {
        rc = cm_err_set(err, CM_EAUTH, "token credentials belong to another subject");
        goto done;
    }
    rc = ib_creds_init(cr, u, pw, mech);
    if (rc < 0)
        rc = cm_err_set(err, CM_ENOMEM, "out of memory");
done:
    json_decref(o);
    return rc;
}

static int open_creds(const struct gw_token_keys *k, json_t *claims, struct ib_creds *cr,
                      struct cm_err *err)
{
    const char *sub = json_string_value(json_object_get(claims, "sub"));
    const char *cred = json_string_value(json_object_get(claims, "cred"));
    unsigned char *blob = NULL, *pt = NULL;
    size_t bloblen = 0, ptlen = 0;
    int rc;

    if (sub == NULL || sub[0] == '\0')
        return cm_err_set(err, CM_EAUTH, "token has no subject");
    if (cred == NULL)
        return cm_err_set(err, CM_EAUTH, "token has no credentials");
    blob = cm_b64url_decode(cred, strlen(cred), &bloblen);
    if (blob == NULL)
        return cm_err_set(err, CM_EAUTH, "malformed token credentials");
    rc = cm_open(k->seal_key, sub, strlen(sub), blob, bloblen, &pt, &ptlen);
    free(blob);
    if (rc == CM_ENOMEM || rc == CM_EINTERNAL)
        return cm_err_set(err, rc, "opening token credentials failed");
    if (rc < 0)
        return cm_err_set(err, CM_EAUTH, "token credentials do not open");
    rc = creds_from_json((const char *)pt, ptlen, sub, cr, err);
    cm_cleanse(pt, ptlen);
    free(pt);
    return rc;
}

int gw_token_verify(const struct gw_token_keys *k, const char *token, time_t now,
                   struct gw_principal *p, struct cm_err *err)
{
    const char *seg[3];
    size_t len[3];
    json_t *claims = NULL;
    long long exp = 0;
    int rc;

    memset(p, 0, sizeof(*p));
    if (token == NULL || token[0] == '\0')
        return cm_err_set(err, CM_EAUTH, "missing token");
    /* Cap before decoding: libjwt alloca()s buffers sized by the token. */
    if (strnlen(token, GW_TOKEN_MAX + 1) > GW_TOKEN_MAX)
        return cm_err_set(err, CM_EAUTH, "token too large");
    if (split_token(token, seg, len) < 0)
        return cm_err_set(err, CM_EAUTH, "malformed token");
    rc = check_header(seg[0], len[0], err);
    if (rc == 0)
        rc = check_signature(k, token, seg[2], len[2], err);
    if (rc < 0)
        return rc;
    /* Claims are read only once the signature holds. */
    claims = segment_json(seg[1], len[1]);
    if (claims == NULL)
        return cm_err_set(err, CM_EAUTH, "malformed token claims");
    rc = check_times(claims, now, &exp, err);
    if (rc == 0)
        rc = check_iss_aud(k, claims, err);
    if (rc == 0)
        rc = open_creds(k, claims, &p->creds, err);
    if (rc == 0)
        p->exp = (time_t)exp;
    json_decref(claims);
    return rc;
}

/* ---- Basic ---------------------------------------------------------------- */

static int split_basic(const unsigned char *raw, size_t len, struct gw_principal *p,
                       struct cm_err *err)
{
    const unsigned char *colon = memchr(raw, ':', len);
    char *user;
    int rc;

    /* CR, LF and NUL never reach IMAP (ARCHITECTURE §7). */
    if (memchr(raw, '\0', len) != NULL || memchr(raw, '\r', len) != NULL ||
        memchr(raw, '\n', len) != NULL)
        return cm_err_set(err, CM_EAUTH, "Basic credentials contain control characters");
    if (colon == NULL)
        return cm_err_set(err, CM_EAUTH, "Basic credentials have no ':'");
    if (colon == raw)
        return cm_err_set(err, CM_EAUTH, "Basic credentials have an empty user name");
    if ((size_t)(colon - raw) + 1 == len)
        return cm_err_set(err, CM_EAUTH, "Basic credentials have an empty password");
    user = strndup((const char *)raw, (size_t)(colon - raw));
    if (user == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    rc = ib_creds_init(&p->creds, user, (const char *)colon + 1, IB_AUTH_LOGIN);
    free(user);
    return rc < 0 ? cm_err_set(err, CM_ENOMEM, "out of memory") : 0;
}

int gw_token_parse_basic(const char *value, struct gw_principal *p, struct cm_err *err)
{
    unsigned char *raw;
    size_t n, rawlen = 0;
    int rc;

    memset(p, 0, sizeof(*p));
    if (value == NULL || strnlen(value, MAX_BASIC + 1) > MAX_BASIC)
        return cm_err_set(err, CM_EAUTH, "missing or oversized Authorization value");
    if (strncasecmp(value, "Basic", 5) != 0 || (value[5] != ' ' && value[5] != '\t'))
        return cm_err_set(err, CM_EAUTH, "Authorization scheme is not Basic");
    value += 5;
    while (*value == ' ' || *value == '\t')
        value++;
    n = strlen(value);
    while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t'))
        n--;
    raw = cm_b64_decode(value, n, &rawlen);
    if (raw == NULL || rawlen == 0) {
        free(raw);
        return cm_err_set(err, CM_EAUTH, "Basic credentials are not base64");
    }
    rc = split_basic(raw, rawlen, p, err);
    cm_cleanse(raw, rawlen);
    free(raw);
    return rc;
}

void gw_principal_fini(struct gw_principal *p)
{
    ib_creds_fini(&p->creds);
    p->exp = 0;
}
