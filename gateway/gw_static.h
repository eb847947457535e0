/* gw_static.h - the web client (web_root) served from memory.
 *
 * At start-up every regular file directly in web_root and in its vendor/
 * sub-folder (no other sub-folders, at most 256 files and 16 MiB in all)
 * is read into memory with its content type and an ETag; requests are then
 * answered on the MHD thread without file I/O. "/" serves index.html.
 * Every answer carries the client's Content-Security-Policy (scripts from
 * 'self' only, frame-ancestors 'none'), Referrer-Policy: no-referrer,
 * X-Frame-Options: DENY and Cross-Origin-Opener-Policy: same-origin.
 *
 * Ownership: the table is process-wide, loaded once before the server
 * starts and freed after it stops. Threads: read-only while serving.
 */
#ifndef GW_STATIC_H
#define GW_STATIC_H

#include "common/cm_err.h"

struct gw_req;

/* Load web_root (NULL: serve nothing). */
int gw_static_load(const char *web_root, struct cm_err *err) __attribute__((warn_unused_result));
void gw_static_free(void);

/* Route handlers (MHD thread). */
void gw_static_index(struct gw_req *req);
void gw_static_file(struct gw_req *req);
void gw_static_vendor(struct gw_req *req); /* /vendor/{name} */

#endif
