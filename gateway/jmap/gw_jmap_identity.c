/* gw_jmap_identity.c - Identity/get, /changes, /set (RFC 8621 §6).
 *
 * Every account has exactly one identity, id GW_SEND_IDENTITY_ID, whose
 * email is the login when that is an address, else login@mail_domain
 * (gw_send_identity_email); an account with neither has none. It cannot
 * be deleted, and no other can be created: the SMTP server decides which
 * senders it accepts, and the gateway sends only as the login's address.
 * Its state is the constant "1" (nothing about it changes while the
 * gateway runs), so /changes from "1" is empty and from anything else is
 * cannotCalculateChanges. Identity/set update (name, signatures, replyTo,
 * bcc) needs a place to keep them: not implemented yet (IMAP METADATA
 * would be that place); refused per object with "forbidden". */
#include <string.h>

#include "gateway/gw_ctx.h"
#include "gateway/gw_req.h"
#include "gateway/gw_send.h"
#include "gateway/jmap/gw_jmap_methods.h"
#include "gateway/jmap/gw_jmap_std.h"

#define IDENTITY_STATE "1"

static const struct gw_jprop identity_props[] = {
    { "id", true },           { "name", true },          { "email", true },
    { "replyTo", true },      { "bcc", true },           { "textSignature", true },
    { "htmlSignature", true }, { "mayDelete", true },
};

/* The account's identity (new reference), or NULL when it has none. */
static json_t *identity_json(struct gw_jreq *jr)
{
    char email[256];

    if (gw_send_identity_email(jr->req->ctx->set, jr->principal.creds.username, email,
                               sizeof(email)) < 0)
        return NULL;
    return json_pack("{s:s,s:s,s:s,s:n,s:n,s:s,s:s,s:b}", "id", GW_SEND_IDENTITY_ID, "name", "",
                     "email", email, "replyTo", "bcc", "textSignature", "", "htmlSignature", "",
                     "mayDelete", 0);
}

json_t *gw_jmap_identity_get(struct gw_jcall *c, struct cm_err *err)
{
    struct gw_jget g = GW_JGET_INIT;
    json_t *list = json_array(), *not_found = json_array(), *ident = NULL, *v, *reply = NULL;
    size_t i;

    if (gw_jget_parse(c, identity_props, sizeof(identity_props) / sizeof(identity_props[0]), &g,
                      err) < 0)
        goto done;
    ident = identity_json(c->jr);
    if (ident != NULL)
        gw_jget_filter(&g, ident);
    if (g.ids == NULL) {
        if (ident != NULL)
            json_array_append(list, ident);
    } else {
        json_array_foreach(g.ids, i, v) {
            if (ident != NULL && strcmp(json_string_value(v), GW_SEND_IDENTITY_ID) == 0)
                json_array_append(list, ident);
            else
                json_array_append(not_found, v);
        }
    }
    reply = gw_jget_reply(c, IDENTITY_STATE, list, not_found);
    list = not_found = NULL;
done:
    json_decref(list);
    json_decref(not_found);
    json_decref(ident);
    gw_jget_fini(&g);
    return reply;
}

json_t *gw_jmap_identity_changes(struct gw_jcall *c, struct cm_err *err)
{
    struct gw_jchanges ch;

    if (gw_jchanges_parse(c, &ch, err) < 0)
        return NULL;
    if (strcmp(ch.since_state, IDENTITY_STATE) != 0) {
        gw_jcall_fail(c, err, "cannotCalculateChanges", CM_EINVAL, "unknown state");
        return NULL;
    }
    return gw_jchanges_reply(c, IDENTITY_STATE, IDENTITY_STATE, false, json_array(), json_array(),
                             json_array());
}

static json_t *refuse_all(json_t *in, bool keys, const char *why)
{
    json_t *out = json_object(), *v;
    const char *k;
    size_t i;

    if (keys) {
        json_object_foreach(in, k, v)
            json_object_set_new(out, k, gw_jset_error("forbidden", why));
    } else {
        json_array_foreach(in, i, v) {
            if (json_is_string(v))
                json_object_set_new(out, json_string_value(v),
                                    gw_jset_error(strcmp(json_string_value(v), GW_SEND_IDENTITY_ID)
                                                      ? "notFound" : "forbidden", why));
        }
    }
    return out;
}

json_t *gw_jmap_identity_set(struct gw_jcall *c, struct cm_err *err)
{
    json_t *a = c->args, *create = json_object_get(a, "create"), *update = json_object_get(a, "update");
    json_t *destroy = json_object_get(a, "destroy"), *if_in = json_object_get(a, "ifInState");

    if (gw_jcall_account(c, err) < 0 || gw_jset_check_counts(create, update, destroy, err) < 0)
        return NULL;
    if (json_is_string(if_in) && strcmp(json_string_value(if_in), IDENTITY_STATE) != 0) {
        gw_jcall_fail(c, err, "stateMismatch", CM_EINVAL, "ifInState does not match");
        return NULL;
    }
    return json_pack("{s:s,s:s,s:s,s:n,s:n,s:n,s:o,s:o,s:o}", "accountId", c->jr->account_id,
                     "oldState", IDENTITY_STATE, "newState", IDENTITY_STATE, "created", "updated",
                     "destroyed", "notCreated",
                     refuse_all(create, true, "the only identity is the login's own address"),
                     "notUpdated",
                     refuse_all(update, true,
                                "identities cannot be changed yet (no storage for name and "
                                "signatures on this gateway)"),
                     "notDestroyed", refuse_all(destroy, false, "the identity cannot be deleted"));
}
