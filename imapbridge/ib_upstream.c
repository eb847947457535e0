/* ib_upstream.c - upstream URL parsing, credentials, account ids. */
#include "imapbridge/ib_upstream.h"

#include <stdlib.h>
#include <string.h>

#include "common/cm_b64.h"
#include "common/cm_crypto.h"

struct scheme {
    const char *prefix;
    enum ib_tls_mode tls;
    unsigned int port;
};

static const struct scheme schemes[] = {
    { "imap://", IB_TLS_NONE, 143 },
    { "imap+starttls://", IB_TLS_STARTTLS, 143 },
    { "imaps://", IB_TLS_IMPLICIT, 993 },
};

static int parse_port(const char *text, size_t n, unsigned int *port_r)
{
    unsigned long v = 0;

    if (n == 0 || n > 5)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (text[i] < '0' || text[i] > '9')
            return -1;
        v = v * 10 + (unsigned long)(text[i] - '0');
    }
    if (v == 0 || v > 65535)
        return -1;
    *port_r = (unsigned int)v;
    return 0;
}

/* Split "host", "host:port", "[v6]" or "[v6]:port" (no path allowed but a
   single trailing '/'). */
static int parse_authority(const char *a, struct ib_upstream *up, unsigned int def_port)
{
    size_t len = strlen(a);
    const char *host = a, *colon;
    size_t hostlen;

    if (len > 0 && a[len - 1] == '/')
        len--;
    if (len == 0 || memchr(a, '/', len) != NULL || memchr(a, '@', len) != NULL ||
        memchr(a, '?', len) != NULL)
        return -1;
    if (a[0] == '[') {
        const char *close = memchr(a, ']', len);

        if (close == NULL)
            return -1;
        host = a + 1;
        hostlen = (size_t)(close - host);
        colon = close + 1 < a + len ? close + 1 : NULL;
        if (colon != NULL && *colon != ':')
            return -1;
    } else {
        colon = memchr(a, ':', len);
        hostlen = colon ? (size_t)(colon - a) : len;
    }
    if (hostlen == 0)
        return -1;
    up->port = def_port;
    if (colon != NULL && parse_port(colon + 1, (size_t)(a + len - colon - 1), &up->port) < 0)
        return -1;
    up->host = strndup(host, hostlen);
    return up->host == NULL ? -1 : 0;
}

int ib_upstream_parse_url(const char *url, struct ib_upstream *up, struct cm_err *err)
{
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        size_t plen = strlen(schemes[i].prefix);

        if (strncasecmp(url, schemes[i].prefix, plen) != 0)
            continue;
        free(up->host);
        up->host = NULL;
        if (parse_authority(url + plen, up, schemes[i].port) < 0)
            return cm_err_set(err, CM_ECONFIG, "imap_url: bad host or port in \"%s\"", url);
        up->tls = schemes[i].tls;
        free(up->url);
        up->url = strdup(url);
        if (up->url == NULL)
            return cm_err_set(err, CM_ENOMEM, "out of memory");
        return 0;
    }
    return cm_err_set(err, CM_ECONFIG,
                      "imap_url: expected imap://, imap+starttls:// or imaps://, got \"%s\"", url);
}

void ib_upstream_fini(struct ib_upstream *up)
{
    free(up->url);
    free(up->host);
    free(up->ca_file);
    up->url = up->host = up->ca_file = NULL;
}

int ib_creds_init(struct ib_creds *cr, const char *username, const char *secret,
                  enum ib_auth_mech mech)
{
    cr->username = strdup(username);
    cr->secret = strdup(secret);
    cr->mech = mech;
    if (cr->username == NULL || cr->secret == NULL) {
        ib_creds_fini(cr);
        return CM_ENOMEM;
    }
    return 0;
}

void ib_creds_fini(struct ib_creds *cr)
{
    if (cr->secret != NULL) {
        cm_cleanse(cr->secret, strlen(cr->secret));
        free(cr->secret);
    }
    free(cr->username);
    cr->username = cr->secret = NULL;
}

void ib_account_id(const struct ib_upstream *up, const char *username, char *dst)
{
    unsigned char md[CM_SHA256_LEN];
    size_t ulen = strlen(up->url), nlen = strlen(username);
    char *buf = malloc(ulen + nlen + 2);

    memset(md, 0, sizeof(md));
    if (buf != NULL) {
        memcpy(buf, up->url, ulen);
        buf[ulen] = '\n';
        memcpy(buf + ulen + 1, username, nlen + 1);
        cm_sha256(buf, ulen + 1 + nlen, md);
        free(buf);
    }
    dst[0] = 'a';
    cm_b64url_encode(md, 12, dst + 1);
}
