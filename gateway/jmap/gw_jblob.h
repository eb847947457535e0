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
#include "imapbridge/ib_upstream.h"

struct gw_ctx;
struct gw_req;
struct ib_session;
struct ib_folder_list;

/* What a blobId names. */
struct gw_jblob {
    bool parked; /* an upload (ref), else a message part (email_id, part) */
    struct ib_park_ref ref;
    char email_id[IB_IDS_EMAIL_MAX + 1]; /* located with gw_jblob_locate */
    char *part; /* malloc'd; "" = whole message */
    struct gw_ctx *ctx;                  /* borrowed: the instance's location cache */
    char account[IB_ACCOUNT_ID_LEN + 1];
};

struct gw_jmail_where;

/* Where the email of a message blob is now (w->f NULL: gone), as Email/get
   would find it (location cache, checked; else a search by GUID).
   Changes the selection. < 0 only for a broken session or OOM. */
int gw_jblob_locate(struct ib_session *s, const struct ib_folder_list *l, const struct gw_jblob *b,
                    struct gw_jmail_where *w, struct cm_err *err)
    __attribute__((warn_unused_result));

/* Parse blob_id for account (the caller's accountId). CM_ENOENT for a
   malformed, forged, foreign or expired (upload_ttl) id. Call
   gw_jblob_fini in every case. */
int gw_jblob_parse(struct gw_ctx *ctx, const char *account, const char *blob_id,
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
