/* ib_sasl.h - SASL for IMAP AUTHENTICATE (RFC 3501 §6.2.2) on a libetpan
 * connection: the client messages of PLAIN (RFC 4616) and OAUTHBEARER
 * (RFC 7628), one-message exchanges with or without SASL-IR (RFC 4959),
 * and reading the server's continuations and error challenges. XOAUTH2 is
 * libetpan's own (mailimap_oauth2_authenticate). Which mechanism a login
 * uses, and the mapping to CM_E* codes, stay in ib_session.c.
 *
 * Every message built here is base64 and holds a secret: free it with
 * ib_sasl_free_secret. Everything sent is flushed with the stream's
 * privacy flag, so the protocol log never shows it.
 * Returns: libetpan codes (MAILIMAP_NO_ERROR, MAILIMAP_ERROR_LOGIN for a
 * tagged NO, others as libetpan says). Threads: the session's.
 */
#ifndef IB_SASL_H
#define IB_SASL_H

#include <stdbool.h>
#include <stddef.h>

#include <libetpan/libetpan.h>

/* Room for the "status" of an OAUTHBEARER error challenge. */
#define IB_SASL_STATUS_MAX 24

/* base64 of RFC 4616 "\0user\0password" (no authorization identity);
   NULL on OOM. */
char *ib_sasl_plain_message(const char *user, const char *pass);

/* base64 of RFC 7628 "n,a=<user>,^Ahost=<h>^Aport=<p>^Aauth=Bearer
   <token>^A^A", with ',' and '=' in user escaped (RFC 5801); NULL on OOM.
   The caller refuses control characters first (ib_sasl_has_ctl). */
char *ib_sasl_oauthbearer_message(const char *user, const char *host, unsigned int port,
                                  const char *token);

/* Does text hold a control character (< 0x20 or DEL)? */
bool ib_sasl_has_ctl(const char *text);

/* Wipe and free a message built here (NULL is fine). */
void ib_sasl_free_secret(char *text);

/* AUTHENTICATE mech with the one client message b64: as initial response
   when the server offers SASL-IR, else after its empty challenge. A
   challenge after the message is an error challenge: answered with ack,
   its RFC 7628 "status" (reduced to [A-Za-z0-9._-]) copied to status when
   that is not NULL, then the tagged NO read. On success the connection is
   authenticated. */
int ib_sasl_exchange(mailimap *imap, const char *mech, const char *b64, const char *ack,
                     char *status, size_t status_size);

/* Read one line; *cont_r tells whether it is a continuation request. */
int ib_sasl_read(mailimap *imap, bool *cont_r);

/* The rest of the tagged response whose first line ib_sasl_read read:
   OK marks the connection authenticated; NO is MAILIMAP_ERROR_LOGIN. */
int ib_sasl_result(mailimap *imap);

#endif
