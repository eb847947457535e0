/* gw_conn.c - request framing checks and the cut-off answer. */
#include "gateway/gw_conn.h"

#include <microhttpd.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "common/cm_buf.h"
#include "gateway/gw_error.h"
#include "gateway/gw_req.h"

struct framing {
    unsigned int content_length, transfer_encoding, host;
    bool te_not_chunked, bad_name;
};

/* RFC 9110 §5.6.2 tchar. */
static bool is_token(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;

        if (ch <= 0x20 || ch >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", ch) != NULL)
            return false;
    }
    return true;
}

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
    struct framing *f = cls;

    (void)kind;
    if (!is_token(key))
        f->bad_name = true;
    else if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
        f->content_length++;
    else if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0)
        f->host++;
    else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        f->transfer_encoding++;
        if (value == NULL || strcasecmp(value, "chunked") != 0)
            f->te_not_chunked = true;
    }
    return MHD_YES;
}

const char *gw_conn_framing_error(struct MHD_Connection *c)
{
    struct framing f = { 0 };

    MHD_get_connection_values(c, MHD_HEADER_KIND, count_header, &f);
    if (f.bad_name)
        return "malformed header field name (whitespace or a folded line)";
    if (f.transfer_encoding > 0 && f.content_length > 0)
        return "Transfer-Encoding together with Content-Length";
    if (f.transfer_encoding > 1 || f.te_not_chunked)
        return "only Transfer-Encoding: chunked is accepted";
    if (f.content_length > 1)
        return "repeated Content-Length";
    if (f.host > 1)
        return "repeated Host";
    return NULL;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);

        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

bool gw_conn_answer_and_close(struct MHD_Connection *c, const struct gw_req *req)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    struct cm_buf head;
    bool ok;

    if (ci == NULL)
        return false;
    cm_buf_init(&head, 4096);
    ok = cm_buf_printf(&head, "HTTP/1.1 %u %s\r\nConnection: close\r\nContent-Length: %zu\r\n"
                              "X-Request-Id: %s\r\nCache-Control: no-store\r\n",
                       req->status, gw_error_status_title(req->status), req->resp_len,
                       req->id_text) == 0;
    if (ok && req->resp_type != NULL)
        ok = cm_buf_printf(&head, "Content-Type: %s\r\n", req->resp_type) == 0;
    for (size_t i = 0; ok && i < req->nresp_headers; i++)
        ok = cm_buf_printf(&head, "%s: %s\r\n", req->resp_headers[i].name,
                           req->resp_headers[i].value) == 0;
    ok = ok && cm_buf_append(&head, "\r\n", 2) == 0 &&
         send_all(ci->connect_fd, head.data, head.len) == 0 &&
         send_all(ci->connect_fd, req->resp_body, req->resp_len) == 0;
    cm_buf_fini(&head);
    shutdown(ci->connect_fd, SHUT_WR);
    return ok;
}
