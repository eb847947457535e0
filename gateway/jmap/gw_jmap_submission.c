/* gw_jmap_submission.c - EmailSubmission/set, /get, /query, /changes
 * (RFC 8621 §7) for a gateway that keeps no submission history.
 *
 * create: fetch the Email's bytes from IMAP (emailId may be "#creationId"
 * of an Email created earlier in the request), send them (gw_submit.h:
 * identity, envelope, Bcc removal, SMTP errors -> SetErrors), answer with a
 * submission whose undoStatus is "final" (sent at once; no sendAt delay).
 * Then onSuccessUpdateEmail / onSuccessDestroyEmail run as an implicit
 * Email/set, answered right after this call (c->followup), by
 * gw_jmap_email_set itself: keywords, the mailboxIds move (the usual
 * Drafts -> Sent; the email keeps its id where the server has GUIDs) and
 * destroy.
 *
 * Nothing is stored: /get finds no submission, /query is empty, /changes
 * from the constant state "0" is empty, update/destroy say notFound. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cm_b64.h"
#include "common/cm_crypto.h"
#include "gateway/gw_ctx.h"
#include "gateway/gw_req.h"
#include "gateway/gw_send.h"
#include "gateway/gw_submit.h"
#include "gateway/jmap/gw_jmail.h"
#include "gateway/jmap/gw_jmap_methods.h"
#include "gateway/jmap/gw_jmap_std.h"
#include "imapbridge/ib_fetch.h"
#include "imapbridge/ib_header.h"
#include "imapbridge/ib_session.h"

#define SUBMISSION_STATE "0"

struct sent {
    char id[24];       /* the submission id */
    char *creation_id; /* borrowed from args */
    char *email_id;    /* malloc'd, resolved */
};

struct subset {
    struct gw_jcall *c;
    const struct ib_folder_list *l;
    struct ib_session *s;
    json_t *created, *not_created;
    struct sent *sent;
    size_t nsent;
};

void gw_jmap_submission_session(json_t *session, const char *account_id)
{
    json_t *caps = json_object_get(session, "capabilities");
    json_t *acct = json_object_get(json_object_get(session, "accounts"), account_id);
    json_t *primary = json_object_get(session, "primaryAccounts");

    json_object_set_new(caps, GW_JMAP_SUBMISSION, json_object());
    json_object_set_new(json_object_get(acct, "accountCapabilities"), GW_JMAP_SUBMISSION,
                        json_pack("{s:i,s:{}}", "maxDelayedSend", 0, "submissionExtensions"));
    json_object_set_new(primary, GW_JMAP_SUBMISSION, json_string(account_id));
}

/* ---- create ----------------------------------------------------------- */

/* The id the client meant: "#x" through the request's created ids. */
static const char *resolve_id(struct gw_jreq *jr, const char *id)
{
    if (id != NULL && id[0] == '#')
        return json_string_value(json_object_get(jr->created_ids, id + 1));
    return id;
}

/* An Address with an email and no SMTP parameters (we announce no
   submissionExtensions, so none can be honoured). */
static bool address_ok(json_t *a)
{
    json_t *params = json_object_get(a, "parameters");

    return json_is_string(json_object_get(a, "email")) &&
           (params == NULL || json_is_null(params) ||
            (json_is_object(params) && json_object_size(params) == 0));
}

static bool envelope_ok(json_t *env)
{
    json_t *rcpt = json_object_get(env, "rcptTo"), *v;
    size_t i;

    if (env == NULL || json_is_null(env))
        return true;
    if (!json_is_object(env) || !address_ok(json_object_get(env, "mailFrom")) ||
        !json_is_array(rcpt))
        return false;
    json_array_foreach(rcpt, i, v)
    {
        if (!address_ok(v))
            return false;
    }
    return true;
}

/* The message bytes of email id (its folder selected read-only). */
static int fetch_email(struct subset *ss, const char *id, char **data_r, size_t *len_r,
                       struct cm_err *err)
{
    struct gw_jreq *jr = ss->c->jr;
    struct gw_jmail_where w = {0};
    int rc = gw_jmail_locate_checked(jr->req->ctx, jr->account_id, ss->s, ss->l, id, &w, err);

    if (rc < 0)
        return rc;
    if (w.f == NULL)
        return cm_err_set(err, CM_ENOENT, "no such email");
    if (ib_session_select(ss->s, w.f->imap_name, true, NULL, err) < 0)
        return err->code;
    return ib_fetch_section(ss->s, w.uid, "", 0, 0, data_r, len_r, err);
}

/* The threadId of the sent message, as Email/get gives it (NULL on OOM). */
static char *thread_of(const char *data, size_t len, const char *email_id)
{
    struct ib_header_list *hl = NULL;
    char *t = NULL;

    if (ib_header_parse(data, len, &hl, NULL) == 0)
        t = gw_jmail_thread_id(hl, email_id);
    ib_header_list_free(&hl);
    return t;
}

static json_t *submission_json(const char *id, const char *email_id, const char *thread_id,
                               json_t *envelope)
{
    char now[32];

    gw_jmail_utcdate((int64_t)time(NULL), now, sizeof(now));
    return json_pack("{s:s,s:s,s:s,s:s*,s:s,s:s,s:o,s:n,s:[],s:[]}", "id", id, "identityId",
                     GW_SEND_IDENTITY_ID, "emailId", email_id, "threadId", thread_id, "undoStatus",
                     "final", "sendAt", now, "envelope", envelope, "deliveryStatus", "dsnBlobIds",
                     "mdnBlobIds");
}

static void new_submission_id(char id[24])
{
    unsigned char r[12];

    if (cm_random(r, sizeof(r)) < 0)
        memset(r, 0, sizeof(r));
    id[0] = 'S';
    cm_b64url_encode(r, sizeof(r), id + 1);
}

static int send_one(struct subset *ss, const char *cid, const char *email_id, json_t *env,
                    struct cm_err *err)
{
    struct gw_jreq *jr = ss->c->jr;
    struct gw_submit sub = {jr->req->ctx, &jr->principal.creds, jr->account_id,
                            json_is_object(env) ? env : NULL};
    struct gw_submit_fail f;
    json_t *used = NULL;
    char *data = NULL;
    size_t len = 0;
    int rc = fetch_email(ss, email_id, &data, &len, err);

    if (rc == CM_ENOENT || rc == CM_EUPSTREAM) {
        cm_err_clear(err);
        json_object_set_new(ss->not_created, cid, gw_jset_invalid("emailId", "no such email"));
        return 0;
    }
    if (rc < 0)
        return rc;
    if (gw_submit_send(&sub, data, len, &used, &f) < 0) {
        json_object_set_new(ss->not_created, cid, gw_submit_fail_json(&f));
        gw_submit_fail_fini(&f);
    } else {
        struct sent *se = &ss->sent[ss->nsent++];
        char *thread = thread_of(data, len, email_id);

        new_submission_id(se->id);
        se->creation_id = (char *)cid;
        se->email_id = strdup(email_id);
        json_object_set_new(ss->created, cid, submission_json(se->id, email_id, thread, used));
        free(thread);
        json_object_set_new(jr->created_ids, cid, json_string(se->id));
    }
    free(data);
    return 0;
}

static int create_one(struct subset *ss, const char *cid, json_t *o, struct cm_err *err)
{
    const char *identity = json_string_value(json_object_get(o, "identityId"));
    const char *raw_id = json_string_value(json_object_get(o, "emailId"));
    const char *email_id = resolve_id(ss->c->jr, raw_id);
    json_t *env = json_object_get(o, "envelope"), *undo = json_object_get(o, "undoStatus");

    if (!json_is_object(o))
        json_object_set_new(ss->not_created, cid,
                            gw_jset_error("invalidProperties", "not an object"));
    else if (identity == NULL || strcmp(identity, GW_SEND_IDENTITY_ID) != 0)
        json_object_set_new(ss->not_created, cid, gw_jset_invalid("identityId", "no such identity"));
    else if (email_id == NULL)
        json_object_set_new(
            ss->not_created, cid,
            gw_jset_invalid("emailId", raw_id ? "unknown creation id" : "emailId is required"));
    else if (!envelope_ok(env))
        json_object_set_new(ss->not_created, cid,
                            gw_jset_invalid("envelope",
                                    "envelope needs mailFrom and rcptTo with emails and no "
                                    "parameters (no submissionExtensions)"));
    else if (undo != NULL &&
             !(json_is_string(undo) && strcmp(json_string_value(undo), "final") == 0))
        json_object_set_new(ss->not_created, cid,
                            gw_jset_invalid("undoStatus", "messages are sent at once: only \"final\""));
    else if (json_object_get(o, "sendAt") != NULL)
        json_object_set_new(ss->not_created, cid, gw_jset_invalid("sendAt", "sendAt is server-set"));
    else
        return send_one(ss, cid, email_id, env, err);
    return 0;
}

/* ---- onSuccess -------------------------------------------------------- */

/* The email id of a successful submission named by key ("#cid" or id). */
static const char *sent_email(const struct subset *ss, const char *key)
{
    for (size_t i = 0; i < ss->nsent; i++) {
        const struct sent *se = &ss->sent[i];

        if ((key[0] == '#' && strcmp(key + 1, se->creation_id) == 0) || strcmp(key, se->id) == 0)
            return se->email_id;
    }
    return NULL;
}

/* The implicit Email/set (RFC 8621 §7.5): the patches and destroys of the
   sent emails, run by gw_jmap_email_set itself (keywords, mailboxIds
   moves, destroy). Sets c->followup. */
static void on_success(struct subset *ss, json_t *update, json_t *destroy)
{
    json_t *args = json_pack("{s:s,s:{},s:[]}", "accountId", ss->c->jr->account_id, "update",
                             "destroy"),
           *reply, *v;
    struct gw_jcall ec = {ss->c->jr, "Email/set", args, ss->c->call_id, NULL, NULL};
    struct cm_err eerr = CM_ERR_INIT;
    const char *key, *email;
    size_t i;

    json_object_foreach(update, key, v)
    {
        if ((email = sent_email(ss, key)) != NULL && json_is_object(v))
            json_object_set(json_object_get(args, "update"), email, v);
    }
    json_array_foreach(destroy, i, v)
    {
        if (json_is_string(v) && (email = sent_email(ss, json_string_value(v))) != NULL)
            json_array_append_new(json_object_get(args, "destroy"), json_string(email));
    }
    reply = gw_jmap_email_set(&ec, &eerr);
    ss->l = NULL; /* Email/set listed the folders again */
    if (reply == NULL)
        ss->c->followup =
            json_pack("[s,{s:s,s:s}]", "error", "type",
                      ec.error_type ? ec.error_type : "serverFail", "description", eerr.msg);
    else
        ss->c->followup = json_pack("[s,o]", "Email/set", reply);
    json_decref(args);
}

/* ---- the methods ------------------------------------------------------ */

static json_t *not_found_all(json_t *in, bool keys)
{
    json_t *out = json_object(), *v;
    const char *k;
    size_t i;

    if (keys) {
        json_object_foreach(in, k, v)
            json_object_set_new(out, k, gw_jset_error("notFound", "submissions are not kept"));
    } else {
        json_array_foreach(in, i, v)
        {
            if (json_is_string(v))
                json_object_set_new(out, json_string_value(v),
                                    gw_jset_error("notFound", "submissions are not kept"));
        }
    }
    return out;
}

static int create_all(struct subset *ss, json_t *create, struct cm_err *err)
{
    const char *cid;
    json_t *o;

    ss->sent = calloc(json_object_size(create) + 1, sizeof(*ss->sent));
    if (ss->sent == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    if (json_object_size(create) == 0)
        return 0;
    if (gw_jmail_folders(ss->c->jr, &ss->l, err) < 0 || gw_jreq_session(ss->c->jr, &ss->s, err) < 0)
        return err->code;
    json_object_foreach(create, cid, o)
    {
        int rc = create_one(ss, cid, o, err);

        if (rc < 0)
            return rc;
    }
    return 0;
}

json_t *gw_jmap_submission_set(struct gw_jcall *c, struct cm_err *err)
{
    json_t *a = c->args, *create = json_object_get(a, "create"),
           *update = json_object_get(a, "update");
    json_t *destroy = json_object_get(a, "destroy"), *if_in = json_object_get(a, "ifInState");
    json_t *on_update = json_object_get(a, "onSuccessUpdateEmail");
    json_t *on_destroy = json_object_get(a, "onSuccessDestroyEmail");
    struct subset ss = {.c = c};
    json_t *reply = NULL;

    ss.created = json_object();
    ss.not_created = json_object();
    if (gw_jcall_account(c, err) < 0 || gw_jset_check_counts(create, update, destroy, err) < 0)
        goto done;
    if ((on_update != NULL && !json_is_object(on_update) && !json_is_null(on_update)) ||
        (on_destroy != NULL && !json_is_array(on_destroy) && !json_is_null(on_destroy))) {
        gw_jcall_fail(c, err, "invalidArguments", CM_EINVAL,
                      "onSuccessUpdateEmail must be an object, onSuccessDestroyEmail an array");
        goto done;
    }
    if (json_is_string(if_in) && strcmp(json_string_value(if_in), SUBMISSION_STATE) != 0) {
        gw_jcall_fail(c, err, "stateMismatch", CM_EINVAL, "ifInState does not match");
        goto done;
    }
    if (create_all(&ss, create, err) < 0)
        goto done;
    if (ss.nsent > 0 && (json_object_size(on_update) > 0 || json_array_size(on_destroy) > 0))
        on_success(&ss, on_update, on_destroy);
    reply =
        json_pack("{s:s,s:s,s:s,s:O,s:n,s:n,s:O,s:o,s:o}", "accountId", c->jr->account_id,
                  "oldState", SUBMISSION_STATE, "newState", SUBMISSION_STATE, "created", ss.created,
                  "updated", "destroyed", "notCreated", ss.not_created, "notUpdated",
                  not_found_all(update, true), "notDestroyed", not_found_all(destroy, false));
done:
    for (size_t i = 0; i < ss.nsent; i++)
        free(ss.sent[i].email_id);
    free(ss.sent);
    json_decref(ss.created);
    json_decref(ss.not_created);
    return reply;
}

json_t *gw_jmap_submission_get(struct gw_jcall *c, struct cm_err *err)
{
    static const struct gw_jprop props[] = {
        {"id", true},         {"identityId", true}, {"emailId", true},    {"threadId", true},
        {"envelope", true},   {"sendAt", true},     {"undoStatus", true}, {"deliveryStatus", true},
        {"dsnBlobIds", true}, {"mdnBlobIds", true},
    };
    struct gw_jget g = GW_JGET_INIT;
    json_t *reply = NULL;

    if (gw_jget_parse(c, props, sizeof(props) / sizeof(props[0]), &g, err) == 0)
        reply = gw_jget_reply(c, SUBMISSION_STATE, json_array(),
                              g.ids ? json_deep_copy(g.ids) : json_array());
    gw_jget_fini(&g);
    return reply;
}

json_t *gw_jmap_submission_query(struct gw_jcall *c, struct cm_err *err)
{
    struct gw_jquery q;

    if (gw_jquery_parse(c, &q, err) < 0)
        return NULL;
    return gw_jquery_reply(c, &q, json_array(), SUBMISSION_STATE, false, err);
}

json_t *gw_jmap_submission_changes(struct gw_jcall *c, struct cm_err *err)
{
    struct gw_jchanges ch;

    if (gw_jchanges_parse(c, &ch, err) < 0)
        return NULL;
    if (strcmp(ch.since_state, SUBMISSION_STATE) != 0) {
        gw_jcall_fail(c, err, "cannotCalculateChanges", CM_EINVAL, "unknown state");
        return NULL;
    }
    return gw_jchanges_reply(c, SUBMISSION_STATE, SUBMISSION_STATE, false, json_array(),
                             json_array(), json_array());
}
