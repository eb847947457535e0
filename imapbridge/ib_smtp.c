/* ib_smtp.c - the SMTP submission client (see ib_smtp.h). */
#include "imapbridge/ib_smtp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libetpan/libetpan.h>

#include "common/cm_b64.h"
#include "common/cm_crypto.h"
#include "common/cm_log.h"
#include "imapbridge/ib_sasl.h"
#include "imapbridge/ib_stream.h"

#define LINE_MAX_BYTES 1000 /* RFC 5321 4.5.3.1.5: reply line incl. CRLF is 512; be lenient */
#define REPLY_MAX_LINES 64
#define QUIT_TIMEOUT_MS 2000

enum ext {
    EXT_STARTTLS = 1 << 0,
    EXT_SIZE = 1 << 1,
    EXT_AUTH = 1 << 2,
    EXT_8BITMIME = 1 << 3,
    EXT_SMTPUTF8 = 1 << 4
};

enum mech { M_PLAIN = 1 << 0, M_LOGIN = 1 << 1, M_XOAUTH2 = 1 << 2, M_OAUTHBEARER = 1 << 3 };

struct smtp {
    mailstream_low *low;
    const struct ib_smtp_server *srv;
    char buf[4096];
    size_t len, pos;
    unsigned int ext, mechs;
    uint64_t size_limit;
    struct ib_smtp_result *res;
};

/* ---- URL and addresses ------------------------------------------------ */

struct scheme {
    const char *prefix;
    enum ib_tls_mode tls;
    unsigned int port;
};

static const struct scheme schemes[] = {
    {"smtp://", IB_TLS_NONE, 25},
    {"smtp+starttls://", IB_TLS_STARTTLS, 587},
    {"smtps://", IB_TLS_IMPLICIT, 465},
};

int ib_smtp_parse_url(const char *url, struct ib_smtp_server *srv, struct cm_err *err)
{
    for (size_t i = 0; url != NULL && i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        size_t plen = strlen(schemes[i].prefix);
        /* reuse the IMAP URL's authority parser through an imap:// URL */
        struct ib_upstream up = {0};
        char *tmp;
        int rc;

        if (strncasecmp(url, schemes[i].prefix, plen) != 0)
            continue;
        tmp = malloc(strlen(url) - plen + sizeof("imap://"));
        if (tmp == NULL)
            return cm_err_set(err, CM_ENOMEM, "out of memory");
        strcpy(tmp, "imap://");
        strcat(tmp, url + plen);
        rc = ib_upstream_parse_url(tmp, &up, err);
        free(tmp);
        if (rc < 0) {
            ib_upstream_fini(&up);
            return cm_err_set(err, CM_ECONFIG, "smtp_url: bad host or port in \"%s\"", url);
        }
        free(srv->host);
        free(srv->url);
        srv->host = up.host;
        up.host = NULL;
        /* imap:// defaulted to 143 when no port was given */
        srv->port = strchr(url + plen + (url[plen] == '[' ? strcspn(url + plen, "]") : 0), ':')
                        ? up.port
                        : schemes[i].port;
        srv->tls = schemes[i].tls;
        srv->url = strdup(url);
        ib_upstream_fini(&up);
        if (srv->url == NULL)
            return cm_err_set(err, CM_ENOMEM, "out of memory");
        return 0;
    }
    return cm_err_set(err, CM_ECONFIG,
                      "smtp_url: expected smtp://, smtp+starttls:// or smtps://, got \"%s\"",
                      url ? url : "");
}

void ib_smtp_server_fini(struct ib_smtp_server *srv)
{
    free(srv->url);
    free(srv->host);
    free(srv->ca_file);
    free(srv->helo_name);
    srv->url = srv->host = srv->ca_file = srv->helo_name = NULL;
}

bool ib_smtp_addr_valid(const char *addr)
{
    size_t n = addr ? strlen(addr) : 0;
    const char *at;

    if (n < 3 || n > 254)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)addr[i];

        if (c <= 0x20 || c == 0x7f || strchr("<>(),;\"\\[]", c) != NULL)
            return false;
    }
    at = strchr(addr, '@');
    return at != NULL && at != addr && at[1] != '\0' && strchr(at + 1, '@') == NULL;
}

/* ---- replies ---------------------------------------------------------- */

static int fail(struct smtp *sm, enum ib_smtp_stage stage, int code, struct cm_err *err,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int fail(struct smtp *sm, enum ib_smtp_stage stage, int code, struct cm_err *err,
                const char *fmt, ...)
{
    va_list ap;
    char msg[sizeof(err->msg)];

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    sm->res->stage = stage;
    return cm_err_set(err, code, "%s", msg);
}

/* A stream failure as CM_ETIMEOUT or CM_EUNAVAIL. */
static int stream_fail(struct smtp *sm, enum ib_smtp_stage stage, struct cm_err *err)
{
    const char *why = NULL;
    enum ib_stream_fail f = ib_stream_failure(sm->low, &why);

    if (f == IB_STREAM_FAIL_TIMEOUT)
        return fail(sm, stage, CM_ETIMEOUT, err, "smtp: the server did not answer in time");
    return fail(sm, stage, CM_EUNAVAIL, err, "smtp: connection lost: %s", why ? why : "closed");
}

/* One line into line (NUL-terminated, CRLF stripped, truncated at cap). */
static int read_line(struct smtp *sm, char *line, size_t cap, enum ib_smtp_stage stage,
                     struct cm_err *err)
{
    size_t n = 0;

    for (;;) {
        while (sm->pos < sm->len) {
            char c = sm->buf[sm->pos++];

            if (c == '\n') {
                if (n > 0 && line[n - 1] == '\r')
                    n--;
                line[n] = '\0';
                return 0;
            }
            if (n + 1 < cap)
                line[n++] = c;
        }
        ssize_t r = mailstream_low_read(sm->low, sm->buf, sizeof(sm->buf));

        if (r <= 0)
            return stream_fail(sm, stage, err);
        sm->len = (size_t)r;
        sm->pos = 0;
    }
}

static void keep_text(struct smtp *sm, const char *text)
{
    size_t j = 0;

    for (size_t i = 0; text[i] != '\0' && j + 1 < sizeof(sm->res->text); i++)
        sm->res->text[j++] = (text[i] >= 0x20 && text[i] < 0x7f) ? text[i] : '?';
    sm->res->text[j] = '\0';
}

static void note_ehlo_line(struct smtp *sm, const char *kw)
{
    if (strncasecmp(kw, "STARTTLS", 8) == 0 && (kw[8] == '\0' || kw[8] == ' ')) {
        sm->ext |= EXT_STARTTLS;
    } else if (strncasecmp(kw, "SIZE", 4) == 0 && (kw[4] == '\0' || kw[4] == ' ')) {
        sm->ext |= EXT_SIZE;
        sm->size_limit = kw[4] == ' ' ? strtoull(kw + 5, NULL, 10) : 0;
    } else if (strncasecmp(kw, "8BITMIME", 8) == 0) {
        sm->ext |= EXT_8BITMIME;
    } else if (strncasecmp(kw, "SMTPUTF8", 8) == 0) {
        sm->ext |= EXT_SMTPUTF8;
    } else if (strncasecmp(kw, "AUTH", 4) == 0 && (kw[4] == ' ' || kw[4] == '=')) {
        static const struct {
            const char *name;
            unsigned int bit;
        } mechs[] = {{"PLAIN", M_PLAIN},
                     {"LOGIN", M_LOGIN},
                     {"XOAUTH2", M_XOAUTH2},
                     {"OAUTHBEARER", M_OAUTHBEARER}};
        char copy[LINE_MAX_BYTES], *save = NULL;

        sm->ext |= EXT_AUTH;
        snprintf(copy, sizeof(copy), "%s", kw + 5);
        for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
            for (size_t i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++) {
                if (strcasecmp(t, mechs[i].name) == 0)
                    sm->mechs |= mechs[i].bit;
            }
        }
    }
}

/* Read one (possibly multi-line) reply; *code_r its code. ehlo: note the
   extension lines. */
static int read_reply(struct smtp *sm, enum ib_smtp_stage stage, bool ehlo, int *code_r,
                      struct cm_err *err)
{
    char line[LINE_MAX_BYTES];

    for (int i = 0; i < REPLY_MAX_LINES; i++) {
        int rc = read_line(sm, line, sizeof(line), stage, err);

        if (rc < 0)
            return rc;
        if (strlen(line) < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9' ||
            line[2] < '0' || line[2] > '9' || (line[3] != '\0' && line[3] != ' ' && line[3] != '-'))
            return fail(sm, stage, CM_EUPSTREAM, err, "smtp: malformed reply");
        *code_r = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
        sm->res->code = *code_r;
        if (ehlo && i > 0)
            note_ehlo_line(sm, line + 4);
        if (line[3] != '-') {
            keep_text(sm, line[3] ? line + 4 : "");
            return 0;
        }
    }
    return fail(sm, stage, CM_EUPSTREAM, err, "smtp: reply too long");
}

static int write_all(struct smtp *sm, const char *p, size_t n, enum ib_smtp_stage stage,
                     struct cm_err *err)
{
    while (n > 0) {
        ssize_t w = mailstream_low_write(sm->low, p, n);

        if (w <= 0)
            return stream_fail(sm, stage, err);
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Send a command line (CRLF added) and read its reply. The caller built
   line from validated parts only. */
static int command(struct smtp *sm, const char *line, enum ib_smtp_stage stage, bool ehlo,
                   int *code_r, struct cm_err *err)
{
    size_t n = strlen(line);
    int rc = write_all(sm, line, n, stage, err);

    if (rc == 0)
        rc = write_all(sm, "\r\n", 2, stage, err);
    if (rc == 0)
        rc = read_reply(sm, stage, ehlo, code_r, err);
    return rc;
}

/* ---- session steps ---------------------------------------------------- */

static int ehlo(struct smtp *sm, struct cm_err *err)
{
    char line[300];
    int code = 0, rc;

    sm->ext = sm->mechs = 0;
    sm->size_limit = 0;
    snprintf(line, sizeof(line), "EHLO %s", sm->srv->helo_name ? sm->srv->helo_name : "jmapgate");
    rc = command(sm, line, IB_SMTP_CONNECT, true, &code, err);
    if (rc == 0 && code != 250)
        rc = fail(sm, IB_SMTP_CONNECT, CM_EUPSTREAM, err, "smtp: EHLO refused: %d %s", code,
                  sm->res->text);
    sm->res->size_limit = sm->size_limit;
    return rc;
}

static int open_session(struct smtp *sm, struct cm_err *err)
{
    const struct ib_smtp_server *srv = sm->srv;
    struct ib_stream_tls tls = {srv->host, srv->tls_verify, srv->ca_file};
    unsigned int ms = srv->timeout_secs * 1000u;
    int code = 0, rc;

    rc = ib_stream_connect(srv->host, srv->port, ms, 0, &sm->low, err);
    if (rc < 0)
        return sm->res->stage = IB_SMTP_CONNECT, rc;
    if (srv->tls == IB_TLS_IMPLICIT && (rc = ib_stream_start_tls(sm->low, &tls, err)) < 0)
        return sm->res->stage = IB_SMTP_TLS, rc;
    if ((rc = read_reply(sm, IB_SMTP_CONNECT, false, &code, err)) < 0)
        return rc;
    if (code != 220)
        return fail(sm, IB_SMTP_CONNECT, CM_EUNAVAIL, err, "smtp: greeting %d %s", code,
                    sm->res->text);
    if ((rc = ehlo(sm, err)) < 0 || srv->tls != IB_TLS_STARTTLS)
        return rc;
    if (!(sm->ext & EXT_STARTTLS))
        return fail(sm, IB_SMTP_TLS, CM_EUNAVAIL, err,
                    "smtp: the server does not offer STARTTLS (smtp+starttls:// requires it)");
    if ((rc = command(sm, "STARTTLS", IB_SMTP_TLS, false, &code, err)) < 0)
        return rc;
    if (code != 220)
        return fail(sm, IB_SMTP_TLS, CM_EUNAVAIL, err, "smtp: STARTTLS refused: %d %s", code,
                    sm->res->text);
    if (sm->pos < sm->len) /* plain text injected after STARTTLS */
        return fail(sm, IB_SMTP_TLS, CM_EUNAVAIL, err, "smtp: data after STARTTLS reply");
    if ((rc = ib_stream_start_tls(sm->low, &tls, err)) < 0)
        return sm->res->stage = IB_SMTP_TLS, rc;
    return ehlo(sm, err);
}

/* "AUTH <mech> <b64>" and the answer; 334 after it is an error challenge
   (XOAUTH2/OAUTHBEARER): answered with ack, then the final reply. */
static int auth_one_shot(struct smtp *sm, const char *mech, const char *b64, const char *ack,
                         int *code_r, struct cm_err *err)
{
    size_t n = strlen(mech) + strlen(b64) + 8;
    char *line = malloc(n);
    int rc;

    if (line == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    snprintf(line, n, "AUTH %s %s", mech, b64);
    rc = command(sm, line, IB_SMTP_AUTH, false, code_r, err);
    cm_cleanse(line, n);
    free(line);
    if (rc == 0 && *code_r == 334)
        rc = command(sm, ack, IB_SMTP_AUTH, false, code_r, err);
    return rc;
}

static int auth_login(struct smtp *sm, const struct ib_creds *cr, int *code_r, struct cm_err *err)
{
    char *u = cm_b64_encode(cr->username, strlen(cr->username));
    char *p = cm_b64_encode(cr->secret, strlen(cr->secret));
    int rc = (u && p) ? 0 : cm_err_set(err, CM_ENOMEM, "out of memory");

    if (rc == 0)
        rc = command(sm, "AUTH LOGIN", IB_SMTP_AUTH, false, code_r, err);
    if (rc == 0 && *code_r == 334)
        rc = command(sm, u, IB_SMTP_AUTH, false, code_r, err);
    if (rc == 0 && *code_r == 334)
        rc = command(sm, p, IB_SMTP_AUTH, false, code_r, err);
    ib_sasl_free_secret(u);
    ib_sasl_free_secret(p);
    return rc;
}

static int authenticate(struct smtp *sm, const struct ib_creds *cr, struct cm_err *err)
{
    char *msg = NULL;
    int code = 0, rc;

    if (!(sm->ext & EXT_AUTH))
        return 0; /* a relay that trusts us (loopback, tests): nothing to prove */
    if (ib_sasl_has_ctl(cr->username) || ib_sasl_has_ctl(cr->secret))
        return fail(sm, IB_SMTP_AUTH, CM_EAUTH, err, "smtp: control characters in credentials");
    if (cr->mech == IB_AUTH_LOGIN && (sm->mechs & M_PLAIN)) {
        msg = ib_sasl_plain_message(cr->username, cr->secret);
        rc = msg ? auth_one_shot(sm, "PLAIN", msg, "*", &code, err) : CM_ENOMEM;
    } else if (cr->mech == IB_AUTH_LOGIN && (sm->mechs & M_LOGIN)) {
        rc = auth_login(sm, cr, &code, err);
    } else if (cr->mech == IB_AUTH_XOAUTH2 && (sm->mechs & M_XOAUTH2)) {
        msg = ib_smtp_xoauth2_message(cr->username, cr->secret);
        rc = msg ? auth_one_shot(sm, "XOAUTH2", msg, "", &code, err) : CM_ENOMEM;
    } else if (cr->mech != IB_AUTH_LOGIN && (sm->mechs & M_OAUTHBEARER)) {
        msg = ib_sasl_oauthbearer_message(cr->username, sm->srv->host, sm->srv->port, cr->secret);
        rc = msg ? auth_one_shot(sm, "OAUTHBEARER", msg, "AQ==", &code, err) : CM_ENOMEM;
    } else {
        return fail(sm, IB_SMTP_AUTH, CM_EUNAVAIL, err,
                    "smtp: the server offers no AUTH mechanism for this login");
    }
    ib_sasl_free_secret(msg);
    if (rc == CM_ENOMEM)
        return fail(sm, IB_SMTP_AUTH, CM_ENOMEM, err, "out of memory");
    if (rc < 0)
        return rc;
    if (code != 235)
        return fail(sm, IB_SMTP_AUTH, CM_EAUTH, err, "smtp: login refused: %d %s", code,
                    sm->res->text);
    return 0;
}

static bool has_8bit(const char *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)data[i] >= 0x80)
            return true;
    }
    return false;
}

/* MAIL FROM and every RCPT TO; a refused recipient ends with RSET. */
static int envelope(struct smtp *sm, const char *from, const char *const *rcpt, size_t nrcpt,
                    const char *data, size_t len, struct cm_err *err)
{
    char line[400], first_text[IB_SMTP_TEXT_MAX] = "";
    int code = 0, rc, first_code = 0;
    bool eight = has_8bit(data, len);

    snprintf(line, sizeof(line), "MAIL FROM:<%s>", from);
    if (sm->ext & EXT_SIZE)
        snprintf(line + strlen(line), sizeof(line) - strlen(line), " SIZE=%zu", len);
    if (eight && (sm->ext & EXT_8BITMIME))
        strcat(line, " BODY=8BITMIME");
    if (has_8bit(from, strlen(from)) && (sm->ext & EXT_SMTPUTF8))
        strcat(line, " SMTPUTF8");
    if ((rc = command(sm, line, IB_SMTP_MAIL, false, &code, err)) < 0)
        return rc;
    if (code != 250)
        return fail(sm, IB_SMTP_MAIL, CM_EUPSTREAM, err, "smtp: MAIL FROM refused: %d %s", code,
                    sm->res->text);
    for (size_t i = 0; i < nrcpt; i++) {
        snprintf(line, sizeof(line), "RCPT TO:<%s>", rcpt[i]);
        if ((rc = command(sm, line, IB_SMTP_RCPT, false, &code, err)) < 0)
            return rc;
        if (code != 250 && code != 251) {
            if (first_code == 0) { /* the first refusal is the one to report */
                first_code = code;
                memcpy(first_text, sm->res->text, sizeof(first_text));
            }
            if (sm->res->rejected != NULL)
                sm->res->rejected[i] = true;
            sm->res->nrejected++;
            if (code == 452 || code == 552) /* too many recipients (RFC 5321 4.5.3.1.10) */
                break;
        }
    }
    if (sm->res->nrejected > 0) {
        int c2 = 0;

        if (command(sm, "RSET", IB_SMTP_RCPT, false, &c2, err) < 0)
            cm_err_clear(err);
        sm->res->code = first_code;
        memcpy(sm->res->text, first_text, sizeof(first_text));
        return fail(sm, IB_SMTP_RCPT, CM_EUPSTREAM, err, "smtp: %zu recipient(s) refused: %d %s",
                    sm->res->nrejected, first_code, first_text);
    }
    return 0;
}

/* DATA with CRLF line ends and dot-stuffing, then the final reply. */
static int body(struct smtp *sm, const char *data, size_t len, struct cm_err *err)
{
    char out[8192];
    size_t o = 0;
    bool bol = true;
    int code = 0, rc = command(sm, "DATA", IB_SMTP_DATA, false, &code, err);

    if (rc < 0)
        return rc;
    if (code != 354)
        return fail(sm, IB_SMTP_DATA, CM_EUPSTREAM, err, "smtp: DATA refused: %d %s", code,
                    sm->res->text);
    for (size_t i = 0; i < len; i++) {
        char c = data[i];

        if (o + 4 > sizeof(out)) {
            if ((rc = write_all(sm, out, o, IB_SMTP_DATA, err)) < 0)
                return rc;
            o = 0;
        }
        if (bol && c == '.')
            out[o++] = '.';
        if (c == '\n' && (i == 0 || data[i - 1] != '\r'))
            out[o++] = '\r';
        if (c == '\r' && (i + 1 >= len || data[i + 1] != '\n')) {
            out[o++] = '\r'; /* a bare CR becomes a line end */
            c = '\n';
        }
        out[o++] = c;
        bol = c == '\n';
    }
    if ((rc = write_all(sm, out, o, IB_SMTP_DATA, err)) < 0)
        return rc;
    rc = write_all(sm, bol ? ".\r\n" : "\r\n.\r\n", bol ? 3 : 5, IB_SMTP_DATA, err);
    if (rc == 0)
        rc = read_reply(sm, IB_SMTP_DATA, false, &code, err);
    if (rc == 0 && code != 250)
        rc = fail(sm, IB_SMTP_DATA, CM_EUPSTREAM, err, "smtp: message refused: %d %s", code,
                  sm->res->text);
    return rc;
}

int ib_smtp_send(const struct ib_smtp_server *srv, const struct ib_creds *cr, const char *mail_from,
                 const char *const *rcpt, size_t nrcpt, const char *data, size_t len,
                 struct ib_smtp_result *res, struct cm_err *err)
{
    struct smtp sm = {.srv = srv, .res = res};
    int rc, code = 0;

    res->stage = IB_SMTP_CONNECT;
    res->code = 0;
    res->text[0] = '\0';
    res->nrejected = 0;
    res->size_limit = 0;
    if (!ib_smtp_addr_valid(mail_from))
        return fail(&sm, IB_SMTP_MAIL, CM_EINVAL, err, "smtp: invalid sender address");
    if (nrcpt == 0)
        return fail(&sm, IB_SMTP_RCPT, CM_EINVAL, err, "smtp: no recipients");
    for (size_t i = 0; i < nrcpt; i++) {
        if (!ib_smtp_addr_valid(rcpt[i])) {
            if (res->rejected != NULL)
                res->rejected[i] = true;
            res->nrejected++;
        }
    }
    if (res->nrejected > 0)
        return fail(&sm, IB_SMTP_RCPT, CM_EINVAL, err, "smtp: invalid recipient address");
    rc = open_session(&sm, err);
    if (rc == 0)
        rc = authenticate(&sm, cr, err);
    if (rc == 0 && sm.size_limit > 0 && len > sm.size_limit)
        rc = fail(&sm, IB_SMTP_MAIL, CM_ELIMIT, err,
                  "smtp: message of %zu bytes is above the server's limit of %llu", len,
                  (unsigned long long)sm.size_limit);
    if (rc == 0)
        rc = envelope(&sm, mail_from, rcpt, nrcpt, data, len, err);
    if (rc == 0)
        rc = body(&sm, data, len, err);
    if (rc == 0)
        res->stage = IB_SMTP_DONE;
    if (sm.low != NULL) {
        if (rc != CM_ETIMEOUT && ib_stream_failure(sm.low, NULL) == IB_STREAM_FAIL_NONE) {
            struct cm_err qerr = CM_ERR_INIT;
            struct ib_smtp_result keep = *res;

            ib_stream_set_timeout(sm.low, QUIT_TIMEOUT_MS);
            (void)command(&sm, "QUIT", IB_SMTP_DONE, false, &code, &qerr);
            *res = keep;
        }
        mailstream_low_close(sm.low);
        mailstream_low_free(sm.low);
    }
    return rc;
}

char *ib_smtp_xoauth2_message(const char *user, const char *token)
{
    size_t n = strlen(user) + strlen(token) + 32;
    char *raw = malloc(n), *b64;
    int len;

    if (raw == NULL)
        return NULL;
    len = snprintf(raw, n, "user=%s\001auth=Bearer %s\001\001", user, token);
    b64 = cm_b64_encode(raw, (size_t)len);
    cm_cleanse(raw, n);
    free(raw);
    return b64;
}
