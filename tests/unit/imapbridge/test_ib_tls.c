/* test_ib_tls.c - implicit TLS and STARTTLS against an in-test OpenSSL IMAP responder
 * with a certificate made on the fly: verification on/off, CA file, name
 * and IP checks. */
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "common/cm_crypto.h"
#include "harness/th.h"
#include <libetpan/libetpan.h>

#include "imapbridge/ib_session.h"
#include "imapbridge/ib_stream.h"

struct tls_srv {
    bool starttls;  /* plain greeting, then STARTTLS */
    int lfd;
    unsigned int port;
    SSL_CTX *ctx;
    pthread_t thread;
    int conns;
};

static EVP_PKEY *g_key;
static X509 *g_cert;
static char g_ca_path[] = "/tmp/ib_tls_caXXXXXX";

/* Self-signed P-256 certificate for DNS:localhost only. */
static int make_cert(void)
{
    X509_NAME *name;
    X509_EXTENSION *ext;
    X509V3_CTX v3;
    FILE *f;
    int fd;

    g_key = EVP_EC_gen("P-256");
    g_cert = X509_new();
    if (g_key == NULL || g_cert == NULL)
        return -1;
    ASN1_INTEGER_set(X509_get_serialNumber(g_cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(g_cert), -60);
    X509_gmtime_adj(X509_getm_notAfter(g_cert), 3600);
    X509_set_pubkey(g_cert, g_key);
    name = X509_get_subject_name(g_cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1, 0);
    X509_set_issuer_name(g_cert, name);
    X509V3_set_ctx(&v3, g_cert, g_cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "DNS:localhost");
    X509_add_ext(g_cert, ext, -1);
    X509_EXTENSION_free(ext);
    if (X509_sign(g_cert, g_key, EVP_sha256()) <= 0)
        return -1;
    fd = mkstemp(g_ca_path);
    f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (f == NULL)
        return -1;
    PEM_write_X509(f, g_cert);
    fclose(f);
    return 0;
}

/* Read a line from ssl into buf; returns its length or -1. */
static int ssl_line(SSL *ssl, char *buf, size_t cap)
{
    size_t n = 0;

    while (n + 1 < cap) {
        char c;

        if (SSL_read(ssl, &c, 1) != 1)
            return -1;
        if (c == '\n')
            break;
        if (c != '\r')
            buf[n++] = c;
    }
    buf[n] = '\0';
    return (int)n;
}

static void answer(SSL *ssl, const char *line)
{
    char tag[32], out[256];
    const char *cmd = strchr(line, ' ');

    snprintf(tag, sizeof(tag), "%.*s", cmd ? (int)(cmd - line) : 0, line);
    cmd = cmd ? cmd + 1 : "";
    if (strncmp(cmd, "CAPABILITY", 10) == 0)
        snprintf(out, sizeof(out), "* CAPABILITY IMAP4rev1\r\n%s OK done\r\n", tag);
    else if (strncmp(cmd, "LIST", 4) == 0)
        snprintf(out, sizeof(out), "* LIST (\\Noselect) \"/\" \"\"\r\n%s OK done\r\n", tag);
    else if (strncmp(cmd, "LOGOUT", 6) == 0)
        snprintf(out, sizeof(out), "* BYE bye\r\n%s OK done\r\n", tag);
    else
        snprintf(out, sizeof(out), "%s OK done\r\n", tag);
    SSL_write(ssl, out, (int)strlen(out));
}

/* Plain phase of STARTTLS: returns 0 once "OK Begin TLS" was sent. */
static int plain_phase(int fd)
{
    char line[512], out[256];
    size_t n = 0;
    /* LOGINDISABLED in the clear (as Dovecot): only capabilities asked
       again over TLS let the session LOGIN */
    static const char greeting[] = "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] plain\r\n";

    if (send(fd, greeting, sizeof(greeting) - 1, MSG_NOSIGNAL) < 0)
        return -1;
    for (;;) {
        char ch;
        const char *sp;

        if (recv(fd, &ch, 1, 0) != 1)
            return -1;
        if (ch != '\n') {
            if (ch != '\r' && n + 1 < sizeof(line))
                line[n++] = ch;
            continue;
        }
        line[n] = '\0';
        n = 0;
        sp = strchr(line, ' ');
        if (sp == NULL)
            return -1;
        if (strcmp(sp + 1, "STARTTLS") == 0) {
            snprintf(out, sizeof(out), "%.*s OK Begin TLS\r\n", (int)(sp - line), line);
            return send(fd, out, strlen(out), MSG_NOSIGNAL) > 0 ? 0 : -1;
        }
        snprintf(out, sizeof(out), "* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\n%.*s OK done\r\n",
                 (int)(sp - line), line);
        if (send(fd, out, strlen(out), MSG_NOSIGNAL) < 0)
            return -1;
    }
}

static void serve_one(struct tls_srv *srv, int fd)
{
    SSL *ssl = SSL_new(srv->ctx);
    char line[512];

    SSL_set_fd(ssl, fd);
    if ((!srv->starttls || plain_phase(fd) == 0) && SSL_accept(ssl) == 1) {
        if (!srv->starttls)
            SSL_write(ssl, "* OK [CAPABILITY IMAP4rev1] tls ready\r\n", 39);
        while (ssl_line(ssl, line, sizeof(line)) >= 0) {
            answer(ssl, line);
            if (strstr(line, "LOGOUT") != NULL)
                break;
        }
    }
    SSL_free(ssl);
    close(fd);
}

static void *srv_main(void *arg)
{
    struct tls_srv *srv = arg;

    for (int i = 0; i < srv->conns; i++) {
        struct pollfd pfd = { srv->lfd, POLLIN, 0 };
        int fd;

        if (poll(&pfd, 1, 5000) <= 0)
            break;
        fd = accept(srv->lfd, NULL, NULL);
        if (fd >= 0)
            serve_one(srv, fd);
    }
    return NULL;
}

static int srv_start(struct tls_srv *srv, int conns, bool starttls)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);

    memset(srv, 0, sizeof(*srv));
    srv->conns = conns;
    srv->starttls = starttls;
    srv->ctx = SSL_CTX_new(TLS_server_method());
    if (srv->ctx == NULL || SSL_CTX_use_certificate(srv->ctx, g_cert) != 1 ||
        SSL_CTX_use_PrivateKey(srv->ctx, g_key) != 1)
        return -1;
    srv->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(srv->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(srv->lfd, 4) < 0 ||
        getsockname(srv->lfd, (struct sockaddr *)&sa, &len) < 0)
        return -1;
    srv->port = ntohs(sa.sin_port);
    return pthread_create(&srv->thread, NULL, srv_main, srv);
}

static void srv_stop(struct tls_srv *srv)
{
    shutdown(srv->lfd, SHUT_RDWR);
    pthread_join(srv->thread, NULL);
    close(srv->lfd);
    SSL_CTX_free(srv->ctx);
}

struct tls_case {
    bool starttls;
    const char *host;
    bool verify;
    bool use_ca;
    int rc;
    const char *msg; /* expected in the error */
};

static const struct tls_case cases[] = {
    { false, "localhost", true, false, CM_EUNAVAIL, "self-signed" },  /* system store */
    { false, "localhost", true, true, 0, NULL },                      /* our CA */
    { false, "127.0.0.1", true, true, CM_EUNAVAIL, "IP address mismatch" },
    { false, "127.0.0.1", false, false, 0, NULL },                    /* verification off */
    { true, "localhost", true, false, CM_EUNAVAIL, "self-signed" },
    { true, "localhost", true, true, 0, NULL },
    { true, "127.0.0.1", true, true, CM_EUNAVAIL, "IP address mismatch" },
};

static void test_tls_cases(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct tls_srv srv;
        struct ib_upstream up = { 0 };
        struct ib_creds cr = { 0 };
        struct ib_session *s = NULL;
        struct cm_err err = CM_ERR_INIT;
        char url[80];
        int rc;

        th_assert_idx(srv_start(&srv, 1, cases[i].starttls) == 0, i);
        snprintf(url, sizeof(url), "%s://%s:%u", cases[i].starttls ? "imap+starttls" : "imaps",
                 cases[i].host, srv.port);
        th_assert_idx(ib_upstream_parse_url(url, &up, &err) == 0, i);
        th_assert_idx(ib_creds_init(&cr, "alice", "pw", IB_AUTH_LOGIN) == 0, i);
        up.timeout_secs = 2;
        up.tls_verify = cases[i].verify;
        up.ca_file = cases[i].use_ca ? strdup(g_ca_path) : NULL;
        rc = ib_session_open(&up, &cr, &s, &err);
        th_assert_idx(rc == cases[i].rc, i);
        if (rc != cases[i].rc)
            fprintf(stderr, "  row %zu: %s\n", i, err.msg);
        th_assert_idx(cases[i].msg == NULL || strstr(err.msg, cases[i].msg) != NULL, i);
        th_assert_idx((rc == 0) == (s != NULL), i);
        th_assert_idx(s == NULL || ib_session_delimiter(s) == '/', i);
        th_assert_idx(s == NULL || ib_stream_is_tls(ib_session_imap(s)->imap_stream->low), i);
        ib_session_close(&s);
        srv_stop(&srv);
        ib_upstream_fini(&up);
        ib_creds_fini(&cr);
    }
}

int main(void)
{
    th_assert(cm_crypto_init() == 0);
    th_assert(make_cert() == 0);
    th_run("TLS and STARTTLS: verification, CA file, host and IP checks", test_tls_cases);
    unlink(g_ca_path);
    X509_free(g_cert);
    EVP_PKEY_free(g_key);
    return th_end();
}
