/* ib_stream.c - libetpan mailstream_low driver on poll() + OpenSSL. */
#include "imapbridge/ib_stream.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <libetpan/libetpan.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <zlib.h>

#define TAIL_MAX 32

struct ib_stream {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    unsigned int timeout_ms;
    /* COMPRESS=DEFLATE (RFC 4978): raw deflate inside TLS, sync flush. */
    bool compressing;
    z_stream zin, zout;
    unsigned char *zbuf;     /* compressed bytes read, not yet inflated */
    size_t zbuf_cap;
    size_t max_literal;
    uint64_t lit_left;       /* literal bytes still to pass through */
    char tail[TAIL_MAX];     /* last bytes of the current line */
    size_t tail_len;
    bool greeted;            /* the first line has been seen */
    char greeting[96];       /* its start, to spot a BYE greeting */
    size_t greeting_len;
    enum ib_stream_fail fail;
    char fail_msg[160];
    /* round trips: a write waits for an answer; the first bytes read
       after it give a sample (answer time + server time), the minimum
       of which is close to the link's round trip */
    bool awaiting;
    int64_t sent_ms;
    int64_t rtt_ms;          /* -1: no sample yet */
};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int set_fail(struct ib_stream *st, enum ib_stream_fail f, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Record the first failure; returns -1. */
static int set_fail(struct ib_stream *st, enum ib_stream_fail f, const char *fmt, ...)
{
    va_list ap;

    if (st->fail == IB_STREAM_FAIL_NONE) {
        st->fail = f;
        va_start(ap, fmt);
        vsnprintf(st->fail_msg, sizeof(st->fail_msg), fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Wait until fd is ready for events or the deadline passes. 0 or -1. */
static int wait_fd(struct ib_stream *st, short events, int64_t deadline)
{
    struct pollfd pfd = { st->fd, events, 0 };

    for (;;) {
        int64_t left = deadline - now_ms();
        int r;

        if (left <= 0)
            return set_fail(st, IB_STREAM_FAIL_TIMEOUT, "%s", "timed out waiting for the server");
        r = poll(&pfd, 1, (int)left);
        if (r > 0)
            return 0; /* readable, writable, or an error the next call reports */
        if (r < 0 && errno != EINTR)
            return set_fail(st, IB_STREAM_FAIL_IO, "poll: %s", strerror(errno));
    }
}

/* ---- literal guard ---------------------------------------------------- */

static void tail_push(struct ib_stream *st, const char *p, size_t n)
{
    if (n >= TAIL_MAX) {
        memcpy(st->tail, p + n - TAIL_MAX, TAIL_MAX);
        st->tail_len = TAIL_MAX;
        return;
    }
    if (st->tail_len + n > TAIL_MAX) {
        size_t drop = st->tail_len + n - TAIL_MAX;

        memmove(st->tail, st->tail + drop, st->tail_len - drop);
        st->tail_len -= drop;
    }
    memcpy(st->tail + st->tail_len, p, n);
    st->tail_len += n;
}

/* The line just ended: does it announce a literal ("{N}" before CRLF)? */
static int line_end(struct ib_stream *st)
{
    size_t end = st->tail_len, i;
    uint64_t n = 0;

    if (end > 0 && st->tail[end - 1] == '\r')
        end--;
    st->tail_len = 0;
    if (end < 3 || st->tail[end - 1] != '}')
        return 0;
    i = end - 1;
    while (i > 0 && st->tail[i - 1] >= '0' && st->tail[i - 1] <= '9')
        i--;
    /* Checked before looking for '{': the tail may hold digits only. */
    if (end - 1 - i > 19)
        return set_fail(st, IB_STREAM_FAIL_LITERAL,
                        "server announced a literal of more than 19 digits");
    if (i == end - 1 || i == 0 || st->tail[i - 1] != '{')
        return 0;
    for (size_t k = i; k < end - 1; k++)
        n = n * 10 + (uint64_t)(st->tail[k] - '0');
    if (n > st->max_literal)
        return set_fail(st, IB_STREAM_FAIL_LITERAL,
                        "server announced a literal of %llu bytes (cap %zu)",
                        (unsigned long long)n, st->max_literal);
    st->lit_left = n;
    return 0;
}

/* A "* BYE" greeting fails the stream instead of reaching libetpan,
   whose greeting parser leaks the parsed greeting on BYE (1.9.4). */
static int greeting_check(struct ib_stream *st, const char *buf, size_t n)
{
    const char *nl = memchr(buf, '\n', n);
    size_t take = nl ? (size_t)(nl - buf) : n;

    if (take > sizeof(st->greeting) - 1 - st->greeting_len)
        take = sizeof(st->greeting) - 1 - st->greeting_len;
    memcpy(st->greeting + st->greeting_len, buf, take);
    st->greeting_len += take;
    st->greeting[st->greeting_len] = '\0';
    if (nl == NULL && st->greeting_len < 6)
        return 0;
    st->greeted = nl != NULL || st->greeting_len >= 6;
    if (strncasecmp(st->greeting, "* BYE ", 6) == 0) {
        st->greeting[strcspn(st->greeting, "\r\n")] = '\0';
        return set_fail(st, IB_STREAM_FAIL_REFUSED, "server refused the connection: %s",
                        st->greeting + 6);
    }
    return 0;
}

static int literal_guard(struct ib_stream *st, const char *buf, size_t n)
{
    size_t i = 0;

    if (!st->greeted && greeting_check(st, buf, n) < 0)
        return -1;
    while (i < n) {
        const char *nl;

        if (st->lit_left > 0) {
            size_t skip = n - i;

            if ((uint64_t)skip > st->lit_left)
                skip = (size_t)st->lit_left;
            i += skip;
            st->lit_left -= skip;
            continue;
        }
        nl = memchr(buf + i, '\n', n - i);
        if (nl == NULL) {
            tail_push(st, buf + i, n - i);
            break;
        }
        tail_push(st, buf + i, (size_t)(nl - (buf + i)));
        if (line_end(st) < 0)
            return -1;
        i = (size_t)(nl - buf) + 1;
    }
    return 0;
}

/* ---- raw I/O ---------------------------------------------------------- */

static const char *ssl_reason(void)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;

    return r ? r : "TLS error";
}

/* One read attempt: >0 bytes, 0 would block (*events set), -1 failed. */
static ssize_t read_once(struct ib_stream *st, void *buf, size_t n, short *events)
{
    if (st->ssl != NULL) {
        size_t got = 0;
        int rc, e;

        ERR_clear_error();
        rc = SSL_read_ex(st->ssl, buf, n, &got);
        if (rc == 1)
            return (ssize_t)got;
        e = SSL_get_error(st->ssl, rc);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            *events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
            return 0;
        }
        if (e == SSL_ERROR_ZERO_RETURN)
            return set_fail(st, IB_STREAM_FAIL_EOF, "%s", "server closed the TLS connection");
        if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
            return set_fail(st, IB_STREAM_FAIL_EOF, "%s", "server closed the connection");
        return set_fail(st, IB_STREAM_FAIL_TLS, "TLS read: %s", ssl_reason());
    }
    for (;;) {
        ssize_t r = recv(st->fd, buf, n, 0);

        if (r > 0)
            return r;
        if (r == 0)
            return set_fail(st, IB_STREAM_FAIL_EOF, "%s", "server closed the connection");
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            *events = POLLIN;
            return 0;
        }
        return set_fail(st, IB_STREAM_FAIL_IO, "recv: %s", strerror(errno));
    }
}

static ssize_t write_once(struct ib_stream *st, const void *buf, size_t n, short *events)
{
    if (st->ssl != NULL) {
        size_t done = 0;
        int rc, e;

        ERR_clear_error();
        rc = SSL_write_ex(st->ssl, buf, n, &done);
        if (rc == 1)
            return (ssize_t)done;
        e = SSL_get_error(st->ssl, rc);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            *events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
            return 0;
        }
        return set_fail(st, IB_STREAM_FAIL_TLS, "TLS write: %s", ssl_reason());
    }
    for (;;) {
        ssize_t r = send(st->fd, buf, n, MSG_NOSIGNAL);

        if (r >= 0)
            return r > 0 ? r : set_fail(st, IB_STREAM_FAIL_IO, "%s", "send wrote nothing");
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            *events = POLLOUT;
            return 0;
        }
        return set_fail(st, IB_STREAM_FAIL_IO, "send: %s", strerror(errno));
    }
}

/* ---- the mailstream_low driver ---------------------------------------- */

/* Inflate what is buffered into buf: >0 bytes produced, 0 needs more
   input, -1 the stream is corrupt. */
static ssize_t inflate_some(struct ib_stream *st, void *buf, size_t n)
{
    int zr;

    st->zin.next_out = buf;
    st->zin.avail_out = (uInt)(n > 65536 ? 65536 : n);
    zr = inflate(&st->zin, Z_SYNC_FLUSH);
    if (zr != Z_OK && zr != Z_BUF_ERROR)
        return set_fail(st, IB_STREAM_FAIL_IO, "%s", "COMPRESS: corrupt deflate stream");
    return (ssize_t)((n > 65536 ? 65536 : n) - st->zin.avail_out);
}

/* One read attempt through the decompressor (same contract as read_once). */
static ssize_t read_inflated(struct ib_stream *st, void *buf, size_t n, short *events)
{
    for (;;) {
        ssize_t got = inflate_some(st, buf, n), r;

        if (got != 0)
            return got;
        /* no output yet: keep what was not consumed, append more input */
        size_t keep = st->zin.avail_in;

        if (keep > 0 && st->zin.next_in != st->zbuf)
            memmove(st->zbuf, st->zin.next_in, keep);
        if (keep == st->zbuf_cap)
            return set_fail(st, IB_STREAM_FAIL_IO, "%s", "COMPRESS: stalled deflate stream");
        r = read_once(st, st->zbuf + keep, st->zbuf_cap - keep, events);
        st->zin.next_in = st->zbuf;
        st->zin.avail_in = (uInt)keep;
        if (r <= 0)
            return r;
        st->zin.avail_in += (uInt)r;
    }
}

static ssize_t drv_read(mailstream_low *s, void *buf, size_t n)
{
    struct ib_stream *st = s->data;
    int64_t deadline = now_ms() + st->timeout_ms;

    if (st->fail != IB_STREAM_FAIL_NONE || st->fd < 0)
        return -1;
    for (;;) {
        short events = 0;
        ssize_t r = st->compressing ? read_inflated(st, buf, n, &events)
                                    : read_once(st, buf, n, &events);

        if (r < 0)
            return -1;
        if (r > 0 && st->awaiting) {
            int64_t sample = now_ms() - st->sent_ms;

            if (st->rtt_ms < 0 || sample < st->rtt_ms)
                st->rtt_ms = sample;
            st->awaiting = false;
        }
        if (r > 0)
            return literal_guard(st, buf, (size_t)r) < 0 ? -1 : r;
        if (wait_fd(st, events, deadline) < 0)
            return -1;
    }
}

static int write_all(struct ib_stream *st, const void *buf, size_t n);

/* Deflate buf with a sync flush (so the server can act on it at once) and
   send the result. */
static ssize_t write_deflated(struct ib_stream *st, const void *buf, size_t n)
{
    size_t cap = deflateBound(&st->zout, (uLong)n) + 64;
    unsigned char *out = malloc(cap);
    int zr;

    if (out == NULL)
        return set_fail(st, IB_STREAM_FAIL_IO, "%s", "COMPRESS: out of memory");
    st->zout.next_in = (Bytef *)buf;
    st->zout.avail_in = (uInt)n;
    st->zout.next_out = out;
    st->zout.avail_out = (uInt)cap;
    zr = deflate(&st->zout, Z_SYNC_FLUSH);
    if (zr != Z_OK || st->zout.avail_in != 0) {
        free(out);
        return set_fail(st, IB_STREAM_FAIL_IO, "%s", "COMPRESS: deflate failed");
    }
    zr = write_all(st, out, cap - st->zout.avail_out);
    free(out);
    return zr < 0 ? -1 : (ssize_t)n;
}

static ssize_t drv_write(mailstream_low *s, const void *buf, size_t n)
{
    struct ib_stream *st = s->data;

    if (st->fail != IB_STREAM_FAIL_NONE || st->fd < 0)
        return -1;
    st->awaiting = true;
    st->sent_ms = now_ms();
    if (st->compressing)
        return write_deflated(st, buf, n);
    return write_all(st, buf, n) < 0 ? -1 : (ssize_t)n;
}

int64_t ib_stream_rtt_ms(struct _mailstream_low *low)
{
    const struct ib_stream *st = low != NULL ? low->data : NULL;

    return st != NULL ? st->rtt_ms : -1;
}

static int write_all(struct ib_stream *st, const void *buf, size_t n)
{
    int64_t deadline = now_ms() + st->timeout_ms;
    size_t off = 0;

    while (off < n) {
        short events = 0;
        ssize_t r = write_once(st, (const char *)buf + off, n - off, &events);

        if (r < 0)
            return -1;
        if (r > 0) {
            off += (size_t)r;
            continue;
        }
        if (wait_fd(st, events, deadline) < 0)
            return -1;
    }
    return 0;
}

static int drv_close(mailstream_low *s)
{
    struct ib_stream *st = s->data;

    if (st->ssl != NULL && st->fail == IB_STREAM_FAIL_NONE)
        (void)SSL_shutdown(st->ssl); /* one non-blocking close_notify attempt */
    if (st->fd >= 0)
        close(st->fd);
    st->fd = -1;
    return 0;
}

static int drv_get_fd(mailstream_low *s)
{
    return ((struct ib_stream *)s->data)->fd;
}

static void drv_free(mailstream_low *s)
{
    struct ib_stream *st = s->data;

    if (st->fd >= 0)
        close(st->fd);
    if (st->compressing) {
        inflateEnd(&st->zin);
        deflateEnd(&st->zout);
    }
    free(st->zbuf);
    SSL_free(st->ssl);
    SSL_CTX_free(st->ctx);
    free(st);
    free(s);
}

static void drv_cancel(mailstream_low *s)
{
}

static struct mailstream_cancel *drv_get_cancel(mailstream_low *s)
{
    return NULL;
}

static carray *drv_chain(mailstream_low *s)
{
    return NULL;
}

/* mailstream_wait_idle uses select(): never used with this driver. */
static int drv_noidle(mailstream_low *s)
{
    return -1;
}

static mailstream_low_driver ib_driver = {
    drv_read, drv_write, drv_close, drv_get_fd, drv_free, drv_cancel,
    drv_get_cancel, drv_chain, drv_noidle, drv_noidle, drv_noidle,
};

static struct ib_stream *stream_of(mailstream_low *low)
{
    return low != NULL && low->driver == &ib_driver ? low->data : NULL;
}

/* ---- connect ---------------------------------------------------------- */

static void tune_socket(int fd)
{
    int on = 1, idle = 60, intvl = 15, cnt = 4;

    (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

/* Connect one address before deadline. Returns the fd or -1 (errno set;
   ETIMEDOUT on deadline). */
static int connect_addr(const struct addrinfo *ai, int64_t deadline)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
    struct pollfd pfd;
    int soerr = 0, r;
    socklen_t len = sizeof(soerr);

    if (fd < 0)
        return -1;
    tune_socket(fd);
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return fd;
    if (errno != EINPROGRESS)
        goto fail;
    pfd.fd = fd;
    pfd.events = POLLOUT;
    do {
        int64_t left = deadline - now_ms();

        if (left <= 0) {
            errno = ETIMEDOUT;
            goto fail;
        }
        r = poll(&pfd, 1, (int)left);
    } while (r < 0 && errno == EINTR);
    if (r <= 0) {
        errno = r == 0 ? ETIMEDOUT : errno;
        goto fail;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
        goto fail;
    if (soerr == 0)
        return fd;
    errno = soerr;
fail:
    r = errno;
    close(fd);
    errno = r;
    return -1;
}

static int open_socket(const char *host, unsigned int port, unsigned int timeout_ms,
                       struct cm_err *err)
{
    struct addrinfo hints, *res = NULL;
    char portstr[8];
    int64_t deadline = now_ms() + timeout_ms;
    int fd = -1, last = ECONNREFUSED, rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(portstr, sizeof(portstr), "%u", port);
    rc = getaddrinfo(host, portstr, &hints, &res);
    if (rc != 0)
        return cm_err_set(err, CM_EUNAVAIL, "cannot resolve %s: %s", host, gai_strerror(rc));
    for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = connect_addr(ai, deadline);
        if (fd < 0)
            last = errno;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return cm_err_set(err, CM_EUNAVAIL, "cannot connect to %s:%u: %s", host, port,
                          last == ETIMEDOUT ? "timed out" : strerror(last));
    return fd;
}

int ib_stream_connect(const char *host, unsigned int port, unsigned int timeout_ms,
                      size_t max_literal_bytes, mailstream_low **low_r, struct cm_err *err)
{
    struct ib_stream *st;
    mailstream_low *low;
    int fd = open_socket(host, port, timeout_ms, err);

    if (fd < 0)
        return fd;
    st = calloc(1, sizeof(*st));
    low = st ? mailstream_low_new(st, &ib_driver) : NULL;
    if (low == NULL) {
        free(st);
        close(fd);
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    }
    st->fd = fd;
    st->rtt_ms = -1;
    st->timeout_ms = timeout_ms;
    st->max_literal = max_literal_bytes ? max_literal_bytes : IB_STREAM_DEFAULT_MAX_LITERAL;
    *low_r = low;
    return 0;
}

/* ---- TLS -------------------------------------------------------------- */

static bool is_ip_literal(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];

    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

static int tls_setup(struct ib_stream *st, const struct ib_stream_tls *tls, struct cm_err *err)
{
    st->ctx = SSL_CTX_new(TLS_client_method());
    if (st->ctx == NULL)
        return cm_err_set(err, CM_ENOMEM, "TLS: cannot create a context");
    SSL_CTX_set_min_proto_version(st->ctx, TLS1_2_VERSION);
    if (tls->verify) {
        int ok = tls->ca_file ? SSL_CTX_load_verify_locations(st->ctx, tls->ca_file, NULL)
                              : SSL_CTX_set_default_verify_paths(st->ctx);

        if (ok != 1)
            return cm_err_set(err, CM_ECONFIG, "TLS: cannot load CA %s: %s",
                              tls->ca_file ? tls->ca_file : "(system store)", ssl_reason());
        SSL_CTX_set_verify(st->ctx, SSL_VERIFY_PEER, NULL);
    } else {
        SSL_CTX_set_verify(st->ctx, SSL_VERIFY_NONE, NULL);
    }
    st->ssl = SSL_new(st->ctx);
    if (st->ssl == NULL || SSL_set_fd(st->ssl, st->fd) != 1)
        return cm_err_set(err, CM_ENOMEM, "TLS: cannot create a connection");
    if (is_ip_literal(tls->host)) {
        if (tls->verify &&
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(st->ssl), tls->host) != 1)
            return cm_err_set(err, CM_EINTERNAL, "TLS: bad IP %s", tls->host);
    } else {
        if (SSL_set_tlsext_host_name(st->ssl, tls->host) != 1 ||
            (tls->verify && SSL_set1_host(st->ssl, tls->host) != 1))
            return cm_err_set(err, CM_EINTERNAL, "TLS: cannot set host name %s", tls->host);
    }
    return 0;
}

static int tls_handshake(struct ib_stream *st, const struct ib_stream_tls *tls,
                         struct cm_err *err)
{
    int64_t deadline = now_ms() + st->timeout_ms;

    for (;;) {
        int rc, e;

        ERR_clear_error();
        rc = SSL_connect(st->ssl);
        if (rc == 1)
            return 0;
        e = SSL_get_error(st->ssl, rc);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            break;
        if (wait_fd(st, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline) < 0)
            return cm_err_set(err, CM_EUNAVAIL, "TLS handshake with %s: %s", tls->host,
                              st->fail_msg);
    }
    if (SSL_get_verify_result(st->ssl) != X509_V_OK)
        set_fail(st, IB_STREAM_FAIL_TLS, "certificate verification failed: %s",
                 X509_verify_cert_error_string(SSL_get_verify_result(st->ssl)));
    else
        set_fail(st, IB_STREAM_FAIL_TLS, "handshake failed: %s", ssl_reason());
    return cm_err_set(err, CM_EUNAVAIL, "TLS with %s: %s", tls->host, st->fail_msg);
}

int ib_stream_start_tls(mailstream_low *low, const struct ib_stream_tls *tls, struct cm_err *err)
{
    struct ib_stream *st = stream_of(low);
    int rc;

    if (st == NULL || st->fd < 0 || st->ssl != NULL || st->fail != IB_STREAM_FAIL_NONE)
        return cm_err_set(err, CM_EINTERNAL, "TLS: stream not in a state to start TLS");
    rc = tls_setup(st, tls, err);
    if (rc == 0)
        rc = tls_handshake(st, tls, err);
    if (rc < 0 && st->fail == IB_STREAM_FAIL_NONE)
        set_fail(st, IB_STREAM_FAIL_TLS, "%s", "TLS setup failed");
    return rc;
}

void ib_stream_set_timeout(mailstream_low *low, unsigned int timeout_ms)
{
    struct ib_stream *st = stream_of(low);

    if (st != NULL)
        st->timeout_ms = timeout_ms;
}

unsigned int ib_stream_timeout(mailstream_low *low)
{
    struct ib_stream *st = stream_of(low);

    return st ? st->timeout_ms : 0;
}

int ib_stream_fd(mailstream_low *low)
{
    struct ib_stream *st = stream_of(low);

    return st ? st->fd : -1;
}

bool ib_stream_has_pending(mailstream_low *low)
{
    struct ib_stream *st = stream_of(low);

    if (st == NULL)
        return false;
    if (st->compressing && st->zin.avail_in > 0)
        return true;
    return st->ssl != NULL && SSL_pending(st->ssl) > 0;
}

int ib_stream_start_compress(mailstream_low *low, struct cm_err *err)
{
    struct ib_stream *st = stream_of(low);

    if (st == NULL || st->compressing)
        return cm_err_set(err, CM_EINTERNAL, "COMPRESS: not our stream or already on");
    st->zbuf_cap = 16384;
    st->zbuf = malloc(st->zbuf_cap);
    if (st->zbuf == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    memset(&st->zin, 0, sizeof(st->zin));
    memset(&st->zout, 0, sizeof(st->zout));
    if (inflateInit2(&st->zin, -15) != Z_OK) {
        free(st->zbuf);
        st->zbuf = NULL;
        return cm_err_set(err, CM_ENOMEM, "COMPRESS: cannot start inflate");
    }
    if (deflateInit2(&st->zout, Z_BEST_SPEED, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        inflateEnd(&st->zin);
        free(st->zbuf);
        st->zbuf = NULL;
        return cm_err_set(err, CM_ENOMEM, "COMPRESS: cannot start deflate");
    }
    st->compressing = true;
    return 0;
}

bool ib_stream_is_tls(mailstream_low *low)
{
    struct ib_stream *st = stream_of(low);

    return st != NULL && st->ssl != NULL;
}

enum ib_stream_fail ib_stream_failure(mailstream_low *low, const char **msg_r)
{
    struct ib_stream *st = stream_of(low);

    if (msg_r != NULL)
        *msg_r = st ? st->fail_msg : "";
    return st ? st->fail : IB_STREAM_FAIL_NONE;
}
