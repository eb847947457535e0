/* ib_etpan.c - the common tail of commands we build by hand. */
#include "imapbridge/ib_etpan.h"

int ib_etpan_send_line(mailimap *imap, const char *text, int *tag_r)
{
    int r = mailimap_send_current_tag(imap);

    *tag_r = imap->imap_tag;
    if (r == MAILIMAP_NO_ERROR)
        r = mailimap_token_send(imap->imap_stream, text);
    if (r == MAILIMAP_NO_ERROR)
        r = mailimap_crlf_send(imap->imap_stream);
    return r;
}

int ib_etpan_read_response(mailimap *imap, struct mailimap_response **resp_r)
{
    *resp_r = NULL;
    if (mailimap_read_line(imap) == NULL)
        return MAILIMAP_ERROR_STREAM;
    return mailimap_parse_response(imap, resp_r);
}

int ib_etpan_command(mailimap *imap, const char *text, struct mailimap_response **resp_r)
{
    int tag, r = ib_etpan_send_line(imap, text, &tag);

    *resp_r = NULL;
    if (r == MAILIMAP_NO_ERROR && mailstream_flush(imap->imap_stream) == -1)
        r = MAILIMAP_ERROR_STREAM;
    return r == MAILIMAP_NO_ERROR ? ib_etpan_read_response(imap, resp_r) : r;
}

bool ib_etpan_tagged_ok(const struct mailimap_response *resp)
{
    return resp->rsp_resp_done->rsp_data.rsp_tagged->rsp_cond_state->rsp_type ==
           MAILIMAP_RESP_COND_STATE_OK;
}
