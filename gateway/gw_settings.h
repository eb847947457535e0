/* gw_settings.h - every setting of the gateway, in one table.
 *
 * Each field is settable from the config file (`name = value`) and from
 * its JMAPGATE_* environment variable (which wins). gw_settings_load()
 * applies defaults, file, environment, then gw_settings_check() validates
 * across fields. The README's configuration table mirrors gw_settings_defs.
 *
 * Ownership: strings are owned by the struct (gw_settings_fini).
 * Threads: a loaded struct is immutable. SIGHUP loads a new one and
 * publishes it through gw_ctx.set (gw_reload.h); readers take the pointer
 * once per use and never see a half-updated struct.
 */
#ifndef GW_SETTINGS_H
#define GW_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/cm_cfg.h"
#include "common/cm_err.h"

struct gw_settings {
    char *listen;             /* host:port */
    char *public_url;         /* base URL clients see; default http://<listen> */
    char *imap_url;           /* imap:// imap+starttls:// imaps:// */
    bool tls_verify;
    char *tls_ca_file;
    bool imap_compress;
    unsigned int imap_timeout_secs;
    unsigned int readyz_timeout_secs; /* /readyz probe deadline per wait */
    char *secret;             /* JMAPGATE_SECRET text (hex/base64) */
    unsigned int token_ttl_secs;
    char *jwt_issuer;
    char *jwt_audience;
    bool cookie_secure;
    char *log_level;
    unsigned int http_threads;
    unsigned int workers;
    unsigned int job_queue;
    unsigned int max_connections;
    size_t http_conn_memory;           /* MHD's per-connection pool: request line and
                                          headers (431 past it), response headers */
    size_t max_body_bytes;
    size_t max_upload_bytes;           /* maxSizeUpload: one uploaded blob */
    unsigned int max_concurrent_upload; /* maxConcurrentUpload, per account and instance */
    unsigned int upload_ttl_secs;      /* lifetime of an unused uploaded blob */
    size_t upload_account_bytes;       /* uploaded bytes parked per account at once */
    unsigned int request_timeout_secs;
    unsigned int shutdown_grace_secs;
    unsigned int pool_per_account;
    unsigned int pool_max;
    unsigned int account_budget;
    unsigned int pool_checkout_ms;
    unsigned int pool_keepalive_secs;
    unsigned int pool_max_idle_secs;
    unsigned int pool_fresh_ms;
    unsigned int watch_grace_secs;
    unsigned int push_ping_secs;       /* REST SSE heartbeat */
    unsigned int push_max_ping_secs;   /* clamp of the JMAP ping= argument */
    unsigned int push_poll_secs;       /* STATUS polling interval without IDLE */
    unsigned int push_max_folders;     /* folders per /api/v1/events stream */
    size_t push_queue_bytes;           /* per SSE stream */
    unsigned int push_ring_size;       /* recent events kept per account */
    unsigned int push_idle_restart_secs;
    unsigned int push_backoff_max_secs;
    unsigned int push_max_watchers;
    char *push_mode;          /* auto, notify, select, examine */
    char *trusted_proxies;    /* IPs/CIDRs whose X-Forwarded-For is believed */
    unsigned int login_fail_limit;
    unsigned int login_fail_window_secs;
    char *web_root;           /* folder served at / (NULL: none) */
    /* operations (gw_ops.h, gw_connlimit.h, gw_reload.h) */
    unsigned int max_connections_per_ip; /* 0 = no per-address limit */
    char *pid_file;           /* written after start-up, removed at exit */
    char *user;               /* drop to this user after binding (when root) */
    char *group;              /* and this group (default: the user's) */
    bool allow_root;          /* run as root without user (not recommended) */
    /* sending mail (issue 14; gw_send.h) */
    char *smtp_url;           /* smtp+starttls:// smtps:// smtp:// (NULL: no sending) */
    char *smtp_tls_ca_file;   /* NULL: tls_ca_file */
    unsigned int smtp_timeout_secs;
    bool smtp_saves_sent;     /* the SMTP server files the Sent copy itself */
    unsigned int smtp_max_recipients;
    unsigned int send_rate_limit;      /* messages per account per minute */
    char *mail_domain;        /* identity domain for logins that are not addresses */
};

extern const struct cm_cfg_def gw_settings_defs[];
extern const size_t gw_settings_count;

/* Defaults, then config_path (may be NULL), then the environment, then
   gw_settings_check. On error s may be partly filled: call fini anyway. */
int gw_settings_load(struct gw_settings *s, const char *config_path, struct cm_err *err)
    __attribute__((warn_unused_result));

/* push_mode text -> enum rt_push_mode value (auto 0, notify 1, select 2,
   examine 3), or -1. */
int gw_settings_push_mode(const char *text);

void gw_settings_fini(struct gw_settings *s);

#endif
