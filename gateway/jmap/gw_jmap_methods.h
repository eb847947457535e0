/* gw_jmap_methods.h - the JMAP method table and the methods (one file per
 * data type: gw_jmap_core.c, gw_jmap_mailbox.c, ...).
 * Threads: methods run on the request's worker.
 */
#ifndef GW_JMAP_METHODS_H
#define GW_JMAP_METHODS_H

#include <stdint.h>

#include "gateway/jmap/gw_jmap.h"

/* The method named name, or NULL. */
const struct gw_jmethod *gw_jmethod_find(const char *name);

/* gw_jmap_core.c */
json_t *gw_jmap_core_echo(struct gw_jcall *c, struct cm_err *err);

/* gw_jmap_std.c: Mailbox/queryChanges and Email/queryChanges. Validates the
   arguments, then answers cannotCalculateChanges (RFC 8620 §5.6 allows it):
   a stateless gateway keeps no query results to diff against. */
json_t *gw_jmap_query_changes(struct gw_jcall *c, struct cm_err *err);

/* gw_jmap_mailbox.c */
struct ib_folder_list;
json_t *gw_jmap_mailbox_get(struct gw_jcall *c, struct cm_err *err);
json_t *gw_jmap_mailbox_changes(struct gw_jcall *c, struct cm_err *err);
/* Rank of a role (inbox first, custom folders last): how Mailbox/query
   orders mailboxes whose sortOrder ties (all of them). */
int gw_jmap_mailbox_role_rank(const char *role);
/* The Mailbox object of a folder (new reference). */
struct ib_folder;
json_t *gw_jmap_mailbox_json(const struct ib_folder *f);
/* The Mailbox state token of a folder list (malloc'd; NULL on OOM). */
char *gw_jmap_mailbox_state(const unsigned char key[32], const struct ib_folder_list *l);

/* gw_jmap_email.c, gw_jmap_email_query.c */
json_t *gw_jmap_email_get(struct gw_jcall *c, struct cm_err *err);
json_t *gw_jmap_email_query(struct gw_jcall *c, struct cm_err *err);
json_t *gw_jmap_email_changes(struct gw_jcall *c, struct cm_err *err);
json_t *gw_jmap_email_set(struct gw_jcall *c, struct cm_err *err);
/* Email/copy, Blob/copy: one account per login, so always an error
   (invalidArguments for a copy within it, fromAccountNotFound else). */
json_t *gw_jmap_email_copy(struct gw_jcall *c, struct cm_err *err);
json_t *gw_jmap_blob_copy(struct gw_jcall *c, struct cm_err *err);

/* gw_jmap_snippet.c */
json_t *gw_jmap_snippet_get(struct gw_jcall *c, struct cm_err *err);

/* gw_jmap_thread.c */
json_t *gw_jmap_thread_get(struct gw_jcall *c, struct cm_err *err);
json_t *gw_jmap_thread_changes(struct gw_jcall *c, struct cm_err *err);

/* gw_jmap_mailbox_set.c */
json_t *gw_jmap_mailbox_set(struct gw_jcall *c, struct cm_err *err);

/* gw_jmap_mailbox_query.c */
json_t *gw_jmap_mailbox_query(struct gw_jcall *c, struct cm_err *err);

/* gw_jmap_import.c, gw_jmap_parse.c (RFC 8621 §4.8, §4.9) */
json_t *gw_jmap_email_import(struct gw_jcall *c, struct cm_err *err);
json_t *gw_jmap_email_parse(struct gw_jcall *c, struct cm_err *err);

/* gw_jmap_email.c: Email/get's object builder, for Email/parse. _opts_new
   parses c->args as Email/get would (properties, bodyProperties,
   fetch*BodyValues, maxBodyValueBytes; "header:" forms are taken out of
   c->args' properties, so call it once per call); NULL with err set.
   _at builds the Email object of message uid in folder f (selects f;
   CM_ENOENT when it is not there), new reference or NULL with err set. */
struct gw_email_opts;
struct ib_session;
struct gw_email_opts *gw_jmap_email_opts_new(struct gw_jcall *c, struct cm_err *err);
json_t *gw_jmap_email_at(struct gw_email_opts *o, struct ib_session *s, const struct ib_folder *f,
                         uint32_t uid, struct cm_err *err);
void gw_jmap_email_opts_free(struct gw_email_opts **op);

/* gw_jmap_identity.c (issue 14) */
json_t *gw_jmap_identity_get(struct gw_jcall *c, struct cm_err *err);
json_t *gw_jmap_identity_changes(struct gw_jcall *c, struct cm_err *err);
json_t *gw_jmap_identity_set(struct gw_jcall *c, struct cm_err *err);

/* gw_jmap_submission.c (issue 14) */
json_t *gw_jmap_submission_set(struct gw_jcall *c, struct cm_err *err);
json_t *gw_jmap_submission_get(struct gw_jcall *c, struct cm_err *err);
json_t *gw_jmap_submission_query(struct gw_jcall *c, struct cm_err *err);
json_t *gw_jmap_submission_changes(struct gw_jcall *c, struct cm_err *err);
/* Add the submission capability, account capability and primary account
   to a session object (only when sending is configured). */
void gw_jmap_submission_session(json_t *session, const char *account_id);

#endif
