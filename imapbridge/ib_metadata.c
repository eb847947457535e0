/* ib_metadata.c - GETMETADATA / SETMETADATA on "" (see ib_metadata.h). */
#include "imapbridge/ib_metadata.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libetpan/libetpan.h>

#include "imapbridge/ib_etpan.h"
#include "imapbridge/ib_session.h"

/* libetpan parser pieces exported by libetpan.so (headers not installed). */
int mailimap_space_parse(mailstream *fd, MMAPString *buffer, size_t *indx);
int mailimap_token_case_insensitive_parse(mailstream *fd, MMAPString *buffer, size_t *indx,
                                          const char *token);
int mailimap_astring_parse(mailstream *fd, MMAPString *buffer, struct mailimap_parser_context *ctx,
                           size_t *indx, char **result, size_t progr_rate,
                           progress_function *progr_fun);
int mailimap_oparenth_parse(mailstream *fd, MMAPString *buffer, struct mailimap_parser_context *ctx,
                            size_t *indx);
int mailimap_cparenth_parse(mailstream *fd, MMAPString *buffer, struct mailimap_parser_context *ctx,
                            size_t *indx);
int mailimap_nstring_parse(mailstream *fd, MMAPString *buffer, struct mailimap_parser_context *ctx,
                           size_t *indx, char **result, size_t *result_len, size_t progr_rate,
                           progress_function *progr_fun);

#define MAX_ENTRY 200

/* "* METADATA" data: its entries and values (NULL for NIL), the first
   MAX_PAIRS of them. */
#define MAX_PAIRS 16
struct md_resp {
    size_t n;
    char *entry[MAX_PAIRS];
    char *value[MAX_PAIRS];
};

static void md_free(struct md_resp *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n; i++) {
        free(m->entry[i]);
        free(m->value[i]);
    }
    free(m);
}

/* An astring into our allocator (libetpan's belong to its MMAPString table). */
static int astring_copy(mailstream *fd, MMAPString *buf, struct mailimap_parser_context *ctx,
                        size_t *pos, char **out)
{
    char *s = NULL;
    int r = mailimap_astring_parse(fd, buf, ctx, pos, &s, 0, NULL);

    if (r != MAILIMAP_NO_ERROR)
        return r;
    *out = strdup(s);
    mailimap_astring_free(s);
    return *out ? MAILIMAP_NO_ERROR : MAILIMAP_ERROR_MEMORY;
}

/* METADATA SP mailbox SP "(" entry SP nstring *(SP entry SP nstring) ")" */
static int parse_metadata(mailstream *fd, MMAPString *buf, struct mailimap_parser_context *ctx,
                          size_t *pos, struct md_resp *m)
{
    char *mailbox = NULL;
    int r = mailimap_token_case_insensitive_parse(fd, buf, pos, "METADATA");

    if (r == MAILIMAP_NO_ERROR)
        r = mailimap_space_parse(fd, buf, pos);
    if (r == MAILIMAP_NO_ERROR)
        r = astring_copy(fd, buf, ctx, pos, &mailbox);
    free(mailbox);
    if (r == MAILIMAP_NO_ERROR)
        r = mailimap_space_parse(fd, buf, pos);
    if (r == MAILIMAP_NO_ERROR)
        r = mailimap_oparenth_parse(fd, buf, ctx, pos);
    while (r == MAILIMAP_NO_ERROR) {
        char *entry = NULL, *value = NULL;
        size_t len = 0;

        r = astring_copy(fd, buf, ctx, pos, &entry);
        if (r == MAILIMAP_NO_ERROR)
            r = mailimap_space_parse(fd, buf, pos);
        if (r == MAILIMAP_NO_ERROR)
            r = mailimap_nstring_parse(fd, buf, ctx, pos, &value, &len, 0, NULL);
        if (r == MAILIMAP_NO_ERROR && m->n < MAX_PAIRS) {
            m->entry[m->n] = entry;
            m->value[m->n] = value ? strndup(value, len) : NULL;
            entry = NULL;
            if (value != NULL && m->value[m->n] == NULL)
                r = MAILIMAP_ERROR_MEMORY;
            m->n++;
        }
        free(entry);
        if (value != NULL)
            mailimap_nstring_free(value);
        if (r == MAILIMAP_NO_ERROR && mailimap_space_parse(fd, buf, pos) != MAILIMAP_NO_ERROR)
            return mailimap_cparenth_parse(fd, buf, ctx, pos);
    }
    return r;
}

static struct mailimap_extension_api md_api;

static int md_parse(int calling_parser, mailstream *fd, MMAPString *buffer,
                    struct mailimap_parser_context *ctx, size_t *indx,
                    struct mailimap_extension_data **result, size_t progr_rate,
                    progress_function *progr_fun)
{
    size_t pos = *indx;
    struct md_resp *m;
    int r;

    (void)progr_rate;
    (void)progr_fun;
    if (calling_parser != MAILIMAP_EXTENDED_PARSER_RESPONSE_DATA || pos + 9 > buffer->len ||
        strncasecmp(buffer->str + pos, "METADATA ", 9) != 0)
        return MAILIMAP_ERROR_PARSE;
    m = calloc(1, sizeof(*m));
    if (m == NULL)
        return MAILIMAP_ERROR_MEMORY;
    r = parse_metadata(fd, buffer, ctx, &pos, m);
    if (r == MAILIMAP_NO_ERROR && (*result = mailimap_extension_data_new(&md_api, 1, m)) == NULL)
        r = MAILIMAP_ERROR_MEMORY;
    if (r != MAILIMAP_NO_ERROR) {
        md_free(m);
        return r == MAILIMAP_ERROR_MEMORY || r == MAILIMAP_ERROR_NEEDS_MORE_DATA
                   ? r
                   : MAILIMAP_ERROR_PARSE;
    }
    *indx = pos;
    return MAILIMAP_NO_ERROR;
}

static void md_ext_free(struct mailimap_extension_data *d)
{
    if (d == NULL)
        return;
    md_free(d->ext_data);
    free(d);
}

static struct mailimap_extension_api md_api = {
    "jmapgate-metadata",
    -1,
    md_parse,
    md_ext_free,
};

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void do_register(void)
{
    mailimap_extension_register(&md_api);
}

void ib_metadata_register(void)
{
    pthread_once(&once, do_register);
}

bool ib_metadata_supported(struct ib_session *s)
{
    return mailimap_has_extension(ib_session_imap(s), "METADATA") != 0;
}

static bool safe_text(const char *t, size_t max)
{
    size_t n = 0;

    for (; t[n] != '\0'; n++) {
        if (t[n] < 0x20 || t[n] > 0x7e || t[n] == '"' || t[n] == '\\')
            return false;
    }
    return n <= max;
}

/* The value of entry in the "* METADATA" data of the last response
   (malloc'd into *value_r; left NULL when absent or NIL). */
static int take_value(mailimap *imap, const char *entry, char **value_r, struct cm_err *err)
{
    for (clistiter *it = imap->imap_response_info
                             ? clist_begin(imap->imap_response_info->rsp_extension_list)
                             : NULL;
         it != NULL; it = clist_next(it)) {
        struct mailimap_extension_data *d = clist_content(it);
        struct md_resp *m = d ? d->ext_data : NULL;

        if (d == NULL || d->ext_extension != &md_api)
            continue;
        for (size_t i = 0; i < m->n; i++) {
            if (*value_r == NULL && strcasecmp(m->entry[i], entry) == 0 && m->value[i] != NULL &&
                (*value_r = strdup(m->value[i])) == NULL)
                return cm_err_set(err, CM_ENOMEM, "out of memory");
        }
    }
    return 0;
}

/* Read the answer of the command tagged tag; CM_EPERM for a NO/BAD (no
   METADATA here). With value_r, the value of entry it carried. */
static int read_answer(struct ib_session *s, int tag, const char *entry, char **value_r,
                       struct cm_err *err)
{
    mailimap *imap = ib_session_imap(s);
    struct mailimap_response *resp = NULL;
    int r, rc;

    imap->imap_tag = tag;
    r = ib_etpan_read_response(imap, &resp);
    rc = ib_session_check(s, r, "METADATA", err);
    if (rc < 0)
        return rc;
    if (!ib_etpan_tagged_ok(resp)) {
        mailimap_response_free(resp);
        return cm_err_set(err, CM_EPERM, "the IMAP server refused METADATA");
    }
    mailimap_response_free(resp);
    return value_r != NULL ? take_value(imap, entry, value_r, err) : 0;
}

/* Write a hand-built command (unflushed unless flush). */
static int send_cmd(struct ib_session *s, const char *cmd, bool flush, int *tag_r,
                    struct cm_err *err)
{
    mailimap *imap = ib_session_imap(s);
    int r = ib_etpan_send_line(imap, cmd, tag_r);

    if (r == MAILIMAP_NO_ERROR && flush && mailstream_flush(imap->imap_stream) == -1)
        r = MAILIMAP_ERROR_STREAM;
    return ib_session_check(s, r, "METADATA", err);
}

static int run(struct ib_session *s, const char *cmd, const char *entry, char **value_r,
               struct cm_err *err)
{
    int tag = 0, rc = send_cmd(s, cmd, true, &tag, err);

    return rc < 0 ? rc : read_answer(s, tag, entry, value_r, err);
}

/* GETMETADATA "" (entry) into buf; CM_EPERM / CM_EINVAL. */
static int get_command(struct ib_session *s, const char *entry, char *buf, size_t cap,
                       struct cm_err *err)
{
    if (!ib_metadata_supported(s))
        return cm_err_set(err, CM_EPERM, "the IMAP server has no METADATA");
    if (!safe_text(entry, MAX_ENTRY) || strchr(entry, ' ') != NULL)
        return cm_err_set(err, CM_EINVAL, "bad METADATA entry");
    snprintf(buf, cap, "GETMETADATA \"\" (%s)", entry);
    return 0;
}

int ib_metadata_get_send(struct ib_session *s, const char *entry, int *tag_r, struct cm_err *err)
{
    char cmd[MAX_ENTRY + 32];
    int rc = get_command(s, entry, cmd, sizeof(cmd), err);

    *tag_r = 0;
    return rc < 0 ? rc : send_cmd(s, cmd, false, tag_r, err);
}

int ib_metadata_get_recv(struct ib_session *s, int tag, const char *entry, char **value_r,
                         struct cm_err *err)
{
    *value_r = NULL;
    return read_answer(s, tag, entry, value_r, err);
}

int ib_metadata_get(struct ib_session *s, const char *entry, char **value_r, struct cm_err *err)
{
    char cmd[MAX_ENTRY + 32];
    int rc = get_command(s, entry, cmd, sizeof(cmd), err);

    *value_r = NULL;
    return rc < 0 ? rc : run(s, cmd, entry, value_r, err);
}

int ib_metadata_set(struct ib_session *s, const char *entry, const char *value, struct cm_err *err)
{
    size_t n = (value ? strlen(value) : 0) + MAX_ENTRY + 32;
    char *cmd;
    int rc;

    if (!ib_metadata_supported(s))
        return cm_err_set(err, CM_EPERM, "the IMAP server has no METADATA");
    if (!safe_text(entry, MAX_ENTRY) || strchr(entry, ' ') != NULL ||
        (value != NULL && !safe_text(value, IB_METADATA_MAX_VALUE)))
        return cm_err_set(err, CM_EINVAL, "bad METADATA entry or value");
    cmd = malloc(n);
    if (cmd == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    if (value != NULL)
        snprintf(cmd, n, "SETMETADATA \"\" (%s \"%s\")", entry, value);
    else
        snprintf(cmd, n, "SETMETADATA \"\" (%s NIL)", entry);
    rc = run(s, cmd, entry, NULL, err);
    free(cmd);
    return rc;
}
