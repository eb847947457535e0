/* ib_fetch.c - FETCH and SEARCH on the selected folder. */
#include "imapbridge/ib_fetch.h"

#include <libetpan/libetpan.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cm_buf.h"
#include "imapbridge/ib_body.h"
#include "imapbridge/ib_etpan.h"
#include "imapbridge/ib_ext.h"
#include "imapbridge/ib_session.h"
#include "imapbridge/ib_text.h"
#include "imapbridge/ib_uidset.h"

static const char *const system_flags[] = {
    [MAILIMAP_FLAG_ANSWERED] = "\\Answered", [MAILIMAP_FLAG_FLAGGED] = "\\Flagged",
    [MAILIMAP_FLAG_DELETED] = "\\Deleted",   [MAILIMAP_FLAG_SEEN] = "\\Seen",
    [MAILIMAP_FLAG_DRAFT] = "\\Draft",
};

static void msg_fini(struct ib_msg *m)
{
    for (size_t i = 0; i < m->nflags; i++)
        free(m->flags[i]);
    free(m->flags);
    free(m->guid);
    free(m->thread_guid);
    for (size_t i = 0; i < m->nlabels; i++)
        free(m->labels[i]);
    free(m->labels);
    free(m->preview);
    free(m->header);
    if (m->body != NULL)
        mailimap_body_free(m->body);
    memset(m, 0, sizeof(*m));
}

static int add_flag(struct ib_msg *m, const char *name)
{
    char **nf = realloc(m->flags, (m->nflags + 1) * sizeof(*nf));

    if (nf == NULL)
        return CM_ENOMEM;
    m->flags = nf;
    m->flags[m->nflags] = strdup(name);
    if (m->flags[m->nflags] == NULL)
        return CM_ENOMEM;
    m->nflags++;
    return 0;
}

static int copy_flags(struct ib_msg *m, struct mailimap_msg_att_dynamic *dyn)
{
    clistiter *it;

    if (dyn == NULL || dyn->att_list == NULL)
        return 0;
    for (it = clist_begin(dyn->att_list); it != NULL; it = clist_next(it)) {
        struct mailimap_flag_fetch *ff = clist_content(it);
        struct mailimap_flag *f = ff->fl_flag;
        const char *name = NULL;
        int rc;

        if (ff->fl_type == MAILIMAP_FLAG_FETCH_RECENT || f == NULL)
            continue;
        if (f->fl_type >= MAILIMAP_FLAG_ANSWERED && f->fl_type <= MAILIMAP_FLAG_DRAFT)
            name = system_flags[f->fl_type];
        else if (f->fl_type == MAILIMAP_FLAG_KEYWORD)
            name = f->fl_data.fl_keyword;
        else if (f->fl_type == MAILIMAP_FLAG_EXTENSION)
            name = f->fl_data.fl_extension;
        if (name != NULL && (rc = add_flag(m, name)) < 0)
            return rc;
    }
    return 0;
}

static time_t to_utc(const struct mailimap_date_time *dt)
{
    struct tm tm = { 0 };
    int zone = dt->dt_zone; /* +HHMM as an integer, e.g. -0130 -> -130 */
    long offset = (long)(zone / 100) * 3600 + (long)(zone % 100) * 60;

    tm.tm_year = dt->dt_year - 1900;
    tm.tm_mon = dt->dt_month - 1;
    tm.tm_mday = dt->dt_day;
    tm.tm_hour = dt->dt_hour;
    tm.tm_min = dt->dt_min;
    tm.tm_sec = dt->dt_sec;
    return timegm(&tm) - offset;
}

static int copy_static(struct ib_msg *m, struct mailimap_msg_att_static *st)
{
    switch (st->att_type) {
    case MAILIMAP_MSG_ATT_UID: m->uid = st->att_data.att_uid; break;
    case MAILIMAP_MSG_ATT_RFC822_SIZE: m->size = st->att_data.att_rfc822_size; break;
    case MAILIMAP_MSG_ATT_INTERNALDATE:
        if (st->att_data.att_internal_date != NULL)
            m->internaldate = to_utc(st->att_data.att_internal_date);
        break;
    case MAILIMAP_MSG_ATT_BODYSTRUCTURE:
        /* Detach: libetpan frees a NULL body as nothing. */
        m->body = st->att_data.att_bodystructure;
        st->att_data.att_bodystructure = NULL;
        break;
    case MAILIMAP_MSG_ATT_BODY_SECTION: {
        struct mailimap_msg_att_body_section *sec = st->att_data.att_body_section;

        if (sec != NULL && sec->sec_body_part != NULL && m->header == NULL) {
            m->header = malloc(sec->sec_length + 1);
            if (m->header == NULL)
                return CM_ENOMEM;
            memcpy(m->header, sec->sec_body_part, sec->sec_length);
            m->header[sec->sec_length] = '\0';
            m->header_len = sec->sec_length;
        }
        break;
    }
    default: break;
    }
    return 0;
}

/* Gmail's X-GM-MSGID / X-GM-THRID (libetpan parses them: a uint64_t) as
   decimal text into *dst. 1 when d is one of them. */
static int copy_gm_id(struct ib_msg *m, const struct mailimap_extension_data *d)
{
    char **dst = d->ext_extension == &mailimap_extension_xgmmsgid   ? &m->guid
                 : d->ext_extension == &mailimap_extension_xgmthrid ? &m->thread_guid
                                                                    : NULL;
    char text[24];

    if (dst == NULL || d->ext_data == NULL)
        return 0;
    snprintf(text, sizeof(text), "%llu", (unsigned long long)*(const uint64_t *)d->ext_data);
    free(*dst);
    *dst = strdup(text);
    return *dst ? 1 : CM_ENOMEM;
}

static int copy_extension(struct ib_msg *m, struct mailimap_extension_data *d)
{
    int rc;

    if (d == NULL)
        return 0;
    if ((rc = copy_gm_id(m, d)) != 0)
        return rc < 0 ? rc : 0;
    if ((rc = ib_ext_labels_copy(d, &m->labels, &m->nlabels)) != 0) {
        m->has_labels = true;
        return rc < 0 ? rc : 0;
    }
    if (d->ext_extension == &ib_ext_api && d->ext_data != NULL) {
        char **dst = d->ext_type == IB_EXT_FETCH_THREADID  ? &m->thread_guid
                     : d->ext_type == IB_EXT_FETCH_PREVIEW ? &m->preview
                     : (d->ext_type == IB_EXT_FETCH_EMAILID ||
                        (d->ext_type == IB_EXT_FETCH_XGUID && m->guid == NULL))
                         ? &m->guid
                         : NULL;

        if (dst != NULL) {
            free(*dst);
            *dst = strdup(d->ext_data);
            return *dst ? 0 : CM_ENOMEM;
        }
    }
    if (d->ext_extension->ext_id == MAILIMAP_EXTENSION_CONDSTORE &&
        d->ext_type == MAILIMAP_CONDSTORE_TYPE_FETCH_DATA)
        m->modseq = ((struct mailimap_condstore_fetch_mod_resp *)d->ext_data)->cs_modseq_value;
    return 0;
}

static int copy_msg(struct ib_msg *m, struct mailimap_msg_att *att)
{
    clistiter *it;
    int rc = 0;

    for (it = clist_begin(att->att_list); rc == 0 && it != NULL; it = clist_next(it)) {
        struct mailimap_msg_att_item *item = clist_content(it);

        if (item->att_type == MAILIMAP_MSG_ATT_ITEM_DYNAMIC)
            rc = copy_flags(m, item->att_data.att_dyn);
        else if (item->att_type == MAILIMAP_MSG_ATT_ITEM_STATIC)
            rc = copy_static(m, item->att_data.att_static);
        else if (item->att_type == MAILIMAP_MSG_ATT_ITEM_EXTENSION)
            rc = copy_extension(m, item->att_data.att_extension_data);
    }
    return rc;
}

static void add_att(struct mailimap_fetch_type *ft, struct mailimap_fetch_att *att)
{
    if (att != NULL)
        mailimap_fetch_type_new_fetch_att_list_add(ft, att);
}

static struct mailimap_fetch_type *build_fetch(struct ib_session *s, unsigned int want)
{
    struct mailimap_fetch_type *ft = mailimap_fetch_type_new_fetch_att_list_empty();
    unsigned int caps = ib_session_caps(s);

    add_att(ft, mailimap_fetch_att_new_uid());
    if (want & IB_FETCH_FLAGS)
        add_att(ft, mailimap_fetch_att_new_flags());
    if (want & IB_FETCH_INTERNALDATE)
        add_att(ft, mailimap_fetch_att_new_internaldate());
    if (want & IB_FETCH_SIZE)
        add_att(ft, mailimap_fetch_att_new_rfc822_size());
    if ((want & IB_FETCH_MODSEQ) && (caps & IB_CAP_CONDSTORE))
        add_att(ft, mailimap_fetch_att_new_modseq());
    if (want & IB_FETCH_BODYSTRUCTURE)
        add_att(ft, mailimap_fetch_att_new_bodystructure());
    if (want & IB_FETCH_HEADER)
        add_att(ft, mailimap_fetch_att_new_body_peek_section(
                        mailimap_section_new_header()));
    if ((want & IB_FETCH_HEADER_SORT) && !(want & IB_FETCH_HEADER)) {
        static const char *const names[] = { "Date", "From", "To", "Subject", "Message-ID",
                                             "In-Reply-To", "References" };
        clist *hl = clist_new();

        for (size_t i = 0; hl != NULL && i < sizeof(names) / sizeof(names[0]); i++)
            clist_append(hl, strdup(names[i]));
        add_att(ft, mailimap_fetch_att_new_body_peek_section(
                        mailimap_section_new_header_fields(mailimap_header_list_new(hl))));
    }
    if ((want & IB_FETCH_PREVIEW) && (caps & IB_CAP_PREVIEW))
        add_att(ft, mailimap_fetch_att_new_extension(strdup("PREVIEW")));
    if ((want & IB_FETCH_GUID) && (caps & IB_CAP_OBJECTID)) {
        add_att(ft, mailimap_fetch_att_new_extension(strdup("EMAILID")));
        add_att(ft, mailimap_fetch_att_new_extension(strdup("THREADID")));
    } else if ((want & IB_FETCH_GUID) && (caps & IB_CAP_XGMEXT)) {
        add_att(ft, mailimap_fetch_att_new_xgmmsgid());
        add_att(ft, mailimap_fetch_att_new_xgmthrid());
    } else if ((want & IB_FETCH_GUID) && (caps & IB_CAP_XGUID)) {
        add_att(ft, mailimap_fetch_att_new_extension(strdup("X-GUID")));
    }
    if ((want & IB_FETCH_LABELS) && (caps & IB_CAP_XGMEXT))
        add_att(ft, mailimap_fetch_att_new_xgmlabels());
    return ft;
}

/* The messages of a FETCH result (freed here) into *msgs_r. */
static int take_msgs_from(clist *result, uint32_t min_seq, struct ib_msg **msgs_r, size_t *n_r,
                          struct cm_err *err)
{
    struct ib_msg *msgs = NULL;
    size_t n = 0;
    clistiter *it;
    int rc = 0;

    msgs = calloc(clist_count(result) + 1, sizeof(*msgs));
    if (msgs == NULL)
        rc = cm_err_set(err, CM_ENOMEM, "out of memory");
    for (it = clist_begin(result); rc == 0 && it != NULL; it = clist_next(it)) {
        struct mailimap_msg_att *att = clist_content(it);

        if (att->att_number < min_seq)
            continue; /* an unsolicited FETCH of a message we did not ask for */
        rc = copy_msg(&msgs[n], att);
        if (msgs[n].uid != 0)
            n++; /* an unsolicited FETCH without UID is not ours */
        else
            msg_fini(&msgs[n]);
    }
    mailimap_fetch_list_free(result);
    if (rc < 0) {
        ib_msgs_free(msgs, n + 1);
        return cm_err_set(err, rc, "out of memory");
    }
    *msgs_r = msgs;
    *n_r = n;
    return 0;
}

static int take_msgs(clist *result, struct ib_msg **msgs_r, size_t *n_r, struct cm_err *err)
{
    return take_msgs_from(result, 0, msgs_r, n_r, err);
}

int ib_fetch_msgs_from_seq(struct ib_session *s, uint32_t lo, unsigned int want,
                           struct ib_msg **msgs_r, size_t *n_r, struct cm_err *err)
{
    struct mailimap_fetch_type *ft = build_fetch(s, want);
    struct mailimap_set *set = mailimap_set_new_interval(lo, 0); /* lo:* */
    clist *result = NULL;
    int rc;

    *msgs_r = NULL;
    *n_r = 0;
    if (ft == NULL || set == NULL || lo == 0) {
        if (ft != NULL)
            mailimap_fetch_type_free(ft);
        if (set != NULL)
            mailimap_set_free(set);
        return lo == 0 ? cm_err_set(err, CM_EINVAL, "imap: sequence numbers start at 1")
                       : cm_err_set(err, CM_ENOMEM, "out of memory");
    }
    rc = ib_session_check(s, mailimap_fetch(ib_session_imap(s), set, ft, &result), "FETCH", err);
    mailimap_fetch_type_free(ft);
    mailimap_set_free(set);
    return rc < 0 ? rc : take_msgs_from(result, lo, msgs_r, n_r, err);
}

int ib_fetch_msgs(struct ib_session *s, struct mailimap_set *uids, unsigned int want,
                  struct ib_msg **msgs_r, size_t *n_r, struct cm_err *err)
{
    struct mailimap_fetch_type *ft = build_fetch(s, want);
    clist *result = NULL;
    int rc;

    rc = ib_session_check(s, mailimap_uid_fetch(ib_session_imap(s), uids, ft, &result),
                          "UID FETCH", err);
    mailimap_fetch_type_free(ft);
    return rc < 0 ? rc : take_msgs(result, msgs_r, n_r, err);
}

int ib_fetch_msgs_send(struct ib_session *s, struct mailimap_set *uids, unsigned int want,
                       int *tag_r, struct cm_err *err)
{
    mailimap *imap = ib_session_imap(s);
    struct mailimap_fetch_type *ft = build_fetch(s, want);
    int r = ft ? mailimap_send_current_tag(imap) : MAILIMAP_ERROR_MEMORY;

    *tag_r = imap->imap_tag;
    if (r == MAILIMAP_NO_ERROR)
        r = mailimap_uid_fetch_send(imap->imap_stream, uids, ft);
    if (r == MAILIMAP_NO_ERROR)
        r = mailimap_crlf_send(imap->imap_stream);
    if (ft != NULL)
        mailimap_fetch_type_free(ft);
    return ib_session_check(s, r, "UID FETCH", err);
}

int ib_fetch_msgs_recv(struct ib_session *s, int tag, struct ib_msg **msgs_r, size_t *n_r,
                       struct cm_err *err)
{
    mailimap *imap = ib_session_imap(s);
    struct mailimap_response *resp = NULL;
    clist *result;
    bool ok;
    int r;

    *msgs_r = NULL;
    *n_r = 0;
    imap->imap_tag = tag;
    r = ib_etpan_read_response(imap, &resp);
    if (r != MAILIMAP_NO_ERROR)
        return ib_session_check(s, r, "UID FETCH", err);
    ok = ib_etpan_tagged_ok(resp);
    mailimap_response_free(resp);
    result = imap->imap_response_info ? imap->imap_response_info->rsp_fetch_list : NULL;
    if (imap->imap_response_info != NULL)
        imap->imap_response_info->rsp_fetch_list = NULL;
    if (result == NULL)
        result = clist_new();
    r = ib_session_check(s, ok ? MAILIMAP_NO_ERROR : MAILIMAP_ERROR_UID_FETCH, "UID FETCH", err);
    if (r < 0 || result == NULL) {
        if (result != NULL)
            mailimap_fetch_list_free(result);
        return r < 0 ? r : cm_err_set(err, CM_ENOMEM, "out of memory");
    }
    return take_msgs(result, msgs_r, n_r, err);
}

void ib_msgs_free_one(struct ib_msg *m)
{
    msg_fini(m);
}

void ib_msgs_free(struct ib_msg *msgs, size_t n)
{
    if (msgs == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        msg_fini(&msgs[i]);
    free(msgs);
}

/* "1.2.3" -> a libetpan section for that part; "1.2.MIME" -> that part's
   MIME header; "" -> the whole message; "HEADER" -> the header. NULL when
   malformed. */
static struct mailimap_section *section_for(const char *spec)
{
    clist *parts;
    const char *p = spec, *stop;
    size_t n = strlen(spec);
    bool mime = n > 5 && strcmp(spec + n - 5, ".MIME") == 0;

    if (spec[0] == '\0')
        return mailimap_section_new(NULL);
    if (strcmp(spec, "HEADER") == 0)
        return mailimap_section_new_header();
    stop = mime ? spec + n - 5 : spec + n;
    parts = clist_new();
    while (parts != NULL && p < stop) {
        char *end;
        unsigned long v = strtoul(p, &end, 10);
        uint32_t *num;

        if (end == p || end > stop || v == 0 || v > 100000 || (*end != '.' && *end != '\0'))
            goto bad;
        num = malloc(sizeof(*num));
        if (num == NULL)
            goto bad;
        *num = (uint32_t)v;
        clist_append(parts, num);
        p = *end == '.' && end != stop ? end + 1 : end;
        if (*end == '.' && *p == '\0')
            goto bad;
        if (end == stop)
            break;
    }
    if (parts == NULL || clist_count(parts) == 0 || clist_count(parts) > 32)
        goto bad;
    if (mime)
        return mailimap_section_new_part_mime(mailimap_section_part_new(parts));
    return mailimap_section_new_part(mailimap_section_part_new(parts));
bad:
    if (parts != NULL) {
        for (clistiter *it = clist_begin(parts); it != NULL; it = clist_next(it))
            free(clist_content(it));
        clist_free(parts);
    }
    return NULL;
}

static int copy_section(clist *result, char **data_r, size_t *len_r)
{
    clistiter *it, *jt;

    for (it = clist_begin(result); it != NULL; it = clist_next(it)) {
        struct mailimap_msg_att *att = clist_content(it);

        for (jt = clist_begin(att->att_list); jt != NULL; jt = clist_next(jt)) {
            struct mailimap_msg_att_item *item = clist_content(jt);
            struct mailimap_msg_att_body_section *sec;

            if (item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC ||
                item->att_data.att_static->att_type != MAILIMAP_MSG_ATT_BODY_SECTION)
                continue;
            sec = item->att_data.att_static->att_data.att_body_section;
            *len_r = sec->sec_body_part ? sec->sec_length : 0;
            *data_r = malloc(*len_r + 1);
            if (*data_r == NULL)
                return CM_ENOMEM;
            if (*len_r > 0)
                memcpy(*data_r, sec->sec_body_part, *len_r);
            (*data_r)[*len_r] = '\0';
            return 0;
        }
    }
    return CM_ENOENT;
}

/* Body bytes go straight into our buffer as libetpan reads them, so a
   large blob is never held twice (libetpan's literal and our copy). */
struct sink {
    struct cm_buf buf;
    bool used, overflow;
};

static bool sink_bytes(int type, struct mailimap_msg_att_body_section *sec, const char *bytes,
                       size_t len, void *ctx)
{
    struct sink *k = ctx;

    (void)type;
    (void)sec;
    k->used = true;
    if (!k->overflow && cm_buf_append(&k->buf, bytes, len) < 0)
        k->overflow = true;
    return true;
}

/* The section's bytes from the sink (streamed) or the FETCH result
   (freed here), once the answer is read with rc. */
static int section_out(int rc, struct sink *sink, clist *result, uint32_t uid, char **data_r,
                       size_t *len_r, struct cm_err *err)
{
    if (rc == 0 && sink->overflow)
        rc = cm_err_set(err, CM_ELIMIT, "message part larger than %u bytes",
                        (unsigned)IB_FETCH_MAX_SECTION);
    if (rc < 0 || sink->used) {
        *data_r = rc == 0 ? cm_buf_steal(&sink->buf, len_r) : NULL;
        cm_buf_fini(&sink->buf);
        if (result != NULL)
            mailimap_fetch_list_free(result);
        if (rc == 0 && *data_r == NULL)
            rc = cm_err_set(err, CM_ENOMEM, "out of memory");
        return rc;
    }
    cm_buf_fini(&sink->buf);
    rc = copy_section(result, data_r, len_r);
    mailimap_fetch_list_free(result);
    if (rc == CM_ENOENT)
        return cm_err_set(err, CM_ENOENT, "no message with UID %u", uid);
    if (rc < 0)
        return cm_err_set(err, rc, "out of memory");
    return 0;
}

static struct mailimap_fetch_type *section_fetch(const char *section, uint32_t offset,
                                                 uint32_t max)
{
    struct mailimap_section *sec = section_for(section);

    if (sec == NULL)
        return NULL;
    return mailimap_fetch_type_new_fetch_att(
        max > 0 ? mailimap_fetch_att_new_body_peek_section_partial(sec, offset, max)
                : mailimap_fetch_att_new_body_peek_section(sec));
}

int ib_fetch_section(struct ib_session *s, uint32_t uid, const char *section, uint32_t offset,
                     uint32_t max, char **data_r, size_t *len_r, struct cm_err *err)
{
    struct sink sink = { .used = false };
    struct mailimap_fetch_type *ft = section_fetch(section, offset, max);
    struct mailimap_set *set;
    clist *result = NULL;
    int rc;

    if (ft == NULL)
        return cm_err_set(err, CM_EINVAL, "bad part number \"%s\"", section);
    set = mailimap_set_new_single(uid);
    cm_buf_init(&sink.buf, (size_t)IB_FETCH_MAX_SECTION);
    mailimap_set_msg_body_handler(ib_session_imap(s), sink_bytes, &sink);
    rc = ib_session_check(s, mailimap_uid_fetch(ib_session_imap(s), set, ft, &result),
                          "UID FETCH BODY", err);
    mailimap_set_msg_body_handler(ib_session_imap(s), NULL, NULL);
    mailimap_fetch_type_free(ft);
    mailimap_set_free(set);
    return section_out(rc, &sink, result, uid, data_r, len_r, err);
}

/* The name a BODY[...] answer's section has in section_for's spelling:
   "1.2" for a part, "1.2.MIME" for its MIME header, "HEADER" for the
   message's; "" otherwise. */
static void section_name(const struct mailimap_section *sec, char *dst, size_t cap)
{
    const struct mailimap_section_spec *sp = sec ? sec->sec_spec : NULL;
    bool mime;
    size_t n = 0;

    dst[0] = '\0';
    if (sp != NULL && sp->sec_type == MAILIMAP_SECTION_SPEC_SECTION_MSGTEXT &&
        sp->sec_data.sec_msgtext != NULL &&
        sp->sec_data.sec_msgtext->sec_type == MAILIMAP_SECTION_MSGTEXT_HEADER) {
        snprintf(dst, cap, "HEADER");
        return;
    }
    mime = sp != NULL && sp->sec_text != NULL && sp->sec_text->sec_type == MAILIMAP_SECTION_TEXT_MIME;
    if (sp == NULL || sp->sec_type != MAILIMAP_SECTION_SPEC_SECTION_PART ||
        (sp->sec_text != NULL && !mime) || sp->sec_data.sec_part == NULL)
        return;
    for (clistiter *it = clist_begin(sp->sec_data.sec_part->sec_id); it; it = clist_next(it)) {
        int w = snprintf(dst + n, cap - n, "%s%u", n ? "." : "", *(uint32_t *)clist_content(it));

        if (w < 0 || (size_t)w >= cap - n) {
            dst[0] = '\0';
            return;
        }
        n += (size_t)w;
    }
    if (mime && snprintf(dst + n, cap - n, ".MIME") >= (int)(cap - n))
        dst[0] = '\0';
}

/* The BODY[part] answers of result into the slots of parts. */
static int take_sections(clist *result, const char *const *parts, size_t n, char **data_r,
                         size_t *len_r, bool *found_r)
{
    *found_r = false;
    for (clistiter *it = clist_begin(result); it != NULL; it = clist_next(it)) {
        struct mailimap_msg_att *att = clist_content(it);

        for (clistiter *jt = clist_begin(att->att_list); jt != NULL; jt = clist_next(jt)) {
            struct mailimap_msg_att_item *item = clist_content(jt);
            struct mailimap_msg_att_body_section *sec;
            char name[64];

            if (item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC ||
                item->att_data.att_static->att_type != MAILIMAP_MSG_ATT_BODY_SECTION)
                continue;
            sec = item->att_data.att_static->att_data.att_body_section;
            section_name(sec->sec_section, name, sizeof(name));
            *found_r = true;
            for (size_t i = 0; i < n; i++) {
                size_t len = sec->sec_body_part ? sec->sec_length : 0;

                if (data_r[i] != NULL || strcmp(parts[i], name) != 0)
                    continue;
                data_r[i] = malloc(len + 1);
                if (data_r[i] == NULL)
                    return CM_ENOMEM;
                if (len > 0)
                    memcpy(data_r[i], sec->sec_body_part, len);
                data_r[i][len] = '\0';
                len_r[i] = len;
            }
        }
    }
    return 0;
}

int ib_fetch_sections(struct ib_session *s, uint32_t uid, const char *const *parts, size_t n,
                      char **data_r, size_t *len_r, struct cm_err *err)
{
    struct mailimap_fetch_type *ft = mailimap_fetch_type_new_fetch_att_list_empty();
    struct mailimap_set *set = mailimap_set_new_single(uid);
    clist *result = NULL;
    bool found = false;
    int rc = ft && set ? 0 : cm_err_set(err, CM_ENOMEM, "out of memory");

    for (size_t i = 0; i < n; i++) {
        data_r[i] = NULL;
        len_r[i] = 0;
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct mailimap_section *sec = section_for(parts[i]);

        if (sec == NULL)
            rc = cm_err_set(err, CM_EINVAL, "bad part number \"%s\"", parts[i]);
        else
            add_att(ft, mailimap_fetch_att_new_body_peek_section(sec));
    }
    if (rc == 0)
        rc = ib_session_check(s, mailimap_uid_fetch(ib_session_imap(s), set, ft, &result),
                              "UID FETCH BODY", err);
    if (rc == 0 && take_sections(result, parts, n, data_r, len_r, &found) < 0)
        rc = cm_err_set(err, CM_ENOMEM, "out of memory");
    else if (rc == 0 && !found)
        rc = cm_err_set(err, CM_ENOENT, "no message with UID %u", uid);
    for (size_t i = 0; rc < 0 && i < n; i++) {
        free(data_r[i]);
        data_r[i] = NULL;
    }
    if (result != NULL)
        mailimap_fetch_list_free(result);
    if (ft != NULL)
        mailimap_fetch_type_free(ft);
    if (set != NULL)
        mailimap_set_free(set);
    return rc;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

int ib_fetch_search(struct ib_session *s, struct mailimap_search_key *key, bool utf8,
                    uint32_t **uids_r, size_t *n_r, struct cm_err *err)
{
    struct mailimap_search_key *all = NULL;
    clist *result = NULL;
    uint32_t *uids;
    size_t n = 0;
    clistiter *it;
    int rc;

    if (key == NULL)
        key = all = mailimap_search_key_new_all();
    /* libetpan's plain sender puts 8-bit text raw inside quoted strings,
       which RFC 3501 forbids; with LITERAL+ it sends {n+} literals. */
    if (utf8 && (ib_session_caps(s) & IB_CAP_LITERALPLUS))
        rc = mailimap_uid_search_literalplus(ib_session_imap(s), "UTF-8", key, &result);
    else
        rc = mailimap_uid_search(ib_session_imap(s), utf8 ? "UTF-8" : NULL, key, &result);
    rc = ib_session_check(s, rc, "UID SEARCH", err);
    if (all != NULL)
        mailimap_search_key_free(all);
    if (rc < 0)
        return rc;
    uids = malloc((clist_count(result) + 1) * sizeof(*uids));
    if (uids == NULL) {
        mailimap_search_result_free(result);
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    }
    for (it = clist_begin(result); it != NULL; it = clist_next(it))
        uids[n++] = *(uint32_t *)clist_content(it);
    mailimap_search_result_free(result);
    qsort(uids, n, sizeof(*uids), cmp_u32);
    *uids_r = uids;
    *n_r = n;
    return 0;
}

static int cmp_change(const void *a, const void *b)
{
    uint32_t x = ((const struct ib_change *)a)->uid, y = ((const struct ib_change *)b)->uid;

    return x < y ? -1 : x > y;
}

void ib_changes_free_flags(struct ib_change *ch)
{
    for (size_t k = 0; k < ch->nflags; k++)
        free(ch->flags[k]);
    free(ch->flags);
    ch->flags = NULL;
    ch->nflags = 0;
    free(ch->guid);
    ch->guid = NULL;
}

void ib_changes_free(struct ib_change *ch, size_t n)
{
    for (size_t i = 0; ch != NULL && i < n; i++)
        ib_changes_free_flags(&ch[i]);
    free(ch);
}

int ib_fetch_changed_since_send(struct ib_session *s, uint64_t modseq, int *tag_r,
                                struct cm_err *err)
{
    unsigned int caps = ib_session_caps(s);
    const char *guid = (caps & IB_CAP_OBJECTID) ? " EMAILID"
                       : (caps & IB_CAP_XGMEXT) ? " X-GM-MSGID"
                       : (caps & IB_CAP_XGUID)  ? " X-GUID"
                                                : "";
    char cmd[160];

    *tag_r = 0;
    /* libetpan's mailimap_select_qresync is broken in 1.9.4 (LIBS.md
       §0.7); this hand-written line is the form it gets right. The UID
       set is every UID, not 1:*: "*" is the highest UID the folder holds
       now (RFC 3501 §9 seq-number), and VANISHED (EARLIER) names only
       UIDs inside the set (RFC 7162 §3.2.6), so after the folder's
       highest message left, 1:* ends below it and the answer leaves it
       out (Cyrus 3.6 does exactly that). */
    snprintf(cmd, sizeof(cmd),
             "UID FETCH 1:4294967295 (UID FLAGS MODSEQ%s) (CHANGEDSINCE %llu%s)", guid,
             (unsigned long long)modseq, (caps & IB_CAP_QRESYNC) ? " VANISHED" : "");
    return ib_session_check(s, ib_etpan_send_line(ib_session_imap(s), cmd, tag_r),
                            "UID FETCH CHANGEDSINCE", err);
}

/* The VANISHED sets of a response (QRESYNC), merged into one set; NULL
   when there is none. The items move out of libetpan's data. */
static struct mailimap_set *take_vanished(clist *ext_list)
{
    struct mailimap_set *all = NULL;

    for (clistiter *it = ext_list ? clist_begin(ext_list) : NULL; it; it = clist_next(it)) {
        struct mailimap_extension_data *d = clist_content(it);
        struct mailimap_qresync_vanished *v;

        if (d == NULL || d->ext_extension == NULL ||
            d->ext_extension->ext_id != MAILIMAP_EXTENSION_QRESYNC ||
            d->ext_type != MAILIMAP_QRESYNC_TYPE_VANISHED || d->ext_data == NULL)
            continue;
        v = d->ext_data;
        if (v->qr_known_uids == NULL)
            continue;
        if (all == NULL) {
            all = v->qr_known_uids;
            v->qr_known_uids = mailimap_set_new_empty();
            continue;
        }
        while (clist_begin(v->qr_known_uids->set_list) != NULL) {
            clistiter *first = clist_begin(v->qr_known_uids->set_list);

            if (clist_append(all->set_list, clist_content(first)) < 0)
                break; /* left in v: freed with it */
            clist_delete(v->qr_known_uids->set_list, first);
        }
    }
    return all;
}

/* The changes of a CHANGEDSINCE FETCH answer (result freed here), by UID. */
static int take_changes(clist *result, struct ib_change **changes_r, size_t *n_r,
                        struct cm_err *err)
{
    struct ib_change *changes = calloc(clist_count(result) + 1, sizeof(*changes));
    size_t n = 0;

    if (changes == NULL) {
        mailimap_fetch_list_free(result);
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    }
    for (clistiter *it = clist_begin(result); it != NULL; it = clist_next(it)) {
        struct ib_msg m = { 0 };

        if (copy_msg(&m, clist_content(it)) == 0 && m.uid != 0) {
            changes[n++] = (struct ib_change){ m.uid, m.modseq, m.flags, m.nflags, m.guid };
            m.flags = NULL; /* moved into the change */
            m.nflags = 0;
            m.guid = NULL;
        }
        msg_fini(&m);
    }
    mailimap_fetch_list_free(result);
    qsort(changes, n, sizeof(*changes), cmp_change);
    *changes_r = changes;
    *n_r = n;
    return 0;
}

int ib_fetch_changed_since_recv(struct ib_session *s, int tag, struct ib_change **changes_r,
                                size_t *n_r, struct mailimap_set **vanished_r,
                                bool *vanished_known_r, struct cm_err *err)
{
    mailimap *imap = ib_session_imap(s);
    struct mailimap_response_info *info;
    struct mailimap_response *resp = NULL;
    struct mailimap_set *van = NULL;
    clist *result = NULL;
    bool ok;
    int r;

    *changes_r = NULL;
    *n_r = 0;
    *vanished_r = NULL;
    *vanished_known_r = false;
    imap->imap_tag = tag;
    r = ib_etpan_read_response(imap, &resp);
    if (r != MAILIMAP_NO_ERROR)
        return ib_session_check(s, r, "UID FETCH CHANGEDSINCE", err);
    ok = ib_etpan_tagged_ok(resp);
    mailimap_response_free(resp);
    info = imap->imap_response_info;
    if (info != NULL) {
        result = info->rsp_fetch_list;
        info->rsp_fetch_list = NULL;
        van = take_vanished(info->rsp_extension_list);
    }
    r = ib_session_check(s, ok ? MAILIMAP_NO_ERROR : MAILIMAP_ERROR_UID_FETCH,
                         "UID FETCH CHANGEDSINCE", err);
    if (r == 0 && result == NULL)
        result = clist_new();
    if (r == 0 && result == NULL)
        r = cm_err_set(err, CM_ENOMEM, "out of memory");
    if (r == 0) {
        r = take_changes(result, changes_r, n_r, err);
        result = NULL;
    }
    if (result != NULL)
        mailimap_fetch_list_free(result);
    if (r == 0 && (ib_session_caps(s) & IB_CAP_QRESYNC)) {
        *vanished_known_r = true;
        *vanished_r = van;
        van = NULL;
    }
    if (van != NULL)
        mailimap_set_free(van);
    return r;
}

int ib_fetch_changed_since(struct ib_session *s, uint64_t modseq, struct ib_change **changes_r,
                           size_t *n_r, struct mailimap_set **vanished_r,
                           bool *vanished_known_r, struct cm_err *err)
{
    int tag, rc = ib_fetch_changed_since_send(s, modseq, &tag, err);

    *changes_r = NULL;
    *n_r = 0;
    *vanished_r = NULL;
    *vanished_known_r = false;
    if (rc == 0 && mailstream_flush(ib_session_imap(s)->imap_stream) == -1)
        rc = ib_session_check(s, MAILIMAP_ERROR_STREAM, "UID FETCH CHANGEDSINCE", err);
    return rc < 0 ? rc
                  : ib_fetch_changed_since_recv(s, tag, changes_r, n_r, vanished_r,
                                                vanished_known_r, err);
}

int ib_fetch_part(struct ib_session *s, uint32_t uid, const struct mailimap_body *body,
                  const char *part, char **data_r, size_t *len_r, struct cm_err *err)
{
    const char *enc = ib_body_part_encoding(body, part);
    char *raw = NULL;
    size_t raw_len = 0;
    bool problem = false;
    int rc;

    if (enc == NULL)
        return cm_err_set(err, CM_ENOENT, "no such part");
    rc = ib_fetch_section(s, uid, part, 0, 0, &raw, &raw_len, err);
    if (rc == 0)
        rc = ib_text_cte_decode(enc, raw, raw_len, data_r, len_r, &problem, err);
    free(raw);
    return rc;
}

int ib_fetch_sort(struct ib_session *s, struct mailimap_sort_key *sort_key,
                  struct mailimap_search_key *key, bool utf8, uint32_t **uids_r, size_t *n_r,
                  struct cm_err *err)
{
    struct mailimap_search_key *all = NULL;
    clist *result = NULL;
    uint32_t *uids;
    size_t n = 0;
    int rc;

    /* libetpan's SORT needs a charset and a search key (never NULL) */
    if (key == NULL)
        key = all = mailimap_search_key_new_all();
    rc = ib_session_check(s, mailimap_uid_sort(ib_session_imap(s), utf8 ? "UTF-8" : "US-ASCII",
                                               sort_key, key, &result),
                          "UID SORT", err);
    if (all != NULL)
        mailimap_search_key_free(all);
    if (rc < 0)
        return rc;
    uids = malloc((clist_count(result) + 1) * sizeof(*uids));
    if (uids == NULL) {
        mailimap_sort_result_free(result);
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    }
    for (clistiter *it = clist_begin(result); it != NULL; it = clist_next(it))
        uids[n++] = *(uint32_t *)clist_content(it);
    mailimap_sort_result_free(result);
    *uids_r = uids;
    *n_r = n;
    return 0;
}

int ib_fetch_msgs_in(struct ib_session *s, const char *imap_name, struct mailimap_set *uids,
                     unsigned int want, struct ib_msg **msgs_r, size_t *n_r, struct cm_err *err)
{
    struct ib_use use = { 0 };
    int tag = 0, rc = ib_session_use_send(s, imap_name, true, &use, err), rc_use;

    *msgs_r = NULL;
    *n_r = 0;
    if (rc == 0)
        rc = ib_fetch_msgs_send(s, uids, want, &tag, err);
    if (rc == 0 && mailstream_flush(ib_session_imap(s)->imap_stream) == -1)
        rc = ib_session_check(s, MAILIMAP_ERROR_STREAM, "UID FETCH", err);
    if (rc < 0)
        return rc;
    rc_use = ib_session_use_recv(s, &use, err);
    if (ib_session_is_broken(s))
        return rc_use < 0 ? rc_use : cm_err_set(err, CM_EUPSTREAM, "imap: EXAMINE failed");
    if (rc_use < 0) { /* the FETCH ran on no folder: read its refusal */
        struct cm_err quiet = CM_ERR_INIT;

        if (ib_fetch_msgs_recv(s, tag, msgs_r, n_r, &quiet) == 0)
            ib_msgs_free(*msgs_r, *n_r);
        *msgs_r = NULL;
        *n_r = 0;
        return rc_use;
    }
    return ib_fetch_msgs_recv(s, tag, msgs_r, n_r, err);
}

int ib_fetch_search_msgs(struct ib_session *s, struct mailimap_search_key *key, unsigned int want,
                         struct ib_msg **msgs_r, size_t *n_r, struct cm_err *err)
{
    struct mailimap_set *set = NULL;
    uint32_t *uids = NULL;
    size_t n = 0;
    int rc = ib_fetch_search(s, key, false, &uids, &n, err);

    *msgs_r = NULL;
    *n_r = 0;
    if (rc == 0 && n > 0)
        rc = (set = ib_uidset_of(uids, n)) != NULL ? ib_fetch_msgs(s, set, want, msgs_r, n_r, err)
                                                   : cm_err_set(err, CM_ENOMEM, "out of memory");
    if (set != NULL)
        ib_uidset_free(set);
    free(uids);
    return rc;
}
