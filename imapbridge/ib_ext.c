/* ib_ext.c - X-GUID, OBJECTID and ESEARCH parsers for libetpan. */
#include "imapbridge/ib_ext.h"
#include "imapbridge/ib_metadata.h"

#include "common/cm_err.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* libetpan exports its parser building blocks but installs no header for
   them; these are the 1.9.4 signatures (mailimap_parser.h,
   mailimap_keywords.h). */
int mailimap_space_parse(mailstream *fd, MMAPString *buffer, size_t *indx);
int mailimap_token_case_insensitive_parse(mailstream *fd, MMAPString *buffer, size_t *indx,
                                          const char *token);
int mailimap_oparenth_parse(mailstream *fd, MMAPString *buffer,
                            struct mailimap_parser_context *ctx, size_t *indx);
int mailimap_cparenth_parse(mailstream *fd, MMAPString *buffer,
                            struct mailimap_parser_context *ctx, size_t *indx);
void mailimap_astring_free(char *astring);
int mailimap_astring_parse(mailstream *fd, MMAPString *buffer,
                           struct mailimap_parser_context *ctx, size_t *indx, char **result,
                           size_t progr_rate, progress_function *progr_fun);
int mailimap_atom_parse(mailstream *fd, MMAPString *buffer, struct mailimap_parser_context *ctx,
                        size_t *indx, char **result, size_t progr_rate,
                        progress_function *progr_fun);
int mailimap_number_parse(mailstream *fd, MMAPString *buffer, size_t *indx, uint32_t *result);
int mailimap_uint64_parse(mailstream *fd, MMAPString *buffer,
                          struct mailimap_parser_context *ctx, size_t *indx, uint64_t *result);
int mailimap_set_parse(mailstream *fd, MMAPString *buffer, struct mailimap_parser_context *ctx,
                       size_t *indx, struct mailimap_set **result);
int mailimap_nstring_parse(mailstream *fd, MMAPString *buffer,
                           struct mailimap_parser_context *ctx, size_t *indx, char **result,
                           size_t *result_len, size_t progr_rate, progress_function *progr_fun);
int mailimap_nil_parse(mailstream *fd, MMAPString *buffer, struct mailimap_parser_context *ctx,
                       size_t *indx);

struct cursor {
    mailstream *fd;
    MMAPString *buf;
    struct mailimap_parser_context *ctx;
    size_t pos;
};

static int sp(struct cursor *c)
{
    return mailimap_space_parse(c->fd, c->buf, &c->pos);
}

static int token(struct cursor *c, const char *t)
{
    return mailimap_token_case_insensitive_parse(c->fd, c->buf, &c->pos, t);
}

/* Does the buffer at pos hold `word` followed by a space (so "X-GUID"
   does not match "X-GUIDS")? Checked before consuming anything. */
static bool at_keyword(const struct cursor *c, const char *word)
{
    size_t n = strlen(word);

    return c->pos + n < c->buf->len && strncasecmp(c->buf->str + c->pos, word, n) == 0 &&
           c->buf->str[c->pos + n] == ' ';
}

bool ib_ext_objectid_valid(const char *s)
{
    size_t n = 0;

    for (; s[n] != '\0'; n++) {
        char ch = s[n];

        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-'))
            return false;
    }
    return n >= 1 && n <= 255;
}

/* KEYWORD SP astring */
static int parse_astring_item(struct cursor *c, const char *kw, char **out)
{
    int r = token(c, kw);

    if (r == MAILIMAP_NO_ERROR)
        r = sp(c);
    if (r == MAILIMAP_NO_ERROR)
        r = mailimap_astring_parse(c->fd, c->buf, c->ctx, &c->pos, out, 0, NULL);
    if (r == MAILIMAP_NO_ERROR) {
        /* A quoted or literal astring lives in an MMAPString that libetpan
           registered with mmap_string_ref: free() would leak it and leave
           a dangling entry in its table (found by fuzz_ib_ext). Copy it
           into our allocator, as for nstring below. */
        char *copy = strdup(*out);

        mailimap_astring_free(*out);
        *out = copy;
        if (copy == NULL)
            r = MAILIMAP_ERROR_MEMORY;
    }
    return r;
}

/* KEYWORD SP "(" objectid ")"   or, when nil_ok, KEYWORD SP NIL */
static int parse_objectid_item(struct cursor *c, const char *kw, bool nil_ok, char **out)
{
    char *id = NULL;
    int r = token(c, kw);

    if (r == MAILIMAP_NO_ERROR)
        r = sp(c);
    if (r != MAILIMAP_NO_ERROR)
        return r;
    if (nil_ok && mailimap_nil_parse(c->fd, c->buf, c->ctx, &c->pos) == MAILIMAP_NO_ERROR) {
        *out = NULL;
        return MAILIMAP_NO_ERROR;
    }
    r = mailimap_oparenth_parse(c->fd, c->buf, c->ctx, &c->pos);
    if (r == MAILIMAP_NO_ERROR)
        r = mailimap_atom_parse(c->fd, c->buf, c->ctx, &c->pos, &id, 0, NULL);
    if (r == MAILIMAP_NO_ERROR)
        r = mailimap_cparenth_parse(c->fd, c->buf, c->ctx, &c->pos);
    if (r == MAILIMAP_NO_ERROR && !ib_ext_objectid_valid(id))
        r = MAILIMAP_ERROR_PARSE;
    if (r != MAILIMAP_NO_ERROR) {
        free(id);
        return r;
    }
    *out = id;
    return MAILIMAP_NO_ERROR;
}

static void labels_free(struct ib_ext_labels *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->labels[i]);
    free(l->labels);
    free(l);
}

static int labels_add(struct ib_ext_labels *l, char *label)
{
    char **nl = label ? realloc(l->labels, (l->n + 1) * sizeof(*nl)) : NULL;

    if (nl == NULL) {
        free(label);
        return MAILIMAP_ERROR_MEMORY;
    }
    l->labels = nl;
    l->labels[l->n++] = label;
    return MAILIMAP_NO_ERROR;
}

/* One label: "\" atom (a system label), or an astring. */
static int parse_label(struct cursor *c, struct ib_ext_labels *l)
{
    char *atom = NULL;
    int r;

    if (c->pos < c->buf->len && c->buf->str[c->pos] == '\\') {
        c->pos++;
        r = mailimap_atom_parse(c->fd, c->buf, c->ctx, &c->pos, &atom, 0, NULL);
        if (r != MAILIMAP_NO_ERROR)
            return r;
        r = labels_add(l, malloc(strlen(atom) + 2));
        if (r == MAILIMAP_NO_ERROR) {
            l->labels[l->n - 1][0] = '\\';
            strcpy(l->labels[l->n - 1] + 1, atom);
        }
        free(atom);
        return r;
    }
    r = mailimap_astring_parse(c->fd, c->buf, c->ctx, &c->pos, &atom, 0, NULL);
    if (r != MAILIMAP_NO_ERROR)
        return r;
    r = labels_add(l, strdup(atom));
    mailimap_astring_free(atom); /* see parse_astring_item */
    return r;
}

/* "X-GM-LABELS" SP "(" [label *(SP label)] ")" */
static int parse_labels(struct cursor *c, struct ib_ext_labels **out)
{
    struct ib_ext_labels *l = calloc(1, sizeof(*l));
    int r = l ? token(c, "X-GM-LABELS") : MAILIMAP_ERROR_MEMORY;

    if (r == MAILIMAP_NO_ERROR)
        r = sp(c);
    if (r == MAILIMAP_NO_ERROR)
        r = mailimap_oparenth_parse(c->fd, c->buf, c->ctx, &c->pos);
    while (r == MAILIMAP_NO_ERROR && c->pos < c->buf->len && c->buf->str[c->pos] != ')') {
        if (l->n > 0)
            r = sp(c);
        if (r == MAILIMAP_NO_ERROR)
            r = parse_label(c, l);
    }
    if (r == MAILIMAP_NO_ERROR)
        r = mailimap_cparenth_parse(c->fd, c->buf, c->ctx, &c->pos);
    if (r != MAILIMAP_NO_ERROR) {
        labels_free(l);
        return r;
    }
    *out = l;
    return MAILIMAP_NO_ERROR;
}

static void esearch_free(struct ib_esearch *e)
{
    if (e == NULL)
        return;
    free(e->tag);
    if (e->all != NULL)
        mailimap_set_free(e->all);
    free(e);
}

/* "(" "TAG" SP astring ")" */
static int parse_esearch_tag(struct cursor *c, struct ib_esearch *e)
{
    int r = mailimap_oparenth_parse(c->fd, c->buf, c->ctx, &c->pos);

    if (r == MAILIMAP_NO_ERROR)
        r = parse_astring_item(c, "TAG", &e->tag);
    if (r == MAILIMAP_NO_ERROR)
        r = mailimap_cparenth_parse(c->fd, c->buf, c->ctx, &c->pos);
    return r;
}

static int parse_esearch_datum(struct cursor *c, struct ib_esearch *e)
{
    if (token(c, "MIN") == MAILIMAP_NO_ERROR && sp(c) == MAILIMAP_NO_ERROR) {
        e->has_min = true;
        return mailimap_number_parse(c->fd, c->buf, &c->pos, &e->min);
    }
    if (token(c, "MAX") == MAILIMAP_NO_ERROR && sp(c) == MAILIMAP_NO_ERROR) {
        e->has_max = true;
        return mailimap_number_parse(c->fd, c->buf, &c->pos, &e->max);
    }
    if (token(c, "COUNT") == MAILIMAP_NO_ERROR && sp(c) == MAILIMAP_NO_ERROR) {
        e->has_count = true;
        return mailimap_number_parse(c->fd, c->buf, &c->pos, &e->count);
    }
    if (token(c, "MODSEQ") == MAILIMAP_NO_ERROR && sp(c) == MAILIMAP_NO_ERROR) {
        e->has_modseq = true;
        return mailimap_uint64_parse(c->fd, c->buf, c->ctx, &c->pos, &e->modseq);
    }
    if (token(c, "ALL") == MAILIMAP_NO_ERROR && sp(c) == MAILIMAP_NO_ERROR && e->all == NULL)
        return mailimap_set_parse(c->fd, c->buf, c->ctx, &c->pos, &e->all);
    return MAILIMAP_ERROR_PARSE;
}

/* "ESEARCH" [SP search-correlator] [SP "UID"] *(SP search-return-data) */
static int parse_esearch(struct cursor *c, struct ib_esearch **out)
{
    struct ib_esearch *e;
    int r;

    if (token(c, "ESEARCH") != MAILIMAP_NO_ERROR)
        return MAILIMAP_ERROR_PARSE;
    e = calloc(1, sizeof(*e));
    if (e == NULL)
        return MAILIMAP_ERROR_MEMORY;
    r = MAILIMAP_NO_ERROR;
    while (r == MAILIMAP_NO_ERROR && c->pos < c->buf->len && c->buf->str[c->pos] == ' ') {
        r = sp(c);
        if (r != MAILIMAP_NO_ERROR)
            break;
        if (c->buf->str[c->pos] == '(' && e->tag == NULL)
            r = parse_esearch_tag(c, e);
        else if (token(c, "UID") == MAILIMAP_NO_ERROR)
            e->uid = true;
        else
            r = parse_esearch_datum(c, e);
    }
    if (r != MAILIMAP_NO_ERROR) {
        esearch_free(e);
        return r;
    }
    *out = e;
    return MAILIMAP_NO_ERROR;
}

static void data_free(int type, void *data)
{
    if (type == IB_EXT_ESEARCH)
        esearch_free(data);
    else if (type == IB_EXT_FETCH_XGMLABELS)
        labels_free(data);
    else
        free(data);
}

static int make_result(int type, void *data, struct mailimap_extension_data **result)
{
    *result = mailimap_extension_data_new(&ib_ext_api, type, data);
    if (*result == NULL) {
        data_free(type, data);
        return MAILIMAP_ERROR_MEMORY;
    }
    return MAILIMAP_NO_ERROR;
}

static int parse_fetch(struct cursor *c, int *type, void **data)
{
    char *s = NULL;
    int r = MAILIMAP_ERROR_PARSE;

    if (at_keyword(c, "X-GUID")) {
        *type = IB_EXT_FETCH_XGUID;
        r = parse_astring_item(c, "X-GUID", &s);
    } else if (at_keyword(c, "EMAILID")) {
        *type = IB_EXT_FETCH_EMAILID;
        r = parse_objectid_item(c, "EMAILID", false, &s);
    } else if (at_keyword(c, "THREADID")) {
        *type = IB_EXT_FETCH_THREADID;
        r = parse_objectid_item(c, "THREADID", true, &s);
    } else if (at_keyword(c, "X-GM-LABELS")) {
        *type = IB_EXT_FETCH_XGMLABELS;
        r = parse_labels(c, (struct ib_ext_labels **)data);
        return r;
    } else if (at_keyword(c, "PREVIEW")) {
        size_t len = 0;

        *type = IB_EXT_FETCH_PREVIEW;
        r = token(c, "PREVIEW");
        if (r == MAILIMAP_NO_ERROR)
            r = sp(c);
        if (r == MAILIMAP_NO_ERROR)
            r = mailimap_nstring_parse(c->fd, c->buf, c->ctx, &c->pos, &s, &len, 0, NULL);
        if (r == MAILIMAP_NO_ERROR && s != NULL) {
            /* nstring results belong to libetpan's allocator: copy into ours */
            char *copy = strndup(s, len);

            mailimap_nstring_free(s);
            s = copy;
            if (s == NULL)
                r = MAILIMAP_ERROR_MEMORY;
        }
    }
    *data = s;
    return r;
}

static int parse_status(struct cursor *c, int *type, void **data)
{
    char *s = NULL;
    int r = MAILIMAP_ERROR_PARSE;

    if (at_keyword(c, "MAILBOXID")) {
        *type = IB_EXT_STATUS_MAILBOXID;
        r = parse_objectid_item(c, "MAILBOXID", false, &s);
    } else if (at_keyword(c, "X-GUID")) {
        *type = IB_EXT_STATUS_XGUID;
        r = parse_astring_item(c, "X-GUID", &s);
    }
    *data = s;
    return r;
}

static int ext_parse(int calling_parser, mailstream *fd, MMAPString *buffer,
                     struct mailimap_parser_context *ctx, size_t *indx,
                     struct mailimap_extension_data **result, size_t progr_rate,
                     progress_function *progr_fun)
{
    struct cursor c = { fd, buffer, ctx, *indx };
    void *data = NULL;
    int type = 0, r = MAILIMAP_ERROR_PARSE;

    (void)progr_rate;
    (void)progr_fun;
    switch (calling_parser) {
    case MAILIMAP_EXTENDED_PARSER_FETCH_DATA: r = parse_fetch(&c, &type, &data); break;
    case MAILIMAP_EXTENDED_PARSER_STATUS_ATT: r = parse_status(&c, &type, &data); break;
    case MAILIMAP_EXTENDED_PARSER_RESPONSE_DATA:
    case MAILIMAP_EXTENDED_PARSER_MAILBOX_DATA:
        if (at_keyword(&c, "ESEARCH") ||
            (c.pos + 7 <= buffer->len && strncasecmp(buffer->str + c.pos, "ESEARCH", 7) == 0 &&
             (c.pos + 7 == buffer->len || buffer->str[c.pos + 7] == '\r'))) {
            type = IB_EXT_ESEARCH;
            r = parse_esearch(&c, (struct ib_esearch **)&data);
        }
        break;
    default: break;
    }
    if (r != MAILIMAP_NO_ERROR) {
        if (type != IB_EXT_ESEARCH && type != IB_EXT_FETCH_XGMLABELS)
            free(data);
        /* NEEDS_MORE_DATA asks libetpan to read the rest of a literal and
           parse again: pass it through, like MEMORY. */
        return r == MAILIMAP_ERROR_MEMORY || r == MAILIMAP_ERROR_NEEDS_MORE_DATA
                   ? r
                   : MAILIMAP_ERROR_PARSE;
    }
    r = make_result(type, data, result);
    if (r == MAILIMAP_NO_ERROR)
        *indx = c.pos;
    return r;
}

static void ext_free(struct mailimap_extension_data *d)
{
    if (d == NULL)
        return;
    data_free(d->ext_type, d->ext_data);
    free(d);
}

struct mailimap_extension_api ib_ext_api = {
    "jmapgate-objectid-xguid-esearch", -1, ext_parse, ext_free,
};

static pthread_once_t register_once = PTHREAD_ONCE_INIT;

static void do_register(void)
{
    mailimap_extension_register(&ib_ext_api);
    ib_metadata_register(); /* "* METADATA" (ib_metadata.c, issue 14) */
}

void ib_ext_register(void)
{
    pthread_once(&register_once, do_register);
}

const char *ib_ext_msg_att_string(const struct mailimap_msg_att *att, enum ib_ext_type type)
{
    clistiter *it;

    for (it = clist_begin(att->att_list); it != NULL; it = clist_next(it)) {
        struct mailimap_msg_att_item *item = clist_content(it);
        struct mailimap_extension_data *d;

        if (item->att_type != MAILIMAP_MSG_ATT_ITEM_EXTENSION)
            continue;
        d = item->att_data.att_extension_data;
        if (d != NULL && d->ext_extension == &ib_ext_api && d->ext_type == (int)type)
            return d->ext_data;
    }
    return NULL;
}

const char *ib_ext_status_string(const struct mailimap_mailbox_data_status *st,
                                 enum ib_ext_type type)
{
    clistiter *it;

    if (st->st_info_list == NULL)
        return NULL;
    for (it = clist_begin(st->st_info_list); it != NULL; it = clist_next(it)) {
        struct mailimap_status_info *info = clist_content(it);
        struct mailimap_extension_data *d = info->st_ext_data;

        if (info->st_att == MAILIMAP_STATUS_ATT_EXTENSION && d != NULL &&
            d->ext_extension == &ib_ext_api && d->ext_type == (int)type)
            return d->ext_data;
    }
    return NULL;
}

static int copy_labels(char *const *src, size_t n, char ***out, size_t *n_r)
{
    char **nl = realloc(*out, (*n_r + n + 1) * sizeof(*nl));

    if (nl == NULL)
        return CM_ENOMEM;
    *out = nl;
    for (size_t i = 0; i < n; i++) {
        if ((nl[*n_r] = strdup(src[i])) == NULL)
            return CM_ENOMEM;
        ++*n_r;
    }
    return 1;
}

int ib_ext_labels_copy(const struct mailimap_extension_data *d, char ***out, size_t *n_r)
{
    if (d != NULL && d->ext_extension == &ib_ext_api && d->ext_type == IB_EXT_FETCH_XGMLABELS) {
        const struct ib_ext_labels *l = d->ext_data;

        return copy_labels(l->labels, l->n, out, n_r);
    }
    if (d != NULL && d->ext_extension == &mailimap_extension_xgmlabels && d->ext_data != NULL) {
        const struct mailimap_msg_att_xgmlabels *x = d->ext_data;
        int rc = 1;

        for (clistiter *it = clist_begin(x->att_labels); rc == 1 && it; it = clist_next(it))
            rc = copy_labels((char *const *)&it->data, 1, out, n_r);
        return rc;
    }
    return 0;
}

const struct ib_esearch *ib_ext_esearch(clist *list)
{
    clistiter *it;

    if (list == NULL)
        return NULL;
    for (it = clist_begin(list); it != NULL; it = clist_next(it)) {
        struct mailimap_extension_data *d = clist_content(it);

        if (d != NULL && d->ext_extension == &ib_ext_api && d->ext_type == IB_EXT_ESEARCH)
            return d->ext_data;
    }
    return NULL;
}
