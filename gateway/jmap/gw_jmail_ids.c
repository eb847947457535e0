/* gw_jmail_ids.c - email ids of listed messages, and where an id is now
 * (ARCHITECTURE §4 "Locating a stable id"): location ids find themselves;
 * GUID ids come from the instance's location cache, else from one
 * pipelined UID SEARCH round over the folders (ib_locate.h) for every id
 * the call misses. */
#include <stdlib.h>
#include <string.h>

#include "gateway/gw_ctx.h"
#include "gateway/jmap/gw_jmail.h"
#include "gateway/gw_req.h"
#include "imapbridge/ib_fetch.h"
#include "imapbridge/ib_labels.h"
#include "imapbridge/ib_locate.h"
#include "imapbridge/ib_loccache.h"
#include "imapbridge/ib_session.h"
#include "imapbridge/ib_state.h"
#include "imapbridge/ib_uidset.h"

void gw_jmail_email_id(const struct ib_folder *f, uint32_t uid, const char *guid, char *dst)
{
    struct ib_email_loc loc;

    if (guid != NULL && ib_ids_email_guid(guid, dst) == 0)
        return;
    loc = gw_jmail_loc(f, uid);
    ib_ids_email(&loc, dst);
}

void gw_jmail_remember(struct gw_ctx *ctx, const char *account, const struct ib_folder *f,
                       uint32_t uid, const char *id)
{
    struct ib_email_loc loc = gw_jmail_loc(f, uid);

    if (ib_ids_email_kind(id) == IB_IDS_GUID)
        ib_loccache_put(ctx->loccache, account, id, &loc);
}

void gw_jmail_id(struct gw_jreq *jr, const struct ib_folder *f, uint32_t uid, const char *guid,
                 char *dst)
{
    gw_jmail_email_id(f, uid, guid, dst);
    gw_jmail_remember(jr->req->ctx, jr->account_id, f, uid, dst);
}

bool gw_jmail_id_at(struct gw_jreq *jr, const struct ib_folder *f, uint32_t uid, char *dst)
{
    struct ib_email_loc loc = gw_jmail_loc(f, uid);

    return ib_loccache_id_at(jr->req->ctx->loccache, jr->account_id, &loc, dst);
}

void gw_jmail_forget(struct gw_ctx *ctx, const char *account, const char *id)
{
    ib_loccache_forget(ctx->loccache, account, id);
}

/* The listed folder that holds loc (full folder key compared). */
static const struct ib_folder *folder_at(const struct ib_folder_list *l,
                                         const struct ib_email_loc *loc)
{
    const struct ib_folder *f = gw_jmail_folder_of(l, loc);

    return f != NULL && ib_state_folder_key(f->id) == loc->folder_key ? f : NULL;
}

struct misses {
    const char **guids;   /* malloc'd GUID texts, each once */
    size_t n;
};

/* Search the misses (one chunk of at most IB_LOCATE_MAX_GUIDS) and fill
   out[] for every id that asks for a GUID found; the first folder in
   listing order wins. */
static int search_chunk(struct gw_ctx *ctx, const char *account, struct ib_session *s,
                        const struct ib_folder_list *l, const char *const *names,
                        const size_t *fidx, size_t nf, const char *const *guids,
                        const char *const *ids, size_t nids, struct gw_jmail_where *out,
                        size_t ng, struct cm_err *err)
{
    uint32_t *uidv = calloc(nf + 1, sizeof(*uidv));
    struct ib_locate_hit *hits = NULL;
    size_t nhits = 0;
    int rc = uidv ? ib_locate_guids(s, names, nf, guids, ng, uidv, &hits, &nhits, err)
                  : cm_err_set(err, CM_ENOMEM, "out of memory");

    /* the last hit put is the one the cache answers with: walk backwards */
    for (size_t h = nhits; rc == 0 && h-- > 0;) {
        const struct ib_folder *f = &l->items[fidx[hits[h].folder]];
        char id[IB_IDS_EMAIL_MAX + 1];

        if (uidv[hits[h].folder] != f->uidvalidity || ib_ids_email_guid(guids[hits[h].guid], id) < 0)
            continue; /* the folder changed since it was listed */
        gw_jmail_remember(ctx, account, f, hits[h].uid, id);
        for (size_t i = 0; i < nids; i++) {
            if (strcmp(ids[i], id) == 0)
                out[i] = (struct gw_jmail_where){ f, hits[h].uid, false };
        }
    }
    free(hits);
    free(uidv);
    return rc;
}

/* Is folder f one the misses are searched in? Every folder, except on
   Gmail (X-GM-EXT-1 without OBJECTID, and an All Mail folder listed):
   there All Mail, which holds every message outside Trash and Spam, and
   those two, so one X-GM-MSGID search per id in three folders finds a
   message wherever its labels put it. */
static bool searched(bool gmail, const struct ib_folder *f)
{
    if (!f->selectable || !f->has_status)
        return false;
    return !gmail || (f->role != NULL && strcmp(f->role, "all") == 0) || ib_labels_is_bin(f);
}

static int search_misses(struct gw_ctx *ctx, const char *account, struct ib_session *s,
                         const struct ib_folder_list *l, const struct misses *m,
                         const char *const *ids, size_t nids, struct gw_jmail_where *out,
                         struct cm_err *err)
{
    const char **names = calloc(l->count + 1, sizeof(*names));
    size_t *fidx = calloc(l->count + 1, sizeof(*fidx)), nf = 0;
    int rc = names && fidx ? 0 : cm_err_set(err, CM_ENOMEM, "out of memory");

    bool gmail = IB_CAPS_GMAIL_IDS(ib_session_caps(s)) && ib_labels_all_mail(l) != NULL;

    for (size_t i = 0; rc == 0 && i < l->count; i++) {
        if (searched(gmail, &l->items[i])) {
            fidx[nf] = i;
            names[nf++] = l->items[i].imap_name;
        }
    }
    for (size_t k = 0; rc == 0 && k < m->n; k += IB_LOCATE_MAX_GUIDS) {
        size_t ng = m->n - k < IB_LOCATE_MAX_GUIDS ? m->n - k : IB_LOCATE_MAX_GUIDS;

        rc = search_chunk(ctx, account, s, l, names, fidx, nf, m->guids + k, ids, nids, out, ng,
                          err);
    }
    free(names);
    free(fidx);
    return rc;
}

/* One id from what it says or the cache; a GUID id the cache misses goes
   into m (once per GUID). */
static int locate_one(struct gw_ctx *ctx, const char *account, const struct ib_folder_list *l,
                      const char *id, bool use_cache, struct gw_jmail_where *w, struct misses *m)
{
    struct ib_email_loc loc;
    char *guid = NULL;

    *w = (struct gw_jmail_where){ NULL, 0, false };
    if (ib_ids_email_kind(id) == IB_IDS_LOCATION) {
        if (ib_ids_email_parse(id, &loc) == 0 && (w->f = gw_jmail_folder_of(l, &loc)) != NULL)
            w->uid = loc.uid;
        return 0;
    }
    if (ib_ids_email_guid_parse(id, &guid) < 0)
        return 0;
    if (use_cache && ib_loccache_find(ctx->loccache, account, id, &loc) &&
        (w->f = folder_at(l, &loc)) != NULL) {
        w->uid = loc.uid;
        w->cached = true;
        free(guid);
        return 0;
    }
    for (size_t k = 0; k < m->n; k++) {
        if (strcmp(m->guids[k], guid) == 0) {
            free(guid);
            return 0;
        }
    }
    m->guids[m->n++] = guid;
    return 0;
}

int gw_jmail_locate_with(struct gw_ctx *ctx, const char *account, struct ib_session *s,
                         const struct ib_folder_list *l, const char *const *ids, size_t n,
                         bool use_cache, struct gw_jmail_where *out, struct cm_err *err)
{
    struct misses m = { calloc(n + 1, sizeof(char *)), 0 };
    int rc = m.guids ? 0 : cm_err_set(err, CM_ENOMEM, "out of memory");

    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = locate_one(ctx, account, l, ids[i], use_cache, &out[i], &m);
    if (rc == 0 && m.n > 0 && s != NULL && ib_locate_supported(s))
        rc = search_misses(ctx, account, s, l, &m, ids, n, out, err);
    for (size_t k = 0; k < m.n; k++)
        free((char *)m.guids[k]);
    free(m.guids);
    return rc;
}

int gw_jmail_locate(struct gw_jreq *jr, const struct ib_folder_list *l, const char *const *ids,
                    size_t n, bool use_cache, struct gw_jmail_where *out, struct cm_err *err)
{
    struct ib_session *s = NULL;
    bool guid = false;

    for (size_t i = 0; i < n && !guid; i++)
        guid = ib_ids_email_kind(ids[i]) == IB_IDS_GUID;
    if (guid && gw_jreq_session(jr, &s, err) < 0)
        return err->code;
    return gw_jmail_locate_with(jr->req->ctx, jr->account_id, s, l, ids, n, use_cache, out, err);
}

int gw_jmail_locate_checked(struct gw_ctx *ctx, const char *account, struct ib_session *s,
                            const struct ib_folder_list *l, const char *id,
                            struct gw_jmail_where *w, struct cm_err *err)
{
    int rc = gw_jmail_locate_with(ctx, account, s, l, &id, 1, true, w, err);
    struct mailimap_set *one;
    struct ib_msg *m = NULL;
    size_t n = 0;

    if (rc < 0 || w->f == NULL || !w->cached)
        return rc;
    /* a cached place is checked: a message moved meanwhile is searched for */
    one = ib_uidset_single(w->uid);
    rc = one ? ib_session_select(s, w->f->imap_name, true, NULL, err)
             : cm_err_set(err, CM_ENOMEM, "out of memory");
    if (rc == 0)
        rc = ib_fetch_msgs(s, one, 0, &m, &n, err);
    if (rc == 0 && n == 0) {
        gw_jmail_forget(ctx, account, id);
        rc = gw_jmail_locate_with(ctx, account, s, l, &id, 1, false, w, err);
    }
    if (one != NULL)
        ib_uidset_free(one);
    ib_msgs_free(m, n);
    return rc;
}
