/* ib_stream.h - our libetpan stream driver: non-blocking TCP + poll() +
 * OpenSSL, so sockets with fd >= 1024 work (Debian's libetpan uses select),
 * certificates are verified, and no SIGPIPE is raised (LIBS.md §0.1, §2.3).
 *
 * Data path of a read: socket -> (TLS) -> [COMPRESS=DEFLATE hook: inflate
 * goes here, inside TLS] -> literal guard -> libetpan. A write goes the
 * other way (deflate before SSL_write, one sync flush per write).
 *
 * Every read/write/connect/handshake wait is bounded by the stream's
 * timeout. EOF, a timeout or an error make the stream failed: that call
 * and every later one return -1 (never 0: libetpan 1.9.4 busy-loops on 0
 * inside a literal), and ib_stream_failure() tells why.
 *
 * Literal guard: libetpan 1.9.4 mallocs the size a server announces in
 * "{N}" before reading it. The driver follows the response stream (a line
 * ending in "{N}" CRLF is followed by N bytes of literal data) and fails
 * the stream (IB_STREAM_FAIL_LITERAL) before libetpan sees a line that
 * announces more than max_literal_bytes (or a size of more than 19
 * digits, which libetpan 1.9.4 would overflow). A resp-text that happens to end
 * in "{N}" is treated as a literal announcement too: conservative, at
 * worst such a session is dropped or one literal header is not checked.
 *
 * Ownership: ib_stream_connect() returns a mailstream_low that belongs to
 * the caller until it is wrapped by mailstream_new(); mailstream_close()
 * then closes and frees everything. Threads: one thread at a time.
 */
#ifndef IB_STREAM_H
#define IB_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cm_err.h"

struct _mailstream_low;

#define IB_STREAM_DEFAULT_MAX_LITERAL (64u * 1024 * 1024)

enum ib_stream_fail {
    IB_STREAM_FAIL_NONE = 0,
    IB_STREAM_FAIL_EOF,      /* the peer closed the connection */
    IB_STREAM_FAIL_TIMEOUT,  /* a wait exceeded the timeout */
    IB_STREAM_FAIL_IO,       /* socket error */
    IB_STREAM_FAIL_TLS,      /* TLS error */
    IB_STREAM_FAIL_LITERAL,  /* server announced a literal above the cap */
    IB_STREAM_FAIL_REFUSED   /* greeting was "* BYE ..." (kept from libetpan,
                                which leaks a BYE greeting) */
};

/* Resolve host, connect (non-blocking, SOCK_CLOEXEC, SO_KEEPALIVE with
   keepalive tuning) within timeout_ms in total. max_literal_bytes 0 means
   IB_STREAM_DEFAULT_MAX_LITERAL. Returns 0 or CM_EUNAVAIL (refused,
   unreachable, unresolvable, timed out) / CM_ENOMEM. DNS resolution itself
   is not bounded by the timeout (getaddrinfo). */
int ib_stream_connect(const char *host, unsigned int port, unsigned int timeout_ms,
                      size_t max_literal_bytes, struct _mailstream_low **low_r,
                      struct cm_err *err) __attribute__((warn_unused_result));

struct ib_stream_tls {
    const char *host;     /* SNI and the name (or IP) checked in the certificate */
    bool verify;          /* false: accept any certificate (tests only) */
    const char *ca_file;  /* NULL: the system trust store */
};

/* Run a TLS handshake on the connection (implicit TLS right after
   connect, or after a successful STARTTLS once libetpan's read buffer has
   been checked empty). Returns 0, or CM_EUNAVAIL with the reason
   (verification failure, handshake error, timeout). */
int ib_stream_start_tls(struct _mailstream_low *low, const struct ib_stream_tls *tls,
                        struct cm_err *err) __attribute__((warn_unused_result));

/* Change the per-wait timeout (e.g. a short one before LOGOUT). */
void ib_stream_set_timeout(struct _mailstream_low *low, unsigned int timeout_ms);

/* The current per-wait timeout (0 for a stream that is not ours). */
unsigned int ib_stream_timeout(struct _mailstream_low *low);

/* The socket, for poll/epoll (IDLE). -1 once closed. */
int ib_stream_fd(struct _mailstream_low *low);

/* True when decrypted bytes are already buffered in OpenSSL (SSL_pending),
   i.e. data is available although the fd may not poll readable. Callers
   must also check libetpan's own buffer (mailstream read_buffer_len). */
bool ib_stream_has_pending(struct _mailstream_low *low);

bool ib_stream_is_tls(struct _mailstream_low *low);

/* The shortest time seen from a write to the first bytes read after it:
   the link's round trip plus the server's quickest answer; -1 before the
   first answer. */
int64_t ib_stream_rtt_ms(struct _mailstream_low *low);

/* Why the stream failed (IB_STREAM_FAIL_NONE while healthy); msg_r (may be
   NULL) gets a borrowed description valid until the stream is freed. */
enum ib_stream_fail ib_stream_failure(struct _mailstream_low *low, const char **msg_r);

/* Switch the stream to RFC 4978 COMPRESS=DEFLATE (raw deflate, both ways)
   right after the server's tagged OK to COMPRESS DEFLATE; nothing may be
   buffered in libetpan at that point. 0 or CM_ENOMEM / CM_EINTERNAL. */
int ib_stream_start_compress(struct _mailstream_low *low, struct cm_err *err)
    __attribute__((warn_unused_result));

#endif
