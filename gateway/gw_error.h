/* gw_error.h - the only mapping from CM_E* codes to HTTP and to JMAP method
 * errors (ARCHITECTURE §7).
 *
 * Threads: pure; safe from any thread.
 */
#ifndef GW_ERROR_H
#define GW_ERROR_H

#include <jansson.h>

#include "common/cm_err.h"

struct gw_error_map {
    unsigned int status;       /* HTTP status */
    const char *title;         /* short, for the problem "title" */
    unsigned int retry_after;  /* seconds for Retry-After, 0 = none */
};

/* HTTP status, title and Retry-After for a code. */
struct gw_error_map gw_error_map(enum cm_code code);

/* RFC 7807 body: {"type","title","status","detail"}. New reference. */
json_t *gw_error_problem(unsigned int status, const char *title, const char *detail);

/* The JMAP method error type (RFC 8620 §3.6.2) for a code a method failed
   with, when the method named no specific one. */
const char *gw_error_jmap_type(enum cm_code code);

/* Title for a status (e.g. 404 -> "Not Found"). */
const char *gw_error_status_title(unsigned int status);

#endif
