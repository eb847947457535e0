/* gw_jmap_std.h - the argument parsing and reply shapes shared by the
 * standard methods (RFC 8620 §5: /get, /changes, /query), so each method
 * stays short (STYLE §4.6).
 *
 * Threads: pure helpers; run on the request's worker.
 */
#ifndef GW_JMAP_STD_H
#define GW_JMAP_STD_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "gateway/jmap/gw_jmap.h"

/* Property table entry: a name and whether it is returned when the client
   asks for no properties (default set). */
struct gw_jprop {
    const char *name;
    bool is_default;
};

struct gw_jget {
    json_t *ids;    /* borrowed array of id strings, or NULL for "all" */
    json_t *props;  /* new reference: array of property names (id always included) */
};

#define GW_JGET_INIT { NULL, NULL }

/* Parse accountId, ids and properties of a /get call against props[0..n).
   Errors: accountNotFound, invalidArguments (unknown property, wrong
   types), requestTooLarge (more ids than maxObjectsInGet). */
int gw_jget_parse(struct gw_jcall *c, const struct gw_jprop *props, size_t n, struct gw_jget *g,
                  struct cm_err *err) __attribute__((warn_unused_result));
void gw_jget_fini(struct gw_jget *g);

/* For data types that cannot list everything (Email, Thread): ids: null
   is answered with requestTooLarge. Returns 0 or CM_ELIMIT. */
int gw_jget_require_ids(struct gw_jcall *c, const struct gw_jget *g, struct cm_err *err)
    __attribute__((warn_unused_result));

/* Does array hold the string s? */
bool gw_json_array_has(json_t *array, const char *s);

/* Is property name wanted by the request? */
bool gw_jget_wants(const struct gw_jget *g, const char *name);

/* Keep only the wanted properties of obj (always keeps "id"). */
void gw_jget_filter(const struct gw_jget *g, json_t *obj);

/* {"accountId","state","list","notFound"}: steals list and not_found. */
json_t *gw_jget_reply(struct gw_jcall *c, const char *state, json_t *list, json_t *not_found);

#endif

/* /query window and flags (RFC 8620 §5.5). filter and sort stay in args
   for the method to interpret. */
struct gw_jquery {
    json_t *filter;        /* borrowed, or NULL */
    json_t *sort;          /* borrowed array, or NULL */
    long long position;
    const char *anchor;    /* borrowed, or NULL */
    long long anchor_offset;
    long long limit;       /* -1 = none given */
    bool calculate_total;
};

#define GW_JQUERY_MAX_LIMIT 1000

/* Parse accountId and the window arguments. invalidArguments on bad types
   or a negative limit. */
int gw_jquery_parse(struct gw_jcall *c, struct gw_jquery *q, struct cm_err *err)
    __attribute__((warn_unused_result));

/* Cut the window out of the complete ordered result ids (steals all_ids)
   and build the reply {accountId, queryState, canCalculateChanges,
   position, ids, [total], [limit]}. Returns NULL with err set and
   c->error_type = "anchorNotFound" when the anchor is not in the results. */
json_t *gw_jquery_reply(struct gw_jcall *c, const struct gw_jquery *q, json_t *all_ids,
                        const char *query_state, bool can_calculate_changes,
                        struct cm_err *err);

/* /changes arguments (RFC 8620 §5.2). */
struct gw_jchanges {
    const char *since_state;  /* borrowed */
    long long max_changes;    /* -1 = none given */
};

/* The reply of gw_jquery_reply when the server already cut the window
   (ids: the results from q->position on, at most the limit; steals it).
   Only for a query with no anchor, position >= 0, 1 <= limit <=
   GW_JQUERY_MAX_LIMIT and no calculateTotal (gw_jquery_server_window). */
json_t *gw_jquery_reply_window(struct gw_jcall *c, const struct gw_jquery *q, json_t *ids,
                               const char *query_state);
/* Can the server cut q's window (see gw_jquery_reply_window)? *first_r,
   *count_r: the window's 1-based first position and size. */
bool gw_jquery_server_window(const struct gw_jquery *q, uint32_t *first_r, uint32_t *count_r);

int gw_jchanges_parse(struct gw_jcall *c, struct gw_jchanges *ch, struct cm_err *err)
    __attribute__((warn_unused_result));

/* /set (RFC 8620 §5.3): a SetError {"type","description"}. */
json_t *gw_jset_error(const char *type, const char *description);

/* An invalidProperties SetError naming prop in "properties" (RFC 8620
   §5.3: it SHOULD list the invalid properties). */
json_t *gw_jset_invalid(const char *prop, const char *description);

/* gw_jset_error, or gw_jset_invalid(prop, ...) when type is
   invalidProperties. */
json_t *gw_jset_error_of(const char *type, const char *description, const char *prop);

/* create and update must be objects or absent, destroy an array or
   absent, and together at most maxObjectsInSet: invalidArguments or
   requestTooLarge (CM_ELIMIT) otherwise. */
int gw_jset_check_counts(json_t *create, json_t *update, json_t *destroy, struct cm_err *err)
    __attribute__((warn_unused_result));

/* RFC 8620 §5.3 with erratum 6607: an update key or a destroy id written
   "#cid" names the record created as cid earlier in the request (this
   call's creates too, once they are in created_ids). Rewrites update and
   destroy in place (either may be NULL) with the real ids; a "#cid" that
   names nothing, or whose real id the call also names, is kept as it is
   and so answers notFound. */
void gw_jset_resolve_refs(json_t *created_ids, json_t *update, json_t *destroy);

/* {accountId, oldState, newState, hasMoreChanges, created, updated,
   destroyed} — steals the three arrays. */
json_t *gw_jchanges_reply(struct gw_jcall *c, const char *old_state, const char *new_state,
                          bool has_more, json_t *created, json_t *updated, json_t *destroyed);
