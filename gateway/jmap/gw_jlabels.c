/* gw_jlabels.c - Email mailboxIds: read from a message (on Gmail its
 * labels, ib_labels.h; elsewhere its one folder), and the Email/set
 * patches of them (parsed here for every server, applied as label
 * changes on Gmail). */
#include <stdlib.h>
#include <string.h>

#include "gateway/jmap/gw_jmail.h"
#include "imapbridge/ib_fetch.h"
#include "imapbridge/ib_labels.h"
#include "imapbridge/ib_store.h"
#include "imapbridge/ib_uidset.h"

json_t *gw_jmail_mailbox_ids(const struct ib_folder_list *l, const struct ib_folder *f,
                             const struct ib_msg *m)
{
    const struct ib_folder **in = NULL, *only[1] = { f };
    json_t *o = json_object();
    size_t n = 1;

    if (o != NULL && l != NULL && m->has_labels) {
        in = calloc(l->count + 1, sizeof(*in));
        n = in ? ib_labels_folders(l, f, m->labels, m->nlabels, in) : 0;
        if (in == NULL)
            json_decref(o), o = NULL;
    }
    for (size_t i = 0; o != NULL && i < n; i++) {
        if (json_object_set_new(o, (in ? in[i] : only[i])->id, json_true()) < 0)
            json_decref(o), o = NULL;
    }
    free(in);
    return o;
}

const struct ib_folder *gw_jmail_folder_by_id(const struct ib_folder_list *l, const char *id)
{
    for (size_t i = 0; id != NULL && i < l->count; i++) {
        if (l->items[i].selectable && strcmp(l->items[i].id, id) == 0)
            return &l->items[i];
    }
    return NULL;
}

bool gw_jmail_touches_boxes(json_t *patch)
{
    const char *key;
    json_t *v;

    json_object_foreach(patch, key, v) {
        if (strcmp(key, "mailboxIds") == 0 || strncmp(key, "mailboxIds/", 11) == 0)
            return true;
    }
    return false;
}

json_t *gw_jmail_wanted_boxes(json_t *patch, json_t *base)
{
    json_t *whole = json_object_get(patch, "mailboxIds"), *want, *v;
    const char *key;
    bool ok = true;

    want = whole != NULL ? (json_is_object(whole) ? json_deep_copy(whole) : NULL)
                         : json_deep_copy(base);
    json_object_foreach(patch, key, v) {
        if (want == NULL || strncmp(key, "mailboxIds/", 11) != 0)
            continue;
        if (whole != NULL || !(json_is_true(v) || json_is_null(v)))
            ok = false;
        else if (json_is_true(v))
            json_object_set_new(want, key + 11, json_true());
        else
            json_object_del(want, key + 11);
    }
    json_object_foreach(want, key, v) {
        ok = ok && json_is_true(v);
    }
    if (!ok)
        json_decref(want), want = NULL;
    return want;
}

/* The folders of ids (an object of id: true) into out[] (room for
   l->count); -1 when one is no selectable folder. */
static int folders_of(const struct ib_folder_list *l, json_t *ids, const struct ib_folder **out,
                      size_t *n_r)
{
    const char *key;
    json_t *v;

    *n_r = 0;
    json_object_foreach(ids, key, v) {
        if ((out[*n_r] = gw_jmail_folder_by_id(l, key)) == NULL)
            return -1;
        ++*n_r;
    }
    return 0;
}

static bool among(const struct ib_folder *const *set, size_t n, const struct ib_folder *f)
{
    for (size_t i = 0; i < n; i++) {
        if (set[i] == f)
            return true;
    }
    return false;
}

/* Into add[] the labels of wn[0..n) not among cur[0..nc), skipping
   skip (a move brings its label) and folders no label reaches; how many. */
static size_t labels_to_add(const struct ib_folder *const *wn, size_t n,
                            const struct ib_folder *const *cur, size_t nc,
                            const struct ib_folder *skip, const char **add)
{
    size_t nadd = 0;

    for (size_t i = 0; i < n; i++) {
        if (wn[i] != skip && !among(cur, nc, wn[i]) && ib_labels_label_of(wn[i]) != NULL)
            add[nadd++] = ib_labels_label_of(wn[i]);
    }
    return nadd;
}

int gw_jlabels_plan_new(const struct ib_folder *const *wn, size_t n,
                        const struct ib_folder **into_r, const char **add, size_t *nadd,
                        const char **why_r)
{
    *nadd = 0;
    if ((*into_r = ib_labels_entry(wn, n)) == NULL)
        return *why_r = "mailboxIds: no such mailbox", 1;
    if (ib_labels_is_bin(*into_r) && n > 1)
        return *why_r = "on Gmail an email in Trash or Spam is in no other mailbox", 1;
    *nadd = labels_to_add(wn, n, NULL, 0, *into_r, add);
    return 0;
}

/* What a wanted set wn[0..n) means for a message of f now in cur[0..nc):
   a move (mv->to), and labels to add and remove (after the move when
   there is one, at its destination). 1 + *why when it cannot be done. */
static int plan_labels(const struct ib_folder_list *l, const struct ib_folder *f,
                       const struct ib_folder **cur, size_t nc, const struct ib_folder **wn,
                       size_t n, struct gw_jlabels_move *mv, const char **why)
{
    const struct ib_folder *all = ib_labels_all_mail(l);

    mv->nadd = mv->nremove = 0;
    if (n == 0)
        return *why = "an email must be in a mailbox", 1;
    for (size_t i = 0; i < n; i++) {
        if (ib_labels_is_bin(wn[i]))
            return mv->to = wn[i] == f ? NULL : wn[i], 0; /* other labels unchanged */
    }
    if (ib_labels_is_bin(f))
        mv->to = ib_labels_entry(wn, n); /* out of the bin, then the other labels */
    else if (all != NULL && among(cur, nc, all) && !among(wn, n, all))
        return *why = "on Gmail every email outside Trash and Spam is in All Mail", 1;
    mv->nadd = labels_to_add(wn, n, cur, nc, mv->to, mv->add);
    for (size_t i = 0; i < nc; i++) {
        if (!among(wn, n, cur[i]) && ib_labels_label_of(cur[i]) != NULL)
            mv->remove[mv->nremove++] = ib_labels_label_of(cur[i]);
    }
    return 0;
}

/* The current mailboxIds of message uid of the selected f, from its labels. */
static json_t *current_boxes(struct ib_session *s, const struct ib_folder_list *l,
                             const struct ib_folder *f, uint32_t uid, struct cm_err *err)
{
    struct mailimap_set *set = ib_uidset_single(uid);
    struct ib_msg *m = NULL;
    size_t nm = 0;
    json_t *cur = NULL;

    if (set == NULL) {
        cm_err_set(err, CM_ENOMEM, "out of memory");
        return NULL;
    }
    if (ib_fetch_msgs(s, set, IB_FETCH_LABELS, &m, &nm, err) == 0 && nm == 1)
        cur = gw_jmail_mailbox_ids(l, f, &m[0]);
    else if (err->code == CM_OK)
        cm_err_set(err, CM_ENOENT, "no such email");
    ib_uidset_free(set);
    ib_msgs_free(m, nm);
    return cur;
}

int gw_jlabels_update(struct ib_session *s, const struct ib_folder_list *l,
                      const struct ib_folder *f, uint32_t uid, json_t *patch,
                      struct gw_jlabels_move *mv, bool *left_f_r, const char **type_r,
                      const char **why_r, struct cm_err *err)
{
    const struct ib_folder **cur = calloc(2 * l->count + 2, sizeof(*cur)), **wn = cur + l->count + 1;
    json_t *have = NULL, *want = NULL;
    size_t nc = 0, n = 0;
    int rc;

    memset(mv, 0, sizeof(*mv));
    mv->add = calloc(2 * l->count + 2, sizeof(*mv->add));
    mv->remove = mv->add != NULL ? mv->add + l->count + 1 : NULL;
    rc = cur && mv->add ? 0 : cm_err_set(err, CM_ENOMEM, "out of memory");
    *left_f_r = false;
    *type_r = "invalidProperties";
    if (rc == 0 && (have = current_boxes(s, l, f, uid, err)) == NULL)
        rc = err->code;
    if (rc == 0 && (want = gw_jmail_wanted_boxes(patch, have)) == NULL)
        *why_r = GW_JMAIL_BOXES_SYNTAX, rc = 1;
    if (rc == 0 && (folders_of(l, have, cur, &nc) < 0 || folders_of(l, want, wn, &n) < 0))
        *why_r = "mailboxIds: no such mailbox", rc = 1;
    if (rc == 0)
        rc = plan_labels(l, f, cur, nc, wn, n, mv, why_r);
    if (rc == 0 && mv->to == NULL)
        rc = ib_store_labels(s, uid, mv->add, mv->nadd, mv->remove, mv->nremove, err);
    if (rc == 0)
        *left_f_r = mv->to == NULL && !among(wn, n, f);
    if (rc != 0 || mv->to == NULL)
        mv->nadd = mv->nremove = 0; /* nothing left for after a move */
    json_decref(have);
    json_decref(want);
    free(cur);
    return rc;
}

int gw_jlabels_after_move(struct ib_session *s, const struct gw_jlabels_move *mv, uint32_t uid,
                          struct cm_err *err)
{
    bool stored = false;

    if (mv->to == NULL || mv->nadd + mv->nremove == 0)
        return 0;
    if (uid == 0)
        return cm_err_set(err, CM_EPERM, "the email left %s, but the server did not name it "
                                         "there (no COPYUID): its other labels are unchanged",
                          mv->to->imap_name);
    return ib_store_labels_in(s, mv->to->imap_name, uid, mv->add, mv->nadd, mv->remove,
                              mv->nremove, 0, NULL, NULL, &stored, err);
}

void gw_jlabels_move_fini(struct gw_jlabels_move *mv)
{
    free(mv->add);
    memset(mv, 0, sizeof(*mv));
}

/* Append to `to` each id of from not yet in seen (then added to seen). */
static void append_new(json_t *to, json_t *from, json_t *seen)
{
    size_t i;
    json_t *v;

    json_array_foreach(from, i, v) {
        const char *id = json_string_value(v);

        if (id != NULL && json_object_get(seen, id) == NULL) {
            json_object_set_new(seen, id, json_true());
            json_array_append(to, v);
        }
    }
}

void gw_jlabels_fold_changes(json_t *created, json_t *updated, json_t *core_new)
{
    json_t *seen = json_object(), *c = json_array(), *u = json_array(), *labelled = json_array();
    size_t i;
    json_t *v;

    if (seen != NULL && c != NULL && u != NULL && labelled != NULL) {
        json_array_foreach(created, i, v) {
            if (json_object_get(core_new, json_string_value(v)) != NULL)
                json_array_append(c, v);
            else
                json_array_append(labelled, v);
        }
        json_array_clear(created);
        append_new(created, c, seen);   /* new in the account, once */
        append_new(u, updated, seen);   /* then every other id, once */
        append_new(u, labelled, seen);
        json_array_clear(updated);
        json_array_extend(updated, u);
    } /* else out of memory: the lists stay as they were */
    json_decref(seen);
    json_decref(c);
    json_decref(u);
    json_decref(labelled);
}
