/* gw_conn.h - what the gateway checks on an HTTP connection itself, below
 * the route handlers: request framing libmicrohttpd lets through, and the
 * answer to a request whose body must be cut off.
 *
 * libmicrohttpd 0.9.75 with MHD_OPTION_STRICT_FOR_CLIENT = 1 rejects an
 * HTTP/1.1 request without Host (400) and a space in the request target
 * (closes). It accepts, and gw_conn_framing_error refuses: Transfer-Encoding
 * with Content-Length, a Transfer-Encoding other than "chunked", a repeated
 * Content-Length, Host or Transfer-Encoding, and a field name that is not
 * an RFC 9110 token (whitespace before the colon; an obs-fold continuation
 * with a space in it, which MHD glues onto the field *name*). It also
 * accepts bare-LF line endings and a folded line without a space, which
 * cannot be seen from here (documented in README's security section).
 *
 * Threads: MHD event-loop thread (they read the connection).
 */
#ifndef GW_CONN_H
#define GW_CONN_H

#include <stdbool.h>

struct MHD_Connection;
struct gw_req;

/* NULL when the request's framing headers are acceptable, else a static
   reason for a 400. */
const char *gw_conn_framing_error(struct MHD_Connection *c);

/* Write req's prepared answer (status, headers, body) straight to the
   socket with "Connection: close", then shut the write side, so the caller
   can return MHD_NO and MHD closes the connection without reading the rest
   of the body (MHD refuses MHD_queue_response while a body is arriving).
   Best effort: a short answer that does not fit the socket buffer is cut.
   True when all of it was written. */
bool gw_conn_answer_and_close(struct MHD_Connection *c, const struct gw_req *req);

#endif
