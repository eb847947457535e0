/* gw_jmap_email_create.h - Email/set create (RFC 8621 §4.6): each object
 * built into a message (gw_jemail_mime.h), APPENDed to its one mailbox
 * (on Gmail, several: to the one gw_jmail_dest_of picks, the others then
 * added as labels) with keywords as flags and receivedAt as INTERNALDATE;
 * APPENDUID names it, so "created" holds the ids Email/get gives (on
 * Gmail its mailboxIds too), and the creation id is recorded in the
 * request's created_ids for later calls.
 *
 * Threads: the request's worker, with its session.
 */
#ifndef GW_JMAP_EMAIL_CREATE_H
#define GW_JMAP_EMAIL_CREATE_H

#include <jansson.h>

#include "common/cm_err.h"

struct gw_jcall;
struct ib_session;
struct ib_folder_list;

/* Create every object of create (a JSON object, or NULL) into created /
   not_created (objects the caller owns). Changes the selection. < 0 only
   for a failure of the whole call (broken session, OOM). */
int gw_jmap_email_create(struct gw_jcall *c, struct ib_session *s, const struct ib_folder_list *l,
                         json_t *create, json_t *created, json_t *not_created, struct cm_err *err)
    __attribute__((warn_unused_result));

#endif
