/* ib_body.c - BODYSTRUCTURE -> EmailBodyPart tree, parseStructure, body values. */
#include "imapbridge/ib_body.h"

#include "common/cm_buf.h"
#include "imapbridge/ib_header.h"
#include "imapbridge/ib_text.h"

#include <libetpan/libetpan.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_DEPTH 64

/* ---- reading libetpan's structures -------------------------------------- */

struct leaf {
    const char *type, *subtype, *type_other; /* type_other: med_basic_type */
    const struct mailimap_body_fields *fields;
    const struct mailimap_body_ext_1part *ext;
};

static const char *media_type(const struct mailimap_media_basic *m)
{
    switch (m->med_type) {
    case MAILIMAP_MEDIA_BASIC_APPLICATION: return "application";
    case MAILIMAP_MEDIA_BASIC_AUDIO: return "audio";
    case MAILIMAP_MEDIA_BASIC_IMAGE: return "image";
    case MAILIMAP_MEDIA_BASIC_MESSAGE: return "message";
    case MAILIMAP_MEDIA_BASIC_VIDEO: return "video";
    default: return m->med_basic_type != NULL ? m->med_basic_type : "application";
    }
}

/* false for a 1part body whose data is missing (libetpan marks errors). */
static bool leaf_get(const struct mailimap_body_type_1part *p, struct leaf *l)
{
    memset(l, 0, sizeof(*l));
    l->ext = p->bd_ext_1part;
    switch (p->bd_type) {
    case MAILIMAP_BODY_TYPE_1PART_TEXT:
        if (p->bd_data.bd_type_text == NULL)
            return false;
        l->type = "text";
        l->subtype = p->bd_data.bd_type_text->bd_media_text;
        l->fields = p->bd_data.bd_type_text->bd_fields;
        break;
    case MAILIMAP_BODY_TYPE_1PART_MSG:
        if (p->bd_data.bd_type_msg == NULL)
            return false;
        l->type = "message";
        l->subtype = "rfc822";
        l->fields = p->bd_data.bd_type_msg->bd_fields;
        break;
    case MAILIMAP_BODY_TYPE_1PART_BASIC:
        if (p->bd_data.bd_type_basic == NULL || p->bd_data.bd_type_basic->bd_media_basic == NULL)
            return false;
        l->type = media_type(p->bd_data.bd_type_basic->bd_media_basic);
        l->subtype = p->bd_data.bd_type_basic->bd_media_basic->med_subtype;
        l->fields = p->bd_data.bd_type_basic->bd_fields;
        break;
    default: return false;
    }
    return l->fields != NULL && l->subtype != NULL;
}

static const char *encoding_name(const struct mailimap_body_fld_enc *e)
{
    if (e == NULL)
        return "7bit";
    switch (e->enc_type) {
    case MAILIMAP_BODY_FLD_ENC_8BIT: return "8bit";
    case MAILIMAP_BODY_FLD_ENC_BINARY: return "binary";
    case MAILIMAP_BODY_FLD_ENC_BASE64: return "base64";
    case MAILIMAP_BODY_FLD_ENC_QUOTED_PRINTABLE: return "quoted-printable";
    case MAILIMAP_BODY_FLD_ENC_OTHER: return e->enc_value != NULL ? e->enc_value : "7bit";
    default: return "7bit";
    }
}

static const char *param_get(const struct mailimap_body_fld_param *p, const char *name)
{
    clistiter *it;

    if (p == NULL || p->pa_list == NULL)
        return NULL;
    for (it = clist_begin(p->pa_list); it != NULL; it = clist_next(it)) {
        const struct mailimap_single_body_fld_param *sp = clist_content(it);

        if (sp->pa_name != NULL && sp->pa_value != NULL && strcasecmp(sp->pa_name, name) == 0)
            return sp->pa_value;
    }
    return NULL;
}

/* ---- small JSON helpers ------------------------------------------------- */

static char *lower_dup(const char *a, const char *b)
{
    size_t n = strlen(a) + (b ? strlen(b) + 1 : 0) + 1, i;
    char *s = malloc(n);

    if (s == NULL)
        return NULL;
    snprintf(s, n, b ? "%s/%s" : "%s", a, b);
    for (i = 0; s[i] != '\0'; i++)
        s[i] = (char)tolower((unsigned char)s[i]);
    return s;
}

/* Lower-case JSON string or null. */
static json_t *lower_json(const char *s)
{
    char *l;
    json_t *j;

    if (s == NULL)
        return json_null();
    l = lower_dup(s, NULL);
    j = l ? ib_text_json(l, strlen(l)) : NULL;
    free(l);
    return j;
}

static json_t *str_or_null(const char *s)
{
    return s != NULL ? ib_text_json(s, strlen(s)) : json_null();
}

/* Set o[key] = v (stolen); false when v is NULL or the set failed. */
static bool put(json_t *o, const char *key, json_t *v)
{
    return v != NULL && json_object_set_new(o, key, v) == 0;
}

/* ---- names (RFC 2231 / RFC 2047) ---------------------------------------- */

static int hexv(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Append value (percent-decoded when `encoded`) to b. */
static int append_2231(struct cm_buf *b, const char *v, bool encoded)
{
    size_t i;
    int rc = 0;

    for (i = 0; v[i] != '\0' && rc == 0; i++) {
        char c = v[i];

        if (encoded && c == '%' && hexv(v[i + 1]) >= 0 && hexv(v[i + 2]) >= 0) {
            c = (char)(hexv(v[i + 1]) * 16 + hexv(v[i + 2]));
            i += 2;
        }
        rc = cm_buf_append(b, &c, 1);
    }
    return rc;
}

/* Is pa_name `base*` (single extended) or `base*N` / `base*N*` with N ==
   idx? *enc gets whether the value is percent-encoded. */
static bool is_2231_piece(const char *pname, const char *base, int idx, bool *enc)
{
    size_t n = strlen(base);
    char *end;
    long k;

    if (strncasecmp(pname, base, n) != 0 || pname[n] != '*')
        return false;
    if (pname[n + 1] == '\0') {
        *enc = true;
        return idx == 0;
    }
    k = strtol(pname + n + 1, &end, 10);
    if (end == pname + n + 1 || k != idx || (*end != '\0' && strcmp(end, "*") != 0))
        return false;
    *enc = *end == '*';
    return true;
}

static const char *find_piece(const struct mailimap_body_fld_param *p, const char *base, int idx,
                              bool *enc)
{
    clistiter *it;

    if (p == NULL || p->pa_list == NULL)
        return NULL;
    for (it = clist_begin(p->pa_list); it != NULL; it = clist_next(it)) {
        const struct mailimap_single_body_fld_param *sp = clist_content(it);

        if (sp->pa_name && sp->pa_value && is_2231_piece(sp->pa_name, base, idx, enc))
            return sp->pa_value;
    }
    return NULL;
}

/* RFC 2231 parameter `base*...` -> UTF-8 JSON string, or NULL if absent. */
static json_t *param_2231(const struct mailimap_body_fld_param *p, const char *base)
{
    struct cm_buf b;
    char charset[64] = "";
    const char *v, *q1, *q2;
    bool enc = false, problem = false;
    int idx, rc = 0;
    char *out = NULL;
    size_t olen = 0;
    json_t *j = NULL;

    v = find_piece(p, base, 0, &enc);
    if (v == NULL)
        return NULL;
    cm_buf_init(&b, 64 * 1024);
    /* charset'language'text in the first encoded piece */
    q1 = enc ? strchr(v, '\'') : NULL;
    q2 = q1 ? strchr(q1 + 1, '\'') : NULL;
    if (q2 != NULL && (size_t)(q1 - v) < sizeof(charset)) {
        memcpy(charset, v, (size_t)(q1 - v));
        charset[q1 - v] = '\0';
        v = q2 + 1;
    }
    for (idx = 0; v != NULL && rc == 0 && idx < 1000; idx++) {
        rc = append_2231(&b, v, enc);
        v = find_piece(p, base, idx + 1, &enc);
    }
    if (rc == 0 && b.data != NULL &&
        ib_text_charset_decode(charset, b.data, b.len, &out, &olen, &problem, NULL) == 0)
        j = json_stringn(out, olen);
    else if (rc == 0 && b.data == NULL)
        j = json_string("");
    free(out);
    cm_buf_fini(&b);
    return j;
}

/* A plain parameter value, RFC 2047 words decoded (common in the wild). */
static json_t *param_text(const char *v)
{
    char *t = NULL;
    json_t *j;

    if (ib_text_param_decode(v, strlen(v), &t, NULL) < 0)
        return NULL;
    j = json_string(t);
    free(t);
    return j;
}

/* name: the disposition filename, else the Content-Type name parameter. */
static json_t *part_name(const struct mailimap_body_fld_param *ctype,
                         const struct mailimap_body_fld_dsp *dsp)
{
    const struct mailimap_body_fld_param *dp = dsp ? dsp->dsp_attributes : NULL;
    const char *v;
    json_t *j;

    if ((v = param_get(dp, "filename")) != NULL)
        return param_text(v);
    if ((j = param_2231(dp, "filename")) != NULL)
        return j;
    if ((v = param_get(ctype, "name")) != NULL)
        return param_text(v);
    if ((j = param_2231(ctype, "name")) != NULL)
        return j;
    return json_null();
}

/* ---- the EmailBodyPart tree --------------------------------------------- */

static json_t *cid_json(const char *id)
{
    size_t len;

    if (id == NULL)
        return json_null();
    while (*id == ' ' || *id == '\t' || *id == '<')
        id++;
    len = strlen(id);
    while (len > 0 && (id[len - 1] == ' ' || id[len - 1] == '\t' || id[len - 1] == '>'))
        len--;
    return ib_text_json(id, len);
}

static json_t *language_json(const struct mailimap_body_fld_lang *lg)
{
    json_t *arr;
    clistiter *it;

    if (lg == NULL)
        return json_null();
    if (lg->lg_type == MAILIMAP_BODY_FLD_LANG_SINGLE)
        return lg->lg_data.lg_single ? json_pack("[o]", str_or_null(lg->lg_data.lg_single))
                                     : json_null();
    if (lg->lg_type != MAILIMAP_BODY_FLD_LANG_LIST || lg->lg_data.lg_list == NULL)
        return json_null();
    arr = json_array();
    for (it = clist_begin(lg->lg_data.lg_list); arr != NULL && it != NULL; it = clist_next(it)) {
        const char *s = clist_content(it);

        if (json_array_append_new(arr, str_or_null(s)) < 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    return arr;
}

static json_t *headers_of(const char *part_id, const struct ib_body_opts *o)
{
    struct ib_header_list *hl = NULL;
    const char *raw;
    size_t len = 0;
    bool known;
    json_t *j;

    raw = o->headers(part_id, &len, o->headers_ctx);
    if (raw == NULL)
        return json_array();
    if (ib_header_parse(raw, len, &hl, NULL) < 0)
        return NULL;
    j = ib_header_email_prop(hl, "headers", &known);
    ib_header_list_free(&hl);
    return j;
}

/* Properties every part has, in the RFC's order. section: the IMAP
   section whose MIME header is the part's header (NULL: the message's). */
static json_t *part_common(const char *part_id, const char *section,
                           const struct ib_body_opts *o)
{
    json_t *p = json_object();
    bool ok = p != NULL;

    ok = ok && put(p, "partId", part_id ? json_string(part_id) : json_null());
    if (ok && part_id != NULL && o && o->blob) {
        json_t *b = o->blob(part_id, o->blob_ctx);

        ok = put(p, "blobId", b ? b : json_null());
    } else {
        ok = ok && put(p, "blobId", json_null());
    }
    ok = ok && put(p, "size", json_integer(0));
    if (ok && o && o->headers)
        ok = put(p, "headers", headers_of(section, o));
    if (!ok)
        json_decref(p);
    return ok ? p : NULL;
}

static json_t *leaf_json(const struct leaf *l, const char *part_id, const char *section,
                         const struct ib_body_opts *o)
{
    const struct mailimap_body_fields *f = l->fields;
    const struct mailimap_body_fld_dsp *dsp = l->ext ? l->ext->bd_disposition : NULL;
    const char *enc = encoding_name(f->bd_encoding), *cs = param_get(f->bd_parameter, "charset");
    json_t *p = part_common(part_id, section, o);
    char *type = lower_dup(l->type, l->subtype);
    bool ok = p != NULL && type != NULL;

    if (cs == NULL && strcmp(l->type, "text") == 0)
        cs = "us-ascii";
    ok = ok && put(p, "size", json_integer((json_int_t)ib_text_cte_decoded_size(enc, f->bd_size)));
    ok = ok && put(p, "name", part_name(f->bd_parameter, dsp));
    ok = ok && put(p, "type", ib_text_json(type, strlen(type)));
    ok = ok && put(p, "charset", cs ? lower_json(cs) : json_null());
    ok = ok && put(p, "disposition", lower_json(dsp ? dsp->dsp_type : NULL));
    ok = ok && put(p, "cid", cid_json(f->bd_id));
    ok = ok && put(p, "language", language_json(l->ext ? l->ext->bd_language : NULL));
    ok = ok && put(p, "location", str_or_null(l->ext ? l->ext->bd_loc : NULL));
    ok = ok && put(p, "subParts", json_null());
    free(type);
    if (!ok)
        json_decref(p);
    return ok ? p : NULL;
}

static json_t *part_json(const struct mailimap_body *b, const char *part_id,
                         const struct ib_body_opts *o, int depth);

static json_t *mpart_json(const struct mailimap_body_type_mpart *m, const char *part_id,
                          const struct ib_body_opts *o, int depth)
{
    const struct mailimap_body_ext_mpart *ext = m->bd_ext_mpart;
    const struct mailimap_body_fld_dsp *dsp = ext ? ext->bd_disposition : NULL;
    json_t *p = part_common(NULL, part_id, o), *subs = json_array();
    char *type = lower_dup("multipart", m->bd_media_subtype ? m->bd_media_subtype : "mixed");
    char child[64];
    clistiter *it;
    int n = 0;
    bool ok = p != NULL && subs != NULL && type != NULL;

    ok = ok && put(p, "name", part_name(ext ? ext->bd_parameter : NULL, dsp));
    ok = ok && put(p, "type", ib_text_json(type, strlen(type)));
    ok = ok && put(p, "charset", json_null());
    ok = ok && put(p, "disposition", lower_json(dsp ? dsp->dsp_type : NULL));
    ok = ok && put(p, "cid", json_null());
    ok = ok && put(p, "language", language_json(ext ? ext->bd_language : NULL));
    ok = ok && put(p, "location", str_or_null(ext ? ext->bd_loc : NULL));
    for (it = m->bd_list ? clist_begin(m->bd_list) : NULL; ok && it != NULL; it = clist_next(it)) {
        n++;
        if (part_id != NULL)
            snprintf(child, sizeof(child), "%s.%d", part_id, n);
        else
            snprintf(child, sizeof(child), "%d", n);
        ok = json_array_append_new(subs, part_json(clist_content(it), child, o, depth + 1)) == 0;
    }
    ok = ok && json_object_set(p, "subParts", subs) == 0;
    json_decref(subs);
    free(type);
    if (!ok)
        json_decref(p);
    return ok ? p : NULL;
}

/* `section` is this part's IMAP section path; for a multipart it is the
   prefix of its children's paths (NULL at the top). */
static json_t *part_json(const struct mailimap_body *b, const char *section,
                         const struct ib_body_opts *o, int depth)
{
    static const struct mailimap_body_fields no_fields;
    struct leaf l;

    if (b != NULL && depth <= MAX_DEPTH && strlen(section ? section : "") <= 50) {
        if (b->bd_type == MAILIMAP_BODY_MPART && b->bd_data.bd_body_mpart != NULL)
            return mpart_json(b->bd_data.bd_body_mpart, section, o, depth);
        if (b->bd_type == MAILIMAP_BODY_1PART && b->bd_data.bd_body_1part != NULL &&
            leaf_get(b->bd_data.bd_body_1part, &l))
            return leaf_json(&l, section ? section : "1", section, o);
    }
    /* malformed or too deep: an opaque leaf, so the tree stays complete */
    memset(&l, 0, sizeof(l));
    l.type = "application";
    l.subtype = "octet-stream";
    l.fields = &no_fields;
    return leaf_json(&l, section ? section : "1", section, o);
}

json_t *ib_body_structure_json(const struct mailimap_body *body, const struct ib_body_opts *opts)
{
    return part_json(body, NULL, opts, 0);
}

/* ---- parseStructure (RFC 8621 4.1.4), kept in the RFC's shape ---------- */

static const char *jstr(const json_t *part, const char *key)
{
    const char *s = json_string_value(json_object_get(part, key));

    return s != NULL ? s : "";
}

static bool is_inline_media(const char *type)
{
    return strncmp(type, "image/", 6) == 0 || strncmp(type, "audio/", 6) == 0 ||
           strncmp(type, "video/", 6) == 0;
}

static int push(json_t *list, json_t *part)
{
    return list != NULL && json_array_append(list, part) < 0 ? CM_ENOMEM : 0;
}

static bool part_is_inline(json_t *part, const char *multipart_type, size_t i)
{
    const char *type = jstr(part, "type");
    bool has_name = jstr(part, "name")[0] != '\0'; /* JS: !part.name */

    return strcmp(jstr(part, "disposition"), "attachment") != 0 &&
           (strcmp(type, "text/plain") == 0 || strcmp(type, "text/html") == 0 ||
            is_inline_media(type)) &&
           (i == 0 ||
            (strcmp(multipart_type, "related") != 0 && (is_inline_media(type) || !has_name)));
}

static int parse_structure(json_t *parts, const char *multipart_type, bool in_alternative,
                           json_t *html_body, json_t *text_body, json_t *attachments, int depth);

/* One part of the loop body; *text_body / *html_body may be set to NULL
   as in the RFC (for the rest of this level). */
static int parse_one(json_t *part, size_t i, const char *multipart_type, bool in_alternative,
                     json_t **html_body, json_t **text_body, json_t *attachments, int depth)
{
    const char *type = jstr(part, "type");
    int rc = 0;

    if (strncmp(type, "multipart/", 10) == 0) {
        const char *sub = type + 10;

        return parse_structure(json_object_get(part, "subParts"), sub,
                               in_alternative || strcmp(sub, "alternative") == 0, *html_body,
                               *text_body, attachments, depth + 1);
    }
    if (!part_is_inline(part, multipart_type, i))
        return push(attachments, part);
    if (strcmp(multipart_type, "alternative") == 0) {
        if (strcmp(type, "text/plain") == 0)
            return push(*text_body, part);
        if (strcmp(type, "text/html") == 0)
            return push(*html_body, part);
        return push(attachments, part);
    } else if (in_alternative) {
        if (strcmp(type, "text/plain") == 0)
            *html_body = NULL;
        if (strcmp(type, "text/html") == 0)
            *text_body = NULL;
    }
    rc = push(*text_body, part);
    if (rc == 0)
        rc = push(*html_body, part);
    if (rc == 0 && (*text_body == NULL || *html_body == NULL) && is_inline_media(type))
        rc = push(attachments, part);
    return rc;
}

/* Append list[from..] to dst. */
static int copy_tail(json_t *dst, json_t *list, long from)
{
    size_t i;
    int rc = 0;

    for (i = (size_t)from; rc == 0 && i < json_array_size(list); i++)
        rc = push(dst, json_array_get(list, i));
    return rc;
}

static int parse_structure(json_t *parts, const char *multipart_type, bool in_alternative,
                           json_t *html_body, json_t *text_body, json_t *attachments, int depth)
{
    long text_length = text_body ? (long)json_array_size(text_body) : -1;
    long html_length = html_body ? (long)json_array_size(html_body) : -1;
    size_t i;
    int rc = 0;

    if (depth > MAX_DEPTH)
        return 0;
    for (i = 0; rc == 0 && i < json_array_size(parts); i++)
        rc = parse_one(json_array_get(parts, i), i, multipart_type, in_alternative, &html_body,
                       &text_body, attachments, depth);
    if (rc == 0 && strcmp(multipart_type, "alternative") == 0 && text_body && html_body) {
        /* found HTML part only */
        if (text_length == (long)json_array_size(text_body) &&
            html_length != (long)json_array_size(html_body))
            rc = copy_tail(text_body, html_body, html_length);
        /* found plaintext part only */
        if (rc == 0 && html_length == (long)json_array_size(html_body) &&
            text_length != (long)json_array_size(text_body))
            rc = copy_tail(html_body, text_body, text_length);
    }
    return rc;
}

int ib_body_parts(json_t *structure, json_t **text, json_t **html, json_t **attachments,
                  bool *has_attachment, struct cm_err *err)
{
    json_t *top = json_array();
    size_t i;
    int rc;

    *text = json_array();
    *html = json_array();
    *attachments = json_array();
    *has_attachment = false;
    rc = top && *text && *html && *attachments ? json_array_append(top, structure) : -1;
    if (rc == 0)
        rc = parse_structure(top, "mixed", false, *html, *text, *attachments, 0);
    json_decref(top);
    if (rc < 0) {
        json_decref(*text);
        json_decref(*html);
        json_decref(*attachments);
        *text = *html = *attachments = NULL;
        return cm_err_set(err, CM_ENOMEM, "parseStructure");
    }
    /* RFC 8621 4.1.4 hasAttachment: an attachment not marked inline */
    for (i = 0; i < json_array_size(*attachments); i++)
        if (strcmp(jstr(json_array_get(*attachments, i), "disposition"), "inline") != 0)
            *has_attachment = true;
    return 0;
}

/* ---- body values -------------------------------------------------------- */

/* The 1part body at section path `id` ("1", "2.1"), or NULL. */
static const struct mailimap_body *body_at(const struct mailimap_body *b, const char *id)
{
    while (b != NULL && *id != '\0') {
        char *end;
        long k = strtol(id, &end, 10);
        clistiter *it;

        if (end == id || k < 1)
            return NULL;
        id = *end == '.' ? end + 1 : end;
        if (b->bd_type == MAILIMAP_BODY_1PART)
            return k == 1 && *id == '\0' ? b : NULL;
        if (b->bd_data.bd_body_mpart == NULL || b->bd_data.bd_body_mpart->bd_list == NULL)
            return NULL;
        it = clist_begin(b->bd_data.bd_body_mpart->bd_list);
        for (; it != NULL && --k > 0; it = clist_next(it))
            ;
        b = it ? clist_content(it) : NULL;
    }
    return b != NULL && b->bd_type == MAILIMAP_BODY_1PART ? b : NULL;
}

static bool fetch_has(const struct ib_body_fetch *v, size_t n, const char *id)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(v[i].part_id, id) == 0)
            return true;
    return false;
}

/* Add text part `p` (a JSON leaf) to the fetch list if new. */
static int fetch_add(const struct mailimap_body *body, json_t *p, struct ib_body_fetch **v,
                     size_t *n)
{
    const char *id = jstr(p, "partId"), *type = jstr(p, "type");
    const struct mailimap_body *b = body_at(body, id);
    struct ib_body_fetch *nv, *f;
    struct leaf l;

    if (strncmp(type, "text/", 5) != 0 || fetch_has(*v, *n, id) || b == NULL ||
        !leaf_get(b->bd_data.bd_body_1part, &l) || strlen(id) >= sizeof(f->part_id))
        return 0;
    nv = realloc(*v, (*n + 1) * sizeof(*nv));
    if (nv == NULL)
        return CM_ENOMEM;
    *v = nv;
    f = &nv[*n];
    memset(f, 0, sizeof(*f));
    snprintf(f->part_id, sizeof(f->part_id), "%s", id);
    f->html = strcmp(type, "text/html") == 0;
    f->encoding = lower_dup(encoding_name(l.fields->bd_encoding), NULL);
    f->charset = strdup(jstr(p, "charset")[0] ? jstr(p, "charset") : "us-ascii");
    f->type = strdup(type);
    (*n)++;
    return f->encoding && f->charset && f->type ? 0 : CM_ENOMEM;
}

/* Every leaf of the tree, in order. */
static int all_leaves(json_t *part, json_t *out, int depth)
{
    json_t *subs = json_object_get(part, "subParts");
    size_t i;
    int rc = 0;

    if (!json_is_array(subs))
        return json_array_append(out, part) < 0 ? CM_ENOMEM : 0;
    for (i = 0; rc == 0 && depth < MAX_DEPTH && i < json_array_size(subs); i++)
        rc = all_leaves(json_array_get(subs, i), out, depth + 1);
    return rc;
}

static int collect(const struct mailimap_body *body, json_t *list, struct ib_body_fetch **v,
                   size_t *n)
{
    size_t i;
    int rc = 0;

    for (i = 0; rc == 0 && i < json_array_size(list); i++)
        rc = fetch_add(body, json_array_get(list, i), v, n);
    return rc;
}

int ib_body_fetch_list(const struct mailimap_body *body, unsigned want, struct ib_body_fetch **out,
                       size_t *n, struct cm_err *err)
{
    json_t *st = ib_body_structure_json(body, NULL), *text = NULL, *html = NULL, *att = NULL;
    json_t *leaves = json_array();
    bool has;
    int rc = st && leaves ? ib_body_parts(st, &text, &html, &att, &has, NULL) : CM_ENOMEM;

    *out = NULL;
    *n = 0;
    if (rc == 0 && (want & IB_BODY_WANT_ALL))
        rc = all_leaves(st, leaves, 0);
    if (rc == 0)
        rc = collect(body, leaves, out, n);
    if (rc == 0 && (want & IB_BODY_WANT_TEXT))
        rc = collect(body, text, out, n);
    if (rc == 0 && (want & IB_BODY_WANT_HTML))
        rc = collect(body, html, out, n);
    json_decref(st);
    json_decref(leaves);
    json_decref(text);
    json_decref(html);
    json_decref(att);
    if (rc < 0) {
        ib_body_fetch_free(out, *n);
        *n = 0;
        return cm_err_set(err, CM_ENOMEM, "body fetch list");
    }
    return 0;
}

/* Free the strings of entries [from, n) (the array itself stays). */
static void free_entries(struct ib_body_fetch *list, size_t from, size_t n)
{
    size_t i;

    for (i = from; i < n; i++) {
        free(list[i].encoding);
        free(list[i].charset);
        free(list[i].type);
    }
}

void ib_body_fetch_free(struct ib_body_fetch **list, size_t n)
{
    if (list == NULL || *list == NULL)
        return;
    free_entries(*list, 0, n);
    free(*list);
    *list = NULL;
}

int ib_body_preview_fetch(const struct mailimap_body *body, struct ib_body_fetch **out,
                          struct cm_err *err)
{
    struct ib_body_fetch *list = NULL;
    size_t n = 0, i;
    int rc = ib_body_fetch_list(body, IB_BODY_WANT_TEXT, &list, &n, err);

    *out = NULL;
    if (rc < 0)
        return rc;
    for (i = 0; i < n; i++)
        if (strcmp(list[i].type, "text/plain") == 0 || list[i].html)
            break;
    if (i == n) {
        ib_body_fetch_free(&list, n);
        return cm_err_set(err, CM_ENOENT, "no text part for a preview");
    }
    /* keep entry i: move it to the front and free the others */
    if (i > 0) {
        struct ib_body_fetch keep = list[i];

        list[i] = list[0];
        list[0] = keep;
    }
    free_entries(list, 1, n);
    *out = list;
    return 0;
}

/* Drop an incomplete UTF-8 sequence at the end (a partial fetch cut it). */
static size_t drop_cut_char(const char *s, size_t len)
{
    size_t i = len, k = 0;
    unsigned char c;

    while (i > 0 && k < 3 && ((unsigned char)s[i - 1] & 0xC0) == 0x80) {
        i--;
        k++;
    }
    if (i == 0)
        return len;
    c = (unsigned char)s[i - 1];
    if ((c >= 0xC2 && c <= 0xDF && k < 1) || (c >= 0xE0 && c <= 0xEF && k < 2) ||
        (c >= 0xF0 && c <= 0xF4 && k < 3))
        return i - 1;
    return len;
}

/* CRLF -> LF in place; returns the new length. */
static size_t crlf_to_lf(char *s, size_t len)
{
    size_t i, o = 0;

    for (i = 0; i < len; i++)
        if (!(s[i] == '\r' && i + 1 < len && s[i + 1] == '\n'))
            s[o++] = s[i];
    s[o] = '\0';
    return o;
}

int ib_body_value_json(const char *data, size_t len, const char *encoding, const char *charset,
                       size_t max_bytes, bool partial, json_t **out, struct cm_err *err)
{
    char *raw = NULL, *text = NULL;
    size_t rlen = 0, tlen = 0;
    bool problem = false, truncated = partial;
    int rc;

    *out = NULL;
    rc = ib_text_cte_decode(encoding, data, len, &raw, &rlen, &problem, err);
    if (rc == 0 && partial && charset != NULL &&
        (strcasecmp(charset, "utf-8") == 0 || strcasecmp(charset, "utf8") == 0))
        rlen = drop_cut_char(raw, rlen);
    if (rc == 0)
        rc = ib_text_charset_decode(charset, raw, rlen, &text, &tlen, &problem, err);
    free(raw);
    if (rc < 0)
        return rc;
    tlen = crlf_to_lf(text, tlen);
    if (max_bytes > 0 && tlen > max_bytes) {
        tlen = ib_text_utf8_cut(text, tlen, max_bytes);
        truncated = true;
    }
    *out = json_pack("{s:s%,s:b,s:b}", "value", text, tlen, "isEncodingProblem", problem,
                     "isTruncated", truncated);
    free(text);
    return *out != NULL ? 0 : cm_err_set(err, CM_ENOMEM, "body value");
}

bool ib_body_has_attachment(const struct mailimap_body *body)
{
    json_t *tree = body ? ib_body_structure_json(body, NULL) : NULL;
    json_t *text = NULL, *html = NULL, *att = NULL;
    struct cm_err err = CM_ERR_INIT;
    bool has = false;

    if (tree != NULL && ib_body_parts(tree, &text, &html, &att, &has, &err) < 0)
        has = false;
    json_decref(text);
    json_decref(html);
    json_decref(att);
    json_decref(tree);
    return has;
}

/* ---- one part by its IMAP section path --------------------------------- */

/* The leaf body at an IMAP part path ("1.2"), into message/rfc822 parts
   too, or NULL. */
static const struct mailimap_body *part_at(const struct mailimap_body *b, const char *path)
{
    while (b != NULL && *path != '\0') {
        char *end;
        unsigned long n = strtoul(path, &end, 10);

        if (n == 0 || (*end != '.' && *end != '\0'))
            return NULL;
        if (b->bd_type == MAILIMAP_BODY_MPART) {
            clistiter *it = clist_begin(b->bd_data.bd_body_mpart->bd_list);

            for (unsigned long i = 1; it != NULL && i < n; i++)
                it = clist_next(it);
            b = it ? clist_content(it) : NULL;
        } else if (n != 1) {
            return NULL;
        }
        path = *end == '.' ? end + 1 : end;
        if (*path != '\0' && b != NULL && b->bd_type == MAILIMAP_BODY_1PART &&
            b->bd_data.bd_body_1part->bd_type == MAILIMAP_BODY_TYPE_1PART_MSG)
            b = b->bd_data.bd_body_1part->bd_data.bd_type_msg->bd_body;
    }
    return b != NULL && b->bd_type == MAILIMAP_BODY_1PART ? b : NULL;
}

static const struct mailimap_body_fields *leaf_fields(const struct mailimap_body *b)
{
    const struct mailimap_body_type_1part *p = b->bd_data.bd_body_1part;

    switch (p->bd_type) {
    case MAILIMAP_BODY_TYPE_1PART_BASIC: return p->bd_data.bd_type_basic->bd_fields;
    case MAILIMAP_BODY_TYPE_1PART_MSG: return p->bd_data.bd_type_msg->bd_fields;
    case MAILIMAP_BODY_TYPE_1PART_TEXT: return p->bd_data.bd_type_text->bd_fields;
    }
    return NULL;
}

const char *ib_body_part_encoding(const struct mailimap_body *body, const char *part)
{
    const struct mailimap_body *leaf = body ? part_at(body, part) : NULL;
    const struct mailimap_body_fields *f = leaf ? leaf_fields(leaf) : NULL;

    return f ? encoding_name(f->bd_encoding) : NULL;
}
