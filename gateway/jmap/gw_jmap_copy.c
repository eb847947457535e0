/* gw_jmap_copy.c - Email/copy (RFC 8621 §4.7) and Blob/copy (RFC 8620
 * §6.3). Both copy between two accounts; the gateway serves exactly one
 * account per login (its IMAP user), so a copy within it is an invalid
 * call (move or copy within the account is Email/set of mailboxIds), and
 * any other fromAccountId is not an account of the caller. */
#include <string.h>

#include "gateway/jmap/gw_jmap_methods.h"

static json_t *refuse(struct gw_jcall *c, struct cm_err *err, const char *what)
{
    const char *from = json_string_value(json_object_get(c->args, "fromAccountId"));

    if (gw_jcall_account(c, err) < 0)
        return NULL;
    if (from == NULL) {
        gw_jcall_fail(c, err, "invalidArguments", CM_EINVAL, "fromAccountId is required");
    } else if (strcmp(from, c->jr->account_id) == 0) {
        gw_jcall_fail(c, err, "invalidArguments", CM_EINVAL,
                      "%s within one account: fromAccountId is accountId (this gateway serves "
                      "one account; use Email/set mailboxIds to move a message)",
                      what);
    } else {
        gw_jcall_fail(c, err, "fromAccountNotFound", CM_ENOENT,
                      "fromAccountId is not an account of this login");
    }
    return NULL;
}

json_t *gw_jmap_email_copy(struct gw_jcall *c, struct cm_err *err)
{
    return refuse(c, err, "Email/copy");
}

json_t *gw_jmap_blob_copy(struct gw_jcall *c, struct cm_err *err)
{
    return refuse(c, err, "Blob/copy");
}
