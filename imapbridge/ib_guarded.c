/* ib_guarded.c - GUID-guarded flag changes in one round trip (see
 * ib_guarded.h). The listings are read with ib_mailbox_list_status_recv,
 * the SELECT with libetpan, the rest (ESEARCH, which libetpan cannot
 * read) line by line with ib_lines_read_all, in any order. */
#include "imapbridge/ib_guarded.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libetpan/libetpan.h>

#include "imapbridge/ib_etpan.h"
#include "imapbridge/ib_ids.h"
#include "imapbridge/ib_lines.h"
#include "imapbridge/ib_mailbox_int.h"
#include "imapbridge/ib_session.h"
#include "imapbridge/ib_store.h"

#define LINE_CAP (IB_GUARDED_MAX * (IB_IDS_MAX_GUID + 48) + 64)
#define STORE_LINE_CAP (64 * 260 + 64) /* 64 flags of <= 255 bytes (callers' MAX_FLAGS) */

/* The commands between SELECT and the listing after, by tag. */
enum { T_SEARCH, T_ADD, T_REMOVE, T_UNSELECT, T_COUNT };

struct pipe {
    int tag[T_COUNT]; /* 0: not written */
    bool ok[T_COUNT];
};

bool ib_guarded_supported(const struct ib_session *s)
{
    unsigned int caps = ib_session_caps(s);
    unsigned int need = IB_CAP_SEARCHRES | IB_CAP_UNSELECT | IB_CAP_LIST_STATUS;

    return (caps & need) == need && (caps & (IB_CAP_OBJECTID | IB_CAP_XGUID));
}

/* "UID SEARCH RETURN (SAVE ALL) OR (UID u K "g") (UID v K "h")" into buf. */
static bool search_line(const char *key, const struct ib_guard *g, size_t n, char *buf,
                        size_t cap)
{
    size_t len = (size_t)snprintf(buf, cap, "UID SEARCH RETURN (SAVE ALL)");

    for (size_t i = 1; i < n && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, " OR");
    for (size_t i = 0; i < n && len < cap; i++) {
        if (!ib_ids_guid_valid(g[i].guid))
            return false;
        len += (size_t)snprintf(buf + len, cap - len, n > 1 ? " (UID %u %s \"%s\")"
                                                            : " UID %u %s \"%s\"",
                                g[i].uid, key, g[i].guid);
    }
    return len < cap;
}

/* "UID STORE $ +FLAGS.SILENT (a b)" into buf. */
static bool store_line(char sign, const char *const *flags, size_t n, char *buf, size_t cap)
{
    size_t len = (size_t)snprintf(buf, cap, "UID STORE $ %cFLAGS.SILENT (", sign);

    for (size_t i = 0; i < n && len < cap; i++) {
        if (!ib_store_flag_valid(flags[i]))
            return false;
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? " " : "", flags[i]);
    }
    if (len < cap)
        len += (size_t)snprintf(buf + len, cap - len, ")");
    return len < cap;
}

static int send_text(struct ib_session *s, const char *text, int *tag_r, struct cm_err *err)
{
    return ib_session_check(s, ib_etpan_send_line(ib_session_imap(s), text, tag_r), "STORE",
                            err);
}

/* Everything from SELECT to the listing after, written (not flushed). */
static int send_middle(struct ib_session *s, const char *imap_name, const char *search,
                       const char *add, const char *remove, struct pipe *p, int *sel_tag,
                       struct cm_err *err)
{
    int rc = ib_session_select_send(s, imap_name, false, sel_tag, err);

    if (rc == 0)
        rc = send_text(s, search, &p->tag[T_SEARCH], err);
    if (rc == 0 && add != NULL)
        rc = send_text(s, add, &p->tag[T_ADD], err);
    if (rc == 0 && remove != NULL)
        rc = send_text(s, remove, &p->tag[T_REMOVE], err);
    if (rc == 0)
        rc = send_text(s, "UNSELECT", &p->tag[T_UNSELECT], err);
    return rc;
}

int ib_guarded_esearch_has(const char *line, int tag, uint32_t uid)
{
    char head[64];
    const char *p;
    size_t n = (size_t)snprintf(head, sizeof(head), "* ESEARCH (TAG \"%d\") UID", tag);

    if (strncasecmp(line, head, n) != 0)
        return -1;
    p = line + n;
    if (strncasecmp(p, " ALL ", 5) != 0)
        return 0; /* nothing found */
    for (p += 5; *p != '\0' && *p != ' ';) {
        char *end;
        unsigned long lo = strtoul(p, &end, 10), hi = lo;

        if (end == p)
            return 0;
        if (*end == ':') {
            p = end + 1;
            hi = strtoul(p, &end, 10);
            if (end == p)
                return 0;
        }
        if ((lo <= uid && uid <= hi) || (hi <= uid && uid <= lo))
            return 1;
        p = *end == ',' ? end + 1 : end;
    }
    return 0;
}

/* Every line until p's commands are all answered, in whatever order they
   come (Dovecot ends some after the ones behind them). */
static int read_tagged(struct ib_session *s, struct pipe *p, ib_lines_line_fn *on_line,
                       void *arg, struct cm_err *err)
{
    return ib_lines_read_all(s, p->tag, p->ok, T_COUNT, on_line, arg, "STORE", err);
}

struct held {
    const struct pipe *p;
    const struct ib_guard *g;
    bool *held;
    size_t n;
};

static int on_search_line(void *arg, int index, const char *line, size_t len)
{
    struct held *h = arg;

    (void)len;
    for (size_t k = 0; index < 0 && k < h->n; k++)
        h->held[k] = h->held[k] || ib_guarded_esearch_has(line, h->p->tag[T_SEARCH], h->g[k].uid) == 1;
    return 0;
}

/* The answers of SEARCH, STOREs and UNSELECT; the ESEARCH marks which
   guards held. */
static int read_middle(struct ib_session *s, struct pipe *p, struct ib_guard *g, size_t n,
                       struct cm_err *err)
{
    struct held h = { p, g, calloc(n, sizeof(bool)), n };
    int rc = h.held == NULL ? cm_err_set(err, CM_ENOMEM, "out of memory")
                            : read_tagged(s, p, on_search_line, &h, err);

    for (size_t k = 0; rc == 0 && k < n; k++)
        g[k].written = h.held[k] && p->ok[T_SEARCH] && (p->tag[T_ADD] == 0 || p->ok[T_ADD]) &&
                       (p->tag[T_REMOVE] == 0 || p->ok[T_REMOVE]);
    free(h.held);
    return rc;
}

/* Read the answers in the order written. */
static int read_all(struct ib_session *s, struct ib_lsq *before_q, int sel_tag, struct pipe *p,
                    struct ib_lsq *after_q, struct ib_guard *g, size_t n, struct ib_guarded *out,
                    struct cm_err *err)
{
    bool news = false; /* the session ends unselected: news of the folder need no care */
    int rc = ib_mailbox_list_status_recv(s, before_q, &out->before, &news, err), rc_next;

    if (ib_session_is_broken(s))
        return rc < 0 ? rc : cm_err_set(err, CM_EUPSTREAM, "imap: LIST-STATUS failed");
    /* a refused SELECT: the commands behind it found nothing selected */
    if (ib_session_select_recv(s, sel_tag, NULL, NULL) < 0 && ib_session_is_broken(s))
        return cm_err_set(err, CM_EUPSTREAM, "imap: SELECT failed");
    rc_next = read_middle(s, p, g, n, err);
    if (rc_next < 0)
        return rc_next;
    rc_next = ib_mailbox_list_status_recv(s, after_q, &out->after, &news, err);
    return rc < 0 ? rc : rc_next;
}

int ib_guarded_store(struct ib_session *s, const char *imap_name, struct ib_guard *g, size_t n,
                     const char *const *add, size_t nadd, const char *const *remove,
                     size_t nremove, struct ib_guarded *out, struct cm_err *err)
{
    unsigned int caps = ib_session_caps(s);
    const char *key = (caps & IB_CAP_OBJECTID) ? "EMAILID" : "X-GUID";
    char *search = malloc(LINE_CAP), add_l[STORE_LINE_CAP], rm_l[STORE_LINE_CAP], probe[1400];
    struct ib_lsq before_q = { 0 }, after_q = { 0 };
    struct pipe p = { { 0 }, { false } };
    int sel_tag = 0, rc;

    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < n; i++)
        g[i].written = false;
    if (search == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    rc = !ib_guarded_supported(s) ? cm_err_set(err, CM_ECONFIG, "imap: no SEARCHRES")
         : n == 0 || n > IB_GUARDED_MAX || nadd + nremove == 0 ||
                 !search_line(key, g, n, search, LINE_CAP) ||
                 (nadd > 0 && !store_line('+', add, nadd, add_l, sizeof(add_l))) ||
                 (nremove > 0 && !store_line('-', remove, nremove, rm_l, sizeof(rm_l)))
             ? cm_err_set(err, CM_EINVAL, "imap: not a guarded store")
             : 0;
    if (rc == 0 && !ib_session_examine_command(imap_name, probe, sizeof(probe)))
        rc = cm_err_set(err, CM_EINVAL, "imap: folder name not sendable in a pipeline");
    /* nothing written so far: the commands go out in one write */
    if (rc == 0)
        rc = ib_mailbox_list_status_send(s, &before_q, err);
    if (rc == 0)
        rc = send_middle(s, imap_name, search, nadd ? add_l : NULL, nremove ? rm_l : NULL, &p,
                         &sel_tag, err);
    if (rc == 0)
        rc = ib_mailbox_list_status_send(s, &after_q, err);
    if (rc == 0 && mailstream_flush(ib_session_imap(s)->imap_stream) == -1)
        rc = ib_session_check(s, MAILIMAP_ERROR_STREAM, "STORE", err);
    if (rc == 0)
        rc = read_all(s, &before_q, sel_tag, &p, &after_q, g, n, out, err);
    ib_session_note_unselected(s);
    free(search);
    if (rc < 0)
        ib_guarded_fini(out);
    return rc;
}

/* The move's commands: FETCH, MOVE, UNSELECT (pipe indices reused). */
enum { T_FETCH = T_SEARCH, T_MOVE = T_ADD };

struct move_read {
    const struct pipe *p;
    uint32_t uid;
    bool seen, copyuid;
    struct ib_moved *out;
};

/* "... X-GUID g ..." / "... EMAILID (g) ..." of a FETCH line for uid. */
static void take_guid(struct move_read *m, const char *line)
{
    const char *u = strstr(line, "(UID "), *g = strstr(line, "X-GUID ");
    size_t len;

    if (g == NULL && (g = strstr(line, "EMAILID (")) != NULL)
        g++;
    if (u == NULL && (u = strstr(line, " UID ")) == NULL)
        return;
    if (strtoul(u + 5, NULL, 10) != m->uid)
        return;
    m->seen = true;
    if (g == NULL)
        return;
    g = strchr(g, ' ') + 1;
    g += *g == '(';
    len = strcspn(g, " )");
    if (len < sizeof(m->out->guid)) {
        memcpy(m->out->guid, g, len);
        m->out->guid[len] = '\0';
    }
}

static int on_move_line(void *arg, int index, const char *line, size_t len)
{
    struct move_read *m = arg;
    const char *c = strstr(line, "[COPYUID ");
    unsigned int v, src, dst;

    (void)len;
    if (index < 0 && strstr(line, " FETCH (") != NULL)
        take_guid(m, line);
    if ((index < 0 || index == T_MOVE) && c != NULL &&
        sscanf(c + 9, "%u %u %u", &v, &src, &dst) == 3 && src == m->uid) {
        m->copyuid = true;
        m->out->dest_uidvalidity = v;
        m->out->dest_uid = dst;
    }
    return 0;
}

int ib_guarded_move(struct ib_session *s, const char *src, uint32_t uid, const char *dest,
                    struct ib_moved *out, struct cm_err *err)
{
    unsigned int caps = ib_session_caps(s), need = IB_CAP_MOVE | IB_CAP_UIDPLUS | IB_CAP_UNSELECT;
    const char *key = (caps & IB_CAP_OBJECTID) ? "EMAILID" : (caps & IB_CAP_XGUID) ? "X-GUID" : NULL;
    char quoted[1400], fetch[64], move[1450];
    struct pipe p = { { 0 }, { false } };
    struct move_read m = { &p, uid, false, false, out };
    int sel_tag = 0, rc;

    memset(out, 0, sizeof(*out));
    if ((caps & need) != need)
        return cm_err_set(err, CM_ECONFIG, "imap: no MOVE, UIDPLUS or UNSELECT");
    if (!ib_session_examine_command(src, quoted, sizeof(quoted)) ||
        !ib_session_examine_command(dest, quoted, sizeof(quoted)))
        return cm_err_set(err, CM_EINVAL, "imap: folder name not sendable in a pipeline");
    snprintf(move, sizeof(move), "UID MOVE %u %s", uid, quoted + strlen("EXAMINE "));
    snprintf(fetch, sizeof(fetch), "UID FETCH %u (UID %s)", uid, key ? key : "FLAGS");
    rc = ib_session_select_send(s, src, false, &sel_tag, err);
    if (rc == 0)
        rc = send_text(s, fetch, &p.tag[T_FETCH], err);
    if (rc == 0)
        rc = send_text(s, move, &p.tag[T_MOVE], err);
    if (rc == 0)
        rc = send_text(s, "UNSELECT", &p.tag[T_UNSELECT], err);
    if (rc == 0 && mailstream_flush(ib_session_imap(s)->imap_stream) == -1)
        rc = ib_session_check(s, MAILIMAP_ERROR_STREAM, "MOVE", err);
    if (rc == 0) {
        out->selected = ib_session_select_recv(s, sel_tag, NULL, NULL) == 0;
        rc = ib_session_is_broken(s) ? cm_err_set(err, CM_EUPSTREAM, "imap: SELECT failed")
                                     : read_tagged(s, &p, on_move_line, &m, err);
    }
    ib_session_note_unselected(s);
    if (rc == 0) {
        out->refused = out->selected && !p.ok[T_MOVE];
        out->moved = out->selected && p.ok[T_MOVE] && (m.copyuid || m.seen);
    }
    return rc;
}

void ib_guarded_fini(struct ib_guarded *out)
{
    ib_folder_list_fini(&out->before);
    ib_folder_list_fini(&out->after);
}
