/* ib_etpan.c - the common tail of commands we build by hand. */
#include "imapbridge/ib_etpan.h"

int ib_etpan_finish(mailimap *imap, struct mailimap_response **resp_r)
{
    mailstream *ms = imap->imap_stream;
    int r = mailimap_crlf_send(ms);

    *resp_r = NULL;
    if (r == MAILIMAP_NO_ERROR && mailstream_flush(ms) == -1)
        r = MAILIMAP_ERROR_STREAM;
    if (r == MAILIMAP_NO_ERROR && mailimap_read_line(imap) == NULL)
        r = MAILIMAP_ERROR_STREAM;
    if (r == MAILIMAP_NO_ERROR)
        r = mailimap_parse_response(imap, resp_r);
    return r;
}

bool ib_etpan_tagged_ok(const struct mailimap_response *resp)
{
    return resp->rsp_resp_done->rsp_data.rsp_tagged->rsp_cond_state->rsp_type ==
           MAILIMAP_RESP_COND_STATE_OK;
}
