/* fuzz_ib_body.c - libFuzzer target for MIME body structure (ib_body.c):
 * the input is a BODYSTRUCTURE as a server writes it; it goes through
 * libetpan's response parser inside "* 1 FETCH (BODYSTRUCTURE ...)", then
 * through everything the gateway builds from it: the bodyStructure tree
 * (names by RFC 2231 and RFC 2047), parseStructure, hasAttachment, the
 * sections to fetch and the preview section.
 *
 * An input starting with byte 0x01 is a body value instead:
 * "\x01<encoding>\0<charset>\0<section bytes>" through ib_body_value_json,
 * with and without a size limit.
 */
#include <libetpan/libetpan.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imapbridge/ib_body.h"
#include "imapbridge/ib_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libetpan exports its response parser without a header (1.9.4). */
int mailimap_response_parse(mailstream *fd, MMAPString *buffer, struct mailimap_parser_context *ctx,
                            size_t *indx, struct mailimap_response **result, size_t progr_rate,
                            progress_function *progr_fun);

static json_t *blob_cb(const char *part_id, void *ctx)
{
    return json_string(part_id);
}

static const char part_headers[] = "Content-Type: text/plain;\r\n charset=\"utf-8\"\r\n"
                                   "Content-Disposition: attachment; filename*=utf-8''%C3%A9.txt\r\n";

static const char *headers_cb(const char *part_id, size_t *len, void *ctx)
{
    *len = sizeof(part_headers) - 1;
    return part_headers;
}

static const struct mailimap_body *find_body(const struct mailimap_response *resp)
{
    clist *data = resp->rsp_cont_req_or_resp_data_list; /* NULL: only a tagged line */

    for (clistiter *it = data ? clist_begin(data) : NULL; it; it = clist_next(it)) {
        const struct mailimap_cont_req_or_resp_data *d = clist_content(it);
        const struct mailimap_response_data *rd;

        if (d->rsp_type != MAILIMAP_RESP_RESP_DATA)
            continue;
        rd = d->rsp_data.rsp_resp_data;
        if (rd->rsp_type != MAILIMAP_RESP_DATA_TYPE_MESSAGE_DATA ||
            rd->rsp_data.rsp_message_data->mdt_msg_att == NULL)
            continue;
        for (clistiter *a = clist_begin(rd->rsp_data.rsp_message_data->mdt_msg_att->att_list); a;
             a = clist_next(a)) {
            const struct mailimap_msg_att_item *item = clist_content(a);

            if (item->att_type == MAILIMAP_MSG_ATT_ITEM_STATIC &&
                item->att_data.att_static->att_type == MAILIMAP_MSG_ATT_BODYSTRUCTURE)
                return item->att_data.att_static->att_data.att_bodystructure;
        }
    }
    return NULL;
}

static void check_string(json_t *j)
{
    const char *s = json_string_value(j);

    if (s != NULL && !ib_text_utf8_valid(s, strlen(s)))
        abort();
}

/* parseStructure over tree; returns hasAttachment. */
static bool parts(json_t *tree)
{
    json_t *t = NULL, *h = NULL, *a = NULL;
    bool has = false;

    if (ib_body_parts(tree, &t, &h, &a, &has, NULL) == 0) {
        json_decref(t);
        json_decref(h);
        json_decref(a);
    }
    return has;
}

static void structure(const struct mailimap_body *body)
{
    struct ib_body_opts o = { blob_cb, NULL, headers_cb, NULL };
    json_t *st = ib_body_structure_json(body, &o);
    struct ib_body_fetch *list = NULL, *pv = NULL;
    size_t n = 0;

    if (st == NULL)
        abort(); /* only on out of memory */
    (void)parts(st);
    json_decref(st);
    st = ib_body_structure_json(body, NULL);
    if (st == NULL)
        abort();
    check_string(json_object_get(st, "name"));
    if (parts(st) != ib_body_has_attachment(body))
        abort(); /* the same rule, by the header's contract */
    json_decref(st);
    for (unsigned want = 1; want <= 7; want++) {
        if (ib_body_fetch_list(body, want, &list, &n, NULL) == 0)
            ib_body_fetch_free(&list, n);
    }
    if (ib_body_preview_fetch(body, &pv, NULL) == 0)
        ib_body_fetch_free(&pv, 1);
}

static void value(const char *in, size_t len)
{
    const char *enc = in, *cs, *bytes;
    size_t el = strnlen(in, len), cl;
    json_t *out = NULL;

    if (el + 1 >= len)
        return;
    cs = in + el + 1;
    cl = strnlen(cs, len - el - 1);
    if (el + cl + 2 > len)
        return;
    bytes = cs + cl + 1;
    for (int i = 0; i < 2; i++) {
        if (ib_body_value_json(bytes, len - el - cl - 2, enc, cs, i ? 16 : 0, i != 0, &out,
                               NULL) == 0) {
            check_string(json_object_get(out, "value"));
            json_decref(out);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static mailimap *imap;
    static struct mailimap_parser_context *pctx;
    static const char head[] = "* 1 FETCH (BODYSTRUCTURE ", tail[] = ")\r\nA1 OK done\r\n";
    struct mailimap_response *resp = NULL;
    const struct mailimap_body *body;
    MMAPString *buf;
    size_t pos = 0;

    if (imap == NULL) {
        imap = mailimap_new(0, NULL);
        pctx = mailimap_parser_context_new(imap);
        if (imap == NULL || pctx == NULL)
            abort();
    }
    if (size > 0 && data[0] == 1) {
        value((const char *)data + 1, size - 1);
        return 0;
    }
    buf = mmap_string_new(head);
    if (buf == NULL || mmap_string_append_len(buf, (const char *)data, size) == NULL ||
        mmap_string_append(buf, tail) == NULL) {
        if (buf != NULL)
            mmap_string_free(buf);
        return 0;
    }
    if (mailimap_response_parse(NULL, buf, pctx, &pos, &resp, 0, NULL) == MAILIMAP_NO_ERROR &&
        resp != NULL) {
        if ((body = find_body(resp)) != NULL)
            structure(body);
        mailimap_response_free(resp);
    }
    mmap_string_free(buf);
    return 0;
}
