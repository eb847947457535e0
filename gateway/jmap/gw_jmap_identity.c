/* gw_jmap_identity.c - Identity/get, /changes, /set (RFC 8621 §6).
 *
 * Every account has exactly one identity, id GW_SEND_IDENTITY_ID, whose
 * email is the login when that is an address, else login@mail_domain
 * (gw_send_identity_email); an account with neither has none. It cannot
 * be deleted, and no other can be created: the gateway sends only as the
 * login's own address (the SMTP server would refuse others anyway).
 *
 * Its name, textSignature, htmlSignature, replyTo and bcc are kept in the
 * IMAP server, as the server annotation IDENTITY_ENTRY (RFC 5464 METADATA
 * on mailbox ""), value base64url(JSON). A server without METADATA keeps
 * the defaults and Identity/set update answers "forbidden". The state is
 * "1" while nothing is stored, else "m" + a hash of the stored value, so
 * /changes from an older state reports the identity as updated. */
#include <stdlib.h>
#include <string.h>

#include "common/cm_b64.h"
#include "common/cm_crypto.h"
#include "gateway/gw_ctx.h"
#include "gateway/gw_req.h"
#include "gateway/gw_send.h"
#include "gateway/jmap/gw_jmap_methods.h"
#include "gateway/jmap/gw_jmap_std.h"
#include "imapbridge/ib_metadata.h"
#include "imapbridge/ib_smtp.h"

#define IDENTITY_STATE "1"
#define IDENTITY_ENTRY "/private/vendor/jmapgate/identity"
#define MAX_NAME 256
#define MAX_SIGNATURE 16384
#define MAX_ADDRS 20

static const struct gw_jprop identity_props[] = {
    {"id", true},  {"name", true},          {"email", true},         {"replyTo", true},
    {"bcc", true}, {"textSignature", true}, {"htmlSignature", true}, {"mayDelete", true},
};

/* What the server keeps for the identity. */
struct stored {
    bool supported; /* the server has METADATA */
    json_t *fields; /* object (new reference; {} when nothing stored) */
    char state[24];
};

static void stored_fini(struct stored *st)
{
    json_decref(st->fields);
    st->fields = NULL;
}

static void state_of(const char *value, char *dst)
{
    unsigned char md[CM_SHA256_LEN];

    if (value == NULL) {
        strcpy(dst, IDENTITY_STATE);
        return;
    }
    cm_sha256(value, strlen(value), md);
    dst[0] = 'm';
    cm_b64url_encode(md, 12, dst + 1);
}

/* Read the stored fields (defaults when the server has none or no METADATA). */
static int load(struct gw_jreq *jr, struct stored *st, struct cm_err *err)
{
    struct ib_session *s = NULL;
    char *value = NULL;
    unsigned char *raw = NULL;
    size_t n = 0;
    int rc;

    st->fields = json_object();
    state_of(NULL, st->state);
    if ((rc = gw_jreq_session(jr, &s, err)) < 0)
        return rc;
    st->supported = ib_metadata_supported(s);
    if (!st->supported)
        return 0;
    rc = ib_metadata_get(s, IDENTITY_ENTRY, &value, err);
    if (rc == CM_EPERM) { /* advertised but refused: as if absent */
        cm_err_clear(err);
        st->supported = false;
        return 0;
    }
    if (rc < 0 || value == NULL)
        return rc;
    state_of(value, st->state);
    raw = cm_b64url_decode(value, strlen(value), &n);
    if (raw != NULL) {
        json_t *o = json_loadb((const char *)raw, n, 0, NULL);

        if (json_is_object(o)) {
            json_decref(st->fields);
            st->fields = o;
        } else {
            json_decref(o);
        }
    }
    free(raw);
    free(value);
    return 0;
}

/* The account's identity (new reference), or NULL when it has none. */
static json_t *identity_json(struct gw_jreq *jr, const struct stored *st)
{
    static const char *const keys[] = {"name", "textSignature", "htmlSignature", "replyTo", "bcc"};
    char email[256];
    json_t *o;

    if (gw_send_identity_email(jr->req->ctx->set, jr->principal.creds.username, email,
                               sizeof(email)) < 0)
        return NULL;
    o = json_pack("{s:s,s:s,s:s,s:n,s:n,s:s,s:s,s:b}", "id", GW_SEND_IDENTITY_ID, "name", "",
                  "email", email, "replyTo", "bcc", "textSignature", "", "htmlSignature", "",
                  "mayDelete", 0);
    for (size_t i = 0; o != NULL && i < sizeof(keys) / sizeof(keys[0]); i++) {
        json_t *v = json_object_get(st->fields, keys[i]);

        if (v != NULL)
            json_object_set(o, keys[i], v);
    }
    return o;
}

json_t *gw_jmap_identity_get(struct gw_jcall *c, struct cm_err *err)
{
    struct gw_jget g = GW_JGET_INIT;
    struct stored st = {0};
    json_t *list = json_array(), *not_found = json_array(), *ident = NULL, *v, *reply = NULL;
    size_t i;

    if (gw_jget_parse(c, identity_props, sizeof(identity_props) / sizeof(identity_props[0]), &g,
                      err) < 0 ||
        load(c->jr, &st, err) < 0)
        goto done;
    ident = identity_json(c->jr, &st);
    if (ident != NULL)
        gw_jget_filter(&g, ident);
    if (g.ids == NULL) {
        if (ident != NULL)
            json_array_append(list, ident);
    } else {
        json_array_foreach(g.ids, i, v)
        {
            if (ident != NULL && strcmp(json_string_value(v), GW_SEND_IDENTITY_ID) == 0)
                json_array_append(list, ident);
            else
                json_array_append(not_found, v);
        }
    }
    reply = gw_jget_reply(c, st.state, list, not_found);
    list = not_found = NULL;
done:
    json_decref(list);
    json_decref(not_found);
    json_decref(ident);
    stored_fini(&st);
    gw_jget_fini(&g);
    return reply;
}

json_t *gw_jmap_identity_changes(struct gw_jcall *c, struct cm_err *err)
{
    struct gw_jchanges ch;
    struct stored st = {0};
    json_t *reply = NULL;
    const char *since;

    if (gw_jchanges_parse(c, &ch, err) < 0 || load(c->jr, &st, err) < 0)
        goto done;
    since = ch.since_state;
    if (strcmp(since, IDENTITY_STATE) != 0 && (since[0] != 'm' || strlen(since) != 17)) {
        gw_jcall_fail(c, err, "cannotCalculateChanges", CM_EINVAL, "unknown state");
        goto done;
    }
    reply = gw_jchanges_reply(c, since, st.state, false, json_array(),
                              strcmp(since, st.state) == 0 ? json_array()
                                                           : json_pack("[s]", GW_SEND_IDENTITY_ID),
                              json_array());
done:
    stored_fini(&st);
    return reply;
}

static bool addrs_valid(json_t *v)
{
    json_t *a;
    size_t i;

    if (json_is_null(v))
        return true;
    if (!json_is_array(v) || json_array_size(v) > MAX_ADDRS)
        return false;
    json_array_foreach(v, i, a)
    {
        json_t *name = json_object_get(a, "name");

        if (!ib_smtp_addr_valid(json_string_value(json_object_get(a, "email"))) ||
            (name != NULL && !json_is_null(name) &&
             (!json_is_string(name) || json_string_length(name) > MAX_NAME)))
            return false;
    }
    return true;
}

/* Apply patch to fields; NULL, or the SetError. */
static json_t *apply_patch(json_t *patch, json_t *fields)
{
    const char *k;
    json_t *v;

    if (!json_is_object(patch))
        return gw_jset_error("invalidPatch", "not an object");
    json_object_foreach(patch, k, v)
    {
        size_t max = strcmp(k, "name") == 0 ? MAX_NAME : MAX_SIGNATURE;

        if (strcmp(k, "name") == 0 || strcmp(k, "textSignature") == 0 ||
            strcmp(k, "htmlSignature") == 0) {
            if (!json_is_string(v) || json_string_length(v) > max)
                return gw_jset_invalid(k, "a string (name <= 256, signatures <= 16384 bytes)");
        } else if (strcmp(k, "replyTo") == 0 || strcmp(k, "bcc") == 0) {
            if (!addrs_valid(v))
                return gw_jset_invalid(k, "null or up to 20 EmailAddress objects with valid emails");
        } else if (strcmp(k, "id") == 0 || strcmp(k, "email") == 0 || strcmp(k, "mayDelete") == 0) {
            return gw_jset_invalid(k, "server-set or immutable");
        } else {
            return gw_jset_invalid(k, "unknown property");
        }
        json_object_set(fields, k, v);
    }
    return NULL;
}

/* Store fields; NULL, or the SetError. */
static json_t *save(struct gw_jreq *jr, json_t *fields, struct cm_err *err)
{
    char *text = json_dumps(fields, JSON_COMPACT), *b64 = NULL;
    struct ib_session *s = NULL;
    json_t *e = NULL;
    int rc = text ? 0 : cm_err_set(err, CM_ENOMEM, "out of memory");

    if (rc == 0 && (b64 = malloc(cm_b64url_encoded_len(strlen(text)) + 1)) == NULL)
        rc = cm_err_set(err, CM_ENOMEM, "out of memory");
    if (rc == 0) {
        cm_b64url_encode(text, strlen(text), b64);
        if (strlen(b64) > IB_METADATA_MAX_VALUE)
            e = gw_jset_error("tooLarge", "the identity settings are too large");
        else if ((rc = gw_jreq_session(jr, &s, err)) == 0)
            rc = ib_metadata_set(s, IDENTITY_ENTRY, b64, err);
    }
    if (rc == CM_EPERM || rc == CM_EINVAL) {
        e = gw_jset_error("forbidden", err->msg);
        cm_err_clear(err);
    } else if (rc < 0) {
        e = gw_jset_error("serverFail", err->msg);
        cm_err_clear(err);
    }
    free(text);
    free(b64);
    return e;
}

static void update_one(struct gw_jreq *jr, const struct stored *st, const char *id, json_t *patch,
                       json_t *updated, json_t *not_updated, struct cm_err *err)
{
    json_t *e = NULL;

    char email[256];

    if (strcmp(id, GW_SEND_IDENTITY_ID) != 0 ||
        gw_send_identity_email(jr->req->ctx->set, jr->principal.creds.username, email,
                               sizeof(email)) < 0)
        e = gw_jset_error("notFound", "no such identity");
    else if (!st->supported)
        e = gw_jset_error("forbidden", "the IMAP server has no METADATA (RFC 5464) to keep "
                                       "identity settings in");
    else if ((e = apply_patch(patch, st->fields)) == NULL)
        e = save(jr, st->fields, err);
    if (e != NULL)
        json_object_set_new(not_updated, id, e);
    else
        json_object_set_new(updated, id, json_null());
}

json_t *gw_jmap_identity_set(struct gw_jcall *c, struct cm_err *err)
{
    json_t *a = c->args, *create = json_object_get(a, "create"),
           *update = json_object_get(a, "update");
    json_t *destroy = json_object_get(a, "destroy"), *if_in = json_object_get(a, "ifInState");
    json_t *updated = json_object(), *not_updated = json_object(), *not_created = json_object();
    json_t *not_destroyed = json_object(), *v, *reply = NULL;
    struct stored st = {0};
    char old_state[24];
    const char *k;
    size_t i;

    if (gw_jcall_account(c, err) < 0 || gw_jset_check_counts(create, update, destroy, err) < 0 ||
        load(c->jr, &st, err) < 0)
        goto done;
    if (json_is_string(if_in) && strcmp(json_string_value(if_in), st.state) != 0) {
        gw_jcall_fail(c, err, "stateMismatch", CM_EINVAL, "ifInState does not match");
        goto done;
    }
    memcpy(old_state, st.state, sizeof(old_state));
    json_object_foreach(create, k, v)
        json_object_set_new(not_created, k,
                            gw_jset_error("forbidden", "the only identity is "
                                                       "the login's own address"));
    json_object_foreach(update, k, v) update_one(c->jr, &st, k, v, updated, not_updated, err);
    json_array_foreach(destroy, i, v)
    {
        const char *id = json_string_value(v);

        if (id != NULL)
            json_object_set_new(
                not_destroyed, id,
                gw_jset_error(strcmp(id, GW_SEND_IDENTITY_ID) ? "notFound" : "forbidden",
                              "the identity cannot be deleted"));
    }
    if (json_object_size(updated) > 0) {
        stored_fini(&st);
        if (load(c->jr, &st, err) < 0)
            goto done;
    }
    reply = json_pack("{s:s,s:s,s:s,s:n,s:O,s:n,s:O,s:O,s:O}", "accountId", c->jr->account_id,
                      "oldState", old_state, "newState", st.state, "created", "updated", updated,
                      "destroyed", "notCreated", not_created, "notUpdated", not_updated,
                      "notDestroyed", not_destroyed);
done:
    json_decref(updated);
    json_decref(not_updated);
    json_decref(not_created);
    json_decref(not_destroyed);
    stored_fini(&st);
    return reply;
}
