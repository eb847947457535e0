/* ib_session.c - one authenticated IMAP connection on our stream driver:
 * connect, greeting, STARTTLS, CAPABILITY, login (SASL in ib_sasl.c), ENABLE, NAMESPACE,
 * SELECT/EXAMINE, and the one place libetpan codes become CM_E* codes. */
#include "imapbridge/ib_session.h"

#include "imapbridge/ib_etpan.h"
#include "imapbridge/ib_ext.h"
#include "imapbridge/ib_sasl.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libetpan/libetpan.h>

#include "common/cm_log.h"
#include "common/cm_time.h"
#include "imapbridge/ib_stream.h"

#define DEFAULT_TIMEOUT_SECS 30
#define LOGOUT_TIMEOUT_MS 1000
#define LOG_DATA_MAX 200

struct ib_session {
    mailimap *imap;
    char *username;
    unsigned int caps;      /* enum ib_cap bits usable on this session */
    bool dovecot;           /* the greeting named Dovecot: X-GUID works */
    bool broken;
    bool in_auth;           /* credentials on the wire: log nothing we send */
    char delimiter;
    char *selected;         /* wire name of the selected folder or NULL */
    bool selected_rw;
    char *pending;          /* wire name of an EXAMINE/SELECT sent, answer not read */
    bool pending_rw;
    uint64_t highestmodseq; /* of the selected folder */
    bool synced;            /* the selection is as current as a NOOP or a (re)select
                               made it since the session was checked out (the pool's
                               revalidation clears it): a request sees one
                               snapshot and ib_session_sync has nothing to do */
    bool unconfirmed;       /* revalidation skipped and no answer since (ib_session_reuse_failed) */
    bool noop_unconfirmed;  /* unconfirmed when the pipelined sync NOOP was sent */
    uint64_t heard_ms;      /* when the server last answered a command */
    char logkv[160];
};

/* ---- logging ---------------------------------------------------------- */

/* One log record of at most LOG_DATA_MAX bytes of buf (NULs shown as
   spaces). */
static void log_data(const struct ib_session *s, const char *dir, const char *buf, size_t len)
{
    char text[LOG_DATA_MAX + 1], kv[sizeof(s->logkv) + LOG_DATA_MAX + 16];

    if (len > LOG_DATA_MAX)
        len = LOG_DATA_MAX;
    for (size_t i = 0; i < len; i++)
        text[i] = buf[i] == '\0' ? ' ' : buf[i];
    text[len] = '\0';
    snprintf(kv, sizeof(kv), "%s", s->logkv);
    cm_log_kv(kv, sizeof(kv), "data", text);
    cm_debug(kv, "imap %s", dir);
}

/* libetpan -> cm_log at debug level. Only the data types are logged (the
   INFO types carry libetpan's "   (LOGIN, AUTHENTICATE) is dropped, and as a second guard nothing we send
   is logged while credentials are on the wire. What we send is logged a
   line a record (pipelined commands leave in one write); what we receive
   a read a record. Buffers can be whole message literals, so each record
   is truncated. */
static void imap_logger(mailimap *imap, int type, const char *buf, size_t len, void *ctx)
{
    struct ib_session *s = ctx;

    (void)imap;
    if (cm_log_get_level() > CM_LOG_DEBUG)
        return;
    if (type == MAILSTREAM_LOG_TYPE_DATA_SENT && !s->in_auth) {
        while (len > 0) {
            const char *nl = memchr(buf, '\n', len);
            size_t n = nl ? (size_t)(nl - buf) + 1 : len;

            log_data(s, "C", buf, n);
            buf += n;
            len -= n;
        }
    } else if (type == MAILSTREAM_LOG_TYPE_DATA_RECEIVED) {
        log_data(s, "S", buf, len);
    } else if (type == MAILSTREAM_LOG_TYPE_ERROR_PARSE ||
               type == MAILSTREAM_LOG_TYPE_ERROR_RECEIVED ||
               type == MAILSTREAM_LOG_TYPE_ERROR_SENT) {
        cm_debug(s->logkv, "imap stream error (type %d)", type);
    }
}

/* ---- error classification --------------------------------------------- */

static const char *server_text(const struct ib_session *s)
{
    return s->imap != NULL && s->imap->imap_response != NULL ? s->imap->imap_response : "";
}

/* libetpan maps both a tagged BAD and a tag mismatch to ERROR_PROTOCOL;
   only the first leaves the session in sync. Look at the last line read. */
static bool last_line_is_tagged_bad(const struct ib_session *s)
{
    const MMAPString *b = s->imap->imap_stream_buffer;
    char tag[24];
    size_t end, start, tl;

    if (b == NULL || b->len == 0)
        return false;
    end = b->len;
    while (end > 0 && (b->str[end - 1] == '\n' || b->str[end - 1] == '\r'))
        end--;
    start = end;
    while (start > 0 && b->str[start - 1] != '\n')
        start--;
    tl = (size_t)snprintf(tag, sizeof(tag), "%d BAD ", s->imap->imap_tag);
    return end - start >= tl && strncasecmp(b->str + start, tag, tl) == 0;
}

static int check_stream_failure(struct ib_session *s, const char *what, struct cm_err *err)
{
    const char *msg = "";
    mailstream_low *low = s->imap->imap_stream ? s->imap->imap_stream->low : NULL;
    enum ib_stream_fail f = low ? ib_stream_failure(low, &msg) : IB_STREAM_FAIL_NONE;

    s->broken = true;
    switch (f) {
    case IB_STREAM_FAIL_TIMEOUT:
        return cm_err_set(err, CM_ETIMEOUT, "imap %s: %s", what, msg);
    case IB_STREAM_FAIL_NONE:
        return cm_err_set(err, CM_EUPSTREAM, "imap %s: connection lost", what);
    case IB_STREAM_FAIL_REFUSED:
        return cm_err_set(err, CM_EUNAVAIL, "imap %s: %s", what, msg);
    default:
        return cm_err_set(err, CM_EUPSTREAM, "imap %s: %s", what, msg);
    }
}

static int classify(struct ib_session *s, int rc, const char *what, struct cm_err *err)
{
    mailstream_low *low;

    if (rc == MAILIMAP_NO_ERROR || rc == MAILIMAP_NO_ERROR_AUTHENTICATED ||
        rc == MAILIMAP_NO_ERROR_NON_AUTHENTICATED)
        return 0;
    low = s->imap->imap_stream ? s->imap->imap_stream->low : NULL;
    if (rc == MAILIMAP_ERROR_STREAM ||
        (low != NULL && ib_stream_failure(low, NULL) != IB_STREAM_FAIL_NONE))
        return check_stream_failure(s, what, err);
    switch (rc) {
    case MAILIMAP_ERROR_LOGIN:
        return cm_err_set(err, CM_EAUTH, "imap %s refused: %.160s", what, server_text(s));
    case MAILIMAP_ERROR_PROTOCOL:
        if (last_line_is_tagged_bad(s))
            return cm_err_set(err, CM_EUPSTREAM, "imap %s: BAD %.160s", what, server_text(s));
        s->broken = true;
        return cm_err_set(err, CM_EUPSTREAM, "imap %s: protocol error (unexpected tag)", what);
    case MAILIMAP_ERROR_FATAL:
        s->broken = true;
        return cm_err_set(err, CM_EUPSTREAM, "imap %s: server said BYE %.160s", what,
                          server_text(s));
    case MAILIMAP_ERROR_DONT_ACCEPT_CONNECTION:
    case MAILIMAP_ERROR_CONNECTION_REFUSED:
        s->broken = true;
        return cm_err_set(err, CM_EUNAVAIL, "imap %s: server refused the connection %.160s",
                          what, server_text(s));
    case MAILIMAP_ERROR_PARSE:
    case MAILIMAP_ERROR_EXTENSION:
    case MAILIMAP_ERROR_NEEDS_MORE_DATA:
    case MAILIMAP_ERROR_SSL:
        s->broken = true;
        return cm_err_set(err, CM_EUPSTREAM, "imap %s: unparsable response", what);
    case MAILIMAP_ERROR_MEMORY:
        s->broken = true;
        return cm_err_set(err, CM_ENOMEM, "imap %s: out of memory", what);
    case MAILIMAP_ERROR_BAD_STATE:
        return cm_err_set(err, CM_EINTERNAL, "imap %s: not allowed in this state", what);
    case MAILIMAP_ERROR_INVAL:
        return cm_err_set(err, CM_EINVAL, "imap %s: invalid argument", what);
    default: /* a tagged NO of a command: the session stays usable */
        return cm_err_set(err, CM_EUPSTREAM, "imap %s: NO %.160s", what, server_text(s));
    }
}

int ib_session_check(struct ib_session *s, int rc, const char *what, struct cm_err *err)
{
    int code = classify(s, rc, what, err);

    if (!s->broken && code != CM_EINTERNAL && code != CM_EINVAL) { /* the server answered */
        s->heard_ms = cm_now_ms();
        s->unconfirmed = false;
    }
    return code;
}

/* ---- capabilities ----------------------------------------------------- */

struct cap_name {
    const char *name;
    unsigned int bit;
};

static const struct cap_name cap_names[] = {
    { "IDLE", IB_CAP_IDLE },           { "CONDSTORE", IB_CAP_CONDSTORE },
    { "QRESYNC", IB_CAP_QRESYNC },     { "MOVE", IB_CAP_MOVE },
    { "UIDPLUS", IB_CAP_UIDPLUS },     { "SPECIAL-USE", IB_CAP_SPECIAL_USE },
    { "LIST-STATUS", IB_CAP_LIST_STATUS }, { "ESEARCH", IB_CAP_ESEARCH },
    { "SORT", IB_CAP_SORT },           { "THREAD=REFERENCES", IB_CAP_THREAD_REFS },
    { "NAMESPACE", IB_CAP_NAMESPACE }, { "ENABLE", IB_CAP_ENABLE },
    { "COMPRESS=DEFLATE", IB_CAP_COMPRESS }, { "OBJECTID", IB_CAP_OBJECTID },
    { "X-GM-EXT-1", IB_CAP_XGMEXT },   { "NOTIFY", IB_CAP_NOTIFY },
    { "ID", IB_CAP_ID },               { "LITERAL+", IB_CAP_LITERALPLUS },
    { "PREVIEW", IB_CAP_PREVIEW },     { "UNSELECT", IB_CAP_UNSELECT },
    { "SEARCHRES", IB_CAP_SEARCHRES }, { "ESORT", IB_CAP_ESORT },
    { "CONTEXT=SEARCH", IB_CAP_CONTEXT }, { "CONTEXT=SORT", IB_CAP_CONTEXT },
    { "PARTIAL", IB_CAP_CONTEXT },
};

static unsigned int caps_from_cache(mailimap *imap)
{
    unsigned int bits = 0;

    for (size_t i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++) {
        if (mailimap_has_extension(imap, cap_names[i].name))
            bits |= cap_names[i].bit;
    }
    return bits;
}

/* Ask CAPABILITY explicitly: the cache may be stale or empty. */
static int refresh_caps(struct ib_session *s, struct cm_err *err)
{
    struct mailimap_capability_data *cd = NULL;
    int rc = ib_session_check(s, mailimap_capability(s->imap, &cd), "CAPABILITY", err);

    if (cd != NULL)
        mailimap_capability_data_free(cd);
    if (rc == 0)
        s->caps = caps_from_cache(s->imap) | (s->dovecot ? IB_CAP_XGUID : 0u);
    return rc;
}

/* libetpan's capability cache: filled by the greeting's and any tagged or
   untagged response's [CAPABILITY ...] code and by "* CAPABILITY". */
static const struct mailimap_capability_data *cached_caps(const mailimap *imap)
{
    return imap->imap_connection_info != NULL ? imap->imap_connection_info->imap_capability
                                              : NULL;
}

/* Identity of the cached list, to tell afterwards whether an answer
   replaced it: libetpan parses the new list while the old one is still
   allocated, then frees the old one, so a replacement never has the same
   address. */
static uintptr_t caps_stamp(const mailimap *imap)
{
    return (uintptr_t)cached_caps(imap);
}

/* Drop the cached list (after STARTTLS: RFC 3501 6.2.1, what was said in
   the clear is not to be trusted). */
static void forget_caps(mailimap *imap)
{
    if (imap->imap_connection_info != NULL && imap->imap_connection_info->imap_capability != NULL) {
        mailimap_capability_data_free(imap->imap_connection_info->imap_capability);
        imap->imap_connection_info->imap_capability = NULL;
    }
}

/* Capabilities before login: the greeting's [CAPABILITY ...] code when it
   had one (Dovecot, Cyrus), else ask. */
static int greeting_caps(struct ib_session *s, struct cm_err *err)
{
    if (cached_caps(s->imap) == NULL)
        return refresh_caps(s, err);
    s->caps = caps_from_cache(s->imap) | (s->dovecot ? IB_CAP_XGUID : 0u);
    return 0;
}

/* ENABLE CONDSTORE/QRESYNC when offered; QRESYNC is only usable enabled. */
static int enable_exts(struct ib_session *s, struct cm_err *err)
{
    struct mailimap_capability_data *want, *got = NULL;
    clist *l;
    bool qresync = false;
    int rc;

    if (!(s->caps & IB_CAP_ENABLE) || !(s->caps & (IB_CAP_CONDSTORE | IB_CAP_QRESYNC))) {
        s->caps &= ~(unsigned int)IB_CAP_QRESYNC;
        return 0;
    }
    l = clist_new();
    if (l == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    if (s->caps & IB_CAP_CONDSTORE)
        clist_append(l, mailimap_capability_new(MAILIMAP_CAPABILITY_NAME, NULL, strdup("CONDSTORE")));
    if (s->caps & IB_CAP_QRESYNC)
        clist_append(l, mailimap_capability_new(MAILIMAP_CAPABILITY_NAME, NULL, strdup("QRESYNC")));
    want = mailimap_capability_data_new(l);
    rc = ib_session_check(s, mailimap_enable(s->imap, want, &got), "ENABLE", err);
    for (clistiter *it = got ? clist_begin(got->cap_list) : NULL; it; it = clist_next(it)) {
        struct mailimap_capability *c = clist_content(it);

        if (c->cap_type == MAILIMAP_CAPABILITY_NAME && strcasecmp(c->cap_data.cap_name, "QRESYNC") == 0)
            qresync = true;
    }
    if (!qresync)
        s->caps &= ~(unsigned int)IB_CAP_QRESYNC;
    if (qresync)
        s->caps |= IB_CAP_CONDSTORE; /* QRESYNC implies CONDSTORE */
    mailimap_capability_data_free(want);
    if (got != NULL)
        mailimap_capability_data_free(got);
    return s->broken ? rc : 0; /* a refused ENABLE only loses the extension */
}

/* Hierarchy delimiter from LIST "" "" (no NAMESPACE, or it was refused). */
static int list_delimiter(struct ib_session *s, struct cm_err *err)
{
    clist *l = NULL;
    int rc = ib_session_check(s, mailimap_list(s->imap, "", "", &l), "LIST", err);

    if (rc == 0 && l != NULL && clist_begin(l) != NULL) {
        struct mailimap_mailbox_list *mb = clist_content(clist_begin(l));

        s->delimiter = mb->mb_delimiter;
    }
    if (l != NULL)
        mailimap_list_result_free(l);
    return s->broken ? rc : 0;
}

/* ---- open ------------------------------------------------------------- */

static unsigned int timeout_ms_of(const struct ib_upstream *up)
{
    return (up->timeout_secs ? up->timeout_secs : DEFAULT_TIMEOUT_SECS) * 1000u;
}

static struct ib_session *session_new(const struct ib_upstream *up, const char *username)
{
    struct ib_session *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    s->imap = mailimap_new(0, NULL);
    s->username = strdup(username ? username : "");
    if (s->imap == NULL || s->username == NULL) {
        if (s->imap != NULL)
            mailimap_free(s->imap);
        free(s->username);
        free(s);
        return NULL;
    }
    /* Our driver has its own timeout; set libetpan's too (before connect). */
    mailimap_set_timeout(s->imap, up->timeout_secs ? up->timeout_secs : DEFAULT_TIMEOUT_SECS);
    mailimap_set_logger(s->imap, imap_logger, s);
    cm_log_kv(s->logkv, sizeof(s->logkv), "imap_host", up->host);
    if (username != NULL)
        cm_log_kv(s->logkv, sizeof(s->logkv), "imap_user", username);
    return s;
}

static int tls_opts_start(struct ib_session *s, const struct ib_upstream *up, struct cm_err *err)
{
    struct ib_stream_tls tls = { up->host, up->tls_verify, up->ca_file };
    int rc = ib_stream_start_tls(s->imap->imap_stream->low, &tls, err);

    if (rc < 0)
        s->broken = true;
    return rc;
}

/* TCP (+ implicit TLS) + greeting. */
static int connect_greeting(struct ib_session *s, const struct ib_upstream *up, struct cm_err *err)
{
    mailstream_low *low = NULL;
    mailstream *stream;
    int rc = ib_stream_connect(up->host, up->port, timeout_ms_of(up), 0, &low, err);

    if (rc < 0) {
        s->broken = true;
        return rc;
    }
    stream = mailstream_new(low, 8192);
    if (stream == NULL) {
        mailstream_low_close(low);
        mailstream_low_free(low);
        s->broken = true;
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    }
    s->imap->imap_stream = stream; /* owned by imap from here on */
    if (up->tls == IB_TLS_IMPLICIT && tls_opts_start(s, up, err) < 0)
        return err ? err->code : CM_EUNAVAIL;
    s->imap->imap_stream = NULL;   /* mailimap_connect wants a disconnected session */
    rc = ib_session_check(s, mailimap_connect(s->imap, stream), "greeting", err);
    if (rc == CM_EUPSTREAM && s->broken)
        rc = cm_err_set(err, CM_EUNAVAIL, "%s", err ? err->msg : "bad greeting");
    if (rc == 0)
        s->dovecot = strstr(server_text(s), "Dovecot") != NULL;
    return rc;
}

static int do_starttls(struct ib_session *s, const struct ib_upstream *up, struct cm_err *err)
{
    int rc;

    if (!mailimap_has_extension(s->imap, "STARTTLS")) {
        s->broken = true;
        return cm_err_set(err, CM_EUNAVAIL, "imap: server does not offer STARTTLS");
    }
    rc = ib_session_check(s, mailimap_starttls(s->imap), "STARTTLS", err);
    if (rc < 0)
        return rc;
    if (s->imap->imap_stream->read_buffer_len != 0) { /* CVE-2020-15953 */
        s->broken = true;
        return cm_err_set(err, CM_EUPSTREAM, "imap STARTTLS: plaintext data after the OK");
    }
    forget_caps(s->imap); /* never trust what was said before TLS */
    if (tls_opts_start(s, up, err) < 0)
        return err ? err->code : CM_EUNAVAIL;
    return refresh_caps(s, err);
}

/* ---- login: AUTHENTICATE (SASL messages and exchange in ib_sasl.c) ---- */

static int auth_plain(struct ib_session *s, const struct ib_creds *cr, struct cm_err *err)
{
    char *b64;
    int r;

    if (!mailimap_has_authentication(s->imap, "PLAIN"))
        return cm_err_set(err, CM_EUPSTREAM,
                          "imap: server has LOGINDISABLED and no AUTH=PLAIN (use TLS)");
    b64 = ib_sasl_plain_message(cr->username, cr->secret);
    if (b64 == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    r = ib_sasl_exchange(s->imap, "PLAIN", b64, "", NULL, 0);
    ib_sasl_free_secret(b64);
    return ib_session_check(s, r, "AUTHENTICATE PLAIN", err);
}

static int auth_oauthbearer(struct ib_session *s, const struct ib_upstream *up,
                            const struct ib_creds *cr, struct cm_err *err)
{
    char status[IB_SASL_STATUS_MAX] = "", *b64;
    int r, rc;

    if (!mailimap_has_authentication(s->imap, "OAUTHBEARER"))
        return cm_err_set(err, CM_EAUTH, "imap: server does not offer AUTH=OAUTHBEARER");
    if (ib_sasl_has_ctl(cr->username) || ib_sasl_has_ctl(cr->secret)) /* ^A separates the kvpairs */
        return cm_err_set(err, CM_EINVAL, "imap: user name or token with control characters");
    b64 = ib_sasl_oauthbearer_message(cr->username, up->host, up->port, cr->secret);
    if (b64 == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    r = ib_sasl_exchange(s->imap, "OAUTHBEARER", b64, "AQ==" /* base64 of ^A */, status,
                      sizeof(status));
    ib_sasl_free_secret(b64);
    rc = ib_session_check(s, r, "AUTHENTICATE OAUTHBEARER", err);
    if (rc == CM_EAUTH && status[0] != '\0')
        rc = cm_err_set(err, CM_EAUTH, "imap AUTHENTICATE OAUTHBEARER refused (status %s): %.160s",
                        status, server_text(s));
    return rc;
}

static int do_login(struct ib_session *s, const struct ib_upstream *up, const struct ib_creds *cr,
                    struct cm_err *err)
{
    int r;

    if (s->imap->imap_state == MAILIMAP_STATE_AUTHENTICATED)
        return 0; /* PREAUTH */
    switch (cr->mech) {
    case IB_AUTH_LOGIN:
        if (mailimap_has_extension(s->imap, "LOGINDISABLED"))
            return auth_plain(s, cr, err);
        r = mailimap_login(s->imap, cr->username, cr->secret);
        return ib_session_check(s, r, "LOGIN", err);
    case IB_AUTH_XOAUTH2:
        if (!mailimap_has_xoauth2(s->imap))
            return cm_err_set(err, CM_EAUTH, "imap: server does not offer AUTH=XOAUTH2");
        r = mailimap_oauth2_authenticate(s->imap, cr->username, cr->secret);
        return ib_session_check(s, r, "AUTHENTICATE XOAUTH2", err);
    case IB_AUTH_OAUTHBEARER:
        return auth_oauthbearer(s, up, cr, err);
    default:
        return cm_err_set(err, CM_EINVAL, "imap: unknown authentication mechanism");
    }
}

static int simple_command(mailimap *imap, const char *text, bool *warned_r);

/* "ID (...)" naming us and, from cr->origin, the user's address. The
   addresses are numeric (inet_ntop output), so they need no quoting. */
static bool origin_id_text(const struct ib_origin *o, char *dst, size_t cap)
{
    int n;

    if (o->ip[0] == '\0' || strpbrk(o->ip, "\"\\\r\n") != NULL ||
        strpbrk(o->local_ip, "\"\\\r\n") != NULL)
        return false;
    n = snprintf(dst, cap, "ID (\"name\" \"jmapgate\" \"version\" \"" JMAPGATE_VERSION
                           "\" \"x-originating-ip\" \"%s\"", o->ip);
    if (n > 0 && (size_t)n < cap && o->port != 0)
        n += snprintf(dst + n, cap - (size_t)n, " \"x-originating-port\" \"%u\"", o->port);
    if (n > 0 && (size_t)n < cap && o->local_ip[0] != '\0')
        n += snprintf(dst + n, cap - (size_t)n, " \"x-connected-ip\" \"%s\"", o->local_ip);
    if (n > 0 && (size_t)n < cap)
        n += snprintf(dst + n, cap - (size_t)n, ")");
    return n > 0 && (size_t)n < cap;
}

/* Printable ASCII without '"' and '\\' (no escapes, no literal needed). */
static bool plain_quotable(const char *text)
{
    for (; *text != '\0'; text++) {
        if ((unsigned char)*text < 0x20 || (unsigned char)*text > 0x7e || *text == '"' ||
            *text == '\\')
            return false;
    }
    return true;
}

/* ---- login and what follows it, pipelined ------------------------------
 *
 * ID, ENABLE and NAMESPACE depend on no answer but the login's, so they go
 * in the login's own write when the login is one line (LOGIN with quoted
 * strings, AUTHENTICATE PLAIN with SASL-IR): greeting, one write, answers
 * read in order = 1 round trip on Dovecot. That batch is speculative: the
 * post-login capabilities are not known yet, so ENABLE CONDSTORE QRESYNC
 * goes out when the pre-login list has ENABLE, NAMESPACE always; the
 * ENABLED list says what was enabled, and a NAMESPACE refused (or without
 * a personal namespace) falls back to LIST "" "". An ID offered only after
 * login costs a round trip of its own (the "* ID" answer is parsed by
 * libetpan's ID extension and dropped; a NO or BAD is ignored). When the login fails, the server answers them in the
 * not-authenticated state (Dovecot: "OK ENABLE ignored", "BAD" to
 * NAMESPACE): they are read and dropped, so LOGOUT still finds the stream
 * in step. Any other login (SASL exchanges, literals, PREAUTH) takes its
 * own round trip and the batch follows in one write, decided on the
 * post-login capabilities. */

#define ID_TEXT "ID (\"name\" \"jmapgate\" \"version\" \"" JMAPGATE_VERSION "\")"

/* Commands written together and answered in order; a tag of 0: not sent. */
struct batch {
    int tag_id, tag_enable, tag_ns;
    bool qresync, condstore; /* listed by ENABLED */
    bool ns_ok;              /* NAMESPACE gave a personal namespace (its delimiter) */
};

/* Write ID (want_id), ENABLE and NAMESPACE, unflushed. */
static int batch_send(struct ib_session *s, struct batch *b, bool speculative, bool want_id)
{
    unsigned int c = s->caps;
    const char *enable = NULL;
    int r = MAILIMAP_NO_ERROR;

    memset(b, 0, sizeof(*b));
    if ((c & IB_CAP_ENABLE) && (speculative || (c & IB_CAP_CONDSTORE && c & IB_CAP_QRESYNC)))
        enable = "ENABLE CONDSTORE QRESYNC";
    else if ((c & IB_CAP_ENABLE) && (c & IB_CAP_CONDSTORE))
        enable = "ENABLE CONDSTORE";
    else if ((c & IB_CAP_ENABLE) && (c & IB_CAP_QRESYNC))
        enable = "ENABLE QRESYNC";
    if (want_id && (c & IB_CAP_ID))
        r = ib_etpan_send_line(s->imap, ID_TEXT, &b->tag_id);
    if (r == MAILIMAP_NO_ERROR && enable != NULL)
        r = ib_etpan_send_line(s->imap, enable, &b->tag_enable);
    if (r == MAILIMAP_NO_ERROR && (speculative || (c & IB_CAP_NAMESPACE)))
        r = ib_etpan_send_line(s->imap, "NAMESPACE", &b->tag_ns);
    return r;
}

/* The untagged data of the answer just read: ENABLED, NAMESPACE. */
static void batch_take(struct ib_session *s, struct batch *b, bool enable)
{
    const struct mailimap_response_info *ri = s->imap->imap_response_info;

    for (clistiter *it = ri ? clist_begin(ri->rsp_extension_list) : NULL; it; it = clist_next(it)) {
        const struct mailimap_extension_data *ed = clist_content(it);
        int id = ed->ext_extension ? ed->ext_extension->ext_id : -1;

        if (enable && id == MAILIMAP_EXTENSION_ENABLE && ed->ext_data != NULL) {
            const struct mailimap_capability_data *cd = ed->ext_data;

            for (clistiter *c = clist_begin(cd->cap_list); c; c = clist_next(c)) {
                const struct mailimap_capability *cap = clist_content(c);

                if (cap->cap_type != MAILIMAP_CAPABILITY_NAME)
                    continue;
                if (strcasecmp(cap->cap_data.cap_name, "QRESYNC") == 0)
                    b->qresync = true;
                if (strcasecmp(cap->cap_data.cap_name, "CONDSTORE") == 0)
                    b->condstore = true;
            }
        } else if (!enable && id == MAILIMAP_EXTENSION_NAMESPACE && ed->ext_data != NULL &&
                   ed->ext_type == MAILIMAP_NAMESPACE_TYPE_NAMESPACE) {
            const struct mailimap_namespace_data *ns = ed->ext_data;

            if (ns->ns_personal != NULL && clist_begin(ns->ns_personal->ns_data_list) != NULL) {
                const struct mailimap_namespace_info *info =
                    clist_content(clist_begin(ns->ns_personal->ns_data_list));

                s->delimiter = info->ns_delimiter;
                b->ns_ok = true;
            }
        }
    }
}

/* Read the batch's answers in order; with apply (logged in) keep what they
   say. A NO or BAD only loses that command's result; anything else breaks
   the session. */
static int batch_recv(struct ib_session *s, struct batch *b, bool apply, struct cm_err *err)
{
    const int tags[3] = { b->tag_id, b->tag_enable, b->tag_ns };
    static const char *const what[3] = { "ID", "ENABLE", "NAMESPACE" };
    int last = s->imap->imap_tag; /* the next command's tag follows the highest */

    for (int i = 0; i < 3; i++)
        last = tags[i] > last ? tags[i] : last;
    for (int i = 0; i < 3; i++) {
        struct mailimap_response *resp = NULL;
        int r;

        if (tags[i] == 0)
            continue;
        s->imap->imap_tag = tags[i];
        r = ib_etpan_read_response(s->imap, &resp);
        if (r == MAILIMAP_NO_ERROR && ib_etpan_tagged_ok(resp) && apply && i > 0)
            batch_take(s, b, i == 1);
        if (resp != NULL)
            mailimap_response_free(resp);
        if (r != MAILIMAP_NO_ERROR && !(r == MAILIMAP_ERROR_PROTOCOL && last_line_is_tagged_bad(s))) {
            r = ib_session_check(s, r, what[i], err);
            s->imap->imap_tag = last;
            return r;
        }
    }
    s->imap->imap_tag = last;
    return 0;
}

/* The login as one command line, or NULL when it needs a round trip of its
   own (a literal, a SASL exchange, another mechanism, PREAUTH). */
static char *login_line(struct ib_session *s, const struct ib_creds *cr, bool *sasl_r)
{
    char *line = NULL, *b64;
    size_t cap;

    *sasl_r = false;
    if (cr->mech != IB_AUTH_LOGIN || s->imap->imap_state == MAILIMAP_STATE_AUTHENTICATED)
        return NULL;
    if (!mailimap_has_extension(s->imap, "LOGINDISABLED")) {
        if (!plain_quotable(cr->username) || !plain_quotable(cr->secret))
            return NULL;
        cap = strlen(cr->username) + strlen(cr->secret) + 16;
        if ((line = malloc(cap)) != NULL)
            snprintf(line, cap, "LOGIN \"%s\" \"%s\"", cr->username, cr->secret);
        return line;
    }
    if (!mailimap_has_authentication(s->imap, "PLAIN") || !mailimap_has_extension(s->imap, "SASL-IR"))
        return NULL;
    if ((b64 = ib_sasl_plain_message(cr->username, cr->secret)) == NULL)
        return NULL;
    cap = strlen(b64) + 32;
    if ((line = malloc(cap)) != NULL)
        snprintf(line, cap, "AUTHENTICATE PLAIN %s", b64);
    ib_sasl_free_secret(b64);
    *sasl_r = line != NULL;
    return line;
}

/* [ID (origin)] LOGIN [ID] [ENABLE] [NAMESPACE] in one write, flushed
   with the stream's privacy flag (the protocol log never shows it), then
   the answers in order. The pre-login ID's answer (even NO/BAD) is
   dropped. */
static int pipelined_login(struct ib_session *s, const char *line, bool sasl, const char *id,
                           struct batch *b, struct cm_err *err)
{
    mailimap *imap = s->imap;
    const char *what = sasl ? "AUTHENTICATE PLAIN" : "LOGIN";
    struct mailimap_response *resp = NULL;
    int tid = 0, tlogin = 0, rc, r = MAILIMAP_NO_ERROR;
    bool cont = false;

    mailstream_set_privacy(imap->imap_stream, 0);
    if (id != NULL)
        r = ib_etpan_send_line(imap, id, &tid);
    if (r == MAILIMAP_NO_ERROR)
        r = ib_etpan_send_line(imap, line, &tlogin);
    if (r == MAILIMAP_NO_ERROR)
        r = batch_send(s, b, true, id == NULL);
    if (r == MAILIMAP_NO_ERROR && mailstream_flush(imap->imap_stream) == -1)
        r = MAILIMAP_ERROR_STREAM;
    mailstream_set_privacy(imap->imap_stream, 1);
    if (r == MAILIMAP_NO_ERROR && tid != 0) {
        imap->imap_tag = tid;
        r = ib_etpan_read_response(imap, &resp);
        if (resp != NULL)
            mailimap_response_free(resp);
        if (r == MAILIMAP_ERROR_PROTOCOL && last_line_is_tagged_bad(s))
            r = MAILIMAP_NO_ERROR; /* BAD to ID: ignored, the stream is in step */
    }
    imap->imap_tag = tlogin;
    if (r == MAILIMAP_NO_ERROR)
        r = ib_sasl_read(imap, &cont);
    if (r == MAILIMAP_NO_ERROR && cont) {
        /* a challenge after an initial response: our next lines went to it */
        s->broken = true;
        return cm_err_set(err, CM_EUPSTREAM, "imap %s: unexpected continuation", what);
    }
    if (r == MAILIMAP_NO_ERROR)
        r = ib_sasl_result(imap);
    rc = ib_session_check(s, r, what, err);
    if (rc < 0 && !s->broken) {
        /* refused: read (and drop) the answers to the batch, then the
           login's error stands */
        if (batch_recv(s, b, false, NULL) < 0)
            s->broken = true;
        return rc;
    }
    if (rc == 0)
        rc = batch_recv(s, b, true, err);
    return rc;
}

/* The login (with the user's address in an ID first when the server offers
   ID and the address is known) and, in the same write where possible, the
   batch; *batched_r tells whether it went. */
static int login_and_batch(struct ib_session *s, const struct ib_upstream *up,
                           const struct ib_creds *cr, struct batch *b, bool *batched_r,
                           bool *id_sent_r, struct cm_err *err)
{
    char id[320], *line;
    bool sasl, with_id;
    int rc;

    *batched_r = *id_sent_r = false;
    with_id = (s->caps & IB_CAP_ID) && s->imap->imap_state != MAILIMAP_STATE_AUTHENTICATED &&
              origin_id_text(&cr->origin, id, sizeof(id));
    line = login_line(s, cr, &sasl);
    if (line != NULL) {
        *batched_r = true;
        *id_sent_r = with_id; /* else the batch has it when offered */
        rc = pipelined_login(s, line, sasl, with_id ? id : NULL, b, err);
        ib_sasl_free_secret(line);
        return rc;
    }
    if (with_id) {
        *id_sent_r = true;
        rc = ib_session_check(s, simple_command(s->imap, id, NULL), "ID", err);
        if (s->broken)
            return rc;
        cm_err_clear(err);
    }
    return do_login(s, up, cr, err);
}

/* After the login: the capabilities (from its answer when it had them,
   else asked), the batch if it did not go with the login, and what the
   batch could not settle (ENABLE when it was not sent, the LIST
   delimiter fallback). */
static int after_login(struct ib_session *s, struct batch *b, bool batched, bool id_sent,
                       bool caps_fresh, struct cm_err *err)
{
    int rc = 0, r;

    if (caps_fresh)
        s->caps = caps_from_cache(s->imap) | (s->dovecot ? IB_CAP_XGUID : 0u);
    else
        rc = refresh_caps(s, err);
    if (rc == 0 && !batched) {
        r = batch_send(s, b, false, !id_sent);
        if (r == MAILIMAP_NO_ERROR && mailstream_flush(s->imap->imap_stream) == -1)
            r = MAILIMAP_ERROR_STREAM;
        rc = r == MAILIMAP_NO_ERROR ? batch_recv(s, b, true, err) : ib_session_check(s, r, "ENABLE", err);
    }
    if (rc == 0 && !id_sent && b->tag_id == 0 && (s->caps & IB_CAP_ID)) {
        /* offered only after login: its own round trip; a NO or BAD is ignored */
        rc = ib_session_check(s, simple_command(s->imap, ID_TEXT, NULL), "ID", err);
        rc = s->broken ? rc : 0;
    }
    if (rc < 0)
        return rc;
    if (b->tag_enable == 0) {
        rc = enable_exts(s, err);
    } else {
        /* The ENABLE went out before the post-login capabilities were
           known: use only what the server both enabled and offers (a
           server may enable what it does not advertise, e.g. Dovecot with
           imap_capability trimmed). QRESYNC implies CONDSTORE. */
        unsigned int offered = s->caps;

        s->caps &= ~(unsigned int)(IB_CAP_CONDSTORE | IB_CAP_QRESYNC);
        if (b->qresync && (offered & IB_CAP_QRESYNC))
            s->caps |= IB_CAP_QRESYNC | IB_CAP_CONDSTORE;
        if ((b->condstore || b->qresync) && (offered & (IB_CAP_CONDSTORE | IB_CAP_QRESYNC)))
            s->caps |= IB_CAP_CONDSTORE;
    }
    if (rc == 0 && !b->ns_ok)
        rc = list_delimiter(s, err);
    return rc;
}

/* Credentials on the wire: log nothing we send meanwhile. */
static int login_guarded(struct ib_session *s, const struct ib_upstream *up,
                         const struct ib_creds *cr, bool preauth_caps, struct cm_err *err)
{
    uintptr_t stamp = caps_stamp(s->imap);
    struct batch b;
    bool batched, id_sent, fresh;
    int rc;

    memset(&b, 0, sizeof(b));
    s->in_auth = true;
    rc = login_and_batch(s, up, cr, &b, &batched, &id_sent, err);
    s->in_auth = false;
    if (rc < 0)
        return rc;
    /* Dovecot sends [CAPABILITY ...] in the login's OK; PREAUTH: the
       greeting's list is the authenticated one */
    fresh = cached_caps(s->imap) != NULL && (caps_stamp(s->imap) != stamp || preauth_caps);
    return after_login(s, &b, batched, id_sent, fresh, err);
}

/* The result of a command built by hand: MAILIMAP_ERROR_CUSTOM_COMMAND for
   a NO or BAD. With warned_r, tells whether the server sent an untagged NO
   or BAD along (a warning, RFC 3501 §7.1, which libetpan's own commands
   drop). Frees resp. */
static int hand_result(struct mailimap_response *resp, bool *warned_r)
{
    bool ok;

    for (clistiter *it = warned_r && resp->rsp_cont_req_or_resp_data_list
                             ? clist_begin(resp->rsp_cont_req_or_resp_data_list) : NULL;
         it != NULL; it = clist_next(it)) {
        const struct mailimap_cont_req_or_resp_data *d = clist_content(it);
        const struct mailimap_response_data *rd =
            d->rsp_type == MAILIMAP_RESP_RESP_DATA ? d->rsp_data.rsp_resp_data : NULL;

        if (rd != NULL && rd->rsp_type == MAILIMAP_RESP_DATA_TYPE_COND_STATE &&
            rd->rsp_data.rsp_cond_state->rsp_type != MAILIMAP_RESP_COND_STATE_OK)
            *warned_r = true;
    }
    ok = ib_etpan_tagged_ok(resp);
    mailimap_response_free(resp);
    return ok ? MAILIMAP_NO_ERROR : MAILIMAP_ERROR_CUSTOM_COMMAND;
}

/* "<tag> <text>" and its response, like mailimap_custom_command without
   the trailing space that one sends; the result as hand_result gives it. */
static int simple_command(mailimap *imap, const char *text, bool *warned_r)
{
    struct mailimap_response *resp = NULL;
    int r = ib_etpan_command(imap, text, &resp);

    return r == MAILIMAP_NO_ERROR ? hand_result(resp, warned_r) : r;
}

/* Nothing a client sends reaches IMAP as raw text: no CR, LF (or NUL). */
static bool has_crlf(const char *text)
{
    return text == NULL || strpbrk(text, "\r\n") != NULL;
}

/* RFC 4978: COMPRESS DEFLATE, then compress both directions in our driver
   (Debian's libetpan has its own COMPRESS compiled out, LIBS.md §0.6, so
   mailimap_compress() must never be called). */
static int start_compress(struct ib_session *s, struct cm_err *err)
{
    mailstream *ms = s->imap->imap_stream;
    int rc = ib_session_check(s, mailimap_custom_command(s->imap, "COMPRESS DEFLATE"),
                              "COMPRESS", err);

    if (rc < 0)
        return s->broken ? rc : 0; /* refused: go on uncompressed */
    if (ms->read_buffer_len != 0) {
        s->broken = true;
        return cm_err_set(err, CM_EUPSTREAM, "imap: data after the COMPRESS answer");
    }
    rc = ib_stream_start_compress(ms->low, err);
    if (rc < 0)
        s->broken = true;
    else
        cm_debug(s->logkv, "imap COMPRESS=DEFLATE on");
    return rc;
}

int ib_session_open(const struct ib_upstream *up, const struct ib_creds *cr,
                    struct ib_session **s_r, struct cm_err *err)
{
    struct ib_session *s;
    bool preauth_caps;
    int rc;

    if (cr == NULL || has_crlf(cr->username) || has_crlf(cr->secret) || cr->username[0] == '\0')
        return cm_err_set(err, CM_EINVAL, "imap: user name or secret missing or with CR/LF");
    ib_ext_register(); /* X-GUID, OBJECTID, ESEARCH, PREVIEW parsers (once per process) */
    s = session_new(up, cr->username);
    if (s == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    rc = connect_greeting(s, up, err);
    preauth_caps = rc == 0 && s->imap->imap_state == MAILIMAP_STATE_AUTHENTICATED &&
                   cached_caps(s->imap) != NULL;
    if (rc == 0)
        rc = greeting_caps(s, err);
    if (rc == 0 && up->tls == IB_TLS_STARTTLS)
        rc = do_starttls(s, up, err);
    if (rc == 0)
        rc = login_guarded(s, up, cr, preauth_caps, err);
    if (rc == 0 && up->compress && (s->caps & IB_CAP_COMPRESS))
        rc = start_compress(s, err);
    if (rc < 0) {
        cm_debug(s->logkv, "imap session open failed: %s", err ? err->msg : "");
        ib_session_close(&s);
        return rc;
    }
    cm_debug(s->logkv, "imap session open caps=0x%x", s->caps);
    *s_r = s;
    return 0;
}

int ib_upstream_probe(const struct ib_upstream *up, struct cm_err *err)
{
    struct ib_session *s = session_new(up, NULL);
    int rc;

    if (s == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    rc = connect_greeting(s, up, err);
    s->broken = true; /* drop without LOGOUT */
    ib_session_close(&s);
    return rc;
}

/* ---- close, accessors ------------------------------------------------- */

void ib_session_close(struct ib_session **sp)
{
    struct ib_session *s = *sp;

    *sp = NULL;
    if (s == NULL)
        return;
    if (s->imap->imap_stream != NULL) {
        if (!s->broken && s->imap->imap_state != MAILIMAP_STATE_DISCONNECTED) {
            ib_stream_set_timeout(s->imap->imap_stream->low, LOGOUT_TIMEOUT_MS);
            (void)mailimap_logout(s->imap); /* closes the stream */
        } else {
            mailstream_close(s->imap->imap_stream);
        }
        s->imap->imap_stream = NULL;
    }
    mailimap_free(s->imap);
    free(s->username);
    free(s->selected);
    free(s->pending);
    free(s);
}

void ib_session_abort(struct ib_session **sp)
{
    if (*sp != NULL)
        (*sp)->broken = true;
    ib_session_close(sp);
}

bool ib_session_is_broken(const struct ib_session *s)
{
    return s->broken;
}

unsigned int ib_session_caps(const struct ib_session *s)
{
    return s->caps;
}

const char *ib_session_username(const struct ib_session *s)
{
    return s->username;
}

char ib_session_delimiter(const struct ib_session *s)
{
    return s->delimiter;
}

const char *ib_session_selected(const struct ib_session *s)
{
    return s->selected;
}

struct mailimap *ib_session_imap(struct ib_session *s)
{
    return s->imap;
}

bool ib_session_has_input(struct ib_session *s)
{
    mailstream *st = s->imap->imap_stream;
    struct pollfd pfd;

    if (st == NULL)
        return false;
    if (st->read_buffer_len > 0 || ib_stream_has_pending(st->low))
        return true;
    pfd.fd = ib_stream_fd(st->low);
    pfd.events = POLLIN | POLLRDHUP;
    pfd.revents = 0;
    return pfd.fd >= 0 && poll(&pfd, 1, 0) > 0;
}

int ib_session_noop(struct ib_session *s, struct cm_err *err)
{
    if (s->broken)
        return cm_err_set(err, CM_EUPSTREAM, "imap: session is broken");
    return ib_session_check(s, mailimap_noop(s->imap), "NOOP", err);
}

/* ---- select ----------------------------------------------------------- */

static void fill_selection(struct ib_session *s, struct ib_selection *sel_r)
{
    const struct mailimap_selection_info *si = s->imap->imap_selection_info;

    if (sel_r == NULL)
        return;
    memset(sel_r, 0, sizeof(*sel_r));
    if (si != NULL) {
        sel_r->uidvalidity = si->sel_uidvalidity;
        sel_r->uidnext = si->sel_uidnext;
        sel_r->exists = si->sel_exists;
    }
    sel_r->highestmodseq = s->highestmodseq;
}

/* Did the last tagged NO carry RFC 5530's [NONEXISTENT]? libetpan keeps an
   unknown response code's atom in the response info. */
static bool said_nonexistent(const struct ib_session *s)
{
    const struct mailimap_response_info *ri = s->imap->imap_response_info;

    return !s->broken && ri != NULL && ri->rsp_atom != NULL &&
           strcasecmp(ri->rsp_atom, "NONEXISTENT") == 0;
}

/* After a NO to SELECT: does LIST still show the folder? Dovecot 2.3 says
   "NO Mailbox doesn't exist" without the [NONEXISTENT] code. When LIST
   itself fails, say yes (the NO stays an upstream error). */
static bool folder_listed(struct ib_session *s, const char *imap_name)
{
    clist *list = NULL;
    bool found = true;

    if (s->broken)
        return true;
    if (ib_session_check(s, mailimap_list(s->imap, "", imap_name, &list), "LIST", NULL) == 0) {
        found = false;
        for (clistiter *it = list ? clist_begin(list) : NULL; it && !found; it = clist_next(it)) {
            const struct mailimap_mailbox_list *mb = clist_content(it);

            found = strcmp(mb->mb_name, imap_name) == 0 ||
                    (strcasecmp(imap_name, "INBOX") == 0 && strcasecmp(mb->mb_name, "INBOX") == 0);
        }
    }
    if (list != NULL)
        mailimap_list_result_free(list);
    return found;
}

int ib_session_select(struct ib_session *s, const char *imap_name, bool read_only,
                      struct ib_selection *sel_r, struct cm_err *err)
{
    uint64_t hms = 0;
    bool condstore = (s->caps & IB_CAP_CONDSTORE) != 0;
    int r, rc;

    if (s->broken)
        return cm_err_set(err, CM_EUPSTREAM, "imap: session is broken");
    if (has_crlf(imap_name) || imap_name[0] == '\0')
        return cm_err_set(err, CM_EINVAL, "imap: bad folder name");
    if (s->selected != NULL && strcmp(s->selected, imap_name) == 0 &&
        read_only != s->selected_rw) {
        /* Reuse the selection, but let the server tell us what changed
           since (new mail, expunges, flags): a stale view would hide them. */
        rc = ib_session_sync(s, err);
        if (rc < 0)
            return rc;
        if (s->selected != NULL) {
            fill_selection(s, sel_r);
            return 0;
        }
        /* the NOOP drew a warning and the folder was unselected: open it afresh */
    }
    free(s->selected);
    s->selected = NULL; /* a failed SELECT leaves nothing selected */
    if (read_only)
        r = condstore ? mailimap_examine_condstore(s->imap, imap_name, &hms)
                      : mailimap_examine(s->imap, imap_name);
    else
        r = condstore ? mailimap_select_condstore(s->imap, imap_name, &hms)
                      : mailimap_select(s->imap, imap_name);
    rc = ib_session_check(s, r, read_only ? "EXAMINE" : "SELECT", err);
    if (rc < 0 && (said_nonexistent(s) || (rc == CM_EUPSTREAM && !folder_listed(s, imap_name))))
        return cm_err_set(err, CM_ENOENT, "imap: no such mailbox");
    if (rc < 0)
        return rc;
    s->selected = strdup(imap_name);
    if (s->selected == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    s->selected_rw = !read_only && s->imap->imap_selection_info != NULL &&
                     s->imap->imap_selection_info->sel_perm != MAILIMAP_MAILBOX_READONLY;
    s->highestmodseq = hms;
    fill_selection(s, sel_r);
    return 0;
}

/* The HIGHESTMODSEQ (0: NOMODSEQ or none) of the last response's codes. */
static uint64_t response_modseq(const mailimap *imap)
{
    uint64_t v = 0;

    for (clistiter *it = imap->imap_response_info != NULL
                             ? clist_begin(imap->imap_response_info->rsp_extension_list) : NULL;
         it != NULL; it = clist_next(it)) {
        const struct mailimap_extension_data *d = clist_content(it);
        const struct mailimap_condstore_resptextcode *c = d->ext_data;

        if (d->ext_extension->ext_id != MAILIMAP_EXTENSION_CONDSTORE ||
            d->ext_type != MAILIMAP_CONDSTORE_TYPE_RESP_TEXT_CODE)
            continue;
        if (c->cs_type == MAILIMAP_CONDSTORE_RESPTEXTCODE_HIGHESTMODSEQ)
            v = c->cs_data.cs_modseq_value;
        else if (c->cs_type == MAILIMAP_CONDSTORE_RESPTEXTCODE_NOMODSEQ)
            v = 0;
    }
    return v;
}

/* "EXAMINE|SELECT <quoted name>[ (CONDSTORE)]" into buf; false when the
   name is not printable ASCII or does not fit. */
static bool select_command(const char *verb, const char *name, bool condstore, char *buf,
                           size_t cap)
{
    size_t n = (size_t)snprintf(buf, cap, "%s \"", verb);

    for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++) {
        if (*p < 0x20 || *p > 0x7e || n + 3 >= cap)
            return false;
        if (*p == '"' || *p == '\\')
            buf[n++] = '\\';
        buf[n++] = (char)*p;
    }
    return (size_t)snprintf(buf + n, cap - n, "\"%s", condstore ? " (CONDSTORE)" : "") < cap - n;
}

int ib_session_select_send(struct ib_session *s, const char *imap_name, bool read_only,
                           int *tag_r, struct cm_err *err)
{
    char cmd[1200];

    *tag_r = 0;
    if (s->broken)
        return cm_err_set(err, CM_EUPSTREAM, "imap: session is broken");
    if (imap_name[0] == '\0' ||
        !select_command(read_only ? "EXAMINE" : "SELECT", imap_name,
                        (s->caps & IB_CAP_CONDSTORE) != 0, cmd, sizeof(cmd)))
        return cm_err_set(err, CM_EINVAL, "imap: folder name not sendable in a pipeline");
    free(s->pending);
    s->pending = strdup(imap_name);
    if (s->pending == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    s->pending_rw = !read_only;
    free(s->selected);
    s->selected = NULL; /* whatever the answer, the old selection is gone */
    s->selected_rw = false;
    return ib_session_check(s, ib_etpan_send_line(s->imap, cmd, tag_r),
                            read_only ? "EXAMINE" : "SELECT", err);
}

int ib_session_select_recv(struct ib_session *s, int tag, struct ib_selection *sel_r,
                           struct cm_err *err)
{
    const char *what = s->pending_rw ? "SELECT" : "EXAMINE";
    struct mailimap_response *resp = NULL;
    char *name = s->pending;
    bool ok = false;
    int r, rc;

    s->pending = NULL;
    if (s->broken || name == NULL || tag == 0) {
        free(name);
        return cm_err_set(err, CM_EUPSTREAM, "imap: no %s to read", what);
    }
    if (s->imap->imap_selection_info != NULL)
        mailimap_selection_info_free(s->imap->imap_selection_info);
    s->imap->imap_selection_info = mailimap_selection_info_new();
    s->imap->imap_tag = tag;
    r = ib_etpan_read_response(s->imap, &resp);
    if (r == MAILIMAP_NO_ERROR) {
        ok = ib_etpan_tagged_ok(resp);
        /* A server may have enabled CONDSTORE it does not offer (the
           login's speculative ENABLE; Dovecot with imap_capability
           trimmed): its HIGHESTMODSEQ is not used then, so cursors and
           states stay CONDSTORE-free and never lead to a CHANGEDSINCE. */
        s->highestmodseq = ok && (s->caps & IB_CAP_CONDSTORE) ? response_modseq(s->imap) : 0;
        mailimap_response_free(resp);
        r = ok ? MAILIMAP_NO_ERROR : MAILIMAP_ERROR_EXAMINE;
    }
    rc = ib_session_check(s, r, what, err);
    if (rc < 0 || !ok) {
        if (s->imap->imap_selection_info != NULL) {
            mailimap_selection_info_free(s->imap->imap_selection_info);
            s->imap->imap_selection_info = NULL;
        }
        if (!s->broken)
            s->imap->imap_state = MAILIMAP_STATE_AUTHENTICATED;
        free(name);
        if (rc < 0 && said_nonexistent(s))
            return cm_err_set(err, CM_ENOENT, "imap: no such mailbox");
        return rc < 0 ? rc : cm_err_set(err, CM_EUPSTREAM, "imap %s failed", what);
    }
    s->imap->imap_state = MAILIMAP_STATE_SELECTED;
    s->selected = name;
    s->selected_rw = s->pending_rw && s->imap->imap_selection_info->sel_perm != MAILIMAP_MAILBOX_READONLY;
    s->synced = true; /* as current as after a NOOP */
    fill_selection(s, sel_r);
    return 0;
}

bool ib_session_selected_rw(const struct ib_session *s)
{
    return s->selected != NULL && s->selected_rw;
}

bool ib_session_is_near(const struct ib_session *s)
{
    int64_t rtt = s->imap->imap_stream != NULL ? ib_stream_rtt_ms(s->imap->imap_stream->low) : -1;

    return rtt >= 0 && rtt < IB_REOPEN_RTT_MS;
}

int ib_session_use_send(struct ib_session *s, const char *imap_name, bool read_only,
                        struct ib_use *u, struct cm_err *err)
{
    u->tag = 0;
    u->opened = false;
    if (s->broken)
        return cm_err_set(err, CM_EUPSTREAM, "imap: session is broken");
    if (s->selected != NULL && strcmp(s->selected, imap_name) == 0 &&
        read_only != s->selected_rw && !s->synced && ib_session_is_near(s)) {
        /* a near server: its NOOP round trip costs less than reopening */
        int rc = ib_session_sync(s, err);

        if (rc < 0)
            return rc;
    }
    if (s->selected != NULL && s->synced && strcmp(s->selected, imap_name) == 0 &&
        read_only != s->selected_rw)
        return 0;
    /* not the NOOP in the pipeline: Dovecot runs a LIST written behind a
       NOOP before the NOOP ends (NOOP waits for the commands running
       beside it), so the listing would not see what the NOOP brings;
       EXAMINE/SELECT ends before the server starts the next command */
    u->opened = true;
    return ib_session_select_send(s, imap_name, read_only, &u->tag, err);
}

int ib_session_use_recv(struct ib_session *s, const struct ib_use *u, struct cm_err *err)
{
    return u->opened ? ib_session_select_recv(s, u->tag, NULL, err) : 0;
}

bool ib_session_examine_command(const char *imap_name, char *cmd, size_t cap)
{
    return imap_name[0] != '\0' && select_command("EXAMINE", imap_name, false, cmd, cap);
}

void ib_session_note_unselected(struct ib_session *s)
{
    free(s->selected);
    s->selected = NULL;
    s->selected_rw = false;
    s->synced = false;
    if (s->imap->imap_selection_info != NULL) {
        mailimap_selection_info_free(s->imap->imap_selection_info);
        s->imap->imap_selection_info = NULL;
    }
    if (!s->broken)
        s->imap->imap_state = MAILIMAP_STATE_AUTHENTICATED;
}

int ib_session_drop_selection(struct ib_session *s, struct cm_err *err)
{
    cm_debug(s->logkv, "imap: warning about the selected folder; unselecting");
    if (s->caps & IB_CAP_UNSELECT)
        return ib_session_unselect(s, err);
    s->broken = true;
    return cm_err_set(err, CM_EUPSTREAM, "imap: the selected folder is in trouble");
}

/* NOOP; a warning along with it drops the selection. */
static int noop_checked(struct ib_session *s, struct cm_err *err)
{
    bool warned = false;
    int rc = ib_session_check(s, simple_command(s->imap, "NOOP", &warned), "NOOP", err);

    if (rc == 0 && warned && s->selected != NULL)
        return ib_session_drop_selection(s, err);
    s->synced = rc == 0 && s->selected != NULL;
    return rc;
}

void ib_session_note_synced(struct ib_session *s)
{
    s->heard_ms = cm_now_ms();
    s->synced = !s->broken && s->selected != NULL;
}

int ib_session_sync(struct ib_session *s, struct cm_err *err)
{
    if (s->broken)
        return cm_err_set(err, CM_EUPSTREAM, "imap: session is broken");
    if (s->selected == NULL || s->synced)
        return 0; /* nothing selected, or a NOOP and no other command since */
    return noop_checked(s, err);
}

int ib_session_sync_send(struct ib_session *s, int *tag_r)
{
    *tag_r = 0;
    if (s->broken || s->selected == NULL || s->synced)
        return MAILIMAP_NO_ERROR;
    s->noop_unconfirmed = s->unconfirmed;
    return ib_etpan_send_line(s->imap, "NOOP", tag_r);
}

int ib_session_sync_recv(struct ib_session *s, int tag, bool *drop_r, struct cm_err *err)
{
    struct mailimap_response *resp = NULL;
    bool warned = false;
    int r, rc;

    *drop_r = false;
    if (tag == 0)
        return 0;
    s->imap->imap_tag = tag;
    r = ib_etpan_read_response(s->imap, &resp);
    rc = ib_session_check(s, r == MAILIMAP_NO_ERROR ? hand_result(resp, &warned) : r, "NOOP",
                          err);
    *drop_r = rc == 0 && warned && s->selected != NULL;
    if (s->broken && s->noop_unconfirmed)
        s->unconfirmed = true; /* only read-only commands were answered before it */
    return rc;
}

/* Nothing is selected any more (UNSELECT answered OK). */
static void forget_selection(struct ib_session *s)
{
    free(s->selected);
    s->selected = NULL;
    s->selected_rw = false;
    s->imap->imap_state = MAILIMAP_STATE_AUTHENTICATED; /* as after CLOSE */
    if (s->imap->imap_selection_info != NULL) {
        mailimap_selection_info_free(s->imap->imap_selection_info);
        s->imap->imap_selection_info = NULL;
    }
}

int ib_session_unselect(struct ib_session *s, struct cm_err *err)
{
    int rc;

    if (s->broken)
        return cm_err_set(err, CM_EUPSTREAM, "imap: session is broken");
    if (s->selected == NULL || !(s->caps & IB_CAP_UNSELECT))
        return 0;
    rc = ib_session_check(s, simple_command(s->imap, "UNSELECT", NULL), "UNSELECT", err);
    if (rc == 0)
        forget_selection(s);
    return rc;
}

int ib_session_unselect_send(struct ib_session *s, int *tag_r, struct cm_err *err)
{
    *tag_r = 0;
    if (s->broken)
        return cm_err_set(err, CM_EUPSTREAM, "imap: session is broken");
    if (s->selected == NULL || !(s->caps & IB_CAP_UNSELECT))
        return 0;
    return ib_session_check(s, ib_etpan_send_line(s->imap, "UNSELECT", tag_r), "UNSELECT", err);
}

int ib_session_unselect_recv(struct ib_session *s, int tag, struct cm_err *err)
{
    struct mailimap_response *resp = NULL;
    int r, rc;

    if (tag == 0)
        return 0;
    s->imap->imap_tag = tag;
    r = ib_etpan_read_response(s->imap, &resp);
    rc = ib_session_check(s, r == MAILIMAP_NO_ERROR ? hand_result(resp, NULL) : r, "UNSELECT",
                          err);
    if (rc == 0)
        forget_selection(s);
    return rc;
}

int ib_session_end_write(struct ib_session *s, struct cm_err *err)
{
    char *name;
    int rc;

    if (s->broken || s->selected == NULL || !s->selected_rw)
        return 0;
    if (s->caps & IB_CAP_UNSELECT)
        return ib_session_unselect(s, err);
    name = strdup(s->selected);
    if (name == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    rc = ib_session_select(s, name, true, NULL, err); /* EXAMINE: a read-write selection is not reused */
    free(name);
    return rc;
}

int ib_session_revalidate(struct ib_session *s, unsigned int fresh_ms, struct cm_err *err)
{
    if (s->broken)
        return cm_err_set(err, CM_EUPSTREAM, "imap: session is broken");
    if (!ib_session_has_input(s) &&
        (s->selected == NULL || (fresh_ms > 0 && cm_now_ms() - s->heard_ms < fresh_ms))) {
        /* The first use of the selection NOOPs (ib_session_sync) */
        s->unconfirmed = true;
        s->synced = false;
        return 0;
    }
    return noop_checked(s, err);
}

bool ib_session_reuse_failed(const struct ib_session *s)
{
    return s->broken && s->unconfirmed;
}
