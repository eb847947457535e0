/* gw_gzip.h - gzip for large responses (LIBS.md §1.7, §5.1): MHD never
 * compresses, so the server does it when the client accepts gzip.
 *
 * Threads: pure; safe from any thread.
 */
#ifndef GW_GZIP_H
#define GW_GZIP_H

#include <stdbool.h>
#include <stddef.h>

#define GW_GZIP_MIN_BYTES 1024

/* Does an Accept-Encoding value accept gzip (token "gzip" or "*" with a
   q-value above 0)? NULL accepts nothing. */
bool gw_gzip_accepted(const char *accept_encoding);

/* gzip data[0..len). Returns a malloc'd buffer and its size, or NULL. */
char *gw_gzip(const char *data, size_t len, size_t *out_len);

#endif
