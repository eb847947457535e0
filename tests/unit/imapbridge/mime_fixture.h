/* mime_fixture.h - test-only: load BODYSTRUCTURE fixtures recorded from a
 * real Dovecot (fixtures/make_fixtures.py) through libetpan's own response
 * parser, and read fixture / corpus files. Static functions, one user per
 * test executable.
 */
#ifndef MIME_FIXTURE_H
#define MIME_FIXTURE_H

#include <libetpan/libetpan.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libetpan exports its response parser but installs no header for it
   (1.9.4 mailimap_parser.h). */
int mailimap_response_parse(mailstream *fd, MMAPString *buffer, struct mailimap_parser_context *ctx,
                            size_t *indx, struct mailimap_response **result, size_t progr_rate,
                            progress_function *progr_fun);

#define FX_MAX 1000

struct fx {
    struct mailimap_response *resp;
    struct mailimap_body *bodies[FX_MAX]; /* borrowed from resp, by sequence number - 1 */
    char *names[FX_MAX];
    size_t n;
};

static char fx_path_buf[4096];

static const char *fx_path(const char *rel)
{
    const char *f = __FILE__, *slash = strrchr(f, '/');
    int dl = slash ? (int)(slash - f) : 1;

    snprintf(fx_path_buf, sizeof(fx_path_buf), "%.*s/fixtures/%s", dl, slash ? f : ".", rel);
    return fx_path_buf;
}

/* Whole file, NUL-terminated; NULL if unreadable. */
static char *fx_read(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (fp == NULL)
        return NULL;
    if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0 && fseek(fp, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n + 1);
        if (buf != NULL && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        if (buf != NULL) {
            buf[n] = '\0';
            *len = (size_t)n;
        }
    }
    fclose(fp);
    return buf;
}

static void fx_take(struct fx *f, struct mailimap_message_data *md)
{
    clistiter *it;

    if (md == NULL || md->mdt_msg_att == NULL || md->mdt_number < 1 || md->mdt_number > FX_MAX)
        return;
    for (it = clist_begin(md->mdt_msg_att->att_list); it != NULL; it = clist_next(it)) {
        struct mailimap_msg_att_item *item = clist_content(it);

        if (item->att_type == MAILIMAP_MSG_ATT_ITEM_STATIC &&
            item->att_data.att_static->att_type == MAILIMAP_MSG_ATT_BODYSTRUCTURE)
            f->bodies[md->mdt_number - 1] = item->att_data.att_static->att_data.att_bodystructure;
    }
}

/* Parse a whole server response held in raw[0..len) into f. */
static int fx_parse(struct fx *f, const char *raw, size_t len)
{
    size_t pos = 0;
    MMAPString *buf = mmap_string_new_len(raw, len);
    mailimap *imap = mailimap_new(0, NULL);
    struct mailimap_parser_context *ctx = mailimap_parser_context_new(imap);
    clistiter *it;
    int r;

    r = mailimap_response_parse(NULL, buf, ctx, &pos, &f->resp, 0, NULL);
    mmap_string_free(buf);
    mailimap_parser_context_free(ctx);
    mailimap_free(imap);
    if (r != MAILIMAP_NO_ERROR)
        return -1;
    for (it = clist_begin(f->resp->rsp_cont_req_or_resp_data_list); it; it = clist_next(it)) {
        struct mailimap_cont_req_or_resp_data *d = clist_content(it);

        if (d->rsp_type == MAILIMAP_RESP_RESP_DATA &&
            d->rsp_data.rsp_resp_data->rsp_type == MAILIMAP_RESP_DATA_TYPE_MESSAGE_DATA)
            fx_take(f, d->rsp_data.rsp_resp_data->rsp_data.rsp_message_data);
    }
    return 0;
}

/* One BODYSTRUCTURE given as text, e.g. "(\"text\" \"plain\" ...)". */
__attribute__((unused)) static int fx_parse_bodystructure(struct fx *f, const char *bs)
{
    size_t n = strlen(bs) + 64;
    char *raw = malloc(n);
    int r;

    memset(f, 0, sizeof(*f));
    snprintf(raw, n, "* 1 FETCH (BODYSTRUCTURE %s)\r\nA1 OK done\r\n", bs);
    r = fx_parse(f, raw, strlen(raw));
    free(raw);
    return r == 0 && f->bodies[0] != NULL ? 0 : -1;
}

static void fx_names(struct fx *f, const char *set)
{
    char rel[64], *txt, *line, *save = NULL;
    size_t len = 0;

    snprintf(rel, sizeof(rel), "%s.names", set);
    txt = fx_read(fx_path(rel), &len);
    for (line = txt ? strtok_r(txt, "\n", &save) : NULL; line && f->n < FX_MAX;
         line = strtok_r(NULL, "\n", &save))
        f->names[f->n++] = strdup(line);
    free(txt);
}

/* Load <set>.bodystructure and <set>.names; 0 on success. */
__attribute__((unused)) static int fx_load(struct fx *f, const char *set)
{
    char rel[64];
    size_t len = 0;
    char *raw;
    int r;

    memset(f, 0, sizeof(*f));
    snprintf(rel, sizeof(rel), "%s.bodystructure", set);
    raw = fx_read(fx_path(rel), &len);
    if (raw == NULL)
        return -1;
    r = fx_parse(f, raw, len);
    free(raw);
    if (r == 0)
        fx_names(f, set);
    return r;
}

static void fx_free(struct fx *f)
{
    size_t i;

    for (i = 0; i < f->n; i++)
        free(f->names[i]);
    if (f->resp != NULL)
        mailimap_response_free(f->resp);
    memset(f, 0, sizeof(*f));
}

/* Index of the fixture named `name` in f, or -1. */
__attribute__((unused)) static int fx_find(const struct fx *f, const char *name)
{
    size_t i;

    for (i = 0; i < f->n; i++)
        if (strcmp(f->names[i], name) == 0)
            return (int)i;
    return -1;
}

#endif
