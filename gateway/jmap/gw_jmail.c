/* gw_jmail.c - folders, Email state, locations and keywords for the Email
 * methods. */
#include "gateway/jmap/gw_jmail.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/cm_log.h"
#include "common/cm_time.h"
#include "gateway/gw_ctx.h"
#include "gateway/jmap/gw_jmap_methods.h"
#include "gateway/gw_req.h"
#include "imapbridge/ib_body.h"
#include "imapbridge/ib_fetch.h"
#include "imapbridge/ib_foldermap.h"
#include "imapbridge/ib_header.h"
#include "imapbridge/ib_text.h"
#include "imapbridge/ib_state.h"

int gw_jmail_folders(struct gw_jreq *jr, const struct ib_folder_list **l_r, struct cm_err *err)
{
    struct ib_session *s;
    int rc;

    if (!jr->folders_loaded) {
        rc = gw_jreq_session(jr, &s, err);
        if (rc == 0)
            rc = ib_mailbox_list(s, &jr->folders, err);
        if (rc < 0)
            return rc;
        jr->folders_loaded = true;
        gw_jmail_map_store(jr, &jr->folders);
    }
    *l_r = &jr->folders;
    return 0;
}

void gw_jmail_map_store(struct gw_jreq *jr, const struct ib_folder_list *l)
{
    struct ib_foldermap *m = jr->req->ctx->folders;

    /* on OOM the map drops the entry: the next request lists */
    if (m != NULL && ib_foldermap_store(m, jr->account_id, l, cm_now_ms()) < 0)
        cm_debug("", "folder map: out of memory");
}

int gw_jmail_map_get(struct gw_jreq *jr, struct ib_folder_list *out)
{
    struct ib_foldermap *m = jr->req->ctx->folders;

    memset(out, 0, sizeof(*out));
    return m != NULL ? ib_foldermap_get(m, jr->account_id, cm_now_ms(), out) : CM_ENOENT;
}

void gw_jmail_map_forget(struct gw_jreq *jr)
{
    if (jr->req->ctx->folders != NULL)
        ib_foldermap_forget(jr->req->ctx->folders, jr->account_id);
}

void gw_jmail_adopt_folders(struct gw_jreq *jr, struct ib_folder_list *l)
{
    ib_folder_list_fini(&jr->folders);
    jr->folders = *l;
    memset(l, 0, sizeof(*l));
    jr->folders_loaded = true;
    gw_jmail_map_store(jr, &jr->folders);
}

void gw_jmail_forget_folders(struct gw_jreq *jr)
{
    ib_folder_list_fini(&jr->folders);
    jr->folders_loaded = false;
}

const struct ib_folder *gw_jmail_folder_of(const struct ib_folder_list *l,
                                           const struct ib_email_loc *loc)
{
    uint64_t want = ib_ids_folder_prefix(loc->folder_key);

    for (size_t i = 0; i < l->count; i++) {
        const struct ib_folder *f = &l->items[i];

        if (f->selectable && f->has_status && f->uidvalidity == loc->uidvalidity &&
            ib_ids_folder_prefix(ib_state_folder_key(f->id)) == want)
            return f;
    }
    return NULL;
}

struct ib_email_loc gw_jmail_loc(const struct ib_folder *f, uint32_t uid)
{
    struct ib_email_loc loc = { ib_state_folder_key(f->id), f->uidvalidity, uid };

    return loc;
}

static char *gw_jmail_state_with_key(const unsigned char key[32], const struct ib_folder_list *l)
{
    struct ib_state_entry *e = calloc(l->count + 1, sizeof(*e));
    size_t n = 0;
    char *token;

    if (e == NULL)
        return NULL;
    for (size_t i = 0; i < l->count; i++) {
        const struct ib_folder *f = &l->items[i];

        if (!f->selectable || !f->has_status)
            continue;
        e[n++] = (struct ib_state_entry){ ib_state_folder_key(f->id), f->uidvalidity,
                                          f->highestmodseq, f->uidnext, f->total };
    }
    token = ib_state_encode(key, IB_STATE_EMAIL, e, n);
    free(e);
    return token;
}

char *gw_jmail_state(struct gw_jreq *jr, const struct ib_folder_list *l)
{
    return gw_jmail_state_with_key(jr->req->ctx->keys.state_key, l);
}

int gw_jmail_push_states(void *ctx, const struct ib_folder_list *l, char **json_r)
{
    const unsigned char *key = ((struct gw_ctx *)ctx)->keys.state_key;
    char *email = gw_jmail_state_with_key(key, l), *mailbox = gw_jmap_mailbox_state(key, l);
    json_t *doc = email && mailbox ? json_pack("{s:s,s:s,s:s}", "Email", email, "Thread", email,
                                               "Mailbox", mailbox)
                                   : NULL;

    *json_r = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    free(email);
    free(mailbox);
    return *json_r ? 0 : CM_ENOMEM;
}

void gw_jmail_utcdate(int64_t t, char *dst, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;

    gmtime_r(&tt, &tm);
    snprintf(dst, cap, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static const struct {
    const char *flag, *keyword;
} flag_map[] = {
    { "\\Seen", "$seen" },         { "\\Flagged", "$flagged" },
    { "\\Answered", "$answered" }, { "\\Draft", "$draft" },
    { "$Forwarded", "$forwarded" },
};

const char *gw_jmail_flag_of(const char *keyword, char *buf)
{
    size_t n = strlen(keyword);

    if (n == 0 || n > 255)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)keyword[i];

        if (c < 0x21 || c > 0x7e || strchr("(){]%*\"\\", c) != NULL)
            return NULL;
    }
    for (size_t i = 0; i < sizeof(flag_map) / sizeof(flag_map[0]); i++) {
        if (strcasecmp(keyword, flag_map[i].keyword) == 0)
            return flag_map[i].flag;
    }
    memcpy(buf, keyword, n + 1);
    return buf;
}

json_t *gw_jmail_keywords(char *const *flags, size_t n)
{
    json_t *kw = json_object();

    for (size_t i = 0; i < n; i++) {
        const char *f = flags[i];
        char lower[256];
        size_t k;
        bool mapped = false;

        for (k = 0; k < sizeof(flag_map) / sizeof(flag_map[0]); k++) {
            if (strcasecmp(f, flag_map[k].flag) == 0) {
                json_object_set_new(kw, flag_map[k].keyword, json_true());
                mapped = true;
            }
        }
        if (mapped || f[0] == '\\' || strlen(f) >= sizeof(lower))
            continue; /* \Deleted, \Recent and other system flags are not keywords */
        for (k = 0; f[k] != '\0'; k++)
            lower[k] = (char)tolower((unsigned char)f[k]);
        lower[k] = '\0';
        json_object_set_new(kw, lower, json_true());
    }
    return kw;
}

char *gw_jmail_thread_root(const struct ib_header_list *hl)
{
    static const char *const order[] = { "References", "In-Reply-To", "Message-ID" };

    for (size_t i = 0; hl != NULL && i < sizeof(order) / sizeof(order[0]); i++) {
        json_t *ids = ib_header_get_json(hl, order[i], IB_HF_MESSAGE_IDS, false);
        const char *root = json_string_value(json_array_get(ids, 0));
        char *copy = root != NULL && root[0] != '\0' ? strdup(root) : NULL;

        json_decref(ids);
        if (copy != NULL)
            return copy;
    }
    return NULL;
}

char *gw_jmail_thread_id(const struct ib_header_list *hl, const char *email_id)
{
    char *root = gw_jmail_thread_root(hl), *id;

    if (root != NULL) {
        id = ib_ids_thread(root);
        free(root);
        return id;
    }
    id = malloc(strlen(email_id) + 2);
    if (id != NULL) {
        id[0] = 'x';
        strcpy(id + 1, email_id);
    }
    return id;
}

bool gw_jmail_safe_type(const char *t)
{
    size_t n = strlen(t);

    if (n == 0 || n > 200 || strchr(t, '/') == NULL)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)t[i];

        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
            return false;
    }
    return true;
}

void gw_jmail_add_disposition(struct gw_req *req, const char *name)
{
    char ascii[128], enc[1024];
    size_t a = 0, e = 0;

    for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || strchr(".-_", *p) != NULL;

        if (a + 1 < sizeof(ascii))
            ascii[a++] = plain ? (char)*p : '_';
        if (e + 4 < sizeof(enc))
            e += (size_t)snprintf(enc + e, sizeof(enc) - e, plain ? "%c" : "%%%02X", *p);
    }
    ascii[a] = '\0';
    enc[e] = '\0';
    {
        char value[1400];

        snprintf(value, sizeof(value), "attachment; filename=\"%s\"; filename*=UTF-8''%s",
                 a ? ascii : "blob", e ? enc : "blob");
        gw_req_add_header(req, "Content-Disposition", value);
    }
}

/* Preview from the first text part when the server has no PREVIEW. */
json_t *gw_jmail_preview(struct ib_session *s, const struct ib_msg *m)
{
    struct ib_body_fetch *list = NULL;
    size_t n = 0;
    struct cm_err err = CM_ERR_INIT;
    json_t *out = NULL;

    if (m->body != NULL && ib_body_fetch_list(m->body, IB_BODY_WANT_TEXT, &list, &n, &err) == 0 &&
        n > 0) {
        char *data = NULL, *pv = NULL;
        size_t len = 0;
        json_t *val = NULL;

        if (ib_fetch_section(s, m->uid, list[0].part_id, 0, GW_JMAIL_PREVIEW_FETCH, &data, &len,
                             &err) == 0 &&
            ib_body_value_json(data, len, list[0].encoding, list[0].charset, 0,
                               len >= GW_JMAIL_PREVIEW_FETCH, &val, &err) == 0) {
            const char *v = json_string_value(json_object_get(val, "value"));

            if (v != NULL && ib_text_preview(v, strlen(v), list[0].html, &pv, &err) == 0)
                out = json_string(pv);
        }
        free(pv);
        free(data);
        json_decref(val);
    }
    ib_body_fetch_free(&list, n);
    return out ? out : json_string("");
}

