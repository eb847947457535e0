/* ib_sasl.c - see ib_sasl.h. */
#include "imapbridge/ib_sasl.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm_b64.h"
#include "common/cm_crypto.h"
#include "imapbridge/ib_etpan.h"

/* Send "<tag> AUTHENTICATE <mech>[ <ir>]" or, with tagged false, "<ir>"
   alone (a continuation answer), then CRLF. libetpan logs all of it as
   DATA_SENT_PRIVATE, which imap_logger drops. */
static int sasl_send(mailimap *imap, bool tagged, const char *mech, const char *ir)
{
    mailstream *ms = imap->imap_stream;
    int r = MAILIMAP_NO_ERROR;

    mailstream_set_privacy(ms, 0);
    if (tagged) {
        r = mailimap_send_current_tag(imap);
        if (r == MAILIMAP_NO_ERROR)
            r = mailimap_token_send(ms, "AUTHENTICATE");
        if (r == MAILIMAP_NO_ERROR)
            r = mailimap_space_send(ms);
        if (r == MAILIMAP_NO_ERROR)
            r = mailimap_token_send(ms, mech);
        if (r == MAILIMAP_NO_ERROR && ir != NULL)
            r = mailimap_space_send(ms);
    }
    if (r == MAILIMAP_NO_ERROR && ir != NULL && ir[0] != '\0')
        r = mailimap_token_send(ms, ir);
    if (r == MAILIMAP_NO_ERROR)
        r = mailimap_crlf_send(ms);
    if (r == MAILIMAP_NO_ERROR && mailstream_flush(ms) == -1)
        r = MAILIMAP_ERROR_STREAM;
    mailstream_set_privacy(ms, 1);
    return r;
}

/* Read one line; *cont_r tells whether it is a continuation request. */
int ib_sasl_read(mailimap *imap, bool *cont_r)
{
    struct mailimap_continue_req *cr = NULL;
    size_t indx = 0;
    int r;

    *cont_r = false;
    if (mailimap_read_line(imap) == NULL)
        return MAILIMAP_ERROR_STREAM;
    r = mailimap_continue_req_parse(imap->imap_stream, imap->imap_stream_buffer, NULL, &indx,
                                    &cr, imap->imap_progr_rate, imap->imap_progr_fun);
    if (cr != NULL)
        mailimap_continue_req_free(cr);
    *cont_r = r == MAILIMAP_NO_ERROR;
    return r == MAILIMAP_NO_ERROR || r == MAILIMAP_ERROR_PARSE ? MAILIMAP_NO_ERROR : r;
}

/* The rest of the response, its first line already read: OK -> 0,
   NO -> MAILIMAP_ERROR_LOGIN; BAD, BYE, a wrong tag as libetpan says. */
static int tagged_result(mailimap *imap)
{
    struct mailimap_response *resp = NULL;
    int r = mailimap_parse_response(imap, &resp);
    int cond;

    if (r != MAILIMAP_NO_ERROR)
        return r;
    cond = resp->rsp_resp_done->rsp_data.rsp_tagged->rsp_cond_state->rsp_type;
    mailimap_response_free(resp);
    return cond == MAILIMAP_RESP_COND_STATE_OK ? MAILIMAP_NO_ERROR : MAILIMAP_ERROR_LOGIN;
}

int ib_sasl_result(mailimap *imap)
{
    int r = tagged_result(imap);

    if (r == MAILIMAP_NO_ERROR)
        imap->imap_state = MAILIMAP_STATE_AUTHENTICATED;
    return r;
}

/* "status" of an RFC 7628 error challenge ("+ <base64 JSON>" in the read
   buffer), reduced to [A-Za-z0-9._-]; "" when absent. */
static void sasl_error_status(mailimap *imap, char *dst, size_t dstsize)
{
    const MMAPString *b = imap->imap_stream_buffer;
    size_t len = b->len, n = 0, jlen = 0;
    unsigned char *json;
    const char *p;

    dst[0] = '\0';
    while (len > 2 && (b->str[len - 1] == '\n' || b->str[len - 1] == '\r'))
        len--;
    if (len <= 2 || (json = cm_b64_decode(b->str + 2, len - 2, &jlen)) == NULL)
        return;
    p = strstr((const char *)json, "\"status\"");
    if (p != NULL && (p = strchr(p + 8, ':')) != NULL) {
        p += strspn(p + 1, " \t\"") + 1;
        while (n + 1 < dstsize && p[n] != '\0' && (isalnum((unsigned char)p[n]) ||
                                                   strchr("._-", p[n]) != NULL)) {
            dst[n] = p[n];
            n++;
        }
        dst[n] = '\0';
    }
    free(json);
}

/* After the client's last message: a continuation now is an error
   challenge (RFC 7628 §3.2.3): answer ack, then read the tagged NO. */
static int sasl_finish(mailimap *imap, const char *ack, char *status, size_t status_size)
{
    bool cont;
    int r = ib_sasl_read(imap, &cont);

    if (r != MAILIMAP_NO_ERROR)
        return r;
    if (cont) {
        if (status != NULL)
            sasl_error_status(imap, status, status_size);
        r = sasl_send(imap, false, NULL, ack);
        if (r == MAILIMAP_NO_ERROR && mailimap_read_line(imap) == NULL)
            r = MAILIMAP_ERROR_STREAM;
        if (r != MAILIMAP_NO_ERROR)
            return r;
    }
    return ib_sasl_result(imap);
}

/* AUTHENTICATE <mech> with one client message (already base64): SASL-IR
   when offered, else after the server's empty challenge. */
int ib_sasl_exchange(mailimap *imap, const char *mech, const char *b64, const char *ack,
                     char *status, size_t status_size)
{
    bool ir = mailimap_has_extension(imap, "SASL-IR"), cont;
    int r = sasl_send(imap, true, mech, ir ? b64 : NULL);

    if (r == MAILIMAP_NO_ERROR && !ir) {
        r = ib_sasl_read(imap, &cont);
        if (r != MAILIMAP_NO_ERROR)
            return r;
        if (!cont) /* refused at once */
            return ib_sasl_result(imap);
        r = sasl_send(imap, false, NULL, b64);
    }
    if (r != MAILIMAP_NO_ERROR)
        return r;
    return sasl_finish(imap, ack, status, status_size);
}

/* base64 of n bytes at msg, which is then wiped; NULL on OOM. */
static char *b64_and_wipe(char *msg, size_t n)
{
    char *b64 = cm_b64_encode(msg, n);

    cm_cleanse(msg, n);
    free(msg);
    return b64;
}

void ib_sasl_free_secret(char *text)
{
    if (text != NULL) {
        cm_cleanse(text, strlen(text));
        free(text);
    }
}

bool ib_sasl_has_ctl(const char *text)
{
    for (; *text != '\0'; text++) {
        if ((unsigned char)*text < 0x20 || *text == 0x7f)
            return true;
    }
    return false;
}

/* RFC 4616: "\0user\0password" (no authorization identity). */
char *ib_sasl_plain_message(const char *user, const char *pass)
{
    size_t ul = strlen(user), pl = strlen(pass), n = ul + pl + 2;
    char *msg = malloc(n);

    if (msg == NULL)
        return NULL;
    msg[0] = '\0';
    memcpy(msg + 1, user, ul);
    msg[ul + 1] = '\0';
    memcpy(msg + ul + 2, pass, pl);
    return b64_and_wipe(msg, n);
}

/* RFC 7628: "n,a=<user>,^Ahost=<h>^Aport=<p>^Aauth=Bearer <token>^A^A",
   with ',' and '=' in the user name escaped as =2C and =3D (RFC 5801). */
char *ib_sasl_oauthbearer_message(const char *user, const char *host, unsigned int port,
                                  const char *token)
{
    size_t cap = strlen(user) * 3 + strlen(host) + strlen(token) + 64, n = 0;
    char *msg = malloc(cap);

    if (msg == NULL)
        return NULL;
    memcpy(msg, "n,a=", 4);
    n = 4;
    for (const char *p = user; *p != '\0'; p++) {
        if (*p == ',' || *p == '=') {
            memcpy(msg + n, *p == ',' ? "=2C" : "=3D", 3);
            n += 3;
        } else {
            msg[n++] = *p;
        }
    }
    n += (size_t)snprintf(msg + n, cap - n, ",\001host=%s\001port=%u\001auth=Bearer %s\001\001",
                          host, port, token);
    return b64_and_wipe(msg, n);
}
