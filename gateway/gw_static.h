/* gw_static.h - the web client (web_root) served from memory.
 *
 * At start-up every regular file directly in web_root (no sub-folders,
 * at most 256 files and 16 MiB in all) is read into memory with its
 * content type and an ETag; requests are then answered on the MHD thread
 * without file I/O. "/" serves index.html.
 *
 * Ownership: the table is process-wide, loaded before the server starts
 * and freed after it stops. Threads: gw_static_load/free on the main thread
 * only; a load while serving (SIGHUP) publishes a new table atomically and
 * keeps the old one until gw_static_free, so handlers never see a torn one.
 */
#ifndef GW_STATIC_H
#define GW_STATIC_H

#include "common/cm_err.h"

struct gw_req;

/* Load web_root (NULL: serve nothing), replacing what was loaded; on error
   the previous table stays. */
int gw_static_load(const char *web_root, struct cm_err *err) __attribute__((warn_unused_result));
void gw_static_free(void);

/* Route handlers (MHD thread). */
void gw_static_index(struct gw_req *req);
void gw_static_file(struct gw_req *req);

#endif
