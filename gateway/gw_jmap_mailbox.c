/* gw_jmap_mailbox.c - Mailbox/get (RFC 8621 §2). */
#include <stdlib.h>
#include <string.h>

#include "common/cm_b64.h"
#include "common/cm_crypto.h"
#include "gateway/gw_jmap_methods.h"
#include "gateway/gw_jmap_std.h"
#include "imapbridge/ib_mailbox.h"

static const struct gw_jprop mailbox_props[] = {
    { "id", true },           { "name", true },          { "parentId", true },
    { "role", true },         { "sortOrder", true },     { "totalEmails", true },
    { "unreadEmails", true }, { "totalThreads", true },  { "unreadThreads", true },
    { "myRights", true },     { "isSubscribed", true },
};
#define NPROPS (sizeof(mailbox_props) / sizeof(mailbox_props[0]))

static const char *const role_order[] = { "inbox", "drafts", "sent", "archive",
                                          "junk",  "trash",  "all",  "flagged" };

static int sort_order(const char *role)
{
    for (size_t i = 0; role != NULL && i < sizeof(role_order) / sizeof(role_order[0]); i++) {
        if (strcmp(role, role_order[i]) == 0)
            return (int)i + 1;
    }
    return 100;
}

static json_t *rights(bool selectable)
{
    return json_pack("{s:b,s:b,s:b,s:b,s:b,s:b,s:b,s:b,s:b}", "mayReadItems", selectable,
                     "mayAddItems", selectable, "mayRemoveItems", selectable, "maySetSeen",
                     selectable, "maySetKeywords", selectable, "mayCreateChild", 1, "mayRename",
                     1, "mayDelete", 1, "maySubmit", 0);
}

static json_t *nullable(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* The JMAP Mailbox object. Thread counts are the message counts: IMAP has
   no per-folder thread count without a THREAD over the whole folder. */
static json_t *mailbox_json(const struct ib_folder *f)
{
    json_int_t total = f->has_status ? f->total : 0, unread = f->has_status ? f->unread : 0;

    return json_pack("{s:s,s:s,s:o,s:o,s:i,s:I,s:I,s:I,s:I,s:o,s:b}", "id", f->id, "name",
                     f->name, "parentId", nullable(f->parent_id), "role", nullable(f->role),
                     "sortOrder", sort_order(f->role), "totalEmails", total, "unreadEmails",
                     unread, "totalThreads", total, "unreadThreads", unread, "myRights",
                     rights(f->selectable), "isSubscribed", f->subscribed);
}

/* Mailbox state: a hash over every property of every mailbox, so any
   change (including counts) gives a new state. */
static void mailbox_state(const struct ib_folder_list *l, char *dst)
{
    unsigned char md[CM_SHA256_LEN];
    json_t *all = json_array();
    char *text;

    for (size_t i = 0; i < l->count; i++)
        json_array_append_new(all, mailbox_json(&l->items[i]));
    text = json_dumps(all, JSON_COMPACT | JSON_SORT_KEYS);
    cm_sha256(text ? text : "", text ? strlen(text) : 0, md);
    free(text);
    json_decref(all);
    dst[0] = 'M';
    cm_b64url_encode(md, 12, dst + 1);
}

static const struct ib_folder *find_folder(const struct ib_folder_list *l, const char *id)
{
    for (size_t i = 0; i < l->count; i++) {
        if (strcmp(l->items[i].id, id) == 0)
            return &l->items[i];
    }
    return NULL;
}

static json_t *build_list(const struct gw_jget *g, const struct ib_folder_list *l,
                          json_t **not_found_r)
{
    json_t *list = json_array(), *nf = json_array(), *v;
    size_t i;

    if (g->ids == NULL) {
        for (i = 0; i < l->count; i++)
            json_array_append_new(list, mailbox_json(&l->items[i]));
    } else {
        json_array_foreach(g->ids, i, v) {
            const struct ib_folder *f = find_folder(l, json_string_value(v));

            json_array_append_new(f ? list : nf, f ? mailbox_json(f) : json_incref(v));
        }
    }
    json_array_foreach(list, i, v)
        gw_jget_filter(g, v);
    *not_found_r = nf;
    return list;
}

json_t *gw_jmap_mailbox_get(struct gw_jcall *c, struct cm_err *err)
{
    struct gw_jget g = GW_JGET_INIT;
    struct ib_folder_list l = { 0 };
    struct ib_session *s;
    json_t *reply = NULL, *list, *nf;
    char state[24];

    if (gw_jget_parse(c, mailbox_props, NPROPS, &g, err) < 0 ||
        gw_jreq_session(c->jr, &s, err) < 0 || ib_mailbox_list(s, &l, err) < 0)
        goto done;
    mailbox_state(&l, state);
    list = build_list(&g, &l, &nf);
    reply = gw_jget_reply(c, state, list, nf);
done:
    ib_folder_list_fini(&l);
    gw_jget_fini(&g);
    return reply;
}
