/* gw_main.c - command line, configuration, wiring, signals, shutdown. */
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/cm_counter.h"
#include "common/cm_crypto.h"
#include "common/cm_log.h"
#include "common/cm_time.h"
#include "common/cm_work.h"
#include "gateway/gw_ctx.h"
#include "gateway/gw_handlers.h"
#include "gateway/jmap/gw_jmail.h"
#include "gateway/gw_metrics.h"
#include "gateway/gw_limit.h"
#include "gateway/gw_ops.h"
#include "gateway/gw_reload.h"
#include "gateway/gw_send.h"
#include "gateway/gw_ready.h"
#include "gateway/gw_server.h"
#include "gateway/gw_sse.h"
#include "gateway/gw_static.h"
#include "imapbridge/ib_foldermap.h"
#include "imapbridge/ib_loccache.h"
#include "imapbridge/ib_thread.h"
#include "imapbridge/ib_pool.h"
#include "realtime/rt_hub.h"

/* The folder map cache (ib_foldermap.h): accounts kept, and how old a
   listing may be before the map forgets it. Every use is confirmed by the
   server in the same request, so the TTL only bounds memory held for
   accounts that went quiet. */
#define FOLDERMAP_ACCOUNTS 4096
#define FOLDERMAP_TTL_MS (10u * 60 * 1000)

struct options {
    const char *config_path;
    const char *pid_file;
    bool check_only;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: jmapgate [--config FILE] [--pid-file PATH] [--check-config] [--help] [--version]\n"
            "\n"
            "An HTTP gateway that serves JMAP, a delta-sync REST API and realtime push\n"
            "(Server-Sent Events) in front of an IMAP server.\n"
            "\n"
            "  --config FILE   read settings from FILE (`name = value` lines)\n"
            "  --pid-file PATH write the process id to PATH (overrides pid_file)\n"
            "  --check-config  validate the settings, print the result, exit 0 or 1\n"
            "  --help          this text\n"
            "  --version       print the version\n"
            "\n"
            "Signals: SIGTERM/SIGINT stop gracefully; SIGHUP reloads the configuration.\n"
            "\n"
            "Settings (environment variables override the file):\n");
    cm_cfg_print_help(gw_settings_defs, gw_settings_count, out);
}

/* Returns -1 to go on, or the exit code. */
static int parse_args(int argc, char **argv, struct options *opt)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' }, { "check-config", no_argument, NULL, 'k' },
        { "pid-file", required_argument, NULL, 'p' },
        { "help", no_argument, NULL, 'h' },         { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    while ((c = getopt_long(argc, argv, "c:p:khV", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': opt->config_path = optarg; break;
        case 'k': opt->check_only = true; break;
        case 'p': opt->pid_file = optarg; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("jmapgate %s\n", JMAPGATE_VERSION); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "jmapgate: unexpected argument \"%s\"\n", argv[optind]);
        return 2;
    }
    return -1;
}

/* Everything derived from the settings that can fail without side effects:
   log level, upstream URL, keys. Used by --check-config too. */
static int prepare(struct gw_ctx *ctx, const struct gw_settings *set, struct cm_err *err)
{
    enum cm_log_level lvl = CM_LOG_INFO;
    unsigned char *secret = NULL;
    size_t secret_len = 0;
    int rc;

    (void)cm_log_level_parse(set->log_level, &lvl);
    cm_log_set_level(lvl);
    ctx->set = set;
    rc = cm_crypto_init();
    if (rc < 0)
        return cm_err_set(err, rc, "cannot initialise OpenSSL");
    rc = ib_upstream_parse_url(set->imap_url, &ctx->upstream, err);
    if (rc < 0)
        return rc;
    ctx->upstream.tls_verify = set->tls_verify;
    ctx->upstream.compress = set->imap_compress;
    ctx->upstream.timeout_secs = set->imap_timeout_secs;
    if (set->tls_ca_file != NULL) {
        if (access(set->tls_ca_file, R_OK) != 0)
            return cm_err_set(err, CM_ECONFIG, "tls_ca_file: cannot read \"%s\"",
                              set->tls_ca_file);
        ctx->upstream.ca_file = strdup(set->tls_ca_file);
    }
    rc = gw_send_new(set, &ctx->send, err);
    if (rc < 0)
        return rc;
    rc = gw_token_decode_secret(set->secret, &secret, &secret_len, err);
    if (rc < 0)
        return rc;
    rc = gw_token_keys_init(&ctx->keys, secret, secret_len, set->jwt_issuer, set->jwt_audience,
                           set->token_ttl_secs, err);
    cm_cleanse(secret, secret_len);
    free(secret);
    return rc;
}

static void raise_fd_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            cm_warn("", "cannot raise the open-file limit");
    }
}

static int start_realtime(struct gw_ctx *ctx, struct cm_err *err)
{
    const struct gw_settings *set = ctx->set;
    struct rt_hub_settings hs = {
        .states_fn = gw_jmail_push_states,
        .states_ctx = ctx,
        .watch_grace_secs = set->watch_grace_secs,
        .idle_restart_secs = set->push_idle_restart_secs,
        .poll_interval_secs = set->push_poll_secs,
        .backoff_max_secs = set->push_backoff_max_secs,
        .ring_size = set->push_ring_size,
        .max_watchers = set->push_max_watchers,
        .max_idle_per_account = set->account_budget - set->pool_per_account,
        .max_jobs = set->workers > 1 ? set->workers / 2 : 1,
        .push_mode = (enum rt_push_mode)gw_settings_push_mode(set->push_mode),
    };
    struct gw_sse_settings ss = { .queue_max_bytes = set->push_queue_bytes };
    int rc = rt_hub_new(&hs, &ctx->upstream, ctx->pool, ctx->work, &ctx->hub, err);

    if (rc == 0)
        rc = gw_sse_new(&ss, &ctx->sse, err);
    return rc;
}

static int start_services(struct gw_ctx *ctx, int listen_fd, const char *const **names_r,
                          struct cm_err *err)
{
    const struct gw_settings *set = ctx->set;
    struct ib_pool_settings ps = {
        .per_account = set->pool_per_account,
        .global_max = set->pool_max,
        .account_budget = set->account_budget,
        .checkout_timeout_ms = set->pool_checkout_ms,
        .keepalive_secs = set->pool_keepalive_secs,
        .max_idle_secs = set->pool_max_idle_secs,
        .fresh_ms = set->pool_fresh_ms,
    };
    const char **names = calloc(gw_routes_count, sizeof(*names));
    int rc;

    if (names == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    for (size_t i = 0; i < gw_routes_count; i++)
        names[i] = gw_routes[i].name;
    *names_r = names;
    ctx->metrics = gw_metrics_new(gw_routes_count, names);
    ctx->jmap_inflight = cm_counter_new();
    ctx->loccache = ib_loccache_new(GW_LOCCACHE_ENTRIES);
    ctx->threads = ib_thread_cache_new(GW_THREADCACHE_ENTRIES);
    if (ctx->metrics == NULL || ctx->jmap_inflight == NULL || ctx->loccache == NULL ||
        ctx->threads == NULL)
        return cm_err_set(err, CM_ENOMEM, "out of memory");
    rc = gw_static_load(set->web_root, err);
    if (rc == 0)
        rc = gw_ready_new(&ctx->upstream, set->readyz_timeout_secs, 1000, &ctx->ready, err);
    if (rc == 0)
        rc = gw_limit_new(set->login_fail_limit, set->login_fail_window_secs,
                          set->trusted_proxies, &ctx->limit, err);
    if (rc == 0)
        rc = ib_pool_new(&ps, &ctx->upstream, &ctx->pool, err);
    if (rc == 0) {
        /* a few KB per account; a listing older than the TTL is not used */
        ctx->folders = ib_foldermap_new(FOLDERMAP_ACCOUNTS, FOLDERMAP_TTL_MS);
        if (ctx->folders == NULL)
            rc = cm_err_set(err, CM_ENOMEM, "out of memory");
    }
    if (rc == 0)
        rc = cm_work_new(set->workers, set->job_queue, &ctx->work, err);
    if (rc == 0)
        rc = start_realtime(ctx, err);
    if (rc == 0)
        rc = gw_server_start(ctx, gw_routes, gw_routes_count, listen_fd, &ctx->server, err);
    return rc;
}

/* SIGTERM/SIGINT: stop accepting, end every SSE stream cleanly, let
   requests in flight finish within shutdown_grace, then stop the realtime
   hub (its jobs run on the workers), the workers, the daemon (no connection
   is suspended any more), and free the rest. */
static void shut_down(struct gw_ctx *ctx)
{
    uint64_t deadline = cm_now_ms() + (uint64_t)ctx->set->shutdown_grace_secs * 1000;

    if (ctx->server != NULL)
        gw_server_quiesce(ctx->server);
    if (ctx->sse != NULL)
        gw_sse_close_all(ctx->sse);
    while (ctx->metrics != NULL && gw_metrics_in_flight(ctx->metrics) > 0 &&
           cm_now_ms() < deadline)
        usleep(20 * 1000);
    if (ctx->metrics != NULL && gw_metrics_in_flight(ctx->metrics) > 0)
        cm_warn("", "shutdown grace over with %lld requests in flight",
                gw_metrics_in_flight(ctx->metrics));
    atomic_store(&ctx->stopping, true);
    if (ctx->hub != NULL)
        rt_hub_stop(ctx->hub);
    cm_work_free(&ctx->work); /* runs what is queued; no connection stays suspended */
    gw_server_stop(&ctx->server);
    rt_hub_free(&ctx->hub);
    gw_sse_free(&ctx->sse);
    if (ctx->pool != NULL)
        ib_pool_free(&ctx->pool);
    ib_foldermap_free(&ctx->folders);
    gw_metrics_free(&ctx->metrics);
    cm_counter_free(&ctx->jmap_inflight);
    gw_ready_free(&ctx->ready);
    gw_limit_free(&ctx->limit);
    ib_loccache_free(&ctx->loccache);
    ib_thread_cache_free(&ctx->threads);
    gw_static_free();
}

static int wait_for_signal(const sigset_t *set)
{
    int sig = 0;

    while (sigwait(set, &sig) != 0)
        ;
    return sig;
}

static void log_start(const struct gw_ctx *ctx)
{
    char kv[512] = "", port[16];

    snprintf(port, sizeof(port), "%u", gw_server_port(ctx->server));
    cm_log_kv(kv, sizeof(kv), "listen", ctx->set->listen);
    cm_log_kv(kv, sizeof(kv), "port", port);
    cm_log_kv(kv, sizeof(kv), "public_url", ctx->set->public_url);
    cm_log_kv(kv, sizeof(kv), "upstream", ctx->upstream.url);
    cm_info(kv, "jmapgate %s ready", JMAPGATE_VERSION);
    if (!ctx->upstream.tls_verify && ctx->upstream.tls != IB_TLS_NONE)
        cm_warn("", "TLS certificate verification of the upstream is OFF (tls_verify=false): "
                    "use this only for tests");
}

/* Bind (may need root), write the pid file, then drop root: before any
   thread starts (gw_ops.h). */
static int become_daemon(const struct gw_settings *set, int *listen_fd_r, struct cm_err *err)
{
    int rc = gw_server_bind(set->listen, listen_fd_r, err);

    if (rc == 0 && set->pid_file != NULL)
        rc = gw_ops_write_pid_file(set->pid_file, err);
    if (rc == 0)
        rc = gw_ops_drop_privileges(set->user, set->group, set->allow_root, err);
    return rc;
}

static void serve_until_stopped(struct gw_ctx *ctx, const struct options *opt,
                                const sigset_t *sigs)
{
    struct cm_err err = CM_ERR_INIT;
    int sig;

    for (;;) {
        sig = wait_for_signal(sigs);
        if (sig != SIGHUP)
            break;
        cm_info("", "SIGHUP: reloading the configuration");
        if (gw_reload(ctx, opt->config_path, opt->pid_file, &err) < 0)
            cm_error("", "reload refused, settings unchanged: %s", err.msg);
        err = (struct cm_err)CM_ERR_INIT;
    }
    cm_info("", "signal %d: shutting down", sig);
}

static int apply_pid_option(struct gw_settings *set, const struct options *opt,
                            struct cm_err *err)
{
    if (opt->pid_file == NULL)
        return 0;
    free(set->pid_file);
    set->pid_file = strdup(opt->pid_file);
    return set->pid_file ? 0 : cm_err_set(err, CM_ENOMEM, "out of memory");
}

int main(int argc, char **argv)
{
    struct options opt = { 0 };
    struct gw_settings set;
    struct gw_ctx ctx = { 0 };
    struct cm_err err = CM_ERR_INIT;
    const char *const *names = NULL;
    sigset_t sigs;
    int rc = parse_args(argc, argv, &opt), listen_fd = -1;
    bool pid_written = false;

    if (rc >= 0)
        return rc;
    signal(SIGPIPE, SIG_IGN); /* libetpan writes with plain send() (LIBS.md §0.3) */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* threads inherit: only main takes them */
    json_object_seed(0);
    rc = gw_settings_load(&set, opt.config_path, &err);
    if (rc == 0)
        rc = apply_pid_option(&set, &opt, &err);
    if (rc == 0)
        rc = prepare(&ctx, &set, &err);
    if (opt.check_only || rc < 0) {
        if (rc < 0)
            fprintf(stderr, "jmapgate: configuration error: %s\n", err.msg);
        else
            printf("jmapgate: configuration OK (upstream %s, listen %s)\n", ctx.upstream.url,
                   set.listen);
        goto out;
    }
    raise_fd_limit();
    rc = become_daemon(&set, &listen_fd, &err);
    pid_written = set.pid_file != NULL && (rc == 0 || listen_fd >= 0);
    if (rc == 0)
        rc = start_services(&ctx, listen_fd, &names, &err);
    else if (listen_fd >= 0)
        close(listen_fd);
    if (rc < 0) {
        cm_error("", "cannot start: %s", err.msg);
        goto stop;
    }
    log_start(&ctx);
    serve_until_stopped(&ctx, &opt, &sigs);
stop:
    shut_down(&ctx);
    if (pid_written)
        gw_ops_remove_pid_file(ctx.set->pid_file);
    cm_info("", "stopped");
out:
    free((void *)names);
    gw_token_keys_fini(&ctx.keys);
    ib_upstream_fini(&ctx.upstream);
    gw_reload_fini();
    gw_send_free(&ctx.send);
    gw_settings_fini(&set);
    return rc < 0 ? 1 : 0;
}
