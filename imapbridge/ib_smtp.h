/* ib_smtp.h - a small SMTP submission client (RFC 5321, RFC 6409): one
 * connection per message, on the same stream driver as IMAP (ib_stream.h:
 * poll() + OpenSSL with certificate and host-name verification), so it has
 * the same fd, TLS and timeout behaviour as the IMAP side.
 *
 * Flow: connect (smtps: TLS at once), greeting, EHLO, STARTTLS + EHLO
 * (smtp+starttls: refused when the server does not offer it), AUTH with
 * the user's own credentials (PLAIN, else LOGIN, for passwords; XOAUTH2 or
 * OAUTHBEARER for tokens; no AUTH when the server offers none), MAIL FROM
 * (with SIZE= when offered), RCPT TO for each recipient, DATA
 * (dot-stuffed, CRLF line ends), QUIT. A refused recipient aborts the
 * transaction (RSET) before DATA: a message goes to all or to nobody.
 *
 * Nothing a client sent reaches the server as command text unchecked:
 * addresses must pass ib_smtp_addr_valid (else CM_EINVAL, nothing sent).
 * The AUTH exchange is never logged.
 *
 * Ownership: ib_smtp_server owns its strings (ib_smtp_server_fini).
 * Threads: ib_smtp_send blocks on the caller's thread (a worker); the
 * server struct is read-only after set-up and shared.
 */
#ifndef IB_SMTP_H
#define IB_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cm_err.h"
#include "imapbridge/ib_upstream.h"

struct ib_smtp_server {
    char *url; /* as configured */
    char *host;
    unsigned int port;
    enum ib_tls_mode tls; /* smtp:// NONE, smtp+starttls:// STARTTLS, smtps:// IMPLICIT */
    bool tls_verify;
    char *ca_file;             /* NULL: the system trust store */
    unsigned int timeout_secs; /* each connect/read/write wait */
    char *helo_name;           /* EHLO argument; NULL: "jmapgate" */
};

/* Parse smtp://host[:25], smtp+starttls://host[:587] or smtps://host[:465]
   into srv (zeroed by the caller; other fields are kept). 0 or
   CM_ECONFIG / CM_ENOMEM. */
int ib_smtp_parse_url(const char *url, struct ib_smtp_server *srv, struct cm_err *err)
    __attribute__((warn_unused_result));
void ib_smtp_server_fini(struct ib_smtp_server *srv);

/* An address that may go into MAIL FROM / RCPT TO: local@domain, 3-254
   bytes of printable ASCII or UTF-8, no space, control character, '<',
   '>', '(', ')', ',', ';', '"' or '\\', exactly one '@' with text on both
   sides. Pure. */
bool ib_smtp_addr_valid(const char *addr);

/* Where a send stopped. */
enum ib_smtp_stage {
    IB_SMTP_CONNECT = 0, /* connect, greeting, EHLO */
    IB_SMTP_TLS,         /* STARTTLS or the TLS handshake */
    IB_SMTP_AUTH,
    IB_SMTP_MAIL, /* MAIL FROM, or the SIZE check before it */
    IB_SMTP_RCPT,
    IB_SMTP_DATA, /* DATA or the reply after the final dot */
    IB_SMTP_DONE
};

#define IB_SMTP_TEXT_MAX 256

struct ib_smtp_result {
    enum ib_smtp_stage stage;
    int code;                    /* last reply code (0: none) */
    char text[IB_SMTP_TEXT_MAX]; /* its text, printable ASCII only */
    bool *rejected;              /* caller's array of nrcpt: true = RCPT refused */
    size_t nrejected;
    uint64_t size_limit; /* the server's SIZE (0: not announced) */
};

/* Send data (a complete RFC 5322 message; LF or CRLF line ends, any Bcc
   already removed) from mail_from to rcpt[0..nrcpt-1] as user cr.
   res->rejected (may be NULL) must have nrcpt entries. Returns 0 when the
   server accepted the message after the final dot; else
     CM_EINVAL   an address fails ib_smtp_addr_valid, or nrcpt == 0 (nothing sent)
     CM_EUNAVAIL cannot connect, TLS failed (certificate!), no STARTTLS offered,
                 or no usable AUTH mechanism
     CM_ETIMEOUT a wait took longer than timeout_secs
     CM_EAUTH    the server refused the login (535 and the like)
     CM_ELIMIT   the message is larger than the server's SIZE (nothing sent)
     CM_EUPSTREAM the server refused MAIL, RCPT (see res->rejected) or DATA
   with res->stage, res->code and res->text telling where and why. */
int ib_smtp_send(const struct ib_smtp_server *srv, const struct ib_creds *cr, const char *mail_from,
                 const char *const *rcpt, size_t nrcpt, const char *data, size_t len,
                 struct ib_smtp_result *res, struct cm_err *err)
    __attribute__((warn_unused_result));

/* XOAUTH2 initial client response, base64 of "user=U^Aauth=Bearer T^A^A";
   NULL on OOM. Free with ib_sasl_free_secret. */
char *ib_smtp_xoauth2_message(const char *user, const char *token);

#endif
