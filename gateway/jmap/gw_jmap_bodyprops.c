/* gw_jmap_bodyprops.c - bodyProperties: validate, default, headers, filter. */
#include "gateway/jmap/gw_jmap_bodyprops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imapbridge/ib_fetch.h"
#include "imapbridge/ib_header.h"

/* RFC 8621 4.1.4 properties, and the Email/get default (4.2). */
static const char *const known[] = { "partId", "blobId",   "size",     "headers",
                                     "name",   "type",     "charset",  "disposition",
                                     "cid",    "language", "location", "subParts" };
static const char *const defaults[] = { "partId",      "blobId", "size",     "name",    "type",
                                        "charset",     "disposition", "cid", "language",
                                        "location" };
#define N(a) (sizeof(a) / sizeof((a)[0]))

static bool is_known(const char *p)
{
    struct ib_header_prop hp;

    for (size_t i = 0; i < N(known); i++)
        if (strcmp(p, known[i]) == 0)
            return true;
    return strncmp(p, "header:", 7) == 0 && ib_header_prop_parse(p, &hp, NULL) == 0;
}

static bool in_list(json_t *keep, const char *name)
{
    size_t i;
    json_t *v;

    json_array_foreach(keep, i, v) {
        if (strcmp(json_string_value(v), name) == 0)
            return true;
    }
    return false;
}

int gw_jbody_props(json_t *args, json_t **keep_r, bool *headers_r, struct cm_err *err)
{
    json_t *bp = json_object_get(args, "bodyProperties"), *v, *keep;
    size_t i;

    *keep_r = NULL;
    *headers_r = false;
    if (bp != NULL && !json_is_null(bp) && !json_is_array(bp))
        return cm_err_set(err, CM_EINVAL, "bodyProperties must be an array");
    json_array_foreach(bp, i, v) {
        if (!json_is_string(v) || !is_known(json_string_value(v)))
            return cm_err_set(err, CM_EINVAL, "unknown body property %s",
                              json_is_string(v) ? json_string_value(v) : "(not a string)");
        if (strncmp(json_string_value(v), "header", 6) == 0)
            *headers_r = true;
    }
    keep = json_is_array(bp) ? json_incref(bp) : json_array();
    for (i = 0; keep != NULL && !json_is_array(bp) && i < N(defaults); i++)
        json_array_append_new(keep, json_string(defaults[i]));
    if (keep == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    *keep_r = keep;
    return 0;
}

/* The part's "headers" array seen as a header list (strings borrowed). */
static bool headers_as_list(json_t *headers, struct ib_header_list *l)
{
    size_t i;
    json_t *h;

    l->count = 0;
    l->fields = calloc(json_array_size(headers) + 1, sizeof(*l->fields));
    if (l->fields == NULL)
        return false;
    json_array_foreach(headers, i, h) {
        const char *name = json_string_value(json_object_get(h, "name"));
        const char *value = json_string_value(json_object_get(h, "value"));

        if (name == NULL || value == NULL)
            continue;
        l->fields[l->count++] = (struct ib_header_field){ (char *)name, (char *)value,
                                                           strlen(value) };
    }
    return true;
}

static void add_header_forms(json_t *part, json_t *keep)
{
    struct ib_header_list l;
    struct ib_header_prop hp;
    size_t i;
    json_t *v;

    if (!headers_as_list(json_object_get(part, "headers"), &l))
        return;
    json_array_foreach(keep, i, v) {
        const char *p = json_string_value(v);

        if (strncmp(p, "header:", 7) == 0 && ib_header_prop_parse(p, &hp, NULL) == 0)
            json_object_set_new(part, p, ib_header_get_json(&l, hp.name, hp.form, hp.all));
    }
    free(l.fields);
}

void gw_jbody_filter(json_t *part, json_t *keep, bool tree)
{
    json_t *sub, *v;
    const char *k;
    void *tmp;
    size_t i;
    bool multipart;

    if (keep == NULL || !json_is_object(part))
        return;
    sub = json_object_get(part, "subParts");
    multipart = json_is_array(sub);
    json_array_foreach(sub, i, v)
        gw_jbody_filter(v, keep, tree);
    add_header_forms(part, keep);
    json_object_foreach_safe(part, tmp, k, v) {
        bool keep_sub = strcmp(k, "subParts") == 0 && tree && multipart;

        if (!keep_sub && !in_list(keep, k))
            json_object_del(part, k);
    }
}

json_t *gw_jbody_filtered_copies(json_t *parts, json_t *keep)
{
    json_t *out = json_array(), *v;
    size_t i;

    json_array_foreach(parts, i, v) {
        json_t *copy = json_deep_copy(v);

        gw_jbody_filter(copy, keep, false);
        json_array_append_new(out, copy);
    }
    return out;
}

const char *gw_jbody_headers_fn(const char *section, size_t *len, void *ctx)
{
    struct gw_jbody_headers *h = ctx;
    char sec[80], **grown;

    if (section != NULL)
        snprintf(sec, sizeof(sec), "%s.MIME", section);
    else
        snprintf(sec, sizeof(sec), "HEADER");
    for (size_t i = 0; h->fetched && i < h->n; i++) {
        if (strcmp(h->secs[i], sec) == 0) {
            *len = h->len[i];
            return h->data[i];
        }
    }
    if (h->fetched)
        return NULL;
    grown = realloc(h->secs, (h->n + 1) * sizeof(*h->secs));
    if (grown == NULL)
        return NULL;
    h->secs = grown;
    if ((h->secs[h->n] = strdup(sec)) != NULL)
        h->n++;
    return NULL;
}

int gw_jbody_headers_fetch(struct gw_jbody_headers *h, struct cm_err *err)
{
    int rc;

    h->fetched = true;
    if (h->n == 0)
        return 0;
    h->data = calloc(h->n, sizeof(*h->data));
    h->len = calloc(h->n, sizeof(*h->len));
    if (h->data == NULL || h->len == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    rc = ib_fetch_sections(h->s, h->uid, (const char *const *)h->secs, h->n, h->data, h->len,
                           err);
    return rc == CM_ENOENT ? 0 : rc; /* a message gone meanwhile: no headers */
}

void gw_jbody_headers_fini(struct gw_jbody_headers *h)
{
    for (size_t i = 0; i < h->n; i++) {
        free(h->secs[i]);
        if (h->data != NULL)
            free(h->data[i]);
    }
    free(h->secs);
    free(h->data);
    free(h->len);
    *h = (struct gw_jbody_headers){ .s = h->s, .uid = h->uid };
}
