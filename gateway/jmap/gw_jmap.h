/* gw_jmap.h - the JMAP API endpoint (RFC 8620 §3): request parsing, result
 * references, method dispatch and the response envelope.
 *
 * A request runs on a worker. Each method call gets a struct gw_jcall; the
 * method returns its response arguments, or NULL with err set (mapped to a
 * JMAP method error by gw_error_jmap_type unless the method set a specific
 * error_type such as "cannotCalculateChanges"). One failing call never
 * fails the others. The IMAP session is checked out lazily by the first
 * method that needs it (gw_jreq_session) and checked in at the end.
 *
 * Ownership: gw_jreq owns the principal, the session and the responses;
 * a method's args are borrowed for the call.
 * Threads: one request on one worker.
 */
#ifndef GW_JMAP_H
#define GW_JMAP_H

#include <jansson.h>
#include <stdbool.h>

#include "common/cm_err.h"
#include "gateway/gw_token.h"
#include "imapbridge/ib_mailbox.h"
#include "imapbridge/ib_upstream.h"

struct gw_req;
struct ib_session;

#define GW_JMAP_CORE "urn:ietf:params:jmap:core"
#define GW_JMAP_MAIL "urn:ietf:params:jmap:mail"
#define GW_JMAP_SUBMISSION "urn:ietf:params:jmap:submission" /* only with smtp_url */

/* Advertised and enforced limits (RFC 8620 §2). */
#define GW_JMAP_MAX_CALLS 32
#define GW_JMAP_MAX_OBJECTS_GET 1000
#define GW_JMAP_MAX_OBJECTS_SET 500
#define GW_JMAP_MAX_MAILBOX_NAME 490  /* maxSizeMailboxName, bytes of UTF-8 */
#define GW_JMAP_MAX_CONCURRENT 4
#define GW_JMAP_MAX_DEPTH 64

struct gw_jreq {
    struct gw_req *req;
    struct gw_principal principal;
    char account_id[IB_ACCOUNT_ID_LEN + 1];
    unsigned int using_mask;      /* GW_JMAP_USING_* */
    struct ib_session *session;   /* NULL until a method needs IMAP */
    json_t *responses;            /* methodResponses */
    json_t *created_ids;          /* creation id -> id, from the request's createdIds
                                     and every create of this request (NULL only
                                     before the request is checked) */
    bool echo_created_ids;        /* the request had createdIds: answer with them */
    struct ib_folder_list folders; /* loaded by gw_jmail_folders, once per request */
    bool folders_loaded;
};

enum gw_jmap_using {
    GW_JMAP_USING_CORE = 1 << 0,
    GW_JMAP_USING_MAIL = 1 << 1,
    GW_JMAP_USING_SUBMISSION = 1 << 2
};

struct gw_jcall {
    struct gw_jreq *jr;
    const char *name;
    json_t *args;            /* borrowed; references already resolved */
    const char *call_id;
    const char *error_type;  /* set by a method for a specific JMAP error */
    json_t *followup;        /* an implicit call's [name, args] (RFC 8621 §7.5
                                onSuccessUpdateEmail), answered right after
                                this call with its call id; dispatch steals it */
};

/* A method: returns a new reference to the response arguments, or NULL
   with err set (and optionally c->error_type). */
typedef json_t *gw_jmethod_fn(struct gw_jcall *c, struct cm_err *err);

struct gw_jmethod {
    const char *name;          /* "Mailbox/get" */
    unsigned int capability;   /* GW_JMAP_USING_* the client must declare */
    gw_jmethod_fn *fn;
};

/* Route handlers (worker). */
void gw_jmap_api(struct gw_req *req);      /* POST apiUrl */
void gw_jmap_session(struct gw_req *req);  /* GET /.well-known/jmap, /jmap/session */
struct gw_settings;
/* The session's urn:ietf:params:jmap:mail account capability:
   maxMailboxesPerEmail 1, or null (unlimited) when labels (the user's
   upstream offers X-GM-EXT-1: gw_jmap_session_labels). New object. */
json_t *gw_jmap_mail_capability(const struct gw_settings *set, bool labels);

/* Are the mailboxes of jr's user labels (X-GM-EXT-1, Gmail)? Asked of the
   user's own IMAP session: the one Basic auth checked out, else one
   checked out now (a warm one costs no I/O; a cold one is the login the
   client's first API call would make, left warm in the pool for it).
   When none can be had (upstream down), what this instance has seen
   (gw_ctx.upstream_labels), so the session resource still answers. */
bool gw_jmap_session_labels(struct gw_jreq *jr);

/* The session's IMAP connection, checked out on first use. */
int gw_jreq_session(struct gw_jreq *jr, struct ib_session **s_r, struct cm_err *err)
    __attribute__((warn_unused_result));

/* Check args.accountId against the caller's account. On mismatch sets
   c->error_type = "accountNotFound" and returns CM_ENOENT. */
int gw_jcall_account(struct gw_jcall *c, struct cm_err *err) __attribute__((warn_unused_result));

/* Fail the call with the JMAP method error `type` (RFC 8620 §3.6.2, e.g.
   "stateMismatch") and the CM_E* code and message in err; returns code,
   so a method can `return gw_jcall_fail(c, err, "tooManyResults",
   CM_ELIMIT, "more than %d", n);`. Errors without a specific type take
   gw_error_jmap_type's. */
int gw_jcall_fail(struct gw_jcall *c, struct cm_err *err, const char *type, enum cm_code code,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Resolve every "#name" ResultReference in args (RFC 8620 §3.7) against
   the responses so far. Returns 0, or -1 with *why set to a static reason
   (the call then fails with invalidResultReference or, for a key given
   both with and without '#', invalidArguments: *type_r says which). */
int gw_jmap_resolve_refs(json_t *args, json_t *responses, const char **type_r,
                         const char **why);

/* RFC 6901 JSON Pointer with JMAP's '*' extension (RFC 8620 §3.7). New
   reference, or NULL when the path does not resolve. */
json_t *gw_jmap_pointer(json_t *value, const char *path);

#endif
