/* gw_jblob.h - uploaded blobs on the gateway side: the upload endpoint's
 * state (gw_jmap_upload.c), and reading a blobId of either kind (a parked
 * upload, or a message / part of a message) into memory for Email/import
 * and Email/parse.
 *
 * Threads: gw_jblob_* run on the request's worker with its session.
 */
#ifndef GW_JBLOB_H
#define GW_JBLOB_H

#include <stdbool.h>
#include <stddef.h>

#include "common/cm_err.h"
#include "imapbridge/ib_ids.h"
#include "imapbridge/ib_park_blob.h"

struct gw_ctx;
struct gw_req;
struct ib_session;
struct ib_folder_list;

/* What a blobId names. */
struct gw_jblob {
    bool parked; /* an upload (ref), else a message part (loc, part) */
    struct ib_park_ref ref;
    struct ib_email_loc loc;
    char *part; /* malloc'd; "" = whole message */
};

/* Parse blob_id for account (the caller's accountId). CM_ENOENT for a
   malformed, forged, foreign or expired (upload_ttl) id. Call
   gw_jblob_fini in every case. */
int gw_jblob_parse(const struct gw_ctx *ctx, const char *account, const char *blob_id,
                   struct gw_jblob *b, struct cm_err *err) __attribute__((warn_unused_result));
void gw_jblob_fini(struct gw_jblob *b);

/* The blob's bytes (malloc'd, NUL-terminated). l: the account's folders
   (for message blobs). CM_ENOENT when it is gone. Changes the selection. */
int gw_jblob_read(struct ib_session *s, const struct ib_folder_list *l, const struct gw_jblob *b,
                  char **data_r, size_t *len_r, struct cm_err *err)
    __attribute__((warn_unused_result));

/* GET downloadUrl for a parked blob: answers and returns true when
   req->params[1] is a parked blobId (worker); false leaves req alone. */
bool gw_jblob_download(struct gw_req *req);

#endif
