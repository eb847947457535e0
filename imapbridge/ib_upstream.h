/* ib_upstream.h - where and how we reach the IMAP server, and who logs in.
 *
 * struct ib_upstream is parsed once from the configured URL
 * (imap://host:143, imap+starttls://host:143, imaps://host:993) and shared
 * read-only by every session. struct ib_creds is one user's login.
 *
 * Ownership: both structs own their strings (malloc'd copies);
 * ib_upstream_fini() / ib_creds_fini() free them (ib_creds_fini also
 * cleanses the secret). Threads: read-only after set-up, except ca_file
 * and timeout_secs, which a configuration reload replaces atomically.
 */
#ifndef IB_UPSTREAM_H
#define IB_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>

#include "common/cm_err.h"

enum ib_tls_mode {
    IB_TLS_NONE = 0,     /* imap://            plain text (loopback, tests) */
    IB_TLS_STARTTLS = 1, /* imap+starttls://   plain, then STARTTLS before login */
    IB_TLS_IMPLICIT = 2  /* imaps://           TLS from the first byte */
};

struct ib_upstream {
    char *url;              /* as configured, for logs and account ids */
    char *host;
    unsigned int port;
    enum ib_tls_mode tls;
    bool tls_verify;        /* false only for tests; warned about at start-up */
    char *_Atomic ca_file;  /* NULL = system trust store; replaced live by a
                               reload (the old string is kept until exit) */
    bool compress;          /* use COMPRESS=DEFLATE when offered */
    _Atomic unsigned int timeout_secs; /* deadline of each connect/read/write wait;
                                          may change live (reload) */
};

enum ib_auth_mech {
    IB_AUTH_LOGIN = 0,       /* LOGIN, or AUTHENTICATE PLAIN when LOGINDISABLED */
    IB_AUTH_XOAUTH2 = 1,     /* secret is an OAuth2 access token */
    IB_AUTH_OAUTHBEARER = 2  /* secret is an OAuth2 access token */
};

/* Where the user's own connection comes from (numeric addresses, "" when
   unknown). Sent upstream before login as RFC 2971 ID x-originating-ip /
   x-originating-port / x-connected-ip, which Dovecot honours from its
   login_trusted_networks (its auth penalty and logs then see the user's
   address, not the gateway's). */
#define IB_ORIGIN_IP_MAX 46
struct ib_origin {
    char ip[IB_ORIGIN_IP_MAX];        /* the client */
    unsigned int port;                /* 0 when unknown (behind a proxy) */
    char local_ip[IB_ORIGIN_IP_MAX];  /* the address the client connected to */
};

struct ib_creds {
    char *username;
    char *secret;            /* password or access token */
    enum ib_auth_mech mech;
    struct ib_origin origin; /* plain value; ib_creds_init leaves it empty */
};

/* Parse url into up (zeroed by the caller), with port defaults 143/993.
   Other fields keep what the caller set. Returns 0 or CM_ECONFIG. */
int ib_upstream_parse_url(const char *url, struct ib_upstream *up, struct cm_err *err)
    __attribute__((warn_unused_result));
void ib_upstream_fini(struct ib_upstream *up);

/* Copy username/secret into cr. Returns 0 or CM_ENOMEM. */
int ib_creds_init(struct ib_creds *cr, const char *username, const char *secret,
                  enum ib_auth_mech mech) __attribute__((warn_unused_result));
void ib_creds_fini(struct ib_creds *cr);

/* The JMAP accountId: base64url of the first 12 bytes of
   SHA-256(upstream url "\n" username), prefixed with "a". Stable across
   instances and restarts. dst must hold IB_ACCOUNT_ID_LEN + 1 bytes. */
#define IB_ACCOUNT_ID_LEN 17
void ib_account_id(const struct ib_upstream *up, const char *username, char *dst);

#endif
