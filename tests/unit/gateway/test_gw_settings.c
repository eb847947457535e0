/* test_gw_settings.c - the gateway's settings table on top of cm_cfg. */
#include "gateway/gw_settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/th.h"

static void clear_env(void)
{
    for (size_t i = 0; i < gw_settings_count; i++)
        unsetenv(gw_settings_defs[i].env);
}

static void set_required(void)
{
    setenv("JMAPGATE_IMAP_URL", "imaps://mail.example.org", 1);
    setenv("JMAPGATE_SECRET", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
           1);
}

/* Load with the current environment; returns the rc, err filled. */
static int load(struct gw_settings *s, const char *path, struct cm_err *err)
{
    cm_err_clear(err);
    return gw_settings_load(s, path, err);
}

static void test_required(void)
{
    struct gw_settings s;
    struct cm_err err = CM_ERR_INIT;

    clear_env();
    th_assert(load(&s, NULL, &err) == CM_ECONFIG);
    th_assert(strstr(err.msg, "JMAPGATE_IMAP_URL") != NULL);
    gw_settings_fini(&s);
    setenv("JMAPGATE_IMAP_URL", "imaps://mail.example.org", 1);
    th_assert(load(&s, NULL, &err) == CM_ECONFIG);
    th_assert(strstr(err.msg, "JMAPGATE_SECRET") != NULL);
    gw_settings_fini(&s);
    /* Empty counts as missing. */
    setenv("JMAPGATE_SECRET", "", 1);
    th_assert(load(&s, NULL, &err) == CM_ECONFIG);
    th_assert(strstr(err.msg, "JMAPGATE_SECRET") != NULL);
    gw_settings_fini(&s);
    clear_env();
}

static void test_defaults(void)
{
    struct gw_settings s;
    struct cm_err err = CM_ERR_INIT;

    clear_env();
    set_required();
    th_assert(load(&s, NULL, &err) == 0);
    th_assert(s.listen && strcmp(s.listen, "127.0.0.1:8080") == 0);
    th_assert(s.public_url && strcmp(s.public_url, "http://127.0.0.1:8080") == 0);
    th_assert(s.token_ttl_secs == 3600);
    th_assert(s.watch_grace_secs == 30);
    th_assert(s.max_body_bytes == 10u * 1024 * 1024);
    th_assert(s.max_upload_bytes == 10u * 1024 * 1024 && s.max_concurrent_upload == 4);
    th_assert(s.upload_ttl_secs == 3600 && s.upload_account_bytes == 50u * 1024 * 1024);
    th_assert(s.tls_verify == true && s.cookie_secure == false);
    th_assert(s.web_root == NULL);
    gw_settings_fini(&s);
    th_assert(s.listen == NULL && s.secret == NULL && s.public_url == NULL);
    clear_env();
}

static void test_env_overrides(void)
{
    struct gw_settings s;
    struct cm_err err = CM_ERR_INIT;
    char path[] = "/tmp/tgwsXXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

    th_assert(f != NULL);
    if (f == NULL)
        return;
    fputs("workers = 8\ntoken_ttl = 600\nlisten = 10.0.0.1:80\n", f);
    fclose(f);
    clear_env();
    set_required();
    setenv("JMAPGATE_WORKERS", "4", 1);
    setenv("JMAPGATE_LISTEN", "0.0.0.0:9090", 1);
    setenv("JMAPGATE_TLS_VERIFY", "off", 1);
    setenv("JMAPGATE_MAX_BODY", "2m", 1);
    setenv("JMAPGATE_UPLOAD_TTL", "5", 1);
    th_assert(load(&s, path, &err) == 0);
    th_assert(s.upload_ttl_secs == 5);
    th_assert(s.workers == 4);             /* env beats file */
    th_assert(s.token_ttl_secs == 600);    /* file beats default */
    th_assert(s.listen && strcmp(s.listen, "0.0.0.0:9090") == 0);
    th_assert(s.public_url && strcmp(s.public_url, "http://0.0.0.0:9090") == 0);
    th_assert(s.tls_verify == false);
    th_assert(s.max_body_bytes == 2u * 1024 * 1024);
    gw_settings_fini(&s);
    /* Explicit public_url keeps its value minus the trailing slash. */
    setenv("JMAPGATE_PUBLIC_URL", "https://mail.example.org/jmap/", 1);
    th_assert(load(&s, path, &err) == 0);
    th_assert(s.public_url && strcmp(s.public_url, "https://mail.example.org/jmap") == 0);
    gw_settings_fini(&s);
    /* Bounds errors name the env var. */
    setenv("JMAPGATE_WORKERS", "0", 1);
    th_assert(load(&s, path, &err) == CM_ECONFIG);
    th_assert(strstr(err.msg, "JMAPGATE_WORKERS") != NULL);
    gw_settings_fini(&s);
    clear_env();
    unlink(path);
}

static void test_bad_values(void)
{
    static const struct {
        const char *env, *value, *want;
    } rows[] = {
        { "JMAPGATE_LISTEN", "localhost", "listen" },
        { "JMAPGATE_LISTEN", ":8080", "listen" },
        { "JMAPGATE_LISTEN", "host:", "listen" },
        { "JMAPGATE_LISTEN", "host:99999", "listen" },
        { "JMAPGATE_LISTEN", "host:80x", "listen" },
        { "JMAPGATE_PUBLIC_URL", "ftp://x", "public_url" },
        { "JMAPGATE_LOG_LEVEL", "loud", "log_level" },
        { "JMAPGATE_POOL_PER_ACCOUNT", "9", "account_budget" },
        { "JMAPGATE_TOKEN_TTL", "10", "JMAPGATE_TOKEN_TTL" },
        { "JMAPGATE_COOKIE_SECURE", "perhaps", "JMAPGATE_COOKIE_SECURE" },
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct gw_settings s;
        struct cm_err err = CM_ERR_INIT;

        clear_env();
        set_required();
        setenv(rows[i].env, rows[i].value, 1);
        th_assert_idx(load(&s, NULL, &err) == CM_ECONFIG, i);
        th_assert_idx(strstr(err.msg, rows[i].want) != NULL, i);
        gw_settings_fini(&s);
    }
    clear_env();
}

static void test_help_hides_secret(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    th_assert(f != NULL);
    if (f == NULL)
        return;
    cm_cfg_print_help(gw_settings_defs, gw_settings_count, f);
    fclose(f);
    th_assert(strstr(text, "JMAPGATE_SECRET") != NULL);
    th_assert(strstr(text, "JMAPGATE_WATCH_GRACE") != NULL);
    free(text);
}

int main(void)
{
    th_run("required settings", test_required);
    th_run("defaults", test_defaults);
    th_run("file and env overrides", test_env_overrides);
    th_run("bad values", test_bad_values);
    th_run("help", test_help_hides_secret);
    return th_end();
}
