/* gw_jmap_bodyprops.h - Email body part properties (RFC 8621 4.1.4, the
 * bodyProperties argument of Email/get and Email/parse): validation, the
 * default list, per-part "headers" and "header:*" forms, and filtering.
 *
 * Threads: a request's worker thread; no shared state.
 */
#ifndef GW_JMAP_BODYPROPS_H
#define GW_JMAP_BODYPROPS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cm_err.h"

struct ib_session;

/* The bodyProperties of args (absent/null: the RFC's default list) as a
   new reference in *keep_r; *headers_r tells whether any property needs
   the parts' headers ("headers" or "header:*"). CM_EINVAL (the caller
   answers invalidArguments) for a non-array, a non-string or an unknown
   property. */
int gw_jbody_props(json_t *args, json_t **keep_r, bool *headers_r, struct cm_err *err)
    __attribute__((warn_unused_result));

/* part with only the properties in keep: "header:*" forms are computed
   from its "headers" first; "subParts" stays on a multipart of a
   bodyStructure tree (tree = true) whatever keep says, and appears on a
   leaf only when asked for. Changes part in place (recursively). */
void gw_jbody_filter(json_t *part, json_t *keep, bool tree);

/* Deep copies of parts, each filtered as a leaf list (tree = false). */
json_t *gw_jbody_filtered_copies(json_t *parts, json_t *keep);

/* Part headers for ib_body_structure_json's headers callback, in one
   UID FETCH per message: build the tree once to learn which sections it
   asks for (gw_jbody_headers_fn answers nothing yet), gw_jbody_headers_fetch
   fetches BODY.PEEK[<section>.MIME] / [HEADER] of them all in one command,
   then build it again (the callback answers from what came). Buffers live
   until gw_jbody_headers_fini. */
struct gw_jbody_headers {
    struct ib_session *s;
    uint32_t uid;
    char **secs;   /* the sections asked for, malloc'd */
    char **data;   /* after the fetch: their bytes (NULL: not sent) */
    size_t *len;
    size_t n;
    bool fetched;
};
const char *gw_jbody_headers_fn(const char *section, size_t *len, void *ctx);
int gw_jbody_headers_fetch(struct gw_jbody_headers *h, struct cm_err *err)
    __attribute__((warn_unused_result));
void gw_jbody_headers_fini(struct gw_jbody_headers *h);

#endif
