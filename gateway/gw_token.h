/* gw_token.h - tokens and credentials at the HTTP edge (ARCHITECTURE §6).
 *
 * Login tokens are HS256 JWTs signed with a key derived by HKDF from the
 * configured secret. Claims: sub (IMAP username), iss, aud, iat, exp, jti,
 * acct (JMAP account id) and cred: the IMAP credentials as JSON
 * {"u":user,"p":secret,"m":mech} sealed with AES-256-GCM under a second
 * HKDF-derived key, AAD = sub, base64url. libjwt 1.10 checks only the
 * signature, so gw_token_verify also: caps the size, pins alg=HS256,
 * requires exp (with 60 s skew), honours nbf, checks iss and aud (string or
 * array), opens cred and checks it belongs to sub.
 *
 * Ownership: keys are embedded by the caller (init/fini). A principal owns
 * its strings (gw_principal_fini).
 * Threads: after init every function is safe from any thread.
 */
#ifndef GW_TOKEN_H
#define GW_TOKEN_H

#include <stddef.h>
#include <time.h>

#include "common/cm_err.h"
#include "imapbridge/ib_upstream.h"

#define GW_TOKEN_MAX 8192 /* room for OAuth access tokens sealed in cred */
/* A token is accepted until exp + GW_TOKEN_SKEW_SECS (issuers' clocks
   differ); a push stream lives exactly as long, so a stream and the
   requests beside it agree on when a login has ended. */
#define GW_TOKEN_SKEW_SECS 60

struct gw_token_keys {
    unsigned char jwt_key[32];   /* HKDF(secret, "jmapgate jwt hs256 v1") */
    unsigned char seal_key[32];  /* HKDF(secret, "jmapgate cred aes-gcm v1") */
    unsigned char state_key[32]; /* HKDF(secret, "jmapgate state hmac v1") for ids/cursors */
    char *issuer;
    char *audience;
    unsigned int ttl_secs;
};

/* secret: raw bytes (>= 32). issuer/audience are copied. */
int gw_token_keys_init(struct gw_token_keys *k, const unsigned char *secret, size_t secret_len,
                      const char *issuer, const char *audience, unsigned int ttl_secs,
                      struct cm_err *err) __attribute__((warn_unused_result));
void gw_token_keys_fini(struct gw_token_keys *k);

/* Decode the configured JMAPGATE_SECRET: 64+ hex digits (even count), or
   base64 / base64url of >= 32 bytes; surrounding whitespace is ignored.
   Text made only of hex digits is read as hex. *out_r is malloc'd (caller
   cleanses and frees). CM_ECONFIG when too short or not decodable; the
   message never contains the text. */
int gw_token_decode_secret(const char *text, unsigned char **out_r, size_t *len_r,
                          struct cm_err *err) __attribute__((warn_unused_result));

/* Issue a token for cr (account_id, may be NULL, goes into "acct").
   *token_r is malloc'd; *exp_r gets the expiry time (now + ttl_secs).
   CM_EINVAL when cr is empty or not UTF-8 (it is sealed as JSON),
   CM_ELIMIT when the token would exceed GW_TOKEN_MAX. */
int gw_token_issue(const struct gw_token_keys *k, const struct ib_creds *cr,
                  const char *account_id, time_t now, char **token_r, time_t *exp_r,
                  struct cm_err *err) __attribute__((warn_unused_result));

struct gw_principal {
    struct ib_creds creds;  /* opened from cred, or from Basic */
    time_t exp;             /* 0 for Basic (no expiry) */
};

/* Verify a bearer token at time now. p is zeroed first, so
   gw_principal_fini(p) is safe either way; on success it holds the opened
   credentials and exp. Every failure is CM_EAUTH (CM_ENOMEM on allocation
   failure) with a short reason in err that names no secret. The "acct"
   claim is not returned: recompute it with ib_account_id(). */
int gw_token_verify(const struct gw_token_keys *k, const char *token, time_t now,
                   struct gw_principal *p, struct cm_err *err) __attribute__((warn_unused_result));

/* Parse the value of an `Authorization: Basic ...` header into p (mech
   IB_AUTH_LOGIN, exp 0); the scheme is case-insensitive. p is zeroed
   first. CM_EAUTH when the value is not base64 of "user:password", the
   user or the password is empty, or either contains CR, LF or NUL. */
int gw_token_parse_basic(const char *value, struct gw_principal *p, struct cm_err *err)
    __attribute__((warn_unused_result));

void gw_principal_fini(struct gw_principal *p);

#endif
