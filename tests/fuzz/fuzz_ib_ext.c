/* fuzz_ib_ext.c - libFuzzer target for the IMAP extension parsers of
 * ib_ext.c (X-GUID, EMAILID, THREADID, PREVIEW, MAILBOXID, ESEARCH).
 *
 * The first byte picks the entry point: 0-2 call the extension parser
 * directly as libetpan would for FETCH data, a STATUS item or a response
 * (the rest of the input is the text after the item's position); otherwise
 * the whole input is one server response (untagged lines + tagged line)
 * fed to libetpan's own response parser with our extensions registered,
 * and the helpers then look for the values the gateway reads. The stream is
 * NULL: a literal longer than the input ends the parse, it is not read.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imapbridge/ib_ext.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libetpan exports its response parser without a header (1.9.4). */
int mailimap_response_parse(mailstream *fd, MMAPString *buffer, struct mailimap_parser_context *ctx,
                            size_t *indx, struct mailimap_response **result, size_t progr_rate,
                            progress_function *progr_fun);

static const int callings[] = { MAILIMAP_EXTENDED_PARSER_FETCH_DATA,
                                MAILIMAP_EXTENDED_PARSER_STATUS_ATT,
                                MAILIMAP_EXTENDED_PARSER_RESPONSE_DATA };

static volatile size_t sink;

static void look_at_fetch(const struct mailimap_msg_att *att)
{
    for (int t = IB_EXT_FETCH_XGUID; t <= IB_EXT_FETCH_PREVIEW; t++) {
        const char *s = ib_ext_msg_att_string(att, (enum ib_ext_type)t);

        if (s != NULL)
            sink += strlen(s);
    }
}

/* The values the gateway reads from a response: FETCH and STATUS items,
   and the first ESEARCH among the extension data (the list libetpan's
   session keeps in rsp_extension_list, rebuilt here). */
static void look_at(struct mailimap_response *resp)
{
    clist *exts = clist_new();
    const struct ib_esearch *e;

    clist *data = resp->rsp_cont_req_or_resp_data_list; /* NULL: only a tagged line */

    for (clistiter *it = data ? clist_begin(data) : NULL; it; it = clist_next(it)) {
        struct mailimap_cont_req_or_resp_data *d = clist_content(it);
        struct mailimap_response_data *rd;

        if (d->rsp_type != MAILIMAP_RESP_RESP_DATA)
            continue;
        rd = d->rsp_data.rsp_resp_data;
        if (rd->rsp_type == MAILIMAP_RESP_DATA_TYPE_EXTENSION_DATA && exts != NULL)
            clist_append(exts, rd->rsp_data.rsp_extension_data);
        if (rd->rsp_type == MAILIMAP_RESP_DATA_TYPE_MESSAGE_DATA &&
            rd->rsp_data.rsp_message_data->mdt_msg_att != NULL)
            look_at_fetch(rd->rsp_data.rsp_message_data->mdt_msg_att);
        if (rd->rsp_type == MAILIMAP_RESP_DATA_TYPE_MAILBOX_DATA &&
            rd->rsp_data.rsp_mailbox_data->mbd_type == MAILIMAP_MAILBOX_DATA_STATUS) {
            const struct mailimap_mailbox_data_status *st =
                rd->rsp_data.rsp_mailbox_data->mbd_data.mbd_status;
            const char *a = ib_ext_status_string(st, IB_EXT_STATUS_MAILBOXID);
            const char *b = ib_ext_status_string(st, IB_EXT_STATUS_XGUID);

            sink += (a ? strlen(a) : 0) + (b ? strlen(b) : 0);
        }
    }
    e = ib_ext_esearch(exts);
    if (e != NULL)
        sink += e->count + (e->tag ? strlen(e->tag) : 0) +
                (e->all ? (size_t)clist_count(e->all->set_list) : 0);
    if (exts != NULL)
        clist_free(exts); /* the items belong to resp */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static mailimap *imap;
    static struct mailimap_parser_context *pctx;
    MMAPString *buf;
    size_t pos = 0;

    if (imap == NULL) {
        ib_ext_register();
        imap = mailimap_new(0, NULL);
        pctx = mailimap_parser_context_new(imap);
        if (imap == NULL || pctx == NULL)
            abort();
    }
    if (size == 0)
        return 0;
    if (data[0] < 3) {
        struct mailimap_extension_data *d = NULL;

        buf = mmap_string_new_len((const char *)data + 1, size - 1);
        if (buf == NULL)
            return 0;
        if (ib_ext_api.ext_parser(callings[data[0]], NULL, buf, pctx, &pos, &d, 0, NULL) ==
                MAILIMAP_NO_ERROR &&
            d != NULL) {
            if (pos > size - 1)
                abort(); /* claimed to eat more than it was given */
            ib_ext_api.ext_free(d);
        }
    } else {
        struct mailimap_response *resp = NULL;

        buf = mmap_string_new_len((const char *)data, size);
        if (buf == NULL)
            return 0;
        if (mailimap_response_parse(NULL, buf, pctx, &pos, &resp, 0, NULL) == MAILIMAP_NO_ERROR &&
            resp != NULL) {
            look_at(resp);
            mailimap_response_free(resp);
        }
    }
    mmap_string_free(buf);
    return 0;
}
