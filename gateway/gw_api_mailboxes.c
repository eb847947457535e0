/* gw_api_mailboxes.c - GET /api/v1/mailboxes: every folder with its counts
 * and, for selectable ones, the REST delta cursor (gw_rest.h). */
#include <stdlib.h>

#include "common/cm_log.h"
#include "gateway/gw_authn.h"
#include "gateway/gw_handlers.h"
#include "gateway/gw_req.h"
#include "gateway/gw_rest.h"
#include "imapbridge/ib_mailbox.h"

static json_t *nullable(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

/* The folder's REST delta cursor (only with STATUS counts). */
static void add_cursor(const struct gw_req *req, json_t *o, const struct ib_folder *f)
{
    struct ib_state_entry e = gw_rest_entry(f);
    char *c = gw_rest_cursor(req, &e);

    json_object_set_new(o, "cursor", c ? json_string(c) : json_null());
    free(c);
}

static json_t *folder_json(const struct gw_req *req, const struct ib_folder *f)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:o,s:o,s:b,s:b}", "id", f->id, "name", f->name, "path",
                          f->path, "role", nullable(f->role), "parentId", nullable(f->parent_id),
                          "selectable", f->selectable, "subscribed", f->subscribed);

    if (o != NULL && f->has_status) {
        json_object_set_new(o, "total", json_integer(f->total));
        json_object_set_new(o, "unread", json_integer(f->unread));
        json_object_set_new(o, "uidvalidity", json_integer(f->uidvalidity));
        json_object_set_new(o, "uidnext", json_integer(f->uidnext));
        if (f->highestmodseq > 0)
            json_object_set_new(o, "highestModseq", json_integer((json_int_t)f->highestmodseq));
        if (f->selectable)
            add_cursor(req, o, f);
    }
    return o;
}

static json_t *list_json(const struct gw_req *req, const struct ib_folder_list *l)
{
    json_t *arr = json_array();

    for (size_t i = 0; arr != NULL && i < l->count; i++) {
        json_t *o = folder_json(req, &l->items[i]);

        if (o == NULL) { /* a name that is not UTF-8 would be a bug in ib_mailbox */
            cm_warn("", "skipping a folder that cannot be shown as JSON");
            continue;
        }
        json_array_append_new(arr, o);
    }
    return arr;
}

static int list_folders(struct ib_session *s, void *arg, struct cm_err *err)
{
    struct ib_folder_list *list = arg;

    ib_folder_list_fini(list);
    return ib_mailbox_list(s, list, err);
}

void gw_api_mailboxes(struct gw_req *req)
{
    struct cm_err err = CM_ERR_INIT;
    struct gw_principal p;
    struct ib_folder_list list = { 0 };

    if (gw_authn_run(req, &p, list_folders, &list, &err) < 0)
        gw_req_reply_error(req, &err);
    else
        gw_req_reply_json(req, 200, json_pack("{s:o}", "mailboxes", list_json(req, &list)));
    ib_folder_list_fini(&list);
    gw_principal_fini(&p);
}
