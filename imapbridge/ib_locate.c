/* ib_locate.c - GUID -> (folder, UID) by one pipelined round of searches. */
#include "imapbridge/ib_locate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libetpan/libetpan.h>

#include "imapbridge/ib_etpan.h"
#include "imapbridge/ib_ext.h"
#include "imapbridge/ib_ids.h"
#include "imapbridge/ib_session.h"

enum cmd_kind { CMD_EXAMINE, CMD_SEARCH_SAVE, CMD_FETCH_SAVED, CMD_SEARCH_ONE, CMD_UNSELECT };

struct cmd {
    enum cmd_kind kind;
    size_t folder, guid;
    int tag;
};

struct run {
    struct ib_session *s;
    mailimap *imap;
    const char *key;               /* "EMAILID", "X-GM-MSGID" or "X-GUID" */
    bool numeric;                  /* the key takes a number, unquoted (X-GM-MSGID) */
    enum ib_ext_type fetch_type;
    bool searchres;
    const char *const *folders;
    const char *const *guids;
    size_t nguids;
    char *search_save;             /* the OR-ed search, the same for every folder */
    uint32_t *uidv;
    struct ib_locate_hit *hits;
    size_t nhits, caphits;
};

bool ib_locate_supported(const struct ib_session *s)
{
    unsigned int caps = ib_session_caps((struct ib_session *)s);

    return (caps & IB_CAPS_MSGID) && (caps & IB_CAP_UNSELECT);
}

static int add_hit(struct run *r, size_t folder, size_t guid, uint32_t uid)
{
    if (r->nhits == r->caphits) {
        size_t cap = r->caphits ? 2 * r->caphits : 16;
        struct ib_locate_hit *h = realloc(r->hits, cap * sizeof(*h));

        if (h == NULL)
            return CM_ENOMEM;
        r->hits = h;
        r->caphits = cap;
    }
    r->hits[r->nhits++] = (struct ib_locate_hit){ folder, guid, uid };
    return 0;
}

/* "UID SEARCH RETURN (SAVE) OR OR K "a" K "b" K "c"" (malloc'd). */
static char *or_search(const char *key, const char *const *guids, size_t n)
{
    size_t cap = 64 + n * (3 + strlen(key) + 4 + 200), len;
    char *buf = malloc(cap);

    if (buf == NULL)
        return NULL;
    len = (size_t)snprintf(buf, cap, "UID SEARCH RETURN (SAVE)");
    for (size_t i = 1; i < n; i++)
        len += (size_t)snprintf(buf + len, cap - len, " OR");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, cap - len, " %s \"%s\"", key, guids[i]);
    return buf;
}

static bool all_digits(const char *s)
{
    size_t n = strspn(s, "0123456789");

    return n > 0 && n <= 20 && s[n] == '\0';
}

static int send_cmd(struct run *r, struct cmd *c)
{
    char line[1400];
    const char *text = line;

    switch (c->kind) {
    case CMD_EXAMINE:
        if (!ib_session_examine_command(r->folders[c->folder], line, sizeof(line)))
            return MAILIMAP_ERROR_EXAMINE; /* caller checked it beforehand */
        break;
    case CMD_SEARCH_SAVE: text = r->search_save; break;
    case CMD_FETCH_SAVED: snprintf(line, sizeof(line), "UID FETCH $ (%s)", r->key); break;
    case CMD_SEARCH_ONE:
        if (r->numeric) /* a GUID that is no number names no message: 0 */
            snprintf(line, sizeof(line), "UID SEARCH %s %s", r->key,
                     all_digits(r->guids[c->guid]) ? r->guids[c->guid] : "0");
        else
            snprintf(line, sizeof(line), "UID SEARCH %s \"%s\"", r->key, r->guids[c->guid]);
        break;
    case CMD_UNSELECT: text = "UNSELECT"; break;
    }
    return ib_etpan_send_line(r->imap, text, &c->tag);
}

static uint32_t att_uid(const struct mailimap_msg_att *att)
{
    for (clistiter *it = clist_begin(att->att_list); it != NULL; it = clist_next(it)) {
        const struct mailimap_msg_att_item *item = clist_content(it);

        if (item->att_type == MAILIMAP_MSG_ATT_ITEM_STATIC &&
            item->att_data.att_static->att_type == MAILIMAP_MSG_ATT_UID)
            return item->att_data.att_static->att_data.att_uid;
    }
    return 0;
}

/* Take what one answer carried (search result, fetch list) into hits. */
static int take_answer(struct run *r, const struct cmd *c, bool ok)
{
    struct mailimap_response_info *ri = r->imap->imap_response_info;
    clist *found = ri ? ri->rsp_search_result : NULL, *fetched = ri ? ri->rsp_fetch_list : NULL;
    int rc = 0;

    if (ri != NULL)
        ri->rsp_search_result = ri->rsp_fetch_list = NULL;
    if (c->kind == CMD_EXAMINE)
        r->uidv[c->folder] = ok && r->imap->imap_selection_info
                                 ? r->imap->imap_selection_info->sel_uidvalidity : 0;
    ok = ok && r->uidv[c->folder] != 0;
    for (clistiter *it = ok && c->kind == CMD_SEARCH_ONE && found ? clist_begin(found) : NULL;
         rc == 0 && it != NULL; it = clist_next(it))
        rc = add_hit(r, c->folder, c->guid, *(uint32_t *)clist_content(it));
    for (clistiter *it = ok && c->kind == CMD_FETCH_SAVED && fetched ? clist_begin(fetched) : NULL;
         rc == 0 && it != NULL; it = clist_next(it)) {
        const struct mailimap_msg_att *att = clist_content(it);
        const char *g = ib_ext_msg_att_string(att, r->fetch_type);
        uint32_t uid = att_uid(att);

        for (size_t k = 0; g != NULL && uid != 0 && rc == 0 && k < r->nguids; k++) {
            if (strcmp(g, r->guids[k]) == 0)
                rc = add_hit(r, c->folder, k, uid);
        }
    }
    if (found != NULL)
        mailimap_search_result_free(found);
    if (fetched != NULL)
        mailimap_fetch_list_free(fetched);
    return rc;
}

static int read_cmd(struct run *r, const struct cmd *c, struct cm_err *err)
{
    struct mailimap_response *resp = NULL;
    int e, rc;

    if (c->kind == CMD_EXAMINE) {
        if (r->imap->imap_selection_info != NULL)
            mailimap_selection_info_free(r->imap->imap_selection_info);
        r->imap->imap_selection_info = mailimap_selection_info_new();
    }
    r->imap->imap_tag = c->tag;
    e = ib_etpan_read_response(r->imap, &resp);
    rc = ib_session_check(r->s, e, "locate", err);
    if (rc < 0 && ib_session_is_broken(r->s)) {
        if (resp != NULL)
            mailimap_response_free(resp);
        return rc;
    }
    /* a tagged BAD (a SEARCH behind an EXAMINE that failed: "no mailbox
       selected") leaves the stream in step: that command found nothing */
    cm_err_clear(err);
    rc = take_answer(r, c, rc == 0 && resp != NULL && ib_etpan_tagged_ok(resp));
    if (resp != NULL)
        mailimap_response_free(resp);
    return rc < 0 ? cm_err_set(err, rc, "out of memory") : 0;
}

/* Commands for folder f appended to cmds; how many. */
static size_t folder_cmds(const struct run *r, size_t f, struct cmd *cmds)
{
    size_t n = 0;

    cmds[n++] = (struct cmd){ CMD_EXAMINE, f, 0, 0 };
    if (r->searchres) {
        cmds[n++] = (struct cmd){ CMD_SEARCH_SAVE, f, 0, 0 };
        cmds[n++] = (struct cmd){ CMD_FETCH_SAVED, f, 0, 0 };
    } else {
        for (size_t g = 0; g < r->nguids; g++)
            cmds[n++] = (struct cmd){ CMD_SEARCH_ONE, f, g, 0 };
    }
    return n;
}

/* Write cmds[0..n), flush, read every answer. */
static int window(struct run *r, struct cmd *cmds, size_t n, struct cm_err *err)
{
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = ib_session_check(r->s, send_cmd(r, &cmds[i]), "locate", err);
    if (rc == 0 && mailstream_flush(r->imap->imap_stream) == -1)
        rc = ib_session_check(r->s, MAILIMAP_ERROR_STREAM, "locate", err);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = read_cmd(r, &cmds[i], err);
    return rc;
}

static int run_all(struct run *r, size_t nfolders, struct cm_err *err)
{
    size_t per = r->searchres ? 3 : 1 + r->nguids, n = 0;
    struct cmd *cmds = calloc(IB_LOCATE_PIPELINE + per + 2, sizeof(*cmds));
    char probe[1400];
    int rc = 0;

    if (cmds == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    for (size_t f = 0; rc == 0 && f < nfolders; f++) {
        r->uidv[f] = 0;
        if (!ib_session_examine_command(r->folders[f], probe, sizeof(probe)))
            continue; /* a name we cannot write plainly: not searched */
        if (n > 0 && n + per > IB_LOCATE_PIPELINE) {
            rc = window(r, cmds, n, err);
            n = 0;
        }
        n += folder_cmds(r, f, cmds + n);
    }
    if (rc == 0) {
        cmds[n++] = (struct cmd){ CMD_UNSELECT, 0, 0, 0 };
        rc = window(r, cmds, n, err);
    }
    free(cmds);
    return rc;
}

/* Run r over nfolders folders; its hits into *hits_r / *nhits_r. */
static int locate(struct run *r, size_t nfolders, struct ib_locate_hit **hits_r,
                  size_t *nhits_r, struct cm_err *err)
{
    /* whatever happens, what was selected no longer is */
    int rc = run_all(r, nfolders, err);

    ib_session_note_unselected(r->s);
    free(r->search_save);
    if (rc < 0) {
        free(r->hits);
        return rc;
    }
    *hits_r = r->hits;
    *nhits_r = r->nhits;
    return 0;
}

int ib_locate_guids(struct ib_session *s, const char *const *folders, size_t nfolders,
                    const char *const *guids, size_t nguids, uint32_t *uidvalidity_r,
                    struct ib_locate_hit **hits_r, size_t *nhits_r, struct cm_err *err)
{
    unsigned int caps = ib_session_caps(s);
    struct run r = { .s = s, .imap = ib_session_imap(s), .folders = folders, .guids = guids,
                     .nguids = nguids, .uidv = uidvalidity_r };

    *hits_r = NULL;
    *nhits_r = 0;
    if (!ib_locate_supported(s))
        return cm_err_set(err, CM_EPERM, "imap: the server cannot search by message GUID");
    if (nguids == 0 || nguids > IB_LOCATE_MAX_GUIDS)
        return nguids == 0 ? 0 : cm_err_set(err, CM_EINVAL, "too many GUIDs in one search");
    r.numeric = IB_CAPS_GMAIL_IDS(caps);
    r.key = (caps & IB_CAP_OBJECTID) ? "EMAILID" : r.numeric ? "X-GM-MSGID" : "X-GUID";
    r.fetch_type = (caps & IB_CAP_OBJECTID) ? IB_EXT_FETCH_EMAILID : IB_EXT_FETCH_XGUID;
    /* SAVE + FETCH $ reads the GUIDs back through our parsers, which do not
       carry X-GM-MSGID (libetpan's does): Gmail (no SEARCHRES either)
       searches one id at a time */
    r.searchres = (caps & IB_CAP_SEARCHRES) != 0 && !r.numeric;
    if (r.searchres && (r.search_save = or_search(r.key, guids, nguids)) == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    return locate(&r, nfolders, hits_r, nhits_r, err);
}

int ib_locate_thread(struct ib_session *s, const char *const *folders, size_t nfolders,
                     const char *thread_id, uint32_t *uidvalidity_r,
                     struct ib_locate_hit **hits_r, size_t *nhits_r, struct cm_err *err)
{
    struct run r = { .s = s, .imap = ib_session_imap(s), .folders = folders,
                     .guids = &thread_id, .nguids = 1, .uidv = uidvalidity_r,
                     .key = "THREADID", .fetch_type = IB_EXT_FETCH_THREADID };

    *hits_r = NULL;
    *nhits_r = 0;
    if (!(ib_session_caps(s) & IB_CAP_OBJECTID) || !ib_locate_supported(s))
        return cm_err_set(err, CM_EPERM, "imap: the server has no THREADID");
    if (!ib_ids_guid_valid(thread_id))
        return cm_err_set(err, CM_EINVAL, "not a thread id the server could have sent");
    return locate(&r, nfolders, hits_r, nhits_r, err);
}
