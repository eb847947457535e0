/* gw_auth.c - login tokens (HS256 JWT with sealed IMAP credentials) and
 * Basic credentials. libjwt 1.10 checks only the signature, and only when
 * given a key, so every claim is checked here (LIBS.md §3). */
#include "gateway/gw_auth.h"

#include <errno.h>
#include <jansson.h>
#include <jwt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cm_b64.h"
#include "common/cm_crypto.h"

#define CLOCK_SKEW_SECS 60
#define KEY_ID 1

int gw_auth_keys_init(struct gw_auth_keys *k, const unsigned char *secret, size_t secret_len,
                      const char *issuer, const char *audience, unsigned int ttl_secs,
                      struct cm_err *err)
{
    memset(k, 0, sizeof(*k));
    if (secret_len < 32)
        return cm_err_set(err, CM_ECONFIG, "secret: at least 32 bytes are needed");
    if (cm_hkdf_sha256(secret, secret_len, "jmapgate jwt hs256 v1", k->jwt_key, 32) < 0 ||
        cm_hkdf_sha256(secret, secret_len, "jmapgate cred aes-gcm v1", k->seal_key, 32) < 0 ||
        cm_hkdf_sha256(secret, secret_len, "jmapgate state hmac v1", k->state_key, 32) < 0)
        return cm_err_set(err, CM_EINTERNAL, "cannot derive keys");
    k->issuer = strdup(issuer);
    k->audience = strdup(audience);
    k->ttl_secs = ttl_secs;
    if (k->issuer == NULL || k->audience == NULL) {
        gw_auth_keys_fini(k);
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    }
    return 0;
}

void gw_auth_keys_fini(struct gw_auth_keys *k)
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
        char c = s[i];

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return false;
    }
    return true;
}

int gw_auth_decode_secret(const char *text, unsigned char **out_r, size_t *len_r,
                          struct cm_err *err)
{
    size_t n = strlen(text), len = 0;
    unsigned char *raw = NULL;

    /* Text of hex digits only is hex, never base64: read as base64 it decodes
       to 3/4 more bytes, so 48 hex digits (24 bytes) would pass as 36. */
    if (all_hex(text, n)) {
        if (n >= 64 && n % 2 == 0)
            raw = cm_hex_decode(text, n, &len);
    } else {
        raw = cm_b64_decode(text, n, &len);
        if (raw == NULL)
            raw = cm_b64url_decode(text, n, &len);
    }
    if (raw == NULL || len < 32) {
        if (raw != NULL)
            cm_cleanse(raw, len);
        free(raw);
        return cm_err_set(err, CM_ECONFIG,
                          "secret: expected at least 32 bytes as hex (64+ digits) or base64 "
                          "(e.g. `openssl rand -hex 32`)");
    }
    *out_r = raw;
    *len_r = len;
    return 0;
}

/* cred claim: base64url(seal({"u":user,"p":secret,"m":mech}, aad=user)). */
static char *seal_creds(const struct gw_auth_keys *k, const struct ib_creds *cr)
{
    json_t *j = json_pack("{s:s,s:s,s:i}", "u", cr->username, "p", cr->secret, "m", cr->mech);
    char *plain = j ? json_dumps(j, JSON_COMPACT) : NULL, *text = NULL;
    unsigned char *blob = NULL;
    size_t blen = 0;

    json_decref(j);
    if (plain != NULL && cm_seal(k->seal_key, KEY_ID, cr->username, strlen(cr->username), plain,
                                 strlen(plain), &blob, &blen) == 0) {
        text = malloc(cm_b64url_encoded_len(blen) + 1);
        if (text != NULL)
            cm_b64url_encode(blob, blen, text);
    }
    if (plain != NULL) {
        cm_cleanse(plain, strlen(plain));
        free(plain);
    }
    free(blob);
    return text;
}

static int add_claims(jwt_t *jwt, const struct gw_auth_keys *k, const struct ib_creds *cr,
                      const char *account_id, time_t now, const char *cred)
{
    unsigned char rnd[16];
    char jti[32];

    if (cm_random(rnd, sizeof(rnd)) < 0)
        return -1;
    cm_b64url_encode(rnd, sizeof(rnd), jti);
    return jwt_add_grant(jwt, "sub", cr->username) || jwt_add_grant(jwt, "iss", k->issuer) ||
                   jwt_add_grant(jwt, "aud", k->audience) ||
                   jwt_add_grant_int(jwt, "iat", (long)now) ||
                   jwt_add_grant_int(jwt, "exp", (long)(now + (time_t)k->ttl_secs)) ||
                   jwt_add_grant(jwt, "jti", jti) || jwt_add_grant(jwt, "acct", account_id) ||
                   jwt_add_grant(jwt, "cred", cred)
               ? -1
               : 0;
}

int gw_auth_issue(const struct gw_auth_keys *k, const struct ib_creds *cr,
                  const char *account_id, time_t now, char **token_r, time_t *exp_r,
                  struct cm_err *err)
{
    char *cred = seal_creds(k, cr), *tok = NULL;
    jwt_t *jwt = NULL;
    int rc = CM_EINTERNAL;

    if (cred != NULL && jwt_new(&jwt) == 0 && add_claims(jwt, k, cr, account_id, now, cred) == 0 &&
        jwt_set_alg(jwt, JWT_ALG_HS256, k->jwt_key, sizeof(k->jwt_key)) == 0)
        tok = jwt_encode_str(jwt);
    if (tok != NULL && strlen(tok) <= GW_AUTH_MAX_TOKEN) {
        *token_r = tok;
        *exp_r = now + (time_t)k->ttl_secs;
        rc = 0;
    } else {
        free(tok);
        cm_err_set(err, CM_EINTERNAL, "cannot issue a token");
    }
    jwt_free(jwt);
    free(cred);
    return rc;
}

/* Three non-empty base64url segments. */
static bool well_formed(const char *t)
{
    int dots = 0;
    size_t seg = 0;

    for (; *t != '\0'; t++) {
        char c = *t;

        if (c == '.') {
            if (seg == 0 || ++dots > 2)
                return false;
            seg = 0;
        } else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                   c == '-' || c == '_') {
            seg++;
        } else {
            return false;
        }
    }
    return dots == 2 && seg > 0;
}

static bool aud_matches(jwt_t *jwt, const char *aud)
{
    const char *s = jwt_get_grant(jwt, "aud");
    char *text;
    json_t *arr, *v;
    size_t i;
    bool ok = false;

    if (s != NULL)
        return strcmp(s, aud) == 0;
    text = jwt_get_grants_json(jwt, "aud");
    arr = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
    free(text);
    json_array_foreach(arr, i, v) {
        if (json_is_string(v) && strcmp(json_string_value(v), aud) == 0)
            ok = true;
    }
    json_decref(arr);
    return ok;
}

static int check_times(jwt_t *jwt, time_t now, time_t *exp_r, struct cm_err *err)
{
    long exp, nbf;

    errno = 0;
    exp = jwt_get_grant_int(jwt, "exp");
    if (errno != 0 || exp <= 0)
        return cm_err_set(err, CM_EAUTH, "token has no expiry");
    if ((long)now - CLOCK_SKEW_SECS > exp) /* not exp + skew: overflows for a huge exp */
        return cm_err_set(err, CM_EAUTH, "token expired");
    errno = 0;
    nbf = jwt_get_grant_int(jwt, "nbf");
    if (errno == 0 && nbf > 0 && (long)now + CLOCK_SKEW_SECS < nbf)
        return cm_err_set(err, CM_EAUTH, "token not yet valid");
    *exp_r = (time_t)exp;
    return 0;
}

static int open_creds(const struct gw_auth_keys *k, const char *sub, const char *cred,
                      struct ib_creds *cr, struct cm_err *err)
{
    size_t blen = 0, plen = 0;
    unsigned char *blob = cm_b64url_decode(cred, strlen(cred), &blen), *plain = NULL;
    json_t *j = NULL;
    const char *u = NULL, *p = NULL;
    int m = 0, rc = CM_EAUTH;

    if (blob != NULL && cm_open(k->seal_key, sub, strlen(sub), blob, blen, &plain, &plen) == 0)
        j = json_loadb((char *)plain, plen, 0, NULL);
    if (j != NULL && json_unpack(j, "{s:s,s:s,s:i}", "u", &u, "p", &p, "m", &m) == 0 &&
        strcmp(u, sub) == 0 && m >= IB_AUTH_LOGIN && m <= IB_AUTH_OAUTHBEARER)
        rc = ib_creds_init(cr, u, p, (enum ib_auth_mech)m) == 0 ? 0 : CM_ENOMEM;
    if (plain != NULL) {
        cm_cleanse(plain, plen);
        free(plain);
    }
    free(blob);
    json_decref(j);
    return rc == 0 ? 0 : cm_err_set(err, rc, "token credentials are not valid");
}

int gw_auth_verify(const struct gw_auth_keys *k, const char *token, time_t now,
                   struct gw_principal *p, struct cm_err *err)
{
    jwt_t *jwt = NULL;
    const char *sub, *iss, *cred;
    int rc;

    memset(p, 0, sizeof(*p));
    if (token == NULL || strlen(token) > GW_AUTH_MAX_TOKEN || !well_formed(token))
        return cm_err_set(err, CM_EAUTH, "malformed token");
    if (jwt_decode(&jwt, token, k->jwt_key, sizeof(k->jwt_key)) != 0 || jwt == NULL)
        return cm_err_set(err, CM_EAUTH, "bad token signature");
    rc = jwt_get_alg(jwt) == JWT_ALG_HS256 ? 0 : cm_err_set(err, CM_EAUTH, "token algorithm");
    if (rc == 0)
        rc = check_times(jwt, now, &p->exp, err);
    iss = jwt_get_grant(jwt, "iss");
    if (rc == 0 && (iss == NULL || strcmp(iss, k->issuer) != 0))
        rc = cm_err_set(err, CM_EAUTH, "token issuer");
    if (rc == 0 && !aud_matches(jwt, k->audience))
        rc = cm_err_set(err, CM_EAUTH, "token audience");
    sub = jwt_get_grant(jwt, "sub");
    cred = jwt_get_grant(jwt, "cred");
    if (rc == 0 && (sub == NULL || cred == NULL || sub[0] == '\0'))
        rc = cm_err_set(err, CM_EAUTH, "token subject or credentials missing");
    if (rc == 0)
        rc = open_creds(k, sub, cred, &p->creds, err);
    jwt_free(jwt);
    if (rc < 0)
        gw_principal_fini(p);
    return rc;
}

int gw_auth_parse_basic(const char *value, struct gw_principal *p, struct cm_err *err)
{
    const char *b64;
    unsigned char *raw;
    size_t len = 0;
    char *colon;
    int rc = CM_EAUTH;

    memset(p, 0, sizeof(*p));
    if (strncasecmp(value, "Basic ", 6) != 0)
        return cm_err_set(err, CM_EAUTH, "not Basic credentials");
    b64 = value + 6 + strspn(value + 6, " ");
    raw = cm_b64_decode(b64, strlen(b64), &len);
    if (raw != NULL && memchr(raw, '\0', len) == NULL && (colon = strchr((char *)raw, ':')) &&
        colon != (char *)raw && strpbrk((char *)raw, "\r\n") == NULL) {
        *colon = '\0';
        rc = ib_creds_init(&p->creds, (char *)raw, colon + 1, IB_AUTH_LOGIN) == 0 ? 0 : CM_ENOMEM;
    }
    if (raw != NULL) {
        cm_cleanse(raw, len);
        free(raw);
    }
    return rc == 0 ? 0 : cm_err_set(err, rc, "malformed Basic credentials");
}

void gw_principal_fini(struct gw_principal *p)
{
    ib_creds_fini(&p->creds);
    p->exp = 0;
}
