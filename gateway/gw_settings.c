/* gw_settings.c - the settings table of the gateway. */
#include "gateway/gw_settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm_log.h"

#define OFF(f) offsetof(struct gw_settings, f)
#define U32MAX 4294967295ULL

const struct cm_cfg_def gw_settings_defs[] = {
    { "listen", "JMAPGATE_LISTEN", CM_CFG_STR, OFF(listen), "127.0.0.1:8080", 0, 0, 0,
      "HTTP listen address host:port" },
    { "public_url", "JMAPGATE_PUBLIC_URL", CM_CFG_STR, OFF(public_url), NULL, 0, 0, 0,
      "base URL clients use (default http://<listen>)" },
    { "imap_url", "JMAPGATE_IMAP_URL", CM_CFG_STR, OFF(imap_url), NULL, 0, 0, 0,
      "upstream: imap://host:143, imap+starttls://host:143 or imaps://host:993 (required)" },
    { "tls_verify", "JMAPGATE_TLS_VERIFY", CM_CFG_BOOL, OFF(tls_verify), "true", 0, 0, 0,
      "verify the upstream certificate and host name (false only for tests)" },
    { "tls_ca_file", "JMAPGATE_TLS_CA_FILE", CM_CFG_STR, OFF(tls_ca_file), NULL, 0, 0, 0,
      "PEM CA bundle for the upstream (default: system store)" },
    { "imap_compress", "JMAPGATE_IMAP_COMPRESS", CM_CFG_BOOL, OFF(imap_compress), "true", 0, 0,
      0, "use COMPRESS=DEFLATE when the server offers it" },
    { "imap_timeout", "JMAPGATE_IMAP_TIMEOUT", CM_CFG_UINT, OFF(imap_timeout_secs), "15", 1, 600,
      0, "seconds each upstream connect/read/write may wait" },
    { "readyz_timeout", "JMAPGATE_READYZ_TIMEOUT", CM_CFG_UINT, OFF(readyz_timeout_secs), "2", 1,
      60, 0, "seconds the /readyz probe waits for the upstream (answer cached 1 s)" },
    { "secret", "JMAPGATE_SECRET", CM_CFG_STR, OFF(secret), NULL, 0, 0, CM_CFG_SECRET,
      ">= 32 bytes as hex or base64; signs tokens, seals credentials (required)" },
    { "token_ttl", "JMAPGATE_TOKEN_TTL", CM_CFG_UINT, OFF(token_ttl_secs), "3600", 60, 31536000,
      0, "seconds a login token lives" },
    { "jwt_issuer", "JMAPGATE_JWT_ISSUER", CM_CFG_STR, OFF(jwt_issuer), "jmapgate", 0, 0, 0,
      "iss claim issued and required" },
    { "jwt_audience", "JMAPGATE_JWT_AUDIENCE", CM_CFG_STR, OFF(jwt_audience), "jmapgate", 0, 0,
      0, "aud claim issued and required" },
    { "cookie_secure", "JMAPGATE_COOKIE_SECURE", CM_CFG_BOOL, OFF(cookie_secure), "false", 0, 0,
      0, "mark the login cookie Secure (set true behind HTTPS)" },
    { "log_level", "JMAPGATE_LOG_LEVEL", CM_CFG_STR, OFF(log_level), "info", 0, 0, 0,
      "debug, info, warn or error" },
    { "http_threads", "JMAPGATE_HTTP_THREADS", CM_CFG_UINT, OFF(http_threads), "2", 1, 64, 0,
      "libmicrohttpd event-loop threads" },
    { "workers", "JMAPGATE_WORKERS", CM_CFG_UINT, OFF(workers), "16", 1, 1024, 0,
      "worker threads doing IMAP work" },
    { "job_queue", "JMAPGATE_JOB_QUEUE", CM_CFG_UINT, OFF(job_queue), "1024", 1, 1000000, 0,
      "queued requests before 503" },
    { "max_connections", "JMAPGATE_MAX_CONNECTIONS", CM_CFG_UINT, OFF(max_connections), "10000",
      16, 1000000, 0, "HTTP connections (SSE included)" },
    { "http_conn_memory", "JMAPGATE_HTTP_CONN_MEMORY", CM_CFG_SIZE, OFF(http_conn_memory), "16k",
      8192, 1048576, 0,
      "memory per HTTP connection; a request's line and headers must fit in it (431), "
      "and an open SSE stream keeps about half of it" },
    { "max_body", "JMAPGATE_MAX_BODY", CM_CFG_SIZE, OFF(max_body_bytes), "10m", 1024, U32MAX, 0,
      "largest request body (413 above)" },
    { "max_upload", "JMAPGATE_MAX_UPLOAD", CM_CFG_SIZE, OFF(max_upload_bytes), "10m", 1024,
      46u * 1024 * 1024, 0,
      "largest uploaded blob (JMAP maxSizeUpload; 413 above; base64 in IMAP must fit 64 MiB)" },
    { "max_concurrent_upload", "JMAPGATE_MAX_CONCURRENT_UPLOAD", CM_CFG_UINT,
      OFF(max_concurrent_upload), "4", 1, 64, 0,
      "uploads one account may run at once through one instance (maxConcurrentUpload; 429)" },
    { "upload_ttl", "JMAPGATE_UPLOAD_TTL", CM_CFG_UINT, OFF(upload_ttl_secs), "3600", 1,
      604800, 0, "seconds an uploaded blob lives unless Email/import uses it first" },
    { "upload_account_max", "JMAPGATE_UPLOAD_ACCOUNT_MAX", CM_CFG_SIZE,
      OFF(upload_account_bytes), "50m", 1024, 17179869184ULL, 0,
      "uploaded bytes (as parked) one account may keep at once (413 above)" },
    { "request_timeout", "JMAPGATE_REQUEST_TIMEOUT", CM_CFG_UINT, OFF(request_timeout_secs), "30",
      1, 3600, 0, "seconds a request may take before 504" },
    { "shutdown_grace", "JMAPGATE_SHUTDOWN_GRACE", CM_CFG_UINT, OFF(shutdown_grace_secs), "10",
      0, 600, 0, "seconds in-flight requests get on SIGTERM" },
    { "pool_per_account", "JMAPGATE_POOL_PER_ACCOUNT", CM_CFG_UINT, OFF(pool_per_account), "4",
      1, 64, 0, "request sessions per account" },
    { "pool_max", "JMAPGATE_POOL_MAX", CM_CFG_UINT, OFF(pool_max), "256", 1, 100000, 0,
      "request sessions in all" },
    { "account_budget", "JMAPGATE_ACCOUNT_BUDGET", CM_CFG_UINT, OFF(account_budget), "8", 1, 64,
      0, "upstream connections per account, requests and watchers together" },
    { "pool_checkout_ms", "JMAPGATE_POOL_CHECKOUT_MS", CM_CFG_UINT, OFF(pool_checkout_ms),
      "10000", 1, 600000, 0, "wait for a free session before 503" },
    { "pool_keepalive", "JMAPGATE_POOL_KEEPALIVE", CM_CFG_UINT, OFF(pool_keepalive_secs), "120",
      1, 3600, 0, "NOOP idle sessions after this many seconds" },
    { "pool_max_idle", "JMAPGATE_POOL_MAX_IDLE", CM_CFG_UINT, OFF(pool_max_idle_secs), "600", 1,
      86400, 0, "close idle sessions after this many seconds" },
    { "pool_fresh_ms", "JMAPGATE_POOL_FRESH_MS", CM_CFG_UINT, OFF(pool_fresh_ms), "2000", 0,
      60000, 0, "no NOOP at checkout for a session the server answered this recently (0: always)" },
    { "watch_grace", "JMAPGATE_WATCH_GRACE", CM_CFG_UINT, OFF(watch_grace_secs), "30", 0, 3600,
      0, "seconds a watcher outlives its last subscriber" },
    { "push_ping", "JMAPGATE_PUSH_PING", CM_CFG_UINT, OFF(push_ping_secs), "25", 1, 3600, 0,
      "seconds between ': ping' heartbeats on /api/v1/events" },
    { "push_max_ping", "JMAPGATE_PUSH_MAX_PING", CM_CFG_UINT, OFF(push_max_ping_secs), "300", 1,
      3600, 0, "largest JMAP eventsource ping= interval (larger values are clamped)" },
    { "push_poll_interval", "JMAPGATE_PUSH_POLL_INTERVAL", CM_CFG_UINT, OFF(push_poll_secs),
      "60", 1, 86400, 0, "seconds between STATUS polls of a folder that cannot be IDLEd" },
    { "push_max_folders", "JMAPGATE_PUSH_MAX_FOLDERS", CM_CFG_UINT, OFF(push_max_folders), "8",
      1, 64, 0, "folders one /api/v1/events stream may watch" },
    { "push_queue", "JMAPGATE_PUSH_QUEUE", CM_CFG_SIZE, OFF(push_queue_bytes), "64k", 1024,
      16777216, 0, "bytes queued per SSE stream before a slow client is dropped" },
    { "push_ring", "JMAPGATE_PUSH_RING", CM_CFG_UINT, OFF(push_ring_size), "256", 1, 65536, 0,
      "recent events kept per account for Last-Event-ID replay" },
    { "push_idle_restart", "JMAPGATE_PUSH_IDLE_RESTART", CM_CFG_UINT,
      OFF(push_idle_restart_secs), "1500", 5, 1740, 0, "seconds before IDLE is re-issued" },
    { "push_backoff_max", "JMAPGATE_PUSH_BACKOFF_MAX", CM_CFG_UINT, OFF(push_backoff_max_secs),
      "30", 1, 3600, 0, "cap of the watcher reconnect backoff in seconds" },
    { "push_mode", "JMAPGATE_PUSH_MODE", CM_CFG_STR, OFF(push_mode), "auto", 0, 0, 0,
      "how folder changes are heard: auto (NOTIFY where offered, else examine), notify, "
      "select or examine" },
    { "push_max_watchers", "JMAPGATE_PUSH_MAX_WATCHERS", CM_CFG_UINT, OFF(push_max_watchers),
      "10000", 1, 1000000, 0, "watched (account, folder) pairs per instance" },
    { "trusted_proxies", "JMAPGATE_TRUSTED_PROXIES", CM_CFG_STR, OFF(trusted_proxies), NULL, 0,
      0, 0, "comma-separated IPs/CIDRs of reverse proxies whose X-Forwarded-For names the client" },
    { "login_fail_limit", "JMAPGATE_LOGIN_FAIL_LIMIT", CM_CFG_UINT, OFF(login_fail_limit), "10",
      1, 100000, 0, "failed logins per user name and per client address before 429" },
    { "login_fail_window", "JMAPGATE_LOGIN_FAIL_WINDOW", CM_CFG_UINT, OFF(login_fail_window_secs),
      "60", 1, 86400, 0, "seconds over which the failed-login count drains to zero" },
    { "web_root", "JMAPGATE_WEB_ROOT", CM_CFG_STR, OFF(web_root), NULL, 0, 0, 0,
      "folder with the web client served at / (optional)" },
    { "max_connections_per_ip", "JMAPGATE_MAX_CONNECTIONS_PER_IP", CM_CFG_UINT,
      OFF(max_connections_per_ip), "0", 0, 1000000, 0,
      "HTTP connections per client address (0: no limit); trusted proxies are exempt" },
    { "pid_file", "JMAPGATE_PID_FILE", CM_CFG_STR, OFF(pid_file), NULL, 0, 0, 0,
      "write the process id here once serving (also --pid-file)" },
    { "user", "JMAPGATE_USER", CM_CFG_STR, OFF(user), NULL, 0, 0, 0,
      "when started as root: switch to this user after binding the listen socket" },
    { "group", "JMAPGATE_GROUP", CM_CFG_STR, OFF(group), NULL, 0, 0, 0,
      "with user: switch to this group (default: the user's primary group)" },
    { "allow_root", "JMAPGATE_ALLOW_ROOT", CM_CFG_BOOL, OFF(allow_root), "false", 0, 0, 0,
      "allow running as root without user (not recommended)" },
    { "smtp_url", "JMAPGATE_SMTP_URL", CM_CFG_STR, OFF(smtp_url), NULL, 0, 0, 0,
      "submission server: smtp+starttls://host:587 or smtps://host:465 (unset: no sending)" },
    { "smtp_tls_ca_file", "JMAPGATE_SMTP_TLS_CA_FILE", CM_CFG_STR, OFF(smtp_tls_ca_file), NULL,
      0, 0, 0, "PEM CA bundle for the SMTP server (default: tls_ca_file, else system store)" },
    { "smtp_timeout", "JMAPGATE_SMTP_TIMEOUT", CM_CFG_UINT, OFF(smtp_timeout_secs), "30", 1, 600,
      0, "seconds each SMTP connect/read/write may wait" },
    { "smtp_saves_sent", "JMAPGATE_SMTP_SAVES_SENT", CM_CFG_BOOL, OFF(smtp_saves_sent), "false",
      0, 0, 0, "the SMTP server files sent mail in Sent itself (Gmail): the gateway does not" },
    { "smtp_max_recipients", "JMAPGATE_SMTP_MAX_RECIPIENTS", CM_CFG_UINT,
      OFF(smtp_max_recipients), "100", 1, 10000, 0, "recipients per message" },
    { "send_rate_limit", "JMAPGATE_SEND_RATE_LIMIT", CM_CFG_UINT, OFF(send_rate_limit), "30", 1,
      100000, 0, "messages an account may send per minute (429 / rateLimit above)" },
    { "mail_domain", "JMAPGATE_MAIL_DOMAIN", CM_CFG_STR, OFF(mail_domain), NULL, 0, 0, 0,
      "domain of the identity address of logins that are not addresses (alice -> alice@domain)" },
};

const size_t gw_settings_count = sizeof(gw_settings_defs) / sizeof(gw_settings_defs[0]);

int gw_settings_push_mode(const char *text)
{
    static const char *const names[] = { "auto", "notify", "select", "examine" };

    for (int i = 0; text != NULL && i < (int)(sizeof(names) / sizeof(names[0])); i++) {
        if (strcmp(text, names[i]) == 0)
            return i; /* enum rt_push_mode order */
    }
    return -1;
}

/* Cross-field validation: required settings, URL forms. CM_ECONFIG. */
static int gw_settings_check(struct gw_settings *s, struct cm_err *err);

int gw_settings_load(struct gw_settings *s, const char *config_path, struct cm_err *err)
{
    int rc;

    memset(s, 0, sizeof(*s));
    rc = cm_cfg_defaults(gw_settings_defs, gw_settings_count, s, err);
    if (rc == 0 && config_path != NULL)
        rc = cm_cfg_load_file(gw_settings_defs, gw_settings_count, s, config_path, err);
    if (rc == 0)
        rc = cm_cfg_load_env(gw_settings_defs, gw_settings_count, s, err);
    if (rc == 0)
        rc = gw_settings_check(s, err);
    return rc;
}

static int check_listen(const char *listen, struct cm_err *err)
{
    const char *colon = strrchr(listen, ':');
    char *end;
    long port;

    if (colon == NULL || colon == listen)
        return cm_err_set(err, CM_ECONFIG, "listen: expected host:port, got \"%s\"", listen);
    port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || port < 0 || port > 65535 || end == colon + 1)
        return cm_err_set(err, CM_ECONFIG, "listen: bad port in \"%s\"", listen);
    return 0;
}

static int gw_settings_check(struct gw_settings *s, struct cm_err *err)
{
    enum cm_log_level lvl;
    const char *host;
    int rc;

    if (s->imap_url == NULL || s->imap_url[0] == '\0')
        return cm_err_set(err, CM_ECONFIG, "imap_url (JMAPGATE_IMAP_URL) is required");
    if (s->secret == NULL || s->secret[0] == '\0')
        return cm_err_set(err, CM_ECONFIG, "secret (JMAPGATE_SECRET) is required");
    if (cm_log_level_parse(s->log_level, &lvl) < 0)
        return cm_err_set(err, CM_ECONFIG, "log_level: expected debug, info, warn or error");
    if (gw_settings_push_mode(s->push_mode) < 0)
        return cm_err_set(err, CM_ECONFIG, "push_mode: expected auto, notify, select or examine");
    rc = check_listen(s->listen, err);
    if (rc < 0)
        return rc;
    if (s->public_url == NULL) {
        size_t n = strlen(s->listen) + sizeof("http://");

        s->public_url = malloc(n);
        if (s->public_url == NULL)
            return cm_err_set(err, CM_ENOMEM, "out of memory");
        snprintf(s->public_url, n, "http://%s", s->listen);
    }
    if (strncmp(s->public_url, "http://", 7) != 0 && strncmp(s->public_url, "https://", 8) != 0)
        return cm_err_set(err, CM_ECONFIG, "public_url: must start with http:// or https://");
    /* Keep the base without a trailing slash so routes can be appended. */
    for (size_t n = strlen(s->public_url); n > 8 && s->public_url[n - 1] == '/'; n--)
        s->public_url[n - 1] = '\0';
    host = s->public_url + (s->public_url[4] == 's' ? 8 : 7); /* after the scheme checked above */
    if (*host == '\0' || *host == '/')
        return cm_err_set(err, CM_ECONFIG, "public_url: no host in \"%s\"", s->public_url);
    if (s->pool_per_account > s->account_budget)
        return cm_err_set(err, CM_ECONFIG, "pool_per_account (%u) exceeds account_budget (%u)",
                          s->pool_per_account, s->account_budget);
    return 0;
}

void gw_settings_fini(struct gw_settings *s)
{
    cm_cfg_fini(gw_settings_defs, gw_settings_count, s);
}
