/* gw_jemail_mime.c - JMAP Email create object -> MIME message (see
 * gw_jemail_mime.h). Strings the tree borrows live in b->keep (a JSON
 * array) or b->allocs until the message is built. */
#include "gateway/jmap/gw_jemail_mime.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gateway/gw_mime_build.h"
#include "imapbridge/ib_header.h"
#include "imapbridge/ib_smtp.h"

#define MAX_HEADERS 256
#define MAX_DEPTH 16

struct bld {
    const struct gw_jemail_env *env;
    struct cm_err *err;
    json_t *bad;       /* invalid property paths */
    json_t *not_found; /* blob ids not found */
    json_t *seen;      /* lower-case field name -> property that set it */
    json_t *keep;      /* strings the tree borrows */
    json_t *values;    /* bodyValues (borrowed) */
    json_t *used;      /* partIds referenced */
    void **allocs;
    size_t nallocs, capallocs;
    struct gw_mime_header hdr[MAX_HEADERS];
    size_t nhdr;
    int rc; /* a failure of the whole call */
};

static void *track(struct bld *b, void *p)
{
    if (p == NULL) {
        b->rc = cm_err_set(b->err, CM_ENOMEM, "out of memory");
        return NULL;
    }
    if (b->nallocs == b->capallocs) {
        size_t cap = b->capallocs ? 2 * b->capallocs : 16;
        void **n = realloc(b->allocs, cap * sizeof(*n));

        if (n == NULL) {
            free(p);
            b->rc = cm_err_set(b->err, CM_ENOMEM, "out of memory");
            return NULL;
        }
        b->allocs = n;
        b->capallocs = cap;
    }
    b->allocs[b->nallocs++] = p;
    return p;
}

/* A string kept alive with the builder (borrowed until it ends). */
static const char *keep(struct bld *b, const char *s)
{
    json_t *j = json_string(s);

    if (j == NULL || json_array_append_new(b->keep, j) < 0) {
        b->rc = cm_err_set(b->err, CM_ENOMEM, "out of memory");
        return NULL;
    }
    return json_string_value(j);
}

static void bad(struct bld *b, const char *path)
{
    json_array_append_new(b->bad, json_string(path));
}

static void badf(struct bld *b, const char *prefix, const char *key)
{
    char path[512];

    snprintf(path, sizeof(path), "%s%s", prefix, key);
    bad(b, path);
}

static struct gw_mime_header *add_header(struct bld *b, const char *prop, const char *name,
                                         enum gw_mime_hkind kind)
{
    char low[256];
    size_t i;

    for (i = 0; name[i] && i + 1 < sizeof(low); i++)
        low[i] = (char)tolower((unsigned char)name[i]);
    low[i] = '\0';
    if (strncmp(low, "content-", 8) == 0 || strcmp(low, "mime-version") == 0) {
        bad(b, prop); /* the builder writes these from the parts */
        return NULL;
    }
    if (json_object_get(b->seen, low) != NULL) {
        bad(b, json_string_value(json_object_get(b->seen, low)));
        bad(b, prop);
        return NULL;
    }
    json_object_set_new(b->seen, low, json_string(prop));
    if (b->nhdr == MAX_HEADERS) {
        bad(b, prop);
        return NULL;
    }
    b->hdr[b->nhdr] = (struct gw_mime_header){.name = keep(b, name), .kind = kind};
    return &b->hdr[b->nhdr++];
}

/* A second instance of a field already added (header:X:all). */
static struct gw_mime_header *more_header(struct bld *b, const struct gw_mime_header *like)
{
    if (b->nhdr == MAX_HEADERS)
        return NULL;
    b->hdr[b->nhdr] = *like;
    return &b->hdr[b->nhdr++];
}

/* EmailAddress[] -> addrs; false when malformed. */
/* One EmailAddress object into a; false when malformed. */
static bool one_addr(json_t *x, struct gw_mime_addr *a)
{
    json_t *name = json_object_get(x, "name");

    a->email = json_string_value(json_object_get(x, "email"));
    a->name = json_string_value(name);
    return json_is_object(x) && a->email != NULL && ib_smtp_addr_valid(a->email) &&
           (name == NULL || json_is_null(name) || a->name != NULL);
}

static bool addrs_of(struct bld *b, json_t *v, struct gw_mime_header *h)
{
    struct gw_mime_addr *a;
    size_t i;
    json_t *x;

    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > 1000)
        return false;
    a = track(b, calloc(json_array_size(v), sizeof(*a)));
    if (a == NULL)
        return false;
    json_array_foreach(v, i, x)
    {
        if (!one_addr(x, &a[i]))
            return false;
    }
    h->addrs = a;
    h->naddrs = json_array_size(v);
    return true;
}

/* EmailAddressGroup[] (RFC 8621 §4.1.2.4): a named group's addresses carry
   its name (an empty named group is one entry without email); a null-named
   group's are plain addresses. */
static bool groups_of(struct bld *b, json_t *v, struct gw_mime_header *h)
{
    struct gw_mime_addr *a;
    size_t i, j, n = 0;
    json_t *g, *x;

    if (!json_is_array(v))
        return false;
    json_array_foreach(v, i, g)
    {
        json_t *list = json_object_get(g, "addresses"), *name = json_object_get(g, "name");

        if (!json_is_object(g) || !json_is_array(list) ||
            (name != NULL && !json_is_null(name) && !json_is_string(name)))
            return false;
        n += json_array_size(list) > 0 ? json_array_size(list) : json_is_string(name);
    }
    if (n == 0 || n > 1000 || (a = track(b, calloc(n, sizeof(*a)))) == NULL)
        return false;
    n = 0;
    json_array_foreach(v, i, g)
    {
        const char *group = json_string_value(json_object_get(g, "name"));
        json_t *list = json_object_get(g, "addresses");

        if (json_array_size(list) == 0 && group != NULL)
            a[n++].group = group;
        json_array_foreach(list, j, x)
        {
            if (!one_addr(x, &a[n]))
                return false;
            a[n++].group = group;
        }
    }
    h->addrs = a;
    h->naddrs = n;
    return true;
}

/* A non-empty String[] as "<s1><sep><s2>..." (first before the first):
   NULL when malformed, or a string holds one of `bad`. */
static const char *bracketed(struct bld *b, json_t *v, const char *first, const char *sep,
                             const char *bad)
{
    char buf[4096];
    size_t i, n = 0;
    json_t *x;

    if (!json_is_array(v) || json_array_size(v) == 0)
        return NULL;
    json_array_foreach(v, i, x)
    {
        const char *s = json_string_value(x);
        int w;

        if (s == NULL || strpbrk(s, bad))
            return NULL;
        w = snprintf(buf + n, sizeof(buf) - n, "%s<%s>", i ? sep : first, s);
        if (w < 0 || (size_t)w >= sizeof(buf) - n)
            return NULL;
        n += (size_t)w;
    }
    return keep(b, buf);
}

/* String[] of ids (without <>) -> "<a> <b>"; NULL when malformed. */
static const char *ids_of(struct bld *b, json_t *v)
{
    return bracketed(b, v, "", " ", "<> \r\n");
}

/* String[] of URLs -> " <u1>,\r\n <u2>"; NULL when malformed. */
static const char *urls_of(struct bld *b, json_t *v)
{
    return bracketed(b, v, " ", ",\r\n ", "<> \r\n");
}

static const char *date_of(struct bld *b, json_t *v)
{
    char d[64], raw[70];

    if (!json_is_string(v) || gw_jemail_date(json_string_value(v), d, sizeof(d)) < 0)
        return NULL;
    snprintf(raw, sizeof(raw), " %s", d);
    return keep(b, raw);
}

/* One value of a header in form `form` into h; false when malformed. */
static bool form_value(struct bld *b, enum ib_header_form form, json_t *v, struct gw_mime_header *h)
{
    switch (form) {
    case IB_HF_RAW:
    case IB_HF_TEXT:
        h->kind = form == IB_HF_RAW ? GW_MIME_H_RAW : GW_MIME_H_TEXT;
        h->value = json_string_value(v);
        return h->value != NULL;
    case IB_HF_ADDRESSES: h->kind = GW_MIME_H_ADDRS; return addrs_of(b, v, h);
    case IB_HF_GROUPED_ADDRESSES: h->kind = GW_MIME_H_ADDRS; return groups_of(b, v, h);
    case IB_HF_MESSAGE_IDS: h->kind = GW_MIME_H_IDS; return (h->value = ids_of(b, v)) != NULL;
    case IB_HF_DATE: h->kind = GW_MIME_H_RAW; return (h->value = date_of(b, v)) != NULL;
    case IB_HF_URLS: h->kind = GW_MIME_H_RAW; return (h->value = urls_of(b, v)) != NULL;
    }
    return false;
}

/* "header:Name[:asForm][:all]" of the email or of a part (hdrs). */
static void header_prop(struct bld *b, const char *prop, json_t *v)
{
    struct ib_header_prop hp;
    struct gw_mime_header *h;
    json_t *x;
    size_t i;

    if (json_is_null(v))
        return;
    if (ib_header_prop_parse(prop, &hp, NULL) < 0) {
        bad(b, prop);
        return;
    }
    if ((h = add_header(b, prop, hp.name, GW_MIME_H_RAW)) == NULL)
        return;
    if (!hp.all) {
        if (!form_value(b, hp.form, v, h))
            bad(b, prop);
        return;
    }
    if (!json_is_array(v) || json_array_size(v) == 0) {
        bad(b, prop);
        return;
    }
    json_array_foreach(v, i, x)
    {
        if (i > 0 && (h = more_header(b, h)) == NULL)
            break;
        if (!form_value(b, hp.form, x, h)) {
            bad(b, prop);
            return;
        }
    }
}

/* The convenience properties (RFC 8621 §4.1.3) and their fields. */
static const struct {
    const char *prop, *field;
    enum ib_header_form form;
} convenience[] = {
    {"from", "From", IB_HF_ADDRESSES},
    {"sender", "Sender", IB_HF_ADDRESSES},
    {"replyTo", "Reply-To", IB_HF_ADDRESSES},
    {"to", "To", IB_HF_ADDRESSES},
    {"cc", "Cc", IB_HF_ADDRESSES},
    {"bcc", "Bcc", IB_HF_ADDRESSES},
    {"subject", "Subject", IB_HF_TEXT},
    {"sentAt", "Date", IB_HF_DATE},
    {"messageId", "Message-ID", IB_HF_MESSAGE_IDS},
    {"inReplyTo", "In-Reply-To", IB_HF_MESSAGE_IDS},
    {"references", "References", IB_HF_MESSAGE_IDS},
};
#define NCONV (sizeof(convenience) / sizeof(convenience[0]))

static bool convenience_prop(struct bld *b, const char *prop, json_t *v)
{
    for (size_t i = 0; i < NCONV; i++) {
        struct gw_mime_header *h;

        if (strcmp(prop, convenience[i].prop) != 0)
            continue;
        if (json_is_null(v))
            return true;
        h = add_header(b, prop, convenience[i].field, GW_MIME_H_RAW);
        if (h != NULL && !form_value(b, convenience[i].form, v, h))
            bad(b, prop);
        return true;
    }
    return false;
}

/* "headers": EmailHeader[] written raw. */
static void headers_prop(struct bld *b, const char *prop, json_t *v)
{
    json_t *x;
    size_t i;

    if (!json_is_array(v)) {
        bad(b, prop);
        return;
    }
    json_array_foreach(v, i, x)
    {
        const char *name = json_string_value(json_object_get(x, "name"));
        const char *value = json_string_value(json_object_get(x, "value"));
        struct gw_mime_header *h = NULL;
        char low[64];

        /* a field given twice in headers is fine; twice across properties not */
        snprintf(low, sizeof(low), "%.60s", name ? name : "");
        for (char *p = low; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        if (name == NULL || value == NULL) {
            bad(b, prop);
            return;
        }
        if (json_object_get(b->seen, low) != NULL &&
            strcmp(json_string_value(json_object_get(b->seen, low)), prop) == 0)
            h = more_header(b, &(struct gw_mime_header){.name = keep(b, name)});
        else
            h = add_header(b, prop, name, GW_MIME_H_RAW);
        if (h == NULL)
            return;
        h->kind = GW_MIME_H_RAW;
        h->value = value;
    }
}

/* ---- body parts ---- */

static bool is_type(const char *t, const char *want)
{
    return t != NULL && strcasecmp(t, want) == 0;
}

static const char *opt_str(struct bld *b, json_t *part, const char *key, const char *path)
{
    json_t *v = json_object_get(part, key);

    if (v != NULL && !json_is_null(v) && !json_is_string(v))
        badf(b, path, key);
    return json_string_value(v);
}

/* Content-Language from a String[]. */
static const char *language_of(struct bld *b, json_t *v, const char *path)
{
    char buf[512];
    size_t i, n = 0;
    json_t *x;

    if (v == NULL || json_is_null(v))
        return NULL;
    buf[0] = '\0';
    json_array_foreach(v, i, x)
    {
        const char *s = json_string_value(x);
        int w = s ? snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? ", " : "", s) : -1;

        if (w < 0 || (size_t)w >= sizeof(buf) - n) {
            badf(b, path, "language");
            return NULL;
        }
        n += (size_t)w;
    }
    if (!json_is_array(v) || n == 0) {
        badf(b, path, "language");
        return NULL;
    }
    return keep(b, buf);
}

static void part_of(struct bld *b, json_t *j, const char *path, const char *deftype,
                    struct gw_mime_part *p, int depth);

static void subparts_of(struct bld *b, json_t *subs, const char *path, struct gw_mime_part *p,
                        int depth)
{
    struct gw_mime_part *sub;
    char sp[512];
    json_t *x;
    size_t i;

    if (!json_is_array(subs) || json_array_size(subs) == 0 || depth >= MAX_DEPTH ||
        (sub = track(b, calloc(json_array_size(subs), sizeof(*sub)))) == NULL) {
        badf(b, path, "subParts");
        return;
    }
    json_array_foreach(subs, i, x)
    {
        snprintf(sp, sizeof(sp), "%ssubParts/%zu/", path, i);
        part_of(b, x, sp, "text/plain", &sub[i], depth + 1);
    }
    p->sub = sub;
    p->nsub = json_array_size(subs);
}

/* The text of bodyValues[partId]. */
static void value_of(struct bld *b, const char *pid, const char *path, struct gw_mime_part *p)
{
    json_t *bv = json_object_get(b->values, pid);
    json_t *enc = json_object_get(bv, "isEncodingProblem"),
           *tr = json_object_get(bv, "isTruncated");
    const char *text = json_string_value(json_object_get(bv, "value"));

    if (text == NULL) {
        badf(b, path, "partId");
        return;
    }
    if (json_is_true(enc) || json_is_true(tr) || (enc && !json_is_boolean(enc)) ||
        (tr && !json_is_boolean(tr)))
        badf(b, "bodyValues/", pid);
    json_object_set_new(b->used, pid, json_true());
    p->data = (const unsigned char *)text;
    p->len = json_string_length(json_object_get(bv, "value"));
}

static void blob_of(struct bld *b, const char *blob, const char *path, struct gw_mime_part *p)
{
    struct cm_err e = CM_ERR_INIT;
    char *data = NULL;
    size_t len = 0;
    int rc = b->env->blob ? b->env->blob(b->env->blob_ctx, blob, &data, &len, &e)
                          : cm_err_set(&e, CM_ENOENT, "no blobs");

    if (rc == CM_ENOENT) {
        json_array_append_new(b->not_found, json_string(blob));
        return;
    }
    if (rc < 0) {
        b->rc = cm_err_set(b->err, e.code, "%s", e.msg);
        return;
    }
    if (track(b, data) != NULL) {
        p->data = (const unsigned char *)data;
        p->len = len;
        p->exact = true; /* an attachment's bytes come back as they went in */
    }
    (void)path;
}

static const char *const part_keys[] = {"partId",   "blobId",   "size",     "headers",
                                        "name",     "type",     "charset",  "cid",
                                        "language", "location", "subParts", "disposition"};

static void part_headers(struct bld *b, json_t *j, const char *path, struct gw_mime_part *p)
{
    struct gw_mime_header *h = track(b, calloc(MAX_HEADERS, sizeof(*h)));
    json_t *v, *list = json_object_get(j, "headers");
    const char *k;
    size_t n = 0, i;

    if (h == NULL)
        return;
    if (list != NULL && !json_is_array(list))
        badf(b, path, "headers");
    json_array_foreach(list, i, v)
    {
        const char *name = json_string_value(json_object_get(v, "name"));

        if (name == NULL || strncasecmp(name, "content-", 8) == 0 || n == MAX_HEADERS ||
            !json_is_string(json_object_get(v, "value"))) {
            badf(b, path, "headers");
            return;
        }
        h[n++] = (struct gw_mime_header){name, GW_MIME_H_RAW,
                                         json_string_value(json_object_get(v, "value")), NULL, 0};
    }
    json_object_foreach(j, k, v)
    {
        struct ib_header_prop hp;
        char full[512];

        if (strncmp(k, "header:", 7) != 0 || json_is_null(v))
            continue;
        snprintf(full, sizeof(full), "%s%s", path, k);
        if (ib_header_prop_parse(k, &hp, NULL) < 0 || hp.all || n == MAX_HEADERS ||
            strncasecmp(hp.name, "content-", 8) == 0 || list != NULL) {
            bad(b, full);
            continue;
        }
        h[n].name = keep(b, hp.name);
        if (!form_value(b, hp.form, v, &h[n]))
            bad(b, full);
        n++;
    }
    p->headers = h;
    p->nheaders = n;
}

static void part_keys_check(struct bld *b, json_t *j, const char *path)
{
    const char *k;
    json_t *v;

    json_object_foreach(j, k, v)
    {
        bool ok = strncmp(k, "header:", 7) == 0;

        for (size_t i = 0; !ok && i < sizeof(part_keys) / sizeof(part_keys[0]); i++)
            ok = strcmp(k, part_keys[i]) == 0;
        if (!ok)
            badf(b, path, k);
    }
}

static void part_of(struct bld *b, json_t *j, const char *path, const char *deftype,
                    struct gw_mime_part *p, int depth)
{
    const char *pid, *blob, *cs;
    json_t *subs = json_object_get(j, "subParts");

    if (!json_is_object(j)) {
        bad(b, path);
        return;
    }
    part_keys_check(b, j, path);
    pid = opt_str(b, j, "partId", path);
    blob = opt_str(b, j, "blobId", path);
    p->type = opt_str(b, j, "type", path);
    p->name = opt_str(b, j, "name", path);
    p->disposition = opt_str(b, j, "disposition", path);
    p->cid = opt_str(b, j, "cid", path);
    p->location = opt_str(b, j, "location", path);
    p->language = language_of(b, json_object_get(j, "language"), path);
    cs = opt_str(b, j, "charset", path);
    part_headers(b, j, path, p);
    if (p->type == NULL)
        p->type = subs != NULL ? "multipart/mixed" : pid ? deftype : "application/octet-stream";
    if ((pid != NULL) + (blob != NULL) + (subs != NULL && !json_is_null(subs)) != 1) {
        badf(b, path, pid && blob ? "blobId" : "partId");
        return;
    }
    if (subs != NULL) {
        if (strncasecmp(p->type, "multipart/", 10) != 0)
            badf(b, path, "type");
        subparts_of(b, subs, path, p, depth);
    } else if (pid != NULL) {
        if (strncasecmp(p->type, "text/", 5) != 0)
            badf(b, path, "type");
        if (cs != NULL && strcasecmp(cs, "utf-8") != 0)
            badf(b, path, "charset"); /* bodyValues are written as UTF-8 */
        value_of(b, pid, path, p);
    } else {
        if (strncasecmp(p->type, "multipart/", 10) == 0)
            badf(b, path, "type");
        p->charset = cs;
        blob_of(b, blob, path, p);
    }
}

/* ---- textBody / htmlBody / attachments ---- */

static struct gw_mime_part *parts_new(struct bld *b, size_t n)
{
    return track(b, calloc(n ? n : 1, sizeof(struct gw_mime_part)));
}

/* textBody or htmlBody: at most one part of type want. */
static bool one_body(struct bld *b, json_t *list, const char *prop, const char *want,
                     struct gw_mime_part *p)
{
    char path[64];

    if (list == NULL || json_is_null(list))
        return false;
    if (!json_is_array(list) || json_array_size(list) > 1) {
        bad(b, prop);
        return false;
    }
    if (json_array_size(list) == 0)
        return false;
    snprintf(path, sizeof(path), "%s/0/", prop);
    part_of(b, json_array_get(list, 0), path, want, p, 1);
    if (p->type != NULL && !is_type(p->type, want))
        badf(b, path, "type");
    return true;
}

static bool is_inline_cid(json_t *a)
{
    return json_is_string(json_object_get(a, "cid")) &&
           is_type(json_string_value(json_object_get(a, "disposition")), "inline");
}

static void wrap(struct gw_mime_part *w, const char *type, struct gw_mime_part *sub, size_t n)
{
    memset(w, 0, sizeof(*w));
    w->type = type;
    w->sub = sub;
    w->nsub = n;
}

/* The tree of the textBody/htmlBody/attachments form (RFC 8621 §4.6):
   mixed[alternative[text, related[html, inline cid parts]], attachments]
   with each level left out when it would hold one part. */
static void flat_body(struct bld *b, json_t *email, struct gw_mime_part *root)
{
    json_t *atts = json_object_get(email, "attachments"), *a;
    size_t na = json_is_array(atts) ? json_array_size(atts) : 0, i, ni = 0, nm = 0;
    struct gw_mime_part *text = parts_new(b, 1), *html = parts_new(b, 1), *rel, *mix, *alt;
    bool has_text, has_html;
    char path[64];

    if (atts != NULL && !json_is_null(atts) && !json_is_array(atts))
        bad(b, "attachments");
    rel = parts_new(b, na + 1);
    mix = parts_new(b, na + 1);
    alt = parts_new(b, 2);
    if (text == NULL || html == NULL || rel == NULL || mix == NULL || alt == NULL)
        return;
    has_text = one_body(b, json_object_get(email, "textBody"), "textBody", "text/plain", text);
    has_html = one_body(b, json_object_get(email, "htmlBody"), "htmlBody", "text/html", html);
    rel[ni++] = *html;
    json_array_foreach(atts, i, a)
    {
        bool inl = has_html && is_inline_cid(a);
        struct gw_mime_part *p = inl ? &rel[ni++] : &mix[1 + nm++];

        snprintf(path, sizeof(path), "attachments/%zu/", i);
        part_of(b, a, path, "application/octet-stream", p, 1);
    }
    if (has_html && ni > 1)
        wrap(html, "multipart/related", rel, ni);
    if (has_text && has_html) {
        alt[0] = *text;
        alt[1] = *html;
        wrap(&mix[0], "multipart/alternative", alt, 2);
    } else if (has_text || has_html) {
        mix[0] = has_text ? *text : *html;
    } else if (nm == 0) {
        mix[0] = (struct gw_mime_part){.type = "text/plain", .data = (const unsigned char *)""};
    }
    if (has_text || has_html || nm == 0) {
        if (nm == 0)
            *root = mix[0];
        else
            wrap(root, "multipart/mixed", mix, nm + 1);
    } else {
        wrap(root, "multipart/mixed", mix + 1, nm);
    }
}

/* ---- the email object ---- */

static const char *const server_set[] = {"id",   "blobId",        "threadId",
                                         "size", "hasAttachment", "preview"};

static void meta_checks(struct bld *b, json_t *email, json_t **set_err)
{
    json_t *boxes = json_object_get(email, "mailboxIds"), *kw = json_object_get(email, "keywords");
    json_t *at = json_object_get(email, "receivedAt"), *v;
    const char *k;

    if (!json_is_object(boxes) || json_object_size(boxes) == 0)
        bad(b, "mailboxIds");
    else if (json_object_size(boxes) > 1 && !b->env->labels && *set_err == NULL)
        *set_err = json_pack("{s:s,s:s}", "type", "tooManyMailboxes", "description",
                             "an IMAP message is in one mailbox (maxMailboxesPerEmail is 1)");
    json_object_foreach(boxes, k, v)
    {
        if (!json_is_true(v))
            bad(b, "mailboxIds");
    }
    if (kw != NULL && !json_is_null(kw) && !json_is_object(kw))
        bad(b, "keywords");
    json_object_foreach(kw, k, v)
    {
        if (!json_is_true(v))
            badf(b, "keywords/", k);
    }
    if (at != NULL && !json_is_null(at) &&
        (!json_is_string(at) || gw_jemail_utcdate(json_string_value(at)) < 0))
        bad(b, "receivedAt");
}

static void top_props(struct bld *b, json_t *email)
{
    static const char *const other[] = {"mailboxIds", "keywords", "receivedAt",  "bodyStructure",
                                        "textBody",   "htmlBody", "attachments", "bodyValues"};
    const char *k;
    json_t *v;

    json_object_foreach(email, k, v)
    {
        bool known = false;

        for (size_t i = 0; i < sizeof(server_set) / sizeof(server_set[0]); i++) {
            if (strcmp(k, server_set[i]) == 0)
                bad(b, k), known = true;
        }
        for (size_t i = 0; !known && i < sizeof(other) / sizeof(other[0]); i++)
            known = strcmp(k, other[i]) == 0;
        if (known)
            continue;
        if (strncmp(k, "header:", 7) == 0)
            header_prop(b, k, v);
        else if (strcmp(k, "headers") == 0)
            headers_prop(b, k, v);
        else if (!convenience_prop(b, k, v))
            bad(b, k);
    }
}

/* The Message-ID domain: env's, else the From address's. */
static const char *msgid_domain(const struct bld *b)
{
    for (size_t i = 0; b->env->domain == NULL && i < b->nhdr; i++) {
        const char *at;

        if (b->hdr[i].kind == GW_MIME_H_ADDRS && strcasecmp(b->hdr[i].name, "From") == 0 &&
            b->hdr[i].naddrs > 0 && b->hdr[i].addrs[0].email != NULL &&
            (at = strrchr(b->hdr[i].addrs[0].email, '@')) != NULL)
            return at + 1;
    }
    return b->env->domain ? b->env->domain : "jmapgate.invalid";
}

static void server_headers(struct bld *b, char *msgid, size_t cap)
{
    struct gw_mime_header *h;
    char d[64];
    struct tm tm;

    if (json_object_get(b->seen, "date") == NULL && (h = add_header(b, "", "Date", 0)) != NULL) {
        gmtime_r(&b->env->now, &tm);
        strftime(d, sizeof(d), " %a, %d %b %Y %H:%M:%S +0000", &tm);
        h->value = keep(b, d);
    }
    if (json_object_get(b->seen, "message-id") == NULL &&
        (h = add_header(b, "", "Message-ID", GW_MIME_H_IDS)) != NULL) {
        gw_mime_message_id(msgid_domain(b), msgid, cap);
        h->value = msgid;
    }
}

static void body_checks(struct bld *b, json_t *email, struct gw_mime_part *root)
{
    json_t *bs = json_object_get(email, "bodyStructure"), *v;
    bool flat = json_object_get(email, "textBody") || json_object_get(email, "htmlBody") ||
                json_object_get(email, "attachments");
    const char *k;

    b->values = json_object_get(email, "bodyValues");
    if (b->values != NULL && !json_is_object(b->values))
        bad(b, "bodyValues");
    if (bs != NULL && flat) {
        bad(b, "bodyStructure");
        return;
    }
    if (bs != NULL)
        part_of(b, bs, "bodyStructure/", "text/plain", root, 0);
    else
        flat_body(b, email, root);
    if (json_array_size(b->bad) > 0)
        return; /* an invalid part may be what referenced them */
    json_object_foreach(b->values, k, v)
    {
        if (json_object_get(b->used, k) == NULL)
            badf(b, "bodyValues/", k);
    }
}

static json_t *set_error_of(struct bld *b)
{
    json_t *e;

    if (json_array_size(b->bad) > 0) {
        e = json_pack("{s:s,s:s,s:O}", "type", "invalidProperties", "description",
                      "invalid properties (RFC 8621 section 4.6)", "properties", b->bad);
        return e;
    }
    if (json_array_size(b->not_found) > 0)
        return json_pack("{s:s,s:O}", "type", "blobNotFound", "notFound", b->not_found);
    return NULL;
}

static void bld_fini(struct bld *b)
{
    for (size_t i = 0; i < b->nallocs; i++)
        free(b->allocs[i]);
    free(b->allocs);
    json_decref(b->bad);
    json_decref(b->not_found);
    json_decref(b->seen);
    json_decref(b->keep);
    json_decref(b->used);
}

int gw_jemail_build(json_t *email, const struct gw_jemail_env *env, char **out_r, size_t *len_r,
                    json_t **set_err_r, struct cm_err *err)
{
    struct bld b = {.env = env, .err = err};
    struct gw_mime_part root;
    char msgid[300];
    int rc;

    *out_r = NULL;
    *set_err_r = NULL;
    memset(&root, 0, sizeof(root));
    b.bad = json_array();
    b.not_found = json_array();
    b.seen = json_object();
    b.keep = json_array();
    b.used = json_object();
    if (!json_is_object(email)) {
        *set_err_r = json_pack("{s:s,s:s}", "type", "invalidProperties", "description",
                               "an Email must be an object");
        bld_fini(&b);
        return 0;
    }
    meta_checks(&b, email, set_err_r);
    top_props(&b, email);
    body_checks(&b, email, &root);
    server_headers(&b, msgid, sizeof(msgid));
    rc = b.rc;
    if (rc == 0 && *set_err_r == NULL)
        *set_err_r = set_error_of(&b);
    if (rc == 0 && *set_err_r == NULL) {
        rc = gw_mime_build_tree(b.hdr, b.nhdr, &root, env->max_bytes, out_r, len_r, err);
        if (rc == CM_EINVAL || rc == CM_ELIMIT) {
            *set_err_r =
                json_pack("{s:s,s:s}", "type", rc == CM_ELIMIT ? "tooLarge" : "invalidProperties",
                          "description", err->msg);
            cm_err_clear(err);
            rc = 0;
        }
    }
    bld_fini(&b);
    return rc;
}

int gw_jemail_date(const char *t, char *dst, size_t cap)
{
    static const char *const wd[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const mo[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm = {0};
    int n = 0, oh = 0, om = 0;
    char sign = '+';
    time_t when;

    if (t == NULL ||
        sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &n) != 6 ||
        n != 19)
        return -1;
    if (t[n] == '.')
        for (n++; t[n] >= '0' && t[n] <= '9'; n++)
            ;
    if (strcmp(t + n, "Z") != 0 &&
        !(strlen(t + n) == 6 && (t[n] == '+' || t[n] == '-') && t[n + 3] == ':' &&
          sscanf(t + n + 1, "%2d:%2d", &oh, &om) == 2 && oh < 24 && om < 60))
        return -1;
    if (t[n] == '-')
        sign = '-';
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60 || tm.tm_year < 1900)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    when = timegm(&tm); /* the local fields' weekday */
    gmtime_r(&when, &tm);
    snprintf(dst, cap, "%s, %02d %s %04d %02d:%02d:%02d %c%02d%02d", wd[tm.tm_wday], tm.tm_mday,
             mo[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, sign, oh, om);
    return 0;
}

int64_t gw_jemail_utcdate(const char *t)
{
    struct tm tm = {0};
    char d[64];

    if (t == NULL || strlen(t) < 20 || t[strlen(t) - 1] != 'Z' ||
        gw_jemail_date(t, d, sizeof(d)) < 0 ||
        sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) != 6)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm);
}
